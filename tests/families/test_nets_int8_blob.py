"""int8 nets in the model file (nets section layout 2, dtype 1; ml_nets_int8.h loader).

The file path (``ml_model.h`` -> ``ml_nets_from_section`` -> ``ml_nets_q7_forward``) runs
the generated header's op table, record for record: model file == header == TFLite Micro
bit for bit. The loader is fuzzed under ASan/UBSan (truncations, every header and record
field hostile, hostile requantization constants, random flips), and the MicroPython native
module runs int8 model files on the unix port with the host's bits.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess

import numpy as np
import pytest

import microlearn
from microlearn.families.nets import FAMILY
from microlearn.families.nets.quantize import quantize_net, run_int8
from microlearn.families.nets.section import RECORD_BYTES_INT8, VERSION_INT8
from microlearn.families.nets.tflite import write_tflite

runtime = pytest.importorskip("tflite_micro.python.tflite_micro.runtime")
keras = pytest.importorskip("keras")
from support.blob_runner import BlobRunner  # noqa: E402
from support.nets_int8_host import compile_int8  # noqa: E402
from test_nets_int8 import CASES, tflm_run  # noqa: E402

RUNTIME = os.path.join(os.path.dirname(microlearn.__file__), "runtime")
CFLAGS = ["-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Wconversion", "-Wdouble-promotion",
          "-Werror", "-ffp-contract=off"]
RNG = np.random.default_rng(7)
_RUNNER: BlobRunner | None = None


def runner() -> BlobRunner:
    global _RUNNER
    if _RUNNER is None:
        _RUNNER = BlobRunner()
    return _RUNNER


def _file_outputs(model: microlearn.Model, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(outputs, classes or None) of the model file run by the C loader."""
    blob = model.to_blob()
    r = runner()
    info = r.info(blob)
    assert info["scratch_floats"] > 0
    if info["task"] == 0:
        s, out = r.call(blob, "predict_proba", X, info["n_outputs"])
        s2, cls = r.call(blob, "predict", X)
        assert s == 0 and s2 == 0
        return out, cls
    s, out = r.call(blob, "regress", X, info["n_outputs"])
    assert s == 0
    return out, None


