"""SVM family C: IR -> tables (float32) and kernels calling ``ml_svm.h``'s engine."""

from __future__ import annotations

import numpy as np

from ...family import CCode
from ...progmem import const_tables, flash_struct
from .convert import G64, KERNEL_CODE, SAFETY
from .ir import SVMIR

_TASK = {"classifier": "ML_TASK_CLASSIFIER", "regressor": "ML_TASK_REGRESSOR",
         "outlier_detector": "ML_TASK_OUTLIER_DETECTOR"}
_KERNEL = {0: "ML_SVM_LINEAR", 1: "ML_SVM_POLY", 2: "ML_SVM_RBF", 3: "ML_SVM_SIGMOID",
           4: "ML_SVM_PRIMAL"}


def kernel_code(ir: SVMIR) -> int:
    """ML_SVM_* kernel code of the C (4: linear kernel in primal form)."""
    return 4 if ir.weights is not None else KERNEL_CODE[ir.kernel]


def _codegen():
    from ... import codegen  # lazily: the generic layer is being restructured

    return codegen


def flags(ir: SVMIR) -> int:
    """ML_SVM_FLAG_* bits of the model."""
    return ((1 if ir.ovr else 0) | (2 if ir.break_ties else 0) | (4 if ir.has_proba else 0)
            | (8 if ir.exact else 0))


def scratch_floats(ir: SVMIR) -> int:
    """Floats of scratch the engine needs (ml_svm_info)."""
    if ir.task != "classifier":
        return 0
    k = ir.n_classes
    return ir.n_pairs + 2 * k + (k * k if ir.has_proba else 0) + (ir.n_pairs if ir.exact else 0)


def tables(ir: SVMIR) -> dict[str, np.ndarray]:
    """The float32 / int32 tables, as the C and the model-file section store them."""
    if ir.weights is not None:  # primal linear form
        t = {"sv": np.asarray(ir.weights, dtype=np.float32).ravel(),
             "dual_coef": np.zeros(0, dtype=np.float32)}
    else:
        t = {"sv": np.asarray(ir.support_vectors, dtype=np.float32).ravel(),
             "dual_coef": np.asarray(ir.dual_coef, dtype=np.float32).ravel()}
    t["rho"] = np.asarray(ir.rho, dtype=np.float32)
    if ir.task == "classifier":
        t["sv_start"] = (np.zeros(ir.n_classes + 1, dtype=np.int32) if ir.weights is not None
                         else np.asarray(ir.sv_start, dtype=np.int32))
        if ir.has_proba:
            t["prob_a"] = np.asarray(ir.prob_a, dtype=np.float32)
            t["prob_b"] = np.asarray(ir.prob_b, dtype=np.float32)
    return t


def lin_err(ir: SVMIR) -> np.ndarray:
    """Primal form: per pair, the bound of scikit-learn's float64 dual sum (and of our
    float64 weights) per unit of max |x_j|: 2 g53(n + m + 2) sum_i |c_i| |s_i|_1, inflated
    by SAFETY and rounded up to float32."""
    out = np.zeros(ir.n_pairs)
    norms = np.abs(ir.support_vectors).sum(axis=1)
    for p, (idx, c) in enumerate(ir.pair_terms()):
        out[p] = 2 * G64 * (ir.n_features + len(idx) + 2) * float(np.abs(c) @ norms[idx])
    out32 = (out * SAFETY).astype(np.float32)
    return np.nextafter(out32, np.float32(np.inf)) if out32.size else out32


def tables64(ir: SVMIR) -> dict[str, np.ndarray]:
    """Exact mode: the float64 tables (empty dict otherwise) and the primal lin_err."""
    if not ir.exact:
        return {}
    t = {"sv64": np.asarray(ir.weights if ir.weights is not None else ir.support_vectors,
                            dtype=np.float64).ravel(),
         "coef64": (np.zeros(0) if ir.weights is not None
                    else np.asarray(ir.dual_coef, dtype=np.float64).ravel()),
         "rho64": np.asarray(ir.rho, dtype=np.float64)}
    if ir.weights is not None:
        t["lin_err"] = lin_err(ir)
    return t


def data_bytes(ir: SVMIR) -> int:
    """Bytes of constant tables (regressor / one-class: + the 2-entry sv_start of the
    header, see :func:`c_code`)."""
    return (4 * sum(int(a.size) for a in tables(ir).values())
            + sum(int(a.size) * a.itemsize for a in tables64(ir).values())
            + (8 if ir.task != "classifier" else 0))


