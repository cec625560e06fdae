"""Preprocessing family: scikit-learn transformers -> :class:`PreprocessingIR`.

What scikit-learn 1.9 computes for a float32 input ``X`` (its transforms keep float32),
and what the C does:

=====================  =====================================================  ==========
estimator              scikit-learn (``X`` float32)                            C output
=====================  =====================================================  ==========
StandardScaler         ``X -= float32(mean_); X /= float32(scale_)``: float32   identical
MinMaxScaler           ``X *= scale_; X += min_``; clip to feature_range        identical
MaxAbsScaler           ``X /= scale_``; clip to [-1, 1]                         identical
RobustScaler           ``X -= center_; X /= scale_``                            identical
selectors              ``X[:, get_support()]``                                  identical
Normalizer             ``X /= norm(X)`` (float32 norms; norm < 10 eps32 -> 1)   max:
                                                                                identical
PCA, IncrementalPCA    ``(X @ C.T - mean_ @ C.T) / sqrt(explained_variance_)``  tolerance
TruncatedSVD           ``X @ C.T``                                              tolerance
=====================  =====================================================  ==========

``X op= p`` with a float64 ``p`` (a scaler fitted on float64 data) is computed by numpy
in float64 and rounded to float32 after every operation. The C does the same operation
in float32 when ``p`` is a float32 value (then the float64 result rounded to float32 is
the float32 result: float64 carries more than 2 * 24 + 2 bits, so double rounding is
innocuous for + - * /), and in double otherwise (option ``scaler_arithmetic="exact"``,
the default). So every scaler and selector output is bit-identical to scikit-learn's.
StandardScaler casts its parameters to float32 itself, so it never needs double.

Option ``scaler_reference="float64"`` targets instead scikit-learn's transform of the
rows given as float64, rounded to float32: that is what the next step of a pipeline fed
float64 rows sees after its own float32 cast (a tree), and it differs from the float32
transform in 40-65 % of the outputs of a StandardScaler. The C then runs the whole
affine map in double on the float32 input (double tables, one rounding at the end), the
same float64 operations in the same order as numpy: bit-identical again. Normalizer, PCA
and selectors ignore the option (selectors and max-norm are exact either way; the
tolerances below bound the distance to both references, except that a float64 row norm
below 10 eps32 but above 10 eps64 is divided by scikit-learn and not by the C).

Tolerances, with u = 2^-24 and gamma_k = k u / (1 - k u) (asserted by the tests through
:func:`tolerance`):

* ``scaler_arithmetic="float32"`` (parameters rounded to float32, float32 operations):
  an error bound E and magnitude M are carried through the operations, starting from
  E = 0, M = |x|: subtracting/adding p gives E + u|p| (rounded parameter) + 2 u (M + |p|)
  (our and scikit-learn's rounding of the result), M + |p|; multiplying gives
  |p| (E + 3 u M); dividing gives (E + 3 u M) / |p| (times 1 + 2u for 1/(1 + delta));
  clipping is 1-Lipschitz. The bound is E (1 + 2^-20), covering second-order terms.
* Normalizer l2 / l1: both norms (ours: sequential float32 sums; numpy's: pairwise or
  SIMD order) have relative error <= gamma_n / 2 + u (l2: n rounded squares and n - 1
  additions of non-negative terms, halved by the square root, plus its rounding) or
  gamma_(n-1) (l1). Each output ``t_i / N`` is rounded once more by both, so
  |ours - sklearn| <= (2 e_N + 2u) |y| (1 + gamma_n) with e_N that norm bound. ``max``
  is exact in both (maximum, one correctly rounded division). Rows whose norm lies
  within that relative error of 10 eps32 may take the other side of scikit-learn's
  tiny-norm rule (not bounded; measured zero on the data sets).
* PCA: the C computes t_i = fl(x_i - m32_i) (m32 = float32(mean_)), then
  sum_i t_i w32_ji in float32, index order, where w = components_ / sqrt(variance)
  (whiten folded in, clipped like scikit-learn, rounded once to float32). With
  d_i = x_i - m_i: |t_i - d_i| <= u (|d_i| + |m_i|)(1 + u), and each product and the
  running sum add gamma_(n+1) |t_i w_ji|, so |ours - exact| <= gamma_(n+2) sum_i |w_ji|
  (|d_i| + |m_i|). scikit-learn's own error (float64, or float32 when the PCA was fitted
  on float32 data: gamma_(n+2) sum_i |w_ji| (|x_i| + |m_i|) with its unit roundoff) is
  added. TruncatedSVD is the case m = 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import ConversionError
from .ir import PreprocessingIR

U32 = 2.0**-24
U64 = 2.0**-53

#: the ``scaler_arithmetic`` option's values
ARITHMETIC = ("exact", "float32")
#: the ``scaler_reference`` option's values
REFERENCES = ("float32", "float64")

SCALERS = ("StandardScaler", "MinMaxScaler", "MaxAbsScaler", "RobustScaler")
PROJECTIONS = ("PCA", "IncrementalPCA", "TruncatedSVD")
SELECTORS = (
    "VarianceThreshold", "SelectKBest", "SelectPercentile", "SelectFpr", "SelectFdr",
    "SelectFwe", "GenericUnivariateSelect", "SelectFromModel", "RFE", "RFECV",
    "SequentialFeatureSelector", "SelectorMixin",
)
#: scikit-learn classes this family converts (``SelectorMixin`` catches any selector)
SUPPORTED = SCALERS + ("Normalizer",) + PROJECTIONS + SELECTORS


def gamma(k: int, u: float = U32) -> float:
    """gamma_k = k u / (1 - k u): bound on the relative error of k roundings."""
    return k * u / (1.0 - k * u)


def _param(p: Any, arithmetic: str) -> np.ndarray:
    """A scaler parameter as the C stores it: float32 when that is exact (or forced)."""
    a = np.asarray(p)
    if a.dtype == np.float32 or arithmetic == "float32":
        return a.astype(np.float32)
    a = a.astype(np.float64)
    with np.errstate(over="ignore"):
        a32 = a.astype(np.float32)
    if np.array_equal(a32.astype(np.float64), a):
        return a32
    return a


def _exactly(p: Any, stored: np.ndarray) -> bool:
    """The stored parameter gives scikit-learn's float32 result exactly."""
    return stored.dtype == np.float64 or np.array_equal(
        stored.astype(np.float64), np.asarray(p, dtype=np.float64))


