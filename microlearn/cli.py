"""Command line: ``microlearn convert``, ``info``, ``footprint``, ``verify``, ``micropython``.

Every subcommand prints ``microlearn: error: <one line>`` and exits with status 2 on a
usage or input error. ``footprint`` exits with 1 when a model does not fit a budget given
with ``--budget-flash`` / ``--budget-ram``; ``verify`` exits with 1 when an output differs.
"""

from __future__ import annotations

import argparse
import re
import sys
import warnings
from pathlib import Path
from typing import Any, NoReturn

from . import __version__
from .codegen import check_name
from .convert import convert
from .device.cli import add_device_parser
from .errors import MicrolearnError
from .export.cli import add_export_parser

TREE_METHODS = ("fast", "loadable", "inline", "branchless")  # as ...families.trees.c.METHODS
#: Exit status of ``footprint`` when a budget is exceeded and of ``verify`` on a mismatch.
EXIT_FAILED = 1


def load_estimator(path: str) -> Any:
    """Load a fitted model saved with joblib or pickle.

    Only load files you trust: unpickling runs code.

    Parameters
    ----------
    path : str
        The file.

    Returns
    -------
    object
        The fitted estimator.

    Raises
    ------
    FileNotFoundError, IsADirectoryError, ValueError
        No such file, a folder, an empty or non-pickle file.
    TypeError
        The file holds a class (``joblib.dump(RandomForestClassifier, ...)``) rather than a
        fitted instance.
    """
    p = Path(path)
    if p.is_dir():
        raise IsADirectoryError(f"model file {path!r} is a directory, not a saved model")
    if not p.exists():
        raise FileNotFoundError(f"model file {path!r} does not exist")
    if p.stat().st_size == 0:
        raise ValueError(f"model file {path!r} is empty")
    import joblib

    try:
        est = joblib.load(p)
    except Exception as e:  # joblib/pickle raise many types for foreign files
        detail = str(e).strip() or "the file is truncated or not a joblib/pickle file"
        raise ValueError(f"cannot load {path!r} with joblib/pickle: "
                         f"{type(e).__name__}: {detail}") from e
    if isinstance(est, type):
        raise TypeError(f"model file {path!r} holds the class {est.__name__}, not a fitted "
                        f"estimator: save the fitted instance, e.g. "
                        f"joblib.dump({est.__name__}().fit(X, y), {p.name!r})")
    return est


def load_data(path: str, option: str = "--data") -> Any:
    """Rows of features from a ``.npy`` file (``numpy.save``) or a ``.csv`` file (comma
    separated numbers, no header).

    Parameters
    ----------
    path : str
        The file.
    option : str
        The option it was given with (for error messages).

    Returns
    -------
    ndarray
    """
    import numpy as np

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{option} {path!r} does not exist or is not a file")
    if p.suffix.lower() == ".csv":
        try:
            return np.loadtxt(p, delimiter=",", dtype=np.float64, ndmin=2)
        except ValueError as e:
            raise ValueError(f"{option} {path!r}: not a CSV of numbers: {e}") from e
    try:
        X = np.load(p, allow_pickle=False)
    except Exception as e:  # numpy raises ValueError/OSError/UnpicklingError
        raise ValueError(f"{option} {path!r} is not a .npy array file (numpy.save) or a "
                         f".csv: {type(e).__name__}: {str(e).strip()}") from e
    if not isinstance(X, np.ndarray):
        raise ValueError(f"{option} {path!r} is an .npz archive; give one array (.npy)")
    return X


_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([kKmM]?)(?:i?[bB])?\s*")


