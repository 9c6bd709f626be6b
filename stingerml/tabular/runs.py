"""Training runs on disk: one folder per run, checkpoints, resume, meta.json and the history.

A run folder ``runs/run_YYYYmmdd_HHMMSS_<8 hex>/`` (UTC start time, random suffix)::

    run.json                    settings and sources (what --resume reads)
    data/dataset.csv            a byte copy of the CSV (and schema.json when given)
    data/split.json             seed, fractions and the row indices of train/val/test
    checkpoints/epoch_NNNN.json the full training state every N epochs, and of the last finished
                                epoch when training is interrupted (resume); the newest 3 kept
    checkpoints/best_model.json the best epoch's network so far (stingerml-network)
    output/model.json           the final network (stingerml-network, float32 exact)
    output/model.onnx           the same network as ONNX (float32, scaler folded in)
    output/model.tflite         full int8 TFLite, calibrated on 100 training rows (seeded)
    output/model_float32.tflite float32 TFLite, raw input (with --tflite-kind float|both)
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

import collections.abc
import contextlib
import dataclasses
import datetime as _dt
import shutil
import warnings
from array import array
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

from .._kernels import backend
from .._version import __version__
from ..core import preprocess
from ..core.atomic import open_atomic, write_bytes_atomic, write_set_to_folder, write_text_atomic
from ..core.errors import StingerWarning, TabularDataError, TrainingError
from ..core.matrix import Matrix, Rows
from ..core.progress import Progress, ProgressCallback, Reporter
from ..core.quantized import QuantizedNetwork
from ..deploy.export import EXPORT_FILES, NETWORK_FILE, TFLITE_FILE, export_network
from ..deploy.quantize import REPRESENTATIVE_ROWS, quantize, representative_rows
from ..formats import network as network_format
from ..formats.tflite import to_tflite
from ..core import jsonfile
from ..core.constants import TABULAR_MAX_PARAMETERS
from ..core.dense import ACTIVATIONS, BOUNDS
from .arrays import is_array_file, read_array_table
from .categorical import apply_one_hot, fit_one_hot, with_encoding
from .csvdata import Table, read_schema, read_table
from .estimator import MLPClassifier, MLPRegressor, TrainState, _rows
from ..learn.estimator import default_of
from ..learn.metrics import classification_report, regression_metrics
from ..learn.runfolder import (  # noqa: F401  (RunInterrupted, state_*: public here too)
    _FIX_CHECKPOINT, CHECKPOINT_EVERY, KEEP_CHECKPOINTS, MAX_COUNT, RUNS_DIR, CheckpointHook, RunInterrupted,
    check_unfinished, checkpoint_path, json_text, last_checkpoint, log_line, new_run_dir, no_run_file, now, read_checkpoint, run_id, state_from_bytes, state_to_bytes,
    report_resume, train_in, write_json_atomic,
)
from ..learn.split import (
    DEFAULT_FRACTIONS,
    Split,
    check_fractions,
    group_split,
    random_split,
    stratified_split,
)
from ..learn.status import RunEvents

PathLike = Union[str, Path]
META_VERSION = "1.0.0"
MODEL_FILE, HISTORY_FILE = NETWORK_FILE, "training_history.json"
OUTPUT_FILES = (MODEL_FILE, HISTORY_FILE) + EXPORT_FILES
"""The files of ``output/``, replaced as one set."""


def estimator_default(name: str) -> Any:
    """The default of the tabular estimators' parameter ``name`` (their ``__init__``)."""
    return default_of(MLPClassifier, name)


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
    checkpoint_every: int = CHECKPOINT_EVERY
    dataset_id: str = ""
    calibration_rows: int = REPRESENTATIVE_ROWS
    preprocess: str = estimator_default("preprocess")
    tflite: str = "int8"
    ignore: List[str] = field(default_factory=list)
    monitor: str = estimator_default("monitor")
    early_stopping: bool = True
    output_activation: Dict[str, str] = field(default_factory=dict)
    """A regression target's output activation by name (``linear``, ``sigmoid``, ``tanh``); unnamed: linear."""

    @property
    def regression(self) -> bool:
        return bool(self.targets)


