"""The one CSV reader of stingerml (tabular data sets, device logs as CSV, training-folder
indexes, ``diff``): RFC 4180 text in UTF-8 (a leading byte-order mark is dropped), rows ending in
CRLF, LF or CR, quoted fields that hold the delimiter, doubled quotes or line breaks, and ``\\v``,
``\\f`` and other control characters kept inside a field (they never end a row). Every problem
is one line of the caller's error class naming the source and the line.
"""
from __future__ import annotations

import csv
import io
import math
import struct
from pathlib import Path
from typing import Callable, Iterator, List, Optional, TextIO, Tuple, Type

from .errors import StingerError



def decode(raw: bytes, source: str, error: Type[StingerError]) -> str:
    """UTF-8 text of ``raw`` without a leading byte-order mark."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"{source}: byte {exc.start} is not UTF-8; save the CSV as UTF-8") from None


def rows(text: str, source: str, error: Type[StingerError], delimiter: str = ",") -> Iterator[Tuple[int, List[str]]]:
    """``(line, cells)`` of every row of ``text``; ``line`` is the 1-based line the row starts on
    (a quoted line break makes a row span lines). Empty rows are skipped."""
    if text.startswith("\ufeff"):
        text = text[1:]
    return _rows(io.StringIO(text, newline=""), source, error, delimiter)


def file_rows(path: Path, source: str, error: Type[StingerError], delimiter: str = ",",
              position: Optional[Callable[[int], None]] = None) -> Iterator[Tuple[int, List[str]]]:
    """:func:`rows` of a UTF-8 file read as a stream (the file is never held whole in memory);
    ``position(bytes_read)`` is called every 4096 rows (for progress)."""
    try:
        raw = open(path, "rb")
    except OSError as exc:
        raise error(f"{source}: cannot read the CSV ({exc.strerror or exc}); check the path") from None
    with raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text:
        yield from _rows(text, source, error, delimiter, None if position is None else lambda: position(raw.tell()))


def _rows(text: TextIO, source: str, error: Type[StingerError], delimiter: str,
          every_4096: Optional[Callable[[], None]] = None) -> Iterator[Tuple[int, List[str]]]:
    """The one row loop of :func:`rows` and :func:`file_rows`: ``csv.reader`` over ``text``, its errors
    as one ``error`` line naming the line; ``every_4096()`` after every 4096 rows read."""
    reader = csv.reader(text, delimiter=delimiter)
    line, n = 1, 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise error(f"{source}, line {line}: {_reason(exc)}; fix the quoting") from None
        except UnicodeDecodeError:  # a file read as a stream: decoded as it is read
            raise error(f"{source}, near line {line}: not UTF-8; save the CSV as UTF-8") from None
        start, line, n = line, reader.line_num + 1, n + 1
        if every_4096 is not None and n % 4096 == 0:
            every_4096()
        if cells:
            yield start, cells


def _reason(exc: csv.Error) -> str:
    text = str(exc)
    if "field larger than field limit" in text:
        return f"a field longer than {csv.field_size_limit()} characters (a missing closing quote?)"
    return text


def float32_cell(cell: str) -> float:
    """A number cell checked to be finite and to round to a finite float32 (ValueError naming why, else)."""
    value = float(cell)
    try:
        finite = math.isfinite(value) and math.isfinite(struct.unpack("<f", struct.pack("<f", value))[0])
    except OverflowError:  # rounds beyond float32's largest value
        finite = False
    if not finite:
        raise ValueError(f"'{cell.strip()[:40]}' is beyond float32's range (±3.4e38); the model computes in float32")
    return value
