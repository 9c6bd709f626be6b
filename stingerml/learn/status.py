"""A training run's status: the events a run reports, the status a client reads, and its HTTP endpoint.

Every trainer's run (``tabular``, ``sequence``) reports to its ``progress`` callback through
:class:`RunEvents`: ``"start"`` once the run folder exists (``message``: the run folder,
``done``: the epochs already done, more than 0 when resuming, ``total``: the maximum), then the
estimator's ``"batch"`` and ``"epoch"`` events, then ``"done"`` only once ``output/`` is written.

:class:`TrainStatus` is a progress callback that keeps the status seed 004's server reports
(``status``, ``progress``, ``current_epoch``, ``total_epochs``, ``loss_history``, ``error``, plus
``run_dir``) and stops training cleanly when asked (:meth:`TrainStatus.cancel`: the next event
raises :class:`CancelRequested`, a KeyboardInterrupt, so the run checkpoints its last finished
epoch as on Ctrl-C and can be resumed). :class:`StatusServer` serves it with the standard
library's ``http.server`` in a daemon thread: ``GET /api/train/status`` and
``POST /api/train/cancel``. Training never waits for the server: an event only takes a lock
to update a few numbers.
"""
from __future__ import annotations

import json
import math
import socket
import threading
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from ..core.errors import ServerError
from ..core.progress import Progress, ProgressCallback

STATUS_PATH = "/api/train/status"
CANCEL_PATH = "/api/train/cancel"
STATES = ("idle", "training", "done", "error", "cancelled")
"""The values of ``status``: not started yet, running, finished (``output/`` written), failed
(``error`` says why), stopped by a cancel request, Ctrl-C or SIGTERM (resumable)."""
LINGER = 10.0
"""Seconds a :class:`StatusServer` keeps answering after training ended, until a client that
read the status during training has read the final one."""


class CancelRequested(KeyboardInterrupt):
    """Raised by a :class:`TrainStatus` inside training after :meth:`TrainStatus.cancel`: the run
    stops as on Ctrl-C (checkpoint of the last finished epoch kept, resumable)."""


class RunEvents:
    """A run's events for its caller's ``progress``: :meth:`start` once the run folder exists, the
    estimator's events passed on, except its ``"done"``, held until :meth:`finished` (after the
    output set is written)."""

    def __init__(self, progress: Optional[ProgressCallback], run_dir: Path) -> None:
        self.progress, self.run_dir = progress, run_dir
        self._done: Optional[Progress] = None

    def start(self, epochs_done: int, max_epochs: int) -> None:
        """Report ``"start"``: ``message`` the run folder, ``done``/``total`` epochs done and at most."""
        if self.progress is not None:
            self.progress(Progress("start", str(self.run_dir), epochs_done, max_epochs))

    def __call__(self, event: Progress) -> None:
        if event.stage == "done":
            self._done = event
        elif self.progress is not None:
            self.progress(event)

    def finished(self) -> None:
        """Report the held ``"done"`` (call once ``output/`` is written)."""
        if self._done is not None and self.progress is not None:
            self.progress(self._done)


class TrainStatus:
    """The status of one training run, kept from its progress events; itself a
    :data:`~stingerml.core.progress.ProgressCallback` that passes every event on to ``progress``.

    Safe to read from another thread (:meth:`snapshot`) while training calls it."""

    def __init__(self, progress: Optional[ProgressCallback] = None) -> None:
        self.progress = progress
        self._lock = threading.Lock()
        self._status, self._fraction, self._epoch, self._epochs = "idle", 0.0, 0, 0
        self._losses: List[Optional[float]] = []
        self._error: Optional[str] = None
        self._run_dir: Optional[str] = None
        self._cancel = False
        self.ended = threading.Event()  # set when the status is done, error or cancelled

    def __call__(self, event: Progress) -> None:
        earlier = _losses_so_far(Path(event.message), event.done) if event.stage == "start" else []
        with self._lock:
            if event.stage == "start":
                self._status, self._run_dir = "training", event.message
                self._epoch, self._epochs = event.done, event.total
                self._fraction = event.done / event.total if event.total else 0.0
                self._losses = earlier
            elif event.stage == "batch" and event.total:
                self._status, self._fraction = "training", event.done / event.total
            elif event.stage == "epoch":
                self._status, self._epoch, self._epochs = "training", event.done, event.total
                self._fraction = event.done / event.total if event.total else 0.0
                self._losses.append(_finite((event.metrics or {}).get("loss")))
            elif event.stage == "done":
                self._status, self._fraction = "done", 1.0
                self.ended.set()
        if self.progress is not None:
            self.progress(event)
        with self._lock:
            if self._cancel and self._status == "training":
                raise CancelRequested()

    def cancel(self) -> bool:
        """Ask training to stop at its next event (after the epoch or batches it is in); False
        when it has already ended. The status becomes ``"cancelled"`` through :meth:`stopped`."""
        with self._lock:
            if self._status not in ("idle", "training"):
                return False
            self._cancel = True
            return True

    def stopped(self, exc: Optional[BaseException]) -> None:
        """Record how training ended: without an exception ``"done"`` (when its ``"done"`` event
        has not said so); when it raised ``exc``, a KeyboardInterrupt (a cancel request, Ctrl-C,
        SIGTERM; :class:`~stingerml.learn.runfolder.RunInterrupted`) is ``"cancelled"``, anything
        else ``"error"`` with its message."""
        with self._lock:
            if exc is None:
                self._status, self._fraction = "done", 1.0
            elif isinstance(exc, KeyboardInterrupt):
                self._status = "cancelled"
            else:
                self._status = "error"
                text = str(exc).splitlines()[0] if str(exc) else ""
                self._error = text if text else type(exc).__name__
            self.ended.set()

    def snapshot(self) -> Dict[str, Any]:
        """The status as ``GET /api/train/status`` returns it (a new dict): ``status`` (one of
        :data:`STATES`), ``progress`` (0.0 to 1.0: the batches done of all epochs), ``current_epoch``
        (epochs finished), ``total_epochs`` (at most), ``loss_history`` (the training loss of each
        finished epoch, resumed ones included), ``error`` (a message or None), ``run_dir``."""
        with self._lock:
            return {"status": self._status, "progress": self._fraction, "current_epoch": self._epoch,
                    "total_epochs": self._epochs, "loss_history": list(self._losses), "error": self._error,
                    "run_dir": self._run_dir}


