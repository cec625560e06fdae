"""Float64 evaluation of a float :class:`~.ir.NetIR` and the certified error bound of the
C's float32 outputs (see ``convert.py`` for the derivation).

:func:`evaluate` returns the float64 value of every tensor (batch first) and, with
``bounds=True``, a bound ``e >= |C float32 value - exact value|`` per element, propagated
op by op:

* dense / conv2d / depthwise (``n`` products and the bias summed in float32 in a fixed
  order): ``|W| e_in + (gamma_{n+1} + eps_w) S``, ``S = |W| |x| + |b|`` (``eps_w`` the
  weights' relative error against the source, ``gamma_k = k u / (1 - k u)``), then the
  fused activation;
* activation ``f`` (Lipschitz ``L_f``): ``L_f e + 8 u |y| + 4 u A_f`` (the float32
  evaluation: ``ml_expf`` <= 1 ulp, ``ml_tanhf`` <= 2 ulp, divisions correctly rounded;
  ``A_f`` the absolute error scale of ``alpha (e^x - 1)`` for elu / selu);
* softmax: ``p_j (e^{2E} - 1) + p_j (d_j + sum_k p_k d_k + gamma_n + u)``, ``E`` the row's
  largest input bound and ``d_k = u |z_k - max z| + 2 u`` (the shifted argument's rounding
  and ``ml_expf``);
* max pooling: the largest bound in the window; average pooling: the mean bound +
  ``gamma_k mean|x| + u |y|``; pad: 0 on the padding; add: ``e_a + e_b + u |y|``;
  mul: ``|a| e_b + |b| e_a + e_a e_b + u |y|``; scale_shift:
  ``|a| e + (gamma_2 + eps_w) (|a x| + |b|)``.

Underflow adds ``2^-126`` per operation (counted as ``1e-37`` per element per op).
"""

from __future__ import annotations

import numpy as np

from .ir import ACTIVATION_ALPHA, NetIR, Op

U = 2.0**-24
TINY = 1e-37
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946

#: global Lipschitz constant of each activation (alpha-dependent ones computed below)
LIPSCHITZ = {"linear": 1.0, "relu": 1.0, "relu6": 1.0, "sigmoid": 0.25,
             "hard_sigmoid": 1.0 / 6.0, "tanh": 1.0, "swish": 1.0998,
             "hard_swish": 1.5, "selu": SELU_SCALE * SELU_ALPHA}


def gamma(n: int) -> float:
    """``gamma_n = n u / (1 - n u)``: relative error bound of a float32 sum of n terms."""
    return n * U / (1 - n * U)


def activate(z: np.ndarray, act: str, alpha: float) -> np.ndarray:
    """Float64 activation ``act`` (Keras / scikit-learn semantics)."""
    if act == "linear":
        return z
    if act == "relu":
        return np.maximum(z, 0.0)
    if act == "relu6":
        return np.clip(z, 0.0, 6.0)
    if act == "leaky_relu":
        return np.where(z >= 0, z, alpha * z)
    if act == "elu":
        return np.where(z > 0, z, alpha * np.expm1(np.minimum(z, 0.0)))
    if act == "selu":
        return SELU_SCALE * np.where(z > 0, z, SELU_ALPHA * np.expm1(np.minimum(z, 0.0)))
    if act == "sigmoid":
        return 0.5 * (1.0 + np.tanh(0.5 * z))
    if act == "hard_sigmoid":
        return np.clip(z + 3.0, 0.0, 6.0) / 6.0
    if act == "tanh":
        return np.tanh(z)
    if act == "swish":
        return z * 0.5 * (1.0 + np.tanh(0.5 * z))
    if act == "hard_swish":
        return z * np.clip(z + 3.0, 0.0, 6.0) / 6.0
    raise ValueError(f"unknown activation {act!r}")


def _act_bound(e: np.ndarray, y: np.ndarray, act: str, alpha: float) -> np.ndarray:
    if act == "linear":
        return e
    if act in ("relu", "relu6"):
        return e
    if act == "leaky_relu":
        return max(1.0, abs(alpha)) * e + U * np.abs(y) + TINY
    if act == "elu":
        return max(1.0, abs(alpha)) * e + 8 * U * np.abs(y) + 4 * U * abs(alpha) + TINY
    scale = SELU_SCALE * SELU_ALPHA if act == "selu" else 0.0
    return LIPSCHITZ[act] * e + 8 * U * np.abs(y) + 4 * U * scale + TINY


def _windows(x: np.ndarray, kh: int, kw: int, sh: int, sw: int, dh: int, dw: int,
             oh: int, ow: int):
    """Yield (ky, kx, view (n, oh, ow, C)) of the padded input x."""
    for ky in range(kh):
        for kx in range(kw):
            yield ky, kx, x[:, ky * dh: ky * dh + (oh - 1) * sh + 1: sh,
                            kx * dw: kx * dw + (ow - 1) * sw + 1: sw, :]


