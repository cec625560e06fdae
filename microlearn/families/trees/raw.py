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
  follows ``invalid_category`` ("right" or "missing").
* Leaf values: ``value[i]`` has one column per output (``n_outputs``) for trees that add a
  row, or exactly one column for trees that add to a single output column ``output``.
* Combination: ``raw = base_score + scale * sum over trees of the leaf value`` (in float64),
  except ``combine == "weighted_median"`` (AdaBoostRegressor: the weighted median of the
  trees' single-output predictions with ``tree_weights``).
* ``post`` gives predict_proba / regression outputs from ``raw``:
  ``"identity"``, ``"sigmoid"`` (binary: proba = [1-s, s], s = 1/(1+exp(-sigmoid_scale*raw)),
  ``n_outputs == 1``), ``"softmax"`` (over the n_outputs raw scores), ``"sigmoid_ova"``
  (independent sigmoids normalised to sum 1, as LightGBM multiclassova's predict_proba does
  not normalise - see the converter), ``"exp"`` (Poisson/Gamma/Tweedie log link),
  ``"isolation"`` (IsolationForest: score_samples = -2 ** (-raw / isolation_norm)).
* Classifiers predict the class of the largest probability, or for ``post == "identity"``
  with one raw column, class 1 iff raw > 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

POSTS = ("identity", "sigmoid", "softmax", "sigmoid_ova", "exp", "isolation")
COMBINES = ("sum", "weighted_median")


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

    def __post_init__(self) -> None:
        if self.rule not in ("<=", "<"):
            raise ValueError(f"rule={self.rule!r}")
        if self.post not in POSTS:
            raise ValueError(f"post={self.post!r}; known: {POSTS}")
        if self.combine not in COMBINES:
            raise ValueError(f"combine={self.combine!r}; known: {COMBINES}")


def category_of(x: np.ndarray) -> np.ndarray:
    """The category of each float input, or -1 where it is not a valid category."""
    x = np.asarray(x, dtype=np.float64)
    ok = np.isfinite(x) & (x >= 0) & (x < 2.0**31) & (x == np.floor(x))
    out = np.full(x.shape, -1, dtype=np.int64)
    out[ok] = x[ok].astype(np.int64)
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
        missing = np.isnan(x)
        if not np.isnan(ens.missing):
            missing |= x == ens.missing
        go_left = np.empty(idx.shape[0], dtype=bool)
        if ens.rule == "<=":
            go_left[:] = x <= tree.threshold[nd]
        else:
            go_left[:] = x < tree.threshold[nd]
        if tree.categories is not None:
            cat = category_of(x)
            for j, d in enumerate(nd):
                cats = tree.categories[d]
                if cats is None:
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
            e = np.exp(raw - raw.max(axis=1, keepdims=True))
            proba = e / e.sum(axis=1, keepdims=True)
        elif ens.post == "sigmoid_ova":
            s = 1.0 / (1.0 + np.exp(-ens.sigmoid_scale * raw))
            proba = s / s.sum(axis=1, keepdims=True)
        elif raw.shape[1] == 1:
            proba = np.stack([(raw[:, 0] <= 0), (raw[:, 0] > 0)], axis=1).astype(float)
        else:
            proba = raw
        out["proba"] = proba
        idx = np.argmax(proba, axis=1)
        out["predict"] = idx if ens.classes is None else np.asarray(ens.classes)[idx]
        return out
    out["regress"] = np.exp(raw) if ens.post == "exp" else raw
    return out
