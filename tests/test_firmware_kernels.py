"""The firmware kernels (``firmware_pure`` and its numba twin ``firmware_jit``) on both backends.

Each test runs once per backend (``backend`` fixture; numba is skipped when not
installed) and compares the active backend's kernels with ``firmware_pure`` bit
for bit on random inputs (those comparisons skip on the python backend, where
they would compare pure with pure): int16 samples at the extremes, zero, negative and
tiny scales, dead ReLU units, logits beyond the sigmoid's cut-offs, expf over
its whole range. The reference data (features float32-equal, probabilities
equal to the real firmware's bit for bit, the whole session_a stream) is checked on
both backends in test_firmware.py, where session_a's replay is in the default
run on numba.
"""
from __future__ import annotations

import inspect
import math
import struct
from array import array
from typing import List

import pytest
from conftest import skip_if_same
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stingerml import _kernels
from stingerml._kernels import firmware_pure, kernels
from stingerml.blaster import firmware, loader
from stingerml.core.rng import XorShift32

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
PUBLIC = firmware_pure.__all__  # the seam's names


@pytest.fixture
def k(backend):
    """The active backend's firmware kernel module."""
    return kernels("firmware")


def bits(values, signed_zero: bool = True) -> List[int]:
    """The float32 bit patterns of a sequence (all NaNs alike; ``signed_zero=False``: -0.0 as +0.0)."""
    out = []
    for v in values:
        if math.isnan(v):
            out.append(-1)
        else:
            out.append(struct.unpack("<I", struct.pack("<f", 0.0 if (v == 0.0 and not signed_zero) else v))[0])
    return out


def f32_values(rng: XorShift32, n: int, magnitude: float, zeros: float = 0.0) -> array:
    """``n`` float32 values ``magnitude * gaussian``; a fraction ``zeros`` of them exactly 0."""
    return array("f", [0.0 if rng() < zeros else magnitude * rng.gaussian() for _ in range(n)])


# --------------------------------------------------------------------------- structure


def test_jit_defines_every_firmware_kernel_with_the_same_signature():
    pytest.importorskip("numba")
    from stingerml._kernels import firmware_jit

    assert set(PUBLIC) >= {"window_features", "lr_logits", "mlp_logits", "sigmoids", "expf", "sigmoid_f32"}
    for name in PUBLIC:
        assert inspect.signature(getattr(firmware_jit, name)) == inspect.signature(getattr(firmware_pure, name)), name


def test_firmware_kernels_follow_the_backend(backend):
    want = "firmware_pure" if backend == "python" else "firmware_jit"
    assert kernels("firmware").__name__ == f"stingerml._kernels.{want}"
    assert _kernels.backend() == backend
    assert _kernels.kernels().__name__ == ("stingerml._kernels.pure" if backend == "python" else "stingerml._kernels.jit")


# --------------------------------------------------------------------------- features


@st.composite
def streams(draw):
    """``(samples, n_windows, step)``: random int16 samples, often at the int16 extremes."""
    n_windows = draw(st.integers(1, 4))
    step = draw(st.sampled_from([1, 2, 7, 50, 61]))
    n_samples = step * (n_windows - 1) + 50 + draw(st.integers(0, 3))
    big = st.integers(-32768, 32767)
    values = st.one_of(big, st.integers(-300, 300), st.sampled_from([-32768, 32767, 0, -1, 1]))
    samples = draw(st.lists(values, min_size=6 * n_samples, max_size=6 * n_samples))
    return array("h", samples), n_windows, step


@SETTINGS
@given(stream=streams())
def test_window_features_equal_pure(k, stream):
    skip_if_same(k, firmware_pure)
    samples, n_windows, step = stream
    X, rms = k.window_features(samples, n_windows, step)
    X0, rms0 = firmware_pure.window_features(samples, n_windows, step)
    assert len(X) == 30 * n_windows and len(rms) == n_windows
    assert bits(X) == bits(X0) and bits(rms) == bits(rms0)
    # list input (as Firmware.push passes its ring) gives the same
    assert bits(k.window_features(list(samples), n_windows, step)[0]) == bits(X0)


