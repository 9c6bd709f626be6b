"""``stingerml export-model``: the files equal the library's, meta.json, errors write nothing."""
from __future__ import annotations

import dataclasses
import json
import re
from array import array

import pytest

from stingerml.blaster.log import read_log, write_log
from stingerml.blaster.network import log_rows, read_network
from stingerml.cli import main
from stingerml.deploy.quantize import quantize, representative_rows
from stingerml.formats.onnx import to_onnx
from stingerml.formats.tflite import to_tflite


@pytest.mark.parametrize("kind", ["mlp", "lr"])
def test_writes_onnx_tflite_and_meta(vectors, tmp_path, capsys, kind):
    model = vectors / "browser" / f"session_a.{kind}.mlmd"
    log = vectors / "sessions" / "session_a.bin"
    out = tmp_path / "new" / "deploy"
    assert main(["export-model", str(model), "-o", str(out), "--log", str(log)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["meta.json", "model.onnx", "model.tflite"]
    net = read_network(model)
    qnet = quantize(net, representative_rows(log_rows(log, net.n_features)[0]))
    assert (out / "model.onnx").read_bytes() == to_onnx(net)
    assert (out / "model.tflite").read_bytes() == to_tflite(qnet)
    meta = json.loads((out / "meta.json").read_text())
    assert meta["quantization"] == json.loads(json.dumps(qnet.to_dict()))
    assert meta["onnx"] == {"scaler_folded": True}
    assert meta["network"]["shape"] == ([30, 64, 32, 1] if kind == "mlp" else [18, 1])
    assert meta["representative"] == {"logs": ["session_a.bin"], "rows_available": 290, "rows_used": 100, "seed": 0}
    assert meta["check"]["rows"] == 290 and meta["check"]["int8_accuracy"] >= meta["check"]["float_accuracy"] - 0.02
    printed = capsys.readouterr().out
    assert "model.onnx" in printed and "int8 on 290 dataset rows" in printed


def test_onnx_only_without_a_log_drops_an_older_tflite(vectors, tmp_path, capsys):
    model = vectors / "firmware" / "factory_lr.mlmd"
    (tmp_path / "model.tflite").write_bytes(b"old")  # from an earlier export: no longer described by meta.json
    (tmp_path / "notes.txt").write_bytes(b"mine")
    assert main(["export-model", str(model), "--out", str(tmp_path), "--no-fold-scaler"]) == 0
    assert (tmp_path / "model.onnx").read_bytes() == to_onnx(read_network(model), fold_scaler=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["meta.json", "model.onnx", "notes.txt"]
    meta = json.loads((tmp_path / "meta.json").read_text())
    assert meta["quantization"] is None and meta["onnx"] == {"scaler_folded": False} and "check" not in meta
    assert "model.tflite not written" in capsys.readouterr().err


def _no_shot_log(vectors, tmp_path):
    log = read_log(vectors / "sessions" / "tiny.bin")
    path = tmp_path / "quiet.bin"
    quiet = array(log.trigger.typecode, [0]) * len(log.trigger)
    write_log(dataclasses.replace(log, trigger=quiet), path)
    return path


@pytest.mark.parametrize("case,message", [
    ("nan_weights", "non-finite|is nan"),
    ("no_rows", "no dataset rows"),
    ("out_is_a_file", "is a file"),
    ("missing_model", "cannot read the model"),
])
def test_errors_write_nothing(vectors, tmp_path, capsys, case, message):
    out = tmp_path / "out"
    out.mkdir()
    (out / "model.onnx").write_bytes(b"old")
    model = vectors / "browser" / "session_a.mlp.mlmd"
    target, log = out, vectors / "sessions" / "session_a.bin"
    if case == "nan_weights":
        model = vectors / "mlmd_cases" / "mlp_nan_b3.mlmd"
    elif case == "no_rows":
        log = _no_shot_log(vectors, tmp_path)
    elif case == "out_is_a_file":
        target = out / "model.onnx"
    else:
        model = tmp_path / "missing.bin"
    assert main(["export-model", str(model), "--out", str(target), "--log", str(log)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert re.search(message, err)
    assert sorted(p.name for p in out.iterdir()) == ["model.onnx"] and (out / "model.onnx").read_bytes() == b"old"


def test_rows_must_be_positive(vectors, tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["export-model", str(vectors / "firmware" / "factory_lr.mlmd"), "-o", str(tmp_path), "--calibration-rows", "0"])
    assert info.value.code == 2 and "expected a whole number >= 1, got '0'" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_out_is_checked_before_the_work(vectors, tmp_path, monkeypatch, capsys):
    from stingerml.blaster import network as blaster

    def no_work(*args, **kwargs):
        raise AssertionError("the logs were read before --out was checked")

    monkeypatch.setattr(blaster, "log_rows", no_work)
    (tmp_path / "afile").write_bytes(b"x")
    assert main(["export-model", str(vectors / "browser" / "session_a.mlp.mlmd"), "-o", str(tmp_path / "afile" / "sub"),
                 "--log", str(vectors / "sessions" / "session_a.bin")]) == 1
    assert "afile: is a file" in capsys.readouterr().err


# -- individual paths: --onnx FILE --tflite FILE --meta FILE -----------------------------------------


@pytest.mark.parametrize("kind", ["mlp", "lr"])
def test_individual_paths_give_the_out_forms_bytes(vectors, tmp_path, capsys, kind):
    model = vectors / "browser" / f"session_a.{kind}.mlmd"
    log = str(vectors / "sessions" / "session_a.bin")
    assert main(["export-model", str(model), "-o", str(tmp_path / "dir"), "--log", log]) == 0
    out = tmp_path / "files"
    out.mkdir()
    (out / "notes.txt").write_bytes(b"mine")
    (out / "blaster.onnx").write_bytes(b"old")
    assert main(["export-model", str(model), "--onnx", str(out / "blaster.onnx"), "--tflite", str(out / "blaster.tflite"),
                 "--meta", str(out / "blaster.json"), "--log", log]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["blaster.json", "blaster.onnx", "blaster.tflite", "notes.txt"]
    for mine, theirs in (("blaster.onnx", "model.onnx"), ("blaster.tflite", "model.tflite"), ("blaster.json", "meta.json")):
        assert (out / mine).read_bytes() == (tmp_path / "dir" / theirs).read_bytes()
    printed = capsys.readouterr()
    assert str(out / "blaster.tflite") in printed.out and "warning" not in printed.err


def test_the_issues_form_onnx_and_tflite(vectors, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model = vectors / "browser" / "session_a.mlp.mlmd"
    log = vectors / "sessions" / "session_a.bin"
    assert main(["export-model", str(model), "--onnx", "model.onnx", "--tflite", "model.tflite", "--log", str(log)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx", "model.tflite"]
    net = read_network(model)
    assert (tmp_path / "model.onnx").read_bytes() == to_onnx(net)
    assert (tmp_path / "model.tflite").read_bytes() == to_tflite(quantize(net, representative_rows(log_rows(log, 30)[0])))
    assert "no --meta" in capsys.readouterr().err
    assert main(["export-model", str(model), "--onnx", "only.onnx"]) == 0  # no log: ONNX alone, no warning
    assert (tmp_path / "only.onnx").read_bytes() == to_onnx(net) and "warning" not in capsys.readouterr().err


@pytest.mark.parametrize("args,code,message", [
    (["--onnx", "a/m.onnx", "--tflite", "b/m.tflite", "--log", "LOG"], 1, "must be in one folder"),
    (["--onnx", "a/m.onnx", "--meta", "a/m.onnx"], 1, "given for both --onnx and --meta"),
    (["--onnx", "a/m.onnx", "-o", "a"], 2, "either --out DIR"),
    ([], 2, "name the output"),
    (["--tflite", "a/m.tflite"], 2, "--tflite needs --log"),
    (["--onnx", "a/old", "--tflite", "a/m.tflite", "--log", "LOG"], 1, "Is a directory"),
])
def test_individual_path_errors_write_nothing(vectors, tmp_path, capsys, monkeypatch, args, code, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a" / "old").mkdir(parents=True)
    (tmp_path / "a" / "m.onnx").write_bytes(b"old")
    args = [str(vectors / "sessions" / "session_a.bin") if a == "LOG" else a for a in args]
    if code == 2:
        with pytest.raises(SystemExit) as info:
            main(["export-model", str(vectors / "browser" / "session_a.mlp.mlmd"), *args])
        assert info.value.code == 2
    else:
        assert main(["export-model", str(vectors / "browser" / "session_a.mlp.mlmd"), *args]) == 1
    err = capsys.readouterr().err
    assert message in err and err.strip().splitlines()[-1].startswith(("error: ", "usage: ", "stingerml"))
    if code == 1:
        assert err.startswith("error: ") and err.count("\n") == 1
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == ["a", "a/m.onnx", "a/old"]
    assert (tmp_path / "a" / "m.onnx").read_bytes() == b"old"
