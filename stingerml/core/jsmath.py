"""JavaScript's ``Math.exp``, ``Math.log``, ``Math.cos`` and ``Math.pow``, bit for bit.

V8 (Node.js, Chrome) implements these with ports of fdlibm (``e_exp.c``,
``e_log.c``, ``k_cos.c``/``k_sin.c``/``e_rem_pio2.c``, ``e_pow.c``), which are accurate
to < 1 ulp but not correctly rounded; the C library behind :mod:`math` usually
is. They disagree in the last bit on a small fraction of arguments, which is
enough to change a loss value the browser prints. The browser pipeline's
transcendental calls go through these functions so stingerml prints the same
numbers. ``sqrt`` needs no port: it is correctly rounded everywhere.

``pow`` serves Adam's bias corrections ``1 - β**t`` (SPEC §8), computed once
per iteration outside the hot loops, so it has no numba twin.
"""
from __future__ import annotations

import math
import struct
from typing import List, Sequence

_D = struct.Struct("<d")
_Q = struct.Struct("<Q")


def _words(x: float) -> "tuple[int, int]":
    """(high 32 bits as a signed int, low 32 bits unsigned) of a double."""
    bits = _Q.unpack(_D.pack(x))[0]
    hi = bits >> 32
    return (hi - (1 << 32) if hi & 0x80000000 else hi), bits & 0xFFFFFFFF


LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
TWO54 = 1.80143985094819840000e16
LG1 = 6.666666666666735130e-01
LG2 = 3.999999999940941908e-01
LG3 = 2.857142874366239149e-01
LG4 = 2.222219843214978396e-01
LG5 = 1.818357216161805012e-01
LG6 = 1.531383769920937332e-01
LG7 = 1.479819860511658591e-01


def log(x: float) -> float:
    """fdlibm ``__ieee754_log`` (V8's ``Math.log``).

    fdlibm reads the high word of ``x``; here the same quantities come from
    ``frexp`` (exact): ``top`` is the high 20 fraction bits, ``k`` the exponent.
    """
    if not x > 0.0:
        return -math.inf if x == 0.0 else math.nan
    if x == math.inf:
        return x
    m, e = math.frexp(x)  # x = m * 2**e, 0.5 <= m < 1
    hx = int((2.0 * m - 1.0) * 1048576.0)  # high 20 bits of the fraction of 1.f
    k = e - 1
    if hx >= 0x6A09C:  # 1.f > sqrt(2): use f/2 and one more in the exponent
        f = m - 1.0
        k += 1
    else:
        f = 2.0 * m - 1.0
    return log_tail(f, k, hx)


def log_tail(f: float, k: int, hx: int) -> float:
    """The end of fdlibm's log, once ``x = 2**k * (1 + f)`` with ``sqrt(2)/2 < 1 + f < sqrt(2)``
    and ``hx`` the high 20 fraction bits of ``x``: pure arithmetic, shared with the numba twin."""
    if (0x000FFFFF & (2 + hx)) < 3:
        if f == 0.0:
            if k == 0:
                return 0.0
            dk = float(k)
            return dk * LN2_HI + dk * LN2_LO
        R = f * f * (0.5 - 0.33333333333333333 * f)
        if k == 0:
            return f - R
        dk = float(k)
        return dk * LN2_HI - ((R - dk * LN2_LO) - f)
    s = f / (2.0 + f)
    dk = float(k)
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


_G_HX_1 = 1 / 1048576.0  # log's tests of hx on g = 1.f - 1, exactly: hx >= N iff g >= N / 2**20
_G_HX_FFFFE = 0xFFFFE / 1048576.0
_G_HX_SQRT2 = 0x6A09C / 1048576.0
_G_HX_HFSQ_LO, _G_HX_HFSQ_HI = 0x6147A / 1048576.0, 0x6B852 / 1048576.0


