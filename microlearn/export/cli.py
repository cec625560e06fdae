"""``microlearn export arduino MODEL --out DIR`` (argparse registration)."""

from __future__ import annotations

import argparse

__all__ = ["add_export_parser"]


def _cmd_arduino(args: argparse.Namespace) -> int:
    from ..cli import _options, load_estimator
    from ..convert import convert
    from .arduino import arduino

    model = convert(load_estimator(args.model), **_options(args))
    root = arduino(model, args.out, name=args.name)
    print(f"wrote {root}: Arduino library {args.name} ({model._describe_line()}); "
          f"example examples/{args.name}/{args.name}.ino")
    return 0


def add_export_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add ``export`` (with its ``arduino`` subcommand) to the ``microlearn`` parser."""
    from ..cli import _option_args

    e = subparsers.add_parser("export", help="package a model for a platform (Arduino)")
    e_sub = e.add_subparsers(dest="export_command", required=True)
    a = e_sub.add_parser(
        "arduino", help="an Arduino library: library.properties, src/NAME.h and an example "
                        "sketch that reads feature rows over Serial and prints predictions")
    a.add_argument("model", help="model file saved with joblib.dump or pickle")
    a.add_argument("--out", required=True, help="library folder to write (created)")
    a.add_argument("--name", default="model",
                   help="library, header and C prefix name, a C identifier (default: model)")
    _option_args(a)
    a.set_defaults(func=_cmd_arduino)
