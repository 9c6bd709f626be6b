"""Dataset export with the original Python tool's negative sampling (SPEC §13).

Reproduces the original exporter row for row: it drew with Python's own
``random.Random(seed)``, which is what is used here. The algorithm, as
recovered from its outputs (see ``docs/export.md``):

1. ``dt`` = median of the positive timestamp steps; ``window_samples =
   round(window_ms / dt)``, ``lead_samples = round(lead_ms / dt)``.
2. Positives: for accepted shot ``k`` at edge sample ``e``: ``end = e - lead``,
   window ``[end - window, end)`` (skipped when it starts before the log).
3. Candidate negative ends: every ``end`` in ``window..n-1`` whose sample
   ``end`` is outside the avoid zones ``[t_edge - (lead_ms + window_ms),
   t_edge + avoid_post_ms]`` of the avoided edges (all or accepted) and whose
   window ``[end - window, end)`` holds no trigger sample.
4. Optional motion filters on the candidates, then sampling (far, near or
   mixed) with separation by ``ts[end]``.
"""
from __future__ import annotations

import math
import random
import statistics
from array import array
from bisect import bisect_left, bisect_right
from dataclasses import asdict, dataclass
from typing import Any, Dict, List, Sequence, Tuple

from ._kernels import kernels
from .dataset import interleave, windows_at
from .errors import DatasetError
from .log import Log
from .shots import detect_shots
from .trainfolder import CHANNELS, INDEX_FILE, LABELS_FILE, WINDOWS_FILE, TrainFolder

STRATEGIES = ("far", "near", "mixed")
AVOID_EDGES = ("all", "accepted")
OVERSAMPLE = 3  # with replacement: draw this many times the wanted count, then de-duplicate
SHOT_PRE_MS = 1000  # summary.json fields the original wrote for its shot plots
SHOT_POST_MS = 200


@dataclass(frozen=True)
class ExportParams:
    """Options of the original exporter, with its defaults (times in ms).

    neg_strategy: ``far`` (anywhere away from shots), ``near`` (shortly before each
    shot) or ``mixed``; neg_mult: negatives per positive; neg_mixed_near_frac:
    share of near negatives per shot in ``mixed``; neg_min_motion_quantile: drop
    candidates whose motion score is below this quantile of all candidates' scores;
    neg_match_pos_motion / neg_pos_motion_q: keep candidates whose score lies within
    the ``[q, 1-q]`` quantiles of the positives' scores; neg_min_sep_ms: minimum gap
    between the end times of chosen negatives; neg_with_replacement: draw
    ``3k`` with replacement, de-duplicate, then enforce the gap; neg_near_min_ms /
    neg_near_max_ms: near window before a positive's first sample; neg_avoid_post_ms:
    no candidate end within this long after an avoided edge; neg_avoid_edges:
    ``all`` or ``accepted`` edges are avoided.
    """

    lead_ms: int = 100
    window_ms: int = 500
    min_shot_gap_ms: int = 1000
    neg_mult: int = 1
    neg_strategy: str = "far"
    neg_mixed_near_frac: float = 0.5
    neg_min_motion_quantile: float = 0.0
    neg_match_pos_motion: bool = False
    neg_pos_motion_q: float = 0.1
    neg_min_sep_ms: int = 250
    neg_with_replacement: bool = False
    neg_near_min_ms: int = 200
    neg_near_max_ms: int = 2000
    neg_avoid_post_ms: int = 1000
    neg_avoid_edges: str = "all"
    seed: int = 1

    def check(self) -> None:
        """Raise :class:`DatasetError` on an option outside its domain."""
        problems = []
        if self.neg_strategy not in STRATEGIES:
            problems.append(f"neg_strategy must be one of {', '.join(STRATEGIES)}, got {self.neg_strategy!r}")
        if self.neg_avoid_edges not in AVOID_EDGES:
            problems.append(f"neg_avoid_edges must be one of {', '.join(AVOID_EDGES)}, got {self.neg_avoid_edges!r}")
        if self.window_ms <= 0 or self.lead_ms < 0:
            problems.append("window_ms must be > 0 and lead_ms >= 0")
        if self.neg_mult < 0:
            problems.append("neg_mult must be >= 0")
        if not 0 <= self.neg_mixed_near_frac <= 1:
            problems.append("neg_mixed_near_frac must be in [0, 1]")
        if not 0 <= self.neg_min_motion_quantile <= 1:
            problems.append("neg_min_motion_quantile must be in [0, 1]")
        if not 0 <= self.neg_pos_motion_q <= 0.5:
            problems.append("neg_pos_motion_q must be in [0, 0.5]")
        if self.neg_near_min_ms > self.neg_near_max_ms:
            problems.append("neg_near_min_ms must not exceed neg_near_max_ms")
        if self.neg_min_sep_ms < 0 or self.neg_avoid_post_ms < 0:
            problems.append("neg_min_sep_ms and neg_avoid_post_ms must be >= 0")
        if problems:
            raise DatasetError("export options: " + "; ".join(problems))