def test_window_features_oracle(k):
    # Constant channels: mean = value, std = 0, absmax = |value|, magnitudes exact (3-4-12 triangles).
    window = [v for _ in range(50) for v in (3, -4, 12, 120, 0, -50)]
    X, rms = k.window_features(window, 1, 50)
    assert list(X) == [3, -4, 12, 120, 0, -50] + [0] * 6 + [3, 4, 12, 120, 0, 50] + [3, 4, 12, 120, 0, 50] \
        + [13, 0, 13, 130, 0, 130]
    assert list(rms) == [130.0]


def test_window_features_errors_alike(k):
    with pytest.raises(ValueError):
        k.window_features([0] * 299, 1, 50)
    with pytest.raises(ValueError):
        k.window_features([0] * 600, 2, 0)
    with pytest.raises(OverflowError):
        k.window_features([40000] * 300, 1, 50)
    assert k.window_features(array("h"), 0, 1) == (array("f"), array("f"))


# --------------------------------------------------------------------------- models

SCALE_MODES = ["plain", "zero", "negative", "tiny", "floor"]


def lr_case(seed: int, n_rows: int, mode: str):
    rng = XorShift32(seed)
    X = f32_values(rng, 30 * n_rows, 300.0, zeros=0.1)
    mean = f32_values(rng, 18, 100.0)
    scale = array("f", [abs(v) + 0.5 for v in f32_values(rng, 18, 50.0)])
    special = {"plain": scale[2], "zero": 0.0, "negative": -3.0, "tiny": 1e-12, "floor": 1e-10}[mode]
    scale[2] = scale[11] = special
    return X, mean, scale, f32_values(rng, 18, 0.3), firmware.f32(rng.gaussian())


@SETTINGS
@given(seed=st.integers(1, 2**32 - 1), n_rows=st.integers(0, 40), mode=st.sampled_from(SCALE_MODES))
def test_lr_logits_equal_pure(k, seed, n_rows, mode):
    skip_if_same(k, firmware_pure)
    X, mean, scale, coef, intercept = lr_case(seed, n_rows, mode)
    z = k.lr_logits(X, n_rows, 30, mean, scale, coef, intercept)
    assert isinstance(z, array) and z.typecode == "f" and len(z) == n_rows
    assert bits(z) == bits(firmware_pure.lr_logits(X, n_rows, 30, mean, scale, coef, intercept))
    assert bits(k.sigmoids(z)) == bits(firmware_pure.sigmoids(z))


def test_lr_scale_floor_hand_computed(k):
    # One feature, scale 0 -> 1e-10f: z = f32(intercept + f32(f32((x - mean) / 1e-10f) * coef)).
    f32 = firmware.f32
    x, mean, coef, intercept = f32(1.5), f32(0.25), f32(-2e-10), f32(0.125)
    scaled = f32((x - mean) / f32(1e-10))
    want = f32(intercept + f32(scaled * coef))
    for scale in (0.0, -1.0, 1e-20, f32(1e-10)):
        assert k.lr_logits(array("f", [x]), 1, 1, [mean], [scale], [coef], intercept)[0] == want


def mlp_case(seed: int, n_rows: int, mode: str):
    rng = XorShift32(seed)
    X = f32_values(rng, 30 * n_rows, 300.0, zeros=0.1)
    mean = f32_values(rng, 30, 100.0)
    scale = array("f", [abs(v) + 0.5 for v in f32_values(rng, 30, 50.0)])
    W1 = f32_values(rng, 64 * 30, 0.25)
    b1 = f32_values(rng, 64, 0.5)
    W2 = f32_values(rng, 32 * 64, 0.18)
    b2 = f32_values(rng, 32, 0.5)
    W3 = f32_values(rng, 32, 0.25)
    b3 = firmware.f32(rng.gaussian())
    if mode == "dead":  # half the first layer and all but two units of the second never fire
        for j in range(0, 64, 2):
            b1[j] = -1e30
        for j in range(2, 32):
            b2[j] = -1e30
    elif mode == "all dead":  # z = b3 exactly
        b2 = array("f", [-1e30] * 32)
    elif mode == "saturate":  # logits far beyond the sigmoid's ±20 cut-offs
        W3 = array("f", [w * 1e3 for w in W3])
    elif mode != "plain":
        scale[5] = scale[29] = {"zero": 0.0, "negative": -3.0, "tiny": 1e-12, "floor": 1e-10}[mode]
    return X, mean, scale, W1, b1, W2, b2, W3, b3


@SETTINGS
@given(seed=st.integers(1, 2**32 - 1), n_rows=st.integers(0, 30),
       mode=st.sampled_from(SCALE_MODES + ["dead", "all dead", "saturate"]))
