"""The firmware's hot loops under numba: the same functions, names and results as ``firmware_pure``.

Each public function is a thin wrapper: it converts its inputs to numpy
arrays, calls an ``@njit(cache=True)`` kernel and converts the results back
to what ``firmware_pure`` returns (``array('f')``, Python floats). Unlike the
trainer's kernels (``jit.py``, double arithmetic with float32 stores), these
compute in **float32**, as the firmware's C ``float`` code does:

- every value is a ``np.float32`` (arrays, accumulators, the constants ``50``,
  ``1``, ``1e-10f``), so each ``+ - * /`` and ``np.sqrt`` is one float32
  operation rounded once, the same number ``firmware_pure`` gets by rounding
  the exact double result. ``fastmath`` is never on, so LLVM neither
  contracts ``a*b + c`` into an FMA nor reorders a sum; SIMD lanes are
  different outputs (the hidden units of one layer), each sum still adds its
  terms in the firmware's order;
- ``expf`` is ``firmware_pure.expf``'s algorithm (glibc/musl/newlib: table and
  cubic in double), with the same table and constants;
- like the firmware, every term of a hidden layer is added, dead ReLU units
  included (``firmware_pure`` skips the all-zero ones: the results differ at
  most in the sign of an exactly-zero logit).

See docs/backends.md and docs/firmware.md.
"""
from __future__ import annotations

from array import array
from typing import Sequence, Tuple

import numpy as np
from .numba_cache import njit

from ..core.constants import CHANNELS, RICH_FEATURES, SCALE_FLOOR, WINDOW_SAMPLES
from ..core.constants import MLP_H1 as H1
from ..core.constants import MLP_H2 as H2
from ..core.float32 import EXP2_TAB, EXP_C0, EXP_C1, EXP_C2, EXP_INV_LN2_N, EXP_OVERFLOW, EXP_UNDERFLOW
from .firmware_pure import check_windows, f32  # noqa: F401  (re-exported: not hot)

# No divisor here can be zero (50, a scale floored at 1e-10, 1 + expf >= 1): skip
# numba's ZeroDivisionError checks, which would block vectorization.
_ieee = njit(cache=True, error_model="numpy")

_ZERO = np.float32(0.0)
_ONE = np.float32(1.0)
_FIFTY = np.float32(WINDOW_SAMPLES)
_FLOOR = np.float32(SCALE_FLOOR)
_INF = np.float32(np.inf)
_TAB = np.array(EXP2_TAB, np.int64)


def _f32_array(values: Sequence[float]) -> np.ndarray:
    """A float32 numpy view (``array('f')``) or copy of a sequence of float32 values."""
    if isinstance(values, array) and values.typecode == "f":
        return np.frombuffer(values, np.float32) if len(values) else np.zeros(0, np.float32)
    return np.asarray(values, np.float32).reshape(-1)


def _to_array(values: np.ndarray) -> array:
    return array("f", np.ascontiguousarray(values, np.float32).tobytes())


# --- expf and the sigmoid ------------------------------------------------------------


@_ieee
def _expf(x):
    """``firmware_pure.expf`` of a float32 ``x`` (float32 result)."""
    if x != x:
        return x
    if x > EXP_OVERFLOW:
        return _INF
    if x < EXP_UNDERFLOW:
        return _ZERO
    z = EXP_INV_LN2_N * np.float64(x)
    kd = np.rint(z)  # ties to even, as Python's round()
    k = np.int64(kd)
    r = z - kd
    s = np.int64(_TAB[k & 31] + (k << 47)).view(np.float64)
    y = (EXP_C0 * r + EXP_C1) * (r * r) + (EXP_C2 * r + 1.0)
    return np.float32(y * s)


@_ieee
def _sigmoid(z):
    if z > 20.0:
        return _ONE
    if z < -20.0:
        return _ZERO
    return _ONE / (_ONE + _expf(-z))


@_ieee
def _sigmoids(z, out):
    for r in range(z.shape[0]):
        out[r] = _sigmoid(z[r])


def expf(x: float) -> float:
    """C ``expf`` of a float32 ``x`` (see ``firmware_pure.expf``)."""
    return float(_expf(np.float32(x)))


def sigmoid_f32(z: float) -> float:
    """Firmware sigmoid: 1 if ``z > 20``, 0 if ``z < -20``, else ``1/(1+expf(-z))`` in float32."""
    return float(_sigmoid(np.float32(z)))


def sigmoids(z: Sequence[float]) -> array:
    """:func:`sigmoid_f32` of every float32 logit; ``array('f')``."""
    zf = _f32_array(z)
    out = np.empty(zf.shape[0], np.float32)
    _sigmoids(zf, out)
    return _to_array(out)


# --- features --------------------------------------------------------------------------


