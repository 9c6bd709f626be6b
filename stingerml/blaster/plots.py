"""SVG charts of sessions, shots and predictions, built as strings (no plotting library).

Every chart is a complete standalone SVG document (``str``) that any browser
shows. One small toolkit draws them all: :class:`Axes` maps data to pixels and
emits the frame, ticks, labels, polylines, vertical markers and shaded bands;
:func:`legend` and :func:`svg_document` finish a chart. Each data series is an
element (or group) with ``class``, ``id`` where unique, and ``data-series``
attributes, so tools and tests can find it: ``data-series="ax"`` .. ``"gz"`` for
IMU channels, ``"lr"``/``"mlp"`` for probabilities, ``"accepted"``/``"rejected"``
for the markers of accepted shots and other rising edges, ``"pos"``/``"neg"`` for histogram bars.

Charts:

- :func:`session_overview` — the six IMU channels stacked against time (s) with
  accepted shots and rejected rising edges marked; long sessions are decimated to the
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
from dataclasses import dataclass, field
from html import escape as _escape
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

from ..core.atomic import write_text_atomic
from ..core.errors import PlotError
from ..formats.mlmd import LRModel, MLPModel
from ..learn.metrics import BASELINE_MS, PRESHOT_MS
from .dataset import DatasetParams
from .log import CHANNELS, Log

PathLike = Union[str, "os.PathLike[str]"]

COLORS: Dict[str, str] = {
    # colour-blind safe: picked from Okabe & Ito's palette (2008) and Paul Tol's "muted" and
    # "vibrant" schemes so that every two series drawn together stay apart under simulated
    # protanopia, deuteranopia and tritanopia (tests/test_report_chromium.py measures it)
    "ax": "#56B4E9",
    "ay": "#009988",
    "az": "#117733",
    "gx": "#882255",
    "gy": "#AA4499",
    "gz": "#EE3377",
    "lr": "#332288",
    "mlp": "#E69F00",
    "accepted": "#000000",
    "rejected": "#888888",
    "pos": "#EE7733",
    "neg": "#0077BB",
    "band": "#ffd54f",
}
FONT = "font-family:sans-serif;font-size:11px"


# -- numbers ----------------------------------------------------------------------------------


def _num(v: float) -> str:
    """A pixel coordinate with at most 2 decimals (``-0`` printed as ``0``)."""
    s = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def _nice_step(lo: float, hi: float, max_ticks: int, min_step: float) -> float:
    """The round tick step (1, 2, 2.5 or 5 × 10^k, at least ``min_step``) for at most about ``max_ticks`` steps."""
    raw = max((hi - lo) / max(1, max_ticks), min_step)
    mag = 10.0 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)


def nice_ticks(lo: float, hi: float, max_ticks: int = 6, min_step: float = 0.0) -> List[float]:
    """Round tick values (steps of 1, 2, 2.5 or 5 × 10^k, at least ``min_step``) within ``[lo, hi]``."""
    if not math.isfinite(hi - lo) or hi <= lo:
        return [lo] if math.isfinite(lo) else []
    step = _nice_step(lo, hi, max_ticks, min_step)
    first = math.ceil(lo / step - 1e-9)
    last = math.floor(hi / step + 1e-9)
    return [k * step for k in range(first, last + 1)]


def nice_range(lo: float, hi: float, max_ticks: int = 6, min_step: float = 0.0) -> Tuple[Tuple[float, float], List[float]]:
    """``((lo', hi'), ticks)``: ``[lo, hi]`` widened to the nearest round ticks around it, so both ends
    of the axis carry a labelled tick (``ticks`` runs from ``lo'`` to ``hi'``)."""
    if not math.isfinite(hi - lo) or hi <= lo:
        return (lo, hi), nice_ticks(lo, hi)
    step = _nice_step(lo, hi, max_ticks, min_step)
    first = math.floor(lo / step + 1e-9)
    last = math.ceil(hi / step - 1e-9)
    ticks = [k * step for k in range(first, last + 1)]
    if not math.isfinite(ticks[0] - ticks[-1]):  # within a step of the largest float: the range as it is
        return (lo, hi), nice_ticks(lo, hi, max_ticks, min_step)
    return (ticks[0], ticks[-1]), ticks


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


def escape(text: str) -> str:
    """``text`` with ``&``, ``<`` and ``>`` as entities, as ``xml.sax.saxutils.escape`` has it (that module imports
    urllib, http and ssl: about 35 ms and 4 MB in every ``train``, which writes a report)."""
    return _escape(text, quote=False)


def quoteattr(value: str) -> str:
    """``value`` as a quoted XML attribute value, as ``xml.sax.saxutils.quoteattr`` has it: :func:`escape`, newlines,
    returns and tabs as character references, in double quotes (single quotes when it holds a double quote,
    ``&quot;`` when it holds both)."""
    value = escape(value).replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")
    if '"' not in value:
        return f'"{value}"'
    if "'" not in value:
        return f"'{value}'"
    return '"' + value.replace('"', "&quot;") + '"'


def _attrs(**attrs: object) -> str:
    """`` name="value"`` pairs (underscores become dashes; ``None`` values are left out)."""
    return "".join(f" {k.rstrip('_').replace('_', '-')}={quoteattr(str(v))}" for k, v in attrs.items() if v is not None)


def _text(x: float, y: float, text: str, **attrs: object) -> str:
    return f"<text{_attrs(x=_num(x), y=_num(y), **attrs)}>{escape(text)}</text>"


@dataclass
class Axes:
    """A plot area: the pixel rectangle ``(left, top, width, height)`` and the data ranges it shows.

    Both ranges are widened to round ticks (:func:`nice_range`), so each axis ends on a labelled
    tick; ``x_ticks`` and ``y_ticks`` are those ticks.
    """

    left: float
    top: float
    width: float
    height: float
    x_range: Tuple[float, float]
    y_range: Tuple[float, float]
    y_min_step: float = 0.0  # 1 for counts: no fractional ticks
    x_ticks: List[float] = field(init=False)
    y_ticks: List[float] = field(init=False)

    def __post_init__(self) -> None:
        self.x_range, self.x_ticks = nice_range(*self.x_range, max_ticks=max(2, int(self.width // 80)))
        self.y_range, self.y_ticks = nice_range(*self.y_range, max_ticks=max(2, int(self.height // 25)),
                                                min_step=self.y_min_step)

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
        """Border, grid lines with tick labels, axis labels and title.

        Text is placed so that no two labels overlap: x tick labels sit 17 px below the
        frame (clear of the lowest y tick label), the axis label 32 px below, the y axis
        label 50 px left of the frame (clear of tick labels up to 7 characters).
        """
        parts = [f"<rect{_attrs(class_='frame', x=_num(self.left), y=_num(self.top), width=_num(self.width), height=_num(self.height), fill='none', stroke='#888')}/>"]
        for v in self.y_ticks:
            y = self.py(v)
            parts.append(f"<line{_attrs(class_='grid', x1=_num(self.left), x2=_num(self.left + self.width), y1=_num(y), y2=_num(y), stroke='#eee')}/>")
            parts.append(_text(self.left - 4, y + 4, _tick_text(v), class_="tick", text_anchor="end"))
        for v in self.x_ticks:
            x = self.px(v)
            parts.append(f"<line{_attrs(class_='grid', x1=_num(x), x2=_num(x), y1=_num(self.top), y2=_num(self.bottom), stroke='#eee')}/>")
            if xticks:
                parts.append(_text(x, self.bottom + 17, _tick_text(v), class_="tick", text_anchor="middle"))
        if title:
            parts.append(_text(self.left, self.top - 6, title, class_="title", font_weight="bold"))
        if xlabel:
            parts.append(_text(self.left + self.width / 2, self.bottom + 32, xlabel, class_="xlabel", text_anchor="middle"))
        if ylabel:
            cx, cy = self.left - 50, self.top + self.height / 2
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

    def legend(self, items: Sequence[Tuple[str, str]], series: Sequence[Tuple[Sequence[float], Sequence[float]]] = ()) -> str:
        """A legend of ``(label, color)`` inside this plot area, on a white box in the corner
        (top right, top left, bottom right, bottom left: the first covering fewest points of
        ``series``, ``(xs, ys)`` in data units)."""
        w = legend_width(items) + 2 * LEGEND_PAD
        h = LEGEND_HEIGHT
        right, bottom = self.left + self.width - LEGEND_INSET - w, self.bottom - LEGEND_INSET - h
        top, left = self.top + LEGEND_INSET, self.left + LEGEND_INSET
        corners = [(right, top), (left, top), (right, bottom), (left, bottom)]
        pixels = [(self.px(x), self.py(y)) for xs, ys in series for x, y in zip(xs, ys)]

        def covered(corner: Tuple[float, float]) -> int:
            x0, y0 = corner
            return sum(1 for px, py in pixels if x0 <= px <= x0 + w and y0 <= py <= y0 + h)

        x0, y0 = min(corners, key=covered)
        box = f"<rect{_attrs(class_='legend-box', x=_num(x0), y=_num(y0), width=_num(w), height=h, fill='white', fill_opacity=0.85, stroke='#ccc')}/>"
        return legend(items, x0 + LEGEND_PAD, y0 + h / 2 + 4, box=box)


LEGEND_CHAR_W = 7  # px per character of an 11 px label (wide enough for sans-serif capitals)
LEGEND_PAD, LEGEND_HEIGHT, LEGEND_INSET = 6, 20, 6  # px


def legend_width(items: Sequence[Tuple[str, str]]) -> float:
    """Pixel width of :func:`legend`'s row of ``items``."""
    return sum(16 + LEGEND_CHAR_W * len(label) for label, _ in items) + 12 * (len(items) - 1)


