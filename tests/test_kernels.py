"""The hot-loop kernels on both backends (PEP 399 style: the same tests for ``pure`` and ``jit``).

Every kernel test runs once per backend through the ``k`` fixture (the numba
run is skipped when numba is not installed). Each compares the active backend
with ``pure`` bit for bit on random inputs, and, where an independent oracle is
cheap (brute force, V8's own numbers, the browser's model files), with that too,
so the python run is not a tautology. Under numba the whole browser pipeline is
checked byte for byte against the real browser's output for tiny and session_a.
"""
from __future__ import annotations

import inspect
import json
import math
import struct
from array import array
from pathlib import Path

import pytest
from conftest import BACKENDS, skip_if_same, use_backend
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import stingerml._kernels as kernels_mod
from stingerml._kernels import pure
from stingerml.core.rng import XorShift32

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
PUBLIC = pure.__all__  # the seam's names
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(params=BACKENDS)
def k(request):
    """The kernel module of one backend, made active for the test; the previous one is restored."""
    with use_backend(request.param):
        yield kernels_mod.kernels()


@pytest.fixture
def jit():
    pytest.importorskip("numba")
    from stingerml._kernels import jit as module
    return module


@pytest.fixture
def jsmath_jit():
    """The numba twin of jsmath (V8's fdlibm exp/log/cos as njit functions)."""
    pytest.importorskip("numba")
    from stingerml._kernels import jsmath_jit as module
    return module


@pytest.fixture
def rng_jit():
    """The numba twin of the xorshift32 rng."""
    pytest.importorskip("numba")
    from stingerml._kernels import rng_jit as module
    return module


def bits(values) -> bytes:
    """Exact bytes of a float, a sequence of floats, an ``array('f')`` or a loss history.

    NaNs compare equal whatever their sign and payload (JavaScript and JSON cannot
    tell them apart; fdlibm's ``x + x`` and ``math.nan`` differ only there).
    """
    if isinstance(values, array):
        return values.typecode.encode() + bits(list(values))
    if isinstance(values, float):
        return b"nan" if math.isnan(values) else struct.pack("<d", values)
    if isinstance(values, dict):
        return repr(sorted(values)).encode() + b"".join(bits(values[key]) for key in sorted(values))
    if isinstance(values, int):
        return b"i" + str(values).encode()
    return b"[" + b"".join(bits(v) for v in values) + b"]"


def assert_same(got, want):
    assert type(got) is type(want)
    if isinstance(want, tuple):
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert_same(g, w)
    elif isinstance(want, list):
        assert [type(v) for v in got] == [type(v) for v in want]
        assert bits(got) == bits(want)
    else:
        assert bits(got) == bits(want)


def f32s(n_min: int, n_max: int, magnitude: float = 1e3):
    return st.lists(st.floats(-magnitude, magnitude, width=32), min_size=n_min, max_size=n_max)


# --- the backend module itself ----------------------------------------------------


def test_jit_defines_every_pure_function_with_the_same_signature(jit):
    assert PUBLIC, "pure defines the public kernels"
    for name in PUBLIC:
        assert inspect.signature(getattr(jit, name)) == inspect.signature(getattr(pure, name)), name


def test_set_backend_selects_and_restores(k):
    assert kernels_mod.kernels() is k
    assert kernels_mod.backend() == ("numba" if k is not pure else "python")


# --- fdlibm ports and the rng inside njit (numba only) ------------------------------


@pytest.mark.parametrize("name", ["exp", "log", "cos"])
def test_njit_math_equals_v8(jsmath_jit, name):
    v8 = json.loads((VECTORS / "jsmath" / "v8_math.json").read_text())[name]
    fn = getattr(jsmath_jit, name)
    unpack = lambda h: struct.unpack(">d", bytes.fromhex(h))[0]  # noqa: E731
    wrong = [(x, y) for x, y in v8 if struct.pack(">d", fn(unpack(x))).hex() != y]
    assert not wrong, f"{len(wrong)} of {len(v8)} differ from V8, first {wrong[:3]}"


