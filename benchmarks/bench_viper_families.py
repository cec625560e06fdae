"""Where a viper engine pays, family by family (issue 14): on emulated Cortex-M4F (QEMU
mps2-an386) under MicroPython v1.23, the protocol of benchmarks/RESULTS_micropython.md
(instructions per call counted by the QEMU plugin, mean over the rows, minus an empty
bench.start()/stop() region, input preallocated).

Two tables:

1. The C module (microlearn_mp with every family, armv7emsp) on one model per family: the
   models of tests/test_micropython_families.py (iris / wine / breast cancer), a
   StandardScaler + PCA + LogisticRegression pipeline, an sklearn MLP (float32 nets) and
   the digits forest of RESULTS_micropython.md for reference; the multiply-adds per
   predict of the float families (from their IR sizes).
2. The cost of one multiply-add written in MicroPython, compiled by mpy-cross v6.3 for
   armv7emsp (what an engine without a C toolchain would run), on a dense layer of 64
   inputs x 32 outputs (2,048 MACs) with relu and argmax: plain Python on array('f') (the
   bytecode a pure-Python engine runs), the same function under @micropython.native (float
   objects still boxed), and @micropython.viper on int8 tables with int32 accumulators and
   a TFLite-style requantization per output (a 32x32 -> 64 high multiply in 16-bit halves,
   rounding shift, zero point, clamp: the integer path of an int8 net), and the viper MAC
   loop at its best (int32 inputs quantized once, 4 MACs per step, pointer increments).
   The kernels measure costs; they are not microlearn's engines.
3. AdaBoostRegressor (diabetes; the weighted median): regress() in the viper engine and
   the C module (called through a small wrapper whose own cost is subtracted).
4. The int8 MLP 64-32-16-10 (sklearn MLPClassifier(32, 16) on digits / 16, quantize="int8"):
   predict() in the viper engine (microlearn_viper.py's int8 nets engine) and in the C
   module (the int8 file and the float32 file of the same net); the pure-Python fallback
   does not run nets. Heap held by the loaded model, agreement with the host C and sklearn.

    .venv/bin/python benchmarks/bench_viper_families.py [--nets-only]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # the test tooling: tests/support (not shipped)

from support import mp_bench  # noqa: E402

import microlearn  # noqa: E402
from microlearn import micropython_build as mb  # noqa: E402
from microlearn import mp_module  # noqa: E402

N_IN, N_OUT, ROWS = 64, 32, 10

KERNELS = '''
import array, micropython


def _argmax(h, n):
    best = 0
    for o in range(1, n):
        if h[o] > h[best]:
            best = o
    return best


class PyDense:
    """float32 dense + relu + argmax in plain Python (bytecode)"""

    def __init__(self, w, b, n_in, n_out):
        self.w, self.b, self.n_in, self.n_out = w, b, n_in, n_out
        self.h = array.array("f", bytes(4 * n_out))

    def predict(self, x):
        w, b, h, n = self.w, self.b, self.h, self.n_in
        k = 0
        for o in range(self.n_out):
            s = b[o]
            for i in range(n):
                s += w[k + i] * x[i]
            k += n
            h[o] = s if s > 0.0 else 0.0
        return _argmax(h, self.n_out)


class NativeDense(PyDense):
    """the same under the native emitter (float objects are still boxed)"""

    @micropython.native
    def predict(self, x):
        w, b, h, n = self.w, self.b, self.h, self.n_in
        k = 0
        for o in range(self.n_out):
            s = b[o]
            for i in range(n):
                s += w[k + i] * x[i]
            k += n
            h[o] = s if s > 0.0 else 0.0
        return _argmax(h, self.n_out)


@micropython.viper
def _vdense8(w, xq, bias, h, n_in: int, n_out: int, mult: int, shift: int) -> int:
    # int8 weights (row-major), int8 input xq, int32 bias, int8 outputs h: acc = bias +
    # sum w*x (int32), then TFLite's requantization: (acc * mult) >> 31 rounded (the high
    # half of a 32x32 product from 16-bit halves), rounding right shift, zero point -128,
    # clamp to [-128, 127] (relu folded in the clamp); returns the argmax
    pw = ptr8(w)
    px = ptr8(xq)
    pb = ptr32(bias)
    ph = ptr8(h)
    best = 0
    bv = -1000
    ml = mult & 0xFFFF
    mh = mult >> 16
    o = 0
    k = 0
    while o < n_out:
        acc = pb[o]
        i = 0
        while i < n_in:
            acc += ((pw[k + i] ^ 0x80) - 0x80) * ((px[i] ^ 0x80) - 0x80)
            i += 1
        k += n_in
        neg = 0
        if acc < 0:
            neg = 1
            acc = -acc
        al = acc & 0xFFFF
        ah = acc >> 16
        mid = ah * ml + al * mh + ((al * ml) >> 16)
        hi = ah * mh + (mid >> 16)
        lo = mid & 0xFFFF
        r = (hi << 1) | (lo >> 15)
        if (lo >> 14) & 1:
            r += 1
        if shift > 0:
            r = (r + (1 << (shift - 1))) >> shift
        if neg:
            r = -r
        r += -128
        if r < -128:
            r = -128
        if r > 127:
            r = 127
        ph[o] = r & 0xFF
        if r > bv:
            bv = r
            best = o
        o += 1
    return best


@micropython.viper
def _vdot8(pw: uint, px: uint, n: int) -> int:
    # sum of int8 weights at pw times int32 inputs at px (already sign-extended, minus the
    # zero point: done once per input), 4 per step, pointer increments
    acc = 0
    end = pw + uint(n)
    while pw < end:
        acc += ((ptr8(pw)[0] ^ 0x80) - 0x80) * ptr32(px)[0]
        acc += ((ptr8(pw)[1] ^ 0x80) - 0x80) * ptr32(px)[1]
        acc += ((ptr8(pw)[2] ^ 0x80) - 0x80) * ptr32(px)[2]
        acc += ((ptr8(pw)[3] ^ 0x80) - 0x80) * ptr32(px)[3]
        pw += 4
        px += 16
    return acc


@micropython.viper
def _vdense8u(w, xq, bias, h, n_in: int, n_out: int) -> int:
    pw = uint(ptr8(w))
    px = uint(ptr8(xq))
    pb = ptr32(bias)
    best = 0
    bv = -(1 << 30)
    o = 0
    while o < n_out:
        acc = pb[o] + int(_vdot8(pw, px, n_in))
        pw += uint(n_in)
        if acc > bv:
            bv = acc
            best = o
        o += 1
    return best


class ViperDense8U(object):
    """int8 weights, int32 inputs, 4 MACs per loop step (no requantization)"""

    def __init__(self, w, b, n_in, n_out):
        self.w = bytes((int(v * 40) & 0xFF) for v in w)
        self.b = array.array("i", [int(v * 1000) for v in b])
        self.xq = array.array("i", [(i * 37) % 256 - 128 for i in range(n_in)])
        self.h = bytearray(n_out)
        self.n_in, self.n_out = n_in, n_out

    def predict(self, x):
        return _vdense8u(self.w, self.xq, self.b, self.h, self.n_in, self.n_out)


class ViperDense8:
    """int8 dense + relu + argmax in viper (32-bit integers)"""

    def __init__(self, w, b, n_in, n_out):
        self.w = bytes((int(v * 40) & 0xFF) for v in w)
        self.b = array.array("i", [int(v * 1000) for v in b])
        self.h = bytearray(n_out)
        self.xq = bytearray(n_in)
        self.n_in, self.n_out = n_in, n_out

    def predict(self, x):
        return _vdense8(self.w, self.xq, self.b, self.h, self.n_in, self.n_out, 1518500250, 7)
'''


def _cases():
    from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
    from sklearn.decomposition import PCA
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.mixture import GaussianMixture
    from sklearn.naive_bayes import GaussianNB
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    Xi, yi = load_iris(return_X_y=True)
    Xi = Xi.astype(np.float32)
    Xs = ((Xi - Xi.mean(axis=0)) / Xi.std(axis=0)).astype(np.float32)
    Xw, yw = load_wine(return_X_y=True)
    Xb, yb = load_breast_cancer(return_X_y=True)
    Xd, yd = load_digits(return_X_y=True)
    Xd = Xd.astype(np.float32)
    # (name, estimator, X, multiply-adds per predict: the float work of the model)
    return [
        ("linear: LogisticRegression, iris", LogisticRegression(max_iter=1000).fit(Xi, yi),
         Xi, 4 * 3),
        ("svm: SVC rbf, iris (standardised)", SVC(kernel="rbf").fit(Xs, yi), Xs, None),
        ("naive Bayes: GaussianNB, wine", GaussianNB().fit(Xw, yw), Xw, 13 * 3 * 2),
        ("mixture: GaussianMixture full 3, iris",
         GaussianMixture(n_components=3, covariance_type="full", random_state=0).fit(Xi),
         Xi, 3 * (4 * 4 + 4)),
        ("neighbors: KNeighborsClassifier 5 distance, iris",
         KNeighborsClassifier(n_neighbors=5, weights="distance").fit(Xi[::2], yi[::2]), Xi,
         75 * 4),
        ("pipeline: StandardScaler + PCA(5) + LogisticRegression, breast cancer",
         make_pipeline(StandardScaler(), PCA(n_components=5),
                       LogisticRegression(max_iter=1000)).fit(Xb, yb), Xb,
         30 + 30 * 5 + 5),
        ("nets float32: MLPClassifier(32, 16), digits / 16",
         MLPClassifier((32, 16), max_iter=300, random_state=0).fit(Xd / 16, yd), Xd / 16,
         64 * 32 + 32 * 16 + 16 * 10),
        ("trees: digits forest (RESULTS_micropython.md)",
         RandomForestClassifier(n_estimators=10, max_depth=10, random_state=0).fit(
             Xd[:1000], yd[:1000]), Xd[1000:], None),
    ]


def c_module_rows(module: bytes) -> list[tuple]:
    rows = []
    for name, est, X, macs in _cases():
        m = microlearn.convert(est)
        Xt = np.ascontiguousarray(X[:ROWS], dtype=np.float32)
        r = mp_bench.run_predict(m.to_blob(), Xt, m.n_outputs, cpu="m4", mode="file",
                                 module=module)
        if hasattr(est, "classes_"):
            agree = float(np.mean(np.asarray(est.classes_)[r.predictions] == est.predict(Xt)))
        else:
            agree = float(np.mean(r.predictions == est.predict(Xt)))
        if getattr(est, "support_vectors_", None) is not None:
            macs = int(est.support_vectors_.shape[0] * est.support_vectors_.shape[1])
        rows.append((name, r.instructions, macs, agree))
        print(f"{name}: {r.instructions:,.0f} instr/predict, MACs {macs}, agree {agree:.0%}",
              flush=True)
    return rows


def kernel_rows() -> list[tuple]:
    rng = np.random.default_rng(0)
    w = rng.uniform(-1, 1, N_IN * N_OUT).astype(np.float32)
    b = rng.uniform(-1, 1, N_OUT).astype(np.float32)
    X = rng.uniform(0, 1, (ROWS, N_IN)).astype(np.float32)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "kern.py"
        src.write_text(KERNELS)
        subprocess.run([str(mb.mpy_cross()), "-march=armv7emsp", "-o", "kern.mpy", "kern.py"],
                       cwd=tmp, check=True)
        kern = (Path(tmp) / "kern.mpy").read_bytes()
    files = {"kern.mpy": kern, "w.bin": w.tobytes(), "b.bin": b.tobytes(),
             "x.bin": X.tobytes()}
    load = ("f = open('w.bin', 'rb'); w = array.array('f', f.read()); f.close()\n"
            "f = open('b.bin', 'rb'); b = array.array('f', f.read()); f.close()\n"
            "model = kern.{cls}(w, b, " + f"{N_IN}, {N_OUT})")
    for cls, what in (("PyDense", "plain Python, float32 array('f')"),
                      ("NativeDense", "@micropython.native, float32 array('f')"),
                      ("ViperDense8", "@micropython.viper, int8 tables, int32 accumulators "
                                      "+ TFLite requantization"),
                      ("ViperDense8U", "@micropython.viper, int8 weights x int32 inputs, "
                                       "4 per loop step, pointer increments (MACs only)")):
        _, ins, _, _ = mp_bench.run_script("m4", files, "import array, kern",
                                           load.format(cls=cls), "model", ROWS, N_IN,
                                           heap_size=1024 * 1024)
        rows.append((what, ins, ins / (N_IN * N_OUT)))
        print(f"{what}: {ins:,.0f} instr/predict, {ins / (N_IN * N_OUT):.1f} instr/MAC",
              flush=True)
    return rows


REGRESS_LOAD = """
m0 = ml.load("model.mlb")


