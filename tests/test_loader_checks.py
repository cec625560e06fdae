"""Issue 8 item 15: a crafted model file for every check of the tree-section loader
(``ml_trees__parse`` in runtime/ml_trees.h) that no other test isolates.

Each case is a file that exactly one check rejects: deleting that check (mutation test)
makes the file load, so this test fails. Spans are tested by moving one table past the end
of its section while keeping it inside the file (readable memory, valid contents): only the
span check can tell. Header fields that the container already checks for v2 files are
tested with version-1 files (no section table).

Checks deliberately without an isolating case (another check rejects every file they
would; deleting them alone changes nothing): ``n_outputs > limit``, ``n_trees == 0`` /
``> limit``, ``n_nodes > limit``, ``n_rows > limit``, ``n_leaf_ids == 0`` / ``> limit``,
sparse ``nnz > 0xFFFF``, sparse ``n_rows == 0`` and ``n_threshold_values == 0``. A tree's
``end > n_nodes`` is also always followed by a rejection (the next tree's range is empty),
but without it the validation loop reads feature/child entries past the node tables: only
a sanitizer build (the libFuzzer test) can see that.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from sklearn.datasets import load_digits, load_iris
from sklearn.ensemble import ExtraTreesRegressor, RandomForestClassifier
from sklearn.tree import DecisionTreeClassifier
from support.blob_runner import BlobRunner

import microlearn
from microlearn import blob
from microlearn.families.trees import section as trees_section
from microlearn.families.trees.convert import reciprocal_f32

FMT = "<7I4B7II8I"  # the 96-byte header with 1/n_trees as raw bits
ORDER = ("kind", "n_features", "n_outputs", "n_trees", "n_nodes", "n_leaf_rows", "leaf_base",
         "feature_bytes", "child_bytes", "has_nan_left", "reserved", "o_feature",
         "o_threshold", "o_left", "o_right", "o_roots", "o_nan", "o_leaves", "inv_bits",
         "nnz", "o_leaf_start", "o_leaf_index", "threshold_kind", "n_threshold_values",
         "o_threshold_values", "res88", "res92")
TABLES = ("threshold_values", "threshold", "leaves", "leaf_start", "leaf_index", "feature",
          "left", "right", "roots", "nan")
OFFSET_FIELD = {"threshold_values": "o_threshold_values", "threshold": "o_threshold",
                "leaves": "o_leaves", "leaf_start": "o_leaf_start",
                "leaf_index": "o_leaf_index", "feature": "o_feature", "left": "o_left",
                "right": "o_right", "roots": "o_roots", "nan": "o_nan"}


@pytest.fixture(scope="module")
def runner():
    return BlobRunner()


def pack(fields: dict, tables: dict[str, bytes], base: int = 0) -> bytes:
    """A trees section: the header (``fields`` over defaults) and ``tables`` after it,
    each 8-byte aligned; offsets are from ``base`` bytes before the section (16 in a
    version-1 file)."""
    f = dict.fromkeys(ORDER, 0)
    f.update(kind=1, n_features=1, n_outputs=1, n_trees=1, feature_bytes=1, child_bytes=4)
    f.update(fields)
    body = bytearray(96)
    for name in TABLES:
        if name in tables:
            body.extend(b"\0" * (-len(body) % 8))
            f.setdefault(OFFSET_FIELD[name], 0)
            f[OFFSET_FIELD[name]] = base + len(body)
            body.extend(tables[name])
    body.extend(b"\0" * (-len(body) % 8))
    f.update({k: v for k, v in fields.items() if k.startswith("o_")})  # explicit offsets win
    if "inv_bits" not in fields:
        f["inv_bits"] = int(np.float32(reciprocal_f32(f["n_trees"])).view(np.uint32))
    struct.pack_into(FMT, body, 0, *(f[k] for k in ORDER))
    return bytes(body)


def v1(fields: dict, tables: dict[str, bytes]) -> bytes:
    """A version-1 file (microlearn 0.1): the trees header at byte 16, no section table."""
    body = bytearray(16) + pack(fields, tables, base=16)
    struct.pack_into("<4sHHII", body, 0, b"MLRN", 1, 1, len(body),
                     zlib.crc32(bytes(body[16:])) & 0xFFFFFFFF)
    return bytes(body)


def v2(fields: dict, tables: dict[str, bytes]) -> bytes:
    f = dict(fields)
    payload = pack(f, tables)
    kind = f.get("kind", 1)
    return blob.write([blob.Section(1, "classifier" if kind == 0 else "regressor",
                                    f.get("n_features", 1), payload)])


def i32(*v) -> bytes:
    return np.asarray(v, dtype="<i4").tobytes()


def f32(*v) -> bytes:
    return np.asarray(v, dtype="<f4").tobytes()


def _check(runner, good: bytes, bad: bytes) -> None:
    assert runner.load(good) == 0
    assert runner.load(bad) == -4


# a no-node regressor: one tree whose root is leaf row 0 (value 2.5)
LEAF_ONLY = dict(kind=1, n_outputs=1, n_leaf_rows=1)
LEAF_TABLES = {"leaves": f32(2.5), "roots": i32(-1)}


def test_kind(runner):
    _check(runner, v2(LEAF_ONLY, LEAF_TABLES), v1({**LEAF_ONLY, "kind": 2}, LEAF_TABLES))


def test_n_features_zero_and_too_big(runner):
    good = v1(LEAF_ONLY, LEAF_TABLES)
    _check(runner, good, v1({**LEAF_ONLY, "n_features": 0}, LEAF_TABLES))
    _check(runner, good, v1({**LEAF_ONLY, "n_features": 0x80000000}, LEAF_TABLES))


SECTION_MAIN = r"""
#include <stdio.h>
#include <stdlib.h>
#include "ml_trees.h"
int main(int argc, char **argv)
{
    static uint32_t buf[1 << 16];
    FILE *f = fopen(argv[1], "rb");
    if (f == NULL) {
        return 2;
    }
    const size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    ml_trees_t m;
    printf("%d\n", (int)ml_trees_from_section(&m, (const uint8_t *)buf, (uint32_t)n));
    (void)argc;
    return 0;
}
"""


def _section_loader(payload: bytes, tmp_path) -> int:
    """ml_trees_from_section (the family loader without ml_model.h) on ``payload``."""
    import subprocess

    from microlearn import host_build

    exe = tmp_path / "section_main"
    if not exe.exists():
        src = tmp_path / "section_main.c"
        src.write_text(SECTION_MAIN)
        subprocess.run([*host_build.compiler_command(), *host_build.WARNING_FLAGS,
                        f"-I{host_build.RUNTIME_DIR}", str(src), "-o", str(exe)], check=True)
    (tmp_path / "section.bin").write_bytes(payload)
    out = subprocess.run([str(exe), str(tmp_path / "section.bin")], capture_output=True,
                         text=True, check=True).stdout
    return int(out)


def test_n_outputs_zero(runner, tmp_path):
    # a "classifier" of 0 classes: leaf_base = n_outputs = 0, one (empty) leaf row. Through
    # ml_model.h the dispatcher also refuses 0 outputs; the family loader alone must too.
    good = dict(kind=0, n_outputs=1, leaf_base=1), {"roots": i32(-1)}
    bad = dict(kind=0, n_outputs=0, leaf_base=0, n_leaf_rows=1), {"leaves": b"",
                                                                  "roots": i32(-1)}
    _check(runner, v1(*good), v1(*bad))
    assert _section_loader(pack(*good), tmp_path) == 0
    assert _section_loader(pack(*bad), tmp_path) == -4


@pytest.mark.parametrize("field,value", [("reserved", 1), ("has_nan_left", 2), ("res88", 1),
                                         ("res92", 1)])
def test_reserved_fields(runner, field, value):
    _check(runner, v2(LEAF_ONLY, LEAF_TABLES), v2({**LEAF_ONLY, field: value}, LEAF_TABLES))


def test_leaf_base_too_big(runner):
    # leaf_base n_outputs + 1: one-hot id n_outputs would write past the output row
    good = v2(dict(kind=0, n_outputs=2, leaf_base=2), {"roots": i32(-2)})
    _check(runner, good, v2(dict(kind=0, n_outputs=2, leaf_base=3), {"roots": i32(-3)}))


def test_feature_and_child_widths(runner):
    good = v2(LEAF_ONLY, LEAF_TABLES)
    _check(runner, good, v2({**LEAF_ONLY, "feature_bytes": 3}, LEAF_TABLES))
    # child width 3 (roots of 3 bytes, read as 4: -1 with a padding byte), the roots table
    # at offset 96 (a multiple of 3: aligned for that width)
    clf = dict(kind=0, n_outputs=2, leaf_base=2)
    _check(runner, v2(clf, {"roots": i32(-1)}),
           v2({**clf, "child_bytes": 3}, {"roots": b"\xff" * 8}))


def test_compact_codes_with_more_than_255_leaf_ids(runner):
    def model(n_classes):
        return v2(dict(kind=0, n_outputs=n_classes, leaf_base=n_classes, n_nodes=1,
                       child_bytes=0),
                  {"threshold": f32(0.5), "feature": bytes([0]), "left": bytes([0]),
                   "right": bytes([1]), "roots": i32(0)})
    _check(runner, model(255), model(300))


def test_rows_times_outputs_overflow(runner):
    # 65536 rows of 65536 outputs: the 32-bit product is 0, the span check alone passes
    fields = dict(kind=1, n_outputs=0x10000, n_leaf_rows=0x10000)
    _check(runner, v2(LEAF_ONLY, LEAF_TABLES), v2(fields, {"leaves": f32(1.0),
                                                           "roots": i32(-1)}))


def test_sparse_rows_at_the_u16_limit(runner):
    # 65,535 sparse rows: the row starts 0..nnz would fit, but the format (and the
    # writer) stop at 65,534 rows
    def model(rows):
        return v2(dict(kind=1, n_outputs=2, n_leaf_rows=rows, nnz=rows),
                  {"leaves": f32(*([1.0] * rows)),
                   "leaf_start": np.arange(rows + 1, dtype="<u2").tobytes(),
                   "leaf_index": np.zeros(rows, "<u2").tobytes(), "roots": i32(-1)})
    _check(runner, model(0xFFFE), model(0xFFFF))


def test_root_leaf_id_out_of_range(runner):
    _check(runner, v2(LEAF_ONLY, LEAF_TABLES), v2(LEAF_ONLY, {"leaves": f32(2.5),
                                                              "roots": i32(-2)}))


NODE_TABLES = {"threshold": f32(0.5, 0.5), "feature": bytes([0, 0]), "left": i32(-1, -1),
               "right": i32(1, -1)}


def test_first_tree_not_at_node_0(runner):
    # node 0 unowned: the only tree starts at node 1
    good = v2(dict(LEAF_ONLY, n_nodes=2), {**NODE_TABLES, "leaves": f32(2.5),
                                           "roots": i32(0)})
    bad = v2(dict(LEAF_ONLY, n_nodes=2), {**NODE_TABLES, "right": i32(-1, -1),
                                          "leaves": f32(2.5), "roots": i32(1)})
    _check(runner, good, bad)


def test_nodes_no_tree_owns(runner):
    good = v2(dict(LEAF_ONLY, n_nodes=2), {**NODE_TABLES, "leaves": f32(2.5),
                                           "roots": i32(0)})
    bad = v2(dict(LEAF_ONLY, n_nodes=2), {**NODE_TABLES, "leaves": f32(2.5),
                                          "roots": i32(-1)})
    _check(runner, good, bad)


# --- every table span: the table moved past its section's end, inside the file ------------


def _moved(good: bytes, key: str, nbytes: int) -> bytes:
    """``good`` (one trees section) with table ``key`` copied to after the end of the
    section (still inside the file) and its offset pointing there."""
    sec = blob.read(good)[0]
    S, size = sec["offset"], sec["size"]
    h = trees_section.read_header(good[S:])
    o = h[key]
    assert o and o + nbytes <= size, (key, o, nbytes, size)
    body = bytearray(good)
    new = len(body) + 64  # past the section's end (and its padding)
    body.extend(b"\0" * 64)
    body.extend(good[S + o:S + o + nbytes])
    body.extend(b"\0" * (-len(body) % 8))
    struct.pack_into("<I", body, S + 32 + 4 * trees_section.FIELDS[11:18].index(key)
                     if key in trees_section.FIELDS[11:18]
                     else S + {"o_leaf_start": 68, "o_leaf_index": 72,
                               "o_threshold_values": 84}[key], new - S)
    struct.pack_into("<I", body, 8, len(body))
    struct.pack_into("<I", body, 12, zlib.crc32(bytes(body[16:])) & 0xFFFFFFFF)
    return bytes(body)


@pytest.fixture(scope="module")
def models():
    X, y = load_digits(return_X_y=True)
    Xn = X.copy()
    Xn[::3, 5] = np.nan
    Xi, yi = load_iris(return_X_y=True)
    rf = RandomForestClassifier(n_estimators=10, max_depth=10, random_state=0).fit(X, y)
    small = RandomForestClassifier(n_estimators=5, max_depth=8, random_state=0).fit(X, y)
    return {
        "sparse": microlearn.convert(rf).to_blob(compact=False),
        "compact": microlearn.convert(small).to_blob(compact=True),
        "nan": microlearn.convert(DecisionTreeClassifier(max_depth=6, random_state=0)
                                  .fit(Xn, y)).to_blob(compact=False),
        "dense": microlearn.convert(ExtraTreesRegressor(n_estimators=3, max_depth=5,
                                                        random_state=0).fit(Xi, yi)).to_blob(),
    }


def _spans(b: bytes) -> dict[str, int]:
    S = blob.read(b)[0]["offset"]
    h = trees_section.read_header(b[S:])
    n, t = h["n_nodes"], h["n_trees"]
    cb = h["child_bytes"]
    ecb, rb = (cb or 1), (cb or 4)
    rows = h["n_leaf_rows"]
    out = {
        "o_feature": n * h["feature_bytes"],
        "o_threshold": n * (1 if h["threshold_kind"] else 4),
        "o_left": n * ecb, "o_right": n * ecb, "o_roots": t * rb,
        "o_leaves": 4 * (h["nnz"] or rows * h["n_outputs"]),
    }
    if h["has_nan_left"]:
        out["o_nan"] = (n + 7) // 8
    if h["nnz"]:
        out["o_leaf_start"] = 2 * (rows + 1)
        out["o_leaf_index"] = 2 * h["nnz"]
    if h["threshold_kind"]:
        out["o_threshold_values"] = 4 * h["n_threshold_values"]
    return out


@pytest.mark.parametrize("model", ["sparse", "compact", "nan", "dense"])
def test_every_table_span(runner, models, model):
    good = models[model]
    assert runner.load(good) == 0
    spans = _spans(good)
    assert len(spans) >= 6
    for key, nbytes in spans.items():
        assert runner.load(_moved(good, key, nbytes)) == -4, (model, key)


def test_moved_tables_helper_is_faithful(runner, models):
    """The same move with the section's size grown to cover the moved table loads: the
    cases above are rejected by the span checks only."""
    good = models["sparse"]
    for key, nbytes in _spans(good).items():
        b = bytearray(_moved(good, key, nbytes))
        struct.pack_into("<I", b, 16 + 8, len(b) - blob.read(good)[0]["offset"])
        b = bytearray(b)
        struct.pack_into("<I", b, 12, zlib.crc32(bytes(b[16:])) & 0xFFFFFFFF)
        assert runner.load(bytes(b)) == 0, key
