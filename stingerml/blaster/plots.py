"""SVG charts of sessions, shots and predictions, built as strings (no plotting library).

Every chart is a complete standalone SVG document (``str``) that any browser
shows. One small toolkit draws them all: :class:`Axes` maps data to pixels and
emits the frame, ticks, labels, polylines, vertical markers and shaded bands;
:func:`legend` and :func:`svg_document` finish a chart. Each data series is an
element (or group) with ``class``, ``id`` where unique, and ``data-series``
attributes, so tools and tests can find it: ``data-series="ax"`` .. ``"gz"`` for
IMU channels, ``"lr"``/``"mlp"`` for probabilities, ``"accepted"``/``"rejected"``
for trigger-pull markers, ``"pos"``/``"neg"`` for histogram bars.

Charts:

- :func:`session_overview` — the six IMU channels stacked against time (s) with
  accepted and rejected trigger pulls marked; long sessions are decimated to the
  min and max of each pixel column so the file stays small and spikes survive;
- :func:`shot_crops` — the IMU around each shot (x in ms from the trigger edge);
- :func:`shot_trace` — LR/MLP probability around a shot over the IMU, like the
  browser trainer's per-shot canvas plots;
- :func:`probability_histogram` — positive vs negative probabilities;
- :func:`plot_predictions` — score every shot of a log with an LR and an MLP
  model and write a trace per shot plus LR/MLP histograms.
"""
from __future__ import annotations

import math
import os
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union
from xml.sax.saxutils import escape, quoteattr

from ..core.atomic import write_text_atomic
from ..core.errors import PlotError
from ..formats.mlmd import LRModel, MLPModel
from ..learn.metrics import BASELINE_MS, PRESHOT_MS
from .dataset import DatasetParams
from .log import CHANNELS, Log

PathLike = Union[str, "os.PathLike[str]"]

COLORS: Dict[str, str] = {
    "ax": "#1f77b4",
    "ay": "#ff7f0e",
    "az": "#2ca02c",
    "gx": "#d62728",
    "gy": "#9467bd",
    "gz": "#8c564b",
    "lr": "#17becf",
    "mlp": "#e377c2",
    "accepted": "#2ca02c",
    "rejected": "#d62728",
    "pos": "#d62728",
    "neg": "#1f77b4",
    "band": "#ffd54f",
}
FONT = "font-family:sans-serif;font-size:11px"


# -- numbers ----------------------------------------------------------------------------------


