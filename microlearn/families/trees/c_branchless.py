"""Tree family C, method ``"branchless"``: branch-free tree walks for hosts.

For processors with branch predictors and out-of-order cores (x86-64 and application Arm
cores: PCs, servers, a Raspberry Pi), where the if/goto code of the other methods pays a
mispredicted branch at about every second node on real data. Here a tree is a table of
8-byte nodes (``ml_trees_bnode_t``, runtime ``ml_trees.h``) whose two children are
adjacent, and a step computes the next node instead of branching to it::

    p += p->next + (k[p->feature] > p->key)

* **Keys.** The row is first turned into order-preserving unsigned integers
  (``ml_trees_keys``): ``x > t`` is ``key(x) > key(t)`` (a ``-0.0`` threshold is written
  as ``+0.0``). The row is stored twice, NaN as the smallest key (read by nodes whose NaN
  goes left) and as the largest (NaN right): scikit-learn's missing-value routing with no
  test per node.
* **Fixed step counts.** A leaf points at itself and compares against a key slot that is
  always 0, so a tree runs exactly as many steps as its depth and ends on its leaf, whose
  key field is the payload (leaf id, the float bits of a regression value, or a vote's
  bit position). No branch depends on the data.
* **Overlapped walks.** Trees are walked in groups of up to 12 (sorted by depth) in
  straight-line code, one step of each tree in turn: their load chains are independent,
  so an out-of-order core runs them side by side (a single tree uses the runtime's loop,
  ``ml_trees_bwalk``).
* **Semantics** are the other methods' exactly: leaf rows added in scikit-learn's tree
  order to a float32 sum from 0 (one-hot rows of pure leaves included: adding the zeros
  changes no sum), the mean is the sum times ``1/T`` rounded to float32, ``predict`` the
  first maximum; forests of pure leaves count votes in bit fields of one 64-bit integer.

No model-file form: this is a code-generation method (the model file holds the tables
of the ``loadable`` engine, which every build can read).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ...codegen import c_argmax, c_float
from ...codegen import c_array as _c_array_codegen
from ...errors import ConversionError
from ...family import CCode
from .convert import TreeEnsembleIR, reciprocal_f32

METHOD = "branchless"
GROUP = 12  # trees walked together at most (one pointer each; fastest on x86-64 of 4..16)
_UNROLL = 16  # outputs kept in local variables at most
_MAX_U16 = 0xFFFF

#: IR fields of a plain forest that this method reads (others must keep their defaults)
_KNOWN = {
    "estimator", "kind", "n_features", "n_outputs", "classes", "feature", "threshold",
    "nan_left", "left", "right", "roots", "leaf_values", "leaf_base", "max_depth",
    "dyadic_leaves", "feature_names", "family",
}


def c_array(ctype: str, name: str, values: list[str], per_line: int = 12) -> str:
    """A constant table: ``static ML_CONST ctype name[n]``."""
    return _c_array_codegen(ctype, name, values, per_line).replace(
        "static const ", "static ML_CONST ", 1)


def check_supported(ir: TreeEnsembleIR) -> None:
    """Raise :class:`ConversionError` for models the branchless method does not handle."""
    hint = "; use method='fast', 'inline' or 'loadable'"
    if ir.kind not in ("classifier", "regressor"):
        raise ConversionError(
            f"method='branchless' does not support {ir.kind} ensembles yet{hint}")
    if ir.kind == "regressor" and ir.leaf_base != 0:
        raise ConversionError(
            f"method='branchless': a regressor's leaves must all be rows (leaf_base=0, got "
            f"leaf_base={ir.leaf_base}){hint}")
    if ir.boosted:
        raise ConversionError(
            f"method='branchless' does not support boosted ensembles yet{hint}")
    for f in dataclasses.fields(ir):
        if f.name in _KNOWN:
            continue
        value = getattr(ir, f.name)
        default = f.default if f.default is not dataclasses.MISSING else None
        if value is None or value is default:
            continue
        if isinstance(value, np.ndarray) or value != default:
            raise ConversionError(
                f"method='branchless' does not support the tree IR field {f.name}={value!r} "
                f"yet{hint}")
    if 2 * ir.n_features >= _MAX_U16:
        raise ConversionError(
            f"method='branchless' supports at most {_MAX_U16 // 2 - 1} features (16-bit "
            f"feature slots); the model has n_features={ir.n_features}{hint}")


# --- layout -------------------------------------------------------------------------------

def _kind(ir: TreeEnsembleIR) -> str:
    """``"scalar"`` (one-output regressor), ``"tree"`` (single-tree classifier),
    ``"votes"`` (pure leaves only, counted in bit fields), ``"rows"``."""
    if ir.kind == "regressor" and ir.n_outputs == 1:
        return "scalar"
    if ir.kind == "classifier" and ir.n_trees == 1:
        return "tree"
    if ir.kind == "classifier" and ir.leaf_values.shape[0] == 0 and \
            ir.n_outputs * vote_bits(ir) <= 64:
        return "votes"
    return "rows"


def vote_bits(ir: TreeEnsembleIR) -> int:
    """Bits of one class's vote counter (holds n_trees)."""
    return max(1, int(ir.n_trees).bit_length())


