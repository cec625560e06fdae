"""Dsp family: microlearn.features transformers (MFCC, MelSpectrogram, TimeSeriesFeatures,
SoundLevel) converted alone and as the first step of pipelines, on real recordings (FSDD
spoken digits at 8 kHz, UCI HAR raw inertial windows at 50 Hz) plus very short windows,
silence, clipping and NaN.

Asserted: the C transform (generated header and model file) is bit-identical to the
transformer's (tolerance 0: both run the same DSP C); a pipeline's predict equals
scikit-learn's on 100% of the rows, predict_proba within the final family's stated bound;
corrupt model-file sections are refused with an error code (never a crash); the model
file runs in the MicroPython unix port (native module) with the host's bits; and on
emulated Cortex-M4F the generated C gives the host's bits.

Data: ``../shared/datasets`` relative to the repository (or /work/shared/datasets); the
tests that need it skip with a message when it is absent.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from conformance import blob_runner, check_conformance
from parity import mean_tolerance
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import microlearn
from microlearn import blob, families, targets
from microlearn.errors import ConversionError
from microlearn.families.dsp import section as dsp_section
from microlearn.families.linear.ir import decision_bounds
from microlearn.features import MFCC, MelSpectrogram, SoundLevel, TimeSeriesFeatures

U = 2.0 ** -24
REPO = Path(__file__).resolve().parents[2]
ML_ERR_MODEL, ML_ERR_UNSUPPORTED = -4, -6


def _datasets() -> Path | None:
    for root in (REPO.parent / "shared" / "datasets", Path("/work/shared/datasets")):
        if root.is_dir():
            return root
    return None


SPEAKERS = ("george", "jackson", "theo")
AUDIO_LEN = 4096  # 0.512 s at 8 kHz


@pytest.fixture(scope="module")
def fsdd() -> tuple[np.ndarray, np.ndarray]:
    """120 FSDD recordings (3 speakers x 10 digits x 4 takes), float32 in [-1, 1),
    cropped / zero-padded to 4096 samples; labels the digits."""
    from scipy.io import wavfile

    root = _datasets()
    d = None if root is None else root / "fsdd" / "recordings"
    if d is None or not d.is_dir():
        pytest.skip("FSDD recordings not found (../shared/datasets/fsdd)")
    X, y = [], []
    for s in SPEAKERS:
        for digit in range(10):
            for take in range(4):
                _, a = wavfile.read(d / f"{digit}_{s}_{take}.wav")
                a = (a.astype(np.float64) / 32768.0).astype(np.float32)[:AUDIO_LEN]
                X.append(np.pad(a, (0, AUDIO_LEN - a.size)))
                y.append(digit)
    return np.ascontiguousarray(X, dtype=np.float32), np.asarray(y)


@pytest.fixture(scope="module")
def har() -> tuple[np.ndarray, np.ndarray]:
    """300 UCI HAR windows: rows of 9 channels x 128 samples (channel after channel)."""
    root = _datasets()
    path = None if root is None else root / "uci_har_test" / "uci_har_test.npz"
    if path is None or not path.exists():
        pytest.skip("UCI HAR data not found (../shared/datasets/uci_har_test)")
    d = np.load(path)
    idx = np.linspace(0, len(d["X"]) - 1, 300).astype(int)
    X = d["X"][idx].transpose(0, 2, 1).reshape(len(idx), -1)
    return np.ascontiguousarray(X, dtype=np.float32), np.asarray(d["y"][idx], dtype=np.int64)


def _edge_rows(n: int, base: np.ndarray) -> np.ndarray:
    """Silence, full-scale clipping, a DC offset, an impulse and tiny noise (n samples)."""
    rng = np.random.default_rng(n)
    t = np.arange(n)
    rows = [np.zeros(n), np.clip(4.0 * base[:n], -1.0, 1.0),
            np.where((t // 8) % 2 == 0, 1.0, -1.0), np.full(n, 0.25),
            np.eye(1, n, n // 3).ravel(), 1e-6 * rng.standard_normal(n)]
    return np.asarray(rows, dtype=np.float32)


def _split(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return X[::2], y[::2]


# --- each transformer alone: bit-identical transforms, header == model file ----------------

AUDIO_TRANSFORMERS = {
    "mfcc": lambda: MFCC(sr=8000, n_fft=256, hop_length=128, n_mels=32, n_mfcc=13),
    "mfcc_lifter_topdb_hamming": lambda: MFCC(sr=8000, n_fft=512, hop_length=200,
                                              window="hamming", n_mels=40, n_mfcc=20,
                                              lifter=22, top_db=80.0, power=1.0, htk=True),
    "mfcc_norm_none_fmin": lambda: MFCC(sr=8000, n_fft=128, hop_length=333, n_mels=24,
                                        n_mfcc=24, norm=None, fmin=100.0, fmax=3500.0,
                                        mel_norm=None),
    "melspec_db": lambda: MelSpectrogram(sr=8000, n_fft=256, hop_length=256, n_mels=20),
    "melspec_power": lambda: MelSpectrogram(sr=8000, n_fft=1024, hop_length=512, n_mels=64,
                                            to_db=False, window="blackman"),
    "level": lambda: SoundLevel(fs=8000, levels=("leq", "lmax", "lmin", "dbfs")),
    "level_c_slow": lambda: SoundLevel(fs=8000, weighting="C", levels=("lmax", "leq"),
                                       time_weighting="slow", ref=2e-5),
    "level_z": lambda: SoundLevel(fs=8000, weighting="Z", levels=("dbfs", "lmin", "leq")),
}


@pytest.mark.parametrize("name", list(AUDIO_TRANSFORMERS))
def test_audio_transformer_alone(name, fsdd):
    X, _ = fsdd
    rows = np.vstack([X[::4], _edge_rows(AUDIO_LEN, X[7])])
    tr = AUDIO_TRANSFORMERS[name]().fit(X)
    m = check_conformance(tr, rows, atol=0.0, compilers=name == "mfcc")
    assert [s.family.name for s in m.steps] == ["dsp"] and m.kind == "transformer"
    got, ref = m.transform(rows), tr.transform(rows)
    same = (got.view(np.uint32) == ref.view(np.uint32)) | (np.isnan(got) & np.isnan(ref))
    assert same.all(), name
    assert m.exact_predict and "bit-identical" in m.exactness


def test_har_features_alone(har):
    X, _ = har
    tr = TimeSeriesFeatures(n_channels=9, features=("mean", "std", "var", "min", "max", "rms",
                                                    "ptp", "zero_crossings", "mean_crossings",
                                                    "skew", "kurtosis", "energy",
                                                    "band_energy", "dominant_frequency"),
                            fs=50.0, bands=[0.0, 1.0, 3.0, 8.0, 25.0]).fit(X)
    edge = np.vstack([_edge_rows(128, X[3, :128])] * 9)  # 6 x 9 channels: silence ... noise
    edge = edge.reshape(9, 6, 128).transpose(1, 0, 2).reshape(6, -1)
    nan = X[:2].copy()
    nan[0, 5] = np.nan  # channel 0 NaN: its features NaN (crossing counts as numpy)
    rows = np.vstack([X, edge, nan])
    m = check_conformance(tr, rows, atol=0.0)
    assert m.n_outputs == 9 * (12 + 4 + 1)
    assert np.isnan(m.transform(nan)[0, :17]).sum() >= 12


@pytest.mark.parametrize("n,features", [
    (1, ("mean", "min", "max", "std")),               # one-sample windows
    (16, ("rms", "dominant_frequency", "skew")),     # the shortest FFT, no bands
    (16, ("band_energy", "energy")),
])
def test_short_windows(n, features):
    rng = np.random.default_rng(n)
    X = np.vstack([rng.standard_normal((40, 2 * n)), np.zeros((1, 2 * n))]).astype(np.float32)
    tr = TimeSeriesFeatures(features=features, n_channels=2, fs=100.0,
                            bands=[0.0, 10.0, 50.0]).fit(X)
    check_conformance(tr, X, atol=0.0)


def test_one_frame_windows():
    """A window exactly one FFT long, and a hop longer than the window: one frame."""
    rng = np.random.default_rng(3)
    a = (0.1 * rng.standard_normal((20, 64))).astype(np.float32)
    for est, n in ((MFCC(sr=8000, n_fft=64, hop_length=32, n_mels=10, n_mfcc=5), 64),
                   (MelSpectrogram(sr=8000, n_fft=16, hop_length=100, n_mels=4), 40)):
        m = check_conformance(est.fit(a[:, :n]), a[:, :n], atol=0.0)
        assert m.steps[0].ir.n_frames == 1


# --- pipelines: one C function, one model file, scikit-learn's predictions ---------------


def _rf_proba_tol(pipe) -> dict[str, float]:
    return {"predict_proba": mean_tolerance(pipe[-1].n_estimators, 1.0)}


def _linear_tol(pipe, rows: np.ndarray) -> dict[str, float]:
    """decision_function within the linear family's certified bound E on the C's inputs to
    the last step (bit-identical to scikit-learn's here); predict_proba within
    2E(1 + 2E) + (k + 5)u (docs/families/linear.md)."""
    Z = microlearn.convert(pipe[:-1]).transform(rows)
    np.testing.assert_array_equal(Z, pipe[:-1].transform(rows))
    E = float(decision_bounds(microlearn.convert(pipe[-1]).ir, Z).max())
    k = len(pipe.classes_)
    return {"decision_function": E, "predict_proba": 2 * E * (1 + 2 * E) + (k + 5) * U}


def test_mfcc_forest_pipeline(fsdd):
    X, y = fsdd
    pipe = make_pipeline(MFCC(sr=8000, n_fft=256, hop_length=128, n_mels=32, n_mfcc=13),
                         StandardScaler(),
                         RandomForestClassifier(n_estimators=10, random_state=0))
    pipe.fit(*_split(X, y))
    rows = np.vstack([X, _edge_rows(AUDIO_LEN, X[11])])
    m = check_conformance(pipe, rows, atol=_rf_proba_tol(pipe), compilers=True)
    assert [s.family.name for s in m.steps] == ["dsp", "preprocessing", "trees"]
    assert m.n_features == AUDIO_LEN and m.exact_predict
    text = m.c_source("kws")
    assert text.count("static inline int32_t kws_predict(") == 1 and "ml_dsp_transform" in text
    assert 0.4 < float(np.mean(m.predict(X[1::2]) == y[1::2]))  # it learned something
    fp = m.footprint("cortex-m4f", estimate=True)
    assert fp.estimated and fp.flash_bytes > m.data_bytes


def test_mfcc_linear_pipeline(fsdd):
    X, y = fsdd
    pipe = make_pipeline(MFCC(sr=8000, n_fft=512, hop_length=256, n_mels=40, n_mfcc=13),
                         StandardScaler(), LogisticRegression(max_iter=2000))
    pipe.fit(*_split(X, y))
    rows = np.vstack([X, _edge_rows(AUDIO_LEN, X[5])])
    check_conformance(pipe, rows, atol=_linear_tol(pipe, rows))


def test_melspec_and_level_forest_pipelines(fsdd):
    X, y = fsdd
    for first in (MelSpectrogram(sr=8000, n_fft=256, hop_length=512, n_mels=16),
                  SoundLevel(fs=8000, levels=("leq", "lmax", "dbfs"))):
        pipe = make_pipeline(first, RandomForestClassifier(n_estimators=8, random_state=0))
        pipe.fit(*_split(X, y))
        rows = np.vstack([X, _edge_rows(AUDIO_LEN, X[9])[1:]])  # silence: -inf levels
        check_conformance(pipe, rows, atol=_rf_proba_tol(pipe))


@pytest.mark.parametrize("final", ["forest", "linear"])
def test_har_pipelines(har, final):
    X, y = har
    feats = TimeSeriesFeatures(n_channels=9, features=("mean", "std", "min", "max", "rms",
                                                       "zero_crossings", "skew",
                                                       "band_energy", "dominant_frequency"),
                               fs=50.0, bands=[0.0, 2.0, 6.0, 25.0])
    last = (RandomForestClassifier(n_estimators=10, random_state=0) if final == "forest"
            else LogisticRegression(max_iter=3000))
    pipe = make_pipeline(feats, StandardScaler(), last).fit(*_split(X, y))
    atol = _rf_proba_tol(pipe) if final == "forest" else _linear_tol(pipe, X)
    m = check_conformance(pipe, X, atol=atol)
    assert float(np.mean(m.predict(X[1::2]) == y[1::2])) > 0.6


# --- conversion errors -------------------------------------------------------------------


def test_registry_and_errors(fsdd):
    X, _ = fsdd
    for cls in (MFCC, MelSpectrogram, TimeSeriesFeatures, SoundLevel):
        assert families.lookup(cls()).name == "dsp"
        assert f"microlearn.{cls.__name__}" in families.family("dsp").estimators
    with pytest.raises(ConversionError, match="FFT sizes up to 1024"):
        microlearn.convert(MFCC(sr=8000, n_fft=2048, hop_length=1024).fit(X[:2]))
    from sklearn.exceptions import NotFittedError
    with pytest.raises(NotFittedError):
        microlearn.convert(MFCC())


# --- model file: corrupt sections are refused, never crash ---------------------------------


def _recrc(b: bytearray) -> bytes:
    struct.pack_into("<I", b, 12, zlib.crc32(bytes(b[16:])) & 0xFFFFFFFF)
    return bytes(b)


@pytest.fixture(scope="module")
def mfcc_blob() -> tuple[bytes, int, np.ndarray]:
    rng = np.random.default_rng(0)
    X = (0.1 * rng.standard_normal((4, 1024))).astype(np.float32)
    tr = MFCC(sr=8000, n_fft=256, hop_length=128, n_mels=20, n_mfcc=8).fit(X)
    data = microlearn.convert(tr).to_blob()
    return data, blob.read(data)[0]["offset"], X


def _put(data: bytes, off: int, value, fmt: str = "<I") -> bytes:
    b = bytearray(data)
    struct.pack_into(fmt, b, off, value)
    return _recrc(b)


def test_section_checks(mfcc_blob):
    data, S, X = mfcc_blob
    runner = blob_runner()
    assert runner.load(data) == 0
    sec = data[S:]
    rd = lambda off: struct.unpack_from("<I", sec, off)[0]  # noqa: E731
    bad = {
        "version": (0, 2), "kind": (4, 5), "flags": (36, 0x5),
        "n_fft not a power of two": (16, 255), "n_fft too large": (16, 8192),
        "hop 0": (20, 0), "frames overflow the window": (24, rd(24) + 1),
        "frames leave room for one more": (24, rd(24) - 1), "n_mels 0": (28, 0),
        "n_mfcc > n_mels": (32, 21), "to_db on MFCC": (36, rd(36) | 0x2),
        "unused field": (48, 1), "codes offset on MFCC": (104, 120),
        "n_outputs": (12, rd(12) + 1), "n_weights": (80, rd(80) + 1),
    }
    for what, (off, value) in bad.items():
        status = runner.load(_put(data, S + off, value))
        assert status in (ML_ERR_MODEL, ML_ERR_UNSUPPORTED, -5, -2), (what, status)
        assert status != 0, what
    assert runner.load(_put(data, S + 40, 0.0, "<f")) == ML_ERR_MODEL  # amin
    assert runner.load(_put(data, S + 44, float("nan"), "<f")) == ML_ERR_MODEL  # top_db
    for field in (84, 88, 92, 96, 100):  # every table's offset: past the end, misaligned
        for value in (len(sec), len(sec) - 4, 0xFFFFFFF0, 2, 0):
            assert runner.load(_put(data, S + field, value)) == ML_ERR_MODEL, (field, value)
    # a filter reaching past the spectrum
    start = rd(88)
    assert runner.load(_put(data, S + start, 200, "<H")) == ML_ERR_MODEL
    for n in (0, 4, 115, 116, len(sec) - 4):  # truncated sections (section size patched)
        b = bytearray(data)
        struct.pack_into("<I", b, 16 + 8, n)
        assert runner.load(_recrc(b)) < 0, n


def test_feature_and_level_section_checks(har):
    X, _ = har
    runner = blob_runner()
    tsf = TimeSeriesFeatures(n_channels=9, features=("mean", "band_energy"), fs=50.0,
                             bands=[0.0, 5.0, 25.0]).fit(X)
    data = microlearn.convert(tsf).to_blob()
    S = blob.read(data)[0]["offset"]
    sec = data[S:]
    codes, edges = struct.unpack_from("<I", sec, 104)[0], struct.unpack_from("<I", sec, 108)[0]
    assert runner.load(data) == 0
    assert runner.load(_put(data, S + codes, 12, "<i")) == ML_ERR_MODEL  # unknown id
    assert runner.load(_put(data, S + codes, -3, "<i")) == ML_ERR_MODEL
    assert runner.load(_put(data, S + edges + 4, 30.0, "<f")) == ML_ERR_MODEL  # not increasing
    assert runner.load(_put(data, S + 68, float("inf"), "<f")) == ML_ERR_MODEL  # fs
    assert runner.load(_put(data, S + 48, 3)) == ML_ERR_MODEL  # channels x length
    assert runner.load(_put(data, S + 52, 96)) in (ML_ERR_MODEL, -2)  # not a power of two
    lv = SoundLevel(fs=8000, levels=("leq", "lmax")).fit(X[:, :512])
    data = microlearn.convert(lv).to_blob()
    S = blob.read(data)[0]["offset"]
    assert runner.load(data) == 0
    assert runner.load(_put(data, S + 64, 65)) == ML_ERR_MODEL  # stages
    assert runner.load(_put(data, S + 72, 0.0, "<f")) == ML_ERR_MODEL  # tau
    assert runner.load(_put(data, S + 76, -1.0, "<f")) == ML_ERR_MODEL  # ref
    codes = struct.unpack_from("<I", data, S + 104)[0]
    assert runner.load(_put(data, S + codes + 4, 4, "<i")) == ML_ERR_MODEL


def test_random_corruption_never_crashes(mfcc_blob):
    """Random byte changes in the section header (CRC patched): the loader returns a code;
    when it accepts, every transform runs within its buffers (no crash)."""
    data, S, X = mfcc_blob
    runner = blob_runner()
    rng = np.random.default_rng(1)
    n_out = microlearn.convert(MFCC(sr=8000, n_fft=256, hop_length=128, n_mels=20, n_mfcc=8)
                               .fit(X)).n_outputs
    accepted = 0
    for _ in range(400):
        b = bytearray(data)
        for _ in range(int(rng.integers(1, 4))):
            b[S + int(rng.integers(0, dsp_section.HEADER_BYTES))] = int(rng.integers(0, 256))
        d = _recrc(b)
        status = runner.load(d)
        assert status in (0, ML_ERR_MODEL, ML_ERR_UNSUPPORTED, -2, -5), status
        if status == 0:
            accepted += 1
            info = runner.info(d)
            if info["n_features"] == X.shape[1] and info["n_outputs"] <= 4 * n_out:
                s, _ = runner.call(d, "transform", X, info["n_outputs"])
                assert s == 0
    assert accepted >= 1


# --- MicroPython (unix port, native module) and emulated Cortex-M4F ------------------------


def test_micropython_unix(fsdd, tmp_path):
    """A raw-audio pipeline model file in the unix port: array('f') windows of samples in,
    predict / predict_proba bit-identical to the host C (and scikit-learn's classes)."""
    from test_micropython_families import _assert_bit_identical, _run_unix

    from microlearn import mp_module

    assert "dsp" in mp_module.NATIVE_FAMILIES
    X, y = fsdd
    pipe = make_pipeline(MFCC(sr=8000, n_fft=256, hop_length=128, n_mels=32, n_mfcc=13),
                         StandardScaler(),
                         RandomForestClassifier(n_estimators=5, max_depth=8, random_state=0))
    pipe.fit(*_split(X, y))
    rows = np.vstack([X[1::6], _edge_rows(AUDIO_LEN, X[3])])
    m = microlearn.convert(pipe)
    host, dev = _run_unix(m, rows, tmp_path)
    _assert_bit_identical(host, dev, m, pipe)
    np.testing.assert_array_equal(pipe.classes_[dev["predict"]], pipe.predict(rows))
    # the feature extractor alone: transform
    mt = microlearn.convert(pipe[:1])
    (tmp_path / "t").mkdir()
    host, dev = _run_unix(mt, rows[:6], tmp_path / "t")
    _assert_bit_identical(host, dev, mt, pipe[:1])


def test_cortex_m4f_bit_identical(fsdd):
    reason = targets.unavailable_reason("cortex-m4f")
    if reason:
        pytest.skip(f"toolchain missing: {reason}")
    X, y = fsdd
    pipe = make_pipeline(MFCC(sr=8000, n_fft=256, hop_length=128, n_mels=32, n_mfcc=13),
                         StandardScaler(),
                         RandomForestClassifier(n_estimators=10, random_state=0))
    pipe.fit(*_split(X, y))
    rows = np.vstack([X[1::12], _edge_rows(AUDIO_LEN, X[3])[:2]])
    m = microlearn.convert(pipe)
    rep = m.verify_on_target("cortex-m4f", rows)
    assert rep.ok, rep
    np.testing.assert_array_equal(m.predict(rows), pipe.predict(rows))


def fuzz_seed() -> bytes:
    """A small raw-audio pipeline model file (MFCC + scaler + tree: 512 samples in), the
    dsp seed of the libFuzzer corpus (tests/test_blob.py)."""
    from sklearn.tree import DecisionTreeClassifier

    rng = np.random.default_rng(0)
    X = (0.1 * rng.standard_normal((30, 512))).astype(np.float32)
    pipe = make_pipeline(MFCC(sr=8000, n_fft=128, hop_length=64, n_mels=16, n_mfcc=6),
                         StandardScaler(), DecisionTreeClassifier(max_depth=3, random_state=0))
    return microlearn.convert(pipe.fit(X, np.arange(30) % 3)).to_blob()


def test_docs_example(fsdd, tmp_path):
    """The runnable example of docs/families/dsp.md (raw audio -> MFCC -> forest -> C)."""
    import re
    import subprocess
    import sys

    text = (REPO / "docs" / "families" / "dsp.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    code = code.replace('Path("../shared/datasets/fsdd/recordings")',
                        f'Path({str(REPO.parent / "shared/datasets/fsdd/recordings")!r})')
    code = code.replace('print(model.footprint("cortex-m4f", X[test][:10]))', "")
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "test accuracy" in r.stdout and (tmp_path / "digits.h").is_file()
    assert (tmp_path / "digits.mlb").stat().st_size > 0
