"""xorshift32, the browser trainer's PRNG, with its shuffle and gaussian (SPEC §3).

Also :func:`js_round`, JavaScript's ``Math.round`` (half rounds up), which every
rounding of the browser pipeline uses.
"""
from __future__ import annotations

import functools
import math
from typing import List, MutableSequence, Tuple, TypeVar

from . import jsmath
from .jsmath import (  # the constants of the in-line log and cos of XorShift32.gaussians
    _3PIO4, _COS_0_3, _COS_0_78125, _NPIO2_HI, _NPIO2_LO, _PIO2_HW_HI, _PIO2_HW_LO, _PIO4_HW_HI, _TWO_M27,
    C1, C2, C3, C4, C5, C6, INVPIO2, LG1, LG2, LG3, LG4, LG5, LG6, LG7, LN2_HI, LN2_LO, PIO2_1, PIO2_1T,
    S1, S2, S3, S4, S5, S6,
)

T = TypeVar("T")

MASK32 = 0xFFFFFFFF
INV_2_32 = 1.0 / 4294967296.0
# fdlibm log's tests of hx (the high 20 fraction bits of x) on g = 1.f - 1, exactly: hx >= N iff g >= N / 2**20
_G_HX_1 = 1 / 1048576.0  # hx >= 1
_G_HX_FFFFE = 0xFFFFE / 1048576.0  # hx >= 0xffffe
_G_HX_SQRT2 = 0x6A09C / 1048576.0  # hx >= 0x6a09c: 1.f > sqrt(2)
_G_HX_HFSQ_LO, _G_HX_HFSQ_HI = 0x6147A / 1048576.0, 0x6B852 / 1048576.0  # 0x6147a <= hx <= 0x6b851


