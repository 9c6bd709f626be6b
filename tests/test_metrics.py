"""Metrics and splits: against scikit-learn / numpy (test oracles) and the browser trainer's numbers."""
from __future__ import annotations

import json
import math
import random
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stingerml.core.errors import StingerError
from stingerml.learn.metrics import (
    Confusion,
    MetricError,
    average_precision,
    bce,
    best_f1_threshold,
    confusion,
    group_split,
    percentile,
    precision_recall_f1_accuracy,
    roc_auc,
    stratified_split,
    time_split,
    trace_score,
)

VECTORS = Path(__file__).resolve().parent.parent / "vectors" / "browser"


@pytest.fixture(scope="module")
def tiny():
    return json.loads((VECTORS / "tiny.json").read_text())


# Scores drawn from a few values so ties are common, or from all floats in [0, 1].
_tied = st.lists(st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.5000001, 0.75, 1.0]), min_size=2, max_size=60)
_free = st.lists(st.floats(0.0, 1.0), min_size=2, max_size=60)


def _labelled(scores_strategy):
    return scores_strategy.flatmap(
        lambda s: st.tuples(st.lists(st.integers(0, 1), min_size=len(s), max_size=len(s)), st.just(s))
    )


# -- ranking metrics vs scikit-learn ------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(_labelled(st.one_of(_tied, _free)))
def test_roc_auc_equals_sklearn(case):
    skm = pytest.importorskip("sklearn.metrics")
    y, s = case
    if len(set(y)) < 2:
        with pytest.raises(MetricError):
            roc_auc(y, s)  # scikit-learn raises or (>= 1.6) warns and returns nan
        return
    assert abs(roc_auc(y, s) - skm.roc_auc_score(y, s)) <= 1e-12


@settings(max_examples=200, deadline=None)
@given(_labelled(st.one_of(_tied, _free)))
def test_average_precision_equals_sklearn(case):
    skm = pytest.importorskip("sklearn.metrics")
    y, s = case
    if sum(y) == 0:
        with pytest.raises(MetricError):
            average_precision(y, s)
        return
    assert abs(average_precision(y, s) - skm.average_precision_score(y, s)) <= 1e-12


def test_auc_known_values():
    # Hand-computed: one tie between a positive and a negative counts half.
    assert roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
    assert roc_auc([0, 1], [0.5, 0.5]) == 0.5
    assert roc_auc([1, 0], [0.9, 0.1]) == 1.0
    # AP: ranks 1 (pos), 2 (neg), 3 (pos): (1/2)*1 + (1/2)*(2/3)
    assert average_precision([1, 0, 1], [0.9, 0.8, 0.7]) == pytest.approx(0.5 + 1 / 3, abs=1e-15)
    assert average_precision([1, 1], [0.3, 0.3]) == 1.0


@pytest.mark.parametrize(
    "y, s, fragment",
    [
        ([1, 1, 1], [0.1, 0.2, 0.3], "only one class"),
        ([], [], "no samples"),
        ([0, 1], [0.1], "2 labels but 1 scores"),
        ([0, 2], [0.1, 0.2], "not 0 or 1"),
        ([0, 1], [0.1, math.nan], "not finite"),
    ],
)
def test_roc_auc_rejects_degenerate_input(y, s, fragment):
    with pytest.raises(MetricError, match=fragment) as info:
        roc_auc(y, s)
    assert isinstance(info.value, ValueError) and isinstance(info.value, StingerError)


def test_average_precision_needs_a_positive():
    with pytest.raises(MetricError, match="no positive"):
        average_precision([0, 0], [0.1, 0.2])


def test_auc_accepts_bools_and_arrays():
    from array import array

    assert roc_auc([False, True, True], array("f", [0.2, 0.9, 0.1])) == 0.5


