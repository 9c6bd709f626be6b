"""The sequence models' hot loops in pure Python: the reference for ``sequence_jit``.

Two architectures over padded sequences ``X [N][T][F]`` (flat float64, features
already scaled) where sample ``n`` has ``lengths[n]`` valid steps first and
padding after (a *prefix mask*; nothing past a sample's length is ever read):

- **TCN** (``ARCH_TCN``): ``depth`` residual blocks; block ``l`` is a causal
  convolution with dilation ``2**l`` and ``k`` taps,
  ``z[t][o] = b[o] + Σ_j Σ_c W[o][c][j]·a[t - (k-1-j)·2**l][c]`` (taps before step 0
  are zeros; ``j`` outer, ``c`` inner, after the bias), then ReLU, then inverted
  dropout, plus the residual: the block's input (block 0: a 1×1 convolution
  ``Ws·x + bs`` when ``F != H``). Pooling over the valid steps: the mean
  (``POOL_AVG``: the sum in step order, then ``/ L``) or the last valid step
  (``POOL_LAST``).
- **LSTM** (``ARCH_LSTM``): ``depth`` (1 or 2) layers; gate rows in the order
  ``i, f, g, o`` (``z = b + W·x_t + R·h_{t-1}``; ``c = f·c_prev + i·g``,
  ``h = o·tanh(c)``, zero initial states); the last valid step's ``h`` of the top layer.

Both then apply inverted dropout to the pooled vector and a dense softmax head
``Wh [C][H]``, ``bh [C]`` with cross-entropy ``log(s) - (z_y - max)`` (``s = Σ
exp(z_k - max)`` in class order). ``exp`` is :mod:`stingerml.core.jsmath`'s (fdlibm);
``sigmoid(x) = 1/(1+exp(-x))`` for ``x >= 0`` else ``e/(1+e)``;
``tanh(x) = sign(x)·(1-e)/(1+e)`` with ``e = exp(-2|x|)``.

Dropout: one uniform ``u`` from xorshift32 per unit and valid step (TCN blocks in
order, steps then channels), then per pooled unit, rows in batch order; a unit is kept
(scaled by ``1/(1-p)``) when ``u >= p``. Gradients are exact backpropagation
(through time for the LSTM), summed over a mini-batch's rows in batch order; Adam as
the tabular kernels (``g = (G + alpha·w)/B`` for weights, ``G/B`` for biases).

The parameter layout (:func:`layout`), all float64, flat:
TCN: per block ``W [H][C_in][k]`` (ONNX ``Conv``'s layout), ``b [H]``; then, when
``F != H``, ``Ws [H][F]``, ``bs [H]``; then the head. LSTM: per layer ``W [4H][in]``,
``R [4H][H]``, ``b [4H]``; then the head.

The functions whose names start with ``_`` are written in the subset of Python that
numba compiles: :mod:`.sequence_jit` compiles *these same functions* (with the numba
``exp``, xorshift and buffers), so both backends run one text and give the same bits.
"""
from __future__ import annotations

import math
from array import array
from typing import List, Sequence, Tuple

from ..core.jsmath import exp as _exp
from ..core.jsmath import log as _log
from ..core.rng import INV_2_32, MASK32
from .pure import BETA1, BETA2, EPS

__all__ = [  # the seam: sequence_jit defines every one of these names
    "forward", "gradients", "layout", "make_spec", "n_params", "tcn_ranges", "train_epoch", "weight_flags",
]

ARCH_TCN, ARCH_LSTM = 0, 1
POOL_AVG, POOL_LAST = 0, 1
# positions in a spec array
S_ARCH, S_F, S_H, S_C, S_DEPTH, S_K, S_POOL = range(7)


def make_spec(arch: str, n_features: int, hidden: int, n_classes: int, depth: int,
              kernel_size: int = 3, pool: str = "avg") -> array:
    """The int64 spec array the kernels take: ``[arch, F, H, C, depth, k, pool]``."""
    return array("q", [ARCH_TCN if arch == "tcn" else ARCH_LSTM, n_features, hidden, n_classes, depth,
                       kernel_size, POOL_AVG if pool == "avg" else POOL_LAST])


