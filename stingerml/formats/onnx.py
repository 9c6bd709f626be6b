"""ONNX (float32) from a :class:`~stingerml.core.dense.DenseNetwork`, written with the standard library.

The graph (IR version 7, opset 13, so onnxruntime 1.15 and newer load it)::

    input [N, n_features] float32          (N: the symbolic batch dimension "N")
      -> the preprocessing step            (only for a network with one, see below)
      -> Sub(mean) -> Div(scale)           (only when the scaler is folded in: the default)
      -> Gemm(W0, b0, transB=1) -> Relu -> ... -> Gemm(Wk, bk, transB=1)
      -> Softmax (axis -1) | Sigmoid | nothing (linear)
    output [N, n_outputs] float32

A regression network with bounded targets (``output_activation``) ends in
``Sigmoid``/``Tanh`` of the last ``Gemm``'s output ``logits``, kept column by column
with ``Where`` and a constant boolean mask per activation (the other columns as they
are)::

    Where(sigmoid_mask, Sigmoid(logits), logits) -> Where(tanh_mask, Tanh(logits), ...) -> output

Weights are stored row-major ``[out][in]`` exactly as in the network (``transB=1``).
``metadata_props`` hold the feature names, classes, target names, output kind,
the scaler (``scaler_mean``/``scaler_scale``, JSON lists) and the stingerml version.

A network's preprocessing (:mod:`stingerml.core.preprocess`) is always in the graph,
so the file takes raw rows. ``hands21`` (float32; a row of ``F = T × 63`` values is
``T`` hands, so ``points`` holds ``N × T`` hands, each normalised on its own)::

    Reshape([-1, 21, 3]) -> points; Gather(points, [0], axis 1) -> wrist; Sub -> relative
    Gather(relative, [9], axis 1) -> ReduceL2(axes [2], keepdims) -> span
    Where(Equal(span, 0), 1, span) -> divisor; Div(relative, divisor) -> Reshape([-1, F])

The scaler is folded in by default: the ONNX file then takes the same raw
feature rows as the MLMD model and the firmware (``Sub`` then ``Div`` in
float32 are the firmware's own two operations), so no caller can forget it.
``fold_scaler=False`` leaves it out of the graph (inputs must then be scaled
by the caller with the ``scaler_*`` metadata).

Fields are written in ascending field number, as ``onnx`` serializes them, so
the bytes are exactly what ``onnx.load(...).SerializeToString()`` gives back,
and the same network always gives the same bytes.
"""
from __future__ import annotations

import os
import struct
from array import array
from typing import List, Sequence, Union

from .._version import __version__
from ..core.atomic import write_bytes_atomic
from ..core.binary import le_bytes
from ..core.dense import DenseNetwork
from ..core.preprocess import HANDS21, MIDDLE_MCP, N_POINTS, WRIST
from ._protobuf import bytes_field, int_field, message
from ._writers import check_network, metadata

IR_VERSION = 7
OPSET = 13
INPUT_NAME = "input"
OUTPUT_NAME = "output"
BATCH_DIM = "N"

_FLOAT, _INT64, _BOOL = 1, 7, 9  # TensorProto.DataType
_ATTR_INT, _ATTR_INTS = 2, 7  # AttributeProto.AttributeType


def _tensor(name: str, dims: Sequence[int], values) -> bytes:
    """TensorProto (float32): dims=1, data_type=2, name=8, raw_data=9."""
    return b"".join([*(int_field(1, d) for d in dims), int_field(2, _FLOAT), bytes_field(8, name),
                     bytes_field(9, le_bytes(array("f", values)))])


def _int64_tensor(name: str, values: Sequence[int]) -> bytes:
    """TensorProto (int64, 1-D): dims=1, data_type=2, name=8, raw_data=9."""
    return b"".join([int_field(1, len(values)), int_field(2, _INT64), bytes_field(8, name),
                     bytes_field(9, struct.pack(f"<{len(values)}q", *values))])


def _bool_tensor(name: str, values: Sequence[bool]) -> bytes:
    """TensorProto (bool, 1-D): dims=1, data_type=2, name=8, raw_data=9 (one byte each)."""
    return b"".join([int_field(1, len(values)), int_field(2, _BOOL), bytes_field(8, name),
                     bytes_field(9, bytes(int(v) for v in values))])


def _bounded(x: str, acts: Sequence[str], nodes: List[bytes], inits: List[bytes]) -> None:
    """Append the bounded outputs' nodes (module docstring) reading ``x``; the last one writes the output."""
    kinds = [(a, op) for a, op in (("sigmoid", "Sigmoid"), ("tanh", "Tanh")) if a in acts]
    for k, (act, op) in enumerate(kinds):
        inits.append(_bool_tensor(f"{act}_mask", [a == act for a in acts]))
        nodes.append(_node(op, ["logits"], act))
        y = OUTPUT_NAME if k == len(kinds) - 1 else f"after_{act}"
        nodes.append(_node("Where", [f"{act}_mask", act, x], y))
        x = y


def _value_info(name: str, width: int) -> bytes:
    """ValueInfoProto of a float32 ``[N, width]`` tensor."""
    shape = message(2, message(1, bytes_field(2, BATCH_DIM)), message(1, int_field(1, width)))
    return bytes_field(1, name) + message(2, message(1, int_field(1, _FLOAT), shape))


