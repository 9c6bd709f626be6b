"""Deterministic train/validation/test splits drawn from :class:`stingerml.core.rng.XorShift32`.

- **Stratified** (classification): for each class in class order, the rows of
  that class (in row order) are shuffled (Fisher–Yates, one generator seeded
  once for the whole split); the first ``round(f_test · n_c)`` go to test, the
  next ``round(f_val · n_c)`` to validation, the rest to training, where
  ``round`` is half-up. Each split with a non-zero fraction gets at least one
  row of every class, so a class needs at least one row per such split.
- **Random** (regression): the same on all rows at once.
- **Grouped**: the distinct groups (in first-appearance order) are shuffled;
  whole groups go to test until it holds ``round(f_test · n)`` rows or more,
  then to validation likewise, the rest to training. No group is in two
  splits. Not stratified; every split must still hold a row, and training at
  least two classes for a classifier.

Each split's indices are returned in ascending row order. ``tick`` (optional) counts the rows
(or groups) shuffled, ``tick(done, total)``: a million rows take about a second.
"""
from __future__ import annotations

import math
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

from ..core.errors import TabularDataError
from ..core.progress import Tick
from ..core.rng import XorShift32

DEFAULT_FRACTIONS = (0.70, 0.15, 0.15)


class Split(NamedTuple):
    """Row indices (ascending) of each part."""

    train: List[int]
    val: List[int]
    test: List[int]


def check_fractions(fractions: Sequence[float]) -> Tuple[float, float, float]:
    """``(train, val, test)`` fractions: three non-negative numbers summing to 1, train > 0."""
    if len(fractions) != 3:
        raise TabularDataError(f"split needs three fractions train,val,test; got {len(fractions)}")
    f = tuple(float(v) for v in fractions)
    if any(not math.isfinite(v) or v < 0 for v in f) or f[0] <= 0 or abs(sum(f) - 1.0) > 1e-6:
        raise TabularDataError(f"split fractions {','.join(str(v) for v in f)} must be >= 0, "
                               "train > 0, and sum to 1 (e.g. 0.7,0.15,0.15)")
    return f  # type: ignore[return-value]


def _round(x: float) -> int:
    return math.floor(x + 0.5)


def _cut(rows: List[int], f_val: float, f_test: float, at_least: bool) -> Tuple[List[int], List[int], List[int]]:
    n = len(rows)
    n_test = _round(f_test * n)
    n_val = _round(f_val * n)
    if at_least:
        n_test = max(n_test, 1 if f_test > 0 else 0)
        n_val = max(n_val, 1 if f_val > 0 else 0)
    return rows[n_test + n_val:], rows[n_test:n_test + n_val], rows[:n_test]


def stratified_split(y: Sequence[int], classes: Sequence[str], fractions: Sequence[float] = DEFAULT_FRACTIONS,
                     seed: int = 42, source: str = "data", tick: Optional[Tick] = None) -> Split:
    """Stratified split of class indices ``y`` (see the module docstring).

    Raises:
        TabularDataError: a class has fewer rows than the split needs.
    """
    _, f_val, f_test = check_fractions(fractions)
    need = 1 + (f_val > 0) + (f_test > 0)
    by_class: Dict[int, List[int]] = {k: [] for k in range(len(classes))}
    for i, k in enumerate(y):
        by_class[k].append(i)
    rng = XorShift32(seed)
    parts: Tuple[List[int], List[int], List[int]] = ([], [], [])
    shuffled = 0
    for k in range(len(classes)):
        rows = by_class[k]
        if not rows:
            continue
        if len(rows) < need:
            raise TabularDataError(
                f"{source}: class '{classes[k]}' has {len(rows)} row(s); the {','.join(str(v) for v in fractions)} "
                f"split needs at least {need} per class (one in each part); add rows or drop the class"
                + _continuous_hint(classes))
        rng.shuffle(rows, None if tick is None else _offset(tick, shuffled, len(y)))
        shuffled += len(rows)
        for part, chosen in zip(parts, _cut(rows, f_val, f_test, True)):
            part.extend(chosen)
    return Split(*(sorted(p) for p in parts))


def _offset(tick: Tick, before: int, total: int) -> Tick:
    """``tick`` counting one shuffle of several: ``before`` units were done before it, ``total`` in all."""
    return lambda done, _: tick(before + done, total)


def _continuous_hint(classes: Sequence[str]) -> str:
    """A hint to use regression when the classes look like a measured quantity: all numbers, and
    some with a fraction or more than 20 of them."""
    try:
        values = [float(c) for c in classes]
    except ValueError:
        return ""
    if len(values) > 20 or any(math.isfinite(v) and v != int(v) for v in values):
        return (f" (the label holds {len(values)} distinct numbers: to predict a continuous value, use "
                "--targets COLUMN (regression) instead of --label)")
    return ""


def random_split(n_rows: int, fractions: Sequence[float] = DEFAULT_FRACTIONS, seed: int = 42,
                 source: str = "data", tick: Optional[Tick] = None) -> Split:
    """Unstratified split of ``n_rows`` rows (regression)."""
    _, f_val, f_test = check_fractions(fractions)
    need = 1 + (f_val > 0) + (f_test > 0)
    if n_rows < need:
        raise TabularDataError(f"{source}: {n_rows} row(s) cannot fill {need} splits; add rows")
    rows = list(range(n_rows))
    XorShift32(seed).shuffle(rows, tick)
    return Split(*(sorted(p) for p in _cut(rows, f_val, f_test, True)))


def group_split(groups: Sequence[str], fractions: Sequence[float] = DEFAULT_FRACTIONS, seed: int = 42,
                y: Optional[Sequence[int]] = None, source: str = "data", tick: Optional[Tick] = None) -> Split:
    """Split whole groups (see the module docstring); ``y`` (class indices) checks training has 2 classes."""
    _, f_val, f_test = check_fractions(fractions)
    members: Dict[str, List[int]] = {}
    for i, g in enumerate(groups):
        members.setdefault(g, []).append(i)
    order = list(members)
    need = 1 + (f_val > 0) + (f_test > 0)
    if len(order) < need:
        raise TabularDataError(f"{source}: {len(order)} group(s) cannot fill {need} splits; "
                               "a grouped split needs at least one group per part")
    XorShift32(seed).shuffle(order, tick)
    n = len(groups)
    parts: Tuple[List[int], List[int], List[int]] = ([], [], [])
    pos = 0
    for part, target in ((parts[2], _round(f_test * n) if f_test > 0 else 0),
                         (parts[1], _round(f_val * n) if f_val > 0 else 0)):
        while target and len(part) < target and pos < len(order) - 1:
            part.extend(members[order[pos]])
            pos += 1
    for g in order[pos:]:
        parts[0].extend(members[g])
    train, val, test = (sorted(p) for p in parts)
    if (f_val > 0 and not val) or (f_test > 0 and not test) or not train:
        raise TabularDataError(f"{source}: the groups are too few or too large to fill every split; "
                               "add groups or change the fractions")
    if y is not None and len({y[i] for i in train}) < 2:
        raise TabularDataError(f"{source}: the training part of the grouped split holds one class only; "
                               "add groups or change the seed")
    return Split(train, val, test)
