"""A generated word-like task: a hand of 21 landmarks drawing one of six shapes.

Each sample is a hand skeleton (21 points ``(x, y, z)``, MediaPipe's order: wrist,
then four joints per finger) with a random size, tilt and finger spread, moved over
``L`` steps (``min_steps..max_steps``, uniform) along its class's path, with jitter on
every point; samples are padded to ``max_steps`` with a prefix mask (padding holds
zeros). The classes differ in *how* the hand moves, so only the order of the steps
tells some apart (``circle`` and ``circle_back`` visit the same points):

``circle`` (clockwise), ``circle_back`` (counter-clockwise), ``swipe_right``,
``swipe_up``, ``zigzag`` and ``wave`` (the hand turns left and right in place).

Deterministic: :class:`~stingerml.core.rng.XorShift32` seeded with ``seed``; stdlib only.
"""
from __future__ import annotations

import csv
import io
import math
from array import array
from pathlib import Path
from typing import List, Tuple, Union

from ..core.atomic import write_bytes_atomic
from ..core.rng import XorShift32
from .data import Sequences

CLASSES = ("circle", "circle_back", "swipe_right", "swipe_up", "wave", "zigzag")
LANDMARKS = 21


def _hand(rng: XorShift32) -> List[Tuple[float, float, float]]:
    """A resting hand relative to its wrist: five fingers of four joints fanned upwards."""
    size = 0.08 + 0.04 * rng()
    spread = 0.25 + 0.15 * rng()
    points = [(0.0, 0.0, 0.0)]
    for finger in range(5):
        angle = (finger - 2) * spread + (0.3 if finger == 0 else 0.0)
        length = size * (0.8 if finger in (0, 4) else 1.0)
        for joint in range(1, 5):
            r = length * (0.4 + 0.3 * joint)
            points.append((r * math.sin(angle), -r * math.cos(angle), 0.01 * joint * (rng() - 0.5)))
    return points


def _path(label: str, u: float) -> Tuple[float, float, float]:
    """Wrist offset ``(dx, dy)`` and hand turn (radians) at progress ``u`` in [0, 1]."""
    a = 2.0 * math.pi * u
    if label == "circle":
        return 0.15 * math.cos(a), 0.15 * math.sin(a), 0.0
    if label == "circle_back":
        return 0.15 * math.cos(a), -0.15 * math.sin(a), 0.0
    if label == "swipe_right":
        return -0.2 + 0.4 * u, 0.0, 0.0
    if label == "swipe_up":
        return 0.0, 0.2 - 0.4 * u, 0.0
    if label == "zigzag":
        return -0.2 + 0.4 * u, 0.1 * (1.0 if int(u * 4.0) % 2 else -1.0) * (1.0 - 2.0 * abs(u * 4.0 % 1.0 - 0.5)), 0.0
    return 0.0, 0.0, 0.6 * math.sin(2.0 * a)  # wave


def word_task(n: int, seed: int = 0, min_steps: int = 8, max_steps: int = 32,
              noise: float = 0.01) -> Tuple[Sequences, List[str]]:
    """``n`` samples (classes in turn) as ``Sequences`` (``F = 63``: 21 points × x, y, z) and labels."""
    rng = XorShift32(seed)
    T, F = max_steps, 3 * LANDMARKS
    data, lengths, labels = array("d"), array("q"), []
    for k in range(n):
        label = CLASSES[k % len(CLASSES)]
        L = min_steps + int(rng() * (max_steps - min_steps + 1))
        hand = _hand(rng)
        x0, y0 = 0.5 + 0.1 * (rng() - 0.5), 0.5 + 0.1 * (rng() - 0.5)
        tilt = 0.4 * (rng() - 0.5)
        scale = 0.8 + 0.4 * rng()
        phase = 0.1 * rng()
        for t in range(T):
            if t >= L:
                data.extend([0.0] * F)
                continue
            dx, dy, turn = _path(label, phase + (1.0 - phase) * t / (L - 1))
            c, s = math.cos(tilt + turn), math.sin(tilt + turn)
            for hx, hy, hz in hand:
                x = x0 + scale * dx + c * hx - s * hy + noise * (rng() - 0.5)
                y = y0 + scale * dy + s * hx + c * hy + noise * (rng() - 0.5)
                data.extend((x, y, hz + noise * (rng() - 0.5)))
        lengths.append(L)
        labels.append(label)
    return Sequences(data, T, F, lengths), labels


def csv_long_bytes(X: Sequences, labels: List[str]) -> bytes:
    """``X`` and ``labels`` in the long CSV format (``sample_id,step,<features>,label``; valid steps only)."""
    F, T = X.n_features, X.n_steps
    names = [f"p{p}_{axis}" for p in range(F // 3) for axis in "xyz"] if F % 3 == 0 else [f"x{k}" for k in range(F)]
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["sample_id", "step", *names, "label"])
    for n, L in enumerate(X.lengths):
        for t in range(L):
            base = (n * T + t) * F
            w.writerow([n, t, *(repr(v) for v in X.data[base:base + F]), labels[n]])
    return out.getvalue().encode("utf-8")


def write_csv_long(path: Union[str, Path], X: Sequences, labels: List[str]) -> None:
    """Write :func:`csv_long_bytes` atomically."""
    write_bytes_atomic(Path(path), csv_long_bytes(X, labels))
