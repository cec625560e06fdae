"""Preprocessing family: scalers, Normalizer, feature selectors, PCA / TruncatedSVD.

``convert.py`` (scikit-learn -> :class:`PreprocessingIR`, tolerances), ``ir.py`` (the IR
and a numpy emulation of the C), ``c.py`` (tables and the ``P__transform`` kernel),
``section.py`` (model-file section), ``cost.py`` (footprint estimate); C engine and
section loader in ``runtime/ml_preprocessing.h``.
"""

from __future__ import annotations

from typing import Any

from ...family import Family, Signature, module_backends
from . import c, cost, section
from .convert import SUPPORTED, from_sklearn, tolerance
from .ir import PreprocessingIR, reference_transform, signature

__all__ = ["FAMILY", "PreprocessingIR", "reference_transform", "tolerance"]

OPTIONS = {"scaler_arithmetic": "exact", "scaler_reference": "float32"}


def _convert(estimator: Any, options: dict) -> PreprocessingIR:
    return from_sklearn(estimator, options)


def _signature(ir: PreprocessingIR) -> Signature:
    return signature(ir)


FAMILY = Family(
    name="preprocessing",
    section_id=7,
    estimators=tuple(f"sklearn.{n}" for n in SUPPORTED),
    options=OPTIONS,
    convert=_convert,
    signature=_signature,
    **module_backends(c, section, cost),
    synthetic_rows=lambda ir, n: cost.synthetic_rows(ir, n),
)
