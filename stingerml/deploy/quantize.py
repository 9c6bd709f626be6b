"""Post-training full-int8 quantization of a DenseNetwork: calibration rows → :class:`QuantizedNetwork`.

The scheme, the record and its integer emulator are :mod:`stingerml.core.quantized`
(re-exported here). Activations are calibrated per tensor from the min/max seen on the
representative rows (range widened to hold 0); weights are symmetric int8, one scale
per tensor or per output row; biases int32 at input scale × weight scale.
"""
from __future__ import annotations

import math
import random
from array import array
from typing import List, Sequence, Tuple, Union

from ..core.dense import DenseLayer, DenseNetwork
from ..core.errors import ExportError
from ..core.float32 import f32
from ..core.matrix import Matrix, Rows, take_rows
from ..core.quantized import (
    INT32_RANGE,
    MAX_INPUTS,
    PROB_SCALE,
    PROB_ZERO_POINT,
    QMAX,
    QMIN,
    ROUNDINGS,
    TANH_SCALE,
    TANH_ZERO_POINT,
    WEIGHT_QMAX,
    QuantizedHead,
    QuantizedLayer,
    QuantizedNetwork,
    clamp_int8,
    has_heads,
    multiply_by_quantized_multiplier,
    quantize_multiplier,
    round_half_away,
)
from ..formats._writers import check_network

REPRESENTATIVE_ROWS = 100

def representative_rows(X: Union[Matrix, Rows], n: int = REPRESENTATIVE_ROWS, seed: int = 0) -> Matrix:
    """``n`` rows of ``X`` drawn without replacement with ``random.Random(seed)`` (all rows when fewer), in order;
    of a view (a split's part), a float64 copy of just those rows."""
    if X.n_rows <= n:
        return X.take() if isinstance(X, Rows) else X
    picks = sorted(random.Random(seed).sample(range(X.n_rows), n))
    if isinstance(X, Rows):
        return X.take(picks)
    typecode = X.data.typecode if isinstance(X.data, array) else "d"
    return Matrix(array(typecode, take_rows(X.data, X.n_cols, picks)), X.n_cols)


def activation_params(lo: float, hi: float, what: str = "a tensor") -> Tuple[float, int]:
    """Asymmetric int8 ``(scale, zero_point)`` of a real range (widened to hold 0; float32 scale).

    Raises:
        ExportError: naming ``what``, when the range has no float32 step (not finite, or so narrow,
            below about 1.8e-43, that the step rounds to 0 in float32).
    """
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    if hi == lo:  # a constant-zero tensor: any scale represents it; take the range [0, 1]
        hi = 1.0
    scale = _finite_scale(f32((hi - lo) / (QMAX - QMIN)), what)
    return scale, clamp_int8(round_half_away(QMIN - lo / scale))


def _finite_scale(scale: float, what: str) -> float:
    """``scale`` if it is a usable float32 step (finite, > 0); else the export's one error."""
    if not (math.isfinite(scale) and scale > 0.0):
        raise ExportError(f"int8 quantization: {what} has no float32 step ({scale:g}); the weights are too large "
                          "or too small for int8; export the float models only (--onnx, --tflite-float)")
    return scale


def _weight_scales(w: Sequence[float], n_in: int, n_out: int, per_channel: bool) -> List[float]:
    groups = [w[o * n_in:(o + 1) * n_in] for o in range(n_out)] if per_channel else [w]
    scales = []
    for g in groups:
        top = max(abs(v) for v in g)
        scales.append(f32(top / WEIGHT_QMAX) if top > 0.0 else 1.0)
    return scales


def _forward_ranges(net: DenseNetwork, rows: List[List[float]]) -> List[Tuple[float, float]]:
    """min/max of the scaled input and of every layer's output (after ReLU; the last before its activation)."""
    outputs = [[r] + net.layer_outputs(r) for r in rows]
    return [(min(min(o[k]) for o in outputs), max(max(o[k]) for o in outputs)) for k in range(len(net.layers) + 1)]


