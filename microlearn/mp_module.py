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


def build_all(out_dir: str | Path) -> tuple[dict[str, list[Path]], dict[str, str]]:
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
            built[arch] = build(arch, out / arch)
        except micropython_build.MicroPythonBuildError as e:
            skipped[arch] = str(e).splitlines()[0]
    return built, skipped


def _package_json(urls: list[list[str]]) -> str:
    return json.dumps({"urls": urls, "version": __version__}, indent=2) + "\n"


def build(arch: str, out_dir: str | Path) -> list[Path]:
    """Build the native module for ``arch`` into ``out_dir`` with a mip ``package.json``.

    Parameters
    ----------
    arch : str
        ``x64``, ``armv6m``, ``armv7m``, ``armv7emsp``, ``armv7emdp`` (and others if their
        toolchain is installed); ``"py"`` writes the pure-Python fallback instead.
    out_dir : path
        Output folder (created).

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
        from . import micropython_build

        runtime = SOURCE_DIR.parent
        target = micropython_build.build_natmod([NATIVE_C], MODULE, arch, out,
                                                extra_cflags=(f"-I{runtime}", *NATIVE_CFLAGS))
    pkg = out / "package.json"
    pkg.write_text(_package_json([[target.name, target.name]]))
    return [target, pkg]
