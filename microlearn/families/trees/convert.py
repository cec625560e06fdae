"""Decision trees and tree ensembles: converter from scikit-learn and the IR.

The IR (:class:`TreeEnsembleIR`) is plain data: numpy arrays describing the
decision nodes of every tree and a table of leaf rows. Backends (C code, blob,
footprint) read only this IR, never the scikit-learn objects.

Semantics kept exactly:

* scikit-learn casts X to float32 and tests ``x <= threshold`` with a float64
  threshold. For a float32 ``x`` that is the same as ``x <= t32`` where ``t32``
  is the largest float32 not above the threshold, which is what the IR stores.
* NaN inputs follow scikit-learn's missing-value routing (``missing_go_to_left``).
* Classifier leaves hold the per-tree class probabilities that scikit-learn's
  ``predict_proba`` uses; ensembles average them (no hard voting). Pure leaves
  (probability 1 for one class) become one-hot leaf ids with no table storage.
* Regressor leaves hold the per-tree predictions; ensembles average them.

Boosted ensembles (GradientBoosting, HistGradientBoosting, AdaBoost, IsolationForest via
``boosting.read``; XGBoost / LightGBM via their readers; all through :func:`from_raw`) sum
float32 leaf values (learning rate folded in, each rounded once) onto float32 base scores.
Tolerances (``ir.tolerances``, asserted by tests/families/test_boosting.py), u = 2^-24,
T trees, S = |base| + sum of |leaf values| a row adds to a raw score:

* raw scores (decision_function, identity regressors): R = (2 + T (1 + u)^(T+1)) u S;
* sigmoid probabilities: a R / 4 + 5 u; softmax: 2.1 (a R + 2 u |z|) + (K + 6) u;
* exp (log-link regressors): y (1.01 R + 2 u); isolation score_samples:
  |s| (|c| R + 3 u |raw c| + u) 1.01 with c = -ln 2 / norm; weighted median: u |y|.

Predicted classes equal scikit-learn's except at near-ties (two raw scores, or the raw
score and the threshold, within R of each other): ``exact_predict`` is False and
``ir.near_ties`` finds such rows.
"""

from __future__ import annotations

import numpy as np

from ...errors import ConversionError
from .boosting import BOOSTING
from .ir import TreeEnsembleIR, exact_predict  # noqa: F401 (re-exported)

#: scikit-learn classes handled by this module (by name, for error messages).
SUPPORTED = (
    "DecisionTreeClassifier",
    "DecisionTreeRegressor",
    "ExtraTreeClassifier",
    "ExtraTreeRegressor",
    "RandomForestClassifier",
    "RandomForestRegressor",
    "ExtraTreesClassifier",
    "ExtraTreesRegressor",
    *BOOSTING,  # read by boosting.py into a RawEnsemble
)


def reciprocal_f32(n: int) -> np.float32:
    """1/n rounded to the nearest float32 (ties to even), exactly (no double rounding)."""
    from fractions import Fraction

    exact = Fraction(1, n)
    r = np.float32(1.0 / n)
    for c in (np.nextafter(r, np.float32(0)), np.nextafter(r, np.float32(1))):
        dc, dr = abs(Fraction(float(c)) - exact), abs(Fraction(float(r)) - exact)
        if dc < dr or (dc == dr and int(np.float32(c).view(np.uint32)) % 2 == 0):
            r = c
    return np.float32(r)


def _dyadic(values: np.ndarray, n_trees: int) -> bool:
    """All float64 values are multiples of 2**-k with n_trees * 2**k <= 2**24 (so they and
    every float32 sum of n_trees of them are exact)."""
    k = 24 - int(np.ceil(np.log2(n_trees + 1)))
    scaled = np.asarray(values, dtype=np.float64) * 2.0**k
    return bool(np.all(scaled == np.round(scaled)) and np.all(np.abs(scaled) <= 2.0**24))


def _float32_at_or_below(t: np.ndarray) -> np.ndarray:
    """Largest float32 not above each float64 value (so x32 <= t64 iff x32 <= result)."""
    t = np.asarray(t, dtype=np.float64)
    with np.errstate(over="ignore"):
        t32 = t.astype(np.float32)
    above = t32.astype(np.float64) > t
    t32[above] = np.nextafter(t32[above], np.float32(-np.inf))
    t32[t32 == 0] = np.float32(0.0)  # -0.0 -> +0.0: same comparisons, one integer key
    return t32


