"""Preprocessing IR -> model-file section payload (reads only the IR).

Layout version 1, little-endian, offsets from the section start (which the container
places 8-byte aligned); see ``ml_preprocessing_from_section``:

======  =====  ===============================================================
offset  type   field
======  =====  ===============================================================
0       u32    layout version (1)
4       u32    n_features
8       u32    n_mid (features after the gather stage)
12      u32    n_outputs
16      u32    flags: 0x001 gather, 0x002 center, 0x004 center is f64, 0x008 scale,
               0x010 scale is f64, 0x020 scale divides (else multiplies), 0x040 offset,
               0x080 offset is f64, 0x100 clip, 0x200 matrix, 0x400 fused64 (the
               affine map in double, rounded once; every affine table f64)
20      u32    norm: 0 none, 1 l1, 2 l2, 3 max
24      f32    clip_lo (0 without clip)
28      f32    clip_hi (0 without clip)
32      u32    offset of gather: u16[n_mid] input indices (4-aligned)
36      u32    offset of center: f32[n_mid] (4-aligned) or f64[n_mid] (8-aligned)
40      u32    offset of scale (as center)
44      u32    offset of offset (as center)
48      u32    offset of matrix: f32[n_outputs * n_mid] row-major (4-aligned)
52             tables, from offset 56, each aligned to 8 bytes
======  =====  ===============================================================

An absent table has offset 0 and its flag clear.
"""

from __future__ import annotations

import struct

import numpy as np

from .ir import PreprocessingIR

VERSION = 1
HEADER_BYTES = 52

F_GATHER, F_CENTER, F_CENTER64, F_SCALE, F_SCALE64 = 0x001, 0x002, 0x004, 0x008, 0x010
F_SCALE_DIV, F_OFFSET, F_OFFSET64, F_CLIP, F_MATRIX = 0x020, 0x040, 0x080, 0x100, 0x200
F_FUSED64 = 0x400
NORM_CODE = {None: 0, "l1": 1, "l2": 2, "max": 3}


def section(ir: PreprocessingIR) -> bytes:
    """The section payload of ``ir``."""
    flags = 0
    tables: list[tuple[int, bytes]] = []  # (header field offset, data)
    if ir.gather is not None:
        flags |= F_GATHER
        tables.append((32, ir.gather.astype("<u2").tobytes()))
    for field, name, f_present, f_wide in ((36, "center", F_CENTER, F_CENTER64),
                                           (40, "scale", F_SCALE, F_SCALE64),
                                           (44, "offset", F_OFFSET, F_OFFSET64)):
        a = getattr(ir, name)
        if a is None:
            continue
        flags |= f_present
        if a.dtype == np.float64:
            flags |= f_wide
            tables.append((field, a.astype("<f8").tobytes()))
        else:
            tables.append((field, a.astype("<f4").tobytes()))
    if ir.scale_op == "div":
        flags |= F_SCALE_DIV
    if ir.clip is not None:
        flags |= F_CLIP
    if ir.fused64:
        flags |= F_FUSED64
    if ir.matrix is not None:
        flags |= F_MATRIX
        tables.append((48, ir.matrix.astype("<f4").tobytes()))
    lo, hi = ir.clip if ir.clip is not None else (0.0, 0.0)
    header = bytearray(HEADER_BYTES)
    struct.pack_into("<6I2f5I", header, 0, VERSION, ir.n_features, ir.n_mid, ir.n_outputs,
                     flags, NORM_CODE[ir.norm], lo, hi, 0, 0, 0, 0, 0)
    body = bytearray(header)
    for field, data in tables:
        body.extend(b"\0" * (-len(body) % 8))
        struct.pack_into("<I", body, field, len(body))
        body.extend(data)
    body.extend(b"\0" * (-len(body) % 4))
    return bytes(body)
