"""Run folders every trainer shares: the folder, its log, checkpoints of a :class:`TrainState`, interrupts.

A run folder ``runs/run_YYYYmmdd_HHMMSS_<8 hex>/`` (UTC start time, random suffix) holds
``data/``, ``checkpoints/`` (``epoch_NNNN.json``: the whole training state, every N epochs and
of the last finished epoch when training is interrupted, the newest :data:`KEEP_CHECKPOINTS`
kept unless told otherwise; ``best_model.json``: the best epoch's model so far), ``output/`` and ``logs/training.log``.
One process at a time trains a run folder (:func:`exclusive`).
:class:`CheckpointHook` writes the checkpoints: it is the ``on_epoch_end`` hook of the epoch
loop (:func:`stingerml.learn.epochs.run_epochs`), not a progress callback.
The trainers' ``runs`` modules (:mod:`stingerml.tabular.runs`, :mod:`stingerml.sequence.runs`)
add what their data and outputs are.
"""
from __future__ import annotations

import base64
import contextlib
import datetime as _dt
import hashlib
import json
import math
import os
import re
import secrets
import shutil
from array import array
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, Optional, Sequence, Tuple, TypeVar

from ..core import jsonfile
from ..core.atomic import open_atomic, recover, write_bytes_atomic
from ..core.binary import le_array, le_bytes
from ..core.errors import OutputError, TrainingError
from ..core.progress import Progress, ProgressCallback
from .epochs import TrainState

CHECKPOINT_FORMAT = "stingerml-tabular-checkpoint"  # the name of the first trainer that wrote them


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during training: ``run_dir`` and its last ``checkpoint`` (a Path or ``None``) stay on disk."""

    def __init__(self, run_dir: Path, checkpoint: Optional[Path]) -> None:
        super().__init__(f"interrupted: {run_dir}")
        self.run_dir = run_dir
        self.checkpoint = checkpoint


def _b64(values: array) -> str:
    return base64.b64encode(le_bytes(array("d", values))).decode("ascii")


CHECKPOINT_EVERY = 10
"""Every trainer's default checkpoint interval in epochs (``--checkpoint-every``)."""
RUNS_DIR = "runs"
"""Where runs go unless told (``--runs-dir``): each run is a new folder in it."""

RUN_FILE = "run.json"
"""The file that makes a folder a run folder (its settings and source)."""
_RUN_NAME = re.compile(r"run_\d{8}_\d{6}_[0-9a-f]{8}")  # new_run_dir's names


def no_run_file(run_dir: Path, kind: str, command: str) -> TrainingError:
    """The error for ``--resume`` of a folder without ``run.json``: a run stopped (killed) before it
    wrote its ``run.json`` (a folder named as :func:`new_run_dir` names them: nothing to resume), or
    not a ``kind`` run folder at all (``command``: the one that creates them)."""
    if _RUN_NAME.fullmatch(run_dir.name) and run_dir.is_dir():
        return TrainingError(f"{run_dir}: this run was stopped before it started (no {RUN_FILE} yet); nothing to "
                             "resume: delete the folder and start a new run")
    return TrainingError(f"{run_dir}: not a {kind} run folder (no {RUN_FILE}); give the folder '{command}' created")


def owns(run_dir: Path, path: Path) -> bool:
    """Whether the existing file ``path`` is one of the run folder ``run_dir``'s own files: its
    ``run.json`` or anything in its subfolders (``data/``, ``checkpoints/``, ``output/``, ``logs/``).
    False when ``run_dir`` is not a run folder (no ``run.json``); other files beside ``run.json``
    (a user's predictions, say) are not the run's."""
    if not (run_dir / RUN_FILE).is_file():
        return False
    try:
        rel = path.resolve().relative_to(run_dir.resolve())
    except ValueError:
        return False
    return len(rel.parts) > 1 or rel.parts == (RUN_FILE,)


MAX_COUNT = 10_000_000
"""Upper bound of epochs, patience, checkpoint interval, batch size and layer sizes: far above use."""


