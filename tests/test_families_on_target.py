"""One model per family (and a pipeline) on emulated Cortex-M4F and Cortex-M0+: the
generated C run in QEMU gives bit-identical outputs to the host build, whose predictions
equal scikit-learn's; and the footprint is measured (not estimated)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.covariance import EllipticEnvelope
from sklearn.datasets import load_diabetes, load_iris, load_wine
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.mixture import GaussianMixture
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

import microlearn
from microlearn import families, targets


def _models():
    X, y = load_iris(return_X_y=True)
    Xw, yw = load_wine(return_X_y=True)
    Xd, yd = load_diabetes(return_X_y=True)
    out = [
        ("trees", DecisionTreeClassifier(max_depth=4, random_state=0).fit(X, y), X),
        ("linear", LogisticRegression(max_iter=500).fit(X, y), X),
        ("linear-regressor", Ridge().fit(Xd, yd), Xd),
        ("svm", SVC().fit(X, y), X),
        ("naive_bayes", GaussianNB().fit(X, y), X),
        ("mixture", GaussianMixture(3, random_state=0).fit(X), X),
        ("outliers", EllipticEnvelope(random_state=0).fit(X), X),
        ("pipeline", make_pipeline(StandardScaler(), PCA(4), LogisticRegression(max_iter=500))
         .fit(Xw, yw), Xw),
    ]
    if "neighbors" in families.FAMILIES:
        from sklearn.neighbors import KNeighborsClassifier

        out.append(("neighbors", KNeighborsClassifier(3).fit(X, y), X))
    return out


MODELS = _models()


@pytest.mark.parametrize("target", ["cortex-m4f", "cortex-m0plus"])
@pytest.mark.parametrize("name,est,X", MODELS, ids=[m[0] for m in MODELS])
def test_family_on_emulated_target(target, name, est, X):
    reason = targets.unavailable_reason(target)
    if reason:
        pytest.skip(f"toolchain missing: {reason}")
    rows = np.asarray(X[::8][:20], dtype=np.float32)
    m = microlearn.convert(est)
    rep = m.verify_on_target(target, rows)
    assert rep.ok, (name, target, rep)
    if m.kind in ("classifier", "outlier_detector"):
        np.testing.assert_array_equal(m.predict(rows), est.predict(rows))
    fp = m.footprint(target, rows)
    assert not fp.estimated and fp.flash_bytes > 0 and fp.instructions > 0
