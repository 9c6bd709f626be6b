"""The tabular MLP's hot loops under numba: the twin of ``tabular_pure``, equal to the bit.

Same float64 operations in the same order as the reference (see its module
docstring for the layout and the formulas); no fastmath, ``exp``/``log`` are
the fdlibm ports of ``_jsmath_jit``, and the dropout uniforms come from the same
xorshift32 steps. For speed the forward pass reads a transposed copy of each
weight matrix (``[n_in][n_out]``, rebuilt after every update), so the inner
loops run over independent outputs and vectorize without reordering any sum;
the inner loops index contiguous slices (a view per weight row), which lets
LLVM vectorize them (twice as fast as indexing the flat arrays with offsets).
The wrappers pass ``array('d')`` buffers to the kernels without copying:
``P``, ``M`` and ``V`` are updated in place as in the reference.
"""
from __future__ import annotations

import math
from array import array
from typing import Sequence, Tuple

import numpy as np

from .jit import _f64, _ieee, _shuffle
from .jsmath_jit import exp as _exp
from .jsmath_jit import log as _log
from .rng_jit import next_double as _rng_next
from .tabular_pure import BETA1, BETA2, EPS, bias_corrections, layout, n_params

SOFTMAX, SIGMOID, LINEAR = 0, 1, 2  # the output kinds inside the compiled loops
_KINDS = {"softmax": SOFTMAX, "sigmoid": SIGMOID, "linear": LINEAR}
ACT_LINEAR, ACT_SIGMOID, ACT_TANH = 0, 1, 2  # a regression output's activation inside the compiled loops
_ACTS = {"linear": ACT_LINEAR, "sigmoid": ACT_SIGMOID, "tanh": ACT_TANH}


def _offsets(sizes: Sequence[int]) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    lay = layout(sizes)
    return (np.array(sizes, dtype=np.int64), np.array([w for w, _ in lay], dtype=np.int64),
            np.array([b for _, b in lay], dtype=np.int64))


def _view(values) -> np.ndarray:
    """A float64 numpy view of an ``array('d')`` (shared memory), else a float64 copy."""
    if isinstance(values, array) and values.typecode == "d":
        return np.frombuffer(values, dtype=np.float64) if len(values) else np.zeros(0)
    return _f64(values)


@_ieee
def _transpose(P, WT, w0, n_in, n_out):
    for o in range(n_out):
        for i in range(n_in):
            WT[w0 + i * n_out + o] = P[w0 + o * n_in + i]


@_ieee
def _affine(P, WT, acts, a0, n_in, n_out, w0, b0, z):
    for o in range(n_out):
        z[o] = P[b0 + o]
    for i in range(n_in):
        a = acts[a0 + i]
        if a != 0.0:
            w = WT[w0 + i * n_out:w0 + (i + 1) * n_out]
            for o in range(n_out):
                z[o] += a * w[o]


@_ieee
def _sigmoid(v):
    if v >= 0.0:
        return 1.0 / (1.0 + _exp(-v))
    ev = _exp(v)
    return ev / (1.0 + ev)


@_ieee
def _tanh(v):
    e = _exp(-2.0 * abs(v))
    r = (1.0 - e) / (1.0 + e)
    return r if v >= 0.0 else -r


@_ieee
def _error(p, t, act):
    if act == ACT_SIGMOID:
        return (p - t) * (p * (1.0 - p))
    if act == ACT_TANH:
        return (p - t) * (1.0 - p * p)
    return p - t


@_ieee
def _output(z, n, T, t0, has_t, kind, p, out_acts):
    """Writes probabilities/values into ``p[:n]``; returns the row's loss (0 without targets)."""
    if kind == SOFTMAX:
        top = z[0]
        for k in range(n):
            if z[k] > top:
                top = z[k]
        s = 0.0
        for k in range(n):
            p[k] = _exp(z[k] - top)
            s += p[k]
        for k in range(n):
            p[k] = p[k] / s
        if not has_t:
            return 0.0
        c = 0
        for k in range(n):
            if T[t0 + k] > 0.5:
                c = k
        return _log(s) - (z[c] - top)
    if kind == SIGMOID:
        v = z[0]
        p[0] = _sigmoid(v)
        if not has_t:
            return 0.0
        return (v if v > 0.0 else 0.0) - v * T[t0] + _log(1.0 + _exp(-abs(v)))
    loss = 0.0
    for k in range(n):
        if out_acts[k] == ACT_SIGMOID:
            p[k] = _sigmoid(z[k])
        elif out_acts[k] == ACT_TANH:
            p[k] = _tanh(z[k])
        else:
            p[k] = z[k]
        if has_t:
            loss += 0.5 * ((p[k] - T[t0 + k]) * (p[k] - T[t0 + k]))
    return loss