def layout(spec: Sequence[int]) -> List[Tuple[str, int, Tuple[int, ...]]]:
    """``(name, offset, shape)`` of every parameter tensor, in order (names as in the module doc)."""
    arch, F, H, C, depth, k = (int(v) for v in spec[:6])
    out, off = [], 0

    def add(name: str, shape: Tuple[int, ...]) -> None:
        nonlocal off
        out.append((name, off, shape))
        size = 1
        for d in shape:
            size *= d
        off += size

    for l in range(depth):
        n_in = F if l == 0 else H
        if arch == ARCH_TCN:
            add(f"W{l}", (H, n_in, k))
            add(f"b{l}", (H,))
        else:
            add(f"W{l}", (4 * H, n_in))
            add(f"R{l}", (4 * H, H))
            add(f"b{l}", (4 * H,))
    if arch == ARCH_TCN and F != H:
        add("Ws", (H, F))
        add("bs", (H,))
    add("Wh", (C, H))
    add("bh", (C,))
    return out


def n_params(spec: Sequence[int]) -> int:
    """Length of the flat parameter array."""
    name, off, shape = layout(spec)[-1]
    return off + shape[0]


def weight_flags(spec: Sequence[int]) -> array:
    """1 for each parameter that L2 decays (weights), 0 for biases."""
    flags = array("b", bytes(n_params(spec)))
    for name, off, shape in layout(spec):
        if name[0] != "b":
            size = 1
            for d in shape:
                size *= d
            for i in range(off, off + size):
                flags[i] = 1
    return flags


# --- helpers that numba compiles (sequence_jit swaps _zeros, _uniform and _exp) --------------------


def _zeros(n):
    return [0.0] * n


def _uniform(state):
    """xorshift32 step on ``state[0]``; a double in [0, 1) (as :class:`stingerml.core.rng.XorShift32`)."""
    s = state[0]
    s ^= (s << 13) & MASK32
    s ^= s >> 17
    s ^= (s << 5) & MASK32
    state[0] = s
    return s * INV_2_32


def _sigmoid(x):
    if x >= 0.0:
        return 1.0 / (1.0 + _exp(-x))
    e = _exp(x)
    return e / (1.0 + e)


def _tanh(x):
    e = _exp(-2.0 * abs(x))
    t = (1.0 - e) / (1.0 + e)
    return t if x >= 0.0 else -t


def _block_off(spec, l):
    """Offset of TCN block ``l``'s weights (or LSTM layer ``l``'s ``W``)."""
    F, H, k = spec[1], spec[2], spec[5]
    off = 0
    for j in range(l):
        n_in = F if j == 0 else H
        if spec[0] == 0:
            off += H * n_in * k + H
        else:
            off += 4 * H * n_in + 4 * H * H + 4 * H
    return off


def _head_off(spec):
    F, H, depth = spec[1], spec[2], spec[4]
    off = _block_off(spec, depth)
    if spec[0] == 0 and F != H:
        off += H * F + H
    return off


def _load_input(X, x0, L, F, buf):
    for i in range(L * F):
        buf[i] = X[x0 + i]


def _tcn_forward(P, spec, inp, L, T, A, Z, D, dropout, keep, state):
    """Blocks of one sample: block ``l``'s pre-activations in ``Z``, dropout scales in ``D`` and
    outputs in ``A`` (each at ``(l·T + t)·H``); the input ``inp`` is ``[L][F]``."""
    F, H, depth, k = spec[1], spec[2], spec[4], spec[5]
    for l in range(depth):
        n_in = F if l == 0 else H
        w0 = _block_off(spec, l)
        b0 = w0 + H * n_in * k
        d = 1 << l
        for t in range(L):
            for o in range(H):
                z = P[b0 + o]
                for j in range(k):
                    s = t - (k - 1 - j) * d
                    if s >= 0:
                        for c in range(n_in):
                            if l == 0:
                                v = inp[s * F + c]
                            else:
                                v = A[((l - 1) * T + s) * H + c]
                            z += P[w0 + (o * n_in + c) * k + j] * v
                Z[(l * T + t) * H + o] = z
                h = z if z > 0.0 else 0.0
                m = 1.0
                if dropout > 0.0:
                    m = keep if _uniform(state) >= dropout else 0.0
                D[(l * T + t) * H + o] = m
                if l == 0:
                    if F != H:
                        s0 = _head_off(spec) - (H * F + H)
                        r = P[s0 + H * F + o]
                        for c in range(F):
                            r += P[s0 + o * F + c] * inp[t * F + c]
                    else:
                        r = inp[t * F + o]
                else:
                    r = A[((l - 1) * T + t) * H + o]
                A[(l * T + t) * H + o] = h * m + r


