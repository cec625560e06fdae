"""Nets family (float32): parity with scikit-learn MLPs and Keras 3 models, layer by layer
and for whole nets, through the shared conformance suite (header C and model file); the
memory plan; unsupported layers; corrupt sections (under AddressSanitizer); strict
compilers.

Tolerances are the certified bounds of ``microlearn/families/nets/convert.py``
(``tolerance(ir, X)``, per row and output), never fitted to the observed errors. Keras is
imported once (slow) and every model is tiny.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest
from conformance import check_conformance
from sklearn import datasets
from sklearn.neural_network import MLPClassifier, MLPRegressor

import microlearn
from microlearn.errors import ConversionError
from microlearn.families.nets import FAMILY
from microlearn.families.nets.convert import near_ties, tolerance
from microlearn.families.nets.plan import INPUT
from microlearn.families.nets.reference import tensor_value

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")
# jit compiles are most of this module's time: keep them across runs
try:
    import jax

    jax.config.update("jax_compilation_cache_dir", "/tmp/microlearn_jax_cache")
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
except (ImportError, AttributeError):  # pragma: no cover - another backend
    pass
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
L = keras.layers

ROOT = Path(__file__).resolve().parents[2]
RUNTIME = ROOT / "microlearn" / "runtime"
CFLAGS = ["-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Wconversion", "-Wdouble-promotion",
          "-Werror", "-ffp-contract=off"]
RNG = np.random.default_rng(0)


# ----------------------------------------------------------------------------- helpers

def _as_estimator(model, kind: str):
    """The Keras model with scikit-learn's predict / predict_proba (same object, a
    subclass of its class), so that check_conformance can compare against it."""
    base = type(model)

    shape = tuple(model.inputs[0].shape[1:])

    def raw(self, X):  # rows flattened in C order, as the C takes them
        X = np.asarray(X, dtype=np.float32).reshape(len(X), *shape)
        return np.asarray(base.predict(self, X, verbose=0))

    if kind == "classifier":
        def proba(self, X):
            p = raw(self, X).reshape(len(X), -1)
            return np.hstack([1 - p, p]) if p.shape[1] == 1 else p

        def predict(self, X):
            p = raw(self, X).reshape(len(X), -1)
            return (p[:, 0] > 0.5).astype(np.int64) if p.shape[1] == 1 else p.argmax(1)

        ns = {"predict": predict, "predict_proba": proba}
    else:
        ns = {"predict": lambda self, X: raw(self, X).reshape(len(X), -1)}
    model.__class__ = type("Sk" + base.__name__, (base,), ns)
    return model


def check_net(est, X, kind: str | None = None, options: dict | None = None):
    """Conformance (header and model file) with the certified tolerance, every element
    within its own bound, and class disagreements only at reported near-ties."""
    is_keras = not hasattr(est, "get_params")
    ir = FAMILY.convert(est, dict(FAMILY.options, **(options or {})))
    kind = ir.kind
    X = np.ascontiguousarray(X, dtype=np.float32)
    Xf = X.reshape(len(X), -1)
    tol = tolerance(ir, X)
    ref_est = _as_estimator(est, kind) if is_keras else est
    method = "predict_proba" if kind == "classifier" else "predict"
    m = check_conformance(ref_est, Xf, atol={method: float(tol.max())}, options=options)
    ref = getattr(ref_est, method)(Xf).reshape(len(X), -1)
    ours = getattr(m, method)(X).reshape(len(X), -1)
    err = np.abs(ours.astype(np.float64) - ref)
    assert np.all(err <= tol), (err.max(), tol.max(), np.unravel_index(np.argmax(err - tol),
                                                                       err.shape))
    if kind == "classifier":
        bad = np.flatnonzero(m.predict(X) != ref_est.predict(Xf))
        assert set(bad) <= set(near_ties(ir, X))
    assert not m.signature.exact_predict
    _check_plan(m.ir)
    return m, float(err.max()), float(tol.max())


def _model(layers_, shape):
    inp = keras.Input(shape)
    x = inp
    for layer in layers_:
        x = layer(x)
    return keras.Model(inp, x)


def _readout(model, X, y):
    """Make the last Dense layer a trained readout: least squares on one-hot targets over
    the features feeding it (from the float64 reference of the converted graph: no Keras
    training or extra predict, whose jit compiles take seconds)."""
    ir = FAMILY.convert(model, dict(FAMILY.options))
    head_op = next(op for op in reversed(ir.ops) if op.kind == "dense")
    feats = tensor_value(ir, X, head_op.inputs[0])
    head = model.layers[-1]
    T = np.eye(head.units)[y] * 4.0 - 2.0
    A = np.c_[feats, np.ones(len(X))]
    W = np.linalg.solve(A.T @ A + 1e-2 * np.eye(A.shape[1]), A.T @ T)
    head.kernel.assign(W[:-1].astype("f4"))
    head.bias.assign(W[-1].astype("f4"))
    return model


def _randomize_bn(model):
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            c = layer.moving_mean.shape[0]
            layer.moving_mean.assign(RNG.normal(size=c).astype("f4"))
            layer.moving_variance.assign(RNG.uniform(0.3, 2.0, size=c).astype("f4"))
            layer.gamma.assign(RNG.uniform(0.5, 1.5, size=c).astype("f4"))
            layer.beta.assign(RNG.normal(size=c).astype("f4") * 0.1)
    return model


def _fans(shape) -> tuple[int, int]:
    """Keras's fan-in / fan-out of a kernel shape (..., in, out)."""
    if len(shape) < 2:
        return (int(shape[0]),) * 2 if shape else (1, 1)
    field = int(np.prod(shape[:-2], dtype=np.int64))
    return int(shape[-2]) * field, int(shape[-1]) * field


