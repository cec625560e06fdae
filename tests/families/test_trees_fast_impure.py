"""Method "fast" on forests whose leaves are mostly impure (depth-limited forests): the
sparse leaf-row table and its add loop (the do-while form when every row has an entry,
the for form when a row is all zero), bit for bit equal to the other methods and to
scikit-learn. The flash / instruction budgets of such forests on Cortex-M4F are in
tests/test_peer_budgets.py."""

from __future__ import annotations

import numpy as np
import pytest
from parity import assert_parity, threshold_probe_rows
from sklearn.datasets import load_digits, make_classification
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

import microlearn
from microlearn import targets
from microlearn.families.trees import c_fast


def _digits():
    X, y = load_digits(return_X_y=True)
    return X.astype(np.float32), y


def _same_as_loadable(est, X) -> None:
    """fast's probabilities / outputs equal method loadable's bit for bit (same float32
    values summed in the same order), and both follow scikit-learn."""
    fast = microlearn.convert(est, method="fast")
    ref = microlearn.convert(est, method="loadable")
    assert_parity(est, fast, X)
    if fast.kind == "classifier":
        a, b = fast.predict_proba(X), ref.predict_proba(X)
    else:
        a, b = fast.predict(X), ref.predict(X)
    np.testing.assert_array_equal(a.view(np.uint32), b.view(np.uint32))


def test_depth_limited_forest_uses_sparse_rows_with_do_while_loop():
    X, y = _digits()
    est = RandomForestClassifier(n_estimators=12, max_depth=6, random_state=0).fit(X, y)
    m = microlearn.convert(est, method="fast")
    tab = c_fast.rows(m.ir)
    assert tab.start is not None, "digits forest of depth 6 should store sparse rows"
    assert np.diff(tab.start).min() >= 1
    assert "} while (ip != end);" in m.c_source("dm")
    # most leaves are impure: the row table is what this layout is about
    assert m.ir.leaf_values.shape[0] > 100
    _same_as_loadable(est, X)
    _same_as_loadable(est, threshold_probe_rows(est, X, max_nodes=300))


def test_five_class_depth_limited_forest_matches_other_methods():
    X, y = make_classification(n_samples=600, n_features=12, n_informative=8, n_classes=5,
                               random_state=0)
    X = X.astype(np.float32)
    est = RandomForestClassifier(n_estimators=15, max_depth=5, random_state=0).fit(X, y)
    _same_as_loadable(est, X)


