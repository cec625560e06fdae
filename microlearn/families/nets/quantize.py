"""int8 post-training quantization of a :class:`NetIR`, and a numpy reference of the int8
kernels that is bit-exact with TFLite Micro's reference kernels.

Quantization follows TFLite's integer spec:

* weights of dense / conv2d: int8, symmetric (zero point 0), one scale per output channel,
  values in [-127, 127]; depthwise_conv2d: one scale per channel (the last axis);
* activations: int8, one asymmetric (scale, zero point) per tensor from the calibration
  minimum and maximum, the range first widened to include 0 (so 0.0 is exact);
* bias: int32 with scale ``input_scale * weight_scale[c]`` and zero point 0;
* requantization: an int32 multiplier and a shift per output channel from TFLite's
  ``QuantizeMultiplier`` (frexp, round half away from zero), applied with
  ``SaturatingRoundingDoublingHighMul`` and ``RoundingDivideByPOT`` (the "double rounding"
  TFLite Micro uses);
* softmax and logistic outputs: scale 1/256, zero point -128; tanh: 1/128, 0;
  max/avg pooling, reshape, pad, relu6 keep their input's parameters (TFLite requires it).

The graph keeps float32 input and output: a ``quantize`` op first, a ``dequantize`` op
last, as TFLite's converter writes by default.

:func:`op_params` computes every op's integer parameters (multipliers, shifts, offsets,
clamps) once; the numpy kernels (:func:`run_int8`) and the C emitter read the same values,
so the C and the reference cannot drift apart.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from ...errors import ConversionError
from .ir import NetIR, Op, Tensor

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1

#: float ops the int8 path quantizes (the activations of the ``activation`` op too)
INT8_ACTIVATIONS = ("linear", "relu", "relu6", "sigmoid", "tanh", "leaky_relu",
                    "hard_swish")
#: activations the int8 graph computes with other ops (:func:`_split_activations`)
INT8_COMPOSED = ("hard_sigmoid", "swish")


# --- TFLite's fixed-point primitives (vectorized over int64 arrays) ---------------------

def quantize_multiplier(m: float) -> tuple[int, int]:
    """TFLite's ``QuantizeMultiplier``: ``m ~= q * 2**(shift - 31)``, q in [2**30, 2**31).

    Parameters
    ----------
    m : float
        The real multiplier (double precision, >= 0).

    Returns
    -------
    (int, int)
        The int32 multiplier and the shift (positive: left).
    """
    if m == 0.0:
        return 0, 0
    q, shift = math.frexp(m)
    v = q * float(1 << 31)
    q_fixed = int(math.floor(abs(v) + 0.5)) * (1 if v >= 0 else -1)
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        shift, q_fixed = 0, 0
    return int(q_fixed), int(shift)


def _wrap32(x: np.ndarray) -> np.ndarray:
    return ((np.asarray(x, np.int64) + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def srdhm(a, b) -> np.ndarray:
    """``SaturatingRoundingDoublingHighMul`` of int32 values (as int64 arrays)."""
    a = np.asarray(a, np.int64)
    b = np.asarray(b, np.int64)
    ab = a * b
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    s = ab + nudge
    q = np.where(s >= 0, s >> 31, -((-s) >> 31))  # C division: toward zero
    return np.where((a == b) & (a == INT32_MIN), INT32_MAX, q).astype(np.int64)


def rdbpot(x, exponent) -> np.ndarray:
    """``RoundingDivideByPOT``: x / 2**exponent rounded to nearest, ties away from zero."""
    x = np.asarray(x, np.int64)
    e = np.asarray(exponent, np.int64)
    mask = (np.int64(1) << e) - 1
    rem = x & mask
    thr = (mask >> 1) + (x < 0)
    return (x >> e) + (rem > thr)


def mbqm(x, mult, shift) -> np.ndarray:
    """``MultiplyByQuantizedMultiplier`` (double rounding) of int32 values."""
    shift = np.asarray(shift, np.int64)
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    return rdbpot(srdhm(_wrap32(np.asarray(x, np.int64) << left), mult), right)


# gemmlowp fixed-point functions (int32 raw values with a number of integer bits)

def _fp_mul(a, b):
    return srdhm(a, b)


def _sat_mul_pot(x, exponent: int) -> np.ndarray:
    """gemmlowp ``SaturatingRoundingMultiplyByPOT<exponent>``."""
    x = np.asarray(x, np.int64)
    if exponent == 0:
        return x
    if exponent < 0:
        return rdbpot(x, -exponent)
    thr = (1 << (31 - exponent)) - 1
    r = _wrap32(x << exponent)
    r = np.where(x > thr, INT32_MAX, r)
    return np.where(x < -thr, INT32_MIN, r)


def _rescale(x, src_bits: int, dst_bits: int) -> np.ndarray:
    return _sat_mul_pot(x, src_bits - dst_bits)


def _exp_quarter(a) -> np.ndarray:
    """exp(a) for a in [-1/4, 0), Q0.31."""
    const_term = 1895147668
    one_third = 715827883
    x = _wrap32(np.asarray(a, np.int64) + (1 << 28))
    x2 = _fp_mul(x, x)
    x3 = _fp_mul(x2, x)
    x4 = _fp_mul(x2, x2)
    x4_4 = _sat_mul_pot(x4, -2)
    poly = _sat_mul_pot(_wrap32(_fp_mul(_wrap32(x4_4 + x3), one_third) + x2), -1)
    return _wrap32(const_term + _fp_mul(const_term, _wrap32(x + poly)))


_EXP_BARREL = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308),
               (2, 39332535), (3, 720401), (4, 242))


def exp_on_negative_values(a, int_bits: int) -> np.ndarray:
    """gemmlowp ``exp_on_negative_values`` of a Q(int_bits) value; result Q0.31."""
    a = np.asarray(a, np.int64)
    frac = 31 - int_bits
    quarter = 1 << (frac - 2)
    mask = quarter - 1
    a_mod = _wrap32((a & mask) - quarter)
    result = _exp_quarter(_rescale(a_mod, int_bits, 0))
    remainder = _wrap32(a_mod - a)
    for exponent, mult in _EXP_BARREL:
        if int_bits > exponent:
            bit = 1 << (frac + exponent)
            result = np.where((remainder & bit) != 0, _fp_mul(result, mult), result)
    if int_bits > 5:
        clamp = -(1 << (36 - int_bits))
        result = np.where(a < clamp, 0, result)
    return np.where(a == 0, INT32_MAX, result)


def _rounding_half_sum(a, b) -> np.ndarray:
    s = np.asarray(a, np.int64) + np.asarray(b, np.int64)
    sign = np.where(s >= 0, 1, -1)
    t = s + sign
    return np.where(t >= 0, t // 2, -((-t) // 2))


def _newton_f2(half_denominator) -> np.ndarray:
    x = _wrap32(1515870810 + _fp_mul(half_denominator, -1010580540))
    one_f2 = 1 << 29
    for _ in range(3):
        hdx = _fp_mul(half_denominator, x)
        one_minus = _wrap32(one_f2 - hdx)
        x = _wrap32(x + _rescale(_fp_mul(x, one_minus), 4, 2))
    return x


def one_over_one_plus_x_for_x_in_0_1(a) -> np.ndarray:
    """gemmlowp: 1 / (1 + a) for a in [0, 1), Q0.31 in and out."""
    x = _newton_f2(_rounding_half_sum(a, INT32_MAX))
    return _rescale(x, 1, 0)  # ExactMulByPot<-1> of a Q2 value is Q1


def one_minus_x_over_one_plus_x_for_x_in_0_1(a) -> np.ndarray:
    """gemmlowp: (1 - a) / (1 + a) for a in [0, 1), Q0.31."""
    x = _newton_f2(_rounding_half_sum(a, INT32_MAX))
    return _rescale(_wrap32(x - (1 << 29)), 2, 0)


def fp_logistic(a, int_bits: int) -> np.ndarray:
    """gemmlowp ``logistic`` of a Q(int_bits) value; result Q0.31."""
    a = np.asarray(a, np.int64)
    pos = a > 0
    abs_in = np.where(pos, a, _wrap32(-a))
    r_pos = one_over_one_plus_x_for_x_in_0_1(
        exp_on_negative_values(_wrap32(-abs_in), int_bits))
    r_neg = _wrap32(INT32_MAX - r_pos)
    return np.where(a == 0, 1 << 30, np.where(pos, r_pos, r_neg))


def fp_tanh(a, int_bits: int) -> np.ndarray:
    """gemmlowp ``tanh`` of a Q(int_bits) value; result Q0.31."""
    a = np.asarray(a, np.int64)
    neg = a < 0
    n = np.where(neg, a, _wrap32(-a))
    t = one_minus_x_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(n, int_bits + 1))
    return np.where(a == 0, 0, np.where(neg, _wrap32(-t), t))


def get_reciprocal(x, int_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """TFLite's ``GetReciprocal``: (Q0.31 scale, num_bits_over_unit)."""
    x = np.asarray(x, np.int64)
    ux = x & 0xFFFFFFFF
    clz = np.array([32 - int(v).bit_length() for v in np.ravel(ux)], np.int64).reshape(
        ux.shape)
    nbou = int_bits - clz
    shifted = _wrap32(((ux << clz) & 0xFFFFFFFF) - (1 << 31))
    return one_over_one_plus_x_for_x_in_0_1(shifted), nbou


