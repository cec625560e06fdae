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
    numeric = (np.ones(ir.n_nodes, dtype=bool) if ir.cat_offset is None
               else ir.cat_offset == 0)
    for f in np.unique(ir.feature):
        t = ir.threshold[(ir.feature == f) & numeric]
        t = t[np.isfinite(t)]
        if t.size:
            lo, hi = float(t.min()), float(t.max())
            pad = 0.1 * (hi - lo) + 1e-3
            X[:, f] = rng.uniform(lo - pad, hi + pad, size=n)
        elif ir.cat_offset is not None:  # categorical feature: small category ids
            X[:, f] = rng.integers(0, 32, size=n)
    return X


def nodes_visited(ir: TreeEnsembleIR, X: np.ndarray) -> np.ndarray:
    """Number of decision nodes each row of X visits, summed over trees (same routing
    as the C, NaN included)."""
    X = np.asarray(X, dtype=np.float32)
    if ir.boosted:
        from .ir import route

        return route(ir, X)[1]
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


# Method "fast" (c_fast.py), per target: (fixed code bytes, extra bytes of the NaN path
# (copies + dispatch), bytes per decision node with a shared / a unique threshold, bytes
# per class block of a tree, per row-leaf occurrence, per used feature of the unrolled NaN
# pass, of the looped pass; instructions: fixed, per visited node, per tree, per output,
# per scanned feature; stack bytes). Fitted by hand to QEMU measurements of the benchmark
# forests (benchmarks/RESULTS.md reports the error).
_COST_FAST = {
    "cortex-m4f": (40, 120, 11.0, 14.0, 14, 6, 8, 100, 20, 4.3, 4.0, 3.0, 2.0, 24),
    "cortex-m7": (40, 120, 11.0, 14.0, 14, 6, 8, 100, 20, 4.3, 4.0, 3.0, 2.0, 24),
    "cortex-m0plus": (60, 200, 11.5, 14.5, 14, 6, 10, 200, 30, 4.5, 4.0, 5.0, 5.0, 40),
    "rv32imc": (60, 200, 14.0, 17.0, 16, 8, 10, 200, 30, 5.0, 4.0, 5.0, 5.0, 40),
    "host": (100, 200, 12.0, 12.0, 16, 8, 6, 100, 20, 2.5, 3.0, 3.0, 1.0, 40),
}


def _leaf_blocks(ir: TreeEnsembleIR) -> tuple[int, int]:
    """(class blocks: distinct one-hot leaf ids per tree summed over trees, row-leaf
    occurrences) of the fast code."""
    blocks = 0
    rows = int(np.sum(~ir.left[ir.left < 0] >= ir.leaf_base)
               + np.sum(~ir.right[ir.right < 0] >= ir.leaf_base))
    for t, root in enumerate(ir.roots):
        start = int(root) if root >= 0 else None
        if start is None:
            blocks += 1
            continue
        nxt = [int(r) for r in ir.roots[t + 1:] if r >= 0]
        end = nxt[0] if nxt else ir.n_nodes
        codes = np.concatenate([ir.left[start:end], ir.right[start:end]])
        ids = ~codes[codes < 0]
        blocks += int(np.unique(ids[ids < ir.leaf_base]).size)
    return blocks, rows


# Method "fast": instructions of adding leaf rows and one-hot increments, per target:
# (per row added from a sparse table, per sparse entry, per output of a dense row added
# to register sums, per one-hot leaf with register sums, with sums in memory), beyond the
# per-tree cost of _COST_FAST. Soft-float targets pay a library call per float add.
# Fitted to QEMU counts of depth-limited forests (benchmarks/bench_trees_impure.py).
_COST_FAST_ADDS = {
    "cortex-m4f": (2.0, 10.0, 2.0, 0.0, 0.0),
    "cortex-m7": (2.0, 10.0, 2.0, 0.0, 0.0),
    "cortex-m0plus": (2.0, 79.0, 60.0, 56.0, 75.0),
    "rv32imc": (2.0, 79.0, 60.0, 56.0, 75.0),
    "host": (2.0, 6.0, 1.0, 0.0, 0.0),
}


