"""The viper engine of microlearn_mp (issue 14): tree ensembles in MicroPython viper code
compiled by mpy-cross, no C toolchain (the default for xtensawin: ESP32, -S2, -S3).

The same engine compiled for x64 runs in the unix port and for armv7emsp / armv6m on
emulated Cortex-M4F / M0 (MicroPython v1.23 in QEMU). Every result is compared bit for bit
with the C engine (the host build of the C runtime, which the C module's own tests show
equal to the C module), and with scikit-learn; no heap allocation per call; corrupt files
get the C module's answers (a fuzz corpus run through both); the xtensawin build's .mpy
header names the xtensawin architecture.

Skips only when a tool is genuinely missing (no unix MicroPython, no qemu-system-arm).
"""

from __future__ import annotations

import functools
import json
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
import test_micropython_fuzz as fuzz
import test_micropython_module as tmm
from sklearn.datasets import load_digits, load_iris
from sklearn.ensemble import (
    GradientBoostingClassifier,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from support import mp_bench, mp_qemu, mp_unix
from test_blob import _v1

import microlearn
from microlearn import blob, cli
from microlearn import micropython_build as mb
from microlearn.families.trees import section as trees_section

_BUILT: dict[str, Path] = {}


def viper(arch: str, tmp_factory) -> Path:
    """microlearn_mp.mpy with the viper engine for ``arch`` (built once per session)."""
    if arch not in _BUILT:
        _BUILT[arch] = mb.build_viper(arch, tmp_factory.mktemp(f"viper-{arch}"))[0]
    return _BUILT[arch]


@pytest.fixture(scope="module")
def viper_x64(tmp_path_factory):
    mp_unix.require_unix()
    return viper("x64", tmp_path_factory)


MANY_SCRIPT = """
import array, gc, microlearn_mp as ml


def infer(model, x, out, cls, i):  # heap bytes allocated by the model calls alone
    gc.collect()
    a0 = gc.mem_alloc()
    if model.is_classifier():
        cls[i] = model.predict(x)
        model.predict_proba(x, out)
    else:
        model.regress(x, out)
    return gc.mem_alloc() - a0


k = 0
while True:
    try:
        f = open("x%d.bin" % k, "rb")
    except OSError:
        break
    data = f.read()
    f.close()
    model = ml.load("model%d.mlb" % k)
    nf = model.n_features()
    no = model.n_outputs()
    n = len(data) // (4 * nf)
    x = array.array("f", bytes(4 * nf))
    out = array.array("f", bytes(4 * no))
    cls = array.array("i", bytes(4 * n))
    res = bytearray()
    infer(model, x, out, cls, 0)  # warm-up: the first call of a method may fill a cache
    alloc = 0
    for i in range(n):
        x[:] = array.array("f", data[i * 4 * nf:(i + 1) * 4 * nf])
        alloc = max(alloc, infer(model, x, out, cls, i))
        res += bytes(out)
    f = open("out%d.bin" % k, "wb")
    f.write(bytes(cls))
    f.write(res)
    f.close()
    print("ALLOC", k, alloc)
    model = None
    k += 1
"""


def _run_unix(module: Path, tmp: Path, items, heap_size: int | None = None) -> list:
    """Each (model file, rows, n_outputs) of ``items`` through ``module`` in one unix-port
    process: predict + predict_proba (classifiers) or regress of every row, and the heap
    the calls allocate. Returns (classes, outputs, max allocation) per item."""
    tmp.mkdir(parents=True, exist_ok=True)
    for stale in tmp.glob("*.bin"):
        stale.unlink()
    shutil.copy(module, tmp / "microlearn_mp.mpy")
    for k, (data, X, _) in enumerate(items):
        (tmp / f"model{k}.mlb").write_bytes(data)
        (tmp / f"x{k}.bin").write_bytes(np.ascontiguousarray(X, dtype=np.float32).tobytes())
    r = mp_unix.run_unix(MANY_SCRIPT, tmp, timeout=300, heap_size=heap_size)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr
    allocs = {int(k): int(v) for k, v in
              (ln.split()[1:] for ln in r.stdout.splitlines() if ln.startswith("ALLOC"))}
    res = []
    for k, (_, X, n_out) in enumerate(items):
        raw = (tmp / f"out{k}.bin").read_bytes()
        n = len(X)
        res.append((np.frombuffer(raw[: 4 * n], dtype=np.int32),
                    np.frombuffer(raw[4 * n:], dtype=np.float32).reshape(n, n_out), allocs[k]))
    return res


def _assert_same_as_c(m, X, cls, out) -> None:
    """Bit for bit the C engine's answers (host build of the same C runtime)."""
    X = np.asarray(X, dtype=np.float32)
    if m.kind == "classifier":
        np.testing.assert_array_equal(out.view(np.uint32),
                                      m.predict_proba(X).astype(np.float32).view(np.uint32))
        # predict: the first maximum of the sum of the leaf rows, as the C engine
        np.testing.assert_array_equal(np.asarray(m.classes_)[cls], m.predict(X))
    else:
        ref = np.asarray(m.predict(X), dtype=np.float32).reshape(out.shape)
        np.testing.assert_array_equal(out.view(np.uint32), ref.view(np.uint32))


def _adversarial(X: np.ndarray, m, rng: np.random.Generator, n: int) -> np.ndarray:
    """Rows at and around the model's thresholds (x == t goes left, the float32 neighbours
    of t), NaN, +-inf, +-0.0, subnormals and huge values."""
    X = np.asarray(X, dtype=np.float32)
    rows = X[rng.integers(0, len(X), n)].copy()
    ir = m.ir
    for i in range(n):
        for _ in range(4):
            node = int(rng.integers(0, max(1, ir.n_nodes)))
            if ir.n_nodes:
                t = np.float32(ir.threshold[node])
                f = int(ir.feature[node])
                rows[i, f] = rng.choice([t, np.nextafter(t, np.float32(np.inf)),
                                         np.nextafter(t, np.float32(-np.inf))])
        j = int(rng.integers(0, X.shape[1]))
        rows[i, j] = rng.choice(np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-45, -1e-45,
                                          3e38, -3e38, -np.nan], dtype=np.float32))
    return rows


# ---- the build ----------------------------------------------------------------------------


