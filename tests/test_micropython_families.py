"""Every family except trees (tested in test_micropython_module.py) in the
``microlearn_mp`` native module: the engines use ml_math.h instead of libm, so they link
into MicroPython v1.23 native modules on every arch, Armv6-M included (no libgcc
float/double division).

Per family one model runs in the unix MicroPython port (x64 native module built with just
the model's families): classes equal scikit-learn's, continuous outputs within the
family's certified tolerance, and every output bit-identical to the host build of the same
C (``Model.predict_proba`` etc.). A Pipeline StandardScaler + PCA + LogisticRegression
runs in the unix port and on emulated Cortex-M4F (armv7emsp) and Cortex-M0 (armv6m).

Skips only when a tool is genuinely missing (no unix MicroPython, no toolchain, no QEMU).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_iris, load_wine
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.mixture import GaussianMixture
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import Normalizer, StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier
from support import mp_unix

import microlearn
from microlearn import micropython_build as mb
from microlearn import mp_module
from microlearn.families.linear.ir import decision_bounds as linear_bounds
from microlearn.families.mixture.convert import row_tolerances as mixture_tolerances
from microlearn.families.naive_bayes.convert import proba_atol
from microlearn.families.neighbors.convert import (
    ambiguous_rows,
    output_bounds,
    sklearn_noise,
    storage_residual,
)
from microlearn.families.preprocessing.convert import tolerance as preprocessing_tolerance
from microlearn.families.svm.convert import proba_tolerance as svm_proba_tolerance

U = 2.0 ** -24

# Device side: load the model, run the listed methods on every row (each row an
# array('f')), write each method's outputs (predict: int32, others: float32) to <m>.bin.
SCRIPT = """
import array, microlearn_mp as ml
model = ml.load("model.mlb")
nf = model.n_features()
f = open("x.bin", "rb"); data = f.read(); f.close()
n = len(data) // (4 * nf)
methods = {methods!r}
res = {{}}
for name, width in methods:
    res[name] = bytearray()
for i in range(n):
    x = array.array("f", data[i * 4 * nf:(i + 1) * 4 * nf])
    for name, width in methods:
        if name == "predict":
            res[name] += bytes(array.array("i", [model.predict(x)]))
        else:
            out = array.array("f", bytes(4 * width))
            getattr(model, name)(x, out)
            res[name] += bytes(out)
for name, width in methods:
    f = open(name + ".bin", "wb"); f.write(res[name]); f.close()
print("DONE", n)
"""


def _methods(m: microlearn.Model, X: np.ndarray) -> dict[str, np.ndarray]:
    """Host-C outputs of every method the model has (predict: class / component index)."""
    out = {}
    for name in ("predict", "predict_proba", "decision_function", "score_samples",
                 "transform", "regress"):
        if name == "regress":
            if m.kind == "regressor":
                out[name] = np.asarray(m.predict(X), dtype=np.float32).reshape(len(X), -1)
            continue
        if not hasattr(m, name):
            continue
        if name == "predict" and m.kind not in ("classifier", "clusterer", "outlier_detector"):
            continue
        out[name] = np.asarray(getattr(m, name)(X))
    return out


def _device_outputs(host: dict[str, np.ndarray], read) -> dict[str, np.ndarray]:
    dev = {}
    for name, ref in host.items():
        raw = read(f"{name}.bin")
        if name == "predict":
            dev[name] = np.frombuffer(raw, dtype=np.int32)
        else:
            dev[name] = np.frombuffer(raw, dtype=np.float32).reshape(ref.shape[0], -1)
    return dev


def _script_for(host: dict[str, np.ndarray]) -> str:
    methods = [(k, 1 if v.ndim == 1 else int(v.shape[1])) for k, v in host.items()]
    return SCRIPT.format(methods=methods)


def _class_index(m: microlearn.Model, est, pred: np.ndarray) -> np.ndarray:
    """Host predictions (labels) -> class indices, as the device's predict returns them."""
    classes = getattr(est, "classes_", None)
    if classes is None:
        return np.asarray(pred, dtype=np.int64)
    return np.searchsorted(classes, pred)


