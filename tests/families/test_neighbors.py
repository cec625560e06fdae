"""Neighbors family (KNeighborsClassifier/Regressor, NearestCentroid, LocalOutlierFactor).

Parity runs through the shared conformance check (the generated header compiled on the
host) on training AND test rows of the parity data sets; the model-file section is run
by a small C shim (``ml_neighbors_from_section`` + the engine) and must give the
header's answers bit for bit. Tolerances are the bounds derived in
``microlearn/families/neighbors/convert.py`` (``output_bounds``). Edge cases: exact and
float32-near distance ties, vote ties, zero distances, corrupt sections, unsupported
settings.
"""

from __future__ import annotations

import ctypes
import shutil
import struct
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest
from conformance import check_conformance
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    load_wine,
    make_regression,
)
from sklearn.model_selection import train_test_split
from sklearn.neighbors import (
    KNeighborsClassifier,
    KNeighborsRegressor,
    LocalOutlierFactor,
    NearestCentroid,
)

import microlearn
from microlearn.errors import ConversionError
from microlearn.families.neighbors import FAMILY
from microlearn.families.neighbors.convert import (
    ambiguous_rows,
    output_bounds,
    sklearn_noise,
    storage_residual,
)

RUNTIME = Path(__file__).resolve().parents[2] / "microlearn" / "runtime"
CFLAGS = ["-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Wconversion", "-Wdouble-promotion",
          "-Werror", "-O2", "-ffp-contract=off", "-fPIC", "-shared"]
ML_ERR_MODEL = -4

_SHIM = r"""
#include "ml_neighbors.h"
#include <stdlib.h>
/* method 0 predict (as float), 1 proba, 2 decision, 3 score, 4 regress */
int32_t t_section(const uint8_t *sec, uint32_t size, int32_t method, const float *x,
                  int32_t n, float *out, int32_t *info7)
{
    ml_neighbors_t m;
    ml_info_t info;
    const int32_t st = ml_neighbors_from_section(&m, sec, size);
    if (st != ML_OK) return st;
    ml_neighbors_info(&m, &info);
    info7[0] = info.task; info7[1] = info.n_features; info7[2] = info.n_outputs;
    info7[3] = info.n_decision; info7[4] = info.has_proba; info7[5] = info.has_score_samples;
    info7[6] = info.scratch_floats;
    float *scratch = (float *)malloc(sizeof(float) * (size_t)info.scratch_floats);
    const int32_t width = method == 1 || method == 4 ? info.n_outputs
                          : method == 2 ? info.n_decision : 1;
    int32_t status = ML_OK;
    for (int32_t r = 0; r < n; r++) {
        const float *xr = x + (size_t)r * (size_t)info.n_features;
        float *o = out + (size_t)r * (size_t)width;
        switch (method) {
        case 0:
            status = ml_neighbors_predict(&m, xr, scratch);
            o[0] = (float)status;
            status = status == -1 && info.task == ML_TASK_OUTLIER_DETECTOR ? 0 : status;
            break;
        case 1: status = ml_neighbors_predict_proba(&m, xr, o, scratch); break;
        case 2: status = ml_neighbors_decision_function(&m, xr, o, scratch); break;
        case 3: status = ml_neighbors_score_samples(&m, xr, o, scratch); break;
        default: status = ml_neighbors_regress(&m, xr, o, scratch); break;
        }
        if (status < 0) break;
    }
    free(scratch);
    return status < 0 ? status : ML_OK;
}
"""


