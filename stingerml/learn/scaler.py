"""Standard scalers: the browser's, with its float32 rounding points (SPEC §6), and the float32
``(mean, scale)`` of the tabular and sequence trainers (:func:`fit_scaler`)."""
from __future__ import annotations

import math
from array import array
from typing import Optional, Tuple, Union

from .._kernels import kernels
from ..core.matrix import Matrix
from .estimator import as_matrix, check_fitted


class Scaler:
    """Per-feature standardisation of a :class:`~stingerml.core.matrix.Matrix`.

    Fitted attributes (set by :meth:`fit` only): ``mean_`` and ``scale_``
    (``array('f')`` of ``n_features_``); a feature with zero (or NaN) spread gets scale 1.
    """

    def fit(self, X: Matrix, n_rows: Optional[int] = None, n_features: Optional[int] = None) -> "Scaler":
        """Fit on the rows of ``X`` in order; returns self.

        ``fit(flat, n_rows, n_features)`` is the deprecated old form.
        """
        X = as_matrix(X, "Scaler.fit", n_features, n_rows)
        if X.n_rows <= 0:
            raise ValueError("cannot fit a scaler on zero rows")
        self.mean_, self.scale_ = kernels().scaler_fit(X.data, X.n_rows, X.n_cols)
        self.n_features_ = X.n_cols
        return self

    def transform(self, X: Matrix, n_rows: Optional[int] = None) -> Union[Matrix, array]:
        """``f32((v - mean) / scale)`` element-wise: a float32 :class:`Matrix` of the same shape.

        ``transform(flat, n_rows)`` is the deprecated old form (it returns the flat ``array('f')``).
        """
        check_fitted(self, "mean_", "transform")
        legacy = not isinstance(X, Matrix)
        X = as_matrix(X, "Scaler.transform", self.n_features_, n_rows)
        if X.n_cols != self.n_features_:
            raise ValueError(f"Scaler fitted on {self.n_features_} features, got {X.n_cols}")
        out = kernels().scaler_transform(X.data, X.n_rows, X.n_cols, self.mean_, self.scale_)
        return out if legacy else Matrix(out, X.n_cols)

    def fit_transform(self, X: Matrix, n_rows: Optional[int] = None,
                      n_features: Optional[int] = None) -> Union[Matrix, array]:
        """:meth:`fit` then :meth:`transform` on the same rows (old flat form deprecated, as in :meth:`fit`)."""
        legacy = not isinstance(X, Matrix)
        X = as_matrix(X, "Scaler.fit_transform", n_features, n_rows)
        out = self.fit(X).transform(X)
        return out.data if legacy else out


def fit_scaler(X: Matrix) -> Tuple[array, array]:
    """Per-column float32 ``(mean, scale)``: ``mean = Σx/n``, ``scale = sqrt(Σ(x-mean)²/n)`` or 1 when 0.

    Sums run in row order (no compensation), so every platform gets the same bits.
    """
    n, nf = X.n_rows, X.n_cols
    data = X.data
    ordered_sum = kernels().ordered_sum
    means, scales = array("f"), array("f")
    for j in range(nf):
        col = data[j:n * nf:nf]
        m = ordered_sum(col) / n
        sd = math.sqrt(ordered_sum([(v - m) * (v - m) for v in col]) / n)
        means.append(m)
        scales.append(sd if sd > 0.0 else 1.0)
    for j in range(nf):
        if scales[j] == 0.0 or not math.isfinite(scales[j]):  # a spread below float32's range
            scales[j] = 1.0
    return means, scales
