"""Kernel SVMs (libsvm): fitted scikit-learn estimator -> :class:`SVMIR`.

Supported: ``SVC`` and ``NuSVC`` (classifiers: one-vs-one voting, ``decision_function``
in both shapes, ``break_ties``, ``predict_proba`` when fitted with probability
estimates), ``SVR`` and ``NuSVR`` (regressors), ``OneClassSVM`` (outlier detector:
``predict``, ``decision_function``, ``score_samples``); kernels ``linear``, ``poly``,
``rbf``, ``sigmoid``; models fitted on dense input only.

What the C computes (``runtime/ml_svm.h``) is libsvm's ``svm_predict_values`` step by
step in float32: the support vectors, dual coefficients (libsvm's ``sv_coef``, i.e.
scikit-learn's ``_dual_coef_``, *not* the sign-flipped binary ``dual_coef_``), ``rho``
(``-_intercept_``), ``gamma`` (``_gamma``) and ``coef0`` rounded to float32. scikit-learn
computes the same in float64 from the float32 input cast to float64. Signs:
binary ``decision_function`` is ``-dec`` (libsvm's ``dec > 0`` is class 0), ``"ovo"`` is
``dec``, ``"ovr"`` is ``_ovr_decision_function(dec < 0, -dec, k)``.

Tie rules (exact, as libsvm / scikit-learn): a pair votes for its first class when
``dec > 0`` (``dec == 0`` votes for the second); the predicted class is the *first*
class with the most votes; ``break_ties`` takes the first maximum of the "ovr" values
(``np.argmax``); one-class ``predict`` is +1 iff ``dec > 0``.

Error bounds (``u = 2**-24``, ``g(m) = m u / (1 - m u)``, ``n`` features, ``ULP`` the
max error of ml_math.h's ``ml_expf`` (1, :data:`EXPF_ULP`) / ``ml_tanhf`` (2,
:data:`TANHF_ULP`) in units in the last place; per row ``x`` and support vector ``s``
with float64 value ``s``, stored
as ``fl32(s)``), first-order in ``u`` and then inflated by :data:`SAFETY`:

* dot product ``D = x.s``: ``dD <= g(n + 2) A``, ``A = sum |x_j s_j|`` (storing ``s`` in
  float32: ``u A``; the float32 products and left-to-right sum: ``g(n) A``).
* ``t = gamma D + coef0`` (poly, sigmoid): ``dt <= |gamma| dD + g(3) (|gamma D| + |coef0|)
  + u |t|``; poly ``K = t**d`` by square-and-multiply: ``dK <= d T**(d-1) dt + g(d) T**d``
  with ``T = |t| + dt``; sigmoid ``dK <= dt + 2 ULP u |K|`` (``|tanh'| <= 1``).
* rbf ``S = sum (x_j - s_j)**2``: each difference is off by ``e_j <= u (|x_j - s_j| +
  |s_j|)``, so ``dS <= g(n) S + sum (2 |x_j - s_j| + e_j) e_j``; ``z = gamma S``:
  ``dz <= gamma dS + g(2) gamma S``; ``K = expf(-z)``: ``dK <= K (exp(dz) - 1) + 2 ULP u
  K exp(dz)``.
* pair decision ``dec = sum_i c_i K_i - rho`` over the pair's ``m`` SVs (float32 ``c``,
  products, left-to-right sum, ``rho``): ``d(dec) <= sum |c_i| dK_i + g(m + 2) sum |c_i|
  (K_i + dK_i) + g(1) (|rho| + |dec|)``. Regression and one-class use the same with all
  SVs; ``score_samples`` the same without ``rho``.
* "ovr" values ``votes + s / (3 (|s| + 1))``, ``s`` the sum of the ``k - 1``
  confidences of a class: ``d(out) <= ds / 3 + g(4) / 3 + u (votes + 1)`` with ``ds <=
  sum d(dec) + g(k) sum |dec|``, provided no pair's vote flips, i.e. ``|dec| > d(dec)``
  for every pair (a near-tie).
* scikit-learn's own float64 rounding is the same bound with ``2**-53`` (and no SV
  storage term): below ``2**-29`` of ours, covered by :data:`SAFETY`.

These bounds are computed per row by :func:`decision_bounds` / :func:`output_bounds`;
the tests assert every C output lies within them. A pair whose float64 ``|dec|`` is
within its bound is a *near-tie*: float32 may vote the other way there. With option
``exact`` (default) the C evaluates the same bound at run time (``ml_svm_pairs_b``,
slightly looser constants) and re-decides every near-tie pair in float64 from float64
tables, in libsvm's order (``break_ties``: when a vote is a near-tie or the first
maximum of the "ovr" values is not certified by their bounds, all "ovr" values are
recomputed in float64); ``Signature.exact_predict`` is then True, up to float64
rounding differences with BLAS/glibc, as in the other families. The linear kernel is
evaluated in primal form (``w_p . x - rho_p``, ``w_p`` summed in float64 at conversion):
``g(n + 2) sum |w_j x_j| + g(1) (|rho| + |dec|)``, plus scikit-learn's float64 dual-sum
rounding ``2 g53(n + m + 2) sum |c_i| A_i``, no longer negligible next to it.

``predict_proba``: the Platt sigmoids ``r = 1 / (1 + exp(A dec + B))`` move by at most
``dr = |A| r (1 - r) d(dec) + (2 ULP + 4) u`` (``|dr/d(dec)| = |A| r (1 - r)``, plus the
float32 sigmoid's own rounding) and are clipped to ``[1e-7, 1 - 1e-7]`` like libsvm. The
coupling (libsvm's ``multiclass_probability``: same Gauss-Seidel sweeps, stopping rule
``max |Qp - pQp| < eps = 0.005 / k``, at most ``max(100, k)`` iterations, in float32)
is a smooth map of the ``k (k - 1) / 2`` pairwise values as long as float32 and float64
make the same stopping decisions; its first-order sensitivity is then ``<= k max dr``
per class plus ``PROBA_ROUNDING = 16`` u per class of its own rounding, the tolerance
``k (max dr + 16 u)`` of :func:`proba_tolerance`. This is a first-order estimate, not a
proof (the sweep count is small: 1-4 on the parity sets); it is checked by measurement
(the largest error is 5% of it on iris, wine, breast_cancer, digits, scaled or not).
A stopping test whose float64 residual ``max_error`` is within ``2 ((k + 3) u + 2 k max
dr)`` of ``eps`` (the float32 error of a residual, doubled) is a near-tie of the
iteration count: float32 may do one sweep more or less, moving ``p`` by up to about
``eps``. :func:`proba_tolerance` flags those rows; the tests allow them ``tol + eps``
and count them (the flag is conservative: most digits rows, all within 2e-6).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ...errors import ConversionError
from .ir import SVMIR

#: scikit-learn classes converted by this family.
SUPPORTED = ("SVC", "NuSVC", "SVR", "NuSVR", "OneClassSVM")
KERNELS = ("linear", "poly", "rbf", "sigmoid")
#: kernel name -> ML_SVM_* code of ml_svm.h
KERNEL_CODE = {"linear": 0, "poly": 1, "rbf": 2, "sigmoid": 3}
TASKS = {"SVC": "classifier", "NuSVC": "classifier", "SVR": "regressor",
         "NuSVR": "regressor", "OneClassSVM": "outlier_detector"}
#: most classes with predict_proba (the coupling costs ~k**3 per row; ml_svm.h's limit)
MAX_PROBA_CLASSES = 256
MAX_CLASSES = 32768

U = 2.0**-24
#: worst error of ml_math.h's ml_expf / ml_tanhf (the C uses no libm), in units in the
#: last place (ml_math.h's stated bounds, asserted by tests/test_ml_math.py)
EXPF_ULP = 1.0
TANHF_ULP = 2.0
#: multiplier on the first-order bounds (second-order terms, scikit-learn's own rounding)
SAFETY = 1.01
#: float32 rounding of the coupling, in units of u per class (see the module docstring)
PROBA_ROUNDING = 16.0



#: float64 unit roundoff
G64 = 2.0**-53


def _g(m: float) -> float:
    return m * U / (1.0 - m * U)


def from_sklearn(est: Any) -> SVMIR:
    """Convert a fitted SVC, NuSVC, SVR, NuSVR or OneClassSVM to :class:`SVMIR`.

    Raises
    ------
    ConversionError
        For a kernel other than linear/poly/rbf/sigmoid (``kernel``), a model fitted
        on sparse input, non-finite parameters, or too many classes.
    """
    name = next((c.__name__ for c in type(est).__mro__ if c.__name__ in SUPPORTED), None)
    if name is None:
        raise ConversionError(f"{type(est).__name__} is not one of {', '.join(SUPPORTED)}")
    if callable(est.kernel) or est.kernel not in KERNELS:
        raise ConversionError(
            f"{name}: kernel={est.kernel!r} is not supported; supported kernels: "
            f"{', '.join(map(repr, KERNELS))}")
    if getattr(est, "_sparse", False):
        raise ConversionError(
            f"{name} was fitted on sparse input (support vectors stored sparse); only "
            "models fitted on dense input are supported: fit on X.toarray()")
    task = TASKS[name]
    sv = np.asarray(est.support_vectors_, dtype=np.float64)
    n_features = int(est.n_features_in_)
    if sv.ndim != 2 or (sv.size and sv.shape[1] != n_features):
        raise ConversionError(f"{name}: support_vectors_ has shape {sv.shape}, expected "
                              f"(n_SV, {n_features})")
    dual = np.asarray(est._dual_coef_, dtype=np.float64)
    rho = -np.asarray(est._intercept_, dtype=np.float64).ravel()
    n_sv = sv.shape[0]
    gamma = float(est._gamma)
    coef0 = float(est.coef0)
    degree = int(est.degree)
    classes = None
    prob_a = prob_b = np.zeros(0)
    ovr = break_ties = False
    if task == "classifier":
        classes = np.asarray(est.classes_)
        k = len(classes)
        if k < 2 or k > MAX_CLASSES:
            raise ConversionError(f"{name} has {k} classes; supported: 2 .. {MAX_CLASSES}")
        n_support = np.asarray(est._n_support, dtype=np.int64)
        if n_support.shape != (k,) or int(n_support.sum()) != n_sv:
            raise ConversionError(f"{name}: n_support_ {n_support} does not match "
                                  f"{n_sv} support vectors")
        sv_start = np.concatenate([[0], np.cumsum(n_support)]).astype(np.int64)
        if dual.shape != (k - 1, n_sv) or rho.shape != (k * (k - 1) // 2,):
            raise ConversionError(f"{name}: unexpected dual_coef_/intercept_ shapes "
                                  f"{dual.shape}/{rho.shape}")
        if est.decision_function_shape not in ("ovr", "ovo"):
            raise ConversionError(f"{name}: decision_function_shape="
                                  f"{est.decision_function_shape!r} is not 'ovr' or 'ovo'")
        ovr = est.decision_function_shape == "ovr"
        break_ties = bool(est.break_ties)
        if break_ties and not ovr:
            raise ConversionError(f"{name}: break_ties=True needs decision_function_shape="
                                  "'ovr' (scikit-learn raises on predict)")
        pa = np.asarray(getattr(est, "_probA", np.zeros(0)), dtype=np.float64).ravel()
        pb = np.asarray(getattr(est, "_probB", np.zeros(0)), dtype=np.float64).ravel()
        if pa.size and pb.size and hasattr(est, "predict_proba"):
            if pa.shape != rho.shape or pb.shape != rho.shape:
                raise ConversionError(f"{name}: probA_/probB_ shapes {pa.shape}/{pb.shape}"
                                      f" do not match {rho.shape[0]} class pairs")
            if k > MAX_PROBA_CLASSES:
                raise ConversionError(f"{name}: predict_proba with {k} classes; supported: "
                                      f"at most {MAX_PROBA_CLASSES} (probability=False "
                                      "converts any number)")
            prob_a, prob_b = pa, pb
    else:
        sv_start = np.array([0, n_sv], dtype=np.int64)
        if dual.shape != (1, n_sv) or rho.shape != (1,):
            raise ConversionError(f"{name}: unexpected dual_coef_/intercept_ shapes "
                                  f"{dual.shape}/{rho.shape}")
    if degree < 0 or degree > 0x7FFFFFFF:
        raise ConversionError(f"{name}: degree={degree} is out of range 0 .. 2**31-1")
    arrays = (sv, dual, rho, prob_a, prob_b, np.array([gamma, coef0]))
    if not all(np.all(np.isfinite(a)) for a in arrays):
        raise ConversionError(f"{name}: support vectors, coefficients or parameters are "
                              "not finite")
    names = getattr(est, "feature_names_in_", None)
    ir = SVMIR(
        estimator=name, task=task, kernel=str(est.kernel), n_features=n_features,
        classes=classes, support_vectors=sv, dual_coef=dual, rho=rho, sv_start=sv_start,
        gamma=gamma, coef0=coef0, degree=degree, prob_a=prob_a, prob_b=prob_b, ovr=ovr,
        break_ties=break_ties,
        feature_names=None if names is None else tuple(str(n) for n in names),
    )
    if ir.kernel == "linear":
        w = np.zeros((ir.n_pairs, n_features))
        for p, (idx, c) in enumerate(ir.pair_terms()):
            w[p] = c @ sv[idx] if idx.size else 0.0
        ir = dataclasses.replace(ir, weights=w)
    return ir


# --- error bounds (see the module docstring) ------------------------------------------


def kernel_values(ir: SVMIR, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """float64 kernel values ``K[row, sv]`` of float32 rows ``X`` and their bounds ``dK``
    on ``|float32 K - K|``."""
    X = np.asarray(X, dtype=np.float32).astype(np.float64)
    S = ir.support_vectors
    n = ir.n_features
    g = ir.gamma
    if ir.kernel == "rbf":
        diff = X[:, None, :] - S[None, :, :]
        ssq = np.einsum("rsj,rsj->rs", diff, diff)
        e = U * (np.abs(diff) + np.abs(S)[None]) * (1 + U)
        dS = _g(n) * ssq + np.einsum("rsj,rsj->rs", 2 * np.abs(diff) + e, e)
        dz = abs(g) * dS + _g(2) * abs(g) * ssq
        K = np.exp(-g * ssq)
        dK = K * np.expm1(dz) + 2 * EXPF_ULP * U * K * np.exp(dz)
        return K, dK * SAFETY
    D = X @ S.T
    A = np.abs(X) @ np.abs(S).T
    dD = _g(n + 2) * A
    if ir.kernel == "linear":
        return D, dD * SAFETY
    t = g * D + ir.coef0
    dt = abs(g) * dD + _g(3) * (np.abs(g * D) + abs(ir.coef0)) + U * np.abs(t)
    if ir.kernel == "poly":
        d = ir.degree
        T = np.abs(t) + dt
        K = t ** d
        dK = d * T ** max(d - 1, 0) * dt + _g(d) * T ** d if d > 0 else np.zeros_like(t)
        return K, dK * SAFETY
    K = np.tanh(t)
    return K, (dt + 2 * TANHF_ULP * U * np.abs(K)) * SAFETY


def decision_bounds(ir: SVMIR, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """libsvm's decision values ``dec[row, pair]`` (float64, from float32 ``X``) and the
    bound on ``|float32 dec - dec|`` of the C. Regressor / one-class: one column."""
    X = np.asarray(X, dtype=np.float32)
    X64 = X.astype(np.float64)
    K, dK = kernel_values(ir, X)
    dec = np.zeros((X.shape[0], ir.n_pairs))
    bound = np.zeros((X.shape[0], ir.n_pairs))
    if ir.weights is not None:
        A = np.abs(X64) @ np.abs(ir.support_vectors).T  # sum_j |x_j s_ij|
    for p, (idx, c) in enumerate(ir.pair_terms()):
        Kp, dKp = K[:, idx], dK[:, idx]
        ac = np.abs(c)
        d = Kp @ c - ir.rho[p]
        if ir.weights is None:
            b = (dKp @ ac + _g(len(idx) + 2) * ((np.abs(Kp) + dKp) @ ac)
                 + _g(1) * (abs(ir.rho[p]) + np.abs(d)))
        else:
            # float32 w . x - rho, plus scikit-learn's float64 dual sum (and our float64
            # w) which are no longer negligible next to it
            w = ir.weights[p]
            b = (_g(ir.n_features + 2) * (np.abs(X64) @ np.abs(w))
                 + _g(1) * (abs(ir.rho[p]) + np.abs(d))
                 + 2 * G64 * (ir.n_features + len(idx) + 2) * (A[:, idx] @ ac))
        dec[:, p] = d
        bound[:, p] = b * SAFETY
    return dec, bound


def ovr_values(dec: np.ndarray, k: int) -> np.ndarray:
    """scikit-learn's ``_ovr_decision_function(dec < 0, -dec, k)`` in float64."""
    votes = np.zeros((dec.shape[0], k))
    conf = np.zeros((dec.shape[0], k))
    p = 0
    for i in range(k):
        for j in range(i + 1, k):
            conf[:, i] += dec[:, p]
            conf[:, j] -= dec[:, p]
            votes[dec[:, p] < 0, j] += 1
            votes[dec[:, p] >= 0, i] += 1
            p += 1
    return votes + conf / (3 * (np.abs(conf) + 1))


