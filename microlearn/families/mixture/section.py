"""IR -> model-file section payload (layout in ``ml_mixture.h`` and the family's docs page).

Little-endian; offsets from the section start; float32 tables 4-byte aligned, float64
tables 8-byte aligned (read with memcpy, so 4 suffices).
"""

from __future__ import annotations

import struct

import numpy as np

from .ir import TASK_CODES, MixtureIR

VERSION = 1
HEADER_BYTES = 96


def section(ir: MixtureIR, options: dict) -> bytes:
    """Section payload of a converted mixture-family step."""
    blobs: list[bytes] = []
    pos = HEADER_BYTES

    def put(arr: np.ndarray, dtype: str, align: int) -> int:
        nonlocal pos
        pad = (-pos) % align
        if pad:
            blobs.append(b"\0" * pad)
            pos += pad
        data = np.ascontiguousarray(arr, dtype=dtype).tobytes()
        off = pos
        blobs.append(data)
        pos += len(data)
        return off

    offs = [put(ir.mean.ravel(), "<f4", 4), put(ir.factor, "<f4", 4), put(ir.const, "<f4", 4),
            put(ir.err.ravel(), "<f4", 4)]
    if ir.exact_mode:
        offs += [put(getattr(ir, name), "<f8", 8)
                 for name in ("d_mean", "d_factor", "d_const", "d_aux")]
        n_d = int(ir.d_factor.size)
    else:
        offs += [0, 0, 0, 0]
        n_d = 0
    header = struct.pack(
        "<11I3f10I", VERSION, TASK_CODES[ir.task], ir.kind, ir.n_features, ir.n_components,
        ir.n_factors, ir.score_kind, ir.decision_kind, int(ir.has_proba), ir.exact_mode,
        int(ir.round_maha), ir.h, ir.g, ir.a, *offs, n_d, 0)
    assert len(header) == HEADER_BYTES
    out = header + b"".join(blobs)
    return out + b"\0" * ((-len(out)) % 4)
