"""Platform packaging: PlatformIO ``library.json``, the ESP-IDF component
(``idf_component.yml`` + root ``CMakeLists.txt``), the Zephyr module (``zephyr/``), and the
samples of examples/platforms/.

Manifests are checked with each ecosystem's own validator where one installs offline:
PlatformIO's manifest parser and schema (``platformio`` package; its SPDX licence list is
downloaded at run time, so the test gives it the one identifier used), the IDF Component
Manager's manifest model and file filter (``idf-component-manager``), Zephyr's Kconfig
parser (``kconfiglib``, what Zephyr's build uses). Zephyr's ``module.yml`` schema lives in
Zephyr's scripts (not installable): a pykwalify schema of its documented fields is written
here. Each validator is shown to reject a broken manifest, so the checks can fail.

Samples: the plain-CMake sample is configured, built with host cmake and run (its
predictions equal the Python model's); the Zephyr, ESP-IDF and PlatformIO samples' C is
cross-compiled with the strict warning flags for Cortex-M4F (arm-none-eabi-gcc, as a Zephyr
board build) and RV32IMC (riscv64-unknown-elf-gcc, as ESP32-C3), linked where the sample
has a ``main``, and run in QEMU (mps2-an386, RV32 virt): the lines it prints equal the
host model's. No Zephyr SDK, ESP-IDF or PlatformIO toolchain is installed here, and no
Xtensa compiler exists in Debian: those builds are not run.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "examples" / "platforms"
STRICT = ["-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Wconversion", "-Wdouble-promotion",
          "-Werror", "-ffp-contract=off"]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """model.h and rows.h from the samples' train.py, plus the model and rows."""
    out = tmp_path_factory.mktemp("generated")
    r = subprocess.run([sys.executable, str(SAMPLES / "train.py"), str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    sys.path.insert(0, str(SAMPLES))
    try:
        import train
    finally:
        sys.path.remove(str(SAMPLES))
    clf, rows = train.train()
    return out, clf, rows


# --- PlatformIO --------------------------------------------------------------------------

# library.json "build" fields (docs.platformio.org, manifests/library-json/fields/build)
_PIO_BUILD = {"flags", "unflags", "includeDir", "srcDir", "srcFilter", "extraScript",
              "libArchive", "libLDFMode", "libCompatMode", "builder"}


def _pio_validate(data: dict) -> dict:
    from platformio.package.manifest.parser import LibraryJsonManifestParser
    from platformio.package.manifest.schema import ManifestSchema

    class OfflineSchema(ManifestSchema):
        @staticmethod
        def load_spdx_licenses():  # PlatformIO downloads the SPDX list; offline: ours
            return {"licenses": [{"licenseId": "MIT"}]}

    parsed = LibraryJsonManifestParser(json.dumps(data)).as_dict()
    return OfflineSchema().load_manifest(parsed)


def test_platformio_library_json():
    from platformio.package.exception import ManifestValidationError

    data = json.loads((ROOT / "library.json").read_text())
    out = _pio_validate(data)
    assert out["name"] == "microlearn" and out["license"] == "MIT"
    import microlearn
    assert out["version"] == microlearn.__version__
    assert set(data["build"]) <= _PIO_BUILD, set(data["build"]) - _PIO_BUILD
    inc = ROOT / data["build"]["includeDir"]
    assert (inc / "ml_common.h").is_file() and inc.resolve() == Path(microlearn.includedir())
    for h in data["headers"]:
        assert (inc / h).is_file(), h
    assert "-ffp-contract=off" in data["build"]["flags"]
    for pattern in data["export"]["include"]:
        assert list(ROOT.glob(pattern)), pattern
    for ex in out["examples"]:
        for f in ex["files"]:
            assert (ROOT / ex["base"] / f).is_file(), (ex["base"], f)
    # the validator rejects what is wrong
    for key, value in (("name", "micro/learn"), ("keywords", ["a;b"]), ("version", ""),
                       ("license", "Not-A-Licence"), ("homepage", "not a url")):
        bad = copy.deepcopy(data)
        bad[key] = value
        with pytest.raises(ManifestValidationError):
            _pio_validate(bad)
    ini = (SAMPLES / "platformio" / "platformio.ini").read_text()
    assert "symlink://../../.." in ini and (SAMPLES / "platformio" / "../../..").resolve() == ROOT


# --- ESP-IDF -----------------------------------------------------------------------------


def _idf_errors(path: Path, name: str | None, upload: bool) -> list[str]:
    from idf_component_tools.manager import ManifestManager, UploadMode

    mode = UploadMode.component if upload else UploadMode.false
    m = ManifestManager(path, name, upload_mode=mode).validate()
    return list(m._validation_errors or [])


def test_espidf_component(tmp_path):
    from idf_component_tools.file_tools import filtered_paths

    assert _idf_errors(ROOT, "microlearn", upload=True) == []
    data = yaml.safe_load((ROOT / "idf_component.yml").read_text())
    import microlearn
    assert data["version"] == microlearn.__version__
    # what a packed component holds: the manifests, the licence and the runtime headers
    # (filtered from a copy of the repository's files: not .venv, build output, caches)
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True)
    names = listed.stdout.split() if listed.returncode == 0 else []
    if not names:      # not a git checkout (an sdist): the files the manifest names
        names = [p.relative_to(ROOT).as_posix() for pat in data["files"]["include"]
                 for p in ROOT.glob(pat)]
    tree = tmp_path / "tree"
    for name in names:
        if (ROOT / name).is_file():
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ROOT / name, tree / name)
    files = filtered_paths(tree, include=data["files"]["include"],
                           exclude=data["files"]["exclude"])
    rel = {p.relative_to(tree).as_posix() for p in files if p.is_file()}
    headers = {p.relative_to(ROOT).as_posix() for p in (ROOT / "microlearn/runtime").glob("*.h")}
    assert headers and headers <= rel
    assert rel - headers == {"CMakeLists.txt", "idf_component.yml", "LICENSE", "README.md"}
    for ex in data["examples"]:
        assert (ROOT / ex["path"] / "main" / "CMakeLists.txt").is_file()
    # the sample's dependency on this repository
    main = SAMPLES / "espidf" / "main"
    assert _idf_errors(main, None, upload=False) == []
    dep = yaml.safe_load((main / "idf_component.yml").read_text())["dependencies"]["microlearn"]
    assert (main / dep["path"]).resolve() == ROOT
    assert "REQUIRES microlearn" in (main / "CMakeLists.txt").read_text()
    # the root CMakeLists.txt registers the component under ESP-IDF
    cm = (ROOT / "CMakeLists.txt").read_text()
    assert re.search(r'if\(ESP_PLATFORM\)\s*\n\s*idf_component_register\(INCLUDE_DIRS '
                     r'"microlearn/runtime"\)', cm)
    # the validator rejects what is wrong
    for key, value in (("version", "one"), ("url", "not a url"), ("tags", ["a b!"]),
                       ("dependencies", {"idf": {"version": ">>4"}})):
        bad = dict(data, **{key: value})
        (tmp_path / "idf_component.yml").write_text(yaml.safe_dump(bad))
        assert _idf_errors(tmp_path, "microlearn", upload=True), key