def logs(values: Sequence[float]) -> List[float]:
    """``[log(v) for v in values]``, the same doubles, in one loop without calls (Box–Muller's
    ``log(u1)``, :meth:`.rng.XorShift32.gaussians`).

    The operations of :func:`log` and :func:`log_tail` in the same order, with ``hx``'s
    tests as comparisons of ``g = 1.f - 1`` (``hx >= N`` iff ``g >= N / 2**20``). Two
    rewrites, exact: ``log_tail``'s ``k == 0`` branches are its general formulas with
    ``dk = 0.0`` (``0.0 - (p - f)`` is ``f - p``: rounding is symmetric, and the result
    is never zero here); ``|f| < 2**-20`` and values that are not positive and finite
    go to :func:`log` itself.
    """
    frexp = math.frexp
    out = [0.0] * len(values)
    for i, x in enumerate(values):
        m, e = frexp(x)
        g = 2.0 * m - 1.0  # exact for positive finite x; < 0, inf or nan otherwise
        if not _G_HX_1 <= g < _G_HX_FFFFE:  # fdlibm: (0x000fffff & (2 + hx)) < 3, or x not positive finite
            out[i] = log(x)
            continue
        if g >= _G_HX_SQRT2:  # 1.f > sqrt(2): use f/2 and one more in the exponent
            f = m - 1.0
            dk = float(e)
        else:
            f = g
            dk = float(e - 1)
        s = f / (2.0 + f)
        z = s * s
        w = z * z
        R = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7))) + w * (LG2 + w * (LG4 + w * LG6))
        if _G_HX_HFSQ_LO <= g < _G_HX_HFSQ_HI:  # fdlibm: i > 0
            hfsq = 0.5 * f * f
            out[i] = dk * LN2_HI - ((hfsq - (s * (hfsq + R) + dk * LN2_LO)) - f)
        else:
            out[i] = dk * LN2_HI - ((s * (f - R) - dk * LN2_LO) - f)
    return out


def _high_word_bound(hi: int) -> float:
    """The smallest non-negative double whose high word is ``hi``: ``|x| < bound`` iff ``high(|x|) < hi``."""
    return _D.unpack(_Q.pack(hi << 32))[0]


O_THRESHOLD = 7.09782712893383973096e02
U_THRESHOLD = -7.45133219101941108420e02
INVLN2 = 1.44269504088896338700e00
P1 = 1.66666666666666019037e-01
P2 = -2.77777777770155933842e-03
P3 = 6.61375632143793436117e-05
P4 = -1.65339022054652515390e-06
P5 = 4.13813679705723846039e-08


_EXP_BIG = _high_word_bound(0x40862E42)  # |x| >= this: overflow/underflow checks
_EXP_HALF_LN2 = _high_word_bound(0x3FD62E43)  # |x| > 0.5 ln2 (fdlibm: hx > 0x3fd62e42)
_EXP_1P5_LN2 = _high_word_bound(0x3FF0A2B2)  # |x| < 1.5 ln2
_EXP_TINY = _high_word_bound(0x3E300000)  # |x| < 2**-28


def exp(x: float) -> float:
    """fdlibm ``__ieee754_exp`` (V8's ``Math.exp``); the high-word tests are float comparisons."""
    ax = abs(x)
    if ax >= _EXP_BIG:
        if x != x:
            return x + x
        if ax == math.inf:
            return x if x > 0 else 0.0
        if x > O_THRESHOLD:
            return math.inf
        if x < U_THRESHOLD:
            return 0.0
    if ax >= _EXP_HALF_LN2:
        if ax < _EXP_1P5_LN2:
            if x == 1.0:
                return math.e  # V8 special-cases exp(1) to return Math.E exactly
            if x >= 0.0:
                hi, lo, k = x - LN2_HI, LN2_LO, 1
            else:
                hi, lo, k = x + LN2_HI, -LN2_LO, -1
        else:
            k = int(INVLN2 * x + (0.5 if x >= 0.0 else -0.5))
            t = float(k)
            hi = x - t * LN2_HI
            lo = t * LN2_LO
        x = hi - lo
    elif ax < _EXP_TINY:
        return 1.0 + x
    else:
        hi = lo = 0.0
        k = 0
    return exp_tail(x, hi, lo, k)


