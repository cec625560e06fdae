"""Time-domain feature transformers: :class:`TimeSeriesFeatures` (statistics and band
energies of sensor windows) and :class:`SoundLevel` (dB levels of audio windows).

Both are stateless scikit-learn transformers (``fit`` only validates and records the
input width) whose ``transform`` calls :mod:`microlearn.dsp`, i.e. the runtime's C, so a
pipeline trained on them sees the features the device computes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .. import dsp
from ..dsp.features import DEFAULT_FEATURES

__all__ = ["TimeSeriesFeatures", "SoundLevel"]


class TimeSeriesFeatures(TransformerMixin, BaseEstimator):
    """Window features (:func:`microlearn.dsp.window_features`) of each row.

    Parameters
    ----------
    features : sequence of str, default microlearn.dsp.features.DEFAULT_FEATURES
        Feature names, see :data:`microlearn.dsp.FEATURES`.
    n_channels : int, default 1
        Each row holds ``n_channels`` windows one after the other (e.g. x, y, z of an
        accelerometer: ``[x_0..x_{L-1}, y_0.., z_0..]``); features are computed per
        channel.
    fs : float, optional
        Sample rate (band_energy, dominant_frequency).
    bands : array-like, optional
        Band edges in Hz for band_energy.

    Attributes
    ----------
    n_features_in_ : int
    window_length_ : int
        Samples per channel.
    """

    def __init__(self, features: Sequence[str] = DEFAULT_FEATURES, n_channels: int = 1,
                 fs: float | None = None, bands: Any | None = None) -> None:
        self.features = features
        self.n_channels = n_channels
        self.fs = fs
        self.bands = bands

    def fit(self, X: Any, y: Any = None) -> TimeSeriesFeatures:
        """Validate X (n_windows, n_channels * window_length) and the parameters."""
        X = validate_data(self, X, dtype=np.float32, ensure_all_finite="allow-nan")
        if int(self.n_channels) < 1 or X.shape[1] % int(self.n_channels):
            raise ValueError(f"n_channels={self.n_channels} must be >= 1 and divide the "
                             f"row length {X.shape[1]}")
        self.window_length_ = X.shape[1] // int(self.n_channels)
        # run once on the first row: invalid feature names / bands fail here
        dsp.window_features(X[:1].reshape(1, int(self.n_channels), -1), self.features,
                            fs=self.fs, bands=self.bands)
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Features, shape (n_windows, n_channels * n_features), channel-major."""
        check_is_fitted(self, "window_length_")
        X = validate_data(self, X, dtype=np.float32, reset=False,
                          ensure_all_finite="allow-nan")
        F = dsp.window_features(X.reshape(X.shape[0], int(self.n_channels), -1),
                                self.features, fs=self.fs, bands=self.bands)
        return F.reshape(X.shape[0], -1)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """``ch<c>_<feature>`` per output column."""
        check_is_fitted(self, "window_length_")
        names = dsp.feature_names(self.features, self.bands)
        return np.array([f"ch{c}_{n}" for c in range(int(self.n_channels)) for n in names],
                        dtype=object)


class SoundLevel(TransformerMixin, BaseEstimator):
    """Sound levels (dB) of each row, an audio window (:mod:`microlearn.dsp.level`).

    Parameters
    ----------
    fs : float
        Sample rate in Hz.
    weighting : {"A", "C", "Z"}, default "A"
    levels : sequence of {"leq", "lmax", "lmin", "dbfs"}, default ("leq",)
        leq: equivalent level of the window; lmax / lmin: extremes of the time-weighted
        level over the window (filters start from rest at each row); dbfs: unweighted RMS
        in dBFS (AES17).
    time_weighting : {"fast", "slow"} or float, default "fast"
        For lmax / lmin.
    ref : float, default 1.0
        The rms of 0 dB (dbfs uses full scale = ref).
    """

    LEVELS = ("leq", "lmax", "lmin", "dbfs")

    def __init__(self, fs: float = 16000.0, weighting: str = "A",
                 levels: Sequence[str] = ("leq",), time_weighting: Any = "fast",
                 ref: float = 1.0) -> None:
        self.fs = fs
        self.weighting = weighting
        self.levels = levels
        self.time_weighting = time_weighting
        self.ref = ref

    def fit(self, X: Any, y: Any = None) -> SoundLevel:
        """Validate X (n_windows, n_samples) and the parameters."""
        X = validate_data(self, X, dtype=np.float32, ensure_all_finite="allow-nan")
        bad = [v for v in self.levels if v not in self.LEVELS]
        if bad or not len(self.levels):
            raise ValueError(f"levels must be a non-empty list from {self.LEVELS}, got "
                             f"{self.levels!r}")
        self._compute(X[:1])
        self.n_levels_ = len(self.levels)
        return self

    def _compute(self, X: np.ndarray) -> np.ndarray:
        cols = []
        lvl = None
        for v in self.levels:
            if v == "leq":
                cols.append(np.atleast_1d(dsp.leq(X, self.fs, self.weighting, ref=self.ref)))
            elif v == "dbfs":
                cols.append(np.atleast_1d(dsp.dbfs(X, full_scale=self.ref)))
            else:
                if lvl is None:
                    lvl = dsp.sound_level(X, self.fs, self.weighting, self.time_weighting,
                                          ref=self.ref)
                cols.append(lvl.max(axis=1) if v == "lmax" else lvl.min(axis=1))
        return np.stack(cols, axis=1).astype(np.float32)

    def transform(self, X: Any) -> np.ndarray:
        """Levels, shape (n_windows, len(levels)), float32 dB."""
        check_is_fitted(self, "n_levels_")
        X = validate_data(self, X, dtype=np.float32, reset=False,
                          ensure_all_finite="allow-nan")
        return self._compute(X)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "n_levels_")
        return np.array([f"{v}_{self.weighting}" if v != "dbfs" else v
                         for v in self.levels], dtype=object)
