"""``microlearn device run`` / ``record`` without hardware.

- MicroPython path (mpremote raw REPL): the unix MicroPython port's REPL behind a pty pair
  (tests/support/pty_device.py); the unix port supports the raw REPL and raw-paste mode.
- C firmware path (``--protocol line``, ml_lineproto.h): the same firmware source built for
  the host (behind a pty pair) and for QEMU mps2 Cortex-M4F with its CMSDK UART on a pty.
- Recorder: microlearn_recorder streaming live from the unix port, and a recording written
  to "flash" (a file) fetched over the REPL.
Every device answer is compared with the same model file run on the host through the C
runtime, on real rows (iris, digits) and adversarial ones; the failure cases check the
error each one must produce.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits, load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from support import lineproto_fw as fw
from support import mp_unix
from support.pty_device import PtyDevice

import microlearn
from microlearn.cli import main
from microlearn.device import (
    CorruptLineError,
    DeviceTimeoutError,
    NoDeviceError,
    NoModuleError,
    run_lineproto,
    run_micropython,
)
from microlearn.device.host import HostModel
from microlearn.device.record import RECORDER_PY
from microlearn.features import MFCC

ADVERSARIAL = np.array([0.0, -0.0, 1e30, -1e30, 1e-40, -3.5, 123456.0, np.float32(0.1)])


def _adversarial_rows(n_features: int, rng: np.random.Generator) -> np.ndarray:
    return rng.choice(ADVERSARIAL, size=(12, n_features)).astype(np.float32)


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    """name -> (model file, rows .npy): iris forest (classes), digits logistic (floats), and
    MFCC + forest on raw audio windows (a DSP front end: rows are raw recordings)."""
    d = tmp_path_factory.mktemp("device-models")
    rng = np.random.default_rng(0)
    out = {}
    X, y = load_iris(return_X_y=True)
    rf = RandomForestClassifier(n_estimators=8, max_depth=5, random_state=0).fit(X, y)
    Xd, yd = load_digits(return_X_y=True)
    lr = LogisticRegression(max_iter=300).fit(Xd[:1000], yd[:1000])
    # raw audio windows (3 tones) -> MFCC -> forest: a row is one window of raw samples
    t = np.arange(256) / 8000
    Xa = np.array([np.sin(2 * np.pi * (f + rng.normal(0, 30)) * t + rng.uniform(0, 6))
                   * rng.uniform(0.2, 1) + rng.normal(0, 0.05, t.size)
                   for f in np.tile([300, 1200, 2500], 20)], dtype=np.float32)
    ya = np.tile([0, 1, 2], 20)
    dsp = make_pipeline(MFCC(sr=8000, n_fft=64, hop_length=32, n_mels=16, n_mfcc=8),
                        RandomForestClassifier(n_estimators=10, random_state=0)).fit(Xa, ya)
    for name, est, rows in (("iris", rf, X), ("digits", lr, Xd[1000:1200]), ("dsp", dsp, Xa)):
        blob = d / f"{name}.mlb"
        microlearn.convert(est).save_blob(blob)
        data = np.vstack([rows, _adversarial_rows(rows.shape[1], rng)]).astype(np.float32)
        np.save(d / f"{name}_X.npy", data)
        out[name] = (blob, d / f"{name}_X.npy")
        _SOURCES[name] = (est, np.asarray(rows, dtype=np.float32))
    return out


_SOURCES: dict = {}  # name -> (fitted estimator, real rows), filled by the models fixture


def test_host_reference_is_the_source_model(models):
    """The host side of the comparison (the model file through the C runtime) gives the
    scikit-learn model's answers on the real rows."""
    for name, (blob, _) in models.items():
        est, rows = _SOURCES[name]
        host = HostModel(blob.read_bytes())
        np.testing.assert_array_equal(host.run("predict", rows), est.predict(rows))
        if name == "digits":
            np.testing.assert_allclose(host.run("predict_proba", rows),
                                       est.predict_proba(rows), rtol=1e-4, atol=1e-6)


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    """The unix MicroPython REPL behind a pty, with the native x64 microlearn_mp in its
    working directory (the board's filesystem)."""
    exe = mp_unix.require_unix()
    mod = mp_unix.native_x64()
    d = tmp_path_factory.mktemp("board")
    shutil.copy(mod, d / mod.name)
    with PtyDevice([str(exe)], d) as dev:
        dev.fs = d
        yield dev


def _fresh_board(tmp_path: Path, **kw) -> PtyDevice:
    return PtyDevice([str(mp_unix.require_unix())], tmp_path, **kw)