@pytest.fixture(scope="module")
def shim(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("neighbors")
    src, so = tmp / "shim.c", tmp / "shim.so"
    src.write_text(_SHIM)
    subprocess.run(["gcc", *CFLAGS, f"-I{RUNTIME}", str(src), "-o", str(so), "-lm"],
                   check=True, capture_output=True, text=True)
    return ctypes.CDLL(str(so))


def run_section(lib, sec: bytes, method: int, X: np.ndarray, width: int):
    X = np.ascontiguousarray(X, dtype=np.float32)
    buf = (ctypes.c_uint32 * ((len(sec) + 3) // 4 + 1))()  # 4-byte aligned copy
    ctypes.memmove(buf, sec, len(sec))
    out = np.zeros((len(X), max(width, 1)), dtype=np.float32)
    info = np.zeros(7, dtype=np.int32)
    status = lib.t_section(buf, ctypes.c_uint32(len(sec)), ctypes.c_int32(method),
                           X.ctypes.data_as(ctypes.c_void_p), ctypes.c_int32(len(X)),
                           out.ctypes.data_as(ctypes.c_void_p),
                           info.ctypes.data_as(ctypes.c_void_p))
    return status, out, info


def check_section(lib, m: microlearn.Model, X: np.ndarray) -> None:
    """The model-file section path gives the header's results bit for bit."""
    sec = FAMILY.section(m.ir, {})
    sig = m.signature
    X = np.asarray(X, dtype=np.float32)
    calls = []
    if sig.task in ("classifier", "outlier_detector"):
        calls.append((0, "predict", 1))
    if sig.has_proba:
        calls.append((1, "predict_proba", sig.n_outputs))
    if sig.n_decision:
        calls.append((2, "decision_function", sig.n_decision))
    if sig.has_score_samples:
        calls.append((3, "score_samples", 1))
    if sig.task == "regressor":
        calls.append((4, "predict", sig.n_outputs))
    for code, method, width in calls:
        status, got, info = run_section(lib, sec, code, X, width)
        assert status == 0, f"section {method}: status {status}"
        assert info[1] == sig.n_features and info[2] == sig.n_outputs
        want = np.asarray(getattr(m, method)(X))
        if code == 0:
            if sig.task == "classifier":
                want = np.searchsorted(sig.classes, want)
            np.testing.assert_array_equal(got[:, 0].astype(np.int64), want)
        else:
            want = want.reshape(len(X), -1).astype(np.float32)
            assert np.array_equal(got.view(np.uint32), want.view(np.uint32)), method


DATASETS = {"iris": load_iris, "wine": load_wine, "breast_cancer": load_breast_cancer,
            "digits": load_digits}


def split(name: str):
    X, y = DATASETS[name](return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=0)
    rows = np.vstack([Xtr, Xte]).astype(np.float32)  # training rows AND test rows
    return Xtr, ytr, rows


def fitted_points(est) -> np.ndarray:
    return est.centroids_ if isinstance(est, NearestCentroid) else est._fit_X


def conform(est, rows, lib=None, *, exact: bool = False, **kw):
    """Conformance on the rows whose answer scikit-learn does not leave to rounding or to
    its arbitrary choice among tied points (``ambiguous_rows``); on every row, predict
    may differ only on such rows (``exact``: nowhere). Returns the model and the number
    of rows where predict differs."""
    ir = FAMILY.convert(est, {})
    r = storage_residual(ir, fitted_points(est))
    amb = ambiguous_rows(ir, rows, r, sklearn_noise(est))
    clear = rows[~amb]
    m = check_conformance(est, clear, atol=output_bounds(ir, clear, r), blob=False, **kw)
    bad = 0
    if m.signature.task != "regressor":
        diff = m.predict(rows) != est.predict(rows)
        assert not np.any(diff & ~amb), np.flatnonzero(diff & ~amb)
        bad = int(diff.sum())
        assert not exact or bad == 0, f"predict differs on {bad}/{len(rows)} rows (ties)"
    if lib is not None:
        check_section(lib, m, rows)
    return m, bad


# --- parity on the data sets --------------------------------------------------------------

@pytest.mark.parametrize("name", list(DATASETS))
@pytest.mark.parametrize("weights", ["uniform", "distance"])
@pytest.mark.parametrize("k", [1, 5, 10])
def test_kneighbors_classifier(name, weights, k, shim):
    Xtr, ytr, rows = split(name)
    est = KNeighborsClassifier(n_neighbors=k, weights=weights).fit(Xtr, ytr)
    conform(est, rows, shim if k == 5 else None, exact=True,
            compilers=(k == 5 and name == "iris"))


@pytest.mark.parametrize("name", ["iris", "breast_cancer", "digits"])
@pytest.mark.parametrize("metric", ["manhattan", ("minkowski", 3.0), ("minkowski", 1.5)])
def test_kneighbors_classifier_metrics(name, metric, shim):
    Xtr, ytr, rows = split(name)
    kw = {"metric": metric} if isinstance(metric, str) else {"p": metric[1]}
    for weights in ("uniform", "distance"):
        est = KNeighborsClassifier(n_neighbors=5, weights=weights, **kw).fit(Xtr, ytr)
        conform(est, rows, shim)


@pytest.mark.parametrize("name", ["breast_cancer", "digits"])
def test_kneighbors_classifier_chebyshev(name, shim):
    Xtr, ytr, rows = split(name)
    for weights in ("uniform", "distance"):
        est = KNeighborsClassifier(n_neighbors=5, weights=weights, metric="chebyshev")
        conform(est.fit(Xtr, ytr), rows, shim)


@pytest.mark.parametrize("name", ["iris", "digits"])
def test_kneighbors_classifier_fitted_float32(name, shim):
    """A model fitted on float32 data stores scikit-learn's points exactly."""
    Xtr, ytr, rows = split(name)
    est = KNeighborsClassifier(n_neighbors=3, weights="distance").fit(
        Xtr.astype(np.float32), ytr)
    m, _ = conform(est, rows, shim)
    assert m.ir.points_exact


def _regression_sets():
    Xd, yd = load_diabetes(return_X_y=True)
    Xr, yr = make_regression(n_samples=300, n_features=8, n_targets=2, noise=0.5,
                             random_state=0)
    return {"diabetes": (Xd, yd), "make_regression": (Xr, yr)}


@pytest.mark.parametrize("name", ["diabetes", "make_regression"])
@pytest.mark.parametrize("weights", ["uniform", "distance"])
@pytest.mark.parametrize("metric", ["euclidean", "manhattan", "chebyshev", 3.0])
def test_kneighbors_regressor(name, weights, metric, shim):
    X, y = _regression_sets()[name]
    Xtr, Xte, ytr, _ = train_test_split(X, y, test_size=0.3, random_state=0)
    rows = np.vstack([Xtr, Xte]).astype(np.float32)
    kw = {"metric": metric} if isinstance(metric, str) else {"p": metric}
    est = KNeighborsRegressor(n_neighbors=5, weights=weights, **kw).fit(Xtr, ytr)
    conform(est, rows, shim)


@pytest.mark.parametrize("name", list(DATASETS))
@pytest.mark.parametrize("metric", ["euclidean", "manhattan"])
@pytest.mark.parametrize("priors", ["uniform", "empirical"])
def test_nearest_centroid(name, metric, priors, shim):
    Xtr, ytr, rows = split(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # digits: zero within-class std of some pixels
        est = NearestCentroid(metric=metric, priors=priors).fit(Xtr, ytr)
        conform(est, rows, shim)


@pytest.mark.parametrize("name", list(DATASETS))
@pytest.mark.parametrize("kw", [{}, {"n_neighbors": 5, "metric": "manhattan"},
                                {"n_neighbors": 10, "contamination": 0.1}])
def test_local_outlier_factor(name, kw, shim):
    Xtr, _, rows = split(name)
    est = LocalOutlierFactor(novelty=True, **kw).fit(Xtr)
    conform(est, rows, shim)


# --- ties and boundaries ------------------------------------------------------------------

def test_vote_tie_smallest_class():
    """Two neighbours of different classes (k=2): the vote ties, the smallest class wins
    (scikit-learn's _mode / weighted_mode / argmax). Equal distances and equal weights."""
    Xtr = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 5.0]])
    y = np.array([7, 3, 3])  # classes_ = [3, 7]
    q = np.array([[0.0, 0.0], [0.0, 0.5], [0.0, -0.5]], dtype=np.float32)
    for weights in ("uniform", "distance"):
        est = KNeighborsClassifier(n_neighbors=2, weights=weights).fit(Xtr, y)
        m = check_conformance(est, q, atol=output_bounds(FAMILY.convert(est, {}), q),
                              blob=False)
        assert list(m.predict(q)) == [3, 3, 3]


def test_boundary_tie_smaller_index():
    """Two points at exactly the k-th distance: the smaller training index is taken
    (scikit-learn's brute force pushes points in index order onto a heap that rejects
    equal distances, so it takes the same one here)."""
    Xtr = np.array([[0.0, 2.0], [0.0, -2.0], [3.0, 3.0]], dtype=np.float32)
    for y in ([0, 1, 1], [1, 0, 0]):
        est = KNeighborsClassifier(n_neighbors=1, algorithm="brute").fit(Xtr, np.array(y))
        q = np.zeros((1, 2), dtype=np.float32)
        m = check_conformance(est, q, atol=1e-6, blob=False)
        assert m.predict(q)[0] == y[0]


def test_float32_near_ties_recomputed(shim):
    """Distances whose float32 rounding reverses their order: the C recomputes them in
    double and selects scikit-learn's (exact) nearest point."""
    rng = np.random.default_rng(1)
    n_features = 16
    rows, pts, labels = [], [], []
    for _ in range(200):
        base = rng.standard_normal(n_features).astype(np.float32)
        a = base + rng.standard_normal(n_features).astype(np.float32)
        # b: the same distance from `base` up to a few float32 ulps (a permutation of the
        # difference with one coordinate nudged by 1 ulp)
        d = (a - base)[rng.permutation(n_features)]
        d[0] = np.nextafter(d[0], np.float32(np.inf) if rng.random() < 0.5 else
                            np.float32(-np.inf))
        b = base + d
        rows.append(base)
        pts.extend([a, b])
        labels.extend([0, 1])
    Xtr = np.array(pts, dtype=np.float32)
    y = np.array(labels)
    X = np.array(rows, dtype=np.float32)
    # float64 copy of float32 points: scikit-learn ranks in float64, its noise ~2^-44
    est = KNeighborsClassifier(n_neighbors=1, algorithm="brute").fit(Xtr.astype(float), y)
    m, bad = conform(est, X, shim, exact=True)
    assert m.ir.points_exact
    # not vacuous: sequential float32 sums order some of these pairs wrongly
    d32 = np.cumsum((X[:, None, :] - Xtr[None, :, :]) ** 2, axis=2, dtype=np.float32)[..., -1]
    d64 = ((X[:, None, :].astype(float) - Xtr[None, :, :].astype(float)) ** 2).sum(-1)
    assert np.sum(np.argmin(d32, axis=1) != np.argmin(d64, axis=1)) > 0


def test_distance_weight_near_tie():
    """Class sums of 1/d within float32 rounding of each other: one point of class 0 at
    distance d, two of class 1 at (a, b), (-a, -b) with a, b the float32 roundings of
    2d (cos t, sin t): the sums 1/d and 2/|(a, b)| differ by ~2^-25 relative, below the
    float32 error of the squared distances, so the C decides them in double (like
    scikit-learn's float64). Rows whose exact gap is below 2^-28 are left out
    (scikit-learn's own rounding could decide them)."""
    rng = np.random.default_rng(3)
    pts, labels, rows = [], [], []
    for i in range(400):
        z = np.float32(16.0 * i)  # groups far apart along the third axis
        d = np.float32(1.0 + (i % 64) / 64.0)
        t = rng.uniform(0, np.pi / 2)
        a, b = np.float32(2 * d * np.cos(t)), np.float32(2 * d * np.sin(t))
        gap = (float(a) ** 2 + float(b) ** 2) / (4 * float(d) ** 2) - 1.0
        if abs(gap) < 2.0**-28:
            continue
        pts += [[d, 0, z], [a, b, z], [-a, -b, z]]
        labels += [0, 1, 1]
        rows.append([0, 0, z])
    Xtr = np.array(pts, dtype=np.float32)
    X = np.array(rows, dtype=np.float32)
    y = np.array(labels)
    est = KNeighborsClassifier(n_neighbors=3, weights="distance", algorithm="brute")
    est.fit(Xtr.astype(float), y)
    m = check_conformance(est, X, atol=output_bounds(FAMILY.convert(est, {}), X),
                          blob=False)
    sk = est.predict(X)
    assert set(sk) == {0, 1}
    # not vacuous: the float32 sums alone decide some rows wrongly
    rd = ((X[:, None, :] - Xtr[None]) ** 2).sum(-1, dtype=np.float32)
    idx = np.argsort(rd, axis=1, kind="stable")[:, :3]
    w = np.float32(1) / np.sqrt(np.take_along_axis(rd, idx, axis=1))
    s1 = np.where(y[idx] == 1, w, np.float32(0)).sum(1, dtype=np.float32)
    s0 = np.where(y[idx] == 0, w, np.float32(0)).sum(1, dtype=np.float32)
    assert np.sum((s1 > s0).astype(int) != sk) > 0
    assert np.array_equal(m.predict(X), sk)


def test_zero_distance_and_duplicates():
    """Rows coinciding with training points (and duplicates with different labels): only
    the zero-distance points vote, with weight 1 each."""
    Xtr = np.array([[0, 0], [0, 0], [0, 0], [1, 0], [0, 1], [5, 5]], dtype=np.float32)
    y = np.array([1, 0, 0, 1, 1, 1])
    q = np.array([[0, 0], [1, 0], [5, 5], [0.5, 0.5]], dtype=np.float32)
    for k in (2, 3, 5):
        est = KNeighborsClassifier(n_neighbors=k, weights="distance", algorithm="brute")
        est.fit(Xtr, y)
        check_conformance(est, q, atol=output_bounds(FAMILY.convert(est, {}), q), blob=False)
        reg = KNeighborsRegressor(n_neighbors=k, weights="distance", algorithm="brute")
        reg.fit(Xtr, y.astype(float))
        check_conformance(reg, q, atol=output_bounds(FAMILY.convert(reg, {}), q), blob=False)


def test_k_equals_n_points():
    Xtr, ytr, rows = split("iris")
    est = KNeighborsClassifier(n_neighbors=len(Xtr), weights="distance").fit(Xtr, ytr)
    conform(est, rows[:40])


# --- conversion errors ------------------------------------------------------------------

def test_unsupported_settings():
    X, y = load_iris(return_X_y=True)
    cases = [
        (KNeighborsClassifier(weights=lambda d: d), "weights"),
        (KNeighborsClassifier(metric="cosine", algorithm="brute"), "metric"),
        (KNeighborsClassifier(metric="minkowski", p=0.3, algorithm="brute"), "p="),
        (KNeighborsClassifier(metric_params={"w": np.ones(4)}, algorithm="brute"), "w"),
        (NearestCentroid(metric="manhattan"), None),
    ]
    for est, word in cases:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X, y)
        if word is None:
            FAMILY.convert(est, {})  # supported
            continue
        with pytest.raises(ConversionError, match=word):
            FAMILY.convert(est, {})
    with pytest.raises(ConversionError, match="novelty"):
        FAMILY.convert(LocalOutlierFactor().fit(X), {})
    with pytest.raises(ConversionError, match="multi-output"):
        FAMILY.convert(KNeighborsClassifier().fit(X, np.c_[y, y]), {})


