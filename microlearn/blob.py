"""Model blob: microlearn's one binary model format (see docs/blob_format.md).

Written from the IR; read in place by the C runtime (``ml_blob.h``), by the
MicroPython native module and by the pure-Python MicroPython fallback.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

from . import codegen_c
from .errors import ConversionError
from .trees import TreeEnsembleIR

MAGIC = b"MLRN"
VERSION = 1
FAMILY_TREES = 1
HEADER_BYTES = 16
TREES_HEADER_BYTES = 96
KIND = {"classifier": 0, "regressor": 1}

_INT = {(1, False): "<u1", (2, False): "<u2", (4, False): "<u4",
        (1, True): "<i1", (2, True): "<i2", (4, True): "<i4"}


def _pad4(buf: bytearray) -> None:
    buf.extend(b"\0" * (-len(buf) % 4))


def to_blob(ir: TreeEnsembleIR, compact: bool = False) -> bytes:
    """Serialise ``ir`` as a version-1 model blob.

    Parameters
    ----------
    ir : TreeEnsembleIR
    compact : bool, default False
        Use the compact node tables where they fit (as the C headers of the loadable
        method do): a 1-byte index into the table of distinct thresholds (at most 256)
        and 1-byte relative child codes. A smaller blob; each visited node costs one or
        two more instructions.
    """
    if ir.family != "trees":
        raise ConversionError(f"no blob format for the {ir.family!r} family yet")
    fb = codegen_c.feature_bytes(ir)
    rel8 = codegen_c.compact_children(ir) if compact else None
    cb = 0 if rel8 is not None else codegen_c.child_bytes(ir)
    body = bytearray(b"\0" * (HEADER_BYTES + TREES_HEADER_BYTES))
    offsets = {}

    def put(key: str, arr: np.ndarray) -> None:
        _pad4(body)
        offsets[key] = len(body) if arr.size else 0
        body.extend(np.ascontiguousarray(arr).tobytes())

    leaves = codegen_c.leaf_tables(ir)
    table = codegen_c.threshold_table(ir) if compact else None
    if table is None:
        put("threshold", ir.threshold.astype("<f4"))
        put("threshold_values", np.zeros(0, np.float32))
    else:
        put("threshold_values", table[1].astype("<f4"))
        put("threshold", table[0].astype(np.uint8))
    put("leaves", leaves.values.astype("<f4"))
    sparse = leaves.start is not None
    put("start", leaves.start.astype("<u2") if sparse else np.zeros(0, np.uint16))
    put("index", leaves.index.astype("<u2") if sparse else np.zeros(0, np.uint16))
    put("feature", ir.feature.astype(_INT[(fb, False)]))
    if rel8 is None:
        put("left", ir.left.astype(_INT[(cb, True)]))
        put("right", ir.right.astype(_INT[(cb, True)]))
    else:
        put("left", rel8[0])
        put("right", rel8[1])
    put("roots", ir.roots.astype(_INT[(cb or 4, True)]))
    has_nan = bool(ir.nan_left.any())
    put("nan", np.packbits(ir.nan_left.astype(np.uint8), bitorder="little")
        if has_nan else np.zeros(0, np.uint8))
    _pad4(body)
    struct.pack_into(
        "<7I4B7If6I8x", body, HEADER_BYTES,
        KIND[ir.kind], ir.n_features, ir.n_outputs, ir.n_trees, ir.n_nodes,
        ir.leaf_values.shape[0], ir.leaf_base, fb, cb, int(has_nan), 0,
        offsets["feature"], offsets["threshold"], offsets["left"], offsets["right"],
        offsets["roots"], offsets["nan"], offsets["leaves"], np.float32(1.0 / ir.n_trees),
        leaves.values.size if sparse else 0, offsets["start"], offsets["index"],
        0 if table is None else 1, 0 if table is None else table[1].size,
        offsets["threshold_values"],
    )
    crc = zlib.crc32(bytes(body[HEADER_BYTES:])) & 0xFFFFFFFF
    struct.pack_into("<4sHHII", body, 0, MAGIC, VERSION, FAMILY_TREES, len(body), crc)
    return bytes(body)


def read_header(blob: bytes) -> dict:
    """Parse and check the blob's headers (magic, version, size, checksum); return fields.

    Raises ``ValueError`` naming what is wrong.
    """
    if len(blob) < HEADER_BYTES + TREES_HEADER_BYTES:
        raise ValueError(f"model blob too short ({len(blob)} bytes)")
    magic, version, family, total, crc = struct.unpack_from("<4sHHII", blob, 0)
    if magic != MAGIC:
        raise ValueError(f"not a microlearn model blob (magic {magic!r}, expected {MAGIC!r})")
    if version != VERSION:
        raise ValueError(f"model blob format version {version} is not supported (expected "
                         f"{VERSION})")
    if total > len(blob) or total < HEADER_BYTES + TREES_HEADER_BYTES:
        raise ValueError(f"model blob truncated: header says {total} bytes, have {len(blob)}")
    if zlib.crc32(blob[HEADER_BYTES:total]) & 0xFFFFFFFF != crc:
        raise ValueError("model blob checksum mismatch (corrupt file)")
    if family != FAMILY_TREES:
        raise ValueError(f"unknown model family id {family}")
    names = ("kind", "n_features", "n_outputs", "n_trees", "n_nodes", "n_leaf_rows",
             "leaf_base", "feature_bytes", "child_bytes", "has_nan_left", "reserved",
             "o_feature", "o_threshold", "o_left", "o_right", "o_roots", "o_nan", "o_leaves",
             "inv_n_trees", "nnz", "o_leaf_start", "o_leaf_index", "threshold_kind",
             "n_threshold_values", "o_threshold_values")
    fields = dict(zip(names, struct.unpack_from("<7I4B7If6I8x", blob, HEADER_BYTES),
                      strict=True))
    fields.update(family=family, total=total)
    return fields
