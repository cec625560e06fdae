"""IR -> model-file section payload (layout in docs/families/neighbors.md and
``ml_neighbors_from_section``)."""

from __future__ import annotations

import struct

import numpy as np

from .c import tables
from .ir import KINDS, METRICS, WEIGHTS, NeighborsIR

VERSION = 1
HEADER_BYTES = 76
#: table order in the header (offset 0 = absent)
TABLE_ORDER = ("points", "labels", "targets", "inv_scale", "norm_points", "bias",
               "k_distance", "lrd")


def section(ir: NeighborsIR) -> bytes:
    """The section: a 76-byte header then the tables, each 4-byte aligned."""
    t = tables(ir)
    blobs: list[bytes] = []
    offsets = {}
    pos = HEADER_BYTES
    for name in TABLE_ORDER:
        if name not in t:
            continue
        ctype, values = t[name]
        dt = "<u2" if ctype == "uint16_t" else "<f4"
        data = np.ascontiguousarray(values, dtype=dt).tobytes()
        data += b"\0" * (-len(data) % 4)
        offsets[name] = pos
        blobs.append(data)
        pos += len(data)
    header = struct.pack(
        "<9I2f8I", VERSION, KINDS.index(ir.kind), METRICS.index(ir.metric),
        WEIGHTS.index(ir.weights), ir.n_features, ir.n_points, ir.n_outputs, ir.k, ir.flags,
        ir.p, ir.offset, *(offsets.get(name, 0) for name in TABLE_ORDER))
    assert len(header) == HEADER_BYTES
    return header + b"".join(blobs)