MAX_PARAMETERS = TABULAR_MAX_PARAMETERS
"""Largest network a run trains unless ``max_parameters`` says more (weights and biases)."""
_MAX_COUNT = MAX_COUNT
_FIX_SETTINGS = "fix the setting"


def check_settings(s: RunSettings, source: str = "settings", error: type = TabularDataError,
                   fix: str = _FIX_SETTINGS) -> RunSettings:
    """``s`` checked field by field (types, finite numbers, ranges), before anything is created;
    ``error("{source}: ...; {fix}")`` names the first bad one. Returns ``s`` with ``split`` a tuple."""
    doc = asdict(s)
    f = lambda key, kinds, **kw: jsonfile.field(doc, key, kinds, source, error, fix=fix, **kw)  # noqa: E731
    for key in ("label", "group"):
        f(key, (str, type(None)))
    for key in ("targets", "features", "hidden"):
        f(key, list)
    if not all(isinstance(v, str) for v in s.targets + s.features):
        raise error(f"{source}: \"targets\" and \"features\" must be lists of column names; {fix}")
    f("drop_missing", bool)
    f("dataset_id", str)
    f("seed", int, low=-(2 ** 63), high=2 ** 63 - 1)
    f("dropout", float, low=0.0, high=0.999999)
    f("alpha", float, low=0.0, high=1e6)
    lr = f("learning_rate", float, low=0.0, high=1e6)
    if lr <= 0:
        raise error(f"{source}: \"learning_rate\" must be > 0, not {lr}; {fix}")
    for key in ("batch_size", "patience", "checkpoint_every"):
        f(key, int, low=1, high=_MAX_COUNT)
    f("epochs", int, low=0, high=_MAX_COUNT)
    if not s.hidden or not all(isinstance(h, int) and not isinstance(h, bool) and 1 <= h <= _MAX_COUNT
                               for h in s.hidden):
        raise error(f"{source}: \"hidden\" must be one or more layer sizes, whole numbers from 1 to "
                    f"{_MAX_COUNT}, not {str(s.hidden)[:60]}; {fix}")
    acts = f("output_activation", dict)
    for name, word in acts.items():
        if name not in s.targets:
            raise error(f"{source}: \"output_activation\" names {str(name)[:40]!r}, not one of the targets "
                        f"({', '.join(s.targets) or 'none: it is for regression'}); {fix}")
        if word not in ACTIVATIONS:
            raise error(f"{source}: \"output_activation\" of {name!r} is {str(word)[:40]!r}, not one of "
                        f"{', '.join(ACTIVATIONS)}; {fix}")
    split = s.split
    if not isinstance(split, (list, tuple)) or not all(jsonfile._is(v, float) for v in split):
        raise error(f"{source}: \"split\" must be three fractions train,val,test; {fix}")
    try:
        s.split = check_fractions(split)
    except TabularDataError as exc:
        raise error(f"{source}: {exc}") from None
    return s


def check_bounds(table: Table, s: RunSettings, source: str) -> None:
    """TabularDataError at the first value of a bounded target (``output_activation`` sigmoid or tanh)
    outside its activation's range, naming the CSV line; before anything is written."""
    for name, act in s.output_activation.items():
        if act == "linear" or table.Y is None:
            continue
        lo, hi = BOUNDS[act]
        j = table.target_names.index(name)
        for r, v in enumerate(table.Y.data[j::table.Y.n_cols]):
            if not lo <= v <= hi:
                where = f"line {table.lines[r]}" if table.lines else f"row {r}"
                raise TabularDataError(f"{source}: {where}, target {name!r} is {v:g}; a {act} output lies in "
                                       f"[{lo:g}, {hi:g}]: rescale the column or make it linear (--output-activation)")


def network_parameters(n_features: int, hidden: Sequence[int], n_outputs: int) -> int:
    """Weights and biases of the MLP ``n_features -> hidden... -> n_outputs``."""
    sizes = [n_features, *hidden, n_outputs]
    return sum(a * b + b for a, b in zip(sizes, sizes[1:]))


