#!/usr/bin/env python3
"""Model families: microlearn vs m2cgen vs emlearn on Cortex-M4F, Cortex-M0+ and the host.

One or two representative models per microlearn family besides trees (linear, svm,
naive_bayes, mixture, neighbors, preprocessing) on small real data sets. Each fitted model
is converted with microlearn (``exact=True``, the default, and ``exact=False`` where the
family has that option) and with every peer that supports the estimator; every result is
measured in the same firmware harness with the same flags (``microlearn.targets.measure``)
and timed on the host with the same loop, exactly as ``bench_trees.py`` does. A peer that
raises or does not build is reported as ``fails: <reason>`` in the table.

Run with ``benchmarks/.venv/bin/python benchmarks/bench_families.py [--write] [--only NAME]``;
any other Python re-executes the script in ``benchmarks/.venv``. ``--write`` replaces the
"## Model families" section of benchmarks/RESULTS.md (the rest of the file is kept).
See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv"
VENV_PY = VENV / "bin" / "python"
RESULTS = HERE / "RESULTS.md"
SECTION = "## Model families"

PREFIX = "bm"
TARGETS = ("cortex-m4f", "cortex-m0plus")
M4, M0 = TARGETS
HOST_CFLAGS = ("-std=c99", "-O2", "-ffp-contract=off")
HOST_RUNS = 5
HOST_ROUNDS = 3
HOST_MIN_SECONDS = 0.03
MAX_ROWS = 100  # test rows per model (QEMU and host)
TASK_IDS = {"classifier": 0, "regressor": 1, "outlier_detector": 2, "transformer": 3}


def _ensure_venv() -> None:
    """Re-execute in benchmarks/.venv (create it first with setup.sh if needed)."""
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    if not VENV_PY.exists():
        print("benchmarks/.venv is missing: running benchmarks/setup.sh", file=sys.stderr)
        subprocess.run(["bash", str(HERE / "setup.sh")], check=True)
    os.execv(str(VENV_PY), [str(VENV_PY), str(Path(__file__).resolve()), *sys.argv[1:]])


def _trees_helpers() -> Any:
    """bench_trees.py's generic helpers (peer-warning pragmas, emlearn runtime inlining,
    environment lines, error formatting): one implementation for both benchmarks."""
    sys.path.insert(0, str(HERE))
    import bench_trees

    return bench_trees


def _import_emlearn() -> Any:
    """emlearn.bayes calls ``numpy.seterr(all='raise')`` at import, which makes
    scikit-learn's own fits fail (GaussianMixture underflows in exp): restore numpy's
    error state after importing it."""
    import numpy as np

    old = np.geterr()
    import emlearn

    np.seterr(**old)
    return emlearn


# ---------------------------------------------------------------------------------------
# models


@dataclass
class Case:
    """One fitted model and its (float32) test rows."""

    name: str
    family: str
    estimator: Any
    kind: str  # classifier / regressor / outlier_detector
    X_test: Any  # float32 (n_rows, n_features)
    reference: Any  # sklearn predict: class index, +1/-1, or float64 values
    n_features: int
    n_outputs: int
    exact_option: bool  # the family (some pipeline step) has the `exact` option
    info: str = ""


def build_cases(only: str | None) -> list[Case]:
    import numpy as np
    from sklearn.covariance import EllipticEnvelope
    from sklearn.datasets import (
        load_breast_cancer,
        load_diabetes,
        load_digits,
        load_iris,
        load_wine,
    )
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.mixture import GaussianMixture
    from sklearn.model_selection import train_test_split
    from sklearn.naive_bayes import GaussianNB
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC, SVR

    import microlearn.families as fams

    data = {
        "iris": load_iris(return_X_y=True), "wine": load_wine(return_X_y=True),
        "breast_cancer": load_breast_cancer(return_X_y=True),
        "digits": load_digits(return_X_y=True), "diabetes": load_diabetes(return_X_y=True),
    }
    # (name, family, data set, scale X first, estimator factory)
    specs = [
        ("LogisticRegression digits", "linear", "digits", False,
         lambda: LogisticRegression(max_iter=5000)),
        ("Ridge diabetes", "linear", "diabetes", False, lambda: Ridge(alpha=1.0)),
        ("SVC rbf breast_cancer (scaled)", "svm", "breast_cancer", True, lambda: SVC()),
        ("SVC rbf iris (scaled)", "svm", "iris", True, lambda: SVC()),
        ("SVR rbf diabetes (scaled)", "svm", "diabetes", True, lambda: SVR(C=100.0)),
        ("GaussianNB digits", "naive_bayes", "digits", False, lambda: GaussianNB()),
        ("GaussianMixture iris", "mixture", "iris", False,
         lambda: GaussianMixture(n_components=3, random_state=0)),
        ("EllipticEnvelope iris", "mixture", "iris", False,
         lambda: EllipticEnvelope(random_state=0)),
        ("KNeighborsClassifier iris", "neighbors", "iris", False,
         lambda: KNeighborsClassifier(n_neighbors=5)),
        ("Pipeline Scaler+PCA+LogReg wine", "preprocessing", "wine", False,
         lambda: make_pipeline(StandardScaler(), PCA(n_components=5),
                               LogisticRegression(max_iter=5000))),
        # XGBoost / LightGBM (tree family; imported here, skipped when not installed)
        ("XGBClassifier digits (30 rounds, depth 4)", "trees", "digits", False,
         lambda: __import__("xgboost").XGBClassifier(n_estimators=30, max_depth=4,
                                                      n_jobs=1, random_state=0)),
        ("XGBRegressor diabetes (50 rounds, depth 4)", "trees", "diabetes", False,
         lambda: __import__("xgboost").XGBRegressor(n_estimators=50, max_depth=4,
                                                     n_jobs=1, random_state=0)),
        ("LGBMClassifier digits (30 rounds, 15 leaves)", "trees", "digits", False,
         lambda: __import__("lightgbm").LGBMClassifier(n_estimators=30, num_leaves=15,
                                                        n_jobs=1, random_state=0,
                                                        verbose=-1)),
        ("LGBMRegressor diabetes (50 rounds, 15 leaves)", "trees", "diabetes", False,
         lambda: __import__("lightgbm").LGBMRegressor(n_estimators=50, num_leaves=15,
                                                       n_jobs=1, random_state=0,
                                                       verbose=-1)),
    ]
    cases = []
    for name, family, ds, scale, make in specs:
        if only and only.lower() not in name.lower() and only.lower() != family:
            continue
        if family not in fams.FAMILIES:
            print(f"skipping {name}: family {family!r} is not registered", file=sys.stderr)
            continue
        X, y = data[ds]
        X_tr, X_te, y_tr, _ = train_test_split(X, y, train_size=0.7, random_state=0)
        info = f"{ds}: {len(X_tr)} train rows"
        if scale:  # fitted on the training rows; every tool gets the scaled rows
            scaler = StandardScaler().fit(X_tr)
            X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
        try:
            est = make().fit(X_tr, y_tr)
        except ImportError as exc:  # xgboost / lightgbm: optional in benchmarks/.venv
            print(f"skipping {name}: {exc}", file=sys.stderr)
            continue
        X_te = np.ascontiguousarray(X_te[:MAX_ROWS], dtype=np.float32)
        ref = est.predict(X_te.astype(np.float64))  # sklearn on the float32 inputs
        steps = [s for _, s in est.steps] if hasattr(est, "steps") else [est]
        options = [fams.lookup(s).options if fams.lookup(s) else {} for s in steps]
        exact_option = any("exact" in o for o in options)
        last = steps[-1]
        if type(last).__name__ == "EllipticEnvelope":
            kind, n_out = "outlier_detector", 1
        elif type(last).__name__ in ("GaussianMixture",):
            kind, n_out = "classifier", last.n_components  # classes = components
        elif hasattr(est, "classes_"):
            kind, n_out = "classifier", len(est.classes_)
            ref = np.searchsorted(est.classes_, ref)
        else:
            kind, n_out = "regressor", 1
        if hasattr(last, "support_vectors_"):
            info += f", {len(last.support_vectors_)} support vectors"
        if kind == "classifier" and hasattr(last, "n_samples_fit_"):
            info += f", {last.n_samples_fit_} stored points"
        cases.append(Case(name, family, est, kind, X_te, np.asarray(ref), X.shape[1], n_out,
                          exact_option, info))
    return cases


# ---------------------------------------------------------------------------------------
# variants: contract headers (prefix bm)


@dataclass
class Variant:
    tool: str  # microlearn / m2cgen / emlearn
    setting: str
    header: str | None  # None: the tool fails on this model (see `fails`)
    values: str | None = None  # the harness's recorded (uncounted) call
    n_values: int | None = None
    fails: str | None = None
    results: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    host_ns: float | None = None


def _defines(case: Case) -> str:
    return (f"#define {PREFIX}_N_FEATURES {case.n_features}\n"
            f"#define {PREFIX}_N_OUTPUTS {case.n_outputs}\n"
            f"#define {PREFIX}_TASK {TASK_IDS[case.kind]}\n")


def _adapter(case: Case, tool: str, setting: str, peer_code: str, body: str) -> str:
    bt = _trees_helpers()
    guard = "BM_ADAPTER_H"
    return (
        f"/* benchmark adapter: {tool} ({setting}) behind microlearn's header contract */\n"
        f"#ifndef {guard}\n#define {guard}\n#include <stdint.h>\n#include <string.h>\n"
        "#include <math.h>\n"
        + bt._wrap_peer(peer_code) + "\n" + _defines(case) + textwrap.dedent(body)
        + f"\n#endif /* {guard} */\n"
    )


def _short(exc: BaseException) -> str:
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {msg}"[:110]


def microlearn_variants(case: Case) -> list[Variant]:
    import microlearn

    settings = [("exact=True (default)", {})]
    if case.exact_option:
        settings.append(("exact=False", {"exact": False}))
    out = []
    for setting, opts in settings:
        try:
            m = microlearn.convert(case.estimator, **opts)
            header = m.c_source(PREFIX)
        except Exception as exc:
            out.append(Variant("microlearn", setting, None, fails=_short(exc)))
            continue
        values, n_values = None, None
        if case.kind == "classifier":
            if f"{PREFIX}_predict_proba(" in header:
                values, n_values = "predict_proba", case.n_outputs
            else:
                values = "decision_function"
                n_values = int(header.split(f"#define {PREFIX}_N_DECISION ")[1].split()[0])
        elif case.kind == "outlier_detector":
            values, n_values = "decision_function", 1
        out.append(Variant("microlearn", setting, header, values, n_values))
    return out


def m2cgen_variant(case: Case) -> Variant:
    import re

    import m2cgen

    setting = "export_to_c (double)"
    try:
        code = m2cgen.export_to_c(case.estimator, function_name="m2c_score")
    except Exception as exc:
        return Variant("m2cgen", setting, None, fails=_short(exc))
    bt = _trees_helpers()
    vector = re.search(r"void m2c_score\(double \* input, double \* output\)", code)
    scalar = re.search(r"double m2c_score\(double \* input\)", code)
    if vector and case.kind == "classifier":
        # per-class outputs (probabilities, or SVC's per-class scores): predict = argmax
        body = bt.m2cgen_vector_adapter("decision_function")
        values = ("decision_function", case.n_outputs)
    elif scalar and case.kind == "classifier" and case.n_outputs == 2:
        # binary: m2cgen returns scikit-learn's decision_function; class 1 when > 0
        body = f"""