def _cnn():
    keras.utils.set_random_seed(0)
    m = keras.Sequential([
        keras.Input((8, 8, 1)),
        keras.layers.Conv2D(6, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.DepthwiseConv2D(3, padding="same", activation="relu"),
        keras.layers.Conv2D(8, 3, strides=2, activation="relu"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(4, activation="softmax")])
    X = RNG.uniform(0, 1, size=(200, 64)).astype(np.float32)
    return m, X, (8, 8, 1)


def _mlp():
    keras.utils.set_random_seed(1)
    m = keras.Sequential([keras.Input((10,)), keras.layers.Dense(16, activation="relu"),
                          keras.layers.Dense(8, activation="tanh"),
                          keras.layers.Dense(3, activation="softmax")])
    X = RNG.normal(size=(200, 10)).astype(np.float32)
    return m, X, (10,)


def _near_ties():
    """20 classes whose logits lie within a few quantization steps: the softmax output
    often ties its maximum with a class the logits rank lower (predict must still give
    the output's first maximum, not the logits')."""
    keras.utils.set_random_seed(3)
    m = keras.Sequential([keras.Input((6,)), keras.layers.Dense(20, activation="softmax")])
    w, b = m.layers[0].get_weights()
    m.layers[0].set_weights([w * 0.02, b])
    X = RNG.normal(size=(600, 6)).astype(np.float32)
    return m, X, (6,)


@pytest.mark.parametrize("make", [_cnn, _mlp, _near_ties], ids=["cnn", "mlp", "near-ties"])
def test_keras_int8_file_equals_header_equals_tflm(make, tmp_path):
    km, X, shape = make()
    model = microlearn.convert(km, quantize="int8", calibration=X[:150])
    ir = model.steps[0].ir
    assert ir.quantized
    out, cls = _file_outputs(model, X)
    header = compile_int8(ir)(X)
    tflm = tflm_run(write_tflite(ir, batch=len(X)), X, shape)
    np.testing.assert_array_equal(out, header)
    np.testing.assert_array_equal(out, tflm)
    np.testing.assert_array_equal(out, model.predict_proba(X))
    np.testing.assert_array_equal(cls, model.predict(X))
    # predict (which skips the final softmax when the class is certain): TFLM's first max
    np.testing.assert_array_equal(cls, tflm.argmax(axis=1))
    if make is _near_ties:  # outputs tied at their maximum: the case predict must not skip
        assert ((tflm == tflm.max(axis=1, keepdims=True)).sum(axis=1) > 1).sum() > 20
    # save_blob / load through the file system, and the int8 .tflite of the same graph
    path = model.save_blob(tmp_path / "m.mlb")
    assert path.read_bytes() == model.to_blob()
    sec = FAMILY.section(ir, {})
    assert struct.unpack_from("<I", sec, 0)[0] == VERSION_INT8
    assert struct.unpack_from("<3I", sec, 40) == (RECORD_BYTES_INT8, 1,
                                                  struct.unpack_from("<I", sec, 48)[0])
    from_tflite = microlearn.convert(write_tflite(ir))
    np.testing.assert_array_equal(_file_outputs(from_tflite, X)[0], tflm)


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_int8_kernel_through_the_file(case):
    """Each op-level graph of test_nets_int8, quantized, written as an int8 .tflite and
    converted from it: model file == header == TFLM."""
    ir = CASES[case]()
    X = (RNG.normal(size=(60, ir.n_features)) * 2.5 + 0.3).astype(np.float32)
    q = quantize_net(ir, X)
    data = write_tflite(q, batch=len(X))
    model = microlearn.convert(write_tflite(q))
    out, _ = _file_outputs(model, X)
    tflm = tflm_run(data, X, ir.tensors[ir.input].shape)
    np.testing.assert_array_equal(out, tflm.reshape(out.shape))
    np.testing.assert_array_equal(out, compile_int8(model.steps[0].ir)(X).reshape(out.shape))
    np.testing.assert_array_equal(out, run_int8(q, X).reshape(out.shape))


def test_binary_and_regressor_and_nan():
    """One sigmoid unit (predict_proba [1 - p, p], class 1 iff p > 0.5), a regressor, and
    NaN / huge inputs quantized as the header does."""
    keras.utils.set_random_seed(2)
    X = RNG.normal(size=(120, 6)).astype(np.float32)
    X[0, 0], X[1, 1], X[2, 2], X[3, 3] = np.nan, np.inf, -np.inf, 3e38
    X[4] = 0.5  # exact halves after scaling are likely somewhere: round half away
    for act, units in (("sigmoid", 1), ("linear", 2)):
        km = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"),
                               keras.layers.Dense(units, activation=act)])
        model = microlearn.convert(km, quantize="int8", calibration=np.nan_to_num(X[5:]))
        out, cls = _file_outputs(model, X)
        header = compile_int8(model.steps[0].ir)(X)
        if act == "sigmoid":
            np.testing.assert_array_equal(out[:, 1], header[:, 0])
            np.testing.assert_array_equal(out[:, 0], np.float32(1) - header[:, 0])
            np.testing.assert_array_equal(cls, (header[:, 0] > 0.5).astype(np.int32))
        else:
            np.testing.assert_array_equal(out, header)


def test_float_sections_unchanged():
    """Float nets still write layout 1 (byte for byte what they were), and a layout-2
    section of dtype 0 (float records) loads and runs the same."""
    keras.utils.set_random_seed(3)
    km = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, activation="relu"),
                           keras.layers.Dense(3, activation="softmax")])
    model = microlearn.convert(km)
    sec = FAMILY.section(model.steps[0].ir, {})
    assert struct.unpack_from("<I", sec, 0)[0] == 1
    assert sec[44:64] == bytes(20)
    v2 = struct.pack("<I", 2) + sec[4:]
    X = RNG.normal(size=(30, 5)).astype(np.float32)
    exe_out = _sections_outputs([sec, v2, _patch(v2, 48, 4), _patch(v2, 44, 2)], X, 3)
    assert [s for s, _ in exe_out] == [0, 0, -4, -4]
    np.testing.assert_array_equal(exe_out[0][1], exe_out[1][1])
    np.testing.assert_array_equal(exe_out[0][1], model.predict_proba(X))


# ----------------------------------------------------------------------------- fuzz

