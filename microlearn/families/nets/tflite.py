"""TFLite flatbuffers <-> :class:`~microlearn.families.nets.ir.NetIR`, without TensorFlow.

:func:`read_tflite` parses a ``.tflite`` file (a path or its bytes; float32 or int8 models,
e.g. from TensorFlow's converter or Edge Impulse) with a small flatbuffer reader of its own
(the handful of schema tables a network needs: Model, OperatorCode, SubGraph, Tensor,
QuantizationParameters, Buffer, Operator and the option tables of the supported ops).
:func:`write_tflite` writes a NetIR back as a ``.tflite`` flatbuffer, with the
``flatbuffers`` runtime package's builder (imported only when writing).

Supported TFLite operators (:data:`SUPPORTED_OPS`): FULLY_CONNECTED, CONV_2D,
DEPTHWISE_CONV_2D, MAX_POOL_2D, AVERAGE_POOL_2D, MEAN (over height and width: global
average pooling), RESHAPE, SQUEEZE, PAD, ADD, MUL, CONCATENATION, SOFTMAX, LOGISTIC, TANH,
RELU, RELU6, LEAKY_RELU, HARD_SWISH, QUANTIZE, DEQUANTIZE, with their fused activations
(NONE, RELU, RELU6). Anything else raises :class:`~microlearn.errors.ConversionError`
naming the operator and listing these.

Layouts: TFLite's constant layouts are the IR's (dense ``W[out, in]``, conv
``W[out, kh, kw, in]``, depthwise ``W[1, kh, kw, in * multiplier]``), so weights are taken
as they are. Activation tensors lose their leading batch dimension; SAME/VALID padding
becomes explicit ``((top, bottom), (left, right))`` (TFLite's rule: the odd pixel goes
after).
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

from ...errors import ConversionError
from .ir import NetIR, Op, Tensor, broadcast_period

# --- schema constants (tensorflow/lite/schema/schema.fbs) -----------------------------

#: builtin operator code -> name, for the operators this module reads and writes
BUILTIN = {
    0: "ADD", 1: "AVERAGE_POOL_2D", 2: "CONCATENATION", 3: "CONV_2D",
    4: "DEPTHWISE_CONV_2D", 6: "DEQUANTIZE", 9: "FULLY_CONNECTED", 14: "LOGISTIC",
    17: "MAX_POOL_2D", 18: "MUL", 19: "RELU", 21: "RELU6", 22: "RESHAPE", 25: "SOFTMAX",
    28: "TANH", 34: "PAD", 40: "MEAN", 43: "SQUEEZE", 98: "LEAKY_RELU", 114: "QUANTIZE",
    117: "HARD_SWISH",
}
_CODE = {name: code for code, name in BUILTIN.items()}
#: the TFLite operators :func:`read_tflite` converts
SUPPORTED_OPS = tuple(sorted(BUILTIN.values()))

_TYPES = {0: "float32", 2: "int32", 7: "int16", 9: "int8", 3: "uint8", 4: "int64"}
_TYPE_CODE = {"float32": 0, "int32": 2, "int16": 7, "int8": 9}
_FUSED = {0: "linear", 1: "relu", 3: "relu6", 4: "tanh"}
_FUSED_CODE = {"linear": 0, "relu": 1, "relu6": 3}

# builtin_options union type per operator, for the writer
_OPTIONS_TYPE = {
    "CONV_2D": 1, "DEPTHWISE_CONV_2D": 2, "AVERAGE_POOL_2D": 5, "MAX_POOL_2D": 5,
    "FULLY_CONNECTED": 8, "SOFTMAX": 9, "CONCATENATION": 10, "ADD": 11, "RESHAPE": 17,
    "MUL": 21, "PAD": 22, "MEAN": 27, "LEAKY_RELU": 75,
}


# --- a minimal flatbuffer reader -------------------------------------------------------

class _Table:
    """A flatbuffer table at ``pos`` of ``buf`` (uoffset tables with vtables)."""

    __slots__ = ("buf", "pos", "vt", "vt_len")

    def __init__(self, buf: bytes, pos: int):
        if pos < 0 or pos + 4 > len(buf):
            raise ConversionError("not a valid .tflite file: table offset out of range")
        self.buf = buf
        self.pos = pos
        self.vt = pos - struct.unpack_from("<i", buf, pos)[0]
        if self.vt < 0 or self.vt + 4 > len(buf):
            raise ConversionError("not a valid .tflite file: vtable out of range")
        self.vt_len = struct.unpack_from("<H", buf, self.vt)[0]

    def _off(self, field: int) -> int:
        o = 4 + 2 * field
        if o + 2 > self.vt_len:
            return 0
        return struct.unpack_from("<H", self.buf, self.vt + o)[0]

    def scalar(self, field: int, fmt: str, default=0):
        o = self._off(field)
        return default if o == 0 else struct.unpack_from("<" + fmt, self.buf, self.pos + o)[0]

    def _target(self, field: int) -> int | None:
        o = self._off(field)
        if o == 0:
            return None
        p = self.pos + o
        return p + struct.unpack_from("<I", self.buf, p)[0]

    def table(self, field: int) -> _Table | None:
        t = self._target(field)
        return None if t is None else _Table(self.buf, t)

    def _vector(self, field: int) -> tuple[int, int] | None:
        t = self._target(field)
        if t is None:
            return None
        n = struct.unpack_from("<I", self.buf, t)[0]
        return t + 4, n

    def tables(self, field: int) -> list[_Table]:
        v = self._vector(field)
        if v is None:
            return []
        start, n = v
        if start + 4 * n > len(self.buf):
            raise ConversionError("not a valid .tflite file: vector out of range")
        out = []
        for i in range(n):
            p = start + 4 * i
            out.append(_Table(self.buf, p + struct.unpack_from("<I", self.buf, p)[0]))
        return out

    def array(self, field: int, dtype: str) -> np.ndarray | None:
        v = self._vector(field)
        if v is None:
            return None
        start, n = v
        dt = np.dtype(dtype).newbyteorder("<")
        if start + n * dt.itemsize > len(self.buf):
            raise ConversionError("not a valid .tflite file: vector out of range")
        return np.frombuffer(self.buf, dtype=dt, count=n, offset=start).astype(dtype)

    def string(self, field: int) -> str:
        a = self.array(field, "uint8")
        return "" if a is None else a.tobytes().decode("utf-8", "replace")


# --- reading -----------------------------------------------------------------------------

def _same_padding(size: int, k: int, stride: int, dilation: int) -> tuple[int, int]:
    eff = (k - 1) * dilation + 1
    out = (size + stride - 1) // stride
    total = max((out - 1) * stride + eff - size, 0)
    return total // 2, total - total // 2


def _explicit_padding(code: int, in_shape: tuple[int, ...], kh: int, kw: int,
                      strides: tuple[int, int], dilation: tuple[int, int]):
    if code == 1:  # VALID
        return ((0, 0), (0, 0))
    return (_same_padding(in_shape[0], kh, strides[0], dilation[0]),
            _same_padding(in_shape[1], kw, strides[1], dilation[1]))


def read_tflite(source: str | os.PathLike | bytes | bytearray | memoryview,
                kind: str | None = None) -> NetIR:
    """Read a ``.tflite`` flatbuffer into a :class:`NetIR`.

    Parameters
    ----------
    source : path or bytes
        The ``.tflite`` file, or its contents.
    kind : {"classifier", "regressor"} or None
        The task; None: a classifier when the graph ends in SOFTMAX (optionally followed
        by DEQUANTIZE), else a regressor.

    Returns
    -------
    NetIR
        Tensors named after the file's (made unique), ops in the file's order,
        ``quantized`` set when any activation tensor is int8.

    Raises
    ------
    ConversionError
        For an unsupported operator (the message names it and lists
        :data:`SUPPORTED_OPS`), several subgraphs/inputs/outputs, or a malformed file.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        buf = bytes(source)
    else:
        buf = Path(source).read_bytes()
    if kind not in (None, "classifier", "regressor"):
        raise ValueError(f"kind={kind!r}; allowed: 'classifier', 'regressor', None")
    try:
        return _read(buf, kind)
    except ConversionError:
        raise
    except (struct.error, IndexError, KeyError, ValueError, TypeError, OverflowError,
            UnicodeError) as e:
        raise ConversionError(f"malformed .tflite file ({type(e).__name__}: {e})") from None