def parse_bytes(text: str) -> int:
    """A byte count: ``32768``, ``32K``, ``32KB``, ``32KiB``, ``1.5M`` (K = 1024)."""
    m = _SIZE.fullmatch(text)
    if not m:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a size in bytes (e.g. 32768, 32K, 1M)")
    scale = {"": 1, "k": 1024, "m": 1024 * 1024}[m.group(2).lower()]
    return int(float(m.group(1)) * scale)


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        v = float("nan")
    if not v > 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
    return v


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
    to_stdout = args.output == "-"
    if args.format == "blob":
        data = model.to_blob()
        if to_stdout:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        else:
            model.save_blob(args.output)
        print(f"wrote {'stdout' if to_stdout else args.output} ({len(data):,} bytes): model "
              f"file of {model._describe_line()}", file=sys.stderr if to_stdout else sys.stdout)
        return 0
    if to_stdout:
        text = model.c_source(args.name)
        sys.stdout.write(text)
        sys.stdout.flush()
        print(f"wrote stdout ({len(text.encode()):,} bytes): {model._describe_line()}",
              file=sys.stderr)
        return 0
    out = model.save(args.output, name=args.name)
    print(f"wrote {out} ({out.stat().st_size:,} bytes): {model._describe_line()}, "
          f"{model.data_bytes:,} bytes of tables")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    print(convert(load_estimator(args.model), **_options(args)).describe())
    return 0


def _console(file: Any = None) -> Any:
    from rich.console import Console

    file = sys.stdout if file is None else file
    tty = hasattr(file, "isatty") and file.isatty()
    # not a terminal (a pipe, a file, a test): wide enough that no row wraps, no colour
    return Console(file=file, width=None if tty else 200, highlight=False,
                   color_system="auto" if tty else None)


def _table(columns: list[tuple[str, str]]) -> Any:
    from rich import box
    from rich.table import Table

    t = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for i, (name, justify) in enumerate(columns):
        last = i == len(columns) - 1          # the free-text column wraps; no other shrinks
        t.add_column(name, justify=justify, no_wrap=not last,  # type: ignore[arg-type]
                     min_width=None if last else len(name), overflow="fold")
    return t


def _rows(args: argparse.Namespace) -> Any:
    if args.data is None:
        return None
    with warnings.catch_warnings():  # a .npy has no column names: nothing to check
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        return load_data(args.data)


def _cmd_footprint(args: argparse.Namespace) -> int:
    from . import targets

    if args.target != "all" and args.target not in targets.TARGETS:
        raise ValueError(f"--target {args.target!r} is not one of "
                         f"{', '.join(targets.TARGETS)} or all")
    model = convert(load_estimator(args.model), **_options(args))
    X = _rows(args)
    if X is not None:
        model._validate_X(X)  # a wrong shape fails before any build, naming --data
    names = list(targets.TARGETS) if args.target == "all" else [args.target]
    budgets = args.budget_flash is not None or args.budget_ram is not None
    cols = [("target", "left"), ("method", "left"), ("flash B", "right"), ("RAM B", "right"),
            ("stack B", "right"), ("instr/inference", "right")]
    if args.clock_mhz:
        cols.append((f"us @ {args.clock_mhz:g} MHz", "right"))
    if budgets:
        cols.append(("fits", "left"))
    cols.append(("source", "left"))
    title = (f"{model._describe_line()}; instructions over "
             f"{f'{len(X)} rows of {args.data}' if X is not None else 'synthetic rows'}")
    table = _table(cols)
    failed = []
    err = _console(sys.stderr)
    for t in names:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="X does not have valid feature names")
            with err.status(f"footprint on {t} ...", spinner="dots"):
                try:
                    r = model.footprint(t, X, estimate=args.estimate)
                except MicrolearnError as e:
                    if len(names) == 1:
                        raise
                    # --target all: a target the model cannot be built for is a row
                    why = str(e).strip().splitlines()
                    why_line = next((w for w in why if "will not fit" in w), why[0])[:100]
                    row = [t, "-", "-", "-", "-", "-"] + (["-"] if args.clock_mhz else [])
                    if budgets:
                        row.append("NO: does not build")
                        failed.append(t)
                    table.add_row(*row, f"does not build: {why_line}")
                    continue
        instr = "-" if r.instructions is None else f"{r.instructions:,.0f}"
        stack = "-" if r.stack_bytes is None else f"{r.stack_bytes:,}"
        row = [t, r.method or "-", f"{r.flash_bytes:,}", f"{r.ram_bytes:,}", stack, instr]
        if args.clock_mhz:
            row.append("-" if r.instructions is None
                       else f"{r.instructions / args.clock_mhz:,.1f}")
        if budgets:
            why = []
            if args.budget_flash is not None and r.flash_bytes > args.budget_flash:
                why.append(f"flash {r.flash_bytes:,} > {args.budget_flash:,}")
            ram = r.ram_bytes + (r.stack_bytes or 0)
            if args.budget_ram is not None and ram > args.budget_ram:
                why.append(f"RAM+stack {ram:,} > {args.budget_ram:,}")
            row.append("yes" if not why else "NO: " + "; ".join(why))
            if why:
                failed.append(t)
        row.append(f"{'estimated' if r.estimated else 'measured'} ({r.note})")
        table.add_row(*row)
    print(title)
    _console().print(table)
    if args.clock_mhz:
        print(f"us = instructions / {args.clock_mhz:g} MHz, i.e. one instruction per cycle: "
              "a lower bound (loads, branches, divisions and flash wait states take more "
              "cycles on most cores)")
    if failed:
        print(f"microlearn: does not fit on {', '.join(failed)}", file=sys.stderr)
        return EXIT_FAILED
    return 0


