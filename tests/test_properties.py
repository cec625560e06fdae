"""Property-based tests (hypothesis), issue 8: random small tree estimators (classifier /
regressor, single trees and forests, depths, feature counts, NaN in the training and the
test data) under random valid C names: the converted model agrees with scikit-learn (the
tolerances of tests/parity.py; threshold-probe rows included) and its header compiles with
the strict flags. Bounded: 30 examples, well under a minute."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from parity import assert_parity, threshold_probe_rows

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from sklearn.ensemble import (  # noqa: E402
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor  # noqa: E402

import microlearn  # noqa: E402
from microlearn import codegen, host_build  # noqa: E402

ESTIMATORS = {
    ("classifier", "tree"): DecisionTreeClassifier,
    ("classifier", "forest"): RandomForestClassifier,
    ("classifier", "extra"): ExtraTreesClassifier,
    ("regressor", "tree"): DecisionTreeRegressor,
    ("regressor", "forest"): RandomForestRegressor,
    ("regressor", "extra"): ExtraTreesRegressor,
}


def _valid(name: str) -> bool:
    try:
        codegen.check_name(name)
        return True
    except ValueError:
        return False


NAMES = st.from_regex(r"\A[A-Za-z][A-Za-z0-9]{0,6}(_[A-Za-z0-9]{1,4}){0,2}\Z").filter(_valid)


@st.composite
def cases(draw):
    kind = draw(st.sampled_from(["classifier", "regressor"]))
    flavour = draw(st.sampled_from(["tree", "forest", "extra"]))
    n_features = draw(st.integers(1, 6))
    n_samples = draw(st.integers(10, 120))
    seed = draw(st.integers(0, 2**16))
    params = {"max_depth": draw(st.sampled_from([1, 2, 4, 6, None])), "random_state": seed}
    if flavour != "tree":
        params["n_estimators"] = draw(st.integers(1, 6))
    train_nan = draw(st.sampled_from([0.0, 0.0, 0.1, 0.3]))
    test_nan = draw(st.sampled_from([0.0, 0.2, 0.5]))
    n_classes = draw(st.integers(2, 4))
    n_targets = draw(st.sampled_from([1, 1, 2]))
    quantized = draw(st.booleans())  # few distinct values: ties, repeated thresholds
    name = draw(NAMES)
    return (kind, flavour, n_features, n_samples, params, train_nan, test_nan, n_classes,
            n_targets, quantized, name, seed)


@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_random_tree_models(tmp_path_factory, case):
    (kind, flavour, n_features, n_samples, params, train_nan, test_nan, n_classes, n_targets,
     quantized, name, seed) = case
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features))
    if quantized:
        X = np.round(X * 2) / 2
    if train_nan:
        X[rng.random(X.shape) < train_nan] = np.nan
    if kind == "classifier":
        y = rng.integers(0, n_classes, n_samples)
        y[:n_classes] = np.arange(n_classes)  # every class present
    else:
        y = rng.standard_normal((n_samples, n_targets)) * 100
        y = y[:, 0] if n_targets == 1 else y
    est = ESTIMATORS[(kind, flavour)](**params)
    try:
        est.fit(X, y)
    except ValueError as e:  # this scikit-learn's estimator does not take NaN
        assert train_nan and "NaN" in str(e)
        return
    m = microlearn.convert(est)
    Xt = rng.standard_normal((40, n_features)).astype(np.float32)
    if quantized:
        Xt = np.round(Xt * 2) / 2
    Xt[rng.random(Xt.shape) < test_nan] = np.nan
    try:
        est.predict(Xt)
    except ValueError:  # an estimator fitted without NaN support rejects NaN inputs
        Xt = np.nan_to_num(Xt)
    assert_parity(est, m, Xt)
    probes = threshold_probe_rows(est, np.nan_to_num(X), max_nodes=60, seed=seed)
    probes = probes[np.isfinite(probes).all(axis=1)] if len(probes) else probes  # inf: NaN splits
    if len(probes):
        assert_parity(est, m, probes)
    # the header under a random valid name compiles with the strict flags
    tmp = tmp_path_factory.mktemp("prop")
    (tmp / f"{name}.h").write_text(m.c_source(name))
    src = tmp / "use.c"
    fn = "predict" if kind == "classifier" else "regress1"
    src.write_text(f'#include "{name}.h"\n#include "{name}.h"\n'
                   f"float use(const float *x);\n"
                   f"float use(const float *x) {{ return (float){name}_{fn}(x, "
                   f"{name}_N_FEATURES); }}\n")
    if kind == "regressor" and n_targets > 1:
        src.write_text(f'#include "{name}.h"\nint use(const float *x, float *o);\n'
                       f"int use(const float *x, float *o) {{ return (int){name}_regress(x, "
                       f"{name}_N_FEATURES, o, {name}_N_OUTPUTS); }}\n")
    proc = subprocess.run([*host_build.compiler_command(), *host_build.WARNING_FLAGS,
                           "-fsyntax-only", str(src)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
