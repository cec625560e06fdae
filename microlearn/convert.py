"""The one entry point: :func:`convert`. Looks families up in the registry; knows none."""

from __future__ import annotations

from typing import Any

from . import families
from .errors import UnsupportedEstimatorError
from .model import Model, Step


def supported_estimators() -> list[str]:
    """Names of the estimators :func:`convert` accepts (from the family registry), plus
    ``Pipeline`` of them."""
    return families.supported_estimators()


def _unsupported(estimator: Any, where: str = "") -> UnsupportedEstimatorError:
    return UnsupportedEstimatorError(
        f"{where}{type(estimator).__name__} is not supported. Supported estimators: "
        f"{', '.join(supported_estimators())} (and a scikit-learn Pipeline of them)"
    )


def _pipeline_steps(estimator: Any) -> list[tuple[str, Any]] | None:
    """``[(name, step), ...]`` of a scikit-learn Pipeline (passthrough steps dropped),
    else None."""
    try:
        from sklearn.pipeline import Pipeline
    except ImportError:  # pragma: no cover - sklearn is a dependency
        return None
    if not isinstance(estimator, Pipeline):
        return None
    return [(n, s) for n, s in estimator.steps if s is not None and s != "passthrough"]


def _is_sklearn(estimator: Any) -> bool:
    from sklearn.base import BaseEstimator

    return isinstance(estimator, BaseEstimator)


def convert(estimator: Any, **options: Any) -> Model:
    """Convert a fitted estimator (or a Pipeline of them) to C code for microcontrollers.

    Parameters
    ----------
    estimator : fitted estimator or sklearn.pipeline.Pipeline
        See :func:`supported_estimators`. A Pipeline's steps before the last must be
        transformers; the whole pipeline becomes one model (one C function per method,
        one model file).
    **options
        Options of the families involved, validated by them. Trees: ``method``
        (``"loadable"``, default: compact tables + engine, smallest; ``"inline"``:
        specialised code per tree, fastest) and ``compact`` (model files: compact node
        tables, default True). Other families document theirs (``docs/families/``).

    Returns
    -------
    Model
        With the estimator's methods (``predict``, ``predict_proba``,
        ``decision_function``, ``score_samples``, ``transform``) computed by the
        generated C on this host, ``save(path, name)`` (C header), ``save_blob(path)``
        (model file), ``footprint(target)`` and ``describe()``.

    Raises
    ------
    UnsupportedEstimatorError
        The estimator (or a pipeline step) is not supported; the message lists what is.
    sklearn.exceptions.NotFittedError
        The estimator is not fitted.
    ConversionError
        A supported estimator uses a setting that cannot be converted exactly.
    TypeError
        An option no family involved accepts.
    ValueError
        An option value a family rejects.
    """
    from sklearn.utils.validation import check_is_fitted

    parts = _pipeline_steps(estimator)
    named = parts if parts is not None else [("", estimator)]
    if not named:
        raise ValueError("the Pipeline has no steps to convert (all are 'passthrough')")
    found = []
    for i, (step_name, est) in enumerate(named):
        if isinstance(est, type):
            where = f"Pipeline step {i} ({step_name!r}): " if parts is not None else ""
            raise UnsupportedEstimatorError(
                f"{where}got the class {est.__name__}, not a fitted estimator: pass an "
                f"instance fitted on your data, e.g. {est.__name__}().fit(X, y)")
        fam = families.lookup(est)
        if fam is None:
            where = f"Pipeline step {i} ({step_name!r}): " if parts is not None else ""
            raise _unsupported(est, where)
        found.append((step_name, est, fam))
    accepted = {k for _, _, fam in found for k in fam.options}
    unknown = sorted(set(options) - accepted)
    if unknown:
        names = sorted({fam.name for _, _, fam in found})
        raise TypeError(
            f"convert() got unknown option(s) {', '.join(unknown)} for the "
            f"{'/'.join(names)} famil{'ies' if len(names) > 1 else 'y'}; accepted: "
            f"{', '.join(sorted(accepted)) or 'none'}"
        )
    steps = []
    for i, (step_name, est, fam) in enumerate(found):
        if _is_sklearn(est):  # other libraries' models (Keras) are checked by their family
            check_is_fitted(est)
        opts = {k: options.get(k, v) for k, v in fam.options.items()}
        ir = fam.convert(est, opts)
        sig = fam.signature(ir)
        if i + 1 < len(found) and sig.task != "transformer":
            raise UnsupportedEstimatorError(
                f"Pipeline step {i} ({step_name!r}) is a {sig.task} ({sig.estimator}); only "
                "the last step of a pipeline may be something other than a transformer"
            )
        if steps and steps[-1].signature.n_outputs != sig.n_features:
            raise UnsupportedEstimatorError(
                f"Pipeline step {i} ({step_name!r}) takes {sig.n_features} features but "
                f"step {i - 1} gives {steps[-1].signature.n_outputs}"
            )
        steps.append(Step(fam, ir, opts, sig))
    return Model(steps)
