"""A full-int8 TCN (TFLite's scheme) as plain data, and a pure-integer emulator of its TFLite graph.

The quantization (calibration → this record) is :mod:`stingerml.sequence.quantize`; the
file is :func:`stingerml.formats.tflite_sequence.to_tflite_int8`. The scheme is
:mod:`stingerml.core.quantized`'s (``real = (q - zero_point) * scale``, activations
per tensor from the calibration min/max, weights symmetric int8), with:

- the input: the **scaled** steps (the scaler stays outside, as for the MLP), int8;
  the mask: int8 1 (valid) / 0 (padding), valid steps first;
- each causal convolution a ``CONV_2D`` with **per-channel** weight scales (one per
  output channel), int32 bias at ``input_scale × weight_scale[o]``, fused ReLU
  (clamped at the output zero point), its left padding the input zero point (real 0);
- the residual an int8 ``ADD`` of the ReLU output and the block input (block 0: its
  1×1 ``CONV_2D`` skip when ``F != H``), rescaled as TFLite's kernel does (below);
- the pooling in exact integer arithmetic on the last block's int8 values ``q`` (zero
  point ``z``): ``s = Σ_t w_t·(q_t - z)`` with ``w`` the mask (avg) or the mask minus
  the mask one step later (last valid step), then avg: ``floor((2s + L) / (2L))``
  (the nearest integer to ``s / L``, halves up; ``L = Σ mask``), then ``+ z``: the
  pooled vector keeps the block's scale and zero point;
- the head one int8 ``FULLY_CONNECTED`` (per-tensor weights) and ``SOFTMAX`` (scale
  1/256, zero point -128).

The emulator computes like TFLite's reference kernels. ``CONV_2D``: ``acc = bias[o] +
Σ w·(x - zp_in)`` in int32, ``MultiplyByQuantizedMultiplier(acc, m[o], shift[o])`` with
``m[o], shift[o] = QuantizeMultiplier(double(in_scale)·double(w_scale[o]) / double(out_scale))``,
``+ zp_out``, clamp. ``ADD`` (``left_shift = 20``): each input ``(q - zp)·2**20`` times its
multiplier ``scale_i / (2·max(scale_1, scale_2))``, the sum times ``2·max / (2**20·out_scale)``,
all three through ``MultiplyByQuantizedMultiplierSmallerThanOneExp``, ``+ zp_out``, clamp.
``rounding`` picks where ``MultiplyByQuantizedMultiplier`` rounds (:mod:`stingerml.core.quantized`):
``"single"`` once, ``(acc·m + 2**(t-1)) >> t`` (LiteRT's default kernels, XNNPACK, and builds
with ``TFLITE_SINGLE_ROUNDING``); ``"double"`` twice, gemmlowp's ``SaturatingRoundingDoublingHighMul``
then ``RoundingDivideByPOT`` (tflite-runtime ≤ 2.14, TFLite Micro without single rounding);
``"reference"`` as LiteRT 2.3's builtin reference kernels (``OpResolverType.BUILTIN_REF``),
measured against them: ``CONV_2D`` per-channel and ``ADD`` round twice, ``FULLY_CONNECTED``
once; ``"xnnpack"`` as LiteRT's default interpreter, whose XNNPACK delegate runs the
convolutions, the ADDs and the dense layer (x86-64): ``CONV_2D`` and ``FULLY_CONNECTED``
requantize in float32 (``lrintf(f32(f32(acc) · f32(f32(in_scale · w_scale) / out_scale)))``, halves
to even, clamped before rounding), ``ADD`` with XNNPACK's own fixed point (multipliers
``lrintf(scale_i / out_scale · 2**shift)``, ``shift = 20 - exponent(max of them)``, one
arithmetic shift with ``2**(shift-1)`` added). Only the valid steps are computed: a causal
layer never reads a later step, so padding cannot reach them.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from . import preprocess
from .float32 import f32
from .matrix import Matrix
from .quantized import (
    QuantizedLayer,
    _softmax_int8,
    clamp_int8,
    multiply_by_quantized_multiplier,
    quantize_multiplier,
    round_half_away,
)

ADD_LEFT_SHIFT = 20
"""TFLite's int8 ``ADD`` shifts both inputs left by 20 bits before rescaling them."""
ROUNDINGS = ("single", "double", "reference", "xnnpack")
_KERNEL_ROUNDINGS = {"single": ("single", "single", "single"), "double": ("double", "double", "double"),
                     "reference": ("double", "double", "single"), "xnnpack": ("fp32", "xnnpack", "fp32")}
