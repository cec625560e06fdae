"""IIR biquad cascades, FIR filters and decimation: the C of ``runtime/ml_filter.h``.

Every function here runs the runtime's C (compiled on the host by
:func:`microlearn.host_build.load_c_source` from ``runtime/host/ml_dsp_time.c``), so what
is computed at training time is what the device computes, bit for bit. Arithmetic is
float32; results are float32 arrays.

- :func:`sosfilt` is :func:`scipy.signal.sosfilt` (Direct Form II transposed, same
  ``sos`` / ``zi`` layout) in float32, with CMSIS-DSP's operation order (five
  multiply-accumulates per section and sample; bit-identical to
  ``arm_biquad_cascade_df2T_f32``). Against scipy in float64 it agrees within 2e-5 of the
  input's peak on the filters tested (A weighting at 8 kHz, 8th-order Butterworth,
  band-pass Chebyshev).
- :func:`fir_filter` is ``scipy.signal.lfilter(b, 1, x)`` with the state kept as the
  input history (what the device stores) instead of lfilter's transposed-form ``zi``.
- :func:`decimate` is ``scipy.signal.decimate(x, q, n, ftype="fir", zero_phase=False)``
  with the same anti-alias filter (:func:`decimation_filter`).
"""

from __future__ import annotations

import ctypes
import operator
from functools import lru_cache
from typing import Any

import numpy as np

from ..host_build import RUNTIME_DIR, load_c_source

__all__ = ["sosfilt", "fir_filter", "decimation_filter", "decimate", "Decimator"]

HOST_SOURCE = RUNTIME_DIR / "host" / "ml_dsp_time.c"

#: Largest number of biquad sections the host entry point accepts.
MAX_SECTIONS = 64

_f32p = np.ctypeslib.ndpointer(dtype=np.float32, flags="C_CONTIGUOUS")
_i32p = np.ctypeslib.ndpointer(dtype=np.int32, flags="C_CONTIGUOUS")
_i64p = np.ctypeslib.ndpointer(dtype=np.int64, flags="C_CONTIGUOUS")
_i32, _i64, _f32 = ctypes.c_int32, ctypes.c_int64, ctypes.c_float

_SIGNATURES: dict[str, list[Any]] = {
    "mlh_sosfilt": [_f32p, _i32, _f32p, _i64, _i32, _f32p, _f32p],
    "mlh_fir": [_f32p, _i32, _f32p, _i64, _i32, _f32p, _f32p, _f32p],
    "mlh_decimate": [_f32p, _i32, _i32, _f32p, _i64, _i32, _f32p, _i32, _f32p, _i32p, _f32p],
    "mlh_time_weight": [_f32p, _i64, _i32, _f32, _f32, _f32p, _f32p],
    "mlh_sound_level": [_f32p, _i32, _f32p, _f32, _f32, _f32, _f32p, _f32p, _i64, _i32,
                        _f32p],
    "mlh_leq": [_f32p, _i64, _i32, _i32, _f32, _f32p],
    "mlh_leq_blocks": [_f32p, _i32p, _i32, _f32, _f32p],
    "mlh_dbfs": [_f32p, _i64, _i32, _f32, _f32p],
    "mlh_level_db": [_f32p, _i64, _f32, _f32p],
    "mlh_features": [_f32p, _i64, _i32, _i32p, _i32, _f32p],
    "mlh_spectral": [_f32p, _i64, _i32, _f32, _f32p, _i32, _f32p, _f32p, _f32p],
    "mlh_atan2": [_f32p, _f32p, _i64, _f32p],
    "mlh_magnitude": [_f32p, _f32p, _f32p, _i64, _f32p],
    "mlh_pitch_roll": [_f32p, _f32p, _f32p, _i64, _f32p, _f32p],
    "mlh_median": [_f32p, _i64, _i32, _f32p, _f32p, _f32p],
    "mlh_moving_average": [_f32p, _i64, _i32, _f32p, _f32p],
    "mlh_exp_smooth": [_f32p, _i64, _f32, _f32p],
    "mlh_hysteresis": [_f32p, _i64, _f32, _f32, _i32, _i32p],
    "mlh_events": [_i32p, _i64, _i32, _i32, _i32p, _i64p],
    "mlh_majority": [_i32p, _i64, _i32, _i32, _i32p, _i32p, _i32p],
}


