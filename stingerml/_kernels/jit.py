"""The hot loops under numba: the same functions, names and results as ``pure.py``.

Each public function is a thin wrapper: it converts its inputs to numpy arrays,
calls an ``@njit(cache=True)`` kernel and converts the results back to the
types ``pure`` returns (``array('f')``, lists of Python floats and ints, loss
histories as ``[{"iter", "loss"}]``). Results are identical to the bit:

- All arithmetic is float64, in the order ``pure`` uses. SPEC's float32
  stores are explicit ``_f32`` round trips (the float32 rounding, kept as a
  double) or stores into a float32 array (the gradient accumulators), whose
  elements are converted back to double on every read. No float32 arithmetic
  ever happens, and ``fastmath`` is never on (no FMA contraction, no
  reassociation). SIMD lanes are always different outputs, so every sum still
  adds its terms one after the other.
- ``exp`` and ``log`` are V8's fdlibm ports from :mod:`stingerml._kernels.jsmath_jit`
  (the njit twin of :mod:`stingerml.core.jsmath`), and the rng is
  :mod:`stingerml._kernels.rng_jit` (the twin of :class:`stingerml.core.rng.XorShift32`):
  the sigmoid, the clamped BCE and the Box–Muller gaussian use them exactly
  where ``pure`` uses jsmath and the rng.
- ``1 - β**t`` (Adam's bias corrections, with V8's ``Math.pow``) is computed by
  ``pure.bias_corrections`` in the wrapper, once per iteration.
- The skip-zero shortcuts of ``pure`` are kept, so even non-finite weights
  give the same results.

See docs/backends.md for how the backend is chosen and how exactness is tested.
"""
from __future__ import annotations

import functools
import math
from array import array
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Dict, List, Sequence, Tuple

import numpy as np
from .numba_cache import njit

from ..core.rng import XorShift32
from .jsmath_jit import exp, log
from .pure import (
    BETA1,
    BETA2,
    CHANNELS,
    EPS,
    H1,
    H2,
    LOSS_EVERY,
    WINDOW,
    bias_corrections,
    clamped_bce,
    mean_bce,
    ordered_sum,
    sigmoid,
)
from .rng_jit import gaussian, next_double, seed_state

# Kernels whose divisors can never be zero skip numba's ZeroDivisionError check
# (which would stop LLVM from vectorizing); the others keep Python's semantics.
_ieee = njit(cache=True, error_model="numpy")

_MLP_CHUNK = 20  # MLP iterations per njit call; progress is reported between calls
_bias_corrections = functools.lru_cache(maxsize=None)(bias_corrections)  # the same t in every fit of a process


# --- conversions -------------------------------------------------------------


def _f64(values) -> np.ndarray:
    """A contiguous float64 copy (or view) of a sequence; exact for float32 and small ints."""
    return np.ascontiguousarray(np.asarray(values), dtype=np.float64)


def _to_f32(values: np.ndarray) -> array:
    """``array('f')`` of a float64 array (each element rounded to float32 once)."""
    return array("f", values.astype(np.float32).tobytes())


def _history(iters: np.ndarray, losses: np.ndarray, count: int) -> List[Dict[str, float]]:
    return [{"iter": int(i), "loss": float(v)} for i, v in zip(iters[:count], losses[:count])]


# --- scalar helpers (njit) ---------------------------------------------------


@_ieee
def _f32(x):
    """SPEC's f32(x): round the double to float32, keep it as a double."""
    return np.float64(np.float32(x))



@_ieee
def _sigmoid(z):
    if z > 20.0:
        return 1.0
    if z < -20.0:
        return 0.0
    return 1.0 / (1.0 + exp(-z))


@_ieee
def _clamped_bce(p, y):
    # Python's max(p, lo) / min(p, hi): the second argument wins only when strictly beyond
    pc = p
    if 1e-7 > pc:
        pc = 1e-7
    if 1.0 - 1e-7 < pc:
        pc = 1.0 - 1e-7
    return -(y * log(pc) + (1.0 - y) * log(1.0 - pc))



