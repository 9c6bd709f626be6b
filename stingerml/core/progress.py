"""Progress reporting: one event type for every long operation.

A long operation (training, the benchmark, a firmware replay, pulling a log
from the device) accepts ``progress``, a :data:`ProgressCallback` called with
:class:`Progress` events. Inner loops count with a :data:`Tick`,
``tick(done, total)``; a :class:`Reporter` turns ticks into events (and keeps
the message lines a report prints).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Optional


@dataclass
class Progress:
    """One progress report.

    Attributes:
        stage: what is running (training: ``parse``, ``dataset``, ``features``,
            ``holdout``, ``lr``, ``mlp``, ``build``, ``traces``, ``done``; the
            tabular and sequence trainers: ``read``, ``prepare``, ``resume``, ``start``, ``scale``, ``batch``,
            ``epoch``, ``evaluate``, ``done``; elsewhere
            ``benchmark``, ``replay``, ``pull``...).
        message: a line for a human (the browser's log line when it has one and it is true here).
        done, total: inside a counted stage, units done of ``total`` (both 0 otherwise).
        metrics: the numbers of a finished unit, when it has some, else None (the
            tabular trainer's ``epoch``: its history entry ``epoch``, ``loss``,
            ``val_loss``, ``accuracy``/``val_accuracy`` or ``val_r2``).
    """

    stage: str
    message: str
    done: int = 0
    total: int = 0
    metrics: Optional[Dict[str, float]] = None


ProgressCallback = Callable[[Progress], None]
"""What a ``progress=`` argument receives: called with each :class:`Progress`."""

Tick = Callable[[int, int], None]
"""An inner loop's counter, ``tick(done, total)``; :meth:`Reporter.ticks` makes one."""


class Reporter:
    """Collects the message lines of one run and forwards them, and counted ticks, to a callback."""

    def __init__(self, progress: Optional[ProgressCallback] = None) -> None:
        self.progress = progress
        self.lines: List[str] = []

    def say(self, stage: str, message: str, shown: Optional[str] = None) -> None:
        """Record ``message`` and report it as an event of ``stage`` (as ``shown`` instead when given:
        a browser log line that would not be true here is recorded, not shown)."""
        self.lines.append(message)
        if self.progress is not None:
            self.progress(Progress(stage, message if shown is None else shown))

    def ticks(self, stage: str, label: str, every: int = 20) -> Optional[Tick]:
        """A :data:`Tick` reporting ``"{label} {done}/{total}"`` every ``every`` units and at the end
        (None without a callback, so loops skip the calls)."""
        if self.progress is None:
            return None
        progress = self.progress

        def tick(done: int, total: int) -> None:
            if done % every == 0 or done == total:
                progress(Progress(stage, f"{label} {done}/{total}", done, total))
        return tick
