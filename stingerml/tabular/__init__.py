"""The tabular trainer: small MLP classifiers and regressors from CSV data (docs/tabular.md).

- :mod:`.csvdata`: CSV + ``schema.json`` reader (:func:`read_table`);
- :mod:`stingerml.learn.split`: deterministic stratified / random / grouped splits (shared);
- :mod:`.landmarks`: hand landmarks (21×3) → normalised features;
- :mod:`.estimator`: :class:`MLPClassifier`, :class:`MLPRegressor`;
- :mod:`stingerml.learn.metrics`: accuracy, P/R/F1, confusion matrix, MSE/MAE/R² (shared);
- :mod:`.runs`: run folders, checkpoints, resume (:func:`train_run`).
"""
from ..learn.metrics import classification_report, regression_metrics
from .csvdata import Schema, Table, read_schema, read_table
from .estimator import MLPClassifier, MLPRegressor, TrainState, network_outputs

__all__ = [
    "MLPClassifier", "MLPRegressor", "Schema", "Table", "TrainState",
    "classification_report", "network_outputs", "read_schema", "read_table", "regression_metrics",
]
