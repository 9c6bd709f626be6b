"""The tabular MLP's hot loops in pure Python: the reference for ``tabular_jit``.

Layout and numbers (shared with the numba twin, which does the same
operations in the same order, so results are equal to the bit):

- All arithmetic and storage is float64. Parameters, Adam moments and
  gradients are flat ``array('d')`` in this layout, layer after layer:
  weights row-major ``[n_out][n_in]``, then the ``n_out`` biases
  (:func:`layout`). ``sizes`` is ``[n_features, hidden..., n_outputs]``.
- Forward: ``z[o] = b[o] + a[0]·W[o][0] + a[1]·W[o][1] + ...`` added in input
  order; inputs equal to 0 are skipped (so are the matching terms below, in
  both backends). Hidden layers: ReLU, then inverted dropout: one uniform
  ``u`` per hidden unit from xorshift32 (rows in batch order, layers in order,
  units in order), the unit is kept when ``u >= p`` and scaled by ``1/(1-p)``.
- Output and loss (``kind``, the :class:`~stingerml.core.dense.DenseNetwork` output
  name): ``softmax`` with cross-entropy ``log(s) - (z_c - max)``
  where ``s = Σ exp(z_k - max)`` in class order; ``sigmoid`` with binary
  cross-entropy ``max(z,0) - z·t + log(1 + exp(-|z|))``; ``linear`` with
  ``½ Σ (z - t)²``. The output error is ``p - t`` in all three cases.
  ``exp`` and ``log`` are :mod:`stingerml.core.jsmath`'s (fdlibm), as in the twin.
- Bounded regression targets (``activations``: one word per output of a ``linear``
  network, ``()`` = all linear): ``p = sigmoid(z)`` (the formula above) or
  ``p = tanh(z) = ±(1 - e)/(1 + e)`` with ``e = exp(-2|z|)``; the loss stays
  ``½ (p - t)²`` and the output error goes through the activation:
  ``(p - t)·p·(1 - p)`` (sigmoid), ``(p - t)·(1 - p·p)`` (tanh).
- Backward: per row, in batch order, ``G_W[o][i] += d[o]·a[i]``,
  ``G_b[o] += d[o]``; the error below is ``Σ_o W[o][i]·d[o]`` (outputs in
  order, from 0.0) times the dropout scale where the unit was active, else 0.
- Adam after each mini-batch of ``B`` rows: ``g = (G + alpha·W) / B`` for
  weights (L2 as scikit-learn's ``alpha``), ``g = G / B`` for biases;
  ``m = β1·m + (1-β1)·g``, ``v = β2·v + (1-β2)·g·g``,
  ``p = p - lr·(m/bc1) / (sqrt(v/bc2) + eps)`` with ``bc = 1 - β**t`` given by
  the caller (:func:`bias_corrections`, Python's ``**``). β1, β2 and ε are the
  blaster MLP's (:mod:`.pure`).
"""
from __future__ import annotations

import math
from array import array
from typing import List, Sequence, Tuple

from ..core.jsmath import exp as _exp
from ..core.jsmath import log as _log
from ..core.rng import XorShift32
from .pure import BETA1, BETA2, EPS, ordered_sum

__all__ = [  # the seam: the numba twin (tabular_jit.py) defines every one of these names
    "bias_corrections", "epoch_order", "forward", "layout", "n_params", "train_epoch",
]


def layout(sizes: Sequence[int]) -> List[Tuple[int, int]]:
    """``(weight offset, bias offset)`` of each layer in the flat parameter array."""
    out, off = [], 0
    for n_in, n_out in zip(sizes, sizes[1:]):
        out.append((off, off + n_in * n_out))
        off += n_in * n_out + n_out
    return out


def n_params(sizes: Sequence[int]) -> int:
    """Length of the flat parameter array for layer widths ``sizes``."""
    return sum(a * b + b for a, b in zip(sizes, sizes[1:]))


def bias_corrections(step: int, n_batches: int) -> Tuple[array, array]:
    """Adam's ``1 - β1**t`` and ``1 - β2**t`` for the batches ``t = step + 1 .. step + n_batches``."""
    ts = range(step + 1, step + n_batches + 1)
    return array("d", [1.0 - BETA1 ** t for t in ts]), array("d", [1.0 - BETA2 ** t for t in ts])


def _unpack(P: Sequence[float], sizes: Sequence[int]) -> Tuple[List[List[List[float]]], List[List[float]]]:
    """Per layer: weights as ``[n_out]`` lists of ``n_in`` floats, biases as a list."""
    Ws, bs = [], []
    for (w, b), n_in, n_out in zip(layout(sizes), sizes, sizes[1:]):
        Ws.append([list(P[w + o * n_in:w + (o + 1) * n_in]) for o in range(n_out)])
        bs.append(list(P[b:b + n_out]))
    return Ws, bs