def test_njit_math_equals_jsmath_on_a_million_arguments(jsmath_jit):
    """Bit-identical to the Python fdlibm ports on 10^6 arguments covering every branch."""
    np = pytest.importorskip("numpy")
    from numba import njit

    from stingerml.core import jsmath

    @njit
    def apply(xs):
        out = np.empty((3, xs.size))
        for i in range(xs.size):
            out[0, i] = jsmath_jit.exp(xs[i])
            out[1, i] = jsmath_jit.log(xs[i])
            out[2, i] = jsmath_jit.cos(xs[i]) if abs(xs[i]) < 1e5 else 0.0
        return out

    r = np.random.default_rng(20240601)
    xs = np.concatenate([
        r.uniform(-40, 40, 250_000), r.standard_normal(150_000) * 2, np.exp(r.uniform(-740, 709, 150_000)),
        r.uniform(0, 1, 200_000), r.uniform(0, 2 * math.pi, 250_000),
        np.array([0.0, -0.0, 1.0, -1.0, 0.5, math.inf, -math.inf, math.nan, 5e-324, 2.2250738585072014e-308,
                  1e-310, 709.78, 709.7827128933840, -745.1, -708.5, 710.0, -746.0, 0.34657359, 1.03972077,
                  math.pi / 4, math.pi / 2, math.pi, 3 * math.pi / 2, 2 * math.pi, 1e-9, -1e-9]),
    ])
    got = apply(xs)
    packed = struct.Struct("<d").pack
    for row, fn in enumerate((jsmath.exp, jsmath.log, jsmath.cos)):
        values = got[row].tolist()
        wrong = [x for x, v in zip(xs.tolist(), values)
                 if (row < 2 or abs(x) < 1e5) and packed(fn(x)) != packed(v)]
        assert not wrong, f"{fn.__name__}: {len(wrong)} arguments differ, first {wrong[:5]}"


def test_njit_rng_equals_browser_and_python(rng_jit):
    np = pytest.importorskip("numpy")
    reference = json.loads((VECTORS / "rng" / "xorshift32.json").read_text())
    for seed, ref in reference.items():
        state = rng_jit.seed_state(int(seed))
        assert [rng_jit.next_double(state) for _ in range(64)] == ref["float"], seed
    state = np.array([XorShift32(7).state], np.int64)
    rng = XorShift32(7)
    assert bits([rng_jit.gaussian(state) for _ in range(5000)]) == bits([rng.gaussian() for _ in range(5000)])
    assert int(state[0]) == rng.state


# --- features and scaler -------------------------------------------------------------


@st.composite
def windows(draw, max_rows=4):
    n = draw(st.integers(0, max_rows))
    values = draw(st.lists(st.integers(-32768, 32767), min_size=n * 300, max_size=n * 300))
    return n, array("h", values)


@SETTINGS
@given(st.lists(st.integers(0, 10**6), max_size=300), st.integers(-2**33, 2**33))
def test_shuffled(k, items, seed):
    got = k.shuffled(items, seed)
    assert got == pure.shuffled(items, seed)
    # oracle: Fisher–Yates by hand on the generator's raw uint32 outputs
    rng, expect = XorShift32(seed), list(items)
    for i in range(len(expect) - 1, 0, -1):
        j = (rng.next_u32() * (i + 1)) >> 32
        expect[i], expect[j] = expect[j], expect[i]
    assert got == expect


@SETTINGS
@given(data=windows(), rich=st.booleans())
def test_window_features(k, data, rich):
    skip_if_same(k, pure)
    n, w = data
    want = pure.window_features(w, n, rich)
    assert_same(k.window_features(w, n, rich), want)
    assert_same(k.window_features(array("f", w), n, rich), want)


def test_window_features_oracle(k):
    """One window by hand: a channel of 50 × 7 and a gyro of alternating ±3, the rest zero."""
    w = array("h", [0] * 300)
    for i in range(50):
        w[i * 6 + 0] = 7
        w[i * 6 + 3] = 3 if i % 2 else -3
    f = k.window_features(w, 1, True)
    assert len(f) == 30
    assert (f[0], f[6], f[12], f[18]) == (7.0, 0.0, 7.0, 7.0)
    assert (f[3], f[9], f[15], f[21]) == (0.0, 3.0, 3.0, 3.0)
    assert (f[24], f[25], f[26]) == (7.0, 0.0, 7.0)
    assert (f[27], f[28], f[29]) == (3.0, 0.0, 3.0)


@SETTINGS
@given(rows=st.integers(1, 6), nf=st.integers(1, 5), data=st.data())
def test_scaler(k, rows, nf, data):
    skip_if_same(k, pure)
    X = array("f", data.draw(f32s(rows * nf, rows * nf)))
    if data.draw(st.booleans()):  # a constant column gets scale 1
        for r in range(rows):
            X[r * nf] = 2.5
    mean, scale = k.scaler_fit(X, rows, nf)
    assert_same((mean, scale), pure.scaler_fit(X, rows, nf))
    assert_same(k.scaler_transform(X, rows, nf, mean, scale), pure.scaler_transform(X, rows, nf, mean, scale))
    doubles = [0.1, 1 / 3, 7.0]  # non-float32 parameters stay doubles, as in pure
    assert_same(k.scaler_transform(X, rows, nf, doubles * nf, doubles * nf),
                pure.scaler_transform(X, rows, nf, doubles * nf, doubles * nf))


