"""Hostile files outside the run folders (issue 29, groups 4 and 6): `diff` on odd CSVs and endless
inputs, header literals beyond float32 or with non-ASCII digits, `tabular predict` on a non-finite
row; each is one line (and for diff exit 2), never a traceback."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from stingerml.cli import main
from stingerml.core.errors import ModelFormatError
from stingerml.formats.header import export_header, parse_header
from stingerml.formats.mlmd import parse

ROOT = Path(__file__).resolve().parent.parent


def run_diff(capsys, a, b):
    code = main(["diff", str(a), str(b)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("cell", ["9" * 400, "-" + "9" * 400])
def test_diff_of_a_400_digit_cell_is_no_traceback(tmp_path, capsys, cell):
    a = tmp_path / "a.csv"
    b = tmp_path / "b.csv"
    a.write_text(f"x,y\n{cell},1.5\n")
    b.write_text("x,y\n1.0,1.5\n")
    code, out, err = run_diff(capsys, a, b)
    assert code == 1 and err == "", err  # compared (as text): they differ
    b.write_text(f"x,y\n{cell},1.5\n")
    assert run_diff(capsys, a, b)[0] == 0


def test_diff_of_a_huge_field_is_exit_2_with_one_line(tmp_path, capsys):
    a = tmp_path / "a.csv"
    a.write_text("x,y\n\"" + "z" * 131073 + "\",1\n")
    code, out, err = run_diff(capsys, a, a)
    assert code == 2 and out == "" and err.startswith("error: ") and err.count("\n") == 1, err


def test_diff_of_an_endless_device_is_bounded(tmp_path):
    """/dev/zero as an input: refused after a bounded read (before: read until memory ran out)."""
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    proc = subprocess.run([sys.executable, "-c", "import resource, sys; "
                           "resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30)); "
                           "from stingerml.cli import main; sys.exit(main(['diff', '/dev/zero', sys.argv[1]]))",
                           str(ROOT / "stingerml" / "data" / "factory_lr.mlmd")],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 2 and proc.stderr.startswith("error: /dev/zero: more than") \
        and proc.stderr.count("\n") == 1, proc.stderr


@pytest.fixture(scope="module")
def header_text():
    lr = parse((ROOT / "stingerml" / "data" / "factory_lr.mlmd").read_bytes())
    mlp = parse((ROOT / "stingerml" / "data" / "factory_mlp.mlmd").read_bytes())
    return export_header(lr, mlp)


@pytest.mark.parametrize("literal, message", [("1e39f", "beyond float32"), ("-3.5e38f", "beyond float32"),
                                              ("1e999f", "beyond float32"), ("\u0661.5f", "not a float literal")])
def test_header_literal_beyond_float32_or_not_ascii_is_a_model_format_error(header_text, literal, message):
    start = header_text.index("mlLrIntercept = ") + len("mlLrIntercept = ")
    end = header_text.index(";", start)
    with pytest.raises(ModelFormatError, match=message):
        parse_header(header_text[:start] + literal + header_text[end:])


def test_header_size_with_a_superscript_digit_is_a_model_format_error(header_text):
    bad = header_text.replace("#define ML_LR_FEATURES 18", "#define ML_LR_FEATURES 1\u00b2", 1)
    assert bad != header_text
    with pytest.raises(ModelFormatError):
        parse_header(bad)
    start = header_text.index("mlLrCoef[") + len("mlLrCoef[")
    end = header_text.index("]", start)
    with pytest.raises(ModelFormatError):
        parse_header(header_text[:start] + "\u00b2" + header_text[end:])


@pytest.mark.parametrize("cell", ["1e999", "-1e999", "1e39", "9" * 400])
def test_predict_on_a_row_beyond_float32_refuses(tmp_path, capsys, cell):
    from test_tabular_runs import make_csv
    from stingerml.tabular.runs import RunSettings, train_run

    data = make_csv(tmp_path / "d.csv", n=30)
    run = train_run(data, RunSettings(label="colour", hidden=[4], epochs=1), runs_dir=tmp_path / "r").run_dir
    rows = data.read_text().splitlines()
    rows[2] = ";".join([cell, *rows[2].split(";")[1:]])
    (tmp_path / "p.csv").write_text("\n".join(rows) + "\n")
    assert main(["tabular", "predict", str(run), str(tmp_path / "p.csv"), "-o", str(tmp_path / "out.csv")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "line 3, column 'a'" in err and err.count("\n") == 1, err
    assert not (tmp_path / "out.csv").exists()


DEEP = "[" * 50000 + "]" * 50000


def test_deeply_nested_json_in_the_newer_readers_is_one_error(tmp_path):
    """The readers main added beside issue 29 (a sequence model, a predictor's meta.json, a --config
    JSON) go through the guarded JSON reader too: a clear error, no RecursionError."""
    from stingerml.core.errors import TabularDataError
    from stingerml.sequence import model as sequence_model
    from stingerml.tabular.config import read_config
    from stingerml.tabular.predictor import Predictor

    with pytest.raises(ModelFormatError, match="nested"):
        sequence_model.loads(DEEP.encode(), "seq.json")
    (tmp_path / "c.json").write_text(DEEP)
    with pytest.raises(TabularDataError, match="nested"):
        read_config(tmp_path / "c.json")
    out = tmp_path / "output"
    out.mkdir()
    (out / "model.json").write_text(DEEP)
    with pytest.raises(ModelFormatError, match="nested"):
        Predictor.load(out)
    from stingerml.blaster.network import to_network
    from stingerml.formats import mlmd, network

    mlp = Path(__file__).parent.parent / "vectors" / "browser" / "session_a.mlp.mlmd"
    network.save(to_network(mlmd.parse(mlp.read_bytes(), source=str(mlp))), out / "model.json")
    (out / "meta.json").write_text(DEEP)
    with pytest.raises(ModelFormatError, match="meta.json.*nested"):
        Predictor.load(out)


# --- group 6: report.json of the right JSON but wrong types (49 of 168 variants crashed `report`) ---

WRONG = [None, True, 1e308, "", [], [1], {}]  # one of each JSON type (and an empty array)


def _paths(doc, prefix=()):
    """Every key path of a parsed report (objects all the way down, the first item of each array)."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield prefix + (key,)
            yield from _paths(value, prefix + (key,))
    elif isinstance(doc, list) and doc:
        yield prefix + (0,)
        yield from _paths(doc[0], prefix + (0,))