# -- the browser's held-out check ---------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(_labelled(_tied), st.sampled_from([0.0, 0.25, 0.5, 0.51, 1.0]))
def test_confusion_and_scores_equal_sklearn(case, thr):
    skm = pytest.importorskip("sklearn.metrics")
    y, p = case
    pred = [1 if v >= thr else 0 for v in p]
    cm = confusion(y, p, thr)
    (tn, fp), (fn, tp) = skm.confusion_matrix(y, pred, labels=[0, 1]).tolist()
    assert cm == Confusion(tp, fp, tn, fn)
    scores = precision_recall_f1_accuracy(cm)
    assert scores.precision == pytest.approx(skm.precision_score(y, pred, zero_division=0), abs=1e-15)
    assert scores.recall == pytest.approx(skm.recall_score(y, pred, zero_division=0), abs=1e-15)
    assert scores.f1 == pytest.approx(skm.f1_score(y, pred, zero_division=0), abs=1e-15)
    assert scores.accuracy == pytest.approx(skm.accuracy_score(y, pred), abs=1e-15)


@pytest.mark.parametrize("model", ["lr", "mlp"])
def test_scores_equal_the_browsers_bit_for_bit(tiny, model):
    ref = tiny["metrics"][model]
    cm = Confusion(ref["cm"]["tp"], ref["cm"]["fp"], ref["cm"]["tn"], ref["cm"]["fn"])
    s = precision_recall_f1_accuracy(cm)
    assert (s.precision, s.recall, s.f1, s.accuracy) == (ref["precision"], ref["recall"], ref["f1"], ref["acc"])


def test_f1_uses_the_browsers_formula():
    # 2·p·r/(p+r) and 2·tp/(2·tp+fp+fn) differ in the last bit here; the browser (tiny.json mlp) uses the former.
    s = precision_recall_f1_accuracy(Confusion(tp=5, fp=2, tn=3, fn=0))
    assert s.f1 == 0.8333333333333333 and 2 * 5 / (2 * 5 + 2) == 0.8333333333333334


def test_scores_are_zero_when_undefined():
    assert precision_recall_f1_accuracy(Confusion(0, 0, 0, 0)) == (0.0, 0.0, 0.0, 0.0)
    assert precision_recall_f1_accuracy(Confusion(0, 0, 4, 0)) == (0.0, 0.0, 0.0, 1.0)


@settings(max_examples=100, deadline=None)
@given(_labelled(st.lists(st.floats(0.0, 1.0), min_size=2, max_size=40)))
def test_best_f1_threshold_is_an_exact_maximum(case):
    # Oracle: F1 = 2tp/(2tp+fp+fn) in exact rational arithmetic at every threshold of the grid.
    y, p = case
    exact = []
    for ti in range(101):
        pred = [v >= ti / 100 for v in p]
        tp = sum(1 for a, b in zip(y, pred) if a and b)
        wrong = sum(1 for a, b in zip(y, pred) if bool(a) != b)
        exact.append(Fraction(2 * tp, 2 * tp + wrong) if tp else Fraction(0))
    t, f1 = best_f1_threshold(y, p)
    ti = round(t * 100)
    assert t == ti / 100 and exact[ti] == max(exact)
    assert f1 == pytest.approx(float(max(exact)), abs=1e-15)


def test_best_f1_first_maximum_wins():
    # every threshold in (0.2, 0.8] separates perfectly: the first, 0.21, wins
    assert best_f1_threshold([0, 1], [0.2, 0.8]) == (0.21, 1.0)
    assert best_f1_threshold([1, 1], [0.0, 0.0]) == (0.0, 1.0)


def test_bce_clamps_and_averages():
    assert bce([1, 0], [0.0, 1.0]) == pytest.approx(-(math.log(1e-7) + math.log(1 - (1 - 1e-7))) / 2, rel=1e-15)
    assert bce([1], [1.0]) == pytest.approx(-math.log(1 - 1e-7), rel=1e-15)
    assert bce([1, 0, 1], [0.8, 0.3, 0.6]) == pytest.approx(-(math.log(0.8) + math.log(0.7) + math.log(0.6)) / 3, rel=1e-15)
    with pytest.raises(MetricError, match="no samples"):
        bce([], [])


