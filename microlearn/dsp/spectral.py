"""Spectral features computed by the device's C code on the host.

Every function here calls the C runtime headers ``ml_fft.h``, ``ml_window.h`` and
``ml_mel.h`` through ``runtime/host/ml_dsp_spectral.c`` (compiled once with the strict host
flags by :func:`microlearn.host_build.load_c_source`), so features computed for training
are bit-identical to those the firmware computes. Conventions and keyword names follow
scipy (:func:`get_window`), numpy (:func:`rfft`) and librosa (:func:`mel_filterbank`,
:func:`melspectrogram`, :func:`power_to_db`, :func:`mfcc`); see docs/dsp.md for the
tolerances against them.

Only the mel filterbank weights are computed in Python (float64, librosa's formulas),
at conversion time: :func:`mel_table` turns them into the sparse table the C code reads
and :func:`mel_c_table` prints it as C.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from ..host_build import RUNTIME_DIR, load_c_source

__all__ = [
    "MAX_FFT_SIZE",
    "MIN_FFT_SIZE",
    "frame",
    "get_window",
    "hz_to_mel",
    "magnitude_spectrum",
    "mel_c_table",
    "mel_filterbank",
    "mel_frequencies",
    "mel_table",
    "mel_to_hz",
    "melspectrogram",
    "mfcc",
    "mfcc_frames",
    "power_spectrum",
    "power_to_db",
    "rfft",
    "rfft_q15",
]

HOST_C = RUNTIME_DIR / "host" / "ml_dsp_spectral.c"

#: FFT sizes the C code supports: powers of two from MIN_FFT_SIZE to MAX_FFT_SIZE.
MIN_FFT_SIZE = 16
MAX_FFT_SIZE = 4096

#: C error codes (ml_common.h, ml_fft.h)
_ERRORS = {-1: "NULL pointer", -8: "argument out of range", -20: "FFT size not supported"}

#: window names -> ML_WINDOW_* of ml_window.h
WINDOWS = {"boxcar": 0, "rect": 0, "rectangular": 0, "ones": 0, "hann": 1, "hamming": 2,
           "blackman": 3}

_P = ctypes.c_void_p
_I = ctypes.c_int32
_F = ctypes.c_float

_SIGNATURES: dict[str, list[Any]] = {
    "mlds_window": [_I, _I, _I, _P],
    "mlds_rfft": [_P, _I, _I, _P],
    "mlds_rfft_q15": [_P, _I, _I, _P],
    "mlds_spectrum": [_P, _I, _I, _P],
    "mlds_spectrum_q15": [_P, _I, _P, _P],
    "mlds_frames": [_P, _I, _I, _I, _P, _I, _P, _I],
    "mlds_melspec": [_P, _I, _I, _I, _P, _I, _P, _P, _P, _I, _P, _P],
    "mlds_mel": [_P, _I, _I, _I, _P, _P, _P, _P],
    "mlds_power_to_db": [_P, _I, _F, _F, _F, _P],
    "mlds_dct": [_P, _I, _I, _I, _I, _I, _P, _P],
    "mlds_mfcc": [_P, _I, _I, _I, _P, _I, _P, _P, _P, _I, _I, _I, _I, _F, _F, _P, _P],
}


@cache
def _lib() -> ctypes.CDLL:
    lib = load_c_source(Path(HOST_C))
    for name, args in _SIGNATURES.items():
        fn = getattr(lib, name)
        fn.argtypes = args
        fn.restype = ctypes.c_int32
    return lib


def _ptr(a: np.ndarray) -> int:
    return a.ctypes.data


def _check(code: int, what: str) -> int:
    if code < 0:
        raise ValueError(f"{what}: the C code returned {code} "
                         f"({_ERRORS.get(code, 'error')})")
    return code


def _check_fft_size(n: int, name: str = "n") -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {n!r}")
    n = int(n)
    if n < MIN_FFT_SIZE or n > MAX_FFT_SIZE or n & (n - 1):
        raise ValueError(f"{name} must be a power of two from {MIN_FFT_SIZE} to "
                         f"{MAX_FFT_SIZE}, got {n}")
    return n


def _f32(x: Any) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float32)


# ---------------------------------------------------------------------------------------
# windows, FFT


def get_window(window: str | tuple[str] | Any, Nx: int, fftbins: bool = True) -> np.ndarray:
    """A window computed by ``ml_window_f32`` (as ``scipy.signal.get_window``).

    Parameters
    ----------
    window : str or tuple of one str
        ``"hann"``, ``"hamming"``, ``"blackman"`` or ``"boxcar"`` (also ``"rect"``,
        ``"rectangular"``, ``"ones"``).
    Nx : int
        Number of samples (>= 1).
    fftbins : bool, default True
        True: periodic (for spectral analysis, scipy's default); False: symmetric.

    Returns
    -------
    numpy.ndarray
        float32 array of shape (Nx,): scipy's float64 window within 2e-7.

    Raises
    ------
    ValueError
        For an unknown window name or Nx < 1.
    """
    if isinstance(window, tuple) and len(window) == 1:
        window = window[0]
    if not isinstance(window, str) or window.lower() not in WINDOWS:
        raise ValueError(f"window must be one of {sorted(WINDOWS)}, got {window!r}")
    if isinstance(Nx, bool) or not isinstance(Nx, (int, np.integer)) or Nx < 1:
        raise ValueError(f"Nx must be a positive integer, got {Nx!r}")
    out = np.empty(int(Nx), dtype=np.float32)
    _check(_lib().mlds_window(WINDOWS[window.lower()], int(Nx), int(bool(fftbins)),
                              _ptr(out)), "get_window")
    return out


def _rows(x: np.ndarray, n: int | None, dtype: Any) -> tuple[np.ndarray, tuple[int, ...]]:
    """x as contiguous (rows, n) of dtype, zero-padded / truncated to n along the last
    axis; and the leading shape."""
    x = np.asarray(x)
    if x.ndim == 0:
        raise ValueError("x must have at least one dimension")
    if n is not None and n != x.shape[-1]:
        if n < x.shape[-1]:
            x = x[..., :n]
        else:
            pad = [(0, 0)] * (x.ndim - 1) + [(0, n - x.shape[-1])]
            x = np.pad(x, pad)
    lead = x.shape[:-1]
    return np.ascontiguousarray(x.reshape(-1, x.shape[-1]), dtype=dtype), lead


def rfft(x: Any, n: int | None = None) -> np.ndarray:
    """Real FFT by ``ml_rfft_f32`` along the last axis (as ``numpy.fft.rfft``).

    Parameters
    ----------
    x : array-like of shape (..., N)
        Real input, converted to float32.
    n : int, optional
        FFT length (x is zero-padded or truncated to it); default N. A power of two
        from 16 to 4096.

    Returns
    -------
    numpy.ndarray
        complex64 array of shape (..., n // 2 + 1). Against ``numpy.fft.rfft`` in float64:
        max abs error <= 1e-7 * log2(n) * sqrt(n) * sqrt(sum x^2) per row.

    Raises
    ------
    ValueError
        When n is not a power of two from 16 to 4096.
    """
    x = np.asarray(x)
    n = _check_fft_size(x.shape[-1] if n is None and x.ndim else n)
    rows, lead = _rows(x, n, np.float32)
    out = np.empty((rows.shape[0], n + 2), dtype=np.float32)
    if rows.shape[0]:
        _check(_lib().mlds_rfft(_ptr(rows), rows.shape[0], n, _ptr(out)), "rfft")
    return out.view(np.complex64).reshape(*lead, n // 2 + 1)


def rfft_q15(x: Any) -> np.ndarray:
    """Q15 real FFT by ``ml_rfft_q15`` along the last axis.

    Parameters
    ----------
    x : array-like of int16, shape (..., n)
        Q15 samples (x / 32768 in [-1, 1)); n a power of two from 16 to 4096.

    Returns
    -------
    numpy.ndarray
        int16 array of shape (..., n + 2): re, im of bins 0 .. n/2 of the DFT divided by
        n (Q15; ``rfft(x) / n`` within a few LSB).

    Raises
    ------
    ValueError
        For a size that is not supported or values outside int16.
    """
    x = np.asarray(x)
    if x.ndim == 0:
        raise ValueError("x must have at least one dimension")
    n = _check_fft_size(x.shape[-1])
    if x.dtype != np.int16:
        if x.size and (np.min(x) < -32768 or np.max(x) > 32767):
            raise ValueError("x must hold int16 values (Q15)")
    rows, lead = _rows(x, None, np.int16)
    out = np.empty((rows.shape[0], n + 2), dtype=np.int16)
    if rows.shape[0]:
        _check(_lib().mlds_rfft_q15(_ptr(rows), rows.shape[0], n, _ptr(out)), "rfft_q15")
    return out.reshape(*lead, n + 2)


def _spectrum(x: Any, kind: int, n: int | None) -> np.ndarray:
    X = rfft(x, n)
    packed = np.ascontiguousarray(X).view(np.float32)
    out = np.empty(X.shape, dtype=np.float32)
    if X.size:
        _check(_lib().mlds_spectrum(_ptr(packed), X.size, kind, _ptr(out)), "spectrum")
    return out


def power_spectrum(x: Any, n: int | None = None) -> np.ndarray:
    """``|rfft(x)|**2`` by ``ml_power_spectrum_f32`` (re^2 + im^2 in float32).

    Parameters
    ----------
    x : array-like of shape (..., N)
        Real input.
    n : int, optional
        FFT length, as in :func:`rfft`.

    Returns
    -------
    numpy.ndarray
        float32 array of shape (..., n // 2 + 1).
    """
    return _spectrum(x, 2, n)


def magnitude_spectrum(x: Any, n: int | None = None) -> np.ndarray:
    """``|rfft(x)|`` by ``ml_magnitude_spectrum_f32`` (correctly rounded square root).

    Parameters
    ----------
    x : array-like of shape (..., N)
        Real input.
    n : int, optional
        FFT length, as in :func:`rfft`.

    Returns
    -------
    numpy.ndarray
        float32 array of shape (..., n // 2 + 1).
    """
    return _spectrum(x, 1, n)


# ---------------------------------------------------------------------------------------
# framing


def frame(y: Any, frame_length: int, hop_length: int,
          blocks: int | list[int] | None = None) -> np.ndarray:
    """Frames of ``y`` as ``ml_frames_f32`` produces them when fed block by block.

    Frame i is ``y[i * hop_length : i * hop_length + frame_length]``; the layout is
    ``librosa.util.frame``'s (one frame per column). The C code is fed blocks of the given
    sizes (cycled), which must not change the frames.

    Parameters
    ----------
    y : array-like of shape (N,)
        Signal (float32).
    frame_length, hop_length : int
        Samples per frame (1..8192) and between frame starts (>= 1).
    blocks : int or list of int, optional
        Block sizes fed to the C code (default: all of y at once).

    Returns
    -------
    numpy.ndarray
        float32 array of shape (frame_length, n_frames).
    """
    y = _f32(y).ravel()
    if frame_length < 1 or frame_length > 8192 or hop_length < 1:
        raise ValueError(f"frame_length must be in [1, 8192] and hop_length >= 1, got "
                         f"{frame_length}, {hop_length}")
    sizes = [max(y.size, 1)] if blocks is None else (
        [blocks] if isinstance(blocks, (int, np.integer)) else list(blocks))
    if not sizes or min(sizes) < 1:
        raise ValueError(f"blocks must be positive sizes, got {blocks!r}")
    bl = np.asarray(sizes, dtype=np.int32)
    n_frames = 0 if y.size < frame_length else 1 + (y.size - frame_length) // hop_length
    out = np.empty((max(n_frames, 1), frame_length), dtype=np.float32)
    got = _check(_lib().mlds_frames(_ptr(y), y.size, frame_length, hop_length, _ptr(bl),
                                    bl.size, _ptr(out), n_frames), "frame")
    return np.ascontiguousarray(out[:got].T)


# ---------------------------------------------------------------------------------------
# mel scale and filterbank (Python, float64, librosa's formulas)


def hz_to_mel(frequencies: Any, htk: bool = False) -> np.ndarray:
    """Hz -> mel: HTK (2595 log10(1 + f/700)) or Slaney (linear below 1 kHz, logarithmic
    above), as ``librosa.hz_to_mel``.

    Parameters
    ----------
    frequencies : array-like
        Frequencies in Hz.
    htk : bool, default False
        HTK formula instead of Slaney's.

    Returns
    -------
    numpy.ndarray
        float64 mels.
    """
    f = np.asarray(frequencies, dtype=np.float64)
    if htk:
        return 2595.0 * np.log10(1.0 + f / 700.0)
    f_sp = 200.0 / 3
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    with np.errstate(divide="ignore", invalid="ignore"):
        log_part = min_log_mel + np.log(np.maximum(f, 1e-300) / min_log_hz) / logstep
    return np.where(f >= min_log_hz, log_part, f / f_sp)


def mel_to_hz(mels: Any, htk: bool = False) -> np.ndarray:
    """mel -> Hz, the inverse of :func:`hz_to_mel` (``librosa.mel_to_hz``).

    Parameters
    ----------
    mels : array-like
        Mels.
    htk : bool, default False
        HTK formula instead of Slaney's.

    Returns
    -------
    numpy.ndarray
        float64 frequencies in Hz.
    """
    m = np.asarray(mels, dtype=np.float64)
    if htk:
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    f_sp = 200.0 / 3
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)),
                    f_sp * m)


def mel_frequencies(n_mels: int = 128, fmin: float = 0.0, fmax: float = 11025.0,
                    htk: bool = False) -> np.ndarray:
    """``n_mels`` frequencies evenly spaced in mel from fmin to fmax (Hz, float64).

    Parameters
    ----------
    n_mels : int
        Number of frequencies.
    fmin, fmax : float
        Range in Hz.
    htk : bool
        HTK mel scale instead of Slaney's.

    Returns
    -------
    numpy.ndarray
        float64 array of shape (n_mels,).
    """
    mels = np.linspace(hz_to_mel(fmin, htk=htk), hz_to_mel(fmax, htk=htk), n_mels)
    return mel_to_hz(mels, htk=htk)


def mel_filterbank(*, sr: float, n_fft: int, n_mels: int = 128, fmin: float = 0.0,
                   fmax: float | None = None, htk: bool = False,
                   norm: str | float | None = "slaney",
                   dtype: Any = np.float32) -> np.ndarray:
    """Mel filterbank weights (``librosa.filters.mel`` with the same parameters).

    Parameters
    ----------
    sr : float
        Sample rate (Hz).
    n_fft : int
        FFT length.
    n_mels : int, default 128
        Number of mel bands.
    fmin : float, default 0
        Lowest frequency (Hz).
    fmax : float, optional
        Highest frequency (Hz); default sr / 2.
    htk : bool, default False
        HTK mel scale (triangles linear in Hz on HTK mels) instead of Slaney's.
    norm : {"slaney", None} or float, default "slaney"
        "slaney": divide each triangle by its width in Hz (constant area); a number p:
        unit p-norm per filter; None: peak 1.
    dtype : numpy dtype, default float32
        Output type.

    Returns
    -------
    numpy.ndarray
        Array of shape (n_mels, 1 + n_fft // 2).

    Raises
    ------
    ValueError
        For an unsupported norm or a non-positive sr / n_fft / n_mels.
    """
    if sr <= 0 or n_fft < 1 or n_mels < 1:
        raise ValueError(f"sr, n_fft and n_mels must be positive, got {sr}, {n_fft}, "
                         f"{n_mels}")
    if fmax is None:
        fmax = float(sr) / 2
    if norm is not None and norm != "slaney" and (
            isinstance(norm, str) or not np.isscalar(norm)):
        raise ValueError(f"norm must be 'slaney', None or a number, got {norm!r}")
    n_bins = 1 + n_fft // 2
    fftfreqs = np.fft.rfftfreq(n=n_fft, d=1.0 / sr)
    mel_f = mel_frequencies(n_mels + 2, fmin=fmin, fmax=fmax, htk=htk)
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    weights = np.zeros((n_mels, n_bins), dtype=np.float64)
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    if norm == "slaney":
        enorm = 2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels])
        weights *= enorm[:, np.newaxis]
    elif norm is not None:
        p = float(norm)
        length = (np.max(np.abs(weights), axis=-1) if np.isinf(p)
                  else np.sum(np.abs(weights) ** p, axis=-1) ** (1.0 / p))
        small = length < np.finfo(np.float64).tiny
        weights = weights / np.where(small, 1.0, length)[:, np.newaxis]
    return weights.astype(dtype)


def mel_table(weights: np.ndarray | None = None,
              **kwargs: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The sparse table of a mel filterbank that ``ml_mel_f32`` reads.

    Parameters
    ----------
    weights : numpy.ndarray of shape (n_mels, n_bins), optional
        Dense weights (default: ``mel_filterbank(**kwargs)``).
    **kwargs
        Parameters of :func:`mel_filterbank` (sr, n_fft, n_mels, fmin, fmax, htk, norm).

    Returns
    -------
    start : numpy.ndarray of uint16, shape (n_mels,)
        First bin of each filter (the first non-zero weight).
    length : numpy.ndarray of uint16, shape (n_mels,)
        Weights per filter (up to and including the last non-zero one; 0 if none).
    values : numpy.ndarray of float32, shape (sum(length),)
        The weights, filter after filter.
    """
    w = mel_filterbank(**kwargs) if weights is None else np.asarray(weights, np.float32)
    if w.ndim != 2 or w.shape[1] > 65535:
        raise ValueError(f"weights must have shape (n_mels, n_bins <= 65535), got {w.shape}")
    starts, lengths, values = [], [], []
    for row in w:
        nz = np.flatnonzero(row)
        if nz.size == 0:
            starts.append(0)
            lengths.append(0)
            continue
        a, b = int(nz[0]), int(nz[-1]) + 1
        starts.append(a)
        lengths.append(b - a)
        values.append(row[a:b])
    vals = np.concatenate(values).astype(np.float32) if values else np.zeros(0, np.float32)
    return (np.asarray(starts, dtype=np.uint16), np.asarray(lengths, dtype=np.uint16),
            np.ascontiguousarray(vals))


def mel_c_table(name: str, **kwargs: Any) -> str:
    """C source of a mel table (``static const`` arrays) and an init helper.

    Parameters
    ----------
    name : str
        C identifier prefix: defines ``NAME_start``, ``NAME_length``, ``NAME_weights``,
        ``NAME_N_MELS``, ``NAME_N_BINS`` and ``NAME_init(ml_mel_f32_t *)``.
    **kwargs
        Parameters of :func:`mel_filterbank`.

    Returns
    -------
    str
        C99 text (include ``ml_mel.h`` before it).
    """
    if not name.isidentifier():
        raise ValueError(f"name must be a C identifier, got {name!r}")
    start, length, values = mel_table(**kwargs)
    n_bins = 1 + int(kwargs["n_fft"]) // 2

    def floats(v: np.ndarray) -> str:
        items = [f"{float(x):.9e}f" for x in v]
        return ",\n    ".join(", ".join(items[i:i + 6]) for i in range(0, len(items), 6))

    def ints(v: np.ndarray) -> str:
        return ", ".join(str(int(x)) for x in v)

    args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    upper = name.upper()
    return (
        f"/* mel filterbank table: microlearn.dsp.mel_c_table({name!r}, {args}) */\n"
        f"#define {upper}_N_MELS {len(start)}\n#define {upper}_N_BINS {n_bins}\n"
        f"static const uint16_t {name}_start[{len(start)}] = {{{ints(start)}}};\n"
        f"static const uint16_t {name}_length[{len(length)}] = {{{ints(length)}}};\n"
        f"static const float {name}_weights[{max(values.size, 1)}] = {{\n    "
        f"{floats(values) if values.size else '0.0f'}\n}};\n"
        f"static inline int32_t {name}_init(ml_mel_f32_t *S)\n{{\n"
        f"    return ml_mel_f32_init(S, {upper}_N_MELS, {upper}_N_BINS, {name}_start, "
        f"{name}_length, {name}_weights);\n}}\n"
    )


# ---------------------------------------------------------------------------------------
# mel spectrogram, dB, MFCC (librosa's API)


def _stft_window(window: Any, win_length: int, n_fft: int) -> np.ndarray:
    if isinstance(window, (str, tuple)):
        w = get_window(window, win_length, fftbins=True)
    else:
        w = _f32(window).ravel()
        if w.size != win_length:
            raise ValueError(f"window has {w.size} values, win_length is {win_length}")
    if win_length < n_fft:  # centred in n_fft, as librosa.util.pad_center
        lpad = (n_fft - win_length) // 2
        w = np.pad(w, (lpad, n_fft - win_length - lpad))
    return np.ascontiguousarray(w, dtype=np.float32)


def _frames_setup(y: Any, n_fft: int, hop_length: int | None, win_length: int | None,
                  window: Any, center: bool, pad_mode: str
                  ) -> tuple[np.ndarray, int, int, np.ndarray]:
    n_fft = _check_fft_size(n_fft, "n_fft")
    hop = n_fft // 4 if hop_length is None else int(hop_length)
    if hop < 1:
        raise ValueError(f"hop_length must be >= 1, got {hop_length}")
    win_length = n_fft if win_length is None else int(win_length)
    if not 1 <= win_length <= n_fft:
        raise ValueError(f"win_length must be in [1, n_fft], got {win_length}")
    w = _stft_window(window, win_length, n_fft)
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be one-dimensional, got shape {y.shape}")
    y = _f32(y)
    if center:
        y = _f32(np.pad(y, n_fft // 2, mode=pad_mode))  # type: ignore[call-overload]
    if y.size < n_fft:
        raise ValueError(f"y has {y.size} samples (after padding), fewer than n_fft="
                         f"{n_fft}")
    n_frames = 1 + (y.size - n_fft) // hop
    return y, hop, n_frames, w


def _mel_args(sr: float, n_fft: int, n_mels: int, fmin: float, fmax: float | None,
              htk: bool, norm: Any) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    start, length, values = mel_table(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin,
                                      fmax=fmax, htk=htk, norm=norm)
    if values.size == 0:
        values = np.zeros(1, np.float32)
    return n_mels, start, length, values


def _power_code(power: float) -> int:
    if power not in (1.0, 2.0):
        raise ValueError(f"power must be 1.0 (magnitude) or 2.0 (power), got {power!r}")
    return int(power)


def melspectrogram(*, y: Any = None, sr: float = 22050, S: Any = None, n_fft: int = 2048,
                   hop_length: int = 512, win_length: int | None = None,
                   window: Any = "hann", center: bool = True, pad_mode: str = "constant",
                   power: float = 2.0, n_mels: int = 128, fmin: float = 0.0,
                   fmax: float | None = None, htk: bool = False,
                   norm: Any = "slaney") -> np.ndarray:
    """Mel spectrogram by the device's C (``librosa.feature.melspectrogram``).

    Frame by frame: window, ``ml_rfft_f32``, power (or magnitude) spectrum, sparse mel
    filterbank (``ml_melspec_f32``). On a device, feed ``ml_frames_f32`` with
    frame_length=n_fft and hop_length; center=True corresponds to n_fft // 2 samples of
    padding (pad_mode) before and after the signal.

    Parameters
    ----------
    y : array-like of shape (..., N), optional
        Audio signal (float32), one channel per leading index.
    sr : float, default 22050
        Sample rate.
    S : array-like of shape (1 + n_fft // 2, t), optional
        A power (or magnitude) spectrogram to map instead of y.
    n_fft : int, default 2048
        FFT length: a power of two from 16 to 4096.
    hop_length : int, default 512
        Samples between frames.
    win_length : int, optional
        Window length (<= n_fft, centred with zeros); default n_fft.
    window : str or array-like, default "hann"
        Window name for :func:`get_window` (periodic) or the window values.
    center : bool, default True
        Pad the signal by n_fft // 2 at both ends (librosa's default); False: frames
        start at sample 0 (what a streaming device does).
    pad_mode : str, default "constant"
        ``numpy.pad`` mode of the centring.
    power : {2.0, 1.0}
        Power or magnitude spectrum.
    n_mels, fmin, fmax, htk, norm
        Mel filterbank parameters, see :func:`mel_filterbank`.

    Returns
    -------
    numpy.ndarray
        float32 array of shape (..., n_mels, t).

    Raises
    ------
    ValueError
        For an unsupported n_fft, power or window, or a signal shorter than n_fft.
    """
    n_fft = _check_fft_size(n_fft, "n_fft")
    n_mels_, start, length, values = _mel_args(sr, n_fft, n_mels, fmin, fmax, htk, norm)
    lib = _lib()
    if S is not None:
        spec = _f32(np.asarray(S, dtype=np.float32).T)
        if spec.ndim != 2 or spec.shape[1] != 1 + n_fft // 2:
            raise ValueError(f"S must have shape (1 + n_fft // 2, t), got {np.shape(S)}")
        out = np.empty((spec.shape[0], n_mels_), dtype=np.float32)
        _check(lib.mlds_mel(_ptr(spec), spec.shape[0], spec.shape[1], n_mels_, _ptr(start),
                            _ptr(length), _ptr(values), _ptr(out)), "melspectrogram")
        return np.ascontiguousarray(out.T)
    if y is None:
        raise ValueError("give y or S")
    y = np.asarray(y)
    if y.ndim > 1:  # multichannel (..., N): channel by channel
        kw = {"sr": sr, "n_fft": n_fft, "hop_length": hop_length, "win_length": win_length,
              "window": window, "center": center, "pad_mode": pad_mode, "power": power,
              "n_mels": n_mels, "fmin": fmin, "fmax": fmax, "htk": htk, "norm": norm}
        chans = [melspectrogram(y=c, **kw) for c in y.reshape(-1, y.shape[-1])]
        return np.stack(chans).reshape(*y.shape[:-1], *chans[0].shape)
    p = _power_code(power)
    y, hop, n_frames, w = _frames_setup(y, n_fft, hop_length, win_length, window, center,
                                        pad_mode)
    scratch = np.empty(2 * n_fft + 2, dtype=np.float32)
    out = np.empty((n_frames, n_mels_), dtype=np.float32)
    _check(lib.mlds_melspec(_ptr(y), n_frames, hop, n_fft, _ptr(w), n_mels_, _ptr(start),
                            _ptr(length), _ptr(values), p, _ptr(scratch), _ptr(out)),
           "melspectrogram")
    return np.ascontiguousarray(out.T)


def power_to_db(S: Any, *, ref: float | Callable[[np.ndarray], Any] = 1.0,
                amin: float = 1e-10, top_db: float | None = 80.0) -> np.ndarray:
    """Power to decibels by ``ml_power_to_db_f32`` (``librosa.power_to_db``).

    ``10 log10(max(amin, S)) - 10 log10(max(amin, ref))``, then clipped below at
    ``max - top_db`` (the maximum of the whole array).

    Parameters
    ----------
    S : array-like
        Power values (float32).
    ref : float or callable, default 1.0
        Reference power, or a function of S giving it (e.g. ``numpy.max``).
    amin : float, default 1e-10
        Floor (> 0).
    top_db : float or None, default 80
        Dynamic range kept below the maximum (>= 0); None: no clipping.

    Returns
    -------
    numpy.ndarray
        float32 array of S's shape.

    Raises
    ------
    ValueError
        For amin <= 0 or top_db < 0.
    """
    S = _f32(S)
    if not amin > 0:
        raise ValueError(f"amin must be strictly positive, got {amin!r}")
    if top_db is not None and top_db < 0:
        raise ValueError(f"top_db must be non-negative, got {top_db!r}")
    ref_value = float(np.abs(ref(S))) if callable(ref) else float(np.abs(ref))
    out = np.empty_like(S)
    if S.size:
        _check(_lib().mlds_power_to_db(_ptr(S), S.size, ref_value, float(amin),
                                       -1.0 if top_db is None else float(top_db),
                                       _ptr(out)), "power_to_db")
    return out


def _dct_args(n_mfcc: int, dct_type: int, norm: str | None, lifter: float) -> tuple[int, int]:
    if dct_type != 2:
        raise ValueError(f"dct_type must be 2 (DCT-II), got {dct_type!r}")
    if norm not in ("ortho", None):
        raise ValueError(f"norm must be 'ortho' or None, got {norm!r}")
    if lifter < 0 or float(lifter) != int(lifter):
        raise ValueError(f"lifter must be a non-negative integer, got {lifter!r}")
    if n_mfcc < 1:
        raise ValueError(f"n_mfcc must be positive, got {n_mfcc!r}")
    return int(norm == "ortho"), int(lifter)


def mfcc(*, y: Any = None, sr: float = 22050, S: Any = None, n_mfcc: int = 20,
         dct_type: int = 2, norm: str | None = "ortho", lifter: float = 0,
         top_db: float | None = 80.0, **kwargs: Any) -> np.ndarray:
    """MFCCs by the device's C (``librosa.feature.mfcc``).

    ``S = power_to_db(melspectrogram(y=y, sr=sr, **kwargs), top_db=top_db)`` (ref 1,
    amin 1e-10, top_db over the whole spectrogram, as librosa), then a DCT-II per frame
    (``ml_dct2_f32``) with the liftering folded into the DCT matrix. On a device,
    ``ml_mfcc_f32`` computes one frame with top_db applied per frame: pass
    ``top_db=None`` (here and there) for the same numbers.

    Parameters
    ----------
    y : array-like of shape (..., N), optional
        Audio signal (one channel per leading index).
    sr : float, default 22050
        Sample rate.
    S : array-like of shape (..., n_mels, t), optional
        Log-power mel spectrogram (dB) to use instead of y.
    n_mfcc : int, default 20
        Coefficients per frame (<= n_mels).
    dct_type : {2}
        Only the DCT-II.
    norm : {"ortho", None}, default "ortho"
        Orthonormal DCT or scipy's unnormalised one.
    lifter : int, default 0
        Liftering 1 + lifter/2 sin(pi (k+1) / lifter) (0: none).
    top_db : float or None, default 80
        power_to_db's top_db (an addition to librosa's keywords).
    **kwargs
        :func:`melspectrogram` parameters (n_fft, hop_length, win_length, window,
        center, pad_mode, power, n_mels, fmin, fmax, htk); the mel filters' norm is
        "slaney" (librosa's) unless ``mel_norm`` is given (``norm`` is the DCT's).

    Returns
    -------
    numpy.ndarray
        float32 array of shape (..., n_mfcc, t).

    Raises
    ------
    ValueError
        For dct_type other than 2, another norm, a non-integer lifter, n_mfcc > n_mels.
    """
    ortho, lift = _dct_args(n_mfcc, dct_type, norm, lifter)
    if S is None:
        if "mel_norm" in kwargs:
            kwargs["norm"] = kwargs.pop("mel_norm")
        S = power_to_db(melspectrogram(y=y, sr=sr, **kwargs), top_db=top_db)
    S = np.asarray(S, dtype=np.float32)
    if S.ndim < 2:
        raise ValueError(f"S must have shape (..., n_mels, t), got {S.shape}")
    n_mels = S.shape[-2]
    if n_mfcc > n_mels:
        raise ValueError(f"n_mfcc={n_mfcc} is larger than n_mels={n_mels}")
    rows = _f32(np.swapaxes(S, -1, -2)).reshape(-1, n_mels)
    matrix = np.empty(n_mfcc * n_mels, dtype=np.float32)
    out = np.empty((rows.shape[0], n_mfcc), dtype=np.float32)
    if rows.shape[0]:
        _check(_lib().mlds_dct(_ptr(rows), rows.shape[0], n_mels, n_mfcc, ortho, lift,
                               _ptr(matrix), _ptr(out)), "mfcc")
    out = out.reshape(*S.shape[:-2], S.shape[-1], n_mfcc)
    return np.ascontiguousarray(np.swapaxes(out, -1, -2))


def mfcc_frames(y: Any, *, sr: float, n_mfcc: int = 13, n_fft: int = 512,
                hop_length: int = 256, window: Any = "hann", power: float = 2.0,
                n_mels: int = 40, fmin: float = 0.0, fmax: float | None = None,
                htk: bool = False, mel_norm: Any = "slaney", norm: str | None = "ortho",
                lifter: int = 0, amin: float = 1e-10,
                top_db: float | None = None) -> np.ndarray:
    """MFCCs exactly as a device computes them frame by frame with ``ml_mfcc_f32``.

    Frames of ``y`` without centring; top_db (if given) applies per frame. With
    ``top_db=None`` the result equals :func:`mfcc` with ``center=False, top_db=None``.

    Parameters
    ----------
    y : array-like of shape (N,)
        Signal.
    sr, n_mfcc, n_fft, hop_length, window, power, n_mels, fmin, fmax, htk
        As :func:`mfcc` / :func:`melspectrogram`.
    mel_norm : {"slaney", None} or float
        Mel filter normalisation.
    norm : {"ortho", None}
        DCT normalisation.
    lifter : int
        Liftering (0: none).
    amin : float
        power_to_db's floor.
    top_db : float or None
        Per-frame dynamic range (None: none).

    Returns
    -------
    numpy.ndarray
        float32 array of shape (n_mfcc, t).
    """
    ortho, lift = _dct_args(n_mfcc, 2, norm, lifter)
    if n_mfcc > n_mels:
        raise ValueError(f"n_mfcc={n_mfcc} is larger than n_mels={n_mels}")
    if not amin > 0:
        raise ValueError(f"amin must be strictly positive, got {amin!r}")
    p = _power_code(power)
    yy, hop, n_frames, w = _frames_setup(y, n_fft, hop_length, None, window, False,
                                         "constant")
    n_mels_, start, length, values = _mel_args(sr, n_fft, n_mels, fmin, fmax, htk,
                                               mel_norm)
    scratch = np.empty(2 * n_fft + 2 + n_mels + n_mfcc * n_mels, dtype=np.float32)
    out = np.empty((n_frames, n_mfcc), dtype=np.float32)
    _check(_lib().mlds_mfcc(_ptr(yy), n_frames, hop, n_fft, _ptr(w), n_mels_, _ptr(start),
                            _ptr(length), _ptr(values), p, n_mfcc, ortho, lift, float(amin),
                            -1.0 if top_db is None else float(top_db), _ptr(scratch),
                            _ptr(out)), "mfcc_frames")
    return np.ascontiguousarray(out.T)