@_ieee
def _window_features(w, rich):
    """``w``: (rows, 50, 6) float64 integers; returns (rows, 18|30) float64 (not yet rounded)."""
    n_rows = w.shape[0]
    nf = 30 if rich else 18
    out = np.empty((n_rows, nf))
    for r in range(n_rows):
        for c in range(CHANNELS):
            s = 0.0
            s2 = 0.0
            mx = 0.0
            sa = 0.0
            for i in range(WINDOW):
                v = w[r, i, c]
                s += v
                s2 += v * v
                a = abs(v)
                if a > mx:
                    mx = a
                sa += a
            mean = s / WINDOW
            var = s2 / WINDOW - mean * mean
            out[r, c] = mean
            out[r, 6 + c] = math.sqrt(var) if var > 0.0 else 0.0
            out[r, 12 + c] = mx
            if rich:
                out[r, 18 + c] = sa / WINDOW
        if rich:
            for g in range(2):
                c0 = 3 * g
                sm = 0.0
                sm2 = 0.0
                mmax = -math.inf
                for i in range(WINDOW):
                    x = w[r, i, c0]
                    y = w[r, i, c0 + 1]
                    z = w[r, i, c0 + 2]
                    m2 = x * x + y * y + z * z
                    m = math.sqrt(m2)
                    sm += m
                    sm2 += m2
                    if m > mmax:
                        mmax = m
                mean_m = sm / WINDOW
                var_m = sm2 / WINDOW - mean_m * mean_m
                out[r, 24 + 3 * g] = mean_m
                out[r, 25 + 3 * g] = math.sqrt(var_m) if var_m > 0.0 else 0.0
                out[r, 26 + 3 * g] = mmax
    return out


def window_features(windows: Sequence[int], n_rows: int, rich: bool) -> array:
    """Summary (18) or rich (30) features of ``n_rows`` windows, as float32 (see ``pure``)."""
    w = _f64(windows)[: n_rows * WINDOW * CHANNELS].reshape(n_rows, WINDOW, CHANNELS)
    return _to_f32(_window_features(w, bool(rich)))


# --- standard scaler (SPEC §6) -------------------------------------------------


@njit(cache=True)
def _scaler_fit(X):
    n_rows, nf = X.shape
    s = np.zeros(nf)
    s2 = np.zeros(nf)
    for r in range(n_rows):
        for j in range(nf):
            v = X[r, j]
            s[j] += v
            s2[j] += v * v
    means = np.empty(nf)
    scales = np.empty(nf)
    for j in range(nf):
        m = s[j] / n_rows
        var = s2[j] / n_rows - m * m
        root = math.sqrt(var) if var > 0.0 else 0.0
        means[j] = m
        scales[j] = root if root != 0.0 else 1.0
    return means, scales


def scaler_fit(X: Sequence[float], n_rows: int, nf: int) -> Tuple[array, array]:
    """Per-feature ``(mean, scale)`` as float32 over the rows in order (see ``pure``)."""
    means, scales = _scaler_fit(_f64(X)[: n_rows * nf].reshape(n_rows, nf))
    return _to_f32(means), _to_f32(scales)


@_ieee  # a scale can round to 0 (subnormal spread): divide as IEEE / JS do, like pure._ieee_div
def _scaler_transform(X, mean, scale):
    n_rows, nf = X.shape
    out = np.empty((n_rows, nf))
    for r in range(n_rows):
        for j in range(nf):
            out[r, j] = (X[r, j] - mean[j]) / scale[j]
    return out


def scaler_transform(X: Sequence[float], n_rows: int, nf: int, mean: Sequence[float], scale: Sequence[float]) -> array:
    """``f32((v - mean[j]) / scale[j])`` for every element, shape ``n_rows × nf``."""
    x = _f64(X)[: n_rows * nf].reshape(n_rows, nf)
    return _to_f32(_scaler_transform(x, _f64(mean), _f64(scale)))


