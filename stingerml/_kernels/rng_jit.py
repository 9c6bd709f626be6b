"""The numba twin of :class:`stingerml.core.rng.XorShift32`: the xorshift32 step and Box–Muller gaussian
as njit functions on a one-element int64 state array (``state[0]`` holds the uint32).

The same operations as :mod:`stingerml.core.rng` (V8's ``log`` and ``cos`` from
:mod:`stingerml._kernels.jsmath_jit`), so the draws are the same doubles. Needs numba.
"""
from __future__ import annotations

import math

import numpy as np
from .numba_cache import njit

from ..core.rng import INV_2_32, MASK32, XorShift32
from .jsmath_jit import cos, log

__all__ = ["gaussian", "next_double", "seed_state"]

_ieee = njit(cache=True, error_model="numpy")


def seed_state(seed: int) -> np.ndarray:
    """The state array of a fresh ``XorShift32(seed)``."""
    return np.array([XorShift32(seed).state], np.int64)


@_ieee
def next_double(state):
    """xorshift32 step on ``state[0]`` (an int64 holding the uint32); returns a double in [0, 1)."""
    s = state[0]
    s ^= (s << 13) & MASK32
    s ^= s >> 17
    s ^= (s << 5) & MASK32
    state[0] = s
    return np.float64(s) * INV_2_32


@_ieee
def gaussian(state):
    """Box–Muller as :meth:`XorShift32.gaussian` (two draws, V8's log and cos)."""
    u1 = next_double(state)
    if u1 == 0.0:
        u1 = 1e-10
    u2 = next_double(state)
    return math.sqrt(-2.0 * log(u1)) * cos(2.0 * math.pi * u2)
