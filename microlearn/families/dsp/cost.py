"""Dsp cost estimate: flash, RAM, stack and instructions from the IR.

Flash is the tables plus a code-size model of the DSP functions a kind links (real FFT,
mel, DCT, power_to_db; statistics; biquads and levels); RAM 0 (tables are ``const``);
stack the scratch, the ``ml_rfft_f32_t`` instance (twiddles of ML_RFFT_MAX_N = 1024
points: 5 KB) and frames. Instructions count float operations per stage times a
per-target cost of one operation (an FPU instruction, or a soft-float call without FPU);
the FFT costs about 2.5 n log2 n operations, its twiddle set-up 30 per twiddle (5 n / 8
twiddles, once per window), a logarithm about 40. Not calibrated against QEMU: treat as
estimates within a factor of about 2 (``Model.footprint`` measures when the toolchain is
installed).
"""

from __future__ import annotations

import numpy as np

from ...family import Estimate
from .c import data_bytes
from .ir import DspIR

# target -> (instructions per float op, per loop iteration, code-size factor)
_COST = {
    "host": (1.0, 1.5, 1.3),
    "cortex-m4f": (1.8, 2.0, 1.0),
    "cortex-m7": (1.4, 1.5, 1.0),
    "cortex-m0plus": (45.0, 5.0, 1.1),
    "rv32imc": (40.0, 4.0, 1.2),
}
_CODE = {"melspec": 2600, "mfcc": 3000, "features": 1400, "level": 900}
_FFT_CODE = 1800  # extra code of the real FFT for spectral window features
_LOG = 40.0       # float operations of one ml_logf
_FFT_STRUCT = 4 * (5 * 1024 // 4 + 2)


def _params(target: str) -> tuple[float, float, float]:
    return _COST.get(target, _COST["cortex-m4f"])


def instructions_per_row(ir: DspIR, target: str) -> float:
    """Estimated instructions of one transform on ``target``."""
    op, loop, _ = _params(target)
    if ir.spectro:
        n = ir.n_fft
        per_frame = (n * (op + loop) + 2.5 * n * np.log2(n) * op
                     + (n // 2 + 1) * (3 * op + loop) + 2 * ir.n_weights * op)
        if ir.kind == "mfcc":
            per_frame += ir.n_mels * _LOG * op + ir.n_mfcc * ir.n_mels * (2 * op + loop)
        total = ir.n_frames * per_frame + 30.0 * (5 * n / 8) * op
        if ir.to_db:
            total += ir.n_outputs * _LOG * op
        return float(total)
    if ir.kind == "features":
        L = ir.window_length
        per = L * (40 * op + 2 * loop)  # two passes, Kahan sums, moments (measured)
        if ir.spectral_features:
            per += 2.5 * L * np.log2(L) * op + (L // 2 + 1) * (4 + 3 * ir.n_bands) * op
        total = ir.n_channels * per
        if ir.spectral_features:
            total += 30.0 * (5 * L / 8) * op
        return float(total)
    n = ir.n_features
    per = n * (10 * ir.n_stages * op + loop)
    if np.any(ir.codes == 0):
        per += n * (4 * op + loop) + _LOG * op
    if np.any((ir.codes == 1) | (ir.codes == 2)):
        per += n * (10 * ir.n_stages * op + (4 + _LOG) * op + 2 * loop)
    if np.any(ir.codes == 3):
        per += n * (4 * op + loop) + _LOG * op
    return float(per)


def estimate(ir: DspIR, target: str, X: np.ndarray | None) -> Estimate:
    """Flash, RAM, stack and instructions per row (the same for every row)."""
    _, _, factor = _params(target)
    code = _CODE[ir.kind] + (_FFT_CODE if ir.spectral_features else 0)
    per_row = instructions_per_row(ir, target)
    instructions = None
    if X is not None:
        instructions = np.full(np.asarray(X).shape[0], int(round(per_row)), dtype=np.int64)
    stack = 96 + 4 * ir.scratch_floats + (_FFT_STRUCT if ir.fft_size else 0)
    return Estimate(flash_bytes=int(code * factor + data_bytes(ir)), ram_bytes=0,
                    stack_bytes=int(stack), instructions=instructions)


def synthetic_rows(ir: DspIR, n: int = 50, seed: int = 0) -> np.ndarray:
    """Windows that exercise the extractor when no data is given: a sine sweep plus noise
    at about -20 dBFS (audio kinds), standard normal samples (window features)."""
    rng = np.random.default_rng(seed)
    if ir.kind == "features":
        return rng.standard_normal((n, ir.n_features)).astype(np.float32)
    t = np.arange(ir.n_features) / max(ir.n_features, 1)
    f = rng.uniform(2, 0.4 * ir.n_features, size=(n, 1))
    x = 0.1 * np.sin(2 * np.pi * f * t) + 0.01 * rng.standard_normal((n, ir.n_features))
    return x.astype(np.float32)
