"""A trained network as the files a device or an app runs: ``model.onnx``, ``model.tflite``, ``meta.json``.

The entry point of every trainer: :func:`export_network` takes a
:class:`~stingerml.core.dense.DenseNetwork` (the blaster's MLMD models through
:mod:`stingerml.blaster.network`, a scikit-learn MLP through
:mod:`stingerml.deploy.from_sklearn`, any trainer's network) and, for the
full-int8 model, a representative :class:`~stingerml.core.matrix.Matrix` of raw
feature rows (see :func:`stingerml.deploy.quantize.representative_rows`: 100 rows of
the training split, seeded). It returns an :class:`Export`; its
:meth:`Export.save` replaces the three files in a folder **as a set**
(:func:`stingerml.core.atomic.write_set_to_folder`: all new or all old, also after
a kill); :meth:`Export.save_as` writes some of them under other names, in one
folder, also as a set. Without representative rows there is no ``model.tflite``, and saving
removes an older one, so ``meta.json`` always describes the files beside it.

``meta.json`` (UTF-8, 2-space indent) holds ``stingerml_version``, the caller's
``info`` keys, ``network`` (shape, output kind, names), ``onnx`` (whether
the scaler is folded in), ``quantization`` (:meth:`QuantizedNetwork.to_dict
<stingerml.deploy.quantize.QuantizedNetwork.to_dict>`, what a device needs to
quantize its inputs; with only the float32 ``.tflite``, :data:`FLOAT_QUANTIZATION`; ``null`` without a
``.tflite``) and, given check rows,
``check``: float against int8 on those rows (see :func:`compare`; per target for regression).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Sequence, Union

from .._version import __version__
from ..core.atomic import write_set_to_folder
from ..core.dense import DenseNetwork, predicted_classes
from ..core.errors import ExportError
from ..core.jsonfile import finite
from ..core.matrix import Matrix
from ..core.quantized import QuantizedNetwork
from ..formats import network as network_format
from ..formats.onnx import to_onnx
from ..formats.tflite import to_tflite, to_tflite_float
from .quantize import quantize

ONNX_FILE, TFLITE_FILE, META_FILE = "model.onnx", "model.tflite", "meta.json"
TFLITE_FLOAT_FILE = "model_float32.tflite"
NETWORK_FILE = "model.json"
"""The network the files were made from (``stingerml-network``), with ``network_file``: what
:meth:`Predictor.load <stingerml.tabular.predictor.Predictor.load>` and ``export-model`` read back."""
EXPORT_FILES = (ONNX_FILE, TFLITE_FILE, TFLITE_FLOAT_FILE, META_FILE)
"""Every file of the set (an older one the new set lacks is removed by :meth:`Export.save`)."""
TFLITE_KINDS = ("int8", "float", "both")
"""Which TFLite files an export writes: full int8 ``model.tflite``, float32 ``model_float32.tflite``, or both."""
FLOAT_QUANTIZATION = {"type": "float32", "input_type": "float32", "output_type": "float32", "file": TFLITE_FLOAT_FILE}
"""``meta.json``'s ``quantization`` when the only TFLite file is the float32 one: CrowdMind's three keys (seed 002)
with the float model's values, and which file they describe."""


