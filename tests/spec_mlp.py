"""A literal, slow port of SPEC §8 (MLP training): the oracle for the fast pure kernel.

Written from the spec text alone, one element at a time: ``f32`` is a ``struct``
round trip, every sum is an explicit accumulator in SPEC order, nothing is
skipped, transposed or batched. Only for tests on small problems.
"""
from __future__ import annotations

import math
import struct
from typing import Dict, List, Sequence, Tuple

from stingerml.core import jsmath
from stingerml.core.rng import XorShift32

_F = struct.Struct("<f")


def f32(x: float) -> float:
    return _F.unpack(_F.pack(x))[0]


def sigmoid(z: float) -> float:
    if z > 20.0:
        return 1.0
    if z < -20.0:
        return 0.0
    return 1.0 / (1.0 + jsmath.exp(-z))


def bce(p: float, y: float) -> float:
    pc = min(max(p, 1e-7), 1.0 - 1e-7)
    return -(y * jsmath.log(pc) + (1 - y) * jsmath.log(1.0 - pc))


def relu_layer(W, b, inp) -> List[float]:
    """``f32(relu(b[j] + Σ_k W[j][k]*inp[k]))``, the sum a double starting at ``b[j]``, k in order."""
    out = []
    for j in range(len(W)):
        s = b[j]
        for k in range(len(inp)):
            s += W[j][k] * inp[k]
        out.append(f32(s if s > 0 else 0.0))
    return out


def forward(x, W1, b1, W2, b2, W3, b3) -> Tuple[List[float], List[float], float]:
    h1 = relu_layer(W1, b1, x)
    h2 = relu_layer(W2, b2, h1)
    z = b3
    for k in range(len(h2)):
        z += W3[k] * h2[k]
    return h1, h2, z


def mlp_fit(X: Sequence[float], y: Sequence[int], n: int, n_in: int, max_iter: int, alpha: float,
            lr: float, seed: int, noise_std: float, record_loss: bool):
    """Same signature and result layout as ``pure.mlp_fit`` (flat W1, b1, W2, b2, W3; b3; history)."""
    rng = XorShift32(seed)
    W1 = [[f32(rng.gaussian() * math.sqrt(2.0 / n_in)) for _ in range(n_in)] for _ in range(64)]
    W2 = [[f32(rng.gaussian() * math.sqrt(2.0 / 64)) for _ in range(64)] for _ in range(32)]
    W3 = [f32(rng.gaussian() * math.sqrt(2.0 / 32)) for _ in range(32)]
    b1, b2, b3 = [0.0] * 64, [0.0] * 32, 0.0
    rows = [[X[r * n_in + k] for k in range(n_in)] for r in range(n)]
    params = {"W1": W1, "b1": b1, "W2": W2, "b2": b2, "W3": W3}
    m = {k: _zeros_like(v) for k, v in params.items()}
    v = {k: _zeros_like(p) for k, p in params.items()}
    mb3 = vb3 = 0.0
    history: List[Dict[str, float]] = []
    for it in range(max_iter):
        t = it + 1
        gW1, gb1 = [[0.0] * n_in for _ in range(64)], [0.0] * 64
        gW2, gb2 = [[0.0] * 64 for _ in range(32)], [0.0] * 32
        gW3, gb3 = [0.0] * 32, 0.0
        for r in range(n):
            x = [f32(rows[r][k] + noise_std * rng.gaussian()) for k in range(n_in)] if noise_std else rows[r]
            h1, h2, z = forward(x, W1, b1, W2, b2, W3, b3)
            dz = sigmoid(z) - y[r]
            for k in range(32):
                gW3[k] = f32(gW3[k] + dz * h2[k])
            gb3 += dz
            dh2 = [f32(dz * W3[j] * (1 if h2[j] > 0 else 0)) for j in range(32)]
            for j in range(32):
                for k in range(64):
                    gW2[j][k] = f32(gW2[j][k] + dh2[j] * h1[k])
                gb2[j] = f32(gb2[j] + dh2[j])
            for j in range(64):
                s = 0.0
                for k in range(32):
                    s += dh2[k] * W2[k][j]
                dh1 = f32(s * (1 if h1[j] > 0 else 0))
                for k in range(n_in):
                    gW1[j][k] = f32(gW1[j][k] + dh1 * x[k])
                gb1[j] = f32(gb1[j] + dh1)
        inv = 1 / n
        grads = {
            "W1": [[f32(g * inv + alpha * w) for g, w in zip(gr, wr)] for gr, wr in zip(gW1, W1)],
            "b1": [f32(g * inv) for g in gb1],
            "W2": [[f32(g * inv + alpha * w) for g, w in zip(gr, wr)] for gr, wr in zip(gW2, W2)],
            "b2": [f32(g * inv) for g in gb2],
            "W3": [f32(g * inv + alpha * w) for g, w in zip(gW3, W3)],
        }
        gb3 = gb3 * inv
        bc1, bc2 = 1 - jsmath.pow(0.9, t), 1 - jsmath.pow(0.999, t)  # JavaScript's Math.pow
        for name in ("W1", "b1", "W2", "b2", "W3"):
            _adam(params[name], grads[name], m[name], v[name], lr, bc1, bc2)
        mb3 = 0.9 * mb3 + (1 - 0.9) * gb3
        vb3 = 0.999 * vb3 + (1 - 0.999) * gb3 * gb3
        b3 = b3 - lr * (mb3 / bc1) / (math.sqrt(vb3 / bc2) + 1e-8)
        if record_loss and (t % 16 == 0 or t == max_iter):
            loss = 0.0
            for r in range(n):
                loss += bce(sigmoid(forward(rows[r], W1, b1, W2, b2, W3, b3)[2]), y[r])
            history.append({"iter": t, "loss": loss / n})
    flat = lambda M: [w for row in M for w in row]  # noqa: E731
    return flat(W1), b1, flat(W2), b2, W3, b3, history


def _zeros_like(p):
    return [_zeros_like(q) for q in p] if isinstance(p[0], list) else [0.0] * len(p)


def _adam(p, g, m, v, lr, bc1, bc2) -> None:
    """In place, element by element, recursing into rows."""
    for i in range(len(p)):
        if isinstance(p[i], list):
            _adam(p[i], g[i], m[i], v[i], lr, bc1, bc2)
            continue
        m[i] = f32(0.9 * m[i] + (1 - 0.9) * g[i])
        v[i] = f32(0.999 * v[i] + (1 - 0.999) * g[i] * g[i])
        p[i] = f32(p[i] - lr * (m[i] / bc1) / (math.sqrt(v[i] / bc2) + 1e-8))
