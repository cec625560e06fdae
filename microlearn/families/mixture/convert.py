"""Fitted Gaussian-density estimators -> :class:`~.ir.MixtureIR`; exactness and tolerances.

Estimators: GaussianMixture, BayesianGaussianMixture (covariance_type full, tied, diag,
spherical; a classifier over the components, ``classes = arange(n_components)``),
QuadraticDiscriminantAnalysis (classifier), EllipticEnvelope (outlier detector).

Every one is ``s_k(x) = c_k - h * maha_k(x)`` with ``maha_k = ||(x - mu_k) F_k||^2``, F_k
an upper-triangular (full, tied), diagonal or scalar factor of the component's precision
matrix, ``h = 1/2`` (mixtures, QDA) or ``1`` (EllipticEnvelope, where ``s`` is the
decision function and ``c = -offset_``):

* GaussianMixture: F = ``precisions_cholesky_``, ``c_k = log w_k + log det F_k -
  n/2 log 2 pi``; BayesianGaussianMixture adds ``-n/2 log dof_k + (log_lambda_k -
  n / mean_precision_k) / 2`` and uses the expected log weights (digammas), exactly
  scikit-learn's ``_estimate_weighted_log_prob``.
* QDA: ``W_k = rotations_[k] * scalings_[k] ** -0.5``; F_k is the upper-triangular
  factor with ``F F^T = W W^T`` (from a QR of W, backward stable), ``c_k = -1/2 sum log
  scalings_[k] + log priors_[k]``.
* EllipticEnvelope: F = the upper-triangular factor of ``get_precision()``.

The C computes in float32 (``c_k``, ``mu``, ``F`` rounded once from float64), summing in
index order. Error bound (u = 2^-24), per row and component, against scikit-learn's
float64 value S_k:

1. ``d_j = fl(x_j - fl(mu_j))`` is within ``u (|d_j| + |mu_j|)`` of ``x_j - mu_j``;
   ``y_i = fl(sum_j d_j fl(F_ji))`` (at most n terms) is within
   ``g max_j|d_j| cs_i + u sum_j |mu_j| |F_ji|`` of the exact ``y_i`` with
   ``g = (n + 3) u`` (full; ``3 u`` diag/spherical, one product) and ``cs_i = sum_j
   |F_ji|``. By the triangle inequality ``||y32 - y||_2 <= E = g max|d| ||cs|| +
   ms``, ``ms = u || |mu| |F| ||``.
2. ``maha32 = fl(sum y_i^2)``: ``|maha32 - maha| <= (2 (sqrt(maha32) + E) + E) E +
   (n + 3) u maha32`` (Cauchy-Schwarz; n squares and n - 1 additions).
3. ``s = fl(fl(c) - h maha32)``: ``+ u (|c| + |s|)``.
4. scikit-learn's own roundings on float32 X (it keeps X's dtype): full/tied store
   maha in a float32 array and add ``n log 2 pi`` to it in float32 (``+ 2u maha + 2u n
   log 2 pi``); diag squares x in float32 (``+ u sum x^2 p
   <= 2u (maha + sum mu^2 p)``); spherical sums ``|x|^2`` in float32 (``+ 2 gamma_n
   (maha + |mu|^2 p)``); its float64 roundings are 2^-29 times smaller than the terms
   above and are covered by the inflation below.

``e_k = (h (step 2 + a' maha + b_k) + u (|c| + |s|)) (1 + 1/16) + 1e-35`` (the 1/16
covers the rounding of the bound's own float32 evaluation and second-order terms). The
bound grows with ``max_j |x_j - mu_j|`` and with ``sqrt(maha)``: it is relative to the
row's distance from the component, so :func:`row_tolerances` evaluates it per row.

Derived tolerances (per row, :func:`row_tolerances`):

* ``decision_function``: ``e_k`` per class (QDA), ``e_0 + e_1 + u |s_1 - s_0|`` (binary
  QDA), ``e_0`` (EllipticEnvelope);
* log-sum-exp: when every score moves by at most ``e_j``, LSE moves by at most
  ``L = log sum_j p_j exp(e_j)`` (p = softmax of the scores; convexity and Jensen), so
  C and scikit-learn differ by at most ``2 L`` (both within ``e`` of the exact value
  for the float32 tables); ``score_samples``: ``2 L + u (|max s| + |result|) + (K + 6)
  4u`` (ml_expf/ml_logf within 1 ulp, counted as 2, K additions); EllipticEnvelope
  ``-maha``: ``e_0``;
* ``predict_proba``: ``|log p_k - log P_k| <= E_k = e_k + 2 L + (K + 6) 4u``, so
  ``|p_k - P_k| <= p_k exp(e_k + L) (exp(E_k) - 1)``: tiny for far components.

Exact predictions (option ``exact``, default True): ``predict`` returns the first
maximum of ``s`` when ``[s_best - e_best]`` is above every other ``s_k + e_k``
(scikit-learn's ``argmax`` is then certainly the same); otherwise it recomputes the
scores in float64 following scikit-learn's formula for that estimator (including its
float32 rounding of maha for full/tied mixtures and of ``x**2`` for diag) and takes
their first maximum. EllipticEnvelope: +1 when the decision is ``>= 0`` (scikit-learn's
rule), certified the same way, else recomputed exactly as scipy's ``cdist(...,
'mahalanobis')`` does (two-lane dot products, ``sqrt`` then squared): rows exactly at
``offset_`` get scikit-learn's answer. Residual: the float64 recomputation sums in a
different order than BLAS (differences ~1e-16 relative), and spherical mixtures'
``|x|^2`` is summed by numpy's einsum in a CPU-dependent order, so spherical models
report ``exact_predict=False``. ``exact=False`` drops the float64 tables
(``exact_predict=False``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import ConversionError
from .ir import (
    DECISION_BINARY,
    DECISION_NONE,
    DECISION_OUTLIER,
    DECISION_SCORES,
    EXACT_ENVELOPE,
    EXACT_GMM_DIAG,
    EXACT_GMM_SPH,
    EXACT_GMM_TRI,
    EXACT_NONE,
    EXACT_QDA,
    KIND_DIAG,
    KIND_FULL,
    KIND_SPHERICAL,
    SCORE_LSE,
    SCORE_NEG_MAHA,
    SCORE_NONE,
    MixtureIR,
)

U = 2.0**-24
INFLATE = 1.0625
MAX_FEATURES = 1024
MAX_COMPONENTS = 1024
COV_TYPES = ("full", "tied", "diag", "spherical")


def _upper_factor_from_square_root(w: np.ndarray) -> np.ndarray:
    """Upper-triangular U with ``U U^T = W W^T`` (QR of the row-reversed W, stable)."""
    n = w.shape[0]
    if w.shape[1] < n:
        w = np.hstack([w, np.zeros((n, n - w.shape[1]))])
    r = np.linalg.qr(w[::-1, :].T, mode="r")
    r = r[:n, :]
    return np.ascontiguousarray(r.T[::-1, ::-1])


def _upper_factor_from_precision(p: np.ndarray) -> np.ndarray:
    """Upper-triangular U with ``U U^T = P`` (Cholesky of the reversed P)."""
    lower = np.linalg.cholesky(p[::-1, ::-1])
    return np.ascontiguousarray(lower[::-1, ::-1])


def _pack_upper(u: np.ndarray) -> np.ndarray:
    """Columns of an upper-triangular matrix, rows 0..i of column i, concatenated."""
    return np.concatenate([u[: i + 1, i] for i in range(u.shape[0])])


def _err_terms(mu: np.ndarray, f: np.ndarray, kind: int) -> tuple[float, float]:
    """(cs, mcs) of a component: ||colsum |F| ||_2 and || |mu| |F| ||_2."""
    n = mu.shape[0]
    if kind == KIND_FULL:
        af = np.abs(f)
        return float(np.linalg.norm(af.sum(axis=0))), float(np.linalg.norm(np.abs(mu) @ af))
    af = np.abs(np.broadcast_to(f, (n,)))
    return float(np.linalg.norm(af)), float(np.linalg.norm(np.abs(mu) * af))


def _is_float32(*arrays: Any) -> bool:
    """scikit-learn fitted on float32 data keeps float32 parameters and then computes its
    scores in float32 (BLAS order): its own rounding must enter the certificate."""
    return any(np.asarray(a).dtype == np.float32 for a in arrays)


def _check_options(options: dict) -> bool:
    exact = options.get("exact", True)
    if not isinstance(exact, (bool, np.bool_)):
        raise ValueError(f"option 'exact' must be True or False, got {exact!r}")
    return bool(exact)


def _check_sizes(name: str, n: int, k: int) -> None:
    if n > MAX_FEATURES:
        raise ConversionError(f"{name}: n_features={n} exceeds the supported {MAX_FEATURES}")
    if k > MAX_COMPONENTS:
        raise ConversionError(f"{name}: {k} components exceed the supported {MAX_COMPONENTS}")


def _mixture_consts(est: Any) -> tuple[np.ndarray, np.ndarray]:
    """float64 c_k of (Bayesian)GaussianMixture (scores are c_k - maha_k / 2), and the sum
    of the magnitudes of its parts (for scikit-learn's float32 rounding of them)."""
    from sklearn.mixture import BayesianGaussianMixture
    from sklearn.mixture._gaussian_mixture import _compute_log_det_cholesky

    n = est.means_.shape[1]
    log_det = _compute_log_det_cholesky(est.precisions_cholesky_, est.covariance_type, n)
    log_det = np.asarray(log_det, dtype=np.float64)
    log_w = np.asarray(est._estimate_log_weights(), dtype=np.float64)
    c = -0.5 * n * np.log(2 * np.pi) + log_det
    parts = 0.5 * n * np.log(2 * np.pi) + np.abs(log_det) + np.abs(log_w)
    if isinstance(est, BayesianGaussianMixture):
        from scipy.special import digamma

        dof = np.asarray(est.degrees_of_freedom_, dtype=np.float64)
        mean_prec = np.asarray(est.mean_precision_, dtype=np.float64)
        c = c - 0.5 * n * np.log(dof)
        log_lambda = n * np.log(2.0) + np.sum(
            digamma(0.5 * (dof - np.arange(0, n)[:, np.newaxis])), 0)
        c = c + 0.5 * (log_lambda - n / mean_prec)
        parts = parts + 0.5 * n * np.abs(np.log(dof)) + 0.5 * np.abs(log_lambda) + (
            0.5 * n / mean_prec)
    c = c + log_w
    return c, parts + np.abs(c)


def _convert_mixture(est: Any, exact: bool) -> dict:
    cov = est.covariance_type
    if cov not in COV_TYPES:
        raise ConversionError(f"{type(est).__name__}: covariance_type={cov!r} is not supported; "
                              f"supported: {', '.join(COV_TYPES)}")
    means = np.asarray(est.means_, dtype=np.float64)
    k, n = means.shape
    _check_sizes(type(est).__name__, n, k)
    pc = np.asarray(est.precisions_cholesky_, dtype=np.float64)
    c64, c_parts = _mixture_consts(est)
    sk32 = _is_float32(est.means_, est.precisions_cholesky_)
    gamma = (n + 4) * U / (1 - (n + 4) * U)
    d_aux = np.zeros(k)
    if cov in ("full", "tied"):
        kind = KIND_FULL
        factors = pc if cov == "full" else pc[np.newaxis]
        if np.any(np.tril(factors, -1) != 0):
            raise ConversionError(f"{type(est).__name__}: precisions_cholesky_ is not upper "
                                  "triangular")
        factor = np.concatenate([_pack_upper(f) for f in factors])
        per_comp = [factors[i if cov == "full" else 0] for i in range(k)]
        g = (n + 3) * U
        # scikit-learn on float32 X: fl32(fl32(n log 2 pi) + fl32(maha)) (a float32 array
        # plus a weak Python scalar): within u maha + 2u n log(2 pi) of the exact sum
        c0 = n * np.log(2 * np.pi)
        alpha = 2 * U
        b = np.full(k, 2 * U * c0)
        # float32 parameters: scikit-learn's fl(x U) - fl(mu U) and sum of squares
        g_sk, m_sk, alpha_sk, b_sk = gamma, 2 * gamma, 2 * gamma + 2 * U, 0.0
        mode = EXACT_GMM_TRI
        d_mean = np.stack([means[i] @ per_comp[i] for i in range(k)])
        d_factor = factor
        d_aux = np.full(k, float(np.float32(c0)))
    elif cov == "diag":
        kind = KIND_DIAG
        factor = pc.ravel()
        per_comp = list(pc)
        g = 3 * U
        p = pc**2
        mp = np.sum(means**2 * p, axis=1)
        alpha, b = 2 * U, 2 * U * mp
        # float32: each of A, 2 x.(mu p), x^2.p within gamma of its magnitude
        g_sk, m_sk, alpha_sk, b_sk = 0.0, 0.0, 4 * gamma, 6 * gamma * mp
        mode = EXACT_GMM_DIAG
        d_mean, d_factor, d_aux = means * p, p.ravel(), mp
    else:
        kind = KIND_SPHERICAL
        factor = pc.ravel()
        per_comp = list(pc)
        g = 3 * U
        p = pc**2
        gamma_n = n * U / (1 - n * U)
        m2 = np.sum(means**2, axis=1)
        alpha, b = 2 * gamma_n, 2 * gamma_n * m2 * p
        g_sk, m_sk, alpha_sk, b_sk = 0.0, 0.0, 4 * gamma, 6 * gamma * m2 * p
        mode = EXACT_GMM_SPH
        d_mean, d_factor, d_aux = means, p, m2
    if not sk32:
        g_sk = m_sk = alpha_sk = 0.0
        b_sk = 0.0 * b
    else:
        # scikit-learn's float32 constants and final additions (-0.5 (n log 2 pi + lp)
        # + log_det + log_w ...): a few roundings of each part, 16 u each covers them
        b_sk = b_sk + 16 * U / 0.5 * c_parts
    terms = [_err_terms(means[i], per_comp[i], kind) for i in range(k)]
    err = np.array([(g * cs + g_sk * cs, U * mcs + m_sk * mcs, b[i] + b_sk[i] if np.ndim(b_sk)
                     else b[i] + b_sk) for i, (cs, mcs) in enumerate(terms)])
    return dict(
        task="classifier", kind=kind, n_features=n, n_components=k,
        n_factors=1 if cov == "tied" else k, score_kind=SCORE_LSE,
        decision_kind=DECISION_NONE, has_proba=True, classes=np.arange(k), h=0.5, g=1.0,
        a=(n + 3) * U + alpha + alpha_sk, mean=means, factor=factor, const=c64, err=err,
        exact_mode=mode if exact else EXACT_NONE, round_maha=exact and mode == EXACT_GMM_TRI,
        d_mean=d_mean, d_factor=d_factor,
        d_const=c64 + 0.5 * n * np.log(2 * np.pi) if mode == EXACT_GMM_TRI else c64,
        d_aux=d_aux,
        exact_predict=exact and kind != KIND_SPHERICAL and not sk32,
        note=(f"{type(est).__name__} was fitted on float32 data: scikit-learn then scores "
              "in float32 in BLAS's summation order (refit on float64 data for exact "
              "predictions)") if sk32 else (
            "covariance_type='spherical': scikit-learn's float32 |x|^2 (numpy einsum, "
            "CPU-dependent summation order) is not reproducible"),
    )


def _convert_qda(est: Any, exact: bool) -> dict:
    means = np.asarray(est.means_, dtype=np.float64)
    k, n = means.shape
    _check_sizes("QuadraticDiscriminantAnalysis", n, k)
    sk32 = _is_float32(est.means_, est.rotations_[0], est.scalings_[0])
    gamma = (n + 4) * U / (1 - (n + 4) * U)
    ws, us, c64, parts = [], [], [], []
    for i in range(k):
        r = np.asarray(est.rotations_[i], dtype=np.float64)
        s = np.asarray(est.scalings_[i], dtype=np.float64)
        w = r * (s ** (-0.5))
        if w.shape != (n, n):
            w = np.hstack([w, np.zeros((n, n - w.shape[1]))]) if w.shape[1] < n else w
        if w.shape != (n, n):
            raise ConversionError(f"QuadraticDiscriminantAnalysis: rotations_[{i}] has shape "
                                  f"{r.shape}, expected ({n}, <= {n})")
        ws.append(w)
        us.append(_upper_factor_from_square_root(w))
        c64.append(-0.5 * np.sum(np.log(s)) + np.log(est.priors_[i]))
        parts.append(0.5 * np.sum(np.abs(np.log(s))) + abs(np.log(est.priors_[i])))
    c64 = np.asarray(c64, dtype=np.float64)
    err = []
    for i in range(k):
        cs, mcs = _err_terms(means[i], us[i], KIND_FULL)
        row = [(n + 3) * U * cs, U * mcs, 0.0]
        if sk32:
            # float32: x - mu (u), W = R S^-1/2 rounded (2u), the product (gamma): per
            # element of y <= (gamma + 3u) sum_j |d_j| |W_ji|; norm2, u, the sums (2u)
            cs_w = float(np.linalg.norm(np.abs(ws[i]).sum(axis=0)))
            row[0] += (gamma + 3 * U) * cs_w
            row[2] = 16 * U / 0.5 * (parts[i] + abs(c64[i]))
        err.append(row)
    err = np.array(err)
    return dict(
        task="classifier", kind=KIND_FULL, n_features=n, n_components=k, n_factors=k,
        score_kind=SCORE_NONE, decision_kind=DECISION_BINARY if k == 2 else DECISION_SCORES,
        has_proba=True, classes=np.asarray(est.classes_), h=0.5, g=1.0,
        a=(n + 3) * U + ((gamma + 2 * U) if sk32 else 0.0), mean=means,
        factor=np.concatenate([_pack_upper(u) for u in us]),
        const=c64, err=err, exact_mode=EXACT_QDA if exact else EXACT_NONE, round_maha=False,
        d_mean=means, d_factor=np.stack(ws).ravel(), d_const=c64, d_aux=np.zeros(k),
        exact_predict=exact and not sk32,
        note=("QuadraticDiscriminantAnalysis was fitted on float32 data: scikit-learn then "
              "scores in float32 in BLAS's summation order (refit on float64 data for "
              "exact predictions)") if sk32 else "",
    )


def _convert_envelope(est: Any, exact: bool) -> dict:
    loc = np.asarray(est.location_, dtype=np.float64)
    n = loc.shape[0]
    _check_sizes("EllipticEnvelope", n, 1)
    prec = np.asarray(est.get_precision(), dtype=np.float64)
    try:
        u = _upper_factor_from_precision(prec)
    except np.linalg.LinAlgError:
        raise ConversionError("EllipticEnvelope: the precision matrix is not positive "
                              "definite (singular covariance_)") from None
    offset = float(est.offset_)
    cs, mcs = _err_terms(loc, u, KIND_FULL)
    err = np.array([((n + 3) * U * cs, U * mcs, 0.0)])
    return dict(
        task="outlier_detector", kind=KIND_FULL, n_features=n, n_components=1, n_factors=1,
        score_kind=SCORE_NEG_MAHA, decision_kind=DECISION_OUTLIER, has_proba=False,
        classes=None, h=1.0, g=1.0, a=(n + 3) * U, mean=loc[np.newaxis],
        factor=_pack_upper(u), const=np.array([-offset]), err=err,
        exact_mode=EXACT_ENVELOPE if exact else EXACT_NONE, round_maha=False,
        d_mean=loc, d_factor=prec.ravel(), d_const=np.zeros(1), d_aux=np.array([offset]),
        exact_predict=exact, note="",
    )


def convert(est: Any, options: dict) -> MixtureIR:
    """Convert a fitted GaussianMixture, BayesianGaussianMixture,
    QuadraticDiscriminantAnalysis or EllipticEnvelope to a :class:`MixtureIR`.

    Parameters
    ----------
    est : estimator
        Fitted scikit-learn estimator.
    options : dict
        ``{"exact": bool}``: keep float64 tables to recompute near-ties exactly.

    Returns
    -------
    MixtureIR
    """
    from sklearn.covariance import EllipticEnvelope
    from sklearn.discriminant_analysis import QuadraticDiscriminantAnalysis
    from sklearn.mixture import BayesianGaussianMixture, GaussianMixture

    exact = _check_options(options)
    if isinstance(est, (GaussianMixture, BayesianGaussianMixture)):
        d = _convert_mixture(est, exact)
    elif isinstance(est, QuadraticDiscriminantAnalysis):
        d = _convert_qda(est, exact)
    elif isinstance(est, EllipticEnvelope):
        d = _convert_envelope(est, exact)
    else:
        raise ConversionError(f"{type(est).__name__} is not supported by the mixture family")
    note = d.pop("note")
    with np.errstate(over="ignore"):
        mean32 = d["mean"].astype(np.float32)
        factor32 = d["factor"].astype(np.float32)
        const32 = d["const"].astype(np.float32)
        err32 = (d["err"] * (1 + 4 * U)).astype(np.float32)  # rounded up (4 ulp margin)
    for name, t in (("means", mean32), ("precision factors", factor32),
                    ("constants", const32), ("error terms", err32)):
        if not np.all(np.isfinite(t)):
            raise ConversionError(f"{type(est).__name__}: {name} are not finite in float32")
    exact_mode = d["exact_mode"]
    if exact_mode == EXACT_NONE:
        empty = np.zeros(0)
        d.update(d_mean=empty, d_factor=empty, d_const=empty, d_aux=empty)
    exactness = _exactness(d["exact_predict"], exact, note)
    names = getattr(est, "feature_names_in_", None)
    return MixtureIR(
        estimator=type(est).__name__,
        feature_names=tuple(str(s) for s in names) if names is not None else None,
        mean=mean32, factor=factor32, const=const32, err=err32,
        g=float(d["g"]), a=float(np.float32(d["a"] * (1 + 4 * U))),
        d_mean=np.ascontiguousarray(d["d_mean"], dtype=np.float64).ravel(),
        d_factor=np.ascontiguousarray(d["d_factor"], dtype=np.float64).ravel(),
        d_const=np.ascontiguousarray(d["d_const"], dtype=np.float64).ravel(),
        d_aux=np.ascontiguousarray(d["d_aux"], dtype=np.float64).ravel(),
        exactness=exactness,
        **{key: d[key] for key in (
            "task", "kind", "n_features", "n_components", "n_factors", "score_kind",
            "decision_kind", "has_proba", "classes", "h", "exact_mode", "round_maha",
            "exact_predict")},
    )


def _exactness(exact_predict: bool, exact: bool, note: str) -> str:
    base = ("float32 Gaussian log densities; continuous outputs within a per-row bound "
            "growing with the Mahalanobis distance (convert.row_tolerances)")
    if exact_predict:
        return base + "; predict certified, near-ties recomputed in float64 (exact)"
    if exact:
        return (base + "; certified rows are exact, near-ties are recomputed in float64, "
                f"but {note}")
    return base + "; exact=False: near-ties (within the bound) may differ from scikit-learn"


# ----------------------------------------------------------------- tolerances (tests)

def _scores64(ir: MixtureIR, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """float64 scores, maha and max |x - mu| from the IR's float32 tables, [rows, K]."""
    X = np.asarray(X, dtype=np.float32).astype(np.float64)
    n, k = ir.n_features, ir.n_components
    mean = ir.mean.astype(np.float64)
    f = ir.factor.astype(np.float64)
    maha = np.empty((X.shape[0], k))
    dmax = np.empty((X.shape[0], k))
    tri = n * (n + 1) // 2
    for c in range(k):
        d = X - mean[c]
        dmax[:, c] = np.abs(d).max(axis=1)
        if ir.kind == KIND_FULL:
            packed = f[(0 if ir.n_factors == 1 else c) * tri:][:tri]
            u = np.zeros((n, n))
            pos = 0
            for i in range(n):
                u[: i + 1, i] = packed[pos: pos + i + 1]
                pos += i + 1
            maha[:, c] = np.sum((d @ u) ** 2, axis=1)
        elif ir.kind == KIND_DIAG:
            maha[:, c] = np.sum((d * f[c * n:(c + 1) * n]) ** 2, axis=1)
        else:
            maha[:, c] = np.sum((d * f[c]) ** 2, axis=1)
    s = ir.const.astype(np.float64) - ir.h * maha
    return s, maha, dmax


def score_bounds(ir: MixtureIR, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(scores, e) per row and component: the C's error bound e_k evaluated in float64."""
    s, maha, dmax = _scores64(ir, X)
    err = ir.err.astype(np.float64)
    e = ir.g * dmax * err[:, 0] + err[:, 1]
    bound = ir.h * ((2 * (np.sqrt(maha) + e) + e) * e + ir.a * maha + err[:, 2]) + U * (
        np.abs(ir.const.astype(np.float64)) + np.abs(s))
    return s, bound * INFLATE * (1 + 64 * U) + 1e-35


def row_tolerances(ir: MixtureIR, X: np.ndarray) -> dict[str, np.ndarray]:
    """Per-row absolute tolerances of every continuous output (see the module docstring).

    Returns
    -------
    dict
        ``"decision_function"`` (rows x n_decision, or rows), ``"score_samples"`` (rows)
        and ``"predict_proba"`` (rows) where the estimator has them.
    """
    s, e = score_bounds(ir, X)
    k = ir.n_components
    small = (k + 6) * 4 * U
    out: dict[str, np.ndarray] = {}
    if ir.decision_kind == DECISION_SCORES:
        out["decision_function"] = e
    elif ir.decision_kind == DECISION_BINARY:
        out["decision_function"] = e[:, 0] + e[:, 1] + U * np.abs(s[:, 1] - s[:, 0])
    elif ir.decision_kind == DECISION_OUTLIER:
        out["decision_function"] = e[:, 0]
    # log-sum-exp moves by at most L = log sum_j p_j exp(e_j) (p = softmax of s, exact
    # for the IR's tables) when each score moves by at most e_j (convexity / Jensen)
    mx = s.max(axis=1)
    w = np.exp(s - mx[:, None])
    lse = mx + np.log(w.sum(axis=1))
    p = w / w.sum(axis=1)[:, None]
    big_l = np.log(np.sum(p * np.exp(e), axis=1))
    if ir.score_kind == SCORE_NEG_MAHA:
        out["score_samples"] = e[:, 0]
    elif ir.score_kind == SCORE_LSE:
        out["score_samples"] = 2 * big_l + U * (np.abs(mx) + np.abs(lse)) + small
    if ir.has_proba:
        big_e = e + 2 * big_l[:, None] + small
        out["predict_proba"] = p * np.exp(e + big_l[:, None]) * np.expm1(big_e) + small
    return out
