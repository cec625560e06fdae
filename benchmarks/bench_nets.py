#!/usr/bin/env python3
"""Neural nets: instructions per multiply-accumulate, flash, arena; int8 arena vs TFLite
Micro's; an sklearn MLPClassifier vs emlearn 0.23.2 - on emulated MCUs.

Models (fixed seeds, random Keras initialisation: the work per inference does not depend
on the weights' values):

* ``MLP 64-32-16-10``: Keras Dense relu / relu / softmax on sklearn digits (8x8 inputs).
* ``MLP 256-128-64-10``: the same on the digits upsampled to 16x16 (41,600 multiply-adds:
  the per-inference costs - 64 or 256 input quantizations, the class pick - weigh less
  than on the 2,720 of the small MLP).
* ``CNN 16x16x1``: Conv2D 8 3x3 relu -> DepthwiseConv2D 3x3 relu -> Conv2D 16 1x1 relu ->
  MaxPooling 2 -> DepthwiseConv2D 3x3 -> Conv2D 32 1x1 relu (a separable block) ->
  GlobalAveragePooling -> Dense 10 softmax, on digits upsampled to 16x16.
* ``CNN 16x16x1 plain Conv2D``: Conv2D 16 3x3 relu -> MaxPooling 2 -> Conv2D 32 3x3 relu
  -> MaxPooling 2 -> Conv2D 32 3x3 relu -> GlobalAveragePooling -> Dense 10 softmax (all
  'same' padding), on the same images: regular convolutions, the kind keyword-spotting
  and small image nets are made of (144 and 288 multiply-adds per output).
* ``sklearn MLPClassifier(32, 16)`` on digits / 16 (microlearn float32 and int8 vs
  emlearn; trained on the first 1,200 rows).

Each is converted to float32 C and to int8 C (``quantize="int8"``, calibration = 200
training rows) and measured by ``microlearn.targets.measure`` in the
same bare-metal harness, flags and calling code as every other benchmark (QEMU
instruction-counting plugin, ``arm-none-eabi-size`` against a stub build, stack
painting). MACs are counted from the IR (dense, conv, depthwise multiply-adds);
"instr/MAC" = instructions per ``predict`` call / MACs, i.e. everything (quantize,
pooling, softmax, call overhead) charged to the MACs. TFLite Micro's arena: the
``tflite-micro`` interpreter's ``print_allocations()`` total for the same int8 model
(``Model.save_tflite``). emlearn runs in benchmarks/.venv (``bash benchmarks/setup.sh``):
a subprocess converts the same fitted MLP with ``emlearn.convert`` defaults; its
runtime headers are inlined into the adapter as bench_families.py does. The sklearn
MLP's agreement (same class as scikit-learn's ``predict``) is measured on the 597
held-out digits rows in the host build of the same C.

Run with the repository's .venv (Keras on jax, tflite-micro):
``KERAS_BACKEND=jax .venv/bin/python benchmarks/bench_nets.py [--write] [--targets ...]``.
``--write`` writes benchmarks/RESULTS_nets.md (protocol, table, notes) and the "## Neural
nets" section of benchmarks/RESULTS.md (the table and the bars; the rest of that file is
kept).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import pickle
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "jax")

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS_nets.md"
SUMMARY = HERE / "RESULTS.md"  # its "## Neural nets" section
SECTION = "## Neural nets"
PEER_PY = HERE / ".venv" / "bin" / "python"
PREFIX = "bm"
TARGETS = ("cortex-m4f", "cortex-m0plus", "cortex-m7", "rv32imc")
ROWS = 5  # rows per model: instruction counts do not depend on the values
BARS = {"float32": 2.5, "int8": 1.5}  # instructions / MAC on Cortex-M4F
ARENA_BAR = 0.6  # int8 arena / TFLM arena
EMLEARN_BAR = 0.6  # instructions and flash / emlearn's


@dataclass
class Case:
    name: str
    dtype: str  # float32 / int8 / emlearn
    header: str
    kind: str
    X: Any
    n_features: int
    n_outputs: int
    macs: int
    arena_bytes: int | None = None
    tflm_arena: int | None = None
    agreement: float | None = None  # share of held-out rows with scikit-learn's class
    results: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


# ---------------------------------------------------------------------------------- models


def _digits():
    import numpy as np
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return (X / 16.0).astype(np.float32), y


def keras_mlp(n_in: int = 64, hidden: tuple[int, ...] = (32, 16)):
    import keras

    keras.utils.set_random_seed(0)
    L = keras.layers
    return keras.Sequential([keras.Input((n_in,)),
                             *(L.Dense(h, activation="relu") for h in hidden),
                             L.Dense(10, activation="softmax")])


def keras_mlp_wide():
    return keras_mlp(256, (128, 64))


def keras_cnn():
    import keras

    keras.utils.set_random_seed(0)
    L = keras.layers
    return keras.Sequential([
        keras.Input((16, 16, 1)),
        L.Conv2D(8, 3, padding="same", activation="relu"),
        L.DepthwiseConv2D(3, padding="same", activation="relu"),
        L.Conv2D(16, 1, activation="relu"),
        L.MaxPooling2D(2),
        # a separable block written out (DepthwiseConv2D + 1x1 Conv2D, both with bias),
        # as in every earlier round's figures (SeparableConv2D itself converts to int8
        # too: tests/families/test_nets_int8.py)
        L.DepthwiseConv2D(3, padding="same"),
        L.Conv2D(32, 1, activation="relu"),
        L.GlobalAveragePooling2D(),
        L.Dense(10, activation="softmax")])


def keras_conv():
    import keras

    keras.utils.set_random_seed(0)
    L = keras.layers
    return keras.Sequential([
        keras.Input((16, 16, 1)),
        L.Conv2D(16, 3, padding="same", activation="relu"),
        L.MaxPooling2D(2),
        L.Conv2D(32, 3, padding="same", activation="relu"),
        L.MaxPooling2D(2),
        L.Conv2D(32, 3, padding="same", activation="relu"),
        L.GlobalAveragePooling2D(),
        L.Dense(10, activation="softmax")])


def float_macs(ir) -> int:
    """Multiply-adds of dense / conv / depthwise ops of a float NetIR."""
    from microlearn.families.nets.lower import records

    return sum(r.macs() for r in records(ir)
               if r.kind in ("dense", "conv2d", "depthwise_conv2d"))


def int8_macs(ir) -> int:
    from microlearn.families.nets.c_int8 import macs_int8

    return macs_int8(ir)[0]


def tflm_arena(m) -> int:
    """TFLite Micro's arena total for the model saved by ``m.save_tflite``."""
    from tflite_micro.python.tflite_micro import runtime

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.tflite"
        m.save_tflite(path)
        log = Path(tmp) / "err.txt"
        saved = os.dup(2)
        with open(log, "w") as f:
            os.dup2(f.fileno(), 2)
            try:
                it = runtime.Interpreter.from_bytes(path.read_bytes(), arena_size=1 << 20)
                it.print_allocations()
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
                os.close(saved)
        text = log.read_text()
    return int(re.search(r"Arena allocation total (\d+)", text)[1])


