"""What the estimators share: taking a :class:`~stingerml.core.matrix.Matrix` (or, deprecated, flat data
with its shape), checking that they are fitted, and warning about renamed parameters."""
from __future__ import annotations

import inspect
from array import array
from typing import Any, Optional, Sequence, Tuple, Union

from .._compat import deprecated
from ..core.matrix import Matrix


def as_matrix(X: Union[Matrix, Sequence[float]], where: str, n_cols: Optional[int] = None,
              n_rows: Optional[int] = None, _depth: int = 0) -> Matrix:
    """``X`` itself when it is a :class:`Matrix`; else (the old call form, deprecated) flat
    row-major data of ``n_rows × n_cols`` (``n_rows`` None: as many whole rows as ``X`` holds)."""
    if isinstance(X, Matrix):
        return X
    if n_cols is None:
        raise TypeError(f"{where}: X must be a stingerml.core.matrix.Matrix (flat data + row width), "
                        f"got {type(X).__name__}")
    deprecated(f"{where} with flat data and its shape: pass a stingerml.core.matrix.Matrix", stacklevel=4 + _depth)
    n = len(X) // n_cols if n_rows is None else n_rows
    return Matrix(X if len(X) == n * n_cols else X[: n * n_cols], n_cols)


def training_matrix(X: Union[Matrix, Sequence[float]], y: Sequence[int], where: str,
                    n_features: Optional[int] = None) -> Matrix:
    """``fit``'s ``X`` as a :class:`Matrix` (see :func:`as_matrix`) with one row per label in ``y``."""
    X = as_matrix(X, where, n_features, len(y), _depth=1)
    if not len(y):
        raise ValueError(f"{where}: cannot fit on zero rows")
    if X.n_rows != len(y):
        raise ValueError(f"{where}: X has {X.n_rows} rows but y has {len(y)} labels")
    return X


def default_of(obj: Any, name: str) -> Any:
    """The default of parameter ``name`` of ``obj`` (a class: its ``__init__``; or a function): where a
    settings object or a CLI reads a default whose one definition is that signature."""
    return inspect.signature(obj).parameters[name].default


def check_fitted(estimator: Any, attribute: str, method: str) -> None:
    """RuntimeError unless ``estimator`` has the fitted ``attribute`` (set by ``fit`` only)."""
    if not hasattr(estimator, attribute):
        raise RuntimeError(f"{type(estimator).__name__}.{method} called before fit")


def scaling(scaler: Any, n_features: int) -> Tuple[array, array]:
    """``(mean, scale)`` float32 copies of a fitted :class:`~stingerml.learn.scaler.Scaler`'s state, or the
    identity scaling (mean 0, scale 1) when ``scaler`` is None: what ``to_model`` stores."""
    if scaler is None:
        return array("f", [0.0] * n_features), array("f", [1.0] * n_features)
    check_fitted(scaler, "mean_", "to_model")
    if scaler.n_features_ != n_features:
        raise ValueError(f"the scaler has {scaler.n_features_} features, the model {n_features}")
    return array("f", scaler.mean_), array("f", scaler.scale_)
