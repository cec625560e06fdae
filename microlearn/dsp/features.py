"""Time-series window features (IMU, vibration, any sensor): the C of
``runtime/ml_features.h`` run on the host, so training features are the device's.

Definitions are numpy's / scipy's (population statistics, ddof 0; skewness and kurtosis
as ``scipy.stats.skew(bias=True)`` / ``scipy.stats.kurtosis(fisher=True, bias=True)``),
computed in float32 with a two-pass algorithm (compensated sums in the first pass, the
corrected two-pass variance in the second); see ml_features.h for the exact formulas,
degenerate windows (constant: skew / kurtosis NaN) and NaN handling (NaN in, NaN out;
crossing counts treat NaN as negative).

Tolerances against numpy/scipy in float64 (asserted by tests/test_dsp_time.py on UCI HAR
windows): mean, std, var, rms, energy relative 1e-5 (of the value, or of the window's
rms for the mean); min, max, ptp exact; crossing counts exact (mean crossings against
the C's own float32 mean); skew, kurtosis absolute 2e-4; band energies relative 1e-5 of
the total energy; dominant frequency exact bin (unless two bins tie within float32
rounding); pitch / roll / atan2 within 2 ulp.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .filters import _call, _f32, _signal

__all__ = ["FEATURES", "window_features", "feature_names", "vector_magnitude",
           "pitch_roll", "atan2"]

#: Feature name -> ML_FEAT_* id of ml_features.h (the spectral ones are computed by
#: ml_spectral_features_f32).
FEATURES: dict[str, int] = {
    "mean": 0, "std": 1, "var": 2, "min": 3, "max": 4, "rms": 5, "ptp": 6,
    "zero_crossings": 7, "mean_crossings": 8, "skew": 9, "kurtosis": 10, "energy": 11,
    "band_energy": -1, "dominant_frequency": -2,
}

DEFAULT_FEATURES = ("mean", "std", "min", "max", "rms", "ptp", "zero_crossings",
                    "mean_crossings", "skew", "kurtosis")


def _check_features(features: Sequence[str] | str) -> list[str]:
    if isinstance(features, str):
        features = [features]
    names = list(features)
    if not names:
        raise ValueError("features must name at least one feature")
    for f in names:
        if f not in FEATURES:
            raise ValueError(f"unknown feature {f!r}; known: {sorted(FEATURES)}")
    return names


def _check_bands(bands: Any, fs: float | None) -> np.ndarray:
    if fs is None:
        raise ValueError("fs (the sample rate) is needed for band_energy / "
                         "dominant_frequency")
    if bands is None:
        return np.zeros(0, dtype=np.float32)
    e = np.asarray(bands, dtype=np.float64)
    if e.ndim != 1 or e.size < 2 or not np.all(np.diff(e) > 0) or not np.all(np.isfinite(e)):
        raise ValueError("bands must be at least two increasing finite band edges in Hz, "
                         f"got {bands!r}")
    return _f32(e)


def feature_names(features: Sequence[str] | str = DEFAULT_FEATURES,
                  bands: Any | None = None) -> list[str]:
    """Column names of :func:`window_features`' output (band_energy expands to one
    column per band, ``band_energy_<lo>_<hi>``)."""
    out = []
    for f in _check_features(features):
        if f == "band_energy":
            e = np.asarray(bands if bands is not None else [], dtype=np.float64)
            out += [f"band_energy_{lo:g}_{hi:g}" for lo, hi in zip(e[:-1], e[1:], strict=True)]
        else:
            out.append(f)
    return out


def window_features(x: Any, features: Sequence[str] | str = DEFAULT_FEATURES,
                    fs: float | None = None, bands: Any | None = None,
                    axis: int = -1) -> np.ndarray:
    """Features of each window (``ml_features_f32`` / ``ml_spectral_features_f32``).

    Parameters
    ----------
    x : array-like
        Windows; each 1-D slice along ``axis`` is one window (e.g. shape (n_windows, n)
        or (n_windows, n_channels, n)).
    features : sequence of str, default DEFAULT_FEATURES
        Names from :data:`FEATURES`, in the order wanted: mean, std, var, min, max, rms,
        ptp, zero_crossings, mean_crossings, skew, kurtosis, energy, band_energy,
        dominant_frequency. The spectral two need fs and a window length that is a power
        of two from 16 to 4096.
    fs : float, optional
        Sample rate in Hz (spectral features).
    bands : array-like, optional
        band_energy: n_bands + 1 increasing band edges in Hz; band b sums |rfft(x)[k]|^2
        over bins with lo_b <= k fs / n < hi_b.
    axis : int, default -1

    Returns
    -------
    numpy.ndarray of float32, shape x.shape without axis + (n_outputs,)
        Columns in the order of :func:`feature_names`.
    """
    names = _check_features(features)
    xs, moved = _signal(x, axis)
    n_rows, n = xs.shape
    if n < 1:
        raise ValueError("windows must have at least one sample")
    spectral = any(FEATURES[f] < 0 for f in names)
    edges = np.zeros(0, dtype=np.float32)
    if spectral:
        edges = _check_bands(bands, fs)
        if "band_energy" in names and edges.size == 0:
            raise ValueError("band_energy needs bands (band edges in Hz)")
        if n < 16 or n > 4096 or n & (n - 1):
            raise ValueError("spectral features need a window length that is a power of two "
                             f"from 16 to 4096, got {n}")
        fsf = float(fs)  # type: ignore[arg-type]
        if not (np.isfinite(fsf) and fsf > 0):
            raise ValueError(f"fs must be a positive sample rate, got {fs!r}")
    ids = np.array([FEATURES[f] for f in names if FEATURES[f] >= 0], dtype=np.int32)
    stats = np.empty((n_rows, ids.size), dtype=np.float32)
    if ids.size:
        _call("mlh_features", xs, n_rows, n, ids, ids.size, stats)
    n_bands = max(edges.size - 1, 0)
    bands_out = np.empty((n_rows, max(n_bands, 1)), dtype=np.float32)
    dominant = np.empty(n_rows, dtype=np.float32)
    if spectral:
        scratch = np.empty(n + 2, dtype=np.float32)
        _call("mlh_spectral", xs, n_rows, n, np.float32(fsf), edges, n_bands, bands_out,
              dominant, scratch)
    cols = []
    j = 0
    for f in names:
        if f == "band_energy":
            cols.append(bands_out[:, :n_bands])
        elif f == "dominant_frequency":
            cols.append(dominant[:, None])
        else:
            cols.append(stats[:, j:j + 1])
            j += 1
    out = np.concatenate(cols, axis=1)
    return out.reshape(*moved[:-1], out.shape[1])


def _same_shape(*arrays: Any) -> list[np.ndarray]:
    arrs = [np.asarray(a) for a in arrays]
    try:
        b = np.broadcast_arrays(*arrs)
    except ValueError:
        raise ValueError("the components must have the same shape, got "
                         f"{[a.shape for a in arrs]}") from None
    return [_f32(a) for a in b]


def vector_magnitude(x: Any, y: Any | None = None, z: Any | None = None) -> np.ndarray:
    """``sqrt(x^2 + y^2 + z^2)`` per sample (``ml_vector_magnitude_f32``).

    Parameters
    ----------
    x, y, z : array-like
        The three components; or x alone with a last axis of size 3.

    Returns
    -------
    numpy.ndarray of float32
    """
    if y is None and z is None:
        a = np.asarray(x)
        if a.ndim < 1 or a.shape[-1] != 3:
            raise ValueError(f"x alone must have a last axis of size 3, got {a.shape}")
        x, y, z = a[..., 0], a[..., 1], a[..., 2]
    elif y is None or z is None:
        raise ValueError("give x, y and z, or x alone with a last axis of size 3")
    xs, ys, zs = _same_shape(x, y, z)
    out = np.empty_like(xs)
    _call("mlh_magnitude", xs.reshape(-1), ys.reshape(-1), zs.reshape(-1), xs.size,
          out.reshape(-1))
    return out


def pitch_roll(acc: Any) -> tuple[np.ndarray, np.ndarray]:
    """Tilt from accelerometer samples (``ml_pitch_roll_f32``), radians:
    pitch = atan2(-ax, sqrt(ay^2 + az^2)), roll = atan2(ay, az).

    Parameters
    ----------
    acc : array-like of shape (..., 3)
        ax, ay, az (any unit; gravity along +z at rest gives 0, 0).

    Returns
    -------
    pitch, roll : numpy.ndarray of float32, shape acc.shape[:-1]
    """
    a = np.asarray(acc)
    if a.ndim < 1 or a.shape[-1] != 3:
        raise ValueError(f"acc must have a last axis of size 3, got {a.shape}")
    ax, ay, az = (_f32(a[..., i]).reshape(-1) for i in range(3))
    pitch = np.empty_like(ax)
    roll = np.empty_like(ax)
    _call("mlh_pitch_roll", ax, ay, az, ax.size, pitch, roll)
    return pitch.reshape(a.shape[:-1]), roll.reshape(a.shape[:-1])


def atan2(y: Any, x: Any) -> np.ndarray:
    """``ml_atan2f``: float32 atan2 without libm (<= 2 ulp from np.arctan2)."""
    ys, xs = _same_shape(y, x)
    out = np.empty_like(ys)
    _call("mlh_atan2", ys.reshape(-1), xs.reshape(-1), ys.size, out.reshape(-1))
    return out