@_ieee
def _window_features(S, step, X, rms):
    """``S``: (samples, 6) float32 integers; fills ``X`` (windows, 30) and ``rms`` (windows)."""
    for r in range(X.shape[0]):
        first = r * step
        for c in range(CHANNELS):
            s = _ZERO
            s2 = _ZERO
            mx = _ZERO
            sa = _ZERO
            for i in range(first, first + WINDOW_SAMPLES):
                v = S[i, c]
                s += v
                s2 += v * v
                a = abs(v)
                if a > mx:
                    mx = a
                sa += a
            mean = s / _FIFTY
            var = s2 / _FIFTY - mean * mean
            X[r, c] = mean
            X[r, 6 + c] = np.sqrt(var) if var > _ZERO else _ZERO
            X[r, 12 + c] = mx
            X[r, 18 + c] = sa / _FIFTY
        for g in range(2):
            c0 = 3 * g
            sm = _ZERO
            sm2 = _ZERO
            mx = _ZERO
            for i in range(first, first + WINDOW_SAMPLES):
                x = S[i, c0]
                y = S[i, c0 + 1]
                z = S[i, c0 + 2]
                m2 = x * x + y * y + z * z
                m = np.sqrt(m2)
                sm += m
                sm2 += m2
                if m > mx:
                    mx = m
            mean = sm / _FIFTY
            var = sm2 / _FIFTY - mean * mean
            X[r, 24 + c0] = mean
            X[r, 25 + c0] = np.sqrt(var) if var > _ZERO else _ZERO
            X[r, 26 + c0] = mx
            if g == 1:
                rms[r] = np.sqrt(sm2 / _FIFTY)


def window_features(samples: Sequence[int], n_windows: int, step: int) -> Tuple[array, array]:
    """``(X, rms)``: the 30 rich features (``n_windows × 30``) and the gyro RMS per window (see ``firmware_pure``)."""
    check_windows(samples, n_windows, step)
    if n_windows <= 0:
        return array("f"), array("f")
    n_samples = step * (n_windows - 1) + WINDOW_SAMPLES
    if not (isinstance(samples, array) and samples.typecode == "h"):
        samples = array("h", samples[: CHANNELS * n_samples])  # int16 range checked as firmware_pure does
    S = np.frombuffer(samples, np.int16, CHANNELS * n_samples).astype(np.float32).reshape(n_samples, CHANNELS)
    X = np.empty((n_windows, RICH_FEATURES), np.float32)
    rms = np.empty(n_windows, np.float32)
    _window_features(S, step, X, rms)
    return _to_array(X), _to_array(rms)


# --- models ------------------------------------------------------------------------------


@_ieee
def _scale_row(x, mean, scale, out):
    """``out[j] = (x[j] - mean[j]) / max(scale[j], 1e-10f)`` (a NaN scale stays NaN)."""
    for j in range(out.shape[0]):
        s = scale[j]
        if s < _FLOOR:
            s = _FLOOR
        out[j] = (x[j] - mean[j]) / s


@_ieee
def _lr_logits(X, mean, scale, coef, intercept, out):
    x = np.empty(coef.shape[0], np.float32)
    for r in range(X.shape[0]):
        _scale_row(X[r], mean, scale, x)
        z = intercept
        for j in range(x.shape[0]):
            z += x[j] * coef[j]
        out[r] = z


@_ieee
def _mlp_logits(X, mean, scale, W1T, b1, W2T, b2, W3, b3, out):
    """``W1T`` (n_in × 64) and ``W2T`` (64 × 32) are the transposed weights: the inner loops run
    over a layer's units (SIMD lanes), each unit adds its inputs in order."""
    x = np.empty(mean.shape[0], np.float32)
    h1 = np.empty(H1, np.float32)
    h2 = np.empty(H2, np.float32)
    for r in range(X.shape[0]):
        _scale_row(X[r], mean, scale, x)
        h1[:] = b1
        for i in range(x.shape[0]):
            xi = x[i]
            for j in range(H1):
                h1[j] += W1T[i, j] * xi
        for j in range(H1):
            h1[j] = h1[j] if h1[j] > _ZERO else _ZERO
        h2[:] = b2
        for i in range(H1):
            hi = h1[i]
            for j in range(H2):
                h2[j] += W2T[i, j] * hi
        for j in range(H2):
            h2[j] = h2[j] if h2[j] > _ZERO else _ZERO
        z = b3
        for i in range(H2):
            z += W3[i] * h2[i]
        out[r] = z


def _matrix(X: Sequence[float], n_rows: int, nf: int) -> np.ndarray:
    return _f32_array(X)[: n_rows * nf].reshape(n_rows, nf)


def lr_logits(X: Sequence[float], n_rows: int, nf: int, mean: Sequence[float], scale: Sequence[float],
              coef: Sequence[float], intercept: float) -> array:
    """Firmware LR logit per row of the row-major ``n_rows × nf`` features (see ``firmware_pure``)."""
    out = np.empty(n_rows, np.float32)
    _lr_logits(_matrix(X, n_rows, nf), _f32_array(mean), _f32_array(scale), _f32_array(coef),
               np.float32(intercept), out)
    return _to_array(out)


def mlp_logits(X: Sequence[float], n_rows: int, nf: int, mean: Sequence[float], scale: Sequence[float],
               W1: Sequence[float], b1: Sequence[float], W2: Sequence[float], b2: Sequence[float],
               W3: Sequence[float], b3: float) -> array:
    """Firmware MLP logit per row of the row-major ``n_rows × nf`` features (see ``firmware_pure``)."""
    mean = _f32_array(mean)
    n_in = mean.shape[0]
    W1T = np.ascontiguousarray(_f32_array(W1).reshape(H1, n_in).T)
    W2T = np.ascontiguousarray(_f32_array(W2).reshape(H2, H1).T)
    out = np.empty(n_rows, np.float32)
    _mlp_logits(_matrix(X, n_rows, nf), mean, _f32_array(scale), W1T, _f32_array(b1), W2T, _f32_array(b2),
                _f32_array(W3), np.float32(b3), out)
    return _to_array(out)