def _num(v: float) -> str:
    """A pixel coordinate with at most 2 decimals (``-0`` printed as ``0``)."""
    s = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def nice_ticks(lo: float, hi: float, max_ticks: int = 6, min_step: float = 0.0) -> List[float]:
    """Round tick values (steps of 1, 2, 2.5 or 5 × 10^k, at least ``min_step``) within ``[lo, hi]``."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else []
    raw = max((hi - lo) / max(1, max_ticks), min_step)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9)
    last = math.floor(hi / step + 1e-9)
    return [k * step for k in range(first, last + 1)]


def _tick_text(v: float) -> str:
    """A tick label: integers without decimals, others with up to 3 significant decimals."""
    if abs(v - round(v)) < 1e-9:
        return str(int(round(v)))
    return f"{v:.3g}"


def data_range(series: Sequence[Sequence[float]], pad: float = 0.05) -> Tuple[float, float]:
    """``(lo, hi)`` over all finite values, padded by ``pad`` of the span; ``(0, 1)`` if empty."""
    lo = math.inf
    hi = -math.inf
    for values in series:
        for v in values:
            if v < lo:
                lo = v
            if v > hi:
                hi = v
    if lo > hi:
        return 0.0, 1.0
    if lo == hi:
        return lo - 1.0, hi + 1.0
    margin = (hi - lo) * pad
    return lo - margin, hi + margin


def decimate_minmax(xs: Sequence[float], ys: Sequence[float], columns: int, x_range: Tuple[float, float]) -> Tuple[List[float], List[float]]:
    """Keep, per pixel column of ``x_range``, the points with the smallest and largest y.

    The points stay in their original order, so the polyline keeps every spike
    while having at most ``2·columns`` points. Series with at most ``2·columns``
    points come back unchanged.
    """
    n = len(xs)
    if n <= 2 * columns:
        return list(xs), list(ys)
    x0, x1 = x_range
    scale = columns / (x1 - x0) if x1 > x0 else 0.0
    keep: List[int] = []
    col = None
    lo_i = hi_i = 0
    for i in range(n):
        c = min(columns - 1, int((xs[i] - x0) * scale))
        if c != col:
            if col is not None:
                keep.extend(sorted({lo_i, hi_i}))
            col, lo_i, hi_i = c, i, i
        elif ys[i] < ys[lo_i]:
            lo_i = i
        elif ys[i] > ys[hi_i]:
            hi_i = i
    keep.extend(sorted({lo_i, hi_i}))
    return [xs[i] for i in keep], [ys[i] for i in keep]


# -- drawing toolkit -------------------------------------------------------------------------


def _attrs(**attrs: object) -> str:
    """`` name="value"`` pairs (underscores become dashes; ``None`` values are left out)."""
    return "".join(f" {k.rstrip('_').replace('_', '-')}={quoteattr(str(v))}" for k, v in attrs.items() if v is not None)


def _text(x: float, y: float, text: str, **attrs: object) -> str:
    return f"<text{_attrs(x=_num(x), y=_num(y), **attrs)}>{escape(text)}</text>"


@dataclass
class Axes:
    """A plot area: the pixel rectangle ``(left, top, width, height)`` and the data ranges it shows."""

    left: float
    top: float
    width: float
    height: float
    x_range: Tuple[float, float]
    y_range: Tuple[float, float]
    y_min_step: float = 0.0  # 1 for counts: no fractional ticks

    def px(self, x: float) -> float:
        """Pixel x of data x."""
        x0, x1 = self.x_range
        return self.left + (x - x0) / (x1 - x0) * self.width

    def py(self, y: float) -> float:
        """Pixel y of data y (up is larger y)."""
        y0, y1 = self.y_range
        return self.top + self.height - (y - y0) / (y1 - y0) * self.height

    @property
    def bottom(self) -> float:
        return self.top + self.height

    def frame(self, *, title: str = "", xlabel: str = "", ylabel: str = "", xticks: bool = True) -> List[str]:
        """Border, grid lines with tick labels, axis labels and title."""
        parts = [f"<rect{_attrs(class_='frame', x=_num(self.left), y=_num(self.top), width=_num(self.width), height=_num(self.height), fill='none', stroke='#888')}/>"]
        for v in nice_ticks(*self.y_range, max_ticks=max(2, int(self.height // 25)), min_step=self.y_min_step):
            y = self.py(v)
            parts.append(f"<line{_attrs(class_='grid', x1=_num(self.left), x2=_num(self.left + self.width), y1=_num(y), y2=_num(y), stroke='#eee')}/>")
            parts.append(_text(self.left - 4, y + 4, _tick_text(v), class_="tick", text_anchor="end"))
        for v in nice_ticks(*self.x_range, max_ticks=max(2, int(self.width // 80))):
            x = self.px(v)
            parts.append(f"<line{_attrs(class_='grid', x1=_num(x), x2=_num(x), y1=_num(self.top), y2=_num(self.bottom), stroke='#eee')}/>")
            if xticks:
                parts.append(_text(x, self.bottom + 13, _tick_text(v), class_="tick", text_anchor="middle"))
        if title:
            parts.append(_text(self.left, self.top - 6, title, class_="title", font_weight="bold"))
        if xlabel:
            parts.append(_text(self.left + self.width / 2, self.bottom + 28, xlabel, class_="xlabel", text_anchor="middle"))
        if ylabel:
            cx, cy = self.left - 42, self.top + self.height / 2
            parts.append(_text(cx, cy, ylabel, class_="ylabel", text_anchor="middle", transform=f"rotate(-90 {_num(cx)} {_num(cy)})"))
        return parts

    def polyline(self, xs: Sequence[float], ys: Sequence[float], *, series: str, color: str, stroke_width: float = 1.0, id: Optional[str] = None) -> str:
        """One data series as a polyline (``class="series"``, ``data-series=series``)."""
        points = " ".join(f"{_num(self.px(x))},{_num(self.py(y))}" for x, y in zip(xs, ys))
        return f"<polyline{_attrs(id=id, class_='series', data_series=series, points=points, fill='none', stroke=color, stroke_width=stroke_width, stroke_linejoin='round')}/>"

    def vline(self, x: float, *, cls: str, series: str, color: str, top: Optional[float] = None, bottom: Optional[float] = None, dash: Optional[str] = None, **data: object) -> str:
        """A vertical marker at data x, from ``top`` to ``bottom`` pixels (default: this plot area)."""
        px = _num(self.px(x))
        y1 = self.top if top is None else top
        y2 = self.bottom if bottom is None else bottom
        return f"<line{_attrs(class_=cls, data_series=series, x1=px, x2=px, y1=_num(y1), y2=_num(y2), stroke=color, stroke_dasharray=dash, **data)}/>"

    def hline(self, y: float, *, cls: str, color: str, dash: Optional[str] = None) -> str:
        """A horizontal reference line at data y across the plot area."""
        py = _num(self.py(y))
        return f"<line{_attrs(class_=cls, x1=_num(self.left), x2=_num(self.left + self.width), y1=py, y2=py, stroke=color, stroke_dasharray=dash)}/>"

    def band(self, x0: float, x1: float, *, cls: str, color: str, opacity: float = 0.3) -> str:
        """A shaded vertical band between data x0 and x1, clipped to the plot area."""
        a = min(max(self.px(x0), self.left), self.left + self.width)
        b = min(max(self.px(x1), self.left), self.left + self.width)
        return f"<rect{_attrs(class_=cls, x=_num(a), y=_num(self.top), width=_num(max(0.0, b - a)), height=_num(self.height), fill=color, fill_opacity=opacity)}/>"

    def note(self, text: str) -> str:
        """A centred message inside the plot area (for empty input)."""
        return _text(self.left + self.width / 2, self.top + self.height / 2, text, class_="note", text_anchor="middle", fill="#888")


def legend(items: Sequence[Tuple[str, str]], x: float, y: float) -> str:
    """A one-row legend of ``(label, color)`` swatches starting at pixel ``(x, y)``."""
    parts = []
    for label, color in items:
        parts.append(f"<rect{_attrs(x=_num(x), y=_num(y - 8), width=12, height=8, fill=color)}/>")
        parts.append(_text(x + 16, y, label))
        x += 28 + 7 * len(label)
    return f"<g class=\"legend\">{''.join(parts)}</g>"


def svg_document(width: float, height: float, parts: Sequence[str], title: str = "") -> str:
    """A standalone SVG document of the given pixel size on a white background."""
    head = (
        f"<svg xmlns=\"http://www.w3.org/2000/svg\"{_attrs(width=_num(width), height=_num(height), viewBox=f'0 0 {_num(width)} {_num(height)}', style=FONT)}>"
        f"<title>{escape(title)}</title>"
        f"<rect{_attrs(class_='background', width='100%', height='100%', fill='white')}/>"
    )
    return head + "\n".join(parts) + "</svg>\n"


def write_svg(path: PathLike, svg: str) -> None:
    """Write an SVG document atomically (UTF-8)."""
    write_text_atomic(path, svg)


# -- charts ----------------------------------------------------------------------------------

MARGIN_LEFT = 70
MARGIN_RIGHT = 20


def _imu_series(ax: Axes, xs: Sequence[float], log: Log, i0: int, i1: int, columns: int) -> List[str]:
    """The six IMU channels of samples ``[i0, i1)`` as polylines on one axes."""
    parts = []
    for name, col in zip(CHANNELS, log.channels):
        px, py = decimate_minmax(xs, col[i0:i1], columns, ax.x_range)
        parts.append(ax.polyline(px, py, series=name, color=COLORS[name], id=f"imu-{name}"))
    return parts


def session_overview(
    log: Log,
    accepted: Optional[Sequence[int]] = None,
    rejected: Optional[Sequence[int]] = None,
    *,
    width: int = 1200,
    panel_height: int = 90,
) -> str:
    """The whole session: six stacked IMU panels against time (s since the first sample).

    ``accepted`` and ``rejected`` are sample indices of trigger rising edges; when
    both are None they are found with :func:`stingerml.blaster.shots.detect_shots`
    (rejected = edges the 1 s gap rule dropped). Each pull is one vertical line
    across all panels (``class="marker accepted"`` or ``"marker rejected"``,
    ``data-sample`` = its index). Each channel is decimated to the min/max of
    every pixel column.
    """
    n = len(log)
    if accepted is None and rejected is None:
        from .shots import detect_shots

        edges, accepted = detect_shots(log.timestamp_ms, log.trigger)
        kept = set(accepted)
        rejected = [e for e in edges if e not in kept]
    accepted = list(accepted or [])
    rejected = list(rejected or [])
    for i in accepted + rejected:
        if not 0 <= i < n:
            raise PlotError(f"session_overview: trigger sample {i} is outside the log ({n} samples in {log.source})")
    t_first = log.timestamp_ms[0] if n else 0
    xs = [(t - t_first) / 1000 for t in log.timestamp_ms]
    x_range = (0.0, xs[-1]) if n and xs[-1] > 0 else (0.0, 1.0)
    top0, gap = 40, 14
    plot_w = width - MARGIN_LEFT - MARGIN_RIGHT
    panels = []
    for k, (name, col) in enumerate(zip(CHANNELS, log.channels)):
        top = top0 + k * (panel_height + gap)
        panels.append((name, col, Axes(MARGIN_LEFT, top, plot_w, panel_height, x_range, data_range([col]))))
    height = panels[-1][2].bottom + 45
    parts = [legend([("accepted pull", COLORS["accepted"]), ("rejected pull", COLORS["rejected"])], MARGIN_LEFT, 18)]
    parts.append(_text(width - MARGIN_RIGHT, 18, f"{n} samples, {len(accepted)} accepted, {len(rejected)} rejected", text_anchor="end", class_="summary"))
    for k, (name, col, ax) in enumerate(panels):
        last = k == len(panels) - 1
        parts += ax.frame(ylabel=name, xlabel="time (s)" if last else "", xticks=last)
        if n:
            px, py = decimate_minmax(xs, col, plot_w, x_range)
            parts.append(ax.polyline(px, py, series=name, color=COLORS[name], id=f"imu-{name}"))
        elif k == 0:
            parts.append(ax.note("no samples"))
    first, last_ax = panels[0][2], panels[-1][2]
    for cls, dash, indices in (("accepted", None, accepted), ("rejected", "4 3", rejected)):
        for i in indices:
            parts.append(first.vline(xs[i], cls=f"marker {cls}", series=cls, color=COLORS[cls], top=first.top, bottom=last_ax.bottom, dash=dash, data_sample=i))
    return svg_document(width, height, parts, title=f"session overview: {log.source}")


def _shot_bounds(log: Log, shot: int, pre_ms: float, post_ms: float) -> Tuple[int, int, int]:
    """``(t0, i0, i1)``: the shot's timestamp and the sample range within ``[t0-pre, t0+post]`` ms."""
    if not 0 <= shot < len(log):
        raise PlotError(f"shot sample {shot} is outside the log ({len(log)} samples in {log.source})")
    ts = log.timestamp_ms
    t0 = ts[shot]
    return t0, bisect_left(ts, t0 - pre_ms), bisect_right(ts, t0 + post_ms)


