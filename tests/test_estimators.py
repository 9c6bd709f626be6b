"""The estimator convention: Matrix in, scikit-learn style, fitted attributes only after fit,
``to_model()`` on every learner; the old call forms still work, with a DeprecationWarning, and
give the same bits."""
from __future__ import annotations

import warnings
from array import array

import pytest

from stingerml.blaster.logreg import LogisticRegression
from stingerml.blaster.mlp import MLP
from stingerml.core.matrix import Matrix
from stingerml.core.rng import XorShift32
from stingerml.formats import mlmd
from stingerml.learn.scaler import ALGORITHMS, BROWSER, TWO_PASS, Scaler


def problem(n_rows: int, n_cols: int, seed: int = 3):
    rng = XorShift32(seed)
    X = array("f", [rng.gaussian() * 3 + 1 for _ in range(n_rows * n_cols)])
    y = [int(X[r * n_cols] > 1) for r in range(n_rows)]
    return Matrix(X, n_cols), y


def test_fitted_attributes_exist_only_after_fit():
    for est, attrs in ((Scaler(), ("mean_", "scale_", "n_features_")),
                       (LogisticRegression(), ("coef_", "intercept_", "loss_history_", "n_features_")),
                       (MLP(), ("W1_", "b1_", "W2_", "b2_", "W3_", "b3_", "loss_history_", "n_features_"))):
        for attr in attrs:
            assert not hasattr(est, attr), (type(est).__name__, attr)
    X, y = problem(20, 4)
    assert all(hasattr(Scaler().fit(X), a) for a in ("mean_", "scale_"))
    assert all(hasattr(LogisticRegression(max_iter=5).fit(X, y), a) for a in ("coef_", "intercept_"))


def test_methods_before_fit_say_so():
    X, _ = problem(4, 3)
    with pytest.raises(RuntimeError, match="Scaler.transform called before fit"):
        Scaler().transform(X)
    with pytest.raises(RuntimeError, match="LogisticRegression.predict_proba called before fit"):
        LogisticRegression().predict_proba(X)
    with pytest.raises(RuntimeError, match="MLP.to_model called before fit"):
        MLP().to_model()


def test_matrix_in_matrix_out():
    X, y = problem(30, 5)
    scaler = Scaler().fit(X)
    Xs = scaler.transform(X)
    assert isinstance(Xs, Matrix) and Xs.shape == (30, 5) and Xs.data.typecode == "f"
    assert bytes(scaler.fit_transform(X).data) == bytes(Xs.data)
    lr = LogisticRegression(max_iter=50).fit(Xs, y)
    probs = lr.predict_proba(Xs)
    assert len(probs) == 30 and all(0.0 <= p <= 1.0 for p in probs)
    assert lr.predict(Xs) == [int(p >= 0.5) for p in probs]
    assert lr.score(Xs, y) == sum(int(p == t) for p, t in zip(lr.predict(Xs), y)) / 30


def test_the_learners_share_parameter_names():
    lr, net = LogisticRegression(learning_rate=0.5, alpha=2.0), MLP(learning_rate=0.01, alpha=0.1)
    assert (lr.learning_rate, lr.alpha, net.learning_rate, net.alpha) == (0.5, 2.0, 0.01, 0.1)


def test_rows_and_labels_must_agree():
    X, y = problem(10, 3)
    with pytest.raises(ValueError, match="10 rows but y has 9"):
        LogisticRegression().fit(X, y[:9])


def test_to_model_with_and_without_scaler():
    X, y = problem(40, 18)
    scaler = Scaler().fit(X)
    lr = LogisticRegression(max_iter=30).fit(scaler.transform(X), y)
    model = lr.to_model(scaler)
    assert isinstance(model, mlmd.LRModel)
    assert bytes(model.mean) == bytes(scaler.mean_) and bytes(model.scale) == bytes(scaler.scale_)
    assert bytes(model.coef) == bytes(lr.coef_) and model.intercept == lr.intercept_
    plain = lr.to_model()
    assert list(plain.mean) == [0.0] * 18 and list(plain.scale) == [1.0] * 18
    with pytest.raises(ValueError, match="the scaler has 5 features, the model 18"):
        lr.to_model(Scaler().fit(problem(4, 5)[0]))


