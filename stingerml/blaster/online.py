"""What the blaster does on-line: post-processing of the per-sample probability and streaming metrics.

A log is replayed through the emulated firmware (:func:`stingerml.blaster.firmware.replay`,
one gated probability per sample). The output that would spin the flywheels is
then derived per sample by:

1. **EMA smoothing** with time constant ``ema_ms`` over the real timestamp
   deltas: ``y[0] = p[0]``, ``y[i] = y[i-1] + a*(p[i] - y[i-1])`` with
   ``a = 1 - exp(-dt/ema_ms)``, ``dt = ts[i] - ts[i-1]`` (``a = 0`` when
   ``dt <= 0``; ``ema_ms = 0`` means no smoothing). A logging pause (a big
   ``dt``) makes ``a`` close to 1: the filter restarts from the new value.
2. **Hysteresis**: off → on when ``y >= on``; on → off when ``y < off``
   (``off <= on``) and
3. **minimum on-time**: not before ``min_on_ms`` have passed since it turned on.

The output at a time ``t`` is the state after the last sample at or before ``t``.
Metrics against the log's shots (SPEC §2: rising edges, accepted with the 1 s gap):

- **hit**: for an accepted shot at ``t0`` the output is on at some time in
  ``[t0-600, t0-100]`` ms; **hit rate** = hits / accepted shots.
- **lead time** of a hit: ``t0 -`` the time the output turned on for the first
  on-period that overlaps that window (so it may exceed 600 ms); median, p10
  and p90 over the hits (linear interpolation).
- **false activation**: an off → on transition with no trigger pull (any rising
  edge, accepted or not) within the following 600 ms; per minute of log
  (``(ts[-1] - ts[0]) / 60000``).
- **on away from shots**: the fraction of time the output is on among samples
  more than 1000 ms from every rising edge; each sample counts for the time to
  the next sample, at most 100 ms (logging pauses are not counted as time).
"""
from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from ..core.errors import SettingsError
from ..learn.metrics import percentile
from .shots import accept_shots, rising_edges

HIT_WINDOW_MS = (-600, -100)
JUSTIFY_MS = 600
AWAY_MS = 1000
MAX_SAMPLE_MS = 100


@dataclass(frozen=True)
class PostProcess:
    """On-device post-processing settings: EMA time constant (ms), hysteresis thresholds
    (probabilities, ``off <= on``; ``off=None`` means ``off = on``) and minimum on-time (ms)."""

    ema_ms: float = 0.0
    on: float = 0.5
    off: Optional[float] = None
    min_on_ms: float = 0.0

    def __post_init__(self) -> None:
        off = self.on if self.off is None else self.off
        if not (0.0 <= off <= self.on <= 1.0):
            raise SettingsError(f"thresholds need 0 <= off <= on <= 1, got on={self.on}, off={off}")
        if not (0 <= self.ema_ms < math.inf and 0 <= self.min_on_ms < math.inf):  # also refuses nan
            raise SettingsError(f"ema_ms and min_on_ms must be finite and >= 0 (milliseconds), "
                                f"got {self.ema_ms}, {self.min_on_ms}")
        object.__setattr__(self, "off", off)

    def label(self) -> str:
        return f"ema={self.ema_ms:g}ms on={self.on:g} off={self.off:g} min_on={self.min_on_ms:g}ms"


def ema(timestamps: Sequence[int], p: Sequence[float], tau_ms: float) -> List[float]:
    """Exponential smoothing with time constant ``tau_ms`` over the actual sample intervals."""
    if tau_ms <= 0 or not p:
        return list(p)
    y = p[0]
    out = [y]
    for i in range(1, len(p)):
        dt = timestamps[i] - timestamps[i - 1]
        if dt > 0:
            y += (1.0 - math.exp(-dt / tau_ms)) * (p[i] - y)
        out.append(y)
    return out


def hysteresis(timestamps: Sequence[int], y: Sequence[float], on: float, off: float, min_on_ms: float = 0.0) -> bytearray:
    """Output state (0/1) after each sample: on at ``y >= on``; off at ``y < off`` once on for ``min_on_ms``."""
    state = bytearray(len(y))
    active, since = False, 0
    for i, v in enumerate(y):
        if not active:
            if v >= on:
                active, since = True, timestamps[i]
        elif v < off and timestamps[i] - since >= min_on_ms:
            active = False
        state[i] = active
    return state


