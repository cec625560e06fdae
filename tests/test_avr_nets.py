"""Neural nets on AVR (ATmega328P, Arduino Uno): scikit-learn MLPs and small Keras nets,
float32 and int8, built with avr-gcc (weights and op tables in program memory) and run in
simavr, bit for bit equal to the host build; nets whose arena cannot fit the 2 KB of SRAM
refused by name.

The float kernels and their activations (softmax, logistic, tanh) use ml_math.h, not libm,
and avr-gcc's float is IEEE single: the outputs are compared bit for bit, huge, subnormal,
signed-zero and infinite inputs included. int8 nets are integer arithmetic after the input
quantization: bit for bit too. NaN inputs are not a defined case for float nets: the sign
of a NaN coming out of a product or a sum differs between x86, Arm and avr-libc's soft
float, and relu keeps a positive NaN but zeroes a negative one, so a NaN row may give
another class; the AVR build must still return a class in range for it.

Needs gcc-avr, avr-libc, simavr, libsimavr-dev, arduino-builder, arduino-core-avr and
arduino-ctags (scripts/setup.sh installs them) and keras (the `keras` extra).
"""

from __future__ import annotations

import re
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits, load_iris, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor

import microlearn
from microlearn import avr, targets
from microlearn.targets import UnsupportedOnTargetError

TARGET = "atmega328p"
X_IRIS, Y_IRIS = load_iris(return_X_y=True)
X_IRIS = X_IRIS.astype(np.float32)
_DIGITS = load_digits()
X_DIG = (_DIGITS.data / 16.0).astype(np.float32)
Y_DIG = _DIGITS.target


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


SPECIALS = (3e38, -3e38, 1e-40, -1e-45, 1.17549435e-38, -0.0, np.inf, -np.inf)


