"""Tree family C: IR -> tables and kernels (``P__predict``, ``P__predict_proba``,
``P__regress``) for the generic header writer (``microlearn/codegen.py``).

Methods
-------
``"loadable"``
    Compact node tables (index types sized to the model) and the generic
    table-driven engine of the runtime.
``"inline"``
    One specialised C function per tree (if/goto code, thresholds as
    literals); leaf tables are shared with the loadable form.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ...codegen import c_argmax, c_float
from ...codegen import c_array as _c_array_codegen
from ...errors import ConversionError
from ...family import CCode
from ...progmem import flash_struct
from . import c_branchless, c_fast
from .convert import TreeEnsembleIR, reciprocal_f32

METHODS = ("loadable", "inline", "fast", "branchless")  # c_fast.py, c_branchless.py


def check_method(method: str) -> str:
    """Validate a code generation method name."""
    if method not in METHODS:
        raise ValueError(f"method={method!r} is not one of {', '.join(map(repr, METHODS))}")
    return method


def _c_array(ctype: str, name: str, values: list[str], per_line: int = 12) -> str:
    # ML_CONST: program memory on AVR (read with ML_READ_*), plain const elsewhere
    return _c_array_codegen(ctype, name, values, per_line).replace(
        "static const ", "static ML_CONST ", 1)


def _ints(a: np.ndarray) -> list[str]:
    return [str(int(v)) for v in a]


def _floats(a: np.ndarray) -> list[str]:
    return [c_float(v) for v in np.asarray(a, dtype=np.float32).ravel()]


# --- index widths ------------------------------------------------------------------

def feature_bytes(ir: TreeEnsembleIR) -> int:
    """Bytes per feature index in the node tables (unsigned 1, 2 or 4)."""
    top = ir.n_features - 1
    return 1 if top <= 0xFF else 2 if top <= 0xFFFF else 4


def compact_children(ir: TreeEnsembleIR) -> tuple[np.ndarray, np.ndarray] | None:
    """One-byte relative child codes (left, right) when they fit: a leaf is its id
    (< L = n_leaf_ids), a decision node c > n is L + (c - n - 1). None when they don't."""
    if ir.n_nodes == 0 or ir.n_leaf_ids > 255:
        return None
    nodes = np.arange(ir.n_nodes)
    L = ir.n_leaf_ids
    out = []
    for codes in (ir.left, ir.right):
        enc = np.where(codes < 0, ~codes, L + codes - nodes - 1)
        if enc.max() > 255:
            return None
        out.append(enc.astype(np.uint8))
    return out[0], out[1]


def child_bytes(ir: TreeEnsembleIR) -> int:
    """Bytes per child code in the node tables (signed 1, 2 or 4)."""
    lo, hi = -ir.n_leaf_ids, max(ir.n_nodes - 1, 0)
    for b in (1, 2, 4):
        if lo >= -(1 << (8 * b - 1)) and hi < (1 << (8 * b - 1)):
            return b
    raise ConversionError(
        f"the model has {ir.n_nodes} decision nodes and {ir.n_leaf_ids} leaf ids; the "
        "node table format holds at most 2**31-1 of each"
    )


@dataclass(frozen=True)
class LeafTables:
    """How the leaf rows are stored: dense (``start`` is None) or sparse (non-zero
    values only: row r holds ``values[start[r]:start[r+1]]`` at outputs ``index[...]``)."""

    values: np.ndarray  # float32
    start: np.ndarray | None  # uint16[n_rows + 1]
    index: np.ndarray | None  # uint16[nnz]

    @property
    def nbytes(self) -> int:
        extra = 0 if self.start is None else 2 * (self.start.size + self.index.size)
        return 4 * self.values.size + extra