@_ieee
def _correct(p, T, t0, n, kind):
    if kind == SIGMOID:
        return 1 if (p[0] >= 0.5) == (T[t0] > 0.5) else 0
    if kind == LINEAR:
        return 0
    best = 0
    for k in range(n):
        if p[k] > p[best]:
            best = k
    return 1 if T[t0 + best] > 0.5 else 0


@_ieee
def _adam(p, m, v, g_sum, weights, alpha, B, b1, b2, lr, c1, c2):
    """Adam on one block (views): ``g = (G + alpha·W) / B`` for weights, ``G / B`` for biases,
    then the moments and the step, as the reference."""
    for j in range(p.shape[0]):
        g = (g_sum[j] + alpha * p[j]) / B if weights else g_sum[j] / B
        mj = BETA1 * m[j] + c1 * g
        vj = BETA2 * v[j] + c2 * (g * g)
        m[j] = mj
        v[j] = vj
        p[j] = p[j] - lr * (mj / b1) / (math.sqrt(vj / b2) + EPS)


@_ieee
def _layout_buffers(P, sizes, woff):
    L = sizes.shape[0] - 1
    WT = np.empty_like(P)
    for l in range(L):
        _transpose(P, WT, woff[l], sizes[l], sizes[l + 1])
    aoff = np.zeros(L + 1, dtype=np.int64)
    for l in range(L):
        aoff[l + 1] = aoff[l] + sizes[l]
    return WT, aoff, np.empty(aoff[L] + sizes[L]), np.empty(sizes.max())


@_ieee
def _train_epoch(P, M, V, sizes, woff, boff, X, T, order, batch_size, kind, dropout, alpha, lr,
                 bc1, bc2, state, c1, c2, out_acts):
    L = sizes.shape[0] - 1
    n0 = sizes[0]
    n_last = sizes[L]
    WT, aoff, acts, z = _layout_buffers(P, sizes, woff)
    d = np.empty(sizes.max())
    below = np.empty(sizes.max())
    G = np.empty_like(P)
    keep_scale = 1.0 / (1.0 - dropout) if dropout > 0.0 else 1.0
    total = 0.0
    correct = 0
    n = order.shape[0]
    k = 0
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        G[:] = 0.0
        for q in range(start, stop):
            r = order[q]
            for i in range(n0):
                acts[i] = X[r * n0 + i]
            for l in range(L - 1):
                n_out = sizes[l + 1]
                _affine(P, WT, acts, aoff[l], sizes[l], n_out, woff[l], boff[l], z)
                ao = aoff[l + 1]
                for o in range(n_out):
                    acts[ao + o] = z[o] if z[o] > 0.0 else 0.0
                if dropout > 0.0:
                    for o in range(n_out):
                        if _rng_next(state) >= dropout:
                            acts[ao + o] = acts[ao + o] * keep_scale
                        else:
                            acts[ao + o] = 0.0
            _affine(P, WT, acts, aoff[L - 1], sizes[L - 1], n_last, woff[L - 1], boff[L - 1], z)
            total += _output(z, n_last, T, r * n_last, True, kind, d, out_acts)
            correct += _correct(d, T, r * n_last, n_last, kind)
            for o in range(n_last):
                d[o] = _error(d[o], T[r * n_last + o], out_acts[o])
            for l in range(L - 1, -1, -1):
                n_in = sizes[l]
                n_out = sizes[l + 1]
                a0 = aoff[l]
                w0 = woff[l]
                a_in = acts[a0:a0 + n_in]
                for o in range(n_out):
                    do = d[o]
                    if do != 0.0:
                        g = G[w0 + o * n_in:w0 + (o + 1) * n_in]
                        for i in range(n_in):
                            g[i] = g[i] + do * a_in[i]
                for o in range(n_out):
                    G[boff[l] + o] = G[boff[l] + o] + d[o]
                if l > 0:
                    for i in range(n_in):
                        below[i] = 0.0
                    for o in range(n_out):
                        do = d[o]
                        if do != 0.0:
                            w = P[w0 + o * n_in:w0 + (o + 1) * n_in]
                            for i in range(n_in):
                                below[i] = below[i] + w[i] * do
                    for i in range(n_in):
                        d[i] = below[i] * keep_scale if acts[a0 + i] != 0.0 else 0.0
        B = float(stop - start)
        b1 = bc1[k]
        b2 = bc2[k]
        for l in range(L):
            w0 = woff[l]
            b0 = boff[l]
            end = b0 + sizes[l + 1]
            _adam(P[w0:b0], M[w0:b0], V[w0:b0], G[w0:b0], True, alpha, B, b1, b2, lr, c1, c2)
            _adam(P[b0:end], M[b0:end], V[b0:end], G[b0:end], False, alpha, B, b1, b2, lr, c1, c2)
            _transpose(P, WT, w0, sizes[l], sizes[l + 1])
        k += 1
    return total, correct


