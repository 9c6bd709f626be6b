"""TFLite models written with the standard library: full int8 (:func:`to_tflite`) and float32 (:func:`to_tflite_float`).

Both have one subgraph ``main`` with one ``serving_default`` signature (input
``input``, output ``output``). Full int8, from a
:class:`~stingerml.deploy.quantize.QuantizedNetwork`::

    input  int8 [1, n_features]   (scaled features, quantized with the input scale/zero point)
      -> FULLY_CONNECTED (v4, int8 weights, int32 bias, fused ReLU) -> ...
      -> FULLY_CONNECTED (v4, no activation)
      -> SOFTMAX (v2, beta 1) | LOGISTIC (v2) | nothing (linear)
    output int8 [1, n_outputs]    (softmax/sigmoid: scale 1/256, zero point -128)

A regression network with more than one target or a bounded target ends in one
head per target (:mod:`stingerml.core.quantized`), and its output is float32::

    ... -> last hidden layer (int8) -> per target: FULLY_CONNECTED (1 unit, its own scales)
      -> LOGISTIC | TANH | nothing -> DEQUANTIZE          (tensors "<k>/logit", "<k>/value", "<k>/float")
    CONCATENATION (axis 1) -> output float32 [1, n_targets]

The int8 file does not hold the network's preprocessing or scaler (an int8
input cannot hold raw features of very different ranges); apply them first, see
:meth:`~stingerml.deploy.quantize.QuantizedNetwork.quantize_input` and
``QuantizedNetwork.to_dict()`` for ``meta.json``.

Float32, from a :class:`~stingerml.core.dense.DenseNetwork`: the same layers with
float32 weights and biases, and, like the ONNX file, **raw** input: the
network's preprocessing (``hands21``: RESHAPE ``[-1, 21, 3]`` (``T`` hands for a row of
``T × 63`` values), GATHER the wrist, SUB, GATHER point 9, MUL, SUM over xyz, SQRT,
SELECT_V2(EQUAL(d, 0), 1, d), DIV, RESHAPE ``[-1, n_features]``) and the scaler
(SUB mean, DIV scale) come first::

    input  float32 [1, n_features] -> [preprocessing] -> SUB -> DIV -> FULLY_CONNECTED (fused ReLU) ...
      -> SOFTMAX | LOGISTIC | nothing        output float32 [1, n_outputs]

A regression network with bounded targets (``output_activation``) ends, as its ONNX
file, in LOGISTIC/TANH of the last layer's output kept column by column with
SELECT_V2 and a constant boolean mask per activation.

:class:`Graph` is the writer both use (tensors, constant buffers, operators and
their codes, then the model bytes); another model family adds its operators
through it. Buffers are aligned to 16 bytes; ``buffers[0]`` is the empty
sentinel every activation tensor points to. The same input gives the same bytes.
"""
from __future__ import annotations

import math
import os
from array import array
from typing import Dict, List, Optional, Sequence, Union

from .._version import __version__
from ..core.atomic import write_bytes_atomic
from ..core.binary import le_bytes
from ..core.dense import DenseNetwork
from ..core.preprocess import HANDS21, MIDDLE_MCP, N_POINTS, WRIST, frames
from ..core.quantized import QuantizedNetwork
from ._flatbuffers import Table, Vector, serialize
from ._writers import check_network

SCHEMA_VERSION = 3
INPUT_NAME = "input"
OUTPUT_NAME = "output"
SIGNATURE_KEY = "serving_default"

# schema.fbs enums
FLOAT32, INT32, BOOL, INT8 = 0, 2, 6, 9  # TensorType
(CONCATENATION, DEQUANTIZE, FULLY_CONNECTED, LOGISTIC, MUL, RESHAPE, SOFTMAX, TANH, GATHER, SUB, DIV, EQUAL, SUM,
 SQRT, SELECT_V2) = 2, 6, 9, 14, 18, 22, 25, 28, 36, 41, 42, 71, 74, 75, 123  # BuiltinOperator
OP_VERSIONS = {FULLY_CONNECTED: 4, SOFTMAX: 2, LOGISTIC: 2, TANH: 2, DEQUANTIZE: 2}
"""Operator versions other than 1 (tflite-runtime 2.14 refuses FULLY_CONNECTED 12; 4 works everywhere)."""
# BuiltinOptions union types (schema.fbs)
FC_OPTIONS, SOFTMAX_OPTIONS, CONCATENATION_OPTIONS, RESHAPE_OPTIONS, GATHER_OPTIONS, REDUCER_OPTIONS = (
    8, 9, 10, 17, 23, 27)
