"""stingerml: train and check the Stinger blaster's shot-prediction models.

Pure standard-library Python, byte-identical to the browser trainer and
float32-equal to the firmware; numba, when installed, runs the hot loops.

The one-call API::

    import stingerml
    result = stingerml.train("session.bin", progress=print)
    result.save("out/")          # ml_model_lr.bin, ml_model_mlp.bin, report.json, report.html

Every stage is also its own function or class: :func:`parse_log`,
:func:`build_dataset`, :func:`featurize_summary` / :func:`featurize_rich`,
:class:`Scaler`, :class:`LogisticRegression`, :class:`MLP`, :mod:`stingerml.mlmd`,
:func:`holdout_metrics`, :func:`shot_traces`; the firmware side is
:mod:`stingerml.firmware`, :mod:`stingerml.loader`, :mod:`stingerml.online`,
:mod:`stingerml.header`; the device is :mod:`stingerml.device`. See docs/.
"""
from __future__ import annotations

from pathlib import Path

__version__ = "0.1.0"

from ._kernels import backend, processes, set_backend, set_processes  # noqa: E402
from .dataset import Dataset, DatasetParams, build_dataset  # noqa: E402
from .errors import (  # noqa: E402
    DatasetError,
    LogFormatError,
    ModelFormatError,
    OutputError,
    StingerError,
    StingerWarning,
    TrainingError,
)
from .features import featurize_rich, featurize_summary  # noqa: E402
from .holdout import holdout_metrics  # noqa: E402
from .log import Log, parse_csv, parse_log, read_log, to_csv, write_log  # noqa: E402
from .logreg import LogisticRegression  # noqa: E402
from .mlmd import LRModel, MLPModel  # noqa: E402
from .mlp import MLP  # noqa: E402
from .pipeline import Progress, TrainResult, train, train_folder, train_sessions  # noqa: E402
from .scaler import Scaler  # noqa: E402
from .shots import accept_shots, rising_edges  # noqa: E402
from .traces import shot_traces  # noqa: E402


def demo_session_path() -> Path:
    """Path of the small synthetic session shipped with the package (``stingerml demo`` trains on it)."""
    return Path(__file__).resolve().parent / "data" / "demo_session.bin"


__all__ = [
    "Dataset", "DatasetError", "DatasetParams", "LRModel", "Log", "LogFormatError", "LogisticRegression",
    "MLP", "MLPModel", "ModelFormatError", "OutputError", "Progress", "Scaler", "StingerError", "StingerWarning",
    "TrainResult", "TrainingError", "accept_shots", "backend", "build_dataset", "demo_session_path",
    "featurize_rich", "featurize_summary", "holdout_metrics", "parse_csv", "parse_log", "processes", "read_log",
    "rising_edges", "set_backend", "set_processes", "shot_traces", "to_csv", "train", "train_folder", "train_sessions", "write_log",
]