def test_scaler_oracle(k):
    mean, scale = k.scaler_fit(array("f", [1, 5, 3, 5, 5, 5]), 3, 2)
    assert list(mean) == [3.0, 5.0]
    assert list(scale) == [float(array("f", [math.sqrt(8 / 3)])[0]), 1.0]


# --- dataset scan ---------------------------------------------------------------------


# A few blocked samples in up to 400: most windows are free (a list of coin flips has no free window of 50).
_BLOCKED = st.tuples(st.integers(0, 400), st.sets(st.integers(0, 399), max_size=8)).map(
    lambda t: [(i % 3 + 1) * (i in t[1]) for i in range(t[0])])


@SETTINGS
@given(blocked=_BLOCKED)
def test_negative_candidates(k, blocked):
    brute = [end for end in range(50, len(blocked)) if not any(blocked[end - 50 : end])]
    assert k.negative_candidates(bytearray(min(b, 1) for b in blocked), len(blocked)) == brute
    assert k.negative_candidates(blocked, len(blocked)) == brute
    assert pure.negative_candidates(blocked, len(blocked)) == brute


def _brute_separated(order, times, target, min_sep):
    chosen = []
    for idx in order:
        if len(chosen) >= target:
            break
        if all(not abs(times[c] - times[idx]) < min_sep for c in chosen):
            chosen.append(idx)
    return chosen


@SETTINGS
@given(times=st.lists(st.integers(0, 3000), max_size=120), data=st.data())
def test_select_separated(k, times, data):
    order = data.draw(st.permutations(range(len(times))))
    if times and data.draw(st.booleans()):
        order = order + data.draw(st.lists(st.sampled_from(range(len(times))), max_size=5))  # repeats
    target = data.draw(st.integers(-1, 130))
    min_sep = data.draw(st.sampled_from([0, -1, 1, 250, 250.5, 1000]))
    got = k.select_separated(order, times, target, min_sep)
    assert got == _brute_separated(order, times, target, min_sep)
    assert got == pure.select_separated(order, times, target, min_sep)
    assert k.select_separated(range(len(times)), times, target, min_sep) == _brute_separated(
        range(len(times)), times, target, min_sep)


# --- logistic regression ------------------------------------------------------------------


@st.composite
def problems(draw, max_rows=8, max_nf=5, magnitude=30.0):
    rows = draw(st.integers(1, max_rows))
    nf = draw(st.integers(1, max_nf))
    X = array("f", draw(f32s(rows * nf, rows * nf, magnitude)))
    y = array("B", draw(st.lists(st.integers(0, 1), min_size=rows, max_size=rows)))
    return rows, nf, X, y


@SETTINGS
@given(problem=problems(), max_iter=st.integers(0, 40), lr=st.sampled_from([1.0, 0.3, 5.0]),
       l2=st.sampled_from([1.0, 1e-3, 6.25]), record_every=st.integers(1, 12))
def test_logreg(k, problem, max_iter, lr, l2, record_every):
    skip_if_same(k, pure)
    rows, nf, X, y = problem
    got = k.logreg_fit(X, y, rows, nf, max_iter, lr, l2, record_every)
    assert_same(got, pure.logreg_fit(X, y, rows, nf, max_iter, lr, l2, record_every))
    coef, intercept = got[0], got[1] + 0.25
    assert_same(k.logreg_predict(X, rows, nf, coef, intercept), pure.logreg_predict(X, rows, nf, coef, intercept))
    mean, scale = [0.5] * nf, [3.0] * nf
    assert_same(k.logreg_predict_unscaled(X, rows, nf, mean, scale, coef, intercept),
                pure.logreg_predict_unscaled(X, rows, nf, mean, scale, coef, intercept))


def test_logreg_saturating_sigmoid(k):
    """Huge logits take the sigmoid's clamps (±20) and the clamped BCE; still the same bits."""
    skip_if_same(k, pure)
    X = array("f", [1e4, -1e4, 3.0, -2.0])
    y = [1, 0, 0, 1]
    assert_same(k.logreg_fit(X, y, 4, 1, 50, 1.0, 1.0, 7), pure.logreg_fit(X, y, 4, 1, 50, 1.0, 1.0, 7))


def test_zero_rows_raise_like_pure(k):
    with pytest.raises(ZeroDivisionError):
        k.logreg_fit(array("f"), [], 0, 3, 5, 1.0, 1.0)
    with pytest.raises(ZeroDivisionError):
        k.mlp_fit(array("f"), [], 0, 3, 5, 1e-4, 0.001, 42, 0.0, False)


