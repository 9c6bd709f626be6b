"""``seq train --preprocess hands21``: the landmark normalisation on each step, part of the sequence model.

Oracles: seed 001's rule written with numpy (each step's 21 points), onnxruntime and LiteRT on raw
sequences; a model trained on the numpy-normalised bundle is the accuracy to match.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from hands import sequence_bundle
from stingerml.cli import main
from stingerml.sequence import model as model_file
from stingerml.sequence.data import read_data

np = pytest.importorskip("numpy")

STEPS = 4
TOL = 1e-5


def _train(tmp, data, name, *args):
    runs = tmp / f"runs_{name}"
    assert main(["seq", "train", str(data), "--hidden", "16", "--epochs", "20", "--quiet", "--runs-dir", str(runs),
                 *args]) == 0
    (run,) = runs.glob("run_*")
    return run


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """TCN and LSTM with the step on raw bundles, a TCN without it on the numpy-normalised bundle, test bundles."""
    tmp = tmp_path_factory.mktemp("seqhands")
    raw, norm = sequence_bundle(tmp / "raw.npz", 240, 5), sequence_bundle(tmp / "norm.npz", 240, 5, normalise=True)
    step = ["--preprocess", "hands21"]
    return {"tcn": _train(tmp, raw, "tcn", *step, "--tflite-kind", "both"),
            "lstm": _train(tmp, raw, "lstm", *step, "--architecture", "lstm"),
            "norm": _train(tmp, norm, "norm"),
            "test_raw": sequence_bundle(tmp / "test_raw.npz", 120, 61),
            "test_norm": sequence_bundle(tmp / "test_norm.npz", 120, 61, normalise=True)}


def _accuracy(capsys, run, data):
    assert main(["seq", "evaluate", str(run), str(data), "--json"]) == 0
    return json.loads(capsys.readouterr().out)["accuracy"]


def _net(run):
    return model_file.load(run / "output" / "model.json")


def _arrays(path):
    with np.load(path) as z:
        return z["X"].reshape(len(z["X"]), STEPS, 63).astype(np.float32), z["mask"].astype(np.float32), z["y"]


def test_raw_sequences_give_the_accuracy_of_normalised_ones(runs, capsys):
    acc_norm = _accuracy(capsys, runs["norm"], runs["test_norm"])
    for arch in ("tcn", "lstm"):
        acc = _accuracy(capsys, runs[arch], runs["test_raw"])
        assert acc >= 0.9 and acc >= acc_norm - 0.03, (arch, acc, acc_norm)
    # the step is recorded; a model without one keeps its file as before
    assert json.loads((runs["tcn"] / "output" / "model.json").read_text())["preprocess"] == "hands21"
    assert "preprocess" not in json.loads((runs["norm"] / "output" / "model.json").read_text())
    meta = json.loads((runs["tcn"] / "output" / "meta.json").read_text())
    assert meta["quantization"]["preprocess"] == "hands21"
    assert "hands21" in meta["deployment"]["onnx"]["inputs"]["input"]["preprocessing"]


@pytest.mark.parametrize("arch", ["tcn", "lstm"])
def test_library_normalises_each_step(runs, arch):
    """The model's own step on raw sequences = the same network on sequences normalised by numpy."""
    net = _net(runs[arch])
    bare = dataclasses.replace(net, preprocess="")
    got = np.array(net.predict_proba(read_data(runs["test_raw"]).X).data)
    want = np.array(bare.predict_proba(read_data(runs["test_norm"]).X).data)
    assert float(np.abs(got - want).max()) <= 1e-6


@pytest.mark.parametrize("arch", ["tcn", "lstm"])
def test_onnx_takes_raw_sequences(runs, arch):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    blob = (runs[arch] / "output" / "model.onnx").read_bytes()
    onnx.checker.check_model(onnx.load_from_string(blob), full_check=True)
    net = _net(runs[arch])
    X, mask, labels = _arrays(runs["test_raw"])
    got = ort.InferenceSession(blob, providers=["CPUExecutionProvider"]).run(None, {"input": X, "mask": mask})[0]
    want = np.array(net.predict_proba(read_data(runs["test_raw"]).X).data).reshape(len(X), -1)
    assert float(np.abs(got - want).max()) <= TOL
    assert np.mean([net.classes[int(k)] == t for k, t in zip(got.argmax(1), labels)]) >= 0.9


