"""The integer entry of int8 nets from Python and MicroPython.

``Model.predict`` / ``predict_proba`` given a numpy **int8** array run the generated C's
``NAME_*_i8`` entry (the values are the model's quantized input), given **int16** the
``NAME_*_i16`` entry (integer features); ``Model.input_quantization`` says how to quantize
and ``Model.quantize_input`` does it as the C does. The model file runs the same entries
(``ml_model_run_int``), and the MicroPython module takes ``array('b')`` / ``array('h')``.
Everything is compared bit for bit: with TensorFlow Lite Micro fed the same int8 input
tensor, and between host C, model file and the unix MicroPython port.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest

import microlearn
from microlearn.families.nets.tflite import write_tflite

runtime = pytest.importorskip("tflite_micro.python.tflite_micro.runtime")
from test_nets_int8 import ARENA, _conv_case, _mlp_softmax  # noqa: E402

rng = np.random.default_rng(11)


def _sk_regressor(nf: int = 7):
    from sklearn.neural_network import MLPRegressor

    X = rng.normal(size=(150, nf)).astype(np.float32)
    y = np.stack([X[:, 0] - 2 * X[:, 1], np.tanh(X[:, 2]) * 3], axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MLPRegressor(hidden_layer_sizes=(12,), max_iter=200, random_state=0).fit(X, y), X


def _model(case: str):
    """(int8 model, calibration rows) of a case."""
    if case == "regressor":
        est, X = _sk_regressor()
        return microlearn.convert(est, quantize="int8", calibration=X), X
    ir = _mlp_softmax() if case == "mlp_softmax" else _conv_case(((1, 1), (1, 1)), (1, 1),
                                                                 "relu")
    nf = ir.tensors[ir.input].size
    X = rng.normal(size=(60, nf)).astype(np.float32)
    return microlearn.convert(write_tflite(ir), quantize="int8", calibration=X), X


def _tflm_int8(m: microlearn.Model, X8: np.ndarray) -> np.ndarray:
    """TFLite Micro on the same quantized model with an int8 input tensor (the QUANTIZE of
    the float input removed), fed X8 as it is."""
    q = m.ir
    op0 = q.ops[0]
    assert op0.kind == "quantize"
    qi = dataclasses.replace(q, ops=q.ops[1:], input=op0.outputs[0],
                             tensors={k: v for k, v in q.tensors.items() if k != q.input})
    it = runtime.Interpreter.from_bytes(write_tflite(qi), arena_size=ARENA)
    out = []
    for row in X8:
        it.set_input(row.reshape(1, *q.input_shape), 0)
        it.invoke()
        out.append(it.get_output(0).reshape(-1))
    return np.array(out, np.float32)


def _int8_rows(m: microlearn.Model, n: int) -> np.ndarray:
    zp = m.input_quantization[1]
    X8 = rng.integers(-128, 128, size=(n, m.n_features)).astype(np.int8)
    X8[0], X8[1], X8[2] = -128, 127, zp
    return X8


@pytest.mark.parametrize("case", ["mlp_softmax", "conv_relu", "regressor"])
def test_python_integer_entry_bit_exact_with_tflm(case):
    """int8 arrays: outputs equal TFLite Micro's on the same int8 input tensor (random rows
    and the extremes); predict is their argmax. int16 arrays: the same bits as the float
    entry on the same values (including +-32767/-32768). quantize_input equals the C's own
    quantization: the float entry on X and the int8 entry on quantize_input(X) agree, on
    half-way points, huge values, inf and NaN too."""
    m, Xc = _model(case)
    scale, zp = m.input_quantization
    assert isinstance(scale, float) and isinstance(zp, int) and -128 <= zp <= 127
    text = m.c_source("m")
    assert f"m__INPUT_ZERO_POINT = {zp}," in text
    macro = text.split("#define m__INPUT_SCALE ")[1].split("\n")[0]
    assert np.float32(float(macro.rstrip("f"))) == np.float32(scale)
    X8 = _int8_rows(m, 40)
    want = _tflm_int8(m, X8)
    clf = m.kind == "classifier"
    if clf:
        np.testing.assert_array_equal(m.predict_proba(X8), want)
        np.testing.assert_array_equal(m.predict(X8), m.classes_[np.argmax(want, axis=1)])
        shape = m.signature.input_shape
        if shape is not None:  # samples of the input shape, as for float X
            np.testing.assert_array_equal(m.predict_proba(X8.reshape(-1, *shape)), want)
    else:
        np.testing.assert_array_equal(m.predict(X8), want)
    X16 = rng.integers(-6, 7, size=(30, m.n_features)).astype(np.int16)
    X16[0], X16[1] = 32767, -32768
    X16[2] = np.round(np.arange(m.n_features) * 0.5 * scale)  # around the zero point
    values = m.predict_proba if clf else m.predict
    np.testing.assert_array_equal(values(X16), values(X16.astype(np.float32)))
    np.testing.assert_array_equal(m.predict(X16), m.predict(X16.astype(np.float32)))
    # quantize_input == the C's quantization of the float input
    Xf = np.concatenate([Xc[:20], (rng.integers(-140, 140, size=(20, m.n_features)) + 0.5)
                         .astype(np.float32) * np.float32(scale),
                         np.full((1, m.n_features), 1e30, np.float32),
                         np.full((1, m.n_features), -np.inf, np.float32),
                         np.full((1, m.n_features), np.nan, np.float32)])
    Xq = m.quantize_input(Xf)
    assert Xq.dtype == np.int8 and Xq.shape == Xf.shape
    assert (Xq[-3] == 127).all() and (Xq[-2] == -128).all() and (Xq[-1] == zp).all()
    np.testing.assert_array_equal(values(Xq), values(Xf))


def test_integer_entry_errors():
    """Clear errors: int8 for a model without an integer entry (a float net, a linear
    model), wrong widths and empty batches; float models have no input_quantization and
    no quantize_input; int16 features stay valid input for every model."""
    from sklearn.linear_model import LogisticRegression

    est, X = _sk_regressor(5)
    mf = microlearn.convert(est)
    X8 = np.zeros((3, 5), np.int8)
    with pytest.raises(TypeError, match="int8.*no integer entry"):
        mf.predict(X8)
    assert not hasattr(mf, "input_quantization")
    with pytest.raises(TypeError, match="quantize_input"):
        mf.quantize_input(X)
    y = (X[:, 0] > 0).astype(int)
    lin = microlearn.convert(LogisticRegression().fit(X, y))
    with pytest.raises(TypeError, match="no integer entry"):
        lin.predict_proba(X8)
    X16 = rng.integers(-3, 4, size=(10, 5)).astype(np.int16)
    np.testing.assert_array_equal(lin.predict_proba(X16), lin.predict_proba(X16 * 1.0))
    mq = microlearn.convert(est, quantize="int8", calibration=X)
    with pytest.raises(ValueError, match="X has 4 features, but this model expects 5"):
        mq.predict(np.zeros((2, 4), np.int8))
    with pytest.raises(ValueError, match="0 samples"):
        mq.predict(np.zeros((0, 5), np.int16))
    with pytest.raises(ValueError, match="2D"):
        mq.predict(np.zeros(5, np.int8))
    assert "int8 quantized with scale=" in str(mq)


def test_micropython_integer_entry(tmp_path):
    """The model file in the unix port's native module: array('b') rows give TFLite
    Micro's outputs bit for bit (= the host C's int8 entry), array('h') rows the host C's
    int16 entry; input_quantization() is the model's; a float model refuses array('b')
    with TypeError, a wrong length is a ValueError."""
    import shutil

    from support import mp_unix

    from microlearn import micropython_build as mb
    from microlearn import mp_module

    mp_unix.require_unix()
    m, _ = _model("mlp_softmax")
    mr, Xr = _model("regressor")
    mf = microlearn.convert(_sk_regressor(7)[0])
    try:
        module = mp_module.build("x64", tmp_path / "mod",
                                 mp_module.family_set(for_model=m.to_blob()))[0]
    except mb.ToolNotFoundError as e:
        pytest.skip(f"tool missing: x64 native module toolchain: {e}")
    shutil.copy(module, tmp_path / module.name)
    (tmp_path / "c.mlb").write_bytes(m.to_blob())
    (tmp_path / "r.mlb").write_bytes(mr.to_blob())
    (tmp_path / "f.mlb").write_bytes(mf.to_blob())
    X8c, X8r = _int8_rows(m, 25), _int8_rows(mr, 25)
    X16c = rng.integers(-5, 6, size=(15, m.n_features)).astype(np.int16)
    X16r = rng.integers(-5, 6, size=(15, mr.n_features)).astype(np.int16)
    X16c[0], X16r[0] = 32767, -32768
    for name, a in (("x8c", X8c), ("x8r", X8r), ("x16c", X16c), ("x16r", X16r)):
        (tmp_path / f"{name}.bin").write_bytes(a.tobytes())
    script = """
