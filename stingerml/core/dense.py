"""A fully connected network as plain data: what trainers produce and model formats read.

One type, :class:`DenseNetwork`, describes every feed-forward model stingerml
exports: the blaster's MLP (30→64→32→1, sigmoid) and the tabular trainer's
classifiers and regressors. Model-format writers (ONNX, TFLite) take a
``DenseNetwork`` and nothing else, so they never depend on how it was trained.

Conventions (the firmware's, see SPEC §9):

- weights of a layer are a flat ``array('f')`` in row-major ``[n_out][n_in]``;
- every layer but the last is followed by ReLU; the last by ``output``
  (``"softmax"`` over K units, ``"sigmoid"`` on one unit, or ``"linear"``);
- a regression network (``"linear"``) may bound some targets: ``output_activation``
  holds one of :data:`ACTIVATIONS` per output unit (``"sigmoid"``: values in (0, 1),
  ``"tanh"``: in (-1, 1)); empty means every unit is linear;
- the optional standard scaler is applied first: ``(x - mean) / scale``.
"""
from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

from . import preprocess

OUTPUTS = ("softmax", "sigmoid", "linear")
ACTIVATIONS = ("linear", "sigmoid", "tanh")
"""The output activations of a regression target (``output_activation``), one word each."""
BOUNDS = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}
"""The closed range a bounded target's values must lie in (the activation's range and its limits)."""


@dataclass(frozen=True)
class DenseLayer:
    """One affine layer: ``y = W x + b`` with ``W`` row-major ``[n_out][n_in]`` (float32)."""

    weights: array
    bias: array
    n_in: int
    n_out: int

    def __post_init__(self) -> None:
        if self.n_in < 1 or self.n_out < 1:
            raise ValueError(f"layer {self.n_in}->{self.n_out}: a layer needs at least one input and one output")
        if len(self.weights) != self.n_in * self.n_out or len(self.bias) != self.n_out:
            raise ValueError(
                f"layer {self.n_in}->{self.n_out}: weights have {len(self.weights)} values "
                f"(expected {self.n_in * self.n_out}) and bias {len(self.bias)} (expected {self.n_out})")


@dataclass(frozen=True)
class DenseNetwork:
    """A trained feed-forward network with its preprocessing and names.

    ``layers``: hidden layers (ReLU) then the output layer (``output`` activation).
    ``mean``/``scale``: float32 arrays of ``n_features`` or ``None`` when inputs are used as given.
    ``feature_names``: one per input; ``classes``: one per class for classifiers
    (two for a one-unit sigmoid, index 1 being the positive class), empty for
    regression; ``target_names``: one per output for regression, else empty.
    ``preprocess``: a named step of :mod:`stingerml.core.preprocess` applied to raw rows before the
    scaler (``""``: none). ``output_activation``: for a regression network, one of :data:`ACTIVATIONS`
    per output unit after the last layer, or ``()`` when all are linear (the only form of "all linear").
    """

    layers: Tuple[DenseLayer, ...]
    output: str
    mean: Optional[array] = None
    scale: Optional[array] = None
    feature_names: Tuple[str, ...] = ()
    classes: Tuple[str, ...] = ()
    target_names: Tuple[str, ...] = ()
    metadata: Tuple[Tuple[str, str], ...] = field(default=())
    preprocess: str = ""
    output_activation: Tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.layers:
            raise ValueError("a network needs at least one layer")
        if self.output not in OUTPUTS:
            raise ValueError(f"output must be one of {', '.join(OUTPUTS)}, not {self.output!r}")
        for prev, nxt in zip(self.layers, self.layers[1:]):
            if prev.n_out != nxt.n_in:
                raise ValueError(f"layer sizes do not chain: {prev.n_out} outputs feed {nxt.n_in} inputs")
        if (self.mean is None) != (self.scale is None):
            raise ValueError("mean and scale go together: give both or neither")
        if self.mean is not None and not (len(self.mean) == len(self.scale) == self.n_features):
            raise ValueError(f"scaler has {len(self.mean)}/{len(self.scale)} values for {self.n_features} features")
        if self.output == "sigmoid" and self.n_outputs != 1:
            raise ValueError("a sigmoid output has exactly one unit")
        preprocess.check(self.preprocess, self.n_features)
        acts = self.output_activation
        if acts:
            if self.output != "linear":
                raise ValueError(f"output_activation is for regression (output linear), not {self.output}")
            if len(acts) != self.n_outputs or any(a not in ACTIVATIONS for a in acts):
                raise ValueError(f"output_activation needs one of {', '.join(ACTIVATIONS)} per output "
                                 f"({self.n_outputs}), not {list(acts)}")
            if all(a == "linear" for a in acts):
                raise ValueError("output_activation of only linear outputs is written as ()")

    @property
    def activations(self) -> Tuple[str, ...]:
        """The activation of each output unit of a regression network (``"linear"`` where unbounded)."""
        return self.output_activation or ("linear",) * self.n_outputs

    @property
    def n_features(self) -> int:
        """Width of an input row."""
        return self.layers[0].n_in

    @property
    def n_outputs(self) -> int:
        """Width of the output row."""
        return self.layers[-1].n_out

    def layer_outputs(self, x: Sequence[float]) -> List[List[float]]:
        """The output of every layer for one input row ``x`` that is already scaled (double math, each
        sum from the bias, inputs in order): hidden layers after ReLU, the last before ``output``."""
        outputs = []
        last = len(self.layers) - 1
        for k, layer in enumerate(self.layers):
            w, n_in = layer.weights, layer.n_in
            y = []
            for o in range(layer.n_out):
                acc = layer.bias[o]
                base = o * n_in
                for i in range(n_in):
                    acc += w[base + i] * x[i]
                y.append(acc if k == last or acc > 0.0 else 0.0)
            outputs.append(y)
            x = y
        return outputs

    def forward(self, row: Sequence[float]) -> list:
        """The float reference forward pass of one raw input row (double math), preprocessing and scaler included.

        Returns ``n_outputs`` floats: probabilities (softmax/sigmoid) or values (linear).
        """
        if len(row) != self.n_features:
            raise ValueError(f"input row has {len(row)} values, the network takes {self.n_features}")
        row = preprocess.apply_row(self.preprocess, row)
        x = list(row) if self.mean is None else [(v - m) / s for v, m, s in zip(row, self.mean, self.scale)]
        x = self.layer_outputs(x)[-1]
        if self.output == "softmax":
            top = max(x)
            e = [math.exp(v - top) for v in x]
            total = math.fsum(e)
            return [v / total for v in e]
        if self.output == "sigmoid":
            return [_sigmoid(x[0])]
        if self.output_activation:
            return [_sigmoid(v) if a == "sigmoid" else math.tanh(v) if a == "tanh" else v
                    for v, a in zip(x, self.output_activation)]
        return x


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def predicted_classes(outputs: Sequence[float], width: int) -> List[int]:
    """Class index of each row of flat classifier outputs (``n × width``, row-major): ``p >= 0.5`` of a
    single sigmoid unit (``width`` 1), else the first largest value (softmax)."""
    if width == 1:
        return [1 if p >= 0.5 else 0 for p in outputs]
    cols = range(width)
    return [max(cols, key=outputs[r * width:(r + 1) * width].__getitem__) for r in range(len(outputs) // width)]