def output(timestamps: Sequence[int], p: Sequence[float], settings: PostProcess) -> bytearray:
    """The post-processed on/off output per sample."""
    return hysteresis(timestamps, ema(timestamps, p, settings.ema_ms), settings.on, settings.off, settings.min_on_ms)


@dataclass
class StreamMetrics:
    """Streaming metrics of one on/off output (see the module docstring for definitions)."""

    shots: int
    hits: int
    hit_rate: float
    lead_ms_median: Optional[float]
    lead_ms_p10: Optional[float]
    lead_ms_p90: Optional[float]
    activations: int
    false_activations: int
    false_per_min: float
    on_fraction_away: float
    minutes: float

    def to_dict(self) -> Dict[str, object]:
        return asdict(self)


def _away_weights(timestamps: Sequence[int], edge_times: Sequence[int]) -> List[int]:
    """Per sample: its duration (to the next sample, at most 100 ms) when it is more than
    1000 ms from every rising edge, else 0."""
    ts = timestamps
    out = [0] * len(ts)
    for i in range(len(ts) - 1):
        k = bisect_left(edge_times, ts[i] - AWAY_MS)
        if k == len(edge_times) or edge_times[k] > ts[i] + AWAY_MS:
            out[i] = min(max(ts[i + 1] - ts[i], 0), MAX_SAMPLE_MS)
    return out


def _metrics(ts: Sequence[int], state: Sequence[int], shots: Sequence[int], edge_times: Sequence[int],
             away: Sequence[int]) -> StreamMetrics:
    n = len(state)
    turn_on = []
    run_start = [0] * n  # index of the turn-on of the on-period holding at sample i
    for i in range(n):
        if state[i] and (i == 0 or not state[i - 1]):
            turn_on.append(i)
        run_start[i] = turn_on[-1] if turn_on else 0
    leads = []
    for s in shots:
        t0 = ts[s]
        first = max(bisect_right(ts, t0 + HIT_WINDOW_MS[0]) - 1, 0)  # its state holds at t0-600
        last = bisect_right(ts, t0 + HIT_WINDOW_MS[1])
        hit = next((i for i in range(first, last) if state[i]), None)
        if hit is not None:
            leads.append(t0 - ts[run_start[hit]])
    false = 0
    for j in turn_on:
        k = bisect_left(edge_times, ts[j])
        if k == len(edge_times) or edge_times[k] > ts[j] + JUSTIFY_MS:
            false += 1
    away_time = sum(away)
    on_time = sum(w for w, s in zip(away, state) if s)
    minutes = (ts[-1] - ts[0]) / 60000.0 if n > 1 else 0.0
    leads.sort()
    pick = (lambda q: percentile(leads, q)) if leads else (lambda q: None)
    return StreamMetrics(
        shots=len(shots), hits=len(leads), hit_rate=len(leads) / len(shots) if shots else 0.0,
        lead_ms_median=pick(50), lead_ms_p10=pick(10), lead_ms_p90=pick(90),
        activations=len(turn_on), false_activations=false,
        false_per_min=false / minutes if minutes > 0 else 0.0,
        on_fraction_away=on_time / away_time if away_time else 0.0, minutes=minutes,
    )


def streaming_metrics(timestamps: Sequence[int], state: Sequence[int], shots: Sequence[int],
                      edges: Sequence[int]) -> StreamMetrics:
    """Metrics of an output ``state`` per sample against accepted ``shots`` and all rising
    ``edges`` (sample indices into ``timestamps``)."""
    edge_times = sorted(timestamps[e] for e in edges)
    return _metrics(timestamps, state, shots, edge_times, _away_weights(timestamps, edge_times))


def evaluate(timestamps: Sequence[int], p: Sequence[float], settings: PostProcess, shots: Sequence[int],
             edges: Sequence[int]) -> StreamMetrics:
    """Post-process ``p`` with ``settings`` and measure it."""
    return streaming_metrics(timestamps, output(timestamps, p, settings), shots, edges)


DEFAULT_GRID = {
    "ema_ms": (0.0, 50.0, 100.0),
    "on": (0.5, 0.6, 0.7, 0.8, 0.9),
    "gap": (0.0, 0.1, 0.2),
    "min_on_ms": (0.0, 300.0),
}


