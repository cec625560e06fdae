"""Linear family: linear classifiers and regressors (``d = coef @ x + intercept``).

``convert.py`` (scikit-learn -> :class:`LinearIR`, tolerances in its docstring),
``c.py`` (tables and kernels), ``section.py`` (model-file section), ``cost.py``
(footprint estimate); C engine and section loader in ``runtime/ml_linear.h``.

Option ``exact`` (default True): keep float64 copies of the weights and re-decide
``predict`` in double for rows whose float32 decision values are within their certified
rounding bound of a tie; ``exact=False`` drops them (smallest flash) and decides on the
float32 values (``Signature.exact_predict`` False).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...family import CCode, Estimate, Family, Signature
from . import c, cost, section
from .convert import OPTIONS, SUPPORTED, from_sklearn
from .ir import LinearIR, signature

__all__ = ["FAMILY", "LinearIR"]


def _convert(estimator: Any, options: dict) -> LinearIR:
    return from_sklearn(estimator, options)


def _signature(ir: LinearIR) -> Signature:
    return signature(ir)


def _c_code(ir: LinearIR, prefix: str, options: dict) -> CCode:
    return c.c_code(ir, prefix, ir.exact)


def _section(ir: LinearIR, options: dict) -> bytes:
    return section.section(ir, ir.exact)


def _estimate(ir: LinearIR, target: str, X: np.ndarray | None, options: dict) -> Estimate:
    return cost.estimate(ir, target, X, ir.exact)


def _describe(ir: LinearIR, options: dict) -> str:
    kind = (f"{ir.n_outputs} classes" if ir.task == "classifier"
            else f"{ir.n_outputs} target{'s' if ir.n_outputs > 1 else ''}")
    return (f"{ir.estimator}: linear, {ir.n_features} features, {kind}; float32 weights"
            + (" + float64 near-tie fallback" if ir.exact and ir.task == "classifier"
               else ""))


def _data_bytes(ir: LinearIR, options: dict) -> int:
    return c.data_bytes(ir, ir.exact)


def _synthetic_rows(ir: LinearIR, n: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, ir.n_features)).astype(np.float32)


def _regress_tolerance(ir, X: np.ndarray) -> np.ndarray:
    """The certified bound on |float32 decision value - scikit-learn's| per row and target
    (:func:`.ir.decision_bounds`): a linear regressor's prediction is its decision value."""
    from .ir import decision_bounds

    return decision_bounds(ir, X)


FAMILY = Family(
    name="linear",
    section_id=2,
    estimators=tuple(f"sklearn.{n}" for n in SUPPORTED),
    options=dict(OPTIONS),
    convert=_convert,
    signature=_signature,
    c_code=_c_code,
    section=_section,
    estimate=_estimate,
    describe=_describe,
    data_bytes=_data_bytes,
    synthetic_rows=_synthetic_rows,
    regress_tolerance=_regress_tolerance,
)
