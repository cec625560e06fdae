"""Nearest-neighbour estimators -> :class:`NeighborsIR`, and the family's error bounds.

Supported: ``KNeighborsClassifier`` (predict, predict_proba), ``KNeighborsRegressor``,
``NearestCentroid`` (predict; decision_function and predict_proba with the euclidean
metric) and ``LocalOutlierFactor(novelty=True)`` (predict, decision_function,
score_samples). Metrics: euclidean, manhattan, chebyshev and minkowski with any float32
``p > 0`` (scikit-learn's ``effective_metric_``: p = 1, 2, inf become manhattan,
euclidean, chebyshev). Weights: ``"uniform"`` and ``"distance"``.

What is kept exactly
--------------------
* The training set (or the centroids) is stored in float32. scikit-learn ranks the
  float32 query, cast to float64, against its float64 ``_fit_X``: when ``_fit_X`` holds
  float32 values (``points_exact``; e.g. integer data, or a model fitted on float32)
  the stored points are sklearn's; otherwise they are rounded once (relative 2^-24).
* Neighbours: the C ranks points by (distance, training index), smaller index first on
  equal distances. Float32 distances are certified (``ml_neighbors_rel_err``: relative
  error ``e = c u``, u = 2^-24, c = n+3 for squared euclidean, n+1 manhattan, 2
  chebyshev, n+p+5 minkowski (ml_powf within 2 ulp = 4u), times 17/16; plus n 2^-125
  absolute for underflow); when the
  (k+1)-th candidate lies within the bound of the k-th, all candidates within it are
  recomputed in double, so the selected set is the exact k nearest of the stored points.
* Exact ties at the k-th distance are where scikit-learn itself is arbitrary: its choice
  depends on ``algorithm`` (the kd-tree / ball-tree visiting order; brute force chunks
  ranked through the rounded expansion |x|^2 - 2 x.y + |y|^2, whose rounding noise
  orders equal distances) and so cannot be reproduced; the vote changes only when the
  tied points belong to different classes and the tie decides the vote. This is why
  ``exact_predict`` is False for k-NN (measured: docs/families/neighbors.md).
* Votes: uniform votes are integer counts (exact); ``predict`` is the first maximum
  (smallest class index on ties), as scikit-learn's ``_mode`` / ``weighted_mode`` /
  argmax. Distance weights 1/d: when the two largest class sums are within their error
  bound (below) the C recomputes them in double. Rows with a selected point at distance 0
  use weights 1 for those points and 0 for the others (scikit-learn's rule).

Tolerances (u = 2^-24, k neighbours, e as above; first order, with margin)
-----------------------------------------------------------------------------------
* weight 1/d from a float32 reduced distance: ``ew = e/2 + 2u`` (euclidean: ml_sqrtf is
  correctly rounded, then one division), ``e + u`` (manhattan, chebyshev),
  ``e/p + (6 + 104/p) u`` (minkowski: ml_powf, <= 2 ulp = 4u, with a rounded 1/p,
  |ln rd| <= 104, and the division).
* class sums of k positive weights: ``es = ew + k u``.
* ``predict_proba`` uniform: count/k correctly rounded: ``u``; distance:
  ``2 es + (n_classes + 1) u``.
* regression (M = max |target|, span = max - min target): uniform ``(k + 2) u M``;
  distance ``4 ew M + 2 ew' span + (2k + 2) u M`` (``ew' = ew`` plus the stored points'
  ``r / (d - r)``: perturbed weights move a weighted mean by <= 2 ew' span).
* LOF ``score_samples`` s: relative ``er = ew' + (2k + 6) u`` with ``ew' = e/2 + 3u`` (a
  distance, scikit-learn's own rounding of distances to float32, the stored k-distance),
  the two sums of k terms, the stored lrd, two divisions and a product: ``|ds| <= er |s|``;
  ``decision_function``: that plus ``u (|s| + |offset|)``.
* NearestCentroid scores ``b_c - sum_f (x_f / s_f - c_f / s_f)^2``: with
  ``t_f = x_f inv_f - nc_f`` (x inv: 2u relative, nc: u, the subtraction u) the error is
  ``sum_f 2 |t_f| (2u |x_f inv_f| + u |nc_f| + u |t_f|) + (n + 1) u sum_f t_f^2 + u |b_c|``
  (manhattan: the same for |t| with one extra squaring); ``predict_proba`` (softmax):
  ``2.2 D + (n_classes + 12) u`` with D the largest score bound of the row.
* When ``points_exact`` is False the stored points differ from sklearn's by r (the
  largest rounding residual norm of a point): every distance moves by <= r, which the
  bounds of :func:`output_bounds` add (distance weights: relative ``r / (d - r)``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import ConversionError
from .ir import FLAG_DECISION, FLAG_UNIFORM_PRIORS, NeighborsIR

SUPPORTED = ("KNeighborsClassifier", "KNeighborsRegressor", "NearestCentroid",
             "LocalOutlierFactor")

U = 2.0**-24
_ALIASES = {"euclidean": "euclidean", "l2": "euclidean", "manhattan": "manhattan",
            "cityblock": "manhattan", "l1": "manhattan", "chebyshev": "chebyshev",
            "infinity": "chebyshev", "minkowski": "minkowski"}


def _metric(est: Any) -> tuple[str, float]:
    """(metric, p) from scikit-learn's effective metric of a fitted estimator."""
    name = type(est).__name__
    metric = getattr(est, "effective_metric_", getattr(est, "metric", None))
    params = dict(getattr(est, "effective_metric_params_", None) or {})
    if not isinstance(metric, str) or metric not in _ALIASES:
        raise ConversionError(
            f"{name}: metric={metric!r} is not supported; supported: euclidean, "
            "manhattan, chebyshev, minkowski (any p > 0)")
    metric = _ALIASES[metric]
    p = 2.0
    if metric == "minkowski":
        p = float(params.pop("p", getattr(est, "p", 2)))
        if params.pop("w", None) is not None:
            raise ConversionError(f"{name}: metric_params w (weighted minkowski) is not "
                                  "supported; supported: metric_params=None")
        if p == 1.0:
            metric = "manhattan"
        elif p == 2.0:
            metric = "euclidean"
        elif np.isinf(p):
            metric = "chebyshev"
        elif not (p > 0 and float(np.float32(p)) == p):
            raise ConversionError(f"{name}: p={p!r} is not supported; supported: p > 0 "
                                  "exactly representable in float32 (e.g. 0.5, 1.5, 3), "
                                  "1, 2 or inf")
        if metric != "minkowski":
            p = 2.0
    if params:
        raise ConversionError(f"{name}: metric_params {sorted(params)} are not supported; "
                              "supported: metric_params=None (or p)")
    return metric, p