# --------------------------------------------------------------------------------------
# MicroPython boards over the raw REPL (mpremote)


@pytest.mark.parametrize("name", ["iris", "digits", "dsp"])
def test_run_micropython_agrees_with_host(board, models, name, capsys):
    blob, data = models[name]
    rc = main(["device", "run", "--port", board.port, "--model", str(blob), "--data", str(data),
               "--timeout", "10"])
    out = capsys.readouterr()
    assert rc == 0, out
    assert "agreement 100.00%" in out.out
    assert "per inference" in out.out and "us (measured on the device)" in out.out
    assert "rows: 100.0%" in out.err  # progress on stderr
    # the model file really is on the board
    assert (board.fs / "microlearn_model.mlb").read_bytes() == blob.read_bytes()


def test_run_micropython_float_outputs_equal_host(board, models):
    blob, data = models["digits"]
    host = HostModel(blob.read_bytes())
    X = np.load(data)
    cmp = run_micropython(board.port, blob, data, method="predict_proba", progress=False,
                          rtol=0, atol=0)  # same C on the same arch: bit for bit
    assert cmp.n_rows == len(X) and cmp.n_agree == len(X)
    assert host.run("predict_proba", X).shape == (len(X), 10)


def test_run_micropython_disagreement_exits_1(board, models, tmp_path, capsys):
    blob, data = models["iris"]
    y = HostModel(blob.read_bytes()).run("predict", np.load(data))
    wrong = y.copy()
    wrong[[3, 70, 140]] = (wrong[[3, 70, 140]] + 1) % 3
    np.save(tmp_path / "y.npy", wrong)
    rc = main(["device", "run", "--port", board.port, "--model", str(blob), "--data", str(data),
               "--expect", str(tmp_path / "y.npy"), "-q"])
    out = capsys.readouterr().out
    assert rc == 1
    n = len(y)
    assert f"agreement {100 * (n - 3) / n:.2f}% ({n - 3}/{n} rows)" in out
    assert "first disagreement at row 3" in out


def test_run_micropython_installs_module(models, tmp_path, capsys):
    """A board without the module: a clear error; with --module it is installed and runs
    (the pure-Python fallback module: small, trees only)."""
    blob, data = models["iris"]
    with _fresh_board(tmp_path) as dev:
        with pytest.raises(NoModuleError, match="has no microlearn_mp module: run `microlearn "
                                                "micropython build"):
            run_micropython(dev.port, blob, data, progress=False, timeout=5)
        rc = main(["device", "run", "--port", dev.port, "--model", str(blob), "--data",
                   str(data), "--module", str(microlearn.mp_module.FALLBACK_PY)])
        out = capsys.readouterr()
        assert rc == 0, out.err
        assert "agreement 100.00%" in out.out
        assert "writing microlearn_mp.py (bytes): 100.0%" in out.err
    assert (tmp_path / "microlearn_mp.py").read_bytes() == \
        microlearn.mp_module.FALLBACK_PY.read_bytes()


def test_missing_module_cli_message(models, tmp_path, capsys):
    blob, data = models["iris"]
    with _fresh_board(tmp_path) as dev:
        rc = main(["device", "run", "--port", dev.port, "--model", str(blob), "--data",
                   str(data), "-q"])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert len(err.splitlines()) == 1
    assert err.startswith("microlearn: error: board on ") and "no microlearn_mp module" in err


def test_wrong_port(models, tmp_path, capsys):
    blob, data = models["iris"]
    port = str(tmp_path / "ttyNOPE")
    with pytest.raises(NoDeviceError, match="no such device: cannot open port"):
        run_micropython(port, blob, data, progress=False)
    for proto in ("mpremote", "line"):
        rc = main(["device", "run", "--port", port, "--model", str(blob), "--data", str(data),
                   "--protocol", proto])
        err = capsys.readouterr().err
        assert rc == 2 and f"no such device: cannot open port '{port}'" in err


def test_silent_device_times_out(models, tmp_path):
    """A device that never answers: the timeout error comes within the timeout."""
    blob, data = models["iris"]
    with _fresh_board(tmp_path, mute=True) as dev:
        t0 = time.monotonic()
        with pytest.raises(DeviceTimeoutError, match="stalled: no .*within 1.5 s"):
            run_micropython(dev.port, blob, data, timeout=1.5, progress=False)
        assert time.monotonic() - t0 < 1.5 + 3.0


