"""``stingerml export-model``: the files equal the library's, meta.json, errors write nothing."""
from __future__ import annotations

import dataclasses
import json
import re
from array import array

import pytest

from stingerml.cli import main
from stingerml.formats.blaster import log_rows, read_network
from stingerml.formats.onnx import to_onnx
from stingerml.formats.tflite import to_tflite
from stingerml.log import read_log, write_log
from stingerml.quantize import quantize, representative_rows


@pytest.mark.parametrize("kind", ["mlp", "lr"])
def test_writes_onnx_tflite_and_meta(vectors, tmp_path, capsys, kind):
    model = vectors / "browser" / f"session_a.{kind}.mlmd"
    log = vectors / "sessions" / "session_a.bin"
    onnx_path, tflite_path = tmp_path / "model.onnx", tmp_path / "model.tflite"
    assert main(["export-model", str(model), "--onnx", str(onnx_path), "--tflite", str(tflite_path),
                 "--log", str(log)]) == 0
    net = read_network(model)
    qnet = quantize(net, representative_rows(log_rows(log, net.n_features)[0]))
    assert onnx_path.read_bytes() == to_onnx(net)
    assert tflite_path.read_bytes() == to_tflite(qnet)
    meta = json.loads((tmp_path / "meta.json").read_text())
    assert meta["quantization"] == json.loads(json.dumps(qnet.to_dict()))
    assert meta["representative"] == {"logs": ["session_a.bin"], "rows_available": 290, "rows_used": 100, "seed": 0}
    assert meta["check"]["rows"] == 290 and meta["check"]["int8_accuracy"] >= meta["check"]["float_accuracy"] - 0.02
    out = capsys.readouterr().out
    assert "model.onnx" in out and "int8 on 290 dataset rows" in out


def test_onnx_only_needs_no_log(vectors, tmp_path):
    model = vectors / "firmware" / "factory_lr.mlmd"
    assert main(["export-model", str(model), "--onnx", str(tmp_path / "lr.onnx"), "--no-fold-scaler"]) == 0
    assert (tmp_path / "lr.onnx").read_bytes() == to_onnx(read_network(model), fold_scaler=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lr.onnx"]


def _no_shot_log(vectors, tmp_path):
    log = read_log(vectors / "sessions" / "tiny.bin")
    path = tmp_path / "quiet.bin"
    quiet = array(log.trigger.typecode, [0]) * len(log.trigger)
    write_log(dataclasses.replace(log, trigger=quiet), path)
    return path


@pytest.mark.parametrize("case,message", [
    ("no_log", "--tflite needs --log"),
    ("nan_weights", "non-finite|is nan"),
    ("no_rows", "no dataset rows"),
    ("nothing", "nothing to write"),
])
def test_errors_write_nothing(vectors, tmp_path, capsys, case, message):
    out = tmp_path / "out"
    out.mkdir()
    (out / "model.onnx").write_bytes(b"old")
    model = vectors / "browser" / "session_a.mlp.mlmd"
    args = ["--onnx", str(out / "model.onnx"), "--tflite", str(out / "model.tflite")]
    if case == "no_log":
        pass
    elif case == "nan_weights":
        model = vectors / "mlmd_cases" / "mlp_nan_b3.mlmd"
        args += ["--log", str(vectors / "sessions" / "session_a.bin")]
    elif case == "no_rows":
        args += ["--log", str(_no_shot_log(vectors, tmp_path))]
    else:
        args = []
    assert main(["export-model", str(model), *args]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert re.search(message, err)
    assert sorted(p.name for p in out.iterdir()) == ["model.onnx"] and (out / "model.onnx").read_bytes() == b"old"