def _finite(value: Any) -> Optional[float]:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def _losses_so_far(run_dir: Path, epochs_done: int) -> List[Optional[float]]:
    """The training losses of the epochs a resumed run has done: the ``history`` of the checkpoint
    it continues from (empty for a new run, or when it cannot be read: the run itself checked it)."""
    if epochs_done <= 0:
        return []
    from ..core import jsonfile
    from ..core.errors import TrainingError
    from .runfolder import checkpoint_path

    path = checkpoint_path(run_dir, epochs_done)
    try:
        doc = jsonfile.read(path, TrainingError, fix="")
        return [_finite(h.get("loss")) for h in doc["history"]][:epochs_done]
    except (TrainingError, KeyError, TypeError, AttributeError):
        return []


class StatusServer:
    """Serves a :class:`TrainStatus` over HTTP in a daemon thread, from construction until
    :meth:`close` (or the end of a ``with`` block, which also records how training stopped).

    ``GET /api/train/status``: 200 and :meth:`TrainStatus.snapshot` as JSON.
    ``POST /api/train/cancel``: 202 and the snapshot with ``"accepted": true`` when training will
    stop (poll the status until it is ``"cancelled"``: the checkpoint is then on disk), 409 and
    ``"accepted": false`` when it has already ended. A cancel request carrying an ``Origin``
    header (sent by a browser for a web page's script; curl, urllib and requests send none) is
    refused with 403, so a page open in a browser cannot cancel a run. Requests are not logged.

    ``host`` defaults to 127.0.0.1 (this machine only); ``port`` 0 picks a free port (:attr:`port`).
    Raises :class:`~stingerml.core.errors.ServerError` (one line) when it cannot listen there.
    """

    def __init__(self, status: TrainStatus, port: int, host: str = "127.0.0.1") -> None:
        import http.server

        self.status = status
        self._read_final = threading.Event()
        self._polled, self._closed = False, False

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True
            address_family = socket.AF_INET6 if ":" in host else socket.AF_INET

        try:
            self._server = Server((host, port), _handler(self))
        except (OSError, OverflowError) as exc:
            why = getattr(exc, "strerror", None) or exc
            raise ServerError(f"cannot serve the training status on {host} port {port} ({why}); choose another "
                              "--status-port (0 picks a free one) or stop what listens there") from None
        self.host, self.port = host, self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="stingerml-status", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` of the server (IPv6 addresses in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def _serve(self, send: Callable[[int, Dict[str, Any]], None]) -> None:
        """Answer a status request; note that a client polls (before the answer leaves, so that
        :meth:`close` knows it) and, once sent, that it has read how training ended."""
        self._polled = True
        body = self.status.snapshot()
        send(200, body)
        if body["status"] in ("done", "error", "cancelled"):
            self._read_final.set()

    def close(self, linger: float = 0.0) -> None:
        """Stop serving; first, for up to ``linger`` seconds, wait until a client that read the
        status before has read the final one (so a polling client sees how training ended)."""
        if self._closed:
            return
        if linger > 0 and self._polled and self.status.ended.is_set():
            self._read_final.wait(linger)
        self._closed = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> "StatusServer":
        return self

    def __exit__(self, kind, exc, tb) -> None:
        if exc is not None or not self.status.ended.is_set():
            self.status.stopped(exc)
        self.close(LINGER)


def _handler(owner: StatusServer) -> type:
    import http.server

    class Handler(http.server.BaseHTTPRequestHandler):
        server_version = "stingerml-status"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (the base class's name)
            pass  # training's stderr stays one line per epoch

        def _send(self, code: int, body: Dict[str, Any]) -> None:
            data = (json.dumps(body, allow_nan=False) + "\n").encode("utf-8")
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def _path(self) -> str:
            return self.path.split("?", 1)[0].rstrip("/") or "/"

        def do_GET(self) -> None:  # noqa: N802  (http.server's name)
            if self._path() != STATUS_PATH:
                self._send(404, {"error": f"not found; the status is GET {STATUS_PATH}"})
                return
            owner._serve(self._send)

        def do_POST(self) -> None:  # noqa: N802
            length = self.headers.get("Content-Length", "0")
            if length.isdigit() and 0 < int(length) <= 65536:
                self.rfile.read(int(length))  # a body is allowed and ignored
            if self._path() != CANCEL_PATH:
                self._send(404, {"error": f"not found; cancel with POST {CANCEL_PATH}"})
                return
            if self.headers.get("Origin") is not None:
                self._send(403, {"error": "a cancel request from a web page is refused; send it from a "
                                          "program (curl -X POST URL)"})
                return
            accepted = owner.status.cancel()
            self._send(202 if accepted else 409, {"accepted": accepted, **owner.status.snapshot()})

    return Handler

