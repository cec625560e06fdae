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

RUNTIME_DIR = Path(__file__).resolve().parent / "runtime"
HOST_C = RUNTIME_DIR / "host" / "ml_host.c"

#: Flags of the host build: the strict warning set the generated code must pass.
WARNING_FLAGS = (
    "-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Wconversion", "-Wdouble-promotion", "-Werror",
)
HOST_FLAGS = WARNING_FLAGS + ("-O2", "-ffp-contract=off", "-fPIC", "-shared")

_loaded: dict[Path, ctypes.CDLL] = {}


_cache_fallback: Path | None = None


def cache_dir() -> Path:
    """Directory for cached builds: ``$MICROLEARN_CACHE_DIR`` (``~`` expanded), else the
    platform's user cache folder (``platformdirs``: ``$XDG_CACHE_HOME`` or
    ``~/.cache/microlearn`` on Linux, ``~/Library/Caches/microlearn`` on macOS). When it
    cannot be created or written (a read-only home, a file in its place), a per-process
    temporary directory is used instead and a warning says to set ``MICROLEARN_CACHE_DIR``.
    """
    global _cache_fallback
    root = os.environ.get("MICROLEARN_CACHE_DIR")
    if root:
        path = Path(root).expanduser()
    else:  # the platform's cache folder: ~/.cache (XDG), ~/Library/Caches, %LOCALAPPDATA%
        import platformdirs

        path = Path(platformdirs.user_cache_dir("microlearn", appauthor=False))
    try:
        path.mkdir(parents=True, exist_ok=True)
        if not os.access(path, os.W_OK | os.X_OK):
            raise PermissionError(f"{path} is not writable")
        return path
    except OSError as e:
        if _cache_fallback is None:
            import warnings

            _cache_fallback = Path(tempfile.mkdtemp(prefix="microlearn-cache-"))
            warnings.warn(
                f"microlearn: cannot use the cache directory {str(path)!r} ({e}); using "
                f"{str(_cache_fallback)!r} for this process. Set MICROLEARN_CACHE_DIR to a "
                "writable directory to keep builds between runs.", RuntimeWarning,
                stacklevel=2)
        return _cache_fallback


def compiler_command() -> list[str]:
    """The host C compiler command: ``$CC`` (may carry flags, e.g. ``"gcc -O0"``), else
    ``cc``, ``gcc`` or ``clang``, as an argument list."""
    import shlex

    env = os.environ.get("CC", "").strip()
    if env:
        try:
            words = shlex.split(env)
        except ValueError as e:
            raise CompilerNotFoundError(f"CC={env!r} cannot be parsed: {e}") from None
        path = shutil.which(words[0])
        if path:
            return [path, *words[1:]]
        raise CompilerNotFoundError(
            f"CC={env!r}: {words[0]!r} is not an executable on PATH; set CC to a C compiler "
            "or unset it (to install one: Debian/Ubuntu `apt install gcc`; Fedora "
            "`dnf install gcc`; macOS `xcode-select --install`)")
    for c in ("cc", "gcc", "clang"):
        path = shutil.which(c)
        if path:
            return [path]
    raise CompilerNotFoundError(
        "no C compiler found (looked for $CC, cc, gcc, clang). microlearn compiles the "
        "generated C on this machine to verify it: install one (Debian/Ubuntu: "
        "`apt install gcc`; Fedora: `dnf install gcc`; macOS: `xcode-select --install`) "
        "or set CC to a compiler"
    )


def find_compiler() -> str:
    """Path of the host C compiler (the first word of :func:`compiler_command`)."""
    return compiler_command()[0]


