"""The export of a sequence run: ``model.onnx``, the TFLite files and ``meta.json`` as one set.

The TFLite files follow ``stingerml tabular``'s names and ``--tflite-kind`` kinds: ``int8`` writes
the full-int8 ``model.tflite`` (the TCN only; calibrated on representative training samples,
:mod:`.quantize`), ``float`` the float32 ``model_float32.tflite``, ``both`` both. ``meta.json``
states what a device needs: the input layout, how the mask is given and used, the steps
the model was trained on, the quantization parameters, the classes, and the run's own ``info``.
"""
from __future__ import annotations

import json
from typing import Any, Dict, Optional

from ..core.errors import ExportError
from ..core.quantized_tcn import QuantizedTCN
from ..deploy.export import FLOAT_QUANTIZATION, META_FILE, ONNX_FILE, TFLITE_FILE, TFLITE_FLOAT_FILE, TFLITE_KINDS
from ..formats.onnx_sequence import INPUT_NAME, MASK_NAME, OUTPUT_NAME, to_onnx
from ..formats.tflite_sequence import to_tflite_float, to_tflite_int8
from .model import SequenceNetwork


def default_tflite(architecture: str) -> str:
    """The ``--tflite-kind`` kind a run writes when none is given: ``int8`` for the TCN (as ``tabular``),
    ``float`` for the LSTM (it has no int8 form)."""
    return "int8" if architecture == "tcn" else "float"


def check_tflite(architecture: str, kind: str) -> None:
    """ExportError unless ``kind`` is one of :data:`TFLITE_KINDS` that ``architecture`` can be written as."""
    if kind not in TFLITE_KINDS:
        raise ExportError(f"unknown TFLite kind {kind!r}; choose one of {', '.join(TFLITE_KINDS)}")
    if architecture != "tcn" and kind != "float":
        raise ExportError(f"--tflite-kind {kind}: only the TCN has an int8 TFLite; give --tflite-kind float for the LSTM")


def device_contract(net: SequenceNetwork, quantized: Optional[QuantizedTCN] = None,
                    tflite: str = "float") -> Dict[str, Any]:
    """The ``deployment`` part of ``meta.json``: for each file, its inputs, mask handling and output."""
    out: Dict[str, Any] = {
        "onnx": {
            "file": ONNX_FILE, "opset": 13,
            "inputs": {
                INPUT_NAME: {"shape": ["N", "T", net.n_features], "dtype": "float32",
                             "layout": "batch, step, feature (features of a step flattened in C order, e.g. "
                                       "21 landmarks x (x, y, z) -> 63)",
                             "preprocessing": (f"none: {net.preprocess} on each step, then the scaler "
                                               "(x - mean) / scale, are inside the model" if net.preprocess else
                                               "none: the scaler (x - mean) / scale is inside the model")},
                MASK_NAME: {"shape": ["N", "T"], "dtype": "float32",
                            "meaning": "1 for each valid step, 0 for padding; valid steps first, then padding "
                                       "(pad at the end); at least one valid step",
                            "handling": "padding is zeroed and never read: its content cannot change the output"},
            },
            "output": {OUTPUT_NAME: {"shape": ["N", net.n_classes], "dtype": "float32",
                                     "meaning": "softmax probabilities in the order of labels.mapping"}},
            "steps_trained": net.n_steps,
            "any_length": True,
        },
        "scaler": {"mean": [float(v) for v in net.mean], "scale": [float(v) for v in net.scale]},
    }
    if tflite in ("float", "both"):
        out["tflite_float"] = {
            "file": TFLITE_FLOAT_FILE, "type": "float32", "signature": "serving_default",
            "inputs": {INPUT_NAME: {"shape": [1, net.n_steps, net.n_features], "dtype": "float32",
                                    "layout": "as the ONNX input, one sample, exactly steps_trained steps"},
                       MASK_NAME: {"shape": [1, net.n_steps], "dtype": "float32",
                                   "meaning": "as the ONNX mask"}},
            "output": {OUTPUT_NAME: {"shape": [1, net.n_classes], "dtype": "float32"}},
            "padding": "must hold finite numbers (zeros recommended); it cannot change the output",
            "mask_handling": ("the pooling weights come from the mask inside the model (TCN: mean of the valid "
                              "steps or the last valid step; LSTM: the last valid step; padded steps are computed "
                              "and weighted 0)"),
            "state": ("reset the interpreter's variable tensors before each sample "
                      "(Interpreter.reset_all_variables(); TFLite Micro: ResetVariableTensors()): the LSTM's "
                      "output and cell states are variable tensors that otherwise carry over between invocations"
                      if net.architecture == "lstm" else "none: each invocation is independent"),
        }
    if quantized is not None:
        q = quantized.to_dict()
        out["tflite"] = {
            "file": TFLITE_FILE, "type": "int8", "signature": "serving_default",
            "inputs": {INPUT_NAME: {**q["input"], "layout": "as the ONNX input, one sample, exactly "
                                                            "steps_trained steps, each feature scaled then "
                                                            "quantized (quantize_input)"},
                       MASK_NAME: {**q["mask"], "meaning": "as the ONNX mask, as int8 (1 valid, 0 padding)"}},
            "output": {OUTPUT_NAME: q["output"]},
            "quantize_input": q["quantize_input"],
            "dequantize_output": q["dequantize_output"],
            "padding": "any int8 values (input zero point recommended): the pooling weights them 0 in int32",
            "mask_handling": ("inside the model, in int32: CAST, pooling weights from the mask (avg: the mask; "
                              "last: the mask minus the mask one step later), SUM over steps; avg: "
                              "FLOOR_DIV(2·sum + L, 2·L), L = SUM(mask); the pooled vector keeps the last block's "
                              "scale and zero point"),
            "operators": ["RESHAPE", "PAD", "CONV_2D (v3, per-channel)", "ADD", "CAST", "SUB", "MUL", "SUM",
                          "SLICE" if net.pooling == "last" else "FLOOR_DIV", "FULLY_CONNECTED", "SOFTMAX"],
            "state": "none: each invocation is independent",
        }
    return out


def export_sequence(net: SequenceNetwork, info: Optional[Dict[str, Any]] = None, *, tflite: str = "float",
                    quantized: Optional[QuantizedTCN] = None) -> Dict[str, bytes]:
    """``{file name: bytes}`` of ``net``'s export; ``info`` is merged into ``meta.json``.

    ``tflite``: ``int8`` (``model.tflite`` of ``quantized``, :func:`.quantize.quantize_tcn` of ``net``),
    ``float`` (``model_float32.tflite``) or ``both``.

    Raises:
        ExportError: a kind the architecture cannot be written as, or int8 without ``quantized``.
    """
    check_tflite(net.architecture, tflite)
    if tflite == "float":
        quantized = None
    elif quantized is None:
        raise ExportError("int8 TFLite: no quantized model given; quantize the network first (quantize_tcn)")
    meta = dict(info or {})
    meta["deployment"] = device_contract(net, quantized, tflite)
    # the float32 TFLite as the only one (the LSTM, or --tflite-kind float): CrowdMind's keys still there, as tabular's
    meta["quantization"] = dict(FLOAT_QUANTIZATION) if quantized is None else quantized.to_dict()
    files = {ONNX_FILE: to_onnx(net)}
    if quantized is not None:
        files[TFLITE_FILE] = to_tflite_int8(quantized)
    if tflite in ("float", "both"):
        files[TFLITE_FLOAT_FILE] = to_tflite_float(net)
    files[META_FILE] = (json.dumps(meta, indent=2, sort_keys=True, allow_nan=False) + "\n").encode("utf-8")
    return files
