"""The ``microlearn_dsp`` native module (microlearn/mp_dsp.py,
runtime/micropython/microlearn_dsp.c) against the host's ``microlearn.dsp``.

One device script runs every part of the module on real data (FSDD audio at 8 kHz, UCI HAR
accelerometer windows at 50 Hz) and writes each output to a file; every output must be
bit-identical to the host function that runs the same C (x64: the host build and
dynruntime both compile float32 C without -ffast-math and without contraction, SSE
arithmetic; Cortex-M4F: the tests of docs/dsp.md already show the C gives the host's bits
there). The same script reports the heap each object takes and the heap each call
allocates (``gc.mem_alloc()`` deltas): zero for every call that returns no float.

Unix port (x64 module): the whole FSDD recording / 100 HAR windows. Emulated Cortex-M4F
(QEMU, armv7emsp module): a few frames of each, plus the instruction counts of one MFCC
frame and one 512-point FFT. Skips only when a tool or the data is missing.
"""

from __future__ import annotations

import ast
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
import scipy.signal
from support import mp_unix

from microlearn import dsp, mp_dsp, targets
from microlearn import micropython_build as mb
from microlearn.errors import MicrolearnError

f32 = np.float32
REPO = Path(__file__).resolve().parent.parent
DATASETS = [REPO.parent / "shared" / "datasets", Path("/work/shared/datasets")]
FEATURE_NAMES = ["mean", "std", "var", "min", "max", "rms", "ptp", "zero_crossings",
                 "mean_crossings", "skew", "kurtosis", "energy"]
EDGES = [0.0, 2.0, 5.0, 10.0, 25.0]
SR = 8000

_MODULES: dict[str, bytes] = {}


def _dataset(rel: str) -> Path:
    for root in DATASETS:
        if (root / rel).exists():
            return root / rel
    pytest.skip(f"{rel} not found in ../shared/datasets")


def _module(arch: str) -> bytes:
    """microlearn_dsp.mpy for arch, built once per session (skip: toolchain missing)."""
    if arch not in _MODULES:
        with tempfile.TemporaryDirectory() as tmp:
            try:
                _MODULES[arch] = mp_dsp.build(arch, tmp)[0].read_bytes()
            except mb.ToolNotFoundError as e:
                pytest.skip(f"tool missing: {arch} toolchain: {e}")
    return _MODULES[arch]


# --- inputs and host references -----------------------------------------------------------


def _inputs(small: bool) -> tuple[dict, dict[str, bytes], dict]:
    """(config, device files, host arrays) for a full (unix) or small (QEMU) run."""
    from scipy.io import wavfile

    sr, raw = wavfile.read(_dataset("fsdd/recordings/3_jackson_0.wav"))
    assert sr == SR and raw.dtype == np.int16
    if small:
        raw = raw[:2600]
    y = (raw.astype(np.float32) / f32(32768.0)).astype(f32)
    har = np.load(_dataset("uci_har_test/uci_har_test.npz"))
    n_win = 6 if small else 100
    idx = np.linspace(0, len(har["X"]) - 1, n_win).astype(int)
    X = np.ascontiguousarray(har["X"][idx].transpose(0, 2, 1), dtype=f32)  # (n, 9, 128)
    acc = har["X"][:, :, 0:3]  # body acc of consecutive windows: an "activity score"
    score = np.sqrt((acc ** 2).sum(axis=2)).mean(axis=1)[: 120 if small else 600]
    score = (score / np.percentile(score, 95)).astype(f32)
    labels = har["y"][: len(score)].astype(np.int8) - np.int8(har["y"].min())
    cfg = {
        "n_fft": 512, "hop": 256, "n_frames": (len(y) - 512) // 256 + 1,
        "n_q15": 256, "n_q15_frames": len(y) // 256,
        "n_win": 64, "mfcc_hop": 128, "n_mfcc_frames": (len(y) - 512) // 128 + 1,
        "blocks": [1, 7, 64, 250, 1000], "period": 800, "n_har": n_win,
        "n_labels": int(labels.max()) + 1,
    }
    sos = scipy.signal.butter(4, 1000, fs=SR, output="sos")
    files = {
        "y.f32": y.tobytes(), "y.i16": raw.tobytes(), "har.f32": X.tobytes(),
        "score.f32": score.tobytes(), "labels.i8": labels.tobytes(),
        "sos.f32": dsp.sos_coefficients(sos).tobytes(),
        "aw.f32": dsp.sos_coefficients(dsp.a_weighting(SR)).tobytes(),
        "cw.f32": dsp.sos_coefficients(dsp.c_weighting(SR)).tobytes(),
        "mfcc.spec": mp_dsp.export_mfcc(sr=SR, n_fft=512, n_mels=40, n_mfcc=13, lifter=22),
        "mfcc2.spec": mp_dsp.export_mfcc(sr=SR, n_fft=512, n_mels=32, n_mfcc=20, htk=True,
                                         window="hamming", power=1.0, norm=None, fmin=100.0,
                                         fmax=3500.0, top_db=60.0),
        "mel.spec": mp_dsp.export_mel(sr=SR, n_fft=512, n_mels=40),
    }
    host = {"y": y, "raw": raw, "X": X, "score": score, "labels": labels, "sos": sos}
    return cfg, files, host


