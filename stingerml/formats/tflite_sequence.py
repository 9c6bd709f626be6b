"""TFLite of a sequence classifier: float32 (:func:`to_tflite_float`, TCN and LSTM) and full int8
(:func:`to_tflite_int8`, the TCN).

One subgraph, signature ``serving_default``; inputs ``input`` ``[1, T, F]`` and ``mask``
``[1, T]`` float32 (``T``: the steps the model was trained on; 1 valid, valid steps
first), output ``output`` ``[1, C]`` softmax probabilities::

    input -> [preprocessing] -> SUB(mean) -> DIV(scale)
    TCN:  -> RESHAPE [1, 1, T, F] -> per block l: PAD (left (k-1)·2**l steps) -> CONV_2D
             (filter [H, 1, k, C_in], VALID, dilation_w 2**l, fused RELU) -> ADD(residual: the
             block input, or block 0's 1×1 CONV_2D when F != H) -> RESHAPE [1, T, H]
    LSTM: -> UNIDIRECTIONAL_SEQUENCE_LSTM per layer (batch major, gates i, f, c, o, TANH;
             output and cell state as zero-initialised variable tensors) -> [1, T, H]
    pooling weights from the mask: mask / SUM(mask) (TCN avg) or mask - mask shifted one
    step left (the last valid step: TCN last, LSTM) -> BATCH_MATMUL [1, 1, T]·[1, T, H]
    -> RESHAPE [1, H] -> FULLY_CONNECTED(Wh, bh) -> SOFTMAX

The preprocessing step (``hands21``, on each step) is the MLP's operators
(:func:`stingerml.formats.tflite.hands21_ops`) on the ``T`` steps' hands, reshaped back to
``[1, T, F]``; the int8 file, like the scaler, leaves it outside.

Causal layers never read a step after the one they compute, so steps past a sample's
length cannot change the pooled value; they must hold finite numbers (zeros: a
``0·NaN`` in the pooling would be NaN). The TFLite LSTM has no sequence-length input:
padded steps are computed and then weighted 0.

Full int8, from a :class:`~stingerml.core.quantized_tcn.QuantizedTCN` (its docstring: the
scheme and the kernels' arithmetic): inputs ``input`` ``[1, T, F]`` int8 (scaled steps,
quantized with the input scale and zero point; the scaler stays outside) and ``mask``
``[1, T]`` int8 (scale 1, zero point 0: 1 valid, 0 padding); output ``output`` ``[1, C]``
int8 softmax (scale 1/256, zero point -128)::

    input -> RESHAPE [1, 1, T, F] -> per block l: PAD (left (k-1)·2**l steps of the zero point)
             -> CONV_2D (v3, per-channel int8 weights, int32 bias, dilation_w 2**l, fused RELU)
             -> ADD (v2) with the residual (the block input, or block 0's 1×1 CONV_2D)
    -> RESHAPE [1, T, H] -> CAST int32 -> SUB zero point -> MUL the pooling weights (the mask,
       or the mask minus the mask one step later, [1, T, 1]) -> SUM over steps
       -> avg: FLOOR_DIV(2·sum + L, 2·L) with L = SUM(mask)  -> ADD zero point -> CAST int8
    -> FULLY_CONNECTED (v4) -> SOFTMAX (v2)

Padding steps are computed but weighted 0 in int32, so any int8 content is harmless.
:class:`stingerml.formats.tflite.Graph` writes both.
"""
from __future__ import annotations

import struct
from typing import Sequence

from ..core.binary import le_bytes
from ..core.preprocess import HANDS21
from ..core.quantized_tcn import MASK_SCALE, MASK_ZERO_POINT, QuantizedConv, QuantizedTCN
from ._flatbuffers import Table, Vector
from .onnx_sequence import check_sequence_network
from .tflite import FLOAT32, INT8, INT32, OP_VERSIONS, Graph, _quant, fc_int8, hands21_ops

INPUT_NAME, MASK_NAME, OUTPUT_NAME = "input", "mask", "output"

