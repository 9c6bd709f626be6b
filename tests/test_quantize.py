"""int8 quantization and the integer emulator: rounding against exact rational arithmetic, parameters, accuracy."""
from __future__ import annotations

import json
import math
import random
from array import array
from fractions import Fraction

import pytest
from conftest import use_backend
from sklearn_nets import CLASSIFICATION, accuracy, fitted

from stingerml.core.dense import DenseLayer, DenseNetwork
from stingerml.core.errors import ExportError
from stingerml.core.matrix import Matrix
from stingerml.core.quantized import round_half_away
from stingerml.deploy.quantize import (
    PROB_SCALE,
    activation_params,
    multiply_by_quantized_multiplier,
    quantize,
    quantize_multiplier,
    representative_rows,
)

INT32_MIN = -(1 << 31)


def _f32(x: float) -> float:
    return array("f", [x])[0]


def _half_away(fr: Fraction) -> int:
    n = math.floor(abs(fr) + Fraction(1, 2))
    return n if fr >= 0 else -n


def _cases(n=3000):
    r = random.Random(7)
    for _ in range(n):
        real = r.choice([r.uniform(1e-6, 1.0), r.uniform(1e-3, 0.01), r.uniform(1.0, 40.0)])
        yield r.randint(-(1 << 24), 1 << 24), real


def test_round_half_away():
    assert [round_half_away(v) for v in (0.5, 1.5, 2.5, -0.5, -1.5, 0.49999999999999994, -2.4)] == [1, 2, 3, -1, -2, 0, -2]


def test_quantize_multiplier_is_31_bit_and_close():
    for _, real in _cases(500):
        m, shift = quantize_multiplier(real)
        assert 1 << 30 <= m < 1 << 31
        assert abs(Fraction(m) * Fraction(2) ** (shift - 31) - Fraction(real)) <= Fraction(2) ** (shift - 32)


def test_single_rounding_is_round_half_up_of_the_exact_product():
    for x, real in _cases():
        m, shift = quantize_multiplier(real)
        exact = Fraction(x * m, 1 << (31 - shift))
        assert multiply_by_quantized_multiplier(x, m, shift) == math.floor(exact + Fraction(1, 2))


def test_double_rounding_is_gemmlowp():
    """SaturatingRoundingDoublingHighMul then RoundingDivideByPOT, both rounding half away from zero."""
    for x, real in _cases():
        m, shift = quantize_multiplier(real)
        a = x * (1 << max(shift, 0))
        high = INT32_MIN if a == INT32_MIN and m == INT32_MIN else _half_away(Fraction(a * m, 1 << 31))
        want = _half_away(Fraction(high, 1 << max(-shift, 0)))
        assert multiply_by_quantized_multiplier(x, m, shift, "double") == want
    assert multiply_by_quantized_multiplier(5, 1 << 30, -1, "double") == 2  # 5/4: 2.5 -> 3, then 1.5 -> 2
    assert multiply_by_quantized_multiplier(5, 1 << 30, -1, "single") == 1  # 5/4 = 1.25 -> 1
    assert multiply_by_quantized_multiplier(-6, 1 << 30, -1, "double") == -2  # -1.5 -> -2 (away from zero)
    assert multiply_by_quantized_multiplier(-6, 1 << 30, -1, "single") == -1  # -1.5 -> -1 (half up)


@pytest.mark.parametrize("lo,hi", [(-3.0, 5.0), (0.0, 7.5), (0.5, 2.0), (-4.0, -1.0), (0.0, 0.0)])
def test_activation_params_hold_the_range_and_zero(lo, hi):
    scale, zp = activation_params(lo, hi)
    assert scale == _f32(scale) and -128 <= zp <= 127
    span = (max(hi, 0.0) - min(lo, 0.0)) or 1.0
    assert scale == pytest.approx(span / 255, rel=1e-6)
    assert (-128 - zp) * scale <= min(lo, 0.0) + scale and (127 - zp) * scale >= max(hi, 0.0) - scale


