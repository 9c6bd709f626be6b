"""formats.deploy: a DenseNetwork (+ representative rows) as model.onnx, model.tflite and meta.json, saved as a set."""
from __future__ import annotations

import json
import math
from array import array

import pytest

from stingerml.blaster.network import log_rows, read_network
from stingerml.core.dense import DenseLayer, DenseNetwork
from stingerml.core.errors import ExportError, OutputError
from stingerml.core.matrix import Matrix
from stingerml.deploy.export import EXPORT_FILES, compare, export_network
from stingerml.deploy.quantize import quantize, representative_rows
from stingerml.formats.onnx import to_onnx
from stingerml.formats.tflite import to_tflite


def _blaster(vectors):
    net = read_network(vectors / "browser" / "session_a.mlp.mlmd")
    X, labels = log_rows(vectors / "sessions" / "session_a.bin", 30)
    return net, X, labels


def test_files_are_the_writers_bytes_and_saved_as_a_set(vectors, tmp_path):
    net, X, labels = _blaster(vectors)
    rep = representative_rows(X)
    result = export_network(net, rep, check=X, labels=labels, info={"source": "test"})
    files = result.files()
    assert list(files) == ["model.onnx", "model.tflite", "meta.json"]
    assert list(EXPORT_FILES) == ["model.onnx", "model.tflite", "model_float32.tflite", "meta.json"]
    assert files["model.onnx"] == to_onnx(net) and files["model.tflite"] == to_tflite(quantize(net, rep))
    meta = json.loads(files["meta.json"])
    assert meta["source"] == "test" and meta["network"]["classes"] == ["no_shot", "shot"]
    assert meta["quantization"] == json.loads(json.dumps(quantize(net, rep).to_dict()))
    paths = result.save(tmp_path / "a")
    assert {p.name: p.read_bytes() for p in paths.values()} == files
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted(files)  # no journal or staging left
    assert export_network(net, rep, check=X, labels=labels, info={"source": "test"}).files() == files  # byte-stable


def test_check_counts_rows_independently(vectors):
    net, X, labels = _blaster(vectors)
    qnet = quantize(net, representative_rows(X))
    got = compare(net, qnet, X, labels)
    p_float = [1.0 / (1.0 + math.exp(-_logit(net, r))) for r in X.rows()]  # a forward pass written here
    p_int8 = [(q[0] + 128) / 256 for q in (qnet.run(qnet.quantize_input(r)) for r in X.rows())]
    assert got["rows"] == X.n_rows == len(labels)
    assert got["float_accuracy"] == sum((p >= 0.5) == bool(t) for p, t in zip(p_float, labels)) / len(labels)
    assert got["int8_accuracy"] == sum((p >= 0.5) == bool(t) for p, t in zip(p_int8, labels)) / len(labels)
    assert got["same_class"] == sum((a >= 0.5) == (b >= 0.5) for a, b in zip(p_float, p_int8)) / len(labels)
    assert got["max_abs_diff"] == pytest.approx(max(abs(a - b) for a, b in zip(p_float, p_int8)), abs=1e-12)


def _logit(net, row):
    x = [(v - m) / s for v, m, s in zip(row, net.mean, net.scale)]
    for k, layer in enumerate(net.layers):
        x = [layer.bias[o] + sum(layer.weights[o * layer.n_in + i] * x[i] for i in range(layer.n_in))
             for o in range(layer.n_out)]
        if k < len(net.layers) - 1:
            x = [max(v, 0.0) for v in x]
    return x[0]


def test_regression_check_has_no_classes():
    net = DenseNetwork((DenseLayer(array("f", [1.0, -2.0]), array("f", [0.5]), 2, 1),), "linear")
    X = Matrix(array("d", [0.0, 1.0, 2.0, -1.0, 0.25, 0.5]), 2)
    meta = export_network(net, X, check=X).meta
    assert set(meta["check"]) == {"rows", "max_abs_diff", "per_target"} and meta["check"]["rows"] == 3
    (target,) = meta["check"]["per_target"]  # unnamed: y0
    assert target["target"] == "y0" and target["max_abs_diff"] == meta["check"]["max_abs_diff"]
    assert meta["onnx"] == {"scaler_folded": False} and meta["network"]["shape"] == [2, 1]


def test_without_representative_rows_no_tflite_and_an_older_one_is_removed(vectors, tmp_path):
    net, _, _ = _blaster(vectors)
    (tmp_path / "model.tflite").write_bytes(b"old")
    (tmp_path / "other.txt").write_bytes(b"mine")
    export_network(net).save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["meta.json", "model.onnx", "other.txt"]
    assert json.loads((tmp_path / "meta.json").read_text())["quantization"] is None


def test_errors_before_anything_is_written(vectors, tmp_path):
    net, _, _ = _blaster(vectors)
    with pytest.raises(ExportError, match="representative set is empty"):
        export_network(net, Matrix(array("d"), 30))
    result = export_network(net)
    (tmp_path / "file").write_bytes(b"x")
    with pytest.raises(OutputError, match="is a file"):
        result.save(tmp_path / "file")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_the_tabular_trainer_exports_through_the_same_entry_point(tmp_path):
    """The tabular trainer's to_model() is a DenseNetwork: export_network takes it with its training rows."""
    from stingerml.core.rng import XorShift32
    from stingerml.tabular import MLPClassifier

    rng = XorShift32(5)
    rows, labels = [], []
    for i in range(120):
        k = i % 3
        rows += [k + 0.3 * rng.gaussian(), 2.0 * k - 0.3 * rng.gaussian()]
        labels.append("abc"[k])
    X = Matrix(array("d", rows), 2)
    clf = MLPClassifier(hidden_layer_sizes=(8,), max_epochs=30, seed=1).fit(X, labels)
    net = clf.to_model()
    result = export_network(net, representative_rows(X), check=X, labels=[ord(v) - ord("a") for v in labels])
    assert result.meta["network"]["classes"] == ["a", "b", "c"] and result.meta["network"]["output"] == "softmax"
    assert result.meta["check"]["float_accuracy"] == clf.score(X, labels)  # the trainer's own accuracy
    assert sorted(p.name for p in result.save(tmp_path).values()) == ["meta.json", "model.onnx", "model.tflite"]


def test_save_as_names_files_in_one_folder(vectors, tmp_path):
    net, X, labels = _blaster(vectors)
    result = export_network(net, representative_rows(X))
    files = result.files()
    paths = result.save_as({"model.tflite": tmp_path / "b.tflite", "meta.json": tmp_path / "b.json"})
    assert paths == {"model.tflite": tmp_path / "b.tflite", "meta.json": tmp_path / "b.json"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.json", "b.tflite"]
    assert (tmp_path / "b.tflite").read_bytes() == files["model.tflite"]
    assert (tmp_path / "b.json").read_bytes() == files["meta.json"]
    with pytest.raises(OutputError, match="must be in one folder"):
        result.save_as({"model.onnx": tmp_path / "x" / "m.onnx", "meta.json": tmp_path / "m.json"})
    with pytest.raises(ExportError, match="no model.tflite to write"):
        export_network(net).save_as({"model.tflite": tmp_path / "c.tflite"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.json", "b.tflite"]
