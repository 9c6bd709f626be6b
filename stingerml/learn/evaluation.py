"""Metrics of the tabular trainer (the same definitions as ``sklearn.metrics``).

Classification: accuracy, per-class precision/recall/F1/support, their macro
averages (unweighted mean over classes) and the confusion matrix (rows: true
class, columns: predicted class). A ratio whose denominator is 0 is 0.0
(scikit-learn's ``zero_division`` result, without its warning).

Regression, per target: MSE, MAE and R² = 1 - SS_res / SS_tot; a constant
target gets R² 1.0 when predicted exactly, else 0.0 (scikit-learn's
``force_finite``). ``r2_mean`` is their unweighted mean (``uniform_average``).
"""
from __future__ import annotations

from typing import Dict, List, Sequence

from ..core.matrix import Matrix


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
