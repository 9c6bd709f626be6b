"""stingerml.jsmath against V8's own Math.exp / Math.log / Math.cos (vectors/jsmath, made with Node.js)."""
from __future__ import annotations

import json
import math
import struct

import pytest
from hypothesis import given, strategies as st

from stingerml import jsmath


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