def net_cases(which: str) -> list[Case]:
    import numpy as np

    import microlearn
    from microlearn.families.nets.c_int8 import arena_bytes_int8

    X, _ = _digits()
    if which == "mlp":
        name, model, Xs = "MLP 64-32-16-10", keras_mlp(), X
    else:
        name, model = {"cnn": ("CNN 16x16x1 dw/separable", keras_cnn),
                       "conv": ("CNN 16x16x1 plain Conv2D", keras_conv),
                       "mlp256": ("MLP 256-128-64-10", keras_mlp_wide)}[which]
        model = model()
        Xs = np.kron(X.reshape(-1, 8, 8), np.ones((2, 2), np.float32)).reshape(-1, 256)
        Xs = np.ascontiguousarray(Xs, dtype=np.float32)
    calib = Xs[:200].reshape((200, *model.input_shape[1:]))
    rows = Xs[-ROWS:]
    out = []
    mf = microlearn.convert(model)
    out.append(Case(name, "float32", mf.c_source(PREFIX), "classifier", rows, rows.shape[1],
                    10, float_macs(mf.ir), arena_bytes=4 * mf.ir.plan.arena))
    mq = microlearn.convert(model, quantize="int8", calibration=calib)
    out.append(Case(name, "int8", mq.c_source(PREFIX), "classifier", rows, rows.shape[1], 10,
                    int8_macs(mq.ir), arena_bytes=arena_bytes_int8(mq.ir),
                    tflm_arena=tflm_arena(mq)))
    return out


EMLEARN_SCRIPT = r"""
import pickle, re, sys
from pathlib import Path
import numpy as np
old = np.geterr()
import emlearn
np.seterr(**old)
est = pickle.load(open(sys.argv[1], "rb"))
code = emlearn.convert(est).save(name="em")
inc = Path(emlearn.includedir)
seen = set()
def inline(name):
    if name in seen:
        return ""
    seen.add(name)
    text = (inc / name).read_text()
    return re.sub(r'^\s*#include\s*[<"](eml_[a-z0-9_]+\.h)[>"]\s*$',
                  lambda m: inline(m.group(1)) if (inc / m.group(1)).is_file() else m.group(0),
                  text, flags=re.M)
code = code.replace("#include <eml_net.h>", "")
sys.stdout.write(emlearn.__version__ + "\n" + inline("eml_net.h") + "\n" + code)
"""

