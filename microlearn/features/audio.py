"""Mel spectrogram and MFCC of fixed-length windows as scikit-learn transformers."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted

from ..dsp import spectral

__all__ = ["MFCC", "MelSpectrogram"]


class _Frames(TransformerMixin, BaseEstimator):
    """Shared validation and set-up: window, mel table, frame count."""

    def _setup(self, n_samples: int) -> None:
        n_fft = spectral._check_fft_size(self.n_fft, "n_fft")
        if self.hop_length < 1:
            raise ValueError(f"hop_length must be >= 1, got {self.hop_length!r}")
        if n_samples < n_fft:
            raise ValueError(f"rows have {n_samples} samples, fewer than n_fft={n_fft}")
        if not self.amin > 0:
            raise ValueError(f"amin must be strictly positive, got {self.amin!r}")
        self.power_code_ = spectral._power_code(self.power)
        self.window_ = spectral._stft_window(self.window, n_fft, n_fft)
        start, length, values = spectral.mel_table(
            sr=self.sr, n_fft=n_fft, n_mels=self.n_mels, fmin=self.fmin, fmax=self.fmax,
            htk=self.htk, norm=self.mel_norm)
        self.mel_table_ = (start, length, values if values.size else np.zeros(1, np.float32))
        self.n_frames_ = 1 + (n_samples - n_fft) // int(self.hop_length)
        self.n_features_in_ = n_samples

    def _rows(self, X: Any, reset: bool) -> np.ndarray:
        X = check_array(X, dtype=np.float32, order="C")
        if reset:
            self._setup(X.shape[1])
        elif X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} samples per row, but {type(self).__name__} "
                             f"was fitted with {self.n_features_in_}")
        return X

    def fit(self, X: Any, y: Any = None) -> _Frames:
        """Check the parameters and the window length (columns of X).

        Parameters
        ----------
        X : array-like of shape (n_windows, n_samples)
            Windows of raw samples.
        y : ignored

        Returns
        -------
        self
        """
        self._rows(X, reset=True)
        return self


class MelSpectrogram(_Frames):
    """Mel spectrogram of each window by the device's C (``ml_melspec_f32``).

    Frames without centring (``center=False``): frame i of a row is samples
    ``[i hop_length, i hop_length + n_fft)``.

    Parameters
    ----------
    sr : float, default 16000
        Sample rate.
    n_fft : int, default 512
        FFT length (power of two, 16..4096) = frame length.
    hop_length : int, default 256
        Samples between frames.
    window : str or array-like, default "hann"
        Window (periodic), see :func:`microlearn.dsp.get_window`.
    n_mels : int, default 40
        Mel bands.
    fmin, fmax : float
        Frequency range of the filterbank (fmax default sr / 2).
    htk : bool, default False
        HTK mel scale instead of Slaney's.
    mel_norm : {"slaney", None} or float, default "slaney"
        Filter normalisation (librosa's ``norm``).
    power : {2.0, 1.0}
        Power or magnitude spectrum.
    to_db : bool, default True
        Return ``power_to_db`` (ref 1, no top_db) of the mel values.
    amin : float, default 1e-10
        power_to_db's floor (> 0).

    Attributes
    ----------
    n_frames_ : int
        Frames per window.
    n_features_in_ : int
        Samples per window.
    """

    def __init__(self, sr: float = 16000, n_fft: int = 512, hop_length: int = 256,
                 window: Any = "hann", n_mels: int = 40, fmin: float = 0.0,
                 fmax: float | None = None, htk: bool = False, mel_norm: Any = "slaney",
                 power: float = 2.0, to_db: bool = True, amin: float = 1e-10) -> None:
        self.sr = sr
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.window = window
        self.n_mels = n_mels
        self.fmin = fmin
        self.fmax = fmax
        self.htk = htk
        self.mel_norm = mel_norm
        self.power = power
        self.to_db = to_db
        self.amin = amin

    def transform(self, X: Any) -> np.ndarray:
        """Mel spectrogram of every row.

        Parameters
        ----------
        X : array-like of shape (n_windows, n_samples)
            Windows of raw samples (float32).

        Returns
        -------
        numpy.ndarray
            float32 array of shape (n_windows, n_frames_ * n_mels), frame after frame.
        """
        check_is_fitted(self, "n_frames_")
        X = self._rows(X, reset=False)
        lib = spectral._lib()
        start, length, values = self.mel_table_
        n_fft = int(self.n_fft)
        scratch = np.empty(2 * n_fft + 2, np.float32)
        out = np.empty((X.shape[0], self.n_frames_ * self.n_mels), np.float32)
        for i in range(X.shape[0]):
            spectral._check(lib.mlds_melspec(
                X[i].ctypes.data, self.n_frames_, int(self.hop_length), n_fft,
                self.window_.ctypes.data, int(self.n_mels), start.ctypes.data,
                length.ctypes.data, values.ctypes.data, self.power_code_, scratch.ctypes.data,
                out[i].ctypes.data), "MelSpectrogram")
        if self.to_db and out.size:  # element by element (no top_db): one call
            spectral._check(lib.mlds_power_to_db(out.ctypes.data, out.size, 1.0,
                                                 float(self.amin), -1.0, out.ctypes.data),
                            "MelSpectrogram")
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """``mel{t}_{j}``: frame t, band j."""
        check_is_fitted(self, "n_frames_")
        return np.asarray([f"mel{t}_{j}" for t in range(self.n_frames_)
                           for j in range(self.n_mels)], dtype=object)


class MFCC(_Frames):
    """MFCCs of each window by the device's C (``ml_mfcc_f32``, frame by frame).

    Same numbers as :func:`microlearn.dsp.mfcc_frames` per row; with ``top_db=None``
    equal to ``microlearn.dsp.mfcc(..., center=False, top_db=None)``.

    Parameters
    ----------
    sr, n_fft, hop_length, window, n_mels, fmin, fmax, htk, mel_norm, power
        As :class:`MelSpectrogram`.
    n_mfcc : int, default 13
        Coefficients per frame (<= n_mels).
    norm : {"ortho", None}, default "ortho"
        DCT-II normalisation.
    lifter : int, default 0
        Liftering (0: none).
    amin : float, default 1e-10
        power_to_db's floor (> 0).
    top_db : float or None, default None
        power_to_db's dynamic range, per frame (None: none).

    Attributes
    ----------
    n_frames_ : int
        Frames per window.
    n_features_in_ : int
        Samples per window.
    """

    def __init__(self, sr: float = 16000, n_fft: int = 512, hop_length: int = 256,
                 window: Any = "hann", n_mels: int = 40, fmin: float = 0.0,
                 fmax: float | None = None, htk: bool = False, mel_norm: Any = "slaney",
                 power: float = 2.0, n_mfcc: int = 13, norm: str | None = "ortho",
                 lifter: int = 0, amin: float = 1e-10,
                 top_db: float | None = None) -> None:
        self.sr = sr
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.window = window
        self.n_mels = n_mels
        self.fmin = fmin
        self.fmax = fmax
        self.htk = htk
        self.mel_norm = mel_norm
        self.power = power
        self.n_mfcc = n_mfcc
        self.norm = norm
        self.lifter = lifter
        self.amin = amin
        self.top_db = top_db

    def _setup(self, n_samples: int) -> None:
        self.dct_args_ = spectral._dct_args(self.n_mfcc, 2, self.norm, self.lifter)
        if self.n_mfcc > self.n_mels:
            raise ValueError(f"n_mfcc={self.n_mfcc} is larger than n_mels={self.n_mels}")
        if self.top_db is not None and self.top_db < 0:
            raise ValueError(f"top_db must be non-negative or None, got {self.top_db!r}")
        super()._setup(n_samples)

    def transform(self, X: Any) -> np.ndarray:
        """MFCCs of every row.

        Parameters
        ----------
        X : array-like of shape (n_windows, n_samples)
            Windows of raw samples (float32).

        Returns
        -------
        numpy.ndarray
            float32 array of shape (n_windows, n_frames_ * n_mfcc), frame after frame.
        """
        check_is_fitted(self, "n_frames_")
        X = self._rows(X, reset=False)
        lib = spectral._lib()
        start, length, values = self.mel_table_
        n_fft, n_mels, n_mfcc = int(self.n_fft), int(self.n_mels), int(self.n_mfcc)
        ortho, lift = self.dct_args_
        scratch = np.empty(2 * n_fft + 2 + n_mels + n_mfcc * n_mels, np.float32)
        out = np.empty((X.shape[0], self.n_frames_ * n_mfcc), np.float32)
        top_db = -1.0 if self.top_db is None else float(self.top_db)
        for i in range(X.shape[0]):
            spectral._check(lib.mlds_mfcc(
                X[i].ctypes.data, self.n_frames_, int(self.hop_length), n_fft,
                self.window_.ctypes.data, n_mels, start.ctypes.data, length.ctypes.data,
                values.ctypes.data, self.power_code_, n_mfcc, ortho, lift, float(self.amin),
                top_db,
                scratch.ctypes.data, out[i].ctypes.data), "MFCC")
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """``mfcc{t}_{k}``: frame t, coefficient k."""
        check_is_fitted(self, "n_frames_")
        return np.asarray([f"mfcc{t}_{k}" for t in range(self.n_frames_)
                           for k in range(self.n_mfcc)], dtype=object)
