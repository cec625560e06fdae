"""Benchmark tooling (not shipped): measure ``microlearn_mp`` on emulated Cortex-M under
MicroPython v1.23 (QEMU, :mod:`support.mp_qemu`).

Used by the tests (budgets) and by ``benchmarks/bench_micropython.py`` (table).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from support import mp_qemu

from microlearn import mp_module

ROM_ADDR = mp_qemu.QEMU_ROM_BASE

# Runs on the device: import ({imports}), load ({load}), then predict every row with
# obj.predict(x), obj = {obj} held in a local and the row preallocated; each call is one
# counted region; empty regions last.
SCRIPT = """
import array, gc, bench
gc.collect()
a0 = gc.mem_alloc()
{imports}
gc.collect()
a1 = gc.mem_alloc()
{load}
gc.collect()
heap = gc.mem_alloc() - a1
print("IMPORT", a1 - a0)
nf = {n_features}
f = open("x.bin", "rb")
data = f.read()
f.close()
xs = [array.array("f", data[i * 4 * nf:(i + 1) * 4 * nf]) for i in range({n_rows})]
res = array.array("i", [0] * {n_rows})


def run(xs, res, obj):
    for i in range(len(xs)):
        x = xs[i]
        bench.start()
        r = obj.predict(x)
        bench.stop()
        res[i] = r


def empty(n):
    for i in range(n):
        bench.start()
        bench.stop()


{obj}.predict(xs[0])  # warm-up (method cache)
run(xs, res, {obj})
empty(5)
print("HEAP", heap)
print("PRED", " ".join(str(v) for v in res))
"""


def run_script(cpu: str, files: dict, imports: str, load: str, obj: str, n_rows: int,
               n_features: int, rom: dict | None = None, heap_size: int | None = None
               ) -> tuple[np.ndarray, float, int, int]:
    """Run :data:`SCRIPT` on ``cpu``: (predictions, mean instructions per call with the
    empty region subtracted, heap bytes held by the import, heap bytes held by ``load``)."""
    script = SCRIPT.format(imports=imports, load=load, obj=obj, n_rows=n_rows,
                           n_features=n_features)
    extra = {} if heap_size is None else {"heap_size": heap_size}
    r = mp_qemu.run_qemu_micropython(cpu, script, files, count_instructions=True, rom=rom,
                                     timeout=600, **extra).check()
    counts = np.array(r.instructions, dtype=np.float64)
    per_call = counts[:n_rows] - np.min(counts[n_rows:])
    heap = int(r.stdout.split("HEAP")[1].split()[0])
    imported = int(r.stdout.split("IMPORT")[1].split()[0])
    pred = np.array([int(v) for v in r.stdout.split("PRED")[1].split("\n")[0].split()])
    return pred, float(per_call.mean()), imported, heap


@dataclass(frozen=True)
class MicroPythonRun:
    """predict() of microlearn_mp on an emulated MCU."""

    cpu: str
    predictions: np.ndarray
    instructions: float  # mean per predict call, the empty bench region subtracted
    heap_after_load: int  # bytes of MicroPython heap the loaded model holds
    module_bytes: int
    heap_import: int  # bytes of MicroPython heap the imported module holds


def run_predict(blob: bytes, X: np.ndarray, n_outputs: int, *, cpu: str = "m4",
                mode: str = "rom", module: bytes | None = None) -> MicroPythonRun:
    """Run ``microlearn_mp`` on ``cpu`` ("m4": armv7emsp, "m0": armv6m; see
    ``mp_qemu.QEMU_CPUS``) over the rows X."""
    X = np.ascontiguousarray(X, dtype=np.float32)
    if module is None:
        import tempfile
        from pathlib import Path

        arch = mp_qemu.QEMU_CPUS[cpu].natmod_arch
        with tempfile.TemporaryDirectory() as tmp:
            module = mp_module.build(arch, Path(tmp))[0].read_bytes()
    if mode == "rom":
        load, files, rom = f"model = ml.load_at({ROM_ADDR}, {len(blob)})", {}, {ROM_ADDR: blob}
    else:
        load, files, rom = 'model = ml.load("model.mlb")', {"model.mlb": blob}, None
    files.update({"microlearn_mp.mpy": module, "x.bin": X.tobytes()})
    pred, instructions, imported, heap = run_script(
        cpu, files, "import microlearn_mp as ml", load, "model", X.shape[0],
        X.shape[1], rom=rom)
    return MicroPythonRun(cpu, pred, instructions, heap, len(module), imported)
