"""A full-int8 network (TFLite's scheme) as plain data, and a pure-integer emulator of it.

The quantization itself (calibration → this record) is :mod:`stingerml.deploy.quantize`.

Quantization (TFLite's scheme, ``real = (q - zero_point) * scale``):

- the model input is the **scaled** feature row (the network's scaler, if any,
  stays outside the int8 model: ``(x - mean) / scale`` in float32, then
  ``q = clamp(round(x / input_scale) + input_zero_point, -128, 127)``);
- activations (the input, every layer output) per-tensor asymmetric int8 from
  the min/max seen on the representative rows (range widened to hold 0,
  ``scale = (max - min) / 255``, ``zero_point = round(-128 - min / scale)``);
- weights int8 in [-127, 127], zero point 0, symmetric: one scale per tensor
  (``max|w| / 127``, the default, supported by TFLite Micro everywhere) or one per
  output row (``per_channel=True``);
- bias int32, zero point 0, scale = input scale × weight scale (float32);
- a softmax or sigmoid output is int8 with scale 1/256, zero point -128.

A regression network with more than one target or a bounded target
(``output_activation``) ends in **one head per target** instead of one last
layer: a ``FULLY_CONNECTED`` of one output unit with its own weight scale and its
own output scale and zero point, calibrated on that target alone (a target of
range 0..1 keeps its 255 steps beside one of range 0..1000), then ``LOGISTIC``
(output scale 1/256, zero point -128) or ``TANH`` (scale 1/128, zero point 0) for
a bounded target; each head's int8 value is dequantized, ``f32((q - zp) * scale)``,
and the model's output is the float32 row of the targets (TFLite:
``DEQUANTIZE`` then ``CONCATENATION``).

Every float is rounded half away from zero (C ``std::round``); every scale is a float32.

The emulator (:meth:`QuantizedNetwork.run`) computes like TFLite's reference
kernels (LiteRT 2.x): ``FULLY_CONNECTED`` accumulates ``w * (x - zp_in)`` plus
the bias in int32, then rescales with a 31-bit fixed-point multiplier and a
shift, **single rounding**: ``(acc * m + 2**(t-1)) >> t`` with ``t = 31 - shift``
(round half up, arithmetic shift), adds the output zero point and clamps (ReLU: at the zero
point). ``rounding="double"`` gives the older gemmlowp double rounding
(``SaturatingRoundingDoublingHighMul`` then ``RoundingDivideByPOT``, both round
half away from zero) used by tflite-runtime ≤ 2.14 and TFLite Micro builds
without ``TFLITE_SINGLE_ROUNDING``. ``LOGISTIC`` is TFLite's 256-entry table
(float32 ``1 / (1 + expf(-x))``), ``TANH`` the same table of float32 ``tanh``;
``SOFTMAX`` its float32 table kernel.
"""
from __future__ import annotations

import math
from array import array
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Dict, List, Optional, Sequence, Tuple

from . import preprocess
from .dense import DenseNetwork
from .float32 import expf, f32
from .matrix import Matrix
from .progress import Tick

QMIN, QMAX = -128, 127
WEIGHT_QMAX = 127
PROB_SCALE = 1.0 / 256.0  # a float32 exactly
PROB_ZERO_POINT = -128
TANH_SCALE, TANH_ZERO_POINT = 1.0 / 128.0, 0  # TFLite's fixed int8 TANH output
ROUNDINGS = ("single", "double")
INT32_RANGE = (-(1 << 31), (1 << 31) - 1)
MAX_INPUTS = INT32_RANGE[1] // (WEIGHT_QMAX * (QMAX - QMIN)) // 2
"""Widest int8 layer: ``n_in`` products of at most 127 × 255, plus a bias of the same size, fit int32."""


def round_half_away(x: float) -> int:
    """C ``std::round``: to the nearest integer, halves away from zero."""
    a = abs(x)
    n = math.floor(a)
    if a - n >= 0.5:  # exact for floats, unlike floor(a + 0.5)
        n += 1
    return n if x >= 0 else -n


def clamp_int8(q: int, lo: int = QMIN, hi: int = QMAX) -> int:
    return lo if q < lo else hi if q > hi else q


