"""The tabular MLP: pure == numba to the bit, early stopping (Keras counting), metrics vs scikit-learn."""
from __future__ import annotations

import inspect
from array import array

import pytest
from conftest import use_backend

from stingerml import _kernels
from stingerml._kernels import kernels, tabular_pure
from stingerml.core.matrix import Matrix
from stingerml.core.progress import Progress
from stingerml.core.rng import XorShift32
from stingerml.tabular import MLPClassifier, MLPRegressor, classification_report, regression_metrics
from stingerml.tabular.estimator import TrainState


def blobs(n: int, n_classes: int, nf: int = 4, seed: int = 5):
    """Small noisy clusters: class k centred at k along every axis."""
    rng = XorShift32(seed)
    X, y = array("d"), []
    for r in range(n):
        k = r % n_classes
        X.extend(k + 1.5 * (rng() - 0.5) * 2 for _ in range(nf))
        y.append(f"c{k}")
    return Matrix(X, nf), y


def fingerprint(est) -> bytes:
    st = est.state_
    return (st.P.tobytes() + st.M.tobytes() + st.V.tobytes() + repr(st.history).encode()
            + b"".join(layer.weights.tobytes() + layer.bias.tobytes() for layer in est.layers_))


def test_jit_defines_every_tabular_kernel_with_the_same_signature():
    pytest.importorskip("numba")
    from stingerml._kernels import tabular_jit

    assert set(tabular_pure.__all__) >= {"epoch_order", "train_epoch", "forward"}
    for name in tabular_pure.__all__:
        assert inspect.signature(getattr(tabular_jit, name)) == inspect.signature(getattr(tabular_pure, name)), name


def test_tabular_kernels_follow_the_one_selector(backend):
    want = "tabular_pure" if backend == "python" else "tabular_jit"
    assert kernels("tabular").__name__ == f"stingerml._kernels.{want}"
    assert not hasattr(_kernels, "tabular_kernels")


@pytest.mark.parametrize("n_classes", [2, 3])
def test_classifier_pure_equals_numba(n_classes):
    X, y = blobs(60, n_classes)
    prints = []
    for name in ("python", "numba"):
        with use_backend(name):
            est = MLPClassifier((8, 5), dropout=0.3, batch_size=7, max_epochs=6, seed=3).fit(X, y)
            prints.append((fingerprint(est), est.predict_proba(X).data.tobytes()))
    assert prints[0] == prints[1]


def test_regressor_pure_equals_numba():
    X, _ = blobs(40, 2, nf=3)
    Y = Matrix(array("d", [v * 2 - 1 for v in X.data[: 40 * 2]]), 2)
    prints = []
    for name in ("python", "numba"):
        with use_backend(name):
            est = MLPRegressor((6,), dropout=0.1, batch_size=8, max_epochs=5).fit(X, Y)
            prints.append((fingerprint(est), est.predict(X).data.tobytes()))
    assert prints[0] == prints[1]


def test_same_seed_same_bytes_and_seed_matters():
    X, y = blobs(30, 3)
    a = MLPClassifier((5,), max_epochs=3).fit(X, y)
    b = MLPClassifier((5,), max_epochs=3).fit(X, y)
    c = MLPClassifier((5,), max_epochs=3, seed=7).fit(X, y)
    assert fingerprint(a) == fingerprint(b) != fingerprint(c)


def test_early_stopping_counts_like_keras_and_restores_best():
    """Stops after `patience` epochs in a row without a lower validation loss; the model is the best epoch's."""
    X, y = blobs(80, 3, seed=9)
    Xv, yv = blobs(30, 3, seed=11)
    seen, events = {}, []

    def keep(st: TrainState) -> None:  # the on_epoch_end hook: each finished epoch's state
        seen[st.epoch] = array("f", st.P)

    def watch(event: Progress) -> None:
        if event.stage == "epoch":
            assert event.metrics["epoch"] == event.done and event.total == 300
            assert event.done in seen  # the hook ran before the epoch's progress event
            events.append(event.done)

    with use_backend("numba"):
        est = MLPClassifier((16,), dropout=0.0, learning_rate=0.05, max_epochs=300, patience=4).fit(
            X, y, validation_data=(Xv, yv), progress=watch, on_epoch_end=keep)
    assert events == sorted(seen) == list(range(1, est.n_epochs_ + 1))
    losses = [h["val_loss"] for h in est.history_]
    best = min(range(len(losses)), key=lambda k: (losses[k], k)) + 1
    assert est.stopped_early_ and est.best_epoch_ == best
    assert est.n_epochs_ == best + 4  # Keras: wait reaches patience (4); scikit-learn would run one more
    assert all(v >= losses[best - 1] for v in losses[best:])
    flat = array("f")
    for layer in est.layers_:
        flat.extend(layer.weights)
        flat.extend(layer.bias)
    assert flat == seen[best]


def test_fit_errors():
    X, y = blobs(10, 2)
    with pytest.raises(ValueError, match="2 classes"):
        MLPClassifier().fit(X, ["a"] * 10)
    with pytest.raises(ValueError, match="10 rows but y has 9"):
        MLPClassifier().fit(X, y[:9])
    with pytest.raises(ValueError, match="dropout"):
        MLPClassifier(dropout=1.0).fit(X, y)
    with pytest.raises(RuntimeError, match="before fit"):
        MLPClassifier().predict(X)



