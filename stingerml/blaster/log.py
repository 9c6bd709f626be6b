"""The device log: 17-byte little-endian records ``<IhhhhhhB`` (SPEC §1).

A record is ``timestamp_ms`` (u32, device ``millis()``), ``ax ay az gx gy gz``
(i16 raw IMU counts) and ``trigger`` (u8, 0 or 1), logged at a nominal 100 Hz.
A :class:`Log` holds the columns as flat :mod:`array` objects (``'I'`` for
timestamps, ``'h'`` for the six IMU channels, ``'B'`` for the trigger).

Parsing reads the columns straight out of the caller's buffer through strided
memoryview slices: the input is never copied as a whole.
"""
from __future__ import annotations

import csv
import io
import os
import re
import struct
import sys
import warnings
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Tuple, Union

from ..core.atomic import write_bytes_atomic
from ..core.binary import le_array, le_bytes
from ..core.constants import CHANNEL_NAMES
from ..core.errors import LogFormatError, StingerWarning

RECORD = struct.Struct("<IhhhhhhB")
RECORD_SIZE = RECORD.size  # 17
CHANNELS: Tuple[str, ...] = CHANNEL_NAMES
CSV_COLUMNS: Tuple[str, ...] = ("timestamp_ms",) + CHANNELS + ("trigger",)
_TS_TYPECODE = "I" if array("I").itemsize == 4 else "L"

Buffer = Union[bytes, bytearray, memoryview]
Source = Union[Buffer, str, "os.PathLike[str]"]


@dataclass
class Log:
    """One logging session as columns.

    Attributes:
        timestamp_ms: u32 device time of each sample, milliseconds.
        ax, ay, az: raw accelerometer counts (i16).
        gx, gy, gz: raw gyroscope counts (i16).
        trigger: 0 or 1 per sample.
        trailing_bytes: bytes after the last whole record in the parsed file
            (the browser trainer drops them silently; we report them).
        source: where the log came from (a path or ``"<bytes>"``), for messages.
    """

    timestamp_ms: array
    ax: array
    ay: array
    az: array
    gx: array
    gy: array
    gz: array
    trigger: array
    trailing_bytes: int = 0
    source: str = "<memory>"
    warnings: List[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.timestamp_ms)

    @property
    def channels(self) -> List[array]:
        """The six IMU columns in channel order ``ax ay az gx gy gz``."""
        return [self.ax, self.ay, self.az, self.gx, self.gy, self.gz]

    def column(self, name: str) -> array:
        """A column by its CSV name (``timestamp_ms``, ``ax`` .. ``gz``, ``trigger``)."""
        if name not in CSV_COLUMNS:
            raise KeyError(f"no column {name!r}; columns are {', '.join(CSV_COLUMNS)}")
        return getattr(self, name)

    @property
    def duration_ms(self) -> int:
        """Last timestamp minus first (0 for fewer than two samples)."""
        return self.timestamp_ms[-1] - self.timestamp_ms[0] if len(self) > 1 else 0

    def to_bytes(self) -> bytes:
        """The binary log, 17 bytes per sample, exactly as the device writes it."""
        return columns_to_bytes(self.timestamp_ms, self.channels, self.trigger)

    def slice(self, start: int, stop: int) -> "Log":
        """Samples ``[start, stop)`` as a new log."""
        cols = [c[start:stop] for c in (self.timestamp_ms, *self.channels, self.trigger)]
        return Log(*cols, source=f"{self.source}[{start}:{stop}]")


def _strided(mv: memoryview, offset: int, width: int, n: int) -> bytearray:
    """Bytes ``offset .. offset+width`` of each of ``n`` records, concatenated."""
    out = bytearray(width * n)
    for b in range(width):
        out[b::width] = mv[offset + b : n * RECORD_SIZE : RECORD_SIZE]
    return out


def columns_to_bytes(timestamps: Sequence[int], channels: Sequence[Sequence[int]], trigger: Sequence[int]) -> bytes:
    """Pack columns into 17-byte records (inverse of :func:`parse_log`)."""
    n = len(timestamps)
    out = bytearray(n * RECORD_SIZE)
    cols = [(array(_TS_TYPECODE, timestamps), 0, 4)]
    cols += [(array("h", ch), 4 + 2 * c, 2) for c, ch in enumerate(channels)]
    for arr, offset, width in cols:
        raw = le_bytes(arr)
        for b in range(width):
            out[offset + b :: RECORD_SIZE] = raw[b::width]
    out[16::RECORD_SIZE] = bytes(trigger)
    return bytes(out)


