"""CrowdMind's contract (seed 002): every documented meta.json key, the train.yaml layout, schema keys.

The expected keys and the config come from the seed's own README (copied into
vectors/crowdmind/, see its PROVENANCE.md), not from stingerml.
"""
from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pytest

import hands
from stingerml.cli import main
from stingerml.formats import network
from stingerml.tabular.config import read_config
from test_tabular_runs import make_csv

VECTORS = Path(__file__).resolve().parent.parent / "vectors" / "crowdmind"


def example_meta() -> dict:
    """The README's meta.json example with its placeholders (``[...]``, ``{...}``, ``, ...``) made empty."""
    text = (VECTORS / "meta_example.json.txt").read_text()
    text = text.replace("[...]", "[]").replace("{...}", "{}")
    return json.loads(re.sub(r",\s*\.\.\.\s*}", "}", text))


def leaf_paths(doc: dict, prefix=()):
    for key, value in doc.items():
        if isinstance(value, dict) and value:
            yield from leaf_paths(value, prefix + (key,))
        else:
            yield prefix + (key,), value


def json_kind(v) -> str:
    return "number" if isinstance(v, (int, float)) and not isinstance(v, bool) else type(v).__name__


def train(tmp_path, capsys, *args) -> Path:
    data = make_csv(tmp_path / "d.csv")
    assert main(["tabular", "train", str(data), "--label", "colour", "--runs-dir", str(tmp_path / "runs"),
                 *args]) == 0
    return Path(capsys.readouterr().out.strip())


@pytest.mark.parametrize("kind, dtype", [("int8", "int8"), ("float", "float32")])
def test_meta_json_has_every_documented_key(tmp_path, capsys, kind, dtype):
    """With --tflite-kind float too: the seed's quantization keys name the float model's types."""
    run = train(tmp_path, capsys, "--hidden", "5", "--epochs", "3", "--quiet", "--tflite-kind", kind)
    meta = json.loads((run / "output" / "meta.json").read_text())
    paths = list(leaf_paths(example_meta()))
    assert len(paths) == 19  # the example's leaves (mapping.0 included): the test reads all of them
    for path, value in paths:
        node = meta
        for key in path:
            assert isinstance(node, dict) and key in node, f"meta.json lacks {'.'.join(path)}"
            node = node[key]
        assert json_kind(node) == json_kind(value), f"{'.'.join(path)} is {node!r}, documented as {value!r}"
    assert meta["quantization"]["type"] == meta["quantization"]["input_type"] == dtype
    assert meta["quantization"]["output_type"] == dtype
    tflite = {"int8": "model.tflite", "float": "model_float32.tflite"}[kind]
    assert sorted(p.name for p in (run / "output").glob("*.tflite")) == [tflite]
    m = meta["model"]["metrics"]
    assert m["test_accuracy"] == m["accuracy"] and len(m["confusion_matrix"]) == 3
    assert ("int8" in m) == (kind == "int8")
    assert meta["labels"]["mapping"] == {"0": "blue", "1": "green", "2": "red"}
    assert meta["features"]["preprocessing"]["label_classes"] == ["blue", "green", "red"]
    # stingerml's own keys stay beside CrowdMind's
    assert "names" in meta["features"]
    if kind == "int8":
        assert "scale" in meta["quantization"]["input"]
    else:  # which file the float32 types describe
        assert meta["quantization"]["file"] == tflite == meta["tflite_float"]["file"]


SEED_SETTINGS = {"seed": 42, "split": [0.70, 0.15, 0.15], "hidden": [64, 32], "dropout": 0.2,
                 "epochs": 100, "batch_size": 32, "patience": 10, "calibration_rows": 100}
"""What the README's train.yaml says, field by field (read by a person from the README)."""


def test_cli_config_is_the_seeds_train_yaml(tmp_path, capsys):
    pytest.importorskip("yaml")
    cfg = shutil.copy(VECTORS / "train.yaml", tmp_path / "train.yaml")
    run = train(tmp_path, capsys, "--config", str(cfg), "--epochs", "2", "--calibration-rows", "7", "--quiet")
    settings = json.loads((run / "run.json").read_text())["settings"]
    # the command line wins over the file: epochs and calibration rows; the rest is the file's
    expected = {**SEED_SETTINGS, "epochs": 2, "calibration_rows": 7}
    assert {k: settings[k] for k in expected} == expected
    meta = json.loads((run / "output" / "meta.json").read_text())
    assert meta["representative"]["rows_used"] == 7 == meta["quantization"]["representative_rows"]
    assert meta["model"]["architecture"]["hidden"] == [64, 32]


