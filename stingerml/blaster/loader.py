"""The firmware's model loader: its verdict on an MLMD file, and the factory fallback (SPEC §9).

The device loads a model file into one slot (``lr`` or ``mlp``). It accepts
the file when the whole 24-byte header is readable, the magic is ``MLMD``,
version 1, window 50, model type 0/1 *and equal to the slot*, payload_bytes
220 / 16628, LR features 18 (h1, h2 ignored) or MLP 30/64/32, the whole
payload is readable, its CRC-32 matches and every float is finite. The
reserved byte and bytes after the payload are ignored. A rejected file leaves
that slot on the factory weights, which ship with this package
(``stingerml/data/factory_{lr,mlp}.mlmd``).

:func:`validate` adds warnings for files the firmware accepts but that will
not behave as their author expects (trailing bytes, a scale the firmware
clamps to ``1e-10``, non-zero reserved or unused header fields).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import List, Optional, Tuple

from ..core.constants import SLOT_LR, SLOT_MLP, check_slot
from ..core.errors import ModelFormatError, SlotError  # noqa: F401  (SlotError: public here too)
from ..formats import mlmd

SLOTS = {SLOT_LR: mlmd.MODEL_LR, SLOT_MLP: mlmd.MODEL_MLP}
_KIND = {mlmd.MODEL_LR: "LR", mlmd.MODEL_MLP: "MLP"}
_DATA = Path(__file__).resolve().parents[1] / "data"


@dataclass
class Verdict:
    """The firmware's decision on a model file.

    Attributes:
        accepted: whether the device would load it.
        reason: why it was rejected (``None`` when accepted).
        warnings: what is suspect in an accepted file.
    """

    accepted: bool
    reason: Optional[str] = None
    warnings: List[str] = field(default_factory=list)


def _slot_type(slot: str) -> int:
    return SLOTS[check_slot(slot)]


def _parameters(model: mlmd.Model) -> List[Tuple[str, List[float]]]:
    """``(name, values)`` of every float a model file stores, in payload order."""
    if isinstance(model, mlmd.LRModel):
        names = ("mean", "scale", "coef")
        last = ("intercept", model.intercept)
    else:
        names = ("mean", "scale", "W1", "b1", "W2", "b2", "W3")
        last = ("b3", model.b3)
    return [(name, list(getattr(model, name))) for name in names] + [(last[0], [last[1]])]


def _warnings(blob: bytes, model: mlmd.Model, source: str) -> List[str]:
    out = []
    _magic, _version, _window, mtype, reserved, _features, h1, h2, nbytes, _crc = mlmd.HEADER.unpack_from(blob)
    extra = len(blob) - mlmd.HEADER_SIZE - nbytes
    if extra:
        out.append(f"{source}: {extra} trailing byte(s) after the payload (ignored by the firmware)")
    if reserved:
        out.append(f"{source}: reserved header byte is {reserved}, expected 0 (ignored by the firmware)")
    if mtype == mlmd.MODEL_LR and (h1 or h2):
        out.append(f"{source}: LR file has h1={h1}, h2={h2}, expected 0, 0 (ignored by the firmware)")
    for j, s in enumerate(model.scale):
        if s <= 0.0:
            out.append(f"{source}: scale[{j}] = {s!r} is not positive; the firmware uses 1e-10 instead, "
                       f"so feature {j} is multiplied by 1e10")
        elif s < 1e-10:
            out.append(f"{source}: scale[{j}] = {s!r} is below 1e-10; the firmware clamps it to 1e-10")
    return out


def _check(blob: bytes, slot: str, source: str) -> Tuple[Optional[mlmd.Model], Verdict]:
    want = _slot_type(slot)
    try:
        model = mlmd.parse(bytes(blob), source=source)
    except ModelFormatError as exc:
        return None, Verdict(False, str(exc))
    if model.model_type != want:
        return None, Verdict(False, f"{source}: holds an {_KIND[model.model_type]} model, "
                                    f"but is loaded into the {slot} slot (expects {_KIND[want]})")
    for name, values in _parameters(model):
        for j, v in enumerate(values):
            if not math.isfinite(v):
                where = name if len(values) == 1 else f"{name}[{j}]"
                return None, Verdict(False, f"{source}: {where} is {v!r}; every weight must be finite")
    return model, Verdict(True, None, _warnings(blob, model, source))


def validate(blob: bytes, slot: str, *, source: str = "<model>") -> Verdict:
    """The firmware's verdict on loading ``blob`` into ``slot`` (``"lr"`` or ``"mlp"``).

    Raises:
        SlotError: ``slot`` is neither ``"lr"`` nor ``"mlp"``.
    """
    return _check(blob, slot, source)[1]


def slot_of(blob: bytes) -> Optional[str]:
    """The slot an MLMD file says it is for (its header's model type), or None when the bytes do
    not start with an MLMD header of a known type (then :func:`validate` says what is wrong)."""
    if len(blob) < mlmd.HEADER_SIZE or bytes(blob[:4]) != mlmd.MAGIC:
        return None
    mtype = mlmd.HEADER.unpack_from(blob)[3]
    return next((slot for slot, t in SLOTS.items() if t == mtype), None)


def load(blob: bytes, slot: str, *, source: str = "<model>") -> Tuple[mlmd.Model, Verdict]:
    """The model the device runs after loading ``blob`` into ``slot``: the file's model when
    accepted, else the factory weights of that slot. Returns ``(model, verdict)``."""
    model, verdict = _check(blob, slot, source)
    return (model if model is not None else factory_model(slot)), verdict


def factory_blob(slot: str) -> bytes:
    """The firmware's built-in weights of ``slot`` as an MLMD file (package data)."""
    _slot_type(slot)
    return (_DATA / f"factory_{slot}.mlmd").read_bytes()


@lru_cache(maxsize=None)
def _factory(slot: str) -> mlmd.Model:
    return mlmd.parse(factory_blob(slot), source=f"factory_{slot}.mlmd")


def factory_model(slot: str) -> mlmd.Model:
    """The factory model of ``slot`` (parsed once; treat it as read-only)."""
    return _factory(slot)
