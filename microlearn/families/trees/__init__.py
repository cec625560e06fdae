"""Tree family: decision trees and tree ensembles (random forests, extra trees, gradient
boosting, hist gradient boosting, AdaBoost, isolation forests; XGBoost and LightGBM through
``raw.RawEnsemble`` and ``convert.from_raw``).

``convert.py`` (scikit-learn -> :class:`TreeEnsembleIR`), ``c.py`` (tables and kernels,
methods ``loadable`` and ``inline``; ``c_fast.py``: method ``fast``, the default),
``section.py`` (model-file section), ``cost.py``
(footprint estimate); C engine and section loader in ``runtime/ml_trees.h``.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from ...family import CCode, Estimate, Family, Signature
from . import c, cost, section
from .convert import SUPPORTED, from_raw, from_sklearn
from .ir import TreeEnsembleIR, exact_predict

__all__ = ["FAMILY", "TreeEnsembleIR"]

OPTIONS = {"method": "fast", "compact": True}


def _check_options(options: dict) -> None:
    c.check_method(options["method"])
    if not isinstance(options["compact"], (bool, np.bool_)):
        raise ValueError(f"compact={options['compact']!r} must be True or False")


#: other libraries' estimators: registry key -> reader module here (xgboost.py,
#: lightgbm.py: model -> raw.RawEnsemble; they import their library only when used)
READERS = {
    **{f"xgboost.{n}": "xgboost" for n in ("XGBClassifier", "XGBRegressor", "Booster")},
    **{f"lightgbm.{n}": "lightgbm" for n in ("LGBMClassifier", "LGBMRegressor", "Booster")},
}


def _reader(estimator: Any) -> Any:
    """The reader module of an XGBoost / LightGBM estimator (along its MRO), or None."""
    from .. import registry_key

    for cls in type(estimator).__mro__:
        module = READERS.get(registry_key(cls))
        if module is not None:
            return importlib.import_module(f"{__name__}.{module}")
    return None


def _convert(estimator: Any, options: dict) -> TreeEnsembleIR:
    _check_options(options)
    reader = _reader(estimator)
    if reader is not None:
        return from_raw(reader.read(estimator))
    return from_sklearn(estimator)


def _boosted_signature(ir: TreeEnsembleIR) -> Signature:
    if ir.kind == "classifier":
        note = ("predict equals the source model's except where two raw scores (binary: "
                "the raw score and the threshold) are within float32 rounding of a sum of "
                f"{ir.n_trees} trees (near-ties); raw scores within (T+2) u sum|terms|, "
                "probabilities within that through the post transform")
    elif ir.kind == "outlier_detector":
        note = ("predict equals scikit-learn's except where the path-length sum is within "
                "float32 rounding of the threshold (near-ties); score_samples within "
                "|s| (ln 2 / norm) (T+2) u sum|terms| + 4 ulp")
    else:
        note = ("outputs within float32 rounding of the sum over trees: (T+2) u sum|terms| "
                "(through exp for log-link losses)" if ir.post != "median" else
                "the weighted median of float32-rounded tree predictions (exact unless the "
                "cumulative weight is within float32 rounding of half the total)")
    return Signature(
        estimator=ir.estimator,
        task=ir.kind,
        n_features=ir.n_features,
        n_outputs=ir.n_outputs,
        classes=ir.classes,
        # XGBoost classifiers have no decision_function (raw margins come from
        # predict(output_margin=True)): neither has the model
        n_decision=0 if ir.estimator.split(".")[0] == "xgboost" else ir.n_decision,
        has_proba=ir.kind == "classifier",
        has_score_samples=ir.kind == "outlier_detector",
        exact_predict=exact_predict(ir),
        exactness=note,
        feature_names=ir.feature_names,
    )


def _signature(ir: TreeEnsembleIR) -> Signature:
    if ir.boosted:
        return _boosted_signature(ir)
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


def _regress_tolerance(ir, X: np.ndarray) -> np.ndarray:
    """|C - scikit-learn| bound of a regressor (docs/families/trees.md): boosted models
    from :func:`ir.tolerances`; forests and single trees: the float32 mean of T leaf values
    of magnitude <= M, each rounded once, summed and divided: 2^-24 M ((T + 1) / 2 + 2)."""
    from .ir import U32, tolerances

    if ir.boosted:
        return np.full(len(X), tolerances(ir, X)["predict"])
    leaf_max = float(np.abs(ir.leaf_values).max()) if ir.leaf_values.size else 0.0
    return np.full(len(X), U32 * leaf_max * ((ir.n_trees + 1) / 2 + 2))


FAMILY = Family(
    name="trees",
    section_id=1,
    estimators=tuple(f"sklearn.{n}" for n in SUPPORTED) + tuple(READERS),
    options=OPTIONS,
    convert=_convert,
    signature=_signature,
    c_code=_c_code,
    section=_section,
    estimate=_estimate,
    describe=_describe,
    data_bytes=_data_bytes,
    synthetic_rows=lambda ir, n: cost.synthetic_rows(ir, n),
    regress_tolerance=_regress_tolerance,
)
