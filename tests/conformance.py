"""The conformance suite every family runs: one function, the same checks for all.

``check_conformance(estimator, X, atol=...)`` converts the estimator and asserts, on the
float32 rows X (the device's inputs):

1. every method scikit-learn's estimator has (``predict``, ``predict_proba``,
   ``decision_function``, ``score_samples``, ``transform``) exists on the model and no
   other does;
2. ``predict`` of classifiers and outlier detectors equals scikit-learn's exactly;
   regressors' ``predict`` and every continuous output is within ``atol`` (a float, or a
   dict per method) of scikit-learn's, with the same shape;
3. the model file (``to_blob``) run by the C loader and dispatcher (``ml_model.h``) gives
   bit-identical results to the generated header for every method;
4. (``compilers=True``) the header compiles with gcc, clang and g++ (as C++) under the
   strict warning set.

Tolerances are the family's stated ones: pass the bound the family derives (see its
``convert.py`` docstring), never a number tuned to make a test pass.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from support.blob_runner import BlobRunner

import microlearn
from microlearn.host_build import WARNING_FLAGS

METHODS = ("predict", "predict_proba", "decision_function", "score_samples", "transform")
_runner: BlobRunner | None = None


def blob_runner() -> BlobRunner:
    global _runner
    if _runner is None:
        _runner = BlobRunner()
    return _runner


def _sk(est: Any, method: str, X: np.ndarray) -> np.ndarray:
    return np.asarray(getattr(est, method)(X))


def _tol(atol: float | dict[str, float], method: str) -> float:
    if isinstance(atol, dict):
        return float(atol.get(method, atol.get("default", 0.0)))
    return float(atol)


def check_compilers(m: microlearn.Model, name: str = "model") -> None:
    """The header compiles with gcc, clang (C99) and g++ (C++11), strict warnings."""
    text = m.c_source(name)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "model.h").write_text(text)
        src = Path(tmp) / "use.c"
        src.write_text('#include "model.h"\nint use_model(const float *x);\n'
                       f"int use_model(const float *x) {{ return (int){name}_N_FEATURES + "
                       "(x != 0); }\n")
        for cc, extra in (("gcc", []), ("clang", []), ("g++", ["-x", "c++", "-std=c++11"])):
            if shutil.which(cc) is None:
                continue
            flags = [f for f in WARNING_FLAGS if not (cc == "g++" and f == "-std=c99")]
            cmd = [cc, *flags, *extra, "-c", str(src), "-o", str(Path(tmp) / "use.o")]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            assert proc.returncode == 0, f"{cc} rejects the header:\n{proc.stderr[-3000:]}"


def check_conformance(est: Any, X: Any, *, atol: float | dict[str, float] = 0.0,
                      options: dict | None = None, blob: bool = True,
                      compilers: bool = False) -> microlearn.Model:
    """Convert ``est`` and assert the shared contract on rows X (see the module doc).

    Returns the converted model for family-specific checks.
    """
    m = microlearn.convert(est, **(options or {}))
    X = np.ascontiguousarray(np.asarray(X, dtype=np.float32))
    sig = m.signature
    results: dict[str, np.ndarray] = {}
    for method in METHODS:
        sk_has = hasattr(est, method)
        if method in ("predict", "score_samples") and sig.task == "transformer":
            # not converted for transformers (PCA.score_samples: probabilistic PCA)
            sk_has = False
        if method == "transform" and sig.task != "transformer":
            # a predictor's transform is not converted (LinearDiscriminantAnalysis)
            sk_has = False
        assert hasattr(m, method) == sk_has, (
            f"{type(est).__name__}: model has {method}: {hasattr(m, method)}, "
            f"scikit-learn: {sk_has}")
        if not sk_has:
            continue
        ours = np.asarray(getattr(m, method)(X))
        ref = _sk(est, method, X)
        assert ours.shape == ref.shape, f"{method}: shape {ours.shape} != {ref.shape}"
        results[method] = ours
        if method == "predict" and sig.task in ("classifier", "outlier_detector"):
            bad = np.flatnonzero(ours != ref)
            assert bad.size == 0, (
                f"{type(est).__name__}.predict differs on {bad.size}/{len(X)} rows "
                f"(first: row {bad[0]}: ours {ours[bad[0]]!r}, sklearn {ref[bad[0]]!r})")
        else:
            np.testing.assert_allclose(ours.astype(np.float64), ref.astype(np.float64),
                                       rtol=0, atol=_tol(atol, method),
                                       err_msg=f"{type(est).__name__}.{method}")
    if blob:
        runner = blob_runner()
        data = m.to_blob()
        info = runner.info(data)
        assert info["n_features"] == m.n_features and info["n_outputs"] == m.n_outputs
        lib = m._lib()
        for method, width in m._widths().items():
            c_method = method
            status, got = runner.call(data, c_method, X, width)
            assert status == 0, f"model file {method}: C error {status}"
            want = lib.call(method, X)
            if method == "predict":
                np.testing.assert_array_equal(got, want, err_msg="model file predict")
            else:
                got = got[:, 0] if want.ndim == 1 else got
                assert np.array_equal(got.view(np.uint32), want.view(np.uint32)), (
                    f"model file {method} differs from the header: max "
                    f"{np.nanmax(np.abs(got - want))}")
        if sig.task == "regressor":
            status, got = runner.call(data, "regress", X, m.n_outputs)
            assert status == 0
    if compilers:
        check_compilers(m)
    return m
