"""``report.html``: the training report a person opens instead of reading ``report.json``.

One self-contained HTML file (inline CSS and SVG; no script, no font, no
network) that prints well on white paper. It shows what the web app shows after
training (SPEC §14): the data-quality score, the summary and warnings, the
held-out metrics of both models with a one-line reading of precision and
recall, the LR and MLP loss curves, and the kept per-shot traces (both models'
probabilities over the IMU, the pre-shot band shaded). The charts are drawn
with :mod:`stingerml.blaster.plots`.

Sections have ids ``quality``, ``summary``, ``metrics``, ``loss``, ``traces``;
charts are ``<svg>`` elements inside ``<figure class="chart" data-chart=...>``.
"""
from __future__ import annotations

import math
from html import escape
from typing import Any, List, Mapping, Optional, Sequence

from ..core.constants import REPORT_HTML_FILE
from ..core.jsonfile import Nullable
from .log import Log
from .plots import COLORS, MARGIN_LEFT, MARGIN_RIGHT, Axes, data_range, shot_trace, svg_document

REPORT_HTML = REPORT_HTML_FILE  # the page's file name (stingerml.core.constants)

CHART_MIN_WIDTH = 560  # px: no chart is drawn narrower when the window leaves room for it
LOSS_WIDTH = CHART_MIN_WIDTH  # px, a loss chart's own size: two side by side from ~1180 px, else one per row
TRACE_WIDTH = 1000  # px, a shot chart's own size (shown at the page width, up to 1200 px)

CSS = f"""
body {{ font-family: sans-serif; color: #111; background: #fff; margin: 24px auto; padding: 0 16px; max-width: 1200px; line-height: 1.4; }}
h1 {{ font-size: 22px; margin-bottom: 4px; }} h2 {{ font-size: 17px; border-bottom: 1px solid #ccc; margin-top: 28px; }}
.meta {{ color: #555; font-size: 13px; }}
table {{ border-collapse: collapse; font-size: 14px; margin: 8px 0; }}
th, td {{ border: 1px solid #ccc; padding: 3px 8px; text-align: right; }} th:first-child, td:first-child {{ text-align: left; }}
.score {{ font-size: 30px; font-weight: bold; }} .tier {{ font-size: 18px; margin-left: 8px; }}
.bar {{ display: inline-block; width: 160px; height: 10px; border: 1px solid #888; vertical-align: middle; margin-right: 8px; }}
.bar span {{ display: block; height: 100%; background: #4a7; }}
.tier-Fair .bar span {{ background: #da3; }} .tier-Needs .bar span {{ background: #c44; }}
ul.warnings li {{ color: #8a4b00; }} .explain {{ font-size: 13px; color: #333; }}
.charts {{ display: flex; flex-wrap: wrap; gap: 16px; }}
figure.chart {{ margin: 12px 0; page-break-inside: avoid; break-inside: avoid; }}
figure.chart svg {{ display: block; width: 100%; height: auto; }}
figure.chart[data-chart="loss"] {{ flex: 1 1 {CHART_MIN_WIDTH}px; margin: 0; }}
h3 {{ font-size: 15px; }}
@media print {{ body {{ margin: 0; padding: 0; max-width: none; }} h2 {{ page-break-after: avoid; break-after: avoid; }} }}
"""

SESSIONS_SPAN = "timestamp span (s, each session's last minus first timestamp, summed)"
SUMMARY_LABELS = (
    ("samples", "samples"), ("durationMs", "timestamp span (s, last minus first timestamp)"), ("shotsAll", "rising edges (trigger 0\u21921)"),
    ("shotsAccepted", "accepted shots (1 s apart)"), ("rawPosCount", "positive windows before augmentation (one per accepted shot that fits)"),
    ("posWindows", "positive windows (augmented: each also shifted by a few samples)"),
    ("negWindows", "negative windows (drawn away from every trigger edge)"), ("rows", "rows"),
    ("trainDir", "training folder"), ("windowSamples", "samples per window"),
)

