"""MLMD model files: build and parse (SPEC §9).

Layout: a 24-byte header ``<4sHHBBHHHII`` (magic ``MLMD``, version 1,
window_samples 50, model_type 0 = LR / 1 = MLP, reserved 0, features, h1, h2,
payload_bytes, payload CRC-32), then a float32 little-endian payload:

- LR  (file 244 bytes):   ``mean[18] scale[18] coef[18] intercept``
- MLP (file 16652 bytes): ``mean[30] scale[30] W1[64*30] b1[64] W2[32*64] b2[32] W3[32] b3``

Matrices are row-major ``[out][in]``, the firmware's order.
"""
from __future__ import annotations

import math
import struct
import zlib
from array import array
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple, Union

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
TENSORS: Dict[int, Tuple[Tuple[str, Tuple[int, ...]], ...]] = {
    MODEL_LR: (("mean", (LR_FEATURES,)), ("scale", (LR_FEATURES,)), ("coef", (LR_FEATURES,)), ("intercept", ())),
    MODEL_MLP: (("mean", (MLP_FEATURES,)), ("scale", (MLP_FEATURES,)), ("W1", (MLP_H1, MLP_FEATURES)),
                ("b1", (MLP_H1,)), ("W2", (MLP_H2, MLP_H1)), ("b2", (MLP_H2,)), ("W3", (MLP_H2,)), ("b3", ())),
}
"""The one tensor layout of each model type: the model's attribute names in payload order with their
shapes (``()`` = a scalar; matrices row-major ``[out][in]``). Building, parsing, the C header
(:mod:`.header`) and ``modeldiff`` all read it."""


def tensor_size(shape: Tuple[int, ...]) -> int:
    """Values in a tensor of ``shape`` (1 for a scalar)."""
    return math.prod(shape)


LR_PAYLOAD_FLOATS = sum(tensor_size(shape) for _, shape in TENSORS[MODEL_LR])
MLP_PAYLOAD_FLOATS = sum(tensor_size(shape) for _, shape in TENSORS[MODEL_MLP])
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


def _payload(model: Model) -> List[Sequence[float]]:
    """The model's tensors in payload order (scalars as one-value lists), each checked against TENSORS."""
    parts = []
    for name, shape in TENSORS[model.model_type]:
        value = getattr(model, name)
        if shape:
            _expect_len(name, value, tensor_size(shape))
            parts.append(value)
        else:
            parts.append([value])
    return parts


def build_lr(model: LRModel) -> bytes:
    """The 244-byte MLMD file of an LR model."""
    return _pack(MODEL_LR, LR_FEATURES, 0, 0, _payload(model))


def build_mlp(model: MLPModel) -> bytes:
    """The 16652-byte MLMD file of an MLP model."""
    return _pack(MODEL_MLP, MLP_FEATURES, MLP_H1, MLP_H2, _payload(model))


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
    parts, pos = [], 0
    for _, shape in TENSORS[mtype]:
        size = tensor_size(shape)
        parts.append(v[pos : pos + size] if shape else v[pos])
        pos += size
    return (LRModel if mtype == MODEL_LR else MLPModel)(*parts)
