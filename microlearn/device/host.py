"""Run a model file on the host with the C runtime (``ml_model.h``), the reference side of
``microlearn device run``: the file installed on the device is the file run here."""

from __future__ import annotations

import ctypes
import re
from pathlib import Path

import numpy as np

from microlearn import blob as blob_format
from microlearn import host_build

__all__ = ["METHODS", "TASKS", "HostModel"]

SOURCE = Path(__file__).resolve().parent / "host_runner.c"
#: Model methods in the order of ``mldev_run``'s method index.
METHODS = ("predict", "predict_proba", "decision_function", "score_samples", "regress",
           "transform")
#: ``ML_TASK_*`` codes of ``ml_common.h``.
TASKS = ("classifier", "regressor", "outlier_detector", "transformer")

_LIBS: dict[tuple[int, ...], ctypes.CDLL] = {}


def _families() -> dict[int, str]:
    """Section id -> family name, from ml_model.h's default ``ML_MODEL_FAMILIES`` list."""
    text = (host_build.RUNTIME_DIR / "ml_model.h").read_text()
    line = re.search(r"#define ML_MODEL_FAMILIES\(X\)(.*)", text)
    pairs = re.findall(r"X\((\d+), (\w+)\)", line.group(1) if line else "")
    return {int(i): name for i, name in pairs}


def _lib(family_ids: tuple[int, ...] = ()) -> ctypes.CDLL:
    """The runner compiled with only the given families (all if empty or unknown): a model
    file's families compile in seconds, all of them take much longer."""
    known = _families()
    ids = tuple(sorted(set(family_ids)))
    if not ids or any(i not in known for i in ids):
        ids = ()
    if ids not in _LIBS:
        defines: tuple[str, ...] = ()
        if ids:
            listed = " ".join(f"X({i}, {known[i]})" for i in ids)
            defines = (f"ML_MODEL_FAMILIES(X)={listed}",)
        so = host_build._compile(SOURCE, None, defines, includes=(host_build.RUNTIME_DIR,))
        lib = host_build._load(so)
        lib.mldev_model_size.argtypes = []
        lib.mldev_model_size.restype = ctypes.c_int64
        lib.mldev_load.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                                   ctypes.c_void_p]
        lib.mldev_load.restype = ctypes.c_int32
        lib.mldev_run.argtypes = [ctypes.c_void_p, ctypes.c_int32, ctypes.c_void_p,
                                  ctypes.c_int64, ctypes.c_void_p, ctypes.c_int32,
                                  ctypes.c_void_p, ctypes.c_void_p]
        lib.mldev_run.restype = ctypes.c_int32
        _LIBS[ids] = lib
    return _LIBS[ids]


class HostModel:
    """A model file loaded by the C runtime compiled for this host.

    Parameters
    ----------
    blob : bytes
        The model file's contents (``Model.save_blob``).

    Raises
    ------
    ValueError
        The C loader rejects the file (its error code is in the message).
    """

    def __init__(self, blob: bytes) -> None:
        try:
            sections = blob_format.read(blob)
        except ValueError as e:
            raise ValueError(f"not a valid model file: {e}") from None
        lib = _lib(tuple(int(sec["family_id"]) for sec in sections))
        self._lib = lib
        self._blob = np.zeros((len(blob) + 7) // 8, dtype=np.uint64)  # 8-byte aligned
        self._blob.view(np.uint8)[: len(blob)] = np.frombuffer(blob, dtype=np.uint8)
        self._model = np.zeros((int(lib.mldev_model_size()) + 7) // 8, dtype=np.uint64)
        info = np.zeros(5, dtype=np.int32)
        status = lib.mldev_load(self._model.ctypes.data, self._blob.ctypes.data, len(blob),
                                info.ctypes.data)
        if status != 0:
            raise ValueError(f"model file rejected by the C loader (error code {status})")
        task, self.n_features, self.n_outputs, self.n_decision, scratch = (int(v) for v in info)
        self.task = TASKS[task] if 0 <= task < len(TASKS) else str(task)
        self._scratch = np.zeros(max(1, scratch), dtype=np.float32)

    def default_method(self) -> str:
        """``predict`` for classifiers and outlier detectors, ``regress`` for regressors,
        ``transform`` for transformers."""
        return {"regressor": "regress", "transformer": "transform"}.get(self.task, "predict")

    def width(self, method: str) -> int:
        """Values per row that ``method`` returns (1 for ``predict``)."""
        if method in ("predict", "score_samples"):
            return 1
        if method == "decision_function":
            return self.n_decision
        return self.n_outputs

    def run(self, method: str, X: np.ndarray) -> np.ndarray:
        """``method`` on every row of ``X``.

        Parameters
        ----------
        method : str
            One of :data:`METHODS`.
        X : array of shape (n_rows, n_features)
            Converted to float32.

        Returns
        -------
        numpy.ndarray
            ``predict``: int32 of shape (n_rows,); others float32 of shape
            (n_rows, width(method)).

        Raises
        ------
        ValueError
            Unknown method, wrong number of features, or the runtime's error code.
        """
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, not {method!r}")
        X = np.ascontiguousarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"data must have shape (n_rows, {self.n_features}) for this model, "
                             f"not {X.shape}")
        w = self.width(method)
        out = np.zeros((X.shape[0], w), dtype=np.float32)
        cls = np.zeros(X.shape[0], dtype=np.int32)
        status = self._lib.mldev_run(self._model.ctypes.data, METHODS.index(method),
                                  X.ctypes.data, X.shape[0], out.ctypes.data, w,
                                  cls.ctypes.data, self._scratch.ctypes.data)
        if status != 0:
            raise ValueError(f"the model has no method {method!r} or failed on the host "
                             f"(C runtime error code {status})")
        return cls if method == "predict" else out
