"""One dataset from several recording sessions.

Each session (one device log) gets the browser trainer's dataset on its own
(:func:`stingerml.blaster.dataset.build_dataset`: its shots, its augmented positives,
its negatives drawn with xorshift32(seed)); the rows are then concatenated in
session order, each session's positives before its negatives as in the browser.

Every row carries a *group*, ``(session_index, shot_number)``: for a positive
(or one of its jittered copies) the number of the accepted shot it precedes
(its index in the session's accepted list); for a negative the accepted shot
nearest in time to the window's end sample (ties to the earlier shot, as the
original exporter's ``shot_num``, SPEC §13). Groups of different sessions never
coincide, so a group split keeps sessions' shots apart.
"""
from __future__ import annotations

from array import array
from dataclasses import dataclass
from typing import List, Sequence, Tuple

from .dataset import Dataset, DatasetParams, build_dataset
from .log import Log
from .shots import nearest_shot

Group = Tuple[int, int]


@dataclass
class Session:
    """One session of a :class:`SessionsDataset`.

    Attributes:
        name: unique label used in messages (the log's source, numbered when repeated).
        log: the session's log.
        dataset: its browser dataset.
        first_row: index of its first row in the concatenated dataset.
    """

    name: str
    log: Log
    dataset: Dataset
    first_row: int


@dataclass
class SessionsDataset:
    """Rows of several sessions, concatenated in session order.

    Attributes:
        sessions: the sessions, in the order given.
        windows: ``array('h')``, ``rows × window_samples × 6`` raw samples.
        labels: ``array('B')``, 0/1 per row.
        groups: ``(session_index, shot_number)`` per row.
        start_ms: timestamp (ms, the session's own clock) of each row's first sample.
        window_samples: samples per window (50).
    """

    sessions: List[Session]
    windows: array
    labels: array
    groups: List[Group]
    start_ms: List[int]
    window_samples: int

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def pos_count(self) -> int:
        """Positive rows (augmented)."""
        return self.labels.count(1)

    @property
    def neg_count(self) -> int:
        """Negative rows."""
        return len(self.labels) - self.pos_count

    def time_keys(self) -> List[Tuple[int, int]]:
        """``(session_index, start_ms)`` per row: session order first, then time within a session."""
        return [(g[0], t) for g, t in zip(self.groups, self.start_ms)]


def row_groups(ds: Dataset, log: Log, session_index: int) -> List[Group]:
    """``(session_index, shot_number)`` of every row of ``ds`` (see the module docstring)."""
    ts = log.timestamp_ms
    shot_times = [ts[e] for e in ds.accepted]
    pos = ds.positive_shots
    neg = [nearest_shot(ts[s + ds.window_samples], shot_times) for s in ds.starts[ds.pos_count :]]
    return [(session_index, k) for k in pos + neg]


def session_names(logs: Sequence[Log]) -> List[str]:
    """Each log's ``source``; a source used more than once gets ``#1``, ``#2``... appended."""
    sources = [log.source for log in logs]
    return [f"{s}#{i + 1}" if sources.count(s) > 1 else s for i, s in enumerate(sources)]


def build_sessions(logs: Sequence[Log], params: DatasetParams = DatasetParams()) -> SessionsDataset:
    """The browser dataset of every log, concatenated, with group ids and window start times.

    A session without accepted shots contributes no rows (the browser draws
    negatives in proportion to positives).
    """
    return join_sessions(logs, [build_dataset(log, params) for log in logs], params.window_samples)


def join_sessions(logs: Sequence[Log], datasets: Sequence[Dataset], window_samples: int) -> SessionsDataset:
    """Concatenate each log's own browser dataset (``datasets[i]`` of ``logs[i]``, built
    anywhere: :func:`build_sessions` builds them here, in order)."""
    sessions: List[Session] = []
    windows = array("h")
    labels = array("B")
    groups: List[Group] = []
    start_ms: List[int] = []
    for i, (name, log, ds) in enumerate(zip(session_names(logs), logs, datasets)):
        sessions.append(Session(name, log, ds, len(labels)))
        windows += ds.windows
        labels += ds.labels
        groups += row_groups(ds, log, i)
        start_ms += [log.timestamp_ms[s] for s in ds.starts]
    return SessionsDataset(sessions, windows, labels, groups, start_ms, window_samples)
