"""Hand landmarks (MediaPipe Hands: 21 points × x, y, z) → position- and size-free features.

The rule (the ASL pipeline's, seed 001): subtract the wrist (point 0) from
every point, then divide by the distance from the wrist to the middle-finger
knuckle (point 9, MCP), or by 1 when that distance is 0. The result is 63
numbers ``x0, y0, z0, x1, ...`` in point order; point 0 becomes ``(0, 0, 0)``
and point 9 lies on the unit sphere. Computed in float64:
``d = sqrt(dx² + dy² + dz²)`` (of point 9 minus point 0), ``f = (p - wrist) / d``.
"""
from __future__ import annotations

import math
from array import array
from typing import List, Sequence, Tuple

from ..core.errors import TabularDataError
from ..core.matrix import Matrix

N_POINTS = 21
WRIST, MIDDLE_MCP = 0, 9


def feature_names(prefix: str = "lm") -> Tuple[str, ...]:
    """``lm0_x, lm0_y, lm0_z, ..., lm20_z``: the 63 column names (point order)."""
    return tuple(f"{prefix}{k}_{axis}" for k in range(N_POINTS) for axis in "xyz")


def normalize_hand(points: Sequence[float]) -> List[float]:
    """63 coordinates (21 points × x, y, z) → wrist-centred, scale-normalised 63 features."""
    if len(points) != 3 * N_POINTS:
        raise TabularDataError(f"a hand has 21 points × 3 = 63 coordinates, got {len(points)}")
    wx, wy, wz = points[0], points[1], points[2]
    dx, dy, dz = (points[3 * MIDDLE_MCP] - wx, points[3 * MIDDLE_MCP + 1] - wy, points[3 * MIDDLE_MCP + 2] - wz)
    d = math.sqrt(dx * dx + dy * dy + dz * dz) or 1.0
    out = []
    for k in range(N_POINTS):
        out.extend(((points[3 * k] - wx) / d, (points[3 * k + 1] - wy) / d, (points[3 * k + 2] - wz) / d))
    return out


def normalize_hands(X: Matrix) -> Matrix:
    """:func:`normalize_hand` on every row of an ``n × 63`` matrix."""
    if X.n_cols != 3 * N_POINTS:
        raise TabularDataError(f"hand landmarks need 63 columns (21 points × x, y, z), the data has {X.n_cols}")
    out = array("d")
    for row in X.rows():
        out.extend(normalize_hand(row))
    return Matrix(out, X.n_cols)