def _replaced(doc, path, value):
    import copy

    out = copy.deepcopy(doc)
    node = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


@pytest.fixture(scope="module")
def trained_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "out"
    assert main(["train", str(ROOT / "vectors" / "sessions" / "tiny.bin"), "--out", str(out), "--quiet"]) == 0
    return out


def test_report_of_every_wrong_type_is_a_page_or_one_line(trained_report, tmp_path, capsys):
    import json
    import shutil

    report = json.loads((trained_report / "report.json").read_text())
    report["shot_traces"][0]["session"] = ""  # one trace with every optional key, so each is replaced too
    sessions = [dict(report["summary"], name="a.bin")]  # and the parts of a --concat run and of several sessions
    report["summary"]["sessions"] = [{k: v for k, v in s.items() if not isinstance(v, (list, dict))} for s in sessions]
    report["import"] = {"files": ["a.bin", "b.bin"], "skipped": ["c.bin"], "samples": [10, 20], "spansMs": [100, 200]}
    paths = [p for p in _paths(report)
             if not (len(p) > 2 and p[:2] in (("metrics", "split"),))]  # the split's index lists: not read
    folder = tmp_path / "run"
    shutil.copytree(trained_report, folder)
    log = str(ROOT / "vectors" / "sessions" / "tiny.bin")
    capsys.readouterr()
    outcomes = {0: 0, 1: 0}
    no_traces = dict(report, shot_traces=[])  # drawing the IMU is the slow part: only for the traces' own paths
    for path in paths:
        for value in WRONG:
            base = report if path[0] == "shot_traces" else no_traces
            (folder / "report.json").write_text(json.dumps(_replaced(base, path, value)))
            (folder / "report.html").unlink(missing_ok=True)
            code = main(["report", str(folder), "--log", log, "-q"])
            out, err = capsys.readouterr()
            assert code in (0, 1), (path, value)
            outcomes[code] += 1
            if code == 1:
                lines = err.strip().splitlines()
                assert len(lines) == 1 and lines[0].startswith("error: ") and "report.json" in lines[0], (path, value, err)
                assert not (folder / "report.html").exists()
    assert outcomes[1] > 100 and outcomes[0] > 100, outcomes  # both kinds of outcome were exercised