# --- Zephyr ------------------------------------------------------------------------------

# Zephyr's zephyr/module.yml, as documented (docs: develop/modules, "Module yaml file
# description"): a name, build settings (cmake / kconfig paths relative to the module root,
# or the -ext variants; settings roots; depends), samples / tests / boards path lists.
ZEPHYR_MODULE_SCHEMA = {
    "type": "map",
    "mapping": {
        "name": {"type": "str", "pattern": r"^[A-Za-z0-9_.-]+$"},
        "build": {"type": "map", "mapping": {
            "cmake": {"type": "str"},
            "kconfig": {"type": "str"},
            "cmake-ext": {"type": "bool"},
            "kconfig-ext": {"type": "bool"},
            "sysbuild-cmake": {"type": "str"},
            "sysbuild-kconfig": {"type": "str"},
            "sysbuild-cmake-ext": {"type": "bool"},
            "sysbuild-kconfig-ext": {"type": "bool"},
            "depends": {"type": "seq", "sequence": [{"type": "str"}]},
            "settings": {"type": "map", "mapping": {
                key: {"type": "str"} for key in ("board_root", "dts_root", "snippet_root",
                                                  "soc_root", "arch_root", "module_ext_root",
                                                  "sca_root")}},
        }},
        "samples": {"type": "seq", "sequence": [{"type": "str"}]},
        "tests": {"type": "seq", "sequence": [{"type": "str"}]},
        "boards": {"type": "seq", "sequence": [{"type": "str"}]},
    },
}