def output_bounds(ir: SVMIR, X: np.ndarray) -> dict[str, np.ndarray]:
    """Per-row bounds on |C - scikit-learn| of every continuous output, and the near-tie
    mask. Keys: ``"decision_function"`` (shape of sklearn's output), ``"regress"``,
    ``"score_samples"``, ``"near_tie"`` (bool per row: some pair's |dec| within its
    bound, so float32 may vote differently), ``"dec"`` (float64 libsvm values)."""
    dec, b = decision_bounds(ir, X)
    out: dict[str, np.ndarray] = {"dec": dec}
    near = np.any(np.abs(dec) <= b, axis=1)
    if ir.task == "classifier":
        k = ir.n_classes
        if k == 2:
            out["decision_function"] = b[:, 0]
        elif ir.ovr:
            sums = np.zeros((dec.shape[0], k))
            mags = np.zeros((dec.shape[0], k))
            p = 0
            for i in range(k):
                for j in range(i + 1, k):
                    for c in (i, j):
                        sums[:, c] += b[:, p]
                        mags[:, c] += np.abs(dec[:, p])
                    p += 1
            ds = sums + _g(k) * mags
            out["decision_function"] = (ds / 3 + _g(4) / 3 + U * k) * SAFETY
            if ir.break_ties:  # argmax of the ovr values: close values are near-ties too
                vals = ovr_values(dec, k)
                top = np.sort(vals, axis=1)
                near |= (top[:, -1] - top[:, -2]) <= 2 * out["decision_function"].max(axis=1)
        else:
            out["decision_function"] = b
    elif ir.task == "regressor":
        out["regress"] = b[:, 0]
    else:
        out["decision_function"] = b[:, 0]
        out["score_samples"] = b[:, 0] + _g(1) * np.abs(ir.rho[0]) * 2
    out["near_tie"] = near
    return out


