"""Every metric of the library (and the benchmark's train/test splits), standard library only.

Three families live here:

- the browser trainer's held-out check (SPEC §11): :func:`confusion`,
  :func:`precision_recall_f1_accuracy`, :func:`best_f1_threshold`, :func:`bce`,
  :func:`percentile` and :func:`trace_score`, written with the same operations in
  the same order as the browser so the numbers agree to the bit;
- the benchmark's ranking metrics and splits: :func:`roc_auc` and
  :func:`average_precision` (equal to scikit-learn's ``roc_auc_score`` and
  ``average_precision_score``, ties included), :func:`stratified_split`,
  :func:`time_split` and :func:`group_split` (seeded with ``random.Random``);
- the tabular and sequence trainers' multi-class and regression metrics (the same
  definitions as ``sklearn.metrics``): :func:`accuracy`, :func:`confusion_matrix`,
  :func:`classification_report` (per-class precision/recall/F1/support, their macro
  averages: the unweighted mean over classes; a ratio whose denominator is 0 is 0.0,
  scikit-learn's ``zero_division`` result without its warning) and
  :func:`regression_metrics` (per target MSE, MAE and R² = 1 - SS_res / SS_tot; a
  constant target gets R² 1.0 when predicted exactly, else 0.0, scikit-learn's
  ``force_finite``; ``r2_mean`` their unweighted mean, ``uniform_average``).

Binary labels are 0/1 integers (or bools), class labels are class indices 0..K-1;
probabilities and scores are floats. All functions take plain sequences (lists,
:mod:`array` objects, ...); :func:`regression_metrics` takes two :class:`Matrix`.
"""
from __future__ import annotations

import math
import random
from typing import Dict, Hashable, List, NamedTuple, Optional, Sequence, Tuple

from .._kernels import kernels
from ..core.errors import MetricError
from ..core.matrix import Matrix


class Confusion(NamedTuple):
    """Counts of a thresholded binary classifier."""

    tp: int
    fp: int
    tn: int
    fn: int


class Scores(NamedTuple):
    """Precision, recall, F1 and accuracy; each is 0.0 when its denominator is 0."""

    precision: float
    recall: float
    f1: float
    accuracy: float


Split = Tuple[List[int], List[int]]


# -- input checks -----------------------------------------------------------------------------


def _labels(y_true: Sequence, what: str) -> List[int]:
    """``y_true`` as a list of 0/1 ints; MetricError on anything else."""
    out = []
    for i, v in enumerate(y_true):
        if v == 1:
            out.append(1)
        elif v == 0:
            out.append(0)
        else:
            raise MetricError(f"{what}: label {v!r} at index {i} is not 0 or 1; pass binary labels")
    return out


def _pair(y_true: Sequence, scores: Sequence, what: str) -> Tuple[List[int], List[float]]:
    """Checked labels and finite float scores of equal, non-zero length."""
    y = _labels(y_true, what)
    s = [float(v) for v in scores]
    if len(y) != len(s):
        raise MetricError(f"{what}: {len(y)} labels but {len(s)} scores; pass one score per label")
    if not y:
        raise MetricError(f"{what}: no samples; pass at least one label and score")
    for i, v in enumerate(s):
        if not math.isfinite(v):
            raise MetricError(f"{what}: score {v!r} at index {i} is not finite")
    return y, s


def _fraction(test_frac: float, what: str) -> float:
    if not 0.0 < test_frac < 1.0:
        raise MetricError(f"{what}: test_frac must be strictly between 0 and 1, got {test_frac!r}")
    return float(test_frac)


# -- ranking metrics (scikit-learn equivalents) --------------------------------------------------


def _threshold_counts(y: List[int], s: List[float]) -> List[Tuple[int, int]]:
    """Cumulative ``(tp, fp)`` at each distinct score, scores descending (ties grouped).

    This is scikit-learn's ``_binary_clf_curve``: one point per distinct threshold,
    every sample with a score ``>=`` the threshold counted as positive.
    """
    order = sorted(range(len(s)), key=lambda i: s[i], reverse=True)
    points: List[Tuple[int, int]] = []
    tp = fp = 0
    for k, i in enumerate(order):
        if y[i]:
            tp += 1
        else:
            fp += 1
        if k + 1 == len(order) or s[order[k + 1]] != s[i]:
            points.append((tp, fp))
    return points