EXPLAIN = (
    "Precision: of the moments a model calls \u201ca shot is about to happen\u201d, the share that really came "
    "just before a shot (low precision = false alarms). Recall: of the real pre-shot moments, the share the model "
    "caught (low recall = missed shots). Both on held-out windows the model did not train on, at threshold 0.5. "
    "F1: the harmonic mean of precision and recall; accuracy: the share of held-out windows called right; best "
    "threshold and best F1: the threshold (0.00 to 1.00 in steps of 0.01, the lowest on a tie) with the highest F1, "
    "and that F1; train loss and test loss: mean binary cross-entropy on the training and the held-out windows; "
    "TP / FP / TN / FN: held-out windows called positive rightly / wrongly, negative rightly / wrongly. "
    "The check models are fitted on the other windows (LR 1500, MLP 220 iterations, the app's check); the model "
    "files are then trained on all windows."
)
QUALITY_EXPLAIN = (
    "The app's score: the mean of three parts, each 0 to 100: shots (100 shots score 100, counted as the positive "
    "windows before augmentation), duration (a timestamp span of 300 s scores 100) and negatives (as many negative windows as "
    "positive score 100). Good from 70, Fair from 40, else Needs more data. A tip shows while a part is below 100."
)
LOSS_EXPLAIN = (
    "The model files' mean training loss (binary cross-entropy; lower is better) against iteration: the LR's "
    "every 100 iterations, the MLP's every {every} (a point is one record). A curve that flattens has finished "
    "learning."
)
TRACES_EXPLAIN = (
    "Up to two shots the models recognised best (the app's pick). Top: the probability of both models for every "
    "sample from 1 s before to 0.2 s after the trigger edge (black line, 0 ms); the shaded band is the pre-shot "
    "window the models learn ([-600, -100] ms), the dashed line the 0.5 threshold. Below: the raw IMU readings "
    "(sensor counts) of the same samples."
)


_NUMBER = float  # finite (core.jsonfile.check)
_STRINGS = [str]
_MODEL_METRICS = {"cm": {"tp": object, "fp": object, "tn": object, "fn": object},
                  **{k: object for k in ("precision", "recall", "f1", "acc", "bestThreshold", "bestF1", "trainLoss",
                                         "valLoss")}}
REPORT_SCHEMA = {
    "summary": {"durationMs?": Nullable(_NUMBER), "sessions?": Nullable([{
        "name": str, "durationMs": _NUMBER, **{k: object for k in ("samples", "shotsAccepted", "posWindows", "negWindows")}}])},
    "import?": Nullable({"files": _STRINGS, "skipped": _STRINGS, "samples?": Nullable([object]),
                         "spansMs?": Nullable([_NUMBER])}),
    "warnings?": Nullable(_STRINGS),
    "settings?": Nullable(dict),
    "logs?": Nullable(_STRINGS),
    "lr_loss_history?": Nullable([{"iter": _NUMBER, "loss": _NUMBER}]),
    "mlp_loss_history?": Nullable([{"iter": _NUMBER, "loss": _NUMBER}]),
    "quality?": Nullable({"tier": str, "overall": object,
                          **{k: {"score": _NUMBER, "tip": str} for k in ("shots", "duration", "negatives")}}),
    "metrics?": Nullable({"lr": _MODEL_METRICS, "mlp": _MODEL_METRICS, "split?": dict}),
    "shot_traces?": Nullable([{"x_ms": [_NUMBER], "t0": _NUMBER, "trigger_index": object, "session?": str,
                               "p_lr?": Nullable([_NUMBER]), "p_mlp?": Nullable([_NUMBER])}]),
}
"""What :func:`render` and ``stingerml report`` read of a ``report.json`` (:func:`stingerml.core.jsonfile.check`)."""


NOT_A_NUMBER = "n/a"
NOT_A_NUMBER_EXPLAIN = (" n/a: not a number (report.json holds null): the check model's probabilities were not finite, "
                        "which a few windows with constant features can cause; record more shots.")


def _is_number(v: Any) -> bool:
    return not (v is None or (isinstance(v, float) and not math.isfinite(v)))


def _fmt(v: Any) -> str:
    if not _is_number(v):  # NaN in memory, null in report.json
        return NOT_A_NUMBER
    if isinstance(v, float):
        return f"{v:.3f}"
    return escape(str(v))


def loss_chart(history: Sequence[Mapping[str, float]], name: str, *, width: int = LOSS_WIDTH, height: int = 280) -> str:
    """Mean training loss (BCE) against iteration, one polyline ``data-series=name`` (``width`` × ``height`` px)."""
    xs = [h["iter"] for h in history]
    ys = [h["loss"] for h in history]
    x_range = (min(xs), max(xs)) if len(xs) > 1 and max(xs) > min(xs) else (0.0, 1.0)
    ax = Axes(MARGIN_LEFT, 30, width - MARGIN_LEFT - MARGIN_RIGHT, height - 75, x_range, data_range([ys]))
    title = f"{name.upper()} training loss"
    parts = ax.frame(title=title, xlabel="iteration", ylabel="loss (BCE)")
    if xs:
        parts.append(ax.polyline(xs, ys, series=name, color=COLORS[name], stroke_width=1.5, id=f"loss-{name}"))
    else:
        parts.append(ax.note("no loss recorded"))
    parts.append(ax.legend([(f"{name.upper()}, {len(xs)} points", COLORS[name])], [(xs, ys)]))
    return svg_document(width, height, parts, title=title)


