"""Tree family IR: :class:`TreeEnsembleIR`, plain numpy arrays; backends read only this."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, eq=False)
class TreeEnsembleIR:
    """Intermediate representation of a tree ensemble.

    Decision nodes of all trees are numbered ``0 .. n_nodes-1``, depth first,
    tree after tree. A *child code* ``c >= 0`` is a decision node, ``c < 0``
    is leaf id ``~c``. Leaf ids below ``leaf_base`` are one-hot rows (class
    ``id``); id ``i >= leaf_base`` is ``leaf_values[i - leaf_base]``.
    """

    estimator: str
    kind: str  # "classifier", "regressor" or "outlier_detector"
    n_features: int
    n_outputs: int
    classes: np.ndarray | None
    feature: np.ndarray  # int64[n_nodes]
    threshold: np.ndarray  # float32[n_nodes]: left iff x <= threshold
    nan_left: np.ndarray  # bool[n_nodes]: NaN goes left
    left: np.ndarray  # int64[n_nodes] child codes
    right: np.ndarray  # int64[n_nodes] child codes
    roots: np.ndarray  # int64[n_trees] child codes
    leaf_values: np.ndarray  # float32[n_leaf_rows, n_outputs]
    leaf_base: int
    max_depth: int
    #: every leaf value (float64, as scikit-learn holds it) is a multiple of 2**-k with
    #: n_trees * 2**k <= 2**24: float32 holds it exactly and float32 sums of them are exact
    dyadic_leaves: bool = True
    feature_names: tuple[str, ...] | None = None
    family: str = field(default="trees", init=False)
    # --- boosting, categorical splits, isolation forests (defaults: a plain forest) ------
    #: 0: a plain forest (outputs = mean of the leaf rows). > 0: a boosted / summed ensemble
    #: whose ``n_raw`` raw scores are ``base_score + sum of the trees' leaf values`` (the
    #: learning rate folded into the leaf values), then ``post``
    n_raw: int = 0
    #: "mean" (plain forest) or one of POSTS
    post: str = "mean"
    #: float32 factor applied to raw before "sigmoid" / "softmax" / "sigmoid_ova" /
    #: "sigmoid_each"; for "isolation": -ln(2) / isolation_norm (score = -exp(raw * it))
    post_scale: float = 1.0
    base_score: np.ndarray | None = None  # float32[n_raw]
    #: int64[n_trees]: the raw column tree t adds its (1-wide) leaf value to; None: rows
    tree_output: np.ndarray | None = None
    #: binary classifier (n_raw == 1): class 1 iff raw > threshold ("gt") or >= ("ge");
    #: outlier detector: -1 (outlier) iff raw < threshold
    decision: str = "gt"
    decision_threshold: float = 0.0  # float32
    #: float32 value that is read as missing (besides NaN), or None
    missing_value: float | None = None
    #: uint32[n_nodes]: 0 for numeric nodes, else the index in ``cat_bits`` of the node's
    #: category set: cat_bits[o] = W (words), then W words of the left set, then (with
    #: ``cat_unknown_missing``) W words of the known set
    cat_offset: np.ndarray | None = None
    cat_bits: np.ndarray | None = None
    #: a category outside the known set is missing (HistGradientBoosting); otherwise a
    #: category outside the left set goes right, and an invalid value is missing when
    #: ``cat_invalid_missing`` else goes right
    cat_unknown_missing: bool = False
    cat_invalid_missing: bool = False
    #: how a float is read as a category: 0 exact integers, 1 truncated (x >= 0 first),
    #: 2 truncated toward zero, then >= 0
    cat_cast: int = 0
    tree_weights: np.ndarray | None = None  # float32[n_trees]: weighted median
    isolation_norm: float = 1.0  # float64: n_trees * c(max_samples)
    score_offset: float = 0.0  # float64: decision_function = score_samples - offset

    @property
    def boosted(self) -> bool:
        """True for summed ensembles (boosting, isolation forests); False for forests."""
        return self.n_raw > 0

    @property
    def row_width(self) -> int:
        """Columns of ``leaf_values``."""
        if not self.boosted:
            return self.n_outputs
        return 1 if self.tree_output is not None else self.n_raw

    @property
    def n_decision(self) -> int:
        """Width of decision_function (boosted classifiers: n_raw; outlier detectors: 1)."""
        if self.kind == "outlier_detector":
            return 1
        if self.kind == "classifier" and self.boosted:
            return self.n_raw
        return 0

    @property
    def n_trees(self) -> int:
        return int(self.roots.shape[0])

    @property
    def n_nodes(self) -> int:
        return int(self.feature.shape[0])

    @property
    def n_leaf_ids(self) -> int:
        return self.leaf_base + int(self.leaf_values.shape[0])


def exact_predict(ir: TreeEnsembleIR) -> bool:
    """True when the C's predicted class provably equals scikit-learn's for every float32
    input: a single tree (each leaf's argmax is checked at conversion), or a forest whose
    leaf values are all multiples of 2**-k with T * 2**k <= 2**24, so that every float32
    sum of them is exact and equal to scikit-learn's float64 sum (e.g. forests of pure
    leaves). Otherwise two classes whose float64 mean probabilities differ by less than
    float32 rounding (a near-tie) may be ordered differently."""
    if ir.boosted:
        # float32 sums of inexact leaf values: near-ties of the raw scores may order
        # differently than scikit-learn's float64 sums
        return ir.kind == "regressor"
    if ir.kind != "classifier" or ir.n_trees == 1:
        return True
    # checked on scikit-learn's float64 leaf values at conversion (not on the float32
    # table, whose rounding could make an inexact value look dyadic)
    return ir.dyadic_leaves




def _category(ir: TreeEnsembleIR, v: np.ndarray) -> np.ndarray:
    """Category of float32 values as the C reads them (-1: not a valid category)."""
    v = v.astype(np.float64)
    with np.errstate(invalid="ignore"):
        t = np.trunc(v)
        ok = np.isfinite(v) & (v < 2.0**31)
        if ir.cat_cast == 0:
            ok &= (v >= 0) & (v == t)
        elif ir.cat_cast == 1:
            ok &= v >= 0
        else:
            ok &= t >= 0
    out = np.full(v.shape, -1, dtype=np.int64)
    out[ok] = t[ok].astype(np.int64)
    return out


def _bit(words: np.ndarray, offsets: np.ndarray, cat: np.ndarray, shift: int) -> np.ndarray:
    """Bit ``cat`` of the set stored at cat_bits[offsets] (shift: 0 left set, 1 known set)."""
    w = words[offsets].astype(np.int64)
    ok = (cat >= 0) & (cat < 32 * w)
    safe = np.where(ok, cat, 0)
    word = words[offsets + 1 + shift * w + safe // 32]
    return ok & (((word >> (safe % 32).astype(np.uint32)) & 1) == 1)


def route(ir: TreeEnsembleIR, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Leaf id reached in every tree ``(n, n_trees)`` and decision nodes visited per row,
    with the C's routing (NaN / missing value, categorical sets, float32 comparisons)."""
    X = np.asarray(X, dtype=np.float32)
    n = X.shape[0]
    leaves = np.zeros((n, ir.n_trees), dtype=np.int64)
    visited = np.zeros(n, dtype=np.int64)
    rows = np.arange(n)
    for t, root in enumerate(ir.roots):
        code = np.full(n, int(root), dtype=np.int64)
        active = code >= 0
        while active.any():
            nd = code[active]
            v = X[rows[active], ir.feature[nd]]
            missing = np.isnan(v)
            if ir.missing_value is not None:
                missing |= v == np.float32(ir.missing_value)
            left = v <= ir.threshold[nd]
            if ir.cat_offset is not None:
                off = ir.cat_offset[nd].astype(np.int64)
                is_cat = off > 0
                if is_cat.any():
                    o = off[is_cat]
                    cat = _category(ir, v[is_cat])
                    in_left = _bit(ir.cat_bits, o, cat, 0)
                    if ir.cat_unknown_missing:
                        other = ~in_left & ~_bit(ir.cat_bits, o, cat, 1)
                    elif ir.cat_invalid_missing:
                        other = cat < 0
                    else:
                        other = np.zeros_like(in_left)
                    left[is_cat] = in_left
                    missing[is_cat] |= other
            left = np.where(missing, ir.nan_left[nd], left)
            visited[active] += 1
            code[active] = np.where(left, ir.left[nd], ir.right[nd])
            active = code >= 0
        leaves[:, t] = ~code
    return leaves, visited


