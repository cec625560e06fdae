"""IR of the preprocessing family: one four-stage transform (gather, affine, normalize,
matrix), plus a numpy emulation of exactly the C engine's float operations.

The stages and their order are those of ``microlearn/runtime/ml_preprocessing.h``. An
affine parameter table is float32 (the operation is done in float32) or float64 (done
in float64, rounded to float32: numpy's ``float32_array op= float64_array``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...family import Signature

NORMS = ("l1", "l2", "max")

#: scikit-learn's ``_handle_zeros_in_scale`` threshold for float32 row norms
TINY_NORM = np.float32(10) * np.finfo(np.float32).eps


@dataclass(frozen=True, eq=False)
class PreprocessingIR:
    """A transformer as (optional) stages: gather -> affine -> normalize -> matrix.

    Attributes
    ----------
    estimator : str
        scikit-learn class name.
    n_features : int
        Inputs per sample.
    gather : ndarray of int64, shape (n_mid,), or None
        Kept input features, in output order (selectors).
    center, scale, offset : ndarray of float32 or float64, shape (n_mid,), or None
        Affine parameters: ``t = ((t - center) [*|/] scale) + offset``. The dtype is
        the arithmetic of the operation (float64: computed in double, rounded to float32).
    scale_op : {"mul", "div"} or None
    clip : (float, float) or None
        Clip the affine result to ``[lo, hi]`` (float32 values).
    fused64 : bool
        The affine map (center, scale, offset: all float64) runs in float64 and is
        rounded to float32 once (scikit-learn's transform of float64 rows).
    norm : {"l1", "l2", "max"} or None
        Row normalisation after the affine stage.
    matrix : ndarray of float32, shape (n_outputs, n_mid), or None
        ``out = t @ matrix.T`` (float32, sums in index order).
    exact : bool
        The C output is bit-identical to scikit-learn's transform (of the float32 rows,
        or, with ``reference == "float64"``, of the rows as float64, rounded to float32).
    reference : {"float32", "float64"}
        Which scikit-learn transform the C reproduces: of the float32 rows (what a
        pipeline fed float32 computes), or of the same rows as float64.
    tolerance : dict
        What :func:`microlearn.families.preprocessing.convert.tolerance` needs: the
        float64 parameters scikit-learn uses (``"ref_center"``, ``"ref_scale"``,
        ``"ref_offset"``, ``"ref_matrix"``) and ``"ref_float32"`` (scikit-learn's own
        arithmetic is float32, so its rounding error adds to ours).
    feature_names : tuple of str or None
    """

    estimator: str
    n_features: int
    gather: np.ndarray | None = None
    center: np.ndarray | None = None
    scale: np.ndarray | None = None
    scale_op: str | None = None
    offset: np.ndarray | None = None
    clip: tuple[float, float] | None = None
    fused64: bool = False
    norm: str | None = None
    matrix: np.ndarray | None = None
    exact: bool = True
    reference: str = "float32"
    tolerance: dict = field(default_factory=dict)
    feature_names: tuple[str, ...] | None = None
    family: str = field(default="preprocessing", init=False)

    def __post_init__(self) -> None:
        n_mid = self.n_mid
        if n_mid < 1 or self.n_outputs < 1:
            raise ValueError("a transform needs at least one output")
        if self.gather is None and n_mid != self.n_features:
            raise ValueError("without a gather stage n_mid must equal n_features")
        for name in ("center", "scale", "offset"):
            a = getattr(self, name)
            if a is not None and (a.shape != (n_mid,) or a.dtype not in (np.float32,
                                                                         np.float64)):
                raise ValueError(f"{name} must be float32 or float64 of shape ({n_mid},)")
        if (self.scale is None) != (self.scale_op is None) or self.scale_op not in (
            None, "mul", "div"
        ):
            raise ValueError("scale and scale_op ('mul' or 'div') go together")
        if self.norm is not None and self.norm not in NORMS:
            raise ValueError(f"norm={self.norm!r} is not one of {NORMS}")
        if self.fused64 and any(a is not None and a.dtype != np.float64
                                for a in (self.center, self.scale, self.offset)):
            raise ValueError("fused64 needs float64 center, scale and offset")
        if self.matrix is not None and (self.matrix.ndim != 2 or self.matrix.shape[1] != n_mid
                                        or self.matrix.dtype != np.float32):
            raise ValueError(f"matrix must be float32 of shape (n_outputs, {n_mid})")

    @property
    def n_mid(self) -> int:
        """Features after the gather stage."""
        return int(self.gather.shape[0]) if self.gather is not None else self.n_features

    @property
    def n_outputs(self) -> int:
        """Outputs per sample."""
        return int(self.matrix.shape[0]) if self.matrix is not None else self.n_mid

    @property
    def has_affine(self) -> bool:
        return (self.center is not None or self.scale is not None or self.offset is not None
                or self.clip is not None or self.fused64)

    @property
    def has_pre(self) -> bool:
        """A stage before the matrix writes an intermediate vector."""
        return self.gather is not None or self.has_affine or self.norm is not None

    @property
    def scratch_floats(self) -> int:
        """Floats of scratch the C engine needs (the intermediate vector)."""
        return self.n_mid if self.matrix is not None and self.has_pre else 0


def _op(t: np.ndarray, p: np.ndarray, ufunc) -> np.ndarray:
    """One affine operation as the C does it: float32, or float64 rounded to float32."""
    if p.dtype == np.float64:
        return ufunc(t.astype(np.float64), p).astype(np.float32)
    return ufunc(t, p)


def reference_transform(ir: PreprocessingIR, X: np.ndarray) -> np.ndarray:
    """The C engine's output, emulated in numpy with the same float operations (the
    affine, gather and ``max`` outputs are bit-identical to the C, the sums too as they
    run in the same order).

    Parameters
    ----------
    ir : PreprocessingIR
    X : array-like of shape (n_samples, n_features)
        Cast to float32.

    Returns
    -------
    ndarray of float32, shape (n_samples, n_outputs)
    """
    t = np.array(X, dtype=np.float32, copy=True, ndmin=2)
    with np.errstate(all="ignore"):
        if ir.gather is not None:
            t = t[:, ir.gather]
        if ir.fused64:
            v = t.astype(np.float64)
            if ir.center is not None:
                v = v - ir.center
            if ir.scale is not None:
                v = v * ir.scale if ir.scale_op == "mul" else v / ir.scale
            if ir.offset is not None:
                v = v + ir.offset
            t = v.astype(np.float32)
        else:
            if ir.center is not None:
                t = _op(t, ir.center, np.subtract)
            if ir.scale is not None:
                t = _op(t, ir.scale, np.multiply if ir.scale_op == "mul" else np.divide)
            if ir.offset is not None:
                t = _op(t, ir.offset, np.add)
        if ir.clip is not None:
            lo, hi = np.float32(ir.clip[0]), np.float32(ir.clip[1])
            t = np.where(t < lo, lo, np.where(t > hi, hi, t)).astype(np.float32)
        if ir.norm is not None:
            s = np.zeros(t.shape[0], dtype=np.float32)
            if ir.norm == "l1":
                for i in range(t.shape[1]):
                    s = s + np.abs(t[:, i])
            elif ir.norm == "l2":
                for i in range(t.shape[1]):
                    s = s + t[:, i] * t[:, i]
                s = np.sqrt(s)
            else:
                s = np.max(np.abs(t), axis=1)  # exact; NaN propagates like the C
            s = np.where(s < TINY_NORM, np.float32(1), s).astype(np.float32)
            t = t / s[:, None]
        if ir.matrix is not None:
            acc = np.zeros((t.shape[0], ir.matrix.shape[0]), dtype=np.float32)
            for i in range(t.shape[1]):
                acc = acc + t[:, i : i + 1] * ir.matrix[None, :, i]
            t = acc
    return t


def signature(ir: PreprocessingIR) -> Signature:
    """The :class:`~microlearn.family.Signature` of a converted transformer."""
    if ir.exact and ir.reference == "float64":
        note = ("transform bit-identical to scikit-learn's on the rows as float64, rounded "
                "to float32")
    elif ir.exact:
        note = "transform bit-identical to scikit-learn's on float32 inputs"
    elif ir.matrix is not None:
        note = ("transform within gamma_(n+2) * sum_i |w_ji| (|x_i - m_i| + |m_i|) of "
                "scikit-learn (float32 dot products, n inputs)")
    elif ir.norm is not None:
        note = ("transform within (gamma_n + 4u) |y| of scikit-learn (float32 row norm, "
                "u = 2^-24)")
    else:
        note = ("transform within a few float32 roundings of scikit-learn (float32 "
                "parameters; scaler_arithmetic='exact' makes it bit-identical)")
    return Signature(
        estimator=ir.estimator,
        task="transformer",
        n_features=ir.n_features,
        n_outputs=ir.n_outputs,
        # for a transformer: its transform is bit-identical to scikit-learn's, so a
        # pipeline's predict stays exact when its final step's is
        exact_predict=bool(ir.exact),
        exactness=note,
        feature_names=ir.feature_names,
    )