def _lstm_forward(P, spec, inp, L, T, GT, CS, TC, HS, xin):
    """Layers of one sample: activated gates ``i, f, g, o`` in ``GT`` (at ``(l·T + t)·4H``),
    cell states ``CS``, their tanh ``TC`` and hidden states ``HS`` (at ``(l·T + t)·H``)."""
    F, H, depth = spec[1], spec[2], spec[4]
    for l in range(depth):
        n_in = F if l == 0 else H
        w0 = _block_off(spec, l)
        r0 = w0 + 4 * H * n_in
        b0 = r0 + 4 * H * H
        for t in range(L):
            for c in range(n_in):
                xin[c] = inp[t * F + c] if l == 0 else HS[((l - 1) * T + t) * H + c]
            g0 = (l * T + t) * 4 * H
            for q in range(4 * H):
                z = P[b0 + q]
                for c in range(n_in):
                    z += P[w0 + q * n_in + c] * xin[c]
                if t > 0:
                    for j in range(H):
                        z += P[r0 + q * H + j] * HS[(l * T + t - 1) * H + j]
                if 2 * H <= q < 3 * H:
                    GT[g0 + q] = _tanh(z)
                else:
                    GT[g0 + q] = _sigmoid(z)
            for o in range(H):
                c_prev = CS[(l * T + t - 1) * H + o] if t > 0 else 0.0
                cs = GT[g0 + H + o] * c_prev + GT[g0 + o] * GT[g0 + 2 * H + o]
                CS[(l * T + t) * H + o] = cs
                tc = _tanh(cs)
                TC[(l * T + t) * H + o] = tc
                HS[(l * T + t) * H + o] = GT[g0 + 3 * H + o] * tc


def _pool(spec, L, T, A, HS, pooled):
    H, depth = spec[2], spec[4]
    top = (depth - 1) * T
    if spec[0] == 1:
        for o in range(H):
            pooled[o] = HS[(top + L - 1) * H + o]
    elif spec[6] == 1:
        for o in range(H):
            pooled[o] = A[(top + L - 1) * H + o]
    else:
        for o in range(H):
            s = 0.0
            for t in range(L):
                s += A[(top + t) * H + o]
            pooled[o] = s / L


def _head(P, spec, pooled, feat, hm, dropout, keep, state, probs, y):
    """Dropout on the pooled vector (``feat``, scales ``hm``), the softmax head; returns the
    cross-entropy against class ``y`` (0 when ``y < 0``)."""
    H, C = spec[2], spec[3]
    h0 = _head_off(spec)
    for o in range(H):
        m = 1.0
        if dropout > 0.0:
            m = keep if _uniform(state) >= dropout else 0.0
        hm[o] = m
        feat[o] = pooled[o] * m
    for c in range(C):
        z = P[h0 + C * H + c]
        for o in range(H):
            z += P[h0 + c * H + o] * feat[o]
        probs[c] = z
    top = probs[0]
    for c in range(C):
        if probs[c] > top:
            top = probs[c]
    zy = probs[y] if y >= 0 else 0.0
    s = 0.0
    for c in range(C):
        probs[c] = _exp(probs[c] - top)
        s += probs[c]
    for c in range(C):
        probs[c] = probs[c] / s
    if y < 0:
        return 0.0
    return _log(s) - (zy - top)


def _head_backward(P, G, spec, feat, hm, probs, y, dpooled):
    H, C = spec[2], spec[3]
    h0 = _head_off(spec)
    for o in range(H):
        dpooled[o] = 0.0
    for c in range(C):
        dl = probs[c] - (1.0 if c == y else 0.0)
        G[h0 + C * H + c] += dl
        for o in range(H):
            G[h0 + c * H + o] += dl * feat[o]
            dpooled[o] += P[h0 + c * H + o] * dl
    for o in range(H):
        dpooled[o] = dpooled[o] * hm[o]


