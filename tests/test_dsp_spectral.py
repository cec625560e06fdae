"""Spectral DSP (ml_fft.h, ml_window.h, ml_mel.h through microlearn.dsp): parity with
numpy / scipy / librosa, streaming == one-shot, invalid arguments, strict compilation
(gcc, clang, g++, arm-none-eabi-gcc), and the same bits on emulated Cortex-M as on the
host.

Tolerances (asserted here, documented in docs/dsp.md):
  rfft            max |X - numpy.fft.rfft(float64)| <= 1e-7 log2(n) sqrt(n) ||x||_2
  rfft_q15        max |out - X/n| <= 1.5 + log2(n)/4 LSB (Q15)
  get_window      |w - scipy (float64)| <= 2e-7
  mel_filterbank  |W - librosa| <= 1e-6 max(W)
  melspectrogram  |M - librosa| <= 1e-4 |R| + 1e-6 max(R)
  power_to_db     |D - librosa| <= 1e-4 dB (same input)
  mfcc            |C - librosa| <= 5e-6 max|C_ref| + 1e-3 (FSDD, top_db 80)
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from microlearn import dsp, targets
from microlearn.dsp import spectral
from microlearn.host_build import WARNING_FLAGS

ROOT = Path(__file__).resolve().parents[1]
RUNTIME = ROOT / "microlearn" / "runtime"
HOST_C = RUNTIME / "host" / "ml_dsp_spectral.c"
ALL_N = [2 ** k for k in range(4, 13)]


def fsdd_dir() -> Path | None:
    for root in (ROOT.parent / "shared" / "datasets", Path("/work/shared/datasets")):
        d = root / "fsdd" / "recordings"
        if d.is_dir():
            return d
    return None


FSDD_FILES = ["0_george_0.wav", "3_jackson_1.wav", "7_theo_2.wav", "9_yweweler_3.wav",
              "5_nicolas_4.wav", "2_lucas_0.wav"]


def load_fsdd(name: str) -> tuple[int, np.ndarray]:
    d = fsdd_dir()
    if d is None or not (d / name).is_file():
        pytest.skip("FSDD recordings not found (../shared/datasets/fsdd)")
    from scipy.io import wavfile

    sr, y = wavfile.read(d / name)
    return int(sr), (y.astype(np.float32) / np.float32(32768.0))


def fft_bound(x: np.ndarray) -> np.ndarray:
    n = x.shape[-1]
    return 1e-7 * np.log2(n) * np.sqrt(n) * np.linalg.norm(x.astype(np.float64), axis=-1)


def edge_signals(n: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(n)
    t = np.arange(n)
    sq = np.where((t // max(n // 16, 1)) % 2 == 0, 1.0, -1.0)
    return {
        "silence": np.zeros(n),
        "dc": np.full(n, 0.75),
        "square_full_scale": sq,
        "square_period8": np.array([1, 1, -1, 1, -1, -1, 1, -1] * (n // 8), dtype=float),
        "clipped_sine": np.clip(3.0 * np.sin(2 * np.pi * 5.3 * t / n), -1.0, 1.0),
        "nyquist": np.where(t % 2 == 0, 1.0, -1.0),
        "impulse": np.eye(1, n, n // 3).ravel(),
        "noise": rng.standard_normal(n),
        "large": rng.standard_normal(n) * 1e4,
    }


# ---------------------------------------------------------------------------------------
# FFT


@pytest.mark.parametrize("n", ALL_N)
def test_rfft_matches_numpy_every_size(n: int) -> None:
    sig = edge_signals(n)
    x = np.stack(list(sig.values())).astype(np.float32)
    X = dsp.rfft(x)
    assert X.dtype == np.complex64 and X.shape == (len(sig), n // 2 + 1)
    ref = np.fft.rfft(x.astype(np.float64), axis=-1)
    err = np.abs(X - ref).max(axis=-1)
    bound = fft_bound(x)
    for name, e, b in zip(sig, err, bound, strict=True):
        assert e <= b, f"n={n} {name}: error {e:.3g} > bound {b:.3g}"
    assert np.all(X[0] == 0)  # silence gives exact zeros
    assert np.all(X[:, 0].imag == 0) and np.all(X[:, -1].imag == 0)


def test_rfft_on_recordings_and_shapes() -> None:
    sr, y = load_fsdd(FSDD_FILES[0])
    for n in (256, 512, 1024, 4096):
        frames = np.resize(y, (3, n)).astype(np.float32)
        X = dsp.rfft(frames)
        ref = np.fft.rfft(frames.astype(np.float64))
        assert np.all(np.abs(X - ref).max(axis=-1) <= fft_bound(frames))
    # leading dimensions, zero-padding / truncation to n
    x = np.random.default_rng(1).standard_normal((2, 3, 100)).astype(np.float32)
    X = dsp.rfft(x, n=128)
    assert X.shape == (2, 3, 65)
    np.testing.assert_allclose(X, np.fft.rfft(x, n=128), atol=1e-4)
    np.testing.assert_allclose(dsp.rfft(x, n=64), np.fft.rfft(x, n=64), atol=1e-4)
    p = dsp.power_spectrum(x, n=128)
    np.testing.assert_allclose(p, np.abs(np.fft.rfft(x, n=128)) ** 2, rtol=1e-4, atol=1e-3)
    m = dsp.magnitude_spectrum(x, n=128)
    np.testing.assert_allclose(m, np.abs(np.fft.rfft(x, n=128)), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("n", ALL_N)
def test_rfft_q15_scaling_and_error(n: int) -> None:
    sig = edge_signals(n)
    del sig["large"]
    x = np.stack([np.clip(np.round(v / max(np.abs(v).max(), 1e-9) * 32767), -32768, 32767)
                  for v in sig.values()]).astype(np.int16)
    x[1] = -32768  # full-scale negative DC
    out = dsp.rfft_q15(x)
    assert out.dtype == np.int16 and out.shape == (len(sig), n + 2)
    ref = np.fft.rfft(x.astype(np.float64), axis=-1) / n
    got = out[:, 0::2].astype(np.float64) + 1j * out[:, 1::2].astype(np.float64)
    err = np.abs(got - ref).max()
    assert err <= 1.5 + np.log2(n) / 4, f"n={n}: {err:.2f} LSB"
    assert out[1, 0] == -32768 and out[0, 0] == 0


@pytest.mark.parametrize("n", [0, 1, 8, 15, 100, 1000, 8192, 3 * 1024])
def test_invalid_fft_sizes(n: int) -> None:
    with pytest.raises(ValueError, match="power of two"):
        dsp.rfft(np.zeros(max(n, 1), np.float32), n=n)
    with pytest.raises(ValueError, match="power of two"):
        dsp.rfft_q15(np.zeros(max(n, 1), np.int16))
    lib = spectral._lib()
    buf = np.zeros(8192 + 2, np.float32)
    assert lib.mlds_rfft(buf.ctypes.data, 1, n, buf.ctypes.data) == -20
    assert lib.mlds_rfft_q15(buf.ctypes.data, 1, n, buf.ctypes.data) == -20
    with pytest.raises(ValueError):
        dsp.melspectrogram(y=np.zeros(4096, np.float32), sr=8000, n_fft=max(n, 1))


def test_invalid_arguments() -> None:
    y = np.zeros(2048, np.float32)
    for kwargs in ({"power": 3.0}, {"window": "kaiser"}, {"hop_length": 0},
                   {"win_length": 1024}, {"norm": "l2"}):
        with pytest.raises(ValueError):
            dsp.melspectrogram(y=y, sr=8000, n_fft=512, **kwargs)
    with pytest.raises(ValueError):
        dsp.melspectrogram(y=np.zeros(100, np.float32), sr=8000, n_fft=512, center=False)
    with pytest.raises(ValueError):
        dsp.power_to_db(np.ones(4), amin=0.0)
    with pytest.raises(ValueError):
        dsp.power_to_db(np.ones(4), top_db=-1.0)
    for kwargs in ({"dct_type": 3}, {"norm": "forward"}, {"lifter": 1.5}, {"lifter": -1},
                   {"n_mfcc": 50}):
        with pytest.raises(ValueError):
            dsp.mfcc(y=y, sr=8000, n_fft=512, n_mels=40, **kwargs)
    with pytest.raises(ValueError):
        dsp.get_window("hann", 0)
    with pytest.raises(ValueError):
        dsp.get_window("tukey", 16)
    lib = spectral._lib()
    out = np.zeros(16, np.float32)
    assert lib.mlds_window(9, 16, 1, out.ctypes.data) == -8
    assert lib.mlds_window(1, 0, 1, out.ctypes.data) == -8
    assert lib.mlds_power_to_db(out.ctypes.data, 16, 1.0, 0.0, 80.0, out.ctypes.data) == -8
    start = np.array([250], np.uint16)
    length = np.array([10], np.uint16)  # reaches past bin 257
    w = np.ones(10, np.float32)
    assert lib.mlds_mel(out.ctypes.data, 0, 257, 1, start.ctypes.data, length.ctypes.data,
                        w.ctypes.data, out.ctypes.data) == -8


# ---------------------------------------------------------------------------------------
# windows, mel filterbank


@pytest.mark.parametrize("name", ["hann", "hamming", "blackman", "boxcar"])
def test_windows_match_scipy(name: str) -> None:
    from scipy.signal import get_window

    for n in [*range(1, 70), 255, 256, 400, 512, 1000, 2048, 4096]:
        for fftbins in (True, False):
            w = dsp.get_window(name, n, fftbins=fftbins)
            ref = get_window(name, n, fftbins=fftbins)
            assert w.dtype == np.float32 and w.shape == (n,)
            assert np.abs(w - ref).max() <= 2e-7, (name, n, fftbins)


@pytest.mark.parametrize("sr,n_fft,n_mels,fmin,fmax", [
    (8000, 512, 40, 0.0, None), (16000, 1024, 64, 20.0, 7600.0), (22050, 2048, 128, 0.0, None),
    (8000, 256, 20, 300.0, 3400.0),
])
def test_mel_filterbank_matches_librosa(sr: int, n_fft: int, n_mels: int, fmin: float,
                                        fmax: float | None) -> None:
    librosa = pytest.importorskip("librosa")
    for htk in (False, True):
        for norm in ("slaney", None, 1.0, 2.0):
            W = dsp.mel_filterbank(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax,
                                   htk=htk, norm=norm)
            ref = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin,
                                      fmax=fmax, htk=htk, norm=norm)
            assert np.abs(W - ref).max() <= 1e-6 * ref.max(), (htk, norm)
    start, length, values = dsp.mel_table(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin,
                                          fmax=fmax)
    dense = np.zeros_like(W)
    off = 0
    for j, (s, n) in enumerate(zip(start, length, strict=True)):
        dense[j, s:s + n] = values[off:off + n]
        off += n
    np.testing.assert_array_equal(dense, dsp.mel_filterbank(sr=sr, n_fft=n_fft, n_mels=n_mels,
                                                            fmin=fmin, fmax=fmax))
    assert values.size < 0.25 * W.size  # sparse


# ---------------------------------------------------------------------------------------
# mel spectrogram, power_to_db, MFCC against librosa


def check_melspec(y: np.ndarray, sr: int, **kw) -> None:
    librosa = pytest.importorskip("librosa")
    M = dsp.melspectrogram(y=y, sr=sr, **kw)
    R = librosa.feature.melspectrogram(y=y, sr=sr, **kw)
    assert M.shape == R.shape and M.dtype == np.float32
    np.testing.assert_allclose(M, R, rtol=1e-4, atol=1e-6 * max(float(R.max()), 1e-30))


@pytest.mark.parametrize("name", FSDD_FILES[:4])
def test_melspectrogram_matches_librosa_on_recordings(name: str) -> None:
    sr, y = load_fsdd(name)
    check_melspec(y, sr, n_fft=512, hop_length=128, n_mels=40, center=False)
    check_melspec(y, sr, n_fft=256, hop_length=80, n_mels=32, center=True, htk=True,
                  norm=None, power=1.0)
    check_melspec(y, sr, n_fft=1024, hop_length=256, win_length=800, window="hamming",
                  n_mels=64, fmin=50.0, fmax=3800.0, center=False)


@pytest.mark.filterwarnings("ignore:n_fft=.*is too large")
def test_melspectrogram_edge_cases() -> None:
    sr, n = 8000, 512
    for name, x in edge_signals(4096).items():
        check_melspec(x.astype(np.float32), sr, n_fft=n, hop_length=200, n_mels=40,
                      center=False)
        check_melspec(x.astype(np.float32), sr, n_fft=n, hop_length=200, n_mels=40,
                      center=True)
        del name
    # very short inputs: exactly one frame; shorter than n_fft with centring
    check_melspec(np.ones(n, np.float32), sr, n_fft=n, hop_length=128, n_mels=40,
                  center=False)
    check_melspec(np.linspace(-1, 1, 300).astype(np.float32), sr, n_fft=n, hop_length=128,
                  n_mels=40, center=True)
    assert dsp.melspectrogram(y=np.zeros(n, np.float32), sr=sr, n_fft=n, n_mels=40,
                              center=False).max() == 0
    # from a spectrogram S
    librosa = pytest.importorskip("librosa")
    S = np.abs(librosa.stft(edge_signals(4096)["noise"].astype(np.float32), n_fft=n)) ** 2
    np.testing.assert_allclose(dsp.melspectrogram(S=S, sr=sr, n_fft=n, n_mels=40),
                               librosa.feature.melspectrogram(S=S, sr=sr, n_fft=n, n_mels=40),
                               rtol=1e-5, atol=1e-6 * S.max())


def test_power_to_db_matches_librosa() -> None:
    librosa = pytest.importorskip("librosa")
    rng = np.random.default_rng(3)
    S = (10.0 ** rng.uniform(-14, 4, (40, 50))).astype(np.float32)
    S[0, :5] = 0.0
    for kw in ({}, {"ref": np.max}, {"ref": 10.0, "amin": 1e-5, "top_db": None},
               {"top_db": 40.0}, {"ref": np.median, "top_db": 0.0}):
        D = dsp.power_to_db(S, **kw)
        R = librosa.power_to_db(S, **kw)
        assert D.dtype == np.float32 and D.shape == S.shape
        assert np.abs(D - R).max() <= 1e-4, kw
    np.testing.assert_allclose(dsp.power_to_db(np.zeros(7, np.float32)), -100.0, atol=1e-4)


@pytest.mark.parametrize("name", FSDD_FILES[2:6])
def test_mfcc_matches_librosa_on_recordings(name: str) -> None:
    librosa = pytest.importorskip("librosa")
    sr, y = load_fsdd(name)
    for kw in ({"n_mfcc": 13, "n_fft": 512, "hop_length": 128, "n_mels": 40, "center": False},
               {"n_mfcc": 20, "n_fft": 256, "hop_length": 64, "n_mels": 40, "lifter": 22,
                "htk": True},
               {"n_mfcc": 13, "n_fft": 512, "hop_length": 160, "n_mels": 26, "norm": None,
                "fmin": 100.0}):
        C = dsp.mfcc(y=y, sr=sr, **kw)
        R = librosa.feature.mfcc(y=y, sr=sr, **kw)
        assert C.shape == R.shape and C.dtype == np.float32
        assert np.abs(C - R).max() <= 5e-6 * np.abs(R).max() + 1e-3, kw
    # several channels (..., N), as librosa
    y2 = np.stack([y, y[::-1] * np.float32(0.5)])
    kw = {"n_mfcc": 13, "n_fft": 512, "hop_length": 128, "n_mels": 40}
    C = dsp.mfcc(y=y2, sr=sr, **kw)
    R = librosa.feature.mfcc(y=y2, sr=sr, **kw)
    assert C.shape == R.shape == (2, 13, R.shape[-1])
    assert np.abs(C - R).max() <= 5e-6 * np.abs(R).max() + 1e-3
    # from a dB spectrogram
    S = librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=sr, n_fft=512, n_mels=40))
    C = dsp.mfcc(S=S, n_mfcc=13, lifter=10)
    R = librosa.feature.mfcc(S=S, n_mfcc=13, lifter=10)
    assert np.abs(C - R).max() <= 5e-6 * np.abs(R).max()


def test_dct_matches_scipy_large() -> None:
    from scipy.fft import dct

    S = np.random.default_rng(5).standard_normal((300, 4)).astype(np.float32) * 30
    for norm in ("ortho", None):
        C = dsp.mfcc(S=S, n_mfcc=300, norm=norm)
        R = dct(S.astype(np.float64), type=2, norm=norm, axis=0)
        assert np.abs(C - R).max() <= 2e-6 * np.abs(R).max() * np.sqrt(300), norm


def test_mfcc_frames_is_the_streaming_device_path() -> None:
    """ml_mfcc_f32 frame by frame == dsp.mfcc(center=False, top_db=None) bit for bit."""
    sr, y = 8000, edge_signals(4096)["noise"].astype(np.float32) * np.float32(0.1)
    kw = {"n_fft": 512, "hop_length": 128, "n_mels": 40, "n_mfcc": 13}
    a = dsp.mfcc_frames(y, sr=sr, lifter=22, top_db=None, **kw)
    b = dsp.mfcc(y=y, sr=sr, lifter=22, top_db=None, center=False, **kw)
    np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------------------
# streaming


@pytest.mark.parametrize("frame_length,hop", [(512, 128), (400, 160), (64, 64), (32, 50),
                                              (16, 1)])
def test_frames_streaming_equals_one_shot(frame_length: int, hop: int) -> None:
    y = np.random.default_rng(frame_length).standard_normal(3001).astype(np.float32)
    n_frames = 1 + (y.size - frame_length) // hop
    ref = np.stack([y[i * hop:i * hop + frame_length] for i in range(n_frames)], axis=1)
    librosa = pytest.importorskip("librosa")
    np.testing.assert_array_equal(
        librosa.util.frame(y, frame_length=frame_length, hop_length=hop), ref)
    np.testing.assert_array_equal(dsp.frame(y, frame_length, hop), ref)
    for blocks in (1, 7, frame_length, hop, 1000, [3, 500, 17, 1], [frame_length + 1, 2]):
        np.testing.assert_array_equal(dsp.frame(y, frame_length, hop, blocks=blocks), ref)
    assert dsp.frame(y[:frame_length - 1], frame_length, hop).shape == (frame_length, 0)


# ---------------------------------------------------------------------------------------
# compilers


COMPILE_SOURCE = r"""
#include "ml_fft.h"
#include "ml_window.h"
#include "ml_mel.h"
#include "ml_mel.h"
int32_t use(float *x, float *y);
int32_t use(float *x, float *y)
{
    ml_rfft_f32_t f;
    ml_rfft_q15_t q;
    int32_t r = ml_rfft_f32_init(&f, 256) + ml_rfft_q15_init(&q, 256);
    ml_rfft_f32(&f, x, y);
    ml_rfft_q15(&q, (int16_t *)x, (int16_t *)y);
    return r + ml_window_f32(ML_WINDOW_HANN, 256, 1, x);
}
"""


def test_headers_compile_strict_c_cpp_and_cortex_m(tmp_path: Path) -> None:
    table = dsp.mel_c_table("mel40", sr=8000, n_fft=512, n_mels=40)
    table += dsp.mel_c_table("mel_htk", sr=16000, n_fft=256, n_mels=20, htk=True, norm=None)
    (tmp_path / "mel40.h").write_text(table)
    src = tmp_path / "use.c"
    src.write_text(COMPILE_SOURCE + '#include "mel40.h"\n'
                   "int32_t use_mel(ml_mel_f32_t *m);\n"
                   "int32_t use_mel(ml_mel_f32_t *m) { return mel40_init(m) + "
                   "mel_htk_init(m); }\n")
    builds = [
        (["gcc"], ["-std=c99", "-Wpedantic"]),
        (["clang"], ["-std=c99", "-Wpedantic"]),
        (["g++", "-x", "c++"], ["-std=c++11", "-Wpedantic"]),
        (["arm-none-eabi-gcc"], ["-std=c99", "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard",
                                 "-mfpu=fpv4-sp-d16"]),
        (["arm-none-eabi-gcc"], ["-std=c99", "-mcpu=cortex-m0plus", "-mthumb"]),
    ]
    ran = 0
    for cc, extra in builds:
        if shutil.which(cc[0]) is None:
            continue
        flags = [f for f in WARNING_FLAGS if f != "-std=c99"]
        for source in (src, HOST_C):
            cmd = [*cc, *flags, *extra, "-Os", "-ffp-contract=off", f"-I{RUNTIME}",
                   f"-I{tmp_path}", "-c",
                   str(source), "-o", str(tmp_path / "o.o")]
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
            assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stderr}"
        ran += 1
    assert ran >= 2


# ---------------------------------------------------------------------------------------
# host == emulated Cortex-M (same C, same bits)


DEVICE_MAIN = r"""
#include "ml_dsp_spectral.c"
#include "mlh_semihost.h"
#include "dev_inputs.h"

