"""MLP classifier and regressor for tabular data, scikit-learn style, pure stdlib (numba optional).

    from stingerml.core.matrix import Matrix
    from stingerml.tabular import MLPClassifier
    clf = MLPClassifier(hidden_layer_sizes=(64, 32)).fit(X, y)   # X: Matrix, y: labels
    clf.predict(X_new); clf.predict_proba(X_new); clf.to_model()  # -> DenseNetwork

Training (docs/tabular.md):

- A standard scaler is fitted on the training rows (``mean_``, ``scale_``,
  float32, a zero spread gets scale 1) and applied as ``(x - mean) / scale``.
- Weights start Glorot-uniform, ``(2u - 1)·sqrt(6 / (fan_in + fan_out))`` for
  every weight layer by layer (row-major ``[out][in]``), biases 0, with ``u``
  from :class:`~stingerml.core.rng.XorShift32` seeded with ``seed``. The same
  generator then shuffles the training rows at the start of every epoch
  (Fisher–Yates from the identity order) and draws the dropout masks.
- Mini-batch Adam (lr 1e-3, β 0.9/0.999, ε 1e-8) on cross-entropy (softmax
  for 3+ classes, one sigmoid unit for 2) or half squared error (regression),
  with L2 ``alpha`` as scikit-learn's. Kernels: ``kernels("tabular")``
  (:mod:`stingerml._kernels.tabular_pure` or its numba twin; float64 throughout,
  the two give the same bits).
- Early stopping on the validation loss, **Keras's counting**: an epoch
  improves when its validation loss is below the best so far; after
  ``patience`` epochs in a row without improvement training stops; the best
  epoch's weights are restored at the end (also when no early stop happened).
  Validation is ``validation_data`` when given, else a stratified
  ``validation_fraction`` of the training rows (no early stopping when
  ``early_stopping=False``).
- Progress: ``fit(..., progress=)`` takes a
  :data:`~stingerml.core.progress.ProgressCallback`. Stage ``"epoch"`` after each
  epoch (``done`` = the epoch, ``total`` = ``max_epochs``, ``metrics`` = its
  history entry), ``"batch"`` every 50 batches and at the end of each epoch
  (``done`` and ``total`` count batches over all epochs; ``metrics``: the
  ``epoch``, the ``batch`` within it, its ``batches``), ``"done"`` at the end.
- The fitted network is rounded to float32 (:meth:`to_model`); ``predict`` and
  ``predict_proba`` use those float32 weights, so a saved and reloaded model
  predicts exactly what the estimator did.
"""
from __future__ import annotations

import inspect
import math
from array import array
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from .._kernels import kernels
from ..core.dense import ACTIVATIONS, BOUNDS, DenseLayer, DenseNetwork, predicted_classes
from ..core.errors import TabularDataError, TrainingError
from ..core.matrix import Matrix, Rows
from ..core.preprocess import PREPROCESSORS, apply_rows
from ..core.progress import Progress, ProgressCallback, Reporter
from ..core.rng import XorShift32
from ..learn.estimator import as_matrix, check_fitted
from ..learn import metrics
from ..learn.epochs import MONITORS, EpochHook, TrainState, run_epochs
from ..learn.scaler import TWO_PASS, Scaler
from ..learn.split import random_split, stratified_split


def _check_X(X: Union[Matrix, Rows], what: str) -> None:
    if not isinstance(X, Rows):
        as_matrix(X, what)  # TypeError unless a Matrix (or a view of one)
    if X.n_rows == 0:
        raise TabularDataError(f"{what}: X has no rows")
    if isinstance(X, Rows):  # a view: its matrix's values are checked (one pass, no copy)
        X = X.matrix
    if all(map(math.isfinite, X.data)):
        return
    for k, v in enumerate(X.data):
        if not math.isfinite(v):
            raise TabularDataError(f"{what}: X row {k // X.n_cols}, column {k % X.n_cols} is {v}; "
                                   "every feature must be a finite number")


