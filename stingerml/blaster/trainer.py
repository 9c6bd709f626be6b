"""The browser trainer's whole flow in one call (SPEC §1–9, §11), for one log or many.

Three entry points run one flow, :func:`_run`: their *source* (one log, several
sessions or a training folder) yields labelled rows with a summary, warnings
and optionally per-shot traces; the flow reports the warnings, fits (the core,
:func:`fit_windows`: featurize, held-out check, final LR and MLP, MLMD files),
computes the traces and returns one :class:`TrainResult`, with one
:class:`~stingerml.core.progress.Reporter` for the whole run:

- :func:`train` on one log (a :class:`~stingerml.blaster.log.Log`, bytes or a path) is
  the browser trainer, byte for byte: dataset, features, held-out check, models,
  per-shot traces, the browser's summary, warnings and log lines. Given a list
  or tuple of logs it calls :func:`train_sessions`.
- :func:`train_sessions` trains one model from several sessions: each session
  gets its own browser dataset, the rows are concatenated in session order
  (:mod:`stingerml.blaster.sessions`) and the held-out check runs on all rows.
- :func:`train_folder` trains from a training folder written by
  ``stingerml export`` (:mod:`stingerml.blaster.trainfolder`); there is no log, so no
  per-shot traces.

With ``concat``, :func:`train` joins several logs into one first, as the
published app's import button does (:mod:`stingerml.blaster.app_import`): one more
source. Every entry point takes ``settings``
(:class:`~stingerml.blaster.settings.TrainSettings`: the final models' iterations and
the MLP loss cadence); the default is the published app's (700 MLP
iterations, loss every 8), ``stingerml.blaster.settings.TRAIN_PIPELINE`` the browser
trainer's own defaults (600, every 16). ``report.json`` records them.

Each entry point takes ``jobs=`` (local processes) or ``executor=`` (any
:class:`concurrent.futures.Executor`, e.g. a Dask cluster's): the per-log
stages (parsing, the browser dataset, features) then run as independent tasks
(:mod:`.tasks`) and the fit stays here; the result is the same bytes.
"""
from __future__ import annotations

import json
import math
import os
import warnings as _warnings
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Union

from .._kernels import prestart_helper
from ..core.atomic import write_set_to_folder
from ..core.constants import (
    LR_FILE,
    MLP_FILE,
    REPORT_FILE,
    REPORT_HTML_FILE,
    RICH_FEATURES,
    SUMMARY_FEATURES,
    WINDOW_SAMPLES,
)
from ..core.jsonfile import finite
from ..core.errors import DatasetError, OutputError, StingerWarning, TrainingError  # noqa: F401 (OutputError: raised by save)
from ..core.matrix import Matrix
from ..core.progress import Progress, ProgressCallback, Reporter
from ..core.rng import js_round
from ..formats import mlmd
from ..learn.executors import check_jobs, parallel
from ..learn.scaler import Scaler
from .app_import import ImportedLogs, import_logs
from .dataset import Dataset, DatasetParams, build_dataset
from .features import featurize_rich, featurize_summary
from .holdout import holdout_metrics
from .log import Log
from .logreg import LogisticRegression
from .mlp import MLP
from .quality import data_quality
from .sessions import SessionsDataset, build_sessions
from .settings import APP, TrainSettings
from .tasks import Features, features_in_tasks, load_log, sessions_in_tasks
from .traces import pick_traces, shot_traces
from .trainfolder import TrainFolder
from .trainfolder import read as read_folder

OUTPUT_FILES = (LR_FILE, MLP_FILE, REPORT_FILE, REPORT_HTML_FILE)
DEFAULT_SETTINGS = APP
"""The final models' settings when none are given: the published app's (:mod:`stingerml.blaster.settings`)."""

LogSource = Union[Log, bytes, bytearray, memoryview, str, "os.PathLike[str]"]