def _run_unix(m: microlearn.Model, X: np.ndarray, tmp: Path):
    mp_unix.require_unix()  # skips when the unix port is not installed
    blob = m.to_blob()
    fams = mp_module.family_set(for_model=blob)
    try:
        module = mp_module.build("x64", tmp / "mod", fams)[0]
    except mb.ToolNotFoundError as e:
        pytest.skip(f"tool missing: x64 native module toolchain: {e}")
    shutil.copy(module, tmp / module.name)
    (tmp / "model.mlb").write_bytes(blob)
    X = np.ascontiguousarray(X, dtype=np.float32)
    (tmp / "x.bin").write_bytes(X.tobytes())
    host = _methods(m, X)
    r = mp_unix.run_unix(_script_for(host), tmp, timeout=600)
    assert r.returncode == 0 and "DONE" in r.stdout, r.stdout + r.stderr
    return host, _device_outputs(host, lambda name: (tmp / name).read_bytes())


def _assert_bit_identical(host: dict, dev: dict, m: microlearn.Model, est) -> None:
    for name, ref in host.items():
        if name == "predict":
            np.testing.assert_array_equal(dev[name], _class_index(m, est, ref))
        else:
            got = dev[name].reshape(ref.shape)
            np.testing.assert_array_equal(got.view(np.uint32), ref.astype(np.float32)
                                          .view(np.uint32), err_msg=name)


# --- one model per family -----------------------------------------------------------------


def _iris():
    X, y = load_iris(return_X_y=True)
    return X.astype(np.float32), y


def case_linear():
    X, y = _iris()
    est = LogisticRegression(max_iter=1000).fit(X, y)

    def tolerances(m, X):
        E = float(linear_bounds(m.steps[0].ir, X).max())
        k = len(est.classes_)
        return {"predict_proba": 2 * E * (1 + 2 * E) + (k + 5) * U,  # docs/families/linear.md
                "decision_function": E}
    return est, X, tolerances


def case_svm():
    X, y = _iris()
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    X = X.astype(np.float32)
    est = SVC(kernel="rbf", probability=True, random_state=0).fit(X, y)

    def tolerances(m, X):
        tol, near = svm_proba_tolerance(m.steps[0].ir, X)
        return {"predict_proba": (tol, near)}
    return est, X, tolerances


def case_naive_bayes():
    X, y = load_wine(return_X_y=True)
    est = GaussianNB().fit(X, y)  # float64 fit: float64 parameters, exact mode
    return est, X.astype(np.float32), lambda m, X: {"predict_proba": proba_atol(3)}


def case_mixture():
    X, _ = _iris()
    est = GaussianMixture(n_components=3, covariance_type="full", random_state=0).fit(X)

    def tolerances(m, X):
        t = mixture_tolerances(m.steps[0].ir, X)
        return {"predict_proba": t["predict_proba"][:, None],
                "score_samples": t["score_samples"]}
    return est, X, tolerances


def case_preprocessing():
    X, _ = load_breast_cancer(return_X_y=True)
    X = X.astype(np.float32)
    est = Normalizer(norm="l2").fit(X)  # ml_sqrtf and ml_divf
    return est, X, lambda m, X: {"transform": preprocessing_tolerance(m.steps[0].ir, X)}


def case_neighbors():
    X, y = _iris()
    # distance weights: ml_sqrtf, ml_reciprocalf and ml_divf (predict_proba)
    est = KNeighborsClassifier(n_neighbors=5, weights="distance").fit(X[::2], y[::2])

    def tolerances(m, X):
        ir = m.steps[0].ir
        r = storage_residual(ir, est._fit_X)
        # rows where scikit-learn's neighbour set is its arbitrary choice among tied
        # points (iris has duplicates): no tolerance applies there
        amb = ambiguous_rows(ir, X, r, sklearn_noise(est))
        clear = X[~amb]
        tol = np.full(len(X), output_bounds(ir, clear, r)["predict_proba"])
        return {"predict_proba": (tol, amb)}
    return est, X, tolerances


CASES = {"linear": case_linear, "svm": case_svm, "naive_bayes": case_naive_bayes,
         "mixture": case_mixture, "preprocessing": case_preprocessing,
         "neighbors": case_neighbors}


