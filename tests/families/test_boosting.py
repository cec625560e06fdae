"""Tree family, boosted ensembles: GradientBoosting, HistGradientBoosting, AdaBoost and
IsolationForest through the whole contract (conformance: C header vs scikit-learn, model
file vs header, compilers), the float64 reference (``raw_predict(read(est), X)`` equals
scikit-learn), adversarial inputs, and the settings that cannot be converted.

Tolerances are the family's derived bounds (``ir.tolerances``: float32 sums of the trees'
leaf values, then the post transform; docs/families/trees.md), computed per model on the
rows tested. Predicted classes must match scikit-learn on every row of the parity data
sets; ``test_near_tie_frequency`` measures how many rows are near-ties at all.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conformance import check_conformance
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    load_wine,
)
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import (
    AdaBoostClassifier,
    AdaBoostRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    IsolationForest,
)
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.tree import DecisionTreeClassifier

import microlearn
from microlearn.errors import ConversionError
from microlearn.families.trees import section as tsec
from microlearn.families.trees.boosting import read
from microlearn.families.trees.convert import from_raw
from microlearn.families.trees.ir import near_ties, tolerances
from microlearn.families.trees.raw import RawEnsemble, RawTree, raw_predict

METHODS = ["loadable", "inline"]


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """HistGradientBoosting's OpenMP threads crawl on a shared, loaded machine."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


def _split(X, y):
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(X))
    cut = int(0.7 * len(X))
    X = np.asarray(X, dtype=np.float32)
    return X[idx[:cut]], y[idx[:cut]], X[idx[cut:]], y[idx[cut:]]


def _data(name):
    load = {"iris": load_iris, "wine": load_wine, "breast_cancer": load_breast_cancer,
            "digits": load_digits, "diabetes": load_diabetes}[name]
    return _split(*load(return_X_y=True))


def _conform(est, X, method, compilers=False):
    """check_conformance with the family's derived tolerances for this model and X."""
    ir = microlearn.convert(est, method=method).ir
    tol = tolerances(ir, X)
    return check_conformance(est, X, atol=tol, options={"method": method},
                             compilers=compilers)


CLASSIFIERS = {
    "GradientBoostingClassifier": lambda: GradientBoostingClassifier(
        n_estimators=15, max_depth=3, random_state=0),
    "HistGradientBoostingClassifier": lambda: HistGradientBoostingClassifier(
        max_iter=15, random_state=0),
    "AdaBoostClassifier": lambda: AdaBoostClassifier(
        DecisionTreeClassifier(max_depth=2), n_estimators=15, random_state=0),
}


@pytest.mark.parametrize("estimator", list(CLASSIFIERS))
@pytest.mark.parametrize("dataset,method", [
    ("iris", "loadable"), ("iris", "inline"), ("wine", "loadable"),
    ("breast_cancer", "loadable"), ("breast_cancer", "inline"), ("digits", "loadable")])
def test_classifier_conformance(dataset, estimator, method):
    Xtr, ytr, Xte, _ = _data(dataset)
    est = CLASSIFIERS[estimator]().fit(Xtr, ytr)
    X = np.vstack([Xte, Xtr[:100]])
    m = _conform(est, X, method, compilers=(dataset == "iris"))
    assert m.signature.n_decision == (1 if len(est.classes_) == 2 else len(est.classes_))
    assert not m.exact_predict and "near-ties" in m.describe()


@pytest.mark.parametrize("method", METHODS)
def test_gradient_boosting_exponential_loss(method):
    Xtr, ytr, Xte, _ = _data("breast_cancer")
    est = GradientBoostingClassifier(loss="exponential", n_estimators=20,
                                     random_state=0).fit(Xtr, ytr)
    _conform(est, Xte, method)


@pytest.mark.parametrize("loss,method", [
    ("squared_error", "loadable"), ("absolute_error", "inline"), ("huber", "loadable"),
    ("quantile", "inline")])
def test_gradient_boosting_regressor_losses(loss, method):
    Xtr, ytr, Xte, _ = _data("diabetes")
    est = GradientBoostingRegressor(loss=loss, n_estimators=20, random_state=0).fit(Xtr, ytr)
    _conform(est, Xte, method)


