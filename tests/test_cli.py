"""The ``microlearn`` command line: verify, footprint (data, clock, budgets), ``-o -``,
help text, input errors; the header's feature names and class labels; scikit-learn's
feature-name checks in Model; ``microlearn.includedir()``; the cache folder.

Run both in-process (``cli.main``, fast) and as a subprocess (``python -m microlearn``:
the real entry point, exit statuses and streams).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import LogisticRegression

import microlearn
from microlearn import cli, host_build, targets


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "microlearn", *args], capture_output=True,
                          timeout=300, cwd=cwd)


def _one_line_error(r: subprocess.CompletedProcess) -> str:
    err = r.stderr.decode()
    assert r.returncode == 2, (r.returncode, r.stdout, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("microlearn: error:"), err
    return lines[0]


def _error(capsys, *args: str) -> str:
    """In-process ``microlearn ARGS``: must fail with status 2 and one line on stderr,
    nothing on stdout."""
    capsys.readouterr()
    try:
        rc = cli.main(list(args))
    except SystemExit as e:        # argparse usage errors
        rc = e.code
    out, err = capsys.readouterr()
    assert rc == 2 and out == "", (rc, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("microlearn: error:"), err
    return lines[0]


@pytest.fixture(scope="module")
def iris_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    X, y = load_iris(return_X_y=True)
    rf = RandomForestClassifier(n_estimators=5, max_depth=4, random_state=0).fit(X, y)
    joblib.dump(rf, d / "rf.joblib")
    rng = np.random.default_rng(1)
    # real rows plus rows off the data (outside the range, on thresholds' neighbours)
    rows = np.vstack([X[::3], rng.normal(3, 4, size=(20, 4))]).astype(np.float32)
    np.save(d / "X.npy", rows)
    return d, rf, rows


def _need(target: str) -> None:
    reason = targets.unavailable_reason(target)
    if reason:
        pytest.skip(f"target '{target}' is unavailable: {reason}")


# --- the parser ------------------------------------------------------------------------


def _subparsers(p: argparse.ArgumentParser):
    yield p
    for a in p._actions:
        if isinstance(a, argparse._SubParsersAction):
            for sp in a.choices.values():
                yield from _subparsers(sp)


def test_every_option_has_help_choices_and_shown_default():
    parser = cli.build_parser()
    mine = {"convert", "footprint", "verify", "info"}
    seen = set()
    for p in _subparsers(parser):
        help_text = " ".join(p.format_help().split())
        for a in p._actions:
            if isinstance(a, (argparse._HelpAction, argparse._VersionAction,
                              argparse._SubParsersAction)):
                continue
            assert a.help and len(a.help) > 10, (p.prog, a.dest)
            if p.prog.split()[-1] not in mine:
                continue                       # other helpers' subcommands: help only
            seen.add(p.prog.split()[-1])
            if a.choices:
                for c in a.choices:
                    assert str(c) in help_text, (p.prog, a.dest, c)
            if a.default not in (None, False, argparse.SUPPRESS) and a.option_strings:
                assert f"(default: {a.default})" in help_text, (p.prog, a.dest)
    assert seen == mine
    fp = " ".join(cli.build_parser()._subparsers._group_actions[0].choices["footprint"]
                  .format_help().split())
    for t in targets.TARGETS:
        assert t in fp
    assert "(default: cortex-m4f)" in fp and "exits with 1" in fp.lower()


def test_usage_errors_are_one_line(iris_files, capsys):
    d, _, _ = iris_files
    line = _one_line_error(_run("footprint", str(d / "rf.joblib"), "--target", "z80"))
    assert "'z80'" in line and "cortex-m4f" in line
    line = _error(capsys, "footprint", str(d / "rf.joblib"), "--budget-flash", "lots")
    assert "--budget-flash" in line and "'lots'" in line
    line = _error(capsys, "footprint", str(d / "rf.joblib"), "--clock-mhz", "-3")
    assert "--clock-mhz" in line
    line = _error(capsys, "verify", str(d / "rf.joblib"))
    assert "--data" in line


@pytest.mark.parametrize("text, value", [("32768", 32768), ("32K", 32768), ("32KB", 32768),
                                         ("32KiB", 32768), ("1.5M", 1572864), ("2 kb", 2048)])
def test_parse_bytes(text, value):
    assert cli.parse_bytes(text) == value


@pytest.mark.parametrize("text", ["", "K", "-1", "12 bytes", "1G"])
def test_parse_bytes_rejects(text):
    with pytest.raises(argparse.ArgumentTypeError, match="not a size"):
        cli.parse_bytes(text)


# --- inputs ------------------------------------------------------------------------------


def test_non_pickle_and_class_inputs(iris_files, tmp_path, capsys):
    d, _, _ = iris_files
    joblib.dump(RandomForestClassifier, tmp_path / "cls.joblib")
    line = _error(capsys, "convert", str(tmp_path / "cls.joblib"), "-o", "-")
    assert "holds the class RandomForestClassifier, not a fitted estimator" in line
    with pytest.raises(TypeError, match="class RandomForestClassifier, not a fitted"):
        microlearn.convert(RandomForestClassifier)
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    with pytest.raises(TypeError, match="Pipeline step 1 .* class LogisticRegression"):
        microlearn.convert(make_pipeline(StandardScaler(), LogisticRegression))
    # a numpy array file, a CSV and a text file given as the model
    for name, data in (("x.npy", None), ("rows.csv", b"1,2,3\n"), ("notes.txt", b"hello")):
        path = tmp_path / name
        if data is None:
            np.save(path, np.zeros(3))
        else:
            path.write_bytes(data)
        line = _error(capsys, "info", str(path))
        assert f"cannot load '{path}'" in line, line
    # --data that is not rows
    (tmp_path / "bad.npy").write_bytes(b"garbage")
    line = _error(capsys, "verify", str(d / "rf.joblib"), "--data", str(tmp_path / "bad.npy"))
    assert "--data" in line and "bad.npy" in line and "not a .npy" in line
    np.save(tmp_path / "wide.npy", np.zeros((3, 7)))
    line = _error(capsys, "footprint", str(d / "rf.joblib"), "--data",
                  str(tmp_path / "wide.npy"), "--estimate")
    assert "7 features" in line and "expects 4" in line


def test_load_data_npy_and_csv(tmp_path):
    X = np.array([[1.5, -2.0, 3e-8], [0.0, 7.0, -1.25]])
    np.save(tmp_path / "a.npy", X)
    np.savetxt(tmp_path / "a.csv", X, delimiter=",", fmt="%.17g")
    assert np.array_equal(cli.load_data(str(tmp_path / "a.npy")), X)
    assert np.array_equal(cli.load_data(str(tmp_path / "a.csv")), X)
    np.savez(tmp_path / "b.npz", X)
    with pytest.raises(ValueError, match="npz"):
        cli.load_data(str(tmp_path / "b.npz"))
    (tmp_path / "c.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="not a CSV of numbers"):
        cli.load_data(str(tmp_path / "c.csv"))


# --- convert -o - ------------------------------------------------------------------------


def test_convert_to_stdout(iris_files, capsysbinary):
    d, rf, _ = iris_files
    r = _run("convert", str(d / "rf.joblib"), "-o", "-", "--name", "iris")
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode() == microlearn.convert(rf).c_source("iris")
    assert r.stderr.decode().startswith("wrote stdout (")
    assert not (d / "-").exists()
    # the model file: bytes on stdout (in-process)
    assert cli.main(["convert", str(d / "rf.joblib"), "-o", "-", "--format", "blob"]) == 0
    out, err = capsysbinary.readouterr()
    assert out == microlearn.convert(rf).to_blob() and err.startswith(b"wrote stdout (")


# --- footprint ---------------------------------------------------------------------------


def test_footprint_data_clock_and_budgets(iris_files, capsys):
    d, rf, rows = iris_files
    target = "cortex-m4f"
    _need(target)
    ref = microlearn.convert(rf).footprint(target, rows)
    assert not ref.estimated and ref.instructions
    args = ["footprint", str(d / "rf.joblib"), "--target", target, "--data", str(d / "X.npy"),
            "--clock-mhz", "80"]
    # generous budgets: fits, status 0
    rc = cli.main([*args, "--budget-flash", "64K", "--budget-ram", "8K"])
    out = capsys.readouterr().out
    assert rc == 0, out
    row = next(line for line in out.splitlines() if line.strip().startswith(target))
    cells = row.split()
    assert f"{ref.flash_bytes:,}" in cells and f"{ref.instructions:,.0f}" in cells
    assert f"{ref.instructions / 80:,.1f}" in cells          # microseconds at 80 MHz
    assert "yes" in cells and "measured" in row and f"{len(rows)} rows" in row
    # a flash budget one byte short of the model: does not fit, status 1, says why
    rc = cli.main([*args, "--budget-flash", str(ref.flash_bytes - 1)])
    captured = capsys.readouterr()
    assert rc == cli.EXIT_FAILED
    assert f"NO: flash {ref.flash_bytes:,} > {ref.flash_bytes - 1:,}" in captured.out
    assert "does not fit on cortex-m4f" in captured.err
    # RAM: static + stack against the budget
    need = ref.ram_bytes + ref.stack_bytes
    assert cli.main([*args, "--budget-ram", str(need)]) == 0
    assert cli.main([*args, "--budget-ram", str(need - 1)]) == cli.EXIT_FAILED
    assert f"RAM+stack {need:,} > {need - 1:,}" in capsys.readouterr().out


def test_footprint_all_targets_estimated(iris_files, capsys):
    d, rf, rows = iris_files
    rc = cli.main(["footprint", str(d / "rf.joblib"), "--target", "all", "--estimate",
                   "--data", str(d / "X.npy"), "--budget-flash", "1M"])
    out = capsys.readouterr().out
    assert rc == 0, out
    model = microlearn.convert(rf)
    for t in targets.TARGETS:
        row = next(line for line in out.splitlines() if line.strip().startswith(t + " "))
        est = model.footprint(t, rows, estimate=True)
        assert f"{est.flash_bytes:,}" in row.split() and "estimated" in row, row


# --- verify ------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["cortex-m0plus", "rv32imc"])
def test_verify_on_emulated_targets(iris_files, target, capsys):
    d, rf, rows = iris_files
    _need(target)
    args = ("verify", str(d / "rf.joblib"), "--data", str(d / "X.npy"), "--target", target)
    if target == "rv32imc":      # the real entry point once
        r = _run(*args)
        out = r.stdout.decode()
        assert r.returncode == 0, (out, r.stderr)
    else:
        assert cli.main(list(args)) == 0
        out = capsys.readouterr().out
    host = next(line for line in out.splitlines() if "host C vs Python model" in line)
    assert f" {len(rows)} " in host and "100.00%" in host and "identical" in host
    emu = next(line for line in out.splitlines() if line.strip().startswith(target))
    assert "100.00%" in emu and "identical" in emu
    ref = microlearn.convert(rf).verify_on_target(target, rows)
    assert f"{ref.instructions:,.0f}" in emu.split()


def test_verify_regressor_and_failure_status(tmp_path, monkeypatch, capsys):
    X, y = load_iris(return_X_y=True)
    reg = RandomForestRegressor(n_estimators=3, max_depth=3, random_state=0).fit(X, y)
    joblib.dump(reg, tmp_path / "reg.joblib")
    np.savetxt(tmp_path / "X.csv", X[:40], delimiter=",")
    target = "cortex-m4f"
    _need(target)
    args = ["verify", str(tmp_path / "reg.joblib"), "--data", str(tmp_path / "X.csv")]
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert "within the float32 bound" in out and "identical" in out
    # a target that disagrees with the host makes the command fail with status 1
    from microlearn.footprint import VerifyReport

    monkeypatch.setattr(microlearn.Model, "verify_on_target",
                        lambda self, t, X: VerifyReport(t, len(X), 0.95, 0.5, 100.0))
    assert cli.main(args) == cli.EXIT_FAILED
    captured = capsys.readouterr()
    assert "DIFFERS" in captured.out and "verify failed" in captured.err


def _regressors():
    from sklearn.ensemble import (
        AdaBoostRegressor,
        GradientBoostingRegressor,
        HistGradientBoostingRegressor,
    )
    from sklearn.linear_model import LinearRegression, Ridge
    from sklearn.neighbors import KNeighborsRegressor
    from sklearn.neural_network import MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVR
    from sklearn.tree import DecisionTreeRegressor

    return {
        "tree": lambda: DecisionTreeRegressor(max_depth=6, random_state=0),
        "forest": lambda: RandomForestRegressor(n_estimators=10, random_state=0),
        "gb": lambda: GradientBoostingRegressor(n_estimators=30, random_state=0),
        "hgb": lambda: HistGradientBoostingRegressor(max_iter=20, random_state=0),
        "ada": lambda: AdaBoostRegressor(n_estimators=10, random_state=0),
        "linear": LinearRegression,
        "svr": SVR,
        "mlp": lambda: MLPRegressor(hidden_layer_sizes=(16,), max_iter=400, random_state=0),
        "ridge_2_targets": lambda: Ridge(alpha=0.5),
        "scaled_ridge": lambda: make_pipeline(StandardScaler(), Ridge()),
        "knn": lambda: KNeighborsRegressor(5),
    }


@pytest.mark.parametrize("name", list(_regressors()))
def test_verify_judges_regressors_against_the_family_bound(name, tmp_path, monkeypatch,
                                                           capsys):
    """`verify`'s host row for a regressor: |host C - model.predict| within the bound the
    family states (per row and target) passes; a family or pipeline without a numeric
    bound is shown, not judged; a host build off by more than the bound fails the
    command (exit status 1)."""
    from sklearn.datasets import load_diabetes

    from microlearn.footprint import VerifyReport

    X, y = load_diabetes(return_X_y=True)
    X = X.astype(np.float32)
    if name == "ridge_2_targets":
        y = np.column_stack([y, -0.5 * y + 3.0])
    est = _regressors()[name]().fit(X, y)
    joblib.dump(est, tmp_path / "reg.joblib")
    np.save(tmp_path / "X.npy", X[:60])
    monkeypatch.setattr(microlearn.Model, "verify_on_target",
                        lambda self, t, X: VerifyReport(t, len(X), 1.0, 0.0, 100.0))
    args = ["verify", str(tmp_path / "reg.joblib"), "--data", str(tmp_path / "X.npy")]
    assert cli.main(args) == 0
    host = next(line for line in capsys.readouterr().out.splitlines()
                if "host C vs Python model" in line)
    m = microlearn.convert(est)
    judged = m.steps[-1].family.regress_tolerance is not None and all(
        s.signature.exact_predict for s in m.steps[:-1])
    if not judged:
        assert "not judged" in host, host
        return
    assert "within the float32 bound" in host and "100.00%" in host, host
    # the same model whose host build is off by 1e-3 of the target's scale on one row
    real = microlearn.Model.predict

    def off(self, X):
        out = np.array(real(self, X), dtype=np.float32)
        out.reshape(len(out), -1)[3] += np.float32(1e-3 * (1 + np.abs(y).max()))
        return out

    monkeypatch.setattr(microlearn.Model, "predict", off)
    assert cli.main(args) == cli.EXIT_FAILED
    host = next(line for line in capsys.readouterr().out.splitlines()
                if "host C vs Python model" in line)
    assert "EXCEEDS" in host and "98.33%" in host, host


def test_verify_all_reports_targets_the_runtime_is_not_ported_to(iris_files, monkeypatch,
                                                                 capsys):
    """--target all: a target raising UnsupportedOnTargetError (nets/DSP on AVR) is a
    "not run" row and the others still decide the status; named alone, it is an error."""
    d, rf, rows = iris_files
    from microlearn.footprint import VerifyReport

    runnable = [t for t, s in targets.TARGETS.items()
                if s.runs and targets.unavailable_reason(t) is None]
    if len(runnable) < 2:
        pytest.skip("tool missing: fewer than two emulated targets have their toolchain")
    odd = runnable[0]

    def fake(self, t, X):
        if t == odd:
            raise targets.UnsupportedOnTargetError(f"ml_nets.h is not ported to {t}")
        return VerifyReport(t, len(X), 1.0, 0.0, 100.0)

    monkeypatch.setattr(microlearn.Model, "verify_on_target", fake)
    args = ["verify", str(d / "rf.joblib"), "--data", str(d / "X.npy")]
    assert cli.main([*args, "--target", "all"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.strip().startswith(odd))
    assert "not run: ml_nets.h is not ported" in row
    for t in runnable[1:]:
        assert "identical" in next(line for line in out.splitlines()
                                   if line.strip().startswith(t + " "))
    assert cli.main([*args, "--target", odd]) == 2
    assert "not ported" in capsys.readouterr().err


# --- header: feature names and class labels ----------------------------------------------

_NAMES_C = r"""
#include <stdio.h>
#include "model.h"
int main(void)
{
    int32_t i;
    for (i = 0; i < model_N_FEATURES; i++) {
        printf("F%s\n", model_feature_name(i));
    }
    for (i = 0; i < model_N_OUTPUTS; i++) {
        printf("C%s\n", model_class_label(i));
    }
    printf("%d %d\n", model_feature_name(-1) == NULL, model_class_label(model_N_OUTPUTS) == NULL);
    return 0;
}
"""


def test_header_feature_names_and_class_labels(tmp_path):
    X, y = load_iris(return_X_y=True, as_frame=True)
    names = ["sepal length (cm)", 'quote " and \\ back', "café */ /* ??=", "tab\there"]
    X.columns = names
    labels = np.array(["setosa", "versi?color", "vírginica"])[y]
    est = LogisticRegression(max_iter=1000).fit(X, labels)
    src = microlearn.convert(est).c_source("model")
    (tmp_path / "model.h").write_text(src)
    (tmp_path / "main.c").write_text(_NAMES_C)
    cc = host_build.compiler_command()
    flags = [*host_build.WARNING_FLAGS]
    exe = tmp_path / "names"
    proc = subprocess.run([*cc, *flags, f"-I{tmp_path}",
                           str(tmp_path / "main.c"), "-o", str(exe), "-lm"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    out = subprocess.run([str(exe)], capture_output=True, check=True).stdout.decode("utf-8")
    lines = out.splitlines()
    assert [s[1:] for s in lines if s.startswith("F")] == names
    assert [s[1:] for s in lines if s.startswith("C")] == list(est.classes_)
    assert lines[-1] == "1 1"
    assert "/* feature index -> name: 0: sepal length (cm)" in src
    # integer labels: also as integers
    est2 = RandomForestClassifier(3, max_depth=2, random_state=0).fit(X.values, y.values * 10)
    src2 = microlearn.convert(est2).c_source("m2")
    assert "#define m2_CLASS_VALUES {0, 10, 20}" in src2
    assert "m2_feature_name" not in src2          # fitted without names: no names API
    # the strict flags on the cross compilers and as C++
    tu = tmp_path / "tu.c"
    tu.write_text('#include "model.h"\nconst char *first(void);\n'
                  "const char *first(void) { return model_class_label(0); }\n")
    for cmd in (["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mthumb"],
                ["clang"], ["g++", "-x", "c++"]):
        if shutil.which(cmd[0]) is None:
            continue
        std = [] if "c++" in cmd else ["-std=c99"]
        proc = subprocess.run([*cmd, *std, "-Wall", "-Wextra", "-Wpedantic", "-Wconversion",
                               "-Wdouble-promotion", "-Werror", "-c", str(tu), "-o",
                               str(tmp_path / "tu.o")], capture_output=True, text=True)
        assert proc.returncode == 0, (cmd, proc.stderr)


# --- feature-name checks as scikit-learn's -----------------------------------------------


def _warned(fn, X) -> list[str]:
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        fn(X)
    return [str(m.message) for m in w if "feature names" in str(m.message)]


def test_feature_name_checks_match_sklearn():
    Xdf, y = load_iris(return_X_y=True, as_frame=True)
    with_names = LogisticRegression(max_iter=500).fit(Xdf, y)
    without = LogisticRegression(max_iter=500).fit(Xdf.values, y)
    for est, X in ((with_names, Xdf.values), (without, Xdf), (with_names, Xdf)):
        m = microlearn.convert(est)
        for method in ("predict", "predict_proba", "decision_function"):
            ours, theirs = _warned(getattr(m, method), X), _warned(getattr(est, method), X)
            assert ours == theirs, (method, ours, theirs)
    assert _warned(microlearn.convert(with_names).predict, Xdf.values)   # not vacuous
    # columns differing: both raise
    m = microlearn.convert(with_names)
    bad = Xdf.rename(columns={Xdf.columns[0]: "other"})
    with pytest.raises(ValueError, match="feature names should match"):
        with_names.predict(bad)
    with pytest.raises(ValueError, match="feature names should match"):
        m.predict(bad)
    # non-string columns are no names for sklearn: as for an array
    ints = pd.DataFrame(Xdf.values)
    for est in (with_names, without):
        m = microlearn.convert(est)
        assert _warned(m.predict, ints) == _warned(est.predict, ints)
        np.testing.assert_array_equal(m.predict(ints), est.predict(ints))


# --- includedir, cache folder -------------------------------------------------------------


def test_includedir_compiles_the_runtime(tmp_path):
    inc = Path(microlearn.includedir())
    assert inc.is_absolute() and (inc / "ml_common.h").is_file() and (inc / "ml_model.h").is_file()
    src = tmp_path / "use.c"
    src.write_text('#include "ml_math.h"\nfloat f(float x);\nfloat f(float x) '
                   "{ return ml_expf(x); }\n")
    cc = host_build.compiler_command()
    proc = subprocess.run([*cc, *host_build.WARNING_FLAGS, f"-I{inc}", "-c", str(src), "-o",
                           str(tmp_path / "use.o")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_cache_dir_follows_the_platform(tmp_path, monkeypatch):
    monkeypatch.delenv("MICROLEARN_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if sys.platform.startswith("linux"):
        assert host_build.cache_dir() == tmp_path / "xdg" / "microlearn"
    monkeypatch.setenv("MICROLEARN_CACHE_DIR", str(tmp_path / "mine"))
    assert host_build.cache_dir() == tmp_path / "mine"


def test_footprint_all_reports_a_target_the_model_does_not_build_for(iris_files, monkeypatch,
                                                                     capsys):
    d, _, _ = iris_files
    real = microlearn.Model.footprint

    def footprint(self, target="cortex-m4f", X=None, *, estimate=False):
        if target == "rv32imc":
            raise targets.UnsupportedOnTargetError("target 'rv32imc': line one\nregion "
                                                   "`text' will not fit in region")
        return real(self, target, X, estimate=estimate)

    monkeypatch.setattr(microlearn.Model, "footprint", footprint)
    args = ["footprint", str(d / "rf.joblib"), "--target", "all", "--estimate"]
    assert cli.main(args) == 0                      # no budget: reported, not a failure
    row = next(line for line in capsys.readouterr().out.splitlines()
               if line.strip().startswith("rv32imc"))
    assert "does not build: region `text' will not fit in region" in row
    assert cli.main([*args, "--budget-flash", "1M"]) == cli.EXIT_FAILED
    captured = capsys.readouterr()
    assert "NO: does not build" in captured.out and "rv32imc" in captured.err
    # one target: the error itself, status 2
    line = _error(capsys, "footprint", str(d / "rf.joblib"), "--target", "rv32imc")
    assert "rv32imc" in line