# --- group 6: export-model of finite weights near ±3e38 (ValueError: cannot convert float NaN to integer) ---

@pytest.mark.parametrize("part", ["coef", "mean"])
def test_export_model_of_weights_near_float32_max_is_one_error(tmp_path, capsys, part):
    import struct

    from stingerml.formats import mlmd

    big = struct.unpack("<f", struct.pack("<f", 3.0e38))[0]  # finite float32
    sign = [big] * 9 + [-big] * 9
    model = (mlmd.LRModel(mean=[0.0] * 18, scale=[1.0] * 18, coef=sign, intercept=big) if part == "coef" else
             mlmd.LRModel(mean=sign, scale=[1e-38] * 18, coef=[1.0] * 18, intercept=0.0))
    path = tmp_path / "big.mlmd"
    path.write_bytes(mlmd.build(model))
    out = tmp_path / "out"
    code = main(["export-model", str(path), "-o", str(out), "--log", str(ROOT / "vectors" / "sessions" / "tiny.bin")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and err[0].startswith("error: int8 quantization: "), err
    assert "no float32 step" in err[0] and not out.exists()


# --- group 4/6: the sequence trainer's long CSV goes through core.csvfile (it split rows on \v, \f, quoted newlines) ---

def test_sequence_csv_reads_quoted_line_breaks_and_control_characters(tmp_path):
    from stingerml.sequence.data import read_csv_long

    path = tmp_path / "seq.csv"
    path.write_bytes(b'\xef\xbb\xbfsample_id,step,a,b,label\r\n'
                     b's1,0,1,2,"multi\nline"\r\ns1,1,3,4,"multi\nline"\r\n'
                     b's2,0,5,6,"x\x0by\x0cz"\r\n')
    data = read_csv_long(path)
    assert data.labels == ["multi\nline", "x\x0by\x0cz"]  # one label per sample, kept whole
    assert list(data.X.lengths) == [2, 1]
    assert list(data.X.data) == [1, 2, 3, 4, 5, 6, 0, 0]


@pytest.mark.parametrize("cell, message", [("1e39", "beyond float32"), ("-1e999", "beyond float32"),
                                           ("nan", "not a finite number"), ("9" * 400, "beyond float32")])
def test_sequence_csv_cell_beyond_float32_is_one_line(tmp_path, cell, message):
    from stingerml.core.errors import SequenceDataError
    from stingerml.sequence.data import read_csv_long

    path = tmp_path / "seq.csv"
    path.write_text(f"sample_id,step,a,label\ns1,0,1,x\ns1,1,{cell},x\n")
    with pytest.raises(SequenceDataError) as info:
        read_csv_long(path)
    assert str(info.value).startswith(f"{path}: line 3, column a: ") and message in str(info.value)
    assert "\n" not in str(info.value)


# --- group 6: YAML/TOML configs get the JSON reader's limits (size, depth, no devices) and YAML no aliases ---

LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8))  # 9**9 values