def _key(t: np.float32) -> int:
    """ml_trees_key of a threshold (-0.0 as +0.0)."""
    u = int(np.asarray(np.float32(t)).view(np.uint32))
    if u == 0x80000000:
        u = 0
    return u ^ (0xFFFFFFFF if u >> 31 else 0x80000000)


def rows_table(ir: TreeEnsembleIR) -> np.ndarray:
    """Dense float32 rows of every leaf id: one-hot rows of the pure leaves, then the
    leaf table."""
    k = ir.n_outputs
    onehot = np.eye(ir.leaf_base, k, dtype=np.float32)
    return np.concatenate([onehot, np.asarray(ir.leaf_values, dtype=np.float32)
                           .reshape(-1, k)]).astype(np.float32)


def _payload(ir: TreeEnsembleIR, leaf: int, kind: str) -> int:
    if kind == "scalar":
        v = np.float32(ir.leaf_values[leaf - ir.leaf_base, 0])
        return int(np.asarray(v).view(np.uint32))
    if kind == "votes":
        return vote_bits(ir) * leaf  # bit position of the class's counter
    return leaf


@dataclasses.dataclass(frozen=True)
class Layout:
    """Node table of all trees: ``nodes`` (key, feature, next) rows, each tree's first
    node ``start`` and depth ``depth`` (steps of its walk)."""

    nodes: np.ndarray  # int64[n, 3]
    start: np.ndarray  # int64[n_trees]
    depth: np.ndarray  # int64[n_trees]

    @property
    def nbytes(self) -> int:
        return 8 * int(self.nodes.shape[0])


def layout(ir: TreeEnsembleIR) -> Layout:
    """Breadth-first node tables (children adjacent; a leaf points at itself)."""
    kind = _kind(ir)
    n = ir.n_features
    rows: list[tuple[int, int, int]] = []
    start, depth = [], []
    for t in range(ir.n_trees):
        base = len(rows)
        start.append(base)
        slots: list[tuple[int, int, int] | None] = [None]
        queue = [(int(ir.roots[t]), 0, 0)]
        deepest = 0
        head = 0
        while head < len(queue):
            code, s, d = queue[head]
            head += 1
            if code < 0:
                slots[s] = (_payload(ir, ~code, kind), 2 * n, 0)
                deepest = max(deepest, d)
                continue
            a = len(slots)
            slots += [None, None]
            if a - s > _MAX_U16:
                raise ConversionError(
                    f"method='branchless': tree {t} is too wide for 16-bit child offsets "
                    f"({a - s} nodes between a node and its children); use method='fast'")
            f = int(ir.feature[code]) + (0 if ir.nan_left[code] else n)
            slots[s] = (_key(ir.threshold[code]), f, a - s)
            queue.append((int(ir.left[code]), a, d + 1))
            queue.append((int(ir.right[code]), a + 1, d + 1))
        rows += slots  # type: ignore[arg-type]
        depth.append(deepest)
    return Layout(np.asarray(rows, dtype=np.int64).reshape(-1, 3),
                  np.asarray(start, dtype=np.int64), np.asarray(depth, dtype=np.int64))


