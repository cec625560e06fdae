"""Naive Bayes IR: the model as the C engine computes it, plus a numpy mirror of the C.

Every supported estimator's joint log likelihood (scikit-learn's
``_joint_log_likelihood``, up to a per-row shift that changes neither ``predict`` nor
``predict_proba``) is one of three *kinds*:

``"gaussian"``  ``J_c(x) = K_c - sum_j h_cj (x_j - m_cj)^2``
                (``K_c = log prior_c - 0.5 sum_j log(2 pi var_cj)``, ``h_cj = 1/(2 var_cj)``)
``"linear"``    ``J_c(x) = b_c + sum_j w_cj x_j``
``"binary"``    ``J_c(x) = b_c + sum_j w_cj [x_j > threshold]``
``"gaussian32"``  GaussianNB fitted on float32 data: scikit-learn keeps float32 parameters
                and computes in float32 with numpy; the C repeats those operations bit for
                bit: ``J_c = lp_c + (c1_c - 0.5 * pairwise_sum_j((x_j - m_cj)^2 / var_cj))``
                (``const`` = ``lp``, ``const2`` = ``c1``, ``coef`` = ``var_``, numpy's
                pairwise summation order)

The parameters are kept in float64 (``const``, ``coef``, ``mean``); the C stores each as
its float32 rounding ``hi`` and, when ``exact``, the float32 rounding ``lo`` of the rest
(``hi + lo`` is within 2^-48 relative of the float64 value) for the double-precision
recomputation of near-ties. ``bound_*`` are the float32 constants of the certified
error bound ``E_c`` of the float32 pass (derivation in ``convert.py``).

:func:`float32_pass`, :func:`jll64`, :func:`predict` and :func:`predict_proba` mirror
the C engine (``runtime/ml_naive_bayes.h``) operation by operation (except ``expf``,
whose last bit may differ); tests and the cost model use them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KINDS = ("gaussian", "linear", "binary", "gaussian32")
KIND_CODES = {"gaussian": 0, "linear": 1, "binary": 2, "gaussian32": 3}
PW_BLOCKSIZE = 128  # numpy's pairwise summation block

#: predict_proba keeps the float32 log likelihood of class c when it is certified
#: negligible (``J_c - J_t < -PROBA_NEGLIGIBLE``) or ``E_c + E_t <= PROBA_EPS``; otherwise
#: it recomputes class c (and the float32 maximum t) in double precision.
PROBA_EPS = 2.0 ** -14
PROBA_NEGLIGIBLE = 17.0


@dataclass(frozen=True, eq=False)
class NaiveBayesIR:
    """A naive Bayes classifier as the C engine computes it.

    Attributes
    ----------
    estimator : str
        Class name of the source estimator.
    kind : {"gaussian", "linear", "binary"}
    classes : ndarray
        ``classes_`` of the estimator; the C returns indices into it.
    const : ndarray of float64, shape (n_classes,)
        ``K_c`` (gaussian) or ``b_c`` (linear, binary); gaussian32: float32 ``lp_c``.
    coef : ndarray of float64, shape (n_classes, n_features)
        ``h_cj`` (gaussian) or ``w_cj``.
    mean : ndarray of float64, shape (n_classes, n_features), or None
        ``m_cj`` (gaussian only).
    threshold : float
        Binary kind: a feature counts as 1 when ``x_j > threshold`` (a float32 value
        chosen so the float32 comparison equals scikit-learn's ``binarize``).
    exact : bool
        Certified float32 pass with double-precision recomputation of near-ties.
    bound_k : ndarray of float32, shape (3,)
        Coefficients ``k1, k2, k3`` of the bound.
    bound_class : ndarray of float32, shape (n_classes,)
        ``G_c``: the per-class constant of the bound.
    bound_mean : ndarray of float32, shape (n_classes,)
        Gaussian ``M_c`` (rounded up); empty otherwise.
    bound_feature : ndarray of float32, shape (n_features,)
        Linear / binary ``W_j`` (rounded up); empty otherwise.
    feature_names : tuple of str or None
    """

    estimator: str
    kind: str
    classes: np.ndarray
    const: np.ndarray
    coef: np.ndarray
    mean: np.ndarray | None
    threshold: float
    exact: bool
    bound_k: np.ndarray
    bound_class: np.ndarray
    bound_mean: np.ndarray
    bound_feature: np.ndarray
    feature_names: tuple[str, ...] | None = None
    const2: np.ndarray | None = None  # gaussian32: float32 c1_c

    @property
    def bounded(self) -> bool:
        """The float32 pass is certified by a bound with double-precision fallback."""
        return self.exact and self.kind != "gaussian32"

    @property
    def exact_predict(self) -> bool:
        """predict provably equals scikit-learn's (bound + fallback, or bit replication)."""
        return self.exact or self.kind == "gaussian32"

    @property
    def n_classes(self) -> int:
        return int(self.coef.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.coef.shape[1])


def split(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """float64 values -> (hi, lo) float32 with ``hi = fl32(v)``, ``lo = fl32(v - hi)``."""
    v = np.asarray(v, dtype=np.float64)
    hi = v.astype(np.float32)
    lo = (v - hi.astype(np.float64)).astype(np.float32)
    return hi, lo


def tables(ir: NaiveBayesIR) -> dict[str, np.ndarray]:
    """The float32 tables of the C (and of the model-file section), by name.

    ``constant``, ``coef``, ``mean`` (gaussian); when exact also ``constant_lo``,
    ``coef_lo``, ``mean_lo`` (gaussian), ``bound_class``, ``bound_mean`` (gaussian),
    ``bound_feature`` (linear, binary); gaussian32: ``constant``, ``constant2``, ``coef``,
    ``mean``. 2-D tables are flattened class-major.
    """
    t: dict[str, np.ndarray] = {}
    const_hi, const_lo = split(ir.const)
    coef_hi, coef_lo = split(ir.coef.ravel())
    t["constant"] = const_hi
    t["coef"] = coef_hi
    if ir.kind in ("gaussian", "gaussian32"):
        mean_hi, mean_lo = split(ir.mean.ravel())
        t["mean"] = mean_hi
    if ir.kind == "gaussian32":
        t["constant2"] = np.asarray(ir.const2, dtype=np.float32)
    if ir.bounded:
        t["constant_lo"] = const_lo
        t["coef_lo"] = coef_lo
        if ir.kind == "gaussian":
            t["mean_lo"] = mean_lo
        t["bound_class"] = ir.bound_class.astype(np.float32)
        if ir.kind == "gaussian":
            t["bound_mean"] = ir.bound_mean.astype(np.float32)
        else:
            t["bound_feature"] = ir.bound_feature.astype(np.float32)
    return t


def _rows(ir: NaiveBayesIR, X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 2 or X.shape[1] != ir.n_features:
        raise ValueError(f"X must have shape (n, {ir.n_features}), got {X.shape}")
    return X


def float32_pass(ir: NaiveBayesIR, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The C's float32 pass: ``(s, E)``, both (n_rows, n_classes) float32.

    ``s`` are the float32 log likelihoods (sequential sums over features, in order);
    ``E`` the certified bounds (zeros when not ``ir.bounded``).
    """
    X = _rows(ir, X)
    t = tables(ir)
    C, F = ir.n_classes, ir.n_features
    f32 = np.float32
    W = t["coef"].reshape(C, F)
    n = X.shape[0]
    with np.errstate(all="ignore"):
        if ir.kind == "gaussian32":
            Mu = t["mean"].reshape(C, F)
            s = np.empty((n, C), dtype=f32)
            for c in range(C):
                d = X - Mu[c][None, :]
                S = pairwise_sum((d * d) / W[c][None, :])
                s[:, c] = t["constant"][c] + (t["constant2"][c] - f32(0.5) * S)
            return s, np.zeros_like(s)
        if ir.kind == "gaussian":
            Mu = t["mean"].reshape(C, F)
            acc = np.zeros((n, C), dtype=f32)
            for j in range(F):
                d = X[:, j:j + 1] - Mu[None, :, j]
                acc = acc + (d * d) * W[None, :, j]
            s = t["constant"][None, :] - acc
        else:
            s = np.repeat(t["constant"][None, :], n, axis=0)
            for j in range(F):
                if ir.kind == "binary":
                    on = X[:, j:j + 1] > f32(ir.threshold)
                    s = np.where(on, s + W[None, :, j], s)
                else:
                    s = s + X[:, j:j + 1] * W[None, :, j]
        if not ir.bounded:
            return s, np.zeros_like(s)
        k1, k2, k3 = (f32(v) for v in ir.bound_k)
        G = t["bound_class"][None, :]
        if ir.kind == "gaussian":
            Mb = t["bound_mean"][None, :]
            E = k1 * acc + k2 * np.sqrt(Mb * acc) + k3 * np.abs(s) + G
        else:
            Wb = t["bound_feature"]
            a = np.zeros(n, dtype=f32)
            for j in range(F):
                if ir.kind == "binary":
                    a = np.where(X[:, j] > f32(ir.threshold), a + Wb[j], a)
                else:
                    a = a + np.abs(X[:, j]) * Wb[j]
            E = k1 * a[:, None] + G
    return s.astype(f32), E.astype(f32)


def pairwise_sum(a: np.ndarray) -> np.ndarray:
    """numpy's float32 pairwise summation of each row of ``a`` (what ``np.sum(a, axis=1)``
    does for a C-contiguous float32 array), float32 (n_rows,)."""
    f32 = np.float32
    a = np.asarray(a, dtype=f32)
    n = a.shape[1]
    if n < 8:
        res = np.zeros(a.shape[0], dtype=f32)
        for i in range(n):
            res = res + a[:, i]
        return res
    if n <= PW_BLOCKSIZE:
        r = [a[:, k].copy() for k in range(8)]
        i = 8
        while i < n - n % 8:
            for k in range(8):
                r[k] = r[k] + a[:, i + k]
            i += 8
        res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        while i < n:
            res = res + a[:, i]
            i += 1
        return res
    n2 = n // 2
    n2 -= n2 % 8
    return pairwise_sum(a[:, :n2]) + pairwise_sum(a[:, n2:])


def jll64(ir: NaiveBayesIR, X: np.ndarray) -> np.ndarray:
    """The C's double-precision recomputation (``hi + lo`` parameters), (n_rows, C)."""
    X = _rows(ir, X).astype(np.float64)
    t = tables(ir)
    C, F = ir.n_classes, ir.n_features

    def full(name: str) -> np.ndarray:
        return t[name].astype(np.float64) + t[name + "_lo"].astype(np.float64)

    K = full("constant")
    W = full("coef").reshape(C, F)
    with np.errstate(all="ignore"):
        if ir.kind == "gaussian":
            Mu = full("mean").reshape(C, F)
            acc = np.zeros((X.shape[0], C))
            for j in range(F):
                d = X[:, j:j + 1] - Mu[None, :, j]
                acc = acc + d * d * W[None, :, j]
            return K[None, :] - acc
        s = np.repeat(K[None, :], X.shape[0], axis=0)
        for j in range(F):
            if ir.kind == "binary":
                s = np.where(X[:, j:j + 1] > np.float32(ir.threshold), s + W[None, :, j], s)
            else:
                s = s + X[:, j:j + 1] * W[None, :, j]
        return s


def _first_max(v: np.ndarray) -> np.ndarray:
    """Index of the first maximum per row, NaN never winning (all NaN: 0), like the C."""
    w = np.where(np.isnan(v), -np.inf, v)
    idx = np.argmax(w, axis=1)
    allnan = np.all(np.isnan(v), axis=1)
    # a row whose first entry is NaN keeps index 0 in the C's running comparison
    return np.where(allnan | np.isnan(v[:, 0]), 0, idx)


def certified(ir: NaiveBayesIR, s: np.ndarray, E: np.ndarray) -> np.ndarray:
    """Rows whose float32 argmax the bound certifies (the C's predict test), bool (n,)."""
    n, C = s.shape
    if C == 1:
        return np.ones(n, dtype=bool)
    best = _first_max(s)
    r = np.arange(n)
    with np.errstate(all="ignore"):
        lo = (s[r, best] - E[r, best]).astype(np.float32)
        hi = (s + E).astype(np.float32)
        hi[r, best] = -np.inf
        ok = ~np.any(np.isnan(s + E), axis=1) & (lo > hi.max(axis=1))
    return ok


def proba_redo(ir: NaiveBayesIR, s: np.ndarray, E: np.ndarray) -> np.ndarray:
    """Classes predict_proba recomputes in double precision (the C's test), bool (n, C).

    Class ``c`` keeps its float32 value when certified negligible or when
    ``E_c + E_t <= PROBA_EPS``; when any class is recomputed, class ``t`` is too.
    """
    n = s.shape[0]
    best = _first_max(s)
    r = np.arange(n)
    f32 = np.float32
    with np.errstate(all="ignore"):
        a = (s - s[r, best][:, None]).astype(f32)
        e = (E + E[r, best][:, None]).astype(f32)
        negligible = (a + e).astype(f32) < f32(-PROBA_NEGLIGIBLE)
        fine = negligible | (e <= f32(PROBA_EPS))
        fine[r, best] = True
        fine &= ~np.isnan(a)
    redo = ~fine
    redo[r, best] |= redo.any(axis=1)
    return redo


def fallback_rows(ir: NaiveBayesIR, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows recomputed in double precision by (predict, predict_proba), bool (n,) each."""
    s, E = float32_pass(ir, X)
    if not ir.bounded:
        z = np.zeros(s.shape[0], dtype=bool)
        return z, z
    return ~certified(ir, s, E), proba_redo(ir, s, E).any(axis=1)


def predict(ir: NaiveBayesIR, X: np.ndarray) -> np.ndarray:
    """Class indices the C returns."""
    s, E = float32_pass(ir, X)
    idx = _first_max(s)
    if ir.bounded:
        bad = ~certified(ir, s, E)
        if np.any(bad):
            idx[bad] = _first_max(jll64(ir, np.asarray(X)[bad]))
    return idx


def predict_proba(ir: NaiveBayesIR, X: np.ndarray) -> np.ndarray:
    """Probabilities the C returns (up to ``expf``'s last bit), float32 (n, C)."""
    s, E = float32_pass(ir, X)
    r = np.arange(s.shape[0])
    with np.errstate(all="ignore"):
        a = (s - s[r, _first_max(s)][:, None]).astype(np.float32)
        if ir.bounded:
            redo = proba_redo(ir, s, E)
            rows = np.flatnonzero(redo.any(axis=1))
            if rows.size:
                J = jll64(ir, np.asarray(X)[rows])
                t = _first_max(s[rows])
                jt = J[np.arange(rows.size), t]
                sub = a[rows]
                sub = np.where(redo[rows], (J - jt[:, None]).astype(np.float32), sub)
                top = sub[np.arange(rows.size), _first_max(sub)]
                a[rows] = (sub - top[:, None]).astype(np.float32)
        e = np.exp(a)
        tot = np.zeros(s.shape[0], dtype=np.float32)
        for c in range(s.shape[1]):
            tot = tot + e[:, c]
        return e * (np.float32(1.0) / tot)[:, None]
