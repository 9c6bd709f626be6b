"""TFLite of the sequence models: float32 (LiteRT against the library's forward pass within 1e-5) and full
int8 for the TCN (LiteRT's integers against the library's integer emulator)."""
from __future__ import annotations

import pytest

from sequence_models import MODELS
from stingerml.core.errors import ExportError
from stingerml.formats.tflite_sequence import to_tflite_float, to_tflite_int8
from stingerml.sequence import LSTMClassifier, TCNClassifier
from stingerml.sequence.quantize import quantize_tcn, representative_samples
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
    ops = {op["op_name"] for op in litert.Interpreter(model_content=blob)._get_ops_details()}
    if net.architecture == "lstm":  # the operators, as LiteRT reads them
        assert "UNIDIRECTIONAL_SEQUENCE_LSTM" in ops and "CONV_2D" not in ops, ops
    else:
        assert "CONV_2D" in ops and "UNIDIRECTIONAL_SEQUENCE_LSTM" not in ops, ops


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


# --------------------------------------------------------------------------- full int8 (TCN)

TCN_MODELS = [m for m in MODELS if m.id.startswith("tcn")]


def _litert_int8(blob, qnet, X, reference, seed=0):
    """LiteRT's int8 outputs ``[N][C]`` and the emulator's inputs: each sample's valid steps quantized by
    :meth:`QuantizedTCN.quantize_steps`, its padding steps random int8 (they must not matter)."""
    resolver = litert.OpResolverType.BUILTIN_REF if reference else litert.OpResolverType.AUTO
    it = litert.Interpreter(model_content=blob, experimental_op_resolver_type=resolver)
    it.allocate_tensors()
    ins = {d["name"]: d["index"] for d in it.get_input_details()}
    (out,) = it.get_output_details()
    T, F = X.n_steps, X.n_features
    rng = np.random.default_rng(seed)
    rows, inputs = [], []
    for n, L in enumerate(X.lengths):
        q = qnet.quantize_steps(X.data[n * T * F:(n * T + L) * F])
        sample = np.array(q + list(rng.integers(-128, 128, (T - L) * F)), np.int8).reshape(1, T, F)
        it.set_tensor(ins["input"], sample)
        it.set_tensor(ins["mask"], np.array([[1 if t < L else 0 for t in range(T)]], np.int8))
        it.invoke()
        got = it.get_tensor(out["index"])
        assert got.dtype == np.int8
        rows.append(got[0].astype(np.int64))
        inputs.append((q, L))
    return np.array(rows), inputs


@pytest.fixture(scope="module")
def int8_data():
    return word_task(90, seed=5, min_steps=4, max_steps=20)


@pytest.fixture(scope="module", params=TCN_MODELS)
def quantized(request, int8_data):
    X, y = int8_data
    net = request.param().fit(X, y).to_model()
    return net, quantize_tcn(net, representative_samples(X, 30, seed=1))


def test_int8_litert_reference_kernels_equal_the_emulator(int8_data, quantized):
    """Compared: LiteRT 2.3's int8 output (``OpResolverType.BUILTIN_REF``) and
    ``QuantizedTCN.run(q, L, rounding="reference")`` on every sample, integer for integer, with random
    int8 padding. The rounding point that makes "reference" differ from "single": LiteRT's reference
    ``CONV_2D`` per-channel and ``ADD`` kernels round ``MultiplyByQuantizedMultiplier`` twice (gemmlowp's
    ``SaturatingRoundingDoublingHighMul`` then ``RoundingDivideByPOT``, halves away from zero), while its
    ``FULLY_CONNECTED`` rounds once (``(acc·m + 2**(t-1)) >> t``); one rounding in the convolutions put
    the emulator one step off at 10-18 convolution outputs of 24-60 samples, one in the ADD at 1 (the
    identity-residual model), two in the dense layer at 2: "reference" rounds each as LiteRT does."""
    X, _ = int8_data
    _, qnet = quantized
    blob = to_tflite_int8(qnet)
    assert blob[4:8] == b"TFL3" and to_tflite_int8(qnet) == blob
    got, inputs = _litert_int8(blob, qnet, X, reference=True)
    want = np.array([qnet.run(q, L, rounding="reference") for q, L in inputs])
    assert (got == want).all()


def test_int8_litert_default_kernels_equal_the_emulator(int8_data, quantized):
    """Compared: LiteRT's default interpreter (its XNNPACK delegate runs CONV_2D, ADD and
    FULLY_CONNECTED) int8 output and ``QuantizedTCN.run(q, L, rounding="xnnpack")`` on every sample,
    integer for integer. The rounding point: XNNPACK's int8 ADD rescales with its own fixed point (one
    21-bit multiplier per input, one shift: ``xnn_init_qs8_add_minmax_scalar_params``), not TFLite's
    ``left_shift = 20`` and three multipliers; emulating TFLite's ADD put one residual sum of 90
    samples one step off (three steps after the softmax). Its convolutions and dense layer requantize
    in float32 (``lrintf``)."""
    X, _ = int8_data
    _, qnet = quantized
    got, inputs = _litert_int8(to_tflite_int8(qnet), qnet, X, reference=False)
    want = np.array([qnet.run(q, L, rounding="xnnpack") for q, L in inputs])
    assert (got == want).all()


def test_int8_padding_and_quantization_parameters(int8_data, quantized):
    X, _ = int8_data
    net, qnet = quantized
    blob = to_tflite_int8(qnet)
    first, _ = _litert_int8(blob, qnet, X, reference=True, seed=1)
    second, _ = _litert_int8(blob, qnet, X, reference=True, seed=2)
    assert (first == second).all()  # the padding content cannot change an output
    it = litert.Interpreter(model_content=blob)
    assert it.get_signature_list() == {"serving_default": {"inputs": ["input", "mask"], "outputs": ["output"]}}
    ins = {d["name"]: d for d in it.get_input_details()}
    (out,) = it.get_output_details()
    assert list(ins["input"]["shape"]) == [1, net.n_steps, net.n_features]
    assert ins["input"]["quantization"] == (qnet.input_scale, qnet.input_zero_point)
    assert ins["mask"]["dtype"] == np.int8 and ins["mask"]["quantization"] == (1.0, 0)
    assert out["dtype"] == np.int8 and out["quantization"] == (1 / 256, -128)
    meta = qnet.to_dict()
    assert meta["input"]["scale"] == qnet.input_scale and meta["mask"]["shape"] == [1, net.n_steps]


def test_int8_follows_the_float_model(int8_data, quantized):
    """The int8 model's class is the float model's on at least 90 % of the samples."""
    X, _ = int8_data
    net, qnet = quantized
    f = net.predict_proba(X)
    q = qnet.predict_proba(X)
    C = net.n_classes
    same = sum(max(range(C), key=lambda c: f.data[n * C + c]) == max(range(C), key=lambda c: q.data[n * C + c])
               for n in range(X.n_samples))
    assert same >= 0.9 * X.n_samples


def test_int8_refuses_the_lstm(data):
    X, y = data
    net = LSTMClassifier(hidden=4, max_epochs=1).fit(X, y).to_model()
    with pytest.raises(ExportError, match="only the TCN has an int8 form"):
        quantize_tcn(net, X)
