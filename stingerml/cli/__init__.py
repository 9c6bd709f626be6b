"""Command-line interface: ``stingerml <command> ...``.

:data:`COMMANDS` lists the command modules of this package, explicitly: each
defines ``register(subparsers)``, which adds its sub-commands and stores a
handler as ``func`` on each parser (returning the process exit code). Adding a
command module is one line in :data:`COMMANDS`. The commands read logs and
models through :mod:`._common`. Errors derived from
:class:`stingerml.core.errors.StingerError` become one ``error: ...`` line on stderr
and exit code 1 (so do I/O errors no command foresaw); a closed standard
output (``... | head``) ends quietly.
"""
from __future__ import annotations

import argparse
import importlib
import sys
import time
from typing import List, Optional

from .._version import __version__
from ..core.errors import StingerError
from ._common import Terminated, add_global_options, complete
from ._malloc import fix_mmap_threshold

COMMANDS = (  # modules of stingerml.cli, in the order --help lists their sub-commands
    "audio",  # audio features
    "benchmark",  # benchmark
    "convert",  # convert
    "device",  # emulate, pull, push, info, delete
    "diff",  # diff
    "export_dataset",  # export (a training folder: the dataset, not a model)
    "export_model",  # export-model (ONNX and full-int8 TFLite of a model)
    "firmware",  # validate, replay, online, export-header
    "golden",  # golden
    "plot",  # plot
    "report",  # report
    "seq",  # seq train, predict, evaluate
    "synth",  # synth
    "tabular",  # tabular train, predict, evaluate
    "train",  # train, demo
)


def build_parser(argv: Optional[List[str]] = None) -> argparse.ArgumentParser:
    """The top-level parser with the sub-commands of every module in :data:`COMMANDS`.

    The global options (``--backend``, ``--processes``, ``--quiet``) are accepted before the
    command's name and after it (:func:`._common.add_global_options`).

    A command may put off adding its arguments (:func:`._common.add_arguments_later`);
    they are added for the command named in ``argv`` only, or for every command when
    ``argv`` is None, so ``stingerml --help`` imports no library module.
    """
    parser = argparse.ArgumentParser(
        prog="stingerml",
        description="Train and check the Stinger blaster's shot-prediction models.",
    )
    parser.add_argument("--version", action=_Version, help="print the version and the active backend")
    add_global_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    named = sub.choices if argv is None else [_command_in(argv)]
    for name, command in sub.choices.items():
        if name in named:
            complete(command)
        add_global_options(command)  # also after the command's name: stingerml train ... --quiet
    return parser


def _command_in(argv: List[str]) -> Optional[str]:
    """The sub-command named in ``argv`` (the first word after the global options), or None."""
    words = iter(argv)
    for word in words:
        if len(word) > 2 and any(option.startswith(word) for option in ("--backend", "--processes")):
            next(words, None)  # the option's value (argparse accepts unambiguous prefixes)
        elif not word.startswith("-"):
            return word
    return None


