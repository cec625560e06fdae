"""IR -> footprint estimate of ``predict`` (flash, RAM, stack, instructions per row).

Calibrated by hand on QEMU measurements (``Model.footprint``, predict) of
LogisticRegression / RidgeClassifier on digits (10 x 64) and breast_cancer (1 x 30),
``exact`` True and False; checked on wine (3 x 13, not used for the fit): flash within
2%, instructions within 15% (Cortex-M4F/M7) and 18% (Cortex-M0+, where soft-float timing
depends on the values).
rv32imc reuses the Cortex-M0+ figures (not measured). Flash includes the libgcc
soft-float / soft-double routines the kernels pull in (the exact fallback's double
arithmetic is most of its cost without a double-precision FPU). Rows re-decided in
double add ``mac64`` instructions per recomputed multiply-add (hand estimate).
"""

from __future__ import annotations

import numpy as np

from ...family import Estimate
from .c import data_bytes
from .ir import LinearIR, decision_bounds, decision_values32

# target: code (float32 predict), exact extra code (binary, multiclass), instructions per
# MAC (float32, exact), per weight row, fixed (float32, exact), double MAC, stack
# (float32 binary, exact binary, multiclass base; + 8 bytes per row for multiclass)
_COST = {
    "cortex-m4f": dict(code=190, exact=(1910, 2050), mac=(5.3, 11.7), row=(10, 20),
                       fixed=(8, 15), mac64=130, stack=(16, 24, 24, 64)),
    "cortex-m7": dict(code=190, exact=(125, 250), mac=(5.3, 11.7), row=(10, 20),
                      fixed=(8, 15), mac64=8, stack=(16, 24, 24, 32)),
    "cortex-m0plus": dict(code=2230, exact=(4150, 5100), mac=(158, 260), row=(20, 20),
                          fixed=(600, 1200), mac64=250, stack=(80, 96, 88, 128)),
    "rv32imc": dict(code=2230, exact=(4150, 5100), mac=(158, 260), row=(20, 20),
                    fixed=(600, 1200), mac64=250, stack=(80, 96, 88, 128)),
    "host": dict(code=200, exact=(300, 400), mac=(2, 4), row=(4, 8), fixed=(10, 20),
                 mac64=2, stack=(16, 24, 24, 48)),
}


def estimate(ir: LinearIR, target: str, X: np.ndarray | None, exact: bool) -> Estimate:
    """Flash (tables + code), RAM (none: tables are const), stack and instructions."""
    if target not in _COST:
        raise ValueError(f"target={target!r} is not one of {sorted(_COST)}")
    c = _COST[target]
    clf = ir.task == "classifier"
    exact = bool(exact and clf)
    multi = clf and ir.n_rows > 1
    flash = data_bytes(ir, exact) + c["code"] + (c["exact"][multi] if exact else 0)
    s_f32, s_exact, s_multi32, s_multi_exact = c["stack"]
    if multi:
        stack = (s_multi_exact if exact else s_multi32) + 8 * ir.n_rows
    else:
        stack = s_exact if exact else s_f32
    instructions = None
    if X is not None:
        X = np.asarray(X, dtype=np.float32)
        per_row = (ir.n_rows * (ir.n_features * c["mac"][exact] + c["row"][exact])
                   + c["fixed"][exact])
        inst = np.full(X.shape[0], per_row, dtype=np.float64)
        if exact and X.shape[0]:
            # rows re-decided in double: the candidates' weight rows are recomputed
            d = decision_values32(ir, X).astype(np.float64)
            e = decision_bounds(ir, X)
            if ir.n_rows == 1:
                cand = (np.abs(d[:, 0]) <= e[:, 0]).astype(np.float64)
            else:
                r = np.arange(len(d))
                w = np.argmax(d, axis=1)
                n_close = (d[r, w][:, None] - d <= e[r, w][:, None] + e).sum(axis=1)
                cand = n_close * (n_close > 1)
            inst += cand * ir.n_features * c["mac64"]
        instructions = inst
    return Estimate(flash_bytes=int(flash), ram_bytes=0, stack_bytes=int(stack),
                    instructions=instructions)
