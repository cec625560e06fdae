"""C code generation: IR -> one self-contained C99 header.

The header embeds the runtime headers it needs (``microlearn/runtime/*.h``,
each with its own include guard, so several generated models can share one
translation unit) followed by the model's tables and functions. Everything is
``static inline`` / ``static const``: include the header from any number of
``.c`` files, no linking step, no allocation.

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

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import __version__
from .errors import ConversionError
from .trees import TreeEnsembleIR

RUNTIME_DIR = Path(__file__).resolve().parent / "runtime"
METHODS = ("loadable", "inline")

_C_KEYWORDS = frozenset(
    """auto break case char const continue default do double else enum extern float for
    goto if inline int long register restrict return short signed sizeof static struct
    switch typedef union unsigned void volatile while _Bool _Complex _Imaginary
    bool true false class new delete this template typename namespace operator public
    private protected virtual friend try catch throw explicit mutable using""".split()
)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def check_name(name: str) -> str:
    """Validate ``name`` as the C identifier prefix of a generated model."""
    if not isinstance(name, str) or not _IDENT.fullmatch(name):
        raise ValueError(
            f"name={name!r} is not a valid C identifier (letters, digits and '_', "
            "not starting with a digit)"
        )
    if name in _C_KEYWORDS or name.startswith("ml_") or name.startswith("ML_"):
        raise ValueError(
            f"name={name!r} is reserved (a C/C++ keyword or the runtime's ml_ prefix)"
        )
    return name


def check_method(method: str) -> str:
    """Validate a code generation method name."""
    if method not in METHODS:
        raise ValueError(f"method={method!r} is not one of {', '.join(map(repr, METHODS))}")
    return method


def runtime_source(header: str) -> str:
    """Text of runtime header ``header`` with its ``#include "ml_*.h"`` lines replaced
    by the included headers' text (recursively)."""
    text = (RUNTIME_DIR / header).read_text()
    return re.sub(
        r'^#include "(ml_[a-z0-9_]+\.h)"\s*$',
        lambda m: runtime_source(m.group(1)),
        text,
        flags=re.M,
    )


def c_float(value: float) -> str:
    """C literal for a float32 value, exact (shortest round-trip decimal)."""
    v = np.float32(value)
    if np.isnan(v):
        return "NAN"
    if np.isinf(v):
        return "INFINITY" if v > 0 else "(-INFINITY)"
    s = np.format_float_scientific(v, unique=True, trim="0", exp_digits=1) if (
        v != 0 and not 1e-4 <= abs(v) < 1e7
    ) else np.format_float_positional(v, unique=True, trim="0")
    if not any(c in s for c in ".e"):
        s += ".0"
    return s + "f"


def _c_array(ctype: str, name: str, values: list[str], per_line: int = 12) -> str:
    lines = []
    for i in range(0, len(values), per_line):
        lines.append("    " + ", ".join(values[i : i + per_line]) + ",")
    return f"static const {ctype} {name}[{len(values)}] = {{\n" + "\n".join(lines) + "\n};\n"


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
    if ir.n_nodes == 0:
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
    if rows.shape[0] == 0 or nnz > 0xFFFF or ir.n_outputs > 0xFFFF:
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
    if method == "inline":
        return 0  # leaf rows are literals in the code
    leaves = leaf_tables(ir).nbytes
    fb = feature_bytes(ir)
    cb = 1 if compact_children(ir) is not None else child_bytes(ir)
    rb = 4 if compact_children(ir) is not None else cb
    nan = (ir.n_nodes + 7) // 8 if ir.nan_left.any() else 0
    table = threshold_table(ir)
    thresholds = 4 * ir.n_nodes if table is None else ir.n_nodes + 4 * table[1].size
    return ir.n_nodes * (fb + 2 * cb) + thresholds + ir.n_trees * rb + nan + leaves


# --- trees -------------------------------------------------------------------------

_UTYPE = {1: "uint8_t", 2: "uint16_t", 4: "uint32_t"}
_STYPE = {1: "int8_t", 2: "int16_t", 4: "int32_t"}


