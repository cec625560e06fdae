# microlearn_recorder: collect sensor data on a MicroPython board for `microlearn device record`.
# Pure Python (MicroPython and CPython). Two ways to get data to the host:
#
#   live:   stream(read, n_channels, period_ms, n) prints one line per sample
#               MLS <t_us> <v1> ... <vN> *<crc32 of the text before " *", 8 hex digits>
#   flash:  r = Recorder("rec.bin", n_channels=3)   # fixed-size binary chunks, CRC per chunk
#           r.append(values)                        # timestamp taken with time.ticks_us()
#           r.close()
#           send("rec.bin")                         # later, e.g. over the REPL: one line per
#                                                   # chunk, "MLB <base64 chunk>", then
#                                                   # "MLB END <chunks>"
#
# Chunk format (little-endian, every chunk of a file the same size; docs/device.md):
#   0  4  magic b"MLRC"
#   4  1  format version (1)
#   5  1  sample type: ord("h") int16 or ord("f") float32
#   6  2  n_channels
#   8  4  chunk sequence number (0, 1, ...)
#   12 2  capacity (samples per chunk)
#   14 2  samples used in this chunk (the last chunk may be partly filled)
#   16    capacity records of: uint32 t_us (wrapping microsecond timestamp), n_channels values
#   end 4 CRC-32 (zlib/binascii) of all bytes before it
import struct
import time

try:
    import binascii
except ImportError:  # pragma: no cover
    binascii = None

MAGIC = b"MLRC"
VERSION = 1
HEAD = 16


def crc32(data):
    if binascii is not None and hasattr(binascii, "crc32"):
        return binascii.crc32(data) & 0xFFFFFFFF
    c = 0xFFFFFFFF
    for b in data:
        c ^= b
        for _ in range(8):
            c = (c >> 1) ^ (0xEDB88320 & -(c & 1))
    return c ^ 0xFFFFFFFF


def chunk_size(n_channels, capacity=64, typecode="h"):
    return HEAD + capacity * (4 + n_channels * (2 if typecode == "h" else 4)) + 4


class Recorder:
    """Append samples to a file of fixed-size chunks (one write per full chunk)."""

    def __init__(self, path, n_channels, capacity=64, typecode="h"):
        if typecode not in ("h", "f"):
            raise ValueError("typecode must be 'h' or 'f'")
        if not 1 <= n_channels <= 255 or not 1 <= capacity <= 65535:
            raise ValueError("n_channels must be 1..255 and capacity 1..65535")
        self.n_channels = n_channels
        self.capacity = capacity
        self.typecode = typecode
        self._rec = struct.calcsize("<I" + typecode * n_channels)
        self._fmt = "<I" + typecode * n_channels
        self._buf = bytearray(chunk_size(n_channels, capacity, typecode))
        self._used = 0
        self._seq = 0
        self._f = open(path, "wb")

    def append(self, values, t_us=None):
        if len(values) != self.n_channels:
            raise ValueError(f"expected {self.n_channels} values")
        if t_us is None:
            t_us = time.ticks_us() if hasattr(time, "ticks_us") else int(time.time() * 1e6)
        struct.pack_into(self._fmt, self._buf, HEAD + self._used * self._rec,
                         t_us & 0xFFFFFFFF, *values)
        self._used += 1
        if self._used == self.capacity:
            self._flush()

    def _flush(self):
        b = self._buf
        struct.pack_into("<4sBBHIHH", b, 0, MAGIC, VERSION, ord(self.typecode),
                         self.n_channels, self._seq, self.capacity, self._used)
        end = len(b) - 4
        for i in range(HEAD + self._used * self._rec, end):
            b[i] = 0
        struct.pack_into("<I", b, end, crc32(memoryview(b)[:end]))
        self._f.write(b)
        self._seq += 1
        self._used = 0

    def close(self):
        if self._used:
            self._flush()
        self._f.close()


def send(path, out=None):
    """Print every chunk of a recording as "MLB <base64>" lines, then "MLB END <n>"."""
    import sys

    w = out.write if out is not None else sys.stdout.write
    f = open(path, "rb")
    head = f.read(HEAD)
    n = 0
    if len(head) == HEAD:
        _, _, tc, nc, _, cap, _ = struct.unpack("<4sBBHIHH", head)
        size = chunk_size(nc, cap, chr(tc))
        f.seek(0)
        while True:
            c = f.read(size)
            if len(c) < size:
                break
            w("MLB " + binascii.b2a_base64(c).decode().strip() + "\n")
            n += 1
    f.close()
    w(f"MLB END {n}\n")


def stream(read, n_channels, period_ms=10, n=None, out=None):
    """Call read() (a sequence of n_channels numbers) every period_ms and print MLS lines;
    n samples, or forever if n is None."""
    import sys

    w = out.write if out is not None else sys.stdout.write
    i = 0
    nxt = time.ticks_ms()
    while n is None or i < n:
        v = read()
        if len(v) != n_channels:
            raise ValueError(f"read() must return {n_channels} values")
        t = time.ticks_us() & 0xFFFFFFFF
        body = "MLS {} {}".format(t, " ".join(repr(x) for x in v))
        w(f"{body} *{crc32(body.encode()):08X}\n")
        i += 1
        nxt = time.ticks_add(nxt, period_ms)
        d = time.ticks_diff(nxt, time.ticks_ms())
        if d > 0:
            time.sleep_ms(d)
