"""Full-int8 TFLite export: LiteRT's interpreter against the library's integer emulator."""
from __future__ import annotations

import json

import pytest
from sklearn_nets import fitted

from stingerml.blaster.network import log_rows, read_network
from stingerml.core.errors import ExportError
from stingerml.core.matrix import Matrix
from stingerml.deploy.quantize import quantize, representative_rows
from stingerml.formats.tflite import to_tflite, write_tflite

litert = pytest.importorskip("ai_edge_litert.interpreter")
np = pytest.importorskip("numpy")

CASES = ["iris", "breast_cancer", "diabetes", "digits"]  # softmax 3, sigmoid, linear, softmax 10


def _interpreter(blob: bytes, reference: bool):
    if reference:
        return litert.Interpreter(model_content=blob,
                                  experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF)
    return litert.Interpreter(model_content=blob)


def _litert_outputs(blob: bytes, q_rows, reference: bool) -> "np.ndarray":
    """int8 outputs of LiteRT for a batch of int8 input rows (the batch dimension resized to the row count)."""
    it = _interpreter(blob, reference)
    (inp,), (out,) = it.get_input_details(), it.get_output_details()
    it.resize_tensor_input(inp["index"], [len(q_rows), len(q_rows[0])])
    it.allocate_tensors()
    it.set_tensor(inp["index"], np.asarray(q_rows, dtype=np.int8))
    it.invoke()
    got = it.get_tensor(out["index"])
    assert got.dtype == np.int8
    return got.astype(np.int64)


def _step_differences(qnet, X):
    """(max |LiteRT ref - emulator|, max |LiteRT default - emulator|) in int8 steps over every row of X."""
    blob = to_tflite(qnet)
    q_in = [qnet.quantize_input(r) for r in X.rows()]
    want = np.array([qnet.run(q) for q in q_in])
    ref = _litert_outputs(blob, q_in, reference=True)
    default = _litert_outputs(blob, q_in, reference=False)
    return int(np.abs(ref - want).max()), int(np.abs(default - want).max())


@pytest.mark.parametrize("per_channel", [False, True], ids=["per_tensor", "per_channel"])
@pytest.mark.parametrize("name", CASES)
def test_litert_equals_emulator(name, per_channel):
    pytest.importorskip("sklearn")
    f = fitted(name)
    qnet = quantize(f.net, representative_rows(f.train), per_channel=per_channel)
    ref, default = _step_differences(qnet, f.test)
    assert ref == 0  # reference kernels: exactly the emulator
    assert default <= 1  # default (optimized/XNNPACK) kernels: at most one step


@pytest.mark.parametrize("kind,width", [("mlp", 30), ("lr", 18)])
def test_blaster_model_on_session_a(vectors, kind, width):
    net = read_network(vectors / "browser" / f"session_a.{kind}.mlmd")
    X, _ = log_rows(vectors / "sessions" / "session_a.bin", width)
    qnet = quantize(net, representative_rows(X))
    ref, default = _step_differences(qnet, X)
    assert ref == 0 and default <= 1


def test_quantization_parameters_in_the_file(vectors):
    net = read_network(vectors / "browser" / "session_a.mlp.mlmd")
    qnet = quantize(net, representative_rows(log_rows(vectors / "sessions" / "session_a.bin", 30)[0]))
    it = _interpreter(to_tflite(qnet), reference=True)
    assert it.get_signature_list() == {"serving_default": {"inputs": ["input"], "outputs": ["output"]}}
    (inp,), (out,) = it.get_input_details(), it.get_output_details()
    assert inp["dtype"] == np.int8 and out["dtype"] == np.int8
    assert list(inp["shape"]) == [1, 30] and list(out["shape"]) == [1, 1]
    assert inp["quantization"] == (qnet.input_scale, qnet.input_zero_point)
    assert out["quantization"] == (1 / 256, -128)
    meta = json.loads(json.dumps(qnet.to_dict()))
    assert meta["input"]["scale"] == inp["quantization"][0] and meta["input"]["zero_point"] == inp["quantization"][1]
    assert meta["output"] == {"dtype": "int8", "scale": 1 / 256, "zero_point": -128, "shape": [1, 1],
                              "kind": "sigmoid"}
    assert len(meta["scaler"]["mean"]) == 30
    ops = [op["op_name"] for op in it._get_ops_details()]
    assert ops == ["FULLY_CONNECTED"] * 3 + ["LOGISTIC"]
    weights = [t for t in it.get_tensor_details() if t["name"].endswith("/weights")]
    assert all(t["dtype"] == np.int8 and not t["quantization_parameters"]["zero_points"].any() for t in weights)