def _scalar(ir: TreeEnsembleIR) -> bool:
    """Single-output regressor: inline trees return their leaf value (summed in a register)."""
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
    signature = (f"static inline float {name}_tree{t}(const float *x)" if _scalar(ir) else
                 f"static inline void {name}_tree{t}(const float *x, float *ML_RESTRICT acc)")
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
            f, thr = int(ir.feature[n]), c_float(ir.threshold[n])
            # right when x > t; NaN goes left (fall through) or right (jump)
            cond = f"x[{f}] > {thr}" if ir.nan_left[n] else f"!(x[{f}] <= {thr})"
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


_UNROLL = 16  # inline code unrolls loops over at most this many outputs


def _trees_loadable(ir: TreeEnsembleIR, name: str) -> tuple[list[str], str, str, str, str]:
    """Tables + ml_trees_t for the table-driven engine; returns (parts, sum body,
    finish statement, argmax expression on `sum`, single-tree class expression)."""
    parts: list[str] = []
    leaves = leaf_tables(ir)
    if leaves.values.size:
        parts.append(_c_array("float", f"{name}_leaf_values", _floats(leaves.values),
                              per_line=max(1, min(ir.n_outputs, 8))))
    leaf_ptr = f"{name}_leaf_values" if leaves.values.size else "NULL"
    if leaves.start is not None:
        parts.append(_c_array("uint16_t", f"{name}_leaf_start", _ints(leaves.start), 16))
        parts.append(_c_array("uint16_t", f"{name}_leaf_index", _ints(leaves.index), 16))
        leaf_ptr += f", {name}_leaf_start, {name}_leaf_index"
    else:
        leaf_ptr += ", NULL, NULL"
    fb = feature_bytes(ir)
    compact = compact_children(ir)
    cb = 0 if compact is not None else child_bytes(ir)
    table = threshold_table(ir)
    if ir.n_nodes:
        parts.append(_c_array(_UTYPE[fb], f"{name}_feature", _ints(ir.feature), 16))
        if table is None:
            parts.append(_c_array("float", f"{name}_threshold", _floats(ir.threshold), 8))
            thr = f"{name}_threshold, NULL, NULL"
        else:
            parts.append(_c_array("uint8_t", f"{name}_threshold_index", _ints(table[0]), 16))
            parts.append(_c_array("float", f"{name}_threshold_values", _floats(table[1]), 8))
            thr = f"NULL, {name}_threshold_index, {name}_threshold_values"
        if compact is None:
            parts.append(_c_array(_STYPE[cb], f"{name}_left", _ints(ir.left), 16))
            parts.append(_c_array(_STYPE[cb], f"{name}_right", _ints(ir.right), 16))
        else:
            parts.append(_c_array("uint8_t", f"{name}_left", _ints(compact[0]), 16))
            parts.append(_c_array("uint8_t", f"{name}_right", _ints(compact[1]), 16))
        tables = [f"{name}_feature", thr, f"{name}_left", f"{name}_right"]
    else:
        tables = ["NULL", "NULL, NULL, NULL", "NULL", "NULL"]
    parts.append(_c_array(_STYPE[cb or 4], f"{name}_roots", _ints(ir.roots), 16))
    if ir.nan_left.any():
        bits = np.packbits(ir.nan_left.astype(np.uint8), bitorder="little")
        parts.append(_c_array("uint8_t", f"{name}_nan_left", _ints(bits), 16))
        nan_ptr = f"{name}_nan_left"
    else:
        nan_ptr = "NULL"
    parts.append(
        f"static const ml_trees_t {name}_trees = {{\n"
        f"    {ir.n_features}, {ir.n_outputs}, {ir.n_trees}, {ir.n_nodes}, "
        f"{ir.leaf_values.shape[0]}, {ir.leaf_base}, {c_float(1.0 / ir.n_trees)},\n"
        f"    {leaf_ptr},\n"
        f"    {fb}, {cb}, {tables[0]}, {tables[1]}, {tables[2]}, {tables[3]},\n"
        f"    {name}_roots, {nan_ptr}\n}};\n"
    )
    variant = (f"u{8 * fb}_" + (f"i{8 * cb}" if cb else "r8")
               + ("" if table is None else "_t8"))
    body = (f"    ml_trees_clear(&{name}_trees, out);\n"
            f"    ml_trees_sum_{variant}(&{name}_trees, x, out);\n")
    finish = f"    ml_trees_finish(&{name}_trees, out);\n"
    leaf_class = (f"ml_trees_leaf_class(&{name}_trees, "
                  f"ml_trees_route_{variant}(&{name}_trees, 0, features))")
    return parts, body, finish, f"ml_argmax_f32(sum, {name}_N_OUTPUTS)", leaf_class


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
        body = (f"    float s = {name}_tree0(x);\n"
                + "".join(f"    s += {name}_tree{t}(x);\n" for t in range(1, ir.n_trees))
                + "    out[0] = s;\n")
    else:
        clear = ("".join(f"    out[{i}] = 0.0f;\n" for i in range(k)) if k <= _UNROLL
                 else f"    ml_fill_f32(out, {k}, 0.0f);\n")
        body = clear + "".join(f"    {name}_tree{t}(x, out);\n" for t in range(ir.n_trees))
    inv = c_float(1.0 / ir.n_trees)
    if ir.n_trees == 1:
        finish = ""
    elif k <= _UNROLL:
        finish = "".join(f"    out[{i}] *= {inv};\n" for i in range(k))
    else:
        finish = f"    ml_scale_f32(out, {k}, {inv});\n"
    if ir.kind == "classifier" and k <= _UNROLL:
        lines = "".join(f"    if (v[{i}] > v[best]) {{\n        best = {i};\n    }}\n"
                        for i in range(1, k)) or "    (void)v;\n"
        parts.append(
            f"/* Index of the first maximum of v[0..{k - 1}]. */\n"
            f"static inline int32_t {name}_argmax(const float *v)\n{{\n"
            f"    int32_t best = 0;\n{lines}    return best;\n}}\n"
        )
        argmax = f"{name}_argmax(sum)"
    else:
        argmax = f"ml_argmax_f32(sum, {name}_N_OUTPUTS)"
    return parts, body, finish, argmax, ""


