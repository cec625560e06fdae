"""Public API, errors and the command line."""

from __future__ import annotations

import os
import subprocess
import sys

import joblib
import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import load_diabetes, load_iris
from sklearn.ensemble import BaggingClassifier, RandomForestClassifier
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

import microlearn
from microlearn import host_build


@pytest.fixture(scope="module")
def iris_rf():
    X, y = load_iris(return_X_y=True)
    return RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y), X, y


def test_repr_and_describe(iris_rf):
    est, X, _ = iris_rf
    m = microlearn.convert(est, method="loadable")
    r = repr(m)
    for s in ("RandomForestClassifier", "trees", "classifier", "n_features=4", "n_outputs=3",
              "method=loadable", "float32", f"data_bytes={m.data_bytes}"):
        assert s in r
    d = m.describe()
    assert "4 float32 features" in d and "3 classes" in d and "bytes of constant data" in d
    assert str(m) == d
    assert m.data_bytes > 0


def test_unfitted_and_unsupported():
    with pytest.raises(NotFittedError):
        microlearn.convert(RandomForestClassifier())
    with pytest.raises(microlearn.UnsupportedEstimatorError) as e:
        microlearn.convert(KMeans(n_clusters=2))
    msg = str(e.value)
    assert "KMeans" in msg and "RandomForestClassifier" in msg and "SVC" in msg
    # a supported estimator that is not fitted
    with pytest.raises(NotFittedError):
        microlearn.convert(LogisticRegression())
    X, y = load_iris(return_X_y=True)
    with pytest.raises(microlearn.UnsupportedEstimatorError, match="BaggingClassifier"):
        microlearn.convert(BaggingClassifier(n_estimators=2).fit(X, y))
    with pytest.raises(microlearn.ConversionError, match="multi-output classification"):
        microlearn.convert(DecisionTreeClassifier().fit(X, np.c_[y, y]))
    with pytest.raises(ValueError, match="method="):
        microlearn.convert(DecisionTreeClassifier().fit(X, y), method="fastest")


def test_input_validation(iris_rf):
    est, X, _ = iris_rf
    m = microlearn.convert(est)
    with pytest.raises(ValueError, match="X has 3 features, but this model expects 4"):
        m.predict(X[:, :3])
    with pytest.raises(ValueError, match="2D"):
        m.predict(X[0])
    with pytest.raises(ValueError, match="0 samples"):
        m.predict(X[:0])
    with pytest.raises(ValueError, match="numeric"):
        m.predict([["a", "b", "c", "d"]])
    reg = microlearn.convert(DecisionTreeRegressor().fit(*load_diabetes(return_X_y=True)))
    assert not hasattr(reg, "predict_proba")
    with pytest.raises(AttributeError):
        _ = reg.classes_


@pytest.mark.parametrize("bad", ["1model", "my-model", "", "int", "ml_x", "a b", "model\n"])
def test_invalid_names(iris_rf, tmp_path, bad):
    m = microlearn.convert(iris_rf[0])
    with pytest.raises(ValueError, match="name="):
        m.save(tmp_path / "x.h", name=bad)


def test_unwritable_output(iris_rf, tmp_path):
    m = microlearn.convert(iris_rf[0])
    with pytest.raises(OSError, match="cannot write"):
        m.save(tmp_path / "missing-dir" / "model.h")
    with pytest.raises(OSError, match="directory"):
        m.save(tmp_path)


def test_missing_compiler_is_a_clear_error(iris_rf, monkeypatch, tmp_path):
    monkeypatch.setenv("CC", "/nonexistent/cc")
    monkeypatch.setenv("MICROLEARN_CACHE_DIR", str(tmp_path))
    m = microlearn.convert(iris_rf[0])
    with pytest.raises(microlearn.CompilerNotFoundError, match="apt install gcc"):
        m.predict(iris_rf[1])


def test_host_build_is_cached(iris_rf, monkeypatch, tmp_path):
    monkeypatch.setenv("MICROLEARN_CACHE_DIR", str(tmp_path))
    m = microlearn.convert(iris_rf[0])
    p1 = host_build.compile_shared(m.c_source(), "model")
    mtime = p1.stat().st_mtime_ns
    p2 = host_build.compile_shared(m.c_source(), "model")
    assert p1 == p2 and p2.stat().st_mtime_ns == mtime
    assert len(list((tmp_path / "host").glob("*.so"))) == 1


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "microlearn", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


def test_cli_round_trip(iris_rf, tmp_path):
    est, X, _ = iris_rf
    joblib.dump(est, tmp_path / "rf.joblib")
    for method in ("inline", "loadable"):
        out = tmp_path / f"{method}.h"
        r = _cli("convert", str(tmp_path / "rf.joblib"), "-o", str(out), "--name", "iris",
                 "--method", method)
        assert r.returncode == 0, r.stderr
        assert "wrote" in r.stdout
        text = out.read_text()
        assert text == microlearn.convert(est, method=method).c_source("iris")
        assert "iris_predict_proba" in text
    r = _cli("info", str(tmp_path / "rf.joblib"))
    assert r.returncode == 0 and "RandomForestClassifier" in r.stdout
    r = _cli("convert", str(tmp_path / "rf.joblib"), "--format", "blob", "-o",
             str(tmp_path / "model.mlb"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "model.mlb").read_bytes() == microlearn.convert(est).to_blob()


def test_cli_errors(iris_rf, tmp_path):
    lr = KMeans(n_clusters=3, n_init=1, random_state=0).fit(iris_rf[1])
    joblib.dump(lr, tmp_path / "lr.joblib")
    r = _cli("convert", str(tmp_path / "lr.joblib"), "-o", str(tmp_path / "m.h"))
    assert r.returncode == 2 and "not supported" in r.stderr
    r = _cli("convert", str(tmp_path / "nope.joblib"), "-o", str(tmp_path / "m.h"))
    assert r.returncode == 2 and "does not exist" in r.stderr
    (tmp_path / "junk.joblib").write_bytes(b"not a pickle")
    r = _cli("convert", str(tmp_path / "junk.joblib"), "-o", str(tmp_path / "m.h"))
    assert r.returncode == 2 and "cannot load" in r.stderr
    joblib.dump(iris_rf[0], tmp_path / "rf.joblib")
    r = _cli("convert", str(tmp_path / "rf.joblib"), "-o", str(tmp_path / "m.h"), "--name", "9x")
    assert r.returncode == 2 and "not a valid C identifier" in r.stderr
    assert not os.path.exists(tmp_path / "m.h")
