"""Test tooling (not shipped): a program on the far side of a serial line, without hardware.

:class:`PtyDevice` starts a program (the unix MicroPython REPL, or C firmware built for the
host) on the slave side of one pseudo-terminal and bridges its master to a second pty, whose
slave path is the "serial port" handed to ``microlearn device``. The bridge can corrupt or
withhold the bytes the device sends, to test the host's error handling:

- ``corrupt``: a function applied to each chunk of device output (e.g. flip one byte);
- ``stall_after``: a bytes marker; once the device has sent it, nothing more is forwarded
  (a device that hangs mid-run).
"""

from __future__ import annotations

import os
import select
import subprocess
import threading
import tty
from collections.abc import Callable, Sequence
from pathlib import Path


class PtyDevice:
    """Run ``cmd`` behind a pty pair; ``port`` is the serial device to open."""

    def __init__(self, cmd: Sequence[str], cwd: Path | str, *,
                 corrupt: Callable[[bytes], bytes] | None = None,
                 stall_after: bytes | None = None, mute: bool = False) -> None:
        self._dev_master, dev_slave = os.openpty()
        self._host_master, host_slave = os.openpty()
        tty.setraw(dev_slave)
        tty.setraw(host_slave)
        self._host_slave = host_slave  # kept open so the port never hangs up
        self.port = os.ttyname(host_slave)
        self.corrupt = corrupt
        self.stall_after = stall_after
        self.mute = mute
        self.stalled = False
        self._seen = b""
        self.proc = subprocess.Popen(list(cmd), cwd=cwd, stdin=dev_slave, stdout=dev_slave,
                                     stderr=dev_slave, close_fds=True, start_new_session=True)
        os.close(dev_slave)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _from_device(self, data: bytes) -> bytes:
        if self.mute or self.stalled:
            return b""
        if self.stall_after is not None:
            self._seen = (self._seen + data)[-4096:]
            i = self._seen.find(self.stall_after)
            if i >= 0:
                self.stalled = True
                keep = len(data) - (len(self._seen) - i - len(self.stall_after))
                data = data[:max(0, keep)]
        if self.corrupt is not None:
            data = self.corrupt(data)
        return data

    def _pump(self) -> None:
        fds = [self._dev_master, self._host_master]
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select(fds, [], [], 0.05)
            except (OSError, ValueError):
                return
            for fd in ready:
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    data = b""
                if not data:
                    if fd == self._dev_master:
                        return  # the device program exited
                    continue
                if fd == self._dev_master:
                    out = self._from_device(data)
                    if out:
                        os.write(self._host_master, out)
                else:
                    os.write(self._dev_master, data)

    def close(self) -> None:
        """Stop the program and the bridge."""
        self._stop.set()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        self._thread.join(timeout=5)
        for fd in (self._dev_master, self._host_master, self._host_slave):
            try:
                os.close(fd)
            except OSError:
                pass

    def __enter__(self) -> PtyDevice:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