@dataclass
class TrainResult:
    """Everything a training run produces (the one result record of every entry point).

    ``summary`` and ``metrics`` use the browser's keys (``samples``, ``durationMs``,
    ``shotsAll``, ...; ``split``, ``lr``, ``mlp`` with ``cm``, ``precision``, ...).
    ``metrics`` is None when a class has fewer than 2 rows. ``dataset`` is the
    :class:`~stingerml.blaster.dataset.Dataset` (one log), the
    :class:`~stingerml.blaster.sessions.SessionsDataset` (several) or the
    :class:`~stingerml.blaster.trainfolder.TrainFolder` the models were trained on (None
    from :func:`fit_windows`, which also leaves ``summary``, ``warnings`` and
    ``shot_traces`` empty). ``log_lines`` are the browser's messages, in order.
    ``settings`` are the ones trained with; ``logs`` the logs trained on by the
    ``session`` name of their traces (``""`` for one log; empty without a log),
    for ``report.html``; ``imported`` (only with ``concat``) the joined and
    skipped files (``files``, ``skipped``) and per joined file its ``samples`` and
    ``spansMs`` (last minus first timestamp).
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
    dataset: Union[Dataset, SessionsDataset, TrainFolder, None]
    log_lines: List[str] = field(default_factory=list)
    settings: TrainSettings = APP
    logs: Dict[str, Log] = field(default_factory=dict)
    imported: Optional[Dict[str, List[Any]]] = None

    @property
    def quality(self) -> Optional[Dict[str, Any]]:
        """The app's data-quality score of ``summary`` (:func:`stingerml.blaster.quality.data_quality`)."""
        return data_quality(self.summary)

    def __repr__(self) -> str:
        s, m = self.summary, self.metrics
        held_out = (f", held-out F1 LR {m['lr']['f1']:.2f} MLP {m['mlp']['f1']:.2f}" if m else "")
        return (f"<TrainResult: {s.get('posWindows')} positive / {s.get('negWindows')} negative windows, "
                f"{s.get('shotsAccepted')} shots{held_out}, {len(self.warnings)} warning(s); "
                "files() / save(DIR) for the model files>")

    def report(self) -> Dict[str, Any]:
        """The ``report.json`` content (``import``: the joined and skipped files, only with ``concat``)."""
        extra = {} if self.imported is None else {"import": self.imported}
        return {
            "logs": [log.source for log in self.logs.values()], **extra,
            "settings": self.settings.to_json(),
            "quality": self.quality,
            "summary": self.summary,
            "warnings": self.warnings,
            "metrics": self.metrics,
            "lr_loss_history": self.lr_loss_history,
            "mlp_loss_history": self.mlp_loss_history,
            "shot_traces": self.shot_traces,
        }

    def files(self) -> Dict[str, bytes]:
        """``{file name: content}`` of the four output files (``report.html``: :mod:`stingerml.blaster.report_html`)."""
        from .report_html import render

        report = self.report()
        return {
            LR_FILE: self.lr_blob,
            MLP_FILE: self.mlp_blob,
            REPORT_FILE: (json.dumps(finite(report), indent=1, allow_nan=False) + "\n").encode("utf-8"),
            REPORT_HTML_FILE: render(report, self.logs).encode("utf-8"),
        }

    def save(self, out_dir: Union[str, "os.PathLike[str]"]) -> Dict[str, Path]:
        """Write ``ml_model_lr.bin``, ``ml_model_mlp.bin``, ``report.json`` and ``report.html`` into ``out_dir``.

        As a set: afterwards ``out_dir`` holds the four new files, or (after an
        error, or a kill at any moment followed by the next write) its previous
        ones; on error :class:`OutputError` is raised.
        """
        return write_files(out_dir, self.files())


def write_files(out_dir: Union[str, "os.PathLike[str]"], files: Dict[str, bytes]) -> Dict[str, Path]:
    """Replace the model set in ``out_dir`` by ``files`` as a set (:func:`stingerml.core.atomic.write_set`:
    all new or all old, also after a kill); returns the paths.

    Raises:
        OutputError: the folder cannot be created or written; its previous files are kept.
    """
    out = write_set_to_folder(out_dir, files, members=OUTPUT_FILES)
    return {name: out / name for name in files}


# --- warnings and checks --------------------------------------------------------------------------


def amount_warnings(duration_ms: Optional[float], shots: int, rows: int, pos: int, neg: int) -> List[str]:
    """The browser's warnings about how much data there is (SPEC §11); no duration warning when None."""
    out = []
    if duration_ms is not None and duration_ms / 1000 < 120:
        out.append(f"Short recording ({js_round(duration_ms / 1000)}s). Aim for 5+ minutes for best results.")
    if shots < 8:
        out.append(f"Few shots ({shots}). 15+ shots with varied aim directions gives better generalisation.")
    if rows < 30:
        out.append(f"Small dataset ({rows} windows). Record more shots for a reliable model.")
    if neg < 0.6 * pos:
        out.append(
            f"Few negative windows ({neg} vs {pos} positive). "
            "Record more time between shots (moving without firing)."
        )
    return out