def leaf_tables(ir: TreeEnsembleIR) -> LeafTables:
    """The smaller of the dense and the sparse leaf layout (identical results: adding the
    omitted zeros changes no sum)."""
    dense = LeafTables(np.ascontiguousarray(ir.leaf_values, dtype=np.float32).ravel(), None,
                       None)
    rows = ir.leaf_values
    nz = rows != 0
    nnz = int(nz.sum())
    # the u16 tables hold at most 0xFFFF values and 0xFFFE rows (row starts 0..0xFFFF)
    if rows.shape[0] == 0 or nnz > 0xFFFF or rows.shape[0] >= 0xFFFF or ir.n_outputs > 0xFFFF:
        return dense
    start = np.concatenate([[0], np.cumsum(nz.sum(axis=1))]).astype(np.uint16)
    sparse = LeafTables(rows[nz].astype(np.float32), start,
                        np.nonzero(nz)[1].astype(np.uint16))
    return sparse if sparse.nbytes < dense.nbytes else dense


def threshold_table(ir: TreeEnsembleIR) -> tuple[np.ndarray, np.ndarray] | None:
    """(uint8 index per node, distinct float32 thresholds) when a model has at most 256
    distinct thresholds and the table is smaller than one float per node; else None."""
    if ir.n_nodes == 0:
        return None
    values, index = np.unique(ir.threshold.view(np.uint32), return_inverse=True)
    if values.size > 256 or ir.n_nodes + 4 * values.size >= 4 * ir.n_nodes:
        return None
    return index.astype(np.uint8), values.view(np.float32)


def data_bytes(ir: TreeEnsembleIR, method: str) -> int:
    """Bytes of constant tables in the generated code (excluding machine code)."""
    if ir.boosted and method in ("fast", "branchless"):
        method = "inline"  # boosted ensembles: "fast" / "branchless" is the inline code
    if method == "fast":
        return c_fast.data_bytes(ir)
    if method == "branchless":
        return c_branchless.data_bytes(ir)
    if method == "inline":
        return 0  # leaf rows are literals in the code
    leaves = leaf_tables(ir).nbytes
    fb = feature_bytes(ir)
    cb = 1 if compact_children(ir) is not None else child_bytes(ir)
    rb = 4 if compact_children(ir) is not None else cb
    nan = (ir.n_nodes + 7) // 8 if ir.nan_left.any() else 0
    table = threshold_table(ir)
    thresholds = 4 * ir.n_nodes if table is None else ir.n_nodes + 4 * table[1].size
    return (ir.n_nodes * (fb + 2 * cb) + thresholds + ir.n_trees * rb + nan + leaves
            + boosted_bytes(ir))


def boosted_bytes(ir: TreeEnsembleIR) -> int:
    """Bytes of the tables only boosted ensembles have (base scores, per-tree output
    column, categorical sets, median weights)."""
    if not ir.boosted:
        return 0
    n = 4 * ir.n_raw
    if ir.tree_output is not None:
        n += 2 * ir.n_trees
    if ir.cat_offset is not None:
        n += 4 * (ir.n_nodes + ir.cat_bits.size)
    if ir.tree_weights is not None:
        n += 4 * ir.n_trees
    return n


# --- trees -------------------------------------------------------------------------

_UTYPE = {1: "uint8_t", 2: "uint16_t", 4: "uint32_t"}
_STYPE = {1: "int8_t", 2: "int16_t", 4: "int32_t"}


def _scalar(ir: TreeEnsembleIR) -> bool:
    """Single-output regressor, or a boosted ensemble whose trees add one value: inline trees
    return their leaf value."""
    if ir.boosted:
        return ir.row_width == 1
    return ir.kind == "regressor" and ir.n_outputs == 1


def _leaf_code(ir: TreeEnsembleIR, leaf: int) -> str:
    """Statements adding leaf ``leaf``'s row to acc (zeros omitted: exact), then return;
    for a single-output regressor, return the leaf value."""
    if _scalar(ir):
        return f"return {c_float(ir.leaf_values[leaf, 0])};"
    if leaf < ir.leaf_base:
        adds = [f"acc[{leaf}] += 1.0f;"]
    else:
        row = ir.leaf_values[leaf - ir.leaf_base]
        adds = [f"acc[{j}] += {c_float(v)};" for j, v in enumerate(row) if v != 0]
    return " ".join([*adds, "return;"])


