"""Progress output on stderr: message lines always; inside a counted stage an iteration bar on a
terminal, and without one (piped, logged) a line at each quarter and at least every
:data:`SILENCE_S` seconds, so a long stage still shows. Training (:class:`EpochProgress`): two bars, epochs and batches, on a terminal; a line per epoch
without one."""
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
                 clock: Callable[[], float] = time.monotonic) -> None:
        """``quarters``: the lines at each quarter of a counted stage without a terminal (off for a
        command whose only counted stage is short or whose stderr must stay one error line); a
        counted stage still prints a line when nothing was printed for :data:`SILENCE_S` seconds."""
        self.stream = stream if stream is not None else sys.stderr
        self.quarters = quarters
        self.clock = clock
        self._line_at = clock()  # when a line was last written
        self.tty = self.stream.isatty()
        self._bar = False
        self._quarter = (None, 0)  # (stage, quarters reported) of a counted stage without a terminal

    def __call__(self, event: Progress) -> None:
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
                if (self.quarters and quarter > reported) or self.clock() - self._line_at >= SILENCE_S:
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
    Otherwise one line per epoch, and a batch line only after :data:`SILENCE_S` s without one. The
    counted steps before the first batch (:data:`PREPARE`) take the batch bar, and off a terminal the
    same 10 s rule.
    Other messages are lines in both cases, printed below the bars."""

    WIDTH = 30

    def __init__(self, stream: Optional[TextIO] = None) -> None:
        super().__init__(stream, quarters=False)
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
                if not self.tty and self.clock() - self._line_at >= SILENCE_S:  # a long epoch still shows
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