def _small_net(per_channel=False):
    layers = (DenseLayer(array("f", [0.5, -1.0, 2.0, 0.25, -0.75, 1.5]), array("f", [0.1, -0.2, 0.3]), 2, 3),
              DenseLayer(array("f", [1.0, -2.0, 0.5, -1.0, 0.5, 2.0]), array("f", [0.05, -0.05]), 3, 2))
    net = DenseNetwork(layers, "softmax", mean=array("f", [1.0, -1.0]), scale=array("f", [2.0, 0.5]),
                       feature_names=("a", "b"), classes=("p", "q"))
    r = random.Random(3)
    X = Matrix(array("d", [r.gauss(0, 2) for _ in range(2 * 60)]), 2)
    return net, X, quantize(net, X, per_channel=per_channel)


@pytest.mark.parametrize("per_channel", [False, True])
def test_weights_bias_and_outputs(per_channel):
    net, X, q = _small_net(per_channel)
    for layer, src in zip(q.layers, net.layers):
        assert max(abs(v) for v in layer.weights) == 127 and min(layer.weights) >= -127
        assert len(layer.weight_scales) == (src.n_out if per_channel else 1)
        rows = [src.weights[o * src.n_in:(o + 1) * src.n_in] for o in range(src.n_out)]
        for o, row in enumerate(rows):
            s = layer.weight_scales[o if per_channel else 0]
            assert all(abs(w - qw * s) <= s / 2 * (1 + 1e-6) for w, qw in zip(row, layer.weights[o * src.n_in:]))
            assert layer.bias_scales[o if per_channel else 0] == _f32(layer.input_scale * s)
    assert q.layers[0].relu and not q.layers[1].relu
    assert (q.output_scale, q.output_zero_point) == (PROB_SCALE, -128) and PROB_SCALE == 1 / 256
    assert q.layers[1].input_scale == q.layers[0].output_scale
    # sanity: the emulator's probabilities are near the float ones (this toy net has steep logits)
    for row in X.rows():
        got = q.dequantize_output(q.run(q.quantize_input(row)))
        assert max(abs(a - b) for a, b in zip(got, net.forward(row))) < 0.1


def test_quantize_input_applies_the_scaler():
    net, _, q = _small_net()
    x = [_f32(_f32(3.0 - 1.0) / 2.0), _f32(_f32(0.0 + 1.0) / 0.5)]
    assert q.quantize_input([3.0, 0.0]) == [max(-128, min(127, round_half_away(v / q.input_scale) + q.input_zero_point))
                                            for v in x]


def test_to_dict_is_json():
    _, _, q = _small_net()
    d = json.loads(json.dumps(q.to_dict()))
    assert d["input"]["scale"] == q.input_scale and d["input"]["zero_point"] == q.input_zero_point
    assert d["output"]["scale"] == 1 / 256 and d["scaler"]["scale"] == [2.0, 0.5]
    assert d["weights"] == "per-tensor" and d["representative_rows"] == 60 and d["classes"] == ["p", "q"]


def test_representative_rows_seeded():
    X = Matrix(array("d", range(2 * 500)), 2)
    a, b = representative_rows(X), representative_rows(X)
    assert a.n_rows == 100 and a.data == b.data and representative_rows(X, seed=1).data != a.data
    assert representative_rows(Matrix(array("d", range(10)), 2)).n_rows == 5


@pytest.mark.parametrize("bad,match", [
    (Matrix(array("d"), 2), "representative set is empty"),
    (Matrix(array("d", [1.0, math.nan]), 2), r"row 0 column 1 is nan"),
    (Matrix(array("d", [1.0, 2.0, 3.0]), 3), "representative rows have 3 values"),
])
def test_bad_representative_sets(bad, match):
    net, _, _ = _small_net()
    with pytest.raises(ExportError, match=match):
        quantize(net, bad)


