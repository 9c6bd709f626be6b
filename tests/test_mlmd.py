"""MLMD model files: the browser trainer's files rebuild byte for byte; build/parse round trips; strict errors."""
from __future__ import annotations

import math
import random
import struct
import zlib
from array import array
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stingerml.core.errors import ModelFormatError
from stingerml.formats import mlmd

VECTORS = Path(__file__).resolve().parent.parent / "vectors" / "browser"
FILES = sorted(VECTORS.glob("*.mlmd"))
HEADER_ORACLE = "<4sHHBBHHHII"


def test_vectors_present():
    assert [f.name for f in FILES] == ["session_a.lr.mlmd", "session_a.mlp.mlmd", "tiny.lr.mlmd", "tiny.mlp.mlmd"]


@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_reference_file_parse_then_build_is_identical(path):
    blob = path.read_bytes()
    model = mlmd.parse(blob, source=path.name)
    kind = mlmd.LRModel if ".lr." in path.name else mlmd.MLPModel
    assert isinstance(model, kind)
    assert mlmd.build(model) == blob
    assert (mlmd.build_lr if kind is mlmd.LRModel else mlmd.build_mlp)(model) == blob


@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_reference_file_header_and_payload_against_struct(path):
    blob = path.read_bytes()
    magic, version, window, mtype, reserved, features, h1, h2, nbytes, crc = struct.unpack_from(HEADER_ORACLE, blob)
    assert (magic, version, window, reserved) == (b"MLMD", 1, 50, 0)
    if ".lr." in path.name:
        assert (mtype, features, h1, h2, nbytes, len(blob)) == (0, 18, 0, 0, 220, 244)
    else:
        assert (mtype, features, h1, h2, nbytes, len(blob)) == (1, 30, 64, 32, 16628, 16652)
    assert crc == zlib.crc32(blob[24:]) & 0xFFFFFFFF
    values = struct.unpack(f"<{nbytes // 4}f", blob[24:])
    model = mlmd.parse(blob)
    names = ("mean", "scale", "coef") if mtype == 0 else ("mean", "scale", "W1", "b1", "W2", "b2", "W3")
    flat = [v for name in names for v in getattr(model, name)]
    flat.append(model.intercept if mtype == 0 else model.b3)
    assert flat == list(values)


def test_constants_match_spec():
    assert mlmd.HEADER.format in (HEADER_ORACLE, HEADER_ORACLE.encode())
    assert mlmd.HEADER_SIZE == struct.calcsize(HEADER_ORACLE) == 24
    assert (mlmd.LR_PAYLOAD_BYTES, mlmd.MLP_PAYLOAD_BYTES) == (220, 16628)
    assert (mlmd.MAGIC, mlmd.VERSION, mlmd.WINDOW_SAMPLES, mlmd.MODEL_LR, mlmd.MODEL_MLP) == (b"MLMD", 1, 50, 0, 1)


# --- random models ----------------------------------------------------------------------------

f32 = st.floats(width=32, allow_nan=False, allow_infinity=False)
SPECIAL = [0.0, -0.0, 1.0, -1.0, 3.4028234663852886e38, -3.4028234663852886e38, 1.401298464324817e-45, 1.1754943508222875e-38]


def random_f32s(seed: int, count: int) -> list:
    """``count`` finite float32 values from random bit patterns (all exponents, subnormals, signed zeros)."""
    rng = random.Random(seed)
    out = []
    while len(out) < count:
        (v,) = struct.unpack("<f", rng.getrandbits(32).to_bytes(4, "little"))
        if math.isfinite(v):
            out.append(v)
    return out


@st.composite
def f32_vector(draw, count):
    values = random_f32s(draw(st.integers(0, 2**32)), count)
    for _ in range(draw(st.integers(0, 4))):  # plant some edge values where hypothesis likes
        values[draw(st.integers(0, count - 1))] = draw(st.one_of(st.sampled_from(SPECIAL), f32))
    return values


def _same_f32(a, b) -> bool:
    return struct.pack(f"<{len(a)}f", *a) == struct.pack(f"<{len(b)}f", *b)  # bitwise, keeps -0.0 apart


@given(v=f32_vector(3 * 18 + 1))
@settings(max_examples=150)
def test_lr_build_parse_round_trip(v):
    model = mlmd.LRModel(array("f", v[0:18]), array("f", v[18:36]), array("f", v[36:54]), v[54])
    blob = mlmd.build(model)
    assert len(blob) == 244
    assert blob[24:] == struct.pack("<55f", *v)  # payload order by struct oracle
    back = mlmd.parse(blob)
    assert isinstance(back, mlmd.LRModel)
    assert _same_f32(list(back.mean) + list(back.scale) + list(back.coef) + [back.intercept], v)
    assert mlmd.build(back) == blob


