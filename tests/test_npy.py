"""The standard-library .npy/.npz reader against files numpy writes and against hand-made bytes (struct)."""
from __future__ import annotations

import io
import struct
import zipfile

import pytest

from stingerml.core.errors import ArrayFormatError, StingerError
from stingerml.formats.npy import NdArray, read_npy, read_npz

DTYPES = ["f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "b1"]


def _npy(descr: str, shape, payload: bytes, version=(1, 0), fortran=False, header: str = None) -> bytes:
    """A .npy file built by hand from the format description (numpy's format.py docstring)."""
    if header is None:
        header = f"{{'descr': {descr!r}, 'fortran_order': {fortran}, 'shape': {tuple(shape)!r}, }}"
    text = header.encode("utf8" if version[0] == 3 else "latin1")
    size_fmt = "<H" if version[0] == 1 else "<I"
    pre = 6 + 2 + struct.calcsize(size_fmt)
    text += b" " * ((-(pre + len(text) + 1)) % 64) + b"\n"
    return b"\x93NUMPY" + bytes(version) + struct.pack(size_fmt, len(text)) + text + payload


# --- hand-made bytes (struct is the oracle) ---------------------------------------------------

@pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0)])
@pytest.mark.parametrize("order", ["<", ">"])
def test_handmade_float32(version, order):
    values = [1.5, -2.25, 3.0e-7, 0.0, 65504.0, -1e30]
    blob = _npy(order + "f4", (2, 3), struct.pack(order + "6f", *values), version=version)
    arr = read_npy(blob)
    assert arr.shape == (2, 3) and arr.dtype == order + "f4"
    assert list(arr.data) == list(struct.unpack("<6f", struct.pack("<6f", *values)))
    assert arr.tolist() == [list(arr.data[:3]), list(arr.data[3:])]


@pytest.mark.parametrize("fmt,descr", [("q", "i8"), ("Q", "u8"), ("h", "i2"), ("H", "u2"), ("i", "i4"),
                                       ("I", "u4"), ("d", "f8")])
def test_handmade_integers_big_endian(fmt, descr):
    values = [0, 1, 2, 100, 7, 3] if fmt.isupper() else [-5, 0, 1, 2, -100, 7]
    blob = _npy(">" + descr, (6,), struct.pack(">6" + fmt, *values))
    assert list(read_npy(blob).data) == values


def test_handmade_unicode_and_scalar():
    words = ["hello", "", "añ", "x"]
    payload = b"".join(w.ljust(5, "\0").encode("utf-32-le") for w in words)
    arr = read_npy(_npy("<U5", (4,), payload))
    assert arr.data == words and arr.dtype == "<U5"
    assert read_npy(_npy(">U2", (), "ok".encode("utf-32-be"))).tolist() == "ok"
    assert read_npy(_npy("<f8", (), struct.pack("<d", 2.5))).tolist() == 2.5
    empty = read_npy(_npy("<f4", (0, 3), b""))
    assert empty.shape == (0, 3) and len(empty.data) == 0 and empty.tolist() == []


def test_path_and_bytes_agree(tmp_path):
    blob = _npy("|u1", (3,), bytes([1, 2, 250]))
    (tmp_path / "a.npy").write_bytes(blob)
    assert read_npy(tmp_path / "a.npy") == read_npy(blob) == read_npy(str(tmp_path / "a.npy"))


# --- damaged and unsupported files: one clear line --------------------------------------------

def _good() -> bytes:
    return _npy("<f4", (2, 2), struct.pack("<4f", 1, 2, 3, 4))


@pytest.mark.parametrize("blob,words", [
    (b"", "no \\x93NUMPY magic"),
    (b"PK\x03\x04 not npy", "no \\x93NUMPY magic"),
    (b"\x93NUMPY\x04\x00\x10\x00", "unsupported .npy version 4.0"),
    (b"\x93NUMPY\x01\x00\x10", "truncated in the header length"),
    (b"\x93NUMPY\x01\x00\x40\x00{'descr'", "truncated header"),
    (_npy("", (), b"", header="{'descr': '<f4', 'shape': (2,)}"), "keys descr, fortran_order, shape"),
    (_npy("", (), b"", header="__import__('os')"), "not a Python dict literal"),
    (_npy("", (), b"", header="{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}"), "not a tuple of counts"),
    (_npy("", (), b"", header="{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}"), "fortran_order 0"),
    (_npy("|O", (2,), b"\x80\x04N."), "object array"),
    (_npy("<f4", (2, 3), b"\0" * 24, fortran=True), "Fortran-order"),
    (_npy("<f2", (2,), b"\0" * 4), "unsupported dtype '<f2'"),
    (_npy("<c8", (1,), b"\0" * 8), "unsupported dtype '<c8'"),
    (_npy([("a", "<f4")], (1,), b"\0" * 4), "structured arrays"),
    (_npy("<f4", (2, 2), b"\0" * 15), "truncated data: 15 bytes"),
    (_npy("<f4", (2, 2), b"\0" * 17), "1 bytes after the data"),
    (_npy("|b1", (3,), b"\x00\x01\x07"), "neither 0 nor 1"),
    (_npy("<U1", (1,), b"\xff\xff\xff\xff"), "not valid UCS-4"),
])
def test_damaged_npy_one_line(blob, words):
    with pytest.raises(ArrayFormatError) as info:
        read_npy(blob)
    msg = str(info.value)
    assert words in msg and "\n" not in msg and msg.startswith("<bytes>: byte ")
    assert isinstance(info.value, StingerError) and isinstance(info.value, ValueError)


