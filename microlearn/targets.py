"""Measure a generated model on microcontroller targets: cross-compile, run in QEMU, count.

For a generated model header (the public API written by ``microlearn.codegen``) this
module

* cross-compiles a small bare-metal firmware (``runtime/target/harness.c``) that includes
  the header and runs the model on every row of a data set (the rows are embedded in flash
  as float32 bit patterns),
* runs it once in QEMU, where a TCG plugin counts the instructions executed by each
  single call of ``predict`` (classifiers) or ``regress`` (regressors), exactly and
  deterministically, and the firmware writes its outputs (bit patterns), the classifier's
  ``predict_proba`` outputs and the stack depth of every call (stack painting) to a host
  file through semihosting,
* builds the same harness with a stub instead of the model, so that flash and static RAM
  are the model's own cost: the size of the firmware with the model minus the size of the
  same firmware without it.

Targets are listed in :data:`TARGETS`. The CPU cores behind them are in :data:`CORES`, the one
table of CPU/ABI compiler flags, MicroPython native-module arch and QEMU machine per core, which
``microlearn.micropython_build`` (native modules) and the MicroPython test tooling use too.
``"host"`` measures footprint only (object code built by the system compiler).

The target layer shared by footprint and the MicroPython tooling: :data:`CORES`,
:func:`qemu_plugin_path` (the instruction-counting plugin), :func:`run_qemu` (a QEMU run,
optionally with the plugin), :func:`parse_icount_log` (the plugin's log) and
:func:`elf_symbols` (ELF symbol addresses through binutils ``nm``).

The instruction-counting plugin is built at first use into the cache directory
(``$MICROLEARN_CACHE_DIR``, else ``~/.cache/microlearn``) against ``qemu-plugin.h`` from
the distribution's QEMU source package (Debian ships no plugins and no plugin header);
set ``MICROLEARN_QEMU_PLUGIN_H`` to use a header from elsewhere.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from .errors import CompileError, MicrolearnError
from .host_build import WARNING_FLAGS, cache_dir, find_compiler

__all__ = [
    "AppRun",
    "CORES",
    "NATMOD_CORES",
    "TARGETS",
    "Core",
    "Footprint",
    "QemuRun",
    "TargetRun",
    "TargetRunError",
    "TargetSpec",
    "ToolchainNotFoundError",
    "UnsupportedOnTargetError",
    "check_toolchain",
    "elf_symbols",
    "footprint",
    "measure",
    "parse_icount_log",
    "qemu_plugin_path",
    "run_app",
    "run_qemu",
    "toolchain_available",
    "unavailable_reason",
]

RUNTIME_DIR = Path(__file__).resolve().parent / "runtime" / "target"
HARNESS_C = RUNTIME_DIR / "harness.c"
STARTUP_C = RUNTIME_DIR / "startup.c"
PLUGIN_C = RUNTIME_DIR / "qemu_icount_plugin.c"

#: Flags common to every target build: the project's strict warning set, size
#: optimisation, no floating-point contraction (a fused multiply-add would change
#: results), one section per function/object so that the linker drops unused code.
COMMON_CFLAGS: tuple[str, ...] = (
    *WARNING_FLAGS,
    "-Os",
    "-ffp-contract=off",
    "-ffunction-sections",
    "-fdata-sections",
)

_ARM_PACKAGES = ("gcc-arm-none-eabi", "libnewlib-arm-none-eabi", "qemu-system-arm")
_RISCV_PACKAGES = ("gcc-riscv64-unknown-elf", "picolibc-riscv64-unknown-elf", "qemu-system-misc")
_LDFLAGS = ("-nostartfiles", "-Wl,--gc-sections")
_QEMU_COMMON = (
    "-nographic", "-monitor", "none", "-serial", "none",
    "-semihosting-config", "enable=on,target=native",
)


class ToolchainNotFoundError(MicrolearnError, RuntimeError):
    """A cross compiler, C library, QEMU or the QEMU plugin header is missing.

    The message names the packages to install.
    """


class UnsupportedOnTargetError(MicrolearnError, ValueError):
    """The model uses runtime code that is not ported to the target, or does not fit it (AVR:
    a net's arena or a DSP step's buffers beyond the SRAM); the message says which."""


class TargetRunError(MicrolearnError, RuntimeError):
    """The firmware failed in QEMU (fault, timeout, incomplete or malformed results)."""


@dataclass(frozen=True)
class Core:
    """One CPU core: the compiler flags that select it, and how it is emulated.

    Attributes
    ----------
    name : str
        Core name (``"cortex-m4f"``).
    cpu_flags : tuple of str
        Architecture/ABI compiler flags (compile and link; they also select the toolchain's
        multilib of libc/libm/libgcc).
    tool_prefix : str
        Prefix of the GNU toolchain's commands (``arm-none-eabi-``: ``...gcc``, ``...nm``).
    natmod_arch : str or None
        The MicroPython native-module arch (``ARCH`` of ``py/dynruntime.mk``) whose modules
        run on this core; None when MicroPython v1.23 has none for it.
    qemu_system : str
        QEMU system emulator.
    qemu_machine : str
        QEMU machine (``-M``) the core runs on.
    qemu_args : tuple of str
        Machine-specific QEMU arguments (``-bios none`` on RISC-V ``virt``).
    """

    name: str
    cpu_flags: tuple[str, ...]
    tool_prefix: str
    natmod_arch: str | None
    qemu_system: str
    qemu_machine: str
    qemu_args: tuple[str, ...] = ()

    @property
    def nm_tool(self) -> str:
        """binutils ``nm`` for this core's ELF files."""
        return f"{self.tool_prefix}nm"

    @property
    def qemu(self) -> tuple[str, ...]:
        """QEMU command line up to ``-kernel`` (no display, no monitor, semihosting on)."""
        return (self.qemu_system, "-M", self.qemu_machine, *self.qemu_args, *_QEMU_COMMON)


def _arm_core(name: str, cpu_flags: tuple[str, ...], natmod_arch: str, machine: str) -> Core:
    return Core(name, cpu_flags, "arm-none-eabi-", natmod_arch, "qemu-system-arm", machine)


#: The CPU cores: flags, native-module arch and QEMU machine live here and nowhere else.
#: ``mps2-an385`` is a Cortex-M3 board: Armv7-M executes Armv6-M code unchanged, so code
#: built for Cortex-M0/M0+ runs there with the instruction stream (and counts) of Armv6-M.
CORES: dict[str, Core] = {
    "cortex-m0": _arm_core("cortex-m0", ("-mcpu=cortex-m0", "-mthumb"), "armv6m",
                           "mps2-an385"),
    "cortex-m0plus": _arm_core("cortex-m0plus",
                               ("-mcpu=cortex-m0plus", "-mthumb", "-mfloat-abi=soft"),
                               "armv6m", "mps2-an385"),
    "cortex-m3": _arm_core("cortex-m3", ("-mcpu=cortex-m3", "-mthumb"), "armv7m",
                           "mps2-an385"),
    "cortex-m4f": _arm_core("cortex-m4f", ("-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard",
                                           "-mfpu=fpv4-sp-d16"), "armv7emsp", "mps2-an386"),
    "cortex-m7": _arm_core("cortex-m7", ("-mcpu=cortex-m7", "-mthumb", "-mfloat-abi=hard",
                                         "-mfpu=fpv5-d16"), "armv7emdp", "mps2-an500"),
    "rv32imc": Core("rv32imc", ("-march=rv32imc", "-mabi=ilp32"), "riscv64-unknown-elf-", None,
                    "qemu-system-riscv32", "virt", ("-bios", "none")),
}

