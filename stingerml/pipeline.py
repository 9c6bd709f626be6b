"""The browser trainer's whole flow in one call (SPEC §1–9, §11).

``train(log)`` parses nothing itself: give it a :class:`~stingerml.log.Log`
(or bytes / a path). It builds the dataset, featurizes, runs the held-out
check, trains the final LR and MLP, packs both MLMD files and computes the
per-shot traces, reporting progress through an optional callback.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Union

from . import mlmd
from ._atomic import write_bytes_atomic
from .dataset import Dataset, DatasetParams, build_dataset
from .errors import DatasetError, TrainingError
from .features import featurize_rich, featurize_summary
from .holdout import holdout_metrics
from .log import Log, parse_log
from .logreg import LogisticRegression
from .mlp import MLP
from .rng import js_round
from .scaler import Scaler
from .traces import pick_traces, shot_traces

LR_FILE = "ml_model_lr.bin"
MLP_FILE = "ml_model_mlp.bin"
REPORT_FILE = "report.json"
FINAL_MLP_ITERATIONS = 600


@dataclass
class Progress:
    """One progress report: ``stage`` (``parse``, ``dataset``, ``features``, ``holdout``,
    ``lr``, ``mlp``, ``build``, ``traces``, ``done``), a human ``message`` (the browser's
    log line when it has one) and, inside long stages, ``done``/``total`` iterations."""

    stage: str
    message: str
    done: int = 0
    total: int = 0


ProgressCallback = Callable[[Progress], None]


@dataclass
class TrainResult:
    """Everything the browser trainer produces for one log.

    ``summary`` and ``metrics`` use the browser's keys (``samples``, ``durationMs``,
    ``shotsAll``, ...; ``split``, ``lr``, ``mlp`` with ``cm``, ``precision``, ...).
    ``metrics`` is None when a class has fewer than 2 rows.
    """

    lr_blob: bytes
    mlp_blob: bytes
    lr_model: mlmd.LRModel
    mlp_model: mlmd.MLPModel
    summary: Dict[str, Any]
    warnings: List[str]
    metrics: Optional[Dict[str, Any]]
    lr_loss_history: List[Dict[str, float]]
    mlp_loss_history: List[Dict[str, float]]
    shot_traces: List[Dict[str, Any]]
    dataset: Dataset
    log_lines: List[str] = field(default_factory=list)

    def report(self) -> Dict[str, Any]:
        """The ``report.json`` content."""
        return {
            "summary": self.summary,
            "warnings": self.warnings,
            "metrics": self.metrics,
            "lr_loss_history": self.lr_loss_history,
            "mlp_loss_history": self.mlp_loss_history,
            "shot_traces": self.shot_traces,
        }

    def save(self, out_dir: Union[str, "os.PathLike[str]"]) -> Dict[str, Path]:
        """Write ``ml_model_lr.bin``, ``ml_model_mlp.bin`` and ``report.json`` into ``out_dir``
        (created if needed), each atomically; returns their paths."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        files = {
            LR_FILE: self.lr_blob,
            MLP_FILE: self.mlp_blob,
            REPORT_FILE: (json.dumps(self.report(), indent=1) + "\n").encode("utf-8"),
        }
        for name, data in files.items():
            write_bytes_atomic(out / name, data)
        return {name: out / name for name in files}


def dataset_warnings(log: Log, ds: Dataset) -> List[str]:
    """The browser's warnings about the recording and the dataset (SPEC §11)."""
    out = list(log.warnings)
    duration_s = log.duration_ms / 1000
    if duration_s < 120:
        out.append(f"Short recording ({js_round(duration_s)}s). Aim for 5+ minutes for best results.")
    if len(ds.accepted) < 8:
        out.append(f"Few shots ({len(ds.accepted)}). 15+ shots with varied aim directions gives better generalisation.")
    if len(ds) < 30:
        out.append(f"Small dataset ({len(ds)} windows). Record more shots for a reliable model.")
    if ds.neg_count < 0.6 * ds.pos_count:
        out.append(
            f"Few negative windows ({ds.neg_count} vs {ds.pos_count} positive). "
            "Record more time between shots (moving without firing)."
        )
    if abs(ds.dt_est_ms - 10) > 2:
        out.append(
            f"Sample interval is about {ds.dt_est_ms:.1f} ms, not 10 ms: the device may not be logging at 100 Hz, "
            "so 50-sample windows do not span 500 ms."
        )
    return out


def _check_finite(name: str, values) -> None:
    if not all(map(math.isfinite, values)):
        raise TrainingError(
            f"{name} training produced non-finite weights; the data may hold extreme values. "
            "Check the log (stingerml plot) and record again."
        )


