"""The hot loops in pure Python: the reference implementation.

Every function here is readable against SPEC.md and has a numba twin of the
same name and signature in ``jit.py``. Conventions:

- Matrices are flat, row-major: ``X[r * nf + j]``; windows are
  ``[row][sample][channel]`` with 50 samples × 6 channels (``ax ay az gx gy gz``).
- ``f32(x)`` (SPEC) is done by storing into an ``array('f')``: building one
  from a list rounds every element to the nearest float32, exactly like a
  JavaScript ``Float32Array`` store.
- Sums that SPEC orders are done in that order without compensation: with an
  explicit running accumulator, never ``sum()`` of floats (compensated since
  Python 3.12). For speed, when several outputs each accumulate over the same
  inputs, the loop runs over the inputs outside and the outputs inside, as a
  list comprehension: each output still adds its terms in SPEC order.
- Adding a zero product never changes an accumulator here (no accumulator can
  be -0.0: they start at +0.0 or at a weight that is never -0.0), so terms
  whose factor is exactly zero (dead ReLU units) are skipped.
"""
from __future__ import annotations

import math
from array import array
from functools import reduce
from operator import add, mul
from typing import Dict, List, Optional, Sequence, Tuple

from .. import jsmath
from ..rng import XorShift32

WINDOW = 50
CHANNELS = 6
SUMMARY_FEATURES = 18
RICH_FEATURES = 30

_exp = jsmath.exp  # V8's fdlibm exp/log, not the C library's: see jsmath
_log = jsmath.log
_sqrt = math.sqrt


def ordered_sum(values, start: float = 0.0) -> float:
    """``start + v0 + v1 + ...`` added left to right in double, no compensation."""
    return reduce(add, values, start)


def sigmoid(z: float) -> float:
    """The browser's and firmware's sigmoid: 1 above 20, 0 below -20."""
    if z > 20.0:
        return 1.0
    if z < -20.0:
        return 0.0
    return 1.0 / (1.0 + _exp(-z))


def clamped_bce(p: float, y: float) -> float:
    """``-(y log pc + (1-y) log(1-pc))`` with ``pc`` = p clamped to [1e-7, 1-1e-7]."""
    pc = min(max(p, 1e-7), 1.0 - 1e-7)
    return -(y * _log(pc) + (1 - y) * _log(1.0 - pc))


def mean_bce(probs: Sequence[float], y: Sequence[int]) -> float:
    """Mean clamped BCE over rows, summed in row order."""
    return ordered_sum(map(clamped_bce, probs, y)) / len(y)


# --- features (SPEC §5) ----------------------------------------------------


def window_features(windows: Sequence[int], n_rows: int, rich: bool) -> array:
    """Summary (18) or rich (30) features of ``n_rows`` windows, as float32.

    Args:
        windows: flat ``n_rows × 50 × 6`` integer samples.
        rich: False for ``[mean(6), std(6), absmax(6)]``; True appends
            ``absmean(6)`` and accel/gyro magnitude ``mean, std, max``.

    Returns:
        ``array('f')`` of ``n_rows × (18 or 30)``.

    The per-channel sums of integers are exact in double whatever the order,
    so they are computed with integer ``sum``; the magnitude sum ``Σm`` is not
    and is added in sample order.
    """
    out: List[float] = []
    stride = WINDOW * CHANNELS
    for r in range(n_rows):
        w = windows[r * stride : (r + 1) * stride]
        cols = [w[c::CHANNELS] for c in range(CHANNELS)]
        means, stds, absmaxes, absmeans = [], [], [], []
        for col in cols:
            s = sum(col)
            s2 = sum(v * v for v in col)
            mean = s / WINDOW
            var = s2 / WINDOW - mean * mean
            means.append(mean)
            stds.append(_sqrt(var) if var > 0.0 else 0.0)
            absmaxes.append(max(0, max(col), -min(col)))
            if rich:
                absmeans.append(sum(map(abs, col)) / WINDOW)
        out += means
        out += stds
        out += absmaxes
        if rich:
            out += absmeans
            for x, y, z in ((cols[0], cols[1], cols[2]), (cols[3], cols[4], cols[5])):
                m2 = [a * a + b * b + c * c for a, b, c in zip(x, y, z)]
                m = [_sqrt(v) for v in m2]
                mean_m = ordered_sum(m) / WINDOW
                var_m = sum(m2) / WINDOW - mean_m * mean_m
                out += (mean_m, _sqrt(var_m) if var_m > 0.0 else 0.0, max(m))
    return array("f", out)


