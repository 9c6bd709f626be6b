"""Training runs on disk: one folder per run, checkpoints, resume, meta.json and the history.

A run folder ``runs/run_YYYYmmdd_HHMMSS_<8 hex>/`` (UTC start time, random suffix)::

    run.json                    settings and sources (what --resume reads)
    data/dataset.csv            a byte copy of the CSV (and schema.json when given)
    data/split.json             seed, fractions and the row indices of train/val/test
    checkpoints/epoch_NNNN.json the full training state every N epochs, and of the last finished
                                epoch when training is interrupted (resume)
    checkpoints/best_model.json the best epoch's network so far (stingerml-network)
    output/model.json           the final network (stingerml-network, float32 exact)
    output/model.onnx           the same network as ONNX (float32, scaler folded in)
    output/model.tflite         full int8 TFLite, calibrated on 100 training rows (seeded)
    output/meta.json            version, timestamp, dataset id + sha256, features, scaler,
                                classes, architecture, test metrics (float and int8),
                                training settings, and the int8 quantization parameters
    output/training_history.json per epoch: loss, accuracy (training mode), val_loss,
                                val_accuracy or val_r2
    logs/training.log           one line per epoch, plus start/resume/stop lines (appended)

Nothing is created before the data has been read, checked and split. Every
file is written atomically; output/ is written only when training has ended,
as one set (:func:`stingerml.core.atomic.write_set_to_folder`: all five files or
none). ``model.onnx``, ``model.tflite`` and the deployment part of
``meta.json`` come from :func:`stingerml.deploy.export.export_network`, the
export entry point of every trainer.
Resuming re-reads the run's own copy of the data, checks it gives the same
split, loads the last checkpoint and continues: the outputs are the bytes an
uninterrupted run writes (``meta.json``'s timestamp is the run's start time).
"""
from __future__ import annotations

import datetime as _dt
import inspect
import json
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from .._kernels import backend
from .._version import __version__
from ..core.atomic import write_bytes_atomic, write_set_to_folder, write_text_atomic
from ..core.errors import OutputError, StingerWarning, TabularDataError, TrainingError
from ..core.matrix import Matrix
from ..core.progress import ProgressCallback
from ..core.quantized import QuantizedNetwork
from ..deploy.export import EXPORT_FILES, TFLITE_FILE, export_network
from ..deploy.quantize import REPRESENTATIVE_ROWS, quantize, representative_rows
from ..formats import network as network_format
from ..formats.tflite import to_tflite
from .csvdata import Table, read_table
from .estimator import MLPClassifier, MLPRegressor, TrainState, _rows
from ..learn.evaluation import classification_report, regression_metrics
from ..learn.runfolder import (  # noqa: F401  (RunInterrupted, state_*: public here too)
    RunInterrupted, epoch_callback, epochs_done, json_text, last_checkpoint, log_line, new_run_dir, now,
    state_from_bytes, state_to_bytes,
)
from ..learn.split import (
    DEFAULT_FRACTIONS,
    Split,
    check_fractions,
    group_split,
    random_split,
    stratified_split,
)

PathLike = Union[str, Path]
META_VERSION = "1.0.0"
MODEL_FILE, HISTORY_FILE = "model.json", "training_history.json"
OUTPUT_FILES = (MODEL_FILE, HISTORY_FILE) + EXPORT_FILES
"""The files of ``output/``, replaced as one set."""


def estimator_default(name: str) -> Any:
    """The default of the tabular estimators' parameter ``name`` (their ``__init__``)."""
    return inspect.signature(MLPClassifier.__init__).parameters[name].default


@dataclass
class RunSettings:
    """What a run trains and how (stored in ``run.json``). The one definition of every default:
    the estimator's parameters are read from its ``__init__`` (:func:`estimator_default`), the
    run's own here; the CLI's ``tabular train`` builds its defaults and help from this class."""

    label: Optional[str] = None
    targets: List[str] = field(default_factory=list)
    features: List[str] = field(default_factory=list)
    group: Optional[str] = None
    drop_missing: bool = False
    split: Tuple[float, float, float] = DEFAULT_FRACTIONS
    seed: int = estimator_default("seed")
    hidden: List[int] = field(default_factory=lambda: list(estimator_default("hidden_layer_sizes")))
    dropout: float = estimator_default("dropout")
    alpha: float = estimator_default("alpha")
    learning_rate: float = estimator_default("learning_rate")
    batch_size: int = estimator_default("batch_size")
    epochs: int = estimator_default("max_epochs")
    patience: int = estimator_default("patience")
    checkpoint_every: int = 10
    dataset_id: str = ""

    @property
    def regression(self) -> bool:
        return bool(self.targets)