def copy_rows(X: Union[Matrix, Rows], positions: Optional[Sequence[int]] = None) -> array:
    """A float64 copy of the rows of ``X`` (``positions``: only those, in that order), flat."""
    if isinstance(X, Rows):
        return X.take(positions).data
    if positions is None:
        return array("d", X.data if isinstance(X.data, array) and X.data.typecode == "d" else array("d", X.data))
    return Rows(X, positions).take().data


CHUNK_ROWS = 4096
"""Rows a prediction scales and runs at a time (:func:`network_outputs`): its copy of the rows stays small."""


def scale_rows(X: Union[Matrix, Rows], mean: Sequence[float], scale: Sequence[float],
               positions: Optional[Sequence[int]] = None) -> array:
    """``(x - mean[j]) / scale[j]`` in float64 of the rows of ``X`` (``positions``: only those rows,
    in that order), flat: the one copy of those rows (a view's rows are gathered into it)."""
    nf = X.n_cols
    out = copy_rows(X, positions)
    for j in range(nf):
        m, s = float(mean[j]), float(scale[j])
        out[j::nf] = array("d", [(v - m) / s for v in out[j::nf]])
    return out


def network_params(net: DenseNetwork) -> Tuple[array, List[int]]:
    """The network's float32 weights as the kernels' flat float64 parameters, and the layer sizes."""
    sizes = [net.layers[0].n_in] + [layer.n_out for layer in net.layers]
    P = array("d")
    for layer in net.layers:
        P.extend(array("d", layer.weights))
        P.extend(array("d", layer.bias))
    return P, sizes


def network_outputs(net: DenseNetwork, X: Union[Matrix, Rows]) -> array:
    """Outputs of ``net`` for every row of raw features ``X`` (a Matrix or a view; its preprocessing and
    scaler applied), flat ``n × n_outputs``.

    Probabilities for softmax/sigmoid networks, values for linear ones; computed
    by the active backend's kernel (the same bits on both), :data:`CHUNK_ROWS` rows at a time (a
    row's outputs do not depend on the others: only a chunk's scaled copy is held).
    """
    if X.n_cols != net.n_features:
        raise TabularDataError(f"the model takes {net.n_features} features, the data has {X.n_cols}")
    P, sizes = network_params(net)
    if net.preprocess:
        X = apply_rows(net.preprocess, X.take() if isinstance(X, Rows) else X)
    forward = kernels("tabular").forward
    out = array("d")
    for start in range(0, X.n_rows, CHUNK_ROWS):
        part = range(start, min(X.n_rows, start + CHUNK_ROWS))
        Xs = scale_rows(X, net.mean, net.scale, part) if net.mean is not None else copy_rows(X, part)
        out.extend(forward(P, sizes, Xs, len(part), net.output, (), net.output_activation)[0])
    return out