def _read(buf: bytes, kind: str | None) -> NetIR:
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise ConversionError("not a .tflite file (the flatbuffer identifier 'TFL3' is "
                              "missing at bytes 4-7)")
    model = _Table(buf, struct.unpack_from("<I", buf, 0)[0])
    codes = []
    for oc in model.tables(1):
        dep = oc.scalar(0, "b", 0)
        code = max(int(dep), int(oc.scalar(3, "i", 0)))
        codes.append((code, oc.string(1)))
    buffers = []
    for b in model.tables(4):
        data = b.array(0, "uint8")
        off, size = b.scalar(1, "Q", 0), b.scalar(2, "Q", 0)
        if (data is None or data.size == 0) and off > 1 and size > 0:
            data = np.frombuffer(buf, np.uint8, count=size, offset=off)
        buffers.append(None if data is None or data.size == 0 else data.tobytes())
    subgraphs = model.tables(2)
    if len(subgraphs) != 1:
        raise ConversionError(f"the model has {len(subgraphs)} subgraphs; only single-"
                              "subgraph models are supported")
    sg = subgraphs[0]
    raw_tensors = sg.tables(0)
    inputs = list(sg.array(1, "int32"))
    outputs = list(sg.array(2, "int32"))
    if len(inputs) != 1 or len(outputs) != 1:
        raise ConversionError(f"the model has {len(inputs)} input(s) and {len(outputs)} "
                              "output(s); one of each is supported")

    # operators first: which tensors are activations
    ops_raw = []
    for op in sg.tables(3):
        code, custom = codes[op.scalar(0, "I", 0)]
        name = BUILTIN.get(code)
        if name is None:
            label = f"custom op {custom!r}" if custom else f"builtin operator {code}"
            raise ConversionError(
                f"the model uses {label}, which is not supported; supported TFLite "
                f"operators: {', '.join(SUPPORTED_OPS)}")
        ins = [int(i) for i in (op.array(1, "int32") if op.array(1, "int32") is not None
                                else [])]
        outs = [int(i) for i in op.array(2, "int32")]
        ops_raw.append((name, ins, outs, op.table(4)))

    names: list[str] = []
    seen: set[str] = set()
    for i, t in enumerate(raw_tensors):
        n = t.string(3) or f"t{i}"
        if n in seen:
            n = f"{n}_{i}"
        seen.add(n)
        names.append(n)

    tensors: dict[str, Tensor] = {}

    def tensor(i: int) -> Tensor:
        n = names[i]
        if n in tensors:
            return tensors[n]
        t = raw_tensors[i]
        shape = tuple(int(s) for s in (t.array(0, "int32") if t.array(0, "int32") is not None
                                       else []))
        tcode = t.scalar(1, "b", 0)
        dtype = _TYPES.get(tcode)
        if dtype is None or dtype in ("uint8", "int64"):
            raise ConversionError(f"tensor {n!r} has TFLite type {tcode}; supported: "
                                  "float32, int8, int16, int32")
        bidx = t.scalar(2, "I", 0)
        data = buffers[bidx] if 0 < bidx < len(buffers) else None
        arr = None
        if data is not None:
            arr = np.frombuffer(data, dtype=np.dtype(dtype).newbyteorder("<")).astype(dtype)
            arr = arr.reshape(shape) if shape else arr
        else:
            shape = shape[1:] if len(shape) >= 2 else shape
        scale = zp = None
        axis = -1
        q = t.table(4)
        if q is not None:
            s = q.array(2, "float32")
            if s is not None and s.size:
                scale = s.astype(np.float32)
                z = q.array(3, "int64")
                zp = (np.zeros(s.size, np.int64) if z is None or z.size == 0 else z)
                zp = zp.astype(np.int32)
                if s.size > 1:
                    axis = int(q.scalar(6, "i", 0))
        tensors[n] = Tensor(n, shape, dtype, arr, scale, zp, axis)
        return tensors[n]

    def options_int(opt, field, default=0, fmt="i"):
        return default if opt is None else opt.scalar(field, fmt, default)

    ir_ops: list[Op] = []
    for idx, (name, ins, outs, opt) in enumerate(ops_raw):
        x = tensor(ins[0])
        y = tensor(outs[0])
        label = f"{name.lower()}_{idx}"
        act = "linear"
        if name in ("FULLY_CONNECTED", "ADD", "MUL"):
            code = options_int(opt, 0, 0, "b")
            act = _fused(code, name)
        if name == "FULLY_CONNECTED":
            w = tensor(ins[1])
            if w.data is None:
                raise ConversionError(f"{label}: non-constant FULLY_CONNECTED weights are "
                                      "not supported")
            if len(x.shape) != 1 and len(y.shape) <= 1:  # keep_num_dims=False: flatten
                flat = Tensor(f"{x.name}__flat", (x.size,), x.dtype, None, x.scale,
                              x.zero_point)
                tensors[flat.name] = flat
                ir_ops.append(Op("reshape", (x.name,), (flat.name,), {}, label))
                x = flat
            b = _bias(tensors, ins, w, x, label, w.shape[0], tensor)
            ir_ops.append(Op("dense", (x.name, w.name, b.name), (y.name,),
                             {"activation": act}, label))
        elif name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            w = tensor(ins[1])
            dw = name == "DEPTHWISE_CONV_2D"
            fused_field = 4 if dw else 3
            act = _fused(options_int(opt, fused_field, 0, "b"), name)
            strides = (options_int(opt, 2, 1), options_int(opt, 1, 1))
            dil = ((options_int(opt, 6, 1), options_int(opt, 5, 1)) if dw else
                   (options_int(opt, 5, 1), options_int(opt, 4, 1)))
            pad = _explicit_padding(options_int(opt, 0, 0, "b"), x.shape, w.shape[1],
                                    w.shape[2], strides, dil)
            b = _bias(tensors, ins, w, x, label, w.shape[3] if dw else w.shape[0], tensor)
            attrs = {"strides": strides, "dilation": dil, "padding": pad, "activation": act}
            if dw:
                attrs["multiplier"] = int(w.shape[3] // x.shape[2])
            ir_ops.append(Op("depthwise_conv2d" if dw else "conv2d",
                             (x.name, w.name, b.name), (y.name,), attrs, label))
        elif name in ("MAX_POOL_2D", "AVERAGE_POOL_2D"):
            strides = (options_int(opt, 2, 1), options_int(opt, 1, 1))
            pool = (options_int(opt, 4, 1), options_int(opt, 3, 1))
            act = _fused(options_int(opt, 5, 0, "b"), name)
            pad = _explicit_padding(options_int(opt, 0, 0, "b"), x.shape, pool[0], pool[1],
                                    strides, (1, 1))
            kind_ = "max_pool2d" if name == "MAX_POOL_2D" else "avg_pool2d"
            if act != "linear":
                mid = _intermediate(tensors, y, "__pool")
                ir_ops.append(Op(kind_, (x.name,), (mid.name,),
                                 {"pool": pool, "strides": strides, "padding": pad}, label))
                ir_ops.append(Op("activation", (mid.name,), (y.name,),
                                 {"activation": act, "alpha": 0.0}, label))
            else:
                ir_ops.append(Op(kind_, (x.name,), (y.name,),
                                 {"pool": pool, "strides": strides, "padding": pad}, label))
        elif name == "MEAN":
            axes = tensor(ins[1]).data
            axes = sorted(int(a) % (len(x.shape) + 1) for a in np.ravel(axes))
            if len(x.shape) != 3 or axes != [1, 2]:
                raise ConversionError(f"{label}: MEAN is supported over height and width "
                                      f"of an image (axes [1, 2]); got axes {axes}")
            ir_ops.append(Op("global_avg_pool", (x.name,), (y.name,), {}, label))
        elif name in ("RESHAPE", "SQUEEZE"):
            ir_ops.append(Op("reshape", (x.name,), (y.name,), {}, label))
        elif name == "PAD":
            p = tensor(ins[1]).data.reshape(-1, 2)
            if len(x.shape) != 3 or p.shape[0] != 4 or p[0].any() or p[3].any():
                raise ConversionError(f"{label}: PAD is supported on the height and width "
                                      "of an image only")
            ir_ops.append(Op("pad", (x.name,), (y.name,),
                             {"padding": ((int(p[1, 0]), int(p[1, 1])),
                                          (int(p[2, 0]), int(p[2, 1])))}, label))
        elif name in ("ADD", "MUL"):
            first, other = x, tensor(ins[1])
            if first.shape != other.shape:
                # broadcasting: the smaller operand second (both ops commute, in float and
                # in TFLite's integer arithmetic); it must repeat over the larger one
                if broadcast_period(first.shape, other.shape) is None:
                    first, other = other, first
                if (broadcast_period(first.shape, other.shape) is None
                        or first.shape != y.shape):
                    raise ConversionError(
                        f"{label}: {name} of shapes {x.shape} and {tensor(ins[1]).shape}: "
                        "broadcasting is supported where the smaller input varies along the "
                        "last axes only (e.g. (1, 1, C) against (H, W, C))")
            ir_ops.append(Op(name.lower(), (first.name, other.name), (y.name,),
                             {"activation": act}, label))
        elif name == "CONCATENATION":
            axis = options_int(opt, 0, 0)
            act = _fused(options_int(opt, 1, 0, "b"), name)
            if act != "linear":
                raise ConversionError(f"{label}: fused activation on CONCATENATION is not "
                                      "supported")
            rank = len(y.shape) + 1
            axis = axis + rank if axis < 0 else axis
            if axis == 0:
                raise ConversionError(f"{label}: CONCATENATION along the batch axis is not "
                                      "supported")
            ir_ops.append(Op("concat", tuple(tensor(i).name for i in ins), (y.name,),
                             {"axis": axis - 1}, label))
        elif name == "SOFTMAX":
            beta = 1.0 if opt is None else float(opt.scalar(0, "f", 1.0))
            ir_ops.append(Op("softmax", (x.name,), (y.name,), {"beta": beta}, label))
        elif name in ("LOGISTIC", "TANH", "RELU", "RELU6", "LEAKY_RELU", "HARD_SWISH"):
            a = {"LOGISTIC": "sigmoid", "TANH": "tanh", "RELU": "relu", "RELU6": "relu6",
                 "LEAKY_RELU": "leaky_relu", "HARD_SWISH": "hard_swish"}[name]
            alpha = float(opt.scalar(0, "f", 0.0)) if (opt is not None and
                                                      name == "LEAKY_RELU") else 0.0
            ir_ops.append(Op("activation", (x.name,), (y.name,),
                             {"activation": a, "alpha": alpha}, label))
        elif name in ("QUANTIZE", "DEQUANTIZE"):
            ir_ops.append(Op(name.lower(), (x.name,), (y.name,), {}, label))
        else:  # pragma: no cover - BUILTIN and this chain list the same operators
            raise ConversionError(f"{label}: {name} is not supported")

    x_in = tensor(inputs[0])
    y_out = tensor(outputs[0])
    if kind is None:
        last = [o.kind for o in ir_ops[-2:]]
        kind = "classifier" if "softmax" in last and (
            last[-1] in ("softmax", "dequantize")) else "regressor"
    used = {n for o in ir_ops for n in (*o.inputs, *o.outputs)} | {x_in.name, y_out.name}
    tensors = {n: t for n, t in tensors.items() if n in used}
    quantized = any(t.dtype == "int8" and t.data is None for t in tensors.values())
    return NetIR(source="tflite", kind=kind, tensors=tensors, ops=ir_ops, input=x_in.name,
                 output=y_out.name,
                 classes=np.arange(y_out.size) if kind == "classifier" else None,
                 input_shape=x_in.shape, quantized=quantized)


def _fused(code: int, op: str) -> str:
    act = _FUSED.get(int(code))
    if act is None:
        raise ConversionError(f"{op}: fused activation code {code} is not supported "
                              "(supported: NONE, RELU, RELU6, TANH)")
    return act


def _intermediate(tensors: dict[str, Tensor], like: Tensor, suffix: str) -> Tensor:
    t = Tensor(like.name + suffix, like.shape, like.dtype, None, like.scale, like.zero_point)
    tensors[t.name] = t
    return t


def _bias(tensors: dict[str, Tensor], ins: list[int], w: Tensor, x: Tensor, label: str,
          n: int, get) -> Tensor:
    """The op's bias tensor (``get(index)``); a zero bias when the op has none (-1)."""
    if len(ins) > 2 and ins[2] >= 0:
        return get(ins[2])
    name = f"{label}__zero_bias"
    if w.dtype == "int8":
        s = (np.float32(x.scale[0]) * w.scale.astype(np.float32)).astype(np.float32) \
            if x.scale is not None and w.scale is not None else None
        t = Tensor(name, (n,), "int32", np.zeros(n, np.int32), s,
                   None if s is None else np.zeros(s.size, np.int32), 0 if s is not None
                   and s.size > 1 else -1)
    else:
        t = Tensor(name, (n,), "float32", np.zeros(n, np.float32))
    tensors[name] = t
    return t


# --- writing -----------------------------------------------------------------------------

class _Writer:
    """Collects TFLite tensors, buffers and operators, then builds the flatbuffer."""

    def __init__(self, ir: NetIR, batch: int):
        self.ir = ir
        self.batch = batch
        self.tensors: list[dict] = []
        self.index: dict[str, int] = {}
        self.buffers: list[bytes] = [b""]
        self.codes: list[int] = []
        self.ops: list[dict] = []

    def tensor(self, name: str) -> int:
        if name in self.index:
            return self.index[name]
        t = self.ir.tensors[name]
        if t.data is not None:
            shape = tuple(t.data.shape)
            self.buffers.append(np.ascontiguousarray(t.data, dtype=t.dtype)
                                .astype(np.dtype(t.dtype).newbyteorder("<")).tobytes())
            buf = len(self.buffers) - 1
        else:
            shape = (self.batch, *t.shape)
            buf = 0
        return self._add(name, shape, t.dtype, buf, t.scale, t.zero_point, t.quant_axis)

    def _add(self, name, shape, dtype, buf, scale=None, zp=None, axis=-1) -> int:
        if dtype not in _TYPE_CODE:
            raise ConversionError(f"tensor {name!r}: dtype {dtype} cannot be written")
        self.tensors.append({"name": name, "shape": [int(s) for s in shape],
                             "type": _TYPE_CODE[dtype], "buffer": buf,
                             "scale": None if scale is None else np.asarray(scale, np.float32),
                             "zp": None if zp is None else np.asarray(zp, np.int64),
                             "axis": max(int(axis), 0)})
        self.index[name] = len(self.tensors) - 1
        return self.index[name]

    def const(self, name: str, arr: np.ndarray) -> int:
        arr = np.ascontiguousarray(arr)
        self.buffers.append(arr.astype(arr.dtype.newbyteorder("<")).tobytes())
        return self._add(name, arr.shape, str(arr.dtype), len(self.buffers) - 1)

    def temp(self, name: str, like: str, shape: tuple[int, ...]) -> int:
        t = self.ir.tensors[like]
        return self._add(name, (self.batch, *shape), t.dtype, 0, t.scale, t.zero_point)

    def op(self, opname: str, ins: list[int], outs: list[int], options: dict | None = None):
        code = _CODE[opname]
        if code not in self.codes:
            self.codes.append(code)
        self.ops.append({"code": self.codes.index(code), "name": opname, "in": ins,
                         "out": outs, "opt": options or {}})

    # - builder -
    def build(self) -> bytes:
        import flatbuffers

        b = flatbuffers.Builder(1024)

        def i32vec(vals):
            b.StartVector(4, len(vals), 4)
            for v in reversed(vals):
                b.PrependInt32(int(v))
            return b.EndVector()

        def offvec(offs):
            b.StartVector(4, len(offs), 4)
            for o in reversed(offs):
                b.PrependUOffsetTRelative(o)
            return b.EndVector()

        buf_offs = []
        for data in self.buffers:
            if data:
                b.StartVector(1, len(data), 16)
                b.head = b.head - len(data)
                b.Bytes[b.head:b.head + len(data)] = data
                vec = b.EndVector()
                b.StartObject(3)
                b.PrependUOffsetTRelativeSlot(0, vec, 0)
                buf_offs.append(b.EndObject())
            else:
                b.StartObject(3)
                buf_offs.append(b.EndObject())

        t_offs = []
        for t in self.tensors:
            q = None
            if t["scale"] is not None:
                s = t["scale"]
                b.StartVector(4, s.size, 4)
                for v in reversed(s):
                    b.PrependFloat32(float(v))
                sv = b.EndVector()
                zp = t["zp"] if t["zp"] is not None else np.zeros(s.size, np.int64)
                b.StartVector(8, zp.size, 8)
                for v in reversed(zp):
                    b.PrependInt64(int(v))
                zv = b.EndVector()
                b.StartObject(7)
                b.PrependUOffsetTRelativeSlot(2, sv, 0)
                b.PrependUOffsetTRelativeSlot(3, zv, 0)
                b.PrependInt32Slot(6, t["axis"], 0)
                q = b.EndObject()
            name = b.CreateString(t["name"])
            shape = i32vec(t["shape"])
            b.StartObject(10)
            b.PrependUOffsetTRelativeSlot(0, shape, 0)
            b.PrependInt8Slot(1, t["type"], 0)
            b.PrependUint32Slot(2, t["buffer"], 0)
            b.PrependUOffsetTRelativeSlot(3, name, 0)
            if q is not None:
                b.PrependUOffsetTRelativeSlot(4, q, 0)
            t_offs.append(b.EndObject())

        op_offs = []
        for op in self.ops:
            opt = self._options(b, op["name"], op["opt"], i32vec)
            ins = i32vec(op["in"])
            outs = i32vec(op["out"])
            b.StartObject(5)
            b.PrependUint32Slot(0, op["code"], 0)
            b.PrependUOffsetTRelativeSlot(1, ins, 0)
            b.PrependUOffsetTRelativeSlot(2, outs, 0)
            if opt is not None:
                b.PrependUint8Slot(3, _OPTIONS_TYPE[op["name"]], 0)
                b.PrependUOffsetTRelativeSlot(4, opt, 0)
            op_offs.append(b.EndObject())

        tv = offvec(t_offs)
        iv = i32vec([self.index[self.ir.input]])
        ov = i32vec([self.index[self.ir.output]])
        opv = offvec(op_offs)
        sgname = b.CreateString("main")
        b.StartObject(5)
        b.PrependUOffsetTRelativeSlot(0, tv, 0)
        b.PrependUOffsetTRelativeSlot(1, iv, 0)
        b.PrependUOffsetTRelativeSlot(2, ov, 0)
        b.PrependUOffsetTRelativeSlot(3, opv, 0)
        b.PrependUOffsetTRelativeSlot(4, sgname, 0)
        sg = b.EndObject()

        oc_offs = []
        for code in self.codes:
            b.StartObject(4)
            b.PrependInt8Slot(0, min(code, 127), 0)
            b.PrependInt32Slot(2, 1, 1)
            b.PrependInt32Slot(3, code, 0)
            oc_offs.append(b.EndObject())
        ocv = offvec(oc_offs)
        sgv = offvec([sg])
        bv = offvec(buf_offs)
        desc = b.CreateString("microlearn")
        b.StartObject(8)
        b.PrependUint32Slot(0, 3, 0)
        b.PrependUOffsetTRelativeSlot(1, ocv, 0)
        b.PrependUOffsetTRelativeSlot(2, sgv, 0)
        b.PrependUOffsetTRelativeSlot(3, desc, 0)
        b.PrependUOffsetTRelativeSlot(4, bv, 0)
        root = b.EndObject()
        b.Finish(root, file_identifier=b"TFL3")
        return bytes(b.Output())

    @staticmethod
    def _options(b, name: str, o: dict, i32vec):
        if name not in _OPTIONS_TYPE:
            return None
        if name == "RESHAPE":
            v = i32vec(o["new_shape"])
            b.StartObject(1)
            b.PrependUOffsetTRelativeSlot(0, v, 0)
            return b.EndObject()
        if name == "CONV_2D":
            b.StartObject(7)
            b.PrependInt8Slot(0, o["padding"], 0)
            b.PrependInt32Slot(1, o["stride_w"], 0)
            b.PrependInt32Slot(2, o["stride_h"], 0)
            b.PrependInt8Slot(3, o["act"], 0)
            b.PrependInt32Slot(4, o["dil_w"], 1)
            b.PrependInt32Slot(5, o["dil_h"], 1)
            return b.EndObject()
        if name == "DEPTHWISE_CONV_2D":
            b.StartObject(7)
            b.PrependInt8Slot(0, o["padding"], 0)
            b.PrependInt32Slot(1, o["stride_w"], 0)
            b.PrependInt32Slot(2, o["stride_h"], 0)
            b.PrependInt32Slot(3, o["multiplier"], 0)
            b.PrependInt8Slot(4, o["act"], 0)
            b.PrependInt32Slot(5, o["dil_w"], 1)
            b.PrependInt32Slot(6, o["dil_h"], 1)
            return b.EndObject()
        if name in ("MAX_POOL_2D", "AVERAGE_POOL_2D"):
            b.StartObject(6)
            b.PrependInt8Slot(0, o["padding"], 0)
            b.PrependInt32Slot(1, o["stride_w"], 0)
            b.PrependInt32Slot(2, o["stride_h"], 0)
            b.PrependInt32Slot(3, o["filter_w"], 0)
            b.PrependInt32Slot(4, o["filter_h"], 0)
            b.PrependInt8Slot(5, 0, 0)
            return b.EndObject()
        if name in ("FULLY_CONNECTED", "ADD", "MUL"):
            b.StartObject(5)
            b.PrependInt8Slot(0, o.get("act", 0), 0)
            return b.EndObject()
        if name == "SOFTMAX":
            b.StartObject(1)
            b.PrependFloat32Slot(0, o["beta"], 0.0)
            return b.EndObject()
        if name == "CONCATENATION":
            b.StartObject(2)
            b.PrependInt32Slot(0, o["axis"], 0)
            return b.EndObject()
        if name == "MEAN":
            b.StartObject(1)
            b.PrependBoolSlot(0, o["keep_dims"], False)
            return b.EndObject()
        if name == "LEAKY_RELU":
            b.StartObject(1)
            b.PrependFloat32Slot(0, o["alpha"], 0.0)
            return b.EndObject()
        b.StartObject(1)  # PAD: an empty table
        return b.EndObject()


def _padding_code(attrs: dict, in_shape, kh: int, kw: int) -> int | None:
    """0 (SAME) / 1 (VALID) when the explicit padding is one of them, else None."""
    pad = tuple(tuple(int(v) for v in p) for p in attrs["padding"])
    if pad == ((0, 0), (0, 0)):
        return 1
    same = _explicit_padding(0, in_shape, kh, kw, tuple(attrs["strides"]),
                             tuple(attrs.get("dilation", (1, 1))))
    return 0 if pad == same else None


def write_tflite(ir: NetIR, path: str | os.PathLike | None = None, batch: int = 1) -> bytes:
    """Write a :class:`NetIR` as a ``.tflite`` flatbuffer (needs the ``flatbuffers`` package).

    Parameters
    ----------
    ir : NetIR
        The network (float32 or int8 with quantization parameters).
    path : path or None
        Where to write the file (also returned as bytes).
    batch : int
        The leading (batch) dimension of the activation tensors (1 for devices; a larger
        batch lets a host interpreter run many rows in one call).

    Returns
    -------
    bytes
        The flatbuffer.

    Raises
    ------
    ConversionError
        For an op or setting TFLite cannot express (e.g. ELU, or average pooling with
        padding other than SAME/VALID).
    """
    w = _Writer(ir, int(batch))
    for k, op in enumerate(ir.ops):
        _write_op(w, ir, op, k)
    data = w.build()
    if path is not None:
        Path(path).write_bytes(data)
    return data


def _write_bias(w: _Writer, ir: NetIR, op: Op) -> int:
    """The bias tensor of a dense/conv op; a float layer without one (Keras
    ``use_bias=False``, the depthwise half of SeparableConv2D) gets a zero bias, which
    every TFLite kernel accepts (int8 ops always carry an int32 bias from quantization)."""
    if len(op.inputs) > 2:
        return w.tensor(op.inputs[2])
    wt = ir.tensors[op.inputs[1]].shape
    n_out = wt[-1] if op.kind == "depthwise_conv2d" else wt[0]
    return w.const(f"{op.outputs[0]}__zero_bias", np.zeros(n_out, np.float32))


def _write_op(w: _Writer, ir: NetIR, op: Op, k: int) -> None:
    T = ir.tensors
    a = op.attrs
    act = a.get("activation", "linear")
    y_name = op.outputs[0]
    post = None
    if op.kind in ("dense", "conv2d", "depthwise_conv2d", "add", "mul") and \
            act not in _FUSED_CODE:
        post = act  # written as a separate activation op after the linear one
    y = w.tensor(y_name) if post is None else w.temp(f"{y_name}__pre", y_name,
                                                      T[y_name].shape)
    act_code = _FUSED_CODE.get(act, 0)
    x = op.inputs[0]
    if op.kind == "dense":
        w.op("FULLY_CONNECTED", [w.tensor(x), w.tensor(op.inputs[1]), _write_bias(w, ir, op)],
             [y], {"act": act_code})
    elif op.kind in ("conv2d", "depthwise_conv2d"):
        wt = T[op.inputs[1]]
        xin = T[x].shape
        code = _padding_code(a, xin, wt.shape[1], wt.shape[2])
        xi = w.tensor(x)
        if code is None:
            (t, bb), (lft, r) = a["padding"]
            padded = (xin[0] + t + bb, xin[1] + lft + r, xin[2])
            pv = w.const(f"{y_name}__paddings", np.array(
                [[0, 0], [t, bb], [lft, r], [0, 0]], np.int32))
            mid = w.temp(f"{y_name}__padded", x, padded)
            w.op("PAD", [xi, pv], [mid])
            xi, code = mid, 1
        dil = a.get("dilation", (1, 1))
        opts = {"padding": code, "stride_h": a["strides"][0], "stride_w": a["strides"][1],
                "dil_h": dil[0], "dil_w": dil[1], "act": act_code}
        if op.kind == "depthwise_conv2d":
            opts["multiplier"] = a.get("multiplier", 1)
        w.op("CONV_2D" if op.kind == "conv2d" else "DEPTHWISE_CONV_2D",
             [xi, w.tensor(op.inputs[1]), _write_bias(w, ir, op)], [y], opts)
    elif op.kind in ("max_pool2d", "avg_pool2d"):
        ph, pw = a["pool"]
        code = _padding_code(a, T[x].shape, ph, pw)
        if code is None:
            raise ConversionError(f"{op.name or op.kind}: pooling padding {a['padding']} is "
                                  "neither SAME nor VALID; TFLite cannot express it")
        w.op("MAX_POOL_2D" if op.kind == "max_pool2d" else "AVERAGE_POOL_2D", [w.tensor(x)],
             [y], {"padding": code, "stride_h": a["strides"][0], "stride_w": a["strides"][1],
                   "filter_h": ph, "filter_w": pw})
    elif op.kind in ("global_avg_pool", "global_max_pool"):
        xs = T[x].shape
        keep = len(T[y_name].shape) == 3
        if op.kind == "global_avg_pool":
            axes = w.const(f"{y_name}__axes", np.array([1, 2], np.int32))
            w.op("MEAN", [w.tensor(x), axes], [y], {"keep_dims": keep})
        else:
            dst = y if keep else w.temp(f"{y_name}__pooled", y_name, (1, 1, xs[2]))
            w.op("MAX_POOL_2D", [w.tensor(x)], [dst],
                 {"padding": 1, "stride_h": 1, "stride_w": 1, "filter_h": xs[0],
                  "filter_w": xs[1]})
            if not keep:
                shp = w.const(f"{y_name}__shape", np.array([-1, xs[2]], np.int32))
                w.op("RESHAPE", [dst, shp], [y], {"new_shape": [-1, xs[2]]})
    elif op.kind == "reshape":
        shape = [w.batch, *T[y_name].shape]
        shp = w.const(f"{y_name}__shape", np.array(shape, np.int32))
        w.op("RESHAPE", [w.tensor(x), shp], [y], {"new_shape": shape})
    elif op.kind == "pad":
        (t, bb), (lft, r) = a["padding"]
        pv = w.const(f"{y_name}__paddings", np.array([[0, 0], [t, bb], [lft, r], [0, 0]],
                                                      np.int32))
        w.op("PAD", [w.tensor(x), pv], [y])
    elif op.kind in ("add", "mul"):
        w.op(op.kind.upper(), [w.tensor(x), w.tensor(op.inputs[1])], [y], {"act": act_code})
    elif op.kind == "concat":
        axis = int(a["axis"]) % len(T[y_name].shape)  # Keras imports count from the end
        w.op("CONCATENATION", [w.tensor(n) for n in op.inputs], [y], {"axis": axis + 1})
    elif op.kind == "softmax":
        w.op("SOFTMAX", [w.tensor(x)], [y], {"beta": float(a.get("beta", 1.0))})
    elif op.kind == "activation":
        _write_activation(w, act, a.get("alpha", 0.0), w.tensor(x), y, op)
    elif op.kind == "scale_shift":
        if T[x].dtype != "float32":
            raise ConversionError(f"{op.name or op.kind}: int8 scale_shift cannot be written")
        mid = w.temp(f"{y_name}__scaled", y_name, T[y_name].shape)
        w.op("MUL", [w.tensor(x), w.tensor(op.inputs[1])], [mid], {"act": 0})
        w.op("ADD", [mid, w.tensor(op.inputs[2])], [y], {"act": 0})
    elif op.kind in ("quantize", "dequantize"):
        w.op(op.kind.upper(), [w.tensor(x)], [y])
    else:
        raise ConversionError(f"{op.name or op.kind}: op {op.kind!r} cannot be written as "
                              "TFLite")
    if post is not None:
        _write_activation(w, post, a.get("alpha", 0.0), y, w.tensor(y_name), op)


def _write_activation(w: _Writer, act: str, alpha: float, xi: int, yi: int, op: Op) -> None:
    names = {"relu": "RELU", "relu6": "RELU6", "sigmoid": "LOGISTIC", "tanh": "TANH",
             "leaky_relu": "LEAKY_RELU", "hard_swish": "HARD_SWISH"}
    if act == "linear":
        shape = w.tensors[yi]["shape"]
        shp = w.const(f"{w.tensors[yi]['name']}__shape", np.array(shape, np.int32))
        w.op("RESHAPE", [xi, shp], [yi], {"new_shape": shape})
        return
    if act not in names:
        raise ConversionError(f"{op.name or op.kind}: activation {act!r} has no TFLite "
                              f"operator here; writable: linear, {', '.join(names)}")
    w.op(names[act], [xi], [yi], {"alpha": float(alpha)} if act == "leaky_relu" else None)
