"""NumPy's ``.npy`` and ``.npz`` files, read with the standard library only.

The format (numpy's ``numpy/lib/format.py``, "NPY format"): the magic ``\\x93NUMPY``,
a major and a minor version byte, the header length (``<u2`` in version 1, ``<u4`` in
versions 2 and 3), the header — a Python dict literal
``{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`` in latin-1 (UTF-8 in
version 3) — then the raw data. ``.npz`` is a zip archive of ``.npy`` members (stored
or deflated), one per array, named ``<key>.npy``.

Supported element types: ``f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1`` in either byte order and
unicode strings ``<U..`` / ``>U..``; data in C order. Fortran-ordered arrays, object
arrays (pickles, never loaded) and other types are refused with one clear
:class:`~stingerml.core.errors.ArrayFormatError`, as is every damaged file.
"""
from __future__ import annotations

import ast
import io
import os
import sys
import zipfile
import zlib
from array import array
from dataclasses import dataclass
from typing import BinaryIO, Dict, List, Tuple, Union

from ..core.errors import ArrayFormatError

__all__ = ["NdArray", "read_npy", "read_npz"]

MAGIC = b"\x93NUMPY"
MAX_HEADER = 1 << 16  # bytes; numpy itself writes headers of a few dozen bytes

_HOST = "<" if sys.byteorder == "little" else ">"


def _typecode(kind: str, size: int) -> str:
    for code in {"f": "fd", "i": "bhilq", "u": "BHILQ"}[kind]:
        if array(code).itemsize == size:
            return code
    raise AssertionError(f"no array typecode for {kind}{size}")  # pragma: no cover


# numpy's type character + size -> array typecode (b1 is read as bytes 0/1)
_TYPECODES = {f"{kind}{size}": _typecode(kind, size)
              for kind, sizes in (("f", (4, 8)), ("i", (1, 2, 4, 8)), ("u", (1, 2, 4, 8)))
              for size in sizes}
_TYPECODES["b1"] = "B"
SUPPORTED = "f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1 U<n>"


@dataclass(frozen=True)
class NdArray:
    """An n-dimensional array as plain data.

    ``shape``: the dimensions (``()`` for a scalar). ``dtype``: numpy's type string as
    stored in the file (``'<f4'``, ``'>i8'``, ``'|b1'``, ``'<U7'``). ``data``: the
    ``prod(shape)`` elements flat in C order (last index fastest) — an ``array.array``
    of the values (byte order already applied; ``b1`` as 0/1 bytes), or a list of
    ``str`` for unicode arrays (trailing NULs stripped, as numpy does).
    """

    shape: Tuple[int, ...]
    dtype: str
    data: Union[array, List[str]]

    @property
    def size(self) -> int:
        """The number of elements, ``prod(shape)``."""
        n = 1
        for d in self.shape:
            n *= d
        return n

    def tolist(self) -> list:
        """The elements as nested lists, like ``numpy.ndarray.tolist`` (a scalar gives the bare value)."""
        values = [bool(v) for v in self.data] if self.dtype[1:] == "b1" else list(self.data)
        return values[0] if not self.shape else _nest(values, self.shape)


