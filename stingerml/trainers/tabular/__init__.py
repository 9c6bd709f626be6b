"""The tabular trainer: small MLP classifiers and regressors from CSV data (docs/tabular.md)."""