def _events(active: np.ndarray, d: int, g: int) -> np.ndarray:
    return dsp.detect_events(active.astype(np.int32), min_duration=d, min_gap=g)


def _expected(cfg: dict, h: dict) -> dict[str, np.ndarray]:
    """Host outputs, named and typed as the device script writes them."""
    y, raw, X = h["y"], h["raw"], h["X"]
    n, hop = cfg["n_fft"], cfg["hop"]
    frames = np.stack([y[i * hop:i * hop + n] for i in range(cfg["n_frames"])])
    nq = cfg["n_q15"]
    qframes = raw[: cfg["n_q15_frames"] * nq].reshape(-1, nq)
    Xq = dsp.rfft_q15(qframes).astype(np.int32)
    pq = (Xq[:, 0::2] ** 2 + Xq[:, 1::2] ** 2).astype(np.uint32)
    windows = [dsp.get_window(w, cfg["n_win"], fftbins=per)
               for w in ("hann", "hamming", "blackman", "boxcar") for per in (True, False)]
    n_blocks = len(y) // cfg["period"]
    yl = y[: n_blocks * cfg["period"]]
    mh = cfg["mfcc_hop"]
    score, labels = h["score"], h["labels"]
    active = dsp.hysteresis(score, 0.3, 0.7)
    return {
        "rfft": dsp.rfft(frames).view(f32),
        "power": dsp.power_spectrum(frames),
        "magnitude": dsp.magnitude_spectrum(frames),
        "rfft_q15": dsp.rfft_q15(qframes),
        "power_q15": pq,
        "magnitude_q15": np.floor(np.sqrt(pq.astype(np.float64))).astype(np.uint16),
        "window": np.stack(windows),
        "mfcc": dsp.mfcc_frames(y, sr=SR, n_mfcc=13, n_fft=512, hop_length=mh, n_mels=40,
                                lifter=22).T,
        "mfcc2": dsp.mfcc_frames(y, sr=SR, n_mfcc=20, n_fft=512, hop_length=mh, n_mels=32,
                                 htk=True, window="hamming", power=1.0, norm=None, fmin=100.0,
                                 fmax=3500.0, top_db=60.0).T,
        "melspec": dsp.melspectrogram(y=y, sr=SR, n_fft=512, hop_length=mh, n_mels=40,
                                      center=False).T,
        "sos": dsp.sosfilt(h["sos"], y),
        "level_a": dsp.sound_level(y, SR, "A", "fast"),
        "level_c": dsp.sound_level(y, SR, "C", "slow", ref=2e-5),
        "level_z": dsp.sound_level(y, SR, None, 0.5),
        "dbfs": dsp.dbfs(frames),
        "leq": dsp.leq(yl, SR, "A", period=cfg["period"] / SR),
        "features": dsp.window_features(X, FEATURE_NAMES),
        "spectral": dsp.window_features(X, ["band_energy", "dominant_frequency"], fs=50,
                                        bands=EDGES),
        "median": dsp.median_filter(score, 5),
        "average": dsp.moving_average(score, 4),
        "smooth": dsp.exponential_smoothing(score, 0.3),
        "hysteresis": active.astype(np.uint8),
        "events": _events(active, 3, 2).astype(np.int32),
        "majority": dsp.majority_vote(labels, 7, cfg["n_labels"]).astype(np.int8),
    }


