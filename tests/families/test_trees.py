"""Tree family: C (host build) vs scikit-learn parity on real and adversarial inputs."""

from __future__ import annotations

import numpy as np
import pytest
from parity import assert_parity, threshold_probe_rows
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    load_wine,
    make_classification,
    make_regression,
)
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.tree import (
    DecisionTreeClassifier,
    DecisionTreeRegressor,
    ExtraTreeClassifier,
    ExtraTreeRegressor,
)

import microlearn
from microlearn.families.trees import c as codegen_c

METHODS = ["loadable", "inline"]


def _split(X, y):
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(X))
    cut = int(0.7 * len(X))
    X = np.asarray(X, dtype=np.float32)
    return X[idx[:cut]], y[idx[:cut]], X[idx[cut:]], y[idx[cut:]]


CLASSIFICATION = {
    "iris": lambda: load_iris(return_X_y=True),
    "wine": lambda: load_wine(return_X_y=True),
    "breast_cancer": lambda: load_breast_cancer(return_X_y=True),
    "digits": lambda: load_digits(return_X_y=True),
}
CLASSIFIERS = {
    "DecisionTreeClassifier": lambda: DecisionTreeClassifier(random_state=0),
    "ExtraTreeClassifier": lambda: ExtraTreeClassifier(random_state=0),
    "RandomForestClassifier": lambda: RandomForestClassifier(
        n_estimators=10, max_depth=10, random_state=0
    ),
    "ExtraTreesClassifier": lambda: ExtraTreesClassifier(n_estimators=10, random_state=0),
}
REGRESSION = {
    "diabetes": lambda: load_diabetes(return_X_y=True),
    "synthetic_3_outputs": lambda: make_regression(
        n_samples=400, n_features=12, n_targets=3, noise=5.0, random_state=0
    ),
}
REGRESSORS = {
    "DecisionTreeRegressor": lambda: DecisionTreeRegressor(random_state=0),
    "ExtraTreeRegressor": lambda: ExtraTreeRegressor(random_state=0),
    "RandomForestRegressor": lambda: RandomForestRegressor(
        n_estimators=10, max_depth=10, random_state=0
    ),
    "ExtraTreesRegressor": lambda: ExtraTreesRegressor(n_estimators=10, random_state=0),
}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("estimator", list(CLASSIFIERS))
@pytest.mark.parametrize("dataset", list(CLASSIFICATION))
def test_classifier_parity(dataset, estimator, method):
    Xtr, ytr, Xte, _ = _split(*CLASSIFICATION[dataset]())
    est = CLASSIFIERS[estimator]().fit(Xtr, ytr)
    m = microlearn.convert(est, method=method)
    assert_parity(est, m, Xte)
    assert_parity(est, m, Xtr)
    probes = threshold_probe_rows(est, Xtr)
    assert len(probes) > 0
    assert_parity(est, m, probes)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("estimator", list(REGRESSORS))
@pytest.mark.parametrize("dataset", list(REGRESSION))
def test_regressor_parity(dataset, estimator, method):
    Xtr, ytr, Xte, _ = _split(*REGRESSION[dataset]())
    est = REGRESSORS[estimator]().fit(Xtr, ytr)
    m = microlearn.convert(est, method=method)
    assert m.n_outputs == (1 if ytr.ndim == 1 else ytr.shape[1])
    assert_parity(est, m, Xte)
    assert_parity(est, m, threshold_probe_rows(est, Xtr))


