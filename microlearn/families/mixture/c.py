"""IR -> C: float32 (and, for exact models, float64) tables and kernels calling ml_mixture.h."""

from __future__ import annotations

import numpy as np

from ...family import CCode
from ...progmem import const_tables, flash_struct
from .ir import MixtureIR, signature


def c_float(value: float) -> str:
    """C literal for a float32 value, exact (shortest round-trip decimal)."""
    try:
        from ...codegen import c_float as shared
    except ImportError:
        try:
            from ...codegen_c import c_float as shared
        except ImportError:
            shared = None
    if shared is not None:
        return shared(value)
    v = np.float32(value)
    s = np.format_float_scientific(v, unique=True, trim="0", exp_digits=1) if (
        v != 0 and not 1e-4 <= abs(v) < 1e7) else np.format_float_positional(
        v, unique=True, trim="0")
    if not any(ch in s for ch in ".e"):
        s += ".0"
    return s + "f"


def c_double(value: float) -> str:
    """C literal for a float64 value, exact (shortest round-trip decimal)."""
    s = repr(float(value))
    if not any(ch in s for ch in ".e") and "inf" not in s and "nan" not in s:
        s += ".0"
    return s


def _array(ctype: str, name: str, values: list[str], per_line: int = 8) -> str:
    if not values:
        values = ["0"]
    lines = ["    " + ", ".join(values[i:i + per_line]) + ","
             for i in range(0, len(values), per_line)]
    return f"static const {ctype} {name}[{len(values)}] = {{\n" + "\n".join(lines) + "\n};\n"


def c_code(ir: MixtureIR, prefix: str, options: dict) -> CCode:
    """Tables (``P__mean`` ...), the ``P__model`` engine record and the kernels."""
    p = prefix
    out = [
        _array("float", f"{p}__mean", [c_float(v) for v in ir.mean.ravel()]),
        _array("float", f"{p}__factor", [c_float(v) for v in ir.factor]),
        _array("float", f"{p}__const", [c_float(v) for v in ir.const]),
        _array("float", f"{p}__err", [c_float(v) for v in ir.err.ravel()]),
    ]
    exact = ir.exact_mode != 0
    if exact:
        for name in ("d_mean", "d_factor", "d_const", "d_aux"):
            out.append(_array("double", f"{p}__{name}",
                              [c_double(v) for v in getattr(ir, name)], per_line=4))
        dptr = [f"(const uint8_t *)(const void *){p}__{name}"
                for name in ("d_mean", "d_factor", "d_const", "d_aux")]
    else:
        dptr = ["NULL"] * 4
    task = "ML_TASK_CLASSIFIER" if ir.task == "classifier" else "ML_TASK_OUTLIER_DETECTOR"
    fields = [task, str(ir.kind), str(ir.n_features), str(ir.n_components),
              str(ir.n_factors), str(ir.score_kind), str(ir.decision_kind),
              str(int(ir.has_proba)), str(ir.exact_mode), str(int(ir.round_maha)),
              c_float(ir.h), c_float(ir.g), c_float(ir.a), f"{p}__mean", f"{p}__factor",
              f"{p}__const", f"{p}__err", *dptr]
    out.append(f"static const ml_mixture_t {p}__model = {{\n    "
               + ",\n    ".join(fields) + "\n};\n")
    scratch = ir.scratch_floats
    sig = signature(ir)
    kernels = sig.kernels
    call = f"float scratch[{scratch}];\n"
    if "predict" in kernels:
        out.append(f"static inline int32_t {p}__predict(const float *x)\n{{\n    {call}"
                   f"    return ml_mixture_predict(&{p}__model, x, scratch);\n}}\n")
    for method in ("predict_proba", "decision_function"):
        if method in kernels:
            out.append(f"static inline void {p}__{method}(const float *x, float *out)\n{{\n"
                       f"    {call}    (void)ml_mixture_{method}(&{p}__model, x, out, "
                       "scratch);\n}\n")
    if "score_samples" in kernels:
        out.append(f"static inline float {p}__score_samples(const float *x)\n{{\n    {call}"
                   "    float out;\n"
                   f"    (void)ml_mixture_score_samples(&{p}__model, x, &out, scratch);\n"
                   "    return out;\n}\n")
    # tables and struct are ML_CONST (program memory on AVR; ml_mixture.h reads them so)
    body = flash_struct(const_tables("\n".join(out)), f"{p}__model", "ml_mixture_t", f"{p}__m")
    return CCode(runtime=("ml_mixture.h",), body=body, libm=False)
