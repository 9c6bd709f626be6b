"""A TCN as a two-class learner of fixed-length windows (the blaster benchmark's ``tcn`` learner).

:class:`TCNWindows` knows nothing of the blaster: it takes flat ``rows × steps × channels``
samples (e.g. the raw ``50 × 6`` int16 windows), the indices of a train and a test part and
0/1 labels, fits a :class:`~stingerml.sequence.estimator.TCNClassifier` on the train part and
returns the probability of label 1 for each test row. The CLI registers it with
:func:`stingerml.blaster.benchmark.run_benchmark` (``learners=``): a domain never imports
another, so the plug-in is handed over by the layer above both (docs/architecture.md).

It is a frozen dataclass of module-level code, so a benchmark task that carries it pickles
by reference and runs in another process with the same result.
"""
from __future__ import annotations

from array import array
from dataclasses import dataclass
from typing import List, Sequence

from .._kernels.sequence_pure import make_spec, n_params
from ..formats.tflite_sequence import to_tflite_int8
from ..learn.estimator import default_of
from .data import Sequences
from .estimator import TCNClassifier
from .model import SequenceNetwork
from .quantize import quantize_tcn

SEED = 42
"""The TCN's seed is ``SEED + seed`` (as the blaster MLP's init seed is ``42 + seed``)."""


@dataclass(frozen=True)
class TCNWindows:
    """The settings of the TCN fitted on every benchmark run (:class:`TCNClassifier` parameters): the
    benchmark's own width and epochs for the blaster's 50 x 6 windows, the classifier's defaults otherwise."""

    steps: int = 50
    channels: int = 6
    hidden: int = 16
    blocks: int = default_of(TCNClassifier, "blocks")
    kernel_size: int = default_of(TCNClassifier, "kernel_size")
    max_epochs: int = 60
    patience: int = default_of(TCNClassifier, "patience")

    name = "tcn"
    title = "TCN"
    features = "raw"
    """The benchmark's ``features`` column for this learner: the raw samples, no features."""

    def classifier(self, seed: int) -> TCNClassifier:
        """The estimator one run fits (seed ``SEED + seed``; early stopping on a 10 % validation part)."""
        return TCNClassifier(hidden=self.hidden, blocks=self.blocks, kernel_size=self.kernel_size,
                             max_epochs=self.max_epochs, patience=self.patience, seed=SEED + seed)

    @property
    def n_weights(self) -> int:
        """Parameters of the two-class network (its float32 size is 4 bytes each)."""
        return n_params(make_spec("tcn", self.channels, self.hidden, 2, self.blocks, self.kernel_size, "avg"))

    @property
    def int8_bytes(self) -> int:
        """Size of the two-class network's full-int8 ``model.tflite`` (:mod:`.quantize`). It depends only on
        the shapes (int8 weights, int32 biases, one scale per tensor or channel), so it is measured on
        the file of an all-zero network."""
        spec = make_spec("tcn", self.channels, self.hidden, 2, self.blocks, self.kernel_size, "avg")
        net = SequenceNetwork("tcn", self.channels, self.hidden, self.blocks, self.kernel_size, "avg", self.steps,
                              ("0", "1"), array("f", bytes(4 * n_params(spec))), array("f", bytes(4 * self.channels)),
                              array("f", [1.0] * self.channels))
        one = Sequences(array("d", bytes(8 * self.steps * self.channels)), self.steps, self.channels,
                        array("q", [self.steps]))
        return len(to_tflite_int8(quantize_tcn(net, one)))

    def describe(self) -> str:
        """One markdown line for the benchmark report's setup."""
        field = 1 + (self.kernel_size - 1) * (2 ** self.blocks - 1)
        return (f"TCN on the raw {self.steps}×{self.channels} windows: {self.blocks} residual blocks of causal "
                f"convolutions ({self.kernel_size} taps, dilations 1, 2, 4, …; receptive field {field} steps), "
                f"{self.hidden} channels, average pooling, softmax over 2 classes; per-channel scaler, mini-batch "
                f"Adam, at most {self.max_epochs} epochs with early stopping (patience {self.patience}) on a "
                f"stratified 10 % of the train part, seed {SEED} + seed. {self.n_weights} weights: "
                f"{4 * self.n_weights} bytes as float32; full-int8 model.tflite {self.int8_bytes} bytes.")

    def fit_predict(self, windows: Sequence[float], train: Sequence[int], test: Sequence[int],
                    labels: Sequence[int], seed: int) -> List[float]:
        """P(label 1) of each ``test`` row after fitting on the ``train`` rows of ``windows``
        (flat ``rows × steps × channels``)."""
        clf = self.classifier(seed).fit(self._take(windows, train), [labels[i] for i in train], classes=(0, 1))
        probs = clf.predict_proba(self._take(windows, test)).data
        return [probs[2 * k + 1] for k in range(len(test))]

    def _take(self, windows: Sequence[float], rows: Sequence[int]) -> Sequences:
        width = self.steps * self.channels
        data = array("d")
        for i in rows:
            data.extend(map(float, windows[i * width:(i + 1) * width]))
        return Sequences(data, self.steps, self.channels, array("q", [self.steps] * len(rows)))
