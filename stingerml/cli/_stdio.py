"""``-`` on the command line: standard output for ``-o`` where a command writes one file.

(Standard input for an input log is :func:`stingerml.blaster.log.read_log`'s ``"-"``.)
"""
from __future__ import annotations

import contextlib
import sys
from typing import BinaryIO, Iterator, TextIO

STDIO = "-"


def write_output(path: str, data: bytes) -> None:
    """Write ``data`` to the file ``path`` atomically, or to standard output when ``path`` is ``-``."""
    with output_stream(path) as fh:
        fh.write(data)


@contextlib.contextmanager
def output_stream(path: str) -> Iterator[BinaryIO]:
    """:func:`write_output` in pieces: a binary file that replaces ``path`` atomically when the block
    ends (:func:`stingerml.core.atomic.open_atomic`; nothing changes after an error), or standard output
    for ``-``."""
    if str(path) == STDIO:
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
    else:
        from ..core.atomic import open_atomic

        with open_atomic(path) as fh:
            yield fh


def check_output(path: str) -> None:
    """Before long work: raise the error writing ``path`` would raise at the end (nothing for ``-``)."""
    if str(path) != STDIO:
        from ..core.atomic import check_output_path

        check_output_path(path)


def messages(path: str) -> TextIO:
    """Where a command's own report goes: standard error when the output itself is on standard output."""
    return sys.stderr if str(path) == STDIO else sys.stdout