OUT_DTYPES = {"rfft_q15": np.int16, "power_q15": np.uint32, "magnitude_q15": np.uint16,
              "hysteresis": np.uint8, "events": np.int32, "majority": np.int8}


# --- the device script ----------------------------------------------------------------------

SCRIPT = r"""
import array, gc
gc.collect()
_a = gc.mem_alloc()
import microlearn_dsp as dsp
HEAP = {'module': gc.mem_alloc() - _a}
C = CONFIG
ALLOC = {}

def rd(name):
    f = open(name, 'rb'); d = f.read(); f.close(); return d

def empty(tc, n):
    return array.array(tc, bytes(n * (1 if tc in 'bB' else 2 if tc in 'hH' else 4)))

OUT = {}
def out(name):
    if name not in OUT:
        OUT[name] = bytearray()
    return OUT[name]

def new(name, make):
    gc.collect()
    a = gc.mem_alloc()
    obj = make()
    HEAP[name] = gc.mem_alloc() - a
    return obj

yb = rd('y.f32'); qb = rd('y.i16')
N = C['n_fft']; HOP = C['hop']
fft = new('RFFT(512)', lambda: dsp.RFFT(N))
o = empty('f', N + 2); p = empty('f', N // 2 + 1); m = empty('f', N // 2 + 1)
for i in range(C['n_frames']):
    x = array.array('f', yb[4 * i * HOP:4 * (i * HOP + N)])
    fft.rfft(x, o); out('rfft').extend(o)
    fft.power(x, p); out('power').extend(p)
    fft.magnitude(x, m); out('magnitude').extend(m)
    out('dbfs').extend(array.array('f', [dsp.dbfs(x)]))

NQ = C['n_q15']
fq = new('RFFT(256, q15)', lambda: dsp.RFFT(NQ, True))
oq = empty('h', NQ + 2); pq = empty('I', NQ // 2 + 1); mq = empty('H', NQ // 2 + 1)
for i in range(C['n_q15_frames']):
    xq = array.array('h', qb[2 * i * NQ:2 * (i + 1) * NQ])
    fq.rfft(xq, oq); out('rfft_q15').extend(oq)
    fq.power(xq, pq); out('power_q15').extend(pq)
    fq.magnitude(xq, mq); out('magnitude_q15').extend(mq)

w = empty('f', C['n_win'])
for name in ('hann', 'hamming', 'blackman', 'boxcar'):
    for per in (True, False):
        dsp.window(name, w, per); out('window').extend(w)

spec = rd('mfcc.spec'); spec2 = rd('mfcc2.spec'); mspec = rd('mel.spec')
mf = new('MFCC(512, 40 mels, 13)', lambda: dsp.MFCC(spec))
mf2 = dsp.MFCC(spec2)
mel = new('MFCC(mel only, 40)', lambda: dsp.MFCC(mspec))
c13 = empty('f', 13); c20 = empty('f', 20); m40 = empty('f', 40)
# the signal streamed in blocks of varying size, framed by Frames (hop mfcc_hop)
frame = empty('f', 512)
fr = new('Frames', lambda: dsp.Frames(frame, C['mfcc_hop']))
L = len(yb) // 4
pos = 0; k = 0; sizes = C['blocks']
while pos < L:
    n = min(sizes[k % len(sizes)], L - pos); k += 1
    blk = array.array('f', yb[4 * pos:4 * (pos + n)]); at = 0
    while at < n:
        at = fr.push(blk, at)
        if fr.ready():
            mf.mfcc(frame, c13); out('mfcc').extend(c13)
            mf2.mfcc(frame, c20); out('mfcc2').extend(c20)
            mel.melspec(frame, m40); out('melspec').extend(m40)
    pos += n

cs = array.array('f', rd('sos.f32')); ca = array.array('f', rd('aw.f32'))
sos = new('SOS(4 sections)', lambda: dsp.SOS(cs))
la = new('SoundLevel(A)', lambda: dsp.SoundLevel(8000, ca, 'fast'))
lc = dsp.SoundLevel(8000, array.array('f', rd('cw.f32')), 'slow', 2e-5)
lz = dsp.SoundLevel(8000, None, 0.5)
pos = 0; k = 0
while pos < L:
    n = min(sizes[k % len(sizes)], L - pos); k += 1
    b = array.array('f', yb[4 * pos:4 * (pos + n)]); lv = empty('f', n)
    la.process(b, lv); out('level_a').extend(lv)
    lc.process(b, lv); out('level_c').extend(lv)
    lz.process(b, lv); out('level_z').extend(lv)
    sos.process(b, b); out('sos').extend(b)
    pos += n
aw = dsp.SOS(array.array('f', rd('aw.f32')))
P = C['period']
for i in range(L // P):
    b = array.array('f', yb[4 * i * P:4 * (i + 1) * P])
    aw.process(b, b); out('leq').extend(array.array('f', [dsp.leq(b)]))

hb = rd('har.f32')
ids = bytes(range(12)); f12 = empty('f', 12); f5 = empty('f', 5)
edges = array.array('f', EDGES)
f128 = new('RFFT(128)', lambda: dsp.RFFT(128))
for i in range(C['n_har'] * 9):
    x = array.array('f', hb[4 * 128 * i:4 * 128 * (i + 1)])
    dsp.window_features(x, ids, f12); out('features').extend(f12)
    f128.spectral(x, 50, edges, f5); out('spectral').extend(f5)

score = array.array('f', rd('score.f32')); labels = array.array('b', rd('labels.i8'))
S = len(score); fo = empty('f', S)
med = new('Median(5)', lambda: dsp.Median(5))
med.process(score, fo); out('median').extend(fo)
avg = dsp.MovingAverage(4); avg.process(score, fo); out('average').extend(fo)
ex = dsp.ExpSmooth(0.3)
for i in range(S):
    fo[i] = ex.update(score[i])
out('smooth').extend(fo)
hy = new('Hysteresis', lambda: dsp.Hysteresis(0.3, 0.7))
act = bytearray(S); hy.process(score, act); out('hysteresis').extend(act)
ev = dsp.Events(3, 2); pairs = array.array('i')
for i in range(S):
    e = ev.update(act[i])
    if e == 2:
        pairs.append(ev.onset()); pairs.append(ev.offset())
out('events').extend(pairs)
ev2 = dsp.Events(3, 2); codes = bytearray(S); ev2.process(act, codes)
maj = new('Majority(7, 6)', lambda: dsp.Majority(7, C['n_labels']))
mo = array.array('b', bytes(S)); maj.process(labels, mo); out('majority').extend(mo)
OPEN = (ev.onset(), sum(1 for c in codes if c == 1), sum(1 for c in codes if c == 2))

# heap per call: every call below must allocate nothing
x = array.array('f', yb[:4 * 512]); xq = array.array('h', qb[:2 * 256])
x128 = array.array('f', hb[:4 * 128]); b = array.array('f', yb[:4 * 256])
one = array.array('f', [0.5]); ob = bytearray(1); lab = array.array('b', [1])
CALLS
for name in ('dbfs', 'leq', 'Median.update'):
    gc.collect(); a = gc.mem_alloc()
    for _ in range(10):
        if name == 'dbfs':
            dsp.dbfs(x)
        elif name == 'leq':
            dsp.leq(x)
        else:
            med.update(0.5)
    ALLOC[name + ' (returns a float)'] = (gc.mem_alloc() - a) // 10
for name in OUT:
    f = open(name + '.out', 'wb'); f.write(OUT[name]); f.close()
print('HEAP', HEAP)
print('ALLOC', ALLOC)
print('OPEN', OPEN)
print('DONE')
"""

