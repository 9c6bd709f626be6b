"""The firmware's hot loops in pure Python: the float32 reference (SPEC §10).

Every public function here has a numba twin of the same name and signature in
``firmware_jit.py``; ``stingerml._kernels.kernels("firmware")`` picks one.
Conventions:

- ``samples``: flat int sequence ``[sample][channel]``, channels
  ``ax ay az gx gy gz`` (an ``array('h')`` of a log's interleaved columns or of
  ``windows_i16le.bin``). Window ``r`` of a batch covers samples
  ``[r*step, r*step + 50)``: ``step=1`` gives every window of a stream (a
  replay), ``step=50`` independent rows.
- Feature matrices are flat and row-major, ``X[r * nf + j]``, float32 values;
  the 30 rich features are ``mean(6) std(6) absmax(6) absmean(6) amag_mean
  amag_std amag_max gmag_mean gmag_std gmag_max``, the first 18 the summary.
- C ``float`` arithmetic: every operation is computed in double and rounded
  once to float32. For ``+ - * /`` and ``sqrt`` of float32 operands that is
  bit-exact (a double holds more than 2·24+2 bits). Rounding is done in bulk
  by building ``array('f')`` objects (each element rounded to the nearest
  float32). ``expf`` is not correctly rounded in C libraries, so :func:`expf`
  reproduces the algorithm of glibc, musl and newlib.
- The loops are vectorized *across windows*: the serial float accumulations of
  the firmware (``sum += v*v`` over the 50 samples, ``sum += W[j][i]*x[i]``
  over the inputs) keep their order; what runs in bulk is the same step
  applied to every window at once.
- A hidden-layer term whose input is zero in every window of the batch (a dead
  ReLU unit) is skipped: adding ``±0`` changes a float sum at most in the sign
  of a zero, which ReLU and the sigmoid cannot see. So only the sign of an
  exactly-zero logit can differ from the firmware (and from the numba twin,
  which, like the firmware, adds every term).
"""
from __future__ import annotations

import math
from array import array
from itertools import accumulate
from operator import add, sub
from typing import List, Optional, Sequence, Tuple

from ..core.constants import CHANNELS, SCALE_FLOOR, WINDOW_SAMPLES
from ..core.constants import MLP_H1 as H1
from ..core.constants import MLP_H2 as H2
from ..core.float32 import expf, f32  # noqa: F401  (expf: part of the family, see __all__)
from ..core.matrix import Matrix

__all__ = [  # the seam: the numba twin (firmware_jit.py) defines every one of these names
    "check_windows", "expf", "f32", "lr_logits", "mlp_logits", "sigmoid_f32", "sigmoids", "window_features",
]


def check_windows(samples: Sequence[int], n_windows: int, step: int) -> None:
    """Raise ``ValueError`` unless ``samples`` holds ``n_windows`` windows 50 samples long, ``step`` apart."""
    if step < 1:
        raise ValueError(f"the step between windows must be at least 1 sample, got {step}")
    if n_windows <= 0:
        return
    n_samples = step * (n_windows - 1) + WINDOW_SAMPLES
    if len(samples) < CHANNELS * n_samples:
        raise ValueError(f"{n_windows} windows with step {step} need {n_samples} samples, got {len(samples) // CHANNELS}")


# --------------------------------------------------------------------------- features


def _window_accumulate(values: Sequence[float], n_windows: int, step: int) -> array:
    """Float32 running sum ``acc += v`` over each window's 50 values, in sample order.

    ``values`` holds one float32 value per sample; window ``r`` sums
    ``values[r*step : r*step + 50]``. Returns ``array('f')`` of ``n_windows``.
    """
    stop = step * (n_windows - 1) + 1
    acc = array("f", values[0:stop:step])  # 0 + v is exact
    for k in range(1, WINDOW_SAMPLES):
        acc = array("f", map(add, acc, values[k : k + stop : step]))
    return acc


def _window_max(values: Sequence[float], n_windows: int, step: int) -> List[float]:
    """Max over each window (of values >= 0, so equal to the firmware's max starting at ``mx = 0``)."""
    return [max(values[s : s + WINDOW_SAMPLES]) for s in range(0, step * n_windows, step)]


def _window_int_sum(values: Sequence[int], n_windows: int, step: int) -> List[int]:
    """Exact integer window sums. The firmware sums these integers in float: every
    partial sum is an integer below 50·32768 < 2**24, so that float sum is exact too."""
    prefix = [0]
    prefix.extend(accumulate(values))
    return [prefix[s + WINDOW_SAMPLES] - prefix[s] for s in range(0, step * n_windows, step)]


def _mean_std(total: Sequence[float], total_sq: Sequence[float]) -> Tuple[array, array]:
    """``mean = sum/50``; ``var = sumSq/50 - mean*mean`` clamped at 0; ``sqrtf(var)``; all float32."""
    mean = array("f", [s / WINDOW_SAMPLES for s in total])
    var = array("f", map(sub, array("f", [q / WINDOW_SAMPLES for q in total_sq]), array("f", [m * m for m in mean])))
    std = array("f", [math.sqrt(v) if v > 0.0 else 0.0 for v in var])
    return mean, std


def _magnitudes(x: List[float], y: List[float], z: List[float]) -> Tuple[array, array]:
    """Per sample ``m2 = x*x + y*y + z*z`` (given the rounded squares) and ``sqrtf(m2)``."""
    m2 = array("f", map(add, array("f", map(add, x, y)), z))
    return m2, array("f", map(math.sqrt, m2))


