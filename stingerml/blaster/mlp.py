"""The 30→64→32→1 MLP: ReLU, sigmoid, full-batch Adam (SPEC §8).

Fitted attributes (set by :meth:`MLP.fit` only): ``W1_`` (64×n_in), ``b1_``
(64), ``W2_`` (32×64), ``b2_`` (32), ``W3_`` (32) as flat row-major
``array('f')``, ``b3_`` a double, ``n_features_`` and ``loss_history_``
(``[{"iter": t, "loss"}]`` every ``loss_every`` iterations (default 16) and at
the last, when ``record_loss``).
"""
from __future__ import annotations

from array import array
from typing import List, Optional, Sequence

from .._kernels import kernels
from ..core.constants import RICH_FEATURES
from ..core.matrix import Matrix
from ..core.progress import Tick
from ..formats.mlmd import MLPModel
from ..learn.estimator import as_matrix, check_fitted, deprecated, scaling, training_matrix


class MLP:
    """Full-batch Adam with step ``learning_rate`` and L2 penalty ``alpha`` (the LR's names).

    Browser defaults: ``alpha = max(1e-4, 10/n)``, ``noise_std = 0.15 if n < 80 else 0`` when not given.
    With ``record_loss`` the mean BCE is recorded every ``loss_every`` iterations and at the last
    (16: ``trainPipeline``'s default; the published app uses 8, :mod:`stingerml.blaster.settings`).
    """

    def __init__(
        self,
        max_iter: int = 800,
        alpha: Optional[float] = None,
        learning_rate: float = 0.001,
        seed: int = 42,
        noise_std: Optional[float] = None,
        record_loss: bool = False,
        loss_every: int = 16,
    ) -> None:
        self.max_iter = max_iter
        self.alpha = alpha
        self.learning_rate = learning_rate
        self.seed = seed
        self.noise_std = noise_std
        self.record_loss = record_loss
        self.loss_every = loss_every

    def fit(self, X: Matrix, y: Sequence[int], n_features: Optional[int] = None,
            progress: Optional[Tick] = None) -> "MLP":
        """Train on scaled features ``X`` (one row per label); ``progress(t, max_iter)`` per iteration.

        ``fit(flat, y, n_features=30)`` is the deprecated old form.
        """
        if not isinstance(X, Matrix) and n_features is None:
            n_features = RICH_FEATURES  # the old form's default
        X = training_matrix(X, y, "MLP.fit", n_features)
        if isinstance(self.loss_every, bool) or not isinstance(self.loss_every, int) or self.loss_every < 1:
            raise ValueError(f"MLP.fit: loss_every must be a whole number >= 1, got {self.loss_every!r}")
        n = len(y)
        alpha = self.alpha if self.alpha is not None else max(1e-4, 10 / n)
        noise = self.noise_std if self.noise_std is not None else (0.15 if n < 80 else 0.0)
        (self.W1_, self.b1_, self.W2_, self.b2_, self.W3_, self.b3_, self.loss_history_) = kernels().mlp_fit(
            X.data, y, n, X.n_cols, self.max_iter, alpha, self.learning_rate, self.seed, noise,
            self.record_loss, progress, loss_every=self.loss_every,
        )
        self.n_features_ = X.n_cols
        return self

    def predict_proba(self, X: Matrix) -> List[float]:
        """P(shot) per row of scaled features (a flat sequence is the deprecated old form)."""
        check_fitted(self, "W1_", "predict_proba")
        X = as_matrix(X, "MLP.predict_proba", self.n_features_)
        return kernels().mlp_predict(X.data, X.n_rows, X.n_cols, self.W1_, self.b1_, self.W2_, self.b2_,
                                     self.W3_, self.b3_)

    def predict(self, X: Matrix, threshold: float = 0.5) -> List[int]:
        """1 where P(shot) >= ``threshold``, else 0."""
        return [int(p >= threshold) for p in self.predict_proba(X)]

    def score(self, X: Matrix, y: Sequence[int]) -> float:
        """Accuracy of :meth:`predict` on ``(X, y)``."""
        return sum(int(p == t) for p, t in zip(self.predict(X), y)) / len(y)

    def to_model(self, scaler=None, scale: Optional[Sequence[float]] = None) -> MLPModel:
        """The fitted network as an :class:`~stingerml.formats.mlmd.MLPModel`, with the fitted ``scaler``'s
        ``mean_``/``scale_`` (None: mean 0, scale 1).

        ``to_model(mean, scale)`` (two sequences) is the deprecated old form.
        """
        check_fitted(self, "W1_", "to_model")
        if scale is not None:
            deprecated("MLP.to_model(mean, scale): pass the fitted Scaler")
            mean, scale = array("f", scaler), array("f", scale)
        else:
            mean, scale = scaling(scaler, self.n_features_)
        return MLPModel(mean, scale, self.W1_, self.b1_, self.W2_, self.b2_, self.W3_, self.b3_)