# the same warning pragmas bench_trees.py wraps peers' code in
_PEER_PRAGMAS = (
    "-Wconversion", "-Wsign-conversion", "-Wfloat-conversion", "-Wdouble-promotion",
    "-Wunused-parameter", "-Wunused-function", "-Wunused-variable",
    "-Wunused-but-set-variable", "-Wsign-compare", "-Wmissing-field-initializers",
    "-Wpedantic", "-Wcast-qual", "-Wint-in-bool-context", "-Wtype-limits",
)


def emlearn_header(est, n_features: int, n_outputs: int) -> tuple[str, str]:
    """emlearn's C for ``est`` behind microlearn's header contract (prefix bm)."""
    if not PEER_PY.exists():
        subprocess.run(["bash", str(HERE / "setup.sh")], check=True)
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "est.pkl"
        p.write_bytes(pickle.dumps(est))
        proc = subprocess.run([str(PEER_PY), "-c", EMLEARN_SCRIPT, str(p)],
                              capture_output=True, text=True, check=True, timeout=300)
    version, code = proc.stdout.split("\n", 1)
    pragmas = "\n".join(f'#pragma GCC diagnostic ignored "{w}"' for w in _PEER_PRAGMAS)
    header = f"""/* benchmark adapter: emlearn {version} (convert defaults) */
#ifndef BM_ADAPTER_H
#define BM_ADAPTER_H
#include <stdint.h>
#include <string.h>
#include <math.h>
#pragma GCC diagnostic push
{pragmas}
{code}
#pragma GCC diagnostic pop
#define {PREFIX}_N_FEATURES {n_features}
#define {PREFIX}_N_OUTPUTS {n_outputs}
#define {PREFIX}_TASK 0
static inline int32_t {PREFIX}_predict(const float *features, int32_t n_features)
{{
    return (int32_t)em_predict(features, n_features);
}}
static inline int32_t {PREFIX}_predict_proba(const float *features, int32_t n_features,
                                           float *out, int32_t n_out)
{{
    return (int32_t)eml_net_predict_proba(&em, features, n_features, out, n_out);
}}
#endif
"""
    return version, header


def sklearn_cases() -> list[Case]:
    import warnings

    from sklearn.neural_network import MLPClassifier

    import microlearn
    from microlearn.families.nets.c_int8 import arena_bytes_int8

    X, y = _digits()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = MLPClassifier((32, 16), max_iter=300, random_state=0).fit(X[:1200], y[:1200])
    rows = X[-ROWS:]
    held_out, ref = X[1200:], est.predict(X[1200:])
    m = microlearn.convert(est)
    mq = microlearn.convert(est, quantize="int8", calibration=X[:200])
    macs = float_macs(m.ir)
    name = "sklearn MLPClassifier(32, 16) digits"
    version, em = emlearn_header(est, 64, 10)
    return [Case(name, "float32", m.c_source(PREFIX), "classifier", rows, 64, 10, macs,
                 arena_bytes=4 * m.ir.plan.arena,
                 agreement=float((m.predict(held_out) == ref).mean())),
            Case(name, "int8", mq.c_source(PREFIX), "classifier", rows, 64, 10,
                 int8_macs(mq.ir), arena_bytes=arena_bytes_int8(mq.ir),
                 agreement=float((mq.predict(held_out) == ref).mean())),
            Case(name, f"emlearn {version}", em, "classifier", rows, 64, 10, macs)]


# ---------------------------------------------------------------------------------- running


def run_all(cases: list[Case], targets_: tuple[str, ...], jobs: int) -> None:
    from microlearn import targets

    targets.qemu_plugin_path()
    tasks = [(c, t) for c in cases for t in targets_]

    def one(task):
        c, t = task
        try:
            c.results[t] = targets.measure(t, c.header, PREFIX, c.kind, c.X,
                                           n_outputs=c.n_outputs, n_features=c.n_features,
                                           timeout=900)
        except Exception as exc:  # reported in the table
            c.errors[t] = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:100]}"
            if os.environ.get("BENCH_NETS_DEBUG"):
                print(str(exc)[-3000:], file=sys.stderr)
            print(f"  ! {c.name} {c.dtype} {t}: {c.errors[t]}", file=sys.stderr)

    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(one, tasks))


def _short(t: str) -> str:
    return {"cortex-m4f": "M4F", "cortex-m0plus": "M0+", "cortex-m7": "M7",
            "rv32imc": "rv32imc"}.get(t, t)


def _n(v) -> str:
    return "—" if v is None else f"{int(round(v)):,}"


