"""Progress output on stderr: message lines always; inside a counted stage an iteration bar on a
terminal, and without one (piped, logged) a line at each quarter and at least every
:data:`SILENCE_S` seconds, so a long stage still shows. Training (:class:`EpochProgress`): two bars, epochs and batches, on a terminal; a line per epoch
without one.

Lines come only at events (no timer thread: a pool forks from this process). So that the
silence stays within :data:`SILENCE_S`, a line is due at an event when waiting for the next one
could pass it: when the silence so far plus twice the longest interval between two events seen so
far (an interval can be longer than any before it; counted as at most half of :data:`SILENCE_S`,
so one long step cannot make every later event a line) exceeds :data:`SILENCE_S`."""
from __future__ import annotations

import sys
import time
from typing import Callable, Optional, TextIO

from ..core.progress import Progress

SILENCE_S = 10.0
"""Without a terminal, a counted stage prints a line at least this often (seconds)."""


class StderrProgress:
    """A :data:`~stingerml.core.progress.ProgressCallback` printing to ``stream`` (stderr by default)."""

    def __init__(self, stream: Optional[TextIO] = None, *, quarters: bool = True,
                 clock: Callable[[], float] = time.monotonic, since: Optional[float] = None) -> None:
        """``quarters``: the lines at each quarter of a counted stage without a terminal (off for a
        command whose only counted stage is short or whose stderr must stay one error line); a
        counted stage still prints the lines that keep the silence within :data:`SILENCE_S` seconds,
        counted from ``since`` (a ``clock()`` time: a command's start; default now)."""
        self.stream = stream if stream is not None else sys.stderr
        self.quarters = quarters
        self.clock = clock
        self._line_at = clock() if since is None else since  # when a line was last written
        self._event_at = self._line_at  # when the previous event came
        self._longest = 0.0  # the longest interval between two events so far (s)
        self.tty = self.stream.isatty()
        self._bar = False
        self._quarter = (None, 0)  # (stage, quarters reported) of a counted stage without a terminal

    def _due(self) -> bool:
        """Note an event's time; whether a line is due without a terminal (see the module docstring)."""
        now = self.clock()
        self._longest = max(self._longest, now - self._event_at)
        self._event_at = now
        return now - self._line_at + min(2.0 * self._longest, SILENCE_S / 2) > SILENCE_S

    def __call__(self, event: Progress) -> None:
        due = self._due()
        if event.total:
            if self.tty:
                width = 30
                filled = width * event.done // event.total
                self.stream.write(f"\r  [{'#' * filled}{'.' * (width - filled)}] {event.message}\033[K")
                self._bar = True
            else:
                quarter = 4 * event.done // event.total
                stage, reported = self._quarter
                if stage != event.stage or quarter < reported:
                    reported = 0  # a new counted stage, or a stage counting a second loop
                if (self.quarters and quarter > reported) or due:
                    self.stream.write(f"  {event.message}\n")
                    self._line_at = self.clock()
                self._quarter = (event.stage, max(quarter, reported))
            self.stream.flush()
            return
        if self._bar:
            self.stream.write("\n")
            self._bar = False
        self.stream.write(event.message + "\n")
        self.stream.flush()
        self._line_at = self.clock()


PREPARE = ("prepare", "scale")
"""The stages of a training run's steps before its first batch: the run's (splitting, writing its
folder, gathering the targets) and the fit's scaler (a feature at a time)."""


class EpochProgress(StderrProgress):
    """Training progress on stderr (``tabular train``, ``seq train``). On a terminal two bars redrawn
    in place: the epochs (with the last epoch's numbers) and the batches of the current epoch.
    Otherwise one line per epoch, and a batch line only when one is due to keep the silence within
    :data:`SILENCE_S` s. The counted steps before the first batch (:data:`PREPARE`) take the batch
    bar, and off a terminal the same rule.
    Other messages are lines in both cases, printed below the bars."""

    WIDTH = 30

    def __init__(self, stream: Optional[TextIO] = None, since: Optional[float] = None) -> None:
        super().__init__(stream, quarters=False, since=since)
        self._epochs = (0, 0)  # (epochs done, epochs at most)
        self._step = (0, 0, "batch 0/0")  # the second bar: (done, total, text) of the batches or the scaler
        self._last = ""  # the last epoch's line
        self._drawn = False  # the two bars are on the screen, the cursor at the end of the second

    def _meter(self, done: int, total: int, text: str, columns: int) -> str:
        filled = self.WIDTH * min(done, total) // total if total else 0
        return f"  [{'#' * filled}{'.' * (self.WIDTH - filled)}] {text}"[:columns - 1] + "\033[K"

    def _draw(self) -> None:
        import shutil

        columns = shutil.get_terminal_size().columns
        (e, epochs), (b, batches, text) = self._epochs, self._step
        epoch_text = self._last or f"epoch {e}/{epochs}"
        up = "\r\033[1A" if self._drawn else "\r"
        self.stream.write(up + self._meter(e, epochs, epoch_text, columns) + "\n"
                          + self._meter(b, batches, text, columns))
        self.stream.flush()
        self._drawn = True

    def __call__(self, event: Progress) -> None:
        if event.stage in ("start", "epoch", "batch") + PREPARE:
            due = self._due()
            if event.stage == "start":
                self._epochs = (event.done, event.total)
            elif event.stage == "epoch":
                self._epochs, self._last = (event.done, event.total), event.message
                if not self.tty:
                    self.stream.write(event.message + "\n")
                    self.stream.flush()
                    self._line_at = self.clock()
            else:  # a batch (its number in the epoch), or a step before the first (PREPARE)
                self._step = (int(event.metrics["batch"]), int(event.metrics["batches"]),
                              f"batch {event.metrics['batch']}/{event.metrics['batches']}") if event.metrics else \
                    (event.done, event.total, event.message)
                if not self.tty and due:  # a long epoch still shows
                    self.stream.write(f"  {event.message}\n")
                    self.stream.flush()
                    self._line_at = self.clock()
            if self.tty:
                self._draw()
            return
        if self._drawn:
            self.stream.write("\n")
            self._drawn = False
        super().__call__(event)