def roc_auc(y_true: Sequence, scores: Sequence[float]) -> float:
    """Area under the ROC curve, equal to ``sklearn.metrics.roc_auc_score``.

    The curve has one point per distinct score (ties grouped) and the area is the
    trapezoid rule over it, so tied scores count half. The sum is kept in integers
    and divided once, so the result is the correctly rounded exact area.

    Raises:
        MetricError: empty input, labels other than 0/1, non-finite scores, or only
            one class present (the area is undefined, as in scikit-learn).
    """
    y, s = _pair(y_true, scores, "roc_auc")
    n_pos = sum(y)
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise MetricError(
            f"roc_auc: only one class present in y_true ({n_pos} positives, {n_neg} negatives); "
            "ROC AUC is not defined, pass labels of both classes"
        )
    twice_area = 0  # Σ Δfp · (tp_prev + tp), in units of 1/(2·P·N)
    tp_prev = fp_prev = 0
    for tp, fp in _threshold_counts(y, s):
        twice_area += (fp - fp_prev) * (tp_prev + tp)
        tp_prev, fp_prev = tp, fp
    return twice_area / (2 * n_pos * n_neg)


def average_precision(y_true: Sequence, scores: Sequence[float]) -> float:
    """Average precision, equal to ``sklearn.metrics.average_precision_score``.

    ``AP = Σ_k (R_k - R_{k-1}) · P_k`` over the distinct scores taken as thresholds
    in descending order (ties grouped), a step function with no interpolation.

    Raises:
        MetricError: empty input, labels other than 0/1, non-finite scores, or no
            positive label (recall is undefined).
    """
    y, s = _pair(y_true, scores, "average_precision")
    n_pos = sum(y)
    if n_pos == 0:
        raise MetricError(
            "average_precision: no positive label in y_true; average precision is not defined, "
            "pass at least one positive"
        )
    ap = 0.0
    tp_prev = 0
    for tp, fp in _threshold_counts(y, s):
        if tp != tp_prev:
            ap += (tp - tp_prev) / n_pos * (tp / (tp + fp))
        tp_prev = tp
    return ap


# -- the browser's held-out check (SPEC §11) ----------------------------------------------------


def confusion(y_true: Sequence, probs: Sequence[float], threshold: float = 0.5) -> Confusion:
    """Confusion counts with ``p >= threshold`` predicted positive."""
    y = _labels(y_true, "confusion")
    if len(y) != len(probs):
        raise MetricError(f"confusion: {len(y)} labels but {len(probs)} probabilities")
    tp = fp = tn = fn = 0
    for label, p in zip(y, probs):
        if p >= threshold:
            if label:
                tp += 1
            else:
                fp += 1
        elif label:
            fn += 1
        else:
            tn += 1
    return Confusion(tp, fp, tn, fn)


def precision_recall_f1_accuracy(cm: Confusion) -> Scores:
    """Precision, recall, F1 (``2·p·r/(p+r)``) and accuracy of ``cm``; 0.0 where undefined."""
    tp, fp, tn, fn = cm
    precision = tp / (tp + fp) if tp + fp > 0 else 0.0
    recall = tp / (tp + fn) if tp + fn > 0 else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    n = tp + fp + tn + fn
    accuracy = (tp + tn) / n if n > 0 else 0.0
    return Scores(precision, recall, f1, accuracy)


def best_f1_threshold(y_true: Sequence, probs: Sequence[float]) -> Tuple[float, float]:
    """``(threshold, f1)`` maximising F1 over the thresholds ``ti/100, ti = 0..100``.

    The first (lowest) threshold reaching the maximum wins, as in the browser.
    """
    y = _labels(y_true, "best_f1_threshold")
    best_t, best_f1 = 0.0, -1.0
    for ti in range(101):
        t = ti / 100
        f1 = precision_recall_f1_accuracy(confusion(y, probs, t)).f1
        if f1 > best_f1:
            best_t, best_f1 = t, f1
    return best_t, best_f1


def bce(y_true: Sequence, probs: Sequence[float]) -> float:
    """Mean binary cross-entropy with ``p`` clamped to ``[1e-7, 1 - 1e-7]`` (V8's log, see jsmath).

    Summed left to right in a plain loop (the browser's order; ``sum()`` of floats
    is compensated on Python >= 3.12 and would differ in the last bits).
    """
    y = _labels(y_true, "bce")
    if len(y) != len(probs):
        raise MetricError(f"bce: {len(y)} labels but {len(probs)} probabilities")
    if not y:
        raise MetricError("bce: no samples; pass at least one label and probability")
    clamped_bce = kernels().clamped_bce
    loss = 0.0
    for label, p in zip(y, probs):
        loss += clamped_bce(p, label)
    return loss / len(y)