# --- dataset scan (SPEC §4 steps 5–6) ------------------------------------------


@_ieee
def _shuffle(a, state):
    """In-place Fisher–Yates as :meth:`XorShift32.shuffle`: ``j = floor(rng() * (i + 1))``."""
    for i in range(len(a) - 1, 0, -1):
        j = int(next_double(state) * (i + 1))
        a[i], a[j] = a[j], a[i]


def shuffled(items: Sequence[int], seed: int) -> List[int]:
    """A copy of ``items`` shuffled by a fresh ``XorShift32(seed)`` (see ``pure``)."""
    a = np.array(items, dtype=np.int64)
    _shuffle(a, seed_state(seed))
    return a.tolist()


@_ieee
def _negative_candidates(blocked):
    n = blocked.shape[0]
    out = np.empty(max(n - WINDOW, 0), np.int64)
    count = 0
    run = 0
    for i in range(min(WINDOW, n)):
        if blocked[i]:
            run += 1
    for end in range(WINDOW, n):
        if run == 0:
            out[count] = end
            count += 1
        if blocked[end]:
            run += 1
        if blocked[end - WINDOW]:
            run -= 1
    return out[:count]


def negative_candidates(blocked: Sequence[int], n: int) -> List[int]:
    """Every ``end`` in ``WINDOW..n-1`` whose window ``[end-WINDOW, end)`` holds no blocked sample."""
    flags = np.asarray(blocked)[:n] != 0
    return _negative_candidates(flags).tolist()


@_ieee
def _select_separated(order, times, target, min_sep):
    """``pure.select_separated`` with the kept set as a Fenwick tree over the time ranks.

    The nearest kept times below and above a candidate are its rank neighbours
    in the tree, so each step is O(log n), with the same choices.
    """
    m = order.shape[0]
    t_of = np.empty(m)
    for p in range(m):
        t_of[p] = times[order[p]]
    by_time = np.argsort(t_of, kind="mergesort")
    rank = np.empty(m, np.int64)
    for r in range(m):
        rank[by_time[r]] = r + 1  # 1-based
    tree = np.zeros(m + 1, np.int64)
    top = 1
    while top * 2 <= m:
        top *= 2
    chosen = np.empty(min(max(target, 0), m), np.int64)
    kept = 0
    for p in range(m):
        if kept >= target:
            break
        t = t_of[p]
        r = rank[p]
        below = 0  # kept items ranked before r
        i = r - 1
        while i > 0:
            below += tree[i]
            i -= i & -i
        near = False
        for want in (below + 1, below):  # the first kept at or after r, then the last before it
            if want < 1 or want > kept:
                continue
            pos = 0  # Fenwick descent to the want-th kept rank
            rem = want
            step = top
            while step > 0:
                if pos + step <= m and tree[pos + step] < rem:
                    pos += step
                    rem -= tree[pos]
                step //= 2
            if abs(t_of[by_time[pos]] - t) < min_sep:
                near = True
                break
        if near:
            continue
        chosen[kept] = order[p]
        kept += 1
        i = r
        while i <= m:
            tree[i] += 1
            i += i & -i
    return chosen[:kept]


def select_separated(order: Sequence[int], times: Sequence[int], target: int, min_sep: float) -> List[int]:
    """Walk ``order`` and keep an item unless its time is within ``min_sep`` (strictly) of a kept one."""
    idx = np.ascontiguousarray(np.asarray(order, dtype=np.int64).reshape(-1))
    return _select_separated(idx, _f64(times), int(target), float(min_sep)).tolist()


# --- logistic regression (SPEC §7) -----------------------------------------------


