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
"""

from __future__ import annotations

import numpy as np

from ...errors import ConversionError
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
    """Convert a fitted scikit-learn tree or forest to :class:`TreeEnsembleIR`."""
    from sklearn.base import is_classifier

    name = type(estimator).__name__
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