def _trees_source(ir: TreeEnsembleIR, name: str, method: str) -> str:
    N = name  # macros keep the user's spelling: model_N_FEATURES
    parts: list[str] = []
    classifier = ir.kind == "classifier"
    parts.append(
        f"#define {N}_N_FEATURES {ir.n_features}\n"
        f"#define {N}_N_OUTPUTS {ir.n_outputs}  /* "
        f"{'classes' if classifier else 'regression targets'} */\n"
        f"#define {N}_N_TREES {ir.n_trees}\n"
        f"#define {N}_IS_CLASSIFIER {1 if classifier else 0}\n"
    )
    if classifier:
        labels = ", ".join(f"{i}: {v!r}" for i, v in enumerate(ir.classes.tolist()))
        labels = labels.replace("*/", "* /")
        parts.append(f"/* class index -> label: {labels} */\n")
    make = _trees_loadable if method == "loadable" else _trees_inline
    body_parts, sum_body, finish, argmax, leaf_class = make(ir, name)
    parts += body_parts
    parts.append(
        f"/* Sum of the trees' leaf rows for one sample:\n"
        f" * x[{N}_N_FEATURES] -> out[{N}_N_OUTPUTS]. */\n"
        f"static inline void {name}_sum(const float *x, float *ML_RESTRICT out)\n{{\n"
        f"{sum_body}}}\n\n"
        f"/* Mean of the trees' leaf rows for one sample. */\n"
        f"static inline void {name}_run(const float *x, float *ML_RESTRICT out)\n{{\n"
        f"    {name}_sum(x, out);\n{finish}}}\n"
    )
    check = (
        "    if (features == NULL) {\n        return ML_ERR_NULL;\n    }\n"
        f"    if (n_features != {N}_N_FEATURES) {{\n        return ML_ERR_N_FEATURES;\n    }}\n"
    )
    check_out = (
        "    if (features == NULL || out == NULL) {\n        return ML_ERR_NULL;\n    }\n"
        f"    if (n_features != {N}_N_FEATURES) {{\n        return ML_ERR_N_FEATURES;\n    }}\n"
        f"    if (n_out < {N}_N_OUTPUTS) {{\n        return ML_ERR_N_OUT;\n    }}\n"
    )
    if classifier and ir.n_trees == 1 and leaf_class:
        # one tree: the class of the leaf reached (argmax of its row), nothing to sum
        predict_body = f"{check}    return {leaf_class};\n"
    elif classifier:
        predict_body = (
            f"    float sum[{N}_N_OUTPUTS];\n{check}"
            f"    {name}_sum(features, sum);\n"
            f"    return {argmax};\n"
        )
    if classifier:
        parts.append(
            "/* Class probabilities of one sample, like scikit-learn's predict_proba.\n"
            f" * features: {N}_N_FEATURES floats (NaN follows scikit-learn's missing-value\n"
            f" * routing); out: room for n_out >= {N}_N_OUTPUTS floats.\n"
            " * Returns ML_OK, ML_ERR_NULL, ML_ERR_N_FEATURES or ML_ERR_N_OUT. */\n"
            f"static inline int32_t {name}_predict_proba(const float *features, "
            "int32_t n_features, float *out, int32_t n_out)\n{\n"
            f"{check_out}    {name}_run(features, out);\n    return ML_OK;\n}}\n\n"
            "/* Predicted class index (0.."
            f"{N}_N_OUTPUTS-1) of one sample: the first class of highest probability\n"
            " * (first maximum of the sum over trees; the mean has the same order).\n"
            " * Returns the class index, or ML_ERR_NULL / ML_ERR_N_FEATURES (< 0). */\n"
            f"static inline int32_t {name}_predict(const float *features, int32_t n_features)\n"
            f"{{\n{predict_body}}}\n"
        )
    else:
        parts.append(
            "/* Regression outputs of one sample (mean over trees, like scikit-learn).\n"
            f" * features: {N}_N_FEATURES floats; out: room for n_out >= {N}_N_OUTPUTS floats.\n"
            " * Returns ML_OK, ML_ERR_NULL, ML_ERR_N_FEATURES or ML_ERR_N_OUT. */\n"
            f"static inline int32_t {name}_regress(const float *features, int32_t n_features, "
            "float *out, int32_t n_out)\n{\n"
            f"{check_out}    {name}_run(features, out);\n    return ML_OK;\n}}\n"
        )
        if ir.n_outputs == 1:
            parts.append(
                "\n/* The single regression output of one sample; NAN on error. */\n"
                f"static inline float {name}_regress1(const float *features, int32_t n_features)\n"
                "{\n    float out[1];\n"
                f"    if ({name}_regress(features, n_features, out, 1) != ML_OK) {{\n"
                "        return NAN;\n    }\n    return out[0];\n}\n"
            )
    return "\n".join(parts)