MLP_SIZES = [30, 30, 64 * 30, 64, 32 * 64, 32, 32, 1]


@given(v=f32_vector(sum(MLP_SIZES)))
@settings(max_examples=25, deadline=None)
def test_mlp_build_parse_round_trip(v):
    parts, pos = [], 0
    for size in MLP_SIZES[:-1]:
        parts.append(array("f", v[pos : pos + size]))
        pos += size
    model = mlmd.MLPModel(*parts, v[pos])
    blob = mlmd.build(model)
    assert len(blob) == 16652
    assert blob[24:] == struct.pack(f"<{len(v)}f", *v)
    back = mlmd.parse(blob)
    assert isinstance(back, mlmd.MLPModel)
    names = ("mean", "scale", "W1", "b1", "W2", "b2", "W3")
    assert _same_f32([x for n in names for x in getattr(back, n)] + [back.b3], v)
    assert mlmd.build(back) == blob


@given(data=st.binary(max_size=5000))
@settings(max_examples=200)
def test_crc32_equals_zlib(data):
    assert mlmd.crc32(data) == zlib.crc32(data) & 0xFFFFFFFF
    assert 0 <= mlmd.crc32(data) < 2**32


@given(v=f32_vector(55))
@settings(max_examples=50)
def test_header_fields_match_struct_oracle(v):
    model = mlmd.LRModel(array("f", v[0:18]), array("f", v[18:36]), array("f", v[36:54]), v[54])
    blob = mlmd.build(model)
    assert struct.unpack(HEADER_ORACLE, blob[:24]) == (b"MLMD", 1, 50, 0, 0, 18, 0, 0, 220, zlib.crc32(blob[24:]))


def test_build_rejects_wrong_lengths():
    with pytest.raises(ModelFormatError, match="coef has 17 values, expected 18"):
        mlmd.build(mlmd.LRModel(array("f", [0] * 18), array("f", [1] * 18), array("f", [0] * 17), 0.0))


# --- strict parse errors ----------------------------------------------------------------------

LR_BLOB = (VECTORS / "tiny.lr.mlmd").read_bytes()
MLP_BLOB = (VECTORS / "tiny.mlp.mlmd").read_bytes()


def with_header(blob: bytes, **fields) -> bytes:
    names = ("magic", "version", "window", "mtype", "reserved", "features", "h1", "h2", "nbytes", "crc")
    values = dict(zip(names, struct.unpack_from(HEADER_ORACLE, blob)))
    values.update(fields)
    return struct.pack(HEADER_ORACLE, *values.values()) + blob[24:]


@pytest.mark.parametrize(
    "blob, message",
    [
        (with_header(LR_BLOB, magic=b"MLMX"), "magic"),
        (with_header(LR_BLOB, version=2), "version 2"),
        (with_header(LR_BLOB, window=49), "window_samples 49"),
        (with_header(LR_BLOB, mtype=2), "model_type 2"),
        (with_header(LR_BLOB, features=17), "header shape"),
        (with_header(LR_BLOB, nbytes=216), "header shape"),
        (with_header(MLP_BLOB, h1=63), "header shape"),
        (with_header(MLP_BLOB, h2=16), "header shape"),
        (with_header(LR_BLOB, crc=(zlib.crc32(LR_BLOB[24:]) + 1) & 0xFFFFFFFF), "CRC"),
        (LR_BLOB[:100] + bytes([LR_BLOB[100] ^ 0x01]) + LR_BLOB[101:], "CRC"),
        (MLP_BLOB[:-1] + bytes([MLP_BLOB[-1] ^ 0x80]), "CRC"),
    ],
    ids=["magic", "version", "window", "model_type", "features", "payload_bytes", "h1", "h2", "crc_field", "lr_bitflip", "mlp_bitflip"],
)
def test_parse_rejects_damaged_file(blob, message):
    with pytest.raises(ModelFormatError, match=message):
        mlmd.parse(blob, source="damaged.mlmd")


@pytest.mark.parametrize("cut", [0, 1, 23, 24, 25, 243])
def test_parse_rejects_truncated_lr(cut):
    with pytest.raises(ModelFormatError, match="damaged.mlmd: .*(shorter than|truncated)"):
        mlmd.parse(LR_BLOB[:cut], source="damaged.mlmd")


@pytest.mark.parametrize("cut", [24, 1000, 16651])
def test_parse_rejects_truncated_mlp(cut):
    with pytest.raises(ModelFormatError, match="truncated"):
        mlmd.parse(MLP_BLOB[:cut])


def test_parse_ignores_trailing_bytes_and_reserved_byte():
    assert mlmd.build(mlmd.parse(LR_BLOB + b"garbage")) == LR_BLOB
    assert mlmd.build(mlmd.parse(with_header(LR_BLOB, reserved=7))) == LR_BLOB
