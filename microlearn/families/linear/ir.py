"""The linear family's IR: weight rows, intercepts, classes and the probability kind.

Backends (C, model-file section, cost) read only :class:`LinearIR`. The float32 error
bound of a decision value (:func:`error_constants`, :func:`decision_bounds`) is defined
here so that the C tables, the section and the tests use the same constants.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...family import Signature

U32 = 2.0**-24  # unit roundoff of float32
U64 = 2.0**-53  # unit roundoff of float64
#: float32 FLT_MIN: the absolute error of one product or sum that underflows (also with
#: flush-to-zero) is below it
FLT_MIN = 2.0**-126

PROBA_KINDS = ("none", "logistic", "softmax", "modified_huber")


@dataclass(frozen=True, eq=False)
class LinearIR:
    """A linear classifier or regressor: ``d = coef @ x + intercept`` per row.

    Attributes
    ----------
    estimator : str
        Class name of the source estimator.
    task : {"classifier", "regressor"}
    coef : ndarray of float64, shape (n_rows, n_features)
        Weight rows (scikit-learn's float64 values). Binary classifiers have one row.
    intercept : ndarray of float64, shape (n_rows,)
    classes : ndarray or None
        Class labels (classifier).
    proba : {"none", "logistic", "softmax", "modified_huber"}
        How ``predict_proba`` maps decision values to probabilities ("none": no
        ``predict_proba``). "logistic" with several rows is the one-vs-rest normalised
        sigmoid.
    empty_zero : bool
        Normalised probabilities whose terms are all 0 stay 0 (OneVsRestClassifier)
        instead of becoming uniform (LogisticRegression, SGDClassifier).
    output_2d : bool
        A regressor whose ``predict`` returns shape (n_samples, n_targets) even for one
        target (``coef_`` was 2-D).
    reference_float32 : bool
        scikit-learn's own decision values are float32 (the estimator was fitted on
        float32 data and keeps float32 ``coef_``), so its answers carry float32 BLAS
        rounding too.
    exact : bool
        The C carries float64 tables and re-decides near-ties in double.
    feature_names : tuple of str or None
    """

    estimator: str
    task: str
    coef: np.ndarray
    intercept: np.ndarray
    classes: np.ndarray | None
    proba: str
    empty_zero: bool
    output_2d: bool
    reference_float32: bool
    exact: bool
    feature_names: tuple[str, ...] | None = None

    @property
    def n_features(self) -> int:
        """Inputs per sample."""
        return int(self.coef.shape[1])

    @property
    def n_rows(self) -> int:
        """Weight rows (decision values)."""
        return int(self.coef.shape[0])

    @property
    def n_outputs(self) -> int:
        """Classes (classifier) or targets (regressor)."""
        if self.task == "classifier":
            return int(len(self.classes))
        return self.n_rows

    @property
    def coef32(self) -> np.ndarray:
        """The float32 weights the C uses."""
        return self.coef.astype(np.float32)

    @property
    def intercept32(self) -> np.ndarray:
        """The float32 intercepts the C uses."""
        return self.intercept.astype(np.float32)


def _up32(value: float) -> np.float32:
    """Smallest float32 >= value (value a positive float64)."""
    v = np.float32(value)
    if float(v) < value:
        v = np.nextafter(v, np.float32(np.inf))
    return v


def error_constants(n_features: int) -> tuple[np.float32, np.float32, np.float32]:
    """``(err_k, err_u, err_tiny)`` of the certified float32 error bound.

    For one decision value the C computes ``d = fl(fl(sum_i fl(x_i w_i)) + b)`` with
    ``w_i = fl32(c_i)``, ``b = fl32(beta)`` and ``S = fl(sum_i |fl(x_i w_i)|)`` in
    float32, and the bound ``e = err_k S + err_u (|d| + |b|) + err_tiny``. With
    ``u = 2^-24``, ``u' = u / (1 - u)``, ``g = n u / (1 - n u)`` (``gamma_n``):

    * coefficient rounding: ``|x_i (w_i - c_i)| <= u' |x_i w_i|``;
    * sum of n products (recursive, any order or FMA): ``<= g sum |x_i w_i|``;
    * intercept rounding ``<= u' |b|`` and the final addition ``<= u' |d|``;
    * ``sum |x_i w_i| <= S (1 + g)`` (S sums non-negative terms);
    * scikit-learn's own float64 rounding: ``<= (n + 1) 2^-53 (1 + u')(S (1 + g) + |b|)``
      doubled for safety;
    * underflow (gradual or flush-to-zero): ``<= 2^-126`` per operation, 2n + 2 of them,
      counted twice (in the value and in S).

    Each constant is then multiplied by ``1 + 8u`` and rounded up to float32, which
    covers the float32 rounding of the four operations evaluating ``e`` and of the
    comparisons ``d_a - d_b > e_a + e_b`` in the C (see ``ml_linear.h``).
    """
    n = int(n_features)
    if n * U32 >= 0.5:
        raise ValueError(f"n_features={n} is too large for the float32 error bound")
    up = U32 / (1 - U32)
    g = n * U32 / (1 - n * U32)
    ref = 2 * (n + 1) * 2 * U64 * (1 + up)
    k = ((g + up) * (1 + g) + ref * (1 + g)) * (1 + 8 * U32) * (1 + 2**-40)
    uu = (up + ref) * (1 + 8 * U32) * (1 + 2**-40)
    tiny = 2 * (2 * n + 2) * FLT_MIN * (1 + 8 * U32) * (1 + 2**-40)
    return _up32(k), _up32(uu), _up32(tiny)


def decision_values32(ir: LinearIR, X: np.ndarray) -> np.ndarray:
    """The C's float32 decision values (sequential sums, as ``ml_linear_row``)."""
    X = np.asarray(X, dtype=np.float32)
    w = ir.coef32
    acc = np.zeros((X.shape[0], ir.n_rows), dtype=np.float32)
    for i in range(ir.n_features):
        acc = acc + X[:, i : i + 1] * w[None, :, i]
    return (acc + ir.intercept32[None, :]).astype(np.float32)