def test_xtensawin_build_names_the_arch(tmp_path):
    """`micropython build --arch xtensawin` (ESP32) gives the viper engine compiled by
    mpy-cross: an .mpy v6.3 whose header names xtensawin, and the mip package.json."""
    assert cli.main(["micropython", "build", "--arch", "xtensawin", "--out", str(tmp_path)]) == 0
    head = (tmp_path / "microlearn_mp.mpy").read_bytes()[:4]
    assert head[0:2] == b"M\x06"  # .mpy version 6
    assert head[2] & 3 == 3  # sub-version 3 (MicroPython 1.23+)
    assert head[2] >> 2 == 10  # MP_NATIVE_ARCH_XTENSAWIN
    assert mb.mpy_arch(head) == "xtensawin"
    pkg = json.loads((tmp_path / "package.json").read_text())
    assert pkg["urls"] == [["microlearn_mp.mpy", "microlearn_mp.mpy"]]


def test_engine_viper_builds_every_arch(tmp_path, capsys):
    """--engine viper builds the same engine for every arch mpy-cross v6.3 emits; rv32imc
    and a non-tree --families give one-line errors (exit 2)."""
    for arch in mb.VIPER_ARCHES:
        mpy = mb.build_viper(arch, tmp_path / arch)[0]
        assert mb.mpy_arch(mpy.read_bytes()[:4]) == arch
    for args, msg in ((["--arch", "rv32imc", "--engine", "viper"], "no RISC-V native emitter"),
                      (["--arch", "xtensawin", "--families", "trees,linear"],
                       "tree ensembles (forests, decision trees, boosted")):
        capsys.readouterr()
        assert cli.main(["micropython", "build", *args, "--out", str(tmp_path / "e")]) == 2
        err = capsys.readouterr().err
        assert msg in err and len(err.strip().splitlines()) == 1, err


# ---- the unix port (x64) ------------------------------------------------------------------


@pytest.mark.parametrize("case", list(tmm.MODELS))
def test_unix_parity(case, viper_x64, tmp_path):
    """Every model of the MicroPython suite: bit for bit the C engine, sklearn's answers,
    no allocation in predict / predict_proba / regress."""
    make, load = tmm.MODELS[case]
    X, y = load(return_X_y=True)
    if case == "rf_iris_strings":
        y = np.array(["setosa", "versicolor", "virginica"])[y]
    X = X.astype(np.float32)
    est = make().fit(X, y)
    m = microlearn.convert(est)
    Xq = X[:150].copy()
    Xq[::11, 2] = np.nan
    items = [(m.to_blob(compact=c), Xq, m.n_outputs) for c in (True, False)]
    for cls, out, alloc in _run_unix(viper_x64, tmp_path, items):
        tmm.assert_sklearn_parity(est, m, Xq, cls, out)
        _assert_same_as_c(m, Xq, cls, out)
        assert alloc == 0


def _without_nan_routing(data: bytes) -> bytes:
    """The same file with has_nan_left = 0 and no nan_left table (CRC-32 fixed)."""
    import zlib

    b = bytearray(data)
    at = blob.read(data)[0]["offset"]
    b[at + 30] = 0
    struct.pack_into("<I", b, at + 52, 0)
    struct.pack_into("<I", b, 12, zlib.crc32(bytes(b[16:])) & 0xFFFFFFFF)
    return bytes(b)


def _layout(data: bytes) -> tuple:
    sec = blob.read(data)[0]
    h = trees_section.read_header(data[sec["offset"]:sec["offset"] + sec["size"]])
    return (h["feature_bytes"], h["child_bytes"], h["threshold_kind"], h["nnz"] > 0,
            h["has_nan_left"])


def test_unix_every_table_layout(viper_x64, tmp_path, monkeypatch):
    """Feature indices of 1, 2 and 4 bytes, child codes compact / 1 / 2 / 4 bytes, per-node
    and indexed thresholds, dense and sparse leaf rows, with and without NaN routing,
    version-1 files; adversarial rows (at and next to thresholds, NaN, infinities, signed
    zeros, subnormals): bit for bit the C engine (the host build; the C module for the file
    without NaN routing)."""
    from microlearn.families.trees import c as trees_c

    rng = np.random.default_rng(0)
    Xi, yi = load_iris(return_X_y=True)
    Xn = Xi.copy()
    Xn[::3, 1] = np.nan  # trained with missing values: NaN routing in the file
    Xw = rng.normal(size=(400, 300)).astype(np.float32)  # > 255 features: 2-byte indices
    yw = (Xw[:, 7] + Xw[:, 280] > 0).astype(int)
    cases = [
        (DecisionTreeClassifier(random_state=0), Xn, yi),
        (RandomForestClassifier(n_estimators=3, random_state=0), Xn, yi),
        (RandomForestClassifier(n_estimators=4, max_depth=6, random_state=0), Xw, yw),
        (RandomForestClassifier(n_estimators=5, max_depth=8, random_state=0),
         *load_digits(return_X_y=True)),  # few distinct thresholds: the indexed table
        (DecisionTreeRegressor(max_depth=8, random_state=0), Xw, Xw[:, 3] * 100),
    ]
    seen = set()
    items, models = [], []
    for est, X, y in cases:
        est.fit(X, y)
        m = microlearn.convert(est)
        Xq = _adversarial(X, m, rng, 60)
        files = [m.to_blob(compact=True), m.to_blob(compact=False)]
        files.append(_v1(files[1]))
        # the widths a writer picks for larger models (the loaders read any): the same
        # tables written with 4-byte feature indices and 4-byte child codes, and mixed
        for fb, cb in ((4, 4), (2, 4), (4, 2)):
            monkeypatch.setattr(trees_c, "feature_bytes", lambda ir, fb=fb: fb)
            monkeypatch.setattr(trees_c, "child_bytes", lambda ir, cb=cb: cb)
            files.append(m.to_blob(compact=False))
            monkeypatch.undo()
        seen.update(_layout(data) for data in files if data[4] == 2)
        items += [(data, Xq, m.n_outputs) for data in files]
        models += [m] * len(files)
    for m, (_, Xq, _), (cls, out, alloc) in zip(models, items,
                                                _run_unix(viper_x64, tmp_path, items),
                                                strict=True):
        _assert_same_as_c(m, Xq, cls, out)
        assert alloc == 0
    # a file without the NaN-routing bitset (NaN goes right at every node)
    data = _without_nan_routing(items[4][0])
    seen.add(_layout(data))
    Xq, n_out = items[4][1], items[4][2]
    [(cls, out, alloc)] = _run_unix(viper_x64, tmp_path / "v", [(data, Xq, n_out)])
    [(cls_c, ref, _)] = _run_unix(mp_unix.native_x64(), tmp_path / "c", [(data, Xq, n_out)])
    assert out.tobytes() == ref.tobytes() and cls.tobytes() == cls_c.tobytes() and alloc == 0
    assert {s[0] for s in seen} == {1, 2, 4}  # feature bytes
    assert {s[1] for s in seen} == {0, 1, 2, 4}  # child codes
    assert {s[2] for s in seen} == {0, 1}  # thresholds per node / indexed
    assert {s[3] for s in seen} == {False, True}  # dense / sparse leaf rows
    assert {s[4] for s in seen} == {0, 1}  # NaN routing


