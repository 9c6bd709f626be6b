"""stingerml: train and check the Stinger blaster's shot-prediction models.

Pure standard-library Python, byte-identical to the browser trainer and
float32-equal to the firmware; numba, when installed, runs the hot loops.

The one-call API::

    import stingerml
    result = stingerml.train("session.bin", progress=print)
    result.save("out/")          # ml_model_lr.bin, ml_model_mlp.bin, report.json, report.html

Every stage is also its own function or class: :func:`parse_log`,
:func:`build_dataset`, :func:`featurize_summary` / :func:`featurize_rich`,
:class:`Matrix`, :class:`Scaler`, :class:`LogisticRegression`, :class:`MLP`,
:mod:`stingerml.formats.mlmd`, :func:`holdout_metrics`, :func:`shot_traces`; the
firmware side is :mod:`stingerml.firmware`, :mod:`stingerml.loader`,
:mod:`stingerml.online`, :mod:`stingerml.formats.header`; the device is
:mod:`stingerml.device`. See docs/ (docs/architecture.md for the module map).

Importing the package loads nothing else: each name below is imported from its
module on first use (module ``__getattr__``), and every submodule is reachable
as an attribute (``stingerml.firmware``, the module ``stingerml.blaster.firmware``) or by
``from stingerml import firmware``; old module paths are kept by :mod:`stingerml._compat`.
"""
from __future__ import annotations

import importlib

from . import _compat
from ._version import __version__

_EXPORTS = {  # public name: the module that defines it
    "backend": "_kernels", "processes": "_kernels", "set_backend": "_kernels", "set_processes": "_kernels",
    "Dataset": "blaster.dataset", "DatasetParams": "blaster.dataset", "build_dataset": "blaster.dataset",
    "DatasetError": "core.errors", "LogFormatError": "core.errors", "ModelFormatError": "core.errors",
    "OutputError": "core.errors", "StingerError": "core.errors", "StingerWarning": "core.errors",
    "TrainingError": "core.errors",
    "featurize_rich": "blaster.features", "featurize_summary": "blaster.features",
    "holdout_metrics": "blaster.holdout",
    "Log": "blaster.log", "parse_csv": "blaster.log", "parse_log": "blaster.log", "read_log": "blaster.log",
    "to_csv": "blaster.log", "write_log": "blaster.log",
    "LogisticRegression": "blaster.logreg",
    "Matrix": "core.matrix",
    "LRModel": "formats.mlmd", "MLPModel": "formats.mlmd",
    "MLP": "blaster.mlp",
    "Progress": "core.progress",
    "TrainResult": "blaster.trainer", "train": "blaster.trainer", "train_folder": "blaster.trainer",
    "train_sessions": "blaster.trainer",
    "Scaler": "learn.scaler",
    "accept_shots": "blaster.shots", "rising_edges": "blaster.shots",
    "shot_traces": "blaster.traces",
}

_compat.install()


def demo_session_path() -> "Path":  # noqa: F821  (pathlib is imported on call, not with the package)
    """Path of the small synthetic session shipped with the package (``stingerml demo`` trains on it)."""
    from pathlib import Path

    return Path(__file__).resolve().parent / "data" / "demo_session.bin"


def __getattr__(name: str) -> "Any":  # noqa: F821  (no typing import: it costs more than this module)
    """A public name or a submodule, imported on first use."""
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
        globals()[name] = value
        return value
    if not name.startswith("__"):
        full = _compat.new_path(f"{__name__}.{name}")  # a documented submodule (stingerml.firmware): its home
        try:
            module = importlib.import_module(full)
        except ModuleNotFoundError as exc:
            if exc.name != full:
                raise
        else:
            globals()[name] = module
            return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> "List[str]":  # noqa: F821
    return sorted(set(globals()) | set(_EXPORTS))


__all__ = sorted([*_EXPORTS, "__version__", "demo_session_path"])
