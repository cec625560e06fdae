"""The converted model: what :func:`microlearn.convert` returns.

Generic: a :class:`Model` is a list of :class:`Step` (one per pipeline step; one for a
plain estimator), each a family record, its IR, its options and its signature. Every
method reads only the signatures and calls the families' backends through their
records; no family is imported here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.utils.metaestimators import available_if

from . import codegen, host_build
from .family import Family, Signature
from .footprint import FootprintReport, VerifyReport


@dataclass(frozen=True, eq=False)
class Step:
    """One converted step: family, IR, the family's options and the signature."""

    family: Family
    ir: Any
    options: dict
    signature: Signature


def _has(*kernels: str):
    def check(model: Model) -> bool:
        return any(k in model.signature.kernels for k in kernels)
    return check


def _is_predictor(model: Model) -> bool:
    return model.signature.task != "transformer"


def _has_integer_entry(model: Model) -> bool:
    return model.signature.input_quantization is not None


def _option_text(value: Any, quote: bool = True) -> str:
    """An option value for describe/repr: arrays (e.g. calibration data) by shape only."""
    if isinstance(value, np.ndarray) or (hasattr(value, "shape") and hasattr(value, "dtype")):
        return f"<array {tuple(value.shape)} {value.dtype}>"
    return repr(value) if quote else str(value)


def _column_names(columns: Any) -> list[str] | None:
    """A DataFrame's column names as scikit-learn sees them: None unless all are strings."""
    if columns is None or len(columns) == 0 or not all(isinstance(c, str) for c in columns):
        return None
    return list(columns)


def _warn_feature_names(names: Any, columns: Any, estimator: str) -> None:
    """scikit-learn's warnings when one of fit and predict had column names and the
    other did not (a DataFrame whose columns are not all strings has no names)."""
    import warnings

    given = _column_names(columns) is not None
    if names is not None and not given:
        warnings.warn(f"X does not have valid feature names, but {estimator} was fitted "
                      "with feature names", UserWarning, stacklevel=4)
    elif names is None and given:
        warnings.warn(f"X has feature names, but {estimator} was fitted without feature "
                      "names", UserWarning, stacklevel=4)


