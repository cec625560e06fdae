"""Regression tests of issue 8 ("Reliability"): one test (or a few) per item.

Each test names the item it proves. The MicroPython ones run the native x64 module and the
pure-Python fallback in the unix port (tests/support/mp_unix.py); the C loader runs through
tests/support/blob_runner.py.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from parity import mean_tolerance, threshold_probe_rows
from sklearn.datasets import load_digits, load_iris
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from support import mp_unix
from support.blob_runner import BlobRunner

import microlearn
from microlearn import blob, codegen, host_build, mp_module
from microlearn.errors import ConversionError
from microlearn.families.trees import section as trees_section
from microlearn.families.trees.convert import TreeEnsembleIR, reciprocal_f32

ROOT = Path(__file__).resolve().parent.parent
RUNTIME = host_build.RUNTIME_DIR
VARIANTS = ["native", "fallback"]


@pytest.fixture(scope="module")
def runner():
    return BlobRunner()


def _recrc(b: bytearray) -> bytes:
    struct.pack_into("<I", b, 12, zlib.crc32(bytes(b[16:])) & 0xFFFFFFFF)
    return bytes(b)


def _section(b: bytes) -> tuple[int, dict]:
    sec = blob.read(b)[0]
    return sec["offset"], trees_section.read_header(b[sec["offset"]:])


def trees_payload(*, kind: int = 0, n_features: int = 1, n_outputs: int = 1,
                  leaf_base: int | None = None, roots=(-1,), leaves=(),
                  inv_bits: int | None = None) -> bytes:
    """A trees section with no decision nodes, packed by hand (docs/blob_format.md):
    the 96-byte header, the dense leaf rows (if any), then int32 roots."""
    n_trees = len(roots)
    n_rows = len(leaves) // n_outputs if leaves else 0
    base = (n_outputs if kind == 0 else 0) if leaf_base is None else leaf_base
    o_leaves = 96 if leaves else 0
    o_roots = 96 + 4 * len(leaves)
    if inv_bits is None:
        inv_bits = int(np.float32(reciprocal_f32(n_trees)).view(np.uint32))
    h = bytearray(96)
    struct.pack_into("<7I4B7II6I8x", h, 0, kind, n_features, n_outputs, n_trees, 0, n_rows,
                     base, 1, 4, 0, 0, 0, 0, 0, 0, o_roots, 0, o_leaves, inv_bits,
                     0, 0, 0, 0, 0, 0)
    return (bytes(h) + np.asarray(leaves, dtype="<f4").tobytes()
            + np.asarray(roots, dtype="<i4").tobytes())


def trees_file(payload: bytes, task: str = "classifier", n_features: int = 1) -> bytes:
    return blob.write([blob.Section(1, task, n_features, payload)])


LOAD_ALL = """
import microlearn_mp as ml
for name in NAMES:
    try:
        ml.load(name)
        print(name, "OK")
    except ValueError:
        print(name, "ValueError")
    except MemoryError:
        print(name, "MemoryError")
