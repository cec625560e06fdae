"""IR -> C: float32 (and, with ``exact``, float64) tables and kernels on ``ml_linear.h``."""

from __future__ import annotations

import numpy as np

from ...family import CCode
from ...progmem import const_tables, flash_struct
from .ir import PROBA_KINDS, LinearIR, error_constants


def c_float(value: float) -> str:
    """C literal for a float32 value, exact (shortest round-trip decimal)."""
    v = np.float32(value)
    if np.isnan(v) or np.isinf(v):
        raise ValueError(f"non-finite table value {v}")
    s = np.format_float_scientific(v, unique=True, trim="0", exp_digits=1) if (
        v != 0 and not 1e-4 <= abs(v) < 1e7
    ) else np.format_float_positional(v, unique=True, trim="0")
    if not any(c in s for c in ".e"):
        s += ".0"
    return s + "f"


def c_double(value: float) -> str:
    """C literal for a float64 value, exact (Python's shortest round-trip repr)."""
    s = repr(float(value))
    if not np.isfinite(float(value)):
        raise ValueError(f"non-finite table value {s}")
    if not any(c in s for c in ".e"):
        s += ".0"
    return s


def _array(ctype: str, name: str, values: list[str], per_line: int = 8) -> str:
    lines = ["    " + ", ".join(values[i : i + per_line]) + ","
             for i in range(0, len(values), per_line)]
    return f"static const {ctype} {name}[{len(values)}] = {{\n" + "\n".join(lines) + "\n};\n"


def data_bytes(ir: LinearIR, exact: bool) -> int:
    """Bytes of constant tables: float32 weights and intercepts (+ float64 copies)."""
    n = ir.n_rows * (ir.n_features + 1)
    return 4 * n + (8 * n if exact else 0) + 56  # + the ml_linear_t struct


def c_code(ir: LinearIR, P: str, exact: bool) -> CCode:
    """Tables and kernels of ``ir`` with prefix ``P`` (see ``microlearn/family.py``)."""
    k_, u_, t_ = error_constants(ir.n_features)
    out = [
        f"/* {P}: {ir.estimator}, {ir.n_rows} x {ir.n_features} float32 weights"
        + (" + float64 copies for the exact near-tie fallback" if exact else "") + " */\n",
        _array("float", f"{P}__coef", [c_float(v) for v in ir.coef32.ravel()]),
        _array("float", f"{P}__intercept", [c_float(v) for v in ir.intercept32]),
    ]
    if exact:
        out.append(_array("double", f"{P}__coef64", [c_double(v) for v in ir.coef.ravel()], 4))
        out.append(_array("double", f"{P}__intercept64", [c_double(v) for v in ir.intercept],
                          4))
    task = "ML_TASK_CLASSIFIER" if ir.task == "classifier" else "ML_TASK_REGRESSOR"
    proba = ["ML_LINEAR_PROBA_NONE", "ML_LINEAR_PROBA_LOGISTIC", "ML_LINEAR_PROBA_SOFTMAX",
             "ML_LINEAR_PROBA_MHUBER"][PROBA_KINDS.index(ir.proba)]
    t64 = (f"{P}__coef64, {P}__intercept64") if exact else "NULL, NULL"
    out.append(
        f"static const ml_linear_t {P}__model = {{\n"
        f"    {task}, {ir.n_features}, {ir.n_outputs}, {ir.n_rows}, {proba}, "
        f"{int(ir.empty_zero)},\n"
        f"    {c_float(k_)}, {c_float(u_)}, {c_float(t_)},\n"
        f"    {P}__coef, {P}__intercept, {t64}\n}};\n")
    libm = False
    if ir.task == "classifier":
        scratch = 2 * ir.n_rows if ir.n_rows > 1 else 1
        out.append(
            f"static inline int32_t {P}__predict(const float *x)\n{{\n"
            f"    float s[{scratch}];\n"
            f"    return ml_linear_predict(&{P}__model, x, s);\n}}\n")
        out.append(
            f"static inline void {P}__decision_function(const float *x, float *out)\n{{\n"
            f"    (void)ml_linear_decision_function(&{P}__model, x, out, NULL);\n}}\n")
        if ir.proba != "none":
            out.append(
                f"static inline void {P}__predict_proba(const float *x, float *out)\n{{\n"
                f"    (void)ml_linear_predict_proba(&{P}__model, x, out, NULL);\n}}\n")
    else:
        out.append(
            f"static inline void {P}__regress(const float *x, float *out)\n{{\n"
            f"    (void)ml_linear_regress(&{P}__model, x, out, NULL);\n}}\n")
    # tables and struct are ML_CONST (program memory on AVR; ml_linear.h reads them so)
    body = flash_struct(const_tables("".join(out)), f"{P}__model", "ml_linear_t", f"{P}__m")
    return CCode(runtime=("ml_linear.h",), body=body, libm=libm)