class _TabularMLP:
    """Shared fitting machinery of :class:`MLPClassifier` and :class:`MLPRegressor`."""

    _output: str = "linear"
    _acts: Tuple[str, ...] = ()  # a regressor's bounded outputs (its output_activation per target), else ()

    def __init__(
        self,
        hidden_layer_sizes: Sequence[int] = (64, 32),
        dropout: float = 0.2,
        alpha: float = 1e-4,
        learning_rate: float = 1e-3,
        batch_size: int = 32,
        max_epochs: int = 200,
        early_stopping: bool = True,
        patience: int = 10,
        validation_fraction: float = 0.1,
        seed: int = 42,
        preprocess: str = "",
        monitor: str = "val_loss",
    ) -> None:
        self.hidden_layer_sizes = tuple(hidden_layer_sizes)
        self.dropout = dropout
        self.alpha = alpha
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.seed = seed
        self.preprocess = preprocess
        self.monitor = monitor

    # -- parameters -------------------------------------------------------------------------

    def _check_params(self) -> None:
        if not all(isinstance(h, int) and h > 0 for h in self.hidden_layer_sizes):
            raise TabularDataError(f"hidden layer sizes must be positive integers, not {self.hidden_layer_sizes}")
        if not 0.0 <= self.dropout < 1.0:
            raise TabularDataError(f"dropout must be in [0, 1), not {self.dropout}")
        if self.batch_size < 1 or self.max_epochs < 0 or self.patience < 1:
            raise TabularDataError("batch size and patience must be >= 1 and epochs >= 0")
        if not (self.learning_rate > 0 and self.alpha >= 0):
            raise TabularDataError("learning rate must be > 0 and alpha >= 0")
        if self.monitor not in MONITORS:
            raise TabularDataError(f"monitor must be one of {', '.join(MONITORS)}, not {self.monitor!r}")
        if self.monitor == "val_accuracy" and self._output == "linear":
            raise TabularDataError("monitor val_accuracy is for classifiers; a regressor monitors val_loss")
        if self.preprocess and self.preprocess not in PREPROCESSORS:
            raise TabularDataError(f"unknown preprocessing {self.preprocess!r}; the steps are "
                                   f"{', '.join(PREPROCESSORS)}")

    def _start(self, st: TrainState, sizes: Sequence[int]) -> None:
        """Fill an empty ``st``: Glorot-uniform weights, zero biases and moments, the generator after
        the init draws."""
        K = kernels("tabular")
        rng = XorShift32(self.seed)
        P = array("d", bytes(8 * K.n_params(sizes)))
        for (w0, _), n_in, n_out in zip(K.layout(sizes), sizes, sizes[1:]):
            limit = math.sqrt(6.0 / (n_in + n_out))
            for k in range(n_in * n_out):
                P[w0 + k] = (2.0 * rng() - 1.0) * limit
        zeros = bytes(8 * len(P))
        st.P, st.M, st.V, st.step, st.rng_state = P, array("d", zeros), array("d", zeros), 0, rng.state

    # -- fitting -----------------------------------------------------------------------------

    def _fit(self, X: Union[Matrix, Rows], T: array, n_out: int, kind: str,
             val: Optional[Tuple[Union[Matrix, Rows], array]], progress: Optional[ProgressCallback],
             state: Optional[TrainState], stratify: Optional[List[int]], on_epoch_end: Optional[EpochHook]):
        """Train on the rows of ``X`` (a view is never copied whole: each chunk of
        ``BATCHES_PER_REPORT`` batches is gathered and scaled on its own) and targets ``T``."""
        self._check_params()
        _check_X(X, "fit")
        if self.preprocess:  # a step makes new features: the rows are copied once
            X = apply_rows(self.preprocess, X.take() if isinstance(X, Rows) else X)
        if val is not None and self.preprocess:
            val = (apply_rows(self.preprocess, val[0].take() if isinstance(val[0], Rows) else val[0]), val[1])
        if val is None and self.early_stopping:
            n = X.n_rows
            if stratify is not None:
                parts = stratified_split(stratify, [str(k) for k in range(max(stratify) + 1)],
                                         (1.0 - self.validation_fraction, self.validation_fraction, 0.0), self.seed)
            else:
                parts = random_split(n, (1.0 - self.validation_fraction, self.validation_fraction, 0.0), self.seed)
            view = X if isinstance(X, Rows) else Rows(X, range(n))
            val = (Rows(view.matrix, [view.index[p] for p in parts.val]), _rows(Matrix(T, n_out), parts.val).data)
            X, T = Rows(view.matrix, [view.index[p] for p in parts.train]), _rows(Matrix(T, n_out), parts.train).data
        # the trainers' algorithm (models' bytes depend on it); a column at a time, each a counted step
        scaler = Scaler(TWO_PASS).fit(X, tick=Reporter(progress).ticks("scale", "fitting the scaler: feature", every=1))
        self.mean_, self.scale_ = scaler.mean_, scaler.scale_
        self.n_features_in_ = X.n_cols
        sizes = [X.n_cols, *self.hidden_layer_sizes, n_out]
        K = kernels("tabular")
        self.sizes_ = sizes
        n = X.n_rows
        if val is not None:
            _check_X(val[0], "validation")
            Tv = val[1] if isinstance(val[1], array) and val[1].typecode == "d" else array("d", val[1])
            Xv = scale_rows(val[0], self.mean_, self.scale_)
        st = state if state is not None else TrainState()
        if not len(st.P):
            self._start(st, sizes)
        if len(st.P) != K.n_params(sizes) or len(st.M) != len(st.P) or len(st.V) != len(st.P) or (
                st.best_P is not None and len(st.best_P) != len(st.P)):
            raise TrainingError("the checkpoint does not match this network's layer sizes; start a new run")
        if not 1 <= st.rng_state <= 0xFFFFFFFF or st.epoch < 0 or st.step < 0:
            raise TrainingError("the checkpoint's generator state or counts are out of range; start a new run")
        cache: Dict[str, Any] = {}  # per-fit values the validation metrics reuse every epoch

        def train_part(part: Sequence[int], bc1: array, bc2: array, rng_state: int) -> Tuple[float, int, int]:
            Xs = scale_rows(X, self.mean_, self.scale_, part)  # this chunk's rows: row k is row part[k]
            Ts = array("d")
            for r in part:
                Ts.extend(T[r * n_out:(r + 1) * n_out])
            return K.train_epoch(st.P, st.M, st.V, sizes, Xs, Ts, range(len(part)), self.batch_size, kind,
                                 self.dropout, self.alpha, self.learning_rate, bc1, bc2, rng_state, self._acts)

        def validate() -> Dict[str, float]:
            out, vloss = K.forward(st.P, sizes, Xv, val[0].n_rows, kind, Tv, self._acts)
            return {"val_loss": vloss / val[0].n_rows, **self._val_metrics(out, Tv, n_out, cache)}

        run_epochs(st, n, self.batch_size, self.max_epochs, self.patience, train_part,
                   validate if val is not None else None, kind != "linear", progress, self.monitor, on_epoch_end)
        st.done = True
        final = st.best_P if st.best_P is not None else st.P
        self.state_ = st
        self.history_ = st.history
        self.n_epochs_ = st.epoch
        self.best_epoch_ = st.best_epoch if st.best_P is not None else st.epoch
        self.stopped_early_ = st.epoch < self.max_epochs
        self.layers_ = layers_from_params(final, sizes, self._out_affine())
        if progress is not None:
            how = "stopped early" if self.stopped_early_ else "finished"
            progress(Progress("done", f"{how} after {self.n_epochs_} epochs (best epoch {self.best_epoch_})"))
        return self

    def snapshot(self, P: Sequence[float]) -> DenseNetwork:
        """The network (float32) that parameters ``P`` of this fit make, e.g. the live ``TrainState.P``."""
        return self._model(layers_from_params(P, self.sizes_, self._out_affine()))

    def _val_metrics(self, out: array, T: array, n_out: int, cache: Dict[str, Any]) -> Dict[str, float]:
        raise NotImplementedError

    def _model(self, layers: Tuple[DenseLayer, ...]) -> DenseNetwork:
        raise NotImplementedError

    def _out_affine(self) -> Optional[Tuple[Sequence[float], Sequence[float]]]:
        return None

    def _network(self, layers: Tuple[DenseLayer, ...], classes: Sequence[str], targets: Sequence[str]) -> DenseNetwork:
        names = tuple(getattr(self, "feature_names_", ())) or tuple(f"x{k}" for k in range(self.n_features_in_))
        return DenseNetwork(layers, self._output, array("f", self.mean_), array("f", self.scale_),
                            names, tuple(classes), tuple(targets), preprocess=self.preprocess,
                            output_activation=self._acts)

    def to_model(self) -> DenseNetwork:
        """The fitted network (float32) with its scaler and names: what model formats read."""
        check_fitted(self, "layers_", "to_model")
        return self._model(self.layers_)

    def _outputs(self, X: Matrix) -> array:
        check_fitted(self, "layers_", "predict")
        _check_X(X, "predict")
        return network_outputs(self.to_model(), X)


