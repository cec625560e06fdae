"""Arduino Uno (ATmega328P) figures of docs/getting_started/arduino.md: flash, RAM, stack
and clock cycles per inference measured with avr-gcc + simavr (``footprint("atmega328p")``),
and the static RAM the same headers take with their tables in RAM (``ML_NO_PROGMEM``, the
state before tables moved to program memory). The DSP rows (raw samples in: UCI HAR
accelerometer windows, FSDD audio from ../shared/datasets; skipped with a note when it is
absent) also give the SRAM the input window takes (``4 n_features`` bytes, static in the
harness) next to the stack of the transform (FFT instance, scratch). The neural-net rows
(scikit-learn MLPs, float32 and ``quantize="int8"``) keep weights and op tables in program
memory and their arena on the stack (in the stack column).

    .venv/bin/python benchmarks/bench_avr.py      # needs gcc-avr avr-libc simavr libsimavr-dev
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits, load_iris
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

import microlearn
from microlearn import avr, targets
from microlearn.features import MFCC, MelSpectrogram, SoundLevel, TimeSeriesFeatures

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
HAR_FEATURES = ("mean", "std", "min", "max", "rms", "zero_crossings", "skew", "kurtosis",
                "band_energy", "dominant_frequency")


def dsp_models() -> list[tuple[str, object, np.ndarray, tuple]]:
    """The DSP rows: HAR windows of 3 x 32 / 3 x 64 samples, FSDD snippets of 128."""
    har = DATASETS / "uci_har_test" / "uci_har_test.npz"
    fsdd = DATASETS / "fsdd" / "recordings"
    if not har.exists() or not fsdd.is_dir():
        print(f"(DSP rows skipped: {DATASETS} not found)")
        return []
    from scipy.io import wavfile

    d = np.load(har)
    idx = np.linspace(0, len(d["X"]) - 1, 240).astype(int)
    X64 = np.ascontiguousarray(d["X"][idx][:, ::2, 6:9].transpose(0, 2, 1)
                               .reshape(len(idx), -1), dtype=np.float32)
    X32 = np.ascontiguousarray(X64.reshape(len(idx), 3, 64)[:, :, ::2].reshape(len(idx), -1))
    y = d["y"][idx]
    audio, digits = [], []
    for speaker in ("george", "jackson"):
        for digit in range(10):
            for take in range(2):
                _, a = wavfile.read(fsdd / f"{digit}_{speaker}_{take}.wav")
                a = (a.astype(np.float64) / 32768.0).astype(np.float32)
                start = max(0, a.size // 2 - 64)
                audio.append(np.pad(a[start:start + 128], (0, max(0, 128 - a[start:].size))))
                digits.append(digit)
    A = np.ascontiguousarray(audio, dtype=np.float32)
    tsf = dict(n_channels=3, features=HAR_FEATURES)
    return [
        ("HAR 3x64 TimeSeriesFeatures (10 features, 4 bands; FFT 64)", TimeSeriesFeatures(
            fs=25.0, bands=(0.0, 1.0, 3.0, 6.0, 12.5), **tsf).fit(X64), X64[:40], (None,)),
        ("HAR 3x32 features + scaler + tree depth 6 (FFT 32)", make_pipeline(
            TimeSeriesFeatures(fs=12.5, bands=(0.0, 1.0, 2.5, 6.25), **tsf), StandardScaler(),
            DecisionTreeClassifier(max_depth=6, random_state=0)).fit(X32, y), X32[:40],
         (None,)),
        ("HAR 3x32 time-domain features + scaler + LogisticRegression", make_pipeline(
            TimeSeriesFeatures(n_channels=3, features=HAR_FEATURES[:8]), StandardScaler(),
            LogisticRegression(max_iter=2000)).fit(X32, y), X32[:40], (None,)),
        ("FSDD 128 samples MFCC n_fft 64, 2 frames, 10 mels, 6 MFCC", MFCC(
            sr=8000, n_fft=64, hop_length=64, n_mels=10, n_mfcc=6).fit(A), A, (None,)),
        ("FSDD 128 samples MFCC + scaler + tree depth 5", make_pipeline(
            MFCC(sr=8000, n_fft=64, hop_length=64, n_mels=10, n_mfcc=6), StandardScaler(),
            DecisionTreeClassifier(max_depth=5, random_state=0)).fit(A, digits), A, (None,)),
        ("FSDD 128 samples MelSpectrogram n_fft 64, hop 32, 10 mels, dB", MelSpectrogram(
            sr=8000, n_fft=64, hop_length=32, n_mels=10).fit(A), A, (None,)),
        ("FSDD 128 samples SoundLevel A-weighted leq/lmax/lmin/dbfs", SoundLevel(
            fs=8000, levels=("leq", "lmax", "lmin", "dbfs")).fit(A), A, (None,)),
    ]


def nets_models(Xi, yi, Xd, yd) -> list[tuple[str, object, np.ndarray, tuple]]:
    """The neural-net rows: scikit-learn MLPs on iris and digits, float32 and int8."""
    both = ({"int8": False}, {"int8": True})
    Xd = Xd / np.float32(16.0)
    return [
        ("iris MLP 4-10-3 (relu, softmax)", MLPClassifier(
            (10,), max_iter=400, random_state=0).fit(Xi, yi), Xi, both),
        ("digits MLP 64-24-10 (relu, softmax)", MLPClassifier(
            (24,), max_iter=200, random_state=0).fit(Xd, yd), Xd[:200], both),
        ("digits MLP 64-32-16-10 (relu, softmax)", MLPClassifier(
            (32, 16), max_iter=200, random_state=0).fit(Xd, yd), Xd[:200], both),
    ]


def main() -> None:
    warnings.filterwarnings("ignore")
    Xi, yi = load_iris(return_X_y=True)
    Xd, yd = load_digits(return_X_y=True)
    Xi, Xd = Xi.astype(np.float32), Xd.astype(np.float32)
    models = [
        ("iris RF 5 trees depth 5", RandomForestClassifier(5, max_depth=5, random_state=0)
         .fit(Xi, yi), Xi, ("fast", "loadable", "inline")),
        ("iris GradientBoosting 10 rounds", GradientBoostingClassifier(
            n_estimators=10, random_state=0).fit(Xi, yi), Xi, ("fast", "loadable")),
        ("iris LogisticRegression", LogisticRegression(max_iter=500).fit(Xi, yi), Xi, (None,)),
        ("iris GaussianNB", GaussianNB().fit(Xi, yi), Xi, (None,)),
        ("digits RF 10 trees depth 6", RandomForestClassifier(10, max_depth=6, random_state=0)
         .fit(Xd, yd), Xd[:200], ("fast", "loadable")),
        ("digits scaler + LogisticRegression", make_pipeline(
            StandardScaler(), LogisticRegression(max_iter=300)).fit(Xd, yd), Xd[:200], (None,)),
        *dsp_models(),
        *nets_models(Xi, yi, Xd, yd),
    ]
    print(f"| model | method | flash B | RAM B | RAM B, tables in RAM | stack B | "
          f"cycles mean (max) | us @ {avr.CLOCK_HZ // 1_000_000} MHz | input window B |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, est, X, methods in models:
        for method in methods:
            if isinstance(method, dict):  # nets: float32 or int8
                opts = {"quantize": "int8", "calibration": X} if method["int8"] else {}
                m = microlearn.convert(est, **opts)
                method = "int8" if method["int8"] else "float32"
            else:
                m = microlearn.convert(est, **({"method": method} if method else {}))
            fp = m.footprint("atmega328p", X)
            report = m.verify_on_target("atmega328p", X)
            assert report.ok, (name, report)
            try:
                old = targets.footprint(
                    "atmega328p", "#define ML_NO_PROGMEM 1\n" + m.c_source(), "model",
                    m.kind, n_outputs=m.n_outputs, n_features=m.n_features).ram_bytes
                old_ram = f"{old:,}"
            except targets.UnsupportedOnTargetError:
                old_ram = "> 2,048 (does not link)"
            us = fp.instructions / (avr.CLOCK_HZ / 1e6)
            print(f"| {name} | {method or '-'} | {fp.flash_bytes:,} | {fp.ram_bytes} | "
                  f"{old_ram} | {fp.stack_bytes} | {fp.instructions:,.0f} "
                  f"({fp.instructions_max:,}) | {us:,.0f} | "
                  f"{4 * m.n_features if 'ml_dsp_transform' in m.c_source() else '-'} |")


if __name__ == "__main__":
    main()
