"""Standard scaler with the browser's float32 rounding points (SPEC §6)."""
from __future__ import annotations

from array import array
from typing import Optional, Sequence

from ._kernels import kernels


class Scaler:
    """Per-feature standardisation fitted on flat ``rows × n_features`` data.

    Fitted attributes: ``mean_`` and ``scale_`` (``array('f')`` of ``n_features``);
    a feature with zero (or NaN) spread gets scale 1.
    """

    def __init__(self) -> None:
        self.mean_: Optional[array] = None
        self.scale_: Optional[array] = None
        self.n_features_: int = 0

    def fit(self, X: Sequence[float], n_rows: int, n_features: int) -> "Scaler":
        """Fit on the rows in order; returns self."""
        if n_rows <= 0:
            raise ValueError("cannot fit a scaler on zero rows")
        self.mean_, self.scale_ = kernels().scaler_fit(X, n_rows, n_features)
        self.n_features_ = n_features
        return self

    def transform(self, X: Sequence[float], n_rows: int) -> array:
        """``f32((v - mean) / scale)`` element-wise; returns ``array('f')`` of ``n_rows × n_features``."""
        if self.mean_ is None:
            raise RuntimeError("Scaler.transform called before fit")
        return kernels().scaler_transform(X, n_rows, self.n_features_, self.mean_, self.scale_)

    def fit_transform(self, X: Sequence[float], n_rows: int, n_features: int) -> array:
        """:meth:`fit` then :meth:`transform` on the same rows."""
        return self.fit(X, n_rows, n_features).transform(X, n_rows)
