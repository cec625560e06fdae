# microlearn_mp (pure Python): fallback for ports where the native module cannot load.
# Same API as the native microlearn_mp module and the same model blob (docs/blob_format.md):
#
#   import array, microlearn_mp as ml
#   model = ml.load("model.mlb")        # path, or bytes / bytearray / memoryview
#   model.predict(x)                    # x: array("f") of n_features; class index
#   model.predict_proba(x, out)         # out: array("f") of >= n_outputs
#   model.regress(x, out)
#
# Runs on MicroPython and CPython. Validates the blob like the C loader (ValueError when
# corrupt). Tables are copied into arrays at load time (needs about the blob's size of RAM).
# Reads model files of format versions 1 and 2 holding one tree ensemble (the native
# module reads every family and pipelines).
# lean-loader: begin (microlearn_mp_check.py of the lean build is this part of the file)
import array
import struct

FORMAT_VERSION = 2
_HEAD = 16
_TREES_HEAD = 96
_lo = _HEAD + _TREES_HEAD  # tables start at or after this offset of the section


def _bad():
    raise ValueError("model blob: corrupt, truncated or not a model")


def _table(data, offset, count, width, signed, total, align):
    if offset < _lo or offset % align or offset + count * width > total:
        _bad()
    code = {1: "bB", 2: "hH", 4: "iI"}[width]
    code = code[:1] if signed else code[1:]  # (a slice: an index would intern a name)
    return array.array(code, bytes(data[offset:offset + count * width]))


def _is_reciprocal(bits, n):
    # bits: float32 bits of 1/n rounded to nearest (ties to even), as the C loader checks
    ex = (bits >> 23) & 0xFF
    if bits >> 31 or ex == 0 or ex > 127 or ex < 96 or n == 0:
        return False
    mant = 0x800000 | (bits & 0x7FFFFF)
    s = 150 - ex
    diff = abs(2 * mant * n - (1 << (s + 1)))
    return diff < n or (diff == n and mant & 1 == 0)


def _f32(v):
    # v (a float or int) rounded to float32, as the native module converts
    return array.array("f", [v])[0]