def test_device_stalling_mid_run(board, models, tmp_path):
    """The board stops answering after its first result line."""
    blob, data = models["digits"]
    shutil.copy(mp_unix.native_x64(), tmp_path / "microlearn_mp.mpy")
    with _fresh_board(tmp_path, stall_after=b"MLR ") as dev:
        t0 = time.monotonic()
        with pytest.raises(DeviceTimeoutError, match=r"while running rows 0\.\.\d+"):
            run_micropython(dev.port, blob, data, timeout=1.0, progress=False)
        assert dev.stalled
        assert time.monotonic() - t0 < 15


def _flip_in(marker: bytes, offset: int):
    """Corrupt the byte ``offset`` bytes after the first ``marker`` the device sends."""
    st = {"seen": b"", "target": None, "pos": 0}

    def corrupt(data: bytes) -> bytes:
        base = st["pos"]
        st["pos"] += len(data)
        if st["target"] is None:
            st["seen"] += data
            i = st["seen"].find(marker)
            if i < 0:
                return data
            st["target"] = i + offset
        t = st["target"] - base
        if 0 <= t < len(data):
            b = bytearray(data)
            b[t] = ord("A") if b[t] != ord("A") else ord("B")
            return bytes(b)
        return data

    return corrupt


def test_corrupted_result_line(models, tmp_path):
    blob, data = models["iris"]
    shutil.copy(mp_unix.native_x64(), tmp_path / "microlearn_mp.mpy")
    # inside the base64 of the first chunk's outputs (after "MLR 150 <us> <crc> ")
    with _fresh_board(tmp_path, corrupt=_flip_in(b"MLR ", 40)) as dev:
        with pytest.raises(CorruptLineError,
                           match=r"corrupted line from the device for rows 0\.\.\d+"):
            run_micropython(dev.port, blob, data, timeout=5, progress=False)


# --------------------------------------------------------------------------------------
# C firmware over the line protocol (ml_lineproto.h)


@pytest.fixture(scope="module")
def host_firmware(models, tmp_path_factory):
    """name -> host-built firmware serving predict (iris, dsp) / predict_proba (digits)."""
    d = tmp_path_factory.mktemp("fw")
    return {  # each with only its model's families compiled in (ML_MODEL_FAMILIES)
        "iris": fw.build_host(d / "iris", models["iris"][0].read_bytes(), 0, 1,
                              "X(1, trees)"),
        "digits": fw.build_host(d / "digits", models["digits"][0].read_bytes(), 1, 10,
                                "X(2, linear)"),
        "dsp": fw.build_host(d / "dsp", models["dsp"][0].read_bytes(), 0, 1,
                             "X(1, trees) X(9, dsp)"),
    }


@pytest.mark.parametrize("name,method", [("iris", "predict"), ("digits", "predict_proba"),
                                         ("dsp", "predict")])
def test_line_protocol_host_firmware(host_firmware, models, name, method, tmp_path, capsys):
    blob, data = models[name]
    with PtyDevice([str(host_firmware[name])], tmp_path) as dev:
        rc = main(["device", "run", "--protocol", "line", "--port", dev.port, "--model",
                   str(blob), "--data", str(data), "--method", method, "--atol", "0",
                   "--rtol", "0"])
    out = capsys.readouterr().out
    assert rc == 0, out
    n = len(np.load(data))
    assert f"agreement 100.00% ({n}/{n} rows)" in out
    assert "per inference" in out  # the host firmware has a clock


def test_line_protocol_corrupted_and_stalled(host_firmware, models, tmp_path):
    blob, data = models["iris"]
    exe = [str(host_firmware["iris"])]
    with PtyDevice(exe, tmp_path, corrupt=_flip_in(b"R 5 ", 4)) as dev:
        with pytest.raises(CorruptLineError, match="corrupted line from the device for row 5 "
                                                   r"\(checksum mismatch\)"):
            run_lineproto(dev.port, blob, data, timeout=5, progress=False)
    with PtyDevice(exe, tmp_path, stall_after=b"R 7 ") as dev:
        t0 = time.monotonic()
        with pytest.raises(DeviceTimeoutError, match="answer to row 7"):
            run_lineproto(dev.port, blob, data, timeout=1.0, progress=False)
        assert time.monotonic() - t0 < 4
    with PtyDevice(exe, tmp_path, mute=True) as dev, \
            pytest.raises(DeviceTimeoutError, match="hello line"):
        run_lineproto(dev.port, blob, data, timeout=1.0, progress=False)


