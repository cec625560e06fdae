"""``microlearn device run``: the model on the device against the same model file on the
host, row by row."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np

from microlearn.device.host import METHODS, HostModel

__all__ = ["Comparison", "compare", "load_rows", "run_micropython", "run_lineproto"]


@dataclass
class Comparison:
    """Device outputs against host outputs.

    Attributes
    ----------
    n_rows : int
        Rows compared.
    n_agree : int
        Rows whose outputs agree (classes equal; floats within the tolerance).
    first_mismatch : int or None
        Index of the first disagreeing row.
    device_us : float or None
        Mean microseconds per inference measured on the device (None if not measured).
    """

    n_rows: int
    n_agree: int
    first_mismatch: int | None
    device_us: float | None = None

    @property
    def agreement(self) -> float:
        """Fraction of rows that agree (1.0 when there are no rows)."""
        return self.n_agree / self.n_rows if self.n_rows else 1.0

    def report(self, stream: TextIO | None = None) -> None:
        """Print ``agreement 100.00% (150/150 rows)`` and the time per inference."""
        out = stream if stream is not None else sys.stdout
        print(f"agreement {100.0 * self.agreement:.2f}% ({self.n_agree}/{self.n_rows} rows)",
              file=out)
        if self.first_mismatch is not None:
            print(f"first disagreement at row {self.first_mismatch}", file=out)
        if self.device_us is not None:
            print(f"per inference {self.device_us:.1f} us (measured on the device)", file=out)


def compare(device: np.ndarray, host: np.ndarray, *, rtol: float = 1e-5,
            atol: float = 1e-6) -> Comparison:
    """Row-wise agreement of device and host outputs (exact for integer outputs).

    Parameters
    ----------
    device, host : numpy.ndarray
        Outputs of the same shape; the first axis is the row.
    rtol, atol : float
        Tolerances for float outputs (``|d - h| <= atol + rtol * |h|``).

    Returns
    -------
    Comparison
    """
    device = np.asarray(device)
    host = np.asarray(host)
    if device.shape != host.shape:
        raise ValueError(f"device outputs have shape {device.shape}, host outputs "
                         f"{host.shape}")
    n = host.shape[0]
    if np.issubdtype(host.dtype, np.integer) and np.issubdtype(device.dtype, np.integer):
        ok = (device == host).reshape(n, -1).all(axis=1)
    else:
        d = device.astype(np.float64).reshape(n, -1)
        h = host.astype(np.float64).reshape(n, -1)
        ok = (np.isclose(d, h, rtol=rtol, atol=atol) | (np.isnan(d) & np.isnan(h))).all(axis=1)
    bad = np.flatnonzero(~ok)
    return Comparison(n, int(ok.sum()), int(bad[0]) if bad.size else None)


def load_rows(path: str | Path, n_features: int, *, limit: int | None = None) -> np.ndarray:
    """Rows of a ``.npy`` (any shape with ``n_features`` values per row) or ``.csv`` file.

    Raises
    ------
    ValueError
        The file does not hold rows of ``n_features`` values (names the file and the shapes).
    """
    p = Path(path)
    if p.suffix.lower() == ".npy":
        X = np.load(p, allow_pickle=False)
    elif p.suffix.lower() == ".csv":
        X = np.loadtxt(p, delimiter=",", dtype=np.float64, ndmin=2)
    else:
        raise ValueError(f"--data must be a .npy or .csv file, not {p}")
    if X.ndim == 1 and X.size == n_features:
        X = X.reshape(1, -1)
    if X.ndim != 2:
        X = X.reshape(X.shape[0], -1) if X.ndim > 2 else X
    if X.ndim != 2 or X.shape[1] != n_features:
        raise ValueError(f"--data {p}: rows must have {n_features} values (the model's "
                         f"inputs), got an array of shape {X.shape}")
    if limit is not None:
        X = X[:limit]
    return np.ascontiguousarray(X, dtype=np.float32)


def _reference(model: HostModel, method: str, X: np.ndarray,
               expect: str | Path | None) -> np.ndarray:
    if expect is None:
        return model.run(method, X)
    y = np.load(expect, allow_pickle=False) if str(expect).endswith(".npy") else \
        np.loadtxt(expect, delimiter=",", ndmin=1)
    y = np.asarray(y)
    if method == "predict":
        y = y.astype(np.int32).reshape(-1)
    else:
        y = y.astype(np.float32).reshape(len(y), -1)
    if y.shape[0] < X.shape[0]:
        raise ValueError(f"--expect {expect}: {y.shape[0]} rows, --data has {X.shape[0]}")
    return y[: X.shape[0]]


def run_micropython(port: str, model_file: str | Path, data: str | Path, *,
                    method: str | None = None, expect: str | Path | None = None,
                    module: str | Path | None = None, device_path: str = "microlearn_model.mlb",
                    timeout: float = 10.0, baudrate: int = 115200, limit: int | None = None,
                    rtol: float = 1e-5, atol: float = 1e-6,
                    progress: bool = True) -> Comparison:
    """Install a model file on a MicroPython board, run rows there and compare with the host.

    Parameters
    ----------
    port : str
        Serial port of the board (or a pyserial URL).
    model_file : path-like
        The model file (``Model.save_blob``); the host runs the same file.
    data : path-like
        ``.npy``/``.csv`` rows (raw windows for models with a DSP front end).
    method : str, optional
        Model method (default: ``predict`` for classifiers and outlier detectors,
        ``regress`` for regressors, ``transform`` for transformers).
    expect : path-like, optional
        Expected outputs to compare with instead of the host run.
    module : path-like, optional
        ``microlearn_mp.mpy``/``.py`` to install first (skipped if the board has it).
    device_path : str
        Where the model file goes on the board.
    timeout : float
        Seconds without an answer before the board counts as stalled.
    baudrate : int
        Serial speed (ignored by USB boards and ptys).
    limit : int, optional
        Use only the first ``limit`` rows.
    rtol, atol : float
        Tolerances for float outputs.
    progress : bool
        Progress on stderr for long transfers.

    Returns
    -------
    Comparison
        With ``device_us`` set.
    """
    from microlearn.device.micropython import MicroPythonBoard, module_target_name

    blob = Path(model_file).read_bytes()
    host = HostModel(blob)
    method = method or host.default_method()
    if method not in METHODS:
        raise ValueError(f"--method must be one of {', '.join(METHODS)}, not {method!r}")
    X = load_rows(data, host.n_features, limit=limit)
    ref = _reference(host, method, X, expect)
    with MicroPythonBoard(port, baudrate=baudrate, timeout=timeout) as board:
        if module is not None:
            mod = Path(module)
            board.put_file(module_target_name(mod), mod.read_bytes(), progress=progress)
        board.put_file(device_path, blob, progress=progress)
        n_features, _, _ = board.load_model(device_path)
        if n_features != host.n_features:
            raise ValueError(f"the board's model has {n_features} inputs, the host's "
                             f"{host.n_features}")
        res = board.run(method, X, host.width(method), progress=progress)
    cmp = compare(res.outputs, ref, rtol=rtol, atol=atol)
    cmp.device_us = res.device_us / max(1, len(X)) if res.device_us is not None else None
    return cmp


def run_lineproto(port: str, model_file: str | Path | None, data: str | Path, *,
                  expect: str | Path | None = None, method: str | None = None,
                  timeout: float = 10.0, baudrate: int = 115200, limit: int | None = None,
                  rtol: float = 1e-5, atol: float = 1e-6, progress: bool = True) -> Comparison:
    """Send rows to C firmware speaking the line protocol (``ml_lineproto.h``) and compare
    its answers with the host run of ``model_file`` (or with ``expect``).

    Parameters are those of :func:`run_micropython`; the firmware holds the model, so
    ``model_file`` is only the host reference (optional when ``expect`` is given) and
    ``method`` says which of its outputs the firmware returns.
    """
    from microlearn.device.lineproto import LineProtoDevice

    if model_file is None and expect is None:
        raise ValueError("--protocol line needs --model (run on the host) or --expect")
    host = HostModel(Path(model_file).read_bytes()) if model_file is not None else None
    with LineProtoDevice(port, baudrate=baudrate, timeout=timeout) as dev:
        n_in = host.n_features if host is not None else dev.n_in
        if dev.n_in != n_in:
            raise ValueError(f"the firmware's model has {dev.n_in} inputs, --model has {n_in}")
        X = load_rows(data, n_in, limit=limit)
        if host is not None:
            method = method or host.default_method()
            ref = _reference(host, method, X, expect)
        else:
            method = method or ("predict" if dev.kind == "i" else "regress")
            ref = _reference(None, method, X, expect)  # type: ignore[arg-type]
        out = dev.run(X, progress=progress)
    if method == "predict":
        out = out.reshape(-1).astype(np.int32)
    if out.shape != ref.shape and out.size == ref.size:
        out = out.reshape(ref.shape)
    cmp = compare(out, ref, rtol=rtol, atol=atol)
    cmp.device_us = dev.device_us / max(1, len(X)) if dev.device_us is not None else None
    return cmp
