"""The few protocol-buffer encodings the ONNX writer needs (wire format only, no schema).

A message is the concatenation of its fields; callers pass fields in ascending
field-number order, which is the order ``protobuf`` itself serializes, so the
bytes are identical to the official library's (and stable run after run).
"""
from __future__ import annotations

import struct
from typing import Union

_VARINT, _FIXED32, _LEN = 0, 5, 2


def varint(value: int) -> bytes:
    """Base-128 varint of an integer; negatives as 64-bit two's complement (10 bytes)."""
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _key(field: int, wire: int) -> bytes:
    return varint((field << 3) | wire)


def int_field(field: int, value: int) -> bytes:
    """A varint field (int32/int64/enum)."""
    return _key(field, _VARINT) + varint(value)


def float_field(field: int, value: float) -> bytes:
    """A ``float`` field (fixed32, little-endian)."""
    return _key(field, _FIXED32) + struct.pack("<f", value)


def bytes_field(field: int, value: Union[bytes, str]) -> bytes:
    """A length-delimited field: bytes, a UTF-8 string or an encoded sub-message."""
    data = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    return _key(field, _LEN) + varint(len(data)) + data


def message(field: int, *fields: bytes) -> bytes:
    """A sub-message field made of already-encoded ``fields``."""
    return bytes_field(field, b"".join(fields))
