"""ONNX (float32) of a sequence classifier (:class:`~stingerml.sequence.model.SequenceNetwork`).

Inputs ``input`` ``[N, T, F]`` float32 (batch first; ``N`` and ``T`` symbolic, any
length works) and ``mask`` ``[N, T]`` float32 (1 for valid steps, first; 0 for
padding after them). Output ``output`` ``[N, C]``: softmax probabilities. IR 7, opset 13
(onnxruntime 1.15 and newer). The graph::

    input -> [preprocessing] -> Sub(mean) -> Div(scale) -> Where(mask, ., 0)    (padding zeroed: never NaN)
    TCN:  -> Transpose [N, F, T] -> per block l: Conv(W_l, b_l, dilations=[2**l],
             pads=[(k-1)·2**l, 0]) -> Relu -> Add(residual: the block input, or block 0's
             1×1 Conv(Ws, bs) when F != H)
          -> MatMul with the pooling weights [N, T, 1]: mask / Σmask (avg) or
             mask[t] - mask[t+1] (last valid step) -> Flatten [N, H]
    LSTM: -> Transpose [T, N, F] -> LSTM(W, R, B, sequence_lens = Σmask as int32) per layer
             (gates reordered to ONNX's i, o, f, c) -> Y_h of the top layer [N, H]
    -> Gemm(Wh, bh, transB=1) -> Softmax

A network's preprocessing step on each step (``hands21``) comes first, as in the
MLP's file (:mod:`stingerml.formats.onnx`): Reshape ``[-1, 21, 3]`` (``N × T`` hands, or more
when a step holds several), the same nodes, then Reshape back to ``Shape(input)``.

Fields in ascending order, as ``onnx`` serializes them: the same network gives the
same bytes, equal to ``onnx.load(...).SerializeToString()``.
"""
from __future__ import annotations

import math
import struct
from array import array
from typing import List, Sequence, Tuple

from ..core.binary import le_bytes
from .._version import __version__
from ..core.errors import ExportError
from ..core.preprocess import HANDS21
from ._protobuf import bytes_field, int_field, message
from .onnx import hands21_nodes

IR_VERSION = 7
OPSET = 13
INPUT_NAME, MASK_NAME, OUTPUT_NAME = "input", "mask", "output"

_FLOAT, _INT32, _INT64, _BOOL = 1, 6, 7, 9  # TensorProto.DataType
_ATTR_INT, _ATTR_INTS = 2, 7  # AttributeProto.AttributeType


def _tensor(name: str, dims: Sequence[int], values, dtype: int = _FLOAT) -> bytes:
    """TensorProto: dims=1, data_type=2, name=8, raw_data=9 (little-endian)."""
    raw = le_bytes(array("f", values)) if dtype == _FLOAT else struct.pack(f"<{len(values)}q", *values)
    return b"".join([*(int_field(1, d) for d in dims), int_field(2, dtype), bytes_field(8, name),
                     bytes_field(9, raw)])


def _attr(name: str, value) -> bytes:
    """AttributeProto: name=1, i=3, ints=8, type=20."""
    if isinstance(value, (list, tuple)):
        return message(5, bytes_field(1, name), *(int_field(8, v) for v in value), int_field(20, _ATTR_INTS))
    return message(5, bytes_field(1, name), int_field(3, value), int_field(20, _ATTR_INT))


def _node(op: str, inputs: Sequence[str], outputs: Sequence[str], **attrs) -> bytes:
    """NodeProto: input=1, output=2, name=3, op_type=4, attribute=5."""
    return b"".join([*(bytes_field(1, i) for i in inputs), *(bytes_field(2, o) for o in outputs),
                     bytes_field(3, outputs[0]), bytes_field(4, op), *(_attr(k, v) for k, v in attrs.items())])


def _value_info(name: str, dims: Sequence[object]) -> bytes:
    """ValueInfoProto of a float32 tensor; a str dim is symbolic."""
    shape = message(2, *(message(1, bytes_field(2, d) if isinstance(d, str) else int_field(1, d)) for d in dims))
    return bytes_field(1, name) + message(2, message(1, int_field(1, _FLOAT), shape))