def _sk(est, name: str, X: np.ndarray) -> np.ndarray:
    return np.asarray(getattr(est, name)(X), dtype=np.float64)


@pytest.mark.parametrize("family", list(CASES))
def test_unix_port_family(family, tmp_path):
    est, X, tolerances = CASES[family]()
    m = microlearn.convert(est)
    assert [s.family.name for s in m.steps] == [family]
    host, dev = _run_unix(m, X, tmp_path)
    _assert_bit_identical(host, dev, m, est)
    tols = tolerances(m, X)
    skip = next((t[1] for t in tols.values() if isinstance(t, tuple)), None)
    if "predict" in dev and hasattr(est, "classes_"):
        same = est.classes_[dev["predict"]] == est.predict(X)
        if family == "neighbors":  # may differ only where sklearn's tie choice decides
            assert np.all(same | skip), np.flatnonzero(~same & ~skip)
        else:
            assert np.all(same), np.flatnonzero(~same)
    elif "predict" in dev:
        np.testing.assert_array_equal(dev["predict"], est.predict(X))
    assert tols
    for name, tol in tols.items():
        got = dev[name].reshape(host[name].shape).astype(np.float64)
        ref = _sk(est, name, X).reshape(got.shape)
        err = np.abs(got - ref)
        if isinstance(tol, tuple):  # (per-row tolerance, rows where it does not apply)
            tol, skip = tol
            assert (~skip).mean() > 0.9
            err, tol = err[~skip], np.asarray(tol)[~skip]
            tol = tol[:, None] if err.ndim == 2 else tol
        assert np.all(err <= tol), (family, name, float(err.max()), np.max(tol))


# --- boosted tree ensembles (post transforms through ml_math.h) ---------------------------


def _boosted_cases():
    from sklearn.ensemble import (
        GradientBoostingClassifier,
        HistGradientBoostingRegressor,
        IsolationForest,
    )
    X, y = _iris()
    Xb, _ = load_breast_cancer(return_X_y=True)
    rng = np.random.default_rng(0)
    Xc = np.c_[rng.integers(0, 6, 300), rng.normal(size=300)].astype(np.float32)
    Xc[::9, 1] = np.nan
    yc = np.exp(0.3 * Xc[:, 0] + np.nan_to_num(Xc[:, 1]))
    Xct = Xc.copy()
    Xct[::7, 0] = 9.0  # unknown category: missing
    return {
        "gb_softmax": (GradientBoostingClassifier(n_estimators=10, random_state=0).fit(X, y), X),
        "hgb_categorical_poisson": (HistGradientBoostingRegressor(
            loss="poisson", max_iter=10, categorical_features=[0]).fit(Xc, yc), Xct),
        "isolation_forest": (IsolationForest(n_estimators=10, random_state=0).fit(Xb),
                             Xb.astype(np.float32)),
    }


@pytest.mark.parametrize("case", ["gb_softmax", "hgb_categorical_poisson", "isolation_forest"])
def test_unix_port_boosted_trees(case, tmp_path):
    from microlearn.families.trees.ir import tolerances as trees_tolerances
    est, X = _boosted_cases()[case]
    m = microlearn.convert(est)
    host, dev = _run_unix(m, X, tmp_path)
    _assert_bit_identical(host, dev, m, est)
    if "predict" in dev and hasattr(est, "classes_"):
        np.testing.assert_array_equal(est.classes_[dev["predict"]], est.predict(X))
    elif "predict" in dev:
        np.testing.assert_array_equal(dev["predict"], est.predict(X))
    for name, tol in trees_tolerances(m.steps[0].ir, X).items():
        key = "regress" if name == "predict" else name
        got = dev[key].reshape(host[key].shape).astype(np.float64)
        err = np.abs(got - _sk(est, name, X).reshape(got.shape))
        assert np.all(err <= tol), (case, name, float(err.max()), tol)


# --- a pipeline: unix port and emulated Cortex-M4F / Cortex-M0 ---------------------------


def _pipeline():
    X, y = load_wine(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), PCA(n_components=6, random_state=0),
                         LogisticRegression(max_iter=1000)).fit(X[::2], y[::2])
    return pipe, X.astype(np.float32)