def state_to_bytes(st: TrainState, run: str = "") -> bytes:
    """A checkpoint file's bytes: the whole :class:`TrainState` (float64 arrays in base64) and the
    id of the run it belongs to (:func:`run_id`)."""
    doc = {
        "format": CHECKPOINT_FORMAT, "version": 1, "run": run, "epoch": st.epoch, "step": st.step,
        "rng_state": st.rng_state,
        "best_loss": None if math.isinf(st.best_loss) else st.best_loss, "best_epoch": st.best_epoch,
        "wait": st.wait, "done": st.done, "P": _b64(st.P), "M": _b64(st.M), "V": _b64(st.V),
        "best_P": None if st.best_P is None else _b64(st.best_P), "history": st.history,
    }
    return (json.dumps(doc, sort_keys=True) + "\n").encode("utf-8")


_FIX_CHECKPOINT = "resume from an earlier checkpoint (delete this one) or start a new run"
_CHECKPOINT_KEYS = {"format", "version", "run", "epoch", "step", "rng_state", "best_loss", "best_epoch", "wait",
                    "done", "P", "M", "V", "best_P", "history"}


def state_from_bytes(data: bytes, source: str, n_params: Optional[int] = None,
                     max_epochs: Optional[int] = None, run: Optional[str] = None) -> TrainState:
    """Parse and check a checkpoint file as a unit: its keys, types and ranges (``rng_state`` a
    nonzero uint32, counts within the epochs), finite float64 arrays of one length (``n_params``,
    the network's, when given), a history of one entry per epoch, and (given ``run``) the run id
    it was written for. TrainingError naming ``source`` when anything is off: the kernels only
    ever get a state that passed."""
    err = TrainingError
    doc = jsonfile.loads(data, source, err, fix=_FIX_CHECKPOINT)
    if doc.get("format") != CHECKPOINT_FORMAT or doc.get("version") != 1 or set(doc) != _CHECKPOINT_KEYS:
        raise err(f"{source}: not a {CHECKPOINT_FORMAT} version 1 file (format, version or keys differ); "
                  f"{_FIX_CHECKPOINT}")
    f = lambda key, kinds, **kw: jsonfile.field(doc, key, kinds, source, err, fix=_FIX_CHECKPOINT, **kw)  # noqa: E731
    top = MAX_COUNT if max_epochs is None else max_epochs
    if run is not None and f("run", str) != run:
        raise err(f"{source}: a checkpoint of another run (its run id is not this run.json's); {_FIX_CHECKPOINT}")
    epoch = f("epoch", int, low=0, high=top)
    st = TrainState(
        P=_floats(doc, "P", source, n_params), step=f("step", int, low=0, high=2 ** 53),
        rng_state=f("rng_state", int, low=1, high=2 ** 32 - 1), epoch=epoch,
        best_loss=math.inf if doc["best_loss"] is None else f("best_loss", float, low=0.0),
        best_epoch=f("best_epoch", int, low=0, high=epoch), wait=f("wait", int, low=0, high=epoch),
        done=f("done", bool), history=f("history", list))
    n = len(st.P)
    st.M, st.V = _floats(doc, "M", source, n), _floats(doc, "V", source, n)
    st.best_P = None if doc["best_P"] is None else _floats(doc, "best_P", source, n)
    if any(v < 0 for v in st.V):
        raise err(f"{source}: \"V\" (Adam's second moments) holds a negative value; {_FIX_CHECKPOINT}")
    if (st.best_P is None) != (doc["best_loss"] is None) or (st.best_P is None) != (st.best_epoch == 0):
        raise err(f"{source}: \"best_P\", \"best_loss\" and \"best_epoch\" disagree; {_FIX_CHECKPOINT}")
    keys = set(st.history[0]) if st.history and isinstance(st.history[0], dict) else set()
    if len(st.history) != epoch or not {"epoch", "loss"} <= keys or not all(
            isinstance(h, dict) and set(h) == keys and h["epoch"] == i + 1
            and all(isinstance(k, str) and jsonfile._is(v, float) for k, v in h.items())
            for i, h in enumerate(st.history)):
        raise err(f"{source}: \"history\" must hold one object of numbers per epoch done ({epoch}), each with "
                  f"the same keys, its \"epoch\" (1, 2, ...) and \"loss\"; {_FIX_CHECKPOINT}")
    return st


