#!/usr/bin/env python3
"""Time-domain DSP on emulated Cortex-M: microlearn's ml_filter.h biquads vs CMSIS-DSP,
and the cost of window features, sound level and post-processing.

Every figure is instructions counted by QEMU's plugin through ``microlearn.targets.measure``
(the same harness, flags and calling code for every implementation; gcc -Os, as the
target table builds everything):

- biquad cascade, 4 sections, per sample: ``ml_biquad_f32`` vs CMSIS-DSP 1.10.3's
  ``arm_biquad_cascade_df2T_f32`` (with and without ``ARM_MATH_LOOPUNROLL``, CMSIS's
  default build enables it). Per sample = (count at 256 samples - count at 64) / 192, so
  call, init and harness costs cancel. CMSIS is built from the PyPI sdist
  ``cmsisdsp==1.10.3`` (downloaded with pip into the microlearn cache on first use, in a
  throw-away venv that has ``wheel``; its C is compiled here only, never shipped).
- window features of a UCI HAR window (n = 128): the 12 statistics of ``ml_features_f32``;
  band energies + dominant frequency (``ml_spectral_features_f32``: real FFT, power,
  5 bands); ``ml_rfft_f32_init`` for n = 128 (once per firmware).
- sound level (A weighting + fast time weighting + dB) per sample at 16 kHz, and the
  post-processing updates (median of 5, moving average of 5, exponential smoothing,
  hysteresis + event detector, majority of 5 over 4 classes) per model output.

Usage: ``.venv/bin/python benchmarks/bench_dsp_time.py [--write] [--targets ...]``;
``--write`` also writes benchmarks/RESULTS_dsp_time.md.
"""

from __future__ import annotations

import argparse
import platform
import shutil
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

import microlearn.dsp as dsp  # noqa: E402
from microlearn import codegen, targets  # noqa: E402
from microlearn.dsp.filters import sos_coefficients  # noqa: E402
from microlearn.host_build import cache_dir  # noqa: E402

CMSIS_VERSION = "1.10.3"
TARGETS = ("cortex-m4f", "cortex-m0plus")
SHORT = {"cortex-m4f": "M4F", "cortex-m0plus": "M0+"}
DATASETS = REPO.parent / "shared" / "datasets"
N_ROWS = 6


# ---------------------------------------------------------------------------------------
# CMSIS-DSP sources (benchmark only)


def cmsis_dir() -> Path:
    """The extracted cmsisdsp sdist in the microlearn cache (downloaded on first use)."""
    root = cache_dir() / f"cmsisdsp-{CMSIS_VERSION}"
    src = root / f"cmsisdsp-{CMSIS_VERSION}"
    if (src / "Include" / "arm_math.h").exists():
        return src
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cmsis-dl-") as tmp:
        venv = Path(tmp) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "-q"]
        subprocess.run([*pip, "install", "wheel", "setuptools", "numpy"], check=True)
        subprocess.run([*pip, "download", "--no-deps", "--no-binary", ":all:",
                        "--no-build-isolation", f"cmsisdsp=={CMSIS_VERSION}", "-d", tmp],
                       check=True)
        with tarfile.open(Path(tmp) / f"cmsisdsp-{CMSIS_VERSION}.tar.gz") as tar:
            tar.extractall(root, filter="data")
    return src


CMSIS_PROLOGUE = """
#define __GNUC_PYTHON__ 1
%(unroll)s
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wdouble-promotion"
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-variable"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wstrict-aliasing"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#endif
#include "arm_math.h"
%(sources)s
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
"""


def cmsis_text(src: Path, unroll: bool) -> str:
    files = ["arm_biquad_cascade_df2T_init_f32.c", "arm_biquad_cascade_df2T_f32.c"]
    sources = "\n".join((src / "Source" / "FilteringFunctions" / f).read_text()
                        .replace("\ufeff", "") for f in files)
    return CMSIS_PROLOGUE % {"unroll": "#define ARM_MATH_LOOPUNROLL 1" if unroll else "",
                             "sources": sources}


# ---------------------------------------------------------------------------------------
# fixtures: generated-header contract ("regressor" bq/ft), one row = one block / window

