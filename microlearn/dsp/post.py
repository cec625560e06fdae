"""Post-processing of model outputs: the streaming C of ``runtime/ml_post.h`` run over an
array of outputs (one call per array, the loop in C), so the host sees the device's
decisions.

Every filter is causal and looks only at the past: output i depends on inputs 0..i.
At the start (fewer than ``size`` outputs seen) the windowed filters use what they have.
See ml_post.h for NaN handling (median / moving average: NaN while a NaN is in the
window; exponential smoothing and hysteresis: a NaN input is skipped).
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from .filters import _call, _f32

__all__ = ["median_filter", "moving_average", "exponential_smoothing", "hysteresis",
           "detect_events", "majority_vote"]


def _values(x: Any, name: str = "x") -> np.ndarray:
    a = np.asarray(x)
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one output per step), got shape {a.shape}")
    if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool) or np.iscomplexobj(a):
        raise ValueError(f"{name} must be real numbers, got dtype {a.dtype}")
    return _f32(a)


def _size(size: Any, name: str = "size") -> int:
    try:
        s = operator.index(size)
    except TypeError:
        raise ValueError(f"{name} must be an integer >= 1, got {size!r}") from None
    if not 1 <= s <= 2 ** 31 - 1:
        raise ValueError(f"{name} must be an integer >= 1, got {s}")
    return s


def median_filter(x: Any, size: int) -> np.ndarray:
    """Running median of the last ``size`` values (``ml_median_f32``).

    ``out[i] = np.median(x[max(0, i - size + 1): i + 1])`` in float32.

    Parameters
    ----------
    x : array-like of shape (n,)
    size : int

    Returns
    -------
    numpy.ndarray of float32, shape (n,)
    """
    xs, s = _values(x), _size(size)
    ring = np.empty(s, np.float32)
    srt = np.empty(s, np.float32)
    out = np.empty_like(xs)
    _call("mlh_median", xs, xs.size, s, ring, srt, out)
    return out


def moving_average(x: Any, size: int) -> np.ndarray:
    """Mean of the last ``size`` values (``ml_moving_average_f32``).

    ``out[i] = np.mean(x[max(0, i - size + 1): i + 1])`` (float32 sum, oldest first).
    """
    xs, s = _values(x), _size(size)
    ring = np.empty(s, np.float32)
    out = np.empty_like(xs)
    _call("mlh_moving_average", xs, xs.size, s, ring, out)
    return out


def exponential_smoothing(x: Any, alpha: float) -> np.ndarray:
    """``y[0] = x[0]``, ``y[i] = y[i-1] + alpha (x[i] - y[i-1])`` (``ml_exp_smooth_f32``;
    pandas' ``ewm(alpha=alpha, adjust=False).mean()``; NaN inputs are skipped).

    Parameters
    ----------
    x : array-like of shape (n,)
    alpha : float
        Smoothing factor in (0, 1].
    """
    xs = _values(x)
    a = float(alpha)
    if not (0.0 < a <= 1.0) or np.float32(a) <= 0:
        raise ValueError(f"alpha must be in (0, 1], got {alpha!r}")
    out = np.empty_like(xs)
    _call("mlh_exp_smooth", xs, xs.size, a, out)
    return out


def _thresholds(low: Any, high: Any) -> tuple[float, float]:
    lo, hi = float(low), float(high)
    if not (np.isfinite(lo) and np.isfinite(hi) and np.float32(lo) <= np.float32(hi)):
        raise ValueError(f"need finite thresholds with low <= high, got low={low!r}, "
                         f"high={high!r}")
    return lo, hi


def hysteresis(x: Any, low: float, high: float, initial: bool = False) -> np.ndarray:
    """Threshold with hysteresis (``ml_hysteresis_f32``): the state turns on when
    ``x >= high``, off when ``x <= low``, and stays otherwise (NaN: stays).

    Parameters
    ----------
    x : array-like of shape (n,)
    low, high : float
        Thresholds, low <= high (equal: a plain threshold).
    initial : bool, default False
        State before x[0].

    Returns
    -------
    numpy.ndarray of bool, shape (n,)
    """
    xs = _values(x)
    lo, hi = _thresholds(low, high)
    out = np.empty(xs.size, np.int32)
    _call("mlh_hysteresis", xs, xs.size, lo, hi, int(bool(initial)), out)
    return out.astype(bool)


def detect_events(x: Any, min_duration: int = 1, min_gap: int = 1,
                  low: float | None = None, high: float | None = None) -> np.ndarray:
    """Onsets and offsets of events (``ml_events``): runs of active steps at least
    ``min_duration`` long, with gaps shorter than ``min_gap`` bridged.

    Parameters
    ----------
    x : array-like of shape (n,)
        Active flags (nonzero: active), or scores when ``high`` is given.
    min_duration : int, default 1
        Consecutive active steps that make an event (shorter runs are ignored).
    min_gap : int, default 1
        Consecutive inactive steps that end an event (shorter gaps are bridged).
    low, high : float, optional
        When given, x is first thresholded with :func:`hysteresis` (low defaults to
        high).

    Returns
    -------
    numpy.ndarray of int64, shape (n_events, 2)
        ``[onset, offset)`` step indices per event: onset the first active step, offset
        one past the last active step (an event still open at the end is closed there).
    """
    if high is not None:
        active = hysteresis(x, high if low is None else low, high).astype(np.int32)
    elif low is not None:
        raise ValueError("low needs high")
    else:
        xs = _values(x)
        active = np.ascontiguousarray(xs != 0, dtype=np.int32)
    d, g = _size(min_duration, "min_duration"), _size(min_gap, "min_gap")
    events = np.zeros(2 * (active.size // 2 + 1), np.int32)
    count = np.zeros(1, np.int64)
    _call("mlh_events", active, active.size, d, g, events, count)
    return events[:2 * int(count[0])].reshape(-1, 2).astype(np.int64)


def majority_vote(labels: Any, size: int, n_classes: int | None = None) -> np.ndarray:
    """The most frequent label among the last ``size`` (``ml_majority_i32``); ties go to
    the smallest label (``np.bincount(window).argmax()``).

    Parameters
    ----------
    labels : array-like of int, shape (n,)
        Class indices in [0, n_classes).
    size : int
    n_classes : int, optional
        Default: max(labels) + 1.

    Returns
    -------
    numpy.ndarray of int32, shape (n,)
    """
    lab = np.asarray(labels)
    if lab.ndim != 1 or not (np.issubdtype(lab.dtype, np.integer) or lab.size == 0):
        raise ValueError(f"labels must be a 1-D array of class indices, got {lab.dtype} "
                         f"{lab.shape}")
    if lab.size and (lab.min() < 0 or lab.max() > 2 ** 31 - 2):
        raise ValueError("labels must be class indices >= 0")
    s = _size(size)
    k = _size(n_classes if n_classes is not None else (int(lab.max()) + 1 if lab.size else 1),
              "n_classes")
    if lab.size and lab.max() >= k:
        raise ValueError(f"labels must be < n_classes={k}, got {int(lab.max())}")
    lab32 = np.ascontiguousarray(lab, dtype=np.int32)
    ring = np.empty(s, np.int32)
    counts = np.empty(k, np.int32)
    out = np.empty(lab32.size, np.int32)
    _call("mlh_majority", lab32, lab32.size, s, k, ring, counts, out)
    return out