# --- the model-file section ---------------------------------------------------------------

def _corruptions(sec: bytes):
    """(description, bytes) of crafted bad sections."""
    out = [("empty", b""), ("truncated header", sec[:40]), ("truncated tables", sec[:-4])]

    def put(pos: int, fmt: str, value) -> bytes:
        b = bytearray(sec)
        struct.pack_into(fmt, b, pos, value)
        return bytes(b)

    for i, name in enumerate(("kind", "metric", "weights")):
        out.append((f"bad {name}", put(4 + 4 * i, "<I", 9)))
    out += [("zero features", put(16, "<I", 0)), ("huge features", put(16, "<I", 1 << 20)),
            ("zero points", put(20, "<I", 0)), ("too many points", put(20, "<I", 1 << 30)),
            ("zero outputs", put(24, "<I", 0)), ("k = 0", put(28, "<I", 0)),
            ("k > n_points", put(28, "<I", 1 << 24)), ("bad flags", put(32, "<I", 8)),
            ("nan offset", put(40, "<f", float("nan")))]
    for t in range(8):
        pos = 44 + 4 * t
        if struct.unpack_from("<I", sec, pos)[0]:
            out.append((f"table {t} beyond the end", put(pos, "<I", len(sec))))
            out.append((f"table {t} inside the header", put(pos, "<I", 8)))
            out.append((f"table {t} misaligned", put(pos, "<I",
                                                     struct.unpack_from("<I", sec, pos)[0] + 2)))
            out.append((f"table {t} huge offset", put(pos, "<I", 0xFFFFFFFC)))
    return out


