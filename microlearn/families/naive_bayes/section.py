"""Naive Bayes model-file section: IR -> payload (layout in ``ml_naive_bayes.h`` and
``docs/families/naive_bayes.md``)."""

from __future__ import annotations

import struct

import numpy as np

from .ir import KIND_CODES, NaiveBayesIR, tables

VERSION = 1
HEADER_BYTES = 76
#: table name -> offset field position in the header
OFFSET_FIELDS = {"constant": 36, "coef": 40, "mean": 44, "constant_lo": 48, "coef_lo": 52,
                 "mean_lo": 56, "bound_class": 60, "bound_mean": 64, "bound_feature": 68,
                 "constant2": 72}


def section(ir: NaiveBayesIR) -> bytes:
    """Payload of the naive Bayes section of ``ir`` (little-endian, 4-byte aligned)."""
    t = tables(ir)
    k = np.asarray(ir.bound_k, dtype=np.float32) if ir.bounded else np.zeros(3, np.float32)
    head = bytearray(HEADER_BYTES)
    struct.pack_into("<5I4f", head, 0, VERSION, KIND_CODES[ir.kind], ir.n_features,
                     ir.n_classes, 1 if ir.bounded else 0, np.float32(ir.threshold),
                     *[float(v) for v in k])
    body = bytearray()
    for name, pos in OFFSET_FIELDS.items():
        if name in t:
            struct.pack_into("<I", head, pos, HEADER_BYTES + len(body))
            body += np.asarray(t[name], dtype="<f4").tobytes()
    return bytes(head + body)
