"""Talk to a MicroPython board over its serial REPL with mpremote (used as a library): install
a model file (and the ``microlearn_mp`` module), stream rows to it, read predictions back.

Every exchange is one raw-REPL ``exec``. Rows go to the board as base64 of float32 (exact;
hex on ports without ``binascii``) with a CRC-32; the board answers each chunk with one line
``MLR <rows> <microseconds> <crc32> <base64 outputs>`` (int32 classes for ``predict``,
float32 otherwise), which is checked strictly (format, count, CRC): a corrupted line names
the rows it carried.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import io
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from microlearn.device.errors import (
    CorruptLineError,
    DeviceError,
    DeviceTimeoutError,
    NoDeviceError,
    NoModuleError,
)
from microlearn.device.progress import Progress

__all__ = ["MicroPythonBoard", "DeviceResult", "open_serial_error"]

#: Device-side helpers, defined once per session in the board's raw REPL.
_DEVICE_CODE = r"""
import array
try:
    import binascii
except ImportError:
    binascii = None
try:
    import time
except ImportError:
    time = None
def _mlcrc(d, c=0):
    if binascii is not None and hasattr(binascii, 'crc32'):
        return binascii.crc32(d, c) & 0xFFFFFFFF
    c ^= 0xFFFFFFFF
    for b in d:
        c ^= b
        for _ in range(8):
            c = (c >> 1) ^ (0xEDB88320 & -(c & 1))
    return c ^ 0xFFFFFFFF
def _mldec(s):
    return binascii.a2b_base64(s) if binascii is not None else bytes.fromhex(s)
def _mlenc(d):
    return binascii.b2a_base64(d).decode().strip() if binascii is not None else d.hex()
def _mlfilecrc(p):
    try:
        f = open(p, 'rb')
    except OSError:
        return -1
    c = 0
    while True:
        d = f.read(512)
        if not d:
            break
        c = _mlcrc(d, c)
    f.close()
    return c
_mlus = time.ticks_us if time is not None and hasattr(time, 'ticks_us') else None
print('MLH', 'b64' if binascii is not None else 'hex')
def _mlload(p):
    global _mlm
    import microlearn_mp
    _mlm = microlearn_mp.load(p)
    t = _mlm.task() if hasattr(_mlm, 'task') else (0 if _mlm.is_classifier() else 1)
    print('MLM', _mlm.n_features(), _mlm.n_outputs(), t)
def _mlrun(b, crc, k, meth, w):
    d = _mldec(b)
    if _mlcrc(d) != crc:
        print('MLE crc')
        return
    x = array.array('f', d)
    nf = len(x) // k
    p = meth == 'predict'
    r = array.array('i' if p else 'f', bytes(4 * k * w))
    o = array.array('f', bytes(4 * w))
    f = getattr(_mlm, meth)
    t = 0
    for i in range(k):
        row = x[i * nf:(i + 1) * nf]
        t0 = _mlus() if _mlus else 0
        if p:
            r[i] = f(row)
        else:
            f(row, o)
        if _mlus:
            t += time.ticks_diff(_mlus(), t0)
        if not p:
            for j in range(w):
                r[i * w + j] = o[j]
    if not _mlus:
        t = -1
    d = bytes(r)
    print('MLR', k, t, _mlcrc(d), _mlenc(d))