@pytest.mark.parametrize("method", ["loadable", "inline", "fast", "branchless"])
@pytest.mark.parametrize("leaves", ["rows", "pure", "tree"])
def test_tied_sums_give_the_first_maximum(leaves, method):
    """Rows whose class sums tie exactly: predict is the first of the tied classes, as
    scikit-learn's argmax. rows: every point is in the training set twice with two
    labels, so every leaf holds 0.5 / 0.5 (the row-adding code); pure: one-hot leaves
    (vote counts); tree: one tree on the doubled points (every row ties). Ties among
    classes 1..3 (class 0 below them) are required too, where an argmax that kept the
    last maximum, or started from the wrong entry, would differ."""
    rng = np.random.default_rng(0)
    P = rng.normal(size=(200, 6)).astype(np.float32)
    a = rng.integers(0, 4, 200)
    b = (a + 1 + rng.integers(0, 3, 200)) % 4
    X, y = np.repeat(P, 2, axis=0), np.stack([a, b], 1).ravel()
    if leaves == "rows":
        est = RandomForestClassifier(n_estimators=3, bootstrap=False, max_features=2,
                                     random_state=0).fit(X, y)
    elif leaves == "tree":
        est = DecisionTreeClassifier(random_state=0).fit(X, y)
    else:
        est = RandomForestClassifier(n_estimators=4, random_state=0).fit(P, a)
    X_test = rng.normal(size=(400, 6)).astype(np.float32)
    proba = est.predict_proba(X_test)
    top = proba.max(axis=1)
    tied = (proba == top[:, None]).sum(axis=1) >= 2
    assert tied.sum() >= 50 and (tied & (proba[:, 0] < top)).sum() >= 20
    m = microlearn.convert(est, method=method)
    assert (m.ir.leaf_values.shape[0] > 0) == (leaves != "pure")
    np.testing.assert_array_equal(m.predict(X_test), est.predict(X_test))


@pytest.mark.parametrize("method", METHODS)
def test_threshold_semantics_float64_thresholds(method):
    """A threshold that is not a float32: values just below/above decide like sklearn."""
    X = np.array([[0.1], [0.2], [0.3], [0.4]], dtype=np.float32)
    y = np.array([0, 0, 1, 1])
    est = DecisionTreeClassifier().fit(X, y)
    t64 = est.tree_.threshold[0]  # midpoint of two float32 values: not a float32
    assert float(np.float32(t64)) != t64
    m = microlearn.convert(est, method=method)
    lo = np.float32(t64)
    lo = lo if float(lo) <= t64 else np.nextafter(lo, np.float32(-1))
    probe = np.array([[lo], [np.nextafter(lo, np.float32(1))], [np.float32(t64)]], np.float32)
    np.testing.assert_array_equal(m.predict(probe), est.predict(probe))
    np.testing.assert_array_equal(m.predict(probe), [0, 1, est.predict(probe[2:])[0]])


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("estimator", ["DecisionTreeClassifier", "RandomForestClassifier",
                                       "ExtraTreesClassifier"])
def test_nan_follows_sklearn_missing_value_routing(estimator, method):
    X, y = load_breast_cancer(return_X_y=True)
    X = X.astype(np.float32)
    rng = np.random.default_rng(1)
    Xtrain = X.copy()
    Xtrain[rng.random(X.shape) < 0.05] = np.nan  # trained with missing values
    for train in (X, Xtrain):
        est = CLASSIFIERS[estimator]().fit(train, y)
        m = microlearn.convert(est, method=method)
        Xnan = X.copy()
        Xnan[rng.random(X.shape) < 0.2] = np.nan
        Xnan[0, :] = np.nan
        assert_parity(est, m, Xnan)


@pytest.mark.parametrize("method", METHODS)
def test_infinities_compare_like_extreme_finite_values(method):
    """sklearn rejects inf; the C compares it like any number: +inf goes where FLT_MAX goes."""
    X, y = load_wine(return_X_y=True)
    est = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y)
    m = microlearn.convert(est, method=method)
    Xi = X[:40].astype(np.float32)
    Xi[::2, ::3] = np.inf
    Xi[1::2, 1::3] = -np.inf
    big = np.finfo(np.float32).max
    np.testing.assert_array_equal(m.predict(Xi), est.predict(np.clip(Xi, -big, big)))


