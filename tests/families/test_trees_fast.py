"""Tree method "fast" (microlearn/families/trees/c_fast.py): parity with scikit-learn on
real data and on adversarial inputs (thresholds and their float32 neighbours, NaN of both
signs and other payloads, +-inf, -0.0, subnormals), in both NaN strategies, on the host
and on emulated Cortex-M4F / M0+; the shared conformance suite; unsupported IR features."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conformance import check_conformance
from parity import assert_parity, mean_tolerance, threshold_probe_rows
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier, RandomForestRegressor
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from test_trees import CLASSIFICATION, CLASSIFIERS, REGRESSION, REGRESSORS, _split

import microlearn
from microlearn import targets
from microlearn.errors import ConversionError
from microlearn.families.trees import c_fast

FAST = {"method": "fast"}


@pytest.mark.parametrize("estimator", list(CLASSIFIERS))
@pytest.mark.parametrize("dataset", list(CLASSIFICATION))
def test_classifier_parity(dataset, estimator):
    Xtr, ytr, Xte, _ = _split(*CLASSIFICATION[dataset]())
    est = CLASSIFIERS[estimator]().fit(Xtr, ytr)
    m = microlearn.convert(est, **FAST)
    assert_parity(est, m, Xte)
    assert_parity(est, m, Xtr)
    assert_parity(est, m, threshold_probe_rows(est, Xtr))


@pytest.mark.parametrize("estimator", list(REGRESSORS))
@pytest.mark.parametrize("dataset", list(REGRESSION))
def test_regressor_parity(dataset, estimator):
    Xtr, ytr, Xte, _ = _split(*REGRESSION[dataset]())
    est = REGRESSORS[estimator]().fit(Xtr, ytr)
    m = microlearn.convert(est, **FAST)
    assert_parity(est, m, Xte)
    assert_parity(est, m, threshold_probe_rows(est, Xtr))


# --- adversarial inputs ------------------------------------------------------------------

def _f32(bits: int) -> np.float32:
    return np.array([bits], dtype=np.uint32).view(np.float32)[0]


NANS = [_f32(b) for b in (0x7FC00000, 0xFFC00000, 0x7F800001, 0xFF800001, 0x7FFFFFFF,
                          0xFFFFFFFF)]  # quiet/signalling, both signs


def _models():
    """One model per NaN strategy and layout: a small tree ("check"), a forest with an
    unrolled NaN pass, a deep single tree with a looped NaN pass, a forest with rows."""
    Xc, yc = load_breast_cancer(return_X_y=True)
    Xd, yd = load_digits(return_X_y=True)
    Xc, Xd = Xc.astype(np.float32), Xd.astype(np.float32)
    rng = np.random.default_rng(3)
    Xn = Xc.copy()
    Xn[rng.random(Xn.shape) < 0.1] = np.nan  # trained with missing values
    return [
        ("small-tree", DecisionTreeClassifier(max_depth=4, random_state=0).fit(Xc, yc), Xc),
        ("forest-nan-trained", RandomForestClassifier(n_estimators=8, random_state=0)
         .fit(Xn, yc), Xc),
        ("deep-tree", DecisionTreeClassifier(max_leaf_nodes=80, random_state=0).fit(Xd, yd),
         Xd),
        ("forest-rows", RandomForestClassifier(n_estimators=6, max_depth=6, random_state=0)
         .fit(Xd, yd), Xd),
        ("forest-keys", RandomForestClassifier(n_estimators=30, max_depth=8, random_state=0)
         .fit(Xd, yd), Xd),
        ("regressor", RandomForestRegressor(n_estimators=5, max_depth=6, random_state=0)
         .fit(Xc, Xc[:, 0] * 3.0 - Xc[:, 1]), Xc),
        ("small-regressor", DecisionTreeRegressor(max_depth=3, random_state=0)
         .fit(Xc, Xc[:, 2]), Xc),
    ]


MODELS = _models()
IDS = [m[0] for m in MODELS]


def test_models_cover_both_nan_strategies_and_scan_forms():
    irs = [microlearn.convert(est, **FAST).ir for _, est, _ in MODELS]
    modes = {c_fast.nan_mode(ir) for ir in irs}
    assert modes == {"check", "scan"}
    scans = {c_fast.scan_unrolled(ir) for ir in irs if c_fast.nan_mode(ir) == "scan"}
    assert scans == {True, False}
    assert {c_fast.keys(ir) is None for ir in irs} == {True, False}
    assert c_fast.keys(irs[IDS.index("forest-keys")]) is not None
    # the emulated-target tests run the keyed model
    assert "forest-keys" in IDS[:5]


def _keyed_right(bits: np.ndarray, t_bits: int, key: tuple[int, int]) -> np.ndarray:
    """The C's keyed node (see c_fast.keys): key(bits) > M - 1, computed as the C does."""
    k, d = key
    b = bits.view(np.int32).astype(np.int64)
    kv = (np.where(b < 0, -1, b) - d) >> k  # P__key (the assembly's QSUB: same compares)
    return kv > ((t_bits - d + 1) >> k) - 1


