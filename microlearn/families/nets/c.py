"""IR -> C: weight tables, the op table and kernels calling ``ml_nets.h`` in order.

Tables, the op table and the model struct are ``ML_CONST`` (program memory on AVR, plain
``const`` elsewhere): the kernels read weights with ``ML_NETS_W``, and each op / the model
struct is passed through an ``ML_FLASH_STRUCT`` local (a stack copy on AVR, the table entry
itself elsewhere: the same code as ``&table[i]``)."""

from __future__ import annotations

import numpy as np

from ...codegen import c_array, c_comment, c_float, c_floats
from ...family import CCode
from ...progmem import const_tables
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


#: the largest convolution window (kh * kw * ic floats) run by ml_nets_conv2d_blocked
WINDOW_MAX = 64


def blocked_kernel(r: Record) -> str | None:
    """The kernel that runs ``r`` with blocked weights (:func:`blocked_weights`), or None:
    ``ml_nets_dense_blocked`` for a dense layer or a pointwise convolution (1x1 kernel,
    stride 1, no padding), ``ml_nets_conv2d_blocked`` for another convolution whose window
    has at most :data:`WINDOW_MAX` floats, ``ml_nets_conv2d_wide`` for a larger window
    with stride-1 columns (no dilation across columns)."""
    f = r.fields
    if r.kind == "dense" or (
            r.kind == "conv2d" and f["kh"] == 1 and f["kw"] == 1 and f["sh"] == 1
            and f["sw"] == 1 and f["pt"] == 0 and f["pl"] == 0 and f["oh"] == f["ih"]
            and f["ow"] == f["iw"]):
        return "ml_nets_dense_blocked"
    if r.kind == "conv2d" and f["kh"] * f["kw"] * f["ic"] <= WINDOW_MAX:
        return "ml_nets_conv2d_blocked"
    if r.kind == "conv2d" and f["dw"] == 1:
        return "ml_nets_conv2d_wide"
    return None


def blocked_weights(w: np.ndarray, n_out: int) -> np.ndarray:
    """Weights ``w[o][i]`` in ``ml_nets_dense_blocked``'s layout.

    Parameters
    ----------
    w : ndarray
        ``n_out`` rows of weights (any shape whose size is a multiple of ``n_out``).
    n_out : int
        Outputs of the layer.

    Returns
    -------
    ndarray
        Flat: the outputs in blocks of 8 stored input by input (``[i][8]``), then one block
        of 4 (``[i][4]``) when 4 or more outputs remain, then the rest row by row.
    """
    w2 = np.asarray(w).reshape(n_out, -1)
    parts = []
    o = 0
    while o + 8 <= n_out:
        parts.append(w2[o:o + 8].T.ravel())
        o += 8
    if o + 4 <= n_out:
        parts.append(w2[o:o + 4].T.ravel())
        o += 4
    parts.append(w2[o:].ravel())
    return np.concatenate(parts)


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
            wv = blocked_weights(r.w, r.fields["oc"]) if blocked_kernel(r) else r.w
            parts.append(const_tables(c_array("float", w, c_floats(wv))))
        if r.b is not None:
            b = f"{P}__b{i}"
            parts.append(const_tables(c_array("float", b, c_floats(r.b))))
        inits.append(_op_init(r, w, b))
    parts.append(f"static ML_CONST ml_nets_op_t {P}__ops[{len(recs)}] = {{\n"
                 + "\n".join(inits) + "\n};\n")
    task = "ML_TASK_CLASSIFIER" if ir.kind == "classifier" else "ML_TASK_REGRESSOR"
    n_out = ir.n_classes if ir.kind == "classifier" else ir.n_outputs
    out_off = plan.where(ir.output)
    parts.append(
        f"static ML_CONST ml_nets_t {P}__model = {{\n"
        f"    {task}, {ir.n_features}, {n_out}, {ir.n_outputs}, {len(recs)}, {plan.arena}, "
        f"{out_off},\n    {P}__ops, NULL, NULL\n}};\n")
    calls = []
    for i, r in enumerate(recs):
        f = r.fields
        kern = blocked_kernel(r) or f"ml_nets_{KERNELS[r.kind]}"
        if r.kind in ("add", "mul", "concat"):
            args = f"{_ptr(f['in0'])}, {_ptr(f['in1'])}, a + {f['out']}"
        else:
            args = f"{_ptr(f['in0'])}, a + {f['out']}"
        # the op read through a local: a copy on AVR (program memory), the entry elsewhere
        calls.append(f"    {{\n        ML_FLASH_STRUCT(ml_nets_op_t, op{i}, {P}__ops[{i}]);\n"
                     f"        {kern}(op{i}, {args});\n    }}")
    parts.append(
        f"/* The whole network, op by op, with the planned arena a[{plan.arena}]. */\n"
        f"static inline void {P}__forward(const float *x, float *a)\n{{\n"
        + "\n".join(calls) + "\n}\n")
    arena = (f"    float a[{plan.arena}];\n    ML_FLASH_STRUCT(ml_nets_t, m, {P}__model);\n"
             f"    {P}__forward(x, a);\n")
    if ir.kind == "classifier":
        parts.append(f"static inline int32_t {P}__predict(const float *x)\n{{\n{arena}"
                     f"    return ml_nets_decide(m, a + {out_off});\n}}\n")
        parts.append(f"static inline void {P}__predict_proba(const float *x, float *out)\n"
                     f"{{\n{arena}    ml_nets_outputs(m, a + {out_off}, out);\n}}\n")
    else:
        parts.append(f"static inline void {P}__regress(const float *x, float *out)\n"
                     f"{{\n{arena}    ml_nets_outputs(m, a + {out_off}, out);\n}}\n")
    return CCode(runtime=("ml_nets.h",), body="".join(parts), libm=False)
