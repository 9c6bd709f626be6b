"""Dataset export with the original Python tool's negative sampling (SPEC §13).

Reproduces the original exporter row for row (confirmed against its
behaviour, see ``docs/export.md``); it drew with Python's own
``random.Random(seed)``, which is what is used here, in the same order.

1. ``dt`` = median of the positive timestamp steps; ``window_samples =
   max(1, round(window_ms / dt))``, ``lead_samples = max(1, round(lead_ms / dt))``.
2. Positives: for accepted shot ``k`` at edge sample ``e``: ``end = e - lead``,
   window ``[end - window, end)`` (skipped when it starts before the log).
3. Candidate negative ends: every ``end`` in ``window..n-1`` whose sample
   ``end`` is outside the avoid zones ``[t_edge - (lead_ms + window_ms),
   t_edge + avoid_post_ms]`` of the avoided edges (all or accepted) and whose
   window ``[end - window, end)`` holds no trigger sample.
4. Motion filters on each candidate pool (the whole set for far, each shot's
   band for near), then sampling (far, near or mixed) with separation by
   ``ts[end]``.
"""
from __future__ import annotations

import math
import random
import statistics
from array import array
from bisect import bisect_left, bisect_right
from dataclasses import asdict, dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .._kernels import kernels
from ..core.errors import DatasetError
from ..learn import metrics
from .dataset import interleave, windows_at
from .log import Log
from .shots import detect_shots, nearest_shot  # noqa: F401  (nearest_shot: public here too)
from .trainfolder import CHANNELS, INDEX_FILE, LABELS_FILE, WINDOWS_FILE, TrainFolder

STRATEGIES = ("far", "near", "mixed")
AVOID_EDGES = ("all", "accepted")
OVERSAMPLE = 3  # with replacement: draw this many times the wanted count, then de-duplicate
MAX_POS_MOTION_Q = 0.49  # the positive-motion band is never narrower than [0.49, 0.51]
SHOT_PRE_MS = 1000  # summary.json fields the original wrote for its shot plots
SHOT_POST_MS = 200


@dataclass(frozen=True)
class ExportParams:
    """Options of the original exporter, with its defaults (times in ms).

    neg_strategy: ``far`` (anywhere away from shots), ``near`` (shortly before each
    shot) or ``mixed``; neg_mult: negatives per positive; neg_mixed_near_frac:
    share of near negatives per shot in ``mixed``; neg_min_motion_quantile: drop
    candidates whose motion score is below this quantile of their pool's scores;
    neg_match_pos_motion / neg_pos_motion_q: keep candidates whose score lies within
    the ``[q, 1-q]`` quantiles of the positives' scores (``q`` capped at 0.49);
    neg_min_sep_ms: minimum gap between the end times of chosen negatives;
    neg_with_replacement: draw ``3k`` with replacement, de-duplicate, then enforce
    the gap; neg_near_min_ms / neg_near_max_ms: near band before a positive's
    first sample; neg_avoid_post_ms: no candidate end within this long after an
    avoided edge; neg_avoid_edges: ``all`` or ``accepted`` edges are avoided.
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
        if not 0 <= self.neg_near_min_ms <= self.neg_near_max_ms:
            problems.append("neg_near_min_ms must be >= 0 and not exceed neg_near_max_ms")
        if self.neg_min_sep_ms < 0 or self.neg_avoid_post_ms < 0:
            problems.append("neg_min_sep_ms and neg_avoid_post_ms must be >= 0")
        if problems:
            raise DatasetError("export options: " + "; ".join(problems))


# --- statistics, with the original's arithmetic --------------------------------


def order_statistic(sorted_values: Sequence[float], q: float, round_up: bool = False) -> float:
    """The element of ``sorted_values`` at rank ``q * (n - 1)``, rounded down (or up).

    No interpolation: this is how the exporter took its motion quantiles, so the
    threshold is always one of the scores.
    """
    if not sorted_values:
        raise DatasetError("quantile of an empty set")
    pos = q * (len(sorted_values) - 1)
    return sorted_values[math.ceil(pos) if round_up else math.floor(pos)]


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """The summary's percentile ``pct`` (clamped to 0..100) of ``sorted_values``; 0.0 when empty.

    :func:`stingerml.learn.metrics.percentile` with the original tool's ``weighted`` rule.
    """
    if not sorted_values:
        return 0.0
    return metrics.percentile(sorted_values, min(max(pct, 0.0), 100.0), rule="weighted")


def timestamp_steps(timestamps: Sequence[int]) -> List[float]:
    """The positive steps between consecutive timestamps, as floats, sorted ascending."""
    return sorted(float(b - a) for a, b in zip(timestamps, timestamps[1:]) if b > a)


def motion_scores(log: Log, ends: Sequence[int], window: int) -> List[float]:
    """Motion score of each window ``[end - window, end)``.

    ``mean(gx² + gy² + gz²) + 0.05 · mean(ax² + ay² + az²)``, the means taken as
    exact integer sums divided by ``window``.
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


