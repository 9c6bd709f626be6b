"""The 30→64→32→1 MLP: ReLU, sigmoid, full-batch Adam (SPEC §8).

Fitted attributes: ``W1_`` (64×n_in), ``b1_`` (64), ``W2_`` (32×64), ``b2_``
(32), ``W3_`` (32) as flat row-major ``array('f')``, ``b3_`` a double, and
``loss_history_`` (``[{"iter": t, "loss"}]`` every ``loss_every`` iterations
(default 16) and at the last, when ``record_loss``).
"""
from __future__ import annotations

from array import array
from typing import Callable, Dict, List, Optional, Sequence

from ._kernels import kernels
from .mlmd import MLPModel


class MLP:
    """Browser defaults: ``alpha = max(1e-4, 10/n)``, ``noise_std = 0.15 if n < 80 else 0`` when not given."""

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
        self.W1_: Optional[array] = None
        self.b1_: Optional[array] = None
        self.W2_: Optional[array] = None
        self.b2_: Optional[array] = None
        self.W3_: Optional[array] = None
        self.b3_: float = 0.0
        self.n_features_: int = 0
        self.loss_history_: List[Dict[str, float]] = []

    def fit(
        self, X: Sequence[float], y: Sequence[int], n_features: int = 30,
        progress: Optional[Callable[[int, int], None]] = None,
    ) -> "MLP":
        """Train on flat ``len(y) × n_features`` scaled features; ``progress(t, max_iter)`` per iteration."""
        n = len(y)
        if n == 0:
            raise ValueError("cannot fit the MLP on zero rows")
        alpha = self.alpha if self.alpha is not None else max(1e-4, 10 / n)
        noise = self.noise_std if self.noise_std is not None else (0.15 if n < 80 else 0.0)
        (self.W1_, self.b1_, self.W2_, self.b2_, self.W3_, self.b3_, self.loss_history_) = kernels().mlp_fit(
            X, y, n, n_features, self.max_iter, alpha, self.learning_rate, self.seed, noise,
            self.record_loss, progress, loss_every=self.loss_every,
        )
        self.n_features_ = n_features
        return self

    def predict_proba(self, X: Sequence[float]) -> List[float]:
        """P(shot) per row of flat scaled features."""
        if self.W1_ is None:
            raise RuntimeError("MLP.predict_proba called before fit")
        nf = self.n_features_
        return kernels().mlp_predict(X, len(X) // nf, nf, self.W1_, self.b1_, self.W2_, self.b2_, self.W3_, self.b3_)

    def to_model(self, mean: Sequence[float], scale: Sequence[float]) -> MLPModel:
        """The fitted network with its scaler as an :class:`~stingerml.mlmd.MLPModel`."""
        return MLPModel(array("f", mean), array("f", scale), self.W1_, self.b1_, self.W2_, self.b2_, self.W3_, self.b3_)