# --- parameters of a quantized graph -----------------------------------------------------

def _f32(v) -> float:
    return float(np.float32(v))


def _tround(v: float) -> int:
    """TfLiteRound / roundf: half away from zero."""
    return int(math.floor(abs(v) + 0.5)) * (1 if v >= 0 else -1)


def activation_range(act: str, scale: float, zp: int) -> tuple[int, int]:
    """TFLite's ``CalculateActivationRangeQuantized`` for int8 (float32 arithmetic)."""
    lo, hi = -128, 127

    def q(f: float) -> int:
        return zp + _tround(float(np.float32(f) / np.float32(scale)))

    if act == "relu":
        lo = max(lo, q(0.0))
    elif act == "relu6":
        lo, hi = max(lo, q(0.0)), min(hi, q(6.0))
    elif act != "linear":
        raise ConversionError(f"fused activation {act!r} has no int8 clamp")
    return lo, hi


def _qp(t: Tensor) -> tuple[float, int]:
    if t.scale is None or t.zero_point is None or t.dtype != "int8":
        raise ConversionError(f"tensor {t.name!r} is not an int8 tensor with quantization "
                              "parameters")
    s, z = _f32(t.scale[0]), int(t.zero_point[0])
    if not (math.isfinite(s) and s > 0.0) or not -128 <= z <= 127:
        raise ConversionError(f"tensor {t.name!r} has invalid quantization parameters "
                              f"(scale {s}, zero point {z})")
    return s, z


def _concat_axis(op: Op, y: Tensor) -> int:
    """The concat axis as a non-negative index into the (batchless) output shape; Keras
    imports write it negative (from the end), TFLite reads non-negative."""
    rank = len(y.shape)
    axis = int(op.attrs["axis"])
    if not -rank <= axis < rank:
        raise ConversionError(f"{op.name or 'concat'}: axis {axis} is out of range for an "
                              f"output of shape {y.shape}")
    return axis % rank


