"""The saved header, compiled by standalone C/C++ programs (no Python binding)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from parity import mean_tolerance
from sklearn.datasets import load_diabetes, load_digits, load_wine
from sklearn.ensemble import ExtraTreesRegressor, RandomForestClassifier
from sklearn.tree import DecisionTreeClassifier

import microlearn
from microlearn.host_build import WARNING_FLAGS

C_DIR = Path(__file__).resolve().parent / "c"
SAN = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-g"]


def _compilers():
    found = []
    for cc, lang in (("gcc", "c"), ("clang", "c"), ("g++", "c++")):
        if shutil.which(cc):
            found.append((cc, lang))
    return found


def _flags(lang):
    if lang == "c":
        return list(WARNING_FLAGS)
    return ["-x", "c++", "-std=c++11", "-Wall", "-Wextra", "-Wpedantic", "-Wconversion",
            "-Wdouble-promotion", "-Werror"]


def _run(cmd, **kw):
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))}\n{proc.stdout}\n{proc.stderr}"
    return proc


def _write_inputs(tmp, X, expected_parts):
    X = np.ascontiguousarray(X, dtype=np.float32)
    with open(tmp / "X.bin", "wb") as f:
        np.array(X.shape, dtype=np.int32).tofile(f)
        X.tofile(f)
    with open(tmp / "expected.bin", "wb") as f:
        for part in expected_parts:
            np.ascontiguousarray(part).tofile(f)


CASES = {
    "rf_digits": lambda: (RandomForestClassifier(n_estimators=10, max_depth=10, random_state=0),
                          *load_digits(return_X_y=True)),
    "tree_wine": lambda: (DecisionTreeClassifier(random_state=0), *load_wine(return_X_y=True)),
    "et_diabetes": lambda: (ExtraTreesRegressor(n_estimators=5, random_state=0),
                            *load_diabetes(return_X_y=True)),
}


@pytest.mark.parametrize("method", ["loadable", "inline"])
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("cc,lang", _compilers())
def test_saved_header_standalone(tmp_path, case, method, cc, lang):
    est, X, y = CASES[case]()
    X = X.astype(np.float32)
    est.fit(X, y)
    m = microlearn.convert(est, method=method)
    m.save(tmp_path / "mymodel.h", name="mymodel")
    Xq = X.copy()
    Xq[::7, 3] = np.nan  # NaN rows exercise the missing-value routing in C too
    if m.kind == "classifier":
        cls = np.searchsorted(est.classes_, est.predict(Xq)).astype(np.int32)
        _write_inputs(tmp_path, Xq, [cls, est.predict_proba(Xq).astype(np.float32)])
        tol = mean_tolerance(m.ir.n_trees, 1.0)
    else:
        _write_inputs(tmp_path, Xq, [est.predict(Xq).astype(np.float32)])
        # + one float32 rounding of sklearn's float64 reference written to the file
        tol = mean_tolerance(m.ir.n_trees, float(np.abs(m.ir.leaf_values).max())) * 1.5
    exe = tmp_path / "check"
    _run([cc, *_flags(lang), *SAN, "-O1", f"-I{tmp_path}", "-DPREFIX=mymodel",
          '-DHEADER="mymodel.h"', str(C_DIR / "check_model.c"), "-o", str(exe)])
    out = _run([str(exe), str(tmp_path / "X.bin"), str(tmp_path / "expected.bin"), repr(tol)])
    assert "failures=0" in out.stdout


@pytest.mark.parametrize("cc,lang", _compilers())
def test_two_models_in_one_program_and_include_only(tmp_path, cc, lang):
    X, y = load_wine(return_X_y=True)
    microlearn.convert(RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y),
                       method="inline").save(tmp_path / "model_a.h", name="model_a")
    Xd, yd = load_diabetes(return_X_y=True)
    microlearn.convert(ExtraTreesRegressor(n_estimators=2, max_depth=4, random_state=0)
                       .fit(Xd, yd)).save(tmp_path / "model_b.h", name="model_b")
    microlearn.convert(DecisionTreeClassifier().fit(X, y)).save(tmp_path / "model.h")
    objs = []
    for src in ("two_models_a.c", "two_models_main.c"):
        obj = tmp_path / (src + ".o")
        _run([cc, *_flags(lang), *SAN, f"-I{tmp_path}", "-c", str(C_DIR / src), "-o", str(obj)])
        objs.append(str(obj))
    _run([cc, *SAN, *objs, "-o", str(tmp_path / "two")])
    _run([str(tmp_path / "two")])
    _run([cc, *_flags(lang), f"-I{tmp_path}", "-c", str(C_DIR / "include_only.c"),
          "-o", str(tmp_path / "inc.o")])


@pytest.mark.parametrize("cc,lang", _compilers())
def test_runtime_headers_compile_strict(tmp_path, cc, lang):
    runtime = Path(microlearn.__file__).resolve().parent / "runtime"
    _run([cc, *_flags(lang), f"-I{runtime}", "-c", str(C_DIR / "runtime_all.c"),
          "-o", str(tmp_path / "rt.o")])


TREES_METHODS_C = """#include "ml_trees.h"
int trees_methods(const uint8_t *sec, uint32_t size, const float *x, float *out, float *s);
int trees_methods(const uint8_t *sec, uint32_t size, const float *x, float *out, float *s)
{
    ml_trees_t m;
    ml_info_t info;
    int32_t r = ml_trees_from_section(&m, sec, size);
    if (r != ML_OK) {
        return (int)r;
    }
    ml_trees_info(&m, &info);
    r += ml_trees_predict(&m, x, s) + ml_trees_predict_proba(&m, x, out, s);
    r += ml_trees_regress(&m, x, out, s) + ml_trees_decision_function(&m, x, out, s);
    r += ml_trees_score_samples(&m, x, out, s) + ml_trees_transform(&m, x, out, s);
    return (int)r + info.n_outputs;
}
"""


def _trees_compilers():
    found = [(cc, lang, []) for cc, lang in _compilers()]
    if shutil.which("arm-none-eabi-gcc"):
        found += [("arm-none-eabi-gcc", "c", ["-mcpu=cortex-m4", "-mthumb",
                                              "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]),
                  ("arm-none-eabi-gcc", "c", ["-mcpu=cortex-m0plus", "-mthumb"])]
    return found


@pytest.mark.parametrize("boosted", [0, 1])
@pytest.mark.parametrize("cc,lang,target", _trees_compilers())
def test_trees_boosted_macro_compiles_strict(tmp_path, cc, lang, target, boosted):
    """ml_trees.h with and without the boosted-ensemble engine (ML_TREES_BOOSTED), every
    method called, under the strict warning set (and soft-float Cortex-M0+: integer keys)."""
    runtime = Path(microlearn.__file__).resolve().parent / "runtime"
    src = tmp_path / "trees_methods.c"
    src.write_text(TREES_METHODS_C)
    _run([cc, *_flags(lang), *target, "-O2", f"-DML_TREES_BOOSTED={boosted}", f"-I{runtime}",
          "-c", str(src), "-o", str(tmp_path / "t.o")])
