"""MLMD model files: build and parse (SPEC §9).

Layout: a 24-byte header ``<4sHHBBHHHII`` (magic ``MLMD``, version 1,
window_samples 50, model_type 0 = LR / 1 = MLP, reserved 0, features, h1, h2,
payload_bytes, payload CRC-32), then a float32 little-endian payload:

- LR  (file 244 bytes):   ``mean[18] scale[18] coef[18] intercept``
- MLP (file 16652 bytes): ``mean[30] scale[30] W1[64*30] b1[64] W2[32*64] b2[32] W3[32] b3``

Matrices are row-major ``[out][in]``, the firmware's order.
"""
from __future__ import annotations

import struct
import zlib
from array import array
from dataclasses import dataclass
from typing import Sequence, Union

from ..core.binary import le_array, le_bytes
from ..core.constants import MLP_H1, MLP_H2, WINDOW_SAMPLES  # noqa: F401  (re-exported: mlmd's names)
from ..core.constants import RICH_FEATURES as MLP_FEATURES
from ..core.constants import SUMMARY_FEATURES as LR_FEATURES
from ..core.errors import ModelFormatError

MAGIC = b"MLMD"
VERSION = 1
HEADER = struct.Struct("<4sHHBBHHHII")
HEADER_SIZE = HEADER.size  # 24
MODEL_LR, MODEL_MLP = 0, 1
LR_PAYLOAD_FLOATS = 3 * LR_FEATURES + 1
MLP_PAYLOAD_FLOATS = 2 * MLP_FEATURES + MLP_H1 * MLP_FEATURES + MLP_H1 + MLP_H2 * MLP_H1 + MLP_H2 + MLP_H2 + 1
LR_PAYLOAD_BYTES = 4 * LR_PAYLOAD_FLOATS  # 220
MLP_PAYLOAD_BYTES = 4 * MLP_PAYLOAD_FLOATS  # 16628


@dataclass
class LRModel:
    """Scaler + logistic regression on the 18 summary features (all float32 values).

    ``mean``/``scale``/``coef`` are ``array('f')`` of 18; ``intercept`` a Python
    float (the training keeps it in double; the file stores it as float32).
    """

    mean: array
    scale: array
    coef: array
    intercept: float

    model_type = MODEL_LR
    features = LR_FEATURES


@dataclass
class MLPModel:
    """Scaler + 30→64→32→1 MLP on the 30 rich features.

    ``W1`` is 64×30, ``W2`` 32×64, ``W3`` 32, row-major ``[out][in]`` flat
    ``array('f')``; ``b3`` a Python float (double in training, float32 in the file).
    """

    mean: array
    scale: array
    W1: array
    b1: array
    W2: array
    b2: array
    W3: array
    b3: float

    model_type = MODEL_MLP
    features = MLP_FEATURES


Model = Union[LRModel, MLPModel]


def crc32(data: bytes) -> int:
    """CRC-32 (IEEE, zlib's) of ``data`` as an unsigned int."""
    return zlib.crc32(data) & 0xFFFFFFFF


def _pack(model_type: int, features: int, h1: int, h2: int, parts: Sequence[Sequence[float]]) -> bytes:
    payload = b"".join(le_bytes(array("f", p)) for p in parts)
    header = HEADER.pack(MAGIC, VERSION, WINDOW_SAMPLES, model_type, 0, features, h1, h2, len(payload), crc32(payload))
    return header + payload


def _expect_len(name: str, values: Sequence[float], n: int) -> None:
    if len(values) != n:
        raise ModelFormatError(f"{name} has {len(values)} values, expected {n}")


def build_lr(model: LRModel) -> bytes:
    """The 244-byte MLMD file of an LR model."""
    for name, n in (("mean", LR_FEATURES), ("scale", LR_FEATURES), ("coef", LR_FEATURES)):
        _expect_len(name, getattr(model, name), n)
    return _pack(MODEL_LR, LR_FEATURES, 0, 0, [model.mean, model.scale, model.coef, [model.intercept]])


def build_mlp(model: MLPModel) -> bytes:
    """The 16652-byte MLMD file of an MLP model."""
    shapes = (
        ("mean", MLP_FEATURES), ("scale", MLP_FEATURES), ("W1", MLP_H1 * MLP_FEATURES), ("b1", MLP_H1),
        ("W2", MLP_H2 * MLP_H1), ("b2", MLP_H2), ("W3", MLP_H2),
    )
    for name, n in shapes:
        _expect_len(name, getattr(model, name), n)
    parts = [getattr(model, name) for name, _ in shapes] + [[model.b3]]
    return _pack(MODEL_MLP, MLP_FEATURES, MLP_H1, MLP_H2, parts)


def build(model: Model) -> bytes:
    """The MLMD file of either model kind."""
    return build_lr(model) if isinstance(model, LRModel) else build_mlp(model)


def parse(blob: bytes, *, source: str = "<model>") -> Model:
    """Parse an MLMD file strictly (header fields, sizes, CRC); trailing bytes are ignored.

    Use :func:`stingerml.blaster.loader.validate` for the firmware's own verdict;
    this parser refuses anything it cannot turn into a model.

    Raises:
        ModelFormatError: naming the field, its value and what was expected.
    """
    if len(blob) < HEADER_SIZE:
        raise ModelFormatError(f"{source}: {len(blob)} bytes is shorter than the {HEADER_SIZE}-byte MLMD header")
    magic, version, window, mtype, _reserved, features, h1, h2, nbytes, crc = HEADER.unpack_from(blob)
    if magic != MAGIC:
        raise ModelFormatError(f"{source}: magic is {magic!r}, expected {MAGIC!r}; not an MLMD model file")
    if version != VERSION:
        raise ModelFormatError(f"{source}: version {version}, expected {VERSION}")
    if window != WINDOW_SAMPLES:
        raise ModelFormatError(f"{source}: window_samples {window}, expected {WINDOW_SAMPLES}")
    if mtype == MODEL_LR:
        want = (LR_FEATURES, LR_PAYLOAD_BYTES)
        got = (features, nbytes)
    elif mtype == MODEL_MLP:
        want = (MLP_FEATURES, MLP_H1, MLP_H2, MLP_PAYLOAD_BYTES)
        got = (features, h1, h2, nbytes)
    else:
        raise ModelFormatError(f"{source}: model_type {mtype}, expected 0 (LR) or 1 (MLP)")
    if got != want:
        raise ModelFormatError(f"{source}: header shape {got} does not match the expected {want}")
    payload = blob[HEADER_SIZE : HEADER_SIZE + nbytes]
    if len(payload) != nbytes:
        raise ModelFormatError(f"{source}: payload is {len(payload)} bytes, header says {nbytes}; file truncated")
    if crc32(payload) != crc:
        raise ModelFormatError(f"{source}: payload CRC-32 {crc32(payload):08x} != header {crc:08x}; file corrupt")
    v = le_array("f", payload)
    if mtype == MODEL_LR:
        n = LR_FEATURES
        return LRModel(v[0:n], v[n : 2 * n], v[2 * n : 3 * n], v[3 * n])
    n, a, b = MLP_FEATURES, MLP_H1, MLP_H2
    cuts = [n, n, a * n, a, b * a, b, b]
    parts, pos = [], 0
    for size in cuts:
        parts.append(v[pos : pos + size])
        pos += size
    return MLPModel(*parts, v[pos])