"""Each mode's rounding of CONV_2D, ADD and FULLY_CONNECTED (the module docstring)."""
MASK_SCALE, MASK_ZERO_POINT = 1.0, 0
"""The int8 mask: real value = the int8 value (1 valid, 0 padding)."""


def requantize_fp32(acc: int, scale: float, zero_point: int, lo: int = -128) -> int:
    """XNNPACK's float32 requantization of an int32 accumulator: ``f32(acc) · scale`` (float32),
    clamped to ``[lo, 127] - zero_point``, rounded half to even, ``+ zero_point``."""
    v = f32(f32(acc) * scale)
    v = min(max(v, lo - zero_point), 127 - zero_point)
    return round(v) + zero_point  # Python's round: halves to even, as lrintf


def _fp32_scale(input_scale: float, weight_scale: float, output_scale: float) -> float:
    return f32(f32(input_scale * weight_scale) / output_scale)


def _dense(layer: QuantizedLayer, x: Sequence[int], rounding: str) -> List[int]:
    """``FULLY_CONNECTED`` of one int8 row, rounded as ``rounding`` (``"fp32"``: XNNPACK's)."""
    if rounding != "fp32":
        return layer.run(x, rounding)
    lo = layer.output_zero_point if layer.relu else -128
    scales = layer.weight_scales * (layer.n_out if len(layer.weight_scales) == 1 else 1)
    return [requantize_fp32(acc, _fp32_scale(layer.input_scale, s, layer.output_scale), layer.output_zero_point, lo)
            for acc, s in zip(layer.accumulators(x), scales)]


@dataclass(frozen=True)
class QuantizedConv:
    """One int8 causal convolution (``CONV_2D``, height 1): ``layer`` holds the weights as
    ``[n_out][kernel_size · n_in]`` (TFLite's OHWI order: tap, then input channel), one scale per
    output channel, the int32 bias and the input/output quantization; ``dilation`` in steps."""

    layer: QuantizedLayer
    kernel_size: int
    dilation: int

    def multipliers(self) -> List[Tuple[int, int]]:
        """``(multiplier, shift)`` per output channel, as TFLite's conv ``Prepare`` computes them (in double)."""
        L = self.layer
        scales = L.weight_scales if len(L.weight_scales) > 1 else L.weight_scales * L.n_out
        return [quantize_multiplier(L.input_scale * s / L.output_scale) for s in scales]

    def run(self, x: Sequence[int], n_steps: int, rounding: str = "single") -> List[int]:
        """int8 outputs ``[n_steps][n_out]`` (flat) of int8 inputs ``[n_steps][n_in]`` (flat); ``rounding``:
        ``"single"``, ``"double"`` or ``"fp32"`` (XNNPACK's float32 requantization)."""
        L = self.layer
        n_in, n_out, k, d = L.n_in, L.n_out, self.kernel_size, self.dilation
        zp_in, zp_out = L.input_zero_point, L.output_zero_point
        lo = zp_out if L.relu else -128
        xs = [v - zp_in for v in x]
        mults = self.multipliers()
        scales = [_fp32_scale(L.input_scale, s, L.output_scale)
                  for s in (L.weight_scales if len(L.weight_scales) > 1 else L.weight_scales * n_out)]
        w = L.weights
        out = []
        for t in range(n_steps):
            for o in range(n_out):
                acc = L.bias[o]
                for j in range(k):
                    s = t - (k - 1 - j) * d
                    if s >= 0:  # earlier taps read the padding: zp_in, i.e. (x - zp_in) = 0
                        row = (o * k + j) * n_in
                        acc += sum(a * b for a, b in zip(w[row:row + n_in], xs[s * n_in:(s + 1) * n_in]))
                if rounding == "fp32":
                    out.append(requantize_fp32(acc, scales[o], zp_out, lo))
                else:
                    m, sh = mults[o]
                    out.append(clamp_int8(multiply_by_quantized_multiplier(acc, m, sh, rounding) + zp_out, lo))
        return out