def _names(est: Any) -> tuple[str, ...] | None:
    names = getattr(est, "feature_names_in_", None)
    return None if names is None else tuple(str(n) for n in names)


def _scaler_float64(est: Any, name: str) -> PreprocessingIR:
    """The scaler as scikit-learn computes it on float64 rows: one double affine map."""
    center = scale = offset = None
    scale_op = clip = None
    if name == "StandardScaler":
        if est.with_mean and getattr(est, "mean_", None) is not None:
            center = est.mean_
        if est.with_std and getattr(est, "scale_", None) is not None:
            scale, scale_op = est.scale_, "div"
    elif name == "MinMaxScaler":
        scale, offset, scale_op = est.scale_, est.min_, "mul"
        if est.clip:
            # clipping the float64 value, then rounding, equals rounding, then clipping
            # to the rounded bounds (rounding is monotone)
            clip = tuple(float(np.float32(v)) for v in est.feature_range)
    elif name == "MaxAbsScaler":
        scale, scale_op = est.scale_, "div"
        if getattr(est, "clip", False):
            clip = (-1.0, 1.0)
    else:
        if est.with_centering and getattr(est, "center_", None) is not None:
            center = est.center_
        if est.with_scaling and getattr(est, "scale_", None) is not None:
            scale, scale_op = est.scale_, "div"
    f64 = [None if p is None else np.asarray(p, dtype=np.float64) for p in (center, scale,
                                                                          offset)]
    if not all(p is None or np.all(np.isfinite(p)) for p in f64):
        raise ConversionError(f"{name}: fitted parameters are not finite")
    return PreprocessingIR(
        estimator=name, n_features=int(est.n_features_in_), center=f64[0], scale=f64[1],
        scale_op=scale_op, offset=f64[2], clip=clip,
        fused64=any(p is not None for p in f64), exact=True, reference="float64",
        feature_names=_names(est),
    )


