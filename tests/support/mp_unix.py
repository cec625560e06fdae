"""Test tooling (not shipped): the microlearn_mp module (native x64 .mpy, pure-Python
fallback) in the unix MicroPython port.

Skips only when a tool is genuinely missing (``ToolNotFoundError``: no unix MicroPython,
no host gcc/make); a module that fails to compile is a test failure, not a skip.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import pytest

from microlearn import micropython_build as mb
from microlearn import mp_module

_NATIVE: dict[str, Path] = {}


def require_unix() -> Path:
    """The unix MicroPython executable, or skip (not installed)."""
    try:
        return mb.unix_micropython()
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
    return mb.run_unix(script, cwd, timeout=timeout, heap_size=heap_size)