@pytest.mark.parametrize("method", METHODS)
def test_string_labels_and_single_leaf_trees(method):
    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    est = RandomForestClassifier(n_estimators=7, random_state=0).fit(X, names)
    m = microlearn.convert(est, method=method)
    assert m.predict(X[:5]).dtype == names.dtype
    assert_parity(est, m, X)
    # a tree that is a single leaf
    stump = DecisionTreeClassifier(min_samples_split=10_000).fit(X, names)
    assert stump.tree_.node_count == 1
    ms = microlearn.convert(stump, method=method)
    assert_parity(stump, ms, X)
    # one class only: probability 1 for it
    one = DecisionTreeClassifier().fit(X, np.full(len(X), "only"))
    assert_parity(one, microlearn.convert(one, method=method), X)
    # constant regression target: single leaf regressor
    reg = RandomForestRegressor(n_estimators=3, random_state=0).fit(X, np.full(len(X), 2.5))
    assert_parity(reg, microlearn.convert(reg, method=method), X)


@pytest.mark.parametrize("method", METHODS)
def test_many_classes_and_features(method):
    X, y = make_classification(
        n_samples=3000, n_features=320, n_informative=40, n_classes=42,
        n_clusters_per_class=1, random_state=0,
    )
    est = RandomForestClassifier(n_estimators=8, max_depth=12, random_state=0).fit(X, y)
    m = microlearn.convert(est, method=method)
    assert m.n_outputs == 42 and m.n_features == 320
    assert_parity(est, m, X[:1000])
    assert_parity(est, m, threshold_probe_rows(est, X, max_nodes=200))


def test_large_forest_50k_nodes():
    X, y = make_classification(n_samples=20000, n_features=20, n_informative=12,
                               n_classes=4, flip_y=0.2, random_state=0)
    est = RandomForestClassifier(n_estimators=20, random_state=0, n_jobs=2).fit(X, y)
    m = microlearn.convert(est, method="loadable")
    assert m.ir.n_nodes >= 50_000
    # node indices beyond 32767 need 32-bit child codes: no hidden 32k-node limit
    assert codegen_c.child_bytes(m.ir) == 4
    assert_parity(est, m, X[:3000])


def test_large_forest_inline():
    X, y = make_classification(n_samples=6000, n_features=20, n_informative=12,
                               n_classes=3, flip_y=0.2, random_state=1)
    est = ExtraTreesClassifier(n_estimators=4, random_state=0).fit(X, y)
    m = microlearn.convert(est, method="inline")
    assert m.ir.n_nodes >= 10_000
    assert_parity(est, m, X[:3000])


def test_identical_leaves_are_stored_once():
    X, y = load_digits(return_X_y=True)
    est = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)  # pure leaves
    ir = microlearn.convert(est).ir
    n_leaves = sum(int((t.tree_.children_left == -1).sum()) for t in est.estimators_)
    assert n_leaves > 1000
    # every pure leaf becomes one of the 10 one-hot ids: no table rows at all
    assert ir.leaf_values.shape[0] == 0 and ir.n_leaf_ids == 10
    reg = RandomForestRegressor(n_estimators=5, max_depth=4, random_state=0).fit(X, y % 3)
    rir = microlearn.convert(reg).ir
    values = np.concatenate([t.tree_.value[t.tree_.children_left == -1, :, 0]
                             for t in reg.estimators_]).astype(np.float32)
    assert rir.leaf_values.shape[0] == len(np.unique(values, axis=0))


def test_exact_predict_flag():
    """Forests of pure leaves sum exactly in float32 (predict provably equals sklearn's);
    depth-limited forests with fractional leaves do not, and say so."""
    X, y = load_digits(return_X_y=True)
    pure = microlearn.convert(RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y))
    assert pure.exact_predict and "for every float32 input" in pure.describe()
    limited = microlearn.convert(
        RandomForestClassifier(n_estimators=10, max_depth=5, random_state=0).fit(X, y))
    assert not limited.exact_predict and "near-ties" in limited.describe()
    single = microlearn.convert(DecisionTreeClassifier(max_depth=3).fit(X, y))
    assert single.exact_predict
    # halves and quarters are exact too
    Xs = np.array([[0.0], [0.0], [1.0], [1.0], [1.0], [1.0]])
    ys = np.array([0, 1, 0, 0, 0, 1])
    halves = RandomForestClassifier(n_estimators=3, bootstrap=False, random_state=0).fit(Xs, ys)
    assert microlearn.convert(halves).exact_predict
