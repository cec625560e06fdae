"""AVR (ATmega328P, Arduino Uno): tables in program memory, footprint and parity in simavr,
and the Arduino library export compiled with arduino-builder and run in simavr over UART.

Needs gcc-avr, avr-libc, simavr, libsimavr-dev, arduino-builder, arduino-core-avr and
arduino-ctags (scripts/setup.sh installs them): nothing here is skipped.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.datasets import load_iris, make_regression
from sklearn.ensemble import (
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.mixture import GaussianMixture
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVR

import microlearn
from microlearn import avr, targets
from microlearn.export import arduino
from microlearn.targets import UnsupportedOnTargetError

TARGET = "atmega328p"
f32 = np.float32
X_IRIS, Y_IRIS = load_iris(return_X_y=True)
X_IRIS = X_IRIS.astype(np.float32)
X_REG, Y_REG = make_regression(120, 6, random_state=0)
X_REG = X_REG.astype(np.float32)


@pytest.fixture(scope="module")
def rf() -> RandomForestClassifier:
    """The issue's model: 5 trees on iris."""
    return RandomForestClassifier(n_estimators=5, max_depth=5, random_state=0).fit(X_IRIS,
                                                                                  Y_IRIS)


def adversarial_rows(est: RandomForestClassifier) -> np.ndarray:
    """Rows on the split thresholds (float32 as the C compares them), one float32 step on
    either side, NaN in each feature (missing-value routing), infinities, -0.0, huge."""
    rows = []
    base = X_IRIS[70].copy()
    for tree in est.estimators_:
        t = tree.tree_
        for node in np.flatnonzero(t.children_left >= 0)[:6]:
            f, thr = int(t.feature[node]), f32(t.threshold[node])
            for v in (thr, np.nextafter(thr, f32(np.inf)), np.nextafter(thr, f32(-np.inf))):
                r = base.copy()
                r[f] = v
                rows.append(r)
    for f in range(X_IRIS.shape[1]):
        for v in (np.nan, np.inf, -np.inf, -0.0, 3e38):
            r = base.copy()
            r[f] = v
            rows.append(r)
    return np.array(rows, dtype=np.float32)


def test_target_is_in_the_table() -> None:
    spec = targets.TARGETS[TARGET]
    assert spec.runs and spec.simulator == "simavr" and spec.qemu is None
    assert spec.cc == "avr-gcc" and "-mmcu=atmega328p" in spec.cflags and "-Werror" in spec.cflags
    assert targets.unavailable_reason(TARGET) is None


@pytest.mark.parametrize("method", ["fast", "loadable", "inline"])
def test_trees_on_avr_match_the_host_with_tables_in_flash(rf, method: str) -> None:
    model = microlearn.convert(rf, method=method)
    X = np.concatenate([X_IRIS, adversarial_rows(rf)])
    report = model.verify_on_target(TARGET, X)
    assert report.ok, report  # classes and predict_proba bits equal the host build's
    assert np.array_equal(model.predict(X_IRIS), rf.predict(X_IRIS))
    fp = model.footprint(TARGET, X_IRIS)
    assert not fp.estimated and fp.ram_bytes == 0  # every table is in program memory
    assert 0 < fp.stack_bytes < 400 and fp.instructions > 0 and 1000 < fp.flash_bytes < 8000


def test_without_progmem_the_tables_take_ram(rf) -> None:
    """The same header with ML_NO_PROGMEM keeps its tables in RAM: what ML_CONST saves."""
    model = microlearn.convert(rf, method="loadable")
    kw = dict(n_outputs=3, n_features=4)
    header = model.c_source("model")
    flash = targets.footprint(TARGET, header, "model", "classifier", **kw)
    ram = targets.footprint(TARGET, "#define ML_NO_PROGMEM 1\n" + header, "model",
                            "classifier", **kw)
    assert flash.ram_bytes == 0
    assert ram.ram_bytes >= model.data_bytes > 100


def test_cycles_are_deterministic(rf) -> None:
    model = microlearn.convert(rf)
    header = model.c_source("model")
    runs = [targets.measure(TARGET, header, "model", "classifier", X_IRIS[:30], n_outputs=3,
                            n_features=4) for _ in range(2)]
    assert np.array_equal(runs[0].instructions, runs[1].instructions)
    assert runs[0].machine.startswith("simavr") and runs[0].instructions.min() > 100
    # rows take different paths through the trees: different cycle counts
    assert len(set(runs[0].instructions.tolist())) > 1


