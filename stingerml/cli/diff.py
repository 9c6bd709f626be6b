"""``stingerml diff A B [--json]``: where two MLMD files or two replay CSVs differ, in float32 ulps.

The report (text, or JSON with ``--json``) goes to standard output; ``-`` as A
or B reads that file from standard input (``stingerml replay ... -o - |
stingerml diff - expected.csv``). Exit codes follow ``cmp``: 0 identical, 1
different, 2 trouble (a file cannot be read, is damaged, or the two are of
different kinds; one ``error:`` line on stderr, nothing on stdout).
"""
from __future__ import annotations

import sys

from ._common import add_json, one_line, print_json
from ._stdio import STDIO

EXIT_SAME, EXIT_DIFFER, EXIT_TROUBLE = 0, 1, 2


MAX_BYTES = 256 << 20
"""The most ``diff`` reads of one input (a model file is 2 kB, a replay CSV of an hour a few MB):
a device or an endless pipe is refused at this size instead of filling the memory."""


def _read(path: str) -> bytes:
    from ..core.errors import DiffError

    try:
        if path == STDIO:
            data = sys.stdin.buffer.read(MAX_BYTES + 1)
        else:
            with open(path, "rb") as fh:
                data = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise DiffError(f"{path}: cannot read the file: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise DiffError(f"{path}: more than {MAX_BYTES >> 20} MiB (a device or an endless stream?); "
                        "diff compares model files and replay CSVs")
    return data


def cmd_diff(args) -> int:
    from ..blaster.modeldiff import diff_bytes, format_diff
    from ..core.errors import DiffError, StingerError

    try:
        if args.a == STDIO and args.b == STDIO:
            raise DiffError("standard input (-) can be only one of A and B; give the other as a file")
        d = diff_bytes(_read(args.a), _read(args.b), args.a, args.b)
    except StingerError as exc:
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return EXIT_TROUBLE
    if args.json:
        print_json(d.to_dict())
    else:
        sys.stdout.write(format_diff(d))
    return EXIT_SAME if d.identical else EXIT_DIFFER


def register(subparsers) -> None:
    """Add the ``diff`` sub-command."""
    p = subparsers.add_parser(
        "diff", help="where two model files (.mlmd) or two replay CSVs differ, per tensor/column in ulps",
        description="Compare two MLMD model files (header fields, then per tensor: values that differ, largest "
                    "ulp distance and absolute difference, first positions) or two CSVs with a header line "
                    "(per column: rows that differ, largest ulp distance). Exit 0 when identical, 1 when they "
                    "differ, 2 when a file cannot be compared (as cmp).")
    p.add_argument("a", metavar="A", help="first file (.mlmd or .csv; - reads standard input)")
    p.add_argument("b", metavar="B", help="second file, of the same kind (- reads standard input)")
    add_json(p, "the comparison")  # the comparison is the result asked for: --quiet does not hide it
    p.set_defaults(func=cmd_diff)
