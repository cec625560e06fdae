#!/usr/bin/env bash
# Create benchmarks/.venv with the pinned peers (emlearn, m2cgen) and microlearn from this repo.
# Usage: bash benchmarks/setup.sh   (from anywhere; needs python3 >= 3.10 with venv)
# The C toolchains (gcc, arm-none-eabi-gcc, qemu-system-arm) come from scripts/setup.sh.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
python="${PYTHON:-python3}"
if [ ! -x "$here/.venv/bin/python" ]; then
    "$python" -m venv "$here/.venv"
fi
"$here/.venv/bin/python" -m pip install -q --upgrade pip
"$here/.venv/bin/python" -m pip install -q \
    "emlearn==0.23.2" "m2cgen==0.10.0" numpy scikit-learn pyelftools  # pyelftools: MicroPython module builds
# mpy-cross (.mpy v6.3): the viper engine rows of bench_micropython.py
"$here/.venv/bin/python" -m pip install -q "mpy-cross-v6.3==1.1.1"
# XGBoost / LightGBM models of bench_families.py (skipped there when missing)
"$here/.venv/bin/python" -m pip install -q "xgboost-cpu>=2.0" "lightgbm>=4.0"
"$here/.venv/bin/python" -m pip install -q -e "$repo"
"$here/.venv/bin/python" - <<'PY'
import emlearn, m2cgen, numpy, sklearn, microlearn
print("benchmarks/.venv:", "emlearn", emlearn.__version__ if hasattr(emlearn, "__version__") else "?",
      "m2cgen", m2cgen.__version__, "numpy", numpy.__version__,
      "scikit-learn", sklearn.__version__, "microlearn", microlearn.__version__)
PY