def test_corrupt_sections(shim):
    X, y = load_iris(return_X_y=True)
    ests = [KNeighborsClassifier(3).fit(X, y), KNeighborsRegressor(3).fit(X, y * 1.5),
            NearestCentroid().fit(X, y), LocalOutlierFactor(novelty=True).fit(X)]
    q = X[:3].astype(np.float32)
    for est in ests:
        sec = FAMILY.section(FAMILY.convert(est, {}), {})
        method = 4 if isinstance(est, KNeighborsRegressor) else 0
        assert run_section(shim, sec, method, q, 1)[0] == 0
        for what, bad in _corruptions(sec):
            status, _, _ = run_section(shim, bad, 0, q, 1)
            assert status == ML_ERR_MODEL, (type(est).__name__, what, status)
    # a label outside the classes
    sec = bytearray(FAMILY.section(FAMILY.convert(ests[0], {}), {}))
    struct.pack_into("<H", sec, struct.unpack_from("<I", sec, 48)[0] + 2, 3)
    assert run_section(shim, bytes(sec), 0, q, 1)[0] == ML_ERR_MODEL
    # a minkowski p of 0 / NaN
    est = KNeighborsClassifier(3, p=3.0).fit(X, y)
    sec = FAMILY.section(FAMILY.convert(est, {}), {})
    for p in (0.0, float("nan"), -1.0):
        bad = bytearray(sec)
        struct.pack_into("<f", bad, 36, p)
        assert run_section(shim, bytes(bad), 0, q, 1)[0] == ML_ERR_MODEL