def _pad(x: np.ndarray, padding, value: float = 0.0) -> np.ndarray:
    (t, b), (left, r) = padding
    return np.pad(x, ((0, 0), (t, b), (left, r), (0, 0)), constant_values=value)


def _conv(x: np.ndarray, w: np.ndarray, op: Op, out_shape) -> np.ndarray:
    """conv2d of x (n, H, W, C) with w (O, kh, kw, C)."""
    oh, ow, _ = out_shape
    _, kh, kw, _ = w.shape
    (sh, sw), (dh, dw) = op.attrs["strides"], op.attrs["dilation"]
    xp = _pad(x, op.attrs["padding"])
    y = np.zeros((x.shape[0], oh, ow, w.shape[0]))
    for ky, kx, v in _windows(xp, kh, kw, sh, sw, dh, dw, oh, ow):
        y += v @ w[:, ky, kx, :].T
    return y


def _depthwise(x: np.ndarray, w: np.ndarray, op: Op, out_shape) -> np.ndarray:
    """depthwise conv of x (n, H, W, C) with w (1, kh, kw, C * m)."""
    oh, ow, oc = out_shape
    _, kh, kw, _ = w.shape
    m = int(op.attrs["multiplier"])
    (sh, sw), (dh, dw) = op.attrs["strides"], op.attrs["dilation"]
    xp = np.repeat(_pad(x, op.attrs["padding"]), m, axis=-1)
    y = np.zeros((x.shape[0], oh, ow, oc))
    for ky, kx, v in _windows(xp, kh, kw, sh, sw, dh, dw, oh, ow):
        y += v * w[0, ky, kx, :]
    return y


def _pool(x: np.ndarray, op: Op, out_shape, kind: str) -> np.ndarray:
    oh, ow, _ = out_shape
    kh, kw = op.attrs["pool"]
    sh, sw = op.attrs["strides"]
    if kind == "max":
        xp = _pad(x, op.attrs["padding"], -np.inf)
        y = np.full((x.shape[0], oh, ow, x.shape[-1]), -np.inf)
        for _, _, v in _windows(xp, kh, kw, sh, sw, 1, 1, oh, ow):
            y = np.maximum(y, v)
        return y
    xp = _pad(x, op.attrs["padding"])
    ones = _pad(np.ones((1, *x.shape[1:3], 1)), op.attrs["padding"])
    s = np.zeros((x.shape[0], oh, ow, x.shape[-1]))
    c = np.zeros((1, oh, ow, 1))
    for _, _, v in _windows(xp, kh, kw, sh, sw, 1, 1, oh, ow):
        s += v
    for _, _, v in _windows(ones, kh, kw, sh, sw, 1, 1, oh, ow):
        c += v
    return s / c if kind == "avg" else c  # kind "count": the cell counts


def _param(ir: NetIR, name: str) -> np.ndarray:
    return ir.tensors[name].data.astype(np.float64)


def tensor_value(ir: NetIR, X: np.ndarray, name: str) -> np.ndarray:
    """Float64 value of tensor ``name`` on X, shape (n_samples, size of the tensor)."""
    vals: dict[str, np.ndarray] = {}
    evaluate(ir, X, values=vals)
    return vals[name].reshape(len(vals[name]), -1)


