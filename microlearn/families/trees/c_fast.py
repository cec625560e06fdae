"""Tree family C, method ``"fast"``: small and fast straight-line code for forests.

The trees become one function of ``if (...) goto`` code (no tables for the nodes), built so
that each decision node is as few instructions and bytes as an integer compare allows:

* **Integer comparisons.** ``x <= t`` for a float32 ``x`` that is not NaN equals an integer
  comparison of the float bits: ``bits(x) <= bits(t)`` as signed integers when ``t >= 0``
  and ``bits(x) >= bits(t)`` as unsigned integers when ``t < 0`` (a ``-0.0`` threshold is
  written as ``+0.0``; ``-0.0``, ``+-inf`` and subnormals compare right). A node is one
  integer load,
  one compare against a literal and one branch: no floating-point unit, no soft-float
  calls, and the threshold is an immediate (x86) or a shared literal (Arm).
* **Input banks.** With 33 to 96 used features, the out-of-line tree functions read
  features ``32 * b ..`` through their own pointer arguments (``x + 32 * b``), so every
  feature load has a small offset: a 16-bit load on Thumb instead of a 32-bit one.
* **Missing values (NaN).** The integer compare would send a NaN by its sign bit, so the
  tree code reads every node's input through one of two pointers: ``xl`` at nodes that send
  NaN left, ``xr`` at nodes that send it right. Without NaN both point at ``x``. A row with
  a NaN in a feature the model uses (found by one pass over those features) runs the same
  code on two copies of the row, NaN replaced by a negative NaN (``xl``: its bits compare
  below every threshold's, so it goes left everywhere) and by a positive NaN (``xr``:
  above every threshold's, even ``+inf``: goes right). Small trees test the NaN at each
  node instead, when that is smaller than the pass (see ``nan_mode``). Rows without
  NaN never touch the copies (an out-of-line function holds them: ``8 * n_features`` bytes
  of stack for rows with NaN only).
* **Leaves.** A pure classifier leaf (probability 1 for one class) is one increment,
  ``acc[c] += 1.0f``, shared by every leaf of the tree with that class (the leaves
  themselves are branch targets, no code). Other leaves set their row id and jump to one
  per-tree block that adds the row from a table of de-duplicated rows (dense rows by
  straight-line adds into float registers, the leaf storing the row's offset; sparse rows
  by a loop with one test per entry).
* **Semantics** are the other methods' exactly: per tree the leaf row is added in
  scikit-learn's tree order to a float32 sum that starts at 0, the mean is the sum times
  ``1/T`` rounded to float32, ``predict`` the first maximum of the sum; a single tree
  returns its leaf's class without summing.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ...codegen import c_argmax, c_float
from ...codegen import c_array as _c_array_codegen
from ...errors import ConversionError
from ...family import CCode
from .convert import TreeEnsembleIR, reciprocal_f32


def c_array(ctype: str, name: str, values: list[str], per_line: int = 12) -> str:
    """A constant table in flash: ``static ML_CONST ctype name[n]`` (program memory on AVR,
    read with ``ML_READ_*``; plain ``const`` elsewhere)."""
    return _c_array_codegen(ctype, name, values, per_line).replace(
        "static const ", "static ML_CONST ", 1)

METHOD = "fast"
_UNROLL = 16  # clear / scale / argmax are unrolled for at most this many outputs

#: IR fields of a plain forest that this method reads (others must keep their defaults)
_KNOWN = {
    "estimator", "kind", "n_features", "n_outputs", "classes", "feature", "threshold",
    "nan_left", "left", "right", "roots", "leaf_values", "leaf_base", "max_depth",
    "dyadic_leaves", "feature_names", "family",
}


def check_supported(ir: TreeEnsembleIR) -> None:
    """Raise :class:`ConversionError` for IR features the fast method does not handle."""
    hint = "; use method='loadable' or method='inline'"
    if ir.kind not in ("classifier", "regressor"):
        raise ConversionError(f"method='fast' does not support {ir.kind} ensembles yet{hint}")
    if getattr(ir, "n_raw", 0):
        raise ConversionError(
            "method='fast' does not support boosted ensembles (base score, per-tree output "
            f"columns, post-transforms) yet{hint}")
    cat = getattr(ir, "cat_offset", None)
    if cat is not None and np.any(np.asarray(cat) != 0):
        raise ConversionError(f"method='fast' does not support categorical splits yet{hint}")
    if getattr(ir, "missing_value", None) is not None:
        raise ConversionError(
            f"method='fast' does not support a missing-value marker other than NaN yet{hint}")
    if getattr(ir, "tree_weights", None) is not None:
        raise ConversionError(
            f"method='fast' does not support weighted-median ensembles yet{hint}")
    if getattr(ir, "post", "mean") != "mean":
        raise ConversionError(f"method='fast' does not support post={ir.post!r} yet{hint}")
    for f in dataclasses.fields(ir):
        if f.name in _KNOWN:
            continue
        value = getattr(ir, f.name)
        default = f.default if f.default is not dataclasses.MISSING else None
        if value is None or value is default:
            continue
        if isinstance(value, np.ndarray) or value != default:
            raise ConversionError(
                f"method='fast' does not support the tree IR field {f.name}={value!r} "
                f"yet{hint}")


# --- layout decisions (shared by the C writer, data_bytes and the cost estimate) ----------

def _scalar(ir: TreeEnsembleIR) -> bool:
    return ir.kind == "regressor" and ir.n_outputs == 1


def _single_tree_classifier(ir: TreeEnsembleIR) -> bool:
    return ir.kind == "classifier" and ir.n_trees == 1


def _votes(ir: TreeEnsembleIR) -> bool:
    """A forest of pure leaves only: the sums are vote counts (exact small integers), kept
    in integer registers (``a0..``) and converted to float only for probabilities."""
    return ir.kind == "classifier" and ir.n_trees > 1 and ir.leaf_values.shape[0] == 0


def _register_rows(ir: TreeEnsembleIR) -> bool:
    """Sums kept in float registers (``a0..``) with each row added by straight-line code
    from a dense table: forests with leaf rows, at most 16 outputs, dense rows smaller
    than sparse ones (rows with most classes present, as depth-limited forests have)."""
    return (not _scalar(ir) and not _single_tree_classifier(ir) and not _votes(ir)
            and ir.leaf_values.shape[0] > 0 and ir.n_outputs <= _UNROLL
            and rows(ir).start is None)


def used_features(ir: TreeEnsembleIR) -> np.ndarray:
    """Sorted features some decision node tests (the only ones whose NaN matters)."""
    return np.unique(np.asarray(ir.feature, dtype=np.int64))


@dataclasses.dataclass(frozen=True)
class Rows:
    """The leaf rows as stored: dense ``values[r * width ...]`` (``start`` None) or sparse
    (row r: ``values[start[r]:start[r+1]]`` at outputs ``index[...]``)."""

    values: np.ndarray  # float32
    start: np.ndarray | None
    index: np.ndarray | None

    @property
    def nbytes(self) -> int:
        if self.start is None:
            return 4 * self.values.size
        ib = 1 if self.index.size == 0 or self.index.max() <= 0xFF else 2
        packed, _ = self.packed()
        sb = {"uint8_t": 1, "uint16_t": 2}.get(_utype(int(packed.max(initial=0))), 4)
        return 4 * self.values.size + ib * self.index.size + sb * packed.size

    def packed(self) -> tuple[np.ndarray, int]:
        """Sparse rows: ``(start[r] << cb | count[r], cb)`` per row (one table read gives
        the row's first entry and its length)."""
        counts = np.diff(self.start)
        cb = max(int(counts.max(initial=1)).bit_length(), 1)
        return (self.start[:-1] << cb) | counts, cb


def rows(ir: TreeEnsembleIR) -> Rows:
    """The smaller of the dense and sparse row tables (same sums: the zeros are omitted)."""
    vals = np.asarray(ir.leaf_values, dtype=np.float32)
    dense = Rows(np.ascontiguousarray(vals).ravel(), None, None)
    if _scalar(ir) or vals.shape[0] == 0:
        return dense
    nz = vals != 0
    start = np.concatenate([[0], np.cumsum(nz.sum(axis=1))]).astype(np.int64)
    sparse = Rows(vals[nz], start, np.nonzero(nz)[1].astype(np.int64))
    if start[-1] > 0xFFFF or ir.n_outputs > 0xFFFF:
        return dense
    return sparse if sparse.nbytes < dense.nbytes else dense


def data_bytes(ir: TreeEnsembleIR) -> int:
    """Bytes of constant tables: leaf rows, and the leaf classes of a single tree."""
    if ir.leaf_values.shape[0] == 0:
        return 0
    extra = 0
    if _single_tree_classifier(ir):
        extra = ir.leaf_values.shape[0] * (1 if ir.n_outputs <= 256 else 2)
    return rows(ir).nbytes + extra


# --- C -------------------------------------------------------------------------------------

def _utype(top: int) -> str:
    return "uint8_t" if top <= 0xFF else "uint16_t" if top <= 0xFFFF else "uint32_t"


# --- NaN strategy -----------------------------------------------------------------------

_CHECK_BYTES = 6  # Thumb-2 bytes of the per-node NaN test (cmp.w + branch)
_SCAN_BYTES = 8  # Thumb-2 bytes per feature of the unrolled NaN pass (vldr + vadd)
_SCAN_FIXED = 100  # bytes of the NaN path: copies, dispatch
_LOOP_BYTES = 100  # bytes of the NaN pass as a loop unrolled by 8 or 16
_NODE_BYTES = 12  # about the bytes of one decision node


def nan_mode(ir: TreeEnsembleIR) -> str:
    """How NaN inputs are routed: ``"check"`` (each node tests its input for the NaN its
    integer compare would misroute: smallest for small trees) or ``"scan"`` (one pass over
    the used features; rows with NaN run the code on copies: smallest for forests)."""
    scan = min(_SCAN_BYTES * used_features(ir).size, _LOOP_BYTES) + _SCAN_FIXED
    return "check" if _CHECK_BYTES * ir.n_nodes <= scan else "scan"


def scan_unrolled(ir: TreeEnsembleIR) -> bool:
    """The NaN pass is straight-line code (2 instructions per used feature on Arm) when it
    is at most a fifth of the node code, else a loop over the used range unrolled by 8 or
    16 (about 2.2 instructions per feature)."""
    return 5 * _SCAN_BYTES * used_features(ir).size <= _NODE_BYTES * ir.n_nodes


# --- 8-bit keys ---------------------------------------------------------------------------

_KEY_MAX = 254  # largest compare immediate of a keyed node (Thumb's 16-bit cmp: 0..255)


def _depth_sum(ir: TreeEnsembleIR) -> float:
    """Sum over the trees of the mean depth of their leaves (decision nodes a row visits,
    about): what the key pass is weighed against."""
    total = 0.0
    for root in ir.roots:
        if root < 0:
            continue
        depths, todo = [], [(int(root), 1)]
        while todo:
            n, d = todo.pop()
            for c in (int(ir.left[n]), int(ir.right[n])):
                if c < 0:
                    depths.append(d)
                else:
                    todo.append((c, d + 1))
        total += float(np.mean(depths))
    return total


def keys(ir: TreeEnsembleIR) -> tuple[int, int] | None:
    """``(k, D)`` when the decision nodes compare 8-bit keys instead of float bits: every
    threshold t is a positive finite float32 whose bits T are multiples of ``2**k`` within
    ``255 * 2**k`` of each other (features on a small grid, e.g. pixel counts 0..16 with
    thresholds at halves). With ``C = min(T) - 2**k`` and ``D = C + 1`` a feature's key is
    ``floor((bits(x) - D) / 2**k)`` (negative when ``bits(x) < D``: negative x, NaN -> -NaN;
    every negative key goes left) and
    ``x > t  <=>  key > (T - C) / 2**k - 1`` exactly, for every float32 x (``bits(x) > T``
    is ``bits(x) - 1 - C >= T - C``, a multiple of ``2**k``). The compare takes an 8-bit
    immediate: no literal per node, 16-bit Thumb instructions. The keys of the used features
    are computed once per row (about 2.3 instructions each on Cortex-M4F): taken when the
    nodes a row visits are at least twice the features keyed, and only with the NaN pass
    (``nan_mode`` "scan"; NaN rows key their -NaN / +NaN copies)."""
    if nan_mode(ir) != "scan" or ir.n_nodes == 0:
        return None
    bits = np.asarray(ir.threshold, dtype=np.float32).view(np.uint32).astype(np.int64)
    bits[bits == 0x80000000] = 0
    if np.any(bits <= 0) or np.any(bits >= 0x7F800000):
        return None  # t <= 0, t < 0 (sign bit set) or inf: raw bit compares
    k = int(np.min([(int(b) & -int(b)).bit_length() - 1 for b in np.unique(bits)]))
    if not 1 <= k <= 30:
        return None
    c = int(bits.min()) - (1 << k)
    if (int(bits.max()) - c) >> k > _KEY_MAX + 1:
        return None
    used = used_features(ir)
    if _depth_sum(ir) < 2 * (int(used[-1]) - int(used[0]) + 1):
        return None
    return k, c + 1


_BANK = 32  # features per input pointer: Thumb's 16-bit load reaches offsets 0..124 only
_MAX_BANKS = 3


def banks(ir: TreeEnsembleIR) -> int:
    """Input pointers per NaN side: features ``32 * b ..`` are read through pointers
    ``xl<b>`` / ``xr<b>`` (``x + 32 * b``), passed as arguments of the out-of-line tree
    functions so that the compiler cannot fold them back into one base: every feature load
    is then a 16-bit instruction on Thumb (offset <= 124) instead of a 32-bit one. One
    bank when the trees are inlined (``nan_mode`` "check") or need more than 3 banks."""
    used = used_features(ir)
    if nan_mode(ir) == "check" or used.size == 0:
        return 1
    nb = int(used[-1]) // _BANK + 1
    return nb if nb <= _MAX_BANKS else 1


def _ptr_params(nb: int, ctype: str = "float") -> str:
    return ", ".join(f"const {ctype} *xl{b or ''}, const {ctype} *xr{b or ''}"
                     for b in range(nb))


def _ptr_args(lo: str, hi: str, nb: int) -> str:
    return ", ".join(f"{lo}, {hi}" if b == 0 else f"{lo} + {_BANK * b}, {hi} + {_BANK * b}"
                     for b in range(nb))


def _cond_right(ir: TreeEnsembleIR, n: int, base: str, check: bool, nb: int = 1,
                key: tuple[int, int] | None = None) -> str:
    """Statements ending in the C condition that sends node n's sample right: the integer
    compare of the bits ``v`` of the input (see the module docstring); with ``check`` also
    the NaN the compare would misroute (``+NaN`` compares above every threshold, ``-NaN``
    below: +NaN must not go right at a NaN-left node, -NaN must go right at a NaN-right one).
    With ``key`` (see :func:`keys`) the input is the feature's key and the compare an 8-bit
    immediate.
    """
    f = int(ir.feature[n])
    t = np.float32(ir.threshold[n])
    bits = int(np.asarray(t).view(np.uint32))
    bank = f // _BANK if nb > 1 else 0
    if bits == 0x80000000:  # x <= -0.0 is x <= +0.0
        bits = 0
    if key is not None:
        k, d = key
        note = f"/* {c_float(t)}{', NaN left' if ir.nan_left[n] else ''} */"
        return (f"v = {base}{bank or ''}[{f - _BANK * bank}]; {note}\n"
                f"    if (v > {((bits - d + 1) >> k) - 1})")
    cmp = (f"v > 0x{bits:08X}" if bits < 0x80000000  # t >= 0: signed compare
           else f"(uint32_t)v < 0x{bits:08X}u")  # t < 0: unsigned compare
    note = f"/* {c_float(t)}{', NaN left' if ir.nan_left[n] else ''} */"
    if check:
        cmp = (f"{cmp} && v <= 0x7F800000" if ir.nan_left[n]
               else f"({cmp} || (uint32_t)v > 0xFF800000u)")
    return (f"v = {{P}}__b({base}{bank or ''}, {f - _BANK * bank}); {note}\n"
            f"    if ({cmp})")


class _Writer:
    """Emits the goto code of all trees of one ensemble."""

    def __init__(self, ir: TreeEnsembleIR, P: str, leaf_return: bool) -> None:
        self.ir, self.P, self.leaf_return = ir, P, leaf_return
        self.check = nan_mode(ir) == "check"
        self.nb = banks(ir)
        self.key = keys(ir)
        self.regs = _register_rows(ir)
        self.lines: list[str] = []

    def _leaf_label(self, t: int, leaf: int, used: dict[int, str]) -> str:
        ir = self.ir
        if leaf not in used:
            used[leaf] = (f"t{t}_c{leaf}" if leaf < ir.leaf_base
                          else f"t{t}_r{leaf - ir.leaf_base}")
        return used[leaf]

    def _cond(self, n: int) -> str:
        base = "xl" if self.check or self.ir.nan_left[n] else "xr"
        return "    " + _cond_right(self.ir, n, base, self.check, self.nb, self.key).replace(
            "{P}", self.P)

    def tree(self, t: int, next_label: str, targets: set[str]) -> None:
        """Code of tree t; its leaves end with ``goto next_label`` (or a return)."""
        ir, P, out = self.ir, self.P, self.lines
        used: dict[int, str] = {}
        root = int(ir.roots[t])
        out.append(f"    /* tree {t} */")
        if root < 0:
            out.append(f"    goto {self._leaf_label(t, ~root, used)};")
        else:
            pending = [root]
            first = True
            while pending:
                n = pending.pop()
                if not first:
                    out.append(f"n{n}:")
                first = False
                while True:
                    cond = self._cond(n)
                    r, le = int(ir.right[n]), int(ir.left[n])
                    if r < 0:
                        out.append(f"{cond} goto {self._leaf_label(t, ~r, used)};")
                    else:
                        out.append(f"{cond} goto n{r};")
                        pending.append(r)
                    if le < 0:
                        out.append(f"    goto {self._leaf_label(t, ~le, used)};")
                        break
                    n = le
        rows_used = False
        for leaf in sorted(used):
            label = used[leaf]
            if self.leaf_return:
                out.append(f"{label}:\n    return {leaf}u;")
            elif leaf < ir.leaf_base:
                add = (f"a{leaf}++;" if _votes(ir) and ir.n_outputs <= _UNROLL
                       else f"votes[{leaf}]++;" if _votes(ir)
                       else f"a{leaf} += 1.0f;" if self.regs
                       else f"acc[{leaf}] += 1.0f;")
                out.append(f"{label}:\n    {add}\n    goto {next_label};")
                targets.add(next_label)
            else:
                r = leaf - ir.leaf_base
                lv = f"{self.P}__ROW({r}u)" if self.regs else f"{r}u"
                out.append(f"{label}:\n    l = {lv};\n    goto t{t}_row;")
                rows_used = True
        if rows_used:
            k = ir.n_outputs
            add = (f"s += ML_READ_F32(&{P}__rows[l]);" if _scalar(ir)
                   else f"row = {P}__rows + {P}__ROW_AT(l);\n" + "".join(
                       f"    a{i} += ML_READ_F32(&row[{i}]);\n" for i in range(k)).rstrip()
                   if self.regs else f"{P}__add_row(acc, l);")
            out.append(f"t{t}_row:\n    {add}\n    goto {next_label};")
            targets.add(next_label)


def _nan_asm(P: str, lo: int, hi: int, loop: bool) -> str:
    """Cortex-M4F / M7 body of ``P__has_nan``: features lo..hi-1 loaded 8 at a time (VLDM,
    one instruction) and summed into 8 lanes, then one unordered compare (NaN propagates
    through the sums; inf - inf also gives NaN: the exact NaN path). About 1.1
    instructions per feature against 2 for the C sums (1.4 as a loop, when the C pass
    would be a loop too: ``loop``)."""
    def regs(a: int, n: int) -> str:
        return f"{{s{a}}}" if n == 1 else f"{{s{a}-s{a + n - 1}}}"

    n = hi - lo
    first = min(n, 8)
    lines = [f"vldmia %[p]!, {regs(0, first)}"]
    rest = n - first
    if loop and rest >= 16:
        lines += [f"mov r12, #{rest // 8}", "1:", f"vldmia %[p]!, {regs(8, 8)}"]
        lines += [f"vadd.f32 s{i}, s{i}, s{8 + i}" for i in range(8)]
        lines += ["subs r12, r12, #1", "bne 1b"]
        rest %= 8
    while rest > 0:
        b = min(rest, 8)
        lines.append(f"vldmia %[p]!, {regs(8, b)}")
        lines += [f"vadd.f32 s{i}, s{i}, s{8 + i}" for i in range(b)]
        rest -= b
    lanes = list(range(first))
    while len(lanes) > 1:
        nxt = []
        for i in range(0, len(lanes), 2):
            if i + 1 < len(lanes):
                lines.append(f"vadd.f32 s{lanes[i]}, s{lanes[i]}, s{lanes[i + 1]}")
            nxt.append(lanes[i])
        lanes = nxt
    lines += ["vcmp.f32 s0, s0", "vmrs %[fl], fpscr"]
    text = "\n".join(f'        "{ln}\\n\\t"' for ln in lines)
    clob = ", ".join(['"r12"', '"cc"'] + [f'"s{i}"' for i in range(16 if n > 8 else first)])
    return (f"    const float *p = x + {lo};\n    uint32_t fl;\n"
            f"    __asm__(\n{text}\n"
            "        : [p] \"+r\"(p), [fl] \"=r\"(fl)\n        :\n"
            f"        : {clob}, \"memory\");\n"
            "    return (int)((fl >> 28) & 1u); /* V: unordered */\n")


def _has_nan(ir: TreeEnsembleIR, P: str) -> str:
    feats = [int(f) for f in used_features(ir)]
    head = (
        "/* 1 when x has a NaN in a feature the model tests (may also be 1 for rows with\n"
        " * infinities or huge values: they take the exact NaN path too). With an FPU, a\n"
        " * float sum of those features in 4 independent lanes (NaN propagates); soft-float\n"
        " * targets test the bits of each (NaN: |bits| > 0x7F800000 sets bit 31 of\n"
        " * |bits| + 0x7FFFFF). */\n"
        f"static inline int {P}__has_nan(const float *x)\n{{\n")
    # the assembly loads the whole used range: taken when it is dense enough to be shorter
    dense = 10 * (feats[-1] + 1 - feats[0]) <= 18 * len(feats)
    asm = (f"#if defined({P}__ASM)\n"
           + _nan_asm(P, feats[0], feats[-1] + 1, not scan_unrolled(ir)) + "#elif "
           if dense else "#if ")
    soft_term = "a{j} |= ((uint32_t){P}__b(x, {i}) & 0x7FFFFFFFu) + 0x007FFFFFu;"
    fpu_term = "s{j} += x[{i}];"
    if scan_unrolled(ir):
        lanes = min(4, len(feats))
        init = ", ".join(f"s{i} = x[{f}]" for i, f in enumerate(feats[:lanes]))
        fpu = "".join("    " + fpu_term.format(j=i % lanes, i=f) + "\n"
                      for i, f in enumerate(feats) if i >= lanes)
        soft = "".join("    " + soft_term.format(j=0, P=P, i=f) + "\n" for f in feats)
        total = " + ".join(f"s{i}" for i in range(1, lanes))
        fpu_end = f"    s0 += {total};\n" if lanes > 1 else ""
        return (head + asm + "defined(__SOFTFP__) || defined(__riscv_float_abi_soft)\n"
                f"    uint32_t a0 = 0u;\n{soft}    return (int)(a0 >> 31);\n"
                "#else\n"
                f"    float {init};\n{fpu}{fpu_end}    return s0 != s0;\n"
                "#endif\n}\n")
    # the used range widened (inside 0..n_features) to a multiple of the unroll where it can
    lo, hi = feats[0], feats[-1] + 1
    u = 16 if hi - lo >= 32 else 8
    while (hi - lo) % u and hi < ir.n_features:
        hi += 1
    while (hi - lo) % u and lo > 0:
        lo -= 1
    nu = lo + u * ((hi - lo) // u)
    sep = "\n        "
    soft_loop = sep.join(soft_term.format(j=j % 4, P=P, i=f"i + {j}") for j in range(u))
    fpu_loop = sep.join(fpu_term.format(j=j % 4, i=f"i + {j}") for j in range(u))
    soft_tail = "".join("    " + soft_term.format(j=0, P=P, i=i) + "\n" for i in range(nu, hi))
    fpu_tail = "".join("    " + fpu_term.format(j=0, i=i) + "\n" for i in range(nu, hi))
    loop = f"    for (int32_t i = {lo}; i < {nu}; i += {u}) {{\n        {{body}}\n    }}\n"
    return (head + asm + "defined(__SOFTFP__) || defined(__riscv_float_abi_soft)\n"
            "    uint32_t a0 = 0u, a1 = 0u, a2 = 0u, a3 = 0u;\n"
            + loop.replace("{body}", soft_loop) + soft_tail
            + "    return (int)((a0 | a1 | a2 | a3) >> 31);\n#else\n"
            "    float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;\n"
            + loop.replace("{body}", fpu_loop) + fpu_tail
            + "    s0 += s1 + s2 + s3;\n    return s0 != s0;\n#endif\n}\n")


def _row_tables(ir: TreeEnsembleIR, P: str) -> tuple[list[str], str]:
    """Row tables and the ``P__add_row`` kernel (or the scalar leaf table)."""
    if ir.leaf_values.shape[0] == 0:
        return [], ""
    tab = rows(ir)
    vals = [c_float(v) for v in tab.values]
    if _scalar(ir):
        return [c_array("float", f"{P}__rows", vals, 8)], ""
    k = ir.n_outputs
    parts = [c_array("float", f"{P}__rows", vals, 8)]
    if tab.start is None:
        body = (f"    const float *row = {P}__rows + (size_t)r * {k}u;\n"
                f"    for (uint32_t i = 0; i < {k}u; i++) {{\n"
                "        acc[i] += ML_READ_F32(&row[i]);\n    }\n")
    else:
        packed, cb = tab.packed()
        counts = np.diff(tab.start)
        st, it = _utype(int(packed.max(initial=0))), _utype(int(tab.index.max(initial=0)))
        parts.append(c_array(st, f"{P}__row_start", [str(int(v)) for v in packed], 16))
        parts.append(c_array(it, f"{P}__row_index", [str(int(v)) for v in tab.index], 16))
        mask = (1 << cb) - 1
        head = (f"    const uint32_t s = ML_READ_AS({st}, &{P}__row_start[r]);\n"
                f"    const {it} *ML_RESTRICT ip = {P}__row_index + (s >> {cb});\n"
                f"    const float *ML_RESTRICT vp = {P}__rows + (s >> {cb});\n")
        if counts.min(initial=1) >= 1:
            # every row has a nonzero: one test per entry, at the end of the loop
            loop = (f"    const {it} *const end = ip + (s & {mask}u);\n"
                    "    do {\n"
                    f"        acc[ML_READ_AS({it}, ip)] += ML_READ_F32(vp);\n"
                    "        ip++;\n        vp++;\n    } while (ip != end);\n")
        else:
            loop = (f"    const {it} *const end = ip + (s & {mask}u);\n"
                    "    for (; ip != end; ip++, vp++) {\n"
                    f"        acc[ML_READ_AS({it}, ip)] += ML_READ_F32(vp);\n    }}\n")
        if it == "uint8_t" and int(counts.max(initial=0)) <= _ASM_ROW_MAX:
            body = (f"#if defined({P}__ASM)\n"
                    f"    uint32_t s = ML_READ_AS({st}, &{P}__row_start[r]);\n"
                    f"    const uint8_t *ip = {P}__row_index;\n"
                    f"    const float *vp = {P}__rows;\n"
                    + _add_row_asm(int(counts.max(initial=0)), cb)
                    + "#else\n" + head + loop + "#endif\n")
            kernel = ("/* acc += leaf row r (rows are shared by all trees). Cortex-M4F / M7: "
                      "a jump (TBB) by the\n * row's length into straight-line adds, "
                      "no loop test. */\n"
                      f"#if defined({P}__ASM)\n{P}__OUTLINE void\n#else\nstatic inline void\n"
                      f"#endif\n{P}__add_row(float *ML_RESTRICT acc, uint32_t r)\n"
                      f"{{\n{body}}}\n")
            return parts, kernel
        body = head + loop
    kernel = (f"/* acc += leaf row r (rows are shared by all trees). */\n"
              f"static inline void {P}__add_row(float *ML_RESTRICT acc, uint32_t r)\n"
              f"{{\n{body}}}\n")
    return parts, kernel


_ASM_ROW_MAX = 16  # longest sparse row added by the Cortex-M4F assembly (TBB reach)


def _add_row_asm(longest: int, cb: int) -> str:
    """The row's first entry and length from ``s`` (``start << cb | count``), then the TBB
    dispatch into ``longest`` straight-line entry adds, last entry first: a row of n
    entries jumps to the block that adds entries n-1 .. 0 (each: index byte, value, acc
    address, load, add, store: 6 instructions). Entries of a row add to distinct outputs,
    so their order does not change any sum."""
    table = ", ".join(f"(.Lml%=c{n}-.Lml%=t)/2" for n in range(longest + 1))
    lines = ['        "lsr r12, %[s], #' + str(cb) + '\\n\\t"',
             '        "add %[ip], %[ip], r12\\n\\t"',
             '        "add %[vp], %[vp], r12, lsl #2\\n\\t"',
             '        "and %[s], %[s], #' + str((1 << cb) - 1) + '\\n\\t"',
             '        "tbb [pc, %[s]]\\n"', '        ".Lml%=t:\\n\\t"',
             f'        ".byte {table}\\n\\t"', '        ".align 1\\n"']
    for n in range(longest, 0, -1):
        e = n - 1
        lines.append(f'        ".Lml%=c{n}:\\n\\t"')
        lines.append(f'        "ldrb.w r12, [%[ip], #{e}]\\n\\t"'
                     f' "vldr s14, [%[vp], #{4 * e}]\\n\\t"')
        lines.append('        "add r12, %[acc], r12, lsl #2\\n\\t"'
                     ' "vldr s15, [r12]\\n\\t"')
        lines.append('        "vadd.f32 s15, s15, s14\\n\\t" "vstr s15, [r12]\\n\\t"')
    lines.append('        ".Lml%=c0:"')
    return ("    __asm__ volatile(\n" + "\n".join(lines) + "\n"
            "        : [s] \"+r\"(s), [ip] \"+r\"(ip), [vp] \"+r\"(vp)\n"
            "        : [acc] \"r\"(acc)\n"
            "        : \"r12\", \"s14\", \"s15\", \"memory\");\n")


def _prelude(P: str) -> str:
    outline = (
        "#if defined(__GNUC__) || defined(__clang__)\n"
        f"#define {P}__OUTLINE static __attribute__((noinline, unused))\n"
        "#else\n"
        f"#define {P}__OUTLINE static inline\n"
        "#endif\n\n")
    asm = (
        "/* Cortex-M4F / M7 with GCC: the NaN pass, the key pass and the row adds in assembly\n"
        " * (define ML_TREES_NO_ASM for the portable C; every path gives the same sums). */\n"
        "#if defined(__GNUC__) && !defined(__clang__) && defined(__arm__) && "
        "defined(__thumb2__) && \\\n"
        "    defined(__ARM_FEATURE_DSP) && defined(__ARM_FP) && (__ARM_FP & 4) && "
        "!defined(ML_TREES_NO_ASM)\n"
        f"#define {P}__ASM 1\n#endif\n\n")
    return (
        "/* Method \"fast\": trees as integer-compare goto code (docs/families/trees.md). */\n"
        + outline + asm
        + "/* The bits of x[i] as a signed integer (compiles to one integer load). */\n"
        f"static inline int32_t {P}__b(const float *x, int32_t i)\n{{\n"
        "    union {\n        float f;\n        int32_t i;\n    } v;\n"
        "    v.f = x[i];\n    return v.i;\n}\n"
    )


def _row_macros(P: str, k: int) -> str:
    """``P__ROW(r)``: what a leaf of row r stores in ``l``; ``P__ROW_AT(l)``: the row's
    offset in the table. On most targets the leaf stores the offset (one instruction less
    per row added: no multiply); on Armv6-M (Thumb-1) the id, whose small literals are
    shared (the offsets would cost about 2 bytes more per leaf)."""
    return ("#if defined(__ARM_ARCH_6M__)\n"
            f"#define {P}__ROW(r) (r)\n#define {P}__ROW_AT(l) ((size_t)(l) * {k}u)\n"
            "#else\n"
            f"#define {P}__ROW(r) ((uint32_t)(r) * {k}u)\n#define {P}__ROW_AT(l) (l)\n"
            "#endif\n")


def _nan_copies(P: str, n: int) -> str:
    """Copies of x with every NaN made -NaN (``lo``: compares below every threshold) and
    +NaN (``hi``: above every threshold), as bits (no float operation touches them)."""
    return (f"    union {{\n        float f[{n}];\n        int32_t i[{n}];\n    }} lo, hi;\n"
            f"    for (int32_t i = 0; i < {n}; i++) {{\n"
            f"        const int32_t b = {P}__b(x, i);\n"
            "        const int nan = (b & 0x7FFFFFFF) > 0x7F800000;\n"
            "        lo.i[i] = nan ? -4194304 /* 0xFFC00000 */ : b;\n"
            "        hi.i[i] = nan ? 0x7FC00000 : b;\n"
            "    }\n")


_CHUNK_NODES = 2000  # decision nodes per C function at most (compile time grows faster)


def _chunks(ir: TreeEnsembleIR) -> list[range]:
    """Consecutive groups of trees with at most _CHUNK_NODES decision nodes each (a larger
    tree is a group of its own): one C function per group."""
    starts = [int(r) for r in ir.roots]
    sizes = []
    for t, r in enumerate(starts):
        nxt = [x for x in starts[t + 1:] if x >= 0]
        sizes.append(0 if r < 0 else (nxt[0] if nxt else ir.n_nodes) - r)
    out, first, total = [], 0, 0
    for t, n in enumerate(sizes):
        if t > first and total + n > _CHUNK_NODES:
            out.append(range(first, t))
            first, total = t, 0
        total += n
    out.append(range(first, ir.n_trees))
    return out


def _state(ir: TreeEnsembleIR) -> tuple[str, str, str, str, str]:
    """(return type, extra parameter, extra argument, description, kind) of the trees'
    functions; kind: "leaf", "scalar", "votes", "regs" or "mem"."""
    if _single_tree_classifier(ir):
        return "uint32_t", "", "", "The leaf id the row reaches", "leaf"
    if _scalar(ir):
        return ("float", "", "", "Sum over the trees of the leaf values (in tree order, "
                "from 0)", "scalar")
    if _votes(ir):
        return ("void", ", int32_t *ML_RESTRICT votes", ", votes",
                "Votes of the trees (pure leaves: a vote for one class each)", "votes")
    if _register_rows(ir):
        return ("void", ", float *ML_RESTRICT acc", ", acc", "Sum over the trees of the "
                "leaf rows (in tree order, from 0, in registers)", "regs")
    return ("void", ", float *ML_RESTRICT acc", ", acc",
            "Sum over the trees of the leaf rows (in tree order, from 0)", "mem")


def _trees_function(ir: TreeEnsembleIR, P: str, check: bool) -> tuple[str, str, str, str]:
    """The goto code of all trees as ``P__trees(xl, xr[, acc])`` (one function, or one per
    group of trees and a wrapper calling them in order); returns (definitions, return
    type, extra parameter, extra argument)."""
    ret, param, arg, what, kind = _state(ir)
    k = ir.n_outputs
    nb = banks(ir)
    ptrs = _ptr_params(nb, "int32_t" if keys(ir) else "float")
    pargs = ", ".join(f"xl{b or ''}, xr{b or ''}" for b in range(nb))  # passed through
    voids = "".join(f"    (void)xl{b or ''};\n    (void)xr{b or ''};\n" for b in range(nb))
    chunks = _chunks(ir)
    many = len(chunks) > 1
    reads = ("nodes test x = xl (xr is xl) for the NaN their compare would misroute" if check
             else "tests read xl where NaN goes left, xr where it goes right")
    regs = kind in ("regs", "votes") and k <= _UNROLL
    store = "votes" if kind == "votes" else "acc"
    zero = "0" if kind == "votes" else "0.0f"
    ctype = "int32_t" if kind == "votes" else "float"
    codes = []
    for c, trees in enumerate(chunks):
        w = _Writer(ir, P, leaf_return=kind == "leaf")
        targets: set[str] = set()
        for t in trees:
            nxt = f"t{t + 1}" if t + 1 < trees.stop else "done"
            if t > trees.start and f"t{t}" in targets:
                w.lines.append(f"t{t}:")
            w.tree(t, nxt, targets)
        if "done" in targets:
            w.lines.append("done:")
        head, tail = "", ""
        if kind == "scalar":
            head = "" if many else "    float s = 0.0f;\n"
            tail = "    return s;\n"
        elif regs:
            init = (lambda i: f"{store}[{i}]") if many else (lambda i: zero)
            head = f"    {ctype} " + ", ".join(f"a{i} = {init(i)}" for i in range(k)) + ";\n"
            tail = "".join(f"    {store}[{i}] = a{i};\n" for i in range(k))
        elif kind in ("votes", "mem"):
            if not many:
                head = _clear(store, k, zero)
            tail = "    return;\n"
        if kind == "regs":
            head += "    const float *row;\n"
        if ir.leaf_values.shape[0] and kind != "leaf":
            head += "    uint32_t l = 0u;\n"
        if any(int(ir.roots[t]) >= 0 for t in trees):
            head += "    int32_t v;\n"
        name = f"{P}__trees{c}" if many else f"{P}__trees"
        cparam = ", float s" if many and kind == "scalar" else param
        qual = "static inline" if check and not many else f"{P}__OUTLINE"
        note = f" (trees {trees.start}..{trees.stop - 1})" if many else ""
        codes.append(
            f"/* {what}{note}: {reads}. */\n"
            f"{qual} {ret} {name}({ptrs}{cparam})\n{{\n"
            + head + voids + "\n".join(w.lines) + "\n"
            + tail + "}\n")
    if many:
        if kind == "scalar":
            body = ("    float s = 0.0f;\n"
                    + "".join(f"    s = {P}__trees{c}({pargs}, s);\n"
                              for c in range(len(chunks))) + "    return s;\n")
        else:
            body = (_clear(store, k, zero)
                    + "".join(f"    {P}__trees{c}({pargs}{arg});\n"
                              for c in range(len(chunks))))
        codes.append(f"/* {what}: the groups of trees in order. */\n"
                     f"static inline {ret} {P}__trees({ptrs}{param})"
                     f"\n{{\n{body}}}\n")
    return "\n".join(codes), ret, param, arg


_KEYS_UNROLL = 64  # the key pass is straight-line code up to this many features


def _keys_code(ir: TreeEnsembleIR, P: str, key: tuple[int, int]) -> str:
    """``P__key(bits)`` and ``P__keys(x, y)``: the keys of the used range (see :func:`keys`;
    Cortex-M4F / M7: a naked assembly loop, 8 features per LDM / 8 QSUB / 8 ASR / STM)."""
    k, d = key
    used = used_features(ir)
    lo, hi = int(used[0]), int(used[-1]) + 1
    n = hi - lo
    groups, tail = divmod(n, 8)

    def block(m: int) -> list[str]:
        regs = [f"r{2 + i}" for i in range(m)]
        rl = f"{{{regs[0]}}}" if m == 1 else f"{{{regs[0]}-{regs[-1]}}}"
        return ([f"ldmia r0!, {rl}"] + [f"qsub {r}, {r}, r12" for r in regs]
                + [f"asr {r}, {r}, #{k}" for r in regs] + [f"stmia r1!, {rl}"])

    body = [f"movw r12, #{d & 0xFFFF}", f"movt r12, #{d >> 16}"]
    if groups and n <= _KEYS_UNROLL:
        for _ in range(groups):
            body += block(8)
        groups = 0
    elif groups:
        body += [f"movw r10, #{groups}", "1:"] + block(8) + ["subs r10, r10, #1", "bne 1b"]
    if tail:
        body += block(tail)
    saved = sorted({i for i in range(4, 10) if i < 2 + (8 if n >= 8 else tail)}
                   | ({10} if groups else set()))
    if saved:
        rs = f"r{saved[0]}" if len(saved) == 1 else f"r{saved[0]}-r{saved[-1]}"
        body = [f"push {{{rs}}}"] + body + [f"pop {{{rs}}}"]
    body.append("bx lr")
    text = "\n".join(f'        "{ln}\\n\\t"' for ln in body)
    return (
        f"/* Key of the float bits b of a feature: thresholds become 8-bit compares (see\n"
        f" * keys() in c_fast.py): floor((b - {d}) / 2^{k}), negative (goes left at every\n"
        " * node) for every b below; b | (b >> 31) is -1 for every negative b, so the\n"
        " * subtraction cannot wrap (arithmetic shifts, as every supported compiler). */\n"
        f"static inline int32_t {P}__key(int32_t b)\n{{\n"
        f"    return ((b | (b >> 31)) - {d}) >> {k};\n}}\n\n"
        f"#if defined({P}__ASM)\n"
        f"/* The keys of features x[0..{n}) into y: (b - D) saturated (QSUB), then >> k;\n"
        f" * the same as {P}__key for b >= D, negative below: the same compares. */\n"
        + f"static __attribute__((naked, noinline, unused)) void\n{P}__keys_asm("
        "const float *x __attribute__((unused)), int32_t *y __attribute__((unused)))\n{\n"
        f"    __asm__(\n{text}\n        );\n}}\n#endif\n\n"
        f"/* y[i] = key of x[i] for the features the model tests ({lo}..{hi - 1}). */\n"
        f"static inline void {P}__keys(const float *x, int32_t *y)\n{{\n"
        f"#if defined({P}__ASM)\n    {P}__keys_asm(x + {lo}, y + {lo});\n#else\n"
        f"    for (int32_t i = {lo}; i < {hi}; i++) {{\n"
        f"        y[i] = {P}__key({P}__b(x, i));\n    }}\n#endif\n}}\n\n")


def _entry(ir: TreeEnsembleIR, P: str, check: bool, name: str, ret: str, param: str,
           arg: str) -> str:
    """``P__<name>(x[, acc])``: the trees on x, through the NaN path when needed."""
    n = ir.n_features
    sig = f"{ret} {P}__{name}(const float *x{param})"
    rtn = "" if ret == "void" else "return "
    if check:
        return f"static inline {sig}\n{{\n    {rtn}{P}__trees(x, x{arg});\n}}\n"
    nb = banks(ir)
    key = keys(ir)
    if key is not None:
        used = used_features(ir)
        lo, hi = int(used[0]), int(used[-1]) + 1
        return (
            _keys_code(ir, P, key)
            + "/* Rows with NaN: the trees on the keys of copies with NaN -> -NaN (read where\n"
            " * NaN goes left) and NaN -> +NaN (read where it goes right). */\n"
            f"{P}__OUTLINE {ret} {P}__trees_nan(const float *x{param})\n{{\n"
            f"    int32_t lo[{n}], hi[{n}];\n"
            f"    for (int32_t i = {lo}; i < {hi}; i++) {{\n"
            f"        const int32_t b = {P}__b(x, i);\n"
            "        const int nan = (b & 0x7FFFFFFF) > 0x7F800000;\n"
            f"        lo[i] = {P}__key(nan ? -4194304 /* 0xFFC00000 */ : b);\n"
            f"        hi[i] = {P}__key(nan ? 0x7FC00000 : b);\n    }}\n"
            f"    {rtn}{P}__trees({_ptr_args('lo', 'hi', nb)}{arg});\n}}\n\n"
            f"/* Rows without NaN: the trees on the keys of x. */\n"
            f"{P}__OUTLINE {ret} {P}__trees_keyed(const float *x{param})\n{{\n"
            f"    int32_t y[{n}];\n    {P}__keys(x, y);\n"
            f"    {rtn}{P}__trees({_ptr_args('y', 'y', nb)}{arg});\n}}\n\n"
            f"static inline {sig}\n{{\n"
            f"    if (ML_UNLIKELY({P}__has_nan(x))) {{\n        {rtn}{P}__trees_nan(x{arg});\n"
            + ("        return;\n" if ret == "void" else "")
            + f"    }}\n    {rtn}{P}__trees_keyed(x{arg});\n}}\n")
    return (
        "/* Rows with NaN: the trees on copies with NaN -> -NaN (read where NaN goes left)\n"
        " * and NaN -> +NaN (read where it goes right). */\n"
        f"{P}__OUTLINE {ret} {P}__trees_nan(const float *x{param})\n{{\n"
        + _nan_copies(P, n) + f"    {rtn}{P}__trees({_ptr_args('lo.f', 'hi.f', nb)}{arg});\n"
        "}\n\n"
        f"static inline {sig}\n{{\n"
        f"    if (ML_UNLIKELY({P}__has_nan(x))) {{\n        {rtn}{P}__trees_nan(x{arg});\n"
        + ("        return;\n" if ret == "void" else "")
        + f"    }}\n    {rtn}{P}__trees({_ptr_args('x', 'x', nb)}{arg});\n}}\n")


def c_code(ir: TreeEnsembleIR, P: str) -> CCode:
    """Tables and kernels of ``ir`` with prefix ``P`` (see ``microlearn/family.py``)."""
    check_supported(ir)
    check = nan_mode(ir) == "check"
    k = ir.n_outputs
    parts = [_prelude(P)]
    if not check:
        parts.append(_has_nan(ir, P))
    tables, add_row = _row_tables(ir, P)
    parts += tables
    if add_row:
        parts.append(add_row)
    inv = c_float(reciprocal_f32(ir.n_trees))
    has_rows = ir.leaf_values.shape[0] > 0
    if _register_rows(ir):
        parts.append(_row_macros(P, k))
    trees, ret, param, arg = _trees_function(ir, P, check)
    parts.append(trees)

    if _single_tree_classifier(ir):
        parts.append(_entry(ir, P, check, "leaf", ret, param, arg))
        if has_rows:
            rc = np.argmax(np.asarray(ir.leaf_values, dtype=np.float32), axis=1)
            parts.append(c_array(_utype(k - 1), f"{P}__row_class",
                                 [str(int(c)) for c in rc], 16))
            cls = (f"    const uint32_t id = {P}__leaf(x);\n"
                   f"    return id < {ir.leaf_base}u ? (int32_t)id : "
                   f"(int32_t)ML_READ_AS({_utype(k - 1)}, "
                   f"&{P}__row_class[id - {ir.leaf_base}u]);\n")
            proba_add = (f"    if (id < {ir.leaf_base}u) {{\n        out[id] = 1.0f;\n    }} "
                         f"else {{\n        {P}__add_row(out, id - {ir.leaf_base}u);\n    }}\n")
        else:
            cls = f"    return (int32_t){P}__leaf(x);\n"
            proba_add = "    out[id] = 1.0f;\n"
        parts.append(
            "/* Class probabilities: the leaf's row (scikit-learn's predict_proba). */\n"
            f"static inline void {P}__predict_proba(const float *x, float *ML_RESTRICT out)\n"
            f"{{\n    const uint32_t id = {P}__leaf(x);\n"
            + _clear("out", k) + proba_add + "}\n\n"
            "/* Class index: the class of the leaf reached (first maximum of its row). */\n"
            f"static inline int32_t {P}__predict(const float *x)\n{{\n{cls}}}\n")
        return CCode(runtime=(), body="\n".join(parts))

    if _scalar(ir):
        parts.append(_entry(ir, P, check, "sum1", ret, param, arg))
        scale = f" * {inv}" if ir.n_trees > 1 else ""
        parts.append(
            "/* Regression output: the mean over trees, like scikit-learn. */\n"
            f"static inline void {P}__regress(const float *x, float *ML_RESTRICT out)\n{{\n"
            f"    out[0] = {P}__sum1(x){scale};\n}}\n")
        return CCode(runtime=(), body="\n".join(parts))

    if _votes(ir):
        # vote counts are exact in float32: (float)votes * 1/T is the float32 sum of the
        # one-hot rows times 1/T, bit for bit
        parts.append("/* Votes per class for one sample: x -> votes[" + str(k) + "]. */\n"
                     + _entry(ir, P, check, "votes", ret, param, arg))
        parts.append(
            "/* Class probabilities: the mean of the trees' one-hot rows (votes / T), like\n"
            " * scikit-learn's predict_proba. */\n"
            f"static inline void {P}__predict_proba(const float *x, float *ML_RESTRICT out)\n"
            f"{{\n    int32_t v[{k}];\n    {P}__votes(x, v);\n"
            f"    for (int32_t i = 0; i < {k}; i++) {{\n"
            f"        out[i] = (float)v[i] * {inv};\n    }}\n}}\n\n"
            "/* Class index: the first class with the most votes (first maximum of the sum\n"
            " * over trees). */\n"
            f"static inline int32_t {P}__predict(const float *x)\n{{\n"
            f"    int32_t v[{k}];\n    int32_t best = 0;\n    {P}__votes(x, v);\n"
            f"    for (int32_t i = 1; i < {k}; i++) {{\n"
            "        if (v[i] > v[best]) {\n            best = i;\n        }\n    }\n"
            "    return best;\n}\n")
        return CCode(runtime=(), body="\n".join(parts))
    parts.append("/* Sum of the trees' leaf rows for one sample: x -> acc[" + str(k) + "]. */\n"
                 + _entry(ir, P, check, "sum", ret, param, arg))
    parts.append(
        "/* Mean of the trees' leaf rows for one sample. */\n"
        f"static inline void {P}__run(const float *x, float *ML_RESTRICT out)\n{{\n"
        f"    {P}__sum(x, out);\n" + _scale("out", k, inv, ir.n_trees) + "}\n")
    if ir.kind == "classifier":
        if k <= _UNROLL:
            parts.append(c_argmax(f"{P}__argmax", k))
            argmax = f"{P}__argmax(sum)"
        else:
            argmax = f"ml_argmax_f32(sum, {k})"
        parts.append(
            "/* Class probabilities: the mean of the trees' rows, like scikit-learn's\n"
            " * predict_proba. NaN follows scikit-learn's missing-value routing. */\n"
            f"static inline void {P}__predict_proba(const float *x, float *ML_RESTRICT out)\n"
            f"{{\n    {P}__run(x, out);\n}}\n\n"
            "/* Class index: the first class of highest probability (first maximum of the\n"
            " * sum over trees; the mean has the same order). */\n"
            f"static inline int32_t {P}__predict(const float *x)\n{{\n"
            f"    float sum[{k}];\n    {P}__sum(x, sum);\n    return {argmax};\n}}\n")
    else:
        parts.append(
            "/* Regression outputs: the mean over trees, like scikit-learn. */\n"
            f"static inline void {P}__regress(const float *x, float *ML_RESTRICT out)\n"
            f"{{\n    {P}__run(x, out);\n}}\n")
    return CCode(runtime=(), body="\n".join(parts))


def _clear(name: str, k: int, zero: str = "0.0f") -> str:
    if k <= _UNROLL:
        return "".join(f"    {name}[{i}] = {zero};\n" for i in range(k))
    if zero != "0.0f":
        return (f"    for (int32_t i = 0; i < {k}; i++) {{\n"
                f"        {name}[i] = {zero};\n    }}\n")
    return f"    ml_fill_f32({name}, {k}, 0.0f);\n"


def _scale(name: str, k: int, inv: str, n_trees: int) -> str:
    if n_trees == 1:
        return ""
    if k <= _UNROLL:
        return "".join(f"    {name}[{i}] *= {inv};\n" for i in range(k))
    return f"    ml_scale_f32({name}, {k}, {inv});\n"