def test_fortran_order_of_a_vector_is_c_order():
    assert list(read_npy(_npy("<i2", (3,), struct.pack("<3h", 1, 2, 3), fortran=True)).data) == [1, 2, 3]


def test_damaged_file_names_the_path(tmp_path):
    p = tmp_path / "x.npy"
    p.write_bytes(_good()[:-1])
    with pytest.raises(ArrayFormatError, match=r"x\.npy: byte \d+: truncated data"):
        read_npy(p)


def _zip(members, compression=zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, blob in members:
            z.writestr(name, blob)
    return buf.getvalue()


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_handmade_npz(tmp_path, compression):
    p = tmp_path / "d.npz"
    p.write_bytes(_zip([("X.npy", _good()), ("y.npy", _npy("<i8", (2,), struct.pack("<2q", 0, 1)))], compression))
    got = read_npz(p)
    assert list(got) == ["X", "y"] and got["X"].shape == (2, 2) and list(got["y"].data) == [0, 1]


def test_damaged_npz(tmp_path):
    p = tmp_path / "d.npz"
    p.write_bytes(b"not a zip at all")
    with pytest.raises(ArrayFormatError, match=r"d\.npz: not a \.npz file"):
        read_npz(p)
    blob = bytearray(_zip([("X.npy", _good())]))
    i = blob.index(struct.pack("<4f", 1, 2, 3, 4))
    blob[i] ^= 0xFF  # stored data changed: CRC mismatch
    p.write_bytes(bytes(blob))
    with pytest.raises(ArrayFormatError, match=r"d\.npz\[X\.npy\]: damaged archive member") as info:
        read_npz(p)
    assert "\n" not in str(info.value)
    p.write_bytes(_zip([("notes.txt", b"hi")]))
    with pytest.raises(ArrayFormatError, match=r"notes\.txt\]: member is not a \.npy array"):
        read_npz(p)
    p.write_bytes(_zip([("X.npy", _good()[:-2])], zipfile.ZIP_DEFLATED))
    with pytest.raises(ArrayFormatError, match=r"d\.npz\[X\.npy\]: byte \d+: truncated data"):
        read_npz(p)


def test_damaged_deflate_stream(tmp_path):
    blob = bytearray(_zip([("X.npy", _good() * 3)], zipfile.ZIP_DEFLATED))
    start = 30 + len("X.npy")  # local header, then the name, then the deflate stream
    for k in range(start, start + 12):
        blob[k] ^= 0x5A
    p = tmp_path / "d.npz"
    p.write_bytes(bytes(blob))
    with pytest.raises(ArrayFormatError, match=r"d\.npz\[X\.npy\]"):
        read_npz(p)


# --- files numpy writes (numpy is the oracle, test-only) --------------------------------------

np = pytest.importorskip("numpy")


def _check(arr: NdArray, want) -> None:
    assert arr.shape == want.shape
    assert arr.dtype == want.dtype.str
    assert arr.tolist() == want.tolist()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("order", ["<", ">"])
def test_numpy_written(tmp_path, dtype, order):
    rng = np.random.default_rng(7)
    want = (rng.standard_normal((3, 4, 5)) * 50).astype(np.dtype(order + dtype) if dtype != "b1" else bool)
    p = tmp_path / "a.npy"
    np.save(p, want)
    _check(read_npy(p), want)
    _check(read_npy(p.read_bytes()), want)


@pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0)])
def test_numpy_versions(version):
    want = np.arange(24, dtype="<f8").reshape(2, 3, 4) / 7
    buf = io.BytesIO()
    np.lib.format.write_array(buf, want, version=version)
    assert buf.getvalue()[6] == version[0]
    _check(read_npy(buf.getvalue()), want)


def test_numpy_unicode_scalar_and_empty(tmp_path):
    for want in (np.array(["walk", "wave", "añ", ""]), np.array("solo"), np.zeros((0, 4), "<f4"),
                 np.array(["ab", "c"], dtype=">U3"), np.float64(3.25), np.array([[True, False]])):
        want = np.asarray(want)
        np.save(tmp_path / "a.npy", want)
        _check(read_npy(tmp_path / "a.npy"), want)


def test_numpy_fortran_and_object_refused(tmp_path):
    np.save(tmp_path / "f.npy", np.asfortranarray(np.ones((3, 2), "<f4")))
    with pytest.raises(ArrayFormatError, match="Fortran-order"):
        read_npy(tmp_path / "f.npy")
    np.save(tmp_path / "o.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ArrayFormatError, match="object array"):
        read_npy(tmp_path / "o.npy")


@pytest.mark.parametrize("save", ["savez", "savez_compressed"])
def test_numpy_npz(tmp_path, save):
    rng = np.random.default_rng(1)
    arrays = {"X": rng.standard_normal((5, 8, 21, 3)).astype("<f4"),
              "mask": rng.integers(0, 2, (5, 8)).astype(bool),
              "y": rng.integers(0, 3, 5), "label_names": np.array(["hello", "thanks", "yes"])}
    getattr(np, save)(tmp_path / "d.npz", **arrays)
    got = read_npz(tmp_path / "d.npz")
    assert list(got) == list(arrays)
    for key, want in arrays.items():
        _check(got[key], want)