def groups(lay: Layout) -> list[list[int]]:
    """Trees walked together: sorted by depth (deepest first), cut into groups of at most
    GROUP trees of about equal size."""
    order = sorted(range(lay.depth.size), key=lambda t: (-int(lay.depth[t]), t))
    order = [t for t in order if lay.depth[t] > 0]
    if not order:
        return []
    n_groups = -(-len(order) // GROUP)
    size = -(-len(order) // n_groups)
    return [order[i:i + size] for i in range(0, len(order), size)]


def data_bytes(ir: TreeEnsembleIR) -> int:
    """Bytes of constant tables: the node table, leaf rows, single-tree leaf classes."""
    kind = _kind(ir)
    extra = 0
    if kind in ("rows", "tree"):
        extra = 4 * rows_table(ir).size
    if kind == "tree":
        extra += ir.n_leaf_ids * (1 if ir.n_outputs <= 256 else 2)
    return layout(ir).nbytes + extra


# --- C ------------------------------------------------------------------------------------

def _utype(top: int) -> str:
    return "uint8_t" if top <= 0xFF else "uint16_t" if top <= 0xFFFF else "uint32_t"


def _nodes_table(lay: Layout, P: str) -> str:
    body = ",\n".join(
        "    " + " ".join(f"{{0x{int(k):08X}u, {int(f)}u, {int(x)}u}},"
                          for k, f, x in lay.nodes[i:i + 4]).rstrip(",")
        for i in range(0, lay.nodes.shape[0], 4))
    return (f"/* Nodes of all trees (ml_trees_bnode_t: key, feature slot, child offset). */\n"
            f"static ML_CONST ml_trees_bnode_t {P}__nodes[{lay.nodes.shape[0]}] = {{\n"
            f"{body}\n}};\n")


def _walk(ir: TreeEnsembleIR, lay: Layout, P: str) -> str:
    """``P__leaves(k, leaf)``: the payload of every tree's leaf for key row k."""
    lines = []
    for g in groups(lay):
        if len(g) == 1:  # one tree: the runtime's walk loop
            t = g[0]
            lines.append(f"    leaf[{t}] = ml_trees_bwalk({P}__nodes + {int(lay.start[t])}, k, "
                         f"{int(lay.depth[t])});\n")
            continue
        steps = int(max(lay.depth[t] for t in g))
        # straight-line steps, one of each tree in turn (each tree exactly its depth)
        lines.append("    {\n" + "".join(
            f"        const ml_trees_bnode_t *p{t} = {P}__nodes + {int(lay.start[t])};\n"
            for t in g))
        lines.append("".join(f"        p{t} = ml_trees_bstep(p{t}, k);\n"
                             for s in range(steps) for t in g if lay.depth[t] > s))
        lines.append("".join(f"        leaf[{t}] = ML_READ_AS(uint32_t, &p{t}->key);\n"
                             for t in g) + "    }\n")
    for t in range(ir.n_trees):
        if lay.depth[t] == 0:  # a single leaf
            lines.append(f"    leaf[{t}] = {int(lay.nodes[lay.start[t], 0])}u;\n")
    return ("/* The leaf payload of every tree for key row k (ml_trees_keys), walked in\n"
            " * groups of trees whose steps overlap. */\n"
            f"static inline void {P}__leaves(const uint32_t *k, uint32_t *ML_RESTRICT leaf)\n"
            "{\n    (void)k; /* unused when every tree is a single leaf */\n"
            + "".join(lines) + "}\n")


def _keys(ir: TreeEnsembleIR, P: str) -> str:
    n = ir.n_features
    return (f"    uint32_t k[{2 * n + 1}];\n    uint32_t leaf[{ir.n_trees}];\n"
            f"    ml_trees_keys(x, {n}, k);\n    {P}__leaves(k, leaf);\n")


def _argmax(P: str, k: int) -> str:
    # one branch per class: on x86-64 the selects' dependency chain measured 3-7% slower
    # per row than the branches on new rows (RF digits), where this method is for hosts
    return c_argmax(f"{P}__argmax", k, select=False) if k <= _UNROLL else ""


def c_code(ir: TreeEnsembleIR, P: str) -> CCode:
    """Tables and kernels of ``ir`` with prefix ``P`` (see ``microlearn/family.py``)."""
    check_supported(ir)
    kind = _kind(ir)
    lay = layout(ir)
    k, T = ir.n_outputs, ir.n_trees
    inv = c_float(reciprocal_f32(T))
    parts = ["/* Method \"branchless\": branch-free tree walks (docs/families/trees.md). */\n",
             _nodes_table(lay, P)]
    if kind in ("rows", "tree"):
        parts.append(c_array("float", f"{P}__rows", [c_float(v) for v in rows_table(ir).ravel()],
                             max(1, min(k, 8))))
    parts.append(_walk(ir, lay, P))
    if kind == "scalar":
        adds = "".join(f"    s += ml_trees_f32_from_bits(leaf[{t}]);\n" for t in range(T))
        scale = f" * {inv}" if T > 1 else ""
        parts.append(
            "/* Regression output: the mean over trees (leaf values summed in tree order from\n"
            " * 0), like scikit-learn. */\n"
            f"static inline void {P}__regress(const float *x, float *ML_RESTRICT out)\n{{\n"
            + _keys(ir, P) + f"    float s = 0.0f;\n{adds}    out[0] = s{scale};\n}}\n")
        return CCode(runtime=("ml_trees.h",), body="\n".join(parts))
    if kind == "tree":
        rc = np.argmax(rows_table(ir), axis=1)
        ct = _utype(k - 1)
        parts.append(c_array(ct, f"{P}__leaf_class", [str(int(c)) for c in rc], 16))
        parts.append(
            "/* Class probabilities: the leaf's row (scikit-learn's predict_proba). */\n"
            f"static inline void {P}__predict_proba(const float *x, float *ML_RESTRICT out)\n"
            "{\n" + _keys(ir, P)
            + f"    for (int32_t i = 0; i < {k}; i++) {{\n"
            f"        out[i] = ML_READ_F32(&{P}__rows[leaf[0] * {k}u + (uint32_t)i]);\n"
            "    }\n}\n\n"
            "/* Class index: the class of the leaf reached (first maximum of its row). */\n"
            f"static inline int32_t {P}__predict(const float *x)\n{{\n" + _keys(ir, P)
            + f"    return (int32_t)ML_READ_AS({ct}, &{P}__leaf_class[leaf[0]]);\n}}\n")
        return CCode(runtime=("ml_trees.h",), body="\n".join(parts))
    if kind == "votes":
        b = vote_bits(ir)
        mask = (1 << b) - 1
        adds = "".join(f"    c += (uint64_t)1u << leaf[{t}];\n" for t in range(T))
        parts.append(
            f"/* Votes per class in {b}-bit fields of one integer (pure leaves: one vote\n"
            " * each). */\n"
            f"static inline uint64_t {P}__votes(const float *x)\n{{\n" + _keys(ir, P)
            + f"    uint64_t c = 0u;\n{adds}    return c;\n}}\n")
        parts.append(
            "/* Class probabilities: votes / T (exact: the mean of the one-hot rows), like\n"
            " * scikit-learn's predict_proba. */\n"
            f"static inline void {P}__predict_proba(const float *x, float *ML_RESTRICT out)\n"
            f"{{\n    const uint64_t c = {P}__votes(x);\n"
            f"    for (int32_t i = 0; i < {k}; i++) {{\n"
            f"        out[i] = (float)(uint32_t)((c >> ({b}u * (uint32_t)i)) & {mask}u)"
            f" * {inv};\n    }}\n}}\n\n"
            "/* Class index: the first class with the most votes. */\n"
            f"static inline int32_t {P}__predict(const float *x)\n{{\n"
            f"    const uint64_t c = {P}__votes(x);\n    int32_t best = 0;\n"
            f"    uint32_t most = (uint32_t)(c & {mask}u);\n"
            f"    for (int32_t i = 1; i < {k}; i++) {{\n"
            f"        const uint32_t v = (uint32_t)((c >> ({b}u * (uint32_t)i)) & {mask}u);\n"
            "        if (v > most) {\n            most = v;\n            best = i;\n"
            "        }\n    }\n    return best;\n}\n")
        return CCode(runtime=("ml_trees.h",), body="\n".join(parts))
    # rows: acc += row of each tree's leaf, in tree order
    if k <= _UNROLL:
        init = "    float " + ", ".join(f"a{i} = 0.0f" for i in range(k)) + ";\n"
        add = "".join(f"        a{i} += ML_READ_F32(&r[{i}]);\n" for i in range(k))
        store = "".join(f"    out[{i}] = a{i};\n" for i in range(k))
    else:
        init = f"    ml_fill_f32(out, {k}, 0.0f);\n"
        add = (f"        for (int32_t i = 0; i < {k}; i++) {{\n"
               "            out[i] += ML_READ_F32(&r[i]);\n        }\n")
        store = ""
    parts.append(
        f"/* Sum of the trees' leaf rows (tree order, from 0): x -> out[{k}]. */\n"
        f"static inline void {P}__sum(const float *x, float *ML_RESTRICT out)\n{{\n"
        + _keys(ir, P) + init
        + f"    for (int32_t t = 0; t < {T}; t++) {{\n"
        f"        const float *r = {P}__rows + leaf[t] * {k}u;\n" + add + "    }\n"
        + store + "}\n")
    scale = ("" if T == 1 else
             "".join(f"    out[{i}] *= {inv};\n" for i in range(k)) if k <= _UNROLL else
             f"    ml_scale_f32(out, {k}, {inv});\n")
    parts.append(
        "/* Mean of the trees' leaf rows. */\n"
        f"static inline void {P}__run(const float *x, float *ML_RESTRICT out)\n{{\n"
        f"    {P}__sum(x, out);\n{scale}}}\n")
    if ir.kind == "classifier":
        am = _argmax(P, k)
        if am:
            parts.append(am)
        argmax = f"{P}__argmax(sum)" if am else f"ml_argmax_f32(sum, {k})"
        parts.append(
            "/* Class probabilities: the mean of the trees' rows, like scikit-learn's\n"
            " * predict_proba. */\n"
            f"static inline void {P}__predict_proba(const float *x, float *ML_RESTRICT out)\n"
            f"{{\n    {P}__run(x, out);\n}}\n\n"
            "/* Class index: the first maximum of the sum over trees. */\n"
            f"static inline int32_t {P}__predict(const float *x)\n{{\n"
            f"    float sum[{k}];\n    {P}__sum(x, sum);\n    return {argmax};\n}}\n")
    else:
        parts.append(
            "/* Regression outputs: the mean over trees, like scikit-learn. */\n"
            f"static inline void {P}__regress(const float *x, float *ML_RESTRICT out)\n"
            f"{{\n    {P}__run(x, out);\n}}\n")
    return CCode(runtime=("ml_trees.h",), body="\n".join(parts))
