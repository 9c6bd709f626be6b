"""A trained sequence classifier as plain data, and its file (``stingerml-sequence`` JSON).

:class:`SequenceNetwork` is what the sequence model writers read (like
:class:`~stingerml.core.dense.DenseNetwork` for the MLPs): the architecture, the float32
parameters in the kernels' layout (:func:`stingerml._kernels.sequence_pure.layout`),
the feature scaler and the class names. The file::

    {"format": "stingerml-sequence", "version": 1, "architecture": "tcn" | "lstm",
     "n_features": F, "hidden": H, "depth": D, "kernel_size": k, "pooling": "avg" | "last",
     "n_steps": T, "classes": [...], "feature_names": [...],
     "preprocess": "hands21",          (only when the model has a step: stingerml.core.preprocess)
     "scaler": {"mean": B64, "scale": B64}, "params": B64}

``B64``: base64 of little-endian float32 values. Keys sorted; writing and reading give
back the same network to the bit.
"""
from __future__ import annotations

import base64
import binascii
import json
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple, Union

from ..core import jsonfile, preprocess as steps
from ..core.atomic import write_bytes_atomic
from ..core.binary import le_array, le_bytes
from .._kernels import kernels
from .._kernels.sequence_pure import layout, make_spec, n_params
from ..core.errors import ModelFormatError, SequenceDataError
from ..core.matrix import Matrix
from .data import Sequences

FORMAT = "stingerml-sequence"
VERSION = 1
ARCHITECTURES = ("tcn", "lstm")
POOLINGS = ("avg", "last")


@dataclass(frozen=True)
class SequenceNetwork:
    """A trained TCN or LSTM classifier (float32 parameters; see the module doc).

    ``params``: flat float32 in the kernels' layout; ``mean``/``scale``: the per-feature
    scaler, ``(x - mean) / scale``, applied to valid steps; ``n_steps``: the padded length
    it was trained on (a default for exports; any length works); ``preprocess``: a named step of
    :mod:`stingerml.core.preprocess` applied to each raw step before the scaler (``""``: none;
    ``hands21``: each step's 63 values, or each 63-value hand of a step, wrist-centred and scaled).
    """

    architecture: str
    n_features: int
    hidden: int
    depth: int
    kernel_size: int
    pooling: str
    n_steps: int
    classes: Tuple[str, ...]
    params: array
    mean: array
    scale: array
    feature_names: Tuple[str, ...] = ()
    preprocess: str = ""

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def spec(self) -> array:
        return make_spec(self.architecture, self.n_features, self.hidden, self.n_classes, self.depth,
                         self.kernel_size, self.pooling)

    def tensors(self) -> Dict[str, Tuple[Tuple[int, ...], List[float]]]:
        """Every parameter tensor by name (``W0``, ``b0``, ..., ``Wh``, ``bh``): ``(shape, float32 values)``."""
        out = {}
        for name, off, shape in layout(self.spec):
            size = 1
            for d in shape:
                size *= d
            out[name] = (shape, list(self.params[off:off + size]))
        return out

    def scaled(self, X: Sequences) -> array:
        """``X``'s valid steps scaled, padding set to 0 (float64, flat like ``X.data``)."""
        if X.n_features != self.n_features:
            raise SequenceDataError(f"the model takes {self.n_features} features per step, the data has "
                                    f"{X.n_features}")
        return scale_steps(preprocess_steps(X, self.preprocess), self.mean, self.scale)

    def predict_proba(self, X: Sequences) -> Matrix:
        """``N × C`` class probabilities (float64 from the float32 parameters; the active backend)."""
        X.check_finite("predict")
        probs, _ = kernels("sequence").forward(array("d", self.params), self.spec, self.scaled(X), X.lengths,
                                               X.n_steps, X.n_samples)
        return Matrix(probs, self.n_classes)


