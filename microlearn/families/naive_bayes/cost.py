"""Naive Bayes cost estimate: flash, RAM, stack and instructions from the IR.

Flash: the float32 tables (``c.data_bytes``) plus a per-target code size. Instructions
per row of ``predict``: a fixed part, a per-(class, feature) term of the float32 pass
(GaussianNB: load mean and coef, subtract, 2 multiplies, add; linear: load, multiply, add;
binary: compare, conditional add), a per-class term (bound, comparison), and for the rows
:func:`ir.fallback_rows` sends to double precision the double pass (soft-float on every
target but the Cortex-M7 and the host). The constants are first estimates from the
instruction sequences gcc -O2 emits, not yet calibrated against QEMU.
"""

from __future__ import annotations

import numpy as np

from ...family import Estimate
from . import c as codegen_c
from .ir import NaiveBayesIR, fallback_rows

# target: (code bytes, per class-feature float32 [gaussian, linear, binary],
#          per class-feature double, per class, fixed, stack bytes)
_COST = {
    "cortex-m4f": (620, (7.0, 5.0, 5.0), 160.0, 30.0, 40, 64),
    "cortex-m7": (620, (7.0, 5.0, 5.0), 9.0, 30.0, 40, 64),
    "cortex-m0plus": (900, (190.0, 110.0, 50.0), 260.0, 400.0, 80, 96),
    "rv32imc": (900, (170.0, 100.0, 45.0), 240.0, 380.0, 80, 96),
    "host": (700, (4.0, 3.0, 3.0), 6.0, 20.0, 30, 64),
}


def synthetic_rows(ir: NaiveBayesIR, n: int = 200, seed: int = 0) -> np.ndarray:
    """Rows exercising the model when none are given: GaussianNB around each class mean
    (spread by its variance), discrete models uniform in [0, 4) (counts)."""
    rng = np.random.default_rng(seed)
    if ir.kind in ("gaussian", "gaussian32"):
        c = rng.integers(0, ir.n_classes, n)
        sd = np.sqrt(ir.coef[c] if ir.kind == "gaussian32" else 0.5 / ir.coef[c])
        return (ir.mean[c] + sd * rng.standard_normal((n, ir.n_features))).astype(np.float32)
    return rng.uniform(0.0, 4.0, (n, ir.n_features)).astype(np.float32)


def estimate(ir: NaiveBayesIR, target: str, X: np.ndarray | None) -> Estimate:
    """Footprint of ``ir`` on ``target`` estimated from the IR (and rows X, if given)."""
    if target not in _COST:
        raise ValueError(f"target={target!r} is not one of {sorted(_COST)}")
    code, per_cf, per_cf64, per_class, fixed, stack = _COST[target]
    flash = codegen_c.data_bytes(ir) + code
    instructions = None
    if X is not None:
        X = np.asarray(X, dtype=np.float32)
        cf = ir.n_classes * ir.n_features
        k = {"gaussian": 0, "linear": 1, "binary": 2, "gaussian32": 0}[ir.kind]
        base = fixed + per_cf[k] * cf + per_class * ir.n_classes
        if ir.bounded and ir.kind != "gaussian":
            base += per_cf[k] * ir.n_features  # the row bound A
        fb, _ = fallback_rows(ir, X)
        instructions = base + fb.astype(np.float64) * per_cf64 * cf
    return Estimate(flash, 0, stack + codegen_c.stack_bytes(ir), instructions)