def exp_tail(x: float, hi: float, lo: float, k: int) -> float:
    """The end of fdlibm's exp, once ``x = hi - lo`` is reduced to ``|x| <= 0.5 ln2`` and the
    result is ``2**k * exp(x)``: pure arithmetic, shared with the numba twin."""
    t = x * x
    c = x - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))))
    if k == 0:
        return 1.0 - ((x * c) / (c - 2.0) - x)
    y = 1.0 - ((lo - (x * c) / (2.0 - c)) - hi)
    if k >= -1021:
        return math.ldexp(y, k)
    return math.ldexp(y, k + 1000) * 9.33263618503218878990e-302

C1 = 4.16666666666666019037e-02
C2 = -1.38888888888741095749e-03
C3 = 2.48015872894767294178e-05
C4 = -2.75573143513906633035e-07
C5 = 2.08757232129817482790e-09
C6 = -1.13596475577881948265e-11
S1 = -1.66666666666666324348e-01
S2 = 8.33333333332248946124e-03
S3 = -1.98412698298579493134e-04
S4 = 2.75573137070700676789e-06
S5 = -2.50507602534068634195e-08
S6 = 1.58969099521155010221e-10


def kernel_cos(x: float, y: float) -> float:
    """fdlibm ``__kernel_cos`` on [-pi/4, pi/4], ``y`` the tail of ``x``."""
    ax = abs(x)
    if ax < _TWO_M27 and int(x) == 0:
        return 1.0
    z = x * x
    r = z * (C1 + z * (C2 + z * (C3 + z * (C4 + z * (C5 + z * C6)))))
    if ax < _COS_0_3:
        return 1.0 - (0.5 * z - (z * r - x * y))
    if ax >= _COS_0_78125:
        qx = 0.28125
    else:  # |x|/4 with the low word cleared: its 21 leading significant bits
        m, e = math.frexp(ax)
        qx = math.ldexp(math.floor(math.ldexp(m, 21)), e - 23)
    hz = 0.5 * z - qx
    a = 1.0 - qx
    return a - (hz - (z * r - x * y))


def kernel_sin(x: float, y: float) -> float:
    """fdlibm ``__kernel_sin`` with a tail (``iy = 1``)."""
    if abs(x) < _TWO_M27 and int(x) == 0:
        return x
    z = x * x
    v = z * x
    r = S2 + z * (S3 + z * (S4 + z * (S5 + z * S6)))
    return x - ((z * (0.5 * y - v * r) - y) - v * S1)


_TWO_M27 = _high_word_bound(0x3E400000)
_COS_0_3 = _high_word_bound(0x3FD33333)
_COS_0_78125 = _high_word_bound(0x3FE90001)
_PIO4_HW_HI = _high_word_bound(0x3FE921FC)
_PIO2_HW_LO, _PIO2_HW_HI = _high_word_bound(0x3FF921FB), _high_word_bound(0x3FF921FC)
_3PIO4 = _high_word_bound(0x4002D97C)
_COS_MEDIUM_HI = _high_word_bound(0x413921FC)
INVPIO2 = 6.36619772367581382433e-01
PIO2_1 = 1.57079632673412561417e00
PIO2_1T = 6.07710050650619224932e-11
PIO2_2 = 6.07710050630396597660e-11
PIO2_2T = 2.02226624879595063154e-21
PIO2_3 = 2.02226624871116645580e-21
PIO2_3T = 8.47842766036889956997e-32
NPIO2_HW = (
    0x3FF921FB, 0x400921FB, 0x4012D97C, 0x401921FB, 0x401F6A7A, 0x4022D97C, 0x4025FDBB, 0x402921FB,
    0x402C463A, 0x402F6A7A, 0x4031475C, 0x4032D97C, 0x40346B9C, 0x4035FDBB, 0x40378FDB, 0x403921FB,
    0x403AB41B, 0x403C463A, 0x403DD85A, 0x403F6A7A, 0x40407E4C, 0x4041475C, 0x4042106C, 0x4042D97C,
    0x4043A28C, 0x40446B9C, 0x404534AC, 0x4045FDBB, 0x4046C6CB, 0x40478FDB, 0x404858EB, 0x404921FB,
)

_NPIO2_LO = tuple(_high_word_bound(hw) for hw in NPIO2_HW)
_NPIO2_HI = tuple(_high_word_bound(hw + 1) for hw in NPIO2_HW)


