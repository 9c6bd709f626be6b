"""Tabular data from .npz/.npy (seed 001's bundles), written by numpy itself (the oracle of the format)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from hands import LETTERS, samples, sequence_bundle
from stingerml.cli import main
from stingerml.tabular.arrays import read_array_table

np = pytest.importorskip("numpy")


def _bundle(path, n, seed, normalise=False, codes=False, frames=1):
    rows, labels = samples(n, seed)
    X = np.asarray(rows, dtype=np.float32).reshape(n, 1, 21, 3)
    if normalise:  # seed 001's own rule, in numpy
        rel = X - X[:, :, :1, :]
        scale = np.linalg.norm(rel[:, :, 9, :], axis=-1)[..., None, None]
        X = rel / np.where(scale == 0, 1, scale)
    X = np.repeat(X, frames, axis=1)
    mask = np.ones((n, frames), dtype=np.float32)
    if codes:
        np.savez(path, sequences=X, masks=mask, labels=np.array([LETTERS.index(c) for c in labels]),
                 classes=np.array(LETTERS))
    else:
        np.savez(path, X=X, mask=mask, y=np.array(labels))
    return path


def _train(tmp_path, capsys, data, *args):
    assert main(["tabular", "train", str(data), "--hidden", "16", "--epochs", "40", "--patience", "40", "--quiet",
                 "--runs-dir", str(tmp_path / "runs"), *args]) == 0
    return Path(capsys.readouterr().out.strip())


def _accuracy(capsys, run, data):
    assert main(["tabular", "evaluate", str(run), str(data), "--json"]) == 0
    return json.loads(capsys.readouterr().out)["accuracy"]


def test_npz_raw_landmarks_with_hands21(tmp_path, capsys):
    raw = _bundle(tmp_path / "train.npz", 240, 5)
    run = _train(tmp_path, capsys, raw, "--preprocess", "hands21")
    assert (run / "data" / "dataset.npz").read_bytes() == raw.read_bytes()
    norm = _bundle(tmp_path / "norm.npz", 240, 5, normalise=True, codes=True)
    run_norm = _train(tmp_path, capsys, norm)
    test_raw = _bundle(tmp_path / "test.npz", 120, 61)
    test_norm = _bundle(tmp_path / "test_norm.npz", 120, 61, normalise=True, codes=True)
    acc_raw, acc_norm = _accuracy(capsys, run, test_raw), _accuracy(capsys, run_norm, test_norm)
    assert acc_raw >= 0.9 and acc_raw >= acc_norm - 0.03
    meta = json.loads((run / "output" / "meta.json").read_text())
    assert meta["features"]["names"][:3] == ["lm0_x", "lm0_y", "lm0_z"] and meta["labels"]["count"] == 4
    # .npy [N, 63] rows for prediction
    rows, labels = samples(30, 62)
    np.save(tmp_path / "rows.npy", np.asarray(rows, dtype=np.float64))
    assert main(["tabular", "predict", str(run), str(tmp_path / "rows.npy"), "-o", str(tmp_path / "p.csv"),
                 "--quiet"]) == 0
    predicted = [line.split(",")[1] for line in (tmp_path / "p.csv").read_text().splitlines()[1:]]
    assert sum(p == t for p, t in zip(predicted, labels)) / 30 >= 0.85


def test_sequences_are_flattened_with_the_mask(tmp_path):
    rows, labels = samples(6, 3)
    X = np.asarray(rows, dtype=np.float32).reshape(6, 1, 21, 3).repeat(3, axis=1)
    mask = np.array([[1, 1, 0]] * 6, dtype=np.float32)
    np.savez(tmp_path / "seq.npz", X=X, mask=mask, y=np.array(labels))
    t = read_array_table(tmp_path / "seq.npz")
    want = (X * mask[:, :, None, None]).reshape(6, -1).astype(np.float64)
    assert t.X.n_cols == 189 and (np.array(t.X.data).reshape(6, -1) == want).all()
    assert t.feature_names[63] == "t1_lm0_x" and t.classes == tuple(sorted(set(labels)))


def test_bad_bundle_is_one_clear_error(tmp_path, capsys):
    np.savez(tmp_path / "b.npz", X=np.zeros((4, 5, 7)), y=np.array(["a", "b", "a", "b"]))
    assert main(["tabular", "train", str(tmp_path / "b.npz"), "--runs-dir", str(tmp_path / "runs")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "X has shape (4, 5, 7)" in err and err.count("\n") == 1
    assert not (tmp_path / "runs").exists()



def _rows(path):
    """The bundle's rows as the documented flattening gives them: ``X × mask`` reshaped ``[N, T · 63]``."""
    with np.load(path) as z:
        return (z["X"] * z["mask"][:, :, None, None]).reshape(len(z["X"]), -1).astype(np.float64), z["y"]


