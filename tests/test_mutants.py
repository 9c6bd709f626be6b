"""Checks added for mutants that survived the other tests (tools/mutation.py, docs/testing.md).

Each expected value is derived here from the SPEC text with ``struct`` and
``zlib``, not from stingerml.
"""
from __future__ import annotations

import math
import struct
from pathlib import Path

import pytest

from stingerml.blaster import loader

VECTORS = Path(__file__).resolve().parent.parent / "vectors"

# SPEC §9: the payload's parts in order, with their lengths.
LAYOUT = {
    "lr": [("mean", 18), ("scale", 18), ("coef", 18), ("intercept", 1)],
    "mlp": [("mean", 30), ("scale", 30), ("W1", 64 * 30), ("b1", 64), ("W2", 32 * 64), ("b2", 32), ("W3", 32),
            ("b3", 1)],
}


def first_non_finite(blob: bytes, slot: str) -> str:
    """``name[j]`` (or ``name`` for a scalar) of the first non-finite payload float, read with struct."""
    n = sum(size for _, size in LAYOUT[slot])
    values = struct.unpack_from(f"<{n}f", blob, 24)
    i = next(i for i, v in enumerate(values) if not math.isfinite(v))
    for name, size in LAYOUT[slot]:
        if i < size:
            return name if size == 1 else f"{name}[{i}]"
        i -= size
    raise AssertionError("unreachable")


@pytest.mark.parametrize("case,slot", [("lr_nan_coef", "lr"), ("lr_inf_scale", "lr"), ("mlp_inf_w1", "mlp"),
                                       ("mlp_nan_b3", "mlp")])
def test_rejection_names_the_first_non_finite_weight(case, slot):
    blob = (VECTORS / "mlmd_cases" / f"{case}.mlmd").read_bytes()
    verdict = loader.validate(blob, slot, source=case)
    assert not verdict.accepted
    where = first_non_finite(blob, slot)
    assert f"{case}: {where} is " in verdict.reason