@_ieee
def _logreg_fit(X, XT, y, max_iter, lr, l2, record_every):
    n_rows, nf = X.shape
    coef = np.zeros(nf)
    intercept = 0.0
    n_hist = max_iter // record_every + 2
    hist_iter = np.empty(n_hist, np.int64)
    hist_loss = np.empty(n_hist)
    count = 0
    z = np.empty(n_rows)
    g = np.empty(nf, np.float32)  # f32 accumulators: each store is SPEC's f32
    for it in range(max_iter):
        z[:] = intercept
        for j in range(nf):
            c = coef[j]
            for r in range(n_rows):
                z[r] = z[r] + XT[j, r] * c
        for r in range(n_rows):  # z becomes p (independent sigmoids, overlapped by the CPU)
            z[r] = _sigmoid(z[r])
        g[:] = 0.0
        gi = 0.0
        record = it % record_every == 0 or it == max_iter - 1
        loss = 0.0
        for r in range(n_rows):
            p = z[r]
            e = p - y[r]
            for j in range(nf):
                g[j] = np.float64(g[j]) + e * X[r, j]
            gi += e
            if record:
                loss += _clamped_bce(p, y[r])
        if record:
            hist_iter[count] = it
            hist_loss[count] = loss / n_rows
            count += 1
        for j in range(nf):
            g[j] = np.float64(g[j]) / n_rows + l2 * coef[j]
        gi /= n_rows
        step = lr / (1 + it * 0.001)
        for j in range(nf):
            coef[j] = _f32(coef[j] - step * np.float64(g[j]))
        intercept -= step * gi
    return coef, intercept, hist_iter, hist_loss, count


def logreg_fit(
    X: Sequence[float], y: Sequence[int], n_rows: int, nf: int, max_iter: int, lr: float, l2: float,
    record_every: int = 100,
) -> Tuple[array, float, List[Dict[str, float]]]:
    """Batch gradient descent with L2; returns ``(coef f32[nf], intercept, loss history)``."""
    if n_rows == 0 and max_iter > 0:
        raise ZeroDivisionError("logreg_fit: zero rows (pure divides by n_rows)")
    x = _f64(X)[: n_rows * nf].reshape(n_rows, nf)
    coef, intercept, hist_iter, hist_loss, count = _logreg_fit(
        x, np.ascontiguousarray(x.T), _f64(y)[:n_rows], int(max_iter), float(lr), float(l2), int(record_every)
    )
    return _to_f32(coef), float(intercept), _history(hist_iter, hist_loss, count)


@njit(cache=True)
def _linear_probs(XT, mean, scale, coef, intercept, scaled):
    """``sigmoid(intercept + Σ_j x[j]*coef[j])`` per column of XT; ``scaled``: x = (f - mean) / scale."""
    nf, n_rows = XT.shape
    z = np.full(n_rows, intercept)
    for j in range(nf):
        c = coef[j]
        if scaled:
            m = mean[j]
            s = scale[j]
            for r in range(n_rows):
                z[r] = z[r] + ((XT[j, r] - m) / s) * c
        else:
            for r in range(n_rows):
                z[r] = z[r] + XT[j, r] * c
    out = np.empty(n_rows)
    for r in range(n_rows):
        out[r] = _sigmoid(z[r])
    return out


def _columns(X: Sequence[float], n_rows: int, nf: int) -> np.ndarray:
    return np.ascontiguousarray(_f64(X)[: n_rows * nf].reshape(n_rows, nf).T)


def logreg_predict(X: Sequence[float], n_rows: int, nf: int, coef: Sequence[float], intercept: float) -> List[float]:
    """``sigmoid(intercept + Σ_j x[j]*coef[j])`` per row, summed in j order."""
    zeros = np.zeros(nf)
    return _linear_probs(_columns(X, n_rows, nf), zeros, zeros, _f64(coef), float(intercept), False).tolist()


def logreg_predict_unscaled(
    F: Sequence[float], n_rows: int, nf: int, mean: Sequence[float], scale: Sequence[float],
    coef: Sequence[float], intercept: float,
) -> List[float]:
    """LR on raw features with the scaling folded in, all in double (see ``pure``)."""
    return _linear_probs(
        _columns(F, n_rows, nf), _f64(mean), _f64(scale), _f64(coef), float(intercept), True
    ).tolist()