@pytest.fixture(scope="module")
def sequence_runs(tmp_path_factory):
    """A hands21 model trained on raw ``T = 4`` sequences and a model trained on the same sequences normalised
    by numpy, with test bundles of both."""
    tmp = tmp_path_factory.mktemp("frames")
    runs = []
    for name, normalise, step in (("raw", False, ["--preprocess", "hands21"]), ("norm", True, [])):
        data = sequence_bundle(tmp / f"{name}.npz", 240, 5, normalise=normalise)
        assert main(["tabular", "train", str(data), "--hidden", "16", "--epochs", "30", "--patience", "30",
                     "--quiet", "--runs-dir", str(tmp / f"runs_{name}"), *step]) == 0
        (run,) = (tmp / f"runs_{name}").glob("run_*")
        runs.append(run)
    tests = [sequence_bundle(tmp / f"test_{name}.npz", 120, 61, normalise=normalise) for name, normalise in
             (("raw", False), ("norm", True))]
    return tmp, runs, tests


def test_sequences_with_hands21_give_the_accuracy_of_normalised_ones(sequence_runs, capsys):
    tmp, (run, run_norm), (test_raw, test_norm) = sequence_runs
    acc_raw, acc_norm = _accuracy(capsys, run, test_raw), _accuracy(capsys, run_norm, test_norm)
    assert acc_raw >= 0.9 and acc_raw >= acc_norm - 0.03
    meta = json.loads((run / "output" / "meta.json").read_text())
    assert meta["features"]["count"] == 252 and meta["features"]["preprocessing"]["steps"][0] == "hands21"
    # tabular predict on the raw bundle: the accuracy evaluate reported
    assert main(["tabular", "predict", str(run), str(test_raw), "-o", str(tmp / "p.csv"), "--quiet"]) == 0
    predicted = [line.split(",")[1] for line in (tmp / "p.csv").read_text().splitlines()[1:]]
    _, labels = _rows(test_raw)
    assert sum(p == t for p, t in zip(predicted, labels)) / len(labels) == pytest.approx(acc_raw)


def test_library_normalises_each_frame(sequence_runs):
    """The model's own step on raw rows = the same layers on rows normalised by numpy (the documented rule)."""
    import dataclasses

    from stingerml.formats import network
    from stingerml.tabular.predictor import Predictor

    _, (run, _), (test_raw, test_norm) = sequence_runs
    net = network.load(run / "output" / "model.json")
    bare = dataclasses.replace(net, preprocess="")
    raw, labels = _rows(test_raw)
    norm, _ = _rows(test_norm)
    got = np.array([net.forward(r) for r in raw])
    want = np.array([bare.forward(r) for r in norm])
    assert float(np.abs(got - want).max()) <= 1e-6
    p = Predictor.load(run)
    with np.load(test_raw) as z:  # a sample as the app holds it: [T][21][3]
        nested = z["X"].astype(np.float64).tolist()
    assert [p.predict_one(s)["label"] for s in nested] == [net.classes[int(np.argmax(o))] for o in got]
    assert np.mean([net.classes[int(np.argmax(o))] == t for o, t in zip(got, labels)]) >= 0.9


def test_onnx_takes_raw_sequences(sequence_runs, capsys):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from stingerml.formats import network

    _, (run, run_norm), (test_raw, test_norm) = sequence_runs
    blob = (run / "output" / "model.onnx").read_bytes()
    model = onnx.load_from_string(blob)
    onnx.checker.check_model(model, full_check=True)
    assert model.opset_import[0].version == 13
    net = network.load(run / "output" / "model.json")
    raw, labels = _rows(test_raw)
    got = ort.InferenceSession(blob, providers=["CPUExecutionProvider"]).run(
        None, {"input": raw.astype(np.float32)})[0]
    assert got.shape == (len(raw), 4)
    assert float(np.abs(got - np.array([net.forward(r) for r in raw])).max()) <= 1e-5
    accuracy = float(np.mean([net.classes[int(k)] == t for k, t in zip(np.argmax(got, axis=1), labels)]))
    assert accuracy >= 0.9 and accuracy >= _accuracy(capsys, run_norm, test_norm) - 0.03


def test_int8_model_applies_the_step_to_each_frame(sequence_runs):
    """The int8 file takes the step's output (it holds neither step nor scaler); the emulator applies both to
    raw rows, and LiteRT's integers on those inputs are the emulator's."""
    litert = pytest.importorskip("ai_edge_litert.interpreter")
    from stingerml.formats import network
    from stingerml.tabular.runs import load_quantized

    _, (run, _), (test_raw, _) = sequence_runs
    net = network.load(run / "output" / "model.json")
    qnet = load_quantized(run, net)
    raw, labels = _rows(test_raw)
    q_in = [qnet.quantize_input(r) for r in raw.tolist()]
    want = np.array([qnet.run(q) for q in q_in])
    it = litert.Interpreter(model_content=(run / "output" / "model.tflite").read_bytes(),
                            experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF)
    (inp,), (out,) = it.get_input_details(), it.get_output_details()
    assert inp["shape"].tolist() == [1, 252]
    it.resize_tensor_input(inp["index"], [len(q_in), 252])
    it.allocate_tensors()
    it.set_tensor(inp["index"], np.asarray(q_in, dtype=np.int8))
    it.invoke()
    assert (it.get_tensor(out["index"]).astype(np.int64) == want).all()
    assert np.mean([net.classes[int(k)] == t for k, t in zip(np.argmax(want, axis=1), labels)]) >= 0.85