def _rate_warnings(ds: Dataset) -> List[str]:
    if abs(ds.dt_est_ms - 10) > 2:
        return [
            f"Sample interval is about {ds.dt_est_ms:.1f} ms, not 10 ms: the device may not be logging at 100 Hz, "
            "so 50-sample windows do not span 500 ms."
        ]
    return []


def dataset_warnings(log: Log, ds: Dataset) -> List[str]:
    """The browser's warnings about the recording and the dataset (SPEC §11), in its order."""
    return (list(log.warnings)
            + amount_warnings(log.duration_ms, len(ds.accepted), len(ds), ds.pos_count, ds.neg_count)
            + _rate_warnings(ds))


def _check_rows(where: str, pos: int, neg: int, window_samples: int, lead_samples: int, params: DatasetParams) -> None:
    if pos == 0:
        raise DatasetError(
            f"{where}: no positive windows: every accepted shot is too close to the start of the log "
            f"(a window needs {window_samples + lead_samples} samples before the trigger)."
        )
    if neg == 0:
        raise DatasetError(
            f"{where}: no negative windows: no {window_samples}-sample stretch lies far enough from "
            f"every trigger pull ({params.lead_ms + params.window_ms:g} ms before to {params.neg_avoid_post_ms:g} ms after). "
            "Record some time moving without firing."
        )


SMALL_ROWS = 26  # below this many rows the browser's LR step (1 with L2 = 50 / rows > 2) can diverge


def _check_finite(name: str, values, rows: int) -> None:
    if not all(map(math.isfinite, values)):
        if rows < SMALL_ROWS:
            raise TrainingError(
                f"{name} training produced non-finite weights on only {rows} rows: the browser's gradient "
                f"descent (L2 = 50 / rows) diverges on so few. Give it at least {SMALL_ROWS} rows: record more "
                "shots, export with a larger --neg-mult, or combine sessions (stingerml train LOG LOG ...)"
            )
        raise TrainingError(
            f"{name} training produced non-finite weights; the data may hold extreme values. "
            "Check the log (stingerml plot) and record again."
        )


# --- the shared training core ---------------------------------------------------------------------


def _fit(windows: Sequence[int], labels: Sequence[int], rep: Reporter, settings: Optional[TrainSettings],
         features: Optional[Features] = None) -> TrainResult:
    """The core on labelled windows, reporting through ``rep`` (see :func:`fit_windows`);
    ``features``: both feature sets of the rows when already computed (in tasks)."""
    settings = settings or DEFAULT_SETTINGS
    prestart_helper()
    rows = len(labels)
    if features is None:
        rep.say("features", "Featurizing...")
        features = featurize_summary(windows, rows), featurize_rich(windows, rows)
    fs = Matrix(features[0], SUMMARY_FEATURES)
    fr = Matrix(features[1], RICH_FEATURES)

    rep.say("holdout", "Evaluating (held-out split)...")
    metrics = holdout_metrics(fs.data, fr.data, labels, progress=rep.ticks("holdout", "held-out MLP iteration"))
    if metrics is not None:
        for key, name in (("lr", "LR"), ("mlp", "MLP")):
            m = metrics[key]
            rep.say("holdout", f"{name} metrics (test): P={m['precision'] * 100:.1f} R={m['recall'] * 100:.1f} F1={m['f1'] * 100:.1f}")

    rep.say("lr", "Training LogReg (final, all data)...")
    lr_scaler = Scaler().fit(fs)
    lr = LogisticRegression(max_iter=settings.lr_iterations).fit(lr_scaler.transform(fs), labels)
    _check_finite("LR", list(lr.coef_) + [lr.intercept_], rows)
    rep.say("mlp", "Training MLP (final, all data)...")
    mlp_scaler = Scaler().fit(fr)
    mlp = MLP(max_iter=settings.mlp_iterations, record_loss=True, loss_every=settings.mlp_loss_every).fit(
        mlp_scaler.transform(fr), labels, progress=rep.ticks("mlp", "MLP iteration")
    )
    _check_finite("MLP", [*mlp.W1_, *mlp.b1_, *mlp.W2_, *mlp.b2_, *mlp.W3_, mlp.b3_], rows)

    rep.say("build", "Building MLMD binaries...")
    lr_model, mlp_model = lr.to_model(lr_scaler), mlp.to_model(mlp_scaler)
    lr_blob, mlp_blob = mlmd.build(lr_model), mlmd.build(mlp_model)
    rep.say("build", f"LR features: {SUMMARY_FEATURES}, MLP features: {RICH_FEATURES}")
    rep.say("build", f"LR model: {len(lr_blob)} bytes, CRC={mlmd.crc32(lr_blob):08x}")
    rep.say("build", f"MLP model: {len(mlp_blob)} bytes, CRC={mlmd.crc32(mlp_blob):08x}")
    return TrainResult(lr_blob=lr_blob, mlp_blob=mlp_blob, lr_model=lr_model, mlp_model=mlp_model, summary={},
                       warnings=[], metrics=metrics, lr_loss_history=lr.loss_history_,
                       mlp_loss_history=mlp.loss_history_, shot_traces=[], dataset=None, log_lines=rep.lines,
                       settings=settings)


