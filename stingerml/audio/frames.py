"""From per-frame features to training rows: deltas, normalisation, windows of frames.

- :func:`deltas`: ``librosa.feature.delta(data, width=9, order=1|2)`` along
  the frames (a Savitzky-Golay derivative with ``mode="interp"``): inside,
  order 1 is ``Σ_{j=-4..4} j·x[t+j] / 60`` and order 2 is
  ``Σ_{j=-4..4} (3j² - 20)·x[t+j] / 462`` (the second derivative of the
  least-squares parabola); the first and last 4 frames take the value of the
  first and last full window (the derivative of a line or parabola fitted to
  the first or last 9 frames is constant). Needs at least 9 frames, as librosa.
- :func:`normalise`: ``"none"``, ``"zscore"`` (per column over the file:
  ``(x - mean) / std``, population std, a constant column becomes 0) or
  ``"minmax"`` (per column to [0, 1], a constant column becomes 0). Sums add in row order.
- :func:`windows`: row ``r`` is frames ``r .. r + frames - 1`` one after the
  other (frame-major: all features of frame ``r``, then of frame ``r + 1``...),
  ``n_frames - frames + 1`` rows; column ``{name}_{i}`` is feature ``name`` of
  the row's ``i``-th frame.
"""
from __future__ import annotations

import math
from array import array
from typing import List, Sequence, Tuple

from ..core.errors import AudioError
from ..core.matrix import Matrix

DELTA_WIDTH = 9  # librosa.feature.delta's default width
_HALF = DELTA_WIDTH // 2
_WEIGHTS = {1: ([j for j in range(-_HALF, _HALF + 1)], 60.0),
            2: ([3 * j * j - 20 for j in range(-_HALF, _HALF + 1)], 462.0)}
NORMALISE = ("none", "zscore", "minmax")


def _column(m: Matrix, j: int) -> List[float]:
    return list(m.data[j::m.n_cols])


def _delta(x: Sequence[float], order: int) -> List[float]:
    weights, denominator = _WEIGHTS[order]
    n = len(x)
    inside = []
    for t in range(_HALF, n - _HALF):
        s = 0.0
        for w, v in zip(weights, x[t - _HALF:t + _HALF + 1]):
            s += w * v
        inside.append(s / denominator)
    return [inside[0]] * _HALF + inside + [inside[-1]] * _HALF


def deltas(values: Matrix, names: Sequence[str], order: int, where: str = "") -> Tuple[Matrix, Tuple[str, ...]]:
    """``values`` (``n_frames × f``) followed by its deltas (``order >= 1``, names ``{name}_delta``) and
    delta-deltas (``order == 2``, ``{name}_delta2``): ``n_frames × f·(1 + order)``."""
    if order == 0:
        return values, tuple(names)
    if order not in (1, 2):
        raise AudioError(f"the delta order must be 0, 1 or 2 (got {order})")
    if values.n_rows < DELTA_WIDTH:
        raise AudioError(f"{where or 'the audio'}: deltas need at least {DELTA_WIDTH} frames (librosa's width) "
                         f"but there are {values.n_rows}; use a longer file or a smaller hop, or no deltas")
    columns = [_column(values, j) for j in range(values.n_cols)]
    out_names = list(names)
    for o in range(1, order + 1):
        columns += [_delta(c, o) for c in columns[:values.n_cols]]
        out_names += [f"{name}_delta{'' if o == 1 else o}" for name in names]
    return Matrix.from_columns(columns), tuple(out_names)


def normalise(values: Matrix, method: str) -> Matrix:
    """Each column normalised over the rows by ``method`` (:data:`NORMALISE`; module docstring)."""
    if method == "none":
        return values
    if method not in NORMALISE:
        raise AudioError(f"unknown normalisation {method!r}; one of {', '.join(NORMALISE)}")
    columns = []
    for j in range(values.n_cols):
        c = _column(values, j)
        if method == "zscore":
            total = 0.0
            for v in c:
                total += v
            mean = total / len(c)
            squares = 0.0
            for v in c:
                squares += (v - mean) * (v - mean)
            std = math.sqrt(squares / len(c))
            columns.append([(v - mean) / std if std > 0.0 else 0.0 for v in c])
        else:
            lo, hi = min(c), max(c)
            columns.append([(v - lo) / (hi - lo) if hi > lo else 0.0 for v in c])
    return Matrix.from_columns(columns)


def window_names(names: Sequence[str], frames: int) -> Tuple[str, ...]:
    """The column names of :func:`windows`: ``{name}_{i}`` for frame ``i`` of the window, frame-major."""
    return tuple(f"{name}_{i}" for i in range(frames) for name in names)


def windows(values: Matrix, frames: int, where: str = "") -> Matrix:
    """Rows of ``frames`` consecutive frames (``(n_frames - frames + 1) × frames·f``; module docstring)."""
    if frames < 1:
        raise AudioError(f"the window must hold at least 1 frame (got {frames})")
    n, f = values.n_rows, values.n_cols
    if n < frames:
        raise AudioError(f"{where or 'the audio'}: {n} frame(s), fewer than the {frames} of one window; "
                         f"use a longer file, a smaller hop or fewer frames")
    width = frames * f
    data = values.data
    out = array("d")
    for r in range(n - frames + 1):
        out.extend(data[r * f:r * f + width])
    return Matrix(out, width)