class W:  # predict(x) = regress(x, out): the protocol's call; NOP: the wrapper alone
    def __init__(self, m, run):
        self.m, self.run = m, run
        self.o = array.array("f", [0.0])

    def predict(self, x):
        if self.run:
            self.m.regress(x, self.o)
        return 0


model = W(m0, {run})
"""


def median_rows(module: bytes, viper: bytes) -> list[tuple]:
    """AdaBoostRegressor (50 trees, diabetes): regress() in the viper engine and the C
    module, the wrapper's cost subtracted."""
    from sklearn.datasets import load_diabetes
    from sklearn.ensemble import AdaBoostRegressor

    X, y = load_diabetes(return_X_y=True)
    est = AdaBoostRegressor(n_estimators=50, random_state=0).fit(X, y)
    m = microlearn.convert(est)
    Xt = np.ascontiguousarray(X[:ROWS], dtype=np.float32)
    rows = []
    for what, mod in (("C module", module), ("viper engine", viper)):
        files = {"microlearn_mp.mpy": mod, "model.mlb": m.to_blob(), "x.bin": Xt.tobytes()}
        ins = []
        for run in (1, 0):
            _, n, _, heap = mp_bench.run_script("m4", files, "import array, microlearn_mp as ml",
                                                REGRESS_LOAD.format(run=run), "model", ROWS,
                                                X.shape[1])
            ins.append(n)
        rows.append((what, ins[0] - ins[1], len(est.estimators_)))
        print(f"AdaBoostRegressor({len(est.estimators_)}) {what}: {ins[0] - ins[1]:,.0f} "
              "instr/regress", flush=True)
    return rows


