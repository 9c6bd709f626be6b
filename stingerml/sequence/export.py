"""The export of a sequence run: ``model.onnx``, ``model.tflite`` (float32) and ``meta.json`` as one set.

``meta.json`` states what a device needs: the input layout, how the mask is given and
used, the steps the model was trained on, the classes, and the run's own ``info``.
"""
from __future__ import annotations

import json
from typing import Any, Dict, Optional

from ..formats.onnx_sequence import INPUT_NAME, MASK_NAME, OUTPUT_NAME, to_onnx
from ..formats.tflite_sequence import to_tflite_float
from .model import SequenceNetwork

ONNX_FILE, TFLITE_FILE, META_FILE = "model.onnx", "model.tflite", "meta.json"


def device_contract(net: SequenceNetwork) -> Dict[str, Any]:
    """The ``deployment`` part of ``meta.json``: inputs, mask handling, output."""
    return {
        "onnx": {
            "file": ONNX_FILE, "opset": 13,
            "inputs": {
                INPUT_NAME: {"shape": ["N", "T", net.n_features], "dtype": "float32",
                             "layout": "batch, step, feature (features of a step flattened in C order, e.g. "
                                       "21 landmarks x (x, y, z) -> 63)",
                             "preprocessing": "none: the scaler (x - mean) / scale is inside the model"},
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
        "tflite": {
            "file": TFLITE_FILE, "type": "float32", "signature": "serving_default",
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
        },
        "scaler": {"mean": [float(v) for v in net.mean], "scale": [float(v) for v in net.scale]},
    }


def export_sequence(net: SequenceNetwork, info: Optional[Dict[str, Any]] = None) -> Dict[str, bytes]:
    """``{"model.onnx": ..., "meta.json": ...}`` for ``net``; ``info`` is merged into ``meta.json``."""
    meta = dict(info or {})
    meta["deployment"] = device_contract(net)
    return {ONNX_FILE: to_onnx(net), TFLITE_FILE: to_tflite_float(net),
            META_FILE: (json.dumps(meta, indent=2, sort_keys=True, allow_nan=False) + "\n").encode("utf-8")}