@pytest.mark.parametrize("loss,method", [
    ("squared_error", "inline"), ("absolute_error", "loadable"), ("poisson", "loadable"),
    ("poisson", "inline"), ("gamma", "loadable"), ("quantile", "inline")])
def test_hist_gradient_boosting_regressor_losses(loss, method):
    Xtr, ytr, Xte, _ = _data("diabetes")
    extra = {"quantile": 0.3} if loss == "quantile" else {}
    est = HistGradientBoostingRegressor(loss=loss, max_iter=20, random_state=0,
                                        **extra).fit(Xtr, ytr)
    m = _conform(est, Xte, method)
    assert m.ir.post == ("exp" if loss in ("poisson", "gamma") else "identity")


@pytest.mark.parametrize("method", METHODS)
def test_adaboost_regressor_weighted_median(method):
    Xtr, ytr, Xte, _ = _data("diabetes")
    est = AdaBoostRegressor(n_estimators=15, random_state=0).fit(Xtr, ytr)
    m = _conform(est, np.vstack([Xte, Xtr]), method)
    assert m.ir.post == "median"


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("kw", [{}, {"max_features": 0.5, "contamination": 0.1}])
def test_isolation_forest(kw, method):
    Xtr, _, Xte, _ = _data("breast_cancer")
    est = IsolationForest(n_estimators=25, random_state=0, **kw).fit(Xtr)
    m = _conform(est, np.vstack([Xte, Xtr]), method, compilers=not kw)
    assert m.signature.task == "outlier_detector" and m.signature.has_score_samples
    if kw:  # features subsampled: the trees' columns are mapped back to the inputs
        assert any(len(f) < Xtr.shape[1] for f in est.estimators_features_)


def _categorical_data(n=600, seed=0):
    rng = np.random.default_rng(seed)
    X = np.c_[rng.integers(0, 12, n), rng.normal(size=n), rng.integers(3, 40, n) * 2,
              rng.normal(size=n)].astype(np.float32)
    y = ((X[:, 0] % 3 == 0) ^ (X[:, 1] > 0) ^ (X[:, 2] % 8 == 0)).astype(int)
    X[rng.random(X.shape) < 0.08] = np.nan
    return X, y


def _adversarial_categories(X):
    Xt = X.copy()
    Xt[0:20, 0] = 13.0  # unknown category
    Xt[20:40, 2] = -2.0  # negative
    Xt[40:60, 0] = 2.5  # fractional
    Xt[60:70, 2] = 7.0  # odd: never seen
    Xt[70:80, 0] = np.finfo(np.float32).max
    Xt[80:90, 2] = 3e9  # beyond int32
    Xt[90:100, 0] = -0.0
    Xt[100:110, :] = np.nan
    return Xt


@pytest.mark.parametrize("how,method", [("indices", "loadable"), ("indices", "inline"),
                                        ("mask", "loadable")])
