"""microlearn_mp (native .mpy and pure-Python fallback) in the unix MicroPython port and
in QEMU: every device-side result is compared with scikit-learn (classes equal,
probabilities / regression outputs within the float32 tolerance of tests/parity.py) and
with the host build of the same C; no allocation in predict; corrupt blobs.

Skips only when a tool is genuinely missing (ToolNotFoundError, no qemu-system-arm): a
module that fails to build is a failure."""

from __future__ import annotations

import shutil
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest
from parity import mean_tolerance
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_iris, load_wine
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier, RandomForestRegressor
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from support import mp_bench, mp_qemu, mp_unix

import microlearn
from microlearn import micropython_build as mb
from microlearn import mp_module

RUN_SCRIPT = """
import array, gc, microlearn_mp as ml
model = ml.load("model.mlb")
nf = model.n_features(); no = model.n_outputs()
f = open("x.bin", "rb"); data = f.read(); f.close()
n = len(data) // (4 * nf)
x = array.array("f", bytes(4 * nf))
out = array.array("f", bytes(4 * no))
cls = array.array("i", bytes(4 * n))
res = bytearray()


def infer(i):  # heap bytes allocated by the model calls alone (locals only)
    gc.collect()
    a0 = gc.mem_alloc()
    if model.is_classifier():
        cls[i] = model.predict(x)
        model.predict_proba(x, out)
    else:
        model.regress(x, out)
    return gc.mem_alloc() - a0


infer(0)  # warm-up: the first call of a method may fill a lookup cache
alloc = 0
for i in range(n):
    x[:] = array.array("f", data[i * 4 * nf:(i + 1) * 4 * nf])
    alloc = max(alloc, infer(i))
    res += bytes(out)
f = open("out.bin", "wb"); f.write(bytes(cls)); f.write(res); f.close()
print("ALLOC", alloc)
"""


@pytest.fixture(scope="module")
def native_x64():
    return mp_unix.native_x64()  # skips only when the unix port or gcc/make is missing


def assert_sklearn_parity(est, m, X, cls, out) -> None:
    """Device-side results (class indices ``cls``, outputs ``out``) against scikit-learn."""
    X = np.asarray(X, dtype=np.float32)
    if m.kind == "classifier":
        np.testing.assert_array_equal(est.classes_[cls], est.predict(X))
        np.testing.assert_allclose(out, est.predict_proba(X), rtol=0,
                                   atol=mean_tolerance(m.ir.n_trees, 1.0))
    else:
        leaf_max = float(np.abs(m.ir.leaf_values).max()) if m.ir.leaf_values.size else 0.0
        ref = est.predict(X).reshape(len(X), -1)
        np.testing.assert_allclose(out, ref, rtol=0,
                                   atol=mean_tolerance(m.ir.n_trees, leaf_max))


MODELS = {
    "rf_digits": (lambda: RandomForestClassifier(n_estimators=10, max_depth=10, random_state=0),
                  load_digits),
    "dt_breast_cancer": (lambda: DecisionTreeClassifier(random_state=0), load_breast_cancer),
    "et_wine": (lambda: ExtraTreesClassifier(n_estimators=5, random_state=0), load_wine),
    "rf_iris_strings": (lambda: RandomForestClassifier(n_estimators=4, random_state=0), load_iris),
    "rf_diabetes": (lambda: RandomForestRegressor(n_estimators=5, max_depth=8, random_state=0),
                    load_diabetes),
    "dt_diabetes": (lambda: DecisionTreeRegressor(max_depth=6, random_state=0), load_diabetes),
}