def fit_windows(windows: Sequence[int], labels: Sequence[int], progress: Optional[ProgressCallback] = None,
                settings: Optional[TrainSettings] = None) -> TrainResult:
    """Featurize, run the held-out check, train the final LR and MLP and pack both MLMD files.

    Args:
        windows: flat ``rows × 50 × 6`` raw samples (channel order ``ax..gz``).
        labels: 0/1 per row (both classes present).
        progress: optional callback (stages ``features``, ``holdout``, ``lr``, ``mlp``, ``build``).
        settings: iterations of the final models and the MLP loss cadence
            (default :data:`DEFAULT_SETTINGS`, the app's).

    Returns:
        A :class:`TrainResult` with the models, files, metrics, loss histories
        and log lines; ``summary``, ``warnings`` and ``shot_traces`` empty, ``dataset`` None.

    Raises:
        TrainingError: a model ended with non-finite weights.
    """
    return _fit(windows, labels, Reporter(progress), settings)


class _Rows(NamedTuple):
    """What a source (one log, sessions, a training folder) hands the one flow."""

    windows: Sequence[int]
    labels: Sequence[int]
    summary: Dict[str, Any]
    warnings: List[str]
    dataset: Union[Dataset, SessionsDataset, TrainFolder]
    traces: Optional[Callable[[mlmd.LRModel, mlmd.MLPModel], List[Dict[str, Any]]]]  # None: no log, no traces
    logs: Optional[Dict[str, Log]] = None  # the logs by trace session name, for report.html
    imported: Optional[Dict[str, List[Any]]] = None  # concat: the joined and skipped files, samples and spans
    input_warnings: Sequence[str] = ()  # concat: the import's (already reported; not the browser's log lines)
    features: Optional[Features] = None  # computed by the source (in tasks), else by the core


def _run(source: Callable[[Reporter], _Rows], progress: Optional[ProgressCallback],
         settings: Optional[TrainSettings]) -> TrainResult:
    """The one training flow: rows from ``source``, warnings, the core, per-shot traces, one result."""
    rep = Reporter(progress)
    rows = source(rep)
    for w in rows.warnings:
        rep.say("dataset", f"WARNING: {w}")
    fitted = _fit(rows.windows, rows.labels, rep, settings, rows.features)
    if rows.traces is None:
        traces: List[Dict[str, Any]] = []
        rep.say("done", "Done (no per-shot traces: a training folder holds no log)")
    else:
        rep.say("traces", "Computing per-shot predictions...")
        traces = pick_traces(rows.traces(fitted.lr_model, fitted.mlp_model))
        rep.say("done", f"Generated {len(traces)} shot plots",  # the browser's line; no plot file is written here
                shown=f"Kept {len(traces)} per-shot prediction traces (report.json, drawn in report.html)")
    return replace(fitted, summary=rows.summary, warnings=[*rows.input_warnings, *rows.warnings], shot_traces=traces,
                   dataset=rows.dataset, logs=rows.logs or {}, imported=rows.imported)


def _log_traces(log: Log, ds: Dataset) -> Callable[[mlmd.LRModel, mlmd.MLPModel], List[Dict[str, Any]]]:
    return lambda lr, mlp: shot_traces(log, ds.accepted, lr, mlp, ds.lead_samples, ds.window_samples)