#: (name, statement) of the calls whose heap use per call is measured (must be 0)
CALLS = [
    ("RFFT.rfft", "fft.rfft(x, o)"), ("RFFT.power", "fft.power(x, p)"),
    ("RFFT.magnitude", "fft.magnitude(x, m)"), ("RFFT(q15).rfft", "fq.rfft(xq, oq)"),
    ("RFFT(q15).power", "fq.power(xq, pq)"),
    ("RFFT.spectral", "f128.spectral(x128, 50, edges, f5)"),
    ("window", "dsp.window('hann', w)"), ("MFCC.mfcc", "mf.mfcc(x, c13)"),
    ("MFCC.melspec", "mel.melspec(x, m40)"), ("SOS.process", "sos.process(b, b)"),
    ("SoundLevel.process", "la.process(b, b)"),
    ("window_features", "dsp.window_features(x128, ids, f12)"),
    ("Median.process", "med.process(one, one)"), ("Hysteresis.process", "hy.process(one, ob)"),
    ("Hysteresis.update", "hy.update(0.5)"), ("Events.update", "ev.update(1)"),
    ("Majority.update", "maj.update(1)"), ("Majority.process", "maj.process(lab, lab)"),
    ("Frames.push", "fr.push(b, 0)"), ("Frames.ready", "fr.ready()"),
]


