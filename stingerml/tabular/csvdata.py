"""Read a tabular data set: a CSV with a header, and optionally a ``schema.json``.

Rules (see docs/tabular.md):

- The delimiter is ``,`` or ``;``: the one the header line holds more of outside
  quotes (comma on a tie). The first line is the header.
- Features are the columns named in ``features`` (or in the schema); when not
  named, every column but the label/targets/group/``ignore``. A feature column with no
  number at all is text: its cells go to :attr:`Table.text` (one-hot encoded by
  :mod:`.categorical`), not into ``X``; a column with some numbers and some text
  is an error at its first text cell.
- A number is a decimal such as ``-1.5e3`` (no ``inf``, no ``_``). An empty
  cell, ``NA``, ``N/A``, ``NaN``, ``null`` or ``?`` (any case) is missing: an
  error naming the line and column, or, with ``drop_missing``, the row is
  left out and counted in :attr:`Table.dropped`.
- Classes are the schema's class list in its order; without a schema, the
  distinct label strings sorted as numbers when they all are numbers, else as
  text. Class ``k`` is encoded as the integer ``k``.

Every problem raises :class:`~stingerml.core.errors.TabularDataError` with one line
naming the file, the line (1 = the header) and the column.
"""
from __future__ import annotations

import difflib
import hashlib
import re
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

from ..core.errors import TabularDataError
from ..core.matrix import Matrix
from ..core.progress import Progress, ProgressCallback
from ..core import csvfile, jsonfile, preprocess

PathLike = Union[str, Path]

MISSING = frozenset(["", "na", "n/a", "nan", "null", "none", "?"])
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\Z")


@dataclass(frozen=True)
class Schema:
    """What a ``schema.json`` states; every field may be empty (not stated)."""

    features: Tuple[str, ...] = ()
    label: str = ""
    classes: Tuple[str, ...] = ()
    path: str = ""
    output_activation: Tuple[Tuple[str, str], ...] = ()
    """Regression targets' output activations ``(target, word)`` (see :class:`~.runs.RunSettings`)."""
    preprocess: str = ""
    """A preprocessing step of the model (:mod:`stingerml.core.preprocess`; ``""``: none)."""


@dataclass(frozen=True)
class Table:
    """A data set ready for training.

    ``X``: ``n_rows × n_features`` float64 features in file order (rows with a
    missing cell left out when ``drop_missing``). ``y``: class index per row
    (classification, an ``array("i")``) or ``None``; ``Y``: ``n_rows × n_targets`` float64 targets
    (regression) or ``None``. ``lines``: the CSV line of each row (1 = header; an ``array("I")``, ``"q"`` past 2**32 lines).
    ``groups``: the group column's text per row, or ``None``. ``sha256``: of the
    CSV file's bytes. ``text``: the cells (stripped) of every text (categorical)
    feature column, per row; ``X`` does not hold them (see :mod:`.categorical`).
    ``columns``: every feature column in file order, numeric and text.
    ``encoding``: the :class:`~.categorical.OneHot` that made ``X`` from them (else
    ``None``), and ``warnings`` what it reported (unseen categories).
    """

    X: Matrix
    feature_names: Tuple[str, ...]
    y: Optional[Sequence[int]]
    classes: Tuple[str, ...]
    label: str
    Y: Optional[Matrix]
    target_names: Tuple[str, ...]
    groups: Optional[List[str]]
    lines: Sequence[int]
    dropped: int
    path: str
    sha256: str
    text: Dict[str, List[str]] = field(default_factory=dict)
    columns: Tuple[str, ...] = ()
    encoding: Any = None
    warnings: Tuple[str, ...] = ()

    @property
    def n_rows(self) -> int:
        return self.X.n_rows


SCHEMA_KEYS = ("features", "label", "label_column", "target", "classes", "labels", "label_classes",
               "output_activation", "preprocess")
"""The keys a ``schema.json`` may hold (any other is an error: a misspelt key would be silently ignored)."""