def check_network_size(n_features: int, s: RunSettings, n_outputs: int, max_parameters: int) -> int:
    """The network's parameter count, or TabularDataError above ``max_parameters`` (before training)."""
    n = network_parameters(n_features, s.hidden, n_outputs)
    if n > max_parameters:
        raise TabularDataError(
            f"--hidden {','.join(map(str, s.hidden))} makes a network of {n:,} parameters ({n_features} features, "
            f"{n_outputs} outputs), above the limit of {max_parameters:,} (about {32 * n / 1e9:.1f} GB to train); "
            "use smaller layers, or raise the limit with --max-parameters")
    return n


@dataclass
class RunResult:
    """A finished run: its folder, the fitted estimator and the test metrics (``None`` without a test part)."""

    run_dir: Path
    estimator: Union[MLPClassifier, MLPRegressor]
    metrics: Optional[Dict[str, Any]]
    table: Table
    split: Split


# -- data and split -------------------------------------------------------------------------------


def load_data(csv_path: PathLike, settings: RunSettings, schema: Optional[PathLike] = None,
              progress: Optional[ProgressCallback] = None) -> Tuple[Table, Split]:
    """Read the CSV (and schema; ``progress``: the reader's ``read`` events) and split it; raises
    TabularDataError before anything is written."""
    fractions = check_fractions(settings.split)
    if is_array_file(csv_path):
        if settings.regression or settings.features or settings.group or settings.ignore:
            raise TabularDataError(f"{csv_path}: a .npz data set is classification on its X array; "
                                   "--targets, --features, --group and --ignore are for CSV files")
        table = read_array_table(csv_path, schema=read_schema(schema) if schema else None)
    else:
        table = read_table(csv_path, settings.label, features=settings.features or None,
                           targets=settings.targets or None, schema=schema, group=settings.group,
                           drop_missing=settings.drop_missing, ignore=settings.ignore, progress=progress)
    src = Path(csv_path).name
    _prepare(progress, 1, f"splitting {table.n_rows} rows")
    tick = Reporter(progress).ticks("prepare", f"splitting: {'rows' if table.groups is None else 'groups'} shuffled",
                                    every=1)
    if table.groups is not None:
        split = group_split(table.groups, fractions, settings.seed, table.y, source=src, tick=tick)
    elif table.y is not None:
        split = stratified_split(table.y, table.classes, fractions, settings.seed, source=src, tick=tick)
    else:
        split = random_split(table.n_rows, fractions, settings.seed, source=src, tick=tick)
    # each part as 8 bytes a row (a list of ints takes ~36); split.json gets them back as lists
    split = Split(*(array("q", part) for part in split))
    encoding = fit_one_hot(table, split.train)  # categories from the training rows only
    if encoding is not None:
        table, notes = apply_one_hot(table, encoding)
        table = dataclasses.replace(table, encoding=encoding, warnings=tuple(notes))
    if settings.preprocess:
        try:
            preprocess.check(settings.preprocess, table.X.n_cols)
        except ValueError as exc:
            hint = "choose the feature columns with --features" if settings.preprocess in preprocess.PREPROCESSORS \
                else "give a known step or none"
            raise TabularDataError(f"{csv_path}: {exc}; {hint}") from None
    return table, split


PREPARE_STEPS = 3
"""The counted ``prepare`` events between reading and the first batch (:func:`_prepare`)."""


def _prepare(progress: Optional[ProgressCallback], step: int, message: str) -> None:
    """Report step ``step`` of :data:`PREPARE_STEPS` (stage ``prepare``): on a big data set each takes
    seconds, and a line without a terminal comes only from events (at least every 10 s)."""
    if progress is not None:
        progress(Progress("prepare", message, step, PREPARE_STEPS))


def _estimator(s: RunSettings, has_val: bool) -> Union[MLPClassifier, MLPRegressor]:
    params = dict(hidden_layer_sizes=tuple(s.hidden), dropout=s.dropout, alpha=s.alpha, learning_rate=s.learning_rate,
                  batch_size=s.batch_size, max_epochs=s.epochs, early_stopping=has_val,
                  patience=s.patience if s.early_stopping else s.epochs + 1,  # never reached: all epochs run
                  seed=s.seed, preprocess=s.preprocess, monitor=s.monitor)
    if s.regression:
        return MLPRegressor(output_activation=dict(s.output_activation), **params)
    return MLPClassifier(**params)


