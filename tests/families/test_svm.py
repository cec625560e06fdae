"""SVM family (SVC, NuSVC, SVR, NuSVR, OneClassSVM): C vs scikit-learn.

Every estimator goes through ``check_conformance`` (the generated header via the host
build; predict must equal scikit-learn's on every row, continuous outputs within the
per-row float32 bounds derived in ``microlearn/families/svm/convert.py``). On top: the
model-file section path (``ml_svm_from_section`` + engine) compiled next to the generated
kernels and compared bit for bit, the C's certified error bound checked against
scikit-learn's float64 values, constructed ties, corrupt sections, unsupported settings.
"""

from __future__ import annotations

import ctypes
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
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, SVR, NuSVC, NuSVR, OneClassSVM

import microlearn
from microlearn.errors import ConversionError
from microlearn.families.svm import FAMILY
from microlearn.families.svm.convert import output_bounds, proba_tolerance

RUNTIME = Path(__file__).resolve().parents[2] / "microlearn" / "runtime"
CFLAGS = ["-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Wconversion", "-Wdouble-promotion",
          "-Werror", "-O2", "-ffp-contract=off", "-fPIC", "-shared"]

_WRAPPER = r"""
#include "ml_common.h"
#include "ml_svm.h"
#include <stdlib.h>
%(body)s
#define NF %(nf)d
#define ND %(nd)d
#define NO %(no)d
int32_t t_predict(const float *x, int32_t n, int32_t *out)
{
#if %(has_pred)d
    for (int32_t r = 0; r < n; r++) out[r] = M__predict(x + (size_t)r * NF);
#else
    (void)x; (void)n; (void)out;
#endif
    return 0;
}
int32_t t_decision(const float *x, int32_t n, float *out)
{
#if %(has_dec)d
    for (int32_t r = 0; r < n; r++) M__decision_function(x + (size_t)r * NF, out + (size_t)r * ND);
#else
    (void)x; (void)n; (void)out;
#endif
    return 0;
}
int32_t t_proba(const float *x, int32_t n, float *out)
{
#if %(has_proba)d
    for (int32_t r = 0; r < n; r++) M__predict_proba(x + (size_t)r * NF, out + (size_t)r * NO);
#else
    (void)x; (void)n; (void)out;
#endif
    return 0;
}
int32_t t_regress(const float *x, int32_t n, float *out)
{
#if %(is_reg)d
    for (int32_t r = 0; r < n; r++) M__regress(x + (size_t)r * NF, out + r);
#else
    (void)x; (void)n; (void)out;
#endif
    return 0;
}
int32_t t_score(const float *x, int32_t n, float *out)
{
#if %(has_score)d
    for (int32_t r = 0; r < n; r++) out[r] = M__score_samples(x + (size_t)r * NF);
#else
    (void)x; (void)n; (void)out;
#endif
    return 0;
}
/* the exact-mode bound next to each pair's float32 value */
int32_t t_bounded(const float *x, int32_t n, float *dec, float *bnd)
{
    const int32_t np_ = ml_svm_n_pairs(&M__model);
    for (int32_t r = 0; r < n; r++) {
        const float *xr = x + (size_t)r * NF;
        float *d = dec + (size_t)r * (size_t)np_;
        float *b = bnd + (size_t)r * (size_t)np_;
        if (M__model.task == ML_TASK_CLASSIFIER || M__model.kernel == ML_SVM_PRIMAL) {
            static float gw[ML_SVM_MAX_CLASSES]; /* n_classes floats of scratch */
            ml_svm_pairs_b(&M__model, xr, d, b, gw);
        } else {
            d[0] = ml_svm_sum1_b(&M__model, xr, b) - M__model.rho[0];
        }
    }
    return 0;
}
/* model-file path: load the section, then run method on every row.
 * method 0 predict (out: float of the int), 1 decision, 2 proba, 3 score, 4 regress */
int32_t t_section(const uint8_t *sec, uint32_t size, int32_t method, const float *x,
                  int32_t n, float *out, int32_t *info7)
{
    ml_svm_t m;
    ml_info_t info;
    const int32_t st = ml_svm_from_section(&m, sec, size);
    if (st != ML_OK) return st;
    ml_svm_info(&m, &info);
    info7[0] = info.task; info7[1] = info.n_features; info7[2] = info.n_outputs;
    info7[3] = info.n_decision; info7[4] = info.has_proba; info7[5] = info.has_score_samples;
    info7[6] = info.scratch_floats;
    if (n == 0) return ML_OK;
    float *scratch = (float *)malloc(sizeof(float) * (size_t)(info.scratch_floats + 1));
    const int32_t width = method == 1 ? info.n_decision : method == 2 ? info.n_outputs : 1;
    int32_t status = ML_OK;
    for (int32_t r = 0; r < n && status >= 0; r++) {
        const float *xr = x + (size_t)r * (size_t)info.n_features;
        float *o = out + (size_t)r * (size_t)width;
        switch (method) {
        case 0:
            status = ml_svm_predict(&m, xr, scratch);
            o[0] = (float)status;
            if (info.task == ML_TASK_OUTLIER_DETECTOR && status == -1) status = ML_OK;
            break;
        case 1: status = ml_svm_decision_function(&m, xr, o, scratch); break;
        case 2: status = ml_svm_predict_proba(&m, xr, o, scratch); break;
        case 3: status = ml_svm_score_samples(&m, xr, o, scratch); break;
        default: status = ml_svm_regress(&m, xr, o, scratch); break;
        }
    }
    free(scratch);
    return status < 0 ? status : ML_OK;
}
"""


