"""A small forward FlatBuffers writer: tables, strings and vectors, enough for a TFLite model.

Objects are described as plain values and laid out front to back: the root
offset and file identifier, then the root table, then its children in
breadth-first order, so every ``uoffset`` points forward as the format
requires. Each table's vtable sits just before it. Scalars are aligned to their
size, vectors to their element size (or more, e.g. 16 for TFLite buffer data).
The same description always gives the same bytes.
"""
from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass
from typing import Deque, List, Sequence, Tuple, Union

# scalar kind -> struct format (little-endian)
_SCALARS = {"bool": "<B", "u8": "<B", "i8": "<b", "i32": "<i", "u32": "<I", "f32": "<f", "i64": "<q"}


@dataclass(frozen=True)
class Vector:
    """A vector of scalars of one ``kind`` (``u8 i8 i32 u32 f32 i64``), data aligned to ``align`` bytes;
    ``values`` are numbers or, already little-endian, ``bytes``."""

    kind: str
    values: Union[Sequence[float], bytes]
    align: int = 4


@dataclass(frozen=True)
class Table:
    """A table: ``fields`` are ``(id, kind, value)`` with ``kind`` a scalar kind or ``"obj"`` for a child
    (a :class:`Table`, ``str``, :class:`Vector` or a ``list`` of tables)."""

    fields: Tuple[Tuple[int, str, object], ...]


Obj = Union[Table, str, Vector, List[Table]]


class _Writer:
    def __init__(self) -> None:
        self.buf = bytearray()
        self.pending: Deque[Tuple[int, Obj]] = deque()

    def pad_to(self, align: int, extra: int = 0) -> None:
        """Pad so that ``len(buf) + extra`` is a multiple of ``align``."""
        self.buf.extend(bytes(-(len(self.buf) + extra) % align))

    def write(self, obj: Obj) -> int:
        if isinstance(obj, Table):
            return self._table(obj)
        if isinstance(obj, str):
            data = obj.encode("utf-8")
            self.pad_to(4)
            pos = len(self.buf)
            self.buf += struct.pack("<I", len(data)) + data + b"\0"
            return pos
        if isinstance(obj, Vector):
            fmt = _SCALARS[obj.kind]
            size = struct.calcsize(fmt)
            self.pad_to(max(4, size, obj.align), 4)
            pos = len(self.buf)
            values = obj.values
            data = bytes(values) if isinstance(values, (bytes, bytearray)) else \
                struct.pack(f"<{len(values)}{fmt[1]}", *values)
            self.buf += struct.pack("<I", len(data) // size) + data
            return pos
        self.pad_to(4)  # a vector of tables: uoffsets filled in when each table is written
        pos = len(self.buf)
        self.buf += struct.pack("<I", len(obj))
        for table in obj:
            self.pending.append((len(self.buf), table))
            self.buf += bytes(4)
        return pos

    def _table(self, table: Table) -> int:
        fields = sorted(table.fields, key=lambda f: f[0])
        layout, size = [], 4  # the soffset to the vtable comes first
        for fid, kind, value in fields:
            width = 4 if kind == "obj" else struct.calcsize(_SCALARS[kind])
            size += -size % width
            layout.append((fid, kind, value, size))
            size += width
        size += -size % 4
        n_slots = fields[-1][0] + 1 if fields else 0
        slots = [0] * n_slots
        for fid, _, _, off in layout:
            slots[fid] = off
        vtable = struct.pack(f"<{2 + n_slots}H", 4 + 2 * n_slots, size, *slots)
        self.pad_to(4, len(vtable))
        vt_pos = len(self.buf)
        self.buf += vtable
        pos = len(self.buf)
        body = bytearray(size)
        struct.pack_into("<i", body, 0, pos - vt_pos)
        for fid, kind, value, off in layout:
            if kind == "obj":
                self.pending.append((pos + off, value))
            else:
                struct.pack_into(_SCALARS[kind], body, off, value)
        self.buf += body
        return pos


def serialize(root: Table, identifier: bytes) -> bytes:
    """The FlatBuffer of ``root`` with a 4-byte file ``identifier``."""
    if len(identifier) != 4:
        raise ValueError("a FlatBuffers file identifier has 4 bytes")
    w = _Writer()
    w.buf += bytes(4) + identifier
    struct.pack_into("<I", w.buf, 0, w.write(root))
    while w.pending:
        at, obj = w.pending.popleft()
        struct.pack_into("<I", w.buf, at, w.write(obj) - at)
    w.pad_to(16)
    return bytes(w.buf)
