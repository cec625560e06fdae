"""The AVR target (``"atmega328p"``, the Arduino Uno's MCU): avr-gcc builds, simavr runs.

:func:`microlearn.targets.measure` and :func:`microlearn.targets.footprint` hand AVR targets
(``TargetSpec.simulator == "simavr"``) to this module. It

* builds the same model / stub size firmwares as the Cortex-M targets (the model's flash
  is ``.text + .data`` of the firmware with the model minus that of the stub, its static
  RAM ``.data + .bss`` likewise) from ``runtime/target/avr_harness.c`` (the model wrappers
  of ``harness.c`` plus AVR I/O),
* runs the firmware once in simavr through a small host program against libsimavr
  (``runtime/target/avr_sim.c``, built at first use into the cache directory), which
  feeds the rows to the firmware byte by byte, collects its results (the ``MLR1`` format
  of ``harness.c``) and counts the simulated clock cycles of every ``predict`` /
  ``regress`` call (exact and deterministic: simavr is cycle-counting),
* measures the stack of each call by painting (the harness).

The generated models put their constant tables in program memory on AVR (``ML_CONST``,
``ML_READ_*`` in ``ml_common.h``); a table left in RAM would show in ``ram_bytes``.
avr-gcc's ``double`` is 32 bits and ``float`` is IEEE single, so the results equal the
float32 host build's bit for bit (NaN outputs may be NaNs of another sign and payload).

Neural nets (``ml_nets.h``, ``ml_nets_int8.h``): weights, biases, requantization tables and
the op table in program memory (the kernels read them with ``ML_NETS_W`` /
``ML_NETS_Q7_W``), the arena on the stack; :func:`check_supported` refuses a net whose
arena cannot fit the SRAM (:func:`nets_buffer_bytes`). A NaN input to a float net is not a
defined case: avr-libc's soft float gives NaNs with the sign bit set and relu zeroes a
negative NaN, so such a row may get another class than on the host. Model files stay
unsupported on AVR (``ML_ERR_UNSUPPORTED``) for every family.

DSP models (the dsp family, ``ml_dsp.h``): the build defines ``ML_RFFT_MAX_N`` to the
model's FFT size (``ml_fft.h``'s AVR default is 16 points), and :func:`check_supported`
refuses a DSP step whose input window, FFT instance and scratch cannot fit the SRAM
(:func:`dsp_buffer_bytes`).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import CompileError
from .host_build import cache_dir, find_compiler

if TYPE_CHECKING:
    from .targets import Footprint, TargetSpec

RUNTIME_DIR = Path(__file__).resolve().parent / "runtime" / "target"
AVR_HARNESS_C = RUNTIME_DIR / "avr_harness.c"
AVR_SIM_C = RUNTIME_DIR / "avr_sim.c"

#: Data memory of the MCUs (bytes of SRAM) the firmware must fit in.
SRAM_BYTES = {"atmega328p": 2048}
#: Program memory of the MCUs (bytes; the Arduino bootloader takes 512 of them).
FLASH_BYTES = {"atmega328p": 32768}
#: Clock the cycles are counted at (the Uno's 16 MHz crystal).
CLOCK_HZ = 16_000_000
#: Bytes of SRAM kept free for the harness' and the model's stack.
MIN_STACK_BYTES = 128
_SIMAVR_HEADER = Path("/usr/include/simavr/sim_avr.h")


def unavailable_reason(cc: str) -> str | None:
    """What is missing to build and run AVR firmware here, or None."""
    if shutil.which(cc) is None:
        return f"the cross compiler {cc} is not installed"
    try:
        proc = subprocess.run([cc, "-mmcu=atmega328p", "-print-file-name=libc.a"],
                              capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"{cc} could not be run: {exc}"
    if not os.path.isabs(proc.stdout.strip()):
        return f"the C library for {cc} (avr-libc) is not installed"
    include = os.environ.get("MICROLEARN_SIMAVR_INCLUDE")
    header = Path(include) / "simavr" / "sim_avr.h" if include else _SIMAVR_HEADER
    if not header.is_file():
        return f"the simavr library and headers ({header}) are not installed"
    return None


def runner_path() -> Path:
    """The simavr runner (``avr_sim.c`` linked with libsimavr), built once into the cache."""
    src = AVR_SIM_C.read_bytes()
    key = hashlib.sha256(src).hexdigest()[:16]
    out = cache_dir() / "avr" / f"avr_sim-{key}"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    cc = find_compiler()
    tmp = out.with_suffix(f".tmp{os.getpid()}")
    include = os.environ.get("MICROLEARN_SIMAVR_INCLUDE")
    cmd = [cc, "-std=c99", "-O2", *([f"-I{include}"] if include else []), str(AVR_SIM_C),
           "-o", str(tmp), "-lsimavr"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise CompileError(f"building the simavr runner failed ({' '.join(cmd)}):\n"
                           f"{proc.stderr[-4000:]}")
    os.replace(tmp, out)
    return out


#: Runtime headers ported to AVR (16-bit int, 32-bit double, tables in program memory).
#: The DSP family (``ml_dsp.h`` and the DSP headers it includes) and the neural nets
#: (``ml_nets.h``, ``ml_nets_int8.h``) are tested in simavr.
SUPPORTED_HEADERS = frozenset({"COMMON", "MATH", "TREES", "LINEAR", "SVM", "NAIVE_BAYES",
                               "MIXTURE", "NEIGHBORS", "PREPROCESSING", "DSP", "FFT",
                               "WINDOW", "MEL", "FEATURES", "FILTER", "LEVEL", "NETS",
                               "NETS_INT8"})
#: ml_dsp.h's ML_DSP_AVR_MAX_BANDS / ML_DSP_AVR_MAX_STAGES: band edges and weighting
#: biquads the engine copies from program memory to the stack on AVR.
DSP_MAX_BANDS = 16
DSP_MAX_STAGES = 4
_HEADER_GUARD = re.compile(r"^#define ML_([A-Z0-9_]+)_H$", re.M)

#: sizeof(ml_nets_op_t) / sizeof(ml_nets_q7_op_t) / sizeof(ml_nets_t) on AVR: the op the
#: kernels run (and the float model struct) is copied from program memory to the stack.
NETS_OP_BYTES = 88
NETS_Q7_OP_BYTES = 136
NETS_MODEL_BYTES = 34
#: ml_nets_conv2d_blocked's window (ML_NETS_WINDOW_MAX floats) / ml_nets_q7_conv's
#: (ML_NETS_Q7_WINDOW_MAX int8), on the stack while a convolution runs.
NETS_WINDOW_BYTES = 4 * 64
NETS_Q7_WINDOW_BYTES = 64
#: The kernels' and the harness' frames while a net runs (measured: 190-290 bytes of stack
#: beyond the arena, op copy, window, input and outputs for tests/test_avr_nets.py's nets).
NETS_CALL_BYTES = 320
_NETS_ARENA = re.compile(r"arena (\d+) floats \((\d+) bytes, planned")
_NETS_Q7_ARENA = re.compile(r"\b\w+__ARENA_BYTES = (\d+), \w+__N_OPS = \d+")
_N_OUTPUTS = re.compile(r"^#define \w+_N_OUTPUTS (\d+)\b", re.M)
_Q7_CONV = re.compile(r"^    \{[56], -?\d+, ", re.M)  # a CONV2D / DEPTHWISE int8 op


def nets_buffer_bytes(header_text: str) -> tuple[int, int]:
    """The SRAM a generated header's neural net needs at least while it runs, beside the
    harness: ``(arena bytes, total bytes)``, zeros without a net.

    The arena (float32: ``4 arena`` bytes; int8: ``P__ARENA_BYTES`` plus the float outputs)
    is on the stack, with a copy of the running op (program memory on AVR), a convolution's
    window when the net has one, the input row (``4 n_features`` bytes the caller holds),
    the outputs and the call frames (:data:`NETS_CALL_BYTES`)."""
    floats = [int(b) for _, b in _NETS_ARENA.findall(header_text)]
    q7 = [int(b) for b in _NETS_Q7_ARENA.findall(header_text)]
    if not floats and not q7:
        return 0, 0
    n_in = _N_FEATURES.findall(header_text)
    n_out = _N_OUTPUTS.findall(header_text)
    io = 4 * (int(n_in[0]) if n_in else 0) + 4 * (int(n_out[0]) if n_out else 0)
    arena = max(floats + q7)
    total = arena + io + NETS_CALL_BYTES
    if floats:
        total += NETS_OP_BYTES + NETS_MODEL_BYTES
        if "ml_nets_conv2d_blocked(op" in header_text:
            total += NETS_WINDOW_BYTES
    if q7:
        total += NETS_Q7_OP_BYTES + 4 * (int(n_out[0]) if n_out else 0)
        if _Q7_CONV.search(header_text):
            total += NETS_Q7_WINDOW_BYTES
    return arena, total


_FFT_GUARD = re.compile(r"^#if ML_RFFT_MAX_N < (\d+)$", re.M)


def fft_size(header_text: str) -> int:
    """The largest FFT a generated header runs (its ``#if ML_RFFT_MAX_N < n`` guards), 0
    when it runs none."""
    return max((int(n) for n in _FFT_GUARD.findall(header_text)), default=0)


_DSP_SCRATCH = re.compile(r"float scratch\[(\d+)\];\n\s*\(void\)ml_dsp_transform_kind")
_DSP_COUNTS = re.compile(r"(\d+), (\d+), (\d+), (\d+), (\d+), /\* n_channels, window_length, "
                         r"n_codes, n_bands, n_stages \*/")
_N_FEATURES = re.compile(r"^#define \w+_N_FEATURES (\d+)$", re.M)


def fft_instance_bytes(n: int) -> int:
    """Bytes of one ``ml_rfft_f32_t`` sized for ``n`` points (``ML_RFFT_MAX_N = n``)."""
    return 4 * (2 + 5 * max(n, 16) // 4)


def dsp_buffer_bytes(header_text: str) -> tuple[int, int, int, int]:
    """The SRAM a generated header's DSP step needs at least while it runs:
    ``(window bytes, FFT instance bytes, scratch bytes, FFT points)``, zeros without one.

    The window is the model's input (``4 n_features`` bytes the caller holds), the FFT
    instance and the scratch are on the stack during the transform."""
    scratch = [int(v) for v in _DSP_SCRATCH.findall(header_text)]
    if "ml_dsp_transform_kind(" not in header_text:
        return 0, 0, 0, 0
    n = _N_FEATURES.findall(header_text)
    fft = fft_size(header_text)
    return (4 * int(n[0]) if n else 0, fft_instance_bytes(fft) if fft else 0,
            4 * max(scratch, default=0), fft)


def check_supported(target: str, header_text: str) -> None:
    """Raise :class:`~microlearn.targets.UnsupportedOnTargetError` when the generated header
    embeds runtime headers that are not ported to AVR, when its neural net's arena (with
    the op being run, a convolution's window, the input and the outputs,
    :func:`nets_buffer_bytes`) cannot fit the MCU's SRAM, or when its DSP step cannot fit
    it (window, FFT instance and scratch) or uses more band edges or weighting biquads than
    the AVR engine copies from program memory."""
    from .targets import UnsupportedOnTargetError

    used = set(_HEADER_GUARD.findall(header_text))
    missing = sorted(used - SUPPORTED_HEADERS)
    if missing:
        names = ", ".join(f"ml_{h.lower()}.h" for h in missing)
        raise UnsupportedOnTargetError(
            f"target {target!r}: this model uses {names}, which is not ported to AVR "
            "(16-bit int, 32-bit double); AVR supports the tree, linear, SVM, naive Bayes, "
            "mixture, neighbors, preprocessing, DSP and neural-net families "
            "(docs/getting_started/arduino.md)"
        )
    for counts in _DSP_COUNTS.findall(header_text):
        n_bands, n_stages = int(counts[3]), int(counts[4])
        if n_bands > DSP_MAX_BANDS:
            raise UnsupportedOnTargetError(
                f"target {target!r}: band_energy with {n_bands} bands: the AVR DSP engine "
                f"supports at most {DSP_MAX_BANDS} (ml_dsp.h's ML_DSP_AVR_MAX_BANDS)")
        if n_stages > DSP_MAX_STAGES:
            raise UnsupportedOnTargetError(
                f"target {target!r}: a frequency weighting of {n_stages} biquads: the AVR "
                f"DSP engine supports at most {DSP_MAX_STAGES} (ML_DSP_AVR_MAX_STAGES)")
    sram = SRAM_BYTES.get(target, 2048)
    arena, need = nets_buffer_bytes(header_text)
    if need > sram - MIN_STACK_BYTES:
        raise UnsupportedOnTargetError(
            f"target {target!r}: the neural net does not fit the {sram} bytes of SRAM: its "
            f"arena of {arena} B (activations, on the stack) with the op being run, the "
            f"input, the outputs and the call frames needs {need} B, more than the "
            f"{sram - MIN_STACK_BYTES} B left after {MIN_STACK_BYTES} B of stack; use smaller "
            "layers, int8 quantization (quantize='int8': 4x smaller activations) or a "
            "smaller input (docs/getting_started/arduino.md)")
    window, fft_bytes, scratch, fft = dsp_buffer_bytes(header_text)
    need = window + fft_bytes + scratch
    if need > sram - MIN_STACK_BYTES:
        what = f"the {fft}-point FFT instance (n_fft={fft}) {fft_bytes} B, " if fft else ""
        raise UnsupportedOnTargetError(
            f"target {target!r}: the DSP step does not fit the {sram} bytes of SRAM: its "
            f"buffers need {need} B (the input window of {window // 4} samples {window} B, "
            f"{what}scratch {scratch} B), more than the {sram - MIN_STACK_BYTES} B left "
            f"after {MIN_STACK_BYTES} B of stack; use a shorter window or a smaller n_fft "
            "(docs/getting_started/arduino.md lists sizes that fit)")


def build(spec: TargetSpec, build_dir: Path, header_text: str, defines: list[str],
          with_run: bool, values: str | None) -> tuple[Footprint, Path | None]:
    """Size firmwares (model, stub) and, if asked, the firmware that is run.

    Returns ``(Footprint, run_elf or None)``; ``spec`` is the target's ``TargetSpec``.
    """
    from . import targets

    check_supported(spec.name, header_text)
    (build_dir / "model.h").write_text(header_text)
    includes = [f"-I{build_dir}", f"-I{RUNTIME_DIR}"]
    fft = fft_size(header_text)
    if fft:  # the FFT instance sized for this model (ml_fft.h's AVR default is 16 points)
        defines = [*defines, f"-DML_RFFT_MAX_N={fft}"]

    def firmware(name: str, extra: list[str]) -> tuple[list[str], str]:
        return ([spec.cc, *spec.cflags, *defines, *extra, *includes, str(AVR_HARNESS_C),
                 *spec.ldflags, *spec.libs, "-o", str(build_dir / f"{name}.elf")],
                f"building the {name} firmware for {spec.name}")

    cmds = [firmware("model", ["-DMLH_WITH_PROBA=0"]),
            firmware("stub", ["-DMLH_STUB", "-DMLH_WITH_PROBA=0"])]
    run_elf = None
    if with_run:
        if values:
            cmds.append(firmware("run", ["-DMLH_WITH_PROBA=1"]))
            run_elf = build_dir / "run.elf"
        else:
            run_elf = build_dir / "model.elf"
    try:
        targets._run_all(cmds, build_dir)
    except CompileError as exc:
        if "will not fit in region" in str(exc):
            raise targets.UnsupportedOnTargetError(
                f"{spec.name}: the model does not fit: the firmware's code and tables "
                f"overflow the {FLASH_BYTES[spec.name] // 1024} KB of program memory; use "
                "method='loadable' for trees, fewer DSP features (the FFT alone is about "
                "7.5 KB), or a smaller model") from None
        if "not within region `data'" in str(exc):
            raise targets.UnsupportedOnTargetError(
                f"{spec.name}: the model does not fit: its static data overflows the "
                f"{SRAM_BYTES[spec.name]} bytes of SRAM (tables in RAM: is ML_NO_PROGMEM "
                "defined, or does the model use a family whose tables stay in RAM?)"
            ) from None
        raise
    model = targets._sizes(spec, build_dir / "model.elf")
    stub = targets._sizes(spec, build_dir / "stub.elf")
    fp = targets._footprint(spec, model, stub)
    if run_elf is not None:
        text, data, bss = targets._sizes(spec, run_elf)
        if text + data > FLASH_BYTES[spec.name]:
            raise targets.UnsupportedOnTargetError(
                f"{spec.name}: the model does not fit: {fp.flash_bytes} bytes of flash (the "
                f"firmware {text + data}), more than the {FLASH_BYTES[spec.name]} bytes of "
                "the ATmega328P; use method='loadable' for trees, or a smaller model")
        sram = SRAM_BYTES[spec.name]
        if data + bss + MIN_STACK_BYTES > sram:
            raise targets.TargetRunError(
                f"{spec.name}: the firmware needs {data + bss} bytes of static RAM (the model "
                f"{fp.ram_bytes}: tables that are in RAM on AVR), more than the "
                f"{sram - MIN_STACK_BYTES} of the {sram} bytes of SRAM left after "
                f"{MIN_STACK_BYTES} bytes of stack; see docs/getting_started/arduino.md "
                "for the families whose tables are in program memory"
            )
    return fp, run_elf


def run(spec: TargetSpec, elf: Path, build_dir: Path, X: np.ndarray,
        timeout: float) -> tuple[bytes, list[int]]:
    """Run the harness firmware on the rows X in simavr: (result bytes, cycles per region)."""
    from . import targets

    rows = np.ascontiguousarray(X, dtype="<f4")
    (build_dir / "avr_in.bin").write_bytes(np.uint32(len(rows)).astype("<u4").tobytes()
                                           + rows.tobytes())
    max_cycles = int(timeout * 200_000_000)  # simavr runs ~20-200 M cycles/s here
    cmd = [str(runner_path()), "io", spec.name, str(CLOCK_HZ), str(elf),
           str(build_dir / "avr_in.bin"), str(build_dir / "mlh_out.bin"),
           str(build_dir / "cycles.log"), str(max_cycles)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise targets.TargetRunError(
            f"{spec.name}: simavr did not finish within {timeout:g} s ({' '.join(cmd)})"
        ) from None
    if proc.returncode != 0:
        reason = {4: "the firmware crashed", 5: "the firmware did not finish in "
                  f"{max_cycles} cycles"}.get(proc.returncode, "simavr failed")
        raise targets.TargetRunError(
            f"{spec.name}: exit status {proc.returncode}: {reason} ({' '.join(cmd)})"
            + (f":\n{proc.stderr[-2000:]}" if proc.stderr.strip() else ""))
    try:
        regions, _ = targets.parse_icount_log((build_dir / "cycles.log").read_text())
    except targets.TargetRunError as exc:
        raise targets.TargetRunError(f"{spec.name}: {exc}") from None
    return (build_dir / "mlh_out.bin").read_bytes(), regions
