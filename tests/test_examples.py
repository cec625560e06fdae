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
    assert r.stdout.count("class agreement with sklearn 100.00%") == 3
    # probabilities of the three methods: the mean of 10 trees' float32 rows (printed with 3
    # significant digits: 1% slack for the printing)
    dproba = [float(v) for v in re.findall(r"max \|proba difference\| ([0-9.e+-]+)", r.stdout)]
    assert len(dproba) == 3
    assert max(dproba) <= 1.01 * mean_tolerance(10, 1.0), dproba
    # regression: 10 trees, leaf values at most max |y|
    diff = float(re.search(r"max \|C - sklearn\| = ([0-9.e+-]+)", r.stdout).group(1))
    _, yd = load_diabetes(return_X_y=True)
    assert diff <= 1.01 * mean_tolerance(10, float(abs(yd).max())), diff
    assert "cortex-m4f" in r.stdout
    for method in ("fast", "loadable", "inline"):
        assert (tmp_path / f"digits_rf_{method}.h").is_file()


def test_pipeline_example(tmp_path):
    """examples/pipeline.py: StandardScaler -> PCA -> SVC as one header, one model file and
    one MicroPython object, all agreeing with scikit-learn."""
    r = subprocess.run([sys.executable, str(ROOT / "examples" / "pipeline.py"), "--out",
                        str(tmp_path)], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "host C: class agreement with sklearn 100.00%" in r.stdout
    assert "MicroPython (unix port, native module): class agreement with sklearn 100.00%" \
        in r.stdout
    assert "OK: the C and MicroPython agree" in r.stdout
    d = float(re.search(r"max \|decision_function difference\| ([0-9.e+-]+)", r.stdout).group(1))
    assert d < 1e-5  # the svm family's per-row bound is asserted in tests/families/test_svm.py
    assert (tmp_path / "wine.h").is_file() and (tmp_path / "wine.mlb").is_file()
