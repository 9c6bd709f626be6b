"""Shots: trigger rising edges and the minimum-gap rule (SPEC §2)."""
from __future__ import annotations

from bisect import bisect_left
from typing import List, Sequence, Tuple

DEFAULT_MIN_GAP_MS = 1000


def rising_edges(trigger: Sequence[int]) -> List[int]:
    """Sample indices ``i >= 1`` where ``trigger[i-1] == 0 and trigger[i] == 1``."""
    return [i for i, (a, b) in enumerate(zip(trigger, trigger[1:]), start=1) if a == 0 and b == 1]


def accept_shots(timestamps: Sequence[int], edges: Sequence[int], min_gap_ms: float = DEFAULT_MIN_GAP_MS) -> List[int]:
    """Edges kept by the gap rule: an edge is accepted when it is at least
    ``min_gap_ms`` after the previously *accepted* one (the first always is)."""
    accepted: List[int] = []
    last = -1e18
    for e in edges:
        if timestamps[e] - last >= min_gap_ms:
            accepted.append(e)
            last = timestamps[e]
    return accepted


def detect_shots(timestamps: Sequence[int], trigger: Sequence[int], min_gap_ms: float = DEFAULT_MIN_GAP_MS) -> Tuple[List[int], List[int]]:
    """``(all rising edges, accepted edges)`` of a log's columns."""
    edges = rising_edges(trigger)
    return edges, accept_shots(timestamps, edges, min_gap_ms)


def nearest_shot(t: int, shot_times: Sequence[int]) -> int:
    """Index of the shot time nearest to ``t`` (ties go to the earlier shot); ``shot_times`` ascending."""
    i = bisect_left(shot_times, t)
    if i == 0:
        return 0
    if i == len(shot_times):
        return i - 1
    return i - 1 if t - shot_times[i - 1] <= shot_times[i] - t else i
