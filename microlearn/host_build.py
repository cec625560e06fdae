"""Host build: compile generated C with the system compiler and call it from Python.

The generated header is compiled once per distinct source (cached by content
hash in ``$MICROLEARN_CACHE_DIR`` or ``~/.cache/microlearn``) together with
``runtime/host/ml_host.c`` into a shared library, which is loaded with ctypes.
Python passes whole numpy arrays; the loop over rows runs in C.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from .errors import CompileError, CompilerNotFoundError

HOST_C = Path(__file__).resolve().parent / "runtime" / "host" / "ml_host.c"
HOST_BLOB_C = HOST_C.parent / "ml_host_blob.c"

#: Flags of the host build: the strict warning set the generated code must pass.
WARNING_FLAGS = (
    "-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Wconversion", "-Wdouble-promotion", "-Werror",
)
HOST_FLAGS = WARNING_FLAGS + ("-O2", "-ffp-contract=off", "-fPIC", "-shared")

_loaded: dict[Path, ctypes.CDLL] = {}


def cache_dir() -> Path:
    """Directory for cached builds (``$MICROLEARN_CACHE_DIR`` or ``~/.cache/microlearn``)."""
    root = os.environ.get("MICROLEARN_CACHE_DIR")
    path = Path(root) if root else Path.home() / ".cache" / "microlearn"
    path.mkdir(parents=True, exist_ok=True)
    return path


def find_compiler() -> str:
    """Path of the host C compiler: ``$CC``, else ``cc``, ``gcc`` or ``clang``."""
    candidates = [os.environ["CC"]] if os.environ.get("CC") else ["cc", "gcc", "clang"]
    for c in candidates:
        path = shutil.which(c)
        if path:
            return path
    raise CompilerNotFoundError(
        f"no C compiler found (looked for {', '.join(candidates)}). microlearn compiles the "
        "generated C on this machine to verify it: install one (Debian/Ubuntu: "
        "`apt install gcc`; Fedora: `dnf install gcc`; macOS: `xcode-select --install`) "
        "or set CC to a compiler"
    )


def _compile(source: Path, header_text: str | None, defines: tuple[str, ...]) -> Path:
    """Compile ``source`` (with ``model.h`` = header_text on the include path, if given)
    into a cached shared library."""
    cc = find_compiler()
    key = hashlib.sha256()
    runtime = sorted((source.parent.parent).glob("*.h"))
    for part in (header_text or "", source.read_text(), *(p.read_text() for p in runtime),
                 *defines, cc, " ".join(HOST_FLAGS)):
        key.update(part.encode())
        key.update(b"\0")
    out = cache_dir() / "host" / f"ml_{key.hexdigest()[:24]}.so"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="microlearn-") as tmp:
        if header_text is not None:
            (Path(tmp) / "model.h").write_text(header_text)
        tmp_out = Path(tmp) / out.name
        cmd = [cc, *HOST_FLAGS, f"-I{tmp}", *(f"-D{d}" for d in defines), str(source),
               "-o", str(tmp_out)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise CompileError(
                f"the host C compiler failed ({' '.join(cmd)}):\n{proc.stderr[-4000:]}"
            )
        os.replace(tmp_out, out)
    return out


def compile_shared(header_text: str, prefix: str) -> Path:
    """Compile a generated header into a host shared library (cached) and return its path."""
    return _compile(HOST_C, header_text, (f"MLHOST_PREFIX={prefix}",))


def _load(path: Path) -> ctypes.CDLL:
    lib = _loaded.get(path)
    if lib is None:
        lib = ctypes.CDLL(str(path))
        _loaded[path] = lib
    return lib


class BlobRunner:
    """The C blob loader and table-driven engine (``ml_blob.h``), compiled for this host."""

    def __init__(self) -> None:
        lib = _load(_compile(HOST_BLOB_C, None, ()))
        lib.mlhost_blob_load.argtypes = [ctypes.c_char_p, ctypes.c_int64]
        lib.mlhost_blob_load.restype = ctypes.c_int32
        f32 = np.ctypeslib.ndpointer(dtype=np.float32, flags="C_CONTIGUOUS")
        i32 = np.ctypeslib.ndpointer(dtype=np.int32, flags="C_CONTIGUOUS")
        lib.mlhost_blob_run.argtypes = [ctypes.c_void_p, ctypes.c_int64, f32, ctypes.c_int64,
                                        ctypes.c_int32, f32, ctypes.c_int32, i32]
        lib.mlhost_blob_run.restype = ctypes.c_int32
        self._lib = lib

    @staticmethod
    def _aligned(blob: bytes) -> np.ndarray:
        buf = np.zeros((len(blob) + 3) // 4, dtype=np.uint32)  # 4-byte aligned copy
        buf.view(np.uint8)[: len(blob)] = np.frombuffer(blob, dtype=np.uint8)
        return buf

    def load(self, blob: bytes) -> int:
        """Validate ``blob`` with the C loader: 0 or its negative error code."""
        buf = self._aligned(blob)
        return int(self._lib.mlhost_blob_load(buf.ctypes.data_as(ctypes.c_char_p), len(blob)))

    def run(self, blob: bytes, X: np.ndarray, n_outputs: int) -> tuple[int, np.ndarray, np.ndarray]:
        """Run every row of float32 X: (status, outputs[n, n_outputs], argmax classes[n])."""
        buf = self._aligned(blob)
        X = np.ascontiguousarray(X, dtype=np.float32)
        out = np.zeros((X.shape[0], n_outputs), dtype=np.float32)
        cls = np.full(X.shape[0], -1, dtype=np.int32)
        status = self._lib.mlhost_blob_run(buf.ctypes.data, len(blob), X, X.shape[0],
                                           X.shape[1], out, n_outputs, cls)
        return int(status), out, cls


class HostLibrary:
    """A compiled model loaded into this process; batch calls over numpy arrays."""

    def __init__(self, path: Path):
        lib = _load(path)
        self._lib = lib
        self.n_features = int(lib.mlhost_n_features())
        self.n_outputs = int(lib.mlhost_n_outputs())
        self.is_classifier = bool(lib.mlhost_is_classifier())
        f32 = np.ctypeslib.ndpointer(dtype=np.float32, flags="C_CONTIGUOUS")
        i32 = np.ctypeslib.ndpointer(dtype=np.int32, flags="C_CONTIGUOUS")
        args = [f32, ctypes.c_int64, ctypes.c_int32]
        if self.is_classifier:
            lib.mlhost_predict.argtypes = [*args, i32]
            lib.mlhost_predict.restype = ctypes.c_int32
            lib.mlhost_predict_proba.argtypes = [*args, f32, ctypes.c_int32]
            lib.mlhost_predict_proba.restype = ctypes.c_int32
        else:
            lib.mlhost_regress.argtypes = [*args, f32, ctypes.c_int32]
            lib.mlhost_regress.restype = ctypes.c_int32

    @staticmethod
    def _check(status: int, what: str) -> None:
        if status != 0:
            raise RuntimeError(f"C {what} returned error code {status}")

    def predict(self, X: np.ndarray) -> np.ndarray:
        out = np.empty(X.shape[0], dtype=np.int32)
        self._check(self._lib.mlhost_predict(X, X.shape[0], X.shape[1], out), "predict")
        return out

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        out = np.empty((X.shape[0], self.n_outputs), dtype=np.float32)
        self._check(
            self._lib.mlhost_predict_proba(X, X.shape[0], X.shape[1], out, self.n_outputs),
            "predict_proba",
        )
        return out

    def regress(self, X: np.ndarray) -> np.ndarray:
        out = np.empty((X.shape[0], self.n_outputs), dtype=np.float32)
        self._check(
            self._lib.mlhost_regress(X, X.shape[0], X.shape[1], out, self.n_outputs), "regress"
        )
        return out