@dataclass(frozen=True)
class QuantizedAdd:
    """The int8 ``ADD`` of two tensors (scales, zero points) into an output (scale, zero point)."""

    scales: Tuple[float, float]
    zero_points: Tuple[int, int]
    output_scale: float
    output_zero_point: int

    def multipliers(self) -> List[Tuple[int, int]]:
        """``(multiplier, shift)`` of input 1, input 2 and the output, as TFLite's ``ADD`` ``Prepare``."""
        twice_max = 2.0 * max(self.scales)
        reals = [s / twice_max for s in self.scales] + [twice_max / ((1 << ADD_LEFT_SHIFT) * self.output_scale)]
        return [quantize_multiplier(r) for r in reals]

    def xnnpack_multipliers(self) -> Tuple[int, int, int]:
        """``(shift, a_multiplier, b_multiplier)`` of XNNPACK's int8 add (``xnn_init_qs8_add_minmax_scalar_params``)."""
        a, b = (f32(s / self.output_scale) for s in self.scales)
        exponent = (struct.unpack("<I", struct.pack("<f", max(a, b)))[0] >> 23) - 127
        shift = 20 - exponent
        return shift, round(a * 2.0 ** shift), round(b * 2.0 ** shift)

    def run(self, a: Sequence[int], b: Sequence[int], rounding: str = "single") -> List[int]:
        """Element-wise int8 sum of ``a`` and ``b`` (``rounding``: ``"single"``, ``"double"`` or ``"xnnpack"``)."""
        z1, z2 = self.zero_points
        if rounding == "xnnpack":
            shift, ma, mb = self.xnnpack_multipliers()
            bias = (1 << (shift - 1)) - ma * z1 - mb * z2
            return [clamp_int8(((bias + x * ma + y * mb) >> shift) + self.output_zero_point) for x, y in zip(a, b)]
        (m1, s1), (m2, s2), (mo, so) = self.multipliers()
        out = []
        for x, y in zip(a, b):
            sx = multiply_by_quantized_multiplier((x - z1) << ADD_LEFT_SHIFT, m1, s1, rounding)
            sy = multiply_by_quantized_multiplier((y - z2) << ADD_LEFT_SHIFT, m2, s2, rounding)
            out.append(clamp_int8(multiply_by_quantized_multiplier(sx + sy, mo, so, rounding)
                                  + self.output_zero_point))
        return out


