"""Full-int8 TFLite from a :class:`~stingerml.deploy.quantize.QuantizedNetwork`, written with the standard library.

One subgraph ``main`` with one ``serving_default`` signature (input ``input``,
output ``output``)::

    input  int8 [1, n_features]   (scaled features, quantized with the input scale/zero point)
      -> FULLY_CONNECTED (v4, int8 weights, int32 bias, fused ReLU) -> ...
      -> FULLY_CONNECTED (v4, no activation)
      -> SOFTMAX (v2, beta 1) | LOGISTIC (v2) | nothing (linear)
    output int8 [1, n_outputs]    (softmax/sigmoid: scale 1/256, zero point -128)

The network's scaler is not in the file (an int8 input cannot hold raw
features of very different ranges); apply it first, see
:meth:`~stingerml.deploy.quantize.QuantizedNetwork.quantize_input` and
``QuantizedNetwork.to_dict()`` for ``meta.json``. Buffers are aligned to 16
bytes; ``buffers[0]`` is the empty sentinel every activation tensor points to.
"""
from __future__ import annotations

import os
from typing import List, Optional, Sequence, Union

from .._version import __version__
from ..core.atomic import write_bytes_atomic
from ..core.binary import le_bytes
from ..core.quantized import QuantizedNetwork
from ._flatbuffers import Table, Vector, serialize

SCHEMA_VERSION = 3
INPUT_NAME = "input"
OUTPUT_NAME = "output"
SIGNATURE_KEY = "serving_default"

# schema.fbs enums
_INT8, _INT32 = 9, 2  # TensorType
FULLY_CONNECTED, LOGISTIC, SOFTMAX = 9, 14, 25  # BuiltinOperator
_OP_VERSIONS = {FULLY_CONNECTED: 4, SOFTMAX: 2, LOGISTIC: 2}
_FC_OPTIONS, _SOFTMAX_OPTIONS = 8, 9  # BuiltinOptions union types
_RELU, _NONE = 1, 0  # ActivationFunctionType


def _quant(scales: Sequence[float], zero_points: Sequence[int]) -> Table:
    """QuantizationParameters: scale 2, zero_point 3, quantized_dimension 6 (axis 0)."""
    return Table(((2, "obj", Vector("f32", list(scales))), (3, "obj", Vector("i64", list(zero_points))),
                  (6, "i32", 0)))


def _tensor(name: str, shape: Sequence[int], ttype: int, buffer: int, quant: Table) -> Table:
    """Tensor: shape 0, type 1, buffer 2, name 3, quantization 4."""
    return Table(((0, "obj", Vector("i32", list(shape))), (1, "i8", ttype), (2, "u32", buffer), (3, "obj", name),
                  (4, "obj", quant)))


def _operator(opcode_index: int, inputs: List[int], outputs: List[int], options: Optional[tuple] = None) -> Table:
    """Operator: opcode_index 0, inputs 1, outputs 2, builtin_options_type 3, builtin_options 4."""
    fields = [(0, "u32", opcode_index), (1, "obj", Vector("i32", inputs)), (2, "obj", Vector("i32", outputs))]
    if options is not None:
        fields += [(3, "u8", options[0]), (4, "obj", options[1])]
    return Table(tuple(fields))


def _buffer(data: bytes) -> Table:
    return Table(((0, "obj", Vector("u8", data, align=16)),))


def to_tflite(model: QuantizedNetwork) -> bytes:
    """The ``.tflite`` bytes of a quantized network (see the module docstring)."""
    tensors: List[Table] = []
    buffers: List[Table] = [Table(())]
    operators: List[Table] = []
    codes = [FULLY_CONNECTED]
    if model.output != "linear":
        codes.append(SOFTMAX if model.output == "softmax" else LOGISTIC)

    def add_tensor(name: str, shape: Sequence[int], ttype: int, quant: Table, data: Optional[bytes] = None) -> int:
        buf = 0
        if data is not None:
            buffers.append(_buffer(data))
            buf = len(buffers) - 1
        tensors.append(_tensor(name, shape, ttype, buf, quant))
        return len(tensors) - 1

    x = add_tensor(INPUT_NAME, [1, model.network.n_features], _INT8,
                   _quant([model.input_scale], [model.input_zero_point]))
    last = len(model.layers) - 1
    for k, layer in enumerate(model.layers):
        zeros = [0] * len(layer.weight_scales)
        w = add_tensor(f"dense{k}/weights", [layer.n_out, layer.n_in], _INT8,
                       _quant(layer.weight_scales, zeros), le_bytes(layer.weights))
        b = add_tensor(f"dense{k}/bias", [layer.n_out], _INT32, _quant(layer.bias_scales, zeros),
                       le_bytes(layer.bias))
        name = OUTPUT_NAME if k == last and model.output == "linear" else f"dense{k}"
        y = add_tensor(name, [1, layer.n_out], _INT8, _quant([layer.output_scale], [layer.output_zero_point]))
        options = Table(((0, "i8", _RELU if layer.relu else _NONE),))
        operators.append(_operator(0, [x, w, b], [y], (_FC_OPTIONS, options)))
        x = y
    if model.output != "linear":
        y = add_tensor(OUTPUT_NAME, [1, model.network.n_outputs], _INT8,
                       _quant([model.output_scale], [model.output_zero_point]))
        options = (_SOFTMAX_OPTIONS, Table(((0, "f32", 1.0),))) if model.output == "softmax" else None
        operators.append(_operator(1, [x], [y], options))
        x = y
    subgraph = Table(((0, "obj", tensors), (1, "obj", Vector("i32", [0])), (2, "obj", Vector("i32", [x])),
                      (3, "obj", operators), (4, "obj", "main")))
    opcodes = [Table(((0, "i8", c), (2, "i32", _OP_VERSIONS[c]), (3, "i32", c))) for c in codes]
    signature = Table((
        (0, "obj", [Table(((0, "obj", INPUT_NAME), (1, "u32", 0)))]),
        (1, "obj", [Table(((0, "obj", OUTPUT_NAME), (1, "u32", x)))]),
        (2, "obj", SIGNATURE_KEY), (4, "u32", 0)))
    root = Table(((0, "u32", SCHEMA_VERSION), (1, "obj", opcodes), (2, "obj", [subgraph]),
                  (3, "obj", f"stingerml {__version__}"), (4, "obj", buffers), (7, "obj", [signature])))
    return serialize(root, b"TFL3")


def write_tflite(model: QuantizedNetwork, path: Union[str, "os.PathLike[str]"]) -> None:
    """Write :func:`to_tflite` of ``model`` to ``path`` atomically."""
    write_bytes_atomic(path, to_tflite(model))