def test_sparse_rows_with_an_all_zero_row_keep_the_guarded_loop():
    """A multi-output regressor leaf can be all zero: its sparse row is empty, so the
    add loop must test before the first entry (the do-while form would read one)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 6)).astype(np.float32)
    Y = np.zeros((400, 8))
    on = X[:, 0] > 0.3
    Y[on, 0] = np.round(X[on, 1] * 4)  # most outputs zero everywhere, some leaves all zero
    Y[X[:, 2] > 1.0, 5] = 2.5
    est = RandomForestRegressor(n_estimators=4, max_depth=4, random_state=0).fit(X, Y)
    m = microlearn.convert(est, method="fast")
    tab = c_fast.rows(m.ir)
    assert tab.start is not None and np.diff(tab.start).min() == 0, (
        "the model should have a sparse table with an empty row")
    src = m.c_source("zr")
    assert "do {" not in src and "for (; ip != end; ip++, vp++)" in src
    _same_as_loadable(est, X)


@pytest.mark.parametrize("n_classes", [3, 10])
def test_random_leaf_rows_all_classes_present(n_classes):
    """Adversarial rows: forests on noise (leaves with many classes, odd counts) on the
    training rows and on threshold probes."""
    rng = np.random.default_rng(n_classes)
    X = rng.normal(size=(500, 8)).astype(np.float32)
    y = rng.integers(0, n_classes, size=500)
    est = RandomForestClassifier(n_estimators=8, max_depth=5, random_state=0).fit(X, y)
    _same_as_loadable(est, X)
    _same_as_loadable(est, threshold_probe_rows(est, X, max_nodes=200))


@pytest.mark.parametrize("n_classes", [16, 20])
def test_sparse_rows_of_every_length_on_emulated_m4f(n_classes):
    """Rows of 2 to n_classes entries: up to 16 the Cortex-M4F adds them by a TBB jump into
    straight-line code, above that by the C loop; both bit-identical to the host's C (and
    the host to method loadable)."""
    reason = targets.unavailable_reason("cortex-m4f")
    if reason:
        pytest.skip(f"toolchain missing: {reason}")
    rng = np.random.default_rng(n_classes)
    X = rng.normal(size=(3000, 10)).astype(np.float32)
    y = rng.integers(0, n_classes, size=3000)
    est = RandomForestClassifier(n_estimators=6, max_depth=4, random_state=0).fit(X, y)
    m = microlearn.convert(est, method="fast")
    tab = c_fast.rows(m.ir)
    assert tab.start is not None
    longest = int(np.diff(tab.start).max())
    assert longest > 8 and (longest <= 16) == (n_classes == 16), longest
    rows = np.concatenate([X[:300], threshold_probe_rows(est, X, max_nodes=100)])
    rep = m.verify_on_target("cortex-m4f", rows)
    assert rep.ok and rep.agreement == 1.0, rep
    _same_as_loadable(est, rows)


@pytest.mark.parametrize("n_features,expected", [(20, 1), (64, 2), (70, 3), (120, 1)])
def test_input_banks_route_every_feature_and_nan(n_features, expected):
    """Features 32 * b .. are read through a pointer x + 32 * b (short loads on Thumb):
    every bank, both NaN signs and the NaN copies must give scikit-learn's answers."""
    rng = np.random.default_rng(n_features)
    X = rng.normal(size=(300, n_features)).astype(np.float32)
    y = (X[:, -1] + X[:, n_features // 2] - X[:, 0] > 0).astype(int) + (X[:, 5] > 0.5)
    est = RandomForestClassifier(n_estimators=6, max_depth=6, max_features=None,
                                 random_state=0).fit(X, y)
    m = microlearn.convert(est, method="fast")
    assert c_fast.nan_mode(m.ir) == "scan"
    assert c_fast.banks(m.ir) == expected
    if expected > 1:
        assert f"xr{expected - 1}" in m.c_source("bk")
    Xn = X[:60].copy()
    Xn[rng.random(Xn.shape) < 0.2] = np.nan
    Xn[::7, -1] = -np.nan
    for rows in (X, Xn, threshold_probe_rows(est, X, max_nodes=200)):
        _same_as_loadable(est, rows)


@pytest.mark.parametrize("target", ["cortex-m4f", "cortex-m0plus"])
def test_register_rows_and_banks_on_emulated_targets(target):
    """Dense register rows (the leaf stores the row offset on Thumb-2, the row id on
    Armv6-M) and three input banks, on the targets: bit-identical to the host and to
    scikit-learn, NaN rows included."""
    from microlearn import targets

    reason = targets.unavailable_reason(target)
    if reason:
        pytest.skip(f"toolchain missing: {reason}")
    X, y = make_classification(n_samples=500, n_features=70, n_informative=20, n_classes=5,
                               flip_y=0.3, random_state=1)
    X = X.astype(np.float32)
    est = RandomForestClassifier(n_estimators=6, max_depth=4, max_features=None,
                                 random_state=0).fit(X, y)
    m = microlearn.convert(est, method="fast")
    assert c_fast._register_rows(m.ir) and c_fast.banks(m.ir) == 3
    rows = np.vstack([X[:60], X[:20]])
    rows[60:][np.random.default_rng(0).random((20, 70)) < 0.2] = np.nan
    rep = m.verify_on_target(target, rows)
    assert rep.ok and rep.agreement == 1.0, rep
    np.testing.assert_array_equal(m.predict(rows), est.predict(rows))