# -- checkpoints ------------------------------------------------------------------------------------


def _n_outputs(table: Table) -> int:
    """Output units of a run's network: one per target, one for two classes, else one per class."""
    if table.Y is not None:
        return table.Y.n_cols
    return 1 if len(table.classes) == 2 else len(table.classes)


def _checkpoint_state(ckpt: Path, run_dir: Path, settings: RunSettings, table: Table) -> TrainState:
    """The checkpoint ``ckpt`` of the run ``run_dir`` checked as a unit against the run (its run id,
    the network's parameter count, the epochs, the epoch of its name): TrainingError otherwise."""
    n_params = network_parameters(len(table.feature_names), settings.hidden, _n_outputs(table))
    state = state_from_bytes(read_checkpoint(ckpt), str(ckpt), n_params, settings.epochs, run_id(run_dir))
    if ckpt.name != checkpoint_path(run_dir, state.epoch).name:
        raise TrainingError(f"{ckpt}: holds epoch {state.epoch}, not the epoch of its name; it comes from "
                            f"elsewhere; {_FIX_CHECKPOINT}")
    return state


# -- the run ----------------------------------------------------------------------------------------


def train_run(
    csv_path: Optional[PathLike] = None,
    settings: Optional[RunSettings] = None,
    *,
    schema: Optional[PathLike] = None,
    runs_dir: PathLike = RUNS_DIR,
    resume: Optional[PathLike] = None,
    progress: Optional[ProgressCallback] = None,
    max_parameters: int = MAX_PARAMETERS,
    keep_checkpoints: Optional[int] = KEEP_CHECKPOINTS,
) -> RunResult:
    """Train in a new run folder under ``runs_dir``, or continue the run folder ``resume``.

    The settings and the data are checked before the run folder is created (a network above
    ``max_parameters`` weights and biases is refused). ``progress`` receives
    :class:`~stingerml.core.progress.Progress` events (:class:`stingerml.learn.status.RunEvents`):
    ``"start"`` with the run folder, the estimator's, and ``"done"`` once ``output/`` is written;
    a :class:`stingerml.learn.status.TrainStatus` there can cancel the run. A KeyboardInterrupt
    (Ctrl-C; the CLI turns SIGTERM into one too; a cancel request is one) stops training and is raised again as :class:`RunInterrupted`, after a
    checkpoint of the last finished epoch is written (beside the every-``checkpoint_every`` ones):
    resuming from it gives the uninterrupted run's bytes. A new run that fails later is removed
    again, unless it holds a checkpoint to resume from. ``keep_checkpoints``: the newest epoch
    checkpoints kept (default 3; ``None``: every one; ``checkpoints/best_model.json`` stays).

    Raises:
        TabularDataError: bad data or settings (nothing is written); OutputError, TrainingError.
    """
    if resume is not None:
        run_dir = Path(resume)
        info, settings, table, split, ckpt, state = _resumable(run_dir, progress)
        report_resume(progress, state, settings.epochs)
        started = _dt.datetime.fromisoformat(info["started"])
        source = Path(info["source"])
    else:
        if csv_path is None or settings is None:
            raise TypeError("train_run needs csv_path and settings (or resume)")
        if schema is not None:  # the schema's output activations and step; the settings' win
            sch = read_schema(schema)
            if settings.regression:
                settings.output_activation = {**dict(sch.output_activation), **settings.output_activation}
            settings.preprocess = settings.preprocess or sch.preprocess
        settings.preprocess = preprocess.chosen(settings.preprocess)  # "none" overrode the schema's step
        check_settings(settings)
        table, split = load_data(csv_path, settings, schema, progress)
        check_bounds(table, settings, Path(csv_path).name)
        check_network_size(len(table.feature_names), settings, _n_outputs(table), max_parameters)
        started = now()
        source = Path(csv_path)
        run_dir = new_run_dir(Path(runs_dir), started)
        state = None  # a fresh start

    def start() -> None:
        _prepare(progress, 2, "writing the run folder (its data copy and split)")
        _start_run(run_dir, Path(csv_path), schema, settings, split, started, table)
        log_line(run_dir, f"started: {table.n_rows} rows, {len(table.feature_names)} features, split "
                          f"{len(split.train)}/{len(split.val)}/{len(split.test)}, backend {backend()}")

    resumed_from = None if resume is None else (ckpt.name if ckpt else "the start")
    return train_in(run_dir, resumed_from, start, lambda: _train(
        run_dir, settings, table, split, state, started, source, progress, keep_checkpoints))