def test_hist_gradient_boosting_categorical(how, method):
    X, y = _categorical_data()
    cats = [0, 2] if how == "indices" else np.array([True, False, True, False])
    est = HistGradientBoostingClassifier(max_iter=20, categorical_features=cats,
                                         random_state=0).fit(X, y)
    Xt = _adversarial_categories(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns about unknown categories
        m = _conform(est, Xt, method, compilers=how == "indices")
    assert m.ir.cat_offset is not None and m.ir.cat_unknown_missing
    np.testing.assert_array_equal(raw_predict(read(est), Xt)["predict"], est.predict(Xt))


@pytest.mark.parametrize("method", METHODS)
def test_hist_gradient_boosting_categorical_multiclass_regressor(method):
    X, y = _categorical_data(seed=1)
    y3 = (np.nan_to_num(X[:, 0]) % 3).astype(int)
    est = HistGradientBoostingClassifier(max_iter=10, categorical_features=[0, 2],
                                         random_state=0).fit(X, y3)
    _conform(est, _adversarial_categories(X), method)
    yr = np.nan_to_num(X[:, 0]) * 2.0 + np.nan_to_num(X[:, 1])
    reg = HistGradientBoostingRegressor(max_iter=10, categorical_features=[0, 2],
                                        random_state=0).fit(X, yr)
    _conform(reg, _adversarial_categories(X), method)


def _threshold_probes(ir, X, rng, n_nodes=60):
    """Rows with one node's feature set exactly at its float32 threshold and at the two
    float32 neighbours."""
    probes = []
    for n in rng.choice(ir.n_nodes, min(n_nodes, ir.n_nodes), replace=False):
        t = ir.threshold[n]
        for v in (t, np.nextafter(t, np.float32(np.inf)), np.nextafter(t, np.float32(-np.inf))):
            r = X[rng.integers(len(X))].copy()
            r[ir.feature[n]] = v
            probes.append(r)
    return np.array(probes, dtype=np.float32)


@pytest.mark.parametrize("method", METHODS)
def test_missing_values_and_thresholds(method):
    """NaN routing (trained with and without NaN), values exactly at and next to the
    float32 thresholds, and +-inf (HistGradientBoosting accepts them)."""
    X, y = load_breast_cancer(return_X_y=True)
    X = X.astype(np.float32)
    rng = np.random.default_rng(3)
    Xn = X.copy()
    Xn[rng.random(X.shape) < 0.1] = np.nan
    for train in (X, Xn):
        hgb = HistGradientBoostingClassifier(max_iter=15, random_state=0).fit(train, y)
        P = _threshold_probes(microlearn.convert(hgb).ir, X, rng)
        P[::7, ::3] = np.nan
        P[1::11, ::5] = np.inf
        P[2::11, 1::5] = -np.inf
        _conform(hgb, P, method)
    # GradientBoosting (no NaN in scikit-learn 1.9): thresholds only
    gb = GradientBoostingClassifier(n_estimators=10, random_state=0).fit(X, y)
    _conform(gb, _threshold_probes(microlearn.convert(gb).ir, X, rng), method)


def test_raw_reference_equals_sklearn():
    """raw_predict(read(est), X) reproduces scikit-learn in float64 (to its own rounding)."""
    Xtr, ytr, Xte, _ = _data("wine")
    Xd, yd, Xdt, _ = _data("diabetes")
    cases = [
        (GradientBoostingClassifier(n_estimators=10, random_state=0).fit(Xtr, ytr), Xte),
        (HistGradientBoostingClassifier(max_iter=10).fit(Xtr, ytr), Xte),
        (AdaBoostClassifier(n_estimators=10, random_state=0).fit(Xtr, ytr), Xte),
        (GradientBoostingRegressor(n_estimators=10, random_state=0).fit(Xd, yd), Xdt),
        (HistGradientBoostingRegressor(max_iter=10, loss="gamma").fit(Xd, yd), Xdt),
        (AdaBoostRegressor(n_estimators=10, random_state=0).fit(Xd, yd), Xdt),
        (IsolationForest(n_estimators=10, random_state=0).fit(Xtr), Xte),
    ]
    for est, X in cases:
        ref = raw_predict(read(est), X)
        name = type(est).__name__
        if "proba" in ref:
            np.testing.assert_allclose(ref["proba"], est.predict_proba(X), rtol=0,
                                       atol=1e-12, err_msg=name)
            d = est.decision_function(X)
            np.testing.assert_allclose(ref["raw"].reshape(d.shape), d, rtol=1e-12,
                                       atol=1e-12, err_msg=name)
        if "regress" in ref:
            np.testing.assert_allclose(ref["regress"][:, 0], est.predict(X), rtol=1e-12,
                                       atol=1e-9, err_msg=name)
        if "score_samples" in ref:
            np.testing.assert_allclose(ref["score_samples"], est.score_samples(X), rtol=0,
                                       atol=1e-14, err_msg=name)
        np.testing.assert_array_equal(ref.get("predict", est.predict(X)), est.predict(X))


def test_near_tie_frequency():
    """How often could float32 rounding reorder the classes? Rows whose two top raw scores
    (binary: raw and the threshold) are within the derived bound, over the parity sets
    (the conformance tests assert that no row is mis-predicted)."""
    flagged, total = 0, 0
    for dataset in ("iris", "wine", "breast_cancer", "digits"):
        Xtr, ytr, Xte, _ = _data(dataset)
        X = np.vstack([Xtr, Xte])
        for make in CLASSIFIERS.values():
            est = make().fit(Xtr, ytr)
            ir = microlearn.convert(est).ir
            flagged += int(near_ties(ir, X).sum())
            total += len(X)
    assert flagged <= 0.001 * total, (flagged, total)


def test_unsupported_settings_raise():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ConversionError, match="init"):
        microlearn.convert(GradientBoostingClassifier(
            init=LogisticRegression(max_iter=500), n_estimators=3).fit(X, y))
    with pytest.raises(ConversionError, match="init"):
        microlearn.convert(GradientBoostingRegressor(
            init=LinearRegression(), n_estimators=3).fit(X, y))
    with pytest.raises(ConversionError, match="init"):
        microlearn.convert(GradientBoostingClassifier(
            init=DummyClassifier(strategy="stratified"), n_estimators=3).fit(X, y))
    # init="zero" and the default constant init are fine
    zero = GradientBoostingClassifier(init="zero", n_estimators=3).fit(X, y)
    _conform(zero, X.astype(np.float32), "loadable")
    with pytest.raises(ConversionError, match="base estimator"):
        microlearn.convert(AdaBoostClassifier(LogisticRegression(max_iter=500),
                                              n_estimators=3).fit(X, y))
    # categorical features with non-integer categories cannot be read on the device
    Xc = np.c_[np.where(X[:, 0] > 5.5, 0.5, 1.5), X[:, 1:]]
    est = HistGradientBoostingClassifier(max_iter=3, categorical_features=[0]).fit(Xc, y)
    with pytest.raises(ConversionError, match="non-negative integers"):
        microlearn.convert(est)