@pytest.mark.parametrize("name, text, message", [
    ("deep.yaml", "[" * 100000 + "]" * 100000, "nested more than 32 levels"),
    ("deep40.yaml", "a: " + "[" * 40 + "]" * 40, "nested more than 32 levels"),
    ("deep.toml", "a = " + "[" * 100000 + "]" * 100000, "nested more than 32 levels"),
    ("deep40.toml", "a = " + "[" * 40 + "]" * 40, "nested more than 32 levels"),
    ("laughs.yaml", LAUGHS, "YAML aliases"),
    ("big.yaml", "a: " + "x" * (2 << 20), "too large"),
])
def test_config_file_limits(tmp_path, capsys, name, text, message):
    if name.endswith(".yaml"):
        pytest.importorskip("yaml")
    if name.endswith(".toml"):
        pytest.importorskip("tomllib")
    from stingerml.core.errors import TabularDataError
    from stingerml.tabular.config import parse_document

    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(TabularDataError) as info:
        parse_document(path)
    assert str(info.value).startswith(f"{path}: ") and message in str(info.value) and "\n" not in str(info.value)


def test_config_that_is_a_device_is_not_read(tmp_path):
    from stingerml.core.errors import TabularDataError
    from stingerml.tabular.config import parse_document

    link = tmp_path / "train.json"
    link.symlink_to("/dev/zero")
    with pytest.raises(TabularDataError, match="not a regular file"):
        parse_document(link)


# --- group 6: the one-hot metadata of a model and the API's schema.json through core.jsonfile ---

@pytest.mark.parametrize("doc, message", [
    (DEEP, "nested more than 32 levels"),
    ('{"columns": "island", "categories": {}}', '"columns" must be an array'),
    ('{"columns": ["island"], "categories": {"island": [1, 2]}}', '"categories.island[0]" must be a string'),
    ('{"columns": ["island"], "categories": {"island": ["a", "b", "c"]}}', "3 encoded features, the network takes 2"),
])
def test_a_models_one_hot_metadata_is_checked(doc, message):
    from array import array

    from stingerml.core.dense import DenseLayer, DenseNetwork
    from stingerml.tabular.categorical import METADATA_KEY, network_encoding

    net = DenseNetwork((DenseLayer(array("f", [0.5, 0.5]), array("f", [0.0]), 2, 1),), "sigmoid",
                       metadata=((METADATA_KEY, doc),))
    with pytest.raises(ModelFormatError) as info:
        network_encoding(net, "m.json")
    assert str(info.value).startswith("m.json: metadata one_hot") and message in str(info.value)


def test_the_apis_schema_answer_is_read_with_the_json_limits(monkeypatch):
    from stingerml.core.errors import ApiError
    from stingerml.tabular.api import ApiClient

    client = ApiClient("http://127.0.0.1:9", "token")
    monkeypatch.setattr(client, "request", lambda method, url, *a, **k: (200, DEEP.encode()))
    with pytest.raises(ApiError, match="nested more than 32 levels.*schema.json"):
        client.schema("d1")


# --- mutants that survived tools/mutation.py on core/csvfile.py (issue 29, group 8) ---

def test_a_missing_closing_quote_names_the_field_limit_and_the_likely_cause(tmp_path, capsys):
    import csv

    data = tmp_path / "d.csv"
    data.write_text("a,b,label\n1,2,x\n3,\"" + "4" * (csv.field_size_limit() + 10) + "\n5,6,y\n")
    assert main(["tabular", "train", str(data), "--label", "label", "--runs-dir", str(tmp_path / "runs")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"line 3: a field longer than {csv.field_size_limit()} characters " \
        "(a missing closing quote?); fix the quoting" in err, err


def test_a_streamed_csv_reports_its_position_every_4096_rows(tmp_path):
    from stingerml.core.csvfile import file_rows
    from stingerml.core.errors import TabularDataError

    data = tmp_path / "d.csv"
    lines = ["a,b"] + [f"{r},{r % 7}" for r in range(2 * 4096 + 100)]  # the header is a row too
    data.write_text("\n".join(lines) + "\n")
    positions = []
    assert sum(1 for _ in file_rows(data, "d.csv", TabularDataError, position=positions.append)) == len(lines)
    assert len(positions) == 2  # after rows 4096 and 8192
    text = data.read_bytes()
    assert positions[0] < positions[1] <= len(text) and positions[0] >= len(b"\n".join(text.split(b"\n")[:4096]))
