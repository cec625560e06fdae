#!/usr/bin/env python3
"""Method "fast" on depth-limited forests whose leaves are mostly impure, against emlearn.

The forests of benchmarks/RESULTS.md have mostly pure leaves; depth-limited forests on
real data have mostly impure ones (every distinct leaf row is a float32 probability row).
This script fits such forests, converts them with microlearn's method ``fast`` and with
emlearn's float inline settings (the same adapters as ``bench_trees.py``), measures each
on Cortex-M4F and Cortex-M0+ with ``microlearn.targets.measure`` and prints the flash,
instructions and agreement with scikit-learn, and the ratios to emlearn's best float
setting (the project's bar: flash <= 0.8x, instructions <= 1.0x on Cortex-M4F).

Run with ``benchmarks/.venv/bin/python benchmarks/bench_trees_impure.py [--only NAME]``
(any other Python re-executes it in benchmarks/.venv). It prints a Markdown table; it
writes no file.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_trees as bt  # noqa: E402


def build_cases(only: str | None) -> list[bt.Case]:
    """The impure-leaf forests (fitted on 70 % of the data, measured on the other 30 %)."""
    import numpy as np
    from sklearn.datasets import load_breast_cancer, load_digits, load_wine, make_classification
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import train_test_split

    five = make_classification(n_samples=2000, n_features=20, n_informative=10, n_classes=5,
                               random_state=0)
    specs = [
        ("RF30 d8 digits", lambda: RandomForestClassifier(30, max_depth=8, random_state=0),
         load_digits(return_X_y=True)),
        ("RF50 d6 synthetic-5c", lambda: RandomForestClassifier(50, max_depth=6, random_state=0),
         five),
        ("RF20 d10 digits", lambda: RandomForestClassifier(20, max_depth=10, random_state=0),
         load_digits(return_X_y=True)),
        ("RF30 d8 wine", lambda: RandomForestClassifier(30, max_depth=8, random_state=0),
         load_wine(return_X_y=True)),
        ("RF30 d8 breast_cancer",
         lambda: RandomForestClassifier(30, max_depth=8, random_state=0),
         load_breast_cancer(return_X_y=True)),
    ]
    cases = []
    for name, make, (X, y) in specs:
        if only and only.lower() not in name.lower():
            continue
        X_tr, X_te, y_tr, _ = train_test_split(X, y, train_size=0.7, random_state=0)
        est = make().fit(X_tr, y_tr)
        X_te = np.ascontiguousarray(X_te, dtype=np.float32)
        ref = np.searchsorted(est.classes_, est.predict(X_te))
        cases.append(bt.Case(name, est, "classifier", X_te, ref, X.shape[1],
                             len(est.classes_)))
    return cases


def main() -> None:
    bt._ensure_venv()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="run the models whose name contains this")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--targets", default=",".join(bt.TARGETS))
    args = ap.parse_args()
    import microlearn
    from microlearn import targets

    tnames = args.targets.split(",")
    cases = build_cases(args.only)
    tasks = []
    for case in cases:
        ml = microlearn.convert(case.estimator, method="fast")
        variants = [bt.Variant("microlearn", "fast", ml.c_source(bt.PREFIX), model=ml)]
        variants += [v for v in bt.emlearn_variants(case) if "float" in v.setting]
        tasks += [(case, v, t) for v in variants for t in tnames]

    def run(task):
        case, v, t = task
        try:
            return task, targets.measure(t, v.header, bt.PREFIX, case.kind, case.X_test,
                                         n_outputs=case.n_outputs,
                                         n_features=case.n_features, timeout=600)
        except Exception as exc:  # reported, the others go on
            return task, exc

    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(run, tasks))
    print("| model | tool | setting | target | flash B | instr/inference | agreement % |")
    print("|---|---|---|---|---:|---:|---:|")
    best: dict[tuple[str, str], tuple[int, float]] = {}
    mine: dict[tuple[str, str], tuple[int, float]] = {}
    for (case, v, t), r in results:
        if isinstance(r, Exception):
            print(f"| {case.name} | {v.tool} | {v.setting} | {t} | error: {r} | | |")
            continue
        agree = 100.0 * float((r.outputs == case.reference).mean())
        print(f"| {case.name} | {v.tool} | {v.setting} | {t} | {r.flash_bytes:,} | "
              f"{r.instructions_mean:,.0f} | {agree:.1f} |")
        key = (case.name, t)
        if v.tool == "emlearn":
            f, i = best.get(key, (1 << 60, float("inf")))
            best[key] = (min(f, r.flash_bytes), min(i, r.instructions_mean))
        else:
            mine[key] = (r.flash_bytes, r.instructions_mean)
    print()
    for key, (f, i) in sorted(mine.items()):
        if key in best:
            bf, bi = best[key]
            print(f"{key[0]} {key[1]}: fast {f:,} B / {i:,.0f} instr = "
                  f"{f / bf:.2f}x flash, {i / bi:.2f}x instructions of emlearn's best float")


if __name__ == "__main__":
    main()