class XorShift32:
    """xorshift32 with shifts 13, 17, 5; outputs ``state / 2**32`` in [0, 1).

    Seeding follows JS ``seed | 0``: ``seed mod 2**32``, and a zero state becomes 1
    (so the state is never 0).
    """

    __slots__ = ("state",)

    def __init__(self, seed: int) -> None:
        self.state = (int(seed) & MASK32) or 1

    def next_u32(self) -> int:
        """Advance and return the new uint32 state."""
        s = self.state
        s ^= (s << 13) & MASK32
        s ^= s >> 17
        s ^= (s << 5) & MASK32
        self.state = s
        return s

    def __call__(self) -> float:
        """Advance and return a double in [0, 1)."""
        return self.next_u32() * INV_2_32

    def shuffle(self, items: MutableSequence[T]) -> None:
        """Fisher–Yates in place, from the last index down to 1: ``j = floor(rng() * (i + 1))``."""
        for i in range(len(items) - 1, 0, -1):
            j = int(self() * (i + 1))
            items[i], items[j] = items[j], items[i]

    def gaussian(self) -> float:
        """One Box–Muller normal draw (two rng draws): ``sqrt(-2 log u1) * cos(2 pi u2)``,
        with V8's ``log`` and ``cos`` (:mod:`stingerml.core.jsmath`)."""
        u1 = self() or 1e-10
        u2 = self()
        return math.sqrt(-2.0 * jsmath.log(u1)) * jsmath.cos(2.0 * math.pi * u2)

    def gaussians(self, count: int) -> List[float]:
        """``[self.gaussian() for _ in range(count)]``: the same doubles, faster.

        :meth:`gaussian` is the reference. Here its ``jsmath.log(u1)`` and
        ``jsmath.cos(2 pi u2)`` run in line for Box–Muller's arguments only
        (``0 < u1 < 1``, ``0 <= 2 pi u2 < 2 pi``): the same float operations in
        the same order as :func:`.jsmath.log_tail`, :func:`.jsmath.rem_pio2_small`,
        the medium reduction of ``jsmath._rem_pio2``, :func:`.jsmath.kernel_cos`
        and :func:`.jsmath.kernel_sin`, with fdlibm's high-word tests as float
        comparisons; the rare arguments that need more (``u1`` within ``2**-20`` of a
        power of two, ``2 pi u2`` whose high word is that of a multiple of ``pi/2``)
        go to ``jsmath.log``/``jsmath.cos`` themselves. No function call in the
        common path (calls dominate CPython's cost). ``tests/test_rng.py`` compares
        the two draw for draw.
        """
        s, log, cos, sqrt, frexp = self.state, jsmath.log, jsmath.cos, math.sqrt, math.frexp
        two_pi = 2.0 * math.pi
        out = [0.0] * count
        for i in range(count):
            s ^= (s << 13) & MASK32
            s ^= s >> 17
            s ^= (s << 5) & MASK32
            u1 = s * INV_2_32 or 1e-10
            s ^= (s << 13) & MASK32
            s ^= s >> 17
            s ^= (s << 5) & MASK32
            x = two_pi * (s * INV_2_32)
            # log(u1): u1 = 2**e * m, 1 + g = 2m (exact); fdlibm's hx is floor(g * 2**20)
            m, e = frexp(u1)
            g = 2.0 * m - 1.0
            if g < _G_HX_1 or g >= _G_HX_FFFFE:  # |f| < 2**-20: log's own short path
                lg = log(u1)
            else:
                if g >= _G_HX_SQRT2:  # 1 + g > sqrt(2): f = m - 1, one more in the exponent
                    f = m - 1.0
                    k = e
                else:
                    f = g
                    k = e - 1
                sf = f / (2.0 + f)
                z = sf * sf
                w = z * z
                R = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7))) + w * (LG2 + w * (LG4 + w * LG6))
                if _G_HX_HFSQ_LO <= g < _G_HX_HFSQ_HI:  # fdlibm: i > 0
                    hfsq = 0.5 * f * f
                    if k == 0:
                        lg = f - (hfsq - sf * (hfsq + R))
                    else:
                        dk = float(k)
                        lg = dk * LN2_HI - ((hfsq - (sf * (hfsq + R) + dk * LN2_LO)) - f)
                elif k == 0:
                    lg = f - sf * (f - R)
                else:
                    dk = float(k)
                    lg = dk * LN2_HI - ((sf * (f - R) - dk * LN2_LO) - f)
            # cos(x): x = n pi/2 + y0 + y1, then the kernel of quadrant q (q = -1: jsmath.cos itself)
            if x < _PIO4_HW_HI:
                y0, y1, q = x, 0.0, 0
            elif x < _3PIO4:
                if _PIO2_HW_LO <= x < _PIO2_HW_HI:
                    q = -1
                else:
                    z = x - PIO2_1
                    y0 = z - PIO2_1T
                    y1 = (z - y0) - PIO2_1T
                    q = 1
            else:
                n = int(x * INVPIO2 + 0.5)
                if _NPIO2_LO[n - 1] <= x < _NPIO2_HI[n - 1]:
                    q = -1
                else:
                    fn = float(n)
                    r = x - fn * PIO2_1
                    w = fn * PIO2_1T
                    y0 = r - w
                    y1 = (r - y0) - w
                    q = n & 3
            if q < 0:
                c = cos(x)
            elif q & 1:  # kernel_sin(y0, y1), negated in quadrant 1
                if abs(y0) < _TWO_M27:
                    c = y0
                else:
                    z = y0 * y0
                    v = z * y0
                    r = S2 + z * (S3 + z * (S4 + z * (S5 + z * S6)))
                    c = y0 - ((z * (0.5 * y1 - v * r) - y1) - v * S1)
                if q == 1:
                    c = -c
            else:  # kernel_cos(y0, y1), negated in quadrant 2
                a = abs(y0)
                if a < _TWO_M27:
                    c = 1.0
                else:
                    z = y0 * y0
                    r = z * (C1 + z * (C2 + z * (C3 + z * (C4 + z * (C5 + z * C6)))))
                    if a < _COS_0_3:
                        c = 1.0 - (0.5 * z - (z * r - y0 * y1))
                    else:
                        if a >= _COS_0_78125:
                            qx = 0.28125
                        else:
                            mq, eq = frexp(a)
                            qx = math.ldexp(math.floor(math.ldexp(mq, 21)), eq - 23)
                        c = (1.0 - qx) - ((0.5 * z - qx) - (z * r - y0 * y1))
                if q == 2:
                    c = -c
            out[i] = sqrt(-2.0 * lg) * c
        self.state = s
        return out

    def skip(self, count: int) -> None:
        """Advance past ``count`` draws without computing them: a jump (:func:`_jump`) when
        ``count`` is large, so skipping costs the same for any ``count`` (the MLP's second process skips
        the other process's rows every iteration)."""
        s = self.state
        if count >= _JUMP_FROM:
            self.state = _apply(_jump(count), s)
            return
        for _ in range(count):
            s ^= (s << 13) & MASK32
            s ^= s >> 17
            s ^= (s << 5) & MASK32
        self.state = s


_JUMP_FROM = 64  # below this many steps, stepping is cheaper than a jump


def _apply(columns: Tuple[int, ...], state: int) -> int:
    """A 32×32 matrix over GF(2), given by the images of the 32 state bits, applied to ``state``."""
    out, bit = 0, 0
    while state:
        if state & 1:
            out ^= columns[bit]
        state >>= 1
        bit += 1
    return out


@functools.lru_cache(maxsize=16)
def _jump(count: int) -> Tuple[int, ...]:
    """xorshift32 ``count`` steps at once. The step is linear over GF(2) (shifts and xors), so
    ``count`` steps are the step's matrix to the power ``count`` (by squaring), as the images of the
    32 state bits."""
    one = []
    for bit in range(32):
        s = 1 << bit
        s ^= (s << 13) & MASK32
        s ^= s >> 17
        s ^= (s << 5) & MASK32
        one.append(s)
    power, result = tuple(one), tuple(1 << bit for bit in range(32))
    while count:
        if count & 1:
            result = tuple(_apply(power, v) for v in result)
        power = tuple(_apply(power, v) for v in power)
        count >>= 1
    return result


def js_round(x: float) -> int:
    """JavaScript ``Math.round``: ``floor(x + 0.5)`` (2.5 -> 3, -2.5 -> -2)."""
    return math.floor(x + 0.5)
