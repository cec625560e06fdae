"""Neighbors family cost estimate from the IR: flash (tables + engine), RAM, instructions.

A prediction scans every stored point: n_points x n_features terms (a powf per term for
general Minkowski p), plus the sorted-list insertions. Rows whose k-th and (k+1)-th
distances lie within the float32 error bound scan a second time (not counted: the
estimate is for the common row). Per-target constants measured on QEMU (footprint of
k-NN and LOF models on digits and breast_cancer, 600 training points): cortex-m4f
6.3 instructions per term (184 with powf), cortex-m0plus (soft float) 218 (4418).
"""

from __future__ import annotations

import numpy as np

from ...family import Estimate
from .c import data_bytes
from .ir import NeighborsIR

# target -> (instructions per term, per powf term, per point, code bytes, code bytes with
# powf/pow (minkowski)); rv32imc is soft-float like cortex-m0plus (not measured)
_COST = {
    "cortex-m4f": (6.3, 184.0, 12.0, 2600, 9700),
    "cortex-m7": (6.3, 184.0, 12.0, 2600, 9700),
    "cortex-m0plus": (218.0, 4418.0, 40.0, 10500, 20000),
    "rv32imc": (218.0, 4418.0, 40.0, 10500, 20000),
    "host": (6.3, 184.0, 12.0, 2600, 9700),
}


def instructions_per_row(ir: NeighborsIR, target: str = "cortex-m4f") -> int:
    """Approximate instructions for one row without the (rare) second scan."""
    per_term, per_pow, per_point, _, _ = _COST.get(target, _COST["cortex-m4f"])
    term = per_pow if ir.metric == "minkowski" else per_term
    n = ir.n_points * (ir.n_features * term + per_point)
    n += 4 * ir.k * ir.k + 10 * ir.k + 8 * ir.n_outputs + 60
    if ir.kind == "centroid" and not ir.flags & 1:
        n += ir.n_outputs * ir.n_features * per_term
    return int(n)


def estimate(ir: NeighborsIR, target: str, X: np.ndarray | None) -> Estimate:
    """Flash (tables + engine), RAM 0 (tables are const), stack (the kernel's scratch)."""
    _, _, _, code, code_pow = _COST.get(target, _COST["cortex-m4f"])
    stack = 4 * ir.scratch_floats + 96
    inst = (None if X is None else
            np.full(len(X), instructions_per_row(ir, target), dtype=np.int64))
    return Estimate(flash_bytes=data_bytes(ir) + (code_pow if ir.metric == "minkowski"
                                                   else code),
                    ram_bytes=0, stack_bytes=stack, instructions=inst)


def synthetic_rows(ir: NeighborsIR, n: int, seed: int = 0) -> np.ndarray:
    """Rows near the stored points (a few percent of each feature's spread away)."""
    rng = np.random.default_rng(seed)
    base = ir.points[rng.integers(0, ir.n_points, size=n)].astype(np.float64)
    scale = ir.points.std(axis=0).astype(np.float64) + 1e-3
    return (base + 0.05 * scale * rng.standard_normal(base.shape)).astype(np.float32)
