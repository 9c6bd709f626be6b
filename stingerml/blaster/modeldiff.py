"""Where two model files (or two replay CSVs) differ, value by value, in float32 ulps.

:func:`diff_files` compares

- two MLMD files (SPEC §9): every header field, the bytes after the payload,
  then each tensor (LR ``mean scale coef intercept``; MLP ``mean scale W1 b1
  W2 b2 W3 b3``): how many values differ in their float32 bits, the largest
  ulp distance and absolute difference, and the first positions
  (``[out, in]`` for a matrix);
- two CSVs with a header line (``stingerml replay`` output, or any numeric
  table): the row count and the columns, then per column shared by both the
  rows whose values differ (integers exactly, other numbers as float32), the
  largest distance in float32 ulps and absolute difference, and the first rows.

The ulp distance counts the float32 values between ``a`` and ``b`` (``+0`` and
``-0`` are 0 ulp apart but have different bits, so they count as differing);
it is ``None`` when either value is NaN.
"""
from __future__ import annotations

import csv
import io
import math
import struct
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Sequence, Tuple, Union

from ..core.binary import le_array
from ..core.errors import DiffError
from ..formats import mlmd

FIRST = 5
"""Differing positions listed per tensor or column."""
_KIND = {mlmd.MODEL_LR: "LR", mlmd.MODEL_MLP: "MLP"}
_HEADER_FIELDS = ("magic", "version", "window_samples", "model_type", "reserved", "features", "h1", "h2",
                  "payload_bytes", "payload_crc32")
TENSORS = mlmd.TENSORS
"""Tensors of each model type in payload order, with their shapes (``()`` = scalar): MLMD's one table."""


def ulp_distance(a_bits: int, b_bits: int) -> Optional[int]:
    """Float32 values between two bit patterns (0 for equal values; ``None`` if either is NaN)."""
    if (a_bits & 0x7FFFFFFF) > 0x7F800000 or (b_bits & 0x7FFFFFFF) > 0x7F800000:
        return None

    def ordered(bits: int) -> int:
        return -(bits & 0x7FFFFFFF) if bits & 0x80000000 else bits

    return abs(ordered(a_bits) - ordered(b_bits))


_F32 = array("f", [0.0])


def f32_bits(value: float) -> int:
    """The IEEE-754 binary32 bit pattern of ``value`` rounded to float32 (beyond its range: infinity)."""
    _F32[0] = value
    return struct.unpack("<I", struct.pack("<f", _F32[0]))[0]


def _bits_value(bits: int) -> float:
    return struct.unpack("<f", struct.pack("<I", bits))[0]


@dataclass
class Position:
    """One differing value: ``index`` (``[i]``, ``[out, in]`` or ``[row]``), the two values (a CSV
    cell that is not a number stays text), their ulp distance."""

    index: Tuple[int, ...]
    a: Union[float, str]
    b: Union[float, str]
    ulp: Optional[int]


@dataclass
class PartDiff:
    """How one tensor (or CSV column) differs.

    ``values`` compared, ``differing`` (bits or numbers not equal), ``max_ulp``
    (float32 ulps; ``None`` when only NaNs or texts differ, or nothing does),
    ``max_abs`` (largest ``|a - b|`` of two numbers, NaN skipped), ``first``
    differing positions.
    """

    name: str
    shape: Tuple[int, ...]
    values: int
    differing: int = 0
    max_ulp: Optional[int] = None
    max_abs: float = 0.0
    first: List[Position] = field(default_factory=list)


@dataclass
class Diff:
    """The comparison of two files: ``fields`` that differ as ``(name, a, b)``, every part compared.

    ``kind`` is ``"mlmd"`` or ``"csv"``; ``note`` says why parts were not compared, if so.
    """

    a: str
    b: str
    kind: str
    fields: List[Tuple[str, object, object]]
    parts: List[PartDiff]
    note: str = ""

    @property
    def identical(self) -> bool:
        """No field and no value differs."""
        return not self.fields and not any(p.differing for p in self.parts)

    def to_dict(self) -> dict:
        """A JSON-ready dict (non-finite numbers as strings ``"nan"``, ``"inf"``, ``"-inf"``)."""
        return {
            "a": self.a, "b": self.b, "kind": self.kind, "identical": self.identical,
            "fields": [{"name": n, "a": _plain(x), "b": _plain(y)} for n, x, y in self.fields],
            "parts": [{"name": p.name, "shape": list(p.shape), "values": p.values, "differing": p.differing,
                       "max_ulp": p.max_ulp, "max_abs": _plain(p.max_abs),
                       "first": [{"index": list(q.index), "a": _plain(q.a), "b": _plain(q.b), "ulp": q.ulp}
                                 for q in p.first]} for p in self.parts],
            "note": self.note,
        }