def _train(run_dir: Path, settings: RunSettings, table: Table, split: Split, state: Optional[TrainState],
           started: _dt.datetime, source: Path, progress: Optional[ProgressCallback],
           keep_checkpoints: Optional[int] = KEEP_CHECKPOINTS) -> RunResult:
    """Fit (from ``state``, or a fresh start), checkpoint, evaluate and write ``output/`` of the run in
    ``run_dir``."""
    est = _estimator(settings, bool(split.val))
    X = table.X
    run = run_id(run_dir)

    events = RunEvents(progress, run_dir)  # "start" now, the fit's "done" once output/ is written
    checkpoints = CheckpointHook(
        run_dir, settings.checkpoint_every, settings.epochs,
        lambda P, path: network_format.save(with_encoding(est.snapshot(P), table.encoding), path), run,
        keep_checkpoints)
    fit_kw: Dict[str, Any] = {"feature_names": table.feature_names, "progress": events, "state": state,
                              "on_epoch_end": checkpoints}
    if split.val:
        fit_kw["validation_data"] = (Rows(X, split.val), _part(table, split.val))
    _prepare(progress, 3, f"gathering the {len(split.train)} training rows' targets")
    try:
        events.start(0 if state is None else state.epoch, settings.epochs)
        if settings.regression:
            est.fit(Rows(X, split.train), _part(table, split.train), target_names=table.target_names, **fit_kw)
        else:
            est.fit(Rows(X, split.train), _part(table, split.train), classes=table.classes, **fit_kw)
    except KeyboardInterrupt as exc:
        raise checkpoints.interrupted() from exc
    net = with_encoding(est.to_model(), table.encoding)
    rep = representative(table, split, settings)
    metrics = None
    if split.test:
        qnet = None if settings.tflite == "float" else quantize(net, rep)
        metrics = _meta_metrics(evaluate(net, Rows(X, split.test), _part(table, split.test), qnet, progress))
    try:
        _finish(run_dir, est, table, split, settings, metrics, started, rep, source)
    except BaseException:
        with contextlib.suppress(OSError):  # the trained state, so that --resume only writes the outputs
            write_bytes_atomic(checkpoint_path(run_dir, est.state_.epoch), state_to_bytes(est.state_, run))
        raise
    log_line(run_dir, f"finished after {est.n_epochs_} epochs (best {est.best_epoch_})")
    events.finished()
    return RunResult(run_dir, est, metrics, table, split)


def _part(table: Table, idx: Sequence[int]):
    """The targets (a Matrix) or labels (a view: no list of a label per row) of rows ``idx``."""
    if table.Y is not None:
        return _rows(table.Y, idx)
    return _Labels(table.classes, table.y, idx)


class _Labels(collections.abc.Sequence):
    """The label of each of rows ``index`` (``classes[codes[row]]``), read on demand."""

    def __init__(self, classes: Sequence[str], codes: Sequence[int], index: Sequence[int]) -> None:
        self.classes, self.codes, self.index = classes, codes, index

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, k):
        if isinstance(k, slice):
            return [self[j] for j in range(*k.indices(len(self)))]
        return self.classes[self.codes[self.index[k]]]

    def __iter__(self) -> Iterator[str]:
        classes, codes = self.classes, self.codes
        return (classes[codes[i]] for i in self.index)


def evaluate(net, X: Matrix, truth, quantized: Optional[QuantizedNetwork] = None,
             progress: Optional[ProgressCallback] = None) -> Dict[str, Any]:
    """Metrics of a network on raw features ``X`` and labels (classifier) or a target Matrix.

    The float network's metrics (see :mod:`stingerml.learn.metrics`); given ``quantized`` (the
    network's full-int8 model), the same metrics of its int8 outputs, computed by the
    library's integer emulator (:meth:`QuantizedNetwork.predict`; ``progress``: its ``evaluate``
    events, rows done), under the key ``"int8"``.
    """
    from .estimator import network_outputs

    metrics = _metrics(net, network_outputs(net, X), truth)
    if quantized is not None:
        tick = Reporter(progress).ticks("evaluate", "int8 model on the test rows", every=1024)
        metrics["int8"] = _metrics(net, quantized.predict(X, tick=tick).data, truth)
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


