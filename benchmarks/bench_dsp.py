#!/usr/bin/env python3
"""microlearn's spectral DSP (ml_fft.h, ml_mel.h) vs CMSIS-DSP on emulated Cortex-M.

Measured in one QEMU run per core (instructions executed per call, counted by the
project's TCG plugin between bench_start() and bench_stop(), minus the markers' own cost):

* real FFT, N = 256 / 512 / 1024: ``ml_rfft_f32`` vs CMSIS-DSP's ``arm_rfft_fast_f32``
  (each call copies the N input samples first: CMSIS overwrites its input);
* one MFCC frame (512-point FFT, 40 mels, 13 coefficients): ``ml_mfcc_f32`` (librosa's
  pipeline: Hann window, power spectrum, Slaney mel, 10 log10 with top_db 80, orthonormal
  DCT-II) vs ``arm_mfcc_f32`` (max-normalisation, window, magnitude, mel, ln(x + 1e-6)
  through newlib's logf, DCT matrix); the same mel table for both;
* ``ml_rfft_q15`` for the same sizes; everything on Cortex-M4F and on Cortex-M0+ (soft
  float).

Flash and static RAM per FFT size: firmware with one size's init + call minus a firmware
that calls nothing (code + constant tables; our twiddles are computed at init into the
instance, i.e. RAM: ``ML_RFFT_MAX_N`` = N).

CMSIS-DSP comes from the PyPI sdist ``cmsisdsp==1.10.3`` (Apache-2.0), downloaded with pip
into the cache directory and compiled here only (never shipped): the float path with
``__GNUC_PYTHON__`` (no CMSIS-Core) and ``ARM_MATH_LOOPUNROLL``. Both sides are built by
arm-none-eabi-gcc with the target's flags (``-Os -ffp-contract=off``, CPU/FPU flags,
newlib-nano) and called from the same harness code. Outputs are checked against numpy.

Run: ``.venv/bin/python benchmarks/bench_dsp.py`` (``--write`` appends a ``## DSP``
section to benchmarks/RESULTS_dsp.md).
"""

from __future__ import annotations

import argparse
import datetime
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from microlearn import dsp, targets  # noqa: E402
from microlearn.host_build import cache_dir  # noqa: E402

RUNTIME = REPO / "microlearn" / "runtime"
TARGET_DIR = RUNTIME / "target"
RESULTS = HERE / "RESULTS_dsp.md"
CMSIS_VERSION = "1.10.3"
SIZES = (256, 512, 1024)
SR = 8000
N_MFCC_FFT, N_MELS, N_MFCC = 512, 40, 13

CMSIS_FFT_FILES = [
    "CommonTables/arm_common_tables.c", "CommonTables/arm_const_structs.c",
    "TransformFunctions/arm_bitreversal2.c", "TransformFunctions/arm_cfft_radix8_f32.c",
    "TransformFunctions/arm_cfft_f32.c", "TransformFunctions/arm_cfft_init_f32.c",
    "TransformFunctions/arm_rfft_fast_f32.c", "TransformFunctions/arm_rfft_fast_init_f32.c",
]
CMSIS_MFCC_FILES = [
    "TransformFunctions/arm_mfcc_f32.c", "TransformFunctions/arm_mfcc_init_f32.c",
    "BasicMathFunctions/arm_scale_f32.c", "BasicMathFunctions/arm_mult_f32.c",
    "BasicMathFunctions/arm_offset_f32.c", "BasicMathFunctions/arm_dot_prod_f32.c",
    "StatisticsFunctions/arm_absmax_f32.c", "ComplexMathFunctions/arm_cmplx_mag_f32.c",
    "FastMathFunctions/arm_vlog_f32.c", "MatrixFunctions/arm_mat_vec_mult_f32.c",
]
CMSIS_DEFINES = ["-D__GNUC_PYTHON__", "-DARM_MATH_LOOPUNROLL"]