def quantize_multiplier(real: float) -> Tuple[int, int]:
    """TFLite's ``QuantizeMultiplier``: ``real ≈ m * 2**(shift - 31)`` with ``m`` in [2**30, 2**31)."""
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    m = round_half_away(q * (1 << 31))
    if m == 1 << 31:
        m //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    if shift > 30:
        return (1 << 31) - 1, 30
    return m, shift


def multiply_by_quantized_multiplier(x: int, m: int, shift: int, rounding: str = "single") -> int:
    """``x * m * 2**(shift - 31)`` rounded the way TFLite does (see the module docstring)."""
    if rounding == "single":
        total = 31 - shift
        return (x * m + (1 << (total - 1))) >> total
    left = shift if shift > 0 else 0
    right = 0 if shift > 0 else -shift
    a = x * (1 << left)
    if a == m == INT32_RANGE[0]:
        high = INT32_RANGE[1]
    else:
        ab = a * m
        nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
        high = clamp_int8(_trunc_div(ab + nudge, 1 << 31), *INT32_RANGE)
    mask = (1 << right) - 1
    threshold = (mask >> 1) + (1 if high < 0 else 0)
    return (high >> right) + (1 if (high & mask) > threshold else 0)


def _trunc_div(a: int, b: int) -> int:
    """C integer division (truncates toward zero)."""
    q = abs(a) // b
    return q if a >= 0 else -q


@dataclass(frozen=True)
class QuantizedLayer:
    """One int8 ``FULLY_CONNECTED`` layer.

    ``weights``: ``array('b')`` row-major ``[n_out][n_in]``; ``weight_scales``: one
    float32 (per-tensor) or ``n_out`` (per-channel); ``bias``: ``array('i')`` of
    ``n_out`` with ``bias_scales`` (input scale × weight scale, float32);
    ``output_scale``/``output_zero_point``: the int8 output; ``relu``: fused ReLU.
    """

    weights: array
    weight_scales: Tuple[float, ...]
    bias: array
    bias_scales: Tuple[float, ...]
    input_scale: float
    input_zero_point: int
    output_scale: float
    output_zero_point: int
    relu: bool
    n_in: int
    n_out: int

    def multipliers(self) -> List[Tuple[int, int]]:
        """``(multiplier, shift)`` per output row, computed as TFLite's ``Prepare`` does."""
        if len(self.weight_scales) == 1:  # per-tensor: float32 product, then double division
            real = f32(self.input_scale * self.weight_scales[0]) / self.output_scale
            return [quantize_multiplier(real)] * self.n_out
        return [quantize_multiplier(self.input_scale * s / self.output_scale) for s in self.weight_scales]

    def accumulators(self, x: Sequence[int]) -> List[int]:
        """The int32 accumulators ``Σ w·(x - zp_in) + bias`` of one int8 input row, one per output."""
        xs = [v - self.input_zero_point for v in x]
        w, n = self.weights, self.n_in
        return [sum(a * b for a, b in zip(w[o * n:(o + 1) * n], xs)) + self.bias[o] for o in range(self.n_out)]

    def run(self, x: Sequence[int], rounding: str = "single") -> List[int]:
        """int8 outputs of one int8 input row."""
        zp_out = self.output_zero_point
        lo = zp_out if self.relu else QMIN
        return [clamp_int8(multiply_by_quantized_multiplier(acc, m, s, rounding) + zp_out, lo)
                for acc, (m, s) in zip(self.accumulators(x), self.multipliers())]


def has_heads(net: DenseNetwork) -> bool:
    """Whether the int8 form of ``net`` ends in one head per target: a regression network with more than
    one target or a bounded one (module docstring)."""
    return net.output == "linear" and (net.n_outputs > 1 or bool(net.output_activation))


