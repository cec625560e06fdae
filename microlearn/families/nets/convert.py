"""Neural nets: scikit-learn MLPs and Keras 3 models -> :class:`~.ir.NetIR` (float32).

Sources
-------
* scikit-learn ``MLPClassifier`` (binary: one logistic unit, ``predict`` = class 1 when
  ``p > 0.5``; multiclass: softmax, first maximum; multilabel targets are rejected) and
  ``MLPRegressor``; every hidden activation (identity, logistic, tanh, relu).
* Keras 3 ``Sequential`` and Functional models (one input, one output, channels last;
  branches joined by Add, Multiply, Concatenate); the layers of
  :data:`.keras_import.LAYERS`; training-only layers (Dropout, noise, ...) are skipped;
  BatchNormalization is folded into the preceding Dense / Conv / DepthwiseConv when that
  op has a linear activation and no other reader, else it is a ``scale_shift`` op.
  A model whose last op is a softmax over a vector (or one sigmoid unit) is a classifier:
  ``predict`` = index of the first maximum (one unit: 1 when ``p > 0.5``) mapped to
  ``classes`` (option; default ``0..k-1``), ``predict_proba`` = the model output
  (one unit: ``[1 - p, p]``); any other model is a regressor whose ``predict`` returns the
  flattened output, shape (n_samples, n_outputs) like Keras.

What the C computes
-------------------
float32 throughout: each dense / conv / depthwise output is
``act(fl(sum of fl(x_i w_i) in a fixed order) + b)`` (products in the order input row /
kernel row / kernel column / channel, bias last, no FMA contraction), pooling and
element-wise ops in float32, ``exp`` / ``tanh`` / division from ``ml_math.h`` (<= 1 ulp,
<= 2 ulp, correctly rounded). Every float op of the graph is run the same way by the header
and by the model file (the same kernels), so they agree bit for bit.

Tolerance (certified, per output element)
-----------------------------------------
With ``u = 2^-24`` and ``gamma_k = k u / (1 - k u)``, the error bound of every tensor is
propagated op by op from the exact (float64) values (:func:`.reference.evaluate`): a layer
with ``k`` products and a bias adds ``(gamma_{k+1} + eps_w) S`` with ``S = |W||x| + |b|``
and passes on ``|W| e_in`` (so ``|err| <~ K eps32 sum |w x|`` per layer, ``K`` = fan-in);
activations multiply the incoming bound by their Lipschitz constant (sigmoid 1/4, tanh 1,
relu 1, swish 1.1, hard_swish 1.5, selu 1.76, ...) and add their own float32 rounding
(<= 8 u |y|, + 4 u alpha for elu / selu); softmax turns an input bound ``E`` into
``p (e^{2E} - 1)`` plus its rounding (``p (d_j + sum p_k d_k + gamma_n + u)``,
``d = u |z - max| + 2u``); pooling, padding, add, mul, concat and scale_shift are
propagated exactly as stated in ``reference.py``. ``eps_w`` is the relative error of the
float32 weights against the source's: 0 for Keras weights, ``u`` for scikit-learn's
float64 weights, ``2u`` for folded BatchNorm / Normalization constants.

The asserted tolerance is that bound, **doubled** when the source computes in float32
(Keras; an MLP fitted on float32 data): its own outputs carry the same kind of rounding
(any summation order satisfies the same ``gamma_k`` bound). ``predict`` equals the source's
except at near-ties: rows whose two largest outputs (binary: ``p`` and 1/2) are closer
than the sum of their tolerances may differ; :func:`near_ties` lists them
(``Signature.exact_predict`` is False, and tests check that every disagreement is one).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import ConversionError
from . import plan as planning
from .ir import NetIR, Op, Tensor
from .reference import U, evaluate

SKLEARN = ("MLPClassifier", "MLPRegressor")
KERAS = ("Sequential", "Functional", "Model")
OPTIONS: dict[str, Any] = {"classes": None}

_SK_ACT = {"identity": "linear", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}
#: ops a following BatchNormalization folds into / an activation fuses into
_FOLD_INTO = ("dense", "conv2d", "depthwise_conv2d")
_FUSE_INTO = ("dense", "conv2d", "depthwise_conv2d", "add", "mul")


def _const(tensors: dict[str, Tensor], name: str, data: np.ndarray) -> str:
    data = np.ascontiguousarray(data, dtype=np.float32)
    if not np.all(np.isfinite(data)):
        raise ConversionError(f"{name}: non-finite weights")
    tensors[name] = Tensor(name, data.shape, data=data)
    return name


def from_sklearn(est: Any) -> NetIR:
    """An ``MLPClassifier`` / ``MLPRegressor`` as a float32 :class:`NetIR`."""
    name = type(est).__name__
    is_clf = any(c.__name__ == "MLPClassifier" for c in type(est).__mro__)
    out_act = str(est.out_activation_)
    if is_clf:
        lb = getattr(est, "_label_binarizer", None)
        if (lb is not None and str(getattr(lb, "y_type_", "")).startswith("multilabel")) \
                or (out_act == "logistic" and est.n_outputs_ > 1):
            raise ConversionError(f"{name} fitted on multilabel targets is not supported; "
                                  "supported: binary or multiclass targets")
    if est.activation not in _SK_ACT:
        raise ConversionError(f"{name}: activation={est.activation!r} is not supported; "
                              f"supported: {', '.join(_SK_ACT)}")
    ref32 = np.asarray(est.coefs_[0]).dtype == np.float32
    tensors: dict[str, Tensor] = {}
    ops: list[Op] = []
    n_in = int(np.asarray(est.coefs_[0]).shape[0])
    x = "input"
    tensors[x] = Tensor(x, (n_in,))
    n_layers = len(est.coefs_)
    for i, (w, b) in enumerate(zip(est.coefs_, est.intercepts_, strict=True)):
        w = np.asarray(w, dtype=np.float64)
        last = i == n_layers - 1
        act = _SK_ACT[est.activation] if not last else (
            {"identity": "linear", "logistic": "sigmoid", "softmax": "linear"}.get(out_act))
        if act is None:
            raise ConversionError(f"{name}: out_activation_={out_act!r} is not supported")
        wn = _const(tensors, f"w{i}", w.T)
        bn = _const(tensors, f"b{i}", np.asarray(b))
        y = f"h{i}"
        tensors[y] = Tensor(y, (w.shape[1],))
        ops.append(Op("dense", (x, wn, bn), (y,),
                      {"activation": act, "alpha": 0.0,
                       "weight_rel_err": 0.0 if ref32 else U}, f"layer{i}"))
        x = y
    if out_act == "softmax":
        tensors["proba"] = Tensor("proba", tensors[x].shape)
        ops.append(Op("softmax", (x,), ("proba",), {"beta": 1.0}, "softmax"))
        x = "proba"
    names = getattr(est, "feature_names_in_", None)
    ir = NetIR(source=name, kind="classifier" if is_clf else "regressor", tensors=tensors,
               ops=ops, input="input", output=x,
               classes=np.asarray(est.classes_) if is_clf else None, input_shape=(n_in,),
               feature_names=tuple(str(s) for s in names) if names is not None else None,
               reference_float32=ref32, output_2d=False)
    return ir


def keras_class(est: Any) -> str | None:
    """Name of the Keras model class ``est`` is (or derives from), else None."""
    for cls in type(est).__mro__:
        if cls.__module__.split(".")[0] == "keras" and cls.__name__ in KERAS:
            return cls.__name__
    return None


def _producer(ir: NetIR, name: str) -> Op | None:
    return next((op for op in ir.ops if name in op.outputs), None)


def simplify(ir: NetIR) -> NetIR:
    """Fold BatchNorm scale_shifts into the preceding dense/conv/depthwise and fuse
    activation ops into the preceding op, where the intermediate tensor has no other
    reader and is not the output (the float32 results are unchanged by the fusion)."""
    changed = True
    while changed:
        changed = False
        for op in list(ir.ops):
            src = op.inputs[0] if op.inputs else None
            prod = _producer(ir, src) if src else None
            if prod is None or src == ir.output or len(ir.consumers(src)) != 1:
                continue
            if (op.kind == "scale_shift" and op.attrs.get("fold") and prod.kind in _FOLD_INTO
                    and prod.attrs.get("activation", "linear") == "linear"):
                a = ir.tensors[op.inputs[1]].data.astype(np.float64)
                s = ir.tensors[op.inputs[2]].data.astype(np.float64)
                w = ir.tensors[prod.inputs[1]].data.astype(np.float64)
                oc = ir.tensors[prod.outputs[0]].shape[-1]
                if a.size != oc:
                    continue
                if prod.kind == "depthwise_conv2d":
                    w2 = w * a[None, None, None, :]
                else:
                    w2 = w * a.reshape((oc,) + (1,) * (w.ndim - 1))
                b = (ir.tensors[prod.inputs[2]].data.astype(np.float64)
                     if len(prod.inputs) > 2 else np.zeros(oc))
                b2 = b * a + s
                wn = _const(ir.tensors, prod.inputs[1] + "_bn", w2)
                bn = _const(ir.tensors, (prod.inputs[2] if len(prod.inputs) > 2
                                         else prod.inputs[1] + "_b") + "_bn", b2)
                prod.inputs = (prod.inputs[0], wn, bn)
                prod.attrs["weight_rel_err"] = (float(prod.attrs.get("weight_rel_err", 0.0))
                                                + 2 * U)
                prod.attrs["bias_mag"] = (np.abs(b * a) + np.asarray(op.attrs["bias_mag"]))
                prod.outputs = op.outputs
                ir.ops.remove(op)
                changed = True
                break
            if (op.kind == "activation" and prod.kind in _FUSE_INTO
                    and prod.attrs.get("activation", "linear") == "linear"):
                prod.attrs["activation"] = op.attrs["activation"]
                prod.attrs["alpha"] = op.attrs.get("alpha", 0.0)
                prod.outputs = op.outputs
                ir.ops.remove(op)
                changed = True
                break
    # drop tensors nothing uses
    used = {ir.input, ir.output}
    for op in ir.ops:
        used.update(op.inputs)
        used.update(op.outputs)
    for name in list(ir.tensors):
        if name not in used:
            del ir.tensors[name]
    return ir


def finish(ir: NetIR) -> NetIR:
    """Simplify, make sure the output lives in the arena, and plan memory."""
    if not ir.ops:
        raise ConversionError("the model computes nothing (no layers)")
    simplify(ir)
    root = ir.output
    alias = {op.outputs[0]: op.inputs[0] for op in ir.ops if op.kind == "reshape"}
    while root in alias:
        root = alias[root]
    if root == ir.input:  # the output is the input, reshaped: copy it
        out = ir.output + "_copy"
        ir.tensors[out] = Tensor(out, ir.tensors[ir.output].shape)
        ir.ops.append(Op("activation", (ir.output,), (out,),
                         {"activation": "linear", "alpha": 0.0}, "copy"))
        ir.output = out
    ir.plan = planning.plan(ir)
    return ir


def convert(est: Any, options: dict) -> NetIR:
    """A fitted MLP or a built Keras model -> float32 :class:`NetIR` (planned).

    Parameters
    ----------
    est : MLPClassifier, MLPRegressor or keras.Model
    options : dict
        ``classes``: labels of a Keras classifier's outputs (default ``0..k-1``).

    Returns
    -------
    NetIR

    Raises
    ------
    ConversionError
        Unsupported layers or settings (the message names them and lists what is).
    ValueError
        An invalid option value.
    """
    mro = [c.__name__ for c in type(est).__mro__]
    classes = options.get("classes")
    if any(c in SKLEARN for c in mro):
        if classes is not None:
            raise ValueError("classes= applies to Keras models; scikit-learn's classes_ "
                             "are used for MLPs")
        ir = from_sklearn(est)
    elif keras_class(est) is not None:
        from .keras_import import from_keras

        ir = from_keras(est, classes)
    else:
        raise ConversionError(f"{type(est).__name__} is not a supported network; supported: "
                              "MLPClassifier, MLPRegressor, keras Sequential / Functional")
    return finish(ir)


def tolerance(ir: NetIR, X: np.ndarray) -> np.ndarray:
    """Per row and output, the certified bound on |C output - source output| (the
    predict_proba layout for classifiers: binary rows get ``[1 - p, p]``'s bounds)."""
    _, e = evaluate(ir, X, bounds=True)
    e = e * (1.0 + 1e-3)  # second-order terms (products of bounds with u)
    if ir.reference_float32:
        e = 2.0 * e
    if ir.binary:
        e = np.hstack([e + U, e])
    return e


def near_ties(ir: NetIR, X: np.ndarray) -> np.ndarray:
    """Indices of rows whose class may differ from the source's (classifiers): the two
    largest outputs (binary: p and 1/2) closer than the sum of their tolerances."""
    y, _ = evaluate(ir, X)
    e = tolerance(ir, X)
    if ir.binary:
        return np.flatnonzero(np.abs(y[:, 0] - 0.5) <= e[:, 1])
    order = np.argsort(-y, axis=1, kind="stable")
    r = np.arange(len(y))
    a, b = order[:, 0], order[:, 1]
    return np.flatnonzero(y[r, a] - y[r, b] <= e[r, a] + e[r, b])
