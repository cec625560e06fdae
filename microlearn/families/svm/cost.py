"""SVM family cost estimate from the IR: flash (tables + engine), RAM, stack, instructions.

Rough numbers, measured once with arm-none-eabi-gcc -Os for Cortex-M4F (ml_svm.h):
the float32 engine (kernels, pairwise sums, vote, "ovr", coupling) is ~2.6 KB; exact
mode adds the certified bounds and the float64 path (~1.9 KB) plus the soft-float
double arithmetic and ``exp``/``tanh`` it pulls from libm on single-precision FPUs
(~4 KB).
"""

from __future__ import annotations

import numpy as np

from ...family import Estimate
from .c import data_bytes, scratch_floats
from .ir import SVMIR

CODE_BYTES = 2600
EXACT_CODE_BYTES = 1900 + 4000
#: instructions per feature of a kernel evaluation, per libm call, per coefficient
PER_FEATURE = 4
PER_LIBM = 60
PER_COEF = 4


def instructions_per_row(ir: SVMIR) -> int:
    """Approximate instructions per row (the float32 path; exact mode's bounds roughly
    double the kernel work, its rare float64 recomputation is not counted; the coupling
    is estimated at 4 sweeps)."""
    k = ir.n_classes
    if ir.weights is not None:
        n = PER_FEATURE * ir.n_features * ir.n_pairs
    else:
        per_sv = PER_FEATURE * ir.n_features + (PER_LIBM if ir.kernel in ("rbf", "sigmoid")
                                                else 0)
        if ir.kernel == "poly":
            per_sv += 3 * max(ir.degree, 1).bit_length()
        rows = k - 1 if ir.task == "classifier" else 1
        n = ir.n_sv * (per_sv + PER_COEF * rows)
    if ir.exact:
        n *= 2
    n += 4 * ir.n_pairs + 20
    if ir.has_proba:
        n += ir.n_pairs * (PER_LIBM + 10) + 4 * (8 * k * k)
    return int(n)


def estimate(ir: SVMIR, target: str, X: np.ndarray | None) -> Estimate:
    """Flash (tables + engine), RAM (0: tables are const) and stack (scratch floats)."""
    del target
    code = CODE_BYTES + (EXACT_CODE_BYTES if ir.exact else 0)
    stack = 4 * scratch_floats(ir) + 96
    inst = None if X is None else np.full(len(X), instructions_per_row(ir), dtype=np.int64)
    return Estimate(flash_bytes=data_bytes(ir) + code + 128, ram_bytes=0, stack_bytes=stack,
                    instructions=inst)
