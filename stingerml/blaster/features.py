"""Window features, browser math: double accumulators, float32 storage (SPEC §5).

- summary (18): ``mean(6), std(6), absmax(6)`` per channel ``ax ay az gx gy gz``;
- rich (30): summary, ``absmean(6)``, then accel and gyro magnitude
  ``mean, std, max`` (``[a_mean, a_std, a_max, g_mean, g_std, g_max]``).

Inputs are flat ``rows × 50 × 6`` integer windows; outputs flat ``array('f')``
of ``rows × 18`` or ``rows × 30``. Units are raw IMU counts.
"""
from __future__ import annotations

from array import array
from typing import Sequence

from .._kernels import kernels
from ..core.constants import RICH_FEATURES, SUMMARY_FEATURES  # noqa: F401  (the widths, defined once there)

SUMMARY_NAMES = [f"{stat}_{ch}" for stat in ("mean", "std", "absmax") for ch in ("ax", "ay", "az", "gx", "gy", "gz")]
RICH_NAMES = SUMMARY_NAMES + [f"absmean_{ch}" for ch in ("ax", "ay", "az", "gx", "gy", "gz")] + [
    "acc_mag_mean", "acc_mag_std", "acc_mag_max", "gyro_mag_mean", "gyro_mag_std", "gyro_mag_max",
]


def featurize_summary(windows: Sequence[int], n_rows: int) -> array:
    """The 18 summary features of each window (``array('f')``, ``n_rows × 18``)."""
    return kernels().window_features(windows, n_rows, False)


def featurize_rich(windows: Sequence[int], n_rows: int) -> array:
    """The 30 rich features of each window (``array('f')``, ``n_rows × 30``)."""
    return kernels().window_features(windows, n_rows, True)
