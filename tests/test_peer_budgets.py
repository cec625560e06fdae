"""Budgets against the peers: microlearn's measured figures (QEMU instruction counts and
flash are deterministic) must beat the peers' figures recorded by the benchmark in the same
harness (benchmarks/RESULTS.md, written by benchmarks/bench_trees.py), by the project's
bars: flash <= 0.8x and instructions <= 1.0x emlearn's best setting, on the models where
RESULTS.md reports the bar as met."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, make_classification
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier, RandomForestRegressor
from sklearn.model_selection import train_test_split
from sklearn.tree import DecisionTreeClassifier

import microlearn
from microlearn import targets

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "RESULTS.md"


def _peer_best(model: str, tool: str, setting: str = "") -> tuple[int, int]:
    """(smallest flash M4F, fewest instructions M4F) over the peer's settings (those whose
    setting contains ``setting``)."""
    flash, instr = [], []
    for line in RESULTS.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if (len(cells) > 8 and cells[0].startswith(model + " (") and cells[1] == tool
                and setting in cells[2]):
            flash.append(int(cells[4].replace(",", "")))
            instr.append(float(cells[8].replace(",", "")))
    assert flash, f"no {tool} rows for {model} in {RESULTS.name}"
    return min(flash), int(min(instr))


@pytest.mark.parametrize("name,make", [
    ("RF digits", lambda: RandomForestClassifier(n_estimators=10, max_depth=10, random_state=0)),
    ("DT digits", lambda: DecisionTreeClassifier(random_state=0)),
])
def test_trees_beat_emlearn_on_m4f(name, make):
    reason = targets.unavailable_reason("cortex-m4f")
    if reason:
        pytest.skip(f"toolchain missing: {reason}")
    X, y = load_digits(return_X_y=True)
    X_tr, X_te, y_tr, _ = train_test_split(X, y, train_size=0.7, random_state=0)
    est = make().fit(X_tr, y_tr)
    X_te = np.ascontiguousarray(X_te, dtype=np.float32)
    small = microlearn.convert(est, method="loadable").footprint("cortex-m4f", X_te)
    fast = microlearn.convert(est, method="inline").footprint("cortex-m4f", X_te)
    peer_flash, peer_instr = _peer_best(name, "emlearn")
    assert not small.estimated and not fast.estimated
    assert small.flash_bytes <= 0.8 * peer_flash, (small.flash_bytes, peer_flash)
    assert fast.instructions <= 1.0 * peer_instr, (fast.instructions, peer_instr)


FOREST = dict(n_estimators=10, max_depth=10, random_state=0)


@pytest.mark.parametrize("name,data,make", [
    ("RF digits", load_digits, lambda: RandomForestClassifier(**FOREST)),
    ("DT digits", load_digits, lambda: DecisionTreeClassifier(random_state=0)),
    ("RF breast_cancer", load_breast_cancer, lambda: RandomForestClassifier(**FOREST)),
    ("DT breast_cancer", load_breast_cancer, lambda: DecisionTreeClassifier(random_state=0)),
    ("ET synthetic-20f",
     lambda return_X_y: make_classification(n_samples=2000, n_features=20, random_state=0),
     lambda: ExtraTreesClassifier(n_estimators=10, random_state=0)),
    ("RFR diabetes", load_diabetes, lambda: RandomForestRegressor(**FOREST)),
])
def test_fast_method_alone_beats_emlearn_float_on_m4f(name, data, make):
    """Method "fast" meets both bars at once (the benchmark's models and test rows):
    flash <= 0.8x and instructions <= 1.0x emlearn's best dtype='float' setting."""
    reason = targets.unavailable_reason("cortex-m4f")
    if reason:
        pytest.skip(f"toolchain missing: {reason}")
    X, y = data(return_X_y=True)
    X_tr, X_te, y_tr, _ = train_test_split(X, y, train_size=0.7, random_state=0)
    est = make().fit(X_tr, y_tr)
    X_te = np.ascontiguousarray(X_te, dtype=np.float32)
    fp = microlearn.convert(est, method="fast").footprint("cortex-m4f", X_te)
    peer_flash, peer_instr = _peer_best(name, "emlearn", setting="float")
    assert not fp.estimated
    assert fp.flash_bytes <= 0.8 * peer_flash, (fp.flash_bytes, peer_flash)
    assert fp.instructions <= 1.0 * peer_instr, (fp.instructions, peer_instr)