def quantize(net: DenseNetwork, representative: Matrix, *, per_channel: bool = False) -> QuantizedNetwork:
    """Full-int8 post-training quantization of ``net`` calibrated on every row of ``representative``.

    ``representative`` holds raw feature rows (``n × n_features``, before the
    scaler; see :func:`representative_rows` for the default 100-row draw).

    Raises:
        ExportError: an empty or non-finite representative set, a width that does
            not match the network, non-finite weights, or a bias beyond int32.
    """
    check_network(net, "int8 quantization")
    wide = next((k for k, layer in enumerate(net.layers) if layer.n_in > MAX_INPUTS), -1)
    if wide >= 0:
        raise ExportError(f"int8 quantization: layer {wide} has {net.layers[wide].n_in} inputs; an int32 "
                          f"accumulator holds at most {MAX_INPUTS} int8 products")
    if representative.n_rows == 0:
        raise ExportError("int8 quantization: the representative set is empty; give at least one feature row "
                          "(for a blaster model, a log with dataset rows)")
    if representative.n_cols != net.n_features:
        raise ExportError(f"int8 quantization: representative rows have {representative.n_cols} values, "
                          f"the network takes {net.n_features}")
    bad = next((i for i, v in enumerate(representative.data) if not math.isfinite(v)), -1)
    if bad >= 0:
        r, c = divmod(bad, representative.n_cols)
        raise ExportError(f"int8 quantization: representative row {r} column {c} is {representative.data[bad]}; "
                          "only finite feature values can calibrate the model")
    probe = QuantizedNetwork(net, (), 1.0, 0, 1.0, 0, per_channel, 0)
    rows = [probe.scale_features(r) for r in representative.rows()]
    ranges = _forward_ranges(net, rows)
    names = [f"{name} (range [{lo:g}, {hi:g}] on the representative rows)" for name, (lo, hi) in
             zip(["the scaled input"] + [f"layer {k}'s output" for k in range(len(net.layers))], ranges)]
    for name, (lo, hi) in zip(names, ranges):
        if not (math.isfinite(lo) and math.isfinite(hi)):
            _finite_scale(hi - lo, name)
    in_scale, in_zp = activation_params(*ranges[0], names[0])
    heads = has_heads(net)
    layers = []
    last = len(net.layers) - 1
    for k, layer in enumerate(net.layers[:last] if heads else net.layers):
        layers.append(_layer(k, layer, ranges[k + 1], in_scale, in_zp, per_channel, k < last))
        in_scale, in_zp = layers[-1].output_scale, layers[-1].output_zero_point
    first = (layers[0].input_scale, layers[0].input_zero_point) if layers else (in_scale, in_zp)
    if heads:
        return QuantizedNetwork(net, tuple(layers), *first, 1.0, 0, per_channel, representative.n_rows,
                                _heads(net, rows, in_scale, in_zp))
    if net.output == "linear":
        out_scale, out_zp = in_scale, in_zp
    else:
        out_scale, out_zp = PROB_SCALE, PROB_ZERO_POINT
    return QuantizedNetwork(net, tuple(layers), *first, out_scale, out_zp, per_channel, representative.n_rows)


def _layer(k: int, layer, out_range: Tuple[float, float], in_scale: float, in_zp: int, per_channel: bool,
           relu: bool) -> QuantizedLayer:
    """Layer ``k`` of the network as int8, its output calibrated on ``out_range``."""
    out = activation_params(*out_range, f"layer {k}'s output (range [{out_range[0]:g}, {out_range[1]:g}] on the "
                                        "representative rows)")
    return quantize_layer(layer.weights, layer.bias, layer.n_in, layer.n_out, (in_scale, in_zp), out, relu,
                          per_channel, f"layer {k}")


def quantize_layer(weights: Sequence[float], bias: Sequence[float], n_in: int, n_out: int,
                   inp: Tuple[float, int], out: Tuple[float, int], relu: bool, per_channel: bool,
                   where: str) -> QuantizedLayer:
    """One int8 layer of float ``weights`` ``[n_out][n_in]`` and ``bias``, between the input and output
    quantizations ``(scale, zero_point)``; ``where`` names it in the error.

    Raises:
        ExportError: a bias scale that is not a float32 step, or a bias beyond int32 at its scale.
    """
    in_scale, in_zp = inp
    w_scales = _weight_scales(weights, n_in, n_out, per_channel)
    per_row = w_scales if per_channel else w_scales * n_out
    qw = array("b", [clamp_int8(round_half_away(v / per_row[i // n_in]), -WEIGHT_QMAX, WEIGHT_QMAX)
                     for i, v in enumerate(weights)])
    b_scales = [_finite_scale(f32(in_scale * s), f"{where}'s bias") for s in w_scales]
    per_bias = b_scales if per_channel else b_scales * n_out
    qb = [round_half_away(b / s) for b, s in zip(bias, per_bias)]
    i = next((i for i, v in enumerate(qb) if not INT32_RANGE[0] <= v <= INT32_RANGE[1]), -1)
    if i >= 0:
        raise ExportError(f"int8 quantization: {where} bias[{i}] = {bias[i]} is {qb[i]} steps of "
                          f"{per_bias[i]:g}, beyond int32; the weights or the input range are degenerate")
    return QuantizedLayer(qw, tuple(w_scales), array("i", qb), tuple(b_scales), in_scale, in_zp, out[0], out[1],
                          relu, n_in, n_out)


def _heads(net: DenseNetwork, rows: List[List[float]], in_scale: float, in_zp: int) -> Tuple[QuantizedHead, ...]:
    """One int8 head per target of the last layer, each calibrated on its own pre-activation range."""
    last = net.layers[-1]
    logits = [net.layer_outputs(r)[-1] for r in rows]
    heads = []
    for j, act in enumerate(net.activations):
        lo, hi = min(z[j] for z in logits), max(z[j] for z in logits)
        row = DenseLayer(array("f", last.weights[j * last.n_in:(j + 1) * last.n_in]), array("f", [last.bias[j]]),
                         last.n_in, 1)
        layer = _layer(len(net.layers) - 1, row, (lo, hi), in_scale, in_zp, False, False)
        scale, zp = {"sigmoid": (PROB_SCALE, PROB_ZERO_POINT), "tanh": (TANH_SCALE, TANH_ZERO_POINT)}.get(
            act, (layer.output_scale, layer.output_zero_point))
        heads.append(QuantizedHead(layer, act, scale, zp))
    return tuple(heads)