@dataclass(frozen=True)
class Export:
    """The files of one exported network. ``quantized`` is None when no representative rows were given."""

    network: DenseNetwork
    quantized: Optional[QuantizedNetwork]
    onnx: bytes
    tflite: Optional[bytes]
    meta: Dict[str, Any]
    tflite_float: Optional[bytes] = None
    network_file: bool = False

    def files(self) -> Dict[str, bytes]:
        """``{file name: content}``: ``model.onnx``, ``model.tflite`` (when quantized), ``model_float32.tflite``
        (when asked for), ``model.json`` (with ``network_file``), ``meta.json``."""
        files = {ONNX_FILE: self.onnx}
        if self.tflite is not None:
            files[TFLITE_FILE] = self.tflite
        if self.tflite_float is not None:
            files[TFLITE_FLOAT_FILE] = self.tflite_float
        if self.network_file:
            files[NETWORK_FILE] = network_format.dumps(self.network)
        files[META_FILE] = (json.dumps(finite(self.meta), indent=2, allow_nan=False) + "\n").encode("utf-8")
        return files

    def save(self, out_dir: Union[str, "os.PathLike[str]"], option: str = "--out") -> Dict[str, Path]:
        """Replace the set in ``out_dir`` (created if missing) by :meth:`files`; returns their paths.

        Raises:
            OutputError: the folder cannot be created or written (``option`` names it); its
                previous files are kept.
        """
        files = self.files()
        members = EXPORT_FILES + ((NETWORK_FILE,) if self.network_file else ())  # else a model.json there stays
        out = write_set_to_folder(out_dir, files, members=members, option=option)
        return {name: out / name for name in files}

    def save_as(self, paths: Mapping[str, Union[str, "os.PathLike[str]"]]) -> Dict[str, Path]:
        """Write the files of :meth:`files` named in ``paths`` (``{"model.onnx": "blaster.onnx", ...}``) under
        those paths, **as one set**; the paths must be in one folder (:func:`target_folder`).

        Raises:
            ExportError: ``model.tflite`` asked for, but the export has no representative rows.
            OutputError: the paths are in different folders, or the folder cannot be written (its
                previous files are kept).
        """
        files = self.files()
        missing = [name for name in paths if name not in files]
        if missing:
            raise ExportError(f"no {missing[0]} to write: " + ("it needs representative rows"
                              if missing[0] == TFLITE_FILE else f"the files are {', '.join(files)}"))
        folder = target_folder(paths)
        names = {name: Path(path).name for name, path in paths.items()}
        out = write_set_to_folder(folder, {names[name]: files[name] for name in paths}, members=names.values(),
                                  option=_options(paths))
        return {name: out / names[name] for name in paths}


def _options(paths: Mapping[str, Any]) -> str:
    return "/".join(FILE_OPTIONS.get(name, name) for name in paths)


FILE_OPTIONS = {ONNX_FILE: "--onnx", TFLITE_FILE: "--tflite", TFLITE_FLOAT_FILE: "--tflite-float", META_FILE: "--meta"}
"""The command-line option that names each file of the set (in messages of :func:`target_folder`)."""


def target_folder(paths: Mapping[str, Union[str, "os.PathLike[str]"]]) -> Path:
    """The one folder holding every path of ``paths`` (``{file of the set: target path}``).

    A set is replaced atomically only inside one folder, so paths in different folders, or one path
    given twice, are refused. Raises :class:`~stingerml.core.errors.OutputError` (one line).
    """
    from ..core.errors import OutputError

    if not paths:
        raise OutputError("no output file given; name at least one of " + ", ".join(FILE_OPTIONS.values()))
    targets = {name: Path(os.path.abspath(path)) for name, path in paths.items()}
    folders = sorted({str(t.parent) for t in targets.values()})
    if len(folders) > 1:
        given = ", ".join(f"{FILE_OPTIONS.get(n, n)} {p}" for n, p in paths.items())
        raise OutputError(f"{given}: the files of one export are written as a set, so they must be in one "
                          f"folder (not {' and '.join(folders)}); give paths in the same folder")
    seen: Dict[Path, str] = {}
    for name, target in targets.items():
        if target in seen:
            raise OutputError(f"{paths[name]}: given for both {FILE_OPTIONS.get(seen[target], seen[target])} "
                              f"and {FILE_OPTIONS.get(name, name)}; give each file its own name")
        seen[target] = name
    return Path(folders[0])


