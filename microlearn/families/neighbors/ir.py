"""The neighbors family's IR: the stored points and what the C computes from them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: ``kind`` values, in the C's numbering (``ML_NEIGHBORS_*``)
KINDS = ("knn_classifier", "knn_regressor", "centroid", "lof")
METRICS = ("euclidean", "manhattan", "chebyshev", "minkowski")
WEIGHTS = ("uniform", "distance")

FLAG_UNIFORM_PRIORS = 1
FLAG_DECISION = 2


@dataclass(frozen=True, eq=False)
class NeighborsIR:
    """A nearest-neighbour model: float32 points plus per-kind tables.

    ``points`` is the training set (k-NN, LOF) or the class centroids (NearestCentroid),
    rounded to float32 (``points_exact``: the fitted float64 values were float32
    already). The C ranks points by (distance, index).
    """

    estimator: str
    kind: str  # one of KINDS
    n_features: int
    metric: str  # one of METRICS (scikit-learn's effective metric)
    p: float  # Minkowski p (float32-exact); 2 for the others
    k: int  # neighbours (1 for NearestCentroid)
    weights: str  # one of WEIGHTS
    points: np.ndarray  # float32 [n_points, n_features]
    points_exact: bool
    classes: np.ndarray | None = None
    labels: np.ndarray | None = None  # int64 [n_points] class index (k-NN classifier)
    targets: np.ndarray | None = None  # float32 [n_points, n_targets] (regressor)
    target_1d: bool = True  # regressor fitted on a 1-D y
    flags: int = 0  # FLAG_* (NearestCentroid)
    inv_scale: np.ndarray | None = None  # float32 [n_features] (NearestCentroid)
    norm_points: np.ndarray | None = None  # float32 [n_classes, n_features]
    bias: np.ndarray | None = None  # float32 [n_classes] 2 log(prior)
    k_distance: np.ndarray | None = None  # float32 [n_points] (LOF)
    lrd: np.ndarray | None = None  # float32 [n_points] (LOF)
    offset: float = 0.0  # LOF offset_ (float32)
    feature_names: tuple[str, ...] | None = None
    family: str = field(default="neighbors", init=False)

    @property
    def n_points(self) -> int:
        return int(self.points.shape[0])

    @property
    def task(self) -> str:
        return {"knn_classifier": "classifier", "centroid": "classifier",
                "knn_regressor": "regressor", "lof": "outlier_detector"}[self.kind]

    @property
    def n_outputs(self) -> int:
        if self.kind == "knn_regressor":
            assert self.targets is not None
            return int(self.targets.shape[1])
        if self.kind == "lof":
            return 1
        assert self.classes is not None
        return int(len(self.classes))

    @property
    def has_decision(self) -> bool:
        return self.kind == "lof" or (self.kind == "centroid"
                                      and bool(self.flags & FLAG_DECISION))

    @property
    def n_decision(self) -> int:
        if self.kind == "lof":
            return 1
        if self.kind == "centroid" and self.flags & FLAG_DECISION:
            return 1 if self.n_outputs == 2 else self.n_outputs
        return 0

    @property
    def has_proba(self) -> bool:
        return self.kind == "knn_classifier" or (self.kind == "centroid"
                                                 and bool(self.flags & FLAG_DECISION))

    @property
    def scratch_floats(self) -> int:
        """``ml_neighbors_scratch_floats``: 2(k+1) + 2k + 3 n_outputs."""
        return 2 * (self.k + 1) + 2 * self.k + 3 * self.n_outputs
