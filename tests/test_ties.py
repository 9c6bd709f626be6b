"""Ties and exact halves for the rules that decide between two equal candidates (issue 29, group 8):
each case sits exactly on the boundary, so flipping `<` to `<=` or half-away rounding to Python's
half-to-even `round` fails here."""
from __future__ import annotations

import dataclasses
from array import array

import pytest

from conftest import use_backend
from stingerml.blaster.golden import _closest
from stingerml.core.matrix import Matrix
from stingerml.tabular.estimator import MLPClassifier
from test_quantize import _small_net


@pytest.mark.parametrize("backend_name", ["python", "numba"])
def test_best_epoch_on_a_tie_is_the_first(backend_name):
    """Keras's EarlyStopping (min_delta 0) counts only a strictly lower val_loss as an improvement.
    A learning rate of 1e-30 moves no float64 weight (their ulps are ~1e-17), so every epoch has
    exactly the same val_loss: the best epoch stays the first and patience runs out."""
    rows = [[float(i % 7), float(i % 3) - 1.0, float(i % 5) * 0.5] for i in range(40)]
    X = Matrix(array("d", [v for r in rows for v in r]), 3)
    y = ["a" if i % 2 else "b" for i in range(40)]
    with use_backend(backend_name):
        est = MLPClassifier(hidden_layer_sizes=(4,), dropout=0.0, learning_rate=1e-30, max_epochs=6, patience=3,
                            batch_size=8, seed=5)
        est.fit(X, y, validation_data=(X, y))
    losses = [h["val_loss"] for h in est.history_]
    assert len(set(losses)) == 1, losses  # the tie really is a tie
    assert est.best_epoch_ == 1 and est.n_epochs_ == 4 and est.stopped_early_


def test_int8_input_rounds_exact_halves_away_from_zero():
    """TFLite's reference quantize rounds half away from zero (std::round): 2.5 -> 3, -2.5 -> -3
    (Python's round would give 2 and -2)."""
    _, _, q = _small_net()  # scaler: mean (1, -1), scale (2, 0.5)
    q = dataclasses.replace(q, input_scale=0.5, input_zero_point=0)
    # (3.5 - 1) / 2 = 1.25 -> 1.25 / 0.5 = 2.5 ; (-1.625 + 1) / 0.5 = -1.25 -> -2.5, all exact in float32
    assert q.quantize_input([3.5, -1.625]) == [3, -3]
    assert dataclasses.replace(q, input_zero_point=10).quantize_input([3.5, -1.625]) == [13, 7]


def test_int8_tcn_steps_round_exact_halves_away_from_zero():
    """The same rule for the TCN's int8 steps (QuantizedTCN.quantize_steps): 2.5 -> 3, -2.5 -> -3."""
    from types import SimpleNamespace

    from stingerml.core.quantized_tcn import QuantizedTCN

    scaler = SimpleNamespace(n_features=2, mean=array("f", [1.0, -1.0]), scale=array("f", [2.0, 0.5]), preprocess="")
    q = QuantizedTCN(scaler, (), (), None, None, 0.5, 0, 0)
    assert q.quantize_steps([3.5, -1.625, 3.5, -1.625]) == [3, -3, 3, -3]
    assert dataclasses.replace(q, input_zero_point=10).quantize_steps([3.5, -1.625]) == [13, 7]

@pytest.mark.parametrize("allowed, first", [([0, 1], 0), ([1, 0], 1), ([2, 0, 1], 0)])
def test_golden_closest_window_on_a_tie_is_the_first_in_order(allowed, first):
    """0.25 and 0.75 are exactly as far from 0.5 (binary fractions): the first candidate in the
    pool's order is kept."""
    assert _closest([0.25, 0.75, 0.0], 0.5, allowed) == first
