"""Test tooling (not shipped): the C model-file loader and dispatcher (``ml_model.h``)
compiled for this host, called on numpy batches."""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np

from microlearn import host_build

SOURCE = Path(__file__).resolve().parent / "ml_host_blob.c"
METHODS = ("predict", "predict_proba", "decision_function", "score_samples", "regress",
           "transform")
INFO = ("task", "n_features", "n_outputs", "n_decision", "has_proba", "has_score_samples",
        "scratch_floats", "n_steps")


class BlobRunner:
    """Load and run model files with the C runtime (every family ml_model.h includes)."""

    def __init__(self) -> None:
        so = host_build._compile(SOURCE, None, (), includes=(host_build.RUNTIME_DIR,))
        lib = host_build._load(so)
        lib.mlhost_blob_load.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p]
        lib.mlhost_blob_load.restype = ctypes.c_int32
        f32 = np.ctypeslib.ndpointer(dtype=np.float32, flags="C_CONTIGUOUS")
        i32 = np.ctypeslib.ndpointer(dtype=np.int32, flags="C_CONTIGUOUS")
        lib.mlhost_blob_run.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.c_int32, f32,
                                        ctypes.c_int64, ctypes.c_int32, f32, ctypes.c_int32,
                                        i32]
        lib.mlhost_blob_run.restype = ctypes.c_int32
        self._lib = lib

    @staticmethod
    def _aligned(blob: bytes) -> np.ndarray:
        buf = np.zeros((len(blob) + 7) // 8, dtype=np.uint64)  # 8-byte aligned copy
        buf.view(np.uint8)[: len(blob)] = np.frombuffer(blob, dtype=np.uint8)
        return buf

    def load(self, blob: bytes) -> int:
        """Validate ``blob`` with the C loader: 0 or its negative error code."""
        buf = self._aligned(blob)
        return int(self._lib.mlhost_blob_load(buf.ctypes.data, len(blob), None))

    def info(self, blob: bytes) -> dict[str, int]:
        """What the loaded model computes (raises on a load error)."""
        buf = self._aligned(blob)
        info = np.zeros(8, dtype=np.int32)
        status = self._lib.mlhost_blob_load(buf.ctypes.data, len(blob), info.ctypes.data)
        if status != 0:
            raise ValueError(f"C loader error {status}")
        return dict(zip(INFO, (int(v) for v in info), strict=True))

    def call(self, blob: bytes, method: str, X: np.ndarray, width: int = 1
             ) -> tuple[int, np.ndarray]:
        """(status, result) of ``method`` on every row of X (predict: int32 (n,);
        others: float32 (n, width))."""
        buf = self._aligned(blob)
        X = np.ascontiguousarray(X, dtype=np.float32)
        out = np.zeros((X.shape[0], width), dtype=np.float32)
        cls = np.full(X.shape[0], -99, dtype=np.int32)
        status = self._lib.mlhost_blob_run(buf.ctypes.data, len(blob), METHODS.index(method),
                                           X, X.shape[0], X.shape[1], out, width, cls)
        return int(status), (cls if method == "predict" else out)

    def run(self, blob: bytes, X: np.ndarray, n_outputs: int
            ) -> tuple[int, np.ndarray, np.ndarray]:
        """Trees-era helper: (status, outputs (n, n_outputs), predicted classes (n,))."""
        info = self.info(blob)
        if info["task"] == 0:
            s1, cls = self.call(blob, "predict", X)
            s2, out = self.call(blob, "predict_proba", X, n_outputs)
            return (s1 or s2), out, cls
        s, out = self.call(blob, "regress", X, n_outputs)
        return s, out, np.full(len(X), -1, dtype=np.int32)