def preprocess_steps(X: Sequences, name: str) -> Sequences:
    """``X`` with the step ``name`` (:mod:`stingerml.core.preprocess`) applied to every step's features,
    padding included (the scaler zeroes it); ``X`` itself for ``""``."""
    if not name:
        return X
    return Sequences(array("d", steps.apply_steps(name, X.data, X.n_features)), X.n_steps, X.n_features, X.lengths)


def scale_steps(X: Sequences, mean: Sequence[float], scale: Sequence[float]) -> array:
    """``(x - mean[f]) / scale[f]`` on every valid step (float64), 0 on padding."""
    F, T = X.n_features, X.n_steps
    out = array("d", bytes(8 * len(X.data)))
    m = [float(v) for v in mean]
    s = [float(v) for v in scale]
    for n, L in enumerate(X.lengths):
        base = n * T * F
        for i in range(L * F):
            f = i % F
            out[base + i] = (X.data[base + i] - m[f]) / s[f]
    return out


def _b64(values) -> str:
    return base64.b64encode(le_bytes(array("f", values))).decode("ascii")


def dumps(net: SequenceNetwork) -> bytes:
    """The file's bytes for ``net``."""
    doc: Dict[str, Any] = {
        "format": FORMAT, "version": VERSION, "architecture": net.architecture, "n_features": net.n_features,
        "hidden": net.hidden, "depth": net.depth, "kernel_size": net.kernel_size, "pooling": net.pooling,
        "n_steps": net.n_steps, "classes": list(net.classes), "feature_names": list(net.feature_names),
        "scaler": {"mean": _b64(net.mean), "scale": _b64(net.scale)}, "params": _b64(net.params),
    }
    if net.preprocess:  # only when set: models without one keep their bytes
        doc["preprocess"] = net.preprocess
    return (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode("utf-8")


def loads(data: bytes, source: str = "<bytes>") -> SequenceNetwork:
    """Parse a ``stingerml-sequence`` file (ModelFormatError naming ``source`` when it is not one)."""
    doc = jsonfile.loads(data, source, ModelFormatError, fix=f"give a {FORMAT} file stingerml wrote")
    try:
        if doc.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} file")
        if doc.get("version") != VERSION:
            raise ValueError(f"version {doc.get('version')!r}; this stingerml reads version {VERSION}")

        def floats(text: str) -> array:
            return le_array("f", base64.b64decode(text.encode("ascii"), validate=True))

        net = SequenceNetwork(
            str(doc["architecture"]), int(doc["n_features"]), int(doc["hidden"]), int(doc["depth"]),
            int(doc["kernel_size"]), str(doc["pooling"]), int(doc["n_steps"]), tuple(map(str, doc["classes"])),
            floats(doc["params"]), floats(doc["scaler"]["mean"]), floats(doc["scaler"]["scale"]),
            tuple(map(str, doc["feature_names"])), str(doc.get("preprocess", "")))
        steps.check(net.preprocess, net.n_features)
        if net.architecture not in ARCHITECTURES or net.pooling not in POOLINGS:
            raise ValueError(f"architecture {net.architecture!r} / pooling {net.pooling!r} unknown")
        if min(net.n_features, net.hidden, net.depth, net.kernel_size, net.n_classes - 1) < 1:
            raise ValueError("sizes must be positive and there must be 2 or more classes")
        if len(net.params) != n_params(net.spec) or len(net.mean) != net.n_features or len(net.scale) != net.n_features:
            raise ValueError("the parameter or scaler sizes do not fit the architecture")
        return net
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, AttributeError, binascii.Error) as exc:
        raise ModelFormatError(f"{source}: not a readable {FORMAT} model ({exc}); "
                               "give the output/model.json of a 'stingerml seq train' run") from None


def save(net: SequenceNetwork, path: Union[str, Path]) -> None:
    """Write ``net`` atomically."""
    write_bytes_atomic(Path(path), dumps(net))


def load(path: Union[str, Path]) -> SequenceNetwork:
    """Read a model file."""
    return loads(Path(path).read_bytes(), str(path))