FIRMWARE_C = r"""
#include <stdint.h>
#include <string.h>
#include "ml_fft.h"
#include "ml_mel.h"
#include "arm_math.h"
#include "mlh_semihost.h"
#include "bench_tables.h"

#define NOINL __attribute__((noipa, noinline, used))
NOINL void bench_start(void);
NOINL void bench_stop(void);
void bench_start(void) { __asm__ volatile(""); }
void bench_stop(void) { __asm__ volatile(""); }

static float work[1024 + 2];
static float out[1024 + 2];
static int16_t work16[1024];
static int16_t out16[1024 + 2];

NOINL void copy_in(float *dst, int32_t n);
void copy_in(float *dst, int32_t n) { memcpy(dst, bench_signal, (size_t)n * sizeof(float)); }

#if BENCH_WHAT == 0 || BENCH_WHAT == 1
NOINL void run_ml(const ml_rfft_f32_t *S, int32_t n);
void run_ml(const ml_rfft_f32_t *S, int32_t n) { copy_in(work, n); ml_rfft_f32(S, work, out); }
#endif
#if BENCH_WHAT == 0
NOINL void run_ml_q15(const ml_rfft_q15_t *S, int32_t n);
void run_ml_q15(const ml_rfft_q15_t *S, int32_t n)
{
    memcpy(work16, bench_signal_q15, (size_t)n * sizeof(int16_t));
    ml_rfft_q15(S, work16, out16);
}
#endif
#if BENCH_WHAT == 0 || BENCH_WHAT == 2
NOINL void run_arm(arm_rfft_fast_instance_f32 *S, int32_t n);
void run_arm(arm_rfft_fast_instance_f32 *S, int32_t n)
{
    copy_in(work, n);
    arm_rfft_fast_f32(S, work, out, 0);
}
#endif

/* results file: float words */
static int32_t handle;
static void put(const void *p, uint32_t bytes)
{
    uint32_t block[3];
    block[0] = (uint32_t)handle;
    block[1] = (uint32_t)(uintptr_t)p;
    block[2] = bytes;
    if (mlh_semihost_call(MLH_SYS_WRITE, block) != 0) {
        mlh_exit(MLH_EXIT_WRITE_FAILED);
    }
}

#if BENCH_WHAT == 0
static ml_rfft_f32_t ml_fft;
static ml_rfft_q15_t ml_fft_q15;
static arm_rfft_fast_instance_f32 arm_fft;
#if BENCH_MFCC
static ml_rfft_f32_t mf_fft;
static ml_mel_f32_t mf_mel;
static ml_dct2_f32_t mf_dct;
static float mf_dct_matrix[N_MFCC * N_MELS];
static ml_mfcc_f32_t mf;
static float mf_scratch[ML_MFCC_SCRATCH(512, N_MELS)];
static float mf_frame[512];
static float mf_out[N_MFCC];
static arm_mfcc_instance_f32 amf;
static float amf_tmp[512 + 2];

NOINL void run_ml_mfcc(void);
void run_ml_mfcc(void) { copy_in(mf_frame, 512); ml_mfcc_f32(&mf, mf_frame, mf_scratch, mf_out); }
NOINL void run_arm_mfcc(void);
void run_arm_mfcc(void) { copy_in(mf_frame, 512); arm_mfcc_f32(&amf, mf_frame, mf_out, amf_tmp); }
#endif

int main(void)
{
    static const char name[] = "bench_out.bin";
    static const int32_t sizes[3] = {256, 512, 1024};
    uint32_t block[3];
    int32_t i;
    block[0] = (uint32_t)(uintptr_t)name;
    block[1] = MLH_OPEN_MODE_WB;
    block[2] = (uint32_t)(sizeof name - 1u);
    handle = mlh_semihost_call(MLH_SYS_OPEN, block);
    if (handle < 0) {
        mlh_exit(MLH_EXIT_OPEN_FAILED);
    }
    bench_start();
    bench_stop();
    for (i = 0; i < 3; i++) {
        const int32_t n = sizes[i];
        if (ml_rfft_f32_init(&ml_fft, n) != ML_OK) { mlh_exit(10); }
        if (arm_rfft_fast_init_f32(&arm_fft, (uint16_t)n) != ARM_MATH_SUCCESS) { mlh_exit(11); }
        if (ml_rfft_q15_init(&ml_fft_q15, n) != ML_OK) { mlh_exit(12); }
        bench_start();
        run_ml(&ml_fft, n);
        bench_stop();
        put(out, (uint32_t)(n + 2) * 4u);
        bench_start();
        run_arm(&arm_fft, n);
        bench_stop();
        put(out, (uint32_t)(n + 2) * 4u);
        bench_start();
        run_ml_q15(&ml_fft_q15, n);
        bench_stop();
        put(out16, (uint32_t)(n + 2) * 2u);
    }
#if BENCH_MFCC
    if (ml_rfft_f32_init(&mf_fft, 512) != ML_OK ||
        ml_mel_f32_init(&mf_mel, N_MELS, 257, mel_start, mel_length, mel_weights) != ML_OK ||
        ml_dct2_f32_init(&mf_dct, N_MELS, N_MFCC, 1, 0, mf_dct_matrix) != ML_OK ||
        ml_mfcc_f32_init(&mf, &mf_fft, bench_window, &mf_mel, 2, &mf_dct, 1e-10f, 80.0f) !=
            ML_OK) {
        mlh_exit(13);
    }
    if (arm_mfcc_init_f32(&amf, 512, N_MELS, N_MFCC, arm_dct, arm_mel_pos, arm_mel_len,
                          mel_weights, bench_window) != ARM_MATH_SUCCESS) {
        mlh_exit(14);
    }
    bench_start();
    run_ml_mfcc();
    bench_stop();
    put(mf_out, N_MFCC * 4u);
    bench_start();
    run_arm_mfcc();
    bench_stop();
    put(mf_out, N_MFCC * 4u);
#endif
    block[0] = (uint32_t)handle;
    (void)mlh_semihost_call(MLH_SYS_CLOSE, block);
    return 0;
}
#else
/* size builds: BENCH_WHAT 1 ours, 2 CMSIS, 3 nothing; BENCH_N the size */
#if BENCH_WHAT == 1
static ml_rfft_f32_t fft;
#elif BENCH_WHAT == 2
static arm_rfft_fast_instance_f32 fft;
#endif
int main(void)
{
    bench_start();
#if BENCH_WHAT == 1
    if (ml_rfft_f32_init(&fft, BENCH_N) != ML_OK) { return 1; }
    run_ml(&fft, BENCH_N);
#elif BENCH_WHAT == 2
    if (BENCH_ARM_INIT(&fft) != ARM_MATH_SUCCESS) { return 1; }
    run_arm(&fft, BENCH_N);
#else
    copy_in(work, BENCH_N); /* the same input, buffers and memcpy as the FFT builds */
    out[0] = work[1];
#endif
    bench_stop();
    return (int)out[0];
}
#endif
"""