def describe_line(ir: SVMIR) -> str:
    """One line: what the model is."""
    kern = ir.kernel + (f" degree {ir.degree}" if ir.kernel == "poly" else
                        " (primal weights)" if ir.weights is not None else "")
    what = (f"{ir.n_classes} classes, {ir.n_pairs} pairs" if ir.task == "classifier"
            else ir.task.replace("_", " "))
    return (f"{ir.estimator} ({kern} kernel, {ir.n_sv} support vectors x {ir.n_features} "
            f"features, {what})")


def c_code(ir: SVMIR, P: str) -> CCode:
    """Tables, the ``P__model`` descriptor and the kernels of the signature."""
    cg = _codegen()
    t = tables(ir)
    out = [f"/* {cg.c_comment(describe_line(ir))}; float32 tables, libsvm's order */\n"]
    names = {}
    for key, arr in t.items():
        name = f"{P}__{key}"
        names[key] = name
        if key == "sv_start":
            out.append(cg.c_array("int32_t", name, cg.c_ints(arr)))
        else:
            out.append(cg.c_array("float", name, cg.c_floats(arr)))
    null = "NULL"
    for key, arr in tables64(ir).items():
        name = f"{P}__{key}"
        names[key] = name
        if key == "lin_err":
            out.append(cg.c_array("float", name, cg.c_floats(arr)))
        else:
            out.append(cg.c_array("double", name, [repr(float(v)) for v in arr]))
    if "sv_start" not in names:  # unused by regressors / one-class; a real table keeps
        # gcc's constant propagation from warning about a NULL table it cannot reach
        out.append(cg.c_array("int32_t", f"{P}__sv_start", ["0", str(ir.n_sv_stored)]))
        names["sv_start"] = f"{P}__sv_start"
    fields = [
        _TASK[ir.task], _KERNEL[kernel_code(ir)], str(ir.n_features),
        str(ir.n_classes), str(ir.n_sv_stored), str(ir.degree), cg.c_float(ir.gamma),
        cg.c_float(ir.coef0), f"{flags(ir)}u", names["sv"], names["dual_coef"],
        names["rho"], names.get("sv_start", null), names.get("prob_a", null),
        names.get("prob_b", null), names.get("sv64", null), names.get("coef64", null),
        names.get("rho64", null), names.get("lin_err", null),
        repr(float(ir.gamma)) if ir.exact else "0.0",
        repr(float(ir.coef0)) if ir.exact else "0.0",
    ]
    out.append(f"static const ml_svm_t {P}__model = {{\n    " + ",\n    ".join(fields)
               + "\n};\n")
    n_scratch = max(scratch_floats(ir), 1)
    scratch = f"    float scratch[{n_scratch}];\n"
    if ir.task == "classifier":
        out.append(f"static inline int32_t {P}__predict(const float *x)\n{{\n{scratch}"
                   f"    return ml_svm_predict(&{P}__model, x, scratch);\n}}\n")
        out.append(f"static inline void {P}__decision_function(const float *x, "
                   f"float *ML_RESTRICT out)\n{{\n{scratch}"
                   f"    (void)ml_svm_decision_function(&{P}__model, x, out, scratch);\n}}\n")
        if ir.has_proba:
            out.append(f"static inline void {P}__predict_proba(const float *x, "
                       f"float *ML_RESTRICT out)\n{{\n{scratch}"
                       f"    (void)ml_svm_predict_proba(&{P}__model, x, out, scratch);\n}}\n")
    elif ir.task == "regressor":
        out.append(f"static inline void {P}__regress(const float *x, float *ML_RESTRICT out)"
                   f"\n{{\n    (void)ml_svm_regress(&{P}__model, x, out, NULL);\n}}\n")
    else:
        out.append(f"static inline int32_t {P}__predict(const float *x)\n{{\n"
                   f"    return ml_svm_predict(&{P}__model, x, NULL);\n}}\n")
        out.append(f"static inline void {P}__decision_function(const float *x, "
                   f"float *ML_RESTRICT out)\n{{\n"
                   f"    (void)ml_svm_decision_function(&{P}__model, x, out, NULL);\n}}\n")
        out.append(f"static inline float {P}__score_samples(const float *x)\n{{\n"
                   f"    float s;\n    (void)ml_svm_score_samples(&{P}__model, x, &s, NULL);\n"
                   f"    return s;\n}}\n")
    # ml_svm.h uses ml_math.h's ml_expf / ml_tanhf / ml_divf (and fabsf, a builtin): no libm
    # tables and struct are ML_CONST (program memory on AVR; ml_svm.h reads them so)
    body = flash_struct(const_tables("\n".join(out)), f"{P}__model", "ml_svm_t", f"{P}__m")
    return CCode(runtime=("ml_svm.h",), body=body, libm=False)
