"""Sequence ONNX export: onnx's checker and serialization, onnxruntime against the library's forward
pass within 1e-5 on masked and unmasked inputs (padding holding NaN)."""
from __future__ import annotations

import pytest

from sequence_models import MODELS
from stingerml.core.errors import ExportError
from stingerml.formats.onnx_sequence import to_onnx
from stingerml.sequence import Sequences, TCNClassifier
from stingerml.sequence.synth import word_task

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
np = pytest.importorskip("numpy")

TOL = 1e-5


@pytest.fixture(scope="module")
def data():
    return word_task(30, seed=3, min_steps=2, max_steps=10)


def _run(blob, X: Sequences, padding=np.nan):
    x = np.array(X.data, dtype=np.float32).reshape(X.n_samples, X.n_steps, X.n_features)
    mask = np.array([[1.0 if t < L else 0.0 for t in range(X.n_steps)] for L in X.lengths], np.float32)
    x[mask == 0] = padding
    session = ort.InferenceSession(blob, providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x, "mask": mask})[0]


@pytest.mark.parametrize("make", MODELS)
def test_onnxruntime_agrees(data, make):
    X, y = data
    net = make().fit(X, y).to_model()
    blob = to_onnx(net)
    model = onnx.load_from_string(blob)
    onnx.checker.check_model(model, full_check=True)
    assert model.SerializeToString() == blob
    want = np.array(net.predict_proba(X).data).reshape(X.n_samples, -1)
    for padding in (np.nan, 1e6, 0.0):  # masked samples, whatever the padding holds
        assert np.abs(_run(blob, X, padding) - want).max() <= TOL
    full = Sequences(X.data, X.n_steps, X.n_features, type(X.lengths)("q", [X.n_steps] * X.n_samples))
    unmasked = np.array(net.predict_proba(full).data).reshape(X.n_samples, -1)
    assert np.abs(_run(blob, full) - unmasked).max() <= TOL  # every step valid
    assert np.abs(unmasked - want).max() > 1e-3  # the mask matters: the test can fail
    _assert_sequence_ops(model, net)


def _assert_sequence_ops(model, net) -> None:
    """The issue's operators: causal dilated Conv (left padding only) per TCN block; ONNX's LSTM op with
    sequence_lens per LSTM layer."""
    nodes = list(model.graph.node)
    if net.architecture == "lstm":
        lstms = [n for n in nodes if n.op_type == "LSTM"]
        assert len(lstms) == net.depth and all(len(n.input) >= 5 and n.input[4] for n in lstms)  # sequence_lens
        assert not any(n.op_type == "Conv" for n in nodes)
        return
    attrs = [{a.name: onnx.helper.get_attribute_value(a) for a in n.attribute} for n in nodes if n.op_type == "Conv"]
    dilated = [a for a in attrs if a["kernel_shape"] != [1]]
    assert [a["dilations"] for a in dilated] == [[2 ** l] for l in range(net.depth)]
    assert all(a["pads"] == [(net.kernel_size - 1) * a["dilations"][0], 0] for a in dilated)  # causal: left only


def test_refuses_non_finite(data):
    X, y = data
    net = TCNClassifier(hidden=4, blocks=1, max_epochs=1).fit(X, y).to_model()
    net.params[0] = float("nan")
    with pytest.raises(ExportError, match="ONNX: a parameter is not finite"):
        to_onnx(net)