def test_config_json_and_toml_read_as_the_yaml(tmp_path):
    yaml = pytest.importorskip("yaml")
    doc = yaml.safe_load((VECTORS / "train.yaml").read_text())  # PyYAML as the oracle of the layout
    (tmp_path / "c.json").write_text(json.dumps(doc))
    toml = ["random_seed = 42"] + [f"[{section}]\n" + "\n".join(f"{k} = {json.dumps(v)}" for k, v in values.items())
                                   for section, values in doc.items() if isinstance(values, dict)]
    (tmp_path / "c.toml").write_text("\n".join(toml) + "\n")
    from_yaml = read_config(VECTORS / "train.yaml")
    assert {k: list(v) if isinstance(v, tuple) else v for k, v in from_yaml.items()} == SEED_SETTINGS
    assert read_config(tmp_path / "c.json") == from_yaml
    if sys.version_info >= (3, 11):
        assert read_config(tmp_path / "c.toml") == from_yaml


def _error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


def test_cli_yaml_without_pyyaml_is_one_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "yaml", None)  # import yaml -> ImportError
    cfg = shutil.copy(VECTORS / "train.yaml", tmp_path / "train.yaml")
    data = make_csv(tmp_path / "d.csv")
    assert main(["tabular", "train", str(data), "--label", "colour", "--config", str(cfg),
                 "--runs-dir", str(tmp_path / "runs")]) == 1
    assert "pip install 'stingerml[yaml]'" in _error(capsys)
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("doc, expect", [
    ({"training": {"epochs": 3, "learning_rate": 0.1}}, "unknown setting 'training.learning_rate'"),
    ({"model": {"activation": "tanh"}}, "'model.activation' is 'tanh'"),
    ({"data": {"train_ratio": 0.8}}, "give all three of data.train_ratio"),
    ({"training": {"epochs": 0}}, "'training.epochs' must be a whole number"),
    ({"training": 5}, "'training' must be a section"),
    ({"data": {"preprocess": "hands22"}}, "'data.preprocess': unknown preprocessing 'hands22'; the steps are hands21"),
    ({"data": {"preprocess": 21}}, "'data.preprocess' must be the name of a preprocessing step"),
])
def test_cli_bad_config_is_one_clear_error(tmp_path, capsys, doc, expect):
    (tmp_path / "c.json").write_text(json.dumps(doc))
    data = make_csv(tmp_path / "d.csv")
    assert main(["tabular", "train", str(data), "--label", "colour", "--config", str(tmp_path / "c.json"),
                 "--runs-dir", str(tmp_path / "runs")]) == 1
    err = _error(capsys)
    assert expect in err and "c.json" in err
    assert not (tmp_path / "runs").exists()


def test_cli_unknown_schema_key_is_one_clear_error(tmp_path, capsys):
    (tmp_path / "schema.json").write_text(json.dumps({"label": "colour", "feature_columns": ["a", "b"]}))
    data = make_csv(tmp_path / "d.csv")
    assert main(["tabular", "train", str(data), "--schema", str(tmp_path / "schema.json"),
                 "--runs-dir", str(tmp_path / "runs")]) == 1
    err = _error(capsys)
    assert "unknown key 'feature_columns'" in err and "schema.json" in err
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("level, lines", [("WARNING", False), ("error", False), ("INFO", True), ("DEBUG", True)])
def test_cli_log_level(tmp_path, capsys, level, lines):
    data = make_csv(tmp_path / "d.csv")
    assert main(["tabular", "train", str(data), "--label", "colour", "--hidden", "4", "--epochs", "2",
                 "--log-level", level, "--runs-dir", str(tmp_path / "runs")]) == 0
    err = capsys.readouterr().err
    assert ("epoch 2/2" in err) == lines
    assert ("settings: " in err) == (level == "DEBUG")


# -- the preprocessing step from the config or the schema (issue 25: "--preprocess hands21, schema or config") --