# --- MLP 30→64→32→1 (SPEC §8) ------------------------------------------------------
#
# The parameters live in one flat float64 vector ``P = [W1 (64×n_in), b1 (64),
# W2 (32×64), b2 (32), W3 (32), b3]`` (weights row-major [out][in]); the Adam
# moments ``M``, ``V`` and the gradient ``G`` share that layout, so Adam is one
# loop. Every element but the last (b3, a double in SPEC) holds a float32
# value. The kernels work on 2-D views of it (which LLVM vectorizes: each SIMD
# lane is a different output, so every sum still adds its terms in SPEC order).


@_ieee
def _offsets(n_in):
    """Offsets of b1, W2, b2, W3 and b3 in P (W1 starts at 0; P has ``b3 + 1`` elements)."""
    o_b1 = H1 * n_in
    o_W2 = o_b1 + H1
    o_b2 = o_W2 + H2 * H1
    o_W3 = o_b2 + H2
    o_b3 = o_W3 + H2
    return o_b1, o_W2, o_b2, o_W3, o_b3


@_ieee
def _views(P, n_in):
    """``(W1 64×n_in, b1, W2 32×64, b2, W3)`` views of a P-shaped vector (b3 is ``P[-1]``)."""
    o_b1, o_W2, o_b2, o_W3, o_b3 = _offsets(n_in)
    return (
        P[:o_b1].reshape((H1, n_in)), P[o_b1:o_W2], P[o_W2:o_b2].reshape((H2, H1)), P[o_b2:o_W3], P[o_W3:o_b3],
    )


@njit(cache=True)
def _mlp_init(seed_state, n_in):
    """``f32(gaussian() * sqrt(2/fan_in))`` for W1, W2, W3 in order; ``seed_state`` is advanced."""
    o_b1, o_W2, o_b2, o_W3, o_b3 = _offsets(n_in)
    P = np.zeros(o_b3 + 1)
    for lo, hi, fan_in in ((0, o_b1, n_in), (o_W2, o_b2, H1), (o_W3, o_b3, H2)):
        k = math.sqrt(2.0 / fan_in)
        for i in range(lo, hi):
            P[i] = _f32(gaussian(seed_state) * k)
    return P


def seed_state(seed: int) -> np.ndarray:
    return np.array([XorShift32(seed).state], np.int64)


def mlp_init(seed: int, n_in: int) -> Tuple[XorShift32, array, array, array]:
    """The rng after init and ``W1 (64×n_in), W2 (32×64), W3 (32)`` (see ``pure``)."""
    state = seed_state(seed)
    P = _mlp_init(state, int(n_in))
    o_b1, o_W2, o_b2, o_W3, o_b3 = _offsets.py_func(n_in)
    rng = XorShift32(seed)
    rng.state = int(state[0])
    return rng, _to_f32(P[:o_b1]), _to_f32(P[o_W2:o_b2]), _to_f32(P[o_W3:o_b3])


@_ieee
def _transpose(W, WT):
    """``WT[k, j] = W[j, k]``: each input's weights contiguous over the outputs."""
    for j in range(W.shape[0]):
        for k in range(W.shape[1]):
            WT[k, j] = W[j, k]


@_ieee
def _nonzero(v, idx):
    """Indices of the non-zero elements of ``v`` into ``idx``, ascending; returns their count.

    Branch-free, so a loop over them skips the zero terms (as ``pure`` does)
    without a hard-to-predict branch per element.
    """
    count = 0
    for k in range(v.shape[0]):
        idx[count] = k
        count += 1 if v[k] != 0.0 else 0
    return count


