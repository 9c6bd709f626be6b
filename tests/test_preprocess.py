"""Preprocessing is part of the model: ``hands21`` in training, model.json, predict/evaluate and ONNX.

Oracles: the seed 001 normalisation written with numpy (its own code, below), onnxruntime on raw rows.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from hands import samples, write_csv
from stingerml.cli import main
from stingerml.formats import network
from stingerml.core.matrix import Matrix
from stingerml.core.preprocess import normalize_hand
from stingerml.tabular.runs import RunSettings, train_run

np = pytest.importorskip("numpy")

SETTINGS = dict(label="letter", hidden=[16], epochs=40, patience=40, batch_size=16)


def seed001_normalize(row):
    """Seed 001's extract_landmarks normalisation, as its README writes it (numpy)."""
    landmarks = np.asarray(row, dtype=np.float64).reshape(21, 3)
    origin = landmarks[0]
    rel = landmarks - origin
    scale = np.linalg.norm(rel[9]) or 1.0
    return (rel / scale).reshape(63)


def test_rule_equals_seed_001():
    rows, _ = samples(30)
    rows.append([1.0] * 63)  # point 9 on the wrist: divide by 1
    for row in rows:
        assert np.abs(np.array(normalize_hand(row)) - seed001_normalize(row)).max() < 1e-12


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A hands21 model trained on raw landmarks, and a model trained on the same rows normalised by numpy."""
    tmp = tmp_path_factory.mktemp("hands")
    rows, labels = samples(240)
    raw = write_csv(tmp / "raw.csv", rows=rows, labels=labels)
    norm = write_csv(tmp / "norm.csv", rows=[seed001_normalize(r).tolist() for r in rows], labels=labels)
    with_step = train_run(raw, RunSettings(**SETTINGS, preprocess="hands21"), runs_dir=tmp / "runs")
    on_norm = train_run(norm, RunSettings(**SETTINGS), runs_dir=tmp / "runs")
    without = train_run(raw, RunSettings(**SETTINGS), runs_dir=tmp / "runs")
    return tmp, raw, norm, with_step, on_norm, without


def test_raw_input_gives_the_accuracy_of_normalised_input(runs):
    _, _, _, with_step, on_norm, _ = runs
    acc = with_step.metrics["accuracy"]
    assert acc >= on_norm.metrics["accuracy"] - 0.03 and acc >= 0.9
    # what the step prevents (the 10 %): raw landmarks fed to the model trained on normalised ones
    rows, labels = samples(120, seed=79)
    net = on_norm.estimator.to_model()
    codes = [max(range(4), key=net.forward(r).__getitem__) for r in rows]
    assert sum(net.classes[c] == t for c, t in zip(codes, labels)) / len(rows) < 0.6


def test_the_step_is_recorded(runs):
    _, _, _, with_step, _, without = runs
    out = with_step.run_dir / "output"
    assert network.load(out / "model.json").preprocess == "hands21"
    meta = json.loads((out / "meta.json").read_text())
    assert meta["features"]["preprocessing"]["steps"] == ["hands21", "standard_scaler"]
    assert meta["quantization"]["preprocess"] == "hands21"
    assert "preprocess" not in json.loads((without.run_dir / "output" / "model.json").read_text())


def test_cli_predict_and_evaluate_on_raw_landmarks(runs, capsys):
    tmp, raw, norm, with_step, on_norm, _ = runs
    run = str(with_step.run_dir)
    assert main(["tabular", "evaluate", run, str(raw), "--json"]) == 0
    raw_acc = json.loads(capsys.readouterr().out)["accuracy"]
    assert main(["tabular", "evaluate", str(on_norm.run_dir), str(norm), "--json"]) == 0
    norm_acc = json.loads(capsys.readouterr().out)["accuracy"]
    assert raw_acc >= 0.9 and raw_acc >= norm_acc - 0.03
    assert main(["tabular", "predict", run, str(raw), "-o", str(tmp / "p.csv"), "--quiet"]) == 0
    predicted = [line.split(",")[1] for line in (tmp / "p.csv").read_text().splitlines()[1:]]
    truth = [line.rsplit(",", 1)[1] for line in raw.read_text().splitlines()[1:]]
    assert sum(p == t for p, t in zip(predicted, truth)) / len(truth) == pytest.approx(raw_acc)


def test_onnx_takes_raw_landmarks(runs):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    _, _, _, with_step, _, _ = runs
    out = with_step.run_dir / "output"
    blob = (out / "model.onnx").read_bytes()
    model = onnx.load_from_string(blob)
    onnx.checker.check_model(model, full_check=True)
    assert model.opset_import[0].version == 13
    ops = [n.op_type for n in model.graph.node]
    assert ops[:9] == ["Reshape", "Gather", "Sub", "Gather", "ReduceL2", "Equal", "Where", "Div", "Reshape"]
    net = network.load(out / "model.json")
    rows, labels = samples(200, seed=77)
    rows.append([2.5] * 63)  # point 9 on the wrist
    got = ort.InferenceSession(blob, providers=["CPUExecutionProvider"]).run(
        None, {"input": np.asarray(rows, dtype=np.float32)})[0]
    want = np.array([net.forward(r) for r in rows])
    assert float(np.abs(got - want).max()) <= 1e-5
    accuracy = float(np.mean(np.argmax(got[:-1], axis=1) == np.array([net.classes.index(c) for c in labels])))
    assert accuracy >= 0.9


def test_int8_model_applies_the_step(runs):
    from stingerml.tabular.runs import load_quantized

    _, _, _, with_step, _, _ = runs
    net = network.load(with_step.run_dir / "output" / "model.json")
    qnet = load_quantized(with_step.run_dir, net)
    rows, labels = samples(120, seed=78)
    pred = qnet.predict(Matrix([v for r in rows for v in r], 63))
    codes = [max(range(4), key=pred.data[4 * i:4 * i + 4].__getitem__) for i in range(len(rows))]
    assert sum(net.classes[c] == t for c, t in zip(codes, labels)) / len(rows) >= 0.85


def test_cli_preprocess_needs_63_columns(tmp_path, capsys):
    from test_tabular_runs import make_csv

    data = make_csv(tmp_path / "d.csv")
    assert main(["tabular", "train", str(data), "--label", "colour", "--preprocess", "hands21",
                 "--runs-dir", str(tmp_path / "runs")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "takes 63 values" in err and "d.csv" in err
    assert not Path(tmp_path / "runs").exists()


def test_every_frame_is_normalised_on_its_own():
    """A row of T × 63 values is T hands (seed 001's [N, T, 21, 3] flattened): each one by the rule."""
    from stingerml.core.preprocess import check, normalize_frames

    frames = [row for seed in (3, 4, 5) for row in samples(2, seed)[0]][:5] + [[0.0] * 63, [1.5] * 63]
    row = [v for f in frames for v in f]  # T = 7, a masked (zero) frame and point 9 on the wrist among them
    want = np.concatenate([seed001_normalize(f) for f in frames])
    assert np.abs(np.array(normalize_frames(row)) - want).max() < 1e-12
    check("hands21", 7 * 63)
    for width in (0, 62, 64, 2 * 63 + 1):
        with pytest.raises(ValueError, match="takes 63 values"):
            check("hands21", width)