@dataclass(frozen=True)
class MotionFilter:
    """Which candidates of a pool survive the motion options.

    min_quantile: drop scores below the pool's own ``order_statistic(q)`` (0 = off);
    pos_range: ``(lo, hi)`` inclusive score range taken from the positives, or None.
    """

    min_quantile: float
    pos_range: Optional[Tuple[float, float]]

    @property
    def active(self) -> bool:
        """Whether any candidate can be dropped (scores are only needed then)."""
        return self.min_quantile > 0 or self.pos_range is not None

    def apply(self, ends: Sequence[int], scores: Sequence[float]) -> List[int]:
        """The ends (in their order) whose score passes both filters."""
        if not self.active:
            return list(ends)
        keep = list(zip(ends, scores))
        if self.min_quantile > 0 and keep:
            floor_ = order_statistic(sorted(scores), self.min_quantile)
            keep = [(e, s) for e, s in keep if s >= floor_]
        if self.pos_range is not None:
            lo, hi = self.pos_range
            keep = [(e, s) for e, s in keep if lo <= s <= hi]
        return [e for e, _ in keep]


def positive_motion_range(pos_scores: Sequence[float], q: float) -> Tuple[float, float]:
    """``(lo, hi)`` = the positives' scores at ranks ``q`` (down) and ``1 - q`` (up), ``q <= 0.49``."""
    s = sorted(pos_scores)
    q = min(q, MAX_POS_MOTION_Q)
    return order_statistic(s, q), order_statistic(s, 1.0 - q, round_up=True)


def _dedupe(items: Sequence[int]) -> List[int]:
    seen = set()
    return [x for x in items if not (x in seen or seen.add(x))]


def pick_separated(rng: random.Random, items: Sequence[int], times: Sequence[int], target: int, min_sep: float) -> List[int]:
    """Up to ``target`` distinct items, in random order, with end times at least ``min_sep`` apart.

    De-duplicates ``items`` (first occurrences), shuffles them with ``rng``, then keeps
    each in turn unless its time is closer than ``min_sep`` (strictly) to a kept one.
    No random number is drawn when ``target <= 0`` or ``items`` is empty.
    """
    if target <= 0 or not items:
        return []
    order = _dedupe(items)
    rng.shuffle(order)
    end_times = [times[x] for x in order]
    return [order[i] for i in kernels().select_separated(range(len(order)), end_times, target, min_sep)]


def _draw(rng: random.Random, pool: Sequence[int], k: int, times: Sequence[int], p: ExportParams) -> List[int]:
    """Up to ``k`` separated items of ``pool`` (of ``3k`` draws with replacement when asked)."""
    if k <= 0 or not pool:
        return []
    if p.neg_with_replacement:
        pool = rng.choices(pool, k=OVERSAMPLE * k)
    return pick_separated(rng, pool, times, k, p.neg_min_sep_ms)