@_ieee
def _forward(P, sizes, woff, boff, X, n_rows, kind, T, has_t, out, out_acts):
    L = sizes.shape[0] - 1
    n0 = sizes[0]
    n_last = sizes[L]
    WT, aoff, acts, z = _layout_buffers(P, sizes, woff)
    p = np.empty(n_last)
    total = 0.0
    for r in range(n_rows):
        for i in range(n0):
            acts[i] = X[r * n0 + i]
        for l in range(L - 1):
            _affine(P, WT, acts, aoff[l], sizes[l], sizes[l + 1], woff[l], boff[l], z)
            for o in range(sizes[l + 1]):
                acts[aoff[l + 1] + o] = z[o] if z[o] > 0.0 else 0.0
        _affine(P, WT, acts, aoff[L - 1], sizes[L - 1], n_last, woff[L - 1], boff[L - 1], z)
        total += _output(z, n_last, T, r * n_last, has_t, kind, p, out_acts)
        for o in range(n_last):
            out[r * n_last + o] = p[o]
    return total


def epoch_order(n: int, rng_state: int) -> Tuple[Sequence[int], int]:
    """:func:`tabular_pure.epoch_order` under numba (the order as an int64 array)."""
    order = np.arange(n, dtype=np.int64)
    state = np.array([rng_state], dtype=np.int64)
    _shuffle(order, state)
    return order, int(state[0])


def train_epoch(
    P: array, M: array, V: array, sizes: Sequence[int], X: Sequence[float], T: Sequence[float],
    order: Sequence[int], batch_size: int, kind: str, dropout: float, alpha: float, lr: float,
    bc1: Sequence[float], bc2: Sequence[float], rng_state: int, activations: Sequence[str] = (),
) -> Tuple[float, int, int]:
    """:func:`tabular_pure.train_epoch` under numba (same arguments, same results)."""
    s, woff, boff = _offsets(sizes)
    state = np.array([rng_state], dtype=np.int64)
    total, correct = _train_epoch(_view(P), _view(M), _view(V), s, woff, boff, _view(X), _view(T),
                         np.asarray(order, dtype=np.int64), int(batch_size), _KINDS[kind], float(dropout),
                         float(alpha), float(lr), _view(bc1), _view(bc2), state, 1.0 - BETA1, 1.0 - BETA2,
                         _act_codes(activations, sizes[-1]))
    return float(total), int(correct), int(state[0])


def _act_codes(activations: Sequence[str], n_out: int) -> np.ndarray:
    """The activation codes of the outputs (all linear for ``()``)."""
    return np.array([_ACTS[a] for a in activations] if len(activations) else [ACT_LINEAR] * n_out, dtype=np.int64)


def forward(P: Sequence[float], sizes: Sequence[int], X: Sequence[float], n_rows: int, kind: str,
            T: Sequence[float] = (), activations: Sequence[str] = ()) -> Tuple[array, float]:
    """:func:`tabular_pure.forward` under numba."""
    s, woff, boff = _offsets(sizes)
    out = np.empty(n_rows * sizes[-1])
    has_t = len(T) > 0
    total = _forward(_view(P), s, woff, boff, _view(X), int(n_rows), _KINDS[kind],
                     _view(T) if has_t else np.zeros(1), has_t, out, _act_codes(activations, sizes[-1]))
    return array("d", out.tobytes()), float(total)