# --- statistics the original took from numpy ---------------------------------


def quantile(values: Sequence[float], q: float) -> float:
    """numpy's default (``linear``) quantile of ``values`` for ``q`` in [0, 1].

    Same arithmetic as numpy: position ``q * (n - 1)`` between the sorted
    neighbours ``a <= b`` at fraction ``t``, ``a + (b - a) * t`` when ``t < 0.5``
    and ``b - (b - a) * (1 - t)`` otherwise.
    """
    if not values:
        raise DatasetError("quantile of an empty set")
    s = sorted(values)
    pos = q * (len(s) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    t = pos - lo
    a, b = s[lo], s[hi]
    diff = b - a
    return b - diff * (1 - t) if t >= 0.5 else a + diff * t


def rank_quantile(values: Sequence[float], q: float) -> float:
    """The smallest value whose empirical CDF reaches ``q`` (numpy ``method="inverted_cdf"``).

    Used for the positive-motion bounds: the original exporter's mixed output
    holds negatives outside the linear ``[q, 1-q]`` quantiles but inside these.
    """
    if not values:
        raise DatasetError("quantile of an empty set")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(q * len(s)) - 1))]


def estimate_dt_ms(timestamps: Sequence[int]) -> float:
    """Median of the positive steps between consecutive timestamps (10.0 when there are none)."""
    steps = [b - a for a, b in zip(timestamps, timestamps[1:]) if b > a]
    return float(statistics.median(steps)) if steps else 10.0


def motion_scores(log: Log, ends: Sequence[int], window: int) -> List[float]:
    """Motion score of each window ``[end - window, end)``.

    ``mean(gx² + gy² + gz²) + 0.05 · mean(ax² + ay² + az²)``, the means taken as
    exact integer sums divided by ``window`` (what numpy's float64 mean gives).
    """
    g_prefix = [0]
    a_prefix = [0]
    ax, ay, az, gx, gy, gz = log.channels
    for i in range(len(log)):
        g_prefix.append(g_prefix[-1] + gx[i] * gx[i] + gy[i] * gy[i] + gz[i] * gz[i])
        a_prefix.append(a_prefix[-1] + ax[i] * ax[i] + ay[i] * ay[i] + az[i] * az[i])
    return [
        (g_prefix[e] - g_prefix[e - window]) / window + 0.05 * ((a_prefix[e] - a_prefix[e - window]) / window)
        for e in ends
    ]


# --- candidates and sampling --------------------------------------------------


def candidate_ends(log: Log, avoid: Sequence[int], window: int, pre_ms: float, post_ms: float) -> List[int]:
    """Window ends ``window..n-1`` not inside an avoid zone and with no trigger in ``[end-window, end)``.

    The avoid zone of an edge at time ``t`` covers the samples with timestamps in
    ``[t - pre_ms, t + post_ms]``; only the end sample itself is tested against it.
    """
    ts, trig, n = log.timestamp_ms, log.trigger, len(log)
    avoided = bytearray(n)
    for e in avoid:
        lo = bisect_left(ts, ts[e] - pre_ms)
        hi = min(bisect_right(ts, ts[e] + post_ms), n)
        if hi > lo:
            avoided[lo:hi] = b"\x01" * (hi - lo)
    held = sum(trig[:window])
    out = []
    for end in range(window, n):
        if held == 0 and not avoided[end]:
            out.append(end)
        held += trig[end] - trig[end - window]
    return out


def _dedupe(items: Sequence[int]) -> List[int]:
    seen = set()
    return [x for x in items if not (x in seen or seen.add(x))]


def _separated(order: Sequence[int], times: Sequence[int], target: int, min_sep: float) -> List[int]:
    """Items of ``order`` kept in turn unless their end time is closer than ``min_sep`` to a kept one."""
    end_times = [times[x] for x in order]
    return [order[i] for i in kernels().select_separated(range(len(order)), end_times, target, min_sep)]


