"""The standard scaler: per-feature ``(x - mean) / scale`` with float32 ``mean`` and ``scale``,
fitted by one of two algorithms (:data:`ALGORITHMS`), chosen by :class:`Scaler`'s ``algorithm``."""
from __future__ import annotations

import math
from array import array
from typing import Optional, Sequence, Tuple, Union

from .._kernels import kernels
from ..core.matrix import Matrix, Rows
from ..core.progress import Tick
from .estimator import as_matrix, check_fitted

BROWSER = "browser"
TWO_PASS = "two-pass"
ALGORITHMS = (BROWSER, TWO_PASS)
"""How :meth:`Scaler.fit` computes ``(mean, scale)``; both add in row order (no compensation), so every
platform gets the same bits, and both give ``mean = f32(Σx / n)``. They differ in the spread:

- ``"browser"`` (the default): the browser trainer's one pass (SPEC §6, ``kernels().scaler_fit``):
  ``var = Σx²/n - mean²`` clamped at 0, ``scale = f32(sqrt(var))``, 1 where that is 0 before
  rounding (a spread that rounds to 0 in float32 stays 0, as in the browser). What the blaster's
  models are fitted with; their bytes depend on it.
- ``"two-pass"``: ``var = Σ(x - mean)²/n`` with the double mean, ``scale = f32(sqrt(var))``, 1 where
  that is 0, not finite, or below float32's range. Exact for features far from 0 (the one-pass
  formula cancels there); the tabular and sequence trainers' (their models' bytes depend on it).
"""


class Scaler:
    """Per-feature standardisation of a :class:`~stingerml.core.matrix.Matrix`.

    ``algorithm``: one of :data:`ALGORITHMS` (how ``fit`` computes the spread). Fitted attributes
    (set by :meth:`fit` only): ``mean_`` and ``scale_`` (``array('f')`` of ``n_features_``); a
    feature with zero (or NaN) spread gets scale 1.
    """

    def __init__(self, algorithm: str = BROWSER) -> None:
        if algorithm not in ALGORITHMS:
            raise ValueError(f"Scaler: algorithm must be one of {', '.join(ALGORITHMS)}, not {algorithm!r}")
        self.algorithm = algorithm

    def fit(self, X: Union[Matrix, Rows], n_rows: Optional[int] = None, n_features: Optional[int] = None, *,
            tick: Optional[Tick] = None) -> "Scaler":
        """Fit on the rows of ``X`` in order (a :class:`~stingerml.core.matrix.Rows` view too); returns self.
        ``tick(done, n_features)`` before the first feature and after each of the ``"two-pass"`` algorithm.

        ``fit(flat, n_rows, n_features)`` is the deprecated old form.
        """
        if not isinstance(X, Rows):
            X = as_matrix(X, "Scaler.fit", n_features, n_rows)
        if X.n_rows <= 0:
            raise ValueError("cannot fit a scaler on zero rows")
        if self.algorithm == BROWSER:
            data = X.take().data if isinstance(X, Rows) else X.data
            self.mean_, self.scale_ = kernels().scaler_fit(data, X.n_rows, X.n_cols)
        else:
            self.mean_, self.scale_ = _fit_two_pass(X, tick)
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


def _fit_two_pass(X: Union[Matrix, Rows], tick: Optional[Tick] = None) -> Tuple[array, array]:
    """The ``"two-pass"`` algorithm (:data:`ALGORITHMS`): float32 ``(mean, scale)`` of the rows of ``X``
    (a view's rows are read a column at a time, not copied)."""
    ordered_sum = kernels().ordered_sum
    means, scales = array("f"), array("f")
    n, nf = X.n_rows, X.n_cols
    if tick is not None:
        tick(0, nf)
    for j in range(nf):
        col = X.column(j)
        m = ordered_sum(col) / n
        sd = math.sqrt(ordered_sum((v - m) * (v - m) for v in col) / n)
        means.append(m)
        scales.append(sd if sd > 0.0 else 1.0)
        if tick is not None:
            tick(j + 1, nf)
    for j in range(nf):
        if scales[j] == 0.0 or not math.isfinite(scales[j]):  # a spread below float32's range
            scales[j] = 1.0
    return means, scales