def nets_rows(module: bytes, viper: bytes) -> list[tuple]:
    """The int8 MLP 64-32-16-10 on digits: predict() of the viper engine (int8 file) and the
    C module (int8 and float32 files), instructions per call, heap held after load,
    agreement with the host C (int8: bit-exact classes) and with sklearn."""
    import warnings

    from sklearn.datasets import load_digits
    from sklearn.neural_network import MLPClassifier

    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = MLPClassifier((32, 16), max_iter=300, random_state=0).fit(X, y)
    m8 = microlearn.convert(est, quantize="int8", calibration=X[:200])
    mf = microlearn.convert(est)
    Xt = np.ascontiguousarray(X[1000:1000 + ROWS], dtype=np.float32)
    rows = []
    for what, mod, m in (("viper engine, int8 file", viper, m8),
                         ("C module, int8 file", module, m8),
                         ("C module, float32 file", module, mf)):
        r = mp_bench.run_predict(m.to_blob(), Xt, m.n_outputs, cpu="m4", mode="file",
                                 module=mod)
        host = float(np.mean(est.classes_[r.predictions] == m.predict(Xt)))
        agree = float(np.mean(est.classes_[r.predictions] == est.predict(Xt)))
        rows.append((what, r.instructions, r.heap_after_load, host, agree))
        print(f"MLP(32, 16) digits, {what}: {r.instructions:,.0f} instr/predict, "
              f"{r.instructions / 2720:.1f} per MAC, heap {r.heap_after_load:,} B, "
              f"host C {host:.0%}, sklearn {agree:.0%}; module {len(mod):,} B, "
              f"{r.heap_import:,} B of heap once imported", flush=True)
    return rows