def _tree_function(ir: TreeEnsembleIR, name: str, t: int) -> str:
    """Inline code for tree t: adds the row of the leaf x reaches to acc (single-output
    regressors: returns the leaf value)."""
    signature = (f"static inline float {name}__tree{t}(const float *x)" if _scalar(ir) else
                 f"static inline void {name}__tree{t}(const float *x, float *ML_RESTRICT acc)")
    out = [signature, "{"]
    root = int(ir.roots[t])
    if root < 0:
        out += ["    (void)x;", f"    {_leaf_code(ir, ~root)}", "}"]
        return "\n".join(out) + "\n"
    pending = [root]
    first = True
    while pending:
        n = pending.pop()
        if not first:
            out.append(f"n{n}:")
        first = False
        while True:
            cond = _right_condition(ir, name, n)
            r, le = int(ir.right[n]), int(ir.left[n])
            if r < 0:
                out.append(f"    if ({cond}) {{ {_leaf_code(ir, ~r)} }}")
            else:
                out.append(f"    if ({cond}) goto n{r};")
                pending.append(r)
            if le < 0:
                out.append(f"    {_leaf_code(ir, ~le)}")
                break
            n = le
    out.append("}")
    return "\n".join(out) + "\n"


def _right_condition(ir: TreeEnsembleIR, name: str, n: int) -> str:
    """C condition under which node n sends x to its right child."""
    f, thr = int(ir.feature[n]), c_float(ir.threshold[n])
    nl = bool(ir.nan_left[n])
    if ir.cat_offset is not None and ir.cat_offset[n]:
        return (f"ml_trees_cat_goes_right(&{name}__trees, {int(ir.cat_offset[n])}u, x[{f}], "
                f"{int(nl)})")
    # right when x > t; NaN goes left (fall through) or right (jump)
    if ir.missing_value is None:
        return f"x[{f}] > {thr}" if nl else f"!(x[{f}] <= {thr})"
    miss = c_float(ir.missing_value)
    return (f"(x[{f}] > {thr} && x[{f}] != {miss})" if nl
            else f"(!(x[{f}] <= {thr}) || x[{f}] == {miss})")


_UNROLL = 16  # inline code unrolls loops over at most this many outputs


def _boost_fields(ir: TreeEnsembleIR, name: str, parts: list[str], inline: bool = False) -> str:
    """Tables of the boosted fields (appended to parts) and their initialiser text."""
    from .section import POST, flags, score_offset32

    if not ir.boosted:
        return "ML_TREES_NOT_BOOSTED"
    task = {"classifier": "ML_TASK_CLASSIFIER", "regressor": "ML_TASK_REGRESSOR",
            "outlier_detector": "ML_TASK_OUTLIER_DETECTOR"}[ir.kind]
    parts.append(_c_array("float", f"{name}__base_score", _floats(ir.base_score), 8))
    ptrs = [f"{name}__base_score"]
    if ir.tree_output is not None:
        parts.append(_c_array("uint16_t", f"{name}__tree_output", _ints(ir.tree_output), 16))
        ptrs.append(f"{name}__tree_output")
    else:
        ptrs.append("NULL")
    if ir.cat_offset is not None:
        nodes = ir.n_nodes > 0 and not inline  # inline code has the offsets as literals
        if nodes:
            parts.append(_c_array("uint32_t", f"{name}__cat_offset", _ints(ir.cat_offset), 12))
        parts.append(_c_array("uint32_t", f"{name}__cat_bits",
                              [f"{int(v)}u" for v in ir.cat_bits], 8))
        ptrs += [f"{name}__cat_offset" if nodes else "NULL", f"{name}__cat_bits"]
    else:
        ptrs += ["NULL", "NULL"]
    if ir.tree_weights is not None:
        parts.append(_c_array("float", f"{name}__tree_weights", _floats(ir.tree_weights), 8))
        ptrs.append(f"{name}__tree_weights")
    else:
        ptrs.append("NULL")
    miss = 0.0 if ir.missing_value is None else ir.missing_value
    return (f"{POST[ir.post]}, {task}, {ir.n_raw}, {flags(ir)}u, {c_float(ir.post_scale)}, "
            f"{c_float(ir.decision_threshold)}, {c_float(miss)}, "
            f"{c_float(score_offset32(ir))},\n    {', '.join(ptrs)}")


