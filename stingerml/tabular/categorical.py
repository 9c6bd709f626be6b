"""Categorical (text) feature columns → one-hot features, as part of the model.

A text feature column (one with no number at all, or named as categorical) is
encoded as one 0/1 feature per category. The categories are the distinct cells
of the **training** rows, sorted as text; the feature names are
``column=category``, in the column's place among the features. A category the
training rows did not have (at validation, test or prediction time) is all
zeros, and the reader reports it (never silently). A column with more than
:data:`MAX_CATEGORIES` training categories is refused (an id or free text):
leave it out with ``--ignore COL``.

The encoding (:class:`OneHot`) is stored in the network's metadata
(``model.json``) under ``one_hot`` and in ``meta.json`` under
``features.categorical``, so ``tabular predict``/``evaluate`` and the predictor
apply it to raw CSV rows.
"""
from __future__ import annotations

import dataclasses
import json
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

from ..core import jsonfile
from ..core.dense import DenseNetwork
from ..core.errors import ModelFormatError, TabularDataError
from ..core.matrix import Matrix
from ..core.progress import ProgressCallback
from .csvdata import Schema, Table, read_table, read_table_chunks

MAX_CATEGORIES = 50
METADATA_KEY = "one_hot"


@dataclass(frozen=True)
class OneHot:
    """``columns``: every feature column in file order; ``categories``: per text column, its categories."""

    columns: Tuple[str, ...]
    categories: Dict[str, Tuple[str, ...]]

    def feature_names(self) -> Tuple[str, ...]:
        """The model's features: numeric columns as they are, each text column as ``column=category``."""
        out: List[str] = []
        for c in self.columns:
            if c in self.categories:
                out.extend(f"{c}={v}" for v in self.categories[c])
            else:
                out.append(c)
        return tuple(out)

    def to_json(self) -> Dict[str, Any]:
        return {"columns": list(self.columns), "categories": {c: list(v) for c, v in self.categories.items()}}

    @classmethod
    def from_json(cls, doc: Dict[str, Any]) -> "OneHot":
        return cls(tuple(doc["columns"]), {c: tuple(v) for c, v in doc["categories"].items()})

    def encode(self, table: Table) -> Tuple[Matrix, List[str]]:
        """``table``'s rows as model features, and one message per text column with unseen categories."""
        index = {c: {v: k for k, v in enumerate(cats)} for c, cats in self.categories.items()}
        pos = {c: k for k, c in enumerate(table.feature_names)}
        width = len(self.feature_names())
        out = array("d", bytes(8 * width * table.n_rows))
        unseen: Dict[str, List[Any]] = {}
        for r in range(table.n_rows):
            base = r * width
            row = table.X.data[r * table.X.n_cols:(r + 1) * table.X.n_cols]
            for c in self.columns:
                if c in self.categories:
                    k = index[c].get(table.text[c][r])
                    if k is None:
                        seen = unseen.setdefault(c, [0, table.text[c][r], table.lines[r]])
                        seen[0] += 1
                    else:
                        out[base + k] = 1.0
                    base += len(self.categories[c])
                else:
                    out[base] = row[pos[c]]
                    base += 1
        messages = [f"{table.path}, column '{c}': {n} row(s) with a category the training rows did not have "
                    f"(first '{v}' at line {line}); encoded as all zeros"
                    for c, (n, v, line) in unseen.items()]
        return Matrix(out, width), messages


def fit_one_hot(table: Table, train: Sequence[int]) -> Optional[OneHot]:
    """The encoding of ``table``'s text columns from its training rows ``train`` (``None`` without text columns).

    Raises:
        TabularDataError: a column with more than :data:`MAX_CATEGORIES` categories.
    """
    if not table.text:
        return None
    cats: Dict[str, Tuple[str, ...]] = {}
    for c, values in table.text.items():
        found = sorted({values[i] for i in train})
        if len(found) > MAX_CATEGORIES:
            raise TabularDataError(f"{table.path}, column '{c}': {len(found)} different texts in the training rows "
                                   f"(an id or free text?); at most {MAX_CATEGORIES} categories are one-hot "
                                   f"encoded: leave it out with --ignore {c}")
        cats[c] = tuple(found)
    return OneHot(table.columns, cats)


