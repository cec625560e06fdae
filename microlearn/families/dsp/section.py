"""Dsp IR -> model-file section payload (reads only the IR).

Layout version 1, little-endian, offsets from the section start; see
``ml_dsp_from_section`` in ``microlearn/runtime/ml_dsp.h`` (fields a kind does not use
are 0):

======  =====  ===============================================================
offset  type   field
======  =====  ===============================================================
0       u32    layout version (1)
4       u32    kind: 1 mel spectrogram, 2 MFCC, 3 window features, 4 sound level
8       u32    n_features (samples per window)
12      u32    n_outputs
16      u32    n_fft
20      u32    hop
24      u32    n_frames
28      u32    n_mels
32      u32    n_mfcc
36      u32    flags: 0x1 power spectrum (else magnitude), 0x2 to_db (mel spectrogram)
40      f32    amin
44      f32    top_db (MFCC; < 0: none)
48      u32    n_channels (window features)
52      u32    window_length (window features)
56      u32    n_codes
60      u32    n_bands
64      u32    n_stages (sound level weighting biquads)
68      f32    fs
72      f32    tau
76      f32    ref
80      u32    n_weights (mel table)
84      u32    offset of window: f32[n_fft]
88      u32    offset of mel_start: u16[n_mels]
92      u32    offset of mel_length: u16[n_mels]
96      u32    offset of mel_weights: f32[n_weights]
100     u32    offset of dct: f32[n_mfcc * n_mels]
104     u32    offset of codes: i32[n_codes]
108     u32    offset of edges: f32[n_bands + 1]
112     u32    offset of sos: f32[5 * n_stages]
116            tables, each 4-byte aligned
======  =====  ===============================================================
"""

from __future__ import annotations

import struct

from .ir import KIND_CODE, DspIR

VERSION = 1
HEADER_BYTES = 116
F_POWER, F_TO_DB = 0x1, 0x2


def section(ir: DspIR) -> bytes:
    """The section payload of ``ir``."""
    flags = 0
    if ir.spectro:
        flags |= F_POWER if ir.power == 2 else 0
        flags |= F_TO_DB if ir.to_db else 0
    tables: list[tuple[int, bytes]] = []  # (header field offset, data)
    if ir.spectro:
        tables += [(84, ir.window.astype("<f4").tobytes()),
                   (88, ir.mel_start.astype("<u2").tobytes()),
                   (92, ir.mel_length.astype("<u2").tobytes()),
                   (96, ir.mel_weights.astype("<f4").tobytes())]
        if ir.dct is not None:
            tables.append((100, ir.dct.astype("<f4").tobytes()))
    else:
        tables.append((104, ir.codes.astype("<i4").tobytes()))
        if ir.edges is not None:
            tables.append((108, ir.edges.astype("<f4").tobytes()))
        if ir.sos is not None:
            tables.append((112, ir.sos.astype("<f4").tobytes()))
    header = bytearray(HEADER_BYTES)
    n_codes = 0 if ir.codes is None else int(ir.codes.size)
    struct.pack_into(
        "<10I2f5I3fI", header, 0, VERSION, KIND_CODE[ir.kind], ir.n_features, ir.n_outputs,
        ir.n_fft, ir.hop, ir.n_frames, ir.n_mels, ir.n_mfcc, flags,
        ir.amin if ir.spectro else 0.0, ir.top_db if ir.kind == "mfcc" else 0.0,
        ir.n_channels, ir.window_length, n_codes, ir.n_bands, ir.n_stages,
        ir.fs, ir.tau, ir.ref, ir.n_weights if ir.spectro else 0)
    body = bytearray(header)
    for field, data in tables:
        body.extend(b"\0" * (-len(body) % 8))
        struct.pack_into("<I", body, field, len(body))
        body.extend(data)
    body.extend(b"\0" * (-len(body) % 4))
    return bytes(body)


def table_bytes(ir: DspIR) -> int:
    """Bytes of the IR's tables (as in the section and the generated C)."""
    return int(sum(a.nbytes for a in (ir.window, ir.mel_start, ir.mel_length, ir.mel_weights,
                                      ir.dct, ir.codes, ir.edges, ir.sos) if a is not None))