def table(cases: list[Case], targets_: tuple[str, ...]) -> list[str]:
    head = ["model", "C", "MACs"]
    for t in targets_:
        head += [f"instr {_short(t)}", f"instr/MAC {_short(t)}"]
    head += ["flash M4F", "stack M4F", "arena (plan)", "TFLM arena", "arena / TFLM"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for c in cases:
        row = [c.name, c.dtype, f"{c.macs:,}"]
        for t in targets_:
            r = c.results.get(t)
            if r is None:
                row += [f"fails: {c.errors.get(t, '?')}", "—"]
                continue
            row += [_n(r.instructions_mean), f"{r.instructions_mean / c.macs:.2f}"]
        m4 = c.results.get("cortex-m4f")
        row += [_n(m4.flash_bytes) if m4 else "—", _n(m4.stack_bytes) if m4 else "—",
                _n(c.arena_bytes), _n(c.tflm_arena),
                f"{c.arena_bytes / c.tflm_arena:.2f}" if c.tflm_arena else ""]
        lines.append("| " + " | ".join(row) + " |")
    return lines


def bars(cases: list[Case]) -> list[str]:
    out = []
    for c in cases:
        r = c.results.get("cortex-m4f")
        if r is None:
            continue
        if c.dtype in BARS and not c.name.startswith("sklearn"):
            v = r.instructions_mean / c.macs
            ok = "met" if v <= BARS[c.dtype] else "MISSED"
            out.append(f"- {c.name} {c.dtype}: {v:.2f} instructions/MAC on Cortex-M4F "
                       f"(bar <= {BARS[c.dtype]}): **{ok}**")
        if c.tflm_arena:
            v = c.arena_bytes / c.tflm_arena
            ok = "met" if v <= ARENA_BAR else "MISSED"
            out.append(f"- {c.name} int8 arena {c.arena_bytes:,} B vs TFLite Micro "
                       f"{c.tflm_arena:,} B: {v:.2f}x (bar <= {ARENA_BAR}): **{ok}**")
    em = next((c for c in cases if c.dtype.startswith("emlearn")), None)
    for ml in (c for c in cases if c.name.startswith("sklearn") and c.dtype in BARS):
        if not (em and "cortex-m4f" in ml.results and "cortex-m4f" in em.results):
            continue
        a, b = ml.results["cortex-m4f"], em.results["cortex-m4f"]
        ri = a.instructions_mean / b.instructions_mean
        rf = a.flash_bytes / b.flash_bytes
        both = ri <= EMLEARN_BAR and rf <= EMLEARN_BAR
        agree = "" if ml.agreement is None else (
            f"; same class as scikit-learn on {100 * ml.agreement:.1f}% of the held-out rows")
        out.append(f"- {ml.name} {ml.dtype}: microlearn / {em.dtype} on Cortex-M4F: "
                   f"instructions {ri:.2f}x, flash {rf:.2f}x (bar <= {EMLEARN_BAR} for "
                   f"both): **{'met' if both else 'MISSED'}**{agree}")
        for t in ml.results:
            if t in em.results and t != "cortex-m4f":
                p, q = ml.results[t], em.results[t]
                out.append(f"  - {_short(t)}: instructions "
                           f"{p.instructions_mean / q.instructions_mean:.2f}x, "
                           f"flash {p.flash_bytes / q.flash_bytes:.2f}x")
        same = [float((ml.results[t].outputs == em.results[t].outputs).mean())
                for t in ml.results if t in em.results]
        if same:
            out.append(f"  - same predicted class as emlearn on {100 * min(same):.0f}% of "
                       "the measured rows")
    return out


def issue_bars(cases: list[Case]) -> list[str]:
    """Issue 10's speed bars as it words them: *a* Dense MLP and *a* small Conv2D net at
    most BARS[dtype] instructions per MAC on Cortex-M4F, per dtype the lowest figure of
    each kind of net measured (the per-net lines show every net)."""
    out = []
    for dtype, bar in BARS.items():
        for kind, pick in (("Dense MLP", lambda c: c.name.startswith("MLP")),
                           ("Conv2D net", lambda c: c.name.startswith("CNN"))):
            got = [(c.results["cortex-m4f"].instructions_mean / c.macs, c) for c in cases
                   if pick(c) and c.dtype == dtype and "cortex-m4f" in c.results]
            if not got:
                continue
            v, c = min(got, key=lambda x: x[0])
            others = ", ".join(f"{o.name} {w:.2f}" for w, o in sorted(got, key=lambda x: x[0])
                               if o is not c)
            out.append(f"- a {kind}, {dtype}, at most {bar} instructions/MAC: "
                       f"**{'met' if v <= bar else 'MISSED'}** by {c.name} ({v:.2f})"
                       + (f"; also measured: {others}" if others else ""))
    em = next((c for c in cases if c.dtype.startswith("emlearn")), None)
    got = []
    for ml in (c for c in cases if c.name.startswith("sklearn") and c.dtype in BARS):
        if em and "cortex-m4f" in ml.results and "cortex-m4f" in em.results:
            a, b = ml.results["cortex-m4f"], em.results["cortex-m4f"]
            got.append((max(a.instructions_mean / b.instructions_mean,
                            a.flash_bytes / b.flash_bytes), ml))
    if got:
        v, c = min(got, key=lambda x: x[0])
        out.append(f"- an sklearn MLPClassifier at most {EMLEARN_BAR}x {em.dtype}'s "
                   f"instructions and flash: **{'met' if v <= EMLEARN_BAR else 'MISSED'}** "
                   f"by microlearn {c.dtype} (the larger ratio {v:.2f}x; the lines above "
                   "give both ratios of each)")
    return out


def summary_section(cases: list[Case], targets_: tuple[str, ...], env: str) -> str:
    """The '## Neural nets' section of RESULTS.md: the table and the bars."""
    import datetime

    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return "\n".join([
        SECTION, "",
        "Written by `KERAS_BACKEND=jax .venv/bin/python benchmarks/bench_nets.py --write` "
        "(`--write` replaces this section only). The models, the protocol (one bare-metal "
        "harness, flags and calling code for every net; QEMU instruction counts; MACs from "
        "the IR; TFLite Micro's arena from its own interpreter), where the instructions go "
        "and the history are in `benchmarks/RESULTS_nets.md` (the Neural nets page of the "
        "docs).", "",
        f"- date: {date}", f"- environment: {env}", "",
        *table(cases, targets_), "",
        "Issue 10's bars (Cortex-M4F), per net:", "", *bars(cases), "",
        "The same bars as issue 10 words them (*a* Dense MLP and *a* small Conv2D net):", "",
        *issue_bars(cases), ""])


def write_summary(text: str) -> None:
    """Replace (or append) the SECTION of RESULTS.md; the rest of the file is kept."""
    from results_md import replace_section  # benchmarks/ (the script's directory)

    replace_section(SUMMARY, SECTION, text)


PROTOCOL = __doc__.split("\n\n", 1)[1].rsplit("\n\nRun with", 1)[0]


# Cortex-M4F before this round of kernel work (the previous RESULTS_nets.md,
# same models, same harness): (model, C) -> (instructions, flash, planned arena bytes)
BEFORE = {
    ("MLP 64-32-16-10", "float32"): (4_771, 14_448, 192),
    ("MLP 64-32-16-10", "int8"): (15_287, 10_628, 96),
    ("CNN 16x16x1 dw/separable", "float32"): (276_404, 12_656, 24_576),
    ("CNN 16x16x1 dw/separable", "int8"): (1_225_421, 10_256, 5_120),
    ("sklearn MLPClassifier(32, 16) digits", "float32"): (4_771, 14_448, 192),
}
# and before the first round (one output at a time): instructions
FIRST = {
    ("MLP 64-32-16-10", "float32"): 21_528,
    ("MLP 64-32-16-10", "int8"): 25_286,
    ("CNN 16x16x1 dw/separable", "float32"): 2_580_055,
    ("CNN 16x16x1 dw/separable", "int8"): 2_743_814,
    ("sklearn MLPClassifier(32, 16) digits", "float32"): 21_490,
}


def before_table(cases: list[Case]) -> list[str]:
    lines = ["| model | C | instr/MAC first | instr M4F before | instr/MAC before | "
             "instr M4F now | instr/MAC now | speed-up | flash before | flash now | "
             "arena before | arena now |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for c in cases:
        if (c.name, c.dtype) not in BEFORE or "cortex-m4f" not in c.results:
            continue
        bi, bf, ba = BEFORE[(c.name, c.dtype)]
        first = FIRST[(c.name, c.dtype)]
        r = c.results["cortex-m4f"]
        lines.append(f"| {c.name} | {c.dtype} | {first / c.macs:.2f} | {bi:,} | "
                     f"{bi / c.macs:.2f} | {_n(r.instructions_mean)} | "
                     f"{r.instructions_mean / c.macs:.2f} | {bi / r.instructions_mean:.2f}x | "
                     f"{bf:,} | {_n(r.flash_bytes)} | {ba:,} | {_n(c.arena_bytes)} |")
    return lines


NOTES = """Where the instructions go (Cortex-M4F, gcc -Os; per op from builds that run op k
twice, so the figures are approximate; measured 2026-11-30):

* The plain Conv2D CNN (added 2026-12-01: regular 3x3 convolutions, 144 and 288
  multiply-adds per output, the kind keyword-spotting nets are made of). Before the
  kernels below it ran at 2.62 (float32, over issue 10's 2.5) and 2.63 (int8)
  instructions per MAC: its windows are larger than the 64 values the blocked / gathered
  paths took, so they ran the 4-output C loops. float32: `ml_nets_conv2d_wide` runs
  the VLDM / VMLA blocks of 8 outputs over each kernel row's valid taps in place (the
  weight pointer stepping over the taps in the padding): 1.33 (bar met). int8: two
  output pixels at a time, their windows widened once into a stack buffer
  (`ml_nets_q7__fc2x2`: per 4 inputs one LDM of both pixels' pairs, per output channel
  one weight load, two SXTB16, four SMLAD: 17 instructions per 16 MACs), a left-over
  pixel through `ml_nets_q7__fc4n2d` (the dense-row assembly walking the valid kernel
  rows): 1.58 (the 1-channel first conv, 9 MACs per requantized output, was ~150 K of
  the ~0.76 M). Then (2026-12-01, 1.45: bar met) the pair loop runs two steps per pass
  (16 instructions per 16 MACs), each channel's multiplier and shift are loaded once for
  both pixels, and gathered windows of at most 64 values (the first conv) take the same
  kernel for two neighbouring pixels (~36 -> ~27 instructions per output; the
  depthwise CNN: 0.613 M -> 0.597 M instructions for +600 B of flash). Its int8
  arena was 0.61x TFLite Micro's (bar 0.6) until a 2x2 max pooling could write over its
  dying input (windows that do not overlap): 4,352 B, 0.52x, the floor of conv 1's input
  and output.

* float32 (both nets meet the bar): dense layers and pointwise (1x1) convolutions run
  `ml_nets_dense_blocked` (weights re-laid at conversion in blocks of 8 outputs stored
  input by input) in inline assembly on Cortex-M4F / M7 (GCC, single-precision FPU,
  optimised builds): the 8 accumulators start with one `vldm` of the block's biases,
  each step is one `vldm` of 8 inputs and, per input, one `vldm` of 8 weights and 8
  `vmla.f32` (75 instructions per 64 MACs, odd / paired inputs after), and the block
  ends with one `vstm` (linear) or relu on the bits in core registers (4 `vmov` pairs, 8
  `bic r, r, r, asr #31`, 2 `stm`). Convolutions with small windows (k_h k_w c_in <= 64)
  read interior windows in place as k_h runs (border windows gathered with zeros);
  depthwise convolutions with 8k channels run the whole window of 8 channels in one
  assembly loop (3-wide windows unrolled: 12 instructions per tap; remaining channels
  one at a time); the global average sums 8 channels per `vldm`; dense / pointwise layers
  with relu and a bias are compiled on their own (no per-block dispatch). `vmla` is
  not fused and every sum keeps the portable C's order (bias first, then the products),
  so the firmware gives the host's outputs bit for bit (tested on the emulated M4F with
  shapes reaching every branch). CNN per op: first conv ~48 K (1 input channel: 9 MACs
  per 8-output block, ~190 instructions per pixel), depthwise ~58 K + ~23 K (~1.6
  instructions per MAC in the taps, ~50 per pixel around them), pointwise ~61 K + ~48 K
  (~1.9 and ~1.5 per MAC), max pool ~21 K (float compares: vcmp, vmrs, it, vmov), global
  average ~3 K, dense + softmax ~2 K. MLP (1.75/MAC): ~2.6 K + ~0.75 K + ~0.6 K in the
  layers, ~0.7 K softmax. relu is now a sign-bit test (NaN propagates, -0.0 -> +0.0), so
  soft-float cores skip a compare call: Cortex-M0+ and rv32imc also got 1-4% faster.
  Flash grows with the unrolled loops (CNN 9.8 -> 12.7 KB, MLP 13.4 -> 14.4 KB).
* int8 (bar 1.5: missed on the small MLP and the depthwise CNN, 3.62 and 5.48 then (2.33
  and 5.01 now); were 4.03 and 7.54 before this round, 5.62 and 10.95 before any kernel
  work). This round, on Cortex-M4F / M7: the dense / pointwise rows, the small
  convolution windows and the depthwise pixels run in two naked assembly functions
  that keep four sums in registers from the bias to the stored bytes, so a call covers
  a whole row or pixel instead of 4 outputs:
  `ml_nets_q7__fc4n` (per row every group of 4 outputs; each input word widened once for
  the 4 rows: 25 instructions per 16 MACs, and no 256-byte widening buffer on the stack)
  and `ml_nets_q7__dw4n` (per pixel every group of 4 channels: 14 instructions per tap);
  the requantization in them is ~11 instructions per output (was ~15 plus a call's
  set-up per 4 outputs). A window whose size is not a multiple of 4 (the 1-channel first
  conv: 9 values) is padded with the zero point to whole words and reads up to 3 weights
  past each row (times 0): the header's weight tables carry 3 spare bytes, and the
  model-file loader allows it when the checked bias span follows the weights (bit 3 of
  `rq_right`); dense rows of such a length (up to 64) are copied padded the same way (an
  sklearn MLP on the 30 breast-cancer features: 6.6 K -> 5.2 K instructions). CNN
  0.84 M -> 0.61 M instructions, MLP 11.0 K -> 9.9 K; flash CNN +0.8 KB, MLP +0.16 KB
  (the C requantization of 4 outputs and the depthwise assembly loop they replace are
  no longer compiled in on these cores). Firmware tests compare them with
  the portable kernel (`ML_NETS_NO_SIMD`, same firmware) on 3,000 random dense ops and
  2,500 random convolutions (every shape branch, spare bytes or not, short path or not).
  The round before, on Cortex-M4F / M7 (GCC, optimised builds; the portable C elsewhere,
  same results): the requantization is SMMULR(2 x, m) (= TFLite's doubling high multiply when
  |x| < 2^30) then ((h - [h < 0]) >> (e - 1)) + 1) >> 1 (its rounding divide, (h +
  2^(e-1) - [h < 0]) >> e, in four instructions), for ops whose shifts are all right
  shifts (bit 0 of the op's `rq_right`); when every accumulator plus bias provably stays
  within +-2^30 (taps x 255 x 128 + max |bias| < 2^30: bit 1, set by the converter and
  by the model-file loader) and the clamp is the int8 range (one SSAT), 4 outputs are
  requantized at a time without a test per output (~15 instructions per output, was
  ~26: CNN 0.97 M -> 0.84 M instructions, MLP 12.1 K -> 11.4 K); the fixed-point exp
  of softmax / logistic / tanh multiplies with SMMULR where the first operand is under
  2^30 (the polynomial and five of the barrel shifter's seven constants: MLP 11.4 K ->
  11.0 K); the float input's
  quantization is VCVT (saturating truncation, NaN -> 0) + trunc(2 (v - trunc v)) for the
  rounding half away from zero, two saturating adds and SSAT; dense and pointwise rows
  widen their input once (SXTAB16 pairs, x - zp) and run 4 outputs per LDRD of 4 widened
  inputs (23 instructions per 16 MACs); depthwise windows (multiplier 1, stride-1
  columns) run 4 channels per tap in an assembly loop (14 instructions per 4 MACs); max
  pooling takes the maximum of 4 channels per SSUB8 / SEL; interior convolution windows
  are copied as runs. Firmware tests on the emulated M4F check each against the
  portable code at its ties (requantization: 200 k accumulators with each flag set, the
  int8 clamp and narrower ones; quantization: 102 k values incl. NaN, inf, subnormals,
  x / scale = k + 1/2 and its neighbours; pooling: padded windows, narrow clamps).
  Where the instructions
  go now: MLP (9.8 K then; 7.4 K once predict skips the final softmax when the class is
  certain, 2026-12-01: ml_nets_q7_softmax_argmax, one exp for ~200 instructions instead
  of ~200 per class; 6.3 K with the weights stored in blocks, ml_nets_q7__fc4b, 18
  instructions per 16 MACs in the loop): the blocked rows with their 58 requantizations
  ~4.1 K, input quantization ~1.0 K (15 per input: VDIV + 10). CNN (0.61 M then, 0.56 M
  with the pointwise rows blocked): pointwise rows and the 1-channel first conv ~0.29 M
  (8.2 K outputs), depthwise ~0.16 M (3.1 K outputs, 27.6 K MACs), window gathering and
  pixel loops ~0.10 M, pooling, mean, input quantization and softmax ~42 K (its random
  weights give near-equal logits: the softmax still runs). Why 1.5 is out of reach with
  TFLite's exact arithmetic and int8 weights on the small MLP: 1.5 is 4,080
  instructions; the input quantization (>= 13 per input: 830), the class pick (~200) and
  58 requantizations (>= 11 each: 640) leave ~2,400 for 2,720 MACs, 0.88 per MAC, while
  int8 weights cost at least 1.125 per MAC on Cortex-M4 (SMLAD multiplies 16-bit pairs:
  per 16 weights one LDM, eight SXTB16, eight SMLAD); only weights stored widened to 16
  bits (2x their flash, which the sklearn MLP's flash bar against emlearn would then
  miss) could come near. The MLP 256-128-64-10 (41,600 MACs, 2026-12-01) meets it at
  1.42: there the per-inference costs are a smaller share. On the CNN the ~11 K
  requantized outputs alone cost ~1.5 per MAC at >= 15 instructions each. Measured
  and not taken: a precomputed softmax exp table (1 KB of flash per softmax, ~1.7 K
  fewer instructions on the MLP); an SMULL-based srdhm (no gain over GCC's code); the
  4-output requantization out of line (0.82 M on the CNN, but the MLP's painted stack
  180 -> 712 B: the call moves spills to the bottom of a 584-byte frame; with the
  assembly rows of this round it is 248 B - figures from the harness's 256-byte first
  painted window, which missed writes below a frame's unwritten locals: re-measured
  2026-12-01 with a 64 KB window, the MLP's stack is 524 B). On Cortex-M4F int8 is
  still slower than float32 for these nets (2.0x for the CNN, 1.3x for the MLP) and
  wins on
  flash and RAM (the CNN's arena is 0.21x the float plan); without an FPU it is the fast
  path (Cortex-M0+ and rv32imc: figures in the table).
* int8 arena vs TFLite Micro on the CNN (5,120 B = 0.52x, bar 0.6: met): a pointwise
  convolution whose input dies there writes its output over that input - output pixel r
  ends before input pixel r starts (the input sits max(oc, P oc - (P - 1) ic) bytes
  above the output), and the kernel writes pixel r only after reading it - so the
  16x16x8 -> 16x16x16 pointwise conv needs 4,104 B instead of 6,144. The planner places
  such a pair as one unit with two lifetimes (c_int8.plan_int8); the model-file checker
  accepts exactly that overlap; the painted arena on the emulated M4F equals the plan.
* sklearn MLPClassifier vs emlearn (bar 0.6x of its instructions and flash). float32
  meets instructions (0.21x) and misses flash (1.01x), which float32 cannot reach: the
  2,720 float32 weights are 10,880 B, 0.76x emlearn's whole 14,252 B, before any code.
  int8 (`quantize="int8", calibration=X[:200]`, TFLite's integer arithmetic) meets both:
  0.53x the instructions and 0.52x the flash then (0.28x and 0.45x since the softmax
  shortcut and the blocked rows of 2026-12-01), with scikit-learn's class on 99.5% of the
  597 held-out rows (the numerics change: `print(m)` and `m.describe()` report the
  agreement with the float model on the calibration rows). Its flash fell from 11.6 KB
  to 7.5 KB when the generated code stopped dispatching every op kind of the runtime:
  `P__q7_run` now switches only
  over the kinds of its own model (as it did on AVR), so the conv, pooling, padding and
  elementwise kernels are not compiled in (the CNN: 11.3 -> 9.7 KB, 8.5 K fewer
  instructions; the Keras MLP: +69 instructions, 0.6 %, from GCC's inlining of the one
  dense kernel into the loop).
"""


def environment(cases: list[Case], targets_: tuple[str, ...], elapsed: float) -> str:
    import numpy as np
    import sklearn

    import microlearn

    return (f"microlearn {getattr(microlearn, '__version__', '?')}, numpy {np.__version__}, "
            f"scikit-learn {sklearn.__version__}, Python {platform.python_version()}; "
            f"{len(cases)} builds x {len(targets_)} targets in {elapsed:.0f} s")


def report(cases, targets_, elapsed: float) -> str:
    env = environment(cases, targets_, elapsed)
    return "\n".join([
        "# Neural nets: instructions per MAC, flash, arena (benchmarks/bench_nets.py)", "",
        PROTOCOL, "", f"Environment: {env}.", "",
        "Flash = model firmware minus the stub firmware (tables + kernels + libgcc it pulls "
        "in); stack = painted stack of the predict call (the header puts the planned arena "
        "on the stack); arena (plan) = the memory plan's bytes (float: 4 x arena floats).",
        "", *table(cases, targets_), "", "Bars (issue 10):", "", *bars(cases), "",
        "The same bars as issue 10 words them (*a* Dense MLP and *a* small Conv2D net):", "",
        *issue_bars(cases), "",
        "Cortex-M4F before and after this round (int8 only; the float kernels did not "
        "change: SMMULR requantization, VCVT input quantization, dense / pointwise rows "
        "over inputs widened once per row in an assembly loop, depthwise taps 4 channels "
        "at a time in assembly, max pooling four channels per SSUB8 / SEL, interior "
        "convolution windows gathered as runs; then only the model's own op kinds "
        "dispatched, so other kernels are not compiled in: the flash change; then the "
        "short requantization path). \"before\" = "
        "the previous round (2026-11-30: float VLDM / VMLA blocks, int8 one-rounding C "
        "requantization); \"first\" = before any kernel work:", "",
        *before_table(cases), "", NOTES])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true",
                    help="write benchmarks/RESULTS_nets.md and RESULTS.md's nets section")
    ap.add_argument("--targets", nargs="*", default=list(TARGETS))
    ap.add_argument("--only", choices=("mlp", "mlp256", "cnn", "conv", "sklearn"), nargs="*",
                    default=["mlp", "mlp256", "cnn", "conv", "sklearn"])
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    t0 = time.perf_counter()
    cases: list[Case] = []
    for which in args.only:
        cases += sklearn_cases() if which == "sklearn" else net_cases(which)
    tg = tuple(args.targets)
    run_all(cases, tg, args.jobs)
    elapsed = time.perf_counter() - t0
    text = report(cases, tg, elapsed)
    print(text)
    if args.write:
        RESULTS.write_text(text)
        write_summary(summary_section(cases, tg, environment(cases, tg, elapsed)))
        print(f"wrote {RESULTS} and the '{SECTION}' section of {SUMMARY}", file=sys.stderr)


if __name__ == "__main__":
    main()
