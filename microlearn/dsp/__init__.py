"""Signal processing for the device, runnable on the host: the same C code both ways.

Spectral features (windows, real FFT, framing, mel spectrogram, power_to_db, MFCC) come
from ``microlearn.dsp.spectral``; each function runs the C runtime headers
(``ml_fft.h``, ``ml_window.h``, ``ml_mel.h``) compiled on the host, so features computed
for training are the device's bits. See docs/dsp.md.
"""

from .spectral import (  # noqa: F401
    MAX_FFT_SIZE,
    MIN_FFT_SIZE,
    frame,
    get_window,
    hz_to_mel,
    magnitude_spectrum,
    mel_c_table,
    mel_filterbank,
    mel_frequencies,
    mel_table,
    mel_to_hz,
    melspectrogram,
    mfcc,
    mfcc_frames,
    power_spectrum,
    power_to_db,
    rfft,
    rfft_q15,
)

# other DSP modules (filters, features, post-processing) append their imports below

# isort: split
# time-domain DSP (filters, sound level, window features, post-processing)
from .features import (  # noqa: E402,F401
    FEATURES,
    atan2,
    feature_names,
    pitch_roll,
    vector_magnitude,
    window_features,
)
from .filters import (  # noqa: E402,F401
    Decimator,
    decimate,
    decimation_filter,
    fir_filter,
    sos_coefficients,
    sosfilt,
)
from .level import (  # noqa: E402,F401
    TAU_FAST,
    TAU_SLOW,
    a_weighting,
    c_weighting,
    dbfs,
    iec_weighting_db,
    leq,
    level_db,
    sound_level,
    time_weighting,
    weighting_sos,
)
from .post import (  # noqa: E402,F401
    detect_events,
    exponential_smoothing,
    hysteresis,
    majority_vote,
    median_filter,
    moving_average,
)
