"""IR -> model-file section payload (see ``ml_nets.h``, ``ml_nets_int8.h`` and
``docs/families/nets.md``). Float networks: layout version 1 (unchanged); int8 networks:
layout version 2 with ``dtype`` 1 and 160-byte int8 op records (:func:`section_int8`).

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

Layout version 2 is version 1 plus two header words: 44 ``dtype`` (0 float32: the records
above; 1 int8) and 48 ``arena_bytes`` (int8: the int8 activation arena; float: 0). An int8
section has ``arena_floats`` = n_final + ceil(arena_bytes / 4) (the float output, then the
int8 arena, in the caller's scratch), ``out`` = 0 and 160-byte records
(``ml_nets_q7_op_t`` of ``ml_nets_int8.h``, field by field):

=======  ====  ==========================================================
0        i32   kind (ML_NETS_Q7_*, 1..20)
4..12    i32   in, in2, out: byte offsets in the int8 arena (-1: float input / output,
               in2 -1: the constant operand in the weights)
16..72   i32   g[15]: geometry (unused entries 0)
76..116  i32   in_zp, in2_zp, out_zp, act_min, act_max, m0, s0, m1, s1, m2, s2
120      f32   scale (QUANTIZE / DEQUANTIZE; else 0)
124      u32   offset of the int8 weights (or the constant operand), 0 when none
128      u32   number of int8 weights
132..140 u32   offsets of bias, mult, shift (int32 per output channel), 0 when none
144      u32   number of output channels (entries of bias, mult and shift)
148..159       reserved (0)
=======  ====  ==========================================================
"""

from __future__ import annotations

import struct

import numpy as np

from .ir import NetIR
from .lower import FIELDS, records

VERSION = 1
VERSION_INT8 = 2
HEADER_BYTES = 64
RECORD_BYTES = 128
RECORD_BYTES_INT8 = 160
DTYPE_INT8 = 1


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


def section_int8(ir: NetIR) -> bytes:
    """Payload of a quantized network's model-file section (layout version 2, dtype 1):
    the op table of :mod:`.c_int8` (the generated header's, value for value) as records."""
    from .c_int8 import _records, plan_int8

    plan = plan_int8(ir)
    recs, consts = _records(ir, plan)
    arrays = {name: np.ravel(v) for _, name, v in consts}
    pos = HEADER_BYTES + RECORD_BYTES_INT8 * len(recs)
    blobs: list[bytes] = []
    placed: dict[tuple[str, str], int] = {}

    def put(name: str | None, dtype: str) -> int:
        nonlocal pos
        if name is None:
            return 0
        if (name, dtype) in placed:
            return placed[(name, dtype)]
        data = arrays[name].astype(dtype).tobytes()
        data += b"\0" * ((-len(data)) % 4)
        off = pos
        blobs.append(data)
        pos += len(data)
        placed[(name, dtype)] = off
        return off

    table = []
    for r in recs:
        g = [int(v) for v in r.get("g", [])]
        g += [0] * (15 - len(g))
        ints = [int(r.get(k, d)) for k, d in (
            ("kind", 0), ("in", -1), ("in2", -1), ("out", -1))] + g + [
            int(r.get(k, d)) for k, d in (
                ("in_zp", 0), ("in2_zp", 0), ("out_zp", 0), ("act_min", -128),
                ("act_max", 127), ("m0", 0), ("s0", 0), ("m1", 0), ("s1", 0), ("m2", 0),
                ("s2", 0))]
        w = r.get("w")
        w_off = put(w, "<i1")
        w_n = int(arrays[w].size) if w is not None else 0
        b_off = put(r.get("bias"), "<i4")
        m_off = put(r.get("mult"), "<i4")
        s_off = put(r.get("shift"), "<i4")
        n_ch = int(arrays[r["bias"]].size) if "bias" in r else 0
        rec = struct.pack("<30if6I", *ints, float(np.float32(r.get("scale", 0.0))),
                          w_off, w_n, b_off, m_off, s_off, n_ch)
        table.append(rec + b"\0" * (RECORD_BYTES_INT8 - len(rec)))
    n_final = ir.tensors[ir.output].size
    flags = 1 if ir.kind == "classifier" and n_final == 1 else 0
    n_out = ir.n_classes if ir.kind == "classifier" else n_final
    arena = max(plan.arena_bytes, 1)
    header = struct.pack("<13I", VERSION_INT8, 0 if ir.kind == "classifier" else 1,
                         ir.n_features, n_out, n_final, flags, len(recs),
                         n_final + (arena + 3) // 4, 0, HEADER_BYTES, RECORD_BYTES_INT8,
                         DTYPE_INT8, arena)
    header += b"\0" * (HEADER_BYTES - len(header))
    body = header + b"".join(table) + b"".join(blobs)
    return body + b"\0" * ((-len(body)) % 8)
