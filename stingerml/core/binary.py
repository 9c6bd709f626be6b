"""Little-endian conversion of :mod:`array` data: every stingerml file format is little-endian."""
from __future__ import annotations

import sys
from array import array
from typing import Union

_BIG = sys.byteorder == "big"


def le_array(typecode: str, raw: Union[bytes, bytearray, memoryview]) -> array:
    """An ``array(typecode)`` read from little-endian bytes."""
    arr = array(typecode)
    arr.frombytes(raw)
    if _BIG:
        arr.byteswap()
    return arr


def le_bytes(values: array) -> bytes:
    """The little-endian bytes of ``values`` (the caller's array is left untouched)."""
    if not _BIG:
        return values.tobytes()
    swapped = array(values.typecode, values)
    swapped.byteswap()
    return swapped.tobytes()