@pytest.fixture(scope="module", autouse=True)
def _numpy_initializers():
    """Layer weights drawn with numpy (Glorot-uniform kernels, zero / one vectors, as
    Keras's defaults): Keras's initializers run jax.random, and on the jax backend every
    new weight shape costs an XLA compile of about a second (most of this module's time
    otherwise)."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)

    def glorot(self, shape, dtype=None):
        fan_in, fan_out = _fans(shape)
        limit = np.sqrt(6.0 / max(fan_in + fan_out, 1))
        return rng.uniform(-limit, limit, size=shape).astype(np.float32)

    mp = pytest.MonkeyPatch()
    mp.setattr(keras.initializers.GlorotUniform, "__call__", glorot)
    mp.setattr(keras.initializers.Zeros, "__call__",
               lambda self, shape, dtype=None: np.zeros(shape, np.float32))
    mp.setattr(keras.initializers.Ones, "__call__",
               lambda self, shape, dtype=None: np.ones(shape, np.float32))
    yield
    mp.undo()


# ----------------------------------------------------------------------------- sklearn

def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X, y)


#: name -> (data set, hidden activation, binary targets, fit on float64)
MLP_CASES = {
    "iris_relu": ("iris", "relu", False, False),
    "iris_binary_tanh": ("iris", "tanh", True, False),
    "digits_logistic": ("digits", "logistic", False, False),
    "digits_identity_f64": ("digits", "identity", False, True),
    "iris_binary_relu_f64": ("iris", "relu", True, True),
}


@pytest.mark.parametrize("case", list(MLP_CASES))
def test_sklearn_mlp_classifier(case):
    data, act, binary, f64 = MLP_CASES[case]
    loader = datasets.load_iris if data == "iris" else datasets.load_digits
    X, y = loader(return_X_y=True)
    X = X / X.max()
    if binary:
        y = np.where(y == 1, "yes", "no")
    X32 = X.astype(np.float32)
    est = _fit(MLPClassifier(hidden_layer_sizes=(12, 6), activation=act, max_iter=300,
                             random_state=0), X if f64 else X32, y)
    m, err, tol = check_net(est, X32)
    assert m.ir.reference_float32 == (not f64)
    assert list(m.classes_) == list(est.classes_)


def test_sklearn_binary_tie_rule():
    """One logistic unit: class 1 when p > 0.5, as scikit-learn (p == 0.5 -> classes_[0])."""
    X, y = datasets.load_iris(return_X_y=True)
    est = _fit(MLPClassifier(hidden_layer_sizes=(3,), max_iter=50, random_state=0), X,
               y == 2)
    est.coefs_[-1] = np.zeros_like(est.coefs_[-1])
    est.intercepts_[-1] = np.zeros_like(est.intercepts_[-1])
    m = microlearn.convert(est)
    X32 = X[:5].astype(np.float32)
    np.testing.assert_array_equal(m.predict_proba(X32), 0.5)
    np.testing.assert_array_equal(m.predict(X32), est.predict(X32))
    assert not np.any(m.predict(X32))


def test_near_ties_reported():
    """Two output units whose weights differ by ~1 ulp: the rows are within tolerance of a
    tie, near_ties lists them, and any class disagreement is among them."""
    model = _model([L.Dense(4, activation="relu"), L.Dense(2, activation="softmax")], (3,))
    head = model.layers[-1]
    k = np.array(head.kernel)
    k[:, 1] = k[:, 0] * np.float32(1 + 2.0**-22)
    head.kernel.assign(k)
    head.bias.assign(np.zeros(2, dtype=np.float32))
    X = RNG.normal(size=(50, 3)).astype(np.float32)
    ir = FAMILY.convert(model, dict(FAMILY.options))
    ties = near_ties(ir, X)
    assert len(ties) == len(X)
    m = microlearn.convert(model)
    keras_cls = np.asarray(model.predict(X, verbose=0)).argmax(1)
    assert set(np.flatnonzero(m.predict(X) != keras_cls)) <= set(ties)
    assert not m.exact_predict and "near-ties" in m.exactness


def test_sklearn_mlp_regressor():
    X, y = datasets.load_diabetes(return_X_y=True)
    X = X.astype(np.float32)
    est = _fit(MLPRegressor(hidden_layer_sizes=(16,), max_iter=400, random_state=0), X, y)
    m, _, _ = check_net(est, X)
    assert m.predict(X).shape == (len(X),)
    Y = np.c_[y, -y / 3.0]
    est2 = _fit(MLPRegressor(hidden_layer_sizes=(8,), activation="tanh", max_iter=300,
                             random_state=0), X, Y)
    m2, _, _ = check_net(est2, X)
    assert m2.predict(X).shape == (len(X), 2)


def test_sklearn_mlp_multilabel_rejected():
    X, Y = datasets.make_multilabel_classification(n_samples=60, n_features=5, n_classes=3,
                                                   random_state=0)
    est = _fit(MLPClassifier(hidden_layer_sizes=(4,), max_iter=50, random_state=0), X, Y)
    with pytest.raises(ConversionError, match="multilabel"):
        microlearn.convert(est)
    X, y = datasets.load_diabetes(return_X_y=True)
    est = _fit(MLPRegressor(hidden_layer_sizes=(3,), loss="poisson", max_iter=20), X, y)
    with pytest.raises(ConversionError, match="out_activation_='exp'"):
        microlearn.convert(est)


# ----------------------------------------------------------------------------- Keras layers

ACTS = ["linear", "relu", "relu6", "leaky_relu", "elu", "selu", "sigmoid", "hard_sigmoid",
        "tanh", "swish", "silu", "hard_swish", "hard_silu"]


def _pools(kind: str):
    P1, P2 = getattr(L, f"{kind}Pooling1D"), getattr(L, f"{kind}Pooling2D")
    return [("2d", lambda: P2(2)), ("2d", lambda: P2(3, strides=1, padding="same")),
            ("2d", lambda: P2((2, 3), strides=(1, 2), padding="same")),
            ("1d", lambda: P1(3, strides=2, padding="same")), ("1d", lambda: P1(2))]


#: group -> (input shape, layer builders): each layer runs alone on the input, in its own
#: branch (outputs flattened and concatenated), so every variant is checked element by
#: element against its own bound in one compiled model per group
LAYER_GROUPS = {
    "dense_activations": ((6,), [lambda a=a: L.Dense(3, activation=a) for a in ACTS]),
    "conv1d": ((12, 2), [
        lambda: L.Conv1D(3, 3, padding="valid", activation="relu"),
        lambda: L.Conv1D(3, 3, padding="same"),
        lambda: L.Conv1D(2, 3, padding="causal", activation="tanh"),
        lambda: L.Conv1D(4, 4, strides=2, padding="same"),
        lambda: L.Conv1D(2, 3, strides=3, padding="valid"),
        lambda: L.Conv1D(2, 3, dilation_rate=2, padding="same"),
        lambda: L.Conv1D(2, 2, dilation_rate=3, padding="causal")]),
    "conv2d": ((7, 6, 2), [
        lambda: L.Conv2D(3, (3, 2), activation="tanh"),
        lambda: L.Conv2D(4, 3, strides=2, padding="same"),
        lambda: L.Conv2D(2, 2, strides=(1, 2)),
        lambda: L.Conv2D(2, 3, dilation_rate=(2, 1), padding="same"),
        lambda: L.Conv2D(2, (1, 3), dilation_rate=2, use_bias=False)]),
    # windows of more than 64 floats with stride-1 columns: ml_nets_conv2d_wide (blocks
    # of 8 and 4 outputs and single rows; border pixels' partial windows); the last one has
    # dilated columns: the generic kernel
    "conv2d_wide": ((7, 6, 9), [
        lambda: L.Conv2D(12, 3, padding="same", activation="relu"),
        lambda: L.Conv2D(5, 3, strides=2),
        lambda: L.Conv2D(9, 3, dilation_rate=(2, 1), padding="same"),
        lambda: L.Conv2D(17, (2, 4), strides=(1, 2), padding="same", activation="tanh"),
        lambda: L.Conv2D(3, (3, 3), use_bias=False, padding="same"),
        lambda: L.Conv2D(4, 3, dilation_rate=2, padding="same")]),
    "depthwise": ((7, 7, 3), [
        lambda: L.DepthwiseConv2D(3, depth_multiplier=2, padding="same",
                                  activation="relu6"),
        lambda: L.DepthwiseConv2D(3, strides=2),
        lambda: L.DepthwiseConv2D((2, 3), dilation_rate=2, padding="same")]),

    "separable": ((6, 6, 2), [
        lambda: L.SeparableConv2D(4, 3, padding="same", activation="swish"),
        lambda: L.SeparableConv2D(3, 2, strides=2, depth_multiplier=2)]),
    "depthwise_separable1d": ((11, 2), [
        lambda: L.DepthwiseConv1D(3, depth_multiplier=2, padding="same"),
        lambda: L.DepthwiseConv1D(2, strides=2),
        lambda: L.SeparableConv1D(3, 3, strides=2),
        lambda: L.SeparableConv1D(2, 3, padding="same", use_bias=False)]),
    "pool2d": ((6, 5, 2), [f for k in ("Max", "Average") for d, f in _pools(k) if d == "2d"]),
    "pool1d": ((10, 2), [f for k in ("Max", "Average") for d, f in _pools(k) if d == "1d"]),
    "global2d": ((4, 5, 3), [L.GlobalAveragePooling2D, L.GlobalMaxPooling2D,
                             lambda: L.GlobalAveragePooling2D(keepdims=True)]),
    "global1d": ((7, 3), [L.GlobalAveragePooling1D, L.GlobalMaxPooling1D,
                          lambda: L.GlobalMaxPooling1D(keepdims=True)]),
    "reshape_pad": ((4, 6), [
        lambda: keras.Sequential([L.Reshape((8, 3)), L.Conv1D(2, 3)]),
        lambda: L.ZeroPadding1D((1, 2)),
        lambda: keras.Sequential([L.Reshape((2, 4, 3)), L.ZeroPadding2D(((1, 0), (2, 1))),
                                  L.Conv2D(2, 2)])]),
    "bn_folded": ((5, 5, 2), [
        lambda: keras.Sequential([L.Conv2D(3, 3), L.BatchNormalization()]),
        lambda: keras.Sequential([L.DepthwiseConv2D(3), L.BatchNormalization()]),
        lambda: keras.Sequential([L.Flatten(), L.Dense(4, use_bias=False),
                                  L.BatchNormalization(), L.Activation("relu")])]),
    "bn_standalone_dense3d": ((5, 3), [L.BatchNormalization,
                                       lambda: L.Dense(4, use_bias=False)]),
    "rescaling_dropout": ((4,), [lambda: L.Rescaling(1 / 255.0, offset=-0.5),
                                 lambda: keras.Sequential([L.Dropout(0.5), L.GaussianNoise(0.3),
                                                           L.Identity(), L.Dense(3)])]),
    "activation_layers": ((7,), [
        *(lambda a=a: L.Activation(a) for a in ("relu", "sigmoid", "tanh", "hard_swish",
                                                 "elu", "selu", "hard_sigmoid", "swish")),
        lambda: L.ReLU(max_value=6.0), lambda: L.ReLU(negative_slope=0.1),
        lambda: L.LeakyReLU(negative_slope=0.3), lambda: L.ELU(alpha=0.7),
        lambda: keras.Sequential([L.Reshape((7, 1)), L.Dense(3), L.Softmax()])]),
}


def _branches(shape, builders):
    """A Functional model running each layer on the input, outputs flattened and
    concatenated (one layer: its output as is). Nested Sequentials are unrolled."""
    inp = keras.Input(shape)
    outs = []
    for build in builders:
        layer = build()
        x = inp
        for sub in (layer.layers if isinstance(layer, keras.Sequential) else [layer]):
            x = sub(x)
        outs.append(x)
    if len(outs) == 1:
        return keras.Model(inp, outs[0])
    return keras.Model(inp, L.Concatenate()([L.Flatten()(o) for o in outs]))


@pytest.mark.parametrize("group", list(LAYER_GROUPS))
def test_keras_layer_parity(group):
    shape, builders = LAYER_GROUPS[group]
    model = _randomize_bn(_branches(shape, builders))
    X = (RNG.normal(size=(24, *shape)) * 2).astype(np.float32)
    if group == "rescaling_dropout":
        X = RNG.uniform(0, 255, size=(24, *shape)).astype(np.float32)
    m, err, tol = check_net(model, X)
    assert m.kind == "regressor"
    if group == "bn_folded":
        assert "scale_shift" not in m.describe()
    if group == "bn_standalone_dense3d":
        assert "scale_shift" in m.describe()


def test_keras_normalization_layer():
    X = (RNG.normal(size=(40, 3)) * [1.0, 10.0, 0.1] + [0, 5, -1]).astype(np.float32)
    norm = L.Normalization()
    norm.adapt(X)
    model = _model([norm, L.Dense(2, activation="sigmoid")], (3,))
    check_net(model, X)


def test_keras_functional_branches():
    inp = keras.Input((10, 3))
    a = L.Conv1D(4, 3, padding="same", activation="relu")(inp)
    b = L.Conv1D(4, 1)(inp)
    s = L.Add()([a, b])
    g = L.Multiply()([s, L.Conv1D(4, 3, padding="same", activation="sigmoid")(s)])
    c = L.Concatenate(axis=-1)([g, a])
    c2 = L.Concatenate(axis=1)([c, c])
    x = L.GlobalAveragePooling1D()(c2)
    x = L.Add()([x, L.Dense(8)(x), L.Dense(8)(x)])
    out = L.Dense(3, activation="softmax")(x)
    model = keras.Model(inp, out)
    X = RNG.normal(size=(40, 10, 3)).astype(np.float32)
    m, _, _ = check_net(model, X)
    assert m.kind == "classifier" and list(m.classes_) == [0, 1, 2]
    plan = m.ir.plan
    assert plan.arena < plan.naive and plan.in_place >= 1
    _check_plan(m.ir)


def _broadcast_records(ir) -> list:
    """The lowered add / mul records whose second input repeats (ih blocks > 1)."""
    from microlearn.families.nets.lower import records

    return [r for r in records(ir) if r.kind in ("add", "mul") and r.fields["ih"] > 1]


def test_keras_broadcast_merges():
    """Add / Multiply of a smaller input that repeats over the larger one (numpy
    broadcasting along the last axes): squeeze-and-excitation gates, 2-D and 1-D, the gate
    first or second, a rank-1 operand, a one-value operand; C (header and model file)
    within the certified bound of Keras."""
    keras.utils.set_random_seed(5)
    inp = keras.Input((6, 5, 4))
    x = L.Conv2D(6, 3, padding="same", activation="relu")(inp)
    s = L.Dense(6, activation="sigmoid")(L.GlobalAveragePooling2D()(x))
    x = L.Multiply()([x, L.Reshape((1, 1, 6))(s)])  # (6, 5, 6) x (1, 1, 6)
    t = L.Dense(6)(L.GlobalMaxPooling2D()(x))
    x = L.Add()([t, x])  # (6,) + (6, 5, 6): the gate first, rank 1
    row = L.Reshape((5, 6))(L.Dense(30)(L.Flatten()(L.AveragePooling2D(2)(x))))
    x = L.Multiply()([L.Reshape((1, 5, 6))(row), x])  # (1, 5, 6) x (6, 5, 6)
    one = L.Dense(1, activation="tanh")(L.GlobalAveragePooling2D()(x))
    x = L.Add()([x, L.Reshape((1, 1, 1))(one)])  # one value added everywhere
    out = L.Dense(3, activation="softmax")(L.GlobalAveragePooling2D()(x))
    X = RNG.normal(size=(50, 6, 5, 4)).astype(np.float32)
    m, _, _ = check_net(keras.Model(inp, out), X)
    periods = sorted(r.fields["ic"] for r in _broadcast_records(m.ir))
    assert periods == [1, 6, 6, 30], periods

    keras.utils.set_random_seed(6)
    inp = keras.Input((12, 3))
    x = L.Conv1D(5, 3, padding="same", activation="relu")(inp)
    g = L.Dense(5, activation="hard_sigmoid")(L.GlobalAveragePooling1D()(x))
    x = L.Multiply()([L.Reshape((1, 5))(g), x])  # (1, 5) x (12, 5)
    out = L.Dense(2)(L.GlobalMaxPooling1D()(x))
    m, _, _ = check_net(keras.Model(inp, out), RNG.normal(size=(40, 12, 3)))
    assert [r.fields["ic"] for r in _broadcast_records(m.ir)] == [5]


def test_keras_residual_on_input_and_classes_option():
    inp = keras.Input((6,))
    x = L.Add()([inp, L.Dense(6)(inp)])
    out = L.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inp, out)
    X = RNG.normal(size=(60, 6)).astype(np.float32)
    m, _, _ = check_net(model, X)
    assert m.n_outputs == 2 and m.predict_proba(X).shape == (60, 2)
    m2 = microlearn.convert(model, classes=["off", "on"])
    assert set(m2.predict(X)) <= {"off", "on"}
    with pytest.raises(ValueError, match="classes"):
        microlearn.convert(model, classes=[1, 2, 3])


def _check_plan(ir) -> None:
    """No two buffers whose lifetimes intersect share memory; the arena is no larger than
    one buffer per tensor; the output is in the arena."""
    plan = ir.plan
    assert plan.arena <= max(plan.naive, 1) and plan.where(ir.output) != INPUT
    roots = {}
    for name, off in plan.offset.items():
        if off != INPUT and name in plan.lifetimes:
            roots[name] = (off, ir.tensors[name].size, *plan.lifetimes[name])
    items = list(roots.values())
    for i, (o1, n1, f1, l1) in enumerate(items):
        assert o1 + n1 <= plan.arena
        for o2, n2, f2, l2 in items[i + 1:]:
            if f1 <= l2 and f2 <= l1:
                assert o1 + n1 <= o2 or o2 + n2 <= o1


def test_edge_graphs():
    """The output aliasing the input (a copy is appended), a softmax-only classifier, a
    reshaped output and an identity activation."""
    X = RNG.normal(size=(12, 2, 3)).astype(np.float32)
    m, err, _ = check_net(_model([L.Flatten()], (2, 3)), X)
    assert err == 0.0 and m.n_outputs == 6
    m, _, _ = check_net(_model([L.Flatten(), L.Softmax()], (2, 3)), X)
    assert m.kind == "classifier" and m.n_outputs == 6
    m, _, _ = check_net(_model([L.Dense(4), L.Reshape((2, 2, 2)), L.Activation("linear")],
                               (2, 3)), X)
    assert m.predict(X).shape == (12, 8)


# ----------------------------------------------------------------------------- whole nets

def test_keras_mlp():
    X, y = datasets.load_iris(return_X_y=True)
    X = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
    model = keras.Sequential([keras.Input((4,)), L.Dense(16, activation="relu"),
                              L.Dropout(0.1), L.Dense(8, activation="tanh"),
                              L.Dense(3, activation="softmax")])
    m, err, tol = check_net(_readout(model, X, y), X)
    assert np.mean(m.predict(X) == y) > 0.8
    assert m.family == "nets" and m.signature.estimator == "Sequential"


def _imu_windows(n=120, length=32):
    t = np.arange(length) / 16.0
    y = RNG.integers(0, 3, n)
    freq = np.array([1.0, 2.5, 4.0])[y]
    X = np.stack([np.sin(2 * np.pi * freq[:, None] * t + RNG.uniform(0, 6, (n, 1)))
                  + 0.2 * RNG.normal(size=(n, length)) for _ in range(3)], axis=-1)
    return X.astype(np.float32), y


def test_keras_conv1d_imu_net():
    X, y = _imu_windows()
    model = keras.Sequential([
        keras.Input((32, 3)),
        L.Conv1D(8, 5, strides=2, padding="same", use_bias=False),
        L.BatchNormalization(), L.ReLU(),
        L.SeparableConv1D(8, 3, padding="same", activation="relu"),
        L.MaxPooling1D(2),
        L.Conv1D(8, 3, dilation_rate=2, padding="causal", activation="elu"),
        L.GlobalAveragePooling1D(),
        L.Dense(3, activation="softmax")])
    m, err, tol = check_net(_readout(_randomize_bn(model), X, y), X)
    assert np.mean(m.predict(X) == y) > 0.45  # 3 classes: random convolutions + readout
    assert "scale_shift" not in m.describe()  # BN folded into the first conv
    assert m.ir.plan.arena < m.ir.plan.naive


def test_keras_conv2d_digits_net():
    X, y = datasets.load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32).reshape(-1, 8, 8, 1)[:300]
    y = y[:300]
    model = keras.Sequential([
        keras.Input((8, 8, 1)),
        L.Conv2D(8, 3, padding="same", activation="relu"),
        L.DepthwiseConv2D(3, padding="same"), L.BatchNormalization(), L.ReLU(6.0),
        L.SeparableConv2D(12, 3, strides=2, padding="same", activation="hard_swish"),
        L.AveragePooling2D(2),
        L.Flatten(),
        L.Dense(10, activation="softmax")])
    m, err, tol = check_net(_readout(_randomize_bn(model), X, y), X)
    assert np.mean(m.predict(X) == y) > 0.3  # 10 classes: random convolutions + readout
    # inputs as (n, 8, 8, 1) or flattened rows give the same answers
    np.testing.assert_array_equal(m.predict(X), m.predict(X.reshape(len(X), -1)))
    text = str(m)
    assert "arena" in text and "8x8x1" in text
    assert m.ir.plan.arena < m.ir.plan.naive
    fp = m.footprint("cortex-m4f", X[:5].reshape(5, -1), estimate=True)
    assert fp.stack_bytes >= 4 * m.ir.plan.arena


# ----------------------------------------------------------------------------- errors

def test_unsupported_layer_named():
    model = _model([L.Conv2DTranspose(2, 3)], (4, 4, 1))
    with pytest.raises(ConversionError, match=r"Conv2DTranspose 'conv2d_transpose\w*'.*"
                                              r"supported layers: .*Dense"):
        microlearn.convert(model)
    model = _model([L.Dense(3, activation="gelu")], (4,))
    with pytest.raises(ConversionError, match="activation 'gelu'"):
        microlearn.convert(model)


def test_unsupported_graphs():
    a, b = keras.Input((3,)), keras.Input((3,))
    two = keras.Model([a, b], L.Add()([a, b]))
    with pytest.raises(ConversionError, match="2 inputs"):
        microlearn.convert(two)
    with pytest.raises(ConversionError, match="not built"):
        microlearn.convert(keras.Sequential([L.Dense(2)]))
    x = keras.Input((4, 3))
    bc = keras.Model(x, L.Multiply()([x, L.Dense(1)(x)]))  # (4, 3) x (4, 1)
    with pytest.raises(ConversionError, match=r"shapes \(1, 4, 3\) and \(1, 4, 1\): "
                                              "broadcasting is supported where"):
        microlearn.convert(bc)
    x = keras.Input((4, 5, 3))
    inner = L.Reshape((4, 1, 3))(L.Dense(12)(L.GlobalAveragePooling2D()(x)))
    with pytest.raises(ConversionError, match="inner axis"):  # (4, 1, 3) x (4, 5, 3)
        microlearn.convert(keras.Model(x, L.Add()([inner, x])))


def test_bad_input_shape():
    model = _model([L.Dense(2)], (3, 2))
    m = microlearn.convert(model)
    with pytest.raises(ValueError, match="features"):
        m.predict(np.zeros((2, 5), dtype=np.float32))
    assert m.predict(np.zeros((2, 3, 2), dtype=np.float32)).shape == (2, 6)


# ----------------------------------------------------------------------------- model file

FUZZ_DRIVER = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ml_nets.h"
/* file: repeated [u32 size][section bytes]; prints one status per section */
int main(int argc, char **argv)
{
    FILE *f = fopen(argv[1], "rb");
    unsigned char hdr[4];
    (void)argc;
    while (fread(hdr, 1, 4, f) == 4) {
        uint32_t n = ml_rd_u32(hdr);
        uint8_t *sec = (uint8_t *)malloc(n + 8u);
        ml_nets_t m;
        if (fread(sec, 1, n, f) != n) return 2;
        int32_t rc = ml_nets_from_section(&m, sec, n);
        ml_info_t info;
        if (rc == ML_OK) {
            ml_nets_info(&m, &info);
        }
        if (rc == ML_OK && info.scratch_floats <= (1 << 22)) {  /* a flipped arena size
                                                             may ask for gigabytes */
            float *x = (float *)calloc((size_t)info.n_features, sizeof(float));
            float *s = (float *)calloc((size_t)info.scratch_floats, sizeof(float));
            float *o = (float *)calloc((size_t)info.n_outputs, sizeof(float));
            if (info.task == ML_TASK_CLASSIFIER) {
                rc = ml_nets_predict(&m, x, s) >= 0 ? ml_nets_predict_proba(&m, x, o, s) : -99;
            } else {
                rc = ml_nets_regress(&m, x, o, s);
            }
            free(x); free(s); free(o);
        }
        printf("%d\n", (int)rc);
        free(sec);
    }
    fclose(f);
    return 0;
}
"""


