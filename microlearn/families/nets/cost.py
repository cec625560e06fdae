"""IR -> footprint estimate (flash, RAM, stack, instructions per inference).

Calibrated (least squares) on QEMU measurements (``Model.footprint``, 3 random normal rows)
of four Keras nets: an MLP 64-32-16-10, the 16x16x1 depthwise/pointwise CNN of
benchmarks/bench_nets.py, the depthwise/separable digits net of docs/families/nets.md and
a Conv1D net on 32 x 3 windows. Cortex-M4F refitted 2026-11-30 after the second round of
VLDM kernels (in-place convolution windows, depthwise windows in one loop, biases as the
sums' start): instructions within 12%, flash within 22% (the kernels' unrolled loops
differ more between kinds than one ``code`` constant can say). Cortex-M0+ (2026-11-30,
first round; rechecked after the second): instructions within 9% (soft float: timing
depends on the values), flash within 11%. Cortex-M7 reuses the Cortex-M4F figures and
rv32imc the Cortex-M0+ ones (measured by bench_nets.py: within 1% of them).

Instructions: ``mac`` per multiply-add of dense and pointwise conv (``wmac`` of a
convolution run by ``ml_nets_conv2d_wide``, fitted 2026-12-01 to the plain Conv2D CNN of
bench_nets.py; ``cmac`` of the other conv / depthwise), ``tap`` per kernel / pool window
position (loop and index
arithmetic, per output value), ``elem`` per element of the other ops, ``act`` per
output of an exp / tanh based activation, ``op`` per op. Flash: weights and op table,
``code`` per kernel kind used and ``base`` (the engine, and soft-float routines on cores
without an FPU). The stack holds the planned arena (4 bytes per float) plus a frame.
"""

from __future__ import annotations

import numpy as np

from ...family import Estimate
from .c import blocked_kernel, data_bytes
from .ir import NetIR
from .lower import Record, records

_M4 = dict(mac=1.64, cmac=1.92, wmac=0.97, tap=2.04, elem=1.0, act=60.0, op=40, code=640,
           base=1540, frame=48)
_M0 = dict(mac=184.0, cmac=182.0, wmac=134.0, tap=0.0, elem=120.0, act=900.0, op=80, code=317,
           base=4820, frame=96)
_COST = {
    "cortex-m4f": _M4,
    "cortex-m7": _M4,
    "cortex-m0plus": _M0,
    "rv32imc": _M0,
    "host": dict(mac=2.0, cmac=3.0, wmac=2.0, tap=8.0, elem=3.0, act=30.0, op=20, code=300,
                 base=400, frame=48),
}
_WINDOW = ("conv2d", "depthwise_conv2d", "max_pool2d", "avg_pool2d")


def _instructions(r: Record, c: dict) -> float:
    f = r.fields
    n_out = f["oh"] * f["ow"] * f["oc"]
    cost = float(c["op"])
    if r.kind == "dense" or blocked_kernel(r) == "ml_nets_dense_blocked":
        cost += c["mac"] * r.macs() + c["elem"] * n_out  # dense and pointwise conv
    elif r.kind in _WINDOW:
        taps = n_out * f["kh"] * f["kw"]
        cost += c["tap"] * taps
        if blocked_kernel(r) == "ml_nets_conv2d_wide":
            cost += c["wmac"] * r.macs()
        elif r.kind in ("conv2d", "depthwise_conv2d"):
            cost += c["cmac"] * r.macs()
    else:
        cost += c["elem"] * r.macs()
    if r.act >= 4:  # elu, selu, sigmoid, hard_sigmoid, tanh, swish, hard_swish
        cost += c["act"] * n_out
    return cost


def estimate(ir: NetIR, target: str, X: np.ndarray | None) -> Estimate:
    """Flash (tables + kernels), RAM (none: tables are const), stack (arena) and
    instructions (the same for every row: the work does not depend on the values)."""
    if target not in _COST:
        raise ValueError(f"target={target!r} is not one of {sorted(_COST)}")
    c = _COST[target]
    recs = records(ir)
    kinds = {r.kind for r in recs}
    flash = data_bytes(ir) + c["code"] * len(kinds) + c["base"]
    stack = 4 * ir.plan.arena + c["frame"]
    instructions = None
    if X is not None:
        per = sum(_instructions(r, c) for r in recs)
        instructions = np.full(np.asarray(X).shape[0], per, dtype=np.float64)
    return Estimate(flash_bytes=int(flash), ram_bytes=0, stack_bytes=int(stack),
                    instructions=instructions)