# --- standard scaler (SPEC §6) ---------------------------------------------


def scaler_fit(X: Sequence[float], n_rows: int, nf: int) -> Tuple[array, array]:
    """Per-feature ``(mean, scale)`` as float32 over the rows in order.

    ``m = s/n``, ``var = s2/n - m*m`` clamped at 0; ``scale = f32(sqrt(var) or 1)``.
    """
    means, scales = [], []
    for j in range(nf):
        col = X[j : n_rows * nf : nf]
        s = ordered_sum(col)
        s2 = ordered_sum(map(mul, col, col))
        m = s / n_rows
        var = s2 / n_rows - m * m
        root = _sqrt(var) if var > 0.0 else 0.0
        means.append(m)
        scales.append(root if root else 1.0)
    return array("f", means), array("f", scales)


def _ieee_div(a: float, b: float) -> float:
    """``a / b`` with IEEE semantics, as JavaScript divides: ``x / ±0`` is ±inf, ``0 / 0`` NaN."""
    if b:
        return a / b
    if a != a or a == 0.0:
        return math.nan
    return math.copysign(math.inf, a) * math.copysign(1.0, b)


def scaler_transform(X: Sequence[float], n_rows: int, nf: int, mean: Sequence[float], scale: Sequence[float]) -> array:
    """``f32((v - mean[j]) / scale[j])`` for every element, shape ``n_rows × nf``.

    A scale is never 0 unless a non-zero spread rounded to 0 in float32
    (subnormal features); the division then gives ±inf/NaN as in the browser.
    """
    out = array("f", bytes(4 * n_rows * nf))
    for j in range(nf):
        m, s = mean[j], scale[j]
        col = X[j : n_rows * nf : nf]
        out[j : n_rows * nf : nf] = array("f", [(v - m) / s for v in col] if s else [_ieee_div(v - m, s) for v in col])
    return out


# --- dataset scan (SPEC §4 steps 5–6) --------------------------------------


def shuffled(items: Sequence[int], seed: int) -> List[int]:
    """A copy of ``items`` shuffled by a fresh ``XorShift32(seed)`` (Fisher–Yates, SPEC §3)."""
    out = list(items)
    XorShift32(seed).shuffle(out)
    return out


def negative_candidates(blocked: Sequence[int], n: int) -> List[int]:
    """Every ``end`` in ``WINDOW..n-1`` whose window ``[end-WINDOW, end)`` holds no blocked sample.

    ``blocked[i]`` is non-zero for avoided samples and samples with the trigger held.
    """
    out: List[int] = []
    run = sum(1 for b in blocked[:WINDOW] if b)  # blocked samples inside the current window
    for end in range(WINDOW, n):
        if run == 0:
            out.append(end)
        if blocked[end]:
            run += 1
        if blocked[end - WINDOW]:
            run -= 1
    return out


def select_separated(order: Sequence[int], times: Sequence[int], target: int, min_sep: float) -> List[int]:
    """Walk ``order`` and keep an item unless its time is within ``min_sep`` (strictly) of a kept one.

    Stops once ``target`` items are kept. Kept times are filed in buckets
    ``floor(t / min_sep)``: a kept time closer than ``min_sep`` to ``t`` can only
    sit in a neighbouring bucket (±2 covers any division rounding), so each
    candidate costs O(1) and the choices equal comparing with every kept item.
    """
    chosen: List[int] = []
    buckets: Dict[int, List[float]] = {}
    for idx in order:
        if len(chosen) >= target:
            break
        t = times[idx]
        if min_sep > 0:
            b = math.floor(t / min_sep)
            near = (buckets.get(k, ()) for k in range(b - 2, b + 3))
            if any(abs(c - t) < min_sep for bucket in near for c in bucket):
                continue
            buckets.setdefault(b, []).append(t)
        chosen.append(idx)
    return chosen