@pytest.mark.parametrize("name", CLASSIFICATION)
def test_int8_accuracy_drop_at_most_one_point(name):
    pytest.importorskip("sklearn")
    f = fitted(name)
    acc_float = accuracy([f.net.forward(r) for r in f.test.rows()], f.targets)
    acc_int8 = accuracy(list(quantize(f.net, representative_rows(f.train)).predict(f.test).rows()), f.targets)
    assert acc_float - acc_int8 <= 0.01


def test_shapes_int8_cannot_hold():
    from stingerml.deploy.quantize import MAX_INPUTS

    with pytest.raises(ValueError, match="at least one input and one output"):  # no network has such a layer
        DenseLayer(array("f"), array("f"), 3, 0)
    n = MAX_INPUTS + 1
    wide = DenseNetwork((DenseLayer(array("f", [0.5]) * n, array("f", [0.0]), n, 1),), "linear")
    with pytest.raises(ExportError, match=f"{n} inputs"):
        quantize(wide, Matrix(array("d", [1.0]) * n, n))


def test_a_constant_zero_input_is_quantized_on_the_range_0_to_1():
    """One representative row at the scaler's mean: the scaled input is exactly 0 (a zero-width range).
    Any scale holds a constant 0; the documented choice (activation_params) is the range [0, 1]:
    scale float32(1/255), zero point -128. Quantization goes on (no "no float32 step" error)."""
    net, _, _ = _small_net()
    q = quantize(net, Matrix(array("d", [1.0, -1.0]), 2))  # mean (1, -1)
    assert (q.input_scale, q.input_zero_point) == (_f32(1 / 255), -128)
    assert q.quantize_input([1.0, -1.0]) == [-128, -128]

@pytest.mark.parametrize("rows, weight, what", [([0.0, 1e-44], 1.0, "the scaled input"),
                                                ([-1.0, 1.0], 1e-44, "layer 0's output")])
def test_a_range_whose_float32_step_underflows_is_one_error(rows, weight, what):
    """A range of width ~1e-44 (finite float32 values, subnormal) has a step (width / 255) that rounds
    to 0 in float32: no int8 scale exists; one ExportError naming the tensor (it was a ZeroDivisionError)."""
    assert _f32(_f32(1e-44) / 255) == 0.0  # the oracle: float32 rounding of the step
    net = DenseNetwork((DenseLayer(array("f", [weight]), array("f", [0.0]), 1, 1),
                        DenseLayer(array("f", [1.0]), array("f", [0.0]), 1, 1)), "linear", target_names=("y",))
    with pytest.raises(ExportError, match=rf"int8 quantization: {what} \(range .*\) has no float32 step \(0\)"):
        quantize(net, Matrix(array("d", rows), 1))

def _emulated(net, X_rep, X):
    """Quantize on ``X_rep`` and run the emulator on every row of ``X`` on the active backend."""
    from stingerml.core import quantized as module

    module._logistic_table.cache_clear()  # computed once per input scale: recompute it under this backend
    q = quantize(net, X_rep)
    return q, [q.run(q.quantize_input(r)) for r in X.rows()], [q.run(q.quantize_input(r), "double") for r in X.rows()]


def test_emulator_is_the_same_on_both_backends(vectors):
    """The int8 models and outputs do not depend on the backend (f32 and expf: core.float32, the firmware
    kernels' own reference), so a model quantized anywhere runs the same everywhere."""
    from stingerml.blaster.network import log_rows, read_network

    cases = []
    for kind, width in (("mlp", 30), ("lr", 18)):  # sigmoid: the LOGISTIC table (expf)
        X, _ = log_rows(vectors / "sessions" / "session_a.bin", width)
        cases.append((read_network(vectors / "browser" / f"session_a.{kind}.mlmd"), representative_rows(X), X))
    try:
        f = fitted("digits")  # softmax over 10 units: expf per row
        cases.append((f.net, representative_rows(f.train), f.test))
    except ImportError:
        pass  # no scikit-learn: the blaster's models still cover the sigmoid path
    for net, X_rep, X in cases:
        with use_backend("python"):
            pure = _emulated(net, X_rep, X)
        with use_backend("numba"):
            jit = _emulated(net, X_rep, X)
        assert pure == jit