class CModel:
    """The family's C for one estimator, compiled and callable (header and file paths)."""

    def __init__(self, est, tmp: Path, name: str = "m", exact: bool = True):
        self.est = est
        opts = {"exact": exact}
        self.ir = FAMILY.convert(est, opts)
        self.sig = FAMILY.signature(self.ir)
        code = FAMILY.c_code(self.ir, "M", opts)
        self.sec = FAMILY.section(self.ir, opts)
        kernels = self.sig.kernels
        src = _WRAPPER % dict(
            body=code.body, nf=self.sig.n_features, nd=max(self.sig.n_decision, 1),
            no=self.sig.n_outputs, has_dec=int("decision_function" in kernels),
            has_proba=int("predict_proba" in kernels), is_reg=int("regress" in kernels),
            has_pred=int("predict" in kernels),
            has_score=int("score_samples" in kernels))
        c = tmp / f"{name}.c"
        so = tmp / f"{name}.so"
        c.write_text(src)
        subprocess.run(["gcc", *CFLAGS, f"-I{RUNTIME}", str(c), "-o", str(so), "-lm"],
                       check=True, capture_output=True, text=True)
        self.lib = ctypes.CDLL(str(so))

    def _x(self, X):
        X = np.ascontiguousarray(X, dtype=np.float32)
        assert X.shape[1] == self.sig.n_features
        return X, X.ctypes.data_as(ctypes.c_void_p), ctypes.c_int32(len(X))

    def _call(self, fn, X, width, dtype=np.float32):
        X, px, n = self._x(X)
        out = np.zeros((len(X), width), dtype=dtype)
        getattr(self.lib, fn)(px, n, out.ctypes.data_as(ctypes.c_void_p))
        return out

    def predict(self, X):
        idx = self._call("t_predict", X, 1, np.int32)[:, 0]
        if self.sig.task == "classifier":
            return self.sig.classes[idx]
        return idx

    def decision_function(self, X):
        out = self._call("t_decision", X, max(self.sig.n_decision, 1))
        return out[:, 0] if self.sig.n_decision == 1 else out

    def predict_proba(self, X):
        return self._call("t_proba", X, self.sig.n_outputs)

    def regress(self, X):
        return self._call("t_regress", X, 1)[:, 0]

    def score_samples(self, X):
        return self._call("t_score", X, 1)[:, 0]

    def bounded_pairs(self, X):
        """(float32 pair decisions, their certified bounds) of the exact-mode engine."""
        X, px, n = self._x(X)
        np_ = self.ir.n_pairs
        dec = np.zeros((len(X), np_), dtype=np.float32)
        bnd = np.zeros((len(X), np_), dtype=np.float32)
        self.lib.t_bounded(px, n, dec.ctypes.data_as(ctypes.c_void_p),
                           bnd.ctypes.data_as(ctypes.c_void_p))
        return dec, bnd

    def section_run(self, method: int, X, sec: bytes | None = None):
        """(status, info, out) of the model-file path."""
        sec = self.sec if sec is None else sec
        buf = np.frombuffer(sec + b"\0" * 4, dtype=np.uint8).copy()  # aligned copy
        X = np.ascontiguousarray(X, dtype=np.float32).reshape(-1, self.sig.n_features)
        width = {1: max(self.sig.n_decision, 1), 2: self.sig.n_outputs}.get(method, 1)
        out = np.zeros((len(X), width), dtype=np.float32)
        info = np.zeros(7, dtype=np.int32)
        st = self.lib.t_section(buf.ctypes.data_as(ctypes.c_void_p), ctypes.c_uint32(len(sec)),
                                ctypes.c_int32(method), X.ctypes.data_as(ctypes.c_void_p),
                                ctypes.c_int32(len(X)), out.ctypes.data_as(ctypes.c_void_p),
                                info.ctypes.data_as(ctypes.c_void_p))
        return st, info, out


