"""The blaster's MLMD models as :class:`~stingerml.dense.DenseNetwork`, and their feature rows from a log.

- LR  (``model_type`` 0): 18 summary features → 1 sigmoid unit (weights ``coef``, bias ``intercept``);
- MLP (``model_type`` 1): 30 rich features → 64 → 32 → 1 sigmoid unit (ReLU between).

The firmware's scaler is kept as the network's scaler: ``x' = (x - mean) /
max(scale, 1e-10)`` in float32 (the floor is the firmware's, applied here to
``scale`` once). Inputs are the raw features the firmware computes from a
50-sample window (:data:`stingerml.features.SUMMARY_NAMES` /
:data:`~stingerml.features.RICH_NAMES`, raw IMU counts); the output is
P(shot is about to happen), classes ``("no_shot", "shot")``.
"""
from __future__ import annotations

import os
from array import array
from pathlib import Path
from typing import Tuple, Union

from ..constants import SCALE_FLOOR
from ..dataset import build_dataset
from ..dense import DenseLayer, DenseNetwork
from ..errors import ExportError
from ..features import RICH_FEATURES, RICH_NAMES, SUMMARY_FEATURES, SUMMARY_NAMES, featurize_rich
from ..log import Log, read_log
from ..matrix import Matrix
from . import mlmd

CLASSES = ("no_shot", "shot")


def to_network(model: mlmd.Model) -> DenseNetwork:
    """The DenseNetwork of an MLMD LR or MLP model (float32 weights as stored, scaler floored as the firmware)."""
    scale = array("f", [s if s >= SCALE_FLOOR else SCALE_FLOOR for s in model.scale])
    common = dict(mean=array("f", model.mean), scale=scale, classes=CLASSES,
                  metadata=(("source", "MLMD"), ("window_samples", str(mlmd.WINDOW_SAMPLES))))
    if isinstance(model, mlmd.LRModel):
        layer = DenseLayer(array("f", model.coef), array("f", [model.intercept]), SUMMARY_FEATURES, 1)
        return DenseNetwork((layer,), "sigmoid", feature_names=tuple(SUMMARY_NAMES), **common)
    layers = (
        DenseLayer(array("f", model.W1), array("f", model.b1), RICH_FEATURES, mlmd.MLP_H1),
        DenseLayer(array("f", model.W2), array("f", model.b2), mlmd.MLP_H1, mlmd.MLP_H2),
        DenseLayer(array("f", model.W3), array("f", [model.b3]), mlmd.MLP_H2, 1),
    )
    return DenseNetwork(layers, "sigmoid", feature_names=tuple(RICH_NAMES), **common)


def read_network(path: Union[str, "os.PathLike[str]"]) -> DenseNetwork:
    """Parse an MLMD file (strictly, see :func:`stingerml.mlmd.parse`) and convert it with :func:`to_network`."""
    return to_network(mlmd.parse(Path(path).read_bytes(), source=str(path)))


def log_rows(log: Union[Log, str, "os.PathLike[str]"], n_features: int) -> Tuple[Matrix, array]:
    """Feature rows and labels of a log's training dataset (the browser trainer's rows, SPEC §4).

    Returns ``(X, labels)``: ``X`` holds the first ``n_features`` (18 for the LR,
    30 for the MLP) of the 30 rich features of every row (float32, raw IMU
    counts, before the scaler); ``labels`` is ``array('B')``, 1 for a pre-shot row.

    Raises:
        ExportError: the log has no dataset rows.
    """
    source = log if isinstance(log, Log) else read_log(log)
    ds = build_dataset(source)
    if len(ds) == 0:
        where = "the log" if isinstance(log, Log) else str(log)
        raise ExportError(f"{where}: no dataset rows (no shots found); use a session with shots")
    rich = featurize_rich(ds.windows, len(ds))
    if n_features == RICH_FEATURES:
        return Matrix(rich, RICH_FEATURES), ds.labels
    data = array("f")
    for r in range(len(ds)):
        data.extend(rich[r * RICH_FEATURES:r * RICH_FEATURES + n_features])
    return Matrix(data, n_features), ds.labels
