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

import microlearn
from microlearn import blob, host_build

RUNTIME = Path(microlearn.__file__).resolve().parent / "runtime"
FUZZ = Path(__file__).resolve().parent / "fuzz" / "fuzz_blob.c"


@pytest.fixture(scope="module")
def runner():
    return host_build.BlobRunner()


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
        assert blob.read_header(b)["total"] == len(b)
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


def _recrc(b: bytearray) -> bytes:
    struct.pack_into("<I", b, 12, zlib.crc32(bytes(b[16:])) & 0xFFFFFFFF)
    return bytes(b)


def test_corrupt_blobs_are_rejected(runner):
    est, _ = _models()[0]
    good = microlearn.convert(est).to_blob()
    h = blob.read_header(good)
    assert runner.load(good) == 0
    # every truncation
    for n in list(range(0, 200)) + list(range(200, len(good), 97)):
        assert runner.load(good[:n]) < 0, n
    # wrong magic / version / checksum
    bad = bytearray(good)
    bad[0:4] = b"XXXX"
    assert runner.load(bytes(bad)) == -4
    bad = bytearray(good)
    bad[4] = 2
    assert runner.load(bytes(bad)) == -5
    bad = bytearray(good)
    bad[-1] ^= 0xFF
    assert runner.load(bytes(bad)) == -4
    # structurally wrong, with a valid checksum: the loader checks every index
    def patched(offset, fmt, value):
        b = bytearray(good)
        struct.pack_into(fmt, b, offset, value)
        return _recrc(b)

    cases = [
        patched(h["o_feature"], "<B", 64),                 # feature index out of range
        patched(h["o_left"], "<h", 0),                     # child pointing back: a cycle
        patched(h["o_right"] + 2, "<h", h["n_nodes"]),     # child past the last node
        patched(h["o_left"], "<h", -(h["n_leaf_rows"] + h["leaf_base"]) - 1),  # leaf id too big
        patched(h["o_roots"], "<h", h["n_nodes"]),         # root out of range
        patched(16 + 4, "<I", 0),                          # n_features = 0
        patched(16 + 16, "<I", 10**9),                     # n_nodes past the end
        patched(16 + 28, "<B", 3),                         # feature width 3
        patched(16 + 56, "<I", len(good) - 8),             # leaf table past the end
        patched(16 + 36, "<I", 18),                        # misaligned table
        patched(16 + 24, "<I", 3),                         # leaf_base != n_classes
    ]
    assert h["nnz"] > 0  # this model's leaf rows are stored sparse: check those tables too
    cases += [
        patched(h["o_leaf_index"] + 2, "<H", h["n_outputs"]),  # output index out of range
        patched(h["o_leaf_start"] + 2, "<H", 0xFFFF),           # starts not non-decreasing
        patched(h["o_leaf_start"], "<H", 1),                    # first start != 0
        patched(16 + 64, "<I", h["nnz"] + 1),                   # nnz disagrees with starts
        patched(16 + 60, "<f", 0.5),                            # 1/n_trees wrong
    ]
    # uint8 threshold index (digits: few distinct thresholds)
    X, y = load_digits(return_X_y=True)
    small = RandomForestClassifier(n_estimators=5, max_depth=8, random_state=0).fit(X, y)
    tgood = microlearn.convert(small).to_blob(compact=True)
    th = blob.read_header(tgood)
    assert th["threshold_kind"] == 1 and 0 < th["n_threshold_values"] <= 256
    assert th["child_bytes"] == 0  # compact relative child codes
    assert len(tgood) < len(microlearn.convert(small).to_blob()) and runner.load(tgood) == 0

    def tpatched(offset, fmt, value):
        b = bytearray(tgood)
        struct.pack_into(fmt, b, offset, value)
        return _recrc(b)

    cases += [
        tpatched(th["o_threshold"] + 5, "<B", th["n_threshold_values"]),  # index out of range
        tpatched(16 + 80, "<I", 257),                                     # too many values
        tpatched(16 + 76, "<I", 2),                                       # unknown kind
        tpatched(th["o_right"] + th["n_nodes"] - 1, "<B", 255),  # relative child past the end
        tpatched(th["o_roots"], "<i", th["n_nodes"]),           # int32 root out of range
        tpatched(16 + 29, "<B", 3),                             # child width 3
    ]
    for i, b in enumerate(cases):
        assert runner.load(b) == -4, i
    # for Python readers too
    with pytest.raises(ValueError, match="checksum"):
        blob.read_header(good[:-1] + bytes([good[-1] ^ 1]))
    with pytest.raises(ValueError, match="truncated"):
        blob.read_header(good[:-4])
    with pytest.raises(ValueError, match="not a microlearn"):
        blob.read_header(b"\0" * 200)


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
        (corpus / f"seed{i}.mlb").write_bytes(microlearn.convert(est).to_blob())
        (corpus / f"seed{i}c.mlb").write_bytes(microlearn.convert(est).to_blob(compact=True))
    run = subprocess.run([str(exe), "-runs=150000", "-seed=1", "-max_len=30000", str(corpus)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Done 150000 runs" in run.stderr
