"""microlearn.features transformers -> :class:`DspIR` (the only module here that knows the
estimators).

Supported: :class:`~microlearn.features.MelSpectrogram`, :class:`~microlearn.features.MFCC`,
:class:`~microlearn.features.TimeSeriesFeatures`, :class:`~microlearn.features.SoundLevel`
(registry keys ``"microlearn.<ClassName>"``).

Exactness: the transformers compute their features by calling the runtime's DSP headers
on the host (``runtime/host/ml_dsp_spectral.c``, ``ml_dsp_time.c``); ``ml_dsp.h`` calls
the same functions, with the same float32 parameters and tables taken from the fitted
transformer (window, mel table, DCT matrix computed by the same ``ml_dct2_f32_init``,
weighting biquads), in the same order. Every output of ``transform`` is therefore
bit-identical to the transformer's (tolerance 0; NaN where the transformer gives NaN),
and a pipeline's ``predict`` equals scikit-learn's pipeline fitted on those features on
100% of the rows when the following steps are exact. Compiled with -ffp-contract=off
(the host build's flag), every target gives the host's bits.

Limits: the FFT length (``n_fft``, or the window length of spectral window features) is
at most 1024, the runtime's default ``ML_RFFT_MAX_N`` (larger sizes raise
ConversionError).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import ConversionError
from .ir import LEVEL_CODES, DspIR

SUPPORTED = ("MelSpectrogram", "MFCC", "TimeSeriesFeatures", "SoundLevel")
#: the FFT size the generated C supports without defining ML_RFFT_MAX_N (ml_fft.h)
MAX_FFT = 1024


def _names(est: Any) -> tuple[str, ...] | None:
    names = getattr(est, "feature_names_in_", None)
    return None if names is None else tuple(str(n) for n in names)


def _check_fft(n: int, what: str) -> None:
    if n > MAX_FFT:
        raise ConversionError(f"{what}={n}: the generated C supports FFT sizes up to "
                              f"{MAX_FFT} (ml_fft.h's default ML_RFFT_MAX_N)")


def _dct_matrix(n_mels: int, n_mfcc: int, ortho: int, lifter: int) -> np.ndarray:
    """The DCT-II matrix exactly as ``ml_dct2_f32_init`` computes it (run on the host)."""
    from ...dsp import spectral

    matrix = np.zeros(n_mfcc * n_mels, dtype=np.float32)
    x = np.zeros(n_mels, dtype=np.float32)
    out = np.zeros(n_mfcc, dtype=np.float32)
    spectral._check(spectral._lib().mlds_dct(x.ctypes.data, 1, n_mels, n_mfcc, ortho, lifter,
                                             matrix.ctypes.data, out.ctypes.data), "dct")
    return matrix.reshape(n_mfcc, n_mels)


def _spectro(est: Any) -> DspIR:
    from ...features import MFCC

    n_fft, hop = int(est.n_fft), int(est.hop_length)
    _check_fft(n_fft, "n_fft")
    if hop > 0x7FFFFFFF:
        raise ConversionError(f"hop_length={hop} does not fit the model file (int32)")
    start, length, values = est.mel_table_
    n_mels = int(est.n_mels)
    n_w = int(np.sum(np.asarray(length, dtype=np.int64)))
    mfcc = isinstance(est, MFCC)
    common = dict(
        estimator=type(est).__name__, n_features=int(est.n_features_in_), n_fft=n_fft,
        hop=hop, n_frames=int(est.n_frames_), n_mels=n_mels, power=int(est.power_code_),
        amin=float(np.float32(1e-10)),
        window=np.ascontiguousarray(est.window_, dtype=np.float32),
        mel_start=np.ascontiguousarray(start, dtype=np.uint16),
        mel_length=np.ascontiguousarray(length, dtype=np.uint16),
        mel_weights=np.ascontiguousarray(np.asarray(values, dtype=np.float32)[:n_w]),
        feature_names=_names(est))
    if mfcc:
        n_mfcc = int(est.n_mfcc)
        ortho, lift = est.dct_args_
        top_db = -1.0 if est.top_db is None else float(est.top_db)
        return DspIR(kind="mfcc", n_outputs=int(est.n_frames_) * n_mfcc, n_mfcc=n_mfcc,
                     top_db=float(np.float32(top_db)),
                     dct=_dct_matrix(n_mels, n_mfcc, int(ortho), int(lift)), **common)
    return DspIR(kind="melspec", n_outputs=int(est.n_frames_) * n_mels,
                 to_db=bool(est.to_db), **common)


def _features(est: Any) -> DspIR:
    from ...dsp.features import FEATURES, _check_bands, _check_features

    names = _check_features(est.features)
    codes = np.array([FEATURES[f] for f in names], dtype=np.int32)
    n_ch, wl = int(est.n_channels), int(est.window_length_)
    spectral = bool(np.any(codes < 0))
    edges = None
    fs = 0.0
    if spectral:
        _check_fft(wl, "window length")
        e = _check_bands(est.bands, est.fs)
        # the bands matter only to band_energy (the dominant frequency ignores them)
        edges = e if e.size and bool(np.any(codes == -1)) else None
        fs = float(np.float32(float(est.fs)))
    n_bands = 0 if edges is None else edges.size - 1
    per = sum(n_bands if c == -1 else 1 for c in codes)
    return DspIR(estimator=type(est).__name__, kind="features", n_features=n_ch * wl,
                 n_outputs=n_ch * per, n_channels=n_ch, window_length=wl, codes=codes,
                 edges=edges, fs=fs, feature_names=_names(est))


def _level(est: Any) -> DspIR:
    from ...dsp import level

    fs = level._fs(est.fs)
    coeffs, n_stages = level._weighting_coeffs(est.weighting, fs)
    ref = level._ref(est.ref)
    if not ref < 1e19:
        raise ConversionError(f"ref={est.ref!r}: the C sound level supports ref < 1e19")
    bad = [v for v in est.levels if v not in LEVEL_CODES]
    if bad:
        raise ConversionError(f"levels {bad} are not one of {tuple(LEVEL_CODES)}")
    codes = np.array([LEVEL_CODES[v] for v in est.levels], dtype=np.int32)
    return DspIR(estimator=type(est).__name__, kind="level",
                 n_features=int(est.n_features_in_), n_outputs=int(codes.size), codes=codes,
                 fs=float(np.float32(fs)), tau=float(np.float32(level._tau(est.time_weighting))),
                 ref=float(np.float32(ref)),
                 sos=np.ascontiguousarray(coeffs, dtype=np.float32) if n_stages else None,
                 feature_names=_names(est))


def from_estimator(est: Any, options: dict) -> DspIR:
    """The IR of a fitted microlearn.features transformer.

    Parameters
    ----------
    est : MelSpectrogram, MFCC, TimeSeriesFeatures or SoundLevel
        Fitted.
    options : dict
        This family has no options.

    Returns
    -------
    DspIR

    Raises
    ------
    ConversionError
        An FFT longer than 1024 samples, or a parameter the C cannot represent.
    """
    from ...features import MFCC, MelSpectrogram, SoundLevel, TimeSeriesFeatures

    if isinstance(est, (MFCC, MelSpectrogram)):
        return _spectro(est)
    if isinstance(est, TimeSeriesFeatures):
        return _features(est)
    if isinstance(est, SoundLevel):
        return _level(est)
    raise ConversionError(f"{type(est).__name__} is not a microlearn.features transformer")