RELU, NONE = 1, 0  # ActivationFunctionType


def _quant(scales: Sequence[float], zero_points: Sequence[int]) -> Table:
    """QuantizationParameters: scale 2, zero_point 3, quantized_dimension 6 (axis 0)."""
    return Table(((2, "obj", Vector("f32", list(scales))), (3, "obj", Vector("i64", list(zero_points))),
                  (6, "i32", 0)))


def _tensor(name: str, shape: Sequence[int], ttype: int, buffer: int, quant: Optional[Table],
            variable: bool = False) -> Table:
    """Tensor: shape 0, type 1, buffer 2, name 3, quantization 4 (left out for a float tensor), is_variable 5."""
    fields = [(0, "obj", Vector("i32", list(shape))), (1, "i8", ttype), (2, "u32", buffer), (3, "obj", name)]
    if quant is not None:
        fields.append((4, "obj", quant))
    if variable:
        fields.append((5, "bool", 1))
    return Table(tuple(fields))


def _operator(opcode_index: int, inputs: List[int], outputs: List[int], options: Optional[tuple] = None) -> Table:
    """Operator: opcode_index 0, inputs 1, outputs 2, builtin_options_type 3, builtin_options 4."""
    fields = [(0, "u32", opcode_index), (1, "obj", Vector("i32", inputs)), (2, "obj", Vector("i32", outputs))]
    if options is not None:
        fields += [(3, "u8", options[0]), (4, "obj", options[1])]
    return Table(tuple(fields))


def _buffer(data: bytes) -> Table:
    return Table(((0, "obj", Vector("u8", data, align=16)),))


class Graph:
    """One subgraph being written: add tensors and operators in order, then :meth:`model` gives the file."""

    def __init__(self, versions: Optional[Dict[int, int]] = None) -> None:
        """``versions``: operator versions other than 1 for this file (default :data:`OP_VERSIONS`)."""
        self.tensors: List[Table] = []
        self.buffers: List[Table] = [Table(())]
        self.operators: List[Table] = []
        self.codes: List[int] = []
        self.versions = OP_VERSIONS if versions is None else versions

    def tensor(self, name: str, shape: Sequence[int], ttype: int = FLOAT32, quant: Optional[Table] = None,
               data: Optional[bytes] = None, variable: bool = False) -> int:
        """A tensor (with a constant buffer when ``data`` is given, little-endian; ``variable``: a state the
        interpreter keeps between invocations, zero-initialised); returns its index."""
        buf = 0
        if data is not None:
            self.buffers.append(_buffer(data))
            buf = len(self.buffers) - 1
        self.tensors.append(_tensor(name, shape, ttype, buf, quant, variable))
        return len(self.tensors) - 1

    def constant(self, name: str, shape: Sequence[int], values: Sequence[float], ttype: int = FLOAT32) -> int:
        """A float32 (or int32) constant tensor."""
        return self.tensor(name, shape, ttype, data=le_bytes(array("f" if ttype == FLOAT32 else "i", values)))

    def op(self, code: int, inputs: List[int], outputs: List[int], options: Optional[tuple] = None) -> None:
        """An operator of builtin ``code`` (its operator code is added on first use)."""
        if code not in self.codes:
            self.codes.append(code)
        self.operators.append(_operator(self.codes.index(code), inputs, outputs, options))

    def apply(self, code: int, inputs: List[int], name: str, shape: Sequence[int], options: Optional[tuple] = None,
              ttype: int = FLOAT32, quant: Optional[Table] = None) -> int:
        """An operator with one new output tensor ``name``; returns that tensor's index."""
        out = self.tensor(name, shape, ttype, quant)
        self.op(code, inputs, [out], options)
        return out

    def model(self, inputs: Sequence[int], outputs: Sequence[int], input_names: Sequence[str] = ()) -> bytes:
        """The ``.tflite`` bytes: this subgraph with ``inputs``/``outputs`` (signature names ``input_names``, or
        ``input``/``output`` numbered from the second on)."""
        subgraph = Table(((0, "obj", self.tensors), (1, "obj", Vector("i32", list(inputs))),
                          (2, "obj", Vector("i32", list(outputs))), (3, "obj", self.operators), (4, "obj", "main")))
        opcodes = [Table(((0, "i8", min(c, 127)), (2, "i32", self.versions.get(c, 1)), (3, "i32", c)))
                   for c in self.codes]

        def names(base: str, indices: Sequence[int]) -> List[Table]:
            return [Table(((0, "obj", base if k == 0 else f"{base}_{k}"), (1, "u32", t)))
                    for k, t in enumerate(indices)]

        ins = ([Table(((0, "obj", n), (1, "u32", t))) for n, t in zip(input_names, inputs)] if input_names
               else names(INPUT_NAME, inputs))
        signature = Table(((0, "obj", ins), (1, "obj", names(OUTPUT_NAME, outputs)),
                           (2, "obj", SIGNATURE_KEY), (4, "u32", 0)))
        root = Table(((0, "u32", SCHEMA_VERSION), (1, "obj", opcodes), (2, "obj", [subgraph]),
                      (3, "obj", f"stingerml {__version__}"), (4, "obj", self.buffers), (7, "obj", [signature])))
        return serialize(root, b"TFL3")