def _figure(kind: str, svg: str) -> str:
    body = svg[svg.index("<svg"):]  # inline: the document is the <svg> element itself
    return f'<figure class="chart" data-chart="{kind}">{body}</figure>'


def _quality(q: Optional[Mapping[str, Any]]) -> str:
    if q is None:
        return "<p>Not available: the summary has no recording duration.</p>"
    rows = []
    for key, label in (("shots", "Shots"), ("duration", "Duration"), ("negatives", "Negatives")):
        c = q[key]
        rows.append(f'<tr data-component="{key}"><td>{label}</td><td><span class="bar"><span style="width:{max(0, c["score"])}%">'
                    f'</span></span>{c["score"]}</td><td>{escape(c["tip"]) if c["score"] < 100 else ""}</td></tr>')  # full: no tip
    tier_cls = (q["tier"].split() or [""])[0]
    return (f'<div class="tier-{tier_cls}"><p><span class="score">{q["overall"]}/100</span>'
            f'<span class="tier">{escape(q["tier"])}</span></p>'
            f'<table><tr><th>component</th><th>score</th><th>tip</th></tr>{"".join(rows)}</table></div>'
            f'<p class="explain">{escape(QUALITY_EXPLAIN)}</p>')


def _seconds(ms: float) -> str:
    """Milliseconds as seconds with 3 decimals (the summary's unit)."""
    return f"{ms / 1000:.3f}"


def _imported(imported: Mapping[str, Any], span_ms: Optional[float]) -> str:
    """What ``--concat`` joined and skipped, and why the joined span is not the files' time."""
    files, samples, spans = imported["files"], imported.get("samples"), imported.get("spansMs")
    if samples is not None and spans is not None:
        joined = ", ".join(f"{escape(f)} ({n} samples, {_seconds(ms)} s)" for f, n, ms in zip(files, samples, spans))
    else:  # a report.json written before the per-file numbers were kept
        joined = escape(", ".join(files))
    out = f"<p>Joined as one log, in this order (<code>--concat</code>, the app's import): {joined}."
    if imported["skipped"]:
        out += (f" Skipped: {escape(', '.join(imported['skipped']))} (a size that is not a whole number of "
                "17-byte samples).")
    if spans is not None and span_ms is not None and len(files) > 1:
        out += (f" Each file's timestamps come from its own clock (they start again in the next file), so the "
                f"joined log's timestamp span above "
                f"({_seconds(span_ms)} s, its last minus first timestamp, which the data-quality score counts) is "
                f"not the time recorded: the files span {_seconds(sum(spans))} s together (each its last minus "
                "first timestamp).")
    return out + "</p>"


def _summary(report: Mapping[str, Any]) -> str:
    s = report.get("summary") or {}
    shown = {**s, "durationMs": s["durationMs"] / 1000 if s.get("durationMs") is not None else None}  # seconds
    labels = dict(SUMMARY_LABELS, **({"durationMs": SESSIONS_SPAN} if s.get("sessions") else {}))
    rows = [f"<tr><td>{escape(labels[key])}</td><td>{_fmt(shown[key])}</td></tr>" for key, _ in SUMMARY_LABELS
            if shown.get(key) is not None]
    out = f"<table>{''.join(rows)}</table>"
    sessions = s.get("sessions")
    if sessions:
        head = "".join(f"<th>{h}</th>" for h in ("session", "samples", "timestamp span (s)", "accepted shots",
                                                   "positive windows", "negative windows"))
        body = "".join(f"<tr><td>{escape(x['name'])}</td><td>{x['samples']}</td><td>{_seconds(x['durationMs'])}</td>"
                       f"<td>{x['shotsAccepted']}</td><td>{x['posWindows']}</td><td>{x['negWindows']}</td></tr>"
                       for x in sessions)
        out += f"<table><tr>{head}</tr>{body}</table>"
    imported = report.get("import")
    if imported:
        out += _imported(imported, s.get("durationMs"))
    warnings = report.get("warnings") or []
    out += "<h3>Warnings</h3>"
    out += ("<ul class=\"warnings\">" + "".join(f"<li>{escape(w)}</li>" for w in warnings) + "</ul>") if warnings else "<p>None.</p>"
    return out


