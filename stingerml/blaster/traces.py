"""Per-shot prediction traces and the browser's pick of the shots worth plotting (SPEC §11).

For each accepted shot at time ``t0`` the final models score the window that
ends ``lead_samples`` before every sample from ``t0 - 1000`` to ``t0 + 200`` ms,
as the browser's per-shot plots do (no motion gate).
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import Any, Dict, List, Sequence

from .._kernels import kernels
from ..core.constants import RICH_FEATURES, SUMMARY_FEATURES
from ..formats.mlmd import LRModel, MLPModel
from ..learn.metrics import trace_score
from .dataset import interleave, windows_at
from .features import featurize_rich, featurize_summary
from .log import Log

PRE_MS = 1000
POST_MS = 200
MIN_POINTS = 52
KEEP = 2


def shot_traces(log: Log, accepted: Sequence[int], lr: LRModel, mlp: MLPModel, lead_samples: int, window_samples: int = 50) -> List[Dict[str, Any]]:
    """One trace per accepted shot with at least 52 samples in ``[t0-1000, t0+200]`` ms.

    Each trace: ``trigger_index`` (sample of the edge), ``t0`` (its timestamp, ms),
    ``x_ms`` (sample time minus ``t0``), ``p_lr``/``p_mlp`` (probabilities, 0 while
    fewer than 50 samples precede the window end), ``score_lr``/``score_mlp``.
    """
    ts, n = log.timestamp_ms, len(log)
    samples = interleave(log)
    k = kernels()
    traces = []
    for edge in accepted:
        t0 = ts[edge]
        i0 = max(0, bisect_left(ts, t0 - PRE_MS))
        i1 = min(n, bisect_right(ts, t0 + POST_MS))
        if i1 - i0 < MIN_POINTS:
            continue
        ends = [i - lead_samples for i in range(i0, i1)]
        starts = [e - window_samples for e in ends if e >= window_samples]
        m = len(starts)
        wins = windows_at(samples, starts, window_samples)
        fs = featurize_summary(wins, m)
        p_lr = k.logreg_predict_unscaled(fs, m, SUMMARY_FEATURES, lr.mean, lr.scale, lr.coef, lr.intercept)
        xr = k.scaler_transform(featurize_rich(wins, m), m, RICH_FEATURES, mlp.mean, mlp.scale)
        p_mlp = k.mlp_predict(xr, m, RICH_FEATURES, mlp.W1, mlp.b1, mlp.W2, mlp.b2, mlp.W3, mlp.b3)
        zeros = [0.0] * (len(ends) - m)
        x_ms = [ts[i] - t0 for i in range(i0, i1)]
        traces.append({
            "trigger_index": edge, "t0": t0, "x_ms": x_ms,
            "p_lr": zeros + p_lr, "p_mlp": zeros + p_mlp,
            "score_lr": trace_score(x_ms, zeros + p_lr), "score_mlp": trace_score(x_ms, zeros + p_mlp),
        })
    return traces


def pick_traces(traces: List[Dict[str, Any]], keep: int = KEEP) -> List[Dict[str, Any]]:
    """At most ``keep`` traces: first those whose min(LR, MLP) score is > 0, best first;
    then those whose max score is > 0, best first; no shot twice (stable sorts)."""
    both = sorted((t for t in traces if min(t["score_lr"], t["score_mlp"]) > 0),
                  key=lambda t: min(t["score_lr"], t["score_mlp"]), reverse=True)
    chosen = both[:keep]
    taken = {id(t) for t in chosen}
    either = sorted((t for t in traces if max(t["score_lr"], t["score_mlp"]) > 0 and id(t) not in taken),
                    key=lambda t: max(t["score_lr"], t["score_mlp"]), reverse=True)
    return chosen + either[: keep - len(chosen)]