def describe_line(ir: TreeEnsembleIR) -> str:
    """One line saying what the model is, for headers and reprs."""
    what = f"{ir.n_outputs} classes" if ir.kind == "classifier" else f"{ir.n_outputs} output(s)"
    return (
        f"{ir.estimator}: {ir.n_trees} tree(s), {ir.n_nodes} decision nodes, "
        f"{ir.n_leaf_ids} leaf ids, max depth {ir.max_depth}, "
        f"{ir.n_features} features -> {what}"
    )


def generate(ir: TreeEnsembleIR, name: str = "model", method: str = "loadable") -> str:
    """Generate the self-contained C99 header for ``ir``.

    Parameters
    ----------
    ir : TreeEnsembleIR
        The model.
    name : str
        C identifier used as the prefix of every generated symbol.
    method : {"loadable", "inline"}
        Table-driven engine or specialised code per tree.

    Returns
    -------
    str
        The header text.
    """
    check_name(name)
    check_method(method)
    guard = f"MICROLEARN_MODEL_{name.upper()}_H"
    body = _trees_source(ir, name, method)
    head = (
        f"/* {name}: C99 model generated by microlearn {__version__}. Do not edit.\n"
        f" * {describe_line(ir)}\n"
        f" * Method: {method}. Inputs: float32 features; see the functions at the end.\n"
        " * Include from any number of .c files (everything is static); compiles as C++.\n"
        " */\n"
    )
    return (
        f"{head}#ifndef {guard}\n#define {guard}\n\n#include <math.h>\n#include <stddef.h>\n"
        f"#include <stdint.h>\n\n{runtime_source('ml_trees.h')}\n{body}\n#endif /* {guard} */\n"
    )