def _load(o, data, lean=0, boost=None):
    # validates the file like the C loader and fills o (the Model, or the lean build's
    # holder) with its tables; boost (the viper engine's): checks a boosted (layout-2)
    # section's block, boost(data, h, lo, total) -> its leaf row width
    global _lo
    n = len(data)
    if n < _HEAD or bytes(data[0:4]) != b"MLRN":
        _bad()
    version, count, total, crc = struct.unpack_from("<HHII", data, 4)
    if version not in (1, 2):
        raise ValueError("model blob: unsupported format version")
    if total > n or total < _HEAD or _crc32(bytes(data[_HEAD:total])) != crc:
        _bad()
    sec = 0  # offset of the trees section in the file (the lean engine's table offsets)
    if version == 1:
        if count != 1:
            raise ValueError("model blob: model family not supported")
        hdr = _HEAD
    else:
        if count != 1:
            raise ValueError("model blob: pipelines need the native module")
        fam, task, flags, off, size, nf_sec = struct.unpack_from("<HBBIII", data, _HEAD)
        if flags or off % 8 or off < _HEAD + 16 or size == 0 or off + size > total:
            _bad()
        if fam != 1:
            raise ValueError("model blob: model family not supported by the fallback")
        data = memoryview(data)[off:off + size]
        sec = off
        total = size
        hdr = 0
        sec_entry = (task, nf_sec)
    _lo = hdr + _TREES_HEAD
    if total < _lo:
        _bad()
    h = struct.unpack_from("<7I4B7If8I", data, hdr)
    kind, nf, no, nt, nn, nr, base = h[0:7]
    fb, cb, has_nan, reserved = h[7:11]
    lay2 = h[25] == 2 and h[26]
    if lay2 and boost is None:  # section layout 2: a boosted ensemble
        raise ValueError("model blob: boosted trees need the native module")
    o_feat, o_thr, o_left, o_right, o_roots, o_nan, o_leaves = h[11:18]
    if (kind > (2 if lay2 else 1) or nf == 0 or no == 0 or nt == 0 or reserved
            or has_nan > 1 or base != (no if kind == 0 and not lay2 else 0)
            or fb not in (1, 2, 4) or cb not in (0, 1, 2, 4) or nf >= 1 << 31
            or nn >= 1 << 31 or h[22] > 1 or ((h[25] or h[26]) and not lay2)):
        _bad()
    rw = boost(data, h, _lo, total) if lay2 else no  # leaf row width
    if version == 2 and sec_entry != (kind, nf):
        _bad()  # the section table disagrees with the section (as the C loader checks)
    nnz, o_start, o_index = h[19:22]
    thr_kind, n_thr, o_thr_values = h[22:25]
    n_ids = base + nr
    rb = cb or 4  # compact child codes (cb == 0): int32 roots, 1-byte relative children
    o.roots = _table(data, o_roots, nt, rb, True, total, rb)
    o.leaves = o.start = o.index = None
    if nnz:  # sparse rows
        if nnz > 0xFFFF or nr == 0 or nr >= 0xFFFF:
            _bad()
        _table(data, o_leaves, nnz, 4, False, total, 4)
        o.leaves = array.array("f", bytes(data[o_leaves:o_leaves + 4 * nnz]))
        o.start = _table(data, o_start, nr + 1, 2, False, total, 2)
        o.index = _table(data, o_index, nnz, 2, False, total, 2)
        if o.start[0] != 0 or o.start[nr] != nnz:
            _bad()
        for r in range(nr):
            if o.start[r] > o.start[r + 1]:
                _bad()
        for i in o.index:
            if i >= rw:
                _bad()
    elif nr:
        _table(data, o_leaves, nr * rw, 4, False, total, 4)
        o.leaves = array.array("f", bytes(data[o_leaves:o_leaves + 4 * nr * rw]))
    if nn:
        o.feature = _table(data, o_feat, nn, fb, False, total, fb)
        if thr_kind:  # uint8 index into a table of distinct thresholds
            if not 0 < n_thr <= 256:
                _bad()
            _table(data, o_thr_values, n_thr, 4, False, total, 4)
            values = array.array("f", bytes(data[o_thr_values:o_thr_values + 4 * n_thr]))
            index = _table(data, o_thr, nn, 1, False, total, 1)
            if max(index) >= n_thr:
                _bad()
            o.threshold = array.array("f", [values[i] for i in index])
        else:
            _table(data, o_thr, nn, 4, False, total, 4)
            o.threshold = array.array("f", bytes(data[o_thr:o_thr + 4 * nn]))
        if cb:
            o.left = _table(data, o_left, nn, cb, True, total, cb)
            o.right = _table(data, o_right, nn, cb, True, total, cb)
        else:  # decode to absolute codes: leaf id c < n_ids, else node n + c - n_ids + 1
            if n_ids > 255:
                _bad()
            lr = []
            for off in (o_left, o_right):
                raw = _table(data, off, nn, 1, False, total, 1)
                lr.append(array.array("i", [-c - 1 if c < n_ids else i + c - n_ids + 1
                                            for i, c in enumerate(raw)]))
            o.left, o.right = lr
        o.nan_left = (bytes(_table(data, o_nan, (nn + 7) // 8, 1, False, total, 1))
                         if has_nan else None)
    # trees own consecutive node ranges, entered only at their roots (as the C loader)
    roots = list(o.roots)
    nxt = 0
    for t, c in enumerate(roots):
        if c < 0:
            if -c - 1 >= n_ids:
                _bad()
            continue
        if c != nxt:
            _bad()
        end = nn
        for c2 in roots[t + 1:]:
            if c2 >= 0:
                end = c2
                break
        if end <= c or end > nn:
            _bad()
        for i in range(c, end):
            if o.feature[i] >= nf:
                _bad()
            for ch in (o.left[i], o.right[i]):
                if (ch <= i or ch >= end) if ch >= 0 else (-ch - 1 >= n_ids):
                    _bad()
        nxt = end
    if nxt != nn:
        _bad()
    inv_bits = struct.unpack_from("<I", data, hdr + 60)[0]
    if not _is_reciprocal(inv_bits, nt):
        _bad()
    o._nf, o._no, o._nt, o._base, o._inv = nf, no, nt, base, h[18]
    if lean:  # for the lean build's engine (see microlearn_mp_check, mp_module.py)
        o.lean = (h, sec, inv_bits)


# lean-loader: end (the lean build brings its own _crc32: the engine's C)


def _crc32(data):
    try:
        import binascii

        return binascii.crc32(data) & 0xFFFFFFFF
    except (ImportError, AttributeError):
        c = 0xFFFFFFFF
        for b in data:
            c ^= b
            for _ in range(8):
                c = (c >> 1) ^ (0xEDB88320 & -(c & 1))
        return c ^ 0xFFFFFFFF


class Model:
    def __init__(self, data):
        _load(self, data)
        no = self._no
        self._scratch = array.array("f", [0.0] * no)
        # the last array objects found to be array('f'): an array's type code never
        # changes, and holding the object keeps its identity unique (lengths can change:
        # checked on every call)
        self._x_ok = self._out_ok = None

    def n_features(self):
        return self._nf

    def n_outputs(self):
        return self._no

    def n_trees(self):
        return self._nt

    def is_classifier(self):
        return self._base > 0

    def _run(self, x, out, mean=True):
        if type(x) is not array.array or len(x) != self._nf:
            raise ValueError("x must be array('f') of n_features values")
        if x is not self._x_ok:
            if _typecode(x) != "f":
                raise ValueError("x must be array('f') of n_features values")
            self._x_ok = x
        no, base = self._no, self._base
        for i in range(no):
            out[i] = 0.0
        feature, threshold = getattr(self, "feature", None), getattr(self, "threshold", None)
        left, right, nan_left, leaves = (getattr(self, "left", None), getattr(self, "right", None),
                                         getattr(self, "nan_left", None), self.leaves)
        start, index = self.start, self.index
        for n in self.roots:
            while n >= 0:
                v = x[feature[n]]
                t = threshold[n]
                if v <= t:
                    n = left[n]
                elif v > t or nan_left is None or not (nan_left[n >> 3] >> (n & 7)) & 1:
                    n = right[n]
                else:
                    n = left[n]
            leaf = -n - 1
            if leaf < base:
                out[leaf] += 1.0
            elif start is not None:
                r = leaf - base
                for j in range(start[r], start[r + 1]):
                    out[index[j]] += leaves[j]
            else:
                r = (leaf - base) * no
                for i in range(no):
                    out[i] += leaves[r + i]
        if mean and self._nt > 1:
            for i in range(no):
                out[i] *= self._inv

    def predict(self, x):
        if not self._base:
            raise TypeError("predict() is for classifiers; use regress(x, out)")
        s = self._scratch
        self._run(x, s, False)  # the sum has the same first maximum as the mean
        best = 0
        for i in range(1, self._no):
            if s[i] > s[best]:
                best = i
        return best

    def _check_out(self, out):
        if type(out) is not array.array or len(out) < self._no:
            raise ValueError("out must be array('f') of at least n_outputs values")
        if out is not self._out_ok:
            if _typecode(out) != "f":
                raise ValueError("out must be array('f') of at least n_outputs values")
            self._out_ok = out

    def predict_proba(self, x, out):
        if not self._base:
            raise TypeError("predict_proba() is for classifiers")
        self._check_out(out)
        self._run(x, out)

    def regress(self, x, out):
        if self._base:
            raise TypeError("regress() is for regressors")
        self._check_out(out)
        self._run(x, out)


def _typecode(a):
    t = getattr(a, "typecode", None)  # CPython; MicroPython's arrays have none
    return t if t is not None else repr(a[:0])[7]


def load_at(address, size):
    """A blob in memory-mapped flash (needs the port's uctypes; copies into arrays)."""
    import uctypes

    return Model(uctypes.bytearray_at(address, size))


def load(src):
    if isinstance(src, str):
        with open(src, "rb") as f:
            src = f.read()
    return Model(src)
