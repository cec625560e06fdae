"""Model blob: C loader parity, validation of corrupt blobs, and a bounded fuzz run."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest
from parity import mean_tolerance
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, make_regression
from sklearn.ensemble import ExtraTreesRegressor, RandomForestClassifier
from sklearn.tree import DecisionTreeClassifier
from support.blob_runner import BlobRunner

import microlearn
from microlearn import blob
from microlearn.families.trees import section as trees_section

RUNTIME = Path(microlearn.__file__).resolve().parent / "runtime"
FUZZ = Path(__file__).resolve().parent / "fuzz" / "fuzz_blob.c"


@pytest.fixture(scope="module")
def runner():
    return BlobRunner()


def _section(b: bytes) -> tuple[int, dict]:
    """(offset of the single trees section, its header fields)."""
    sec = blob.read(b)[0]
    return sec["offset"], trees_section.read_header(b[sec["offset"]:])


def _v1(b: bytes) -> bytes:
    """The same single-trees model in the version-1 layout of microlearn 0.1: a 16-byte
    header, the trees header at byte 16, table offsets from the start of the file."""
    off, h = _section(b)
    payload = bytearray(b[off:off + blob.read(b)[0]["size"]])
    for k in ("o_feature", "o_threshold", "o_left", "o_right", "o_roots", "o_nan",
              "o_leaves", "o_leaf_start", "o_leaf_index", "o_threshold_values"):
        if h[k]:
            i = trees_section.FIELDS.index(k)
            pos = [0, 4, 8, 12, 16, 20, 24, 28, 29, 30, 31, 32, 36, 40, 44, 48, 52, 56, 60, 64,
                   68, 72, 76, 80, 84][i]
            struct.pack_into("<I", payload, pos, h[k] + 16)
    body = bytearray(16) + payload
    crc = zlib.crc32(bytes(body[16:])) & 0xFFFFFFFF
    struct.pack_into("<4sHHII", body, 0, b"MLRN", 1, 1, len(body), crc)
    return bytes(body)


def _models():
    X, y = load_digits(return_X_y=True)
    Xb, yb = load_breast_cancer(return_X_y=True)
    Xd, yd = load_diabetes(return_X_y=True)
    Xm, ym = make_regression(n_samples=300, n_features=8, n_targets=2, random_state=0)
    return [
        (RandomForestClassifier(n_estimators=10, max_depth=10, random_state=0).fit(X, y), X),
        (DecisionTreeClassifier(random_state=0).fit(Xb, yb), Xb),
        (ExtraTreesRegressor(n_estimators=5, random_state=0).fit(Xd, yd), Xd),
        (ExtraTreesRegressor(n_estimators=3, max_depth=6, random_state=0).fit(Xm, ym), Xm),
        (DecisionTreeClassifier(min_samples_split=10_000).fit(Xb, yb), Xb),  # single leaf
        # small enough for compact (1-byte relative) child codes
        (RandomForestClassifier(n_estimators=5, max_depth=8, random_state=0).fit(X, y), X),
    ]


@pytest.mark.parametrize("compact", [False, True])
def test_blob_parity_with_sklearn(runner, compact):
    for est, X in _models():
        m = microlearn.convert(est)
        b = m.to_blob(compact=compact)
        assert blob.read(b)[0]["family_id"] == 1
        X = X.astype(np.float32).copy()
        X[::5, 0] = np.nan
        status, out, cls = runner.run(b, X, m.n_outputs)
        assert status == 0
        if m.kind == "classifier":
            np.testing.assert_array_equal(est.classes_[cls], est.predict(X))
            np.testing.assert_allclose(out, est.predict_proba(X), rtol=0,
                                       atol=mean_tolerance(m.ir.n_trees, 1.0))
            # the same numbers as the generated header's engine
            np.testing.assert_array_equal(out, m.predict_proba(X))
        else:
            ref = est.predict(X).reshape(len(X), -1)
            tol = mean_tolerance(m.ir.n_trees, float(np.abs(m.ir.leaf_values).max()))
            np.testing.assert_allclose(out, ref, rtol=0, atol=tol)
        # a version-1 file of the same model (microlearn 0.1) loads and gives the same
        old = _v1(b)
        assert runner.load(old) == 0
        s1, out1, cls1 = runner.run(old, X, m.n_outputs)
        assert s1 == 0 and np.array_equal(out1, out) and np.array_equal(cls1, cls)


def _recrc(b: bytearray) -> bytes:  # noqa: D103
    struct.pack_into("<I", b, 12, zlib.crc32(bytes(b[16:])) & 0xFFFFFFFF)
    return bytes(b)


def test_corrupt_blobs_are_rejected(runner):
    est, _ = _models()[0]
    good = microlearn.convert(est).to_blob(compact=False)
    S, h = _section(good)
    assert runner.load(good) == 0
    # every truncation
    for n in list(range(0, 200)) + list(range(200, len(good), 97)):
        assert runner.load(good[:n]) < 0, n
    # wrong magic / version / checksum
    bad = bytearray(good)
    bad[0:4] = b"XXXX"
    assert runner.load(bytes(bad)) == -4
    bad = bytearray(good)
    bad[4] = 3
    assert runner.load(bytes(bad)) == -5
    bad = bytearray(good)
    bad[-1] ^= 0xFF
    assert runner.load(bytes(bad)) == -4
    # structurally wrong, with a valid checksum: the loader checks every index
    def patched(offset, fmt, value):
        b = bytearray(good)
        struct.pack_into(fmt, b, offset, value)
        return _recrc(b)

    o = {k: S + v for k, v in h.items() if k.startswith("o_")}  # absolute offsets
    # a second tree's root: the first node after tree 0's range
    roots = np.frombuffer(good, dtype="<i2", count=h["n_trees"], offset=o["o_roots"])
    cases = [
        patched(o["o_feature"], "<B", 64),                 # feature index out of range
        patched(o["o_left"], "<h", 0),                     # child pointing back: a cycle
        patched(o["o_right"] + 2, "<h", h["n_nodes"]),     # child past the last node
        patched(o["o_left"], "<h", -(h["n_leaf_rows"] + h["leaf_base"]) - 1),  # leaf id too big
        patched(o["o_roots"], "<h", h["n_nodes"]),         # root out of range
        patched(S + 4, "<I", 0),                           # n_features = 0
        patched(S + 16, "<I", 10**9),                      # n_nodes past the end
        patched(S + 28, "<B", 3),                          # feature width 3
        patched(S + 56, "<I", len(good) - S - 8),          # leaf table past the end
        patched(S + 36, "<I", 18),                         # misaligned table
        patched(S + 24, "<I", 3),                          # leaf_base != n_classes
        # trees sharing nodes (a chain walked by every tree: quadratic time)
        patched(o["o_roots"] + 2, "<h", 0),
        # a child of tree 0 jumping into tree 1's node range
        patched(o["o_left"] + 2 * (int(roots[1]) - 1), "<h", int(roots[1])),
        # spans the loader checks, each moved past the end of the section
        patched(S + 48, "<I", len(good) - S - 2),          # roots span
        patched(S + 32, "<I", len(good) - S - 4),          # feature span
        patched(S + 40, "<I", len(good) - S - 2),          # left span
        patched(S + 44, "<I", len(good) - S - 2),          # right span
        patched(S + 68, "<I", len(good) - S - 2),          # leaf_start span
        patched(S + 72, "<I", len(good) - S - 2),          # leaf_index span
        # container: section offset / size / count / task / inputs
        patched(16 + 4, "<I", len(good)),                  # section starts past the end
        patched(16 + 8, "<I", len(good)),                  # section longer than the file
        patched(6, "<H", 2),                               # two sections, one table entry
        patched(6, "<H", 0),                               # no section
        patched(16 + 2, "<B", 1),                          # task disagrees with the section
        patched(16 + 12, "<I", 3),                         # n_features disagrees
        patched(16 + 4, "<I", 20),                         # section overlaps the table
        patched(16 + 4, "<I", S + 4),                      # misaligned section
        patched(16 + 3, "<B", 1),                          # reserved flags set
    ]
    # a tree's node range can only be entered at its root
    assert roots[1] > 0
    assert h["nnz"] > 0  # this model's leaf rows are stored sparse: check those tables too
    cases += [
        patched(o["o_leaf_index"] + 2, "<H", h["n_outputs"]),  # output index out of range
        patched(o["o_leaf_start"] + 2, "<H", 0xFFFF),           # starts not non-decreasing
        patched(o["o_leaf_start"], "<H", 1),                    # first start != 0
        patched(S + 64, "<I", h["nnz"] + 1),                    # nnz disagrees with starts
        patched(S + 60, "<f", 0.5),                             # 1/n_trees wrong
        # 1/n_trees one ulp off (the loader accepts only the correctly rounded value)
        patched(S + 60, "<I", int(np.float32(0.1).view(np.uint32)) + 1),
        patched(S + 60, "<I", int(np.float32(0.1).view(np.uint32)) - 1),
    ]
    assert h["n_trees"] == 10 and np.float32(h["inv_n_trees"]) == np.float32(0.1)
    # uint8 threshold index (digits: few distinct thresholds)
    X, y = load_digits(return_X_y=True)
    small = RandomForestClassifier(n_estimators=5, max_depth=8, random_state=0).fit(X, y)
    tgood = microlearn.convert(small).to_blob(compact=True)
    T, th = _section(tgood)
    assert th["threshold_kind"] == 1 and 0 < th["n_threshold_values"] <= 256
    assert th["child_bytes"] == 0  # compact relative child codes
    assert len(tgood) < len(microlearn.convert(small).to_blob(compact=False))
    assert runner.load(tgood) == 0
    to = {k: T + v for k, v in th.items() if k.startswith("o_")}

    def tpatched(offset, fmt, value):
        b = bytearray(tgood)
        struct.pack_into(fmt, b, offset, value)
        return _recrc(b)

    cases += [
        tpatched(to["o_threshold"] + 5, "<B", th["n_threshold_values"]),  # index out of range
        tpatched(T + 80, "<I", 257),                                      # too many values
        tpatched(T + 76, "<I", 2),                                        # unknown kind
        tpatched(to["o_right"] + th["n_nodes"] - 1, "<B", 255),  # relative child past the end
        tpatched(to["o_roots"], "<i", th["n_nodes"]),           # int32 root out of range
        tpatched(T + 29, "<B", 3),                              # child width 3
        # the threshold-values span past the end of the section
        tpatched(T + 84, "<I", len(tgood) - T - 4),
    ]
    # NaN routing bitset span (a model trained with missing values has one)
    Xn = X.astype(np.float64).copy()
    Xn[::3, 5] = np.nan
    nan_model = microlearn.convert(
        DecisionTreeClassifier(max_depth=6, random_state=0).fit(Xn, y)).to_blob()
    N, nh = _section(nan_model)
    assert nh["has_nan_left"] == 1 and runner.load(nan_model) == 0
    b = bytearray(nan_model)
    struct.pack_into("<I", b, N + 52, len(nan_model) - N)
    cases.append(_recrc(b))
    for i, b in enumerate(cases):
        assert runner.load(b) == -4, i
    # for Python readers too
    with pytest.raises(ValueError, match="checksum"):
        blob.read(good[:-1] + bytes([good[-1] ^ 1]))
    with pytest.raises(ValueError, match="truncated"):
        blob.read(good[:-4])
    with pytest.raises(ValueError, match="not a microlearn"):
        blob.read(b"\0" * 200)
    with pytest.raises(ValueError, match="version 3"):
        blob.read(bytes(good[:4]) + b"\3\0" + bytes(good[6:]))


def test_save_blob(tmp_path):
    est, _ = _models()[1]
    m = microlearn.convert(est)
    p = m.save_blob(tmp_path / "model.mlb")
    assert p.read_bytes() == m.to_blob()
    with pytest.raises(OSError, match="cannot write"):
        m.save_blob(tmp_path / "no" / "model.mlb")


@pytest.mark.skipif(shutil.which("clang") is None, reason="clang (libFuzzer) not installed")
def test_fuzz_blob_loader(tmp_path):
    """A bounded libFuzzer run (ASan + UBSan) over the loader and the engine."""
    exe = tmp_path / "fuzz_blob"
    build = subprocess.run(
        ["clang", "-g", "-O1", "-fsanitize=fuzzer,address,undefined",
         "-fno-sanitize-recover=all", f"-I{RUNTIME}", str(FUZZ), "-o", str(exe)],
        capture_output=True, text=True)
    if build.returncode != 0 and "fuzzer" in build.stderr:
        pytest.skip(f"libFuzzer runtime missing: {build.stderr[-300:]}")
    assert build.returncode == 0, build.stderr
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i, (est, _) in enumerate(_models()):
        (corpus / f"seed{i}.mlb").write_bytes(microlearn.convert(est).to_blob(compact=False))
        (corpus / f"seed{i}c.mlb").write_bytes(microlearn.convert(est).to_blob(compact=True))
    from families.test_dsp import fuzz_seed  # a raw-audio pipeline (dsp family)
    (corpus / "seed_dsp.mlb").write_bytes(fuzz_seed())
    run = subprocess.run([str(exe), "-runs=150000", "-seed=1", "-max_len=30000", str(corpus)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Done 150000 runs" in run.stderr
