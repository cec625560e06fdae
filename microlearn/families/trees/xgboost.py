"""Reader: a fitted XGBoost model -> :class:`~microlearn.families.trees.raw.RawEnsemble`.

Reads the model only through XGBoost's public JSON serialisation
(``Booster.save_raw(raw_format="json")``), never through private attributes, and imports
``xgboost`` lazily (it is the optional extra ``microlearn[xgboost]``).

Semantics kept (checked by tests/families/test_xgboost_lightgbm.py against XGBoost itself):

* Numeric split: go left iff ``x < t`` with ``t`` the float32 ``split_condition``
  (``rule="<"``; the float32 threshold is exact in float64).
* Missing: NaN, and ``x == missing`` when the estimator's ``missing`` is not NaN, follows
  ``default_left``. XGBoost rejects infinite inputs (unless ``missing`` is infinite); a
  converted model sends them along the comparison.
* Categorical split (``enable_categorical``): XGBoost stores the categories that go *right*
  and sends every other category, and invalid ones (negative, beyond the set), left; a
  fractional value is the category it truncates to. The reader swaps the node's children
  so that the stored set goes left (raw.py's convention), flips ``default_left``, and sets
  ``category_cast="trunc"``, ``invalid_category="right"``.
* Output: ``raw = link(base_score) + sum of the leaves of each output column's trees``
  (``tree_info``), then the objective's transform (:data:`OBJECTIVES`). XGBoost sums in
  float32; ``raw_predict`` in float64, so the two differ by float32 rounding of the sum
  (at most ``n_trees * 2**-24 * sum |leaf|`` per output, usually far less).
* The scikit-learn wrappers predict with the trees up to ``best_iteration`` when the
  model was fitted with early stopping; so does the reader (``iteration_range`` overrides).
* DART boosters: each tree's leaves are scaled by its ``weight_drop`` (as prediction does).
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from ...errors import ConversionError
from .raw import RawEnsemble, RawTree

#: objective -> (post transform, link applied to the stored base_score, default kind)
OBJECTIVES: dict[str, tuple[str, str, str]] = {
    "binary:logistic": ("sigmoid", "logit", "classifier"),
    "binary:logitraw": ("identity", "identity", "classifier"),
    "multi:softprob": ("softmax", "identity", "classifier"),
    "multi:softmax": ("softmax", "identity", "classifier"),
    "reg:squarederror": ("identity", "identity", "regressor"),
    "reg:squaredlogerror": ("identity", "identity", "regressor"),
    "reg:absoluteerror": ("identity", "identity", "regressor"),
    "reg:pseudohubererror": ("identity", "identity", "regressor"),
    "reg:quantileerror": ("identity", "identity", "regressor"),
    "reg:logistic": ("sigmoid", "logit", "regressor"),
    "count:poisson": ("exp", "log", "regressor"),
    "reg:gamma": ("exp", "log", "regressor"),
    "reg:tweedie": ("exp", "log", "regressor"),
}

#: objectives known to XGBoost that the reader refuses, and why
UNSUPPORTED = {
    "binary:hinge": "its prediction is a hard 0/1 step of the margin",
    "survival:cox": "its prediction is a hazard ratio without the baseline",
    "survival:aft": "its prediction depends on the AFT distribution parameters",
    "rank:pairwise": "ranking objectives are not a microlearn task",
    "rank:ndcg": "ranking objectives are not a microlearn task",
    "rank:map": "ranking objectives are not a microlearn task",
}


def _supported_list() -> str:
    return ", ".join(OBJECTIVES)


def _floats(text: Any) -> np.ndarray:
    """A JSON number or a "[a,b,...]" string of float32 values -> float64 array."""
    if isinstance(text, (int, float)):
        vals = [float(text)]
    else:
        vals = [float(v) for v in str(text).strip("[]").split(",") if v.strip()]
    return np.asarray(vals, dtype=np.float32).astype(np.float64)


def _link(link: str, base: np.ndarray, objective: str) -> np.ndarray:
    """The margin of the stored base_score (computed in float32, as XGBoost does)."""
    b = base.astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        if link == "logit":
            m = -np.log(np.float32(1.0) / b - np.float32(1.0))
        elif link == "log":
            m = np.log(b)
        else:
            m = b
    if not np.all(np.isfinite(m)):
        raise ConversionError(f"XGBoost base_score {base.tolist()} is outside the domain of "
                              f"the {objective} link function")
    return m.astype(np.float32).astype(np.float64)


def _booster_and_wrapper(model: Any) -> tuple[Any, Any]:
    """(Booster, the scikit-learn wrapper or None)."""
    import xgboost

    if isinstance(model, xgboost.Booster):
        return model, None
    if isinstance(model, xgboost.XGBModel):
        try:
            return model.get_booster(), model
        except Exception as exc:  # NotFittedError (xgboost's own type varies by version)
            raise ConversionError(f"{type(model).__name__} is not fitted: {exc}") from exc
    raise ConversionError(f"{type(model).__name__} is not an XGBoost model (expected "
                          "XGBClassifier, XGBRegressor or xgboost.Booster)")


def _tree(t: dict, weight: float) -> tuple[RawTree, bool]:
    """One JSON tree -> RawTree (children swapped at categorical nodes; see module doc)."""
    n = int(t["tree_param"]["num_nodes"])
    k = int(t["tree_param"].get("size_leaf_vector", "1") or 1)
    if k > 1:
        raise ConversionError(
            "XGBoost multi_strategy='multi_output_tree' (vector leaves) is not supported; "
            "use the default multi_strategy='one_output_per_tree'")
    left = np.asarray(t["left_children"], dtype=np.int64)
    right = np.asarray(t["right_children"], dtype=np.int64)
    feature = np.asarray(t["split_indices"], dtype=np.int64)
    cond = np.asarray(t["split_conditions"], dtype=np.float32).astype(np.float64)
    default_left = np.asarray(t["default_left"], dtype=bool)
    split_type = np.asarray(t.get("split_type", [0] * n), dtype=np.int64)
    if not (left.shape == right.shape == feature.shape == cond.shape == (n,)):
        raise ConversionError("XGBoost JSON tree has inconsistent node arrays")
    leaf = left == -1
    value = np.zeros((n, 1))
    value[leaf, 0] = cond[leaf] * weight
    threshold = np.where(leaf, 0.0, cond)
    feature = np.where(leaf, 0, feature)
    categories: list[np.ndarray | None] | None = None
    cat_nodes = list(t.get("categories_nodes", []))
    if cat_nodes:
        cats = np.asarray(t["categories"], dtype=np.int64)
        categories = [None] * n
        for node, seg, size in zip(cat_nodes, t["categories_segments"],
                                   t["categories_sizes"], strict=True):
            node = int(node)
            if split_type[node] != 1:
                raise ConversionError("XGBoost JSON tree lists categories for a numeric node")
            categories[node] = np.unique(cats[int(seg):int(seg) + int(size)])
            left[node], right[node] = right[node], left[node]
            default_left[node] = not default_left[node]
            threshold[node] = 0.0
        if (split_type[~leaf] == 1).sum() != len(cat_nodes):
            raise ConversionError("XGBoost JSON tree has categorical nodes without categories")
    elif (split_type[~leaf] == 1).any():
        raise ConversionError("XGBoost JSON tree has categorical nodes without categories")
    tree = RawTree(left=left, right=right, feature=feature, threshold=threshold,
                   default_left=default_left, value=value, categories=categories)
    return tree, categories is not None


def read(model: Any, *, iteration_range: tuple[int, int] | None = None,
         missing: float | None = None) -> RawEnsemble:
    """Read a fitted XGBoost model into a :class:`RawEnsemble`.

    Parameters
    ----------
    model : xgboost.XGBClassifier, xgboost.XGBRegressor (or a subclass) or xgboost.Booster
        The fitted model (gbtree or dart booster).
    iteration_range : (begin, end), optional
        Boosting rounds to keep, as XGBoost's ``predict(iteration_range=...)``; ``end == 0``
        means all. Default: the scikit-learn wrapper's (``best_iteration + 1`` after early
        stopping), all rounds for a Booster.
    missing : float, optional
        The value read as missing besides NaN. Default: the wrapper's ``missing``; NaN for
        a Booster (pass the ``missing`` its DMatrix used).

    Returns
    -------
    RawEnsemble
        ``raw_predict(read(model), X)`` gives the library's predictions on float32 X. The
        wrappers' kind is theirs; a Booster is a classifier (classes 0..k-1) for
        binary:logistic and multi:* objectives, a regressor otherwise (binary:logitraw:
        ``Booster.predict`` is the margin).

    Raises
    ------
    ConversionError
        Unsupported objective, booster (gblinear) or tree layout.
    """
    booster, wrapper = _booster_and_wrapper(model)
    doc = json.loads(bytes(booster.save_raw(raw_format="json")))
    learner = doc["learner"]
    objective = learner["objective"]["name"]
    if objective not in OBJECTIVES:
        why = UNSUPPORTED.get(objective, "not implemented")
        raise ConversionError(f"XGBoost objective {objective!r} is not supported ({why}); "
                              f"supported: {_supported_list()}")
    post, link, kind = OBJECTIVES[objective]
    gb = learner["gradient_booster"]
    weights = None
    if gb["name"] == "dart":
        weights = [float(w) for w in gb.get("weight_drop", [])]
        gb = gb["gbtree"]
    elif gb["name"] != "gbtree":
        raise ConversionError(f"XGBoost booster {gb['name']!r} is not supported; supported: "
                              "gbtree, dart")
    mp = learner["learner_model_param"]
    n_features = int(mp["num_feature"])
    num_class = int(mp.get("num_class", "0") or 0)
    num_target = int(mp.get("num_target", "1") or 1)
    n_outputs = max(num_class, num_target, 1)
    if num_class > 1 and num_target > 1:
        raise ConversionError("XGBoost multi-class with several targets is not supported")

    trees_json = gb["model"]["trees"]
    tree_info = [int(v) for v in gb["model"]["tree_info"]]
    indptr = [int(v) for v in gb["model"].get("iteration_indptr", [])]
    if iteration_range is None and wrapper is not None:
        try:
            iteration_range = (0, int(wrapper.best_iteration) + 1)
        except AttributeError:
            iteration_range = None
    lo, hi = 0, len(trees_json)
    if iteration_range is not None and indptr:
        begin, end = int(iteration_range[0]), int(iteration_range[1])
        if end == 0:
            end = len(indptr) - 1
        if not 0 <= begin <= end <= len(indptr) - 1:
            raise ConversionError(f"iteration_range={iteration_range} is outside the "
                                  f"model's {len(indptr) - 1} rounds")
        lo, hi = indptr[begin], indptr[end]

    trees: list[RawTree] = []
    any_cat = False
    for i in range(lo, hi):
        w = 1.0 if weights is None else weights[i]
        tree, has_cat = _tree(trees_json[i], w)
        any_cat |= has_cat
        if n_outputs > 1:
            if not 0 <= tree_info[i] < n_outputs:
                raise ConversionError(f"XGBoost tree {i} adds to output {tree_info[i]}, "
                                      f"outside 0..{n_outputs - 1}")
            tree.output = tree_info[i]
        if tree.n_nodes and tree.feature[tree.left != -1].size and (
                tree.feature[tree.left != -1].max() >= n_features):
            raise ConversionError(f"XGBoost tree {i} splits on a feature beyond "
                                  f"num_feature={n_features}")
        trees.append(tree)

    base = _floats(mp["base_score"])
    if base.size == 1:
        base = np.repeat(base, n_outputs)
    if base.size != n_outputs:
        raise ConversionError(f"XGBoost base_score has {base.size} values for {n_outputs} "
                              "outputs")
    base_margin = _link(link, base, objective)

    if wrapper is not None:
        import xgboost

        kind = "classifier" if isinstance(wrapper, xgboost.XGBClassifier) else "regressor"
        if kind == "classifier" and OBJECTIVES[objective][2] != "classifier":
            supported = [k for k, v in OBJECTIVES.items() if v[2] == "classifier"]
            raise ConversionError(f"XGBClassifier with objective {objective!r} is not "
                                  f"supported; supported: {', '.join(supported)}")
        miss = float("nan") if wrapper.missing is None else float(wrapper.missing)
    else:
        miss = float("nan")
        if objective == "binary:logitraw":
            kind = "regressor"  # Booster.predict returns the margin itself
    if missing is not None:
        miss = float(missing)
    if kind == "classifier" and post != "softmax" and n_outputs > 1:
        raise ConversionError(f"XGBoost multi-label classification ({objective!r} with "
                              f"{n_outputs} targets) is not supported")
    classes = None
    if kind == "classifier":
        classes = np.arange(2 if n_outputs == 1 else n_outputs)
    names = learner.get("feature_names") or None
    feature_names = tuple(str(v) for v in names) if names else None
    if math.isinf(miss):
        raise ConversionError("missing=inf is not supported (use NaN or a finite value)")
    return RawEnsemble(
        source=f"xgboost.{type(model).__name__}",
        kind=kind,
        n_features=n_features,
        n_outputs=n_outputs,
        trees=trees,
        rule="<",
        classes=classes,
        base_score=base_margin,
        post=post,
        missing=miss,
        invalid_category="right",
        category_cast="trunc" if any_cat else "exact",
        feature_names=feature_names,
        # XGBClassifier(binary:logitraw).predict is class 1 iff margin > 0.5
        raw_threshold=0.5 if (objective == "binary:logitraw" and wrapper is not None)
        else 0.0,
    )
