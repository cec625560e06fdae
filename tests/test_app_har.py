"""examples/har/har.py --quick (issue 12, application 1): human activity recognition on UCI
HAR raw windows. Asserts the held-out accuracy, that the C pipeline on this host gives
scikit-learn's classes, and that the device application - C on emulated Cortex-M4F, and
MicroPython in the unix port and on emulated Cortex-M4F - gives the host's decisions for
every test window."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from support.apps import int_rows, missing_device_tools, run_mp_app_m4f

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "examples" / "har" / "har.py"
DATA = ROOT.parent / "shared" / "datasets" / "uci_har_test" / "uci_har_test.npz"

# Floors: the full run (docs/apps/har.md) gives accuracy 0.9035 / macro-F1 0.8981 per
# window and 0.8562 / 0.8495 after the majority vote of 5 (random_state=0, deterministic);
# the margin of 0.03 absorbs scikit-learn versions changing the forest, not a regression.
ACCURACY_FLOOR = 0.87
MACRO_F1_FLOOR = 0.86
VOTE_ACCURACY_FLOOR = 0.82


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """Run the example once in --quick mode: (stdout, output folder)."""
    if not DATA.is_file():
        pytest.skip(f"dataset not found: {DATA} (UCI HAR, ../shared/datasets)")
    out = tmp_path_factory.mktemp("har")
    r = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--out", str(out)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-6000:]
    return r.stdout, out


def test_har_quick(quick_run):
    stdout, out = quick_run
    assert "OK: host C, C on the device and MicroPython give the same decisions" in stdout
    res = json.loads((out / "results.json").read_text())
    assert res["n_test"] == 1099 and res["n_train"] == 1848   # held out by subject
    assert res["host_c_agreement"] == 1.0                     # host C == scikit-learn
    assert res["accuracy"] >= ACCURACY_FLOOR, res
    assert res["macro_f1"] >= MACRO_F1_FLOOR, res
    assert res["accuracy_vote"] >= VOTE_ACCURACY_FLOOR, res
    # the device application: decisions (class and voted class per window) == the host's
    for key in ("qemu_m4f", "micropython_unix"):
        if key in res:
            assert res[key]["equal"] is True, res[key]
            assert res[key]["windows"] == res["n_test"]
    missing = missing_device_tools()
    if missing:   # the host part passed; the device part needs these tools
        pytest.skip(missing)
    assert "qemu_m4f" in res and "micropython_unix" in res, stdout[-3000:]
    assert 0 < res["qemu_m4f"]["instructions_mean"] < 1e6      # per window, features + forest
    assert (out / "har_model.h").is_file() and (out / "har.mlb").is_file()


# MicroPython on emulated Cortex-M4F: the example's application (main.py) with bench
# markers around the work of one window, on the first N_M4F windows of the recording
N_M4F = 120
M4F_APP = """\
import array, bench, microlearn_dsp as dsp, microlearn_mp as ml

model = ml.load("har.mlb")
n = model.n_features()
window = array.array("f", bytes(4 * n))
vote = dsp.Majority({vote}, model.n_outputs())
f = open("har_in.bin", "rb")
for i in range({n_windows}):
    f.readinto(window)
    bench.start()
    cls = model.predict(window)
    v = vote.update(cls)
    bench.stop()
    print(i, cls, v)
print("done")
"""


def test_har_micropython_on_emulated_m4f(quick_run):
    """The MicroPython application with armv7emsp native modules on QEMU Cortex-M4F gives
    the host's decisions (first N_M4F windows)."""
    from microlearn import micropython_build as mb
    from microlearn import mp_dsp, mp_module

    _, out = quick_run
    blob = out / "har.mlb"
    res = json.loads((out / "results.json").read_text())
    build = out / "armv7emsp"
    try:
        mod = mp_module.build("armv7emsp", build / "ml", mp_module.family_set(for_model=blob))[0]
        dmod = mp_dsp.build("armv7emsp", build / "dsp")[0]
    except mb.ToolNotFoundError as e:
        pytest.skip(f"tool missing: armv7emsp toolchain: {e}")
    n_bytes = N_M4F * 9 * 128 * 4
    files = {"har.mlb": blob.read_bytes(), "microlearn_mp.mpy": mod.read_bytes(),
             "microlearn_dsp.mpy": dmod.read_bytes(),
             "har_in.bin": (out / "har_in.bin").read_bytes()[:n_bytes]}
    r, count = run_mp_app_m4f(M4F_APP.format(vote=res["vote"], n_windows=N_M4F), files)
    rows = int_rows(r.stdout)
    host = np.load(out / "host_decisions.npz")
    assert len(rows) == N_M4F
    np.testing.assert_array_equal(rows[:, 1], host["cls"][:N_M4F])
    np.testing.assert_array_equal(rows[:, 2], host["vote"][:N_M4F])
    if count:
        ins = np.asarray(r.instructions)
        assert len(ins) == N_M4F
        print(f"\nMicroPython on emulated Cortex-M4F: {ins.mean():,.0f} instructions per window "
              f"(features + forest + vote, native modules {mod.stat().st_size:,} + "
              f"{dmod.stat().st_size:,} bytes)")
