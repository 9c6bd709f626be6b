"""Hand landmarks (MediaPipe Hands: 21 points × x, y, z) → position- and size-free features.

The rule is the ``hands21`` preprocessing step of :mod:`stingerml.core.preprocess`
(the ASL pipeline's, seed 001): train with ``--preprocess hands21`` (or
``MLPClassifier(preprocess="hands21")``) and the model applies it itself, in the
library, ``tabular predict``, the predictor and the ONNX graph.
"""
from __future__ import annotations

from typing import Tuple

from ..core.preprocess import MIDDLE_MCP, N_POINTS, WRIST, normalize_hand, normalize_hands

__all__ = ["MIDDLE_MCP", "N_POINTS", "WRIST", "feature_names", "normalize_hand", "normalize_hands"]


def feature_names(prefix: str = "lm") -> Tuple[str, ...]:
    """``lm0_x, lm0_y, lm0_z, ..., lm20_z``: the 63 column names (point order)."""
    return tuple(f"{prefix}{k}_{axis}" for k in range(N_POINTS) for axis in "xyz")
