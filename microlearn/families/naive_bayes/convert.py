"""Naive Bayes conversion: fitted scikit-learn estimator -> :class:`NaiveBayesIR`.

Supported: ``GaussianNB`` (``priors``, ``var_smoothing``, any number of classes),
``MultinomialNB``, ``ComplementNB`` (``norm`` True or False), ``BernoulliNB``
(``binarize`` a threshold or None). Methods: ``predict`` and ``predict_proba``.

What the C computes
-------------------
GaussianNB fitted on float32 data keeps float32 ``theta_`` / ``var_`` and scikit-learn
then computes the log likelihoods in float32 with numpy (``J_c = lp_c + (c1_c - 0.5 *
sum_j ((x_j - theta_cj)^2 / var_cj))``, the sum in numpy's pairwise order for a
C-contiguous ``X``). For those the C (kind ``gaussian32``) repeats exactly these float32
operations, so its log likelihoods are bit-identical and ``predict`` is identical without
any bound (scikit-learn's sum order differs for a Fortran-ordered ``X``; the C follows the
C-contiguous order). predict_proba tolerance: :func:`proba_tolerance32`. Everything below
is about float64 parameters (GaussianNB fitted on float64 data, and every discrete model:
their parameters are float64 whatever the input dtype).

scikit-learn casts the float32 input exactly to float64 and computes the joint log
likelihood ``J_c(x)`` in float64 (``_joint_log_likelihood``); ``predict`` is the first
maximum (``numpy.argmax``), ``predict_proba`` is ``exp(J_c - logsumexp(J))``. The C
evaluates, for every class ``c``, with parameters precomputed in float64 and rounded to
float32 once:

* GaussianNB: ``s_c = K_c - S_c``, ``S_c = sum_j (x_j - m_cj)^2 * h_cj`` with
  ``K_c = log prior_c - 0.5 sum_j log(2 pi var_cj)`` and ``h_cj = 1 / (2 var_cj)`` (a
  multiply, no divide).
* MultinomialNB: ``b_c = class_log_prior_``, ``w = feature_log_prob_``; ComplementNB:
  ``b_c = 0`` (``class_log_prior_`` with one class), ``w = feature_log_prob_`` (already
  negated or normalised by scikit-learn: its ``predict`` is the argmax of ``X @ w.T``,
  i.e. the complement rule ``argmin`` of the complement log-probabilities); BernoulliNB:
  ``w = log p - log(1 - p)``, ``b_c = class_log_prior_ + sum_j log(1 - p_cj)`` (the
  exact expression scikit-learn uses), the input binarized by ``x_j > t`` where ``t`` is
  the float32 value for which the float32 test equals scikit-learn's ``binarize``
  (probed on the float32 neighbours of the threshold). Linear and binary kinds are
  *centred*: ``w_cj -= (max_c w_cj + min_c w_cj) / 2`` and ``b_c -= (max b + min b)/2``.
  This subtracts the same amount from every class of a row, so ``predict`` and
  ``predict_proba`` are unchanged in exact arithmetic, and it shrinks the magnitudes the
  float32 sums carry (MultinomialNB on digits: from ~10^3 to ~10^2).

Certified error bound (``exact=True``)
--------------------------------------
``u = 2^-24`` (float32 unit roundoff), ``g(k) = k u / (1 - k u)``, ``n`` features.
The C's float32 value ``s_c`` satisfies ``|s_c - J_c| <= E_c`` where ``J_c`` is the
exact value of the float64 model (and also of scikit-learn's float64 evaluation: its own
rounding, at most ``~(n + 8) 2^-53`` of the same magnitudes, is covered by the ``2^-16``
inflation below and, for the centred kinds, by the ``2^-25 |w|`` term of ``W_j``):

* Gaussian (``m``, ``h`` rounded to float32 with relative error ``u``; each term
  ``(x - m)^2 h`` has 5 roundings; the summation ``g(n-1)``; with ``e = x - m`` and ``mu``
  the rounding of ``m``: ``|h (e - mu)^2 - h e^2| <= 2 h |e||mu| + h mu^2``, and by
  Cauchy-Schwarz ``sum_j h |e - mu| |mu| <= sqrt(S M) u`` where
  ``M_c = sum_j h_cj max(|m_cj|, 2^-126)^2``)::

      E_c = k1 S_c + k2 sqrt(M_c S_c) + k3 |s_c| + G_c
      k1 = ((g(n-1) + g(5)/(1-g(5))) / (1-g(n-1)) + 2^-29 (n+8)) (1 + 2^-16)
      k2 = 2u / sqrt((1-g(5))(1-g(n-1))) (1 + 2^-16)
      k3 = 3u (1 + 2^-16)   (rounding of K - S, and of the C's s +- E comparisons)
      G_c = (2u |K_c| + 3u^2 M_c + n (max_j h_cj + 1) 2^-148) (1 + 2^-16)
            (K rounding; mu^2; underflow of d*d and d*d*h, at most 2^-150 each)

* Linear / binary (``|s_c| <= B_c + A``, sequential sum of ``n + 1`` terms, 2 roundings
  per product, parameter rounding ``u``)::

      E_c = k1 A + G_c,   A = sum_j |x_j| W_j   (binary: sum of W_j over x_j > t)
      k1 = (g(n+1) + 5u) / (1 - g(n+3)) (1 + 2^-16)
      W_j = max_c |w'_cj| + 2^-25 max_c |w_cj|, G_c = k1 (|b'_c| + 2^-25 |b_c|)

  (``w'``, ``b'``: centred; ``w``, ``b``: scikit-learn's; ``5u`` also covers the rounding
  of the float32 evaluation of ``A`` and of the ``s +- E`` comparisons.) All constants are
  rounded up to float32.

``predict``: when ``fl(s_t - E_t) > fl(s_c + E_c)`` for the float32 first maximum ``t``
and every other class ``c`` (no NaN), ``t`` is scikit-learn's answer. Otherwise the C
recomputes every ``J_c`` in double precision from ``hi + lo`` parameters (relative
representation error <= 2^-48) and returns its first maximum. Rows whose float64 values
differ by less than the double-precision rounding (~n 2^-47 of the magnitudes) are
decided by the first maximum of the double values; scikit-learn's own choice there depends
on its BLAS, so no implementation can certify them (exactly tied classes, e.g. identical
parameters, give the first class in both). With ``exact=False`` the float32 first
maximum is returned (``Signature.exact_predict`` is False).

NaN inputs (scikit-learn rejects them): a NaN feature makes every ``s_c`` NaN
(GaussianNB, MultinomialNB, ComplementNB, BernoulliNB with ``binarize=None``): ``predict``
returns class index 0 and ``predict_proba`` all NaN. BernoulliNB with a threshold
binarizes ``NaN > t`` to 0 (feature absent), like any value not above the threshold.

predict_proba tolerance
-----------------------
``t``: the float32 first maximum. Class ``c != t`` keeps its float32 exponent
``a_c = s_c - s_t`` when it is certified negligible (``a_c + E_c + E_t < -17``: its
probability is below ``e^-17`` in the C and in scikit-learn) or when
``E_c + E_t <= eps = 2^-14`` (``a_t = 0`` exactly); with ``exact=True`` every other
class, and ``t``, is recomputed in double precision (error ~1e-13) and the exponents are
re-shifted by their maximum (two float32 roundings of an exponent, ``<= 2 * 18u`` where
it matters). Then ``p_c = expf(a_c) * (1 / sum_k expf(a_k))``. Perturbing every exponent
by at most ``eps`` changes a softmax value by at most ``p_c (e^(2 eps) - 1)``; negligible
classes move the sums by at most ``e^-17`` each; ``ml_expf`` (<= 1 ulp), the ``C - 1``
additions, the reciprocal and the multiply add ``(C + 4) 2u`` relative. Hence::

    |p_c - p_sklearn| <= (e^(2 (2^-14 + 36u)) - 1) + 2 (C - 1) e^-17 + (C + 4) 2u
                         (:func:`proba_atol`: 1.3e-4 for 2 to 12 classes)

The price is the double-precision recomputation of the classes that matter in rows whose
bound exceeds ``eps`` (measured in ``docs/families/naive_bayes.md``). With
``exact=False`` no row is recomputed: the error is ``p_c (e^(2 max_k E_k) - 1) + ...``
per row, unbounded in general (float32 cannot resolve GaussianNB log likelihoods of
1e10 on digits), though on the parity data sets it stays below 1.1e-5.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...errors import ConversionError
from .ir import PROBA_EPS, PROBA_NEGLIGIBLE, NaiveBayesIR

SUPPORTED = ("GaussianNB", "MultinomialNB", "ComplementNB", "BernoulliNB")

U = 2.0 ** -24
_INFLATE = 1.0 + 2.0 ** -16


def _g(k: float) -> float:
    return k * U / (1.0 - k * U)


def proba_atol(n_classes: int) -> float:
    """Certified absolute tolerance of predict_proba with ``exact=True`` (see module)."""
    c = int(n_classes)
    return (math.expm1(2.0 * (PROBA_EPS + 36.0 * U)) + 2.0 * (c - 1) * math.exp(-PROBA_NEGLIGIBLE)
            + (c + 4) * 2.0 * U)


def _up32(v: np.ndarray | float) -> np.ndarray:
    """float64 -> float32 rounded toward +inf (v >= 0)."""
    v = np.asarray(v, dtype=np.float64)
    r = v.astype(np.float32)
    low = r.astype(np.float64) < v
    return np.where(low, np.nextafter(r, np.float32(np.inf)), r).astype(np.float32)


def _finite32(name: str, values: np.ndarray, what: str) -> None:
    v = np.asarray(values, dtype=np.float64)
    with np.errstate(over="ignore"):
        ok = np.all(np.isfinite(v)) and np.all(np.isfinite(v.astype(np.float32)))
    if not ok:
        raise ConversionError(f"{name}: {what} must be finite in float32; got non-finite values")


def _binary_threshold(est: Any) -> float:
    """float32 t with (x > t) == scikit-learn's binarize(x) for every float32 x."""
    from sklearn.preprocessing import binarize

    thr = est.binarize
    c = np.float32(thr)
    cands = [np.nextafter(c, np.float32(-np.inf)), c]
    if np.isfinite(c):
        cands.append(np.nextafter(c, np.float32(np.inf)))
    x = np.array(cands, dtype=np.float32).reshape(-1, 1)
    b = binarize(x, threshold=thr).ravel()
    zeros = x.ravel()[b == 0]
    if zeros.size == 0 or np.any(np.diff(b) < 0):
        raise ConversionError(f"binarize={thr!r}: cannot reproduce the threshold in float32")
    return float(zeros.max())