def _classifier_rows(tree_value: np.ndarray) -> np.ndarray:
    """Per-node class probabilities exactly as DecisionTreeClassifier.predict_proba."""
    proba = np.array(tree_value[:, 0, :], dtype=np.float64)
    normalizer = proba.sum(axis=1)[:, np.newaxis]
    normalizer[normalizer == 0.0] = 1.0
    proba /= normalizer
    return proba


def from_sklearn(estimator) -> TreeEnsembleIR:
    """Convert a fitted scikit-learn tree, forest, boosted ensemble or isolation forest to
    :class:`TreeEnsembleIR` (boosting: via ``boosting.read`` and :func:`from_raw`)."""
    from sklearn.base import is_classifier

    from .boosting import read

    name = type(estimator).__name__
    if name in BOOSTING:
        return from_raw(read(estimator))
    trees = list(getattr(estimator, "estimators_", [estimator]))
    classifier = is_classifier(estimator)
    n_outputs_y = int(estimator.n_outputs_)
    if classifier and n_outputs_y != 1:
        raise ConversionError(
            f"{name} was fitted with {n_outputs_y} outputs; multi-output classification is "
            "not supported (multi-output regression is)"
        )
    n_features = int(estimator.n_features_in_)
    names = getattr(estimator, "feature_names_in_", None)
    feature_names = None if names is None else tuple(str(n) for n in names)
    dyadic = True
    classes = np.asarray(estimator.classes_) if classifier else None
    n_outputs = len(classes) if classifier else n_outputs_y
    leaf_base = n_outputs if classifier else 0

    row_ids: dict[bytes, int] = {}
    rows: list[np.ndarray] = []
    feats, thrs, nanl, lefts, rights, roots = [], [], [], [], [], []
    offset = 0
    max_depth = 0
    for tree in trees:
        t = tree.tree_
        cl = np.asarray(t.children_left, dtype=np.int64)
        cr = np.asarray(t.children_right, dtype=np.int64)
        is_leaf = cl == -1
        if classifier:
            values = _classifier_rows(t.value)
            if len(trees) == 1:
                _check_leaf_argmax(t.value[is_leaf, 0, :], values[is_leaf])
        else:
            values = np.array(t.value[:, :, 0], dtype=np.float64)
            big = np.abs(values[is_leaf]) > float(np.finfo(np.float32).max)
            if big.any() or not np.all(np.isfinite(values[is_leaf])):
                raise ConversionError(
                    f"{name} has leaf values beyond the float32 range (|v| > 3.4e38) or "
                    "not finite; they cannot be represented in float32"
                )
        internal_nodes = cl != -1
        feat = np.asarray(t.feature, dtype=np.int64)[internal_nodes]
        if feat.size and (feat.min() < 0 or feat.max() >= n_features):
            raise ConversionError(
                f"{name} has a split on feature {int(feat.max())}, but n_features_in_ is "
                f"{n_features}: the estimator is inconsistent (modified after fitting?)"
            )
        if classifier and len(trees) > 1 and dyadic:
            dyadic = _dyadic(values[is_leaf], len(trees))
        values32 = values.astype(np.float32)

        # leaf ids, de-duplicated across the whole ensemble (hash of the float32 row)
        code = np.empty(cl.shape[0], dtype=np.int64)
        internal = ~is_leaf
        code[internal] = offset + np.arange(int(internal.sum()), dtype=np.int64)
        onehot_class = -1 * np.ones(cl.shape[0], dtype=np.int64)
        if classifier:
            ones = values32 == 1.0
            pure = (ones.sum(axis=1) == 1) & ((values32 == 0.0).sum(axis=1) == n_outputs - 1)
            onehot_class[pure] = np.argmax(ones[pure], axis=1)
        for n in np.flatnonzero(is_leaf):
            if onehot_class[n] >= 0:
                leaf = int(onehot_class[n])
            else:
                key = values32[n].tobytes()
                leaf = row_ids.get(key, -1)
                if leaf < 0:
                    leaf = leaf_base + len(rows)
                    row_ids[key] = leaf
                    rows.append(values32[n])
            code[n] = ~leaf

        feats.append(np.asarray(t.feature, dtype=np.int64)[internal])
        thrs.append(_float32_at_or_below(np.asarray(t.threshold)[internal]))
        mgl = getattr(t, "missing_go_to_left", None)
        nanl.append(
            np.zeros(int(internal.sum()), dtype=bool)
            if mgl is None
            else np.asarray(mgl, dtype=bool)[internal]
        )
        lefts.append(code[cl[internal]])
        rights.append(code[cr[internal]])
        roots.append(code[0])
        offset += int(internal.sum())
        max_depth = max(max_depth, int(t.max_depth))

    leaf_values = (
        np.vstack(rows).astype(np.float32)
        if rows
        else np.zeros((0, n_outputs), dtype=np.float32)
    )
    return TreeEnsembleIR(
        estimator=name,
        kind="classifier" if classifier else "regressor",
        n_features=n_features,
        n_outputs=n_outputs,
        classes=classes,
        feature=np.concatenate(feats),
        threshold=np.concatenate(thrs).astype(np.float32),
        nan_left=np.concatenate(nanl),
        left=np.concatenate(lefts),
        right=np.concatenate(rights),
        roots=np.asarray(roots, dtype=np.int64),
        leaf_values=leaf_values,
        leaf_base=leaf_base,
        max_depth=max_depth,
        dyadic_leaves=dyadic,
        feature_names=feature_names,
    )