def c_floats(name: str, v: np.ndarray) -> str:
    body = ",".join(f"{float(x):.9e}f" for x in np.asarray(v, dtype=np.float32))
    return f"static const float {name}[{len(v)}] = {{{body}}};\n"


def c_ints(name: str, ctype: str, v: np.ndarray) -> str:
    return f"static const {ctype} {name}[{len(v)}] = {{{','.join(str(int(x)) for x in v)}}};\n"


def signal() -> np.ndarray:
    """1024 samples of a spoken digit (FSDD) if available, else a chirp with noise."""
    for root in (REPO.parent / "shared" / "datasets", Path("/work/shared/datasets")):
        wav = root / "fsdd" / "recordings" / "3_jackson_0.wav"
        if wav.is_file():
            from scipy.io import wavfile

            _, y = wavfile.read(wav)
            y = y.astype(np.float32) / 32768.0
            return np.resize(y[1000:], 1024).astype(np.float32)
    t = np.arange(1024) / SR
    rng = np.random.default_rng(0)
    return (0.5 * np.sin(2 * np.pi * (200 + 1500 * t) * t)
            + 0.05 * rng.standard_normal(1024)).astype(np.float32)


def tables(x: np.ndarray) -> str:
    start, length, weights = dsp.mel_table(sr=SR, n_fft=N_MFCC_FFT, n_mels=N_MELS)
    # CMSIS's DCT matrix: rows scaled by sqrt(2 / N) (its own convention)
    k = np.arange(N_MFCC)[:, None]
    i = np.arange(N_MELS)[None, :]
    dct = np.sqrt(2.0 / N_MELS) * np.cos(np.pi * k * (2 * i + 1) / (2 * N_MELS))
    q15 = np.clip(np.round(x * 16384), -32768, 32767).astype(np.int16)
    return (f"#define N_MELS {N_MELS}\n#define N_MFCC {N_MFCC}\n"
            + c_floats("bench_signal", x)
            + c_ints("bench_signal_q15", "int16_t", q15)
            + c_floats("bench_window", dsp.get_window("hann", N_MFCC_FFT))
            + c_ints("mel_start", "uint16_t", start) + c_ints("mel_length", "uint16_t", length)
            + c_ints("arm_mel_pos", "uint32_t", start) + c_ints("arm_mel_len", "uint32_t", length)
            + c_floats("mel_weights", weights) + c_floats("arm_dct", dct.ravel()))