def shot_crop(log: Log, shot: int, *, pre_ms: float = 1000, post_ms: float = 200, band: Tuple[float, float] = PRESHOT_MS, width: int = 800, height: int = 320, number: Optional[int] = None) -> str:
    """The six IMU channels from ``pre_ms`` before to ``post_ms`` after one shot.

    x is ms from the trigger edge (sample ``shot``); the pre-shot window ``band``
    (the positive training window, [-600, -100] ms by default) is shaded and the
    edge is a vertical line at 0.
    """
    t0, i0, i1 = _shot_bounds(log, shot, pre_ms, post_ms)
    xs = [t - t0 for t in log.timestamp_ms[i0:i1]]
    ax = Axes(MARGIN_LEFT, 40, width - MARGIN_LEFT - MARGIN_RIGHT, height - 85, (-pre_ms, post_ms), data_range(log.channels[c][i0:i1] for c in range(6)))
    label = f"shot {number}: " if number is not None else ""
    parts = [ax.band(*band, cls="band preshot", color=COLORS["band"])]
    parts += ax.frame(title=f"{label}sample {shot}, t0 = {t0} ms", xlabel="ms from trigger", ylabel="raw IMU")
    parts += _imu_series(ax, xs, log, i0, i1, int(ax.width))
    parts.append(ax.vline(0, cls="marker trigger", series="trigger", color="#000"))
    parts.append(legend([(c, COLORS[c]) for c in CHANNELS], ax.left + 260, 18))
    return svg_document(width, height, parts, title=f"{label}sample {shot}")


