"""Naive Bayes family: GaussianNB, MultinomialNB, ComplementNB, BernoulliNB.

``convert.py`` (scikit-learn -> :class:`NaiveBayesIR`, exactness derivation), ``ir.py``
(the IR and a numpy mirror of the C engine), ``c.py`` (tables and kernels), ``section.py``
(model-file section), ``cost.py`` (footprint estimate); C engine and section loader in
``runtime/ml_naive_bayes.h``. Option ``exact`` (default True): certified float32 pass
with double-precision recomputation of near-ties.
"""

from __future__ import annotations

from typing import Any

from ...family import Family, Signature, module_backends
from . import c, cost, section
from .convert import SUPPORTED, from_sklearn, proba_atol, proba_tolerance32
from .ir import NaiveBayesIR

__all__ = ["FAMILY", "NaiveBayesIR", "proba_atol", "proba_tolerance32"]

OPTIONS = {"exact": True}


def _convert(estimator: Any, options: dict) -> NaiveBayesIR:
    return from_sklearn(estimator, options)


def _signature(ir: NaiveBayesIR) -> Signature:
    if ir.kind == "gaussian32":
        note = ("predict equals scikit-learn (its float32 operations repeated bit for bit); "
                "predict_proba within scikit-learn's own float32 rounding of logsumexp "
                "(proba_tolerance32)")
    elif ir.exact:
        note = ("predict equals scikit-learn (float32 pass with certified error bound, "
                "near-ties recomputed in double); predict_proba within "
                f"{proba_atol(ir.n_classes):.2g} absolute")
    else:
        note = ("predict is the float32 argmax: may differ from scikit-learn at near-ties "
                "of the log likelihoods; predict_proba error grows with their magnitude "
                "(e^(2E) - 1, E the float32 error of the sums)")
    return Signature(
        estimator=ir.estimator,
        task="classifier",
        n_features=ir.n_features,
        n_outputs=ir.n_classes,
        classes=ir.classes,
        has_proba=True,
        exact_predict=ir.exact_predict,
        exactness=note,
        feature_names=ir.feature_names,
    )


FAMILY = Family(
    name="naive_bayes",
    section_id=4,
    estimators=tuple(f"sklearn.{n}" for n in SUPPORTED),
    options=OPTIONS,
    convert=_convert,
    signature=_signature,
    **module_backends(c, section, cost),
    synthetic_rows=cost.synthetic_rows,
)