def _hand_run(tmp_path, capsys, *args) -> Path:
    data = hands.write_csv(tmp_path / "hands.csv", n=80)
    assert main(["tabular", "train", str(data), "--label", "letter", "--hidden", "4", "--epochs", "2", "--quiet",
                 "--runs-dir", str(tmp_path / "runs"), *args]) == 0
    return Path(capsys.readouterr().out.strip())


def _step(run: Path) -> str:
    """The step as the run records it: run.json's settings, model.json and meta.json must agree."""
    settings = json.loads((run / "run.json").read_text())["settings"]["preprocess"]
    model = network.load(run / "output" / "model.json").preprocess
    steps = json.loads((run / "output" / "meta.json").read_text())["features"]["preprocessing"]["steps"]
    assert settings == model and steps == ([model] if model else []) + ["standard_scaler"]
    return model


def test_config_sets_the_preprocessing_step(tmp_path, capsys):
    assert read_config(_json(tmp_path / "c.json", {"data": {"preprocess": "hands21"}})) == {"preprocess": "hands21"}
    assert _step(_hand_run(tmp_path, capsys, "--config", str(tmp_path / "c.json"))) == "hands21"
    # the command line wins over the file, either way ("" names no step)
    assert _step(_hand_run(tmp_path, capsys, "--config", str(tmp_path / "c.json"), "--preprocess", "")) == ""
    _json(tmp_path / "none.json", {"data": {"preprocess": ""}})
    assert _step(_hand_run(tmp_path, capsys, "--config", str(tmp_path / "none.json"), "--preprocess",
                           "hands21")) == "hands21"


def test_schema_sets_the_preprocessing_step(tmp_path, capsys):
    schema = _json(tmp_path / "schema.json", {"label": "letter", "preprocess": "hands21"})
    run = _hand_run(tmp_path, capsys, "--schema", str(schema))
    assert _step(run) == "hands21" and json.loads((run / "data" / "schema.json").read_text())["preprocess"]


def test_none_trains_without_the_schemas_step(tmp_path, capsys):
    """`--preprocess none` (or a config's `preprocess: none`) overrides the schema's step; `""` cannot,
    as leaving the option out gives the schema's step."""
    schema = str(_json(tmp_path / "schema.json", {"label": "letter", "preprocess": "hands21"}))
    assert _step(_hand_run(tmp_path, capsys, "--schema", schema, "--preprocess", "none")) == ""
    _json(tmp_path / "c.json", {"data": {"preprocess": "none"}})
    assert read_config(tmp_path / "c.json") == {"preprocess": "none"}
    assert _step(_hand_run(tmp_path, capsys, "--schema", schema, "--config", str(tmp_path / "c.json"))) == ""
    assert _step(_hand_run(tmp_path, capsys, "--schema", schema, "--preprocess", "")) == "hands21"


@pytest.mark.parametrize("step, expect", [
    ("hands22", "'preprocess': unknown preprocessing 'hands22'; the steps are hands21"),
    (["hands21"], "'preprocess': not ['hands21']"),
])
def test_bad_schema_step_is_one_clear_error(tmp_path, capsys, step, expect):
    schema = _json(tmp_path / "schema.json", {"label": "letter", "preprocess": step})
    data = hands.write_csv(tmp_path / "hands.csv", n=40)
    assert main(["tabular", "train", str(data), "--schema", str(schema), "--runs-dir", str(tmp_path / "runs")]) == 1
    err = _error(capsys)
    assert expect in err and "schema.json" in err
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("where", ["schema", "config"])
def test_a_step_from_a_file_is_checked_against_the_data(tmp_path, capsys, where):
    """The row-width check of --preprocess applies to a step named in a file: 3 columns are no hand."""
    data = make_csv(tmp_path / "d.csv")
    if where == "schema":
        args = ["--schema", str(_json(tmp_path / "schema.json", {"label": "colour", "preprocess": "hands21"}))]
    else:
        args = ["--label", "colour", "--config", str(_json(tmp_path / "c.json", {"data": {"preprocess": "hands21"}}))]
    assert main(["tabular", "train", str(data), *args, "--runs-dir", str(tmp_path / "runs")]) == 1
    err = _error(capsys)
    assert "preprocessing hands21 takes 63 values" in err and "d.csv" in err
    assert not (tmp_path / "runs").exists()


def _json(path: Path, doc) -> Path:
    path.write_text(json.dumps(doc))
    return path