def shot_crops(log: Log, shots: Sequence[int], pre_ms: float = 1000, post_ms: float = 200) -> List[str]:
    """:func:`shot_crop` for each shot sample index, numbered from 1."""
    return [shot_crop(log, s, pre_ms=pre_ms, post_ms=post_ms, number=k) for k, s in enumerate(shots, start=1)]


def shot_trace(trace: Dict, log: Optional[Log] = None, *, width: int = 800, height: int = 480) -> str:
    """One shot's prediction trace: LR/MLP probability on top, the IMU below.

    ``trace`` is a dict with ``trigger_index`` (sample of the edge), ``t0`` (its
    timestamp, ms), ``x_ms`` (sample times relative to t0), ``p_lr`` and ``p_mlp``
    (probabilities, same length as ``x_ms``; either may be None). The pre-shot window [-600, -100] ms is shaded, the
    0.5 threshold dashed. Without ``log`` only the probability panel is drawn.
    """
    x_ms = list(trace["x_ms"])
    x_range = (x_ms[0], x_ms[-1]) if len(x_ms) > 1 and x_ms[-1] > x_ms[0] else (-1000.0, 200.0)
    plot_w = width - MARGIN_LEFT - MARGIN_RIGHT
    top_h = (height - 120) * (0.5 if log is not None else 1.0)
    prob = Axes(MARGIN_LEFT, 40, plot_w, top_h, x_range, (0.0, 1.0))
    title = f"shot at sample {trace['trigger_index']} (t0 = {trace['t0']} ms)"  # no undefined "score" on the page
    parts = [prob.band(*PRESHOT_MS, cls="band preshot", color=COLORS["band"])]
    parts += prob.frame(title=title, ylabel="probability", xticks=log is None, xlabel="" if log is not None else "ms from trigger")
    parts.append(prob.hline(0.5, cls="threshold", color="#888", dash="4 3"))
    items = []
    for key in ("lr", "mlp"):
        probs = trace.get(f"p_{key}")
        if probs is None:
            continue
        if len(probs) != len(x_ms):
            raise PlotError(f"shot_trace: {len(probs)} {key.upper()} probabilities for {len(x_ms)} x_ms values")
        for p in probs:
            if not (0.0 <= p <= 1.0):
                raise PlotError(f"shot_trace: {key.upper()} probability {p!r} is not within [0, 1]")
        parts.append(prob.polyline(x_ms, probs, series=key, color=COLORS[key], stroke_width=1.5, id=f"prob-{key}"))
        items.append((key.upper(), COLORS[key]))
    parts.append(prob.vline(0, cls="marker trigger", series="trigger", color="#000"))
    if log is not None:
        t0 = trace["t0"]
        ts = log.timestamp_ms
        i0 = bisect_left(ts, t0 + x_range[0])
        i1 = bisect_right(ts, t0 + x_range[1])
        imu = Axes(MARGIN_LEFT, prob.bottom + 25, plot_w, height - 120 - top_h, x_range, data_range(log.channels[c][i0:i1] for c in range(6)))
        parts.append(imu.band(*PRESHOT_MS, cls="band preshot", color=COLORS["band"]))
        parts += imu.frame(xlabel="ms from trigger", ylabel="raw IMU")
        parts += _imu_series(imu, [t - t0 for t in ts[i0:i1]], log, i0, i1, int(plot_w))
        parts.append(imu.vline(0, cls="marker trigger", series="trigger", color="#000"))
        items += [(c, COLORS[c]) for c in CHANNELS]
    parts.append(legend(items, MARGIN_LEFT + 360, 18))
    return svg_document(width, height, parts, title=title)


