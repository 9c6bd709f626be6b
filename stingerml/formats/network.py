"""The ``stingerml-network`` file: a :class:`~stingerml.core.dense.DenseNetwork` as JSON, float32-exact.

A UTF-8 JSON object (keys sorted, 1-space indent, trailing newline)::

    {"format": "stingerml-network", "version": 1,
     "output": "softmax" | "sigmoid" | "linear",
     "feature_names": [...], "classes": [...], "target_names": [...],
     "scaler": {"mean": B64, "scale": B64} or null,
     "layers": [{"n_in": I, "n_out": O, "weights": B64, "bias": B64}, ...],
     "metadata": {"key": "value", ...},
     "preprocess": "hands21",          (only when the model has a step, see stingerml.core.preprocess)
     "output_activation": ["linear", "sigmoid", "tanh", ...]}
                                       (only when a regression target is bounded: one word per target)

``B64`` is the base64 of little-endian IEEE float32 values; weights are
row-major ``[n_out][n_in]``. Every layer but the last is followed by ReLU.
Writing and reading give back the same network to the bit; the same network
always gives the same bytes.
"""
from __future__ import annotations

import base64
import binascii
import json
from array import array
from pathlib import Path
from typing import Any, Dict, Union

from ..core.atomic import write_bytes_atomic
from ..core.binary import le_array, le_bytes
from ..core.dense import DenseLayer, DenseNetwork
from ..core.errors import ModelFormatError
from ..core import jsonfile

FORMAT = "stingerml-network"
VERSION = 1


def _b64(values) -> str:
    return base64.b64encode(le_bytes(array("f", values))).decode("ascii")


def dumps(net: DenseNetwork) -> bytes:
    """The file's bytes for ``net``."""
    doc: Dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "output": net.output,
        "feature_names": list(net.feature_names),
        "classes": list(net.classes),
        "target_names": list(net.target_names),
        "scaler": None if net.mean is None else {"mean": _b64(net.mean), "scale": _b64(net.scale)},
        "layers": [{"n_in": layer.n_in, "n_out": layer.n_out, "weights": _b64(layer.weights), "bias": _b64(layer.bias)}
                   for layer in net.layers],
        "metadata": dict(net.metadata),
    }
    if net.preprocess:  # only when set: models without one keep their bytes
        doc["preprocess"] = net.preprocess
    if net.output_activation:  # likewise: only a network with a bounded target has it
        doc["output_activation"] = list(net.output_activation)
    return (json.dumps(doc, sort_keys=True, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def loads(data: bytes, source: str = "network") -> DenseNetwork:
    """Parse the bytes of a network file; ``source`` names it in errors.

    Raises:
        ModelFormatError: not JSON, another format or version, a missing key,
            bad base64, or arrays of the wrong length.
    """
    doc = jsonfile.loads(data, source, ModelFormatError, fix=f"give a {FORMAT} file stingerml wrote")
    if doc.get("format") != FORMAT:
        raise ModelFormatError(f"{source}: not a {FORMAT} file (no \"format\": \"{FORMAT}\")")
    if doc.get("version") != VERSION:
        raise ModelFormatError(f"{source}: {FORMAT} version {doc.get('version')!r}; this stingerml reads {VERSION}")

    def floats(text: Any, what: str) -> array:
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, TypeError, ValueError) as exc:
            raise ModelFormatError(f"{source}: {what} is not base64 ({exc})") from exc
        if len(raw) % 4:
            raise ModelFormatError(f"{source}: {what} holds {len(raw)} bytes, not whole float32 values")
        return le_array("f", raw)

    try:
        layers = tuple(
            DenseLayer(floats(L["weights"], f"layer {k} weights"), floats(L["bias"], f"layer {k} bias"),
                       int(L["n_in"]), int(L["n_out"]))
            for k, L in enumerate(doc["layers"]))
        scaler = doc["scaler"]
        mean = floats(scaler["mean"], "scaler mean") if scaler is not None else None
        scale = floats(scaler["scale"], "scaler scale") if scaler is not None else None
        return DenseNetwork(
            layers, doc["output"], mean, scale, tuple(doc["feature_names"]), tuple(doc["classes"]),
            tuple(doc["target_names"]), tuple(sorted((str(k), str(v)) for k, v in doc.get("metadata", {}).items())),
            str(doc.get("preprocess", "")), _activations(doc.get("output_activation", [])))
    except ModelFormatError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ModelFormatError(f"{source}: malformed {FORMAT} file ({type(exc).__name__}: {exc})") from exc


def _activations(value: Any) -> tuple:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"output_activation must be a list of words, not {str(value)[:60]}")
    return tuple(value)


def save(net: DenseNetwork, path: Union[str, Path]) -> None:
    """Write ``net`` to ``path`` atomically."""
    write_bytes_atomic(path, dumps(net))


def load(path: Union[str, Path]) -> DenseNetwork:
    """Read a network file."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ModelFormatError(f"{p}: cannot read the model ({exc.strerror or exc})") from exc
    return loads(data, str(p))