def read_schema(path: PathLike) -> Schema:
    """Read a CrowdMind-style ``schema.json``.

    Accepted keys: ``features`` (names, or objects with ``name``), ``label``
    (also ``label_column`` or ``target``: a name), ``classes`` (also
    ``labels``/``label_classes``: names or values, kept as text), ``preprocess`` (a step
    of :mod:`stingerml.core.preprocess`, e.g. ``"hands21"``) and, for regression,
    ``output_activation`` (``{target: "linear" | "sigmoid" | "tanh"}``).
    """
    p = Path(path)
    doc = jsonfile.read(p, TabularDataError, fix="the schema must be a JSON object with features/label/classes")
    unknown = [k for k in doc if k not in SCHEMA_KEYS]
    if unknown:
        raise TabularDataError(f"{p}: unknown key '{unknown[0]}'; a schema has {', '.join(SCHEMA_KEYS)} "
                               "(docs/tabular.md#data)")

    def names(key: str, value) -> Tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            raise TabularDataError(f"{p}: '{key}' must be a list, not {type(value).__name__}")
        out = []
        for item in value:
            if isinstance(item, dict) and "name" in item:
                item = item["name"]
            if isinstance(item, (dict, list)) or item is None:
                raise TabularDataError(f"{p}: '{key}' holds {item!r}; list names or values")
            out.append(_text(item))
        if len(set(out)) != len(out):
            raise TabularDataError(f"{p}: '{key}' lists a name twice")
        return tuple(out)

    label = next((doc[k] for k in ("label", "label_column", "target") if k in doc), "")
    if isinstance(label, dict):
        label = label.get("name", "")
    if not isinstance(label, str):
        raise TabularDataError(f"{p}: 'label' must be a column name, not {label!r}")
    classes = next((doc[k] for k in ("classes", "labels", "label_classes") if k in doc), None)
    acts = doc.get("output_activation", {})
    if not isinstance(acts, dict) or not all(isinstance(v, str) for v in acts.values()):
        raise TabularDataError(f"{p}: 'output_activation' must map target names to linear, sigmoid or tanh")
    step = doc.get("preprocess", "")
    try:
        if not isinstance(step, str):
            raise ValueError(f"not {step!r}: give the name of a step")
        preprocess.check_name(step)  # the check of --preprocess
    except ValueError as exc:
        raise TabularDataError(f"{p}: 'preprocess': {exc}; fix the schema") from None
    return Schema(names("features", doc.get("features")), label, names("classes", classes), str(p),
                  tuple(acts.items()), step)