def _points(est: Any, X: Any) -> tuple[np.ndarray, bool]:
    name = type(est).__name__
    if hasattr(X, "toarray"):
        raise ConversionError(f"{name} was fitted on a sparse matrix; supported: dense X")
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or not np.all(np.isfinite(X)):
        raise ConversionError(f"{name}: the fitted points must be a finite 2-D array")
    with np.errstate(over="ignore"):
        X32 = X.astype(np.float32)
    if not np.all(np.isfinite(X32)):
        raise ConversionError(f"{name}: a fitted value overflows float32")
    if X.shape[0] > 2**24 or X.shape[1] > 65535:
        raise ConversionError(f"{name}: {X.shape[0]} points x {X.shape[1]} features exceed "
                              "the format's limits (2^24 points, 65535 features)")
    return X32, bool(np.array_equal(X32.astype(np.float64), X))


def _weights(est: Any) -> str:
    w = est.weights
    if w in (None, "uniform"):
        return "uniform"
    if w == "distance":
        return "distance"
    raise ConversionError(f"{type(est).__name__}: weights={w!r} is not supported; "
                          "supported: 'uniform', 'distance'")


def _feature_names(est: Any) -> tuple[str, ...] | None:
    names = getattr(est, "feature_names_in_", None)
    return None if names is None else tuple(str(n) for n in names)


