"""Tree family cost estimate: flash, RAM, stack and instructions from the IR.

Bytes of tables plus a per-target code size model, and instructions from the number of
decision nodes the rows visit (computed in Python with the C's routing) times a
per-target cost, calibrated against QEMU measurements (benchmarks/RESULTS.md reports the
estimate's error).
"""

from __future__ import annotations

import numpy as np

from ...family import Estimate
from . import c as codegen_c
from .convert import TreeEnsembleIR


def synthetic_rows(ir: TreeEnsembleIR, n: int = 200, seed: int = 0) -> np.ndarray:
    """Rows that exercise the model when no data is given: each feature uniform over the
    range of the thresholds that test it (plus a margin)."""
    rng = np.random.default_rng(seed)
    X = np.zeros((n, ir.n_features), dtype=np.float32)
    for f in np.unique(ir.feature):
        t = ir.threshold[ir.feature == f]
        t = t[np.isfinite(t)]
        if t.size:
            lo, hi = float(t.min()), float(t.max())
            pad = 0.1 * (hi - lo) + 1e-3
            X[:, f] = rng.uniform(lo - pad, hi + pad, size=n)
    return X


def nodes_visited(ir: TreeEnsembleIR, X: np.ndarray) -> np.ndarray:
    """Number of decision nodes each row of X visits, summed over trees (same routing
    as the C, NaN included)."""
    X = np.asarray(X, dtype=np.float32)
    total = np.zeros(X.shape[0], dtype=np.int64)
    rows = np.arange(X.shape[0])
    for root in ir.roots:
        code = np.full(X.shape[0], int(root), dtype=np.int64)
        active = code >= 0
        while active.any():
            n = code[active]
            v = X[rows[active], ir.feature[n]]
            t = ir.threshold[n]
            left = (v <= t) | (np.isnan(v) & ir.nan_left[n])
            total[active] += 1
            code[active] = np.where(left, ir.left[n], ir.right[n])
            active = code >= 0
    return total


# Per target and method: (code bytes, extra code bytes for forests, flash bytes per
# decision node, flash bytes per leaf addition (inline code adds leaf rows as literals),
# instructions per visited node, per tree, per output, fixed instructions, stack bytes).
# Fitted by hand to QEMU measurements of tree models on digits, breast_cancer, diabetes
# and synthetic data; benchmarks/RESULTS.md reports the estimate's error.
_COST = {
    ("cortex-m4f", "loadable"): (145, 160, 0.0, 0.0, 14.5, 8.0, 6.0, 5, 40),
    ("cortex-m4f", "inline"): (60, 0, 17.0, 16.0, 5.5, 0.0, 3.0, 15, 20),
    ("cortex-m7", "loadable"): (145, 160, 0.0, 0.0, 14.5, 8.0, 6.0, 5, 40),
    ("cortex-m7", "inline"): (60, 0, 17.0, 16.0, 5.5, 0.0, 3.0, 15, 20),
    ("cortex-m0plus", "loadable"): (230, 1400, 0.0, 0.0, 20.0, 170.0, 8.0, 40, 90),
    ("cortex-m0plus", "inline"): (300, 600, 16.5, 16.0, 48.0, 0.0, 7.0, 40, 90),
    ("rv32imc", "loadable"): (260, 1880, 0.0, 0.0, 11.0, 190.0, 16.0, 40, 100),
    ("rv32imc", "inline"): (300, 600, 20.0, 19.0, 35.0, 0.0, 6.0, 40, 100),
    ("host", "loadable"): (400, 100, 0.0, 0.0, 10.0, 6.0, 4.0, 20, 40),
    ("host", "inline"): (200, 0, 16.0, 12.0, 5.0, 0.0, 3.0, 20, 20),
}


def leaf_additions(ir: TreeEnsembleIR) -> int:
    """Number of ``acc[k] += v`` statements in inline code: one per non-zero entry of the
    row of every leaf occurrence (leaves are shared in tables but not in code)."""
    codes = np.concatenate([ir.left[ir.left < 0], ir.right[ir.right < 0],
                            ir.roots[ir.roots < 0]])
    ids = ~codes
    rows = ids[ids >= ir.leaf_base] - ir.leaf_base
    return int(np.sum(ids < ir.leaf_base) + np.count_nonzero(ir.leaf_values[rows]))


def estimate(ir: TreeEnsembleIR, target: str, X: np.ndarray | None,
             method: str = "loadable") -> Estimate:
    """Footprint of ``ir`` on ``target`` estimated from the IR (and rows X, if given)."""
    key = (target, method)
    if key not in _COST:
        raise ValueError(f"target={target!r} is not one of "
                         f"{sorted({t for t, _ in _COST})}")
    (code, forest_code, per_node_flash, per_add_flash, per_node, per_tree, per_out, fixed,
     stack) = _COST[key]
    flash = (codegen_c.data_bytes(ir, method) + code + int(per_node_flash * ir.n_nodes)
             + (forest_code if ir.n_trees > 1 else 0))
    if per_add_flash:
        flash += int(per_add_flash * leaf_additions(ir))
    fpu = target.startswith(("cortex-m4", "cortex-m7"))
    if method == "loadable" and codegen_c.threshold_table(ir) is not None:
        per_node += 1.0 if fpu else 2.0
    if method == "loadable" and codegen_c.compact_children(ir) is not None:
        per_node += 1.0 if fpu else 2.0
    instructions = None
    if X is not None:
        visited = nodes_visited(ir, X)
        outs = ir.n_outputs * (3 if ir.n_trees > 1 else 1)
        trees = per_tree * ir.n_trees if ir.n_trees > 1 else 0.0  # one tree: nothing summed
        instructions = fixed + trees + per_out * outs + per_node * visited
    return Estimate(flash, 0, stack + 4 * ir.n_outputs, instructions)