@dataclass
class RunResult:
    """A finished run: its folder, the fitted estimator and the test metrics (``None`` without a test part)."""

    run_dir: Path
    estimator: Union[MLPClassifier, MLPRegressor]
    metrics: Optional[Dict[str, Any]]
    table: Table
    split: Split


# -- data and split -------------------------------------------------------------------------------


def load_data(csv_path: PathLike, settings: RunSettings, schema: Optional[PathLike] = None) -> Tuple[Table, Split]:
    """Read the CSV (and schema) and split it; raises TabularDataError before anything is written."""
    fractions = check_fractions(settings.split)
    table = read_table(csv_path, settings.label, features=settings.features or None,
                       targets=settings.targets or None, schema=schema, group=settings.group,
                       drop_missing=settings.drop_missing)
    src = Path(csv_path).name
    if table.groups is not None:
        split = group_split(table.groups, fractions, settings.seed, table.y, source=src)
    elif table.y is not None:
        split = stratified_split(table.y, table.classes, fractions, settings.seed, source=src)
    else:
        split = random_split(table.n_rows, fractions, settings.seed, source=src)
    return table, split


def _estimator(s: RunSettings, has_val: bool) -> Union[MLPClassifier, MLPRegressor]:
    cls = MLPRegressor if s.regression else MLPClassifier
    return cls(hidden_layer_sizes=tuple(s.hidden), dropout=s.dropout, alpha=s.alpha, learning_rate=s.learning_rate,
               batch_size=s.batch_size, max_epochs=s.epochs, early_stopping=has_val, patience=s.patience,
               seed=s.seed)


# -- checkpoints ------------------------------------------------------------------------------------


# -- the run ----------------------------------------------------------------------------------------


def train_run(
    csv_path: Optional[PathLike] = None,
    settings: Optional[RunSettings] = None,
    *,
    schema: Optional[PathLike] = None,
    runs_dir: PathLike = "runs",
    resume: Optional[PathLike] = None,
    progress: Optional[ProgressCallback] = None,
) -> RunResult:
    """Train in a new run folder under ``runs_dir``, or continue the run folder ``resume``.

    ``progress`` receives the estimator's :class:`~stingerml.core.progress.Progress` events. A
    KeyboardInterrupt (Ctrl-C; the CLI turns SIGTERM into one too) stops training and is raised
    again as :class:`RunInterrupted`, after a checkpoint of the last finished epoch is written
    (beside the every-``checkpoint_every`` ones): resuming from it gives the uninterrupted run's bytes.

    Raises:
        TabularDataError: bad data (nothing is written); OutputError, TrainingError.
    """
    if resume is not None:
        run_dir = Path(resume)
        info, settings, table, split = _run_data(run_dir)
        started = _dt.datetime.fromisoformat(info["started"])
        source = Path(info["source"])
        if (run_dir / "output" / "model.json").exists():
            raise TrainingError(f"{run_dir}: this run has finished (output/model.json exists); nothing to resume")
        ckpt = last_checkpoint(run_dir)
        state = state_from_bytes(ckpt.read_bytes(), str(ckpt)) if ckpt else TrainState()
        log_line(run_dir, f"resumed from {ckpt.name if ckpt else 'the start'}")
    else:
        if csv_path is None or settings is None:
            raise TypeError("train_run needs csv_path and settings (or resume)")
        table, split = load_data(csv_path, settings, schema)
        started = now()
        source = Path(csv_path)
        run_dir = new_run_dir(Path(runs_dir), started)
        try:
            _start_run(run_dir, Path(csv_path), schema, settings, split, started, table)
        except OSError as exc:
            raise OutputError(f"{run_dir}: cannot write the run's data ({exc.strerror or exc})") from exc
        state = TrainState()  # filled by fit, then checkpointed from on_event
        log_line(run_dir, f"started: {table.n_rows} rows, {len(table.feature_names)} features, split "
                      f"{len(split.train)}/{len(split.val)}/{len(split.test)}, backend {backend()}")

    est = _estimator(settings, bool(split.val))
    X = table.X

    on_event = epoch_callback(run_dir, state, settings.checkpoint_every,
                              lambda path: network_format.save(est.snapshot(state.P), path), progress)
    fit_kw: Dict[str, Any] = {"feature_names": table.feature_names, "progress": on_event, "state": state}
    if split.val:
        fit_kw["validation_data"] = (_rows(X, split.val), _part(table, split.val))
    try:
        if settings.regression:
            est.fit(_rows(X, split.train), _part(table, split.train), target_names=table.target_names, **fit_kw)
        else:
            est.fit(_rows(X, split.train), _part(table, split.train), classes=table.classes, **fit_kw)
    except KeyboardInterrupt as exc:
        raise on_event.interrupted() from exc
    net = est.to_model()
    rep = representative(table, split, settings.seed)
    metrics = None
    if split.test:
        metrics = evaluate(net, _rows(X, split.test), _part(table, split.test), quantize(net, rep))
    _finish(run_dir, est, table, split, settings, metrics, started, rep, source)
    log_line(run_dir, f"finished after {est.n_epochs_} epochs (best {est.best_epoch_})")
    return RunResult(run_dir, est, metrics, table, split)