def _trees_loadable(ir: TreeEnsembleIR, name: str) -> tuple[list[str], str, str, str, str]:
    """Tables + ml_trees_t for the table-driven engine; returns (parts, sum body,
    finish statement, argmax expression on `sum`, single-tree class expression)."""
    parts: list[str] = []
    leaves = leaf_tables(ir)
    if leaves.values.size:
        parts.append(_c_array("float", f"{name}__leaf_values", _floats(leaves.values),
                              per_line=max(1, min(ir.n_outputs, 8))))
    leaf_ptr = f"{name}__leaf_values" if leaves.values.size else "NULL"
    if leaves.start is not None:
        parts.append(_c_array("uint16_t", f"{name}__leaf_start", _ints(leaves.start), 16))
        parts.append(_c_array("uint16_t", f"{name}__leaf_index", _ints(leaves.index), 16))
        leaf_ptr += f", {name}__leaf_start, {name}__leaf_index"
    else:
        leaf_ptr += ", NULL, NULL"
    fb = feature_bytes(ir)
    compact = compact_children(ir)
    cb = 0 if compact is not None else child_bytes(ir)
    table = threshold_table(ir)
    if ir.n_nodes:
        parts.append(_c_array(_UTYPE[fb], f"{name}__feature", _ints(ir.feature), 16))
        if table is None:
            parts.append(_c_array("float", f"{name}__threshold", _floats(ir.threshold), 8))
            thr = f"{name}__threshold, NULL, NULL"
        else:
            parts.append(_c_array("uint8_t", f"{name}__threshold_index", _ints(table[0]), 16))
            parts.append(_c_array("float", f"{name}__threshold_values", _floats(table[1]), 8))
            thr = f"NULL, {name}__threshold_index, {name}__threshold_values"
        if compact is None:
            parts.append(_c_array(_STYPE[cb], f"{name}__left", _ints(ir.left), 16))
            parts.append(_c_array(_STYPE[cb], f"{name}__right", _ints(ir.right), 16))
        else:
            parts.append(_c_array("uint8_t", f"{name}__left", _ints(compact[0]), 16))
            parts.append(_c_array("uint8_t", f"{name}__right", _ints(compact[1]), 16))
        tables = [f"{name}__feature", thr, f"{name}__left", f"{name}__right"]
    else:
        tables = ["NULL", "NULL, NULL, NULL", "NULL", "NULL"]
    parts.append(_c_array(_STYPE[cb or 4], f"{name}__roots", _ints(ir.roots), 16))
    if ir.nan_left.any():
        bits = np.packbits(ir.nan_left.astype(np.uint8), bitorder="little")
        parts.append(_c_array("uint8_t", f"{name}__nan_left", _ints(bits), 16))
        nan_ptr = f"{name}__nan_left"
    else:
        nan_ptr = "NULL"
    boost = _boost_fields(ir, name, parts)
    parts.append(
        f"static ML_CONST ml_trees_t {name}__trees = {{\n"
        f"    {ir.n_features}, {ir.n_outputs}, {ir.n_trees}, {ir.n_nodes}, "
        f"{ir.leaf_values.shape[0]}, {ir.leaf_base}, {c_float(reciprocal_f32(ir.n_trees))},\n"
        f"    {leaf_ptr},\n"
        f"    {fb}, {cb}, {tables[0]}, {tables[1]}, {tables[2]}, {tables[3]},\n"
        f"    {name}__roots, {nan_ptr},\n    {boost}\n}};\n"
    )
    variant = (f"u{8 * fb}_" + (f"i{8 * cb}" if cb else "r8")
               + ("" if table is None else "_t8"))
    if ir.boosted:
        general = ir.n_nodes == 0 or ir.cat_offset is not None or ir.missing_value is not None
        return parts, ("any" if general else variant), "", "", ""
    body = (f"    ml_trees_clear(&{name}__trees, out);\n"
            f"    ml_trees_sum_{variant}(&{name}__trees, x, out);\n")
    finish = f"    ml_trees_finish(&{name}__trees, out);\n"
    leaf_class = (f"ml_trees_leaf_class(&{name}__trees, "
                  f"ml_trees_route_{variant}(&{name}__trees, 0, x))")
    return parts, body, finish, f"ml_argmax_f32(sum, {ir.n_outputs})", leaf_class