@_ieee
def _forward(x, W1T, b1, W2T, b2, W3, b3, h1, h2):
    """Fills ``h1``, ``h2`` (f32 ReLU layers) for input ``x``; returns the double logit.

    ``W1T`` is n_in×64 and ``W2T`` 64×32 (transposed weights). Each unit's sum
    starts at its bias and adds the products in input order; zero inputs are
    skipped as in ``pure``. The loops over the 32 second-layer units run to
    ``h2.shape[0]``, not the constant ``H2``: LLVM unrolled those into scalar
    code and vectorizes these (the MLP fit ~15 % faster, same bits).
    """
    for j in range(H1):
        h1[j] = b1[j]
    for k in range(x.shape[0]):
        xk = x[k]
        if xk != 0.0:
            for j in range(H1):
                h1[j] = h1[j] + W1T[k, j] * xk
    for j in range(H1):
        a = h1[j]
        h1[j] = _f32(a if a > 0.0 else 0.0)
    n2 = h2.shape[0]
    for j in range(n2):
        h2[j] = b2[j]
    for k in range(H1):
        hk = h1[k]
        if hk != 0.0:
            for j in range(n2):
                h2[j] = h2[j] + W2T[k, j] * hk
    for j in range(n2):
        a = h2[j]
        h2[j] = _f32(a if a > 0.0 else 0.0)
    z = b3
    for k in range(H2):
        z = z + W3[k] * h2[k]
    return z


@_ieee
def _mlp_probs(X, P, n_in):
    W1, b1, W2, b2, W3 = _views(P, n_in)
    W1T = np.empty((n_in, H1))
    W2T = np.empty((H1, H2))
    _transpose(W1, W1T)
    _transpose(W2, W2T)
    h1 = np.empty(H1)
    h2 = np.empty(H2)
    out = np.empty(X.shape[0])
    for r in range(X.shape[0]):
        out[r] = _sigmoid(_forward(X[r], W1T, b1, W2T, b2, W3, P[-1], h1, h2))
    return out


@njit(cache=True, nogil=True)
def _gaussians(state, out):
    """Fill ``out`` with the next gaussian draws of the rng ``state``, in order."""
    for i in range(out.shape[0]):
        out[i] = gaussian(state)