def test_byte_stable(tmp_path, vectors):
    X, _ = log_rows(vectors / "sessions" / "session_a.bin", 30)
    for name in ("a", "b"):
        net = read_network(vectors / "browser" / "session_a.mlp.mlmd")
        write_tflite(quantize(net, representative_rows(X)), tmp_path / f"{name}.tflite")
    assert (tmp_path / "a.tflite").read_bytes() == (tmp_path / "b.tflite").read_bytes()


def test_empty_representative_set_writes_nothing(tmp_path, vectors):
    net = read_network(vectors / "browser" / "session_a.lr.mlmd")
    with pytest.raises(ExportError, match="representative set is empty"):
        write_tflite(quantize(net, Matrix([], 18)), tmp_path / "m.tflite")
    assert list(tmp_path.iterdir()) == []


def _nets():
    """Small hand-made networks (a hidden layer of 3): each kind of output and the preprocessing step the
    writers have."""
    from array import array

    from stingerml.core.dense import DenseLayer, DenseNetwork

    def layer(n_in, n_out, k):
        return DenseLayer(array("f", [((i * 7 + k) % 5 - 2) / 4 for i in range(n_in * n_out)]),
                          array("f", [(j - 1) / 8 for j in range(n_out)]), n_in, n_out)
    hidden = layer(2, 3, 1)
    return {
        "softmax": DenseNetwork((hidden, layer(3, 3, 2)), "softmax", classes=("a", "b", "c")),
        "sigmoid": DenseNetwork((hidden, layer(3, 1, 3)), "sigmoid", classes=("no", "yes")),
        "linear": DenseNetwork((hidden, layer(3, 2, 4)), "linear", target_names=("u", "v")),
        "heads": DenseNetwork((hidden, layer(3, 3, 5)), "linear", target_names=("l", "s", "t"),
                              output_activation=("linear", "sigmoid", "tanh")),
        "hands21": DenseNetwork((layer(63, 3, 6), layer(3, 2, 7)), "softmax", classes=("a", "b"), preprocess="hands21"),
        "hands21x4": DenseNetwork((layer(252, 3, 6), layer(3, 2, 7)), "softmax", classes=("a", "b"),
                                  preprocess="hands21"),  # T = 4 frames of 63
    }


@pytest.mark.parametrize("kind", ["int8", "float32"])
@pytest.mark.parametrize("name", ["softmax", "sigmoid", "linear", "heads", "hands21", "hands21x4"])
def test_every_tensor_is_declared_with_the_shape_litert_computes(name, kind):
    """TFLite Micro plans its memory from the shapes written in the file and resizes nothing, so each
    tensor's declared shape must be the one LiteRT's reference kernels compute when they prepare the
    model (batch 1): read before and after ``allocate_tensors``."""
    from stingerml.formats.tflite import to_tflite_float

    net = _nets()[name]
    n = net.layers[0].n_in
    rows = Matrix([((i * 5) % 11 - 5) / 3 for i in range(3 * n)], n)
    blob = to_tflite(quantize(net, rows)) if kind == "int8" else to_tflite_float(net)
    it = _interpreter(blob, reference=True)
    declared = {t["index"]: (t["name"], t["shape"].tolist()) for t in it.get_tensor_details()}
    it.allocate_tensors()
    prepared = {t["index"]: (t["name"], t["shape"].tolist()) for t in it.get_tensor_details()}
    assert declared == {i: prepared[i] for i in declared}  # (prepare may add scratch tensors of its own)
    n_out = len(net.classes) if net.output == "softmax" else max(1, len(net.target_names))
    assert it.get_output_details()[0]["shape"].tolist() == [1, n_out]
