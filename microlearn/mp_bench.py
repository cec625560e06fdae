"""Measure ``microlearn_mp`` on emulated Cortex-M under MicroPython v1.23 (QEMU).

Used by the tests (budgets) and by ``benchmarks/bench_micropython.py`` (table).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import micropython_build as mb
from . import mp_module

ROM_ADDR = mb.QEMU_ROM_BASE

# Runs on the device: load (from a file, or in place from "flash"), then predict every row
# with the row preallocated; each predict call is one counted region; empty regions last.
SCRIPT = """
import array, gc, bench
import microlearn_mp as ml
MODE = "{mode}"
gc.collect()
a0 = gc.mem_alloc()
if MODE == "rom":
    model = ml.load_at({addr}, {size})
else:
    model = ml.load("model.mlb")
gc.collect()
heap = gc.mem_alloc() - a0
nf = {n_features}
f = open("x.bin", "rb")
data = f.read()
f.close()
xs = [array.array("f", data[i * 4 * nf:(i + 1) * 4 * nf]) for i in range({n_rows})]
res = array.array("i", [0] * {n_rows})
out = array.array("f", [0.0] * {n_outputs})


def run(model, xs, res):
    predict = model.predict
    for i in range(len(xs)):
        x = xs[i]
        bench.start()
        r = model.predict(x)
        bench.stop()
        res[i] = r


def empty(n):
    for i in range(n):
        bench.start()
        bench.stop()


model.predict(xs[0])  # warm-up (method cache)
run(model, xs, res)
empty(5)
print("HEAP", heap)
print("PRED", " ".join(str(v) for v in res))
"""


@dataclass(frozen=True)
class MicroPythonRun:
    """predict() of microlearn_mp on an emulated MCU."""

    cpu: str
    predictions: np.ndarray
    instructions: float  # mean per predict call, the empty bench region subtracted
    heap_after_load: int  # bytes of MicroPython heap the loaded model holds
    module_bytes: int


def run_predict(blob: bytes, X: np.ndarray, n_outputs: int, *, cpu: str = "m4",
                mode: str = "rom", module: bytes | None = None) -> MicroPythonRun:
    """Run ``microlearn_mp`` on ``cpu`` ("m4": armv7emsp, "m0": armv6m) over the rows X."""
    X = np.ascontiguousarray(X, dtype=np.float32)
    if module is None:
        import tempfile
        from pathlib import Path

        arch = {"m4": "armv7emsp", "m0": "armv6m"}[cpu]
        with tempfile.TemporaryDirectory() as tmp:
            module = mp_module.build(arch, Path(tmp))[0].read_bytes()
    script = SCRIPT.format(mode=mode, addr=ROM_ADDR, size=len(blob), n_features=X.shape[1],
                           n_rows=X.shape[0], n_outputs=n_outputs)
    files = {"microlearn_mp.mpy": module, "x.bin": X.tobytes()}
    if mode != "rom":
        files["model.mlb"] = blob
    r = mb.run_qemu_micropython(cpu, script, files, count_instructions=True,
                                rom={ROM_ADDR: blob} if mode == "rom" else None).check()
    counts = np.array(r.instructions, dtype=np.float64)
    n = X.shape[0]
    per_call = counts[:n] - np.min(counts[n:])
    heap = int(r.stdout.split("HEAP")[1].split()[0])
    pred = np.array([int(v) for v in r.stdout.split("PRED")[1].split("\n")[0].split()])
    return MicroPythonRun(cpu, pred, float(per_call.mean()), heap, len(module))