def to_tflite(model: QuantizedNetwork) -> bytes:
    """The full-int8 ``.tflite`` bytes of a quantized network (see the module docstring)."""
    g = Graph()
    x = g.tensor(INPUT_NAME, [1, model.network.n_features], INT8,
                 _quant([model.input_scale], [model.input_zero_point]))
    last = len(model.layers) - 1
    for k, layer in enumerate(model.layers):
        name = OUTPUT_NAME if k == last and model.output == "linear" and not model.heads else f"dense{k}"
        x = fc_int8(g, f"dense{k}", layer, x, name)
    if model.heads:
        values = []
        for k, head in enumerate(model.heads):
            y = fc_int8(g, f"head{k}", head.layer, x, f"head{k}/logit")
            if head.activation != "linear":
                a = g.tensor(f"head{k}/value", [1, 1], INT8, _quant([head.output_scale], [head.output_zero_point]))
                g.op(LOGISTIC if head.activation == "sigmoid" else TANH, [y], [a])
                y = a
            f = g.tensor(f"head{k}/float", [1, 1])
            g.op(DEQUANTIZE, [y], [f])
            values.append(f)
        y = g.tensor(OUTPUT_NAME, [1, len(values)])
        g.op(CONCATENATION, values, [y], (CONCATENATION_OPTIONS, Table(((0, "i32", 1),))))
        return g.model([0], [y])
    if model.output != "linear":
        y = g.tensor(OUTPUT_NAME, [1, model.network.n_outputs], INT8,
                     _quant([model.output_scale], [model.output_zero_point]))
        _output_op(g, model.output, x, y)
        x = y
    return g.model([0], [x])


def fc_int8(g: Graph, prefix: str, layer, x: int, name: str) -> int:
    """An int8 FULLY_CONNECTED of ``layer`` reading ``x``; returns its output tensor ``name``."""
    zeros = [0] * len(layer.weight_scales)
    w = g.tensor(f"{prefix}/weights", [layer.n_out, layer.n_in], INT8, _quant(layer.weight_scales, zeros),
                 le_bytes(layer.weights))
    b = g.tensor(f"{prefix}/bias", [layer.n_out], INT32, _quant(layer.bias_scales, zeros), le_bytes(layer.bias))
    y = g.tensor(name, [1, layer.n_out], INT8, _quant([layer.output_scale], [layer.output_zero_point]))
    g.op(FULLY_CONNECTED, [x, w, b], [y], (FC_OPTIONS, Table(((0, "i8", RELU if layer.relu else NONE),))))
    return y


def _output_op(g: Graph, kind: str, x: int, y: int) -> None:
    if kind == "softmax":
        g.op(SOFTMAX, [x], [y], (SOFTMAX_OPTIONS, Table(((0, "f32", 1.0),))))
    else:
        g.op(LOGISTIC, [x], [y])


def _bounded_float(g: Graph, logits: int, acts: Sequence[str]) -> int:
    """LOGISTIC/TANH of ``logits`` ``[1, n]`` kept where the mask of that activation says (module docstring)."""
    n = len(acts)
    kinds = [(a, op) for a, op in (("sigmoid", LOGISTIC), ("tanh", TANH)) if a in acts]
    x = logits
    for k, (act, op) in enumerate(kinds):
        mask = g.tensor(f"{act}_mask", [n], BOOL, data=bytes(int(a == act) for a in acts))
        y = g.tensor(act, [1, n])
        g.op(op, [logits], [y])
        out = g.tensor(OUTPUT_NAME if k == len(kinds) - 1 else f"after_{act}", [1, n])
        g.op(SELECT_V2, [mask, y, x], [out])
        x = out
    return x