"""

_MLR = re.compile(r"^MLR (\d+) (-?\d+) (\d+) ([A-Za-z0-9+/=]*)$")


def open_serial_error(port: str, err: BaseException) -> NoDeviceError:
    """The error for a port that cannot be opened, listing the ports that exist."""
    try:
        from serial.tools import list_ports

        found = sorted(p.device for p in list_ports.comports())
    except Exception:  # pragma: no cover - listing is best effort
        found = []
    hint = f"; serial ports found: {', '.join(found)}" if found else "; no serial ports found"
    return NoDeviceError(f"no such device: cannot open port {port!r} ({err}){hint}")


@dataclass
class DeviceResult:
    """Outputs of a device run.

    Attributes
    ----------
    outputs : numpy.ndarray
        ``predict``: int32 (n_rows,); other methods: float32 (n_rows, width).
    device_us : int or None
        Microseconds the board spent in the model calls (``time.ticks_us``), all rows; None
        if the port has no ``time.ticks_us``.
    """

    outputs: np.ndarray
    device_us: int | None


class MicroPythonBoard:
    """A MicroPython board on a serial port, in raw-REPL mode (a context manager).

    Parameters
    ----------
    port : str
        Serial device (``/dev/ttyACM0``, ``COM3``, a pty) or a pyserial URL
        (``socket://host:port``).
    baudrate : int
        Ignored by USB-CDC boards and ptys.
    timeout : float
        Seconds without an answer after which the board counts as stalled.

    Raises
    ------
    NoDeviceError
        The port cannot be opened.
    DeviceTimeoutError
        No raw REPL answered within ``timeout``.
    """

    def __init__(self, port: str, *, baudrate: int = 115200, timeout: float = 10.0) -> None:
        try:
            from mpremote.transport import TransportError
            from mpremote.transport_serial import SerialTransport
        except ImportError:  # pragma: no cover - mpremote is in the micropython extra
            raise DeviceError("talking to MicroPython boards needs mpremote: "
                              "pip install 'microlearn[micropython]'") from None
        if timeout <= 0:
            raise ValueError(f"timeout must be > 0 seconds, not {timeout}")
        self.port = port
        self.timeout = float(timeout)
        self._TransportError = TransportError
        try:
            self._t = SerialTransport(port, baudrate=baudrate, timeout=self.timeout)
        except (TransportError, OSError) as e:
            raise open_serial_error(port, e) from None
        try:
            self._call(self._t.enter_raw_repl, soft_reset=False,
                       timeout_overall=self.timeout, what="entering the raw REPL")
            hello = self._exec(_DEVICE_CODE, "defining the helpers")
            m = re.search(r"^MLH (b64|hex)\s*$", hello, re.M)
            if m is None:
                raise CorruptLineError(f"corrupted line from the device (helper start-up): "
                                       f"{hello.strip()[:100]!r}")
            # base64 where the port has binascii, else hex (bytes.fromhex / bytes.hex)
            self.codec = m.group(1)
        except BaseException:
            self.close()
            raise

    # -- plumbing -------------------------------------------------------------------------
    def _call(self, fn: Any, *args: Any, what: str, **kwargs: Any) -> Any:
        sink = io.StringIO()  # mpremote prints what it read on some failures
        try:
            with contextlib.redirect_stdout(sink):
                return fn(*args, **kwargs)
        except (self._TransportError, struct.error) as e:
            raise DeviceTimeoutError(
                f"device on {self.port} stalled: no (complete) answer within "
                f"{self.timeout:g} s while {what} ({e}); is a MicroPython REPL running there? "
                "(use --timeout for slow boards)") from None
        except OSError as e:
            raise DeviceError(f"serial I/O error on {self.port} while {what}: {e}") from None

    def _exec(self, code: str, what: str) -> str:
        out, err = self._call(self._t.exec_raw, code, timeout=self.timeout, what=what)
        if err:
            text = err.decode("utf-8", "replace").strip()
            if "microlearn_mp" in text and ("ImportError" in text or "no module" in text):
                raise NoModuleError(
                    f"board on {self.port} has no microlearn_mp module: run `microlearn "
                    "micropython build --arch ARCH` for the board's architecture and pass the "
                    "built file with --module dist/microlearn_mp.mpy (or copy it with "
                    "`mpremote cp`)")
            raise DeviceError(f"the board raised an error while {what}: "
                              f"{text.splitlines()[-1] if text else '?'}")
        return out.decode("utf-8", "replace")

    def _encode(self, data: bytes) -> str:
        if self.codec == "hex":
            return data.hex()
        return base64.b64encode(data).decode()

    def _decode(self, text: str) -> bytes:
        if self.codec == "hex":
            return bytes.fromhex(text)
        return base64.b64decode(text, validate=True)

    def close(self) -> None:
        """Leave the raw REPL and close the port."""
        t = getattr(self, "_t", None)
        if t is None:
            return
        with contextlib.suppress(Exception):
            t.exit_raw_repl()
        with contextlib.suppress(Exception):
            t.close()
        self._t = None

    def __enter__(self) -> MicroPythonBoard:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- files ----------------------------------------------------------------------------
    def file_crc(self, path: str) -> int:
        """CRC-32 of a file on the board, -1 if it does not exist."""
        out = self._exec(f"print('MLC', _mlfilecrc({path!r}))", f"reading {path}")
        m = re.search(r"^MLC (-?\d+)\s*$", out, re.M)
        if m is None:
            raise CorruptLineError(f"corrupted line from the device (file check of {path}): "
                                   f"{out.strip()!r}")
        return int(m.group(1))

    def put_file(self, path: str, data: bytes, *, progress: bool = True,
                 chunk: int = 1536) -> bool:
        """Write ``data`` to ``path`` on the board unless it already holds it.

        Returns
        -------
        bool
            True if the file was written, False if the board already had it (same CRC-32).

        Raises
        ------
        CorruptLineError
            The written file's CRC-32 differs (a corrupted transfer).
        """
        crc = binascii.crc32(data) & 0xFFFFFFFF
        if self.file_crc(path) == crc:
            return False
        bar = Progress(f"writing {path} (bytes)", len(data), enabled=progress)
        self._exec(f"_mlf = open({path!r}, 'wb')", f"opening {path} for writing")
        for i in range(0, len(data), chunk):
            enc = self._encode(data[i:i + chunk])
            self._exec(f"_mlf.write(_mldec({enc!r}))", f"writing {path}")
            bar.update(min(len(data), i + chunk))
        self._exec("_mlf.close()", f"closing {path}")
        bar.finish()
        got = self.file_crc(path)
        if got != crc:
            raise CorruptLineError(f"corrupted transfer: {path} on the board has CRC-32 "
                                   f"{got:#010x}, expected {crc:#010x}")
        return True

    # -- model ----------------------------------------------------------------------------
    def load_model(self, path: str) -> tuple[int, int, int]:
        """Load a model file on the board; (n_features, n_outputs, task code)."""
        out = self._exec(f"_mlload({path!r})", f"loading the model {path}")
        m = re.search(r"^MLM (\d+) (\d+) (-?\d+)\s*$", out, re.M)
        if m is None:
            raise CorruptLineError(f"corrupted line from the device (model info): "
                                   f"{out.strip()!r}")
        return int(m.group(1)), int(m.group(2)), int(m.group(3))

    def run(self, method: str, X: np.ndarray, width: int, *, chunk_bytes: int = 2048,
            progress: bool = True) -> DeviceResult:
        """Run the loaded model's ``method`` on every row of ``X`` on the board.

        Parameters
        ----------
        method : str
            ``predict`` (classes) or a method writing ``width`` floats per row.
        X : array of shape (n_rows, n_features)
            Rows (raw recordings for models with a DSP front end), sent as float32.
        width : int
            Values per row the method returns.
        chunk_bytes : int
            Bytes of rows per exchange (bounded by the board's RAM).
        progress : bool
            Print progress on stderr.

        Raises
        ------
        CorruptLineError
            A reply failed its format/count/CRC check (the message names the rows), or the
            board saw a CRC error in the rows sent to it.
        DeviceTimeoutError
            The board stopped answering.
        """
        X = np.ascontiguousarray(X, dtype=np.float32)
        n, nf = X.shape
        per = max(1, chunk_bytes // max(1, 4 * nf))
        is_cls = method == "predict"
        outs = np.zeros(n, np.int32) if is_cls else np.zeros((n, width), np.float32)
        total_us: int | None = 0
        bar = Progress("rows", n, enabled=progress)
        for start in range(0, n, per):
            rows = X[start:start + per]
            k = len(rows)
            raw = rows.tobytes()
            crc = binascii.crc32(raw) & 0xFFFFFFFF
            what = f"running rows {start}..{start + k - 1}"
            out = self._exec(f"_mlrun({self._encode(raw)!r}, {crc}, {k}, {method!r}, {width})",
                             what)
            line = out.strip()
            if line == "MLE crc":
                raise CorruptLineError(f"corrupted transfer to the device: rows {start}.."
                                       f"{start + k - 1} arrived with a bad CRC-32")
            m = _MLR.match(line)
            if m is None:
                raise CorruptLineError(f"corrupted line from the device for rows {start}.."
                                       f"{start + k - 1}: {line[:120]!r}")
            try:
                data = self._decode(m.group(4))
            except ValueError:  # binascii.Error is a ValueError
                data = b""
            if (int(m.group(1)) != k or len(data) != 4 * k * width
                    or binascii.crc32(data) & 0xFFFFFFFF != int(m.group(3))):
                raise CorruptLineError(f"corrupted line from the device for rows {start}.."
                                       f"{start + k - 1}: checksum or length mismatch "
                                       f"({line[:80]!r}...)")
            vals = np.frombuffer(data, dtype="<i4" if is_cls else "<f4")
            if is_cls:
                outs[start:start + k] = vals
            else:
                outs[start:start + k] = vals.reshape(k, width)
            us = int(m.group(2))
            total_us = None if us < 0 or total_us is None else total_us + us
            bar.update(start + k)
        bar.finish()
        return DeviceResult(outs, total_us)


def module_target_name(path: Path) -> str:
    """Name of the module file on the board (``microlearn_mp.mpy`` / ``microlearn_mp.py``)."""
    suffix = path.suffix.lower()
    if suffix not in (".mpy", ".py"):
        raise ValueError(f"--module must be a .mpy or .py file, not {path}")
    return "microlearn_mp" + suffix
