"""Progress output on stderr: message lines always, an iteration bar only on a terminal."""
from __future__ import annotations

import sys
from typing import Optional, TextIO

from ..progress import Progress


class StderrProgress:
    """A :data:`~stingerml.progress.ProgressCallback` printing to ``stream`` (stderr by default)."""

    def __init__(self, stream: Optional[TextIO] = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty()
        self._bar = False

    def __call__(self, event: Progress) -> None:
        if event.total:
            if self.tty:
                width = 30
                filled = width * event.done // event.total
                self.stream.write(f"\r  [{'#' * filled}{'.' * (width - filled)}] {event.message}\033[K")
                self.stream.flush()
                self._bar = True
            return
        if self._bar:
            self.stream.write("\n")
            self._bar = False
        self.stream.write(event.message + "\n")
        self.stream.flush()
