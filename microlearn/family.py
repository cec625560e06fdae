"""The family contract: what every model family provides, and the model signature.

A *family* (one package under ``microlearn/families/``) turns fitted estimators into a
plain intermediate representation (IR: dataclasses of numpy arrays) and reads only that
IR in its backends. The generic layers (``convert``, ``Model``, the C header writer, the
host build, the model file container, footprint, targets, the CLI) see a family only
through the :class:`Family` record below and the :class:`Signature` of a converted
step; they never import a family module.

The C a family emits for prefix ``P`` defines *kernels*, with no argument checks (the
generic layer writes the public, checked ``P_predict`` ... functions around them, and
chains kernels for pipelines):

=====================  ==============================================================
task                   kernels (``x``: ``n_features`` floats)
=====================  ==============================================================
classifier             ``int32_t P__predict(const float *x)``: class index
                       ``void P__predict_proba(const float *x, float *out)`` (has_proba)
                       ``void P__decision_function(const float *x, float *out)``
                       (n_decision > 0)
                       ``float P__score_samples(const float *x)`` (has_score_samples,
                       e.g. GaussianMixture: a classifier over its components)
regressor              ``void P__regress(const float *x, float *out)``
outlier_detector       ``int32_t P__predict(const float *x)``: +1 inlier, -1 outlier
                       ``void P__decision_function(const float *x, float *out)`` (1 value)
                       ``float P__score_samples(const float *x)`` (has_score_samples)
transformer            ``void P__transform(const float *x, float *out)``
=====================  ==============================================================

Kernels are ``static inline``; tables ``static const``; other helpers a family needs are
named ``P__<something>`` (user names may not contain ``__``, so they cannot clash).
``out`` never aliases ``x``. A classifier may also define ``P__predict_proba`` only when
scikit-learn's estimator has ``predict_proba``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

TASKS = ("classifier", "regressor", "outlier_detector", "transformer")


@dataclass(frozen=True, eq=False)
class Signature:
    """What a converted step computes, as the generic layers see it.

    Attributes
    ----------
    estimator : str
        Class name of the source estimator (``"SVC"``).
    task : {"classifier", "regressor", "outlier_detector", "transformer"}
    n_features : int
        Inputs per sample (float32).
    n_outputs : int
        Classes (classifier), targets (regressor), output features (transformer), 1
        (outlier detector).
    classes : ndarray or None
        Class labels of a classifier; the C returns indices into it.
    n_decision : int
        Width of ``decision_function`` (0: the estimator has none). A width of 1 is
        returned as a 1-D array in Python, like scikit-learn.
    has_proba : bool
        The estimator has ``predict_proba``.
    has_score_samples : bool
        The estimator has ``score_samples``.
    exact_predict : bool
        ``predict`` provably equals scikit-learn's for every float32 input (transformers:
        ``transform`` is bit-identical to scikit-learn's, so a pipeline's ``predict`` is
        exact when all its steps are).
    exactness : str
        One line on how the outputs compare with scikit-learn's (tolerance, near-ties).
    feature_names : tuple of str or None
        ``feature_names_in_`` of the source estimator (checked against DataFrames).
    output_2d : bool
        A single-output regressor fitted on y of shape (n, 1): ``predict`` returns
        (n_samples, 1), like scikit-learn.
    input_shape : tuple of int or None
        Shape of one sample when it is not a vector (a Keras model's ``(28, 28, 1)``):
        the Python methods also accept X of shape ``(n_samples, *input_shape)``, flattened
        in C order (``n_features`` is its product).
    input_quantization : tuple of (float, int) or None
        ``(scale, zero_point)`` when the step's C also has an *integer entry* (an int8
        net): public ``P_predict_i8`` / ``P_predict_proba_i8`` (classifier) or
        ``P_regress_i8`` taking int8 values already quantized as
        ``q = round(x / scale) + zero_point``, and the same with ``_i16`` taking int16
        feature values. None: float input only.
    """

    estimator: str
    task: str
    n_features: int
    n_outputs: int
    classes: np.ndarray | None = None
    n_decision: int = 0
    has_proba: bool = False
    has_score_samples: bool = False
    exact_predict: bool = True
    exactness: str = ""
    feature_names: tuple[str, ...] | None = None
    output_2d: bool = False
    input_shape: tuple[int, ...] | None = None
    input_quantization: tuple[float, int] | None = None

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"task={self.task!r} is not one of {TASKS}")

    @property
    def kernels(self) -> tuple[str, ...]:
        """Names (without ``P__``) of the C kernels a step with this signature defines."""
        if self.task == "classifier":
            k = ["predict"]
            if self.has_proba:
                k.append("predict_proba")
            if self.n_decision:
                k.append("decision_function")
            if self.has_score_samples:
                k.append("score_samples")
            return tuple(k)
        if self.task == "regressor":
            return ("regress",)
        if self.task == "outlier_detector":
            k = ["predict", "decision_function"]
            if self.has_score_samples:
                k.append("score_samples")
            return tuple(k)
        return ("transform",)


@dataclass(frozen=True)
class CCode:
    """A family's C for one step: runtime headers it needs and the body (tables + kernels).

    ``runtime`` names headers in ``microlearn/runtime/`` (``"ml_linear.h"``); the header
    writer embeds each once. ``body`` defines the kernels of the step's signature with
    prefix ``P`` and nothing outside the ``P__`` namespace (``P_N_*`` macros are written by
    the generic layer).
    """

    runtime: tuple[str, ...]
    body: str
    libm: bool = False  # the body calls <math.h> functions (expf, logf, sqrtf ...)


@dataclass(frozen=True)
class Estimate:
    """A family's cost estimate of one step on one target, from the IR alone."""

    flash_bytes: int
    ram_bytes: int
    stack_bytes: int
    instructions: np.ndarray | None  # per row of X, or None when no rows were given


