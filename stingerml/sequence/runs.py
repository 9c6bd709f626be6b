"""Sequence training runs on disk: the shared run folders, checkpoints and resume (:mod:`stingerml.learn.runfolder`).

A run folder ``runs/run_YYYYmmdd_HHMMSS_<8 hex>/`` as the tabular trainer's (the same
folder names, checkpoint files and log), holding::

    run.json                     settings and source (what --resume reads)
    data/dataset.npz|.csv        a byte copy of the data file
    data/split.json              seed, fractions and the sample indices of train/val/test
    checkpoints/epoch_NNNN.json  the full training state every N epochs (resume)
    checkpoints/best_model.json  the best epoch's network so far (stingerml-sequence)
    output/model.json            the final network (stingerml-sequence, float32 exact)
    output/model.onnx            the same network as ONNX (float32; scaler and mask inside)
    output/model.tflite          full int8 TFLite of the TCN, calibrated on 100 training samples (seeded)
    output/model_float32.tflite  float32 TFLite (--tflite-kind float|both; the LSTM's only TFLite)
    output/meta.json             input layout, mask handling, quantization, classes, metrics (float and
                                 int8), settings
    output/training_history.json per epoch: loss, accuracy, val_loss, val_accuracy
    logs/training.log            one line per epoch, plus start/resume/stop lines

Resuming re-reads the run's own data copy, checks the split, loads the last checkpoint
and continues; the outputs are the bytes an uninterrupted run writes.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple, Union

from ..core import jsonfile, preprocess
from ..core.atomic import write_bytes_atomic, write_set_to_folder, write_text_atomic
from .._kernels import backend
from .._version import __version__
from ..core.constants import TABULAR_MAX_PARAMETERS
from ..core.dense import predicted_classes
from ..core.errors import ExportError, SequenceDataError, TrainingError
from ..core.quantized_tcn import QuantizedTCN
from ..core.progress import ProgressCallback
from ..learn.epochs import TrainState
from ..learn.estimator import default_of
from ..learn.metrics import classification_report
from ..learn.runfolder import (
    _FIX_CHECKPOINT, CHECKPOINT_EVERY, KEEP_CHECKPOINTS, MAX_COUNT, RUNS_DIR, CheckpointHook, checkpoint_path,
    check_unfinished, json_text, last_checkpoint, log_line, new_run_dir, no_run_file, now, read_checkpoint,
    report_resume, run_id, state_from_bytes, train_in,
)
from ..learn.split import DEFAULT_FRACTIONS, Split, check_fractions, stratified_split
from ..learn.status import RunEvents

from . import model as model_file
from .data import SequenceData, Sequences, read_data
from .estimator import LSTMClassifier, TCNClassifier, _SequenceClassifier, shared_default
from .export import check_tflite, default_tflite, export_sequence
from .quantize import REPRESENTATIVE_SAMPLES, quantize_tcn, representative_samples

PathLike = Union[str, Path]
META_VERSION = "1.0.0"
MODEL_FILE, HISTORY_FILE = "model.json", "training_history.json"


ARCHITECTURES = {"tcn": TCNClassifier, "lstm": LSTMClassifier}
MAX_PARAMETERS = TABULAR_MAX_PARAMETERS
"""Largest network a run trains unless ``max_parameters`` says more (the tabular trainer's limit)."""


def estimator_default(name: str, architecture: str = "tcn") -> Any:
    """The default of the ``architecture``'s classifier parameter ``name`` (its ``__init__``)."""
    return default_of(ARCHITECTURES[architecture], name)


def default_depth(architecture: str) -> int:
    """``depth``'s default: the TCN's ``blocks`` or the LSTM's ``layers``."""
    return estimator_default("blocks" if architecture == "tcn" else "layers", architecture)


@dataclass
class SeqSettings:
    """What a sequence run trains and how (stored in ``run.json``). The one definition of every default:
    the classifiers' parameters are read from their ``__init__`` (:func:`estimator_default`), the run's
    own here or in :mod:`stingerml.learn.runfolder`; ``seq train`` builds its defaults and help from
    this class. ``depth``: the TCN's blocks or the LSTM's layers (:func:`default_depth`)."""

    architecture: str = "tcn"
    hidden: int = shared_default("hidden")
    depth: int = default_depth("tcn")
    kernel_size: int = estimator_default("kernel_size")
    pooling: str = estimator_default("pooling")
    dropout: float = shared_default("dropout")
    alpha: float = shared_default("alpha")
    learning_rate: float = shared_default("learning_rate")
    batch_size: int = shared_default("batch_size")
    epochs: int = shared_default("max_epochs")
    patience: int = shared_default("patience")
    monitor: str = shared_default("monitor")
    split: Tuple[float, float, float] = DEFAULT_FRACTIONS
    seed: int = shared_default("seed")
    checkpoint_every: int = CHECKPOINT_EVERY
    dataset_id: str = ""
    tflite: str = ""
    """``int8`` (``model.tflite``), ``float`` (``model_float32.tflite``) or ``both``; empty: the architecture's
    default (:attr:`tflite_kind`)."""
    preprocess: str = shared_default("preprocess")
    """A named step of :mod:`stingerml.core.preprocess` applied to each raw step and kept in the model
    (``hands21``: a step's 63 landmark values, or each 63-value hand of it); empty: none."""

    @property
    def tflite_kind(self) -> str:
        """The TFLite kind the run writes: ``tflite``, or the architecture's default
        (:func:`.export.default_tflite`: int8 for the TCN, float for the LSTM)."""
        return self.tflite or default_tflite(self.architecture)


@dataclass
class SeqRunResult:
    """A finished run: its folder, the fitted estimator, the test metrics (``None`` without a test part)."""

    run_dir: Path
    estimator: _SequenceClassifier
    metrics: Optional[Dict[str, Any]]
    data: SequenceData
    split: Split


def make_estimator(s: SeqSettings, has_val: bool) -> _SequenceClassifier:
    """The estimator a run's settings describe."""
    common = dict(hidden=s.hidden, dropout=s.dropout, alpha=s.alpha, learning_rate=s.learning_rate,
                  batch_size=s.batch_size, max_epochs=s.epochs, early_stopping=has_val, patience=s.patience,
                  monitor=s.monitor, seed=s.seed, preprocess=s.preprocess)
    if s.architecture == "lstm":
        return LSTMClassifier(layers=s.depth, **common)
    return TCNClassifier(blocks=s.depth, kernel_size=s.kernel_size, pooling=s.pooling, **common)


def load_data(path: PathLike, s: SeqSettings) -> Tuple[SequenceData, Split]:
    """Read the data file and split it (stratified by class); raises before anything is written."""
    fractions = check_fractions(s.split)
    data = read_data(path)
    try:
        preprocess.check(s.preprocess, data.X.n_features)
    except ValueError as exc:
        raise SequenceDataError(f"{path}: {exc} (features per step); give steps of 21 landmarks × x, y, z, or no "
                                "--preprocess") from None
    index = {c: k for k, c in enumerate(data.classes)}
    split = stratified_split([index[v] for v in data.labels], data.classes, fractions, s.seed,
                             source=Path(path).name)
    return data, split


def evaluate(net: model_file.SequenceNetwork, X: Sequences, labels: Sequence[str],
             quantized: Optional[QuantizedTCN] = None) -> Dict[str, Any]:
    """Accuracy, per-class precision/recall/F1 and the confusion matrix of ``net`` on ``X``; given
    ``quantized`` (the network's int8 model), the same metrics of its int8 outputs, computed by the
    library's integer emulator, under the key ``"int8"``."""
    index = {c: k for k, c in enumerate(net.classes)}
    codes = []
    for k, v in enumerate(labels):
        if v not in index:
            raise SequenceDataError(f"sample {k}: label {v!r} is not one of the model's classes "
                                    f"({', '.join(net.classes)})")
        codes.append(index[v])
    pred = predicted_classes(net.predict_proba(X).data, net.n_classes)
    metrics = classification_report(codes, pred, net.classes)
    if quantized is not None:
        pred = predicted_classes(quantized.predict_proba(X).data, net.n_classes)
        metrics["int8"] = classification_report(codes, pred, net.classes)
    return metrics


def representative(data: SequenceData, split: Split, settings: SeqSettings) -> Sequences:
    """The int8 calibration samples of a run: 100 training samples drawn with ``settings.seed`` (all
    when fewer; :func:`.quantize.representative_samples`)."""
    return representative_samples(data.X.take(split.train), REPRESENTATIVE_SAMPLES, settings.seed)


def load_quantized(run_dir: PathLike, net: model_file.SequenceNetwork) -> Optional[QuantizedTCN]:
    """The int8 model of a finished run, for the emulator; ``None`` when ``output/`` has no ``model.tflite``.

    Recomputed from ``net`` (the run's ``output/model.json``) and the run's own data copy (the same
    representative samples), then checked against ``output/model.tflite`` byte for byte.

    Raises:
        TrainingError: the run's data copy or ``model.tflite`` does not give that model.
    """
    from ..formats.tflite_sequence import to_tflite_int8

    path = Path(run_dir) / "output" / "model.tflite"
    if not path.exists():
        return None
    _, settings, data, split = _run_data(Path(run_dir))
    qnet = quantize_tcn(net, representative(data, split, settings))
    if to_tflite_int8(qnet) != path.read_bytes():
        raise TrainingError(f"{path}: not the int8 model of this run's model.json and data copy; "
                            "it was changed or comes from another run (retrain, or restore the run's files)")
    return qnet


def train_run(data_path: Optional[PathLike] = None, settings: Optional[SeqSettings] = None, *,
              runs_dir: PathLike = RUNS_DIR, resume: Optional[PathLike] = None,
              progress: Optional[ProgressCallback] = None,
              keep_checkpoints: Optional[int] = KEEP_CHECKPOINTS,
              max_parameters: int = MAX_PARAMETERS) -> SeqRunResult:
    """Train in a new run folder under ``runs_dir``, or continue the run folder ``resume``
    (as :func:`stingerml.tabular.runs.train_run`, also ``progress``, ``keep_checkpoints`` and
    ``max_parameters``): the settings, the data and the network's size are checked before the run
    folder is created, and a new run that fails later is removed again unless it holds a checkpoint."""
    if resume is not None:
        run_dir = Path(resume)
        check_unfinished(run_dir, MODEL_FILE)
        info, settings, data, split = _run_data(run_dir)
        started = _dt.datetime.fromisoformat(info["started"])
        source = Path(info["source"])
        ckpt = last_checkpoint(run_dir)
        state: Optional[TrainState] = _checkpoint_state(ckpt, run_dir, settings, data) if ckpt else None
        report_resume(progress, state, settings.epochs)
    else:
        if data_path is None or settings is None:
            raise TypeError("train_run needs data_path and settings (or resume)")
        settings.preprocess = preprocess.chosen(settings.preprocess)  # --preprocess none: no step
        check_settings(settings)
        data, split = load_data(data_path, settings)
        check_network_size(settings, data, max_parameters)
        started = now()
        source = Path(data_path)
        run_dir = new_run_dir(Path(runs_dir), started)
        state = None  # a fresh start

    def start() -> None:
        _start_run(run_dir, Path(data_path), settings, split, started, data)
        X = data.X
        log_line(run_dir, f"started: {X.n_samples} samples of up to {X.n_steps} steps × {X.n_features} "
                          f"features, split {len(split.train)}/{len(split.val)}/{len(split.test)}, "
                          f"backend {backend()}")

    resumed_from = None if resume is None else (ckpt.name if ckpt else "the start")
    return train_in(run_dir, resumed_from, start, lambda: _train(
        run_dir, settings, data, split, state, started, source, progress, keep_checkpoints))


def _train(run_dir: Path, settings: SeqSettings, data: SequenceData, split: Split, state: Optional[TrainState],
           started: _dt.datetime, source: Path, progress: Optional[ProgressCallback],
           keep_checkpoints: Optional[int]) -> SeqRunResult:
    est = make_estimator(settings, bool(split.val))
    X = data.X

    events = RunEvents(progress, run_dir)  # "start" now, the fit's "done" once output/ is written
    checkpoints = CheckpointHook(run_dir, settings.checkpoint_every, settings.epochs,
                                 lambda P, path: model_file.save(est.snapshot(P), path), run_id(run_dir),
                                 keep_checkpoints)
    kw: Dict[str, Any] = {"classes": data.classes, "progress": events, "state": state,
                          "on_epoch_end": checkpoints}
    if split.val:
        kw["validation_data"] = (X.take(split.val), [data.labels[i] for i in split.val])
    try:
        events.start(0 if state is None else state.epoch, settings.epochs)
        est.fit(X.take(split.train), [data.labels[i] for i in split.train], **kw)
    except KeyboardInterrupt as exc:
        raise checkpoints.interrupted() from exc
    net = est.to_model()
    qnet = None if settings.tflite_kind == "float" else quantize_tcn(net, representative(data, split, settings))
    metrics = evaluate(net, X.take(split.test), [data.labels[i] for i in split.test], qnet) if split.test else None
    _finish(run_dir, est, data, split, settings, metrics, started, source, qnet)
    log_line(run_dir, f"finished after {est.n_epochs_} epochs (best {est.best_epoch_})")
    events.finished()
    return SeqRunResult(run_dir, est, metrics, data, split)


def _start_run(run_dir: Path, path: Path, s: SeqSettings, split: Split, started: _dt.datetime,
               data: SequenceData) -> None:
    write_bytes_atomic(run_dir / "data" / f"dataset{path.suffix.lower()}", path.read_bytes())
    write_text_atomic(run_dir / "data" / "split.json", json_text({
        "seed": s.seed, "fractions": list(s.split), "rows": "indices of the samples, in file order",
        "train": split.train, "val": split.val, "test": split.test}))
    write_text_atomic(run_dir / "run.json", json_text({
        "kind": "sequence", "settings": asdict(s), "source": str(path), "data_file": f"dataset{path.suffix.lower()}",
        "started": started.isoformat(), "dataset_sha256": data.sha256, "stingerml": __version__}))


_FIX_RUN = "give a run folder 'seq train' created, unchanged, or start a new run"
_FIX_SETTINGS = "fix the setting"


def _check_fields(given: Dict[str, Any], source: str, error: type, fix: str) -> None:
    """The fields of a settings dict: types, finite numbers, counts in ``[0, MAX_COUNT]``, the seed
    a signed 64-bit integer, the architecture and the three split fractions."""
    default = SeqSettings()
    f = lambda key, kinds, **kw: jsonfile.field(given, key, kinds, source, error, fix=fix, **kw)  # noqa: E731
    for x in fields(SeqSettings):
        kind = {tuple: list}.get(type(getattr(default, x.name)), type(getattr(default, x.name)))
        bounds = {"low": -(2 ** 63), "high": 2 ** 63 - 1} if x.name == "seed" else \
            {"low": 0, "high": MAX_COUNT} if kind is int else \
            {"low": 0.0, "high": 1e6} if kind is float else {}
        f(x.name, (list, tuple) if kind is list else kind, **bounds)
    if given["architecture"] not in ARCHITECTURES or len(given["split"]) != 3 or \
            not all(jsonfile._is(v, float) for v in given["split"]):
        raise error(f"{source}: settings \"architecture\" or \"split\" is not one a run has; {fix}")


def check_settings(s: SeqSettings, source: str = "settings", error: type = SequenceDataError,
                   fix: str = _FIX_SETTINGS) -> None:
    """``s`` checked as a whole before anything is created (a new run) or resumed: every field
    (:func:`_check_fields`), the classifier's own rules, the TFLite kind and the checkpoint interval;
    ``error("{source}: ...; {fix}")`` names the first bad one."""
    _check_fields(asdict(s), source, error, fix)
    try:
        make_estimator(s, True)._check_params()
        check_tflite(s.architecture, s.tflite_kind)
        if s.checkpoint_every < 1:
            raise SequenceDataError("checkpoint_every must be a positive integer")
    except (SequenceDataError, ExportError) as exc:
        raise error(f"{source}: {exc}; {fix}") from None


def check_network_size(s: SeqSettings, data: SequenceData, max_parameters: int) -> int:
    """The network's parameter count, or SequenceDataError above ``max_parameters`` (before training)."""
    from .._kernels.sequence_pure import n_params

    n = n_params(make_estimator(s, True)._spec(data.X.n_features, len(data.classes)))
    if n > max_parameters:
        raise SequenceDataError(
            f"--hidden {s.hidden} --depth {s.depth} makes a {s.architecture.upper()} of {n:,} parameters "
            f"({data.X.n_features} features, {len(data.classes)} classes), above the limit of {max_parameters:,}; "
            "use a smaller network, or raise the limit with --max-parameters")
    return n
_RUN_KEYS = {"kind", "settings", "source", "data_file", "started", "dataset_sha256", "stingerml"}


def _run_data(run_dir: Path) -> Tuple[Dict[str, Any], SeqSettings, SequenceData, Split]:
    """A sequence run folder checked as a unit (as :func:`stingerml.tabular.runs._run_data`):
    ``run.json`` (keys, types, settings in range), its data copy against the SHA-256 ``run.json``
    holds, read and split again and checked against ``data/split.json``. TrainingError otherwise."""
    path = run_dir / "run.json"
    if not path.exists() and not path.is_symlink():
        raise no_run_file(run_dir, "sequence", "seq train")
    info = jsonfile.read(path, TrainingError, fix=_FIX_RUN, max_bytes=1 << 20)
    if info.get("kind") != "sequence" or set(info) != _RUN_KEYS:
        raise TrainingError(f"{path}: not a run.json of a sequence run (its kind or keys differ); {_FIX_RUN}")
    f = lambda doc, key, kinds, **kw: jsonfile.field(doc, key, kinds, str(path), TrainingError,  # noqa: E731
                                                      fix=_FIX_RUN, **kw)
    for key in ("source", "stingerml", "started"):
        f(info, key, str)
    try:
        _dt.datetime.fromisoformat(info["started"])
    except ValueError:
        raise TrainingError(f"{path}: \"started\" is not a time; {_FIX_RUN}") from None
    if f(info, "data_file", str) not in ("dataset.npz", "dataset.npy", "dataset.csv"):
        raise TrainingError(f"{path}: \"data_file\" is not a data copy of the run; {_FIX_RUN}")
    sha = f(info, "dataset_sha256", str)
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise TrainingError(f"{path}: \"dataset_sha256\" is not a SHA-256; {_FIX_RUN}")
    given = dict(f(info, "settings", dict))
    given.setdefault("tflite", "")  # a run from before the int8 export: the architecture's default
    given.setdefault("preprocess", "")  # a run from before --preprocess: none
    if set(given) != {x.name for x in fields(SeqSettings)}:
        raise TrainingError(f"{path}: \"settings\" must have exactly the keys of SeqSettings; {_FIX_RUN}")
    _check_fields(given, str(path), TrainingError, _FIX_RUN)
    settings = SeqSettings(**{**given, "split": tuple(given["split"])})
    check_settings(settings, str(path), TrainingError, _FIX_RUN)
    try:
        data, split = load_data(run_dir / "data" / info["data_file"], settings)
    except (SequenceDataError, ExportError) as exc:
        raise TrainingError(f"{path}: {exc}; {_FIX_RUN}") from None
    if data.sha256 != sha:
        raise TrainingError(f"{run_dir / 'data' / info['data_file']}: not the data this run trained on (its SHA-256 "
                            f"differs from run.json's dataset_sha256); {_FIX_RUN}")
    where = run_dir / "data" / "split.json"
    saved = jsonfile.read(where, TrainingError, fix=_FIX_RUN)
    if [saved.get(key) for key in ("train", "val", "test")] != [split.train, split.val, split.test]:
        raise TrainingError(f"{run_dir}: the data copy no longer gives the saved split ({where}); start a new run")
    return info, settings, data, split


def _checkpoint_state(ckpt: Path, run_dir: Path, settings: SeqSettings, data: SequenceData) -> TrainState:
    """The checkpoint ``ckpt`` checked as a unit against the run ``run_dir`` (its run id, the
    network's parameter count, the epochs, the epoch of its name): TrainingError otherwise."""
    from .._kernels.sequence_pure import n_params

    spec = make_estimator(settings, True)._spec(data.X.n_features, len(data.classes))
    state = state_from_bytes(read_checkpoint(ckpt), str(ckpt), n_params(spec), settings.epochs, run_id(run_dir))
    if ckpt.name != checkpoint_path(run_dir, state.epoch).name:
        raise TrainingError(f"{ckpt}: holds epoch {state.epoch}, not the epoch of its name; it comes from "
                            f"elsewhere; {_FIX_CHECKPOINT}")
    return state


def _finish(run_dir: Path, est: _SequenceClassifier, data: SequenceData, split: Split, s: SeqSettings,
            metrics: Optional[Dict[str, Any]], started: _dt.datetime, source: Path,
            qnet: Optional[QuantizedTCN]) -> None:
    net = est.to_model()
    arch: Dict[str, Any] = {"type": net.architecture, "hidden": net.hidden, "dropout": s.dropout,
                            "parameters": len(net.params), "output": "softmax"}
    if net.architecture == "tcn":
        arch.update(blocks=net.depth, kernel_size=net.kernel_size, dilations=[2 ** l for l in range(net.depth)],
                    pooling=net.pooling, receptive_field=1 + (net.kernel_size - 1) * (2 ** net.depth - 1))
    else:
        arch.update(layers=net.depth, pooling="last")
    meta = {
        "version": META_VERSION, "stingerml": __version__, "timestamp": started.isoformat(),
        "dataset": {"id": s.dataset_id or source.stem, "hash": data.sha256,
                    "samples": data.X.n_samples, "steps": data.X.n_steps, "features": data.X.n_features},
        "labels": {"count": net.n_classes, "mapping": {str(k): c for k, c in enumerate(net.classes)}},
        "model": {"architecture": arch, "file": MODEL_FILE, "format": model_file.FORMAT, "metrics": metrics},
        "split": {"seed": s.seed, "fractions": list(s.split), "train": len(split.train), "val": len(split.val),
                  "test": len(split.test)},
        "training": {"epochs": s.epochs, "epochs_run": est.n_epochs_, "best_epoch": est.best_epoch_,
                     "stopped_early": est.stopped_early_, "batch_size": s.batch_size, "optimizer": "adam",
                     "learning_rate": s.learning_rate, "l2_alpha": s.alpha, "patience": s.patience,
                     "early_stopping": f"{s.monitor}, Keras counting" if split.val else None, "seed": s.seed},
        "representative": None if qnet is None else {
            "split": "train", "samples_available": len(split.train), "samples_used": qnet.representative_samples,
            "seed": s.seed},
    }
    files = export_sequence(net, info=meta, tflite=s.tflite_kind, quantized=qnet)
    files[HISTORY_FILE] = json_text(est.history_).encode("utf-8")
    files[MODEL_FILE] = model_file.dumps(net)  # its presence marks a finished run
    write_set_to_folder(run_dir / "output", files, members=tuple(sorted(files)), option="--runs-dir")
