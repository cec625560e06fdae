"""Test tooling (not shipped): build and start the line-protocol test firmware
(``lineproto_fw.c``) for the host (behind a pty pair) or for QEMU mps2 (its UART on a pty)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

from microlearn import targets

SOURCE = Path(__file__).resolve().parent / "lineproto_fw.c"
RUNTIME = Path(targets.RUNTIME_DIR).parent  # microlearn/runtime


def model_header(blob: bytes, method: int, n_out: int, families: str | None = None) -> str:
    """``fw_model.h`` holding a model file as 8-byte aligned words; ``families`` (e.g.
    ``"X(1, trees)"``) limits the families ml_model.h compiles in (a faster build)."""
    padded = blob + b"\0" * (-len(blob) % 8)
    words = [int.from_bytes(padded[i:i + 8], "little") for i in range(0, len(padded), 8)]
    body = ",\n".join(", ".join(f"0x{w:016x}u" for w in words[i:i + 4])
                      for i in range(0, len(words), 4))
    fams = f"#define ML_MODEL_FAMILIES(X) {families}\n" if families else ""
    return (f"{fams}static const uint64_t FW_BLOB[] = {{\n{body}\n}};\n"
            f"#define FW_BLOB_SIZE {len(blob)}u\n#define FW_METHOD {method}\n"
            f"#define FW_N_OUT {n_out}\n")


def build_host(build: Path, blob: bytes, method: int, n_out: int,
               families: str | None = None) -> Path:
    """The firmware as a host program (stdin/stdout)."""
    build.mkdir(parents=True, exist_ok=True)
    (build / "fw_model.h").write_text(model_header(blob, method, n_out, families))
    exe = build / "lineproto_fw"
    cc = shutil.which("gcc") or shutil.which("cc") or "cc"
    cmd = [cc, "-std=c99", "-O0", "-Wall", "-Wextra", "-Werror", f"-I{build}", f"-I{RUNTIME}",
           str(SOURCE), "-lm", "-o", str(exe)]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return exe


def build_qemu(build: Path, blob: bytes, method: int, n_out: int,
               target: str = "cortex-m4f", families: str | None = None) -> Path:
    """The firmware for QEMU mps2 (UART0), linked with microlearn's target start-up code."""
    build.mkdir(parents=True, exist_ok=True)
    (build / "fw_model.h").write_text(model_header(blob, method, n_out, families))
    spec = targets._spec(target)
    targets.check_toolchain(target)
    elf = build / "lineproto_fw.elf"
    rt = Path(targets.RUNTIME_DIR)
    cmd = [targets._cc(spec), *spec.cflags, "-DFW_UART", f"-I{build}", f"-I{RUNTIME}",
           f"-I{rt}", str(SOURCE), str(targets.STARTUP_C), *spec.ldflags,
           "-T", str(rt / spec.linker_script), *spec.libs, "-o", str(elf)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=build)
    if proc.returncode != 0:
        raise RuntimeError(f"firmware build failed:\n{proc.stderr[-3000:]}")
    return elf


class QemuUart:
    """QEMU running ``elf`` with UART0 on a pty (``port``); a context manager."""

    def __init__(self, elf: Path, target: str = "cortex-m4f", timeout: float = 20) -> None:
        spec = targets._spec(target)
        qemu = list(spec.qemu)
        i = qemu.index("-serial")
        qemu[i + 1] = "pty"
        cmd = [*qemu, "-kernel", str(elf)]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        os.set_blocking(self.proc.stdout.fileno(), False)
        text = b""
        deadline = time.monotonic() + timeout
        m = None
        while m is None and time.monotonic() < deadline and self.proc.poll() is None:
            chunk = self.proc.stdout.read() or b""
            text += chunk
            m = re.search(rb"redirected to (/dev/pts/\d+)", text)
            if m is None:
                time.sleep(0.02)
        if m is None:
            self.close()
            raise RuntimeError(f"QEMU did not report its pty: {text.decode(errors='replace')}")
        self.port = m.group(1).decode()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)

    def __enter__(self) -> QemuUart:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
