"""Build the browser demo (docs/demo/index.md): models converted by microlearn, their
generated C compiled to WebAssembly, and each model's footprint per microcontroller.

    python scripts/build_demo.py OUT_DIR [--estimate]

writes into OUT_DIR: ``models.json`` (the models: classes, feature names, footprint table,
the wasm file), one ``<id>.wasm`` per model (the generated header + demo/wasm/glue.c,
compiled by ``clang --target=wasm32 -nostdlib``, linked by ``wasm-ld``), one
``<id>_sample.csv`` of held-out rows per model, and the page's ``demo.js`` / ``demo.css``.

It is also an mkdocs hook (mkdocs.yml ``hooks:``): after every site build it writes the
demo into ``<site>/demo/``, so the site always carries a demo built from the current
code (nothing generated is committed). Footprints are measured (cross-compiled, run in
QEMU) where the toolchains exist, else estimated; measurements are cached by the
generated C's hash in microlearn's cache folder.

Needs clang and lld (Debian: ``clang lld``; scripts/setup.sh installs them).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "demo"                  # demo.js, demo.css, wasm/ (glue and libc shims)
WASM_FLAGS = ("--target=wasm32", "-std=c99", "-O2", "-ffp-contract=off", "-nostdlib",
              "-ffreestanding", "-Wall", "-Wextra", "-Wpedantic", "-Wconversion",
              "-Wdouble-promotion", "-Werror")
FOOTPRINT_ROWS = 100                    # held-out rows the instruction counts run over
WASM_LDFLAGS = ("-Wl,--no-entry", "-Wl,--export=__heap_base", "-Wl,-z,stack-size=65536")


@dataclass
class DemoModel:
    """One model of the demo: the fitted estimator and its held-out rows."""

    id: str
    title: str
    dataset: str
    estimator: Any
    X_test: np.ndarray
    drawable: bool                        # 8x8 digits: the page offers the drawing pad


def train_models() -> list[DemoModel]:
    """The demo's models: three on scikit-learn's 8x8 digits (drawable), one on iris."""
    from sklearn.datasets import load_digits, load_iris
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    Xd, yd = load_digits(return_X_y=True)
    Xd_tr, Xd_te, yd_tr, _ = train_test_split(Xd, yd, test_size=0.25, random_state=0)
    iris = load_iris(as_frame=True)
    Xi, yi = iris.data, iris.target_names[iris.target]
    Xi_tr, Xi_te, yi_tr, _ = train_test_split(Xi, yi, test_size=0.3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")            # convergence warnings of the small nets
        rf = RandomForestClassifier(n_estimators=10, max_depth=8, random_state=0)
        lr = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
        mlp = MLPClassifier(hidden_layer_sizes=(32,), max_iter=400, random_state=0)
        tree = RandomForestClassifier(n_estimators=10, max_depth=4, random_state=0)
        return [
            DemoModel("digits_forest", "Random forest, 10 trees (digits 8x8)", "digits",
                      rf.fit(Xd_tr, yd_tr), Xd_te, True),
            DemoModel("digits_logistic", "Scaler + logistic regression (digits 8x8)",
                      "digits", lr.fit(Xd_tr, yd_tr), Xd_te, True),
            DemoModel("digits_mlp", "MLP, 32 hidden units (digits 8x8)", "digits",
                      mlp.fit(Xd_tr, yd_tr), Xd_te, True),
            DemoModel("iris_forest", "Random forest, 10 trees (iris)", "iris",
                      tree.fit(Xi_tr, yi_tr), Xi_te.to_numpy(), False),
        ]


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"the browser demo needs {name!r} (Debian/Ubuntu: apt-get install "
                           "clang lld; scripts/setup.sh installs both)")
    return path


def compile_wasm(model: Any, out: Path) -> Path:
    """Compile ``model``'s generated C with demo/wasm/glue.c to ``out`` (WebAssembly)."""
    clang = _tool("clang")
    _tool("wasm-ld")
    with tempfile.TemporaryDirectory(prefix="microlearn-demo-") as tmp:
        (Path(tmp) / "model.h").write_text(model.c_source("model"))
        defines = ["-DDEMO_HAS_PROBA"] if hasattr(model, "predict_proba") else []
        cmd = [clang, *WASM_FLAGS, f"-I{SOURCES / 'wasm'}", f"-I{tmp}", *defines,
               str(SOURCES / "wasm" / "glue.c"), str(SOURCES / "wasm" / "libc.c"),
               *WASM_LDFLAGS, "-o", str(out)]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"compiling {out.name} failed ({' '.join(cmd)}):\n"
                               f"{r.stderr[-4000:]}")
    return out


