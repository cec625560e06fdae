"""C for an int8 :class:`NetIR`: an op table run by ``runtime/ml_nets_int8.h``.

Reads only the IR (a quantized graph from :func:`.quantize.quantize_net` or a TFLite int8
file from :func:`.tflite.read_tflite`). Every op becomes one ``ml_nets_q7_op_t`` record
whose integer parameters come from :func:`.quantize.op_params` (the numpy reference reads
the same values). Activations live in one int8 arena planned here: reshapes alias their
input, element-wise ops write over an input that dies there, and a pointwise convolution's output
overlaps its dying input (row r of the output ends before row r of the input starts), and
the remaining buffers are placed greedily (largest first, lowest offset free during their
lifetime).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import ConversionError
from ...family import CCode
from .ir import NetIR, Op
from .quantize import op_params

_KIND = {"quantize": 1, "dequantize": 2, "requantize": 3, "dense": 4, "conv2d": 5,
         "depthwise_conv2d": 6, "max_pool2d": 7, "avg_pool2d": 8, "global_avg_pool": 9,
         "pad": 10, "add": 11, "mul": 12, "copy": 13, "softmax": 14, "sigmoid": 15,
         "tanh": 16, "clamp": 17, "leaky_relu": 18, "global_max_pool": 19,
         "hard_swish": 20}

_INPLACE = ("activation", "add", "mul", "softmax", "quantize")
_ALIGN = 4


@dataclass
class Int8Plan:
    """Arena offsets (bytes) of the int8 activation tensors and the arena size."""

    offsets: dict[str, int]
    arena_bytes: int


def _graph(ir: NetIR) -> tuple[list[Op], str, str]:
    """The ops with an implicit quantize / dequantize around an int8-input/output graph."""
    ops = list(ir.ops)
    T = ir.tensors
    x_in, y_out = ir.input, ir.output
    if T[x_in].dtype != "float32":
        ops.insert(0, Op("quantize", ("__float_in",), (x_in,), {}, "input"))
        x_in = "__float_in"
    if T[y_out].dtype != "float32":
        ops.append(Op("dequantize", (y_out,), ("__float_out",), {}, "output"))
        y_out = "__float_out"
    return ops, x_in, y_out


def _is_act(ir: NetIR, name: str) -> bool:
    t = ir.tensors.get(name)
    return t is not None and t.data is None and t.dtype == "int8"


def _pool_in_place(op: Op) -> bool:
    """A max / average pooling whose windows do not overlap and start inside the input
    (strides >= pool size, no padding before): it may write its output over its input
    from the same offset. Output pixel p (raster order) is written after its window is
    read, at a byte offset no higher than its window's first, and every later window
    starts past it (ml_nets_q7_pool: a channel, or four, read then written)."""
    if op.kind not in ("max_pool2d", "avg_pool2d"):
        return False
    a = op.attrs
    (pt, _), (pl, _) = a.get("padding", ((0, 0), (0, 0)))
    return (pt == 0 and pl == 0 and a["strides"][0] >= a["pool"][0]
            and a["strides"][1] >= a["pool"][1])


def _pointwise_pixels(ir: NetIR, op: Op) -> int | None:
    """Pixels of a pointwise int8 convolution (1x1 kernel, stride 1, no padding, output
    pixels = input pixels), else None."""
    if op.kind != "conv2d" or len(op.inputs) < 2:
        return None
    x, y, w = (ir.tensors[n] for n in (op.inputs[0], op.outputs[0], op.inputs[1]))
    a = op.attrs
    if not (_is_act(ir, op.inputs[0]) and _is_act(ir, op.outputs[0])) or len(x.shape) != 3 \
            or len(w.shape) != 4 or tuple(w.shape[1:3]) != (1, 1) \
            or tuple(a.get("strides", (1, 1))) != (1, 1) \
            or any(int(v) != 0 for pad in a.get("padding", ((0, 0), (0, 0))) for v in pad) \
            or tuple(y.shape[:2]) != tuple(x.shape[:2]):
        return None
    return int(x.shape[0] * x.shape[1])


def plan_int8(ir: NetIR) -> Int8Plan:
    """Plan the int8 arena of a quantized graph.

    Parameters
    ----------
    ir : NetIR
        A quantized graph.

    Returns
    -------
    Int8Plan
        Offset of every int8 activation tensor and the arena size in bytes.
    """
    ops, _, _ = _graph(ir)
    parent: dict[str, str] = {}

    def root(n: str) -> str:
        while parent.get(n, n) != n:
            n = parent[n]
        return n

    last_use: dict[str, int] = {}
    for i, op in enumerate(ops):
        for n in op.inputs:
            last_use[n] = i
    first: dict[str, int] = {}
    for i, op in enumerate(ops):
        y = op.outputs[0]
        if not _is_act(ir, y):
            continue
        x = op.inputs[0]
        alias = None
        if op.kind == "reshape" and _is_act(ir, x):
            alias = x
        elif op.kind in _INPLACE and _is_act(ir, x) and last_use.get(x) == i and \
                ir.tensors[x].size == ir.tensors[y].size and y != x:
            alias = x
        if alias is not None:
            parent[y] = root(alias)
        else:
            parent[y] = y
            first[y] = i
    # buffers: root -> (size, start, end)
    bufs: dict[str, list[int]] = {}
    for n in parent:
        r = root(n)
        end = last_use.get(n, len(ops))
        size = ir.tensors[n].size
        if r not in bufs:
            bufs[r] = [size, first[r], end]
        else:
            b = bufs[r]
            b[0] = max(b[0], size)
            b[2] = max(b[2], end)
    # a pointwise convolution whose input dies there shares one buffer with its output:
    # output row r (pixel r, oc bytes) ends at or before input row r (ic bytes) starts, so
    # the kernel (ml_nets_q7__fc: row r written after row r was read) never overwrites an
    # input it still needs. The input sits d bytes above the output.
    inner: dict[str, tuple[str, int, int, int, int]] = {}  # input root -> (output, d, ...)
    # So may a pooling of disjoint windows (_pool_in_place), with d = 0.
    for i, op in enumerate(ops):
        pix = _pointwise_pixels(ir, op)
        if pix is None and not _pool_in_place(op):
            continue
        rx, y = root(op.inputs[0]), op.outputs[0]
        if not _is_act(ir, op.inputs[0]) or root(y) != y or rx not in bufs or \
                y not in bufs or bufs[rx][2] != i or \
                any(rx in (k, v[0]) or y in (k, v[0]) for k, v in inner.items()):
            continue
        if pix is None:
            d = 0
        else:
            ic, oc = ir.tensors[op.inputs[0]].shape[-1], ir.tensors[y].shape[-1]
            d = max(oc, pix * oc - (pix - 1) * ic)
            d = (d + _ALIGN - 1) // _ALIGN * _ALIGN
        sx, start, _ = bufs.pop(rx)
        inner[rx] = (y, d, sx, start, i)
    # each buffer as parts (offset in the buffer, size, first op, last op): a pointwise
    # pair is the output from op i on and the input, d bytes higher, until op i
    units: dict[str, list[tuple[int, int, int, int]]] = {
        r: [(0, size, start, end)] for r, (size, start, end) in bufs.items()}
    for y, d, sx, start, i in inner.values():
        sy, _, end = bufs[y]
        units[y] = [(0, sy, i, end), (d, sx, start, i)]
    placed: list[tuple[int, int, int, int]] = []  # offset, size, start, end
    offsets: dict[str, int] = {}

    def fits(off: int, parts) -> bool:
        return all(not (o < off + po + ps and off + po < o + sz) or b < a0 or b0 < a
                   for po, ps, a0, b0 in parts for o, sz, a, b in placed)

    def extent(parts) -> int:
        return max(po + ps for po, ps, _, _ in parts)

    for r, parts in sorted(units.items(),
                           key=lambda kv: (-extent(kv[1]), min(p[2] for p in kv[1]))):
        cands = {0}
        for o, sz, _, _ in placed:
            for po, _, _, _ in parts:
                if o + sz - po >= 0:
                    cands.add((o + sz - po + _ALIGN - 1) // _ALIGN * _ALIGN)
        off = min(c for c in cands if fits(c, parts))
        placed += [(off + po, ps, a0, b0) for po, ps, a0, b0 in parts]
        offsets[r] = off
    for rx, (y, d, _, _, _) in inner.items():
        offsets[rx] = offsets[y] + d
    total = max((o + s for o, s, _, _ in placed), default=0)
    return Int8Plan({n: offsets[root(n)] for n in parent}, int(total))


def _arr(v) -> str:
    return ", ".join(str(int(x)) for x in np.ravel(v))


def _f32(v) -> str:
    t = f"{float(np.float32(v)):.9g}"
    if not any(ch in t for ch in ".e"):
        t += ".0"
    return t + "f"


def _rq_right(w: np.ndarray, bias: np.ndarray, shift: np.ndarray) -> int:
    """``ml_nets_q7_op_t.rq_right`` (as ``ml_nets_q7__set_rq_right`` computes it for a
    model file): bit 0 when every shift is a right shift, bit 1 as well when no
    accumulator plus bias can reach 2^30 (taps x 255 x 128 + max |bias|)."""
    if not all(-31 <= int(v) <= -1 for v in np.ravel(shift)):
        return 0
    b = np.ravel(np.asarray(bias, np.int64))
    taps = int(np.asarray(w).size) // max(b.size, 1)
    top = int(np.abs(b).max()) if b.size else 0
    return 3 if b.size and taps * 255 * 128 + top < 2 ** 30 else 1


def _records(ir: NetIR, plan: Int8Plan) -> tuple[list[dict], list[tuple[str, str, np.ndarray]]]:
    """Op records (field dicts) and constant arrays (C type, name, values)."""
    ops, _, _ = _graph(ir)
    T = ir.tensors
    consts: list[tuple[str, str, np.ndarray]] = []
    recs: list[dict] = []

    def const(ctype: str, values: np.ndarray) -> str:
        name = f"c{len(consts)}"
        consts.append((ctype, name, np.asarray(values)))
        return name

    produced = {ir.input} | {o.outputs[0] for o in ops}
    seen = {ir.input, "__float_in"}
    for op in ops:
        for n in op.inputs:
            if _is_act(ir, n) and n not in seen:
                raise ConversionError(f"{op.name or op.kind}: input {n!r} is "
                                      f"{'computed later' if n in produced else 'never computed'}")
        seen.add(op.outputs[0])

    def off(n: str) -> int:
        return plan.offsets[n] if n in plan.offsets else -1

    for op in ops:
        if op.kind == "reshape":
            continue
        if op.inputs[0] == "__float_in":
            t = T[op.outputs[0]]
            recs.append(dict(kind=_KIND["quantize"], out=off(op.outputs[0]), g=[t.size],
                             out_zp=int(t.zero_point[0]), scale=float(t.scale[0])))
            continue
        if op.outputs[0] == "__float_out":
            t = T[op.inputs[0]]
            recs.append(dict(kind=_KIND["dequantize"], **{"in": off(op.inputs[0])},
                             g=[t.size], in_zp=int(t.zero_point[0]), scale=float(t.scale[0])))
            continue
        check_geometry(ir, op)
        p = op_params(ir, op)
        x = T[op.inputs[0]]
        y = T[op.outputs[0]]
        r = {"in": off(op.inputs[0]), "out": off(op.outputs[0]), "in_zp": p.get("in_zp", 0),
             "out_zp": p.get("out_zp", 0), "act_min": p.get("act_min", -128),
             "act_max": p.get("act_max", 127)}
        k = op.kind
        if k == "quantize":
            if "scale" in p:
                r.update(kind=_KIND["quantize"], g=[y.size], out_zp=p["zp"], scale=p["scale"])
            else:
                r.update(kind=_KIND["requantize"], g=[y.size], m0=p["mult"], s0=p["shift"])
        elif k == "dequantize":
            r.update(kind=_KIND["dequantize"], g=[x.size], in_zp=p["zp"], scale=p["scale"])
        elif k in ("dense", "conv2d", "depthwise_conv2d"):
            if p["w_zp"] != 0:
                raise ConversionError(f"{op.name or k}: int8 weights with a nonzero zero "
                                      "point are not supported")
            w = np.asarray(p["w"], np.int8)
            r.update(w=const("int8_t", w), bias=const("int32_t", p["b"]),
                     mult=const("int32_t", p["mult"]), shift=const("int32_t", p["shift"]),
                     rq_right=_rq_right(w, p["b"], p["shift"]))
            if k in ("conv2d", "dense") and (w.size // max(w.shape[0], 1)) % 4:
                # rows / windows of a length not a multiple of 4: the header's table gets 3
                # spare bytes (bit 3: the Cortex-M4F / M7 kernels read whole words; in a
                # model file the bias follows the weights)
                r["rq_right"] |= 8
            if k == "dense":
                n_in = w.shape[1]
                if x.size % n_in:
                    raise ConversionError(f"{op.name or k}: input size {x.size} is not a "
                                          f"multiple of the {n_in} weights per unit")
                r.update(kind=_KIND["dense"], g=[n_in, w.shape[0], x.size // n_in])
            else:
                (pt, _), (pl, _) = p["padding"]
                r.update(kind=_KIND[k], g=[x.shape[0], x.shape[1], x.shape[2], y.shape[0],
                                            y.shape[1], y.shape[2], w.shape[1], w.shape[2],
                                            *p["strides"], *p["dilation"], pt, pl,
                                            p.get("multiplier", 1)])
        elif k in ("max_pool2d", "avg_pool2d", "pad"):
            (pt, _), (pl, _) = p["padding"]
            kh, kw = p.get("pool", (1, 1))
            sh, sw = p.get("strides", (1, 1))
            r.update(kind=_KIND[k], g=[x.shape[0], x.shape[1], x.shape[2], y.shape[0],
                                        y.shape[1], y.shape[2], kh, kw, sh, sw, 1, 1, pt, pl])
        elif k in ("global_avg_pool", "global_max_pool"):
            r.update(kind=_KIND[k], g=[x.shape[0], x.shape[1], x.shape[2]],
                     m0=p.get("mult", 0), s0=p.get("shift", 0))
        elif k in ("add", "mul"):
            other = op.inputs[1]
            n2 = T[other].size
            if y.size % n2:
                raise ConversionError(f"{op.name or k}: the second operand ({n2} values) "
                                      f"does not repeat over the {y.size} outputs")
            if x.size != y.size:
                raise ConversionError(f"{op.name or k}: the first operand must have the "
                                      "output's shape")
            r.update(kind=_KIND[k], g=[y.size, n2], in2_zp=p["in2_zp"], m0=p["mult"],
                     s0=p["shift"], m1=p.get("mult1", 0), s1=p.get("shift1", 0),
                     m2=p.get("mult2", 0), s2=p.get("shift2", 0))
            if T[other].data is not None:
                r.update(in2=-1, w=const("int8_t", np.asarray(T[other].data, np.int8)))
            else:
                r["in2"] = off(other)
        elif k == "concat":
            axis = p["axis"]
            shape = y.shape
            outer = int(np.prod(shape[:axis], dtype=np.int64))
            total = int(np.prod(shape[axis:], dtype=np.int64))
            col = 0
            for n in op.inputs:
                inner = T[n].size // outer
                recs.append(dict(kind=_KIND["copy"], **{"in": off(n)}, out=off(y.name),
                                 g=[outer, inner, total, col]))
                col += inner
            continue
        elif k == "softmax":
            depth = y.shape[-1] if len(y.shape) else 1
            r.update(kind=_KIND["softmax"], g=[y.size // depth, depth], m0=p["mult"],
                     s0=p["shift"], m1=p["diff_min"])
        elif k == "activation":
            act = p["activation"]
            if act in ("sigmoid", "tanh"):
                r.update(kind=_KIND[act], g=[y.size], m0=p["mult"], s0=p["shift"],
                         m1=p["radius"])
            elif act == "relu6":
                r.update(kind=_KIND["clamp"], g=[y.size], act_min=p["lo"], act_max=p["hi"])
            elif act in ("relu", "linear"):
                r.update(kind=_KIND["requantize"], g=[y.size], m0=p["mult"], s0=p["shift"],
                         act_min=p["lo"], act_max=p["hi"])
            elif act == "hard_swish":
                r.update(kind=_KIND["hard_swish"], g=[y.size], m0=p["out_m16"],
                         s0=p["out_exp"], m1=p["relu_m16"], s1=p["relu_exp"])
            else:  # leaky_relu
                r.update(kind=_KIND["leaky_relu"], g=[y.size], m0=p["mult"], s0=p["shift"],
                         m1=p["mult_a"], s1=p["shift_a"])
        else:
            raise ConversionError(f"{op.name or k}: op {k!r} has no int8 C kernel")
        recs.append(r)
    return recs, consts


def _out_size(size: int, k: int, stride: int, dil: int, pad: tuple[int, int]) -> int:
    return (size + pad[0] + pad[1] - ((k - 1) * dil + 1)) // stride + 1


def check_geometry(ir: NetIR, op: Op) -> None:
    """Shapes of an op consistent with its weights and attributes (the C trusts them).

    Raises
    ------
    ConversionError
        Naming the op and the mismatch.
    """
    T = ir.tensors
    x, y = T[op.inputs[0]], T[op.outputs[0]]
    k = op.kind
    a = op.attrs
    bad = None
    if k in ("conv2d", "depthwise_conv2d", "max_pool2d", "avg_pool2d", "pad",
             "global_avg_pool", "global_max_pool"):
        if len(x.shape) != 3:
            bad = f"input shape {x.shape} is not (H, W, C)"
    if bad is None and k in ("conv2d", "depthwise_conv2d"):
        w, b = T[op.inputs[1]], T[op.inputs[2]]
        m = int(a.get("multiplier", 1))
        kh, kw = w.shape[1], w.shape[2]
        oc = w.shape[0] if k == "conv2d" else w.shape[3]
        exp = (_out_size(x.shape[0], kh, a["strides"][0], a.get("dilation", (1, 1))[0],
                         a["padding"][0]),
               _out_size(x.shape[1], kw, a["strides"][1], a.get("dilation", (1, 1))[1],
                         a["padding"][1]), oc)
        if len(w.shape) != 4 or (k == "conv2d" and w.shape[3] != x.shape[2]) or \
                (k != "conv2d" and (w.shape[0] != 1 or oc != x.shape[2] * m)) or \
                b.size != oc or tuple(y.shape) != exp:
            bad = f"weights {w.shape}, bias {b.shape}, input {x.shape}, output {y.shape}"
    elif bad is None and k in ("max_pool2d", "avg_pool2d"):
        exp = (_out_size(x.shape[0], a["pool"][0], a["strides"][0], 1, a["padding"][0]),
               _out_size(x.shape[1], a["pool"][1], a["strides"][1], 1, a["padding"][1]),
               x.shape[2])
        if tuple(y.shape) != exp:
            bad = f"output {y.shape}, expected {exp}"
    elif bad is None and k == "pad":
        (t, bb), (lf, r) = a["padding"]
        if tuple(y.shape) != (x.shape[0] + t + bb, x.shape[1] + lf + r, x.shape[2]):
            bad = f"output {y.shape} for input {x.shape} and padding {a['padding']}"
    elif bad is None and k in ("global_avg_pool", "global_max_pool"):
        if y.size != x.shape[2]:
            bad = f"output {y.shape} for input {x.shape}"
    elif k == "dense":
        w, b = T[op.inputs[1]], T[op.inputs[2]]
        if len(w.shape) != 2 or x.size % w.shape[1] or b.size != w.shape[0] or \
                y.size != x.size // w.shape[1] * w.shape[0]:
            bad = f"weights {w.shape}, bias {b.shape}, input {x.shape}, output {y.shape}"
    elif k == "concat":
        if sum(T[n].size for n in op.inputs) != y.size:
            bad = f"inputs of {[T[n].size for n in op.inputs]} values, output {y.size}"
    elif k in ("reshape", "activation", "softmax", "quantize", "dequantize"):
        if x.size != y.size:
            bad = f"input of {x.size} values, output of {y.size}"
    if bad is not None:
        raise ConversionError(f"{op.name or k}: inconsistent shapes: {bad}")


def _struct(r: dict, P: str) -> str:
    g = list(r.get("g", [])) + [0] * (15 - len(r.get("g", [])))

    def i(key: str, default: int = 0) -> str:
        v = int(r.get(key, default))
        return str(v) if v != -(1 << 31) else "ML_NETS_Q_MIN32"

    def ptr(key: str) -> str:
        return f"{P}__{r[key]}" if key in r else "0"

    return ("{" + f"{r['kind']}, {i('in', -1)}, {i('in2', -1)}, {i('out', -1)}, "
            f"{{{_arr(g)}}}, {i('in_zp')}, {i('in2_zp')}, {i('out_zp')}, "
            f"{i('act_min', -128)}, {i('act_max', 127)}, {i('m0')}, {i('s0')}, {i('m1')}, "
            f"{i('s1')}, {i('m2')}, {i('s2')}, {_f32(r.get('scale', 0.0))}, "
            f"{ptr('w')}, {ptr('bias')}, {ptr('mult')}, {ptr('shift')}, {i('rq_right')}"
            + (" | ML_NETS_Q7_BLK" if r.get("blocked") else "") + "}")


#: ``ml_nets_q7_run``'s dispatch (runtime/ml_nets_int8.h): op kind -> its C macro and the
#: kernel call. The generated code dispatches only the kinds its model uses
#: (:func:`model_run`): the other kernels are not compiled in (about 15 KB of the 32 KB of
#: an ATmega328P for a small MLP; 4.2 KB of an MLP's 11.6 KB on Cortex-M4F).
Q7_DISPATCH = {
    1: ("ML_NETS_Q7_QUANTIZE", "ml_nets_q7_quantize(op, x, o)"),
    2: ("ML_NETS_Q7_DEQUANTIZE", "ml_nets_q7_dequantize(op, a, y)"),
    3: ("ML_NETS_Q7_REQUANTIZE", "ml_nets_q7_requantize(op, a, o)"),
    4: ("ML_NETS_Q7_DENSE", "ml_nets_q7_dense(op, a, o)"),
    5: ("ML_NETS_Q7_CONV2D", "ml_nets_q7_conv(op, a, o)"),
    6: ("ML_NETS_Q7_DEPTHWISE", "ml_nets_q7_conv(op, a, o)"),
    7: ("ML_NETS_Q7_MAX_POOL", "ml_nets_q7_pool(op, a, o)"),
    8: ("ML_NETS_Q7_AVG_POOL", "ml_nets_q7_pool(op, a, o)"),
    9: ("ML_NETS_Q7_MEAN", "ml_nets_q7_global(op, a, o)"),
    10: ("ML_NETS_Q7_PAD", "ml_nets_q7_pad(op, a, o)"),
    11: ("ML_NETS_Q7_ADD", "ml_nets_q7_binary(op, a, op->in2 >= 0 ? arena + op->in2 : op->w, o)"),
    12: ("ML_NETS_Q7_MUL", "ml_nets_q7_binary(op, a, op->in2 >= 0 ? arena + op->in2 : op->w, o)"),
    13: ("ML_NETS_Q7_COPY", "ml_nets_q7_copy(op, a, o)"),
    14: ("ML_NETS_Q7_SOFTMAX", "ml_nets_q7_softmax(op, a, o)"),
    15: ("ML_NETS_Q7_LOGISTIC", "ml_nets_q7_sigmoid_tanh(op, a, o)"),
    16: ("ML_NETS_Q7_TANH", "ml_nets_q7_sigmoid_tanh(op, a, o)"),
    17: ("ML_NETS_Q7_CLAMP", "ml_nets_q7_clamp(op, a, o)"),
    18: ("ML_NETS_Q7_LEAKY_RELU", "ml_nets_q7_leaky_relu(op, a, o)"),
    19: ("ML_NETS_Q7_GLOBAL_MAX", "ml_nets_q7_global(op, a, o)"),
    20: ("ML_NETS_Q7_HARD_SWISH", "ml_nets_q7_hard_swish(op, a, o)"),
}


_WINDOW_MAX = 64  # ML_NETS_Q7_WINDOW_MAX: larger windows are not gathered (ml_nets_int8.h)
_WIDE_MAX = 288  # ML_NETS_Q7_WIDE_MAX: the largest window of the two-pixel kernel


def _conv_kernels(recs: list[dict]) -> tuple[int, int]:
    """The assembly convolution kernels some regular convolution may take on Cortex-M4F /
    M7 (``ML_NETS_Q7_K_*``, ml_nets_int8.h): 1 ``ml_nets_q7__fc4n2d`` (whole words of
    channels, stride-1 columns, four outputs or more, a window past the gathered ones:
    more than 64 values, not pointwise); 2 also ``ml_nets_q7__fc2x2`` on such windows (two
    output pixels or more per row, an even number of channels, a window of at most 288
    values); 4 ``ml_nets_q7__fc2x2`` on two gathered windows (at most 64 values, an even
    number of four channels or more, two output pixels or more per row). And the words of
    the widened-window buffer the two-pixel kernel needs (the largest such window's values,
    rounded up to 4), which ``P__q7_run`` passes (``ML_NETS_Q7_K_SCRATCH``)."""
    mask = words = 0
    for r in recs:
        if int(r["kind"]) != 5:
            continue
        g = list(r.get("g", [])) + [0] * 15
        in_h, in_w, in_c, out_h, out_w, out_c, k_h, k_w, s_h, s_w = g[:10]
        d_w, pad_t, pad_l = g[11], g[12], g[13]
        n = k_h * k_w * in_c
        pointwise = (k_h == k_w == s_h == s_w == 1 and pad_t == pad_l == 0
                     and out_h == in_h and out_w == in_w)
        pair = out_w >= 2 and out_c % 2 == 0
        if n <= _WINDOW_MAX and not pointwise and out_c >= 4 and pair:
            mask |= 4
            words = max(words, (n + 3) // 4 * 4)
        if in_c % 4 == 0 and d_w == 1 and out_c >= 4 and n > _WINDOW_MAX:
            mask |= 3 if pair and n <= _WIDE_MAX else 1
            if pair and n <= _WIDE_MAX:
                words = max(words, n)
    return mask, words


def _rows(r: dict) -> tuple[int, int] | None:
    """(inputs, outputs) per row of a DENSE op or a pointwise CONV2D (1x1 kernel, stride 1,
    no padding, as ``ml_nets_q7__pointwise``), else None."""
    g = list(r.get("g", [])) + [0] * 15
    if r["kind"] == _KIND["dense"]:
        return int(g[0]), int(g[1])
    if (r["kind"] == _KIND["conv2d"] and g[6] == g[7] == g[8] == g[9] == 1
            and g[12] == g[13] == 0 and g[3] == g[0] and g[4] == g[1]):
        return int(g[2]), int(g[5])
    return None


def _blockable(r: dict) -> bool:
    """A DENSE op or pointwise CONV2D whose weights the header stores in blocks for
    ``ml_nets_q7__fc4b`` on Cortex-M4F / M7: the short requantization path (every shift a
    right shift, the accumulator bound, the int8 clamp: what ``ml_nets_q7__rq`` calls
    fast == 7), whole words of inputs and four outputs or more."""
    rows = _rows(r)
    if rows is None:
        return False
    n_in, n_out = rows
    return ((r.get("rq_right", 0) & 3) == 3 and r.get("act_min", -128) == -128
            and r.get("act_max", 127) == 127 and n_in % 4 == 0 and n_in > 0 and n_out >= 4)


def _blocked_ops(recs: list[dict], ir: NetIR) -> list[dict]:
    """The ops whose weights the header stores in blocks: every :func:`_blockable` op, when
    they hold at least half of the model's multiply-adds (``ml_nets_q7__fc4b`` and its
    path cost about 550 B of flash; a model of dense layers only drops the other row
    kernels and gets smaller)."""
    ops = [r for r in recs if _blockable(r)]
    per_row = sum(_rows(r)[0] * _rows(r)[1] * _n_rows(r) for r in ops)
    return ops if ops and 2 * per_row >= macs_int8(ir)[0] else []


def _n_rows(r: dict) -> int:
    """Rows of a DENSE op (its batch) or pixels of a pointwise CONV2D."""
    g = list(r.get("g", [])) + [0] * 15
    return max(int(g[2]), 1) if r["kind"] == _KIND["dense"] else int(g[0]) * int(g[1])


def _block_rows(w: np.ndarray, n_out: int, n_in: int) -> np.ndarray:
    """Weights w[n_out][n_in] re-laid for ``ml_nets_q7__fc4b``: per group of four rows, per
    4 inputs, the four rows' 4 bytes (16 contiguous bytes); the rows left over (n_out % 4)
    after the blocks as they were."""
    w = np.asarray(w).reshape(n_out, n_in)
    g = n_out // 4
    blocks = w[:4 * g].reshape(g, 4, n_in // 4, 4).transpose(0, 2, 1, 3).reshape(-1)
    return np.concatenate([blocks, w[4 * g:].reshape(-1)])


def model_run(kinds: set[int], P: str, kernels: int = 7, argmax: bool = False,
              xw: int = 0, xw_all: bool = False, dense_blk: bool = False) -> str:
    """``P__q7_run``: ``ml_nets_q7_run``'s loop over the op table (in program memory on
    AVR) dispatching only ``kinds`` (:data:`Q7_DISPATCH`), so that the kernels of other op
    kinds are not compiled in; an op of another kind returns ``ML_ERR_MODEL``. ``kernels``
    (:func:`_conv_kernels`) is the mask of assembly convolution kernels passed to
    ``ml_nets_q7__conv``. ``argmax`` (the table ends with SOFTMAX, DEQUANTIZE: see
    :func:`_softmax_last`): with ``cls`` not null the run stops before that softmax when
    ``ml_nets_q7_softmax_argmax`` is certain of the class, stored in ``*cls`` (else -1).
    ``xw`` > 0: words of ``P__q7_run``'s buffer for the widened inputs of the ops whose
    weights are stored in blocks on Cortex-M4F / M7 (:func:`_blocked_ops`) and the pair
    kernels' windows (``kernels`` bit 8); ``dense_blk``: some dense op is blocked (else the
    dense ops get no buffer, so the blocked kernel is not linked in); ``xw_all``: every
    dense op is (the other dense row kernels are then not linked in)."""
    def call(k: int) -> str:
        c = Q7_DISPATCH[k][1].replace(
            "ml_nets_q7_conv(op, a, o)",
            f"ml_nets_q7__conv(op, a, o, {kernels}, {'xw' if xw else '(uint32_t *)0'})")
        if dense_blk and k == _KIND["dense"]:
            c = f"ml_nets_q7__dense(op, a, o, xw, {'(ML_NETS_Q7_BLK != 0)' if xw_all else 0})"
        if argmax and k == _KIND["softmax"]:
            c = ("if (cls != (int32_t *)0 && k == n_ops - 2) {\n"
                 "                *cls = ml_nets_q7_softmax_argmax(op, a);\n"
                 "                if (*cls >= 0) {\n"
                 "                    return ML_OK;\n"
                 "                }\n"
                 "            }\n            " + c)
        return c

    cases = "\n".join(f"        case {Q7_DISPATCH[k][0]}: {call(k)}; break;"
                      for k in sorted(kinds))
    return (
        "/* only this model's kernels are compiled in */\n"
        f"static inline int32_t {P}__q7_run(const ml_nets_q7_op_t *ops, int32_t n_ops,\n"
        "                                   const float *x, float *y, int8_t *arena,\n"
        "                                   int32_t *cls)\n{\n"
        + (f"#ifdef ML_NETS_Q7__VFP\n    uint32_t xw[{xw}];\n#else\n"
           "    uint32_t *const xw = (uint32_t *)0;\n#endif\n" if xw else "")
        + "    int32_t k;\n    for (k = 0; k < n_ops; k++) {\n"
        "        ML_FLASH_STRUCT(ml_nets_q7_op_t, op, ops[k]);\n"
        "        const int8_t *a = op->in >= 0 ? arena + op->in : (const int8_t *)0;\n"
        "        int8_t *o = op->out >= 0 ? arena + op->out : (int8_t *)0;\n"
        "        (void)a;\n        (void)o;\n        (void)x;\n        (void)y;\n"
        "        (void)cls;\n"
        f"        switch (op->kind) {{\n{cases}\n"
        "        default: return ML_ERR_MODEL;\n        }\n    }\n    return ML_OK;\n}")


def c_body_int8(ir: NetIR, P: str) -> tuple[str, Int8Plan]:
    """The C body of a quantized graph: tables, the op table and ``P__run``.

    Parameters
    ----------
    ir : NetIR
        A quantized graph.
    P : str
        The C prefix.

    Returns
    -------
    (str, Int8Plan)
        C text defining ``P__run(const float *x, float *out)`` (and the model's kernels,
        see :func:`c_code_int8`), and the arena plan.
    """
    plan = plan_int8(ir)
    recs, consts = _records(ir, plan)
    lines = [f"/* int8 network: {len(recs)} ops, arena {plan.arena_bytes} bytes "
             "(TFLite integer spec; runtime/ml_nets_int8.h) */"]
    # ML_CONST: program memory on AVR (the kernels read it with ML_NETS_Q7_W / _I32 - the
    # constant second operand of ADD / MUL too - and the op table through a copy), plain
    # const elsewhere
    spare = {r["w"] for r in recs if r.get("rq_right", 0) & 8}
    blocked = {}
    for r in _blocked_ops(recs, ir):
        r["blocked"] = True
        n_in, n_out = _rows(r)
        blocked[r["w"]] = (n_out, n_in)
    for ctype, name, v in consts:
        if name in spare:  # readable 3 bytes past the last weight (rq_right bit 3)
            v = np.concatenate([np.ravel(v), np.zeros(3, v.dtype)])
        decl = f"static ML_CONST {ctype} {P}__{name}[{max(v.size, 1)}]"
        if name in blocked:
            # Cortex-M4F / M7: four rows' words per LDM (ml_nets_q7__fc4b); plain elsewhere
            lines.append(f"#ifdef ML_NETS_Q7__VFP\n{decl} ML_NETS_Q7_ALIGN4 = "
                         f"{{{_arr(_block_rows(v, *blocked[name]))}}};\n#else")
        lines.append(f"{decl} = {{{_arr(v) if v.size else '0'}}};")
        if name in blocked:
            lines.append("#endif")
    lines.append(f"static ML_CONST ml_nets_q7_op_t {P}__ops[{len(recs)}] = {{")
    lines += [f"    {_struct(r, P)}," for r in recs]
    lines.append("};")
    lines.append(f"enum {{ {P}__ARENA_BYTES = {max(plan.arena_bytes, 1)}, "
                 f"{P}__N_OPS = {len(recs)} }};")
    argmax = _softmax_last(recs)
    # one buffer for the widened inputs of the blocked rows and the pair kernels' windows
    kernels, pair_words = _conv_kernels(recs)
    xw = max([_rows(r)[0] // 2 for r in recs if r.get("blocked")] + [pair_words])
    dense_blk = any(r.get("blocked") for r in recs if r["kind"] == _KIND["dense"])
    xw_all = dense_blk and all(r.get("blocked") for r in recs if r["kind"] == _KIND["dense"])
    conv_blk = any(r.get("blocked") for r in recs if r["kind"] == _KIND["conv2d"])
    lines.append(model_run({int(r["kind"]) for r in recs}, P,
                           kernels | (8 if pair_words else 0) | (16 if conv_blk else 0),
                           argmax, xw, xw_all, dense_blk))
    if argmax:
        # one call of P__q7_run for both (a second call site would keep it out of line)
        lines.append(f"/* out = the outputs; with cls, the class instead when it is certain "
                     "without the final softmax (else -1) */\n"
                     f"static inline void {P}__run_cls(const float *x, float *out, "
                     "int32_t *cls)\n{\n"
                     f"    int8_t arena[{P}__ARENA_BYTES];\n"
                     f"    (void){P}__q7_run({P}__ops, {P}__N_OPS, x, out, arena, cls);\n}}\n"
                     f"static inline void {P}__run(const float *x, float *out)\n{{\n"
                     f"    {P}__run_cls(x, out, (int32_t *)0);\n}}")
    else:
        lines.append(f"static inline void {P}__run(const float *x, float *out)\n{{\n"
                     f"    int8_t arena[{P}__ARENA_BYTES];\n"
                     f"    (void){P}__q7_run({P}__ops, {P}__N_OPS, x, out, arena, "
                     "(int32_t *)0);\n}")
    return "\n".join(lines) + "\n", plan


def input_quantization(ir: NetIR) -> tuple[float, int] | None:
    """``(scale, zero_point)`` of the integer entry's int8 input (the values of the C's
    ``P__INPUT_SCALE`` / ``P__INPUT_ZERO_POINT``), or None when the quantized graph has no
    integer entry (its op table does not start with the QUANTIZE of the float input)."""
    recs, _ = _records(ir, plan_int8(ir))
    q = recs[0]
    if q["kind"] != _KIND["quantize"] or len(recs) < 2:
        return None
    return float(np.float32(q["scale"])), int(q["out_zp"])


def _integer_runs(ir: NetIR, P: str) -> str:
    """``P__run_i8`` / ``P__run_i16``: the op table without its first op (the QUANTIZE of
    the float input), fed the quantized sample directly; "" when the table does not start
    with that QUANTIZE."""
    plan = plan_int8(ir)
    recs, _ = _records(ir, plan)
    lines: list[str] = []
    q = recs[0]
    if q["kind"] == _KIND["quantize"] and len(recs) > 1:
        # the integer entries: the first op (QUANTIZE of the float input) replaced
        n, off = int(q["g"][0]), int(q["out"])
        lines.append(
            f"/* Input quantization: q = round(x / {P}__INPUT_SCALE) + {P}__INPUT_ZERO_POINT "
            "(half away from zero, saturated to int8). */\n"
            f"#define {P}__INPUT_SCALE {_f32(q['scale'])}\n"
            f"enum {{ {P}__INPUT_ZERO_POINT = {int(q['out_zp'])}, {P}__N_IN = {n} }};\n"
            f"static inline void {P}__run_i8(const int8_t *xq, float *out)\n{{\n"
            f"    int8_t arena[{P}__ARENA_BYTES];\n"
            f"    memcpy(arena + {off}, xq, {n});\n"
            f"    (void){P}__q7_run({P}__ops + 1, {P}__N_OPS - 1, (const float *)0, out, "
            "arena, (int32_t *)0);\n}\n"
            f"static inline void {P}__run_i16(const int16_t *x, float *out)\n{{\n"
            f"    int8_t arena[{P}__ARENA_BYTES];\n"
            f"    ML_FLASH_STRUCT(ml_nets_q7_op_t, q0, {P}__ops[0]);\n"
            f"    ml_nets_q7_quantize_i16(q0, x, arena + {off});\n"
            f"    (void){P}__q7_run({P}__ops + 1, {P}__N_OPS - 1, (const float *)0, out, "
            "arena, (int32_t *)0);\n}")
    return "\n".join(lines) + "\n" if lines else ""


def _softmax_last(recs: list[dict]) -> bool:
    """True when the op table ``recs`` ends with a one-row SOFTMAX of at most
    ``ML_NETS_Q7_ARGMAX_DEPTH_MAX`` (240) classes and the DEQUANTIZE of its output:
    ``P__predict`` then runs ``P__run_cls``, which skips them when
    ``ml_nets_q7_softmax_argmax`` is certain of the class."""
    if len(recs) < 3:
        return False
    sm, dq = recs[-2], recs[-1]
    return (sm["kind"] == _KIND["softmax"] and dq["kind"] == _KIND["dequantize"]
            and dq["in"] == sm["out"] and sm["g"][0] == 1 and 1 <= sm["g"][1] <= 240)


def c_code_int8(ir: NetIR, P: str) -> CCode:
    """:class:`CCode` of a quantized graph with the family's kernels.

    Parameters
    ----------
    ir : NetIR
        A quantized graph.
    P : str
        The C prefix.

    Returns
    -------
    CCode
        ``P__regress`` for a regressor; ``P__predict`` (first maximum; a single sigmoid
        unit: class 1 when p > 0.5) and ``P__predict_proba`` for a classifier.
    """
    body, _ = c_body_int8(ir, P)
    n = ir.tensors[ir.output].size
    if ir.kind == "classifier":
        if n == 1:
            body += (f"static inline void {P}__predict_proba(const float *x, float *out)\n"
                     f"{{\n    float p;\n    {P}__run(x, &p);\n"
                     f"    out[0] = 1.0f - p;\n    out[1] = p;\n}}\n"
                     f"static inline int32_t {P}__predict(const float *x)\n{{\n"
                     f"    float p;\n    {P}__run(x, &p);\n    return p > 0.5f ? 1 : 0;\n}}\n")
        else:
            body += (f"static inline void {P}__predict_proba(const float *x, float *out)\n"
                     f"{{\n    {P}__run(x, out);\n}}\n"
                     f"static inline int32_t {P}__predict(const float *x)\n{{\n"
                     f"    float p[{n}];\n    int32_t i, best = 0;\n"
                     + (f"    int32_t cls = -1;\n    {P}__run_cls(x, p, &cls);\n"
                        "    if (cls >= 0) {\n        return cls;\n    }\n"
                        if _softmax_last(_records(ir, plan_int8(ir))[0])
                        else f"    {P}__run(x, p);\n")
                     + f"    for (i = 1; i < {n}; i++) {{\n"
                     f"        if (p[i] > p[best]) {{\n            best = i;\n        }}\n"
                     f"    }}\n    return best;\n}}\n")
    else:
        body += (f"static inline void {P}__regress(const float *x, float *out)\n{{\n"
                 f"    {P}__run(x, out);\n}}\n")
    runs = _integer_runs(ir, P)
    if runs:
        body += runs + _integer_entries(ir, P)
    return CCode(runtime=("ml_nets_int8.h",), body=body, libm=False)


def _integer_entries(ir: NetIR, P: str) -> str:
    """Public ``P_predict_i8`` / ``P_predict_proba_i8`` (classifier) or ``P_regress_i8``
    (regressor), and the same with ``_i16``: the int8 entry takes the sample already in the
    model's input quantization (``P__INPUT_SCALE``, ``P__INPUT_ZERO_POINT``), the int16
    entry integer feature values (quantized inside exactly as the float entry would)."""
    n = ir.tensors[ir.output].size
    n_out = 2 if ir.kind == "classifier" and n == 1 else n
    nf = ir.tensors[ir.input].size
    parts = []
    for suf, ctype, what in (("i8", "int8_t", "int8 values in the model's input quantization "
                              f"(q = round(x / {P}__INPUT_SCALE) + {P}__INPUT_ZERO_POINT)"),
                             ("i16", "int16_t", "int16 feature values (the float entry's "
                              "features, as integers)")):
        check = (f"    if (features == NULL) {{\n        return ML_ERR_NULL;\n    }}\n"
                 f"    if (n_features != {nf}) {{\n        return ML_ERR_N_FEATURES;\n    }}\n")
        check_out = (f"    if (features == NULL || out == NULL) {{\n        return ML_ERR_NULL;"
                     f"\n    }}\n    if (n_features != {nf}) {{\n        return "
                     f"ML_ERR_N_FEATURES;\n    }}\n    if (n_out < {n_out}) {{\n        return "
                     "ML_ERR_N_OUT;\n    }\n")
        head = f"/* Integer entry: features = {nf} {what}. */\n"
        if ir.kind == "classifier":
            decide = ("    return p[0] > 0.5f ? 1 : 0;\n" if n == 1 else
                      f"    for (i = 1; i < {n}; i++) {{\n        if (p[i] > p[best]) {{\n"
                      "            best = i;\n        }\n    }\n    return best;\n")
            decl = ("    float p[1];\n" if n == 1 else
                    f"    float p[{n}];\n    int32_t i, best = 0;\n")
            parts.append(
                f"{head}/* Returns the class index, or ML_ERR_NULL / ML_ERR_N_FEATURES. */\n"
                f"static inline int32_t {P}_predict_{suf}(const {ctype} *features, "
                f"int32_t n_features)\n{{\n{decl}{check}"
                f"    {P}__run_{suf}(features, p);\n{decide}}}\n")
            fill = (f"    float p;\n{check_out}    {P}__run_{suf}(features, &p);\n"
                    "    out[0] = 1.0f - p;\n    out[1] = p;\n" if n == 1 else
                    f"{check_out}    {P}__run_{suf}(features, out);\n")
            parts.append(
                f"{head}/* Class probabilities into out[0..{n_out}); ML_OK or an error. */\n"
                f"static inline int32_t {P}_predict_proba_{suf}(const {ctype} *features, "
                f"int32_t n_features, float *out, int32_t n_out)\n{{\n{fill}"
                "    return ML_OK;\n}\n")
        else:
            parts.append(
                f"{head}/* Regression outputs into out[0..{n_out}); ML_OK or an error. */\n"
                f"static inline int32_t {P}_regress_{suf}(const {ctype} *features, "
                f"int32_t n_features, float *out, int32_t n_out)\n{{\n{check_out}"
                f"    {P}__run_{suf}(features, out);\n    return ML_OK;\n}}\n")
    return "".join(parts)


def arena_bytes_int8(ir: NetIR) -> int:
    """Bytes of the int8 activation arena the generated C puts on the stack."""
    return plan_int8(ir).arena_bytes


def data_bytes_int8(ir: NetIR) -> int:
    """Bytes of the constant tables (weights, bias, multipliers, shifts, op records)."""
    plan = plan_int8(ir)
    recs, consts = _records(ir, plan)
    size = sum(v.size * (1 if ctype == "int8_t" else 4) for ctype, _, v in consts)
    return int(size + len(recs) * (4 * 35 + 4 * 4))


#: instructions per int8 multiply-add, per requantized output (with its window loops) and
#: per element of the other ops, and the stack frame beside the arena; fitted to
#: benchmarks/RESULTS_nets.md's MLP and CNN (Cortex-M4F / M7: 2026-12-01, after the dense
#: rows, conv windows and depthwise pixels summed and requantized in registers; within
#: 2% on both), ~8% for M0+, 15-25% for rv32imc (whose cost per MAC differs more between
#: dense rows and depthwise windows). Flash: the tables plus ``base`` and ``code`` per op
#: kind the model dispatches (:func:`model_run`; within 5% on the MLP and the CNN for
#: Cortex-M4F, exact for M0+; M7 / rv32imc / host reuse them)
# ``wmac``: per multiply-add of a regular convolution whose window has more than 64
# values (the whole-word kernels on Cortex-M4F / M7, the portable C elsewhere), fitted to
# the plain Conv2D CNN of benchmarks/bench_nets.py (2026-12-01). ``pick``: ``predict``'s
# class from the final softmax's input (ml_nets_q7_softmax_argmax: a scan and one exp)
# in place of that softmax and its dequantization, when the table ends with them; the
# estimate assumes the class is certain (the usual case; a near tie runs the softmax
# too). Cortex-M4F / M7 and M0+ refitted with it (2026-12-01: MLP within 1%, CNN 3%,
# plain CNN 0%). ``bmac``: per multiply-add of the ops whose weights are stored in blocks
# (Cortex-M4F / M7, :func:`_blocked_ops`), refitted with them. Flash: 100 B for that
# class pick, ``pair_code`` for the two-pixel kernel on gathered windows
# (ML_NETS_Q7_K_PAIR_SMALL), ``blk_code`` for the blocked rows' kernel, less
# ``rows_code`` when every dense op is blocked and no convolution needs the other row
# kernels (Cortex-M4F / M7)
_COST_INT8 = {
    "cortex-m4f": dict(frame=600, mac=1.315, bmac=1.04, wmac=0.827, out=36.6, elem=20.0,
                       pick=200, code=730, base=0, pair_code=600, blk_code=550,
                       rows_code=1530),
    "cortex-m7": dict(frame=600, mac=1.315, bmac=1.04, wmac=0.827, out=36.6, elem=20.0,
                      pick=200, code=730, base=0, pair_code=600, blk_code=550,
                      rows_code=1530),
    "cortex-m0plus": dict(frame=300, mac=21.2, wmac=6.80, out=20.5, elem=20.0, pick=600,
                          code=728, base=3088),
    "rv32imc": dict(frame=300, mac=15.0, wmac=5.07, out=5.0, elem=20.0, pick=400, code=728,
                    base=3088),
    "host": dict(frame=300, mac=2.0, wmac=2.0, out=15.0, elem=4.0, pick=100, code=633,
                 base=580),
}


def macs_int8(ir: NetIR) -> tuple[int, int]:
    """(multiply-adds, other output elements) of one inference."""
    macs, _, other = _macs_split(ir)
    return macs, other


def _macs_split(ir: NetIR) -> tuple[int, int, int]:
    """(multiply-adds, those of regular convolutions with windows of more than 64 values,
    other output elements) of one inference."""
    T = ir.tensors
    macs = wide = other = 0
    for op in ir.ops:
        y = T[op.outputs[0]]
        if op.kind in ("dense", "conv2d", "depthwise_conv2d"):
            w = T[op.inputs[1]]
            per = w.size // (w.shape[0] if op.kind != "depthwise_conv2d" else w.shape[-1])
            macs += y.size * per
            if op.kind == "conv2d" and per > _WINDOW_MAX:
                wide += y.size * per
        elif op.kind != "reshape":
            other += y.size
    return macs, wide, other


def estimate_int8(ir: NetIR, target: str, X: np.ndarray | None):
    """Footprint estimate of the int8 C: flash (tables + the kernels of the op kinds
    used), stack (the int8 arena + a frame), instructions per row (the same for every
    row)."""
    from ...family import Estimate

    if target not in _COST_INT8:
        raise ValueError(f"target={target!r} is not one of {sorted(_COST_INT8)}")
    c = _COST_INT8[target]
    macs, wide, other = _macs_split(ir)
    n_out = sum(ir.tensors[o.outputs[0]].size for o in ir.ops
                if o.kind in ("dense", "conv2d", "depthwise_conv2d"))
    recs = _records(ir, plan_int8(ir))[0]
    pick = 0.0
    if ir.kind == "classifier" and _softmax_last(recs):
        # predict: the class from the softmax's input, not its 2 x depth outputs
        other -= 2 * int(recs[-2]["g"][1])
        pick = c["pick"]
    blk = _blocked_ops(recs, ir) if "bmac" in c else []
    bmacs = sum(_rows(r)[0] * _rows(r)[1] * _n_rows(r) for r in blk)
    instr = None
    if X is not None:
        per = (c["mac"] * (macs - wide - bmacs) + c.get("bmac", 0.0) * bmacs
               + c["wmac"] * wide + c["out"] * n_out + c["elem"] * other + pick)
        instr = np.full(len(X), float(per))
    kinds = {int(r["kind"]) for r in recs}
    flash = (data_bytes_int8(ir) + c["base"] + c["code"] * len(kinds) + (100 if pick else 0)
             + (c.get("pair_code", 0) if _conv_kernels(recs)[0] & 4 else 0))
    if blk:
        flash += c["blk_code"]
        if _KIND["conv2d"] not in kinds and all(any(r is b for b in blk) for r in recs
                                                if r["kind"] == _KIND["dense"]):
            flash -= c["rows_code"]
    return Estimate(flash_bytes=int(flash), ram_bytes=0,
                    stack_bytes=int(arena_bytes_int8(ir) + c["frame"]), instructions=instr)


def describe_int8(ir: NetIR) -> str:
    """One line: the int8 network, its arena and its agreement with the float model."""
    kinds: dict[str, int] = {}
    for op in ir.ops:
        if op.kind not in ("quantize", "dequantize", "reshape"):
            kinds[op.kind] = kinds.get(op.kind, 0) + 1
    ops = ", ".join(f"{k} x{n}" if n > 1 else k for k, n in kinds.items())
    n_w = sum(t.size for t in ir.tensors.values() if t.data is not None and t.dtype == "int8")
    macs, _ = macs_int8(ir)
    shape = "x".join(str(d) for d in ir.input_shape) or str(ir.n_features)
    text = (f"{ir.source}: int8 net (TFLite integer spec, bit-exact with TFLite Micro), "
            f"input {shape}, {ops}, {n_w} int8 weights, {macs} MACs; arena "
            f"{arena_bytes_int8(ir)} bytes")
    rep = ir.quant_report
    if rep:
        text += (f"; vs the float model on {rep['rows']} calibration rows: max |diff| "
                 f"{rep['max_abs_diff']:.3g}")
        if "argmax_agreement" in rep:
            text += f", same class {100 * rep['argmax_agreement']:.1f}%"
    return text
