"""The DSP family on AVR (ATmega328P, Arduino Uno: 2 KB SRAM, 16-bit int, 32-bit double):
feature extraction from raw samples, alone and in pipelines, built with avr-gcc and run in
simavr, against the host build on real recordings (UCI HAR accelerometer windows, FSDD
spoken digits) and adversarial windows (silence, subnormals, full scale, 3e38, NaN, inf).

Asserted: every output bit equals the host float32 build's (both run ml_dsp.h; avr-gcc's
float is IEEE single and the DSP headers call no libm, so there is no tolerance) except
the sign and payload of NaN outputs (avr-libc's float routines return other NaNs than the
x86-64 FPU, e.g. 0xFFC00000 for 0x7FC00000: NaN on both, asserted), the
tables are in program memory (static RAM 0), the DSP headers compile with avr-gcc's
strict flags as C and C++, and the sizes that cannot fit the 2 KB are refused with an
error that names them.

Needs gcc-avr, avr-libc, simavr and libsimavr-dev (scripts/setup.sh installs them); the
tests that use ../shared/datasets skip with a message when it is absent.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

import microlearn
from microlearn import avr, targets
from microlearn.features import MFCC, MelSpectrogram, SoundLevel, TimeSeriesFeatures
from microlearn.targets import UnsupportedOnTargetError

TARGET = "atmega328p"
REPO = Path(__file__).resolve().parents[1]
RUNTIME = REPO / "microlearn" / "runtime"
DSP_HEADERS = ("ml_dsp.h", "ml_window.h", "ml_fft.h", "ml_mel.h", "ml_filter.h",
               "ml_level.h", "ml_features.h", "ml_post.h")
STRICT = ["-Wall", "-Wextra", "-Wpedantic", "-Wconversion", "-Wdouble-promotion", "-Werror",
          "-Os"]
HAR_FEATURES = ("mean", "std", "min", "max", "rms", "zero_crossings", "skew", "kurtosis",
                "band_energy", "dominant_frequency")
HAR_BANDS = (0.0, 1.0, 3.0, 6.0, 12.5)
#: the pipelines' features: 3 x 32 samples at 12.5 Hz (with 3 x 64 samples, the firmware's
#: stack overflows the 2 KB once the tree's buffers are added)
PIPE_BANDS = (0.0, 1.0, 2.5, 6.25)
PIPE_SPECTRAL = ("mean", "std", "min", "max", "rms", "zero_crossings", "skew", "kurtosis",
                 "band_energy", "dominant_frequency")
PIPE_TIME = ("mean", "std", "min", "max", "rms", "zero_crossings", "skew", "kurtosis")


def _datasets() -> Path | None:
    for root in (REPO.parent / "shared" / "datasets", Path("/work/shared/datasets")):
        if root.is_dir():
            return root
    return None


@pytest.fixture(scope="module")
def har() -> tuple[np.ndarray, np.ndarray]:
    """240 UCI HAR windows of total acceleration x, y, z, every other sample (64 samples at
    25 Hz = the whole 2.56 s window), channel after channel: 192 floats a row (the
    pipelines take every other one again: 3 x 32 samples at 12.5 Hz)."""
    root = _datasets()
    path = None if root is None else root / "uci_har_test" / "uci_har_test.npz"
    if path is None or not path.exists():
        pytest.skip("UCI HAR data not found (../shared/datasets/uci_har_test)")
    d = np.load(path)
    idx = np.linspace(0, len(d["X"]) - 1, 240).astype(int)
    X = d["X"][idx][:, ::2, 6:9].transpose(0, 2, 1).reshape(len(idx), -1)
    return np.ascontiguousarray(X, dtype=np.float32), np.asarray(d["y"][idx], dtype=np.int64)


@pytest.fixture(scope="module")
def fsdd() -> np.ndarray:
    """40 FSDD recordings (2 speakers x 10 digits x 2 takes): the 128 samples (16 ms at
    8 kHz) around the middle of each, float32 in [-1, 1)."""
    from scipy.io import wavfile

    root = _datasets()
    d = None if root is None else root / "fsdd" / "recordings"
    if d is None or not d.is_dir():
        pytest.skip("FSDD recordings not found (../shared/datasets/fsdd)")
    X = []
    for speaker in ("george", "jackson"):
        for digit in range(10):
            for take in range(2):
                _, a = wavfile.read(d / f"{digit}_{speaker}_{take}.wav")
                a = (a.astype(np.float64) / 32768.0).astype(np.float32)
                start = max(0, a.size // 2 - 64)
                X.append(np.pad(a[start:start + 128], (0, max(0, 128 - a[start:].size))))
    return np.ascontiguousarray(X, dtype=np.float32)


def adversarial(n: int, seed: int = 1) -> np.ndarray:
    """Windows of n samples: silence, subnormals, tiny noise, a full-scale square wave, a
    DC offset, an impulse, +-3e38, 1e20 noise, and noise with one NaN / one inf."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    rows = [np.zeros(n), np.full(n, 1e-40), 1e-39 * rng.standard_normal(n),
            1e-6 * rng.standard_normal(n), np.where(t % 2 == 0, 1.0, -1.0),
            np.full(n, 0.25), np.eye(1, n, n // 3).ravel(),
            3e38 * np.sign(rng.standard_normal(n)), 1e20 * rng.standard_normal(n)]
    for bad in (np.nan, np.inf):
        r = rng.standard_normal(n)
        r[n // 5] = bad
        rows.append(r)
    return np.asarray(rows, dtype=np.float32)


def _bits_equal(a: np.ndarray, b: np.ndarray) -> None:
    """Bit-identical float32 arrays, except that a NaN may be any NaN (sign, payload)."""
    a, b = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
    assert a.shape == b.shape
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    keep = ~np.isnan(a)
    np.testing.assert_array_equal(a[keep].view(np.uint32), b[keep].view(np.uint32))


def _transform_on_avr(model, X: np.ndarray) -> targets.TargetRun:
    return targets.measure(TARGET, model.c_source("model"), "model", model.kind, X,
                           n_outputs=model.n_outputs, n_features=model.n_features,
                           n_values=model.n_outputs)


# --- the headers ------------------------------------------------------------------------


@pytest.mark.parametrize("header", DSP_HEADERS)
def test_dsp_headers_compile_for_avr(header: str, tmp_path: Path) -> None:
    """Each DSP header alone, avr-gcc -std=c99 and avr-g++ -std=gnu++11 (Arduino's), with
    the default and a 256-point FFT instance: no warning with the strict flags."""
    for ext, cc, std in (("c", "avr-gcc", "-std=c99"), ("cpp", "avr-g++", "-std=gnu++11")):
        src = tmp_path / f"t.{ext}"
        src.write_text(f'#include "{header}"\nint ml_tu_nonempty;\n')
        for extra in ([], ["-DML_RFFT_MAX_N=256"]):
            proc = subprocess.run([cc, std, "-mmcu=atmega328p", *STRICT, *extra,
                                   f"-I{RUNTIME}", "-c", str(src), "-o", str(tmp_path / "t.o")],
                                  capture_output=True, text=True)
            assert proc.returncode == 0, f"{cc} {extra}: {proc.stderr[-3000:]}"


def test_fft_default_size_on_avr_and_generated_guard(tmp_path: Path) -> None:
    """On AVR the FFT instance defaults to 16 points (88 bytes, not 5 KB); a generated
    spectral model stops the build with a message naming the ML_RFFT_MAX_N it needs."""
    X = adversarial(128)[:4]
    model = microlearn.convert(MFCC(sr=8000, n_fft=64, hop_length=64, n_mels=10, n_mfcc=6)
                               .fit(X))
    src = tmp_path / "m.c"
    src.write_text(model.c_source("model") + "\nint f(void);\nint f(void) { return "
                   "(int)sizeof(ml_rfft_f32_t); }\n")
    cmd = ["avr-gcc", "-std=c99", "-mmcu=atmega328p", *STRICT, "-c", str(src), "-o",
           str(tmp_path / "m.o")]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode != 0 and "define ML_RFFT_MAX_N 64" in proc.stderr
    proc = subprocess.run([*cmd, "-DML_RFFT_MAX_N=64"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # as Arduino compiles sketches: C++; every table and the model struct in .progmem.data
    cpp = tmp_path / "m.cpp"
    cpp.write_text(model.c_source("model") + "\nint32_t f(const float *x, float *o);\n"
                   "int32_t f(const float *x, float *o) { return model_transform(x, 128, o, "
                   "12); }\n")
    proc = subprocess.run(["avr-g++", "-std=gnu++11", "-mmcu=atmega328p", *STRICT,
                           "-DML_RFFT_MAX_N=64", "-c", str(cpp), "-o", str(tmp_path / "m.o")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    heads = subprocess.run(["avr-objdump", "-h", str(tmp_path / "m.o")], capture_output=True,
                           text=True).stdout
    sizes = {ln.split()[1]: int(ln.split()[2], 16) for ln in heads.splitlines()
             if ln.strip()[:1].isdigit()}
    assert sizes[".data"] == 0 and sizes[".bss"] == 0
    assert sizes[".progmem.data"] >= model.data_bytes > 600  # window, mel, DCT, struct
    assert avr.fft_size(model.c_source("model")) == 64
    assert avr.fft_instance_bytes(16) == 88 and avr.fft_instance_bytes(64) == 328


# --- transformers alone: every output bit ---------------------------------------------------

AUDIO = {
    "mfcc": lambda: MFCC(sr=8000, n_fft=64, hop_length=64, n_mels=10, n_mfcc=6),
    "mfcc_hamming_lifter_topdb": lambda: MFCC(sr=8000, n_fft=32, hop_length=32, n_mels=8,
                                              n_mfcc=8, window="hamming", lifter=12,
                                              top_db=60.0, power=1.0),
    "melspec_db": lambda: MelSpectrogram(sr=8000, n_fft=64, hop_length=32, n_mels=10),
    "level_a": lambda: SoundLevel(fs=8000, levels=("leq", "lmax", "lmin", "dbfs")),
    "level_c_slow": lambda: SoundLevel(fs=8000, weighting="C", levels=("lmax", "leq"),
                                       time_weighting="slow", ref=2e-5),
}


@pytest.mark.parametrize("name", list(AUDIO))
def test_audio_transformers_bit_identical_on_avr(name: str, fsdd: np.ndarray) -> None:
    est = AUDIO[name]().fit(fsdd)
    model = microlearn.convert(est)
    X = np.vstack([fsdd[::2], adversarial(128)])
    r = _transform_on_avr(model, X)
    assert r.ram_bytes == 0  # struct and tables in program memory
    host = model._lib().call("transform", X).reshape(len(X), -1)
    _bits_equal(r.outputs.reshape(len(X), -1), host)
    _bits_equal(host[:20], est.transform(fsdd[::2]))  # the host build is the transformer
    assert r.stack_bytes + 4 * model.n_features < 2048 - avr.MIN_STACK_BYTES


def test_time_series_features_bit_identical_on_avr(har) -> None:
    """All window features of 3 accelerometer channels, incl. the spectral ones."""
    X, _ = har
    est = TimeSeriesFeatures(features=HAR_FEATURES, n_channels=3, fs=25.0,
                             bands=HAR_BANDS).fit(X)
    model = microlearn.convert(est)
    rows = np.vstack([X[::8], np.hstack([adversarial(64)] * 3)])
    r = _transform_on_avr(model, rows)
    assert r.ram_bytes == 0
    host = model._lib().call("transform", rows).reshape(len(rows), -1)
    _bits_equal(r.outputs.reshape(len(rows), -1), host)
    _bits_equal(host[:30], est.transform(X[::8]))


# --- pipelines: raw samples in, class out ---------------------------------------------------


@pytest.mark.parametrize("final", ["tree", "logistic"])
def test_har_pipeline_on_avr(har, final: str) -> None:
    """TimeSeriesFeatures -> StandardScaler -> a tree (with the spectral features) or a
    logistic regression (time-domain features: with the FFT the firmware exceeds the
    32 KB of flash) on UCI HAR: classes and probabilities equal the host's bit for bit,
    and scikit-learn's classes."""
    X, y = har
    X = np.ascontiguousarray(X.reshape(len(X), 3, 64)[:, :, ::2].reshape(len(X), -1))
    if final == "tree":
        clf, feats, bands = DecisionTreeClassifier(max_depth=6, random_state=0), \
            PIPE_SPECTRAL, PIPE_BANDS
    else:
        clf, feats, bands = LogisticRegression(max_iter=2000), PIPE_TIME, None
    pipe = make_pipeline(TimeSeriesFeatures(features=feats, n_channels=3, fs=12.5,
                                            bands=bands), StandardScaler(), clf)
    pipe.fit(X[::2], y[::2])
    model = microlearn.convert(pipe)
    rows = np.vstack([X[1::6], np.hstack([adversarial(32, seed=2)] * 3)])
    values, n_values = model._measured_values()
    r = targets.measure(TARGET, model.c_source("model"), "model", model.kind, rows,
                        n_outputs=model.n_outputs, n_features=model.n_features,
                        values=values, n_values=n_values)
    lib = model._lib()
    np.testing.assert_array_equal(r.outputs, lib.call("predict", rows))
    _bits_equal(r.proba.reshape(len(rows), -1),
                lib.call(values, rows).reshape(len(rows), -1))
    np.testing.assert_array_equal(model.predict(X[1::6]), pipe.predict(X[1::6]))
    fp = model.footprint(TARGET, X[:4])
    assert not fp.estimated and fp.ram_bytes == 0 and fp.flash_bytes < 32768 - 512


def test_mfcc_pipeline_on_avr(fsdd) -> None:
    y = np.repeat(np.arange(10), 2).tolist() * 2
    pipe = make_pipeline(MFCC(sr=8000, n_fft=64, hop_length=64, n_mels=10, n_mfcc=6),
                         StandardScaler(), DecisionTreeClassifier(max_depth=5, random_state=0))
    pipe.fit(fsdd, y)
    model = microlearn.convert(pipe)
    rows = np.vstack([fsdd, adversarial(128)[:7]])
    report = model.verify_on_target(TARGET, rows)
    assert report.ok, report
    np.testing.assert_array_equal(model.predict(fsdd), pipe.predict(fsdd))
    fp = model.footprint(TARGET, fsdd[:4])
    assert not fp.estimated and fp.ram_bytes == 0 and fp.instructions > 10_000


# --- what does not fit is refused -----------------------------------------------------------


def test_too_large_dsp_steps_are_refused() -> None:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, 1024)).astype(np.float32)
    big = microlearn.convert(MFCC(sr=8000, n_fft=256, hop_length=256, n_mels=20, n_mfcc=10)
                             .fit(X))
    with pytest.raises(UnsupportedOnTargetError,
                       match=r"n_fft=256.*2048 bytes of SRAM|2048 bytes of SRAM.*n_fft=256"):
        big.footprint(TARGET)
    est = big.footprint(TARGET, estimate=True)
    assert est.estimated and est.ram_bytes == 0 and "not ported" not in est.note
    long = microlearn.convert(TimeSeriesFeatures(features=("mean", "std")).fit(X))
    with pytest.raises(UnsupportedOnTargetError, match=r"window of 1024 samples 4096 B"):
        long.footprint(TARGET)
    bands = microlearn.convert(TimeSeriesFeatures(
        features=("band_energy",), fs=100.0, bands=np.linspace(0, 50, 18)).fit(X[:, :64]))
    with pytest.raises(UnsupportedOnTargetError, match=r"17 bands.*at most 16"):
        bands.footprint(TARGET)


# --- ml_post.h: the streaming post-processing on the Uno ----------------------------------

POST_FIRMWARE = r"""
#include <avr/interrupt.h>
#include <avr/io.h>
#include <avr/sleep.h>
#include <string.h>
#include "ml_post.h"

static uint32_t in32(void)
{
    uint32_t w = 0u;
    uint8_t i;
    for (i = 0u; i < 4u; i++) {
        w |= (uint32_t)GPIOR2 << (8u * i);
    }
    return w;
}

static void put(uint32_t w)
{
    uint8_t i;
    for (i = 0u; i < 4u; i++) {
        GPIOR0 = (uint8_t)(w >> (8u * i));
    }
}

static void putf(float f)
{
    uint32_t w;
    memcpy(&w, &f, sizeof w);
    put(w);
}

int main(void)
{
    float med_ring[5], med_sorted[5], avg_ring[7];
    int32_t maj_ring[5], maj_counts[4];
    ml_median_f32_t med;
    ml_moving_average_f32_t avg;
    ml_exp_smooth_f32_t ema;
    ml_hysteresis_f32_t hys;
    ml_events_t ev;
    ml_majority_i32_t maj;
    uint32_t i, n = in32();
    int32_t r = ml_median_f32_init(&med, 5, med_ring, med_sorted);
    r |= ml_moving_average_f32_init(&avg, 7, avg_ring);
    r |= ml_exp_smooth_f32_init(&ema, 0.25f);
    r |= ml_hysteresis_f32_init(&hys, 0.3f, 0.7f, 0);
    r |= ml_events_init(&ev, 3, 2);
    r |= ml_majority_i32_init(&maj, 5, 4, maj_ring, maj_counts);
    put((uint32_t)r);
    for (i = 0u; i < n; i++) {
        float x, f;
        uint32_t w = in32();
        int32_t label = (int32_t)in32(), state, e;
        memcpy(&x, &w, sizeof x);
        f = ml_median_f32_update(&med, x);
        putf(f);
        putf(ml_moving_average_f32_update(&avg, x));
        putf(ml_exp_smooth_f32_update(&ema, x));
        state = ml_hysteresis_f32_update(&hys, x);
        put((uint32_t)state);
        e = ml_events_update(&ev, state);
        put((uint32_t)(e == ML_EVENT_ONSET ? ev.onset : e == ML_EVENT_OFFSET ? -2 - ev.offset
                                                                             : -1));
        put((uint32_t)ml_majority_i32_update(&maj, label));
    }
    cli();
    sleep_enable();
    sleep_cpu();
    return 0;
}
"""


def test_post_processing_on_avr(tmp_path: Path) -> None:
    """ml_post.h's filters fed 300 model outputs on the Uno (simavr) give the host's
    (microlearn.dsp.post, the same C on x86-64) bit for bit: median, moving average,
    exponential smoothing, hysteresis, events from it, majority vote; NaN and inf in."""
    from microlearn.dsp import post

    rng = np.random.default_rng(3)
    n = 300
    x = np.clip(0.5 + 0.5 * np.sin(np.arange(n) / 9.0) + 0.2 * rng.standard_normal(n),
                -0.2, 1.2).astype(np.float32)
    x[[17, 40, 41]] = np.nan
    x[90] = np.inf
    x[-12:] = 0.0  # the last event closes before the end
    labels = rng.integers(0, 4, n).astype(np.int32)
    src = tmp_path / "post.c"
    src.write_text(POST_FIRMWARE)
    elf = tmp_path / "post.elf"
    proc = subprocess.run(["avr-gcc", "-std=c99", "-mmcu=atmega328p", *STRICT,
                           "-ffp-contract=off", f"-I{RUNTIME}", str(src), "-o", str(elf)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = np.empty((n, 2), np.uint32)
    rows[:, 0], rows[:, 1] = x.view(np.uint32), labels.view(np.uint32)
    (tmp_path / "in.bin").write_bytes(np.uint32(n).astype("<u4").tobytes()
                                      + rows.astype("<u4").tobytes())
    proc = subprocess.run([str(avr.runner_path()), "io", TARGET, str(avr.CLOCK_HZ), str(elf),
                           str(tmp_path / "in.bin"), str(tmp_path / "out.bin"),
                           str(tmp_path / "cyc.log"), "200000000"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = np.frombuffer((tmp_path / "out.bin").read_bytes(), dtype="<u4")
    assert out[0] == 0 and out.size == 1 + 6 * n
    got = out[1:].reshape(n, 6)
    _bits_equal(got[:, 0].view(np.float32), post.median_filter(x, 5))
    _bits_equal(got[:, 1].view(np.float32), post.moving_average(x, 7))
    _bits_equal(got[:, 2].view(np.float32), post.exponential_smoothing(x, 0.25))
    hys = post.hysteresis(x, 0.3, 0.7)
    np.testing.assert_array_equal(got[:, 3].astype(bool), hys)
    codes = got[:, 4].view(np.int32)
    onsets = codes[codes >= 0]
    offsets = -2 - codes[codes <= -2]
    events = post.detect_events(hys.astype(np.int32), 3, 2)
    assert len(events) > 3
    np.testing.assert_array_equal(np.stack([onsets, offsets], axis=1), events)
    np.testing.assert_array_equal(got[:, 5].view(np.int32), post.majority_vote(labels, 5, 4))


def test_arduino_sketch_of_an_mfcc_pipeline(fsdd, tmp_path: Path) -> None:
    """The exported library of a raw-audio pipeline (its header defines ML_RFFT_MAX_N):
    the Serial example built for the Uno with arduino-builder, fed 128-sample windows as
    float32 hex over its UART in simavr, prints the host's classes."""
    from test_avr import build_sketch, hex_row, run_uart

    from microlearn.export import arduino

    y = np.repeat(np.arange(10), 2).tolist() * 2
    pipe = make_pipeline(MFCC(sr=8000, n_fft=64, hop_length=64, n_mels=10, n_mfcc=6),
                         StandardScaler(), DecisionTreeClassifier(max_depth=5, random_state=0))
    model = microlearn.convert(pipe.fit(fsdd, y))
    lib = arduino(model, tmp_path / "digits", name="digits")
    assert (lib / "src" / "digits.h").read_text().startswith(
        "#ifndef ML_RFFT_MAX_N\n#define ML_RFFT_MAX_N 64\n")
    elf = build_sketch(lib, "digits", tmp_path / "build")
    rows = np.vstack([fsdd[::4], adversarial(128)[[0, 4, 7, 9]]])
    # each row is followed by idle line time (empty lines, which the sketch skips): the
    # host waits for the answer, as the Uno's 64-byte receive buffer would overflow while
    # a 29 ms prediction runs (at 115200 baud 340 characters arrive meanwhile)
    idle = "\n" * 1500
    lines = run_uart(elf, "".join(hex_row(r) + "\n" + idle for r in rows), tmp_path)
    assert lines[0] == "ready digits 128"
    np.testing.assert_array_equal(np.array(lines[1:], dtype=np.int64), model.predict(rows))


# --- the DSP functions called directly, tables computed on the device in RAM --------------

DIRECT_FIRMWARE = r"""
#define ML_RFFT_MAX_N 64
#include <avr/interrupt.h>
#include <avr/io.h>
#include <avr/sleep.h>
#include <string.h>
#include "ml_mel.h"
#include "ml_filter.h"

static uint32_t in32(void)
{
    uint32_t w = 0u;
    uint8_t i;
    for (i = 0u; i < 4u; i++) {
        w |= (uint32_t)GPIOR2 << (8u * i);
    }
    return w;
}

static void put(uint32_t w)
{
    uint8_t i;
    for (i = 0u; i < 4u; i++) {
        GPIOR0 = (uint8_t)(w >> (8u * i));
    }
}

static void putf(const float *v, uint8_t n)
{
    uint8_t i;
    for (i = 0u; i < n; i++) {
        uint32_t w;
        memcpy(&w, &v[i], sizeof w);
        put(w);
    }
}

int main(void)
{
    static float x[64], buf[66], sos[10], state[4];
    static int16_t q[64], qout[66];
    static ml_rfft_f32_t fft;
    static ml_rfft_q15_t fq;
    ml_dct2_f32_t dct;
    ml_biquad_f32_t bq;
    uint8_t i;
    int32_t r = 0;
    for (i = 0u; i < 64u; i++) {
        uint32_t w = in32();
        memcpy(&x[i], &w, sizeof w);
    }
    for (i = 0u; i < 64u; i++) {
        q[i] = (int16_t)in32();
    }
    for (i = 0u; i < 10u; i++) {
        uint32_t w = in32();
        memcpy(&sos[i], &w, sizeof w);
    }
    r |= ml_window_f32(ML_WINDOW_HANN, 64, 1, buf);
    putf(buf, 64);
    r |= ml_rfft_f32_init(&fft, 64);
    ml_rfft_f32(&fft, x, buf);
    putf(buf, 66);
    r |= ml_rfft_q15_init(&fq, 64);
    ml_rfft_q15(&fq, q, qout);
    for (i = 0u; i < 66u; i++) {
        put((uint32_t)(int32_t)qout[i]);
    }
    r |= ml_dct2_f32_init(&dct, 10, 6, 1, 22, buf);
    putf(buf, 60);
    r |= ml_biquad_f32_init(&bq, 2, sos, state);
    r |= ml_biquad_f32(&bq, x, buf, 64);
    putf(buf, 64);
    put((uint32_t)r);
    cli();
    sleep_enable();
    sleep_cpu();
    return 0;
}
"""


def test_dsp_functions_called_directly_on_avr(tmp_path: Path, fsdd) -> None:
    """Without the engine (tables computed on the device, in RAM): a Hann window, the
    float32 and Q15 (integer arithmetic with 16-bit int) 64-point FFTs, the liftered
    DCT-II matrix and a biquad cascade equal the host twins' (microlearn.dsp) bits."""
    from scipy.signal import butter

    from microlearn import dsp
    from microlearn.families.dsp.convert import _dct_matrix

    x = fsdd[5, :64].copy()
    q = np.round(np.clip(x * 4.0, -1.0, 0.99997) * 32767).astype(np.int16)
    sos = dsp.sos_coefficients(butter(4, 0.2, output="sos"))
    src = tmp_path / "direct.c"
    src.write_text(DIRECT_FIRMWARE)
    elf = tmp_path / "direct.elf"
    proc = subprocess.run(["avr-gcc", "-std=c99", "-mmcu=atmega328p", *STRICT,
                           "-ffp-contract=off", f"-I{RUNTIME}", str(src), "-o", str(elf)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    words = np.concatenate([x.view(np.uint32), q.astype(np.int32).view(np.uint32),
                            sos.view(np.uint32)]).astype("<u4")
    (tmp_path / "in.bin").write_bytes(words.tobytes())
    proc = subprocess.run([str(avr.runner_path()), "io", TARGET, str(avr.CLOCK_HZ), str(elf),
                           str(tmp_path / "in.bin"), str(tmp_path / "out.bin"),
                           str(tmp_path / "cyc.log"), "100000000"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = np.frombuffer((tmp_path / "out.bin").read_bytes(), dtype="<u4")
    assert out.size == 64 + 66 + 66 + 60 + 64 + 1 and out[-1] == 0
    parts = np.split(out[:-1], np.cumsum([64, 66, 66, 60]))
    _bits_equal(parts[0].view(np.float32), dsp.get_window("hann", 64))
    _bits_equal(parts[1].view(np.float32), dsp.rfft(x).view(np.float32))
    np.testing.assert_array_equal(parts[2].view(np.int32), dsp.rfft_q15(q).astype(np.int32))
    _bits_equal(parts[3].view(np.float32), _dct_matrix(10, 6, 1, 22).ravel())
    _bits_equal(parts[4].view(np.float32), dsp.sosfilt(butter(4, 0.2, output="sos"), x))


def test_twiddle_table_has_the_bits_of_the_c_init(tmp_path: Path) -> None:
    """The AVR twiddle table (computed in Python by the generator) equals what
    ml_rfft_f32_init computes, bit for bit, for every FFT size up to 4096."""
    from microlearn.families.dsp.c import rfft_twiddles
    from microlearn.host_build import find_compiler

    src = tmp_path / "tw.c"
    src.write_text('#define ML_RFFT_MAX_N 4096\n#include <stdio.h>\n#include <string.h>\n'
                   '#include "ml_fft.h"\nint main(void)\n{\n    static ml_rfft_f32_t S;\n'
                   '    int32_t n, i;\n    for (n = 16; n <= 4096; n *= 2) {\n'
                   '        if (ml_rfft_f32_init(&S, n) != ML_OK) return 1;\n'
                   '        for (i = 0; i < ML_RFFT_F32_TWIDDLES(n); i++) {\n'
                   '            uint32_t w;\n            memcpy(&w, &S.twiddle[i], 4);\n'
                   '            printf("%lu\\n", (unsigned long)w);\n        }\n    }\n'
                   '    return 0;\n}\n')
    exe = tmp_path / "tw"
    proc = subprocess.run([find_compiler(), "-std=c99", "-O2", "-ffp-contract=off",
                           f"-I{RUNTIME}", str(src), "-o", str(exe)], capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    ref = np.array(subprocess.run([str(exe)], capture_output=True, text=True,
                                  check=True).stdout.split(), dtype=np.uint64)
    ours = np.concatenate([rfft_twiddles(1 << k) for k in range(4, 13)])
    assert ref.size == ours.size == sum(5 * (1 << k) // 4 for k in range(4, 13))
    np.testing.assert_array_equal(ours.view(np.uint32), ref.astype(np.uint32))