def _nest(values: list, shape: Tuple[int, ...]) -> list:
    if len(shape) == 1:
        return values
    step = len(values) // shape[0] if shape[0] else 0
    return [_nest(values[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


def read_npy(source: Union[str, os.PathLike, bytes, bytearray, memoryview]) -> NdArray:
    """Read one ``.npy`` array from a file path or from the file's bytes.

    Raises :class:`~stingerml.core.errors.ArrayFormatError` (naming the file and byte offset)
    for a damaged or unsupported file, ``OSError`` when the path cannot be opened.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        return _read(io.BytesIO(data), "<bytes>", len(data))
    where = os.fspath(source)
    with open(where, "rb") as f:
        return _read(f, where, os.fstat(f.fileno()).st_size)


def read_npz(path: Union[str, os.PathLike]) -> Dict[str, NdArray]:
    """Read every array of a ``.npz`` archive: ``{key: NdArray}`` in archive order
    (``np.savez(f, X=..., y=...)`` gives keys ``"X"``, ``"y"``).

    Raises :class:`~stingerml.core.errors.ArrayFormatError` for a file that is not a zip
    archive, a damaged member (bad CRC, truncated) or a member that is not a supported
    ``.npy`` array; ``OSError`` when the path cannot be opened.
    """
    where = os.fspath(path)
    try:
        archive = zipfile.ZipFile(where)
    except zipfile.BadZipFile as e:
        raise ArrayFormatError(f"{where}: not a .npz file (not a zip archive: {e}); "
                               "write it with numpy.savez or numpy.savez_compressed") from None
    out: Dict[str, NdArray] = {}
    with archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            name = info.filename
            member = f"{where}[{name}]"
            if not name.endswith(".npy"):
                raise ArrayFormatError(f"{member}: member is not a .npy array; "
                                       "a .npz holds only arrays saved by numpy.savez")
            key = name[:-4]
            if key in out:
                raise ArrayFormatError(f"{member}: array {key!r} appears twice in the archive")
            try:
                with archive.open(info) as f:
                    out[key] = _read(f, member, info.file_size)
            except ArrayFormatError:
                raise
            except (zipfile.BadZipFile, EOFError, NotImplementedError, RuntimeError, OSError,
                    zlib.error) as e:
                raise ArrayFormatError(f"{member}: damaged archive member ({e}); "
                                       "write the file again with numpy.savez") from None
    return out


def _fail(where: str, offset: int, what: str) -> ArrayFormatError:
    return ArrayFormatError(f"{where}: byte {offset}: {what}")


def _read(f: BinaryIO, where: str, total: int) -> NdArray:
    """Parse one ``.npy`` stream of ``total`` bytes (reads only what the header announces)."""
    prefix = f.read(8)
    if len(prefix) < 8 or prefix[:6] != MAGIC:
        raise _fail(where, 0, "not a .npy file (no \\x93NUMPY magic); "
                              "write it with numpy.save")
    major, minor = prefix[6], prefix[7]
    if major == 1:
        size_bytes, encoding = 2, "latin1"
    elif major in (2, 3):
        size_bytes, encoding = 4, ("utf8" if major == 3 else "latin1")
    else:
        raise _fail(where, 6, f"unsupported .npy version {major}.{minor} "
                              "(versions 1, 2 and 3 are read)")
    raw_len = f.read(size_bytes)
    if len(raw_len) < size_bytes:
        raise _fail(where, 8, "truncated in the header length")
    header_len = int.from_bytes(raw_len, "little")
    start = 8 + size_bytes
    if header_len > MAX_HEADER:
        raise _fail(where, 8, f"header of {header_len} bytes (more than {MAX_HEADER}): "
                              "not a numpy array file")
    raw_header = f.read(header_len)
    if len(raw_header) < header_len:
        raise _fail(where, start, f"truncated header ({len(raw_header)} of {header_len} bytes)")
    descr, fortran, shape = _parse_header(raw_header, encoding, where, start)
    data_start = start + header_len

    if not isinstance(descr, str):
        raise _fail(where, start, f"unsupported dtype {descr!r} (structured arrays are not read; "
                                  f"supported: {SUPPORTED})")
    if len(descr) < 2 or descr[0] not in "<>|=":
        raise _fail(where, start, f"unsupported dtype {descr!r} (supported: {SUPPORTED})")
    order, code = descr[0], descr[1:]
    if code.startswith("O"):
        raise _fail(where, start, "object array (a pickle): not read; "
                                  "save numbers or strings (numpy.save with allow_pickle=False)")
    n = 1
    for d in shape:
        n *= d
    if fortran and len([d for d in shape if d != 1]) > 1:
        raise _fail(where, start, "Fortran-order array: not read; "
                                  "save numpy.ascontiguousarray(a) instead")
    if code.startswith("U") and code[1:].isdigit():
        chars = int(code[1:])
        itemsize = 4 * chars
    elif code in _TYPECODES:
        chars = 0
        itemsize = int(code[1:])
    else:
        raise _fail(where, start, f"unsupported dtype {descr!r} (supported: {SUPPORTED})")

    need = n * itemsize
    if total - data_start < need:
        raise _fail(where, data_start, f"truncated data: {total - data_start} bytes where shape "
                                       f"{shape} of {descr} needs {need}")
    if total - data_start > need:
        raise _fail(where, data_start + need, f"{total - data_start - need} bytes after the "
                                              f"data of shape {shape}: damaged file")
    raw = f.read(need)
    if len(raw) != need:
        raise _fail(where, data_start + len(raw), f"truncated data ({len(raw)} of {need} bytes)")

    swap = itemsize > 1 and order in "<>" and order != _HOST
    if code.startswith("U"):
        return NdArray(shape, descr, _strings(raw, n, chars, order, where, data_start))
    values = array(_TYPECODES[code])
    values.frombytes(raw)
    if swap:
        values.byteswap()
    if code == "b1" and n and max(values) > 1:
        raise _fail(where, data_start + values.index(max(values)),
                    "boolean element is neither 0 nor 1: damaged file")
    return NdArray(shape, descr, values)


def _parse_header(raw: bytes, encoding: str, where: str, start: int):
    """``(descr, fortran_order, shape)`` of a header dict literal."""
    try:
        text = raw.decode(encoding)
        header = ast.literal_eval(text)
    except (UnicodeDecodeError, ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
        raise _fail(where, start, "header is not a Python dict literal: damaged file") from None
    if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
        keys = sorted(map(str, header)) if isinstance(header, dict) else type(header).__name__
        raise _fail(where, start, f"header must have the keys descr, fortran_order, shape "
                                  f"(found {keys}): damaged file")
    shape = header["shape"]
    if not isinstance(shape, tuple) or not all(type(d) is int and d >= 0 for d in shape):
        raise _fail(where, start, f"shape {shape!r} is not a tuple of counts: damaged file")
    fortran = header["fortran_order"]
    if not isinstance(fortran, bool):
        raise _fail(where, start, f"fortran_order {fortran!r} is not True or False: damaged file")
    return header["descr"], fortran, shape


def _strings(raw: bytes, n: int, chars: int, order: str, where: str, offset: int) -> List[str]:
    """``n`` fixed-width UCS-4 strings of ``chars`` characters, trailing NULs stripped."""
    if chars == 0:
        return [""] * n
    codec = "utf-32-be" if order == ">" else "utf-32-le" if order == "<" else f"utf-32-{sys.byteorder[0]}e"
    width = 4 * chars
    out = []
    for i in range(n):
        try:
            out.append(raw[i * width:(i + 1) * width].decode(codec).rstrip("\x00"))
        except UnicodeDecodeError:
            raise _fail(where, offset + i * width, f"element {i} is not valid UCS-4 text: "
                                                   "damaged file") from None
    return out
