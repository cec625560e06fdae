"""The mixture family's IR: Gaussian log densities with one precision factor per component.

Plain data read by the backends (``c.py``, ``section.py``, ``cost.py``); only
``convert.py`` knows scikit-learn. See ``microlearn/runtime/ml_mixture.h`` for the
arithmetic and :mod:`.convert` for the tolerances.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...family import Signature

KIND_FULL, KIND_DIAG, KIND_SPHERICAL = 0, 1, 2
KIND_NAMES = {KIND_FULL: "full", KIND_DIAG: "diag", KIND_SPHERICAL: "spherical"}

SCORE_NONE, SCORE_LSE, SCORE_NEG_MAHA = 0, 1, 2
DECISION_NONE, DECISION_SCORES, DECISION_BINARY, DECISION_OUTLIER = 0, 1, 2, 3
(EXACT_NONE, EXACT_GMM_TRI, EXACT_GMM_DIAG, EXACT_GMM_SPH, EXACT_QDA,
 EXACT_ENVELOPE) = range(6)

TASK_CODES = {"classifier": 0, "outlier_detector": 2}


@dataclass(frozen=True, eq=False)
class MixtureIR:
    """Scores ``s_k(x) = const[k] - h * ||(x - mean[k]) F_k||^2`` for k < n_components.

    ``factor`` (float32, flat): full: ``n_factors`` upper-triangular factors packed by
    column (column i holds rows 0..i); diag: ``[K, n]``; spherical: ``[K]``. ``err``
    (float32 ``[K, 3]``): ``cs_k, ms_k, b_k`` of the certified error bound (with the
    model constants ``g`` and ``a``). The ``d_*`` float64 tables (empty when
    ``exact_mode == 0``) recompute near-ties following scikit-learn (see
    ``ml_mixture.h``).
    """

    estimator: str
    task: str  # "classifier" or "outlier_detector"
    kind: int
    n_features: int
    n_components: int
    n_factors: int
    score_kind: int
    decision_kind: int
    has_proba: bool
    classes: np.ndarray | None
    h: float
    g: float
    a: float
    mean: np.ndarray  # float32 [K, n]
    factor: np.ndarray  # float32 flat
    const: np.ndarray  # float32 [K]
    err: np.ndarray  # float32 [K, 3]
    exact_mode: int
    round_maha: bool
    d_mean: np.ndarray  # float64 [K * n]
    d_factor: np.ndarray  # float64 flat
    d_const: np.ndarray  # float64 [K]
    d_aux: np.ndarray  # float64 [K]
    exact_predict: bool
    exactness: str
    feature_names: tuple[str, ...] | None = None
    family: str = field(default="mixture", init=False)

    @property
    def n_decision(self) -> int:
        return {DECISION_NONE: 0, DECISION_SCORES: self.n_components}.get(
            self.decision_kind, 1)

    @property
    def scratch_floats(self) -> int:
        return 2 * self.n_components + self.n_features


def signature(ir: MixtureIR) -> Signature:
    """The :class:`~microlearn.family.Signature` of a converted mixture-family step."""
    return Signature(
        estimator=ir.estimator,
        task=ir.task,
        n_features=ir.n_features,
        n_outputs=ir.n_components if ir.task == "classifier" else 1,
        classes=ir.classes,
        n_decision=ir.n_decision,
        has_proba=ir.has_proba,
        has_score_samples=ir.score_kind != SCORE_NONE,
        exact_predict=ir.exact_predict,
        exactness=ir.exactness,
        feature_names=ir.feature_names,
    )
