"""Sound level: A/C frequency weighting, dB / dBFS, Leq and exponential time weighting,
running the C of ``runtime/ml_level.h`` (and ``ml_filter.h``) on the host.

Design (here, in float64) and run (in C, float32) are split as on a device: the
weighting filters are designed for the device's sample rate by :func:`a_weighting` /
:func:`c_weighting` and their float32 coefficients go into the firmware; the C then runs
the biquads, the time weighting and the logarithms (ml_math.h, no libm).

Frequency weighting: the IEC 61672-1 analog weightings (Annex E: poles at f1 = 20.6 Hz,
f2 = 107.7 Hz, f3 = 737.9 Hz, f4 = 12194 Hz, computed from the standard's defining
constants), mapped to z by the bilinear transform (no pre-warping) and normalised to
exactly 0 dB at 1 kHz (each biquad 0 dB at 1 kHz; the poles nearest z = 1 first, paired
with the zeros at z = 1, which keeps float32 rounding noise low). The bilinear transform
compresses the whole analog axis into [0, fs/2] and puts the excess zeros at Nyquist, so
the response falls below the analog goal as f approaches fs/2. Measured deviation from
the IEC goal (dB) at the highest standard frequencies (all others within +-0.1 dB):

===========  =========================================================================
fs           deviation
===========  =========================================================================
48 kHz       10 kHz -1.2, 12.5 kHz -2.7, 16 kHz -6.4, 20 kHz -15.8  (class 1: all pass)
44.1 kHz     10 kHz -1.5, 12.5 kHz -3.4, 16 kHz -8.5, 20 kHz -24.5  (class 1: all pass)
22.05 kHz    5 kHz -0.6, 6.3 kHz -1.6 (pass); 8 kHz -5.1, 10 kHz -19.8 (class 1 fails)
16 kHz       4 kHz -0.5 (pass); 5 kHz -1.50 (at the limit); 6.3 kHz -5.7 (fails)
===========  =========================================================================

So a bilinear A/C weighting meets IEC 61672-1 class 1 at every standard frequency below
fs/2 at 44.1 and 48 kHz, up to 6.3 kHz at 22.05 kHz and up to 4 kHz at 16 kHz (5 kHz is
-1.50 dB, on the class 1 limit of IEC 61672-1:2013); above that, class 1 is impossible for
this design (and at and above fs/2 for any design: the standard's 8-20 kHz points do not
exist at 16 kHz). tests/test_dsp_time.py checks class 1 where it holds and the documented
deviation elsewhere.

float32 precision of the weighted waveform against float64 (full-scale square wave):
A weighting <= 5e-5 of full scale at every rate; C weighting up to 1e-3 at 44.1 / 48 kHz
(low-frequency rounding noise of the 20.6 Hz section, whose poles sit 0.0027 inside
z = 1, that no later DC zero removes). Levels (Leq, dB) agree within 1e-4 dB.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .filters import _call, _f32, _signal, sos_coefficients

__all__ = ["a_weighting", "c_weighting", "weighting_sos", "iec_weighting_db", "dbfs",
           "level_db", "time_weighting", "sound_level", "leq", "TAU_FAST", "TAU_SLOW"]

TAU_FAST = 0.125
TAU_SLOW = 1.0


def _iec_poles_hz() -> tuple[float, float, float, float]:
    """f1..f4 of IEC 61672-1 Annex E from its defining constants (fr = 1 kHz,
    fL = 10^1.5 Hz, fH = 10^3.9 Hz, D^2 = 1/2, fA = 10^2.45 Hz)."""
    fr, f_l, f_h, d = 1000.0, 10 ** 1.5, 10 ** 3.9, np.sqrt(0.5)
    b = (fr ** 2 + f_l ** 2 * f_h ** 2 / fr ** 2 - d * (f_l ** 2 + f_h ** 2)) / (1 - d)
    c = f_l ** 2 * f_h ** 2
    f1 = np.sqrt((-b - np.sqrt(b * b - 4 * c)) / 2)
    f4 = np.sqrt((-b + np.sqrt(b * b - 4 * c)) / 2)
    f_a = 10 ** 2.45
    f2 = (3 - np.sqrt(5)) / 2 * f_a
    f3 = (3 + np.sqrt(5)) / 2 * f_a
    return float(f1), float(f2), float(f3), float(f4)


def _analog_zpk(kind: str) -> tuple[np.ndarray, np.ndarray]:
    f1, f2, f3, f4 = _iec_poles_hz()
    w = 2 * np.pi
    if kind == "A":
        return np.zeros(4), -w * np.array([f1, f1, f2, f3, f4, f4])
    if kind == "C":
        return np.zeros(2), -w * np.array([f1, f1, f4, f4])
    raise ValueError(f"weighting must be 'A', 'C' or 'Z', got {kind!r}")


def iec_weighting_db(f: Any, kind: str = "A") -> np.ndarray:
    """The IEC 61672-1 design goal: the analog weighting in dB (0 dB at 1 kHz).

    Parameters
    ----------
    f : array-like
        Frequencies in Hz.
    kind : {"A", "C"}

    Returns
    -------
    numpy.ndarray of float64
    """
    z, p = _analog_zpk(kind)
    f = np.asarray(f, dtype=np.float64)

    def mag(ff: np.ndarray) -> np.ndarray:
        s = 2j * np.pi * ff
        h = np.ones_like(s)
        for zz in z:
            h = h * (s - zz)
        for pp in p:
            h = h / (s - pp)
        return np.abs(h)

    return 20 * np.log10(mag(f) / mag(np.array(1000.0)))


def weighting_sos(kind: str, fs: float) -> np.ndarray:
    """A or C weighting at sample rate fs as scipy sos (float64), see the module doc.

    Parameters
    ----------
    kind : {"A", "C"}
    fs : float
        Sample rate in Hz, > 2 kHz (1 kHz must lie below Nyquist).

    Returns
    -------
    numpy.ndarray of shape (3, 6) for A, (2, 6) for C
    """
    from scipy.signal import bilinear_zpk, freqz

    fs = float(fs)
    if not (np.isfinite(fs) and fs > 2000.0):
        raise ValueError(f"fs must be a sample rate in Hz above 2000, got {fs}")
    z, p = _analog_zpk(kind)
    zd, pd, _ = bilinear_zpk(z, p, 1.0, fs)
    # sections: the poles closest to z = 1 first, each pair with two of the zeros at
    # z = 1 (s = 0) while they last, then with the zeros at z = -1; every section
    # scaled to 0 dB at 1 kHz. Measured: 10-20x less float32 rounding noise than
    # scipy's zpk2sos pairing and order (the low-frequency sections' noise is removed by
    # the following DC zeros)
    poles = np.sort(pd.real)[::-1]
    n_dc = int(np.sum(np.abs(zd - 1.0) < 1e-9))
    zeros = [1.0] * n_dc + [-1.0] * (len(zd) - n_dc)
    sos = np.zeros((len(poles) // 2, 6))
    for i in range(len(sos)):
        b = np.poly(zeros[2 * i:2 * i + 2])
        a = np.poly(poles[2 * i:2 * i + 2])
        _, h = freqz(b, a, worN=[1000.0], fs=fs)
        sos[i, :3] = b / np.abs(h[0])
        sos[i, 3:] = a
    return sos


def a_weighting(fs: float) -> np.ndarray:
    """A-weighting biquads for sample rate fs (scipy sos, float64; 3 sections)."""
    return weighting_sos("A", fs)


def c_weighting(fs: float) -> np.ndarray:
    """C-weighting biquads for sample rate fs (scipy sos, float64; 2 sections)."""
    return weighting_sos("C", fs)


def _ref(ref: Any, name: str = "ref") -> float:
    r = float(ref)
    if not (np.isfinite(r) and r > 0.0 and r * r < 3e38):
        raise ValueError(f"{name} must be a positive finite amplitude, got {ref!r}")
    return r


def _fs(fs: Any) -> float:
    f = float(fs)
    if not (np.isfinite(f) and f > 0):
        raise ValueError(f"fs must be a positive sample rate in Hz, got {fs!r}")
    return f


def _tau(time_weighting: Any) -> float:
    if isinstance(time_weighting, str):
        tw = {"fast": TAU_FAST, "f": TAU_FAST, "slow": TAU_SLOW, "s": TAU_SLOW}
        if time_weighting.lower() not in tw:
            raise ValueError("time_weighting must be 'fast', 'slow' or a time constant in "
                             f"seconds, got {time_weighting!r}")
        return tw[time_weighting.lower()]
    t = float(time_weighting)
    if not (np.isfinite(t) and t > 0):
        raise ValueError(f"time_weighting must be a positive time constant, got {t}")
    return t


def _weighting_coeffs(weighting: Any, fs: float) -> tuple[np.ndarray, int]:
    if weighting is None or (isinstance(weighting, str) and weighting.upper() == "Z"):
        return np.zeros(5, dtype=np.float32), 0
    if isinstance(weighting, str):
        sos = weighting_sos(weighting.upper(), fs)
    else:
        sos = weighting
    c = sos_coefficients(sos)
    return c, c.size // 5


def dbfs(x: Any, full_scale: float = 1.0, axis: int = -1) -> np.ndarray | np.float32:
    """RMS level in dBFS (AES17: a full-scale sine is 0 dBFS, a full-scale square wave
    +3.01 dBFS) of each signal along ``axis`` (``ml_level_dbfs``).

    ``20 log10(rms * sqrt(2) / full_scale)``; silence gives -inf, a NaN gives NaN.

    Parameters
    ----------
    x : array-like
    full_scale : float, default 1.0
        The amplitude of full scale (32768 for int16 samples).
    axis : int, default -1

    Returns
    -------
    numpy.ndarray of float32 (x's shape without axis), or a float32 scalar for 1-D x
    """
    fsc = _ref(full_scale, "full_scale")
    xs, moved = _signal(x, axis)
    if xs.shape[1] < 1:
        raise ValueError("x must have at least one sample along axis")
    out = np.empty(xs.shape[0], dtype=np.float32)
    _call("mlh_dbfs", xs, xs.shape[0], xs.shape[1], fsc, out)
    res = out.reshape(moved[:-1])
    return res[()] if res.ndim == 0 else res


def level_db(mean_square: Any, ref: float = 1.0) -> np.ndarray:
    """``10 log10(mean_square / ref^2)`` in float32 (``ml_level_db``)."""
    r = _ref(ref)
    ms = _f32(mean_square)
    out = np.empty_like(ms)
    _call("mlh_level_db", ms.reshape(-1), ms.size, np.float32(r) * np.float32(r),
          out.reshape(-1))
    return out


def time_weighting(x: Any, fs: float, time_weighting: Any = "fast", axis: int = -1,
                   zi: Any | None = None) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Exponentially time-weighted mean square after every sample (``ml_time_weight_f32``).

    ``ms[n] = ms[n-1] + alpha (x[n]^2 - ms[n-1])``, alpha = 1 - exp(-1 / (fs tau)),
    which is ``scipy.signal.lfilter([alpha], [1, alpha - 1], x**2)``.

    Parameters
    ----------
    x : array-like
    fs : float
        Sample rate, Hz.
    time_weighting : {"fast", "slow"} or float, default "fast"
        F (125 ms), S (1 s), or a time constant in seconds.
    axis : int, default -1
    zi : array-like, optional
        Mean square before x (x's shape without axis); the final one is returned too.

    Returns
    -------
    ms : numpy.ndarray of float32
    zf : numpy.ndarray of float32, only when zi is given
    """
    f, tau = _fs(fs), _tau(time_weighting)
    xs, moved = _signal(x, axis)
    state = (np.zeros(xs.shape[0], np.float32) if zi is None
             else _f32(np.broadcast_to(zi, moved[:-1])).reshape(-1).copy())
    out = np.empty_like(xs)
    _call("mlh_time_weight", xs, xs.shape[0], xs.shape[1], f, tau, state, out)
    y = np.moveaxis(out.reshape(moved), -1, axis)
    return y if zi is None else (y, state.reshape(moved[:-1]))


def sound_level(x: Any, fs: float, weighting: Any = "A", time_weighting: Any = "fast",
                ref: float = 1.0, axis: int = -1) -> np.ndarray:
    """Time-weighted, frequency-weighted sound level in dB after every sample
    (``ml_sound_level_f32``), e.g. L_AF(t).

    Parameters
    ----------
    x : array-like
        Signal(s), any unit (full scale 1.0, or Pa).
    fs : float
        Sample rate, Hz.
    weighting : {"A", "C", "Z"} or sos array, default "A"
        Frequency weighting designed for fs (:func:`a_weighting`), none ("Z" / None) or
        your own sos.
    time_weighting : {"fast", "slow"} or float, default "fast"
    ref : float, default 1.0
        The rms amplitude of 0 dB (20e-6 for dB SPL from Pa).
    axis : int, default -1

    Returns
    -------
    numpy.ndarray of float32, x's shape
    """
    f, tau, r = _fs(fs), _tau(time_weighting), _ref(ref)
    coeffs, n_stages = _weighting_coeffs(weighting, f)
    xs, moved = _signal(x, axis)
    bq = np.zeros((xs.shape[0], max(n_stages, 1), 2), dtype=np.float32)
    ms = np.zeros(xs.shape[0], dtype=np.float32)
    out = np.empty_like(xs)
    _call("mlh_sound_level", coeffs, n_stages, bq, f, tau, r, ms, xs, xs.shape[0],
          xs.shape[1], out)
    return np.moveaxis(out.reshape(moved), -1, axis)


def leq(x: Any, fs: float, weighting: Any = "A", period: float | None = None,
        ref: float = 1.0, axis: int = -1) -> np.ndarray | np.float32:
    """Equivalent continuous level Leq in dB (``ml_leq_f32``), over the whole signal or
    over consecutive periods.

    The signal is frequency weighted (from a zero filter state), then
    ``10 log10(mean(x_w^2) / ref^2)`` per period (compensated float32 sums).

    Parameters
    ----------
    x : array-like
    fs : float
        Sample rate, Hz.
    weighting : {"A", "C", "Z"} or sos array, default "A"
    period : float, optional
        Seconds per Leq value (round(period * fs) samples; a trailing partial period is
        dropped). None: one value for the whole signal.
    ref : float, default 1.0
    axis : int, default -1

    Returns
    -------
    numpy.ndarray of float32: shape (..., n_periods), or x's shape without axis (a scalar
    for 1-D x) when period is None
    """
    from .filters import sosfilt

    f, r = _fs(fs), _ref(ref)
    coeffs, n_stages = _weighting_coeffs(weighting, f)
    xs, moved = _signal(x, axis)
    n = xs.shape[1]
    if n_stages > 0:
        sos = np.zeros((n_stages, 6))
        sos[:, [0, 1, 2, 4, 5]] = coeffs.reshape(n_stages, 5)
        sos[:, 3] = 1.0
        xs = _f32(sosfilt(sos, xs))
    if period is None:
        plen = n
    else:
        p = float(period)
        if not (np.isfinite(p) and p > 0):
            raise ValueError(f"period must be a positive number of seconds, got {period!r}")
        plen = int(round(p * f))
    if plen < 1 or plen > n:
        raise ValueError(f"a period of {plen} samples does not fit in a signal of {n}")
    n_per = n // plen
    out = np.empty((xs.shape[0], n_per), dtype=np.float32)
    _call("mlh_leq", xs, xs.shape[0], n, plen, np.float32(r) * np.float32(r), out)
    res = out.reshape(*moved[:-1], n_per)
    if period is None:
        res = res[..., 0]
        return res[()] if res.ndim == 0 else res
    return res
