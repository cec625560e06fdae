"""Neural-net family: scikit-learn MLPs and Keras 3 models as a graph of float32 ops.

``convert.py`` (sources -> :class:`NetIR`, tolerance in its docstring; Keras layers in
``keras_import.py``), ``plan.py`` (static memory plan: one arena), ``lower.py`` (op
records), ``c.py`` (tables + kernel calls), ``section.py`` (model-file section),
``cost.py`` (footprint estimate), ``reference.py`` (float64 evaluation and the certified
error bound); C engine and section loader in ``runtime/ml_nets.h``.

Option ``classes`` (default None): labels of a Keras classifier's outputs (scikit-learn
MLPs use their ``classes_``).

int8 (``tflite.py``, ``quantize.py``, ``c_int8.py``, ``runtime/ml_nets_int8.h``): options
``quantize`` (None or ``"int8"``: post-training quantization with TFLite's integer spec)
and ``calibration`` (representative input rows for it); a ``.tflite`` file (path or bytes,
float32 or int8) converts too. int8 C is bit-exact with TensorFlow Lite Micro.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...family import CCode, Estimate, Family, Signature
from . import c, c_int8, cost, section
from . import quantize as int8
from .convert import KERAS, OPTIONS, SKLEARN, convert, near_ties
from .ir import NetIR
from .lower import records

__all__ = ["FAMILY", "NetIR", "near_ties", "signature"]


def signature(ir: NetIR) -> Signature:
    """The :class:`Signature` of a converted network."""
    if ir.quantized:
        return _signature_int8(ir)
    clf = ir.kind == "classifier"
    note = ("outputs within the certified float32 bound of the op-by-op error propagation "
            "(see docs/families/nets.md)"
            + (", doubled for the source's own float32 rounding" if ir.reference_float32
               else ""))
    if clf:
        note = ("predict equals the source's except at near-ties (two largest outputs "
                "within their tolerances; microlearn.families.nets.near_ties lists them); "
                + note)
    return Signature(
        estimator=ir.source.split(".")[-1],
        task="classifier" if clf else "regressor",
        n_features=ir.n_features,
        n_outputs=ir.n_classes if clf else ir.n_outputs,
        classes=ir.classes if clf else None,
        n_decision=0,
        has_proba=clf,
        exact_predict=False,
        exactness=note,
        feature_names=ir.feature_names,
        output_2d=bool(ir.output_2d) and not clf,
        input_shape=tuple(ir.input_shape) if len(ir.input_shape) > 1 else None,
    )


def _signature_int8(ir: NetIR) -> Signature:
    clf = ir.kind == "classifier"
    rep = ir.quant_report
    note = "int8 (TFLite integer spec): outputs bit-exact with TensorFlow Lite Micro"
    if rep:
        note += (f"; against the float model on {rep['rows']} calibration rows: max |diff| "
                 f"{rep['max_abs_diff']:.3g}")
        if "argmax_agreement" in rep:
            note += f", same class on {100 * rep['argmax_agreement']:.1f}% of the rows"
    return Signature(
        estimator=ir.source.split(".")[-1],
        task="classifier" if clf else "regressor",
        n_features=ir.n_features,
        n_outputs=ir.n_classes if clf else ir.n_outputs,
        classes=ir.classes if clf else None,
        n_decision=0,
        has_proba=clf,
        exact_predict=False,
        exactness=note,
        feature_names=ir.feature_names,
        output_2d=bool(ir.output_2d) and not clf,
        input_shape=tuple(ir.input_shape) if len(ir.input_shape) > 1 else None,
        input_quantization=c_int8.input_quantization(ir),
    )


#: TFLite flatbuffers: a path (str or pathlib) or the file's bytes
TFLITE_SOURCES = ("builtins.str", "builtins.bytes", "builtins.bytearray",
                  "builtins.memoryview", "pathlib.PurePath")


def _convert(estimator: Any, options: dict) -> NetIR:
    base = {k: v for k, v in options.items() if k not in ("quantize", "calibration")}
    if isinstance(estimator, (str, bytes, bytearray, memoryview)) or \
            type(estimator).__module__.startswith("pathlib"):
        from .convert import finish
        from .tflite import read_tflite

        ir = read_tflite(estimator)
        if base.get("classes") is not None and ir.kind == "classifier":
            ir.classes = np.asarray(base["classes"])
        if not ir.quantized:
            ir = finish(ir)
    else:
        ir = convert(estimator, base)
    return int8.apply_options(ir, options)


def _c_code(ir: NetIR, prefix: str, options: dict) -> CCode:
    if ir.quantized:
        return c_int8.c_code_int8(ir, prefix)
    return c.c_code(ir, prefix)


def _section(ir: NetIR, options: dict) -> bytes:
    if ir.quantized:
        return section.section_int8(ir)
    return section.section(ir)


def _estimate(ir: NetIR, target: str, X: np.ndarray | None, options: dict) -> Estimate:
    if ir.quantized:
        return c_int8.estimate_int8(ir, target, X)
    return cost.estimate(ir, target, X)


def _describe(ir: NetIR, options: dict) -> str:
    if ir.quantized:
        return c_int8.describe_int8(ir)
    recs = records(ir)
    kinds: dict[str, int] = {}
    for r in recs:
        kinds[r.kind] = kinds.get(r.kind, 0) + 1
    n_w = sum((r.w.size if r.w is not None else 0) + (r.b.size if r.b is not None else 0)
              for r in recs)
    ops = ", ".join(f"{k} x{n}" if n > 1 else k for k, n in kinds.items())
    p = ir.plan
    shape = "x".join(str(d) for d in ir.input_shape) or str(ir.n_features)
    return (f"{ir.source}: float32 net, input {shape}, {len(recs)} ops ({ops}), "
            f"{n_w} weights; arena {p.arena} floats ({4 * p.arena} bytes; "
            f"{p.naive} without the plan, {p.in_place} ops in place)")


def _data_bytes(ir: NetIR, options: dict) -> int:
    if ir.quantized:
        return c_int8.data_bytes_int8(ir)
    return c.data_bytes(ir)


def _synthetic_rows(ir: NetIR, n: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, ir.n_features)).astype(np.float32)


def _export_tflite(ir: NetIR, options: dict, path: Any) -> bytes:
    from .tflite import write_tflite

    return write_tflite(ir, path)


def _regress_tolerance(ir, X: np.ndarray) -> np.ndarray | None:
    """float32 nets: the certified per-row, per-output bound of :func:`.convert.tolerance`;
    int8 nets have none (their difference from the float model is the quantization's)."""
    from .convert import tolerance

    return None if ir.quantized else tolerance(ir, X)


FAMILY = Family(
    name="nets",
    section_id=8,
    estimators=(*(f"sklearn.{n}" for n in SKLEARN), *(f"keras.{n}" for n in KERAS),
                *TFLITE_SOURCES),
    options=dict(OPTIONS, quantize=None, calibration=None),
    convert=_convert,
    signature=signature,
    c_code=_c_code,
    section=_section,
    estimate=_estimate,
    describe=_describe,
    data_bytes=_data_bytes,
    synthetic_rows=_synthetic_rows,
    exporters={"tflite": _export_tflite},
    regress_tolerance=_regress_tolerance,
)
