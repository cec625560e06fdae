"""Footprint and verification on emulated MCUs (QEMU), estimates, and the CLI."""

from __future__ import annotations

import subprocess
import sys

import joblib
import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_digits
from sklearn.ensemble import ExtraTreesRegressor, RandomForestClassifier

import microlearn
from microlearn import targets


def _need(target):
    reason = targets.unavailable_reason(target)
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="module")
def digits_rf():
    X, y = load_digits(return_X_y=True)
    X = X.astype(np.float32)
    rf = RandomForestClassifier(n_estimators=10, max_depth=10, random_state=0).fit(X[:1000],
                                                                                   y[:1000])
    return rf, X[1000:1100]


@pytest.mark.parametrize("target", ["cortex-m4f", "cortex-m0plus", "cortex-m7", "rv32imc"])
@pytest.mark.parametrize("method", ["loadable", "inline"])
def test_verify_on_target_classifier(digits_rf, target, method):
    _need(target)
    rf, X = digits_rf
    m = microlearn.convert(rf, method=method)
    X = X.copy()
    X[::9, 20] = np.nan
    r = m.verify_on_target(target, X)
    assert r.ok and r.agreement == 1.0 and r.n_rows == len(X)
    assert r.instructions > 0


@pytest.mark.parametrize("target", ["cortex-m4f", "cortex-m0plus"])
def test_verify_on_target_regressor(target):
    _need(target)
    X, y = load_diabetes(return_X_y=True)
    et = ExtraTreesRegressor(n_estimators=5, max_depth=8, random_state=0).fit(X, y)
    r = microlearn.convert(et).verify_on_target(target, X[:80])
    assert r.ok


def test_measured_footprint_budgets_and_determinism(digits_rf):
    """Byte sizes and QEMU instruction counts are deterministic: asserted as budgets
    (digits RandomForest, 10 trees, depth 10, Cortex-M4F)."""
    _need("cortex-m4f")
    rf, X = digits_rf
    loadable = microlearn.convert(rf, method="loadable")
    a = loadable.footprint("cortex-m4f", X)
    b = loadable.footprint("cortex-m4f", X)
    assert not a.estimated
    assert a == b
    assert a.ram_bytes == 0
    assert a.flash_bytes <= 6_500 and a.instructions <= 1_500
    inline = microlearn.convert(rf, method="inline").footprint("cortex-m4f", X)
    assert inline.instructions <= 530 and inline.flash_bytes <= 37_500
    # the estimate from the IR stays near the measurement
    est = loadable.footprint("cortex-m4f", X, estimate=True)
    assert est.estimated
    assert abs(est.flash_bytes - a.flash_bytes) <= 0.05 * a.flash_bytes
    assert abs(est.instructions - a.instructions) <= 0.25 * a.instructions


def test_without_toolchain_footprint_is_estimated(digits_rf, monkeypatch):
    rf, X = digits_rf
    m = microlearn.convert(rf)
    monkeypatch.setenv("PATH", "/nonexistent")
    r = m.footprint("cortex-m4f", X)
    assert r.estimated and "no toolchain" in r.note and r.flash_bytes > m.data_bytes
    with pytest.raises(targets.ToolchainNotFoundError, match="apt-get install"):
        m.verify_on_target("cortex-m4f", X)
    with pytest.raises(ValueError, match="target="):
        m.footprint("z80")


def test_cli_footprint(digits_rf, tmp_path):
    rf, _ = digits_rf
    joblib.dump(rf, tmp_path / "rf.joblib")
    r = subprocess.run([sys.executable, "-m", "microlearn", "footprint",
                        str(tmp_path / "rf.joblib"), "--target", "cortex-m4f", "--estimate"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "cortex-m4f" in r.stdout and "estimated" in r.stdout


@pytest.mark.parametrize("target", ["cortex-m0plus", "rv32imc", "cortex-m4f"])
def test_soft_float_integer_compare_edge_inputs(target):
    """Without an FPU the table engine compares integer keys of the float bits: equal to
    float comparison for every input, checked at and around every threshold and on
    signed zeros, subnormals, infinities and NaN (missing-value routing)."""
    _need(target)
    from parity import threshold_probe_rows
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=600, n_features=8, n_informative=6, n_classes=3,
                               random_state=0)
    X = X.astype(np.float32)
    X[::5, 0] = 0.0  # thresholds next to zero
    X[1::5, 0] = -1e-40
    X[2::5, 0] = 1e-40
    Xn = X.copy()
    Xn[::17, 3] = np.nan
    est = RandomForestClassifier(n_estimators=5, max_depth=8, random_state=0).fit(Xn, y)
    m = microlearn.convert(est, method="loadable")
    special = np.array([0.0, -0.0, 1e-45, -1e-45, np.inf, -np.inf, np.nan, 1e38, -1e38],
                       dtype=np.float32)
    rng = np.random.default_rng(0)
    edge = X[rng.integers(0, len(X), 200)].copy()
    mask = rng.random(edge.shape) < 0.3
    edge[mask] = rng.choice(special, size=int(mask.sum()))
    rows = np.vstack([threshold_probe_rows(est, X, max_nodes=150), edge])
    r = m.verify_on_target(target, rows)
    assert r.ok, (r.agreement, r.max_abs_diff)
    finite = np.nan_to_num(rows, nan=np.nan, posinf=np.finfo(np.float32).max,
                           neginf=-np.finfo(np.float32).max)
    np.testing.assert_array_equal(m.predict(rows), est.predict(finite))
