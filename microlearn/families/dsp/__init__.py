"""Dsp family: feature extraction from raw samples as a pipeline step.

Converts the scikit-learn transformers of :mod:`microlearn.features`
(``MelSpectrogram``, ``MFCC``, ``TimeSeriesFeatures``, ``SoundLevel``; registry keys
``"microlearn.<ClassName>"``), so ``make_pipeline(MFCC(...), StandardScaler(),
RandomForestClassifier())`` becomes one C function / one model file taking raw samples.

``convert.py`` (transformer -> :class:`DspIR`), ``ir.py`` (the IR), ``c.py`` (tables and
the ``P__transform`` kernel), ``section.py`` (model-file section), ``cost.py``
(footprint estimate); C engine and section loader in ``runtime/ml_dsp.h``, which calls
the DSP headers exactly as the transformers' host code does (bit-identical outputs).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...family import CCode, Estimate, Family, Signature
from . import c, cost, section
from .convert import SUPPORTED, from_estimator
from .ir import DspIR, signature

__all__ = ["FAMILY", "DspIR"]


def _convert(estimator: Any, options: dict) -> DspIR:
    return from_estimator(estimator, options)


def _signature(ir: DspIR) -> Signature:
    return signature(ir)


def _c_code(ir: DspIR, prefix: str, options: dict) -> CCode:
    return c.c_code(ir, prefix)


def _section(ir: DspIR, options: dict) -> bytes:
    return section.section(ir)


def _estimate(ir: DspIR, target: str, X: np.ndarray | None, options: dict) -> Estimate:
    return cost.estimate(ir, target, X)


def _describe(ir: DspIR, options: dict) -> str:
    return c.describe_line(ir)


def _data_bytes(ir: DspIR, options: dict) -> int:
    return c.data_bytes(ir)


FAMILY = Family(
    name="dsp",
    section_id=9,
    estimators=tuple(f"microlearn.{n}" for n in SUPPORTED),
    options={},
    convert=_convert,
    signature=_signature,
    c_code=_c_code,
    section=_section,
    estimate=_estimate,
    describe=_describe,
    data_bytes=_data_bytes,
    synthetic_rows=lambda ir, n: cost.synthetic_rows(ir, n),
)
