"""Tree family model-file section (docs/blob_format.md, "trees section").

The payload is a 96-byte tree-ensemble header followed by the tables, every offset
relative to the section start. (A version-1 model file is the same header at byte 16 of
the file with offsets from the file start; the C loader reads both.)
"""

from __future__ import annotations

import struct

import numpy as np

from . import c as tc
from .convert import TreeEnsembleIR, reciprocal_f32

HEADER_BYTES = 96
KIND = {"classifier": 0, "regressor": 1}
FIELDS = ("kind", "n_features", "n_outputs", "n_trees", "n_nodes", "n_leaf_rows",
          "leaf_base", "feature_bytes", "child_bytes", "has_nan_left", "reserved",
          "o_feature", "o_threshold", "o_left", "o_right", "o_roots", "o_nan", "o_leaves",
          "inv_n_trees", "nnz", "o_leaf_start", "o_leaf_index", "threshold_kind",
          "n_threshold_values", "o_threshold_values")
_FMT = "<7I4B7If6I8x"

_INT = {(1, False): "<u1", (2, False): "<u2", (4, False): "<u4",
        (1, True): "<i1", (2, True): "<i2", (4, True): "<i4"}


def _pad4(buf: bytearray) -> None:
    buf.extend(b"\0" * (-len(buf) % 4))


def section(ir: TreeEnsembleIR, compact: bool = True) -> bytes:
    """The tree-ensemble section payload of ``ir``.

    Parameters
    ----------
    ir : TreeEnsembleIR
    compact : bool, default True
        Use the compact node tables where they fit (as the C headers of the loadable
        method do): a 1-byte index into the table of distinct thresholds (at most 256)
        and 1-byte relative child codes. Smaller; each visited node costs one or two more
        instructions. Results are identical.
    """
    fb = tc.feature_bytes(ir)
    rel8 = tc.compact_children(ir) if compact else None
    cb = 0 if rel8 is not None else tc.child_bytes(ir)
    body = bytearray(b"\0" * HEADER_BYTES)
    offsets = {}

    def put(key: str, arr: np.ndarray) -> None:
        _pad4(body)
        offsets[key] = len(body) if arr.size else 0
        body.extend(np.ascontiguousarray(arr).tobytes())

    leaves = tc.leaf_tables(ir)
    table = tc.threshold_table(ir) if compact else None
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
        _FMT, body, 0,
        KIND[ir.kind], ir.n_features, ir.n_outputs, ir.n_trees, ir.n_nodes,
        ir.leaf_values.shape[0], ir.leaf_base, fb, cb, int(has_nan), 0,
        offsets["feature"], offsets["threshold"], offsets["left"], offsets["right"],
        offsets["roots"], offsets["nan"], offsets["leaves"], reciprocal_f32(ir.n_trees),
        leaves.values.size if sparse else 0, offsets["start"], offsets["index"],
        0 if table is None else 1, 0 if table is None else table[1].size,
        offsets["threshold_values"],
    )
    return bytes(body)


def read_header(payload: bytes) -> dict:
    """Fields of a tree section's header (for tests and tools)."""
    return dict(zip(FIELDS, struct.unpack_from(_FMT, payload, 0), strict=True))
