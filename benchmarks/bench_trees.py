#!/usr/bin/env python3
"""Tree models: microlearn vs emlearn vs m2cgen on Cortex-M4F, Cortex-M0+ and the host.

The same fitted scikit-learn models are converted with every tool/setting; each result is
run on the test rows

* on Cortex-M4F and Cortex-M0+ in QEMU through ``microlearn.targets.measure`` (agreement
  with scikit-learn, model flash and static RAM, instructions per inference, stack), and
* on this machine: the C compiled with ``gcc -O2`` into one timing program per tool and
  model that loops over the test rows (median ns per inference over several runs), and
  over FRESH_ROWS distinct rows (branches the host's predictor cannot learn).

Peers are wrapped in small adapter headers that expose microlearn's generated-header
contract (``PREFIX_predict`` / ``PREFIX_predict_proba`` / ``PREFIX_regress``), so the
target harness and the host timing program treat every tool the same way.

Run with ``benchmarks/.venv/bin/python benchmarks/bench_trees.py [--write]``; any other
Python re-executes the script in ``benchmarks/.venv`` (created by ``benchmarks/setup.sh``
when missing). See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
VENV = HERE / ".venv"
VENV_PY = VENV / "bin" / "python"
RESULTS = HERE / "RESULTS.md"

PREFIX = "bm"  # C prefix of every benchmarked model (the contract's PREFIX)
TARGETS = ("cortex-m4f", "cortex-m0plus")
SHORT = {"cortex-m4f": "M4F", "cortex-m0plus": "M0+"}
HOST_CFLAGS = ("-std=c99", "-O2", "-ffp-contract=off")
HOST_RUNS = 5  # timing runs per program start
HOST_ROUNDS = 3  # program starts per tool/model; the median of all runs is reported
HOST_MIN_SECONDS = 0.03  # length of one timing run (the program calibrates its loop count)
#: second host protocol: this many distinct rows (test rows, each feature times 1 + 5 %
#: normal noise, seed 0), more than a branch predictor can learn in a loop over them
FRESH_ROWS = 8000
# microlearn's tree methods, one row each ("branchless": branch-free walks, for hosts)
ML_METHODS = ("loadable", "inline", "fast", "branchless")


def _ensure_venv() -> None:
    """Re-execute in benchmarks/.venv (create it first with setup.sh if needed)."""
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    if not VENV_PY.exists():
        print("benchmarks/.venv is missing: running benchmarks/setup.sh", file=sys.stderr)
        subprocess.run(["bash", str(HERE / "setup.sh")], check=True)
    os.execv(str(VENV_PY), [str(VENV_PY), str(Path(__file__).resolve()), *sys.argv[1:]])


# ---------------------------------------------------------------------------------------
# models


@dataclass
class Case:
    """One fitted model and its test rows."""

    name: str
    estimator: Any
    kind: str  # "classifier" or "regressor"
    X_test: Any  # float32 (n_rows, n_features)
    reference: Any  # sklearn: class index per row, or float64 predictions
    n_features: int
    n_outputs: int

    @property
    def n_nodes(self) -> int:
        ests = getattr(self.estimator, "estimators_", [self.estimator])
        return int(sum(e.tree_.node_count for e in ests))


def build_cases(only: str | None) -> list[Case]:
    import numpy as np
    from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, make_classification
    from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier, RandomForestRegressor
    from sklearn.model_selection import train_test_split
    from sklearn.tree import DecisionTreeClassifier

    digits = load_digits(return_X_y=True)
    cancer = load_breast_cancer(return_X_y=True)
    synthetic = make_classification(n_samples=2000, n_features=20, random_state=0)
    diabetes = load_diabetes(return_X_y=True)
    specs: list[tuple[str, Callable[[], Any], tuple[Any, Any]]] = [
        ("RF digits",
         lambda: RandomForestClassifier(n_estimators=10, max_depth=10, random_state=0), digits),
        ("DT digits", lambda: DecisionTreeClassifier(random_state=0), digits),
        ("RF breast_cancer",
         lambda: RandomForestClassifier(n_estimators=10, max_depth=10, random_state=0), cancer),
        ("DT breast_cancer", lambda: DecisionTreeClassifier(random_state=0), cancer),
        ("ET synthetic-20f", lambda: ExtraTreesClassifier(n_estimators=10, random_state=0),
         synthetic),
        ("RFR diabetes",
         lambda: RandomForestRegressor(n_estimators=10, max_depth=10, random_state=0), diabetes),
    ]
    cases = []
    for name, make, (X, y) in specs:
        if only and only.lower() not in name.lower():
            continue
        X_tr, X_te, y_tr, _ = train_test_split(X, y, train_size=0.7, random_state=0)
        est = make().fit(X_tr, y_tr)
        X_te = np.ascontiguousarray(X_te, dtype=np.float32)
        if hasattr(est, "classes_"):
            ref = np.searchsorted(est.classes_, est.predict(X_te))
            kind, n_out = "classifier", len(est.classes_)
        else:
            ref = est.predict(X_te)
            kind, n_out = "regressor", 1
        cases.append(Case(name, est, kind, X_te, ref, X.shape[1], n_out))
    return cases


# ---------------------------------------------------------------------------------------
# tools: each variant is a header that follows microlearn's generated-header contract


@dataclass
class Variant:
    """One tool/setting for one model: a contract header (prefix ``bm``)."""

    tool: str  # "microlearn", "emlearn", "m2cgen"
    setting: str
    header: str
    model: Any = None  # microlearn.Model for microlearn variants
    results: dict[str, Any] = field(default_factory=dict)  # target -> TargetRun
    errors: dict[str, str] = field(default_factory=dict)
    host_ns: float | None = None
    host_fresh_ns: float | None = None  # the FRESH_ROWS protocol
    rows: Any = None  # host-only variants: their own test rows (default: the case's)
    fresh: Any = None  # ... and fresh rows


def _contract_defines(case: Case) -> str:
    return (
        f"#define {PREFIX}_N_FEATURES {case.n_features}\n"
        f"#define {PREFIX}_N_OUTPUTS {case.n_outputs}\n"
        f"#define {PREFIX}_TASK {0 if case.kind == 'classifier' else 1}\n"
    )


# The peers' code is not written for -Wconversion/-Wpedantic/-Werror (the harness's flags);
# these pragmas silence exactly the warnings it raises, around the peer code only.
_PEER_WARNINGS = (
    "-Wconversion", "-Wsign-conversion", "-Wfloat-conversion", "-Wdouble-promotion",
    "-Wunused-parameter", "-Wunused-function", "-Wunused-variable",
    "-Wunused-but-set-variable", "-Wsign-compare", "-Wmissing-field-initializers",
    "-Wpedantic", "-Wcast-qual", "-Wint-in-bool-context", "-Wtype-limits",
)


def _wrap_peer(code: str) -> str:
    ignores = "\n".join(f'#pragma GCC diagnostic ignored "{w}"' for w in _PEER_WARNINGS)
    return (
        "#pragma GCC diagnostic push\n" + ignores + "\n" + code
        + "\n#pragma GCC diagnostic pop\n"
    )


def _adapter(case: Case, tool: str, setting: str, peer_code: str, body: str) -> str:
    guard = "BM_ADAPTER_H"
    return (
        f"/* benchmark adapter: {tool} ({setting}) behind microlearn's header contract */\n"
        f"#ifndef {guard}\n#define {guard}\n#include <stdint.h>\n#include <string.h>\n"
        + _wrap_peer(peer_code) + "\n" + _contract_defines(case) + textwrap.dedent(body)
        + f"\n#endif /* {guard} */\n"
    )


def microlearn_variants(case: Case) -> list[Variant]:
    import microlearn

    out = []
    for method in ML_METHODS:
        m = microlearn.convert(case.estimator, method=method)
        out.append(Variant("microlearn", method, m.c_source(PREFIX), model=m))
    return out


# Host-only: microlearn on the splits emlearn's int16 defaults compute. emlearn writes a
# threshold t as the integer int(t) and compares `(int16_t)x < int(t)`; on the rows cast
# the same way (integer values, truncated toward zero) that is `x <= int(t) - 0.5`, so a
# copy of the fitted model with those thresholds, converted by microlearn and run on those
# rows, takes every branch emlearn's int16 code takes (times the code, not the model).
INT16_SPLIT_METHODS = ("inline", "fast", "branchless")


def int16_split_rows(X: Any) -> Any:
    """The float32 rows as emlearn's int16 adapter sees them: cast to int16 (truncated)."""
    import numpy as np

    return np.ascontiguousarray(np.trunc(X).astype(np.int16), dtype=np.float32)


