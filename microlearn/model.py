"""The converted model: what :func:`microlearn.convert` returns."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.utils.metaestimators import available_if

from . import codegen_c, host_build
from .footprint import FootprintReport, VerifyReport


def _is_classifier(model: Model) -> bool:
    return model.kind == "classifier"


class Model:
    """A converted model: its IR, the C code generated from it, and host verification.

    ``predict``, ``predict_proba`` and friends run the generated C, compiled on this
    machine, so their results are what the device computes.

    Parameters
    ----------
    ir : object
        The model's intermediate representation (e.g. :class:`~microlearn.trees.TreeEnsembleIR`).
    method : {"loadable", "inline"}
        C code generation method.
    """

    def __init__(self, ir: Any, method: str = "loadable"):
        self.ir = ir
        self.method = codegen_c.check_method(method)
        self._host: host_build.HostLibrary | None = None

    # --- what it is ------------------------------------------------------------------
    @property
    def family(self) -> str:
        """Model family (one module per family, e.g. ``"trees"``)."""
        return self.ir.family

    @property
    def kind(self) -> str:
        """``"classifier"`` or ``"regressor"``."""
        return self.ir.kind

    @property
    def n_features(self) -> int:
        """Number of input features."""
        return self.ir.n_features

    @property
    def n_outputs(self) -> int:
        """Number of classes (classifier) or regression targets (regressor)."""
        return self.ir.n_outputs

    @property
    def classes_(self) -> np.ndarray:
        """Class labels; the C returns indices into this array."""
        if self.kind != "classifier":
            raise AttributeError("a regressor has no classes_")
        return self.ir.classes

    @property
    def exact_predict(self) -> bool:
        """True when ``predict`` provably equals scikit-learn's for every float32 input
        (single trees; forests whose leaf probabilities are sums of few powers of two, e.g.
        pure leaves). False for forests with fractional leaves, where classes whose mean
        probabilities tie within float32 rounding (~1e-7) may be ordered differently."""
        from .trees import exact_predict

        return exact_predict(self.ir)

    @property
    def data_bytes(self) -> int:
        """Bytes of constant tables in the generated C (machine code not included)."""
        return codegen_c.data_bytes(self.ir, self.method)

    def describe(self) -> str:
        """Multi-line summary: family, inputs, outputs, method, dtype, table bytes."""
        outputs = (
            f"{self.n_outputs} classes {list(self.ir.classes.tolist())[:8]}"
            + ("..." if self.n_outputs > 8 else "")
            if self.kind == "classifier"
            else f"{self.n_outputs} regression output(s)"
        )
        exactness = ""
        if self.kind == "classifier":
            exactness = "  predict   : " + (
                "equals sklearn for every float32 input\n" if self.exact_predict else
                "equals sklearn except float32 near-ties of class probabilities\n")
        return (
            f"microlearn model ({self.family}, {self.kind})\n"
            f"  estimator : {codegen_c.describe_line(self.ir)}\n"
            f"  inputs    : {self.n_features} float32 features\n"
            f"  outputs   : {outputs}\n"
            f"  method    : {self.method}\n"
            f"  dtype     : float32 thresholds and leaf values\n"
            f"{exactness}"
            f"  tables    : {self.data_bytes:,} bytes of constant data"
        )

    def __repr__(self) -> str:
        return (
            f"<microlearn.Model {self.ir.estimator} family={self.family} kind={self.kind} "
            f"n_features={self.n_features} n_outputs={self.n_outputs} method={self.method} "
            f"dtype=float32 data_bytes={self.data_bytes}>"
        )

    __str__ = describe

    # --- C code ----------------------------------------------------------------------
    def c_source(self, name: str = "model") -> str:
        """The self-contained C99 header for this model, with symbols prefixed ``name``."""
        return codegen_c.generate(self.ir, name=name, method=self.method)

    def save(self, path: str | os.PathLike, name: str = "model") -> Path:
        """Write the C header to ``path`` and return the path.

        Parameters
        ----------
        path : str or path-like
            Output file (conventionally ``<name>.h``).
        name : str
            C identifier prefix of the generated symbols (``<name>_predict`` ...).
        """
        text = self.c_source(name)
        path = Path(path)
        if path.is_dir():
            raise IsADirectoryError(f"cannot write the header to {str(path)!r}: it is a directory")
        try:
            path.write_text(text)
        except OSError as e:
            raise OSError(f"cannot write the header to {str(path)!r}: {e.strerror}") from e
        return path

    def to_blob(self, compact: bool = False) -> bytes:
        """The model as a binary model blob (docs/blob_format.md) for the C loader
        (``ml_blob.h``) and MicroPython.

        Parameters
        ----------
        compact : bool, default False
            Smallest node tables where they fit: a 1-byte index into the table of
            distinct thresholds (at most 256, e.g. integer-valued features) and 1-byte
            relative child codes. Up to 5 bytes less per node; each visited node costs
            one or two more instructions. Results are identical.
        """
        from . import blob

        return blob.to_blob(self.ir, compact=compact)

    def save_blob(self, path: str | os.PathLike, compact: bool = False) -> Path:
        """Write :meth:`to_blob` to ``path`` (conventionally ``model.mlb``)."""
        data = self.to_blob(compact=compact)
        path = Path(path)
        try:
            path.write_bytes(data)
        except OSError as e:
            raise OSError(f"cannot write the model blob to {str(path)!r}: {e.strerror}") from e
        return path

    # --- targets ------------------------------------------------------------------
    def footprint(self, target: str = "cortex-m4f", X: Any = None, *,
                  estimate: bool = False) -> FootprintReport:
        """Flash, RAM, stack and instructions per inference on a microcontroller target.

        Measured when the target's cross toolchain and QEMU are installed: the generated C
        is cross-compiled, run in QEMU over the rows and its instructions counted (the
        result has ``estimated=False``). Otherwise, or with ``estimate=True``, estimated
        from the IR (``estimated=True``, ``note`` says why).

        Parameters
        ----------
        target : str
            ``"cortex-m0plus"``, ``"cortex-m4f"``, ``"cortex-m7"``, ``"rv32imc"`` or
            ``"host"`` (flash only).
        X : array-like of shape (n_samples, n_features), optional
            Rows for the instruction count (use real data: paths through trees depend on
            it). Default: synthetic rows spanning each feature's thresholds.
        estimate : bool, default False
            Skip the measurement.

        Returns
        -------
        FootprintReport
        """
        from . import footprint as fp
        from . import targets

        if target not in targets.TARGETS:
            raise ValueError(f"target={target!r} is not one of {', '.join(targets.TARGETS)}")
        rows = self._validate_X(X) if X is not None else fp.synthetic_rows(self.ir)
        reason = None if estimate else targets.unavailable_reason(target)
        if estimate or reason:
            return fp.estimate(self.ir, target, self.method, rows,
                               note=f"no toolchain: {reason}" if reason else "")
        r = targets.measure(target, self.c_source("model"), "model", self.kind, rows,
                            n_outputs=self.n_outputs, n_features=self.n_features)
        return fp.FootprintReport(
            target, self.method, r.flash_bytes, r.ram_bytes, r.stack_bytes,
            r.instructions_mean, r.instructions_max, False,
            f"QEMU {r.machine}, {len(rows)} rows" if r.machine else "host compiler",
        )

    def verify_on_target(self, target: str, X: Any) -> VerifyReport:
        """Run the generated C on the emulated target over X and compare with the host.

        Parameters
        ----------
        target : str
            An emulated target (``"cortex-m0plus"``, ``"cortex-m4f"``, ``"cortex-m7"``,
            ``"rv32imc"``).
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        VerifyReport
            ``.ok`` is True when every output is identical to the host build's.

        Raises
        ------
        microlearn.targets.ToolchainNotFoundError
            The cross toolchain or QEMU is missing (the message says what to install).
        """
        from . import footprint as fp
        from . import targets

        if target not in targets.TARGETS or not targets.TARGETS[target].runs:
            runs = [t for t, s in targets.TARGETS.items() if s.runs]
            raise ValueError(f"target={target!r} is not one of {', '.join(runs)}")
        targets.check_toolchain(target)
        X = self._validate_X(X)
        r = targets.measure(target, self.c_source("model"), "model", self.kind, X,
                            n_outputs=self.n_outputs, n_features=self.n_features)
        if self.kind == "classifier":
            agree = float(np.mean(r.outputs == self._lib().predict(X)))
            diff = np.abs(r.proba - self._lib().predict_proba(X))
        else:
            host = self._lib().regress(X)
            agree = float(np.mean(np.all(r.outputs.view(np.uint32) == host.view(np.uint32),
                                         axis=1)))
            diff = np.abs(r.outputs - host)
        return fp.VerifyReport(target, len(X), agree, float(np.nanmax(diff)) if diff.size else 0.0,
                               r.instructions_mean)

    # --- host execution of the generated C -------------------------------------------
    def _lib(self) -> host_build.HostLibrary:
        if self._host is None:
            so = host_build.compile_shared(self.c_source("model"), "model")
            self._host = host_build.HostLibrary(so)
        return self._host

    def _validate_X(self, X: Any) -> np.ndarray:
        if hasattr(X, "toarray") and hasattr(X, "nnz"):
            raise TypeError("sparse input is not supported; pass X.toarray()")
        try:
            X = np.asarray(X, dtype=np.float32)
        except (TypeError, ValueError) as e:
            raise ValueError(f"X must be numeric: {e}") from e
        if X.ndim != 2:
            raise ValueError(
                f"Expected a 2D array of shape (n_samples, {self.n_features}), got a "
                f"{X.ndim}D array; reshape a single sample with X.reshape(1, -1)"
            )
        if X.shape[1] != self.n_features:
            raise ValueError(
                f"X has {X.shape[1]} features, but this model expects {self.n_features}"
            )
        if X.shape[0] == 0:
            raise ValueError("X has 0 samples; at least 1 is required")
        return np.ascontiguousarray(X)

    def predict(self, X: Any) -> np.ndarray:
        """Predict with the generated C.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Converted to float32 like scikit-learn's trees do. NaN follows the
            model's missing-value routing; +-inf compare like any number.

        Returns
        -------
        ndarray
            Class labels (classifier), or float32 outputs of shape (n_samples,)
            or (n_samples, n_outputs) (regressor).
        """
        X = self._validate_X(X)
        if self.kind == "classifier":
            return self.ir.classes[self._lib().predict(X)]
        y = self._lib().regress(X)
        return y[:, 0] if self.n_outputs == 1 else y

    @available_if(_is_classifier)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities (float32, shape (n_samples, n_classes)) from the generated C."""
        return self._lib().predict_proba(self._validate_X(X))