@lru_cache(maxsize=1)
def _lib() -> ctypes.CDLL:
    lib = load_c_source(HOST_SOURCE)
    for name, args in _SIGNATURES.items():
        fn = getattr(lib, name)
        fn.argtypes = args
        fn.restype = ctypes.c_int32
    return lib


def _call(name: str, *args: Any) -> None:
    """Call a host entry point; a nonzero return is a bug in the argument checks here."""
    status = getattr(_lib(), name)(*args)
    if status != 0:
        raise RuntimeError(f"C {name} returned error code {status}")


def _f32(a: Any) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32)


def _signal(x: Any, axis: int, name: str = "x") -> tuple[np.ndarray, tuple[int, ...]]:
    """x as float32 rows (n_rows, n) with ``axis`` last; also the moved shape."""
    x = np.asarray(x)
    if x.ndim == 0:
        raise ValueError(f"{name} must have at least one dimension")
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool) or np.iscomplexobj(x):
        raise ValueError(f"{name} must be real numbers, got dtype {x.dtype}")
    try:
        moved = np.moveaxis(x, axis, -1)
    except np.exceptions.AxisError:
        raise ValueError(f"axis={axis} is out of range for {name} of shape {x.shape}") from None
    if moved.shape[-1] > np.iinfo(np.int32).max:
        raise ValueError(f"{name} is too long along axis (at most 2**31 - 1 samples)")
    n_rows = int(np.prod(moved.shape[:-1], dtype=np.int64))
    return _f32(moved.reshape(n_rows, moved.shape[-1])), moved.shape


def _check_sos(sos: Any) -> np.ndarray:
    sos = np.asarray(sos, dtype=np.float64)
    if sos.ndim != 2 or sos.shape[1] != 6 or sos.shape[0] < 1:
        raise ValueError(f"sos must have shape (n_sections, 6), got {sos.shape}")
    if sos.shape[0] > MAX_SECTIONS:
        raise ValueError(f"sos has {sos.shape[0]} sections; at most {MAX_SECTIONS}")
    if not np.all(sos[:, 3] == 1.0):
        raise ValueError("sos[:, 3] (a0 of every section) must be 1")
    if not np.all(np.isfinite(sos)):
        raise ValueError("sos must be finite")
    return sos


def sos_coefficients(sos: Any) -> np.ndarray:
    """The float32 coefficient table of ``ml_biquad_f32_init`` for scipy ``sos``.

    Parameters
    ----------
    sos : array-like of shape (n_sections, 6)
        ``[b0, b1, b2, 1, a1, a2]`` per section (scipy's layout, a0 = 1).

    Returns
    -------
    numpy.ndarray of float32, shape (n_sections * 5,)
        ``b0, b1, b2, a1, a2`` of each section, the order ``coeffs`` has in C.
    """
    sos = _check_sos(sos)
    return _f32(sos[:, [0, 1, 2, 4, 5]].reshape(-1))