def _check(timestamps: array, trigger: array, source: str, row_name: str, row_base: int) -> None:
    """Reject trigger values other than 0/1 and timestamps that go backwards."""
    bad = next((i for i, t in enumerate(trigger) if t > 1), None)
    if bad is not None:
        raise LogFormatError(
            f"{source}: {row_name} {bad + row_base}: trigger is {trigger[bad]}, expected 0 or 1; "
            "this is not a Stinger log or it is corrupt"
        )
    prev = timestamps[:-1]
    back = next((i for i, (a, b) in enumerate(zip(prev, timestamps[1:])) if b < a), None)
    if back is not None:
        i = back + 1
        raise LogFormatError(
            f"{source}: {row_name} {i + row_base}: timestamp {timestamps[i]} ms is earlier than the "
            f"previous sample's {timestamps[i - 1]} ms; timestamps must not go backwards "
            "(two sessions concatenated? split the log at this sample)"
        )


def parse_log(data: Source, *, source: Optional[str] = None) -> Log:
    """Parse a binary device log from a buffer or a file path.

    Args:
        data: ``bytes``/``bytearray``/``memoryview`` holding the log, or a path.
        source: name used in messages (defaults to the path or ``"<bytes>"``).

    Returns:
        The :class:`Log`. Bytes after the last whole record are counted in
        ``trailing_bytes`` and reported with a :class:`StingerWarning`.

    Raises:
        LogFormatError: fewer than 17 bytes, a trigger byte other than 0/1, or
            timestamps that go backwards (the offending sample is named).
    """
    if isinstance(data, (str, os.PathLike)):
        path = Path(data)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise LogFormatError(f"{path}: cannot read the log: {exc.strerror or exc}") from exc
        return parse_log(raw, source=source or str(path))
    name = source or "<bytes>"
    mv = memoryview(data)
    if not mv.c_contiguous:  # e.g. memoryview(...)[::2]: copy it into one run of bytes
        mv = memoryview(mv.tobytes())
    mv = mv.cast("B") if mv.format != "B" or mv.ndim != 1 else mv
    size = len(mv)
    n, trailing = divmod(size, RECORD_SIZE)
    if n == 0:
        raise LogFormatError(
            f"{name}: {size} bytes hold no complete {RECORD_SIZE}-byte record; "
            "pull the log again (MLDUMP) or check you picked the right file"
        )
    ts = le_array(_TS_TYPECODE, _strided(mv, 0, 4, n))
    chans = [le_array("h", _strided(mv, 4 + 2 * c, 2, n)) for c in range(6)]
    trig = array("B", mv[16 : n * RECORD_SIZE : RECORD_SIZE])
    _check(ts, trig, name, "sample", 0)
    log = Log(ts, *chans, trig, trailing_bytes=trailing, source=name)
    if trailing:
        msg = (
            f"{name}: {trailing} trailing byte(s) after the last whole record "
            f"(offset {n * RECORD_SIZE}) were ignored; the log may have been cut short"
        )
        log.warnings.append(msg)
        warnings.warn(msg, StingerWarning, stacklevel=2)
    return log


def read_log(path: Union[str, "os.PathLike[str]"]) -> Log:
    """Read a log from a ``.csv`` file (converter format) or a binary file (any other name).

    ``"-"`` reads standard input: a CSV when it starts with a header naming
    ``timestamp_ms``, else the binary format.
    """
    if str(path) == "-":
        return parse_any(sys.stdin.buffer.read(), source="<stdin>")
    p = Path(path)
    if p.suffix.lower() == ".csv":
        try:
            raw = p.read_bytes()
        except OSError as exc:
            raise LogFormatError(f"{p}: cannot read the CSV: {exc.strerror or exc}") from exc
        return parse_csv(_decode_csv(raw, str(p)), source=str(p))
    return parse_log(p)


def looks_like_csv(raw: bytes) -> bool:
    """True when ``raw`` starts with a CSV header naming ``timestamp_ms`` (else: a binary log)."""
    first = raw[:4096].split(b"\n", 1)[0]
    return b"timestamp_ms" in first and b"," in first


def parse_any(raw: bytes, *, source: str) -> Log:
    """A log held in ``raw``: the CSV form when :func:`looks_like_csv`, else the binary form."""
    if looks_like_csv(raw):
        return parse_csv(_decode_csv(raw, source), source=source)
    return parse_log(raw, source=source)