def _pipeline_proba_tolerance(pipe, m: microlearn.Model, X: np.ndarray) -> float:
    """|C predict_proba - scikit-learn's|: the scaler is bit-identical (exact tables), PCA
    within its tolerance T (preprocessing convert.tolerance on the scaler's float32
    outputs), the logistic regression's decision values within its certified bound E on
    the C's PCA outputs plus |W| T; then the softmax bound 2E'(1 + 2E') + (k + 5) u of
    docs/families/linear.md."""
    scaled = microlearn.convert(pipe[:1]).transform(X)
    pca_tol = preprocessing_tolerance(m.steps[1].ir, scaled)
    Z = microlearn.convert(pipe[:2]).transform(X)
    lr_ir = m.steps[2].ir
    E = linear_bounds(lr_ir, Z) + pca_tol @ np.abs(pipe[-1].coef_).T
    E = float(E.max())
    k = len(pipe.classes_)
    return 2 * E * (1 + 2 * E) + (k + 5) * U


def test_unix_port_pipeline(tmp_path):
    pipe, X = _pipeline()
    m = microlearn.convert(pipe)
    assert [s.family.name for s in m.steps] == ["preprocessing", "preprocessing", "linear"]
    host, dev = _run_unix(m, X, tmp_path)
    _assert_bit_identical(host, dev, m, pipe)
    np.testing.assert_array_equal(pipe.classes_[dev["predict"]], pipe.predict(X))
    tol = _pipeline_proba_tolerance(pipe, m, X)
    err = np.abs(dev["predict_proba"].astype(np.float64) - pipe.predict_proba(X))
    assert err.max() <= tol, (err.max(), tol)


@pytest.mark.parametrize("cpu,arch", [("m4", "armv7emsp"), ("m0", "armv6m")])
def test_qemu_pipeline(cpu, arch):
    if shutil.which("qemu-system-arm") is None:
        pytest.skip("tool missing: qemu-system-arm")
    from support import mp_bench, mp_qemu
    pipe, X = _pipeline()
    Xq = np.ascontiguousarray(X[:24])
    m = microlearn.convert(pipe)
    blob = m.to_blob()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            module = mp_module.build(arch, Path(tmp), mp_module.family_set(for_model=blob))[0]
        except mb.ToolNotFoundError as e:
            pytest.skip(f"tool missing: {arch} toolchain: {e}")
        module = module.read_bytes()
    # predict only, with the benchmark harness
    run = mp_bench.run_predict(blob, Xq, m.n_outputs, cpu=cpu, mode="file", module=module)
    np.testing.assert_array_equal(pipe.classes_[run.predictions], pipe.predict(Xq))
    # predict and predict_proba: bit-identical to the host C, within the tolerance of
    # scikit-learn
    host = _methods(m, Xq)
    files = {"microlearn_mp.mpy": module, "model.mlb": blob, "x.bin": Xq.tobytes()}
    r = mp_qemu.run_qemu_micropython(cpu, _script_for(host), files,
                                     collect=[f"{k}.bin" for k in host], timeout=600).check()
    dev = _device_outputs(host, lambda name: r.files[name])
    _assert_bit_identical(host, dev, m, pipe)
    err = np.abs(dev["predict_proba"].astype(np.float64) - pipe.predict_proba(Xq))
    assert err.max() <= _pipeline_proba_tolerance(pipe, m, Xq)


def test_every_family_builds_for_every_arch(tmp_path):
    """The default module (every family in NATIVE_FAMILIES) links for x64 and, when their
    toolchains are installed, armv7emsp and armv6m (no libm, no __aeabi_fdiv/ddiv)."""
    fams = mp_module.family_set()
    assert {n for _, n in fams} >= {"trees", "linear", "svm", "naive_bayes", "mixture",
                                    "preprocessing", "neighbors"}
    available = set(mb.available_natmod_arches())
    built = 0
    for arch in ("x64", "armv7emsp", "armv6m"):
        if arch not in available:
            continue
        files = mp_module.build(arch, tmp_path / arch, fams)
        assert files[0].stat().st_size > 0
        built += 1
    if built == 0:
        pytest.skip("tool missing: no natmod toolchain")


