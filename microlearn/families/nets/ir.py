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
    # fused "activation" on dense/conv/depthwise/add/mul: one of ACTIVATIONS ("alpha": its
    # parameter, see ACTIVATION_ALPHA; optional, default there)
    "dense": ("activation",),  # over the last axis: x (..., n_in) -> (..., n_out)
    "conv2d": ("strides", "dilation", "padding", "activation"),  # padding ((t, b), (l, r))
    "depthwise_conv2d": ("strides", "dilation", "padding", "multiplier", "activation"),
    "max_pool2d": ("pool", "strides", "padding"),
    "avg_pool2d": ("pool", "strides", "padding"),  # average over the valid (unpadded) cells
    "global_avg_pool": (),
    "global_max_pool": (),
    "reshape": (),  # flatten included: a no-op on the C-order buffer
    "pad": ("padding",),  # zero padding ((t, b), (l, r)) of (H, W, C)
    "add": ("activation",),  # inputs a, b: b has a's shape or repeats over it
    "mul": ("activation",),  # (broadcast_period); the output has a's shape
    "concat": ("axis",),  # channels-last axis of the output shape
    "scale_shift": (),  # y = x * a + b per channel (standalone BatchNorm, Normalization,
    #                     Rescaling); inputs: x, a[C], b[C]; C divides x's size and
    #                     element i uses a[i % C] (C = last axis; 1 or the whole size also)
    "activation": ("activation", "alpha"),
    "softmax": ("beta",),
    "quantize": (),  # float -> int8/int16 entry (int8 graphs)
    "dequantize": (),
}

ACTIVATIONS = ("linear", "relu", "relu6", "leaky_relu", "elu", "selu", "sigmoid",
               "hard_sigmoid", "tanh", "swish", "hard_swish")

#: default ``alpha`` attribute of an activation (leaky_relu: the negative slope; elu: alpha;
#: others ignore it)
ACTIVATION_ALPHA = {"leaky_relu": 0.2, "elu": 1.0}

#: optional attributes every float op may carry (read by the error bound, not by the C):
#: ``"weight_rel_err"`` relative error of the constants against the source model's
#: (``u`` for float64 weights rounded to float32, ``3u`` for BatchNorm folded into them;
#: default 0), ``"bias_mag"`` (float64 array, per output channel) the magnitude the
#: source's own bias computation carries when a BatchNorm was folded (default ``|b|``).
OPTIONAL_ATTRS = ("alpha", "weight_rel_err", "bias_mag")


def broadcast_period(shape: tuple[int, ...], other: tuple[int, ...]) -> int | None:
    """How ``other`` repeats over ``shape`` in an element-wise ``add`` / ``mul``.

    The second operand of those ops may be smaller than the first (and the output): numpy
    broadcasting where it varies along the last axes only, e.g. ``(1, 1, C)`` or ``(C,)``
    against ``(H, W, C)`` (a squeeze-and-excitation gate), ``(W, C)`` against
    ``(H, W, C)``, ``(1,)`` against anything. On the C-order buffers that is one block of
    ``other.size`` values repeated ``size / other.size`` times.

    Returns
    -------
    int or None
        ``other``'s size (the period) when its dims, leading 1s dropped, equal the last
        dims of ``shape``; None for any other shape (``(H, 1, C)`` against ``(H, W, C)``:
        broadcasting along an inner axis).
    """
    dims = list(other)
    while dims and dims[0] == 1:
        dims.pop(0)
    if len(dims) > len(shape) or tuple(shape[len(shape) - len(dims):]) != tuple(dims):
        return None
    return int(np.prod(dims, dtype=np.int64)) if dims else 1


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
    #: the source computes in float32 (Keras; an MLP fitted on float32): its own outputs
    #: carry float32 rounding too, so the stated tolerance doubles
    reference_float32: bool = False
    #: a regressor whose source returns (n_samples, n_outputs) even for one output (Keras)
    output_2d: bool = False
    #: filled by the converter: :class:`~.plan.Plan` of the float graph (arena offsets)
    plan: object | None = None
    #: int8 graphs quantized from a float one: agreement with it on the calibration rows
    #: (``quantize.quantize_net`` fills it: rows, max_abs_diff, argmax_agreement)
    quant_report: dict | None = None

    @property
    def n_features(self) -> int:
        return self.tensors[self.input].size

    @property
    def n_outputs(self) -> int:
        """Size of the output tensor (1 for a binary classifier's sigmoid unit)."""
        return self.tensors[self.output].size

    @property
    def n_classes(self) -> int:
        """Classes of a classifier (2 for a single sigmoid unit), else 0."""
        if self.kind != "classifier":
            return 0
        return 2 if self.n_outputs == 1 else self.n_outputs

    @property
    def binary(self) -> bool:
        """A classifier whose output is one sigmoid unit (class 1 when p > 0.5)."""
        return self.kind == "classifier" and self.tensors[self.output].size == 1

    def consumers(self, name: str) -> list[Op]:
        """The ops reading tensor ``name``."""
        return [op for op in self.ops if name in op.inputs]
