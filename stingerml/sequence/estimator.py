"""TCN and LSTM sequence classifiers, scikit-learn style, pure stdlib (numba optional).

    from stingerml.sequence import Sequences, TCNClassifier
    X = Sequences.from_lists(samples, mask)      # [N][T][F] and a prefix mask [N][T]
    clf = TCNClassifier(hidden=32).fit(X, labels)
    clf.predict(X); clf.predict_proba(X); clf.to_model()   # -> SequenceNetwork

Training follows the tabular :class:`~stingerml.tabular.MLPClassifier`
(docs/sequence.md) and shares its epoch loop
(:func:`~stingerml.learn.epochs.run_epochs`: shuffles, Adam's bias
corrections, early stopping with Keras's counting, progress events, a
:class:`~stingerml.learn.epochs.TrainState` to checkpoint and resume):

- ``preprocess``: a named step of :mod:`stingerml.core.preprocess` (``hands21``) applied to
  every raw step first, then part of the model;
- a per-feature scaler fitted on the training samples' valid steps (float32);
- Glorot-uniform weights drawn in layout order from :class:`~stingerml.core.rng.XorShift32`
  seeded with ``seed`` (fan-in/out count the taps of a convolution; an LSTM's
  ``W`` and ``R`` have fan-out ``4H``), zero biases except the LSTM's forget gates (1, as
  Keras's ``unit_forget_bias``); the same generator then shuffles and draws dropout;
- mini-batch Adam on cross-entropy, L2 ``alpha`` on the weights;
- the kernels ``kernels("sequence")`` (float64; pure Python or the numba twin, same bits);
- the best epoch's parameters (``monitor``: ``val_loss`` or ``val_accuracy``) rounded to
  float32 are the model; ``predict`` uses those, so a saved model predicts the same.
"""
from __future__ import annotations

import math
from array import array
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from .._kernels import kernels
from .._kernels.sequence_pure import layout, make_spec, n_params, weight_flags
from ..core import preprocess as steps
from ..core.dense import predicted_classes
from ..core.errors import SequenceDataError, TrainingError
from ..core.matrix import Matrix
from ..core.progress import Progress, ProgressCallback
from ..core.rng import XorShift32
from ..learn import metrics
from ..learn.epochs import MONITORS, EpochHook, TrainState, run_epochs
from ..learn.estimator import check_fitted, default_of
from ..learn.scaler import TWO_PASS, Scaler
from ..learn.split import stratified_split
from .data import Sequences
from .model import SequenceNetwork, preprocess_steps, scale_steps


