"""Categorical columns: one-hot from the training split (scikit-learn's OneHotEncoder as the oracle),
unknown categories as zeros with a warning, --ignore, and never a silent drop."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from penguins import write_csv
from stingerml.cli import main
from stingerml.formats import network
from stingerml.tabular.categorical import read_for_network

BASE = ["--label", "species", "--hidden", "8", "--epochs", "30", "--patience", "30"]


def train(tmp_path, capsys, *args, data=None):
    data = data or write_csv(tmp_path / "penguins.csv")
    code = main(["tabular", "train", str(data), *BASE, "--runs-dir", str(tmp_path / "runs"), *args])
    out, err = capsys.readouterr()
    return code, Path(out.strip()) if code == 0 else None, err


def test_text_columns_are_one_hot_from_the_training_rows(tmp_path, capsys):
    sklearn_pre = pytest.importorskip("sklearn.preprocessing")
    np = pytest.importorskip("numpy")
    code, run, err = train(tmp_path, capsys, "--ignore", "id")
    assert code == 0 and "one-hot encoded: island (3 categories), sex (2 categories)" in err
    with open(tmp_path / "penguins.csv", newline="") as fh:
        records = list(csv.DictReader(fh))
    train_idx = json.loads((run / "data" / "split.json").read_text())["train"]
    enc = sklearn_pre.OneHotEncoder(handle_unknown="ignore").fit([[records[i]["island"], records[i]["sex"]]
                                                                  for i in train_idx])
    meta = json.loads((run / "output" / "meta.json").read_text())
    assert meta["features"]["categorical"] == {"island": list(enc.categories_[0]), "sex": list(enc.categories_[1])}
    assert meta["features"]["ignored"] == ["id"] and meta["features"]["preprocessing"]["steps"][0] == "one_hot"
    net = network.load(run / "output" / "model.json")
    table, notes = read_for_network(tmp_path / "penguins.csv", net)
    assert notes == []
    names = list(net.feature_names)
    onehot = np.array(table.X.data).reshape(table.n_rows, -1)[:, [names.index(f"island={c}") for c in
                                                                  enc.categories_[0]]
                                                             + [names.index(f"sex={c}") for c in enc.categories_[1]]]
    want = enc.transform([[r["island"], r["sex"]] for r in records]).toarray()
    assert (onehot == want).all()
    numeric = [names.index(c) for c in ("bill_length_mm", "body_mass_g")]
    assert np.array(table.X.data).reshape(table.n_rows, -1)[:, numeric].tolist() == \
        [[float(r["bill_length_mm"]), float(r["body_mass_g"])] for r in records]


def test_unknown_category_is_zeros_with_a_warning(tmp_path, capsys):
    code, run, _ = train(tmp_path, capsys, "--ignore", "id")
    new = tmp_path / "new.csv"
    lines = (tmp_path / "penguins.csv").read_text().splitlines()
    new.write_text("\n".join([lines[0], lines[1].replace(",Biscoe,", ",Atlantis,").replace(",Dream,", ",Atlantis,")
                              .replace(",Torgersen,", ",Atlantis,"), lines[2]]) + "\n")
    assert main(["tabular", "predict", str(run), str(new), "-o", str(tmp_path / "p.csv")]) == 0
    err = capsys.readouterr().err
    assert "column 'island': 1 row(s) with a category the training rows did not have (first 'Atlantis' at line 2)" \
        in err and err.startswith("warning: ")
    assert len((tmp_path / "p.csv").read_text().splitlines()) == 3
    net = network.load(run / "output" / "model.json")
    table, _ = read_for_network(new, net)
    first = table.X.data[:net.n_features]
    assert [first[net.feature_names.index(f"island={c}")] for c in ("Biscoe", "Dream", "Torgersen")] == [0, 0, 0]


def test_ignore_leaves_a_column_out(tmp_path, capsys):
    code, run, err = train(tmp_path, capsys, "--ignore", "id,island,sex")
    assert code == 0 and "one-hot" not in err
    meta = json.loads((run / "output" / "meta.json").read_text())
    assert meta["features"]["names"] == ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
    assert meta["features"]["categorical"] is None


@pytest.mark.parametrize("args, expect", [
    # 115 rows per species: 17 test + 17 validation (round(0.15 * 115)), 81 training; 3 × 81 = 243 ids
    ([], "column 'id': 243 different texts in the training rows (an id or free text?)"),
    (["--ignore", "nope"], "no --ignore column 'nope'"),
])
def test_an_id_column_is_never_silently_used_or_dropped(tmp_path, capsys, args, expect):
    code, _, err = train(tmp_path, capsys, *args)
    assert code == 1 and err.startswith("error: ") and err.count("\n") == 1 and expect in err, err
    assert not (tmp_path / "runs").exists()


def test_benchmark_categorical_table(monkeypatch, capsys):
    """benchmarks/tabular.py --categorical: stingerml beside scikit-learn, with the text columns not worse."""
    from test_tabular_deploy import run_benchmark

    run_benchmark(monkeypatch, "--categorical", "--repeat", "1")
    header, _, with_text, without = capsys.readouterr().out.splitlines()
    names = [c.strip() for c in header.split("|")]
    a, b = (dict(zip(names, [c.strip() for c in r.split("|")])) for r in (with_text, without))
    assert a["features"] == "9" and b["features"] == "4"
    assert float(a["stingerml accuracy"]) >= float(b["stingerml accuracy"])
    assert float(a["scikit-learn accuracy"]) >= float(b["scikit-learn accuracy"])