@pytest.mark.parametrize("name, est, X", [
    ("gradient boosting", GradientBoostingClassifier(n_estimators=8, random_state=0)
     .fit(X_IRIS, Y_IRIS), X_IRIS),
    ("forest regressor", RandomForestRegressor(4, max_depth=5, random_state=0)
     .fit(X_REG, Y_REG), X_REG),
    ("hist gradient boosting with NaN", HistGradientBoostingClassifier(
        max_iter=5, random_state=0).fit(np.where(X_IRIS > 6.5, np.nan, X_IRIS), Y_IRIS),
     np.where(X_IRIS > 6.5, np.nan, X_IRIS)),
    ("logistic regression", LogisticRegression(max_iter=500).fit(X_IRIS, Y_IRIS), X_IRIS),
    ("ridge", Ridge().fit(X_REG, Y_REG), X_REG),
    ("gaussian naive Bayes", GaussianNB().fit(X_IRIS, Y_IRIS), X_IRIS),
    ("scaler + logistic", make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
     .fit(X_IRIS, Y_IRIS), X_IRIS),
    ("SVR", SVR().fit(X_REG, Y_REG), X_REG[:20]),
    ("gaussian mixture", GaussianMixture(3, random_state=0).fit(X_IRIS), X_IRIS[::3]),
    ("k neighbors", KNeighborsClassifier(3).fit(X_IRIS, Y_IRIS), X_IRIS[::5]),
])
def test_families_on_avr(name: str, est, X: np.ndarray) -> None:
    """Every ported family: the AVR answers equal the host's, no table in RAM."""
    X = np.ascontiguousarray(X)
    model = microlearn.convert(est)
    r = targets.measure(TARGET, model.c_source("model"), "model", model.kind, X,
                        n_outputs=model.n_outputs, n_features=model.n_features,
                        values=model._measured_values()[0],
                        n_values=model._measured_values()[1])
    assert r.ram_bytes == 0, name
    lib = model._lib()
    if model.kind == "classifier":
        np.testing.assert_array_equal(r.outputs, lib.call("predict", X))
        host = lib.call(model._measured_values()[0], X).reshape(len(X), -1)
        np.testing.assert_array_equal(r.proba.view(np.uint32), host.view(np.uint32))
    else:
        host = lib.call("regress", X)
        np.testing.assert_array_equal(r.outputs.view(np.uint32), host.view(np.uint32))


def test_headers_compile_as_cpp_for_avr(tmp_path: Path, rf) -> None:
    """Arduino compiles sketches as C++ (gnu++11): the same strict flags pass there."""
    for i, est in enumerate([rf, LogisticRegression(max_iter=500).fit(X_IRIS, Y_IRIS)]):
        for method in (["fast", "loadable", "inline"] if i == 0 else [None]):
            m = microlearn.convert(est, **({"method": method} if method else {}))
            src = tmp_path / f"m{i}{method}.cpp"
            src.write_text(m.c_source("model") + "\nint32_t f(const float *x);\n"
                           "int32_t f(const float *x) { return model_predict(x, 4); }\n")
            proc = subprocess.run(
                ["avr-g++", "-mmcu=atmega328p", "-std=gnu++11", "-Wall", "-Wextra",
                 "-Wpedantic", "-Wconversion", "-Werror", "-Os", "-c", str(src), "-o",
                 str(tmp_path / "m.o")], capture_output=True, text=True)
            assert proc.returncode == 0, proc.stderr[-3000:]


def test_unported_runtime_headers_give_a_clear_error() -> None:
    """Every family is ported (neural nets: tests/test_avr_nets.py); a header embedding a
    runtime header AVR does not know is still refused by name."""
    with pytest.raises(UnsupportedOnTargetError, match=r"ml_future\.h.*not ported to AVR"):
        avr.check_supported(TARGET, "#define ML_FUTURE_H\n#define ML_TREES_H\n")


def test_estimate_is_labelled_as_a_proxy(rf) -> None:
    fp = microlearn.convert(rf).footprint(TARGET, X_IRIS, estimate=True)
    assert fp.estimated and fp.ram_bytes == 0 and fp.instructions is None
    assert "Cortex-M0+" in fp.note


# --- Arduino library ---------------------------------------------------------------------

ARDUINO_HW = Path("/usr/share/arduino/hardware")
BUILDER_DIR = Path("/usr/share/arduino-builder")


