"""Float32 TFLite of a sequence classifier (:class:`~stingerml.sequence.model.SequenceNetwork`).

One subgraph, signature ``serving_default``; inputs ``input`` ``[1, T, F]`` and ``mask``
``[1, T]`` float32 (``T``: the steps the model was trained on; 1 valid, valid steps
first), output ``output`` ``[1, C]`` softmax probabilities::

    input -> SUB(mean) -> DIV(scale)
    TCN:  -> RESHAPE [1, 1, T, F] -> per block l: PAD (left (k-1)·2**l steps) -> CONV_2D
             (filter [H, 1, k, C_in], VALID, dilation_w 2**l, fused RELU) -> ADD(residual: the
             block input, or block 0's 1×1 CONV_2D when F != H) -> RESHAPE [1, T, H]
    LSTM: -> UNIDIRECTIONAL_SEQUENCE_LSTM per layer (batch major, gates i, f, c, o, TANH;
             output and cell state as zero-initialised variable tensors) -> [1, T, H]
    pooling weights from the mask: mask / SUM(mask) (TCN avg) or mask - mask shifted one
    step left (the last valid step: TCN last, LSTM) -> BATCH_MATMUL [1, 1, T]·[1, T, H]
    -> RESHAPE [1, H] -> FULLY_CONNECTED(Wh, bh) -> SOFTMAX

Causal layers never read a step after the one they compute, so steps past a sample's
length cannot change the pooled value; they must hold finite numbers (zeros: a
``0·NaN`` in the pooling would be NaN). The TFLite LSTM has no sequence-length input:
padded steps are computed and then weighted 0.
"""
from __future__ import annotations

import struct
from array import array
from typing import List, Optional, Sequence

from ..core.binary import le_bytes
from .._version import __version__
from ._flatbuffers import Table, Vector, serialize
from .onnx_sequence import check_sequence_network

INPUT_NAME, MASK_NAME, OUTPUT_NAME = "input", "mask", "output"
SIGNATURE_KEY = "serving_default"

_FLOAT32, _INT32 = 0, 2
ADD, CONV_2D, FULLY_CONNECTED, RESHAPE, SOFTMAX, PAD, SUB, DIV = 0, 3, 9, 22, 25, 34, 41, 42
UNIDIRECTIONAL_SEQUENCE_LSTM, SLICE, SUM, BATCH_MATMUL = 44, 65, 74, 126
_OPTIONS = {CONV_2D: 1, FULLY_CONNECTED: 8, SOFTMAX: 9, ADD: 11, RESHAPE: 17, PAD: 22, SUM: 27, SUB: 28,
            DIV: 29, SLICE: 48, UNIDIRECTIONAL_SEQUENCE_LSTM: 71, BATCH_MATMUL: 101}
_VERSIONS = {CONV_2D: 2, UNIDIRECTIONAL_SEQUENCE_LSTM: 1}
_RELU, _TANH = 1, 4