ADD, CONV_2D, FULLY_CONNECTED, MUL, RESHAPE, SOFTMAX, PAD, SUB, DIV = 0, 3, 9, 18, 22, 25, 34, 41, 42
UNIDIRECTIONAL_SEQUENCE_LSTM, CAST, SLICE, SUM, FLOOR_DIV, BATCH_MATMUL = 44, 53, 65, 74, 90, 126
_OPTIONS = {CONV_2D: 1, FULLY_CONNECTED: 8, SOFTMAX: 9, ADD: 11, RESHAPE: 17, MUL: 21, PAD: 22, SUM: 27, SUB: 28,
            DIV: 29, SLICE: 48, UNIDIRECTIONAL_SEQUENCE_LSTM: 71, BATCH_MATMUL: 101}
"""BuiltinOptions union type of each operator that has options (CAST and FLOOR_DIV take none)."""
FLOAT_VERSIONS = {**OP_VERSIONS, CONV_2D: 2}
INT8_VERSIONS = {**OP_VERSIONS, CONV_2D: 3, ADD: 2, PAD: 2}
"""Operator versions other than 1: float CONV_2D with dilation is v2; int8 per-channel CONV_2D v3,
int8 ADD and PAD v2 (what TFLite's converter writes for these types)."""
_RELU, _TANH = 1, 4


def _apply(g: Graph, code: int, inputs: Sequence[int], name: str, shape: Sequence[int],
           options: Sequence[tuple] = (), ttype: int = FLOAT32, quant=None) -> int:
    """One operator with its builtin options table (``options``: its fields); returns the output tensor."""
    opts = (_OPTIONS[code], Table(tuple(options))) if code in _OPTIONS else None
    return g.apply(code, list(inputs), name, shape, opts, ttype, quant)


def _ints(g: Graph, name: str, values: Sequence[int], shape: Sequence[int] = ()) -> int:
    return g.tensor(name, list(shape) or [len(values)], INT32, data=struct.pack(f"<{len(values)}i", *values))


def _reshape(g: Graph, x: int, name: str, shape: Sequence[int], ttype: int = FLOAT32, quant=None) -> int:
    return _apply(g, RESHAPE, [x, _ints(g, f"shape_{name}", shape)], name, shape,
                  [(0, "obj", Vector("i32", list(shape)))], ttype, quant)


def _conv_options(dilation: int, relu: bool) -> list:
    """Conv2DOptions: padding VALID, strides 1, fused activation, dilation_w, dilation_h 1."""
    return [(0, "i8", 1), (1, "i32", 1), (2, "i32", 1), (3, "i8", _RELU if relu else 0), (4, "i32", dilation),
            (5, "i32", 1)]


def _pooling_weights(g: Graph, mask: int, T: int, last: bool, ttype: int) -> int:
    """The mask (avg) or the mask minus the mask one step later (last valid step), ``[1, T]``."""
    if not last or T == 1:
        return mask
    tail = _apply(g, SLICE, [mask, _ints(g, "slice_begin", [0, 1]), _ints(g, "slice_size", [1, T - 1])],
                  "mask_tail", [1, T - 1], ttype=ttype)
    nxt = _apply(g, PAD, [tail, _ints(g, "pads_next", [0, 0, 0, 1], [2, 2])], "mask_next", [1, T], ttype=ttype)
    return _apply(g, SUB, [mask, nxt], "pool_weights", [1, T], ttype=ttype)