def window_features(samples: Sequence[int], n_windows: int, step: int) -> Tuple[array, array]:
    """The 30 rich features and the motion gate's gyro RMS of ``n_windows`` windows.

    Returns ``(X, rms)``: ``X`` is ``array('f')`` of ``n_windows × 30``
    (row-major); ``rms[r] = sqrtf(s/50)`` with ``s`` the float sum of
    ``gx*gx + gy*gy + gz*gz`` over window ``r``. Raises ``ValueError`` when
    ``samples`` is too short (see :func:`check_windows`).
    """
    check_windows(samples, n_windows, step)
    if n_windows <= 0:
        return array("f"), array("f")
    n_samples = step * (n_windows - 1) + WINDOW_SAMPLES
    chans = [array("h", samples[c : CHANNELS * n_samples : CHANNELS]).tolist() for c in range(CHANNELS)]
    squares = [array("f", [v * v for v in ch]).tolist() for ch in chans]
    means, stds, maxes, absmeans = [], [], [], []
    for ch, sq in zip(chans, squares):
        mean, std = _mean_std(_window_int_sum(ch, n_windows, step), _window_accumulate(sq, n_windows, step))
        absolute = [abs(v) for v in ch]
        means.append(mean)
        stds.append(std)
        maxes.append(array("f", _window_max(absolute, n_windows, step)))
        absmeans.append(array("f", [a / WINDOW_SAMPLES for a in _window_int_sum(absolute, n_windows, step)]))
    columns = means + stds + maxes + absmeans
    gyro_sum_sq = array("f")
    for first in (0, 3):
        m2, m = _magnitudes(*squares[first : first + 3])
        sum_sq = _window_accumulate(m2, n_windows, step)
        mean, std = _mean_std(_window_accumulate(m, n_windows, step), sum_sq)
        columns += [mean, std, array("f", _window_max(m, n_windows, step))]
        gyro_sum_sq = sum_sq
    rms = array("f", map(math.sqrt, array("f", [s / WINDOW_SAMPLES for s in gyro_sum_sq])))
    return Matrix.from_columns(columns, "f").data, rms


# --------------------------------------------------------------------------- models


def _scaled(X: Sequence[float], n_rows: int, nf: int, mean: Sequence[float], scale: Sequence[float]) -> List[array]:
    """Columns ``(x - mean[j]) / max(scale[j], 1e-10f)`` of the first ``len(mean)`` features of
    the row-major ``X`` (a scale below the floor, zero or negative included, becomes ``1e-10f``)."""
    out = []
    for j, (m, s) in enumerate(zip(mean, scale)):
        s = SCALE_FLOOR if s < SCALE_FLOOR else s
        out.append(array("f", [d / s for d in array("f", [v - m for v in X[j : n_rows * nf : nf]])]))
    return out


def _dot(bias: float, weights: Sequence[float], inputs: Sequence[Optional[array]], n: int) -> array:
    """``sum = bias; sum += w[i]*in[i]`` in float32 for every window (``inputs[i]`` is a column,
    ``None`` for an all-zero one, whose terms are skipped)."""
    acc = array("f", [bias]) * n
    for w, col in zip(weights, inputs):
        if col is not None:
            acc = array("f", map(add, acc, array("f", [w * v for v in col])))
    return acc


def _relu(acc: array) -> Optional[array]:
    """ReLU of a column; ``None`` stands for an all-zero column (skipped by :func:`_dot`)."""
    out = array("f", [v if v > 0.0 else 0.0 for v in acc])
    return out if any(out) else None


def lr_logits(X: Sequence[float], n_rows: int, nf: int, mean: Sequence[float], scale: Sequence[float],
              coef: Sequence[float], intercept: float) -> array:
    """Firmware LR logit per row: scaled features, ``z = intercept; z += x[i]*coef[i]`` (float32).

    ``X`` is row-major ``n_rows × nf`` float32 features, of which the first
    ``len(coef)`` (18) are used. Returns ``array('f')`` of ``n_rows`` (before the sigmoid).
    """
    return _dot(f32(intercept), coef, _scaled(X, n_rows, nf, mean, scale), n_rows)


def mlp_logits(X: Sequence[float], n_rows: int, nf: int, mean: Sequence[float], scale: Sequence[float],
               W1: Sequence[float], b1: Sequence[float], W2: Sequence[float], b2: Sequence[float],
               W3: Sequence[float], b3: float) -> array:
    """Firmware MLP logit per row (scaled 30 → 64 → 32 → 1, ReLU, float32; before the sigmoid).

    ``X`` is row-major ``n_rows × nf`` float32 features, of which the first
    ``len(mean)`` (30) are used; ``W1``/``W2`` are flat row-major ``[out][in]``.
    Returns ``array('f')`` of ``n_rows``.
    """
    n_in = len(mean)
    x = _scaled(X, n_rows, nf, mean, scale)
    h1 = [_relu(_dot(b1[j], W1[j * n_in : (j + 1) * n_in], x, n_rows)) for j in range(H1)]
    h2 = [_relu(_dot(b2[j], W2[j * H1 : (j + 1) * H1], h1, n_rows)) for j in range(H2)]
    return _dot(f32(b3), W3, h2, n_rows)


# --------------------------------------------------------------------------- expf and the sigmoid

def sigmoid_f32(z: float) -> float:
    """Firmware sigmoid: 1 if ``z > 20``, 0 if ``z < -20``, else ``1/(1+expf(-z))`` in float32."""
    if z > 20.0:
        return 1.0
    if z < -20.0:
        return 0.0
    return f32(1.0 / f32(1.0 + expf(-z)))


def sigmoids(z: Sequence[float]) -> array:
    """:func:`sigmoid_f32` of every float32 logit; ``array('f')``."""
    return array("f", map(sigmoid_f32, z))
