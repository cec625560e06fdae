"""int8 nets: TFLite reader/writer, post-training quantization, and bit-exactness of the C
kernels (runtime/ml_nets_int8.h) and of the numpy reference with TensorFlow Lite Micro.

For each op a tiny float graph is quantized, written as .tflite (batch = all rows, so TFLM
runs them in one invoke) and run by the TFLM interpreter, by the numpy reference and by the
generated C compiled on the host: the three outputs must be identical.
"""

from __future__ import annotations

import numpy as np
import pytest

from microlearn.errors import ConversionError
from microlearn.families.nets.c_int8 import arena_bytes_int8, c_body_int8
from microlearn.families.nets.ir import NetIR, Op, Tensor
from microlearn.families.nets.quantize import (
    choose_qparams,
    mbqm,
    quantize_multiplier,
    quantize_net,
    rdbpot,
    run_float,
    run_int8,
    srdhm,
)
from microlearn.families.nets.tflite import SUPPORTED_OPS, read_tflite, write_tflite

runtime = pytest.importorskip("tflite_micro.python.tflite_micro.runtime")
from support.nets_int8_host import compile_int8  # noqa: E402

ARENA = 1 << 24


def C(name, data):
    return Tensor(name, tuple(np.shape(data)), "float32", np.asarray(data, np.float32))


def A(name, shape):
    return Tensor(name, tuple(shape), "float32")


def net(tensors, ops, kind="regressor", inp="x", out="y"):
    return NetIR("test", kind, {t.name: t for t in tensors}, ops, inp, out,
                 classes=None, input_shape=next(t.shape for t in tensors if t.name == inp))


def tflm_run(model: bytes, X: np.ndarray, shape) -> np.ndarray:
    it = runtime.Interpreter.from_bytes(model, arena_size=ARENA)
    it.set_input(np.ascontiguousarray(X.reshape(X.shape[0], *shape)), 0)
    it.invoke()
    return it.get_output(0).reshape(X.shape[0], -1)


def check_bit_exact(ir: NetIR, X: np.ndarray) -> NetIR:
    """Quantize, then TFLM == numpy reference == host C, bit for bit."""
    q = quantize_net(ir, X)
    shape = ir.tensors[ir.input].shape
    ref = run_int8(q, X)
    tflm = tflm_run(write_tflite(q, batch=X.shape[0]), X.astype(np.float32), shape)
    c = compile_int8(q)(X)
    assert tflm.shape == ref.shape == c.shape
    np.testing.assert_array_equal(ref, tflm, err_msg="numpy reference != TFLM")
    np.testing.assert_array_equal(c, tflm, err_msg="C != TFLM")
    return q


rng = np.random.default_rng(42)
H, W, CIN = 7, 6, 3


def _conv_case(pad, stride, act, dilation=(1, 1)):
    w = rng.normal(size=(4, 3, 3, CIN))
    eh, ew = 2 * dilation[0] + 1, 2 * dilation[1] + 1
    oh = (H + sum(pad[0]) - eh) // stride[0] + 1
    ow = (W + sum(pad[1]) - ew) // stride[1] + 1
    return net([A("x", (H, W, CIN)), C("w", w), C("b", rng.normal(size=4) * 0.1),
                A("y", (oh, ow, 4))],
               [Op("conv2d", ("x", "w", "b"), ("y",),
                   {"strides": stride, "dilation": dilation, "padding": pad,
                    "activation": act})])


def _dw_case(m, act, stride=(1, 1)):
    oh, ow = (H + 2 - 3) // stride[0] + 1, (W + 2 - 3) // stride[1] + 1
    return net([A("x", (H, W, CIN)), C("w", rng.normal(size=(1, 3, 3, CIN * m))),
                C("b", rng.normal(size=CIN * m) * 0.1), A("y", (oh, ow, CIN * m))],
               [Op("depthwise_conv2d", ("x", "w", "b"), ("y",),
                   {"strides": stride, "dilation": (1, 1), "padding": ((1, 1), (1, 1)),
                    "multiplier": m, "activation": act})])


def _pool_case(kind, pool, strides, pad, out_hw):
    return net([A("x", (H, W, CIN)), A("y", (*out_hw, CIN))],
               [Op(kind, ("x",), ("y",), {"pool": pool, "strides": strides,
                                          "padding": pad})])


def _two_branch(kind, act="linear"):
    wa, wb = rng.normal(size=(6, 5)), rng.normal(size=(6, 5)) * 3
    out = 12 if kind == "concat" else 6
    attrs = {"axis": 0} if kind == "concat" else {"activation": act}
    return net([A("x", (5,)), C("wa", wa), C("ba", np.zeros(6)), C("wb", wb),
                C("bb", np.ones(6)), A("a", (6,)), A("b", (6,)), A("y", (out,))],
               [Op("dense", ("x", "wa", "ba"), ("a",), {"activation": "linear"}),
                Op("dense", ("x", "wb", "bb"), ("b",), {"activation": "linear"}),
                Op(kind, ("a", "b"), ("y",), attrs)])


def _act_case(act, alpha=0.2):
    return net([A("x", (6,)), A("y", (6,))],
               [Op("activation", ("x",), ("y",), {"activation": act, "alpha": alpha})])


def _mlp_softmax():
    return net([A("x", (8,)), C("w1", rng.normal(size=(16, 8))), C("b1", rng.normal(size=16)),
                A("h", (16,)), C("w2", rng.normal(size=(5, 16))), C("b2", np.zeros(5)),
                A("z", (5,)), A("y", (5,))],
               [Op("dense", ("x", "w1", "b1"), ("h",), {"activation": "relu"}),
                Op("dense", ("h", "w2", "b2"), ("z",), {"activation": "linear"}),
                Op("softmax", ("z",), ("y",), {"beta": 1.0})], kind="classifier")