def probability_histogram(p_pos: Sequence[float], p_neg: Sequence[float], bins: int = 20, *, title: str = "", width: int = 640, height: int = 360) -> str:
    """Counts of positive and negative probabilities in ``bins`` equal bins over [0, 1].

    Each bin holds two bars side by side, positives left: ``<rect class="bar"
    data-series="pos|neg" data-bin=k data-count=c>`` (every bin has both bars,
    zero-height when empty). A probability of exactly 1 falls in the last bin.
    """
    if bins < 1:
        raise PlotError(f"probability_histogram: bins must be >= 1, got {bins}")
    counts = {}
    for name, values in (("pos", p_pos), ("neg", p_neg)):
        c = [0] * bins
        for p in values:
            if not (0.0 <= p <= 1.0):
                raise PlotError(f"probability_histogram: {name} probability {p!r} is not within [0, 1]")
            c[min(bins - 1, int(p * bins))] += 1
        counts[name] = c
    top = max(max(counts["pos"]), max(counts["neg"]), 1)
    ax = Axes(MARGIN_LEFT, 40, width - MARGIN_LEFT - MARGIN_RIGHT, height - 85, (0.0, 1.0), (0.0, top * 1.05), y_min_step=1.0)
    parts = ax.frame(title=title, xlabel="probability", ylabel="count")
    for offset, name in enumerate(("pos", "neg")):
        bars = []
        for k, c in enumerate(counts[name]):
            x = ax.px((k + 0.5 * offset) / bins)
            bar_w = ax.px((k + 0.5) / bins) - ax.px(k / bins)
            y = ax.py(c)
            bars.append(f"<rect{_attrs(class_='bar', data_series=name, data_bin=k, data_count=c, x=_num(x), y=_num(y), width=_num(bar_w), height=_num(ax.bottom - y), fill=COLORS[name], fill_opacity=0.8)}/>")
        parts.append(f"<g{_attrs(id=f'hist-{name}', class_='series', data_series=name)}>{''.join(bars)}</g>")
    parts.append(legend([(f"positive (n={len(p_pos)})", COLORS["pos"]), (f"negative (n={len(p_neg)})", COLORS["neg"])], ax.left + 200, 18))
    return svg_document(width, height, parts, title=title or "probability histogram")