def _trees_inline(ir: TreeEnsembleIR, name: str) -> tuple[list[str], str, str, str, str]:
    """One function per tree that adds its leaf's row (as literals) to the sums."""
    k = ir.n_outputs
    parts = [
        "/* One function per tree: adds the row of the leaf x reaches to acc (a\n"
        " * single-output regressor's returns the leaf value).\n"
        " * `!(x <= t)` sends NaN right, `x > t` sends it left (scikit-learn's\n"
        " * missing-value routing). */\n"
    ]
    parts += [_tree_function(ir, name, t) for t in range(ir.n_trees)]
    if _scalar(ir):
        # in sklearn's order: ((0 + tree0) + tree1) + ..., kept in a register
        body = (f"    float s = {name}__tree0(x);\n"
                + "".join(f"    s += {name}__tree{t}(x);\n" for t in range(1, ir.n_trees))
                + "    out[0] = s;\n")
    else:
        clear = ("".join(f"    out[{i}] = 0.0f;\n" for i in range(k)) if k <= _UNROLL
                 else f"    ml_fill_f32(out, {k}, 0.0f);\n")
        body = clear + "".join(f"    {name}__tree{t}(x, out);\n" for t in range(ir.n_trees))
    inv = c_float(reciprocal_f32(ir.n_trees))
    if ir.n_trees == 1:
        finish = ""
    elif k <= _UNROLL:
        finish = "".join(f"    out[{i}] *= {inv};\n" for i in range(k))
    else:
        finish = f"    ml_scale_f32(out, {k}, {inv});\n"
    if ir.kind == "classifier" and k <= _UNROLL:
        parts.append(c_argmax(f"{name}__argmax", k, select=ir.n_trees > 1))
        argmax = f"{name}__argmax(sum)"
    else:
        argmax = f"ml_argmax_f32(sum, {ir.n_outputs})"
    return parts, body, finish, argmax, ""


def _boosted_inline(ir: TreeEnsembleIR, name: str) -> tuple[list[str], str]:
    """Inline trees of a boosted ensemble, plus the struct the post helpers read; returns
    (parts, statements adding the trees to raw / filling v for the median)."""
    parts: list[str] = []
    boost = _boost_fields(ir, name, parts, inline=True)
    parts.append(
        "/* The post-transform parameters (no node tables: the trees are code). */\n"
        f"static ML_CONST ml_trees_t {name}__trees = {{\n"
        f"    {ir.n_features}, {ir.n_outputs}, {ir.n_trees}, 0, 0, 0, "
        f"{c_float(reciprocal_f32(ir.n_trees))},\n    NULL, NULL, NULL,\n"
        f"    0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,\n    {boost}\n}};\n"
    )
    parts.append(
        "/* One function per tree: returns the value of the leaf x reaches (or adds the\n"
        " * leaf's row to acc). `!(x <= t)` sends NaN right, `x > t` sends it left. */\n"
    )
    parts += [_tree_function(ir, name, t) for t in range(ir.n_trees)]
    if ir.post == "median":
        adds = "".join(f"    v[{t}] = {name}__tree{t}(x);\n" for t in range(ir.n_trees))
    elif _scalar(ir):
        cols = (ir.tree_output if ir.tree_output is not None
                else np.zeros(ir.n_trees, dtype=np.int64))
        adds = "".join(f"    raw[{int(c)}] += {name}__tree{t}(x);\n"
                       for t, c in enumerate(cols))
    else:
        adds = "".join(f"    {name}__tree{t}(x, raw);\n" for t in range(ir.n_trees))
    return parts, adds


