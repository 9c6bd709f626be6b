"""Sequence data: padded windows ``[N, T, F]`` with a per-sample mask of valid steps.

Two file forms (docs/sequence.md):

- ``.npz`` (numpy, read by :mod:`stingerml.formats.npy` without numpy): ``X``
  ``[N, T, ...]`` (every dimension after ``T`` is flattened into ``F`` features, so
  ``[N, T, 21, 3]`` landmarks give ``F = 63``), ``mask`` ``[N, T]`` (optional: all steps
  valid), ``y`` ``[N]`` (class codes or label strings), optional ``label_names`` ``[C]``
  (the label of each code). The seed project's names ``sequences``, ``masks``,
  ``labels`` and ``classes`` are accepted too.
- CSV long format: a header ``sample_id,step,<features...>,label``, one row per valid step;
  a sample's steps are ``0..L-1`` (rows in any order), its label the same on every row.

Masks are *prefix* masks: a sample's valid steps come first (1s), then padding (0s),
at least one valid step. Padding is never read: its content cannot change a prediction.
"""
from __future__ import annotations

import hashlib
import math
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

from ..core import csvfile
from ..core.errors import SequenceDataError
from ..formats.npy import NdArray, read_npz

PathLike = Union[str, Path]

_ALIASES = {"X": ("X", "x", "sequences"), "mask": ("mask", "masks"), "y": ("y", "labels", "label"),
            "label_names": ("label_names", "classes", "class_names")}


@dataclass(frozen=True)
class Sequences:
    """``N`` padded sequences of ``T`` steps of ``F`` features (the sequence models' input).

    ``data``: flat float64 ``N × T × F`` (C order); ``lengths``: valid steps of each sample
    (1..T; steps past it are padding and never read).
    """

    data: array
    n_steps: int
    n_features: int
    lengths: array

    def __post_init__(self) -> None:
        n = len(self.lengths)
        if len(self.data) != n * self.n_steps * self.n_features:
            raise SequenceDataError(f"{len(self.data)} values do not make {n} samples × {self.n_steps} steps × "
                                    f"{self.n_features} features")
        for k, L in enumerate(self.lengths):
            if not 1 <= L <= self.n_steps:
                raise SequenceDataError(f"sample {k}: {L} valid steps; each sample needs 1 to {self.n_steps}")

    @property
    def n_samples(self) -> int:
        return len(self.lengths)

    @classmethod
    def from_lists(cls, samples: Sequence[Sequence[Sequence[float]]],
                   mask: Optional[Sequence[Sequence[float]]] = None) -> "Sequences":
        """From nested lists ``[N][T][F]`` (every sample ``T`` steps) and an optional mask ``[N][T]``
        (a prefix of 1s; default: every step valid)."""
        if not samples:
            raise SequenceDataError("no samples")
        T, F = len(samples[0]), len(samples[0][0]) if samples[0] else 0
        data = array("d")
        for k, s in enumerate(samples):
            if len(s) != T or any(len(step) != F for step in s):
                raise SequenceDataError(f"sample {k}: not {T} steps of {F} features like sample 0; "
                                        "pad every sample to the same number of steps and give a mask")
            for step in s:
                data.extend(float(v) for v in step)
        lengths = mask_lengths(mask, len(samples), T) if mask is not None else array("q", [T] * len(samples))
        return cls(data, T, F, lengths)

    def take(self, idx: Sequence[int]) -> "Sequences":
        """The samples ``idx``, in that order."""
        w = self.n_steps * self.n_features
        data = array("d")
        for i in idx:
            data.extend(self.data[i * w:(i + 1) * w])
        return Sequences(data, self.n_steps, self.n_features, array("q", [self.lengths[i] for i in idx]))

    def steps(self) -> List[List[float]]:
        """Every valid step as a row of ``F`` features (samples in order): what the scaler is fitted on."""
        F, T = self.n_features, self.n_steps
        return [list(self.data[(n * T + t) * F:(n * T + t + 1) * F])
                for n, L in enumerate(self.lengths) for t in range(L)]

    def check_finite(self, where: str) -> None:
        """Every valid step's features are finite numbers (padding may hold anything)."""
        F, T = self.n_features, self.n_steps
        for n, L in enumerate(self.lengths):
            base = n * T * F
            part = self.data[base:base + L * F]
            if all(map(math.isfinite, part)):
                continue
            for i, v in enumerate(part):
                if not math.isfinite(v):
                    raise SequenceDataError(f"{where}: sample {n}, step {i // F}, feature {i % F} is {v}; "
                                            "every valid step must hold finite numbers")