def _node(op: str, inputs: Sequence[str], output: str, **ints: Union[int, Sequence[int]]) -> bytes:
    """NodeProto: input=1, output=2, name=3, op_type=4, attribute=5 (INT, or INTS for a list)."""
    attrs = [message(5, bytes_field(1, k), int_field(3, v), int_field(20, _ATTR_INT)) if isinstance(v, int) else
             message(5, bytes_field(1, k), *(int_field(8, i) for i in v), int_field(20, _ATTR_INTS))
             for k, v in ints.items()]
    return b"".join([*(bytes_field(1, i) for i in inputs), bytes_field(2, output), bytes_field(3, output),
                     bytes_field(4, op), *attrs])


def hands21_nodes(x: str, nodes: List[bytes], inits: List[bytes], out_shape: str,
                  shape_init: Sequence[int] = ()) -> str:
    """Append the ``hands21`` nodes (module docstring) reading float ``x`` (any shape holding whole
    hands of 63 values: ``[N, T × 63]``, a sequence model's ``[N, T, F]``); the result is reshaped to
    ``out_shape``, an initializer made of ``shape_init`` when given, else a tensor the caller computes.
    Returns the output's name."""
    inits += [_int64_tensor("hands_shape", [-1, N_POINTS, 3]), _int64_tensor("wrist_index", [WRIST]),
              _int64_tensor("mcp_index", [MIDDLE_MCP])]
    inits += [_int64_tensor(out_shape, shape_init)] if shape_init else []
    inits += [_tensor("hands_zero", [], [0.0]), _tensor("hands_one", [], [1.0])]
    nodes += [_node("Reshape", [x, "hands_shape"], "points"),
              _node("Gather", ["points", "wrist_index"], "wrist", axis=1),
              _node("Sub", ["points", "wrist"], "relative"),
              _node("Gather", ["relative", "mcp_index"], "mcp", axis=1),
              _node("ReduceL2", ["mcp"], "span", axes=[2], keepdims=1),
              _node("Equal", ["span", "hands_zero"], "span_is_zero"),
              _node("Where", ["span_is_zero", "hands_one", "span"], "divisor"),
              _node("Div", ["relative", "divisor"], "normalized_points"),
              _node("Reshape", ["normalized_points", out_shape], "normalized")]
    return "normalized"


def to_onnx(net: DenseNetwork, *, fold_scaler: bool = True, graph_name: str = "stingerml") -> bytes:
    """The ONNX model of ``net`` as bytes (see the module docstring for the graph).

    Raises:
        ExportError: non-finite weights or scaler values, or a scale ≤ 0.
    """
    check_network(net, "ONNX")
    nodes: List[bytes] = []
    inits: List[bytes] = []
    x = INPUT_NAME
    if net.preprocess == HANDS21:
        x = hands21_nodes(x, nodes, inits, "row_shape", [-1, net.n_features])
    folded = fold_scaler and net.mean is not None
    if folded:
        inits += [_tensor("scaler_mean", [net.n_features], net.mean),
                  _tensor("scaler_scale", [net.n_features], net.scale)]
        nodes += [_node("Sub", [x, "scaler_mean"], "centered"), _node("Div", ["centered", "scaler_scale"], "scaled")]
        x = "scaled"
    last = len(net.layers) - 1
    for k, layer in enumerate(net.layers):
        w, b = f"W{k}", f"b{k}"
        inits += [_tensor(w, [layer.n_out, layer.n_in], layer.weights), _tensor(b, [layer.n_out], layer.bias)]
        y = OUTPUT_NAME if k == last and net.output == "linear" and not net.output_activation else (
            "logits" if k == last else f"dense{k}")
        nodes.append(_node("Gemm", [x, w, b], y, transB=1))
        x = y
        if k < last:
            nodes.append(_node("Relu", [x], f"relu{k}"))
            x = f"relu{k}"
    if net.output_activation:
        _bounded(x, net.output_activation, nodes, inits)
    elif net.output != "linear":
        nodes.append(_node("Softmax" if net.output == "softmax" else "Sigmoid", [x], OUTPUT_NAME))
    graph = b"".join([*(bytes_field(1, n) for n in nodes), bytes_field(2, graph_name),
                      *(bytes_field(5, t) for t in inits),
                      bytes_field(11, _value_info(INPUT_NAME, net.n_features)),
                      bytes_field(12, _value_info(OUTPUT_NAME, net.n_outputs))])
    extra = [("scaler_folded", "true" if folded else "false")] + ([("preprocess", net.preprocess)]
                                                                  if net.preprocess else [])
    props = metadata(net, __version__, extra)
    return b"".join([
        int_field(1, IR_VERSION), bytes_field(2, "stingerml"), bytes_field(3, __version__),
        bytes_field(7, graph), message(8, bytes_field(1, ""), int_field(2, OPSET)),
        *(message(14, bytes_field(1, k), bytes_field(2, v)) for k, v in props),
    ])


def write_onnx(net: DenseNetwork, path: Union[str, "os.PathLike[str]"], **options) -> None:
    """Write :func:`to_onnx` of ``net`` to ``path`` atomically (nothing is written on error)."""
    write_bytes_atomic(path, to_onnx(net, **options))