@pytest.mark.parametrize("arch", ["tcn", "lstm"])
def test_float_tflite_takes_raw_sequences(runs, arch):
    litert = pytest.importorskip("ai_edge_litert.interpreter")
    net = _net(runs[arch])
    X, mask, _ = _arrays(runs["test_raw"])
    it = litert.Interpreter(model_content=(runs[arch] / "output" / "model_float32.tflite").read_bytes(),
                            experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    ins = {d["name"]: d["index"] for d in it.get_input_details()}
    (out,) = it.get_output_details()
    got = []
    for n in range(len(X)):
        it.reset_all_variables()
        it.set_tensor(ins["input"], X[n:n + 1])
        it.set_tensor(ins["mask"], mask[n:n + 1])
        it.invoke()
        got.append(it.get_tensor(out["index"])[0].copy())
    want = np.array(net.predict_proba(read_data(runs["test_raw"]).X).data).reshape(len(X), -1)
    assert float(np.abs(np.array(got) - want).max()) <= TOL


def test_int8_model_takes_preprocessed_steps(runs):
    """The int8 file leaves the step and the scaler outside; the emulator applies both to raw steps, and
    LiteRT's integers on those inputs are the emulator's."""
    litert = pytest.importorskip("ai_edge_litert.interpreter")
    from stingerml.sequence.runs import load_quantized

    net = _net(runs["tcn"])
    qnet = load_quantized(runs["tcn"], net)
    X, mask, labels = _arrays(runs["test_raw"])
    it = litert.Interpreter(model_content=(runs["tcn"] / "output" / "model.tflite").read_bytes(),
                            experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    ins = {d["name"]: d["index"] for d in it.get_input_details()}
    (out,) = it.get_output_details()
    right = 0
    for n in range(len(X)):
        q = qnet.quantize_steps(X[n].astype(np.float64).reshape(-1).tolist())
        L = int(mask[n].sum())
        want = qnet.run(q, L)
        it.set_tensor(ins["input"], np.array(q, dtype=np.int8).reshape(1, STEPS, 63))
        it.set_tensor(ins["mask"], mask[n:n + 1].astype(np.int8))
        it.invoke()
        assert it.get_tensor(out["index"])[0].tolist() == want
        right += net.classes[int(np.argmax(want))] == labels[n]
    assert right / len(X) >= 0.85


def test_steps_that_are_not_hands_are_one_clear_error(tmp_path, capsys):
    np.savez(tmp_path / "d.npz", X=np.zeros((8, 3, 5), dtype=np.float32), y=np.array(["a", "b"] * 4))
    for step, words in (("hands21", "takes 63 values"), ("hands22", "unknown preprocessing")):
        assert main(["seq", "train", str(tmp_path / "d.npz"), "--preprocess", step,
                     "--runs-dir", str(tmp_path / "runs")]) == 1
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1 and words in err, err
        assert not Path(tmp_path / "runs").exists()


def test_none_is_no_step(tmp_path, capsys):
    """`seq train --preprocess none` trains without a step, as tabular's does (the default, spelt out)."""
    np.savez(tmp_path / "d.npz", X=np.arange(8 * 3 * 5, dtype=np.float32).reshape(8, 3, 5) % 7,
             y=np.array(["a", "b"] * 4))
    assert main(["seq", "train", str(tmp_path / "d.npz"), "--preprocess", "none", "--epochs", "1", "--quiet",
                 "--runs-dir", str(tmp_path / "runs")]) == 0
    run = Path(capsys.readouterr().out.strip())
    assert json.loads((run / "run.json").read_text())["settings"]["preprocess"] == ""
    assert model_file.load(run / "output" / "model.json").preprocess == ""