BIQUAD_FIXTURE = """
#define bq_N_FEATURES %(n)d
#define bq_N_OUTPUTS %(n)d
#define bq_TASK 1
static const float bq_coeffs[20] = { %(coeffs)s };
static inline int32_t bq_regress(const float *x, int32_t n_features, float *out,
                                 int32_t n_out)
{
    float state[8];
    (void)n_features;
    (void)n_out;
#if BQ_CMSIS
    arm_biquad_cascade_df2T_instance_f32 S;
    arm_biquad_cascade_df2T_init_f32(&S, 4, bq_coeffs, state);
    arm_biquad_cascade_df2T_f32(&S, x, out, %(n)du);
#else
    ml_biquad_f32_t S;
    (void)ml_biquad_f32_init(&S, 4, bq_coeffs, state);
    (void)ml_biquad_f32(&S, x, out, %(n)d);
#endif
    return 0;
}
"""

# SELECT: 0 nothing (harness baseline), 1 statistics, 2 spectral, 3 rfft init,
# 4 sound level (per block of N), 5 post-processing (N updates)
FEATURE_FIXTURE = """
#define ft_N_FEATURES %(n)d
#define ft_N_OUTPUTS 16
#define ft_TASK 1
static const float ft_aw[15] = { %(aw)s };
static inline int32_t ft_regress(const float *x, int32_t n_features, float *out,
                                 int32_t n_out)
{
    int32_t r = 0;
    (void)n_features;
    (void)n_out;
    out[0] = x[0];
#if FT_SELECT == 1
    {
        static const int32_t ids[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
        r = ml_features_f32(x, %(n)d, ids, 12, out);
    }
#elif FT_SELECT == 2 || FT_SELECT == 3
    {
        static const float edges[6] = {0.0f, 1.0f, 3.0f, 6.0f, 12.0f, 25.1f};
        float scratch[%(n)d + 2];
        ml_rfft_f32_t fft;
        r = ml_rfft_f32_init(&fft, %(n)d);
        (void)edges;
        (void)scratch;
#if FT_SELECT == 2
        r |= ml_spectral_features_f32(&fft, x, 50.0f, edges, 5, out, out + 5, scratch);
#endif
    }
#elif FT_SELECT == 4
    {
        float st[6], lv[%(n)d];
        ml_sound_level_f32_t m;
        r = ml_sound_level_f32_init(&m, 3, ft_aw, st, 16000.0f, ML_LEVEL_TAU_FAST, 1.0f);
        r |= ml_sound_level_f32(&m, x, lv, %(n)d);
        out[1] = lv[%(n)d - 1];
    }
#elif FT_SELECT == 5
    {
        float ring[5], srt[5], ring2[5];
        int32_t iring[5], counts[4];
        ml_median_f32_t med;
        ml_moving_average_f32_t ma;
        ml_exp_smooth_f32_t es;
        ml_hysteresis_f32_t hy;
        ml_events_t ev;
        ml_majority_i32_t mv;
        float acc = 0.0f;
        int32_t iacc = 0;
        r = ml_median_f32_init(&med, 5, ring, srt);
        r |= ml_moving_average_f32_init(&ma, 5, ring2);
        r |= ml_exp_smooth_f32_init(&es, 0.25f);
        r |= ml_hysteresis_f32_init(&hy, 0.3f, 0.7f, 0);
        r |= ml_events_init(&ev, 3, 3);
        r |= ml_majority_i32_init(&mv, 5, 4, iring, counts);
        for (int32_t i = 0; i < %(n)d; i++) {
            const float v = x[i];
            acc += ml_median_f32_update(&med, v);
            acc += ml_moving_average_f32_update(&ma, v);
            acc += ml_exp_smooth_f32_update(&es, v);
            iacc += ml_events_update(&ev, ml_hysteresis_f32_update(&hy, v));
            iacc += ml_majority_i32_update(&mv, (int32_t)(v * 3.99f));
        }
        out[1] = acc;
        out[2] = (float)iacc;
    }
#endif
    return r;
}
"""


def runtime_text(*headers: str, prefix: str = "") -> str:
    seen: set[str] = set()
    return prefix + "".join(codegen.runtime_source(h, seen) for h in headers)


def count(target: str, header: str, prefix: str, X: np.ndarray, n_out: int) -> targets.TargetRun:
    run = targets.measure(target, header, prefix, "regressor", X, n_outputs=n_out,
                          n_features=X.shape[1])
    if np.any(run.return_codes != 0):
        raise RuntimeError(f"{prefix} on {target}: error codes {set(run.return_codes)}")
    return run


