"""Float :class:`~.ir.NetIR` + :class:`~.plan.Plan` -> the op records the C runs.

One :class:`Record` per executed op, with the fields of ``ml_nets_op_t``
(``runtime/ml_nets.h``): the C header writes them as a ``static const`` table and the
model-file section as 128-byte records, so both paths run the same kernels on the same
numbers. Reads only the IR and its plan.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import ConversionError
from .ir import ACTIVATION_ALPHA, ACTIVATIONS, NetIR, broadcast_period
from .plan import INPUT

#: IR op kind -> ML_NETS_OP_* value
KINDS = {"dense": 1, "conv2d": 2, "depthwise_conv2d": 3, "max_pool2d": 4, "avg_pool2d": 5,
         "global_avg_pool": 6, "global_max_pool": 7, "pad": 8, "add": 9, "mul": 10,
         "concat": 11, "scale_shift": 12, "activation": 13, "softmax": 14}
#: C kernel of each kind
KERNELS = {"dense": "dense", "conv2d": "conv2d", "depthwise_conv2d": "depthwise",
           "max_pool2d": "max_pool", "avg_pool2d": "avg_pool",
           "global_avg_pool": "global_avg_pool", "global_max_pool": "global_max_pool",
           "pad": "pad", "add": "add", "mul": "mul", "concat": "concat",
           "scale_shift": "scale_shift", "activation": "activation", "softmax": "softmax"}
#: the int32 fields of a record after kind and act (alpha is a float between)
FIELDS = ("in0", "in1", "out", "ih", "iw", "ic", "oh", "ow", "oc", "kh", "kw", "sh", "sw",
          "dh", "dw", "pt", "pl", "n1")


@dataclass
class Record:
    """One op as the C runs it (see ``ml_nets_op_t``)."""

    kind: str
    act: int
    alpha: float
    fields: dict[str, int]
    w: np.ndarray | None
    b: np.ndarray | None
    name: str

    @property
    def code(self) -> int:
        """ML_NETS_OP_* value."""
        return KINDS[self.kind]

    def macs(self) -> int:
        """Multiply-adds (dense / conv / depthwise), else element operations."""
        f = self.fields
        if self.kind == "dense":
            return f["ih"] * f["ic"] * f["oc"]
        if self.kind == "conv2d":
            return f["oh"] * f["ow"] * f["oc"] * f["kh"] * f["kw"] * f["ic"]
        if self.kind == "depthwise_conv2d":
            return f["oh"] * f["ow"] * f["oc"] * f["kh"] * f["kw"]
        if self.kind in ("max_pool2d", "avg_pool2d"):
            return f["oh"] * f["ow"] * f["oc"] * f["kh"] * f["kw"]
        return max(f["ih"] * f["iw"] * f["ic"], f["oh"] * f["ow"] * f["oc"])


def _f32(a: np.ndarray | None) -> np.ndarray | None:
    return None if a is None else np.ascontiguousarray(a, dtype=np.float32).ravel()


def records(ir: NetIR) -> list[Record]:
    """The op records of a planned float graph, in execution order."""
    plan = ir.plan
    if plan is None:
        raise ValueError("the IR has no memory plan (convert.finish)")
    out: list[Record] = []
    T = ir.tensors
    for op in plan.ops:
        f = dict.fromkeys(FIELDS, 1)
        f.update(in1=-1, pt=0, pl=0)
        x = T[op.inputs[0]]
        y = T[op.outputs[0]]
        f["in0"] = plan.where(op.inputs[0])
        f["out"] = plan.where(op.outputs[0])
        if f["out"] == INPUT:
            raise ValueError(f"op {op.name!r} writes the model input")  # pragma: no cover
        act = op.attrs.get("activation", "linear")
        alpha = float(op.attrs.get("alpha", ACTIVATION_ALPHA.get(act, 0.0)))
        if act not in ("leaky_relu", "elu"):
            alpha = 0.0
        w = b = None
        k = op.kind
        if k == "dense":
            wt = T[op.inputs[1]].data
            n_in, n_out = wt.shape[1], wt.shape[0]
            rows = x.size // n_in
            f.update(ih=rows, ic=n_in, oh=rows, oc=n_out)
            w = wt
            b = T[op.inputs[2]].data if len(op.inputs) > 2 else None
        elif k in ("conv2d", "depthwise_conv2d", "max_pool2d", "avg_pool2d"):
            h, wd, c = x.shape
            oh, ow, oc = y.shape
            (pt, _), (pl, _) = op.attrs["padding"]
            sh, sw = op.attrs["strides"]
            f.update(ih=h, iw=wd, ic=c, oh=oh, ow=ow, oc=oc, sh=sh, sw=sw, pt=pt, pl=pl)
            if k in ("max_pool2d", "avg_pool2d"):
                f.update(kh=op.attrs["pool"][0], kw=op.attrs["pool"][1])
            else:
                wt = T[op.inputs[1]].data
                dh, dw = op.attrs["dilation"]
                f.update(kh=wt.shape[1], kw=wt.shape[2], dh=dh, dw=dw)
                if k == "depthwise_conv2d":
                    f["n1"] = int(op.attrs["multiplier"])
                w = wt
                b = T[op.inputs[2]].data if len(op.inputs) > 2 else None
        elif k in ("global_avg_pool", "global_max_pool"):
            c = x.shape[-1]
            f.update(ih=x.size // c, ic=c, oc=c)
        elif k == "pad":
            h, wd, c = x.shape
            oh, ow, _ = y.shape
            (pt, _), (pl, _) = op.attrs["padding"]
            f.update(ih=h, iw=wd, ic=c, oh=oh, ow=ow, oc=c, pt=pt, pl=pl)
        elif k in ("add", "mul", "activation"):
            f.update(ic=x.size, oc=x.size)
            if k != "activation":
                # the second input repeats over the first: ih blocks of its ic values
                period = broadcast_period(x.shape, T[op.inputs[1]].shape)
                if period is None or x.shape != y.shape:
                    raise ConversionError(f"{op.name or k}: inputs of shapes {x.shape} and "
                                          f"{T[op.inputs[1]].shape}: the second must "
                                          "repeat over the first (broadcast_period)")
                f.update(ih=x.size // period, ic=period, oh=x.size // period, oc=period)
                f["in1"] = plan.where(op.inputs[1])
        elif k == "concat":
            ax = int(op.attrs["axis"])
            x2 = T[op.inputs[1]]
            outer = int(np.prod(y.shape[:ax], dtype=np.int64)) if ax != -len(y.shape) else 1
            na = int(np.prod(x.shape[ax:], dtype=np.int64))
            nb = int(np.prod(x2.shape[ax:], dtype=np.int64))
            f.update(ih=outer, ic=na, n1=nb, oh=outer, oc=na + nb, in1=plan.where(op.inputs[1]))
        elif k == "scale_shift":
            a = T[op.inputs[1]].data
            c = a.size
            f.update(ih=x.size // c, ic=c, oh=x.size // c, oc=c)
            w, b = a, T[op.inputs[2]].data
        elif k == "softmax":
            c = x.shape[-1] if x.shape else 1
            f.update(ih=x.size // c, ic=c, oh=x.size // c, oc=c)
        else:
            raise ValueError(f"op kind {k!r} has no float kernel")
        bias = _f32(b)
        if bias is not None and k in ("dense", "conv2d", "depthwise_conv2d"):
            # each output's sum starts at its bias: -0.0 stored as +0.0, so that no partial
            # sum is -0.0 and a kernel that adds the padding's +-0.0 products (gathered
            # windows) gives the bits of one that skips them
            bias = bias + np.float32(0.0)
        out.append(Record(k, ACTIVATIONS.index(act), alpha, f, _f32(w), bias, op.name))
    return out