def int16_split_estimator(est: Any) -> Any:
    """A copy of a fitted forest / tree whose thresholds are emlearn's int16 splits."""
    import copy

    import numpy as np

    est = copy.deepcopy(est)
    for e in getattr(est, "estimators_", [est]):
        tree = e.tree_
        inner = tree.children_left >= 0
        t = tree.threshold  # a view of the tree's node array: edited in place
        t[inner] = np.trunc(t[inner]) - 0.5
    return est


def int16_split_variants(case: Case) -> list[Variant]:
    import microlearn

    est = int16_split_estimator(case.estimator)
    rows, fresh = int16_split_rows(case.X_test), int16_split_rows(fresh_rows(case))
    return [Variant("microlearn", f"{method} on emlearn's int16 splits",
                    microlearn.convert(est, method=method).c_source(PREFIX),
                    model=est, rows=rows, fresh=fresh)
            for method in INT16_SPLIT_METHODS]


def int16_split_check(case: Case, est: Any, run: Any) -> str:
    """How closely the int16-splits copy reproduces emlearn's int16 output ``run`` on the
    test rows: classifiers by the copy's hard vote (emlearn votes; its first maximum),
    regressors by the largest difference of the mean."""
    import numpy as np

    X = int16_split_rows(case.X_test).astype(np.float64)
    if case.kind == "classifier":
        trees = getattr(est, "estimators_", [est])
        votes = np.zeros((len(X), case.n_outputs))
        for e in trees:
            votes[np.arange(len(X)), np.argmax(e.predict_proba(X), axis=1)] += 1
        same = float(np.mean(np.argmax(votes, axis=1) == run.outputs))
        return f"same class as emlearn's int16 code on {100 * same:.1f}% of the test rows"
    err = float(np.max(np.abs(est.predict(X) - run.outputs[:, 0].astype(np.float64))))
    return f"largest difference from emlearn's int16 output {err:.3g}"