def percentile(values: Sequence[float], q: float, *, rule: str = "browser") -> float:
    """The ``q``-th percentile (``0 <= q <= 100``) by linear interpolation on sorted values.

    The position is ``k = (q/100)·(n-1)`` as in numpy's default method. Between the
    two neighbours ``a = s[f] <= b = s[c]`` (``f = floor(k)``, ``c = ceil(k)``) the
    value is, by ``rule``:

    - ``"browser"``: ``a·(1 - (k - f)) + b·(k - f)``, the browser's trace score (SPEC §11;
      ``a + (b - a)·(k - f)`` differs in the last bit, e.g. on the app's ``tiny`` trace);
    - ``"weighted"``: ``a·(c - k) + b·(k - f)``, the original tool's export summary.

    The two (and numpy) can differ in the last bit.
    """
    if not values:
        raise MetricError("percentile: no values")
    if not 0.0 <= q <= 100.0:
        raise MetricError(f"percentile: q must be within [0, 100], got {q!r}")
    if rule not in ("browser", "weighted"):
        raise MetricError(f"percentile: rule must be 'browser' or 'weighted', got {rule!r}")
    s = sorted(values)
    pos = (q / 100) * (len(s) - 1)
    lo = math.floor(pos)
    hi = math.ceil(pos)
    if lo == hi:
        return s[lo]
    if rule == "weighted":
        return s[lo] * (hi - pos) + s[hi] * (pos - lo)
    frac = pos - lo
    return s[lo] * (1 - frac) + s[hi] * frac


BASELINE_MS = (-1000, -700)
PRESHOT_MS = (-600, -100)


def trace_score(x_ms: Sequence[float], probs: Sequence[float]) -> float:
    """How clearly a per-shot probability trace rises before the shot (SPEC §11).

    ``lo`` = 10th percentile of the probabilities with ``x_ms`` in [-1000, -700],
    ``hi`` = 90th percentile of those in [-600, -100] (each needs >= 3 points, else
    0). The score is 0 if ``lo > 0.25 or hi < 0.65 or hi - lo < 0.40``, else
    ``(hi - lo) + 0.25·hi - 0.10·lo``.
    """
    base = [p for x, p in zip(x_ms, probs) if BASELINE_MS[0] <= x <= BASELINE_MS[1]]
    pred = [p for x, p in zip(x_ms, probs) if PRESHOT_MS[0] <= x <= PRESHOT_MS[1]]
    if len(base) < 3 or len(pred) < 3:
        return 0.0
    lo = percentile(base, 10)
    hi = percentile(pred, 90)
    if lo > 0.25 or hi < 0.65 or hi - lo < 0.40:
        return 0.0
    return (hi - lo) + 0.25 * hi - 0.10 * lo


# -- multi-class and regression metrics (the tabular and sequence trainers) ------------------------


def accuracy(y_true: Sequence[int], y_pred: Sequence[int]) -> float:
    """Fraction of equal entries."""
    if len(y_true) != len(y_pred) or not y_true:
        raise ValueError(f"accuracy needs equal, non-zero lengths, got {len(y_true)} and {len(y_pred)}")
    return sum(1 for a, b in zip(y_true, y_pred) if a == b) / len(y_true)


def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], n_classes: int) -> List[List[int]]:
    """``n_classes × n_classes`` counts: ``[true][predicted]``."""
    cm = [[0] * n_classes for _ in range(n_classes)]
    for a, b in zip(y_true, y_pred):
        cm[a][b] += 1
    return cm


def _ratio(a: float, b: float) -> float:
    return a / b if b else 0.0


def classification_report(y_true: Sequence[int], y_pred: Sequence[int], classes: Sequence[str]) -> Dict:
    """Accuracy, per-class and macro precision/recall/F1, and the confusion matrix.

    Returns ``{"accuracy", "precision", "recall", "f1"`` (macro), ``"per_class":
    {name: {"precision", "recall", "f1", "support"}}, "confusion_matrix", "classes"}``.
    """
    K = len(classes)
    cm = confusion_matrix(y_true, y_pred, K)
    per: Dict[str, Dict[str, float]] = {}
    ps, rs, fs = [], [], []
    for k, name in enumerate(classes):
        tp = cm[k][k]
        predicted = sum(cm[j][k] for j in range(K))
        support = sum(cm[k])
        p, r = _ratio(tp, predicted), _ratio(tp, support)
        f = _ratio(2 * tp, predicted + support)
        per[name] = {"precision": p, "recall": r, "f1": f, "support": support}
        ps.append(p)
        rs.append(r)
        fs.append(f)
    return {
        "accuracy": accuracy(y_true, y_pred),
        "precision": sum(ps) / K, "recall": sum(rs) / K, "f1": sum(fs) / K,
        "per_class": per, "confusion_matrix": cm, "classes": list(classes),
    }