@njit(cache=True, error_model="numpy", nogil=True)
def _mlp_iterations(
    X, y, n_in, it_begin, it_end, max_iter, alpha, learning_rate, noise_std, record_loss, loss_every,
    P, M, V, noise, bc1s, bc2s, hist_iter, hist_loss, hist_count,
):
    """Iterations ``it_begin..it_end-1`` of ``pure.mlp_fit``, updating P, M, V and the history.

    ``noise`` holds the gaussians of these iterations' inputs in draw order
    (iteration, row, input), or nothing without noise.

    The gradient accumulators live in a float32 array ``G`` (P's layout; b3's
    gradient is the double ``gb3``): each ``G[i] = <double expression>`` is
    SPEC's f32 store, and every read converts back to double before any
    arithmetic. Zero ``dh2``/``dh1`` entries are skipped as in ``pure``, via
    index lists (:func:`_nonzero`) rather than a branch per unit.
    """
    n_rows = X.shape[0]
    o_b1, o_W2, o_b2, o_W3, o_b3 = _offsets(n_in)
    W1, b1, W2, b2, W3 = _views(P, n_in)
    G = np.empty(P.shape, np.float32)  # the f32 gradient accumulators, stored as float32
    gW1, gb1, gW2, gb2, gW3 = _views(G, n_in)
    W1T = np.empty((n_in, H1))
    W2T = np.empty((H1, H2))
    h1 = np.empty(H1)
    h2 = np.empty(H2)
    n2 = h2.shape[0]  # H2 at run time, as in _forward: LLVM vectorizes these loops
    dh2 = np.empty(H2)
    back = np.empty(H1)
    dh1 = np.empty(H1)
    idx = np.empty(H1, np.int64)
    noisy = noise_std != 0.0
    xn = np.empty(n_in)
    c1 = 1 - BETA1
    c2 = 1 - BETA2
    inv = 1.0 / n_rows
    for it in range(it_begin, it_end):
        t = it + 1
        _transpose(W1, W1T)
        _transpose(W2, W2T)
        G[:] = 0.0
        gb3 = 0.0
        for r in range(n_rows):
            if noisy:
                base = ((it - it_begin) * n_rows + r) * n_in
                for k in range(n_in):
                    xn[k] = _f32(X[r, k] + noise_std * noise[base + k])
                x = xn
            else:
                x = X[r]
            dz = _sigmoid(_forward(x, W1T, b1, W2T, b2, W3, P[o_b3], h1, h2)) - y[r]
            for k in range(n2):
                gW3[k] = np.float64(gW3[k]) + dz * h2[k]
            gb3 += dz
            for j in range(n2):
                dh2[j] = _f32(dz * W3[j] * (1.0 if h2[j] > 0.0 else 0.0))
            back[:] = 0.0
            for p in range(_nonzero(dh2, idx)):
                j = idx[p]
                d = dh2[j]
                for k in range(H1):
                    gW2[j, k] = np.float64(gW2[j, k]) + d * h1[k]
                for k in range(H1):
                    back[k] = back[k] + d * W2[j, k]
            for j in range(n2):
                gb2[j] = np.float64(gb2[j]) + dh2[j]
            for j in range(H1):
                dh1[j] = _f32(back[j] * (1.0 if h1[j] > 0.0 else 0.0))
                gb1[j] = np.float64(gb1[j]) + dh1[j]
            for p in range(_nonzero(dh1, idx)):
                j = idx[p]
                d = dh1[j]
                for k in range(n_in):
                    gW1[j, k] = np.float64(gW1[j, k]) + d * x[k]
        for lo, hi, decay in ((0, o_b1, True), (o_b1, o_W2, False), (o_W2, o_b2, True), (o_b2, o_W3, False),
                              (o_W3, o_b3, True)):
            if decay:
                for i in range(lo, hi):
                    G[i] = np.float64(G[i]) * inv + alpha * P[i]
            else:
                for i in range(lo, hi):
                    G[i] = np.float64(G[i]) * inv
        gb3 = gb3 * inv
        bc1 = bc1s[it]
        bc2 = bc2s[it]
        for i in range(o_b3):
            g = np.float64(G[i])
            m = _f32(BETA1 * M[i] + c1 * g)
            v = _f32(BETA2 * V[i] + c2 * g * g)
            M[i] = m
            V[i] = v
            P[i] = _f32(P[i] - learning_rate * (m / bc1) / (math.sqrt(v / bc2) + EPS))
        M[o_b3] = BETA1 * M[o_b3] + c1 * gb3
        V[o_b3] = BETA2 * V[o_b3] + c2 * gb3 * gb3
        P[o_b3] = P[o_b3] - learning_rate * (M[o_b3] / bc1) / (math.sqrt(V[o_b3] / bc2) + EPS)
        if record_loss and (t % loss_every == 0 or t == max_iter):
            _transpose(W1, W1T)
            _transpose(W2, W2T)
            loss = 0.0
            for r in range(n_rows):
                p = _sigmoid(_forward(X[r], W1T, b1, W2T, b2, W3, P[o_b3], h1, h2))
                loss += _clamped_bce(p, y[r])
            hist_iter[hist_count[0]] = t
            hist_loss[hist_count[0]] = loss / n_rows
            hist_count[0] += 1


class _NoiseAhead:
    """The MLP's input noise, drawn one chunk ahead in a second thread.

    The draws do not depend on the weights (SPEC §8: after the init draws, the
    rng only serves the noise, row by row), so while one chunk of iterations
    trains (``_mlp_iterations`` releases the GIL) the next chunk's gaussians
    are drawn in order from the same rng. ``per_iteration`` 0 means no noise.
    """

    def __init__(self, state: np.ndarray, per_iteration: int, chunks: List[Tuple[int, int]]) -> None:
        self._state, self._per_iteration, self._chunks = state, per_iteration, chunks
        self._drawn = 0  # chunks drawn or being drawn
        self._pool = ThreadPoolExecutor(1) if per_iteration and len(chunks) > 1 else None
        self._pending = self._draw() if per_iteration else None

    def _draw(self) -> Future:
        begin, end = self._chunks[self._drawn]
        self._drawn += 1
        out = np.empty((end - begin) * self._per_iteration)
        if self._pool is not None:
            return self._pool.submit(_filled, self._state, out)
        done: Future = Future()
        done.set_result(_filled(self._state, out))
        return done

    def next(self) -> np.ndarray:
        """The gaussians of the next chunk (an empty array without noise)."""
        if self._pending is None:
            return _EMPTY
        out = self._pending.result()
        self._pending = self._draw() if self._drawn < len(self._chunks) else None
        return out

    def __enter__(self) -> "_NoiseAhead":
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)


