"""Plain-text progress on stderr for long transfers (no dependency, no terminal codes
unless stderr is a terminal)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """Report ``done`` of ``total`` units as ``what: 40% (1234/3000 rows)``.

    On a terminal one line is redrawn (``\\r``); otherwise a line is printed at most every
    ``interval`` seconds and at the end, so logs stay short.

    Parameters
    ----------
    what : str
        What is transferred, e.g. ``"rows"`` or ``"model file (bytes)"``.
    total : int
        Units in all.
    enabled : bool
        False prints nothing.
    stream : file, optional
        Where to print (default ``sys.stderr``).
    interval : float
        Seconds between printed updates.
    """

    def __init__(self, what: str, total: int, *, enabled: bool = True,
                 stream: TextIO | None = None, interval: float = 1.0) -> None:
        self.what = what
        self.total = max(0, int(total))
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self.interval = interval
        self._last = 0.0
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def _line(self, done: int) -> str:
        pct = 100.0 * done / self.total if self.total else 100.0
        return f"{self.what}: {pct:5.1f}% ({done}/{self.total})"

    def update(self, done: int) -> None:
        """Report progress; prints only if enough time passed (or on a terminal)."""
        if not self.enabled:
            return
        now = time.monotonic()
        if self._tty:
            self.stream.write("\r" + self._line(done))
            self.stream.flush()
        elif now - self._last >= self.interval and done < self.total:
            self.stream.write(self._line(done) + "\n")
            self.stream.flush()
            self._last = now

    def finish(self) -> None:
        """Print the final 100% line."""
        if not self.enabled:
            return
        end = "\n"
        self.stream.write(("\r" if self._tty else "") + self._line(self.total) + end)
        self.stream.flush()