#: The core whose flags build (and select the library multilib of) each MicroPython
#: native-module arch (``microlearn.micropython_build.build_natmod``).
NATMOD_CORES: dict[str, str] = {
    "armv6m": "cortex-m0",
    "armv7m": "cortex-m3",
    "armv7emsp": "cortex-m4f",
    "armv7emdp": "cortex-m7",
}


def _core(core: str) -> Core:
    try:
        return CORES[core]
    except KeyError:
        raise ValueError(f"unknown core {core!r}; known cores: {', '.join(CORES)}") from None


@dataclass(frozen=True)
class TargetSpec:
    """One measurement target: compiler, flags, C library and the QEMU machine that runs it.

    Attributes
    ----------
    name : str
        Target name used throughout microlearn (``"cortex-m4f"``).
    description : str
        What the target stands for and how it is emulated.
    cc : str
        C compiler command.
    size_tool, nm_tool : str
        binutils ``size`` and ``nm`` for the target's object format.
    cpu_flags : tuple of str
        Architecture/ABI flags (compile and link): the core's, see :data:`CORES`.
    libc_flags : tuple of str
        C library selection (compile and link: the specs files also set include paths).
    ldflags : tuple of str
        Extra link flags (no C library start files, garbage collection of sections).
    libs : tuple of str
        Libraries linked after the objects.
    linker_script : str or None
        File in ``runtime/target`` (None: host, no link).
    qemu : tuple of str or None
        QEMU command line up to ``-kernel`` (None: footprint only): the core's.
    apt_packages : tuple of str
        Debian/Ubuntu packages providing the toolchain, C library and QEMU.
    core : str or None
        The core in :data:`CORES` (None: host and AVR).
    simulator : str or None
        ``"simavr"``: an AVR target run in simavr instead of QEMU (:mod:`microlearn.avr`;
        its counts are clock cycles).
    """

    name: str
    description: str
    cc: str
    size_tool: str
    nm_tool: str
    cpu_flags: tuple[str, ...]
    libc_flags: tuple[str, ...]
    ldflags: tuple[str, ...]
    libs: tuple[str, ...]
    linker_script: str | None
    qemu: tuple[str, ...] | None
    apt_packages: tuple[str, ...]
    core: str | None = None
    simulator: str | None = None

    @property
    def runs(self) -> bool:
        """True when the target runs in QEMU or simavr (outputs, instructions, stack)."""
        return self.qemu is not None or self.simulator is not None

    @property
    def cflags(self) -> tuple[str, ...]:
        """All compiler flags of the target's builds."""
        return (*self.cpu_flags, *self.libc_flags, *COMMON_CFLAGS)


#: The measurement targets: toolchain, C library and linker script per target; CPU flags
#: and QEMU machine come from :data:`CORES`.

def _arm_target(name: str, description: str) -> TargetSpec:
    """A Cortex-M target: arm-none-eabi-gcc + newlib-nano, run on a QEMU mps2 board."""
    core = CORES[name]
    return TargetSpec(
        name=name,
        description=description,
        cc=f"{core.tool_prefix}gcc",
        size_tool=f"{core.tool_prefix}size",
        nm_tool=core.nm_tool,
        cpu_flags=core.cpu_flags,
        libc_flags=("--specs=nano.specs",),
        ldflags=_LDFLAGS,
        libs=("-lm",),
        linker_script="mps2.ld",
        qemu=core.qemu,
        apt_packages=_ARM_PACKAGES,
        core=name,
    )

TARGETS: dict[str, TargetSpec] = {
    "cortex-m0plus": _arm_target(
        "cortex-m0plus",
        (
            "Armv6-M, no FPU (soft float; RP2040, STM32G0/L0, nRF51, SAMD21). Runs on QEMU "
            "mps2-an385 (a Cortex-M3): Armv7-M executes Armv6-M code unchanged, and with "
            "-mcpu=cortex-m0plus the compiler and newlib's thumb/v6-m multilib emit only "
            "Armv6-M instructions, so instruction counts are those of an M0+. The micro:bit "
            "machine (a real Cortex-M0) has 16 KB RAM and 256 KB flash, too small for many "
            "models plus the data set."
        ),
    ),
    "cortex-m4f": _arm_target(
        "cortex-m4f",
        (
            "Armv7E-M with single-precision FPU (STM32F4/L4, nRF52, SAM D5x). "
            "Runs on QEMU mps2-an386 (Cortex-M4 with FPv4-SP)."
        ),
    ),
    "cortex-m7": _arm_target(
        "cortex-m7",
        (
            "Armv7E-M with double-precision FPU (FPv5-D16: STM32F76x/H7, i.MX RT). Runs on "
            "QEMU mps2-an500, whose Cortex-M7 emulates FPv5 with double precision "
            "(MVFR0 0x10110221); float32 models use only single-precision instructions."
        ),
    ),
    "rv32imc": TargetSpec(
        name="rv32imc",
        description=(
            "RV32IMC, no FPU (soft float; ESP32-C3, CH32V, GD32VF103 without F). Built with "
            "the riscv64-unknown-elf GCC and picolibc (its rv32im multilib: no compressed "
            "instructions inside libm/libgcc). Runs on QEMU virt (rv32 CPU, -bios none); "
            "sifive_e has only 16 KB RAM."
        ),
        cc=f"{CORES['rv32imc'].tool_prefix}gcc",
        size_tool=f"{CORES['rv32imc'].tool_prefix}size",
        nm_tool=CORES["rv32imc"].nm_tool,
        cpu_flags=CORES["rv32imc"].cpu_flags,
        libc_flags=("--specs=picolibc.specs",),
        ldflags=_LDFLAGS,
        libs=("-lm",),
        linker_script="riscv_virt.ld",
        qemu=CORES["rv32imc"].qemu,
        apt_packages=_RISCV_PACKAGES,
        core="rv32imc",
    ),
    "atmega328p": TargetSpec(
        name="atmega328p",
        description=(
            "AVR ATmega328P (Arduino Uno/Nano: 32 KB flash, 2 KB SRAM, 16 MHz, no FPU; "
            "avr-gcc's double is 32 bits). Built with avr-gcc and avr-libc, run in simavr "
            "at 16 MHz: the counts are clock cycles (simavr is cycle-counting), not "
            "instructions. Generated models keep their constant tables in program memory "
            "there (neural nets: weights and op tables; the arena must fit the SRAM)."
        ),
        cc="avr-gcc",
        size_tool="avr-size",
        nm_tool="avr-nm",
        cpu_flags=("-mmcu=atmega328p",),
        libc_flags=(),
        ldflags=("-Wl,--gc-sections",),
        libs=("-lm",),
        linker_script=None,
        qemu=None,
        apt_packages=("gcc-avr", "avr-libc", "binutils-avr", "simavr", "libsimavr-dev"),
        simulator="simavr",
    ),
    "host": TargetSpec(
        name="host",
        description=(
            "The system C compiler ($CC, cc, gcc or clang): footprint only, as the code and "
            "data of the compiled model in an object file (libm not included; no run)."
        ),
        cc="cc",
        size_tool="size",
        nm_tool="nm",
        cpu_flags=(),
        libc_flags=(),
        ldflags=(),
        libs=(),
        linker_script=None,
        qemu=None,
        apt_packages=("gcc", "binutils"),
    ),
}

