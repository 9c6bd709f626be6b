"""The browser trainer's dataset: positive, augmented and negative windows (SPEC §4).

A row is a 50-sample × 6-channel window ``[start, start + 50)`` of the log,
channel order ``ax ay az gx gy gz``; positives end ``lead_samples`` before an
accepted trigger edge, negatives are drawn (xorshift32, seed 1) from windows
far from every trigger edge.
"""
from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from typing import List, Sequence

from .._kernels import kernels
from ..core.constants import CHANNELS
from ..core.matrix import Matrix
from ..core.rng import js_round
from .log import Log
from .shots import DEFAULT_MIN_GAP_MS, detect_shots


@dataclass(frozen=True)
class DatasetParams:
    """The browser trainer's dataset parameters (its defaults).

    Times are in milliseconds; ``jitter`` is the list of sample shifts used to
    augment each positive; ``neg_per_pos`` negatives are drawn per raw positive.
    """

    window_samples: int = 50
    lead_ms: float = 100
    window_ms: float = 500
    neg_avoid_post_ms: float = 1000
    neg_min_sep_ms: float = 250
    seed: int = 1
    jitter: Sequence[int] = (-2, -1, 1, 2)
    neg_per_pos: int = 5
    min_gap_ms: float = DEFAULT_MIN_GAP_MS


@dataclass
class Dataset:
    """Rows of a dataset and how they were found.

    Attributes:
        windows: ``array('h')``, ``rows × window_samples × 6`` raw samples.
        labels: ``array('B')``, 1 for positives (first), 0 for negatives.
        starts: first log sample of each row.
        edges: every trigger rising edge (sample indices); ``accepted``: those kept by the gap rule.
        positive_shots: for each positive row, the number of its shot in ``accepted``.
        raw_pos_count: positives before augmentation; ``lead_samples``: window end to edge, in samples.
        dt_est_ms: mean sample interval over the first 500 samples (gaps ≥ 100 ms ignored).
    """

    windows: array
    labels: array
    starts: List[int]
    edges: List[int]
    accepted: List[int]
    positive_shots: List[int]
    raw_pos_count: int
    lead_samples: int
    dt_est_ms: float
    window_samples: int = 50
    pos_count: int = field(init=False)
    neg_count: int = field(init=False)

    def __post_init__(self) -> None:
        self.pos_count = self.labels.count(1)
        self.neg_count = len(self.labels) - self.pos_count

    def __len__(self) -> int:
        return len(self.labels)


def interleave(log: Log) -> array:
    """The log's six IMU channels as one ``array('h')`` of ``n × 6`` (sample-major)."""
    return Matrix.from_columns(log.channels, "h").data


def estimate_dt_ms(timestamps: Sequence[int]) -> float:
    """Mean of the positive sample intervals under 100 ms among the first 500 samples (10 if none)."""
    diffs = [b - a for a, b in zip(timestamps[: min(len(timestamps), 500) - 1], timestamps[1:500])]
    good = [d for d in diffs if 0 < d < 100]
    return sum(good) / len(good) if good else 10.0


def windows_at(samples: array, starts: Sequence[int], window_samples: int) -> array:
    """Concatenated windows ``[s, s + window_samples)`` of an interleaved sample array."""
    out = array("h")
    width = window_samples * CHANNELS
    for s in starts:
        out += samples[s * CHANNELS : s * CHANNELS + width]
    return out


def build_dataset(log: Log, params: DatasetParams = DatasetParams()) -> Dataset:
    """Positives (augmented), then negatives, exactly as the browser trainer picks them."""
    ts, trig, n = log.timestamp_ms, log.trigger, len(log)
    ws = params.window_samples
    edges, accepted = detect_shots(ts, trig, params.min_gap_ms)
    lead = max(1, js_round(params.lead_ms / (params.window_ms / ws)))

    positives = []  # (start, end, shot number)
    for k, edge in enumerate(accepted):
        end = edge - lead
        start = end - ws
        if start < 0 or end <= start:
            continue
        positives.append((start, end, k))

    blocked = bytearray(trig)
    pre = params.lead_ms + params.window_ms
    for e in edges:
        lo = bisect_left(ts, ts[e] - pre)
        hi = min(bisect_right(ts, ts[e] + params.neg_avoid_post_ms), n)
        if hi > lo:
            blocked[lo:hi] = b"\x01" * (hi - lo)
    k = kernels()
    candidates = k.shuffled(k.negative_candidates(blocked, n), params.seed)
    end_times = [ts[c] for c in candidates]
    chosen = k.select_separated(range(len(candidates)), end_times, params.neg_per_pos * len(positives), params.neg_min_sep_ms)
    negatives = [candidates[i] - ws for i in chosen]

    pos_starts: List[int] = []
    pos_shots: List[int] = []
    for start, end, k in positives:
        kept = [start] + [start + d for d in params.jitter if start + d >= 0 and end + d <= n]
        pos_starts += kept
        pos_shots += [k] * len(kept)
    starts = pos_starts + negatives
    labels = array("B", [1] * len(pos_starts) + [0] * len(negatives))
    return Dataset(
        windows=windows_at(interleave(log), starts, ws),
        labels=labels,
        starts=starts,
        edges=edges,
        accepted=accepted,
        positive_shots=pos_shots,
        raw_pos_count=len(positives),
        lead_samples=lead,
        dt_est_ms=estimate_dt_ms(ts),
        window_samples=ws,
    )
