"""``microlearn device record``: receive sensor data that a device streams (``MLS`` lines)
or sends from a recording in its flash (``MLB`` chunks of ``microlearn_recorder``), into
``.npy`` or ``.csv`` with timestamps and labels."""

from __future__ import annotations

import base64
import binascii
import re
import struct
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from microlearn.device.errors import CorruptLineError, DeviceError, DeviceTimeoutError
from microlearn.device.progress import Progress

__all__ = ["Recording", "RECORDER_PY", "decode_chunk", "parse_sample_line", "record_stream",
           "record_flash", "save"]

#: The MicroPython recorder module (copied to the board by ``record_flash`` if missing).
RECORDER_PY = (Path(__file__).resolve().parent.parent / "runtime" / "micropython"
               / "microlearn_recorder.py")
_CHUNK_HEAD = struct.Struct("<4sBBHIHH")
_MLS = re.compile(r"^MLS (\d+)((?: [-+0-9.eEinfa]+)+) \*([0-9A-F]{8})$")


@dataclass
class Recording:
    """Samples received from a device.

    Attributes
    ----------
    t_us : numpy.ndarray of int64
        Device timestamps in microseconds, unwrapped (the device's 32-bit counter wraps),
        relative to the first sample.
    values : numpy.ndarray of float32, shape (n_samples, n_channels)
    """

    t_us: np.ndarray
    values: np.ndarray


def _unwrap(t: list[int]) -> np.ndarray:
    a = np.asarray(t, dtype=np.int64)
    if a.size == 0:
        return a
    d = np.diff(a) % (1 << 32)
    return np.concatenate([[0], np.cumsum(d)]).astype(np.int64)


def parse_sample_line(line: str, n_line: int) -> tuple[int, list[float]]:
    """``MLS <t_us> <v...> *<crc32>`` -> (t_us, values).

    Raises
    ------
    CorruptLineError
        Bad format or checksum (names the line number).
    """
    m = _MLS.match(line)
    if m is None:
        raise CorruptLineError(f"corrupted line {n_line} from the device: {line[:100]!r}")
    body = line[: line.rindex(" *")]
    if binascii.crc32(body.encode()) & 0xFFFFFFFF != int(m.group(3), 16):
        raise CorruptLineError(f"corrupted line {n_line} from the device (CRC-32 mismatch): "
                               f"{line[:100]!r}")
    try:
        vals = [float(v) for v in m.group(2).split()]
    except ValueError:
        raise CorruptLineError(f"corrupted line {n_line} from the device: "
                               f"{line[:100]!r}") from None
    return int(m.group(1)), vals


def decode_chunk(chunk: bytes, index: int) -> tuple[list[int], np.ndarray]:
    """One recorder chunk -> (timestamps, values (used, n_channels)).

    Raises
    ------
    CorruptLineError
        Bad magic, size or CRC-32 (names the chunk).
    """
    if len(chunk) < _CHUNK_HEAD.size + 4:
        raise CorruptLineError(f"corrupted chunk {index}: {len(chunk)} bytes")
    magic, version, tc, nc, seq, cap, used = _CHUNK_HEAD.unpack_from(chunk)
    if magic != b"MLRC" or version != 1 or chr(tc) not in "hf" or used > cap or nc == 0:
        raise CorruptLineError(f"corrupted chunk {index}: bad header")
    item = 2 if chr(tc) == "h" else 4
    rec = 4 + nc * item
    if len(chunk) != _CHUNK_HEAD.size + cap * rec + 4:
        raise CorruptLineError(f"corrupted chunk {index}: {len(chunk)} bytes, the header "
                               f"says {_CHUNK_HEAD.size + cap * rec + 4}")
    want = struct.unpack_from("<I", chunk, len(chunk) - 4)[0]
    if binascii.crc32(chunk[:-4]) & 0xFFFFFFFF != want:
        raise CorruptLineError(f"corrupted chunk {index} (sequence {seq}): CRC-32 mismatch")
    if seq != index:
        raise CorruptLineError(f"chunk {index} carries sequence number {seq}: chunks lost")
    dt = np.dtype([("t", "<u4"), ("v", "<i2" if item == 2 else "<f4", (nc,))])
    recs = np.frombuffer(chunk, dtype=dt, count=used, offset=_CHUNK_HEAD.size)
    return [int(t) for t in recs["t"]], recs["v"].astype(np.float32).reshape(used, nc)