def _pack(P: array, Ws, bs, sizes: Sequence[int]) -> None:
    for (w, b), W, bias, n_in, n_out in zip(layout(sizes), Ws, bs, sizes, sizes[1:]):
        for o in range(n_out):
            P[w + o * n_in:w + (o + 1) * n_in] = array("d", W[o])
        P[b:b + n_out] = array("d", bias)


def _affine(a: Sequence[float], WT, bias: List[float]) -> List[float]:
    """``bias + Σ_i a[i]·W[:, i]`` in input order, skipping zero inputs (``WT`` = columns)."""
    z = bias
    for ai, col in zip(a, WT):
        if ai != 0.0:
            z = [zz + ai * w for zz, w in zip(z, col)]
    return list(z)


def _sigmoid(v: float) -> float:
    if v >= 0.0:
        return 1.0 / (1.0 + _exp(-v))
    ev = _exp(v)
    return ev / (1.0 + ev)


def _tanh(v: float) -> float:
    e = _exp(-2.0 * abs(v))
    r = (1.0 - e) / (1.0 + e)
    return r if v >= 0.0 else -r


def _activate(v: float, act: str) -> float:
    """A regression output ``v`` through its activation word."""
    if act == "sigmoid":
        return _sigmoid(v)
    if act == "tanh":
        return _tanh(v)
    return v


def _error(p: float, t: float, act: str) -> float:
    """``∂(½ (p - t)²)/∂z`` of an output ``p = act(z)``."""
    if act == "sigmoid":
        return (p - t) * (p * (1.0 - p))
    if act == "tanh":
        return (p - t) * (1.0 - p * p)
    return p - t


def _output(z: List[float], t: Sequence[float], kind: str,
            activations: Sequence[str] = ()) -> Tuple[List[float], float]:
    """``(p, loss)`` of one row: probabilities/values and its loss against target ``t``."""
    if kind == "softmax":
        top = z[0]
        for v in z:
            if v > top:
                top = v
        e = [_exp(v - top) for v in z]
        s = ordered_sum(e)
        p = [v / s for v in e]
        if not t:
            return p, 0.0
        c = 0
        for k, tk in enumerate(t):
            if tk > 0.5:
                c = k
        return p, _log(s) - (z[c] - top)
    if kind == "sigmoid":
        v = z[0]
        p0 = _sigmoid(v)
        if not t:
            return [p0], 0.0
        return [p0], (v if v > 0.0 else 0.0) - v * t[0] + _log(1.0 + _exp(-abs(v)))
    p = [_activate(v, a) for v, a in zip(z, activations)] if activations else list(z)
    if not t:
        return p, 0.0
    loss = 0.0
    for v, tk in zip(p, t):
        loss += 0.5 * ((v - tk) * (v - tk))
    return p, loss


def epoch_order(n: int, rng_state: int) -> Tuple[Sequence[int], int]:
    """``0..n-1`` shuffled (Fisher–Yates, :meth:`XorShift32.shuffle`) from ``rng_state``; and the new state."""
    rng = XorShift32(rng_state)
    order = list(range(n))
    rng.shuffle(order)
    return order, rng.state