class _Graph:
    """Tensors, buffers and operators of one subgraph, in the order they are added."""

    def __init__(self) -> None:
        self.tensors: List[Table] = []
        self.buffers: List[Table] = [Table(())]
        self.operators: List[Table] = []
        self.codes: List[int] = []

    def tensor(self, name: str, shape: Sequence[int], data: Optional[bytes] = None, ttype: int = _FLOAT32,
               variable: bool = False) -> int:
        """Tensor: shape 0, type 1, buffer 2, name 3, is_variable 5."""
        buf = 0
        if data is not None:
            self.buffers.append(Table(((0, "obj", Vector("u8", data, align=16)),)))
            buf = len(self.buffers) - 1
        fields = [(0, "obj", Vector("i32", list(shape))), (1, "i8", ttype), (2, "u32", buf), (3, "obj", name)]
        if variable:
            fields.append((5, "bool", 1))
        self.tensors.append(Table(tuple(fields)))
        return len(self.tensors) - 1

    def const(self, name: str, shape: Sequence[int], values: Sequence[float]) -> int:
        return self.tensor(name, shape, le_bytes(_f32(values)))

    def ints(self, name: str, values: Sequence[int], shape: Optional[Sequence[int]] = None) -> int:
        return self.tensor(name, shape or [len(values)], struct.pack(f"<{len(values)}i", *values), _INT32)

    def op(self, code: int, inputs: Sequence[int], output_name: str, shape: Sequence[int],
           options: Sequence[tuple] = ()) -> int:
        """Operator: opcode_index 0, inputs 1, outputs 2, builtin_options_type 3, builtin_options 4."""
        if code not in self.codes:
            self.codes.append(code)
        out = self.tensor(output_name, shape)
        self.operators.append(Table(((0, "u32", self.codes.index(code)), (1, "obj", Vector("i32", list(inputs))),
                                     (2, "obj", Vector("i32", [out])), (3, "u8", _OPTIONS[code]),
                                     (4, "obj", Table(tuple(options))))))
        return out


def _f32(values) -> array:
    return array("f", values)