def _check_shots(where: str, accepted: int, detail: str, hint: str) -> None:
    if accepted < 2:
        raise DatasetError(f"{where}: {accepted} accepted shot(s){detail}; at least 2 are needed. {hint}")


def _session_summary(log: Log, ds: Dataset) -> Dict[str, Any]:
    return {
        "samples": len(log), "durationMs": log.duration_ms, "shotsAll": len(ds.edges),
        "shotsAccepted": len(ds.accepted), "posWindows": ds.pos_count, "negWindows": ds.neg_count,
        "rawPosCount": ds.raw_pos_count,
    }


def _as_log(data: LogSource, rep: Reporter, message: str = "Parsing binary log...") -> Log:
    if isinstance(data, Log):
        return data
    rep.say("parse", message)
    return load_log(data)


class _Tasks(NamedTuple):
    """Where the independent stages run (:mod:`stingerml.learn.executors`); serial when neither is set."""

    jobs: Optional[int]
    executor: Optional[Executor]

    @property
    def parallel(self) -> bool:
        return parallel(self.jobs, self.executor)

    def features(self, windows: Sequence[int], rows: int, window_samples: int, rep: Reporter) -> Optional[Features]:
        """Both feature sets in tasks, or None (serial: the core computes them)."""
        if not self.parallel:
            return None
        rep.say("features", "Featurizing (in tasks)...")
        return features_in_tasks(windows, rows, window_samples, jobs=self.jobs, executor=self.executor,
                                 progress=rep.progress)


def _import(data: Union[LogSource, Sequence[LogSource]], params: DatasetParams, rep: Reporter) -> ImportedLogs:
    """The app's import of ``data`` (one log or several); its warnings go to the progress callback
    now and to the result's warnings, not to the browser's log lines."""
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore", StingerWarning)
        imported = import_logs(list(data) if isinstance(data, (list, tuple)) else [data], min_gap_ms=params.min_gap_ms)
    if rep.progress is not None:
        for w in imported.warnings:
            rep.progress(Progress("parse", f"WARNING: {w}"))
    rep.say("parse", "Parsing binary log...")
    return imported


# --- entry points ---------------------------------------------------------------------------------


def train(
    data: Union[LogSource, Sequence[LogSource]],
    *,
    params: DatasetParams = DatasetParams(),
    settings: Optional[TrainSettings] = None,
    concat: bool = False,
    progress: Optional[ProgressCallback] = None,
    jobs: Optional[int] = None,
    executor: Optional[Executor] = None,
) -> TrainResult:
    """Run the browser trainer's pipeline on one session (a list or tuple: :func:`train_sessions`).

    ``data`` is a :class:`~stingerml.blaster.log.Log`, the bytes of a binary log, or a path
    (``.csv`` read as the converter's CSV, anything else as a binary log).
    ``settings`` default to :data:`DEFAULT_SETTINGS` (the published app's).

    With ``concat`` the logs (one or a list) are joined into one as the app's
    import button does (:func:`stingerml.blaster.app_import.import_logs`: files whose size
    is not a multiple of 17 bytes skipped) and trained as one log: the app's
    files, metrics and log lines. ``warnings`` then start with the import's
    (skipped files, shots lost to the gap rule at a file boundary) and
    ``imported`` names the joined and skipped files (with each joined file's samples and span).

    Raises:
        LogFormatError: the log cannot be read (with ``concat``: no file left).
        DatasetError: fewer than 2 accepted shots, or no positive or no negative windows.
        TrainingError: a model ended with non-finite weights.
    """
    if isinstance(data, (list, tuple)) and not concat:
        return train_sessions(data, params=params, settings=settings, progress=progress, jobs=jobs, executor=executor)
    tasks = _Tasks(check_jobs(jobs), executor)

    def one_log(rep: Reporter) -> _Rows:
        imported = _import(data, params, rep) if concat else None
        log = imported.log if imported else _as_log(data, rep)
        n = len(log)
        rep.say("parse", f"Parsed {n} samples ({n / 100:.1f}s at 100Hz)")
        rep.say("dataset", "Detecting shots...")
        ds = build_dataset(log, params)
        rep.say("dataset", f"Shots: {len(ds.edges)} total, {len(ds.accepted)} accepted")
        _check_shots(log.source, len(ds.accepted), f" (of {len(ds.edges)} rising edges)",
                     "Record a session with more shots, at least 1 s apart.")
        rep.say("dataset", "Extracting training windows...")
        _check_rows(log.source, ds.pos_count, ds.neg_count, ds.window_samples, ds.lead_samples, params)
        rep.say("dataset", f"Dataset: {len(ds.accepted)} shots \u2192 {ds.pos_count} positive (augmented), "
                f"{ds.neg_count} negative windows ({ds.window_samples} samples each)")
        joined = None if imported is None else {"files": imported.files, "skipped": imported.skipped,
                                                "samples": imported.samples, "spansMs": imported.spans_ms}
        return _Rows(ds.windows, ds.labels, _session_summary(log, ds), dataset_warnings(log, ds), ds,
                     _log_traces(log, ds), logs={"": log}, imported=joined,
                     input_warnings=imported.warnings if imported else (),
                     features=tasks.features(ds.windows, len(ds), ds.window_samples, rep))

    return _run(one_log, progress, settings)