def representative(table: Table, split: Split, settings: RunSettings) -> Matrix:
    """The int8 calibration rows of a run: ``settings.calibration_rows`` (default 100) training rows drawn
    with ``settings.seed`` (all of them when there are fewer; see :func:`stingerml.deploy.quantize.representative_rows`)."""
    return representative_rows(Rows(table.X, split.train), settings.calibration_rows, settings.seed)


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
    qnet = quantize(net, representative(table, split, settings))
    if to_tflite(qnet) != path.read_bytes():
        raise TrainingError(f"{path}: not the int8 model of this run's model.json and data copy; "
                            "it was changed or comes from another run (retrain, or restore the run's files)")
    return qnet


def run_folder_of(path: PathLike) -> Optional[Path]:
    """The run folder holding ``path`` (``RUN/output/model.json``, ``RUN/checkpoints/*.json``), or ``None``."""
    p = Path(path).resolve()
    run_dir = p.parent.parent
    return run_dir if p.parent.name in ("output", "checkpoints") and (run_dir / "run.json").exists() else None


def run_representative(run_dir: PathLike) -> Matrix:
    """The int8 calibration rows of a run folder (its data copy, split and settings: what its export used)."""
    _, settings, table, split = _run_data(Path(run_dir))
    return representative(table, split, settings)


def checkpoint_network(path: PathLike):
    """The network of a training checkpoint (``RUN/checkpoints/epoch_NNNN.json``: the weights of that epoch),
    with the run's scaler, names, steps and encoding, as the run would have exported it.

    Raises:
        TrainingError: not a checkpoint inside a run folder, or one that does not fit the run.
    """
    p = Path(path)
    run_dir = run_folder_of(p)
    if run_dir is None:
        raise TrainingError(f"{p}: a training checkpoint is read with its run folder (RUN/checkpoints/...); "
                            "this one is not inside one")
    try:
        _, settings, table, split = _run_data(run_dir)
    except TrainingError as exc:  # e.g. run.json of another trainer (a sequence run)
        raise TrainingError(f"{p}: not a checkpoint of a tabular run ({exc}); export that trainer's own "
                            "model file") from None
    state = _checkpoint_state(p, run_dir, settings, table)
    est = _estimator(settings, bool(split.val))
    fit_kw: Dict[str, Any] = {"feature_names": table.feature_names, "state": state}
    if split.val:
        fit_kw["validation_data"] = (Rows(table.X, split.val), _part(table, split.val))
    state.done = True  # no epoch runs: fit only sets up the scaler, names and sizes around these weights
    if settings.regression:
        est.fit(Rows(table.X, split.train), _part(table, split.train), target_names=table.target_names, **fit_kw)
    else:
        est.fit(Rows(table.X, split.train), _part(table, split.train), classes=table.classes, **fit_kw)
    return with_encoding(est.snapshot(state.P), table.encoding)


def _start_run(run_dir: Path, csv_path: Path, schema: Optional[PathLike], settings: RunSettings, split: Split,
               started: _dt.datetime, table: Table) -> None:
    with open(csv_path, "rb") as src, open_atomic(run_dir / "data" / _data_copy(csv_path)) as dst:
        shutil.copyfileobj(src, dst, 1 << 20)  # in pieces: a big CSV is never held whole
    if schema is not None:
        write_bytes_atomic(run_dir / "data" / "schema.json", Path(schema).read_bytes())
    write_json_atomic(run_dir / "data" / "split.json", {
        "seed": settings.seed, "fractions": list(settings.split), "group": settings.group,
        "rows": "indices of the data rows kept (0 = first data row after the header and any dropped rows)",
        "train": split.train.tolist(), "val": split.val.tolist(), "test": split.test.tolist()})
    write_text_atomic(run_dir / "run.json", json_text({
        "settings": asdict(settings), "source": str(csv_path), "schema": schema is not None,
        "started": started.isoformat(), "dataset_sha256": table.sha256, "stingerml": __version__}))