def _script(cfg: dict, bench: bool = False) -> str:
    lines = []
    for name, stmt in CALLS:
        lines += ["gc.collect(); a = gc.mem_alloc()", "for _ in range(20):", f"    {stmt}",
                  f"ALLOC[{name!r}] = gc.mem_alloc() - a"]
    if bench:
        lines += ["import bench", "for _ in range(2):",
                  "    bench.start(); bench.stop()",
                  "    bench.start(); mf.mfcc(x, c13); bench.stop()",
                  "    bench.start(); fft.rfft(x, o); bench.stop()",
                  "    bench.start(); sos.process(b, b); bench.stop()",
                  "    bench.start(); dsp.window_features(x128, ids, f12); bench.stop()"]
    return (SCRIPT.replace("CONFIG", repr(cfg)).replace("EDGES", repr(EDGES))
            .replace("CALLS", "\n".join(lines)))


def _report(stdout: str) -> tuple[dict, dict, tuple]:
    got = {}
    for line in stdout.splitlines():
        for key in ("HEAP", "ALLOC", "OPEN"):
            if line.startswith(key + " "):
                got[key] = ast.literal_eval(line[len(key) + 1:])
    return got["HEAP"], got["ALLOC"], got["OPEN"]


def _bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a).view(np.uint8)


def _compare(expected: dict[str, np.ndarray], read) -> None:
    for name, ref in expected.items():
        if name == "events":
            continue
        dtype = OUT_DTYPES.get(name, f32)
        got = np.frombuffer(read(name + ".out"), dtype=dtype)
        ref = np.ascontiguousarray(ref, dtype=dtype).reshape(-1)
        assert got.shape == ref.shape, (name, got.shape, ref.shape)
        if dtype == f32:  # bit-identical; NaN (skew of a constant window) equal to NaN
            same = (got.view(np.uint32) == ref.view(np.uint32)) | (np.isnan(got) & np.isnan(ref))
        else:
            same = got == ref
        assert same.all(), (f"{name}: {np.count_nonzero(~same)} of {same.size} differ, first "
                            f"at {np.flatnonzero(~same)[0]}: {got[~same][:3]} vs {ref[~same][:3]}")