def op_params(ir: NetIR, op: Op) -> dict:
    """The integer parameters of one op of an int8 graph, as TFLite Micro computes them.

    Parameters
    ----------
    ir : NetIR
        A quantized graph.
    op : Op
        One of its ops.

    Returns
    -------
    dict
        Kernel parameters: offsets, multipliers/shifts (arrays for per-channel ops),
        clamps, geometry. Read by :func:`run_int8` and by the C emitter.
    """
    T = ir.tensors
    x = T[op.inputs[0]]
    y = T[op.outputs[0]]
    k = op.kind
    p: dict = {"kind": k}
    if k == "quantize":
        if x.dtype == "float32":
            p["scale"], p["zp"] = _qp(y)
        else:
            si, zi = _qp(x)
            so, zo = _qp(y)
            p["in_zp"], p["out_zp"] = zi, zo
            p["mult"], p["shift"] = quantize_multiplier(float(np.float64(si) / np.float64(so)))
        return p
    if k == "dequantize":
        p["scale"], p["zp"] = _qp(x)
        return p
    si, zi = _qp(x)
    so, zo = _qp(y)
    p.update(in_zp=zi, out_zp=zo)
    if k in ("dense", "conv2d", "depthwise_conv2d"):
        w = T[op.inputs[1]]
        b = T[op.inputs[2]]
        if w.data is None or b.data is None or w.dtype != "int8" or b.dtype != "int32" \
                or w.scale is None:
            raise ConversionError(f"{op.name or k}: int8 {k} needs constant int8 weights "
                                  "with scales and a constant int32 bias")
        ws = np.asarray(w.scale, np.float32)
        n_out = b.shape[0]
        if ws.size == 1:
            ws = np.repeat(ws, n_out)
        if ws.size != n_out or not (np.isfinite(ws).all() and (ws > 0).all()):
            raise ConversionError(f"{op.name or k}: {ws.size} weight scales for {n_out} "
                                  "outputs, or scales that are not positive and finite")
        per_channel = w.scale is not None and np.asarray(w.scale).size > 1
        mults, shifts = [], []
        for c in range(n_out):
            if k == "dense" and not per_channel:
                # GetQuantizedConvolutionMultipler: the product in float32
                real = float(np.float64(np.float32(si) * ws[c]) / np.float64(so))
            else:
                real = float(np.float64(si) * np.float64(ws[c]) / np.float64(so))
            m, s = quantize_multiplier(real)
            mults.append(m)
            shifts.append(s)
        p.update(mult=np.array(mults, np.int64), shift=np.array(shifts, np.int64),
                 w=np.asarray(w.data, np.int64), b=np.asarray(b.data, np.int64),
                 w_zp=int(w.zero_point[0]) if w.zero_point is not None else 0)
        p["act_min"], p["act_max"] = activation_range(op.attrs.get("activation", "linear"),
                                                      so, zo)
        if k != "dense":
            p.update(strides=tuple(op.attrs["strides"]),
                     dilation=tuple(op.attrs.get("dilation", (1, 1))),
                     padding=tuple(tuple(v) for v in op.attrs["padding"]))
            if k == "depthwise_conv2d":
                p["multiplier"] = int(op.attrs.get("multiplier", 1))
        return p
    if k in ("max_pool2d", "avg_pool2d"):
        if (si, zi) != (so, zo):
            raise ConversionError(f"{op.name or k}: int8 pooling needs equal input and "
                                  "output quantization")
        p.update(pool=tuple(op.attrs["pool"]), strides=tuple(op.attrs["strides"]),
                 padding=tuple(tuple(v) for v in op.attrs["padding"]))
        return p
    if k in ("reshape", "pad", "global_max_pool"):
        if (si, zi) != (so, zo):
            raise ConversionError(f"{op.name or k}: int8 {k} needs equal input and output "
                                  "quantization")
        if k == "pad":
            p["padding"] = tuple(tuple(v) for v in op.attrs["padding"])
        return p
    if k == "global_avg_pool":
        # TFLM's int8 MEAN (QuantizedMeanOrSum): QuantizeMultiplier(in / out), then the
        # multiplier divided by the count in integers, shifted by floor(log2(count))
        cnt = int(x.shape[0] * x.shape[1])
        m, s = quantize_multiplier(float(si) / float(so))
        sft = min(cnt.bit_length() - 1, 32, 31 + s)
        p["count"] = cnt
        p["mult"], p["shift"] = (m << sft) // cnt, s - sft
        return p
    if k in ("add", "mul"):
        x2 = T[op.inputs[1]]
        s2, z2 = _qp(x2)
        p["in2_zp"] = z2
        if x2.data is not None:
            p["in2_data"] = np.asarray(x2.data, np.int64)
        if k == "add":
            twice = 2.0 * float(max(np.float32(si), np.float32(s2)))
            p["left_shift"] = 20
            p["mult1"], p["shift1"] = quantize_multiplier(float(si) / twice)
            p["mult2"], p["shift2"] = quantize_multiplier(float(s2) / twice)
            p["mult"], p["shift"] = quantize_multiplier(twice / ((1 << 20) * float(so)))
        else:
            p["mult"], p["shift"] = quantize_multiplier(float(si) * float(s2) / float(so))
        p["act_min"], p["act_max"] = activation_range(op.attrs.get("activation", "linear"),
                                                      so, zo)
        return p
    if k == "concat":
        for n in op.inputs:
            if _qp(T[n]) != (so, zo):
                raise ConversionError(f"{op.name or k}: int8 concat needs the same "
                                      "quantization on every input and the output")
        p["axis"] = _concat_axis(op, y)
        return p
    if k == "softmax":
        if (so, zo) != (1.0 / 256, -128):
            raise ConversionError(f"{op.name or k}: int8 softmax output must have scale "
                                  "1/256 and zero point -128")
        beta = float(np.float32(op.attrs.get("beta", 1.0)))
        real = min(beta * si * float(1 << 26), float((1 << 31) - 1))
        m, s = quantize_multiplier(real)
        p["mult"], p["shift"] = m, s
        p["diff_min"] = -int(math.floor(1.0 * ((1 << 5) - 1) * float(1 << 26) /
                                        float(1 << s)))
        return p
    if k == "activation":
        act = op.attrs["activation"]
        p["activation"] = act
        if act in ("sigmoid", "tanh"):
            want = (1.0 / 256, -128) if act == "sigmoid" else (1.0 / 128, 0)
            if (so, zo) != want:
                raise ConversionError(f"{op.name or k}: int8 {act} output must have scale "
                                      f"{want[0]} and zero point {want[1]}")
            real = float(si) * float(1 << 27)
            q, s = math.frexp(real)
            p["mult"] = _tround(q * float(1 << 31))
            p["shift"] = s
            p["radius"] = int(math.floor(15.0 * float(1 << 27) / float(1 << s))) \
                if s >= 0 else int(math.floor(15.0 * float(1 << 27) * 2.0 ** (-s)))
            return p
        if act == "relu6":
            if (si, zi) != (so, zo):
                raise ConversionError(f"{op.name or k}: int8 relu6 needs equal input and "
                                      "output quantization")
            p["lo"] = zi
            p["hi"] = min(127, zi + _tround(float(np.float32(6.0) / np.float32(si))))
            return p
        if act in ("relu", "linear"):
            p["mult"], p["shift"] = quantize_multiplier(float(si) / float(so))
            lo = max(-128, zo + _tround(0.0)) if act == "relu" else -128
            p["lo"], p["hi"] = lo, 127
            return p
        if act == "hard_swish":
            # TFLM HardSwishPrepare: float32 scales, int16 multipliers
            hires = np.float32(np.float32(1.0 / 128.0) * np.float32(si))
            m, e = quantize_multiplier(float(np.float32(hires / np.float32(so))))
            if e > 0:
                raise ConversionError(f"{op.name or k}: int8 hard_swish needs an output "
                                      "scale at least 1/128 of the input scale")
            r, re_ = quantize_multiplier(float(np.float32(hires / np.float32(3.0 / 32768.0))))
            p.update(out_m16=_down16(m), out_exp=e, relu_m16=_down16(r), relu_exp=re_)
            return p
        if act == "leaky_relu":
            alpha = np.float32(op.attrs.get("alpha", 0.0))
            p["mult_a"], p["shift_a"] = quantize_multiplier(
                float(np.float32(np.float32(si) * alpha) / np.float32(so)))
            p["mult"], p["shift"] = quantize_multiplier(float(np.float32(si) /
                                                              np.float32(so)))
            return p
        raise ConversionError(f"{op.name or k}: activation {act!r} has no int8 kernel; "
                              f"int8 activations: {', '.join(INT8_ACTIVATIONS + INT8_COMPOSED)}")
    raise ConversionError(f"{op.name or k}: op {k!r} has no int8 kernel")


def _down16(m: int) -> int:
    """TFLite's DownScaleInt32ToInt16Multiplier."""
    if m >= INT32_MAX - (1 << 15):
        return 32767
    return (m + (1 << 15)) >> 16


# --- numpy reference of the int8 kernels (batch of rows) --------------------------------

def _srdhm16(a, b) -> np.ndarray:
    a = np.asarray(a, np.int64)
    b = np.asarray(b, np.int64)
    ab = a * b
    s = ab + np.where(ab >= 0, 1 << 14, 1 - (1 << 14))
    q = np.where(s >= 0, s >> 15, -((-s) >> 15))
    return np.where((a == -32768) & (b == -32768), 32767, q)


def _sat_shl16(x, amount: int) -> np.ndarray:
    return np.clip(np.asarray(x, np.int64) * (1 << amount), -32768, 32767)


def _hard_swish(v: np.ndarray, p: dict) -> np.ndarray:
    hires = v * 128
    pre = _srdhm16(hires, p["out_m16"])
    r = hires
    if p["relu_exp"] > 0:
        r = _sat_shl16(r, p["relu_exp"] - 1)
    r = _srdhm16(r, p["relu_m16"])
    if p["relu_exp"] > 0:
        r = _sat_shl16(r, 1)
    if p["relu_exp"] < 0:
        r = rdbpot(r, -p["relu_exp"])
    r = (r + (1 << 15)) >> 1
    prod = r * pre
    out = np.where(prod >= 0, prod >> 15, -((-prod) >> 15))  # toward zero
    out = rdbpot(out, -p["out_exp"]) + p["out_zp"]
    return _clamp8(out)


