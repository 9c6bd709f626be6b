"""Logistic regression by batch gradient descent with L2 (SPEC §7).

scikit-learn style: parameters in ``__init__``, :meth:`fit` returns self,
fitted state (set by :meth:`fit` only) in ``coef_`` (``array('f')``),
``intercept_`` (a double, as the browser keeps it) and ``loss_history_``
(``[{"iter", "loss"}]`` every 100 iterations and at the last).
"""
from __future__ import annotations

from array import array
from typing import List, Optional, Sequence

from .._kernels import kernels
from ..core.matrix import Matrix
from ..formats.mlmd import LRModel
from ..learn.estimator import as_matrix, check_fitted, deprecated, scaling, training_matrix

_UNSET = object()


class LogisticRegression:
    """``max_iter`` steps of size ``learning_rate / (1 + iter * 0.001)`` with L2 penalty ``alpha``.

    ``alpha`` defaults to ``max(1, 50 / n_rows)`` (the browser's). The MLP
    names its parameters the same way. ``lr=`` and ``l2=`` are the deprecated
    old names of ``learning_rate`` and ``alpha``.
    """

    def __init__(self, max_iter: int = 5000, learning_rate: float = 1.0, alpha: Optional[float] = None,
                 *, lr=_UNSET, l2=_UNSET) -> None:
        if lr is not _UNSET:
            deprecated("LogisticRegression(lr=...): use learning_rate=")
            learning_rate = lr
        if l2 is not _UNSET:
            deprecated("LogisticRegression(l2=...): use alpha=")
            alpha = l2
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.alpha = alpha

    @property
    def lr(self) -> float:
        """Deprecated name of :attr:`learning_rate`."""
        deprecated("LogisticRegression.lr: use learning_rate")
        return self.learning_rate

    @property
    def l2(self) -> Optional[float]:
        """Deprecated name of :attr:`alpha`."""
        deprecated("LogisticRegression.l2: use alpha")
        return self.alpha

    def fit(self, X: Matrix, y: Sequence[int], n_features: Optional[int] = None) -> "LogisticRegression":
        """Train on scaled features ``X`` (one row per label) and 0/1 labels ``y``; returns self.

        ``fit(flat, y, n_features)`` is the deprecated old form.
        """
        X = training_matrix(X, y, "LogisticRegression.fit", n_features)
        n = len(y)
        alpha = self.alpha if self.alpha is not None else max(1.0, 50 / n)
        self.coef_, self.intercept_, self.loss_history_ = kernels().logreg_fit(
            X.data, y, n, X.n_cols, self.max_iter, self.learning_rate, alpha
        )
        self.n_features_ = X.n_cols
        return self

    def predict_proba(self, X: Matrix) -> List[float]:
        """P(shot) per row of scaled features (a flat sequence is the deprecated old form)."""
        check_fitted(self, "coef_", "predict_proba")
        X = as_matrix(X, "LogisticRegression.predict_proba", self.n_features_)
        return kernels().logreg_predict(X.data, X.n_rows, X.n_cols, self.coef_, self.intercept_)

    def predict(self, X: Matrix, threshold: float = 0.5) -> List[int]:
        """1 where P(shot) >= ``threshold``, else 0."""
        return [int(p >= threshold) for p in self.predict_proba(X)]

    def score(self, X: Matrix, y: Sequence[int]) -> float:
        """Accuracy of :meth:`predict` on ``(X, y)``."""
        return sum(int(p == t) for p, t in zip(self.predict(X), y)) / len(y)

    def to_model(self, scaler=None) -> LRModel:
        """The fitted model as an :class:`~stingerml.formats.mlmd.LRModel`, with the fitted ``scaler``'s
        ``mean_``/``scale_`` (None: mean 0, scale 1)."""
        check_fitted(self, "coef_", "to_model")
        mean, scale = scaling(scaler, self.n_features_)
        return LRModel(mean, scale, array("f", self.coef_), self.intercept_)