def _knn(est: Any, classifier: bool) -> NeighborsIR:
    name = type(est).__name__
    metric, p = _metric(est)
    points, exact = _points(est, est._fit_X)
    k = int(est.n_neighbors)
    if k > points.shape[0]:
        raise ConversionError(f"{name}: n_neighbors={k} exceeds the {points.shape[0]} "
                              "training points")
    if k > 65535:
        raise ConversionError(f"{name}: n_neighbors={k} is above the supported 65535")
    common = dict(estimator=name, n_features=int(points.shape[1]), metric=metric, p=p,
                  k=k, weights=_weights(est), points=points, points_exact=exact,
                  feature_names=_feature_names(est))
    if classifier:
        if getattr(est, "outputs_2d_", False):
            raise ConversionError(f"{name} was fitted with a 2-D y (multi-output); "
                                  "supported: one output")
        classes = np.asarray(est.classes_)
        if len(classes) > 65535:
            raise ConversionError(f"{name}: {len(classes)} classes exceed 65535")
        return NeighborsIR(kind="knn_classifier", classes=classes,
                           labels=np.asarray(est._y, dtype=np.int64), **common)
    y = np.asarray(est._y, dtype=np.float64)
    one_d = y.ndim == 1
    y2 = y.reshape(len(y), -1)
    if y2.shape[1] > 65535:
        raise ConversionError(f"{name}: {y2.shape[1]} targets exceed 65535")
    with np.errstate(over="ignore"):
        t32 = y2.astype(np.float32)
    if not np.all(np.isfinite(t32)):
        raise ConversionError(f"{name}: a target is not finite in float32")
    return NeighborsIR(kind="knn_regressor", targets=t32, target_1d=one_d, **common)


def _centroid(est: Any) -> NeighborsIR:
    name = type(est).__name__
    if est.metric not in ("euclidean", "manhattan"):
        raise ConversionError(f"{name}: metric={est.metric!r} is not supported; supported: "
                              "'euclidean', 'manhattan'")
    points, exact = _points(est, est.centroids_)
    classes = np.asarray(est.classes_)
    prior = np.asarray(est.class_prior_, dtype=np.float64)
    std = np.asarray(est.within_class_std_dev_, dtype=np.float64)
    flags = 0
    if np.isclose(prior, 1 / len(classes)).all():
        flags |= FLAG_UNIFORM_PRIORS
    if est.metric == "euclidean":
        flags |= FLAG_DECISION
    mask = std != 0
    inv = np.ones(len(std))
    inv[mask] = 1.0 / std[mask]
    norm = np.array(est.centroids_, dtype=np.float64)
    norm[:, mask] /= std[mask]
    with np.errstate(divide="ignore"):
        bias = 2.0 * np.log(prior)
    with np.errstate(over="ignore"):
        tables = [a.astype(np.float32) for a in (inv, norm, bias)]
    if not (np.all(np.isfinite(tables[0])) and np.all(np.isfinite(tables[1]))):
        raise ConversionError(f"{name}: a normalised centroid overflows float32")
    return NeighborsIR(estimator=name, kind="centroid", n_features=int(points.shape[1]),
                       metric=est.metric, p=2.0, k=1, weights="uniform", points=points,
                       points_exact=exact, classes=classes, flags=flags,
                       inv_scale=tables[0], norm_points=tables[1], bias=tables[2],
                       feature_names=_feature_names(est))


def _lof(est: Any) -> NeighborsIR:
    name = type(est).__name__
    if not est.novelty:
        raise ConversionError(f"{name}: novelty=False has no predict / score_samples for "
                              "new data; supported: novelty=True")
    metric, p = _metric(est)
    points, exact = _points(est, est._fit_X)
    k = int(est.n_neighbors_)
    if k > 65535:
        raise ConversionError(f"{name}: n_neighbors={k} is above the supported 65535")
    kd = np.asarray(est._distances_fit_X_, dtype=np.float64)[:, k - 1]
    lrd = np.asarray(est._lrd, dtype=np.float64)
    offset = float(est.offset_)
    with np.errstate(over="ignore"):
        kd32, lrd32, off32 = kd.astype(np.float32), lrd.astype(np.float32), np.float32(offset)
    if not (np.all(np.isfinite(kd32)) and np.all(np.isfinite(lrd32)) and np.isfinite(off32)):
        raise ConversionError(f"{name}: k-distances, densities or offset_ overflow float32")
    return NeighborsIR(estimator=name, kind="lof", n_features=int(points.shape[1]),
                       metric=metric, p=p, k=k, weights="uniform", points=points,
                       points_exact=exact, k_distance=kd32, lrd=lrd32, offset=float(off32),
                       feature_names=_feature_names(est))