def apply_one_hot(table: Table, encoding: OneHot) -> Tuple[Table, List[str]]:
    """``table`` with ``X`` and ``feature_names`` the encoded features, and the unseen-category messages."""
    X, messages = encoding.encode(table)
    return dataclasses.replace(table, X=X, feature_names=encoding.feature_names()), messages


def network_encoding(net: DenseNetwork, source: str = "the model") -> Optional[OneHot]:
    """The one-hot encoding stored in a network's metadata, or ``None``.

    Raises:
        ModelFormatError: the stored encoding is not one (JSON limits and types of
            :mod:`stingerml.core.jsonfile`), or its width is not the network's input width.
    """
    text = dict(net.metadata).get(METADATA_KEY)
    if not text:
        return None
    where, fix = f"{source}: metadata {METADATA_KEY}", "train again to rewrite the model"
    doc = jsonfile.loads(text, where, ModelFormatError, fix=fix)
    jsonfile.check(doc, {"columns": [str], "categories": dict}, where, ModelFormatError, fix=fix)
    for column, cats in doc["categories"].items():
        jsonfile.check(cats, [str], where, ModelFormatError, fix=fix, where=f"categories.{column}")
    encoding = OneHot.from_json(doc)
    if len(encoding.feature_names()) != net.n_features:
        raise ModelFormatError(f"{where}: {len(encoding.feature_names())} encoded features, the network takes "
                               f"{net.n_features}; {fix}")
    return encoding


def with_encoding(net: DenseNetwork, encoding: Optional[OneHot]) -> DenseNetwork:
    """``net`` carrying ``encoding`` in its metadata (``net`` itself without one)."""
    if encoding is None:
        return net
    meta = dict(net.metadata)
    meta[METADATA_KEY] = json.dumps(encoding.to_json(), sort_keys=True)
    return dataclasses.replace(net, metadata=tuple(sorted(meta.items())))


def read_for_network(path: Union[str, Path], net: DenseNetwork, label: Optional[str] = None, *,
                     targets: Sequence[str] = (), drop_missing: bool = False,
                     need_labels: bool = False,
                     progress: Optional[ProgressCallback] = None) -> Tuple[Table, List[str]]:
    """A CSV read as ``net``'s input (its feature columns, one-hot encoded when it has an encoding), and the
    warnings about categories it has not seen. ``label``/``targets``/``need_labels`` as :func:`read_table`."""
    from .arrays import is_array_file, read_array_table

    if is_array_file(path):
        table = read_array_table(path, schema=Schema(classes=net.classes) if label else None,
                                 need_labels=need_labels, min_classes=1)
        if table.X.n_cols != net.n_features:
            raise TabularDataError(f"{path}: {table.X.n_cols} features per sample; the model takes {net.n_features}")
        return table, []
    encoding = network_encoding(net)
    kw: Dict[str, Any] = dict(drop_missing=drop_missing, need_labels=need_labels, min_classes=1, progress=progress)
    if targets:
        kw["targets"] = targets
    elif net.classes and label:
        kw["schema"] = Schema(classes=net.classes)
    if encoding is None:
        return read_table(path, label, features=net.feature_names, **kw), []
    table = read_table(path, label, features=encoding.columns, categorical=list(encoding.categories), **kw)
    return apply_one_hot(table, encoding)


def chunks_for_network(path: Union[str, Path], net: DenseNetwork, *, drop_missing: bool = False,
                       progress: Optional[ProgressCallback] = None,
                       chunk_rows: int = 4096) -> Tuple[Iterator[Table], List[str]]:
    """:func:`read_for_network` for prediction (no labels), as Tables of ``chunk_rows`` rows streamed from
    the CSV (:func:`~.csvdata.read_table_chunks`: only a chunk is held), and the warnings. A model with
    one-hot columns, and a ``.npy``/``.npz`` file, are read whole (one Table): the warnings about
    unseen categories count the whole file."""
    from .arrays import is_array_file

    if is_array_file(path) or network_encoding(net) is not None:
        table, notes = read_for_network(path, net, drop_missing=drop_missing, progress=progress)
        return iter([table]), notes
    return read_table_chunks(path, net.feature_names, drop_missing=drop_missing, progress=progress,
                             chunk_rows=chunk_rows), []