def test_line_protocol_qemu_uart(models, tmp_path):
    """The firmware for Cortex-M4F on QEMU mps2-an386, talking through its emulated UART."""
    from microlearn import targets

    reason = targets.unavailable_reason("cortex-m4f")
    if reason is not None:
        pytest.skip(f"tool missing: {reason}")
    blob, data = models["iris"]
    elf = fw.build_qemu(tmp_path, blob.read_bytes(), 0, 1, families="X(1, trees)")
    with fw.QemuUart(elf) as q:
        cmp = run_lineproto(q.port, blob, data, timeout=10, progress=False, limit=60)
    assert cmp.n_rows == 60 and cmp.n_agree == 60
    assert cmp.device_us is None  # no clock in this firmware: "-"


# --------------------------------------------------------------------------------------
# recording


_STREAM = """
import microlearn_recorder as r
i = [0]
def read():
    i[0] += 1
    k = i[0]
    return (k, k * 0.5, -k)
r.stream(read, 3, period_ms=1, n=400)
"""


def _expected(n: int) -> np.ndarray:
    k = np.arange(1, n + 1, dtype=np.float32)
    return np.stack([k, k * 0.5, -k], axis=1)


def test_record_stream(tmp_path, capsys):
    exe = mp_unix.require_unix()
    shutil.copy(RECORDER_PY, tmp_path / RECORDER_PY.name)
    (tmp_path / "stream.py").write_text(_STREAM)
    with PtyDevice([str(exe), "stream.py"], tmp_path) as dev:
        rc = main(["device", "record", "--port", dev.port, "--out", str(tmp_path / "a.csv"),
                   "--label", "walk", "--samples", "150", "-q"])
    assert rc == 0
    assert "recorded 150 samples x 3 channels" in capsys.readouterr().out
    rows = (tmp_path / "a.csv").read_text().splitlines()
    assert rows[0] == "t_s,ch0,ch1,ch2,label" and len(rows) == 151
    vals = np.array([[float(v) for v in r.split(",")[1:4]] for r in rows[1:]], np.float32)
    # the stream started before the port was opened: a contiguous run of the sequence
    first = int(vals[0, 0])
    np.testing.assert_array_equal(vals, _expected(first + 149)[first - 1:])
    t = np.array([float(r.split(",")[0]) for r in rows[1:]])
    assert t[0] == 0 and np.all(np.diff(t) > 0)  # device timestamps, ~1 ms apart
    assert all(r.endswith(",walk") for r in rows[1:])


def test_record_stream_corrupted_line(tmp_path):
    from microlearn.device.record import record_stream

    shutil.copy(RECORDER_PY, tmp_path / RECORDER_PY.name)
    (tmp_path / "stream.py").write_text(_STREAM)
    with PtyDevice([str(mp_unix.require_unix()), "stream.py"], tmp_path,
                   corrupt=_flip_in(b" 20 10.0 -20 *", 14)) as dev:  # the CRC
        with pytest.raises(CorruptLineError, match=r"corrupted line \d+ from the device "
                                                   r"\(CRC-32 mismatch\)"):
            record_stream(dev.port, samples=400, timeout=5, progress=False)


def test_record_from_flash(tmp_path, capsys):
    """microlearn_recorder writes fixed-size chunks to a file on the board; `device record
    --from-flash` installs the recorder over the REPL if needed and fetches them."""
    shutil.copy(RECORDER_PY, tmp_path / RECORDER_PY.name)
    script = ("import microlearn_recorder as r\n"
              "rec = r.Recorder('rec.bin', 3, capacity=64, typecode='h')\n"
              "for k in range(1, 301):\n"
              "    rec.append((k, 2 * k, -k), t_us=1000 * k)\n"
              "rec.close()\n")
    proc = mp_unix.run_unix(script, tmp_path, timeout=30)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "rec.bin").stat().st_size == 5 * (16 + 64 * (4 + 6) + 4)
    (tmp_path / RECORDER_PY.name).unlink()  # the command installs it
    with _fresh_board(tmp_path) as dev:
        rc = main(["device", "record", "--port", dev.port, "--from-flash", "rec.bin",
                   "--out", str(tmp_path / "r.npy"), "--label", "idle", "-q"])
    assert rc == 0, capsys.readouterr()
    arr = np.load(tmp_path / "r.npy")
    assert arr.shape == (300,) and set(arr["label"]) == {"idle"}
    k = np.arange(1, 301, dtype=np.float32)
    np.testing.assert_array_equal(arr["x"], np.stack([k, 2 * k, -k], axis=1))
    np.testing.assert_allclose(arr["t"], np.arange(300) * 1e-3)
    assert (tmp_path / RECORDER_PY.name).read_bytes() == RECORDER_PY.read_bytes()