def test_mlp_logits_equal_pure(k, seed, n_rows, mode):
    skip_if_same(k, firmware_pure)
    args = mlp_case(seed, n_rows, mode)
    X, rest = args[0], args[1:]
    z = k.mlp_logits(X, n_rows, 30, *rest)
    z0 = firmware_pure.mlp_logits(X, n_rows, 30, *rest)
    assert isinstance(z, array) and z.typecode == "f" and len(z) == n_rows
    # firmware_pure skips all-dead units (see its docstring): only an exactly-zero logit's sign may differ
    assert bits(z, signed_zero=False) == bits(z0, signed_zero=False)
    assert bits(k.sigmoids(z)) == bits(firmware_pure.sigmoids(z0))
    if mode == "all dead":
        assert set(z) <= {args[-1]}


# --------------------------------------------------------------------------- expf and the sigmoid


def float32_sweep() -> array:
    """Float32 values over expf's whole range and the sigmoid's cut-offs, plus random bit patterns."""
    rng = XorShift32(2024)
    xs = [-110.0 + 200.0 * i / 20000 for i in range(20001)]
    xs += [-20.0 + 40.0 * i / 20000 for i in range(20001)]
    xs += [struct.unpack("<f", struct.pack("<I", rng.next_u32()))[0] for _ in range(20000)]
    xs += [0.0, -0.0, 20.0, -20.0, math.inf, -math.inf, math.nan, 88.72283, 88.72284, -103.97208, -103.97209]
    xs += [math.nextafter(v, d) for v in (20.0, -20.0) for d in (0.0, 100.0)]
    return array("f", xs)


def test_expf_and_sigmoids_equal_pure(k):
    skip_if_same(k, firmware_pure)
    xs = float32_sweep()
    assert bits([k.expf(x) for x in xs]) == bits([firmware_pure.expf(x) for x in xs])
    assert bits([k.sigmoid_f32(x) for x in xs]) == bits(firmware_pure.sigmoids(xs))
    assert bits(k.sigmoids(xs)) == bits(firmware_pure.sigmoids(xs))


def test_expf_special_values(k):
    assert k.expf(0.0) == 1.0 and k.expf(-0.0) == 1.0
    assert k.expf(math.inf) == math.inf and k.expf(-math.inf) == 0.0 and math.isnan(k.expf(math.nan))
    assert k.expf(89.0) == math.inf and k.expf(-104.0) == 0.0
    assert k.expf(1.0) == firmware.f32(math.e)


# --------------------------------------------------------------------------- the device


def random_walk(seed: int, n: int) -> array:
    """An int16 IMU stream that wanders in and out of the motion gate."""
    rng = XorShift32(seed)
    state = [0.0, 0.0, 4096.0, 0.0, 0.0, 0.0]
    out = array("h")
    for i in range(n):
        for c in range(6):
            spread = 400.0 if c < 3 else (250.0 if (i // 300) % 2 else 15.0)
            state[c] = 0.9 * state[c] + spread * rng.gaussian() + (409.6 if c == 2 else 0.0)
            out.append(max(-32768, min(32767, round(state[c]))))
    return out


def test_replay_equal_across_backends(backend, monkeypatch):
    skip_if_same(kernels("firmware"), firmware_pure)
    monkeypatch.setattr(firmware, "_CHUNK", 400)
    samples = random_walk(7, 1250)  # 1201 windows: four replay chunks, gate open and closed
    lr, mlp = loader.factory_model("lr"), loader.factory_model("mlp")
    p_lr, p_mlp = firmware.replay_samples(samples, lr, mlp)
    out = firmware.predict_batch(samples, 1201, 1, lr, mlp)
    _kernels.set_backend("python")
    p_lr0, p_mlp0 = firmware.replay_samples(samples, lr, mlp)
    out0 = firmware.predict_batch(samples, 1201, 1, lr, mlp)
    assert bits(p_lr) == bits(p_lr0) and bits(p_mlp) == bits(p_mlp0)
    for key in out0:
        assert bits(out[key]) == bits(out0[key]), key
    gated = sum(1 for r in out0["rms"] if r < 60.0)
    assert 0 < gated < len(out0["rms"]) and 0.0 < max(p_mlp0)
    assert list(p_lr0[49:]) == list(out0["p_lr"]) and bits(p_lr0[:49]) == [0] * 49