def _tcn_backward(P, G, spec, inp, L, T, A, Z, D, dpooled, dA, dIn):
    F, H, depth, k = spec[1], spec[2], spec[4], spec[5]
    for i in range(L * H):
        dA[i] = 0.0
    if spec[6] == 1:
        for o in range(H):
            dA[(L - 1) * H + o] = dpooled[o]
    else:
        for t in range(L):
            for o in range(H):
                dA[t * H + o] = dpooled[o] / L
    for l in range(depth - 1, -1, -1):
        n_in = F if l == 0 else H
        w0 = _block_off(spec, l)
        b0 = w0 + H * n_in * k
        d = 1 << l
        if l > 0:
            for i in range(L * H):
                dIn[i] = dA[i]  # the residual path
        for t in range(L):
            for o in range(H):
                g = dA[t * H + o]
                if l == 0 and F != H:
                    s0 = _head_off(spec) - (H * F + H)
                    G[s0 + H * F + o] += g
                    for c in range(F):
                        G[s0 + o * F + c] += g * inp[t * F + c]
                e = (l * T + t) * H + o
                if Z[e] <= 0.0 or D[e] == 0.0:
                    continue
                dz = g * D[e]
                G[b0 + o] += dz
                for j in range(k):
                    s = t - (k - 1 - j) * d
                    if s >= 0:
                        for c in range(n_in):
                            wi = w0 + (o * n_in + c) * k + j
                            if l == 0:
                                G[wi] += dz * inp[s * F + c]
                            else:
                                G[wi] += dz * A[((l - 1) * T + s) * H + c]
                                dIn[s * H + c] += P[wi] * dz
        if l > 0:
            for i in range(L * H):
                dA[i] = dIn[i]


def _lstm_backward(P, G, spec, inp, L, T, GT, CS, TC, HS, dpooled, dA, dIn, dh_next, dc_next, dz, xin):
    F, H, depth = spec[1], spec[2], spec[4]
    for i in range(L * H):
        dA[i] = 0.0
    for o in range(H):
        dA[(L - 1) * H + o] = dpooled[o]
    for l in range(depth - 1, -1, -1):
        n_in = F if l == 0 else H
        w0 = _block_off(spec, l)
        r0 = w0 + 4 * H * n_in
        b0 = r0 + 4 * H * H
        for o in range(H):
            dh_next[o] = 0.0
            dc_next[o] = 0.0
        for t in range(L - 1, -1, -1):
            g0 = (l * T + t) * 4 * H
            for o in range(H):
                e = (l * T + t) * H + o
                dh = dA[t * H + o] + dh_next[o]
                gi, gf, gg, go = GT[g0 + o], GT[g0 + H + o], GT[g0 + 2 * H + o], GT[g0 + 3 * H + o]
                tc = TC[e]
                c_prev = CS[e - H] if t > 0 else 0.0
                dc = dh * go * (1.0 - tc * tc) + dc_next[o]
                dz[o] = dc * gg * (gi * (1.0 - gi))
                dz[H + o] = dc * c_prev * (gf * (1.0 - gf))
                dz[2 * H + o] = dc * gi * (1.0 - gg * gg)
                dz[3 * H + o] = dh * tc * (go * (1.0 - go))
                dc_next[o] = dc * gf
            for c in range(n_in):
                xin[c] = inp[t * F + c] if l == 0 else HS[((l - 1) * T + t) * H + c]
            for q in range(4 * H):
                gq = dz[q]
                G[b0 + q] += gq
                for c in range(n_in):
                    G[w0 + q * n_in + c] += gq * xin[c]
                if t > 0:
                    for j in range(H):
                        G[r0 + q * H + j] += gq * HS[(l * T + t - 1) * H + j]
            for j in range(H):
                s = 0.0
                for q in range(4 * H):
                    s += P[r0 + q * H + j] * dz[q]
                dh_next[j] = s
            if l > 0:
                for c in range(n_in):
                    s = 0.0
                    for q in range(4 * H):
                        s += P[w0 + q * n_in + c] * dz[q]
                    dIn[t * H + c] = s
        if l > 0:
            for i in range(L * H):
                dA[i] = dIn[i]