def _check_report(heap: dict, alloc: dict, open_: tuple, expected: dict, read) -> None:
    for name, _ in CALLS:
        assert alloc[name] == 0, (name, alloc[name])
    # float results: one float object, i.e. one GC block (16 bytes on 32-bit ports, 32 on
    # 64-bit ones), or nothing on ports whose floats are not heap objects
    for name in ("dbfs", "leq", "Median.update"):
        assert alloc[f"{name} (returns a float)"] <= 32, alloc
    # RFFT(512): the struct, n + 2 floats of scratch and 5n/4 floats of twiddles
    assert heap["RFFT(512)"] <= 4 * (514 + 640) + 128, heap
    # events: the device reports onsets and offsets as they happen; the host also closes
    # an event still open at the end
    ev = expected["events"].reshape(-1, 2)
    got = np.frombuffer(read("events.out"), dtype=np.int32).reshape(-1, 2)
    last_onset, n_onsets, n_offsets = open_
    assert len(ev) > 0 and n_onsets == len(ev) and n_offsets == len(got), (open_, ev, got)
    np.testing.assert_array_equal(got, ev[:len(got)])
    if len(got) < len(ev):  # open at the end
        assert len(got) == len(ev) - 1 and last_onset == ev[-1, 0]


# --- tests ---------------------------------------------------------------------------------


def test_unix_port_matches_host(tmp_path, capsys):
    """Every output bit-identical to microlearn.dsp on FSDD audio and UCI HAR windows;
    zero heap per call; heap of the module and each object reported."""
    mp_unix.require_unix()
    module = _module("x64")
    cfg, files, host = _inputs(small=False)
    expected = _expected(cfg, host)
    (tmp_path / "microlearn_dsp.mpy").write_bytes(module)
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    r = mp_unix.run_unix(_script(cfg), tmp_path, timeout=300)
    assert r.returncode == 0 and "DONE" in r.stdout, r.stdout + r.stderr
    _compare(expected, lambda name: (tmp_path / name).read_bytes())
    heap, alloc, open_ = _report(r.stdout)
    _check_report(heap, alloc, open_, expected, lambda name: (tmp_path / name).read_bytes())
    with capsys.disabled():
        print(f"\nmicrolearn_dsp x64: {len(module)} bytes; heap {heap}")


