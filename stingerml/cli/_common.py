"""What the commands share: reading logs, model files and bytes, and printing warnings.

Every command reads its inputs through these helpers, so a log's warnings, an
unreadable file and a model the firmware would reject read the same everywhere.
"""
from __future__ import annotations

import argparse
import contextlib
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Optional, Sequence, Union

from ..errors import ModelFormatError, StingerError, StingerWarning

if TYPE_CHECKING:  # pragma: no cover
    from ..formats.mlmd import Model
    from ..log import Log

PathArg = Union[str, Path]


def warn(message: str) -> None:
    """One ``warning: ...`` line on stderr."""
    print(f"warning: {message}", file=sys.stderr)


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
    from ..log import read_log

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
    from .. import loader

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


def _jobs(text: str) -> int:
    try:
        jobs = int(text)
    except ValueError:
        jobs = 0
    if jobs < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of processes, 1 or more, got {text!r}")
    return jobs


def add_task_options(p: argparse.ArgumentParser) -> None:
    """``--jobs N`` (local processes) or ``--scheduler ADDRESS`` (a Dask cluster) for a command
    made of independent tasks (:mod:`stingerml.executors`); results are the same either way."""
    g = p.add_mutually_exclusive_group()
    g.add_argument("--jobs", "-j", type=_jobs, default=1, metavar="N",
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
    from ..executors import dask_executor

    with dask_executor(args.scheduler) as executor:
        yield {"executor": executor}