def _draw(rng: random.Random, pool: Sequence[int], k: int, times: Sequence[int], p: ExportParams) -> List[int]:
    """Up to ``k`` separated items of ``pool``: a shuffle, or ``3k`` draws with replacement de-duplicated."""
    if k <= 0 or not pool:
        return []
    if p.neg_with_replacement:
        order = _dedupe(rng.choices(pool, k=OVERSAMPLE * k))
    else:
        order = list(pool)
        rng.shuffle(order)
    return _separated(order, times, k, p.neg_min_sep_ms)


def _near_pool(pool: Sequence[int], times: Sequence[int], start_ms: int, p: ExportParams) -> List[int]:
    """Candidates whose end time lies in ``[start_ms - near_max, start_ms - near_min]`` (inclusive)."""
    lo, hi = start_ms - p.neg_near_max_ms, start_ms - p.neg_near_min_ms
    return [e for e in pool if lo <= times[e] <= hi]


def sample_negatives(
    rng: random.Random, pool: Sequence[int], pos_starts_ms: Sequence[int], times: Sequence[int], p: ExportParams
) -> List[int]:
    """Chosen negative window ends, in selection order (SPEC §13 strategies)."""
    n_pos = len(pos_starts_ms)
    if p.neg_strategy == "far":
        return _draw(rng, pool, p.neg_mult * n_pos, times, p)
    per_shot = p.neg_mult if p.neg_strategy == "near" else int(round(p.neg_mult * p.neg_mixed_near_frac))
    near: List[int] = []
    for start_ms in pos_starts_ms:
        near += _draw(rng, _near_pool(pool, times, start_ms, p), per_shot, times, p)
    if p.neg_strategy == "near":
        return near
    far = _draw(rng, pool, p.neg_mult * n_pos - len(near), times, p)
    merged = _dedupe(near + far)
    return _separated(merged, times, len(merged), p.neg_min_sep_ms)


def nearest_shot(t: int, shot_times: Sequence[int]) -> int:
    """Index of the shot time nearest to ``t`` (ties go to the earlier shot)."""
    i = bisect_left(shot_times, t)
    if i == 0:
        return 0
    if i == len(shot_times):
        return i - 1
    return i - 1 if t - shot_times[i - 1] <= shot_times[i] - t else i


# --- the export ---------------------------------------------------------------


def _meta(log: Log, p: ExportParams, window: int, dt: float, n_pos: int, n_neg: int) -> Dict[str, Any]:
    opts = asdict(p)
    meta: Dict[str, Any] = {
        "input_csv": log.source,
        "channels": list(CHANNELS),
        "dtype": "int16",
        "endianness": "little",
        "window_ms": p.window_ms,
        "lead_ms": p.lead_ms,
        "window_samples": window,
        "estimated_dt_ms": dt,
        "estimated_hz": 1000.0 / dt,
        "positives": n_pos,
        "negatives": n_neg,
    }
    for key in (
        "neg_mult", "neg_strategy", "neg_mixed_near_frac", "neg_min_motion_quantile", "neg_match_pos_motion",
        "neg_pos_motion_q", "neg_min_sep_ms", "neg_with_replacement", "neg_near_min_ms", "neg_near_max_ms",
        "neg_avoid_post_ms", "neg_avoid_edges",
    ):
        meta[key] = opts[key]
    meta["format"] = {
        WINDOWS_FILE: "concatenated windows; each window is window_samples rows of 6 int16 (ax,ay,az,gx,gy,gz)",
        LABELS_FILE: "one byte per window (0/1), in the same order as windows",
        INDEX_FILE: "row metadata matching the binary order",
    }
    return meta


