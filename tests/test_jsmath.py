"""stingerml.core.jsmath against V8's own Math.exp / Math.log / Math.cos / Math.pow (vectors/jsmath, made with Node.js)."""
from __future__ import annotations

import json
import math
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stingerml.core import jsmath


def _f(h: str) -> float:
    return struct.unpack(">d", bytes.fromhex(h))[0]


@pytest.fixture(scope="module")
def v8(vectors):
    return json.loads((vectors / "jsmath" / "v8_math.json").read_text())


@pytest.mark.parametrize("name", ["exp", "log", "cos"])
def test_bit_identical_to_v8(v8, name):
    fn = getattr(jsmath, name)
    pairs = v8[name]
    mismatches = [(x, y) for x, y in pairs if struct.pack(">d", fn(_f(x))).hex() != y]
    assert not mismatches, f"{len(mismatches)} of {len(pairs)} differ, first {mismatches[:3]}"



@pytest.mark.parametrize("name, batch", [("log", jsmath.logs), ("cos", jsmath.cosines)])
def test_batches_bit_identical_to_v8(v8, name, batch):
    """logs/cosines (one loop, in line) give V8's doubles too: the same arguments in one list."""
    xs, want = zip(*v8[name])
    got = [struct.pack(">d", v).hex() for v in batch([_f(x) for x in xs])]
    mismatches = [(x, g, w) for x, g, w in zip(xs, got, want) if g != w]
    assert not mismatches, f"{len(mismatches)} of {len(xs)} differ, first {mismatches[:3]}"


def _edges_of_the_in_line_paths():
    """Arguments at the edges of logs'/cosines' in-line branches and of their hand-offs to log/cos."""
    logs = [math.ldexp(1.0 + d * 2.0**-52, k) for k in range(-60, 61) for d in range(-3, 4)]
    logs += [math.ldexp(1.0 + (hx + d * 2.0**-32) / 2**20, k)
             for k in (-40, -3, -1, 0, 1, 7) for hx in (1, 0x6147A, 0x6B852, 0x6A09C, 0xFFFFE) for d in (-1, 0, 1)]
    logs += [1.0 - 2.0**-21, 1.0 + 2.0**-20, 0.5 + 2.0**-22, 5e-324, 2.2250738585072014e-308]
    cosines = [k * math.pi / 4 + d * 2.0**-40 for k in range(16) for d in range(-4, 5)]
    cosines += [k * math.pi / 2 + y * s for k in range(1, 31) for y in (0.3, 0.78125, 2.0**-27, 1e-9) for s in (1, -1)]
    cosines += [2.0**-27, 2.0**-28, 0.2999999, 0.3, 0.78125, 47.99999, 48.0, 100.0, -1.0, -0.0]
    return logs, cosines


def test_batches_equal_the_reference_at_the_edges_of_their_branches():
    logs, cosines = _edges_of_the_in_line_paths()
    assert [v.hex() for v in jsmath.logs(logs)] == [jsmath.log(x).hex() for x in logs]
    assert [v.hex() for v in jsmath.cosines(cosines)] == [jsmath.cos(x).hex() for x in cosines]


@given(st.lists(st.floats(allow_nan=False, allow_infinity=True), max_size=20))
def test_logs_is_log_of_each(xs):
    want = [jsmath.log(x) for x in xs]
    assert [repr(v) for v in jsmath.logs(xs)] == [repr(v) for v in want]


@given(st.lists(st.floats(min_value=-60.0, max_value=60.0), max_size=20))
def test_cosines_is_cos_of_each(xs):
    want = [jsmath.cos(x) for x in xs]
    assert [v.hex() for v in jsmath.cosines(xs)] == [v.hex() for v in want]


@pytest.mark.parametrize("name", ["exp", "log", "cos"])
def test_the_oracle_differs_from_the_c_library(v8, name):
    """The reason jsmath exists: V8 and the C library disagree in the last bit on some arguments."""
    fn = getattr(math, name)
    assert any(struct.pack(">d", fn(_f(x))).hex() != y for x, y in v8[name])


def _same(got: float, want: str) -> bool:
    """Bit for bit; any NaN for a NaN (JavaScript does not expose a NaN's bits reliably)."""
    return math.isnan(got) and math.isnan(_f(want)) or struct.pack(">d", got).hex() == want


def test_pow_bit_identical_to_v8(v8):
    """Adam's ``0.9**t`` and ``0.999**t`` for t = 1..2000, random arguments and every special pair."""
    cases = v8["pow"]
    mismatches = [(x, y, r) for x, y, r in cases if not _same(jsmath.pow(_f(x), _f(y)), r)]
    assert not mismatches, f"{len(mismatches)} of {len(cases)} differ, first {mismatches[:3]}"
    assert len(cases) > 8000


def test_pow_oracle_differs_from_the_c_library(v8):
    """Python's ** (C pow) differs from V8 on some of Adam's powers: why the MLP uses jsmath.pow."""
    adam = [(_f(x), _f(y), r) for x, y, r in v8["pow"][:4000]]
    assert {x for x, _, _ in adam} == {0.9, 0.999}
    differ = [(x, int(y)) for x, y, r in adam if struct.pack(">d", x ** y).hex() != r]
    assert (0.999, 16) in differ and (0.9, 4) in differ


@given(st.floats(min_value=-700, max_value=700))
def test_exp_within_one_ulp(x):
    assert abs(jsmath.exp(x) - math.exp(x)) <= math.ulp(math.exp(x))


@given(st.floats(min_value=5e-324, max_value=1e300))
def test_log_within_one_ulp(x):
    assert abs(jsmath.log(x) - math.log(x)) <= math.ulp(math.log(x)) or math.log(x) == 0.0


@given(st.floats(min_value=-1e5, max_value=1e5))
def test_cos_within_one_ulp(x):
    assert abs(jsmath.cos(x) - math.cos(x)) <= 2 * math.ulp(1.0)


def test_special_values():
    assert jsmath.log(0.0) == -math.inf
    assert math.isnan(jsmath.log(-1.0))
    assert jsmath.exp(-math.inf) == 0.0 and jsmath.exp(math.inf) == math.inf
    assert jsmath.exp(1000.0) == math.inf and jsmath.exp(-1000.0) == 0.0