def _zephyr_validate(data: dict) -> None:
    import logging

    from pykwalify.core import Core

    logging.getLogger("pykwalify").setLevel(logging.CRITICAL)
    Core(source_data=data, schema_data=ZEPHYR_MODULE_SCHEMA).validate(raise_exception=True)


def test_zephyr_module():
    from pykwalify.errors import SchemaError

    data = yaml.safe_load((ROOT / "zephyr" / "module.yml").read_text())
    _zephyr_validate(data)
    assert (ROOT / data["build"]["cmake"] / "CMakeLists.txt").is_file()
    kconfig = ROOT / data["build"]["kconfig"]
    for path in data["samples"]:
        assert (ROOT / path).is_dir()
    for bad in ({**data, "build": {"cmake": 3}}, {**data, "samples": "zephyr/samples"},
                {**data, "bild": {}}):
        with pytest.raises(SchemaError):
            _zephyr_validate(bad)
    # the Kconfig parses with kconfiglib (as in Zephyr's build) and the sample enables it
    import kconfiglib

    kconf = kconfiglib.Kconfig(str(kconfig), warn_to_stderr=False)
    sym = kconf.syms["MICROLEARN"]
    assert sym.type == kconfiglib.BOOL and sym.str_value == "n" and not kconf.warnings
    kconf.load_config(str(ROOT / "zephyr/samples/iris/prj.conf"), replace=True)
    assert sym.str_value == "y"
    cm = (ROOT / "zephyr" / "CMakeLists.txt").read_text()
    assert "if(CONFIG_MICROLEARN)" in cm and "${ZEPHYR_CURRENT_MODULE_DIR}/microlearn/runtime" in cm
    sample = yaml.safe_load((ROOT / "zephyr/samples/iris/sample.yaml").read_text())
    assert sample["sample"]["name"] and sample["tests"]


# --- samples: plain CMake on the host, cross builds --------------------------------------


def _sample_output(clf, model, rows) -> list[str]:
    """What the samples print for rows: the label and round(1000 p) in float32."""
    k = model.predict(rows)
    proba = model.predict_proba(rows)
    idx = np.searchsorted(model.classes_, k)
    permille = (proba[np.arange(len(rows)), idx] * np.float32(1000) + np.float32(0.5))
    return [f"row {i}: {k[i]} p={int(permille[i])}/1000" for i in range(len(rows))]