def adversarial(base: np.ndarray, specials: tuple = SPECIALS) -> np.ndarray:
    """``base`` with one feature at a time set to huge, subnormal, signed-zero and infinite
    values, and whole rows of them."""
    rows = []
    for f in range(0, base.size, max(1, base.size // 6)):
        for v in specials:
            r = base.copy()
            r[f] = v
            rows.append(r)
    for v in specials[:5]:
        rows.append(np.full_like(base, v))
    return np.array(rows, dtype=np.float32)


def run_on_avr(model, X: np.ndarray) -> targets.TargetRun:
    """The model's header built for the ATmega328P and run in simavr on X."""
    values, n_values = model._measured_values()
    return targets.measure(TARGET, model.c_source("model"), "model", model.kind,
                           np.ascontiguousarray(X, dtype=np.float32),
                           n_outputs=model.n_outputs, n_features=model.n_features,
                           values=values, n_values=n_values)


def assert_same_bits(model, r, X: np.ndarray) -> None:
    """The AVR outputs equal the host build's: classes, and the float outputs bit for bit
    (a NaN as a NaN: avr-libc's NaNs may have another sign and payload)."""
    lib = model._lib()
    X = np.ascontiguousarray(X, dtype=np.float32)

    def same(a: np.ndarray, b: np.ndarray) -> None:
        a, b = np.asarray(a, np.float32).ravel(), np.asarray(b, np.float32).ravel()
        nan = np.isnan(b)
        np.testing.assert_array_equal(np.isnan(a), nan)
        np.testing.assert_array_equal(a[~nan].view(np.uint32), b[~nan].view(np.uint32))

    if model.kind == "classifier":
        np.testing.assert_array_equal(r.outputs, lib.call("predict", X))
        same(r.proba, lib.call(model._measured_values()[0], X))
    else:
        same(r.outputs, lib.call("regress", X))


@pytest.fixture(scope="module")
def iris_mlp() -> MLPClassifier:
    return _fit(MLPClassifier((10,), max_iter=400, random_state=0), X_IRIS, Y_IRIS)


@pytest.mark.parametrize("quantize", [None, "int8"])
def test_sklearn_mlp_on_iris(iris_mlp, quantize) -> None:
    """A small MLPClassifier (relu, softmax) on iris, float32 and int8: every iris row and
    adversarial rows give the host's classes and probability bits; no table in RAM."""
    kw = {"quantize": quantize, "calibration": X_IRIS} if quantize else {}
    model = microlearn.convert(iris_mlp, **kw)
    X = np.concatenate([X_IRIS, adversarial(X_IRIS[70])])
    r = run_on_avr(model, X)
    assert_same_bits(model, r, X)
    assert r.ram_bytes == 0  # weights, biases and the op table are in program memory
    nan_rows = adversarial(X_IRIS[70], (np.nan,))
    nan_run = run_on_avr(model, nan_rows)
    assert ((nan_run.outputs >= 0) & (nan_run.outputs < 3)).all()
    if quantize == "int8":  # NaN is quantized to the zero point: defined, bit for bit
        assert_same_bits(model, nan_run, nan_rows)
    if quantize is None:
        np.testing.assert_array_equal(model.predict(X_IRIS), iris_mlp.predict(X_IRIS))
        # the same header with ML_NO_PROGMEM: weights, biases and ops back in RAM
        ram = targets.footprint(TARGET, "#define ML_NO_PROGMEM 1\n" + model.c_source("model"),
                                "model", "classifier", n_outputs=3, n_features=4).ram_bytes
        n_weights = sum(w.size + b.size for w, b in zip(iris_mlp.coefs_,
                                                        iris_mlp.intercepts_, strict=True))
        assert ram >= 4 * n_weights + 3 * avr.NETS_OP_BYTES
    assert r.machine.startswith("simavr") and r.instructions.min() > 1000


@pytest.mark.parametrize("quantize", [None, "int8"])
def test_scaler_and_mlp_pipeline(quantize) -> None:
    """The usual scikit-learn form, StandardScaler + MLPClassifier, as one model."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    pipe = _fit(make_pipeline(StandardScaler(), MLPClassifier((10,), max_iter=400,
                                                              random_state=0)),
                X_IRIS, Y_IRIS)
    kw = {"quantize": quantize, "calibration": X_IRIS} if quantize else {}
    model = microlearn.convert(pipe, **kw)
    X = np.concatenate([X_IRIS, adversarial(X_IRIS[120])])
    r = run_on_avr(model, X)
    assert_same_bits(model, r, X)
    assert r.ram_bytes == 0


@pytest.fixture(scope="module")
def digits_mlp() -> MLPClassifier:
    return _fit(MLPClassifier((24,), max_iter=200, random_state=0), X_DIG, Y_DIG)


def test_digits_mlp_float_and_int8_footprints(digits_mlp) -> None:
    """A 64-24-10 MLP on digits: float32 and int8 equal to the host on the Uno, and int8
    takes less flash (a quarter of the weight bytes, more kernel code)."""
    X = np.concatenate([X_DIG[:40], adversarial(X_DIG[0])[::3]])
    fps = {}
    for quantize in (None, "int8"):
        kw = {"quantize": quantize, "calibration": X_DIG[:300]} if quantize else {}
        model = microlearn.convert(digits_mlp, **kw)
        r = run_on_avr(model, X)
        assert_same_bits(model, r, X)
        assert r.ram_bytes == 0
        fps[quantize] = r
    n_weights = sum(w.size + b.size for w, b in zip(digits_mlp.coefs_,
                                                    digits_mlp.intercepts_, strict=True))
    # float: 4 bytes per weight in flash; int8: 1 byte per weight (+ 12 per output), with
    # more kernel code (requantization): int8 still saves more than a byte per weight
    assert fps[None].flash_bytes > 4 * n_weights
    assert fps[None].flash_bytes - fps["int8"].flash_bytes > n_weights
    assert fps["int8"].flash_bytes < 16 * 1024


@pytest.mark.parametrize("activation", ["tanh", "logistic"])
def test_mlp_regressor_with_libm_free_activations(activation) -> None:
    """tanh and logistic hidden layers (ml_tanhf / ml_expf of ml_math.h, no libm) on a
    regression: bit for bit with the host, adversarial rows included."""
    X, y = make_regression(200, 6, n_targets=2, random_state=0)
    X = X.astype(np.float32)
    est = _fit(MLPRegressor(hidden_layer_sizes=(12,), activation=activation, max_iter=300,
                            random_state=0), X, y / 100.0)
    model = microlearn.convert(est)
    rows = np.concatenate([X[:40], adversarial(X[3])])
    r = run_on_avr(model, rows)
    assert_same_bits(model, r, rows)


def test_binary_mlp_with_a_logistic_output() -> None:
    X, y = X_IRIS, (Y_IRIS == 2).astype(int)
    est = _fit(MLPClassifier((6,), activation="logistic", max_iter=400, random_state=0), X, y)
    for kw in ({}, {"quantize": "int8", "calibration": X}):
        model = microlearn.convert(est, **kw)
        rows = np.concatenate([X[::2], adversarial(X[100])])
        assert_same_bits(model, run_on_avr(model, rows), rows)


def test_keras_dense_and_conv_nets_float_and_int8() -> None:
    """A Keras Dense net and a small conv net (conv, depthwise, pooling, dense) that fit the
    2 KB of SRAM, float32 and int8, equal to the host on the Uno."""
    keras = pytest.importorskip("keras")
    L = keras.layers
    keras.utils.set_random_seed(0)
    dense = keras.Sequential([keras.Input((8,)), L.Dense(16, activation="relu"),
                              L.Dense(8, activation="tanh"), L.Dense(3, activation="softmax")])
    conv = keras.Sequential([keras.Input((6, 6, 1)),
                             L.Conv2D(4, 3, padding="same", activation="relu"),
                             L.MaxPooling2D(2),
                             L.DepthwiseConv2D(3, padding="same", activation="relu"),
                             L.Conv2D(6, 1, activation="relu"),
                             L.GlobalAveragePooling2D(), L.Dense(4, activation="softmax")])
    rng = np.random.default_rng(0)
    for net, n_in in ((dense, 8), (conv, 36)):
        Xc = rng.normal(size=(64, n_in)).astype(np.float32)
        X = np.concatenate([Xc[:24], adversarial(Xc[0])[::4]])
        for kw in ({}, {"quantize": "int8", "calibration": Xc}):
            model = microlearn.convert(net, **kw)
            r = run_on_avr(model, X)
            assert_same_bits(model, r, X)
            assert r.stack_bytes < avr.SRAM_BYTES[TARGET] - 200


def test_int8_constant_operands_in_program_memory() -> None:
    """int8 ADD / MUL by constants (a Normalization before a padded convolution: not folded
    into it, so TFLite's MUL and ADD by per-channel vectors): the constants are read from
    program memory (no static RAM), and the outputs equal the host's bit for bit."""
    keras = pytest.importorskip("keras")
    L = keras.layers
    keras.utils.set_random_seed(1)
    rng = np.random.default_rng(1)
    Xc = (rng.normal(size=(64, 18, 2)) * [3.0, 0.5] + 1.0).astype(np.float32).reshape(64, 36)
    norm = L.Normalization()
    norm.adapt(Xc.reshape(-1, 6, 3, 2))
    net = keras.Sequential([keras.Input((6, 3, 2)), norm,
                            L.Conv2D(3, 3, padding="same", activation="relu"),
                            L.GlobalAveragePooling2D(), L.Dense(3, activation="softmax")])
    model = microlearn.convert(net, quantize="int8", calibration=Xc)
    kinds = [op.kind for op in model.steps[0].ir.ops]
    assert "mul" in kinds and "add" in kinds, kinds
    X = np.concatenate([Xc[:24], adversarial(Xc[0])[::4]])
    r = run_on_avr(model, X)
    assert_same_bits(model, r, X)
    assert r.ram_bytes == 0


def test_a_net_whose_arena_does_not_fit_is_refused() -> None:
    """A 4-400-3 MLP: its float arena alone (1612 B) with the op copy, input, outputs and
    call frames leaves less than the stack reserve of the 2 KB: refused with the sizes,
    before any build; int8 (a quarter of the activations) fits and runs."""
    est = _fit(MLPClassifier((400,), max_iter=20, random_state=0), X_IRIS, Y_IRIS)
    model = microlearn.convert(est)
    arena, need = avr.nets_buffer_bytes(model.c_source("model"))
    assert arena >= 4 * 400 and need > avr.SRAM_BYTES[TARGET] - avr.MIN_STACK_BYTES
    with pytest.raises(UnsupportedOnTargetError,
                       match=rf"2048 bytes of SRAM: its arena of {arena} B.*needs {need} B"):
        model.footprint(TARGET, X_IRIS[:3])
    est_fp = model.footprint(TARGET, X_IRIS[:3], estimate=True)
    assert est_fp.estimated
    q = microlearn.convert(est, quantize="int8", calibration=X_IRIS)
    r = run_on_avr(q, X_IRIS[::10])
    assert_same_bits(q, r, X_IRIS[::10])


def test_net_headers_compile_strictly_for_avr_as_c_and_cpp(iris_mlp, tmp_path: Path) -> None:
    """avr-gcc (C99) and avr-g++ (Arduino's C++) with the strict warning flags, float32
    and int8."""
    for kw in ({}, {"quantize": "int8", "calibration": X_IRIS}):
        src = microlearn.convert(iris_mlp, **kw).c_source("model") + (
            "\nint32_t f(const float *x);\n"
            "int32_t f(const float *x) { return model_predict(x, 4); }\n")
        for cc, ext, std in (("avr-gcc", "c", "-std=c99"), ("avr-g++", "cpp", "-std=gnu++11")):
            p = tmp_path / f"m.{ext}"
            p.write_text(src)
            proc = subprocess.run(
                [cc, "-mmcu=atmega328p", std, "-Wall", "-Wextra", "-Wpedantic", "-Wconversion",
                 "-Wdouble-promotion", "-Werror", "-Os", "-c", str(p), "-o",
                 str(tmp_path / "m.o")], capture_output=True, text=True, timeout=120)
            assert proc.returncode == 0, proc.stderr[-3000:]


def test_cli_export_arduino_of_an_mlp_runs_on_the_uno(iris_mlp, tmp_path: Path,
                                                     capsys) -> None:
    """`microlearn export arduino` of the iris MLP (float32), and the int8 model written by
    `arduino()`: each Serial example compiled for the Uno with arduino-builder and fed rows
    over its UART in simavr prints the host's classes."""
    import joblib
    from test_avr import build_sketch, hex_row, run_uart

    from microlearn import cli
    from microlearn.export import arduino

    joblib.dump(iris_mlp, tmp_path / "mlp.joblib")
    assert cli.main(["export", "arduino", str(tmp_path / "mlp.joblib"), "--out",
                     str(tmp_path / "irisnet"), "--name", "irisnet"]) == 0
    assert "Arduino library irisnet" in capsys.readouterr().out
    q = microlearn.convert(iris_mlp, quantize="int8", calibration=X_IRIS)
    libs = [(tmp_path / "irisnet", "irisnet", microlearn.convert(iris_mlp)),
            (arduino(q, tmp_path / "irisq", name="irisq"), "irisq", q)]
    rows = np.concatenate([X_IRIS[::3], adversarial(X_IRIS[70])[::2]])
    for lib, name, model in libs:
        assert "static ML_CONST" in (lib / "src" / f"{name}.h").read_text()
        elf = build_sketch(lib, name, tmp_path / f"build_{name}")
        # idle line time after each row (empty lines, skipped): the Uno's 64-byte receive
        # buffer would overflow while a prediction (3-5 ms) runs
        lines = run_uart(elf, "".join(hex_row(r) + "\n" + "\n" * 120 for r in rows),
                         tmp_path)
        assert lines[0] == f"ready {name} 4"
        np.testing.assert_array_equal(np.array(lines[1:], dtype=np.int64),
                                      model.predict(rows))


def test_avr_int8_dispatch_is_the_runtimes() -> None:
    """On AVR the generated int8 code dispatches only its model's op kinds
    (c_int8.Q7_DISPATCH): every kind, macro value and kernel call there is the one of
    ml_nets_q7_run's switch (runtime/ml_nets_int8.h)."""
    from microlearn.families.nets.c_int8 import Q7_DISPATCH

    text = (Path(microlearn.__file__).parent / "runtime" / "ml_nets_int8.h").read_text()
    body = text[text.index("static inline int32_t ml_nets_q7_run("):]
    body = body[body.index("switch (op->kind)"):body.index("default:")]
    runtime = {}
    for seg in body.split("break;")[:-1]:
        labels = re.findall(r"case (ML_NETS_Q7_\w+):", seg)
        call = " ".join(seg.split("case " + labels[-1] + ":")[1].split()).rstrip(";")
        for label in labels:
            runtime[label] = call
    assert len(runtime) == len(Q7_DISPATCH)
    for kind, (macro, call) in Q7_DISPATCH.items():
        assert int(re.search(rf"#define {macro}\s+(\d+)", text).group(1)) == kind
        assert runtime[macro] == call, macro


def test_model_files_are_unsupported_on_avr() -> None:
    """ml_nets_from_section returns ML_ERR_UNSUPPORTED on AVR (as every family's loader):
    a firmware calling it in simavr gets that code, where the host parser would check
    the section."""
    header = (
        '#include "../ml_nets.h"\n#define model_N_FEATURES 1\n#define model_N_OUTPUTS 2\n'
        "#define model_TASK 1\n"
        "static inline int32_t model_regress(const float *x, int32_t n, float *out,\n"
        "                                    int32_t n_out)\n{\n"
        "    uint32_t sec[16] = {1u, 1u, 1u, 1u};\n    ml_nets_t m;\n"
        "    (void)x;\n    (void)n;\n    (void)n_out;\n"
        "    out[0] = (float)ml_nets_from_section(&m, (const uint8_t *)sec, 64u);\n"
        "    out[1] = (float)ml_nets_from_section(NULL, (const uint8_t *)sec, 64u);\n"
        "    return 0;\n}\n")
    r = targets.measure(TARGET, header, "model", "regressor", np.zeros((1, 1), np.float32),
                        n_outputs=2, n_features=1)
    codes = (Path(microlearn.__file__).parent / "runtime" / "ml_common.h").read_text()
    unsupported = int(re.search(r"#define ML_ERR_UNSUPPORTED\s+\((-\d+)\)", codes).group(1))
    null = int(re.search(r"#define ML_ERR_NULL\s+\((-\d+)\)", codes).group(1))
    np.testing.assert_array_equal(r.outputs.ravel(), [unsupported, null])


def test_divisions_into_deep_subnormals_round_correctly_on_avr() -> None:
    """ml_divf (softmax's and logistic's division; ml_math.h) rounds quotients far into
    the subnormals correctly on AVR too, where `int` is 16 bits (its rounding bit is a
    32-bit shift): 1e-41..1e-38 divided by 10..1e4, against float64 division rounded."""
    header = (
        '#include "../ml_math.h"\n#define model_N_FEATURES 2\n#define model_N_OUTPUTS 1\n'
        "#define model_TASK 1\n"
        "static inline int32_t model_regress(const float *x, int32_t n, float *out,\n"
        "                                    int32_t n_out)\n{\n"
        "    (void)n;\n    (void)n_out;\n    out[0] = ml_divf(x[0], x[1]);\n    return 0;\n}\n")
    rng = np.random.default_rng(0)
    a = rng.uniform(1e-41, 1e-38, 120).astype(np.float32)
    b = rng.uniform(10, 1e4, 120).astype(np.float32)
    r = targets.measure(TARGET, header, "model", "regressor", np.stack([a, b], 1),
                        n_outputs=1, n_features=2)
    exact = (a.astype(np.float64) / b.astype(np.float64)).astype(np.float32)
    assert (exact < np.float32(2.0 ** -140)).sum() > 20  # the 16-bit-int case is reached
    np.testing.assert_array_equal(r.outputs.ravel().astype(np.float32).view(np.uint32),
                                  exact.view(np.uint32))