_QEMU_MODULES: dict[str, bytes] = {}


@pytest.mark.parametrize("cpu,arch", [("m4", "armv7emsp"), ("m0", "armv6m")])
@pytest.mark.parametrize("family", list(CASES))
def test_qemu_family(family, cpu, arch):
    """One model per family on emulated Cortex-M4F and Cortex-M0 under MicroPython v1.23
    (the module with every family's engine): every method bit-identical to the host C (which
    the unix-port test and the family's own tests compare with scikit-learn)."""
    if shutil.which("qemu-system-arm") is None:
        pytest.skip("tool missing: qemu-system-arm")
    from support import mp_qemu
    est, X, _ = CASES[family]()
    Xq = np.ascontiguousarray(X[::6][:24], dtype=np.float32)
    m = microlearn.convert(est)
    blob = m.to_blob()
    if arch not in _QEMU_MODULES:
        with tempfile.TemporaryDirectory() as tmp:
            try:
                _QEMU_MODULES[arch] = mp_module.build(arch, Path(tmp),
                                                      mp_module.family_set())[0].read_bytes()
            except mb.ToolNotFoundError as e:
                pytest.skip(f"tool missing: {arch} toolchain: {e}")
    host = _methods(m, Xq)
    files = {"microlearn_mp.mpy": _QEMU_MODULES[arch], "model.mlb": blob, "x.bin": Xq.tobytes()}
    r = mp_qemu.run_qemu_micropython(cpu, _script_for(host), files,
                                     collect=[f"{k}.bin" for k in host], timeout=600).check()
    dev = _device_outputs(host, lambda name: r.files[name])
    _assert_bit_identical(host, dev, m, est)


@pytest.mark.parametrize("kind", ["mixed_pipeline", "single_family"])
def test_split_modules(kind, tmp_path):
    """`micropython build --split`: one native module per family plus the microlearn_mp.py
    dispatcher. A pipeline mixing families (preprocessing + svm) is loaded step by step and
    chained; a single-family file goes straight to its module. Outputs bit-identical to the
    host C; a missing family module is a clear ValueError."""
    mp_unix.require_unix()
    if kind == "mixed_pipeline":
        X, y = load_wine(return_X_y=True)
        est = make_pipeline(StandardScaler(), PCA(n_components=5), SVC()).fit(X, y)
    else:
        X, y = _iris()
        est = DecisionTreeClassifier(max_depth=4, random_state=0).fit(X, y)
    X = np.ascontiguousarray(X[::3], dtype=np.float32)
    m = microlearn.convert(est)
    blob = m.to_blob()
    fams = mp_module.family_set(for_model=blob)
    try:
        files = mp_module.build_split("x64", tmp_path / "dist", fams)
    except mb.ToolNotFoundError as e:
        pytest.skip(f"tool missing: x64 native module toolchain: {e}")
    names = sorted(f.name for f in files)
    assert names == sorted([f"microlearn_mp_{n}.mpy" for _, n in fams]
                           + ["microlearn_mp.py", "package.json"])
    for f in files:
        shutil.copy(f, tmp_path / f.name)
    (tmp_path / "model.mlb").write_bytes(blob)
    (tmp_path / "x.bin").write_bytes(X.tobytes())
    host = _methods(m, X)
    r = mp_unix.run_unix(_script_for(host), tmp_path, timeout=600)
    assert r.returncode == 0 and "DONE" in r.stdout, r.stdout + r.stderr
    dev = _device_outputs(host, lambda name: (tmp_path / name).read_bytes())
    _assert_bit_identical(host, dev, m, est)
    np.testing.assert_array_equal(est.classes_[dev["predict"]], est.predict(X))
    # without one of the family modules: a clear error
    (tmp_path / f"microlearn_mp_{fams[-1][1]}.mpy").unlink()
    r = mp_unix.run_unix("import microlearn_mp as ml\n"
                         "try:\n    ml.load('model.mlb')\n"
                         "except ValueError as e:\n    print('ValueError', e)\n", tmp_path)
    assert f"needs the module microlearn_mp_{fams[-1][1]}" in r.stdout, r.stdout + r.stderr