def _floats(doc: Dict[str, Any], key: str, source: str, n: Optional[int]) -> array:
    text = doc[key]
    try:
        raw = base64.b64decode(text, validate=True) if isinstance(text, str) else None
    except ValueError:
        raw = None
    if raw is None or len(raw) % 8:
        raise TrainingError(f"{source}: \"{key}\" is not base64 float64 values; {_FIX_CHECKPOINT}")
    values = le_array("d", raw)
    if n is not None and len(values) != n:
        raise TrainingError(f"{source}: \"{key}\" holds {len(values)} values; this run's network has {n} "
                            f"parameters; {_FIX_CHECKPOINT}")
    if not all(map(math.isfinite, values)):
        raise TrainingError(f"{source}: \"{key}\" holds a value that is not finite; {_FIX_CHECKPOINT}")
    return values


def read_checkpoint(path: Path) -> bytes:
    """The bytes of a checkpoint file (TrainingError naming it when it cannot be read)."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise TrainingError(f"{path}: cannot read: {exc.strerror or exc}; {_FIX_CHECKPOINT}") from None


def run_id(run_dir: Path) -> str:
    """The id of a run, written into its checkpoints: the SHA-256 of its ``run.json`` (settings,
    data hash and start time to the microsecond), first 16 hex digits."""
    try:
        return hashlib.sha256((run_dir / "run.json").read_bytes()).hexdigest()[:16]
    except OSError as exc:
        raise TrainingError(f"{run_dir}/run.json: cannot read: {exc.strerror or exc}") from None


def last_checkpoint(run_dir: Path) -> Optional[Path]:
    """The checkpoint with the highest epoch in ``run_dir/checkpoints``, if any."""
    found = sorted((run_dir / "checkpoints").glob("epoch_*.json"))
    return found[-1] if found else None


def now() -> _dt.datetime:
    """The current UTC time (a run's start time)."""
    return _dt.datetime.now(_dt.timezone.utc)


def new_run_dir(runs_dir: Path, started: _dt.datetime) -> Path:
    """A new folder ``runs_dir/run_<UTC time>_<8 hex>/`` with ``data``, ``checkpoints``, ``output``, ``logs``."""
    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
        for _ in range(100):
            d = runs_dir / f"run_{started:%Y%m%d_%H%M%S}_{secrets.token_hex(4)}"
            try:
                d.mkdir()
            except FileExistsError:
                continue
            for sub in ("data", "checkpoints", "output", "logs"):
                (d / sub).mkdir()
            return d
    except OSError as exc:
        raise OutputError(f"{runs_dir}: cannot create a run folder ({exc.strerror or exc}); "
                          "choose another --runs-dir") from exc
    raise OutputError(f"{runs_dir}: no free run folder name")


def json_text(obj: Any) -> str:
    """Indented JSON with sorted keys and a final newline (no NaN)."""
    return json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n"


def write_json_atomic(path: Path, obj: Any) -> None:
    """:func:`json_text` of ``obj`` written atomically in pieces: a split's million row numbers are never
    held as one text (nor as the list of pieces ``json.dumps`` joins)."""
    encoder = json.JSONEncoder(indent=2, sort_keys=True, allow_nan=False)
    with open_atomic(path) as fh:
        piece: list = []
        for chunk in encoder.iterencode(obj):
            piece.append(chunk)
            if len(piece) == 4096:
                fh.write("".join(piece).encode("utf-8"))
                piece.clear()
        fh.write(("".join(piece) + "\n").encode("utf-8"))


def checkpoint_path(run_dir: Path, epoch: int) -> Path:
    """``run_dir/checkpoints/epoch_NNNN.json``: the state after ``epoch`` finished epochs."""
    return run_dir / "checkpoints" / f"epoch_{epoch:04d}.json"


KEEP_CHECKPOINTS = 3
"""Epoch checkpoints a run keeps unless told otherwise: the newest three (``best_model.json``, the
best epoch's network, is kept besides)."""


def prune_checkpoints(run_dir: Path, keep: Optional[int]) -> int:
    """Delete all but the ``keep`` newest epoch checkpoints of ``run_dir`` (``None``: keep every
    one); the number deleted. The newest, the one ``--resume`` reads, always stays."""
    if keep is None:
        return 0
    old = sorted((run_dir / "checkpoints").glob("epoch_*.json"))[:-max(keep, 1)]
    for path in old:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise OutputError(f"{path}: cannot delete an old checkpoint ({exc.strerror or exc}); "
                              "check the folder's permissions, or keep every one (--keep-checkpoints all)") from exc
    return len(old)


def checkpoint_sizes(run_dir: Path) -> Dict[str, int]:
    """The files of ``run_dir/checkpoints`` (epoch checkpoints by epoch, then ``best_model.json``)
    and their sizes in bytes."""
    found = sorted((run_dir / "checkpoints").glob("epoch_*.json")) + sorted(
        (run_dir / "checkpoints").glob("best_model.json"))
    return {p.name: p.stat().st_size for p in found}


class CheckpointHook:
    """A run folder's checkpoints: the ``on_epoch_end`` hook (:data:`~stingerml.learn.epochs.EpochHook`)
    every trainer's run passes to its estimator's ``fit``.

    After each finished epoch of the ``max_epochs`` it logs the epoch's numbers, saves the best
    model so far through ``save_best(P, path)`` (the parameters ``P`` of the best epoch,
    ``checkpoints/best_model.json``) and, every ``checkpoint_every`` epochs, the whole state
    (:func:`state_to_bytes`, marked with the run id ``run``, see :func:`run_id`), keeping the
    ``keep`` newest (:func:`prune_checkpoints`; ``None``: every one). It keeps the
    bytes of the last finished epoch in memory (``finished``: ``(epoch, bytes)``), so that
    :meth:`interrupted` can checkpoint it."""

    def __init__(self, run_dir: Path, checkpoint_every: int, max_epochs: int,
                 save_best: Callable[[Sequence[float], Path], None], run: str = "",
                 keep: Optional[int] = KEEP_CHECKPOINTS) -> None:
        self.run_dir, self.every, self.max_epochs, self.run = run_dir, checkpoint_every, max_epochs, run
        self.save_best, self.keep = save_best, keep
        self.finished: Optional[Tuple[int, bytes]] = None  # (epoch, checkpoint bytes)

    def __call__(self, st: TrainState) -> None:
        epoch = st.epoch
        values = " ".join(f"{k} {v:.6g}" for k, v in st.history[-1].items() if k != "epoch")
        log_line(self.run_dir, f"epoch {epoch}/{self.max_epochs}: {values}")
        if st.best_epoch == epoch and st.best_P is not None:
            self.save_best(st.best_P, self.run_dir / "checkpoints" / "best_model.json")
        if not st.done:
            self.finished = (epoch, state_to_bytes(st, self.run))
            if epoch % self.every == 0:
                write_bytes_atomic(checkpoint_path(self.run_dir, epoch), self.finished[1])
                prune_checkpoints(self.run_dir, self.keep)

    def interrupted(self) -> RunInterrupted:
        """After Ctrl-C (or SIGTERM) inside the fit: writes the checkpoint of the last finished epoch
        (resuming from it gives the uninterrupted run's bytes), logs the stop, and returns the
        :class:`RunInterrupted` to raise."""
        if self.finished is not None and not checkpoint_path(self.run_dir, self.finished[0]).exists():
            write_bytes_atomic(checkpoint_path(self.run_dir, self.finished[0]), self.finished[1])
            prune_checkpoints(self.run_dir, self.keep)
        ckpt = last_checkpoint(self.run_dir)
        log_line(self.run_dir, f"interrupted; last checkpoint: {ckpt.name if ckpt else 'none'}")
        return RunInterrupted(self.run_dir, ckpt)


@contextlib.contextmanager
def exclusive(run_dir: Path) -> Iterator[None]:
    """Within: this process is the only one training ``run_dir``: an advisory lock (``flock``) on the
    folder itself, released on exit and by the system when the process dies (a killed run can be
    resumed at once). A second process training the same run (``--resume`` of a run still running)
    is TrainingError, before it writes anything. Where there is no ``flock`` (Windows,
    WebAssembly) or the file system has no locks, nothing is locked."""
    try:
        import fcntl
    except ImportError:  # no flock here
        yield
        return
    fd = os.open(run_dir, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise TrainingError(f"{run_dir}: another process is training this run right now; wait for it "
                                "to end (or stop it) before --resume") from None
        except OSError:
            pass  # a file system without locks
        yield
    finally:
        os.close(fd)


_T = TypeVar("_T")


def train_in(run_dir: Path, resumed_from: Optional[str], start: Callable[[], None], train: Callable[[], _T]) -> _T:
    """One training of ``run_dir``, as every trainer runs it: the folder held by this process
    (:func:`exclusive`); a new run (``resumed_from`` None) first ``start()`` s (its data copy and
    first log line; an OSError there is OutputError), a resumed one logs where it continues
    (``resumed_from``: the checkpoint's name); then ``train()``. A new run that fails (not by an
    interrupt) before it holds a checkpoint is removed: no half run folder stays."""
    try:
        with exclusive(run_dir):  # one process per run: a --resume of a running run is refused
            if resumed_from is None:
                try:
                    start()
                except OSError as exc:
                    raise OutputError(f"{run_dir}: cannot write the run's data ({exc.strerror or exc})") from exc
            else:
                log_line(run_dir, f"resumed from {resumed_from}")
            return train()
    except (KeyboardInterrupt, RunInterrupted):
        raise
    except BaseException:
        if resumed_from is None and last_checkpoint(run_dir) is None:
            shutil.rmtree(run_dir, ignore_errors=True)
        raise


def check_unfinished(run_dir: Path, model_file: str) -> None:
    """TrainingError if ``run_dir`` has finished (its ``output/model_file`` exists): nothing to resume.
    Checked before the run's data is read (a big data copy takes a minute to read). A writing of
    ``output/`` that was killed is completed (past its commit point) or undone first
    (:func:`~stingerml.core.atomic.recover`): a run whose outputs were committed has finished, and
    no journal or staging folder stays in ``output/`` (only in a run folder: one with a ``run.json``)."""
    if (run_dir / RUN_FILE).is_file():
        recover(run_dir / "output")
    if (run_dir / "output" / model_file).exists():
        raise TrainingError(f"{run_dir}: this run has finished (output/{model_file} exists); nothing to resume")


def report_resume(progress: Optional[ProgressCallback], state: Optional[TrainState], epochs: int) -> None:
    """The ``resume`` event, ``resuming from epoch N of M``, once a run folder is checked as a unit
    (nothing is announced for a run that cannot be resumed); ``state`` None: from the start."""
    if progress is not None:
        progress(Progress("resume", f"resuming from epoch {0 if state is None else state.epoch} of {epochs}"))


def log_line(run_dir: Path, line: str) -> None:
    """Append a time-stamped line to ``run_dir/logs/training.log``."""
    try:
        with open(run_dir / "logs" / "training.log", "a", encoding="utf-8") as fh:
            fh.write(f"{now():%Y-%m-%dT%H:%M:%SZ} {line}\n")
    except OSError as exc:
        raise OutputError(f"{run_dir}/logs/training.log: cannot write ({exc.strerror or exc})") from exc
