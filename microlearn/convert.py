"""The one entry point: :func:`convert`."""

from __future__ import annotations

from typing import Any

from . import codegen_c, trees
from .errors import UnsupportedEstimatorError
from .model import Model

#: model family module -> the scikit-learn class names it converts
FAMILIES = {
    "trees": trees,
}


def supported_estimators() -> list[str]:
    """Names of the scikit-learn estimators :func:`convert` accepts."""
    return [name for module in FAMILIES.values() for name in module.SUPPORTED]


def _family(estimator: Any):
    for cls in type(estimator).__mro__:
        if not cls.__module__.startswith("sklearn."):
            continue
        for module in FAMILIES.values():
            if cls.__name__ in module.SUPPORTED:
                return module
    raise UnsupportedEstimatorError(
        f"{type(estimator).__name__} is not supported. Supported estimators: "
        f"{', '.join(supported_estimators())}"
    )


def convert(estimator: Any, method: str = "loadable") -> Model:
    """Convert a fitted estimator to C code for microcontrollers.

    Parameters
    ----------
    estimator : fitted scikit-learn estimator
        See :func:`supported_estimators`.
    method : {"loadable", "inline"}, default="loadable"
        ``"loadable"``: compact tables plus a generic engine (smallest).
        ``"inline"``: specialised code per tree (fastest).

    Returns
    -------
    Model
        With ``predict`` / ``predict_proba`` computed by the generated C on this
        host, ``save(path, name)`` to write the C header, and ``describe()``.

    Raises
    ------
    UnsupportedEstimatorError
        The estimator type is not supported (the message lists what is).
    sklearn.exceptions.NotFittedError
        The estimator is not fitted.
    ConversionError
        A supported estimator uses a setting that cannot be converted exactly.
    """
    from sklearn.utils.validation import check_is_fitted

    codegen_c.check_method(method)
    family = _family(estimator)
    check_is_fitted(estimator)
    return Model(family.from_sklearn(estimator), method=method)
