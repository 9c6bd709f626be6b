"""A trained model as an object an app calls: class distribution, top-k, one prediction, the label map;
for a regression model the target values.

    from stingerml.tabular.predictor import Predictor
    p = Predictor.load("runs/run_...")            # a run folder, its output/, a model.json, an export-model -o folder
    p.distribution(row)      # [{"label": "A", "confidence": 0.85}, ...] highest first
    p.top_k(row, 3); p.predict_one(row); p.label_map(); p.info()
    p.values(row)            # regression: {"alpha": 0.42, ...}, bounded targets within their range

A row is the model's raw input: its feature values in order (63 numbers for a
hand, ``T × 63`` for ``T`` frames, also nested: 21 ``[x, y, z]`` points, or ``T``
frames of them), or, for a model with one-hot columns,
the raw column values in ``info()["columns"]`` order (text for a text column)
or a mapping ``{column: value}``. The model's own steps (one-hot, ``hands21``,
the scaler) are applied here, as in ``tabular predict``. Probabilities come
from the active backend's kernel (numba: the same bits, and fast enough for a
camera loop; see ``benchmarks/predictor.py``).
"""
from __future__ import annotations

from array import array
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from .._kernels import kernels
from ..core import jsonfile
from ..core.dense import DenseNetwork
from ..core.errors import ModelFormatError, TabularDataError
from ..formats import network as network_format
from ..core.preprocess import apply_row
from ..deploy.export import EXPORT_FILES, NETWORK_FILE
from .categorical import network_encoding
from .estimator import network_params

PathLike = Union[str, Path]
Row = Union[Sequence[Any], Mapping[str, Any]]


def _flat(x: Sequence[Any]) -> List[float]:
    """The numbers of a row, nested lists/tuples (points, frames of points) flattened in order."""
    return [v for item in x for v in (_flat(item) if isinstance(item, (list, tuple)) else (float(item),))]


