"""Progress output on stderr: message lines always; inside a counted stage an iteration bar on a
terminal, and without one (piped, logged) a line at each quarter and at least every
:data:`SILENCE_S` seconds, so a long stage still shows."""
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
        """``quarters``: the lines at each quarter (and every :data:`SILENCE_S` s) of a counted stage
        without a terminal (off for a command whose only counted stage is short or whose stderr must
        stay one error line)."""
        self.stream = stream if stream is not None else sys.stderr
        self.quarters = quarters
        self.clock = clock
        self._last = clock()  # when a line was last written
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
            elif self.quarters:
                quarter = 4 * event.done // event.total
                stage, reported = self._quarter
                if stage != event.stage or quarter < reported:
                    reported = 0  # a new counted stage, or a stage counting a second loop
                if quarter > reported or self.clock() - self._last >= SILENCE_S:
                    self.stream.write(f"  {event.message}\n")
                    self._last = self.clock()
                self._quarter = (event.stage, max(quarter, reported))
            self.stream.flush()
            return
        if self._bar:
            self.stream.write("\n")
            self._bar = False
        self.stream.write(event.message + "\n")
        self.stream.flush()
        self._last = self.clock()
