"""``-`` on the command line: standard output for ``-o`` where a command writes one file.

(Standard input for an input log is :func:`stingerml.blaster.log.read_log`'s ``"-"``.)
"""
from __future__ import annotations

import sys
from typing import TextIO

STDIO = "-"


def write_output(path: str, data: bytes) -> None:
    """Write ``data`` to the file ``path`` atomically, or to standard output when ``path`` is ``-``."""
    if str(path) == STDIO:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        from ..core.atomic import write_bytes_atomic

        write_bytes_atomic(path, data)


def check_output(path: str) -> None:
    """Before long work: raise the error writing ``path`` would raise at the end (nothing for ``-``)."""
    if str(path) != STDIO:
        from ..core.atomic import check_output_path

        check_output_path(path)


def messages(path: str) -> TextIO:
    """Where a command's own report goes: standard error when the output itself is on standard output."""
    return sys.stderr if str(path) == STDIO else sys.stdout