def _check_leaf_argmax(value: np.ndarray, rows: np.ndarray) -> None:
    """A single tree predicts argmax of its float64 leaf value; the C takes argmax of
    the float32 probability row. Make sure the two agree for every leaf."""
    if not np.array_equal(np.argmax(value, axis=1), np.argmax(rows.astype(np.float32), axis=1)):
        raise ConversionError(
            "a leaf's class probabilities are too close to separate in float32; "
            "the converted tree would not predict exactly like scikit-learn"
        )


# --- library-neutral ensembles (boosting, isolation forests, XGBoost, LightGBM) ------------

_POST_OF_RAW = {"identity": "identity", "sigmoid": "sigmoid", "softmax": "softmax",
                "sigmoid_ova": "sigmoid_ova", "sigmoid_each": "sigmoid_each", "exp": "exp",
                "isolation": "isolation"}
_CAST = {"exact": 0, "trunc": 1, "trunc_signed": 2}


def _float32_below(t: np.ndarray) -> np.ndarray:
    """Largest float32 strictly below each float64 value (x32 < t64 iff x32 <= result)."""
    t32 = _float32_at_or_below(t)
    same = t32.astype(np.float64) == np.asarray(t, dtype=np.float64)
    t32[same] = np.nextafter(t32[same], np.float32(-np.inf))
    t32[t32 == 0] = np.float32(0.0)
    return t32


def _preorder(tree) -> list[int]:
    """Node ids of a raw tree in depth-first pre-order (left subtree first)."""
    order, stack, seen = [], [0], set()
    while stack:
        n = stack.pop()
        if n in seen or n < 0 or n >= tree.n_nodes:
            raise ConversionError("a tree's nodes do not form a tree (cycle or bad child id)")
        seen.add(n)
        order.append(n)
        if tree.left[n] != -1:
            stack.append(int(tree.right[n]))
            stack.append(int(tree.left[n]))
    return order