import array, microlearn_mp as ml
def rows(name, code, nf):
    f = open(name + ".bin", "rb"); d = f.read(); f.close()
    size = 1 if code == "b" else 2
    return [array.array(code, d[i:i + nf * size]) for i in range(0, len(d), nf * size)]
def run(path, name, code, clf):
    m = ml.load(path)
    nf, no = m.n_features(), m.n_outputs()
    vals, cls = bytearray(), bytearray()
    for x in rows(name, code, nf):
        out = array.array("f", bytes(4 * no))
        if clf:
            m.predict_proba(x, out)
            cls += bytes(array.array("i", [m.predict(x)]))
        else:
            m.regress(x, out)
        vals += bytes(out)
    f = open(name + ".out", "wb"); f.write(vals); f.close()
    f = open(name + ".cls", "wb"); f.write(cls); f.close()
run("c.mlb", "x8c", "b", True)
run("c.mlb", "x16c", "h", True)
run("r.mlb", "x8r", "b", False)
run("r.mlb", "x16r", "h", False)
print("Q", repr(ml.load("c.mlb").input_quantization()), ml.load("f.mlb").input_quantization())
fm = ml.load("f.mlb")
try:
    fm.regress(array.array("b", bytes(fm.n_features())), array.array("f", bytes(8)))
    print("NO-ERROR")
