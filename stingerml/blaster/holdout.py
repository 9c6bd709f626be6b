"""The browser trainer's held-out check (SPEC §11).

A stratified 75/25 split drawn with xorshift32(1337); the scaler, LR (1500
iterations) and MLP (220 iterations) are fitted on the train part and scored
on both parts. The result dict uses the browser's own keys so it can be
compared with the browser's output directly.
"""
from __future__ import annotations

from array import array
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from ..core.constants import RICH_FEATURES, SLOT_LR, SLOT_MLP, SUMMARY_FEATURES
from ..core.matrix import Matrix, take_rows
from ..core.rng import XorShift32, js_round
from ..learn.metrics import bce, best_f1_threshold, confusion, precision_recall_f1_accuracy
from ..learn.scaler import Scaler
from .logreg import LogisticRegression
from .mlp import MLP

TEST_SIZE = 0.25
SEED = 1337
LR_ITERATIONS = 1500
MLP_ITERATIONS = 220


def split_indices(labels: Sequence[int], seed: int = SEED, test_size: float = TEST_SIZE) -> Optional[Dict[str, Any]]:
    """Row indices of the test and train parts, or None when either class has fewer than 2 rows."""
    rng = XorShift32(seed)
    pos = [i for i, v in enumerate(labels) if v == 1]
    neg = [i for i, v in enumerate(labels) if v != 1]
    if len(pos) < 2 or len(neg) < 2:
        return None
    rng.shuffle(pos)
    rng.shuffle(neg)
    tp = min(max(1, js_round(len(pos) * test_size)), len(pos) - 1)
    tn = min(max(1, js_round(len(neg) * test_size)), len(neg) - 1)
    test = pos[:tp] + neg[:tn]
    train = pos[tp:] + neg[tn:]
    rng.shuffle(test)
    rng.shuffle(train)
    return {
        "testSize": test_size, "seed": seed, "trainIdx": train, "testIdx": test,
        "posTest": tp, "negTest": tn, "posTrain": len(pos) - tp, "negTrain": len(neg) - tn,
        "testN": len(test), "trainN": len(train),
    }


def scaled_split(X: Sequence[float], nf: int, train: List[int], test: List[int]) -> Tuple[Matrix, Matrix]:
    """The ``train`` and ``test`` rows of a flat ``n × nf`` matrix, standardised by a
    :class:`~stingerml.learn.scaler.Scaler` fitted on the train rows."""
    X_train, X_test = Matrix(take_rows(X, nf, train), nf), Matrix(take_rows(X, nf, test), nf)
    scaler = Scaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test)


def _scores(y_train: List[int], p_train: Sequence[float], y_test: List[int], p_test: Sequence[float]) -> Dict[str, Any]:
    cm = confusion(y_test, p_test, 0.5)
    s = precision_recall_f1_accuracy(cm)
    best_t, best_f1 = best_f1_threshold(y_test, p_test)
    return {
        "threshold": 0.5,
        "cm": {"tp": cm.tp, "tn": cm.tn, "fp": cm.fp, "fn": cm.fn},
        "precision": s.precision, "recall": s.recall, "f1": s.f1, "acc": s.accuracy,
        "bestThreshold": best_t, "bestF1": best_f1,
        "trainLoss": bce(y_train, p_train), "valLoss": bce(y_test, p_test),
    }


def holdout_metrics(
    summary: Union[Matrix, Sequence[float]], rich: Union[Matrix, Sequence[float]], labels: Sequence[int],
    progress=None, lr_iterations: int = LR_ITERATIONS, mlp_iterations: int = MLP_ITERATIONS,
) -> Optional[Dict[str, Any]]:
    """Held-out metrics of LR (18 summary features) and MLP (30 rich features).

    Args:
        summary, rich: float32 features of every row, ``rows × 18`` and ``rows × 30``: a
            :class:`~stingerml.core.matrix.Matrix` or its flat row-major data.
        labels: 0/1 per row.
        progress: optional :data:`~stingerml.core.progress.Tick`, ``progress(t, total)`` for the MLP iterations.
        lr_iterations, mlp_iterations: the browser's 1500 and 220 unless given.

    Returns:
        ``{"split": ..., "lr": ..., "mlp": ...}`` or None when a class has < 2 rows.
    """
    split = split_indices(labels)
    if split is None:
        return None
    train, test = split["trainIdx"], split["testIdx"]
    y_train = [labels[i] for i in train]
    y_test = [labels[i] for i in test]
    result: Dict[str, Any] = {"split": split}
    summary, rich = (m.data if isinstance(m, Matrix) else m for m in (summary, rich))
    for key, X, nf in ((SLOT_LR, summary, SUMMARY_FEATURES), (SLOT_MLP, rich, RICH_FEATURES)):
        X_train, X_test = scaled_split(X, nf, train, test)
        if key == SLOT_LR:
            model = LogisticRegression(max_iter=lr_iterations).fit(X_train, y_train)
        else:
            model = MLP(max_iter=mlp_iterations, seed=42).fit(X_train, y_train, progress=progress)
        # the browser keeps predictions in a Float32Array: every metric sees f32 probabilities
        p_train = array("f", model.predict_proba(X_train))
        p_test = array("f", model.predict_proba(X_test))
        result[key] = _scores(y_train, p_train, y_test, p_test)
    return result