def cmsis_root() -> Path:
    """The extracted cmsisdsp sdist, downloaded with pip on first use (in a throwaway venv
    with wheel/setuptools/numpy: pip prepares the sdist's metadata before saving it)."""
    base = cache_dir() / "cmsisdsp"
    root = base / f"cmsisdsp-{CMSIS_VERSION}"
    if (root / "Include" / "arm_math.h").is_file():
        return root
    base.mkdir(parents=True, exist_ok=True)
    venv = base / "venv"
    py = venv / "bin" / "python"
    if not py.is_file():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "wheel", "setuptools", "numpy"],
                       check=True)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [str(py), "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
               "--no-build-isolation", f"cmsisdsp=={CMSIS_VERSION}", "-d", tmp]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        sdists = list(Path(tmp).glob(f"cmsisdsp-{CMSIS_VERSION}.tar.gz"))
        if not sdists:
            raise SystemExit(f"could not download the cmsisdsp=={CMSIS_VERSION} sdist "
                             f"({' '.join(cmd)}):\n{proc.stderr[-2000:]}")
        with tarfile.open(sdists[0]) as tar:
            tar.extractall(base, filter="data")
    return root


def run(cmd: list[str], cwd: Path) -> None:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        errors = [ln for ln in proc.stderr.splitlines() if "error" in ln]
        raise SystemExit(f"{' '.join(cmd)}\n" + "\n".join(errors[:20] or
                                                       [proc.stderr[-3000:]]))


def cmsis_objects(spec: targets.TargetSpec, root: Path, build: Path, mfcc: bool) -> list[Path]:
    flags = [f for f in spec.cflags if not f.startswith("-W")]
    inc = [f"-I{root / 'Include'}", f"-I{root / 'PrivateInclude'}"]
    objs = []
    cmds = []
    for rel in CMSIS_FFT_FILES + (CMSIS_MFCC_FILES if mfcc else []):
        obj = build / (Path(rel).stem + ".o")
        cmds.append([spec.cc, *flags, *CMSIS_DEFINES, *inc, "-c", str(root / "Source" / rel),
                     "-o", str(obj)])
        objs.append(obj)
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(2) as ex:
        list(ex.map(lambda c: run(c, build), cmds))
    return objs


def firmware(spec: targets.TargetSpec, root: Path, build: Path, objs: list[Path], name: str,
             defines: list[str]) -> Path:
    src = build / "bench_main.c"
    src.write_text(FIRMWARE_C)
    flags = [f for f in spec.cflags if f != "-Werror" and f != "-Wpedantic"]
    elf = build / f"{name}.elf"
    run([spec.cc, *flags, *CMSIS_DEFINES, *defines, f"-I{RUNTIME}", f"-I{TARGET_DIR}",
         f"-I{build}", f"-I{root / 'Include'}", f"-I{root / 'PrivateInclude'}", str(src),
         str(TARGET_DIR / "startup.c"), *map(str, objs), *spec.ldflags, "-T",
         str(TARGET_DIR / spec.linker_script), *spec.libs, "-o", str(elf)], build)
    return elf


def sizes(spec: targets.TargetSpec, elf: Path) -> tuple[int, int]:
    proc = subprocess.run([spec.size_tool, str(elf)], capture_output=True, text=True,
                          check=True)
    text, data, bss = (int(v) for v in proc.stdout.splitlines()[1].split()[:3])
    return text + data, data + bss