def decision_bounds(ir: LinearIR, X: np.ndarray) -> np.ndarray:
    """Certified bound on |float32 decision value - float64 value|, per row and class.

    The float64 value is scikit-learn's (``X @ coef.T + intercept`` on float32 ``X``);
    when ``reference_float32`` the bound also covers scikit-learn's float32 rounding.
    """
    X = np.asarray(X, dtype=np.float32)
    k, uu, tiny = error_constants(ir.n_features)
    w = ir.coef32
    s = np.zeros((X.shape[0], ir.n_rows), dtype=np.float64)
    for i in range(ir.n_features):
        s += np.abs(X[:, i : i + 1].astype(np.float64) * w[None, :, i].astype(np.float64))
    d = np.abs(decision_values32(ir, X).astype(np.float64))
    b = np.abs(ir.intercept32.astype(np.float64))[None, :]
    e = float(k) * s * (1 + 2 * U32) + float(uu) * (d + b) + float(tiny)
    if ir.reference_float32:
        e = 2 * e
    return e


def signature(ir: LinearIR) -> Signature:
    """The :class:`Signature` of a converted linear model."""
    classifier = ir.task == "classifier"
    exact = bool(ir.exact and not ir.reference_float32)
    if classifier:
        if exact:
            note = ("predict equals scikit-learn (float32 decision values with a certified "
                    "error bound, near-ties re-decided in float64)")
        elif ir.reference_float32:
            note = ("scikit-learn computes this model's decision values in float32 (fitted "
                    "on float32 data) with its BLAS summation order: predict may differ "
                    "within float32 rounding of a decision boundary")
        else:
            note = ("predict decided on float32 decision values (may differ from "
                    "scikit-learn within float32 rounding of a decision boundary)")
        note += "; decision values and probabilities within the float32 dot-product bound"
    else:
        note = "outputs within the float32 dot-product bound (see the linear family docs)"
    return Signature(
        estimator=ir.estimator,
        task=ir.task,
        n_features=ir.n_features,
        n_outputs=ir.n_outputs,
        classes=ir.classes,
        n_decision=ir.n_rows if classifier else 0,
        has_proba=classifier and ir.proba != "none",
        exact_predict=exact if classifier else True,
        exactness=note,
        feature_names=ir.feature_names,
        output_2d=bool(ir.output_2d) and ir.task == "regressor",
    )