@dataclass(frozen=True)
class QuantizedTCN:
    """A full-int8 TCN classifier: int8 steps and mask → int8 class probabilities.

    ``network``: the float source (a :class:`~stingerml.sequence.model.SequenceNetwork`:
    names, scaler, classes, pooling); ``convs``: block ``l``'s convolution (fused ReLU);
    ``adds``: block ``l``'s residual ``ADD`` (inputs: the ReLU output, then the residual);
    ``skip``: block 0's 1×1 convolution when ``F != H``; ``head``: the dense layer;
    ``representative_samples``: how many samples calibrated the activation ranges.
    """

    network: Any
    convs: Tuple[QuantizedConv, ...]
    adds: Tuple[QuantizedAdd, ...]
    skip: Optional[QuantizedConv]
    head: QuantizedLayer
    input_scale: float
    input_zero_point: int
    representative_samples: int

    output_scale = 1.0 / 256.0
    output_zero_point = -128

    @property
    def pooling(self) -> str:
        return self.network.pooling

    @property
    def features_quantization(self) -> Tuple[float, int]:
        """Scale and zero point of the last block's output, which the pooled vector keeps."""
        last = self.adds[-1]
        return last.output_scale, last.output_zero_point

    def quantize_steps(self, steps: Sequence[float]) -> List[int]:
        """int8 input of raw steps (flat ``[L][F]``): the network's preprocessing on each step
        (:mod:`stingerml.core.preprocess`), ``x = f32(f32(v - mean) / scale)``, then
        ``clamp(round(x / input_scale) + input_zero_point, -128, 127)``, rounded half away from zero."""
        net = self.network
        F = net.n_features
        steps = preprocess.apply_steps(net.preprocess, steps, F)
        s, zp = self.input_scale, self.input_zero_point
        return [clamp_int8(round_half_away(f32(f32(v - net.mean[i % F]) / net.scale[i % F]) / s) + zp)
                for i, v in enumerate(steps)]

    def run(self, q: Sequence[int], length: int, rounding: str = "single") -> List[int]:
        """int8 class probabilities of one sample: ``q`` its int8 steps (flat, at least ``length`` steps;
        only the first ``length`` are read), ``length`` its valid steps (the mask's sum)."""
        if rounding not in ROUNDINGS:
            raise ValueError(f"rounding must be one of {', '.join(ROUNDINGS)}, not {rounding!r}")
        conv_r, add_r, dense_r = _KERNEL_ROUNDINGS[rounding]
        F = self.network.n_features
        a = list(q[:length * F])
        for l, (conv, add) in enumerate(zip(self.convs, self.adds)):
            h = conv.run(a, length, conv_r)
            res = self.skip.run(a, length, conv_r) if l == 0 and self.skip is not None else a
            a = add.run(h, res, add_r)
        return self._head(a, length, dense_r)

    def _head(self, a: Sequence[int], length: int, rounding: str) -> List[int]:
        """Pooling (module doc), ``FULLY_CONNECTED`` and ``SOFTMAX`` of the last block's int8 ``[length][H]``."""
        H = self.network.hidden
        _, z = self.features_quantization
        if self.pooling == "last":
            pooled = [a[(length - 1) * H + o] for o in range(H)]
        else:
            pooled = []
            for o in range(H):
                s = sum(a[t * H + o] - z for t in range(length))
                pooled.append((2 * s + length) // (2 * length) + z)
        return _softmax_int8(_dense(self.head, pooled, rounding), self.head.output_scale)

    def predict_proba(self, X, rounding: str = "single") -> Matrix:
        """Dequantized int8 probabilities (``N × C``) of the samples of ``X`` (a
        :class:`~stingerml.sequence.data.Sequences` of raw steps)."""
        T, F = X.n_steps, X.n_features
        out = []
        for n, L in enumerate(X.lengths):
            q = self.run(self.quantize_steps(X.data[n * T * F:(n * T + L) * F]), L, rounding)
            out.extend((v - self.output_zero_point) * self.output_scale for v in q)
        return Matrix(out, self.network.n_classes)

    def to_dict(self) -> Dict[str, Any]:
        """Quantization parameters for ``meta.json``: what a device needs to feed and read the model."""
        net = self.network
        fs, fz = self.features_quantization
        doc: Dict[str, Any] = {
            "type": "int8", "input_type": "int8", "output_type": "int8",
            "input": {"dtype": "int8", "scale": self.input_scale, "zero_point": self.input_zero_point,
                      "shape": [1, net.n_steps, net.n_features],
                      "applies_to": ("preprocessed " if net.preprocess else "") + "scaled features of each step"},
            "mask": {"dtype": "int8", "scale": MASK_SCALE, "zero_point": MASK_ZERO_POINT, "shape": [1, net.n_steps],
                     "values": "1 for each valid step, 0 for padding; valid steps first; at least one valid step"},
            "output": {"dtype": "int8", "scale": self.output_scale, "zero_point": self.output_zero_point,
                       "shape": [1, net.n_classes], "kind": "softmax"},
            "weights": "per-channel (convolutions), per-tensor (dense head)",
            "representative_samples": self.representative_samples,
            "blocks": [{"dilation": c.dilation, "relu_scale": c.layer.output_scale,
                        "relu_zero_point": c.layer.output_zero_point, "output_scale": a.output_scale,
                        "output_zero_point": a.output_zero_point} for c, a in zip(self.convs, self.adds)],
            "pooling": {"kind": net.pooling, "scale": fs, "zero_point": fz,
                        "rule": ("nearest integer to sum over valid steps of (q - zero_point) / valid steps, "
                                 "halves up, then + zero_point" if net.pooling == "avg" else
                                 "the last valid step's values")},
            "quantize_input": "x = f32(f32(feature - mean) / scale); q = clamp(round(x / input.scale) + "
                              "input.zero_point, -128, 127), round half away from zero; padding steps: any "
                              "int8 (input.zero_point recommended), they cannot change the output",
            "dequantize_output": "(q - output.zero_point) * output.scale",
            "scaler": {"mean": [float(v) for v in net.mean], "scale": [float(v) for v in net.scale]},
            "feature_names": list(net.feature_names),
            "classes": list(net.classes),
        }
        if net.preprocess:  # the step before the scaler, on each step (stingerml.core.preprocess)
            doc["preprocess"] = net.preprocess
            doc["quantize_input"] = f"step = {net.preprocess}(raw step); " + doc["quantize_input"]
        return doc
