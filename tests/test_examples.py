"""The README's main job (examples/quickstart.py) keeps working."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quickstart(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "examples" / "quickstart.py"), "--out",
                        str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "OK: the C agrees with scikit-learn" in r.stdout
    assert r.stdout.count("class agreement with sklearn 100.00%") == 2
    assert "cortex-m4f" in r.stdout
    assert (tmp_path / "digits_rf_loadable.h").is_file()
