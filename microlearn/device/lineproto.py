"""Host side of the microlearn line protocol (version 1; C helper: ``ml_lineproto.h``;
specification: docs/device.md).

Requests ``P <seq> <x...>`` carry float32 values as ``x`` + 8 hex digits (their IEEE-754
bits, exact) and a CRC-16 suffix; replies are checked strictly (checksum, sequence number,
value count): a corrupted line names the row it answered.
"""

from __future__ import annotations

import re
import struct
import time

import numpy as np

from microlearn.device.errors import CorruptLineError, DeviceError, DeviceTimeoutError
from microlearn.device.progress import Progress

__all__ = ["PROTOCOL_VERSION", "LineProtoDevice", "crc16", "decode_value", "encode_line",
           "encode_value"]

PROTOCOL_VERSION = 1
_HELLO = re.compile(r"^MLLP (\d+) (\d+) (\d+) ([if])$")
_ERROR_CODES = {1: "bad checksum", 2: "bad value", 3: "wrong count", 4: "line too long",
                5: "unknown request", 6: "model error"}


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF), as ``ml_lp_crc16``."""
    crc = 0xFFFF
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def encode_value(v: float) -> str:
    """``x`` + the 8 hex digits of ``v`` as IEEE-754 binary32 (exact)."""
    return "x{:08X}".format(struct.unpack("<I", struct.pack("<f", v))[0])


def decode_value(token: str) -> float:
    """A protocol value: ``x`` + 8 hex digits (binary32 bits) or a decimal number."""
    if len(token) == 9 and token[0] in "xX":
        return struct.unpack("<f", struct.pack("<I", int(token[1:], 16)))[0]
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", token):
        raise ValueError(f"not a protocol value: {token!r}")
    return float(token)


def encode_line(body: str) -> bytes:
    """``body`` + `` *HHHH`` (CRC-16 of body) + ``\\n``."""
    raw = body.encode("ascii")
    return raw + b" *%04X\n" % crc16(raw)


def check_line(line: bytes) -> str:
    """The body of a received line after checking its `` *HHHH`` suffix.

    Raises
    ------
    ValueError
        Missing or wrong checksum, or not ASCII.
    """
    text = line.rstrip(b"\r\n")
    if len(text) < 6 or text[-6:-4] != b" *":
        raise ValueError("no checksum")
    body = text[:-6]
    try:
        want = int(text[-4:], 16)
    except ValueError:
        raise ValueError("bad checksum field") from None
    if crc16(body) != want:
        raise ValueError("checksum mismatch")
    return body.decode("ascii")


class LineProtoDevice:
    """C firmware speaking the line protocol on a serial port (a context manager).

    Parameters
    ----------
    port : str
        Serial device or pyserial URL (``socket://host:port`` for QEMU's TCP serial).
    baudrate : int
        Serial speed (ignored by ptys and USB CDC).
    timeout : float
        Seconds to wait for each reply before the device counts as stalled.

    Attributes
    ----------
    n_in, n_out : int
        From the hello line.
    kind : {"i", "f"}
        Integer (class) or float outputs.
    device_us : int or None
        Sum of the microseconds the device reported for the rows run (None if it has no
        clock and reports ``-``).

    Raises
    ------
    NoDeviceError
        The port cannot be opened.
    DeviceTimeoutError
        No hello line within ``timeout``.
    """

    def __init__(self, port: str, *, baudrate: int = 115200, timeout: float = 10.0) -> None:
        try:
            import serial
        except ImportError:  # pragma: no cover - pyserial comes with mpremote
            raise DeviceError("serial ports need pyserial: "
                              "pip install 'microlearn[micropython]'") from None

        from microlearn.device.micropython import open_serial_error

        if timeout <= 0:
            raise ValueError(f"timeout must be > 0 seconds, not {timeout}")
        self.port = port
        self.timeout = float(timeout)
        try:
            self._s = serial.serial_for_url(port, baudrate=baudrate, timeout=0.05)
        except (serial.SerialException, OSError, ValueError) as e:
            raise open_serial_error(port, e) from None
        self._buf = b""
        self.device_us: int | None = None
        try:
            self._s.write(encode_line("?"))
            deadline = time.monotonic() + self.timeout
            while True:
                line = self._readline(deadline, "waiting for the hello line (MLLP ...)")
                try:
                    body = check_line(line)
                except ValueError:
                    continue  # boot noise, or a half line from before we connected
                m = _HELLO.match(body)
                if m:
                    break
        except BaseException:
            self.close()
            raise
        if int(m.group(1)) != PROTOCOL_VERSION:
            self.close()
            raise DeviceError(f"the firmware on {port} speaks line protocol version "
                              f"{m.group(1)}; this microlearn speaks {PROTOCOL_VERSION}")
        self.n_in, self.n_out, self.kind = int(m.group(2)), int(m.group(3)), m.group(4)

    def _readline(self, deadline: float, what: str) -> bytes:
        while b"\n" not in self._buf:
            if time.monotonic() > deadline:
                raise DeviceTimeoutError(
                    f"device on {self.port} stalled: no complete line within "
                    f"{self.timeout:g} s while {what} (use --timeout for slow devices)")
            try:
                chunk = self._s.read(max(1, self._s.in_waiting))
            except OSError as e:
                raise DeviceError(f"serial I/O error on {self.port}: {e}") from None
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line + b"\n"

    def close(self) -> None:
        """Close the port."""
        s = getattr(self, "_s", None)
        if s is not None:
            s.close()
            self._s = None

    def __enter__(self) -> LineProtoDevice:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def infer(self, seq: int, x: np.ndarray) -> tuple[list[float], int | None]:
        """One request: the reply's values and microseconds (None for ``-``).

        Raises
        ------
        CorruptLineError
            The reply's checksum, sequence number or value count is wrong (names the row).
        DeviceError
            The firmware answered with an error line.
        DeviceTimeoutError
            No reply within the timeout.
        """
        body = f"P {seq} " + " ".join(encode_value(float(v)) for v in x)
        self._s.write(encode_line(body))
        deadline = time.monotonic() + self.timeout
        while True:
            raw = self._readline(deadline, f"waiting for the answer to row {seq}")
            if raw.startswith(b"#"):
                continue  # a log line
            try:
                text = check_line(raw)
            except ValueError as e:
                raise CorruptLineError(f"corrupted line from the device for row {seq} "
                                       f"({e}): {raw[:120]!r}") from None
            parts = text.split(" ")
            if parts[0] == "E":
                code = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else -1
                detail = " ".join(parts[3:])
                if code == 1:
                    raise CorruptLineError(f"corrupted transfer to the device: the firmware "
                                           f"saw a bad checksum on row {seq}")
                raise DeviceError(f"the firmware rejected row {seq}: error {code} "
                                  f"({_ERROR_CODES.get(code, '?')}) {detail}".rstrip())
            if parts[0] == "MLLP":
                continue  # a reboot announces itself; the request is answered after it
            if parts[0] != "R" or len(parts) != 3 + self.n_out or parts[1] != str(seq):
                raise CorruptLineError(f"corrupted line from the device for row {seq}: "
                                       f"unexpected reply {text[:120]!r}")
            try:
                vals = [decode_value(t) for t in parts[3:]]
                us = None if parts[2] == "-" else int(parts[2])
            except ValueError:
                raise CorruptLineError(f"corrupted line from the device for row {seq}: "
                                       f"{text[:120]!r}") from None
            return vals, us

    def run(self, X: np.ndarray, *, progress: bool = True) -> np.ndarray:
        """Send every row of ``X``; the replies as float64 of shape (n_rows, n_out)."""
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != self.n_in:
            raise ValueError(f"rows must have {self.n_in} values for this firmware, got "
                             f"shape {X.shape}")
        out = np.zeros((len(X), self.n_out), dtype=np.float64)
        total: int | None = 0
        bar = Progress("rows", len(X), enabled=progress)
        for i, row in enumerate(X):
            vals, us = self.infer(i, row)
            out[i] = vals
            total = None if us is None or total is None else total + us
            bar.update(i + 1)
        bar.finish()
        self.device_us = total
        return out
