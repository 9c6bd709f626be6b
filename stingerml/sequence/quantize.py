"""Post-training full-int8 quantization of a TCN: representative samples → :class:`QuantizedTCN`.

The scheme, the record and its integer emulator are :mod:`stingerml.core.quantized_tcn`.
Calibration runs the float network (no dropout) on the representative samples' valid
steps, scaled as the device scales them (``f32(f32(x - mean) / scale)``), and takes the
min/max of the input, of each block's ReLU output and output, of block 0's skip and of
the logits (:func:`stingerml._kernels.sequence_pure.tcn_ranges`); each range becomes a
per-tensor scale and zero point (:func:`stingerml.deploy.quantize.activation_params`).
"""
from __future__ import annotations

import math
import random
from array import array
from dataclasses import replace

from .._kernels import kernels
from ..core.errors import ExportError, SequenceDataError
from ..core.float32 import f32
from ..core.quantized_tcn import QuantizedAdd, QuantizedConv, QuantizedTCN
from ..deploy.quantize import REPRESENTATIVE_ROWS, activation_params, quantize_layer
from ..formats.onnx_sequence import check_sequence_network
from .data import Sequences
from .model import SequenceNetwork, preprocess_steps

REPRESENTATIVE_SAMPLES = REPRESENTATIVE_ROWS
"""Training samples that calibrate a run's int8 model by default (all when fewer)."""


def representative_samples(X: Sequences, n: int = REPRESENTATIVE_SAMPLES, seed: int = 0) -> Sequences:
    """``n`` samples of ``X`` drawn without replacement with ``random.Random(seed)`` (all when fewer), in order."""
    if X.n_samples <= n:
        return X
    return X.take(sorted(random.Random(seed).sample(range(X.n_samples), n)))


def _scaled(net: SequenceNetwork, X: Sequences) -> array:
    """The valid steps after the network's preprocessing, as the device scales them,
    ``f32(f32(x - mean) / scale)``; padding 0 (flat like ``X.data``)."""
    X = preprocess_steps(X, net.preprocess)
    F, T = X.n_features, X.n_steps
    out = array("d", bytes(8 * len(X.data)))
    for n, L in enumerate(X.lengths):
        base = n * T * F
        for i in range(L * F):
            f = i % F
            out[base + i] = f32(f32(X.data[base + i] - net.mean[f]) / net.scale[f])
    return out


def quantize_tcn(net: SequenceNetwork, representative: Sequences) -> QuantizedTCN:
    """Full-int8 quantization of the TCN ``net``, calibrated on every valid step of ``representative``
    (raw steps, before the scaler; see :func:`representative_samples`).

    Raises:
        ExportError: an LSTM (no int8 form), an empty or non-finite representative set, a feature
            count that does not match, non-finite parameters, or a bias beyond int32.
    """
    if net.architecture != "tcn":
        raise ExportError("int8 TFLite: only the TCN has an int8 form; export the LSTM as float32 "
                          "(--tflite-kind float)")
    check_sequence_network(net, "int8 quantization")
    if representative.n_samples == 0:
        raise ExportError("int8 quantization: the representative set is empty; give at least one sample")
    if representative.n_features != net.n_features:
        raise ExportError(f"int8 quantization: representative samples have {representative.n_features} features "
                          f"per step, the network takes {net.n_features}")
    try:
        representative.check_finite("int8 quantization")
    except SequenceDataError as exc:
        raise ExportError(str(exc)) from None
    X = _scaled(net, representative)
    F, H, k, depth = net.n_features, net.hidden, net.kernel_size, net.depth
    T = representative.n_steps
    valid = [X[n * T * F + i] for n, L in enumerate(representative.lengths) for i in range(L * F)]
    r = kernels("sequence").tcn_ranges(array("d", net.params), net.spec, X, representative.lengths, T,
                                       representative.n_samples)
    if not all(math.isfinite(v) for v in r):
        raise ExportError("int8 quantization: the calibration gave non-finite activations; retrain the model")
    tensors = net.tensors()
    inp = activation_params(min(valid), max(valid))

    def conv(name: str, n_in: int, taps: int, dilation: int, src, dst, relu: bool, where: str) -> QuantizedConv:
        W = tensors[f"W{name}"][1]  # [H][n_in][taps] -> OHWI rows [H][taps · n_in]
        ohwi = [W[(o * n_in + c) * taps + j] for o in range(H) for j in range(taps) for c in range(n_in)]
        layer = quantize_layer(ohwi, tensors[f"b{name}"][1], taps * n_in, H, src, dst, relu, True, where)
        return QuantizedConv(replace(layer, n_in=n_in), taps, dilation)

    convs, adds, skip = [], [], None
    a = inp
    for l in range(depth):
        relu_q = activation_params(r[4 * l], r[4 * l + 1])
        out_q = activation_params(r[4 * l + 2], r[4 * l + 3])
        convs.append(conv(str(l), F if l == 0 else H, k, 2 ** l, a, relu_q, True, f"block {l}"))
        res = a
        if l == 0 and F != H:
            skip_q = activation_params(r[4 * depth], r[4 * depth + 1])
            skip = conv("s", F, 1, 1, a, skip_q, False, "the skip convolution")
            res = skip_q
        adds.append(QuantizedAdd((relu_q[0], res[0]), (relu_q[1], res[1]), out_q[0], out_q[1]))
        a = out_q
    logits_q = activation_params(r[4 * depth + 2], r[4 * depth + 3])
    head = quantize_layer(tensors["Wh"][1], tensors["bh"][1], H, net.n_classes, a, logits_q, False, False, "the head")
    return QuantizedTCN(net, tuple(convs), tuple(adds), skip, head, inp[0], inp[1], representative.n_samples)