def _source_name(source: LogSource, i: int) -> str:
    """How messages name the ``i``-th log given: its path, its source, or ``log N``."""
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    return source.source if isinstance(source, Log) else f"log {i + 1}"


def _prefixed(name: str, message: str) -> str:
    return message if message.startswith(f"{name}:") else f"{name}: {message}"


def train_sessions(
    logs: Sequence[LogSource],
    *,
    params: DatasetParams = DatasetParams(),
    settings: Optional[TrainSettings] = None,
    progress: Optional[ProgressCallback] = None,
    jobs: Optional[int] = None,
    executor: Optional[Executor] = None,
) -> TrainResult:
    """Train one LR and one MLP from several sessions.

    Each log gets the browser dataset on its own; rows are concatenated in the
    order given (:func:`stingerml.blaster.sessions.build_sessions`), the held-out check
    (SPEC §11) runs on all rows and the final models on all rows. One log gives
    the same model files and metrics as :func:`train`.

    The summary holds the browser's keys summed over the sessions plus
    ``sessions``, one entry per session (``name``, ``firstRow``, ``rows`` and
    the browser's keys). Warnings about a session (trailing bytes, sample rate,
    no windows) start with its name; the amount warnings (short, few shots,
    small dataset, few negatives) are about all sessions together. Per-shot
    traces are computed per session, carry the session's ``name`` under
    ``session``, and the browser's pick of at most 2 runs over all of them.

    Raises:
        LogFormatError: a log cannot be read (nothing is trained).
        DatasetError: no logs, fewer than 2 accepted shots in all, or no positive
            or no negative windows in all.
        TrainingError: a model ended with non-finite weights.
    """
    if not logs:
        raise DatasetError("no logs given; pass at least one session")
    tasks = _Tasks(check_jobs(jobs), executor)

    def sessions_rows(rep: Reporter) -> _Rows:
        features: Optional[Features] = None
        if tasks.parallel:
            rep.say("dataset", f"Reading {len(logs)} logs, one task each...")
            sd, features = sessions_in_tasks(logs, [_source_name(d, i) for i, d in enumerate(logs)], params,
                                             jobs=tasks.jobs, executor=tasks.executor, progress=rep.progress)
        else:
            sd = build_sessions([_as_log(d, rep, f"Reading {_source_name(d, i)}...") for i, d in enumerate(logs)],
                                params)
        warnings: List[str] = []
        sessions = []
        for s in sd.sessions:
            ds, n = s.dataset, len(s.log)
            rep.say("dataset", f"{s.name}: {n} samples, shots: {len(ds.edges)} total, {len(ds.accepted)} accepted, "
                    f"{ds.pos_count} positive, {ds.neg_count} negative windows")
            session_warnings = list(s.log.warnings) + _rate_warnings(ds)
            if len(ds) == 0:
                session_warnings.append("adds no windows (no accepted shot with a whole window before it)")
            warnings += [_prefixed(s.name, w) for w in session_warnings]
            sessions.append({"name": s.name, "firstRow": s.first_row, "rows": len(ds), **_session_summary(s.log, ds)})
        summary: Dict[str, Any] = {k: sum(e[k] for e in sessions) for k in sessions[0]
                                   if k not in ("name", "firstRow", "rows")}
        summary["sessions"] = sessions
        where = f"{len(sessions)} session(s) ({', '.join(s.name for s in sd.sessions)})"
        _check_shots(where, summary["shotsAccepted"], f" in all (of {summary['shotsAll']} rising edges)",
                     "Add sessions with more shots, at least 1 s apart.")
        first = sd.sessions[0].dataset
        _check_rows(where, sd.pos_count, sd.neg_count, sd.window_samples, first.lead_samples, params)
        rep.say("dataset", f"Dataset: {len(sessions)} sessions, {summary['shotsAccepted']} shots \u2192 "
                f"{sd.pos_count} positive (augmented), {sd.neg_count} negative windows ({sd.window_samples} samples each)")
        warnings += amount_warnings(summary["durationMs"], summary["shotsAccepted"], len(sd), sd.pos_count, sd.neg_count)

        def traces(lr: mlmd.LRModel, mlp: mlmd.MLPModel) -> List[Dict[str, Any]]:
            return [{"session": s.name, **t} for s in sd.sessions for t in _log_traces(s.log, s.dataset)(lr, mlp)]

        return _Rows(sd.windows, sd.labels, summary, warnings, sd, traces,
                     logs={s.name: s.log for s in sd.sessions}, features=features)

    return _run(sessions_rows, progress, settings)


