"""The tabular CSV/schema reader and the splits: every documented error, and round trips."""
from __future__ import annotations

import csv
import io
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stingerml.core.errors import TabularDataError
from stingerml.tabular.csvdata import read_schema, read_table
from stingerml.learn.split import group_split, random_split, stratified_split

GOOD = "a,b,species\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n"


def write(tmp_path, text, name="data.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def error_of(fn, *args, **kwargs) -> str:
    with pytest.raises(TabularDataError) as info:
        fn(*args, **kwargs)
    msg = str(info.value)
    assert "\n" not in msg
    return msg


def test_reads_comma_and_semicolon(tmp_path):
    for text in (GOOD, GOOD.replace(",", ";")):
        t = read_table(write(tmp_path, text), "species")
        assert t.feature_names == ("a", "b")
        assert list(t.X.data) == [1, 2, 3, 4, 5, 6, 7, 8]
        assert t.classes == ("x", "y") and list(t.y) == [0, 1, 0, 1]
        assert list(t.lines) == [2, 3, 4, 5]


def test_text_columns_are_kept_apart_and_numeric_classes_sort_as_numbers(tmp_path):
    t = read_table(write(tmp_path, "id,a,k\nr1,1,10\nr2,2,9\nr3,3,10\n"), "k")
    assert t.feature_names == ("a",) and t.classes == ("9", "10") and list(t.y) == [1, 0, 1]
    assert t.text == {"id": ["r1", "r2", "r3"]} and t.columns == ("id", "a")  # one-hot or --ignore: categorical


def test_missing_column(tmp_path):
    msg = error_of(read_table, write(tmp_path, GOOD), "label")
    assert "data.csv, line 1" in msg and "'label'" in msg
    msg = error_of(read_table, write(tmp_path, GOOD), "species", features=["a", "zz"])
    assert "feature column 'zz'" in msg


def test_text_in_numeric_column(tmp_path):
    msg = error_of(read_table, write(tmp_path, GOOD.replace("5,6", "5,oops")), "species")
    assert "line 4, column 'b'" in msg and "'oops' is not a number" in msg


@pytest.mark.parametrize("cell", ["", "NA", "NaN", "nan", " n/a "])
def test_missing_cells_fail_or_drop(tmp_path, cell):
    text = GOOD.replace("3,4,y", f"3,{cell},y")
    msg = error_of(read_table, write(tmp_path, text), "species")
    assert "line 3, column 'b'" in msg and "--drop-missing" in msg
    t = read_table(write(tmp_path, text), "species", drop_missing=True)
    assert t.dropped == 1 and list(t.lines) == [2, 4, 5]


def test_missing_label_cell(tmp_path):
    msg = error_of(read_table, write(tmp_path, GOOD.replace("3,4,y", "3,4,")), "species")
    assert "line 3, column 'species'" in msg


def test_label_not_in_schema(tmp_path):
    schema = write(tmp_path, json.dumps({"label": "species", "classes": ["x", "z"]}), "schema.json")
    msg = error_of(read_table, write(tmp_path, GOOD), schema=schema)
    assert "line 3, column 'species'" in msg and "'y'" in msg and "schema.json" in msg


def test_schema_gives_features_label_and_class_order(tmp_path):
    schema = write(tmp_path, json.dumps({"features": [{"name": "b"}], "label": "species", "classes": ["y", "x"]}),
                   "schema.json")
    t = read_table(write(tmp_path, GOOD), schema=schema)
    assert t.feature_names == ("b",) and t.classes == ("y", "x") and list(t.y) == [1, 0, 1, 0]
    assert read_schema(schema).label == "species"


def test_bad_schema(tmp_path):
    msg = error_of(read_schema, write(tmp_path, "{nope", "schema.json"))
    assert "schema.json" in msg and "JSON" in msg


def test_fewer_than_two_classes(tmp_path):
    msg = error_of(read_table, write(tmp_path, "a,c\n1,x\n2,x\n"), "c")
    assert "column 'c'" in msg and "at least 2 classes" in msg


def test_class_too_small_for_split():
    msg = error_of(stratified_split, [0] * 10 + [1, 1], ("big", "tiny"), source="data.csv")
    assert "class 'tiny' has 2 row(s)" in msg and "data.csv" in msg


def test_ragged_row_and_empty_file(tmp_path):
    msg = error_of(read_table, write(tmp_path, GOOD + "1,2\n"), "species")
    assert "line 6" in msg and "2 cells" in msg
    assert "empty" in error_of(read_table, write(tmp_path, ""), "species")
    assert "no data rows" in error_of(read_table, write(tmp_path, "a,b\n"), "b")


def test_duplicate_header_and_no_file(tmp_path):
    assert "appears twice" in error_of(read_table, write(tmp_path, "a,a,c\n1,2,x\n"), "c")
    assert "cannot read" in error_of(read_table, tmp_path / "absent.csv", "c")


def test_rows_to_predict_need_no_label_column(tmp_path):
    """need_labels=False (prediction): a file without the label column gives the features, no classes
    and ``y`` None (Table's docstring); with the column, its labels are read as usual."""
    t = read_table(write(tmp_path, "a,b\n1,2\n3,4\n"), "species", need_labels=False)
    assert list(t.X.data) == [1, 2, 3, 4] and t.y is None and t.classes == () and t.Y is None
    t = read_table(write(tmp_path, GOOD), "species", need_labels=False)
    assert t.classes == ("x", "y") and list(t.y) == [0, 1, 0, 1]

def test_header_errors_name_the_columns_counted_from_1(tmp_path):
    """Columns are counted as a spreadsheet counts them: the empty name is the file's third column,
    the second 'b' its fourth."""
    assert "data.csv, line 1, column 3: empty column name" in error_of(
        read_table, write(tmp_path, "a,b, ,c\n1,2,3,x\n"), "c")
    assert "line 1: column 'b' appears twice (columns 2 and 4)" in error_of(
        read_table, write(tmp_path, "a,b,c,b\n1,2,3,4\n"), "c")


def test_regression_targets(tmp_path):
    t = read_table(write(tmp_path, "x,t1,t2\n1,2,3\n4,5,6\n"), targets=["t1", "t2"])
    assert t.feature_names == ("x",) and list(t.Y.data) == [2, 3, 5, 6] and t.y is None


# -- hypothesis round trip ---------------------------------------------------------------------

names = st.text(alphabet="abcdefgh_ XYZ", min_size=1, max_size=6).map(str.strip).filter(bool)
finite = st.floats(allow_nan=False, allow_infinity=False, width=32)  # cells are float32 features


@settings(max_examples=60, deadline=None)
@given(
    st.lists(names, min_size=2, max_size=5, unique=True),
    st.data(),
    st.sampled_from([",", ";"]),
    st.sampled_from(["\n", "\r\n", "\r"]),
    st.booleans(),
)
def test_round_trip(tmp_path_factory, header, data, delimiter, line_end, bom):
    """Any float32 cells and labels with delimiters, quotes, line breaks, \\v and \\f, written by
    Python's csv module with LF, CRLF or CR line ends (and a byte-order mark), read back exactly."""
    n_feat = len(header) - 1
    rows = data.draw(st.lists(st.tuples(st.lists(finite, min_size=n_feat, max_size=n_feat),
                                        st.sampled_from(["cat", "dog", "a b", 'q"t', "x;y,z", "multi\nline",
                                                             "cr\r\nlf", "v\vtab", "form\ffeed"])),
                              min_size=2, max_size=8))
    labels = [r[1] for r in rows]
    if len(set(labels)) < 2:
        rows[0] = (rows[0][0], "other" if labels[0] != "other" else "cat")
    buf = io.StringIO()
    # csv.writer quotes a line break only if it is in its lineterminator: with CR ends, quote every field
    w = csv.writer(buf, delimiter=delimiter, lineterminator=line_end,
                   quoting=csv.QUOTE_ALL if line_end == "\r" else csv.QUOTE_MINIMAL)
    w.writerow(header)
    for feats, lab in rows:
        w.writerow([repr(v) for v in feats] + [lab])
    p = tmp_path_factory.mktemp("rt") / "d.csv"
    p.write_bytes(("\ufeff" if bom else "").encode() + buf.getvalue().encode("utf-8"))
    t = read_table(p, header[-1], features=header[:-1])
    assert [list(r) for r in t.X.rows()] == [list(f) for f, _ in rows]
    assert [t.classes[k] for k in t.y] == [lab for _, lab in rows]


# -- splits -------------------------------------------------------------------------------------


def test_stratified_split_is_deterministic_and_stratified():
    y = [k % 3 for k in range(90)]
    s = stratified_split(y, ("a", "b", "c"), seed=7)
    assert s == stratified_split(y, ("a", "b", "c"), seed=7)
    assert s != stratified_split(y, ("a", "b", "c"), seed=8)
    assert sorted(s.train + s.val + s.test) == list(range(90))
    # 30 rows per class: test and validation round(0.15 * 30) = round(4.5) = 5 each (half up)
    counts = [[sum(1 for i in p if y[i] == k) for k in range(3)] for p in s]
    assert counts == [[20, 20, 20], [5, 5, 5], [5, 5, 5]]


def test_random_and_group_splits():
    s = random_split(20, seed=1)
    assert sorted(s.train + s.val + s.test) == list(range(20)) and (len(s.val), len(s.test)) == (3, 3)
    groups = [f"g{i // 4}" for i in range(40)]
    g = group_split(groups, seed=3)
    parts = [{groups[i] for i in p} for p in g]
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert sorted(g.train + g.val + g.test) == list(range(40))
    assert "group" in error_of(group_split, ["a", "a", "b"])
    assert math.isclose(len(g.test) / 40, 0.15, abs_tol=0.1)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["1e39", "-1e39", "1e308", "1e999", "-1e999", "9" * 400, "3.4028236e38"]),
       st.integers(0, 2), st.integers(2, 5))
def test_a_cell_beyond_float32_is_one_line_naming_line_and_column(tmp_path_factory, cell, column, line):
    rows = [["1", "2", "3", "a"], ["4", "5", "6", "b"], ["7", "8", "9", "a"], ["1", "1", "1", "b"]]
    rows[line - 2][column] = cell
    p = tmp_path_factory.mktemp("big") / "d.csv"
    p.write_text("x,y,z,label\n" + "".join(",".join(r) + "\n" for r in rows))
    with pytest.raises(TabularDataError, match=rf"line {line}, column '{'xyz'[column]}' \({column + 1}\): "
                                                r"'.*' is beyond float32's range") as info:
        read_table(p, "label")
    assert "\n" not in str(info.value)