def _boosted_c_code(ir: TreeEnsembleIR, name: str, method: str) -> CCode:
    """Kernels of a boosted ensemble: P__raw (the raw scores, as ml_trees_raw computes them
    from the tables), then the runtime's post helpers on them. Method "fast" (forests
    only) gives the inline code."""
    k = ir.n_raw
    if method == "loadable":
        parts, variant, _, _, _ = _trees_loadable(ir, name)
        adds = ("" if ir.post == "median" else
                f"    ml_trees_bsum_{variant}(&{name}__trees, x, raw);\n")
        if ir.post == "median":
            adds = (f"    for (int32_t t = 0; t < {ir.n_trees}; t++) {{\n"
                    f"        v[t] = 0.0f;\n"
                    f"        ml_trees__add_row(&{name}__trees, &v[t], "
                    f"ml_trees_route_any(&{name}__trees, t, x), 1);\n    }}\n")
    else:
        parts, adds = _boosted_inline(ir, name)
    if ir.post == "median":
        body = (f"    float v[{ir.n_trees}];\n{adds}"
                f"    raw[0] = ml_trees_weighted_median(&{name}__trees, v);\n")
    else:
        init = ("".join(f"    raw[{j}] = {c_float(ir.base_score[j])};\n" for j in range(k))
                if k <= _UNROLL else
                f"    for (int32_t j = 0; j < {k}; j++) {{\n"
                f"        raw[j] = ML_READ_F32(&{name}__base_score[j]);\n    }}\n")
        body = init + adds
    parts.append(
        f"/* Raw scores: base score + the sum of the trees' leaf values ({k}). */\n"
        f"static inline void {name}__raw(const float *x, float *ML_RESTRICT raw)\n"
        f"{{\n{body}}}\n"
    )
    m = f"&{name}__trees"
    if ir.kind == "classifier":
        parts.append(
            "/* Class index: one raw score: 1 iff raw > (or >=) the threshold; else the\n"
            " * first maximum of the raw scores. */\n"
            f"static inline int32_t {name}__predict(const float *x)\n{{\n"
            f"    float raw[{k}];\n    {name}__raw(x, raw);\n"
            f"    return ml_trees_raw_class({m}, raw);\n}}\n\n"
            f"/* Class probabilities from the raw scores ({ir.post}). */\n"
            f"static inline void {name}__predict_proba(const float *x, float *ML_RESTRICT out)\n"
            f"{{\n    {name}__raw(x, out);\n    ml_trees_raw_proba({m}, out);\n}}\n\n"
            "/* decision_function: the raw scores. */\n"
            f"static inline void {name}__decision_function(const float *x, "
            f"float *ML_RESTRICT out)\n{{\n    {name}__raw(x, out);\n}}\n"
        )
    elif ir.kind == "regressor":
        parts.append(
            f"/* Regression outputs from the raw scores ({ir.post}). */\n"
            f"static inline void {name}__regress(const float *x, float *ML_RESTRICT out)\n"
            f"{{\n    {name}__raw(x, out);\n    ml_trees_raw_regress({m}, out);\n}}\n"
        )
    else:
        parts.append(
            "/* +1 inlier, -1 outlier: raw path length below the precomputed threshold. */\n"
            f"static inline int32_t {name}__predict(const float *x)\n{{\n"
            f"    float raw[1];\n    {name}__raw(x, raw);\n"
            f"    return raw[0] < {name}__trees.decision_threshold ? -1 : 1;\n}}\n\n"
            "/* score_samples: -2^(-raw / norm). */\n"
            f"static inline float {name}__score_samples(const float *x)\n{{\n"
            f"    float raw[1];\n    {name}__raw(x, raw);\n"
            f"    return ml_trees_isolation_score({m}, raw[0]);\n}}\n\n"
            "/* decision_function: score_samples - offset. */\n"
            f"static inline void {name}__decision_function(const float *x, "
            f"float *ML_RESTRICT out)\n{{\n"
            f"    out[0] = {name}__score_samples(x) - {name}__trees.score_offset;\n}}\n"
        )
    return CCode(runtime=("ml_trees.h",), body="\n".join(parts))