def _run_module(module_file: Path, tmp: Path, est, X):
    m = microlearn.convert(est)
    shutil.copy(module_file, tmp / module_file.name)
    m.save_blob(tmp / "model.mlb")
    X = np.ascontiguousarray(X, dtype=np.float32)
    (tmp / "x.bin").write_bytes(X.tobytes())
    r = mp_unix.run_unix(RUN_SCRIPT, tmp, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    raw = (tmp / "out.bin").read_bytes()
    n = len(X)
    cls = np.frombuffer(raw[: 4 * n], dtype=np.int32)
    out = np.frombuffer(raw[4 * n:], dtype=np.float32).reshape(n, m.n_outputs)
    alloc = int(r.stdout.split("ALLOC")[1].split()[0])
    return m, cls, out, alloc


@pytest.mark.parametrize("variant", ["native", "fallback"])
@pytest.mark.parametrize("case", list(MODELS))
def test_unix_port_parity(case, variant, native_x64, tmp_path):
    make, load = MODELS[case]
    X, y = load(return_X_y=True)
    if case == "rf_iris_strings":
        y = np.array(["setosa", "versicolor", "virginica"])[y]
    X = X.astype(np.float32)
    est = make().fit(X, y)
    Xq = X[:150].copy()
    Xq[::11, 2] = np.nan
    module = native_x64 if variant == "native" else mp_module.FALLBACK_PY
    m, cls, out, alloc = _run_module(module, tmp_path, est, Xq)
    assert_sklearn_parity(est, m, Xq, cls, out)
    if m.kind == "classifier":
        # the same C engine / the same float32 operations as the host build: identical
        np.testing.assert_array_equal(out, m.predict_proba(Xq))
    else:
        np.testing.assert_array_equal(out[:, 0], m.predict(Xq))
    if variant == "native":
        assert alloc == 0  # no heap allocation inside predict / predict_proba / regress


@pytest.mark.parametrize("variant", ["native", "fallback"])
def test_unix_port_rejects_corrupt_blobs(variant, native_x64, tmp_path):
    X, y = load_iris(return_X_y=True)
    good = microlearn.convert(DecisionTreeClassifier(random_state=0).fit(X, y)).to_blob()
    module = native_x64 if variant == "native" else mp_module.FALLBACK_PY
    shutil.copy(module, tmp_path / module.name)
    bad_version = bytearray(good)
    bad_version[4] = 9
    for name, data in {"trunc": good[:50], "flip": good[:-1] + bytes([good[-1] ^ 1]),
                       "empty": b"", "version": bytes(bad_version)}.items():
        (tmp_path / f"{name}.mlb").write_bytes(data)
    script = """
import microlearn_mp as ml
for name in ("trunc", "flip", "empty", "version"):
    try:
        ml.load(name + ".mlb")
        print(name, "LOADED")
    except ValueError as e:
        print(name, "ValueError", e)
import array
m = ml.load(open("ok.mlb", "rb").read())
try:
    m.predict(array.array("f", [1.0, 2.0]))
except ValueError as e:
    print("nf ValueError")
try:
    m.regress(array.array("f", [1.0] * 4), array.array("f", [0.0] * 3))
except TypeError as e:
    print("regress TypeError")
"""
    (tmp_path / "ok.mlb").write_bytes(good)
    r = mp_unix.run_unix(script, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    for name in ("trunc", "flip", "empty"):
        assert f"{name} ValueError model blob: corrupt" in r.stdout
    assert "version ValueError model blob: unsupported format version" in r.stdout
    assert "nf ValueError" in r.stdout and "regress TypeError" in r.stdout
    assert "LOADED" not in r.stdout


def test_package_json_and_fallback_build(tmp_path):
    files = mp_module.build("py", tmp_path)
    assert [f.name for f in files] == ["microlearn_mp.py", "package.json"]
    import json

    pkg = json.loads((tmp_path / "package.json").read_text())
    assert pkg["urls"] == [["microlearn_mp.py", "microlearn_mp.py"]]


# --- emulated Cortex-M (bare-metal MicroPython v1.23 in QEMU) ---------------------------

_MODULES: dict[str, bytes] = {}


def _qemu_or_skip(arch):
    """The module a tree-model user deploys: `micropython build --for model.mlb` (the tree
    engine only)."""
    if arch not in _MODULES:
        try:
            with tempfile.TemporaryDirectory() as tmp:
                _MODULES[arch] = mp_module.build(arch, Path(tmp),
                                                 mp_module.family_set("trees"))[0].read_bytes()
        except mb.ToolNotFoundError as e:
            pytest.skip(f"tool missing: {arch} toolchain: {e}")
    return _MODULES[arch]


@pytest.fixture(scope="module")
def digits_rf_blob():
    X, y = load_digits(return_X_y=True)
    X = X.astype(np.float32)
    rf = RandomForestClassifier(n_estimators=10, max_depth=10, random_state=0).fit(X[:1000],
                                                                                   y[:1000])
    return rf, microlearn.convert(rf), X[1000:1020]


@pytest.mark.parametrize("variant", ["native", "fallback"])
@pytest.mark.parametrize("cpu,arch", [("m4", "armv7emsp"), ("m0", "armv6m")])
@pytest.mark.parametrize("case", ["rf_digits", "dt_breast_cancer", "rf_diabetes"])
def test_qemu_parity(cpu, arch, case, variant):
    if shutil.which("qemu-system-arm") is None:
        pytest.skip("tool missing: qemu-system-arm")
    if variant == "native":
        module_name, module = "microlearn_mp.mpy", _qemu_or_skip(arch)
    else:
        module_name, module = "microlearn_mp.py", mp_module.FALLBACK_PY.read_bytes()
    make, load = MODELS[case]
    X, y = load(return_X_y=True)
    X = X.astype(np.float32)
    est = make().fit(X, y)
    m = microlearn.convert(est)
    Xq = X[:40].copy()
    Xq[::7, 1] = np.nan
    files = {module_name: module, "model.mlb": m.to_blob(), "x.bin": Xq.tobytes()}
    r = mp_qemu.run_qemu_micropython(cpu, RUN_SCRIPT, files, collect=["out.bin"]).check()
    raw = r.files["out.bin"]
    n = len(Xq)
    cls = np.frombuffer(raw[: 4 * n], dtype=np.int32)
    out = np.frombuffer(raw[4 * n:], dtype=np.float32).reshape(n, m.n_outputs)
    if variant == "native":
        assert "ALLOC 0" in r.stdout
    assert_sklearn_parity(est, m, Xq, cls, out)
    if m.kind == "classifier":
        np.testing.assert_array_equal(out, m.predict_proba(Xq))  # same C, same float32 ops
    else:
        np.testing.assert_array_equal(out[:, 0], m.predict(Xq))


def test_qemu_budget_m4f_digits_forest(digits_rf_blob):
    """The issue's benchmark: RandomForest(10 trees, depth 10) on digits rows 0-999,
    predicting rows 1000-1019 on emulated Cortex-M4F under MicroPython v1.23: instructions
    per predict() call (deterministic, QEMU-counted), heap held by the import and by the
    loaded model."""
    if shutil.which("qemu-system-arm") is None:
        pytest.skip("tool missing: qemu-system-arm")
    rf, m, X = digits_rf_blob
    module = _qemu_or_skip("armv7emsp")
    # the fast layout (compact=False: 4-byte thresholds, 2-byte child codes): the bar
    fast = m.to_blob(compact=False)
    rom = mp_bench.run_predict(fast, X, m.n_outputs, cpu="m4", mode="rom", module=module)
    np.testing.assert_array_equal(rf.classes_[rom.predictions], rf.predict(X))
    assert rom.instructions <= 1550  # measured 1,540.6
    # the model object alone (scratch of <= 32 floats lives on the C stack of each call);
    # measured 240 B, of which 16 B is the script's new global `model`
    assert rom.heap_after_load <= 256
    # code of the complete trees module on the heap: measured 24,368 B (the specialised
    # table engines at -O2 are ~11 KB of it); issue 9's bar of 3,000 B is met by the lean
    # build (test_qemu_budget_m4f_digits_forest_lean); a guard against growth
    assert rom.heap_import <= 25_000
    f = mp_bench.run_predict(fast, X, m.n_outputs, cpu="m4", mode="file", module=module)
    # same engine either way (the few instructions of difference come from MicroPython's
    # heap layout, e.g. object addresses in its dict lookups)
    assert abs(f.instructions - rom.instructions) <= 0.01 * rom.instructions
    assert f.instructions <= 1550  # measured 1,542.9
    # load(path) reads the file into one heap block of its size: file + model object
    assert f.heap_after_load <= len(fast) + 256  # measured + 240
    # the default (compact) file: smaller, slower per node (measured 1,796; 1,870 before
    # the compact walk's one-subtract child decoding)
    small = m.to_blob()
    assert len(small) < len(fast)
    c = mp_bench.run_predict(small, X, m.n_outputs, cpu="m4", mode="rom", module=module)
    np.testing.assert_array_equal(rf.classes_[c.predictions], rf.predict(X))
    assert c.instructions <= 1820
    cf = mp_bench.run_predict(small, X, m.n_outputs, cpu="m4", mode="file", module=module)
    np.testing.assert_array_equal(rf.classes_[cf.predictions], rf.predict(X))
    # issue 9: load("model.mlb") holds at most the compact file + 256 B (measured + 240)
    assert cf.heap_after_load <= len(small) + 256


def test_qemu_budget_m0_digits_forest(digits_rf_blob):
    """The same benchmark on emulated Cortex-M0 (armv6m module, no FPU: integer-key
    comparisons): heap held by the import and by load(file), instructions per predict."""
    if shutil.which("qemu-system-arm") is None:
        pytest.skip("tool missing: qemu-system-arm")
    rf, m, X = digits_rf_blob
    module = _qemu_or_skip("armv6m")
    small = m.to_blob()
    r = mp_bench.run_predict(small, X, m.n_outputs, cpu="m0", mode="file", module=module)
    np.testing.assert_array_equal(rf.classes_[r.predictions], rf.predict(X))
    assert r.heap_after_load <= len(small) + 256  # measured + 240
    assert r.instructions <= 3800  # measured 3,766 (3,810.7 before; the fast layout: 3,536.5)
    assert r.heap_import <= 33_500  # measured 32,704 B (the lean build: 4,768 B)


def test_mip_install_from_url(native_x64, tmp_path):
    """`mip install <url>/package.json` (the unix port's mip, over loopback HTTP) installs
    the module from the folder `microlearn micropython build` writes."""
    import functools
    import http.server
    import subprocess
    import threading

    srv_dir = tmp_path / "srv"
    mp_module.build("x64", srv_dir)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(srv_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/package.json"
        lib = tmp_path / "lib"
        r = subprocess.run([str(mp_unix.unix_micropython()), "-m", "mip", "install", "--target",
                            str(lib), url], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and "Done" in r.stdout, r.stdout + r.stderr
    finally:
        server.shutdown()
    X, y = load_iris(return_X_y=True)
    microlearn.convert(DecisionTreeClassifier().fit(X, y)).save_blob(lib / "model.mlb")
    r = mp_unix.run_unix('import array, microlearn_mp as ml\n'
                    'print(ml.load("model.mlb").predict(array.array("f", [5.1, 3.5, 1.4, 0.2])))',
                    lib)
    assert r.returncode == 0 and r.stdout.strip() == "0", r.stdout + r.stderr


def test_cli_build_all_arches(tmp_path):
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "microlearn", "micropython", "build", "--arch",
                        "all", "--out", str(tmp_path)], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "py" / "microlearn_mp.py").is_file()
    for arch in mb.available_natmod_arches():
        if arch in ("x64", "armv6m", "armv7m", "armv7emsp", "armv7emdp"):
            assert (tmp_path / arch / "microlearn_mp.mpy").is_file()
            assert (tmp_path / arch / "package.json").is_file()
    assert "skipped xtensawin" in r.stderr or (tmp_path / "xtensawin").is_dir()


def test_fallback_names_what_it_cannot_run(tmp_path):
    """The pure-Python fallback reads forests only: a boosted ensemble's file is refused
    with a message saying it needs the native module (not "corrupt")."""
    from sklearn.ensemble import GradientBoostingClassifier

    X, y = load_iris(return_X_y=True)
    gb = GradientBoostingClassifier(n_estimators=3, max_depth=2, random_state=0).fit(X, y)
    (tmp_path / "gb.mlb").write_bytes(microlearn.convert(gb).to_blob())
    shutil.copy(mp_module.FALLBACK_PY, tmp_path / mp_module.FALLBACK_PY.name)
    script = """
import microlearn_mp as ml
try:
    ml.load("gb.mlb")
    print("LOADED")
except ValueError as e:
    print("ValueError", e)
"""
    r = mp_unix.run_unix(script, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ValueError model blob: boosted trees need the native module" in r.stdout


def _forest_and_boosted_blobs() -> tuple[bytes, bytes]:
    from sklearn.ensemble import GradientBoostingClassifier

    X, y = load_iris(return_X_y=True)
    rf = RandomForestClassifier(n_estimators=4, random_state=0).fit(X, y)
    gb = GradientBoostingClassifier(n_estimators=3, max_depth=2, random_state=0).fit(X, y)
    return microlearn.convert(rf).to_blob(), microlearn.convert(gb).to_blob()


def test_family_set_leaves_boosting_out_only_for_forest_files():
    """`build --for` a file of plain forests compiles without the boosted-tree engine; a
    boosted file, the default (no --for) and a --families list keep it."""
    forest, boosted = _forest_and_boosted_blobs()
    assert mp_module.family_set(for_model=forest).cflags == ("-DML_TREES_BOOSTED=0",)
    assert mp_module.family_set(for_model=boosted).cflags == ()
    assert mp_module.family_set().cflags == ()
    assert mp_module.family_set("trees").cflags == ()
    assert mp_module.family_set(for_model=forest) == mp_module.family_set("trees")


def _build_or_skip(arch: str, out: Path, fams) -> Path:
    try:
        return mp_module.build(arch, out, fams)[0]
    except mb.ToolNotFoundError as e:
        pytest.skip(f"tool missing: {arch} native module toolchain: {e}")


@pytest.mark.parametrize("arch", ["x64", "armv7emsp"])
def test_forest_only_module_is_smaller(arch, tmp_path):
    """Without the boosted engine (ML_TREES_BOOSTED=0) a trees module is >= 8 KB smaller:
    on bare-metal ports that code would sit on the heap."""
    if arch != "x64" and arch not in mb.available_natmod_arches():
        pytest.skip(f"no {arch} toolchain")
    forest, _ = _forest_and_boosted_blobs()
    lean = _build_or_skip(arch, tmp_path / "lean", mp_module.family_set(for_model=forest))
    full = _build_or_skip(arch, tmp_path / "full", mp_module.family_set("trees"))
    assert full.stat().st_size - lean.stat().st_size >= 8 * 1024, (
        lean.stat().st_size, full.stat().st_size)


@pytest.mark.parametrize("case", ["rf_digits", "rf_diabetes", "dt_breast_cancer"])
def test_forest_only_module_is_bit_identical(case, native_x64, tmp_path):
    """The module built --for a forest file (no boosted engine) gives exactly the bytes
    of the complete module, and sklearn's answers."""
    make, load = MODELS[case]
    X, y = load(return_X_y=True)
    X = X.astype(np.float32)
    est = make().fit(X, y)
    Xq = X[:100].copy()
    Xq[::7, 3] = np.nan
    lean_fams = mp_module.family_set(for_model=microlearn.convert(est).to_blob())
    assert lean_fams.cflags == ("-DML_TREES_BOOSTED=0",)
    lean = _build_or_skip("x64", tmp_path / "lean", lean_fams)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    m, cls, out, alloc = _run_module(lean, tmp_path / "a", est, Xq)
    _, cls_full, out_full, _ = _run_module(native_x64, tmp_path / "b", est, Xq)
    assert cls.tobytes() == cls_full.tobytes()
    assert out.tobytes() == out_full.tobytes()
    assert alloc == 0
    assert_sklearn_parity(est, m, Xq, cls, out)


def test_forest_only_module_refuses_boosted_file(tmp_path):
    """A module built without the boosted engine raises ValueError for a boosted file (the
    loader returns ML_ERR_UNSUPPORTED), and still loads forests."""
    forest, boosted = _forest_and_boosted_blobs()
    lean = _build_or_skip("x64", tmp_path / "lean", mp_module.family_set(for_model=forest))
    mp_unix.require_unix()
    shutil.copy(lean, tmp_path / lean.name)
    (tmp_path / "gb.mlb").write_bytes(boosted)
    (tmp_path / "rf.mlb").write_bytes(forest)
    script = """
import microlearn_mp as ml
try:
    ml.load("gb.mlb")
    print("LOADED")
except ValueError as e:
    print("ValueError", e)
print("FOREST", ml.load("rf.mlb").n_outputs())
"""
    r = mp_unix.run_unix(script, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ValueError model blob: model family or method not supported" in r.stdout
    assert "FOREST 3" in r.stdout


# --- the lean build (mp_module.build_lean, issue 9 part 3) -------------------------------
# microlearn_mp.mpy = a small engine for one forest node-table layout, the other layouts as
# microlearn_mp_trees_<layout>.mpy, and microlearn_mp_check (the fallback's loader code),
# imported for a load only.


def _wide_tree():
    """A tree over 300 features (2-byte feature indices)."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 300)).astype(np.float32)
    y = (X[:, 280] + X[:, 7] > 0).astype(int) + (X[:, 299] > 1)
    return DecisionTreeClassifier(max_depth=7, random_state=0).fit(X, y), X


def _lean_cases():
    out = {}
    for case, (make, load) in MODELS.items():
        X, y = load(return_X_y=True)
        if case == "rf_iris_strings":
            y = np.array(["setosa", "versicolor", "virginica"])[y]
        X = X.astype(np.float32)
        out[case] = (make().fit(X, y), X)
    out["dt_wide"] = _wide_tree()
    return out


@pytest.fixture(scope="module")
def lean_x64(tmp_path_factory):
    """The lean build for x64 with the engines of every layout the test models use (both
    file layouts of each), and the fitted models."""
    mp_unix.require_unix()
    cases = _lean_cases()
    layouts = set()
    for est, _ in cases.values():
        m = microlearn.convert(est)
        for compact in (True, False):
            layouts.update(mp_module.tree_layouts(m.to_blob(compact=compact))[0])
    out = tmp_path_factory.mktemp("lean_x64")
    try:
        mp_module.build_lean("x64", out, layouts=sorted(layouts))
    except mb.ToolNotFoundError as e:
        pytest.skip(f"tool missing: x64 native module toolchain: {e}")
    return out, cases


def _copy_lean(src: Path, dst: Path, skip: tuple[str, ...] = ()) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for f in src.iterdir():
        if f.suffix in (".mpy", ".py") and f.name not in skip:
            shutil.copy(f, dst / f.name)


@pytest.mark.parametrize("compact", [True, False], ids=["compact", "fast"])
@pytest.mark.parametrize("case", [*MODELS, "dt_wide"])
def test_lean_unix_parity(case, compact, lean_x64, tmp_path):
    """Every layout's lean engine gives the bytes of the host build of the same C (and
    sklearn's answers), on NaN inputs too, allocating nothing per call."""
    lean, cases = lean_x64
    est, X = cases[case]
    m = microlearn.convert(est)
    blob = m.to_blob(compact=compact)
    Xq = X[:150].copy()
    Xq[::11, 2] = np.nan
    _copy_lean(lean, tmp_path)
    (tmp_path / "model.mlb").write_bytes(blob)
    (tmp_path / "x.bin").write_bytes(np.ascontiguousarray(Xq).tobytes())
    r = mp_unix.run_unix(RUN_SCRIPT, tmp_path, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    raw = (tmp_path / "out.bin").read_bytes()
    n = len(Xq)
    cls = np.frombuffer(raw[: 4 * n], dtype=np.int32)
    out = np.frombuffer(raw[4 * n:], dtype=np.float32).reshape(n, m.n_outputs)
    assert "ALLOC 0" in r.stdout
    if m.kind == "classifier":
        np.testing.assert_array_equal(est.classes_[cls], m.predict(Xq))
        np.testing.assert_array_equal(out, m.predict_proba(Xq))
        if case != "dt_wide":
            assert_sklearn_parity(est, m, Xq, cls, out)
    else:
        np.testing.assert_array_equal(out[:, 0], m.predict(Xq))
        assert_sklearn_parity(est, m, Xq, cls, out)


LEAN_API_SCRIPT = """
import array, gc, microlearn_mp as ml
f = open("model.mlb", "rb"); data = f.read(); f.close()
x = array.array("f", [5.1, 3.5, 1.4, 0.2])
out = array.array("f", [0.0] * 3)
buf = bytearray(data)
m = ml.load(buf)                # a copy: changing buf afterwards cannot reach the model
for i in range(len(buf)):
    buf[i] = 0xFF
print("PRED", m.predict(x), ml.load(data).predict(x), ml.load(memoryview(data)).predict(x))
m.predict_proba(x, out)
print("PROBA", list(out), m.n_features(), m.n_outputs(), m.n_steps(), m.task(),
      m.is_classifier(), ml.FORMAT_VERSION, type(m).__name__)
for bad in (lambda: m.predict([1, 2, 3, 4]), lambda: m.predict(array.array("f", [1.0])),
            lambda: m.predict_proba(x, array.array("f", [0.0])),
            lambda: m.regress(x, out), lambda: ml.load(data[:40]), lambda: ml.load("nope.mlb")):
    try:
        bad()
        print("NO ERROR")
    except Exception as e:
        print("ERR", type(e).__name__, e)
import sys
print("LOADER GONE", "microlearn_mp_check" not in sys.modules)
"""


def test_lean_api_and_errors(lean_x64, tmp_path):
    """load(bytes / bytearray / memoryview / path), the model's methods and the errors of
    the full module; the loader is dropped after each load, also after a failed one."""
    lean, _ = lean_x64
    X, y = load_iris(return_X_y=True)
    est = RandomForestClassifier(n_estimators=4, random_state=0).fit(X, y)
    m = microlearn.convert(est)
    _copy_lean(lean, tmp_path)
    (tmp_path / "model.mlb").write_bytes(m.to_blob())
    r = mp_unix.run_unix(LEAN_API_SCRIPT, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    x = np.array([[5.1, 3.5, 1.4, 0.2]], dtype=np.float32)
    want = int(np.argmax(m.predict_proba(x)[0]))
    assert f"PRED {want} {want} {want}" in r.stdout
    proba = [float(v) for v in r.stdout.split("PROBA [")[1].split("]")[0].split(",")]
    np.testing.assert_array_equal(np.float32(proba), m.predict_proba(x)[0])
    assert "4 3 1 0 True 2 Model" in r.stdout
    errs = [line for line in r.stdout.splitlines() if line.startswith(("ERR", "NO ERROR"))]
    assert errs == [
        "ERR ValueError x must be array('f') of n_features values",
        "ERR ValueError x must be array('f') of n_features values",
        "ERR ValueError out must be array('f') of at least the output width",
        "ERR TypeError this model has no such method",
        "ERR ValueError model blob: corrupt, truncated or not a model",
        "ERR OSError [Errno 2] ENOENT",
    ], r.stdout
    assert "LOADER GONE True" in r.stdout


def test_lean_names_a_missing_engine(lean_x64, tmp_path):
    """A file of a layout whose engine is not installed: ValueError naming the module."""
    lean, cases = lean_x64
    est, _ = cases["rf_diabetes"]
    blob = microlearn.convert(est).to_blob(compact=False)
    (layout,), _ = mp_module.tree_layouts(blob)
    name = mp_module.tree_layout_name(*layout)
    assert layout != mp_module.DEFAULT_LAYOUT
    _copy_lean(lean, tmp_path, skip=(name + ".mpy",))
    (tmp_path / "model.mlb").write_bytes(blob)
    r = mp_unix.run_unix('import microlearn_mp as ml\ntry:\n    ml.load("model.mlb")\n'
                         'except ValueError as e:\n    print("ERR", e)\n', tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"ERR model blob: needs the module {name} (install it next to microlearn_mp)" \
        in r.stdout


def test_lean_for_a_boosted_file_brings_the_full_module(tmp_path):
    """`build_lean(for_model=<boosted file>)`: the file goes to the full trees module
    (microlearn_mp_split.py + microlearn_mp_trees.mpy), with the host's answers."""
    from sklearn.ensemble import GradientBoostingClassifier

    mp_unix.require_unix()
    X, y = load_iris(return_X_y=True)
    X = X.astype(np.float32)
    gb = GradientBoostingClassifier(n_estimators=5, max_depth=2, random_state=0).fit(X, y)
    m = microlearn.convert(gb)
    try:
        files = mp_module.build_lean("x64", tmp_path / "b", for_model=m.to_blob())
    except mb.ToolNotFoundError as e:
        pytest.skip(f"tool missing: x64 native module toolchain: {e}")
    names = {f.name for f in files}
    assert {"microlearn_mp.mpy", "microlearn_mp_split.py", "microlearn_mp_trees.mpy",
            "package.json"} <= names
    _copy_lean(tmp_path / "b", tmp_path / "run")
    (tmp_path / "run" / "model.mlb").write_bytes(m.to_blob())
    (tmp_path / "run" / "x.bin").write_bytes(X[:30].tobytes())
    r = mp_unix.run_unix(RUN_SCRIPT, tmp_path / "run", timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    raw = (tmp_path / "run" / "out.bin").read_bytes()
    cls = np.frombuffer(raw[: 4 * 30], dtype=np.int32)
    out = np.frombuffer(raw[4 * 30:], dtype=np.float32).reshape(30, 3)
    np.testing.assert_array_equal(gb.classes_[cls], m.predict(X[:30]))
    np.testing.assert_array_equal(out, m.predict_proba(X[:30]))


def test_lean_fuzz_same_as_fallback(lean_x64, tmp_path):
    """The lean build validates with the fallback's loader code: on 200 mutated files
    (tests/test_micropython_fuzz.py's corpus recipe) it rejects exactly the files the
    fallback rejects and answers like it (and the C) on the others; a bytearray changed
    after the load cannot reach the model."""
    import test_micropython_fuzz as fz

    lean, _ = lean_x64
    rng = np.random.default_rng(2026)
    seeds = fz._seeds()
    files = {f"seed{i}.mlb": s for i, s in enumerate(seeds)}
    while len(files) < 200:
        files[f"f{len(files)}.mlb"] = fz.mutate(rng, seeds[int(rng.integers(0, len(seeds)))])
    manifest = "\n".join(files).encode()
    _copy_lean(lean, tmp_path / "lean")
    for name, data in {**files, "manifest.txt": manifest}.items():
        (tmp_path / "lean" / name).write_bytes(data)
    r = mp_unix.run_unix(fz.SCRIPT, tmp_path / "lean", heap_size=fz.HEAP, timeout=300)
    assert r.returncode == 0 and "FINISHED" in r.stdout, r.stdout[-1500:] + r.stderr[-1500:]
    lean_res = {}
    for line in r.stdout.splitlines():
        if line.startswith("RESULT"):
            _, name, same, res = line.split(" ", 3)
            lean_res[name] = (same == "True", res)
    fb = fz._run("fallback", files, tmp_path / "fallback")
    assert len(lean_res) == len(files) == len(fb)
    built = {p.stem for p in lean.glob("microlearn_mp_trees_*.mpy")}
    errors = ("ValueError", "MemoryError")
    differ = []
    for name in files:
        same, res = lean_res[name]
        assert same, name
        want = fb[name][1]
        if res == want or (res in errors and want in errors):
            continue
        try:  # an accepted file of a layout whose engine the fixture did not build
            (layout,), _ = mp_module.tree_layouts(files[name])
            if mp_module.tree_layout_name(*layout) not in built and \
                    layout != mp_module.DEFAULT_LAYOUT and res == "ValueError":
                continue
        except (ValueError, IndexError, struct.error):
            pass
        differ.append((name, res[:100], want[:100]))
    assert not differ, differ[:5]
    ran = [n for n, (_, res) in lean_res.items() if res not in errors]
    assert len(ran) >= 20  # the corpus reaches the engines, not only the checks


_LEAN_BUILDS: dict[tuple, dict[str, bytes]] = {}


def _lean_files(arch: str, blob: bytes) -> dict[str, bytes]:
    """The lean build a user of this file makes (`micropython build --lean --for`)."""
    key = (arch, *mp_module.tree_layouts(blob)[0])
    if key not in _LEAN_BUILDS:
        try:
            with tempfile.TemporaryDirectory() as tmp:
                _LEAN_BUILDS[key] = {f.name: f.read_bytes() for f in mp_module.build_lean(
                    arch, tmp, for_model=blob) if f.name != "package.json"}
        except mb.ToolNotFoundError as e:
            pytest.skip(f"tool missing: {arch} toolchain: {e}")
    return _LEAN_BUILDS[key]


def lean_qemu_run(cpu: str, arch: str, blob: bytes, X: np.ndarray, mode: str, loads: int = 1):
    """mp_bench's protocol with the lean build: (predictions, instructions per predict,
    heap held by the import, heap held by `loads` loads of the file)."""
    files = {**_lean_files(arch, blob), "x.bin": np.ascontiguousarray(X).tobytes()}
    if mode == "rom":
        one, rom = f"ml.load_at({mp_bench.ROM_ADDR}, {len(blob)})", {mp_bench.ROM_ADDR: blob}
    else:
        one, rom = 'ml.load("model.mlb")', None
        files["model.mlb"] = blob
    load = "\n".join(f"model{i} = {one}" for i in range(1, loads)) + f"\nmodel = {one}"
    return mp_bench.run_script(cpu, files, "import microlearn_mp as ml", load, "model",
                               X.shape[0], X.shape[1], rom=rom)


def _lean_budget(cpu, arch, rf, m, X):
    """Figures of the issue's benchmark with the lean build (see the budget tests)."""
    res = {}
    for label, blob in (("compact", m.to_blob()), ("fast", m.to_blob(compact=False))):
        pred, ins, imported, heap1 = lean_qemu_run(cpu, arch, blob, X, "rom")
        np.testing.assert_array_equal(rf.classes_[pred], rf.predict(X))
        # a second model of the same file adds only its object: the rest of the first
        # load's heap is code (what the loader leaves: the qstrs it interned)
        _, _, _, heap2 = lean_qemu_run(cpu, arch, blob, X, "rom", loads=2)
        obj = heap2 - heap1
        pred_f, ins_f, imported_f, heap_f = lean_qemu_run(cpu, arch, blob, X, "file")
        np.testing.assert_array_equal(rf.classes_[pred_f], rf.predict(X))
        res[label] = dict(instructions=ins, instructions_file=ins_f, obj=obj,
                          code=imported + heap1 - obj, file_heap=heap_f, size=len(blob))
    return res


def test_qemu_budget_m4f_digits_forest_lean(digits_rf_blob):
    """Issue 9 part 3 on emulated Cortex-M4F (MicroPython v1.23, the issue's forest): the
    lean build holds at most 3,000 B of heap for code (import + the first load, minus the
    model object), load("model.mlb") at most the compact file + 256 B, and predict takes
    at most 1,550 instructions with either file layout (compact: the engine's Armv7E-M
    assembly walk)."""
    if shutil.which("qemu-system-arm") is None:
        pytest.skip("tool missing: qemu-system-arm")
    rf, m, X = digits_rf_blob
    r = _lean_budget("m4", "armv7emsp", rf, m, X)
    for label in ("compact", "fast"):
        assert r[label]["code"] <= 3000, r  # measured 2,832 B compact, 2,704 B fast
        assert r[label]["obj"] <= 176, r  # the model object: measured 160 B
        assert abs(r[label]["instructions_file"] - r[label]["instructions"]) <= 20, r
    assert r["compact"]["file_heap"] <= r["compact"]["size"] + 256, r  # measured + 176
    assert r["fast"]["instructions"] <= 1550, r  # measured 1,397.9
    # the compact layout (1-byte child codes and threshold indices): measured 1,541.1
    # (1,741.7 with ml_trees.h's walk in C)
    assert r["compact"]["instructions"] <= 1550, r


def test_qemu_budget_m0_digits_forest_lean(digits_rf_blob):
    """The same with the armv6m lean build on emulated Cortex-M0 (no FPU: soft-float
    helpers are linked into the engine). Achieved figures as budgets."""
    if shutil.which("qemu-system-arm") is None:
        pytest.skip("tool missing: qemu-system-arm")
    rf, m, X = digits_rf_blob
    r = _lean_budget("m0", "armv6m", rf, m, X)
    assert r["compact"]["file_heap"] <= r["compact"]["size"] + 256, r  # measured + 176
    for label in ("compact", "fast"):
        # measured 4,368 / 4,352 B (the engine has libgcc's soft-float add and multiply
        # for the leaf sums): the 3,000 B bar is met on M4F only
        assert r[label]["code"] <= 4450, r
    assert r["fast"]["instructions"] <= 3190, r  # measured 3,155 (full module: 3,531)
    assert r["compact"]["instructions"] <= 3360, r  # measured 3,326.8 (full module: 3,766)


def _adversarial_rows(est, X: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Rows of X with values on the thresholds (x == t goes left), next to them, NaN, +-inf,
    -0.0, negative and huge values."""
    rng = np.random.default_rng(seed)
    Xq = X[rng.integers(0, len(X), n)].astype(np.float32)
    trees = [e.tree_ for e in getattr(est, "estimators_", [est])]
    for i in range(n):
        t = trees[i % len(trees)]
        nodes = np.flatnonzero(t.children_left >= 0)
        for node in rng.choice(nodes, size=min(3, len(nodes)), replace=False) if len(
                nodes) else []:
            th = np.float32(t.threshold[node])
            Xq[i, t.feature[node]] = (th, np.nextafter(th, np.float32(np.inf)),
                                      np.nextafter(th, np.float32(-np.inf)))[i % 3]
    special = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, -1e30, 1e30, -3.5],
                       dtype=np.float32)
    mask = rng.random(Xq.shape) < 0.15
    Xq[mask] = special[rng.integers(0, len(special), int(mask.sum()))]
    Xq[0] = np.nan
    Xq[1] = -0.0
    return Xq


def _asm_walk_cases():
    rng = np.random.default_rng(5)
    X, y = load_iris(return_X_y=True)
    Xn = X.astype(np.float32)
    Xn[rng.random(Xn.shape) < 0.1] = np.nan  # trained with NaN: NaN routes left or right
    nan_rf = RandomForestClassifier(n_estimators=8, max_depth=6, random_state=0).fit(Xn, y)
    Xw = rng.normal(size=(600, 20)).astype(np.float32)  # > 256 thresholds: float32 table
    yw = (Xw[:, 0] + Xw[:, 3] * Xw[:, 5] > 0).astype(int) + (Xw[:, 7] > 0.5)
    wide_rf = RandomForestClassifier(n_estimators=6, max_depth=9, random_state=0).fit(Xw, yw)
    Xs = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]], dtype=np.float32)
    tiny = RandomForestClassifier(n_estimators=12, random_state=1).fit(Xs, [0, 1, 1])
    dt, Xd = _wide_tree()  # 300 features: 2-byte feature indices
    Xc = rng.normal(size=(800, 6)).astype(np.float32)  # 40 classes: sums in the object
    yc = np.digitize(Xc[:, 0] + 0.5 * Xc[:, 1], np.linspace(-2.5, 2.5, 39))
    many = RandomForestClassifier(n_estimators=4, max_depth=8, random_state=0).fit(Xc, yc)
    return {"rf_iris_nan": (nan_rf, Xn), "rf_float_thresholds": (wide_rf, Xw),
            "rf_one_leaf_trees": (tiny, np.tile(Xs, (20, 1))), "dt_300_features": (dt, Xd),
            "rf_40_classes": (many, Xc)}


@pytest.mark.parametrize("case", ["rf_iris_nan", "rf_float_thresholds", "rf_one_leaf_trees",
                                  "dt_300_features", "rf_40_classes"])
def test_qemu_lean_m4f_walk_adversarial(case):
    """The lean engine's Armv7E-M walk (assembly, Cortex-M4F) answers as the host C on
    every compact layout the cases cover (1- and 2-byte features, threshold indices or
    float32 thresholds, trees that are one leaf, impure leaves) for inputs on and next to
    the thresholds, NaN (routed by the file's NaN bits), +-inf, -0.0 and extreme values."""
    if shutil.which("qemu-system-arm") is None:
        pytest.skip("tool missing: qemu-system-arm")
    est, X = _asm_walk_cases()[case]
    m = microlearn.convert(est)
    blob = m.to_blob()
    (layout,), _ = mp_module.tree_layouts(blob)
    assert layout[1] == 0  # compact child codes
    Xq = _adversarial_rows(est, X, 60, seed=len(case))
    pred, _, _, _ = lean_qemu_run("m4", "armv7emsp", blob, Xq, "file")
    np.testing.assert_array_equal(est.classes_[pred], m.predict(Xq))
    if case == "rf_one_leaf_trees":
        assert any(e.tree_.node_count == 1 for e in est.estimators_)
    if case == "rf_40_classes":
        assert m.n_outputs == 40
    if case == "rf_iris_nan":
        assert np.isnan(Xq).any(axis=1).sum() >= 5


@pytest.mark.parametrize("case", ["rf_diabetes", "rf_iris_nan"])
def test_qemu_lean_m4f_walk_sums(case):
    """predict_proba / regress of the lean engine on Cortex-M4F (the assembly walk, every
    leaf of a regressor an impure row summed in C) give the host C's float32 bytes, with
    the adversarial inputs."""
    if shutil.which("qemu-system-arm") is None:
        pytest.skip("tool missing: qemu-system-arm")
    if case == "rf_diabetes":
        X, y = load_diabetes(return_X_y=True)
        X = X.astype(np.float32)
        est = RandomForestRegressor(n_estimators=5, max_depth=6, random_state=0).fit(X, y)
    else:
        est, X = _asm_walk_cases()[case]
    m = microlearn.convert(est)
    blob = m.to_blob()
    Xq = _adversarial_rows(est, X, 40, seed=7)
    files = {**_lean_files("armv7emsp", blob), "model.mlb": blob, "x.bin": Xq.tobytes()}
    r = mp_qemu.run_qemu_micropython("m4", RUN_SCRIPT, files, collect=("out.bin",),
                                     timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    raw = r.files["out.bin"]
    n = len(Xq)
    out = np.frombuffer(raw[4 * n:], dtype=np.float32).reshape(n, m.n_outputs)
    if m.kind == "classifier":
        cls = np.frombuffer(raw[: 4 * n], dtype=np.int32)
        np.testing.assert_array_equal(est.classes_[cls], m.predict(Xq))
        np.testing.assert_array_equal(out, m.predict_proba(Xq))
    else:
        np.testing.assert_array_equal(out[:, 0], m.predict(Xq))
