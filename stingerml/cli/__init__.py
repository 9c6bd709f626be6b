"""Command-line interface: ``stingerml <command> ...``.

Each module in this package that defines ``register(subparsers)`` contributes
its sub-commands; a handler is stored as ``func`` on its parser and returns the
process exit code. Errors derived from :class:`stingerml.errors.StingerError`
become one ``error: ...`` line on stderr and exit code 1.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from typing import List, Optional

from ..errors import StingerError


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every sub-command module registered (sorted by module name)."""
    parser = argparse.ArgumentParser(
        prog="stingerml",
        description="Train and check the Stinger blaster's shot-prediction models.",
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"stingerml {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Run the CLI; returns the exit code (0 success, 1 error or rejection, 2 usage)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except StingerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
