"""Pipelines: the steps' kernels chained into one model (one C function per method, one
model file), equal to scikit-learn's Pipeline; and the errors for unsupported steps."""

from __future__ import annotations

import numpy as np
import pytest
from conformance import check_conformance
from parity import mean_tolerance
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_wine
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.feature_selection import SelectKBest
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.tree import DecisionTreeClassifier

import microlearn


def _split(X, y):
    return X[::2], y[::2], X[1::2]


@pytest.mark.parametrize("make", [
    lambda: make_pipeline(StandardScaler(), DecisionTreeClassifier(random_state=0)),
    lambda: make_pipeline(MinMaxScaler(), SelectKBest(k=8),
                          RandomForestClassifier(n_estimators=5, random_state=0)),
    lambda: make_pipeline(StandardScaler(), PCA(n_components=6, random_state=0),
                          DecisionTreeClassifier(max_depth=6, random_state=0)),
])
@pytest.mark.parametrize("data", [load_wine, load_breast_cancer, load_digits])
def test_classifier_pipelines(make, data):
    X, y = data(return_X_y=True)
    Xtr, ytr, Xte = _split(X, y)
    pipe = make().fit(Xtr, ytr)
    rows = np.vstack([Xtr, Xte]).astype(np.float32)
    m = check_conformance(pipe, rows, atol={"predict_proba": mean_tolerance(5, 1.0)})
    assert m.kind == "classifier" and len(m.steps) == len(pipe.steps)
    text = m.c_source("pipe")
    # one public predict for the whole pipeline; the steps' kernels inside
    assert text.count("static inline int32_t pipe_predict(") == 1
    assert "pipe__s0__transform" in text


def test_regressor_pipeline_and_transformer_only():
    X, y = load_diabetes(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), RandomForestRegressor(n_estimators=4,
                                                                 random_state=0)).fit(X, y)
    m = check_conformance(pipe, X, atol={"predict": mean_tolerance(4, float(np.abs(y).max()))})
    assert m.kind == "regressor"
    pre = make_pipeline(StandardScaler(), SelectKBest(k=5)).fit(X, y)
    t = check_conformance(pre, X, atol=0.0)
    assert t.kind == "transformer" and t.n_outputs == 5 and not hasattr(t, "predict")


def test_passthrough_steps_are_dropped():
    X, y = load_wine(return_X_y=True)
    pipe = Pipeline([("s", StandardScaler()), ("nothing", "passthrough"),
                     ("t", DecisionTreeClassifier(random_state=0))]).fit(X, y)
    m = check_conformance(pipe, X)
    assert len(m.steps) == 2


def test_unsupported_step_is_named():
    X, y = load_wine(return_X_y=True)
    pipe = make_pipeline(SimpleImputer(), DecisionTreeClassifier()).fit(X, y)
    with pytest.raises(microlearn.UnsupportedEstimatorError,
                       match=r"step 0 \('simpleimputer'\): SimpleImputer is not supported"):
        microlearn.convert(pipe)
    # a predictor before the last step
    bad = Pipeline([("t", DecisionTreeClassifier().fit(X, y)), ("s", StandardScaler())])
    with pytest.raises(microlearn.UnsupportedEstimatorError, match="only the last step"):
        microlearn.convert(bad)


def test_options_reach_the_family_that_owns_them():
    X, y = load_wine(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), DecisionTreeClassifier(random_state=0)).fit(X, y)
    m = microlearn.convert(pipe, method="inline")
    assert m.method == "inline"
    np.testing.assert_array_equal(m.predict(X), pipe.predict(X.astype(np.float32)))
    with pytest.raises(TypeError, match="unknown option"):
        microlearn.convert(pipe, quantize="int8")
    with pytest.raises(ValueError, match="method="):
        microlearn.convert(pipe, method="fastest")
