"""Linear models: converter from scikit-learn to :class:`~.ir.LinearIR`.

Every supported estimator predicts from ``X @ coef_.T + intercept_`` computed by
scikit-learn in float64 (the float32 input is cast to float64 exactly). The C computes
the same decision values in float32: ``d_j = fl(fl(sum_i fl(x_i w_ji)) + b_j)`` with
``w = float32(coef_)``, ``b = float32(intercept_)``, products summed in feature order.

Exactness and tolerances (``u = 2^-24``, ``n`` features, ``g = n u / (1 - n u)``,
``S_j = sum_i |x_i w_ji|``):

* **Decision values / regression outputs**:
  ``|d_j - D_j| <= E_j = err_k S_j + err_u (|d_j| + |b_j|) + err_tiny`` with
  ``err_k ~ (g + u)(1 + g)`` and ``err_u ~ u`` (coefficient rounding ``u S``, the float32
  sum ``g S``, intercept and final rounding ``u (|b| + |d|)``, plus underflow and
  scikit-learn's own float64 rounding; exact constants in :func:`.ir.error_constants`).
  The tolerance asserted for a data set is ``max E_j`` over its rows (when scikit-learn
  itself computes in float32, ``reference_float32``, twice that).
* **predict** (``exact=True``, default): the C computes ``E_j`` alongside ``d_j``; when
  the float32 winner is not separated from a rival (binary: from 0) by more than the sum
  of their bounds it recomputes those decision values in double from float64 tables
  and decides on them with scikit-learn's rule: binary ``d > 0 -> classes_[1]`` (a
  tie ``d == 0`` gives ``classes_[0]``); otherwise the first maximum (numpy ``argmax``;
  ``OneVsRestClassifier`` 1.9 iterates its estimators in reverse to match it). The answer
  then equals scikit-learn's unless scikit-learn's float64 value is itself within
  float64 rounding (``~ n 2^-53 S``) of the tie, where its answer depends on its BLAS
  summation order. ``exact=False`` decides on the float32 values (no float64 tables).
* **predict_proba** (``E = max_j E_j``, ``k`` classes):

  - sigmoid (binary logistic): ``|dp| <= E / 4 + 6u``
    (slope <= 1/4; ``expf`` <= 2u relative, ``1 + t`` and the division u each,
    ``1 - p`` one more u);
  - softmax: ``|dp_j| <= 2E(1 + 2E) + (k + 5) u``
    (``|d log p_j| <= 2E``; ``expf``, the shift ``d_j - max`` (<= u |d_j - max|, times
    ``p_j`` <= u/e), the k-term sum and the division);
  - one-vs-rest normalised sigmoids: ``|dp_j| <= 2E(1 + 2E) + (k + 10) u``
    (each sigmoid relative error <= E + 4u, the ratio doubles it, plus the sum and
    division; below ``max d = -20`` the C uses the softmax form, whose relative error
    vs. the ratio of sigmoids is < exp(-20) < u/8; below ``max d = -709.78``, where
    every float64 sigmoid is 0, both return uniform probabilities, or zeros for
    ``OneVsRestClassifier``, which leaves rows summing to 0 unnormalised);
  - modified Huber, binary: ``|dp| <= E / 2 + 2u``; multiclass with float32 sum of
    clipped values ``s >= 1/4``: ``|dp_j| <= 4 ((k + 1)(E / 2 + 2u) + k^2 u) + u``;
    rows with ``s < 1/4`` are recomputed in double (``exact=True``; with
    ``exact=False`` they have no useful bound).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import ConversionError
from .ir import LinearIR

CLASSIFIERS = (
    "LogisticRegression",
    "LogisticRegressionCV",
    "RidgeClassifier",
    "RidgeClassifierCV",
    "SGDClassifier",
    "Perceptron",
    "PassiveAggressiveClassifier",
    "LinearSVC",
    "LinearDiscriminantAnalysis",
    "OneVsRestClassifier",
)
REGRESSORS = (
    "LinearRegression",
    "Ridge",
    "RidgeCV",
    "Lasso",
    "LassoCV",
    "ElasticNet",
    "ElasticNetCV",
    "MultiTaskLasso",
    "MultiTaskLassoCV",
    "MultiTaskElasticNet",
    "MultiTaskElasticNetCV",
    "Lars",
    "LarsCV",
    "LassoLars",
    "LassoLarsCV",
    "LassoLarsIC",
    "OrthogonalMatchingPursuit",
    "OrthogonalMatchingPursuitCV",
    "BayesianRidge",
    "ARDRegression",
    "HuberRegressor",
    "SGDRegressor",
    "PassiveAggressiveRegressor",
    "LinearSVR",
)
#: scikit-learn classes handled by this module (by name).
SUPPORTED = CLASSIFIERS + REGRESSORS

OPTIONS = {"exact": True}

F32_MAX = float(np.finfo(np.float32).max)
F32_MIN = float(np.finfo(np.float32).tiny)


def _check_table(name: str, values: np.ndarray) -> None:
    """The float32 rounding of every value is within u relative (normal range, finite)."""
    a = np.abs(values)
    if not np.all(np.isfinite(values)):
        raise ConversionError(f"{name} has non-finite values; supported: finite coefficients")
    bad = (a > F32_MAX) | ((a > 0) & (a < F32_MIN))
    if np.any(bad):
        raise ConversionError(
            f"{name} has values outside the float32 normal range "
            f"({a[bad].flat[0]:.3g}); supported: 0 or {F32_MIN:.3g} <= |value| <= {F32_MAX:.3g}")


def _check_options(options: dict) -> bool:
    exact = options.get("exact", True)
    if not isinstance(exact, (bool, np.bool_)):
        raise ValueError(f"exact={exact!r} must be True or False")
    return bool(exact)


def _proba_kind(est: Any, n_classes: int) -> str:
    """How ``est.predict_proba`` maps decision values to probabilities."""
    mro = {c.__name__ for c in type(est).__mro__}
    if "LogisticRegression" in mro or "LinearDiscriminantAnalysis" in mro:
        return "logistic" if n_classes == 2 else "softmax"
    if "SGDClassifier" in mro:
        if est.loss == "log_loss":
            return "logistic"
        if est.loss == "modified_huber":
            return "modified_huber"
    return "none"


def _has_predict_proba(est: Any) -> bool:
    try:
        return hasattr(est, "predict_proba")
    except Exception:  # available_if raising something else
        return False


def _classifier(est: Any, exact: bool) -> LinearIR:
    name = type(est).__name__
    lb = getattr(est, "_label_binarizer", None)
    if lb is not None and str(getattr(lb, "y_type_", "")).startswith("multilabel"):
        raise ConversionError(f"{name} fitted on multilabel targets is not supported; "
                              "supported: binary or multiclass targets")
    classes = np.asarray(est.classes_)
    coef = np.atleast_2d(np.asarray(est.coef_))
    ref32 = coef.dtype == np.float32
    coef = coef.astype(np.float64)
    n_rows = 1 if len(classes) == 2 else len(classes)
    if len(classes) < 2 or coef.shape[0] != n_rows:
        raise ConversionError(f"{name}: coef_ has {coef.shape[0]} rows for {len(classes)} "
                              f"classes; supported: 1 row (2 classes) or one per class")
    intercept = np.broadcast_to(np.asarray(est.intercept_, dtype=np.float64),
                                (n_rows,)).copy()
    proba = _proba_kind(est, len(classes)) if _has_predict_proba(est) else "none"
    return _make(est, "classifier", coef, intercept, classes, proba, False, False, ref32, exact)


def _one_vs_rest(est: Any, exact: bool) -> LinearIR:
    from sklearn.linear_model._base import LinearClassifierMixin

    if getattr(est, "multilabel_", False):
        raise ConversionError("OneVsRestClassifier fitted on multilabel targets is not "
                              "supported; supported: binary or multiclass targets")
    subs = list(est.estimators_)
    classes = np.asarray(est.classes_)
    ok = all(isinstance(e, LinearClassifierMixin) and len(getattr(e, "classes_", ())) == 2
             and np.asarray(e.coef_).size == np.asarray(e.coef_).shape[-1] for e in subs)
    if not ok or len(subs) != (1 if len(classes) == 2 else len(classes)):
        kinds = sorted({type(e).__name__ for e in subs})
        raise ConversionError(
            f"OneVsRestClassifier.estimator_ kinds {kinds} are not supported; supported: "
            "binary linear classifiers (LogisticRegression, LinearSVC, SGDClassifier, ...) "
            "for every class")
    ref32 = any(np.asarray(e.coef_).dtype == np.float32 for e in subs)
    coef = np.vstack([np.asarray(e.coef_, dtype=np.float64).reshape(1, -1) for e in subs])
    intercept = np.array([float(np.ravel(np.asarray(e.intercept_, dtype=np.float64))[0])
                          for e in subs])
    # OvR.predict_proba normalises each estimator's predict_proba[:, 1]: the sigmoid of
    # logistic models, (clip(d) + 1) / 2 of modified Huber ones
    kinds = {_proba_kind(e, 2) if _has_predict_proba(e) else "none" for e in subs}
    proba = kinds.pop() if len(kinds) == 1 else "mixed"
    if proba == "mixed" or (proba == "none" and _has_predict_proba(est)):
        raise ConversionError(
            "OneVsRestClassifier.predict_proba of these estimators is not supported; "
            "supported: all LogisticRegression / SGDClassifier(loss='log_loss'), or all "
            "SGDClassifier(loss='modified_huber'), or estimators without predict_proba")
    return _make(est, "classifier", coef, intercept, classes, proba, True, False, ref32, exact)


def _regressor(est: Any, exact: bool) -> LinearIR:
    coef = np.asarray(est.coef_)
    ref32 = coef.dtype == np.float32
    output_2d = coef.ndim == 2
    coef = np.atleast_2d(coef).astype(np.float64)
    intercept = np.broadcast_to(np.asarray(est.intercept_, dtype=np.float64),
                                (coef.shape[0],)).copy()
    return _make(est, "regressor", coef, intercept, None, "none", False, output_2d, ref32, exact)


def _make(est: Any, task: str, coef: np.ndarray, intercept: np.ndarray,
          classes: np.ndarray | None, proba: str, empty_zero: bool, output_2d: bool,
          ref32: bool, exact: bool) -> LinearIR:
    _check_table("coef_", coef)
    _check_table("intercept_", intercept)
    if coef.shape[1] * 2.0**-24 >= 0.5 or coef.shape[1] >= 2**24:
        raise ConversionError(f"n_features={coef.shape[1]} is too large; supported: < 2^23")
    names = getattr(est, "feature_names_in_", None)
    return LinearIR(
        estimator=type(est).__name__,
        task=task,
        coef=np.ascontiguousarray(coef, dtype=np.float64),
        intercept=np.ascontiguousarray(intercept, dtype=np.float64),
        classes=classes,
        proba=proba,
        empty_zero=empty_zero and proba != "none",
        output_2d=output_2d,
        reference_float32=bool(ref32),
        exact=exact and task == "classifier",  # regressors need no fallback
        feature_names=tuple(str(n) for n in names) if names is not None else None,
    )


def from_sklearn(est: Any, options: dict | None = None) -> LinearIR:
    """Convert a fitted scikit-learn linear model to a :class:`LinearIR`.

    Parameters
    ----------
    est : estimator
        A fitted estimator of one of :data:`SUPPORTED` (or a subclass).
    options : dict, optional
        Family options (``{"exact": bool}``).

    Returns
    -------
    LinearIR

    Raises
    ------
    ConversionError
        For settings that cannot be converted (multilabel targets, non-linear
        OneVsRestClassifier members, coefficients outside the float32 range).
    ValueError
        For an invalid option value.
    """
    exact = _check_options(options or {})
    mro = [c.__name__ for c in type(est).__mro__]
    for cname in mro:
        if cname == "OneVsRestClassifier":
            return _one_vs_rest(est, exact)
        if cname in CLASSIFIERS:
            return _classifier(est, exact)
        if cname in REGRESSORS:
            return _regressor(est, exact)
    raise ConversionError(f"{type(est).__name__} is not a linear model; supported: "
                          f"{', '.join(SUPPORTED)}")
