"""The ``microlearn_mp`` MicroPython module: native .mpy per architecture, pure-Python
fallback, and mip packages.

On the device::

    import array, microlearn_mp as ml
    model = ml.load("model.mlb")        # written by Model.save_blob()
    model.predict(array.array("f", features))

Sources: ``runtime/micropython/microlearn_mp.c`` (native, built from the same C runtime as
the generated headers) and ``runtime/micropython/microlearn_mp.py`` (fallback, same API).
The lean build (:func:`build_lean`, tree forests with the least heap):
``runtime/micropython/microlearn_mp_engine.c`` (one engine per node-table layout) and the
fallback's loader part as ``microlearn_mp_check``.
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
ENGINE_C = SOURCE_DIR / "microlearn_mp_engine.c"
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


#: the lean engines (build_lean): dynruntime's -Os, the walk at -O2 (a function attribute)
ENGINE_CFLAGS = ("-O2", "-fno-tree-loop-distribute-patterns")

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


#: node-table layouts of a forest (feature bytes, child bytes with 0 = compact one-byte
#: relative codes, 1-byte threshold indices): one lean engine module each
TREE_LAYOUTS = tuple((fb, cb, t8) for fb in (1, 2, 4) for cb in (0, 1, 2, 4) for t8 in (0, 1))


def tree_layout_name(fb: int, cb: int, t8: int) -> str:
    """Module name of the lean engine for one node-table layout, e.g.
    ``microlearn_mp_trees_u8_r8_t8`` (what the pure-Python loader asks for)."""
    return f"{MODULE}_trees_u{8 * fb}_{f'i{8 * cb}' if cb else 'r8'}{'_t8' if t8 else ''}"


def tree_layouts(for_model: str | Path | bytes) -> tuple[list[tuple[int, int, int]], bool]:
    """The forest node-table layouts of a model file, and whether it also needs a full
    family module (a pipeline, another family or a boosted ensemble)."""
    import struct

    from . import blob
    from . import families as fams

    data = bytes(for_model) if isinstance(for_model, (bytes, bytearray)) else Path(
        for_model).read_bytes()
    sections = blob.read(data)
    trees_id = fams.family("trees").section_id
    if len(sections) != 1 or sections[0]["family_id"] != trees_id or _has_boosted_trees(
            data, sections, trees_id):
        return [], True
    h = sections[0]["offset"] + sections[0]["header"]
    return [(data[h + 28], data[h + 29], int(struct.unpack_from("<I", data, h + 76)[0] != 0))
            ], False


#: the layout of the lean build's ``microlearn_mp.mpy`` when it is not built for a model:
#: 1-byte features, compact child codes, 1-byte threshold indices (the default files of
#: models with < 256 features and <= 256 distinct thresholds)
DEFAULT_LAYOUT = (1, 0, 1)

#: appended to the fallback's loader part to make ``microlearn_mp_check`` (lean build)
_CHECK_TAIL = '''

def _crc32(data):
    # the engine's C: fast on every port (binascii may be missing) and no new names
    import microlearn_mp

    return microlearn_mp._crc(data)


class _Holder:
    pass


def _fields(h, sec, inv):
    # (engine module, validated header for its _new) of the trees section header h at
    # file offset sec (table offsets in h are from the section)
    fb, cb, thr, nn = h[7], h[8], h[22], h[4]
    # (one long string: short literals would be interned as qstrs, which stay)
    name = "microlearn_mp_trees_u%d_%c%d_t8" % (8 * fb, 105 if cb else 114, 8 * (cb or 1))
    t = (sec + h[12], 0, sec + h[24]) if thr else (0, sec + h[12], 0)
    return (name if thr else name[:-3],
            (h[1], h[2], h[3], nn, h[5], h[6], inv, sec + h[17], sec + h[20] if h[19] else 0,
             sec + h[21], fb, cb, sec + h[11], t[1], t[0], t[2], sec + h[13], sec + h[14],
             sec + h[15], sec + h[16] if nn and h[9] else 0))


def _model(data, keep):
    # the engine of the file's layout makes the model (keep: what it holds: the buffer, or
    # the address of a file in flash); None: a file for the full family modules
    o = _Holder()
    try:
        _load(o, data, 1)
    except ValueError as e:
        if "native" in str(e):  # a file the fallback does not run either
            return None
        raise
    name, fields = _fields(*o.lean)
    import microlearn_mp as e

    if e._LAYOUT != fields[10] * 100 + fields[11] * 10 + (fields[14] != 0):
        try:
            e = __import__(name)
        except ImportError:
            raise ValueError("model blob: needs the module " + name
                             + " (install it next to microlearn_mp)")
    return e._new(keep, struct.pack("<20I", *fields))


def _full(method, *args):
    try:
        mod = __import__("microlearn_mp_split")
    except ImportError:
        raise ValueError("model blob: needs the full family modules (microlearn micropython "
                         "build --lean --for this file)")
    return getattr(mod, method)(*args)


def load(src):
    # imported for one load: drops itself, so the GC frees its code
    import sys

    try:
        if isinstance(src, str):
            with open(src, "rb") as f:
                n = f.seek(0, 2)
                f.seek(0)
                data = bytearray(n)  # the model's: nothing else can change it
                if f.readinto(data) != n:
                    raise ValueError("model blob: cannot read the whole file")
        elif isinstance(src, bytes):
            data = src  # cannot change: read in place
        else:
            data = bytearray(src)  # a copy: later changes to src cannot reach the model
        m = _model(data, data)
        return m if m is not None else _full("load", src)
    finally:
        del sys.modules[__name__]


def load_at(address, size):
    import sys

    import microlearn_mp

    try:
        m = _model(microlearn_mp._at(address, size), address)
        return m if m is not None else _full("load_at", address, size)
    finally:
        del sys.modules[__name__]
'''


#: names every MicroPython port has as ROM qstrs (methods of its core types) and that are
#: not builtins: the lean loader's own names are renamed to these, so loading it interns
#: (and leaves on the heap: qstrs are never freed) as few new names as possible
_ROM_NAMES = ("append", "extend", "insert", "remove", "reverse", "sort", "popitem",
              "setdefault", "fromkeys", "rfind", "rindex", "rsplit", "lstrip", "rstrip",
              "startswith", "endswith", "isspace", "isalpha", "isdigit", "isupper",
              "islower", "center", "partition", "rpartition", "difference", "intersection",
              "discard", "issubset", "issuperset", "union", "upper", "lower", "split",
              "strip", "join", "replace", "find", "count", "keys", "values", "items",
              "update", "clear", "copy", "get", "pop", "add", "encode", "decode", "format",
              "send", "throw", "tell", "flush", "readline", "write", "read", "close")


def _rom_names(source: str, keep: set[str]) -> str:
    """``source`` with the names a compiled module keeps as qstrs (functions, classes,
    globals, parameters and attributes of ``o``, the loader's holder) renamed to
    :data:`_ROM_NAMES` not used in it; every occurrence is renamed, so the code is the
    same. Kept: keywords, builtins, dunder names, ``keep``, names of methods of the core
    types (ROM qstrs already), and attributes of other objects."""
    import ast
    import builtins
    import io
    import keyword
    import tokenize

    tree = ast.parse(source)
    own: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            own.append(node.name)
        if isinstance(node, ast.arguments):  # (their names are kept for keyword calls)
            own += [a.arg for a in [*node.args, *node.kwonlyargs]]
            own += [a.arg for a in (node.vararg, node.kwarg) if a is not None]
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id == "o":
            own.append(node.attr)
    for node in tree.body:
        if isinstance(node, ast.Assign):
            for t in node.targets:
                own += [e.id for e in (t.elts if isinstance(t, ast.Tuple) else [t])
                        if isinstance(e, ast.Name)]
    core = set(dir(str)) | set(dir(list)) | set(dir(dict)) | set(dir(bytes)) | set(dir(set))
    fixed = set(keyword.kwlist) | set(dir(builtins)) | keep | core
    toks = list(tokenize.generate_tokens(io.StringIO(source).readline))
    used = {t.string for t in toks if t.type == tokenize.NAME}
    pool = [n for n in _ROM_NAMES if n not in used]
    mapping: dict[str, str] = {}
    for name in own:
        if name not in fixed and not name.startswith("__") and name not in mapping and pool:
            mapping[name] = pool.pop(0)
    out = []
    for i, t in enumerate(toks):
        s = t.string
        if t.type == tokenize.NAME and s in mapping and not (
                i >= 2 and toks[i - 1].string == "." and toks[i - 2].string != "o"):
            s = mapping[s]
        out.append((t.type, s))
    return tokenize.untokenize(out)


def _slice_short_strings(source: str, limit: int = 10) -> str:
    """``source`` with its short string literals (at most ``limit`` characters: those
    MicroPython's compiler interns as qstrs, which are never freed) replaced by slices of
    one long string defined first (a slice makes a plain str object). Literals next to
    another string (implicit concatenation), bytes and f-strings are kept."""
    import ast
    import io
    import tokenize

    toks = list(tokenize.generate_tokens(io.StringIO(source).readline))
    pool = ""
    out = []
    sig = [i for i, t in enumerate(toks) if t.type not in (
        tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT)]
    near = {}
    for k, i in enumerate(sig):
        near[i] = (toks[sig[k - 1]].type if k else None,
                   toks[sig[k + 1]].type if k + 1 < len(sig) else None)
    for i, t in enumerate(toks):
        if t.type == tokenize.STRING and t.string[:1] in "\"'" and \
                tokenize.STRING not in near.get(i, ()):
            value = ast.literal_eval(t.string)
            if isinstance(value, str) and len(value) <= limit:
                at = pool.find(value) if value else 0
                if at < 0:
                    at = len(pool)
                    pool += value
                out.append((tokenize.NAME, f"_STRINGS[{at}:{at + len(value)}]"))
                continue
        out.append((t.type, t.string))
    text = tokenize.untokenize(out)
    if len(pool) <= limit:
        pool += " " * (limit + 1 - len(pool))  # (itself not a short literal)
    return f"_STRINGS = {pool!r}\n" + text


def lean_check_source() -> str:
    """Source of ``microlearn_mp_check`` (the lean build's loader): the pure-Python
    fallback's loader part (between its ``lean-loader`` markers), so both validate files
    with the same code, plus ``load`` / ``load_at``, which the engine's call."""
    text = FALLBACK_PY.read_text()
    begin = text.index("# lean-loader: begin")
    end = text.index("# lean-loader: end")
    return ("# microlearn_mp_check: the loader of the lean build (written by microlearn "
            "micropython build --lean\n# from microlearn_mp.py, the fallback)\n"
            + text[begin:end].rstrip() + "\n" + _CHECK_TAIL)


#: names the lean loader shares with the engines, the split modules and the port
_CHECK_KEEP = {"struct", "array", "binascii", "sys", "microlearn_mp", "load", "load_at", "e"}


def _py_module(out: Path, name: str, source: str) -> Path:
    """``name.mpy`` compiled with mpy-cross when the ``mpy-cross-v6.3`` package is installed
    (less heap on the device: no compiler run, fewer interned names), else ``name.py``."""
    try:
        from mpy_cross_v6_3 import mpy_cross_compile
    except ImportError:
        mpy_cross_compile = None
    if mpy_cross_compile is not None:
        # (source name = the file's name: the device interns one name, not two)
        proc, data = mpy_cross_compile(f"{name}.mpy", source, optimization_level=3)
        if proc.returncode == 0 and data:
            (out / f"{name}.mpy").write_bytes(data)
            return out / f"{name}.mpy"
    (out / f"{name}.py").write_text(source)
    return out / f"{name}.py"


def build_lean(arch: str, out_dir: str | Path, for_model: str | Path | bytes | None = None,
               layouts: list[tuple[int, int, int]] | None = None) -> list[Path]:
    """The lean build: ``microlearn_mp.mpy``, a small native engine for one forest
    node-table layout (the walk, the Model type, ``load`` / ``load_at``), the engines of the
    other layouts as ``microlearn_mp_trees_<layout>.mpy``, and ``microlearn_mp_check``, the
    pure-Python loader that validates a file during a load and is then dropped; plus a mip
    ``package.json``. A device holds one engine's code (about 2.6 KB of heap on armv7emsp)
    instead of the whole module's.

    Parameters
    ----------
    arch : str
        A native-module arch (not ``"py"``).
    out_dir : path
        Output folder (created).
    for_model : path or bytes, optional
        Build what this model file needs: ``microlearn_mp.mpy`` for its layout; for a file
        the engines do not run (a pipeline, another family, a boosted ensemble) also the
        full family modules of :func:`build_split` (``microlearn_mp_split.py`` picks them).
    layouts : list of (feature bytes, child bytes, threshold index), optional
        The other engines to build (default: none with ``for_model``, else every layout of
        :data:`TREE_LAYOUTS`).

    Returns
    -------
    list of Path
        The files written.
    """
    from . import micropython_build

    if arch == "py":
        raise ValueError("--lean builds native engines; use --arch py without it")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    primary = DEFAULT_LAYOUT
    if for_model is not None:
        found, needs_full = tree_layouts(for_model)
        primary = found[0] if found else DEFAULT_LAYOUT
        if needs_full:
            files = build_split(arch, out, family_set(for_model=for_model))[:-1]
            split = out / f"{MODULE}_split.py"
            files[-1].replace(split)
            files[-1] = split
    others = ([] if for_model is not None else list(TREE_LAYOUTS)) if layouts is None \
        else list(layouts)
    bad = [t for t in [primary, *others] if t not in TREE_LAYOUTS]
    if bad:
        raise ValueError(f"layouts={bad}: not (feature bytes 1/2/4, child bytes 0/1/2/4, "
                         "threshold index 0/1)")
    def engine(t: tuple[int, int, int]) -> Path:
        name = tree_layout_name(*t)
        return micropython_build.build_natmod(
            [ENGINE_C], MODULE if t == primary else name, arch, out,
            extra_cflags=(f"-I{SOURCE_DIR.parent}",
                          f"-DMLMP_LAYOUT={name[len(MODULE) + len('_trees_'):]}",
                          f"-DMLMP_FB={t[0]}", f"-DMLMP_CB={t[1]}", f"-DMLMP_T8={t[2]}",
                          *ENGINE_CFLAGS))

    import os
    from concurrent.futures import ThreadPoolExecutor

    todo = [primary, *[o for o in others if o != primary]]
    with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
        files += list(pool.map(engine, todo))  # (each build in its own folder)
    files.append(_py_module(out, f"{MODULE}_check", _rom_names(
        _slice_short_strings(lean_check_source()), _CHECK_KEEP)))
    pkg = out / "package.json"
    pkg.write_text(_package_json([[f.name, f.name] for f in files]))
    return [*files, pkg]