def test_errors_are_exceptions(tmp_path):
    """Wrong types, lengths and parameters raise TypeError / ValueError, never crash."""
    mp_unix.require_unix()
    (tmp_path / "microlearn_dsp.mpy").write_bytes(_module("x64"))
    cases = [
        ("dsp.RFFT(17)", "ValueError"), ("dsp.RFFT(8192)", "ValueError"),
        ("dsp.RFFT('a')", "TypeError"), ("f.rfft(x16, o)", "ValueError"),
        ("f.rfft(xh, o)", "TypeError"), ("f.rfft(x, array.array('f', [0.0]))", "ValueError"),
        ("f.rfft([0.0] * 16, o)", "TypeError"), ("f.rfft(x, bytes(72))", "TypeError"),
        ("f.rfft(mv[0:16], mv)", "ValueError"), ("f.power(x, array.array('h', bytes(18)))",
                                                  "TypeError"),
        ("q.rfft(x, o)", "TypeError"), ("q.power(xh, array.array('f', bytes(36)))", "TypeError"),
        ("q.spectral(x, 50, x, o)", "TypeError"),
        ("f.spectral(x, -1.0, array.array('f', [0, 1]), o)", "ValueError"),
        ("f.spectral(x, 50, array.array('f', [2, 1]), o)", "ValueError"),
        ("dsp.window('kaiser', x)", "ValueError"), ("dsp.window(3, x)", "TypeError"),
        ("dsp.window('hann', array.array('f'))", "ValueError"),
        ("dsp.MFCC(b'MLMF' + bytes(44))", "ValueError"), ("dsp.MFCC(spec[:-4])", "ValueError"),
        ("dsp.MFCC(spec + b'1234')", "ValueError"), ("dsp.MFCC(bad_spec)", "ValueError"),
        ("dsp.MFCC(mel_spec).mfcc(x512, o)", "TypeError"), ("m.mfcc(x, o)", "ValueError"),
        ("m.mfcc(x512, array.array('f', bytes(8)))", "ValueError"),
        ("dsp.SOS(array.array('f', [1.0, 2.0]))", "ValueError"),
        ("dsp.SOS(array.array('f'))", "ValueError"), ("dsp.SOS(None)", "ValueError"),
        ("dsp.SOS(array.array('f', bytes(20))).process(x, array.array('f', [0.0]))",
         "ValueError"),
        ("dsp.SoundLevel(8000, None, 'medium')", "ValueError"),
        ("dsp.SoundLevel(-1, None)", "ValueError"), ("dsp.SoundLevel(8000, None, 0.1, 0)",
                                                      "ValueError"),
        ("dsp.dbfs(array.array('f'))", "ValueError"), ("dsp.leq(x, -1.0)", "ValueError"),
        ("dsp.window_features(x, bytes([12]), o)", "ValueError"),
        ("dsp.window_features(x, bytes(40), array.array('f', bytes(160)))", "ValueError"),
        ("dsp.window_features(x, bytes([0, 1]), array.array('f', [0.0]))", "ValueError"),
        ("dsp.Median(0)", "ValueError"), ("dsp.MovingAverage(-3)", "ValueError"),
        ("dsp.ExpSmooth(1.5)", "ValueError"), ("dsp.Hysteresis(0.7, 0.3)", "ValueError"),
        ("dsp.Events(0, 1)", "ValueError"), ("dsp.Majority(3, 0)", "ValueError"),
        ("dsp.Majority(3, 2).update(2)", "ValueError"),
        ("dsp.Majority(3, 2).process(x, bytearray(16))", "TypeError"),
        ("dsp.Median(3).process(xh, o)", "TypeError"),
        ("dsp.Hysteresis(0.2, 0.5).process(x, bytearray(3))", "ValueError"),
        ("dsp.Frames(array.array('f'), 4)", "ValueError"), ("dsp.Frames(x, 0)", "ValueError"),
        ("dsp.Frames(bytes(8), 1)", "TypeError"), ("fr.push(x, 17)", "ValueError"),
        ("fr.push(xh, 0)", "TypeError"), ("fr.push(x, -1)", "ValueError"),
    ]
    mel = mp_dsp.export_mel(sr=SR, n_fft=512, n_mels=20)
    spec = mp_dsp.export_mfcc(sr=SR, n_fft=512, n_mels=20, n_mfcc=5)
    bad = bytearray(spec)
    bad[48 + 2 * 20:48 + 2 * 20 + 2] = (600).to_bytes(2, "little")  # a filter past n_bins
    (tmp_path / "specs.bin").write_bytes(spec + mel + bytes(bad))
    script = [
        "import array, microlearn_dsp as dsp",
        f"d = open('specs.bin', 'rb').read(); spec = d[:{len(spec)}]",
        f"mel_spec = d[{len(spec)}:{len(spec) + len(mel)}]; bad_spec = d[{len(spec) + len(mel)}:]",
        "f = dsp.RFFT(16); q = dsp.RFFT(16, True); m = dsp.MFCC(spec)",
        "fr = dsp.Frames(array.array('f', bytes(32)), 3)",
        "x = array.array('f', range(16)); x16 = array.array('f', range(17))",
        "x512 = array.array('f', bytes(2048)); xh = array.array('h', range(16))",
        "o = array.array('f', bytes(72)); mv = memoryview(o)",
        "for code, want in CASES:",
        "    try:",
        "        eval(code)",
        "        print('NO ERROR', code)",
        "    except Exception as e:",
        "        print(type(e).__name__ if type(e).__name__ == want else 'WRONG ' + "
        "type(e).__name__, code, e)",
        "print('DONE')",
    ]
    text = "\n".join(script).replace("CASES", repr(cases)) + "\n"
    r = mp_unix.run_unix(text, tmp_path, timeout=60)
    assert r.returncode == 0 and "DONE" in r.stdout, r.stdout + r.stderr
    bad_lines = [ln for ln in r.stdout.splitlines() if ln.startswith(("NO ERROR", "WRONG"))]
    assert not bad_lines, "\n".join(bad_lines)