def rem_pio2_small(x: float, positive: bool, near_pio2: bool) -> "tuple[int, float, float]":
    """``_rem_pio2`` for ``pi/4 < |x| < 3pi/4``: one ``pi/2`` off, in two or three parts
    (``near_pio2``: the high word of ``|x|`` is that of ``pi/2``). Pure arithmetic, shared with the twin."""
    if positive:
        z = x - PIO2_1
        if not near_pio2:
            y0 = z - PIO2_1T
            return 1, y0, (z - y0) - PIO2_1T
        z -= PIO2_2
        y0 = z - PIO2_2T
        return 1, y0, (z - y0) - PIO2_2T
    z = x + PIO2_1
    if not near_pio2:
        y0 = z + PIO2_1T
        return -1, y0, (z - y0) + PIO2_1T
    z += PIO2_2
    y0 = z + PIO2_2T
    return -1, y0, (z - y0) + PIO2_2T


def rem_pio2_refine(r: float, fn: float, p: float, pt: float) -> "tuple[float, float, float]":
    """One more round of fdlibm's medium-size reduction with the next ``pi/2`` part ``p`` and its
    tail ``pt``: the new ``(r, w, y0)``. Pure arithmetic, shared with the twin."""
    t = r
    w = fn * p
    r = t - w
    w = fn * pt - ((t - r) - w)
    return r, w, r - w


def _rem_pio2(x: float) -> "tuple[int, float, float]":
    """fdlibm ``__ieee754_rem_pio2`` for ``pi/4 < |x| <= 2**19 * pi/2``: ``(n, y0, y1)``, x = n*pi/2 + y0 + y1."""
    ax = abs(x)
    if ax < _3PIO4:
        return rem_pio2_small(x, x > 0.0, _PIO2_HW_LO <= ax < _PIO2_HW_HI)  # high word of |x| is pi/2's
    t = ax
    n = int(t * INVPIO2 + 0.5)
    fn = float(n)
    r = t - fn * PIO2_1
    w = fn * PIO2_1T
    y0 = r - w
    if n >= 32 or _NPIO2_LO[n - 1] <= t < _NPIO2_HI[n - 1]:  # fdlibm: n >= 32 or high word of |x| == npio2_hw[n-1]
        j = (_words(x)[0] & 0x7FFFFFFF) >> 20
        if j - ((_words(y0)[0] >> 20) & 0x7FF) > 16:
            r, w, y0 = rem_pio2_refine(r, fn, PIO2_2, PIO2_2T)
            if j - ((_words(y0)[0] >> 20) & 0x7FF) > 49:
                r, w, y0 = rem_pio2_refine(r, fn, PIO2_3, PIO2_3T)
    y1 = (r - y0) - w
    if x < 0.0:
        return -n, -y0, -y1
    return n, y0, y1


def cos(x: float) -> float:
    """fdlibm ``cos`` (V8's ``Math.cos``) for ``|x| <= 2**19 * pi/2`` (the Box–Muller range is [0, 2 pi))."""
    ax = abs(x)
    if ax < _PIO4_HW_HI:
        return kernel_cos(x, 0.0)
    if not ax < math.inf:
        return x - x
    if ax >= _COS_MEDIUM_HI:
        raise ValueError(f"jsmath.cos supports |x| <= 2**19*pi/2 only, got {x!r}")
    n, y0, y1 = _rem_pio2(x)
    q = n & 3
    if q == 0:
        return kernel_cos(y0, y1)
    if q == 1:
        return -kernel_sin(y0, y1)
    if q == 2:
        return -kernel_cos(y0, y1)
    return kernel_sin(y0, y1)


_SIGNS = (1.0, -1.0, -1.0, 1.0)  # cos's sign in quadrant n & 3 (its kernel: cos, -sin, -cos, sin)
_COSINES_MAX = 48.0  # below this, _rem_pio2's n <= 31