def _clamp8(v, lo=-128, hi=127) -> np.ndarray:
    return np.clip(v, lo, hi).astype(np.int8)


def _pad_hw(x: np.ndarray, padding, value) -> np.ndarray:
    (t, b), (lft, r) = padding
    return np.pad(x, ((0, 0), (t, b), (lft, r), (0, 0)), constant_values=value)


def _windows(x: np.ndarray, kh: int, kw: int, strides, dilation) -> np.ndarray:
    """(N, OH, OW, kh, kw, C) windows of a padded (N, H, W, C) array."""
    n, h, w, c = x.shape
    sh, sw = strides
    dh, dw = dilation
    oh = (h - (kh - 1) * dh - 1) // sh + 1
    ow = (w - (kw - 1) * dw - 1) // sw + 1
    out = np.empty((n, oh, ow, kh, kw, c), x.dtype)
    for i in range(kh):
        for j in range(kw):
            out[:, :, :, i, j, :] = x[:, i * dh: i * dh + (oh - 1) * sh + 1: sh,
                                      j * dw: j * dw + (ow - 1) * sw + 1: sw, :]
    return out


def _requant(acc, p) -> np.ndarray:
    return _clamp8(mbqm(acc, p["mult"], p["shift"]) + p["out_zp"], p["act_min"], p["act_max"])