def regression_metrics(Y_true: Matrix, Y_pred: Matrix, names: Sequence[str] = ()) -> Dict:
    """Per-target ``mse``, ``mae``, ``r2`` (lists, target order) and ``r2_mean``; ``targets`` names them."""
    if Y_true.shape != Y_pred.shape:
        raise ValueError(f"targets {Y_true.shape} and predictions {Y_pred.shape} differ in shape")
    n, k = Y_true.shape
    mse, mae, r2 = [], [], []
    for j in range(k):
        t = Y_true.data[j::k]
        p = Y_pred.data[j::k]
        mean = sum(t) / n
        ss_res = sum((a - b) * (a - b) for a, b in zip(t, p))
        ss_tot = sum((a - mean) * (a - mean) for a in t)
        mse.append(ss_res / n)
        mae.append(sum(abs(a - b) for a, b in zip(t, p)) / n)
        if ss_tot == 0.0:
            r2.append(1.0 if ss_res == 0.0 else 0.0)
        else:
            r2.append(1.0 - ss_res / ss_tot)
    return {"targets": list(names) or [f"y{j}" for j in range(k)], "mse": mse, "mae": mae, "r2": r2,
            "r2_mean": sum(r2) / k}


# -- splits for the benchmark -------------------------------------------------------------------


def _test_count(n: int, test_frac: float) -> int:
    """``ceil(test_frac·n)`` (scikit-learn's rule) kept within ``[1, n-1]``."""
    return min(n - 1, max(1, math.ceil(test_frac * n)))


def stratified_split(y: Sequence, test_frac: float, seed: int) -> Split:
    """Random split keeping each class's share: ``(train_idx, test_idx)``, both ascending.

    Per class (0, then 1) the row indices are shuffled with one ``random.Random(seed)``
    and the first ``ceil(test_frac·n_class)`` (at least 1, at most n_class-1) go to test.

    Raises:
        MetricError: a class with fewer than 2 rows, or ``test_frac`` outside (0, 1).
    """
    labels = _labels(y, "stratified_split")
    frac = _fraction(test_frac, "stratified_split")
    rng = random.Random(seed)
    train: List[int] = []
    test: List[int] = []
    for cls in (0, 1):
        rows = [i for i, v in enumerate(labels) if v == cls]
        if len(rows) < 2:
            raise MetricError(
                f"stratified_split: class {cls} has {len(rows)} row(s); each class needs at least 2 "
                "to appear in both train and test"
            )
        rng.shuffle(rows)
        k = _test_count(len(rows), frac)
        test += rows[:k]
        train += rows[k:]
    return sorted(train), sorted(test)


def time_split(n: int, test_frac: float, times: Optional[Sequence[float]] = None) -> Split:
    """Train on the earliest rows, test on the latest ``ceil(test_frac·n)`` (within [1, n-1]).

    Rows are taken to be in time order, or ordered by ``times`` when given (stable,
    so equal times keep row order). Returns ``(train_idx, test_idx)``, both ascending.
    """
    frac = _fraction(test_frac, "time_split")
    if n < 2:
        raise MetricError(f"time_split: {n} row(s); need at least 2")
    if times is not None and len(times) != n:
        raise MetricError(f"time_split: n={n} but {len(times)} times")
    order = list(range(n)) if times is None else sorted(range(n), key=lambda i: times[i])
    k = _test_count(n, frac)
    return sorted(order[: n - k]), sorted(order[n - k :])


def group_split(groups: Sequence[Hashable], test_frac: float, seed: int) -> Split:
    """Random split that never puts rows of one group on both sides: ``(train_idx, test_idx)``.

    The distinct groups (in order of first appearance) are shuffled with
    ``random.Random(seed)``; the first ``ceil(test_frac·n_groups)`` (within
    [1, n_groups-1]) go to test with all their rows.

    Raises:
        MetricError: fewer than 2 distinct groups, or ``test_frac`` outside (0, 1).
    """
    frac = _fraction(test_frac, "group_split")
    first_seen: Dict[Hashable, int] = {}
    for g in groups:
        first_seen.setdefault(g, len(first_seen))
    distinct = list(first_seen)
    if len(distinct) < 2:
        raise MetricError(f"group_split: {len(distinct)} distinct group(s); need at least 2")
    random.Random(seed).shuffle(distinct)
    test_groups = set(distinct[: _test_count(len(distinct), frac)])
    train = [i for i, g in enumerate(groups) if g not in test_groups]
    test = [i for i, g in enumerate(groups) if g in test_groups]
    return train, test
