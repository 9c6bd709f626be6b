"""Logistic regression by batch gradient descent with L2 (SPEC §7).

scikit-learn style: parameters in ``__init__``, :meth:`fit` returns self,
fitted state in ``coef_`` (``array('f')``), ``intercept_`` (a double, as the
browser keeps it) and ``loss_history_`` (``[{"iter", "loss"}]`` every 100
iterations and at the last).
"""
from __future__ import annotations

from array import array
from typing import Dict, List, Optional, Sequence

from ._kernels import kernels


class LogisticRegression:
    """``max_iter`` steps of size ``lr / (1 + iter * 0.001)``; ``l2`` defaults to ``max(1, 50 / n_rows)``."""

    def __init__(self, max_iter: int = 5000, lr: float = 1.0, l2: Optional[float] = None) -> None:
        self.max_iter = max_iter
        self.lr = lr
        self.l2 = l2
        self.coef_: Optional[array] = None
        self.intercept_: float = 0.0
        self.loss_history_: List[Dict[str, float]] = []

    def fit(self, X: Sequence[float], y: Sequence[int], n_features: int) -> "LogisticRegression":
        """Train on flat ``len(y) × n_features`` scaled features and 0/1 labels."""
        n = len(y)
        if n == 0:
            raise ValueError("cannot fit logistic regression on zero rows")
        l2 = self.l2 if self.l2 is not None else max(1.0, 50 / n)
        self.coef_, self.intercept_, self.loss_history_ = kernels().logreg_fit(
            X, y, n, n_features, self.max_iter, self.lr, l2
        )
        return self

    def predict_proba(self, X: Sequence[float]) -> List[float]:
        """P(shot) per row of flat scaled features."""
        if self.coef_ is None:
            raise RuntimeError("LogisticRegression.predict_proba called before fit")
        nf = len(self.coef_)
        return kernels().logreg_predict(X, len(X) // nf, nf, self.coef_, self.intercept_)