# --- logistic regression (SPEC §7) -----------------------------------------


def logreg_fit(
    X: Sequence[float], y: Sequence[int], n_rows: int, nf: int, max_iter: int, lr: float, l2: float,
    record_every: int = 100,
) -> Tuple[array, float, List[Dict[str, float]]]:
    """Batch gradient descent with L2; returns ``(coef f32[nf], intercept, loss history)``."""
    rows = [X[r * nf : (r + 1) * nf] for r in range(n_rows)]
    cols = [X[j : n_rows * nf : nf] for j in range(nf)]
    yf = [float(v) for v in y]
    coef = array("f", bytes(4 * nf))
    intercept = 0.0
    history: List[Dict[str, float]] = []
    for it in range(max_iter):
        zs = [intercept] * n_rows
        for j in range(nf):
            c = coef[j]
            zs = [z + xj * c for z, xj in zip(zs, cols[j])]
        ps = [sigmoid(z) for z in zs]
        errs = [p - t for p, t in zip(ps, yf)]
        g = array("f", bytes(4 * nf))
        for e, row in zip(errs, rows):
            g = array("f", [gj + e * xj for gj, xj in zip(g, row)])
        gi = ordered_sum(errs)
        if it % record_every == 0 or it == max_iter - 1:
            history.append({"iter": it, "loss": ordered_sum(map(clamped_bce, ps, yf)) / n_rows})
        g = array("f", [gj / n_rows + l2 * c for gj, c in zip(g, coef)])
        gi /= n_rows
        step = lr / (1 + it * 0.001)
        coef = array("f", [c - step * gj for c, gj in zip(coef, g)])
        intercept -= step * gi
    return coef, intercept, history


def logreg_predict(X: Sequence[float], n_rows: int, nf: int, coef: Sequence[float], intercept: float) -> List[float]:
    """``sigmoid(intercept + Σ_j x[j]*coef[j])`` per row, summed in j order."""
    zs = [intercept] * n_rows
    for j in range(nf):
        c = coef[j]
        zs = [z + xj * c for z, xj in zip(zs, X[j : n_rows * nf : nf])]
    return [sigmoid(z) for z in zs]


# --- MLP 30→64→32→1 (SPEC §8) ----------------------------------------------

H1, H2 = 64, 32
BETA1, BETA2, EPS = 0.9, 0.999, 1e-8


def _rows(flat: Sequence[float], n_out: int, n_in: int) -> List[array]:
    return [array("f", flat[j * n_in : (j + 1) * n_in]) for j in range(n_out)]


def _columns(rows: List[array]) -> List[List[float]]:
    return [list(col) for col in zip(*rows)]


def _forward(x: Sequence[float], b1, W1T, b2, W2T, W3, b3) -> Tuple[array, array, float]:
    """``(h1, h2, z)`` for one input: f32 ReLU layers, double output logit."""
    acc = list(b1)
    for xk, wcol in zip(x, W1T):
        if xk:
            acc = [a + w * xk for a, w in zip(acc, wcol)]
    h1 = array("f", [a if a > 0.0 else 0.0 for a in acc])
    acc = list(b2)
    for hk, wcol in zip(h1, W2T):
        if hk:
            acc = [a + w * hk for a, w in zip(acc, wcol)]
    h2 = array("f", [a if a > 0.0 else 0.0 for a in acc])
    return h1, h2, ordered_sum(map(mul, W3, h2), b3)