def to_tflite_float(net) -> bytes:
    """The float32 ``.tflite`` bytes of a sequence network (module doc).

    Raises:
        ExportError: non-finite parameters or scaler values, or a scale <= 0.
    """
    check_sequence_network(net, "TFLite")
    T, F, H, C = net.n_steps, net.n_features, net.hidden, net.n_classes
    t = net.tensors()
    g = Graph(FLOAT_VERSIONS)
    x_in = g.tensor(INPUT_NAME, [1, T, F])
    mask = g.tensor(MASK_NAME, [1, T])
    x = hands21_ops(g, x_in, [1, T, F]) if net.preprocess == HANDS21 else x_in
    x = _apply(g, SUB, [x, g.constant("scaler_mean", [F], net.mean)], "centered", [1, T, F])
    x = _apply(g, DIV, [x, g.constant("scaler_scale", [F], net.scale)], "scaled", [1, T, F])
    if net.architecture == "tcn":
        k = net.kernel_size
        a = _reshape(g, x, "x_nhwc", [1, 1, T, F])
        for l in range(net.depth):
            d = 2 ** l
            n_in = F if l == 0 else H
            W = t[f"W{l}"][1]  # [H][n_in][k] -> TFLite OHWI [H][1][k][n_in]
            ohwi = [W[(o * n_in + c) * k + j] for o in range(H) for j in range(k) for c in range(n_in)]
            pads = _ints(g, f"pads{l}", [0, 0, 0, 0, (k - 1) * d, 0, 0, 0], [4, 2])
            padded = _apply(g, PAD, [a, pads], f"padded{l}", [1, 1, T + (k - 1) * d, n_in])
            conv = _apply(g, CONV_2D, [padded, g.constant(f"W{l}", [H, 1, k, n_in], ohwi),
                                       g.constant(f"b{l}", [H], t[f"b{l}"][1])],
                          f"relu{l}", [1, 1, T, H], _conv_options(d, True))
            res = a
            if l == 0 and F != H:
                res = _apply(g, CONV_2D, [a, g.constant("Ws", [H, 1, 1, F], t["Ws"][1]),
                                          g.constant("bs", [H], t["bs"][1])],
                             "skip0", [1, 1, T, H], _conv_options(1, False)[:3])
            a = _apply(g, ADD, [conv, res], f"block{l}", [1, 1, T, H])
        seq = _reshape(g, a, "features", [1, T, H])
        pooling = net.pooling
    else:
        seq = x
        for l in range(net.depth):
            n_in = F if l == 0 else H
            W, R, b = t[f"W{l}"][1], t[f"R{l}"][1], t[f"b{l}"][1]
            ins = [seq]
            ins += [g.constant(f"W{l}_{gate}", [H, n_in], W[q * H * n_in:(q + 1) * H * n_in])
                    for q, gate in enumerate("ifco")]
            ins += [g.constant(f"R{l}_{gate}", [H, H], R[q * H * H:(q + 1) * H * H]) for q, gate in enumerate("ifco")]
            ins += [-1, -1, -1]
            ins += [g.constant(f"b{l}_{gate}", [H], b[q * H:(q + 1) * H]) for q, gate in enumerate("ifco")]
            ins += [-1, -1]
            ins += [g.tensor(f"lstm{l}_output_state", [1, H], variable=True),
                    g.tensor(f"lstm{l}_cell_state", [1, H], variable=True)]
            ins += [-1, -1, -1, -1]
            seq = _apply(g, UNIDIRECTIONAL_SEQUENCE_LSTM, ins, f"lstm{l}", [1, T, H],
                         [(0, "i8", _TANH), (1, "f32", 0.0), (2, "f32", 0.0), (3, "bool", 0)])
        pooling = "last"
    if pooling == "avg":
        count = _apply(g, SUM, [mask, _ints(g, "axis_steps", [1])], "mask_count", [1, 1], [(0, "bool", 1)])
        weights = _apply(g, DIV, [mask, count], "pool_weights", [1, T])
    else:
        weights = _pooling_weights(g, mask, T, True, FLOAT32)
    w3 = _reshape(g, weights, "pool_weights3", [1, 1, T])
    pooled3 = _apply(g, BATCH_MATMUL, [w3, seq], "pooled3", [1, 1, H], [(0, "bool", 0), (1, "bool", 0)])
    pooled = _reshape(g, pooled3, "pooled", [1, H])
    logits = _apply(g, FULLY_CONNECTED, [pooled, g.constant("Wh", [C, H], t["Wh"][1]), g.constant("bh", [C], t["bh"][1])],
                    "logits", [1, C], [(0, "i8", 0)])
    out = _apply(g, SOFTMAX, [logits], OUTPUT_NAME, [1, C], [(0, "f32", 1.0)])
    return g.model([x_in, mask], [out], (INPUT_NAME, MASK_NAME))