@dataclass(frozen=True)
class QuantizedHead:
    """One target's output of a network with heads: its one-unit int8 layer, then ``activation``
    (``linear``, ``sigmoid``: LOGISTIC, ``tanh``: TANH); ``output_scale``/``output_zero_point``
    are those of the activation's int8 output (the layer's own for ``linear``)."""

    layer: QuantizedLayer
    activation: str
    output_scale: float
    output_zero_point: int

    def run(self, x: Sequence[int], rounding: str = "single") -> int:
        """The head's int8 value for the int8 row ``x`` of the last hidden layer."""
        (q,) = self.layer.run(x, rounding)
        if self.activation == "sigmoid":
            return _logistic_table(self.layer.output_scale, self.layer.output_zero_point)[q + 128]
        if self.activation == "tanh":
            return _tanh_table(self.layer.output_scale, self.layer.output_zero_point)[q + 128]
        return q

    def dequantize(self, q: int) -> float:
        """TFLite's DEQUANTIZE: ``(q - zero_point) * scale`` rounded to float32."""
        return f32((q - self.output_zero_point) * self.output_scale)


@dataclass(frozen=True)
class QuantizedNetwork:
    """A full-int8 network: int8 input (scaled features) → int8 layers → int8 output.

    ``network`` is the float source (names, scaler, output kind); ``per_channel``
    tells how the weights were quantized; ``representative_rows`` how many rows
    calibrated the activation ranges.
    """

    network: DenseNetwork
    layers: Tuple[QuantizedLayer, ...]
    input_scale: float
    input_zero_point: int
    output_scale: float
    output_zero_point: int
    per_channel: bool
    representative_rows: int
    heads: Tuple[QuantizedHead, ...] = ()
    """One per target when the network ends in heads (module docstring): ``layers`` are then the hidden
    layers only, the output is float32 and ``output_scale``/``output_zero_point`` are unused (1.0, 0)."""

    @property
    def output(self) -> str:
        """``softmax``, ``sigmoid`` or ``linear``."""
        return self.network.output

    def scale_features(self, row: Sequence[float]) -> List[float]:
        """Apply the network's preprocessing (float64, :mod:`stingerml.core.preprocess`), then its scaler as the
        firmware does: ``f32(f32(x - mean) / scale)``."""
        net = self.network
        row = preprocess.apply_row(net.preprocess, row)
        if net.mean is None:
            return [f32(v) for v in row]
        return [f32(f32(v - m) / s) for v, m, s in zip(row, net.mean, net.scale)]

    def quantize_input(self, row: Sequence[float]) -> List[int]:
        """int8 model input of a raw feature row: scaler, then ``round(x / scale) + zero_point``, clamped."""
        if len(row) != self.network.n_features:
            raise ValueError(f"input row has {len(row)} values, the network takes {self.network.n_features}")
        s, zp = self.input_scale, self.input_zero_point
        return [clamp_int8(round_half_away(v / s) + zp) for v in self.scale_features(row)]

    def dequantize_output(self, q: Sequence[int]) -> List[float]:
        """Real outputs ``(q - zero_point) * scale`` (probabilities or values); with heads each target's
        own, in float32 as the model's DEQUANTIZE."""
        if self.heads:
            return [h.dequantize(v) for h, v in zip(self.heads, q)]
        return [(v - self.output_zero_point) * self.output_scale for v in q]

    def run(self, q: Sequence[int], rounding: str = "single") -> List[int]:
        """The int8 output of one int8 input row, in pure integer arithmetic (TFLite reference kernels)."""
        if rounding not in ROUNDINGS:
            raise ValueError(f"rounding must be one of {', '.join(ROUNDINGS)}, not {rounding!r}")
        for layer in self.layers:
            q = layer.run(q, rounding)
        if self.heads:
            return [h.run(q, rounding) for h in self.heads]
        if self.output == "softmax":
            return _softmax_int8(q, self.layers[-1].output_scale)
        if self.output == "sigmoid":
            last = self.layers[-1]
            return [_logistic_table(last.output_scale, last.output_zero_point)[v + 128] for v in q]
        return list(q)

    def predict(self, X: Matrix, rounding: str = "single", tick: Optional[Tick] = None) -> Matrix:
        """Dequantized int8 outputs of every raw feature row of ``X`` (``n_rows × n_outputs``);
        ``tick(done, n_rows)`` every 1024 rows."""
        out = array("d")
        for r, row in enumerate(X.rows(), 1):
            out.extend(self.dequantize_output(self.run(self.quantize_input(row), rounding)))
            if tick is not None and r % 1024 == 0:
                tick(r, X.n_rows)
        return Matrix(out, self.network.n_outputs)

    def to_dict(self) -> Dict[str, Any]:
        """Quantization parameters for a ``meta.json``: what a device needs to feed and read the model."""
        net = self.network
        doc: Dict[str, Any] = {
            "type": "int8", "input_type": "int8", "output_type": "int8",  # CrowdMind's keys (seed 002)
            "input": {"dtype": "int8", "scale": self.input_scale, "zero_point": self.input_zero_point,
                      "shape": [1, net.n_features], "applies_to": ("preprocessed " if net.preprocess else "")
                      + ("scaled features" if net.mean is not None else "features")},
            "output": {"dtype": "int8", "scale": self.output_scale, "zero_point": self.output_zero_point,
                       "shape": [1, net.n_outputs], "kind": net.output} if not self.heads else
                      {"dtype": "float32", "shape": [1, net.n_outputs], "kind": net.output,
                       "heads": [{"target": name, "activation": h.activation, "logit_scale": h.layer.output_scale,
                                  "logit_zero_point": h.layer.output_zero_point, "scale": h.output_scale,
                                  "zero_point": h.output_zero_point, "weight_scale": h.layer.weight_scales[0]}
                                 for name, h in zip(net.target_names, self.heads)]},
            "scaler": None if net.mean is None else {"mean": [float(v) for v in net.mean],
                                                     "scale": [float(v) for v in net.scale]},
            "weights": "per-channel" if self.per_channel else "per-tensor",
            "representative_rows": self.representative_rows,
            "layers": [{"n_in": L.n_in, "n_out": L.n_out, "relu": L.relu, "weight_scales": list(L.weight_scales),
                        "output_scale": L.output_scale, "output_zero_point": L.output_zero_point}
                       for L in self.layers],
            "quantize_input": "x = f32(f32(feature - mean) / scale); q = clamp(round(x / input.scale) + "
                              "input.zero_point, -128, 127), round half away from zero",
            "dequantize_output": "(q - output.zero_point) * output.scale" if not self.heads else
                                 "done in the model: each target's head is dequantized with its own scale "
                                 "(output.heads) and the float32 values concatenated",
            "feature_names": list(net.feature_names),
            "classes": list(net.classes),
            "target_names": list(net.target_names),
        }
        if self.heads:
            doc["output_type"] = "float32"
        if net.preprocess:  # the step before the scaler (stingerml.core.preprocess)
            doc["preprocess"] = net.preprocess
            doc["quantize_input"] = f"row = {net.preprocess}(raw row); " + doc["quantize_input"]
        return doc