except TypeError as e:
    print("TYPEERROR", e)
try:
    ml.load("c.mlb").predict(array.array("b", bytes(3)))
    print("NO-ERROR")
except ValueError as e:
    print("VALUEERROR", e)
print("DONE")
"""
    r = mp_unix.run_unix(script, tmp_path, timeout=300)
    assert r.returncode == 0 and "DONE" in r.stdout, r.stdout + r.stderr

    def out(name, width):
        return np.frombuffer((tmp_path / f"{name}.out").read_bytes(),
                             np.float32).reshape(-1, width)

    def cls(name):
        return np.frombuffer((tmp_path / f"{name}.cls").read_bytes(), np.int32)

    want8 = _tflm_int8(m, X8c)
    np.testing.assert_array_equal(out("x8c", m.n_outputs), want8)
    np.testing.assert_array_equal(out("x8c", m.n_outputs), m.predict_proba(X8c))
    np.testing.assert_array_equal(cls("x8c"), np.argmax(want8, axis=1))
    np.testing.assert_array_equal(out("x16c", m.n_outputs), m.predict_proba(X16c))
    np.testing.assert_array_equal(cls("x16c"), m.predict(X16c))
    np.testing.assert_array_equal(out("x8r", mr.n_outputs), _tflm_int8(mr, X8r))
    np.testing.assert_array_equal(out("x16r", mr.n_outputs), mr.predict(X16r))
    scale, zp = m.input_quantization
    q_line = next(line for line in r.stdout.splitlines() if line.startswith("Q "))
    got_scale, got_zp = q_line[2:].split(")")[0].strip("(").split(", ")
    assert np.float32(float(got_scale)) == np.float32(scale) and int(got_zp) == zp
    assert q_line.endswith("None")
    assert "TYPEERROR array('b')/array('h') input is for int8 nets" in r.stdout
    assert "VALUEERROR x must have n_features values" in r.stdout