def test_unix_float32_sums_bit_exact(viper_x64, tmp_path):
    """The leaf sums and the mean are float32 arithmetic done in integers: leaf values of
    both signs over 80 orders of magnitude, subnormals, cancellation; 40 trees, 3 outputs."""
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, size=(600, 5)).astype(np.float32)
    mag = 10.0 ** rng.uniform(-44, 36, size=(600, 3))
    y = np.where(rng.random((600, 3)) < 0.5, -mag, mag)
    y[::17] = 0.0
    est = RandomForestRegressor(n_estimators=40, max_depth=7, random_state=0).fit(X, y)
    m = microlearn.convert(est)
    Xq = _adversarial(X, m, rng, 200)
    [(cls, out, alloc)] = _run_unix(viper_x64, tmp_path, [(m.to_blob(), Xq, m.n_outputs)])
    _assert_same_as_c(m, Xq, cls, out)
    assert alloc == 0


ERRORS_SCRIPT = """
import array, microlearn_mp as ml
for name in ("trunc", "flip", "empty", "version", "boosted", "median"):
    try:
        ml.load(name + ".mlb")
        print(name, "LOADED")
    except ValueError as e:
        print(name, "ValueError", e)
m = ml.load(open("ok.mlb", "rb").read())
x = array.array("f", [5.1, 3.5, 1.4, 0.2])
out = array.array("f", [0.0] * 3)
for what, f in (("short x", lambda: m.predict(array.array("f", [1.0, 2.0]))),
                ("int x", lambda: m.predict(array.array("i", [1, 2, 3, 4]))),
                ("list x", lambda: m.predict([5.1, 3.5, 1.4, 0.2])),
                ("none x", lambda: m.predict(None)),
                ("small out", lambda: m.predict_proba(x, array.array("f", [0.0] * 2))),
                ("int out", lambda: m.predict_proba(x, array.array("i", [0] * 3))),
                ("regress", lambda: m.regress(x, out))):
    try:
        f()
        print(what, "OK")
    except (ValueError, TypeError) as e:
        print(what, type(e).__name__)
print("CLASS", m.predict(x))
"""


def _errors(module: Path, tmp: Path) -> str:
    X, y = load_iris(return_X_y=True)
    good = microlearn.convert(DecisionTreeClassifier(random_state=0).fit(X, y)).to_blob()
    gb = GradientBoostingClassifier(n_estimators=3, max_depth=2, random_state=0).fit(X, y)
    from sklearn.ensemble import AdaBoostRegressor

    ada = AdaBoostRegressor(n_estimators=3, random_state=0).fit(X, y)
    bad_version = bytearray(good)
    bad_version[4] = 9
    tmp.mkdir(parents=True, exist_ok=True)
    for name, data in {"trunc": good[:50], "flip": good[:-1] + bytes([good[-1] ^ 1]),
                       "empty": b"", "version": bytes(bad_version), "ok": good,
                       "boosted": microlearn.convert(gb).to_blob(),
                       "median": microlearn.convert(ada).to_blob()}.items():
        (tmp / f"{name}.mlb").write_bytes(data)
    for stale in ("microlearn_mp.py", "microlearn_mp.mpy"):
        (tmp / stale).unlink(missing_ok=True)
    shutil.copy(module, tmp / module.name)
    r = mp_unix.run_unix(ERRORS_SCRIPT, tmp)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def test_unix_errors_like_the_c_module(viper_x64, tmp_path):
    """Corrupt files and wrong arguments: the C module's exceptions and messages; a boosted
    ensemble and a weighted-median one (AdaBoostRegressor) load."""
    ours = _errors(viper_x64, tmp_path / "viper")
    theirs = _errors(mp_unix.native_x64(), tmp_path / "c")
    for name in ("trunc", "flip", "empty"):
        assert f"{name} ValueError model blob: corrupt" in ours
    assert "version ValueError model blob: unsupported format version" in ours
    assert "boosted LOADED" in ours and "median LOADED" in ours
    assert ours.splitlines() == theirs.splitlines()


def test_unix_fuzz_same_answers_as_the_c_module(viper_x64, tmp_path):
    """tests/test_micropython_fuzz.py's mutated files (120; heap 64 KB), loaded from bytes
    and from a bytearray overwritten after the load: never a crash; the viper engine and the
    C module accept the same files (MemoryError aside) and give the same answers."""
    rng = np.random.default_rng(12345)
    seeds = fuzz._seeds()
    files = {f"seed{i}.mlb": s for i, s in enumerate(seeds)}
    while len(files) < 120:
        files[f"f{len(files)}.mlb"] = fuzz.mutate(rng, seeds[int(rng.integers(0, len(seeds)))])

    def run(module: Path, where: Path) -> dict[str, tuple[bool, str]]:
        where.mkdir()
        shutil.copy(module, where / module.name)
        for name, data in {**files, "manifest.txt": "\n".join(files).encode()}.items():
            (where / name).write_bytes(data)
        r = mp_unix.run_unix(fuzz.SCRIPT, where, timeout=300, heap_size=fuzz.HEAP)
        assert r.returncode == 0 and "FINISHED" in r.stdout, r.stdout[-2000:] + r.stderr
        res = {}
        for line in r.stdout.splitlines():
            if line.startswith("RESULT"):
                _, name, same, out = line.split(" ", 3)
                res[name] = (same == "True", out)
        assert len(res) == len(files)
        return res

    ours = run(viper_x64, tmp_path / "viper")
    theirs = run(mp_unix.native_x64(), tmp_path / "c")
    assert all(same for same, _ in ours.values())  # the caller's buffer is never read again
    ran = [n for n, (_, r) in ours.items() if r not in ("ValueError", "MemoryError")]
    assert len(ran) >= 10
    differ = [n for n in files if "MemoryError" not in (ours[n][1], theirs[n][1])
              and ours[n][1] != theirs[n][1]]
    assert not differ, [(n, ours[n][1][:100], theirs[n][1][:100]) for n in differ[:5]]