def _emlearn_runtime(header: str, seen: set[str] | None = None) -> str:
    """emlearn runtime header text with its eml_*.h includes inlined (the target harness
    has no include path for emlearn)."""
    import emlearn

    seen = set() if seen is None else seen
    if header in seen:
        return ""
    seen.add(header)
    text = (Path(emlearn.includedir) / header).read_text()

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if (Path(emlearn.includedir) / name).is_file():
            return _emlearn_runtime(name, seen)
        return m.group(0)

    return re.sub(r'^\s*#include\s*[<"](eml_[a-z0-9_]+\.h)[>"]\s*$', sub, text, flags=re.M)


def emlearn_variants(case: Case) -> list[Variant]:
    import emlearn

    settings: list[tuple[str, dict[str, Any]]] = [
        ("inline, defaults (int16 features, hard vote)", {}),
        ("loadable, defaults (int16 features, hard vote)", {"method": "loadable"}),
    ]
    if case.kind == "classifier":
        settings += [
            ("inline, float, leaf_bits=8", {"method": "inline", "dtype": "float",
                                           "leaf_bits": 8}),
            ("inline, float, hard vote", {"method": "inline", "dtype": "float"}),
            ("loadable, int16, leaf_bits=8", {"method": "loadable", "leaf_bits": 8}),
        ]
    else:  # leaf_bits applies to class proportions only; regressors keep float leaves
        settings += [("inline, float", {"method": "inline", "dtype": "float"})]
    out = []
    for setting, kwargs in settings:
        conv = emlearn.convert(case.estimator, **kwargs)
        code = conv.save(name="em")
        if "#include <eml_trees.h>" in code:
            code = code.replace("#include <eml_trees.h>", _emlearn_runtime("eml_trees.h"))
        ftype = "float" if conv.dtype == "float" else conv.dtype
        if ftype == "float":
            prep = "    const float *x = features;\n"
        else:  # emlearn's own Python wrapper casts float features the same way
            prep = (
                f"    {ftype} x[{PREFIX}_N_FEATURES];\n"
                f"    for (int32_t i = 0; i < {PREFIX}_N_FEATURES; i++) {{\n"
                f"        x[i] = ({ftype})features[i];\n"
                "    }\n"
            )
        if case.kind == "classifier":
            body = f"""
static inline int32_t {PREFIX}_predict(const float *features, int32_t n_features)
{{
{prep}    return (int32_t)em_predict(x, n_features);
}}

static inline int32_t {PREFIX}_predict_proba(const float *features, int32_t n_features,
                                           float *out, int32_t n_out)
{{
{prep}    return (int32_t)em_predict_proba(x, n_features, out, (int)n_out);
}}
"""
        else:
            body = f"""
static inline int32_t {PREFIX}_regress(const float *features, int32_t n_features,
                                     float *out, int32_t n_out)
{{
{prep}    (void)n_out;
    out[0] = em_predict(x, n_features);
    return 0;
}}
"""
        out.append(Variant("emlearn", setting, _adapter(case, "emlearn", setting, code, body)))
    return out


M2CGEN_TO_DOUBLE = f"""
    double in[{PREFIX}_N_FEATURES];
    for (int32_t i = 0; i < {PREFIX}_N_FEATURES; i++) {{{{
        in[i] = (double)features[i];
    }}}}
    (void)n_features;"""


def m2cgen_vector_adapter(values_fn: str) -> str:
    """Contract functions around m2cgen's `void m2c_score(double *in, double *out)` (one
    score per class): predict = first argmax; `values_fn` (predict_proba or
    decision_function) = the scores as floats."""
    k = PREFIX + "_N_OUTPUTS"
    return f"""
static inline int32_t {PREFIX}_predict(const float *features, int32_t n_features)
{{{M2CGEN_TO_DOUBLE}
    double o[{k}];
    int32_t best = 0;
    m2c_score(in, o);
    for (int32_t c = 1; c < {k}; c++) {{
        if (o[c] > o[best]) {{
            best = c;
        }}
    }}
    return best;
}}

static inline int32_t {PREFIX}_{values_fn}(const float *features, int32_t n_features,
                                        float *out, int32_t n_out)
{{{M2CGEN_TO_DOUBLE}
    double o[{k}];
    (void)n_out;
    m2c_score(in, o);
    for (int32_t c = 0; c < {k}; c++) {{
        out[c] = (float)o[c];
    }}
    return 0;
}}
"""


def m2cgen_scalar_regress_adapter() -> str:
    """`regress` around m2cgen's `double m2c_score(double *in)` (single-output regressor)."""
    return f"""
static inline int32_t {PREFIX}_regress(const float *features, int32_t n_features,
                                     float *out, int32_t n_out)
{{{M2CGEN_TO_DOUBLE}
    (void)n_out;
    out[0] = (float)m2c_score(in);
    return 0;
}}
"""


