"""The published app's multi-file import: several logs joined into one, as its "import .bin files" button does (SPEC §14).

The app reads the chosen files in order, skips (with a warning) every file
whose size is not a multiple of 17 bytes, fails when none is left, and
concatenates the rest byte for byte into one log that it trains on.
:func:`import_logs` does the same and returns the joined :class:`~stingerml.blaster.log.Log`,
so that :func:`stingerml.train` on it gives the app's model files.

The trap the app never mentions: timestamps restart at each file boundary, and
the 1 s gap rule (SPEC §2) compares every shot with the last *accepted* one, so
a later file's shots are rejected until its clock passes the earlier files'
last accepted shot. :func:`import_logs` reproduces that and says, per file, how
many of its shots were lost that way. Training the files as separate sessions
(:func:`stingerml.train_sessions`, the default for several logs) keeps them.
"""
from __future__ import annotations

import os
import warnings
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Sequence, Union

from ..core.errors import LogFormatError, StingerWarning
from .log import RECORD_SIZE, Log, parse_log, read_log
from .shots import DEFAULT_MIN_GAP_MS, accept_shots, rising_edges

ImportSource = Union[Log, bytes, bytearray, memoryview, str, "os.PathLike[str]"]


@dataclass
class ImportedLogs:
    """The joined log and what the import did.

    Attributes:
        log: every kept file's samples, in order (timestamps restart at each boundary).
        files: names of the kept files, in order.
        skipped: names of the files left out (size not a multiple of 17 bytes).
        warnings: one line per skipped file, then one per file that lost shots to the gap rule.
        samples: per kept file, its samples.
        spans_ms: per kept file, its last minus first timestamp (ms): the joined log's own span
            (``log.duration_ms``) is not their sum, since each file's clock restarts.
    """

    log: Log
    files: List[str]
    skipped: List[str] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)
    samples: List[int] = field(default_factory=list)
    spans_ms: List[int] = field(default_factory=list)


def _name(source: ImportSource, index: int) -> str:
    if isinstance(source, Log):
        return source.source
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    return f"log {index + 1}"


def _read(source: ImportSource, name: str) -> Union[Log, bytes]:
    """A :class:`Log` (already whole records) or the raw bytes of a binary file."""
    if isinstance(source, Log):
        return source
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.suffix.lower() == ".csv":
            return read_log(path)
        try:
            return path.read_bytes()
        except OSError as exc:
            raise LogFormatError(f"{name}: cannot read the log: {exc.strerror or exc}") from exc
    return bytes(source)


def _join(logs: Sequence[Log], source: str) -> Log:
    """The logs' records one after the other (what parsing the concatenated bytes gives)."""
    cols = [array(c.typecode) for c in (logs[0].timestamp_ms, *logs[0].channels, logs[0].trigger)]
    for log in logs:
        for col, part in zip(cols, (log.timestamp_ms, *log.channels, log.trigger)):
            col.extend(part)
    return Log(*cols, source=source)


@dataclass
class LostShots:
    """Shots of one file that the joined log's gap rule rejects.

    Attributes:
        lost: how many of the file's own accepted shots the joined log rejects.
        shots: the file's accepted shots on its own.
        before_ms: timestamp of the last shot accepted before the file starts in
            the joined log (None when there is none).
    """

    lost: int
    shots: int
    before_ms: Optional[int]


def lost_shots(logs: Sequence[Log], joined: Log, min_gap_ms: float = DEFAULT_MIN_GAP_MS) -> List[LostShots]:
    """Per file, its shots the joined log rejects (SPEC §2 gap rule against the files ahead of it)."""
    ts = joined.timestamp_ms
    kept = accept_shots(ts, rising_edges(joined.trigger), min_gap_ms)
    kept_set = set(kept)
    out, offset = [], 0
    for log in logs:
        alone = accept_shots(log.timestamp_ms, rising_edges(log.trigger), min_gap_ms)
        ahead = [e for e in kept if e < offset]
        out.append(LostShots(sum(1 for e in alone if e + offset not in kept_set), len(alone),
                             ts[ahead[-1]] if ahead else None))
        offset += len(log)
    return out


def import_logs(sources: Sequence[ImportSource], *, min_gap_ms: float = DEFAULT_MIN_GAP_MS) -> ImportedLogs:
    """Join logs as the app's import button does; warn about skipped files and lost shots.

    Args:
        sources: paths (``.csv`` read as the converter's CSV, anything else as a
            binary log), bytes of binary logs, or :class:`Log` objects, in order.
        min_gap_ms: the gap rule used to count lost shots (the dataset's, 1000 ms).

    Each warning is also issued as a :class:`~stingerml.core.errors.StingerWarning`.

    Raises:
        LogFormatError: no file left ("No valid .bin files loaded"), a file that
            cannot be read, or a kept file whose own records are bad (trigger
            other than 0/1, timestamps going backwards within the file).
    """
    kept: List[Log] = []
    names: List[str] = []
    skipped: List[str] = []
    notes: List[str] = []
    for i, source in enumerate(sources):
        name = _name(source, i)
        data = _read(source, name)
        if isinstance(data, (bytes, bytearray)) and (len(data) % RECORD_SIZE or not data):
            skipped.append(name)
            notes.append(f"{name} size ({len(data)}) not a multiple of {RECORD_SIZE} bytes/sample \u2014 skipping")
            continue
        kept.append(data if isinstance(data, Log) else parse_log(data, source=name))
        names.append(name)
    if not kept:
        what = f" ({', '.join(skipped)}: sizes not a multiple of {RECORD_SIZE} bytes)" if skipped else ""
        raise LogFormatError(f"No valid .bin files loaded{what}; pull the logs again (MLDUMP) or pick other files")
    joined = _join(kept, " + ".join(names))
    for name, log, lost in zip(names, kept, lost_shots(kept, joined, min_gap_ms)):
        if lost.lost:
            notes.append(
                f"{name}: {lost.lost} of its {lost.shots} shots are dropped by joining the files: its clock "
                f"restarts at {log.timestamp_ms[0]} ms, before the last shot kept from the files ahead of it "
                f"({lost.before_ms} ms), and the 1 s gap rule rejects its shots until its clock passes that time. "
                "Train the files as separate sessions (without --concat) to keep them."
            )
    for note in notes:
        warnings.warn(note, StingerWarning, stacklevel=2)
    return ImportedLogs(joined, names, skipped, notes, [len(log) for log in kept], [log.duration_ms for log in kept])

