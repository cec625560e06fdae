"""Library-neutral form of a fitted tree ensemble, between a library's own model and the IR.

Every source of trees (scikit-learn forests and boosting, XGBoost, LightGBM, IsolationForest)
is first read into a :class:`RawEnsemble`: per-tree node arrays in float64 with the source's
own split rule, plus how the trees' outputs are combined and transformed. ``raw_predict``
evaluates it in float64 with numpy; it is the specification the converters are tested
against (``raw_predict(read(model), X)`` equals the library's own prediction) and the one the
C must follow (C == library within the stated float32 tolerance).

Conventions
-----------
* Node 0 of each tree is its root; ``left[i] == -1`` marks a leaf.
* Numeric split: go left iff ``x <rule> threshold`` (``rule`` is ``"<="`` or ``"<"``),
  evaluated on the float32 input against the float64 ``threshold``.
* Missing value: NaN, and also ``x == missing`` when ``missing`` is not NaN (XGBoost's
  ``missing`` parameter). A missing value goes left iff ``default_left[i]``.
* Categorical split (``categories[i]`` is an int64 array, sorted): go left iff the input is a
  category in that set. A non-missing input ``x`` is the category ``int(x)`` when ``x`` is a
  non-negative integer-valued float below ``2**31`` (libraries truncate; see
  ``category_of``); any other value (negative, fractional, too large) is not a member and
  follows ``invalid_category`` ("right" or "missing"). With ``known_categories`` (per
  feature; scikit-learn's HistGradientBoosting), a value that is not one of the feature's
  known categories (unknown, negative, fractional, ...) is missing instead. With
  ``category_cast == "trunc"`` (XGBoost, LightGBM) a fractional input is the category it
  truncates to (toward zero); XGBoost tests ``x < 0`` before truncating, LightGBM after
  (``"trunc_signed"``: -0.5 is category 0).
* Per-node missing handling (``RawTree.missing_type``, LightGBM): ``MISSING_NAN`` (the
  default above), ``MISSING_NONE`` (NaN is read as 0.0 and compared; never default_left),
  ``MISSING_ZERO`` (NaN and 0.0 both follow default_left). Inputs with
  ``|x| <= zero_threshold`` are read as 0.0 first (LightGBM: float32 1e-35).
* Leaf values: ``value[i]`` has one column per output (``n_outputs``) for trees that add a
  row, or exactly one column for trees that add to a single output column ``output``.
* Combination: ``raw = base_score + scale * sum over trees of the leaf value`` (in float64),
  except ``combine == "weighted_median"`` (AdaBoostRegressor: the weighted median of the
  trees' single-output predictions with ``tree_weights``).
* ``post`` gives predict_proba / regression outputs from ``raw``:
  ``"identity"``, ``"sigmoid"`` (binary: proba = [1-s, s], s = 1/(1+exp(-sigmoid_scale*raw)),
  ``n_outputs == 1``; regressors: s per output, XGBoost reg:logistic), ``"softmax"`` (over
  the n_outputs raw scores), ``"sigmoid_ova"`` (independent sigmoids normalised to sum 1, as
  LightGBM multiclassova's predict_proba does not normalise - see the converter),
  ``"sigmoid_each"`` (independent sigmoids, not normalised: LightGBM multiclassova's
  predict_proba as the library returns it), ``"exp"`` (Poisson/Gamma/Tweedie log link),
  ``"isolation"`` (IsolationForest: score_samples = -2 ** (-raw / isolation_norm)).
* Classifiers predict by ``decision``: ``"proba_argmax"`` (default) the class of the largest
  probability, or for ``post == "identity"`` with one raw column, class 1 iff raw >
  ``raw_threshold`` (0; XGBClassifier with binary:logitraw: 0.5); ``"raw_gt0"`` /
  ``"raw_ge0"``: with one raw column class 1 iff raw > 0 / raw >= 0, with several the first
  maximum of raw (scikit-learn's HistGradientBoosting / GradientBoosting).
* ``"softmax"`` takes the softmax of ``sigmoid_scale * raw`` (AdaBoost: 1 / (K - 1)).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

POSTS = ("identity", "sigmoid", "softmax", "sigmoid_ova", "sigmoid_each", "exp", "isolation")
CATEGORY_CASTS = ("exact", "trunc", "trunc_signed")
#: RawTree.missing_type codes (per node)
MISSING_NAN, MISSING_NONE, MISSING_ZERO = 0, 1, 2
COMBINES = ("sum", "weighted_median")
DECISIONS = ("proba_argmax", "raw_gt0", "raw_ge0")


@dataclass(eq=False)
class RawTree:
    """One tree as node arrays (float64 thresholds and values, the source's split rule)."""

    left: np.ndarray  # int64[n], -1 at leaves
    right: np.ndarray  # int64[n]
    feature: np.ndarray  # int64[n] (ignored at leaves)
    threshold: np.ndarray  # float64[n] (ignored at leaves and categorical nodes)
    default_left: np.ndarray  # bool[n]: where a missing value goes
    value: np.ndarray  # float64[n, k]: leaf values (k = n_outputs, or 1 with `output`)
    categories: list[np.ndarray | None] | None = None  # per node; None = numeric split
    output: int = -1  # with k == 1 and n_outputs > 1: the output column this tree adds to
    missing_type: np.ndarray | None = None  # int8[n] MISSING_* codes; None = all MISSING_NAN
    #: depth-related per-leaf extras (IsolationForest: path length + c(n_node_samples)) are
    #: simply folded into ``value`` by the converter

    @property
    def n_nodes(self) -> int:
        return int(self.left.shape[0])


@dataclass(eq=False)
class RawEnsemble:
    """A fitted tree ensemble in library-neutral form (see the module docstring)."""

    source: str  # estimator / library name, for messages and the IR
    kind: str  # "classifier", "regressor" or "outlier_detector"
    n_features: int
    n_outputs: int  # width of raw (1 for binary boosting, n_classes for softmax)
    trees: list[RawTree]
    rule: str = "<="  # "<=" (scikit-learn, LightGBM) or "<" (XGBoost)
    classes: np.ndarray | None = None
    base_score: np.ndarray = field(default_factory=lambda: np.zeros(1))  # float64[n_outputs]
    scale: float = 1.0
    post: str = "identity"
    sigmoid_scale: float = 1.0
    combine: str = "sum"
    tree_weights: np.ndarray | None = None  # float64[n_trees] for "weighted_median"
    missing: float = float("nan")
    invalid_category: str = "right"
    isolation_norm: float = 1.0  # IsolationForest: n_trees * c(max_samples)
    offset: float = 0.0  # IsolationForest: decision_function = score_samples - offset
    feature_names: tuple[str, ...] | None = None
    category_cast: str = "exact"  # "exact", "trunc" (XGBoost) or "trunc_signed" (LightGBM)
    zero_threshold: float = 0.0  # |x| <= this reads as 0.0 (LightGBM: float32(1e-35))
    raw_threshold: float = 0.0  # identity binary classifier: class 1 iff raw > this
    #: per feature: sorted int64 array of the known categories, or None (see the module doc)
    known_categories: list[np.ndarray | None] | None = None
    decision: str = "proba_argmax"  # see DECISIONS and the module doc

    def __post_init__(self) -> None:
        if self.rule not in ("<=", "<"):
            raise ValueError(f"rule={self.rule!r}")
        if self.post not in POSTS:
            raise ValueError(f"post={self.post!r}; known: {POSTS}")
        if self.combine not in COMBINES:
            raise ValueError(f"combine={self.combine!r}; known: {COMBINES}")
        if self.decision not in DECISIONS:
            raise ValueError(f"decision={self.decision!r}; known: {DECISIONS}")
        if self.invalid_category not in ("right", "missing"):
            raise ValueError(f"invalid_category={self.invalid_category!r}")
        if self.category_cast not in CATEGORY_CASTS:
            raise ValueError(f"category_cast={self.category_cast!r}; known: {CATEGORY_CASTS}")


def category_of(x: np.ndarray, cast: str = "exact") -> np.ndarray:
    """The category of each float input, or -1 where it is not a valid category.

    ``cast``: "exact" (only integer values), "trunc" (non-negative values truncated) or
    "trunc_signed" (truncated toward zero, then non-negative: -0.5 is 0).
    """
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        t = np.trunc(x)
        ok = np.isfinite(x) & (x < 2.0**31)
        if cast == "exact":
            ok &= (x >= 0) & (x == t)
        elif cast == "trunc":
            ok &= x >= 0
        else:
            ok &= t >= 0
    out = np.full(x.shape, -1, dtype=np.int64)
    out[ok] = t[ok].astype(np.int64)
    return out


def _leaves(ens: RawEnsemble, tree: RawTree, X32: np.ndarray) -> np.ndarray:
    """Leaf index reached by every row of X32 (float32 rows)."""
    n = X32.shape[0]
    node = np.zeros(n, dtype=np.int64)
    active = tree.left[node] != -1
    while active.any():
        idx = np.flatnonzero(active)
        nd = node[idx]
        x = X32[idx, tree.feature[nd]].astype(np.float64)
        if ens.zero_threshold > 0:
            x[np.abs(x) <= ens.zero_threshold] = 0.0
        missing = np.isnan(x)
        if not np.isnan(ens.missing):
            missing |= x == ens.missing
        if tree.missing_type is not None:
            mt = tree.missing_type[nd]
            x[(mt == MISSING_NONE) & np.isnan(x)] = 0.0
            missing &= mt != MISSING_NONE
            missing |= (mt == MISSING_ZERO) & (x == 0.0)
        go_left = np.empty(idx.shape[0], dtype=bool)
        if ens.rule == "<=":
            go_left[:] = x <= tree.threshold[nd]
        else:
            go_left[:] = x < tree.threshold[nd]
        if tree.categories is not None:
            cat = category_of(x, ens.category_cast)
            for j, d in enumerate(nd):
                cats = tree.categories[d]
                if cats is None:
                    continue
                known = (None if ens.known_categories is None
                         else ens.known_categories[int(tree.feature[d])])
                if known is not None and not missing[j] and not np.isin(cat[j], known):
                    missing[j] = True
                    continue
                if cat[j] < 0 and not missing[j]:
                    if ens.invalid_category == "missing":
                        missing[j] = True
                    else:
                        go_left[j] = False
                        continue
                go_left[j] = bool(np.isin(cat[j], cats))
        go_left[missing] = tree.default_left[nd][missing]
        node[idx] = np.where(go_left, tree.left[nd], tree.right[nd])
        active = tree.left[node] != -1
    return node


def raw_scores(ens: RawEnsemble, X: np.ndarray) -> np.ndarray:
    """float64 raw scores ``(n, n_outputs)`` of float32 inputs (before ``post``)."""
    X32 = np.asarray(X, dtype=np.float32)
    n = X32.shape[0]
    if ens.combine == "weighted_median":
        preds = np.stack([t.value[_leaves(ens, t, X32), 0] for t in ens.trees], axis=1)
        w = np.asarray(ens.tree_weights, dtype=np.float64)
        order = np.argsort(preds, axis=1, kind="stable")
        cw = np.cumsum(w[order], axis=1)
        pick = np.argmax(cw >= 0.5 * cw[:, -1:], axis=1)
        return preds[np.arange(n), order[np.arange(n), pick]][:, None]
    raw = np.tile(np.asarray(ens.base_score, dtype=np.float64), (n, 1))
    acc = np.zeros((n, ens.n_outputs))
    for t in ens.trees:
        v = t.value[_leaves(ens, t, X32)]
        if v.shape[1] == ens.n_outputs and t.output < 0:
            acc += v
        else:
            acc[:, t.output] += v[:, 0]
    return raw + ens.scale * acc


def raw_predict(ens: RawEnsemble, X: np.ndarray) -> dict[str, np.ndarray]:
    """Reference outputs of the ensemble: ``raw`` and, by kind, ``proba`` / ``predict`` /
    ``regress`` / ``score_samples`` / ``decision_function``."""
    raw = raw_scores(ens, X)
    out: dict[str, np.ndarray] = {"raw": raw}
    if ens.post == "isolation":
        s = -(2.0 ** (-raw[:, 0] / ens.isolation_norm))
        out["score_samples"] = s
        out["decision_function"] = s - ens.offset
        out["predict"] = np.where(s - ens.offset < 0, -1, 1)
        return out
    if ens.kind == "classifier":
        if ens.post == "sigmoid":
            s = 1.0 / (1.0 + np.exp(-ens.sigmoid_scale * raw[:, 0]))
            proba = np.stack([1.0 - s, s], axis=1)
        elif ens.post == "softmax":
            z = ens.sigmoid_scale * raw
            e = np.exp(z - z.max(axis=1, keepdims=True))
            proba = e / e.sum(axis=1, keepdims=True)
        elif ens.post in ("sigmoid_ova", "sigmoid_each"):
            s = 1.0 / (1.0 + np.exp(-ens.sigmoid_scale * raw))
            proba = s / s.sum(axis=1, keepdims=True) if ens.post == "sigmoid_ova" else s
        elif raw.shape[1] == 1:
            pos = raw[:, 0] > ens.raw_threshold
            proba = np.stack([~pos, pos], axis=1).astype(float)
        else:
            proba = raw
        out["proba"] = proba
        if ens.decision == "proba_argmax":
            idx = np.argmax(proba, axis=1)
        elif raw.shape[1] > 1:
            idx = np.argmax(raw, axis=1)
        elif ens.decision == "raw_ge0":
            idx = (raw[:, 0] >= 0).astype(np.int64)
        else:
            idx = (raw[:, 0] > 0).astype(np.int64)
        out["predict"] = idx if ens.classes is None else np.asarray(ens.classes)[idx]
        return out
    if ens.post == "sigmoid":
        out["regress"] = 1.0 / (1.0 + np.exp(-ens.sigmoid_scale * raw))
    else:
        out["regress"] = np.exp(raw) if ens.post == "exp" else raw
    return out
