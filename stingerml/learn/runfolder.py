"""Run folders every trainer shares: the folder, its log, checkpoints of a :class:`TrainState`, interrupts.

A run folder ``runs/run_YYYYmmdd_HHMMSS_<8 hex>/`` (UTC start time, random suffix) holds
``data/``, ``checkpoints/`` (``epoch_NNNN.json``: the whole training state, every N epochs and
of the last finished epoch when training is interrupted;
``best_model.json``: the best epoch's model so far), ``output/`` and ``logs/training.log``.
The trainers' ``runs`` modules (:mod:`stingerml.tabular.runs`, :mod:`stingerml.sequence.runs`)
add what their data and outputs are.
"""
from __future__ import annotations

import base64
import datetime as _dt
import json
import math
import secrets
from array import array
from pathlib import Path
from typing import Any, Callable, Optional, Tuple

from ..core.atomic import write_bytes_atomic
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


def _unb64(text: str) -> array:
    return le_array("d", base64.b64decode(text))


def state_to_bytes(st: TrainState) -> bytes:
    """A checkpoint file's bytes: the whole :class:`TrainState` (float64 arrays in base64)."""
    doc = {
        "format": CHECKPOINT_FORMAT, "version": 1, "epoch": st.epoch, "step": st.step, "rng_state": st.rng_state,
        "best_loss": None if math.isinf(st.best_loss) else st.best_loss, "best_epoch": st.best_epoch,
        "wait": st.wait, "done": st.done, "P": _b64(st.P), "M": _b64(st.M), "V": _b64(st.V),
        "best_P": None if st.best_P is None else _b64(st.best_P), "history": st.history,
    }
    return (json.dumps(doc, sort_keys=True) + "\n").encode("utf-8")


def state_from_bytes(data: bytes, source: str) -> TrainState:
    """Parse a checkpoint file (TrainingError naming ``source`` when it is not one)."""
    try:
        doc = json.loads(data.decode("utf-8"))
        if doc.get("format") != CHECKPOINT_FORMAT:
            raise ValueError("not a checkpoint")
        return TrainState(
            P=_unb64(doc["P"]), M=_unb64(doc["M"]), V=_unb64(doc["V"]), step=int(doc["step"]),
            rng_state=int(doc["rng_state"]), epoch=int(doc["epoch"]),
            best_loss=math.inf if doc["best_loss"] is None else float(doc["best_loss"]),
            best_epoch=int(doc["best_epoch"]), best_P=None if doc["best_P"] is None else _unb64(doc["best_P"]),
            wait=int(doc["wait"]), history=list(doc["history"]), done=bool(doc["done"]))
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, AttributeError) as exc:
        raise TrainingError(f"{source}: not a readable training checkpoint ({exc}); "
                            "resume from an earlier one or start a new run") from exc


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


def checkpoint_path(run_dir: Path, epoch: int) -> Path:
    """``run_dir/checkpoints/epoch_NNNN.json``: the state after ``epoch`` finished epochs."""
    return run_dir / "checkpoints" / f"epoch_{epoch:04d}.json"


def epochs_done(run_dir: Path) -> int:
    """The epochs finished at the run's last checkpoint (0 without one): where a resume continues."""
    ckpt = last_checkpoint(run_dir)
    return state_from_bytes(ckpt.read_bytes(), str(ckpt)).epoch if ckpt else 0


class EpochCallback:
    """A run's progress callback (every trainer's): after each epoch it logs the epoch's numbers,
    saves the best model so far through ``save_best(path)`` (``checkpoints/best_model.json``) and,
    every ``checkpoint_every`` epochs, the whole ``state``; then passes the event on to ``progress``.

    It also keeps the state after the last finished epoch in memory (the estimator changes
    ``state`` in place during an epoch), so that :meth:`interrupted` can checkpoint it."""

    def __init__(self, run_dir: Path, state: TrainState, checkpoint_every: int, save_best: Callable[[Path], None],
                 progress: Optional[ProgressCallback]) -> None:
        self.run_dir, self.state, self.every = run_dir, state, checkpoint_every
        self.save_best, self.progress = save_best, progress
        self.finished: Optional[Tuple[int, bytes]] = None  # (epoch, checkpoint bytes)

    def __call__(self, event: Progress) -> None:
        if event.stage == "epoch":
            epoch = event.done
            values = " ".join(f"{k} {v:.6g}" for k, v in (event.metrics or {}).items() if k != "epoch")
            log_line(self.run_dir, f"epoch {epoch}/{event.total}: {values}")
            if self.state.best_epoch == epoch:
                self.save_best(self.run_dir / "checkpoints" / "best_model.json")
            if not self.state.done:
                self.finished = (epoch, state_to_bytes(self.state))
                if epoch % self.every == 0:
                    write_bytes_atomic(checkpoint_path(self.run_dir, epoch), self.finished[1])
        if self.progress is not None:
            self.progress(event)

    def interrupted(self) -> RunInterrupted:
        """After Ctrl-C (or SIGTERM) inside the fit: writes the checkpoint of the last finished epoch
        (resuming from it gives the uninterrupted run's bytes), logs the stop, and returns the
        :class:`RunInterrupted` to raise."""
        if self.finished is not None and not checkpoint_path(self.run_dir, self.finished[0]).exists():
            write_bytes_atomic(checkpoint_path(self.run_dir, self.finished[0]), self.finished[1])
        ckpt = last_checkpoint(self.run_dir)
        log_line(self.run_dir, f"interrupted; last checkpoint: {ckpt.name if ckpt else 'none'}")
        return RunInterrupted(self.run_dir, ckpt)


epoch_callback = EpochCallback  # the name the trainers call


def log_line(run_dir: Path, line: str) -> None:
    """Append a time-stamped line to ``run_dir/logs/training.log``."""
    try:
        with open(run_dir / "logs" / "training.log", "a", encoding="utf-8") as fh:
            fh.write(f"{now():%Y-%m-%dT%H:%M:%SZ} {line}\n")
    except OSError as exc:
        raise OutputError(f"{run_dir}/logs/training.log: cannot write ({exc.strerror or exc})") from exc