class _Version(argparse.Action):
    """``--version``: the version and the backend the hot loops would run on."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        from .._kernels import backend, processes

        try:
            name = backend()
        except (StingerError, ValueError, ImportError) as exc:
            parser.exit(1, f"error: {exc}\n")
        if name == "python":
            name += f", MLP processes: {processes()}"
        elif "numba" not in sys.modules:  # found, not imported: printing this is no reason to load it
            name += " (installed)"
        print(f"stingerml {__version__} (backend: {name})")
        parser.exit()


def main(argv: Optional[List[str]] = None) -> int:
    """Run the CLI; returns the exit code (0 success, 1 error or rejection, 2 usage)."""
    started = time.monotonic()  # a long command's silence off a terminal counts from here (._progress)
    from .._kernels import freeze_after_numba, one_blas_thread, release_llvm_pages

    one_blas_thread()  # before anything imports numpy
    if argv is None:
        argv = sys.argv[1:]
    parser = build_parser(argv)
    try:
        args = parser.parse_args(argv)  # --help and --version print here
    except BrokenPipeError:
        return _broken_pipe()
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return 2
    args.started = started
    freeze_after_numba()  # this process is ours
    release_llvm_pages()
    fix_mmap_threshold()
    try:
        if args.backend:
            from .._kernels import set_backend

            set_backend(args.backend)
        if args.processes:
            from .._kernels import set_processes

            set_processes(args.processes)
        _check_outputs(args)
        return int(args.func(args) or 0)
    except (StingerError, ImportError) as exc:
        from ._common import one_line

        print(f"error: {one_line(exc)}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return _broken_pipe()
    except OSError as exc:  # an I/O failure no command foresaw: still one line, no traceback
        where = f"{exc.filename}: " if exc.filename else ""
        from ._common import one_line

        print(f"error: {one_line(where)}{exc.strerror or exc}; check the path, its permissions and the free space",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:
        print("terminated" if isinstance(exc, Terminated) else "interrupted", file=sys.stderr)
        return 143 if isinstance(exc, Terminated) else 130
    finally:
        from .._kernels import clear_first_use

        clear_first_use()  # a note announced for work that never started is not said by later calls


_OUTPUT_OPTIONS = {"out": "-o/--out", "onnx": "--onnx", "tflite": "--tflite", "tflite_float": "--tflite-float",
                   "meta": "--meta"}


def _check_outputs(args: argparse.Namespace) -> None:
    """Before anything is read or written: an output file that is not a regular file (a link, a
    device, a FIFO, a socket; :func:`stingerml.core.atomic.check_output_file`) or that is also one of the
    command's input files (any other path argument, a file of a run folder given as an argument:
    :func:`stingerml.learn.runfolder.owns`, or one of ``args.input_files(args)``, the files a
    command's folder argument stands for) is refused: writing it would destroy the input."""
    import os
    from pathlib import Path

    from ..core.atomic import check_output_file
    from ..core.errors import OutputError

    outputs = {key: getattr(args, key) for key in _OUTPUT_OPTIONS
               if isinstance(getattr(args, key, None), str) and getattr(args, key) != "-"
               and key not in getattr(args, "not_outputs", ())}
    for path in outputs.values():
        if not os.path.isdir(path):
            check_output_file(Path(path))
    outputs = {key: path for key, path in outputs.items() if os.path.isfile(path)}
    if not outputs:
        return
    from ..learn.runfolder import owns

    for path in getattr(args, "input_files", lambda _: ())(args):  # files a folder argument stands for
        for out_key, out in outputs.items():
            if os.path.isfile(path) and os.path.samefile(path, out):
                raise OutputError(f"{out}: is also an input of this command ({path}); writing it would "
                                  f"destroy the input. Choose another {_OUTPUT_OPTIONS[out_key]}")
    for key, value in vars(args).items():
        if key in outputs:
            continue
        for given in (value if isinstance(value, list) else [value]):
            if not isinstance(given, str) or given == "-":
                continue
            for out_key, out in outputs.items():
                if os.path.isdir(given) and owns(Path(given), Path(out)):
                    raise OutputError(f"{out}: is a file of the run folder {given}, an input of this command; "
                                      f"writing it would damage the run. Choose another {_OUTPUT_OPTIONS[out_key]}")
                if os.path.isfile(given) and os.path.samefile(given, out):
                    raise OutputError(f"{out}: is also an input of this command ({given}); writing it would "
                                      f"destroy the input. Choose another {_OUTPUT_OPTIONS[out_key]}")


def _broken_pipe() -> int:
    """The reader of standard output went away (``stingerml ... | head``): stop quietly, as Unix
    tools do. Standard output is pointed at /dev/null so that the interpreter's final flush does
    not complain again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 141  # 128 + SIGPIPE, what the shell reports for a tool the signal stopped
