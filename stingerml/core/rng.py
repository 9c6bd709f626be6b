"""xorshift32, the browser trainer's PRNG, with its shuffle and gaussian (SPEC §3).

Also :func:`js_round`, JavaScript's ``Math.round`` (half rounds up), which every
rounding of the browser pipeline uses.
"""
from __future__ import annotations

import math
from typing import List, MutableSequence, TypeVar

from . import jsmath

T = TypeVar("T")

MASK32 = 0xFFFFFFFF
INV_2_32 = 1.0 / 4294967296.0


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
        """``[self.gaussian() for _ in range(count)]``, the same draws without the per-call overhead."""
        s, log, cos, sqrt = self.state, jsmath.log, jsmath.cos, math.sqrt
        two_pi = 2.0 * math.pi
        out = []
        for _ in range(count):
            s ^= (s << 13) & MASK32
            s ^= s >> 17
            s ^= (s << 5) & MASK32
            u1 = s * INV_2_32 or 1e-10
            s ^= (s << 13) & MASK32
            s ^= s >> 17
            s ^= (s << 5) & MASK32
            out.append(sqrt(-2.0 * log(u1)) * cos(two_pi * (s * INV_2_32)))
        self.state = s
        return out

    def skip(self, count: int) -> None:
        """Advance past ``count`` draws without computing them."""
        s = self.state
        for _ in range(count):
            s ^= (s << 13) & MASK32
            s ^= s >> 17
            s ^= (s << 5) & MASK32
        self.state = s


def js_round(x: float) -> int:
    """JavaScript ``Math.round``: ``floor(x + 0.5)`` (2.5 -> 3, -2.5 -> -2)."""
    return math.floor(x + 0.5)