def train(
    data: Union[Log, bytes, bytearray, memoryview, str, "os.PathLike[str]"],
    *,
    params: DatasetParams = DatasetParams(),
    progress: Optional[ProgressCallback] = None,
) -> TrainResult:
    """Run the browser trainer's pipeline on one session.

    Raises:
        DatasetError: fewer than 2 accepted shots, or no positive or no negative windows.
        TrainingError: a model ended with non-finite weights.
    """
    lines: List[str] = []

    def say(stage: str, message: str) -> None:
        lines.append(message)
        if progress is not None:
            progress(Progress(stage, message))

    def iterations(stage: str, label: str) -> Callable[[int, int], None]:
        def report(t: int, total: int) -> None:
            if progress is not None and (t % 20 == 0 or t == total):
                progress(Progress(stage, f"{label} {t}/{total}", t, total))
        return report

    if isinstance(data, Log):
        log = data
    else:
        say("parse", "Parsing binary log...")
        log = parse_log(data)
    n = len(log)
    say("parse", f"Parsed {n} samples ({n / 100:.1f}s at 100Hz)")
    say("dataset", "Detecting shots...")
    ds = build_dataset(log, params)
    say("dataset", f"Shots: {len(ds.edges)} total, {len(ds.accepted)} accepted")
    if len(ds.accepted) < 2:
        raise DatasetError(
            f"{log.source}: {len(ds.accepted)} accepted shot(s) (of {len(ds.edges)} trigger pulls); "
            "at least 2 are needed. Record a session with more shots, at least 1 s apart."
        )
    say("dataset", "Extracting training windows...")
    if ds.pos_count == 0:
        raise DatasetError(
            f"{log.source}: no positive windows: every accepted shot is too close to the start of the log "
            f"(a window needs {ds.window_samples + ds.lead_samples} samples before the trigger)."
        )
    if ds.neg_count == 0:
        raise DatasetError(
            f"{log.source}: no negative windows: no {ds.window_samples}-sample stretch lies far enough from "
            f"every trigger pull ({params.lead_ms + params.window_ms:g} ms before to {params.neg_avoid_post_ms:g} ms after). "
            "Record some time moving without firing."
        )
    say("dataset", f"Dataset: {len(ds.accepted)} shots \u2192 {ds.pos_count} positive (augmented), "
        f"{ds.neg_count} negative windows ({ds.window_samples} samples each)")
    warnings = dataset_warnings(log, ds)
    for w in warnings:
        say("dataset", f"WARNING: {w}")
    summary = {
        "samples": n, "durationMs": log.duration_ms, "shotsAll": len(ds.edges),
        "shotsAccepted": len(ds.accepted), "posWindows": ds.pos_count, "negWindows": ds.neg_count,
        "rawPosCount": ds.raw_pos_count,
    }

    say("features", "Featurizing...")
    rows = len(ds)
    fs = featurize_summary(ds.windows, rows)
    fr = featurize_rich(ds.windows, rows)

    say("holdout", "Evaluating (held-out split)...")
    metrics = holdout_metrics(fs, fr, ds.labels, progress=iterations("holdout", "held-out MLP iteration"))
    if metrics is not None:
        for key, name in (("lr", "LR"), ("mlp", "MLP")):
            m = metrics[key]
            say("holdout", f"{name} metrics (test): P={m['precision'] * 100:.1f} R={m['recall'] * 100:.1f} F1={m['f1'] * 100:.1f}")

    say("lr", "Training LogReg (final, all data)...")
    lr_scaler = Scaler().fit(fs, rows, 18)
    lr = LogisticRegression().fit(lr_scaler.transform(fs, rows), ds.labels, 18)
    _check_finite("LR", list(lr.coef_) + [lr.intercept_])
    say("mlp", "Training MLP (final, all data)...")
    mlp_scaler = Scaler().fit(fr, rows, 30)
    mlp = MLP(max_iter=FINAL_MLP_ITERATIONS, record_loss=True).fit(
        mlp_scaler.transform(fr, rows), ds.labels, 30, progress=iterations("mlp", "MLP iteration")
    )
    _check_finite("MLP", [*mlp.W1_, *mlp.b1_, *mlp.W2_, *mlp.b2_, *mlp.W3_, mlp.b3_])

    say("build", "Building MLMD binaries...")
    lr_model = mlmd.LRModel(lr_scaler.mean_, lr_scaler.scale_, lr.coef_, lr.intercept_)
    mlp_model = mlp.to_model(mlp_scaler.mean_, mlp_scaler.scale_)
    lr_blob, mlp_blob = mlmd.build(lr_model), mlmd.build(mlp_model)
    say("build", "LR features: 18, MLP features: 30")
    say("build", f"LR model: {len(lr_blob)} bytes, CRC={mlmd.crc32(lr_blob):08x}")
    say("build", f"MLP model: {len(mlp_blob)} bytes, CRC={mlmd.crc32(mlp_blob):08x}")

    say("traces", "Computing per-shot predictions...")
    traces = pick_traces(shot_traces(log, ds.accepted, lr_model, mlp_model, ds.lead_samples, ds.window_samples))
    say("done", f"Generated {len(traces)} shot plots")
    return TrainResult(
        lr_blob=lr_blob, mlp_blob=mlp_blob, lr_model=lr_model, mlp_model=mlp_model,
        summary=summary, warnings=warnings, metrics=metrics,
        lr_loss_history=lr.loss_history_, mlp_loss_history=mlp.loss_history_,
        shot_traces=traces, dataset=ds, log_lines=lines,
    )