def test_keys_equal_float_compares_for_every_probe():
    """The keys' compare equals ``x > t`` for every threshold of a keyed forest and every
    float32 within 2,000 ulps of it (both sides), for 0, -0.0, subnormals, negatives of
    every size, +-inf and random bit patterns; -NaN keys go left, +NaN right."""
    est = MODELS[IDS.index("forest-keys")][1]
    ir = microlearn.convert(est, **FAST).ir
    key = c_fast.keys(ir)
    assert key is not None
    ts = np.unique(np.asarray(ir.threshold, dtype=np.float32))
    rng = np.random.default_rng(0)
    special = np.array([0, 0x80000000, 1, 0x80000001, 0x007FFFFF, 0x7F800000, 0xFF800000,
                        0x7F7FFFFF, 0xFF7FFFFF, 0x3F7FFFFF, 0xBF000000], dtype=np.uint32)
    randoms = rng.integers(0, 2**32, size=20_000, dtype=np.uint64).astype(np.uint32)
    randoms = randoms[~np.isnan(randoms.view(np.float32))]
    for t in ts:
        tb = int(np.array([t], dtype=np.float32).view(np.uint32)[0])
        near = (tb + np.arange(-2000, 2001)).astype(np.uint32)
        bits = np.concatenate([near, near | np.uint32(0x80000000), special, randoms])
        np.testing.assert_array_equal(_keyed_right(bits, tb, key),
                                      bits.view(np.float32) > t, err_msg=str(t))
        nans = np.array([0xFFC00000, 0x7FC00000], dtype=np.uint32)  # the NaN path's copies
        np.testing.assert_array_equal(_keyed_right(nans, tb, key), [False, True])


def test_keys_of_many_features_on_emulated_cortex_m4f():
    """128 features (digits stretched to 8 x 16): the key pass as an assembly loop (more
    than 64 features), one input bank; NaN rows (one NaN per feature, both signs) and
    threshold probes bit-identical to the host's portable C, which equals scikit-learn."""
    reason = targets.unavailable_reason("cortex-m4f")
    if reason:
        pytest.skip(f"toolchain missing: {reason}")
    Xd, yd = load_digits(return_X_y=True)
    X = np.kron(Xd.reshape(-1, 8, 8), np.ones((1, 2))).reshape(len(Xd), -1).astype(np.float32)
    est = RandomForestClassifier(n_estimators=40, max_depth=9, random_state=0).fit(X, yd)
    m = microlearn.convert(est, **FAST)
    used = c_fast.used_features(m.ir)
    assert c_fast.keys(m.ir) is not None and used[-1] - used[0] + 1 > c_fast._KEYS_UNROLL
    c_rows, sk_rows = _adversarial(est, X, seed=2)
    np.testing.assert_array_equal(m.predict(c_rows), est.predict(sk_rows))
    rep = m.verify_on_target("cortex-m4f", c_rows)
    assert rep.ok and rep.agreement == 1.0, rep