def _regress_bound(model: Any, X: Any) -> Any:
    """Per row (and target) bound on |host C - the source model's predict| stated by the last step's
    family (``Family.regress_tolerance``), or None where none is stated: another family,
    an int8 net, or a pipeline whose earlier steps are not bit-identical to scikit-learn's
    (their rounding would add to the bound). The last step's rows are the host C's output
    of the earlier steps (what it gets on the device too)."""
    import numpy as np

    from .model import Model

    last = model.steps[-1]
    fn = last.family.regress_tolerance
    if fn is None:
        return None
    Xs = np.asarray(X, dtype=np.float32)
    if len(model.steps) > 1:
        if not all(s.signature.exact_predict for s in model.steps[:-1]):
            return None
        Xs = Model(model.steps[:-1]).transform(Xs)
    b = fn(last.ir, Xs)
    return None if b is None else np.asarray(b, dtype=np.float64)


def _cmd_verify(args: argparse.Namespace) -> int:
    import numpy as np

    from . import targets

    est = load_estimator(args.model)
    model = convert(est, **_options(args))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        X = model._validate_X(load_data(args.data))
        names = ([t for t, s in targets.TARGETS.items() if s.runs and
                  targets.unavailable_reason(t) is None]
                 if args.target == "all" else [args.target])
        if args.target == "all" and not names:
            raise targets.ToolchainNotFoundError(
                "no emulated target has its toolchain here; run scripts/setup.sh or see "
                "`microlearn footprint --help`")
        title = f"{model._describe_line()}; {len(X)} rows of {args.data}"
        table = _table([("compared", "left"), ("rows", "right"), ("agreement", "right"),
                        ("max |diff|", "right"), ("instr/inference", "right"),
                        ("result", "left")])
        ok = True
        # the host build against the source model
        if hasattr(est, "predict") and model.kind != "transformer":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the estimator's own feature-name check
                ref = np.asarray(est.predict(X))
            got = model.predict(X)
            if model.kind in ("classifier", "outlier_detector"):
                agree = float(np.mean(got.reshape(ref.shape) == ref))
                diff = "-"
                good = agree == 1.0 or not model.exact_predict
                note = ("identical" if agree == 1.0 else
                        "differs (near-ties, see `microlearn info`)" if good else "DIFFERS")
            else:
                ref = np.asarray(ref, dtype=np.float64)
                got64 = got.reshape(ref.shape).astype(np.float64)
                d = np.abs(got64 - ref)
                d[np.isnan(got64) & np.isnan(ref)] = 0.0  # NaN where the model gives NaN
                diff = f"{float(np.nanmax(d)):.3g}" if d.size else "-"
                bound = _regress_bound(model, X)
                if bound is None:
                    # no numeric bound stated: shown, not judged
                    agree = float(np.mean(d <= 1e-5 * (1 + np.abs(ref))))
                    good = True
                    note = ("int8: the quantization's difference, not judged"
                            if model.signature.input_quantization is not None or
                            getattr(model.ir, "quantized", False) else
                            "not judged (no stated bound for this model)")
                else:
                    b = bound.reshape(len(X), -1) if bound.ndim > 1 else bound[:, None]
                    rows_ok = (d.reshape(len(X), -1) <= b).all(axis=1)
                    agree = float(np.mean(rows_ok))
                    good = bool(rows_ok.all())
                    note = (f"within the float32 bound (<= {float(np.max(b)):.3g})" if good
                            else "EXCEEDS the stated float32 bound")
            ok = ok and good
            table.add_row("host C vs Python model", str(len(X)), f"{agree:.2%}", diff, "-",
                          note)
        err = _console(sys.stderr)
        for t in names:
            with err.status(f"running {len(X)} rows on {t} (emulated) ...", spinner="dots"):
                try:
                    r = model.verify_on_target(t, X)
                except targets.UnsupportedOnTargetError as e:
                    if len(names) == 1:
                        raise
                    # --target all: a target the runtime is not ported to is a row, not a
                    # failure (e.g. nets and DSP on atmega328p)
                    why = str(e).strip().splitlines()[0][:100]
                    table.add_row(f"{t} vs host C", "-", "-", "-", "-", f"not run: {why}")
                    continue
            ok = ok and r.ok
            instr = "-" if r.instructions is None else f"{r.instructions:,.0f}"
            table.add_row(f"{t} vs host C", str(r.n_rows), f"{r.agreement:.2%}",
                          f"{r.max_abs_diff:.3g}", instr,
                          "identical" if r.ok else "DIFFERS")
    print(title)
    _console().print(table)
    if not ok:
        print("microlearn: verify failed: outputs differ (see the table)", file=sys.stderr)
        return EXIT_FAILED
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
    if getattr(args, "lean", False):  # (mp_module.build_lean: issue 9 part 3)
        if args.arch in ("all", "py") or args.families or args.split:
            raise ValueError("--lean builds one native arch (--arch), for every forest or "
                             "--for one model file; not with --families / --split / py / all")
        for path in mp_module.build_lean(args.arch, args.out, getattr(args, "for_model", None)):
            print(f"wrote {path} ({path.stat().st_size:,} bytes)")
        return 0
    from . import micropython_build as mpb

    engine = getattr(args, "engine", "auto")
    if engine == "viper" or (engine == "auto" and args.arch in mpb.VIPER_DEFAULT_ARCHES):
        return _mp_build_viper(args)
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
        if engine == "auto" and _viper_runs(args):  # boards without a C cross compiler
            for arch in mpb.VIPER_DEFAULT_ARCHES:
                if arch not in built:
                    built[arch] = mpb.build_viper(arch, Path(args.out) / arch,
                                                  nets=_viper_nets(args))
                    skipped.pop(arch, None)
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