class _SequenceClassifier:
    """The fitting machinery of :class:`TCNClassifier` and :class:`LSTMClassifier`."""

    architecture = ""

    def __init__(self, depth: int, kernel_size: int, pooling: str, hidden: int = 32, dropout: float = 0.1,
                 alpha: float = 1e-4, learning_rate: float = 3e-3, batch_size: int = 32, max_epochs: int = 100,
                 early_stopping: bool = True, patience: int = 10, validation_fraction: float = 0.1,
                 monitor: str = "val_loss", seed: int = 42, preprocess: str = "") -> None:
        """The parameters both classifiers have; their defaults here are the only definition
        (:func:`shared_default`; :class:`TCNClassifier` and :class:`LSTMClassifier` read them)."""
        self.hidden = hidden
        self.depth = depth
        self.kernel_size = kernel_size
        self.pooling = pooling
        self.dropout = dropout
        self.alpha = alpha
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.monitor = monitor
        self.seed = seed
        self.preprocess = preprocess

    def _check_params(self) -> None:
        for name in ("hidden", "depth", "kernel_size", "batch_size", "patience"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise SequenceDataError(f"{name} must be a positive integer, not {v!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise SequenceDataError(f"dropout must be in [0, 1), not {self.dropout}")
        if not (self.learning_rate > 0 and self.alpha >= 0) or self.max_epochs < 0:
            raise SequenceDataError("learning rate must be > 0, alpha >= 0 and epochs >= 0")
        if self.monitor not in MONITORS:
            raise SequenceDataError(f"monitor must be one of {', '.join(MONITORS)}, not {self.monitor!r}")
        try:
            steps.check_name(self.preprocess)
        except ValueError as exc:
            raise SequenceDataError(str(exc)) from None
        if self.pooling not in ("avg", "last"):
            raise SequenceDataError(f"pooling must be avg or last, not {self.pooling!r}")

    def _spec(self, n_features: int, n_classes: int) -> array:
        return make_spec(self.architecture, n_features, self.hidden, n_classes, self.depth, self.kernel_size,
                         self.pooling)

    def _start(self, st: TrainState, spec: array) -> None:
        """Fill an empty ``st``: initial parameters (module doc), zero moments, the generator after the draws."""
        rng = XorShift32(self.seed)
        P = array("d", bytes(8 * n_params(spec)))
        H = self.hidden
        for name, off, shape in layout(spec):
            if name[0] == "b":
                if self.architecture == "lstm" and name != "bh":
                    for o in range(H, 2 * H):  # the forget gate's rows
                        P[off + o] = 1.0
                continue
            taps = shape[2] if len(shape) == 3 else 1
            limit = math.sqrt(6.0 / (shape[1] * taps + shape[0] * taps))
            size = shape[0] * shape[1] * taps
            for k in range(size):
                P[off + k] = (2.0 * rng() - 1.0) * limit
        zeros = bytes(8 * len(P))
        st.P, st.M, st.V, st.step, st.rng_state = P, array("d", zeros), array("d", zeros), 0, rng.state

    def fit(self, X: Sequences, y: Sequence[Any], *, classes: Optional[Sequence[Any]] = None,
            validation_data: Optional[Tuple[Sequences, Sequence[Any]]] = None,
            feature_names: Sequence[str] = (), progress: Optional[ProgressCallback] = None,
            state: Optional[TrainState] = None, on_epoch_end: Optional[EpochHook] = None) -> "_SequenceClassifier":
        """Train on sequences ``X`` and labels ``y``; returns self.

        ``classes``: the label order (default: the distinct labels sorted); ``validation_data``:
        ``(Sequences, labels)`` for early stopping (default: a stratified ``validation_fraction``
        of ``X`` when ``early_stopping``); ``state``: a :class:`TrainState` to continue (resume),
        updated in place; ``progress``: Progress events and ``on_epoch_end(state)`` (checkpoints)
        as the tabular trainer's.
        """
        self._check_params()
        if not isinstance(X, Sequences):
            raise TypeError(f"fit: X must be a Sequences (Sequences.from_lists(...)), not {type(X).__name__}")
        labels = [str(v) for v in y]
        if len(labels) != X.n_samples:
            raise SequenceDataError(f"fit: X has {X.n_samples} samples but y has {len(labels)} labels")
        X.check_finite("fit")
        self.classes_ = tuple(str(c) for c in classes) if classes is not None else tuple(sorted(set(labels)))
        if len(self.classes_) < 2:
            raise SequenceDataError("fit: a classifier needs at least 2 classes")
        codes = self._encode(labels, "y")
        if validation_data is not None:
            Xv, yv = validation_data[0], self._encode([str(v) for v in validation_data[1]], "validation y")
            Xv.check_finite("validation")
        elif self.early_stopping:
            parts = stratified_split(codes, list(self.classes_),
                                     (1.0 - self.validation_fraction, self.validation_fraction, 0.0), self.seed)
            Xv, yv = X.take(parts.val), [codes[i] for i in parts.val]
            X, codes = X.take(parts.train), [codes[i] for i in parts.train]
        else:
            Xv, yv = None, None
        F, C = X.n_features, len(self.classes_)
        try:
            steps.check(self.preprocess, F)
        except ValueError as exc:
            raise SequenceDataError(f"fit: {exc} (features per step)") from None
        X = preprocess_steps(X, self.preprocess)
        self.n_features_in_ = F
        self.n_steps_ = X.n_steps
        self.feature_names_ = tuple(feature_names) or tuple(f"x{k}" for k in range(F))
        Fm = Matrix(array("d", [v for row in X.steps() for v in row]), F)
        scaler = Scaler(TWO_PASS).fit(Fm)  # the trainers' algorithm: models' bytes depend on it
        self.mean_, self.scale_ = scaler.mean_, scaler.scale_
        spec = self._spec(F, C)
        self.spec_ = spec
        st = state if state is not None else TrainState()
        if not len(st.P):
            self._start(st, spec)
        if len(st.P) != n_params(spec):
            raise TrainingError("the checkpoint does not match this network's architecture; start a new run")
        K = kernels("sequence")
        Xs = scale_steps(X, self.mean_, self.scale_)
        Y = array("q", codes)
        flags = weight_flags(spec)

        def train_part(part: Sequence[int], bc1: array, bc2: array, rng_state: int) -> Tuple[float, int, int]:
            return K.train_epoch(st.P, st.M, st.V, spec, Xs, X.lengths, Y, X.n_steps, part, self.batch_size,
                                 self.dropout, self.alpha, self.learning_rate, bc1, bc2, rng_state, flags)

        validate: Optional[Callable[[], Dict[str, float]]] = None
        if Xv is not None and Xv.n_samples:
            if Xv.n_features != F:
                raise SequenceDataError(f"validation: {Xv.n_features} features per step, training {F}")
            Xvs = scale_steps(preprocess_steps(Xv, self.preprocess), self.mean_, self.scale_)
            Yv = array("q", yv)

            def validation() -> Dict[str, float]:
                probs, loss = K.forward(st.P, spec, Xvs, Xv.lengths, Xv.n_steps, Xv.n_samples, Yv)
                acc = metrics.accuracy(list(Yv), predicted_classes(probs, C))
                return {"val_loss": loss / Xv.n_samples, "val_accuracy": acc}

            validate = validation

        run_epochs(st, X.n_samples, self.batch_size, self.max_epochs, self.patience, train_part, validate, True,
                   progress, self.monitor, on_epoch_end)
        st.done = True
        final = st.best_P if st.best_P is not None else st.P
        self.state_ = st
        self.history_ = st.history
        self.n_epochs_ = st.epoch
        self.best_epoch_ = st.best_epoch if st.best_P is not None else st.epoch
        self.stopped_early_ = st.epoch < self.max_epochs
        self.params_ = array("f", final)
        if progress is not None:
            how = "stopped early" if self.stopped_early_ else "finished"
            progress(Progress("done", f"{how} after {self.n_epochs_} epochs (best epoch {self.best_epoch_})"))
        return self

    def _encode(self, labels: List[str], what: str) -> List[int]:
        index = {c: k for k, c in enumerate(self.classes_)}
        for k, v in enumerate(labels):
            if v not in index:
                raise SequenceDataError(f"{what}: label {v!r} of sample {k} is not one of the classes "
                                        f"({', '.join(self.classes_)})")
        return [index[v] for v in labels]

    def snapshot(self, P: Sequence[float]) -> SequenceNetwork:
        """The network (float32) that parameters ``P`` of this fit make, e.g. the live ``TrainState.P``."""
        return SequenceNetwork(self.architecture, self.n_features_in_, self.hidden, self.depth, self.kernel_size,
                               self.pooling, self.n_steps_, self.classes_, array("f", P), array("f", self.mean_),
                               array("f", self.scale_), self.feature_names_, self.preprocess)

    def to_model(self) -> SequenceNetwork:
        """The fitted network (float32) with its scaler and class names: what the model writers read."""
        check_fitted(self, "params_", "to_model")
        return self.snapshot(self.params_)

    def predict_proba(self, X: Sequences) -> Matrix:
        """``N × n_classes`` probabilities (float64 from the float32 parameters)."""
        check_fitted(self, "params_", "predict")
        return self.to_model().predict_proba(X)

    def predict_codes(self, X: Sequences) -> List[int]:
        """The class index of each sample (the first largest probability)."""
        return predicted_classes(self.predict_proba(X).data, len(self.classes_))

    def predict(self, X: Sequences) -> List[str]:
        """The predicted label of each sample."""
        return [self.classes_[k] for k in self.predict_codes(X)]

    def score(self, X: Sequences, y: Sequence[Any]) -> float:
        """Accuracy on ``X``, ``y``."""
        return metrics.accuracy(self._encode([str(v) for v in y], "y"), self.predict_codes(X))


def shared_default(name: str) -> Any:
    """The default of a parameter both sequence classifiers have (``_SequenceClassifier.__init__``'s)."""
    return default_of(_SequenceClassifier, name)


class TCNClassifier(_SequenceClassifier):
    """Temporal convolutional network: ``blocks`` residual blocks of causal convolutions with
    dilations 1, 2, 4, ... (``kernel_size`` taps, ``hidden`` channels, ReLU, dropout), pooled over
    the valid steps (``pooling``: ``"avg"`` or ``"last"``), dropout, softmax.

    Receptive field: ``1 + (kernel_size - 1)·(2**blocks - 1)`` steps. Fitted attributes:
    ``classes_``, ``mean_``/``scale_``, ``params_`` (float32), ``history_``, ``n_epochs_``,
    ``best_epoch_``, ``stopped_early_``, ``state_``.
    """

    architecture = "tcn"

    def __init__(self, hidden: int = shared_default("hidden"), blocks: int = 3, kernel_size: int = 3,
                 pooling: str = "avg", dropout: float = shared_default("dropout"),
                 alpha: float = shared_default("alpha"), learning_rate: float = shared_default("learning_rate"),
                 batch_size: int = shared_default("batch_size"), max_epochs: int = shared_default("max_epochs"),
                 early_stopping: bool = shared_default("early_stopping"), patience: int = shared_default("patience"),
                 validation_fraction: float = shared_default("validation_fraction"),
                 monitor: str = shared_default("monitor"), seed: int = shared_default("seed"),
                 preprocess: str = shared_default("preprocess")) -> None:
        super().__init__(blocks, kernel_size, pooling, hidden, dropout, alpha, learning_rate, batch_size,
                         max_epochs, early_stopping, patience, validation_fraction, monitor, seed, preprocess)

    @property
    def blocks(self) -> int:
        return self.depth


class LSTMClassifier(_SequenceClassifier):
    """LSTM (``layers`` = 1 or 2 stacked layers of ``hidden`` units) read at each sample's last valid
    step, dropout, softmax. Fitted attributes as :class:`TCNClassifier`."""

    architecture = "lstm"

    def __init__(self, hidden: int = shared_default("hidden"), layers: int = 1,
                 dropout: float = shared_default("dropout"), alpha: float = shared_default("alpha"),
                 learning_rate: float = shared_default("learning_rate"),
                 batch_size: int = shared_default("batch_size"), max_epochs: int = shared_default("max_epochs"),
                 early_stopping: bool = shared_default("early_stopping"), patience: int = shared_default("patience"),
                 validation_fraction: float = shared_default("validation_fraction"),
                 monitor: str = shared_default("monitor"), seed: int = shared_default("seed"),
                 preprocess: str = shared_default("preprocess")) -> None:
        super().__init__(layers, 1, "last", hidden, dropout, alpha, learning_rate, batch_size, max_epochs,
                         early_stopping, patience, validation_fraction, monitor, seed, preprocess)

    @property
    def layers(self) -> int:
        return self.depth

    def _check_params(self) -> None:
        super()._check_params()
        if self.depth not in (1, 2):
            raise SequenceDataError(f"layers must be 1 or 2, not {self.depth}")