# Method "fast" with 8-bit keys (c_fast.keys), per target: (bytes less per decision node
# (no threshold literal, 16-bit compare), bytes of the key pass: fixed and per keyed
# feature, instructions less per visited node, instructions per keyed feature).
_COST_FAST_KEYS = {
    "cortex-m4f": (3.0, 80, 6.0, 0.6, 2.3),
    "cortex-m7": (3.0, 80, 6.0, 0.6, 2.3),
    "cortex-m0plus": (2.5, 120, 0.0, 0.6, 11.0),
    "rv32imc": (3.0, 120, 0.0, 0.6, 9.0),
    "host": (2.0, 100, 0.0, 0.3, 3.0),
}


# Cortex-M4F / M7 sparse rows in assembly (c_fast._add_row_asm): (per row, per entry).
_COST_FAST_ADDS_ASM = {"cortex-m4f": (6.0, 6.0), "cortex-m7": (6.0, 6.0)}


def _row_adds(ir: TreeEnsembleIR, X: np.ndarray, target: str) -> np.ndarray:
    """Instructions per row of X spent adding leaf rows (see _COST_FAST_ADDS): the leaf
    each tree reaches, routed as the C routes it."""
    from . import c_fast

    per_row, per_entry, per_out, onehot_reg, onehot_mem = _COST_FAST_ADDS[target]
    tab = c_fast.rows(ir)
    if (target in _COST_FAST_ADDS_ASM and tab.start is not None and ir.n_outputs <= 256
            and int(np.diff(tab.start).max(initial=0)) <= c_fast._ASM_ROW_MAX):
        per_row, per_entry = _COST_FAST_ADDS_ASM[target]
    X = np.asarray(X, dtype=np.float32)
    out = np.zeros(X.shape[0])
    if c_fast._votes(ir) or c_fast._scalar(ir) or c_fast._single_tree_classifier(ir):
        return out
    regs = c_fast._register_rows(ir)
    nnz = (np.asarray(ir.leaf_values) != 0).sum(axis=1)
    rows = np.arange(X.shape[0])
    for root in ir.roots:
        code = np.full(X.shape[0], int(root), dtype=np.int64)
        active = code >= 0
        while active.any():
            n = code[active]
            v = X[rows[active], ir.feature[n]]
            left = (v <= ir.threshold[n]) | (np.isnan(v) & ir.nan_left[n])
            code[active] = np.where(left, ir.left[n], ir.right[n])
            active = code >= 0
        leaf = ~code
        is_row = leaf >= ir.leaf_base
        if regs:
            out += is_row * (per_out * ir.n_outputs + 4.0) + (~is_row) * onehot_reg
        else:
            entries = np.where(is_row, nnz[np.maximum(leaf - ir.leaf_base, 0)], 0)
            out += is_row * per_row + entries * per_entry + (~is_row) * onehot_mem
    return out


