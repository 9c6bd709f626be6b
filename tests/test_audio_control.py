"""Seed 004 end to end (issue 26): generated WAV files -> ``stingerml audio features`` -> ``stingerml tabular
train`` of the 60 -> [128, 256, 128] -> 9 control model (``s_target``, ``alpha``, ``omega_scale``, 6 band gates;
alpha and the gates sigmoid-bounded) -> ONNX (onnxruntime agrees) and int8 TFLite (LiteRT's integers are the
emulator's). numba keeps it to tens of seconds; without numba it is skipped (the pure path is the same bits,
tests/test_bounded_outputs.py)."""
from __future__ import annotations

import csv
import json

import pytest

from stingerml.cli import main
from stingerml.core.matrix import Matrix
from stingerml.formats import network
from stingerml.tabular.runs import load_quantized
from test_train_status import free_port, watched

pytest.importorskip("numba")
np = pytest.importorskip("numpy")
audio_signals = pytest.importorskip("audio_signals")

BANDS = (150.0, 400.0, 1000.0, 2500.0, 6000.0, 12000.0)  # one tone per file, in one of the 6 bands
GATES = [f"band_gate_{k}" for k in range(6)]
TARGETS = ["s_target", "alpha", "omega_scale", *GATES]
BOUNDED = {"alpha": "sigmoid", **{g: "sigmoid" for g in GATES}}


def _wavs(folder):
    """Six 2 s 48 kHz 16-bit files: a tone of band k whose level steps between loud and quiet, plus noise."""
    paths = []
    rate, n = 48000, 2 * 48000
    t = np.arange(n) / rate
    rng = np.random.default_rng(4)
    for k, freq in enumerate(BANDS):
        level = np.where((np.arange(n) // 12000) % 2 == 0, 0.7, 0.15)
        y = level * np.sin(2 * np.pi * freq * t) + 0.02 * rng.standard_normal(n)
        ints = audio_signals.to_ints(np.clip(y, -1.0, 1.0), 16)
        paths.append(audio_signals.write_wav(folder / f"band{k}.wav", ints, rate, 16))
    return paths


def _controls(features, out):
    """The 9 control targets of every feature row: the seed's outputs, made from what the row hears."""
    with open(features, newline="") as f:
        rows = list(csv.DictReader(f))
    with open(out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(list(rows[0]) + TARGETS)
        for r in rows:
            band = int(r["file"].rsplit("band", 1)[1][0])
            values = [float(r["spectral_centroid_9"]) / 1000.0, min(1.0, 3.0 * float(r["rms_9"])),
                      0.5 + 5.0 * float(r["zero_crossing_rate_9"])] + [1.0 if k == band else 0.0 for k in range(6)]
            w.writerow(list(r.values()) + values)
    return len(rows)


def test_seed_004_control_model_from_wav_files(tmp_path, capsys, monkeypatch):
    wavs = _wavs(tmp_path)
    features = tmp_path / "features.csv"
    assert main(["audio", "features", *map(str, wavs), "-o", str(features), "--quiet", "--backend", "numba"]) == 0
    data = tmp_path / "controls.csv"
    n_rows = _controls(features, data)
    assert n_rows == 6 * (1 + 96000 // 1024 - 9)
    config = tmp_path / "orbit.json"
    config.write_text(json.dumps({"model": {"hidden_layers": [128, 256, 128], "output_activation": BOUNDED},
                                  "training": {"epochs": 4, "batch_size": 32}}))
    port = free_port()
    with watched(port, monkeypatch) as status:  # the seed's status endpoint, read from start to finish
        assert main(["tabular", "train", str(data), "--targets", ",".join(TARGETS), "--config", str(config),
                     "--group", "file", "--runs-dir", str(tmp_path / "runs"), "--quiet", "--backend", "numba",
                     "--status-port", str(port)]) == 0
    (run,) = (tmp_path / "runs").iterdir()
    assert status[0]["status"] == "idle" and status[-1]["status"] == "done" and status[-1]["run_dir"] == str(run)
    assert status[-1]["current_epoch"] == len(status[-1]["loss_history"]) == 4
    out = run / "output"
    net = network.load(out / "model.json")
    assert [net.n_features] + [layer.n_out for layer in net.layers] == [60, 128, 256, 128, 9]
    assert list(net.target_names) == TARGETS
    assert list(net.output_activation) == ["linear", "sigmoid", "linear"] + ["sigmoid"] * 6

    with open(data, newline="") as f:
        X = Matrix([float(r[c]) for r in csv.DictReader(f) for c in net.feature_names], 60)
    rows = np.asarray([list(r) for r in X.rows()], dtype=np.float32)
    want = np.array([net.forward(r) for r in X.rows()])
    bounded = [TARGETS.index(t) for t in BOUNDED]
    assert want[:, bounded].min() > 0.0 and want[:, bounded].max() < 1.0

    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession((out / "model.onnx").read_bytes(), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": rows})[0]
    assert got.shape == (n_rows, 9) and float(np.abs(got - want).max()) <= 1e-5

    from test_bounded_outputs import _litert_int8

    qnet = load_quantized(run, net)  # the emulator's model, checked byte for byte against model.tflite
    q_in = [qnet.quantize_input(r) for r in X.rows()]
    ints = np.array([qnet.run(q) for q in q_in])
    names = [f"head{k}/{'logit' if a == 'linear' else 'value'}" for k, a in enumerate(net.output_activation)]
    blob = (out / "model.tflite").read_bytes()
    got8, tensors = _litert_int8(blob, q_in, reference=True, tensors=names)
    for k, name in enumerate(names):  # LiteRT's integers are the emulator's, on every row
        assert tensors[name][:, 0].tolist() == ints[:, k].tolist(), name
    emulated = np.array([qnet.dequantize_output(r) for r in ints], dtype=np.float32)
    assert np.array_equal(got8, emulated)
    steps = np.array([h.output_scale for h in qnet.heads], dtype=np.float32)
    assert (np.abs(_litert_int8(blob, q_in, reference=False)[0] - emulated) <= steps).all()

    meta = json.loads((out / "meta.json").read_text())
    per_target = meta["check"]["per_target"]
    assert [t["target"] for t in per_target] == TARGETS
    assert [t["step"] for t in per_target if t["activation"] == "sigmoid"] == [1 / 256] * 7
    assert meta["quantization"]["output_type"] == "float32"
    assert meta["model"]["architecture"]["output_activation"] == list(net.output_activation)
    history = json.loads((out / "training_history.json").read_text())
    assert len(history) == 4 and history[-1]["val_loss"] < history[0]["val_loss"]