def compare(net: DenseNetwork, quantized: QuantizedNetwork, X: Matrix,
            labels: Optional[Sequence[int]] = None) -> Dict[str, Any]:
    """Float (:meth:`DenseNetwork.forward <stingerml.core.dense.DenseNetwork.forward>`) against int8 (the
    emulator, :meth:`QuantizedNetwork.predict <stingerml.deploy.quantize.QuantizedNetwork.predict>`) on the
    raw feature rows ``X``.

    Returns ``rows`` and ``max_abs_diff`` (largest ``|int8 - float|`` output); for a regression network
    also ``per_target``: each target's ``max_abs_diff``, ``mean_abs_diff`` and ``step`` (its int8 output
    scale: the error of rounding alone is up to half a step); for a classifier ``same_class`` (share of rows
    where both pick the same class) and, given ``labels`` (class indices, one per row), ``float_accuracy``
    and ``int8_accuracy``.
    """
    p_float = Matrix([v for row in X.rows() for v in net.forward(row)], net.n_outputs)
    p_int8 = quantized.predict(X)
    out: Dict[str, Any] = {"rows": X.n_rows,
                           "max_abs_diff": max((abs(a - b) for a, b in zip(p_float.data, p_int8.data)), default=0.0)}
    if net.output == "linear":
        k = net.n_outputs
        steps = [h.output_scale for h in quantized.heads] or [quantized.output_scale] * k
        diffs = [[abs(a - b) for a, b in zip(p_float.data[j::k], p_int8.data[j::k])] for j in range(k)]
        out["per_target"] = [{"target": name, "activation": act, "max_abs_diff": max(d, default=0.0),
                              "mean_abs_diff": sum(d) / len(d) if d else 0.0, "step": step}
                             for name, act, d, step in zip(net.target_names or [f"y{j}" for j in range(k)],
                                                           net.activations, diffs, steps)]
    if net.output == "linear" or X.n_rows == 0:
        return out
    c_float, c_int8 = (predicted_classes(p.data, net.n_outputs) for p in (p_float, p_int8))
    out["same_class"] = sum(a == b for a, b in zip(c_float, c_int8)) / X.n_rows
    if labels is not None:
        if len(labels) != X.n_rows:
            raise ValueError(f"{len(labels)} labels for {X.n_rows} rows")
        out["float_accuracy"] = sum(a == t for a, t in zip(c_float, labels)) / X.n_rows
        out["int8_accuracy"] = sum(a == t for a, t in zip(c_int8, labels)) / X.n_rows
    return out


def export_network(net: DenseNetwork, representative: Optional[Matrix] = None, *, per_channel: bool = False,
                   fold_scaler: bool = True, check: Optional[Matrix] = None,
                   labels: Optional[Sequence[int]] = None, info: Mapping[str, Any] = (),
                   tflite: str = "int8", network_file: bool = False) -> Export:
    """ONNX of ``net`` and, given ``representative`` raw feature rows, its full-int8 TFLite, with ``meta.json``.

    ``per_channel``: one weight scale per output unit (default per tensor); ``fold_scaler``: the
    scaler as the ONNX graph's first ``Sub``/``Div`` (default; see :mod:`.onnx`); ``check`` (and
    ``labels``): rows on which :func:`compare` measures float against int8 for ``meta.json``;
    ``info``: more top-level ``meta.json`` keys (JSON values) describing the source; ``tflite``: one of
    :data:`TFLITE_KINDS` (``"float"``: no int8 model even with ``representative``; ``"float"``/``"both"``:
    also the float32 ``model_float32.tflite``, which takes raw rows like the ONNX file); ``network_file``:
    also ``model.json``, ``net`` itself (:mod:`stingerml.formats.network`: its steps, encoding and names), so
    that the folder can be loaded as a model again.

    Raises:
        ExportError: non-finite weights, a shape the format cannot hold, or an empty or unusable
            representative set. Nothing is computed halfway: no file exists until :meth:`Export.save`.
    """
    if tflite not in TFLITE_KINDS:
        raise ExportError(f"unknown TFLite kind {tflite!r}; choose one of {', '.join(TFLITE_KINDS)}")
    onnx = to_onnx(net, fold_scaler=fold_scaler)
    qnet = None if representative is None or tflite == "float" else quantize(net, representative,
                                                                              per_channel=per_channel)
    flt = to_tflite_float(net) if tflite in ("float", "both") else None
    meta: Dict[str, Any] = {"stingerml_version": __version__, **dict(info)}
    meta["network"] = {"shape": [net.n_features] + [layer.n_out for layer in net.layers], "output": net.output,
                       "feature_names": list(net.feature_names), "classes": list(net.classes),
                       "target_names": list(net.target_names)}
    meta["onnx"] = {"scaler_folded": fold_scaler and net.mean is not None}
    if qnet is not None:
        meta["quantization"] = qnet.to_dict()
    else:  # the float32 TFLite as the only one: CrowdMind's keys still there
        meta["quantization"] = None if flt is None else dict(FLOAT_QUANTIZATION)
    if flt is not None:
        meta["tflite_float"] = {"file": TFLITE_FLOAT_FILE, "type": "float32", "input": "raw features",
                                "preprocess": net.preprocess or None, "scaler_folded": net.mean is not None}
    if qnet is not None and check is not None:
        meta["check"] = compare(net, qnet, check, labels)
    return Export(net, qnet, onnx, None if qnet is None else to_tflite(qnet), meta, flt, network_file)
