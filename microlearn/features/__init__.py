"""scikit-learn transformers around ``microlearn.dsp``: feature extraction that runs the
device's C code, usable as the first step of a Pipeline.

Each row of X is one window of raw samples; the transformers return one flat feature
vector per row, frame after frame (``(t, n_mels)`` or ``(t, n_mfcc)`` in C order), which is
what a device produces when it streams the window through ``ml_frames_f32`` and
``ml_melspec_f32`` / ``ml_mfcc_f32``.
"""

from .audio import MFCC, MelSpectrogram

__all__ = ["MFCC", "MelSpectrogram"]

# time-domain transformers (window statistics, sound levels)
from .time_domain import SoundLevel, TimeSeriesFeatures  # noqa: E402

__all__ += ["SoundLevel", "TimeSeriesFeatures"]
