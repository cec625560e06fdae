"""The ``microlearn_mp`` MicroPython module: native .mpy per architecture, pure-Python
fallback, and mip packages.

On the device::

    import array, microlearn_mp as ml
    model = ml.load("model.mlb")        # written by Model.save_blob()
    model.predict(array.array("f", features))

Sources: ``runtime/micropython/microlearn_mp.c`` (native, built from the same C runtime as
the generated headers) and ``runtime/micropython/microlearn_mp.py`` (fallback, same API).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from . import __version__

SOURCE_DIR = Path(__file__).resolve().parent / "runtime" / "micropython"
NATIVE_C = SOURCE_DIR / "microlearn_mp.c"
FALLBACK_PY = SOURCE_DIR / "microlearn_mp.py"
SPLIT_PY = SOURCE_DIR / "microlearn_mp_split.py"
MODULE = "microlearn_mp"
#: added to dynruntime's -Os: the tree loop is what runs, and it is faster at -O2 (the
#: module grows by a few hundred bytes); no memset/memcpy calls for short loops
NATIVE_CFLAGS = ("-O2", "-fno-tree-loop-distribute-patterns")

#: which native-module architecture a board needs (MicroPython's ``sys.implementation._mpy``)
BOARD_ARCH = {
    "ESP32": "xtensawin",
    "ESP32-S3": "xtensawin",
    "ESP32-C3": "rv32imc",
    "RP2040 (Raspberry Pi Pico)": "armv6m",
    "RP2350 (Raspberry Pi Pico 2)": "armv7emsp",
    "nRF52840": "armv7emsp",
    "STM32F4": "armv7emsp",
    "STM32F7 / STM32H7": "armv7emdp",
    "unix port on x86-64": "x64",
}


#: families whose engines build into a native module on every arch: no libm calls (the
#: engines use ml_math.h's ml_expf / ml_logf / ml_sqrtf / ml_divf ... instead, which MicroPython
#: v1.23's natmod linker can link) and no libgcc float / double division on Armv6-M
NATIVE_FAMILIES = ("trees", "linear", "svm", "naive_bayes", "mixture", "preprocessing",
                   "neighbors", "nets", "dsp")


class FamilySet(list):
    """:func:`family_set`'s answer: a list of (section id, name), plus ``cflags``, the C
    macros that leave engine parts out of the module (``-DML_TREES_BOOSTED=0`` when a
    ``for_model`` file has no boosted tree ensemble). :func:`build` passes them to the
    compiler; :func:`build_split` builds every family complete."""

    def __init__(self, items=(), cflags: tuple[str, ...] = ()):
        super().__init__(items)
        self.cflags = tuple(cflags)


def _has_boosted_trees(data: bytes, sections: list[dict], trees_id: int) -> bool:
    """True when a trees section of the model file is a boosted ensemble: tree-section
    layout 2 (the u32 at byte 88 of its header, see families/trees/section.py)."""
    import struct

    for s in sections:
        at = s["offset"] + s["header"] + 88
        if s["family_id"] == trees_id and (at + 4 > len(data)
                                           or struct.unpack_from("<I", data, at)[0] != 0):
            return True  # layout 2 (or unreadable: keep the complete engine)
    return False


def family_set(families: str | list[str] | None = None,
               for_model: str | Path | bytes | None = None) -> FamilySet:
    """(section id, name) of the families a module carries: ``families`` (names, or a
    comma-separated string), the families of the model file ``for_model``, or (both None)
    every family ``ml_model.h`` knows. With ``for_model`` the result's ``cflags`` also
    leave out the boosted-ensemble tree engine when the file's tree sections are all plain
    forests (``-DML_TREES_BOOSTED=0``: 10 KB less module code on armv7emsp)."""
    from . import blob
    from . import families as fams

    known = {fams.family(n).section_id: n for n in fams.FAMILIES}
    in_c = _c_families()
    cflags: tuple[str, ...] = ()
    if for_model is not None:
        data = bytes(for_model) if isinstance(for_model, (bytes, bytearray)) else Path(
            for_model).read_bytes()
        sections = blob.read(data)
        ids = sorted({s["family_id"] for s in sections})
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise ValueError(f"the model file has sections of unknown family ids {unknown}")
        names = [known[i] for i in ids]
        if "trees" in names and not _has_boosted_trees(
                data, sections, fams.family("trees").section_id):
            cflags = ("-DML_TREES_BOOSTED=0",)
    elif families is not None:
        names = ([f.strip() for f in families.split(",") if f.strip()]
                 if isinstance(families, str) else list(families))
        bad = [n for n in names if n not in fams.FAMILIES]
        if bad or not names:
            raise ValueError(f"families={families!r}: unknown {bad}; known: "
                             f"{', '.join(fams.FAMILIES)}")
    else:
        return FamilySet(sorted(p for p in in_c if p[1] in NATIVE_FAMILIES))
    out = []
    for n in names:
        sid = fams.family(n).section_id
        if (sid, n) not in in_c:
            raise ValueError(f"family {n!r} has no model-file engine in ml_model.h yet")
        if n not in NATIVE_FAMILIES:
            raise ValueError(f"family {n!r} cannot be built into the native module yet: its "
                             "engine calls libm functions (expf, logf, sqrtf) that MicroPython "
                             "v1.23's native-module linker cannot link")
        out.append((sid, n))
    return FamilySet(sorted(set(out)), cflags)


def _c_families() -> list[tuple[int, str]]:
    """(id, name) pairs listed in ml_model.h's default ML_MODEL_FAMILIES."""
    import re

    text = (SOURCE_DIR.parent / "ml_model.h").read_text()
    line = re.search(r"#define ML_MODEL_FAMILIES\(X\)(.*)", text).group(1)
    return [(int(i), n) for i, n in re.findall(r"X\((\d+),\s*([a-z_]+)\)", line)]


