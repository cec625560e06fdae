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

from ...family import Family, Signature, module_backends
from . import c, cost, section
from .convert import SUPPORTED, from_estimator
from .ir import DspIR, signature

__all__ = ["FAMILY", "DspIR"]


def _convert(estimator: Any, options: dict) -> DspIR:
    return from_estimator(estimator, options)


def _signature(ir: DspIR) -> Signature:
    return signature(ir)


FAMILY = Family(
    name="dsp",
    section_id=9,
    estimators=tuple(f"microlearn.{n}" for n in SUPPORTED),
    options={},
    convert=_convert,
    signature=_signature,
    **module_backends(c, section, cost),
    synthetic_rows=lambda ir, n: cost.synthetic_rows(ir, n),
)
