"""xorshift32, the browser trainer's PRNG, with its shuffle and gaussian (SPEC §3).

Also :func:`js_round`, JavaScript's ``Math.round`` (half rounds up), which every
rounding of the browser pipeline uses.
"""
from __future__ import annotations

import functools
import math
from typing import List, MutableSequence, Optional, Tuple, TypeVar

from . import jsmath
from .progress import Tick

T = TypeVar("T")

MASK32 = 0xFFFFFFFF
INV_2_32 = 1.0 / 4294967296.0
SHUFFLE_TICK = 1 << 16
"""Positions :meth:`XorShift32.shuffle` places between two ticks (about 0.06 s on CPython)."""


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

    def shuffle(self, items: MutableSequence[T], tick: Optional[Tick] = None) -> None:
        """Fisher–Yates in place, from the last index down to 1: ``j = floor(rng() * (i + 1))``.
        ``tick(done, len(items))`` after each :data:`SHUFFLE_TICK` positions placed (``done``: the
        items from the lowest placed position up; ``len(items)`` at the end)."""
        n = len(items)
        s = self.state
        for top in range(n - 1, 0, -SHUFFLE_TICK):
            bottom = max(top - SHUFFLE_TICK, 0)
            for i in range(top, bottom, -1):  # self() inlined: the same draws, without a call each
                s ^= (s << 13) & MASK32
                s ^= s >> 17
                s ^= (s << 5) & MASK32
                j = int(s * INV_2_32 * (i + 1))
                items[i], items[j] = items[j], items[i]
            self.state = s
            if tick is not None:
                tick(n - bottom, n)

    def gaussian(self) -> float:
        """One Box–Muller normal draw (two rng draws): ``sqrt(-2 log u1) * cos(2 pi u2)``,
        with V8's ``log`` and ``cos`` (:mod:`stingerml.core.jsmath`)."""
        u1 = self() or 1e-10
        u2 = self()
        return math.sqrt(-2.0 * jsmath.log(u1)) * jsmath.cos(2.0 * math.pi * u2)

    def gaussians(self, count: int) -> List[float]:
        """``[self.gaussian() for _ in range(count)]``, the same doubles, faster: the draws first,
        then every ``log`` (:func:`.jsmath.logs`), then every ``cos`` (:func:`.jsmath.cosines`),
        each a loop without calls (CPython's cost) and with few branches (PyPy traces each loop
        on its own rather than every combination of their branches)."""
        s = self.state
        u1s, xs = [0.0] * count, [0.0] * count
        two_pi = 2.0 * math.pi
        for i in range(count):
            s ^= (s << 13) & MASK32
            s ^= s >> 17
            s ^= (s << 5) & MASK32
            u1s[i] = s * INV_2_32 or 1e-10
            s ^= (s << 13) & MASK32
            s ^= s >> 17
            s ^= (s << 5) & MASK32
            xs[i] = two_pi * (s * INV_2_32)
        self.state = s
        sqrt = math.sqrt
        return [sqrt(-2.0 * lg) * c for lg, c in zip(jsmath.logs(u1s), jsmath.cosines(xs))]

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