def train_epoch(
    P: array, M: array, V: array, sizes: Sequence[int], X: Sequence[float], T: Sequence[float],
    order: Sequence[int], batch_size: int, kind: str, dropout: float, alpha: float, lr: float,
    bc1: Sequence[float], bc2: Sequence[float], rng_state: int, activations: Sequence[str] = (),
) -> Tuple[float, int, int]:
    """One epoch of mini-batch Adam over the rows in ``order``; updates ``P``, ``M``, ``V`` in place.

    Args:
        X: flat ``n × sizes[0]`` scaled inputs; T: flat ``n × sizes[-1]`` targets
            (one-hot for softmax, 0/1 for sigmoid, values for linear).
        order: row indices in visiting order; batches are consecutive slices.
        kind: ``"softmax"``, ``"sigmoid"`` or ``"linear"``.
        bc1, bc2: ``1 - β1**t`` and ``1 - β2**t`` for each batch of the epoch (:func:`bias_corrections`).
        rng_state: xorshift32 state for the dropout draws.
        activations: for ``linear``, one of ``linear``/``sigmoid``/``tanh`` per output, or ``()`` (all linear).

    Returns:
        ``(sum of the rows' training losses, rows classified right, new rng state)``, all
        in training mode (with dropout); the count is 0 for regression.
    """
    n_in0, n_out = sizes[0], sizes[-1]
    L = len(sizes) - 1
    Ws, bs = _unpack(P, sizes)
    Ms, mbs = _unpack(M, sizes)
    Vs, vbs = _unpack(V, sizes)
    WTs = [[list(c) for c in zip(*W)] for W in Ws]
    rng = XorShift32(rng_state)
    keep_scale = 1.0 / (1.0 - dropout) if dropout > 0.0 else 1.0
    c1, c2 = 1.0 - BETA1, 1.0 - BETA2
    total = 0.0
    correct = 0
    for k, start in enumerate(range(0, len(order), batch_size)):
        batch = order[start:start + batch_size]
        GW = [[[0.0] * n for _ in range(m)] for n, m in zip(sizes, sizes[1:])]
        Gb = [[0.0] * m for m in sizes[1:]]
        for r in batch:
            acts = [X[r * n_in0:(r + 1) * n_in0]]
            for l in range(L - 1):
                z = _affine(acts[-1], WTs[l], bs[l])
                a = [v if v > 0.0 else 0.0 for v in z]
                if dropout > 0.0:
                    a = [v * keep_scale if rng() >= dropout else 0.0 for v in a]
                acts.append(a)
            z = _affine(acts[-1], WTs[L - 1], bs[L - 1])
            t = T[r * n_out:(r + 1) * n_out]
            p, loss = _output(z, t, kind, activations)
            total += loss
            correct += _correct(p, t, kind)
            if activations:
                d = [_error(pv, tv, a) for pv, tv, a in zip(p, t, activations)]
            else:
                d = [pv - tv for pv, tv in zip(p, t)]
            for l in range(L - 1, -1, -1):
                a_in = acts[l]
                G = GW[l]
                for o, do in enumerate(d):
                    if do != 0.0:
                        G[o] = [g + do * ai for g, ai in zip(G[o], a_in)]
                Gb[l] = [g + do for g, do in zip(Gb[l], d)]
                if l:
                    below = [0.0] * sizes[l]
                    for o, do in enumerate(d):
                        if do != 0.0:
                            below = [s + w * do for s, w in zip(below, Ws[l][o])]
                    d = [s * keep_scale if ai != 0.0 else 0.0 for s, ai in zip(below, a_in)]
        B = float(len(batch))
        b1, b2 = bc1[k], bc2[k]
        for l in range(L):
            for o in range(sizes[l + 1]):
                g = [(gs + alpha * w) / B for gs, w in zip(GW[l][o], Ws[l][o])]
                Ms[l][o] = m = [BETA1 * mv + c1 * gv for mv, gv in zip(Ms[l][o], g)]
                Vs[l][o] = v = [BETA2 * vv + c2 * (gv * gv) for vv, gv in zip(Vs[l][o], g)]
                Ws[l][o] = [w - lr * (mv / b1) / (math.sqrt(vv / b2) + EPS) for w, mv, vv in zip(Ws[l][o], m, v)]
            g = [gs / B for gs in Gb[l]]
            mbs[l] = m = [BETA1 * mv + c1 * gv for mv, gv in zip(mbs[l], g)]
            vbs[l] = v = [BETA2 * vv + c2 * (gv * gv) for vv, gv in zip(vbs[l], g)]
            bs[l] = [w - lr * (mv / b1) / (math.sqrt(vv / b2) + EPS) for w, mv, vv in zip(bs[l], m, v)]
            WTs[l] = [list(c) for c in zip(*Ws[l])]
    _pack(P, Ws, bs, sizes)
    _pack(M, Ms, mbs, sizes)
    _pack(V, Vs, vbs, sizes)
    return total, correct, rng.state


def _correct(p: Sequence[float], t: Sequence[float], kind: str) -> int:
    """1 when the row is classified right (first largest probability; sigmoid ``p >= 0.5``), else 0."""
    if kind == "sigmoid":
        return int((p[0] >= 0.5) == (t[0] > 0.5))
    if kind == "linear":
        return 0
    best = 0
    for k in range(len(p)):
        if p[k] > p[best]:
            best = k
    return int(t[best] > 0.5)


def forward(P: Sequence[float], sizes: Sequence[int], X: Sequence[float], n_rows: int, kind: str,
            T: Sequence[float] = (), activations: Sequence[str] = ()) -> Tuple[array, float]:
    """Outputs (probabilities or values, flat ``n_rows × sizes[-1]``, ``activations`` as :func:`train_epoch`)
    and, when targets ``T`` are given, the sum of the rows' losses (no dropout)."""
    n_in0, n_out = sizes[0], sizes[-1]
    L = len(sizes) - 1
    Ws, bs = _unpack(P, sizes)
    WTs = [[list(c) for c in zip(*W)] for W in Ws]
    out = array("d")
    total = 0.0
    for r in range(n_rows):
        a = X[r * n_in0:(r + 1) * n_in0]
        for l in range(L - 1):
            a = [v if v > 0.0 else 0.0 for v in _affine(a, WTs[l], bs[l])]
        p, loss = _output(_affine(a, WTs[L - 1], bs[L - 1]), T[r * n_out:(r + 1) * n_out] if len(T) else (), kind,
                          activations)
        out.extend(p)
        total += loss
    return out, total