def log_summary(log: Log, p: ExportParams, edges: Sequence[int], accepted: Sequence[int]) -> Dict[str, Any]:
    """The original's ``summary.json``: sample count, duration, timestamp steps and trigger counts."""
    ts = log.timestamp_ms
    steps = [float(b - a) for a, b in zip(ts, ts[1:])]
    median = float(statistics.median(steps)) if steps else 0.0
    clipped = sum(
        1 for sample in zip(*log.channels) if any(v in (32767, -32768) for v in sample)
    )
    return {
        "input_csv": log.source,
        "samples": len(log),
        "duration_ms": log.duration_ms,
        "duration_s": log.duration_ms / 1000.0,
        "i16_clipping_samples": clipped,
        "timestamp_dt_ms": {
            "count": len(steps),
            "median": median,
            "p5": quantile(steps, 0.05) if steps else 0.0,
            "p95": quantile(steps, 0.95) if steps else 0.0,
            "min": min(steps) if steps else 0.0,
            "max": max(steps) if steps else 0.0,
            "estimated_hz": 1000.0 / median if median > 0 else 0.0,
        },
        "trigger": {
            "rising_edges_all": len(edges),
            "rising_edges_accepted": len(accepted),
            "rising_edges_rejected": len(edges) - len(accepted),
            "min_shot_gap_ms": p.min_shot_gap_ms,
            "rejected_reason": "too close to previous accepted shot",
            "shot_pre_ms": SHOT_PRE_MS,
            "shot_post_ms": SHOT_POST_MS,
            "lead_ms": p.lead_ms,
            "window_ms": p.window_ms,
        },
    }


def export_dataset(log: Log, params: ExportParams = ExportParams()) -> TrainFolder:
    """Build the training folder the original exporter wrote for ``log``.

    Returns a :class:`TrainFolder` (positives first, in shot order, then the
    negatives in selection order) with ``meta`` and ``summary`` filled in.

    Raises:
        DatasetError: bad options, or no accepted shot with a whole window before it.
    """
    p = params
    p.check()
    ts, n = log.timestamp_ms, len(log)
    dt = estimate_dt_ms(ts)
    window = max(1, int(round(p.window_ms / dt)))
    lead = max(0, int(round(p.lead_ms / dt)))
    edges, accepted = detect_shots(ts, log.trigger, p.min_shot_gap_ms)

    positives: List[Tuple[int, int, int]] = []  # (shot number, edge, window end)
    for k, edge in enumerate(accepted):
        end = edge - lead
        if end - window >= 0:
            positives.append((k, edge, end))
    if not positives:
        raise DatasetError(
            f"{log.source}: no accepted shot has {window} samples before it (found {len(accepted)} accepted "
            f"of {len(edges)} trigger pulls); record a longer session with trigger pulls"
        )

    avoid = edges if p.neg_avoid_edges == "all" else accepted
    pool = candidate_ends(log, avoid, window, p.lead_ms + p.window_ms, p.neg_avoid_post_ms)
    if p.neg_min_motion_quantile > 0 or p.neg_match_pos_motion:
        scores = motion_scores(log, pool, window)
        keep = [True] * len(pool)
        if p.neg_min_motion_quantile > 0 and scores:
            floor_ = quantile(scores, p.neg_min_motion_quantile)
            keep = [s >= floor_ for s in scores]
        if p.neg_match_pos_motion:
            pos_scores = motion_scores(log, [end for _, _, end in positives], window)
            lo, hi = rank_quantile(pos_scores, p.neg_pos_motion_q), rank_quantile(pos_scores, 1 - p.neg_pos_motion_q)
            keep = [ok and lo <= s <= hi for ok, s in zip(keep, scores)]
        pool = [e for e, ok in zip(pool, keep) if ok]

    rng = random.Random(p.seed)
    negatives = sample_negatives(rng, pool, [ts[end - window] for _, _, end in positives], ts, p)

    shot_times = [ts[e] for e in accepted]
    index: List[Dict[str, Any]] = []
    starts: List[int] = []

    def add(label: int, shot: int, event_ms: int, start: int, end: int, source: str) -> None:
        index.append({
            "row": len(index), "label": label, "shot_num": shot, "shot_timestamp_ms": shot_times[shot],
            "distance_to_shot_ms": event_ms - shot_times[shot], "event_timestamp_ms": event_ms,
            "window_start_ms": ts[start], "window_end_ms": ts[end - 1], "source": source,
        })
        starts.append(start)

    for k, edge, end in positives:
        add(1, k, ts[edge], end - window, end, "pos")
    for end in negatives:
        add(0, nearest_shot(ts[end], shot_times), ts[end], end - window, end, "neg")

    labels = array("B", [r["label"] for r in index])
    return TrainFolder(
        windows=windows_at(interleave(log), starts, window),
        labels=labels,
        index=index,
        meta=_meta(log, p, window, dt, len(positives), len(negatives)),
        summary=log_summary(log, p, edges, accepted),
    )