def _data_copy(source: PathLike) -> str:
    """The name of a run's copy of its data: ``dataset.csv``, or ``dataset.npz``/``.npy`` for numpy files."""
    return "dataset" + Path(source).suffix.lower() if is_array_file(source) else "dataset.csv"


_FIX_RUN = "give a run folder 'tabular train' created, unchanged, or start a new run"
_RUN_KEYS = {"settings", "source", "schema", "started", "dataset_sha256", "stingerml"}


def _run_data(run_dir: Path, progress: Optional[ProgressCallback] = None
              ) -> Tuple[Dict[str, Any], RunSettings, Table, Split]:
    """A run folder checked as a unit: ``run.json`` (keys, types, settings in range), its data copy
    (the SHA-256 ``run.json`` holds), read (``progress``: the reader's and the split's events) and
    split again and checked against ``data/split.json``. TrainingError (one line naming the file) on
    anything else."""
    info = _read_run(run_dir)
    settings = info["settings"]
    where = run_dir / "data" / "split.json"
    saved = _saved_split(where)  # before the data: its lists take ~36 bytes a row while they are read
    schema_copy = run_dir / "data" / "schema.json"
    data_copy = run_dir / "data" / _data_copy(info["source"])
    try:
        table, split = load_data(data_copy, settings, schema_copy if info["schema"] else None, progress)
    except TabularDataError as exc:
        raise TrainingError(f"{run_dir}: its data copy cannot be read any more: {exc}") from None
    if table.sha256 != info["dataset_sha256"]:
        raise TrainingError(f"{data_copy}: not the data this run trained on (its SHA-256 "
                            f"differs from run.json's dataset_sha256); {_FIX_RUN}")
    if saved != split:
        raise TrainingError(f"{run_dir}: the data copy no longer gives the saved split ({where}); start a new run")
    return info, settings, table, split


def _saved_split(where: Path) -> Split:
    """The row numbers ``data/split.json`` holds, each part as 8 bytes a row; TrainingError if a part is
    not a list of integers."""
    saved = jsonfile.read(where, TrainingError, fix=_FIX_RUN)
    parts = []
    for key in ("train", "val", "test"):
        rows = saved.get(key)
        try:
            if not isinstance(rows, list):
                raise TypeError
            parts.append(array("q", rows))
        except (TypeError, OverflowError):
            raise TrainingError(f"{where}: \"{key}\" is not a list of row numbers; {_FIX_RUN}") from None
    return Split(*parts)


def _resumable(run_dir: Path, progress: Optional[ProgressCallback] = None
               ) -> Tuple[Dict[str, Any], RunSettings, Table, Split, Optional[Path], Optional[TrainState]]:
    """A run folder to resume, checked as a unit: not finished, ``run.json``, data copy and split
    (:func:`_run_data`), and its last checkpoint and its state (``None`` and ``None``, a fresh start, without one)."""
    check_unfinished(run_dir, MODEL_FILE)
    info, settings, table, split = _run_data(run_dir, progress)
    ckpt = last_checkpoint(run_dir)
    state = None if ckpt is None else _checkpoint_state(ckpt, run_dir, settings, table)
    return info, settings, table, split, ckpt, state


def _read_run(run_dir: Path) -> Dict[str, Any]:
    """``run.json`` with its keys and types checked; ``"settings"`` as checked :class:`RunSettings`."""
    path = run_dir / "run.json"
    if not path.exists() and not path.is_symlink():
        raise no_run_file(run_dir, "tabular", "tabular train")
    info = jsonfile.read(path, TrainingError, fix=_FIX_RUN, max_bytes=1 << 20)
    if set(info) != _RUN_KEYS:
        raise TrainingError(f"{path}: not a run.json of stingerml (its keys differ); {_FIX_RUN}")
    f = lambda key, kinds: jsonfile.field(info, key, kinds, str(path), TrainingError, fix=_FIX_RUN)  # noqa: E731
    f("source", str)
    f("schema", bool)
    f("stingerml", str)
    sha = f("dataset_sha256", str)
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise TrainingError(f"{path}: \"dataset_sha256\" is not a SHA-256; {_FIX_RUN}")
    try:
        _dt.datetime.fromisoformat(f("started", str))
    except ValueError:
        raise TrainingError(f"{path}: \"started\" is not a time; {_FIX_RUN}") from None
    given = f("settings", dict)
    given = {"output_activation": {}, **given}  # a run.json from before bounded outputs
    names = {k for k in RunSettings.__dataclass_fields__}
    if set(given) != names:
        raise TrainingError(f"{path}: \"settings\" must have exactly the keys {', '.join(sorted(names))}; {_FIX_RUN}")
    info["settings"] = check_settings(RunSettings(**given), f"{path}: settings", TrainingError, _FIX_RUN)
    return info


