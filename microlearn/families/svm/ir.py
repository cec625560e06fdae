"""The SVM family's IR: a libsvm model as scikit-learn holds it (float64, libsvm signs)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, eq=False)
class SVMIR:
    """A libsvm model as scikit-learn holds it (float64, libsvm's signs and layout).

    Classifier SVs are grouped by class (``sv_start[c] .. sv_start[c+1]-1``); pair ``p``
    enumerates ``(i, j)``, ``i < j``, row-major; ``dual_coef`` has ``k - 1`` rows
    (libsvm's ``sv_coef``): SV of class ``c`` in pair ``(c, o)`` uses row ``o - 1`` if
    ``o > c`` else row ``o``. Regressor / one-class: one row, one ``rho``.
    """

    estimator: str
    task: str  # "classifier", "regressor", "outlier_detector"
    kernel: str
    n_features: int
    classes: np.ndarray | None
    support_vectors: np.ndarray  # float64 [n_sv, n_features]
    dual_coef: np.ndarray  # float64 [rows, n_sv]
    rho: np.ndarray  # float64 [n_pairs]
    sv_start: np.ndarray  # int64 [n_classes + 1] (classifier) else [0, n_sv]
    gamma: float
    coef0: float
    degree: int
    prob_a: np.ndarray  # float64 [n_pairs] or empty
    prob_b: np.ndarray
    ovr: bool  # decision_function_shape == "ovr"
    break_ties: bool
    feature_names: tuple[str, ...] | None = None
    #: linear kernel: per-pair weights sum_i dual_coef * sv_i (float64 [n_pairs,
    #: n_features]); the C evaluates w . x - rho (primal form) instead of the SV sum
    weights: np.ndarray | None = None
    #: option ``exact``: float64 tables in the C, near-ties of predict recomputed in float64
    exact: bool = True
    family: str = field(default="svm", init=False)

    @property
    def n_sv(self) -> int:
        return int(self.support_vectors.shape[0])

    @property
    def n_sv_stored(self) -> int:
        """Support vectors in the C tables (0 in primal form)."""
        return 0 if self.weights is not None else self.n_sv

    @property
    def n_classes(self) -> int:
        return 1 if self.classes is None else int(len(self.classes))

    @property
    def n_pairs(self) -> int:
        return int(self.rho.shape[0])

    def pair_terms(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per pair (libsvm order): (support vector indices, their coefficients)."""
        if self.task != "classifier":
            return [(np.arange(self.n_sv), self.dual_coef[0])]
        st, out = self.sv_start, []
        for i in range(self.n_classes):
            for j in range(i + 1, self.n_classes):
                idx = np.r_[st[i]:st[i + 1], st[j]:st[j + 1]]
                c = np.concatenate([self.dual_coef[j - 1, st[i]:st[i + 1]],
                                    self.dual_coef[i, st[j]:st[j + 1]]])
                out.append((idx, c))
        return out

    @property
    def has_proba(self) -> bool:
        return self.prob_a.size > 0

    @property
    def n_decision(self) -> int:
        if self.task == "regressor":
            return 0
        k = self.n_classes
        if self.task != "classifier" or k == 2:
            return 1
        return k if self.ovr else self.n_pairs