def _check_gaussian(var: np.ndarray, prior: np.ndarray) -> None:
    if not np.all(prior > 0):
        raise ConversionError("priors: every class prior must be > 0 (a zero prior gives a "
                              "log likelihood of -inf); supported: priors=None or positive")
    if not np.all(np.isfinite(var)) or not np.all(var > 0):
        raise ConversionError("var_smoothing: every var_ must be > 0 and finite (use "
                              "var_smoothing > 0 with constant features)")


def _gaussian32(est: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """float32 GaussianNB: (lp, c1, var, theta) exactly as scikit-learn computes them."""
    var = np.asarray(est.var_)
    theta = np.asarray(est.theta_)
    prior = np.asarray(est.class_prior_)
    _check_gaussian(var, prior)
    with np.errstate(all="ignore"):
        lp = np.array([np.log(prior[i]) for i in range(var.shape[0])], dtype=np.float32)
        c1 = np.array([-0.5 * np.sum(np.log(2.0 * np.pi * var[i, :]))
                       for i in range(var.shape[0])], dtype=np.float32)
    for name, v in (("log prior", lp), ("-0.5 sum log(2 pi var_)", c1), ("theta_", theta)):
        _finite32("GaussianNB", v, name)
    if np.any(np.asarray(var, np.float32) != var) or np.any(np.asarray(theta, np.float32) != theta):
        raise ConversionError("GaussianNB: float32 var_ / theta_ expected")
    return lp, c1, var.astype(np.float32), theta.astype(np.float32)


def proba_tolerance32(s: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Tolerance of predict_proba for float32-fitted GaussianNB (kind ``gaussian32``).

    ``s``: the float32 log likelihoods (bit-identical to scikit-learn's); ``p``: the larger
    of the two probabilities compared. scikit-learn computes ``exp(J_c - L)`` with
    ``L = log1p(sum) + J_max`` in float32: ``L`` is rounded by ``u |L|``
    (``|L| <= |J_max| + log C``), ``J_c - L`` by ``u |J_c - L|``, and its float32 exp/log
    by a few ulp; the C rounds ``J_c - J_max`` by ``u |J_c - J_max|``. So the exponents
    differ by at most ``d_c = u (|J_max| + log C + 2 |J_c - J_max| + C + 18)`` and
    ``|p_c - p_sklearn| <= max(p_c, p_sklearn) expm1(d_c) + (C + 4) 2u``. scikit-learn's
    own float32 rounding dominates when ``|J_max|`` is large (GaussianNB on float32
    digits: ``|J| ~ 1e7``, a whole unit of log probability).
    """
    s = np.asarray(s, dtype=np.float64)
    C = s.shape[1]
    jm = np.nanmax(s, axis=1, keepdims=True)
    d = U * (np.abs(jm) + math.log(C) + 2 * np.abs(s - jm) + C + 18)
    rel = np.asarray(p, dtype=np.float64) * np.expm1(np.minimum(d, 60.0))
    return np.minimum(rel, 1.0) + (C + 4) * 2 * U


def _gaussian(est: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    var = np.asarray(est.var_, dtype=np.float64)
    theta = np.asarray(est.theta_, dtype=np.float64)
    prior = np.asarray(est.class_prior_, dtype=np.float64)
    _check_gaussian(var, prior)
    h = 0.5 / var
    if np.any(h.astype(np.float32) < np.finfo(np.float32).tiny):
        raise ConversionError("var_: variances above 2^125 are not supported (1/(2 var) "
                              "underflows float32)")
    K = np.array([np.log(prior[i]) - 0.5 * np.sum(np.log(2.0 * np.pi * var[i, :]))
                  for i in range(var.shape[0])])
    _finite32("GaussianNB", h, "1/(2 var_)")
    _finite32("GaussianNB", theta, "theta_")
    _finite32("GaussianNB", K, "log prior - 0.5 sum log(2 pi var_)")
    return K, h, theta


def _discrete(est: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    flp = np.asarray(est.feature_log_prob_, dtype=np.float64)
    prior = np.asarray(est.class_log_prior_, dtype=np.float64)
    hint = ("alpha > 0 (alpha=0 leaves zero counts: log 0 = -inf), class_prior > 0 and "
            "every class seen in fit")
    if not np.all(np.isfinite(flp)):
        raise ConversionError(f"alpha: {name}.feature_log_prob_ has non-finite values; "
                              f"supported: {hint}")
    if name == "BernoulliNB":
        with np.errstate(divide="ignore"):
            neg = np.log(1 - np.exp(flp))
        if not np.all(np.isfinite(neg)):
            raise ConversionError(f"alpha: BernoulliNB has a feature probability of 1; "
                                  f"supported: {hint}")
        W = flp - neg
        b = prior + neg.sum(axis=1)
    elif name == "ComplementNB":
        W = flp
        b = prior.copy() if flp.shape[0] == 1 else np.zeros(flp.shape[0])
    else:
        W = flp
        b = prior
    if not np.all(np.isfinite(b)):
        raise ConversionError(f"class_prior: {name}.class_log_prior_ has non-finite values; "
                              f"supported: {hint}")
    _finite32(name, W, "feature weights")
    _finite32(name, b, "class constants")
    return b, W


def _check_n(n: int) -> None:
    if (n + 8) * U > 2.0 ** -8:
        raise ConversionError(f"n_features={n}: at most {int(2**16 - 8)} features are supported")


def from_sklearn(est: Any, options: dict) -> NaiveBayesIR:
    """Convert a fitted naive Bayes estimator (see the module docstring).

    Parameters
    ----------
    est : GaussianNB, MultinomialNB, ComplementNB or BernoulliNB
        Fitted.
    options : dict
        ``{"exact": bool}``.

    Returns
    -------
    NaiveBayesIR
    """
    exact = options.get("exact", True)
    if not isinstance(exact, (bool, np.bool_)):
        raise ValueError(f"exact={exact!r} must be True or False")
    exact = bool(exact)
    name = next((c.__name__ for c in type(est).__mro__ if c.__name__ in SUPPORTED), None)
    if name is None:
        raise ConversionError(f"{type(est).__name__} is not one of {', '.join(SUPPORTED)}")
    classes = np.asarray(est.classes_)
    names = getattr(est, "feature_names_in_", None)
    feature_names = tuple(str(v) for v in names) if names is not None else None
    f32 = np.float32
    const2 = None
    if name == "GaussianNB" and np.asarray(est.theta_).dtype == np.float32:
        lp, const2, var, theta = _gaussian32(est)
        const, coef, mean, kind, thr = lp, var, theta, "gaussian32", 0.0
        bound_k = np.zeros(3, dtype=f32)
        bound_class = bound_mean = bound_feature = np.zeros(0, dtype=f32)
    elif name == "GaussianNB":
        K, h, theta = _gaussian(est)
        C, n = h.shape
        _check_n(n)
        const, coef, mean, kind, thr = K, h, theta, "gaussian", 0.0
        mb = np.maximum(np.abs(theta), 2.0 ** -126)
        M = np.sum(h * mb * mb, axis=1)
        g5 = _g(5)
        gn = _g(n - 1)
        k1 = ((gn + g5 / (1 - g5)) / (1 - gn) + 2.0 ** -29 * (n + 8)) * _INFLATE
        k2 = 2 * U / math.sqrt((1 - g5) * (1 - gn)) * _INFLATE
        k3 = 3 * U * _INFLATE
        G = (2 * U * np.abs(K) + 3 * U * U * M + n * (h.max(axis=1) + 1) * 2.0 ** -148) * _INFLATE
        bound_k = _up32(np.array([k1, k2, k3]))
        bound_class = _up32(G)
        bound_mean = _up32(M)
        bound_feature = np.zeros(0, dtype=f32)
    else:
        b, W = _discrete(est, name)
        C, n = W.shape
        _check_n(n)
        kind = "binary" if name == "BernoulliNB" and est.binarize is not None else "linear"
        thr = _binary_threshold(est) if kind == "binary" else 0.0
        wc = (W.max(axis=0) + W.min(axis=0)) / 2
        bc = (b.max() + b.min()) / 2
        coef = W - wc[None, :]
        const = b - bc
        mean = None
        k1 = (_g(n + 1) + 5 * U) / (1 - _g(n + 3)) * _INFLATE
        Wb = np.abs(coef).max(axis=0) + 2.0 ** -25 * np.abs(W).max(axis=0)
        Bb = np.abs(const) + 2.0 ** -25 * np.abs(b)
        bound_k = _up32(np.array([k1, 0.0, 0.0]))
        bound_class = _up32(float(bound_k[0]) * _up32(Bb).astype(np.float64) * _INFLATE)
        bound_mean = np.zeros(0, dtype=f32)
        bound_feature = _up32(Wb)
    return NaiveBayesIR(
        estimator=type(est).__name__, kind=kind, classes=classes, const=const, coef=coef,
        mean=mean, threshold=float(thr), exact=exact, bound_k=bound_k,
        bound_class=bound_class, bound_mean=bound_mean, bound_feature=bound_feature,
        feature_names=feature_names, const2=const2,
    )