def _meta_metrics(metrics: Optional[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    """The test metrics as ``meta.json`` holds them: CrowdMind's ``test_accuracy`` (seed 002) beside ``accuracy``."""
    if metrics is None or "accuracy" not in metrics:
        return metrics
    out = {"test_accuracy": metrics["accuracy"], **metrics}
    if "int8" in metrics:
        out["int8"] = _meta_metrics(metrics["int8"])
    return out


def _finish(run_dir: Path, est, table: Table, split: Split, s: RunSettings, metrics, started,
            rep: Matrix, source: Path) -> None:
    net = with_encoding(est.to_model(), table.encoding)
    steps = ["one_hot"] if table.encoding else []
    steps += [s.preprocess] if s.preprocess else []
    meta = {
        "version": META_VERSION,
        "stingerml": __version__,
        "timestamp": started.isoformat(),
        "dataset": {"id": s.dataset_id or source.stem, "hash": table.sha256, "rows": table.n_rows,
                    "dropped_rows": table.dropped},
        "features": {"count": len(table.feature_names), "names": list(table.feature_names),
                     "columns": list(table.columns),
                     "categorical": None if table.encoding is None else table.encoding.to_json()["categories"],
                     "ignored": list(s.ignore),
                     "preprocessing": {"steps": steps + ["standard_scaler"],
                                       "scaler_mean": [float(v) for v in est.mean_],
                                       "scaler_scale": [float(v) for v in est.scale_],
                                       "label_classes": list(table.classes)}},
        "labels": {"count": len(table.classes), "column": table.label,
                   "mapping": {str(k): c for k, c in enumerate(table.classes)}},
        "targets": list(table.target_names),
        "model": {"architecture": {"type": "mlp", "input": net.n_features, "hidden": list(s.hidden),
                                   "activation": "relu", "dropout": s.dropout, "output": net.output,
                                   "output_activation": list(net.activations) if net.output == "linear" else None,
                                   "outputs": net.n_outputs,
                                   "parameters": sum(len(L.weights) + len(L.bias) for L in net.layers)},
                  "file": MODEL_FILE, "format": network_format.FORMAT,
                  "metrics": metrics},
        "split": {"seed": s.seed, "fractions": list(s.split), "train": len(split.train), "val": len(split.val),
                  "test": len(split.test), "group": s.group},
        "training": {"epochs": s.epochs, "epochs_run": est.n_epochs_, "best_epoch": est.best_epoch_,
                     "stopped_early": est.stopped_early_, "batch_size": s.batch_size,
                     "optimizer": "adam", "learning_rate": s.learning_rate, "l2_alpha": s.alpha,
                     "patience": s.patience, "monitor": s.monitor,
                     "early_stopping": f"{s.monitor}, Keras counting" if split.val and s.early_stopping else None,
                     "seed": s.seed},
        "representative": {"split": "train", "rows_available": len(split.train), "rows_used": rep.n_rows,
                           "seed": s.seed},
    }
    check = None
    if s.regression:  # meta.json's check: each target's int8 error, on the test rows (else the calibration rows)
        check = Rows(table.X, split.test) if split.test else rep
    # model.onnx, model.tflite, meta.json (+ quantization) and model.json (its presence marks a finished run)
    files = export_network(net, rep, info=meta, tflite=s.tflite, check=check, network_file=True).files()
    files[HISTORY_FILE] = json_text(est.history_).encode("utf-8")
    write_set_to_folder(run_dir / "output", files, members=OUTPUT_FILES, option="--runs-dir")