def evaluate(ir: NetIR, X: np.ndarray, bounds: bool = False,
             values: dict[str, np.ndarray] | None = None
             ) -> tuple[np.ndarray, np.ndarray | None]:
    """Float64 output of ``ir`` on X and (``bounds``) the bound on the C's error.

    Parameters
    ----------
    ir : NetIR
        A float graph.
    X : ndarray of shape (n_samples, n_features) or (n_samples, *input_shape)
    bounds : bool
        Also propagate the error bounds.
    values : dict, optional
        Filled with every tensor's float64 value (batch first).

    Returns
    -------
    y : ndarray of shape (n_samples, size of the output tensor)
    e : ndarray of the same shape, or None
    """
    n = X.shape[0]
    vals: dict[str, np.ndarray] = {} if values is None else values
    errs: dict[str, np.ndarray] = {}
    x_shape = ir.tensors[ir.input].shape
    vals[ir.input] = np.asarray(X, dtype=np.float32).astype(np.float64).reshape(n, *x_shape)
    errs[ir.input] = np.zeros_like(vals[ir.input])
    for op in ir.ops:
        out_t = ir.tensors[op.outputs[0]]
        shape = out_t.shape
        x = vals[op.inputs[0]]
        e = errs[op.inputs[0]]
        k = op.kind
        act = op.attrs.get("activation", "linear")
        alpha = float(op.attrs.get("alpha", ACTIVATION_ALPHA.get(act, 0.0)))
        eps_w = float(op.attrs.get("weight_rel_err", 0.0))
        if k in ("dense", "conv2d", "depthwise_conv2d"):
            w = _param(ir, op.inputs[1])
            bias = _param(ir, op.inputs[2]) if len(op.inputs) > 2 else None
            bmag = (np.asarray(op.attrs["bias_mag"], dtype=np.float64)
                    if "bias_mag" in op.attrs else (np.abs(bias) if bias is not None else 0.0))
            if k == "dense":
                z = x @ w.T
                s = np.abs(x) @ np.abs(w).T
                ep = e @ np.abs(w).T
                terms = w.shape[1]
            elif k == "conv2d":
                z = _conv(x, w, op, shape)
                s = _conv(np.abs(x), np.abs(w), op, shape)
                ep = _conv(e, np.abs(w), op, shape)
                terms = w.shape[1] * w.shape[2] * w.shape[3]
            else:
                z = _depthwise(x, w, op, shape)
                s = _depthwise(np.abs(x), np.abs(w), op, shape)
                ep = _depthwise(e, np.abs(w), op, shape)
                terms = w.shape[1] * w.shape[2]
            if bias is not None:
                z = z + bias
                s = s + bmag
                terms += 1
            y = activate(z, act, alpha)
            ez = ep + (gamma(terms) + eps_w) * s * (1 + 2 * U) + terms * TINY
            ey = _act_bound(ez, y, act, alpha)
        elif k == "activation":
            y = activate(x, act, alpha)
            ey = _act_bound(e, y, act, alpha)
        elif k == "softmax":
            zmax = x.max(axis=-1, keepdims=True)
            ex = np.exp(x - zmax)
            y = ex / ex.sum(axis=-1, keepdims=True)
            big = e.max(axis=-1, keepdims=True)
            d = U * np.abs(x - zmax) + 2 * U
            m = x.shape[-1]
            ey = (y * np.expm1(2 * big) + y * (d + (y * d).sum(axis=-1, keepdims=True)
                                                 + gamma(m) + U)) * (1 + 4 * U) + TINY
        elif k in ("max_pool2d", "avg_pool2d"):
            if k == "max_pool2d":
                y = _pool(x, op, shape, "max")
                ey = _pool(e, op, shape, "max")
            else:
                y = _pool(x, op, shape, "avg")
                cnt = _pool(x, op, shape, "count")
                kk = int(cnt.max())
                ey = (_pool(e, op, shape, "avg") + gamma(kk) * _pool(np.abs(x), op, shape,
                                                                     "avg")
                      + U * np.abs(y) + TINY)
        elif k in ("global_avg_pool", "global_max_pool"):
            xr = x.reshape(n, -1, x.shape[-1])
            er = e.reshape(n, -1, x.shape[-1])
            if k == "global_max_pool":
                y, ey = xr.max(axis=1), er.max(axis=1)
            else:
                y = xr.mean(axis=1)
                ey = (er.mean(axis=1) + gamma(xr.shape[1]) * np.abs(xr).mean(axis=1)
                      + U * np.abs(y) + TINY)
        elif k == "reshape":
            y, ey = x.reshape(n, *shape), e.reshape(n, *shape)
        elif k == "pad":
            y, ey = _pad(x, op.attrs["padding"]), _pad(e, op.attrs["padding"])
        elif k in ("add", "mul"):
            x2, e2 = vals[op.inputs[1]], errs[op.inputs[1]]
            if x2.ndim < x.ndim:  # a broadcast operand of lower rank: numpy's alignment
                lead = (1,) * (x.ndim - x2.ndim)
                x2 = x2.reshape(len(x2), *lead, *x2.shape[1:])
                e2 = e2.reshape(len(e2), *lead, *e2.shape[1:])
            if k == "add":
                z = x + x2
                ez = e + e2 + U * np.abs(z) + TINY
            else:
                z = x * x2
                ez = np.abs(x) * e2 + np.abs(x2) * e + e * e2 + U * np.abs(z) + TINY
            y = activate(z, act, alpha)
            ey = _act_bound(ez, y, act, alpha)
        elif k == "concat":
            ax = int(op.attrs["axis"]) % len(shape) + 1  # Keras: from the end; TFLite: from 0
            y = np.concatenate([x, vals[op.inputs[1]]], axis=ax)
            ey = np.concatenate([e, errs[op.inputs[1]]], axis=ax)
        elif k == "scale_shift":
            a, bb = _param(ir, op.inputs[1]), _param(ir, op.inputs[2])
            c = a.size
            xr = x.reshape(n, -1, c)
            y = (xr * a + bb).reshape(n, *shape)
            bmag = np.asarray(op.attrs.get("bias_mag", np.abs(bb)), dtype=np.float64)
            s = (np.abs(xr * a) + bmag).reshape(n, *shape)
            ey = ((np.abs(a) * e.reshape(n, -1, c)).reshape(n, *shape)
                  + (gamma(2) + eps_w) * s * (1 + 2 * U) + TINY)
        else:
            raise ValueError(f"op kind {k!r} has no float64 reference")
        vals[op.outputs[0]] = y.reshape(n, *shape)
        if bounds:
            errs[op.outputs[0]] = np.asarray(ey, dtype=np.float64).reshape(n, *shape)
        else:
            errs[op.outputs[0]] = np.zeros((n, *shape))
    out = vals[ir.output].reshape(n, -1)
    return out, (errs[ir.output].reshape(n, -1) if bounds else None)
