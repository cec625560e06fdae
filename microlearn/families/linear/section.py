"""IR -> model-file section payload (layout version 1; see ``ml_linear.h``).

=======  ====  ==========================================================
offset   type  field
=======  ====  ==========================================================
0        u32   layout version (1)
4        u32   task (0 classifier, 1 regressor)
8        u32   n_features
12       u32   n_outputs (classes / targets)
16       u32   n_rows (1 for two classes, else n_outputs)
20       u32   proba kind (0 none, 1 logistic, 2 softmax, 3 modified Huber)
24       u32   flags (bit 0: all-zero normalised probabilities stay 0)
28       f32   err_k
32       f32   err_u
36       f32   err_tiny
40       u32   offset of coef (f32 [n_rows * n_features], 4-aligned)
44       u32   offset of intercept (f32 [n_rows], 4-aligned)
48       u32   offset of coef64 (f64 [n_rows * n_features], 8-aligned) or 0
52       u32   offset of intercept64 (f64 [n_rows], 8-aligned) or 0
56       u32   reserved (0)
60       u32   reserved (0)
64             tables: coef64, intercept64 (exact only), coef, intercept
=======  ====  ==========================================================
"""

from __future__ import annotations

import struct

import numpy as np

from .ir import PROBA_KINDS, LinearIR, error_constants

VERSION = 1
HEADER_BYTES = 64


def section(ir: LinearIR, exact: bool) -> bytes:
    """Payload of the linear model's model-file section."""
    parts: list[bytes] = []
    pos = HEADER_BYTES

    def put(a: np.ndarray) -> int:
        nonlocal pos
        off = pos
        b = a.tobytes()
        parts.append(b)
        pos += len(b)
        return off

    off64 = offi64 = 0
    if exact:
        off64 = put(ir.coef.astype("<f8").ravel())
        offi64 = put(ir.intercept.astype("<f8"))
    offc = put(ir.coef32.astype("<f4").ravel())
    offi = put(ir.intercept32.astype("<f4"))
    pad = (-pos) % 8
    k, u, t = error_constants(ir.n_features)
    header = struct.pack(
        "<7I3f6I", VERSION, 0 if ir.task == "classifier" else 1, ir.n_features,
        ir.n_outputs, ir.n_rows, PROBA_KINDS.index(ir.proba), int(ir.empty_zero),
        float(k), float(u), float(t), offc, offi, off64, offi64, 0, 0)
    assert len(header) == HEADER_BYTES
    return header + b"".join(parts) + b"\0" * pad