_EMPTY = np.empty(0)


def _filled(state: np.ndarray, out: np.ndarray) -> np.ndarray:
    _gaussians(state, out)
    return out


def mlp_fit(
    X: Sequence[float], y: Sequence[int], n_rows: int, n_in: int, max_iter: int, alpha: float,
    learning_rate: float, seed: int, noise_std: float, record_loss: bool,
    progress=None, loss_every: int = LOSS_EVERY,
) -> Tuple[array, array, array, array, array, float, List[Dict[str, float]]]:
    """Full-batch Adam training; returns ``(W1, b1, W2, b2, W3, b3, loss history)`` (see ``pure``).

    The iterations run in chunks of ``_MLP_CHUNK``; ``progress(t, max_iter)`` is
    called for every iteration, after the chunk holding it.
    """
    if n_rows == 0:
        raise ZeroDivisionError("mlp_fit: zero rows (pure divides by n_rows)")
    n_in, max_iter = int(n_in), int(max_iter)
    x = _f64(X)[: n_rows * n_in].reshape(n_rows, n_in)
    yf = _f64(y)[:n_rows]
    state = seed_state(seed)
    P = _mlp_init(state, n_in)
    M = np.zeros_like(P)
    V = np.zeros_like(P)
    bcs = [_bias_corrections(t) for t in range(1, max_iter + 1)]  # V8's pow, in Python (as pure)
    bc1s = np.array([bc[0] for bc in bcs])
    bc2s = np.array([bc[1] for bc in bcs])
    hist_iter = np.empty(max_iter // int(loss_every) + 2, np.int64)
    hist_loss = np.empty(len(hist_iter))
    hist_count = np.zeros(1, np.int64)
    chunks = [(begin, min(begin + _MLP_CHUNK, max_iter)) for begin in range(0, max_iter, _MLP_CHUNK)]
    with _NoiseAhead(state, n_rows * n_in if noise_std else 0, chunks) as noise_ahead:
        for begin, end in chunks:
            _mlp_iterations(
                x, yf, n_in, begin, end, max_iter, float(alpha), float(learning_rate), float(noise_std),
                bool(record_loss), int(loss_every), P, M, V, noise_ahead.next(), bc1s, bc2s, hist_iter, hist_loss,
                hist_count,
            )
            if progress is not None:
                for t in range(begin + 1, end + 1):
                    progress(t, max_iter)
    o_b1, o_W2, o_b2, o_W3, o_b3 = _offsets.py_func(n_in)  # in Python: no kernel to load
    return (
        _to_f32(P[:o_b1]), _to_f32(P[o_b1:o_W2]), _to_f32(P[o_W2:o_b2]), _to_f32(P[o_b2:o_W3]),
        _to_f32(P[o_W3:o_b3]), float(P[o_b3]), _history(hist_iter, hist_loss, int(hist_count[0])),
    )


def mlp_predict(X: Sequence[float], n_rows: int, n_in: int, W1, b1, W2, b2, W3, b3: float) -> List[float]:
    """Sigmoid outputs of the MLP for ``n_rows`` inputs (f32 hidden layers, double logit)."""
    P = np.concatenate([_f64(W1), _f64(b1), _f64(W2), _f64(b2), _f64(W3), np.array([float(b3)])])
    x = _f64(X)[: n_rows * n_in].reshape(n_rows, n_in)
    return _mlp_probs(x, P, int(n_in)).tolist()