def from_sklearn(est: Any) -> NeighborsIR:
    """Convert a fitted supported estimator (see the module docstring) to the IR."""
    from sklearn.neighbors import (
        KNeighborsClassifier,
        KNeighborsRegressor,
        LocalOutlierFactor,
        NearestCentroid,
    )

    if isinstance(est, KNeighborsClassifier):
        return _knn(est, classifier=True)
    if isinstance(est, KNeighborsRegressor):
        return _knn(est, classifier=False)
    if isinstance(est, NearestCentroid):
        return _centroid(est)
    if isinstance(est, LocalOutlierFactor):
        return _lof(est)
    raise ConversionError(f"{type(est).__name__} is not supported by the neighbors family; "
                          f"supported: {', '.join(SUPPORTED)}")


# --- error bounds ---------------------------------------------------------------------

def rel_err(ir: NeighborsIR) -> float:
    """``ml_neighbors_rel_err``: relative error bound of a float32 reduced distance."""
    n = ir.n_features
    c = {"euclidean": n + 3.0, "manhattan": n + 1.0, "chebyshev": 2.0}.get(
        ir.metric, n + ir.p + 5.0)
    return c * U * 1.0625


def weight_err(ir: NeighborsIR) -> float:
    """``ml_neighbors_weight_err``: relative error bound of a distance weight 1/d."""
    e = rel_err(ir)
    if ir.metric == "euclidean":
        return 0.5 * e + 2 * U
    if ir.metric == "minkowski":
        return e / ir.p * 1.0625 + (6 + 104 / ir.p) * U
    return e + U


def _rdist(ir: NeighborsIR, X: np.ndarray, P: np.ndarray) -> np.ndarray:
    """Reduced distances (float64) between rows X and points P."""
    D = np.abs(X[:, None, :].astype(np.float64) - P[None, :, :].astype(np.float64))
    if ir.metric == "euclidean":
        return (D * D).sum(-1)
    if ir.metric == "manhattan":
        return D.sum(-1)
    if ir.metric == "chebyshev":
        return D.max(-1)
    return (D**ir.p).sum(-1)


def _dist(ir: NeighborsIR, rd: np.ndarray) -> np.ndarray:
    if ir.metric == "euclidean":
        return np.sqrt(rd)
    if ir.metric == "minkowski":
        return rd ** (1.0 / ir.p)
    return rd