static inline int32_t {PREFIX}_predict(const float *features, int32_t n_features)
{{{bt.M2CGEN_TO_DOUBLE}
    return m2c_score(in) > 0.0 ? 1 : 0;
}}

static inline int32_t {PREFIX}_decision_function(const float *features, int32_t n_features,
                                               float *out, int32_t n_out)
{{{bt.M2CGEN_TO_DOUBLE}
    (void)n_out;
    out[0] = (float)m2c_score(in);
    return 0;
}}
"""
        values = ("decision_function", 1)
    elif scalar and case.kind == "regressor":
        body = bt.m2cgen_scalar_regress_adapter()
        values = (None, None)
    else:
        return Variant("m2cgen", setting, None, fails="unexpected m2c_score signature")
    return Variant("m2cgen", setting, _adapter(case, "m2cgen", setting, code, body), *values)


def emlearn_variant(case: Case) -> Variant:
    bt = _trees_helpers()
    emlearn = _import_emlearn()
    est = case.estimator
    kind_name = type(est).__name__
    method = "inline" if kind_name == "EllipticEnvelope" else None  # its only method
    setting = f"convert({'method=inline' if method else 'defaults'})"
    try:
        conv = emlearn.convert(est, method=method)
        code = conv.save(name="em")
    except Exception as exc:
        return Variant("emlearn", setting, None, fails=_short(exc))
    runtime = {"GaussianNB": "eml_bayes.h", "GaussianMixture": "eml_mixture.h",
               "EllipticEnvelope": "eml_distance.h",
               "KNeighborsClassifier": "eml_neighbors.h"}[kind_name]
    code = code.replace(f"#include <{runtime}>", "")
    code = bt._emlearn_runtime(runtime) + "\n" + code
    n, k = PREFIX + "_N_FEATURES", PREFIX + "_N_OUTPUTS"
    # the harness records one more (uncounted, not in the size builds) call per row;
    # where emlearn has no per-class values it records the predicted class
    stub_values = f"""
