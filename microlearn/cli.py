"""Command line: ``microlearn convert``, ``microlearn footprint``, ``microlearn info``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from . import __version__, codegen_c
from .convert import convert
from .errors import MicrolearnError


def load_estimator(path: str) -> Any:
    """Load a model saved with joblib or pickle. Only load files you trust: unpickling
    runs code."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"model file {path!r} does not exist")
    import joblib

    try:
        return joblib.load(p)
    except Exception as e:  # joblib/pickle raise many types for foreign files
        raise ValueError(f"cannot load {path!r} with joblib/pickle: {e}") from e


def _cmd_convert(args: argparse.Namespace) -> int:
    codegen_c.check_name(args.name)
    model = convert(load_estimator(args.model), method=args.method)
    out = Path(args.output)
    if args.format == "blob":
        model.save_blob(out, compact=args.compact)
        print(f"wrote {out} ({out.stat().st_size:,} bytes): model blob of "
              f"{codegen_c.describe_line(model.ir)}")
        return 0
    model.save(out, name=args.name)
    print(f"wrote {out} ({out.stat().st_size:,} bytes): {codegen_c.describe_line(model.ir)}, "
          f"method={model.method}, {model.data_bytes:,} bytes of tables")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    print(convert(load_estimator(args.model), method=args.method).describe())
    return 0


def _cmd_footprint(args: argparse.Namespace) -> int:
    from . import targets

    model = convert(load_estimator(args.model), method=args.method)
    names = list(targets.TARGETS) if args.target == "all" else [args.target]
    print(f"{'target':14} {'method':9} {'flash B':>9} {'RAM B':>6} {'stack B':>8} "
          f"{'instr/inference':>16}  source")
    for t in names:
        r = model.footprint(t, estimate=args.estimate)
        instr = "-" if r.instructions is None else f"{r.instructions:,.0f}"
        stack = "-" if r.stack_bytes is None else str(r.stack_bytes)
        print(f"{t:14} {r.method:9} {r.flash_bytes:>9,} {r.ram_bytes:>6,} {stack:>8} "
              f"{instr:>16}  {'estimated' if r.estimated else 'measured'} ({r.note})")
    return 0


def _cmd_mp_build(args: argparse.Namespace) -> int:
    from . import mp_module

    if args.arch == "all":
        built, skipped = mp_module.build_all(args.out)
        paths = [p for files in built.values() for p in files]
        for arch, why in skipped.items():
            print(f"skipped {arch}: {why}", file=sys.stderr)
    else:
        paths = mp_module.build(args.arch, args.out)
    for path in paths:
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``microlearn`` command."""
    p = argparse.ArgumentParser(prog="microlearn", description=__doc__)
    p.add_argument("--version", action="version", version=f"microlearn {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("convert", help="convert a saved scikit-learn model to a C header")
    c.add_argument("model", help="model file saved with joblib.dump or pickle")
    c.add_argument("-o", "--output", required=True, help="output header, e.g. model.h")
    c.add_argument("--name", default="model", help="C identifier prefix (default: model)")
    c.add_argument("--method", default="loadable", choices=codegen_c.METHODS)
    c.add_argument("--format", default="c", choices=("c", "blob"),
                   help="c: C header (default); blob: binary model file for MicroPython / "
                        "ml_blob.h")
    c.add_argument("--compact", action="store_true",
                   help="blob: smallest node tables (1-byte threshold index and child codes "
                        "where they fit), a few percent slower")
    c.set_defaults(func=_cmd_convert)

    f = sub.add_parser("footprint", help="flash, RAM and instructions per inference on a target")
    f.add_argument("model")
    f.add_argument("--target", default="cortex-m4f",
                   help="cortex-m0plus, cortex-m4f, cortex-m7, rv32imc, host or all")
    f.add_argument("--method", default="loadable", choices=codegen_c.METHODS)
    f.add_argument("--estimate", action="store_true", help="estimate from the model only")
    f.set_defaults(func=_cmd_footprint)

    mp = sub.add_parser("micropython", help="the microlearn_mp MicroPython module")
    mp_sub = mp.add_subparsers(dest="mp_command", required=True)
    b = mp_sub.add_parser("build", help="build microlearn_mp.mpy (+ mip package.json)")
    b.add_argument("--arch", required=True,
                   help="x64, armv6m, armv7m, armv7emsp, armv7emdp, ..., py (the pure-Python "
                        "fallback), or all (every arch with a toolchain here, one folder each)")
    b.add_argument("--out", default="dist", help="output folder (default: dist)")
    b.set_defaults(func=_cmd_mp_build)

    i = sub.add_parser("info", help="describe what a saved model converts to")
    i.add_argument("model")
    i.add_argument("--method", default="loadable", choices=codegen_c.METHODS)
    i.set_defaults(func=_cmd_info)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``microlearn`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (MicrolearnError, ValueError, TypeError, OSError) as e:
        print(f"microlearn: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