def audio(n_samples: int) -> np.ndarray:
    """FSDD speech (8 kHz) as float32, or noise when the data set is absent."""
    path = DATASETS / "fsdd" / "recordings" / "3_jackson_0.wav"
    if path.exists():
        from scipy.io import wavfile

        _, x = wavfile.read(path)
        x = (x.astype(np.float64) / 32768.0).astype(np.float32)
    else:
        x = np.random.default_rng(0).standard_normal(n_samples * 8).astype(np.float32) * 0.1
    return np.resize(x, n_samples)


def har_windows(n_rows: int) -> np.ndarray:
    path = DATASETS / "uci_har_test" / "uci_har_test.npz"
    if path.exists():
        X = np.load(path)["X"][:n_rows, :, 0]
    else:
        X = np.random.default_rng(1).standard_normal((n_rows, 128))
    return np.ascontiguousarray(X, dtype=np.float32)


def bench_biquad(target: str, src: Path) -> list[tuple[str, float]]:
    sos = np.asarray(dsp.weighting_sos("A", 48000))  # 3 sections, plus a highpass
    import scipy.signal as ss

    sos = np.vstack([sos, ss.butter(2, 100, "highpass", fs=48000, output="sos")])
    c = sos_coefficients(sos).reshape(4, 5).astype(np.float64)
    cm = c.copy()
    cm[:, 3:] = -cm[:, 3:]  # CMSIS stores -a1, -a2
    results = []
    for label, header_pre, coeffs, define in (
        ("microlearn ml_biquad_f32", runtime_text("ml_filter.h"), c, "#define BQ_CMSIS 0\n"),
        ("CMSIS-DSP df2T, LOOPUNROLL", cmsis_text(src, True), cm, "#define BQ_CMSIS 1\n"),
        ("CMSIS-DSP df2T, no unroll", cmsis_text(src, False), cm, "#define BQ_CMSIS 1\n"),
    ):
        counts = {}
        for n in (64, 256):
            X = audio(N_ROWS * n).reshape(N_ROWS, n)
            text = define + header_pre + BIQUAD_FIXTURE % {
                "n": n, "coeffs": ", ".join(f"{v.hex()}f" for v in coeffs.reshape(-1))}
            with tempfile.TemporaryDirectory(prefix="bench-bq-") as bd:
                if "CMSIS" in label:  # its headers next to model.h
                    items = [*(src / "Include").iterdir(), *(src / "PrivateInclude").iterdir()]
                    for item in items:
                        dst = Path(bd) / item.name
                        if item.is_dir():
                            shutil.copytree(item, dst)
                        else:
                            shutil.copy(item, dst)
                run = targets.measure(target, text, "bq", "regressor", X, n_outputs=n,
                                      n_features=n, build_dir=bd)
            counts[n] = run.instructions_mean
            if n == 256:
                outputs = run.outputs
        results.append((label, (counts[256] - counts[64]) / 192.0, outputs))
    ours = results[0][2]
    for label, _, out in results[1:]:  # same operation order: the same bits
        if not np.array_equal(out.view(np.uint32), ours.view(np.uint32)):
            raise RuntimeError(f"{label}: outputs differ from microlearn's")
    return [(label, per) for label, per, _ in results]