# --- data ------------------------------------------------------------------------------

ML_ERR_NULL, ML_ERR_MODEL, ML_ERR_VERSION, ML_ERR_UNSUPPORTED, ML_ERR_ALIGN = -1, -4, -5, -6, -7
#: the model-file dispatcher includes this family (then check_conformance runs the file)
BLOB = "X(3, svm)" in (RUNTIME / "ml_model.h").read_text()
KERNELS = ["rbf", "linear", "poly", "sigmoid"]
DATASETS = {"iris": load_iris, "wine": load_wine, "breast_cancer": load_breast_cancer,
            "digits": load_digits}


def _data(name: str, scaled: bool):
    """(X_fit float64, y_fit, X_all float32): fit on 70%, check train + test rows."""
    X, y = DATASETS[name](return_X_y=True)
    if name == "digits":  # subset: SVC on all of digits is slow to fit and to compile
        X, y = X[:700], y[:700]
    if scaled:
        X = StandardScaler().fit_transform(X)
    Xf, Xt, yf, _ = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    return Xf, yf, np.vstack([Xf, Xt]).astype(np.float32)


def _fit(est, X, y=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # probability= deprecation, convergence
        return est.fit(X, y) if y is not None else est.fit(X)


def _ir(est, exact=True):
    return FAMILY.convert(est, {"exact": exact})


def _atol(ir, X, key, rows=None) -> float:
    b = output_bounds(ir, X)[key]
    return float(b[rows].max() if rows is not None else b.max())


# --- parity via the shared conformance suite --------------------------------------------


@pytest.mark.parametrize("scaled", [True, False], ids=["scaled", "raw"])
@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("name", list(DATASETS))
def test_svc_parity(name, kernel, scaled):
    Xf, yf, X = _data(name, scaled)
    est = _fit(SVC(kernel=kernel), Xf, yf)
    ir = _ir(est)
    b = output_bounds(ir, X)
    ok = ~b["near_tie"]  # "ovr" values jump by 1 where a pair's vote is a float32 near-tie
    check_conformance(est, X[ok], atol={"decision_function": _atol(ir, X, "decision_function",
                                                                   ok)}, blob=BLOB)
    m = microlearn.convert(est)
    np.testing.assert_array_equal(m.predict(X), est.predict(X))  # every row, ties included


@pytest.mark.parametrize("shape,break_ties", [("ovo", False), ("ovr", True)])
@pytest.mark.parametrize("name", ["iris", "wine", "digits"])
def test_svc_shapes(name, shape, break_ties):
    Xf, yf, X = _data(name, True)
    est = _fit(SVC(decision_function_shape=shape, break_ties=break_ties), Xf, yf)
    ir = _ir(est)
    ok = ~output_bounds(ir, X)["near_tie"]
    m = check_conformance(est, X[ok], blob=BLOB, compilers=name == "iris",
                          atol={"decision_function": _atol(ir, X, "decision_function", ok)})
    assert m.signature.n_decision == (3 if name != "digits" else 10) * (shape == "ovr") or (
        shape == "ovo" and m.signature.n_decision == ir.n_pairs)
    np.testing.assert_array_equal(m.predict(X), est.predict(X))


@pytest.mark.parametrize("name,kernel,scaled", [
    ("iris", "rbf", True), ("iris", "linear", False), ("wine", "poly", True),
    ("breast_cancer", "rbf", True), ("breast_cancer", "sigmoid", False),
    ("digits", "rbf", True), ("digits", "linear", False)])
def test_svc_predict_proba(name, kernel, scaled):
    Xf, yf, X = _data(name, scaled)
    est = _fit(SVC(kernel=kernel, probability=True, random_state=0), Xf, yf)
    ir = _ir(est)
    tol, near_stop = proba_tolerance(ir, X)
    vote_ok = ~output_bounds(ir, X)["near_tie"]
    ok = ~near_stop & vote_ok
    row_tol = tol + np.where(ok, 0.0, 0.005 / ir.n_classes)
    m = check_conformance(est, X[vote_ok], blob=BLOB, atol={
        "predict_proba": float(row_tol[vote_ok].max()),
        "decision_function": _atol(ir, X, "decision_function", vote_ok)})
    # per row, and on the rows near a stopping decision: one sweep more or less moves p
    # by about eps = 0.005 / k (module docstring)
    err = np.abs(m.predict_proba(X).astype(np.float64) - est.predict_proba(X)).max(axis=1)
    assert np.all(err <= row_tol)
    print(f"{name} {kernel}: {(~ok).sum()} of {len(X)} rows near a stopping/vote tie; "
          f"max error {err.max():.2e}, {np.max(err / tol):.3f} of the tolerance")
    # predict is the vote, not the argmax of the probabilities (like scikit-learn)
    np.testing.assert_array_equal(microlearn.convert(est).predict(X), est.predict(X))


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("name", ["iris", "breast_cancer"])
def test_nusvc_parity(name, kernel):
    Xf, yf, X = _data(name, True)
    est = _fit(NuSVC(kernel=kernel, nu=0.3), Xf, yf)
    ir = _ir(est)
    ok = ~output_bounds(ir, X)["near_tie"]
    check_conformance(est, X[ok], blob=BLOB,
                      atol={"decision_function": _atol(ir, X, "decision_function", ok)})
    np.testing.assert_array_equal(microlearn.convert(est).predict(X), est.predict(X))


def _regression(name):
    if name == "diabetes":
        X, y = load_diabetes(return_X_y=True)
    else:
        X, y = make_regression(n_samples=300, n_features=8, noise=5.0, random_state=0)
        X = X * 3.0 + 1.0
    Xf, Xt, yf, _ = train_test_split(X, y, test_size=0.3, random_state=0)
    return Xf, yf, np.vstack([Xf, Xt]).astype(np.float32)


@pytest.mark.parametrize("cls", [SVR, NuSVR])
@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("name", ["diabetes", "make_regression"])
def test_regressor_parity(name, kernel, cls):
    Xf, yf, X = _regression(name)
    est = _fit(cls(kernel=kernel, C=10.0), Xf, yf)
    ir = _ir(est)
    m = check_conformance(est, X, blob=BLOB, atol={"predict": _atol(ir, X, "regress")})
    assert m.signature.task == "regressor"


@pytest.mark.parametrize("scaled", [True, False], ids=["scaled", "raw"])
@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("name", list(DATASETS))
def test_one_class_parity(name, kernel, scaled):
    """Training rows include OneClassSVM's margin support vectors, whose decision value
    is 0 up to the solver's rounding: float32 alone gets ~2% of them wrong on digits;
    exact mode recomputes those near-ties in float64."""
    Xf, _, X = _data(name, scaled)
    est = _fit(OneClassSVM(kernel=kernel, nu=0.2), Xf)
    ir = _ir(est)
    check_conformance(est, X, blob=BLOB, atol={
        "decision_function": _atol(ir, X, "decision_function"),
        "score_samples": _atol(ir, X, "score_samples")})


# --- the model-file section, the certified bound, the fallback -------------------------


@pytest.mark.parametrize("exact", [True, False])
@pytest.mark.parametrize("case", ["svc3", "svc2_proba", "svc_linear", "ocsvm", "svr",
                                  "svc_ovo_poly", "svc_break_ties"])
def test_section_matches_header(case, exact, tmp_path):
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    est = {
        "svc3": lambda: SVC(kernel="rbf"),
        "svc2_proba": lambda: SVC(kernel="sigmoid", probability=True, random_state=0),
        "svc_linear": lambda: SVC(kernel="linear"),
        "ocsvm": lambda: OneClassSVM(kernel="poly", degree=3),
        "svr": lambda: SVR(kernel="rbf"),
        "svc_ovo_poly": lambda: SVC(kernel="poly", degree=4, decision_function_shape="ovo"),
        "svc_break_ties": lambda: SVC(kernel="rbf", break_ties=True, C=0.3),
    }[case]()
    if case == "svr":
        _fit(est, X[:, :3], X[:, 3])
        X = X[:, :3]
    elif case == "ocsvm":
        _fit(est, X)
    else:
        _fit(est, X, y == 1 if case == "svc2_proba" else y)
    cm = CModel(est, tmp_path, f"{case}_{exact}", exact=exact)
    X32 = X.astype(np.float32)
    kernels = cm.sig.kernels
    checks = [(0, "predict"), (1, "decision_function"), (2, "predict_proba"),
              (3, "score_samples"), (4, "regress")]
    for method, name in checks:
        st, info, got = cm.section_run(method, X32)
        if name not in kernels:
            assert st == ML_ERR_UNSUPPORTED, name
            continue
        assert st == 0, (name, st)
        want = getattr(cm, name)(X32)
        if name == "predict":
            idx = got[:, 0].astype(np.int64)
            want = want if cm.sig.task != "classifier" else np.searchsorted(cm.sig.classes, want)
            np.testing.assert_array_equal(idx, want)
        else:
            got = got[:, 0] if want.ndim == 1 else got
            assert np.array_equal(got.view(np.uint32), want.astype(np.float32).view(np.uint32))
    st, info, _ = cm.section_run(0, X32[:0])
    assert st == 0
    assert list(info[:6]) == [["classifier", "regressor", "outlier_detector"].index(
        cm.sig.task), cm.sig.n_features, cm.sig.n_outputs, cm.sig.n_decision,
        int(cm.sig.has_proba), int(cm.sig.has_score_samples)]


@pytest.mark.parametrize("name,kernel,scaled,cls", [
    ("digits", "rbf", False, "oc"), ("digits", "poly", True, "oc"),
    ("breast_cancer", "linear", False, "svc"), ("wine", "sigmoid", False, "svc"),
    ("digits", "poly", True, "svc"), ("iris", "linear", True, "oc")])
def test_certified_bound_holds(name, kernel, scaled, cls, tmp_path):
    """The C's runtime bound (exact mode) covers |float32 dec - scikit-learn's float64 dec|
    on every row and pair, and the rows it flags are the ones float32 alone gets wrong."""
    Xf, yf, X = _data(name, scaled)
    est = _fit(OneClassSVM(kernel=kernel, nu=0.2), Xf) if cls == "oc" else _fit(
        SVC(kernel=kernel), Xf, yf)
    cm = CModel(est, tmp_path, f"b_{name}_{kernel}_{cls}", exact=True)
    dec, bnd = cm.bounded_pairs(X)
    ref = output_bounds(cm.ir, X)["dec"]
    err = np.abs(dec.astype(np.float64) - ref)
    assert np.all(err <= bnd), f"bound violated: max err/bound {np.max(err / bnd)}"
    # the Python bound (the tests' tolerances) covers the same errors
    pyb = output_bounds(cm.ir, X)
    assert np.all(err <= np.maximum(pyb["decision_function"].reshape(len(X), -1)
                                    if cm.ir.n_pairs == 1 else err, 0))
    flagged = np.any(np.abs(dec) <= bnd, axis=1)
    # float32 alone (exact=False) is wrong only on flagged rows; exact mode is right on all
    f32 = CModel(est, tmp_path, f"f_{name}_{kernel}_{cls}", exact=False).predict(X)
    wrong = f32 != est.predict(X)
    assert not np.any(wrong & ~flagged)
    np.testing.assert_array_equal(cm.predict(X), est.predict(X))
    print(f"{name} {kernel} {cls}: {flagged.sum()} of {len(X)} rows near a tie, "
          f"{wrong.sum()} wrong in float32 alone")


# --- ties and boundaries -----------------------------------------------------------------


@pytest.mark.parametrize("exact", [True, False])
def test_exact_zero_decision_votes_second_class(exact, tmp_path):
    """libsvm votes for the first class of a pair only when dec > 0: at dec == 0 exactly
    the second class wins (scikit-learn: decision_function 0 -> classes_[1])."""
    X = np.array([[-1.0, 0.0], [1.0, 0.0], [-2.0, 1.0], [2.0, 1.0]])
    y = np.array([0, 1, 0, 1])
    est = _fit(SVC(kernel="linear"), X, y)
    rows = np.array([[0.0, 0.0], [0.0, 5.0], [0.0, -3.0]], dtype=np.float32)
    assert np.all(est.decision_function(rows) == 0.0)
    cm = CModel(est, tmp_path, f"zero_{exact}", exact=exact)
    np.testing.assert_array_equal(cm.predict(rows), est.predict(rows))
    assert np.all(cm.predict(rows) == 1)
    assert np.all(cm.decision_function(rows) == 0.0)
    oc = _fit(OneClassSVM(kernel="linear", nu=0.5), np.array([[1.0], [-1.0], [2.0], [-2.0]]))
    z = np.array([[0.0]], dtype=np.float32)
    cmo = CModel(oc, tmp_path, f"zero_oc_{exact}", exact=exact)
    assert cmo.predict(z)[0] == oc.predict(z)[0]


def _cyclic_rows(**params):
    """A 3-class linear SVC whose three pairwise boundaries enclose a triangle where every
    class wins exactly one pair (a 1-1-1 vote), and float32 rows inside it."""
    rng = np.random.default_rng(2)
    centers = np.array([[0.0, 0.0], [4.0, 0.0], [2.0, 3.5]])
    X = np.vstack([c + 1.5 * rng.normal(size=(30, 2)) for c in centers])
    y = np.repeat([0, 1, 2], 30)
    est = _fit(SVC(kernel="linear", **params), X, y)
    ovo = _fit(SVC(kernel="linear", decision_function_shape="ovo"), X, y)
    W, b = ovo.coef_, ovo.intercept_
    corners = np.array([np.linalg.solve(W[[p, q]], -b[[p, q]])
                        for p, q in ((0, 1), (0, 2), (1, 2))])
    rows = (rng.dirichlet([1, 1, 1], size=400) @ corners).astype(np.float32)
    dec = ovo.decision_function(rows)
    wins = np.stack([(dec[:, 0] > 0) + (dec[:, 1] > 0), (dec[:, 0] <= 0) + (dec[:, 2] > 0),
                     (dec[:, 1] <= 0) + (dec[:, 2] <= 0)], axis=1)
    return est, rows[np.all(wins == 1, axis=1)]


def _boundary_rows(predict, X, n_pairs=40, seed=0):
    """float32 rows on both sides of predict's decision boundaries: bisect the segment
    between two rows predicted differently down to adjacent float32 points, and add the
    float32 neighbours of every coordinate of the crossing rows."""
    rng = np.random.default_rng(seed)
    X = np.asarray(X, dtype=np.float32)
    pred = predict(X)
    out = []
    for _ in range(n_pairs * 4):
        a, b = X[rng.integers(len(X), size=2)]
        pa, pb = predict(np.stack([a, b]))
        if pa == pb:
            continue
        lo, hi = 0.0, 1.0
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            r = (a + mid * (b - a)).astype(np.float32)
            if predict(r[None])[0] == pa:
                lo = mid
            else:
                hi = mid
        ra = (a + lo * (b - a)).astype(np.float32)
        rb = (a + hi * (b - a)).astype(np.float32)
        out += [ra, rb]
        for j in range(X.shape[1]):
            for r in (ra, rb):
                for d in (np.inf, -np.inf):
                    q = r.copy()
                    q[j] = np.nextafter(q[j], np.float32(d))
                    out.append(q)
        if len(out) >= n_pairs * (2 + 4 * X.shape[1]):
            break
    del pred
    return np.array(out, dtype=np.float32)


@pytest.mark.parametrize("case", ["svc_rbf", "svc_poly_ovo", "break_ties", "oc_rbf",
                                  "oc_sigmoid", "svc_sigmoid_raw"])
def test_decision_boundaries(case, tmp_path):
    """Rows at scikit-learn's decision boundaries (adjacent float32 points straddling
    them): exact mode agrees on every one; float32 alone only off the certified
    near-ties."""
    X, y = load_wine(return_X_y=True)
    if case != "svc_sigmoid_raw":
        X = StandardScaler().fit_transform(X)
    est = {"svc_rbf": lambda: SVC(), "svc_poly_ovo": lambda: SVC(kernel="poly",
           decision_function_shape="ovo"), "break_ties": lambda: SVC(break_ties=True),
           "oc_rbf": lambda: OneClassSVM(nu=0.3), "oc_sigmoid": lambda: OneClassSVM(
               kernel="sigmoid", gamma=0.01), "svc_sigmoid_raw": lambda: SVC(kernel="sigmoid")
           }[case]()
    _fit(est, X, None if case.startswith("oc") else y)
    rows = _boundary_rows(est.predict, X)
    assert len(rows) > 100
    ref = est.predict(rows)
    exact = CModel(est, tmp_path, f"bd_{case}", exact=True)
    np.testing.assert_array_equal(exact.predict(rows), ref)
    plain = CModel(est, tmp_path, f"bdf_{case}", exact=False).predict(rows)
    near = output_bounds(exact.ir, rows)["near_tie"]
    assert np.all((plain == ref) | near)
    print(f"{case}: {len(rows)} boundary rows, {near.sum()} near-ties, "
          f"{(plain != ref).sum()} wrong in float32 alone")


@pytest.mark.parametrize("exact", [True, False])
def test_vote_tie_first_class(exact, tmp_path):
    """Cyclic votes: libsvm picks the first class with the most votes (class 0)."""
    est, rows = _cyclic_rows(decision_function_shape="ovo")
    assert len(rows) > 100
    cm = CModel(est, tmp_path, f"cyc_{exact}", exact=exact)
    assert np.all(est.predict(rows) == 0)
    np.testing.assert_array_equal(cm.predict(rows), est.predict(rows))


@pytest.mark.parametrize("exact", [True, False])
def test_break_ties_argmax(exact, tmp_path):
    """break_ties: the first maximum of the "ovr" values (np.argmax) decides 1-1-1 votes
    by the confidences, unlike the plain vote (class 0). Exact mode certifies the argmax
    (or recomputes the values in float64) on every row; float32 alone may differ only on
    rows near a tie."""
    est, rows = _cyclic_rows(break_ties=True)
    # plus rows where two "ovr" values are close: the middle of each corner pair
    cm = CModel(est, tmp_path, f"bt_{exact}", exact=exact)
    ok = ~output_bounds(cm.ir, rows)["near_tie"]
    assert ok.sum() > 100
    ref = est.predict(rows)
    assert np.any(ref != 0), "break_ties never overrides the vote here"
    ours = cm.predict(rows)
    if exact:
        np.testing.assert_array_equal(ours, ref)
    else:
        np.testing.assert_array_equal(ours[ok], ref[ok])
    np.testing.assert_allclose(cm.decision_function(rows[ok]),
                               est.decision_function(rows[ok]), rtol=0,
                               atol=_atol(cm.ir, rows, "decision_function", ok))


# --- corrupt sections -------------------------------------------------------------------


@pytest.fixture(scope="module")
def corrupt_models(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("svm_corrupt")
    X, y = load_iris(return_X_y=True)
    out = {}
    for key, est in (("svc", SVC(probability=True, random_state=0)),
                     ("lin", SVC(kernel="linear")), ("oc", OneClassSVM())):
        _fit(est, X, None if key == "oc" else y)
        out[key] = CModel(est, tmp, f"corrupt_{key}", exact=True)
    return out


def _set(sec: bytes, at: int, value: int) -> bytes:
    b = bytearray(sec)
    b[at:at + 4] = struct.pack("<I", value & 0xFFFFFFFF)
    return bytes(b)


@pytest.mark.parametrize("key", ["svc", "lin", "oc"])
def test_corrupt_sections(corrupt_models, key):
    cm = corrupt_models[key]
    sec = cm.sec
    x = np.zeros((1, cm.sig.n_features), dtype=np.float32)
    assert cm.section_run(0, x)[0] == 0
    # truncation anywhere
    for cut in sorted({0, 3, 50, 95, 96, 100, len(sec) // 2, len(sec) - 8, len(sec) - 1}):
        assert cm.section_run(0, x, sec[:cut])[0] == ML_ERR_MODEL, cut
    assert cm.section_run(0, x, _set(sec, 0, 2))[0] == ML_ERR_VERSION
    # every offset out of range / misaligned / into the header
    for at in range(40, 80, 4):
        off = struct.unpack_from("<I", sec, at)[0]
        empty = key == "lin" and at == 44  # the primal form's empty coefficient table
        for bad in (len(sec), len(sec) - 2, 0xFFFFFFFC, off + 2 if off else 4, 8):
            if bad == off or (empty and bad == len(sec)):
                continue
            assert cm.section_run(0, x, _set(sec, at, bad))[0] in (
                ML_ERR_MODEL, ML_ERR_UNSUPPORTED, ML_ERR_ALIGN), (at, bad)
    # bad counts and fields
    for at, bad in ((4, 3), (8, 5), (12, 0), (12, 0x80000000), (16, 0), (20, 0xFFFFFFFF),
                    (20, 1 << 28), (24, 0x80000000), (36, 16)):
        assert cm.section_run(0, x, _set(sec, at, bad))[0] in (ML_ERR_MODEL,
                                                              ML_ERR_UNSUPPORTED), (at, bad)
    if key == "svc":
        assert cm.section_run(0, x, _set(sec, 16, 1))[0] == ML_ERR_MODEL  # one class
        assert cm.section_run(0, x, _set(sec, 16, 4))[0] == ML_ERR_MODEL  # pairs mismatch
        assert cm.section_run(0, x, _set(sec, 16, 300))[0] in (ML_ERR_MODEL,
                                                              ML_ERR_UNSUPPORTED)
        start = struct.unpack_from("<I", sec, 52)[0]
        for c, bad in ((1, 10**6), (0, 1), (3, 5), (2, 0)):  # non-monotone / wrong ends
            assert cm.section_run(0, x, _set(sec, start + 4 * c, bad))[0] == ML_ERR_MODEL
    if key == "lin":
        assert cm.section_run(0, x, _set(sec, 20, 1))[0] == ML_ERR_MODEL  # primal with SVs


# --- errors -----------------------------------------------------------------------------


def test_unsupported_settings():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ConversionError, match="kernel"):
        microlearn.convert(_fit(SVC(kernel="precomputed"), X @ X.T, y))
    with pytest.raises(ConversionError, match="kernel"):
        microlearn.convert(_fit(SVC(kernel=lambda a, b: a @ b.T), X, y))
    from scipy import sparse
    with pytest.raises(ConversionError, match="sparse"):
        microlearn.convert(_fit(SVC(), sparse.csr_matrix(X), y))
    with pytest.raises(ConversionError, match="break_ties"):
        microlearn.convert(_fit(SVC(break_ties=True, decision_function_shape="ovo"), X, y))
    with pytest.raises(ValueError, match="exact"):
        microlearn.convert(_fit(SVC(), X, y), exact="yes")


def test_signature_and_sizes():
    X, y = load_iris(return_X_y=True)
    est = _fit(SVC(), X, y)
    exact, plain = _ir(est, True), _ir(est, False)
    sig = FAMILY.signature(exact)
    assert sig.task == "classifier" and sig.n_decision == 3 and not sig.has_proba
    assert sig.exact_predict and "float64" in sig.exactness
    assert not FAMILY.signature(plain).exact_predict
    bt = _ir(_fit(SVC(break_ties=True), X, y))
    assert FAMILY.signature(bt).exact_predict  # the argmax is certified too
    n_sv, nf = est.support_vectors_.shape
    assert FAMILY.data_bytes(plain, {}) == 4 * (n_sv * nf + 2 * n_sv + 3 + 4)
    assert FAMILY.data_bytes(exact, {}) == FAMILY.data_bytes(plain, {}) + 8 * (
        n_sv * nf + 2 * n_sv + 3)
    lin = _ir(_fit(SVC(kernel="linear"), X, y), False)
    assert lin.weights is not None and FAMILY.data_bytes(lin, {}) == 4 * (3 * nf + 3 + 4)