def train_folder(
    folder: Union[TrainFolder, str, "os.PathLike[str]"],
    *,
    settings: Optional[TrainSettings] = None,
    progress: Optional[ProgressCallback] = None,
    jobs: Optional[int] = None,
    executor: Optional[Executor] = None,
) -> TrainResult:
    """Train the LR and MLP from a training folder (``stingerml export``'s output, SPEC §13).

    The folder's rows are used as they are, in order: featurized, the browser's
    held-out check, final LR and MLP (:func:`fit_windows`). There is no log, so
    ``shot_traces`` is empty. The summary has ``trainDir`` (or None), ``rows``,
    ``posWindows``, ``negWindows``, ``shotsAccepted`` (distinct ``shot_num`` of
    the positives) and ``windowSamples``; with a ``summary.json`` also
    ``samples`` and ``durationMs`` of the source log.

    Raises:
        DatasetError: unreadable folder, windows other than 50 samples (the
            firmware's window), or no positive or no negative rows.
        TrainingError: a model ended with non-finite weights.
    """
    tasks = _Tasks(check_jobs(jobs), executor)

    def folder_rows(rep: Reporter) -> _Rows:
        where = str(folder) if not isinstance(folder, TrainFolder) else "training folder"
        tf = folder
        if not isinstance(tf, TrainFolder):
            rep.say("parse", f"Reading training folder {where}...")
            tf = read_folder(tf)
        ws = tf.window_samples
        if ws != WINDOW_SAMPLES:
            raise DatasetError(
                f"{where}: windows are {ws} samples (meta.json window_samples) but the firmware scores "
                f"{WINDOW_SAMPLES}-sample windows; export again so that window_ms / sample interval = "
                f"{WINDOW_SAMPLES} (e.g. --window-ms 500 for a 100 Hz log)"
            )
        pos = tf.labels.count(1)
        neg = len(tf) - pos
        if pos == 0 or neg == 0:
            raise DatasetError(f"{where}: {pos} positive and {neg} negative rows; training needs both. "
                               "Export again from a log with shots and time between them.")
        shots = len({row["shot_num"] for row in tf.index if row["label"] == 1})
        summary: Dict[str, Any] = {
            "trainDir": None if where == "training folder" else where, "rows": len(tf),
            "posWindows": pos, "negWindows": neg, "shotsAccepted": shots, "windowSamples": ws,
        }
        duration = None
        if tf.summary is not None and "duration_ms" in tf.summary:
            duration = tf.summary["duration_ms"]
            summary.update(samples=tf.summary.get("samples"), durationMs=duration)
        rep.say("dataset", f"Dataset: {shots} shots \u2192 {pos} positive, {neg} negative windows ({ws} samples each)")
        return _Rows(tf.windows, tf.labels, summary, amount_warnings(duration, shots, len(tf), pos, neg), tf, None,
                     features=tasks.features(tf.windows, len(tf), ws, rep))

    return _run(folder_rows, progress, settings)


def __getattr__(name: str) -> Any:
    if name == "FittedModels":  # the core's old record: TrainResult now serves every entry point
        from .._compat import deprecated

        deprecated("stingerml.blaster.trainer.FittedModels: use TrainResult")
        return TrainResult
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
