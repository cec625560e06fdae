"""Arduino Uno (ATmega328P) figures of docs/getting_started/arduino.md: flash, RAM, stack
and clock cycles per inference measured with avr-gcc + simavr (``footprint("atmega328p")``),
and the static RAM the same headers take with their tables in RAM (``ML_NO_PROGMEM``, the
state before tables moved to program memory).

    .venv/bin/python benchmarks/bench_avr.py      # needs gcc-avr avr-libc simavr libsimavr-dev
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.datasets import load_digits, load_iris
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import microlearn
from microlearn import avr, targets


def main() -> None:
    warnings.filterwarnings("ignore")
    Xi, yi = load_iris(return_X_y=True)
    Xd, yd = load_digits(return_X_y=True)
    Xi, Xd = Xi.astype(np.float32), Xd.astype(np.float32)
    models = [
        ("iris RF 5 trees depth 5", RandomForestClassifier(5, max_depth=5, random_state=0)
         .fit(Xi, yi), Xi, ("fast", "loadable", "inline")),
        ("iris GradientBoosting 10 rounds", GradientBoostingClassifier(
            n_estimators=10, random_state=0).fit(Xi, yi), Xi, ("fast", "loadable")),
        ("iris LogisticRegression", LogisticRegression(max_iter=500).fit(Xi, yi), Xi, (None,)),
        ("iris GaussianNB", GaussianNB().fit(Xi, yi), Xi, (None,)),
        ("digits RF 10 trees depth 6", RandomForestClassifier(10, max_depth=6, random_state=0)
         .fit(Xd, yd), Xd[:200], ("fast", "loadable")),
        ("digits scaler + LogisticRegression", make_pipeline(
            StandardScaler(), LogisticRegression(max_iter=300)).fit(Xd, yd), Xd[:200], (None,)),
    ]
    print(f"| model | method | flash B | RAM B | RAM B, tables in RAM | stack B | "
          f"cycles mean (max) | us @ {avr.CLOCK_HZ // 1_000_000} MHz |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for name, est, X, methods in models:
        for method in methods:
            m = microlearn.convert(est, **({"method": method} if method else {}))
            fp = m.footprint("atmega328p", X)
            assert m.verify_on_target("atmega328p", X).ok
            try:
                old = targets.footprint(
                    "atmega328p", "#define ML_NO_PROGMEM 1\n" + m.c_source(), "model",
                    m.kind, n_outputs=m.n_outputs, n_features=m.n_features).ram_bytes
                old_ram = f"{old:,}"
            except targets.UnsupportedOnTargetError:
                old_ram = "> 2,048 (does not link)"
            us = fp.instructions / (avr.CLOCK_HZ / 1e6)
            print(f"| {name} | {method or '-'} | {fp.flash_bytes:,} | {fp.ram_bytes} | "
                  f"{old_ram} | {fp.stack_bytes} | {fp.instructions:,.0f} "
                  f"({fp.instructions_max:,}) | {us:,.0f} |")


if __name__ == "__main__":
    main()