def _bits(*values) -> bytes:
    out = b""
    for v in values:
        out += bytes(array("d", v)) if isinstance(v, list) else bytes(v) if isinstance(v, array) else repr(v).encode()
    return out


def test_old_call_forms_warn_and_give_the_same_bits():
    X, y = problem(24, 30)
    scaler = Scaler().fit(X)
    Xs = scaler.transform(X)
    lr = LogisticRegression(max_iter=40, learning_rate=0.7, alpha=1.5).fit(Xs, y)
    net = MLP(max_iter=5).fit(Xs, y)
    with pytest.warns(DeprecationWarning):
        old_scaler = Scaler().fit(X.data, 24, 30)
    with pytest.warns(DeprecationWarning):
        old_Xs = old_scaler.transform(X.data, 24)
    assert isinstance(old_Xs, array) and bytes(old_Xs) == bytes(Xs.data)
    with pytest.warns(DeprecationWarning):
        old_lr = LogisticRegression(max_iter=40, lr=0.7, l2=1.5)
    with pytest.warns(DeprecationWarning):
        old_lr.fit(old_Xs, y, 30)
    assert _bits(old_lr.coef_, old_lr.intercept_) == _bits(lr.coef_, lr.intercept_)
    with pytest.warns(DeprecationWarning):
        assert old_lr.lr == 0.7 and old_lr.l2 == 1.5
    with pytest.warns(DeprecationWarning):
        assert _bits(old_lr.predict_proba(old_Xs)) == _bits(lr.predict_proba(Xs))
    with pytest.warns(DeprecationWarning):
        old_net = MLP(max_iter=5).fit(old_Xs, y)  # n_features defaulted to 30
    assert _bits(old_net.W1_, old_net.W3_, old_net.b3_) == _bits(net.W1_, net.W3_, net.b3_)
    with pytest.warns(DeprecationWarning):
        old_model = old_net.to_model(scaler.mean_, scaler.scale_)
    assert mlmd.build(old_model) == mlmd.build(net.to_model(scaler))


def test_new_forms_do_not_warn():
    X, y = problem(12, 30)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scaler = Scaler().fit(X)
        Xs = scaler.transform(X)
        LogisticRegression(max_iter=3).fit(Xs, y).to_model(scaler)
        MLP(max_iter=2).fit(Xs, y).to_model(scaler)


def test_flat_data_without_shape_is_refused():
    with pytest.raises(TypeError, match="must be a stingerml.core.matrix.Matrix"):
        Scaler().fit([1.0, 2.0, 3.0])


def test_scaler_algorithms_against_exact_arithmetic():
    """``Scaler(algorithm)``: both give f32 of the exact mean; "two-pass" gives f32 of the exact population
    deviation (``statistics.pstdev``, exact rationals) where the browser's one pass cancels (values far from 0)."""
    import statistics

    rng = XorShift32(5)
    cols = ([1e8 + rng() for _ in range(200)], [rng() * 3.0 - 1.0 for _ in range(200)], [7.25] * 200)
    X = Matrix(array("d", [v for row in zip(*cols) for v in row]), 3)
    two, browser = Scaler(TWO_PASS).fit(X), Scaler().fit(X)
    assert browser.algorithm == BROWSER and ALGORITHMS == (BROWSER, TWO_PASS)
    exact_mean = array("f", [statistics.fmean(c) for c in cols])
    exact_sd = array("f", [statistics.pstdev(c) or 1.0 for c in cols])
    assert two.mean_ == exact_mean == browser.mean_
    assert two.scale_ == exact_sd
    assert browser.scale_[0] != exact_sd[0] and browser.scale_[1:] == exact_sd[1:]  # one pass cancels at 1e8
    with pytest.raises(ValueError, match="algorithm must be one of browser, two-pass"):
        Scaler("exact")