def test_unix_engine_without_object_layout(tmp_path, tmp_path_factory):
    """Where id() gives no usable address (the engine then checks the arrays in Python and
    passes them as buffers): the same answers and errors."""
    mp_unix.require_unix()
    src = mb.viper_source().read_text()
    assert "\n_W = _probe()\n" in src
    from microlearn import mp_module

    build = tmp_path / "src"
    build.mkdir()
    (build / "microlearn_mp.py").write_text(mp_module.FALLBACK_PY.read_text() + "\n\n"
                                            + src.replace("\n_W = _probe()\n", "\n_W = 0\n"))
    mpy = build / "microlearn_mp.mpy"
    subprocess.run([str(mb.mpy_cross()), "-march=x64", "-o", str(mpy), "microlearn_mp.py"],
                   cwd=build, check=True)
    X, y = load_digits(return_X_y=True)
    X = X.astype(np.float32)
    est = RandomForestClassifier(n_estimators=5, max_depth=8, random_state=0).fit(X, y)
    m = microlearn.convert(est)
    [(cls, out, alloc)] = _run_unix(mpy, tmp_path / "run", [(m.to_blob(), X[:100], m.n_outputs)])
    assert alloc == 0
    _assert_same_as_c(m, X[:100], cls, out)
    ours = _errors(mpy, tmp_path / "err")
    assert ours == _errors(viper("x64", tmp_path_factory), tmp_path / "err2")
    # boosted ensembles: every method, the answers of the engine that reads the objects
    rng = np.random.default_rng(2)
    items = []
    for name, est, Xb in _boosted_models():
        if name in ("gb_iris", "hgb_cat_reg", "iso"):
            mb_ = microlearn.convert(est)
            items.append((mb_.to_blob(), _boost_rows(mb_, Xb, rng)[::4]))
    a = _run_boost(mpy, tmp_path / "b0", items)
    b = _run_boost(viper("x64", tmp_path_factory), tmp_path / "b1", items)
    assert [(r["methods"], r["out"]) for r in a] == [(r["methods"], r["out"]) for r in b]


# ---- emulated Cortex-M4F / M0 (MicroPython v1.23 in QEMU) --------------------------------


def _qemu_or_skip():
    if shutil.which("qemu-system-arm") is None:
        pytest.skip("tool missing: qemu-system-arm")


@pytest.mark.parametrize("case", list(tmm.MODELS))
@pytest.mark.parametrize("cpu,arch", [("m4", "armv7emsp"), ("m0", "armv6m")])
def test_qemu_parity(cpu, arch, case, tmp_path_factory):
    """The engine compiled for armv7emsp / armv6m on emulated M4F / M0, for every model of
    the MicroPython suite: bit for bit the C engine, no allocation per call."""
    _qemu_or_skip()
    module = viper(arch, tmp_path_factory).read_bytes()
    make, load = tmm.MODELS[case]
    X, y = load(return_X_y=True)
    X = X.astype(np.float32)
    est = make().fit(X, y)
    m = microlearn.convert(est)
    Xq = X[:40].copy()
    Xq[::7, 1] = np.nan
    files = {"microlearn_mp.mpy": module, "model.mlb": m.to_blob(), "x.bin": Xq.tobytes()}
    r = mp_qemu.run_qemu_micropython(cpu, tmm.RUN_SCRIPT, files, collect=["out.bin"]).check()
    raw = r.files["out.bin"]
    n = len(Xq)
    cls = np.frombuffer(raw[: 4 * n], dtype=np.int32)
    out = np.frombuffer(raw[4 * n:], dtype=np.float32).reshape(n, m.n_outputs)
    assert "ALLOC 0" in r.stdout
    tmm.assert_sklearn_parity(est, m, Xq, cls, out)
    _assert_same_as_c(m, Xq, cls, out)


def test_qemu_budget_m4f_digits_forest(tmp_path_factory):
    """Issue 14's bar, benchmarks/RESULTS_micropython.md's protocol (digits forest, 10
    trees of depth 10, rows 1000-1019, emulated Cortex-M4F, MicroPython v1.23): at most
    15,000 instructions per predict() (pure Python: 144,101; everywhereml native: 39,701),
    every answer sklearn's; the same engine on Cortex-M0."""
    _qemu_or_skip()
    X, y = load_digits(return_X_y=True)
    X = X.astype(np.float32)
    rf = RandomForestClassifier(n_estimators=10, max_depth=10, random_state=0).fit(X[:1000],
                                                                                   y[:1000])
    m = microlearn.convert(rf)
    Xt = X[1000:1020]
    fast = m.to_blob(compact=False)
    r = mp_bench.run_predict(fast, Xt, m.n_outputs, cpu="m4", mode="file",
                             module=viper("armv7emsp", tmp_path_factory).read_bytes())
    np.testing.assert_array_equal(rf.classes_[r.predictions], rf.predict(Xt))
    assert r.instructions <= 15_000  # measured 13,399
    # the node records (16 B per node) + leaf tables: about 1.7x the file
    assert r.heap_after_load <= 2 * len(fast)
    r0 = mp_bench.run_predict(m.to_blob(), Xt, m.n_outputs, cpu="m0", mode="file",
                              module=viper("armv6m", tmp_path_factory).read_bytes())
    np.testing.assert_array_equal(rf.classes_[r0.predictions], rf.predict(Xt))
    assert r0.instructions <= 16_500  # measured 14,870 (the fast file)


# ---- boosted ensembles (section layout 2) -------------------------------------------------