static inline int32_t {PREFIX}_decision_function(const float *features, int32_t n_features,
                                               float *out, int32_t n_out)
{{
    (void)n_out;
    out[0] = (float){PREFIX}_predict(features, n_features);
    return 0;
}}
"""
    if kind_name == "GaussianNB":
        setting = "convert(defaults: Q16 fixed point, no class priors)"
        body = f"""
static inline int32_t {PREFIX}_predict(const float *features, int32_t n_features)
{{
    return (int32_t)em_predict(features, n_features);
}}
""" + stub_values
        values = ("decision_function", 1)
    elif kind_name == "GaussianMixture":
        setting = "convert(defaults); predict = argmax em_predict_log_proba"
        body = f"""
static inline int32_t {PREFIX}_predict(const float *features, int32_t n_features)
{{
    float lp[{k}];
    int32_t best = 0;
    if (em_predict_log_proba(features, n_features, lp) != 0) {{
        return -1;
    }}
    for (int32_t c = 1; c < {k}; c++) {{
        if (lp[c] > lp[best]) {{
            best = c;
        }}
    }}
    return best;
}}

static inline int32_t {PREFIX}_predict_proba(const float *features, int32_t n_features,
                                           float *out, int32_t n_out)
{{
    float lp[{k}];
    float score;
    (void)n_out;
    return (int32_t)em_predict_proba(features, n_features, lp, &score, out);
}}
"""
        values = ("predict_proba", case.n_outputs)
    elif kind_name == "EllipticEnvelope":
        setting = "convert(method=inline)"
        body = f"""
