"""microlearn: scikit-learn models as portable C99 for microcontrollers, verified on the host."""

__version__ = "0.1.0"

from .convert import convert, supported_estimators  # noqa: E402
from .errors import (  # noqa: E402
    CompileError,
    CompilerNotFoundError,
    ConversionError,
    MicrolearnError,
    UnsupportedEstimatorError,
)
from .model import Model  # noqa: E402

__all__ = [
    "CompileError",
    "CompilerNotFoundError",
    "ConversionError",
    "MicrolearnError",
    "Model",
    "UnsupportedEstimatorError",
    "convert",
    "supported_estimators",
    "__version__",
]