def _plain(v: object) -> object:
    return v if not isinstance(v, float) or math.isfinite(v) else str(v)


def _index(k: int, shape: Tuple[int, ...]) -> Tuple[int, ...]:
    return (k // shape[1], k % shape[1]) if len(shape) == 2 else (k,)


def _record(part: PartDiff, index: Tuple[int, ...], a: Union[float, str], b: Union[float, str],
            ulp: Optional[int]) -> None:
    part.differing += 1
    if ulp is not None and (part.max_ulp is None or ulp > part.max_ulp):
        part.max_ulp = ulp
    if isinstance(a, float) and isinstance(b, float) and abs(a - b) > part.max_abs:  # a NaN gap is skipped
        part.max_abs = abs(a - b)
    if len(part.first) < FIRST:
        part.first.append(Position(index, a, b, ulp))


def compare_bits(name: str, shape: Tuple[int, ...], a: Sequence[int], b: Sequence[int]) -> PartDiff:
    """Compare two equally long sequences of float32 bit patterns."""
    part = PartDiff(name, shape, len(a))
    for k, (x, y) in enumerate(zip(a, b)):
        if x != y:
            _record(part, _index(k, shape), _bits_value(x), _bits_value(y), ulp_distance(x, y))
    return part


# --------------------------------------------------------------------------- MLMD


def _trailing(blob: bytes) -> str:
    n = len(blob) - mlmd.HEADER_SIZE - mlmd.HEADER.unpack_from(blob)[8]
    return f"{n} bytes" + (f", CRC-32 0x{mlmd.crc32(blob[-n:]):08x}" if n > 0 else "")


def diff_mlmd(a: bytes, b: bytes, name_a: str = "A", name_b: str = "B") -> Diff:
    """Compare two MLMD files field by field and tensor by tensor.

    Raises:
        ModelFormatError: either file is not a valid MLMD file (see :func:`stingerml.formats.mlmd.parse`).
    """
    model_a, model_b = mlmd.parse(a, source=name_a), mlmd.parse(b, source=name_b)
    head_a, head_b = mlmd.HEADER.unpack_from(a), mlmd.HEADER.unpack_from(b)
    fields: List[Tuple[str, object, object]] = []
    for name, x, y in zip(_HEADER_FIELDS, head_a, head_b):
        if x != y:
            if name == "payload_crc32":
                x, y = f"0x{x:08x}", f"0x{y:08x}"
            elif name == "model_type":
                x, y = f"{x} ({_KIND[x]})", f"{y} ({_KIND[y]})"
            fields.append((name, x, y))
    if _trailing(a) != _trailing(b):
        fields.append(("trailing", _trailing(a), _trailing(b)))
    if model_a.model_type != model_b.model_type:
        return Diff(name_a, name_b, "mlmd", fields, [],
                    note=f"an {_KIND[model_a.model_type]} and an {_KIND[model_b.model_type]} model: tensors not compared")
    end = mlmd.HEADER_SIZE + head_a[8]
    bits_a, bits_b = le_array("I", a[mlmd.HEADER_SIZE:end]), le_array("I", b[mlmd.HEADER_SIZE:end])
    parts, pos = [], 0
    for name, shape in TENSORS[model_a.model_type]:
        size = math.prod(shape)
        parts.append(compare_bits(name, shape, bits_a[pos : pos + size], bits_b[pos : pos + size]))
        pos += size
    return Diff(name_a, name_b, "mlmd", fields, parts)


# --------------------------------------------------------------------------- CSV


def _read_csv(text: str, source: str) -> Tuple[List[str], List[List[str]]]:
    rows = [r for r in csv.reader(io.StringIO(text, newline="")) if r]
    if not rows:
        raise DiffError(f"{source}: empty CSV; expected a header line and rows")
    header = rows[0]
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise DiffError(f"{source}: row {line} has {len(row)} fields, the header {len(header)}")
    return header, rows[1:]


def _number(cell: str) -> Union[int, float, None]:
    """A CSV cell as an int (digits only), else a float, else None (text)."""
    cell = cell.strip()
    for kind in (int, float):
        try:
            return kind(cell)
        except ValueError:
            pass
    return None


def compare_cells(name: str, a: Sequence[str], b: Sequence[str]) -> PartDiff:
    """Compare two CSV columns row by row.

    Two integers are compared exactly (no ulps: timestamps exceed float32's
    exact range); other numbers as float32 (what ``stingerml replay`` writes),
    so ``0.1`` and ``0.100000001`` are equal and ulps count between their
    float32 roundings; anything else as text.
    """
    part = PartDiff(name, (len(a),), len(a))
    for row, (x, y) in enumerate(zip(a, b)):
        u, v = _number(x), _number(y)
        if u is None or v is None:
            if x != y:
                _record(part, (row,), x, y, None)
        elif isinstance(u, int) and isinstance(v, int):
            if u != v:
                _record(part, (row,), float(u), float(v), None)
        elif f32_bits(u) != f32_bits(v):
            _record(part, (row,), float(u), float(v), ulp_distance(f32_bits(u), f32_bits(v)))
    return part


def diff_csv(a: str, b: str, name_a: str = "A", name_b: str = "B") -> Diff:
    """Compare two CSV texts with header lines, column by column (rows paired in order).

    Raises:
        DiffError: an empty CSV, or a row with another number of fields than the header.
    """
    head_a, rows_a = _read_csv(a, name_a)
    head_b, rows_b = _read_csv(b, name_b)
    fields: List[Tuple[str, object, object]] = []
    if len(rows_a) != len(rows_b):
        fields.append(("rows", len(rows_a), len(rows_b)))
    if head_a != head_b:
        fields.append(("columns", ",".join(head_a), ",".join(head_b)))
    n = min(len(rows_a), len(rows_b))
    parts = [compare_cells(col, [r[head_a.index(col)] for r in rows_a[:n]],
                           [r[head_b.index(col)] for r in rows_b[:n]]) for col in head_a if col in head_b]
    note = f"the first {n} rows compared" if len(rows_a) != len(rows_b) else ""
    return Diff(name_a, name_b, "csv", fields, parts, note)


# --------------------------------------------------------------------------- files and text


def _read(path: Union[str, Path]) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise DiffError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _kind(blob: bytes, path: str) -> str:
    if blob[:4] == mlmd.MAGIC:
        return "mlmd"
    try:
        first = blob.decode("utf-8").split("\n", 1)[0]
    except UnicodeDecodeError:
        first = ""
    if "," in first:
        return "csv"
    raise DiffError(f"{path}: neither an MLMD model file (magic MLMD) nor a CSV with a header line; "
                    f"give two .mlmd files or two replay CSVs")


def diff_bytes(blob_a: bytes, blob_b: bytes, name_a: str = "A", name_b: str = "B") -> Diff:
    """Compare the contents of two files of the same kind (both MLMD or both CSV; found from the bytes).

    Raises:
        DiffError: a file is of neither kind, or the kinds differ.
        ModelFormatError: an MLMD file is damaged.
    """
    kind_a, kind_b = _kind(blob_a, name_a), _kind(blob_b, name_b)
    if kind_a != kind_b:
        raise DiffError(f"{name_a} is {'an MLMD file' if kind_a == 'mlmd' else 'a CSV'} and {name_b} is not; "
                        f"compare two files of the same kind")
    if kind_a == "mlmd":
        return diff_mlmd(blob_a, blob_b, name_a, name_b)
    return diff_csv(blob_a.decode("utf-8"), blob_b.decode("utf-8"), name_a, name_b)


def diff_files(a: Union[str, Path], b: Union[str, Path]) -> Diff:
    """:func:`diff_bytes` of two files.

    Raises:
        DiffError: a file cannot be read, is of neither kind, or the kinds differ.
        ModelFormatError: an MLMD file is damaged.
    """
    return diff_bytes(_read(a), _read(b), str(a), str(b))


def _g(v: Union[float, str]) -> str:
    return f"{v:.9g}" if isinstance(v, float) else repr(v)


def format_diff(d: Diff) -> str:
    """A human-readable report: differing fields, then one line per tensor or column."""
    unit = "tensors" if d.kind == "mlmd" else "columns"
    lines = [f"A: {d.a}", f"B: {d.b}"]
    lines += [f"{name}: {x} != {y}" for name, x, y in d.fields]
    if d.note:
        lines.append(f"note: {d.note}")
    for p in d.parts:
        shape = "x".join(map(str, p.shape)) or "scalar"
        if not p.differing:
            lines.append(f"  {p.name} [{shape}]: identical")
            continue
        ulp = "-" if p.max_ulp is None else str(p.max_ulp)
        first = "; ".join(f"[{','.join(map(str, q.index))}] {_g(q.a)} vs {_g(q.b)} ({'-' if q.ulp is None else q.ulp} ulp)"
                          for q in p.first)
        lines.append(f"  {p.name} [{shape}]: {p.differing} of {p.values} differ, max {ulp} ulp, "
                     f"max |a-b| {_g(p.max_abs)}; first: {first}")
    changed = sum(1 for p in d.parts if p.differing)
    if d.identical:
        lines.append(f"identical ({len(d.parts)} {unit})")
    else:
        lines.append(f"differ: {len(d.fields)} field(s), {changed} of {len(d.parts)} {unit}")
    return "\n".join(lines) + "\n"