class Model:
    """A converted model: its steps, the C generated from them, and host verification.

    ``predict``, ``predict_proba`` and friends run the generated C, compiled on this
    machine, so their results are what the device computes. The methods present are
    those of the source estimator (``predict_proba`` only for classifiers that have it,
    ``transform`` for transformers, ...).

    Parameters
    ----------
    steps : list of Step
        From :func:`microlearn.convert`.
    """

    def __init__(self, steps: list[Step]):
        if not steps:
            raise ValueError("a model needs at least one step")
        self.steps = list(steps)
        self._host: host_build.HostLibrary | None = None

    # --- what it is ------------------------------------------------------------------
    @property
    def signature(self) -> Signature:
        """The model's signature: the last step's, with the first step's inputs."""
        first, last = self.steps[0].signature, self.steps[-1].signature
        if len(self.steps) == 1:
            return last
        exact = all(s.signature.exact_predict for s in self.steps)
        notes = "; ".join(f"{s.signature.estimator}: {s.signature.exactness}"
                          for s in self.steps if s.signature.exactness)
        return replace(last, n_features=first.n_features, feature_names=first.feature_names,
                       exact_predict=exact, exactness=notes, input_quantization=None,
                       estimator="Pipeline(" + ", ".join(s.signature.estimator
                                                         for s in self.steps) + ")")

    @property
    def ir(self) -> Any:
        """The IR of the (last) step."""
        return self.steps[-1].ir

    @property
    def family(self) -> str:
        """Family of the (last) step (``"trees"``, ``"linear"``, ...)."""
        return self.steps[-1].family.name

    @property
    def kind(self) -> str:
        """The task: ``"classifier"``, ``"regressor"``, ``"outlier_detector"`` or
        ``"transformer"``."""
        return self.signature.task

    @property
    def n_features(self) -> int:
        """Number of input features."""
        return self.signature.n_features

    @property
    def n_outputs(self) -> int:
        """Classes (classifier), targets (regressor), output features (transformer) or 1."""
        return self.signature.n_outputs

    @property
    def classes_(self) -> np.ndarray:
        """Class labels; the C returns indices into this array."""
        if self.kind != "classifier":
            raise AttributeError(f"a {self.kind} has no classes_")
        return self.signature.classes

    @property
    def input_quantization(self) -> tuple[float, int]:
        """``(scale, zero_point)`` of the integer entry's int8 input (int8 nets only).

        ``predict`` / ``predict_proba`` given an **int8** array take its values as the
        model's quantized input, ``q = round(x / scale) + zero_point`` (saturated to
        -128..127), and run the C's ``NAME_*_i8`` entry; given an **int16** array, integer
        feature values (``NAME_*_i16``, the same results as the same values in float32).
        """
        q = self.signature.input_quantization
        if q is None:
            raise AttributeError("input_quantization: this model takes float32 features only "
                                 "(the integer entry is for int8 nets: convert(..., "
                                 "quantize='int8', calibration=X))")
        return q

    def quantize_input(self, X: Any) -> np.ndarray:
        """Float features -> the int8 values the integer entry takes (int8 nets only):
        ``clip(round_half_away(X / scale) + zero_point, -128, 127)`` in float32, as the C's
        own input quantization computes it.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *input_shape)

        Returns
        -------
        ndarray of int8, shape (n_samples, n_features)
        """
        if not _has_integer_entry(self):
            raise TypeError("quantize_input() is for int8 neural nets with an integer entry "
                            "(convert(..., quantize='int8', calibration=X)); this model "
                            "takes float32 features only")
        scale, zp = self.input_quantization
        X = self._validate_X(X)
        v = np.nan_to_num(X / np.float32(scale), nan=0.0)
        v = np.clip(v, np.float32(-1e6), np.float32(1e6))
        q = np.trunc(v)
        f = v - q
        q = q + (f >= 0.5) - (f <= -0.5)
        return np.clip(q + zp, -128, 127).astype(np.int8)

    @property
    def options(self) -> dict:
        """The family options in effect (all steps)."""
        out: dict = {}
        for s in self.steps:
            out.update(s.options)
        return out

    @property
    def method(self) -> str | None:
        """The ``method`` option (tree family), or None."""
        return self.options.get("method")

    @property
    def exact_predict(self) -> bool:
        """True when ``predict`` provably equals scikit-learn's for every float32 input
        (see :attr:`exactness` for what holds otherwise)."""
        return self.signature.exact_predict

    @property
    def exactness(self) -> str:
        """How the outputs compare with scikit-learn's (stated tolerances, near-ties)."""
        return self.signature.exactness

    @property
    def data_bytes(self) -> int:
        """Bytes of constant tables in the generated C (machine code not included)."""
        return sum(s.family.data_bytes(s.ir, s.options) for s in self.steps)

    def _describe_line(self) -> str:
        return " -> ".join(s.family.describe(s.ir, s.options) for s in self.steps)

    def describe(self) -> str:
        """Multi-line summary: family, inputs, outputs, options, exactness, table bytes."""
        sig = self.signature
        if self.kind == "classifier":
            outputs = (f"{self.n_outputs} classes {list(sig.classes.tolist())[:8]}"
                       + ("..." if self.n_outputs > 8 else ""))
        elif self.kind == "regressor":
            outputs = f"{self.n_outputs} regression output(s)"
        elif self.kind == "outlier_detector":
            outputs = "+1 inlier / -1 outlier"
        else:
            outputs = f"{self.n_outputs} transformed features"
        fams = "+".join(dict.fromkeys(s.family.name for s in self.steps))
        opts = ", ".join(f"{k}={_option_text(v)}" for k, v in self.options.items()) or "-"
        methods = ", ".join(m for m in ("predict", "predict_proba", "decision_function",
                                        "score_samples", "transform") if hasattr(self, m))
        return (
            f"microlearn model ({fams}, {self.kind})\n"
            f"  estimator : {self._describe_line()}\n"
            f"  inputs    : {self.n_features} float32 features"
            + (" (also int8 quantized with scale={:.6g}, zero_point={} / int16 integer "
               "features)".format(*sig.input_quantization) if sig.input_quantization else "")
            + "\n"
            f"  outputs   : {outputs}\n"
            f"  methods   : {methods}\n"
            f"  options   : {opts}\n"
            + (f"  predict   : {'equals sklearn for every float32 input' if self.exact_predict else 'may differ from the source model at near-ties (see exactness)'}\n"  # noqa: E501
               if self.kind in ("classifier", "outlier_detector") else "")
            + (f"  exactness : {self.exactness}\n" if self.exactness else "")
            + f"  tables    : {self.data_bytes:,} bytes of constant data"
        )

    def __repr__(self) -> str:
        opts = "".join(f" {k}={_option_text(v, quote=False)}" for k, v in self.options.items())
        return (
            f"<microlearn.Model {self.signature.estimator} family={self.family} "
            f"kind={self.kind} n_features={self.n_features} n_outputs={self.n_outputs}"
            f"{opts} dtype=float32 data_bytes={self.data_bytes}>"
        )

    __str__ = describe

    # --- C code ----------------------------------------------------------------------
    def c_source(self, name: str = "model") -> str:
        """The self-contained C99 header for this model, with symbols prefixed ``name``."""
        codegen.check_name(name)
        if len(self.steps) == 1:
            prefixes = [name]
        else:
            prefixes = [f"{name}__s{i}" for i in range(len(self.steps))]
        codes = [s.family.c_code(s.ir, p, s.options) for s, p in zip(self.steps, prefixes,
                                                                     strict=True)]
        notes = [f"Exactness: {self.exactness}"] if self.exactness else []
        return codegen.write_header(name, [s.signature for s in self.steps], codes,
                                    self._describe_line(), notes)

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

    def to_blob(self, **options: Any) -> bytes:
        """The model as a model file (docs/blob_format.md): one section per step, for the
        C loader (``ml_model.h``) and MicroPython.

        Parameters
        ----------
        **options
            Family options overriding those given to ``convert`` for the file only
            (e.g. trees: ``compact=False`` for the faster, larger node tables).
        """
        from . import blob

        sections = []
        used: set[str] = set()
        for s in self.steps:
            opts = dict(s.options)
            for k, v in options.items():
                if k in s.family.options:
                    opts[k] = v
                    used.add(k)
            sections.append(blob.Section(s.family.section_id, s.signature.task,
                                         s.signature.n_features,
                                         s.family.section(s.ir, opts)))
        unknown = sorted(set(options) - used)
        if unknown:
            raise TypeError(f"to_blob() got unknown option(s) {', '.join(unknown)}")
        return blob.write(sections)

    def save_tflite(self, path: str | os.PathLike) -> Path:
        """Write a neural-net model as a TFLite flatbuffer (``.tflite``).

        An int8 model (``convert(net, quantize="int8", calibration=X)``) is written with its
        quantization parameters, so the TFLite Micro interpreter runs the very integer
        model whose C this object generates (bit-exact, tested); a float model as float32.

        Parameters
        ----------
        path : str or PathLike
            Output file.

        Returns
        -------
        Path
            The path written.
        """
        if len(self.steps) != 1 or "tflite" not in self.steps[0].family.exporters:
            fams = "+".join(s.family.name for s in self.steps)
            raise TypeError(f"save_tflite() writes a single neural-net model; this model is "
                            f"{fams} ({len(self.steps)} step(s))")
        step = self.steps[0]
        step.family.exporters["tflite"](step.ir, step.options, Path(path))
        return Path(path)

    def save_blob(self, path: str | os.PathLike, **options: Any) -> Path:
        """Write :meth:`to_blob` to ``path`` (conventionally ``model.mlb``)."""
        data = self.to_blob(**options)
        path = Path(path)
        try:
            path.write_bytes(data)
        except OSError as e:
            raise OSError(f"cannot write the model file to {str(path)!r}: {e.strerror}") from e
        return path

    # --- targets ------------------------------------------------------------------
    def _measured_values(self) -> tuple[str | None, int | None]:
        sig = self.signature
        if sig.task == "classifier":
            if sig.has_proba:
                return "predict_proba", sig.n_outputs
            if sig.n_decision:
                return "decision_function", sig.n_decision
        if sig.task == "outlier_detector":
            return "decision_function", 1
        return None, None

    def _synthetic_rows(self) -> np.ndarray:
        first = self.steps[0]
        if len(self.steps) == 1 and first.family.synthetic_rows is not None:
            return first.family.synthetic_rows(first.ir, 200)
        rng = np.random.default_rng(0)
        return rng.standard_normal((200, self.n_features)).astype(np.float32)

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
            it). Default: synthetic rows.
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
        rows = self._validate_X(X) if X is not None else self._synthetic_rows()
        reason = None if estimate else targets.unavailable_reason(target)
        if estimate or reason:
            return fp.estimate(self.steps, target, rows,
                               note=f"no toolchain: {reason}" if reason else "")
        values, n_values = self._measured_values()
        r = targets.measure(target, self.c_source("model"), "model", self.kind, rows,
                            n_outputs=self.n_outputs, n_features=self.n_features,
                            values=values, n_values=n_values)
        return fp.FootprintReport(
            target, self.method or "", r.flash_bytes, r.ram_bytes, r.stack_bytes,
            r.instructions_mean, r.instructions_max, False,
            (f"{'' if r.machine.startswith('simavr') else 'QEMU '}{r.machine}, {len(rows)} rows"
             if r.machine else "host compiler"),
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
        values, n_values = self._measured_values()
        r = targets.measure(target, self.c_source("model"), "model", self.kind, X,
                            n_outputs=self.n_outputs, n_features=self.n_features,
                            values=values, n_values=n_values)
        lib = self._lib()
        if self.kind in ("classifier", "outlier_detector"):
            agree = float(np.mean(r.outputs == lib.call("predict", X)))
            host = lib.call(values, X).reshape(len(X), -1) if values else None
            diff = (np.abs(r.proba - host) if host is not None else np.zeros(0))
            same = host is None or bool(np.all(r.proba.view(np.uint32)
                                               == host.view(np.uint32)))
            if not same:
                agree = min(agree, float(np.mean(np.all(
                    r.proba.view(np.uint32) == host.view(np.uint32), axis=1))))
        else:
            host = lib.call("regress" if self.kind == "regressor" else "transform", X)
            agree = float(np.mean(np.all(r.outputs.view(np.uint32) == host.view(np.uint32),
                                         axis=1)))
            diff = np.abs(r.outputs - host)
        return fp.VerifyReport(target, len(X), agree,
                               float(np.nanmax(diff)) if diff.size else 0.0,
                               r.instructions_mean)

    # --- host execution of the generated C -------------------------------------------
    def _widths(self) -> dict[str, int]:
        sig = self.signature
        w = {}
        for k in sig.kernels:
            w[k] = {"predict": 1, "score_samples": 1, "decision_function": sig.n_decision
                    }.get(k, sig.n_outputs)
        if sig.task == "outlier_detector":
            w["decision_function"] = 1
        return w

    def _lib(self) -> host_build.HostLibrary:
        if self._host is None:
            widths = self._widths()
            integer = None
            if self.signature.input_quantization is not None:
                integer = "predict_proba" if self.kind == "classifier" else "regress"
            so = host_build.compile_shared(self.c_source("model"), "model", tuple(widths),
                                           integer)
            self._host = host_build.HostLibrary(so, widths, integer)
        return self._host

    def _validate_X(self, X: Any) -> np.ndarray:
        if hasattr(X, "toarray") and hasattr(X, "nnz"):
            raise TypeError("sparse input is not supported; pass X.toarray()")
        names = self.signature.feature_names
        columns = getattr(X, "columns", None)
        _warn_feature_names(names, columns if hasattr(X, "iloc") else None,
                            self.steps[0].signature.estimator)  # a pipeline's first step
        if _column_names(columns) is not None and hasattr(X, "iloc"):
            given = [str(c) for c in columns]
            if names is not None and given != list(names):
                missing = [n for n in names if n not in given]
                extra = [g for g in given if g not in names]
                detail = (f"missing {missing[:5]}" if missing else "") + (
                    f"{'; ' if missing else ''}unexpected {extra[:5]}" if extra else "")
                raise ValueError(
                    "The feature names should match those that were passed during fit "
                    f"({detail or 'same names in a different order'}): reorder the "
                    "DataFrame's columns as in fit"
                )
        arr = np.asarray(X)
        if np.iscomplexobj(arr):
            raise ValueError("X has complex values; the model takes real float32 features")
        try:
            X = np.asarray(arr, dtype=np.float32)
        except (TypeError, ValueError) as e:
            raise ValueError(f"X must be numeric: {e}") from e
        shape = self.signature.input_shape
        if shape is not None and X.ndim == len(shape) + 1 and tuple(X.shape[1:]) == shape:
            X = X.reshape(X.shape[0], -1)  # samples of the model's input shape, C order
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

    def _integer_X(self, X: Any) -> np.ndarray | None:
        """X for the integer entry (a numpy int8 or int16 array), checked; None for any
        other X (the float path). int8 is refused by a model without an integer entry:
        its values would be quantized inputs, which only an int8 net has."""
        if not isinstance(X, np.ndarray) or X.dtype not in (np.int8, np.int16):
            return None
        if self.signature.input_quantization is None:
            if X.dtype == np.int8:
                raise TypeError(
                    "X is int8, which means already-quantized inputs, but this model has no "
                    "integer entry (only int8 nets converted with quantize='int8' do): pass "
                    "float features, e.g. X.astype(np.float32)")
            return None  # int16 feature values: the float path computes the same
        shape = self.signature.input_shape
        if shape is not None and X.ndim == len(shape) + 1 and tuple(X.shape[1:]) == shape:
            X = X.reshape(X.shape[0], -1)
        if X.ndim != 2:
            raise ValueError(
                f"Expected a 2D {X.dtype} array of shape (n_samples, {self.n_features}), got a "
                f"{X.ndim}D array; reshape a single sample with X.reshape(1, -1)")
        if X.shape[1] != self.n_features:
            raise ValueError(
                f"X has {X.shape[1]} features, but this model expects {self.n_features}")
        if X.shape[0] == 0:
            raise ValueError("X has 0 samples; at least 1 is required")
        return np.ascontiguousarray(X)

    @available_if(_is_predictor)
    def predict(self, X: Any) -> np.ndarray:
        """Predict with the generated C.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Converted to float32 (what the device computes on). For an int8 net
            (:attr:`input_quantization`), a numpy int8 array is its quantized input and an
            int16 array integer features: the C's integer entries run (``NAME_*_i8`` /
            ``NAME_*_i16``).

        Returns
        -------
        ndarray
            Class labels (classifier), +1/-1 (outlier detector), or float32 outputs of
            shape (n_samples,) or (n_samples, n_outputs) (regressor).
        """
        Xi = self._integer_X(X)
        if Xi is not None:
            if self.kind == "classifier":
                return self.signature.classes[self._lib().call_int("predict", Xi)]
            y = self._lib().call_int("regress", Xi)
            return y[:, 0] if self.n_outputs == 1 and not self.signature.output_2d else y
        X = self._validate_X(X)
        if self.kind == "classifier":
            return self.signature.classes[self._lib().call("predict", X)]
        if self.kind == "outlier_detector":
            return self._lib().call("predict", X).astype(np.int64)
        y = self._lib().call("regress", X)
        return y[:, 0] if self.n_outputs == 1 and not self.signature.output_2d else y

    @available_if(_has("predict_proba"))
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities (float32, shape (n_samples, n_classes)) from the generated C
        (int8 / int16 arrays: the integer entry, as in :meth:`predict`)."""
        Xi = self._integer_X(X)
        if Xi is not None:
            return self._lib().call_int("predict_proba", Xi)
        return self._lib().call("predict_proba", self._validate_X(X))

    @available_if(_has("decision_function"))
    def decision_function(self, X: Any) -> np.ndarray:
        """Decision function from the generated C (float32; 1-D when it has one value per
        sample, as scikit-learn's)."""
        d = self._lib().call("decision_function", self._validate_X(X))
        return d[:, 0] if d.shape[1] == 1 else d

    @available_if(_has("score_samples"))
    def score_samples(self, X: Any) -> np.ndarray:
        """score_samples from the generated C (float32, shape (n_samples,))."""
        return self._lib().call("score_samples", self._validate_X(X))

    @available_if(_has("transform"))
    def transform(self, X: Any) -> np.ndarray:
        """Transformed features from the generated C (float32, (n_samples, n_outputs))."""
        return self._lib().call("transform", self._validate_X(X))