def raw_sums(ir: TreeEnsembleIR, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For a boosted IR: float64 raw scores from the float32 tables ``(n, n_raw)``, the sum
    of the absolute values of the terms the C adds per column (base score and leaf
    values, ``(n, n_raw)``), and the leaf ids ``(n, n_trees)`` (weighted median: raw is the
    float64 median of the float32 leaf values)."""
    leaves, _ = route(ir, X)
    n = leaves.shape[0]
    if ir.post == "median":
        preds = ir.leaf_values[leaves, 0].astype(np.float64)
        w = np.asarray(ir.tree_weights, dtype=np.float64)
        order = np.argsort(preds, axis=1, kind="stable")
        cw = np.cumsum(w[order], axis=1)
        pick = np.argmax(cw >= 0.5 * cw[:, -1:], axis=1)
        med = preds[np.arange(n), order[np.arange(n), pick]][:, None]
        return med, np.abs(med), leaves
    base = np.asarray(ir.base_score, dtype=np.float64)
    raw = np.tile(base, (n, 1))
    mag = np.tile(np.abs(base), (n, 1))
    vals = ir.leaf_values.astype(np.float64)
    for t in range(ir.n_trees):
        v = vals[leaves[:, t]]
        if ir.tree_output is not None:
            c = int(ir.tree_output[t])
            raw[:, c] += v[:, 0]
            mag[:, c] += np.abs(v[:, 0])
        else:
            raw += v
            mag += np.abs(v)
    return raw, mag, leaves


U32 = 2.0**-24


def raw_tolerance(ir: TreeEnsembleIR, X: np.ndarray) -> np.ndarray:
    """Per row and column, a bound on |C raw score - scikit-learn's float64 raw score| for a
    boosted IR: each leaf value and the base score are rounded to float32 once
    (<= u |term|), and the float32 sum of the m = n_trees + 1 terms in any order adds at
    most (m - 1) u (1 + u)^m sum |term| (u = 2^-24); the float64 reference's own rounding
    is below 2^-29 of that and covered by the factor 2 margin on the rounding term."""
    if ir.post == "median":
        raw, mag, _ = raw_sums(ir, X)
        return U32 * mag  # a median of float32-rounded leaf values: one rounding
    _, mag, _ = raw_sums(ir, X)
    m = ir.n_trees + 1
    return (2.0 + (m - 1) * (1.0 + U32) ** m) * U32 * mag


def tolerances(ir: TreeEnsembleIR, X: np.ndarray) -> dict[str, float]:
    """Bounds on |C - scikit-learn| over the rows X for every continuous output of a boosted
    IR, derived from the float32 operations the C performs (docs/families/trees.md):

    * raw scores (decision_function of classifiers, identity regressors): R from
      :func:`raw_tolerance`;
    * sigmoid: s' <= a/4, so a R / 4, plus 5 u for ml_expf (1 ulp), the addition and the
      correctly rounded division, and 1 - s;
    * softmax of z = a raw: every z_j is off by at most d = a R + 2 u |z| (the product and
      the subtraction of the maximum), which moves each probability by at most
      p (e^(2d) - 1) <= 2.1 d, plus (K + 4) u for the exponentials, their sum and the
      division; normalised sigmoids: the same with the sigmoid's error per term;
    * exp (log link): y (1.01 R + 2 u) with y = e^raw;
    * isolation: s = -exp(raw c), c = -ln 2 / norm rounded: |s| (|c| R + 3 u |raw c| + u)
      (1.01), decision_function adds the float32 rounding of offset_ and of the difference;
    * weighted median: the float32 rounding of the chosen tree's prediction.
    """
    u = U32
    R = raw_tolerance(ir, X)
    raw, _, _ = raw_sums(ir, X)
    out: dict[str, float] = {}
    Rmax = float(R.max()) if R.size else 0.0
    a = abs(float(ir.post_scale))
    if ir.kind == "classifier":
        out["decision_function"] = Rmax
        if ir.post == "sigmoid":
            out["predict_proba"] = a * Rmax / 4 + 5 * u
        elif ir.post in ("softmax", "sigmoid_ova"):
            z = np.abs(a * raw).max() if raw.size else 0.0
            d = a * Rmax + 2 * u * z
            out["predict_proba"] = 2.1 * d + (ir.n_raw + 6) * u
        elif ir.post == "sigmoid_each":
            out["predict_proba"] = a * Rmax / 4 + 5 * u
        else:
            out["predict_proba"] = 0.0
    elif ir.kind == "regressor":
        if ir.post == "exp":
            y = np.exp(raw)
            out["predict"] = float((y * (1.01 * R + 2 * u)).max())
        elif ir.post == "sigmoid":
            out["predict"] = a * Rmax / 4 + 5 * u
        else:
            out["predict"] = Rmax
    else:
        c = abs(float(ir.post_scale))
        s = np.exp(-c * raw[:, 0])
        ss = s * (c * R[:, 0] + 3 * u * np.abs(raw[:, 0] * c) + u) * 1.01
        out["score_samples"] = float(ss.max())
        off = abs(float(np.float32(ir.score_offset)) - ir.score_offset)
        out["decision_function"] = float((ss + off + u * (s + abs(ir.score_offset))).max())
    return out


def near_ties(ir: TreeEnsembleIR, X: np.ndarray) -> np.ndarray:
    """Rows of X whose predicted class (outlier flag) the float32 rounding bound R could
    flip: the two largest raw scores (binary: the raw score and the threshold) closer
    than the sum of their bounds."""
    R = raw_tolerance(ir, X)
    raw, _, _ = raw_sums(ir, X)
    thr = float(ir.decision_threshold)
    if ir.kind == "outlier_detector" or ir.n_raw == 1:
        return np.abs(raw[:, 0] - thr) <= R[:, 0]
    order = np.argsort(-raw, axis=1)
    top, second = order[:, 0], order[:, 1]
    rows = np.arange(raw.shape[0])
    return raw[rows, top] - raw[rows, second] <= R[rows, top] + R[rows, second]
