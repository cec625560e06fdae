"""IR of the dsp family: one feature extractor that turns a window of raw samples into a
feature vector (mel spectrogram, MFCC, time-series window features, sound levels).

The fields are those of ``ml_dsp_t`` in ``microlearn/runtime/ml_dsp.h``; the tables are
the exact float32 / integer values the scikit-learn transformer passes to the same C
(window, sparse mel table, DCT matrix, feature codes, band edges, weighting biquads).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...family import Signature

KINDS = ("melspec", "mfcc", "features", "level")
#: kind -> ML_DSP_* of ml_dsp.h
KIND_CODE = {"melspec": 1, "mfcc": 2, "features": 3, "level": 4}
#: FEATURES codes besides ml_features.h's ML_FEAT_* ids (0..11)
BAND_ENERGY, DOMINANT = -1, -2
#: LEVEL codes
LEVEL_CODES = {"leq": 0, "lmax": 1, "lmin": 2, "dbfs": 3}


@dataclass(frozen=True, eq=False)
class DspIR:
    """A feature extractor over windows of ``n_features`` raw samples.

    Attributes
    ----------
    estimator : str
        Class name of the transformer (``"MFCC"``).
    kind : {"melspec", "mfcc", "features", "level"}
    n_features, n_outputs : int
        Samples per window; features out.
    n_fft, hop, n_frames, n_mels, n_mfcc : int
        Spectral kinds: FFT (= frame) length, hop, frames per window, mel bands, MFCCs.
    power : int
        2 power spectrum, 1 magnitude (spectral kinds).
    to_db : bool
        melspec: power_to_db of the output.
    amin, top_db : float
        power_to_db's amin; MFCC's per-frame top_db (< 0: none).
    window : ndarray of float32 (n_fft,) or None
    mel_start, mel_length : ndarray of uint16 (n_mels,) or None
        Sparse mel filterbank: first bin and number of weights of each filter.
    mel_weights : ndarray of float32 or None
        All filters' weights, filter after filter.
    dct : ndarray of float32 (n_mfcc, n_mels) or None
        The DCT-II matrix ``ml_dct2_f32_init`` computes (liftering folded in).
    n_channels, window_length : int
        features: channels per row and samples per channel.
    codes : ndarray of int32 or None
        features: ML_FEAT_* ids, BAND_ENERGY, DOMINANT; level: LEVEL_CODES values.
    edges : ndarray of float32 (n_bands + 1,) or None
        features: band edges in Hz.
    fs, tau, ref : float
        Sample rate (Hz), time constant (s), rms of 0 dB (float32 values).
    sos : ndarray of float32 (5 n_stages,) or None
        level: b0, b1, b2, a1, a2 of each weighting biquad.
    feature_names : tuple of str or None
    """

    estimator: str
    kind: str
    n_features: int
    n_outputs: int
    n_fft: int = 0
    hop: int = 0
    n_frames: int = 0
    n_mels: int = 0
    n_mfcc: int = 0
    power: int = 0
    to_db: bool = False
    amin: float = 0.0
    top_db: float = 0.0
    window: np.ndarray | None = None
    mel_start: np.ndarray | None = None
    mel_length: np.ndarray | None = None
    mel_weights: np.ndarray | None = None
    dct: np.ndarray | None = None
    n_channels: int = 0
    window_length: int = 0
    codes: np.ndarray | None = None
    edges: np.ndarray | None = None
    fs: float = 0.0
    tau: float = 0.0
    ref: float = 0.0
    sos: np.ndarray | None = None
    feature_names: tuple[str, ...] | None = None
    family: str = field(default="dsp", init=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind={self.kind!r} is not one of {KINDS}")
        if self.n_features < 1 or self.n_outputs < 1:
            raise ValueError("a feature extractor needs at least one input and one output")
        if self.spectro:
            per = self.n_mfcc if self.kind == "mfcc" else self.n_mels
            if self.n_frames * per != self.n_outputs:
                raise ValueError("n_outputs must be n_frames * n_mels (n_mfcc)")
            if self.window is None or self.window.shape != (self.n_fft,):
                raise ValueError("a spectral extractor needs a window of n_fft floats")
        elif self.codes is None or self.codes.size < 1:
            raise ValueError("features / level extractors need at least one feature code")

    @property
    def spectro(self) -> bool:
        """Mel spectrogram or MFCC."""
        return self.kind in ("melspec", "mfcc")

    @property
    def n_bands(self) -> int:
        return 0 if self.edges is None else int(self.edges.size) - 1

    @property
    def n_stages(self) -> int:
        return 0 if self.sos is None else int(self.sos.size) // 5

    @property
    def n_weights(self) -> int:
        return 0 if self.mel_weights is None else int(self.mel_weights.size)

    @property
    def spectral_features(self) -> bool:
        """features: a band energy or dominant frequency needs the window's FFT."""
        return self.kind == "features" and bool(np.any(self.codes < 0))

    @property
    def fft_size(self) -> int:
        """Length of the FFT the C runs (0: none)."""
        if self.spectro:
            return self.n_fft
        return self.window_length if self.spectral_features else 0

    @property
    def scratch_floats(self) -> int:
        """Floats of scratch ``ml_dsp_transform`` needs (``ml_dsp_scratch_floats``)."""
        if self.kind == "melspec":
            return 2 * self.n_fft + 2
        if self.kind == "mfcc":
            return 2 * self.n_fft + 2 + self.n_mels
        if self.kind == "features":
            return self.window_length + 2 + self.n_bands if self.spectral_features else 0
        if np.any(self.codes != LEVEL_CODES["dbfs"]):
            return self.n_features + 2 * self.n_stages
        return 0


def signature(ir: DspIR) -> Signature:
    """The :class:`~microlearn.family.Signature` of a converted feature extractor."""
    return Signature(
        estimator=ir.estimator,
        task="transformer",
        n_features=ir.n_features,
        n_outputs=ir.n_outputs,
        exact_predict=True,
        exactness=("transform bit-identical to the transformer's (microlearn.features runs "
                   "the same C on the host)"),
        feature_names=ir.feature_names,
    )
