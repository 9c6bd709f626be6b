"""What the commands share: reading logs, model files and bytes, printing warnings, and the
conventions of their options and output (``-o/--out``, ``--json``, ``--quiet``; docs/cli.md).

Every command reads its inputs through these helpers, so a log's warnings, an
unreadable file and a model the firmware would reject read the same everywhere;
and declares its output and prints through them, so every command spells and
honours the shared options the same way.
"""
from __future__ import annotations

import argparse
import contextlib
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Optional, Sequence, TextIO, Union

from ..core.errors import ModelFormatError, StingerError, StingerWarning

if TYPE_CHECKING:  # pragma: no cover
    from ..blaster.log import Log
    from ..core.progress import Progress, ProgressCallback
    from ..formats.mlmd import Model

PathArg = Union[str, Path]


def one_line(text: object) -> str:
    """``text`` with its control characters escaped (a line break in a CSV cell, ``\\v``, ``\\f``):
    a message quoting a file's content stays one line."""
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in str(text))


def warn(message: str) -> None:
    """One ``warning: ...`` line on stderr."""
    print(f"warning: {one_line(message)}", file=sys.stderr)


class Terminated(KeyboardInterrupt):
    """SIGTERM turned into an exception (where a command stops cleanly on it): exit code 143."""


@contextlib.contextmanager
def warnings_as_lines() -> Iterator[None]:
    """Within: each :class:`StingerWarning` the library issues is printed at once as one
    ``warning: ...`` line (not Python's two-line form, and never hidden by a warning filter)."""
    with warnings.catch_warnings():
        warnings.simplefilter("always", StingerWarning)
        shown = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None):
            if issubclass(category, StingerWarning):
                warn(str(message))
            else:
                shown(message, category, filename, lineno, file, line)

        warnings.showwarning = show  # restored by catch_warnings
        yield


def read_bytes(path: PathArg, what: str = "the file") -> bytes:
    """The bytes of ``path``; an unreadable file is a :class:`StingerError` naming it."""
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise StingerError(f"{path}: cannot read {what}: {exc.strerror or exc}") from None


def read_logs(paths: Sequence[PathArg], *, show_warnings: bool = True) -> List["Log"]:
    """Read every log before any work (one unreadable log fails the command first).

    A log's warnings (trailing bytes...) stay in ``log.warnings``; with
    ``show_warnings`` they are also printed, once each, as ``warning:`` lines
    (never through Python's warning output).
    """
    from ..blaster.log import read_log

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StingerWarning)
        logs = [read_log(Path(p)) for p in paths]
    if show_warnings:
        for log in logs:
            for message in log.warnings:
                warn(message)
    return logs


def read_one_log(path: PathArg, *, show_warnings: bool = True) -> "Log":
    """:func:`read_logs` of one path."""
    return read_logs([path], show_warnings=show_warnings)[0]


def load_model(path: Optional[PathArg], slot: str) -> "Model":
    """The model the device would run from the file ``path`` in ``slot`` (``"lr"`` or ``"mlp"``).

    The one rule of every command: no file means the factory weights; a file
    the firmware's loader would reject for that slot is an error (the user
    asked for that file); its warnings are printed.
    """
    from ..blaster import loader

    if path is None:
        return loader.factory_model(slot)
    model, verdict = loader.load(read_bytes(path, f"the {slot.upper()} model"), slot, source=str(path))
    if not verdict.accepted:
        raise ModelFormatError(f"{path} is not an {slot.upper()} model the firmware would load (it would keep "
                               f"its factory {slot} weights): {verdict.reason}")
    for message in verdict.warnings:
        warn(message)
    return model


def add_sources(p: argparse.ArgumentParser, logs_help: str, train_dir_help: str) -> None:
    """``LOG ...`` or ``--train-dir DIR`` (checked by :func:`check_sources` in the handler)."""
    p.add_argument("logs", nargs="*", metavar="LOG", help=logs_help)
    p.add_argument("--train-dir", metavar="DIR", help=train_dir_help)
    p.set_defaults(parser=p)


