"""The stages of training that split into independent tasks (:mod:`stingerml.learn.executors`).

Before the fit, every log and every row is on its own: a log is parsed and
gets its browser dataset without looking at another log, and a row's features
read only its own window. So, with ``jobs=`` or ``executor=``:

- several sessions: one task per log (parse, browser dataset, both feature
  sets of its rows), joined in the order given (:func:`sessions_in_tasks`);
- one log's or a training folder's rows: the features in chunks of
  :data:`CHUNK_ROWS` rows (:func:`features_in_tasks`).

The results are concatenated in task order, so the features, the dataset and
the model files are the same bytes as the serial flow's. The fit itself (the
held-out check and the final full-batch LR and MLP) stays in this process: each
iteration of the browser's full-batch optimisation needs the previous one's
weights, so it is one sequential computation, not a pile of tasks.
"""
from __future__ import annotations

import os
from array import array
from concurrent.futures import Executor
from typing import Any, List, Optional, Sequence, Tuple

from ..core.constants import CHANNELS
from ..core.progress import ProgressCallback
from ..learn.executors import run_tasks
from .dataset import Dataset, DatasetParams, build_dataset
from .features import featurize_rich, featurize_summary
from .log import Log, parse_log, read_log
from .sessions import SessionsDataset, join_sessions

CHUNK_ROWS = 2000  # rows per features task (about 0.6 s of pure-Python featurizing)

Features = Tuple[array, array]  # summary (rows × 18) and rich (rows × 30), float32


def load_log(source: Any) -> Log:
    """A :class:`~stingerml.blaster.log.Log` from a Log, the bytes of a binary log, or a path."""
    if isinstance(source, Log):
        return source
    if isinstance(source, (str, os.PathLike)):
        return read_log(source)
    return parse_log(source)


def window_features(windows: Sequence[int], n_rows: int) -> Features:
    """Both feature sets of ``n_rows`` flat ``50 × 6`` windows (one task)."""
    return featurize_summary(windows, n_rows), featurize_rich(windows, n_rows)


def log_rows(source: Any, params: DatasetParams) -> Tuple[Log, Dataset, array, array]:
    """One session's task: its log, its browser dataset and both feature sets of its rows."""
    log = load_log(source)
    ds = build_dataset(log, params)
    return (log, ds, *window_features(ds.windows, len(ds)))


def _joined(parts: List[Features]) -> Features:
    summary, rich = array("f"), array("f")
    for s, r in parts:
        summary += s
        rich += r
    return summary, rich


def features_in_tasks(windows: Sequence[int], n_rows: int, window_samples: int, *, jobs: Optional[int] = None,
                      executor: Optional[Executor] = None, progress: Optional[ProgressCallback] = None) -> Features:
    """:func:`window_features` of all rows, :data:`CHUNK_ROWS` rows per task."""
    width = window_samples * CHANNELS
    tasks = [(f"features of rows {lo}..{min(lo + CHUNK_ROWS, n_rows) - 1}",
              (windows[lo * width : min(lo + CHUNK_ROWS, n_rows) * width], min(CHUNK_ROWS, n_rows - lo)))
             for lo in range(0, n_rows, CHUNK_ROWS)]
    return _joined(run_tasks(window_features, tasks, jobs=jobs, executor=executor, progress=progress,
                             stage="features"))


def sessions_in_tasks(sources: Sequence[Any], names: Sequence[str], params: DatasetParams, *,
                      jobs: Optional[int] = None, executor: Optional[Executor] = None,
                      progress: Optional[ProgressCallback] = None) -> Tuple[SessionsDataset, Features]:
    """:func:`~stingerml.blaster.sessions.build_sessions` with one :func:`log_rows` task per source
    (``names[i]`` names it in errors and progress), and the features of all rows."""
    parts = run_tasks(log_rows, [(name, (source, params)) for name, source in zip(names, sources)],
                      jobs=jobs, executor=executor, progress=progress, stage="dataset")
    sd = join_sessions([p[0] for p in parts], [p[1] for p in parts], params.window_samples)
    return sd, _joined([(p[2], p[3]) for p in parts])
