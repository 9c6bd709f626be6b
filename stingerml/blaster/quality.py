"""The app's data-quality score, shown after training (SPEC §14).

From a training summary (browser keys): ``raw = rawPosCount`` (else
``shotsAccepted``), ``rec = durationMs / 1000`` (seconds);

- shots: ``min(100, round(raw / 100 * 100))`` — 100 raw shots score 100;
- duration: ``min(100, round(rec / 300 * 100))`` — 300 s score 100;
- negatives: ``min(100, round(min(negWindows / max(1, posWindows), 1) * 100))`` — 1:1 scores 100;
- overall: ``round((shots + duration + negatives) / 3)``;

every ``round`` being JS ``Math.round`` (half up). Tier "Good" when overall
>= 70, "Fair" when >= 40, else "Needs more data". Each component has the
app's tip, e.g. "29 shots (aim for 100+)".
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Dict, Mapping, Optional

from ..core.rng import js_round


def _fixed(x: float, digits: int) -> str:
    """JS ``x.toFixed(digits)``: the exact binary value rounded to ``digits`` decimals, ties away from zero."""
    return str(Decimal(float(x)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


def tier(overall: int) -> str:
    """``"Good"`` (>= 70), ``"Fair"`` (>= 40) or ``"Needs more data"``."""
    return "Good" if overall >= 70 else "Fair" if overall >= 40 else "Needs more data"


def data_quality(summary: Mapping[str, Any]) -> Optional[Dict[str, Any]]:
    """The app's score of a summary: ``overall`` (0..100), ``tier``, and per component
    (``shots``, ``duration``, ``negatives``) its ``score`` and ``tip``.

    Returns None when the summary has no ``durationMs`` (a training folder
    exported without its ``summary.json``): the app's formula needs the duration.
    """
    duration_ms = summary.get("durationMs")
    if duration_ms is None:
        return None
    raw = summary.get("rawPosCount")
    if raw is None:
        raw = summary["shotsAccepted"]
    rec = duration_ms / 1000
    pos, neg = summary["posWindows"], summary["negWindows"]
    ratio = neg / max(1, pos)
    shots = min(100, js_round(raw / 100 * 100))
    time = min(100, js_round(rec / 300 * 100))
    negatives = min(100, js_round(min(ratio, 1) * 100))
    overall = js_round((shots + time + negatives) / 3)
    return {
        "overall": overall,
        "tier": tier(overall),
        "shots": {"score": shots, "tip": f"{raw} shots (aim for 100+)"},
        "duration": {"score": time, "tip": f"{_fixed(rec, 0)}s (aim for 5+ min)"},
        "negatives": {"score": negatives, "tip": f"{_fixed(ratio, 1)}:1 neg/pos ratio (aim for 1:1+)"},
    }
