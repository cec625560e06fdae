"""Preprocessing family: scalers, Normalizer, feature selectors, PCA / TruncatedSVD.

``convert.py`` (scikit-learn -> :class:`PreprocessingIR`, tolerances), ``ir.py`` (the IR
and a numpy emulation of the C), ``c.py`` (tables and the ``P__transform`` kernel),
``section.py`` (model-file section), ``cost.py`` (footprint estimate); C engine and
section loader in ``runtime/ml_preprocessing.h``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...family import CCode, Estimate, Family, Signature
from . import c, cost, section
from .convert import SUPPORTED, from_sklearn, tolerance
from .ir import PreprocessingIR, reference_transform, signature

__all__ = ["FAMILY", "PreprocessingIR", "reference_transform", "tolerance"]

OPTIONS = {"scaler_arithmetic": "exact", "scaler_reference": "float32"}


def _convert(estimator: Any, options: dict) -> PreprocessingIR:
    return from_sklearn(estimator, options)


def _signature(ir: PreprocessingIR) -> Signature:
    return signature(ir)


def _c_code(ir: PreprocessingIR, prefix: str, options: dict) -> CCode:
    return c.c_code(ir, prefix)


def _section(ir: PreprocessingIR, options: dict) -> bytes:
    return section.section(ir)


def _estimate(ir: PreprocessingIR, target: str, X: np.ndarray | None,
              options: dict) -> Estimate:
    return cost.estimate(ir, target, X)


def _describe(ir: PreprocessingIR, options: dict) -> str:
    return c.describe_line(ir)


def _data_bytes(ir: PreprocessingIR, options: dict) -> int:
    return c.data_bytes(ir)


FAMILY = Family(
    name="preprocessing",
    section_id=7,
    estimators=tuple(f"sklearn.{n}" for n in SUPPORTED),
    options=OPTIONS,
    convert=_convert,
    signature=_signature,
    c_code=_c_code,
    section=_section,
    estimate=_estimate,
    describe=_describe,
    data_bytes=_data_bytes,
    synthetic_rows=lambda ir, n: cost.synthetic_rows(ir, n),
)