def mask_lengths(mask: Sequence[Sequence[float]], n: int, T: int, where: str = "mask") -> array:
    """The valid length of each sample from a prefix mask ``[n][T]`` (SequenceDataError otherwise)."""
    if len(mask) != n:
        raise SequenceDataError(f"{where}: {len(mask)} rows for {n} samples")
    lengths = array("q")
    for k, row in enumerate(mask):
        if len(row) != T:
            raise SequenceDataError(f"{where}: sample {k} has {len(row)} steps, the data {T}")
        L = 0
        while L < T and row[L]:
            L += 1
        for t in range(L, T):
            if row[t]:
                raise SequenceDataError(f"{where}: sample {k}: step {t} is valid after padding at step {L}; "
                                        "masks must be valid steps first, then padding (pad at the end)")
        if L == 0:
            raise SequenceDataError(f"{where}: sample {k} has no valid step; leave it out")
        lengths.append(L)
    return lengths


@dataclass(frozen=True)
class SequenceData:
    """A sequence data set read from a file: inputs, labels (text; empty when the file has none), the
    class list, a hash of the file, and each sample's id (the CSV's ``sample_id``, the index in a ``.npz``)."""

    X: Sequences
    labels: List[str]
    classes: Tuple[str, ...]
    sha256: str
    source: str
    sample_ids: Tuple[str, ...] = ()


def _key(arrays: Dict[str, NdArray], name: str, path: str, required: bool) -> Optional[NdArray]:
    for alias in _ALIASES[name]:
        if alias in arrays:
            return arrays[alias]
    if required:
        raise SequenceDataError(f"{path}: no array named {' or '.join(_ALIASES[name])} "
                                f"(found {', '.join(arrays) or 'none'})")
    return None


def read_npz_data(path: PathLike, need_labels: bool = True) -> SequenceData:
    """A ``.npz`` bundle (module doc) as :class:`SequenceData`; SequenceDataError / ArrayFormatError
    naming the file when it does not fit (``need_labels=False``: ``y`` may be missing)."""
    where = str(path)
    blob = Path(path).read_bytes()
    arrays = read_npz(path)
    X = _key(arrays, "X", where, True)
    y = _key(arrays, "y", where, need_labels)
    mask = _key(arrays, "mask", where, False)
    names = _key(arrays, "label_names", where, False)
    if len(X.shape) < 3 or X.dtype[1] not in "fiu":
        raise SequenceDataError(f"{where}: X has shape {X.shape} of {X.dtype}; expected numbers [N, T, features...]")
    N, T = X.shape[0], X.shape[1]
    F = X.size // (N * T) if N * T else 0
    if N == 0 or F == 0:
        raise SequenceDataError(f"{where}: X has shape {X.shape}: no samples or no features")
    if y is not None and y.shape != (N,):
        raise SequenceDataError(f"{where}: y has shape {y.shape}; expected ({N},), one label per sample")
    if mask is None:
        lengths = array("q", [T] * N)
    else:
        if mask.shape != (N, T) or mask.dtype[1] not in "biuf":
            raise SequenceDataError(f"{where}: mask has shape {mask.shape} of {mask.dtype}; expected ({N}, {T})")
        m = mask.data
        lengths = mask_lengths([m[k * T:(k + 1) * T] for k in range(N)], N, T, f"{where}: mask")
    if y is None:
        labels, classes = [], tuple(str(v) for v in names.data) if names is not None else ()
    elif y.dtype[1] == "U":
        labels = list(y.data)
        classes = tuple(names.data) if names is not None else tuple(sorted(set(labels)))
        unknown = sorted(set(labels) - set(classes))
        if unknown:
            raise SequenceDataError(f"{where}: label {unknown[0]!r} is not in label_names")
    elif y.dtype[1] in "iu":
        codes = list(y.data)
        if names is not None:
            classes = tuple(str(v) for v in names.data)
        else:
            classes = tuple(str(c) for c in range(max(codes) + 1)) if codes else ()
        for k, c in enumerate(codes):
            if not 0 <= c < len(classes):
                raise SequenceDataError(f"{where}: y[{k}] = {c} is not a class code 0..{len(classes) - 1}")
        labels = [classes[c] for c in codes]
    else:
        raise SequenceDataError(f"{where}: y is {y.dtype}; expected integer class codes or label strings")
    seqs = Sequences(array("d", X.data), T, F, lengths)
    seqs.check_finite(where)
    return SequenceData(seqs, labels, classes, hashlib.sha256(blob).hexdigest(), where,
                        tuple(str(n) for n in range(N)))