def bench_features(target: str) -> dict[str, float]:
    aw = ", ".join(f"{float(v).hex()}f" for v in sos_coefficients(dsp.a_weighting(16000)))
    headers = runtime_text("ml_features.h", "ml_level.h", "ml_post.h",
                           prefix="#define ML_RFFT_MAX_N 128\n")
    res: dict[str, float] = {}
    X = har_windows(N_ROWS)
    A = audio(N_ROWS * 128).reshape(N_ROWS, 128)
    P = np.clip(X * 2 + 0.5, 0, 1).astype(np.float32)
    base = {}
    for name, select, rows in (("base", 0, X), ("stats", 1, X), ("spectral+init", 2, X),
                               ("init", 3, X), ("level", 4, A), ("post", 5, P)):
        text = (f"#define FT_SELECT {select}\n" + headers
                + FEATURE_FIXTURE % {"n": 128, "aw": aw})
        run = count(target, text, "ft", rows, 16)
        base[name] = run.instructions_mean
        if name == "stats":
            res["stats_flash"] = run.flash_bytes
    res["stats"] = base["stats"] - base["base"]
    res["init"] = base["init"] - base["base"]
    res["spectral"] = base["spectral+init"] - base["init"]
    res["level"] = (base["level"] - base["base"]) / 128.0
    res["post"] = (base["post"] - base["base"]) / 128.0
    return res


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", default=",".join(TARGETS))
    parser.add_argument("--write", action="store_true",
                        help="also write benchmarks/RESULTS_dsp_time.md")
    args = parser.parse_args()
    names = [t for t in args.targets.split(",") if t]
    for t in names:
        reason = targets.unavailable_reason(t)
        if reason:
            print(f"skipping {t}: {reason}", file=sys.stderr)
    names = [t for t in names if targets.unavailable_reason(t) is None]
    if not names:
        return 1
    started = time.time()
    src = cmsis_dir()
    lines = ["## Biquad cascade, 4 sections: instructions per sample",
             "",
             "| target | implementation | instr / sample | microlearn / this |",
             "|---|---|---:|---:|"]
    feat_rows = ["## Features and post-processing (instructions)",
                 "",
                 "| target | what | instructions |",
                 "|---|---|---:|"]
    for t in names:
        rows = bench_biquad(t, src)
        ours = rows[0][1]
        for label, per in rows:
            ratio = "" if label.startswith("microlearn") else f"{ours / per:.2f}"
            lines.append(f"| {SHORT[t]} | {label} | {per:.1f} | {ratio} |")
        f = bench_features(t)
        feat_rows += [
            f"| {SHORT[t]} | 12 statistics of a 128-sample window (`ml_features_f32`; "
            f"model flash {f['stats_flash']} B) | {f['stats']:.0f} |",
            f"| {SHORT[t]} | band energies (5) + dominant frequency, n = 128 "
            f"(`ml_spectral_features_f32`, FFT included) | {f['spectral']:.0f} |",
            f"| {SHORT[t]} | `ml_rfft_f32_init(128)` (once) | {f['init']:.0f} |",
            f"| {SHORT[t]} | sound level per sample (A weighting 3 biquads + fast time "
            f"weighting + dB) | {f['level']:.1f} |",
            f"| {SHORT[t]} | post-processing per model output (median 5 + mean 5 + "
            f"exp. smoothing + hysteresis + events + majority 5/4 classes) "
            f"| {f['post']:.1f} |",
        ]
    elapsed = time.time() - started
    cc = subprocess.run(["arm-none-eabi-gcc", "--version"], capture_output=True,
                        text=True).stdout.splitlines()[0]
    qemu = subprocess.run(["qemu-system-arm", "--version"], capture_output=True,
                          text=True).stdout.splitlines()[0]
    head = [
        "# Time-domain DSP on emulated Cortex-M",
        "",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"- machine: {platform.processor() or platform.machine()}, Python "
        f"{platform.python_version()}",
        f"- cross compiler: {cc}; flags: "
        f"{' '.join(targets.TARGETS[names[0]].cflags)}",
        f"- emulator: {qemu}",
        f"- peer: CMSIS-DSP {CMSIS_VERSION} (PyPI sdist, compiled in the same harness with "
        "the same flags and calling code; `__GNUC_PYTHON__`, warnings silenced for its "
        "sources only)",
        f"- run time: {elapsed:.0f} s (`.venv/bin/python benchmarks/bench_dsp_time.py "
        "--write`)",
        "",
        "Instructions counted by QEMU's plugin (deterministic). Biquad per sample = "
        "(count at 256 samples - count at 64) / 192: call, init and harness cancel. "
        "Features: count minus an empty fixture's; per-sample rows divide a 128-sample "
        "block's count by 128. Both biquads do the same float operations in the same "
        "order per section and sample (5 multiply-accumulates, VMLA/VMLS on the M4F; "
        "not fused with -ffp-contract=off), and the benchmark checks that their outputs "
        "are bit-identical on every row. Inputs: FSDD speech (audio), UCI HAR body "
        "acceleration windows (features).",
        "",
    ]
    text = "\n".join(head + lines + [""] + feat_rows) + "\n"
    print(text)
    if args.write:
        (HERE / "RESULTS_dsp_time.md").write_text(text)
        print(f"wrote {HERE / 'RESULTS_dsp_time.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