def _compile(source: Path, header_text: str | None, defines: tuple[str, ...],
             includes: tuple[Path, ...] = ()) -> Path:
    """Compile ``source`` (with ``model.h`` = header_text on the include path, if given)
    into a cached shared library."""
    cc_cmd = compiler_command()
    cc = " ".join(cc_cmd)
    key = hashlib.sha256()
    runtime = sorted(RUNTIME_DIR.glob("*.h"))
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
        cmd = [*cc_cmd, *HOST_FLAGS, f"-I{tmp}", *(f"-I{i}" for i in includes),
               *(f"-D{d}" for d in defines), str(source), "-o", str(tmp_out)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise CompileError(
                f"the host C compiler failed ({' '.join(cmd)}):\n{proc.stderr[-4000:]}"
            )
        os.replace(tmp_out, out)
    return out


METHODS = ("predict", "predict_proba", "decision_function", "score_samples", "regress",
           "transform")


def compile_shared(header_text: str, prefix: str, methods: tuple[str, ...] = (),
                   integer: str | None = None) -> Path:
    """Compile a generated header into a host shared library (cached) and return its path.
    ``methods``: the public functions the header has (batch entry points are built for
    those). ``integer``: ``"predict_proba"`` (classifier) or ``"regress"`` when the header
    has the integer entries ``prefix_<integer>_i8`` / ``_i16`` (an int8 net; classifiers
    also ``prefix_predict_i8`` / ``_i16``): batch entry points are built for them too."""
    bad = [m for m in methods if m not in METHODS]
    if bad:
        raise ValueError(f"unknown method(s) {bad}; known: {METHODS}")
    if integer not in (None, "predict_proba", "regress"):
        raise ValueError(f"integer={integer!r} is not None, 'predict_proba' or 'regress'")
    extra = () if integer is None else (
        f"MLHOST_INT_VALUES={integer}", *(("MLHOST_INT_CLASS",)
                                          if integer == "predict_proba" else ()))
    return _compile(HOST_C, header_text,
                    (f"MLHOST_PREFIX={prefix}", *(f"MLHOST_HAS_{m}" for m in methods),
                     *extra))


def _load(path: Path) -> ctypes.CDLL:
    lib = _loaded.get(path)
    if lib is None:
        lib = ctypes.CDLL(str(path))
        _loaded[path] = lib
    return lib


class HostLibrary:
    """A compiled model loaded into this process; batch calls over numpy arrays.

    Parameters
    ----------
    path : Path
        The shared library from :func:`compile_shared`.
    widths : dict
        Method -> outputs per row (``predict`` and ``score_samples``: 1).
    """

    def __init__(self, path: Path, widths: dict[str, int], integer: str | None = None):
        lib = _load(path)
        self.integer = integer
        self._lib = lib
        self.n_features = int(lib.mlhost_n_features())
        self.widths = dict(widths)
        f32 = np.ctypeslib.ndpointer(dtype=np.float32, flags="C_CONTIGUOUS")
        i32 = np.ctypeslib.ndpointer(dtype=np.int32, flags="C_CONTIGUOUS")
        args = [f32, ctypes.c_int64, ctypes.c_int32]
        for m in self.widths:
            fn = getattr(lib, f"mlhost_{m}")
            fn.argtypes = [*args, i32] if m == "predict" else [*args, f32, ctypes.c_int32]
            fn.restype = ctypes.c_int32
        if integer is not None:
            for bits, ctype in ((8, np.int8), (16, np.int16)):
                xp = np.ctypeslib.ndpointer(dtype=ctype, flags="C_CONTIGUOUS")
                fn = getattr(lib, f"mlhost_values_i{bits}")
                fn.argtypes = [xp, ctypes.c_int64, ctypes.c_int32, f32, ctypes.c_int32]
                fn.restype = ctypes.c_int32
                if integer == "predict_proba":
                    fn = getattr(lib, f"mlhost_predict_i{bits}")
                    fn.argtypes = [xp, ctypes.c_int64, ctypes.c_int32, i32]
                    fn.restype = ctypes.c_int32

    def call_int(self, method: str, X: np.ndarray) -> np.ndarray:
        """The integer entry on every row of C-contiguous int8 (quantized input) or int16
        (integer features) X: int32 (n,) for ``predict``, float32 (n, width) for
        ``predict_proba`` / ``regress`` (the library's ``integer`` method)."""
        bits = {np.dtype(np.int8): 8, np.dtype(np.int16): 16}[X.dtype]
        if method == "predict":
            out = np.empty(X.shape[0], dtype=np.int32)
            status = getattr(self._lib, f"mlhost_predict_i{bits}")(X, X.shape[0], X.shape[1],
                                                                    out)
        else:
            w = self.widths[method]
            out = np.empty((X.shape[0], w), dtype=np.float32)
            status = getattr(self._lib, f"mlhost_values_i{bits}")(X, X.shape[0], X.shape[1],
                                                                   out, w)
        if status != 0:
            raise RuntimeError(f"C {method}_i{bits} returned error code {status}")
        return out

    def call(self, method: str, X: np.ndarray) -> np.ndarray:
        """``method`` on every row of float32 C-contiguous X: int32 (n,) for predict,
        float32 (n,) for score_samples, float32 (n, width) otherwise."""
        fn = getattr(self._lib, f"mlhost_{method}")
        if method == "predict":
            out = np.empty(X.shape[0], dtype=np.int32)
            status = fn(X, X.shape[0], X.shape[1], out)
        else:
            w = self.widths[method]
            out = np.empty((X.shape[0], w) if method != "score_samples" else X.shape[0],
                           dtype=np.float32)
            status = fn(X, X.shape[0], X.shape[1], out, w)
        if status != 0:
            raise RuntimeError(f"C {method} returned error code {status}")
        return out

    # the tree family's original entry points, kept for tests and tools
    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.call("predict", X)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.call("predict_proba", X)

    def regress(self, X: np.ndarray) -> np.ndarray:
        return self.call("regress", X)


def load_c_source(source: Path, defines: tuple[str, ...] = ()) -> ctypes.CDLL:
    """Compile a C file of the runtime (e.g. ``runtime/host/*.c``, which includes runtime
    headers) with the strict host flags into a cached shared library and load it.

    Used by modules that run runtime C on the host directly (``microlearn.dsp``): the
    same headers that go to the device, compiled here, so host results are the device's.
    """
    return _load(_compile(Path(source), None, tuple(defines)))
