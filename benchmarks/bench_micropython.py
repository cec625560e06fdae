"""MicroPython benchmark: microlearn_mp (native .mpy) vs its pure-Python fallback vs
m2cgen's Python output, on emulated Cortex-M4F (QEMU mps2-an386) under MicroPython v1.23.

Model: RandomForestClassifier(n_estimators=10, max_depth=10, random_state=0) trained on
digits rows 0-999; predicting rows 1000-1019 with the input preallocated. Instructions are
the mean over the 20 predict calls, counted exactly by the QEMU plugin, minus an empty
bench.start()/stop() region. Heap (gc.mem_alloc() differences): bytes of MicroPython heap
held by the import (code of a native module is loaded into the heap on bare-metal ports;
m2cgen's model *is* its code) and by loading the model. "Code held" (lean build): the
import plus the first load, minus the file (load(file)) and the model object (what a
second load of the same file adds): the engine's code and the names its loader interned.

    python benchmarks/bench_micropython.py [--write]     (m2cgen column needs m2cgen:
                                                           run with benchmarks/.venv)
    python benchmarks/bench_micropython.py --lean-only --write   (only the lean rows)
"""

from __future__ import annotations

import argparse
import datetime
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.ensemble import RandomForestClassifier

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # the test tooling: tests/support (not shipped)

from support import mp_bench  # noqa: E402

import microlearn  # noqa: E402
from microlearn import mp_module  # noqa: E402

M2CGEN_PREDICT = """

def predict(x):
    p = score(x)
    best = 0
    for i in range(1, len(p)):
        if p[i] > p[best]:
            best = i
    return best
"""


def _run_py(files: dict, imports: str, load: str, obj: str):
    pred, ins, imported, heap = mp_bench.run_script("m4", files, imports, load, obj, 20, 64,
                                                    heap_size=2 * 1024 * 1024)
    return ins, imported, heap, pred


def _lean(cpu: str, blob: bytes, Xt: np.ndarray, mode: str, loads: int = 1):
    """The lean build a user of this file makes (`micropython build --lean --for`):
    (predictions, instructions, import heap, load heap, engine .mpy bytes)."""
    arch = {"m4": "armv7emsp", "m0": "armv6m"}[cpu]
    with tempfile.TemporaryDirectory() as tmp:
        files = {f.name: f.read_bytes() for f in mp_module.build_lean(arch, tmp,
                                                                    for_model=blob)}
    files.pop("package.json")
    engine = len(files["microlearn_mp.mpy"])
    files["x.bin"] = Xt.tobytes()
    if mode == "rom":
        one, rom = f"ml.load_at({mp_bench.ROM_ADDR}, {len(blob)})", {mp_bench.ROM_ADDR: blob}
    else:
        one, rom = 'ml.load("model.mlb")', None
        files["model.mlb"] = blob
    load = "\n".join(f"model{i} = {one}" for i in range(1, loads)) + f"\nmodel = {one}"
    pred, ins, imported, heap = mp_bench.run_script(cpu, files, "import microlearn_mp as ml",
                                                    load, "model", len(Xt), Xt.shape[1],
                                                    rom=rom)
    return pred, ins, imported, heap, engine


def _lean_rows(cpu: str, label: str, blobs, Xt, rf, ref) -> tuple[list, list]:
    rows, code = [], []
    for layout, data in blobs:
        for mode in ("rom", "file"):
            pred, ins, imported, heap, engine = _lean(cpu, data, Xt, mode)
            rows.append((f"{label}, {'load_at' if mode == 'rom' else 'load(file)'}, {layout}",
                         ins, engine, len(data), imported, heap,
                         float(np.mean(rf.classes_[pred] == ref))))
        _, _, _, heap2, _ = _lean(cpu, data, Xt, "rom", loads=2)
        obj = heap2 - rows[-2][5]
        code.append((layout, rows[-2][4] + rows[-2][5] - obj, obj))
    return rows, code


def _viper_rows(cpu: str, blobs, Xt: np.ndarray, rf, ref) -> list:
    """The viper engine (issue 14: `micropython build --engine viper`, the default for
    xtensawin), compiled by mpy-cross for the emulated core: load(file) (its load_at needs
    uctypes, which the QEMU port has not)."""
    from microlearn import micropython_build

    arch = {"m4": "armv7emsp", "m0": "armv6m"}[cpu]
    with tempfile.TemporaryDirectory() as tmp:
        module = micropython_build.build_viper(arch, tmp, nets=False)[0].read_bytes()
    rows = []
    for layout, data in blobs:
        r = mp_bench.run_predict(data, Xt, len(rf.classes_), cpu=cpu, mode="file",
                                 module=module)
        rows.append((f"microlearn_mp viper engine ({arch}, mpy-cross), load(file), {layout}",
                     r.instructions, len(module), len(data), r.heap_import, r.heap_after_load,
                     float(np.mean(rf.classes_[r.predictions] == ref))))
    return rows