def multiclass_probability(r: np.ndarray, k: int) -> tuple[np.ndarray, float]:
    """libsvm's ``multiclass_probability`` in float64 for one row of pairwise
    probabilities ``r`` (pairs in libsvm order): ``(p, margin)`` with ``margin`` the
    smallest ``|max_error - eps| / eps`` over the stopping tests it made."""
    R = np.zeros((k, k))
    p_ = 0
    for i in range(k):
        for j in range(i + 1, k):
            R[i, j], R[j, i] = r[p_], 1 - r[p_]
            p_ += 1
    Q = -R.T * R
    np.fill_diagonal(Q, (R**2).sum(axis=0))
    p = np.full(k, 1.0 / k)
    eps = 0.005 / k
    margin = np.inf
    for _ in range(max(100, k)):
        Qp = Q @ p
        pQp = p @ Qp
        max_error = np.abs(Qp - pQp).max()
        margin = min(margin, abs(max_error - eps) / eps)
        if max_error < eps:
            break
        for t in range(k):
            diff = (-Qp[t] + pQp) / Q[t, t]
            p[t] += diff
            pQp = (pQp + diff * (diff * Q[t, t] + 2 * Qp[t])) / (1 + diff) / (1 + diff)
            Qp = (Qp + diff * Q[t]) / (1 + diff)
            p /= 1 + diff
    return p, margin


def proba_tolerance(ir: SVMIR, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-row tolerance on |C predict_proba - scikit-learn's| and the rows where it does
    not apply (the coupling's stopping test within :data:`STOP_MARGIN` of ``eps``, so
    float32 may run one sweep more or less). See the module docstring."""
    dec, b = decision_bounds(ir, X)
    k = ir.n_classes
    f = dec * ir.prob_a + ir.prob_b
    r = np.clip(1.0 / (1.0 + np.exp(np.clip(f, -700, 700))), 1e-7, 1 - 1e-7)
    dr = np.abs(ir.prob_a) * r * (1 - r) * b + (2 * EXPF_ULP + 4) * U
    tol = k * (dr.max(axis=1) + PROBA_ROUNDING * U)
    eps = 0.005 / k
    # float32 error of a residual Qp_t - pQp (|Q| <= 1, sum p = 1): (k + 3) u, plus the
    # pairwise values' own error through Q (<= 2 k max dr); relative to eps, doubled
    stop = 2 * ((k + 3) * U + 2 * k * dr.max(axis=1)) / eps
    near = np.array([multiclass_probability(row, k)[1] <= s_
                     for row, s_ in zip(r, stop, strict=True)], dtype=bool)
    return tol, near