def test_the_initial_weights_are_glorot_uniform():
    """Keras's GlorotUniform: W ~ U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out)); biases 0.
    No epoch is trained (max_epochs=0), so the layers are the initial weights; each layer's draws
    fill its interval (the extremes within 25 % of the limit) and stay inside it."""
    import math

    X, y = blobs(20, 3)
    est = MLPClassifier(hidden_layer_sizes=(16, 8), max_epochs=0, seed=3).fit(X, y)
    assert est.n_epochs_ == 0 and [(L.n_in, L.n_out) for L in est.layers_] == [(4, 16), (16, 8), (8, 3)]
    for layer in est.layers_:
        limit = math.sqrt(6.0 / (layer.n_in + layer.n_out))
        w = list(layer.weights)
        assert -limit <= min(w) < -0.75 * limit and 0.75 * limit < max(w) <= limit, (limit, min(w), max(w))
        assert list(layer.bias) == [0.0] * layer.n_out

@pytest.mark.parametrize("setting, words", [
    ({"batch_size": 0}, "batch size"), ({"patience": 0}, "patience must be >= 1"), ({"max_epochs": -1}, "epochs >= 0"),
    ({"learning_rate": 0.0}, "learning rate must be > 0"), ({"alpha": -1e-300}, "alpha >= 0"),
    ({"dropout": -1e-300}, "dropout"), ({"dropout": 1.0}, "dropout")])
def test_settings_just_outside_their_range_are_refused(setting, words):
    """docs/tabular.md: counts are 1 or more, dropout lies in [0, 1), the learning rate is > 0, alpha >= 0."""
    X, y = blobs(10, 2)
    with pytest.raises(ValueError, match=words):
        MLPClassifier(**setting).fit(X, y)


def test_settings_at_the_edge_of_their_range_train():
    """Batches of one row, patience 1, no dropout, no L2: accepted and trained (10 rows: 10 steps)."""
    X, y = blobs(10, 2)
    est = MLPClassifier(hidden_layer_sizes=(2,), batch_size=1, patience=1, max_epochs=2, dropout=0.0, alpha=0.0,
                        learning_rate=1e-3, seed=1).fit(X, y)
    assert 1 <= est.n_epochs_ <= 2 and len(est.history_) == est.n_epochs_

# -- metrics against scikit-learn ---------------------------------------------------------------


def test_classification_metrics_equal_sklearn():
    m = pytest.importorskip("sklearn.metrics")
    rng = XorShift32(4)
    y_true = [int(rng() * 4) for _ in range(200)]
    y_pred = [v if rng() < 0.6 else int(rng() * 4) for v in y_true]
    y_pred = [3 if v == 2 else v for v in y_pred]  # class 2 never predicted: precision 0/0
    rep = classification_report(y_true, y_pred, ["a", "b", "c", "d"])
    assert rep["accuracy"] == m.accuracy_score(y_true, y_pred)
    assert rep["confusion_matrix"] == m.confusion_matrix(y_true, y_pred, labels=[0, 1, 2, 3]).tolist()
    for key, fn in (("precision", m.precision_score), ("recall", m.recall_score), ("f1", m.f1_score)):
        assert rep[key] == pytest.approx(fn(y_true, y_pred, average="macro", zero_division=0), abs=1e-15)
        per = fn(y_true, y_pred, average=None, labels=[0, 1, 2, 3], zero_division=0)
        assert [rep["per_class"][c][key] for c in "abcd"] == pytest.approx(list(per), abs=1e-15)


def test_regression_metrics_equal_sklearn():
    m = pytest.importorskip("sklearn.metrics")
    rng = XorShift32(8)
    t = [rng() * 10 for _ in range(120)]
    p = [v + rng() - 0.5 for v in t]
    T = Matrix(array("d", [v for pair in zip(t[:60], t[60:]) for v in pair]), 2)
    P = Matrix(array("d", [v for pair in zip(p[:60], p[60:]) for v in pair]), 2)
    rep = regression_metrics(T, P)
    import numpy as np

    Tn, Pn = np.array(T.data).reshape(60, 2), np.array(P.data).reshape(60, 2)
    assert rep["mse"] == pytest.approx(list(m.mean_squared_error(Tn, Pn, multioutput="raw_values")), rel=1e-12)
    assert rep["mae"] == pytest.approx(list(m.mean_absolute_error(Tn, Pn, multioutput="raw_values")), rel=1e-12)
    assert rep["r2"] == pytest.approx(list(m.r2_score(Tn, Pn, multioutput="raw_values")), rel=1e-12)
    assert rep["r2_mean"] == pytest.approx(m.r2_score(Tn, Pn), rel=1e-12)
    const = regression_metrics(Matrix(array("d", [1, 1, 1]), 1), Matrix(array("d", [1, 2, 1]), 1))
    assert const["r2"] == [m.r2_score([1, 1, 1], [1, 2, 1])]
