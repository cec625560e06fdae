"""Static memory plan of a :class:`~.ir.NetIR`: every activation tensor gets an offset in
one arena whose size is known at conversion (no allocation at run time).

Steps:

1. ``reshape`` ops are removed: a reshape of a C-order buffer is the same buffer, so its
   output *aliases* its input (same location, lifetime extended).
2. Lifetimes: a buffer lives from the op that writes it to the last op that reads it (or
   any alias of it); the graph output lives to the end.
3. In place: an element-wise op (``activation``, ``add``, ``mul``, ``scale_shift``,
   ``softmax``) writes over its first input (or, for ``add`` / ``mul``, its second) when
   that input dies at this op, is not the model input and has the same size: the two
   buffers merge into one.
4. Offsets: buffers sorted by size (largest first; ties by first use) are placed greedily
   at the lowest offset that does not overlap any already placed buffer whose lifetime
   intersects (TFLite Micro's greedy planner does the same). Two buffers an op reads and
   writes always have intersecting lifetimes, so no kernel (except the in-place ones)
   sees its output overlap an input.

The model input is never written (location :data:`INPUT`); the graph output is always in
the arena (a converter appends a copy when the output would alias the input).
The planner works in *units* (floats for the float32 graph; the int8 path may plan in
bytes with ``size_of`` and ``align``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .ir import NetIR, Op, Tensor

#: location of the model input (read-only, the caller's buffer)
INPUT = -1
#: ops that may write their output over an input of the same size
IN_PLACE = ("activation", "add", "mul", "scale_shift", "softmax")


@dataclass
class Plan:
    """Where every activation tensor lives.

    Attributes
    ----------
    ops : list of Op
        The ops to run, in order (reshapes removed).
    offset : dict of str -> int
        Tensor name -> offset in the arena (units), or :data:`INPUT`.
    arena : int
        Units of arena the ops need (>= 1).
    naive : int
        Units if every tensor had its own buffer (for reports).
    in_place : int
        Ops that write over their input.
    lifetimes : dict of str -> (int, int)
        Buffer (root tensor) -> first and last op index using it.
    """

    ops: list[Op]
    offset: dict[str, int]
    arena: int
    naive: int
    in_place: int
    lifetimes: dict[str, tuple[int, int]] = field(default_factory=dict)

    def where(self, name: str) -> int:
        """Offset of tensor ``name`` (:data:`INPUT` for the model input)."""
        return self.offset[name]


def _root(alias: dict[str, str], name: str) -> str:
    while name in alias:
        name = alias[name]
    return name


def plan(ir: NetIR, size_of: Callable[[Tensor], int] | None = None,
         align: int = 1) -> Plan:
    """The memory plan of ``ir`` (see the module docstring).

    Parameters
    ----------
    ir : NetIR
    size_of : callable (Tensor) -> int, optional
        Units a tensor occupies (default: its element count).
    align : int
        Every offset is a multiple of it.

    Returns
    -------
    Plan
    """
    size_of = size_of or (lambda t: t.size)
    tensors = ir.tensors

    def is_act(name: str) -> bool:
        return tensors[name].data is None

    alias: dict[str, str] = {}
    ops: list[Op] = []
    for op in ir.ops:
        if op.kind == "reshape":
            alias[op.outputs[0]] = _root(alias, op.inputs[0])
        else:
            ops.append(op)
    if _root(alias, ir.output) == _root(alias, ir.input):
        raise ValueError("the graph output is the input: append a copy (activation linear)")

    def size(root: str) -> int:
        s = size_of(tensors[root])
        return -(-s // align) * align

    first: dict[str, int] = {}
    last: dict[str, int] = {}
    group: dict[str, str] = {}  # buffer root -> merged buffer
    in_place = 0

    def buf(name: str) -> str:
        r = _root(alias, name)
        while r in group:
            r = group[r]
        return r

    end = len(ops)
    # last use of every root tensor (before merging)
    use: dict[str, int] = {}
    for i, op in enumerate(ops):
        for name in op.inputs:
            if is_act(name):
                use[_root(alias, name)] = i
    use[_root(alias, ir.output)] = end
    inp = _root(alias, ir.input)
    for i, op in enumerate(ops):
        out = _root(alias, op.outputs[0])
        first[out] = i
        if op.kind in IN_PLACE:
            acts = [n for n in op.inputs if is_act(n)]
            cands = acts[:2] if op.kind in ("add", "mul") else acts[:1]
            for name in cands:
                r = _root(alias, name)
                b = buf(name)
                # (an add / mul's broadcast second input is smaller than the output: never)
                if (r != inp and b != inp and use.get(r, -1) == i and size(b) >= size(out)
                        and acts.count(name) == 1
                        and tensors[name].size == tensors[op.outputs[0]].size):
                    group[out] = b
                    in_place += 1
                    break
    # lifetimes of merged buffers
    for i, op in enumerate(ops):
        for name in (*op.inputs, *op.outputs):
            if not is_act(name):
                continue
            b = buf(name)
            if b == inp:
                continue
            first[b] = min(first.get(b, i), i)
            last[b] = max(last.get(b, i), i)
    out_b = buf(ir.output)
    last[out_b] = end
    bufs = sorted(last, key=lambda b: (-size(b), first[b], b))
    placed: list[tuple[int, int, int, int]] = []  # offset, size, first, last
    offset_of: dict[str, int] = {}
    for b in bufs:
        s, f, lst = size(b), first[b], last[b]
        busy = sorted((o, o + n) for o, n, pf, pl in placed if pf <= lst and f <= pl)
        pos = 0
        for lo, hi in busy:
            if pos + s <= lo:
                break
            pos = max(pos, hi)
        pos = -(-pos // align) * align
        offset_of[b] = pos
        placed.append((pos, s, f, lst))
    offset: dict[str, int] = {}
    for name, t in tensors.items():
        if t.data is not None:
            continue
        b = buf(name)
        if b == inp:
            offset[name] = INPUT
        elif b in offset_of:
            offset[name] = offset_of[b]
    arena = max((o + n for o, n, _, _ in placed), default=0)
    roots = {_root(alias, n) for n, t in tensors.items() if t.data is None} - {inp}
    naive = sum(size(r) for r in roots)
    return Plan(ops=ops, offset=offset, arena=max(arena, 1), naive=naive, in_place=in_place,
                lifetimes={b: (first[b], last[b]) for b in last})
