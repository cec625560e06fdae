"""``microlearn device run`` / ``microlearn device record`` (argparse registration)."""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_device_parser"]


def _positive(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, not {text}")
    return v


def _count(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, not {text}")
    return v


def _cmd_run(args: argparse.Namespace) -> int:
    from microlearn.device.run import run_lineproto, run_micropython

    common = dict(expect=args.expect, method=args.method, timeout=args.timeout,
                  baudrate=args.baud, limit=args.limit, rtol=args.rtol, atol=args.atol,
                  progress=not args.quiet)
    if args.protocol == "line":
        if args.module is not None:
            raise ValueError("--module is for MicroPython boards (--protocol mpremote)")
        cmp = run_lineproto(args.port, args.model, args.data, **common)
    else:
        if args.model is None:
            raise ValueError("--model is required with --protocol mpremote (it is installed "
                             "on the board)")
        cmp = run_micropython(args.port, args.model, args.data, module=args.module,
                              device_path=args.device_path, **common)
    cmp.report(sys.stdout)
    return 0 if cmp.n_agree == cmp.n_rows else 1


def _cmd_record(args: argparse.Namespace) -> int:
    from microlearn.device.record import record_flash, record_stream, save

    if args.from_flash is not None:
        rec = record_flash(args.port, args.from_flash, samples=args.samples,
                           timeout=args.timeout, baudrate=args.baud, progress=not args.quiet)
    else:
        if args.seconds is None and args.samples is None:
            raise ValueError("give --seconds or --samples (how much of the stream to record)")
        rec = record_stream(args.port, seconds=args.seconds, samples=args.samples,
                            timeout=args.timeout, baudrate=args.baud, progress=not args.quiet)
    out = save(rec, args.out, label=args.label)
    n, nc = rec.values.shape
    span = float(rec.t_us[-1]) / 1e6 if n else 0.0
    print(f"recorded {n} samples x {nc} channels over {span:.3f} s (device time) to {out}")
    return 0


def add_device_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``device run`` and ``device record`` on the ``microlearn`` command.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The ``microlearn`` parser's sub-command set.

    Returns
    -------
    argparse.ArgumentParser
        The ``device`` parser.
    """
    d = subparsers.add_parser("device", help="run a model on a connected device, record data")
    dsub = d.add_subparsers(dest="device_command", required=True)

    r = dsub.add_parser(
        "run", help="run rows on a device and compare with the host",
        description="Install a model file on a MicroPython board (mpremote) or talk to C "
                    "firmware (--protocol line), send rows, compare the device's outputs "
                    "with the same model file run on the host; exit status 1 when they "
                    "disagree, 2 on errors.")
    r.add_argument("--port", required=True,
                   help="serial port (/dev/ttyACM0, COM3, a pty) or pyserial URL "
                        "(socket://host:port)")
    r.add_argument("--model", default=None, metavar="MODEL.mlb",
                   help="model file (Model.save_blob); installed on MicroPython boards and "
                        "run on the host as the reference")
    r.add_argument("--data", required=True, metavar="X.npy",
                   help="rows (.npy or .csv; raw windows for models with a DSP front end)")
    r.add_argument("--expect", default=None, metavar="Y.npy",
                   help="expected outputs to compare with instead of the host run")
    r.add_argument("--protocol", default="mpremote", choices=("mpremote", "line"),
                   help="mpremote: MicroPython raw REPL (default); line: C firmware using "
                        "ml_lineproto.h")
    r.add_argument("--method", default=None,
                   choices=("predict", "predict_proba", "decision_function", "score_samples",
                            "regress", "transform"),
                   help="model method (default: predict, regress for regressors)")
    r.add_argument("--module", default=None, metavar="microlearn_mp.mpy",
                   help="install this build of the microlearn_mp module first "
                        "(`microlearn micropython build`)")
    r.add_argument("--device-path", default="microlearn_model.mlb",
                   help="where the model file goes on the board")
    r.add_argument("--timeout", type=_positive, default=10.0,
                   help="seconds without an answer before the device counts as stalled")
    r.add_argument("--baud", type=_count, default=115200, help="serial speed (default 115200)")
    r.add_argument("--limit", type=_count, default=None, help="use the first N rows only")
    r.add_argument("--rtol", type=float, default=1e-5, help="relative tolerance (floats)")
    r.add_argument("--atol", type=float, default=1e-6, help="absolute tolerance (floats)")
    r.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    r.set_defaults(func=_cmd_run)

    c = dsub.add_parser(
        "record", help="receive sensor data a device streams into .npy/.csv",
        description="Record MLS sample lines a device streams (microlearn_recorder.stream, "
                    "or your firmware), or fetch a recording from a MicroPython board's "
                    "flash (--from-flash), with device timestamps and a label.")
    c.add_argument("--port", required=True, help="serial port or pyserial URL")
    c.add_argument("--out", required=True, metavar="DATA.npy|DATA.csv", help="output file")
    c.add_argument("--label", default=None, help="label stored with every sample")
    how = c.add_mutually_exclusive_group()
    how.add_argument("--seconds", type=_positive, default=None,
                     help="record the stream for S seconds")
    c.add_argument("--samples", type=_count, default=None, help="stop after N samples")
    how.add_argument("--from-flash", default=None, metavar="PATH",
                     help="fetch this microlearn_recorder file from a MicroPython board")
    c.add_argument("--timeout", type=_positive, default=10.0,
                   help="seconds without data before the device counts as stalled")
    c.add_argument("--baud", type=_count, default=115200, help="serial speed (default 115200)")
    c.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    c.set_defaults(func=_cmd_record)
    return d
