"""The one way stingerml passes a matrix: a flat ``array`` with its row width.

Every estimator takes and returns :class:`Matrix` (``fit(X, y)``,
``transform(X)``, ``predict_proba(X)``); kernels receive ``X.data`` with
``X.n_rows`` and ``X.n_cols``. No copy is made of the flat data, which stays
the same ``array('f')`` / ``array('d')`` the browser's Float32Arrays mirror.
"""
from __future__ import annotations

from array import array
from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence


@dataclass(frozen=True)
class Matrix:
    """``n_rows × n_cols`` values stored row-major in ``data`` (an ``array`` or any flat sequence)."""

    data: Sequence[float]
    n_cols: int

    def __post_init__(self) -> None:
        if self.n_cols <= 0:
            raise ValueError(f"a matrix needs at least one column, got n_cols={self.n_cols}")
        if len(self.data) % self.n_cols:
            raise ValueError(f"{len(self.data)} values do not make whole rows of {self.n_cols}")

    @property
    def n_rows(self) -> int:
        """Number of rows."""
        return len(self.data) // self.n_cols

    @property
    def shape(self) -> tuple:
        """``(n_rows, n_cols)``."""
        return (self.n_rows, self.n_cols)

    def __len__(self) -> int:
        return self.n_rows

    def row(self, i: int) -> Sequence[float]:
        """Row ``i`` as a slice of the flat data."""
        if not 0 <= i < self.n_rows:
            raise IndexError(f"row {i} of a {self.n_rows}-row matrix")
        return self.data[i * self.n_cols:(i + 1) * self.n_cols]

    def rows(self) -> Iterable[Sequence[float]]:
        """Every row in order."""
        return (self.row(i) for i in range(self.n_rows))

    def column(self, j: int) -> Sequence[float]:
        """Column ``j``: ``n_rows`` values (a strided slice of the flat data)."""
        return self.data[j::self.n_cols]

    @classmethod
    def from_columns(cls, columns: Sequence[Sequence[float]], typecode: str = "d") -> "Matrix":
        """Build from equal-length columns (``columns[j][r]``), interleaved row-major into an ``array(typecode)``."""
        if not columns:
            raise ValueError("cannot build a matrix from zero columns")
        nf, n = len(columns), len(columns[0])
        data = array(typecode, bytes(array(typecode).itemsize * nf * n))
        for j, col in enumerate(columns):
            if len(col) != n:
                raise ValueError(f"column {j} has {len(col)} values, the first column has {n}")
            data[j::nf] = col if isinstance(col, array) and col.typecode == typecode else array(typecode, col)
        return cls(data, nf)

    @classmethod
    def from_rows(cls, rows: Iterable[Sequence[float]], typecode: str = "d") -> "Matrix":
        """Build from an iterable of equal-length rows (``typecode`` ``'d'`` or ``'f'``)."""
        data = array(typecode)
        width = None
        for k, r in enumerate(rows):
            if width is None:
                width = len(r)
            elif len(r) != width:
                raise ValueError(f"row {k} has {len(r)} values, the first row has {width}")
            data.extend(r)
        if width is None:
            raise ValueError("cannot build a matrix from zero rows")
        return cls(data, width)


@dataclass(frozen=True)
class Rows:
    """Rows ``index`` of ``matrix`` (in that order) as a view: a split's part without a copy of its rows.

    Trainers read it a chunk at a time (:meth:`take`); ``n_rows`` is ``len(index)``.
    """

    matrix: Matrix
    index: Sequence[int]

    @property
    def n_rows(self) -> int:
        """Number of rows of the view."""
        return len(self.index)

    @property
    def n_cols(self) -> int:
        """Row width (the matrix's)."""
        return self.matrix.n_cols

    def __len__(self) -> int:
        return self.n_rows

    def rows(self) -> Iterable[Sequence[float]]:
        """Every row of the view in order (slices of the matrix's data)."""
        data, nf = self.matrix.data, self.matrix.n_cols
        return (data[r * nf:(r + 1) * nf] for r in self.index)

    def take(self, positions: Optional[Sequence[int]] = None) -> Matrix:
        """A float64 copy of the view's rows at ``positions`` (default: all), in that order."""
        index = self.index if positions is None else [self.index[p] for p in positions]
        data, nf = self.matrix.data, self.matrix.n_cols
        out = array("d")
        for r in index:
            out.extend(array("d", data[r * nf:(r + 1) * nf]) if not isinstance(data, array) or
                       data.typecode != "d" else data[r * nf:(r + 1) * nf])
        return Matrix(out, nf)

    def column(self, j: int) -> array:
        """Column ``j`` of the view's rows, float64."""
        data, nf = self.matrix.data, self.matrix.n_cols
        return array("d", (data[r * nf + j] for r in self.index))


def take_rows(X: Sequence[float], nf: int, rows: List[int]) -> List[float]:
    """Rows ``rows`` (in that order) of a flat ``n × nf`` matrix, as a flat list."""
    out: List[float] = []
    for r in rows:
        out += X[r * nf : (r + 1) * nf]
    return out
