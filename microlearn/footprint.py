"""Footprint: flash, RAM and instructions per inference on a target, measured or estimated.

Measured (``targets.measure``): the generated C is cross-compiled, run in QEMU and its
instructions counted. Estimated (no cross toolchain, or ``estimate=True``): the sum of
the steps' family estimates (``Family.estimate``: from the IR, calibrated by each family
against measurements; the benchmark reports the error).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class FootprintReport:
    """Flash, RAM, stack and instructions per inference of a model on one target.

    Attributes
    ----------
    target, method : str
    flash_bytes : int
        Model flash: code + constant tables (the firmware minus the same firmware without
        the model, when measured).
    ram_bytes : int
        Static RAM (.data + .bss) the model adds; generated models use none.
    stack_bytes : int or None
        Deepest stack use of one inference.
    instructions : float or None
        Mean instructions per inference over the rows (``predict`` for classifiers,
        ``regress`` for regressors).
    instructions_max : int or None
    estimated : bool
        False when measured on the target (QEMU), True when estimated from the IR.
    note : str
        Why it is estimated, or how it was measured.
    """

    target: str
    method: str
    flash_bytes: int
    ram_bytes: int
    stack_bytes: int | None
    instructions: float | None
    instructions_max: int | None
    estimated: bool
    note: str = ""


@dataclass(frozen=True)
class VerifyReport:
    """Outcome of :meth:`microlearn.Model.verify_on_target`.

    Attributes
    ----------
    target : str
    n_rows : int
    agreement : float
        Fraction of rows whose output on the target equals the host build's (classifier:
        same class; regressor: bit-identical float32 outputs).
    max_abs_diff : float
        Largest |target - host| over probabilities (classifier) or outputs (regressor).
    instructions : float or None
        Mean instructions per inference on the target.
    """

    target: str
    n_rows: int
    agreement: float
    max_abs_diff: float
    instructions: float | None

    @property
    def ok(self) -> bool:
        """True when every row agrees exactly."""
        return self.agreement == 1.0 and self.max_abs_diff == 0.0


def estimate(steps: Sequence[Any], target: str, X: np.ndarray | None,
             note: str = "") -> FootprintReport:
    """Footprint of a model's steps on ``target``, estimated from their IRs (each
    family's ``estimate``), with X run through the steps' transforms on the host build
    of nothing: rows for later steps are the family estimates' own concern, so X is
    passed to the first step only and later steps get None (instruction estimates of a
    pipeline's later steps assume their data-independent cost)."""
    from .targets import TARGETS

    if target in TARGETS and TARGETS[target].simulator is not None:
        return _estimate_avr(steps, target, X, note)
    flash = ram = stack = 0
    instr: np.ndarray | None = None
    for i, s in enumerate(steps):
        e = s.family.estimate(s.ir, target, X if i == 0 else None, s.options)
        flash += e.flash_bytes
        ram += e.ram_bytes
        stack = max(stack, e.stack_bytes)
        if e.instructions is not None:
            instr = e.instructions if instr is None else instr + e.instructions
    method = next((s.options["method"] for s in steps if "method" in s.options), "")
    if instr is not None and np.ndim(instr) == 0 and X is not None:
        instr = np.full(len(X), float(instr))
    return FootprintReport(
        target, method, int(flash), int(ram), int(stack),
        None if instr is None else float(np.mean(instr)),
        None if instr is None else int(np.max(instr)), True, note or "from the IR")


#: Families whose generated C is ported to AVR (tables in program memory).
AVR_FAMILIES = frozenset({"trees", "linear", "svm", "naive_bayes", "mixture", "neighbors",
                          "preprocessing", "dsp", "nets"})


def _estimate_avr(steps: Sequence[Any], target: str, X: np.ndarray | None,
                  note: str) -> FootprintReport:
    """AVR has no cost model of its own: flash and stack are the Cortex-M0+ estimate (over
    the benchmark models the measured AVR flash was 0.4-1.7x the M0+ flash), RAM is 0 for
    the families whose tables are in program memory there, cycles are not estimated."""
    proxy = estimate(steps, "cortex-m0plus", X)
    fams = {getattr(s.family, "name", "") for s in steps}
    unported = sorted(f for f in fams if f not in AVR_FAMILIES)
    why = (f"not ported to AVR: {', '.join(unported)}" if unported
           else "the Cortex-M0+ estimate as a proxy")
    return FootprintReport(
        target, proxy.method, proxy.flash_bytes, proxy.ram_bytes if unported else 0,
        proxy.stack_bytes, None, None, True, "; ".join(x for x in (note, why) if x))
