"""SVM family model-file section (layout version 1; see ``runtime/ml_svm.h``).

Little-endian; 96 header bytes, then 4-byte aligned tables (offsets from the section
start; 0 = absent)::

    0 version (1)   4 task (0 classifier, 1 regressor, 2 outlier detector)
    8 kernel (0 linear, 1 poly, 2 rbf, 3 sigmoid, 4 linear in primal form)
   12 n_features
   16 n_classes (classifier >= 2, else 1)   20 n_sv   24 degree
   28 gamma f32   32 coef0 f32   36 flags (1 ovr, 2 break_ties, 4 probabilities)
   40 off_sv        f32 [n_sv * n_features]  (primal: weights [n_pairs * n_features])
   44 off_dual_coef f32 [(n_classes - 1 or 1) * n_sv]  (primal: n_sv = 0, empty)
   48 off_rho       f32 [n_pairs or 1]
   52 off_sv_start  i32 [n_classes + 1]     (classifier, else 0)
   56 off_prob_a    f32 [n_pairs]           (probabilities, else 0)
   60 off_prob_b    f32 [n_pairs]           (probabilities, else 0)
   exact mode (flags & 8; else 0): float64 copies, 8-byte aligned
   64 off_sv64  f64 [as off_sv]    68 off_coef64 f64 [as off_dual_coef]
   72 off_rho64 f64 [as off_rho]   76 off_lin_err f32 [n_pairs] (primal form only)
   80 gamma f64   88 coef0 f64
"""

from __future__ import annotations

import struct

import numpy as np

from .c import flags, kernel_code, tables, tables64
from .ir import SVMIR

VERSION = 1
HEADER_BYTES = 96
_TASK = {"classifier": 0, "regressor": 1, "outlier_detector": 2}
_ORDER = ("sv", "dual_coef", "rho", "sv_start", "prob_a", "prob_b")


def section(ir: SVMIR) -> bytes:
    """The section payload of ``ir``."""
    t = tables(ir)
    body = bytearray()
    offsets = []
    for key in _ORDER:
        if key not in t:
            offsets.append(0)
            continue
        offsets.append(HEADER_BYTES + len(body))
        arr = t[key]
        body += arr.astype("<i4" if key == "sv_start" else "<f4").tobytes()
    off64 = []
    t64 = tables64(ir)
    for key in ("sv64", "coef64", "rho64", "lin_err"):
        if key not in t64:
            off64.append(0)
            continue
        if key != "lin_err":
            body += b"\0" * ((-(HEADER_BYTES + len(body))) % 8)  # 8-byte aligned
        off64.append(HEADER_BYTES + len(body))
        body += t64[key].astype("<f8" if key != "lin_err" else "<f4").tobytes()
    head = struct.pack(
        "<7I2f11I2d", VERSION, _TASK[ir.task], kernel_code(ir), ir.n_features,
        ir.n_classes, ir.n_sv_stored, ir.degree, np.float32(ir.gamma), np.float32(ir.coef0),
        flags(ir), *offsets, *off64, ir.gamma if ir.exact else 0.0,
        ir.coef0 if ir.exact else 0.0)
    assert len(head) == HEADER_BYTES
    return bytes(head + body)