def build_all(out_dir: str | Path, families: list[tuple[int, str]] | None = None
              ) -> tuple[dict[str, list[Path]], dict[str, str]]:
    """Build every architecture whose toolchain is installed, plus the fallback, into
    ``out_dir/<arch>/`` (each folder a mip package).

    Returns
    -------
    built : dict
        arch -> files written.
    skipped : dict
        arch -> why it was not built (no toolchain here, or the build failed).
    """
    from . import micropython_build

    out = Path(out_dir)
    available = micropython_build.available_natmod_arches()
    skipped = {a: "toolchain not installed or not supported by MicroPython v1.23's natmod build"
               for a in micropython_build.NATMOD_ARCHES if a not in available}
    skipped["rv32imc"] = ("MicroPython v1.23's natmod build (dynruntime.mk, mpy_ld.py) has no "
                          "RISC-V support; it arrived in v1.24")
    built = {}
    for arch in [*available, "py"]:
        try:
            built[arch] = build(arch, out / arch, families)
        except micropython_build.MicroPythonBuildError as e:
            skipped[arch] = str(e).splitlines()[0]
    return built, skipped


def _package_json(urls: list[list[str]]) -> str:
    return json.dumps({"urls": urls, "version": __version__}, indent=2) + "\n"


def _build_module(arch: str, out: Path, module: str,
                  families: list[tuple[int, str]], cflags: tuple[str, ...] = ()) -> Path:
    import tempfile

    from . import micropython_build

    runtime = SOURCE_DIR.parent
    with tempfile.TemporaryDirectory(prefix="mlmp-config-") as cfg:
        (Path(cfg) / "mlmp_families.h").write_text(
            "/* generated by microlearn micropython build */\n"
            "#define ML_MODEL_FAMILIES(X) "
            + " ".join(f"X({i}, {n})" for i, n in families) + "\n")
        return micropython_build.build_natmod(
            [NATIVE_C], module, arch, out,
            extra_cflags=(f"-I{runtime}", f"-I{cfg}", "-DMLMP_FAMILIES=1", *NATIVE_CFLAGS,
                          *cflags))


def build_split(arch: str, out_dir: str | Path,
                families: list[tuple[int, str]] | None = None) -> list[Path]:
    """One native module per family, ``microlearn_mp_<family>.mpy``, plus the dispatcher
    ``microlearn_mp.py`` that picks them from a model file's sections (same API as the
    single module), and a mip ``package.json`` listing them all. A device installs only
    the family modules its models use.

    Parameters
    ----------
    arch : str
        A native-module arch (not ``"py"``).
    out_dir : path
        Output folder (created).
    families : list of (section id, name), optional
        The families to build (:func:`family_set`); default all. Each family module is
        built complete (a :class:`FamilySet`'s ``cflags`` are not applied), so it runs any
        model of its family.

    Returns
    -------
    list of Path
        The family modules, the dispatcher and ``package.json``.
    """
    if arch == "py":
        raise ValueError("--split builds native family modules; use --arch py without it")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    chosen = family_set() if families is None else families
    files = [_build_module(arch, out, f"{MODULE}_{name}", [(i, name)]) for i, name in chosen]
    dispatcher = out / f"{MODULE}.py"
    shutil.copyfile(SPLIT_PY, dispatcher)
    files.append(dispatcher)
    pkg = out / "package.json"
    pkg.write_text(_package_json([[f.name, f.name] for f in files]))
    return [*files, pkg]


def build(arch: str, out_dir: str | Path, families: list[tuple[int, str]] | None = None
          ) -> list[Path]:
    """Build the native module for ``arch`` into ``out_dir`` with a mip ``package.json``.

    Parameters
    ----------
    arch : str
        ``x64``, ``armv6m``, ``armv7m``, ``armv7emsp``, ``armv7emdp`` (and others if their
        toolchain is installed); ``"py"`` writes the pure-Python fallback instead.
    out_dir : path
        Output folder (created).
    families : list of (section id, name), optional
        The family engines the module carries (:func:`family_set`); default all. A
        device pays flash/heap only for the engines in its module. A :class:`FamilySet`'s
        ``cflags`` (from ``family_set(for_model=...)``) are passed to the compiler.

    Returns
    -------
    list of Path
        The files written: ``microlearn_mp.mpy`` (or ``.py``) and ``package.json``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if arch == "py":
        target = out / f"{MODULE}.py"
        shutil.copyfile(FALLBACK_PY, target)
    else:
        chosen = family_set() if families is None else families
        target = _build_module(arch, out, MODULE, chosen, getattr(chosen, "cflags", ()))
    pkg = out / "package.json"
    pkg.write_text(_package_json([[target.name, target.name]]))
    return [target, pkg]
