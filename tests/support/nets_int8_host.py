"""Test helper: compile an int8 NetIR's generated C on the host and run it over rows.

Writes the body from ``microlearn.families.nets.c_int8`` plus a row loop into a C file,
compiles it with the strict host flags (``microlearn.host_build.load_c_source``) and calls
it with ctypes. Test tooling, not shipped.
"""

from __future__ import annotations

import ctypes
import hashlib
import tempfile
from pathlib import Path

import numpy as np

from microlearn.families.nets.c_int8 import c_body_int8
from microlearn.families.nets.ir import NetIR
from microlearn.host_build import RUNTIME_DIR, load_c_source

_DIR = Path(tempfile.gettempdir()) / "microlearn-nets-int8"


def c_source(ir: NetIR, prefix: str = "m") -> str:
    """A complete C file: the runtime header, the model body and ``shim_run``."""
    body, _ = c_body_int8(ir, prefix)
    return (f'#include "{RUNTIME_DIR / "ml_nets_int8.h"}"\n{body}\n'
            "int32_t shim_run(const float *x, int64_t n, int32_t n_in, float *y, "
            "int32_t n_out);\n"
            "int32_t shim_run(const float *x, int64_t n, int32_t n_in, float *y, "
            "int32_t n_out)\n{\n    int64_t i;\n    for (i = 0; i < n; i++) {\n"
            f"        {prefix}__run(x + i * n_in, y + i * n_out);\n    }}\n    return 0;\n}}\n")


def compile_int8(ir: NetIR):
    """Compile the int8 C of ``ir``; returns ``run(X) -> (n, n_outputs) float32``."""
    src = c_source(ir)
    _DIR.mkdir(parents=True, exist_ok=True)
    path = _DIR / f"net_{hashlib.sha256(src.encode()).hexdigest()[:16]}.c"
    if not path.exists():
        path.write_text(src)
    lib = load_c_source(path)
    f32 = np.ctypeslib.ndpointer(dtype=np.float32, flags="C_CONTIGUOUS")
    fn = lib.shim_run
    fn.argtypes = [f32, ctypes.c_int64, ctypes.c_int32, f32, ctypes.c_int32]
    fn.restype = ctypes.c_int32
    n_in = ir.tensors[ir.input].size
    n_out = ir.tensors[ir.output].size

    def run(X: np.ndarray) -> np.ndarray:
        X = np.ascontiguousarray(X, np.float32).reshape(-1, n_in)
        Y = np.empty((X.shape[0], n_out), np.float32)
        fn(X, X.shape[0], n_in, Y, n_out)
        return Y

    return run
