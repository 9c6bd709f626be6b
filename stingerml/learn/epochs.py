"""The epoch loop every mini-batch trainer shares (the tabular MLPs, the sequence models), the
state it checkpoints and its one hook, ``on_epoch_end(state)``.

Each epoch shuffles the training rows (``kernels("tabular").epoch_order``, Fisher–Yates
from the state's xorshift32), trains on chunks of ``BATCHES_PER_REPORT`` mini-batches with
Adam's bias corrections for those batches, then validates; early stopping follows
**Keras's counting** (an epoch improves when its monitored value beats the best so far;
after ``patience`` epochs in a row without improvement training stops; the caller keeps the
best epoch's parameters).

Two things watch the loop, kept apart: ``progress`` (:class:`~stingerml.core.progress.Progress`
events for a person: batches, epochs) and ``on_epoch_end`` (:data:`EpochHook`: code that acts on
the state after each finished epoch, e.g. a run folder's checkpoints,
:class:`stingerml.learn.runfolder.CheckpointHook`).
"""
from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from .._kernels import kernels
from ..core.errors import TrainingError
from ..core.progress import Progress, ProgressCallback

BATCHES_PER_REPORT = 50  # long epochs report batch progress every this many batches

MONITORS = ("val_loss", "val_accuracy")
"""What picks the best epoch and counts patience (:func:`run_epochs`' ``monitor``): the validation
loss (lower is better, the default) or, for a classifier, the validation accuracy (higher is better; Keras's
``mode="max"``, no ``min_delta``)."""


@dataclass
class TrainState:
    """Everything needed to continue training exactly where it stopped (checkpointed by runs).

    ``P``, ``M``, ``V``: flat float64 parameters and Adam moments (the layout of
    the tabular kernels' ``layout``); ``step``: Adam steps done; ``rng_state``:
    the xorshift32 state; ``epoch``: epochs done; ``best_*``: the best
    monitored validation value so far (lower is better: the loss, or minus an
    accuracy), its epoch and parameters; ``wait``: epochs since
    it; ``history``: one dict per epoch; ``done``: training has ended.
    ``TrainState()`` is empty: ``fit`` initializes it (a fresh start); a state
    read from a checkpoint continues where it stopped. The loop updates it in place
    and hands it to ``on_epoch_end`` after each epoch.
    """

    P: array = field(default_factory=lambda: array("d"))
    M: array = field(default_factory=lambda: array("d"))
    V: array = field(default_factory=lambda: array("d"))
    step: int = 0
    rng_state: int = 0
    epoch: int = 0
    best_loss: float = math.inf
    best_epoch: int = 0
    best_P: Optional[array] = None
    wait: int = 0
    history: List[Dict[str, float]] = field(default_factory=list)
    done: bool = False


EpochHook = Callable[[TrainState], None]
"""``on_epoch_end(state)``: called by :func:`run_epochs` after each finished epoch, before that
epoch's progress event. ``state.epoch`` is the epoch just finished, ``state.history[-1]`` its
numbers, ``state.best_epoch == state.epoch`` when it is the best so far (``state.best_P`` its
parameters), ``state.done`` whether training ends with it. The state is the loop's own (it
changes in the next epoch): copy what you keep (:func:`stingerml.learn.runfolder.state_to_bytes`
does). An exception raised here stops training (a KeyboardInterrupt as Ctrl-C does)."""


def run_epochs(st: TrainState, n: int, batch_size: int, max_epochs: int, patience: int,
               train_part: Callable[[Sequence[int], array, array, int], Tuple[float, int, int]],
               validate: Optional[Callable[[], Dict[str, float]]], classify: bool,
               progress: Optional[ProgressCallback], monitor: str = "val_loss",
               on_epoch_end: Optional[EpochHook] = None) -> None:
    """The epoch loop every mini-batch trainer shares (the tabular MLPs, the sequence models).

    Each epoch shuffles the ``n`` training rows (``kernels("tabular").epoch_order`` from
    ``st.rng_state``) and calls ``train_part(rows, bc1, bc2, rng_state) -> (loss sum, right,
    rng_state)`` on chunks of ``BATCHES_PER_REPORT`` batches (Adam's bias corrections for
    those batches given); then ``validate()`` (``{"val_loss": ..., other metrics}``) decides
    early stopping on ``monitor`` (``"val_loss"``, lower is better, or ``"val_accuracy"``, higher
    is better; Keras's counting, see the module doc). Updates ``st`` in place, calls
    ``on_epoch_end(st)`` (:data:`EpochHook`) after each epoch, then reports it to ``progress``:
    ``"batch"`` after each chunk (``done``/``total`` count batches over all epochs, ``metrics``
    the ``epoch``, the ``batch`` within it and its ``batches``) and ``"epoch"``; sets ``st.done``.
    """
    K = kernels("tabular")
    n_batches = -(-n // batch_size)
    chunk = BATCHES_PER_REPORT * batch_size
    while not st.done and st.epoch < max_epochs:
        epoch = st.epoch + 1
        order, rng_state = K.epoch_order(n, st.rng_state)
        loss_sum, correct = 0.0, 0
        for start in range(0, n, chunk):
            part = order[start:start + chunk]
            bc1, bc2 = K.bias_corrections(st.step + start // batch_size, -(-len(part) // batch_size))
            ls, c, rng_state = train_part(part, bc1, bc2, rng_state)
            loss_sum += ls
            correct += c
            if progress is not None:
                done = min(n_batches, (start + len(part) + batch_size - 1) // batch_size)
                progress(Progress("batch", f"epoch {epoch}/{max_epochs} batch {done}/{n_batches}",
                                  (epoch - 1) * n_batches + done, max_epochs * n_batches,
                                  {"epoch": epoch, "batch": done, "batches": n_batches}))
        st.step += n_batches
        st.rng_state = rng_state
        logs: Dict[str, float] = {"epoch": epoch, "loss": loss_sum / n}
        if classify:
            logs["accuracy"] = correct / n
        if not math.isfinite(loss_sum):
            raise TrainingError(f"training diverged at epoch {epoch} (the loss is not finite); "
                                "lower the learning rate or check the features' scale")
        if validate is not None:
            logs.update(validate())
            score = logs[monitor] if monitor.endswith("loss") else -logs[monitor]  # lower is better
            if score < st.best_loss:
                st.best_loss, st.best_epoch, st.best_P, st.wait = score, epoch, array("d", st.P), 0
            else:
                st.wait += 1
                if st.wait >= patience:
                    st.done = True
        st.epoch = epoch
        st.history.append(logs)
        if st.epoch >= max_epochs:
            st.done = True
        if on_epoch_end is not None:
            on_epoch_end(st)
        if progress is not None:
            values = " ".join(f"{k} {v:.4f}" for k, v in logs.items() if k != "epoch")
            progress(Progress("epoch", f"epoch {epoch}/{max_epochs} {values}", epoch, max_epochs, dict(logs)))
