"""Tree family: decision trees and tree ensembles (random forests, extra trees).

``convert.py`` (scikit-learn -> :class:`TreeEnsembleIR`), ``c.py`` (tables and kernels,
methods ``loadable`` and ``inline``), ``section.py`` (model-file section), ``cost.py``
(footprint estimate); C engine and section loader in ``runtime/ml_trees.h``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...family import CCode, Estimate, Family, Signature
from . import c, cost, section
from .convert import SUPPORTED, from_sklearn
from .ir import TreeEnsembleIR, exact_predict

__all__ = ["FAMILY", "TreeEnsembleIR"]

OPTIONS = {"method": "loadable", "compact": True}


def _check_options(options: dict) -> None:
    c.check_method(options["method"])
    if not isinstance(options["compact"], (bool, np.bool_)):
        raise ValueError(f"compact={options['compact']!r} must be True or False")


def _convert(estimator: Any, options: dict) -> TreeEnsembleIR:
    _check_options(options)
    return from_sklearn(estimator)


def _signature(ir: TreeEnsembleIR) -> Signature:
    classifier = ir.kind == "classifier"
    exact = exact_predict(ir)
    if classifier:
        note = ("predict equals scikit-learn for every float32 input" if exact else
                "predict equals scikit-learn except float32 near-ties of class "
                "probabilities")
        note += "; probabilities within float32 rounding of the mean over trees"
    else:
        note = "outputs within float32 rounding of the mean over trees"
    return Signature(
        estimator=ir.estimator,
        task=ir.kind,
        n_features=ir.n_features,
        n_outputs=ir.n_outputs,
        classes=ir.classes,
        has_proba=classifier,
        exact_predict=exact,
        exactness=note,
        feature_names=ir.feature_names,
    )


def _c_code(ir: TreeEnsembleIR, prefix: str, options: dict) -> CCode:
    return c.c_code(ir, prefix, options["method"])


def _section(ir: TreeEnsembleIR, options: dict) -> bytes:
    _check_options(options)
    return section.section(ir, compact=bool(options["compact"]))


def _estimate(ir: TreeEnsembleIR, target: str, X: np.ndarray | None, options: dict) -> Estimate:
    return cost.estimate(ir, target, X, options["method"])


def _describe(ir: TreeEnsembleIR, options: dict) -> str:
    return f"{c.describe_line(ir)}; method {options['method']}, float32 thresholds and leaves"


def _data_bytes(ir: TreeEnsembleIR, options: dict) -> int:
    return c.data_bytes(ir, options["method"])


FAMILY = Family(
    name="trees",
    section_id=1,
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