BOOST_SCRIPT = """
import array, gc, microlearn_mp as ml

METHODS = ("predict_proba", "regress", "decision_function", "score_samples")


def alloc_of(f, *args):  # heap bytes allocated by the call alone
    gc.collect()
    a0 = gc.mem_alloc()
    f(*args)
    return gc.mem_alloc() - a0


def pred(model, x, cls, i):
    gc.collect()
    a0 = gc.mem_alloc()
    cls[i] = model.predict(x)
    return gc.mem_alloc() - a0


k = 0
while True:
    try:
        f = open("x%d.bin" % k, "rb")
    except OSError:
        break
    data = f.read()
    f.close()
    model = ml.load("model%d.mlb" % k)
    nf = model.n_features()
    no = model.n_outputs()
    n = len(data) // (4 * nf)
    x = array.array("f", bytes(4 * nf))
    out = array.array("f", bytes(4 * no))
    cls = array.array("i", bytes(4 * n))
    meths = []
    for name in METHODS:
        try:
            getattr(model, name)(x, out)
            meths.append(name)
        except TypeError:
            pass
    try:
        model.predict(x)
        has_predict = True
    except TypeError:
        has_predict = False
    print("METHODS", k, " ".join(meths), has_predict)
    res = bytearray()
    alloc = {}
    for i in range(n):
        x[:] = array.array("f", data[i * 4 * nf:(i + 1) * 4 * nf])
        if has_predict:
            alloc["predict"] = max(alloc.get("predict", 0), pred(model, x, cls, i))
        for name in meths:
            for j in range(no):
                out[j] = 0.0
            a = alloc_of(getattr(model, name), x, out)
            alloc[name] = max(alloc.get(name, 0), a)
            res += bytes(out)
    f = open("out%d.bin" % k, "wb")
    f.write(bytes(cls))
    f.write(res)
    f.close()
    print("ALLOC", k, " ".join("%s=%d" % kv for kv in sorted(alloc.items())))
    model = None
    k += 1
"""


