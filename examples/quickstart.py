"""End-to-end: train on scikit-learn's digits, convert to C, verify the C on this host,
save the header, report flash / RAM / instructions on Cortex-M4F and M0+ (measured in QEMU
when the cross toolchain is installed, else estimated).

    .venv/bin/python examples/quickstart.py [--out build/quickstart]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_diabetes, load_digits
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

import microlearn


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default="build/quickstart", help="folder for the C headers")
    out = Path(ap.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)

    X, y = load_digits(return_X_y=True)
    X = X.astype(np.float32)
    Xtr, ytr, Xte, yte = X[:1000], y[:1000], X[1000:], y[1000:]
    rf = RandomForestClassifier(n_estimators=10, max_depth=10, random_state=0).fit(Xtr, ytr)
    print(f"trained {rf} on digits: {len(Xtr)} rows; sklearn test accuracy "
          f"{(rf.predict(Xte) == yte).mean():.3f}")

    ok = True
    for method in ("fast", "loadable", "inline"):  # "fast" is the default
        t0 = time.perf_counter()
        m = microlearn.convert(rf, method=method)
        header = m.save(out / f"digits_rf_{method}.h", name="digits_rf")
        t1 = time.perf_counter()
        pred = m.predict(Xte)  # computed by the generated C, compiled on this host
        agree = float((pred == rf.predict(Xte)).mean())
        dproba = float(np.abs(m.predict_proba(Xte) - rf.predict_proba(Xte)).max())
        ok &= agree == 1.0
        print(f"\n[{method}] wrote {header} ({header.stat().st_size:,} bytes of C) "
              f"in {t1 - t0:.2f} s")
        print(m.describe())
        print(f"  verified on host: class agreement with sklearn {agree:.2%} on {len(Xte)} rows, "
              f"max |proba difference| {dproba:.2e} (float32 rounding)")
        for target in ("cortex-m4f", "cortex-m0plus"):
            r = m.footprint(target, Xte[:100])  # measured in QEMU when the tools are there
            print(f"  {target:13}: {r.flash_bytes:,} B flash, {r.ram_bytes} B RAM, "
                  f"{r.instructions:,.0f} instructions/inference "
                  f"({'estimated' if r.estimated else 'measured'}: {r.note})")

    Xd, yd = load_diabetes(return_X_y=True)
    reg = RandomForestRegressor(n_estimators=10, max_depth=8, random_state=0).fit(Xd, yd)
    mr = microlearn.convert(reg)
    mr.save(out / "diabetes_rf.h", name="diabetes_rf")
    diff = float(np.abs(mr.predict(Xd) - reg.predict(Xd.astype(np.float32))).max())
    print(f"\n[regression] diabetes RandomForestRegressor: max |C - sklearn| = {diff:.2e} "
          f"(outputs up to {np.abs(yd).max():.0f}); {mr.data_bytes:,} bytes of tables")
    print("\nOK: the C agrees with scikit-learn" if ok else "\nMISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