def neighbours(ir: NeighborsIR, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reference selection of the C: (indices, distances) of the k nearest stored points
    of each row, ranked by (float64 distance, index). Memory n_rows x n_points."""
    X = np.asarray(X, dtype=np.float32)
    idx = np.empty((len(X), ir.k), dtype=np.int64)
    dist = np.empty((len(X), ir.k))
    for s in range(0, len(X), 32):
        rd = _rdist(ir, X[s:s + 32], ir.points)
        order = np.argsort(rd, axis=1, kind="stable")[:, :ir.k]
        idx[s:s + 32] = order
        dist[s:s + 32] = _dist(ir, np.take_along_axis(rd, order, axis=1))
    return idx, dist


def output_bounds(ir: NeighborsIR, X: Any, r: float = 0.0, per_row: bool = False
                  ) -> Any:
    """Absolute tolerance of each continuous method on rows X (the bounds of the module
    docstring, evaluated on these rows). ``r``: the rounding residual of the stored
    points (:func:`storage_residual`), 0 when ``points_exact``. ``per_row`` (LOF only):
    the decision_function bound of each row instead."""
    X = np.asarray(X, dtype=np.float32)
    out: dict[str, float] = {}
    if ir.kind == "centroid":
        if not ir.flags & FLAG_DECISION:
            return out  # predict only
        D = _centroid_bounds(ir, X)
        out["decision_function"] = float(D.max()) * (2.0 if ir.n_outputs == 2 else 1.0)
        out["predict_proba"] = 2.2 * float(D.max()) + (ir.n_outputs + 12) * U
        return out
    ew = weight_err(ir)
    k = ir.k
    idx, dist = neighbours(ir, X)
    # relative weight error including the stored points' rounding (distance moves <= r)
    if r > 0:
        with np.errstate(divide="ignore", invalid="ignore"):
            rw = np.where(dist > 2 * r, r / (dist - r), np.inf)
    else:
        rw = np.zeros_like(dist)
    if ir.kind == "knn_classifier":
        if ir.weights == "uniform":
            out["predict_proba"] = 2 * U
        else:
            es = ew + float(np.max(rw[np.isfinite(rw)], initial=0.0)) + k * U
            out["predict_proba"] = 2 * es + (ir.n_outputs + 1) * U
            if np.any(~np.isfinite(rw)):
                # rows at (rounded) distance 0 from a stored point: ours weights it 1 and
                # the others 0; sklearn's weight 1/d0 with d0 <= r: the others' share
                near = np.any(~np.isfinite(rw), axis=1)
                far = np.where(np.isfinite(rw), dist - r, np.inf)[near]
                share = float(np.max(r * np.sum(1.0 / far, axis=1)))
                out["predict_proba"] = max(out["predict_proba"], share + 4 * U)
    elif ir.kind == "knn_regressor":
        assert ir.targets is not None
        M = float(np.abs(ir.targets).max())
        if ir.weights == "uniform":
            out["predict"] = (k + 2) * U * M
        else:
            span = float(ir.targets.max() - ir.targets.min())
            ewr = ew + float(np.max(rw[np.isfinite(rw)], initial=0.0))
            tol = (4 * ew) * M + 2 * ewr * span + (2 * k + 2) * U * M
            if np.any(~np.isfinite(rw)):
                near = np.any(~np.isfinite(rw), axis=1)
                far = np.where(np.isfinite(rw), dist - r, np.inf)[near]
                tol = max(tol, float(np.max(r * np.sum(1.0 / far, axis=1))) * 2 * span
                          + (2 * k + 2) * U * M)
            out["predict"] = tol
    else:  # lof
        assert ir.lrd is not None and ir.k_distance is not None
        reach = np.maximum(dist, ir.k_distance[idx].astype(np.float64))
        s = -ir.lrd[idx].astype(np.float64).mean(1) * (reach.mean(1) + 1e-10)
        er = rel_err(ir) / 2 + 3 * U + (2 * k + 6) * U + r / np.maximum(reach.min(1), 1e-300)
        if per_row:
            return (er * np.abs(s)) * 1.0625 + U * (np.abs(s) + abs(ir.offset))
        out["score_samples"] = float(np.max(er * np.abs(s))) * 1.0625
        out["decision_function"] = out["score_samples"] + U * float(
            np.max(np.abs(s)) + abs(ir.offset))
    return out


def _centroid_bounds(ir: NeighborsIR, X: np.ndarray) -> np.ndarray:
    """Per row and class: bound on |score32 - score64| of the discriminant scores."""
    assert ir.inv_scale is not None and ir.norm_points is not None and ir.bias is not None
    xs = np.abs(X.astype(np.float64) * ir.inv_scale.astype(np.float64))  # [r, f]
    nc = np.abs(ir.norm_points.astype(np.float64))  # [c, f]
    t = np.abs(X.astype(np.float64)[:, None, :] * ir.inv_scale[None, None, :]
               - ir.norm_points[None, :, :].astype(np.float64))  # [r, c, f]
    et = 2 * U * xs[:, None, :] + U * nc[None, :, :] + U * t
    n = ir.n_features
    if ir.metric == "euclidean":
        b = (2 * t * et).sum(-1) + (n + 1) * U * (t * t).sum(-1)
    else:
        s = t.sum(-1)
        es = et.sum(-1) + n * U * s
        b = 2 * s * es + 2 * U * s * s
    return (b + U * np.abs(ir.bias.astype(np.float64))[None, :]) * 1.0625 + 1e-30


def storage_residual(ir: NeighborsIR, fitted: Any) -> float:
    """Largest distance (in the model's metric) between a stored float32 point and the
    float64 point scikit-learn holds (``fitted``: its ``_fit_X`` / ``centroids_``)."""
    if ir.points_exact:
        return 0.0
    diff = np.abs(np.asarray(fitted, dtype=np.float64) - ir.points.astype(np.float64))
    if ir.metric == "euclidean":
        return float(np.sqrt((diff * diff).sum(1)).max())
    if ir.metric == "manhattan":
        return float(diff.sum(1).max())
    if ir.metric == "chebyshev":
        return float(diff.max())
    return float(((diff**ir.p).sum(1) ** (1 / ir.p)).max())


def sklearn_noise(est: Any) -> float:
    """Relative rounding noise of scikit-learn's own distances for ``est``: its brute
    force on float32 data works with float32-rounded squared norms (~2^-20 of
    |x|^2 + |y|^2, measured), its float64 paths with ~2^-44 (expansion in float64)."""
    fit = getattr(est, "_fit_X", None)
    brute = getattr(est, "_fit_method", "brute") == "brute"
    if brute and fit is not None and np.asarray(fit).dtype == np.float32:
        return 2.0**-20
    return 2.0**-44


def ambiguous_rows(ir: NeighborsIR, X: Any, r: float = 0.0, sk_rel: float = 2.0**-44
                   ) -> np.ndarray:
    """Rows where scikit-learn's answer is decided by rounding, not by the data: the k-th
    and (k+1)-th nearest stored points (or the two nearest centroids) are within
    ``2 r`` (the stored points' rounding, :func:`storage_residual`) plus scikit-learn's own
    distance noise ``sk_rel`` (:func:`sklearn_noise`) of each other, exact ties included.
    On these rows the set of neighbours (so predict_proba, regression, LOF scores, and
    possibly predict) is scikit-learn's arbitrary choice."""
    X = np.asarray(X, dtype=np.float32)
    k = ir.k
    if ir.kind != "centroid" and k >= ir.n_points:
        return np.zeros(len(X), dtype=bool)
    if ir.kind == "centroid" and not ir.flags & 1:
        D = _centroid_bounds(ir, X)
        s = _centroid_scores(ir, X)
        order = np.argsort(-s, axis=1, kind="stable")
        top = np.take_along_axis(s, order[:, :2], axis=1)
        b = np.take_along_axis(D, order[:, :2], axis=1).sum(1)
        return (top[:, 0] - top[:, 1]) <= b + 2.0**-40 * np.abs(top).max(1)
    out = np.zeros(len(X), dtype=bool)
    norms = (ir.points.astype(np.float64) ** 2).sum(1).max()
    for s in range(0, len(X), 32):
        Xs = X[s:s + 32]
        rd = _rdist(ir, Xs, ir.points)
        part = np.sort(rd, axis=1)[:, k - 1:k + 1]
        d = _dist(ir, part)
        if ir.metric == "euclidean":
            xn = (Xs.astype(np.float64) ** 2).sum(1)
            noise = sk_rel * (xn + norms) / np.maximum(d.sum(1), 1e-300)
        else:
            noise = sk_rel * ir.n_features * d[:, 1]
        out[s:s + 32] = d[:, 1] - d[:, 0] <= 2 * r + noise
    if ir.kind == "knn_classifier" and ir.weights == "distance" and r > 0:
        # class sums of 1/d with every d moved by up to r: relative r / (d - r)
        assert ir.labels is not None
        idx, dist = neighbours(ir, X)
        with np.errstate(divide="ignore", invalid="ignore"):
            w = np.where(dist[:, :1] == 0, (dist == 0).astype(float), 1.0 / dist)
            rel = np.where(dist > r, r / (dist - r), np.inf).max(1)
        sums = np.zeros((len(X), ir.n_outputs))
        np.add.at(sums, (np.arange(len(X))[:, None], ir.labels[idx]), w)
        top = -np.sort(-sums, axis=1)[:, :2]
        zero = dist[:, 0] == 0
        out |= ~zero & ((top[:, 0] - top[:, 1]) <= 2.5 * rel * top.sum(1))
    if ir.kind == "lof":
        b = output_bounds(ir, X, r, per_row=True)
        assert ir.lrd is not None and ir.k_distance is not None
        idx, dist = neighbours(ir, X)
        reach = np.maximum(dist, ir.k_distance[idx].astype(np.float64))
        score = -ir.lrd[idx].astype(np.float64).mean(1) * (reach.mean(1) + 1e-10)
        out |= np.abs(score - ir.offset) <= b
    return out


def _centroid_scores(ir: NeighborsIR, X: np.ndarray) -> np.ndarray:
    assert ir.inv_scale is not None and ir.norm_points is not None and ir.bias is not None
    t = (X.astype(np.float64)[:, None, :] * ir.inv_scale.astype(np.float64)
         - ir.norm_points[None].astype(np.float64))
    dist = (t * t).sum(-1) if ir.metric == "euclidean" else np.abs(t).sum(-1) ** 2
    return ir.bias.astype(np.float64)[None, :] - dist
