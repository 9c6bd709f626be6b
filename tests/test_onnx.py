"""ONNX export: onnx's checker, onnx's own serialization and onnxruntime against DenseNetwork.forward."""
from __future__ import annotations

import json
import math
from array import array

import pytest
from sklearn_nets import fitted

from stingerml.blaster.network import log_rows, read_network
from stingerml.core.dense import DenseLayer, DenseNetwork
from stingerml.core.errors import ExportError, StingerError
from stingerml.formats.onnx import to_onnx, write_onnx

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
np = pytest.importorskip("numpy")

TOL = 1e-5
CASES = ["iris", "breast_cancer", "diabetes"]  # softmax, sigmoid, linear (regression)


def _run(blob: bytes, rows) -> "np.ndarray":
    session = ort.InferenceSession(blob, providers=["CPUExecutionProvider"])
    return session.run(None, {"input": np.asarray(rows, dtype=np.float32)})[0]


def _max_diff(net: DenseNetwork, blob: bytes, X) -> float:
    """Largest |onnxruntime - forward| over every row of ``X`` (raw feature rows)."""
    got = _run(blob, [list(r) for r in X.rows()])
    want = np.array([net.forward(r) for r in X.rows()])
    assert got.shape == want.shape
    return float(np.abs(got - want).max())


@pytest.mark.parametrize("name", CASES)
def test_checker_and_onnx_serialization(name):
    pytest.importorskip("sklearn")
    blob = to_onnx(fitted(name).net)
    model = onnx.load_from_string(blob)
    onnx.checker.check_model(model, full_check=True)
    assert model.ir_version == 7 and [(o.domain, o.version) for o in model.opset_import] == [("", 13)]
    assert model.SerializeToString() == blob  # fields in onnx's own order: byte-identical
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "N"


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("fold", [True, False])
def test_onnxruntime_equals_forward(name, fold):
    pytest.importorskip("sklearn")
    f = fitted(name)
    net = f.net
    blob = to_onnx(net, fold_scaler=fold)
    if fold:
        assert _max_diff(net, blob, f.test) <= TOL
        return
    bare = DenseNetwork(net.layers, net.output)  # the same layers without the scaler: feed scaled rows
    scaled = [[(v - m) / s for v, m, s in zip(r, net.mean, net.scale)] for r in f.test.rows()]
    got = _run(blob, scaled)
    want = np.array([bare.forward(r) for r in scaled])
    assert float(np.abs(got - want).max()) <= TOL


@pytest.mark.parametrize("kind,width", [("mlp", 30), ("lr", 18)])
def test_blaster_model_on_session_a(vectors, kind, width):
    net = read_network(vectors / "browser" / f"session_a.{kind}.mlmd")
    X, _ = log_rows(vectors / "sessions" / "session_a.bin", width)
    assert X.n_rows == 290
    blob = to_onnx(net)
    onnx.checker.check_model(onnx.load_from_string(blob), full_check=True)
    assert _max_diff(net, blob, X) <= TOL


def test_metadata_and_graph():
    net = DenseNetwork((DenseLayer(array("f", [1, 2, 3, 4, 5, 6]), array("f", [0, 1, 2]), 2, 3),), "softmax",
                       mean=array("f", [0.5, 1]), scale=array("f", [2, 4]), feature_names=("a", "b"),
                       classes=("x", "y", "z"), metadata=(("trained_on", "unit test"),))
    model = onnx.load_from_string(to_onnx(net))
    props = {p.key: p.value for p in model.metadata_props}
    assert json.loads(props["feature_names"]) == ["a", "b"]
    assert json.loads(props["classes"]) == ["x", "y", "z"]
    assert json.loads(props["scaler_mean"]) == [0.5, 1.0] and json.loads(props["scaler_scale"]) == [2.0, 4.0]
    assert props["scaler_folded"] == "true" and props["trained_on"] == "unit test"
    assert props["stingerml_version"]
    assert [n.op_type for n in model.graph.node] == ["Sub", "Div", "Gemm", "Softmax"]
    unfolded = onnx.load_from_string(to_onnx(net, fold_scaler=False))
    assert [n.op_type for n in unfolded.graph.node] == ["Gemm", "Softmax"]
    assert {p.key: p.value for p in unfolded.metadata_props}["scaler_folded"] == "false"
    hidden = DenseNetwork(net.layers + (DenseLayer(array("f", [1] * 3), array("f", [0]), 3, 1),), "sigmoid")
    assert [n.op_type for n in onnx.load_from_string(to_onnx(hidden)).graph.node] == ["Gemm", "Relu", "Gemm", "Sigmoid"]


def test_byte_stable(tmp_path, vectors):
    net = read_network(vectors / "browser" / "session_a.mlp.mlmd")
    write_onnx(net, tmp_path / "a.onnx")
    write_onnx(read_network(vectors / "browser" / "session_a.mlp.mlmd"), tmp_path / "b.onnx")
    assert (tmp_path / "a.onnx").read_bytes() == (tmp_path / "b.onnx").read_bytes() == to_onnx(net)


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_weights_write_nothing(tmp_path, bad):
    net = DenseNetwork((DenseLayer(array("f", [1, bad]), array("f", [0]), 2, 1),), "linear")
    target = tmp_path / "m.onnx"
    with pytest.raises(ExportError, match=r"layer 0 weights\[1\]") as info:
        write_onnx(net, target)
    assert isinstance(info.value, StingerError)
    assert list(tmp_path.iterdir()) == []


def test_zero_scale_is_refused():
    net = DenseNetwork((DenseLayer(array("f", [1, 1]), array("f", [0]), 2, 1),), "linear",
                       mean=array("f", [0, 0]), scale=array("f", [1, 0]))
    with pytest.raises(ExportError, match=r"scale\[1\]"):
        to_onnx(net)