def hands21_ops(g: Graph, x: int, shape: Sequence[int]) -> int:
    """The ``hands21`` operators (module docstring) reading float ``x`` of ``shape`` (``[1, T × 63]``, a
    sequence model's ``[1, T, F]``: whole hands of 63 values); returns the output tensor (the same shape)."""
    t = frames(math.prod(shape))
    points = g.tensor("hands/points", [t, N_POINTS, 3])
    g.op(RESHAPE, [x, g.constant("hands/shape", [3], [-1, N_POINTS, 3], INT32)], [points])
    axis1 = (GATHER_OPTIONS, Table(((0, "i32", 1),)))
    wrist = g.tensor("hands/wrist", [t, 1, 3])
    g.op(GATHER, [points, g.constant("hands/wrist_index", [1], [WRIST], INT32)], [wrist], axis1)
    relative = g.tensor("hands/relative", [t, N_POINTS, 3])
    g.op(SUB, [points, wrist], [relative])
    mcp = g.tensor("hands/mcp", [t, 1, 3])
    g.op(GATHER, [relative, g.constant("hands/mcp_index", [1], [MIDDLE_MCP], INT32)], [mcp], axis1)
    squares = g.tensor("hands/squares", [t, 1, 3])
    g.op(MUL, [mcp, mcp], [squares])
    total = g.tensor("hands/sum", [t, 1, 1])
    g.op(SUM, [squares, g.constant("hands/axis", [1], [2], INT32)], [total],
         (REDUCER_OPTIONS, Table(((0, "bool", 1),))))
    span = g.tensor("hands/span", [t, 1, 1])
    g.op(SQRT, [total], [span])
    is_zero = g.tensor("hands/span_is_zero", [t, 1, 1], BOOL)
    g.op(EQUAL, [span, g.constant("hands/zero", [1], [0.0])], [is_zero])
    divisor = g.tensor("hands/divisor", [t, 1, 1])
    g.op(SELECT_V2, [is_zero, g.constant("hands/one", [1], [1.0]), span], [divisor])
    normalized = g.tensor("hands/normalized_points", [t, N_POINTS, 3])
    g.op(DIV, [relative, divisor], [normalized])
    out = g.tensor("hands/normalized", shape)
    g.op(RESHAPE, [normalized, g.constant("hands/row_shape", [len(shape)], [-1, *shape[1:]], INT32)], [out])
    return out


def to_tflite_float(net: DenseNetwork) -> bytes:
    """The float32 ``.tflite`` bytes of ``net``: raw input, preprocessing and scaler in the graph (module docstring).

    Raises:
        ExportError: non-finite weights or scaler values, or a scale ≤ 0.
    """
    check_network(net, "TFLite")
    g = Graph()
    x = g.tensor(INPUT_NAME, [1, net.n_features])
    if net.preprocess == HANDS21:
        x = hands21_ops(g, x, [1, net.n_features])
    if net.mean is not None:
        centered = g.tensor("centered", [1, net.n_features])
        g.op(SUB, [x, g.constant("scaler_mean", [net.n_features], net.mean)], [centered])
        x = g.tensor("scaled", [1, net.n_features])
        g.op(DIV, [centered, g.constant("scaler_scale", [net.n_features], net.scale)], [x])
    last = len(net.layers) - 1
    for k, layer in enumerate(net.layers):
        w = g.constant(f"dense{k}/weights", [layer.n_out, layer.n_in], layer.weights)
        b = g.constant(f"dense{k}/bias", [layer.n_out], layer.bias)
        name = OUTPUT_NAME if k == last and net.output == "linear" and not net.output_activation else f"dense{k}"
        y = g.tensor(name, [1, layer.n_out])
        g.op(FULLY_CONNECTED, [x, w, b], [y], (FC_OPTIONS, Table(((0, "i8", RELU if k < last else NONE),))))
        x = y
    if net.output_activation:
        x = _bounded_float(g, x, net.output_activation)
    elif net.output != "linear":
        y = g.tensor(OUTPUT_NAME, [1, net.n_outputs])
        _output_op(g, net.output, x, y)
        x = y
    return g.model([0], [x])


def write_tflite(model: QuantizedNetwork, path: Union[str, "os.PathLike[str]"]) -> None:
    """Write :func:`to_tflite` of ``model`` to ``path`` atomically."""
    write_bytes_atomic(path, to_tflite(model))