def test_section_fuzz(shim):
    """Random byte flips never crash the loader; every accepted section runs."""
    X, y = load_iris(return_X_y=True)
    sec = FAMILY.section(FAMILY.convert(KNeighborsClassifier(3).fit(X, y), {}), {})
    rng = np.random.default_rng(0)
    q = X[:2].astype(np.float32)
    for _ in range(300):
        bad = bytearray(sec)
        for pos in rng.integers(0, 76, size=3):
            bad[pos] = int(rng.integers(0, 256))
        status, _, _ = run_section(shim, bytes(bad), 0, q, 1)
        assert status <= 0


# --- compilers ----------------------------------------------------------------------------

@pytest.mark.parametrize("cpu", [["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard",
                                  "-mfpu=fpv4-sp-d16"], ["-mcpu=cortex-m0plus", "-mthumb"]])
def test_arm_compile(cpu, tmp_path):
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc not installed")
    X, y = load_iris(return_X_y=True)
    for est in (KNeighborsClassifier(3, weights="distance", p=3.0).fit(X, y),
                LocalOutlierFactor(novelty=True).fit(X), NearestCentroid().fit(X, y)):
        code = FAMILY.c_code(FAMILY.convert(est, {}), "M", {})
        src = tmp_path / "m.c"
        src.write_text('#include "ml_neighbors.h"\n' + code.body +
                       "int32_t use(const float *x);\n"
                       "int32_t use(const float *x) { return M__predict(x); }\n")
        proc = subprocess.run(["arm-none-eabi-gcc", *CFLAGS[:7], "-O2", *cpu, f"-I{RUNTIME}",
                               "-c", str(src), "-o", str(tmp_path / "m.o")],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr[-2000:]


def test_non_finite_inputs(shim):
    """scikit-learn rejects NaN / inf rows; the C must still answer in range (no crash,
    no out-of-bounds index), through the header and the model file alike."""
    X, y = load_digits(return_X_y=True)
    bad = np.array([[np.nan] * 64, [np.inf] * 64, [-np.inf] + [0.0] * 63, [3.4e38] * 64,
                    [0.0] * 63 + [np.nan]], dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zero within-class std of some pixels
        centroid = NearestCentroid().fit(X, y)
    for est in (KNeighborsClassifier(5, weights="distance").fit(X, y),
                KNeighborsClassifier(3, metric="chebyshev").fit(X, y), centroid):
        m = microlearn.convert(est)
        assert set(m.predict(bad)) <= set(est.classes_)
        status, out, _ = run_section(shim, FAMILY.section(m.ir, {}), 0, bad, 1)
        assert status == 0 and np.all((out >= 0) & (out < len(est.classes_)))
    lof = LocalOutlierFactor(novelty=True).fit(X)
    assert set(microlearn.convert(lof).predict(bad)) <= {-1, 1}