def lstm_onnx_order(values: Sequence[float], H: int, width: int) -> List[float]:
    """Rows of gate blocks ``i, f, g, o`` (each ``H`` rows of ``width``) in ONNX's order ``i, o, f, c``."""
    blocks = [list(values[g * H * width:(g + 1) * H * width]) for g in range(4)]
    return blocks[0] + blocks[3] + blocks[1] + blocks[2]


def check_sequence_network(net, fmt: str) -> None:
    """ExportError (naming the format ``fmt``) for non-finite parameters or scaler values, or a scale <= 0."""
    for what, values in (("parameter", net.params), ("scaler mean", net.mean), ("scaler scale", net.scale)):
        if not all(map(math.isfinite, values)):
            raise ExportError(f"{fmt}: a {what} is not finite; retrain the model")
    if min(net.scale) <= 0.0:
        raise ExportError(f"{fmt}: a scaler scale is <= 0; retrain the model")


def to_onnx(net, graph_name: str = "stingerml-sequence") -> bytes:
    """The ONNX model of a :class:`~stingerml.sequence.model.SequenceNetwork` (module doc).

    Raises:
        ExportError: non-finite parameters or scaler values, or a scale <= 0.
    """
    check_sequence_network(net, "ONNX")
    F, H, C = net.n_features, net.hidden, net.n_classes
    t = net.tensors()
    nodes: List[bytes] = []
    inits: List[bytes] = [_tensor("scaler_mean", [F], net.mean), _tensor("scaler_scale", [F], net.scale),
                          _tensor("zero", [], [0.0]), _tensor("shape_n_t_1", [3], [0, -1, 1], _INT64)]
    x = INPUT_NAME
    if net.preprocess == HANDS21:
        nodes.append(_node("Shape", [INPUT_NAME], ["input_shape"]))
        x = hands21_nodes(INPUT_NAME, nodes, inits, "input_shape")
    nodes += [_node("Sub", [x, "scaler_mean"], ["centered"]),
              _node("Div", ["centered", "scaler_scale"], ["scaled_all"]),
              _node("Cast", [MASK_NAME], ["mask_bool"], to=_BOOL),
              _node("Reshape", ["mask_bool", "shape_n_t_1"], ["mask_bool3"]),
              _node("Where", ["mask_bool3", "scaled_all", "zero"], ["scaled"])]
    if net.architecture == "tcn":
        k = net.kernel_size
        nodes.append(_node("Transpose", ["scaled"], ["x_nct"], perm=[0, 2, 1]))
        a = "x_nct"
        for l in range(net.depth):
            d = 2 ** l
            n_in = F if l == 0 else H
            inits += [_tensor(f"W{l}", [H, n_in, k], t[f"W{l}"][1]), _tensor(f"b{l}", [H], t[f"b{l}"][1])]
            nodes += [_node("Conv", [a, f"W{l}", f"b{l}"], [f"conv{l}"], dilations=[d], kernel_shape=[k],
                            pads=[(k - 1) * d, 0], strides=[1]),
                      _node("Relu", [f"conv{l}"], [f"relu{l}"])]
            res = a
            if l == 0 and F != H:
                inits += [_tensor("Ws", [H, F, 1], t["Ws"][1]), _tensor("bs", [H], t["bs"][1])]
                nodes.append(_node("Conv", [a, "Ws", "bs"], ["skip0"], kernel_shape=[1], strides=[1]))
                res = "skip0"
            nodes.append(_node("Add", [f"relu{l}", res], [f"block{l}"]))
            a = f"block{l}"
        if net.pooling == "avg":
            inits.append(_tensor("axis_steps", [1], [1], _INT64))
            nodes += [_node("ReduceSum", [MASK_NAME, "axis_steps"], ["mask_count"], keepdims=1),
                      _node("Div", [MASK_NAME, "mask_count"], ["pool_w"])]
        else:
            inits += [_tensor("slice_1", [1], [1], _INT64), _tensor("slice_big", [1], [2 ** 62], _INT64),
                      _tensor("slice_0", [1], [0], _INT64), _tensor("axis_steps", [1], [1], _INT64)]
            nodes += [_node("Slice", [MASK_NAME, "slice_1", "slice_big", "axis_steps"], ["mask_next_part"]),
                      _node("Slice", [MASK_NAME, "slice_0", "slice_1", "axis_steps"], ["mask_first"]),
                      _node("Mul", ["mask_first", "zero"], ["zeros_n1"]),
                      _node("Concat", ["mask_next_part", "zeros_n1"], ["mask_next"], axis=1),
                      _node("Sub", [MASK_NAME, "mask_next"], ["pool_w"])]
        nodes += [_node("Reshape", ["pool_w", "shape_n_t_1"], ["pool_w3"]),
                  _node("MatMul", [a, "pool_w3"], ["pooled3"]),
                  _node("Flatten", ["pooled3"], ["pooled"], axis=1)]
    elif net.architecture == "lstm":
        inits += [_tensor("axis_steps", [1], [1], _INT64), _tensor("axis_0", [1], [0], _INT64),
                  _tensor("axis_1", [1], [1], _INT64)]
        nodes += [_node("ReduceSum", [MASK_NAME, "axis_steps"], ["lengths_f"], keepdims=0),
                  _node("Cast", ["lengths_f"], ["lengths"], to=_INT32),
                  _node("Transpose", ["scaled"], ["x_tnf"], perm=[1, 0, 2])]
        x = "x_tnf"
        for l in range(net.depth):
            n_in = F if l == 0 else H
            W = lstm_onnx_order(t[f"W{l}"][1], H, n_in)
            R = lstm_onnx_order(t[f"R{l}"][1], H, H)
            B = lstm_onnx_order(t[f"b{l}"][1], H, 1) + [0.0] * (4 * H)
            inits += [_tensor(f"W{l}", [1, 4 * H, n_in], W), _tensor(f"R{l}", [1, 4 * H, H], R),
                      _tensor(f"B{l}", [1, 8 * H], B)]
            nodes.append(_node("LSTM", [x, f"W{l}", f"R{l}", f"B{l}", "lengths"], [f"Y{l}", f"Yh{l}"],
                               hidden_size=H))
            nodes.append(_node("Squeeze", [f"Y{l}", "axis_1"], [f"seq{l}"]))
            x = f"seq{l}"
        nodes.append(_node("Squeeze", [f"Yh{net.depth - 1}", "axis_0"], ["pooled"]))
    else:
        raise ExportError(f"ONNX: unknown architecture {net.architecture!r}")
    inits += [_tensor("Wh", [C, H], t["Wh"][1]), _tensor("bh", [C], t["bh"][1])]
    nodes += [_node("Gemm", ["pooled", "Wh", "bh"], ["logits"], transB=1),
              _node("Softmax", ["logits"], [OUTPUT_NAME], axis=-1)]
    graph = b"".join([*(bytes_field(1, n) for n in nodes), bytes_field(2, graph_name),
                      *(bytes_field(5, i) for i in inits),
                      bytes_field(11, _value_info(INPUT_NAME, ["N", "T", F])),
                      bytes_field(11, _value_info(MASK_NAME, ["N", "T"])),
                      bytes_field(12, _value_info(OUTPUT_NAME, ["N", C]))])
    props = _metadata(net)
    return b"".join([
        int_field(1, IR_VERSION), bytes_field(2, "stingerml"), bytes_field(3, __version__),
        bytes_field(7, graph), message(8, bytes_field(1, ""), int_field(2, OPSET)),
        *(message(14, bytes_field(1, k), bytes_field(2, v)) for k, v in props),
    ])


def _metadata(net) -> List[Tuple[str, str]]:
    import json

    return [("architecture", net.architecture), ("classes", json.dumps(list(net.classes))),
            ("input_layout", "input [N, T, F] float32 raw features (scaler inside); mask [N, T] float32, "
                             "1 = valid step (valid steps first), 0 = padding (ignored)"),
            ("stingerml_version", __version__)]