class Predictor:
    """A network ready for one-row calls (see the module docstring)."""

    def __init__(self, net: DenseNetwork, meta: Optional[Dict[str, Any]] = None, source: str = "") -> None:
        self.network = net
        self.meta = meta or {}
        self.source = source
        self._encoding = network_encoding(net, source or "the model")
        self._params, self._sizes = network_params(net)
        self._mean = None if net.mean is None else [float(v) for v in net.mean]
        self._scale = None if net.scale is None else [float(v) for v in net.scale]
        self._forward = kernels("tabular").forward

    @classmethod
    def load(cls, path: PathLike) -> "Predictor":
        """From a run folder (``output/model.json``), an ``output/`` folder, a folder ``export-model -o``
        wrote (its ``model.json``; also given as one of its files: ``model.onnx``, ``meta.json``, ...), or a
        ``stingerml-network`` file (``model.json``, ``checkpoints/best_model.json``); ``meta.json`` beside it
        is read when present."""
        p = Path(path)
        if p.is_dir():
            p = p / "output" / NETWORK_FILE if (p / "output" / NETWORK_FILE).exists() else p / NETWORK_FILE
        elif p.name in EXPORT_FILES:  # a file of an exported set: the network it was made from is beside it
            p = p.parent / NETWORK_FILE
        if not p.exists():
            raise ModelFormatError(f"{path}: no model here; give a run folder, its output/ folder, a folder "
                                   "export-model -o wrote from a model.json or checkpoint, or a model.json")
        net = network_format.load(p)
        meta_path = p.parent / "meta.json"
        meta = jsonfile.read(meta_path, ModelFormatError, fix="give the meta.json its run wrote, or none") \
            if meta_path.exists() else None
        return cls(net, meta, str(p))

    # -- what the model is ---------------------------------------------------------------------------

    @property
    def labels(self) -> tuple:
        """The class labels; output ``k`` is ``labels[k]``."""
        return self.network.classes

    def label_map(self) -> Dict[str, int]:
        """``{label: index}`` as in training."""
        return {c: k for k, c in enumerate(self.network.classes)}

    def info(self) -> Dict[str, Any]:
        """Architecture, classes, input columns and steps (what seed 001's ``get_model_info`` gives)."""
        net = self.network
        return {"source": self.source, "classes": list(net.classes), "num_classes": len(net.classes),
                "layers": [net.n_features] + [L.n_out for L in net.layers], "output": net.output,
                "targets": list(net.target_names),
                "output_activation": list(net.activations) if net.output == "linear" else None,
                "columns": list(self._encoding.columns) if self._encoding else list(net.feature_names),
                "features": list(net.feature_names), "preprocess": net.preprocess or None,
                "one_hot": None if self._encoding is None else self._encoding.to_json()["categories"]}

    # -- predictions ------------------------------------------------------------------------------------

    def _features(self, x: Row) -> List[float]:
        enc = self._encoding
        if enc is not None:
            values = [x[c] for c in enc.columns] if isinstance(x, Mapping) else list(x)
            if len(values) != len(enc.columns):
                raise TabularDataError(f"a row has {len(enc.columns)} values ({', '.join(enc.columns)}), "
                                       f"got {len(values)}")
            row: List[float] = []
            for c, v in zip(enc.columns, values):
                if c in enc.categories:
                    row.extend(1.0 if str(v).strip() == cat else 0.0 for cat in enc.categories[c])
                else:
                    row.append(float(v))
            return row
        if isinstance(x, Mapping):
            return [float(x[c]) for c in self.network.feature_names]
        row = _flat(x)
        if len(row) != self.network.n_features:
            raise TabularDataError(f"a row has {self.network.n_features} values, got {len(row)}")
        return row

    def _outputs(self, x: Row) -> List[float]:
        row = apply_row(self.network.preprocess, self._features(x))
        if self._mean is not None:
            row = [(v - m) / s for v, m, s in zip(row, self._mean, self._scale)]
        out, _ = self._forward(self._params, self._sizes, array("d", row), 1, self.network.output, (),
                               self.network.output_activation)
        return list(out)

    def _regression(self) -> bool:
        return self.network.output == "linear"

    def values(self, x: Row) -> Dict[str, float]:
        """A regression model's outputs ``{target: value}`` in target order (bounded targets in their range)."""
        if not self._regression():
            raise TabularDataError(f"{self.source or 'the model'}: a classifier has class probabilities, not "
                                   "target values; use distribution()")
        return dict(zip(self.network.target_names, self._outputs(x)))

    def probabilities(self, x: Row) -> List[float]:
        """One probability per class, in class order."""
        if self._regression():
            raise TabularDataError(f"{self.source or 'the model'}: a regression model has no class distribution; "
                                   "use values()")
        out = self._outputs(x)
        return [1.0 - out[0], out[0]] if self.network.output == "sigmoid" else out

    def distribution(self, x: Row, sort: bool = True) -> List[Dict[str, Any]]:
        """``[{"label", "confidence"}, ...]`` for every class, highest first (class order with ``sort=False``)."""
        dist = [{"label": c, "confidence": p} for c, p in zip(self.network.classes, self.probabilities(x))]
        return sorted(dist, key=lambda d: -d["confidence"]) if sort else dist

    def top_k(self, x: Row, k: int = 5) -> List[Dict[str, Any]]:
        """The ``k`` most likely classes, highest first."""
        return self.distribution(x)[:k]

    def predict_one(self, x: Row) -> Dict[str, Any]:
        """The most likely class: ``{"label", "confidence"}`` (the first largest on a tie); for a
        regression model :meth:`values`."""
        if self._regression():
            return self.values(x)
        probs = self.probabilities(x)
        if self.network.output == "sigmoid":  # as predicted_classes: class 1 from p = 0.5
            best = 1 if probs[1] >= 0.5 else 0
        else:
            best = max(range(len(probs)), key=probs.__getitem__)
        return {"label": self.network.classes[best], "confidence": probs[best]}

    def predict_batch(self, rows: Sequence[Row]) -> List[List[Dict[str, Any]]]:
        """:meth:`distribution` of every row."""
        return [self.distribution(r) for r in rows]
