"""IR -> C: weight tables, the op table and kernels calling ``ml_nets.h`` in order."""

from __future__ import annotations

from ...codegen import c_array, c_comment, c_float, c_floats
from ...family import CCode
from .ir import NetIR
from .lower import FIELDS, KERNELS, Record, records

#: bytes of one ml_nets_op_t on a 32-bit target (21 int32 / float fields + 2 pointers)
OP_BYTES = 92


def data_bytes(ir: NetIR) -> int:
    """Bytes of constant tables: weights, op table and the model struct."""
    recs = records(ir)
    n = sum((r.w.size if r.w is not None else 0) + (r.b.size if r.b is not None else 0)
            for r in recs)
    return 4 * n + OP_BYTES * len(recs) + 40


def _op_init(r: Record, w: str, b: str) -> str:
    f = r.fields
    ints = ", ".join(str(int(f[k])) for k in FIELDS)
    return (f"    {{{r.code}, {r.act}, {c_float(r.alpha)}, {ints},\n"
            f"     {w}, {b}}}, /* {c_comment(r.name)}: {r.kind} */")


def _ptr(arena_off: int) -> str:
    return "x" if arena_off < 0 else f"a + {arena_off}"


def c_code(ir: NetIR, P: str) -> CCode:
    """Tables and kernels of ``ir`` with prefix ``P`` (see ``microlearn/family.py``)."""
    recs = records(ir)
    plan = ir.plan
    parts = [f"/* {P}: {c_comment(ir.source)}, {len(recs)} ops; arena {plan.arena} floats "
             f"({4 * plan.arena} bytes, planned; {plan.naive} floats unplanned) */\n"]
    inits = []
    for i, r in enumerate(recs):
        w = b = "NULL"
        if r.w is not None:
            w = f"{P}__w{i}"
            parts.append(c_array("float", w, c_floats(r.w)))
        if r.b is not None:
            b = f"{P}__b{i}"
            parts.append(c_array("float", b, c_floats(r.b)))
        inits.append(_op_init(r, w, b))
    parts.append(f"static const ml_nets_op_t {P}__ops[{len(recs)}] = {{\n"
                 + "\n".join(inits) + "\n};\n")
    task = "ML_TASK_CLASSIFIER" if ir.kind == "classifier" else "ML_TASK_REGRESSOR"
    n_out = ir.n_classes if ir.kind == "classifier" else ir.n_outputs
    out_off = plan.where(ir.output)
    parts.append(
        f"static const ml_nets_t {P}__model = {{\n"
        f"    {task}, {ir.n_features}, {n_out}, {ir.n_outputs}, {len(recs)}, {plan.arena}, "
        f"{out_off},\n    {P}__ops, NULL, NULL\n}};\n")
    calls = []
    for i, r in enumerate(recs):
        f = r.fields
        kern = f"ml_nets_{KERNELS[r.kind]}"
        if r.kind in ("add", "mul", "concat"):
            args = f"{_ptr(f['in0'])}, {_ptr(f['in1'])}, a + {f['out']}"
        else:
            args = f"{_ptr(f['in0'])}, a + {f['out']}"
        calls.append(f"    {kern}(&{P}__ops[{i}], {args});")
    parts.append(
        f"/* The whole network, op by op, with the planned arena a[{plan.arena}]. */\n"
        f"static inline void {P}__forward(const float *x, float *a)\n{{\n"
        + "\n".join(calls) + "\n}\n")
    arena = f"    float a[{plan.arena}];\n    {P}__forward(x, a);\n"
    if ir.kind == "classifier":
        parts.append(f"static inline int32_t {P}__predict(const float *x)\n{{\n{arena}"
                     f"    return ml_nets_decide(&{P}__model, a + {out_off});\n}}\n")
        parts.append(f"static inline void {P}__predict_proba(const float *x, float *out)\n"
                     f"{{\n{arena}    ml_nets_outputs(&{P}__model, a + {out_off}, out);\n}}\n")
    else:
        parts.append(f"static inline void {P}__regress(const float *x, float *out)\n"
                     f"{{\n{arena}    ml_nets_outputs(&{P}__model, a + {out_off}, out);\n}}\n")
    return CCode(runtime=("ml_nets.h",), body="".join(parts), libm=False)
