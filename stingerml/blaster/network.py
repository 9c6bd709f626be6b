"""The blaster's MLMD models as :class:`~stingerml.core.dense.DenseNetwork`, and their feature rows from a log.

- LR  (``model_type`` 0): 18 summary features → 1 sigmoid unit (weights ``coef``, bias ``intercept``);
- MLP (``model_type`` 1): 30 rich features → 64 → 32 → 1 sigmoid unit (ReLU between).

The firmware's scaler is kept as the network's scaler: ``x' = (x - mean) /
max(scale, 1e-10)`` in float32 (the floor is the firmware's, applied here to
``scale`` once). Inputs are the raw features the firmware computes from a
50-sample window (:data:`stingerml.blaster.features.SUMMARY_NAMES` /
:data:`~stingerml.blaster.features.RICH_NAMES`, raw IMU counts); the output is
P(shot is about to happen), classes ``("no_shot", "shot")``.
"""
from __future__ import annotations

import os
from array import array
from pathlib import Path
from typing import Optional, Tuple, Union

from ..core.constants import MLP_H1, MLP_H2, RICH_FEATURES, SCALE_FLOOR, SUMMARY_FEATURES, WINDOW_SAMPLES
from ..core.dense import DenseLayer, DenseNetwork
from ..core.errors import ExportError
from ..core.matrix import Matrix
from ..formats import mlmd
from .dataset import build_dataset
from .features import RICH_NAMES, SUMMARY_NAMES, featurize_rich, featurize_summary
from .log import Log, read_log

CLASSES = ("no_shot", "shot")


def to_network(model: mlmd.Model) -> DenseNetwork:
    """The DenseNetwork of an MLMD LR or MLP model (float32 weights as stored, scaler floored as the firmware)."""
    scale = array("f", [s if s >= SCALE_FLOOR else SCALE_FLOOR for s in model.scale])
    common = dict(mean=array("f", model.mean), scale=scale, classes=CLASSES,
                  metadata=(("source", "MLMD"), ("window_samples", str(WINDOW_SAMPLES))))
    if isinstance(model, mlmd.LRModel):
        layer = DenseLayer(array("f", model.coef), array("f", [model.intercept]), SUMMARY_FEATURES, 1)
        return DenseNetwork((layer,), "sigmoid", feature_names=tuple(SUMMARY_NAMES), **common)
    layers = (
        DenseLayer(array("f", model.W1), array("f", model.b1), RICH_FEATURES, MLP_H1),
        DenseLayer(array("f", model.W2), array("f", model.b2), MLP_H1, MLP_H2),
        DenseLayer(array("f", model.W3), array("f", [model.b3]), MLP_H2, 1),
    )
    return DenseNetwork(layers, "sigmoid", feature_names=tuple(RICH_NAMES), **common)


def read_network(path: Union[str, "os.PathLike[str]"]) -> DenseNetwork:
    """Parse an MLMD file (strictly, see :func:`stingerml.formats.mlmd.parse`) and convert it with :func:`to_network`."""
    return to_network(mlmd.parse(Path(path).read_bytes(), source=str(path)))


def log_rows(log: Union[Log, str, "os.PathLike[str]"], n_features: int,
             source: Optional[str] = None) -> Tuple[Matrix, array]:
    """Feature rows and labels of a log's training dataset (the browser trainer's rows, SPEC §4).

    Returns ``(X, labels)``: ``X`` holds the 18 summary (LR) or 30 rich (MLP)
    features of every row (float32, raw IMU counts, before the scaler);
    ``labels`` is ``array('B')``, 1 for a pre-shot row. ``source`` names the log
    in errors (default: its path).

    Raises:
        ExportError: the log has no dataset rows.
    """
    featurize = {SUMMARY_FEATURES: featurize_summary, RICH_FEATURES: featurize_rich}.get(n_features)
    if featurize is None:
        raise ValueError(f"n_features must be {SUMMARY_FEATURES} or {RICH_FEATURES}, not {n_features}")
    ds = build_dataset(log if isinstance(log, Log) else read_log(log))
    if len(ds) == 0:
        where = source or ("the log" if isinstance(log, Log) else str(log))
        raise ExportError(f"{where}: no dataset rows (no shots found); use a session with shots")
    return Matrix(featurize(ds.windows, len(ds)), n_features), ds.labels