def test_section_layout_versions():
    """Plain forests keep the layout-0 section byte for byte; boosted ones are layout 2."""
    X, y = load_iris(return_X_y=True)
    gb = microlearn.convert(GradientBoostingClassifier(n_estimators=5).fit(X, y))
    hdr = tsec.read_header(tsec.section(gb.ir))
    assert hdr["layout"] == 2 and hdr["o_ext"] > 0
    ext = tsec.read_ext(tsec.section(gb.ir))
    assert ext["post"] == tsec.POST["softmax"] and ext["n_raw"] == 3
    assert ext["o_tree_output"] > 0  # one tree per class and stage: a column per tree
    from sklearn.ensemble import RandomForestClassifier
    rf = microlearn.convert(RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y))
    hdr = tsec.read_header(tsec.section(rf.ir))
    assert hdr["layout"] == 0 and hdr["o_ext"] == 0


def _stump(feature, threshold, left, right, default_left=False, categories=None):
    return RawTree(left=np.array([1, -1, -1]), right=np.array([2, -1, -1]),
                   feature=np.array([feature, 0, 0]), threshold=np.array([threshold, 0, 0]),
                   default_left=np.array([default_left, False, False]),
                   value=np.array([[0.0], [left], [right]]),
                   categories=categories)


@pytest.mark.parametrize("method", METHODS)
def test_from_raw_rules(method):
    """from_raw as the XGBoost / LightGBM readers use it: rule "<" at float32 thresholds,
    float64 thresholds, a missing-value sentinel, categorical sets, per-tree output
    columns, base scores, post transforms."""
    t32 = float(np.float32(0.3))
    t64 = 0.30000000000000004
    trees = [_stump(0, t32, 1.0, 2.0), _stump(1, t64, 0.25, -0.5, default_left=True),
             _stump(2, 0.0, 3.0, 5.0, categories=[np.array([1, 4, 40]), None, None])]
    for t, col in zip(trees, (0, 1, 2), strict=True):
        t.output = col
    ens = RawEnsemble(source="raw", kind="classifier", n_features=3, n_outputs=3,
                      trees=trees, rule="<", classes=np.array([0, 1, 2]),
                      base_score=np.array([0.5, -0.5, 0.0]), post="softmax",
                      missing=-999.0, invalid_category="missing")
    ir = from_raw(ens)
    assert ir.tree_output is not None and ir.missing_value == -999.0
    m = _model_of(ir, method)
    f32 = np.float32
    vals0 = [f32(t32), np.nextafter(f32(t32), f32(0)), np.nextafter(f32(t32), f32(1)),
             np.nan, -999.0]
    vals1 = [np.nextafter(f32(t64), f32(0)), f32(t64), f32(0.3), np.nan, -999.0]
    vals2 = [1.0, 4.0, 40.0, 2.0, 4.5, -1.0, np.nan, -999.0, 1e10, 41.0]
    rows = np.array([[a, b, c] for a in vals0 for b in vals1 for c in vals2], dtype=np.float32)
    ref = raw_predict(ens, rows)
    from microlearn.families.trees.ir import raw_sums
    raw, _, _ = raw_sums(ir, rows)
    np.testing.assert_allclose(raw, ref["raw"], rtol=0, atol=1e-6)
    np.testing.assert_array_equal(m.predict(rows), ref["predict"])
    np.testing.assert_allclose(m.predict_proba(rows), ref["proba"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(m.decision_function(rows), ref["raw"], rtol=0, atol=1e-6)
    _blob_equals_header(m, rows)


def _model_of(ir, method):
    """A Model of an IR built by from_raw (as the XGBoost / LightGBM converters do)."""
    from microlearn.families.trees import FAMILY
    from microlearn.model import Model, Step

    opts = {**FAMILY.options, "method": method}
    return Model([Step(FAMILY, ir, opts, FAMILY.signature(ir))])


def _blob_equals_header(m, X):
    from conformance import blob_runner

    data = m.to_blob()
    lib = m._lib()
    for name, width in m._widths().items():
        status, got = blob_runner().call(data, name, X, width)
        assert status == 0, name
        want = lib.call(name, X)
        got = got.reshape(want.shape)
        assert np.array_equal(got.view(np.uint32) if got.dtype == np.float32 else got,
                              want.view(np.uint32) if want.dtype == np.float32 else want), name


@pytest.mark.parametrize("method", METHODS)
def test_from_raw_regressors(method):
    """Rows per tree (no output column), sigmoid and exp posts, scale, a median."""
    trees = [_stump(0, 0.5, 1.0, -1.0), _stump(1, -0.25, 0.5, 2.0)]
    X = np.array([[0.5, -0.25], [0.6, -0.2], [np.nan, np.nan], [-np.inf, np.inf],
                  [0.4999, -0.2501]], dtype=np.float32)
    for post in ("identity", "sigmoid", "exp"):
        ens = RawEnsemble(source="raw", kind="regressor", n_features=2, n_outputs=1,
                          trees=trees, base_score=np.array([0.1]), scale=0.3, post=post)
        m = _model_of(from_raw(ens), method)
        np.testing.assert_allclose(m.predict(X), raw_predict(ens, X)["regress"][:, 0],
                                   rtol=1e-6, atol=1e-7)
        _blob_equals_header(m, X)
    ens = RawEnsemble(source="raw", kind="regressor", n_features=2, n_outputs=1,
                      trees=trees + [_stump(0, 0.0, 7.0, 8.0)], combine="weighted_median",
                      tree_weights=np.array([1.0, 2.0, 0.5]))
    m = _model_of(from_raw(ens), method)
    np.testing.assert_allclose(m.predict(X), raw_predict(ens, X)["regress"][:, 0], rtol=1e-7)
    _blob_equals_header(m, X)


# --- the layout-2 loader checks: each corruption alone is rejected --------------------------


def _corrupt(payload: bytes, at: int, fmt: str, value) -> bytes:
    import struct

    b = bytearray(payload)
    struct.pack_into(fmt, b, at, value)
    return bytes(b)


def test_layout2_loader_rejects_corrupt_blocks():
    """Every check of the boosted block in ml_trees__parse, one crafted file each (the
    unmodified file loads)."""
    from conformance import blob_runner

    from microlearn import blob

    runner = blob_runner()
    X, y = load_iris(return_X_y=True)
    Xc, yc = _categorical_data()

    def file(est):
        m = microlearn.convert(est)
        payload = tsec.section(m.ir)
        task = m.signature.task
        return payload, (lambda p: blob.write([blob.Section(1, task, m.n_features, p)]))

    gb, wrap_gb = file(GradientBoostingClassifier(n_estimators=3).fit(X, y))
    hgb, wrap_hgb = file(HistGradientBoostingClassifier(
        max_iter=5, categorical_features=[0, 2]).fit(Xc, yc))
    ada, wrap_ada = file(AdaBoostRegressor(n_estimators=4, random_state=0).fit(X, y))
    iso, wrap_iso = file(IsolationForest(n_estimators=3, random_state=0).fit(X))
    for p, wrap in ((gb, wrap_gb), (hgb, wrap_hgb), (ada, wrap_ada), (iso, wrap_iso)):
        assert runner.load(wrap(p)) == 0
    e = tsec.read_header(gb)["o_ext"]
    bad = [
        wrap_gb(_corrupt(gb, 88, "<I", 3)),  # unknown layout
        wrap_gb(_corrupt(gb, 92, "<I", len(gb))),  # block outside the section
        wrap_gb(_corrupt(gb, e + 0, "<I", 0)),  # post "mean" in a boosted block
        wrap_gb(_corrupt(gb, e + 0, "<I", 9)),  # unknown post
        wrap_gb(_corrupt(gb, e + 0, "<I", 6)),  # exp for a classifier
        wrap_gb(_corrupt(gb, e + 4, "<I", 1)),  # task != kind
        wrap_gb(_corrupt(gb, e + 8, "<I", 0)),  # n_raw 0
        wrap_gb(_corrupt(gb, e + 8, "<I", 4)),  # n_raw > n_outputs
        wrap_gb(_corrupt(gb, e + 12, "<I", 0x40)),  # unknown flag
        wrap_gb(_corrupt(gb, e + 12, "<I", 0x30)),  # category cast 3
        wrap_gb(_corrupt(gb, e + 56, "<I", 1)),  # reserved
        wrap_gb(_corrupt(gb, e + 32, "<I", len(gb))),  # base scores outside
        wrap_gb(_corrupt(gb, tsec.read_ext(gb)["o_tree_output"], "<H", 3)),  # column >= n_raw
        wrap_gb(_corrupt(gb, e + 52, "<I", tsec.read_ext(gb)["o_base"])),  # weights, no median
    ]
    ea = tsec.read_header(ada)["o_ext"]
    w = tsec.read_ext(ada)["o_tree_weights"]
    bad += [wrap_ada(_corrupt(ada, w, "<f", -1.0)), wrap_ada(_corrupt(ada, w, "<f", np.nan)),
            wrap_ada(_corrupt(ada, ea + 52, "<I", 0))]  # median without weights
    eh = tsec.read_header(hgb)["o_ext"]
    ext = tsec.read_ext(hgb)
    offs = np.frombuffer(hgb, dtype="<u4", count=tsec.read_header(hgb)["n_nodes"],
                         offset=ext["o_cat_offset"])
    k = int(np.flatnonzero(offs)[0])
    at = ext["o_cat_offset"] + 4 * k
    bad += [
        wrap_hgb(_corrupt(hgb, at, "<I", ext["n_cat_words"])),  # set index past the table
        wrap_hgb(_corrupt(hgb, ext["o_cat_bits"] + 4 * int(offs[k]), "<I", 0)),  # W = 0
        wrap_hgb(_corrupt(hgb, ext["o_cat_bits"] + 4 * int(offs[k]), "<I", 10**6)),  # W huge
        wrap_hgb(_corrupt(hgb, eh + 40, "<I", len(hgb))),  # cat_offset outside
    ]
    bad += [wrap_iso(_corrupt(iso, 0, "<I", 0))]  # an outlier detector's block, kind 0
    for i, data in enumerate(bad):
        assert runner.load(data) == -4, i  # ML_ERR_MODEL
