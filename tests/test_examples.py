"""The README's main job (examples/quickstart.py) keeps working: classes agree with
scikit-learn, probabilities and regression outputs within the float32 tolerance."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from parity import mean_tolerance
from sklearn.datasets import load_diabetes

ROOT = Path(__file__).resolve().parent.parent


def test_quickstart(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "examples" / "quickstart.py"), "--out",
                        str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "OK: the C agrees with scikit-learn" in r.stdout
    assert r.stdout.count("class agreement with sklearn 100.00%") == 2
    # probabilities of both methods: the mean of 10 trees' float32 rows (printed with 3
    # significant digits: 1% slack for the printing)
    dproba = [float(v) for v in re.findall(r"max \|proba difference\| ([0-9.e+-]+)", r.stdout)]
    assert len(dproba) == 2
    assert max(dproba) <= 1.01 * mean_tolerance(10, 1.0), dproba
    # regression: 10 trees, leaf values at most max |y|
    diff = float(re.search(r"max \|C - sklearn\| = ([0-9.e+-]+)", r.stdout).group(1))
    _, yd = load_diabetes(return_X_y=True)
    assert diff <= 1.01 * mean_tolerance(10, float(abs(yd).max())), diff
    assert "cortex-m4f" in r.stdout
    assert (tmp_path / "digits_rf_loadable.h").is_file()