def kernel_int8(p: dict, xs: list[np.ndarray], out_shape: tuple[int, ...]) -> np.ndarray:
    """Run one int8 op (parameters from :func:`op_params`) on a batch.

    Parameters
    ----------
    p : dict
        The op's parameters.
    xs : list of ndarray
        Inputs with a leading batch axis (int8, or float32 for ``quantize``).
    out_shape : tuple of int
        The output shape without the batch axis.

    Returns
    -------
    ndarray
        (N, *out_shape) int8 (float32 for ``dequantize``).
    """
    k = p["kind"]
    x = xs[0]
    n = x.shape[0]
    if k == "quantize":
        if "scale" in p:
            v = (x.astype(np.float32) / np.float32(p["scale"])).astype(np.float64)
            q = np.sign(v) * np.floor(np.abs(v) + 0.5)  # roundf: half away from zero
            return _clamp8(q.astype(np.int64) + p["zp"]).reshape(n, *out_shape)
        v = mbqm(x.astype(np.int64) - p["in_zp"], p["mult"], p["shift"]) + p["out_zp"]
        return _clamp8(v).reshape(n, *out_shape)
    if k == "dequantize":
        return (np.float32(p["scale"]) * (x.astype(np.int64) - p["zp"]).astype(np.float32)
                ).astype(np.float32).reshape(n, *out_shape)
    xi = x.astype(np.int64)
    if k == "dense":
        n_in = p["w"].shape[1]
        acc = (xi.reshape(n, -1, n_in) - p["in_zp"]) @ (p["w"] - p["w_zp"]).T + p["b"]
        return _requant(acc, p).reshape(n, *out_shape)
    if k in ("conv2d", "depthwise_conv2d"):
        w = p["w"]
        xp = _pad_hw(xi - p["in_zp"], p["padding"], 0)
        win = _windows(xp, w.shape[1], w.shape[2], p["strides"], p["dilation"])
        if k == "conv2d":
            acc = np.einsum("nhwijc,oijc->nhwo", win, w, optimize=True)
        else:
            m = p["multiplier"]
            win = np.repeat(win, m, axis=-1)
            acc = np.einsum("nhwijc,ijc->nhwc", win, w[0], optimize=True)
        return _requant(acc + p["b"], p).reshape(n, *out_shape)
    if k in ("max_pool2d", "avg_pool2d"):
        ph, pw = p["pool"]
        if k == "max_pool2d":
            xp = _pad_hw(xi, p["padding"], -(1 << 40))
            return _clamp8(_windows(xp, ph, pw, p["strides"], (1, 1)).max(axis=(3, 4)))
        xp = _pad_hw(xi, p["padding"], 0)
        ones = _pad_hw(np.ones_like(xi[:1]), p["padding"], 0)
        s = _windows(xp, ph, pw, p["strides"], (1, 1)).sum(axis=(3, 4))
        cnt = _windows(ones, ph, pw, p["strides"], (1, 1)).sum(axis=(3, 4))
        avg = np.where(s > 0, (s + cnt // 2) // cnt, -((-(s - cnt // 2)) // cnt))
        return _clamp8(avg)
    if k == "global_max_pool":
        return _clamp8(xi.max(axis=(1, 2))).reshape(n, *out_shape)
    if k == "global_avg_pool":
        acc = (xi - p["in_zp"]).sum(axis=(1, 2))
        return _clamp8(mbqm(acc, p["mult"], p["shift"]) + p["out_zp"]).reshape(n, *out_shape)
    if k == "reshape":
        return x.reshape(n, *out_shape)
    if k == "pad":
        return _pad_hw(x, p["padding"], p["in_zp"]).astype(np.int8)
    if k in ("add", "mul"):
        x2 = xs[1] if len(xs) > 1 else p["in2_data"][None]
        a = xi.reshape(n, -1) - p["in_zp"]
        b = np.broadcast_to(x2.astype(np.int64).reshape(x2.shape[0], -1),
                            (n, x2[0].size)) - p["in2_zp"]
        if b.shape[1] != a.shape[1]:
            b = np.tile(b, (1, a.shape[1] // b.shape[1]))
        if k == "add":
            sa = mbqm(a * (1 << p["left_shift"]), p["mult1"], p["shift1"])
            sb = mbqm(b * (1 << p["left_shift"]), p["mult2"], p["shift2"])
            out = mbqm(sa + sb, p["mult"], p["shift"]) + p["out_zp"]
        else:
            out = mbqm(a * b, p["mult"], p["shift"]) + p["out_zp"]
        return _clamp8(out, p["act_min"], p["act_max"]).reshape(n, *out_shape)
    if k == "concat":
        return np.concatenate(xs, axis=p["axis"] + 1)
    if k == "softmax":
        d = x.shape[-1]
        v = xi.reshape(-1, d)
        diff = v - v.max(axis=1, keepdims=True)
        ok = diff >= p["diff_min"]
        scaled = srdhm(_wrap32(diff << p["shift"]), p["mult"])
        e = exp_on_negative_values(np.where(ok, scaled, 0), 5)
        acc = np.where(ok, _rescale(e, 0, 12), 0).sum(axis=1)
        acc = _wrap32(acc)
        recip, nbou = get_reciprocal(acc, 12)
        exponent = (nbou + 31 - 8)[:, None]
        out = rdbpot(srdhm(recip[:, None], e), exponent) - 128
        out = np.where(ok, np.clip(out, -128, 127), -128)
        return out.astype(np.int8).reshape(n, *out_shape)
    if k == "activation":
        act = p["activation"]
        v = xi - p["in_zp"]
        if act in ("sigmoid", "tanh"):
            q = mbqm(np.clip(v, -p["radius"] + 1, p["radius"] - 1), p["mult"], p["shift"])
            if act == "sigmoid":
                r = rdbpot(fp_logistic(q, 4), 23) - 128
            else:
                r = rdbpot(fp_tanh(q, 4), 24)
            r = np.where(v <= -p["radius"], -128, np.where(v >= p["radius"], 127, r))
            return _clamp8(r)
        if act == "relu6":
            return _clamp8(xi, p["lo"], p["hi"])
        if act in ("relu", "linear"):
            return _clamp8(mbqm(v, p["mult"], p["shift"]) + p["out_zp"], p["lo"], p["hi"])
        if act == "hard_swish":
            return _hard_swish(v, p)
        if act == "leaky_relu":
            r = np.where(v >= 0, mbqm(v, p["mult"], p["shift"]),
                         mbqm(v, p["mult_a"], p["shift_a"]))
            return _clamp8(r + p["out_zp"])
    raise ConversionError(f"no int8 kernel for {k!r}")


def run_int8(ir: NetIR, X: np.ndarray, upto: str | None = None) -> np.ndarray:
    """Run a quantized graph with the numpy int8 reference (bit-exact with TFLM).

    Parameters
    ----------
    ir : NetIR
        A quantized graph.
    X : ndarray
        (n, n_features) float32 rows (or int8 rows when the graph input is int8).
    upto : str or None
        Return this tensor instead of the graph output.

    Returns
    -------
    ndarray
        The output rows (float32 after a final ``dequantize``, else int8).
    """
    X = np.asarray(X)
    xin = ir.tensors[ir.input]
    vals: dict[str, np.ndarray] = {ir.input: X.reshape(X.shape[0], *xin.shape)}
    for op in ir.ops:
        p = op_params(ir, op)
        xs = [vals[n] for n in op.inputs if ir.tensors[n].data is None]
        vals[op.outputs[0]] = kernel_int8(p, xs, ir.tensors[op.outputs[0]].shape)
        if upto == op.outputs[0]:
            return vals[upto]
    out = vals[ir.output]
    return out.reshape(out.shape[0], -1)


# --- float reference and calibration ----------------------------------------------------

def _act_f(v: np.ndarray, act: str, alpha: float = 0.0) -> np.ndarray:
    if act == "linear":
        return v
    if act == "relu":
        return np.maximum(v, 0)
    if act == "relu6":
        return np.clip(v, 0, 6)
    if act == "leaky_relu":
        return np.where(v >= 0, v, v * np.float32(alpha))
    if act == "sigmoid":
        return 1 / (1 + np.exp(-v))
    if act == "tanh":
        return np.tanh(v)
    if act == "elu":
        return np.where(v > 0, v, np.expm1(v))
    if act == "selu":
        return 1.0507009873554805 * np.where(v > 0, v, 1.6732632423543772 * np.expm1(v))
    if act == "hard_sigmoid":
        return np.clip(v * (1 / 6) + 0.5, 0, 1)
    if act == "swish":
        return v / (1 + np.exp(-v))
    if act == "hard_swish":
        return v * np.clip(v + 3, 0, 6) / 6
    raise ConversionError(f"unknown activation {act!r}")


def run_float(ir: NetIR, X: np.ndarray, record: dict | None = None) -> np.ndarray:
    """Run a float graph in numpy (float64 internally): the calibration forward pass.

    Parameters
    ----------
    ir : NetIR
        A float32 graph.
    X : ndarray
        (n, n_features) rows.
    record : dict or None
        If given, filled with ``tensor name -> (min, max)`` of every activation.

    Returns
    -------
    ndarray
        (n, n_outputs) float64.
    """
    X = np.asarray(X, np.float64)
    T = ir.tensors
    vals = {ir.input: X.reshape(X.shape[0], *T[ir.input].shape)}

    def c(name):
        return np.asarray(T[name].data, np.float64)

    for op in ir.ops:
        a = op.attrs
        x = vals[op.inputs[0]]
        n = x.shape[0]
        k = op.kind
        if k == "dense":
            w = c(op.inputs[1])
            y = x.reshape(n, -1, w.shape[1]) @ w.T + c(op.inputs[2])
            y = _act_f(y, a.get("activation", "linear"), a.get("alpha", 0.0))
        elif k in ("conv2d", "depthwise_conv2d"):
            w = c(op.inputs[1])
            win = _windows(_pad_hw(x, a["padding"], 0.0), w.shape[1], w.shape[2],
                           a["strides"], a.get("dilation", (1, 1)))
            if k == "conv2d":
                y = np.einsum("nhwijc,oijc->nhwo", win, w, optimize=True)
            else:
                win = np.repeat(win, a.get("multiplier", 1), axis=-1)
                y = np.einsum("nhwijc,ijc->nhwc", win, w[0], optimize=True)
            if len(op.inputs) > 2:
                y = y + c(op.inputs[2])
            y = _act_f(y, a.get("activation", "linear"))
        elif k == "max_pool2d":
            y = _windows(_pad_hw(x, a["padding"], -np.inf), *a["pool"], a["strides"],
                         (1, 1)).max(axis=(3, 4))
        elif k == "avg_pool2d":
            s = _windows(_pad_hw(x, a["padding"], 0.0), *a["pool"], a["strides"],
                         (1, 1)).sum(axis=(3, 4))
            cnt = _windows(_pad_hw(np.ones_like(x[:1]), a["padding"], 0.0), *a["pool"],
                           a["strides"], (1, 1)).sum(axis=(3, 4))
            y = s / cnt
        elif k == "global_avg_pool":
            y = x.mean(axis=(1, 2))
        elif k == "global_max_pool":
            y = x.max(axis=(1, 2))
        elif k == "reshape":
            y = x
        elif k == "pad":
            y = _pad_hw(x, a["padding"], 0.0)
        elif k in ("add", "mul"):
            o = (vals[op.inputs[1]] if T[op.inputs[1]].data is None
                 else c(op.inputs[1])[None])
            o = o.reshape(o.shape[0], -1)
            xv = x.reshape(n, -1)
            if o.shape[1] != xv.shape[1]:
                o = np.tile(o, (1, xv.shape[1] // o.shape[1]))
            y = xv + o if k == "add" else xv * o
            y = _act_f(y, a.get("activation", "linear"))
        elif k == "concat":
            y = np.concatenate([vals[i] for i in op.inputs],
                               axis=_concat_axis(op, T[op.outputs[0]]) + 1)
        elif k == "scale_shift":
            y = x * c(op.inputs[1]) + c(op.inputs[2])
        elif k == "activation":
            y = _act_f(x, a["activation"], a.get("alpha", 0.0))
        elif k == "softmax":
            z = (x - x.max(axis=-1, keepdims=True)) * a.get("beta", 1.0)
            e = np.exp(z)
            y = e / e.sum(axis=-1, keepdims=True)
        elif k in ("quantize", "dequantize"):
            y = x
        else:
            raise ConversionError(f"no float reference for op {k!r}")
        y = np.asarray(y, np.float64).reshape(n, *T[op.outputs[0]].shape)
        vals[op.outputs[0]] = y
        if record is not None:
            lo, hi = float(np.min(y)), float(np.max(y))
            old = record.get(op.outputs[0])
            record[op.outputs[0]] = (lo, hi) if old is None else (min(lo, old[0]),
                                                                  max(hi, old[1]))
    if record is not None:
        record[ir.input] = (float(X.min()), float(X.max()))
    out = vals[ir.output]
    return out.reshape(out.shape[0], -1)


def choose_qparams(lo: float, hi: float) -> tuple[np.float32, int]:
    """Per-tensor asymmetric int8 (scale, zero point) of the range [lo, hi] widened to 0."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    if hi - lo <= 0.0:
        return np.float32(1.0 / 255.0), -128
    scale = np.float32((hi - lo) / 255.0)
    zp = int(np.clip(_tround(-128.0 - lo / float(scale)), -128, 127))
    return scale, zp


def _merge_scale_shifts(ir: NetIR) -> NetIR:
    """Each scale_shift whose only reader is another one (constants of the same size, or
    one of them a scalar) and is not the output: both become one, a = a1 a2 and
    shift = shift1 a2 + shift2 (float64, stored float32)."""
    while True:
        T = dict(ir.tensors)
        readers: dict[str, list[Op]] = {}
        for op in ir.ops:
            for n in op.inputs:
                readers.setdefault(n, []).append(op)

        def const(name: str, T: dict = T) -> np.ndarray | None:
            d = T[name].data
            return None if d is None else np.asarray(d, np.float64).ravel()

        for op in ir.ops:
            y = op.outputs[0]
            rd = readers.get(y, [])
            if op.kind != "scale_shift" or y == ir.output or len(rd) != 1 or \
                    rd[0].kind != "scale_shift" or rd[0].inputs[0] != y or \
                    rd[0].inputs.count(y) != 1:
                continue
            nxt = rd[0]
            a1, s1, a2, s2 = (const(op.inputs[1]), const(op.inputs[2]),
                              const(nxt.inputs[1]), const(nxt.inputs[2]))
            if any(v is None for v in (a1, s1, a2, s2)):
                continue
            sizes = {v.size for v in (a1, s1, a2, s2)} - {1}
            if len(sizes) > 1:
                continue
            n = sizes.pop() if sizes else 1
            a1, s1, a2, s2 = (np.broadcast_to(v, (n,)) for v in (a1, s1, a2, s2))
            an, sn = f"{nxt.outputs[0]}__merged_scale", f"{nxt.outputs[0]}__merged_shift"
            T[an] = Tensor(an, (n,), "float32", (a1 * a2).astype(np.float32))
            T[sn] = Tensor(sn, (n,), "float32", (s1 * a2 + s2).astype(np.float32))
            del T[y]
            merged = replace(nxt, inputs=(op.inputs[0], an, sn))
            ops = [o for o in ir.ops if o is not op]
            ops[ops.index(nxt)] = merged
            ir = replace(ir, tensors=T, ops=ops)
            break
        else:
            return ir


def _fold_scale_shifts(ir: NetIR) -> NetIR:
    """Fold each scale_shift (Rescaling, Normalization, a BatchNormalization not folded into
    the op before it) whose output only a dense / conv / depthwise reads (reshapes between
    allowed) into that op: W' = W a and bias' = bias + W shift per input element (float64,
    stored float32). In int8 this saves the MUL and the ADD over every element that TFLite
    writes for it (about 90 instructions per element on Cortex-M4F: the image example's
    Rescaling(1/255) cost 30% of its frame).

    Exact in real arithmetic when every window of the op lies in its input (dense, a conv
    without padding) or the shift is 0; a padded conv of a shifted input is left alone (its
    padding is 0 after the shift, which the weights cannot see). A per-element factor that
    differs between the positions one weight meets (an image's per-pixel scale before a
    conv) is left alone too. Two scale_shifts in a row (a Rescaling, then a BatchNormalization)
    become one first. The int8 model is the folded one (the file written for TFLite Micro
    too); its reported agreement is with the source's float graph."""
    ir = _merge_scale_shifts(ir)
    T = dict(ir.tensors)
    readers: dict[str, list[Op]] = {}
    for op in ir.ops:
        for n in op.inputs:
            readers.setdefault(n, []).append(op)
    new_in: dict[int, dict[int, str]] = {}  # id(op) -> {input position: new tensor name}
    new_wb: dict[int, tuple[str, str]] = {}  # id(reader) -> (weights, bias) names
    dropped: set[int] = set()
    for op in ir.ops:
        if op.kind != "scale_shift" or T[op.inputs[1]].data is None or \
                T[op.inputs[2]].data is None:
            continue
        x, y = op.inputs[0], op.outputs[0]
        cur, first = y, None
        while True:  # the one reader, through reshapes
            rd = readers.get(cur, [])
            if cur == ir.output or len(rd) != 1 or rd[0].inputs.count(cur) != 1 or \
                    rd[0].inputs[0] != cur or id(rd[0]) in new_in or id(rd[0]) in dropped:
                rd = []
                break
            first = first or rd[0]
            if rd[0].kind != "reshape":
                break
            cur = rd[0].outputs[0]
        if not rd or rd[0].kind not in ("dense", "conv2d", "depthwise_conv2d"):
            continue
        r = rd[0]
        a = np.asarray(T[op.inputs[1]].data, np.float64).ravel()
        sh = np.asarray(T[op.inputs[2]].data, np.float64).ravel()
        w = np.asarray(T[r.inputs[1]].data, np.float64)
        cin = T[cur].shape[-1] if r.kind != "dense" else w.shape[1]
        rows = T[cur].size // cin
        if (rows > 1 and (cin % a.size or cin % sh.size)) or (
                r.kind != "dense" and sh.any() and r.attrs["padding"] != ((0, 0), (0, 0))):
            continue
        if r.kind == "depthwise_conv2d":
            ch = np.arange(w.shape[-1]) // int(r.attrs.get("multiplier", 1))
            fa, fs = a[ch % a.size], sh[ch % sh.size]
            w2, extra = w * fa, (w * fs).sum(axis=(0, 1, 2))
        else:
            idx = np.arange(cin)
            fa, fs = a[idx % a.size], sh[idx % sh.size]
            w2 = w * fa  # over the last (input) axis of dense W[o, i] / conv W[o, kh, kw, c]
            extra = (w * fs).reshape(w.shape[0], -1).sum(axis=1)
        n_out = extra.size
        b = (np.asarray(T[r.inputs[2]].data, np.float64) if len(r.inputs) > 2
             else np.zeros(n_out))
        wn, bn = f"{r.inputs[1]}__folded", f"{r.outputs[0]}__folded_bias"
        T[wn] = Tensor(wn, T[r.inputs[1]].shape, "float32", w2.astype(np.float32))
        T[bn] = Tensor(bn, (n_out,), "float32", (b + extra).astype(np.float32))
        new_wb[id(r)] = (wn, bn)
        new_in.setdefault(id(first), {})[0] = x
        dropped.add(id(op))
    if not dropped:
        return ir
    ops = []
    for op in ir.ops:
        if id(op) in dropped:
            del T[op.outputs[0]]
            continue
        ins = list(op.inputs)
        for i, n in new_in.get(id(op), {}).items():
            ins[i] = n
        if id(op) in new_wb:
            ins = [ins[0], *new_wb[id(op)]]
        ops.append(replace(op, inputs=tuple(ins)))
    return replace(ir, tensors=T, ops=ops)


def _split_activations(ir: NetIR) -> NetIR:
    """Fused activations the int8 kernels cannot clamp become separate ops (hard_sigmoid
    an ADD of 3 with relu6 and a MUL by 1/6, swish a LOGISTIC and a MUL); a scale_shift
    becomes MUL and ADD by constant per-channel vectors (as TFLite writes them); a dense /
    conv without bias (Keras ``use_bias=False``, the depthwise half of SeparableConv2D) gets
    a zero one (the int8 kernels take an int32 bias); a concat axis becomes non-negative."""
    tensors = dict(ir.tensors)
    ops: list[Op] = []
    for op in ir.ops:
        if op.kind in ("dense", "conv2d", "depthwise_conv2d") and len(op.inputs) == 2:
            w = tensors[op.inputs[1]]
            n_out = w.shape[-1] if op.kind == "depthwise_conv2d" else w.shape[0]
            zero = Tensor(f"{op.outputs[0]}__zero_bias", (n_out,), "float32",
                          np.zeros(n_out, np.float32))
            tensors[zero.name] = zero
            op = replace(op, inputs=(*op.inputs, zero.name))
        if op.kind == "concat":
            axis = _concat_axis(op, tensors[op.outputs[0]])
            op = replace(op, attrs={**op.attrs, "axis": axis})
        if op.kind == "scale_shift":
            y = tensors[op.outputs[0]]
            mid = Tensor(y.name + "__scaled", y.shape)
            tensors[mid.name] = mid
            ops.append(Op("mul", (op.inputs[0], op.inputs[1]), (mid.name,),
                          {"activation": "linear"}, op.name))
            ops.append(Op("add", (mid.name, op.inputs[2]), op.outputs,
                          {"activation": "linear"}, op.name))
            continue
        act = op.attrs.get("activation", "linear")
        if op.kind in ("dense", "conv2d", "depthwise_conv2d", "add", "mul") and \
                act not in ("linear", "relu", "relu6"):
            y = tensors[op.outputs[0]]
            mid = Tensor(y.name + "__pre", y.shape)
            tensors[mid.name] = mid
            ops.append(replace(op, outputs=(mid.name,),
                               attrs={**op.attrs, "activation": "linear"}))
            ops.append(Op("activation", (mid.name,), op.outputs,
                          {"activation": act, "alpha": op.attrs.get("alpha", 0.0)},
                          op.name))
        else:
            ops.append(op)
    # hard_sigmoid = relu6(x + 3) / 6 (Keras 3) and swish = x sigmoid(x), as TensorFlow's
    # converter writes them: an ADD of 3 with a fused relu6 and a MUL by 1/6; a LOGISTIC and
    # a MUL (no int8 kernels of their own)
    out: list[Op] = []
    for op in ops:
        act = op.attrs.get("activation") if op.kind == "activation" else None
        if act not in INT8_COMPOSED:
            out.append(op)
            continue
        y = tensors[op.outputs[0]]
        if act == "swish":
            sig = Tensor(y.name + "__sigmoid", y.shape)
            tensors[sig.name] = sig
            out.append(Op("activation", (op.inputs[0],), (sig.name,),
                          {"activation": "sigmoid", "alpha": 0.0}, op.name))
            out.append(Op("mul", (op.inputs[0], sig.name), op.outputs,
                          {"activation": "linear"}, op.name))
            continue
        three = Tensor(y.name + "__three", (1,), "float32", np.array([3.0], np.float32))
        sixth = Tensor(y.name + "__sixth", (1,), "float32", np.array([1 / 6], np.float32))
        mid = Tensor(y.name + "__relu6", y.shape)
        for t in (three, sixth, mid):
            tensors[t.name] = t
        out.append(Op("add", (op.inputs[0], three.name), (mid.name,),
                      {"activation": "relu6"}, op.name))
        out.append(Op("mul", (mid.name, sixth.name), op.outputs, {"activation": "linear"},
                      op.name))
    return replace(ir, tensors=tensors, ops=out)


def quantize_net(ir: NetIR, calibration: np.ndarray) -> NetIR:
    """Post-training int8 quantization of a float :class:`NetIR`.

    Parameters
    ----------
    ir : NetIR
        The float32 graph.
    calibration : ndarray
        (n, n_features) representative input rows (a few hundred are enough); the
        activation ranges are their minimum and maximum.

    Returns
    -------
    NetIR
        ``quantized=True``: float input -> ``quantize`` -> int8 ops -> ``dequantize`` ->
        float output, with the same input and output tensor names.

    Raises
    ------
    ConversionError
        For an op or activation with no int8 kernel (the message lists the supported
        ones).
    ValueError
        For calibration data of the wrong width or with non-finite values.
    """
    X = np.asarray(calibration, np.float64)
    if X.ndim != 2 or X.shape[1] != ir.n_features or X.shape[0] == 0:
        raise ValueError(f"calibration must be (n, {ir.n_features}) rows; got shape "
                         f"{X.shape}")
    if not np.isfinite(X).all():
        raise ValueError("calibration has NaN or infinite values")
    if ir.quantized:
        raise ValueError("the network is already quantized")
    source = ir
    ir = _split_activations(_fold_scale_shifts(ir))
    for op in ir.ops:
        if op.kind == "activation" and op.attrs["activation"] not in INT8_ACTIVATIONS:
            raise ConversionError(f"{op.name or op.kind}: activation "
                                  f"{op.attrs['activation']!r} has no int8 kernel; int8 "
                                  f"activations: {', '.join(INT8_ACTIVATIONS + INT8_COMPOSED)}")
        if op.kind in ("quantize", "dequantize"):
            raise ValueError("the network already has quantize/dequantize ops")
    ranges: dict[str, tuple[float, float]] = {}
    run_float(ir, X, ranges)
    T = ir.tensors
    qp: dict[str, tuple[np.float32, int]] = {}

    def same_as_input(op: Op) -> bool:
        if op.kind in ("max_pool2d", "avg_pool2d", "reshape", "pad", "global_max_pool"):
            return True
        return op.kind == "activation" and op.attrs["activation"] == "relu6"

    qp[ir.input] = choose_qparams(*ranges[ir.input])
    for op in ir.ops:
        y = op.outputs[0]
        if same_as_input(op):
            qp[y] = qp[op.inputs[0]]
        elif op.kind == "softmax" or (op.kind == "activation" and
                                      op.attrs["activation"] == "sigmoid"):
            qp[y] = (np.float32(1.0 / 256), -128)
        elif op.kind == "activation" and op.attrs["activation"] == "tanh":
            qp[y] = (np.float32(1.0 / 128), 0)
        else:
            qp[y] = choose_qparams(*ranges[y])
    # concat: one set of parameters for the inputs and the output (their union), set on
    # the inputs whose producer is free to take it; the others are requantized below
    fixed = {ir.input}
    for op in ir.ops:
        if same_as_input(op) or op.kind == "softmax" or (
                op.kind == "activation" and op.attrs["activation"] in ("sigmoid", "tanh")):
            fixed.add(op.outputs[0])
    for op in ir.ops:
        if op.kind == "concat":
            names = [*op.inputs, op.outputs[0]]
            lo = min(ranges.get(n, (0.0, 0.0))[0] for n in names)
            hi = max(ranges.get(n, (0.0, 0.0))[1] for n in names)
            shared = choose_qparams(lo, hi)
            for n in names:
                if n not in fixed:
                    qp[n] = shared
    # tensors tied through "same_as_input" ops keep their producer's parameters
    for op in ir.ops:
        if same_as_input(op):
            qp[op.outputs[0]] = qp[op.inputs[0]]

    new_t: dict[str, Tensor] = {}
    qin = ir.input + "__q"
    new_t[ir.input] = replace(T[ir.input], dtype="float32", data=None, scale=None,
                              zero_point=None)
    s, z = qp[ir.input]
    new_t[qin] = Tensor(qin, T[ir.input].shape, "int8", None, np.array([s], np.float32),
                        np.array([z], np.int32))
    rename = {ir.input: qin}
    ops: list[Op] = [Op("quantize", (ir.input,), (qin,), {}, "quantize_input")]
    out_q = ir.output + "__q"
    for op in ir.ops:
        y = op.outputs[0]
        yname = out_q if y == ir.output else y
        rename[y] = yname
        s, z = qp[y]
        new_t[yname] = Tensor(yname, T[y].shape, "int8", None, np.array([s], np.float32),
                              np.array([z], np.int32))
        ins = [rename[op.inputs[0]]]
        if op.kind in ("dense", "conv2d", "depthwise_conv2d"):
            xs, _ = qp[op.inputs[0]]
            wq, bq = _quantize_weights(T[op.inputs[1]], T[op.inputs[2]], xs,
                                       op.kind == "depthwise_conv2d")
            new_t[wq.name] = wq
            new_t[bq.name] = bq
            ins += [wq.name, bq.name]
        elif op.kind in ("add", "mul"):
            other = op.inputs[1]
            if T[other].data is not None:
                cdata = np.asarray(T[other].data, np.float64)
                cs, cz = choose_qparams(cdata.min(), cdata.max())
                cq = np.clip(np.round(cdata / float(cs)) + cz, -128, 127).astype(np.int8)
                name = other + "__q"
                new_t[name] = Tensor(name, T[other].shape, "int8", cq,
                                     np.array([cs], np.float32), np.array([cz], np.int32))
                ins.append(name)
            else:
                ins.append(rename[other])
        elif op.kind == "concat":
            ins = []
            for n in op.inputs:
                if qp[n] == qp[y]:
                    ins.append(rename[n])
                    continue
                rq = f"{n}__requant_{len(ops)}"
                new_t[rq] = Tensor(rq, T[n].shape, "int8", None, np.array([s], np.float32),
                                   np.array([z], np.int32))
                ops.append(Op("quantize", (rename[n],), (rq,), {}, op.name))
                ins.append(rq)
        ops.append(Op(op.kind, tuple(ins), (yname,), dict(op.attrs), op.name))
    new_t[ir.output] = Tensor(ir.output, T[ir.output].shape, "float32")
    ops.append(Op("dequantize", (out_q,), (ir.output,), {}, "dequantize_output"))
    qir = replace(ir, tensors=new_t, ops=ops, quantized=True, plan=None)
    qir.quant_report = agreement(source, qir, X)
    return qir


def agreement(float_ir: NetIR, int8_ir: NetIR, X: np.ndarray) -> dict:
    """How the int8 graph agrees with the float one on rows ``X``.

    Returns
    -------
    dict
        ``rows``; ``max_abs_diff`` and ``mean_abs_diff`` of the outputs; for a classifier
        ``argmax_agreement`` (the fraction of rows with the same predicted class).
    """
    f = run_float(float_ir, X)
    q = run_int8(int8_ir, np.asarray(X, np.float32)).astype(np.float64)
    rep = {"rows": int(X.shape[0]), "max_abs_diff": float(np.abs(f - q).max()),
           "mean_abs_diff": float(np.abs(f - q).mean())}
    if float_ir.kind == "classifier":
        if f.shape[1] == 1:
            same = (f[:, 0] > 0.5) == (q[:, 0] > 0.5)
        else:
            same = f.argmax(axis=1) == q.argmax(axis=1)
        rep["argmax_agreement"] = float(same.mean())
    return rep


QUANTIZE_OPTIONS = (None, "int8")


def apply_options(ir: NetIR, options: dict) -> NetIR:
    """The family options ``quantize`` / ``calibration`` applied to a converted graph.

    Parameters
    ----------
    ir : NetIR
        A float graph (or an int8 one read from a TFLite file).
    options : dict
        ``quantize``: None (keep the graph's number format) or ``"int8"`` (post-training
        quantization, needs ``calibration``: (n, n_features) representative rows).

    Returns
    -------
    NetIR
        ``ir`` itself, or its quantized version.

    Raises
    ------
    ValueError
        An invalid option value, or ``quantize="int8"`` without calibration rows.
    """
    q = options.get("quantize")
    cal = options.get("calibration")
    if q not in QUANTIZE_OPTIONS:
        raise ValueError(f"quantize={q!r}; allowed: None, 'int8'")
    if q is None:
        if cal is not None and not ir.quantized:
            raise ValueError("calibration= is used with quantize='int8' only")
        return ir
    if ir.quantized:
        return ir  # already int8 (a quantized TFLite file)
    if cal is None:
        raise ValueError("quantize='int8' needs calibration=X: representative input rows "
                         f"(n, {ir.n_features}), e.g. a few hundred training rows")
    X = np.asarray(cal, np.float64)
    if X.ndim > 2:
        X = X.reshape(X.shape[0], -1)
    return quantize_net(ir, X)


def _quantize_weights(w: Tensor, b: Tensor, in_scale: np.float32,
                      depthwise: bool) -> tuple[Tensor, Tensor]:
    W = np.asarray(w.data, np.float64)
    axis = W.ndim - 1 if depthwise else 0
    red = tuple(i for i in range(W.ndim) if i != axis)
    amax = np.abs(W).max(axis=red)
    scale = np.where(amax > 0, amax / 127.0, 1.0)
    # TFLite's AdjustWeightsForBiasScale: a channel whose weights are tiny next to its bias
    # (e.g. a relu unit that died in training, its weights decayed towards 0) would get a
    # bias scale so small that the int32 bias overflows (and a float32 bias scale that
    # underflows to 0): widen its weight scale so that |bias| / bias_scale <= 2^30 and the
    # bias scale stays a normal float32 (its weights then quantize to 0 or a few levels)
    bmag = np.abs(np.asarray(b.data, np.float64)).reshape(-1)
    if bmag.size == scale.size:
        s_in = max(float(np.float32(in_scale)), 2.0**-126)
        scale = np.maximum(scale, np.maximum(bmag / (s_in * 2.0**30), 2.0**-125 / s_in))
    scale = scale.astype(np.float32)
    shape = [1] * W.ndim
    shape[axis] = -1
    q = np.clip(np.round(W / scale.astype(np.float64).reshape(shape)), -127, 127)
    wq = Tensor(w.name + "__q", tuple(W.shape), "int8", q.astype(np.int8), scale,
                np.zeros(scale.size, np.int32), axis)
    bscale = (np.float32(in_scale) * scale).astype(np.float32)
    bv = np.round(np.asarray(b.data, np.float64) / bscale.astype(np.float64))
    bv = np.clip(bv, INT32_MIN, INT32_MAX).astype(np.int32)
    bq = Tensor(b.name + "__q", tuple(b.shape), "int32", bv, bscale,
                np.zeros(scale.size, np.int32), 0)
    return wq, bq
