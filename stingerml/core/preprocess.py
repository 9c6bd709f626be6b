"""Named input preprocessing that is part of a model: applied before the scaler, wherever the model runs.

A :class:`~stingerml.core.dense.DenseNetwork` names its step in ``preprocess`` (``""``:
none). The library's forward passes (:meth:`DenseNetwork.forward
<stingerml.core.dense.DenseNetwork.forward>`, the tabular kernels, the int8 emulator)
apply it to raw rows first; ``model.json`` and ``meta.json`` record it; the ONNX
writer folds it into the graph (:mod:`stingerml.formats.onnx`), so raw input
gives the right answer everywhere.

``hands21`` (seed 001's ASL pipeline): a hand (one frame) is 21 landmarks × (x, y, z),
``x0, y0, z0, x1, ...``: 63 values. Subtract the wrist (point 0) from every point, then
divide by the distance from the wrist to the middle-finger knuckle (point 9,
MCP), or by 1 when that distance is 0: ``d = sqrt(dx² + dy² + dz²)``,
``f = (p - wrist) / d``. Point 0 becomes ``(0, 0, 0)``, point 9 lies on the unit
sphere. A row of ``T × 63`` values (``T`` frames flattened frame by frame, as
:mod:`stingerml.tabular.arrays` reads ``[N, T, 21, 3]``) is ``T`` hands, each
normalised on its own; an all-zero frame (a masked one) stays zero. Computed in
float64 here (the ONNX and float TFLite graphs compute it in float32).
"""
from __future__ import annotations

import math
from array import array
from typing import Callable, List, Sequence

from .errors import TabularDataError
from .matrix import Matrix

HANDS21 = "hands21"
PREPROCESSORS = (HANDS21,)
"""The named steps; ``""`` means none."""
N_POINTS = 21
WRIST, MIDDLE_MCP = 0, 9
FRAME = 3 * N_POINTS
"""The values of one hand (one frame): a ``hands21`` row is a whole number of frames."""


NONE = "none"
"""A run setting's word for no step (``--preprocess none``, a config's ``data.preprocess``, a schema's
``preprocess``): unlike leaving the setting out, it overrides a step the schema or the config names.
:func:`chosen` turns it into the ``""`` that estimators and models take for none."""


def check_name(name: str) -> None:
    """ValueError unless ``name`` is ``""``, :data:`NONE` or a known step (a setting's value: a config's, a schema's)."""
    _check_step(chosen(name))


def chosen(name: str) -> str:
    """The step a run setting names, as estimators and models take it: ``""`` for :data:`NONE`."""
    return "" if name == NONE else name


def _check_step(name: str) -> None:
    if name and name not in PREPROCESSORS:
        raise ValueError(f"unknown preprocessing {name!r}; the steps are {', '.join(PREPROCESSORS)}")


def check(name: str, n_features: int) -> None:
    """ValueError unless ``name`` is ``""`` or a known step that takes ``n_features`` values."""
    _check_step(name)
    if name and not _whole_frames(n_features):
        raise ValueError(f"preprocessing {name} takes 63 values (21 points × x, y, z) per frame, a multiple "
                         f"of 63, not {n_features}")


def _whole_frames(n_values: int) -> bool:
    """Whether ``n_values`` is a whole number (one or more) of 63-value hands."""
    return n_values >= FRAME and n_values % FRAME == 0


def _per_block(fn: Callable[[Sequence[float]], Sequence[float]], values: Sequence[float], width: int) -> List[float]:
    """``fn`` on each ``width``-value block of ``values``, in order, the results joined."""
    out: List[float] = []
    for start in range(0, len(values), width):
        out.extend(fn(values[start:start + width]))
    return out


def frames(n_features: int) -> int:
    """The hands (frames) in a ``hands21`` row of ``n_features`` values (:func:`check` it first)."""
    return n_features // FRAME


def normalize_hand(points: Sequence[float]) -> List[float]:
    """63 coordinates (21 points × x, y, z) → wrist-centred, scale-normalised 63 features (the ``hands21`` rule)."""
    if len(points) != 3 * N_POINTS:
        raise TabularDataError(f"a hand has 21 points × 3 = 63 coordinates, got {len(points)}")
    wx, wy, wz = points[0], points[1], points[2]
    dx, dy, dz = (points[3 * MIDDLE_MCP] - wx, points[3 * MIDDLE_MCP + 1] - wy, points[3 * MIDDLE_MCP + 2] - wz)
    d = math.sqrt(dx * dx + dy * dy + dz * dz) or 1.0
    out = []
    for k in range(N_POINTS):
        out.extend(((points[3 * k] - wx) / d, (points[3 * k + 1] - wy) / d, (points[3 * k + 2] - wz) / d))
    return out


def normalize_frames(row: Sequence[float]) -> List[float]:
    """:func:`normalize_hand` on each 63-value frame of a ``T × 63`` row (the ``hands21`` step)."""
    if not _whole_frames(len(row)):
        raise TabularDataError(f"hand landmarks are 63 values (21 points × x, y, z) per frame, got {len(row)}")
    return _per_block(normalize_hand, row, FRAME)


def normalize_hands(X: Matrix) -> Matrix:
    """:func:`normalize_frames` on every row of an ``n × (T · 63)`` matrix."""
    if not _whole_frames(X.n_cols):
        raise TabularDataError(f"hand landmarks need 63 columns (21 points × x, y, z) per frame, a multiple of 63; "
                               f"the data has {X.n_cols}")
    out = array("d")
    for row in X.rows():
        out.extend(normalize_frames(row))
    return Matrix(out, X.n_cols)


def apply_row(name: str, row: Sequence[float]) -> Sequence[float]:
    """One raw row after the step ``name`` (the row itself for ``""``)."""
    return normalize_frames(row) if name == HANDS21 else row


def apply_steps(name: str, values: Sequence[float], width: int) -> Sequence[float]:
    """The step ``name`` on each ``width``-value step of a flat ``[L][width]`` sequence (a sequence
    model's steps; ``values`` itself for ``""``)."""
    return _per_block(lambda step: apply_row(name, step), values, width) if name else values


def apply_rows(name: str, X: Matrix) -> Matrix:
    """Every row of ``X`` after the step ``name`` (``X`` itself for ``""``)."""
    return normalize_hands(X) if name == HANDS21 else X
