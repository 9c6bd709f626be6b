"""Tabular messages that say what to do (issue 24): the whole header and a did-you-mean for a missing
column, text columns named (never dropped silently), a decimal-comma hint, a hint to use --targets
for a continuous label, metrics titled with their rows, and evaluate warning about trained-on rows."""
from __future__ import annotations

import pytest

from stingerml.cli import main
from stingerml.core.errors import TabularDataError
from stingerml.core.rng import XorShift32
from stingerml.tabular import read_table

HEADER = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "year", "c1", "c2", "c3",
          "c4", "c5", "c6", "c7", "c8", "c9", "species"]


def _write(path, header, rows, sep=","):
    path.write_text("\n".join([sep.join(header)] + [sep.join(r) for r in rows]) + "\n", encoding="utf-8")
    return path


def _numeric_rows(n, width, seed=5):
    rng = XorShift32(seed)
    return [[f"{k % 3 + rng():.3f}" for _ in range(width)] for k in range(n)]


def test_missing_column_shows_the_whole_header_and_a_suggestion(tmp_path):
    data = _write(tmp_path / "p.csv", HEADER, [r + ["Adelie"] for r in _numeric_rows(12, 14)])
    with pytest.raises(TabularDataError) as caught:
        read_table(data, "Species")
    msg = str(caught.value)
    assert "did you mean 'species'?" in msg
    assert ", ".join(HEADER) in msg  # all of it: the misspelt column is the last one


def test_text_columns_are_named_when_one_hot_encoded(tmp_path, capsys):
    """Text columns are never silently dropped (issue 25): tabular train one-hot encodes them and says so."""
    rows = [r[:2] + [["Biscoe", "Dream"][k % 2], ["male", "female"][k % 2], ["A", "B"][k % 2]]
            for k, r in enumerate(_numeric_rows(60, 2))]
    data = _write(tmp_path / "penguins.csv", ["bill", "flipper", "island", "sex", "species"], rows)
    table = read_table(data, "species")
    assert table.feature_names == ("bill", "flipper") and set(table.text) == {"island", "sex"}
    assert main(["tabular", "train", str(data), "--label", "species", "--epochs", "2", "--runs-dir",
                 str(tmp_path / "runs")]) == 0
    err = capsys.readouterr().err
    assert "one-hot encoded: island (2 categories), sex (2 categories)" in err


def test_decimal_commas_get_a_hint(tmp_path):
    rows = [[f"{k % 3},{k % 7}", f"{k % 5},5", ["x", "y"][k % 2]] for k in range(20)]
    data = _write(tmp_path / "de.csv", ["a", "b", "label"], rows, sep=";")
    with pytest.raises(TabularDataError, match="decimal comma"):
        read_table(data, "label")


def test_a_continuous_label_suggests_targets(tmp_path, capsys):
    rows = [r + [f"{11 + k * 0.37:.2f}"] for k, r in enumerate(_numeric_rows(40, 3))]
    data = _write(tmp_path / "reg.csv", ["a", "b", "c", "price"], rows)
    assert main(["tabular", "train", str(data), "--label", "price", "--runs-dir", str(tmp_path / "runs")]) == 1
    err = capsys.readouterr().err
    assert "--targets" in err and err.startswith("error:")


def test_metrics_say_which_rows_and_evaluate_warns_about_trained_rows(tmp_path, capsys):
    rows = [r + [["red", "green", "blue"][k % 3]] for k, r in enumerate(_numeric_rows(90, 3))]
    data = _write(tmp_path / "c.csv", ["a", "b", "c", "colour"], rows)
    assert main(["tabular", "train", str(data), "--label", "colour", "--epochs", "3", "--runs-dir",
                 str(tmp_path / "runs")]) == 0
    out, err = capsys.readouterr()
    run = out.strip()
    assert "test split: 15 of 90 rows (not trained on)" in err  # 0.15 of 30 per class: 5 each
    assert main(["tabular", "evaluate", run, str(data)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith(f"{data}: 90 rows\n")
    assert "warning: 60 of the 90 rows" in err and "training split" in err  # 30 per class: 5 test, 5 val, 20 train
    fresh = _write(tmp_path / "fresh.csv", ["a", "b", "c", "colour"],
                   [r + [["red", "green", "blue"][k % 3]] for k, r in enumerate(_numeric_rows(30, 3, seed=99))])
    assert main(["tabular", "evaluate", run, str(fresh)]) == 0
    assert "training split" not in capsys.readouterr().err


@pytest.mark.parametrize("cell, shown", [('"1\n2"', r"'1\n2'"), ("1\v2", r"'1\x0b2'"), ("1\f2", r"'1\x0c2'")])
def test_a_cell_with_a_control_character_is_quoted_on_one_line(tmp_path, capsys, cell, shown):
    """The error quoting a cell that holds a line break (quoted) or \\v/\\f printed it raw: two lines, or
    an invisible character ('12' for '1\\v2'); control characters are escaped (audit of issue 29)."""
    data = tmp_path / "d.csv"
    data.write_bytes(("a,b,y\n" + "".join(f"{i},{i % 4},{'pq'[i % 2]}\n" for i in range(20))
                      + f"1,{cell},p\n").encode())
    assert main(["tabular", "train", str(data), "--label", "y", "--runs-dir", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"line 22, column 'b': {shown} is not a number" in err, err