FUZZ_DRIVER = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "ml_nets.h"
/* argv[1]: repeated [u32 size][section bytes]; argv[2]: rows of float inputs (or "-").
 * Prints one status per section, then (when it loads) its outputs on every row. */
int main(int argc, char **argv)
{
    FILE *f = fopen(argv[1], "rb");
    FILE *xf = argc > 2 && strcmp(argv[2], "-") != 0 ? fopen(argv[2], "rb") : NULL;
    unsigned char hdr[4];
    while (fread(hdr, 1, 4, f) == 4) {
        uint32_t n = ml_rd_u32(hdr);
        uint8_t *sec = (uint8_t *)malloc(n + 8u);
        ml_nets_t m;
        ml_info_t info;
        int32_t rc;
        if (fread(sec, 1, n, f) != n) return 2;
        rc = ml_nets_from_section(&m, sec, n);
        if (rc == ML_OK) {
            ml_nets_info(&m, &info);
        }
        if (rc == ML_OK && info.scratch_floats <= (1 << 22)) {
            float *x = (float *)calloc((size_t)info.n_features, sizeof(float));
            float *s = (float *)calloc((size_t)info.scratch_floats, sizeof(float));
            float *o = (float *)calloc((size_t)info.n_outputs, sizeof(float));
            int32_t k;
            if (info.task == ML_TASK_CLASSIFIER) {
                rc = ml_nets_predict(&m, x, s) >= 0 ? ml_nets_predict_proba(&m, x, o, s) : -99;
            } else {
                rc = ml_nets_regress(&m, x, o, s);
            }
            for (k = 0; k < info.n_features; k++) {  /* extreme inputs too */
                x[k] = k % 3 == 0 ? 3.0e38f : (k % 3 == 1 ? -1.0e9f : (float)NAN);
            }
            if (rc == ML_OK) {
                rc = info.task == ML_TASK_CLASSIFIER ? ml_nets_predict_proba(&m, x, o, s)
                                                     : ml_nets_regress(&m, x, o, s);
            }
            printf("%d\n", (int)rc);
            if (xf != NULL) {
                rewind(xf);
                while (fread(x, sizeof(float), (size_t)info.n_features, xf) ==
                       (size_t)info.n_features) {
                    (void)(info.task == ML_TASK_CLASSIFIER ? ml_nets_predict_proba(&m, x, o, s)
                                                           : ml_nets_regress(&m, x, o, s));
                    for (k = 0; k < info.n_outputs; k++) {
                        printf("%08x\n", (unsigned)ml_rd_u32((const uint8_t *)(o + k)));
                    }
                }
            }
            free(x); free(s); free(o);
        } else {
            printf("%d\n", (int)rc);
        }
        free(sec);
    }
    fclose(f);
    if (xf != NULL) fclose(xf);
    return 0;
}
"""

_EXE = {}


def fuzz_exe(tmp_path_factory=None):
    if "exe" in _EXE:
        return _EXE["exe"]
    if shutil.which("gcc") is None:
        pytest.skip("gcc not installed")
    import tempfile

    d = tempfile.mkdtemp(prefix="nets_int8_fuzz")
    src = os.path.join(d, "drv.c")
    with open(src, "w") as fh:
        fh.write(FUZZ_DRIVER)
    exe = os.path.join(d, "drv")
    san = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all"]
    flags = [f for f in CFLAGS if f != "-Wconversion"]  # the driver, not the runtime
    proc = subprocess.run(["gcc", *flags, "-O1", "-g", *san,
                           f"-I{RUNTIME}", src, "-o", exe], capture_output=True, text=True)
    _EXE["sanitized"] = proc.returncode == 0
    if proc.returncode != 0:  # no sanitizer runtime here: plain build
        subprocess.run(["gcc", *flags, "-O1", f"-I{RUNTIME}", src,
                        "-o", exe], check=True)
    _EXE["exe"] = exe
    return exe


def _run(sections, X: np.ndarray | None = None) -> list[str]:
    import tempfile

    exe = fuzz_exe()
    with tempfile.TemporaryDirectory() as d:
        f = os.path.join(d, "secs.bin")
        with open(f, "wb") as fh:
            fh.write(b"".join(struct.pack("<I", len(s)) + s for s in sections))
        xarg = "-"
        if X is not None:
            xarg = os.path.join(d, "x.bin")
            with open(xarg, "wb") as fh:
                fh.write(np.ascontiguousarray(X, np.float32).tobytes())
        proc = subprocess.run([exe, f, xarg], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.split()


def _sections_outputs(sections, X, n_out) -> list[tuple[int, np.ndarray | None]]:
    """(status, outputs) of each section run on the rows of X by the sanitized driver."""
    lines = _run(sections, X)
    res, i = [], 0
    for _ in sections:
        s = int(lines[i])
        i += 1
        if s == 0:
            vals = np.array([int(v, 16) for v in lines[i:i + len(X) * n_out]], np.uint32)
            i += len(X) * n_out
            res.append((s, vals.view(np.float32).reshape(len(X), n_out)))
        else:
            res.append((s, None))
    return res


def _patch(sec: bytes, off: int, value: int) -> bytes:
    b = bytearray(sec)
    b[off:off + 4] = struct.pack("<I", value & 0xFFFFFFFF)
    return bytes(b)


def _fuzz_model():
    """An int8 graph with every op kind of the int8 runtime that Keras produces (MUL also
    with a broadcast operand)."""
    keras.utils.set_random_seed(4)
    L = keras.layers
    inp = keras.Input((6, 6, 2))
    x = L.Conv2D(3, 3, padding="same", activation="relu")(inp)
    gate = L.Dense(3, activation="sigmoid")(L.GlobalAveragePooling2D()(x))
    x = L.Multiply()([L.Reshape((1, 1, 3))(gate), x])  # broadcast: 3 values over 6x6x3
    y = L.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2,
                          activation="hard_swish")(x)
    y = L.MaxPooling2D(2, padding="same")(y)
    y = L.ZeroPadding2D(1)(y)
    y = L.AveragePooling2D(2)(y)
    g = L.GlobalMaxPooling2D()(x)
    h = L.GlobalAveragePooling2D()(x)
    a = L.Dense(6, activation="tanh")(L.Flatten()(y))
    b = L.Dense(6, activation="sigmoid")(L.Add()([g, h]))
    z = L.Multiply()([L.Add()([a, b]), b])
    z = L.Dense(6, activation="relu6")(z)
    out = L.Dense(3, activation="softmax")(L.LeakyReLU(0.1)(z))
    km = keras.Model(inp, out)
    X = RNG.normal(size=(80, 72)).astype(np.float32)
    return microlearn.convert(km, quantize="int8", calibration=X), X


def test_every_kind_file_equals_header_under_sanitizers():
    model, X = _fuzz_model()
    ir = model.steps[0].ir
    sec = FAMILY.section(ir, {})
    kinds = {struct.unpack_from("<i", sec, 64 + RECORD_BYTES_INT8 * i)[0]
             for i in range(struct.unpack_from("<I", sec, 24)[0])}
    assert len(kinds) >= 14, kinds
    ((s, out),) = _sections_outputs([sec], X, 3)
    assert s == 0
    np.testing.assert_array_equal(out, compile_int8(ir)(X))
    np.testing.assert_array_equal(out, tflm_run(write_tflite(ir, batch=len(X)), X, (6, 6, 2)))


def test_pooling_in_place_only_for_disjoint_windows():
    """The planner writes a 2x2 / stride-2 max pooling over its dying input (same arena
    offset) and the loader accepts that file; a 3x3 / stride-2 pooling (windows overlap)
    is planned apart, and the same file patched to put its output over its input is
    rejected."""
    keras.utils.set_random_seed(2)
    L = keras.layers

    def section(pool, strides):
        m = keras.Sequential([keras.Input((8, 8, 1)),
                              L.Conv2D(4, 3, padding="same", activation="relu"),
                              L.MaxPooling2D(pool, strides=strides),
                              L.GlobalAveragePooling2D(), L.Dense(3, activation="softmax")])
        X = RNG.uniform(0, 1, size=(60, 64)).astype(np.float32)
        model = microlearn.convert(m, quantize="int8", calibration=X.reshape(-1, 8, 8, 1))
        sec = FAMILY.section(model.steps[0].ir, {})
        n_ops = struct.unpack_from("<I", sec, 24)[0]
        base = next(64 + RECORD_BYTES_INT8 * i for i in range(n_ops)
                    if struct.unpack_from("<i", sec, 64 + RECORD_BYTES_INT8 * i)[0] == 7)
        return sec, base, X

    sec, base, X = section(2, 2)
    kind, a_in, _, a_out = struct.unpack_from("<4i", sec, base)
    assert a_in == a_out  # in place
    sec3, base3, _ = section(3, 2)
    _, b_in, _, b_out = struct.unpack_from("<4i", sec3, base3)
    assert b_in != b_out
    status = [int(v) for v in _run([sec, sec3, _patch(sec3, base3 + 12, b_in)])]
    assert status[:2] == [0, 0] and status[2] == -4, status


@pytest.mark.parametrize("which", ["keras", "concat"])
def test_corrupt_int8_sections(which):
    if which == "keras":
        model, _ = _fuzz_model()
        sec = FAMILY.section(model.steps[0].ir, {})
    else:  # COPY records (concatenation) and a requantized branch
        ir = CASES["concat_requantized"]()
        sec = FAMILY.section(quantize_net(ir, RNG.normal(size=(40, 5)).astype(np.float32)),
                             {})
    n_ops = struct.unpack_from("<I", sec, 24)[0]
    end_ops = 64 + RECORD_BYTES_INT8 * n_ops
    cases = [sec]
    cases += [sec[:cut] for cut in (0, 10, 63, 64, end_ops - 1, len(sec) // 2,
                                    len(sec) - 12)]
    cases += [_patch(sec, 0, 3)]
    for off in range(4, 64, 4):
        for v in (0, 1, 2, 3, 0x7FFFFFFF, 0xFFFFFFFF, 0x80000000, 64, 160, len(sec)):
            cases.append(_patch(sec, off, v))
    rng = np.random.default_rng(5)
    consts = []
    for i in range(n_ops):
        base = 64 + RECORD_BYTES_INT8 * i
        for field in range(0, RECORD_BYTES_INT8, 4):
            for v in (0, 1, 2, 31, 32, 127, 128, 255, 511, 512, 0xFFFFFFFF, 0xFFFFFF80,
                      0xFFFFFFE0, 0x7FFFFFFF, 0x80000000, 1 << 24, 1 << 30,
                      int(rng.integers(0, 300)), len(sec) - 4, 0x7FC00000, 0x7F800000):
                cases.append(_patch(sec, base + field, v))
        b_off, m_off, s_off, n_ch = struct.unpack_from("<4I", sec, base + 132)
        for off in (b_off, m_off, s_off):
            if off:
                consts += [off + 4 * int(rng.integers(0, n_ch)) for _ in range(3)]
    for off in consts:  # hostile bias / multiplier / shift values
        for v in (0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 32, 0xFFFFFFE0, 31, 0xFFFFFFE1, 1 << 30):
            cases.append(_patch(sec, off, v))
    for _ in range(400):  # random byte flips
        b = bytearray(sec)
        for _ in range(int(rng.integers(1, 4))):
            b[int(rng.integers(0, len(b)))] ^= int(rng.integers(1, 256))
        cases.append(bytes(b))
    status = [int(s) for s in _run(cases)]
    assert status[0] == 0
    assert all(s in (0, -4, -5, -6, -7) for s in status), sorted(set(status))
    assert all(s != 0 for s in status[1:8])  # truncations
    assert status[8] == -5  # version
    assert sum(s != 0 for s in status) > len(status) // 2


# ----------------------------------------------------------------------------- MicroPython

def test_micropython_unix_port_int8(tmp_path):
    """int8 model files in the x64 native module of the unix port: outputs and classes
    bit-identical to the host (the generated header)."""
    from test_micropython_families import _assert_bit_identical, _run_unix

    model, X = _fuzz_model()
    host, dev = _run_unix(model, X[:20], tmp_path)
    _assert_bit_identical(host, dev, model, None)
    km, Xm, _ = _mlp()
    reg = keras.Sequential([keras.Input((10,)), keras.layers.Dense(5, activation="relu"),
                            keras.layers.Dense(2)])
    for k in (km, reg):
        m = microlearn.convert(k, quantize="int8", calibration=Xm[:100])
        host, dev = _run_unix(m, Xm[:20], tmp_path / k.name)
        _assert_bit_identical(host, dev, m, None)


@pytest.mark.parametrize("which", ["fuzz_int8", "mlp_int8", "cnn_int8", "mlp_float32"])
def test_micropython_qemu_m4f(which, tmp_path):
    """Nets model files in the native module (armv7emsp) on emulated Cortex-M4F under
    MicroPython v1.23 - the int8 kernels' Cortex-M4F paths (SMMULR requantization, VCVT
    input quantization, dense rows over widened inputs) and the float32 ones - give the
    host's outputs and classes bit for bit."""
    from test_micropython_families import (
        _assert_bit_identical,
        _device_outputs,
        _methods,
        _script_for,
    )

    from microlearn import micropython_build as mb
    from microlearn import mp_module

    if shutil.which("qemu-system-arm") is None:
        pytest.skip("tool missing: qemu-system-arm")
    from support import mp_qemu

    if which == "fuzz_int8":
        m, X = _fuzz_model()
    else:
        km, X, shape = _cnn() if which == "cnn_int8" else _mlp()
        calib = X[:100].reshape((100, *shape)) if which == "cnn_int8" else X[:100]
        m = (microlearn.convert(km) if which == "mlp_float32"
             else microlearn.convert(km, quantize="int8", calibration=calib))
    X = np.ascontiguousarray(X, dtype=np.float32)
    # real rows and adversarial ones: zeros, huge, NaN, +-inf (the input quantization)
    adv = np.zeros((4, X.shape[1]), np.float32)
    adv[1] = 3e38
    adv[2, ::2] = np.nan
    adv[3, ::2], adv[3, 1::2] = np.inf, -np.inf
    if which == "mlp_float32":
        # not the +-inf row: its sums reach inf - inf, a NaN whose sign is the hardware's
        # (x86: negative, Arm: positive), and relu tests the sign bit (docs/families/nets.md)
        adv = adv[:3]
    Xq = np.concatenate([X[-12:], adv])
    blob = m.to_blob()
    try:
        module = mp_module.build("armv7emsp", tmp_path / "mod",
                                 mp_module.family_set(for_model=blob))[0]
    except mb.ToolNotFoundError as e:
        pytest.skip(f"tool missing: armv7emsp toolchain: {e}")
    host = _methods(m, Xq)
    files = {"microlearn_mp.mpy": module.read_bytes(), "model.mlb": blob,
             "x.bin": Xq.tobytes()}
    r = mp_qemu.run_qemu_micropython("m4", _script_for(host), files,
                                     collect=[f"{k}.bin" for k in host], timeout=600).check()
    _assert_bit_identical(host, _device_outputs(host, lambda name: r.files[name]), m, None)