def _decode_csv(raw: bytes, source: str) -> str:
    """UTF-8 (a leading byte-order mark is dropped), or LogFormatError naming the offset."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise LogFormatError(
            f"{source}: line {line} (byte {exc.start}) is not UTF-8 text; a log CSV holds only digits, "
            "commas and the header: save it as UTF-8 or export it again with 'stingerml convert'"
        ) from None


def write_log(log: Log, path: Union[str, "os.PathLike[str]"]) -> None:
    """Write ``log`` atomically: CSV when ``path`` ends in ``.csv``, else the binary format."""
    p = Path(path)
    data = to_csv(log).encode("utf-8") if p.suffix.lower() == ".csv" else log.to_bytes()
    write_bytes_atomic(p, data)


def to_csv(log: Log) -> str:
    """The log as the original Python converter writes it: header, then one integer row per sample."""
    out = io.StringIO()
    out.write(",".join(CSV_COLUMNS) + "\n")
    cols = (log.timestamp_ms, *log.channels, log.trigger)
    out.writelines("%d,%d,%d,%d,%d,%d,%d,%d\n" % row for row in zip(*cols))
    return out.getvalue()


_INTEGER = re.compile(r"[+-]?[0-9]{1,20}")  # ASCII digits only: not '1_000', not other scripts' digits
_LIMITS = {"timestamp_ms": (0, 2**32 - 1), "trigger": (0, 255), **{c: (-32768, 32767) for c in CHANNELS}}


def parse_csv(text: str, *, source: str = "<csv>") -> Log:
    """Parse the CSV form of a log (columns found by header name; extra columns ignored).

    Raises:
        LogFormatError: a missing column, a value that is not an integer or is
            out of range for its type, no data rows, or the checks of
            :func:`parse_log`; the message names the line.
    """
    if text.startswith("\ufeff"):  # a byte-order mark, as some spreadsheet programs write
        text = text[1:]
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if not header:
            raise LogFormatError(f"{source}: empty CSV; expected the header {','.join(CSV_COLUMNS)}")
        header = [h.strip() for h in header]
        missing = [c for c in CSV_COLUMNS if c not in header]
        if missing:
            raise LogFormatError(
                f"{source}: line 1: missing column(s) {', '.join(missing)}; "
                f"the header must name {','.join(CSV_COLUMNS)}"
            )
        pos = [header.index(c) for c in CSV_COLUMNS]
        cols: List[List[int]] = [[] for _ in CSV_COLUMNS]
        for row in reader:
            if not row:
                continue
            lineno = reader.line_num
            for col, name, idx in zip(cols, CSV_COLUMNS, pos):
                cell = row[idx].strip() if idx < len(row) else ""
                if not _INTEGER.fullmatch(cell):
                    raise LogFormatError(
                        f"{source}: line {lineno}, column {name}: {cell[:40]!r} is not an integer; "
                        "every cell must be a whole number written with the digits 0-9"
                    )
                v = int(cell)
                lo, hi = _LIMITS[name]
                if not lo <= v <= hi:
                    raise LogFormatError(
                        f"{source}: line {lineno}, column {name}: {v} is outside {lo}..{hi}"
                    )
                col.append(v)
    except csv.Error as exc:
        raise LogFormatError(f"{source}: line {reader.line_num}: not a valid CSV row ({exc}); "
                             "a log CSV has one sample per line, integers separated by commas") from None
    if not cols[0]:
        raise LogFormatError(f"{source}: the CSV has a header but no samples")
    ts = array(_TS_TYPECODE, cols[0])
    trig = array("B", cols[7])
    _check(ts, trig, source, "line", 2)
    return Log(ts, *(array("h", c) for c in cols[1:7]), trig, source=source)


def from_columns(
    timestamp_ms: Iterable[int],
    channels: Sequence[Iterable[int]],
    trigger: Iterable[int],
    *,
    source: str = "<memory>",
) -> Log:
    """Build a checked :class:`Log` from plain integer sequences (six channels in ``ax..gz`` order)."""
    if len(channels) != 6:
        raise ValueError(f"expected 6 IMU channels (ax ay az gx gy gz), got {len(channels)}")
    ts = array(_TS_TYPECODE, timestamp_ms)
    chans = [array("h", c) for c in channels]
    trig = array("B", trigger)
    if any(len(c) != len(ts) for c in chans) or len(trig) != len(ts):
        raise ValueError("all columns must have the same length")
    _check(ts, trig, source, "sample", 0)
    return Log(ts, *chans, trig, source=source)
