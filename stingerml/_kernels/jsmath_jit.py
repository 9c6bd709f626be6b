"""The numba twin of :mod:`stingerml.core.jsmath`: V8's fdlibm ``exp``, ``log`` and ``cos`` as njit functions.

The same algorithms, constants and branch order as :mod:`stingerml.core.jsmath`, so
every result is the same double (tested on V8's outputs and on 10^6 arguments
against the Python ports). Only the parts that read or write the words of a
double are written here (fdlibm's high-word tests, as int64 views:
``_high_word`` / ``_with_high_word``); the pure arithmetic (log's and exp's
tails, ``kernel_cos``, ``kernel_sin``, the argument reduction's steps) is
jsmath's own code, compiled with njit. Used inside
the numba kernels (:mod:`stingerml._kernels.jit`, :mod:`stingerml._kernels.rng_jit`);
importing this module needs numba.
"""
from __future__ import annotations

import math

import numpy as np
from .numba_cache import njit

from ..core import jsmath
from ..core.jsmath import (
    INVLN2,
    INVPIO2,
    LN2_HI,
    LN2_LO,
    NPIO2_HW,
    O_THRESHOLD,
    PIO2_1,
    PIO2_1T,
    PIO2_2,
    PIO2_2T,
    PIO2_3,
    PIO2_3T,
    TWO54,
    U_THRESHOLD,
)

__all__ = ["cos", "exp", "log"]

_ieee = njit(cache=True, error_model="numpy")  # no ZeroDivisionError checks: IEEE division, as fdlibm


@_ieee
def _high_word(x):
    """fdlibm GET_HIGH_WORD: the high 32 bits of a double as a signed int."""
    return np.float64(x).view(np.int64) >> 32


@_ieee
def _with_high_word(x, hi):
    """fdlibm SET_HIGH_WORD: ``x`` with its high 32 bits replaced by ``hi``."""
    lo = np.float64(x).view(np.int64) & 0xFFFFFFFF
    return np.int64(((hi & 0xFFFFFFFF) << 32) | lo).view(np.float64)


@_ieee
def log(x):
    """fdlibm ``__ieee754_log``, as :func:`stingerml.core.jsmath.log`."""
    hx = _high_word(x)
    lx = np.float64(x).view(np.int64) & 0xFFFFFFFF
    k = 0
    if hx < 0x00100000:
        if ((hx & 0x7FFFFFFF) | lx) == 0:
            return -math.inf
        if hx < 0:
            return math.nan
        k -= 54
        x *= TWO54
        hx = _high_word(x)
    if hx >= 0x7FF00000:
        return x + x
    k += (hx >> 20) - 1023
    hx &= 0x000FFFFF
    i = (hx + 0x95F64) & 0x100000
    x = _with_high_word(x, hx | (i ^ 0x3FF00000))
    k += i >> 20
    return _log_tail(x - 1.0, k, hx)


@_ieee
def exp(x):
    """fdlibm ``__ieee754_exp``, as :func:`stingerml.core.jsmath.exp`."""
    hx = _high_word(x)
    xsb = (hx >> 31) & 1
    hx &= 0x7FFFFFFF
    if hx >= 0x40862E42:
        if hx >= 0x7FF00000:
            if x != x:
                return x + x
            return x if xsb == 0 else 0.0
        if x > O_THRESHOLD:
            return math.inf
        if x < U_THRESHOLD:
            return 0.0
    hi = 0.0
    lo = 0.0
    k = 0
    if hx > 0x3FD62E42:
        if hx < 0x3FF0A2B2:
            if x == 1.0:
                return math.e  # V8 special-cases exp(1) to return Math.E exactly
            if xsb == 0:
                hi = x - LN2_HI
                lo = LN2_LO
                k = 1
            else:
                hi = x + LN2_HI
                lo = -LN2_LO
                k = -1
        else:
            k = np.int64(INVLN2 * x + (0.5 if xsb == 0 else -0.5))
            t = np.float64(k)
            hi = x - t * LN2_HI
            lo = t * LN2_LO
        x = hi - lo
    elif hx < 0x3E300000:
        return 1.0 + x
    return _exp_tail(x, hi, lo, k)


# The arithmetic that needs no word access is jsmath's own code, compiled: one source for both.
_log_tail = _ieee(jsmath.log_tail)
_exp_tail = _ieee(jsmath.exp_tail)
_kernel_cos = _ieee(jsmath.kernel_cos)
_kernel_sin = _ieee(jsmath.kernel_sin)
_rem_pio2_small = _ieee(jsmath.rem_pio2_small)
_rem_pio2_refine = _ieee(jsmath.rem_pio2_refine)


_NPIO2_HW = np.array(NPIO2_HW, np.int64)


@_ieee
def _rem_pio2(x):
    """fdlibm ``__ieee754_rem_pio2`` for ``pi/4 < |x| <= 2**19 * pi/2``, as ``jsmath's ``_rem_pio2````."""
    hx = _high_word(x)
    ix = hx & 0x7FFFFFFF
    if ix < 0x4002D97C:
        return _rem_pio2_small(x, hx > 0, ix == 0x3FF921FB)
    t = abs(x)
    n = np.int64(t * INVPIO2 + 0.5)
    fn = np.float64(n)
    r = t - fn * PIO2_1
    w = fn * PIO2_1T
    y0 = r - w
    if not (n < 32 and ix != _NPIO2_HW[n - 1]):
        j = ix >> 20
        if j - ((_high_word(y0) >> 20) & 0x7FF) > 16:
            r, w, y0 = _rem_pio2_refine(r, fn, PIO2_2, PIO2_2T)
            if j - ((_high_word(y0) >> 20) & 0x7FF) > 49:
                r, w, y0 = _rem_pio2_refine(r, fn, PIO2_3, PIO2_3T)
    y1 = (r - y0) - w
    if hx < 0:
        return -n, -y0, -y1
    return n, y0, y1


@_ieee
def cos(x):
    """fdlibm ``cos`` (V8's ``Math.cos``) for ``|x| <= 2**19 * pi/2``, as :func:`stingerml.core.jsmath.cos`
    (larger arguments, which jsmath rejects, give NaN)."""
    ix = _high_word(x) & 0x7FFFFFFF
    if ix <= 0x3FE921FB:
        return _kernel_cos(x, 0.0)
    if ix >= 0x7FF00000:
        return x - x
    if ix > 0x413921FB:
        return math.nan
    n, y0, y1 = _rem_pio2(x)
    q = n & 3
    if q == 0:
        return _kernel_cos(y0, y1)
    if q == 1:
        return -_kernel_sin(y0, y1)
    if q == 2:
        return -_kernel_cos(y0, y1)
    return _kernel_sin(y0, y1)
