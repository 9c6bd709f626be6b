"""Float32 TFLite of the sequence models: LiteRT against the library's forward pass within 1e-5."""
from __future__ import annotations

import pytest

from sequence_models import MODELS
from stingerml.core.errors import ExportError
from stingerml.formats.tflite_sequence import to_tflite_float
from stingerml.sequence import LSTMClassifier, TCNClassifier
from stingerml.sequence.synth import word_task

litert = pytest.importorskip("ai_edge_litert.interpreter")
np = pytest.importorskip("numpy")

TOL = 1e-5


@pytest.fixture(scope="module")
def data():
    return word_task(24, seed=3, min_steps=2, max_steps=10)


def _litert(blob, X, padding, reset=True):
    it = litert.Interpreter(model_content=blob)
    it.allocate_tensors()
    ins = {d["name"]: d["index"] for d in it.get_input_details()}
    (out,) = it.get_output_details()
    x = np.array(X.data, np.float32).reshape(X.n_samples, X.n_steps, X.n_features)
    rows = []
    for n, L in enumerate(X.lengths):
        if reset:
            it.reset_all_variables()
        sample = x[n:n + 1].copy()
        sample[0, L:] = padding
        it.set_tensor(ins["input"], sample)
        it.set_tensor(ins["mask"], np.array([[1.0 if t < L else 0.0 for t in range(X.n_steps)]], np.float32))
        it.invoke()
        rows.append(it.get_tensor(out["index"])[0])
    return np.array(rows)


@pytest.mark.parametrize("make", MODELS)
def test_litert_agrees(data, make):
    X, y = data
    net = make().fit(X, y).to_model()
    blob = to_tflite_float(net)
    assert blob[4:8] == b"TFL3" and to_tflite_float(net) == blob
    want = np.array(net.predict_proba(X).data).reshape(X.n_samples, -1)
    for padding in (0.0, 1e4, -3.0):  # masked samples: the padding cannot change the output
        assert np.abs(_litert(blob, X, padding) - want).max() <= TOL


def test_lstm_state_carries_over_without_reset(data):
    """What meta.json tells a device: reset the variable tensors before each LSTM sample."""
    X, y = data
    net = LSTMClassifier(hidden=6, max_epochs=3).fit(X, y).to_model()
    want = np.array(net.predict_proba(X).data).reshape(X.n_samples, -1)
    assert np.abs(_litert(to_tflite_float(net), X, 0.0, reset=False) - want).max() > 1e-3


def test_refuses_non_finite(data):
    X, y = data
    net = TCNClassifier(hidden=4, blocks=1, max_epochs=1).fit(X, y).to_model()
    net.scale[0] = 0.0
    with pytest.raises(ExportError, match="TFLite: a scaler scale is <= 0"):
        to_tflite_float(net)
