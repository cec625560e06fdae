"""SVM family: libsvm kernel machines (SVC, NuSVC, SVR, NuSVR, OneClassSVM).

``convert.py`` (scikit-learn -> :class:`SVMIR`, error bounds), ``c.py`` (float32 tables
and kernels), ``section.py`` (model-file section), ``cost.py`` (footprint estimate); C
engine and section loader in ``runtime/ml_svm.h``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ...family import Family, Signature, module_backends
from . import c, cost, section
from .convert import SUPPORTED, from_sklearn
from .ir import SVMIR

__all__ = ["FAMILY", "SVMIR"]

OPTIONS: dict[str, Any] = {"exact": True}


def _convert(estimator: Any, options: dict) -> SVMIR:
    exact = options["exact"]
    if not isinstance(exact, (bool, np.bool_)):
        raise ValueError(f"exact={exact!r} must be True (float64 tables: predict's "
                         "near-ties recomputed in float64) or False (float32 only)")
    return dataclasses.replace(from_sklearn(estimator), exact=bool(exact))


def _signature(ir: SVMIR) -> Signature:
    ties = ("near-ties (decision value within its certified float32 error bound of 0) "
            "recomputed in float64" if ir.exact else
            "except at float32 near-ties (a decision value within its float32 error "
            "bound of 0; option exact=True resolves them in float64)")
    if ir.task == "classifier":
        note = f"predict: libsvm's one-vs-one vote, {ties}"
        if ir.break_ties:
            note += ("; break_ties: first maximum of the 'ovr' values"
                     + (", near-ties recomputed in float64" if ir.exact else ""))
        note += "; decision_function within the float32 bound of svm/convert.py"
        if ir.has_proba:
            note += "; predict_proba within k (max dr + 16 u) (first-order, measured)"
    elif ir.task == "regressor":
        note = "prediction within the float32 kernel-sum bound of svm/convert.py"
    else:
        note = (f"predict: sign of the decision value, {ties}; decision_function and "
                "score_samples within the float32 bound of svm/convert.py")
    return Signature(
        estimator=ir.estimator,
        task=ir.task,
        n_features=ir.n_features,
        n_outputs=ir.n_classes if ir.task == "classifier" else 1,
        classes=ir.classes,
        n_decision=ir.n_decision,
        has_proba=ir.has_proba,
        has_score_samples=ir.task == "outlier_detector",
        # as the other families with exact mode: certified float32 bound + float64
        # re-decision (equal to libsvm's up to float64 rounding: BLAS order, libm)
        exact_predict=ir.task == "regressor" or ir.exact,
        exactness=note,
        feature_names=ir.feature_names,
    )


def _describe(ir: SVMIR, options: dict) -> str:
    return f"{c.describe_line(ir)}; float32 kernels"


def _synthetic_rows(ir: SVMIR, n: int) -> np.ndarray:
    """Rows near the support vectors (or zeros for a model without any)."""
    rng = np.random.default_rng(0)
    if ir.n_sv == 0:
        return np.zeros((n, ir.n_features), dtype=np.float32)
    sv = ir.support_vectors[rng.integers(0, ir.n_sv, size=n)]
    scale = ir.support_vectors.std(axis=0) + 1e-3
    return (sv + 0.1 * scale * rng.standard_normal(sv.shape)).astype(np.float32)


def _regress_tolerance(ir, X: np.ndarray) -> np.ndarray:
    """SVR / NuSVR: the per-row bound of :func:`.convert.output_bounds`."""
    from .convert import output_bounds

    return output_bounds(ir, X)["regress"]


FAMILY = Family(
    name="svm",
    section_id=3,
    estimators=tuple(f"sklearn.{n}" for n in SUPPORTED),
    options=OPTIONS,
    convert=_convert,
    signature=_signature,
    **{**module_backends(c, section, cost), "describe": _describe},
    synthetic_rows=_synthetic_rows,
    regress_tolerance=_regress_tolerance,
)
