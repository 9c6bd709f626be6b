"""What the ONNX and TFLite writers share: the values they refuse and the metadata they store (both read a
:class:`~stingerml.core.dense.DenseNetwork`)."""
from __future__ import annotations

import json
import math
from typing import List, Sequence, Tuple

from ..core.dense import DenseNetwork
from ..core.errors import ExportError


def _first_bad(values: Sequence[float]) -> int:
    return next((i for i, v in enumerate(values) if not math.isfinite(v)), -1)


def check_network(net: DenseNetwork, fmt: str) -> None:
    """Raise :class:`ExportError` unless every weight, bias and scaler value is finite and every scale
    is > 0 (the shapes are :class:`~stingerml.core.dense.DenseNetwork`'s own checks)."""
    for k, layer in enumerate(net.layers):
        for name, values in (("weights", layer.weights), ("bias", layer.bias)):
            i = _first_bad(values)
            if i >= 0:
                raise ExportError(f"{fmt}: layer {k} {name}[{i}] is {values[i]}; retrain or fix the model "
                                  "(only finite weights can be exported)")
    if net.mean is not None:
        for name, values in (("mean", net.mean), ("scale", net.scale)):
            i = _first_bad(values)
            if i >= 0:
                raise ExportError(f"{fmt}: scaler {name}[{i}] is {values[i]}; only finite values can be exported")
        i = next((i for i, s in enumerate(net.scale) if not s > 0.0), -1)
        if i >= 0:
            raise ExportError(f"{fmt}: scaler scale[{i}] is {net.scale[i]}; a scale must be > 0")


def json_floats(values: Sequence[float]) -> str:
    """A JSON list of float32 values, each written as the shortest decimal of its double value."""
    return json.dumps([float(v) for v in values])


def metadata(net: DenseNetwork, version: str, extra: Sequence[Tuple[str, str]] = ()) -> List[Tuple[str, str]]:
    """Key/value pairs describing ``net`` (JSON values), then ``extra``, then ``net.metadata``."""
    pairs = [
        ("producer", "stingerml"),
        ("stingerml_version", version),
        ("output", net.output),
        ("feature_names", json.dumps(list(net.feature_names))),
        ("classes", json.dumps(list(net.classes))),
        ("target_names", json.dumps(list(net.target_names))),
    ]
    if net.output_activation:
        pairs.append(("output_activation", json.dumps(list(net.output_activation))))
    if net.mean is not None:
        pairs += [("scaler_mean", json_floats(net.mean)), ("scaler_scale", json_floats(net.scale))]
    return pairs + list(extra) + list(net.metadata)