def _scaler(est: Any, name: str, arithmetic: str, reference: str) -> PreprocessingIR:
    if reference == "float64":
        return _scaler_float64(est, name)
    n = int(est.n_features_in_)
    center = scale = offset = None
    refs: dict[str, np.ndarray] = {}
    scale_op = clip = None
    if name == "StandardScaler":
        # scikit-learn casts mean_ and scale_ to X.dtype (float32) before operating
        if est.with_mean and getattr(est, "mean_", None) is not None:
            center, refs["ref_center"] = np.asarray(est.mean_).astype(np.float32), est.mean_
        if est.with_std and getattr(est, "scale_", None) is not None:
            scale, refs["ref_scale"] = np.asarray(est.scale_).astype(np.float32), est.scale_
            scale_op = "div"
        exact = True
    else:
        if name == "MinMaxScaler":
            scale, offset, scale_op = est.scale_, est.min_, "mul"
            if est.clip:
                lo, hi = est.feature_range
                clip = (float(np.float32(lo)), float(np.float32(hi)))
        elif name == "MaxAbsScaler":
            scale, scale_op = est.scale_, "div"
            if getattr(est, "clip", False):
                clip = (-1.0, 1.0)
        else:  # RobustScaler
            if est.with_centering and getattr(est, "center_", None) is not None:
                center = est.center_
            if est.with_scaling and getattr(est, "scale_", None) is not None:
                scale, scale_op = est.scale_, "div"
        for key, p in (("ref_center", center), ("ref_scale", scale), ("ref_offset", offset)):
            if p is not None:
                refs[key] = np.asarray(p, dtype=np.float64)
        center = None if center is None else _param(center, arithmetic)
        scale = None if scale is None else _param(scale, arithmetic)
        offset = None if offset is None else _param(offset, arithmetic)
        exact = all(_exactly(refs[k], v) for k, v in (("ref_center", center),
                    ("ref_scale", scale), ("ref_offset", offset)) if v is not None)
    if center is None and scale is None and offset is None and clip is None:
        # identity (with_mean=False, with_std=False): still a valid transform
        pass
    if scale is not None and not np.all(np.isfinite(scale)) or (
        center is not None and not np.all(np.isfinite(center))
    ) or (offset is not None and not np.all(np.isfinite(offset))):
        raise ConversionError(f"{name}: fitted parameters are not finite")
    return PreprocessingIR(
        estimator=name, n_features=n, center=center, scale=scale, scale_op=scale_op,
        offset=offset, clip=clip, exact=exact, tolerance=refs, feature_names=_names(est),
    )


def _normalizer(est: Any) -> PreprocessingIR:
    if est.norm not in ("l1", "l2", "max"):
        raise ConversionError(f"Normalizer: norm={est.norm!r} is not supported; supported: "
                              "'l1', 'l2', 'max'")
    return PreprocessingIR(
        estimator="Normalizer", n_features=int(est.n_features_in_), norm=est.norm,
        exact=est.norm == "max", feature_names=_names(est),
    )


def _projection(est: Any, name: str) -> PreprocessingIR:
    comps = np.asarray(est.components_)
    ref32 = comps.dtype == np.float32
    w = comps.astype(np.float64)
    center = ref_center = None
    if name != "TruncatedSVD":
        ref_center = np.asarray(est.mean_, dtype=np.float64)
        center = np.asarray(est.mean_).astype(np.float32)
        if est.whiten:
            ev = np.asarray(est.explained_variance_)
            s = np.sqrt(ev)  # in scikit-learn's dtype, clipped like _BasePCA._transform
            s = np.where(s < np.finfo(s.dtype).eps, np.finfo(s.dtype).eps, s)
            w = w / s.astype(np.float64)[:, None]
    if not np.all(np.isfinite(w)) or (center is not None and not np.all(np.isfinite(center))):
        raise ConversionError(f"{name}: fitted components are not finite")
    with np.errstate(over="ignore"):
        matrix = w.astype(np.float32)
    if not np.all(np.isfinite(matrix)):
        raise ConversionError(f"{name}: a component weight overflows float32")
    refs = {"ref_matrix": w, "ref_float32": ref32}
    if ref_center is not None:
        refs["ref_center"] = ref_center
    return PreprocessingIR(
        estimator=name, n_features=int(est.n_features_in_), center=center, matrix=matrix,
        exact=False, tolerance=refs, feature_names=_names(est),
    )


def _selector(est: Any, name: str) -> PreprocessingIR:
    idx = np.asarray(est.get_support(indices=True), dtype=np.int64)
    n = int(est.n_features_in_)
    if idx.size == 0:
        raise ConversionError(f"{name}: no feature is selected (the transform has no "
                              "outputs); supported: selections of at least one feature")
    if n > 65535:
        raise ConversionError(f"{name}: n_features_in_={n} exceeds the supported 65535")
    return PreprocessingIR(estimator=name, n_features=n, gather=idx,
                           feature_names=_names(est))