def to_tflite_float(net) -> bytes:
    """The float32 ``.tflite`` bytes of a sequence network (module doc).

    Raises:
        ExportError: non-finite parameters or scaler values, or a scale <= 0.
    """
    check_sequence_network(net, "TFLite")
    T, F, H, C = net.n_steps, net.n_features, net.hidden, net.n_classes
    t = net.tensors()
    g = _Graph()
    x_in = g.tensor(INPUT_NAME, [1, T, F])
    mask = g.tensor(MASK_NAME, [1, T])
    x = g.op(SUB, [x_in, g.const("scaler_mean", [F], net.mean)], "centered", [1, T, F])
    x = g.op(DIV, [x, g.const("scaler_scale", [F], net.scale)], "scaled", [1, T, F])
    if net.architecture == "tcn":
        k = net.kernel_size
        a = g.op(RESHAPE, [x, g.ints("shape_nhwc_in", [1, 1, T, F])], "x_nhwc", [1, 1, T, F],
                 [(0, "obj", Vector("i32", [1, 1, T, F]))])
        for l in range(net.depth):
            d = 2 ** l
            n_in = F if l == 0 else H
            W = t[f"W{l}"][1]  # [H][n_in][k] -> TFLite OHWI [H][1][k][n_in]
            ohwi = [W[(o * n_in + c) * k + j] for o in range(H) for j in range(k) for c in range(n_in)]
            pads = g.ints(f"pads{l}", [0, 0, 0, 0, (k - 1) * d, 0, 0, 0], [4, 2])
            padded = g.op(PAD, [a, pads], f"padded{l}", [1, 1, T + (k - 1) * d, n_in])
            conv = g.op(CONV_2D, [padded, g.const(f"W{l}", [H, 1, k, n_in], ohwi), g.const(f"b{l}", [H], t[f"b{l}"][1])],
                        f"relu{l}", [1, 1, T, H],
                        [(0, "i8", 1), (1, "i32", 1), (2, "i32", 1), (3, "i8", _RELU), (4, "i32", d), (5, "i32", 1)])
            res = a
            if l == 0 and F != H:
                res = g.op(CONV_2D, [a, g.const("Ws", [H, 1, 1, F], t["Ws"][1]), g.const("bs", [H], t["bs"][1])],
                           "skip0", [1, 1, T, H], [(0, "i8", 1), (1, "i32", 1), (2, "i32", 1)])
            a = g.op(ADD, [conv, res], f"block{l}", [1, 1, T, H])
        seq = g.op(RESHAPE, [a, g.ints("shape_nth", [1, T, H])], "features", [1, T, H],
                   [(0, "obj", Vector("i32", [1, T, H]))])
        pooling = net.pooling
    else:
        seq = x
        for l in range(net.depth):
            n_in = F if l == 0 else H
            W, R, b = t[f"W{l}"][1], t[f"R{l}"][1], t[f"b{l}"][1]
            ins = [seq]
            ins += [g.const(f"W{l}_{gate}", [H, n_in], W[q * H * n_in:(q + 1) * H * n_in]) for q, gate in enumerate("ifco")]
            ins += [g.const(f"R{l}_{gate}", [H, H], R[q * H * H:(q + 1) * H * H]) for q, gate in enumerate("ifco")]
            ins += [-1, -1, -1]
            ins += [g.const(f"b{l}_{gate}", [H], b[q * H:(q + 1) * H]) for q, gate in enumerate("ifco")]
            ins += [-1, -1]
            ins += [g.tensor(f"lstm{l}_output_state", [1, H], variable=True),
                    g.tensor(f"lstm{l}_cell_state", [1, H], variable=True)]
            ins += [-1, -1, -1, -1]
            seq = g.op(UNIDIRECTIONAL_SEQUENCE_LSTM, ins, f"lstm{l}", [1, T, H],
                       [(0, "i8", _TANH), (1, "f32", 0.0), (2, "f32", 0.0), (3, "bool", 0)])
        pooling = "last"
    if pooling == "avg":
        count = g.op(SUM, [mask, g.ints("axis_steps", [1])], "mask_count", [1, 1], [(0, "bool", 1)])
        weights = g.op(DIV, [mask, count], "pool_weights", [1, T])
    else:
        tail = g.op(SLICE, [mask, g.ints("slice_begin", [0, 1]), g.ints("slice_size", [1, T - 1])], "mask_tail",
                    [1, T - 1])
        pads = g.ints("pads_next", [0, 0, 0, 1], [2, 2])
        nxt = g.op(PAD, [tail, pads], "mask_next", [1, T])
        weights = g.op(SUB, [mask, nxt], "pool_weights", [1, T])
    w3 = g.op(RESHAPE, [weights, g.ints("shape_n1t", [1, 1, T])], "pool_weights3", [1, 1, T],
              [(0, "obj", Vector("i32", [1, 1, T]))])
    pooled3 = g.op(BATCH_MATMUL, [w3, seq], "pooled3", [1, 1, H], [(0, "bool", 0), (1, "bool", 0)])
    pooled = g.op(RESHAPE, [pooled3, g.ints("shape_nh", [1, H])], "pooled", [1, H],
                  [(0, "obj", Vector("i32", [1, H]))])
    logits = g.op(FULLY_CONNECTED, [pooled, g.const("Wh", [C, H], t["Wh"][1]), g.const("bh", [C], t["bh"][1])],
                  "logits", [1, C], [(0, "i8", 0)])
    out = g.op(SOFTMAX, [logits], OUTPUT_NAME, [1, C], [(0, "f32", 1.0)])
    subgraph = Table(((0, "obj", g.tensors), (1, "obj", Vector("i32", [x_in, mask])), (2, "obj", Vector("i32", [out])),
                      (3, "obj", g.operators), (4, "obj", "main")))
    opcodes = [Table(((0, "i8", min(c, 127)), (2, "i32", _VERSIONS.get(c, 1)), (3, "i32", c))) for c in g.codes]
    signature = Table((
        (0, "obj", [Table(((0, "obj", INPUT_NAME), (1, "u32", x_in))), Table(((0, "obj", MASK_NAME), (1, "u32", mask)))]),
        (1, "obj", [Table(((0, "obj", OUTPUT_NAME), (1, "u32", out)))]),
        (2, "obj", SIGNATURE_KEY), (4, "u32", 0)))
    root = Table(((0, "u32", 3), (1, "obj", opcodes), (2, "obj", [subgraph]),
                  (3, "obj", f"stingerml {__version__}"), (4, "obj", g.buffers), (7, "obj", [signature])))
    return serialize(root, b"TFL3")