def _rows(P, G, spec, X, lengths, Y, T, order, start, stop, dropout, state, probs_out, backward):
    """Forward (and, when ``backward``, backward into ``G``) for the rows ``order[start:stop]``;
    returns ``(sum of losses, rows classified right)``; probabilities into ``probs_out`` (``[N][C]``
    by row index) when it is not empty."""
    F, H, C, depth = spec[1], spec[2], spec[3], spec[4]
    keep = 1.0 / (1.0 - dropout) if dropout > 0.0 else 1.0
    inp = _zeros(T * F)
    A = _zeros(depth * T * H)
    Z = _zeros(depth * T * H)
    D = _zeros(depth * T * H)
    GT = _zeros(depth * T * 4 * H)
    xin = _zeros(F + H)
    pooled = _zeros(H)
    feat = _zeros(H)
    hm = _zeros(H)
    probs = _zeros(C)
    dpooled = _zeros(H)
    dA = _zeros(T * H)
    dIn = _zeros(T * (F + H))
    dh_next = _zeros(H)
    dc_next = _zeros(H)
    dz = _zeros(4 * H)
    total = 0.0
    correct = 0
    for i in range(start, stop):
        r = order[i]
        L = lengths[r]
        y = Y[r] if len(Y) > 0 else -1
        _load_input(X, r * T * F, L, F, inp)
        if spec[0] == 0:
            _tcn_forward(P, spec, inp, L, T, A, Z, D, dropout, keep, state)
        else:  # the LSTM keeps its cell states in Z, their tanh in D and its hidden states in A
            _lstm_forward(P, spec, inp, L, T, GT, Z, D, A, xin)
        _pool(spec, L, T, A, A, pooled)
        total += _head(P, spec, pooled, feat, hm, dropout, keep, state, probs, y)
        best = 0
        for c in range(C):
            if probs[c] > probs[best]:
                best = c
            if len(probs_out) > 0:
                probs_out[r * C + c] = probs[c]
        if best == y:
            correct += 1
        if backward:
            _head_backward(P, G, spec, feat, hm, probs, y, dpooled)
            if spec[0] == 0:
                _tcn_backward(P, G, spec, inp, L, T, A, Z, D, dpooled, dA, dIn)
            else:
                _lstm_backward(P, G, spec, inp, L, T, GT, Z, D, A, dpooled, dA, dIn, dh_next, dc_next, dz, xin)
    return total, correct


def _adam(P, M, V, G, flags, alpha, B, b1, b2, lr):
    c1, c2 = 1.0 - BETA1, 1.0 - BETA2
    for i in range(len(P)):
        g = (G[i] + alpha * P[i]) / B if flags[i] else G[i] / B
        m = BETA1 * M[i] + c1 * g
        v = BETA2 * V[i] + c2 * (g * g)
        M[i] = m
        V[i] = v
        P[i] = P[i] - lr * (m / b1) / (math.sqrt(v / b2) + EPS)


def _train(P, M, V, G, flags, spec, X, lengths, Y, T, order, batch_size, dropout, alpha, lr, bc1, bc2, state):
    total = 0.0
    correct = 0
    n = len(order)
    k = 0
    for start in range(0, n, batch_size):
        stop = min(n, start + batch_size)
        for i in range(len(G)):
            G[i] = 0.0
        loss, right = _rows(P, G, spec, X, lengths, Y, T, order, start, stop, dropout, state, _zeros(0), True)
        total += loss
        correct += right
        _adam(P, M, V, G, flags, alpha, float(stop - start), bc1[k], bc2[k], lr)
        k += 1
    return total, correct