static inline int32_t {PREFIX}_predict(const float *features, int32_t n_features)
{{
    float dist = 0.0f;
    return eml_elliptic_envelope_predict(&em_classifier, features, (int)n_features, &dist)
           ? -1 : 1;
}}

static inline int32_t {PREFIX}_decision_function(const float *features, int32_t n_features,
                                               float *out, int32_t n_out)
{{
    (void)n_out;
    out[0] = -em_predict(features, (int)n_features) - em_classifier.decision_boundary;
    return 0;
}}
"""
        values = ("decision_function", 1)
    elif kind_name == "KNeighborsClassifier":
        setting = "convert(defaults: int16 features and points)"
        n_items = len(est._fit_X)
        body = f"""
static EmlNeighborsDistanceItem {PREFIX}__distances[{n_items}];

static inline int32_t {PREFIX}_predict(const float *features, int32_t n_features)
{{
    int16_t x[{n}];
    int16_t out = -1;
    for (int32_t i = 0; i < {n}; i++) {{  /* as emlearn's own Python wrapper does */
        x[i] = (int16_t)features[i];
    }}
    const EmlError err = eml_neighbors_predict(&em, x, (int)n_features, {PREFIX}__distances,
                                               {n_items}, &out);
    if (err != EmlOk) {{
        return -(int32_t)err;
    }}
    return out;
}}
""" + stub_values
        values = ("decision_function", 1)
    else:  # pragma: no cover
        return Variant("emlearn", setting, None, fails="no adapter for this estimator")
    return Variant("emlearn", setting, _adapter(case, "emlearn", setting, code, body), *values)


def variants_for(case: Case) -> list[Variant]:
    return [*microlearn_variants(case), m2cgen_variant(case), emlearn_variant(case)]


# ---------------------------------------------------------------------------------------
# measurements


HOST_BENCH_C = r"""
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "model.h"

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

volatile float sink;

