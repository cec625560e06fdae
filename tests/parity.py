"""The parity suite every model family plugs into: C (via the host build) vs scikit-learn.

Tolerances (float32 rounding of a mean of T float64 leaf values, |leaf| <= M):
each leaf value is rounded to float32 once (<= 2^-24 M), the k-th float32
addition rounds a partial sum of magnitude <= k M (<= 2^-24 k M), and the final
division rounds once more; after dividing the sum by T that is at most
2^-24 M ((T + 1) / 2 + 2). scikit-learn's own float64 rounding is ~2^-29 times
smaller and is covered by the same bound. Class probabilities have M = 1.
"""

from __future__ import annotations

import numpy as np

EPS32 = 2.0**-24


def mean_tolerance(n_terms: int, max_abs: float) -> float:
    """Bound on |float32 mean - float64 mean| of n_terms values of magnitude <= max_abs."""
    return EPS32 * max_abs * ((n_terms + 1) / 2 + 2)


def assert_parity(est, m, X) -> None:
    """Predictions of converted model m equal est's on X (float32), within tolerance."""
    X = np.asarray(X, dtype=np.float32)
    if m.kind == "classifier":
        np.testing.assert_array_equal(m.predict(X), est.predict(X))
        tol = mean_tolerance(m.ir.n_trees, 1.0)
        np.testing.assert_allclose(m.predict_proba(X), est.predict_proba(X), rtol=0, atol=tol)
    else:
        leaf_max = float(np.abs(m.ir.leaf_values).max()) if m.ir.leaf_values.size else 0.0
        tol = mean_tolerance(m.ir.n_trees, leaf_max)
        ours, ref = m.predict(X), est.predict(X)
        assert ours.shape == ref.shape
        np.testing.assert_allclose(ours, ref, rtol=0, atol=tol)


def threshold_probe_rows(est, X, max_nodes: int = 400, seed: int = 0) -> np.ndarray:
    """Rows that reach a decision node with the node's feature set exactly at, and at the
    float32 neighbours of, the node's float64 threshold (the adversarial inputs for the
    x <= threshold comparison)."""
    rng = np.random.default_rng(seed)
    X = np.asarray(X, dtype=np.float32)
    trees = list(getattr(est, "estimators_", [est]))
    rows = []
    per_tree = max(1, max_nodes // len(trees))
    for tree in trees:
        t = tree.tree_
        internal = np.flatnonzero(t.children_left != -1)
        if internal.size == 0:
            continue
        path = tree.decision_path(X).tocsc()
        for n in rng.choice(internal, size=min(per_tree, internal.size), replace=False):
            reaching = path[:, n].nonzero()[0]
            if reaching.size == 0:
                continue
            base = X[reaching[0]]
            t64 = float(t.threshold[n])
            t32 = np.float32(t64)
            lo = t32 if float(t32) <= t64 else np.nextafter(t32, np.float32(-np.inf))
            up, down = np.nextafter(lo, np.float32(np.inf)), np.nextafter(lo, np.float32(-np.inf))
            for v in (lo, up, down, t32):
                r = base.copy()
                r[t.feature[n]] = v
                rows.append(r)
    return np.array(rows, dtype=np.float32)
