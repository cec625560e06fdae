"""Preprocessing cost estimate: flash, RAM, stack and instructions from the IR.

Flash is the tables plus a code-size model: in a generated header the compiler folds the
``static const`` model struct into the kernel, keeping only the active stages' loops
(measured with arm-none-eabi-gcc -O2: 30-120 bytes of code for a scaler, a selector or a
PCA on Cortex-M4F and M0+); soft-float / soft-double library routines a target needs are
shared by the whole firmware and not counted. Instructions are operations per stage times
a per-target cost of one float operation (an FPU instruction, or a soft-float library
call on targets without one; double operations are library calls except on the host and
the Cortex-M7's double FPU). Instruction counts are not yet calibrated against QEMU
measurements: treat them as estimates within a factor of about 2.
"""

from __future__ import annotations

import numpy as np

from ...family import Estimate
from .c import data_bytes
from .ir import PreprocessingIR

# target -> (code bytes per active stage, instructions per float32 op, per double op, per loop
#            iteration overhead, sqrt, fixed per call, stack bytes besides scratch)
_COST = {
    "host": (40, 1.0, 1.0, 2.0, 15.0, 30, 48),
    "cortex-m4f": (28, 1.5, 60.0, 3.0, 14.0, 30, 40),
    "cortex-m7": (28, 1.0, 2.0, 2.0, 14.0, 30, 40),
    "cortex-m0plus": (30, 45.0, 80.0, 6.0, 400.0, 40, 56),
    "rv32imc": (32, 40.0, 75.0, 5.0, 400.0, 40, 64),
}
_DIV = 5.0  # a division costs about this many float operations (soft float and FPU alike)


def _params(target: str) -> tuple:
    return _COST.get(target, _COST["cortex-m4f"])


def instructions_per_row(ir: PreprocessingIR, target: str) -> float:
    """Estimated instructions of one transform on ``target``."""
    code, f32, f64, loop, sqrt, fixed, _ = _params(target)
    n = ir.n_mid
    total = float(fixed)
    if ir.gather is not None:
        total += n * (loop + 2)
    for a, div in ((ir.center, False), (ir.scale, ir.scale_op == "div"), (ir.offset, False)):
        if a is not None:
            op = f64 if a.dtype == np.float64 else f32
            total += n * (loop + op * (_DIV if div else 1.0) + (2 * op if op == f64 else 0))
    if ir.clip is not None:
        total += n * (loop + 2 * f32)
    if ir.norm is not None:
        total += n * (loop + 2 * f32) + n * (loop + _DIV * f32) + (sqrt if ir.norm == "l2"
                                                                   else 0.0)
    if ir.matrix is not None:
        total += ir.n_outputs * (n * (loop + 2 * f32) + loop)
    elif not ir.has_pre:
        total += n * loop
    return total


def estimate(ir: PreprocessingIR, target: str, X: np.ndarray | None) -> Estimate:
    """Flash, RAM, stack and instructions per row (the same for every row)."""
    per_stage, *_rest, stack = _params(target)
    stages = sum(a is not None for a in (ir.gather, ir.center, ir.scale, ir.offset, ir.clip,
                                         ir.norm, ir.matrix))
    code = 12 + per_stage * max(stages, 1)
    per_row = instructions_per_row(ir, target)
    instructions = None
    if X is not None:
        instructions = np.full(np.asarray(X).shape[0], int(round(per_row)), dtype=np.int64)
    return Estimate(
        flash_bytes=int(code + data_bytes(ir)),
        ram_bytes=0,
        stack_bytes=int(stack + 4 * ir.scratch_floats),
        instructions=instructions,
    )


def synthetic_rows(ir: PreprocessingIR, n: int = 200, seed: int = 0) -> np.ndarray:
    """Rows that exercise the transform when no data is given: around the center with
    the spread of the scale where the IR has them, else standard normal."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, ir.n_features))
    spread = np.ones(ir.n_mid)
    center = np.zeros(ir.n_mid)
    if ir.scale is not None:
        s = np.abs(ir.scale.astype(np.float64))
        spread = 1.0 / s if ir.scale_op == "mul" else s
    if ir.center is not None:
        center = ir.center.astype(np.float64)
    cols = ir.gather if ir.gather is not None else np.arange(ir.n_features)
    X[:, cols] = center + spread * X[:, cols]
    return X.astype(np.float32)