def build_sketch(library: Path, name: str, build: Path) -> Path:
    """Compile the library's example for the Uno (fqbn arduino:avr:uno) with arduino-builder.

    Debian's arduino-core-avr 1.8.7 uses DECIMAL_DIG, which avr-gcc 5.4's <float.h> defines
    for C only: the build passes it for C++ (a packaging mismatch, not the library's)."""
    build.mkdir(parents=True, exist_ok=True)
    cmd = ["arduino-builder", "-compile", "-hardware", str(ARDUINO_HW), "-hardware",
           str(BUILDER_DIR), "-tools", str(BUILDER_DIR), "-libraries", str(library.parent),
           "-fqbn", "arduino:avr:uno",
           "-prefs=compiler.cpp.extra_flags=-DDECIMAL_DIG=__DECIMAL_DIG__",
           "-build-path", str(build), str(library / "examples" / name / f"{name}.ino")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return build / f"{name}.ino.elf"


def run_uart(elf: Path, text: str, tmp_path: Path) -> list[str]:
    """Feed text to the sketch's Serial in simavr; the lines it printed."""
    (tmp_path / "in.txt").write_text(text)
    proc = subprocess.run(
        [str(avr.runner_path()), "uart", TARGET, str(avr.CLOCK_HZ), str(elf),
         str(tmp_path / "in.txt"), str(tmp_path / "out.txt"), str(tmp_path / "cyc.log"),
         "3000000000"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return (tmp_path / "out.txt").read_text().splitlines()


def hex_row(row: np.ndarray) -> str:
    return ",".join(f"0x{int(b):08x}" for b in row.astype(np.float32).view(np.uint32))


@pytest.fixture(scope="module")
def iris_library(rf, tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("arduino")
    lib = arduino(microlearn.convert(rf), root / "iris_rf", name="iris_rf")
    return lib, build_sketch(lib, "iris_rf", root / "build")


def test_arduino_library_layout(iris_library) -> None:
    lib, _ = iris_library
    props = dict(line.split("=", 1) for line in
                 (lib / "library.properties").read_text().splitlines())
    assert props["name"] == "iris_rf" and props["includes"] == "iris_rf.h"
    assert props["architectures"] == "*" and props["version"] == microlearn.__version__
    header = (lib / "src" / "iris_rf.h").read_text()
    assert "iris_rf_predict" in header and "static ML_CONST" in header
    sketch = (lib / "examples" / "iris_rf" / "iris_rf.ino").read_text()
    assert "#include <iris_rf.h>" in sketch and "Serial.begin(115200)" in sketch


def test_arduino_example_on_the_uno_matches_the_host(iris_library, rf, tmp_path) -> None:
    """The sketch, built for the Uno, run in simavr over its UART: same classes as the
    model on the host, for decimal rows (iris) and exact hex rows (thresholds, NaN, inf)."""
    _, elf = iris_library
    adv = adversarial_rows(rf)
    text = ("".join(" , ".join(str(v) for v in row) + "\n" for row in X_IRIS)
            + "".join(hex_row(r) + "\n" for r in adv)
            + "1.0, 2.0\n"  # too few values
            + "1.0 2.0 3.0 4.0 5.0\n"  # too many
            + "1.0 2.0 abc 4.0\n")  # not a number
    lines = run_uart(elf, text, tmp_path)
    assert lines[0] == "ready iris_rf 4"
    answers = lines[1:]
    n = len(X_IRIS) + len(adv)
    assert len(answers) == n + 3
    host = microlearn.convert(rf).predict(np.concatenate([X_IRIS, adv]))
    np.testing.assert_array_equal(np.array(answers[:n], dtype=np.int64), host)
    np.testing.assert_array_equal(host[:len(X_IRIS)], rf.predict(X_IRIS))
    assert answers[n:] == ["error -2"] * 3


def test_arduino_regressor_prints_exact_outputs(tmp_path) -> None:
    est = RandomForestRegressor(3, max_depth=4, random_state=0).fit(X_REG, Y_REG)
    model = microlearn.convert(est)
    lib = arduino(model, tmp_path / "reg", name="reg")
    elf = build_sketch(lib, "reg", tmp_path / "build")
    X = X_REG[:25]
    lines = run_uart(elf, "".join(hex_row(r) + "\n" for r in X), tmp_path)
    got = np.array([int(line, 16) for line in lines[1:]], dtype=np.uint32).view(np.float32)
    np.testing.assert_array_equal(got.view(np.uint32),
                                  model.predict(X).astype(np.float32).view(np.uint32))


def test_cli_export_arduino(tmp_path, rf, capsys) -> None:
    from microlearn import cli

    joblib.dump(rf, tmp_path / "rf.joblib")
    model = str(tmp_path / "rf.joblib")
    assert cli.main(["export", "arduino", model, "--out", str(tmp_path / "lib"), "--name",
                     "iris", "--method", "loadable"]) == 0
    assert "Arduino library iris" in capsys.readouterr().out
    assert (tmp_path / "lib" / "examples" / "iris" / "iris.ino").is_file()
    assert "ml_trees_sum_" in (tmp_path / "lib" / "src" / "iris.h").read_text()
    assert cli.main(["export", "arduino", model, "--out", str(tmp_path / "x"), "--name",
                     "9lives"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "9lives" in err
    (tmp_path / "file").write_text("")
    assert cli.main(["export", "arduino", model, "--out", str(tmp_path / "file")]) == 2
    assert "is a file" in capsys.readouterr().err
    assert cli.main(["footprint", model, "--target", TARGET]) == 0
    assert "simavr atmega328p" in capsys.readouterr().out
