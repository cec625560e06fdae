"""Exceptions raised by microlearn."""

from __future__ import annotations


class MicrolearnError(Exception):
    """Base class of microlearn's own errors."""


class UnsupportedEstimatorError(MicrolearnError, TypeError):
    """The estimator (or one of its settings) cannot be converted."""


class ConversionError(MicrolearnError, ValueError):
    """A supported estimator could not be converted (e.g. a format limit is exceeded)."""


class CompilerNotFoundError(MicrolearnError, RuntimeError):
    """No C compiler is available for the host build."""


class CompileError(MicrolearnError, RuntimeError):
    """The C compiler rejected generated code (a bug in microlearn: please report it)."""