def read_csv_long(path: PathLike, need_labels: bool = True) -> SequenceData:
    """A long-format CSV (module doc) as :class:`SequenceData`: samples in order of first appearance,
    padded to the longest; SequenceDataError naming the file and line (``need_labels=False``: the
    ``label`` column may be missing)."""
    where = str(path)
    try:
        blob = Path(path).read_bytes()
    except OSError as exc:
        raise SequenceDataError(f"{where}: cannot read: {exc.strerror or exc}; check the path") from None
    rows = csvfile.rows(csvfile.decode(blob, where, SequenceDataError), where, SequenceDataError)
    first = next(rows, None)
    if first is None:
        raise SequenceDataError(f"{where}: empty file; expected a header sample_id,step,<features>,label")
    header = [h.strip() for h in first[1]]
    has_label = header[-1] == "label"
    if len(header) < 3 + has_label or header[0] != "sample_id" or header[1] != "step" or (
            need_labels and not has_label):
        raise SequenceDataError(f"{where}: line {first[0]}: the header must be sample_id,step,<features...>,label")
    F = len(header) - 2 - has_label
    samples: Dict[str, Dict[int, List[float]]] = {}
    label_of: Dict[str, str] = {}
    for line, row in rows:
        if all(not c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise SequenceDataError(f"{where}: line {line}: {len(row)} cells, the header has {len(header)}")
        sid, label = row[0].strip(), row[-1].strip() if has_label else ""
        try:
            step = int(row[1])
        except ValueError:
            raise SequenceDataError(f"{where}: line {line}: step {row[1][:40]!r} is not an integer") from None
        values = []
        for j, cell in enumerate(row[2:2 + F]):
            try:
                v = float(cell)
            except ValueError:
                v = math.nan
            try:
                if math.isnan(v):
                    raise ValueError(f"{cell[:40]!r} is not a finite number")
                values.append(csvfile.float32_cell(cell))  # and within float32 (the models compute in float32)
            except ValueError as exc:
                raise SequenceDataError(f"{where}: line {line}, column {header[2 + j]}: {exc}") from None
        steps = samples.setdefault(sid, {})
        if step in steps:
            raise SequenceDataError(f"{where}: line {line}: sample {sid!r} has step {step} twice")
        if label_of.setdefault(sid, label) != label:
            raise SequenceDataError(f"{where}: line {line}: sample {sid!r} is labelled {label!r} here and "
                                    f"{label_of[sid]!r} before; one label per sample")
        steps[step] = values
    if not samples:
        raise SequenceDataError(f"{where}: no data rows")
    T = max(len(s) for s in samples.values())
    data, lengths = array("d"), array("q")
    for sid, steps in samples.items():
        if sorted(steps) != list(range(len(steps))):
            missing = min(set(range(len(steps))) - set(steps))
            raise SequenceDataError(f"{where}: sample {sid!r} has no step {missing}; steps must be 0..L-1")
        for t in range(T):
            data.extend(steps[t] if t in steps else [0.0] * F)
        lengths.append(len(steps))
    labels = [label_of[s] for s in samples] if has_label else []
    return SequenceData(Sequences(data, T, F, lengths), labels, tuple(sorted(set(labels))),
                        hashlib.sha256(blob).hexdigest(), where, tuple(samples))


def read_data(path: PathLike, need_labels: bool = True) -> SequenceData:
    """``.npz`` or long-format ``.csv`` by the file name's suffix."""
    suffix = Path(path).suffix.lower()
    if suffix == ".npz":
        return read_npz_data(path, need_labels)
    if suffix == ".csv":
        return read_csv_long(path, need_labels)
    raise SequenceDataError(f"{path}: unknown data file type {suffix or '(none)'}; give a .npz bundle or a "
                            "long-format .csv")


__all__ = ["SequenceData", "Sequences", "mask_lengths", "read_csv_long", "read_data",
           "read_npz_data"]
