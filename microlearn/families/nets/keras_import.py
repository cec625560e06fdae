"""Keras 3 models (Sequential and Functional) -> :class:`~.ir.NetIR` (float32).

Keras is never imported here: layers are recognised by class name and read through their
public attributes and weights (``layer.kernel``, ``layer.get_config()``), so this module
loads without the optional ``keras`` extra. See ``convert.py`` for what is supported and
the tolerance.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import ConversionError
from .ir import ACTIVATION_ALPHA, NetIR, Op, Tensor, broadcast_period

U32 = 2.0**-24

#: Keras layers computed at inference (class name -> what they become)
LAYERS = {
    "Dense": "dense",
    "Conv1D": "conv2d",
    "Conv2D": "conv2d",
    "DepthwiseConv1D": "depthwise_conv2d",
    "DepthwiseConv2D": "depthwise_conv2d",
    "SeparableConv1D": "depthwise_conv2d + conv2d 1x1",
    "SeparableConv2D": "depthwise_conv2d + conv2d 1x1",
    "MaxPooling1D": "max_pool2d",
    "MaxPooling2D": "max_pool2d",
    "AveragePooling1D": "avg_pool2d",
    "AveragePooling2D": "avg_pool2d",
    "GlobalAveragePooling1D": "global_avg_pool",
    "GlobalAveragePooling2D": "global_avg_pool",
    "GlobalMaxPooling1D": "global_max_pool",
    "GlobalMaxPooling2D": "global_max_pool",
    "Flatten": "reshape",
    "Reshape": "reshape",
    "ZeroPadding1D": "pad",
    "ZeroPadding2D": "pad",
    "BatchNormalization": "folded into the previous dense/conv, else scale_shift",
    "Rescaling": "scale_shift",
    "Normalization": "scale_shift",
    "Activation": "activation / softmax",
    "ReLU": "activation",
    "LeakyReLU": "activation",
    "ELU": "activation",
    "Softmax": "softmax",
    "Add": "add",
    "Multiply": "mul",
    "Concatenate": "concat",
}
#: layers that do nothing at inference
SKIPPED = ("InputLayer", "Identity", "Dropout", "SpatialDropout1D", "SpatialDropout2D",
           "GaussianNoise", "GaussianDropout", "AlphaDropout", "ActivityRegularization")
#: Keras activation function names -> IR activations ("softmax": a separate op)
ACT_NAMES = {"linear": "linear", "relu": "relu", "relu6": "relu6", "leaky_relu": "leaky_relu",
             "elu": "elu", "selu": "selu", "sigmoid": "sigmoid",
             "hard_sigmoid": "hard_sigmoid", "tanh": "tanh", "silu": "swish",
             "swish": "swish", "hard_silu": "hard_swish", "hard_swish": "hard_swish",
             "softmax": "softmax"}


def supported_layers() -> str:
    """Comma-separated names of the supported Keras layers."""
    return ", ".join(sorted((*LAYERS, *SKIPPED)))


def _err(layer: Any, what: str) -> ConversionError:
    return ConversionError(f"Keras layer {type(layer).__name__} {layer.name!r}: {what}")


def _unsupported(layer: Any) -> ConversionError:
    return ConversionError(
        f"Keras layer {type(layer).__name__} {layer.name!r} is not supported; supported "
        f"layers: {supported_layers()}")


def _np(v: Any) -> np.ndarray:
    return np.asarray(v.numpy() if hasattr(v, "numpy") else v)


def _ir_shape(shape: tuple) -> tuple[int, ...]:
    """Keras shape without batch -> IR shape (rank 2 (L, C) becomes (1, L, C))."""
    s = tuple(int(d) for d in shape)
    return (1, *s) if len(s) == 2 else s


def _act(layer: Any, fn: Any) -> tuple[str, float]:
    """(IR activation or "softmax", alpha) of a Keras activation function."""
    name = getattr(fn, "__name__", str(fn))
    if name not in ACT_NAMES:
        raise _err(layer, f"activation {name!r} is not supported; supported: "
                          f"{', '.join(sorted(ACT_NAMES))}")
    act = ACT_NAMES[name]
    return act, float(ACTIVATION_ALPHA.get(act, 0.0))


class _Builder:
    """Accumulates tensors and ops while walking the Keras graph."""

    def __init__(self) -> None:
        self.tensors: dict[str, Tensor] = {}
        self.ops: list[Op] = []
        self.n = 0
        self.rank = 0  # Keras rank (with batch) of the current layer's first input
        self.in_shape: tuple[int, ...] = ()  # its Keras shape without batch

    def act(self, shape: tuple[int, ...], hint: str = "t") -> str:
        self.n += 1
        name = f"{hint}{self.n}"
        self.tensors[name] = Tensor(name, tuple(shape))
        return name

    def const(self, data: np.ndarray, hint: str) -> str:
        self.n += 1
        name = f"{hint}{self.n}"
        data = np.ascontiguousarray(data, dtype=np.float32)
        if not np.all(np.isfinite(data)):
            raise ConversionError(f"{hint}: non-finite weights")
        self.tensors[name] = Tensor(name, data.shape, data=data)
        return name

    def op(self, kind: str, inputs: list[str], out_shape: tuple[int, ...], attrs: dict,
           layer_name: str) -> str:
        out = self.act(out_shape)
        self.ops.append(Op(kind, tuple(inputs), (out,), dict(attrs), layer_name))
        return out

    def activation(self, x: str, act: str, alpha: float, layer_name: str) -> str:
        shape = self.tensors[x].shape
        if act == "linear":
            return x
        if act == "softmax":
            return self.op("softmax", [x], shape, {"beta": 1.0}, layer_name)
        return self.op("activation", [x], shape, {"activation": act, "alpha": alpha},
                       layer_name)


def _same_pad(n: int, k: int, s: int, d: int) -> tuple[int, int, int]:
    """(out, before, after) of TF/Keras "same" padding on one axis."""
    out = -(-n // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
    return out, total // 2, total - total // 2


def _geometry(layer: Any, in_shape: tuple[int, ...], kernel: tuple[int, int],
              strides: tuple[int, int], dilation: tuple[int, int], padding: str
              ) -> tuple[tuple[int, int], tuple[tuple[int, int], tuple[int, int]]]:
    """Output (H, W) and padding ((t, b), (l, r)) of a window op on (H, W, C)."""
    h, w = in_shape[0], in_shape[1]
    if padding == "valid":
        oh = (h - (kernel[0] - 1) * dilation[0] - 1) // strides[0] + 1
        ow = (w - (kernel[1] - 1) * dilation[1] - 1) // strides[1] + 1
        pad = ((0, 0), (0, 0))
    elif padding == "same":
        oh, t, b = _same_pad(h, kernel[0], strides[0], dilation[0])
        ow, left, r = _same_pad(w, kernel[1], strides[1], dilation[1])
        pad = ((t, b), (left, r))
    elif padding == "causal":
        left = (kernel[1] - 1) * dilation[1]
        ow = (w + left - (kernel[1] - 1) * dilation[1] - 1) // strides[1] + 1
        oh = h
        pad = ((0, 0), (left, 0))
    else:
        raise _err(layer, f"padding={padding!r} is not supported; supported: valid, same, "
                          "causal (1-D)")
    if oh < 1 or ow < 1:
        raise _err(layer, "the window is larger than the input")
    return (oh, ow), pad


def _pair(v: Any, one_d: bool) -> tuple[int, int]:
    v = tuple(int(i) for i in (v if isinstance(v, (tuple, list)) else (v,)))
    if one_d:
        return (1, v[0])
    return (v[0], v[1]) if len(v) == 2 else (v[0], v[0])


def _check_channels_last(layer: Any) -> None:
    fmt = getattr(layer, "data_format", "channels_last")
    if fmt not in (None, "channels_last"):
        raise _err(layer, f"data_format={fmt!r} is not supported; supported: channels_last")


def _layer(b: _Builder, layer: Any, ins: list[str], out_shape: tuple[int, ...]) -> str:
    """Ops of one layer call; returns the output tensor name."""
    cls = type(layer).__name__
    name = layer.name
    if cls in SKIPPED:
        return ins[0]
    if cls not in LAYERS:
        raise _unsupported(layer)
    x = ins[0]
    xs = b.tensors[x].shape
    if cls == "Dense":
        kernel = _np(layer.kernel)
        w = b.const(kernel.T, "w")
        inputs = [x, w]
        if layer.use_bias:
            inputs.append(b.const(_np(layer.bias), "b"))
        act, alpha = _act(layer, layer.activation)
        fused = act if act != "softmax" else "linear"
        y = b.op("dense", inputs, out_shape, {"activation": fused, "alpha": alpha}, name)
        return b.activation(y, "softmax", 1.0, name) if act == "softmax" else y
    if cls in ("Conv1D", "Conv2D", "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D",
               "SeparableConv2D"):
        _check_channels_last(layer)
        one_d = cls.endswith("1D")
        if getattr(layer, "groups", 1) != 1:
            raise _err(layer, f"groups={layer.groups} is not supported; supported: 1")
        ks = _pair(layer.kernel_size, one_d)
        st = _pair(layer.strides, one_d)
        dl = _pair(layer.dilation_rate, one_d)
        (oh, ow), pad = _geometry(layer, xs, ks, st, dl, layer.padding)
        act, alpha = _act(layer, layer.activation)
        fused = act if act != "softmax" else "linear"
        geo = {"strides": st, "dilation": dl, "padding": pad}
        ic = xs[-1]
        if cls.startswith("Conv"):
            k = _np(layer.kernel)
            if one_d:
                k = k[None]
            w = b.const(k.transpose(3, 0, 1, 2), "w")
            inputs = [x, w]
            if layer.use_bias:
                inputs.append(b.const(_np(layer.bias), "b"))
            y = b.op("conv2d", inputs, (oh, ow, k.shape[3]),
                     {**geo, "activation": fused, "alpha": alpha}, name)
        else:
            dk = _np(layer.depthwise_kernel if cls.startswith("Separable") else layer.kernel)
            if one_d:
                dk = dk[None]
            mult = int(dk.shape[3])
            w = b.const(dk.reshape(1, dk.shape[0], dk.shape[1], ic * mult), "w")
            inputs = [x, w]
            sep = cls.startswith("Separable")
            if layer.use_bias and not sep:
                inputs.append(b.const(_np(layer.bias), "b"))
            y = b.op("depthwise_conv2d", inputs, (oh, ow, ic * mult),
                     {**geo, "multiplier": mult,
                      "activation": "linear" if sep else fused,
                      "alpha": 0.0 if sep else alpha}, name)
            if sep:
                pk = _np(layer.pointwise_kernel)
                if one_d:
                    pk = pk[None]
                pw = b.const(pk.transpose(3, 0, 1, 2), "w")
                pin = [y, pw]
                if layer.use_bias:
                    pin.append(b.const(_np(layer.bias), "b"))
                y = b.op("conv2d", pin, (oh, ow, pk.shape[3]),
                         {"strides": (1, 1), "dilation": (1, 1), "padding": ((0, 0), (0, 0)),
                          "activation": fused, "alpha": alpha}, name)
        return b.activation(y, "softmax", 1.0, name) if act == "softmax" else y
    if cls in ("MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D"):
        _check_channels_last(layer)
        one_d = cls.endswith("1D")
        ps = _pair(layer.pool_size, one_d)
        st = _pair(layer.strides if layer.strides is not None else layer.pool_size, one_d)
        (oh, ow), pad = _geometry(layer, xs, ps, st, (1, 1), layer.padding)
        kind = "max_pool2d" if cls.startswith("Max") else "avg_pool2d"
        return b.op(kind, [x], (oh, ow, xs[-1]),
                    {"pool": ps, "strides": st, "padding": pad}, name)
    if cls.startswith("Global"):
        _check_channels_last(layer)
        kind = "global_avg_pool" if "Average" in cls else "global_max_pool"
        y = b.op(kind, [x], (xs[-1],), {}, name)
        if tuple(out_shape) != (xs[-1],):  # keepdims
            y = b.op("reshape", [y], out_shape, {}, name)
        return y
    if cls in ("Flatten", "Reshape"):
        return b.op("reshape", [x], out_shape, {}, name)
    if cls in ("ZeroPadding1D", "ZeroPadding2D"):
        _check_channels_last(layer)
        p = np.asarray(layer.padding, dtype=np.int64).reshape(-1)
        pad = ((0, 0), (int(p[0]), int(p[1]))) if cls.endswith("1D") else (
            (int(p[0]), int(p[1])), (int(p[2]), int(p[3])))
        return b.op("pad", [x], out_shape, {"padding": pad}, name)
    if cls == "BatchNormalization":
        axis = layer.axis if isinstance(layer.axis, int) else layer.axis[0]
        if axis != -1 and axis != b.rank - 1:
            raise _err(layer, f"axis={layer.axis} is not supported; supported: the last axis")
        c = xs[-1]
        mean = _np(layer.moving_mean).astype(np.float64)
        var = _np(layer.moving_variance).astype(np.float64)
        gamma = _np(layer.gamma).astype(np.float64) if layer.scale else np.ones(c)
        beta = _np(layer.beta).astype(np.float64) if layer.center else np.zeros(c)
        a = gamma / np.sqrt(var + float(layer.epsilon))
        shift = beta - mean * a
        return b.op("scale_shift", [x, b.const(a, "a"), b.const(shift, "s")], xs,
                    {"fold": True, "weight_rel_err": 2 * U32,
                     "bias_mag": np.abs(mean * a) + np.abs(beta)}, name)
    if cls == "Rescaling":
        scale = np.asarray(_np(layer.scale), dtype=np.float64).reshape(-1)
        offset = np.asarray(_np(layer.offset), dtype=np.float64).reshape(-1)
        c = max(scale.size, offset.size)
        if c not in (1, xs[-1]):
            raise _err(layer, "scale/offset must be scalars or one per channel")
        a = np.broadcast_to(scale, (c,))
        s = np.broadcast_to(offset, (c,))
        return b.op("scale_shift", [x, b.const(a, "a"), b.const(s, "s")], xs,
                    {"weight_rel_err": U32 if np.any(a.astype(np.float32) != a) else 0.0,
                     "bias_mag": np.abs(s)}, name)
    if cls == "Normalization":
        if getattr(layer, "invert", False):
            raise _err(layer, "invert=True is not supported")
        shape = b.in_shape
        mean = np.broadcast_to(_np(layer.mean).astype(np.float64),
                               (1, *shape)).reshape(shape)
        var = np.broadcast_to(_np(layer.variance).astype(np.float64),
                              (1, *shape)).reshape(shape)
        std = np.maximum(np.sqrt(var), 1e-7)
        a = 1.0 / std
        s = -mean / std
        flat_a, flat_s = a.reshape(-1, shape[-1]), s.reshape(-1, shape[-1])
        if np.all(flat_a == flat_a[:1]) and np.all(flat_s == flat_s[:1]):
            a, s = flat_a[0], flat_s[0]
        else:
            a, s = a.reshape(-1), s.reshape(-1)
        return b.op("scale_shift", [x, b.const(a, "a"), b.const(s, "s")], xs,
                    {"weight_rel_err": 2 * U32, "bias_mag": np.abs(s)}, name)
    if cls == "Activation":
        act, alpha = _act(layer, layer.activation)
        if act == "linear":
            return x
        return b.activation(x, act, alpha, name)
    if cls == "ReLU":
        slope = float(layer.negative_slope)
        mx = layer.max_value
        if float(layer.threshold) != 0.0:
            raise _err(layer, "threshold != 0 is not supported")
        if mx is not None and float(mx) != 6.0:
            raise _err(layer, f"max_value={mx} is not supported; supported: None, 6")
        if mx is not None and slope != 0.0:
            raise _err(layer, "max_value with negative_slope is not supported")
        if mx is not None:
            return b.activation(x, "relu6", 0.0, name)
        if slope != 0.0:
            return b.activation(x, "leaky_relu", slope, name)
        return b.activation(x, "relu", 0.0, name)
    if cls == "LeakyReLU":
        return b.activation(x, "leaky_relu", float(layer.negative_slope), name)
    if cls == "ELU":
        return b.activation(x, "elu", float(layer.alpha), name)
    if cls == "Softmax":
        axis = layer.axis if isinstance(layer.axis, int) else tuple(layer.axis)
        if axis != -1 and axis != b.rank - 1:
            raise _err(layer, f"axis={layer.axis} is not supported; supported: -1")
        return b.activation(x, "softmax", 1.0, name)
    if cls in ("Add", "Multiply"):
        kind = "add" if cls == "Add" else "mul"
        y = ins[0]
        for other in ins[1:]:
            first, second = y, other
            sa, sb = b.tensors[y].shape, b.tensors[other].shape
            if sa != sb:
                # broadcasting: the smaller operand second (a + b == b + a and a * b ==
                # b * a exactly, in float32 and in TFLite's integer ADD / MUL), and it must
                # repeat over the larger one
                if broadcast_period(sb, sa) is not None and broadcast_period(sa, sb) is None:
                    first, second = other, y
                    sa, sb = sb, sa
                if broadcast_period(sa, sb) is None:
                    raise _err(layer, f"inputs of shapes {sa} and {sb}: broadcasting is "
                                      "supported where the smaller input varies along the "
                                      "last axes only (e.g. (1, 1, C) or (C,) against "
                                      "(H, W, C)), not along an inner axis")
            y = b.op(kind, [first, second], sa, {"activation": "linear", "alpha": 0.0},
                     name)
        return y
    if cls == "Concatenate":
        rank = b.rank
        axis = int(layer.axis)
        if axis >= 0:
            axis -= rank
        if axis == -rank:
            raise _err(layer, "concatenation along the batch axis is not supported")
        y = ins[0]
        for other in ins[1:]:
            ys, os_ = list(b.tensors[y].shape), b.tensors[other].shape
            ys[axis] += os_[axis]
            y = b.op("concat", [y, other], tuple(ys), {"axis": axis}, name)
        return y
    raise _unsupported(layer)  # pragma: no cover - LAYERS and the branches agree


def from_keras(model: Any, classes: Any = None) -> NetIR:
    """Read a built Keras 3 Sequential or Functional model into a float32 :class:`NetIR`.

    Parameters
    ----------
    model : keras.Model
        Built (its input shape known), one input and one output, channels-last.
    classes : array-like, optional
        Class labels of a classifier (default ``arange(n_classes)``).

    Returns
    -------
    NetIR
        Not yet simplified (see :func:`.convert.finish`).

    Raises
    ------
    ConversionError
        Unsupported layers (the message names the layer and lists the supported ones),
        settings, or graph shapes.
    """
    kcls = next((c.__name__ for c in type(model).__mro__
                 if c.__module__.split(".")[0] == "keras"
                 and c.__name__ in ("Sequential", "Functional", "Model")), "Model")
    graph = getattr(model, "_functional", None) if kcls == "Sequential" else model
    if graph is None or not getattr(model, "built", False):
        raise ConversionError(f"{type(model).__name__} {model.name!r} is not built: give it "
                              "an Input (keras.Input(shape)) or call model.build(shape)")
    if not hasattr(graph, "_nodes_by_depth"):
        raise ConversionError(f"{type(model).__name__} {model.name!r} is a subclassed model "
                              "(its own call()); supported: Sequential and Functional models")
    ins, outs = list(graph.inputs), list(graph.outputs)
    if len(ins) != 1 or len(outs) != 1:
        raise ConversionError(f"{type(model).__name__} {model.name!r} has {len(ins)} inputs "
                              f"and {len(outs)} outputs; supported: 1 and 1")
    in_shape = tuple(ins[0].shape[1:])
    if any(d is None for d in in_shape):
        raise ConversionError(f"the input shape {in_shape} has unknown dimensions; give "
                              "keras.Input a fixed shape")
    b = _Builder()
    names: dict[int, str] = {}
    x0 = b.act(_ir_shape(in_shape), "input")
    names[id(ins[0])] = x0
    for depth in sorted(graph._nodes_by_depth, reverse=True):
        for node in graph._nodes_by_depth[depth]:
            if not node.operation or node.is_input:
                continue
            layer = node.operation
            if type(layer).__name__ in ("Functional", "Sequential", "Model"):
                raise _err(layer, "nested models are not supported; flatten the model")
            args = [names.get(id(t)) for t in node.input_tensors]
            if any(a is None for a in args):
                continue
            kw = getattr(node.arguments, "kwargs", {}) or {}
            if kw.get("training"):
                raise _err(layer, "called with training=True")
            if len(node.outputs) != 1:
                raise _err(layer, "layers with several outputs are not supported")
            out_shape = tuple(node.outputs[0].shape[1:])
            b.rank = len(node.input_tensors[0].shape)
            b.in_shape = tuple(int(d) for d in node.input_tensors[0].shape[1:])
            y = _layer(b, layer, args, _ir_shape(out_shape))
            if b.tensors[y].size != int(np.prod(out_shape, dtype=np.int64)):
                raise _err(layer, f"output size {b.tensors[y].size} != Keras's "
                                  f"{out_shape}")  # pragma: no cover - a converter bug
            names[id(node.outputs[0])] = y
    out = names.get(id(outs[0]))
    if out is None:
        raise ConversionError("the model output does not depend on its input")
    ir = NetIR(source=f"keras.{kcls}", kind="regressor", tensors=b.tensors,
               ops=b.ops, input=x0, output=out, input_shape=tuple(int(d) for d in in_shape),
               reference_float32=True, output_2d=True)
    last = next((op for op in reversed(ir.ops) if op.outputs[0] == out), None)
    # classifier: softmax over a vector output, or one sigmoid unit
    if last is not None and len(b.tensors[out].shape) == 1:
        if last.kind == "softmax" and b.tensors[out].size >= 2:
            ir.kind = "classifier"
        elif b.tensors[out].size == 1 and last.attrs.get("activation") == "sigmoid":
            ir.kind = "classifier"
    if ir.kind == "classifier":
        n = 2 if b.tensors[out].size == 1 else b.tensors[out].size
        ir.classes = np.arange(n) if classes is None else np.asarray(classes)
        if len(ir.classes) != n:
            raise ValueError(f"classes has {len(ir.classes)} labels; the model has {n} "
                             "classes")
        ir.output_2d = False
    return ir