print("DONE")
"""


def _load_all(variant: str, files: dict[str, bytes], tmp: Path, **kw) -> dict[str, str]:
    """name -> OK / ValueError / MemoryError for each file, loaded in the unix port."""
    script = f"NAMES = {sorted(files)!r}\n" + LOAD_ALL
    r = mp_unix.run(variant, script, files, tmp, **kw)
    assert r.returncode == 0 and "DONE" in r.stdout, r.stdout[-2000:] + r.stderr[-2000:]
    return dict(line.split() for line in r.stdout.splitlines() if line != "DONE")


PREDICT_ROWS = """
import array, microlearn_mp as ml
m = ml.load(MODEL)
nf = m.n_features()
f = open("x.bin", "rb"); data = f.read(); f.close()
res = []
for i in range(len(data) // (4 * nf)):
    res.append(m.predict(array.array("f", data[4 * nf * i:4 * nf * (i + 1)])))
print("CLASSES", " ".join(str(c) for c in res))
"""


def _mp_classes(variant, blob_bytes, X, tmp, script=PREDICT_ROWS, **kw) -> np.ndarray:
    files = {"model.mlb": blob_bytes, "x.bin": np.ascontiguousarray(X, np.float32).tobytes()}
    r = mp_unix.run(variant, 'MODEL = "model.mlb"\n' + script, files, tmp, **kw)
    assert r.returncode == 0 and "CLASSES" in r.stdout, r.stdout[-2000:] + r.stderr[-2000:]
    return np.array(r.stdout.split("CLASSES")[1].split(), dtype=np.int64)


# --- 1. out of memory in the native module -------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
def test_item1_huge_outputs_file_is_memory_error(variant, runner, tmp_path):
    """Classifier with n_outputs = leaf_base = 0x7FFFFFFF, one tree whose root is a leaf,
    no nodes: it passes validation (the C loader accepts it), but its scratch / output
    sizes cannot be allocated: MemoryError (or ValueError), never a crash."""
    big = trees_file(trees_payload(n_outputs=0x7FFFFFFF, roots=(-1,)))
    assert runner.load(big) == 0  # a valid file...
    script = """
import array, microlearn_mp as ml
try:
    m = ml.load("big.mlb")
    print("LOADED")
    print("CLASS", m.predict(array.array("f", [0.0])))
except MemoryError:
    print("MemoryError")
except ValueError as e:
    print("ValueError", e)
print("DONE")
"""
    for heap in (None, 64 * 1024):
        r = mp_unix.run(variant, script, {"big.mlb": big}, tmp_path, heap_size=heap)
        assert r.returncode == 0 and "DONE" in r.stdout, r.stdout + r.stderr
        assert "MemoryError" in r.stdout or "ValueError" in r.stdout, r.stdout
        assert "CLASS" not in r.stdout


@pytest.fixture(scope="module")
def big_forest():
    """A real model of ~0.5 MB (full-depth forest on random labels)."""
    rng = np.random.default_rng(0)
    X = rng.random((16000, 8)).astype(np.float32)
    y = rng.integers(0, 2, 16000)
    rf = RandomForestClassifier(n_estimators=10, random_state=0, n_jobs=1).fit(X, y)
    return rf, microlearn.convert(rf), X[:20]


@pytest.mark.parametrize("variant", VARIANTS)
def test_item1_unaligned_memoryview_small_heaps(variant, big_forest, tmp_path):
    """A real large model in an unaligned memoryview (the native module must copy it) under
    heaps too small for the copy, and just big enough: MemoryError or the right answers."""
    rf, m, X = big_forest
    data = m.to_blob(compact=False)
    L = len(data)
    assert L > 200_000
    script = """
import array, gc, microlearn_mp as ml
stage = "read"
try:
    buf = bytearray(SIZE + 1)
    f = open("model.mlb", "rb"); n = f.readinto(memoryview(buf)[1:]); f.close()
    assert n == SIZE
    gc.collect()
    stage = "load"
    m = ml.load(memoryview(buf)[1:])
    stage = "predict"
    f = open("x.bin", "rb"); xs = f.read(); f.close()
    nf = m.n_features()
    res = [m.predict(array.array("f", xs[4 * nf * i:4 * nf * (i + 1)]))
           for i in range(len(xs) // (4 * nf))]
    print("CLASSES", " ".join(str(c) for c in res))
except MemoryError:
    print("MemoryError at", stage)
print("DONE")
"""
    expected = " ".join(str(int(c)) for c in np.searchsorted(rf.classes_, rf.predict(X)))
    stages = []
    for k in range(0, 7):
        heap = int(L * (1.2 + 0.25 * k)) + 32 * 1024
        r = mp_unix.run(variant, f"SIZE = {L}\n" + script,
                        {"model.mlb": data, "x.bin": X.tobytes()}, tmp_path, heap_size=heap)
        assert r.returncode == 0 and "DONE" in r.stdout, (heap, r.stdout[-1000:], r.stderr)
        if "CLASSES" in r.stdout:
            assert r.stdout.split("CLASSES")[1].split("\n")[0].strip() == expected
            stages.append("ok")
        else:
            stages.append(r.stdout.split("MemoryError at")[1].split()[0])
    assert "load" in stages and "ok" in stages, stages  # both outcomes were exercised


# --- 2. mutable buffers are copied ---------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
def test_item2_mutate_bytearray_after_load(variant, tmp_path):
    X, y = load_digits(return_X_y=True)
    X = X.astype(np.float32)
    rf = RandomForestClassifier(n_estimators=5, max_depth=8, random_state=0).fit(X, y)
    m = microlearn.convert(rf)
    data = m.to_blob(compact=False)
    S, h = _section(data)
    assert h["child_bytes"] == 2
    cycle_at = S + h["o_left"]  # left child of node 0 := node 0 (a cycle)
    rows = X[:30]
    script = f"""
import array, gc, random, microlearn_mp as ml
f = open("model.mlb", "rb"); raw = f.read(); f.close()
f = open("x.bin", "rb"); xs = f.read(); f.close()
buf = bytearray(raw)
gc.collect(); a0 = gc.mem_alloc()
m = ml.load(buf)
print("COPY", gc.mem_alloc() - a0 >= len(buf))
nf = m.n_features()
def classes():
    return " ".join(str(m.predict(array.array("f", xs[4 * nf * i:4 * nf * (i + 1)])))
                    for i in range(len(xs) // (4 * nf)))
before = classes()
buf[{cycle_at}] = 0; buf[{cycle_at + 1}] = 0      # a cycle at node 0
after_cycle = classes()
random.seed(1)
for i in range(len(buf)):
    buf[i] = random.getrandbits(8)                 # everything overwritten
after_random = classes()
print("CLASSES", before)
print("SAME", before == after_cycle == after_random)
# bytes cannot change: read in place (no copy of the file)
gc.collect(); a0 = gc.mem_alloc()
m2 = ml.load(raw)
print("INPLACE", gc.mem_alloc() - a0 < len(raw) // 4)
print("DONE")
"""
    r = mp_unix.run(variant, script, {"model.mlb": data, "x.bin": rows.tobytes()}, tmp_path,
                    timeout=60)
    assert r.returncode == 0 and "DONE" in r.stdout, r.stdout + r.stderr
    assert "SAME True" in r.stdout
    got = np.array(r.stdout.split("CLASSES")[1].split("\n")[0].split(), dtype=int)
    np.testing.assert_array_equal(rf.classes_[got], rf.predict(rows))
    assert "COPY True" in r.stdout  # both copy a bytearray (the fallback into arrays)
    if variant == "native":
        assert "INPLACE True" in r.stdout


# --- 3. trees sharing one node chain (quadratic predict) -----------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
def test_item3_shared_chain_rejected_in_micropython(variant, runner, tmp_path):
    X, y = load_iris(return_X_y=True)
    rf = RandomForestClassifier(n_estimators=4, random_state=0).fit(X, y)
    good = microlearn.convert(rf).to_blob(compact=False)
    S, h = _section(good)
    cb = h["child_bytes"]
    fmt = {1: "<b", 2: "<h", 4: "<i"}[cb]
    files = {}
    for t in range(1, 4):  # tree t re-enters tree 0's node chain at its root
        b = bytearray(good)
        struct.pack_into(fmt, b, S + h["o_roots"] + cb * t, 0)
        files[f"share{t}.mlb"] = _recrc(b)
        assert runner.load(files[f"share{t}.mlb"]) == -4
    files["good.mlb"] = good
    res = _load_all(variant, files, tmp_path)
    assert res == {**{f"share{t}.mlb": "ValueError" for t in range(1, 4)}, "good.mlb": "OK"}


# --- 4. exact_predict is False where float32 cannot separate sklearn's classes -------------


def test_item4_exact_predict_false_on_float64_near_tie():
    """sklearn's float64 probabilities are 0.4999999998 / 0.5000000002 (class 1); their
    float32 roundings tie at 0.5 and the C takes the first maximum (class 0). The model
    must not claim exact predictions: exact_predict is False and exactness says near-ties
    may differ (documented: probabilities stay within float32 rounding)."""
    rf = RandomForestClassifier(3, bootstrap=False, random_state=0).fit(
        [[0], [0], [1]], [0, 1, 1], sample_weight=[1, 1 + 1e-9, 1])
    m = microlearn.convert(rf)
    assert m.exact_predict is False
    assert "near-ties" in m.exactness
    assert rf.predict([[0]])[0] == 1
    assert m.predict([[0]])[0] == 0  # the documented near-tie: float32 cannot separate them
    np.testing.assert_allclose(m.predict_proba([[0]]), rf.predict_proba([[0]]), rtol=0,
                               atol=mean_tolerance(3, 1.0))
    # a single tree is exact (each leaf's argmax is checked at conversion)
    X, y = load_iris(return_X_y=True)
    assert microlearn.convert(DecisionTreeClassifier(random_state=0).fit(X, y)).exact_predict


# --- 5. pandas feature names ------------------------------------------------------------


def test_item5_dataframe_columns_checked():
    pd = pytest.importorskip("pandas")
    X, y = load_iris(return_X_y=True)
    cols = ["sl", "sw", "pl", "pw"]
    df = pd.DataFrame(X, columns=cols)
    est = RandomForestClassifier(5, random_state=0).fit(df, y)
    m = microlearn.convert(est)
    np.testing.assert_array_equal(m.predict(df), est.predict(df))  # same order: OK
    np.testing.assert_array_equal(m.predict(X), est.predict(X))  # numpy: no names, OK
    with pytest.raises(ValueError):
        est.predict(df[cols[::-1]])  # what sklearn does
    with pytest.raises(ValueError, match="feature names"):
        m.predict(df[cols[::-1]])
    with pytest.raises(ValueError, match="feature names"):
        m.predict_proba(df.rename(columns={"pw": "petal"}))
    with pytest.raises(ValueError, match="feature names"):
        m.footprint("host", df[cols[::-1]])


# --- 6. the fallback accepts exactly what the native module accepts ------------------------


def test_item6_same_types_and_threshold_answers(tmp_path):
    X, y = load_iris(return_X_y=True)
    X = X.astype(np.float32)
    rf = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y)
    m = microlearn.convert(rf)
    probes = threshold_probe_rows(rf, X, max_nodes=200)
    script = """
import array, microlearn_mp as ml
m = ml.load("model.mlb")
bad = {"d": array.array("d", [5.1, 3.5, 1.4, 0.2]), "i": array.array("i", [5, 3, 1, 0]),
       "list": [5.1, 3.5, 1.4, 0.2], "tuple": (5.1, 3.5, 1.4, 0.2),
       "short": array.array("f", [5.1, 3.5, 1.4]), "bytes": bytes(16)}
out = array.array("f", [0.0] * 3)
for name in sorted(bad):
    for meth in ("predict", "predict_proba"):
        try:
            if meth == "predict":
                m.predict(bad[name])
            else:
                m.predict_proba(bad[name], out)
            print("ACCEPTED", meth, name)
        except ValueError:
            print("ValueError", meth, name)
        except TypeError:
            print("TypeError", meth, name)
x = array.array("f", [5.1, 3.5, 1.4, 0.2])
for name, o in (("outd", array.array("d", [0.0] * 3)), ("outlist", [0.0] * 3),
                ("outshort", array.array("f", [0.0] * 2))):
    try:
        m.predict_proba(x, o)
        print("ACCEPTED", name)
    except ValueError:
        print("ValueError", name)
    except TypeError:
        print("TypeError", name)
print("DONE")
"""
    outs = {}
    for variant in VARIANTS:
        r = mp_unix.run(variant, script, {"model.mlb": m.to_blob()}, tmp_path / variant)
        assert r.returncode == 0 and "DONE" in r.stdout, r.stdout + r.stderr
        assert "ACCEPTED" not in r.stdout, r.stdout
        lines = sorted(r.stdout.split("DONE")[0].splitlines())
        assert all(line.startswith("ValueError") for line in lines), lines
        outs[variant] = _mp_classes(variant, m.to_blob(), probes, tmp_path / variant)
    np.testing.assert_array_equal(outs["native"], outs["fallback"])
    np.testing.assert_array_equal(rf.classes_[outs["native"]], rf.predict(probes))


# --- 7. clear errors: float32 range, complex X, inconsistent feature index ------------------


def test_item7_regressor_leaves_beyond_float32():
    X = np.arange(20, dtype=float).reshape(-1, 1)
    for big in (1e39, -1e39, 1.7e308):
        y = np.where(X[:, 0] > 9, big, 0.0)
        est = DecisionTreeRegressor().fit(X, y)
        with pytest.raises(ConversionError, match="float32"):
            microlearn.convert(est)
    # 3e38 fits: converts
    microlearn.convert(DecisionTreeRegressor().fit(X, np.where(X[:, 0] > 9, 3e38, 0.0)))


def test_item7_complex_X_rejected():
    X, y = load_iris(return_X_y=True)
    m = microlearn.convert(DecisionTreeClassifier(random_state=0).fit(X, y))
    with pytest.raises(ValueError, match="complex"):
        m.predict(X[:3] + 1j)
    with pytest.raises(ValueError, match="complex"):
        m.predict_proba((X[:3] + 0j).astype(np.complex64))


def test_item7_tampered_feature_index():
    X, y = load_iris(return_X_y=True)
    for est in (DecisionTreeClassifier(random_state=0).fit(X, y),
                RandomForestRegressor(3, random_state=0).fit(X, y)):
        tree = est.estimators_[-1] if hasattr(est, "estimators_") else est
        tree.tree_.feature[0] = 4  # == n_features_in_: past the row
        with pytest.raises(ConversionError, match="feature 4"):
            microlearn.convert(est)
    est = DecisionTreeClassifier(random_state=0).fit(X, y)
    est.n_features_in_ = 2  # the tree still splits on features 2 and 3
    with pytest.raises(ConversionError, match="n_features_in_"):
        microlearn.convert(est)


# --- 8. 1/n_trees exactly the nearest float32 -------------------------------------------

N_TREES = (1, 2, 3, 5, 7, 10, 11, 49, 100, 127, 128, 199, 200)
#: n where float32(1.0 / n) (double rounding) is not the float32 nearest to 1/n
DOUBLE_ROUNDED = (846731599, 939524103, 943201287, 1614112203, 1693463198, 1745032969,
                  1879048206, 1886402574, 2004436223)


def test_item8_reciprocal_files_native_fallback_c_agree(runner, tmp_path):
    files, expect = {}, {}
    for n in N_TREES:
        exact = int(np.float32(reciprocal_f32(n)).view(np.uint32))
        for d in (-3, -2, -1, 0, 1, 2, 3):
            b = trees_file(trees_payload(kind=1, n_outputs=1, roots=[-1] * n, leaves=[2.5],
                                         inv_bits=exact + d), task="regressor")
            name = f"n{n}_{d + 3}.mlb"
            files[name] = b
            expect[name] = "OK" if d == 0 else "ValueError"
            assert (runner.load(b) == 0) == (d == 0), (n, d)
    for variant in VARIANTS:
        assert _load_all(variant, files, tmp_path / variant) == expect, variant


def _fallback_module():
    spec = importlib.util.spec_from_file_location("microlearn_mp_fallback",
                                                  mp_module.FALLBACK_PY)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_item8_reciprocal_check_where_double_rounding_differs(tmp_path):
    """For these n (too many trees for a file) float32(1.0/n) is one ulp off: the loaders'
    integer checks (C ml_trees__is_reciprocal and the fallback's _is_reciprocal) accept only
    reciprocal_f32(n)."""
    cases = []
    for n in DOUBLE_ROUNDED + N_TREES + (2**31 - 1, 2**30, 3 * 2**20):
        exact = int(np.float32(reciprocal_f32(n)).view(np.uint32))
        if n in DOUBLE_ROUNDED:
            assert int(np.float32(1.0 / n).view(np.uint32)) != exact
        cases += [(exact + d, n, d == 0) for d in range(-3, 4)]
    fb = _fallback_module()
    assert [bool(fb._is_reciprocal(b, n)) for b, n, _ in cases] == [ok for *_, ok in cases]
    src = tmp_path / "recip.c"
    src.write_text('#include <stdio.h>\n#include "ml_trees.h"\n'
                   "static const unsigned int cases[][2] = {\n"
                   + ",\n".join(f"    {{{b}u, {n}u}}" for b, n, _ in cases)
                   + "\n};\nint main(void)\n{\n"
                   "    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {\n"
                   '        printf("%d\\n", ml_trees__is_reciprocal(cases[i][0], cases[i][1]));\n'
                   "    }\n    return 0;\n}\n")
    exe = tmp_path / "recip"
    cc = host_build.compiler_command()
    subprocess.run([*cc, *host_build.WARNING_FLAGS, f"-I{RUNTIME}", str(src), "-o", str(exe)],
                   check=True, capture_output=True)
    got = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split()
    assert [g == "1" for g in got] == [ok for *_, ok in cases]


# --- 9. what save_blob writes loads -----------------------------------------------------


def test_item9_compact_with_300_classes(runner, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.random((900, 3)).astype(np.float32)
    y = np.arange(900) % 300
    est = DecisionTreeClassifier(max_depth=1, random_state=0).fit(X, y)
    m = microlearn.convert(est)
    assert m.ir.n_leaf_ids > 255
    for compact in (True, False):
        p = m.save_blob(tmp_path / f"m{int(compact)}.mlb", compact=compact)
        data = p.read_bytes()
        assert runner.load(data) == 0
        status, out, cls = runner.run(data, X[:50], m.n_outputs)
        assert status == 0
        np.testing.assert_array_equal(est.classes_[cls], est.predict(X[:50]))
        np.testing.assert_array_equal(out, m.predict_proba(X[:50]))
        got = _mp_classes("native", data, X[:50], tmp_path / f"mp{int(compact)}")
        np.testing.assert_array_equal(est.classes_[got], est.predict(X[:50]))


def _chain_ir(n_rows: int, n_outputs: int = 3) -> TreeEnsembleIR:
    """One tree: a chain of n_rows - 1 decision nodes (node i: x0 <= i goes to leaf row i,
    else on to node i + 1), each leaf row with one non-zero value (sparse-eligible)."""
    n = n_rows - 1
    nodes = np.arange(n)
    values = np.zeros((n_rows, n_outputs), np.float32)
    values[np.arange(n_rows), np.arange(n_rows) % n_outputs] = np.arange(n_rows) + 1
    right = np.where(nodes + 1 < n, nodes + 1, ~n)
    return TreeEnsembleIR(
        estimator="DecisionTreeRegressor", kind="regressor", n_features=1,
        n_outputs=n_outputs, classes=None, feature=np.zeros(n, np.int64),
        threshold=nodes.astype(np.float32), nan_left=np.zeros(n, bool),
        left=~nodes, right=right.astype(np.int64), roots=np.array([0], np.int64),
        leaf_values=values, leaf_base=0, max_depth=n)


@pytest.mark.parametrize("n_rows", [0xFFFE, 0xFFFF])
def test_item9_sparse_leaf_rows_limit(n_rows, runner, tmp_path):
    ir = _chain_ir(n_rows)
    data = trees_file(trees_section.section(ir), task="regressor")
    S, h = _section(data)
    assert h["n_leaf_rows"] == n_rows
    assert (h["nnz"] > 0) == (n_rows < 0xFFFF)  # sparse while the u16 starts can hold it
    assert runner.load(data) == 0
    X = np.array([[0], [1], [7.5], [n_rows - 2], [n_rows + 5]], np.float32)
    want = np.zeros((len(X), 3), np.float32)
    leaf = np.minimum(np.ceil(X[:, 0]).astype(int), n_rows - 1)
    want[np.arange(len(X)), leaf % 3] = leaf + 1
    status, out, _ = runner.run(data, X, 3)
    assert status == 0
    np.testing.assert_array_equal(out, want)
    script = """
import array, microlearn_mp as ml
m = ml.load("model.mlb")
out = array.array("f", [0.0] * 3)
for v in VALUES:
    m.regress(array.array("f", [v]), out)
    print("OUT", " ".join(str(int(o)) for o in out))
print("DONE")
"""
    r = mp_unix.run("native", f"VALUES = {X[:, 0].tolist()!r}\n" + script, {"model.mlb": data},
                    tmp_path)
    assert r.returncode == 0 and "DONE" in r.stdout, r.stdout + r.stderr
    got = [[int(v) for v in line.split()[1:]] for line in r.stdout.splitlines()
           if line.startswith("OUT")]
    np.testing.assert_array_equal(got, want.astype(int))


# --- 10. headers: comments in labels, names that must coexist -------------------------------


def _nan_model():
    X, y = load_iris(return_X_y=True)
    X = X.copy()
    X[::3, 2] = np.nan
    est = DecisionTreeClassifier(max_depth=4, random_state=0).fit(X, y)
    m = microlearn.convert(est)
    assert m.ir.nan_left.any()
    return est, m


def test_item10_headers_coexist(tmp_path):
    X, y = load_iris(return_X_y=True)
    X = X.astype(np.float32)
    labels = np.array(["a/*b", "c*/d", "e//f"])[y]
    est_lab = RandomForestClassifier(3, random_state=0).fit(X, labels)
    est_nan, m_nan = _nan_model()
    est_reg = DecisionTreeRegressor(max_depth=3, random_state=0).fit(X, X[:, 0])
    models = {
        "model": (est_lab, microlearn.convert(est_lab)),
        "MODEL": (est_reg, microlearn.convert(est_reg)),
        "a": (est_nan, m_nan),
        "a_nan": (est_lab, microlearn.convert(est_lab, method="inline")),
        "a_nan_left": (est_nan, microlearn.convert(est_nan, method="inline")),
    }
    includes, calls = [], []
    rows = X[:5].copy()
    rows[0, 1] = np.nan
    expected = []
    for name, (est, m) in models.items():
        (tmp_path / f"{name}.h").write_text(m.c_source(name))
        includes.append(f'#include "{name}.h"')
        for i, r in enumerate(rows):
            x = "{" + ", ".join(codegen.c_float(v) for v in r[: m.n_features]) + "}"
            calls.append(f"    {{ const float x[] = {x}; ")
            if m.kind == "classifier":
                calls[-1] += (f'printf("{name} {i} %d\\n", (int){name}_predict(x, '
                              f"{name}_N_FEATURES)); }}")
                label = est.predict(r[None, : m.n_features])[0]
                assert m.predict(r[None, : m.n_features])[0] == label
                expected.append(f"{name} {i} {list(m.classes_).index(label)}")
            else:
                calls[-1] += (f'printf("{name} {i} %.9g\\n", (double){name}_regress1(x, '
                              f"{name}_N_FEATURES)); }}")
                expected.append(f"{name} {i} {float(m.predict(r[None, :])[0]):.9g}")
    main = tmp_path / "main.c"
    main.write_text("#include <stdio.h>\n" + "\n".join(includes) + "\n"
                    + "\n".join(includes) + "\n"  # twice: the include guards hold
                    + "int main(void)\n{\n" + "\n".join(calls) + "\n    return 0;\n}\n")
    exe = tmp_path / "main"
    cc = host_build.compiler_command()
    proc = subprocess.run([*cc, *host_build.WARNING_FLAGS, "-Wcomment", str(main), "-o",
                           str(exe)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == expected
    # labels with comment markers are in the header, made harmless
    text = models["model"][1].c_source("model")
    assert "a/ *b" in text and "c* /d" in text


@pytest.mark.parametrize("bad", ["a__b", "model_", "_model", "__x", "int", "static", "ml_x",
                                 "ML_X", "ml", "1abc", "a-b", "", "class"])
def test_item10_invalid_names(bad):
    X, y = load_iris(return_X_y=True)
    m = microlearn.convert(DecisionTreeClassifier(max_depth=2).fit(X, y))
    with pytest.raises(ValueError):
        m.c_source(bad)
    with pytest.raises(ValueError):
        codegen.check_name(bad)


# --- 12. cache directory and CC ---------------------------------------------------------

_PREDICT_PY = """
import warnings, numpy as np, microlearn
from sklearn.datasets import load_iris
from sklearn.tree import DecisionTreeClassifier
X, y = load_iris(return_X_y=True)
est = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y)
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    ok = (microlearn.convert(est).predict(X) == est.predict(X)).all()
print("OK" if ok else "WRONG")
for x in w:
    print("WARNING", x.category.__name__, str(x.message).replace("\\n", " "))
"""


def _run_py(code: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=300)


def test_item12_unwritable_cache_dir(tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("not a directory")
    cases = [str(a_file), str(a_file / "sub")]
    if os.geteuid() != 0:  # root writes anywhere
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        cases += [str(ro), str(ro / "sub")]
    for cache in cases:
        r = _run_py(_PREDICT_PY, {"MICROLEARN_CACHE_DIR": cache})
        assert r.returncode == 0, r.stderr
        assert "OK" in r.stdout.splitlines()
        warns = [line for line in r.stdout.splitlines() if line.startswith("WARNING")]
        assert len(warns) == 1 and "RuntimeWarning" in warns[0], r.stdout
        assert "MICROLEARN_CACHE_DIR" in warns[0]


def test_item12_cc_with_flags(tmp_path):
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        pytest.skip("tool missing: gcc")
    env = {"CC": f"{Path(gcc).name} -O0", "MICROLEARN_CACHE_DIR": str(tmp_path / "cache")}
    r = _run_py(_PREDICT_PY + "from microlearn import host_build\n"
                "print('CMD', host_build.compiler_command())\n", env)
    assert r.returncode == 0, r.stderr
    assert "OK" in r.stdout.splitlines() and "WARNING" not in r.stdout
    assert "'-O0']" in r.stdout
    assert any((tmp_path / "cache" / "host").glob("*.so"))
    r = _run_py("from microlearn import host_build\nhost_build.compiler_command()",
                {"CC": "no-such-compiler-xyz -O0"})
    assert r.returncode != 0 and "no-such-compiler-xyz" in r.stderr


def test_item12_cache_dir_tilde_expands_in_both(tmp_path, monkeypatch):
    from microlearn import micropython_build as mb

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("MICROLEARN_CACHE_DIR", "~/x")
    assert host_build.cache_dir() == tmp_path / "x"
    assert mb.cache_dir() == tmp_path / "x"
    assert (tmp_path / "x").is_dir() and not Path("~").exists()
    monkeypatch.delenv("MICROLEARN_CACHE_DIR")
    assert host_build.cache_dir() == mb.cache_dir() == tmp_path / ".cache" / "microlearn"


# --- 13. CLI errors --------------------------------------------------------------------


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "microlearn", *args], capture_output=True,
                          text=True, timeout=300, cwd=cwd)


def _one_line_error(r: subprocess.CompletedProcess) -> str:
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("microlearn: error:"), r.stderr
    return lines[0]


def test_item13_cli_errors(tmp_path):
    import joblib

    X, y = load_iris(return_X_y=True)
    good = tmp_path / "good.joblib"
    joblib.dump(DecisionTreeClassifier(max_depth=2).fit(X, y), good)
    data = good.read_bytes()
    (tmp_path / "trunc.joblib").write_bytes(data[: len(data) // 2])
    (tmp_path / "empty.joblib").write_bytes(b"")
    (tmp_path / "junk.joblib").write_bytes(b"\x80\x04junk")
    for name in ("trunc", "junk"):
        line = _one_line_error(_cli("info", str(tmp_path / f"{name}.joblib")))
        assert "cannot load" in line
        detail = line.split("joblib/pickle:")[1].strip()
        assert ":" in detail and len(detail.split(":", 1)[1].strip()) > 0, line  # Type: details
        assert detail.split(":")[0].isidentifier()  # the exception type
    assert "empty" in _one_line_error(_cli("info", str(tmp_path / "empty.joblib")))
    line = _one_line_error(_cli("convert", str(tmp_path), "-o", str(tmp_path / "m.h")))
    assert "is a directory" in line
    assert "does not exist" in _one_line_error(_cli("info", str(tmp_path / "nope.joblib")))
    r = _cli("footprint", str(good), "--target", "nonsense")
    assert "nonsense" in _one_line_error(r)
    assert r.stdout == ""
    a_file = tmp_path / "afile"
    a_file.write_text("x")
    r = _cli("micropython", "build", "--arch", "py", "--out", str(a_file))
    line = _one_line_error(r)
    assert "is a file" in line and "Errno" not in line
    assert r.stdout == ""


# --- 14. -ffast-math -------------------------------------------------------------------


def test_item14_fast_math_is_an_error(tmp_path):
    X, y = load_iris(return_X_y=True)
    m = microlearn.convert(RandomForestClassifier(3, random_state=0).fit(X, y))
    (tmp_path / "model.h").write_text(m.c_source("model"))
    src = tmp_path / "use.c"
    src.write_text('#include "model.h"\nint use(const float *x);\n'
                   "int use(const float *x) { return (int)model_predict(x, 4); }\n")
    cc = host_build.compiler_command()
    base = [*cc, *host_build.WARNING_FLAGS, "-c", str(src), "-o", str(tmp_path / "use.o")]
    for flag in ("-ffast-math", "-Ofast"):
        proc = subprocess.run([*base, flag], capture_output=True, text=True)
        assert proc.returncode != 0
        assert "do not compile with -ffast-math" in proc.stderr
    proc = subprocess.run([*base, "-ffast-math", "-DML_ALLOW_FAST_MATH"], capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run(base, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


# --- 18. the integer-compare engine (soft-float targets) on the host ----------------------


def _int_compare_lib(m):
    widths = m._widths()
    so = host_build._compile(host_build.HOST_C, m.c_source("model"),
                             ("MLHOST_PREFIX=model", *(f"MLHOST_HAS_{k}" for k in widths),
                              "ML_TREES_INT_COMPARE=1"))
    return host_build.HostLibrary(so, widths)


def test_item18_int_compare_engine_parity():
    from parity import assert_parity

    X, y = load_digits(return_X_y=True)
    X = X.astype(np.float32)
    Xn = X.copy()
    Xn[::3, 5] = np.nan
    Xd = X[:, :10]
    yd = X[:, 20] * 3.5 - X[:, 30]
    cases = [
        (RandomForestClassifier(n_estimators=5, max_depth=8, random_state=0).fit(X, y), X),
        (DecisionTreeClassifier(random_state=0).fit(X, y), X),  # wider child codes
        (DecisionTreeClassifier(max_depth=6, random_state=0).fit(Xn, y), Xn),  # NaN routing
        (RandomForestRegressor(n_estimators=4, max_depth=7, random_state=0).fit(Xd, yd), Xd),
    ]
    for est, Xc in cases:
        m = microlearn.convert(est)
        lib = _int_compare_lib(m)
        rows = np.vstack([threshold_probe_rows(est, np.nan_to_num(Xc), max_nodes=300),
                          Xc[:200]]).astype(np.float32)
        rows[::7, 5] = np.nan
        rows = np.ascontiguousarray(rows)
        # the float engine against sklearn, and the integer one identical to it
        assert_parity(est, m, rows)
        if m.kind == "classifier":
            ours = lib.call("predict", rows)
            np.testing.assert_array_equal(est.classes_[ours], est.predict(rows))
            proba = lib.call("predict_proba", rows)
            np.testing.assert_array_equal(proba, m.predict_proba(rows))
            np.testing.assert_allclose(proba, est.predict_proba(rows), rtol=0,
                                       atol=mean_tolerance(m.ir.n_trees, 1.0))
        else:
            out = lib.call("regress", rows)[:, 0]
            np.testing.assert_array_equal(out, m.predict(rows))
            tol = mean_tolerance(m.ir.n_trees, float(np.abs(m.ir.leaf_values).max()))
            np.testing.assert_allclose(out, est.predict(rows), rtol=0, atol=tol)


# --- 17. skips only for missing tools ---------------------------------------------------


def test_item17_no_blanket_skips_in_tests():
    """No `except Exception:` whose handler skips without re-raising (a compile error of a
    module would become a skip)."""
    import re

    bad = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            if re.search(r"except\s+(Exception|BaseException)\b|except\s*:", line):
                indent = len(line) - len(line.lstrip())
                body = []
                for nxt in lines[i + 1:]:
                    if nxt.strip() and len(nxt) - len(nxt.lstrip()) <= indent:
                        break
                    body.append(nxt)
                text = "\n".join(body)
                if "pytest.skip" in text and "raise" not in text:
                    bad.append(f"{path.relative_to(ROOT)}:{i + 1}")
    assert not bad, bad


def test_item17_check_skips_script(tmp_path):
    (tmp_path / "test_x.py").write_text(
        "import pytest\n"
        "def test_tool():\n    pytest.skip('tool missing: foo')\n"
        "@pytest.mark.skipif(True, reason='qemu-system-arm not installed')\n"
        "def test_qemu():\n    pass\n"
        "def test_ok():\n    pass\n")
    report = tmp_path / "r.xml"
    run = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
           f"--junitxml={report}", "test_x.py"]
    check = [sys.executable, str(ROOT / "scripts" / "check_skips.py"), str(report)]
    subprocess.run(run, cwd=tmp_path, capture_output=True, check=True)
    r = subprocess.run(check, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    # a skip that hides a failure (a dependency that does not import) fails the check
    with (tmp_path / "test_x.py").open("a") as f:
        f.write("def test_dep():\n    pytest.importorskip('no_such_module_xyz')\n")
    subprocess.run(run, cwd=tmp_path, capture_output=True, check=True)
    r = subprocess.run(check, capture_output=True, text=True)
    assert r.returncode == 1 and "no_such_module_xyz" in r.stderr
    assert "--junitxml" in (ROOT / ".ci" / "run").read_text()
    assert "check_skips.py" in (ROOT / ".ci" / "run").read_text()