def _tcn_ranges(P, spec, X, lengths, T, n, out, state):
    """min/max of every TCN tensor over the valid steps of ``n`` samples (no dropout), into ``out``:
    at ``4·l`` block ``l``'s ReLU output (lo, hi) and its output after the residual (lo, hi); at
    ``4·depth`` block 0's 1×1 skip (lo, hi; when ``F != H``); at ``4·depth + 2`` the logits (lo, hi)."""
    F, H, C, depth = spec[1], spec[2], spec[3], spec[4]
    inp = _zeros(T * F)
    A = _zeros(depth * T * H)
    Z = _zeros(depth * T * H)
    D = _zeros(depth * T * H)
    pooled = _zeros(H)
    for i in range(0, 4 * depth + 4, 2):
        out[i] = 1e308
        out[i + 1] = -1e308
    h0 = _head_off(spec)
    for r in range(n):
        L = lengths[r]
        _load_input(X, r * T * F, L, F, inp)
        _tcn_forward(P, spec, inp, L, T, A, Z, D, 0.0, 1.0, state)
        for l in range(depth):
            for i in range(l * T * H, (l * T + L) * H):
                h = Z[i] if Z[i] > 0.0 else 0.0
                out[4 * l] = min(out[4 * l], h)
                out[4 * l + 1] = max(out[4 * l + 1], h)
                out[4 * l + 2] = min(out[4 * l + 2], A[i])
                out[4 * l + 3] = max(out[4 * l + 3], A[i])
                if l == 0 and F != H:
                    s = A[i] - h
                    out[4 * depth] = min(out[4 * depth], s)
                    out[4 * depth + 1] = max(out[4 * depth + 1], s)
        _pool(spec, L, T, A, A, pooled)
        for c in range(C):
            z = P[h0 + C * H + c]
            for o in range(H):
                z += P[h0 + c * H + o] * pooled[o]
            out[4 * depth + 2] = min(out[4 * depth + 2], z)
            out[4 * depth + 3] = max(out[4 * depth + 3], z)


# --- the public kernels -----------------------------------------------------------------------------

def train_epoch(P: array, M: array, V: array, spec: Sequence[int], X: Sequence[float], lengths: Sequence[int],
                Y: Sequence[int], T: int, order: Sequence[int], batch_size: int, dropout: float, alpha: float,
                lr: float, bc1: Sequence[float], bc2: Sequence[float], rng_state: int,
                flags: Sequence[int]) -> Tuple[float, int, int]:
    """One epoch of mini-batch Adam over the samples in ``order``; updates ``P``, ``M``, ``V`` in place.

    Args:
        spec: :func:`make_spec`; X: flat ``N × T × F`` scaled inputs; lengths: valid steps per
            sample (1..T); Y: class codes; bc1, bc2: Adam's bias corrections per batch
            (the tabular kernels' ``bias_corrections``); flags: :func:`weight_flags`.

    Returns:
        ``(sum of the samples' training losses, samples classified right, new rng state)``.
    """
    state = [rng_state]
    G = _zeros(len(P))
    total, correct = _train(P, M, V, G, flags, spec, X, lengths, Y, T, order, batch_size, dropout, alpha, lr,
                            bc1, bc2, state)
    return total, correct, state[0]


def gradients(P: Sequence[float], spec: Sequence[int], X: Sequence[float], lengths: Sequence[int],
              Y: Sequence[int], T: int, rows: Sequence[int], dropout: float = 0.0,
              rng_state: int = 1) -> Tuple[array, float]:
    """The gradient (summed over ``rows``) of the summed cross-entropy, and that loss."""
    G = _zeros(len(P))
    loss, _ = _rows(P, G, spec, X, lengths, Y, T, rows, 0, len(rows), dropout, [rng_state], _zeros(0), True)
    return array("d", G), loss


def forward(P: Sequence[float], spec: Sequence[int], X: Sequence[float], lengths: Sequence[int], T: int,
            n: int, Y: Sequence[int] = ()) -> Tuple[array, float]:
    """Probabilities (flat ``n × C``, no dropout) and, given class codes ``Y``, the sum of the losses."""
    probs = _zeros(n * spec[S_C])
    loss, _ = _rows(P, _zeros(0), spec, X, lengths, Y, T, list(range(n)), 0, n, 0.0, [1], probs, False)
    return array("d", probs), loss


def tcn_ranges(P: Sequence[float], spec: Sequence[int], X: Sequence[float], lengths: Sequence[int], T: int,
               n: int) -> array:
    """The int8 calibration ranges of a TCN on ``n`` samples of scaled inputs ``X`` (flat ``n × T × F``):
    ``4·depth + 4`` floats, laid out as :func:`_tcn_ranges` says."""
    out = _zeros(4 * spec[4] + 4)
    _tcn_ranges(P, spec, X, lengths, T, n, out, [1])
    return array("d", out)