#: Largest data set embedded in a firmware (bytes of float32 rows). The QEMU boards
#: have 4 MB of "flash"; the rest is left for the model.
MAX_ROWS_BYTES = 2 * 1024 * 1024

_EXIT_REASONS = {
    2: "the firmware could not open its output file through semihosting",
    3: "the firmware could not write its output file through semihosting",
    4: "the firmware faulted (HardFault/trap: bad memory access, undefined instruction, "
       "or a stack overflow)",
}


@dataclass(frozen=True, eq=False)
class Footprint:
    """Flash and static RAM of a model on one target.

    Attributes
    ----------
    target : str
        Target name.
    flash_bytes : int
        ``.text + .rodata + .data`` of the firmware with the model minus that of the same
        firmware with a stub instead of the model (code, constants and C library functions
        that only the model pulls in, e.g. ``expf``). Classifiers: ``predict`` only
        (``predict_proba`` is not linked into the size builds). ``"host"``: object code of
        the model's functions, C library excluded.
    ram_bytes : int
        ``.data + .bss`` difference (static RAM; stack is measured separately).
    firmware_flash_bytes : int
        Flash of the whole size firmware with the model (harness included; one row of
        data for :func:`footprint`, the data set for :func:`measure`).
    """

    target: str
    flash_bytes: int
    ram_bytes: int
    firmware_flash_bytes: int


@dataclass(frozen=True, eq=False)
class TargetRun:
    """What :func:`measure` found on one target.

    Attributes
    ----------
    target : str
        Target name.
    machine : str or None
        QEMU machine the firmware ran on (None for ``"host"``).
    kind : str
        ``"classifier"`` or ``"regressor"``.
    outputs : numpy.ndarray or None
        Classifier: int32 class index per row as returned by ``predict`` (a negative value
        is an error code). Regressor: float32 array ``(n_rows, n_outputs)``, bit-exact.
    proba : numpy.ndarray or None
        Classifier: float32 ``predict_proba`` outputs ``(n_rows, n_outputs)``, bit-exact.
    return_codes : numpy.ndarray or None
        int32 value returned by the measured call per row (``regress``: 0 or an error).
    proba_return_codes : numpy.ndarray or None
        int32 value returned by ``predict_proba`` per row (classifiers).
    instructions : numpy.ndarray or None
        int64 instructions executed per row by one call of ``predict``/``regress``
        (AVR targets run in simavr: clock cycles)
        (argument set-up, call, model, return), from the QEMU plugin; the cost of the
        bench markers themselves is subtracted.
    instructions_mean : float or None
        Mean of ``instructions``.
    instructions_max : int or None
        Maximum of ``instructions``.
    flash_bytes : int
        Model flash, see :class:`Footprint`.
    ram_bytes : int
        Model static RAM, see :class:`Footprint`.
    stack_bytes : int or None
        Deepest stack use of one measured call over all rows (bytes below the caller's
        stack pointer that were written: the call's return frame, the model's locals and
        any library function it calls).
    """

    target: str
    machine: str | None
    kind: str
    outputs: np.ndarray | None
    proba: np.ndarray | None
    return_codes: np.ndarray | None
    proba_return_codes: np.ndarray | None
    instructions: np.ndarray | None
    instructions_mean: float | None
    instructions_max: int | None
    flash_bytes: int
    ram_bytes: int
    stack_bytes: int | None


# ---------------------------------------------------------------------------------------
# toolchains


def _spec(target: str) -> TargetSpec:
    try:
        return TARGETS[target]
    except KeyError:
        raise ValueError(
            f"unknown target {target!r}; known targets: {', '.join(TARGETS)}"
        ) from None


def _host_cc() -> str:
    return find_compiler()


def _cc(spec: TargetSpec) -> str:
    return _host_cc() if spec.name == "host" else spec.cc


def _install_hint(spec: TargetSpec) -> str:
    return (
        f"install it with `apt-get install --no-install-recommends "
        f"{' '.join(spec.apt_packages)}` (Debian/Ubuntu)"
    )


@cache
def _unavailable_reason_cached(target: str, path_env: str) -> str | None:
    spec = _spec(target)
    del path_env  # part of the cache key only: a changed PATH is looked at again
    if spec.name == "host":
        try:
            _host_cc()
        except MicrolearnError as exc:
            return str(exc)
    else:
        if shutil.which(spec.cc) is None:
            return f"the cross compiler {spec.cc} is not installed"
    for tool in (spec.size_tool, spec.nm_tool):
        if shutil.which(tool) is None:
            return f"{tool} (binutils for {spec.name}) is not installed"
    for flag in spec.libc_flags:
        if flag.startswith("--specs="):
            name = flag.split("=", 1)[1]
            try:
                proc = subprocess.run(
                    [spec.cc, *spec.cpu_flags, f"-print-file-name={name}"],
                    capture_output=True, text=True, timeout=60,
                )
            except (OSError, subprocess.SubprocessError) as exc:
                return f"{spec.cc} could not be run: {exc}"
            if not os.path.isabs(proc.stdout.strip()):
                return f"the C library for {spec.cc} ({name}) is not installed"
    if spec.qemu is not None and shutil.which(spec.qemu[0]) is None:
        return f"{spec.qemu[0]} is not installed"
    if spec.simulator == "simavr":
        from . import avr

        return avr.unavailable_reason(spec.cc)
    return None


def unavailable_reason(target: str) -> str | None:
    """Why a target cannot be measured on this machine, or None when it can.

    Parameters
    ----------
    target : str
        A name from :data:`TARGETS`.

    Returns
    -------
    str or None
        A sentence naming what is missing and the packages that provide it.
    """
    reason = _unavailable_reason_cached(target, os.environ.get("PATH", ""))
    if reason is None:
        return None
    return f"target {target!r} is unavailable: {reason}; {_install_hint(_spec(target))}"


def toolchain_available(target: str) -> bool:
    """True when the compiler, C library, binutils and QEMU of ``target`` are installed.

    Parameters
    ----------
    target : str
        A name from :data:`TARGETS`.

    Returns
    -------
    bool
    """
    return unavailable_reason(target) is None


