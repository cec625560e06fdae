"""Command line: ``microlearn convert``, ``microlearn footprint``, ``microlearn info``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from . import __version__
from .codegen import check_name
from .convert import convert
from .errors import MicrolearnError

TREE_METHODS = ("fast", "loadable", "inline")  # as microlearn.families.trees.c.METHODS


def load_estimator(path: str) -> Any:
    """Load a model saved with joblib or pickle. Only load files you trust: unpickling
    runs code."""
    p = Path(path)
    if p.is_dir():
        raise IsADirectoryError(f"model file {path!r} is a directory, not a saved model")
    if not p.exists():
        raise FileNotFoundError(f"model file {path!r} does not exist")
    if p.stat().st_size == 0:
        raise ValueError(f"model file {path!r} is empty")
    import joblib

    try:
        return joblib.load(p)
    except Exception as e:  # joblib/pickle raise many types for foreign files
        detail = str(e).strip() or "the file is truncated or not a joblib/pickle file"
        raise ValueError(f"cannot load {path!r} with joblib/pickle: "
                         f"{type(e).__name__}: {detail}") from e


def _options(args: argparse.Namespace) -> dict[str, Any]:
    """Family options given on the command line (only those given: each family has its
    own defaults)."""
    opts: dict[str, Any] = {}
    if getattr(args, "method", None) is not None:
        opts["method"] = args.method
    if getattr(args, "compact", None) is not None:
        opts["compact"] = args.compact
    for item in getattr(args, "option", None) or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--option {item!r}: expected KEY=VALUE")
        import ast

        try:
            opts[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            opts[key] = value
    return opts


def _cmd_convert(args: argparse.Namespace) -> int:
    check_name(args.name)
    model = convert(load_estimator(args.model), **_options(args))
    out = Path(args.output)
    if args.format == "blob":
        model.save_blob(out)
        print(f"wrote {out} ({out.stat().st_size:,} bytes): model file of "
              f"{model._describe_line()}")
        return 0
    model.save(out, name=args.name)
    print(f"wrote {out} ({out.stat().st_size:,} bytes): {model._describe_line()}, "
          f"{model.data_bytes:,} bytes of tables")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    print(convert(load_estimator(args.model), **_options(args)).describe())
    return 0


def _cmd_footprint(args: argparse.Namespace) -> int:
    from . import targets

    if args.target != "all" and args.target not in targets.TARGETS:
        raise ValueError(f"--target {args.target!r} is not one of "
                         f"{', '.join(targets.TARGETS)} or all")
    model = convert(load_estimator(args.model), **_options(args))
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

    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise ValueError(f"--out {args.out!r} is a file; give a folder (created if missing)")
    if getattr(args, "dsp", False):
        from . import micropython_build, mp_dsp

        arches = ([a for a in micropython_build.available_natmod_arches()
                   if micropython_build.NATMOD_ARCHES[a].float_objects]
                  if args.arch == "all" else [args.arch])
        for arch in arches:
            out = Path(args.out) / arch if args.arch == "all" else Path(args.out)
            for path in mp_dsp.build(arch, out):
                print(f"wrote {path} ({path.stat().st_size:,} bytes)")
        return 0
    fams = mp_module.family_set(args.families, getattr(args, "for_model", None))
    if args.split:
        if args.arch == "all":
            raise ValueError("--split builds one arch at a time; give --arch")
        paths = mp_module.build_split(args.arch, args.out, fams)
        for path in paths:
            print(f"wrote {path} ({path.stat().st_size:,} bytes)")
        return 0
    if args.arch == "all":
        built, skipped = mp_module.build_all(args.out, fams)
        paths = [p for files in built.values() for p in files]
        for arch, why in skipped.items():
            print(f"skipped {arch}: {why}", file=sys.stderr)
    else:
        out = Path(args.out)
        if out.exists() and not out.is_dir():
            raise ValueError(f"--out {args.out!r} is a file; give a folder (created if missing)")
        paths = mp_module.build(args.arch, args.out, fams)
    for path in paths:
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    return 0


def _option_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--method", default=None, choices=TREE_METHODS,
                   help="trees: loadable (default, smallest) or inline (fastest)")
    p.add_argument("--compact", default=None, action=argparse.BooleanOptionalAction,
                   help="trees, model files: compact node tables (default) or not "
                        "(--no-compact: larger, a few percent faster)")
    p.add_argument("-O", "--option", action="append", metavar="KEY=VALUE",
                   help="any family option, e.g. -O exact=False (repeatable)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``microlearn`` command."""
    p = argparse.ArgumentParser(prog="microlearn", description=__doc__)
    p.add_argument("--version", action="version", version=f"microlearn {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("convert", help="convert a saved scikit-learn model to a C header")
    c.add_argument("model", help="model file saved with joblib.dump or pickle")
    c.add_argument("-o", "--output", required=True, help="output header, e.g. model.h")
    c.add_argument("--name", default="model", help="C identifier prefix (default: model)")
    _option_args(c)
    c.add_argument("--format", default="c", choices=("c", "blob"),
                   help="c: C header (default); blob: model file for MicroPython / "
                        "ml_model.h")
    c.set_defaults(func=_cmd_convert)

    f = sub.add_parser("footprint", help="flash, RAM and instructions per inference on a target")
    f.add_argument("model")
    f.add_argument("--target", default="cortex-m4f",
                   help="cortex-m0plus, cortex-m4f, cortex-m7, rv32imc, host or all")
    _option_args(f)
    f.add_argument("--estimate", action="store_true", help="estimate from the model only")
    f.set_defaults(func=_cmd_footprint)

    mp = sub.add_parser("micropython", help="the microlearn_mp MicroPython module")
    mp_sub = mp.add_subparsers(dest="mp_command", required=True)
    b = mp_sub.add_parser("build", help="build microlearn_mp.mpy (+ mip package.json)")
    b.add_argument("--arch", required=True,
                   help="x64, armv6m, armv7m, armv7emsp, armv7emdp, ..., py (the pure-Python "
                        "fallback), or all (every arch with a toolchain here, one folder each)")
    b.add_argument("--out", default="dist", help="output folder (default: dist)")
    sel = b.add_mutually_exclusive_group()
    sel.add_argument("--families", default=None,
                     help="comma-separated families the module carries (default: all), "
                          "e.g. trees,preprocessing")
    sel.add_argument("--for", dest="for_model", default=None, metavar="MODEL.mlb",
                     help="carry exactly the families this model file needs (a file without "
                          "boosted ensembles also leaves the boosted-tree engine out)")
    b.add_argument("--split", action="store_true",
                   help="one native module per family (microlearn_mp_<family>.mpy) plus the "
                        "microlearn_mp.py dispatcher: install only the families you use")
    b.add_argument("--dsp", action="store_true",
                   help="build the DSP module microlearn_dsp.mpy instead (FFT, MFCC, filters, "
                        "sound level, features, post-processing; arches with an FPU)")
    b.set_defaults(func=_cmd_mp_build)

    i = sub.add_parser("info", help="describe what a saved model converts to")
    i.add_argument("model")
    _option_args(i)
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