def _metrics(metrics: Optional[Mapping[str, Any]]) -> str:
    if not metrics:
        return "<p>No held-out check: each class needs at least 2 windows.</p>"
    cols = (("precision", "precision"), ("recall", "recall"), ("f1", "F1"), ("acc", "accuracy"),
            ("bestThreshold", "best threshold"), ("bestF1", "best F1"), ("trainLoss", "train loss"), ("valLoss", "test loss"))
    head = "<tr><th>model</th>" + "".join(f"<th>{h}</th>" for _, h in cols) + "<th>TP / FP / TN / FN</th></tr>"
    rows = []
    for key in ("lr", "mlp"):
        m = metrics[key]
        cm = m["cm"]
        rows.append(f'<tr data-model="{key}"><td>{key.upper()}</td>' + "".join(f"<td>{_fmt(m[k])}</td>" for k, _ in cols)
                    + f"<td>{cm['tp']} / {cm['fp']} / {cm['tn']} / {cm['fn']}</td></tr>")
    split = metrics.get("split") or {}
    where = ""
    if all(k in split for k in ("testN", "posTest", "negTest", "trainN")):
        where = (f" Held out: {split['testN']} windows ({split['posTest']} positive, {split['negTest']} negative); "
                 f"trained on {split['trainN']}.")
    if not all(_is_number(metrics[key][k]) for key in ("lr", "mlp") for k, _ in cols):
        where += NOT_A_NUMBER_EXPLAIN
    return f"<table>{head}{''.join(rows)}</table><p class=\"explain\">{escape(EXPLAIN + where)}</p>"


def _traces(traces: Sequence[Mapping[str, Any]], logs: Mapping[str, Log]) -> str:
    if not traces:
        return "<p>No per-shot trace was kept (none rose clearly before its shot, or there is no log).</p>"
    out = []
    missing = False
    for t in traces:
        log = logs.get(t.get("session", ""))
        missing = missing or log is None
        out.append(_figure("trace", shot_trace(dict(t), log, width=TRACE_WIDTH, height=480 if log is not None else 300)))
    note = "<p>The log was not found, so the IMU panels are left out.</p>" if missing else ""
    return note + f"<p class=\"explain\">{escape(TRACES_EXPLAIN)}</p>" + "".join(out)


def render(report: Mapping[str, Any], logs: Optional[Mapping[str, Log]] = None, title: str = "stingerml training report") -> str:
    """The HTML page of a ``report.json`` dict.

    Args:
        report: :meth:`stingerml.blaster.trainer.TrainResult.report`'s content.
        logs: the trained log per trace ``session`` name (``""`` for one log);
            traces whose log is missing are drawn without the IMU panel.
    """
    logs = logs or {}
    settings = report.get("settings") or {}
    meta = ""
    if settings:
        meta = (f"Settings: {escape(str(settings.get('preset')))} (MLP {settings.get('mlpIterations')} iterations, "
                f"loss every {settings.get('mlpLossEvery')}; LR {settings.get('lrIterations')} iterations)")
    sources = report.get("logs") or []
    if sources:
        meta += f"<br>Log{'s' if len(sources) > 1 else ''}: {escape(', '.join(sources))}"
    charts = "".join(_figure("loss", loss_chart(report.get(f"{k}_loss_history") or [], k)) for k in ("lr", "mlp"))
    explain = LOSS_EXPLAIN.format(every=settings.get("mlpLossEvery", "few"))
    loss = f'<p class="explain">{escape(explain)}</p><div class="charts">{charts}</div>'
    sections = [
        ("quality", "Data quality", _quality(report.get("quality"))),
        ("summary", "Summary and warnings", _summary(report)),
        ("metrics", "Held-out metrics", _metrics(report.get("metrics"))),
        ("loss", "Training loss", loss),
        ("traces", "Per-shot predictions", _traces(report.get("shot_traces") or [], logs)),
    ]
    body = "".join(f'<section id="{sid}"><h2>{name}</h2>{html}</section>' for sid, name, html in sections)
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{escape(title)}</title>"
            f"<style>{CSS}</style></head><body><h1>{escape(title)}</h1><p class=\"meta\">{meta}</p>{body}</body></html>\n")


def svgs(html: str) -> List[str]:
    """Every inline ``<svg>…</svg>`` element of a page, as text (for checks)."""
    out, start = [], 0
    while True:
        i = html.find("<svg", start)
        if i < 0:
            return out
        j = html.index("</svg>", i) + len("</svg>")
        out.append(html[i:j])
        start = j
