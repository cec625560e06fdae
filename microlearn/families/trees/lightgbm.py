"""Reader: a fitted LightGBM model -> :class:`~microlearn.families.trees.raw.RawEnsemble`.

Reads the model only through LightGBM's public dump (``Booster.dump_model()``), never
through private attributes, and imports ``lightgbm`` lazily (the optional extra
``microlearn[lightgbm]``). The dump holds the trees LightGBM predicts with by default
(up to ``best_iteration`` after early stopping).

Semantics kept (checked by tests/families/test_xgboost_lightgbm.py against LightGBM itself):

* Numeric split: go left iff ``x <= t`` with ``t`` the float64 threshold (dumped with 17
  significant digits, so exact), ``x`` the float32 input widened to float64.
* Inputs with ``|x| <= 1e-35`` (float32) are read as 0.0: LightGBM drops them as zeros
  when it reads a dense row (``zero_threshold``).
* Missing values, per node (``missing_type`` in the dump): ``None`` - NaN is read as 0.0
  and compared, ``default_left`` is not used; ``Zero`` (``zero_as_missing=True``) - NaN and
  0.0 follow ``default_left``; ``NaN`` - NaN follows ``default_left``.
* Categorical split (``decision_type "=="``): the dumped categories go left; NaN goes right;
  any other value is truncated toward zero (-0.5 is category 0) and goes right when
  negative or not in the set (``category_cast="trunc_signed"``).
* Output: ``raw = sum of each class's trees`` (tree ``i`` adds to class
  ``i % num_tree_per_iteration``; LightGBM folds the initial score into the first trees),
  divided by the number of rounds for ``boosting_type="rf"`` (``average_output``), then
  the objective's transform (:data:`OBJECTIVES`). LightGBM sums in float64 like
  ``raw_predict``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...errors import ConversionError
from .raw import MISSING_NAN, MISSING_NONE, MISSING_ZERO, RawEnsemble, RawTree

#: objective (first word of the dump's "objective") -> (post transform, default kind)
OBJECTIVES: dict[str, tuple[str, str]] = {
    "binary": ("sigmoid", "classifier"),
    "multiclass": ("softmax", "classifier"),
    "multiclassova": ("sigmoid_each", "classifier"),
    "regression": ("identity", "regressor"),
    "regression_l1": ("identity", "regressor"),
    "huber": ("identity", "regressor"),
    "fair": ("identity", "regressor"),
    "quantile": ("identity", "regressor"),
    "mape": ("identity", "regressor"),
    "poisson": ("exp", "regressor"),
    "gamma": ("exp", "regressor"),
    "tweedie": ("exp", "regressor"),
    "cross_entropy": ("sigmoid", "regressor"),
}

#: objectives known to LightGBM that the reader refuses, and why
UNSUPPORTED = {
    "cross_entropy_lambda": "its prediction log(1 + exp(raw)) has no transform here",
    "lambdarank": "ranking objectives are not a microlearn task",
    "rank_xendcg": "ranking objectives are not a microlearn task",
    "custom": "a custom objective has no known output transform",
}

_MISSING = {"None": MISSING_NONE, "Zero": MISSING_ZERO, "NaN": MISSING_NAN}
#: LightGBM's kZeroThreshold (a float constant 1e-35f)
ZERO_THRESHOLD = float(np.float32(1e-35))


def _supported_list() -> str:
    return ", ".join(OBJECTIVES)


def _booster_and_wrapper(model: Any) -> tuple[Any, Any]:
    import lightgbm

    if isinstance(model, lightgbm.Booster):
        return model, None
    if isinstance(model, lightgbm.LGBMModel):
        try:
            return model.booster_, model
        except Exception as exc:  # sklearn's NotFittedError
            raise ConversionError(f"{type(model).__name__} is not fitted: {exc}") from exc
    raise ConversionError(f"{type(model).__name__} is not a LightGBM model (expected "
                          "LGBMClassifier, LGBMRegressor or lightgbm.Booster)")


def _tree(structure: dict, index: int) -> RawTree:
    """One dumped ``tree_structure`` (nested dicts) -> RawTree, nodes in preorder."""
    left: list[int] = []
    right: list[int] = []
    feature: list[int] = []
    threshold: list[float] = []
    default_left: list[bool] = []
    missing: list[int] = []
    value: list[float] = []
    cats: list[np.ndarray | None] = []
    stack: list[tuple[dict, int, bool]] = [(structure, -1, False)]
    while stack:
        node, parent, is_right = stack.pop()
        i = len(left)
        if parent >= 0:
            (right if is_right else left)[parent] = i
        left.append(-1)
        right.append(-1)
        if "leaf_value" in node or "split_feature" not in node:
            if "leaf_coeff" in node:
                raise ConversionError("LightGBM linear_tree=True (linear models in the "
                                      "leaves) is not supported")
            feature.append(0)
            threshold.append(0.0)
            default_left.append(False)
            missing.append(MISSING_NAN)
            value.append(float(node["leaf_value"]))
            cats.append(None)
            continue
        feature.append(int(node["split_feature"]))
        value.append(0.0)
        decision = node.get("decision_type", "<=")
        if decision == "<=":
            t = float(node["threshold"])
            if abs(t) >= 1e300:  # the dump writes +-inf thresholds as +-1e300 (AvoidInf)
                t = math.copysign(math.inf, t)
            threshold.append(t)
            default_left.append(bool(node.get("default_left", False)))
            mt = node.get("missing_type", "None")
            if mt not in _MISSING:
                raise ConversionError(f"LightGBM tree {index}: unknown missing_type {mt!r}")
            missing.append(_MISSING[mt])
            cats.append(None)
        elif decision == "==":
            members = [int(v) for v in str(node["threshold"]).split("||") if v != ""]
            threshold.append(0.0)
            default_left.append(False)  # NaN goes right at categorical splits
            missing.append(MISSING_NAN)
            cats.append(np.unique(np.asarray(members, dtype=np.int64)))
        else:
            raise ConversionError(f"LightGBM tree {index}: decision_type {decision!r} is "
                                  "not supported (supported: '<=', '==')")
        # pop order: left child first (preorder)
        stack.append((node["right_child"], i, True))
        stack.append((node["left_child"], i, False))
    any_cat = any(c is not None for c in cats)
    return RawTree(
        left=np.asarray(left, dtype=np.int64),
        right=np.asarray(right, dtype=np.int64),
        feature=np.asarray(feature, dtype=np.int64),
        threshold=np.asarray(threshold, dtype=np.float64),
        default_left=np.asarray(default_left, dtype=bool),
        value=np.asarray(value, dtype=np.float64)[:, None],
        categories=cats if any_cat else None,
        missing_type=np.asarray(missing, dtype=np.int8),
    )


def read(model: Any, *, num_iteration: int | None = None) -> RawEnsemble:
    """Read a fitted LightGBM model into a :class:`RawEnsemble`.

    Parameters
    ----------
    model : lightgbm.LGBMClassifier, lightgbm.LGBMRegressor (or a subclass) or
        lightgbm.Booster
        The fitted model (gbdt, dart, goss or rf boosting; no linear trees).
    num_iteration : int, optional
        Boosting rounds to keep, as LightGBM's ``predict(num_iteration=...)``. Default: the
        model's best iteration after early stopping, else all.

    Returns
    -------
    RawEnsemble
        ``raw_predict(read(model), X)`` gives the library's predictions on float32 X.

    Raises
    ------
    ConversionError
        Unsupported objective (or option such as ``reg_sqrt``) or linear trees.
    """
    booster, wrapper = _booster_and_wrapper(model)
    dump = booster.dump_model(num_iteration=num_iteration)
    words = str(dump.get("objective", "custom")).split()
    objective = words[0] if words else "custom"
    if objective not in OBJECTIVES:
        why = UNSUPPORTED.get(objective, "not implemented")
        raise ConversionError(f"LightGBM objective {objective!r} is not supported ({why}); "
                              f"supported: {_supported_list()}")
    if "sqrt" in words[1:]:
        raise ConversionError("LightGBM reg_sqrt=True (predictions squared back) is not "
                              f"supported; supported objectives: {_supported_list()}")
    params = dict(w.split(":", 1) for w in words[1:] if ":" in w)
    post, kind = OBJECTIVES[objective]
    sigmoid_scale = float(params.get("sigmoid", "1"))
    n_per_iter = int(dump.get("num_tree_per_iteration", 1))
    num_class = int(dump.get("num_class", 1))
    n_outputs = max(n_per_iter, 1)
    if objective.startswith("multiclass") and n_outputs != num_class:
        raise ConversionError(f"LightGBM {objective}: {n_per_iter} trees per round for "
                              f"{num_class} classes")
    n_features = int(dump["max_feature_idx"]) + 1

    trees: list[RawTree] = []
    for i, info in enumerate(dump["tree_info"]):
        tree = _tree(info["tree_structure"], i)
        inner = tree.left != -1
        if inner.any() and tree.feature[inner].max() >= n_features:
            raise ConversionError(f"LightGBM tree {i} splits on a feature beyond "
                                  f"max_feature_idx={n_features - 1}")
        if n_outputs > 1:
            tree.output = i % n_outputs
        trees.append(tree)
    n_rounds = len(trees) // n_outputs if n_outputs else 0
    scale = 1.0
    if dump.get("average_output", False) and n_rounds > 0:
        scale = 1.0 / n_rounds

    if wrapper is not None:
        import lightgbm

        kind = "classifier" if isinstance(wrapper, lightgbm.LGBMClassifier) else "regressor"
        if kind == "classifier" and post not in ("sigmoid", "softmax", "sigmoid_each"):
            raise ConversionError(f"LGBMClassifier with objective {objective!r} is not "
                                  "supported; supported: binary, multiclass, multiclassova, "
                                  "cross_entropy")
        classes = np.asarray(wrapper.classes_) if kind == "classifier" else None
    else:
        classes = None
        if kind == "classifier":
            classes = np.arange(2 if n_outputs == 1 else n_outputs)
    names = dump.get("feature_names") or []
    default = [f"Column_{j}" for j in range(len(names))]
    feature_names = tuple(str(v) for v in names) if names and names != default else None
    any_cat = any(t.categories is not None for t in trees)
    if math.isnan(sigmoid_scale) or sigmoid_scale <= 0:
        raise ConversionError(f"LightGBM sigmoid={sigmoid_scale} must be positive")
    return RawEnsemble(
        source=f"lightgbm.{type(model).__name__}",
        kind=kind,
        n_features=n_features,
        n_outputs=n_outputs,
        trees=trees,
        rule="<=",
        classes=classes,
        base_score=np.zeros(n_outputs),
        scale=scale,
        post=post,
        sigmoid_scale=sigmoid_scale,
        missing=float("nan"),
        invalid_category="right",
        category_cast="trunc_signed" if any_cat else "exact",
        zero_threshold=ZERO_THRESHOLD,
        feature_names=feature_names,
    )