@dataclass(frozen=True)
class Family:
    """One model family: the record the registry holds.

    Attributes
    ----------
    name : str
        Package name under ``microlearn/families/`` (``"trees"``).
    section_id : int
        Family id of its sections in the model file (u16, unique).
    estimators : tuple of str
        Registry keys it converts: ``"<top-level package>.<ClassName>"``
        (``"sklearn.RandomForestClassifier"``).
    options : dict
        Option name -> default, the ``convert(..., **options)`` it accepts.
    convert : callable (estimator, options: dict) -> IR
        From a fitted estimator (already checked fitted). Validates ``options`` (errors
        name the option and the allowed values). Raises ``ConversionError`` for settings
        it cannot convert exactly.
    signature : callable (IR) -> Signature
    c_code : callable (IR, prefix: str, options: dict) -> CCode
    section : callable (IR, options: dict) -> bytes
        Payload of its model-file section (offsets relative to the section start; the
        section starts 8-byte aligned).
    estimate : callable (IR, target: str, X or None, options: dict) -> Estimate
    describe : callable (IR, options: dict) -> str
        One line: what the model is (for headers and reprs).
    data_bytes : callable (IR, options: dict) -> int
        Bytes of constant tables in its C.
    synthetic_rows : callable (IR, n: int) -> ndarray, optional
        Rows exercising the model when the user gives none (footprint).
    exporters : dict of str to callable (IR, options: dict, path or None) -> bytes, optional
        Other file formats the family can write, by name (nets: ``"tflite"``, used by
        ``Model.save_tflite``).
    regress_tolerance : callable (IR, X float32) -> ndarray or None, optional
        Regressors: per row (and target), the family's stated bound on |C ``regress`` -
        the source model's ``predict``| on the rows X (what its parity tests check);
        ``microlearn verify`` fails a host build that exceeds it. None (or a None
        result): the family states no numeric bound for this model.
    """

    name: str
    section_id: int
    estimators: tuple[str, ...]
    options: dict[str, Any]
    convert: Callable[[Any, dict], Any]
    signature: Callable[[Any], Signature]
    c_code: Callable[[Any, str, dict], CCode]
    section: Callable[[Any, dict], bytes]
    estimate: Callable[[Any, str, np.ndarray | None, dict], Estimate]
    describe: Callable[[Any, dict], str]
    data_bytes: Callable[[Any, dict], int]
    synthetic_rows: Callable[[Any, int], np.ndarray] | None = None
    exporters: dict[str, Callable[[Any, dict, Any], bytes]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    regress_tolerance: Callable[[Any, np.ndarray], np.ndarray | None] | None = None


def module_backends(c: Any, section: Any, cost: Any) -> dict[str, Callable[..., Any]]:
    """The backend callables of a family whose backends take no options.

    For families laid out as in ``families/README.md`` whose ``c.py`` has
    ``c_code(ir, prefix)``, ``describe_line(ir)`` and ``data_bytes(ir)``, ``section.py``
    has ``section(ir)`` and ``cost.py`` has ``estimate(ir, target, X)``: returns the
    ``c_code``, ``section``, ``estimate``, ``describe`` and ``data_bytes`` entries of
    :class:`Family` (with the contract's ``options`` argument, unused). A family that needs
    its options in a backend, or another describe line, overrides that entry::

        FAMILY = Family(name=..., ..., **{**module_backends(c, section, cost),
                                          "describe": _describe})
    """
    return {
        "c_code": lambda ir, prefix, options: c.c_code(ir, prefix),
        "section": lambda ir, options: section.section(ir),
        "estimate": lambda ir, target, X, options: cost.estimate(ir, target, X),
        "describe": lambda ir, options: c.describe_line(ir),
        "data_bytes": lambda ir, options: c.data_bytes(ir),
    }
