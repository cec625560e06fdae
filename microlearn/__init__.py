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


def includedir() -> str:
    """The folder of the C runtime headers (``ml_common.h``, ``ml_trees.h``, ...).

    A generated header embeds the runtime code it needs, so it needs no include path;
    this folder is for C code that uses the runtime directly (the model-file loader
    ``ml_model.h``, the DSP headers), e.g. ``cc -I"$(python -c 'import microlearn;
    print(microlearn.includedir())')" app.c`` or CMake's ``include_directories``.

    Returns
    -------
    str
        Absolute path of ``microlearn/runtime`` in the installed package.
    """
    from .codegen import RUNTIME_DIR

    return str(RUNTIME_DIR)

__all__ = [
    "CompileError",
    "CompilerNotFoundError",
    "ConversionError",
    "MicrolearnError",
    "Model",
    "UnsupportedEstimatorError",
    "convert",
    "includedir",
    "supported_estimators",
    "__version__",
]
