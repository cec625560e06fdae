"""IR -> cost estimate (flash, RAM, stack, instructions per row)."""

from __future__ import annotations

import numpy as np

from ...family import Estimate
from .ir import KIND_FULL, MixtureIR

ENGINE_CODE_BYTES = 2600  # ml_mixture.h engine + kernels, Cortex-M4 -Os (approximate)
EXACT_CODE_BYTES = 1400   # float64 recomputation paths


def data_bytes(ir: MixtureIR, options: dict) -> int:
    """Bytes of constant tables in the generated C (float32, plus float64 when exact)."""
    f32 = ir.mean.size + ir.factor.size + ir.const.size + ir.err.size
    f64 = ir.d_mean.size + ir.d_factor.size + ir.d_const.size + ir.d_aux.size
    return 4 * int(f32) + 8 * int(f64) + 96


def _ops_per_row(ir: MixtureIR) -> int:
    n, k = ir.n_features, ir.n_components
    if ir.kind == KIND_FULL:
        per = n * (n + 1) + 3 * n  # multiply-add per factor entry, squares
    else:
        per = 6 * n
    return k * (per + 4 * n + 40) + 30 * k  # differences/max, bound, softmax


def estimate(ir: MixtureIR, target: str, X: np.ndarray | None, options: dict) -> Estimate:
    """Flash (tables + code), RAM (none: tables are const), stack (scratch), instructions."""
    code = ENGINE_CODE_BYTES + (EXACT_CODE_BYTES if ir.exact_mode else 0)
    instr = None
    if X is not None:
        instr = np.full(np.asarray(X).shape[0], _ops_per_row(ir), dtype=np.int64)
    return Estimate(flash_bytes=data_bytes(ir, options) + code, ram_bytes=0,
                    stack_bytes=4 * ir.scratch_floats + 96, instructions=instr)


def describe(ir: MixtureIR, options: dict) -> str:
    """One line on the model."""
    from .ir import KIND_NAMES

    tied = " tied" if ir.kind == KIND_FULL and ir.n_factors < ir.n_components else ""
    return (f"{ir.estimator}: {ir.n_components} Gaussian component(s), {ir.n_features} "
            f"features, {KIND_NAMES[ir.kind]}{tied} precision factors"
            f"{', exact near-ties' if ir.exact_mode else ''}")


def synthetic_rows(ir: MixtureIR, n: int) -> np.ndarray:
    """Rows near the component means (for footprint runs without user data)."""
    rng = np.random.default_rng(0)
    idx = rng.integers(0, ir.n_components, size=n)
    return (ir.mean[idx] + rng.normal(size=(n, ir.n_features)).astype(np.float32)).astype(
        np.float32)
