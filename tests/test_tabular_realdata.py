"""Real data nobody here made: the CSV files inside scikit-learn, read by stingerml's own reader.

tests/sklearn_csv.py only rewrites their non-standard first lines into a header;
the values are then checked against scikit-learn's own loaders (an independent
reader), and a model trained on numba must reach a plain accuracy floor.
"""
from __future__ import annotations

import pytest
from conftest import use_backend
from sklearn_csv import write_dataset

from stingerml.tabular import MLPClassifier, MLPRegressor, read_table
from stingerml.tabular.estimator import _rows
from stingerml.learn.split import random_split, stratified_split

datasets = pytest.importorskip("sklearn.datasets")

LOADERS = {"iris": "load_iris", "wine": "load_wine", "breast_cancer": "load_breast_cancer",
           "digits": "load_digits", "diabetes": "load_diabetes", "linnerud": "load_linnerud"}


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_reader_matches_sklearn_loader(tmp_path, name):
    path, label, targets = write_dataset(name, tmp_path)
    t = read_table(path, label, targets=targets)
    kwargs = {"scaled": False} if name == "diabetes" else {}
    ref = getattr(datasets, LOADERS[name])(**kwargs)
    assert t.X.shape == ref.data.shape
    assert list(t.X.data) == [float(v) for v in ref.data.ravel()]
    if targets:
        assert list(t.Y.data) == [float(v) for v in ref.target.ravel()]
    else:
        names = [str(v) for v in ref.target_names]
        assert [names.index(t.classes[k]) for k in t.y] == [int(v) for v in ref.target]


FLOORS = {"iris": 0.9, "wine": 0.9, "breast_cancer": 0.95, "digits": 0.95}


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_classification_accuracy(tmp_path, name):
    path, label, _ = write_dataset(name, tmp_path)
    t = read_table(path, label)
    s = stratified_split(t.y, t.classes)
    lab = [t.classes[k] for k in t.y]
    with use_backend("numba"):
        est = MLPClassifier(dropout=0.0).fit(
            _rows(t.X, s.train), [lab[i] for i in s.train], classes=t.classes,
            validation_data=(_rows(t.X, s.val), [lab[i] for i in s.val]))
        assert est.score(_rows(t.X, s.test), [lab[i] for i in s.test]) >= FLOORS[name]


def test_diabetes_regression(tmp_path):
    path, _, targets = write_dataset("diabetes", tmp_path)
    t = read_table(path, targets=targets)
    s = random_split(t.n_rows)
    with use_backend("numba"):
        est = MLPRegressor(dropout=0.0).fit(_rows(t.X, s.train), _rows(t.Y, s.train),
                                            validation_data=(_rows(t.X, s.val), _rows(t.Y, s.val)))
        assert est.score(_rows(t.X, s.test), _rows(t.Y, s.test)) >= 0.3