def test_cmake_sample_builds_and_runs(generated, tmp_path):
    out, clf, rows = generated
    if shutil.which("cmake") is None:
        pytest.skip("cmake not installed (Debian: cmake)")
    import microlearn

    build = tmp_path / "build"
    flags = " ".join(f for f in STRICT if f != "-ffp-contract=off")   # that from the target
    r = subprocess.run(["cmake", "-S", str(SAMPLES / "cmake"), "-B", str(build),
                        f"-DGENERATED={out}", f"-DCMAKE_C_FLAGS={flags}"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run(["cmake", "--build", str(build)], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    used = (build / "CMakeFiles" / "iris_sample.dir" / "flags.make").read_text()
    assert "-ffp-contract=off" in used and str(ROOT / "microlearn" / "runtime") in used
    run = subprocess.run([str(build / "iris_sample")], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "microlearn sample: 4 features -> 3 classes"
    model = microlearn.convert(clf)
    assert lines[1:] == _sample_output(clf, model, rows)
    assert [line.split()[2] for line in lines[1:]] == list(clf.predict(rows))
    # installed: find_package(microlearn) in another project
    prefix = tmp_path / "prefix"
    r = subprocess.run(["cmake", "--install", str(build / "microlearn"), "--prefix",
                        str(prefix)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert (prefix / "include/microlearn/ml_common.h").is_file()
    assert not (prefix / "include/microlearn/host").exists()
    user = tmp_path / "user"
    user.mkdir()
    (user / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.13)\nproject(user C)\n"
        "find_package(microlearn REQUIRED)\nadd_executable(user main.c)\n"
        "target_link_libraries(user PRIVATE microlearn::runtime)\n")
    (user / "main.c").write_text('#include "ml_math.h"\n#include <stdio.h>\n'
                                 'int main(void) { printf("%.9g\\n", (double)ml_expf(1.0f)); '
                                 "return 0; }\n")
    for cmd in (["cmake", "-S", str(user), "-B", str(user / "b"),
                 f"-DCMAKE_PREFIX_PATH={prefix}"], ["cmake", "--build", str(user / "b")]):
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
    e = subprocess.run([str(user / "b" / "user")], capture_output=True, text=True).stdout
    assert np.float32(float(e)) == np.float32(np.e)


# printf on QEMU's mps2 boards: newlib's system calls, output through semihosting (test
# support for running the sample; the start-up code and linker script are microlearn's
# measurement harness, microlearn/runtime/target/)
_MPS2_SYSCALLS = r"""/* newlib system calls: _write to the semihosting console, 4 KB heap. */
#include <stdint.h>
#include <stddef.h>
#include <sys/stat.h>
#include "mlh_semihost.h"

int _write(int fd, const char *buf, int len);
int _close(int fd);
int _fstat(int fd, struct stat *st);
int _isatty(int fd);
int _lseek(int fd, int off, int whence);
int _read(int fd, char *buf, int len);
void *_sbrk(ptrdiff_t incr);

static int32_t console(void)
{
    static const char name[] = ":tt";
    uint32_t block[3];
    block[0] = (uint32_t)(uintptr_t)name;
    block[1] = 4u; /* "w" */
    block[2] = 3u;
    return mlh_semihost_call(MLH_SYS_OPEN, block);
}

int _write(int fd, const char *buf, int len)
{
    uint32_t block[3];
    (void)fd;
    block[0] = (uint32_t)console();
    block[1] = (uint32_t)(uintptr_t)buf;
    block[2] = (uint32_t)len;
    return len - mlh_semihost_call(MLH_SYS_WRITE, block);
}
int _close(int fd) { (void)fd; return -1; }
int _fstat(int fd, struct stat *st) { (void)fd; st->st_mode = S_IFCHR; return 0; }
int _isatty(int fd) { (void)fd; return 1; }
int _lseek(int fd, int off, int whence) { (void)fd; (void)off; (void)whence; return 0; }
int _read(int fd, char *buf, int len) { (void)fd; (void)buf; (void)len; return 0; }
void *_sbrk(ptrdiff_t incr)
{
    static unsigned char heap[4096];
    static size_t used;
    void *p;
    if (incr < 0 || used + (size_t)incr > sizeof heap) return (void *)-1;
    p = heap + used;
    used += (size_t)incr;
    return p;
}
"""

_CROSS = {
    # a Zephyr build for a Cortex-M4F board (e.g. nrf52840dk): newlib nano
    "cortex-m4f": ["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard",
                   "-mfpu=fpv4-sp-d16", "--specs=nosys.specs", "--specs=nano.specs"],
    # ESP32-C3's core (RV32IMC), picolibc; the ELF is laid out for QEMU's virt machine
    # (flash and RAM in its DRAM) and prints and exits through semihosting
    "rv32imc": ["riscv64-unknown-elf-gcc", "-march=rv32imc", "-mabi=ilp32",
                "--specs=picolibc.specs", "--oslib=semihost", "--crt0=hosted",
                "-Wl,--defsym=__flash=0x80000000", "-Wl,--defsym=__flash_size=0x200000",
                "-Wl,--defsym=__ram=0x80200000", "-Wl,--defsym=__ram_size=0x200000"],
}
_QEMU = {"cortex-m4f": ["qemu-system-arm", "-M", "mps2-an386", "-cpu", "cortex-m4",
                        "-display", "none", "-serial", "none", "-monitor", "none",
                        "-semihosting-config", "enable=on,target=native", "-kernel"],
         "rv32imc": ["qemu-system-riscv32", "-M", "virt", "-display", "none", "-serial",
                     "none", "-monitor", "none", "-bios", "none", "-semihosting-config",
                     "enable=on,target=native", "-kernel"]}


@pytest.mark.parametrize("arch", sorted(_CROSS))
def test_samples_cross_compile(generated, tmp_path, arch):
    out, clf, rows = generated
    cc = _CROSS[arch]
    if shutil.which(cc[0]) is None:
        pytest.skip(f"{cc[0]} not installed (scripts/setup.sh)")
    base = [*cc, *STRICT, "-Os", "-ffunction-sections", "-fdata-sections",
            f"-I{SAMPLES}", f"-I{out}"]
    app = str(SAMPLES / "app.c")
    # Zephyr sample and the PlatformIO bare-metal variant: a main, linked to an ELF
    for name, main, extra in (("zephyr", ROOT / "zephyr/samples/iris/src/main.c", []),
                              ("pio", SAMPLES / "platformio/src/main.c", [])):
        elf = tmp_path / f"{name}.elf"
        r = subprocess.run([*base, *extra, str(main), app, "-Wl,--gc-sections", "-o",
                            str(elf)], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, (name, r.stderr)
        size = subprocess.run([cc[0].replace("gcc", "size"), str(elf)], capture_output=True,
                              text=True, check=True).stdout.split("\n")[1].split()
        assert 1000 < int(size[0]) < 64 * 1024, size         # text: fits a small MCU
        if name == "zephyr" and arch in _QEMU and shutil.which(_QEMU[arch][0]):
            # run the sample on the emulated core: the same lines as the host model's
            import microlearn

            if arch == "cortex-m4f":        # bare-metal start-up for QEMU's mps2-an386
                target = ROOT / "microlearn" / "runtime" / "target"
                (tmp_path / "syscalls.c").write_text(_MPS2_SYSCALLS)
                elf = tmp_path / "zephyr_mps2.elf"
                r = subprocess.run([*base, f"-I{target}", str(target / "startup.c"),
                                    str(tmp_path / "syscalls.c"), str(main), app,
                                    "-nostartfiles", "-Wl,--gc-sections", "-T",
                                    str(target / "mps2.ld"), "-o", str(elf)],
                                   capture_output=True, text=True, timeout=120)
                assert r.returncode == 0, r.stderr
            r = subprocess.run([*_QEMU[arch], str(elf)], capture_output=True, text=True,
                               timeout=60)
            assert r.returncode == 0, r.stderr
            lines = (r.stdout + r.stderr).splitlines()   # the semihosting console
            assert lines[1:] == _sample_output(clf, microlearn.convert(clf), rows)
    # ESP-IDF (app_main, linked by ESP-IDF itself): compiled only
    for main in (SAMPLES / "espidf/main/main.c", SAMPLES / "platformio/src/main.c"):
        r = subprocess.run([*base, "-DESP_PLATFORM", "-c", str(main), "-o",
                            str(tmp_path / "m.o")], capture_output=True, text=True)
        assert r.returncode == 0, (main, r.stderr)
        syms = subprocess.run([cc[0].replace("gcc", "nm"), str(tmp_path / "m.o")],
                              capture_output=True, text=True, check=True).stdout
        assert re.search(r"\bT app_main\b", syms), syms