def _viper_runs(args: argparse.Namespace) -> bool:
    """Whether the viper engine (tree ensembles, int8 fully-connected nets) runs what
    --families / --for ask."""
    from . import micropython_build as mpb

    if getattr(args, "for_model", None) is not None:
        return mpb.viper_runs_file(args.for_model)
    return args.families is None or {f.strip() for f in args.families.split(",")
                                     if f.strip()} <= {"trees", "nets"}


def _viper_nets(args: argparse.Namespace) -> bool:
    """Whether the viper module needs its int8 nets engine (not for --families trees or
    --for a tree file)."""
    from . import blob
    from . import families as fams

    if getattr(args, "for_model", None) is not None:
        return blob.read(Path(args.for_model).read_bytes())[0]["family_id"] != \
            fams.family("trees").section_id
    return args.families is None or "nets" in {f.strip() for f in args.families.split(",")}


def _mp_build_viper(args: argparse.Namespace) -> int:
    from . import micropython_build as mpb

    if args.split or getattr(args, "dsp", False):
        raise ValueError("--engine viper builds one module (trees, int8 nets); --split and "
                         "--dsp need --engine c")
    if not _viper_runs(args):
        why = mpb.viper_refusal(args.for_model) if args.for_model else None
        raise ValueError("--engine viper runs tree ensembles (forests, decision trees, boosted "
                         "and weighted-median ensembles) and int8 fully-connected nets only; "
                         f"{'--for ' + args.for_model if args.for_model else '--families'}"
                         f"{' (' + why + ')' if why else ''}"
                         " needs --engine c (a C cross compiler) or another model")
    arches = list(mpb.VIPER_ARCHES) if args.arch == "all" else [args.arch]
    for arch in arches:
        out = Path(args.out) / arch if args.arch == "all" else Path(args.out)
        for path in mpb.build_viper(arch, out, nets=_viper_nets(args)):
            print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    return 0


