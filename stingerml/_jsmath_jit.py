"""The numba twin of :mod:`stingerml.jsmath`: V8's fdlibm ``exp``, ``log`` and ``cos`` as njit functions.

The same algorithms, constants and branch order as :mod:`stingerml.jsmath`, so
every result is the same double (tested on V8's outputs and on 10^6 arguments
against the Python ports). fdlibm reads and writes the high word of a double;
here that is an int64 view (``_high_word`` / ``_with_high_word``). Used inside
the numba kernels (:mod:`stingerml._kernels.jit`, :mod:`stingerml._rng_jit`);
importing this module needs numba.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from .jsmath import (  # the fdlibm constants, shared with the reference
    LN2_HI,
    LN2_LO,
    TWO54,
    LG1,
    LG2,
    LG3,
    LG4,
    LG5,
    LG6,
    LG7,
    O_THRESHOLD,
    U_THRESHOLD,
    INVLN2,
    P1,
    P2,
    P3,
    P4,
    P5,
    C1,
    C2,
    C3,
    C4,
    C5,
    C6,
    S1,
    S2,
    S3,
    S4,
    S5,
    S6,
    INVPIO2,
    PIO2_1,
    PIO2_1T,
    PIO2_2,
    PIO2_2T,
    PIO2_3,
    PIO2_3T,
    NPIO2_HW,
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
    """fdlibm ``__ieee754_log``, as :func:`stingerml.jsmath.log`."""
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
    f = x - 1.0
    if (0x000FFFFF & (2 + hx)) < 3:
        if f == 0.0:
            if k == 0:
                return 0.0
            dk = np.float64(k)
            return dk * LN2_HI + dk * LN2_LO
        R = f * f * (0.5 - 0.33333333333333333 * f)
        if k == 0:
            return f - R
        dk = np.float64(k)
        return dk * LN2_HI - ((R - dk * LN2_LO) - f)
    s = f / (2.0 + f)
    dk = np.float64(k)
    z = s * s
    i = hx - 0x6147A
    w = z * z
    j = 0x6B851 - hx
    t1 = w * (LG2 + w * (LG4 + w * LG6))
    t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)))
    i |= j
    R = t2 + t1
    if i > 0:
        hfsq = 0.5 * f * f
        if k == 0:
            return f - (hfsq - s * (hfsq + R))
        return dk * LN2_HI - ((hfsq - (s * (hfsq + R) + dk * LN2_LO)) - f)
    if k == 0:
        return f - s * (f - R)
    return dk * LN2_HI - ((s * (f - R) - dk * LN2_LO) - f)


_TWOM1000 = 9.33263618503218878990e-302


@_ieee
def exp(x):
    """fdlibm ``__ieee754_exp``, as :func:`stingerml.jsmath.exp`."""
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
    t = x * x
    c = x - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))))
    if k == 0:
        return 1.0 - ((x * c) / (c - 2.0) - x)
    y = 1.0 - ((lo - (x * c) / (2.0 - c)) - hi)
    if k >= -1021:  # y * 2**k is a normal number: add k to the exponent (what ldexp does)
        return _with_high_word(y, _high_word(y) + (k << 20))
    return math.ldexp(y, k + 1000) * _TWOM1000


@_ieee
def _kernel_cos(x, y):
    """fdlibm ``__kernel_cos``, as ``jsmath's ``_kernel_cos````."""
    ix = _high_word(x) & 0x7FFFFFFF
    if ix < 0x3E400000 and np.int64(x) == 0:
        return 1.0
    z = x * x
    r = z * (C1 + z * (C2 + z * (C3 + z * (C4 + z * (C5 + z * C6)))))
    if ix < 0x3FD33333:
        return 1.0 - (0.5 * z - (z * r - x * y))
    if ix > 0x3FE90000:
        qx = 0.28125
    else:
        qx = np.int64((ix - 0x00200000) << 32).view(np.float64)
    hz = 0.5 * z - qx
    a = 1.0 - qx
    return a - (hz - (z * r - x * y))


@_ieee
def _kernel_sin(x, y):
    """fdlibm ``__kernel_sin`` with a tail, as ``jsmath's ``_kernel_sin````."""
    ix = _high_word(x) & 0x7FFFFFFF
    if ix < 0x3E400000 and np.int64(x) == 0:
        return x
    z = x * x
    v = z * x
    r = S2 + z * (S3 + z * (S4 + z * (S5 + z * S6)))
    return x - ((z * (0.5 * y - v * r) - y) - v * S1)


_NPIO2_HW = np.array(NPIO2_HW, np.int64)


@_ieee
def _rem_pio2(x):
    """fdlibm ``__ieee754_rem_pio2`` for ``pi/4 < |x| <= 2**19 * pi/2``, as ``jsmath's ``_rem_pio2````."""
    hx = _high_word(x)
    ix = hx & 0x7FFFFFFF
    if ix < 0x4002D97C:
        if hx > 0:
            z = x - PIO2_1
            if ix != 0x3FF921FB:
                y0 = z - PIO2_1T
                return 1, y0, (z - y0) - PIO2_1T
            z -= PIO2_2
            y0 = z - PIO2_2T
            return 1, y0, (z - y0) - PIO2_2T
        z = x + PIO2_1
        if ix != 0x3FF921FB:
            y0 = z + PIO2_1T
            return -1, y0, (z - y0) + PIO2_1T
        z += PIO2_2
        y0 = z + PIO2_2T
        return -1, y0, (z - y0) + PIO2_2T
    t = abs(x)
    n = np.int64(t * INVPIO2 + 0.5)
    fn = np.float64(n)
    r = t - fn * PIO2_1
    w = fn * PIO2_1T
    y0 = r - w
    if not (n < 32 and ix != _NPIO2_HW[n - 1]):
        j = ix >> 20
        if j - ((_high_word(y0) >> 20) & 0x7FF) > 16:
            t = r
            w = fn * PIO2_2
            r = t - w
            w = fn * PIO2_2T - ((t - r) - w)
            y0 = r - w
            if j - ((_high_word(y0) >> 20) & 0x7FF) > 49:
                t = r
                w = fn * PIO2_3
                r = t - w
                w = fn * PIO2_3T - ((t - r) - w)
                y0 = r - w
    y1 = (r - y0) - w
    if hx < 0:
        return -n, -y0, -y1
    return n, y0, y1


@_ieee
def cos(x):
    """fdlibm ``cos`` (V8's ``Math.cos``) for ``|x| <= 2**19 * pi/2``, as :func:`stingerml.jsmath.cos`
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