CASES = {
    "conv2d_same_relu": lambda: _conv_case(((1, 1), (1, 1)), (1, 1), "relu"),
    "conv2d_stride2_relu6": lambda: _conv_case(((0, 1), (0, 1)), (2, 2), "relu6"),
    "conv2d_valid_dilated": lambda: _conv_case(((0, 0), (0, 0)), (1, 1), "linear", (2, 1)),
    "depthwise_m1": lambda: _dw_case(1, "relu6"),
    "depthwise_m2_stride2": lambda: _dw_case(2, "linear", (2, 2)),
    "max_pool2d": lambda: _pool_case("max_pool2d", (2, 2), (2, 2), ((0, 1), (0, 0)), (4, 3)),
    "avg_pool2d_same": lambda: _pool_case("avg_pool2d", (3, 3), (2, 2), ((1, 1), (0, 1)),
                                          (4, 3)),
    "global_avg_pool": lambda: net([A("x", (H, W, CIN)), A("y", (CIN,))],
                                   [Op("global_avg_pool", ("x",), ("y",), {})]),
    "pad": lambda: net([A("x", (H, W, CIN)), A("y", (H + 3, W + 1, CIN))],
                       [Op("pad", ("x",), ("y",), {"padding": ((1, 2), (0, 1))})]),
    "add": lambda: _two_branch("add"),
    "add_relu": lambda: _two_branch("add", "relu"),
    "mul": lambda: _two_branch("mul"),
    "concat": lambda: _two_branch("concat"),
    "sigmoid": lambda: _act_case("sigmoid"),
    "tanh": lambda: _act_case("tanh"),
    "relu": lambda: _act_case("relu"),
    "relu6": lambda: _act_case("relu6"),
    "leaky_relu": lambda: _act_case("leaky_relu", 0.1),
    "hard_swish": lambda: _act_case("hard_swish"),
    # no kernel of its own: an ADD of 3 with relu6, then a MUL by 1/6 (TensorFlow's ops)
    "hard_sigmoid": lambda: _act_case("hard_sigmoid"),
    "swish": lambda: _act_case("swish"),  # a LOGISTIC, then a MUL by its input
    "dense_softmax": _mlp_softmax,
    "concat_requantized": lambda: net(
        [A("x", (5,)), C("wa", rng.normal(size=(6, 5)) * 3), C("ba", np.zeros(6)),
         C("wb", rng.normal(size=(4, 5))), C("bb", np.zeros(4)), A("a", (6,)), A("b", (4,)),
         A("s", (4,)), A("y", (10,))],
        [Op("dense", ("x", "wa", "ba"), ("a",), {"activation": "linear"}),
         Op("dense", ("x", "wb", "bb"), ("b",), {"activation": "linear"}),
         Op("activation", ("b",), ("s",), {"activation": "sigmoid"}),
         Op("concat", ("a", "s"), ("y",), {"axis": 0})]),
    "scale_shift_per_channel": lambda: net(
        [A("x", (4, 5, 3)), C("a", rng.normal(size=3)), C("b", rng.normal(size=3)),
         A("y", (4, 5, 3))], [Op("scale_shift", ("x", "a", "b"), ("y",), {})]),
    "scale_shift_scalar": lambda: net(
        [A("x", (6,)), C("a", [1 / 255.0]), C("b", [-1.0]), A("y", (6,))],
        [Op("scale_shift", ("x", "a", "b"), ("y",), {})]),
    "reshape_dense_sigmoid": lambda: net(
        [A("x", (2, 3, 2)), A("f", (12,)), C("w", rng.normal(size=(3, 12))),
         C("b", np.zeros(3)), A("y", (3,))],
        [Op("reshape", ("x",), ("f",), {}),
         Op("dense", ("f", "w", "b"), ("y",), {"activation": "sigmoid"})]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_op_bit_exact_with_tflm(case):
    ir = CASES[case]()
    n = ir.n_features
    X = (rng.normal(size=(160, n)) * 2.5 + 0.3).astype(np.float32)
    check_bit_exact(ir, X)


def test_small_cnn_end_to_end():
    """conv -> depthwise -> max pool -> conv -> global average -> dense -> softmax."""
    ts = [A("x", (12, 10, 1)), C("w1", rng.normal(size=(6, 3, 3, 1))), C("b1", np.zeros(6)),
          A("c1", (12, 10, 6)), C("w2", rng.normal(size=(1, 3, 3, 6)) * 0.5),
          C("b2", rng.normal(size=6) * 0.1), A("c2", (12, 10, 6)), A("p", (6, 5, 6)),
          C("w3", rng.normal(size=(8, 3, 3, 6)) * 0.3), C("b3", rng.normal(size=8) * 0.1),
          A("c3", (3, 3, 8)), A("g", (8,)), C("w4", rng.normal(size=(4, 8))),
          C("b4", np.zeros(4)), A("z", (4,)), A("y", (4,))]
    ops = [Op("conv2d", ("x", "w1", "b1"), ("c1",), {"strides": (1, 1), "dilation": (1, 1),
                                                      "padding": ((1, 1), (1, 1)),
                                                      "activation": "relu"}),
           Op("depthwise_conv2d", ("c1", "w2", "b2"), ("c2",),
              {"strides": (1, 1), "dilation": (1, 1), "padding": ((1, 1), (1, 1)),
               "multiplier": 1, "activation": "relu6"}),
           Op("max_pool2d", ("c2",), ("p",), {"pool": (2, 2), "strides": (2, 2),
                                              "padding": ((0, 0), (0, 0))}),
           Op("conv2d", ("p", "w3", "b3"), ("c3",), {"strides": (2, 2), "dilation": (1, 1),
                                                     "padding": ((1, 1), (1, 1)),
                                                     "activation": "relu"}),
           Op("global_avg_pool", ("c3",), ("g",), {}),
           Op("dense", ("g", "w4", "b4"), ("z",), {"activation": "linear"}),
           Op("softmax", ("z",), ("y",), {"beta": 1.0})]
    ir = net(ts, ops, kind="classifier")
    X = rng.normal(size=(100, 120)).astype(np.float32)
    q = check_bit_exact(ir, X)
    # agreement with the float model
    f = run_float(ir, X)
    assert (f.argmax(1) == run_int8(q, X).argmax(1)).mean() >= 0.9
    assert np.abs(f - run_int8(q, X)).max() < 0.1


# --- fixed-point primitives -----------------------------------------------------------

def test_fixed_point_primitives():
    assert quantize_multiplier(0.5) == (1 << 30, 0)
    assert quantize_multiplier(1.0) == (1 << 30, 1)
    assert quantize_multiplier(0.0) == (0, 0)
    m, s = quantize_multiplier(1e-12)  # below 2**-31: flushed to zero
    assert (m, s) == (0, 0)
    m, s = quantize_multiplier(0.3)
    assert (1 << 30) <= m < (1 << 31) and abs(m * 2.0 ** (s - 31) - 0.3) < 1e-9
    assert srdhm(-(1 << 31), -(1 << 31)) == (1 << 31) - 1
    assert list(rdbpot(np.array([5, -5, 6, -6, 7]), 1)) == [3, -3, 3, -3, 4]
    # mbqm approximates x * real within one unit
    x = np.arange(-5000, 5000, 7)
    np.testing.assert_allclose(mbqm(x, m, s), x * 0.3, atol=1.0)


_REQUANT_C = r"""
#include "ml_nets_int8.h"
#include <string.h>
#ifdef RQ_FIRMWARE
#include "mlh_app.h"
#else
#include <stdio.h>
#include <stdlib.h>
#endif

static uint64_t rng_s = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void)
{
    rng_s ^= rng_s << 13;
    rng_s ^= rng_s >> 7;
    rng_s ^= rng_s << 17;
    return (uint32_t)(rng_s >> 16);
}

/* ml_nets_q7__out (its one-rounding fast path for shift <= -2 and a normalised
 * multiplier) against TFLite's two roundings (ml_nets_q_mbqm), on random multipliers
 * (2^30 and 2^31 - 1 included), shifts -1..-31, zero points and accumulators: full-range
 * ones, small ones, and ones placed on and next to the rounding ties of both steps. */
static long run(long n)
{
    long bad = 0, i;
    int32_t bias = 0, mult = 0, shift = 0;
    ml_nets_q7_op_t op;
    memset(&op, 0, sizeof op);
    op.bias = &bias;
    op.mult = &mult;
    op.shift = &shift;
    op.act_min = -128;
    op.act_max = 127;
    for (i = 0; i < n; i++) {
        const uint32_t kind = rnd() % 4u;
        int32_t x, e, want, got;
        mult = kind == 0u ? 0x40000000 : (kind == 1u ? 0x7fffffff - (int32_t)(rnd() % 256u)
                                                     : 0x40000000 + (int32_t)(rnd() & 0x3fffffffu));
        shift = -1 - (int32_t)(rnd() % 31u);
        e = -shift;
        op.out_zp = (int32_t)(rnd() % 256u) - 128;
        bias = (int32_t)(rnd() % 2001u) - 1000;
        switch (rnd() % 4u) {
        case 0u: /* anywhere (mostly saturated) */
            x = (int32_t)(rnd() ^ (rnd() << 16)) / 2;
            break;
        case 1u: /* small */
            x = (int32_t)(rnd() % 131072u) - 65536;
            break;
        case 2u: { /* on / next to a tie of the final rounding: h = k 2^e + 2^(e-1) */
            const int64_t k = (int64_t)(rnd() % 601u) - 300;
            const int64_t h = (k << e) + (e > 0 ? ((int64_t)1 << (e - 1)) : 0);
            const int64_t t = (h * ((int64_t)1 << 31)) / mult;
            x = (int32_t)(t > 0x3fffffff ? 0x3fffffff : (t < -0x3fffffff ? -0x3fffffff : t)) +
                (int32_t)(rnd() % 5u) - 2;
            break;
        }
        default: /* tiny, where h = 0 and x = -1, m = 2^30 */
            x = (int32_t)(rnd() % 9u) - 4;
            break;
        }
#ifdef RQ_BOUNDED /* an op whose rq_right promises |accumulator + bias| < 2^30 */
        x = x > 0x3fffffff ? 0x3fffffff : (x < -0x3fffffff ? -0x3fffffff : x);
#endif
#ifdef RQ_CLAMP /* a fused activation's narrower clamp (relu: [zp, 127], relu6...) */
        op.act_min = (int32_t)(rnd() % 2u) ? op.out_zp : -128 + (int32_t)(rnd() % 64u);
        op.act_max = (int32_t)(rnd() % 2u) ? 127 : op.act_min + (int32_t)(rnd() % 128u);
        op.act_max = op.act_max > 127 ? 127 : op.act_max;
#endif
        x -= bias;
        want = ml_nets_q_sat8(ml_nets_q_mbqm(x + bias, mult, shift) + op.out_zp, op.act_min,
                              op.act_max);
        got = ml_nets_q7__out(&op, x, 0);
        if (got != want && bad++ < 10) {
#ifdef RQ_FIRMWARE
            mlh_put_int("x=", x + bias);
            mlh_put_int(" m=", mult);
            mlh_put_int(" shift=", shift);
            mlh_put_int(" got=", got);
            mlh_put_int(" want=", want);
            mlh_puts("\n");
#else
            printf("x=%ld m=%ld shift=%ld zp=%ld: %d != %d\n", (long)(x + bias), (long)mult,
                   (long)shift, (long)op.out_zp, (int)got, (int)want);
#endif
        }
    }
    return bad;
}

#ifdef RQ_FIRMWARE
int main(void)
{
    const long n = RQ_FIRMWARE;
    const long bad = run(n);
    mlh_put_int("rq ", (int32_t)n);
    mlh_put_int(" ", (int32_t)bad);
    mlh_puts("\n");
    return 0;
}
#else
int main(int argc, char **argv)
{
    const long n = argc > 1 ? atol(argv[1]) : 1000000L;
    printf("%ld %ld\n", n, run(n));
    return 0;
}
#endif
"""


def test_fast_requantization_equals_mbqm(tmp_path):
    """The int8 kernels' requantization (ml_nets_q7__out, one rounding for the usual right
    shifts) equals TFLite's MultiplyByQuantizedMultiplier with its two roundings followed by
    the zero point and the clamp, on 3 million accumulators aimed at both roundings' ties."""
    import subprocess

    from microlearn.host_build import RUNTIME_DIR

    src = tmp_path / "rq.c"
    src.write_text(_REQUANT_C)
    exe = tmp_path / "rq"
    subprocess.run(["cc", "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-I",
                    str(RUNTIME_DIR), str(src), "-o", str(exe)], check=True)
    out = subprocess.run([str(exe), "3000000"], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out[-2:] == ["3000000", "0"], out


_SOFTMAX_ARGMAX_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include "ml_nets_int8.h"

static uint32_t seed = 12345u;
static uint32_t rnd(void)
{
    seed = seed * 1664525u + 1013904223u;
    return seed >> 8;
}

/* PARAMS: {mult, shift, diff_min} of softmax ops over a range of input scales */
static const int32_t params[][3] = {PARAMS};

int main(void)
{
    static const int32_t depths[] = {1, 2, 3, 4, 10, 16, 17, 40, 100, 240};
    int8_t x[240], y[240];
    long bad = 0, decided = 0, undecided = 0, out_ties = 0, rows = 0;
    size_t p, it;
    for (p = 0; p < sizeof params / sizeof params[0]; p++) {
        for (it = 0; it < 3000; it++) {
            const int32_t depth = depths[rnd() % 10u];
            const int32_t spread = 1 + (int32_t)(rnd() % 8u); /* near ties: small gaps */
            const int32_t top = (int32_t)(rnd() % 256u) - 128;
            ml_nets_q7_op_t op;
            int32_t c, want = 0, first = 0, got;
            memset(&op, 0, sizeof op);
            op.kind = ML_NETS_Q7_SOFTMAX;
            op.g[0] = 1;
            op.g[1] = depth;
            op.m0 = params[p][0];
            op.s0 = params[p][1];
            op.m1 = params[p][2];
            for (c = 0; c < depth; c++) {
                int32_t v = rnd() % 4u == 0u ? (int32_t)(rnd() % 256u) - 128
                                             : top - (int32_t)(rnd() % (uint32_t)spread);
                x[c] = (int8_t)(v < -128 ? -128 : v);
                if (x[c] > x[first]) {
                    first = c;
                }
            }
            ml_nets_q7_softmax(&op, x, y);
            for (c = 1; c < depth; c++) {
                if (y[c] > y[want]) {
                    want = c;
                }
            }
            got = ml_nets_q7_softmax_argmax(&op, x);
            rows++;
            out_ties += want != first;
            if (got < 0) {
                undecided++;
            } else {
                decided++;
                if (got != want && bad++ < 10) {
                    printf("params %d depth %d: %d != %d\n", (int)p, (int)depth, (int)got,
                           (int)want);
                }
            }
        }
    }
    printf("%ld %ld %ld %ld %ld\n", rows, bad, decided, undecided, out_ties);
    return 0;
}
"""


def test_softmax_argmax_shortcut_equals_softmax(tmp_path):
    """``P__predict`` of an int8 classifier ending in a softmax takes the class from the
    softmax's input (``ml_nets_q7_softmax_argmax``) when no earlier class can round to the
    same output byte, else runs the softmax: on 90,000 rows of 1-240 classes with near
    ties (gaps of 0-7 steps) over 30 input scales, every decided class is the softmax's
    first maximum; rows whose softmax output ties where the input does not exist and are
    left undecided (17,730); most rows are decided (63,436)."""
    import subprocess

    from microlearn.families.nets.quantize import quantize_multiplier
    from microlearn.host_build import RUNTIME_DIR

    params = []
    for si in np.geomspace(1e-4, 4.0, 30):
        m, s = quantize_multiplier(min(float(si) * float(1 << 26), float((1 << 31) - 1)))
        params.append((m, s, -int(np.floor(31.0 * float(1 << 26) / float(1 << s)))))
    src = tmp_path / "sm.c"
    src.write_text(_SOFTMAX_ARGMAX_C.replace(
        "PARAMS", ", ".join(f"{{{m}, {s}, {d}}}" for m, s, d in params)))
    exe = tmp_path / "sm"
    subprocess.run(["cc", "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-I",
                    str(RUNTIME_DIR), str(src), "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    rows, bad, decided, undecided, out_ties = map(int, out.split()[-5:])
    assert rows == 90_000 and bad == 0, out
    assert out_ties > 100 and undecided >= out_ties, out
    assert decided > 0.65 * rows, out  # 70.5%: these rows are near ties by design


def _m4f_check(tmp_path, source: str, tag: str, defines=(), extra=()) -> tuple[int, int]:
    """Build a check firmware (C source printing "<tag> <n> <bad>", with the C sources
    ``extra`` beside it) for the emulated Cortex-M4F, run it and return (values checked,
    mismatches)."""
    import re

    from microlearn import targets

    reason = targets.unavailable_reason("cortex-m4f")
    if reason:
        pytest.skip(reason)
    src = tmp_path / f"{tag}.c"
    src.write_text(source)
    srcs = [src]
    for i, text in enumerate(extra):
        srcs.append(tmp_path / f"{tag}_{i}.c")
        srcs[-1].write_text(text)
    run = targets.run_app("cortex-m4f", srcs, tmp_path / "fw", defines=list(defines))
    got = re.search(rf"{tag} (\d+) (\d+)", run.console)
    assert got, run.console
    print(run.console)  # the first mismatches, when there are some
    return int(got[1]), int(got[2])


@pytest.mark.parametrize("rq_right,defines", [
    (1, []), (1, ["RQ_CLAMP"]), (3, ["RQ_BOUNDED"]), (3, ["RQ_BOUNDED", "RQ_CLAMP"]),
    (2, [])])  # bit 1 without bit 0 (a hand-made op table): ignored, no shortcut taken
def test_requantization_on_emulated_cortex_m4f_equals_mbqm(tmp_path, rq_right, defines):
    """On Cortex-M4F the kernels requantize with SMMULR and one shift (the op's shifts all
    right shifts; the accumulator within +-2^30, tested per output or, rq_right = 3,
    known for the op), the rounding as ((h - [h < 0]) >> (e - 1) + 1) >> 1 and the clamp
    as one SSAT when it is the int8 range; the same accumulators, aimed at both roundings'
    ties, give TFLite's two-rounding MultiplyByQuantizedMultiplier, its zero point and
    the clamp (the int8 range, or a fused activation's narrower one) there."""
    # ml_nets_q7__out takes op->rq_right as the kernels do (set for the whole op)
    source = _REQUANT_C.replace("op.act_max = 127;",
                                f"op.act_max = 127;\n    op.rq_right = {rq_right};")
    assert _m4f_check(tmp_path, source, "rq", ["RQ_FIRMWARE=200000", *defines]) == \
        (200_000, 0)


# the check firmwares' common start: the runtime, the semihosting output, a xorshift32
# generator rnd() seeded by RNG_SEED
_CHECK_PRELUDE = r"""
#include "ml_nets_int8.h"
#include "mlh_app.h"
#include <string.h>

static uint32_t rng_s = RNG_SEED;
static uint32_t rnd(void)
{
    rng_s ^= rng_s << 13;
    rng_s ^= rng_s >> 17;
    rng_s ^= rng_s << 5;
    return rng_s;
}
"""


_QUANT_C = _CHECK_PRELUDE.replace("RNG_SEED", "0x12345678u") + r"""
/* ml_nets_q7_quantize (on Cortex-M4F: VCVT in assembly) against the portable
 * ml_nets_q7__quantize1 on random bit patterns (NaN, inf, subnormals, huge values), values
 * at and next to the rounding ties k + 1/2 and at +-(1/2 - 2^-25), for random scales and
 * zero points. */
int main(void)
{
    static float x[256];
    static int8_t y[256];
    const float special[] = {0.5f, -0.5f, 0.49999997f, -0.49999997f, 1.5f, -2.5f, 0.0f,
                             -0.0f, 8388607.5f, 2147483648.0f, -2147483648.0f, 3e38f,
                             -3e38f, 1e-45f, 127.5f, -128.5f, 126.49999f};
    ml_nets_q7_op_t op;
    long bad = 0, n = 0;
    int32_t it, i;
    memset(&op, 0, sizeof op);
    op.g[0] = 256;
    for (it = 0; it < 400; it++) {
        const uint32_t k = rnd() % 3u;
        float bits_scale;
        uint32_t u = 0x3c000000u + (rnd() % 0x06000000u); /* scales ~ 2^-7 .. 2^5 */
        memcpy(&bits_scale, &u, 4);
        op.scale = k == 0u ? 1.0f : bits_scale;
        op.out_zp = (int32_t)(rnd() % 256u) - 128;
        for (i = 0; i < 256; i++) {
            const uint32_t c = rnd() % 4u;
            if (c == 0u) {
                u = rnd();
                memcpy(&x[i], &u, 4);
            } else if (c == 1u) {
                x[i] = special[rnd() % (uint32_t)(sizeof special / sizeof special[0])];
            } else if (c == 2u) { /* a tie of x / scale, and its neighbours */
                const float t = (float)((int32_t)(rnd() % 601u) - 300) + 0.5f;
                x[i] = t * op.scale;
                u = (uint32_t)(rnd() % 3u);
                if (u != 0u) {
                    uint32_t b;
                    memcpy(&b, &x[i], 4);
                    b = u == 1u ? b + 1u : b - 1u;
                    memcpy(&x[i], &b, 4);
                }
            } else {
                x[i] = (float)((int32_t)(rnd() % 2001u) - 1000) * 0.37f;
            }
        }
        ml_nets_q7_quantize(&op, x, y);
        for (i = 0; i < 256; i++) {
            n++;
            if (y[i] != ml_nets_q7__quantize1(x[i], op.scale, op.out_zp) && bad++ < 5) {
                uint32_t b;
                memcpy(&b, &x[i], 4);
                mlh_put_int("bits=", (int32_t)b);
                mlh_put_int(" got=", y[i]);
                mlh_puts("\n");
            }
        }
    }
    mlh_put_int("q ", (int32_t)n);
    mlh_put_int(" ", (int32_t)bad);
    mlh_puts("\n");
    return 0;
}
"""


def test_input_quantization_on_emulated_cortex_m4f(tmp_path):
    """The float input's quantization (VCVT in assembly on Cortex-M4F) equals the portable
    rounding half away from zero, zero point and int8 saturation, for NaN, +-inf, huge,
    subnormal and tie values (x / scale = k + 1/2 and its neighbours)."""
    assert _m4f_check(tmp_path, _QUANT_C, "q") == (102_400, 0)


_POOL_C = _CHECK_PRELUDE.replace("RNG_SEED", "0x2545F491u") + r"""
/* MAX_POOL (on Cortex-M4F: four channels per SSUB8 / SEL, the clamp too) against plain
 * loops, for windows with padding, clamps narrower than int8 and channel counts that
 * leave a remainder. */
int main(void)
{
    static int8_t x[7 * 6 * 11], y[4 * 3 * 11];
    ml_nets_q7_op_t op;
    long bad = 0, n = 0;
    int32_t it, i;
    memset(&op, 0, sizeof op);
    op.kind = ML_NETS_Q7_MAX_POOL;
    for (it = 0; it < 300; it++) {
        const int32_t c_n = 4 + (int32_t)(rnd() % 8u), k = 2 + (int32_t)(rnd() % 2u);
        int32_t oy, ox, c;
        op.g[ML_NETS_G_IN_H] = 7;
        op.g[ML_NETS_G_IN_W] = 6;
        op.g[ML_NETS_G_IN_C] = c_n;
        op.g[ML_NETS_G_OUT_C] = c_n;
        op.g[ML_NETS_G_K_H] = k;
        op.g[ML_NETS_G_K_W] = k;
        op.g[ML_NETS_G_S_H] = 2;
        op.g[ML_NETS_G_S_W] = 2;
        op.g[ML_NETS_G_PAD_T] = (int32_t)(rnd() % 2u);
        op.g[ML_NETS_G_PAD_L] = (int32_t)(rnd() % 2u);
        op.g[ML_NETS_G_OUT_H] = 4;
        op.g[ML_NETS_G_OUT_W] = 3;
        op.act_min = it % 3 == 0 ? -128 : (int32_t)(rnd() % 100u) - 110;
        op.act_max = it % 3 == 0 ? 127 : (int32_t)(rnd() % 100u) + 20;
        for (i = 0; i < 7 * 6 * c_n; i++) {
            x[i] = (int8_t)(uint8_t)rnd();
        }
        ml_nets_q7_pool(&op, x, y);
        for (oy = 0; oy < 4; oy++) {
            for (ox = 0; ox < 3; ox++) {
                for (c = 0; c < c_n; c++) {
                    int32_t mx = -1000, ky, kx, v;
                    for (ky = 0; ky < k; ky++) {
                        for (kx = 0; kx < k; kx++) {
                            const int32_t iy = oy * 2 - op.g[ML_NETS_G_PAD_T] + ky;
                            const int32_t ix = ox * 2 - op.g[ML_NETS_G_PAD_L] + kx;
                            if (iy >= 0 && iy < 7 && ix >= 0 && ix < 6) {
                                v = x[(iy * 6 + ix) * c_n + c];
                                mx = v > mx ? v : mx;
                            }
                        }
                    }
                    mx = mx < op.act_min ? op.act_min : (mx > op.act_max ? op.act_max : mx);
                    n++;
                    if (y[(oy * 3 + ox) * c_n + c] != mx && bad++ < 5) {
                        mlh_put_int("c_n=", c_n);
                        mlh_put_int(" got=", y[(oy * 3 + ox) * c_n + c]);
                        mlh_put_int(" want=", mx);
                        mlh_puts("\n");
                    }
                }
            }
        }
    }
    mlh_put_int("p ", (int32_t)n);
    mlh_put_int(" ", (int32_t)bad);
    mlh_puts("\n");
    return 0;
}
"""


def test_max_pool_on_emulated_cortex_m4f(tmp_path):
    """Max pooling (on Cortex-M4F four channels per SSUB8 / SEL, the clamp too) equals
    plain loops: padded windows, clamps narrower than int8, channel remainders."""
    n, bad = _m4f_check(tmp_path, _POOL_C, "p")
    assert n > 20_000 and bad == 0


def test_choose_qparams_includes_zero():
    s, z = choose_qparams(1.0, 3.0)  # widened to [0, 3]
    assert z == -128 and np.isclose(s, 3 / 255)
    s, z = choose_qparams(-2.0, -1.0)  # widened to [-2, 0]
    assert z == 127
    s, z = choose_qparams(0.0, 0.0)
    assert s > 0


# --- TFLite files: round trip, files built by TFLM's own model builder ------------------

def test_write_read_roundtrip():
    ir = quantize_net(_mlp_softmax(), rng.normal(size=(50, 8)))
    b1 = write_tflite(ir)
    r = read_tflite(b1)
    assert r.kind == "classifier" and r.quantized
    assert [o.kind for o in r.ops] == [o.kind for o in ir.ops]
    b2 = write_tflite(r)
    assert b2 == b1
    X = rng.normal(size=(40, 8)).astype(np.float32)
    np.testing.assert_array_equal(run_int8(r, X), run_int8(ir, X))
    np.testing.assert_array_equal(compile_int8(r)(X), run_int8(ir, X))


def _editor():
    from tflite_micro.tensorflow.lite.micro.compression import model_editor as me
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as s
    return me, s


def test_read_model_editor_int8_cnn(tmp_path):
    """An int8 model written by TFLM's model builder (SAME padding, int8 input and output,
    a FULLY_CONNECTED without bias and per-tensor weights) -> our C == TFLM."""
    me, s = _editor()
    T = s.TensorType
    q = me.Quantization
    wc = rng.integers(-127, 128, size=(4, 3, 3, 2)).astype(np.int8)
    bc = rng.integers(-500, 500, size=4).astype(np.int32)
    wf = rng.integers(-127, 128, size=(3, 16)).astype(np.int8)
    x = me.Tensor(shape=(1, 4, 4, 2), dtype=T.INT8, name="in",
                  quantization=q(0.05, 3))
    c = me.Tensor(shape=(1, 2, 2, 4), dtype=T.INT8, name="conv", quantization=q(0.1, -5))
    f = me.Tensor(shape=(1, 16), dtype=T.INT8, name="flat", quantization=q(0.1, -5))
    y = me.Tensor(shape=(1, 3), dtype=T.INT8, name="out", quantization=q(0.4, 2))
    wct = me.Tensor(shape=wc.shape, dtype=T.INT8, data=wc, name="wc",
                    quantization=q([0.01, 0.02, 0.015, 0.03], [0, 0, 0, 0], axis=0))
    bct = me.Tensor(shape=(4,), dtype=T.INT32, data=bc, name="bc",
                    quantization=q([5e-4, 1e-3, 7.5e-4, 1.5e-3], [0, 0, 0, 0], axis=0))
    wft = me.Tensor(shape=wf.shape, dtype=T.INT8, data=wf, name="wf", quantization=q(0.02, 0))
    shp = me.Tensor(shape=(2,), dtype=T.INT32, data=np.array([1, 16], np.int32), name="shp")
    conv_opt = s.Conv2DOptionsT()
    conv_opt.padding = s.Padding.SAME
    conv_opt.strideW = conv_opt.strideH = 2
    conv_opt.fusedActivationFunction = s.ActivationFunctionType.RELU
    ops = [me.Operator(opcode=s.BuiltinOperator.CONV_2D, inputs=[x, wct, bct], outputs=[c]),
           me.Operator(opcode=s.BuiltinOperator.RESHAPE, inputs=[c, shp], outputs=[f]),
           me.Operator(opcode=s.BuiltinOperator.FULLY_CONNECTED, inputs=[f, wft, None],
                       outputs=[y])]
    ops[0]._fb.builtinOptionsType = s.BuiltinOptions.Conv2DOptions
    ops[0]._fb.builtinOptions = conv_opt
    fc_opt = s.FullyConnectedOptionsT()
    ops[2]._fb.builtinOptionsType = s.BuiltinOptions.FullyConnectedOptions
    ops[2]._fb.builtinOptions = fc_opt
    model = me.Model(subgraphs=[me.Subgraph(tensors=[x, c, f, y, wct, bct, wft, shp],
                                            operators=ops, inputs=[x], outputs=[y])])
    data = bytes(model.build())
    path = tmp_path / "cnn.tflite"
    path.write_bytes(data)
    ir = read_tflite(path)
    assert ir.quantized and ir.kind == "regressor"
    assert [o.kind for o in ir.ops] == ["conv2d", "reshape", "dense"]
    assert ir.ops[0].attrs["padding"] == ((0, 1), (0, 1))
    # TFLM on int8 input; ours takes float and quantizes with the input parameters
    xq = rng.integers(-128, 128, size=(60, 32)).astype(np.int8)
    xf = ((xq.astype(np.float32) - 3) * np.float32(0.05)).astype(np.float32)
    out = []
    for row in xq:
        it = runtime.Interpreter.from_bytes(data, arena_size=ARENA)
        it.set_input(row.reshape(1, 4, 4, 2), 0)
        it.invoke()
        out.append(it.get_output(0).reshape(-1))
    tflm = (np.array(out).astype(np.float32) - 2) * np.float32(0.4)
    np.testing.assert_array_equal(compile_int8(ir)(xf), tflm)


def test_read_float_model_matches_tflm():
    me, s = _editor()
    T = s.TensorType
    w = rng.normal(size=(5, 4)).astype(np.float32)
    b = rng.normal(size=5).astype(np.float32)
    x = me.Tensor(shape=(1, 4), dtype=T.FLOAT32, name="x")
    h = me.Tensor(shape=(1, 5), dtype=T.FLOAT32, name="h")
    y = me.Tensor(shape=(1, 5), dtype=T.FLOAT32, name="y")
    wt = me.Tensor(shape=w.shape, dtype=T.FLOAT32, data=w, name="w")
    bt = me.Tensor(shape=b.shape, dtype=T.FLOAT32, data=b, name="b")
    fc = me.Operator(opcode=s.BuiltinOperator.FULLY_CONNECTED, inputs=[x, wt, bt],
                     outputs=[h])
    fc._fb.builtinOptionsType = s.BuiltinOptions.FullyConnectedOptions
    fc._fb.builtinOptions = s.FullyConnectedOptionsT()
    fc._fb.builtinOptions.fusedActivationFunction = s.ActivationFunctionType.RELU
    sm = me.Operator(opcode=s.BuiltinOperator.SOFTMAX, inputs=[h], outputs=[y])
    sm._fb.builtinOptionsType = s.BuiltinOptions.SoftmaxOptions
    sm._fb.builtinOptions = s.SoftmaxOptionsT()
    sm._fb.builtinOptions.beta = 1.0
    data = bytes(me.Model(subgraphs=[me.Subgraph(tensors=[x, h, y, wt, bt], operators=[fc, sm],
                                                 inputs=[x], outputs=[y])]).build())
    ir = read_tflite(data)
    assert ir.kind == "classifier" and not ir.quantized
    assert ir.ops[0].attrs["activation"] == "relu"
    X = rng.normal(size=(20, 4)).astype(np.float32)
    out = np.array([tflm_run(data, r[None], (4,))[0] for r in X])
    np.testing.assert_allclose(run_float(ir, X), out, rtol=1e-5, atol=1e-6)
    # and the IR writes back to a file TFLM runs identically
    np.testing.assert_allclose(tflm_run(write_tflite(ir, batch=20), X, (4,)), out,
                               rtol=1e-6, atol=1e-7)


def test_unsupported_op_is_named():
    me, s = _editor()
    T = s.TensorType
    a = me.Tensor(shape=(1, 4), dtype=T.FLOAT32, name="a")
    b = me.Tensor(shape=(1, 4), dtype=T.FLOAT32, name="b")
    op = me.Operator(opcode=s.BuiltinOperator.EXP, inputs=[a], outputs=[b])
    data = bytes(me.Model(subgraphs=[me.Subgraph(tensors=[a, b], operators=[op], inputs=[a],
                                                 outputs=[b])]).build())
    with pytest.raises(ConversionError) as e:
        read_tflite(data)
    assert "builtin operator 47" in str(e.value) and "CONV_2D" in str(e.value)
    assert "FULLY_CONNECTED" in SUPPORTED_OPS
    with pytest.raises(ConversionError, match="not a .tflite"):
        read_tflite(b"\0" * 64)


def test_simd_path_on_emulated_cortex_m4f():
    """The SMLAD dot products (Cortex-M4F, QEMU) give the host's (portable) outputs."""
    import microlearn
    from microlearn import targets

    reason = targets.unavailable_reason("cortex-m4f")  # toolchain or QEMU missing
    if reason:
        pytest.skip(reason)
    ir = _conv_case(((1, 1), (1, 1)), (1, 1), "relu")
    X = rng.normal(size=(40, ir.n_features)).astype(np.float32)
    fb = write_tflite(ir)
    m = microlearn.convert(fb, quantize="int8", calibration=X)
    r = m.verify_on_target("cortex-m4f", X[:10])
    assert r.agreement == 1.0 and r.max_abs_diff == 0.0


def test_quantize_rejects_what_has_no_int8_kernel():
    ir = _act_case("elu")
    with pytest.raises(ConversionError, match="elu"):
        quantize_net(ir, rng.normal(size=(10, 6)))
    with pytest.raises(ValueError, match="calibration"):
        quantize_net(_act_case("relu"), rng.normal(size=(10, 5)))


def test_arena_smaller_than_tflm(capfd):
    """The int8 arena of the generated C against TFLM's arena (same model)."""
    ir = _conv_case(((1, 1), (1, 1)), (1, 1), "relu")
    q = quantize_net(ir, rng.normal(size=(50, H * W * CIN)))
    ours = arena_bytes_int8(q)
    it = runtime.Interpreter.from_bytes(write_tflite(q), arena_size=1 << 20)
    it.set_input(np.zeros((1, H, W, CIN), np.float32), 0)
    it.invoke()
    capfd.readouterr()
    it.print_allocations()
    err = capfd.readouterr().err
    import re
    m = re.search(r"Arena allocation total (\d+) bytes", err)
    assert m, err
    tflm = int(m.group(1))
    assert ours <= 0.6 * tflm, (ours, tflm)
    body, plan = c_body_int8(q, "m")
    assert plan.arena_bytes == ours and "m__run" in body


# --- integration: microlearn.convert ----------------------------------------------------

def test_save_tflite_is_what_tflm_runs_bit_exactly(tmp_path):
    """Model.save_tflite writes the quantized model; TFLite Micro running that file gives
    exactly the outputs of this model's C. Only single net models can be written."""
    from sklearn.tree import DecisionTreeClassifier

    import microlearn

    ir = _mlp_softmax()
    X = rng.normal(size=(60, 8)).astype(np.float32)
    model = microlearn.convert(write_tflite(ir), quantize="int8", calibration=X)
    path = model.save_tflite(tmp_path / "q.tflite")
    it = runtime.Interpreter.from_file(str(path), arena_size=ARENA)
    got = []
    for row in X:
        it.set_input(row.reshape(1, 8), 0)
        it.invoke()
        got.append(it.get_output(0).reshape(-1))
    np.testing.assert_array_equal(np.array(got), model.predict_proba(X))
    tree = microlearn.convert(DecisionTreeClassifier().fit(X, X[:, 0] > 0))
    with pytest.raises(TypeError, match="single neural-net"):
        tree.save_tflite(tmp_path / "t.tflite")


def test_convert_keras_int8_bit_exact_with_tflm(capfd):
    import keras

    import microlearn

    keras.utils.set_random_seed(0)
    m = keras.Sequential([
        keras.Input((8, 8, 1)),
        keras.layers.Conv2D(6, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.DepthwiseConv2D(3, padding="same", activation="relu"),
        keras.layers.Conv2D(8, 3, strides=2, activation="relu"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(4, activation="softmax")])
    X = rng.uniform(0, 1, size=(300, 64)).astype(np.float32)
    model = microlearn.convert(m, quantize="int8", calibration=X[:200])
    ir = model.steps[0].ir
    assert ir.quantized and "bit-exact with TensorFlow Lite Micro" in model.describe()
    rep = ir.quant_report
    assert rep["rows"] == 200 and rep["max_abs_diff"] < 0.1 and "argmax_agreement" in rep
    proba = model.predict_proba(X)
    tflm = tflm_run(write_tflite(ir, batch=len(X)), X, (8, 8, 1))
    np.testing.assert_array_equal(proba, tflm)
    np.testing.assert_array_equal(model.predict(X), tflm.argmax(axis=1))
    # agreement with the float conversion on rows it was not calibrated on
    f = microlearn.convert(m).predict_proba(X[200:])
    assert np.abs(f - proba[200:]).max() < 0.1
    # arena: ours against TFLM's total
    it = runtime.Interpreter.from_bytes(write_tflite(ir), arena_size=1 << 20)
    it.set_input(X[:1].reshape(1, 8, 8, 1), 0)
    it.invoke()
    capfd.readouterr()
    it.print_allocations()
    import re
    tflm_arena = int(re.search(r"Arena allocation total (\d+)", capfd.readouterr().err)[1])
    assert arena_bytes_int8(ir) <= 0.6 * tflm_arena


def _keras_int8_matches_tflm(m, shape, n_rows=200):
    """convert(quantize="int8"): the model's C (predict_proba) == TFLM on the written file."""
    import microlearn

    X = rng.uniform(-1, 1, size=(n_rows, int(np.prod(shape)))).astype(np.float32)
    model = microlearn.convert(m, quantize="int8", calibration=X[:150])
    ir = model.steps[0].ir
    assert ir.quantized and ir.quant_report["max_abs_diff"] < 0.1
    proba = model.predict_proba(X)
    np.testing.assert_array_equal(proba, tflm_run(write_tflite(ir, batch=len(X)), X, shape))
    np.testing.assert_array_equal(proba, compile_int8(ir)(X))
    return ir


def test_predict_equals_tflm_first_maximum_on_near_ties():
    """``predict`` of an int8 classifier whose softmax output ties often (20 classes whose
    logits differ by little): it skips the softmax only where the class is certain
    (ml_nets_q7_softmax_argmax), and gives TFLite Micro's first maximum on every row,
    including the rows where that differs from the first maximum of the logits."""
    import keras

    import microlearn

    keras.utils.set_random_seed(3)
    m = keras.Sequential([keras.Input((6,)), keras.layers.Dense(20, activation="softmax")])
    w, b = m.layers[0].get_weights()
    m.layers[0].set_weights([w * 0.02, b])  # logits within a few quantization steps
    X = rng.normal(size=(2000, 6)).astype(np.float32)
    model = microlearn.convert(m, quantize="int8", calibration=X[:200])
    ir = model.steps[0].ir
    tflm = tflm_run(write_tflite(ir, batch=len(X)), X, (6,))
    np.testing.assert_array_equal(model.predict_proba(X), tflm)
    got = model.predict(X)
    np.testing.assert_array_equal(got, tflm.argmax(axis=1))
    # rows where the softmax output ties its maximum with a class the logits rank lower
    ties = (tflm == tflm.max(axis=1, keepdims=True)).sum(axis=1) > 1
    assert ties.sum() > 50, ties.sum()


def test_convert_keras_separable_conv_int8_bit_exact_with_tflm():
    """SeparableConv2D: its depthwise half has no bias; the int8 path gives it a zero one."""
    import keras

    keras.utils.set_random_seed(1)
    m = keras.Sequential([
        keras.Input((8, 8, 2)),
        keras.layers.SeparableConv2D(5, 3, padding="same", depth_multiplier=2,
                                     activation="relu"),
        keras.layers.SeparableConv2D(4, 3, strides=2, use_bias=False),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(3, activation="softmax")])
    ir = _keras_int8_matches_tflm(m, (8, 8, 2))
    dw = [op for op in ir.ops if op.kind == "depthwise_conv2d"]
    assert len(dw) == 2 and all(len(op.inputs) == 3 for op in dw)


def test_convert_keras_concatenate_int8_bit_exact_with_tflm():
    """Two branches joined by Concatenate (channels axis, counted from the end); the
    sigmoid branch's fixed 1/256 scale differs from the shared one, so it is requantized."""
    import keras

    keras.utils.set_random_seed(2)
    x = keras.Input((6, 6, 1))
    a = keras.layers.Conv2D(3, 3, padding="same", activation="relu")(x)
    b = keras.layers.Conv2D(2, 1, activation="sigmoid")(x)
    c = keras.layers.Concatenate()([a, b])
    c = keras.layers.Conv2D(4, 3, strides=2, activation="relu")(c)
    y = keras.layers.Dense(3, activation="softmax")(keras.layers.Flatten()(c))
    ir = _keras_int8_matches_tflm(keras.Model(x, y), (6, 6, 1))
    cat = next(op for op in ir.ops if op.kind == "concat")
    assert cat.attrs["axis"] == 2
    assert any(op.kind == "quantize" and op.name == cat.name for op in ir.ops)


def test_convert_keras_broadcast_merges_int8_bit_exact_with_tflm():
    """Add / Multiply with a smaller operand that repeats (squeeze-and-excitation gates,
    the gate first or second, one value): the C gives TFLite Micro's outputs on the
    written file, whose MUL / ADD broadcast there (TFLite's BroadcastMul4DSlow /
    BroadcastAdd4DSlow) with the operands in the order of the IR."""
    import keras

    L = keras.layers
    keras.utils.set_random_seed(7)
    x = keras.Input((6, 6, 2))
    y = L.Conv2D(4, 3, padding="same", activation="swish")(x)  # LOGISTIC, MUL
    s = L.Dense(4, activation="sigmoid")(L.GlobalAveragePooling2D()(y))
    y = L.Multiply()([L.Reshape((1, 1, 4))(s), y])
    t = L.Dense(4)(L.GlobalMaxPooling2D()(y))
    y = L.Add()([y, L.Reshape((1, 1, 4))(t)])
    one = L.Dense(1, activation="hard_sigmoid")(L.GlobalAveragePooling2D()(y))
    y = L.Multiply()([y, L.Reshape((1, 1, 1))(one)])
    out = L.Dense(3, activation="softmax")(L.Flatten()(L.MaxPooling2D(2)(y)))
    ir = _keras_int8_matches_tflm(keras.Model(x, out), (6, 6, 2))
    T = ir.tensors
    bc = [op for op in ir.ops if op.kind in ("add", "mul")
          and T[op.inputs[1]].size < T[op.inputs[0]].size]
    assert sorted(T[op.inputs[1]].size for op in bc) == [1, 4, 4]
    # a file whose ADD / MUL take the smaller operand first (as other converters may
    # write it): read back in the IR's order, the C still gives TFLite Micro's outputs
    import copy

    import microlearn

    swapped = copy.deepcopy(ir)
    for op in swapped.ops:
        if op.kind in ("add", "mul") and T[op.inputs[1]].size < T[op.inputs[0]].size:
            op.inputs = (op.inputs[1], op.inputs[0])
    X = rng.uniform(-1, 1, size=(60, 72)).astype(np.float32)
    data = write_tflite(swapped, batch=len(X))
    back = microlearn.convert(data)
    np.testing.assert_array_equal(back.predict_proba(X), tflm_run(data, X, (6, 6, 2)))
    np.testing.assert_array_equal(back.predict_proba(X), compile_int8(ir)(X))
    # a broadcast along an inner axis is refused, naming the op
    inner = copy.deepcopy(ir)
    g = next(op for op in inner.ops
             if op.kind == "mul" and inner.tensors[op.inputs[1]].size == 4)
    t = inner.tensors[g.inputs[1]]  # the gate (1, 1, 4) made (6, 1, 1): an inner axis
    inner.tensors[t.name] = Tensor(t.name, (6, 1, 1), t.dtype, t.data, t.scale,
                                   t.zero_point)
    with pytest.raises(ConversionError, match="broadcasting is supported where"):
        microlearn.convert(write_tflite(inner, batch=1))


@pytest.mark.parametrize("case", ["rescale_same_conv", "normalize_dense",
                                  "normalize_valid_conv", "normalize_same_conv",
                                  "bn_valid_depthwise"])
def test_scale_shift_folded_into_the_next_op_int8(case, monkeypatch):
    """A Rescaling / Normalization / lone BatchNormalization whose only reader is a dense /
    conv / depthwise is folded into that op's weights and bias for int8 (no MUL / ADD over
    every element), except a shift before a padded conv (its padding is 0 after the
    shift); either way the C gives TFLite Micro's outputs on the written file, and the
    folded model is as close to Keras as the unfolded one (within one output step)."""
    import keras

    L = keras.layers
    keras.utils.set_random_seed(9)
    shape = (6, 5, 2)
    X = rng.uniform(0, 255, size=(120, 60)).astype(np.float32)
    norm = L.Normalization()
    norm.adapt(X.reshape(-1, *shape)[:100])
    head = [L.GlobalAveragePooling2D(), L.Dense(3, activation="softmax")]
    layers = {
        "rescale_same_conv": [L.Rescaling(1 / 255.0), L.Conv2D(4, 3, padding="same",
                                                               activation="relu"), *head],
        "normalize_dense": [norm, L.Flatten(), L.Dense(8, activation="relu"),
                            L.Dense(3, activation="softmax")],
        "normalize_valid_conv": [norm, L.Conv2D(4, 3, activation="relu"), *head],
        "normalize_same_conv": [norm, L.Conv2D(4, 3, padding="same"), *head],
        "bn_valid_depthwise": [L.Rescaling(1 / 128.0, offset=-1.0), L.BatchNormalization(),
                               L.DepthwiseConv2D(3, depth_multiplier=2, activation="relu"),
                               *head],
    }[case]
    m = keras.Sequential([keras.Input(shape), *layers])
    if case == "bn_valid_depthwise":
        bn = m.layers[1]
        bn.set_weights([rng.uniform(0.5, 2, 2), rng.normal(size=2), rng.normal(size=2) * 0.1,
                        rng.uniform(0.5, 2, 2)])
    import microlearn

    model = microlearn.convert(m, quantize="int8", calibration=X[:100].reshape(-1, *shape))
    ir = model.steps[0].ir
    kinds = [op.kind for op in ir.ops]
    folded = case != "normalize_same_conv"
    assert ("mul" in kinds) != folded and ("add" in kinds) != folded, kinds
    proba = model.predict_proba(X)
    np.testing.assert_array_equal(proba, tflm_run(write_tflite(ir, batch=len(X)), X, shape))
    np.testing.assert_array_equal(proba, compile_int8(ir)(X))
    ref = m.predict(X.reshape(-1, *shape), verbose=0)
    rep = ir.quant_report  # against the float model, on the 100 calibration rows
    assert rep["rows"] == 100
    assert abs(rep["max_abs_diff"] - np.abs(proba[:100] - ref[:100]).max()) < 1e-4
    # the same net quantized without the fold (MUL and ADD by the constants)
    from microlearn.families.nets import quantize as quantize_mod

    monkeypatch.setattr(quantize_mod, "_fold_scale_shifts", lambda ir: ir)
    plain = microlearn.convert(m, quantize="int8", calibration=X[:100].reshape(-1, *shape))
    assert "mul" in [op.kind for op in plain.steps[0].ir.ops]
    p_plain = plain.predict_proba(X)
    assert np.abs(proba - ref).max() <= np.abs(p_plain - ref).max() + 1 / 256
    same, same_plain = (proba.argmax(1) == ref.argmax(1)), (p_plain.argmax(1) == ref.argmax(1))
    assert same.mean() >= same_plain.mean() - 0.02 and same.mean() >= 0.95


def test_float_concat_written_and_read_back():
    """A Keras Concatenate (axis from the end) written as float .tflite concatenates the
    channels in TFLM; read back (axis from the start) its certified tolerance holds."""
    import keras

    import microlearn
    from microlearn.families.nets.convert import tolerance

    keras.utils.set_random_seed(4)
    x = keras.Input((5, 5, 1))
    c = keras.layers.Concatenate()([keras.layers.Conv2D(3, 3, padding="same")(x),
                                    keras.layers.Conv2D(2, 1)(x)])
    m = microlearn.convert(keras.Model(x, keras.layers.Dense(2)(keras.layers.Flatten()(c))))
    X = rng.normal(size=(20, 25)).astype(np.float32)
    data = write_tflite(m.ir, batch=len(X))
    np.testing.assert_allclose(tflm_run(data, X, (5, 5, 1)), m.predict(X), atol=1e-5)
    back = microlearn.convert(data)
    assert next(op for op in back.ir.ops if op.kind == "concat").attrs["axis"] == 2
    assert (np.abs(back.predict(X) - m.predict(X)) <= tolerance(back.ir, X)).all()


def test_float_broadcast_gate_written_and_read_back():
    """A float squeeze-and-excitation gate (Multiply of (1, 1, C) over (H, W, C)) written
    as float .tflite broadcasts in TFLM; read back, its certified tolerance holds."""
    import keras

    import microlearn
    from microlearn.families.nets.convert import tolerance

    L = keras.layers
    keras.utils.set_random_seed(8)
    x = keras.Input((5, 4, 2))
    y = L.Conv2D(3, 3, padding="same", activation="relu")(x)
    g = L.Reshape((1, 1, 3))(L.Dense(3, activation="sigmoid")(L.GlobalAveragePooling2D()(y)))
    y = L.Multiply()([g, y])
    m = microlearn.convert(keras.Model(x, L.Dense(2)(L.Flatten()(y))))
    X = rng.normal(size=(20, 40)).astype(np.float32)
    data = write_tflite(m.ir, batch=len(X))
    np.testing.assert_allclose(tflm_run(data, X, (5, 4, 2)), m.predict(X), atol=1e-5)
    back = microlearn.convert(data)
    mul = next(op for op in back.ir.ops if op.kind == "mul")
    assert back.ir.tensors[mul.inputs[1]].size == 3
    assert (np.abs(back.predict(X) - m.predict(X)) <= tolerance(back.ir, X)).all()


def test_convert_tflite_path_and_bytes(tmp_path):
    import microlearn

    ir = _mlp_softmax()
    X = rng.normal(size=(80, 8)).astype(np.float32)
    q = quantize_net(ir, X)
    path = tmp_path / "mlp.tflite"
    write_tflite(q, path)
    for src in (path, str(path), path.read_bytes()):
        m = microlearn.convert(src)
        np.testing.assert_array_equal(m.predict_proba(X), run_int8(q, X))
    labelled = microlearn.convert(path.read_bytes(), classes=list("abcde"))
    assert set(labelled.predict(X)) <= set("abcde")
    # a float .tflite, as float32 C, or quantized here to the same int8 graph
    fb = write_tflite(ir)
    mf = microlearn.convert(fb)
    np.testing.assert_allclose(mf.predict_proba(X), run_float(ir, X), atol=1e-5)
    mq = microlearn.convert(fb, quantize="int8", calibration=X)
    np.testing.assert_array_equal(mq.predict_proba(X), run_int8(q, X))
    with pytest.raises(ValueError, match="quantize"):
        microlearn.convert(fb, quantize="int4")
    with pytest.raises(ValueError, match="calibration"):
        microlearn.convert(fb, quantize="int8")


@pytest.mark.parametrize("cc, flags", [
    ("gcc", ("-std=c99",)),
    ("clang", ("-std=c99",)),
    ("arm-none-eabi-gcc", ("-std=c99", "-Os", "-mcpu=cortex-m4", "-mthumb",
                           "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16")),
    ("arm-none-eabi-gcc", ("-std=c99", "-Os", "-mcpu=cortex-m0plus", "-mthumb")),
    ("g++", ("-x", "c++", "-std=c++11")),
    ("arm-none-eabi-g++", ("-x", "c++", "-std=c++11", "-O2", "-mcpu=cortex-m7", "-mthumb",
                           "-mfloat-abi=hard", "-mfpu=fpv5-d16")),  # the assembly kernels
])
def test_generated_c_compiles_strict(cc, flags, tmp_path):
    import shutil
    import subprocess

    from support.nets_int8_host import c_source

    if shutil.which(cc) is None:
        pytest.skip(f"{cc} not installed")
    ir = quantize_net(CASES["dense_softmax"](), rng.normal(size=(30, 8)))
    src = tmp_path / "m.c"
    src.write_text(c_source(ir) + c_source(quantize_net(_dw_case(2, "relu"),
                                                        rng.normal(size=(30, H * W * CIN))),
                                           prefix="n").split("\n", 1)[1]
                   .replace("shim_run", "shim_run2"))
    warn = ["-Wall", "-Wextra", "-Wpedantic", "-Wconversion", "-Werror"]
    if "++" not in cc:
        warn.append("-Wdouble-promotion")
    proc = subprocess.run([cc, *flags, *warn, "-c", str(src), "-o", str(tmp_path / "m.o")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_reader_rejects_corrupt_files_cleanly():
    """Truncated or mutated files: a NetIR or a ConversionError, never another error."""
    good = write_tflite(quantize_net(CASES["conv2d_same_relu"](),
                                     rng.normal(size=(20, H * W * CIN))))
    r = np.random.default_rng(7)
    outcomes = {"ok": 0, "rejected": 0}
    for i in range(300):
        b = bytearray(good)
        if i % 3 == 0:
            b = b[: int(r.integers(0, len(b)))]
        else:
            for _ in range(int(r.integers(1, 8))):
                b[int(r.integers(0, len(b)))] = int(r.integers(0, 256))
        try:
            c_body_int8(read_tflite(bytes(b)), "m")  # the C trusts what passes here
            outcomes["ok"] += 1
        except ConversionError:
            outcomes["rejected"] += 1
    assert outcomes["rejected"] > 0


@pytest.mark.parametrize("act", ["hard_swish", "tanh", "hard_sigmoid", "swish"])
def test_activation_input_ranges(act):
    """Narrow and wide input ranges (the multipliers' shifts change sign)."""
    for scale in (0.05, 40.0):
        X = (rng.normal(size=(200, 6)) * scale).astype(np.float32)
        check_bit_exact(_act_case(act, 0.3), X)


def test_tensorflow_converter_file_sine_float():
    """A file written by TensorFlow's converter (TFLM's sine example, shipped in the wheel)."""
    from pathlib import Path

    import tflite_micro

    import microlearn

    path = Path(tflite_micro.__file__).parent / "python" / "tflite_micro" / "sine_float.tflite"
    if not path.exists():
        pytest.skip("sine_float.tflite is not in this tflite-micro wheel")
    ir = read_tflite(path)
    assert [o.kind for o in ir.ops] == ["dense"] * 3 and ir.kind == "regressor"
    X = np.linspace(0, 2 * np.pi, 40, dtype=np.float32)[:, None]
    ref = np.array([tflm_run(path.read_bytes(), x[None], (1,))[0] for x in X])
    m = microlearn.convert(path)
    np.testing.assert_allclose(m.predict(X).reshape(-1, 1), ref, rtol=1e-6, atol=1e-6)
    q = microlearn.convert(path, quantize="int8", calibration=X)
    out = q.predict(X).reshape(-1, 1)
    np.testing.assert_array_equal(out, tflm_run(write_tflite(q.steps[0].ir, batch=40), X, (1,)))
    assert np.abs(out - ref).max() < 0.1


def test_float_bias_less_layers_written_as_tflite():
    """Float layers without a bias (use_bias=False, the depthwise half of SeparableConv2D)
    are written with a zero bias: TFLite Micro runs the file and gives our float C's
    outputs, and the file reads back as the same net."""
    import keras

    import microlearn

    keras.utils.set_random_seed(5)
    m = microlearn.convert(keras.Sequential([
        keras.Input((6, 6, 2)),
        keras.layers.SeparableConv2D(4, 3, padding="same", activation="relu"),
        keras.layers.Conv2D(3, 1, use_bias=False),
        keras.layers.Flatten(),
        keras.layers.Dense(2, use_bias=False)]))
    X = rng.normal(size=(20, 72)).astype(np.float32)
    data = write_tflite(m.ir, batch=len(X))
    np.testing.assert_allclose(tflm_run(data, X, (6, 6, 2)), m.predict(X), atol=1e-5)
    np.testing.assert_allclose(microlearn.convert(data).predict(X), m.predict(X), atol=1e-5)


# --- the integer entries (NAME_predict_i8 / _i16) ----------------------------------------

_SHIM = r"""
#include "{header}"
#define N_IN {nf}
#define N_OUT {n_out}
int32_t shim_rows(int32_t which, const void *x, int64_t n, float *y, int32_t *cls);
int32_t shim_rows(int32_t which, const void *x, int64_t n, float *y, int32_t *cls)
{{
    int64_t i;
    for (i = 0; i < n; i++) {{
        const int8_t *x8 = (const int8_t *)x + i * N_IN;
        const int16_t *x16 = (const int16_t *)x + i * N_IN;
        int32_t rc;
        if (which == 8) {{
            rc = m_{values}_i8(x8, N_IN, y + i * N_OUT, N_OUT);
            cls[i] = {predict8};
        }} else {{
            rc = m_{values}_i16(x16, N_IN, y + i * N_OUT, N_OUT);
            cls[i] = {predict16};
        }}
        if (rc != ML_OK) {{
            return rc;
        }}
    }}
    return ML_OK;
}}
int32_t shim_errors(int32_t *codes);
int32_t shim_errors(int32_t *codes)
{{
    int8_t x8[N_IN] = {{0}};
    int16_t x16[N_IN] = {{0}};
    float y[N_OUT];
    codes[0] = m_{values}_i8((const int8_t *)0, N_IN, y, N_OUT);
    codes[1] = m_{values}_i8(x8, N_IN + 1, y, N_OUT);
    codes[2] = m_{values}_i8(x8, N_IN, y, N_OUT - 1);
    codes[3] = m_{values}_i16(x16, N_IN - 1, y, N_OUT);
    codes[4] = m_{values}_i16(x16, N_IN, (float *)0, N_OUT);
    return 0;
}}
"""


@pytest.mark.parametrize("case", ["mlp_softmax", "conv_relu"])
def test_integer_entries_bit_exact_with_tflm(case, tmp_path):
    """``NAME_predict_proba_i8`` / ``NAME_regress_i8`` take one sample already in the
    model's int8 input quantization: on random int8 rows and the extremes (-128, 127, the
    zero point) they give exactly TFLite Micro's outputs for the same model run on the same
    int8 input tensor; ``NAME_predict_i8`` is their first maximum. The int16 entry on
    integer features equals the float entry on the same values. Bad calls return the
    error codes (NULL, n_features, n_out)."""
    import ctypes
    import dataclasses

    import microlearn
    from microlearn.host_build import load_c_source

    ir = _mlp_softmax() if case == "mlp_softmax" else _conv_case(((1, 1), (1, 1)), (1, 1),
                                                                 "relu")
    nf = ir.tensors[ir.input].size
    Xc = rng.normal(size=(40, nf)).astype(np.float32)
    m = microlearn.convert(write_tflite(ir), quantize="int8", calibration=Xc)
    q = m.ir
    op0 = q.ops[0]
    assert op0.kind == "quantize" and q.tensors[q.input].dtype == "float32"
    zp = int(q.tensors[op0.outputs[0]].zero_point[0])
    # the same quantized model with an int8 input tensor, for TFLite Micro
    qi = dataclasses.replace(q, ops=q.ops[1:], input=op0.outputs[0],
                             tensors={k: v for k, v in q.tensors.items() if k != q.input})
    it = runtime.Interpreter.from_bytes(write_tflite(qi), arena_size=ARENA)
    X8 = rng.integers(-128, 128, size=(30, nf)).astype(np.int8)
    X8[0], X8[1], X8[2] = -128, 127, zp
    want = []
    for row in X8:
        it.set_input(row.reshape(1, *q.input_shape), 0)
        it.invoke()
        want.append(it.get_output(0).reshape(-1))
    want = np.array(want, np.float32)

    classifier = m.signature.task == "classifier"
    values = "predict_proba" if classifier else "regress"
    n_out = want.shape[1]
    header = tmp_path / "m.h"
    header.write_text(m.c_source("m"))
    src = tmp_path / "shim.c"
    src.write_text(_SHIM.format(header=header, nf=nf, n_out=n_out, values=values,
                                predict8="m_predict_i8(x8, N_IN)" if classifier else "0",
                                predict16="m_predict_i16(x16, N_IN)" if classifier else "0"))
    lib = load_c_source(src)
    fn = lib.shim_rows
    fn.argtypes = [ctypes.c_int32, ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p,
                   ctypes.c_void_p]
    fn.restype = ctypes.c_int32

    def run(which, X):
        X = np.ascontiguousarray(X)
        Y = np.zeros((len(X), n_out), np.float32)
        cls = np.zeros(len(X), np.int32)
        assert fn(which, X.ctypes.data, len(X), Y.ctypes.data, cls.ctypes.data) == 0
        return Y, cls

    got, cls = run(8, X8)
    np.testing.assert_array_equal(got, want)
    if classifier:
        np.testing.assert_array_equal(cls, np.argmax(want, axis=1))
    X16 = rng.integers(-4, 5, size=(20, nf)).astype(np.int16)
    X16[0] = 32767
    X16[1] = -32768
    got16, cls16 = run(16, X16)
    ref = m.predict_proba(X16.astype(np.float32)) if classifier else \
        m.predict(X16.astype(np.float32)).reshape(len(X16), -1)
    np.testing.assert_array_equal(got16, ref)
    if classifier:
        np.testing.assert_array_equal(cls16, m.predict(X16.astype(np.float32)))
    codes = np.zeros(5, np.int32)
    lib.shim_errors.argtypes = [ctypes.c_void_p]
    lib.shim_errors(codes.ctypes.data)
    assert list(codes) == [-1, -2, -3, -2, -1], codes


def test_rq_right_flags_follow_the_accumulator_bound():
    """c_int8._rq_right (the header's op flag; ml_nets_q7__set_rq_right computes the same
    for a model file): bit 0 for right shifts only, bit 1 only while taps x 255 x 128 +
    max |bias| stays below 2^30 (the short requantization path needs |x| < 2^30)."""
    from microlearn.families.nets.c_int8 import _rq_right

    w = np.zeros((4, 8), np.int8)  # 4 channels of 8 taps
    edge = 2 ** 30 - 8 * 255 * 128
    assert _rq_right(w, np.array([0, 1, -(edge - 1), 5]), np.full(4, -7)) == 3
    assert _rq_right(w, np.array([0, 1, -edge, 5]), np.full(4, -7)) == 1
    assert _rq_right(w, np.array([0, 1, edge - 1, 5]), np.array([-7, -1, -31, -2])) == 3
    assert _rq_right(w, np.zeros(4), np.array([-7, 0, -3, -2])) == 0   # a zero shift
    assert _rq_right(w, np.zeros(4), np.array([-7, -32, -3, -2])) == 0
    dw = np.zeros((1, 3, 3, 4), np.int8)  # depthwise: 9 taps per channel
    assert _rq_right(dw, np.array([2 ** 30 - 9 * 255 * 128 - 1, 0, 0, 0]), np.full(4, -5)) == 3
    assert _rq_right(dw, np.array([2 ** 30 - 9 * 255 * 128, 0, 0, 0]), np.full(4, -5)) == 1


_SET_RQ_RIGHT_C = r"""
#include "ml_nets_int8.h"
#include <stdio.h>
#include <string.h>

/* ml_nets_q7__set_rq_right for one op of kind k, geometry g, 4 channels of biases b and
 * shifts s (the record only gives n_ch at byte 144) */
static int flag(int32_t k, const int32_t *g, int32_t b0, int32_t s1)
{
    static uint8_t rec[160];
    int32_t bias[4] = {0, 7, 0, -3}, shift[4] = {-7, -1, -31, -2};
    ml_nets_q7_op_t op;
    memset(&op, 0, sizeof op);
    memset(rec, 0, sizeof rec);
    rec[144] = 4;
    op.kind = k;
    memcpy(op.g, g, sizeof op.g);
    bias[0] = b0;
    shift[1] = s1;
    op.bias = bias;
    op.mult = bias;
    op.shift = shift;
    ml_nets_q7__set_rq_right(rec, &op);
    return (int)op.rq_right;
}

/* bit 3 (the weights readable 3 bytes past the last one): 9 weights (w_n at byte 128)
 * with the bias placed after them (bias_at 3: words; the checked bias span covers the 3
 * bytes) or before them (bias_at -1) */
static int spare(int32_t bias_at)
{
    static int32_t buf[16];
    static uint8_t rec[160];
    int32_t shift[1] = {-7};
    ml_nets_q7_op_t op;
    memset(&op, 0, sizeof op);
    memset(rec, 0, sizeof rec);
    rec[144] = 1;
    rec[128] = 9;
    op.kind = ML_NETS_Q7_CONV2D;
    op.w = (const int8_t *)(const void *)(buf + 4);
    op.bias = buf + 4 + bias_at;
    op.mult = buf;
    op.shift = shift;
    ml_nets_q7__set_rq_right(rec, &op);
    return (int)(op.rq_right & 8);
}

int main(void)
{
    int32_t dense[15] = {8, 4, 1}, conv[15] = {0}, dw[15] = {0};
    conv[ML_NETS_G_IN_C] = 2; conv[ML_NETS_G_K_H] = 3; conv[ML_NETS_G_K_W] = 3;
    dw[ML_NETS_G_IN_C] = 4; dw[ML_NETS_G_K_H] = 3; dw[ML_NETS_G_K_W] = 3;
    printf("%d %d %d\n", spare(3), spare(2), spare(-1));
    printf("%d %d %d %d %d %d %d %d\n",
           flag(ML_NETS_Q7_DENSE, dense, -(0x40000000 - 8 * 255 * 128 - 1), -1),
           flag(ML_NETS_Q7_DENSE, dense, -(0x40000000 - 8 * 255 * 128), -1),
           flag(ML_NETS_Q7_DENSE, dense, 0, 0),
           flag(ML_NETS_Q7_DENSE, dense, 0, -32),
           flag(ML_NETS_Q7_CONV2D, conv, 0x40000000 - 18 * 255 * 128 - 1, -1),
           flag(ML_NETS_Q7_CONV2D, conv, 0x40000000 - 18 * 255 * 128, -1),
           flag(ML_NETS_Q7_DEPTHWISE, dw, 0x40000000 - 9 * 255 * 128 - 1, -1),
           flag(ML_NETS_Q7_DEPTHWISE, dw, 0x40000000 - 9 * 255 * 128, -1));
    return 0;
}
"""


def test_model_file_rq_right_follows_the_accumulator_bound(tmp_path):
    """The model-file loader's ml_nets_q7__set_rq_right sets the same flags as the
    converter (_rq_right) at the same edges: dense (taps = inputs), conv2d (k_h k_w in_c)
    and depthwise (k_h k_w); and bit 3 (the Cortex-M4F windows may read 3 bytes past the
    last weight) only when the checked bias span follows the weights."""
    import subprocess

    from microlearn.host_build import RUNTIME_DIR

    src = tmp_path / "f.c"
    src.write_text(_SET_RQ_RIGHT_C)
    exe = tmp_path / "f"
    subprocess.run(["cc", "-std=c99", "-O1", "-Wall", "-Wextra", "-Werror", "-I",
                    str(RUNTIME_DIR), str(src), "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    lines = out.splitlines()
    # bit 3 only with the bias after the weights (3 words on: 9 weights end in the third)
    assert lines[0].split() == ["8", "0", "0"], out
    assert [int(v) & 3 for v in lines[1].split()] == [3, 1, 0, 0, 3, 1, 3, 1], out


# the same runtime function built without the Cortex-M4 paths (ML_NETS_NO_SIMD), linked
# into the same firmware: the reference the SMMULR products are checked against
_EXP_REF_C = r"""
#define ML_NETS_NO_SIMD 1
#include "ml_nets_int8.h"

int32_t ref_exp_neg(int32_t a, int32_t int_bits);
int32_t ref_exp_neg(int32_t a, int32_t int_bits)
{
    return ml_nets_q_exp_neg(a, int_bits);
}
"""

_EXP_C = _CHECK_PRELUDE.replace("RNG_SEED", "0x2545F491u") + r"""
int32_t ref_exp_neg(int32_t a, int32_t int_bits); /* _EXP_REF_C: the portable code */

int main(void)
{
    const int32_t n = 300000;
    int32_t i, bad = 0;
    for (i = 0; i < n; i++) {
        const int32_t int_bits = 4 + (int32_t)(i & 1);
        int32_t a;
        switch (rnd() % 4u) {
        case 0u: a = -(int32_t)(rnd() >> 1); break;                  /* anywhere <= 0 */
        case 1u: a = -(int32_t)(rnd() >> (1 + rnd() % 30u)); break;  /* every magnitude */
        case 2u: /* next to the quarter boundaries of the barrel shifter */
            a = -(((int32_t)(rnd() % 64u)) << (31 - int_bits - 2)) + (int32_t)(rnd() % 5u) - 2;
            break;
        default: a = -(int32_t)(rnd() % 1024u); break;                /* near 0 */
        }
        a = a > 0 ? -a : a;
        if (ml_nets_q_exp_neg(a, int_bits) != ref_exp_neg(a, int_bits) && bad++ < 10) {
            mlh_put_int("a=", a);
            mlh_put_int(" bits=", int_bits);
            mlh_puts("\n");
        }
    }
    mlh_put_int("exp ", n);
    mlh_put_int(" ", bad);
    mlh_puts("\n");
    return 0;
}
"""


def test_exp_on_emulated_cortex_m4f_equals_gemmlowp(tmp_path):
    """The fixed-point exp of softmax / logistic / tanh on Cortex-M4F (SMMULR for the
    products whose first operand is under 2^30) equals the portable code's gemmlowp
    exp_on_negative_values (ML_NETS_NO_SIMD, in the same firmware), on 300 k inputs of
    every magnitude and next to the barrel shifter's quarter boundaries, 4 and 5 integer
    bits."""
    assert _m4f_check(tmp_path, _EXP_C, "exp", extra=[_EXP_REF_C]) == (300_000, 0)


# the portable kernels (ML_NETS_NO_SIMD) linked into the check firmwares beside the
# Cortex-M4F ones
_KERNELS_REF_C = r"""
#define ML_NETS_NO_SIMD 1
#include "ml_nets_int8.h"

void ref_dense(const ml_nets_q7_op_t *op, const int8_t *x, int8_t *y);
void ref_dense(const ml_nets_q7_op_t *op, const int8_t *x, int8_t *y)
{
    ml_nets_q7_dense(op, x, y);
}

void ref_conv(const ml_nets_q7_op_t *op, const int8_t *x, int8_t *y);
void ref_conv(const ml_nets_q7_op_t *op, const int8_t *x, int8_t *y)
{
    ml_nets_q7_conv(op, x, y);
}
"""

# random op parts shared by the kernel check firmwares: zero points and clamp, int8
# values, requantization tables, and the comparison with the portable kernel's outputs
_OPS_C = r"""
void ref_dense(const ml_nets_q7_op_t *op, const int8_t *x, int8_t *y); /* portable code */
void ref_conv(const ml_nets_q7_op_t *op, const int8_t *x, int8_t *y);

static long n_checked, n_bad;

/* zero points, and the int8 range or (1 in 3 or 4) a fused activation's narrower clamp */
static void random_zero_points(ml_nets_q7_op_t *op, uint32_t narrow_one_in)
{
    op->in_zp = (int32_t)(rnd() % 256u) - 128;
    op->out_zp = (int32_t)(rnd() % 256u) - 128;
    op->act_min = -128;
    op->act_max = 127;
    if (rnd() % narrow_one_in == 0u) {
        op->act_min = op->out_zp < 50 ? op->out_zp : 50;
        op->act_max = 100;
    }
}

static void random_bytes(int8_t *v, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; i++) {
        v[i] = (int8_t)(rnd() & 0xFFu);
    }
}

/* n channels of `taps` taps: biases (1 op in 8 with one at the 2^30 bound), normalised
 * multipliers, right shifts (1 op in 8 with a zero / left shift); op->rq_right as the
 * converter sets it (3, 1 at the bound, 0 with another shift) */
static void random_rq(ml_nets_q7_op_t *op, int32_t *bias, int32_t *mult, int32_t *shift,
                      int32_t n, int32_t taps)
{
    const uint32_t kind = rnd() % 8u;
    int64_t top = 0;
    int32_t i;
    for (i = 0; i < n; i++) {
        const int64_t b = kind == 1u && i == 0 ? (int64_t)0x40000000 - (int64_t)taps * 255 * 128
                                               : (int64_t)(rnd() % 2000001u) - 1000000;
        bias[i] = (int32_t)(rnd() & 1u ? b : -b);
        mult[i] = (int32_t)(0x40000000u + (rnd() & 0x3FFFFFFFu));
        shift[i] = -1 - (int32_t)(rnd() % 20u);
        top = (b < 0 ? -b : b) > top ? (b < 0 ? -b : b) : top;
    }
    op->bias = bias;
    op->mult = mult;
    op->shift = shift;
    op->rq_right = (int64_t)taps * 255 * 128 + top < 0x40000000 ? 3 : 1;
    if (kind == 0u) {
        shift[rnd() % (uint32_t)n] = (int32_t)(rnd() % 3u);
        op->rq_right = 0;
    }
}

/* the short path's conditions (every bit of rq.fast) */
static int short_path(const ml_nets_q7_op_t *op)
{
    return (op->rq_right & 3) == 3 && op->act_min == -128 && op->act_max == 127;
}

static void compare(const int8_t *y, const int8_t *yr, int32_t n, int32_t it)
{
    int32_t i;
    for (i = 0; i < n; i++) {
        n_checked++;
        if (y[i] != yr[i] && n_bad++ < 5) {
            mlh_put_int("it=", it);
            mlh_put_int(" i=", i);
            mlh_put_int(" got=", y[i]);
            mlh_put_int(" want=", yr[i]);
            mlh_puts("\n");
        }
    }
}

static void report(const char *tag)
{
    mlh_puts(tag);
    mlh_put_int(" ", (int32_t)n_checked);
    mlh_put_int(" ", (int32_t)n_bad);
    mlh_puts("\n");
}
"""

_DENSE_C = _CHECK_PRELUDE.replace("RNG_SEED", "0x6C8E9CF5u") + _OPS_C + r"""
/* a random DENSE op: rows of n_in inputs x, weights w[n_out][n_in], its requantization
 * (random_rq) and zero points (a narrow clamp one op in `narrow_one_in`) */
static void random_dense(ml_nets_q7_op_t *op, int32_t n_in, int32_t n_out, int32_t rows,
                         uint32_t narrow_one_in, int8_t *w, int8_t *x, int32_t *bias,
                         int32_t *mult, int32_t *shift)
{
    memset(op, 0, sizeof *op);
    op->kind = ML_NETS_Q7_DENSE;
    op->g[0] = n_in;
    op->g[1] = n_out;
    op->g[2] = rows;
    random_zero_points(op, narrow_one_in);
    random_bytes(w, n_in * n_out);
    random_bytes(x, rows * n_in);
    op->w = w;
    random_rq(op, bias, mult, shift, n_out, n_in);
}

/* ml_nets_q7_dense as the Cortex-M4F build runs it (every group of four outputs of a row
 * in the ml_nets_q7__fc4n assembly on the short path, rows that are not a multiple of 4
 * long padded when the weights have spare bytes; the C SIMD rows otherwise) against the
 * portable kernel on random ops: inputs a multiple of 4 or not, output counts with and
 * without a remainder, 1-3 rows, right shifts (rq_right 3, or 1 when the biases reach
 * the 2^30 bound) or a zero / left shift, the int8 clamp or a narrower one. */
int main(void)
{
    static const int32_t n_ins[] = {4, 8, 12, 16, 20, 32, 64, 124, 128, 132, 1, 3, 9, 27};
    static int8_t w[132 * 20], x[3 * 132], y[3 * 20], yr[3 * 20];
    static int32_t bias[20], mult[20], shift[20];
    ml_nets_q7_op_t op;
    long fused = 0;
    int32_t it;
    for (it = 0; it < 3000; it++) {
        const int32_t n_in = n_ins[rnd() % (uint32_t)(sizeof n_ins / sizeof n_ins[0])];
        const int32_t n_out = 1 + (int32_t)(rnd() % 20u);
        const int32_t rows = 1 + (int32_t)(rnd() % 3u);
        random_dense(&op, n_in, n_out, rows, 3u, w, x, bias, mult, shift);
        if (rnd() % 2u == 0u) {
            op.rq_right |= 8; /* w has spare bytes after the last weight (w[] is larger) */
        }
        fused += short_path(&op) && n_out >= 4 &&
                 ((n_in & 3) == 0 || ((op.rq_right & 8) && n_in <= 64));
        ml_nets_q7_dense(&op, x, y);
        ref_dense(&op, x, yr);
        compare(y, yr, rows * n_out, it);
    }
    {
        /* weights stored in blocks (ml_nets_q7__fc4b, the generated header's layout on
         * this core): the short path, inputs a multiple of 4, four outputs or more; the
         * rows left over stored plainly after the blocks; with and without the other row
         * kernels (all_blocked) */
        static int8_t wb[132 * 20] __attribute__((aligned(4)));
        static uint32_t xw[66];
        long blocked = 0;
        for (it = 0; it < 1500; it++) {
            const int32_t n_in = 4 * (1 + (int32_t)(rnd() % 33u));
            const int32_t n_out = 4 + (int32_t)(rnd() % 17u);
            const int32_t rows = 1 + (int32_t)(rnd() % 3u);
            int32_t g, i, j, k;
            random_dense(&op, n_in, n_out, rows, 0xFFFFFFFFu, w, x, bias, mult, shift);
            op.act_min = -128;
            op.act_max = 127;
            if (!short_path(&op)) {
                continue;
            }
            for (g = 0; g < n_out / 4; g++) {
                for (i = 0; i < n_in / 4; i++) {
                    for (j = 0; j < 4; j++) {
                        for (k = 0; k < 4; k++) {
                            wb[((g * (n_in / 4) + i) * 4 + j) * 4 + k] =
                                w[(4 * g + j) * n_in + 4 * i + k];
                        }
                    }
                }
            }
            for (j = 4 * (n_out / 4) * n_in; j < n_out * n_in; j++) {
                wb[j] = w[j];
            }
            ref_dense(&op, x, yr);
            op.w = wb;
            op.rq_right |= ML_NETS_Q7_BLK;
            ml_nets_q7__dense(&op, x, y, xw, (int)(it & 1));
            compare(y, yr, rows * n_out, 10000 + it);
            blocked++;
        }
        mlh_put_int("fused ops: ", (int32_t)fused);
        mlh_put_int(", blocked ops: ", (int32_t)blocked);
        mlh_puts("\n");
    }
    report("dense");
    return 0;
}
"""


def test_dense_rows_on_emulated_cortex_m4f_equal_portable_code(tmp_path, capsys):
    """The Cortex-M4F dense / pointwise rows (the ml_nets_q7__fc4n assembly: every group
    of four outputs summed from the bias in registers and requantized on the short path;
    the C SIMD rows for everything else) give the portable kernel's outputs
    (ML_NETS_NO_SIMD, in the same firmware) on 3,000 random ops reaching every branch:
    input counts a multiple of 4 or not (padded when the weights have spare bytes),
    output remainders, several rows, zero / left shifts, biases at the 2^30 bound, narrow
    clamps; and 1,500 more with the weights stored in blocks (ml_nets_q7__fc4b: odd and
    even step counts, rows left over)."""
    import re

    n, bad = _m4f_check(tmp_path, _DENSE_C, "dense", extra=[_KERNELS_REF_C])
    assert bad == 0 and n > 50_000, (n, bad)
    blocked = re.search(r"blocked ops: (\d+)", capsys.readouterr().out)
    assert blocked and int(blocked[1]) > 1000, blocked


_CONV_C = _CHECK_PRELUDE.replace("RNG_SEED", "0x9E3779B9u") + _OPS_C + r"""
/* ml_nets_q7_conv as the Cortex-M4F build runs it (depthwise pixels in ml_nets_q7__dw4n,
 * pointwise convolutions and small windows - padded to whole words when the weights
 * have spare bytes, rq_right bit 3 - through ml_nets_q7__fc4n, the C SIMD paths
 * otherwise) against the portable kernel on random depthwise and regular convolutions:
 * 1-13 input channels, multipliers 1-2, kernels 1-5, strides and dilations 1-2, padding,
 * windows cut by the border, the short requantization path or not. */
int main(void)
{
    static int8_t x[7 * 7 * 13], w[20 * 5 * 5 * 13], y[7 * 7 * 26], yr[7 * 7 * 26];
    static int32_t bias[26], mult[26], shift[26];
    ml_nets_q7_op_t op;
    long dw4n = 0, win4n = 0, win2x2 = 0, wide2x2 = 0;
    int32_t it;
    for (it = 0; it < 4000; it++) {
        /* from op 2500 on: regular convolutions with an even number of channels, so that
         * the two-pixel paths are taken often */
        static const int32_t cs[] = {1, 2, 3, 4, 8, 12};
        const int biased = it >= 2500;
        const int32_t dw = !biased && (int32_t)(rnd() % 3u) != 0;
        const int32_t in_h = 1 + (int32_t)(rnd() % 7u), in_w = 1 + (int32_t)(rnd() % 7u);
        const int32_t in_c = biased ? cs[rnd() % 6u] : 1 + (int32_t)(rnd() % 13u);
        const int32_t mul = dw && rnd() % 4u == 0u ? 2 : 1;
        const int32_t out_c = dw       ? in_c * mul
                              : biased ? 4 + 2 * (int32_t)(rnd() % 9u)
                                       : 1 + (int32_t)(rnd() % 20u);
        static const int32_t ks[] = {1, 2, 3, 3, 3, 5};
        const int32_t k_h = ks[rnd() % 6u], k_w = ks[rnd() % 6u];
        const int32_t s_h = 1 + (int32_t)(rnd() % 2u), s_w = rnd() % 3u == 0u ? 2 : 1;
        const int32_t d_h = rnd() % 4u == 0u ? 2 : 1, d_w = rnd() % 4u == 0u ? 2 : 1;
        const int32_t pad_t = (int32_t)(rnd() % (uint32_t)k_h);
        const int32_t pad_l = (int32_t)(rnd() % (uint32_t)k_w);
        const int32_t pad_b = (int32_t)(rnd() % (uint32_t)k_h);
        const int32_t pad_r = (int32_t)(rnd() % (uint32_t)k_w);
        const int32_t span_h = in_h + pad_t + pad_b - d_h * (k_h - 1);
        const int32_t span_w = in_w + pad_l + pad_r - d_w * (k_w - 1);
        const int32_t taps = k_h * k_w * (dw ? 1 : in_c);
        if (span_h < 1 || span_w < 1) {
            continue;
        }
        memset(&op, 0, sizeof op);
        op.kind = dw ? ML_NETS_Q7_DEPTHWISE : ML_NETS_Q7_CONV2D;
        op.g[ML_NETS_G_IN_H] = in_h;
        op.g[ML_NETS_G_IN_W] = in_w;
        op.g[ML_NETS_G_IN_C] = in_c;
        op.g[ML_NETS_G_OUT_H] = (span_h - 1) / s_h + 1;
        op.g[ML_NETS_G_OUT_W] = (span_w - 1) / s_w + 1;
        op.g[ML_NETS_G_OUT_C] = out_c;
        op.g[ML_NETS_G_K_H] = k_h;
        op.g[ML_NETS_G_K_W] = k_w;
        op.g[ML_NETS_G_S_H] = s_h;
        op.g[ML_NETS_G_S_W] = s_w;
        op.g[ML_NETS_G_D_H] = d_h;
        op.g[ML_NETS_G_D_W] = d_w;
        op.g[ML_NETS_G_PAD_T] = pad_t;
        op.g[ML_NETS_G_PAD_L] = pad_l;
        op.g[ML_NETS_G_MULT] = dw ? mul : 0;
        random_zero_points(&op, biased ? 16u : 4u);
        random_bytes(w, dw ? k_h * k_w * out_c : out_c * k_h * k_w * in_c);
        random_bytes(x, in_h * in_w * in_c);
        op.w = w;
        random_rq(&op, bias, mult, shift, out_c, taps);
        if (!dw && rnd() % 2u == 0u) {
            op.rq_right |= 8; /* w has spare bytes after the last weight (w[] is larger) */
        }
        win4n += !dw && short_path(&op) && out_c >= 4 && taps <= 64 && taps % 4 != 0 &&
                 (op.rq_right & 8);
        dw4n += dw && mul == 1 && d_w == 1 && short_path(&op) && out_c >= 4;
        /* two pixels at a time (ml_nets_q7__fc2x2): gathered small windows, and windows of
         * whole words of channels past them */
        win2x2 += !dw && short_path(&op) && out_c >= 4 && out_c % 2 == 0 && taps <= 64 &&
                  (taps % 4 == 0 || (op.rq_right & 8)) && op.g[ML_NETS_G_OUT_W] >= 2 &&
                  !(k_h == 1 && k_w == 1 && s_h == 1 && s_w == 1 && pad_t == 0 && pad_l == 0 &&
                    pad_b == 0 && pad_r == 0);
        wide2x2 += !dw && short_path(&op) && out_c >= 4 && out_c % 2 == 0 && taps > 64 &&
                   in_c % 4 == 0 && d_w == 1 && op.g[ML_NETS_G_OUT_W] >= 2;
        if (it & 1) {
            /* the generated header's call: the pair kernels' buffer passed in */
            static uint32_t scratch[288];
            ml_nets_q7__conv(&op, x, y, ML_NETS_Q7_K_ALL | ML_NETS_Q7_K_SCRATCH, scratch);
        } else {
            ml_nets_q7_conv(&op, x, y);
        }
        ref_conv(&op, x, yr);
        compare(y, yr, op.g[ML_NETS_G_OUT_H] * op.g[ML_NETS_G_OUT_W] * out_c, it);
    }
    mlh_put_int("dw4n ops: ", (int32_t)dw4n);
    mlh_put_int(", padded windows in fc4n: ", (int32_t)win4n);
    mlh_put_int(", small windows in fc2x2: ", (int32_t)win2x2);
    mlh_put_int(", wide windows in fc2x2: ", (int32_t)wide2x2);
    mlh_puts("\n");
    report("conv");
    return 0;
}
"""


def test_convolutions_on_emulated_cortex_m4f_equal_portable_code(tmp_path, capsys):
    """The Cortex-M4F convolutions (depthwise pixels in the ml_nets_q7__dw4n assembly,
    pointwise ones and small windows - padded to whole words when the weights have spare
    bytes - through ml_nets_q7__fc4n, the C SIMD paths otherwise) give the portable
    kernel's outputs (ML_NETS_NO_SIMD, in the same firmware) on 4,000 random depthwise and
    regular convolutions (the last 1,500 regular ones with an even number of output
    channels): 1-13 channels, multipliers 1-2, kernels 1-5, strides and dilations 1-2,
    padding and border windows, zero / left shifts, biases at the 2^30 bound, narrow
    clamps. Two pixels at a time (ml_nets_q7__fc2x2) on gathered windows of at most 64
    values and on wider ones of whole words of channels:
    both paths are taken by enough of the ops (odd and even step counts)."""
    import re

    n, bad = _m4f_check(tmp_path, _CONV_C, "conv", extra=[_KERNELS_REF_C])
    assert bad == 0 and n > 100_000, (n, bad)
    counts = re.search(r"small windows in fc2x2: (\d+), wide windows in fc2x2: (\d+)",
                       capsys.readouterr().out)
    assert counts and int(counts[1]) > 300 and int(counts[2]) > 80, counts[0]
