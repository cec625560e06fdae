"""IR -> model-file section payload (layout version 1; see ``ml_nets.h`` and
``docs/families/nets.md``).

=======  ====  ==========================================================
offset   type  field
=======  ====  ==========================================================
0        u32   layout version (1)
4        u32   task (0 classifier, 1 regressor)
8        u32   n_features (size of the input tensor)
12       u32   n_outputs (classes / regression outputs)
16       u32   n_final (size of the output tensor; 1 for a binary classifier)
20       u32   flags (bit 0: binary classifier, one sigmoid unit)
24       u32   n_ops
28       u32   arena_floats (the memory plan's arena)
32       u32   out: arena offset of the output tensor
36       u32   offset of the op records
40       u32   bytes per op record (128)
44..63         reserved (0)
64             n_ops records of 128 bytes (see ``ml_nets.h``), then the float32 weights
=======  ====  ==========================================================
"""

from __future__ import annotations

import struct

import numpy as np

from .ir import NetIR
from .lower import FIELDS, records

VERSION = 1
HEADER_BYTES = 64
RECORD_BYTES = 128


def section(ir: NetIR) -> bytes:
    """Payload of the network's model-file section."""
    recs = records(ir)
    pos = HEADER_BYTES + RECORD_BYTES * len(recs)
    blobs: list[bytes] = []

    def put(a: np.ndarray | None) -> tuple[int, int]:
        nonlocal pos
        if a is None or a.size == 0:
            return 0, 0
        off = pos
        data = a.astype("<f4").tobytes()
        blobs.append(data)
        pos += len(data)
        return off, int(a.size)

    table = []
    for r in recs:
        w_off, w_n = put(r.w)
        b_off, b_n = put(r.b)
        ints = [int(r.fields[k]) for k in FIELDS]
        rec = struct.pack("<2if18i4I", r.code, r.act, r.alpha, *ints, w_off, w_n, b_off, b_n)
        rec += b"\0" * (RECORD_BYTES - len(rec))
        table.append(rec)
    flags = 1 if ir.binary else 0
    n_out = ir.n_classes if ir.kind == "classifier" else ir.n_outputs
    header = struct.pack("<11I", VERSION, 0 if ir.kind == "classifier" else 1, ir.n_features,
                         n_out, ir.n_outputs, flags, len(recs), ir.plan.arena,
                         ir.plan.where(ir.output), HEADER_BYTES, RECORD_BYTES)
    header += b"\0" * (HEADER_BYTES - len(header))
    body = header + b"".join(table) + b"".join(blobs)
    return body + b"\0" * ((-len(body)) % 8)