@dataclass
class SweepRow:
    settings: PostProcess
    metrics: StreamMetrics
    pareto: bool = False


def _objectives(m: StreamMetrics) -> Tuple[float, float, float]:
    """Smaller is better in every component: (-hit rate, false/min, on fraction away)."""
    return (-m.hit_rate, m.false_per_min, m.on_fraction_away)


def sweep(timestamps: Sequence[int], p: Sequence[float], shots: Sequence[int], edges: Sequence[int],
          grid: Optional[Dict[str, Sequence[float]]] = None) -> List[SweepRow]:
    """Every combination of ``grid`` (keys ``ema_ms``, ``on``, ``gap`` = on - off, ``min_on_ms``;
    :data:`DEFAULT_GRID` fills what is not given).

    Sorted by hit rate (descending), false activations per minute, time on away from shots,
    then the simplest settings (less smoothing, no minimum on-time). ``pareto`` marks the rows
    no other row beats on all of hit rate, false/min and on-away (among rows with identical
    metrics only the first).
    """
    g = {**DEFAULT_GRID, **(grid or {})}
    edge_times = sorted(timestamps[e] for e in edges)
    away = _away_weights(timestamps, edge_times)
    rows = []
    for tau in g["ema_ms"]:
        y = ema(timestamps, p, tau)
        for on in g["on"]:
            for gap in g["gap"]:
                if on - gap < 0:
                    continue
                for min_on in g["min_on_ms"]:
                    s = PostProcess(tau, on, round(on - gap, 6), min_on)
                    state = hysteresis(timestamps, y, s.on, s.off, s.min_on_ms)
                    rows.append(SweepRow(s, _metrics(timestamps, state, shots, edge_times, away)))
    rows.sort(key=lambda r: _objectives(r.metrics) + (r.settings.ema_ms, r.settings.min_on_ms, r.settings.on - r.settings.off))
    seen = set()
    for row in rows:
        obj = _objectives(row.metrics)
        dominated = any(all(a <= b for a, b in zip(_objectives(o.metrics), obj)) and _objectives(o.metrics) != obj
                        for o in rows)
        row.pareto = not dominated and obj not in seen
        seen.add(obj)
    return rows


def propose(rows: Sequence[SweepRow], max_false_per_min: float = 1.0, max_on_away: float = 0.05) -> Optional[SweepRow]:
    """The recommended setting: the highest hit rate among the rows with at most
    ``max_false_per_min`` false activations per minute and at most ``max_on_away`` of the
    time on away from shots (ties as in :func:`sweep`'s order); ``None`` when no row with at
    least one hit fits."""
    for row in rows:  # already in preference order
        m = row.metrics
        if m.hits and m.false_per_min <= max_false_per_min and m.on_fraction_away <= max_on_away:
            return row
    return None


def log_shots(log) -> Tuple[List[int], List[int]]:
    """``(accepted shots, all rising edges)`` of a log, as sample indices."""
    edges = rising_edges(log.trigger)
    return accept_shots(log.timestamp_ms, edges), edges


def format_table(rows: Sequence[SweepRow], title: str = "") -> str:
    """A plain-text trade-off table of sweep rows (``*`` marks the Pareto front)."""
    head = f"{'':1} {'ema_ms':>6} {'on':>5} {'off':>5} {'min_on':>6} {'hit':>6} {'lead50':>7} {'lead10':>7} " \
           f"{'lead90':>7} {'false/min':>9} {'on_away':>7}"
    lines = ([title] if title else []) + [head]
    for r in rows:
        s, m = r.settings, r.metrics
        lead = [("-" if v is None else f"{v:.0f}") for v in (m.lead_ms_median, m.lead_ms_p10, m.lead_ms_p90)]
        lines.append(f"{'*' if r.pareto else ' '} {s.ema_ms:>6g} {s.on:>5g} {s.off:>5g} {s.min_on_ms:>6g} "
                     f"{m.hit_rate:>6.1%} {lead[0]:>7} {lead[1]:>7} {lead[2]:>7} {m.false_per_min:>9.2f} "
                     f"{m.on_fraction_away:>7.1%}")
    return "\n".join(lines)