def mlp_init(seed: int, n_in: int) -> Tuple[XorShift32, array, array, array]:
    """The rng after init and ``W1 (64×n_in), W2 (32×64), W3 (32)``: ``f32(gaussian() * sqrt(2/fan_in))``."""
    rng = XorShift32(seed)
    mats = []
    for n_out, fan_in in ((H1, n_in), (H2, H1), (1, H2)):
        k = _sqrt(2.0 / fan_in)
        mats.append(array("f", [rng.gaussian() * k for _ in range(n_out * fan_in)]))
    return rng, mats[0], mats[1], mats[2]


def mlp_fit(
    X: Sequence[float], y: Sequence[int], n_rows: int, n_in: int, max_iter: int, alpha: float,
    learning_rate: float, seed: int, noise_std: float, record_loss: bool,
    progress=None,
) -> Tuple[array, array, array, array, array, float, List[Dict[str, float]]]:
    """Full-batch Adam training; returns ``(W1, b1, W2, b2, W3, b3, loss history)``.

    ``W1`` is 64×n_in, ``W2`` 32×64 (flat row-major ``[out][in]``), ``b3`` a double.
    ``progress(t, max_iter)`` is called after each iteration when given.
    """
    rng, W1f, W2f, W3 = mlp_init(seed, n_in)
    W1, W2 = _rows(W1f, H1, n_in), _rows(W2f, H2, H1)
    b1, b2, b3 = array("f", bytes(4 * H1)), array("f", bytes(4 * H2)), 0.0
    data = [array("f", X[r * n_in : (r + 1) * n_in]) for r in range(n_rows)]
    yf = [float(v) for v in y]
    # Adam state, same shapes as the parameters
    mW1 = [array("f", bytes(4 * n_in)) for _ in range(H1)]
    vW1 = [array("f", bytes(4 * n_in)) for _ in range(H1)]
    mW2 = [array("f", bytes(4 * H1)) for _ in range(H2)]
    vW2 = [array("f", bytes(4 * H1)) for _ in range(H2)]
    mb1, vb1 = array("f", bytes(4 * H1)), array("f", bytes(4 * H1))
    mb2, vb2 = array("f", bytes(4 * H2)), array("f", bytes(4 * H2))
    mW3, vW3 = array("f", bytes(4 * H2)), array("f", bytes(4 * H2))
    mb3 = vb3 = 0.0
    c1, c2 = 1 - BETA1, 1 - BETA2
    inv = 1.0 / n_rows
    history: List[Dict[str, float]] = []
    zero_in, zero_h1, zero_h2 = bytes(4 * n_in), bytes(4 * H1), bytes(4 * H2)

    def adam(params: array, grads: array, m: array, v: array, bc1: float, bc2: float) -> Tuple[array, array, array]:
        m = array("f", [BETA1 * mi + c1 * g for mi, g in zip(m, grads)])
        v = array("f", [BETA2 * vi + c2 * g * g for vi, g in zip(v, grads)])
        w = array("f", [
            p - learning_rate * (mi / bc1) / (_sqrt(vi / bc2) + EPS) for p, mi, vi in zip(params, m, v)
        ])
        return w, m, v

    for it in range(max_iter):
        t = it + 1
        W1T, W2T = _columns(W1), _columns(W2)
        gW1 = [array("f", zero_in) for _ in range(H1)]
        gW2 = [array("f", zero_h1) for _ in range(H2)]
        gb1, gb2, gW3 = array("f", zero_h1), array("f", zero_h2), array("f", zero_h2)
        gb3 = 0.0
        for row, target in zip(data, yf):
            if noise_std:
                x = array("f", [v + noise_std * rng.gaussian() for v in row])
            else:
                x = row
            h1, h2, z = _forward(x, b1, W1T, b2, W2T, W3, b3)
            dz = sigmoid(z) - target
            gW3 = array("f", [g + dz * h for g, h in zip(gW3, h2)])
            gb3 += dz
            dh2 = array("f", [dz * w * (1 if h > 0.0 else 0) for w, h in zip(W3, h2)])
            back = [0.0] * H1
            for j in range(H2):
                d = dh2[j]
                if d:
                    gW2[j] = array("f", [g + d * h for g, h in zip(gW2[j], h1)])
                    back = [a + d * w for a, w in zip(back, W2[j])]
            gb2 = array("f", [g + d for g, d in zip(gb2, dh2)])
            dh1 = array("f", [a * (1 if h > 0.0 else 0) for a, h in zip(back, h1)])
            for j in range(H1):
                d = dh1[j]
                if d:
                    gW1[j] = array("f", [g + d * xk for g, xk in zip(gW1[j], x)])
            gb1 = array("f", [g + d for g, d in zip(gb1, dh1)])
        gW1 = [array("f", [g * inv + alpha * w for g, w in zip(gr, wr)]) for gr, wr in zip(gW1, W1)]
        gW2 = [array("f", [g * inv + alpha * w for g, w in zip(gr, wr)]) for gr, wr in zip(gW2, W2)]
        gW3 = array("f", [g * inv + alpha * w for g, w in zip(gW3, W3)])
        gb1 = array("f", [g * inv for g in gb1])
        gb2 = array("f", [g * inv for g in gb2])
        gb3 = gb3 * inv
        bc1, bc2 = 1 - BETA1 ** t, 1 - BETA2 ** t
        for j in range(H1):
            W1[j], mW1[j], vW1[j] = adam(W1[j], gW1[j], mW1[j], vW1[j], bc1, bc2)
        b1, mb1, vb1 = adam(b1, gb1, mb1, vb1, bc1, bc2)
        for j in range(H2):
            W2[j], mW2[j], vW2[j] = adam(W2[j], gW2[j], mW2[j], vW2[j], bc1, bc2)
        b2, mb2, vb2 = adam(b2, gb2, mb2, vb2, bc1, bc2)
        W3, mW3, vW3 = adam(W3, gW3, mW3, vW3, bc1, bc2)
        mb3 = BETA1 * mb3 + c1 * gb3
        vb3 = BETA2 * vb3 + c2 * gb3 * gb3
        b3 = b3 - learning_rate * (mb3 / bc1) / (_sqrt(vb3 / bc2) + EPS)
        if record_loss and (t % 16 == 0 or t == max_iter):
            W1T, W2T = _columns(W1), _columns(W2)
            probs = [sigmoid(_forward(row, b1, W1T, b2, W2T, W3, b3)[2]) for row in data]
            history.append({"iter": t, "loss": mean_bce(probs, yf)})
        if progress is not None:
            progress(t, max_iter)
    flat1 = array("f")
    for r in W1:
        flat1 += r
    flat2 = array("f")
    for r in W2:
        flat2 += r
    return flat1, b1, flat2, b2, W3, b3, history


def mlp_predict(X: Sequence[float], n_rows: int, n_in: int, W1, b1, W2, b2, W3, b3: float) -> List[float]:
    """Sigmoid outputs of the MLP for ``n_rows`` inputs (f32 hidden layers, double logit)."""
    W1T = _columns(_rows(W1, H1, n_in))
    W2T = _columns(_rows(W2, H2, H1))
    return [
        sigmoid(_forward(X[r * n_in : (r + 1) * n_in], b1, W1T, b2, W2T, W3, b3)[2]) for r in range(n_rows)
    ]


def logreg_predict_unscaled(
    F: Sequence[float], n_rows: int, nf: int, mean: Sequence[float], scale: Sequence[float],
    coef: Sequence[float], intercept: float,
) -> List[float]:
    """LR on raw features with the scaling folded in, all in double (the browser's trace scoring):
    ``sigmoid(intercept + Σ_j ((f[j] - mean[j]) / scale[j]) * coef[j])``."""
    zs = [intercept] * n_rows
    for j in range(nf):
        m, s, c = mean[j], scale[j], coef[j]
        zs = [z + ((f - m) / s) * c for z, f in zip(zs, F[j : n_rows * nf : nf])]
    return [sigmoid(z) for z in zs]
