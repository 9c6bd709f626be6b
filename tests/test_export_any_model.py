"""``export-model`` takes every model the library writes: a run's model.json, best_model.json, a checkpoint."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import hands
from stingerml.cli import main
from stingerml.formats import network
from stingerml.formats.onnx import to_onnx
from stingerml.formats.tflite import to_tflite_float


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("exp")
    data = hands.write_csv(tmp / "hands.csv", n=120)
    assert main(["tabular", "train", str(data), "--label", "letter", "--preprocess", "hands21", "--hidden", "6",
                 "--epochs", "12", "--patience", "12", "--checkpoint-every", "5", "--runs-dir", str(tmp / "runs"),
                 "--quiet"]) == 0
    (run_dir,) = (tmp / "runs").iterdir()
    return tmp, data, run_dir


def test_a_runs_model_json_gives_the_runs_files(run, tmp_path, capsys):
    _, _, run_dir = run
    assert main(["export-model", str(run_dir / "output" / "model.json"), "-o", str(tmp_path / "out")]) == 0
    for name in ("model.onnx", "model.tflite"):  # the run's own int8 calibration: the same bytes
        assert (tmp_path / "out" / name).read_bytes() == (run_dir / "output" / name).read_bytes()


def test_best_model_and_a_checkpoint(run, tmp_path, capsys):
    tmp, data, run_dir = run
    best = run_dir / "checkpoints" / "best_model.json"
    assert main(["export-model", str(best), "--onnx", str(tmp_path / "b.onnx"), "--tflite-float",
                 str(tmp_path / "b.tflite")]) == 0
    net = network.load(best)
    assert (tmp_path / "b.onnx").read_bytes() == to_onnx(net)
    assert (tmp_path / "b.tflite").read_bytes() == to_tflite_float(net)
    # epoch 5's checkpoint: its own weights, the run's scaler and steps
    ckpt = run_dir / "checkpoints" / "epoch_0005.json"
    capsys.readouterr()
    assert main(["export-model", str(ckpt), "-o", str(tmp_path / "c"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["kind"] == "tabular checkpoint" and set(out["files"]) == {"model.onnx", "model.tflite", "model.json",
                                                                     "meta.json"}
    meta = json.loads((tmp_path / "c" / "meta.json").read_text())
    final = network.load(run_dir / "output" / "model.json")
    assert meta["network"]["classes"] == list(final.classes)
    assert meta["quantization"]["scaler"] == json.loads((run_dir / "output" / "meta.json").read_text())[
        "quantization"]["scaler"]  # the same scaler as the run
    assert (tmp_path / "c" / "model.onnx").read_bytes() != (run_dir / "output" / "model.onnx").read_bytes()
    onnx = pytest.importorskip("onnx")
    np = pytest.importorskip("numpy")
    import base64

    from onnx import numpy_helper

    # the epoch's parameters as the checkpoint stores them (float64, layer by layer: W [out][in], then b)
    P = np.frombuffer(base64.b64decode(json.loads(ckpt.read_text())["P"]), dtype="<f8")
    inits = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(tmp_path / "c" / "model.onnx")).graph.initializer}
    flat = np.concatenate([inits[n].ravel() for n in ("W0", "b0", "W1", "b1")])
    assert flat.dtype == np.float32 and (flat == P.astype(np.float32)).all()


def test_a_model_json_outside_a_run_calibrates_on_data(run, tmp_path, capsys):
    _, data, run_dir = run
    copy = tmp_path / "model.json"
    copy.write_bytes((run_dir / "output" / "model.json").read_bytes())
    with pytest.raises(SystemExit) as info:  # no rows to calibrate on: a usage error
        main(["export-model", str(copy), "--onnx", str(tmp_path / "m.onnx"), "--tflite", str(tmp_path / "m.tflite")])
    assert info.value.code == 2 and "--data CSV" in capsys.readouterr().err
    assert main(["export-model", str(copy), "-o", str(tmp_path / "o"), "--data", str(data)]) == 0
    assert (tmp_path / "o" / "model.tflite").exists()


def test_not_a_model(tmp_path, capsys):
    (tmp_path / "x.json").write_text('{"format": "something"}')
    assert main(["export-model", str(tmp_path / "x.json"), "-o", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "not a model stingerml writes" in err and err.count("\n") == 1
    assert not Path(tmp_path / "o").exists() or not any(Path(tmp_path / "o").iterdir())


@pytest.mark.parametrize("change, expect", [
    ({"run": "0" * 16}, "another run"),
    ({"rng_state": 2 ** 40}, "rng_state"),
    ({"P": ""}, '"P" holds 0 values'),
])
def test_a_checkpoint_is_checked_against_its_run(run, tmp_path, capsys, change, expect):
    """export-model reads a checkpoint through the run folder's checks (issue 29): another run's or a
    damaged checkpoint is one error line, nothing written."""
    import shutil

    _, _, run_dir = run
    copy = tmp_path / run_dir.name
    shutil.copytree(run_dir, copy)
    ckpt = copy / "checkpoints" / "epoch_0005.json"
    ckpt.write_text(json.dumps(dict(json.loads(ckpt.read_text()), **change)))
    capsys.readouterr()
    assert main(["export-model", str(ckpt), "-o", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and expect in err, err
    assert not (tmp_path / "o").exists()
