import os
import sys
from pathlib import Path

# Keras 3 runs on the jax backend in the tests (never TensorFlow); set before keras imports
os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

sys.path.insert(0, str(Path(__file__).resolve().parent))