def m2cgen_variant(case: Case) -> Variant:
    import m2cgen

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 100_000))  # deep trees
    code = m2cgen.export_to_c(case.estimator, function_name="m2c_score")
    setting = "export_to_c (double)"
    if re.search(r"void m2c_score\(double \* input, double \* output\)", code):
        assert case.kind == "classifier"
        body = m2cgen_vector_adapter("predict_proba")
    elif re.search(r"double m2c_score\(double \* input\)", code) and case.kind == "regressor":
        body = m2cgen_scalar_regress_adapter()
    else:
        raise RuntimeError(f"m2cgen produced an unexpected signature for {case.name}")
    return Variant("m2cgen", setting, _adapter(case, "m2cgen", setting, code, body))


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
#if bm_TASK == 0
        acc += (float)bm_predict(x, bm_N_FEATURES);
#else
        float out[bm_N_OUTPUTS];
        (void)bm_regress(x, bm_N_FEATURES, out, bm_N_OUTPUTS);
        acc += out[0];
#endif
    }
    return acc;
}

/* usage: bench rows.bin n_runs min_seconds -> ns per inference of each run */
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
    for (;;) { /* warm up and calibrate */
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


def build_host_bench(case: Case, variant: Variant, cc: str, workdir: Path) -> Path:
    """Compile the variant's C with the host timing loop (gcc -O2); return the directory
    holding ``bench`` and ``rows.bin``."""
    d = Path(tempfile.mkdtemp(prefix="host-", dir=workdir))
    (d / "model.h").write_text(variant.header)
    (d / "bench.c").write_text(HOST_BENCH_C)
    (case.X_test if variant.rows is None else variant.rows).tofile(d / "rows.bin")
    (fresh_rows(case) if variant.fresh is None else variant.fresh).tofile(d / "fresh.bin")
    proc = subprocess.run([cc, *HOST_CFLAGS, f"-I{d}", str(d / "bench.c"), "-o", str(d / "bench")],
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"host build failed: {_first_error(proc.stderr)}")
    return d


def fresh_rows(case: Case) -> Any:
    """FRESH_ROWS distinct float32 rows near the test rows (the same for every tool)."""
    import numpy as np

    rng = np.random.default_rng(0)
    X = case.X_test[rng.integers(0, len(case.X_test), FRESH_ROWS)].astype(np.float64)
    return np.ascontiguousarray(X * (1.0 + 0.05 * rng.standard_normal(X.shape)),
                                dtype=np.float32)


def run_host_bench(d: Path, rows: str = "rows.bin") -> list[float]:
    """ns per inference of each of HOST_RUNS timing runs (one process) over ``rows``."""
    proc = subprocess.run([str(d / "bench"), str(d / rows), str(HOST_RUNS),
                           str(HOST_MIN_SECONDS)], capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"host timing failed with status {proc.returncode}")
    return [float(w) for w in proc.stdout.split()]


def _first_error(text: str) -> str:
    """The first compiler/QEMU error line of a message (the command line is skipped)."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    for ln in lines:
        if "error:" in ln or "Error" in ln.split(":")[0]:
            return ln[:200]
    return (lines[0] if lines else "")[:200]


def _log_error(case: Case, v: Variant, where: str, exc: Exception) -> None:
    v.errors[where] = f"{type(exc).__name__}: {_first_error(str(exc))}"
    print(f"  ! {case.name} / {v.tool} {v.setting} / {where}: {v.errors[where]}",
          file=sys.stderr)


def run_all(cases: list[Case], variants: dict[str, list[Variant]], jobs: int,
            host_only: bool = False) -> None:
    """QEMU measurements (``jobs`` at a time; none with ``host_only``), then host timing
    alone on the machine."""
    from microlearn import targets
    from microlearn.host_build import find_compiler

    cc = find_compiler()
    for t in TARGETS:
        targets.check_toolchain(t)
    targets.qemu_plugin_path()  # build once, before the threads start
    tasks = [(case, v, t) for case in cases for v in variants[case.name] for t in TARGETS
             if not host_only and v.rows is None]  # rows: a host-only variant

    def measure(task: tuple[Case, Variant, str]) -> None:
        case, v, t = task
        try:
            v.results[t] = targets.measure(
                t, v.header, PREFIX, case.kind, case.X_test,
                n_outputs=case.n_outputs, n_features=case.n_features, timeout=600)
        except Exception as exc:  # reported in the table; the benchmark goes on
            _log_error(case, v, t, exc)

    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        for i, _ in enumerate(pool.map(measure, tasks), 1):
            if i % 20 == 0 or i == len(tasks):
                print(f"  {i}/{len(tasks)} target measurements "
                      f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr)

    # Host timing: build every program first (in parallel), then time them one at a time
    # with nothing else of ours running, in HOST_ROUNDS rounds over all programs so that a
    # burst of load from elsewhere on the machine does not hit one tool only.
    print("host timing ...", file=sys.stderr)
    pairs = [(case, v) for case in cases for v in variants[case.name]]
    with tempfile.TemporaryDirectory(prefix="bench-host-") as tmp:
        def build(pair: tuple[Case, Variant]) -> Path | None:
            case, v = pair
            try:
                return build_host_bench(case, v, cc, Path(tmp))
            except Exception as exc:
                _log_error(case, v, "host", exc)
                return None

        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
            dirs = list(pool.map(build, pairs))
        samples: dict[int, list[float]] = {i: [] for i in range(len(pairs))}
        fresh: dict[int, list[float]] = {i: [] for i in range(len(pairs))}
        for _ in range(HOST_ROUNDS):
            for i, ((case, v), d) in enumerate(zip(pairs, dirs, strict=True)):
                if d is None or "host" in v.errors:
                    continue
                try:
                    samples[i] += run_host_bench(d)
                    fresh[i] += run_host_bench(d, "fresh.bin")
                except Exception as exc:
                    _log_error(case, v, "host", exc)
        for i, (_, v) in enumerate(pairs):
            if samples[i] and "host" not in v.errors:
                v.host_ns = statistics.median(samples[i])
                v.host_fresh_ns = statistics.median(fresh[i])
    print(f"  done ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)


# ---------------------------------------------------------------------------------------
# report


def _cmd_version(cmd: list[str]) -> str:
    if shutil.which(cmd[0]) is None:
        return "not installed"
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.splitlines()[0].strip() if out else "unknown"


def environment() -> list[str]:
    import emlearn
    import m2cgen
    import numpy
    import sklearn

    import microlearn

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--",
                            "microlearn"], capture_output=True, text=True).stdout.strip()
    emlearn_version = (Path(emlearn.__file__).parent / "VERSION.txt").read_text().strip()
    return [
        f"- date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: {cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        f"- tools: microlearn {microlearn.__version__} (git {commit}"
        + (", with uncommitted changes in microlearn/" if dirty else "") + "), "
        f"emlearn {emlearn_version}, m2cgen {m2cgen.__version__}, "
        f"scikit-learn {sklearn.__version__}, numpy {numpy.__version__}, "
        f"Python {platform.python_version()}",
        f"- host compiler: {_cmd_version(['gcc', '--version'])}",
        f"- cross compiler: {_cmd_version(['arm-none-eabi-gcc', '--version'])}",
        f"- emulator: {_cmd_version(['qemu-system-arm', '--version'])}",
    ]


def _agreement(case: Case, run: Any) -> tuple[float, str]:
    """(score, text): classifiers % of rows with sklearn's class; regressors max |error|."""
    import numpy as np

    if case.kind == "classifier":
        pct = 100.0 * float(np.mean(run.outputs == case.reference))
        return pct, f"{pct:.1f}%" if pct < 100.0 else "100%"
    err = float(np.max(np.abs(run.outputs[:, 0].astype(np.float64) - case.reference)))
    return err, f"max err {err:.3g}"


def _fmt_int(v: float | int | None) -> str:
    return "—" if v is None else f"{int(round(v)):,}"


def _ratio(num: float | None, den: float | None) -> str:
    if num is None or not den:
        return "—"
    return f"{num / den:.2f}"


def _estimate_cell(v: Variant, target: str) -> str:
    """microlearn's own footprint estimate vs the measurement, when Model.footprint exists."""
    if v.tool != "microlearn":
        return ""
    if not hasattr(v.model, "footprint"):
        return "n/a (no Model.footprint yet)"
    run = v.results.get(target)
    try:
        est = v.model.footprint(target, estimate=True)
    except Exception as exc:
        return f"error: {type(exc).__name__}"

    def err(e: float | None, m: float | None) -> str:
        if e is None or not m:
            return ""
        return f" ({100.0 * (e - m) / m:+.0f}%)"

    flash = getattr(est, "flash_bytes", None)
    instr = getattr(est, "instructions", None)
    return (f"{_fmt_int(flash)}{err(flash, run.flash_bytes if run else None)} / "
            f"{_fmt_int(instr)}{err(instr, run.instructions_mean if run else None)}")


def _min(vals: list[float | None]) -> float | None:
    present = [v for v in vals if v is not None]
    return min(present) if present else None


def _get(v: Variant, target: str, attr: str) -> Any:
    run = v.results.get(target)
    return None if run is None else getattr(run, attr)


def _host_line(case: Case, ml: list[Variant], peers: list[Variant],
               attr: str = "host_ns") -> list[str]:
    """microlearn's fastest method vs the fastest peer setting on the host, and vs the
    fastest emlearn float setting (the int16 ones are a different model); ``attr``:
    ``host_ns`` (the test rows) or ``host_fresh_ns`` (FRESH_ROWS distinct rows)."""
    mine = [(getattr(v, attr), v) for v in ml if getattr(v, attr) is not None]
    out = []
    for label, group in (("fastest peer setting", peers),
                         ("fastest emlearn float setting",
                          [v for v in peers if v.tool == "emlearn" and "float" in v.setting])):
        theirs = [(getattr(v, attr), v) for v in group if getattr(v, attr) is not None]
        if not mine or not theirs:
            out.append(f"- {case.name} vs {label}: incomplete host timings")
            continue
        (a, va), (b, vb) = min(mine, key=lambda x: x[0]), min(theirs, key=lambda x: x[0])
        out.append(f"- {case.name} vs {label}: microlearn {va.setting} {a:.0f} ns vs "
                   f"{vb.tool} {vb.setting} {b:.0f} ns = {a / b:.2f}x "
                   f"{'<=' if a <= b else '>'} 1.0x")
    return out


def _same_splits_line(case: Case, split: list[Variant], em16: list[Variant]) -> list[str]:
    """microlearn's fastest method on emlearn's int16 splits vs emlearn's int16 inline code,
    on the rows its adapter sees (both timing protocols)."""
    mine = [v for v in split if v.host_ns is not None and v.host_fresh_ns is not None]
    theirs = [v for v in em16 if v.host_ns is not None and v.host_fresh_ns is not None]
    if not mine or not theirs:
        return [f"- {case.name}: incomplete host timings"] if split else []
    vb = theirs[0]
    a = min(mine, key=lambda v: v.host_ns)
    af = min(mine, key=lambda v: v.host_fresh_ns)
    run = vb.results.get("cortex-m4f")
    check = "" if run is None else "; " + int16_split_check(case, a.model, run)
    return [f"- {case.name}: microlearn {a.setting.split()[0]} {a.host_ns:.0f} ns vs "
            f"emlearn {vb.setting} {vb.host_ns:.0f} ns = {a.host_ns / vb.host_ns:.2f}x; "
            f"fresh rows: microlearn {af.setting.split()[0]} {af.host_fresh_ns:.0f} ns vs "
            f"{vb.host_fresh_ns:.0f} ns = {af.host_fresh_ns / vb.host_fresh_ns:.2f}x{check}"]


def _bar(case: Case, ml: list[Variant], em: list[Variant], ml_flash: float | None,
         ml_instr: float | None, label: str = "") -> list[str]:
    """The bar on Cortex-M4F: microlearn 100% agreement, its smallest flash <= 0.8x and its
    fewest instructions <= 1.0x emlearn's best setting: against every emlearn setting (as
    asked) and against emlearn's float settings only (the int16 ones change the model)."""
    m4 = "cortex-m4f"
    scores = [_agreement(case, v.results[t])[0] for v in ml for t in TARGETS if t in v.results]
    failed = any(t in v.errors for v in ml for t in TARGETS)
    if case.kind == "classifier":
        exact = bool(scores) and min(scores) == 100.0 and not failed
        agree_txt = "100% agreement" if exact else f"agreement {min(scores or [0]):.1f}%"
    else:
        exact = bool(scores) and not failed
        agree_txt = f"max err {max(scores or [float('nan')]):.3g} (float32 rounding)"
    out = []
    sets = (((f"{label} vs emlearn float settings", em),) if label else
            (("vs all emlearn settings", em),
             ("vs emlearn float settings", [v for v in em if "float" in v.setting])))
    for label, peers in sets:
        flash = [(_get(v, m4, "flash_bytes"), v) for v in peers if m4 in v.results]
        instr = [(_get(v, m4, "instructions_mean"), v) for v in peers if m4 in v.results]
        if ml_flash is None or ml_instr is None or not flash or not instr:
            out.append(f"- {case.name} {label}: incomplete measurements, not evaluated")
            continue
        (bf, vf), (bi, vi) = min(flash, key=lambda x: x[0]), min(instr, key=lambda x: x[0])
        rf, ri = ml_flash / bf, ml_instr / bi
        ok_f, ok_i = rf <= 0.8, ri <= 1.0
        verdict = "MET" if (exact and ok_f and ok_i) else "NOT MET"
        out.append(
            f"- **{case.name} {label}: {verdict}** — {agree_txt}; flash {ml_flash:,} vs "
            f"{bf:,} ({vf.setting}; {_agreement(case, vf.results[m4])[1]}) = {rf:.2f}x "
            f"{'<=' if ok_f else '>'} 0.8x; instructions {ml_instr:,.0f} vs {bi:,.0f} "
            f"({vi.setting}; {_agreement(case, vi.results[m4])[1]}) = {ri:.2f}x "
            f"{'<=' if ok_i else '>'} 1.0x"
        )
    return out



def report(cases: list[Case], variants: dict[str, list[Variant]],
           conversion_line: str, elapsed: float) -> str:
    lines = ["# Tree models: microlearn vs emlearn vs m2cgen", ""]
    lines += environment()
    lines += [f"- benchmark run time: {elapsed:.0f} s "
              "(`benchmarks/.venv/bin/python benchmarks/bench_trees.py --write`)", ""]
    head = ["model (nodes, test rows)", "tool", "setting", "agreement", "flash M4F", "RAM M4F",
            "flash M0+", "RAM M0+", "instr M4F", "instr M0+", "stack M4F/M0+",
            "host ns", "host ns fresh", "flash ml/peer", "instr ml/peer",
            "est. M4F flash / instr (err)", "est. M0+ flash / instr (err)"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    bar: list[str] = []
    host: list[str] = []
    host_fresh: list[str] = []
    m4 = "cortex-m4f"
    same_splits: list[str] = []
    for case in cases:
        split = [v for v in variants[case.name] if v.rows is not None]
        vs = [v for v in variants[case.name] if v.rows is None]
        ml = [v for v in vs if v.tool == "microlearn"]
        em = [v for v in vs if v.tool == "emlearn"]
        ml_flash = _min([_get(v, m4, "flash_bytes") for v in ml])
        ml_instr = _min([_get(v, m4, "instructions_mean") for v in ml])
        for v in vs:
            agree = []
            for t in TARGETS:
                if t in v.results:
                    agree.append(_agreement(case, v.results[t])[1])
            agree_txt = agree[0] if agree and len(set(agree)) == 1 else " / ".join(agree)
            if v.errors:
                agree_txt = (agree_txt + " " if agree_txt else "") + "; ".join(
                    f"{SHORT.get(t, t)} failed: {e}" for t, e in v.errors.items())
            stack = "/".join(_fmt_int(_get(v, t, "stack_bytes")) for t in TARGETS)
            peer = v.tool != "microlearn"
            row = [
                f"{case.name} ({case.n_nodes:,}, {len(case.X_test)})", v.tool, v.setting,
                agree_txt,
                _fmt_int(_get(v, m4, "flash_bytes")), _fmt_int(_get(v, m4, "ram_bytes")),
                _fmt_int(_get(v, "cortex-m0plus", "flash_bytes")),
                _fmt_int(_get(v, "cortex-m0plus", "ram_bytes")),
                _fmt_int(_get(v, m4, "instructions_mean")),
                _fmt_int(_get(v, "cortex-m0plus", "instructions_mean")),
                stack,
                "—" if v.host_ns is None else f"{v.host_ns:.0f}",
                "—" if v.host_fresh_ns is None else f"{v.host_fresh_ns:.0f}",
                _ratio(ml_flash, _get(v, m4, "flash_bytes")) if peer else "",
                _ratio(ml_instr, _get(v, m4, "instructions_mean")) if peer else "",
                _estimate_cell(v, m4), _estimate_cell(v, "cortex-m0plus"),
            ]
            lines.append("| " + " | ".join(row) + " |")

        bar += _bar(case, ml, em, ml_flash, ml_instr)
        fast = [v for v in ml if v.setting == "fast"]
        if fast:
            bar += _bar(case, fast, [v for v in em if "float" in v.setting],
                        _get(fast[0], m4, "flash_bytes"),
                        _get(fast[0], m4, "instructions_mean"), label="method fast")
        host += _host_line(case, ml, [v for v in vs if v.tool != "microlearn"])
        host_fresh += _host_line(case, ml, [v for v in vs if v.tool != "microlearn"],
                                 "host_fresh_ns")
        same_splits += _same_splits_line(case, split, [
            v for v in em if v.setting.startswith("inline, defaults")])
    lines += [
        "",
        "Columns: *agreement* = % of test rows whose predicted class equals scikit-learn's "
        "(regressors: max |C output - sklearn prediction|), from the runs on Cortex-M4F and "
        "Cortex-M0+ (one value when both agree). *flash*/*RAM* = bytes of the model's "
        "firmware minus the same firmware with a stub (code, tables, library functions it "
        "pulls in, the adapter; `predict`/`regress` only). *instr* = mean instructions per "
        "`predict`/`regress` call counted in QEMU. *stack* = deepest stack of one call. "
        "*host ns* = median ns per inference over "
        f"{HOST_ROUNDS} x {HOST_RUNS} timing runs ({HOST_ROUNDS} rounds over all programs, "
        f"each run >= {HOST_MIN_SECONDS * 1000:.0f} ms), `gcc {' '.join(HOST_CFLAGS)}`, one "
        "program per tool and model looping over the test rows, timed while nothing else "
        "of the benchmark runs (other load on the machine still shows). *host ns fresh* = "
        f"the same over {FRESH_ROWS:,} distinct rows (test rows with every feature times "
        "1 + 5 % normal noise, seed 0; the same rows for every tool): a loop over a few "
        "hundred rows lets the host's branch predictor learn every branch of the tree "
        "code, which new data in an application does not allow. *ml/peer* = "
        "microlearn's best (smallest flash / fewest instructions over its methods) "
        "divided by this row's value, "
        "on Cortex-M4F (< 1: microlearn is smaller/faster). *est.* = microlearn's own "
        "footprint estimate (`Model.footprint(target, estimate=True)`) and its error vs "
        "the measurement.",
        "",
        "Notes:",
        "- emlearn defaults are `method='inline'`, `dtype='int16_t'` (features are cast "
        "to int16 by the adapter, as emlearn's own Python wrapper does; thresholds are "
        "truncated to int16), hard majority voting for classifiers. Its `loadable` method "
        "accepts only `dtype='int16_t'`. emlearn compares `x < threshold` with thresholds "
        "printed to 6 decimals; `leaf_bits=8` stores class proportions in 8 bits (soft "
        "voting). `leaf_bits` does not apply to regressors (their leaves stay float).",
        "- m2cgen's `export_to_c` generates double-precision code: on the Cortex-M4F "
        "(single-precision FPU) and the M0+ every comparison and sum is a soft-float "
        "library call. The adapter converts the float32 features to double.",
        "- Adapters: every peer's generated code is wrapped in a header that defines "
        "`bm_N_FEATURES/N_OUTPUTS/TASK` and `bm_predict`/`bm_predict_proba`/"
        "`bm_regress` around the peer's functions; its cost is in the peer's numbers. The "
        "target harness builds with `-Werror -Wconversion -Wpedantic ...` and "
        "`targets.measure` takes no extra flags, so the peer code (not the adapter) is "
        "wrapped in `#pragma GCC diagnostic ignored` for the warnings it raises. emlearn's "
        "runtime headers are inlined into the adapter (the harness has no include path "
        "for them).",
        "",
        "## The bar (Cortex-M4F; emlearn's best setting of each metric)",
        "",
        "microlearn's smallest flash / fewest instructions (over its methods) "
        "against emlearn's smallest / fewest over all its settings, and over its "
        "`dtype='float'` settings only (its int16 settings truncate thresholds and "
        "features: a different model, see the agreement). Then method `fast` alone: "
        "both at once from one method.",
        "",
        *bar,
        "",
        "Host speed: microlearn's fastest method vs the fastest peer setting and vs "
        "emlearn's fastest float setting (host ns, median; +-20 % or worse on this shared "
        "machine):",
        "",
        *host,
        "",
        f"The same over {FRESH_ROWS:,} distinct rows (*host ns fresh*: branches of the tree "
        "code that the predictor cannot learn; method `branchless` has no data-dependent "
        "branch):",
        "",
        *host_fresh,
        "",
        "emlearn's int16 defaults run other splits than scikit-learn's: a threshold t "
        "becomes the integer int(t), compared with the feature cast to int16 "
        "(`(int16_t)x < int(t)`). On digits, `x <= 0.5` (pixel off) becomes `x < 0`, never "
        "true, so whole subtrees are never entered and the branches left are easier to "
        "predict; on diabetes (features within +-0.2) every feature is 0 and each of the "
        "forest's tests is `0 < 0`. To time the code rather than the model: microlearn's "
        "methods (inline, fast, branchless) compiled from a copy of the fitted model with "
        "those splits (threshold int(t) - 0.5 under scikit-learn's `x <= t`: the same "
        "branch on every integer x) and timed on the test rows cast as emlearn's adapter "
        "casts them (the fresh rows likewise), against emlearn's int16 inline code; the "
        "check compares the copy, in Python, with the emlearn code's Cortex-M4F outputs:",
        "",
        *same_splits,
        "",
        conversion_line,
        "",
    ]
    return "\n".join(lines)


def conversion_timing() -> str:
    """Time microlearn's convert + c_source for ~10k- and ~20k-node forests."""
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier

    import microlearn

    X, y = make_classification(n_samples=4000, n_features=20, n_informative=10,
                               random_state=0)
    parts = []
    for n_trees in (16, 32):
        rf = RandomForestClassifier(n_estimators=n_trees, random_state=0).fit(X, y)
        nodes = sum(e.tree_.node_count for e in rf.estimators_)
        cells = []
        for method in ML_METHODS:
            best = float("inf")
            for _ in range(3):
                t0 = time.perf_counter()
                microlearn.convert(rf, method=method).c_source("bm")
                best = min(best, time.perf_counter() - t0)
            cells.append(f"{method} {best:.3f} s")
        parts.append((nodes, cells))
    (n1, c1), (n2, c2) = parts
    return (f"microlearn conversion time (convert + c_source, best of 3): {n1:,}-node forest: "
            f"{', '.join(c1)}; {n2:,}-node forest: {', '.join(c2)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true",
                        help="also write the report to benchmarks/RESULTS.md")
    parser.add_argument("--only", help="run only models whose name contains this text")
    parser.add_argument("--jobs", type=int, default=2,
                        help="measurements run at the same time (default 2)")
    parser.add_argument("--host-only", action="store_true",
                        help="only the host timing (no QEMU measurements; cannot --write)")
    args = parser.parse_args(argv)
    if args.host_only and args.write:
        parser.error("--host-only cannot be combined with --write (the table would be empty)")
    _ensure_venv()

    t0 = time.perf_counter()
    print("fitting models ...", file=sys.stderr)
    cases = build_cases(args.only)
    if not cases:
        parser.error(f"no model name contains {args.only!r}")
    variants: dict[str, list[Variant]] = {}
    for case in cases:
        print(f"converting {case.name} ({case.n_nodes} nodes) ...", file=sys.stderr)
        variants[case.name] = [*microlearn_variants(case), *emlearn_variants(case),
                               m2cgen_variant(case), *int16_split_variants(case)]
    print("measuring (QEMU Cortex-M4F and M0+, host timing) ...", file=sys.stderr)
    run_all(cases, variants, max(1, args.jobs), host_only=args.host_only)
    conversion_line = "" if args.host_only else conversion_timing()
    text = report(cases, variants, conversion_line, time.perf_counter() - t0)
    print(text)
    if args.write:
        # keep the sections other benchmarks own, from the first of them on
        # (bench_families.py: "## Model families", bench_nets.py: "## Neural nets")
        old = RESULTS.read_text() if RESULTS.exists() else ""
        at = [old.index(h) for h in ("\n## Model families", "\n## Neural nets") if h in old]
        keep = old[min(at):] if at else ""
        RESULTS.write_text(text.rstrip("\n") + "\n" + keep if keep else text)
        print(f"wrote {RESULTS}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
