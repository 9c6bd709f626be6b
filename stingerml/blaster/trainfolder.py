"""The training-folder format written by the original Python export tool (SPEC §13).

A training folder holds four files describing the same ``N`` rows, in order:

- ``windows_i16le.bin``: ``N × window_samples × 6`` signed 16-bit little-endian
  samples, channel order ``ax ay az gx gy gz``;
- ``labels_u8.bin``: ``N`` bytes, 1 for a positive (pre-shot) window, 0 for a negative;
- ``index.csv``: one row per window (``\\r\\n`` line ends, as Python's ``csv``
  writes them) with the columns of :data:`INDEX_COLUMNS`;
- ``meta.json``: parameters, counts, ``window_samples``, ``channels``, dtype,
  endianness and the estimated sample interval (2-space indented JSON).

An optional ``summary.json`` describes the source log; it is written when given
and read back when present.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

from ..core.atomic import recover, write_set_to_folder
from ..core.binary import le_array, le_bytes
from ..core.constants import CHANNEL_NAMES
from ..core.errors import DatasetError

WINDOWS_FILE = "windows_i16le.bin"
LABELS_FILE = "labels_u8.bin"
INDEX_FILE = "index.csv"
META_FILE = "meta.json"
SUMMARY_FILE = "summary.json"
CHANNELS = CHANNEL_NAMES
INDEX_COLUMNS = (
    "row",
    "label",
    "shot_num",
    "shot_timestamp_ms",
    "distance_to_shot_ms",
    "event_timestamp_ms",
    "window_start_ms",
    "window_end_ms",
    "source",
)
_INT_COLUMNS = INDEX_COLUMNS[:-1]

PathLike = Union[str, "os.PathLike[str]"]


@dataclass
class TrainFolder:
    """The content of a training folder.

    Attributes:
        windows: ``array('h')`` of ``rows × window_samples × 6`` raw samples.
        labels: ``array('B')``, one 0/1 label per row.
        index: one dict per row, keys :data:`INDEX_COLUMNS` (ints, ``source`` a str).
        meta: the ``meta.json`` dict (key order kept).
        summary: the ``summary.json`` dict, or ``None`` when absent.
    """

    windows: array
    labels: array
    index: List[Dict[str, Any]]
    meta: Dict[str, Any]
    summary: Optional[Dict[str, Any]] = field(default=None)

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def window_samples(self) -> int:
        """Samples per window, from ``meta.json``."""
        return int(self.meta["window_samples"])

    def validate(self, where: str = "training folder") -> None:
        """Raise :class:`DatasetError` unless windows, labels, index and meta agree in size."""
        ws = self.meta.get("window_samples")
        if not isinstance(ws, int) or isinstance(ws, bool) or ws <= 0:
            raise DatasetError(f"{where}: meta.json 'window_samples' must be a positive integer, got {ws!r}")
        rows = len(self.labels)
        width = ws * len(CHANNELS)
        if len(self.windows) != rows * width:
            raise DatasetError(
                f"{where}: {WINDOWS_FILE} holds {len(self.windows)} samples, expected {rows} rows × "
                f"{ws} samples × {len(CHANNELS)} channels = {rows * width} (labels and windows disagree)"
            )
        if len(self.index) != rows:
            raise DatasetError(f"{where}: {INDEX_FILE} has {len(self.index)} rows but {LABELS_FILE} has {rows}")
        for i, (row, label) in enumerate(zip(self.index, self.labels)):
            if label not in (0, 1):
                raise DatasetError(f"{where}: {LABELS_FILE} byte {i} is {label}; labels must be 0 or 1")
            if row.get("row") != i or row.get("label") != label:
                raise DatasetError(
                    f"{where}: {INDEX_FILE} row {i} says row={row.get('row')!r} label={row.get('label')!r}, "
                    f"but it is row {i} with label {label} in {LABELS_FILE}"
                )


def _index_csv(index: List[Dict[str, Any]]) -> str:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf)
    writer.writerow(INDEX_COLUMNS)
    for row in index:
        writer.writerow([row[c] for c in INDEX_COLUMNS])
    return buf.getvalue()


def _json(obj: Dict[str, Any]) -> bytes:
    return (json.dumps(obj, indent=2) + "\n").encode("utf-8")


def encode(folder: TrainFolder) -> Dict[str, bytes]:
    """The files of a training folder as ``{name: bytes}`` (validated first)."""
    folder.validate()
    files = {
        WINDOWS_FILE: le_bytes(array("h", folder.windows)),
        LABELS_FILE: bytes(folder.labels),
        INDEX_FILE: _index_csv(folder.index).encode("utf-8"),
        META_FILE: _json(folder.meta),
    }
    if folder.summary is not None:
        files[SUMMARY_FILE] = _json(folder.summary)
    return files


SET_FILES = (WINDOWS_FILE, LABELS_FILE, INDEX_FILE, META_FILE, SUMMARY_FILE)


def write(directory: PathLike, folder: TrainFolder, *, overwrite: bool = False) -> Path:
    """Write ``folder`` into ``directory`` as a set: all new files or all old ones, also after a
    kill at any moment (:func:`stingerml.core.atomic.write_set`).

    A missing directory is created (mode from the umask). An existing non-empty
    directory is only touched with ``overwrite=True``; its training-folder files
    are then replaced as a set (an old ``summary.json`` goes when the new folder
    has none); other files in it are left alone.

    Raises:
        DatasetError: the folder's parts disagree in size, or the target exists
            and ``overwrite`` is false.
        OutputError: the directory cannot be created or written (its old files are kept).
    """
    target = Path(directory)
    files = encode(folder)
    recover(target)
    if target.exists():
        if not target.is_dir():
            raise DatasetError(f"{target}: exists and is not a directory; choose another --out")
        if any(target.iterdir()) and not overwrite:
            raise DatasetError(f"{target}: directory is not empty; pass overwrite=True (CLI: --overwrite) to replace its files")
    return write_set_to_folder(target, files, members=SET_FILES)


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise DatasetError(f"{path}: missing; a training folder needs {WINDOWS_FILE}, {LABELS_FILE}, {INDEX_FILE} and {META_FILE}") from None
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read: {exc.strerror or exc}") from exc


def _read_json(path: Path) -> Dict[str, Any]:
    try:
        obj = json.loads(_read_file(path).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{path}: not valid JSON ({exc})") from exc
    except RecursionError:
        raise DatasetError(f"{path}: JSON nested too deeply to read; write it again with 'stingerml export'") from None
    if not isinstance(obj, dict):
        raise DatasetError(f"{path}: expected a JSON object")
    return obj


def _parse_index(path: Path) -> List[Dict[str, Any]]:
    text = _read_file(path).decode("utf-8", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None or tuple(header) != INDEX_COLUMNS:
        raise DatasetError(f"{path}: header must be {','.join(INDEX_COLUMNS)}, got {header!r}")
    rows: List[Dict[str, Any]] = []
    for line_no, rec in enumerate(reader, start=2):
        if not rec:
            continue
        if len(rec) != len(INDEX_COLUMNS):
            raise DatasetError(f"{path}: line {line_no} has {len(rec)} fields, expected {len(INDEX_COLUMNS)}")
        row: Dict[str, Any] = {}
        for name, value in zip(INDEX_COLUMNS, rec):
            if name in _INT_COLUMNS:
                try:
                    row[name] = int(value)
                except ValueError:
                    raise DatasetError(f"{path}: line {line_no} column {name} is {value!r}, expected an integer") from None
            else:
                row[name] = value
        rows.append(row)
    return rows


def read(directory: PathLike) -> TrainFolder:
    """Read and check a training folder.

    Raises:
        DatasetError: a file is missing or malformed, or the files disagree in size.
    """
    d = Path(directory)
    if not d.is_dir():
        raise DatasetError(f"{d}: not a directory; give the folder written by 'stingerml export'")
    try:
        recover(d)  # finish (or undo) an export that was killed while replacing the files
    except OSError:
        pass  # a read-only folder: read what is there
    meta = _read_json(d / META_FILE)
    raw = _read_file(d / WINDOWS_FILE)
    if len(raw) % 2:
        raise DatasetError(f"{d / WINDOWS_FILE}: {len(raw)} bytes is not a whole number of int16 samples")
    windows = le_array("h", raw)
    labels = array("B", _read_file(d / LABELS_FILE))
    index = _parse_index(d / INDEX_FILE)
    summary = _read_json(d / SUMMARY_FILE) if (d / SUMMARY_FILE).exists() else None
    for key in ("samples", "duration_ms"):
        value = (summary or {}).get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not math.isfinite(value) or value < 0):
            raise DatasetError(f"{d / SUMMARY_FILE}: {key} is {value!r}, expected a number >= 0; "
                               "fix it, delete summary.json, or export the folder again")
    folder = TrainFolder(windows=windows, labels=labels, index=index, meta=meta, summary=summary)
    folder.validate(str(d))
    return folder
