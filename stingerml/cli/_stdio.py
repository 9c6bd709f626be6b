"""``-`` on the command line: standard output for ``-o`` where a command writes one file.

(Standard input for an input log is :func:`stingerml.blaster.log.read_log`'s ``"-"``.)
"""
from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
from typing import BinaryIO, Iterator, TextIO

STDIO = "-"


def write_output(path: str, data: bytes) -> None:
    """Write ``data`` to the file ``path`` atomically, or to standard output when ``path`` is ``-``."""
    if str(path) == STDIO:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        from ..core.atomic import write_bytes_atomic

        write_bytes_atomic(path, data)


@contextlib.contextmanager
def output_stream(path: str) -> Iterator[BinaryIO]:
    """:func:`write_output` in pieces, for an output too big to hold: a binary file that replaces
    ``path`` atomically when the block ends (:func:`stingerml.core.atomic.open_atomic`; nothing
    changes after an error). For ``-``, a temporary file (in memory up to 1 MiB) copied to standard
    output when the block ends, so that an error part-way writes nothing there either."""
    if str(path) != STDIO:
        from ..core.atomic import open_atomic

        with open_atomic(path) as fh:
            yield fh
        return
    with tempfile.SpooledTemporaryFile(max_size=1 << 20) as spool:
        yield spool
        spool.seek(0)
        shutil.copyfileobj(spool, sys.stdout.buffer, 1 << 20)
        sys.stdout.buffer.flush()


def check_output(path: str) -> None:
    """Before long work: raise the error writing ``path`` would raise at the end (nothing for ``-``)."""
    if str(path) != STDIO:
        from ..core.atomic import check_output_path

        check_output_path(path)


def messages(path: str) -> TextIO:
    """Where a command's own report goes: standard error when the output itself is on standard output."""
    return sys.stderr if str(path) == STDIO else sys.stdout