def _estimate_fast(ir: TreeEnsembleIR, target: str, X: np.ndarray | None) -> Estimate:
    (fixed, nan_path, node_b, node_unique_b, block_b, row_b, scan_b, loop_b, fixed_i,
     per_node, per_tree, per_out, per_scan, stack) = _COST_FAST[target]
    from . import c_fast

    unique = np.unique(ir.threshold).size / max(ir.n_nodes, 1)
    blocks, rows = _leaf_blocks(ir)
    used = c_fast.used_features(ir)
    scan = c_fast.nan_mode(ir) == "scan"
    unrolled = c_fast.scan_unrolled(ir)
    # votes / sums in registers: a leaf block is one add (no load and store)
    in_registers = c_fast._votes(ir) or c_fast._register_rows(ir)
    if in_registers:
        per_tree = per_tree / 2
    flash = (c_fast.data_bytes(ir) + fixed
             + (node_b + (node_unique_b - node_b) * unique) * ir.n_nodes
             + (block_b if not in_registers else block_b // 2) * blocks + row_b * rows)
    if scan:
        flash += nan_path + (scan_b * used.size if unrolled else loop_b)
    else:
        flash += 3 * ir.n_nodes  # the per-node NaN test (about half of them 6 bytes)
    if c_fast.banks(ir) > 1 and target.startswith("cortex"):
        flash -= 2 * int(np.sum(ir.feature >= 32))  # 16-bit loads (input banks)
    keyed = c_fast.keys(ir) is not None
    span = int(used[-1]) - int(used[0]) + 1 if used.size else 0
    node_less, key_b, key_fb, visit_less, key_i = _COST_FAST_KEYS[target]
    if keyed:
        flash += key_b + key_fb * span - node_less * ir.n_nodes
        stack += 4 * ir.n_features  # the keys of the row
    vldm = target in ("cortex-m4f", "cortex-m7") and scan and 10 * span <= 18 * used.size
    instructions = None
    if X is not None:
        visited = nodes_visited(ir, X)
        scanned = (used.size if unrolled else 1.1 * span) if scan and used.size else 0
        if vldm:  # the NaN pass in assembly: 8 features per VLDM, one add each
            per_scan, scanned = 1.1, span
        instructions = (fixed_i + per_scan * scanned + per_node * visited
                        + (0.0 if scan else 1.0) * visited
                        + (per_tree * ir.n_trees + per_out * ir.n_outputs
                           if ir.n_trees > 1 else 0.0)
                        + _row_adds(ir, X, target))
        if keyed:
            instructions = instructions + key_i * span - visit_less * visited
    return Estimate(int(flash), 0, stack + 4 * ir.n_outputs, instructions)


# Method "branchless" (c_branchless.py), per target: (code bytes of a single tree (the
# runtime's walk loop), of a forest, bytes per straight-line walk step, per output of the
# row sum, of the soft-float library a float sum links; instructions: fixed, per walk
# step, per feature (key row), per tree, per output and tree; stack bytes besides the key
# row and the leaf payloads). Every row runs the same steps (each tree's depth): the count
# does not depend on X. Fitted (non-negative least squares, 2026-12-01) to QEMU counts of
# 18 models: the six forests of benchmarks/RESULTS.md and twelve more (decision trees of
# depth 5-10 and forests of 3-30 trees on digits, wine, breast_cancer, diabetes and
# synthetic data, 10-64 features; every kind: tree, votes, rows, scalar). Instructions
# within 6% on Cortex-M4F, 15% on Cortex-M0+ and 10% on rv32imc (the key row costs 11-16
# instructions per feature on every core); flash within 11% / 25% / 20% (the single-tree
# regressor is the outlier).
_COST_BRANCHLESS = {
    "cortex-m4f": (161, 172, 11.2, 44.9, 0, 7.1, 13.1, 11.5, 6.1, 2.8, 16),
    "cortex-m7": (161, 172, 11.2, 44.9, 0, 7.1, 13.1, 11.5, 6.1, 2.8, 16),
    "cortex-m0plus": (183, 117, 12.2, 53.7, 1231, 0.0, 17.4, 16.4, 8.9, 60.4, 24),
    "rv32imc": (180, 238, 10.8, 28.8, 1805, 0.0, 15.5, 12.9, 14.1, 60.6, 24),
    "host": (200, 500, 12.0, 30.0, 0, 11.0, 8.0, 3.0, 2.0, 2.0, 16),
}


def _estimate_branchless(ir: TreeEnsembleIR, target: str, X: np.ndarray | None) -> Estimate:
    from . import c_branchless

    (code_tree, code_forest, step_b, out_b, soft_b, fixed_i, per_step, per_feat, per_tree,
     per_out, stack) = _COST_BRANCHLESS[target]
    kind = c_branchless._kind(ir)
    steps = int(c_branchless.layout(ir).depth.sum())
    data = c_branchless.data_bytes(ir)
    if kind == "tree":  # predict reads the leaf classes, not the rows
        data -= 4 * c_branchless.rows_table(ir).size
        flash = data + code_tree
    else:
        flash = data + code_forest + step_b * steps
        if kind in ("rows", "scalar"):
            flash += out_b * min(ir.n_outputs, 16) + soft_b
    instructions = None
    if X is not None:
        sums = ir.n_outputs * ir.n_trees if kind in ("rows", "scalar") else 0
        instructions = (fixed_i + per_step * steps + per_feat * ir.n_features
                        + per_tree * ir.n_trees + per_out * sums)
    keys = 4 * (2 * ir.n_features + 1) + 4 * ir.n_trees
    return Estimate(int(flash), 0, stack + keys + 4 * ir.n_outputs, instructions)


def estimate(ir: TreeEnsembleIR, target: str, X: np.ndarray | None,
             method: str = "loadable") -> Estimate:
    """Footprint of ``ir`` on ``target`` estimated from the IR (and rows X, if given)."""
    if ir.boosted and method in ("fast", "branchless"):
        method = "inline"  # boosted ensembles: "fast" is the inline code (c.py)
    if method == "branchless" and target in _COST_BRANCHLESS:
        return _estimate_branchless(ir, target, X)
    if method == "fast" and target in _COST_FAST:
        return _estimate_fast(ir, target, X)
    key = (target, method)
    if key not in _COST:
        raise ValueError(f"target={target!r} is not one of "
                         f"{sorted({t for t, _ in _COST})}")
    (code, forest_code, per_node_flash, per_add_flash, per_node, per_tree, per_out, fixed,
     stack) = _COST[key]
    fpu = target.startswith(("cortex-m4", "cortex-m7"))
    if ir.boosted and method == "loadable":
        per_tree = _BOOST_PER_TREE.get(target, per_tree)
    if ir.boosted and ir.row_width == 1:
        per_add_flash *= 0.6  # inline trees return one literal per leaf (QEMU-fitted)
    flash = (codegen_c.data_bytes(ir, method) + code + int(per_node_flash * ir.n_nodes)
             + (forest_code if ir.n_trees > 1 else 0))
    if per_add_flash:
        flash += int(per_add_flash * leaf_additions(ir))
    if method == "loadable" and codegen_c.threshold_table(ir) is not None:
        per_node += 1.0 if fpu else 2.0
    if method == "loadable" and codegen_c.compact_children(ir) is not None:
        per_node += 1.0 if fpu else 2.0
    instructions = None
    if ir.boosted:
        flash += _boost_code(ir, fpu)
        if ir.cat_offset is not None or ir.missing_value is not None:
            per_node *= 2.0 if fpu else 3.5  # the general engine (categorical, missing value)
    if X is not None:
        visited = nodes_visited(ir, X)
        outs = ir.n_outputs * (3 if ir.n_trees > 1 else 1)
        trees = per_tree * ir.n_trees if ir.n_trees > 1 else 0.0  # one tree: nothing summed
        instructions = fixed + trees + per_out * outs + per_node * visited
        if ir.boosted:
            instructions = instructions + _post_instructions(ir, fpu)
    stack_extra = 4 * ir.n_trees if ir.post == "median" else 0
    return Estimate(flash, 0, stack + 4 * ir.n_outputs + stack_extra, instructions)


# Boosted ensembles, loadable: instructions per tree (one raw value added per tree instead of
# a leaf row; fitted to QEMU counts of GradientBoosting / HistGradientBoosting models).
_BOOST_PER_TREE = {"cortex-m4f": 23.0, "cortex-m7": 23.0, "cortex-m0plus": 107.0,
                   "rv32imc": 110.0, "host": 6.0}

# Boosted ensembles: code of the post transform (bytes) and instructions per call, from
# ml_math.h's expf (~40 instructions with an FPU, ~400 soft-float) and divf.
_EXP_INSTR = {True: 45.0, False: 420.0}
_DIV_INSTR = {True: 20.0, False: 180.0}


def _boost_code(ir: TreeEnsembleIR, fpu: bool) -> int:
    """Flash bytes of the post transform helpers a boosted ensemble links."""
    code = 120  # raw-score init, class / threshold decision
    if ir.post in ("sigmoid", "softmax", "sigmoid_ova", "sigmoid_each", "exp", "isolation"):
        code += 360 if fpu else 900  # ml_expf (+ ml_divf / ml_reciprocalf)
    if ir.cat_offset is not None or ir.missing_value is not None:
        code += 300  # general engine
    if ir.post == "median":
        code += 150
    return code


def _post_instructions(ir: TreeEnsembleIR, fpu: bool) -> float:
    """Instructions of the post transform of one predict_proba / regress call."""
    k = ir.n_raw
    if ir.post == "median":
        return (8.0 if fpu else 50.0) * ir.n_trees * ir.n_trees
    if ir.post in ("sigmoid", "sigmoid_ova", "sigmoid_each", "softmax"):
        return k * (_EXP_INSTR[fpu] + _DIV_INSTR[fpu]) + 10.0
    if ir.post in ("exp", "isolation"):
        return k * _EXP_INSTR[fpu] + 5.0
    return 2.0 * k