def _part(table: Table, idx: Sequence[int]):
    if table.Y is not None:
        return _rows(table.Y, idx)
    return [table.classes[table.y[i]] for i in idx]


def evaluate(net, X: Matrix, truth, quantized: Optional[QuantizedNetwork] = None) -> Dict[str, Any]:
    """Metrics of a network on raw features ``X`` and labels (classifier) or a target Matrix.

    The float network's metrics (see :mod:`.evaluation`); given ``quantized`` (the
    network's full-int8 model), the same metrics of its int8 outputs, computed by the
    library's integer emulator (:meth:`QuantizedNetwork.predict`), under the key ``"int8"``.
    """
    from .estimator import network_outputs

    metrics = _metrics(net, network_outputs(net, X), truth)
    if quantized is not None:
        metrics["int8"] = _metrics(net, quantized.predict(X).data, truth)
    return metrics


def training_overlap(run_dir: PathLike, table: Table) -> int:
    """How many rows of ``table`` (read with the run's features) equal a row of the run's training
    split, features and label/targets alike: metrics on those rows overstate the model."""
    with warnings.catch_warnings():  # the run's own data copy was warned about when it was trained
        warnings.simplefilter("ignore", StingerWarning)
        _, _, trained, split = _run_data(Path(run_dir))

    def row(t: Table, i: int) -> tuple:
        w = t.X.n_cols
        x = tuple(t.X.data[i * w:(i + 1) * w])
        if t.y is not None:
            return x + (t.classes[t.y[i]],)
        if t.Y is not None:
            k = t.Y.n_cols
            return x + tuple(t.Y.data[i * k:(i + 1) * k])
        return x

    seen = {row(trained, i) for i in split.train}
    return sum(row(table, i) in seen for i in range(table.n_rows))


def _metrics(net, out: Sequence[float], truth) -> Dict[str, Any]:
    from ..core.dense import predicted_classes

    if net.output == "linear":
        return regression_metrics(truth, Matrix(out, net.n_outputs), net.target_names)
    index = {c: k for k, c in enumerate(net.classes)}
    codes = [index[v] for v in truth]
    return classification_report(codes, predicted_classes(out, net.n_outputs), net.classes)


def representative(table: Table, split: Split, seed: int) -> Matrix:
    """The int8 calibration rows of a run: ``REPRESENTATIVE_ROWS`` (100) training rows drawn with
    ``seed`` (all of them when there are fewer; see :func:`stingerml.deploy.quantize.representative_rows`)."""
    return representative_rows(_rows(table.X, split.train), REPRESENTATIVE_ROWS, seed)


def load_quantized(run_dir: PathLike, net) -> Optional[QuantizedNetwork]:
    """The int8 model of a finished run, for the emulator; ``None`` when ``output/`` has no ``model.tflite``.

    Recomputed from ``net`` (the run's ``output/model.json``) and the run's own copy of the data
    (the same representative rows), then checked against ``output/model.tflite`` byte for byte, so
    the emulator runs exactly the file's model.

    Raises:
        TrainingError: the run's data copy or ``model.tflite`` does not give that model.
    """
    run_dir = Path(run_dir)
    path = run_dir / "output" / TFLITE_FILE
    if not path.exists():
        return None
    _, settings, table, split = _run_data(run_dir)
    qnet = quantize(net, representative(table, split, settings.seed))
    if to_tflite(qnet) != path.read_bytes():
        raise TrainingError(f"{path}: not the int8 model of this run's model.json and data copy; "
                            "it was changed or comes from another run (retrain, or restore the run's files)")
    return qnet