@pytest.fixture(scope="module")
def fuzz_exe(tmp_path_factory):
    if shutil.which("gcc") is None:
        pytest.skip("gcc not installed")
    d = tmp_path_factory.mktemp("nets_fuzz")
    (d / "drv.c").write_text(FUZZ_DRIVER)
    exe = d / "drv"
    san = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all"]
    proc = subprocess.run(["gcc", *CFLAGS, "-O1", "-g", *san, f"-I{RUNTIME}",
                           str(d / "drv.c"), "-o", str(exe)], capture_output=True, text=True)
    if proc.returncode != 0:  # no sanitizer runtime here: plain build
        subprocess.run(["gcc", *CFLAGS, "-O1", f"-I{RUNTIME}", str(d / "drv.c"), "-o",
                        str(exe)], check=True)
    return exe


def _run_sections(exe, sections, tmp_path) -> list[int]:
    f = tmp_path / "secs.bin"
    f.write_bytes(b"".join(struct.pack("<I", len(s)) + s for s in sections))
    proc = subprocess.run([str(exe), str(f)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return [int(v) for v in proc.stdout.split()]


def _patch(sec: bytes, off: int, value: int) -> bytes:
    b = bytearray(sec)
    b[off:off + 4] = struct.pack("<I", value & 0xFFFFFFFF)
    return bytes(b)


def test_corrupt_sections(fuzz_exe, tmp_path):
    inp = keras.Input((6, 6, 2))
    x = L.Conv2D(3, 3, padding="same", activation="relu")(inp)
    y = L.DepthwiseConv2D(3, strides=2, padding="same")(x)
    y = L.MaxPooling2D(2, padding="same")(y)
    y = L.ZeroPadding2D(1)(y)
    y = L.AveragePooling2D(2)(y)
    g = L.GlobalMaxPooling2D()(x)
    # a squeeze-and-excitation gate: a broadcast Multiply (3 values over 6 x 6 x 3)
    x = L.Multiply()([x, L.Reshape((1, 1, 3))(L.Dense(3, activation="sigmoid")(g))])
    z = L.Concatenate()([L.Flatten()(y), L.GlobalAveragePooling2D()(x)])
    z = L.Multiply()([z, L.Dense(z.shape[-1], activation="sigmoid")(z)])
    out = L.Dense(4, activation="softmax")(L.BatchNormalization()(z))
    m = microlearn.convert(_randomize_bn(keras.Model(inp, out)))
    sec = FAMILY.section(m.ir, {})
    n_ops = struct.unpack_from("<I", sec, 24)[0]
    # the broadcast op (kind 9 / 10, ih = 36 blocks of its ic = 3 gate values) may not
    # write over its gate: in place is for an operand of the output's size only
    (gate,) = [i for i in range(n_ops) if struct.unpack_from("<i", sec, 64 + 128 * i)[0]
               in (9, 10) and struct.unpack_from("<i", sec, 64 + 128 * i + 24)[0] > 1]
    base = 64 + 128 * gate
    assert struct.unpack_from("<3i", sec, base + 24) == (36, 1, 3)
    in1 = struct.unpack_from("<i", sec, base + 16)[0]
    assert _run_sections(fuzz_exe, [_patch(sec, base + 20, in1)], tmp_path) == [-4]
    cases = [sec]
    cases += [sec[:cut] for cut in (0, 10, 63, 64, 64 + 128 * n_ops - 1, len(sec) // 2,
                                    len(sec) - 12)]
    cases += [_patch(sec, 0, 3)]  # layout 2 is the int8-capable one: 3 is unknown
    for off in range(4, 64, 4):
        for v in (0, 1, 2, 3, 0x7FFFFFFF, 0xFFFFFFFF, 0x80000000, 64, len(sec)):
            cases.append(_patch(sec, off, v))
    rng = np.random.default_rng(1)
    for i in range(n_ops):
        base = 64 + 128 * i
        for field in range(0, 128, 4):
            for v in (0, 1, 2, 0xFFFFFFFF, 0x7FFFFFFF, 1 << 24, int(rng.integers(0, 300)),
                      len(sec) - 4, 0x7FC00000):
                cases.append(_patch(sec, base + field, v))
    for _ in range(300):  # random byte flips
        b = bytearray(sec)
        for _ in range(int(rng.integers(1, 4))):
            b[int(rng.integers(0, len(b)))] ^= int(rng.integers(1, 256))
        cases.append(bytes(b))
    status = _run_sections(fuzz_exe, cases, tmp_path)
    assert status[0] == 0
    assert all(s in (0, -4, -5, -7) for s in status), sorted(set(status))
    assert all(s != 0 for s in status[1:8])  # truncations
    assert status[8] == -5  # version


# ----------------------------------------------------------------------------- compilers

@pytest.mark.parametrize("cc", [
    ["gcc", *CFLAGS, "-O2", "-x", "c"],
    ["clang", *CFLAGS, "-O2", "-x", "c"],
    ["g++", "-x", "c++", "-std=c++11", "-Wall", "-Wextra", "-Werror"],
    ["arm-none-eabi-gcc", *CFLAGS, "-O2", "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard",
     "-mfpu=fpv4-sp-d16", "-x", "c"],
    ["arm-none-eabi-gcc", *CFLAGS, "-O2", "-mcpu=cortex-m0plus", "-mthumb", "-x", "c"],
])
def test_compiles_clean(tmp_path, cc):
    if shutil.which(cc[0]) is None:
        pytest.skip(f"{cc[0]} not installed")
    inp = keras.Input((8, 2))
    x = L.Conv1D(3, 3, padding="same", activation="selu")(inp)
    x = L.Add()([x, L.DepthwiseConv1D(3, padding="same", depth_multiplier=1)(x)])
    x = L.AveragePooling1D(2)(x)
    x = L.GlobalMaxPooling1D()(L.ZeroPadding1D(1)(x))
    out = L.Dense(2, activation="softmax")(L.Rescaling(0.5, 0.1)(x))
    a = microlearn.convert(keras.Model(inp, out))
    b = microlearn.convert(_model([L.Dense(2, activation="hard_sigmoid")], (3,)))
    (tmp_path / "a.h").write_text(a.c_source("neta"))
    (tmp_path / "b.h").write_text(b.c_source("netb"))
    src = tmp_path / "t.c"
    src.write_text('#include "a.h"\n#include "b.h"\n#include "ml_nets.h"\n' + """
int32_t use(const float *x, float *out, const uint8_t *sec, uint32_t n, float *scratch);
int32_t use(const float *x, float *out, const uint8_t *sec, uint32_t n, float *scratch)
{
    ml_nets_t m;
    int32_t rc = ml_nets_from_section(&m, sec, n);
    (void)neta_predict_proba(x, neta_N_FEATURES, out, 2);
    (void)netb_regress(x, netb_N_FEATURES, out, 2);
    return rc + neta_predict(x, neta_N_FEATURES) + ml_nets_predict(&m, x, scratch);
}
""")
    subprocess.run([*cc, f"-I{RUNTIME}", f"-I{tmp_path}", "-c", str(src), "-o",
                    str(tmp_path / "t.o")], check=True)


# ----------------------------------------------------------------------------- device

def test_same_bits_on_emulated_cortex_m4f():
    """The header on an emulated Cortex-M4F (QEMU) gives the host's bits (ml_math.h: no
    libm, correctly rounded division, same exp / tanh everywhere)."""
    from microlearn import targets

    reason = targets.unavailable_reason("cortex-m4f")
    if reason:
        pytest.skip(f"tool missing: {reason}")
    model = _model([L.Conv1D(4, 3, padding="same", activation="swish"),
                    L.DepthwiseConv1D(3, strides=2, activation="tanh"),
                    L.AveragePooling1D(2, padding="same"), L.Flatten(),
                    L.Dense(3, activation="softmax")], (12, 2))
    m = microlearn.convert(model)
    rep = m.verify_on_target("cortex-m4f", RNG.normal(size=(8, 24)).astype(np.float32))
    assert rep.agreement == 1.0 and rep.max_abs_diff == 0.0


def test_wide_convolutions_same_bits_on_emulated_cortex_m4f():
    """ml_nets_conv2d_wide's VLDM / VMLA blocks (Cortex-M4F) give the host's portable C
    bits, which equal the model file's generic kernel (test_keras_layer_parity)."""
    from microlearn import targets

    reason = targets.unavailable_reason("cortex-m4f")
    if reason:
        pytest.skip(f"tool missing: {reason}")
    shape, builders = LAYER_GROUPS["conv2d_wide"]
    m = microlearn.convert(_branches(shape, builders))
    assert "ml_nets_conv2d_wide(" in m.c_source("w")
    X = (RNG.normal(size=(6, int(np.prod(shape)))) * 2).astype(np.float32)
    rep = m.verify_on_target("cortex-m4f", X)
    assert rep.agreement == 1.0 and rep.max_abs_diff == 0.0


# ----------------------------------------------------------------------------- MicroPython

def test_micropython_unix_port(tmp_path):
    """A conv net with every kernel kind in the x64 native module of the unix port: every
    output bit-identical to the host build of the header."""
    from test_micropython_families import _assert_bit_identical, _run_unix

    inp = keras.Input((6, 6, 2))
    x = L.Conv2D(3, 3, padding="same", activation="elu")(inp)
    y = L.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2,
                          activation="hard_swish")(x)
    y = L.MaxPooling2D(2, padding="same")(y)
    y = L.ZeroPadding2D(1)(y)
    y = L.AveragePooling2D(2)(y)
    g = L.GlobalMaxPooling2D()(x)
    h = L.GlobalAveragePooling2D()(x)
    z = L.Concatenate()([L.Flatten()(y), g, h])
    z = L.Multiply()([z, L.Dense(z.shape[-1], activation="sigmoid")(z)])
    z = L.Add()([z, L.Dense(z.shape[-1], activation="tanh")(z)])
    z = L.Dense(6, activation="selu")(L.BatchNormalization()(z))
    out = L.Dense(3, activation="softmax")(L.LeakyReLU(0.1)(z))
    model = _randomize_bn(keras.Model(inp, out))
    m = microlearn.convert(model)
    X = RNG.normal(size=(20, 72)).astype(np.float32)
    host, dev = _run_unix(m, X, tmp_path)
    _assert_bit_identical(host, dev, m, model)
    reg = microlearn.convert(_model([L.Conv1D(2, 3, activation="swish"),
                                     L.GlobalAveragePooling1D(), L.Dense(2)], (5, 2)))
    X = RNG.normal(size=(10, 10)).astype(np.float32)
    host, dev = _run_unix(reg, X, tmp_path / "r")
    _assert_bit_identical(host, dev, reg, None)