@settings(max_examples=100, deadline=None)
@given(_labelled(st.lists(st.floats(1e-7, 1 - 1e-7), min_size=1, max_size=50)))
def test_bce_equals_sklearn_log_loss_inside_the_clamp(case):
    skm = pytest.importorskip("sklearn.metrics")
    y, p = case
    assert bce(y, p) == pytest.approx(skm.log_loss(y, p, labels=[0, 1]), rel=1e-12, abs=1e-15)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=40), st.floats(0.0, 100.0))
def test_percentile_equals_numpy(values, q):
    np = pytest.importorskip("numpy")
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)), rel=1e-12, abs=1e-9)


def test_percentile_edges():
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([1.0, 2.0], 25) == 1.25
    assert percentile([5.0], 90) == 5.0
    with pytest.raises(MetricError):
        percentile([], 10)
    with pytest.raises(MetricError):
        percentile([1.0], 101)


def test_trace_score_equals_the_browsers(tiny):
    assert tiny["shotPlots"], "reference has no kept shot trace"
    for plot in tiny["shotPlots"]:
        assert trace_score(plot["xMs"], plot["probsLR"]) == plot["scoreLR"]
        assert trace_score(plot["xMs"], plot["probsMLP"]) == plot["scoreMLP"]
    assert any(p["scoreMLP"] > 0 for p in tiny["shotPlots"])


def test_trace_score_rules():
    x = list(range(-1000, 201, 10))
    base_lo_pred_hi = [0.1 if t < -600 else 0.9 for t in x]
    # lo = 0.1, hi = 0.9: (0.8) + 0.225 - 0.01
    assert trace_score(x, base_lo_pred_hi) == pytest.approx(0.8 + 0.25 * 0.9 - 0.1 * 0.1, abs=1e-15)
    assert trace_score(x, [0.5] * len(x)) == 0.0  # no rise
    assert trace_score([-1000, -900, -500, -400, -300], [0.0, 0.0, 1.0, 1.0, 1.0]) == 0.0  # < 3 baseline points


# -- splits -------------------------------------------------------------------------------------


def _check_partition(train, test, n):
    assert sorted(train + test) == list(range(n))
    assert train == sorted(train) and test == sorted(test)


@settings(max_examples=100, deadline=None)
@given(st.integers(2, 40), st.integers(2, 40), st.floats(0.05, 0.95), st.integers(0, 2**32))
def test_stratified_split(n0, n1, frac, seed):
    rng = random.Random(seed)
    y = [0] * n0 + [1] * n1
    rng.shuffle(y)
    train, test = stratified_split(y, frac, seed)
    _check_partition(train, test, len(y))
    for cls, n in ((0, n0), (1, n1)):
        k = sum(1 for i in test if y[i] == cls)
        assert k == min(n - 1, max(1, math.ceil(frac * n)))
    assert stratified_split(y, frac, seed) == (train, test)


def test_stratified_split_depends_on_the_seed():
    y = [0, 1] * 50
    assert stratified_split(y, 0.3, 1) != stratified_split(y, 0.3, 2)


def test_stratified_split_needs_two_per_class():
    with pytest.raises(MetricError, match="class 1 has 1 row"):
        stratified_split([0, 0, 0, 1], 0.25, 0)
    with pytest.raises(MetricError, match="test_frac"):
        stratified_split([0, 0, 1, 1], 1.0, 0)


def test_time_split_trains_early_tests_late():
    assert time_split(10, 0.25) == ([0, 1, 2, 3, 4, 5, 6], [7, 8, 9])
    times = [50, 10, 40, 20, 30]
    train, test = time_split(5, 0.4, times=times)
    assert test == [0, 2] and train == [1, 3, 4]
    with pytest.raises(MetricError):
        time_split(1, 0.5)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 8), min_size=2, max_size=60), st.floats(0.05, 0.95), st.integers(0, 1000))
def test_group_split_keeps_groups_apart(groups, frac, seed):
    if len(set(groups)) < 2:
        with pytest.raises(MetricError, match="distinct group"):
            group_split(groups, frac, seed)
        return
    train, test = group_split(groups, frac, seed)
    _check_partition(train, test, len(groups))
    assert not {groups[i] for i in train} & {groups[i] for i in test}
    g = len(set(groups))
    assert len({groups[i] for i in test}) == min(g - 1, max(1, math.ceil(frac * g)))
