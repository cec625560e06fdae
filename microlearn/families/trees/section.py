"""Tree family model-file section (docs/blob_format.md, "trees section").

The payload is a 96-byte tree-ensemble header followed by the tables, every offset
relative to the section start. (A version-1 model file is the same header at byte 16 of
the file with offsets from the file start; the C loader reads both.)

Layout versions (u32 at byte 88 of the header): 0 - every file written before layout 2,
plain forests (their sections are unchanged byte for byte); 2 - a boosted ensemble
(gradient boosting, AdaBoost, isolation forest, XGBoost, LightGBM) with a 64-byte block
at the offset at byte 92 (post transform, raw width, base scores, per-tree output column,
categorical sets, median weights).
"""

from __future__ import annotations

import struct

import numpy as np

from . import c as tc
from .convert import TreeEnsembleIR, reciprocal_f32

HEADER_BYTES = 96
KIND = {"classifier": 0, "regressor": 1, "outlier_detector": 2}
POST = {"mean": 0, "identity": 1, "sigmoid": 2, "softmax": 3, "sigmoid_ova": 4,
        "sigmoid_each": 5, "exp": 6, "isolation": 7, "median": 8}
EXT_BYTES = 64
EXT_FIELDS = ("post", "task", "n_raw", "flags", "post_scale", "decision_threshold",
              "missing", "score_offset", "o_base", "o_tree_output", "o_cat_offset",
              "n_cat_words", "o_cat_bits", "o_tree_weights")
_EXT_FMT = "<4I4f6I8x"
FIELDS = ("kind", "n_features", "n_outputs", "n_trees", "n_nodes", "n_leaf_rows",
          "leaf_base", "feature_bytes", "child_bytes", "has_nan_left", "reserved",
          "o_feature", "o_threshold", "o_left", "o_right", "o_roots", "o_nan", "o_leaves",
          "inv_n_trees", "nnz", "o_leaf_start", "o_leaf_index", "threshold_kind",
          "n_threshold_values", "o_threshold_values", "layout", "o_ext")
_FMT = "<7I4B7If6I2I"

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
    if ir.boosted:
        put("ext", np.zeros(EXT_BYTES, np.uint8))
        put("base", np.asarray(ir.base_score, dtype="<f4"))
        put("tree_output", np.zeros(0, np.uint16) if ir.tree_output is None
            else ir.tree_output.astype("<u2"))
        put("cat_offset", np.zeros(0, np.uint32) if ir.cat_offset is None
            else ir.cat_offset.astype("<u4"))
        put("cat_bits", np.zeros(0, np.uint32) if ir.cat_bits is None
            else ir.cat_bits.astype("<u4"))
        put("weights", np.zeros(0, np.float32) if ir.tree_weights is None
            else ir.tree_weights.astype("<f4"))
        struct.pack_into(
            _EXT_FMT, body, offsets["ext"],
            POST[ir.post], KIND[ir.kind], ir.n_raw, flags(ir), ir.post_scale,
            ir.decision_threshold, 0.0 if ir.missing_value is None else ir.missing_value,
            score_offset32(ir), offsets["base"], offsets["tree_output"],
            offsets["cat_offset"], 0 if ir.cat_bits is None else ir.cat_bits.size,
            offsets["cat_bits"], offsets["weights"],
        )
    _pad4(body)
    struct.pack_into(
        _FMT, body, 0,
        KIND[ir.kind], ir.n_features, ir.n_outputs, ir.n_trees, ir.n_nodes,
        ir.leaf_values.shape[0], ir.leaf_base, fb, cb, int(has_nan), 0,
        offsets["feature"], offsets["threshold"], offsets["left"], offsets["right"],
        offsets["roots"], offsets["nan"], offsets["leaves"], reciprocal_f32(ir.n_trees),
        leaves.values.size if sparse else 0, offsets["start"], offsets["index"],
        0 if table is None else 1, 0 if table is None else table[1].size,
        offsets["threshold_values"], 2 if ir.boosted else 0,
        offsets["ext"] if ir.boosted else 0,
    )
    return bytes(body)


def flags(ir: TreeEnsembleIR) -> int:
    """ML_TREES_F_* bits of a boosted IR (runtime/ml_trees.h)."""
    return ((1 if ir.missing_value is not None else 0)
            | (2 if ir.cat_unknown_missing else 0)
            | (4 if ir.cat_invalid_missing else 0)
            | (8 if ir.decision == "ge" else 0)
            | (ir.cat_cast << 4))


def score_offset32(ir: TreeEnsembleIR) -> float:
    """The isolation forest's offset rounded to float32 (decision = score - offset)."""
    return float(np.float32(ir.score_offset))


def read_ext(payload: bytes) -> dict:
    """Fields of a layout-2 section's boosted block (for tests and tools)."""
    at = read_header(payload)["o_ext"]
    return dict(zip(EXT_FIELDS, struct.unpack_from(_EXT_FMT, payload, at), strict=True))


def read_header(payload: bytes) -> dict:
    """Fields of a tree section's header (for tests and tools)."""
    return dict(zip(FIELDS, struct.unpack_from(_FMT, payload, 0), strict=True))