def _int8_conv(g: Graph, conv: QuantizedConv, x: int, name: str, n_steps: int) -> int:
    """PAD (when the convolution has more than one tap) and CONV_2D of int8 ``x`` ``[1, 1, T, n_in]``."""
    L = conv.layer
    in_q = _quant([L.input_scale], [L.input_zero_point])
    left = (conv.kernel_size - 1) * conv.dilation
    if left:
        pads = _ints(g, f"pads_{name}", [0, 0, 0, 0, left, 0, 0, 0], [4, 2])
        x = _apply(g, PAD, [x, pads], f"padded_{name}", [1, 1, n_steps + left, L.n_in], ttype=INT8, quant=in_q)
    zeros = [0] * len(L.weight_scales)
    w = g.tensor(f"{name}/weights", [L.n_out, 1, conv.kernel_size, L.n_in], INT8, _quant(L.weight_scales, zeros),
                 le_bytes(L.weights))
    b = g.tensor(f"{name}/bias", [L.n_out], INT32, _quant(L.bias_scales, zeros), le_bytes(L.bias))
    return _apply(g, CONV_2D, [x, w, b], name, [1, 1, n_steps, L.n_out], _conv_options(conv.dilation, L.relu),
                  INT8, _quant([L.output_scale], [L.output_zero_point]))


def to_tflite_int8(model: QuantizedTCN) -> bytes:
    """The full-int8 ``.tflite`` bytes of a quantized TCN (module doc)."""
    net = model.network
    T, F, H, C = net.n_steps, net.n_features, net.hidden, net.n_classes
    g = Graph(INT8_VERSIONS)
    in_q = _quant([model.input_scale], [model.input_zero_point])
    x_in = g.tensor(INPUT_NAME, [1, T, F], INT8, in_q)
    mask = g.tensor(MASK_NAME, [1, T], INT8, _quant([MASK_SCALE], [MASK_ZERO_POINT]))
    a = _reshape(g, x_in, "x_nhwc", [1, 1, T, F], INT8, in_q)
    for l, (conv, add) in enumerate(zip(model.convs, model.adds)):
        h = _int8_conv(g, conv, a, f"relu{l}", T)
        res = _int8_conv(g, model.skip, a, "skip0", T) if l == 0 and model.skip is not None else a
        a = _apply(g, ADD, [h, res], f"block{l}", [1, 1, T, H], [], INT8,
                   _quant([add.output_scale], [add.output_zero_point]))
    fs, fz = model.features_quantization
    f_q = _quant([fs], [fz])
    seq = _reshape(g, a, "features", [1, T, H], INT8, f_q)
    wide = _apply(g, CAST, [seq], "features_int32", [1, T, H], ttype=INT32)
    zp = _ints(g, "features_zero_point", [fz], [1])
    centered = _apply(g, SUB, [wide, zp], "features_centered", [1, T, H], ttype=INT32)
    mask32 = _apply(g, CAST, [mask], "mask_int32", [1, T], ttype=INT32)
    weights = _pooling_weights(g, mask32, T, model.pooling == "last", INT32)
    w3 = _reshape(g, weights, "pool_weights3", [1, T, 1], INT32)
    weighted = _apply(g, MUL, [centered, w3], "features_weighted", [1, T, H], [(0, "i8", 0)], INT32)
    axis = _ints(g, "axis_steps", [1])
    total = _apply(g, SUM, [weighted, axis], "pooled_sum", [1, H], [(0, "bool", 0)], INT32)
    if model.pooling == "avg":
        count = _apply(g, SUM, [mask32, axis], "mask_count", [1, 1], [(0, "bool", 1)], INT32)
        two = _ints(g, "two", [2], [1])
        twice = _apply(g, MUL, [total, two], "pooled_sum2", [1, H], [(0, "i8", 0)], INT32)
        num = _apply(g, ADD, [twice, count], "pooled_num", [1, H], [], INT32)
        den = _apply(g, MUL, [count, two], "pooled_den", [1, 1], [(0, "i8", 0)], INT32)
        total = _apply(g, FLOOR_DIV, [num, den], "pooled_mean", [1, H], ttype=INT32)
    shifted = _apply(g, ADD, [total, zp], "pooled_int32", [1, H], [], INT32)
    pooled = _apply(g, CAST, [shifted], "pooled", [1, H], ttype=INT8, quant=f_q)
    logits = fc_int8(g, "logits", model.head, pooled, "logits")
    out = _apply(g, SOFTMAX, [logits], OUTPUT_NAME, [1, C], [(0, "f32", 1.0)], INT8,
                 _quant([model.output_scale], [model.output_zero_point]))
    return g.model([x_in, mask], [out], (INPUT_NAME, MASK_NAME))
