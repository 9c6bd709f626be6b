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