def test_keys_only_where_they_are_exact_and_pay():
    """No keys with a negative or zero threshold, with thresholds more than 255 key steps
    apart, or when the rows visit fewer nodes than twice the features keyed."""
    Xd, yd = load_digits(return_X_y=True)
    Xd = Xd.astype(np.float32)
    keyed = RandomForestClassifier(n_estimators=30, max_depth=8, random_state=0).fit(Xd, yd)
    assert c_fast.keys(microlearn.convert(keyed, **FAST).ir) is not None
    few = RandomForestClassifier(n_estimators=4, max_depth=8, random_state=0).fit(Xd, yd)
    assert c_fast.keys(microlearn.convert(few, **FAST).ir) is None
    neg = RandomForestClassifier(n_estimators=30, max_depth=8, random_state=0).fit(-Xd, yd)
    assert c_fast.keys(microlearn.convert(neg, **FAST).ir) is None
    wide = RandomForestClassifier(n_estimators=30, max_depth=8, random_state=0).fit(
        Xd * 37.3, yd)
    assert c_fast.keys(microlearn.convert(wide, **FAST).ir) is None


def _adversarial(est, X: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(rows for the C, the same rows as scikit-learn must see them): threshold probes,
    NaN of every payload (sklearn: any NaN is missing), +-inf (sklearn rejects inf; the C
    compares it like +-FLT_MAX), -0.0, subnormals."""
    rng = np.random.default_rng(seed)
    probes = threshold_probe_rows(est, X, max_nodes=200, seed=seed)
    base = np.concatenate([X[:60], probes[:200]]).astype(np.float32)
    rows = [base]
    for nan in NANS:  # NaN in single features and in many
        r = base[:40].copy()
        r[rng.random(r.shape) < 0.15] = nan
        r[0, :] = nan
        rows.append(r)
    big = np.finfo(np.float32).max
    r = base[:40].copy()
    r[rng.random(r.shape) < 0.2] = np.inf
    r[rng.random(r.shape) < 0.2] = -np.inf
    rows.append(r)
    r = base[:40].copy()
    r[rng.random(r.shape) < 0.3] = np.float32(-0.0)
    r[rng.random(r.shape) < 0.1] = _f32(0x00000001)  # smallest subnormal
    r[rng.random(r.shape) < 0.1] = _f32(0x80000001)  # its negative
    rows.append(r)
    # one NaN per row, in every feature in turn (both signs, three rows each): a NaN pass
    # that missed any feature would send that row down the integer compares
    n_f = base.shape[1]
    for j, nan in enumerate((NANS[0], NANS[1], NANS[2], NANS[3], NANS[4], NANS[5])):
        r = base[(np.arange(n_f) * 7 + j * 13) % len(base)].copy()
        r[np.arange(n_f), np.arange(n_f)] = nan
        rows.append(r)
    r = base[:20].copy()  # NaN and infinities in one row: the NaN path with infinities
    r[:, ::3] = np.nan
    r[:, 1::3] = np.inf
    r[:, 2::5] = -np.inf
    rows.append(r)
    c_rows = np.concatenate(rows)
    sk_rows = np.clip(np.where(np.isnan(c_rows), np.nan, c_rows), -big, big)
    return c_rows, sk_rows


@pytest.mark.parametrize("name,est,X", MODELS, ids=IDS)
def test_adversarial_inputs_host(name, est, X):
    m = microlearn.convert(est, **FAST)
    c_rows, sk_rows = _adversarial(est, X)
    if m.kind == "classifier":
        np.testing.assert_array_equal(m.predict(c_rows), est.predict(sk_rows))
        tol = mean_tolerance(m.ir.n_trees, 1.0)
        np.testing.assert_allclose(m.predict_proba(c_rows), est.predict_proba(sk_rows),
                                   rtol=0, atol=tol)
    else:
        tol = mean_tolerance(m.ir.n_trees, float(np.abs(m.ir.leaf_values).max()))
        np.testing.assert_allclose(m.predict(c_rows), est.predict(sk_rows), rtol=0, atol=tol)
    # bit-identical to the table-driven engine on every row (same sums, same order)
    ref = microlearn.convert(est, method="loadable")
    if m.kind == "classifier":
        np.testing.assert_array_equal(m.predict_proba(c_rows), ref.predict_proba(c_rows))
    else:
        np.testing.assert_array_equal(m.predict(c_rows), ref.predict(c_rows))


@pytest.mark.parametrize("target", ["cortex-m4f", "cortex-m0plus"])
@pytest.mark.parametrize("name,est,X", MODELS[:5], ids=IDS[:5])
def test_adversarial_inputs_on_emulated_target(target, name, est, X):
    """The same code on Cortex-M4F (integer compares; the NaN pass, the key pass and the
    row adds in assembly) and Cortex-M0+ (soft-float: integer NaN pass, C keys): outputs
    bit-identical to the host's portable C, which equals scikit-learn (test above)."""
    reason = targets.unavailable_reason(target)
    if reason:
        pytest.skip(f"toolchain missing: {reason}")
    m = microlearn.convert(est, **FAST)
    c_rows, sk_rows = _adversarial(est, X, seed=1)
    rep = m.verify_on_target(target, c_rows)
    assert rep.ok, (name, target, rep)
    np.testing.assert_array_equal(m.predict(c_rows), est.predict(sk_rows))


def test_nan_routing_per_node_both_signs():
    """A stump per routing: NaN (any sign/payload) goes where scikit-learn sends it."""
    X = np.array([[0.0], [1.0], [2.0], [3.0]], dtype=np.float32)
    y = np.array([0, 0, 1, 1])
    for train_nan_class in (0, 1):
        Xt = np.concatenate([X, [[np.nan]]]).astype(np.float32)
        yt = np.concatenate([y, [train_nan_class]])
        for thr_sign in (1.0, -1.0):
            est = DecisionTreeClassifier(random_state=0).fit(thr_sign * Xt, yt)
            m = microlearn.convert(est, **FAST)
            rows = np.array([[v] for v in NANS] + [[-0.0], [0.0], [np.inf], [-np.inf]],
                            dtype=np.float32)
            sk = np.where(np.isnan(rows), np.nan, np.clip(rows, -3e38, 3e38))
            np.testing.assert_array_equal(m.predict(rows), est.predict(sk))


@pytest.mark.parametrize("name,est,X", MODELS, ids=IDS)
def test_conformance(name, est, X):
    m = microlearn.convert(est, **FAST)
    if m.kind == "classifier":
        atol = {"predict_proba": mean_tolerance(m.ir.n_trees, 1.0)}
    else:
        atol = {"predict": mean_tolerance(m.ir.n_trees,
                                          float(np.abs(m.ir.leaf_values).max()))}
    check_conformance(est, X[:200], atol=atol, options=FAST, compilers=True)


def test_two_fast_models_in_one_translation_unit(tmp_path):
    """Everything is P__-prefixed (macros too): two models compile side by side."""
    import subprocess

    from microlearn.host_build import WARNING_FLAGS, find_compiler

    X, y = load_iris(return_X_y=True)
    a = microlearn.convert(RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y),
                           **FAST)
    b = microlearn.convert(DecisionTreeClassifier(max_depth=2).fit(X, y), **FAST)
    (tmp_path / "a.h").write_text(a.c_source("ma"))
    (tmp_path / "b.h").write_text(b.c_source("mb"))
    src = tmp_path / "u.c"
    src.write_text('#include "a.h"\n#include "b.h"\nint f(const float *x);\n'
                   "int f(const float *x) { return ma_predict(x, 4) + mb_predict(x, 4); }\n")
    proc = subprocess.run([find_compiler(), *WARNING_FLAGS, "-c", str(src), "-o",
                           str(tmp_path / "u.o")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("cc, flags", [
    ("arm-none-eabi-gcc", ("-std=c99", "-O0", "-mcpu=cortex-m4", "-mthumb",
                           "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16")),
    ("arm-none-eabi-gcc", ("-std=c99", "-O2", "-mcpu=cortex-m4", "-mthumb",
                           "-mfloat-abi=softfp", "-mfpu=fpv4-sp-d16")),
    ("arm-none-eabi-gcc", ("-std=c99", "-Os", "-mcpu=cortex-m3", "-mthumb")),
    ("arm-none-eabi-g++", ("-x", "c++", "-std=c++11", "-O2", "-mcpu=cortex-m7", "-mthumb",
                           "-mfloat-abi=hard", "-mfpu=fpv5-d16")),
    ("arm-none-eabi-g++", ("-x", "c++", "-std=c++17", "-Os", "-mcpu=cortex-m4", "-mthumb",
                           "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16")),
    ("clang", ("-std=c99", "-O2")),
])
def test_keyed_forest_with_assembly_compiles_strict(cc, flags, tmp_path):
    """The keyed forest (keys, NaN pass and row adds in assembly on Cortex-M4F / M7, C
    elsewhere) and a second one, in one unit: strict warnings, C and C++, every
    optimisation level (the assembly's labels are unique per use)."""
    import shutil
    import subprocess

    if shutil.which(cc) is None:
        pytest.skip(f"{cc} not installed")
    est = MODELS[IDS.index("forest-keys")][1]
    a = microlearn.convert(est, **FAST).c_source("ka")
    b = microlearn.convert(MODELS[IDS.index("forest-rows")][1], **FAST).c_source("kb")
    assert "ka__ASM" in a and "ka__keys_asm" in a
    (tmp_path / "a.h").write_text(a)
    (tmp_path / "b.h").write_text(b)
    src = tmp_path / "u.c"
    src.write_text('#include "a.h"\n#include "b.h"\nint f(const float *x, float *p);\n'
                   "int f(const float *x, float *p) {\n"
                   "    return ka_predict(x, 64) + kb_predict(x, 64) +\n"
                   "           ka_predict_proba(x, 64, p, 10);\n}\n")
    warn = ["-Wall", "-Wextra", "-Wpedantic", "-Wconversion", "-Werror"]
    if "++" not in cc:
        warn.append("-Wdouble-promotion")
    proc = subprocess.run([cc, *flags, *warn, "-c", str(src), "-o", str(tmp_path / "u.o")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_single_leaf_trees_and_string_labels():
    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    stump = DecisionTreeClassifier(min_samples_split=10_000).fit(X, names)
    assert_parity(stump, microlearn.convert(stump, **FAST), X)
    one = DecisionTreeClassifier().fit(X, np.full(len(X), "only"))
    assert_parity(one, microlearn.convert(one, **FAST), X)
    reg = RandomForestRegressor(n_estimators=3, random_state=0).fit(X, np.full(len(X), 2.5))
    assert_parity(reg, microlearn.convert(reg, **FAST), X)
    et = ExtraTreesClassifier(n_estimators=7, random_state=0).fit(X, names)
    m = microlearn.convert(et, **FAST)
    assert m.predict(X[:5]).dtype == names.dtype
    assert_parity(et, m, X)


def test_many_classes_and_features():
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=2000, n_features=300, n_informative=40,
                               n_classes=30, n_clusters_per_class=1, random_state=0)
    est = RandomForestClassifier(n_estimators=4, max_depth=10, random_state=0).fit(X, y)
    m = microlearn.convert(est, **FAST)
    assert_parity(est, m, X[:500])
    Xn = X[:200].astype(np.float32)
    Xn[::3, ::7] = np.nan
    assert_parity(est, m, Xn)


def test_wine_forest_negative_thresholds():
    """Standardised features: half the thresholds are negative (unsigned compares)."""
    X, y = load_wine(return_X_y=True)
    X = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
    est = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)
    m = microlearn.convert(est, **FAST)
    assert (m.ir.threshold < 0).mean() > 0.3
    c_rows, sk_rows = _adversarial(est, X)
    np.testing.assert_array_equal(m.predict(c_rows), est.predict(sk_rows))


def test_unsupported_ir_features_raise():
    X, y = load_iris(return_X_y=True)
    ir = microlearn.convert(DecisionTreeClassifier(max_depth=2).fit(X, y)).ir
    fields = {f.name for f in dataclasses.fields(ir)}
    cases = [("kind", "outlier_detector", "outlier_detector ensembles")]
    if "n_raw" in fields:
        cases.append(("n_raw", 1, "boosted ensembles"))
    if "cat_offset" in fields:
        cases.append(("cat_offset", np.ones(ir.n_nodes, dtype=np.uint32),
                      "categorical splits"))
    if "missing_value" in fields:
        cases.append(("missing_value", -1.0, "missing-value marker"))
    for field, value, message in cases:
        bad = dataclasses.replace(ir, **{field: value})
        with pytest.raises(ConversionError, match=message):
            c_fast.c_code(bad, "m")
    with pytest.raises(ValueError, match="method"):
        microlearn.convert(DecisionTreeClassifier().fit(X, y), method="fastest")


def test_saved_header_standalone_with_sanitizers(tmp_path):
    """The saved header in a standalone C/C++ program under ASan/UBSan (gcc, clang, g++),
    NaN rows included: the shared check of tests/test_c_header.py with method "fast"."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import test_c_header as tch

    for case in tch.CASES:
        for cc, lang in tch._compilers():
            d = tmp_path / f"{case}-{cc}"
            d.mkdir()
            tch.test_saved_header_standalone(d, case, "fast", cc, lang)


@pytest.mark.parametrize("target", ["cortex-m7", "rv32imc"])
def test_other_emulated_targets(target):
    reason = targets.unavailable_reason(target)
    if reason:
        pytest.skip(f"toolchain missing: {reason}")
    X, y = load_digits(return_X_y=True)
    X = X.astype(np.float32)
    est = RandomForestClassifier(n_estimators=5, max_depth=8, random_state=0).fit(X, y)
    m = microlearn.convert(est, **FAST)
    rows = X[::20].copy()
    rows[::3, 20] = np.nan
    rows[1::3, 30] = _f32(0xFFC00000)
    rep = m.verify_on_target(target, rows)
    assert rep.ok and rep.agreement == 1.0


def test_large_forests_are_split_into_functions(monkeypatch):
    """Forests above _CHUNK_NODES decision nodes become one C function per group of trees
    (compile time): same answers in every accumulator layout, NaN rows included."""
    monkeypatch.setattr(c_fast, "_CHUNK_NODES", 40)
    X, y = load_digits(return_X_y=True)
    X = X.astype(np.float32)
    Xn = X[:300].copy()
    Xn[::4, ::5] = np.nan
    models = [
        RandomForestClassifier(n_estimators=6, random_state=0).fit(X, y),  # votes
        RandomForestClassifier(n_estimators=6, max_depth=4, random_state=0)
        .fit(X, y % 3),  # dense rows in registers
        RandomForestClassifier(n_estimators=6, max_depth=6, random_state=0).fit(X, y),  # rows
        RandomForestRegressor(n_estimators=6, max_depth=6, random_state=0).fit(X, y),
        RandomForestRegressor(n_estimators=4, max_depth=5, random_state=0)
        .fit(X, np.c_[y, X[:, 20]]),
    ]
    for est in models:
        m = microlearn.convert(est, **FAST)
        assert len(c_fast._chunks(m.ir)) > 1
        assert "__trees1(" in m.c_source("m")
        ref = microlearn.convert(est, method="loadable")
        for rows in (X[:300], Xn):
            if m.kind == "classifier":
                np.testing.assert_array_equal(m.predict_proba(rows), ref.predict_proba(rows))
                np.testing.assert_array_equal(m.predict(rows), est.predict(rows))
            else:
                np.testing.assert_array_equal(m.predict(rows), ref.predict(rows))
