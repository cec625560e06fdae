"""scikit-learn boosting and isolation forests -> :class:`~.raw.RawEnsemble`.

Readers for ``GradientBoostingClassifier/Regressor``, ``HistGradientBoostingClassifier/
Regressor``, ``AdaBoostClassifier/Regressor`` and ``IsolationForest``. Each returns the
library-neutral ensemble whose ``raw_predict`` equals the estimator's own outputs in
float64 (tests/families/test_boosting.py checks it); ``convert.from_raw`` turns it into
the IR.

What each reader folds in
-------------------------
GradientBoosting
    raw = init + learning_rate * sum of the stage trees' values (``predict_stages``); the
    init estimator must be "zero" or a constant ``DummyClassifier`` / ``DummyRegressor``
    (scikit-learn's default), whose raw prediction becomes ``base_score``. Losses:
    log_loss (sigmoid / softmax), exponential (sigmoid of 2 raw), squared_error,
    absolute_error, huber, quantile (identity). predict: ``raw >= 0`` (binary) / argmax.
HistGradientBoosting
    raw = baseline + sum of the predictors' leaf values; numeric splits ``x <= t`` with
    missing-value routing; categorical splits as sets of the *input* values (the
    OrdinalEncoder scikit-learn puts in front is undone: category values must be
    non-negative integers), unknown categories are missing. Links: identity, logit
    (sigmoid / softmax), log (poisson, gamma: exp). predict: ``raw > 0`` / argmax.
AdaBoost (SAMME)
    Classifier: tree t adds ``w_t`` to the column of the class its leaf predicts and
    ``-w_t / (K - 1)`` to the others, divided by ``sum(w)``; binary: the difference of
    the two columns (one raw score), predict ``raw > 0``, proba ``sigmoid(raw)``; K > 2:
    argmax, proba ``softmax(raw / (K - 1))``. Regressor: the weighted median of the trees'
    predictions.
IsolationForest
    raw = sum over trees of (depth of the leaf + c(n_node_samples) - 1), with the trees'
    feature subsets (``estimators_features_``) mapped back to input columns;
    score_samples = -2 ** (-raw / (n_trees * c(max_samples))).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import ConversionError
from .raw import RawEnsemble, RawTree

BOOSTING = (
    "GradientBoostingClassifier",
    "GradientBoostingRegressor",
    "HistGradientBoostingClassifier",
    "HistGradientBoostingRegressor",
    "AdaBoostClassifier",
    "AdaBoostRegressor",
    "IsolationForest",
)


def _names(est: Any) -> tuple[str, ...] | None:
    names = getattr(est, "feature_names_in_", None)
    return None if names is None else tuple(str(n) for n in names)


def _sk_tree(tree: Any, values: np.ndarray, features: np.ndarray | None = None) -> RawTree:
    """A fitted sklearn ``Tree`` as a RawTree with leaf ``values`` (float64[n, k])."""
    t = tree.tree_
    feat = np.asarray(t.feature, dtype=np.int64).copy()
    left = np.asarray(t.children_left, dtype=np.int64)
    if features is not None:
        internal = left != -1
        feat[internal] = np.asarray(features, dtype=np.int64)[feat[internal]]
    mgl = getattr(t, "missing_go_to_left", None)
    dl = (np.zeros(t.node_count, dtype=bool) if mgl is None
          else np.asarray(mgl, dtype=bool))
    return RawTree(
        left=left,
        right=np.asarray(t.children_right, dtype=np.int64),
        feature=feat,
        threshold=np.asarray(t.threshold, dtype=np.float64),
        default_left=dl,
        value=np.asarray(values, dtype=np.float64),
    )


def _check_trees(name: str, trees: list, allowed: tuple[str, ...]) -> None:
    for t in trees:
        if type(t).__name__ not in allowed:
            raise ConversionError(
                f"{name} has a {type(t).__name__} base estimator; only "
                f"{', '.join(allowed)} can be converted")
        if int(getattr(t, "n_outputs_", 1)) != 1:
            raise ConversionError(f"{name}: multi-output base trees are not supported")


# --- GradientBoosting -------------------------------------------------------------------

_GB_CONSTANT_DUMMY = {"DummyClassifier": ("prior", "most_frequent", "constant", "uniform"),
                      "DummyRegressor": ("mean", "median", "quantile", "constant")}


def read_gradient_boosting(est: Any) -> RawEnsemble:
    """RawEnsemble of a fitted GradientBoostingClassifier / Regressor."""
    from sklearn.base import is_classifier

    name = type(est).__name__
    init = est.init_
    if not (isinstance(init, str) and init == "zero"):
        kind = type(init).__name__
        if kind not in _GB_CONSTANT_DUMMY or init.strategy not in _GB_CONSTANT_DUMMY[kind]:
            raise ConversionError(
                f"{name} has init={kind}(...): only init=None (a constant DummyClassifier/"
                "DummyRegressor) or init='zero' can be converted; the init estimator's "
                "prediction would have to be converted too")
    n_features = int(est.n_features_in_)
    # the init estimator is constant: its raw prediction on any row is the base score
    base = np.asarray(est._raw_predict_init(np.zeros((1, n_features), dtype=np.float32)),
                      dtype=np.float64)[0]
    stages = est.estimators_
    K = stages.shape[1]
    lr = float(est.learning_rate)
    trees = []
    for i in range(stages.shape[0]):
        for k in range(K):
            t = stages[i, k]
            tr = _sk_tree(t, np.asarray(t.tree_.value[:, 0, :1], dtype=np.float64))
            tr.output = k if K > 1 else -1
            trees.append(tr)
    _check_trees(name, [t for t in stages.ravel()], ("DecisionTreeRegressor",))
    loss = est.loss
    if is_classifier(est):
        classes = np.asarray(est.classes_)
        if K == 1:
            post, sscale = "sigmoid", (2.0 if loss == "exponential" else 1.0)
        else:
            post, sscale = "softmax", 1.0
        return RawEnsemble(source=name, kind="classifier", n_features=n_features,
                           n_outputs=K, trees=trees, classes=classes, base_score=base,
                           scale=lr, post=post, sigmoid_scale=sscale, decision="raw_ge0",
                           feature_names=_names(est))
    if loss not in ("squared_error", "absolute_error", "huber", "quantile"):
        raise ConversionError(f"{name}: loss={loss!r} is not supported")
    return RawEnsemble(source=name, kind="regressor", n_features=n_features, n_outputs=1,
                       trees=trees, base_score=base, scale=lr, post="identity",
                       feature_names=_names(est))


# --- HistGradientBoosting ---------------------------------------------------------------

def _hgb_columns(est: Any) -> tuple[np.ndarray, list[np.ndarray | None]]:
    """(input column of each preprocessed column, per preprocessed column the input
    category value of each ordinal code, or None for numeric columns)."""
    n = int(est.n_features_in_)
    pre = getattr(est, "_preprocessor", None)
    if pre is None:
        return np.arange(n), [None] * n
    name = type(est).__name__
    cat_cols = np.flatnonzero(est.is_categorical_)
    num_cols = np.flatnonzero(~est.is_categorical_)
    idx = pre.output_indices_
    column = np.empty(n, dtype=np.int64)
    column[np.arange(n)[idx["encoder"]]] = cat_cols
    column[np.arange(n)[idx["numerical"]]] = num_cols
    values: list[np.ndarray | None] = [None] * n
    encoder = pre.named_transformers_["encoder"]
    for out_col, cats in zip(np.arange(n)[idx["encoder"]], encoder.categories_, strict=True):
        cats = np.asarray(cats)
        if cats.dtype.kind not in "iuf":
            raise ConversionError(
                f"{name}: categorical feature {int(column[out_col])} has non-numeric "
                "categories; encode them as non-negative integers before fitting")
        cats = cats.astype(np.float64)
        cats = cats[~np.isnan(cats)]
        if np.any(cats < 0) or np.any(cats != np.floor(cats)) or np.any(cats >= 2.0**31):
            raise ConversionError(
                f"{name}: categorical feature {int(column[out_col])} has categories that are "
                "not non-negative integers (the device reads a category as an integer "
                "value)")
        values[out_col] = cats.astype(np.int64)
    return column, values


def read_hist_gradient_boosting(est: Any) -> RawEnsemble:
    """RawEnsemble of a fitted HistGradientBoostingClassifier / Regressor."""
    from sklearn.base import is_classifier

    name = type(est).__name__
    column, cat_values = _hgb_columns(est)
    n_features = int(est.n_features_in_)
    known: list[np.ndarray | None] = [None] * n_features
    for c, vals in enumerate(cat_values):
        if vals is not None:
            known[int(column[c])] = np.sort(vals)
    trees = []
    K = int(est.n_trees_per_iteration_)
    for predictors in est._predictors:
        for k, pred in enumerate(predictors):
            nodes = pred.nodes
            leaf = nodes["is_leaf"].astype(bool)
            left = np.where(leaf, -1, nodes["left"].astype(np.int64))
            right = np.where(leaf, -1, nodes["right"].astype(np.int64))
            feat = column[nodes["feature_idx"].astype(np.int64)]
            cats: list[np.ndarray | None] = [None] * len(nodes)
            is_cat = nodes["is_categorical"].astype(bool) & ~leaf
            bits = np.asarray(pred.raw_left_cat_bitsets)
            for i in np.flatnonzero(is_cat):
                words = bits[int(nodes["bitset_idx"][i])]
                codes = [b for b in range(32 * len(words))
                         if (int(words[b // 32]) >> (b % 32)) & 1]
                vals = cat_values[int(nodes["feature_idx"][i])]
                if vals is None:
                    raise ConversionError(f"{name}: categorical split on a numeric column")
                codes = [c for c in codes if c < len(vals)]
                cats[i] = np.sort(vals[codes])
            trees.append(RawTree(
                left=left, right=right, feature=np.where(leaf, 0, feat),
                threshold=nodes["num_threshold"].astype(np.float64),
                default_left=nodes["missing_go_to_left"].astype(bool),
                value=nodes["value"].astype(np.float64)[:, None],
                categories=cats if is_cat.any() else None,
                output=k if K > 1 else -1,
            ))
    base = np.asarray(est._baseline_prediction, dtype=np.float64).ravel()
    any_cat = any(v is not None for v in cat_values)
    common = dict(source=name, n_features=n_features, n_outputs=K, trees=trees,
                  base_score=base, feature_names=_names(est),
                  known_categories=known if any_cat else None, invalid_category="missing")
    if is_classifier(est):
        return RawEnsemble(kind="classifier", classes=np.asarray(est.classes_),
                           post="sigmoid" if K == 1 else "softmax", decision="raw_gt0",
                           **common)
    link = type(est._loss.link).__name__
    if link == "IdentityLink":
        post = "identity"
    elif link == "LogLink":
        post = "exp"
    else:
        raise ConversionError(f"{name}: loss={est.loss!r} ({link}) is not supported")
    return RawEnsemble(kind="regressor", post=post, **common)


# --- AdaBoost ---------------------------------------------------------------------------

_TREE_CLASSIFIERS = ("DecisionTreeClassifier", "ExtraTreeClassifier")
_TREE_REGRESSORS = ("DecisionTreeRegressor", "ExtraTreeRegressor")


def read_adaboost(est: Any) -> RawEnsemble:
    """RawEnsemble of a fitted AdaBoostClassifier (SAMME) / AdaBoostRegressor."""
    from sklearn.base import is_classifier

    name = type(est).__name__
    ests = list(est.estimators_)
    w = np.asarray(est.estimator_weights_, dtype=np.float64)[:len(ests)]
    n_features = int(est.n_features_in_)
    if is_classifier(est):
        _check_trees(name, ests, _TREE_CLASSIFIERS)
        algo = getattr(est, "algorithm", "SAMME")
        if algo not in ("SAMME", "deprecated"):
            raise ConversionError(f"{name}: algorithm={algo!r} is not supported (SAMME is)")
        classes = np.asarray(est.classes_)
        K = len(classes)
        if K < 2:
            raise ConversionError(f"{name} was fitted on one class")
        total = float(w.sum())
        trees = []
        for t, wt in zip(ests, w, strict=True):
            value = np.asarray(t.tree_.value[:, 0, :], dtype=np.float64)
            label = np.asarray(t.classes_)[np.argmax(value, axis=1)]
            cls = np.searchsorted(classes, label)
            if K == 2:
                v = np.where(cls == 1, 2.0 * wt, -2.0 * wt)[:, None]
            else:
                v = np.full((len(value), K), -wt / (K - 1))
                v[np.arange(len(value)), cls] = wt
            trees.append(_sk_tree(t, v))
        return RawEnsemble(source=name, kind="classifier", n_features=n_features,
                           n_outputs=1 if K == 2 else K, trees=trees, classes=classes,
                           base_score=np.zeros(1 if K == 2 else K), scale=1.0 / total,
                           post="sigmoid" if K == 2 else "softmax",
                           sigmoid_scale=1.0 if K == 2 else 1.0 / (K - 1),
                           decision="raw_gt0", feature_names=_names(est))
    _check_trees(name, ests, _TREE_REGRESSORS)
    trees = [_sk_tree(t, np.asarray(t.tree_.value[:, 0, :1], dtype=np.float64)) for t in ests]
    return RawEnsemble(source=name, kind="regressor", n_features=n_features, n_outputs=1,
                       trees=trees, combine="weighted_median", tree_weights=w,
                       feature_names=_names(est))


# --- IsolationForest --------------------------------------------------------------------

def _average_path_length(n: np.ndarray) -> np.ndarray:
    """c(n): average path length of an unsuccessful search in a BST of n nodes."""
    n = np.asarray(n, dtype=np.float64)
    out = np.zeros(n.shape)
    out[n == 2] = 1.0
    big = n > 2
    out[big] = 2.0 * (np.log(n[big] - 1.0) + np.euler_gamma) - 2.0 * (n[big] - 1.0) / n[big]
    return out


def read_isolation_forest(est: Any) -> RawEnsemble:
    """RawEnsemble of a fitted IsolationForest."""
    name = type(est).__name__
    ests = list(est.estimators_)
    _check_trees(name, ests, ("ExtraTreeRegressor", "DecisionTreeRegressor"))
    trees = []
    # scikit-learn indexes the columns by estimators_features_ only when it subsamples
    # features (as in fit): with all features the trees see X itself
    subsample = int(est._max_features) != int(est.n_features_in_)
    for i, (t, feats) in enumerate(zip(ests, est.estimators_features_, strict=True)):
        depth = np.asarray(est._decision_path_lengths[i], dtype=np.float64)
        apl = np.asarray(est._average_path_length_per_tree[i], dtype=np.float64)
        trees.append(_sk_tree(t, (depth + apl - 1.0)[:, None],
                              features=feats if subsample else None))
    norm = len(ests) * float(_average_path_length(np.array([est._max_samples]))[0])
    if not norm > 0:
        raise ConversionError(f"{name} was fitted with max_samples={est._max_samples}: "
                              "scores are constant; nothing to convert")
    return RawEnsemble(source=name, kind="outlier_detector", n_features=int(est.n_features_in_),
                       n_outputs=1, trees=trees, post="isolation", isolation_norm=norm,
                       offset=float(est.offset_), feature_names=_names(est))


def read(est: Any) -> RawEnsemble:
    """RawEnsemble of any estimator in :data:`BOOSTING`."""
    name = type(est).__name__
    if name.startswith("GradientBoosting"):
        return read_gradient_boosting(est)
    if name.startswith("HistGradientBoosting"):
        return read_hist_gradient_boosting(est)
    if name.startswith("AdaBoost"):
        return read_adaboost(est)
    if name == "IsolationForest":
        return read_isolation_forest(est)
    raise ConversionError(f"{name} is not one of {', '.join(BOOSTING)}")