def test_qemu_cortex_m4f_matches_host(capsys):
    """armv7emsp module on emulated Cortex-M4F (MicroPython v1.23, QEMU): the same outputs
    bit-identical to the host on a few frames / windows, zero heap per call; instruction
    counts of one MFCC frame, one 512-point FFT, SOS on 256 samples and the 12 statistics
    of a 128-sample window."""
    if shutil.which("qemu-system-arm") is None:
        pytest.skip("tool missing: qemu-system-arm")
    from support import mp_qemu

    module = _module("armv7emsp")
    cfg, files, host = _inputs(small=True)
    expected = _expected(cfg, host)
    files = {**files, "microlearn_dsp.mpy": module}
    try:  # instruction counts need the QEMU plugin (its header, a host compiler)
        targets.qemu_plugin_path()
        count = True
    except (targets.ToolchainNotFoundError, MicrolearnError):
        count = False
    try:
        r = mp_qemu.run_qemu_micropython("m4", _script(cfg, bench=count), files,
                                         count_instructions=count, timeout=300,
                                         collect=[f"{k}.out" for k in expected])
    except mb.ToolNotFoundError as e:
        pytest.skip(f"tool missing: {e}")
    r.check()
    assert "DONE" in r.stdout, r.stdout
    _compare(expected, lambda name: r.files[name])
    heap, alloc, open_ = _report(r.stdout)
    _check_report(heap, alloc, open_, expected, lambda name: r.files[name])
    with capsys.disabled():
        print(f"\nmicrolearn_dsp armv7emsp: {len(module)} bytes; heap {heap}")
    if not count:
        return
    counts = np.asarray(r.instructions[-10:]).reshape(2, 5)[1]
    names = ["MFCC frame (512, 40 mels, 13)", "rfft(512)", "SOS 4 sections x 256",
             "window_features 12 x 128"]
    assert counts[1] - counts[0] < 45_000, counts  # docs/dsp.md: 36.0k
    with capsys.disabled():
        print("instructions per call (Cortex-M4F, incl. the MicroPython call): " +
              ", ".join(f"{n} {c - counts[0]}" for n, c in zip(names, counts[1:], strict=True)))


def test_docs_example_runs(tmp_path, monkeypatch):
    """docs/dsp.md, section MicroPython: the host block writes the files, the device block
    runs in the unix port and prints what the comments say."""
    mp_unix.require_unix()
    text = (REPO / "docs" / "dsp.md").read_text()
    section = text.split("\n## MicroPython", 1)[1].split("\n## ", 1)[0]
    host, device = [b.split("\n", 1)[1] for b in section.split("```")[1::2]
                    if b.startswith("python")]
    monkeypatch.chdir(tmp_path)
    exec(compile(host, "docs/dsp.md", "exec"), {})
    (tmp_path / "microlearn_dsp.mpy").write_bytes(_module("x64"))
    r = mp_unix.run_unix(device, tmp_path, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines() == ["frames 29 L_AF -9.1 dB", "rms 0.354"], r.stdout


def test_cli_build_and_arches_without_floats(tmp_path):
    """`microlearn micropython build --dsp` writes microlearn_dsp.mpy + package.json;
    arches whose dynamic runtime has no float objects are refused with the reason."""
    import json
    import subprocess
    import sys

    with pytest.raises(mb.MicroPythonBuildError, match="needs float objects"):
        mp_dsp.build("armv6m", tmp_path / "m0")
    if "x64" not in mb.available_natmod_arches():
        pytest.skip("tool missing: x64 native module toolchain")
    r = subprocess.run([sys.executable, "-m", "microlearn", "micropython", "build", "--dsp",
                        "--arch", "x64", "--out", str(tmp_path / "dist")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "microlearn_dsp.mpy" in r.stdout
    pkg = json.loads((tmp_path / "dist" / "package.json").read_text())
    assert pkg["urls"] == [["microlearn_dsp.mpy", "microlearn_dsp.mpy"]]
    assert (tmp_path / "dist" / "microlearn_dsp.mpy").stat().st_size > 0
