"""The tabular trainer: small MLP classifiers and regressors from CSV data (docs/tabular.md).

- :mod:`.csvdata`: CSV + ``schema.json`` reader (:func:`read_table`);
- :mod:`.split`: deterministic stratified / random / grouped splits;
- :mod:`.landmarks`: hand landmarks (21×3) → normalised features;
- :mod:`.estimator`: :class:`MLPClassifier`, :class:`MLPRegressor`;
- :mod:`.evaluation`: accuracy, P/R/F1, confusion matrix, MSE/MAE/R²;
- :mod:`.runs`: run folders, checkpoints, resume (:func:`train_run`).
"""
from .csvdata import Schema, Table, read_schema, read_table
from .estimator import MLPClassifier, MLPRegressor, TrainState, network_outputs
from .evaluation import classification_report, regression_metrics

__all__ = [
    "MLPClassifier", "MLPRegressor", "Schema", "Table", "TrainState",
    "classification_report", "network_outputs", "read_schema", "read_table", "regression_metrics",
]