def cosines(values: Sequence[float]) -> List[float]:
    """``[cos(x) for x in values]``, the same doubles, in one loop without calls for
    ``0 <= x < 48`` (Box–Muller's ``cos(2 pi u2)``, :meth:`.rng.XorShift32.gaussians`).

    The operations of :func:`cos`, ``_rem_pio2`` (:func:`rem_pio2_small` and the medium
    reduction), :func:`kernel_cos` and :func:`kernel_sin` in the same order; the sign of a
    quadrant is a multiplication by ``-1.0`` (exact). Arguments whose high word is that of a
    multiple of ``pi/2`` (the reduction's extra rounds) and any other ``x`` go to :func:`cos`.
    """
    frexp, ldexp, floor = math.frexp, math.ldexp, math.floor
    out = [0.0] * len(values)
    for i, x in enumerate(values):
        if not 0.0 <= x < _COSINES_MAX:
            out[i] = cos(x)
            continue
        if x < _PIO4_HW_HI:
            y0, y1, q = x, 0.0, 0
        elif x < _3PIO4:
            if _PIO2_HW_LO <= x < _PIO2_HW_HI:
                out[i] = cos(x)
                continue
            z = x - PIO2_1
            y0 = z - PIO2_1T
            y1 = (z - y0) - PIO2_1T
            q = 1
        else:
            n = int(x * INVPIO2 + 0.5)
            if _NPIO2_LO[n - 1] <= x < _NPIO2_HI[n - 1]:
                out[i] = cos(x)
                continue
            fn = float(n)
            r = x - fn * PIO2_1
            w = fn * PIO2_1T
            y0 = r - w
            y1 = (r - y0) - w
            q = n & 3
        if q & 1:  # kernel_sin(y0, y1)
            if abs(y0) < _TWO_M27:
                c = y0
            else:
                z = y0 * y0
                v = z * y0
                r = S2 + z * (S3 + z * (S4 + z * (S5 + z * S6)))
                c = y0 - ((z * (0.5 * y1 - v * r) - y1) - v * S1)
        else:  # kernel_cos(y0, y1)
            ax = abs(y0)
            if ax < _TWO_M27:
                c = 1.0
            else:
                z = y0 * y0
                r = z * (C1 + z * (C2 + z * (C3 + z * (C4 + z * (C5 + z * C6)))))
                if ax < _COS_0_3:
                    c = 1.0 - (0.5 * z - (z * r - y0 * y1))
                else:
                    if ax >= _COS_0_78125:
                        qx = 0.28125
                    else:
                        m, e = frexp(ax)
                        qx = ldexp(floor(ldexp(m, 21)), e - 23)
                    c = (1.0 - qx) - ((0.5 * z - qx) - (z * r - y0 * y1))
        out[i] = c * _SIGNS[q]
    return out


# --- pow (fdlibm e_pow.c) ---------------------------------------------------------------------------

_BP = (1.0, 1.5)
_DP_H = (0.0, 5.84962487220764160156e-01)  # log2(1.5) high
_DP_L = (0.0, 1.35003920212974897128e-08)  # log2(1.5) low
_TWO53 = 9007199254740992.0
_L1 = 5.99999999999994648725e-01  # (3/2)(log(x) - 2s - 2/3 s**3) = s**4 (_L1 + s**2 (_L2 + ...))
_L2 = 4.28571428578550184252e-01
_L3 = 3.33333329818377432918e-01
_L4 = 2.72728123808534006489e-01
_L5 = 2.30660745775561754067e-01
_L6 = 2.06975017800338417784e-01
_LN2 = 6.93147180559945286227e-01
_LN2_H = 6.93147182464599609375e-01
_LN2_L = -1.90465429995776804525e-09
_OVT = 8.0085662595372944372e-17  # -(1024 - log2(overflow + 0.5 ulp))
_CP = 9.61796693925975554329e-01  # 2/(3 ln 2)
_CP_H = 9.61796700954437255859e-01
_CP_L = -7.02846165095275826516e-09
_IVLN2_H = 1.44269502162933349609e00
_IVLN2_L = 1.92596299112661746887e-08


def _from_words(hi: int, lo: int) -> float:
    return _D.unpack(_Q.pack(((hi & 0xFFFFFFFF) << 32) | (lo & 0xFFFFFFFF)))[0]


def _low_cleared(x: float) -> float:
    """``x`` with its low 32 bits zero (fdlibm's ``SET_LOW_WORD(x, 0)``)."""
    return _from_words(_words(x)[0], 0)