static float fbuf[4096 + 2];
static float mel_out[64 * 40];
static float scratch[2 * 512 + 2 + 40 + 13 * 40];
static int16_t qbuf[4096 + 2];
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

static void put_code(int32_t r) { put(&r, 4u); }

int main(void)
{
    static const char name[] = "dsp_out.bin";
    static const int32_t sizes[4] = {16, 256, 1024, 4096};
    static const int32_t blocks[2] = {7, 100};
    uint32_t block[3];
    int32_t i;
    block[0] = (uint32_t)(uintptr_t)name;
    block[1] = MLH_OPEN_MODE_WB;
    block[2] = (uint32_t)(sizeof name - 1u);
    handle = mlh_semihost_call(MLH_SYS_OPEN, block);
    if (handle < 0) {
        mlh_exit(MLH_EXIT_OPEN_FAILED);
    }
    for (i = 0; i < 4; i++) {
        put_code(mlds_rfft(dev_signal, 1, sizes[i], fbuf));
        put(fbuf, (uint32_t)(sizes[i] + 2) * 4u);
        put_code(mlds_rfft_q15(dev_signal_q15, 1, sizes[i], qbuf));
        put(qbuf, (uint32_t)(sizes[i] + 2) * 2u);
    }
    for (i = 1; i <= 3; i++) {
        put_code(mlds_window(i, 400, i & 1, fbuf));
        put(fbuf, 400u * 4u);
    }
    put_code(mlds_melspec(dev_signal, DEV_FRAMES, 128, 512, dev_window, 40, mel_start,
                          mel_length, mel_weights, 2, scratch, mel_out));
    put(mel_out, DEV_FRAMES * 40u * 4u);
    put_code(mlds_power_to_db(mel_out, DEV_FRAMES * 40, 1.0f, 1e-10f, 80.0f, mel_out));
    put(mel_out, DEV_FRAMES * 40u * 4u);
    put_code(mlds_mfcc(dev_signal, DEV_FRAMES, 128, 512, dev_window, 40, mel_start, mel_length,
                       mel_weights, 2, 13, 1, 22, 1e-10f, 80.0f, scratch, mel_out));
    put(mel_out, DEV_FRAMES * 13u * 4u);
    put_code(mlds_frames(dev_signal, 1000, 400, 160, blocks, 2, fbuf, 4));
    put(fbuf, 4u * 400u * 4u);
    put_code(mlds_rfft(dev_signal, 1, 100, fbuf));
    block[0] = (uint32_t)handle;
    (void)mlh_semihost_call(MLH_SYS_CLOSE, block);
    return 0;
}
"""


def _c_array(name: str, ctype: str, v: np.ndarray) -> str:
    if v.dtype == np.float32:
        items = ",".join(f"{float(x):.9e}f" for x in v)
    else:
        items = ",".join(str(int(x)) for x in v)
    return f"static const {ctype} {name}[{v.size}] = {{{items}}};\n"


def device_inputs() -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple, int]:
    d = fsdd_dir()
    if d is not None and (d / FSDD_FILES[1]).is_file():
        _, y = load_fsdd(FSDD_FILES[1])
        x = np.resize(y, 4096).astype(np.float32)
    else:
        x = (0.3 * edge_signals(4096)["noise"]).astype(np.float32)
    x[-16:] = 1.0  # clipping at the end
    q = np.clip(np.round(x * 32767), -32768, 32767).astype(np.int16)
    win = dsp.get_window("hann", 512)
    table = dsp.mel_table(sr=8000, n_fft=512, n_mels=40)
    n_frames = 1 + (4096 - 512) // 128
    return x, q, win, table, n_frames


def host_expected(x, q, win, table, n_frames) -> bytes:
    lib = spectral._lib()
    start, length, weights = table
    parts: list[bytes] = []

    def code(r: int) -> None:
        parts.append(np.int32(r).tobytes())

    for n in (16, 256, 1024, 4096):
        out = np.zeros(n + 2, np.float32)
        code(lib.mlds_rfft(x.ctypes.data, 1, n, out.ctypes.data))
        parts.append(out.tobytes())
        out16 = np.zeros(n + 2, np.int16)
        code(lib.mlds_rfft_q15(q.ctypes.data, 1, n, out16.ctypes.data))
        parts.append(out16.tobytes())
    for i in (1, 2, 3):
        w = np.zeros(400, np.float32)
        code(lib.mlds_window(i, 400, i & 1, w.ctypes.data))
        parts.append(w.tobytes())
    scratch = np.zeros(2 * 512 + 2 + 40 + 13 * 40, np.float32)
    mel = np.zeros(n_frames * 40, np.float32)
    code(lib.mlds_melspec(x.ctypes.data, n_frames, 128, 512, win.ctypes.data, 40,
                          start.ctypes.data, length.ctypes.data, weights.ctypes.data, 2,
                          scratch.ctypes.data, mel.ctypes.data))
    parts.append(mel.tobytes())
    code(lib.mlds_power_to_db(mel.ctypes.data, mel.size, 1.0, 1e-10, 80.0, mel.ctypes.data))
    parts.append(mel.tobytes())
    mf = np.zeros(n_frames * 13, np.float32)
    code(lib.mlds_mfcc(x.ctypes.data, n_frames, 128, 512, win.ctypes.data, 40,
                       start.ctypes.data, length.ctypes.data, weights.ctypes.data, 2, 13, 1,
                       22, 1e-10, 80.0, scratch.ctypes.data, mf.ctypes.data))
    parts.append(mf.tobytes())
    fr = np.zeros(4 * 400, np.float32)
    bl = np.array([7, 100], np.int32)
    code(lib.mlds_frames(x.ctypes.data, 1000, 400, 160, bl.ctypes.data, 2, fr.ctypes.data, 4))
    parts.append(fr.tobytes())
    code(lib.mlds_rfft(x.ctypes.data, 1, 100, fr.ctypes.data))
    return b"".join(parts)


@pytest.mark.parametrize("core", ["cortex-m4f", "cortex-m0plus"])
def test_device_bits_equal_host(core: str, tmp_path: Path) -> None:
    reason = targets.unavailable_reason(core)
    if reason is not None:
        pytest.skip(reason)
    x, q, win, table, n_frames = device_inputs()
    start, length, weights = table
    (tmp_path / "dev_inputs.h").write_text(
        f"#define DEV_FRAMES {n_frames}\n" + _c_array("dev_signal", "float", x)
        + _c_array("dev_signal_q15", "int16_t", q) + _c_array("dev_window", "float", win)
        + _c_array("mel_start", "uint16_t", start) + _c_array("mel_length", "uint16_t", length)
        + _c_array("mel_weights", "float", weights))
    (tmp_path / "main.c").write_text(DEVICE_MAIN)
    spec = targets.TARGETS[core]
    tdir = RUNTIME / "target"
    elf = tmp_path / "dsp.elf"
    cmd = [spec.cc, *spec.cflags, f"-I{RUNTIME / 'host'}", f"-I{tdir}", f"-I{tmp_path}",
           str(tmp_path / "main.c"), str(tdir / "startup.c"), *spec.ldflags, "-T",
           str(tdir / spec.linker_script), *spec.libs, "-o", str(elf)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = targets.run_qemu(core, elf, cwd=tmp_path, timeout=300)
    assert run.returncode == 0, run.stderr
    got = (tmp_path / "dsp_out.bin").read_bytes()
    expected = host_expected(x, q, win, table, n_frames)
    assert len(got) == len(expected)
    if got != expected:
        a = np.frombuffer(got, np.uint8)
        b = np.frombuffer(expected, np.uint8)
        first = int(np.flatnonzero(a != b)[0])
        raise AssertionError(f"{core}: device bytes differ from the host's from byte {first}")
    assert np.frombuffer(got[-4:], np.int32)[0] == -20  # n = 100: error code on the device


def test_ctypes_library_loads_once() -> None:
    assert spectral._lib() is spectral._lib()
    assert isinstance(spectral._lib(), ctypes.CDLL)


# ---------------------------------------------------------------------------------------
# docs/dsp.md: the examples of the "## Spectral" section run / compile


def spectral_doc_blocks(lang: str) -> list[str]:
    text = (ROOT / "docs" / "dsp.md").read_text()
    section = text.split("## Spectral", 1)[1].split("\n## ", 1)[0]
    return [b.split("\n", 1)[1] for b in section.split("```")[1::2] if b.startswith(lang)]


def test_docs_python_examples_run() -> None:
    blocks = spectral_doc_blocks("python")
    assert len(blocks) >= 2
    for code in blocks:
        exec(compile(code, "docs/dsp.md", "exec"), {})


def test_docs_c_example_compiles(tmp_path: Path) -> None:
    (block,) = spectral_doc_blocks("c\n")
    (tmp_path / "mel40.h").write_text(dsp.mel_c_table("mel40", sr=8000, n_fft=512, n_mels=40))
    src = tmp_path / "example.c"
    src.write_text(block)
    cmd = ["gcc" if shutil.which("gcc") else "cc", *WARNING_FLAGS, "-O2", "-ffp-contract=off",
           f"-I{RUNTIME}", f"-I{tmp_path}", "-c", str(src), "-o", str(tmp_path / "e.o")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


# ---------------------------------------------------------------------------------------
# scikit-learn transformers (microlearn.features)


def tone_windows(n: int = 40, length: int = 4000, sr: int = 8000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    y = np.arange(n) % 2
    t = np.arange(length) / sr
    f = np.where(y == 0, 300.0, 1200.0)[:, None] * rng.uniform(0.9, 1.1, (n, 1))
    X = 0.5 * np.sin(2 * np.pi * f * t) + 0.05 * rng.standard_normal((n, length))
    return X.astype(np.float32), y


def test_feature_transformers_equal_dsp_functions() -> None:
    from sklearn.base import clone

    from microlearn.features import MFCC, MelSpectrogram

    X, _ = tone_windows(4)
    ms = MelSpectrogram(sr=8000, n_fft=256, hop_length=128, n_mels=32).fit(X)
    Z = ms.transform(X)
    assert Z.shape == (4, ms.n_frames_ * 32) and ms.n_frames_ == 1 + (4000 - 256) // 128
    for row, z in zip(X, Z, strict=True):
        M = dsp.melspectrogram(y=row, sr=8000, n_fft=256, hop_length=128, n_mels=32,
                               center=False)
        np.testing.assert_array_equal(z, dsp.power_to_db(M.T, top_db=None).ravel())
    mf = MFCC(sr=8000, n_fft=256, hop_length=128, n_mels=32, n_mfcc=12, lifter=22)
    Z = mf.fit_transform(X)
    for row, z in zip(X, Z, strict=True):
        ref = dsp.mfcc_frames(row, sr=8000, n_fft=256, hop_length=128, n_mels=32, n_mfcc=12,
                              lifter=22)
        np.testing.assert_array_equal(z, ref.T.ravel())
    assert len(mf.get_feature_names_out()) == Z.shape[1]
    assert clone(mf).get_params()["lifter"] == 22
    with pytest.raises(ValueError):
        mf.transform(X[:, :1000])
    with pytest.raises(ValueError):
        MFCC(n_fft=500).fit(X)
    with pytest.raises(ValueError):
        MFCC(n_mfcc=50, n_mels=40).fit(X)


def test_feature_transformer_in_a_pipeline() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from microlearn.features import MFCC

    X, y = tone_windows(40)
    pipe = make_pipeline(MFCC(sr=8000, n_fft=256, hop_length=256, n_mels=32), StandardScaler(),
                         LogisticRegression(max_iter=500))
    pipe.fit(X[:30], y[:30])
    assert pipe.score(X[30:], y[30:]) == 1.0
