#!/bin/bash
# Set up a fresh Debian/Ubuntu machine for microlearn development and tests:
# system packages (C compilers, ARM/RISC-V cross toolchains, QEMU) and a venv in .venv.
# Idempotent; safe to re-run. Set MICROLEARN_SKIP_APT=1 to skip the apt step.
set -euo pipefail
cd "$(dirname "$0")/.."
APT_PACKAGES=(
  gcc g++ clang libclang-rt-14-dev make           # host build, C tests, sanitizers
  gcc-arm-none-eabi libnewlib-arm-none-eabi        # Cortex-M cross builds
  qemu-system-arm                                  # Cortex-M emulation
  gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf qemu-system-misc  # rv32imc
  chromium chromium-driver                         # docs site test: headless browser
  cmake                                            # the plain-CMake sample (tests/test_platforms.py)
  lld                                              # wasm-ld: the browser demo's WebAssembly (scripts/build_demo.py)
  gcc-avr avr-libc binutils-avr simavr libsimavr-dev  # atmega328p target: avr-gcc + simavr runner (tests/test_avr.py)
  arduino-builder arduino-core-avr arduino-ctags   # Arduino library export: compile the example for the Uno
)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ] && [ "${MICROLEARN_SKIP_APT:-0}" != 1 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  # DPkg::Lock::Timeout: wait for another apt/dpkg to release the lock instead of failing
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
  $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}"
fi
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test]"