def _run_boost(module: Path, tmp: Path, items) -> list[dict]:
    """Every method of each (model file, rows) of ``items`` through ``module`` in one
    unix-port process: the outputs' bytes and the heap each method allocates per call."""
    tmp.mkdir(parents=True, exist_ok=True)
    shutil.copy(module, tmp / module.name)
    for k, (data, X) in enumerate(items):
        (tmp / f"model{k}.mlb").write_bytes(data)
        (tmp / f"x{k}.bin").write_bytes(np.ascontiguousarray(X, dtype=np.float32).tobytes())
    r = mp_unix.run_unix(BOOST_SCRIPT, tmp, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr
    res = [{} for _ in items]
    for ln in r.stdout.splitlines():
        if ln.startswith("METHODS"):
            parts = ln.split()
            res[int(parts[1])]["methods"] = parts[2:]
        elif ln.startswith("ALLOC"):
            parts = ln.split()
            res[int(parts[1])]["alloc"] = dict((kv.split("=")[0], int(kv.split("=")[1]))
                                               for kv in parts[2:])
    for k in range(len(items)):
        res[k]["out"] = (tmp / f"out{k}.bin").read_bytes()
    return res


@functools.cache
def _boosted_models() -> list:
    """(name, fitted estimator, X): every boosted kind the C module runs from a file."""
    from sklearn.datasets import load_breast_cancer, load_diabetes
    from sklearn.ensemble import (
        AdaBoostClassifier,
        AdaBoostRegressor,
        GradientBoostingRegressor,
        HistGradientBoostingClassifier,
        HistGradientBoostingRegressor,
        IsolationForest,
    )

    rng = np.random.default_rng(3)
    Xi, yi = load_iris(return_X_y=True)
    Xb, yb = load_breast_cancer(return_X_y=True)
    Xd, yd = load_diabetes(return_X_y=True)
    Xn = Xb.copy()
    Xn[rng.random(Xn.shape) < 0.1] = np.nan  # trained with missing values: NaN routing
    # categorical columns (HistGradientBoosting's bitsets): 0 with 12 categories, 3 with 40
    Xc = rng.normal(size=(500, 5))
    Xc[:, 0] = rng.integers(0, 12, 500)
    Xc[:, 3] = rng.integers(0, 40, 500)
    Xc[rng.random(500) < 0.1, 0] = np.nan
    yc = ((Xc[:, 0] % 3 == 0) ^ (Xc[:, 3] > 20) ^ (Xc[:, 1] > 0.5)).astype(int)
    yr = np.where(Xc[:, 0] % 4 == 1, 3.0, -1.0) * Xc[:, 2] + (Xc[:, 3] % 5)
    cat = [True, False, False, True, False]
    ms = [
        ("gb_binary", GradientBoostingClassifier(n_estimators=20, max_depth=3,
                                                  random_state=0).fit(Xb, yb), Xb),
        ("gb_iris", GradientBoostingClassifier(n_estimators=15, max_depth=2,
                                                random_state=0).fit(Xi, yi), Xi),
        ("gb_reg", GradientBoostingRegressor(n_estimators=25, max_depth=3,
                                             random_state=0).fit(Xd, yd), Xd),
        ("hgb_nan", HistGradientBoostingClassifier(max_iter=15, random_state=0).fit(Xn, yb),
         Xn),
        ("hgb_iris", HistGradientBoostingClassifier(max_iter=10, random_state=0).fit(Xi, yi),
         Xi),
        ("hgb_cat", HistGradientBoostingClassifier(max_iter=15, categorical_features=cat,
                                                   random_state=0).fit(Xc, yc), Xc),
        ("hgb_cat_reg", HistGradientBoostingRegressor(max_iter=15, categorical_features=cat,
                                                      random_state=0).fit(Xc, yr), Xc),
        ("ada", AdaBoostClassifier(n_estimators=10, random_state=0).fit(Xi, yi), Xi),
        ("iso", IsolationForest(n_estimators=15, random_state=0).fit(Xb), Xb),
        ("ada_reg", AdaBoostRegressor(n_estimators=30, random_state=0).fit(Xd, yd), Xd),
    ]
    import lightgbm
    import xgboost

    Xz = np.where(rng.random(Xb.shape) < 0.1, -1.0, Xb)  # -1: XGBoost's missing value
    Xl = Xc.copy()
    Xl[:, 3] = np.where(Xl[:, 3] == 7, -2.0, Xl[:, 3])  # a negative category
    ms += [
        ("xgb_missing", xgboost.XGBClassifier(n_estimators=8, max_depth=3, missing=-1.0).fit(
            Xz, yb), Xz),
        ("lgbm_cat", lightgbm.LGBMClassifier(n_estimators=10, num_leaves=8, verbose=-1,
                                             min_data_per_group=5, cat_smooth=1).fit(
            Xl, yc, categorical_feature=[0, 3]), Xl),
        ("xgb_iris", xgboost.XGBClassifier(n_estimators=8, max_depth=3).fit(Xi, yi), Xi),
        ("xgb_reg_nan", xgboost.XGBRegressor(n_estimators=10, max_depth=3).fit(
            Xn[:, :8], Xb[:, 8]), Xn[:, :8]),
        ("lgbm_binary", lightgbm.LGBMClassifier(n_estimators=10, num_leaves=8,
                                                verbose=-1).fit(Xn, yb), Xn),
        ("lgbm_poisson", lightgbm.LGBMRegressor(n_estimators=10, num_leaves=8,
                                                objective="poisson", verbose=-1).fit(Xd, yd),
         Xd),
    ]
    return ms


def _boost_rows(m, X, rng) -> np.ndarray:
    """Real rows, then adversarial ones (at / next to thresholds, NaN, infinities, signed
    zeros, subnormals, huge values, non-integer / negative / out-of-range categories)."""
    X = np.asarray(X, dtype=np.float32)
    adv = _adversarial(X, m, rng, 40)
    odd = np.array([-1.0, -0.5, 0.5, 2.5, 1e9, 4e9, 63.0, 64.0, 31.0, 32.0, 33.0, -0.0,
                    11.0, 12.0, 39.0, 40.0, 2.0 ** 31, -(2.0 ** 31)], dtype=np.float32)
    cats = X[rng.integers(0, len(X), 40)].copy()
    for i in range(len(cats)):
        cats[i, rng.integers(0, X.shape[1], 2)] = rng.choice(odd, 2)
    return np.vstack([X[:60], adv, cats])


def _with_threshold(data: bytes, thr: float) -> bytes:
    """The boosted file with its decision threshold replaced (CRC-32 fixed)."""
    import zlib

    b = bytearray(data)
    sec = blob.read(data)[0]
    at = sec["offset"] + trees_section.read_header(data[sec["offset"]:])["o_ext"]
    struct.pack_into("<f", b, at + 20, thr)
    struct.pack_into("<I", b, 12, zlib.crc32(bytes(b[16:])) & 0xFFFFFFFF)
    return bytes(b)


def test_unix_boosted_same_as_the_c_module(viper_x64, tmp_path):
    """Boosted ensembles (GradientBoosting, HistGradientBoosting with missing values and
    categorical bitsets, AdaBoost, IsolationForest, XGBoost, LightGBM): every method of the
    C module (predict, predict_proba, regress, decision_function, score_samples) bit for
    bit the same on real and adversarial rows; predict, and regress / decision_function of
    the raw scores (no exp), allocate nothing."""
    rng = np.random.default_rng(7)
    items, names = [], []
    for name, est, X in _boosted_models():
        m = microlearn.convert(est)
        Xq = _boost_rows(m, X, rng)
        for compact in (True, False):
            items.append((m.to_blob(compact=compact), Xq))
            names.append(f"{name}/{compact}")
    # exact ties: the decision threshold set to the raw score of some rows (class 1 iff
    # raw >= threshold for GradientBoosting, raw > threshold for LightGBM)
    for name, est, X in _boosted_models():
        if name in ("gb_binary", "lgbm_binary"):
            m = microlearn.convert(est)
            Xq = np.asarray(X[:40], dtype=np.float32)
            raw = np.asarray(m.decision_function(Xq), dtype=np.float32).ravel()
            for thr in raw[:3]:
                items.append((_with_threshold(m.to_blob(), float(thr)), Xq))
                names.append(f"{name}/tie{thr}")
    ours = _run_boost(viper_x64, tmp_path / "viper", items)
    theirs = _run_boost(mp_unix.native_x64(), tmp_path / "c", items)
    for name, a, b in zip(names, ours, theirs, strict=True):
        assert a["methods"] == b["methods"], name
        assert a["out"] == b["out"], name
        assert a["alloc"].get("predict", 0) == 0, (name, a["alloc"])


def _patched(data: bytes, key: str, values: np.ndarray, header: bool = True) -> bytes:
    """The file with the float32 table at ``key`` (a header field, or a boosted-block field
    with header=False) overwritten by ``values`` (CRC-32 fixed)."""
    import zlib

    b = bytearray(data)
    sec = blob.read(data)[0]
    payload = data[sec["offset"]:sec["offset"] + sec["size"]]
    fields = trees_section.read_header(payload) if header else trees_section.read_ext(payload)
    at = sec["offset"] + fields[key]
    raw = np.asarray(values, dtype=np.float32).tobytes()
    b[at:at + len(raw)] = raw
    struct.pack_into("<I", b, 12, zlib.crc32(bytes(b[16:])) & 0xFFFFFFFF)
    return bytes(b)


def test_unix_weighted_median_same_as_the_c_module(viper_x64, tmp_path):
    """AdaBoostRegressor (the weighted median of the trees' values, ml_trees_weighted_median):
    bit for bit the C module and the host C engine on real and adversarial rows, with the
    file's weights (ties of equal leaf values across trees: shallow trees on few targets)
    and with edited tree weights (all zero, -0.0, subnormal, FLT_MAX: a total that
    overflows, 80 orders of magnitude) and leaf values (NaN, signalling NaN, +-inf, -0.0);
    regress allocates nothing."""
    from sklearn.datasets import load_diabetes
    from sklearn.ensemble import AdaBoostRegressor

    rng = np.random.default_rng(11)
    Xd, yd = load_diabetes(return_X_y=True)
    Xi, yi = load_iris(return_X_y=True)
    ests = [(AdaBoostRegressor(n_estimators=40, random_state=0).fit(Xd, yd), Xd),
            (AdaBoostRegressor(DecisionTreeRegressor(max_depth=2), n_estimators=25,
                               loss="square", random_state=1).fit(Xi, yi), Xi),
            (AdaBoostRegressor(n_estimators=1, random_state=0).fit(Xi, yi), Xi)]
    items, refs = [], []
    for est, X in ests:
        m = microlearn.convert(est)
        Xq = np.vstack([np.asarray(X[:60], dtype=np.float32), _adversarial(X, m, rng, 40)])
        for compact in (True, False):
            items.append((m.to_blob(compact=compact), Xq))
            refs.append(np.asarray(m.predict(Xq), dtype=np.float32))
        nt = len(est.estimators_)
        data = m.to_blob()
        payload = data[blob.read(data)[0]["offset"]:]
        nleaf = trees_section.read_header(payload)["n_leaf_rows"]
        mag = (10.0 ** rng.uniform(-44, 38, nt)).astype(np.float32)
        for w in (np.zeros(nt), np.where(np.arange(nt) % 2, -0.0, 0.0),
                  np.full(nt, 1e-45), np.full(nt, 3.4028235e38), mag,
                  np.where(rng.random(nt) < 0.5, 0.0, mag)):
            items.append((_patched(data, "o_tree_weights", w, header=False), Xq))
            refs.append(None)
        leaves = np.frombuffer(payload[trees_section.read_header(payload)["o_leaves"]:],
                               dtype=np.float32, count=nleaf).copy()
        odd = np.array([np.nan, -0.0, np.inf, -np.inf, 0.0], dtype=np.float32)
        odd = np.append(odd, np.frombuffer(struct.pack("<I", 0x7F800001), dtype=np.float32))
        leaves[rng.random(nleaf) < 0.3] = rng.choice(odd, 1)[0]
        items.append((_patched(data, "o_leaves", leaves), Xq))
        refs.append(None)
        items.append((_patched(data, "o_leaves", np.where(rng.random(nleaf) < 0.5,
                                                          rng.choice(odd, nleaf), leaves)),
                      Xq))
        refs.append(None)
        # zero weights (half of the total is 0) and NaN values, the first tree's included
        nan_leaves = np.where(rng.random(nleaf) < 0.5, np.float32(np.nan), leaves)
        items.append((_patched(_patched(data, "o_leaves", nan_leaves), "o_tree_weights",
                               np.zeros(nt), header=False), Xq))
        refs.append(None)
    ours = _run_boost(viper_x64, tmp_path / "viper", items)
    theirs = _run_boost(mp_unix.native_x64(), tmp_path / "c", items)
    for k, (a, b, ref) in enumerate(zip(ours, theirs, refs, strict=True)):
        assert a["methods"] == b["methods"] == ["regress", "False"], k  # no predict
        assert a["out"] == b["out"], k
        assert a["alloc"]["regress"] == 0, (k, a["alloc"])
        if ref is not None:
            n = len(items[k][1])
            assert a["out"][4 * n:] == ref.tobytes(), k


def test_unix_signalling_nan_leaves_like_the_c_module(viper_x64, tmp_path):
    """Leaf values and base scores that are signalling NaNs (a crafted file: 0.0 + sNaN is a
    quiet NaN in the C engine): every method's output bytes equal the C module's, for a
    forest regressor, a forest classifier with sparse leaf rows, a decision tree regressor
    (no mean: the sum is the output), a GradientBoosting regressor (its base score too) and
    an AdaBoostRegressor."""
    rng = np.random.default_rng(21)
    snan = np.frombuffer(struct.pack("<3I", 0x7F800001, 0xFF800001, 0x7FA00005),
                         dtype=np.float32)
    Xi, yi = load_iris(return_X_y=True)
    Xi = Xi.astype(np.float32)
    Xg, yg = load_digits(return_X_y=True)  # 10 classes: sparse leaf rows
    Xg = Xg.astype(np.float32)
    boosted = {n: (e, X) for n, e, X in _boosted_models()}
    ests = [(RandomForestRegressor(n_estimators=4, max_depth=4, random_state=0).fit(
        Xi, Xi[:, 0] * 3), Xi),
        (RandomForestClassifier(n_estimators=5, max_depth=8, random_state=0).fit(Xg, yg), Xg),
        (DecisionTreeRegressor(max_depth=4, random_state=0).fit(Xi, Xi[:, 0] * 3), Xi),
        boosted["gb_reg"], boosted["ada_reg"]]
    items, sparse = [], 0
    for est, X in ests:
        m = microlearn.convert(est)
        Xq = np.asarray(X[:40], dtype=np.float32)
        for data in (m.to_blob(compact=True), m.to_blob(compact=False)):
            payload = data[blob.read(data)[0]["offset"]:]
            h = trees_section.read_header(payload)
            sparse += h["nnz"] > 0
            n = h["nnz"] or h["n_leaf_rows"] * (h["n_outputs"] if h["layout"] != 2 else 1)
            leaves = np.frombuffer(payload[h["o_leaves"]:], dtype=np.float32, count=n).copy()
            leaves[rng.random(n) < 0.4] = rng.choice(snan)
            patched = _patched(data, "o_leaves", leaves)
            items.append((patched, Xq))
            if h["layout"] == 2 and trees_section.read_ext(payload)["post"] != 8:
                items.append((_patched(patched, "o_base", snan[:1], header=False), Xq))
    ours = _run_boost(viper_x64, tmp_path / "viper", items)
    theirs = _run_boost(mp_unix.native_x64(), tmp_path / "c", items)
    assert sparse and len(items) == 12
    for k, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        assert a["methods"] == b["methods"], k
        assert a["out"] == b["out"], k


BOOST_FUZZ_RUN = """
def run(m):
    nf, no = m.n_features(), m.n_outputs()
    if nf > 4096 or no > 4096:
        return "big"
    out = array.array("f", bytes(4 * no))
    res = []
    for v in PROBES:
        x = array.array("f", [v] * nf)
        for name in ("predict", "predict_proba", "regress", "decision_function",
                     "score_samples"):
            try:
                if name == "predict":
                    res.append(str(m.predict(x)))
                else:
                    getattr(m, name)(x, out)
                    res.append(",".join(str(o) for o in out))
            except TypeError:
                res.append("-")
    return ";".join(res)
"""


def test_unix_fuzz_boosted_same_answers_as_the_c_module(viper_x64, tmp_path):
    """Mutated boosted files (96: test_micropython_fuzz.py's mutations, and interesting
    values over the boosted block and the category tables): never a crash; the viper
    engine and the C module accept the same files and give the same answers from every
    method."""
    from microlearn.families.trees import section as ts

    rng = np.random.default_rng(99)
    seeds = []
    for name, est, _ in _boosted_models():
        if name in ("gb_iris", "hgb_cat", "iso", "xgb_missing", "lgbm_cat", "gb_reg",
                    "ada_reg"):
            m = microlearn.convert(est)
            seeds += [m.to_blob(compact=True), m.to_blob(compact=False)]
    files = {f"seed{i}.mlb": s for i, s in enumerate(seeds)}
    while len(files) < 96:
        seed = seeds[int(rng.integers(0, len(seeds)))]
        if rng.random() < 0.5:
            data = fuzz.mutate(rng, seed)
        else:  # a u32 of the boosted block or of a table it points to
            b = bytearray(seed)
            at = blob.read(seed)[0]["offset"]
            sec = seed[at:]
            ext = ts.read_header(sec)["o_ext"]
            e = ts.read_ext(sec)
            spots = [ext + 4 * int(rng.integers(0, 16))]
            for key in ("o_cat_offset", "o_cat_bits", "o_tree_output", "o_base",
                        "o_tree_weights"):
                if e[key]:
                    spots.append(e[key] + 4 * int(rng.integers(0, 4)))
            i = at + int(rng.choice(spots))
            struct.pack_into("<I", b, min(i, len(b) - 4),
                             int(rng.choice([0, 1, 2, 3, 7, 8, 9, 0xFF, 0xFFFF, 0x7FFFFFFF,
                                             0x80000000, 0xFFFFFFFF, 0x7FC00000, 0x7F800000,
                                             0x3F800000, 0xBF800000])))
            data = fuzz._fix(b)
        files[f"f{len(files)}.mlb"] = data

    script = fuzz.SCRIPT.split("def run(m):")[0] + BOOST_FUZZ_RUN + \
        "\n\ndef attempt(fn):" + fuzz.SCRIPT.split("def attempt(fn):")[1]

    def run(module: Path, where: Path) -> dict[str, tuple[bool, str]]:
        where.mkdir()
        shutil.copy(module, where / module.name)
        for name, data in {**files, "manifest.txt": "\n".join(files).encode()}.items():
            (where / name).write_bytes(data)
        r = mp_unix.run_unix(script, where, timeout=300, heap_size=1 << 20)
        assert r.returncode == 0 and "FINISHED" in r.stdout, r.stdout[-2000:] + r.stderr
        res = {}
        for line in r.stdout.splitlines():
            if line.startswith("RESULT"):
                _, name, same, out = line.split(" ", 3)
                res[name] = (same == "True", out)
        assert len(res) == len(files)
        return res

    ours = run(viper_x64, tmp_path / "viper")
    theirs = run(mp_unix.native_x64(), tmp_path / "c")
    # the caller's buffer is never read again
    assert all(same for same, _ in ours.values()), [(n, r[:200]) for n, (same, r)
                                                    in ours.items() if not same][:3]
    ran = [n for n, (_, r) in ours.items() if r not in ("ValueError", "MemoryError")]
    assert len(ran) >= 20
    differ = [n for n in files if "MemoryError" not in (ours[n][1], theirs[n][1])
              and ours[n][1] != theirs[n][1]]
    assert not differ, [(n, ours[n][1][:100], theirs[n][1][:100]) for n in differ[:5]]


@pytest.mark.parametrize("name", ["hgb_cat", "gb_reg", "ada_reg"])
def test_qemu_boosted_m4f(name, tmp_path_factory):
    """Boosted ensembles on emulated Cortex-M4F (armv7emsp, single-precision floats): a
    HistGradientBoosting classifier with categorical bitsets and missing values (predict,
    and predict_proba through the float32 sigmoid), a GradientBoosting regressor (raw
    scores) and an AdaBoostRegressor (weighted median), on real and adversarial rows: bit
    for bit the C engine; the regressors allocate nothing."""
    _qemu_or_skip()
    est, X = next((e, X) for n, e, X in _boosted_models() if n == name)
    m = microlearn.convert(est)
    Xq = _boost_rows(m, X, np.random.default_rng(5))[::3]
    files = {"microlearn_mp.mpy": viper("armv7emsp", tmp_path_factory).read_bytes(),
             "model.mlb": m.to_blob(), "x.bin": Xq.tobytes()}
    r = mp_qemu.run_qemu_micropython("m4", tmm.RUN_SCRIPT, files, collect=["out.bin"]).check()
    raw = r.files["out.bin"]
    n = len(Xq)
    cls = np.frombuffer(raw[: 4 * n], dtype=np.int32)
    out = np.frombuffer(raw[4 * n:], dtype=np.float32).reshape(n, m.n_outputs)
    _assert_same_as_c(m, Xq, cls, out)
    if m.kind == "regressor":
        assert "ALLOC 0" in r.stdout


def test_qemu_weighted_median_m0(tmp_path_factory):
    """AdaBoostRegressor on emulated Cortex-M0 (armv6m: no FPU, the port's floats are
    soft-float float32, the half-total of the weights is computed by them at load): regress
    bit for bit the C engine on real and adversarial rows, no allocation."""
    _qemu_or_skip()
    est, X = next((e, X) for n, e, X in _boosted_models() if n == "ada_reg")
    m = microlearn.convert(est)
    Xq = _boost_rows(m, X, np.random.default_rng(6))[::4]
    files = {"microlearn_mp.mpy": viper("armv6m", tmp_path_factory).read_bytes(),
             "model.mlb": m.to_blob(), "x.bin": Xq.tobytes()}
    r = mp_qemu.run_qemu_micropython("m0", tmm.RUN_SCRIPT, files, collect=["out.bin"]).check()
    raw = r.files["out.bin"]
    n = len(Xq)
    out = np.frombuffer(raw[4 * n:], dtype=np.float32).reshape(n, m.n_outputs)
    _assert_same_as_c(m, Xq, np.zeros(n, dtype=np.int32), out)
    assert "ALLOC 0" in r.stdout


def test_build_for_boosted_file(tmp_path, capsys):
    """`micropython build --engine viper --for FILE`: boosted and weighted-median
    (AdaBoostRegressor) files build; another family's file (a logistic regression: the
    C module only) is a one-line error (exit 2)."""
    from sklearn.ensemble import AdaBoostRegressor
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True)
    gb = GradientBoostingClassifier(n_estimators=3, max_depth=2, random_state=0).fit(X, y)
    ada = AdaBoostRegressor(n_estimators=3, random_state=0).fit(X, y)
    lr = LogisticRegression(max_iter=500).fit(X, y)
    for name, est in (("gb", gb), ("ada", ada), ("lr", lr)):
        (tmp_path / f"{name}.mlb").write_bytes(microlearn.convert(est).to_blob())
    assert mb.viper_runs_file(tmp_path / "gb.mlb") and mb.viper_runs_file(tmp_path / "ada.mlb")
    assert not mb.viper_runs_file(tmp_path / "lr.mlb")
    base = ["micropython", "build", "--arch", "x64", "--engine", "viper"]
    for name in ("gb", "ada"):
        assert cli.main([*base, "--for", str(tmp_path / f"{name}.mlb"), "--out",
                         str(tmp_path / name)]) == 0
        assert (tmp_path / name / "microlearn_mp.mpy").is_file()
    capsys.readouterr()
    assert cli.main([*base, "--for", str(tmp_path / "lr.mlb"), "--out",
                     str(tmp_path / "e")]) == 2
    err = capsys.readouterr().err
    assert "--engine viper runs tree ensembles" in err and len(err.strip().splitlines()) == 1
