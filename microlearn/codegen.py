"""C header writer: the steps' family code -> one self-contained C99 header.

Generic: reads only :class:`~microlearn.family.Signature` and the families'
:class:`~microlearn.family.CCode`. The header embeds the runtime headers the steps need
(``microlearn/runtime/*.h``, each once, with their own include guards so several
generated models can share one translation unit), then each step's tables and kernels,
then the public API, the same for every family:

=====================  ==================================================================
task                   functions (``P`` = the ``name`` given)
=====================  ==================================================================
classifier             ``int32_t P_predict(x, n_features)`` class index;
                       ``P_predict_proba(x, n, out, n_out)``, ``P_decision_function``,
                       ``float P_score_samples(x, n)`` where the estimator has them
regressor              ``int32_t P_regress(x, n, out, n_out)``; ``float P_regress1(x, n)``
outlier_detector       ``int32_t P_predict(x, n)`` (+1 / -1), ``P_decision_function``,
                       ``float P_score_samples(x, n)``
transformer            ``int32_t P_transform(x, n, out, n_out)``
=====================  ==================================================================

A pipeline's steps are emitted with prefixes ``P__s0``, ``P__s1``, ...; the public
functions run the steps' kernels one after the other on stack buffers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import __version__
from .family import CCode, Signature

RUNTIME_DIR = Path(__file__).resolve().parent / "runtime"

_C_KEYWORDS = frozenset(
    """auto break case char const continue default do double else enum extern float for
    goto if inline int long register restrict return short signed sizeof static struct
    switch typedef union unsigned void volatile while _Bool _Complex _Imaginary
    bool true false class new delete this template typename namespace operator public
    private protected virtual friend try catch throw explicit mutable using""".split()
)
_IDENT = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def check_name(name: str) -> str:
    """Validate ``name`` as the C identifier prefix of a generated model.

    A letter, then letters, digits and single ``_`` (no ``__``, no trailing ``_``): the
    generator's own symbols are ``name__...``, so no two valid names can produce the same
    symbol, and two models of any valid names coexist in one translation unit.
    """
    if not isinstance(name, str) or not _IDENT.fullmatch(name):
        raise ValueError(
            f"name={name!r} is not a valid C identifier for a model name: a letter, then "
            "letters, digits and '_'"
        )
    if "__" in name or name.endswith("_"):
        raise ValueError(f"name={name!r} must not contain '__' or end with '_' (reserved for "
                         "the generator's internal symbols)")
    if name in _C_KEYWORDS or name.lower().startswith("ml_") or name.lower() == "ml":
        raise ValueError(
            f"name={name!r} is reserved (a C/C++ keyword or the runtime's ml_ prefix)"
        )
    return name


def c_float(value: float) -> str:
    """C literal for a float32 value, exact (shortest round-trip decimal)."""
    v = np.float32(value)
    if np.isnan(v):
        return "NAN"
    if np.isinf(v):
        return "INFINITY" if v > 0 else "(-INFINITY)"
    s = np.format_float_scientific(v, unique=True, trim="0", exp_digits=1) if (
        v != 0 and not 1e-4 <= abs(v) < 1e7
    ) else np.format_float_positional(v, unique=True, trim="0")
    if not any(c in s for c in ".e"):
        s += ".0"
    return s + "f"


def c_array(ctype: str, name: str, values: Sequence[str], per_line: int = 12) -> str:
    """``static const ctype name[n] = {...};`` (an empty table gets one 0 entry)."""
    if not len(values):
        values = ["0"]
    lines = []
    for i in range(0, len(values), per_line):
        lines.append("    " + ", ".join(values[i : i + per_line]) + ",")
    return f"static const {ctype} {name}[{len(values)}] = {{\n" + "\n".join(lines) + "\n};\n"


def c_argmax(name: str, k: int, select: bool = True) -> str:
    """A ``static inline int32_t name(const float *v)`` returning the first maximum of
    ``v[0..k-1]``, unrolled.

    ``select=True``: selects instead of branches, the running maximum in a register (an
    IT block on Cortex-M4F, no reload of ``v[best]``: fewer instructions on
    microcontrollers). ``select=False``: one ``if`` per entry, for callers where the
    compiler sees constant inputs (a single inlined tree: GCC copies a branch-free argmax
    into every leaf) and for host code (on x86-64 the selects' dependency chain was
    slower than the predicted branches).
    """
    if k <= 1:
        body = "    (void)v;\n    return 0;\n"
    elif select:
        steps = "".join(f"    gt = v[{i}] > m;\n    best = gt ? {i} : best;\n"
                        + (f"    m = gt ? v[{i}] : m;\n" if i < k - 1 else "")
                        for i in range(1, k))
        body = f"    int32_t best = 0;\n    float m = v[0];\n    int gt;\n{steps}    return best;\n"
    else:
        steps = "".join(f"    if (v[{i}] > v[best]) {{\n        best = {i};\n    }}\n"
                        for i in range(1, k))
        body = f"    int32_t best = 0;\n{steps}    return best;\n"
    return (f"/* Index of the first maximum of v[0..{k - 1}]. */\n"
            f"static inline int32_t {name}(const float *v)\n{{\n{body}}}\n")


def c_ints(a: np.ndarray) -> list[str]:
    """Integer literals of ``a``."""
    return [str(int(v)) for v in np.asarray(a).ravel()]


def c_floats(a: np.ndarray) -> list[str]:
    """Exact float32 literals of ``a``."""
    return [c_float(v) for v in np.asarray(a, dtype=np.float32).ravel()]


def c_comment(text: str) -> str:
    """``text`` made safe inside a ``/* */`` comment (no ``/*`` or ``*/``, one line)."""
    return (str(text).replace("*/", "* /").replace("/*", "/ *")
            .replace("\n", " ").replace("\r", " ").replace("\\", "\\\\"))


def c_string(text: str) -> str:
    """``text`` as a C string literal: printable ASCII kept, everything else (quotes,
    backslashes, control and non-ASCII characters, as UTF-8 bytes) in octal escapes, and
    ``?`` escaped so no trigraph can form."""
    out = []
    for b in str(text).encode("utf-8"):
        ch = chr(b)
        if 0x20 <= b < 0x7F and ch not in '"\\?':
            out.append(ch)
        else:
            out.append(f"\\{b:03o}")
    return '"' + "".join(out) + '"'


def _names_api(N: str, what: str, fn: str, names: Sequence[str], n_macro: str) -> str:
    """``#define N_<WHAT> {"a", ...}`` and ``const char *N_<fn>(int32_t i)`` (NULL when
    out of range) for a list of names (the header's comment lists them too)."""
    items = ", ".join(c_string(n) for n in names)
    return (f"#define {N}_{what.upper()} {{{items}}}\n"
            f"/* {what.replace('_', ' ').capitalize()} by index (NULL out of range). */\n"
            f"static inline const char *{N}_{fn}(int32_t i)\n{{\n"
            f"    static const char *const names[{n_macro}] = {N}_{what.upper()};\n"
            f"    return (i >= 0 && i < {n_macro}) ? names[i] : NULL;\n}}\n")


def runtime_source(header: str, seen: set[str] | None = None) -> str:
    """Text of runtime header ``header`` with its ``#include "ml_*.h"`` lines replaced by
    the included headers' text, each header at most once (``seen``)."""
    seen = set() if seen is None else seen
    if header in seen:
        return ""
    seen.add(header)
    text = (RUNTIME_DIR / header).read_text()
    return re.sub(
        r'^#include "(ml_[a-z0-9_]+\.h)"\s*$',
        lambda m: runtime_source(m.group(1), seen),
        text,
        flags=re.M,
    )


_TASK_MACRO = {"classifier": "ML_TASK_CLASSIFIER", "regressor": "ML_TASK_REGRESSOR",
               "outlier_detector": "ML_TASK_OUTLIER_DETECTOR",
               "transformer": "ML_TASK_TRANSFORMER"}

# kernel -> (return type, extra parameters, output width attribute)
_KERNEL_SIG = {
    "predict": "int32_t {k}(const float *x)",
    "predict_proba": "void {k}(const float *x, float *ML_RESTRICT out)",
    "decision_function": "void {k}(const float *x, float *ML_RESTRICT out)",
    "score_samples": "float {k}(const float *x)",
    "regress": "void {k}(const float *x, float *ML_RESTRICT out)",
    "transform": "void {k}(const float *x, float *ML_RESTRICT out)",
}


def _chain(name: str, sigs: Sequence[Signature]) -> str:
    """Kernels ``name__<k>`` of a pipeline: the transformer steps' kernels one after the
    other into stack buffers, then the final step's kernel."""
    last = len(sigs) - 1
    out = [f"/* Pipeline of {len(sigs)} steps: the kernels of steps 0..{last} in turn. */\n"]
    for k in sigs[-1].kernels:
        head = _KERNEL_SIG[k].format(k=f"{name}__{k}")
        body = []
        src = "x"
        for i, s in enumerate(sigs[:-1]):
            body.append(f"    float t{i}[{s.n_outputs}];")
            body.append(f"    {name}__s{i}__transform({src}, t{i});")
            src = f"t{i}"
        call = f"{name}__s{last}__{k}"
        if k in ("predict", "score_samples"):
            body.append(f"    return {call}({src});")
        else:
            body.append(f"    {call}({src}, out);")
        out.append(f"static inline {head}\n{{\n" + "\n".join(body) + "\n}\n")
    return "\n".join(out)


def _check(name: str, with_out: bool, width: str | None = None) -> str:
    lines = ["    if (features == NULL" + (" || out == NULL" if with_out else "")
             + ") {\n        return ML_ERR_NULL;\n    }\n",
             f"    if (n_features != {name}_N_FEATURES) {{\n        return ML_ERR_N_FEATURES;\n"
             "    }\n"]
    if with_out:
        lines.append(f"    if (n_out < {width}) {{\n        return ML_ERR_N_OUT;\n    }}\n")
    return "".join(lines)


def _public_api(name: str, sig: Signature) -> str:
    N = name
    parts = []
    task = sig.task
    if "predict" in sig.kernels and task == "classifier":
        parts.append(
            "/* Prediction for one sample: the class index (0.."
            f"{N}_N_OUTPUTS-1; the label is in the comment above).\n"
            f" * features: {N}_N_FEATURES floats.\n"
            " * Returns it, or ML_ERR_NULL / ML_ERR_N_FEATURES (< 0). */\n"
            f"static inline int32_t {N}_predict(const float *features, int32_t n_features)\n"
            f"{{\n{_check(N, False)}    return {N}__predict(features);\n}}\n")
    elif "predict" in sig.kernels:
        parts.append(
            "/* Prediction for one sample: +1 (inlier) or -1 (outlier), as scikit-learn.\n"
            f" * features: {N}_N_FEATURES floats.\n"
            " * Returns 0 on error (NULL features, or n_features != "
            f"{N}_N_FEATURES): -1 is an answer. */\n"
            f"static inline int32_t {N}_predict(const float *features, int32_t n_features)\n"
            f"{{\n    if (features == NULL || n_features != {N}_N_FEATURES) {{\n"
            f"        return 0;\n    }}\n    return {N}__predict(features);\n}}\n")
    for k, width, what in (
        ("predict_proba", f"{N}_N_OUTPUTS", "Class probabilities, like scikit-learn's "
         "predict_proba"),
        ("decision_function", f"{N}_N_DECISION", "Decision function, like scikit-learn's"),
        ("regress", f"{N}_N_OUTPUTS", "Regression outputs, like scikit-learn's predict"),
        ("transform", f"{N}_N_OUTPUTS", "Transformed features, like scikit-learn's transform"),
    ):
        if k not in sig.kernels:
            continue
        parts.append(
            f"/* {what}, for one sample.\n"
            f" * features: {N}_N_FEATURES floats; out: room for n_out >= {width} floats.\n"
            " * Returns ML_OK, ML_ERR_NULL, ML_ERR_N_FEATURES or ML_ERR_N_OUT. */\n"
            f"static inline int32_t {N}_{k}(const float *features, int32_t n_features, "
            "float *out, int32_t n_out)\n{\n"
            f"{_check(N, True, width)}    {N}__{k}(features, out);\n    return ML_OK;\n}}\n")
    if "score_samples" in sig.kernels:
        parts.append(
            "/* score_samples of one sample, like scikit-learn's; NAN on error. */\n"
            f"static inline float {N}_score_samples(const float *features, int32_t n_features)\n"
            "{\n    if (features == NULL || n_features != " + f"{N}_N_FEATURES) {{\n"
            "        return NAN;\n    }\n"
            f"    return {N}__score_samples(features);\n}}\n")
    if task == "regressor" and sig.n_outputs == 1:
        parts.append(
            "/* The single regression output of one sample; NAN on error. */\n"
            f"static inline float {N}_regress1(const float *features, int32_t n_features)\n"
            "{\n    float out[1];\n"
            f"    if ({N}_regress(features, n_features, out, 1) != ML_OK) {{\n"
            "        return NAN;\n    }\n    return out[0];\n}\n")
    return "\n".join(parts)


def write_header(name: str, sigs: Sequence[Signature], codes: Sequence[CCode],
                 describe: str, notes: Sequence[str] = ()) -> str:
    """The complete header for the steps with signatures ``sigs`` and C ``codes`` (each
    generated with prefix ``name`` for one step, or ``name__s<i>`` in a pipeline).

    ``sig`` of the model is that of the last step, with the first step's inputs.
    """
    check_name(name)
    final = sigs[-1]
    N = name
    guard = f"MICROLEARN_MODEL_{name}_H"
    runtime: list[str] = []
    for c in codes:
        for h in c.runtime:
            if h not in runtime:
                runtime.append(h)
    seen: set[str] = set()
    rt = "".join(runtime_source(h, seen) for h in ["ml_common.h", *runtime])
    libm = any(c.libm for c in codes)
    macros = [
        f"#define {N}_N_FEATURES {sigs[0].n_features}",
        f"#define {N}_N_OUTPUTS {final.n_outputs}  /* "
        + {"classifier": "classes", "regressor": "regression targets",
           "outlier_detector": "1 (outlier detector)",
           "transformer": "output features"}[final.task] + " */",
        f"#define {N}_TASK {_TASK_MACRO[final.task]}",
    ]
    if final.n_decision:
        macros.append(f"#define {N}_N_DECISION {final.n_decision}  /* decision_function "
                      "values */")
    names_api = []
    feature_names = sigs[0].feature_names
    if feature_names is not None and len(feature_names) == sigs[0].n_features:
        listed = ", ".join(f"{i}: {v}" for i, v in enumerate(feature_names))
        macros.append(f"/* feature index -> name: {c_comment(listed)} */")
        names_api.append(_names_api(N, "feature_names", "feature_name",
                                    [str(v) for v in feature_names], f"{N}_N_FEATURES"))
    if final.task == "classifier" and final.classes is not None:
        labels = ", ".join(f"{i}: {v!r}" for i, v in enumerate(final.classes.tolist()))
        macros.append(f"/* class index -> label: {c_comment(labels)} */")
        classes = final.classes.tolist()
        names_api.append(_names_api(N, "class_labels", "class_label",
                                    [str(v) for v in classes], f"{N}_N_OUTPUTS"))
        if all(isinstance(v, int) and not isinstance(v, bool) and -2**31 <= v < 2**31
               for v in classes):
            names_api.append(f"#define {N}_CLASS_VALUES {{"
                             + ", ".join(str(v) for v in classes) + "}  /* the labels as "
                             "integers */\n")
    body = "\n".join(c.body for c in codes)
    if len(sigs) > 1:
        body += "\n" + _chain(name, sigs)
    head = (
        f"/* {name}: C99 model generated by microlearn {__version__}. Do not edit.\n"
        f" * {c_comment(describe)}\n"
        + "".join(f" * {c_comment(n)}\n" for n in notes)
        + " * Inputs: float32 features; see the functions at the end.\n"
        " * Include from any number of .c files (everything is static); compiles as C++.\n"
        + (" * Uses <math.h> functions: link with -lm where the toolchain needs it.\n"
           if libm else " * Needs no libm (only the <math.h> macros NAN / INFINITY).\n")
        + " * Do not compile with -ffast-math: it changes the answers (#error).\n"
        " */\n"
    )
    return (
        f"{head}#ifndef {guard}\n#define {guard}\n\n#include <math.h>\n#include <stddef.h>\n"
        f"#include <stdint.h>\n\n{rt}\n" + "\n".join(macros) + "\n\n"
        f"{body}\n{_public_api(name, final)}\n" + "\n".join(names_api)
        + f"\n#endif /* {guard} */\n"
    )
