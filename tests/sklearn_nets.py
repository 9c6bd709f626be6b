"""Realistic networks for the export tests and benchmarks/export.py: scikit-learn MLPs on its bundled data sets.

Each data set gets a stratified 75/25 split (seed 0), a StandardScaler fitted on
the training rows (kept as the network's scaler) and a ReLU MLP (32, 16)
fitted on the scaled training rows; :func:`network_from_sklearn` converts it.
scikit-learn is a test-only dependency: callers skip when it is missing.
"""
from __future__ import annotations

import warnings
from array import array
from dataclasses import dataclass
from functools import lru_cache
from typing import List, Sequence

from stingerml.core.dense import DenseNetwork
from stingerml.core.matrix import Matrix
from stingerml.deploy.from_sklearn import network_from_sklearn

CLASSIFICATION = ("digits", "iris", "wine", "breast_cancer")


@dataclass(frozen=True)
class Fitted:
    """A converted network with its raw (unscaled) training and test rows and the test targets."""

    net: DenseNetwork
    train: Matrix
    test: Matrix
    targets: Sequence[float]


def _matrix(a) -> Matrix:
    return Matrix(array("d", a.ravel().tolist()), a.shape[1])


@lru_cache(maxsize=None)
def fitted(name: str) -> Fitted:
    """A classifier on ``digits``/``iris``/``wine``/``breast_cancer`` (softmax, or sigmoid for two classes), or
    ``diabetes``: a regressor on the standardized target (linear output)."""
    from sklearn import datasets
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.preprocessing import StandardScaler

    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    regression = name == "diabetes"
    if regression:
        y = (y - y.mean()) / y.std()
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0,
                                          stratify=None if regression else y)
    scaler = StandardScaler().fit(Xtr)
    model = (MLPRegressor if regression else MLPClassifier)(hidden_layer_sizes=(32, 16), max_iter=400, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(scaler.transform(Xtr), ytr)
    return Fitted(network_from_sklearn(model, scaler), _matrix(Xtr), _matrix(Xte), [float(v) for v in yte])


def predicted_class(p: Sequence[float]) -> int:
    """Class index of one output row: argmax of a softmax, ``p >= 0.5`` of a sigmoid."""
    return max(range(len(p)), key=p.__getitem__) if len(p) > 1 else int(p[0] >= 0.5)


def accuracy(outputs: Sequence[Sequence[float]], targets: Sequence[float]) -> float:
    """Share of rows whose predicted class is the target (0..1)."""
    hits: List[bool] = [predicted_class(p) == int(t) for p, t in zip(outputs, targets)]
    return sum(hits) / len(hits)