def _bitset(cats: np.ndarray, words: int) -> np.ndarray:
    out = np.zeros(words, dtype=np.uint32)
    for c in np.asarray(cats, dtype=np.int64):
        out[c // 32] |= np.uint32(1) << np.uint32(c % 32)
    return out


def from_raw(raw, *, max_category: int = 4096) -> TreeEnsembleIR:
    """Convert a :class:`~microlearn.families.trees.raw.RawEnsemble` to the IR.

    Parameters
    ----------
    raw : RawEnsemble
        The library-neutral ensemble (``raw_predict(raw, X)`` is the reference the C
        follows within float32 rounding).
    max_category : int, default 4096
        Largest category id a categorical split may hold (bitsets take id / 8 bytes).

    Returns
    -------
    TreeEnsembleIR
        A boosted-form IR (``n_raw > 0``): leaf values are ``scale * value`` rounded to
        float32 once, thresholds the float32 equivalent of the source's rule (``x < t``
        is ``x <= `` the largest float32 below t; ``x <= t`` with a float64 t is ``x <=``
        the largest float32 not above t).

    Raises
    ------
    ConversionError
        For settings the C cannot represent (see the message).
    """
    from .raw import MISSING_NAN, MISSING_NONE, MISSING_ZERO

    name = raw.source
    if raw.kind not in ("classifier", "regressor", "outlier_detector"):
        raise ConversionError(f"{name}: kind={raw.kind!r} is not supported")
    if not raw.trees:
        raise ConversionError(f"{name} has no trees")
    n_raw = int(raw.n_outputs)
    median = raw.combine == "weighted_median"
    if median and (n_raw != 1 or raw.kind != "regressor"):
        raise ConversionError(f"{name}: a weighted median needs a single-output regressor")
    classes = None if raw.classes is None else np.asarray(raw.classes)
    if raw.kind == "classifier":
        if classes is None:
            raise ConversionError(f"{name}: a classifier needs its classes")
        n_out = len(classes)
        if n_raw == 1 and n_out != 2:
            raise ConversionError(f"{name}: one raw score needs exactly two classes")
        if n_raw > 1 and n_raw != n_out:
            raise ConversionError(f"{name}: {n_raw} raw scores for {n_out} classes")
        if raw.post in ("exp", "isolation"):
            raise ConversionError(f"{name}: post={raw.post!r} is not a classifier's")
    elif raw.kind == "outlier_detector":
        if raw.post != "isolation" or n_raw != 1:
            raise ConversionError(f"{name}: outlier detectors need post='isolation'")
        n_out = 1
    else:
        if raw.post not in ("identity", "exp", "sigmoid"):
            raise ConversionError(f"{name}: post={raw.post!r} is not supported for regressors")
        n_out = n_raw
    n_features = int(raw.n_features)
    big = float(np.finfo(np.float32).max)
    scale = float(raw.scale)

    # one column per tree when every tree adds to one column of a multi-column sum
    per_tree_col = n_raw > 1 and all(
        t.output >= 0 or t.value.shape[1] == 1 for t in raw.trees)
    width = 1 if (per_tree_col or n_raw == 1) else n_raw
    zt = float(raw.zero_threshold) if getattr(raw, "zero_threshold", 0.0) else 0.0
    cast = _CAST[getattr(raw, "category_cast", "exact")]

    row_ids: dict[bytes, int] = {}
    rows: list[np.ndarray] = []
    feats, thrs, nanl, lefts, rights, roots, outputs, cat_off = [], [], [], [], [], [], [], []
    cat_words: list[int] = [0]  # offset 0 is "numeric node"
    any_cat = False
    offset = 0
    max_depth = 0
    for ti, tree in enumerate(raw.trees):
        order = _preorder(tree)
        internal = [n for n in order if tree.left[n] != -1]
        node_id = {n: offset + k for k, n in enumerate(internal)}
        values = np.asarray(tree.value, dtype=np.float64)
        if values.ndim != 2:
            raise ConversionError(f"{name}: tree {ti} leaf values must be 2-D")
        if per_tree_col:
            col = tree.output if tree.output >= 0 else 0
            if tree.value.shape[1] != 1 or not 0 <= col < n_raw:
                raise ConversionError(f"{name}: tree {ti} output column {col} out of range")
            outputs.append(col)
        code: dict[int, int] = {}
        for n in order:
            if tree.left[n] != -1:
                code[n] = node_id[n]
                continue
            v = values[n] * scale
            if tree.output >= 0 and width > 1:
                full = np.zeros(width)
                full[tree.output] = v[0]
                v = full
            if v.shape[0] != width:
                raise ConversionError(f"{name}: tree {ti} has {v.shape[0]} leaf values, "
                                      f"expected {width}")
            if not np.all(np.isfinite(v)) or np.any(np.abs(v) > big):
                raise ConversionError(f"{name}: tree {ti} has a leaf value that is not a "
                                      "finite float32")
            v32 = v.astype(np.float32)
            v32[v32 == 0] = np.float32(0.0)
            key = v32.tobytes()
            leaf = row_ids.get(key, -1)
            if leaf < 0:
                leaf = len(rows)
                row_ids[key] = leaf
                rows.append(v32)
            code[n] = ~leaf
        # depth of the tree
        depth = {0: 0}
        for n in order:
            if tree.left[n] != -1:
                depth[int(tree.left[n])] = depth[n] + 1
                depth[int(tree.right[n])] = depth[n] + 1
        max_depth = max(max_depth, max(depth.values()))
        idx = np.asarray(internal, dtype=np.int64)
        f = np.asarray(tree.feature, dtype=np.int64)[idx] if idx.size else np.zeros(0, np.int64)
        if f.size and (f.min() < 0 or f.max() >= n_features):
            raise ConversionError(f"{name}: tree {ti} splits on a feature outside "
                                  f"0..{n_features - 1}")
        t64 = np.asarray(tree.threshold, dtype=np.float64)[idx] if idx.size else np.zeros(0)
        dl = np.asarray(tree.default_left, dtype=bool)[idx] if idx.size else np.zeros(0, bool)
        cats = ([tree.categories[n] for n in internal] if tree.categories is not None
                else [None] * len(internal))
        is_cat = np.array([c is not None for c in cats], dtype=bool)
        if np.any(np.isnan(t64[~is_cat])):
            raise ConversionError(f"{name}: tree {ti} has a NaN threshold")
        if zt > 0:
            # |x| <= zt reads as 0.0: thresholds inside [-zt, zt) move to its edge
            inside = ~is_cat & (np.abs(t64) <= zt)
            zero_left = (0.0 <= t64) if raw.rule == "<=" else (0.0 < t64)
            t64 = t64.copy()
            t64[inside & zero_left] = zt
            t64[inside & ~zero_left] = -zt
            rule_lt = np.zeros(t64.shape, bool)
            rule_lt[inside & ~zero_left] = True  # x < -zt
            t32 = np.where(rule_lt | (raw.rule == "<"), _float32_below(t64),
                           _float32_at_or_below(t64)) if t64.size else t64.astype(np.float32)
            if raw.rule == "<":
                t32[inside & zero_left] = _float32_at_or_below(t64[inside & zero_left])
        else:
            t32 = (_float32_below(t64) if raw.rule == "<" else _float32_at_or_below(t64)) \
                if t64.size else t64.astype(np.float32)
        t32 = np.asarray(t32, dtype=np.float32)
        if getattr(tree, "missing_type", None) is not None and idx.size:
            mt = np.asarray(tree.missing_type)[idx]
            none = (mt == MISSING_NONE) & ~is_cat
            # NaN is read as 0.0: it goes where 0.0 goes
            dl = dl.copy()
            dl[none] = np.float32(0.0) <= t32[none]
            zero = mt == MISSING_ZERO
            if np.any(zero & ~is_cat & ((np.float32(0.0) <= t32) != dl)):
                raise ConversionError(
                    f"{name}: tree {ti} sends 0.0 to its missing-value branch against the "
                    "threshold comparison (zero_as_missing); not supported")
            if np.any(~np.isin(mt, (MISSING_NAN, MISSING_NONE, MISSING_ZERO))):
                raise ConversionError(f"{name}: unknown missing_type code")
        offs = np.zeros(len(internal), dtype=np.uint32)
        for k, c in enumerate(cats):
            if c is None:
                continue
            any_cat = True
            c = np.unique(np.asarray(c, dtype=np.int64))
            if c.size and (c.min() < 0 or c.max() > max_category):
                raise ConversionError(
                    f"{name}: a categorical split uses category {int(c.max())}; categories "
                    f"must be integers in 0..{max_category} (max_category)")
            feat = int(f[k])
            known = None
            if raw.known_categories is not None:
                known = raw.known_categories[feat]
                if known is None:
                    raise ConversionError(f"{name}: no known categories for feature {feat}")
                known = np.unique(np.asarray(known, dtype=np.int64))
                if known.size and (known.min() < 0 or known.max() > max_category):
                    raise ConversionError(f"{name}: known categories of feature {feat} must "
                                          f"be integers in 0..{max_category}")
            top = max(int(c.max()) if c.size else 0,
                      int(known.max()) if known is not None and known.size else 0)
            words = top // 32 + 1
            offs[k] = len(cat_words)
            cat_words.append(words)
            cat_words.extend(_bitset(c, words).tolist())
            if known is not None:
                cat_words.extend(_bitset(known, words).tolist())
            t32[k] = np.float32(0.0)
        cat_off.append(offs)
        feats.append(f)
        thrs.append(t32)
        nanl.append(dl)
        lefts.append(np.asarray([code[int(tree.left[n])] for n in internal], dtype=np.int64))
        rights.append(np.asarray([code[int(tree.right[n])] for n in internal], dtype=np.int64))
        roots.append(code[0])
        offset += len(internal)

    missing_value = None
    if not np.isnan(raw.missing):
        m32 = np.float32(raw.missing)
        if float(m32) == float(raw.missing):  # else no float32 input can equal it
            missing_value = float(m32)
    base = np.asarray(raw.base_score, dtype=np.float64).ravel()
    if base.size == 1 and n_raw > 1:
        base = np.full(n_raw, base[0])
    if base.size != n_raw or not np.all(np.isfinite(base)) or np.any(np.abs(base) > big):
        raise ConversionError(f"{name}: base_score must be {n_raw} finite float32 values")
    post = raw.post
    post_scale = float(raw.sigmoid_scale)
    decision, threshold = "gt", float(getattr(raw, "raw_threshold", 0.0))
    iso_norm = float(raw.isolation_norm)
    weights = None
    if median:
        post = "median"
        w = np.asarray(raw.tree_weights, dtype=np.float64)
        if w.shape != (len(raw.trees),) or np.any(~np.isfinite(w)) or np.any(w < 0):
            raise ConversionError(f"{name}: weighted median needs a finite weight >= 0 per tree")
        weights = w.astype(np.float32)
    elif post == "isolation":
        if not iso_norm > 0:
            raise ConversionError(f"{name}: isolation_norm must be > 0 (more than one sample "
                                  "per tree)")
        post_scale = -np.log(2.0) / iso_norm
        # outlier iff -2^(-raw/norm) - offset < 0 iff raw < -norm * log2(-offset)
        off = float(raw.offset)
        threshold = (-iso_norm * np.log2(-off)) if off < 0 else float("inf")
    if raw.kind == "classifier":
        decision = "ge" if raw.decision == "raw_ge0" else "gt"
        # argmax of the probabilities is that of raw (monotone posts) but for an identity
        # post with one column, which compares raw with raw_threshold
        if not (post == "identity" and raw.decision == "proba_argmax"):
            threshold = 0.0
        if post != "identity" and not raw.sigmoid_scale > 0:
            raise ConversionError(f"{name}: sigmoid_scale must be > 0")
    leaf_values = (np.vstack(rows).astype(np.float32) if rows
                   else np.zeros((0, width), dtype=np.float32))
    names = raw.feature_names
    return TreeEnsembleIR(
        estimator=name,
        kind=raw.kind,
        n_features=n_features,
        n_outputs=n_out,
        classes=classes,
        feature=np.concatenate(feats) if feats else np.zeros(0, np.int64),
        threshold=np.concatenate(thrs).astype(np.float32),
        nan_left=np.concatenate(nanl).astype(bool),
        left=np.concatenate(lefts),
        right=np.concatenate(rights),
        roots=np.asarray(roots, dtype=np.int64),
        leaf_values=leaf_values,
        leaf_base=0,
        max_depth=max_depth,
        dyadic_leaves=False,
        feature_names=None if names is None else tuple(names),
        n_raw=n_raw,
        post=_POST_OF_RAW.get(post, post),
        post_scale=float(np.float32(post_scale)),
        base_score=base.astype(np.float32),
        tree_output=np.asarray(outputs, dtype=np.int64) if per_tree_col else None,
        decision=decision,
        decision_threshold=_decision_threshold32(threshold, raw.kind),
        missing_value=missing_value,
        cat_offset=np.concatenate(cat_off).astype(np.uint32) if any_cat else None,
        cat_bits=np.asarray(cat_words, dtype=np.uint32) if any_cat else None,
        cat_unknown_missing=any_cat and raw.known_categories is not None,
        cat_invalid_missing=raw.invalid_category == "missing",
        cat_cast=cast,
        tree_weights=weights,
        isolation_norm=iso_norm,
        score_offset=float(raw.offset),
    )


def _decision_threshold32(t: float, kind: str) -> float:
    """The float32 threshold equivalent to the float64 one for float32 raw scores:
    outlier detectors test raw < t (smallest float32 >= t), classifiers raw > t (largest
    float32 <= t)."""
    if np.isinf(t):
        return float(t)
    if kind == "outlier_detector":
        return float(-_float32_at_or_below(np.array([-t]))[0])
    return float(_float32_at_or_below(np.array([t]))[0])
