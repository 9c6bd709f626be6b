"""The numba twin of :mod:`.sequence_pure`: the reference's own loop functions, compiled.

Every ``_``-function of the reference is written in the subset of Python numba
compiles; this module compiles copies of them whose globals point at numba
versions of the three helpers that differ (``_exp``/``_log``: :mod:`stingerml._kernels.jsmath_jit`,
fdlibm with the same bits; ``_uniform``: :func:`stingerml._kernels.rng_jit.next_double`;
``_zeros``: ``numpy.zeros``). One text, two backends: the same operations in the
same order (no fastmath), so the same bits.
"""
from __future__ import annotations

import types
from array import array
from typing import Sequence, Tuple

import numpy as np

from . import jsmath_jit as _jsmath_jit, rng_jit as _rng_jit
from . import sequence_pure as _ref
from .numba_cache import njit
from .sequence_pure import S_C, layout, make_spec, n_params, weight_flags  # noqa: F401  (not hot: the reference's)

__all__ = list(_ref.__all__)

_COMPILED = ("_sigmoid", "_tanh", "_block_off", "_head_off", "_load_input", "_tcn_forward", "_lstm_forward",
             "_pool", "_head", "_head_backward", "_tcn_backward", "_lstm_backward", "_rows", "_adam", "_train",
             "_tcn_ranges")


@njit(cache=True)
def _zeros(n):
    return np.zeros(n)


def _compile():
    """njit copies of the reference's loop functions, calling each other and the numba helpers."""
    env = dict(vars(_ref))
    env.update(_exp=_jsmath_jit.exp, _log=_jsmath_jit.log, _uniform=_rng_jit.next_double, _zeros=_zeros)
    out = {}
    for name in _COMPILED:
        f = getattr(_ref, name)
        copy = types.FunctionType(f.__code__, env, name, f.__defaults__, f.__closure__)
        copy.__module__, copy.__qualname__ = __name__, name
        out[name] = env[name] = njit(cache=True, error_model="numpy")(copy)
    return out


_F = _compile()


def _f64(values) -> np.ndarray:
    if isinstance(values, array) and values.typecode == "d":
        return np.frombuffer(values, dtype=np.float64) if len(values) else np.zeros(0)
    return np.ascontiguousarray(np.asarray(values, dtype=np.float64))


def _i64(values) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(values, dtype=np.int64))


def train_epoch(P: array, M: array, V: array, spec: Sequence[int], X: Sequence[float], lengths: Sequence[int],
                Y: Sequence[int], T: int, order: Sequence[int], batch_size: int, dropout: float, alpha: float,
                lr: float, bc1: Sequence[float], bc2: Sequence[float], rng_state: int,
                flags: Sequence[int]) -> Tuple[float, int, int]:
    """:func:`sequence_pure.train_epoch` under numba (same arguments, same results)."""
    state = np.array([rng_state], dtype=np.int64)
    G = np.zeros(len(P))
    total, correct = _F["_train"](_f64(P), _f64(M), _f64(V), G, _i64(flags), _i64(spec), _f64(X), _i64(lengths),
                                  _i64(Y), int(T), _i64(order), int(batch_size), float(dropout), float(alpha),
                                  float(lr), _f64(bc1), _f64(bc2), state)
    return float(total), int(correct), int(state[0])


def gradients(P: Sequence[float], spec: Sequence[int], X: Sequence[float], lengths: Sequence[int],
              Y: Sequence[int], T: int, rows: Sequence[int], dropout: float = 0.0,
              rng_state: int = 1) -> Tuple[array, float]:
    """:func:`sequence_pure.gradients` under numba."""
    G = np.zeros(len(P))
    loss, _ = _F["_rows"](_f64(P), G, _i64(spec), _f64(X), _i64(lengths), _i64(Y), int(T), _i64(rows), 0,
                          len(rows), float(dropout), np.array([rng_state], dtype=np.int64), np.zeros(0), True)
    return array("d", G.tobytes()), float(loss)


def forward(P: Sequence[float], spec: Sequence[int], X: Sequence[float], lengths: Sequence[int], T: int,
            n: int, Y: Sequence[int] = ()) -> Tuple[array, float]:
    """:func:`sequence_pure.forward` under numba."""
    probs = np.zeros(n * int(spec[S_C]))
    loss, _ = _F["_rows"](_f64(P), np.zeros(0), _i64(spec), _f64(X), _i64(lengths), _i64(Y), int(T),
                          np.arange(n, dtype=np.int64), 0, n, 0.0, np.array([1], dtype=np.int64), probs, False)
    return array("d", probs.tobytes()), float(loss)


def tcn_ranges(P: Sequence[float], spec: Sequence[int], X: Sequence[float], lengths: Sequence[int], T: int,
               n: int) -> array:
    """:func:`sequence_pure.tcn_ranges` under numba."""
    out = np.zeros(4 * int(spec[4]) + 4)
    _F["_tcn_ranges"](_f64(P), _i64(spec), _f64(X), _i64(lengths), int(T), int(n), out,
                      np.array([1], dtype=np.int64))
    return array("d", out.tobytes())