def measure_core(core: str, root: Path, x: np.ndarray) -> dict:
    spec = targets.TARGETS[core]
    mfcc = True
    with tempfile.TemporaryDirectory(prefix="bench-dsp-") as tmp:
        build = Path(tmp)
        (build / "bench_tables.h").write_text(tables(x))
        objs = cmsis_objects(spec, root, build, mfcc)
        elf = firmware(spec, root, build, objs, "bench",
                       ["-DBENCH_WHAT=0", f"-DBENCH_MFCC={int(mfcc)}"])
        qrun = targets.run_qemu(core, elf, cwd=build, count_instructions=True,
                                log_file=build / "icount.log", timeout=600)
        if qrun.returncode != 0:
            raise SystemExit(f"{core}: firmware exit status {qrun.returncode}")
        regions, _ = targets.parse_icount_log(qrun.icount_log or "")
        data = (build / "bench_out.bin").read_bytes()
        counts = [r - regions[0] for r in regions[1:]]
        res: dict = {"fft": {}, "q15": {}, "size": {}}
        off = 0
        for i, n in enumerate(SIZES):
            ours = np.frombuffer(data, np.float32, n + 2, off)
            off += 4 * (n + 2)
            arm = np.frombuffer(data, np.float32, n + 2, off)
            off += 4 * (n + 2)
            q15 = np.frombuffer(data, np.int16, n + 2, off)
            off += 2 * (n + 2)
            ref = np.fft.rfft(x[:n].astype(np.float64))
            scale = np.sqrt(n) * np.linalg.norm(x[:n])
            err_ml = np.abs(ours.view(np.complex64) - ref).max() / scale
            arm_c = arm.copy()
            arm_c[n], arm_c[n + 1], arm_c[1] = arm[1], 0.0, 0.0  # CMSIS packs Nyquist in [1]
            err_arm = np.abs(arm_c.view(np.complex64) - ref).max() / scale
            qref = np.fft.rfft(np.round(x[:n] * 16384) / 32768.0) / n
            q = (q15[0::2].astype(np.float64) + 1j * q15[1::2].astype(np.float64)) / 32768.0
            err_q = np.abs(q - qref).max() * 32768.0
            res["fft"][n] = (counts[3 * i], counts[3 * i + 1], err_ml, err_arm)
            res["q15"][n] = (counts[3 * i + 2], err_q)
        if mfcc:
            res["mfcc"] = (counts[9], counts[10])
        # flash / RAM per size
        base = firmware(spec, root, build, objs, "base", ["-DBENCH_WHAT=3", "-DBENCH_N=256"])
        b = sizes(spec, base)
        for n in SIZES:
            ours_elf = firmware(spec, root, build, objs, f"ml{n}",
                                ["-DBENCH_WHAT=1", f"-DBENCH_N={n}", f"-DML_RFFT_MAX_N={n}"])
            arm_elf = firmware(spec, root, build, objs, f"arm{n}",
                               ["-DBENCH_WHAT=2", f"-DBENCH_N={n}",
                                f"-DBENCH_ARM_INIT=arm_rfft_fast_init_{n}_f32"])
            o, a = sizes(spec, ours_elf), sizes(spec, arm_elf)
            res["size"][n] = (o[0] - b[0], o[1] - b[1], a[0] - b[0], a[1] - b[1])
    return res


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true",
                        help=f"append a '## DSP' section to {RESULTS.relative_to(REPO)}")
    args = parser.parse_args()
    for core in ("cortex-m4f", "cortex-m0plus"):
        reason = targets.unavailable_reason(core)
        if reason:
            print(reason, file=sys.stderr)
            return 1
    started = time.time()
    root = cmsis_root()
    x = signal()
    results = {core: measure_core(core, root, x) for core in ("cortex-m4f", "cortex-m0plus")}
    lines = [
        "## DSP",
        "",
        f"{datetime.date.today().isoformat()}, `benchmarks/bench_dsp.py`: instructions per call "
        "on QEMU (TCG plugin), arm-none-eabi-gcc -Os -ffp-contract=off, newlib-nano; "
        f"CMSIS-DSP {CMSIS_VERSION} (PyPI sdist, float path, `__GNUC_PYTHON__`, "
        "`ARM_MATH_LOOPUNROLL`). Every FFT call includes copying the N inputs. Max error: "
        "max |X - numpy| / (sqrt(N) ||x||) on an FSDD recording.",
        "",
        "| core | N | ml_rfft_f32 | arm_rfft_fast_f32 | ratio | ml flash B | ml RAM B "
        "| CMSIS flash B | CMSIS RAM B | ml max err | CMSIS max err |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for core, res in results.items():
        for n in SIZES:
            ml, arm, eml, earm = res["fft"][n]
            of, orr, af, ar = res["size"][n]
            lines.append(f"| {core} | {n} | {ml} | {arm} | {ml / arm:.2f} | {of} | {orr} "
                         f"| {af} | {ar} | {eml:.1e} | {earm:.1e} |")
    lines += ["", "| core | N | ml_rfft_q15 | max error (LSB of X/N in Q15) |",
              "|---|---:|---:|---:|"]
    for core, res in results.items():
        for n in SIZES:
            c, e = res["q15"][n]
            lines.append(f"| {core} | {n} | {c} | {e:.1f} |")
    lines += ["", "| core | MFCC frame (512-pt FFT, 40 mels, 13 coefficients) | "
              "instructions | ratio to arm_mfcc_f32 |", "|---|---|---:|---:|"]
    for core, res in results.items():
        ml, arm = res["mfcc"]
        lines += [f"| {core} | ml_mfcc_f32 (power, dB with top_db, ortho DCT) | {ml} "
                  f"| {ml / arm:.2f} |",
                  f"| {core} | arm_mfcc_f32 (magnitude, logf, DCT) | {arm} | 1.00 |"]
    lines += ["", f"({time.time() - started:.0f} s)", ""]
    text = "\n".join(lines)
    print(text)
    if args.write:
        prev = RESULTS.read_text() if RESULTS.exists() else "# DSP benchmark results\n\n"
        RESULTS.write_text(prev.rstrip("\n") + "\n\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