# --- MLP -------------------------------------------------------------------------------------


@SETTINGS
@given(seed=st.integers(-2**33, 2**33), n_in=st.integers(1, 40))
def test_mlp_init(k, seed, n_in):
    skip_if_same(k, pure)
    rng, *weights = k.mlp_init(seed, n_in)
    want_rng, *want = pure.mlp_init(seed, n_in)
    assert rng.state == want_rng.state
    assert_same(tuple(weights), tuple(want))


@SETTINGS
@given(problem=problems(max_rows=5, max_nf=6, magnitude=4.0), max_iter=st.integers(1, 25),
       noise=st.sampled_from([0.0, 0.15]), record=st.booleans(), seed=st.integers(0, 2**32))
def test_mlp_fit_and_predict(k, problem, max_iter, noise, record, seed):
    """Crosses a progress chunk (20 iterations) and the loss records (every 16) on small problems."""
    skip_if_same(k, pure)
    rows, nf, X, y = problem
    calls, want_calls = [], []
    got = k.mlp_fit(X, y, rows, nf, max_iter, 1e-3, 0.01, seed, noise, record, lambda t, n: calls.append((t, n)))
    want = pure.mlp_fit(X, y, rows, nf, max_iter, 1e-3, 0.01, seed, noise, record,
                        lambda t, n: want_calls.append((t, n)))
    assert_same(got, want)
    assert calls == want_calls == [(t, max_iter) for t in range(1, max_iter + 1)]
    assert_same(k.mlp_predict(X, rows, nf, *got[:6]), pure.mlp_predict(X, rows, nf, *got[:6]))


def test_mlp_saturating_and_dead_units(k):
    """Large inputs saturate the sigmoid; a zero input column and dead ReLUs take the skip paths."""
    skip_if_same(k, pure)
    X = array("f", [200.0, 0.0, -3.0, -150.0, 0.0, 2.0, 90.0, 0.0, 0.5])
    y = [1, 0, 1]
    got = k.mlp_fit(X, y, 3, 3, 24, 1e-4, 0.05, 42, 0.0, True)
    assert_same(got, pure.mlp_fit(X, y, 3, 3, 24, 1e-4, 0.05, 42, 0.0, True))
    assert len(got[6]) == 2  # iterations 16 and 24


# --- the whole browser pipeline under numba ------------------------------------------------


@pytest.fixture(scope="module", params=["tiny", "session_a"])
def numba_run(request):
    pytest.importorskip("numba")
    from stingerml.blaster.settings import TRAIN_PIPELINE
    from stingerml.blaster.trainer import train

    previous = kernels_mod.backend()
    kernels_mod.set_backend("numba")
    try:
        result = train(VECTORS / "sessions" / f"{request.param}.bin", settings=TRAIN_PIPELINE)
    finally:
        kernels_mod.set_backend(previous)
    return request.param, result


def test_numba_pipeline_model_files_byte_identical(numba_run):
    session, r = numba_run
    assert r.lr_blob == (VECTORS / "browser" / f"{session}.lr.mlmd").read_bytes()
    assert r.mlp_blob == (VECTORS / "browser" / f"{session}.mlp.mlmd").read_bytes()


def test_numba_pipeline_report_equals_browser(numba_run):
    session, r = numba_run
    ref = json.loads((VECTORS / "browser" / f"{session}.json").read_text())
    assert (r.summary, r.warnings, r.log_lines) == (ref["summary"], ref["warnings"], ref["log"])
    assert r.metrics == ref["metrics"]
    assert r.lr_loss_history == ref["lrLossHistory"]
    assert r.mlp_loss_history == ref["mlpLossHistory"]
    got = [
        {"trigI": t["trigger_index"], "t0": t["t0"], "xMs": t["x_ms"], "probsLR": t["p_lr"],
         "probsMLP": t["p_mlp"], "scoreLR": t["score_lr"], "scoreMLP": t["score_mlp"]}
        for t in r.shot_traces
    ]
    assert got == ref["shotPlots"]


def test_scaler_scale_rounding_to_zero_divides_like_javascript(k):
    """A non-zero spread that rounds to a float32 scale of 0 (subnormal features): JS gives NaN / ±inf."""
    mean, scale = k.scaler_fit([0.0, 1.4e-45], 2, 1)
    assert list(scale) == [0.0]
    out = k.scaler_transform([0.0, 1.4e-45, -1.4e-45], 3, 1, mean, scale)
    assert math.isnan(out[0]) and out[1] == math.inf and out[2] == -math.inf