def footprints(model: Any, X: np.ndarray, estimate: bool) -> list[dict]:
    """The footprint table of ``model`` (one row per microcontroller target), measured
    where possible; measurements are cached by the generated C's hash and the rows."""
    from microlearn import host_build, targets

    key = hashlib.sha256(model.c_source("model").encode() + np.ascontiguousarray(
        X, dtype=np.float32).tobytes() + str(estimate).encode()).hexdigest()[:24]
    cache = host_build.cache_dir() / "demo" / f"footprint-{key}.json"
    if cache.exists():
        return json.loads(cache.read_text())
    from concurrent.futures import ThreadPoolExecutor

    from microlearn.errors import MicrolearnError

    def one(t: str) -> dict:
        try:
            r = model.footprint(t, X, estimate=estimate)
        except MicrolearnError as e:    # e.g. too large to link for the target's memory
            lines = str(e).strip().splitlines()
            why = next((ln for ln in lines if "will not fit" in ln or "overflow" in ln),
                       lines[0])[:200]
            return {"target": t, "flash_bytes": None, "ram_bytes": None, "stack_bytes": None,
                    "instructions": None, "estimated": estimate, "fails": True,
                    "note": f"does not build for {t}: {why}"}
        return {"target": t, "flash_bytes": r.flash_bytes, "ram_bytes": r.ram_bytes,
                "stack_bytes": r.stack_bytes, "instructions": r.instructions,
                "estimated": r.estimated, "fails": False, "note": r.note}

    names = [t for t, spec in targets.TARGETS.items() if spec.runs]   # not the host
    with warnings.catch_warnings():      # rows without column names: nothing to check
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        with ThreadPoolExecutor(max_workers=2) as pool:   # QEMU runs are single-threaded
            rows = list(pool.map(one, names))
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(rows))
    os.replace(tmp, cache)                 # atomic: concurrent builds never read half a file
    return rows


def _labels(values: Any) -> list[str]:
    return [str(v) for v in np.asarray(values).tolist()]


def build(out: Path, *, estimate: bool = False, log: Any = print,
          models: list[DemoModel] | None = None) -> dict:
    """Build the demo into ``out`` and return the content of ``models.json``.

    Parameters
    ----------
    out : Path
        Output folder (created).
    estimate : bool
        Estimate the footprints instead of measuring them (faster; no QEMU).
    log : callable
        Progress messages.
    models : list of DemoModel, optional
        The models (default: :func:`train_models`).
    """
    import microlearn

    out.mkdir(parents=True, exist_ok=True)
    entries = []
    for dm in models if models is not None else train_models():
        model = microlearn.convert(dm.estimator)
        wasm = compile_wasm(model, out / f"{dm.id}.wasm")
        X = np.asarray(dm.X_test, dtype=np.float32)[:FOOTPRINT_ROWS]
        sample = out / f"{dm.id}_sample.csv"
        names = model.signature.feature_names
        header = ",".join(names) + "\n" if names is not None else ""
        sample.write_text(header + "\n".join(",".join(f"{v:g}" for v in row)
                                              for row in X[:20]) + "\n")
        entries.append({
            "id": dm.id, "title": dm.title, "dataset": dm.dataset, "drawable": dm.drawable,
            "wasm": wasm.name, "sample_csv": sample.name,
            "n_features": model.n_features, "classes": _labels(model.classes_),
            "feature_names": None if names is None else list(names),
            "has_proba": hasattr(model, "predict_proba"),
            "describe": model._describe_line(), "data_bytes": model.data_bytes,
            "wasm_bytes": wasm.stat().st_size,
            "footprint": footprints(model, X, estimate),
        })
        log(f"demo: {dm.id}: {wasm.name} ({wasm.stat().st_size:,} bytes)")
    manifest = {"microlearn": microlearn.__version__, "models": entries}
    (out / "models.json").write_text(json.dumps(manifest, indent=1))
    for name in ("demo.js", "demo.css"):
        shutil.copyfile(SOURCES / name, out / name)
    return manifest


def on_post_build(config: Any, **kwargs: Any) -> None:
    """mkdocs hook: the demo's generated files into ``<site>/demo/``."""
    import logging

    build(Path(config["site_dir"]) / "demo", log=logging.getLogger("mkdocs").info)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("out", type=Path, help="output folder")
    p.add_argument("--estimate", action="store_true",
                   help="estimate footprints instead of measuring them in QEMU")
    args = p.parse_args(argv)
    try:
        build(args.out, estimate=args.estimate)
    except RuntimeError as e:
        print(f"build_demo: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