def c_code(ir: TreeEnsembleIR, name: str, method: str = "loadable") -> CCode:
    """Tables and kernels of ``ir`` with prefix ``name`` (see ``microlearn/family.py``)."""
    code = _c_code(ir, name, method)
    # the ml_trees_t struct is ML_CONST (program memory on AVR): read through a local
    return dataclasses.replace(code, body=flash_struct(code.body, f"{name}__trees",
                                                       "ml_trees_t", f"{name}__tm"))


def _c_code(ir: TreeEnsembleIR, name: str, method: str) -> CCode:
    check_method(method)
    if ir.boosted:
        return _boosted_c_code(ir, name, method)
    if method == "fast":
        return c_fast.c_code(ir, name)
    if method == "branchless":
        return c_branchless.c_code(ir, name)
    make = _trees_loadable if method == "loadable" else _trees_inline
    parts, sum_body, finish, argmax, leaf_class = make(ir, name)
    parts.append(
        f"/* Sum of the trees' leaf rows for one sample: x -> out[{ir.n_outputs}]. */\n"
        f"static inline void {name}__sum(const float *x, float *ML_RESTRICT out)\n{{\n"
        f"{sum_body}}}\n\n"
        f"/* Mean of the trees' leaf rows for one sample. */\n"
        f"static inline void {name}__run(const float *x, float *ML_RESTRICT out)\n{{\n"
        f"    {name}__sum(x, out);\n{finish}}}\n"
    )
    if ir.kind == "classifier":
        if ir.n_trees == 1 and leaf_class:
            # one tree: the class of the leaf reached (argmax of its row), nothing to sum
            predict_body = f"    return {leaf_class};\n"
        else:
            predict_body = (f"    float sum[{ir.n_outputs}];\n"
                            f"    {name}__sum(x, sum);\n    return {argmax};\n")
        parts.append(
            "/* Class probabilities: the mean of the trees' rows, like scikit-learn's\n"
            " * predict_proba. NaN follows scikit-learn's missing-value routing. */\n"
            f"static inline void {name}__predict_proba(const float *x, float *ML_RESTRICT out)\n"
            f"{{\n    {name}__run(x, out);\n}}\n\n"
            "/* Class index: the first class of highest probability (first maximum of the\n"
            " * sum over trees; the mean has the same order). */\n"
            f"static inline int32_t {name}__predict(const float *x)\n{{\n{predict_body}}}\n"
        )
    else:
        parts.append(
            "/* Regression outputs: the mean over trees, like scikit-learn. */\n"
            f"static inline void {name}__regress(const float *x, float *ML_RESTRICT out)\n"
            f"{{\n    {name}__run(x, out);\n}}\n"
        )
    return CCode(runtime=("ml_trees.h",), body="\n".join(parts))


def describe_line(ir: TreeEnsembleIR) -> str:
    """One line saying what the model is, for headers and reprs."""
    what = f"{ir.n_outputs} classes" if ir.kind == "classifier" else f"{ir.n_outputs} output(s)"
    return (
        f"{ir.estimator}: {ir.n_trees} tree(s), {ir.n_nodes} decision nodes, "
        f"{ir.n_leaf_ids} leaf ids, max depth {ir.max_depth}, "
        f"{ir.n_features} features -> {what}"
    )