def sosfilt(sos: Any, x: Any, axis: int = -1,
            zi: Any | None = None) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Filter with a cascade of biquads (``ml_biquad_f32``), like scipy.signal.sosfilt.

    Filtering in blocks, passing each call's ``zf`` as the next call's ``zi``, gives the
    bits of one call on the whole signal (as the device does block by block).

    Parameters
    ----------
    sos : array-like of shape (n_sections, 6)
        Second-order sections in scipy's layout (a0 == 1), rounded to float32.
    x : array-like
        Signal(s); filtered along ``axis``.
    axis : int, default -1
        Axis of x along which to filter.
    zi : array-like, optional
        Initial state in scipy's layout: shape ``(n_sections, *x.shape)`` with the ``axis``
        dimension replaced by 2. When given, the final state is returned too.

    Returns
    -------
    y : numpy.ndarray of float32
        The filtered signal, x's shape.
    zf : numpy.ndarray of float32
        Only when zi is given: the final state, zi's shape.
    """
    coeffs = sos_coefficients(sos)
    n_sections = coeffs.size // 5
    xs, moved = _signal(x, axis)
    n_rows, n = xs.shape
    ax = axis % len(moved)
    xshape = np.shape(x)
    zshape = (n_sections, *xshape[:ax], 2, *xshape[ax + 1:])
    if zi is None:
        state = np.zeros((n_rows, n_sections, 2), dtype=np.float32)
    else:
        zi_arr = np.asarray(zi)
        if zi_arr.shape != zshape:
            raise ValueError(f"zi must have shape {zshape} for this x, axis and sos, got "
                             f"{zi_arr.shape}")
        z = np.moveaxis(zi_arr, 1 + ax, -1).reshape(n_sections, n_rows, 2)
        state = _f32(np.moveaxis(z, 0, 1))
    y = np.empty_like(xs)
    _call("mlh_sosfilt", coeffs, n_sections, xs, n_rows, n, y, state)
    y_out = np.moveaxis(y.reshape(moved), -1, axis)
    if zi is None:
        return y_out
    zf = np.moveaxis(state, 1, 0).reshape(n_sections, *moved[:-1], 2)
    return y_out, np.ascontiguousarray(np.moveaxis(zf, -1, 1 + ax))


def _check_taps(b: Any, name: str = "b") -> np.ndarray:
    b = np.asarray(b, dtype=np.float64)
    if b.ndim != 1 or b.size < 1:
        raise ValueError(f"{name} must be a non-empty 1-D array of taps, got shape {b.shape}")
    if not np.all(np.isfinite(b)):
        raise ValueError(f"{name} must be finite")
    return _f32(b)


def fir_filter(b: Any, x: Any, history: Any | None = None,
               axis: int = -1) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """FIR filter (``ml_fir_f32``): ``y[n] = sum_k b[k] x[n-k]``, float32, k order.

    Equals ``scipy.signal.lfilter(b, 1, x)`` (to float32 rounding). The state is the input
    history, as on the device: ``fir_filter(b, x2, history=h)`` with ``h`` returned by
    ``fir_filter(b, x1, history=np.zeros(len(b) - 1))`` continues ``x1`` with ``x2``.
    (scipy's ``zi`` is the transposed form's state, which depends on the taps; the history
    does not, and is what a device keeps.)

    Parameters
    ----------
    b : array-like of shape (n_taps,)
        Taps, rounded to float32.
    x : array-like
        Signal(s), filtered along ``axis``.
    history : array-like of shape (..., n_taps - 1), optional
        The n_taps - 1 inputs before x (oldest first), per signal (x's shape with
        ``axis`` replaced by n_taps - 1, the history last). When given, the history after
        x is returned too. Zeros when omitted.
    axis : int, default -1

    Returns
    -------
    y : numpy.ndarray of float32
    history : numpy.ndarray of float32
        Only when ``history`` is given.
    """
    taps = _check_taps(b)
    xs, moved = _signal(x, axis)
    n_rows, n = xs.shape
    m = taps.size - 1
    hshape = (*moved[:-1], m)
    if history is None:
        hist = np.zeros((n_rows, max(m, 0)), dtype=np.float32)
    else:
        h = np.asarray(history)
        if h.shape != hshape:
            raise ValueError(f"history must have shape {hshape}, got {h.shape}")
        hist = _f32(h.reshape(n_rows, m))
    y = np.empty_like(xs)
    scratch = np.empty(2 * taps.size, dtype=np.float32)
    _call("mlh_fir", taps, taps.size, xs, n_rows, n, y, hist, scratch)
    y_out = np.moveaxis(y.reshape(moved), -1, axis)
    if history is None:
        return y_out
    return y_out, hist.reshape(hshape)


def decimation_filter(q: int, n: int | None = None) -> np.ndarray:
    """The anti-alias FIR of :func:`decimate`: scipy.signal.decimate's ``ftype="fir"``
    filter, ``firwin(n + 1, 1 / q, window="hamming")``, n = 20 q by default.

    Returns
    -------
    numpy.ndarray of float64, shape (n + 1,)
    """
    from scipy.signal import firwin

    q, n = _check_q_n(q, n)
    return firwin(n + 1, 1.0 / q, window="hamming")


def _check_q_n(q: Any, n: Any) -> tuple[int, int]:
    try:
        q = operator.index(q)
    except TypeError:
        raise ValueError(f"q must be an integer >= 1, got {q!r}") from None
    if q < 1:
        raise ValueError(f"q must be an integer >= 1, got {q}")
    if n is None:
        n = 20 * q
    try:
        n = operator.index(n)
    except TypeError:
        raise ValueError(f"n must be an integer >= 0 (filter order), got {n!r}") from None
    if n < 0:
        raise ValueError(f"n must be an integer >= 0 (filter order), got {n}")
    return q, n


class Decimator:
    """Streaming integer decimation (``ml_decimate_f32``): feed blocks of any sizes to
    :meth:`process`; the outputs are those of one :func:`decimate` of the whole signal.

    Parameters
    ----------
    q : int
        Decimation factor, >= 1.
    n : int, optional
        Order of the default anti-alias filter (:func:`decimation_filter`), 20 q.
    taps : array-like, optional
        An anti-alias FIR to use instead.
    n_channels : int, default 1
        Independent signals processed together: blocks are (n_channels, n) arrays, or 1-D
        when n_channels is 1.
    """

    def __init__(self, q: int, n: int | None = None, taps: Any | None = None,
                 n_channels: int = 1) -> None:
        self.q, n = _check_q_n(q, n)
        self.taps = _check_taps(taps if taps is not None else decimation_filter(self.q, n),
                                "taps")
        if operator.index(n_channels) < 1:
            raise ValueError(f"n_channels must be >= 1, got {n_channels}")
        self.n_channels = int(n_channels)
        self.reset()

    def reset(self) -> None:
        """Forget the history (zeros) and restart the phase."""
        self._hist = np.zeros((self.n_channels, self.taps.size - 1), dtype=np.float32)
        self._phase = np.zeros(self.n_channels, dtype=np.int32)

    def process(self, x: Any) -> np.ndarray:
        """Decimate the next block.

        Parameters
        ----------
        x : array-like of shape (n,) or (n_channels, n)

        Returns
        -------
        numpy.ndarray of float32, shape (k,) or (n_channels, k)
        """
        xs = np.asarray(x)
        one = xs.ndim == 1
        if one and self.n_channels != 1 or not one and xs.shape[:-1] != (self.n_channels,):
            raise ValueError(f"blocks must have shape ({self.n_channels}, n)"
                             + (" or (n,)" if self.n_channels == 1 else "")
                             + f", got {xs.shape}")
        rows, _ = _signal(xs.reshape(self.n_channels, -1), -1)
        n = rows.shape[1]
        first = (self.q - int(self._phase[0])) % self.q
        k = (n - first - 1) // self.q + 1 if n > first else 0
        y = np.empty((self.n_channels, k), dtype=np.float32)
        scratch = np.empty(2 * self.taps.size, dtype=np.float32)
        _call("mlh_decimate", self.taps, self.taps.size, self.q, rows, self.n_channels, n,
              y, k, self._hist, self._phase, scratch)
        return y[0] if one else y


def decimate(x: Any, q: int, n: int | None = None, ftype: str = "fir", axis: int = -1,
             zero_phase: bool = False) -> np.ndarray:
    """Downsample by the integer q after an anti-alias FIR (``ml_decimate_f32``).

    ``scipy.signal.decimate(x, q, n, ftype="fir", axis=axis, zero_phase=False)`` in
    float32: the filter is :func:`decimation_filter` (firwin(n + 1, 1/q, hamming), n =
    20 q), applied causally from a zero history; outputs 0, q, 2q, ... are kept
    (ceil(len / q) of them).

    Parameters
    ----------
    x : array-like
    q : int
        Decimation factor, >= 1.
    n : int, optional
        Filter order (taps - 1), default 20 q.
    ftype : {"fir"}
        Only the FIR filter is implemented (an IIR cheby1 filter would need zero-phase
        filtering to keep scipy's response).
    axis : int, default -1
    zero_phase : {False}
        Only causal filtering (what a streaming device can do).

    Returns
    -------
    numpy.ndarray of float32
    """
    if ftype != "fir":
        raise ValueError(f"ftype must be 'fir' (the only one implemented), got {ftype!r}")
    if zero_phase:
        raise ValueError("zero_phase must be False: the device filters causally")
    xs, moved = _signal(x, axis)
    dec = Decimator(q, n, n_channels=xs.shape[0])
    y = dec.process(xs) if xs.shape[0] > 1 else dec.process(xs[0])[None, :]
    return np.moveaxis(y.reshape(*moved[:-1], y.shape[-1]), -1, axis)
