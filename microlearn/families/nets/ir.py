"""Neural-net family IR: :class:`NetIR`, a graph of operations on tensors, plain numpy data.

Every source (scikit-learn MLP, Keras 3, TFLite flatbuffers) is read into this form and every
backend (C code, model-file section, MicroPython, footprint, TFLite writer) reads only it.

Conventions
-----------
* Shapes exclude the batch dimension and are channels-last: ``(n,)`` for vectors,
  ``(H, W, C)`` for images; 1-D signals are ``(1, L, C)`` so that every 1-D layer is the 2-D
  one with ``H == 1`` (Conv1D == Conv2D with a 1 x k kernel).
* Constant tensors (``data`` is not None) use TFLite's layouts, so a TFLite file maps
  directly and Keras weights are transposed once at conversion:
  dense ``W[out, in]``; conv2d ``W[out_c, kh, kw, in_c]``; depthwise_conv2d
  ``W[1, kh, kw, in_c * multiplier]``; bias ``b[out_c]``.
* ``ops`` are in a valid execution (topological) order; each op's ``inputs`` names the
  activation input(s) first, then constants (weights, bias).
* Quantized tensors (``dtype`` int8/int16/int32) carry ``scale`` / ``zero_point`` arrays of
  length 1 (per tensor) or of the channel count along ``quant_axis`` (per channel), with
  TFLite's meaning: real = scale * (q - zero_point).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: operation kinds and their attributes (attrs dict keys)
OPS = {
    # fused "activation" on dense/conv/depthwise/add/mul: one of ACTIVATIONS
    "dense": ("activation",),
    "conv2d": ("strides", "dilation", "padding", "activation"),  # padding ((t, b), (l, r))
    "depthwise_conv2d": ("strides", "dilation", "padding", "multiplier", "activation"),
    "max_pool2d": ("pool", "strides", "padding"),
    "avg_pool2d": ("pool", "strides", "padding"),  # average over the valid (unpadded) cells
    "global_avg_pool": (),
    "global_max_pool": (),
    "reshape": (),  # flatten included: a no-op on the C-order buffer
    "pad": ("padding",),  # zero padding ((t, b), (l, r)) of (H, W, C)
    "add": ("activation",),
    "mul": ("activation",),
    "concat": ("axis",),  # channels-last axis of the output shape
    "scale_shift": (),  # y = x * a + b per channel (standalone BatchNorm, Normalization,
    #                     Rescaling); inputs: x, a[C], b[C]
    "activation": ("activation", "alpha"),
    "softmax": ("beta",),
    "quantize": (),  # float -> int8/int16 entry (int8 graphs)
    "dequantize": (),
}

ACTIVATIONS = ("linear", "relu", "relu6", "leaky_relu", "elu", "selu", "sigmoid",
               "hard_sigmoid", "tanh", "swish", "hard_swish")


@dataclass(eq=False)
class Tensor:
    """A tensor of the graph: an activation (``data is None``) or a constant."""

    name: str
    shape: tuple[int, ...]
    dtype: str = "float32"  # "float32", "int8", "int16", "int32"
    data: np.ndarray | None = None
    scale: np.ndarray | None = None
    zero_point: np.ndarray | None = None
    quant_axis: int = -1

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))


@dataclass(eq=False)
class Op:
    """One operation: ``kind`` from :data:`OPS`, tensor names in and out, attributes."""

    kind: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    attrs: dict = field(default_factory=dict)
    name: str = ""  # the source layer's name, for messages


@dataclass(eq=False)
class NetIR:
    """A network: tensors by name, ops in execution order, one input and one output."""

    source: str  # e.g. "MLPClassifier", "keras.Sequential", "tflite"
    kind: str  # "classifier" or "regressor"
    tensors: dict[str, Tensor]
    ops: list[Op]
    input: str
    output: str
    classes: np.ndarray | None = None
    input_shape: tuple[int, ...] = ()  # the source's input shape (without batch)
    quantized: bool = False  # int8 graph (quantize ... dequantize inside)
    feature_names: tuple[str, ...] | None = None
    family: str = field(default="nets", init=False)

    @property
    def n_features(self) -> int:
        return self.tensors[self.input].size

    @property
    def n_outputs(self) -> int:
        return self.tensors[self.output].size