def legend(items: Sequence[Tuple[str, str]], x: float, y: float, box: str = "") -> str:
    """A one-row legend of ``(label, color)`` swatches starting at pixel ``(x, y)`` (the text baseline),
    drawn over ``box`` (an element behind it, e.g. :meth:`Axes.legend`'s white box)."""
    parts = [box] if box else []
    for label, color in items:
        parts.append(f"<rect{_attrs(x=_num(x), y=_num(y - 8), width=12, height=8, fill=color)}/>")
        parts.append(_text(x + 16, y, label))
        x += 28 + LEGEND_CHAR_W * len(label)
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
    parts = [legend([("accepted shot", COLORS["accepted"]), ("rejected rising edge", COLORS["rejected"])], MARGIN_LEFT, 18)]
    parts.append(_text(width - MARGIN_RIGHT, 18, f"{n} samples, {len(accepted)} accepted, {len(rejected)} rejected", text_anchor="end", class_="summary"))
    for k, (name, col, ax) in enumerate(panels):
        last = k == len(panels) - 1
        parts += ax.frame(ylabel=name, xlabel="time (s)" if last else "", xticks=last)
        if n:
            px, py = decimate_minmax(xs, col, plot_w, ax.x_range)
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
    parts.append(ax.legend([(c, COLORS[c]) for c in CHANNELS], [(xs, col[i0:i1]) for col in log.channels]))
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
    items, drawn = [], []
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
        drawn.append((x_ms, probs))
    parts.append(prob.vline(0, cls="marker trigger", series="trigger", color="#000"))
    if items:
        parts.append(prob.legend(items, drawn))
    if log is not None:
        t0 = trace["t0"]
        ts = log.timestamp_ms
        i0 = bisect_left(ts, t0 + prob.x_range[0])
        i1 = bisect_right(ts, t0 + prob.x_range[1])
        imu = Axes(MARGIN_LEFT, prob.bottom + 25, plot_w, height - 120 - top_h, prob.x_range, data_range(log.channels[c][i0:i1] for c in range(6)))
        parts.append(imu.band(*PRESHOT_MS, cls="band preshot", color=COLORS["band"]))
        parts += imu.frame(xlabel="ms from trigger", ylabel="raw IMU")
        xs = [t - t0 for t in ts[i0:i1]]
        parts += _imu_series(imu, xs, log, i0, i1, int(plot_w))
        parts.append(imu.vline(0, cls="marker trigger", series="trigger", color="#000"))
        parts.append(imu.legend([(c, COLORS[c]) for c in CHANNELS], [(xs, col[i0:i1]) for col in log.channels]))
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
    bars = [((k + 0.5) / bins, c * f) for name in ("pos", "neg") for k, c in enumerate(counts[name]) for f in (0.25, 0.5, 0.75, 1)]
    parts.append(ax.legend([(f"positive (n={len(p_pos)})", COLORS["pos"]), (f"negative (n={len(p_neg)})", COLORS["neg"])],
                           [([x for x, _ in bars], [c for _, c in bars])]))
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