class NegativeSampler:
    """Draws negative window ends from the candidates of one log (SPEC §13 strategies).

    candidates: ascending candidate ends; scores: their motion scores (only read
    when ``motion`` filters something); times: the log's timestamps (ms).
    """

    def __init__(
        self, candidates: Sequence[int], scores: Sequence[float], times: Sequence[int],
        motion: MotionFilter, p: ExportParams,
    ) -> None:
        self.candidates, self.scores, self.times, self.motion, self.p = candidates, scores, times, motion, p
        self.rng = random.Random(p.seed)

    def _filtered(self, lo: int, hi: int) -> List[int]:
        return self.motion.apply(self.candidates[lo:hi], self.scores[lo:hi])

    def far(self, k: int) -> List[int]:
        """Up to ``k`` negatives from all (motion-filtered) candidates."""
        if k <= 0:
            return []
        return _draw(self.rng, self._filtered(0, len(self.candidates)), k, self.times, self.p)

    def near(self, pos_starts_ms: Sequence[int], per_shot: int) -> List[int]:
        """Up to ``per_shot`` negatives ending in ``[start - near_max, start - near_min]`` for each positive.

        Each band is motion-filtered on its own; a band with no more candidates than
        wanted (and no replacement) is taken whole, in time order, without separation.
        Bands are independent, so two shots may pick the same window.
        """
        p, ts, out = self.p, self.times, []
        if per_shot <= 0:
            return out
        for start_ms in pos_starts_ms:
            lo_ms, hi_ms = start_ms - p.neg_near_max_ms, start_ms - p.neg_near_min_ms
            if hi_ms <= lo_ms:
                continue
            lo = bisect_left(self.candidates, bisect_left(ts, lo_ms))
            hi = bisect_left(self.candidates, bisect_right(ts, hi_ms))
            band = self._filtered(lo, hi)
            if not p.neg_with_replacement and per_shot >= len(band):
                out += band
            else:
                out += _draw(self.rng, band, per_shot, ts, p)
        return out

    def sample(self, pos_starts_ms: Sequence[int]) -> List[int]:
        """The chosen negative ends for positives starting at ``pos_starts_ms``, in selection order."""
        p = self.p
        total = p.neg_mult * len(pos_starts_ms)
        if p.neg_strategy == "far":
            return self.far(total)
        if p.neg_strategy == "near":
            return self.near(pos_starts_ms, p.neg_mult)
        near = self.near(pos_starts_ms, int(round(p.neg_mult * p.neg_mixed_near_frac)))
        far = self.far(total - len(near))
        return pick_separated(self.rng, near + far, self.times, total, p.neg_min_sep_ms)


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
    """The original's ``summary.json``: sample count, duration, positive timestamp steps and trigger counts."""
    steps = timestamp_steps(log.timestamp_ms)
    median = float(statistics.median(steps)) if steps else 0.0
    clipped = sum(
        1 for sample in zip(*log.channels) if any(v in (32767, -32768) for v in sample)
    )
    duration = log.duration_ms
    return {
        "input_csv": log.source,
        "samples": len(log),
        "duration_ms": duration,
        "duration_s": duration / 1000.0 if duration > 0 else 0.0,
        "i16_clipping_samples": clipped,
        "timestamp_dt_ms": {
            "count": len(steps),
            "median": median,
            "p5": percentile(steps, 5),
            "p95": percentile(steps, 95),
            "min": steps[0] if steps else None,
            "max": steps[-1] if steps else None,
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
        DatasetError: bad options, timestamps that never increase, or no accepted
            shot with a whole window before it.
    """
    p = params
    p.check()
    ts = log.timestamp_ms
    steps = timestamp_steps(ts)
    if not steps:
        raise DatasetError(f"{log.source}: timestamps never increase ({len(log)} samples); cannot estimate the sample interval")
    dt = float(statistics.median(steps))
    window = max(1, int(round(p.window_ms / dt)))
    lead = max(1, int(round(p.lead_ms / dt)))
    edges, accepted = detect_shots(ts, log.trigger, p.min_shot_gap_ms)

    positives: List[Tuple[int, int, int]] = []  # (shot number, edge, window end)
    for k, edge in enumerate(accepted):
        end = edge - lead
        if end - window >= 0:
            positives.append((k, edge, end))
    if not positives:
        raise DatasetError(
            f"{log.source}: no accepted shot has {window} samples before it (found {len(accepted)} accepted "
            f"of {len(edges)} rising edges); record a longer session with more shots"
        )

    avoid = edges if p.neg_avoid_edges == "all" else accepted
    candidates = candidate_ends(log, avoid, window, p.lead_ms + p.window_ms, p.neg_avoid_post_ms)
    pos_range = None
    if p.neg_match_pos_motion:
        pos_range = positive_motion_range(motion_scores(log, [end for _, _, end in positives], window), p.neg_pos_motion_q)
    motion = MotionFilter(p.neg_min_motion_quantile, pos_range)
    scores = motion_scores(log, candidates, window) if motion.active else [0.0] * len(candidates)
    sampler = NegativeSampler(candidates, scores, ts, motion, p)
    negatives = sampler.sample([ts[end - window] for _, _, end in positives])

    shot_times = [ts[e] for e in accepted]
    index: List[Dict[str, Any]] = []
    starts: List[int] = []

    def add(label: int, shot: int, event_ms: int, start: int, end: int, source: str) -> None:
        shot_ms = shot_times[shot]
        index.append({
            "row": len(index), "label": label, "shot_num": shot, "shot_timestamp_ms": shot_ms,
            # the original left the distance at 0 when the shot's timestamp is 0
            "distance_to_shot_ms": event_ms - shot_ms if shot_ms else 0, "event_timestamp_ms": event_ms,
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
