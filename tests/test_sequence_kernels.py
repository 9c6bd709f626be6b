"""Sequence kernels (TCN, LSTM): gradients against float64 central differences, the mask contract,
and the numba twin against the reference, bit for bit."""
from __future__ import annotations

import random
from array import array

import pytest

from stingerml._kernels import sequence_pure as pure
from stingerml._kernels import tabular_pure

try:
    from stingerml._kernels import sequence_jit as jit
except ImportError:  # numba not installed
    jit = None

BACKENDS = [pytest.param(pure, id="python"),
            pytest.param(jit, id="numba", marks=pytest.mark.skipif(jit is None, reason="numba not installed"))]

# (arch, F, H, C, depth, k, pool, T, lengths): every layer type, both poolings, residual by
# projection (F != H) and by identity (F == H), full, partial and one-step samples
CASES = [
    ("tcn", 3, 4, 3, 2, 3, "avg", 6, [6, 3, 1]),
    ("tcn", 4, 4, 2, 3, 2, "last", 9, [9, 5, 1]),
    ("tcn", 2, 3, 3, 1, 3, "last", 4, [2, 4]),
    ("lstm", 3, 4, 3, 1, 3, "avg", 5, [5, 2, 1]),
    ("lstm", 3, 4, 2, 2, 3, "avg", 5, [5, 3, 1]),
]


def _problem(case, seed=1):
    arch, F, H, C, depth, k, pool, T, lengths = case
    spec = pure.make_spec(arch, F, H, C, depth, k, pool)
    rnd = random.Random(seed)
    P = array("d", [rnd.uniform(-0.7, 0.7) for _ in range(pure.n_params(spec))])
    N = len(lengths)
    X = [rnd.gauss(0.0, 1.0) for _ in range(N * T * F)]
    Y = [rnd.randrange(C) for _ in range(N)]
    return spec, P, X, list(lengths), Y, T


@pytest.mark.parametrize("K", BACKENDS)
@pytest.mark.parametrize("dropout", [0.0, 0.4])
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-d{c[4]}-{c[6]}-F{c[1]}H{c[2]}")
def test_gradients_match_central_differences(K, case, dropout):
    spec, P, X, lengths, Y, T = _problem(case)
    rows = list(range(len(lengths)))
    state = 987654321  # the same dropout draws for every evaluation (they do not depend on P)
    G, _ = K.gradients(P, spec, X, lengths, Y, T, rows, dropout, state)
    h = 1e-6
    for i in range(len(P)):
        plus, minus = array("d", P), array("d", P)
        plus[i] += h
        minus[i] -= h
        fd = (K.gradients(plus, spec, X, lengths, Y, T, rows, dropout, state)[1]
              - K.gradients(minus, spec, X, lengths, Y, T, rows, dropout, state)[1]) / (2 * h)
        assert abs(fd - G[i]) <= 1e-6 + 1e-5 * abs(fd), (i, fd, G[i])
    if dropout == 0.0:  # the loss of gradients() is forward()'s loss
        assert K.gradients(P, spec, X, lengths, Y, T, rows)[1] == K.forward(P, spec, X, lengths, T, len(rows), Y)[1]


@pytest.mark.parametrize("K", BACKENDS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-d{c[4]}-{c[6]}")
def test_padding_never_read(K, case):
    """Steps past a sample's length do not change its probabilities, loss or gradient (to the bit)."""
    spec, P, X, lengths, Y, T = _problem(case)
    F = spec[pure.S_F]
    rnd = random.Random(5)
    X2 = list(X)
    for n, L in enumerate(lengths):
        for i in range((n * T + L) * F, (n + 1) * T * F):
            X2[i] = rnd.choice([1e30, -7.0, float("nan"), 0.0])
    rows = list(range(len(lengths)))
    assert K.forward(P, spec, X, lengths, T, len(rows), Y) == K.forward(P, spec, X2, lengths, T, len(rows), Y)
    assert K.gradients(P, spec, X, lengths, Y, T, rows, 0.3, 7) == K.gradients(P, spec, X2, lengths, Y, T, rows, 0.3, 7)


def test_probabilities_sum_to_one_and_layout():
    spec, P, X, lengths, Y, T = _problem(CASES[0])
    probs, _ = pure.forward(P, spec, X, lengths, T, len(lengths))
    C = spec[pure.S_C]
    for n in range(len(lengths)):
        assert abs(sum(probs[n * C:(n + 1) * C]) - 1.0) < 1e-12
    names = [name for name, _, _ in pure.layout(spec)]
    assert names == ["W0", "b0", "W1", "b1", "Ws", "bs", "Wh", "bh"]
    assert sum(pure.weight_flags(spec)) == 4 * 3 * 3 + 4 * 4 * 3 + 4 * 3 + 3 * 4


@pytest.mark.skipif(jit is None, reason="numba not installed")
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-d{c[4]}-{c[6]}")
def test_numba_twin_same_bits(case):
    spec, P, X, lengths, Y, T = _problem(case, seed=3)
    N = len(lengths)
    rnd = random.Random(4)
    lengths = [rnd.randint(1, T) for _ in range(3 * N)]
    X = [rnd.gauss(0.0, 1.0) for _ in range(len(lengths) * T * spec[pure.S_F])]
    Y = [rnd.randrange(spec[pure.S_C]) for _ in lengths]
    order = list(range(len(lengths)))
    rnd.shuffle(order)
    bc1, bc2 = tabular_pure.bias_corrections(4, 3)
    results = []
    for K in (pure, jit):
        Pk, M, V = array("d", P), array("d", [0.01] * len(P)), array("d", [0.02] * len(P))
        out = K.train_epoch(Pk, M, V, spec, X, lengths, Y, T, order, 4, 0.25, 1e-3, 1e-2, bc1, bc2, 424242,
                            pure.weight_flags(spec))
        results.append((out, Pk.tobytes(), M.tobytes(), V.tobytes(),
                        K.forward(Pk, spec, X, lengths, T, len(lengths), Y),
                        K.tcn_ranges(Pk, spec, X, lengths, T, len(lengths)).tobytes() if case[0] == "tcn" else b""))
    assert results[0] == results[1]


def test_tcn_ranges_hold_every_forward_value():
    """The int8 calibration ranges against the forward pass's own probabilities: the logits' range,
    softmaxed, contains each sample's largest probability's logit gap (a check independent of the ranges' loop)."""
    spec, P, X, lengths, Y, T = _problem(CASES[0], seed=5)
    r = pure.tcn_ranges(P, spec, X, lengths, T, len(lengths))
    depth = spec[pure.S_DEPTH]
    assert len(r) == 4 * depth + 4
    for l in range(depth):
        assert 0.0 == r[4 * l] <= r[4 * l + 1]  # ReLU outputs: the smallest is 0 on these random weights
        assert r[4 * l + 2] <= r[4 * l + 3]
    assert r[4 * depth] < 0.0 < r[4 * depth + 1]  # block 0's skip (F != H) takes both signs
    import math
    probs, _ = pure.forward(P, spec, X, lengths, T, len(lengths))
    C = spec[pure.S_C]
    for n in range(len(lengths)):
        row = probs[n * C:(n + 1) * C]
        assert math.log(max(row) / min(row)) <= r[4 * depth + 3] - r[4 * depth + 2] + 1e-12


def test_twin_defines_the_seam():
    if jit is None:
        pytest.skip("numba not installed")
    import inspect

    for name in pure.__all__:
        assert inspect.signature(getattr(jit, name)) == inspect.signature(getattr(pure, name)), name
