#!/usr/bin/env python3
"""ml_math.h (microlearn's float32 elementary functions) vs the target's libm.

For each function, a fixture model (tests/target_fixtures/math_fixture.h, and its twin
math_libm_fixture.h calling <math.h>) whose ``regress`` computes that one function is run
on 256 arguments in QEMU through ``microlearn.targets.measure`` (Cortex-M4F and
Cortex-M0+, newlib-nano's libm linked with ``-lm`` by the target spec). Reported per
function and target: mean and max instructions per call minus the harness's own cost (a
fixture that computes nothing), flash bytes the call adds, and in how many rows libm's
bits differ from ml_math's (ml_math gives the host's bits on every target; see
tests/test_ml_math.py).

Run with ``.venv/bin/python benchmarks/bench_math.py`` (any Python that imports
microlearn and numpy; needs arm-none-eabi-gcc, newlib and qemu-system-arm).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from microlearn import codegen, targets  # noqa: E402

FIXTURES = REPO / "tests" / "target_fixtures"
TARGETS = ("cortex-m4f", "cortex-m0plus")
SHORT = {"cortex-m4f": "M4F", "cortex-m0plus": "M0+", "cortex-m7": "M7", "rv32imc": "RV32"}
N_ROWS = 256

# MF_SELECT of the fixtures -> (name, libm call)
FUNCTIONS = {
    1: ("expf", "expf"),
    2: ("logf", "logf"),
    3: ("sqrtf", "sqrtf"),
    4: ("tanhf", "tanhf"),
    5: ("powf", "powf"),
    6: ("reciprocalf", "1.0f / x"),
}
BASELINE = 7


def arguments(select: int, rng: np.random.Generator) -> np.ndarray:
    """Arguments as the model families use them."""
    X = np.zeros((N_ROWS, 4), dtype=np.float32)
    if select == 1:  # softmax / rbf: exp of non-positive values, some positive
        x = rng.uniform(-30.0, 10.0, N_ROWS)
    elif select == 2:  # log of sums of probabilities / densities
        x = np.exp(rng.uniform(-40.0, 40.0, N_ROWS))
    elif select == 3:  # norms, distances
        x = np.exp(rng.uniform(-10.0, 10.0, N_ROWS))
    elif select == 4:  # sigmoid kernel
        x = rng.normal(0.0, 2.0, N_ROWS)
    elif select == 5:  # minkowski: |d|^p and rd^(1/p)
        x = np.exp(rng.uniform(-5.0, 5.0, N_ROWS))
        X[:, 1] = np.where(np.arange(N_ROWS) % 2 == 0, rng.uniform(1.0, 5.0, N_ROWS),
                           1.0 / rng.uniform(1.0, 5.0, N_ROWS))
    elif select == 6:
        x = np.exp(rng.uniform(-20.0, 20.0, N_ROWS)) * rng.choice([-1.0, 1.0], N_ROWS)
    else:
        x = rng.uniform(-1.0, 1.0, N_ROWS)
    X[:, 0] = x
    return X


def header(select: int, libm: bool) -> str:
    text = f"#define MF_SELECT {select}\n"
    if libm:
        return text + (FIXTURES / "math_libm_fixture.h").read_text()
    return (text + codegen.runtime_source("ml_math.h") + "\n"
            + (FIXTURES / "math_fixture.h").read_text())


def run(target: str, select: int, libm: bool, X: np.ndarray) -> targets.TargetRun:
    return targets.measure(target, header(select, libm), "mf", "regressor", X, n_outputs=4,
                           n_features=4)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", default=",".join(TARGETS),
                        help="comma-separated target names (default: %(default)s)")
    args = parser.parse_args()
    names = [t for t in args.targets.split(",") if t]
    for t in names:
        reason = targets.unavailable_reason(t)
        if reason:
            print(f"skipping {t}: {reason}", file=sys.stderr)
    names = [t for t in names if targets.unavailable_reason(t) is None]
    if not names:
        return 1
    started = time.time()
    rng = np.random.default_rng(0)
    inputs = {s: arguments(s, rng) for s in [*FUNCTIONS, BASELINE]}
    rows = []
    for t in names:
        spec = targets.TARGETS[t]
        libs = " ".join(spec.libs) or "(none)"
        base = {lib: run(t, BASELINE, lib, inputs[BASELINE]) for lib in (False, True)}
        for select, (name, call) in FUNCTIONS.items():
            ours = run(t, select, False, inputs[select])
            theirs = run(t, select, True, inputs[select])
            a, b = ours.outputs[:, 0], theirs.outputs[:, 0]
            differ = int(np.sum((a.view(np.uint32) != b.view(np.uint32))
                                & ~(np.isnan(a) & np.isnan(b))))
            rows.append((
                SHORT.get(t, t), name,
                ours.instructions_mean - base[False].instructions_mean,
                ours.instructions_max - base[False].instructions_mean,
                theirs.instructions_mean - base[True].instructions_mean,
                theirs.instructions_max - base[True].instructions_mean,
                ours.flash_bytes - base[False].flash_bytes,
                theirs.flash_bytes - base[True].flash_bytes,
                differ, call, libs,
            ))
    print(f"ml_math.h vs libm (newlib-nano, linked with the target spec's libs), "
          f"{N_ROWS} arguments per function; instructions per call minus the harness's "
          "own cost")
    print()
    print("| target | function | ml_math mean | ml_math max | libm mean | libm max "
          "| ml/libm | ml_math flash B | libm flash B | rows libm != ml_math |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (t, name, om, ox, lm, lx, of, lf, differ, call, _libs) in rows:
        print(f"| {t} | {name} (libm: `{call}`) | {om:.0f} | {ox:.0f} | {lm:.0f} | {lx:.0f} "
              f"| {om / lm:.2f} | {of} | {lf} | {differ}/{N_ROWS} |")
    print()
    for t in names:
        print(f"{t}: libs linked: {' '.join(targets.TARGETS[t].libs) or '(none)'}; "
              f"flags: {' '.join(targets.TARGETS[t].cflags)}")
    print(f"({time.time() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