def _reciprocal(x: float) -> float:
    """``1/x`` as IEEE (and JavaScript) divide: +-0 gives +-inf."""
    return 1.0 / x if x else math.copysign(math.inf, x)


def _odd_even(iy: int, ly: int) -> int:
    """For ``|y|`` with high word ``iy`` and low word ``ly``: 0 not an integer, 1 odd, 2 even."""
    if iy >= 0x43400000:
        return 2  # |y| >= 2**53
    if iy < 0x3FF00000:
        return 0
    k = (iy >> 20) - 0x3FF
    if k > 20:
        j = ly >> (52 - k)
        return 2 - (j & 1) if (j << (52 - k)) == ly else 0
    if ly == 0:
        j = iy >> (20 - k)
        return 2 - (j & 1) if (j << (20 - k)) == iy else 0
    return 0


def pow(x: float, y: float) -> float:  # noqa: A001  (JavaScript's name)
    """V8's ``Math.pow`` (and ``**``): its port of fdlibm ``__ieee754_pow``, ``x**y`` as the browser computes it.

    ``log2(x)`` in extra precision, times ``y`` split in two, then ``2**`` of that.
    V8 groups one step of the final ``2**`` differently from fdlibm (see
    :func:`_exp2`), so it matches neither fdlibm nor the C library's ``pow``
    (Python's ``**``) in the last bit on some arguments, e.g. ``0.999**16``.
    """
    hx, lx = _words(x)
    hy, ly = _words(y)
    ix, iy = hx & 0x7FFFFFFF, hy & 0x7FFFFFFF
    if (iy | ly) == 0:
        return 1.0  # x**0
    if ix > 0x7FF00000 or (ix == 0x7FF00000 and lx) or iy > 0x7FF00000 or (iy == 0x7FF00000 and ly):
        return math.nan
    yisint = _odd_even(iy, ly) if hx < 0 else 0
    if ly == 0:
        if iy == 0x7FF00000:  # y = +-inf
            if ((ix - 0x3FF00000) | lx) == 0:
                return math.nan  # (+-1)**+-inf
            if ix >= 0x3FF00000:
                return y if hy >= 0 else 0.0
            return -y if hy < 0 else 0.0
        if iy == 0x3FF00000:  # y = +-1
            return _reciprocal(x) if hy < 0 else x
        if hy == 0x40000000:
            return x * x  # y = 2
        if hy == 0x3FE00000 and hx >= 0:
            return math.sqrt(x)  # y = 0.5
    ax = abs(x)
    if lx == 0 and ix in (0x7FF00000, 0, 0x3FF00000):  # x = +-0, +-inf, +-1
        z = _reciprocal(ax) if hy < 0 else ax
        if hx < 0:
            if ix == 0x3FF00000 and yisint == 0:
                return math.nan  # (-1)**non-integer
            if yisint == 1:
                z = -z
        return z
    if hx < 0 and yisint == 0:
        return math.nan  # (x<0)**non-integer
    s = -1.0 if hx < 0 and yisint == 1 else 1.0
    if iy > 0x41E00000:  # |y| > 2**31
        if iy > 0x43F00000:  # |y| > 2**64: over- or underflow
            if ix <= 0x3FEFFFFF:
                return math.inf if hy < 0 else 0.0
            return math.inf if hy > 0 else 0.0
        if ix < 0x3FEFFFFF:
            return s * math.inf if hy < 0 else s * 0.0
        if ix > 0x3FF00000:
            return s * math.inf if hy > 0 else s * 0.0
        t1, t2 = _log2_near_one(ax)
    else:
        t1, t2 = _log2(ax, ix)
    # (y1 + y2) * (t1 + t2) with y1 = y's high part
    y1 = _low_cleared(y)
    p_l = (y - y1) * t1 + y * t2
    p_h = y1 * t1
    z = p_l + p_h
    j, i = _words(z)
    if j >= 0x40900000:  # z >= 1024
        if ((j - 0x40900000) | i) != 0 or p_l + _OVT > z - p_h:
            return s * math.inf
    elif (j & 0x7FFFFFFF) >= 0x4090CC00:  # z <= -1075
        if ((j - (0xC090CC00 - (1 << 32))) | i) != 0 or p_l <= z - p_h:
            return s * 0.0
    return s * _exp2(p_h, p_l, j)


