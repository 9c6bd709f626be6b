"""What the training commands (``tabular train``, ``seq train``) share: the status endpoint
(``--status-port``, ``--status-host``; the server around a run, :mod:`stingerml.learn.status`), the
checkpoints kept (``--keep-checkpoints``, their sizes after the run) and how a stopped run is
reported."""
from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Iterator, Tuple, Union

from ._common import Terminated, positive_int, say

if TYPE_CHECKING:  # pragma: no cover
    from ..core.progress import ProgressCallback


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 0 to 65535 (0: a free one), not {text!r}")
    return value


def add_status_options(p: argparse.ArgumentParser) -> None:
    """``--status-port PORT`` and ``--status-host HOST`` of a training command."""
    g = p.add_argument_group("training status endpoint (docs/tabular.md#the-training-status-endpoint)")
    g.add_argument("--status-port", type=_port, metavar="PORT",
                   help="during training serve GET /api/train/status (JSON: status, progress, current_epoch, "
                        "total_epochs, loss_history, error, run_dir) and POST /api/train/cancel (stop after a "
                        "checkpoint; --resume continues) on this port; 0 picks a free one (the line "
                        "'training status: URL' says which)")
    g.add_argument("--status-host", default="127.0.0.1", metavar="HOST",
                   help="the address the status endpoint listens on (default 127.0.0.1: this machine only; "
                        "0.0.0.0 lets any machine that reaches this one read and cancel the run)")


@contextlib.contextmanager
def status_endpoint(args: argparse.Namespace, report: "ProgressCallback") -> Iterator["ProgressCallback"]:
    """Within: the progress callback to train with. With ``--status-port``, a
    :class:`~stingerml.learn.status.TrainStatus` passing events on to ``report``, served from
    before training (a port in use is one error line, before anything is written) until the end
    (a client that polled gets up to 10 s to read the final status); without it, ``report``."""
    if args.status_port is None:
        yield report
        return
    from ..learn.status import CANCEL_PATH, STATUS_PATH, StatusServer, TrainStatus

    status = TrainStatus(report)
    with StatusServer(status, args.status_port, args.status_host) as server:
        say(args, f"training status: {server.url}{STATUS_PATH} (cancel: POST {server.url}{CANCEL_PATH})",
            stream=sys.stderr)
        yield status


@contextlib.contextmanager
def sigterm_stops() -> Iterator[None]:
    """Within: SIGTERM raises :class:`Terminated` (in the main thread; elsewhere nothing changes), so a
    training run stops as on Ctrl-C: after writing the checkpoint of the last finished epoch."""
    def stop(signum, frame):
        raise Terminated()

    try:
        previous = signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def report_stopped(stop: BaseException, command: str) -> int:
    """One line on stderr for a run ``stop`` ped (a RunInterrupted) before its end: how, the checkpoint
    kept and the command that continues it (``command``: e.g. ``"seq train"``); returns the exit code."""
    kept = f"last checkpoint {stop.checkpoint.name}" if stop.checkpoint else "no checkpoint yet"
    how, code = how_it_stopped(stop)
    print(f"\n{how}; {kept} in {stop.run_dir}; continue with: stingerml {command} --resume {stop.run_dir}",
          file=sys.stderr)
    return code


def how_it_stopped(stop: BaseException) -> Tuple[str, int]:
    """The words and exit code of a run stopped by ``stop`` (a RunInterrupted): SIGTERM (143), a
    cancel request of the status endpoint (130) or Ctrl-C (130)."""
    from ..learn.status import CANCEL_PATH, CancelRequested

    cause = stop.__cause__
    if isinstance(cause, Terminated):
        return "terminated (SIGTERM)", 143
    if isinstance(cause, CancelRequested):
        return f"cancelled (POST {CANCEL_PATH})", 130
    return "interrupted", 130


def _keep(text: str) -> Union[int, str]:
    """argparse ``type=`` of ``--keep-checkpoints``: a count >= 1 or ``all``."""
    if text == "all":
        return text
    try:
        return positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected a count of checkpoints >= 1 or 'all', not {text!r}") from None


def add_keep_checkpoints(p: argparse.ArgumentParser) -> None:
    """``--keep-checkpoints N|all`` of a training command (its default is the library's, read when the
    command's options are built)."""
    from ..learn.runfolder import KEEP_CHECKPOINTS

    p.add_argument("--keep-checkpoints", type=_keep, metavar="N",
                   help=f"keep the N newest epoch checkpoints, or all (default {KEEP_CHECKPOINTS}); "
                        "checkpoints/best_model.json (the best epoch's model) is kept besides; their sizes are "
                        "printed at the end")


def keep_checkpoints(args: argparse.Namespace) -> Dict[str, Any]:
    """``train_run``'s ``keep_checkpoints`` argument from ``--keep-checkpoints`` (none: its default)."""
    if args.keep_checkpoints is None:
        return {}
    return {"keep_checkpoints": None if args.keep_checkpoints == "all" else args.keep_checkpoints}


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB" if n >= 1e3 else f"{n} bytes"


def say_checkpoints(args: argparse.Namespace, run_dir: Path) -> None:
    """One line on stderr: the checkpoint files the run keeps, their sizes and the total."""
    from ..learn.runfolder import checkpoint_sizes

    sizes = checkpoint_sizes(run_dir)
    if sizes:
        say(args, "checkpoints kept: " + ", ".join(f"{name} {_size(n)}" for name, n in sizes.items())
            + f" ({_size(sum(sizes.values()))} in all; --keep-checkpoints N|all)", stream=sys.stderr)
