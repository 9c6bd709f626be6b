"""Plain CSV files made from the data files shipped inside scikit-learn (``sklearn/datasets/data/``).

Those files are not ordinary CSVs with a header: iris, wine and breast_cancer
start with a line ``n_rows,n_features,class names...`` and end each row with the
class index; digits has no header; linnerud and diabetes are space-separated,
with the targets in a second file. This adapter only rewrites them as
comma-separated CSVs with a header line (numbers copied as text, unchanged),
so the library's own reader does the parsing. scikit-learn is located through
``sklearn.datasets.__file__``; the caller skips when it is not installed.
"""
from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

CLASSIFICATION = ("iris", "wine", "breast_cancer", "digits")
REGRESSION = ("diabetes", "linnerud")


def data_dir() -> Path:
    import sklearn.datasets

    return Path(os.path.dirname(sklearn.datasets.__file__)) / "data"


def _lines(name: str) -> List[str]:
    p = data_dir() / name
    if name.endswith(".gz"):
        with gzip.open(p, "rt", encoding="utf-8") as fh:
            return fh.read().splitlines()
    return p.read_text(encoding="utf-8").splitlines()


def _write(path: Path, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    path.write_text("\n".join([",".join(header)] + [",".join(r) for r in rows]) + "\n", encoding="utf-8")


def write_dataset(name: str, folder) -> Tuple[Path, Optional[str], Optional[List[str]]]:
    """Write ``<name>.csv`` into ``folder``; returns ``(path, label column or None, target columns or None)``."""
    out = Path(folder) / f"{name}.csv"
    if name in ("iris", "wine", "breast_cancer"):
        lines = _lines({"wine": "wine_data.csv"}.get(name, f"{name}.csv"))
        first = lines[0].split(",")
        n_features, classes = int(first[1]), first[2:]
        rows = [line.split(",") for line in lines[1:] if line.strip()]
        header = [f"f{k}" for k in range(n_features)] + ["label"]
        _write(out, header, [r[:n_features] + [classes[int(r[n_features])]] for r in rows])
        return out, "label", None
    if name == "digits":
        rows = [line.split(",") for line in _lines("digits.csv.gz") if line.strip()]
        _write(out, [f"p{k}" for k in range(64)] + ["digit"], rows)
        return out, "digit", None
    if name == "diabetes":
        X = [line.split() for line in _lines("diabetes_data_raw.csv.gz") if line.strip()]
        y = [line.strip() for line in _lines("diabetes_target.csv.gz") if line.strip()]
        _write(out, [f"f{k}" for k in range(len(X[0]))] + ["progression"], [a + [b] for a, b in zip(X, y)])
        return out, None, ["progression"]
    if name == "linnerud":
        ex = _lines("linnerud_exercise.csv")
        ph = _lines("linnerud_physiological.csv")
        header = ex[0].split() + ph[0].split()
        rows = [a.split() + b.split() for a, b in zip(ex[1:], ph[1:]) if a.strip()]
        _write(out, header, rows)
        return out, None, ph[0].split()
    raise ValueError(f"unknown data set {name!r}")