def add_arguments_later(p: argparse.ArgumentParser, add: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``p``'s arguments with ``add(p)`` only when its command is run (or asked for ``--help``):
    for options whose choices or defaults come from a library module, so that building the
    top-level parser (``stingerml --help``) imports none. See :func:`stingerml.cli.build_parser`."""
    p.add_arguments_later = add  # type: ignore[attr-defined]


def complete(p: argparse.ArgumentParser) -> None:
    """Add the arguments :func:`add_arguments_later` put off, if any (once)."""
    add = p.__dict__.pop("add_arguments_later", None)
    if add is not None:
        add(p)


def check_sources(args: argparse.Namespace) -> None:
    """Exactly one of LOG... and --train-dir (a usage error otherwise, exit code 2)."""
    if bool(args.logs) == bool(args.train_dir):
        args.parser.error("give either one or more LOG files or --train-dir DIR, not both and not neither")


# --- the conventions every command follows (docs/cli.md) ------------------------------------------
#
# One spelling for the output (-o/--out), --json where a command prints a result, and the global
# options (--backend, --processes, --quiet) accepted before or after the command's name. A new
# command module adopts each with one call: add_output(p, ...), add_json(p, ...), and say(args, ...)
# / progress(args) for what it prints (--quiet is added to every command by build_parser).

BACKENDS = ("python", "numba", "auto")
PROCESSES = ("1", "2", "auto")


def add_global_options(p: argparse.ArgumentParser, *, top: bool = False) -> None:
    """``--backend``, ``--processes`` and ``--quiet`` on the top-level parser (``top``) or on a
    command's parser. A command's copies default to ``argparse.SUPPRESS``, so that they do not
    overwrite the value given before the command's name (``stingerml --quiet train ...``). A
    command must not define them itself; one that does keeps its own (no clash)."""
    unset = {} if top else {"default": argparse.SUPPRESS}
    specs = (
        (("--backend",), dict(choices=BACKENDS, **unset,
                              help="where the hot loops run (default: $STINGERML_BACKEND or auto = numba when "
                                   "installed; numba when it is not installed is an error)")),
        (("--processes",), dict(choices=PROCESSES, **unset,
                                help="processes for the pure-Python MLP (default: $STINGERML_PROCESSES or auto = "
                                     "2 when two CPUs are free and the fit is big); results are identical")),
        (("-q", "--quiet"), dict(action="store_true", default=False if top else argparse.SUPPRESS,
                                 help="no progress, notes or summary lines; warnings, errors and the results asked "
                                      "for (--json, tables, verdicts, -o -) are still printed")),
    )
    specs = tuple((flags, spec) for flags, spec in specs
                  if not any(flag in p._option_string_actions for flag in flags))  # a command's own wins
    if not specs:
        return
    if top:
        group = p.add_argument_group("global options (before or after the command's name)")
    else:  # listed once, on stingerml --help: a command's help names them in one line
        group = p.add_argument_group(
            "global options", "--backend, --processes and -q/--quiet are accepted here too (stingerml --help)")
        specs = tuple((flags, {**spec, "help": argparse.SUPPRESS}) for flags, spec in specs)
    for flags, spec in specs:
        group.add_argument(*flags, **spec)


class _DeprecatedAlias(argparse.Action):
    """An old spelling of an option: stores like the new one and says, once, to use the new one."""

    def __init__(self, option_strings, dest, new: str = "", **kwargs):
        self.new = new
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        warn(f"{option_string} is deprecated, use {self.new} (the old spelling goes in a later version)")
        setattr(namespace, self.dest, values)


def add_old_spelling(p: argparse.ArgumentParser, old: str, new: str, **kwargs: Any) -> None:
    """``old``, a former spelling of the option ``new``: hidden from ``--help``, stores into ``new``'s
    destination (with ``kwargs`` such as ``type``) and warns once to use ``new``."""
    dest = new.lstrip("-").replace("-", "_")
    p.add_argument(old, dest=dest, action=_DeprecatedAlias, new=new, help=argparse.SUPPRESS, **kwargs)


def add_output(p: argparse.ArgumentParser, help: str, *, metavar: str = "FILE", required: bool = True,
               default: Optional[str] = None, old: Sequence[str] = ("--output",)) -> None:
    """``-o/--out``, the one spelling of every command's output (``args.out``). The ``old``
    spellings keep working, hidden from ``--help``, with a deprecation warning."""
    group = p.add_mutually_exclusive_group(required=required)
    group.add_argument("-o", "--out", metavar=metavar, default=default, help=help)
    for spelling in old:
        group.add_argument(spelling, dest="out", metavar=metavar, action=_DeprecatedAlias, new="-o/--out",
                           help=argparse.SUPPRESS)


def add_json(p: argparse.ArgumentParser, what: str) -> None:
    """``--json``: print ``what`` as one JSON object on standard output (and nothing else there)."""
    p.add_argument("--json", action="store_true", help=f"print {what} as one JSON object on standard output")


def print_json(obj: object) -> None:
    """The one JSON object of ``--json`` on standard output (UTF-8, indented, key order kept;
    a non-finite number is ``null``, as JSON has none)."""
    import json

    from ..core.jsonfile import finite

    print(json.dumps(finite(obj), indent=1, ensure_ascii=False, allow_nan=False), flush=True)


def say(args: argparse.Namespace, message: str, *, stream: Optional[TextIO] = None) -> None:
    """A progress, note or summary line (standard output unless ``stream``): silent with
    ``--quiet``, and kept off standard output with ``--json``. Never use it for warnings."""
    stream = sys.stdout if stream is None else stream
    if getattr(args, "quiet", False) or (getattr(args, "json", False) and stream is sys.stdout):
        return
    print(message, file=stream, flush=True)


def progress(args: argparse.Namespace, *, quarters: bool = True) -> "ProgressCallback":
    """The progress callback of a long command: lines (and a bar on a terminal, or with
    ``quarters`` a line per quarter of a counted stage without one) on stderr; with ``--quiet``
    only the events that are warnings (``WARNING: ...``), as ``warning:`` lines."""
    if getattr(args, "quiet", False):
        return _warnings_only
    from ._progress import StderrProgress

    return StderrProgress(quarters=quarters, since=getattr(args, "started", None))


def _warnings_only(event: "Progress") -> None:
    if event.message.startswith(WARNING_EVENT):
        warn(event.message[len(WARNING_EVENT):])


WARNING_EVENT = "WARNING: "  # how a training run's warnings appear among its progress events


# --- independent tasks: --jobs / --scheduler (stingerml.learn.executors) ---------------------------------

def positive_int(text: str) -> int:
    """argparse ``type=`` of a count that must be 1 or more (``--jobs``, ``--mlp-iterations``, ...)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def add_task_options(p: argparse.ArgumentParser) -> None:
    """``--jobs N`` (local processes) or ``--scheduler ADDRESS`` (a Dask cluster) for a command
    made of independent tasks (:mod:`stingerml.learn.executors`); results are the same either way."""
    g = p.add_mutually_exclusive_group()
    g.add_argument("--jobs", "-j", type=positive_int, default=1, metavar="N",
                   help="run the independent tasks on N local processes (default 1: one after another); "
                        "the output is identical")
    g.add_argument("--scheduler", metavar="ADDRESS",
                   help="run them on the Dask cluster whose scheduler is at ADDRESS (tcp://host:8786; "
                        "needs stingerml[dask], and stingerml on the workers)")


@contextlib.contextmanager
def task_runner(args: argparse.Namespace) -> Iterator[Dict[str, Any]]:
    """The ``jobs=``/``executor=`` keyword arguments :func:`add_task_options` asked for
    (a Dask client is connected here and closed on exit)."""
    if args.scheduler is None:
        yield {"jobs": args.jobs}
        return
    from ..learn.executors import dask_executor

    with dask_executor(args.scheduler) as executor:
        yield {"executor": executor}
