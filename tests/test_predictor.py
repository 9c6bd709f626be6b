"""The predictor (seed 001's ASLPredictor workflow), --monitor and --no-early-stopping."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

import hands
import penguins
from conftest import use_backend
from stingerml.cli import main
from stingerml.formats import network
from stingerml.tabular.predictor import Predictor


def _train(tmp_path, capsys, data, *args):
    assert main(["tabular", "train", str(data), "--runs-dir", str(tmp_path / "runs"), "--quiet", *args]) == 0
    return Path(capsys.readouterr().out.strip())


@pytest.fixture(scope="module")
def hand_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pred")
    data = hands.write_csv(tmp / "hands.csv", n=160)
    assert main(["tabular", "train", str(data), "--label", "letter", "--preprocess", "hands21", "--hidden", "12",
                 "--epochs", "25", "--runs-dir", str(tmp / "runs"), "--quiet"]) == 0
    (run,) = (tmp / "runs").iterdir()
    return tmp, data, run


@pytest.mark.parametrize("backend", ["python", "numba"])
def test_predictor_equals_tabular_predict(hand_run, backend):
    tmp, data, run = hand_run
    assert main(["tabular", "predict", str(run), str(data), "-o", str(tmp / "p.csv"), "--quiet"]) == 0
    with open(tmp / "p.csv", newline="") as fh:
        want = list(csv.DictReader(fh))
    rows, _ = hands.samples(160)
    with use_backend(backend):
        for source in (run, run / "output", run / "output" / "model.json"):
            p = Predictor.load(source)
            for row, w in zip(rows[:40], want):
                dist = p.distribution(row)
                assert [d["confidence"] for d in dist] == sorted((float(w[f"p_{c}"]) for c in p.labels), reverse=True)
                assert p.predict_one(row) == dist[0] and p.predict_one(row)["label"] == w["prediction"]
                assert p.top_k(row, 2) == dist[:2]
    net = network.load(run / "output" / "model.json")
    assert p.label_map() == {c: k for k, c in enumerate(net.classes)} and p.info()["preprocess"] == "hands21"
    points = [rows[0][3 * k:3 * k + 3] for k in range(21)]  # seed 001's [21, 3] layout
    assert p.distribution(points) == p.distribution(rows[0])
    assert sum(d["confidence"] for d in p.distribution(rows[0])) == pytest.approx(1.0, abs=1e-12)
    assert [p.distribution(r) for r in rows[:3]] == p.predict_batch(rows[:3])


def test_predictor_takes_raw_text_columns(tmp_path, capsys):
    data = penguins.write_csv(tmp_path / "penguins.csv", n=150)
    run = _train(tmp_path, capsys, data, "--label", "species", "--ignore", "id", "--hidden", "6", "--epochs", "5")
    assert main(["tabular", "predict", str(run), str(data), "-o", str(tmp_path / "p.csv"), "--quiet"]) == 0
    with open(tmp_path / "p.csv", newline="") as fh:
        want = [r["prediction"] for r in csv.DictReader(fh)]
    with open(data, newline="") as fh:
        records = list(csv.DictReader(fh))
    p = Predictor.load(run)
    assert p.info()["columns"] == ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g",
                                   "sex"]
    assert [p.predict_one(r)["label"] for r in records] == want  # a mapping {column: raw text or number}
    as_list = [[r[c] for c in p.info()["columns"]] for r in records[:5]]
    assert [p.predict_one(r)["label"] for r in as_list] == want[:5]


def test_monitor_val_accuracy_and_no_early_stopping(tmp_path, capsys):
    data = hands.write_csv(tmp_path / "hands.csv", n=120)
    base = ["--label", "letter", "--hidden", "6", "--epochs", "30", "--patience", "3"]
    run = _train(tmp_path, capsys, data, *base, "--monitor", "val_accuracy")
    meta = json.loads((run / "output" / "meta.json").read_text())["training"]
    history = json.loads((run / "output" / "training_history.json").read_text())
    accs = [h["val_accuracy"] for h in history]
    best = accs.index(max(accs)) + 1  # the first epoch with the highest validation accuracy (Keras mode "max")
    assert meta["best_epoch"] == best and meta["monitor"] == "val_accuracy"
    assert meta["epochs_run"] == min(30, best + 3)
    run = _train(tmp_path, capsys, data, *base, "--no-early-stopping")
    meta = json.loads((run / "output" / "meta.json").read_text())["training"]
    history = json.loads((run / "output" / "training_history.json").read_text())
    losses = [h["val_loss"] for h in history]
    assert meta["epochs_run"] == 30 and meta["early_stopping"] is None
    assert meta["best_epoch"] == losses.index(min(losses)) + 1


# -- exported files (issue 25: "loadable from a run folder or exported files") ------------------------------


def _export(model: Path, out: Path, capsys) -> Path:
    assert main(["export-model", str(model), "-o", str(out), "--quiet"]) == 0
    capsys.readouterr()
    return out


def test_predictor_loads_an_exported_folder(hand_run, tmp_path, capsys):
    """`export-model RUN/output/model.json -o DIR`: DIR holds the network it exported (hands21 inside), and
    Predictor.load(DIR), or any file of DIR, gives the run's own distribution on raw landmarks."""
    _, _, run = hand_run
    out = _export(run / "output" / "model.json", tmp_path / "deploy", capsys)
    assert sorted(p.name for p in out.iterdir()) == ["meta.json", "model.json", "model.onnx", "model.tflite"]
    assert (out / "model.json").read_bytes() == (run / "output" / "model.json").read_bytes()
    rows, _ = hands.samples(30, seed=41)  # raw: moved and resized hands
    want = Predictor.load(run)
    for source in (out, out / "model.json", out / "model.onnx", out / "model.tflite", out / "meta.json"):
        p = Predictor.load(source)
        assert p.info()["preprocess"] == "hands21" and p.meta["network"]["shape"][0] == 63
        assert [p.distribution(r) for r in rows] == [want.distribution(r) for r in rows]


