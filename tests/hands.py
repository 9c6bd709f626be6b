"""Synthetic hand landmarks for tests: each class a fixed 21-point hand shape, every sample moved,
resized and jittered as a camera would (so raw coordinates say little, normalised ones a lot)."""
from __future__ import annotations

from pathlib import Path
from typing import List, Sequence, Tuple

from stingerml.core.rng import XorShift32

LETTERS = ("A", "B", "C", "D")


def templates(seed: int = 11, classes: Sequence[str] = LETTERS) -> List[List[float]]:
    """One 63-value hand per class: the wrist at the origin, the other points in [-1, 1]^3."""
    rng = XorShift32(seed)
    out = []
    for _ in classes:
        pts = [0.0, 0.0, 0.0]
        for _k in range(1, 21):
            pts += [2 * rng() - 1, 2 * rng() - 1, 2 * rng() - 1]
        out.append(pts)
    return out


def samples(n: int, seed: int = 5, classes: Sequence[str] = LETTERS, noise: float = 0.08
            ) -> Tuple[List[List[float]], List[str]]:
    """``n`` raw rows (63 values) and their labels: template × size + offset + size × jitter."""
    rng = XorShift32(seed)
    shapes = templates(classes=classes)
    rows, labels = [], []
    for r in range(n):
        k = r % len(classes)
        size = 0.05 + 3 * rng()
        offset = [20 * rng() - 10 for _ in range(3)]
        rows.append([shapes[k][i] * size + offset[i % 3] + size * noise * (2 * rng() - 1) for i in range(63)])
        labels.append(classes[k])
    return rows, labels


def write_csv(path: Path, n: int = 240, seed: int = 5, rows=None, labels=None) -> Path:
    """A landmark CSV (``lm0_x, ..., lm20_z, letter``) of :func:`samples` (or of the given rows)."""
    if rows is None:
        rows, labels = samples(n, seed)
    names = [f"lm{k}_{a}" for k in range(21) for a in "xyz"]
    lines = [",".join(names + ["letter"])]
    lines += [",".join(repr(v) for v in row) + f",{lab}" for row, lab in zip(rows, labels)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def sequence_bundle(path: Path, n: int, seed: int, steps: int = 4, normalise: bool = False) -> Path:
    """A ``.npz`` of ``[n, steps, 21, 3]`` raw hands (each frame its own position and size, the class the
    sample's: :func:`samples` with seeds ``seed + 100·t``), a mask with every third sample's last frame
    invalid (0, its values zeros) and the labels; ``normalise``: each frame by seed 001's rule, in numpy."""
    import numpy as np

    X = np.stack([np.asarray(samples(n, seed + 100 * t)[0], dtype=np.float32).reshape(n, 21, 3)
                  for t in range(steps)], axis=1)
    mask = np.ones((n, steps), dtype=np.float32)
    mask[::3, -1] = 0
    X = X * mask[:, :, None, None]
    if normalise:
        rel = X - X[:, :, :1, :]
        scale = np.linalg.norm(rel[:, :, 9, :], axis=-1)[..., None, None]
        X = (rel / np.where(scale == 0, 1, scale)).astype(np.float32)
    np.savez(path, X=X, mask=mask, y=np.array(samples(n, seed)[1]))
    return path
