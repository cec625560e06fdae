"""Exports of a converted model into a platform's packaging.

* :func:`arduino`: an Arduino library (``library.properties``, ``src/``, an example sketch
  that reads feature rows over Serial and prints predictions).
"""

from __future__ import annotations

from .arduino import arduino

__all__ = ["arduino"]
