"""Neighbors family: k-nearest-neighbour classifier and regressor, NearestCentroid and
LocalOutlierFactor (novelty=True), as a brute-force scan over a float32 training set.

``convert.py`` (scikit-learn -> :class:`NeighborsIR`, exactness and error bounds),
``c.py`` (tables and kernels), ``section.py`` (model-file section), ``cost.py`` (footprint
estimate); C engine and section loader in ``runtime/ml_neighbors.h``.
"""

from __future__ import annotations

from typing import Any

from ...family import Family, Signature, module_backends
from . import c, cost, section
from .convert import SUPPORTED, from_sklearn
from .ir import NeighborsIR

__all__ = ["FAMILY", "NeighborsIR"]

OPTIONS: dict[str, Any] = {}

_TIES = ("scikit-learn's own choice among points tied at the k-th distance (which depends "
         "on its algorithm) cannot be reproduced: the C takes the smaller training index")


def _convert(estimator: Any, options: dict) -> NeighborsIR:
    return from_sklearn(estimator)


def _signature(ir: NeighborsIR) -> Signature:
    stored = ("" if ir.points_exact else
              "; the stored points are the fitted float64 ones rounded to float32, so "
              "distances within that rounding of each other may be ordered differently")
    if ir.kind == "knn_classifier":
        note = ("predict equals scikit-learn's vote of the exact k nearest stored points "
                "(float32 distances certified, double recomputation near the k-th) except "
                f"at exact distance ties: {_TIES}; predict_proba within the bound in "
                "neighbors/convert.py")
        exact = False
    elif ir.kind == "knn_regressor":
        note = (f"prediction within the float32 bound in neighbors/convert.py; {_TIES}")
        exact = True
    elif ir.kind == "centroid":
        if ir.flags & 1:
            note = ("predict: nearest centroid, certified float32 distances with double "
                    "recomputation near ties, smaller class index on exact ties")
            exact = ir.points_exact
        else:
            note = ("predict: argmax of float32 discriminant scores (non-uniform priors); "
                    "may differ from scikit-learn within the score bound")
            exact = False
        if ir.flags & 2:
            note += "; decision_function / predict_proba within the bound in convert.py"
    else:
        note = ("predict equals scikit-learn except when decision_function is within its "
                "float32 bound of 0 (lrd and k-distances stored in float32); scores within "
                f"the bound in neighbors/convert.py; {_TIES}")
        exact = False
    return Signature(
        estimator=ir.estimator,
        task=ir.task,
        n_features=ir.n_features,
        n_outputs=ir.n_outputs,
        classes=ir.classes,
        n_decision=ir.n_decision,
        has_proba=ir.has_proba,
        has_score_samples=ir.kind == "lof",
        exact_predict=exact,
        exactness=note + stored,
        feature_names=ir.feature_names,
    )


def _describe(ir: NeighborsIR, options: dict) -> str:
    return f"{c.describe_line(ir)}; brute-force scan, float32 points"


FAMILY = Family(
    name="neighbors",
    section_id=6,
    estimators=tuple(f"sklearn.{n}" for n in SUPPORTED),
    options=OPTIONS,
    convert=_convert,
    signature=_signature,
    **{**module_backends(c, section, cost), "describe": _describe},
    synthetic_rows=lambda ir, n: cost.synthetic_rows(ir, n),
)
