"""microlearn_mp (native .mpy and pure-Python fallback) in the unix MicroPython port and
in QEMU: every device-side result is compared with scikit-learn (classes equal,
probabilities / regression outputs within the float32 tolerance of tests/parity.py) and
with the host build of the same C; no allocation in predict; corrupt blobs.

Skips only when a tool is genuinely missing (ToolNotFoundError, no qemu-system-arm): a
module that fails to build is a failure."""

from __future__ import annotations

import shutil
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
    # code of the native module on the heap: measured 24,368 B (the specialised table
    # engines at -O2 are ~11 KB of it). Issue 9's bar of 3,000 B is NOT met yet: a guard
    # against growth until the lean module lands
    assert rom.heap_import <= 25_000
    f = mp_bench.run_predict(fast, X, m.n_outputs, cpu="m4", mode="file", module=module)
    # same engine either way (the few instructions of difference come from MicroPython's
    # heap layout, e.g. object addresses in its dict lookups)
    assert abs(f.instructions - rom.instructions) <= 0.01 * rom.instructions
    assert f.instructions <= 1550  # measured 1,542.9
    # load(path) reads the file into one heap block of its size: file + model object
    assert f.heap_after_load <= len(fast) + 256  # measured + 240
    # the default (compact) file: smaller, slower per node (measured 1,870.1)
    small = m.to_blob()
    assert len(small) < len(fast)
    c = mp_bench.run_predict(small, X, m.n_outputs, cpu="m4", mode="rom", module=module)
    np.testing.assert_array_equal(rf.classes_[c.predictions], rf.predict(X))
    assert c.instructions <= 1900
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
    assert r.instructions <= 3900  # measured 3,810.7 (the fast layout: 3,536.5)
    assert r.heap_import <= 33_500  # measured 32,704 B; issue 9's 3,000 B bar not met yet


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