def _print_nets(rows: list[tuple]) -> None:
    print("| int8 MLP 64-32-16-10 (digits), predict() on M4F | instructions / predict | "
          "instructions / MAC | heap held by the model | same class as the host C | "
          "agreement with sklearn |")
    print("|---|---|---|---|---|---|")
    for what, ins, heap, host, agree in rows:
        print(f"| {what} | {ins:,.0f} | {ins / 2720:.1f} | {heap:,} B | {host:.0%} | "
              f"{agree:.0%} |")
    print("| pure-Python fallback | - (runs tree files only) | | | | |")


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        module = mp_module.build("armv7emsp", Path(tmp), mp_module.family_set())[0].read_bytes()
        viper = mb.build_viper("armv7emsp", Path(tmp) / "v")[0].read_bytes()
    nets = nets_rows(module, viper)
    if "--nets-only" in sys.argv[1:]:
        print()
        _print_nets(nets)
        return 0
    medians = median_rows(module, viper)
    kernels = kernel_rows()
    c_rows = c_module_rows(module)
    print()
    print("| model (C module, armv7emsp) | instructions / predict | float MACs | "
          "agreement with sklearn |")
    print("|---|---|---|---|")
    for name, ins, macs, agree in c_rows:
        print(f"| {name} | {ins:,.0f} | {macs if macs else '-'} | {agree:.0%} |")
    print()
    print(f"| dense {N_IN}x{N_OUT} + relu + argmax, written in | instructions / predict | "
          "instructions / MAC |")
    print("|---|---|---|")
    for what, ins, per in kernels:
        print(f"| {what} | {ins:,.0f} | {per:.1f} |")
    print()
    print("| AdaBoostRegressor, diabetes (weighted median) | trees | instructions / regress |")
    print("|---|---|---|")
    for what, ins, nt in medians:
        print(f"| {what} | {nt} | {ins:,.0f} |")
    print()
    _print_nets(nets)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