def _log2_near_one(ax: float) -> "tuple[float, float]":
    """``log2(ax)`` as ``t1 + t2`` when ``|1 - ax| <= 2**-20`` (x - x**2/2 + x**3/3 - x**4/4)."""
    t = ax - 1.0
    w = (t * t) * (0.5 - t * (3.3333333333333331e-01 - t * 0.25))
    u = _IVLN2_H * t
    v = t * _IVLN2_L - w * INVLN2
    t1 = _low_cleared(u + v)
    return t1, v - (t1 - u)


def _log2(ax: float, ix: int) -> "tuple[float, float]":
    """``log2(ax)`` as ``t1 + t2`` (``t1`` with 32 trailing zero bits); ``ix`` the high word of ``ax``."""
    n = 0
    if ix < 0x00100000:  # subnormal
        ax *= _TWO53
        n -= 53
        ix = _words(ax)[0]
    n += (ix >> 20) - 0x3FF
    j = ix & 0x000FFFFF
    ix = j | 0x3FF00000
    if j <= 0x3988E:  # |x| < sqrt(3/2)
        k = 0
    elif j < 0xBB67A:  # |x| < sqrt(3)
        k = 1
    else:
        k = 0
        n += 1
        ix -= 0x00100000
    ax = _from_words(ix, _words(ax)[1])
    # ss = s_h + s_l = (x - 1)/(x + 1) or (x - 1.5)/(x + 1.5)
    u = ax - _BP[k]
    v = 1.0 / (ax + _BP[k])
    ss = u * v
    s_h = _low_cleared(ss)
    t_h = _from_words(((ix >> 1) | 0x20000000) + 0x00080000 + (k << 18), 0)
    t_l = ax - (t_h - _BP[k])
    s_l = v * ((u - s_h * t_h) - s_h * t_l)
    s2 = ss * ss
    r = s2 * s2 * (_L1 + s2 * (_L2 + s2 * (_L3 + s2 * (_L4 + s2 * (_L5 + s2 * _L6)))))
    r += s_l * (s_h + ss)
    s2 = s_h * s_h
    t_h = _low_cleared(3.0 + s2 + r)
    t_l = r - ((t_h - 3.0) - s2)
    u = s_h * t_h
    v = s_l * t_h + t_l * ss
    p_h = _low_cleared(u + v)
    p_l = v - (p_h - u)
    z_h = _CP_H * p_h
    z_l = _CP_L * p_h + p_l * _CP + _DP_L[k]
    t = float(n)
    t1 = _low_cleared(((z_h + z_l) + _DP_H[k]) + t)
    return t1, z_l - (((t1 - t) - _DP_H[k]) - z_h)


def _exp2(p_h: float, p_l: float, j: int) -> float:
    """``2**(p_h + p_l)``; ``j`` is the high word of ``p_h + p_l``."""
    i = j & 0x7FFFFFFF
    k = (i >> 20) - 0x3FF
    n = 0
    if i > 0x3FE00000:  # |z| > 0.5: n = nearest integer
        n = j + (0x00100000 >> (k + 1))
        k = ((n & 0x7FFFFFFF) >> 20) - 0x3FF
        t = _from_words(n & ~(0x000FFFFF >> k), 0)
        n = ((n & 0x000FFFFF) | 0x00100000) >> (20 - k)
        if j < 0:
            n = -n
        p_h -= t
    t = _low_cleared(p_l + p_h)
    u = t * _LN2_H
    v = (p_l - (t - p_h)) * _LN2 + t * _LN2_L
    z = u + v
    w = v - (z - u)
    t = z * z
    t1 = z - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))))
    r = (z * t1) / ((t1 - 2.0) - (w + z * w))  # V8's grouping; fdlibm's is (z*t1)/(t1-2) - (w+z*w)
    z = 1.0 - (r - z)
    hz = _words(z)[0] + (n << 20)
    if (hz >> 20) <= 0:
        return math.ldexp(z, n)  # subnormal result
    return _from_words(hz, _words(z)[1])