def _option_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--method", default=None, choices=TREE_METHODS,
                   help="trees: fast (the default: generated code, small and fast), "
                        "loadable (compact tables + engine, smallest), inline (one "
                        "function per tree) or branchless (branch-free walks, hosts)")
    p.add_argument("--compact", default=None, action=argparse.BooleanOptionalAction,
                   help="trees, model files: compact node tables (default) or not "
                        "(--no-compact: larger, a few percent faster)")
    p.add_argument("-O", "--option", action="append", metavar="KEY=VALUE",
                   help="any family option, e.g. -O exact=False (repeatable)")


class _Formatter(argparse.HelpFormatter):
    """Help that shows each option's default (where it has one worth showing)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if ("%(default)" not in text and "default:" not in text
                and action.default not in (None, False, argparse.SUPPRESS)
                and (action.option_strings or action.nargs in ("?", "*"))):
            text += " (default: %(default)s)"
        return text


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line: ``microlearn: error: ...``, status 2."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        cmd = self.prog.split(" ", 1)[1] + " " if " " in self.prog else ""
        self.exit(2, f"microlearn: error: {message} (see microlearn {cmd}--help)\n")


def _targets(runs_only: bool = False) -> list[str]:
    from .targets import TARGETS

    return [t for t, s in TARGETS.items() if s.runs or not runs_only]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``microlearn`` command."""
    p = _Parser(prog="microlearn", description=(
        "scikit-learn and Keras models as portable, verified C99 for microcontrollers. "
        "Errors print one line, 'microlearn: error: ...', and exit with status 2; "
        "footprint exits with 1 when a model exceeds a --budget-flash/--budget-ram, "
        "verify when an output differs. COMMAND --help lists a command's options."))
    p.add_argument("--version", action="version", version=f"microlearn {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    c = sub.add_parser("convert", help="convert a saved model to a C header or a model file",
                       description="Convert a saved model (joblib.dump / pickle of a fitted "
                       "estimator) to a self-contained C99 header or a model file.")
    c.add_argument("model", help="model file saved with joblib.dump or pickle")
    c.add_argument("-o", "--output", required=True,
                   help="output file, e.g. model.h or model.mlb; - writes to stdout (the "
                        "summary line then goes to stderr)")
    c.add_argument("--name", default="model",
                   help="C identifier prefix of the generated symbols (NAME_predict, ...)")
    _option_args(c)
    c.add_argument("--format", default="c", choices=("c", "blob"),
                   help="c: C header; blob: model file for MicroPython / ml_model.h")
    c.set_defaults(func=_cmd_convert)

    f = sub.add_parser("footprint", help="flash, RAM and instructions per inference on targets",
                       description="Flash, RAM, stack and instructions per inference of the "
                       "converted model on a microcontroller target: measured in QEMU when "
                       "the cross toolchain is installed, else estimated from the model. "
                       "Exits with 1 when a budget (--budget-flash / --budget-ram) is "
                       "exceeded on any target, so it can guard a CI job.")
    f.add_argument("model", help="model file saved with joblib.dump or pickle")
    f.add_argument("--target", default="cortex-m4f", choices=[*_targets(), "all"],
                   help="the target; all: every target, one row each")
    f.add_argument("--data", metavar="X.npy",
                   help="rows to count instructions over (.npy from numpy.save, or .csv); "
                        "use real data: paths through trees depend on it (default: "
                        "synthetic rows)")
    f.add_argument("--clock-mhz", type=_positive_float, metavar="MHZ",
                   help="add a column of microseconds per inference at this clock (one "
                        "instruction per cycle)")
    f.add_argument("--budget-flash", type=parse_bytes, metavar="BYTES",
                   help="flash the model may use (e.g. 32K); adds a fits column")
    f.add_argument("--budget-ram", type=parse_bytes, metavar="BYTES",
                   help="RAM the model may use, static + stack (e.g. 4K); adds a fits column")
    _option_args(f)
    f.add_argument("--estimate", action="store_true",
                   help="estimate from the model only (no cross build, no QEMU)")
    f.set_defaults(func=_cmd_footprint)

    v = sub.add_parser("verify", help="check the C on the host and on an emulated MCU",
                       description="Run the converted model over rows: the host build of the "
                       "generated C against the Python model, and the same C on an emulated "
                       "microcontroller (QEMU) against the host build, bit for bit. Exits "
                       "with 1 when an output differs.")
    v.add_argument("model", help="model file saved with joblib.dump or pickle")
    v.add_argument("--data", required=True, metavar="X.npy",
                   help="rows of features (.npy from numpy.save, or .csv)")
    v.add_argument("--target", default="cortex-m4f", choices=[*_targets(runs_only=True), "all"],
                   help="emulated target; all: every target whose toolchain is installed")
    _option_args(v)
    v.set_defaults(func=_cmd_verify)

    mp = sub.add_parser("micropython", help="the microlearn_mp MicroPython module")
    mp_sub = mp.add_subparsers(dest="mp_command", required=True)
    b = mp_sub.add_parser("build", help="build microlearn_mp.mpy (+ mip package.json)")
    b.add_argument("--arch", required=True,
                   help="x64, armv6m, armv7m, armv7emsp, armv7emdp, xtensawin (ESP32), ..., py "
                        "(the pure-Python fallback), or all (every arch with a toolchain here, "
                        "one folder each)")
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
    b.add_argument("--lean", action="store_true",
                   help="tree forests with the least heap on a device: microlearn_mp.mpy is a "
                        "small engine for one node-table layout (the --for file's), other "
                        "layouts are microlearn_mp_trees_<layout>.mpy, and the loader is "
                        "imported for a load only")
    b.add_argument("--dsp", action="store_true",
                   help="build the DSP module microlearn_dsp.mpy instead (FFT, MFCC, filters, "
                        "sound level, features, post-processing; arches with an FPU)")
    b.add_argument("--engine", default="auto", choices=("auto", "c", "viper"),
                   help="c: the C module (needs the arch's C cross compiler); viper: tree "
                        "ensembles and int8 fully-connected nets in MicroPython viper code "
                        "compiled by mpy-cross, no C "
                        "toolchain (x64, armv6m, armv7m, armv7emsp, armv7emdp, xtensawin); "
                        "auto: viper for xtensawin (ESP32, -S2, -S3), else c")
    b.set_defaults(func=_cmd_mp_build)

    i = sub.add_parser("info", help="describe what a saved model converts to")
    i.add_argument("model", help="model file saved with joblib.dump or pickle")
    _option_args(i)
    i.set_defaults(func=_cmd_info)
    add_device_parser(sub)
    add_export_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``microlearn`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (MicrolearnError, ValueError, TypeError, OSError) as e:
        print(f"microlearn: error: {_one_line(e)}", file=sys.stderr)
        return 2


def _one_line(e: BaseException) -> str:
    """An error message as one line: its first line, plus the first compiler/linker error
    line of a multi-line message (a failed cross build's output)."""
    lines = [ln.strip() for ln in str(e).strip().splitlines() if ln.strip()]
    if not lines:
        return type(e).__name__
    extra = next((ln for ln in lines[1:] if "error" in ln.lower() or "will not fit" in ln),
                 None)
    text = lines[0] + (f" ... {extra}" if extra else "")
    if len(lines) > 1:
        text += f" ({len(lines) - 1} more line(s) not shown)"
    return text[:600]


if __name__ == "__main__":
    sys.exit(main())
