"""Tree family IR: :class:`TreeEnsembleIR`, plain numpy arrays; backends read only this."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, eq=False)
class TreeEnsembleIR:
    """Intermediate representation of a tree ensemble.

    Decision nodes of all trees are numbered ``0 .. n_nodes-1``, depth first,
    tree after tree. A *child code* ``c >= 0`` is a decision node, ``c < 0``
    is leaf id ``~c``. Leaf ids below ``leaf_base`` are one-hot rows (class
    ``id``); id ``i >= leaf_base`` is ``leaf_values[i - leaf_base]``.
    """

    estimator: str
    kind: str  # "classifier" or "regressor"
    n_features: int
    n_outputs: int
    classes: np.ndarray | None
    feature: np.ndarray  # int64[n_nodes]
    threshold: np.ndarray  # float32[n_nodes]: left iff x <= threshold
    nan_left: np.ndarray  # bool[n_nodes]: NaN goes left
    left: np.ndarray  # int64[n_nodes] child codes
    right: np.ndarray  # int64[n_nodes] child codes
    roots: np.ndarray  # int64[n_trees] child codes
    leaf_values: np.ndarray  # float32[n_leaf_rows, n_outputs]
    leaf_base: int
    max_depth: int
    #: every leaf value (float64, as scikit-learn holds it) is a multiple of 2**-k with
    #: n_trees * 2**k <= 2**24: float32 holds it exactly and float32 sums of them are exact
    dyadic_leaves: bool = True
    feature_names: tuple[str, ...] | None = None
    family: str = field(default="trees", init=False)

    @property
    def n_trees(self) -> int:
        return int(self.roots.shape[0])

    @property
    def n_nodes(self) -> int:
        return int(self.feature.shape[0])

    @property
    def n_leaf_ids(self) -> int:
        return self.leaf_base + int(self.leaf_values.shape[0])


def exact_predict(ir: TreeEnsembleIR) -> bool:
    """True when the C's predicted class provably equals scikit-learn's for every float32
    input: a single tree (each leaf's argmax is checked at conversion), or a forest whose
    leaf values are all multiples of 2**-k with T * 2**k <= 2**24, so that every float32
    sum of them is exact and equal to scikit-learn's float64 sum (e.g. forests of pure
    leaves). Otherwise two classes whose float64 mean probabilities differ by less than
    float32 rounding (a near-tie) may be ordered differently."""
    if ir.kind != "classifier" or ir.n_trees == 1:
        return True
    # checked on scikit-learn's float64 leaf values at conversion (not on the float32
    # table, whose rounding could make an inexact value look dyadic)
    return ir.dyadic_leaves