def from_sklearn(estimator: Any, options: dict | None = None) -> PreprocessingIR:
    """Convert a fitted scikit-learn transformer.

    Parameters
    ----------
    estimator : fitted StandardScaler, MinMaxScaler, MaxAbsScaler, RobustScaler,
        Normalizer, PCA, IncrementalPCA, TruncatedSVD or any feature selector
        (``SelectorMixin``: VarianceThreshold, SelectKBest, SelectFromModel, RFE, ...)
    options : dict, optional
        ``scaler_arithmetic``: ``"exact"`` (default: float32 operations where they give
        scikit-learn's result, double where a float64 parameter is not a float32 value)
        or ``"float32"`` (parameters rounded to float32; within :func:`tolerance`).
        ``scaler_reference``: ``"float32"`` (default: reproduce scikit-learn's transform
        of float32 rows) or ``"float64"`` (of the rows as float64, rounded to float32;
        needs ``scaler_arithmetic="exact"``).

    Returns
    -------
    PreprocessingIR

    Raises
    ------
    ValueError
        An option value is not allowed.
    ConversionError
        A setting the C cannot reproduce (unknown norm, empty selection, non-finite
        parameters, more than 65535 features for a selector).
    """
    options = dict(options or {})
    arithmetic = options.get("scaler_arithmetic", "exact")
    if arithmetic not in ARITHMETIC:
        raise ValueError(f"scaler_arithmetic={arithmetic!r} must be one of {ARITHMETIC}")
    reference = options.get("scaler_reference", "float32")
    if reference not in REFERENCES:
        raise ValueError(f"scaler_reference={reference!r} must be one of {REFERENCES}")
    if reference == "float64" and arithmetic != "exact":
        raise ValueError("scaler_reference='float64' needs scaler_arithmetic='exact' (the "
                         f"float64 map cannot be done in float32), got {arithmetic!r}")
    from sklearn.feature_selection import SelectorMixin

    name = type(estimator).__name__
    n = int(getattr(estimator, "n_features_in_", 0))
    if n < 1:
        raise ConversionError(f"{name}: n_features_in_ is missing (not fitted?)")
    if isinstance(estimator, SelectorMixin):
        return _selector(estimator, name)
    mro = {c.__name__ for c in type(estimator).__mro__ if c.__module__.startswith("sklearn")}
    for base in SCALERS:
        if base in mro:
            return _scaler(estimator, base, arithmetic, reference)
    if "Normalizer" in mro:
        return _normalizer(estimator)
    for base in PROJECTIONS:
        if base in mro:
            return _projection(estimator, base)
    raise ConversionError(f"{name} is not a transformer of the preprocessing family; "
                          f"supported: {', '.join(SUPPORTED)}")


def tolerance(ir: PreprocessingIR, X: np.ndarray) -> np.ndarray:
    """Per-output bound on |C transform - scikit-learn transform| for the float32 rows X.

    Zero where the output is bit-identical (``ir.exact``); otherwise the bounds derived in
    this module's docstring. NaN inputs give NaN outputs in both (not bounded here).

    Parameters
    ----------
    ir : PreprocessingIR
    X : array-like of shape (n_samples, n_features)

    Returns
    -------
    ndarray of float64, shape (n_samples, n_outputs)
    """
    X = np.asarray(X, dtype=np.float32).astype(np.float64)
    if ir.gather is not None:
        X = X[:, ir.gather]
    n_rows, n = X.shape
    if ir.exact:
        return np.zeros((n_rows, ir.n_outputs))
    ref = ir.tolerance
    if ir.matrix is not None:
        w = np.abs(ref["ref_matrix"])
        m = np.abs(ref["ref_center"]) if "ref_center" in ref else np.zeros(n)
        d = np.abs(X - (ref["ref_center"] if "ref_center" in ref else 0.0))
        tol = gamma(n + 2) * ((d + m) @ w.T)
        u_ref = U32 if ref.get("ref_float32") else U64
        tol += gamma(n + 2, u_ref) * ((np.abs(X) + m) @ w.T)
        return tol * (1.0 + 2.0**-20)
    if ir.norm is not None:
        if ir.norm == "l2":
            e_n = gamma(n) / 2 + U32
        else:
            e_n = gamma(max(n - 1, 1))
        with np.errstate(all="ignore"):
            if ir.norm == "l2":
                norm = np.sqrt((X * X).sum(axis=1))
            else:
                norm = np.abs(X).sum(axis=1)
            norm = np.where(norm < float(np.float32(10) * np.finfo(np.float32).eps), 1.0,
                            norm)
            y = np.abs(X) / norm[:, None]
        return (2 * e_n + 2 * U32) * y * (1.0 + gamma(n)) * (1.0 + 2.0**-20)
    # scalers with float32 parameters (scaler_arithmetic="float32")
    err = np.zeros_like(X)
    mag = np.abs(X)
    if "ref_center" in ref:
        p = np.abs(ref["ref_center"])
        err = err + U32 * p + 2 * U32 * (mag + p)
        mag = mag + p
    if "ref_scale" in ref:
        p = np.abs(ref["ref_scale"])
        if ir.scale_op == "mul":
            err, mag = p * (err + 3 * U32 * mag), mag * p
        else:
            err, mag = (err + 3 * U32 * mag) / p * (1 + 2 * U32), mag / p
    if "ref_offset" in ref:
        p = np.abs(ref["ref_offset"])
        err = err + U32 * p + 2 * U32 * (mag + p)
        mag = mag + p
    return err * (1.0 + 2.0**-20)
