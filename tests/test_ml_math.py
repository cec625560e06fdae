"""microlearn/runtime/ml_math.h: float32 elementary functions without libm.

The header is compiled into a small shared library (the project's strict flags) whose
batch functions are called through ctypes; results are compared with numpy's float64
functions (error in ulps of the float32 result) or, for the correctly rounded ones (sqrt,
division), bit for bit with numpy's float32 operations. Arguments: 2^20 bit patterns
spread evenly over all float32 values plus dense ranges around 0, 1 and every threshold,
and all special values. Cross-compiled for Cortex-M0+ and Cortex-M4F: the objects may
only need libgcc's soft-float add/sub/mul/compare/conversion helpers (M0+) or nothing
(M4F); and run in QEMU, where the device must compute the host's bits.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from microlearn import codegen, targets
from microlearn.host_build import HOST_FLAGS, WARNING_FLAGS, find_compiler

ROOT = Path(__file__).resolve().parents[1]
RUNTIME = ROOT / "microlearn" / "runtime"
FIXTURES = Path(__file__).resolve().parent / "target_fixtures"

f32 = np.float32
u32 = np.uint32

#: documented error bounds (ulps), see ml_math.h
BOUNDS = {"exp": 1.0, "log": 1.0, "tanh": 2.0, "pow": 2.0}

LIB_SOURCE = r"""
#include "ml_math.h"
#ifdef __cplusplus
extern "C" {
#endif
#define ML_BATCH1(name, expr) \
    void b_##name(const float *x, float *y, int32_t n); \
    void b_##name(const float *x, float *y, int32_t n) \
    { for (int32_t i = 0; i < n; i++) { y[i] = expr; } }
#define ML_BATCH2(name, expr) \
    void b_##name(const float *a, const float *b, float *y, int32_t n); \
    void b_##name(const float *a, const float *b, float *y, int32_t n) \
    { for (int32_t i = 0; i < n; i++) { y[i] = expr; } }
ML_BATCH1(exp, ml_expf(x[i]))
ML_BATCH1(log, ml_logf(x[i]))
ML_BATCH1(sqrt, ml_sqrtf(x[i]))
ML_BATCH1(tanh, ml_tanhf(x[i]))
ML_BATCH1(recip, ml_reciprocalf(x[i]))
ML_BATCH2(pow, ml_powf(a[i], b[i]))
ML_BATCH2(div, ml_divf(a[i], b[i]))
int32_t b_hw(void);
int32_t b_hw(void) { return ML_MATH_HW_F32 + 2 * ML_MATH_HW_F64; }
void b_powi(const float *x, const int32_t *k, float *y, int32_t n);
void b_powi(const float *x, const int32_t *k, float *y, int32_t n)
{ for (int32_t i = 0; i < n; i++) { y[i] = ml_powif(x[i], k[i]); } }
#ifdef __cplusplus
}
#endif
"""

ONE_ARG = ("exp", "log", "sqrt", "tanh", "recip")
TWO_ARGS = ("pow", "div")


class MathLib:
    def __init__(self, path: Path) -> None:
        self.lib = ctypes.CDLL(str(path))

    def __call__(self, name: str, *args: np.ndarray) -> np.ndarray:
        arrays = [np.ascontiguousarray(a) for a in args]
        out = np.empty(arrays[0].shape, dtype=np.float32)
        fn = getattr(self.lib, f"b_{name}")
        fn(*(a.ctypes.data_as(ctypes.c_void_p) for a in arrays),
           out.ctypes.data_as(ctypes.c_void_p), ctypes.c_int32(out.size))
        return out


def build_lib(out_dir: Path, cc: str, lang_flags: tuple[str, ...], opt: str = "-O2",
              name: str = "ml_math_test", defines: tuple[str, ...] = ()) -> Path:
    src = out_dir / f"{name}.c"
    src.write_text(LIB_SOURCE)
    out = out_dir / f"lib{name}.so"
    flags = [f for f in HOST_FLAGS if f not in ("-O2",)] + [opt]
    if lang_flags:  # C++: its own standard flag instead of -std=c99 / -Wpedantic kept
        flags = [f for f in flags if f != "-std=c99"] + list(lang_flags)
    cmd = [cc, *flags, *defines, f"-I{RUNTIME}", str(src), "-o", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stderr}"
    return out


@pytest.fixture(scope="module")
def mlm(tmp_path_factory: pytest.TempPathFactory) -> MathLib:
    return MathLib(build_lib(tmp_path_factory.mktemp("mlmath"), find_compiler(), ()))


# ---------------------------------------------------------------------------------------
# arguments


def bits(values) -> np.ndarray:
    return np.asarray(values, dtype=np.uint64).astype(u32).view(f32)


def around(x: float, n: int = 64) -> np.ndarray:
    """float32 values within n ulps of x (both signs of x included)."""
    b = int(np.asarray(x, dtype=f32).view(u32))
    lo = max(b - n, 0) if b < 0x80000000 else max(b - n, 0x80000000)
    return bits(np.arange(lo, b + n + 1))


SPECIALS = np.concatenate([
    bits([0x00000000, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00000,
          0x7F800001, 0x7FBFFFFF, 0x00000001, 0x80000001, 0x007FFFFF, 0x807FFFFF,
          0x00800000, 0x80800000, 0x7F7FFFFF, 0xFF7FFFFF, 0x3F800000, 0xBF800000]),
    np.array([0.5, 2.0, 3.0, -2.0, 1e-30, 1e30, np.pi, -np.pi, 10.0, 100.0], dtype=f32),
])

THRESHOLDS = [
    88.72283935546875, -87.33654475, -103.97208, -104.0, -88.0, 0.34657359, -0.34657359,
    1.0, 0.70710678, 1.41421356, 0.5625, -0.5625, 9.0109134, -9.0109134, 1.2, 2.0, 0.5,
    1.1754944e-38, 2.0 ** -126, 2.0 ** -149, 3.4028235e38, 2.0 ** -12, 2.0 ** -25,
]


def sample() -> np.ndarray:
    """2^20 bit patterns evenly over all float32 + dense ranges + specials."""
    spread = bits(np.arange(0, 2 ** 32, 4093, dtype=np.uint64))
    dense = [around(t, 2048) for t in THRESHOLDS] + [around(-t, 2048) for t in THRESHOLDS]
    dense.append(bits(np.arange(0x3F7F0000, 0x3F810000)))   # around 1
    dense.append(bits(np.arange(0x00000000, 0x00800000, 61)))  # positive subnormals
    return np.concatenate([spread, *dense, SPECIALS])


X_ALL = sample()


def ulp_error(result: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """|result - ref| in ulps of float32 at ref (float64 reference); 0 where both are the
    same infinity or both NaN, inf where only one is NaN/infinite."""
    result64 = result.astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        ref32 = ref.astype(f32)
    _, e = np.frexp(ref)
    ulp = np.ldexp(1.0, np.maximum(e, -125) - 24)
    with np.errstate(invalid="ignore"):
        err = np.abs(result64 - ref) / ulp
    nan_r, nan_ref = np.isnan(result), np.isnan(ref)
    err[nan_r | nan_ref] = np.where((nan_r & nan_ref)[nan_r | nan_ref], 0.0, np.inf)
    inf = np.isinf(result) | np.isinf(ref32)
    both = inf & ~nan_r & ~nan_ref
    err[both] = np.where(result[both] == ref32[both], 0.0, np.inf)
    return err


def assert_same_bits(actual: np.ndarray, expected: np.ndarray, args: tuple = ()) -> None:
    nan_a, nan_e = np.isnan(actual), np.isnan(expected)
    bad = (nan_a != nan_e) | (~nan_e & (actual.view(u32) != expected.view(u32)))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        shown = ", ".join(f"{a[i]!r} (0x{int(a[i:i + 1].view(u32)[0]):08x})" for a in args)
        raise AssertionError(
            f"{int(bad.sum())} mismatches; first: args {shown}: got {actual[i]!r}, "
            f"expected {expected[i]!r}"
        )


# ---------------------------------------------------------------------------------------
# accuracy


REFS = {"exp": np.exp, "log": np.log, "tanh": np.tanh}


@pytest.mark.parametrize("name", ["exp", "log", "tanh"])
def test_max_ulp_error(mlm: MathLib, name: str) -> None:
    got = mlm(name, X_ALL)
    with np.errstate(all="ignore"):
        ref = REFS[name](X_ALL.astype(np.float64))
    err = ulp_error(got, ref)
    worst = int(np.argmax(err))
    assert err[worst] <= BOUNDS[name], (
        f"ml_{name}f({X_ALL[worst]!r}) = {got[worst]!r}, exact {ref[worst]!r}: "
        f"{err[worst]:.3f} ulp"
    )
    # nearly always the correctly rounded result
    with np.errstate(all="ignore"):
        ref32 = ref.astype(f32)
    same = (got.view(u32) == ref32.view(u32)) | (np.isnan(got) & np.isnan(ref32))
    assert same.mean() > 0.95


def test_special_values(mlm: MathLib) -> None:
    x = bits([0x00000000, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0x3F800000,
              0xBF800000])
    inf, nan = np.inf, np.nan
    exp = mlm("exp", x)
    np.testing.assert_array_equal(exp[:5], np.array([1, 1, inf, 0, nan], dtype=f32))
    log = mlm("log", x)
    np.testing.assert_array_equal(log[:6], np.array([-inf, -inf, inf, nan, nan, 0], f32))
    assert np.isnan(log[6]) and log[5].view(u32) == 0  # log(1) = +0
    tanh = mlm("tanh", x)
    np.testing.assert_array_equal(tanh[:5], np.array([0, -0.0, 1, -1, nan], f32))
    assert tanh[1].view(u32) == 0x80000000  # tanh(-0) = -0
    # thresholds: exp overflow / underflow, tanh saturation
    assert mlm("exp", np.array([88.72283935546875], f32))[0] == inf
    below = bits([0x42B17216])
    assert mlm("exp", below)[0] == np.exp(below.astype(np.float64)).astype(f32)[0]
    assert mlm("exp", bits([0x00000001, 0x80000001]))[0] == f32(1.0)
    assert mlm("exp", np.array([-103.97, -103.98, -200.0], f32)).tolist() == [
        float(bits([1])[0]), 0.0, 0.0]
    assert mlm("tanh", np.array([9.0109134, -9.0109134, 1e30], f32)).tolist() == [1, -1, 1]


def test_tanh_is_odd(mlm: MathLib) -> None:
    x = X_ALL[~np.isnan(X_ALL)]
    np.testing.assert_array_equal(mlm("tanh", -x).view(u32),
                                  (mlm("tanh", x).view(u32) ^ u32(0x80000000)))


def test_sqrt_correctly_rounded(mlm: MathLib) -> None:
    x = np.concatenate([X_ALL, bits(np.arange(0, 2 ** 23, 3)),  # subnormals
                        bits(np.arange(0x3F000000, 0x40800000, 7))])  # [0.5, 4)
    assert x.size > 2 ** 20
    with np.errstate(invalid="ignore"):
        expected = np.sqrt(x)
    assert_same_bits(mlm("sqrt", x), expected, (x,))


def random_pairs(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = bits(rng.integers(0, 2 ** 32, n, dtype=np.uint64))
    b = bits(rng.integers(0, 2 ** 32, n, dtype=np.uint64))
    # half of the divisors with small or large exponents: subnormal and overflowing
    # quotients, subnormal divisors
    small = bits(rng.integers(0, 2 ** 32, n // 2, dtype=np.uint64) & 0x80FFFFFF)
    b[: n // 2] = np.where(np.arange(n // 2) % 2 == 0, small, small.view(u32) | 0x7E000000)
    grid = np.concatenate([SPECIALS, around(1.0, 4), around(2.0 ** -126, 4)])
    ga, gb = np.meshgrid(grid, grid)
    return np.concatenate([a, ga.ravel()]), np.concatenate([b, gb.ravel()])


def test_division_correctly_rounded(mlm: MathLib) -> None:
    a, b = random_pairs(2 ** 20, 1)
    with np.errstate(all="ignore"):
        expected = a / b
        recip = f32(1.0) / b
    assert_same_bits(mlm("div", a, b), expected, (a, b))
    assert_same_bits(mlm("recip", b), recip, (b,))
    with np.errstate(all="ignore"):
        recip_all = f32(1.0) / X_ALL
    assert_same_bits(mlm("recip", X_ALL), recip_all, (X_ALL,))


def pow_args(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """x > 0; y random or chosen so that y log x covers the finite results densely,
    including the overflow (88.7) and subnormal (-87 .. -104) ends."""
    rng = np.random.default_rng(seed)
    x = bits(rng.integers(1, 0x7F800000, n, dtype=np.uint64))
    lx = np.log(x.astype(np.float64))
    t = np.concatenate([
        rng.uniform(-104.0, 89.0, n // 2),
        rng.uniform(87.0, 88.8, n // 4),
        rng.uniform(-104.0, -86.0, n - n // 2 - n // 4),
    ])
    with np.errstate(all="ignore"):
        y = (t / lx).astype(f32)
    y[::5] = bits(rng.integers(0, 2 ** 32, y[::5].size, dtype=np.uint64))  # any y
    y[1::7] = rng.uniform(0.1, 10.0, y[1::7].size).astype(f32)  # minkowski-like p
    y[2::7] = (1.0 / rng.uniform(0.1, 10.0, y[2::7].size)).astype(f32)
    ok = np.isfinite(y)
    return x[ok], y[ok]


def test_pow_accuracy(mlm: MathLib) -> None:
    x, y = pow_args(2 ** 20, 2)
    got = mlm("pow", x, y)
    with np.errstate(all="ignore"):
        ref = np.power(x.astype(np.float64), y.astype(np.float64))
    err = ulp_error(got, ref)
    worst = int(np.argmax(err))
    assert err[worst] <= BOUNDS["pow"], (
        f"ml_powf({x[worst]!r}, {y[worst]!r}) = {got[worst]!r}, exact {ref[worst]!r}: "
        f"{err[worst]:.3f} ulp"
    )


def test_pow_special_values(mlm: MathLib) -> None:
    """C99 powf semantics for x >= +0 (numpy's float32 power is the C library's powf)."""
    grid = np.concatenate([SPECIALS, np.array([0.25, 4.0, -0.5, 0.5, -3.0, 1e-40], f32)])
    x, y = (g.ravel() for g in np.meshgrid(grid, grid))
    got = mlm("pow", x, y)
    with np.errstate(all="ignore"):
        expected = np.power(x, y)
    positive = (x.view(u32) < 0x80000000) | np.isnan(x)
    # x < 0 (including -0 and -inf): NaN except pow(x, +-0) = 1
    negative = ~positive
    assert (got[negative & (y == 0)] == 1).all()
    assert np.isnan(got[negative & (y != 0) & ~(x == 0)]).all()
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(got[x == 0], np.power(np.abs(x[x == 0]), y[x == 0]))
    # x >= +0: as C99; correctly rounded results where the C library's are
    sel = positive & np.isfinite(expected)
    err = ulp_error(got[positive], expected[positive].astype(np.float64))
    assert (err <= BOUNDS["pow"]).all(), (x[positive][err > 2], y[positive][err > 2])
    assert sel.sum() > 100


def test_powi_is_libsvm_order(mlm: MathLib) -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal(4096).astype(f32) * f32(3)
    k = rng.integers(-2, 12, 4096).astype(np.int32)
    expected = np.empty_like(x)
    for i, (xi, ki) in enumerate(zip(x, k, strict=True)):
        tmp, ret, t = xi, f32(1.0), int(ki)
        with np.errstate(over="ignore"):
            while t > 0:
                if t % 2 == 1:
                    ret = f32(ret * tmp)
                tmp = f32(tmp * tmp)
                t //= 2
        expected[i] = ret
    assert_same_bits(mlm("powi", x, k), expected, (x,))


# ---------------------------------------------------------------------------------------
# determinism across compilers, C++, cross compilation


def test_same_bits_with_other_compilers(mlm: MathLib, tmp_path: Path) -> None:
    """clang, gcc -O0 and g++ (C++11) builds give the same bits."""
    builds = []
    if shutil.which("clang"):
        builds.append(("clang", (), "-O2"))
    if shutil.which("gcc"):
        builds.append(("gcc", (), "-O0"))
    if shutil.which("g++"):
        builds.append(("g++", ("-x", "c++", "-std=c++11"), "-O2"))
    if not builds:
        pytest.skip("no second compiler")
    a, b = random_pairs(2 ** 14, 4)
    px, py = pow_args(2 ** 14, 5)
    for i, (cc, lang, opt) in enumerate(builds):
        other = MathLib(build_lib(tmp_path, cc, lang, opt, name=f"other{i}"))
        for name in ONE_ARG:
            assert_same_bits(other(name, X_ALL), mlm(name, X_ALL), (X_ALL,))
        assert_same_bits(other("div", a, b), mlm("div", a, b), (a, b))
        assert_same_bits(other("pow", px, py), mlm("pow", px, py), (px, py))


def test_cxx_compiles_clean(tmp_path: Path) -> None:
    cxx = shutil.which("g++")
    if cxx is None:
        pytest.skip("g++ is not installed")
    src = tmp_path / "use.cc"
    src.write_text('#include "ml_math.h"\nfloat f(float x);\n'
                   "float f(float x) { return ml_expf(x) + ml_logf(x) + ml_sqrtf(x) + "
                   "ml_tanhf(x) + ml_powf(x, x) + ml_reciprocalf(x) + ml_powif(x, 3); }\n")
    proc = subprocess.run([cxx, "-x", "c++", "-std=c++11", "-Wall", "-Wextra", "-Werror",
                           "-Wpedantic", "-Wconversion", "-Wdouble-promotion",
                           f"-I{RUNTIME}", "-c", str(src), "-o", str(tmp_path / "use.o")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr


USE_SOURCE = r"""
#include "ml_math.h"
float u_exp(float x); float u_log(float x); float u_sqrt(float x); float u_tanh(float x);
float u_pow(float x, float y); float u_div(float a, float b); float u_rcp(float x);
float u_powi(float x, int32_t n);
float u_exp(float x) { return ml_expf(x); }
float u_log(float x) { return ml_logf(x); }
float u_sqrt(float x) { return ml_sqrtf(x); }
float u_tanh(float x) { return ml_tanhf(x); }
float u_pow(float x, float y) { return ml_powf(x, y); }
float u_div(float a, float b) { return ml_divf(a, b); }
float u_rcp(float x) { return ml_reciprocalf(x); }
float u_powi(float x, int32_t n) { return ml_powif(x, n); }
"""

#: libgcc soft-float helpers a Cortex-M0+ object may need (no division, no libm, no errno)
SOFT_FLOAT_OK = {
    "__aeabi_fadd", "__aeabi_fsub", "__aeabi_frsub", "__aeabi_fmul",
    "__aeabi_fcmpeq", "__aeabi_fcmplt", "__aeabi_fcmple", "__aeabi_fcmpge",
    "__aeabi_fcmpgt", "__aeabi_fcmpun", "__aeabi_cfcmpeq", "__aeabi_cfcmple",
    "__aeabi_cfrcmple", "__aeabi_i2f", "__aeabi_ui2f", "__aeabi_f2iz", "__aeabi_f2uiz",
}

ARM_BUILDS = {
    "cortex-m0plus": (("-mcpu=cortex-m0plus", "-mthumb", "-mfloat-abi=soft"), SOFT_FLOAT_OK),
    "cortex-m0plus-pic": (("-mcpu=cortex-m0plus", "-mthumb", "-mfloat-abi=soft", "-fpic"),
                          SOFT_FLOAT_OK),
    "cortex-m4f": (("-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"),
                   set()),
}


@pytest.mark.parametrize("build", list(ARM_BUILDS))
def test_arm_object_needs_no_libm(build: str, tmp_path: Path) -> None:
    if shutil.which("arm-none-eabi-gcc") is None or shutil.which("arm-none-eabi-nm") is None:
        pytest.skip("arm-none-eabi-gcc is not installed")
    flags, allowed = ARM_BUILDS[build]
    src = tmp_path / "use.c"
    src.write_text(USE_SOURCE)
    obj = tmp_path / "use.o"
    for opt in ("-Os", "-O2"):
        cmd = ["arm-none-eabi-gcc", *WARNING_FLAGS, opt, "-ffp-contract=off", *flags,
               f"-I{RUNTIME}", "-c", str(src), "-o", str(obj)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        nm = subprocess.run(["arm-none-eabi-nm", "-u", str(obj)], capture_output=True,
                            text=True, timeout=60, check=True)
        undefined = {line.split()[-1] for line in nm.stdout.splitlines() if line.strip()}
        assert undefined <= allowed, f"{build} {opt}: unexpected {sorted(undefined - allowed)}"
        # nothing writable: no .data / .bss
        size = subprocess.run(["arm-none-eabi-size", "-A", str(obj)], capture_output=True,
                              text=True, timeout=60, check=True).stdout
        for line in size.splitlines():
            fields = line.split()
            if fields and fields[0].startswith((".data", ".bss")):
                assert int(fields[1]) == 0, line


# ---------------------------------------------------------------------------------------
# on the device (QEMU): the same bits as the host


def math_header(select: int) -> str:
    return (f"#define MF_SELECT {select}\n" + codegen.runtime_source("ml_math.h") + "\n"
            + (FIXTURES / "math_fixture.h").read_text())


def device_rows(select: int) -> np.ndarray:
    rng = np.random.default_rng(10 + select)
    n = 600
    X = np.empty((n, 4), dtype=f32)
    X[:, 0] = (rng.standard_normal(n) * 40).astype(f32)
    X[:, 1] = bits(rng.integers(0, 0x7F800000, n, dtype=np.uint64))
    X[:, 2] = bits(rng.integers(0, 2 ** 32, n, dtype=np.uint64))
    X[:, 3] = (rng.standard_normal(n) * 4).astype(f32)
    if select == 8:
        X[:, 0] = np.abs(X[:, 1])
        X[:, 1] = (rng.uniform(-104, 89, n) / np.log(X[:, 0].astype(np.float64))).astype(f32)
        X[:, 2] = bits(rng.integers(0, 2 ** 32, n, dtype=np.uint64))
        X[:, 3] = bits(rng.integers(0, 2 ** 32, n, dtype=np.uint64) & 0x80FFFFFF)
    specials = np.resize(np.concatenate([SPECIALS, around(2.0 ** -126, 8),
                                         np.array(THRESHOLDS, f32)]), (64,))
    X[:64] = np.stack([specials, specials[::-1], specials, np.roll(specials, 5)], axis=1)
    return X


def host_expected(mlm: MathLib, select: int, X: np.ndarray) -> np.ndarray:
    if select == 0:
        cols = [mlm("exp", X[:, 0]), mlm("log", X[:, 1]), mlm("sqrt", X[:, 2]),
                mlm("tanh", X[:, 3])]
    else:
        cols = [mlm("pow", X[:, 0], X[:, 1]), mlm("div", X[:, 2], X[:, 3]),
                mlm("recip", X[:, 0]),
                mlm("powi", X[:, 1], np.full(len(X), 5, dtype=np.int32))]
    return np.stack(cols, axis=1)


DEVICE_TARGETS = ["cortex-m0plus", "cortex-m4f"]


@pytest.mark.parametrize("target", DEVICE_TARGETS)
@pytest.mark.parametrize("select", [0, 8])
def test_device_bits_equal_host(mlm: MathLib, target: str, select: int) -> None:
    reason = targets.unavailable_reason(target)
    if reason is not None:
        pytest.skip(reason)
    X = device_rows(select)
    run = targets.measure(target, math_header(select), "mf", "regressor", X, n_outputs=4,
                          n_features=4, count_instructions=False)
    np.testing.assert_array_equal(run.return_codes, 0)
    expected = host_expected(mlm, select, X)
    for j in range(4):
        assert_same_bits(run.outputs[:, j], expected[:, j], tuple(X[:, i] for i in range(4)))


# ---------------------------------------------------------------------------------------
# double precision: ml_div, ml_sqrt (correctly rounded), ml_exp, ml_log (<= 1 ulp),
# ml_tanh (<= 2 ulp); reference: Python's decimal module at 40 significant digits

import decimal  # noqa: E402

f64 = np.float64
u64 = np.uint64

#: documented error bounds (ulps of the float64 result), see ml_math.h
BOUNDS64 = {"exp": 1.0, "log": 1.0, "tanh": 2.0}

LIB64_SOURCE = r"""
#include "ml_math.h"
#ifdef __cplusplus
extern "C" {
#endif
#define ML_BATCH1(name, expr) \
    void d_##name(const double *x, double *y, int32_t n); \
    void d_##name(const double *x, double *y, int32_t n) \
    { for (int32_t i = 0; i < n; i++) { y[i] = expr; } }
#define ML_BATCH2(name, expr) \
    void d_##name(const double *a, const double *b, double *y, int32_t n); \
    void d_##name(const double *a, const double *b, double *y, int32_t n) \
    { for (int32_t i = 0; i < n; i++) { y[i] = expr; } }
ML_BATCH1(exp, ml_exp(x[i]))
ML_BATCH1(log, ml_log(x[i]))
ML_BATCH1(sqrt, ml_sqrt(x[i]))
ML_BATCH1(tanh, ml_tanh(x[i]))
ML_BATCH2(div, ml_div(a[i], b[i]))
ML_BATCH2(pow, ml_pow(a[i], b[i]))
#ifdef __cplusplus
}
#endif
"""


class MathLib64:
    def __init__(self, path: Path) -> None:
        self.lib = ctypes.CDLL(str(path))

    def __call__(self, name: str, *args: np.ndarray) -> np.ndarray:
        arrays = [np.ascontiguousarray(a, dtype=f64) for a in args]
        out = np.empty(arrays[0].shape, dtype=f64)
        getattr(self.lib, f"d_{name}")(*(a.ctypes.data_as(ctypes.c_void_p) for a in arrays),
                                       out.ctypes.data_as(ctypes.c_void_p),
                                       ctypes.c_int32(out.size))
        return out


def build_lib64(out_dir: Path, cc: str, opt: str = "-O2", name: str = "ml_math64",
                defines: tuple[str, ...] = ()) -> Path:
    src = out_dir / f"{name}.c"
    src.write_text(LIB64_SOURCE)
    out = out_dir / f"lib{name}.so"
    flags = [f for f in HOST_FLAGS if f != "-O2"] + [opt]
    cmd = [cc, *flags, *defines, f"-I{RUNTIME}", str(src), "-o", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stderr}"
    return out


@pytest.fixture(scope="module")
def mlm64(tmp_path_factory: pytest.TempPathFactory) -> MathLib64:
    return MathLib64(build_lib64(tmp_path_factory.mktemp("mlmath64"), find_compiler()))


def bits64(values) -> np.ndarray:
    return np.asarray(values, dtype=np.uint64).view(f64)


def around64(x: float, n: int) -> np.ndarray:
    b = int(np.asarray(x, dtype=f64).view(u64))
    return bits64(np.arange(max(b - n, 0), b + n + 1, dtype=np.uint64))


SPECIALS64 = bits64([0x0, 0x8000000000000000, 0x7FF0000000000000, 0xFFF0000000000000,
                     0x7FF8000000000000, 0xFFF8000000000000, 0x7FF0000000000001,
                     0x0000000000000001, 0x8000000000000001, 0x000FFFFFFFFFFFFF,
                     0x0010000000000000, 0x7FEFFFFFFFFFFFFF, 0xFFEFFFFFFFFFFFFF,
                     0x3FF0000000000000, 0xBFF0000000000000])


def sample64(seed: int, n_spread: int, lo: float, hi: float, thresholds: list[float],
             n_dense: int = 512) -> np.ndarray:
    """Bit patterns spread over all doubles, uniform values in [lo, hi] (where the
    function has finite, non-trivial results), dense ranges around the thresholds."""
    rng = np.random.default_rng(seed)
    spread = bits64(rng.integers(0, 2 ** 64, n_spread, dtype=np.uint64))
    uniform = rng.uniform(lo, hi, n_spread)
    # also log-uniform magnitudes (small arguments)
    small = np.exp(rng.uniform(-50.0, 0.0, n_spread // 4)) * rng.choice([-1.0, 1.0],
                                                                         n_spread // 4)
    dense = [around64(t, n_dense) for t in thresholds]
    return np.concatenate([spread, uniform, small, *dense, SPECIALS64])


def ulp_error64(x: np.ndarray, got: np.ndarray, fn) -> np.ndarray:
    """|got - f(x)| in ulps of the float64 result, f evaluated in decimal at 40 digits
    (0 for equal non-finite results, inf for a non-finite mismatch)."""
    ctx = decimal.Context(prec=40)
    err = np.zeros(x.size)
    for i, (xi, gi) in enumerate(zip(x.tolist(), got.tolist(), strict=True)):
        ref = fn(ctx, xi)
        if isinstance(ref, float):  # special value given as a float
            same = (np.isnan(ref) and np.isnan(gi)) or ref == gi
            err[i] = 0.0 if same else np.inf
            continue
        r = float(ref)
        if not np.isfinite(gi) or not np.isfinite(r):
            err[i] = 0.0 if gi == r else np.inf
            continue
        _, e = np.frexp(r) if r != 0.0 else (0.0, -1073)
        ulp = decimal.Decimal(2) ** (max(int(e), -1021) - 53)
        err[i] = float(abs(ctx.subtract(decimal.Decimal(gi), ref)) / ulp)
    return err


def dec_exp(ctx: decimal.Context, x: float):
    if np.isnan(x):
        return float("nan")
    if x > 710:
        return float("inf")
    if x < -746:
        return 0.0
    return ctx.exp(decimal.Decimal(x))


def dec_log(ctx: decimal.Context, x: float):
    if np.isnan(x) or x < 0:
        return float("nan")
    if x == 0:
        return float("-inf")
    if np.isinf(x):
        return float("inf")
    return ctx.ln(decimal.Decimal(x))


def dec_tanh(ctx: decimal.Context, x: float):
    if np.isnan(x):
        return float("nan")
    if abs(x) > 40:
        return float(np.sign(x))
    if x == 0:
        return x
    d = decimal.Decimal(x)
    if abs(x) < 1e-5:  # series, avoiding the cancellation of (e^2x - 1)
        d2 = d * d
        return ctx.multiply(d, 1 - d2 / 3 + 2 * d2 * d2 / 15 - 17 * d2 ** 3 / 315)
    e = ctx.exp(2 * d)
    return ctx.divide(e - 1, e + 1)


DEC_REFS = {"exp": dec_exp, "log": dec_log, "tanh": dec_tanh}
ARGS64 = {
    "exp": (-746.0, 710.0, [709.782712893384, -745.1332191019412, -708.3964185322641,
                            0.0, 0.34657359027997264, -0.34657359027997264, 2.0 ** -28,
                            -(2.0 ** -28)]),
    "log": (0.0, 4.0, [1.0, 0.7071067811865476, 1.4142135623730951, 2.0, 0.5,
                       2.2250738585072014e-308, 1.0 + 2.0 ** -20, 1.0 - 2.0 ** -20]),
    "tanh": (-23.0, 23.0, [0.5625, -0.5625, 22.0, -22.0, 2.0 ** -28, 1e-5, 0.25, 1.0]),
}


@pytest.mark.parametrize("name", ["exp", "log", "tanh"])
def test_double_max_ulp_error(mlm64: MathLib64, name: str) -> None:
    lo, hi, thresholds = ARGS64[name]
    x = sample64(20 + len(name), 40000, lo, hi, thresholds)
    got = mlm64(name, x)
    err = ulp_error64(x, got, DEC_REFS[name])
    worst = int(np.argmax(err))
    assert err[worst] <= BOUNDS64[name], (
        f"ml_{name}({x[worst]!r}) = {got[worst]!r}: {err[worst]:.3f} ulp")
    # and nearly always the correctly rounded result
    assert (err < 0.5 + 1e-9).mean() > 0.95


def test_double_special_values(mlm64: MathLib64) -> None:
    inf, nan = np.inf, np.nan
    x = np.array([0.0, -0.0, inf, -inf, nan, 1.0, -1.0])
    exp = mlm64("exp", x)
    np.testing.assert_array_equal(exp[:5], [1, 1, inf, 0, nan])
    # fdlibm's (and Java StrictMath's) e^1 is 1 ulp above the correctly rounded e
    assert abs(exp[5] - np.e) <= np.spacing(np.e) and abs(exp[6] - 1 / np.e) <= np.spacing(0.3)
    log = mlm64("log", x)
    np.testing.assert_array_equal(log[:5], [-inf, -inf, inf, nan, nan])
    assert log[5].view(u64) == 0 and np.isnan(log[6])
    tanh = mlm64("tanh", x)
    np.testing.assert_array_equal(tanh[:5], [0.0, -0.0, 1.0, -1.0, nan])
    assert tanh[1].view(u64) == 0x8000000000000000
    assert mlm64("exp", np.array([709.79, -745.14, 709.78]))[:2].tolist() == [inf, 0.0]
    assert mlm64("exp", np.array([-745.13]))[0] == 5e-324
    t = np.concatenate([sample64(5, 2000, -23.0, 23.0, [0.5625])])
    t = t[~np.isnan(t)]
    np.testing.assert_array_equal(mlm64("tanh", -t).view(u64),
                                  mlm64("tanh", t).view(u64) ^ u64(0x8000000000000000))


def test_double_sqrt_correctly_rounded(mlm64: MathLib64) -> None:
    rng = np.random.default_rng(30)
    x = np.concatenate([bits64(rng.integers(0, 2 ** 64, 2 ** 20, dtype=np.uint64)),
                        bits64(rng.integers(0, 2 ** 52, 2 ** 16, dtype=np.uint64)),
                        rng.uniform(0.0, 4.0, 2 ** 18), SPECIALS64,
                        around64(1.0, 4096), around64(4.0, 4096)])
    with np.errstate(invalid="ignore"):
        expected = np.sqrt(x)
    got = mlm64("sqrt", x)
    bad = (np.isnan(got) != np.isnan(expected)) | (
        ~np.isnan(expected) & (got.view(u64) != expected.view(u64)))
    assert not bad.any(), (x[bad][:5], got[bad][:5], expected[bad][:5])


def test_double_division_correctly_rounded(mlm64: MathLib64) -> None:
    rng = np.random.default_rng(31)
    n = 2 ** 20
    a = bits64(rng.integers(0, 2 ** 64, n, dtype=np.uint64))
    b = bits64(rng.integers(0, 2 ** 64, n, dtype=np.uint64))
    # divisors with small / large exponents: subnormal and overflowing quotients
    small = bits64(rng.integers(0, 2 ** 64, n // 2, dtype=np.uint64) & 0x801FFFFFFFFFFFFF)
    b[: n // 2] = np.where(np.arange(n // 2) % 2 == 0, small,
                           bits64(small.view(u64) | u64(0x7FC0000000000000)))
    # ordinary magnitudes (the families' use)
    a2, b2 = rng.standard_normal(n) * 100, rng.uniform(0.5, 4.0, n)
    grid = np.concatenate([SPECIALS64, around64(1.0, 3), around64(2.0 ** -1022, 3)])
    ga, gb = np.meshgrid(grid, grid)
    a = np.concatenate([a, a2, ga.ravel()])
    b = np.concatenate([b, b2, gb.ravel()])
    with np.errstate(all="ignore"):
        expected = a / b
    got = mlm64("div", a, b)
    bad = (np.isnan(got) != np.isnan(expected)) | (
        ~np.isnan(expected) & (got.view(u64) != expected.view(u64)))
    assert not bad.any(), (a[bad][:5], b[bad][:5], got[bad][:5], expected[bad][:5])


def test_double_same_bits_with_other_compilers(mlm64: MathLib64, tmp_path: Path) -> None:
    builds = [(cc, opt) for cc, opt in (("clang", "-O2"), ("gcc", "-O0")) if shutil.which(cc)]
    if not builds:
        pytest.skip("no second compiler")
    x = np.concatenate([sample64(40, 4000, -30.0, 30.0, [0.5625]), SPECIALS64])
    rng = np.random.default_rng(41)
    a, b = rng.standard_normal(4000) * 1e3, bits64(rng.integers(0, 2 ** 64, 4000,
                                                                  dtype=np.uint64))
    for i, (cc, opt) in enumerate(builds):
        other = MathLib64(build_lib64(tmp_path, cc, opt, name=f"other64_{i}"))
        for name in ("exp", "log", "sqrt", "tanh"):
            np.testing.assert_array_equal(other(name, x).view(u64), mlm64(name, x).view(u64))
        np.testing.assert_array_equal(other("div", a, b).view(u64),
                                      mlm64("div", a, b).view(u64))


USE64_SOURCE = r"""
#include "ml_math.h"
double v_exp(double x); double v_log(double x); double v_sqrt(double x);
double v_tanh(double x); double v_div(double a, double b);
double v_exp(double x) { return ml_exp(x); }
double v_log(double x) { return ml_log(x); }
double v_sqrt(double x) { return ml_sqrt(x); }
double v_tanh(double x) { return ml_tanh(x); }
double v_div(double a, double b) { return ml_div(a, b); }
"""

#: libgcc helpers a Cortex-M object of the double functions may need: soft-double
#: add/sub/mul/compare/conversions and 64-bit shifts; never __aeabi_ddiv, never libm
SOFT_DOUBLE_OK = SOFT_FLOAT_OK | {
    "__aeabi_dadd", "__aeabi_dsub", "__aeabi_drsub", "__aeabi_dmul",
    "__aeabi_dcmpeq", "__aeabi_dcmplt", "__aeabi_dcmple", "__aeabi_dcmpge",
    "__aeabi_dcmpgt", "__aeabi_dcmpun", "__aeabi_cdcmpeq", "__aeabi_cdcmple",
    "__aeabi_cdrcmple", "__aeabi_i2d", "__aeabi_ui2d", "__aeabi_d2iz", "__aeabi_d2uiz",
    "__aeabi_llsl", "__aeabi_llsr", "__aeabi_lasr", "__aeabi_f2d", "__aeabi_d2f",
}


@pytest.mark.parametrize("build", list(ARM_BUILDS))
def test_arm_double_object_needs_no_libm_no_ddiv(build: str, tmp_path: Path) -> None:
    if shutil.which("arm-none-eabi-gcc") is None or shutil.which("arm-none-eabi-nm") is None:
        pytest.skip("arm-none-eabi-gcc is not installed")
    flags, _ = ARM_BUILDS[build]
    src = tmp_path / "use64.c"
    src.write_text(USE64_SOURCE)
    obj = tmp_path / "use64.o"
    for opt in ("-Os", "-O2"):
        cmd = ["arm-none-eabi-gcc", *WARNING_FLAGS, opt, "-ffp-contract=off", *flags,
               f"-I{RUNTIME}", "-c", str(src), "-o", str(obj)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        nm = subprocess.run(["arm-none-eabi-nm", "-u", str(obj)], capture_output=True,
                            text=True, timeout=60, check=True)
        undefined = {line.split()[-1] for line in nm.stdout.splitlines() if line.strip()}
        assert undefined <= SOFT_DOUBLE_OK, f"{build} {opt}: {sorted(undefined - SOFT_DOUBLE_OK)}"


# ---------------------------------------------------------------------------------------
# host hardware division / square root (ML_MATH_HW_F32 / ML_MATH_HW_F64) == portable code


def _same_bits32(got: np.ndarray, expected: np.ndarray, args: tuple) -> None:
    """Bit for bit, NaNs included (the hardware path must return the portable NaNs)."""
    bad = got.view(u32) != expected.view(u32)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        shown = ", ".join(f"0x{int(a[i:i + 1].view(u32)[0]):08x}" for a in args)
        raise AssertionError(f"{int(bad.sum())} mismatches; first: args {shown}: "
                             f"0x{int(got[i:i + 1].view(u32)[0]):08x} != "
                             f"0x{int(expected[i:i + 1].view(u32)[0]):08x}")


def test_hardware_path_equals_portable_path(mlm: MathLib, mlm64: MathLib64,
                                            tmp_path: Path) -> None:
    """The default build (SSE / AArch64 DIV and SQRT instructions on such hosts) and a
    build with -DML_MATH_PORTABLE (integer code, as on Cortex-M0+) give the same bits,
    NaN payloads included, on > 2^20 arguments of every function that uses them."""
    cc = find_compiler()
    port = MathLib(build_lib(tmp_path, cc, (), name="portable32",
                             defines=("-DML_MATH_PORTABLE",)))
    port64 = MathLib64(build_lib64(tmp_path, cc, name="portable64",
                                   defines=("-DML_MATH_PORTABLE",)))
    hw = int(mlm.lib.b_hw())
    assert int(port.lib.b_hw()) == 0
    import platform
    if platform.machine().lower() in ("x86_64", "amd64", "aarch64", "arm64"):
        assert hw == 3, "the host's hardware division / square root path is not used"
    # float32
    x = np.concatenate([X_ALL, bits(np.arange(0, 2 ** 23, 3)),
                        bits(np.arange(0x3F000000, 0x40800000, 7)),
                        bits(np.arange(0x80000000, 2 ** 32, 4099, dtype=np.uint64))])
    assert x.size > 2 ** 20
    _same_bits32(mlm("sqrt", x), port("sqrt", x), (x,))
    _same_bits32(mlm("recip", x), port("recip", x), (x,))
    a, b = random_pairs(2 ** 20, 7)
    _same_bits32(mlm("div", a, b), port("div", a, b), (a, b))
    # functions built on division / square root
    for name in ("tanh", "log", "exp"):
        _same_bits32(mlm(name, X_ALL), port(name, X_ALL), (X_ALL,))
    pa, pb = pow_args(2 ** 16, 8)
    _same_bits32(mlm("pow", pa, pb), port("pow", pa, pb), (pa, pb))
    # float64
    rng = np.random.default_rng(9)
    n = 2 ** 20
    x64 = np.concatenate([bits64(rng.integers(0, 2 ** 64, n, dtype=np.uint64)),
                          bits64(rng.integers(0, 2 ** 52, 2 ** 16, dtype=np.uint64)),
                          rng.uniform(0.0, 4.0, 2 ** 16), SPECIALS64,
                          around64(1.0, 4096)])
    np.testing.assert_array_equal(mlm64("sqrt", x64).view(u64), port64("sqrt", x64).view(u64))
    a64 = bits64(rng.integers(0, 2 ** 64, n, dtype=np.uint64))
    b64 = bits64(rng.integers(0, 2 ** 64, n, dtype=np.uint64))
    small = bits64(rng.integers(0, 2 ** 64, n // 2, dtype=np.uint64) & 0x801FFFFFFFFFFFFF)
    b64[: n // 2] = np.where(np.arange(n // 2) % 2 == 0, small,
                             bits64(small.view(u64) | u64(0x7FC0000000000000)))
    ga, gb = np.meshgrid(SPECIALS64, SPECIALS64)
    a64 = np.concatenate([a64, rng.standard_normal(2 ** 16) * 100, ga.ravel()])
    b64 = np.concatenate([b64, rng.uniform(0.5, 4.0, 2 ** 16), gb.ravel()])
    np.testing.assert_array_equal(mlm64("div", a64, b64).view(u64),
                                  port64("div", a64, b64).view(u64))
    xs = np.concatenate([sample64(42, 2 ** 16, -30.0, 30.0, [0.5625]), SPECIALS64])
    for name in ("exp", "log", "tanh"):
        np.testing.assert_array_equal(mlm64(name, xs).view(u64), port64(name, xs).view(u64))


def test_aarch64_hardware_path_compiles(tmp_path: Path) -> None:
    """The AArch64 inline assembly (FSQRT) assembles (cross compiler or clang)."""
    src = tmp_path / "a64.c"
    src.write_text(LIB_SOURCE.replace('#include "ml_math.h"',
                                      '#include "ml_math.h"\n'
                                      '#if !ML_MATH_HW_F32 || !ML_MATH_HW_F64\n'
                                      '#error "no hardware path"\n#endif'))
    for cmd in (["aarch64-linux-gnu-gcc"], ["clang", "--target=aarch64-linux-gnu"]):
        if shutil.which(cmd[0]):
            break
    else:
        pytest.skip("no AArch64 compiler")
    full = [*cmd, "-std=c99", "-O2", "-ffp-contract=off", "-ffreestanding", *WARNING_FLAGS,
            f"-I{RUNTIME}", "-c", str(src), "-o", str(tmp_path / "a64.o")]
    proc = subprocess.run(full, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr


def test_double_pow_accuracy_and_special_values(mlm64: MathLib64) -> None:
    """ml_pow (x >= 0): within 2 + 2 |y ln x| ulp of numpy's float64 power (glibc pow,
    < 1 ulp: 1 more allowed), over x spread over all positive doubles and y such that
    y ln x covers the finite results; special values as documented (ml_powf's)."""
    rng = np.random.default_rng(50)
    n = 2 ** 18
    x = np.concatenate([bits64(rng.integers(1, 0x7FF0000000000000, n, dtype=np.uint64)),
                        rng.uniform(0.0, 10.0, n), rng.uniform(0.5, 2.0, n)])
    lnx = np.log(x)
    y = np.concatenate([rng.uniform(-4.0, 4.0, n), rng.uniform(0.25, 8.0, n),
                        rng.uniform(-1.0, 1.0, n) * 700.0])
    # y ln x in [-740, 705]: the largest and the subnormal results
    t = rng.uniform(-740.0, 705.0, 3 * n)
    pick = rng.random(3 * n) < 0.5
    y = np.where(pick & (lnx != 0.0), t / np.where(lnx == 0.0, 1.0, lnx), y)
    with np.errstate(all="ignore"):
        ref = np.power(x, y)
    got = mlm64("pow", x, y)
    fin = np.isfinite(ref) & (ref > np.finfo(np.float64).tiny)
    err = np.abs(got[fin] - ref[fin]) / np.spacing(ref[fin])
    allowed = 3.0 + 2.0 * np.abs(y[fin] * lnx[fin])
    assert np.all(err <= allowed), float(np.max(err - allowed))
    # subnormal results: absolute error within a few subnormal steps
    sub = np.isfinite(ref) & (ref <= np.finfo(np.float64).tiny)
    assert np.all(np.abs(got[sub] - ref[sub]) <= (3.0 + 2.0 * 745.0) * 2.0 ** -1074
                  + 2.0 ** -52 * ref[sub] * (3.0 + 2.0 * np.abs(y[sub] * lnx[sub])))
    inf, nan = np.inf, np.nan
    cases = [(2.0, 0.0, 1.0), (nan, 0.0, 1.0), (nan, -0.0, 1.0), (1.0, nan, 1.0),
             (1.0, inf, 1.0), (nan, 2.0, nan), (2.0, nan, nan), (0.0, 2.0, 0.0),
             (-0.0, 2.0, 0.0), (0.0, -1.0, inf), (inf, 2.0, inf), (inf, -2.0, 0.0),
             (2.0, inf, inf), (2.0, -inf, 0.0), (0.5, inf, 0.0), (0.5, -inf, inf),
             (-2.0, 2.0, nan), (-inf, 2.0, nan), (4.0, 0.5, 2.0), (2.0, 1.0, 2.0),
             (1e300, 10.0, inf), (1e-300, 10.0, 0.0)]
    a = np.array([c[0] for c in cases])
    b = np.array([c[1] for c in cases])
    want = np.array([c[2] for c in cases])
    got = mlm64("pow", a, b)
    ok = np.where(np.isnan(want), np.isnan(got), got == want)
    assert ok.all(), [(c, g) for c, g, o in zip(cases, got, ok, strict=True) if not o]