def test_an_exported_checkpoint_predicts_as_its_onnx(hand_run, tmp_path, capsys):
    """A checkpoint has no model.json of its own: the export writes the network it made, and the predictor on
    that folder gives what onnxruntime gives on the folder's model.onnx (raw landmarks in)."""
    np = pytest.importorskip("numpy")
    ort = pytest.importorskip("onnxruntime")
    from stingerml.tabular.runs import checkpoint_network

    _, _, run = hand_run
    ckpt = sorted((run / "checkpoints").glob("epoch_*.json"))[0]
    out = _export(ckpt, tmp_path / "deploy", capsys)
    assert (out / "model.json").read_bytes() == network.dumps(checkpoint_network(ckpt))
    p = Predictor.load(out)
    rows, _ = hands.samples(40, seed=43)
    got = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"]).run(
        None, {"input": np.asarray(rows, dtype=np.float32)})[0]
    want = np.array([p.probabilities(r) for r in rows])
    assert got.shape == want.shape and float(np.abs(got - want).max()) <= 1e-5


def test_an_exported_one_hot_model_takes_raw_text(tmp_path, capsys):
    data = penguins.write_csv(tmp_path / "penguins.csv", n=120)
    run = _train(tmp_path, capsys, data, "--label", "species", "--ignore", "id", "--hidden", "5", "--epochs", "4")
    out = _export(run / "output" / "model.json", tmp_path / "deploy", capsys)
    with open(data, newline="") as fh:
        records = list(csv.DictReader(fh))[:20]
    mine, theirs = Predictor.load(out), Predictor.load(run)
    assert mine.info()["one_hot"] == theirs.info()["one_hot"] == {"island": ["Biscoe", "Dream", "Torgersen"],
                                                                  "sex": ["female", "male"]}
    assert [mine.distribution(r) for r in records] == [theirs.distribution(r) for r in records]


def test_an_export_without_a_network_is_one_clear_error(vectors, tmp_path, capsys):
    """An MLMD model's export has no model.json (the MLMD file is its source), and leaves one it finds alone."""
    (tmp_path / "model.json").write_bytes(b"mine")
    assert main(["export-model", str(vectors / "firmware" / "factory_lr.mlmd"), "-o", str(tmp_path), "--quiet"]) == 0
    assert (tmp_path / "model.json").read_bytes() == b"mine"
    (tmp_path / "model.json").unlink()
    from stingerml.core.errors import ModelFormatError

    with pytest.raises(ModelFormatError, match="no model here; give a run folder"):
        Predictor.load(tmp_path / "model.onnx")
