"""Tabular data from numpy files (``.npy``, ``.npz``), read with the standard library (:mod:`stingerml.formats.npy`).

- ``.npz`` (seed 001's bundles): ``X`` (also ``x``/``sequences``) ``[N, F]``,
  ``[N, 21, 3]`` or ``[N, T, 21, 3]``; ``y`` (also ``labels``/``label``) ``[N]``
  (class codes or label strings; optional for prediction); optional ``mask``
  (also ``masks``) ``[N, T]`` and ``label_names`` (also ``classes``/``class_names``)
  ``[C]``, the label of each code.
- ``.npy``: ``X`` alone (prediction only: no labels).

A landmark array becomes one row per sample: ``[N, 21, 3]`` and ``[N, 1, 21, 3]``
give the 63 columns ``lm0_x, ..., lm20_z``; ``[N, T, 21, 3]`` with ``T > 1`` is
flattened frame by frame into ``T × 63`` columns ``t0_lm0_x, ...`` (seed 001's
MLP flattens its frames), a frame the mask marks invalid (0) as zeros.
``--preprocess hands21`` takes either: it normalises each 63-value frame on its
own (a zero frame stays zero). The class list is ``label_names``
when given, else the distinct labels sorted as :func:`.csvdata.class_order` does.
A sample's ``line`` (in predictions) is its index + 1.
"""
from __future__ import annotations

import hashlib
from array import array
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

from ..core.errors import TabularDataError
from ..formats.npy import NdArray, read_npy, read_npz
from ..core.matrix import Matrix
from .csvdata import Schema, Table, class_order
from .landmarks import feature_names as landmark_names

PathLike = Union[str, Path]
SUFFIXES = (".npy", ".npz")
_ALIASES = {"X": ("X", "x", "sequences"), "mask": ("mask", "masks"), "y": ("y", "labels", "label"),
            "label_names": ("label_names", "classes", "class_names")}


def is_array_file(path: PathLike) -> bool:
    """True for a ``.npy``/``.npz`` path (read with :func:`read_array_table`, not as CSV)."""
    return Path(path).suffix.lower() in SUFFIXES


def _key(arrays: Dict[str, NdArray], name: str) -> Optional[NdArray]:
    return next((arrays[k] for k in _ALIASES[name] if k in arrays), None)


def _features(p: Path, X: NdArray, mask: Optional[NdArray]) -> Tuple[Matrix, Tuple[str, ...]]:
    shape = X.shape
    if X.dtype[1] not in "iuf":
        raise TabularDataError(f"{p}: X holds {X.dtype}; features are numbers")
    values = array("d", X.data)
    if len(shape) == 2:
        return Matrix(values, shape[1]), tuple(f"x{k}" for k in range(shape[1]))
    if len(shape) == 3 and shape[1:] == (21, 3):
        return Matrix(values, 63), landmark_names()
    if len(shape) == 4 and shape[2:] == (21, 3):
        N, T = shape[0], shape[1]
        if mask is not None:
            if mask.shape != (N, T):
                raise TabularDataError(f"{p}: mask has shape {mask.shape}; expected ({N}, {T}), one flag per frame")
            for i, m in enumerate(mask.data):
                if not m:
                    values[i * 63:(i + 1) * 63] = array("d", bytes(8 * 63))
        if T == 1:
            return Matrix(values, 63), landmark_names()
        return Matrix(values, T * 63), tuple(f"t{t}_{n}" for t in range(T) for n in landmark_names())
    raise TabularDataError(f"{p}: X has shape {shape}; expected [N, F], [N, 21, 3] or [N, T, 21, 3]")


def read_array_table(path: PathLike, *, schema: Optional[Schema] = None, need_labels: bool = True,
                     min_classes: int = 2) -> Table:
    """A ``.npy``/``.npz`` data set (module docstring) as a :class:`~.csvdata.Table` (classification only).

    ``schema``: a class list to encode the labels with (evaluation: the model's classes).

    Raises:
        TabularDataError: missing arrays, shapes that do not fit, labels outside the class list.
        ArrayFormatError: a damaged or unsupported file.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
        arrays = {"X": read_npy(raw)} if p.suffix.lower() == ".npy" else read_npz(p)
    except OSError as exc:
        raise TabularDataError(f"{p}: cannot read the data ({exc.strerror or exc}); check the path") from exc
    X = _key(arrays, "X")
    if X is None:
        raise TabularDataError(f"{p}: no features array (X, x or sequences) among {', '.join(arrays)}")
    matrix, names = _features(p, X, _key(arrays, "mask"))
    N = X.shape[0]
    y, names_arr = _key(arrays, "y"), _key(arrays, "label_names")
    if y is None:
        if need_labels:
            raise TabularDataError(f"{p}: no labels array (y, labels or label) among {', '.join(arrays)}")
        labels: List[str] = []
    else:
        if y.shape != (N,):
            raise TabularDataError(f"{p}: labels have shape {y.shape}; expected ({N},), one per sample")
        if isinstance(y.data, list):
            labels = list(y.data)
        elif names_arr is not None:
            known = [str(v) for v in names_arr.data]
            bad = next((int(c) for c in y.data if not 0 <= int(c) < len(known)), None)
            if bad is not None:
                raise TabularDataError(f"{p}: label code {bad} has no entry in label_names ({len(known)} names)")
            labels = [known[int(c)] for c in y.data]
        else:
            labels = [str(int(v)) if float(v).is_integer() else str(v) for v in y.data]
    classes: Tuple[str, ...] = ()
    codes: Optional[List[int]] = None
    if labels:
        if schema is not None and schema.classes:
            classes = schema.classes
        elif names_arr is not None:
            classes = tuple(str(v) for v in names_arr.data)
        else:
            classes = class_order(labels)
        index = {c: k for k, c in enumerate(classes)}
        unknown = next((k for k, v in enumerate(labels) if v not in index), None)
        if unknown is not None:
            raise TabularDataError(f"{p}, sample {unknown}: label '{labels[unknown]}' is not one of the classes "
                                   f"({', '.join(classes)})")
        if len(set(labels)) < min_classes:
            raise TabularDataError(f"{p}: every sample has the label '{labels[0]}'; a classifier needs at least "
                                   "2 classes")
        codes = [index[v] for v in labels]
    return Table(X=matrix, feature_names=names, y=codes, classes=classes, label="y" if labels else "",
                 Y=None, target_names=(), groups=None, lines=list(range(1, N + 1)), dropped=0, path=str(p),
                 sha256=hashlib.sha256(raw).hexdigest(), columns=names)