# --------------------------------------------------------------------------- output kernels


@lru_cache(maxsize=16)
def _logistic_table(input_scale: float, input_zero_point: int) -> Tuple[int, ...]:
    """TFLite's int8 LOGISTIC table: index ``q + 128`` → int8 output (scale 1/256, zero point -128)."""
    table = []
    for q in range(QMIN, QMAX + 1):
        x = f32(input_scale * f32(q - input_zero_point))
        y = f32(1.0 / f32(1.0 + expf(-x)))
        table.append(clamp_int8(round_half_away(y * 256.0) + PROB_ZERO_POINT))
    return tuple(table)


@lru_cache(maxsize=64)
def _tanh_table(input_scale: float, input_zero_point: int) -> Tuple[int, ...]:
    """TFLite's int8 TANH table: index ``q + 128`` → int8 output (scale 1/128, zero point 0)."""
    table = []
    for q in range(QMIN, QMAX + 1):
        x = f32(input_scale * f32(q - input_zero_point))
        table.append(clamp_int8(round_half_away(f32(math.tanh(x)) * 128.0) + TANH_ZERO_POINT))
    return tuple(table)


def _softmax_int8(q: Sequence[int], input_scale: float) -> List[int]:
    """TFLite's int8 SOFTMAX (beta 1): float32 ``expf`` table of ``q - max``, float32 sum in order,
    ``round(e / (sum / 256)) - 128``."""
    neg_scale = f32(-input_scale)
    top = max(q)
    e = [expf(f32(neg_scale * (top - v))) for v in q]
    total = 0.0
    for v in e:
        total = f32(total + v)
    inv = f32(1.0 / f32(total * PROB_SCALE))
    return [clamp_int8(round_half_away(f32(v * inv)) + PROB_ZERO_POINT) for v in e]


# --------------------------------------------------------------------------- quantization