def check_toolchain(target: str) -> None:
    """Raise :class:`ToolchainNotFoundError` naming the packages to install if needed.

    Parameters
    ----------
    target : str
        A name from :data:`TARGETS`.

    Raises
    ------
    ToolchainNotFoundError
        When something the target needs is missing.
    ValueError
        For an unknown target name.
    """
    reason = unavailable_reason(target)
    if reason is not None:
        raise ToolchainNotFoundError(reason)


# ---------------------------------------------------------------------------------------
# the QEMU instruction-counting plugin


@cache
def _qemu_version() -> str:
    for exe in ("qemu-system-arm", "qemu-system-riscv32"):
        if shutil.which(exe):
            try:
                out = subprocess.run(
                    [exe, "--version"], capture_output=True, text=True, timeout=60
                ).stdout
            except (OSError, subprocess.SubprocessError):
                continue
            m = re.search(r"version\s+(\S+)", out)
            if m:
                return m.group(1)
    return "unknown"


def _deb_src_sources() -> tuple[str, str]:
    """deb-src versions of this machine's apt sources: (deb822 text, one-line text)."""
    deb822: list[str] = []
    one_line: list[str] = []
    etc = Path("/etc/apt")
    for path in sorted((etc / "sources.list.d").glob("*.sources")):
        for stanza in path.read_text(errors="replace").split("\n\n"):
            lines = stanza.strip().splitlines()
            types = [ln for ln in lines if ln.lower().startswith("types:")]
            if not types or "deb" not in types[0].split(":", 1)[1].split():
                continue
            if any(ln.lower().startswith("enabled:") and "no" in ln.lower() for ln in lines):
                continue
            deb822.append(
                "\n".join("Types: deb-src" if ln in types else ln for ln in lines) + "\n"
            )
    lists = [etc / "sources.list", *sorted((etc / "sources.list.d").glob("*.list"))]
    for path in lists:
        if path.is_file():
            for ln in path.read_text(errors="replace").splitlines():
                if ln.strip().startswith("deb "):
                    one_line.append("deb-src " + ln.strip()[4:])
    return "\n".join(deb822), "\n".join(one_line) + ("\n" if one_line else "")


def _fetch_plugin_header(dest: Path) -> None:
    """Get include/qemu/qemu-plugin.h from the distribution's qemu source package."""
    if shutil.which("apt-get") is None:
        raise ToolchainNotFoundError(
            "counting instructions needs qemu-plugin.h (QEMU's plugin API header), which "
            "microlearn takes from the distribution's qemu source package with apt-get; "
            "apt-get is not available here: set MICROLEARN_QEMU_PLUGIN_H to the "
            "include/qemu/qemu-plugin.h of your QEMU version's source"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="apt-", dir=dest.parent) as tmp:
        root = Path(tmp)
        for sub in ("parts", "lists/partial", "cache/archives/partial", "src"):
            (root / sub).mkdir(parents=True)
        deb822, one_line = _deb_src_sources()
        if not deb822 and not one_line:
            raise ToolchainNotFoundError(
                "no apt sources found to fetch QEMU's source package (for qemu-plugin.h); "
                "set MICROLEARN_QEMU_PLUGIN_H to the include/qemu/qemu-plugin.h of your "
                "QEMU version's source"
            )
        if deb822:
            (root / "parts" / "src.sources").write_text(deb822)
        if one_line:
            (root / "parts" / "src.list").write_text(one_line)
        opts = [
            "-o", "Dir::Etc::SourceList=/dev/null",
            "-o", f"Dir::Etc::SourceParts={root / 'parts'}",
            "-o", f"Dir::State::Lists={root / 'lists'}",
            "-o", f"Dir::Cache={root / 'cache'}",
            "-o", "Debug::NoLocking=1",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            opts += ["-o", "APT::Sandbox::User=root"]
        steps = (
            (["apt-get", *opts, "update", "-qq"], root),
            (["apt-get", *opts, "source", "--download-only", "-qq", "qemu"], root / "src"),
        )
        for cmd, cwd in steps:
            try:
                proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900)
            except subprocess.TimeoutExpired:
                raise ToolchainNotFoundError(
                    f"fetching QEMU's source package timed out ({' '.join(cmd[:1] + cmd[-2:])})"
                ) from None
            if proc.returncode != 0:
                raise ToolchainNotFoundError(
                    "could not fetch QEMU's source package for qemu-plugin.h "
                    f"({' '.join(cmd)}):\n{(proc.stderr or proc.stdout)[-2000:]}\n"
                    "set MICROLEARN_QEMU_PLUGIN_H to the include/qemu/qemu-plugin.h of your "
                    "QEMU version's source instead"
                )
        tarballs = sorted((root / "src").glob("qemu_*.orig.tar.*"))
        if not tarballs:
            raise ToolchainNotFoundError(
                "QEMU's source package was downloaded but has no upstream tarball"
            )
        with tarfile.open(tarballs[0], mode="r|*") as tar:
            for member in tar:
                if member.isfile() and member.name.endswith("include/qemu/qemu-plugin.h"):
                    fileobj = tar.extractfile(member)
                    assert fileobj is not None
                    data = fileobj.read()
                    break
            else:
                raise ToolchainNotFoundError(
                    f"{tarballs[0].name} has no include/qemu/qemu-plugin.h (QEMU too old "
                    "for TCG plugins?)"
                )
        tmp_header = root / "qemu-plugin.h"
        tmp_header.write_bytes(data)
        os.replace(tmp_header, dest)


def _plugin_header() -> Path:
    env = os.environ.get("MICROLEARN_QEMU_PLUGIN_H")
    if env:
        path = Path(env)
        if not path.is_file():
            raise ToolchainNotFoundError(f"MICROLEARN_QEMU_PLUGIN_H={env} is not a file")
        return path
    for candidate in ("/usr/include/qemu-plugin.h", "/usr/include/qemu/qemu-plugin.h",
                      "/usr/local/include/qemu-plugin.h",
                      "/usr/local/include/qemu/qemu-plugin.h"):
        if Path(candidate).is_file():
            return Path(candidate)
    version = re.sub(r"[^A-Za-z0-9.+~-]", "_", _qemu_version())
    dest = cache_dir() / "qemu-plugin" / f"qemu-{version}" / "qemu-plugin.h"
    if not dest.is_file():
        _fetch_plugin_header(dest)
    return dest