# -- predictions ------------------------------------------------------------------------------


def _band_values(traces: Sequence[Dict], key: str, band: Tuple[float, float]) -> List[float]:
    """Every probability under ``key`` whose ``x_ms`` lies in ``band`` (inclusive), over all traces."""
    return [p for t in traces for x, p in zip(t["x_ms"], t[key]) if band[0] <= x <= band[1]]


def write_prediction_plots(log: Log, traces: Sequence[Dict], out_dir: PathLike) -> List[Path]:
    """Write ``traces/trace_NNN.svg`` (one per trace, numbered from 1) and the LR/MLP histograms.

    ``histogram_lr.svg`` / ``histogram_mlp.svg`` compare every probability in the
    pre-shot window [-600, -100] ms of a trace ("positive") with every one in its
    baseline [-1000, -700] ms ("negative"), the two bands the trace score uses.
    Returns the paths written.
    """
    out = Path(out_dir)
    (out / "traces").mkdir(parents=True, exist_ok=True)
    written = []
    for k, trace in enumerate(traces, start=1):
        path = out / "traces" / f"trace_{k:03d}.svg"
        write_svg(path, shot_trace(trace, log))
        written.append(path)
    for key in ("lr", "mlp"):
        svg = probability_histogram(
            _band_values(traces, f"p_{key}", PRESHOT_MS),
            _band_values(traces, f"p_{key}", BASELINE_MS),
            title=f"{key.upper()}: pre-shot [-600, -100] ms vs baseline [-1000, -700] ms",
        )
        path = out / f"histogram_{key}.svg"
        write_svg(path, svg)
        written.append(path)
    return written


def plot_predictions(log: Log, lr_model: LRModel, mlp_model: MLPModel, out_dir: PathLike, params: Optional[DatasetParams] = None) -> List[Path]:
    """Score every accepted shot of ``log`` with the two models and write the prediction charts.

    The traces are :func:`stingerml.blaster.traces.shot_traces` (the browser trainer's
    per-shot plots, SPEC §11, for every shot rather than the best two) with the
    shots and lead of :func:`stingerml.blaster.dataset.build_dataset` under ``params``;
    the files are those of :func:`write_prediction_plots`. Returns the paths.
    """
    from .dataset import build_dataset
    from .traces import shot_traces

    ds = build_dataset(log, params or DatasetParams())
    traces = shot_traces(log, ds.accepted, lr_model, mlp_model, ds.lead_samples, ds.window_samples)
    return write_prediction_plots(log, traces, out_dir)
