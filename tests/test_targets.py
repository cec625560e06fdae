"""Target measurement machinery: cross-compile, run in QEMU, count instructions, sizes.

Uses hand-written model headers in tests/target_fixtures that follow the generated-header
contract, so these tests do not depend on the code generator. Targets whose toolchain or
QEMU is missing are skipped with the reason.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from microlearn import targets
from microlearn.errors import CompileError
from microlearn.targets import TargetRunError, ToolchainNotFoundError

FIXTURES = Path(__file__).resolve().parent / "target_fixtures"
# QEMU targets (the AVR target, run in simavr, is tested in tests/test_avr.py)
RUN_TARGETS = [name for name, spec in targets.TARGETS.items() if spec.qemu is not None]

f32 = np.float32
ABOVE_HALF = np.nextafter(f32(0.5), f32(1.0))

# threshold classifier: class 1 when x > 0.5; edge inputs included
X_THR = np.array(
    [[0.5], [ABOVE_HALF], [0.0], [-0.0], [np.inf], [-np.inf], [np.nan], [0.25], [1e30],
     [-1e-45]],
    dtype=np.float32,
)
# two-output regressor: out0 = 2*x0 + x1, out1 = x0 <= 0.25 ? -1.5 : sqrt(|x1|)
X_REG = np.array(
    [[0.25, 4.0], [np.nextafter(f32(0.25), f32(1.0)), 4.0], [0.3, -9.0], [-0.0, -0.0],
     [np.inf, 1.0], [np.inf, -np.inf], [1.0, np.nan], [1e-40, 2.0], [-3.5, 1e38],
     [7.0, 0.1]],
    dtype=np.float32,
)


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def thr_expected(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    cls = np.where(X[:, 0] <= f32(0.5), 0, 1).astype(np.int32)
    proba = np.stack([(cls == 0), (cls == 1)], axis=1).astype(np.float32)
    return cls, proba


def reg_expected(X: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", over="ignore"):
        out0 = f32(2.0) * X[:, 0] + X[:, 1]
        out1 = np.where(X[:, 0] <= f32(0.25), f32(-1.5), np.sqrt(np.abs(X[:, 1])))
    return np.stack([out0, out1], axis=1).astype(np.float32)


def assert_same_floats(actual: np.ndarray, expected: np.ndarray) -> None:
    """Bit-identical float32, except that any NaN matches any NaN (payloads differ by CPU)."""
    assert actual.dtype == np.float32 and actual.shape == expected.shape
    nan = np.isnan(expected)
    np.testing.assert_array_equal(np.isnan(actual), nan)
    np.testing.assert_array_equal(actual[~nan].view(np.uint32), expected[~nan].view(np.uint32))


def require(target: str) -> None:
    reason = targets.unavailable_reason(target)
    if reason is not None:
        pytest.skip(reason)
    try:
        targets.qemu_plugin_path()
    except ToolchainNotFoundError as exc:
        pytest.skip(f"instruction counting unavailable: {exc}")


@pytest.fixture(scope="module", params=RUN_TARGETS)
def thr_runs(request: pytest.FixtureRequest) -> tuple[targets.TargetRun, targets.TargetRun]:
    require(request.param)
    header = fixture("threshold_classifier.h")
    return tuple(  # type: ignore[return-value]
        targets.measure(request.param, header, "thr", "classifier", X_THR, n_outputs=2,
                        n_features=1)
        for _ in range(2)
    )


def test_table_is_complete() -> None:
    assert set(targets.TARGETS) == {"cortex-m0plus", "cortex-m4f", "cortex-m7", "rv32imc",
                                    "atmega328p", "host"}
    for name, spec in targets.TARGETS.items():
        assert spec.name == name
        assert spec.apt_packages
        assert "-Os" in spec.cflags and "-Werror" in spec.cflags
        assert spec.runs == (name != "host")


def test_one_table_of_cores() -> None:
    """CPU flags and QEMU machines come from targets.CORES for the measurement targets, the
    native-module builds and the QEMU MicroPython port alike."""
    from support import mp_qemu

    from microlearn import micropython_build as mb

    for name, spec in targets.TARGETS.items():
        if spec.core is None:
            assert (name == "host" and not spec.runs) or spec.simulator == "simavr"
            continue
        core = targets.CORES[spec.core]
        assert spec.cpu_flags == core.cpu_flags and spec.qemu == core.qemu
        assert spec.nm_tool == core.nm_tool
    assert set(mb._ARCH_CFLAGS) == set(targets.NATMOD_CORES) <= set(mb.NATMOD_ARCHES)
    for arch, flags in mb._ARCH_CFLAGS.items():
        core = targets.CORES[targets.NATMOD_CORES[arch]]
        assert flags == core.cpu_flags and core.natmod_arch == arch
    assert {c: (q.machine, q.natmod_arch) for c, q in mp_qemu.QEMU_CPUS.items()} == {
        "m4": ("mps2-an386", "armv7emsp"), "m0": ("mps2-an385", "armv6m")}


def test_icount_log() -> None:
    assert targets.parse_icount_log("R 10\nR 20\nT 99\n") == ([10, 20], 99)
    assert targets.parse_icount_log(" R 7 \n") == ([7], None)
    with pytest.raises(TargetRunError, match="without bench_start"):
        targets.parse_icount_log("R 1\nU\n")


def test_classifier_outputs_and_instructions(thr_runs) -> None:
    run, again = thr_runs
    cls, proba = thr_expected(X_THR)
    assert run.kind == "classifier" and run.machine
    assert run.outputs.dtype == np.int32
    np.testing.assert_array_equal(run.outputs, cls)
    np.testing.assert_array_equal(run.return_codes, cls)
    np.testing.assert_array_equal(run.proba_return_codes, 0)
    assert_same_floats(run.proba, proba)
    assert run.instructions.shape == (len(X_THR),)
    assert (run.instructions > 0).all()
    assert run.instructions_max == run.instructions.max() < 500
    assert run.instructions_mean == pytest.approx(run.instructions.mean())
    # deterministic: a second run counts exactly the same
    np.testing.assert_array_equal(run.instructions, again.instructions)
    assert (run.flash_bytes, run.ram_bytes, run.stack_bytes) == (
        again.flash_bytes, again.ram_bytes, again.stack_bytes)
    # plausible sizes for a single comparison (soft-float targets pull in a compare helper)
    assert 0 < run.flash_bytes < 2048
    assert 0 <= run.ram_bytes < 256
    assert 0 <= run.stack_bytes < 256


@pytest.mark.parametrize("target", RUN_TARGETS)
def test_regressor_bit_exact(target: str) -> None:
    require(target)
    run = targets.measure(target, fixture("two_output_regressor.h"), "reg2", "regressor",
                          X_REG, n_outputs=2, n_features=2)
    assert run.proba is None and run.proba_return_codes is None
    np.testing.assert_array_equal(run.return_codes, 0)
    assert_same_floats(run.outputs, reg_expected(X_REG))
    assert (run.instructions > 0).all()
    # the sqrtf branch costs more than the constant branch
    assert run.instructions[2] > run.instructions[0]
    assert 0 < run.flash_bytes < 8192
    assert 0 <= run.ram_bytes < 512
    assert run.stack_bytes > 0  # the sqrtf call needs a return address at least


@pytest.mark.parametrize("target", RUN_TARGETS)
def test_sizes_and_stack_scale(target: str, tmp_path: Path) -> None:
    require(target)
    X = np.array([[-1.0], [0.5], [1.0], [7.9], [254.99], [255.0], [1e9]], dtype=np.float32)
    tbl = targets.measure(target, fixture("table_regressor.h"), "tbl", "regressor", X,
                          n_outputs=1, n_features=1, build_dir=tmp_path / "tbl")
    idx = np.clip(np.floor(X[:, 0]), 0, 255).astype(np.int64)
    idx[X[:, 0] < 1.0] = 0
    expected = (idx.astype(np.float32) * f32(0.25) - f32(3.0)).astype(np.float32)
    assert_same_floats(tbl.outputs, expected[:, None])
    # the 1 KB table plus a little code (soft-float targets: compare/convert helpers too)
    assert 1024 <= tbl.flash_bytes < 2048
    assert tbl.ram_bytes == 0
    assert (tmp_path / "tbl" / "model.elf").is_file()  # build_dir keeps the build

    stk = targets.measure(target, fixture("stack_regressor.h"), "stk", "regressor", X,
                          n_outputs=1, n_features=1, count_instructions=False)
    assert_same_floats(stk.outputs, (X * f32(199.0)).astype(np.float32))
    assert stk.instructions is None and stk.instructions_mean is None
    assert 800 <= stk.stack_bytes < 800 + 256
    # a 4 KB local that this call leaves unwritten lies between the caller's written
    # words and a callee's 800-byte frame: the measurement still reaches the callee
    gap = targets.measure(target, fixture("stack_gap_regressor.h"), "gap", "regressor", X,
                          n_outputs=1, n_features=1, count_instructions=False)
    assert_same_floats(gap.outputs, (X * f32(199.0)).astype(np.float32))
    assert 4096 + 800 <= gap.stack_bytes < 4096 + 800 + 256

    fp = targets.footprint(target, fixture("table_regressor.h"), "tbl", "regressor",
                           n_outputs=1, n_features=1)
    assert (fp.flash_bytes, fp.ram_bytes) == (tbl.flash_bytes, tbl.ram_bytes)
    assert fp.firmware_flash_bytes > fp.flash_bytes


@pytest.mark.parametrize("target", RUN_TARGETS)
def test_fault_is_reported(target: str) -> None:
    require(target)
    header = fixture("fault_regressor.h")
    ok = targets.measure(target, header, "bad", "regressor", [[1.0]], n_outputs=1,
                         n_features=1, count_instructions=False)
    assert ok.outputs[0, 0] == 1.0
    with pytest.raises(TargetRunError, match="faulted"):
        targets.measure(target, header, "bad", "regressor", [[1.0], [500.0]], n_outputs=1,
                        n_features=1, count_instructions=False, timeout=30)


def test_host_footprint_only() -> None:
    if not targets.toolchain_available("host"):
        pytest.skip(targets.unavailable_reason("host"))
    run = targets.measure("host", fixture("table_regressor.h"), "tbl", "regressor",
                          np.zeros((3, 1), np.float32), n_outputs=1, n_features=1)
    assert run.outputs is None and run.instructions is None and run.stack_bytes is None
    assert run.flash_bytes >= 1024
    assert run.ram_bytes == 0


def test_header_contract_is_checked_at_compile_time() -> None:
    if not targets.toolchain_available("host"):
        pytest.skip(targets.unavailable_reason("host"))
    with pytest.raises(CompileError, match="N_FEATURES"):
        targets.footprint("host", fixture("threshold_classifier.h"), "thr", "classifier",
                          n_outputs=2, n_features=3)
    with pytest.raises(CompileError, match="_TASK"):
        targets.footprint("host", fixture("threshold_classifier.h"), "thr", "regressor",
                          n_outputs=2, n_features=1)


def test_bad_arguments() -> None:
    header = fixture("threshold_classifier.h")
    with pytest.raises(ValueError, match="unknown target"):
        targets.measure("z80", header, "thr", "classifier", X_THR, n_outputs=2, n_features=1)
    with pytest.raises(ValueError, match="C identifier"):
        targets.measure("host", header, "thr-1", "classifier", X_THR, n_outputs=2,
                        n_features=1)
    with pytest.raises(ValueError, match="kind"):
        targets.measure("host", header, "thr", "clusterer", X_THR, n_outputs=2, n_features=1)
    with pytest.raises(ValueError, match="shape"):
        targets.measure("host", header, "thr", "classifier", X_REG, n_outputs=2, n_features=1)


def test_missing_toolchain_gives_clear_error(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no tool is found
    monkeypatch.delenv("CC", raising=False)
    for name in targets.TARGETS:
        assert not targets.toolchain_available(name)
    with pytest.raises(ToolchainNotFoundError) as info:
        targets.check_toolchain("cortex-m4f")
    msg = str(info.value)
    assert "arm-none-eabi-gcc" in msg
    assert "apt-get install" in msg and "gcc-arm-none-eabi" in msg
    assert "libnewlib-arm-none-eabi" in msg and "qemu-system-arm" in msg
    assert isinstance(info.value, RuntimeError)
    with pytest.raises(ToolchainNotFoundError, match="picolibc-riscv64-unknown-elf"):
        targets.measure("rv32imc", fixture("threshold_classifier.h"), "thr", "classifier",
                        X_THR, n_outputs=2, n_features=1)