def layers_from_params(P: Sequence[float], sizes: Sequence[int],
                       out_affine: Optional[Tuple[Sequence[float], Sequence[float]]] = None) -> Tuple[DenseLayer, ...]:
    """Flat kernel parameters → float32 :class:`DenseLayer` s (each value rounded to float32 once).

    ``out_affine = (mean, scale)`` folds a target de-standardisation ``y = z·scale + mean``
    into the last layer (``W·scale``, ``b·scale + mean`` in float64, then rounded).
    """
    layers = []
    last = len(sizes) - 2
    for k, ((w0, b0), n_in, n_out) in enumerate(zip(kernels("tabular").layout(sizes), sizes, sizes[1:])):
        W, b = P[w0:b0], P[b0:b0 + n_out]
        if k == last and out_affine is not None:
            mean, scale = out_affine
            W = [W[i] * scale[i // n_in] for i in range(len(W))]
            b = [b[o] * scale[o] + mean[o] for o in range(n_out)]
        layers.append(DenseLayer(array("f", W), array("f", b), n_in, n_out))
    return tuple(layers)


def _rows(X: Matrix, idx: Sequence[int]) -> Matrix:
    """Rows ``idx`` of ``X`` (in that order) as a float64 Matrix (a copy; :class:`Rows` is the view)."""
    return Rows(X, idx).take()


class _CodeTargets:
    """The targets of class codes, flat ``n × n_out`` float64 (a 0/1 per row for 2 classes, one-hot
    for more), built a slice of whole rows at a time: training never holds the ``8 × n_out`` bytes a
    row of the whole array."""

    def __init__(self, codes: Sequence[int], n_classes: int) -> None:
        self.codes, self.width = codes, 1 if n_classes == 2 else n_classes

    def __len__(self) -> int:
        return len(self.codes) * self.width

    def __getitem__(self, k: slice) -> array:
        start, stop, step = k.indices(len(self))
        if step != 1 or start % self.width or stop % self.width:
            raise IndexError("targets are read whole rows at a time")
        rows = self.codes[start // self.width:stop // self.width]
        if self.width == 1:
            return array("d", [float(c) for c in rows])
        T = array("d", [0.0]) * len(rows) * self.width
        for r, c in enumerate(rows):
            T[r * self.width + c] = 1.0
        return T


class MLPClassifier(_TabularMLP):
    """Softmax (3+ classes) or one-sigmoid (2 classes) MLP classifier.

    Fitted attributes: ``classes_`` (labels as text, index = class code),
    ``mean_``/``scale_``, ``layers_`` (float32), ``history_``, ``n_epochs_``,
    ``best_epoch_``, ``stopped_early_``, ``state_`` (:class:`TrainState`).
    """

    def fit(self, X: Matrix, y: Sequence[Any], *, classes: Optional[Sequence[Any]] = None,
            validation_data: Optional[Tuple[Matrix, Sequence[Any]]] = None,
            feature_names: Sequence[str] = (), progress: Optional[ProgressCallback] = None,
            state: Optional[TrainState] = None, on_epoch_end: Optional[EpochHook] = None) -> "MLPClassifier":
        """Train on ``X`` (``n × n_features`` raw features) and labels ``y``; returns self.

        ``classes``: the label order (default: the distinct labels sorted); ``state``:
        a :class:`TrainState` to continue from (resume), updated in place; ``progress`` gets
        :class:`~stingerml.core.progress.Progress` events; ``on_epoch_end(state)`` is called after
        each finished epoch (:data:`~stingerml.learn.epochs.EpochHook`: checkpoints).
        """
        labels = [str(v) for v in y]
        if len(labels) != X.n_rows:
            raise TabularDataError(f"fit: X has {X.n_rows} rows but y has {len(labels)} labels")
        from .csvdata import class_order

        self.classes_ = tuple(str(c) for c in classes) if classes is not None else class_order(labels)
        if len(self.classes_) < 2:
            raise TabularDataError("fit: a classifier needs at least 2 classes")
        codes = self._encode(labels, "y")
        del labels  # the codes replace them (a list of a label per row)
        self.feature_names_ = tuple(feature_names)
        K = len(self.classes_)
        self._output = "sigmoid" if K == 2 else "softmax"
        val = None
        if validation_data is not None:
            Xv, yv = validation_data
            val = (Xv, self._targets(self._encode([str(v) for v in yv], "validation y")))
        return self._fit(X, _CodeTargets(codes, K), 1 if K == 2 else K, self._output, val, progress, state, codes,
                         on_epoch_end)

    def _encode(self, labels: List[str], what: str) -> array:
        index = {c: k for k, c in enumerate(self.classes_)}
        for k, v in enumerate(labels):
            if v not in index:
                raise TabularDataError(f"{what}: label {v!r} at row {k} is not one of the classes "
                                       f"({', '.join(self.classes_)})")
        return array("i", [index[v] for v in labels])  # 4 bytes a row

    def _targets(self, codes: Sequence[int]) -> array:
        """The whole targets array of ``codes`` (the validation rows': one forward pass reads them)."""
        return _CodeTargets(codes, len(self.classes_))[:]

    def _val_metrics(self, out: array, T: array, n_out: int, cache: Dict[str, Any]) -> Dict[str, float]:
        if "true" not in cache:
            cache["true"] = [int(v > 0.5) for v in T] if n_out == 1 else predicted_classes(T, n_out)
        return {"val_accuracy": metrics.accuracy(cache["true"], predicted_classes(out, n_out))}

    def predict_proba(self, X: Matrix) -> Matrix:
        """``n × n_classes`` probabilities (float64 from the float32 weights)."""
        out = self._outputs(X)
        if len(self.classes_) == 2:
            out = array("d", [v for p in out for v in (1.0 - p, p)])
        return Matrix(out, len(self.classes_))

    def predict_codes(self, X: Matrix) -> List[int]:
        """The class index of each row (first largest probability; a sigmoid says 1 from 0.5)."""
        out = self._outputs(X)
        return predicted_classes(out, 1 if len(self.classes_) == 2 else len(self.classes_))

    def predict(self, X: Matrix) -> List[str]:
        """The predicted label of each row."""
        return [self.classes_[k] for k in self.predict_codes(X)]

    def score(self, X: Matrix, y: Sequence[Any]) -> float:
        """Accuracy on ``X``, ``y``."""
        return metrics.accuracy(self._encode([str(v) for v in y], "y"), self.predict_codes(X))

    def _model(self, layers: Tuple[DenseLayer, ...]) -> DenseNetwork:
        return self._network(layers, self.classes_, ())


class MLPRegressor(_TabularMLP):
    """MLP regressor for one or more targets (half squared error), each linear or bounded.

    ``output_activation``: one of :data:`~stingerml.core.dense.ACTIVATIONS` for every target, or one
    per target (a sequence in target order, or a mapping ``{target name: word}``, unnamed targets
    linear). A ``sigmoid`` target's values must lie in [0, 1], a ``tanh`` target's in [-1, 1]; the
    network outputs ``sigmoid(z)`` / ``tanh(z)`` for them and the loss ``½ (p - t)²`` is taken
    after the activation (its gradient goes through it).

    Linear targets are standardised for training like the features (``target_mean_``,
    ``target_scale_``, float32, from the training rows; a bounded target keeps its own values:
    mean 0, scale 1); the fitted network folds the inverse into its last layer, so it outputs
    targets in their own units. The validation loss is on these training-scale targets.
    """

    _output = "linear"

    def __init__(self, *args: Any, output_activation: Union[str, Sequence[str], Dict[str, str]] = "linear",
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.output_activation = output_activation

    # the shared parameters (their one definition is _TabularMLP.__init__), then output_activation
    __init__.__signature__ = inspect.signature(_TabularMLP.__init__).replace(parameters=[
        *inspect.signature(_TabularMLP.__init__).parameters.values(),
        inspect.Parameter("output_activation", inspect.Parameter.KEYWORD_ONLY, default="linear",
                          annotation="Union[str, Sequence[str], Dict[str, str]]")])

    def _activations(self, names: Sequence[str]) -> Tuple[str, ...]:
        """One activation word per target from ``output_activation``; ``()`` when all are linear."""
        given = self.output_activation
        if isinstance(given, str):
            acts = [given] * len(names)
        elif isinstance(given, dict):
            unknown = [k for k in given if k not in names]
            if unknown:
                raise TabularDataError(f"output_activation names {unknown[0]!r}, not a target "
                                       f"({', '.join(names)})")
            acts = [given.get(n, "linear") for n in names]
        else:
            acts = list(given)
            if len(acts) != len(names):
                raise TabularDataError(f"output_activation has {len(acts)} words for {len(names)} targets")
        bad = next((a for a in acts if a not in ACTIVATIONS), None)
        if bad is not None:
            raise TabularDataError(f"output_activation {bad!r} is not one of {', '.join(ACTIVATIONS)}")
        return tuple(acts) if any(a != "linear" for a in acts) else ()

    def _check_bounds(self, Y: Matrix, what: str) -> None:
        """TabularDataError at the first value of a bounded target outside its activation's range."""
        for j, act in enumerate(self._acts):
            if act == "linear":
                continue
            lo, hi = BOUNDS[act]
            for r, v in enumerate(Y.data[j::Y.n_cols]):
                if not lo <= v <= hi:
                    raise TabularDataError(
                        f"{what}: target {self.target_names_[j]!r} is {v:g} at row {r}; a {act} output lies in "
                        f"[{lo:g}, {hi:g}]: rescale the column or make it linear")

    def _out_affine(self) -> Optional[Tuple[Sequence[float], Sequence[float]]]:
        return self.target_mean_, self.target_scale_

    def fit(self, X: Matrix, y: Union[Matrix, Sequence[float]], *,
            validation_data: Optional[Tuple[Matrix, Union[Matrix, Sequence[float]]]] = None,
            feature_names: Sequence[str] = (), target_names: Sequence[str] = (),
            progress: Optional[ProgressCallback] = None, state: Optional[TrainState] = None,
            on_epoch_end: Optional[EpochHook] = None) -> "MLPRegressor":
        """Train on ``X`` and targets ``y`` (a Matrix ``n × n_targets``, or one value per row);
        ``progress``, ``state`` and ``on_epoch_end`` as :meth:`MLPClassifier.fit`."""
        Y = y if isinstance(y, Matrix) else Matrix(array("d", y), 1)
        self._single = not isinstance(y, Matrix)
        if Y.n_rows != X.n_rows:
            raise TabularDataError(f"fit: X has {X.n_rows} rows but y has {Y.n_rows}")
        for v in Y.data:
            if not math.isfinite(v):
                raise TabularDataError(f"fit: target {v} is not a finite number")
        self.n_targets_ = Y.n_cols
        self.feature_names_ = tuple(feature_names)
        self.target_names_ = tuple(target_names) or tuple(f"y{k}" for k in range(Y.n_cols))
        self._acts = self.activations_ = self._activations(self.target_names_)
        self._check_bounds(Y, "fit")
        scaler = Scaler(TWO_PASS).fit(Y)  # the trainers' algorithm: models' bytes depend on it
        self.target_mean_, self.target_scale_ = array("f", scaler.mean_), array("f", scaler.scale_)
        for j, act in enumerate(self._acts):  # a bounded target is learnt in its own units
            if act != "linear":
                self.target_mean_[j], self.target_scale_[j] = 0.0, 1.0
        val = None
        if validation_data is not None:
            Xv, yv = validation_data
            Yv = yv if isinstance(yv, Matrix) else Matrix(array("d", yv), 1)
            self._check_bounds(Yv, "validation")
            val = (Xv, scale_rows(Yv, self.target_mean_, self.target_scale_))
        T = scale_rows(Y, self.target_mean_, self.target_scale_)
        return self._fit(X, T, Y.n_cols, "linear", val, progress, state, None, on_epoch_end)

    def _val_metrics(self, out: array, T: array, n_out: int, cache: Dict[str, Any]) -> Dict[str, float]:
        r2 = metrics.regression_metrics(Matrix(T, n_out), Matrix(out, n_out))["r2_mean"]
        return {"val_r2": r2}

    def predict(self, X: Matrix) -> Union[Matrix, List[float]]:
        """Predicted targets: a Matrix ``n × n_targets``, or a list when fitted on one value per row."""
        out = self._outputs(X)
        return list(out) if getattr(self, "_single", False) else Matrix(out, self.n_targets_)

    def score(self, X: Matrix, y: Union[Matrix, Sequence[float]]) -> float:
        """R² averaged over the targets (scikit-learn's ``uniform_average``)."""
        Y = y if isinstance(y, Matrix) else Matrix(array("d", y), 1)
        return metrics.regression_metrics(Y, Matrix(self._outputs(X), self.n_targets_))["r2_mean"]

    def _model(self, layers: Tuple[DenseLayer, ...]) -> DenseNetwork:
        return self._network(layers, (), self.target_names_)