def _row(label, ins, code, mbytes, imported, heap, agree, base=None) -> str:
    def fmt(v, spec="{:,.0f}"):
        return "n/a" if v is None else spec.format(v)

    ratio = "" if base is None else f" {fmt(None if ins is None else ins / base, '{:.1f}x')} |"
    return (f"| {label} | {fmt(ins)} |{ratio} {fmt(code)} | {fmt(mbytes)} | {fmt(imported)} | "
            f"{fmt(heap)} | {fmt(agree, '{:.0%}')} |")


def _lean_only(write: bool, blob: bytes, compact: bytes, Xt, rf, ref) -> int:
    """--lean-only: the lean rows and code table, replaced in the results file (the other
    rows and the ratio base, the first row, stay)."""
    path = HERE / "RESULTS_micropython.md"
    lines = path.read_text().split("\n")
    base = float(next(ln for ln in lines if ln.startswith("| microlearn_mp native"))
                 .split("|")[2].replace(",", ""))
    blobs = (("compact=False", blob), ("compact (default)", compact))
    new = {}
    code_rows = {}
    for cpu, name, label in (("m4", "Cortex-M4F", "microlearn_mp lean build (--lean --for)"),
                             ("m0", "Cortex-M0", "microlearn_mp lean build (armv6m)")):
        rows, code = _lean_rows(cpu, label, blobs, Xt, rf, ref)
        for r in rows:
            new[r[0]] = _row(*r, base=base if cpu == "m4" else None)
        for layout, held, obj in code:
            code_rows[f"| {name} | {layout} |"] = f"| {name} | {layout} | {held:,} | {obj:,} |"
    for i, ln in enumerate(lines):
        label = ln.split(" | ")[0][2:] if ln.startswith("| ") else None
        if label in new:
            lines[i] = new.pop(label)
        for key, row in code_rows.items():
            if ln.startswith(key):
                lines[i] = row
    if new:
        raise SystemExit(f"rows not in {path.name} (run without --lean-only): {list(new)}")
    text = "\n".join(lines)
    print(text)
    if write:
        path.write_text(text)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--write", action="store_true", help="write benchmarks/RESULTS_micropython.md")
    ap.add_argument("--lean-only", action="store_true",
                    help="measure only the lean build's rows (M4F, M0) and its code table; with "
                         "--write, replace those rows of RESULTS_micropython.md, keep the rest")
    args = ap.parse_args()

    X, y = load_digits(return_X_y=True)
    X = X.astype(np.float32)
    rf = RandomForestClassifier(n_estimators=10, max_depth=10, random_state=0).fit(X[:1000],
                                                                                   y[:1000])
    Xt = X[1000:1020]
    ref = rf.predict(Xt)
    m = microlearn.convert(rf)
    blob = m.to_blob(compact=False)  # the fast node tables
    compact = m.to_blob()            # the default: compact node tables, smaller
    if args.lean_only:
        return _lean_only(args.write, blob, compact, Xt, rf, ref)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        # the module a user of this model builds: `micropython build --for model.mlb`
        native = mp_module.build("armv7emsp", Path(tmp) / "n",
                                 mp_module.family_set(for_model=blob))[0].read_bytes()
        fallback = mp_module.FALLBACK_PY.read_bytes()
        for mode, label, data in (
                ("rom", "microlearn_mp native, load_at (file in flash), compact=False", blob),
                ("file", "microlearn_mp native, load(file), compact=False", blob),
                ("rom", "microlearn_mp native, load_at (file in flash), compact (default)",
                 compact),
                ("file", "microlearn_mp native, load(file), compact (default)", compact)):
            r = mp_bench.run_predict(data, Xt, m.n_outputs, cpu="m4", mode=mode, module=native)
            rows.append((label, r.instructions, len(native), len(data), r.heap_import,
                         r.heap_after_load,
                         float(np.mean(rf.classes_[r.predictions] == ref))))
        # the same native module for Cortex-M0 (armv6m: no FPU, integer-key comparisons)
        m0_rows = []
        native_m0 = mp_module.build("armv6m", Path(tmp) / "m0",
                                    mp_module.family_set(for_model=blob))[0].read_bytes()
        for mode, label, data in (
                ("rom", "microlearn_mp native (armv6m), load_at, compact=False", blob),
                ("file", "microlearn_mp native (armv6m), load(file), compact=False", blob),
                ("file", "microlearn_mp native (armv6m), load(file), compact (default)",
                 compact)):
            r = mp_bench.run_predict(data, Xt, m.n_outputs, cpu="m0", mode=mode,
                                     module=native_m0)
            m0_rows.append((label, r.instructions, len(native_m0), len(data), r.heap_import,
                            r.heap_after_load,
                            float(np.mean(rf.classes_[r.predictions] == ref))))
        # the lean build (issue 9 part 3)
        blobs = (("compact=False", blob), ("compact (default)", compact))
        lean_rows, lean_code = _lean_rows("m4", "microlearn_mp lean build (--lean --for)",
                                          blobs, Xt, rf, ref)
        rows[4:4] = lean_rows
        m0_lean, m0_code = _lean_rows("m0", "microlearn_mp lean build (armv6m)", blobs, Xt,
                                      rf, ref)
        m0_rows += m0_lean
        # the viper engine (issue 14): no C toolchain, after the lean rows
        rows[4 + len(lean_rows):4 + len(lean_rows)] = _viper_rows("m4", blobs, Xt, rf, ref)
        m0_rows += _viper_rows("m0", blobs, Xt, rf, ref)
        files = {"microlearn_mp.py": fallback, "model.mlb": blob, "x.bin": Xt.tobytes()}
        ins, imported, heap, pred = _run_py(files, "import microlearn_mp as ml",
                                            'model = ml.load("model.mlb")', "model")
        rows.append(("microlearn_mp pure-Python fallback", ins, len(fallback), len(blob),
                     imported, heap,
                     float(np.mean(rf.classes_[pred] == ref))))
        try:
            import m2cgen

            code = m2cgen.export_to_python(rf) + M2CGEN_PREDICT
            files = {"m2c_model.py": code.encode(), "x.bin": Xt.tobytes()}
            ins, imported, heap, pred = _run_py(files, "import m2c_model", "pass",
                                                "m2c_model")
            rows.append((f"m2cgen {m2cgen.__version__} Python (source compiled on device)", ins,
                         len(code.encode()), 0, imported, heap,
                         float(np.mean(rf.classes_[pred] == ref))))
        except ImportError:
            rows.append(("m2cgen Python (not installed: run with benchmarks/.venv)", None, None,
                         None, None, None, None))
        except Exception as e:  # e.g. out of memory on the device
            rows.append((f"m2cgen Python: failed on device ({type(e).__name__})", None, None,
                         None, None, None, None))

    base = rows[0][1]

    def fmt(v, spec="{:,.0f}"):
        return "n/a" if v is None else spec.format(v)

    lines = [
        f"MicroPython v1.23 on emulated Cortex-M4F (QEMU mps2-an386), {datetime.date.today()}, "
        f"microlearn {microlearn.__version__}, {platform.machine()}",
        "",
        "| implementation | instructions / predict | x microlearn native | module/code bytes "
        "| model file bytes | heap: import (B) | heap: model load (B) | agreement with sklearn |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, ins, code, mbytes, imported, heap, agree in rows:
        ratio = None if ins is None else ins / base
        lines.append(f"| {label} | {fmt(ins)} | {fmt(ratio, '{:.1f}x')} | {fmt(code)} | "
                     f"{fmt(mbytes)} | {fmt(imported)} | {fmt(heap)} | {fmt(agree, '{:.0%}')} |")
    lines += [
        "",
        "The same native module built for Cortex-M0 (armv6m), emulated (QEMU mps2-an385, "
        "MicroPython v1.23):",
        "",
        "| implementation | instructions / predict | module/code bytes | model file bytes "
        "| heap: import (B) | heap: model load (B) | agreement with sklearn |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, ins, code, mbytes, imported, heap, agree in m0_rows:
        lines.append(f"| {label} | {fmt(ins)} | {fmt(code)} | {fmt(mbytes)} | {fmt(imported)} | "
                     f"{fmt(heap)} | {fmt(agree, '{:.0%}')} |")
    lines += [
        "",
        "Lean build (`microlearn micropython build --lean --for model.mlb`): module bytes are "
        "the engine's `microlearn_mp.mpy`; its loader `microlearn_mp_check.mpy` is imported for "
        "a load only. Heap held by code (import + first load - file - model object):",
        "",
        "| CPU | file layout | code held (B) | model object (B) |",
        "|---|---|---|---|",
    ]
    for cpu, code in (("Cortex-M4F", lean_code), ("Cortex-M0", m0_code)):
        for layout, held, obj in code:
            lines.append(f"| {cpu} | {layout} | {held:,} | {obj:,} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        (HERE / "RESULTS_micropython.md").write_text("# MicroPython benchmark\n\n" + __doc__
                                                     .split("\n\n")[1] + "\n\n" + text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