static float pass(const float *rows, long n_rows)
{
    float acc = 0.0f;
    for (long r = 0; r < n_rows; r++) {
        const float *x = rows + r * bm_N_FEATURES;
#if bm_TASK == 1
        float out[bm_N_OUTPUTS];
        (void)bm_regress(x, bm_N_FEATURES, out, bm_N_OUTPUTS);
        acc += out[0];
#else
        acc += (float)bm_predict(x, bm_N_FEATURES);
#endif
    }
    return acc;
}

int main(int argc, char **argv)
{
    if (argc != 4) return 2;
    FILE *f = fopen(argv[1], "rb");
    if (!f) return 3;
    fseek(f, 0, SEEK_END);
    long bytes = ftell(f);
    fseek(f, 0, SEEK_SET);
    float *rows = malloc((size_t)bytes);
    if (!rows || fread(rows, 1, (size_t)bytes, f) != (size_t)bytes) return 4;
    fclose(f);
    long n_rows = bytes / (long)(sizeof(float) * bm_N_FEATURES);
    int n_runs = atoi(argv[2]);
    double min_ns = atof(argv[3]) * 1e9;
    double *per = malloc(sizeof(double) * (size_t)n_runs);
    if (!per) return 4;
    long loops = 1;
    for (;;) {
        double t0 = now_ns();
        for (long i = 0; i < loops; i++) sink = pass(rows, n_rows);
        if (now_ns() - t0 >= min_ns) break;
        loops *= 2;
    }
    for (int run = 0; run < n_runs; run++) {
        double t0 = now_ns();
        for (long i = 0; i < loops; i++) sink = pass(rows, n_rows);
        per[run] = (now_ns() - t0) / (double)(loops * n_rows);
    }
    for (int run = 0; run < n_runs; run++) printf("%.3f\n", per[run]);
    return 0;
}
"""


def _log_error(case: Case, v: Variant, where: str, exc: Exception) -> None:
    bt = _trees_helpers()
    v.errors[where] = f"{type(exc).__name__}: {bt._first_error(str(exc))}"
    print(f"  ! {case.name} / {v.tool} {v.setting} / {where}: {v.errors[where]}",
          file=sys.stderr)


def run_all(cases: list[Case], variants: dict[str, list[Variant]], jobs: int) -> None:
    from microlearn import targets
    from microlearn.host_build import find_compiler

    cc = find_compiler()
    for t in TARGETS:
        targets.check_toolchain(t)
    targets.qemu_plugin_path()
    tasks = [(c, v, t) for c in cases for v in variants[c.name] if v.header for t in TARGETS]

    def measure(task: tuple[Case, Variant, str]) -> None:
        case, v, t = task
        try:
            v.results[t] = targets.measure(
                t, v.header, PREFIX, case.kind, case.X_test, n_outputs=case.n_outputs,
                n_features=case.n_features, values=v.values, n_values=v.n_values,
                timeout=600)
        except Exception as exc:
            _log_error(case, v, t, exc)

    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        for i, _ in enumerate(pool.map(measure, tasks), 1):
            if i % 10 == 0 or i == len(tasks):
                print(f"  {i}/{len(tasks)} target measurements "
                      f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr)

    print("host timing ...", file=sys.stderr)
    pairs = [(c, v) for c in cases for v in variants[c.name] if v.header]
    with tempfile.TemporaryDirectory(prefix="bench-fam-host-") as tmp:
        def build(pair: tuple[Case, Variant]) -> Path | None:
            case, v = pair
            d = Path(tempfile.mkdtemp(prefix="host-", dir=tmp))
            (d / "model.h").write_text(v.header or "")
            (d / "bench.c").write_text(HOST_BENCH_C)
            case.X_test.tofile(d / "rows.bin")
            proc = subprocess.run([cc, *HOST_CFLAGS, f"-I{d}", str(d / "bench.c"), "-o",
                                   str(d / "bench"), "-lm"],
                                  capture_output=True, text=True, timeout=600)
            if proc.returncode != 0:
                _log_error(case, v, "host", RuntimeError(f"host build: {proc.stderr}"))
                return None
            return d

        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
            dirs = list(pool.map(build, pairs))
        samples: dict[int, list[float]] = {i: [] for i in range(len(pairs))}
        for _ in range(HOST_ROUNDS):
            for i, ((case, v), d) in enumerate(zip(pairs, dirs, strict=True)):
                if d is None or "host" in v.errors:
                    continue
                proc = subprocess.run([str(d / "bench"), str(d / "rows.bin"), str(HOST_RUNS),
                                       str(HOST_MIN_SECONDS)],
                                      capture_output=True, text=True, timeout=600)
                if proc.returncode != 0:
                    _log_error(case, v, "host",
                               RuntimeError(f"host timing: status {proc.returncode}"))
                    continue
                samples[i] += [float(w) for w in proc.stdout.split()]
        for i, (_, v) in enumerate(pairs):
            if samples[i] and "host" not in v.errors:
                v.host_ns = statistics.median(samples[i])


# ---------------------------------------------------------------------------------------
# report


def _agreement(case: Case, run: Any) -> tuple[float, str]:
    import numpy as np

    if case.kind in ("classifier", "outlier_detector"):
        pct = 100.0 * float(np.mean(run.outputs == case.reference))
        return pct, "100%" if pct == 100.0 else f"{pct:.1f}%"
    err = float(np.max(np.abs(run.outputs[:, 0].astype(np.float64) - case.reference)))
    return err, f"max err {err:.3g}"


def _fmt(v: float | None) -> str:
    return "—" if v is None else f"{int(round(v)):,}"


def _get(v: Variant, target: str, attr: str) -> Any:
    run = v.results.get(target)
    return None if run is None else getattr(run, attr)


def _ratio(num: float | None, den: float | None) -> str:
    return "—" if num is None or not den else f"{num / den:.2f}"


def table(cases: list[Case], variants: dict[str, list[Variant]]) -> list[str]:
    head = ["model (test rows)", "tool", "setting", "agreement", "flash M4F", "RAM M4F",
            "flash M0+", "RAM M0+", "instr M4F", "instr M0+", "stack M4F/M0+", "host ns",
            "flash ml/peer M4F", "instr ml/peer M4F", "instr ml/peer M0+"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for case in cases:
        vs = variants[case.name]
        ml = next((v for v in vs if v.tool == "microlearn" and v.header), None)
        label = f"{case.name} ({len(case.X_test)})"
        for v in vs:
            if v.fails is not None:
                lines.append("| " + " | ".join(
                    [label, v.tool, v.setting, f"fails: {v.fails}"] + ["—"] * 8 + [""] * 3)
                    + " |")
                continue
            agree = [_agreement(case, v.results[t])[1] for t in TARGETS if t in v.results]
            txt = agree[0] if agree and len(set(agree)) == 1 else " / ".join(agree)
            if v.errors:
                txt = (txt + " " if txt else "") + "; ".join(
                    f"{'M4F' if t == M4 else 'M0+' if t == M0 else t} fails: {e}"
                    for t, e in v.errors.items())
            peer = v.tool != "microlearn" and ml is not None
            row = [
                label, v.tool, v.setting, txt,
                _fmt(_get(v, M4, "flash_bytes")), _fmt(_get(v, M4, "ram_bytes")),
                _fmt(_get(v, M0, "flash_bytes")), _fmt(_get(v, M0, "ram_bytes")),
                _fmt(_get(v, M4, "instructions_mean")), _fmt(_get(v, M0, "instructions_mean")),
                "/".join(_fmt(_get(v, t, "stack_bytes")) for t in TARGETS),
                "—" if v.host_ns is None else f"{v.host_ns:,.0f}",
                _ratio(_get(ml, M4, "flash_bytes"), _get(v, M4, "flash_bytes")) if peer else "",
                _ratio(_get(ml, M4, "instructions_mean"), _get(v, M4, "instructions_mean"))
                if peer else "",
                _ratio(_get(ml, M0, "instructions_mean"), _get(v, M0, "instructions_mean"))
                if peer else "",
            ]
            lines.append("| " + " | ".join(row) + " |")
    return lines


def section(cases: list[Case], variants: dict[str, list[Variant]], elapsed: float,
            argv_note: str) -> str:
    bt = _trees_helpers()
    env = bt.environment()
    models = "\n".join(f"- **{c.name}** ({c.family}): `{_est_repr(c.estimator)}`; {c.info}; "
                       f"{len(c.X_test)} test rows" for c in cases)
    lines = [
        SECTION, "",
        "Written by `benchmarks/bench_families.py` (`--write` replaces this section only).", "",
        *env,
        f"- benchmark run time: {elapsed:.0f} s ({argv_note})", "",
        "### Protocol", "",
        "One or two representative models per family besides trees, all `random_state=0`, "
        "70/30 `train_test_split(random_state=0)`; the first "
        f"{MAX_ROWS} test rows (fewer when the test split is smaller) are cast to float32 "
        "once and used for everything. \"(scaled)\": the rows are standardised with a "
        "`StandardScaler` fitted on the training rows *before* the estimator (every tool "
        "gets the same bare estimator on scaled rows; neither peer converts a Pipeline). "
        "The Pipeline row is one microlearn model (scaler, PCA and classifier in one header).",
        "",
        models, "",
        "- **microlearn**: `microlearn.convert(est)` (`exact=True`, the default) and "
        "`microlearn.convert(est, exact=False)` where the family has the option (no "
        "option for neighbors), `c_source('bm')`. In the Pipeline `exact` concerns the "
        "LogisticRegression step (the scaler and PCA have no such option).",
        "- **m2cgen 0.10.0**: `m2cgen.export_to_c(est)` (double precision). Adapter: "
        "float features to double; per-class outputs -> `predict` = first argmax; binary "
        "SVC's scalar output is scikit-learn's `decision_function` -> class 1 when > 0; "
        "regressors store the scalar.",
        "- **emlearn 0.23.2**: `emlearn.convert(est)` (`method='inline'` for "
        "EllipticEnvelope, its only method) and `save(name='em')`; its runtime headers "
        "(`eml_bayes.h`, `eml_mixture.h`, `eml_distance.h`, `eml_neighbors.h` and what they "
        "include) are inlined. GaussianNB: `em_predict` (Q16 fixed point; emlearn ignores "
        "the class priors). GaussianMixture: `predict` = first argmax of "
        "`em_predict_log_proba` (the cheapest route to the same class as emlearn's "
        "`predict`, which takes the argmax of `predict_proba`). EllipticEnvelope: the "
        "outlier flag of `eml_elliptic_envelope_predict` (inlier when "
        "`-dist - offset >= 0`, as scikit-learn). KNeighborsClassifier: features cast to "
        "int16 and `eml_neighbors_predict` with a static distance buffer (exactly what "
        "emlearn's own Python wrapper does; emlearn stores the points as int16).",
        "- A tool that raises on the estimator is listed as `fails: <reason>`.",
        "- **Targets**: every header goes through `microlearn.targets.measure` (the same "
        "bare-metal harness, `-Os` and the project's strict warning flags; the peers' code, "
        "not the adapters, is wrapped in `#pragma GCC diagnostic ignored`, as in the tree "
        "benchmark) on Cortex-M4F (QEMU mps2-an386) and Cortex-M0+ (mps2-an385). flash / "
        "RAM = the firmware minus the same firmware with a stub (model code, tables, "
        "library functions it pulls in such as soft-float double and `expf`, the adapter; "
        "`predict` or `regress` only). instr = mean instructions per `predict` (classifiers, "
        "outlier detectors) or `regress` (regressors) call, counted by a QEMU plugin; "
        "stack = deepest stack of one call (stack painting).",
        "- **Agreement**: % of the test rows whose class (outlier detector: +1/-1) equals "
        "scikit-learn's `predict` on the same float32 values (widened to float64); "
        "GaussianMixture: the component index. Regressors: max |C output - scikit-learn "
        "prediction|. From the target runs (one value when M4F and M0+ agree).",
        "- **Host ns**: each header plus a loop over the test rows, `gcc "
        f"{' '.join(HOST_CFLAGS)}`, {HOST_ROUNDS} rounds over all programs x {HOST_RUNS} "
        f"runs of >= {HOST_MIN_SECONDS * 1000:.0f} ms after the QEMU phase; median; "
        "+-20 % (shared machine).",
        "- **ml/peer** = microlearn's default (`exact=True`) row divided by the peer's row "
        "(< 1: microlearn smaller / fewer instructions).", "",
        "### Results", "",
        *table(cases, variants), "",
        "### Reading the table", "",
        "- microlearn `exact=True` keeps float64 copies of the tables and a float64 "
        "re-decision of near-ties. Even when no test row needs it, the float64 code links "
        "the soft-float double library (`__aeabi_dadd/dsub/dmul/ddiv`, `sqrt`: about 3 KB "
        "on Cortex-M4F, which has a single-precision FPU only, more on the M0+), and the "
        "float32 pass also computes the certified error bound of every decision value "
        "(linear: a second sum of |x_i w_ji|; SVC: a bound per kernel value), which is "
        "where its extra instructions go on every row. `exact=False` drops both; on the "
        "rows here it agrees everywhere too, but it has no guarantee at near-ties (see "
        "docs/families/). Regressors (Ridge, SVR) have nothing to re-decide: both settings "
        "give the same code.",
        "- Pipeline: its `exact=False` row still links the soft-float double library "
        "and `sqrtf` (about 2.5 KB on Cortex-M4F) although all its tables are float32 "
        "(`scaler_arithmetic='float32'` generates the same code): the generic "
        "`ml_preprocessing_transform` engine, shared by the scaler and PCA steps, is "
        "compiled out of line at `-Os`, so its branches for double tables and for "
        "Normalizer stay in the binary.",
        "- RAM of about 100 B on both targets for models that call `expf` / `sqrtf` (and "
        "for m2cgen's `exp`) is newlib's `impure_data` / `errno`, pulled in by the libm "
        "wrappers (`-fmath-errno` is the compiler's default), not model state.",
        "- emlearn's GaussianNB tables are not `const` (10 classes x 64 features x 3 Q16 "
        "values = 7,680 B), so they are in RAM *and* in flash (the .data image); its Q16 "
        "fixed-point log-likelihood without class priors is a different model (see the "
        "agreement). emlearn's KNN casts features and stored points to int16 (iris "
        "features like 5.1 become 5) and keeps a distance buffer of 8 B per stored point "
        "in RAM; in exchange its integer distances need no soft-float on the M0+, where "
        "microlearn's float32 distances are library calls.",
        "- m2cgen's multiclass SVC (`export_to_c`, 0.10.0) returns per-class scores that "
        "are neither scikit-learn's one-vs-rest `decision_function` nor the vote counts; "
        "their argmax agrees with scikit-learn's `predict` on few rows (binary SVC, "
        "LogisticRegression and the regressors are correct). Its double-precision code is "
        "soft-float on both targets, and its SVC/SVR code is unrolled per support vector "
        "(flash grows with the support vectors times the features).",
        "",
    ]
    return "\n".join(lines)


def _est_repr(est: Any) -> str:
    import re

    return re.sub(r"\s+", " ", repr(est))


def write_section(text: str) -> None:
    """Replace (or append) the '## Model families' section of RESULTS.md; everything else
    in the file is kept as it is."""
    from results_md import replace_section  # benchmarks/ (the script's directory)

    replace_section(RESULTS, SECTION, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true",
                        help="also write the '## Model families' section of RESULTS.md")
    parser.add_argument("--only", help="run only models whose name contains this text "
                                       "(or whose family is this name); with --write the "
                                       "section then holds only those models")
    parser.add_argument("--jobs", type=int, default=2,
                        help="measurements run at the same time (default 2)")
    args = parser.parse_args(argv)
    _ensure_venv()
    _import_emlearn()  # once, before any fit (numpy error state, see _import_emlearn)

    t0 = time.perf_counter()
    print("fitting models ...", file=sys.stderr)
    cases = build_cases(args.only)
    if not cases:
        parser.error(f"no model matches {args.only!r}")
    variants: dict[str, list[Variant]] = {}
    for case in cases:
        print(f"converting {case.name} ...", file=sys.stderr)
        variants[case.name] = variants_for(case)
        for v in variants[case.name]:
            if v.fails:
                print(f"  {v.tool}: fails: {v.fails}", file=sys.stderr)
    print("measuring (QEMU Cortex-M4F and M0+, host timing) ...", file=sys.stderr)
    run_all(cases, variants, max(1, args.jobs))
    note = "`benchmarks/.venv/bin/python benchmarks/bench_families.py --write`"
    if args.only:
        note += f" --only {args.only!r}"
    text = section(cases, variants, time.perf_counter() - t0, note)
    print(text)
    if args.write:
        write_section(text)
        print(f"wrote the '{SECTION}' section of {RESULTS}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
