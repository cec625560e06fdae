"""Naive Bayes C: IR -> float32 tables, a ``static const ml_naive_bayes_t`` and kernels
(``P__predict``, ``P__predict_proba``) calling the runtime engine ``ml_naive_bayes.h``
(the same engine the model-file path runs, so header == file by construction)."""

from __future__ import annotations

import numpy as np

from ...codegen import c_array, c_float, c_floats
from ...family import CCode
from ...progmem import const_tables, flash_struct
from .ir import KIND_CODES, NaiveBayesIR, tables

_KIND_MACRO = {"gaussian": "ML_NAIVE_BAYES_GAUSSIAN", "linear": "ML_NAIVE_BAYES_LINEAR",
               "binary": "ML_NAIVE_BAYES_BINARY", "gaussian32": "ML_NAIVE_BAYES_GAUSSIAN32"}
assert set(_KIND_MACRO) == set(KIND_CODES)

#: struct member order of ml_naive_bayes_t's table pointers
TABLE_FIELDS = ("constant", "coef", "mean", "constant_lo", "coef_lo", "mean_lo",
                "bound_class", "bound_mean", "bound_feature", "constant2")


def data_bytes(ir: NaiveBayesIR) -> int:
    """Bytes of constant tables (float32 tables + the model struct, 4-byte pointers)."""
    return sum(4 * t.size for t in tables(ir).values()) + 4 * 7 + 4 * len(TABLE_FIELDS)


def describe_line(ir: NaiveBayesIR) -> str:
    """One line: what the model is."""
    s = (f"{ir.estimator}: {ir.n_classes} classes, {ir.n_features} features, "
         f"{ir.kind} log likelihood in float32")
    if ir.kind == "binary":
        s += f" (x > {c_float(ir.threshold)[:-1]})"
    if ir.kind == "gaussian32":
        s += "; scikit-learn's float32 operations repeated bit for bit"
    else:
        s += ("; near-ties recomputed in double (certified)" if ir.bounded
              else "; float32 only")
    return s


def c_code(ir: NaiveBayesIR, prefix: str) -> CCode:
    """Tables, model struct and kernels for prefix ``P`` (see ``microlearn/family.py``)."""
    P = prefix
    t = tables(ir)
    parts = []
    for name in TABLE_FIELDS:
        if name in t:
            parts.append(c_array("float", f"{P}__{name}", c_floats(t[name]), per_line=8))
    ptrs = [f"{P}__{n}" if n in t else "NULL" for n in TABLE_FIELDS]
    k = [c_float(v) for v in ir.bound_k] if ir.bounded else ["0.0f"] * 3
    parts.append(
        f"static const ml_naive_bayes_t {P}__model = {{\n"
        f"    {_KIND_MACRO[ir.kind]}, {ir.n_features}, {ir.n_classes}, "
        f"{c_float(ir.threshold)},\n"
        f"    {', '.join(ptrs[:3])},\n"
        f"    {', '.join(ptrs[3:9])},\n"
        f"    {', '.join(k)}, {ptrs[9]}\n}};\n"
    )
    scratch = (f"    float scratch[{ir.n_classes}];\n", "scratch") if ir.bounded else ("", "NULL")
    parts.append(
        f"static inline int32_t {P}__predict(const float *x)\n{{\n"
        f"    return ml_naive_bayes_predict(&{P}__model, x, NULL);\n}}\n\n"
        f"static inline void {P}__predict_proba(const float *x, float *out)\n{{\n"
        f"{scratch[0]}"
        f"    (void)ml_naive_bayes_predict_proba(&{P}__model, x, out, {scratch[1]});\n}}\n"
    )
    # tables and struct are ML_CONST (program memory on AVR; ml_naive_bayes.h reads them so)
    body = flash_struct(const_tables("\n".join(parts)), f"{P}__model", "ml_naive_bayes_t",
                        f"{P}__m")
    return CCode(runtime=("ml_naive_bayes.h",), body=body, libm=False)


def stack_bytes(ir: NaiveBayesIR) -> int:
    """Stack of the kernels' own buffers (predict_proba's scratch in exact mode)."""
    return 4 * ir.n_classes if ir.bounded else 0


def table_summary(ir: NaiveBayesIR) -> dict[str, int]:
    """Table name -> bytes (for docs and reports)."""
    return {n: int(4 * np.asarray(v).size) for n, v in tables(ir).items()}