def test_record_from_flash_corrupted_chunk(tmp_path):
    from microlearn.device.record import record_flash

    shutil.copy(RECORDER_PY, tmp_path / RECORDER_PY.name)
    script = ("import microlearn_recorder as r\n"
              "rec = r.Recorder('rec.bin', 2, capacity=32, typecode='f')\n"
              "for k in range(100):\n"
              "    rec.append((k * 0.25, -k))\n"
              "rec.close()\n")
    assert mp_unix.run_unix(script, tmp_path, timeout=30).returncode == 0
    data = bytearray((tmp_path / "rec.bin").read_bytes())
    size = 16 + 32 * 12 + 4
    data[2 * size + 40] ^= 0x10  # a bit flip in the third chunk, as flash wear would do
    (tmp_path / "rec.bin").write_bytes(bytes(data))
    with _fresh_board(tmp_path) as dev:
        with pytest.raises(CorruptLineError, match=r"corrupted chunk 2 \(sequence 2\): "
                                                   "CRC-32 mismatch"):
            record_flash(dev.port, "rec.bin", timeout=5, progress=False)


@pytest.mark.parametrize("argv,msg", [
    (["record", "--port", "/dev/null", "--out", "x.npy"], "give --seconds or --samples"),
    (["run", "--protocol", "line", "--port", "/dev/null", "--data", "x.npy"],
     "--protocol line needs --model (run on the host) or --expect"),
    (["run", "--port", "/dev/null", "--data", "x.npy"], "--model is required"),
])
def test_cli_usage_errors(argv, msg, capsys):
    assert main(["device", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("microlearn: error: ") and msg in err and "\n" not in err


def test_bad_data_file_names_the_file(models, tmp_path, capsys):
    blob, _ = models["iris"]
    np.save(tmp_path / "wrong.npy", np.zeros((5, 3), np.float32))
    rc = main(["device", "run", "--port", "/dev/null", "--model", str(blob), "--data",
               str(tmp_path / "wrong.npy")])
    err = capsys.readouterr().err
    assert rc == 2 and "wrong.npy: rows must have 4 values (the model's inputs)" in err


def test_record_stream_seconds_and_silence(tmp_path):
    from microlearn.device.record import record_stream

    shutil.copy(RECORDER_PY, tmp_path / RECORDER_PY.name)
    (tmp_path / "stream.py").write_text(_STREAM.replace("n=400", "n=None"))  # forever
    exe = str(mp_unix.require_unix())
    with PtyDevice([exe, "stream.py"], tmp_path) as dev:
        t0 = time.monotonic()
        rec = record_stream(dev.port, seconds=0.4, timeout=5, progress=False)
        assert 0.4 <= time.monotonic() - t0 < 2
    n = len(rec.values)
    assert n > 10
    first = int(rec.values[0, 0])
    np.testing.assert_array_equal(rec.values, _expected(first + n - 1)[first - 1:])
    with PtyDevice([exe, "stream.py"], tmp_path, mute=True) as dev:
        t0 = time.monotonic()
        with pytest.raises(DeviceTimeoutError, match="no sample line for 1 s"):
            record_stream(dev.port, seconds=30, timeout=1.0, progress=False)
        assert time.monotonic() - t0 < 3


def test_run_micropython_on_qemu_uart(models, capsys):
    """mpremote drives the bare-metal MicroPython on emulated Cortex-M4F (QEMU mps2-an386)
    through its UART (the firmware's --uart-repl, -serial pty). That port has no binascii
    and no time module: the helpers fall back to hex and report no timing. Its UART moves
    only ~1 KB/s, so the rows are few and the module goes straight into its filesystem."""
    from support.mp_qemu import QemuUartRepl

    from microlearn import targets
    from microlearn.mp_module import FALLBACK_PY

    reason = targets.unavailable_reason("cortex-m4f")
    if reason is not None:
        pytest.skip(f"tool missing: {reason}")
    blob, data = models["iris"]
    with QemuUartRepl("m4") as q:
        with pytest.raises(NoModuleError, match="no microlearn_mp module"):
            run_micropython(q.port, blob, data, limit=20, timeout=20, progress=False)
        shutil.copy(FALLBACK_PY, q.workdir / "microlearn_mp.py")  # the pure-Python module
        rc = main(["device", "run", "--port", q.port, "--model", str(blob), "--data", str(data),
                   "--limit", "40", "--timeout", "20", "-q"])
        out = capsys.readouterr().out
        assert rc == 0, out
        assert "agreement 100.00% (40/40 rows)" in out
        assert "per inference" not in out  # no time.ticks_us on this port
        assert (q.workdir / "microlearn_model.mlb").read_bytes() == blob.read_bytes()