def test_dead_relu_units_quantize_into_a_valid_file():
    """An MLPRegressor whose relu units died in training (weights decayed to ~1e-30 next
    to their bias): the weight scales are widened as TFLite's AdjustWeightsForBiasScale
    does, so the int32 biases fit and the bias scales stay normal float32; the model file
    loads (it was rejected as corrupt) and equals the header and TFLite Micro bit for bit,
    within the quantization of the float model."""
    from sklearn.datasets import load_diabetes
    from sklearn.neural_network import MLPRegressor

    X, y = load_diabetes(return_X_y=True)
    X = X.astype(np.float32)
    est = MLPRegressor(hidden_layer_sizes=(16,), max_iter=2000, random_state=0).fit(X, y)
    dead = np.abs(est.coefs_[0]).max(axis=0) < 1e-6  # the units this test is about
    assert dead.sum() >= 3
    model = microlearn.convert(est, quantize="int8", calibration=X[:200])
    ir = model.steps[0].ir
    biases = [t for t in ir.tensors.values() if t.dtype == "int32" and t.data is not None]
    for t in biases:
        assert np.all(np.abs(t.data.astype(np.int64)) <= 1 << 30)
        assert np.all(np.asarray(t.scale, np.float32) >= np.finfo(np.float32).tiny)
    out, _ = _file_outputs(model, X)
    np.testing.assert_array_equal(out, compile_int8(ir)(X))
    np.testing.assert_array_equal(out, tflm_run(write_tflite(ir, batch=len(X)), X, (10,)))
    np.testing.assert_array_equal(out.ravel(), model.predict(X).ravel())
    # on the calibration rows (outside their range the int8 input saturates)
    assert np.max(np.abs(out.ravel()[:200] - est.predict(X[:200]))) < 0.01 * np.ptp(y)
