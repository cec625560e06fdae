"""Preprocessing IR -> C tables and the ``P__transform`` kernel (reads only the IR).

The kernel runs the runtime engine (``ml_preprocessing_transform_inline``, always
inlined) on a ``static const ml_preprocessing_t P__model`` pointing at ``static const``
tables (float literals exact float32, double literals exact float64), so the header and
the model-file path (``ml_preprocessing_transform``, the same engine) execute the same
operations; the model's stage flags and tables being compile-time constants, each step's
kernel keeps only the stages it uses (no soft-double code or square root for a float32
scaler, at any optimisation level and however many steps share the engine).
"""

from __future__ import annotations

import numpy as np

from ...family import CCode
from ...progmem import const_tables, flash_struct
from .ir import PreprocessingIR

_NORM = {None: "ML_PREPROCESSING_NORM_NONE", "l1": "ML_PREPROCESSING_NORM_L1",
         "l2": "ML_PREPROCESSING_NORM_L2", "max": "ML_PREPROCESSING_NORM_MAX"}
_SCALE = {None: "ML_PREPROCESSING_SCALE_NONE", "mul": "ML_PREPROCESSING_SCALE_MUL",
          "div": "ML_PREPROCESSING_SCALE_DIV"}


def _c_float(v: float) -> str:
    try:
        from ...codegen import c_float
    except ImportError:  # pragma: no cover - during the package restructuring
        from ...codegen_c import c_float  # type: ignore[no-redef]
    return c_float(v)


def _c_double(v: float) -> str:
    """Exact C literal of a float64 value (shortest round-trip decimal)."""
    v = float(v)
    if not np.isfinite(v):
        raise ValueError(f"non-finite double parameter {v!r}")
    s = repr(v)
    return s if any(c in s for c in ".en") else s + ".0"


def _array(ctype: str, name: str, values: list[str], per_line: int = 8) -> str:
    lines = ["    " + ", ".join(values[i : i + per_line]) + ","
             for i in range(0, len(values), per_line)]
    return f"static const {ctype} {name}[{len(values)}] = {{\n" + "\n".join(lines) + "\n};\n"


def table_bytes(ir: PreprocessingIR) -> int:
    """Bytes of constant tables (the ``ml_preprocessing_t`` struct itself not included)."""
    total = 0
    if ir.gather is not None:
        total += 2 * ir.gather.size
    for a in (ir.center, ir.scale, ir.offset):
        if a is not None:
            total += a.itemsize * a.size
    if ir.matrix is not None:
        total += 4 * ir.matrix.size
    return total


#: bytes of the ``ml_preprocessing_t`` struct on a 32-bit target (7 ints, 2 floats,
#: 8 pointers)
STRUCT_BYTES = 68


def data_bytes(ir: PreprocessingIR) -> int:
    """Bytes of constant tables in the generated C (the ``static const`` model struct is
    folded into the kernel by the compiler: measured 0 bytes at -O2 and -Os; a
    model-file load keeps one ``ml_preprocessing_t`` of STRUCT_BYTES in RAM)."""
    return table_bytes(ir)


def c_code(ir: PreprocessingIR, prefix: str) -> CCode:
    """Tables and the ``P__transform`` kernel for prefix ``P``."""
    P = prefix
    parts: list[str] = []
    ptr = {"gather": "NULL", "center": "NULL", "scale": "NULL", "offset": "NULL",
           "center64": "NULL", "scale64": "NULL", "offset64": "NULL", "matrix": "NULL"}
    if ir.gather is not None:
        parts.append(_array("uint16_t", f"{P}__gather", [str(int(i)) for i in ir.gather], 16))
        ptr["gather"] = f"{P}__gather"
    for name in ("center", "scale", "offset"):
        a = getattr(ir, name)
        if a is None:
            continue
        if a.dtype == np.float64:
            parts.append(_array("double", f"{P}__{name}64", [_c_double(v) for v in a], 4))
            ptr[name + "64"] = f"{P}__{name}64"
        else:
            parts.append(_array("float", f"{P}__{name}", [_c_float(v) for v in a]))
            ptr[name] = f"{P}__{name}"
    if ir.matrix is not None:
        parts.append(_array("float", f"{P}__matrix",
                            [_c_float(v) for v in ir.matrix.ravel()], ir.n_mid
                            if ir.n_mid <= 8 else 8))
        ptr["matrix"] = f"{P}__matrix"
    lo, hi = ir.clip if ir.clip is not None else (0.0, 0.0)
    parts.append(
        f"static const ml_preprocessing_t {P}__model = {{\n"
        f"    {ir.n_features}, {ir.n_mid}, {ir.n_outputs}, /* n_features, n_mid, n_outputs */\n"
        f"    {_SCALE[ir.scale_op]}, {_NORM[ir.norm]}, {int(ir.clip is not None)}, "
        f"{int(ir.fused64)}, /* scale_op, norm, clip, fused64 */\n"
        f"    {_c_float(lo)}, {_c_float(hi)}, /* clip */\n"
        f"    {ptr['gather']}, {ptr['center']}, {ptr['scale']}, {ptr['offset']},\n"
        f"    {ptr['center64']}, {ptr['scale64']}, {ptr['offset64']}, {ptr['matrix']},\n"
        "};\n"
    )
    if ir.scratch_floats:
        call = (f"    float scratch[{ir.scratch_floats}];\n"
                f"    (void)ml_preprocessing_transform_inline(&{P}__model, x, out, scratch);\n")
    else:
        call = f"    (void)ml_preprocessing_transform_inline(&{P}__model, x, out, NULL);\n"
    parts.append(
        f"static inline void {P}__transform(const float *x, float *ML_RESTRICT out)\n"
        "{\n" + call + "}\n"
    )
    # tables and struct are ML_CONST (program memory on AVR; ml_preprocessing.h reads them so)
    body = flash_struct(const_tables("\n".join(parts)), f"{P}__model", "ml_preprocessing_t",
                        f"{P}__m")
    return CCode(runtime=("ml_preprocessing.h",), body=body, libm=False)


def describe_line(ir: PreprocessingIR) -> str:
    """One line: what the transform computes."""
    steps = []
    if ir.gather is not None:
        steps.append(f"select {ir.n_mid} of {ir.n_features} features")
    if ir.has_affine:
        expr = "x"
        if ir.center is not None:
            expr = f"({expr} - center)"
        if ir.scale is not None:
            expr = f"{expr} {'*' if ir.scale_op == 'mul' else '/'} scale"
        if ir.offset is not None:
            expr = f"{expr} + offset"
        if ir.clip is not None:
            expr = f"clip({expr}, {ir.clip[0]:g}, {ir.clip[1]:g})"
        wide = any(a is not None and a.dtype == np.float64
                   for a in (ir.center, ir.scale, ir.offset))
        steps.append(expr + (" (in double, one rounding)" if ir.fused64 else
                             " (double where float64 parameters)" if wide else ""))
    if ir.norm is not None:
        steps.append(f"{ir.norm} row normalisation")
    if ir.matrix is not None:
        steps.append(f"{ir.n_outputs}x{ir.n_mid} float32 projection")
    if not steps:
        steps.append("identity")
    return f"{ir.estimator}: {ir.n_features} -> {ir.n_outputs} features; " + ", ".join(steps)