def record_stream(port: str, *, seconds: float | None = None, samples: int | None = None,
                  timeout: float = 10.0, baudrate: int = 115200,
                  progress: bool = True) -> Recording:
    """Read ``MLS`` sample lines a device streams, for ``seconds`` or ``samples``.

    Lines that are not ``MLS`` lines (boot messages, logs) are skipped; an ``MLS`` line that
    fails its check raises (names the line).

    Raises
    ------
    DeviceTimeoutError
        No sample line for ``timeout`` seconds.
    """
    try:
        import serial
    except ImportError:  # pragma: no cover - pyserial comes with mpremote
        raise DeviceError("serial ports need pyserial: "
                          "pip install 'microlearn[micropython]'") from None

    from microlearn.device.micropython import open_serial_error

    if seconds is None and samples is None:
        raise ValueError("give --seconds or --samples")
    if samples is not None and samples <= 0:
        raise ValueError(f"--samples must be > 0, not {samples}")
    if seconds is not None and seconds <= 0:
        raise ValueError(f"--seconds must be > 0, not {seconds}")
    try:
        s = serial.serial_for_url(port, baudrate=baudrate, timeout=0.05)
    except (serial.SerialException, OSError, ValueError) as e:
        raise open_serial_error(port, e) from None
    ts: list[int] = []
    vals: list[list[float]] = []
    buf = b""
    n_line = 0
    start = time.monotonic()
    last = start
    bar = Progress("samples", samples or 0, enabled=progress and samples is not None)
    first = True
    try:
        while True:
            now = time.monotonic()
            if seconds is not None and now - start >= seconds:
                break
            if samples is not None and len(ts) >= samples:
                break
            if now - last > timeout:
                raise DeviceTimeoutError(f"device on {port} stalled: no sample line for "
                                         f"{timeout:g} s (use --timeout)")
            buf += s.read(max(1, s.in_waiting))
            while b"\n" in buf:
                raw, buf = buf.split(b"\n", 1)
                n_line += 1
                line = raw.rstrip(b"\r").decode("ascii", "replace")
                if not line.startswith("MLS"):
                    continue
                if first and not _MLS.match(line):
                    first = False
                    continue  # the first line may be cut: we joined mid-stream
                first = False
                t, v = parse_sample_line(line, n_line)
                if vals and len(v) != len(vals[0]):
                    raise CorruptLineError(f"corrupted line {n_line} from the device: "
                                           f"{len(v)} values, earlier lines had "
                                           f"{len(vals[0])}")
                ts.append(t)
                vals.append(v)
                last = time.monotonic()
                bar.update(len(ts))
                if samples is not None and len(ts) >= samples:
                    break
    finally:
        s.close()
    if samples is not None:
        bar.finish()
    if not ts:
        raise DeviceTimeoutError(f"no sample lines (MLS ...) received from {port}")
    return Recording(_unwrap(ts), np.asarray(vals, dtype=np.float32))


def record_flash(port: str, path: str, *, samples: int | None = None,
                 install_recorder: bool = True, timeout: float = 10.0, baudrate: int = 115200,
                 progress: bool = True) -> Recording:
    """Fetch a ``microlearn_recorder`` recording from a MicroPython board's flash.

    Parameters
    ----------
    port : str
        The board's serial port.
    path : str
        The recording file on the board.
    samples : int, optional
        Keep only the first ``samples`` samples.
    install_recorder : bool
        Copy ``microlearn_recorder.py`` to the board if it differs or is missing.
    """
    from microlearn.device.micropython import MicroPythonBoard

    with MicroPythonBoard(port, baudrate=baudrate, timeout=timeout) as board:
        if install_recorder:
            board.put_file("microlearn_recorder.py", RECORDER_PY.read_bytes(),
                           progress=progress)
        out = board._exec(f"import microlearn_recorder\nmicrolearn_recorder.send({path!r})",
                          f"sending the recording {path}")
    lines = [ln.strip() for ln in out.splitlines() if ln.strip()]
    if not lines or not lines[-1].startswith("MLB END "):
        raise CorruptLineError(f"incomplete transfer of {path}: no end line "
                               f"(last line {lines[-1][:80] if lines else ''!r})")
    n = int(lines[-1].split()[2])
    chunks = [ln for ln in lines[:-1] if ln.startswith("MLB ")]
    if len(chunks) != n:
        raise CorruptLineError(f"transfer of {path}: {len(chunks)} chunks arrived, the board "
                               f"sent {n}")
    ts: list[int] = []
    vals = []
    for i, ln in enumerate(chunks):
        try:
            raw = base64.b64decode(ln[4:], validate=True)
        except binascii.Error:
            raise CorruptLineError(f"corrupted chunk {i}: not base64") from None
        t, v = decode_chunk(raw, i)
        ts += t
        vals.append(v)
    values = np.concatenate(vals) if vals else np.zeros((0, 0), np.float32)
    if samples is not None:
        ts, values = ts[:samples], values[:samples]
    return Recording(_unwrap(ts), values)


def save(rec: Recording, out: str | Path, *, label: str | None = None) -> Path:
    """Write a recording to ``.npy`` (structured: ``t`` seconds, ``x`` values, ``label``) or
    ``.csv`` (columns ``t_s, ch0..chN-1, label``).

    Returns
    -------
    pathlib.Path
        The file written.
    """
    p = Path(out)
    n, nc = rec.values.shape if rec.values.ndim == 2 else (0, 0)
    t_s = rec.t_us.astype(np.float64) / 1e6
    lab = label or ""
    if p.suffix.lower() == ".npy":
        dt = np.dtype([("t", "<f8"), ("x", "<f4", (nc,)), ("label", f"<U{max(1, len(lab))}")])
        arr = np.zeros(n, dtype=dt)
        arr["t"] = t_s
        arr["x"] = rec.values
        arr["label"] = lab
        np.save(p, arr)
    elif p.suffix.lower() == ".csv":
        with p.open("w") as fh:
            fh.write(",".join(["t_s", *(f"ch{i}" for i in range(nc)), "label"]) + "\n")
            for i in range(n):
                fh.write(",".join([f"{t_s[i]:.6f}", *(repr(float(v)) for v in rec.values[i]),
                                   lab]) + "\n")
    else:
        raise ValueError(f"--out must end in .npy or .csv, not {p}")
    return p