def qemu_plugin_path() -> Path:
    """The instruction-counting QEMU plugin, built on first use and cached.

    Returns
    -------
    pathlib.Path
        Path of the shared library to pass to QEMU's ``-plugin``.

    Raises
    ------
    ToolchainNotFoundError
        When the plugin header cannot be found or fetched, or no host compiler exists.
    CompileError
        When the plugin does not compile.
    """
    header = _plugin_header()
    cc = _host_cc()
    key = hashlib.sha256()
    for part in (PLUGIN_C.read_bytes(), header.read_bytes(), cc.encode()):
        key.update(part)
        key.update(b"\0")
    out = cache_dir() / "qemu-plugin" / f"libmlicount-{key.hexdigest()[:16]}.so"
    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="plugin-", dir=out.parent) as tmp:
        tmp_out = Path(tmp) / out.name
        cmd = [cc, "-O2", "-shared", "-fPIC", "-Wall", "-Wextra", f"-I{header.parent}",
               str(PLUGIN_C), "-o", str(tmp_out)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            raise CompileError(
                f"building the QEMU plugin failed ({' '.join(cmd)}):\n{proc.stderr[-4000:]}"
            )
        os.replace(tmp_out, out)
    return out


# ---------------------------------------------------------------------------------------
# QEMU runs (optionally counting instructions), the plugin's log, ELF symbols


def elf_symbols(elf: str | os.PathLike[str], names: Sequence[str],
                nm_tool: str = "arm-none-eabi-nm") -> dict[str, int]:
    """Addresses of symbols in an ELF file, read with binutils ``nm``.

    Parameters
    ----------
    elf : path-like
        The ELF file.
    names : sequence of str
        Symbols to look up.
    nm_tool : str
        ``nm`` for the file's architecture (:attr:`Core.nm_tool`).

    Returns
    -------
    dict of str to int
        Name -> address (as ``nm`` prints it: Thumb functions without the Thumb bit).

    Raises
    ------
    CompileError
        When ``nm`` fails or a symbol is missing.
    """
    elf = Path(elf)
    proc = subprocess.run([nm_tool, str(elf)], capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise CompileError(f"{nm_tool} failed on {elf.name}:\n{_tail(proc.stderr)}")
    found: dict[str, int] = {}
    for line in proc.stdout.splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[2] in names:
            found[fields[2]] = int(fields[0], 16)
    missing = [n for n in names if n not in found]
    if missing:
        raise CompileError(f"{elf.name} has no symbol(s) {', '.join(missing)}")
    return found


_REGION_RE = re.compile(r"^R (\d+)$")
_TOTAL_RE = re.compile(r"^T (\d+)$")


def parse_icount_log(text: str) -> tuple[list[int], int | None]:
    """Read the log of the instruction-counting plugin (``runtime/target/qemu_icount_plugin.c``).

    Parameters
    ----------
    text : str
        The log QEMU wrote (``-d plugin -D file``).

    Returns
    -------
    regions : list of int
        Instructions executed in each ``bench_start()``..``bench_stop()`` region, in order.
    total : int or None
        All instructions the guest executed (None if the log has no total).

    Raises
    ------
    TargetRunError
        When the log reports a ``bench_stop()`` without a preceding ``bench_start()``.
    """
    regions: list[int] = []
    total = None
    for line in text.splitlines():
        line = line.strip()
        if m := _REGION_RE.match(line):
            regions.append(int(m.group(1)))
        elif m := _TOTAL_RE.match(line):
            total = int(m.group(1))
        elif line == "U":
            raise TargetRunError("bench_stop() without bench_start() in the run")
    return regions, total


@dataclass(frozen=True, eq=False)
class QemuRun:
    """One QEMU run (:func:`run_qemu`).

    Attributes
    ----------
    command : list of str
        The QEMU command line.
    returncode : int
        QEMU's exit status (the firmware's semihosting exit code).
    stdout, stderr : bytes
        QEMU's output (semihosting console output goes to stdout).
    icount_log : str or None
        The plugin's log (read it with :func:`parse_icount_log`); None when not counting or
        when QEMU wrote no log.
    """

    command: list[str]
    returncode: int
    stdout: bytes
    stderr: bytes
    icount_log: str | None


def run_qemu(core: str, kernel: str | os.PathLike[str], *, cwd: str | os.PathLike[str],
             args: Sequence[str] = (), count_instructions: bool = False,
             plugin: str | os.PathLike[str] | None = None,
             log_file: str | os.PathLike[str] | None = None, qemu: str | None = None,
             timeout: float = 120.0) -> QemuRun:
    """Run a bare-metal ELF on a core's QEMU machine, optionally counting instructions.

    With ``count_instructions`` the plugin counts the instructions executed between each
    call of ``bench_start()`` and ``bench_stop()`` (functions of the firmware, found in its
    symbol table) and at exit all instructions of the guest.

    Parameters
    ----------
    core : str
        A name from :data:`CORES` (machine and QEMU emulator).
    kernel : path-like
        The firmware (``-kernel``).
    cwd : path-like
        QEMU's working directory (the firmware's semihosting files are relative to it).
    args : sequence of str
        More QEMU arguments (``-append ...``, ``-device loader,...``).
    count_instructions : bool
        Load the instruction-counting plugin.
    plugin : path-like, optional
        The plugin (default: :func:`qemu_plugin_path`, built on first use).
    log_file : path-like, optional
        Where QEMU writes the plugin's log (default: a temporary file).
    qemu : str, optional
        The QEMU executable (default: the core's ``qemu_system``, found on PATH).
    timeout : float
        Seconds before QEMU is killed.

    Returns
    -------
    QemuRun
        The exit status is not checked.

    Raises
    ------
    subprocess.TimeoutExpired
        When QEMU runs longer than ``timeout``.
    CompileError
        When the firmware has no ``bench_start`` / ``bench_stop`` (counting).
    ToolchainNotFoundError
        When the plugin cannot be built (counting).
    """
    spec = _core(core)
    cmd = [qemu or spec.qemu_system, *spec.qemu[1:], "-kernel", str(kernel), *args]
    with contextlib.ExitStack() as stack:
        log = None
        if count_instructions:
            marks = elf_symbols(kernel, ("bench_start", "bench_stop"), spec.nm_tool)
            if plugin is None:
                plugin = qemu_plugin_path()
            if log_file is None:
                log_file = Path(stack.enter_context(
                    tempfile.TemporaryDirectory(prefix="microlearn-icount-"))) / "icount.log"
            log = Path(log_file)
            log.unlink(missing_ok=True)
            cmd += ["-plugin",
                    f"{plugin},start={marks['bench_start']:#x},stop={marks['bench_stop']:#x}",
                    "-d", "plugin", "-D", str(log)]
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
        text = log.read_text(errors="replace") if log is not None and log.is_file() else None
    return QemuRun(command=cmd, returncode=proc.returncode, stdout=proc.stdout,
                   stderr=proc.stderr, icount_log=text)


# ---------------------------------------------------------------------------------------
# builds


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _check_args(target: str, prefix: str, kind: str, n_outputs: int, n_features: int) -> None:
    _spec(target)
    if not _IDENT.match(prefix):
        raise ValueError(f"prefix must be a C identifier, got {prefix!r}")
    if kind not in _TASK_IDS:
        raise ValueError(f"kind must be one of {', '.join(map(repr, _TASK_IDS))}, got {kind!r}")
    if int(n_outputs) < 1 or int(n_features) < 1:
        raise ValueError(
            f"n_outputs and n_features must be >= 1, got {n_outputs} and {n_features}"
        )


def _rows_c(X: np.ndarray) -> str:
    words = np.ascontiguousarray(X, dtype=np.float32).view(np.uint32).ravel()
    body = []
    for start in range(0, words.size, 8):
        body.append(",".join(f"0x{int(w):08x}u" for w in words[start:start + 8]))
    n_rows = X.shape[0]
    return (
        "/* data set for the microlearn target harness: float32 bit patterns, row-major */\n"
        "#include <stdint.h>\n"
        f"const uint32_t mlh_rows[{max(words.size, 1)}] = {{\n"
        + (",\n".join(body) if body else "0u")
        + "\n};\n"
        f"const uint32_t mlh_n_rows = {n_rows}u;\n"
    )


def _tail(text: str, n: int = 4000) -> str:
    return text if len(text) <= n else "..." + text[-n:]


def _run_all(cmds: Sequence[tuple[list[str], str]], cwd: Path) -> None:
    """Run build commands (at most two at a time); raise CompileError on the first failure."""

    def one(item: tuple[list[str], str]) -> tuple[list[str], str, subprocess.CompletedProcess]:
        cmd, what = item
        try:
            proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)
        except subprocess.TimeoutExpired:
            raise CompileError(f"{what}: the compiler timed out ({' '.join(cmd)})") from None
        return cmd, what, proc

    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        for cmd, what, proc in pool.map(one, cmds):
            if proc.returncode != 0:
                raise CompileError(
                    f"{what} failed ({' '.join(cmd)}):\n{_tail(proc.stderr or proc.stdout)}"
                )


def _sizes(spec: TargetSpec, path: Path) -> tuple[int, int, int]:
    """(text, data, bss) in Berkeley format: text includes .rodata and the vector table."""
    proc = subprocess.run([spec.size_tool, "-B", str(path)], capture_output=True, text=True,
                          timeout=60)
    if proc.returncode != 0:
        raise CompileError(f"{spec.size_tool} failed on {path.name}:\n{_tail(proc.stderr)}")
    for line in proc.stdout.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 3 and all(f.isdigit() for f in fields[:3]):
            return int(fields[0]), int(fields[1]), int(fields[2])
    raise CompileError(f"cannot read the output of {spec.size_tool}:\n{proc.stdout}")


_TASK_IDS = {"classifier": 0, "regressor": 1, "outlier_detector": 2, "transformer": 3}
_VALUES = ("predict_proba", "decision_function")


def _values(kind: str, values: str | None, n_values: int | None,
            n_outputs: int) -> tuple[str | None, int]:
    """The second (uncounted) call of class-returning models and the record width."""
    if kind in ("regressor", "transformer"):
        return None, int(n_outputs)
    if values is None:
        values = "predict_proba" if kind == "classifier" else "decision_function"
    if values not in _VALUES:
        raise ValueError(f"values must be one of {_VALUES}, got {values!r}")
    if n_values is None:
        n_values = int(n_outputs) if values == "predict_proba" else 1
    return values, int(n_values)


def _defines(prefix: str, kind: str, n_outputs: int, n_features: int,
             values: str | None = None, n_values: int = 0) -> list[str]:
    d = [
        f"-DMLH_PREFIX={prefix}",
        f"-DMLH_N_FEATURES={int(n_features)}",
        f"-DMLH_N_OUTPUTS={int(n_outputs)}",
        f"-DMLH_TASK={_TASK_IDS[kind]}",
        f"-DMLH_N_VALUES={int(n_values)}",
    ]
    if values:
        d.append(f"-DMLH_VALUES=_{values}")
    return d


def _build(spec: TargetSpec, build: Path, header_text: str, prefix: str, kind: str,
           n_outputs: int, n_features: int, X: np.ndarray | None,
           with_run: bool, values: str | None = None,
           n_values: int = 0) -> tuple[Footprint, Path | None]:
    """Build the size firmwares (model, stub) and, if asked, the firmware that is run."""
    (build / "model.h").write_text(header_text)
    cc = _cc(spec)
    defines = _defines(prefix, kind, n_outputs, n_features, values, n_values)
    includes = [f"-I{build}", f"-I{RUNTIME_DIR}"]

    if spec.linker_script is None:  # host: objects of the wrappers only
        cmds = []
        for name, extra in (("model", []), ("stub", ["-DMLH_STUB"])):
            cmds.append((
                [cc, *spec.cflags, "-fno-asynchronous-unwind-tables", "-DMLH_HOST", *defines,
                 *extra, *includes, "-c", str(HARNESS_C), "-o", str(build / f"{name}.o")],
                f"compiling the {name} harness for {spec.name}",
            ))
        _run_all(cmds, build)
        model = _sizes(spec, build / "model.o")
        stub = _sizes(spec, build / "stub.o")
        return _footprint(spec, model, stub), None

    rows = np.zeros((1, n_features), dtype=np.float32) if X is None else X
    (build / "rows.c").write_text(_rows_c(rows))
    link = [*spec.ldflags, "-T", str(RUNTIME_DIR / spec.linker_script)]
    _run_all([
        ([cc, *spec.cflags, "-c", str(build / "rows.c"), "-o", str(build / "rows.o")],
         f"compiling the data set for {spec.name}"),
        ([cc, *spec.cflags, *includes, "-c", str(STARTUP_C), "-o", str(build / "startup.o")],
         f"compiling the start-up code for {spec.name}"),
    ], build)

    def firmware(name: str, extra: list[str]) -> tuple[list[str], str]:
        return (
            [cc, *spec.cflags, *defines, *extra, *includes, str(HARNESS_C),
             str(build / "startup.o"), str(build / "rows.o"), *link, *spec.libs,
             "-o", str(build / f"{name}.elf")],
            f"building the {name} firmware for {spec.name}",
        )

    cmds = [firmware("model", ["-DMLH_WITH_PROBA=0"]),
            firmware("stub", ["-DMLH_STUB", "-DMLH_WITH_PROBA=0"])]
    run_elf: Path | None = None
    if with_run:
        if values:
            cmds.append(firmware("run", ["-DMLH_WITH_PROBA=1"]))
            run_elf = build / "run.elf"
        else:
            run_elf = build / "model.elf"
    _run_all(cmds, build)
    model = _sizes(spec, build / "model.elf")
    stub = _sizes(spec, build / "stub.elf")
    return _footprint(spec, model, stub), run_elf


def _footprint(spec: TargetSpec, model: tuple[int, int, int],
               stub: tuple[int, int, int]) -> Footprint:
    return Footprint(
        target=spec.name,
        flash_bytes=(model[0] + model[1]) - (stub[0] + stub[1]),
        ram_bytes=(model[1] + model[2]) - (stub[1] + stub[2]),
        firmware_flash_bytes=model[0] + model[1],
    )


@contextlib.contextmanager
def _build_dir(build_dir: str | os.PathLike[str] | None) -> Iterator[Path]:
    """A temporary build directory, or ``build_dir`` (created, kept) when given."""
    if build_dir is None:
        with tempfile.TemporaryDirectory(prefix="microlearn-target-") as tmp:
            yield Path(tmp)
    else:
        path = Path(build_dir)
        path.mkdir(parents=True, exist_ok=True)
        yield path


def footprint(target: str, header_text: str, prefix: str, kind: str, *, n_outputs: int,
              n_features: int, build_dir: str | os.PathLike[str] | None = None) -> Footprint:
    """Flash and static RAM of a generated model on a target (compiles, does not run).

    Parameters
    ----------
    target : str
        A name from :data:`TARGETS` (``"host"`` included).
    header_text : str
        The generated model header (the generated-header contract).
    prefix : str
        The model's C prefix.
    kind : {"classifier", "regressor"}
        Which functions the harness calls.
    n_outputs, n_features : int
        Must equal the header's ``PREFIX_N_OUTPUTS`` / ``PREFIX_N_FEATURES``.
    build_dir : path, optional
        Keep the build files there (default: a temporary directory).

    Returns
    -------
    Footprint

    Raises
    ------
    ToolchainNotFoundError
        When the target's toolchain is missing.
    CompileError
        When the header or the harness does not compile (the compiler's messages included).
    """
    _check_args(target, prefix, kind, n_outputs, n_features)
    values, n_rec = _values(kind, None, None, n_outputs)
    check_toolchain(target)
    spec = _spec(target)
    with _build_dir(build_dir) as build:
        if spec.simulator == "simavr":
            from . import avr

            fp, _ = avr.build(spec, build, header_text, _defines(
                prefix, kind, n_outputs, n_features, values, n_rec), False, values)
            return fp
        fp, _ = _build(spec, build, header_text, prefix, kind, n_outputs, n_features,
                       None, with_run=False, values=values, n_values=n_rec)
    return fp


# ---------------------------------------------------------------------------------------
# run


def _run_qemu(spec: TargetSpec, elf: Path, build: Path, count: bool,
              timeout: float) -> list[int] | None:
    assert spec.core is not None
    out_file = build / "mlh_out.bin"
    if out_file.exists():
        out_file.unlink()
    try:
        run = run_qemu(spec.core, elf, cwd=build, count_instructions=count,
                       log_file=build / "icount.log", timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise TargetRunError(
            f"{spec.name}: QEMU did not finish within {timeout:g} s ({' '.join(exc.cmd)}); "
            "a firmware that locks up (fault inside the fault handler) or a model that "
            "loops forever looks like this"
        ) from None
    if run.returncode != 0:
        reason = _EXIT_REASONS.get(run.returncode, "QEMU or the firmware failed")
        stderr = _tail(run.stderr.decode(errors="replace"), 2000)
        raise TargetRunError(
            f"{spec.name}: exit status {run.returncode}: {reason} "
            f"({' '.join(run.command)})" + (f":\n{stderr}" if stderr.strip() else "")
        )
    if not count:
        return None
    if run.icount_log is None:
        raise TargetRunError(f"{spec.name}: QEMU wrote no plugin log ({' '.join(run.command)})")
    try:
        regions, _ = parse_icount_log(run.icount_log)
    except TargetRunError as exc:
        raise TargetRunError(f"{spec.name}: {exc}") from None
    return regions


def _parse_results(data: bytes, n_rows: int, n_features: int, n_outputs: int, kind: str,
                   target: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """n_outputs: the record width (values per row)."""
    words = np.frombuffer(data, dtype="<u4")
    rec = 3 + n_outputs
    expected = 6 + n_rows * rec + 1
    if words.size != expected or words[0] != 0x31524C4D or words[-1] != 0x45524C4D:
        raise TargetRunError(
            f"{target}: the firmware's result file is incomplete or malformed "
            f"({words.size} words, expected {expected})"
        )
    header = [int(w) for w in words[1:5]]
    if header != [n_rows, n_features, n_outputs, _TASK_IDS[kind]]:
        raise TargetRunError(f"{target}: result header {header} does not match the build")
    body = words[6:-1].reshape(n_rows, rec)
    ret = body[:, 0].view(np.int32).copy()
    ret_proba = body[:, 1].view(np.int32).copy()
    stack = body[:, 2].astype(np.int64)
    values = body[:, 3:].copy().view(np.float32)
    return ret, ret_proba, stack, values


def measure(target: str, header_text: str, prefix: str, kind: str, X: np.ndarray, *,
            n_outputs: int, n_features: int, values: str | None = None,
            n_values: int | None = None, count_instructions: bool = True,
            timeout: float = 120.0,
            build_dir: str | os.PathLike[str] | None = None) -> TargetRun:
    """Run a generated model on every row of ``X`` on a target and measure it.

    One firmware is built that embeds the rows (float32, in flash) and calls the model on
    each, and it runs once in QEMU. Two more builds (same harness with the model and with
    a stub, without ``predict_proba``) give the model's flash and static RAM.

    Parameters
    ----------
    target : str
        A name from :data:`TARGETS`. ``"host"`` gives the footprint only (every
        run-related field is None).
    header_text : str
        The generated model header (the generated-header contract).
    prefix : str
        The model's C prefix (``PREFIX_predict`` ...).
    kind : {"classifier", "regressor", "outlier_detector", "transformer"}
        The task: classifiers and outlier detectors are measured on ``predict`` and also
        run ``values`` (uncounted); regressors on ``regress``, transformers on
        ``transform``.
    X : array-like of shape (n_rows, n_features)
        Input rows; converted to float32 (every bit pattern is kept: -0.0, inf, NaN).
    n_outputs, n_features : int
        Must equal the header's ``PREFIX_N_OUTPUTS`` / ``PREFIX_N_FEATURES`` (checked at
        compile time).
    values : {"predict_proba", "decision_function"}, optional
        Classifiers / outlier detectors: the function whose outputs are recorded
        (default: ``predict_proba`` for classifiers, ``decision_function`` for outlier
        detectors), with ``n_values`` outputs (default n_outputs / 1).
    count_instructions : bool, default True
        Count instructions with the QEMU plugin (built on first use). False skips the
        plugin; the instruction fields are then None.
    timeout : float, default 120
        Seconds QEMU may run.
    build_dir : path, optional
        Keep the build files there (default: a temporary directory, removed).

    Returns
    -------
    TargetRun

    Raises
    ------
    ToolchainNotFoundError
        When the target's toolchain (or the plugin header) is missing.
    CompileError
        When the header or the harness does not compile (the compiler's messages included).
    TargetRunError
        When the firmware faults, times out, overflows its stack or writes no results.
    """
    _check_args(target, prefix, kind, n_outputs, n_features)
    values, n_rec = _values(kind, values, n_values, n_outputs)
    spec = _spec(target)
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != int(n_features):
        raise ValueError(f"X must have shape (n_rows, {n_features}), got {X.shape}")
    X = np.ascontiguousarray(X, dtype=np.float32)
    if spec.runs and X.shape[0] < 1:
        raise ValueError("X has no rows")
    if X.nbytes > MAX_ROWS_BYTES:
        raise ValueError(
            f"X is {X.nbytes} bytes as float32; at most {MAX_ROWS_BYTES} bytes "
            f"({MAX_ROWS_BYTES // (4 * int(n_features))} rows of {n_features} features) fit "
            "in the emulated flash next to the model: measure on fewer rows"
        )
    check_toolchain(target)
    if not spec.runs:
        fp = footprint(target, header_text, prefix, kind, n_outputs=n_outputs,
                       n_features=n_features, build_dir=build_dir)
        return TargetRun(
            target=spec.name, machine=None, kind=kind, outputs=None, proba=None,
            return_codes=None, proba_return_codes=None, instructions=None,
            instructions_mean=None, instructions_max=None, flash_bytes=fp.flash_bytes,
            ram_bytes=fp.ram_bytes, stack_bytes=None,
        )
    n_rows = X.shape[0]
    if spec.simulator == "simavr":
        from . import avr

        machine = f"simavr {spec.name} {avr.CLOCK_HZ // 1_000_000} MHz"
        with _build_dir(build_dir) as build:
            fp, run_elf = avr.build(spec, build, header_text, _defines(
                prefix, kind, n_outputs, n_features, values, n_rec), True, values)
            assert run_elf is not None
            data, cycles = avr.run(spec, run_elf, build, X, timeout)
        regions: list[int] | None = cycles if count_instructions else None
    else:
        if count_instructions:
            qemu_plugin_path()  # fail early (and build it once) before compiling firmware
        assert spec.core is not None
        machine = CORES[spec.core].qemu_machine
        with _build_dir(build_dir) as build:
            fp, run_elf = _build(spec, build, header_text, prefix, kind, n_outputs,
                                 n_features, X, with_run=True, values=values, n_values=n_rec)
            assert run_elf is not None
            regions = _run_qemu(spec, run_elf, build, count_instructions, timeout)
            data = ((build / "mlh_out.bin").read_bytes()
                    if (build / "mlh_out.bin").exists() else b"")
    ret, ret_proba, stack, vals = _parse_results(data, n_rows, int(n_features), n_rec, kind,
                                                 spec.name)
    if np.any(stack == 0xFFFFFFFF):
        raise TargetRunError(
            f"{spec.name}: the model's stack use exceeds the free RAM of {machine}"
        )
    instructions = None
    if regions is not None:
        if len(regions) != n_rows + 1:
            raise TargetRunError(
                f"{spec.name}: the plugin reported {len(regions)} counted regions, expected "
                f"{n_rows + 1} (one calibration region and one per row)"
            )
        instructions = np.asarray(regions[1:], dtype=np.int64) - regions[0]
    classifier = kind in ("classifier", "outlier_detector")
    return TargetRun(
        target=spec.name,
        machine=machine,
        kind=kind,
        outputs=ret if classifier else vals,
        proba=vals if classifier else None,
        return_codes=ret,
        proba_return_codes=ret_proba if classifier else None,
        instructions=instructions,
        instructions_mean=None if instructions is None else float(instructions.mean()),
        instructions_max=None if instructions is None else int(instructions.max()),
        flash_bytes=fp.flash_bytes,
        ram_bytes=fp.ram_bytes,
        stack_bytes=int(stack.max()),
    )


# ---------------------------------------------------------------------------------------
# application firmware (examples/*/main.c: a whole device application on an emulated MCU)


@dataclass(frozen=True, eq=False)
class AppRun:
    """An application firmware built and run on an emulated MCU (:func:`run_app`).

    Attributes
    ----------
    console : str
        What the firmware printed on the semihosting console.
    returncode : int
        The firmware's exit status.
    instructions : list of int or None
        Instructions of each ``bench_start()`` .. ``bench_stop()`` region, in order; None
        when not counted (not asked, or the counting plugin is not available).
    text_bytes, data_bytes, bss_bytes : int
        The ELF's sizes (Berkeley format: text includes .rodata and the vector table).
    """

    console: str
    returncode: int
    instructions: list[int] | None
    text_bytes: int
    data_bytes: int
    bss_bytes: int


def run_app(target: str, sources: Sequence[str | os.PathLike[str]],
            build_dir: str | os.PathLike[str], *, name: str = "app",
            include_dirs: Sequence[str | os.PathLike[str]] = (),
            defines: Sequence[str] = (), count_instructions: bool = False,
            timeout: float = 600.0) -> AppRun:
    """Build an application firmware for an emulated target and run it in QEMU.

    The sources are compiled with the target's flags (as every footprint), linked with
    microlearn's start-up code and linker script, and run with ``build_dir`` as QEMU's
    working directory (the firmware's semihosting files are relative to it). Include
    ``mlh_app.h`` (runtime/target) in one source for semihosting I/O and the
    ``bench_start()`` / ``bench_stop()`` markers that ``count_instructions`` needs.

    Parameters
    ----------
    target : str
        An emulated target of :data:`TARGETS` (e.g. ``"cortex-m4f"``).
    sources : sequence of path-like
        The application's C files.
    build_dir : path-like
        Where the ELF is written and QEMU runs.
    name : str
        The ELF's name (``<name>.elf``).
    include_dirs : sequence of path-like
        More include directories; the runtime headers and runtime/target are always on
        the path.
    defines : sequence of str
        Preprocessor definitions (``"NAME=value"`` or ``"NAME"``).
    count_instructions : bool
        Count the instructions of each marked region; falls back to an uncounted run
        (``instructions=None``) when the counting plugin cannot be built.
    timeout : float
        Seconds before QEMU is killed.

    Returns
    -------
    AppRun
        The exit status is not checked.

    Raises
    ------
    ToolchainNotFoundError
        When the target's compiler or QEMU is missing.
    CompileError
        When the firmware does not build.
    """
    spec = _spec(target)
    check_toolchain(target)
    if not spec.runs or spec.core is None or spec.linker_script is None:
        raise ValueError(f"target {target!r} is not emulated: nothing to run the firmware on")
    build = Path(build_dir)
    build.mkdir(parents=True, exist_ok=True)
    elf = build / f"{name}.elf"
    cmd = [_cc(spec), *spec.cflags, *(f"-D{d}" for d in defines),
           *(f"-I{d}" for d in include_dirs), f"-I{RUNTIME_DIR.parent}", f"-I{RUNTIME_DIR}",
           *map(str, sources), str(STARTUP_C), *spec.ldflags,
           "-T", str(RUNTIME_DIR / spec.linker_script), *spec.libs, "-o", str(elf)]
    _run_all([(cmd, f"building the application firmware {elf.name} for {spec.name}")], build)
    text_b, data_b, bss_b = _sizes(spec, elf)
    counts: list[int] | None = None
    if count_instructions:
        try:
            run = run_qemu(spec.core, elf, cwd=build, count_instructions=True, timeout=timeout)
            if run.icount_log is not None:
                counts, _ = parse_icount_log(run.icount_log)
        except ToolchainNotFoundError:  # no plugin: run without counting
            run = run_qemu(spec.core, elf, cwd=build, timeout=timeout)
    else:
        run = run_qemu(spec.core, elf, cwd=build, timeout=timeout)
    # the semihosting console: QEMU writes it to stdout or stderr (version dependent)
    console = run.stdout.decode(errors="replace") + run.stderr.decode(errors="replace")
    return AppRun(console=console, returncode=run.returncode, instructions=counts,
                  text_bytes=text_b, data_bytes=data_b, bss_bytes=bss_b)