def _start_run(run_dir: Path, csv_path: Path, schema: Optional[PathLike], settings: RunSettings, split: Split,
               started: _dt.datetime, table: Table) -> None:
    write_bytes_atomic(run_dir / "data" / "dataset.csv", csv_path.read_bytes())
    if schema is not None:
        write_bytes_atomic(run_dir / "data" / "schema.json", Path(schema).read_bytes())
    write_text_atomic(run_dir / "data" / "split.json", json_text({
        "seed": settings.seed, "fractions": list(settings.split), "group": settings.group,
        "rows": "indices of the data rows kept (0 = first data row after the header and any dropped rows)",
        "train": split.train, "val": split.val, "test": split.test}))
    write_text_atomic(run_dir / "run.json", json_text({
        "settings": asdict(settings), "source": str(csv_path), "schema": schema is not None,
        "started": started.isoformat(), "dataset_sha256": table.sha256, "stingerml": __version__}))


def _run_data(run_dir: Path) -> Tuple[Dict[str, Any], RunSettings, Table, Split]:
    """A run folder's ``run.json``, settings, and its data copy read and split again (checked against
    ``data/split.json``)."""
    info = _read_run(run_dir)
    settings = RunSettings(**{**info["settings"], "split": tuple(info["settings"]["split"])})
    schema_copy = run_dir / "data" / "schema.json"
    table, split = load_data(run_dir / "data" / "dataset.csv", settings, schema_copy if info["schema"] else None)
    saved = json.loads((run_dir / "data" / "split.json").read_text(encoding="utf-8"))
    if [saved["train"], saved["val"], saved["test"]] != [split.train, split.val, split.test]:
        raise TrainingError(f"{run_dir}: the data copy no longer gives the saved split; start a new run")
    return info, settings, table, split


def resume_point(run_dir: PathLike) -> Tuple[int, int]:
    """``(epochs finished, maximum epochs)`` of the run ``run_dir``: where ``--resume`` continues."""
    run_dir = Path(run_dir)
    return epochs_done(run_dir), int(_read_run(run_dir)["settings"]["epochs"])


def _read_run(run_dir: Path) -> Dict[str, Any]:
    try:
        return json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TrainingError(f"{run_dir}: not a tabular run folder (no readable run.json: {exc}); "
                            "give the folder 'tabular train' created") from exc


def _finish(run_dir: Path, est, table: Table, split: Split, s: RunSettings, metrics, started,
            rep: Matrix, source: Path) -> None:
    net = est.to_model()
    meta = {
        "version": META_VERSION,
        "stingerml": __version__,
        "timestamp": started.isoformat(),
        "dataset": {"id": s.dataset_id or source.stem, "hash": table.sha256, "rows": table.n_rows,
                    "dropped_rows": table.dropped},
        "features": {"count": len(table.feature_names), "names": list(table.feature_names),
                     "preprocessing": {"scaler_mean": [float(v) for v in est.mean_],
                                       "scaler_scale": [float(v) for v in est.scale_],
                                       "label_classes": list(table.classes)}},
        "labels": {"count": len(table.classes), "column": table.label,
                   "mapping": {str(k): c for k, c in enumerate(table.classes)}},
        "targets": list(table.target_names),
        "model": {"architecture": {"type": "mlp", "input": net.n_features, "hidden": list(s.hidden),
                                   "activation": "relu", "dropout": s.dropout, "output": net.output,
                                   "outputs": net.n_outputs,
                                   "parameters": sum(len(L.weights) + len(L.bias) for L in net.layers)},
                  "file": "model.json", "format": network_format.FORMAT,
                  "metrics": metrics},
        "split": {"seed": s.seed, "fractions": list(s.split), "train": len(split.train), "val": len(split.val),
                  "test": len(split.test), "group": s.group},
        "training": {"epochs": s.epochs, "epochs_run": est.n_epochs_, "best_epoch": est.best_epoch_,
                     "stopped_early": est.stopped_early_, "batch_size": s.batch_size,
                     "optimizer": "adam", "learning_rate": s.learning_rate, "l2_alpha": s.alpha,
                     "patience": s.patience, "early_stopping": "val_loss, Keras counting" if split.val else None,
                     "seed": s.seed},
        "representative": {"split": "train", "rows_available": len(split.train), "rows_used": rep.n_rows,
                           "seed": s.seed},
    }
    files = export_network(net, rep, info=meta).files()  # model.onnx, model.tflite, meta.json (+ quantization)
    files[HISTORY_FILE] = json_text(est.history_).encode("utf-8")
    files[MODEL_FILE] = network_format.dumps(net)  # its presence marks a finished run
    write_set_to_folder(run_dir / "output", files, members=OUTPUT_FILES, option="--runs-dir")