def _text(value) -> str:
    """A schema value as the CSV would spell it (``1`` not ``1.0`` for whole floats)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def parse_number(cell: str) -> Optional[float]:
    """The cell as a float, or ``None`` when it is not a plain decimal number.

    Raises:
        ValueError: a number beyond float32's range (``1e39``, ``1e999``, 400 digits).
    """
    s = cell.strip()
    return csvfile.float32_cell(s) if _NUMBER.match(s) else None


def _is_number(cell: str) -> bool:
    return _NUMBER.match(cell.strip()) is not None


def is_missing(cell: str) -> bool:
    """True for an empty cell or a missing-value marker (``NA``, ``NaN``, ``null``...)."""
    return cell.strip().lower() in MISSING


class _Stream:
    """A CSV data file read as a stream, twice (:func:`read_table`): :meth:`scan` learns the header,
    checks every row's width and finds which columns hold a number; :meth:`rows` then yields the data rows. Neither
    holds the file or its rows in memory; both report progress (``read``: bytes of the file)."""

    def __init__(self, path: Path, progress: Optional[ProgressCallback]) -> None:
        self.path = path
        self.progress = progress
        try:
            with open(path, "rb") as fh:
                head = fh.read(65536)
                digest = hashlib.sha256(head)
                for block in iter(lambda: fh.read(1 << 16), b""):
                    digest.update(block)
            self.size = path.stat().st_size
        except OSError as exc:
            raise TabularDataError(f"{path}: cannot read the CSV ({exc.strerror or exc}); check the path") from exc
        self.sha256 = digest.hexdigest()
        self.delimiter = _delimiter(head.decode("utf-8-sig", errors="ignore"))
        self.header: List[str] = []
        self.numeric: List[bool] = []

    def _lines(self, what: str) -> Iterator[Tuple[int, List[str]]]:
        reported = [False]

        def position(done: int) -> None:
            if self.progress is not None:
                self.progress(Progress("read", f"{what} {self.path.name}: {done / 2**20:.1f} of {self.size / 2**20:.1f} MiB",
                                       done, self.size))
                reported[0] = True
        for line, cells in csvfile.file_rows(self.path, str(self.path), TabularDataError, self.delimiter, position):
            if all(not c.strip() for c in cells):
                continue
            yield line, cells
        if reported[0]:  # a file long enough to report on: its end too
            position(self.size)

    def scan(self) -> None:
        lines = self._lines("scanning")
        first = next(lines, None)
        if first is None:
            raise TabularDataError(f"{self.path}: the file is empty; a CSV needs a header line and data rows")
        self.header = [c.strip() for c in first[1]]
        _check_header(self.path, self.header)
        self.numeric = [False] * len(self.header)
        pending = list(range(len(self.header)))
        has_rows = False
        for line, cells in lines:
            if len(cells) != len(self.header):
                raise TabularDataError(
                    f"{self.path}, line {line}: {len(cells)} cells but the header has {len(self.header)}; "
                    "fix the row (a stray delimiter or quote?)")
            has_rows = True
            if pending:
                found = [k for k in pending if not is_missing(cells[k]) and _is_number(cells[k])]
                for k in found:
                    self.numeric[k] = True
                pending = [k for k in pending if not self.numeric[k]] if found else pending
        if not has_rows:
            raise TabularDataError(f"{self.path}: no data rows after the header")

    def rows(self) -> Iterator[Tuple[int, List[str]]]:
        lines = self._lines("reading")
        next(lines)  # the header
        return lines


def _delimiter(text: str) -> str:
    """``;`` when the header line holds more semicolons than commas outside quotes, else ``,``."""
    counts = {",": 0, ";": 0}
    quoted = False
    for ch in text.lstrip("\r\n")[:65536]:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in "\r\n":
            break
        elif not quoted and ch in counts:
            counts[ch] += 1
    return ";" if counts[";"] > counts[","] else ","


def _check_header(p: Path, header: List[str]) -> None:
    seen: Dict[str, int] = {}
    for k, name in enumerate(header):
        if not name:
            raise TabularDataError(f"{p}, line 1, column {k + 1}: empty column name; name every column")
        if name in seen:
            raise TabularDataError(f"{p}, line 1: column '{name}' appears twice (columns {seen[name] + 1} and {k + 1})")
        seen[name] = k


def read_table(
    path: PathLike,
    label: Optional[str] = None,
    *,
    features: Optional[Sequence[str]] = None,
    targets: Optional[Sequence[str]] = None,
    schema: Optional[Union[PathLike, Schema]] = None,
    group: Optional[str] = None,
    drop_missing: bool = False,
    need_labels: bool = True,
    min_classes: int = 2,
    categorical: Sequence[str] = (),
    ignore: Sequence[str] = (),
    progress: Optional[ProgressCallback] = None,
) -> Table:
    """Read a CSV data set for classification (``label``) or regression (``targets``).

    Args:
        label: the class column (or the schema's label when ``None``).
        features: feature columns in order (default: the schema's, else every
            other numeric column).
        targets: regression target columns; when given, the task is regression.
        group: a column whose value keeps rows together in one split.
        drop_missing: leave out rows with a missing cell instead of failing.
        need_labels: ``False`` to read rows without label/targets (prediction);
            the label/target columns are then read only if present.
        min_classes: fewer distinct labels than this is an error (1 to evaluate).
        categorical: feature columns read as text (into :attr:`Table.text`); when the
            features are not named, every column with no number at all is one too.
        ignore: columns left out of the features (named: an unknown one is an error).
        progress: receives ``read`` events (bytes of the file) while the file is streamed, twice:
            a scan (header, row widths, numeric columns), then the values; the file and its rows
            are never held whole, only the parsed values (float64) and the text cells.

    Raises:
        TabularDataError: naming the file, line and column of the first problem.
    """
    return next(_tables(path, label, features=features, targets=targets, schema=schema, group=group,
                        drop_missing=drop_missing, need_labels=need_labels, min_classes=min_classes,
                        categorical=categorical, ignore=ignore, progress=progress))


def read_table_chunks(path: PathLike, features: Sequence[str], *, drop_missing: bool = False,
                      progress: Optional[ProgressCallback] = None, chunk_rows: int = 4096) -> Iterator[Table]:
    """The numeric ``features`` of a CSV (no labels: prediction) as :class:`Table` s of ``chunk_rows``
    rows each (the last fewer), in file order, while the file is streamed: only a chunk is held.
    Each chunk's ``dropped`` counts the rows with a missing cell left out since the previous chunk.
    A problem is found when its row is reached (rows before it were yielded already); the scan
    before the first chunk checks the header and every row's width, as :func:`read_table`."""
    return _tables(path, None, features=features, drop_missing=drop_missing, need_labels=False,
                   min_classes=0, progress=progress, chunk_rows=chunk_rows)


def _tables(
    path: PathLike,
    label: Optional[str] = None,
    *,
    features: Optional[Sequence[str]] = None,
    targets: Optional[Sequence[str]] = None,
    schema: Optional[Union[PathLike, Schema]] = None,
    group: Optional[str] = None,
    drop_missing: bool = False,
    need_labels: bool = True,
    min_classes: int = 2,
    categorical: Sequence[str] = (),
    ignore: Sequence[str] = (),
    progress: Optional[ProgressCallback] = None,
    chunk_rows: Optional[int] = None,
) -> Iterator[Table]:
    """:func:`read_table` (``chunk_rows`` None: one Table of every row) or its rows ``chunk_rows`` at a time."""
    p = Path(path)
    sch = schema if isinstance(schema, Schema) or schema is None else read_schema(schema)
    stream = _Stream(p, progress)
    stream.scan()
    header = stream.header
    col = {name: k for k, name in enumerate(header)}
    regression = bool(targets)
    label = label or (sch.label if sch else "") or None
    if not regression and need_labels and not label:
        raise TabularDataError(f"{p}: no label column given; name it (--label NAME) or in schema.json")
    target_names = tuple(targets or ())
    outputs = target_names if regression else ((label,) if label else ())

    def require(name: str, what: str) -> int:
        if name not in col:
            raise TabularDataError(f"{p}, line 1: no {what} column '{name}'{_did_you_mean(name, header)}; "
                                   f"the header is: {', '.join(header)} (names are case-sensitive)")
        return col[name]

    out_cols = [require(n, "target" if regression else "label") for n in outputs] if need_labels else \
        [col[n] for n in outputs if n in col]
    if not need_labels:
        outputs = tuple(n for n in outputs if n in col)
    group_col = require(group, "group") if group else None
    for n in ignore:
        require(n, "--ignore")
    reserved = set(outputs) | ({group} if group else set()) | set(ignore)
    names = tuple(features) if features else (sch.features if sch and sch.features else ())
    if names:
        for n in names:
            if n in reserved:
                raise TabularDataError(f"{p}, line 1: column '{n}' is both a feature and the label/target/group"
                                       " (or --ignore)")
        for n in categorical:
            if n not in names:
                raise TabularDataError(f"{p}: categorical column '{n}' is not one of the features")
        all_cols = [require(n, "feature") for n in names]
        text_cols = [k for k in all_cols if header[k] in categorical or not stream.numeric[k]]
    else:
        all_cols = [k for k, n in enumerate(header) if n not in reserved]
        for n in categorical:
            require(n, "categorical")
        text_cols = [k for k in all_cols if header[k] in categorical or not stream.numeric[k]]
        if len(text_cols) == len(all_cols):
            raise TabularDataError(f"{p}: no numeric feature column besides '{', '.join(outputs)}'; "
                                   f"a feature column holds numbers{_decimal_comma_hint(stream.rows())}")
    feat_cols = [k for k in all_cols if k not in text_cols]
    columns = tuple(header[k] for k in all_cols)
    names = tuple(header[k] for k in feat_cols)

    numeric_cols = feat_cols + (out_cols if regression else [])
    interned: Dict[str, str] = {}  # one string object per distinct label or category, not one per row
    any_rows = False

    def table() -> Table:
        classes: Tuple[str, ...] = ()
        y: Optional[Sequence[int]] = None
        if not regression and raw_labels:
            classes, y = _encode(p, raw_labels, lines, label or "", sch, min_classes if need_labels else 0)
        return Table(
            X=Matrix(X, len(feat_cols)), feature_names=tuple(names), y=y, classes=classes,
            label=label or "", Y=Matrix(Yv, len(out_cols)) if regression and out_cols else None,
            target_names=outputs if regression else (), groups=groups if group_col is not None else None,
            lines=_compact(lines), dropped=dropped, path=str(p), sha256=stream.sha256,
            text=text, columns=columns,
        )

    def empty() -> Tuple[array, array, List[str], List[str], array, int, Dict[str, List[str]]]:
        return array("d"), array("d"), [], [], array("q"), 0, {header[k]: [] for k in text_cols}

    X, Yv, raw_labels, groups, lines, dropped, text = empty()
    for line, cells in stream.rows():
        if chunk_rows is not None and len(lines) == chunk_rows:
            yield table()
            any_rows = True
            X, Yv, raw_labels, groups, lines, dropped, text = empty()
        missing = [k for k in numeric_cols + text_cols + ([] if regression else out_cols) if is_missing(cells[k])]
        if group_col is not None and is_missing(cells[group_col]):
            missing.append(group_col)
        if missing:
            if drop_missing:
                dropped += 1
                continue
            k = min(missing)
            raise TabularDataError(f"{p}, line {line}, column '{header[k]}': missing value ({cells[k].strip() or 'empty'}); "
                                   "fill it in or pass --drop-missing to leave such rows out")
        values = []
        for k in numeric_cols:
            try:
                v = parse_number(cells[k])
            except ValueError as exc:
                raise TabularDataError(f"{p}, line {line}, column '{header[k]}' ({k + 1}): {exc}; fix the cell") from None
            if v is None:
                raise TabularDataError(f"{p}, line {line}, column '{header[k]}': '{cells[k].strip()}' is not a number; "
                                       "fix the cell or choose the feature columns with --features"
                                       + _decimal_comma_hint([(line, [cells[k]])]))
            values.append(v)
        X.extend(values[:len(feat_cols)])
        Yv.extend(values[len(feat_cols):])
        if not regression and out_cols:
            raw_labels.append(interned.setdefault(cells[out_cols[0]].strip(), cells[out_cols[0]].strip()))
        if group_col is not None:
            groups.append(cells[group_col].strip())
        for k in text_cols:
            text[header[k]].append(interned.setdefault(cells[k].strip(), cells[k].strip()))
        lines.append(line)
    if not lines and not any_rows:
        raise TabularDataError(f"{p}: every row has a missing value ({dropped} dropped); nothing left to use")
    if lines or dropped:
        yield table()


def _compact(lines: array) -> array:
    """The line numbers (ascending) as 4 bytes each when they fit (a CSV under 2**32 lines)."""
    return array("I", lines) if not lines or lines[-1] <= 0xFFFFFFFF else lines


def _did_you_mean(name: str, header: Sequence[str]) -> str:
    """`` (did you mean 'x'?)`` for the header name closest to ``name`` (case ignored), or ``""``."""
    folded = {h.lower(): h for h in header}
    close = difflib.get_close_matches(name.lower(), list(folded), n=1, cutoff=0.6)
    return f" (did you mean '{folded[close[0]]}'?)" if close else ""


_DECIMAL_COMMA = re.compile(r"^\s*[-+]?\d+,\d+\s*$")


def _decimal_comma_hint(rows: Sequence[Tuple[int, Sequence[str]]]) -> str:
    """A hint when cells are numbers written with a decimal comma (``1,5``), else ``""``."""
    for line, cells in rows:
        for cell in cells:
            if _DECIMAL_COMMA.match(cell):
                return (f" (cells like '{cell.strip()}', line {line}, use a decimal comma: save the CSV with "
                        "decimal points, e.g. 1.5)")
    return ""


def class_order(values: Sequence[str]) -> Tuple[str, ...]:
    """Distinct labels sorted as numbers when all are numbers, else as text."""
    distinct = set(values)
    if all(_is_number(v) for v in distinct):
        return tuple(sorted(distinct, key=lambda v: (float(v), v)))
    return tuple(sorted(distinct))


def _encode(p: Path, labels: List[str], lines: Sequence[int], label: str, sch: Optional[Schema],
            min_classes: int) -> Tuple[Tuple[str, ...], array]:
    """Class list and the index of each row's label (errors name the first bad line)."""
    if sch is not None and sch.classes:
        classes = sch.classes
        index = {c: k for k, c in enumerate(classes)}
        for lab, line in zip(labels, lines):
            if lab not in index:
                raise TabularDataError(
                    f"{p}, line {line}, column '{label}': label '{lab}' is not one of the classes in "
                    f"{sch.path or 'the schema'} ({', '.join(classes)}); fix the row or add the class")
    else:
        classes = class_order(labels)
        index = {c: k for k, c in enumerate(classes)}
    if len(set(labels)) < min_classes:
        raise TabularDataError(f"{p}, column '{label}': every row has the class '{labels[0]}'; "
                               "a classifier needs at least 2 classes")
    return classes, array("i", [index[v] for v in labels])  # 4 bytes a row
