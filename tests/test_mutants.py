"""Checks added for mutants that survived the other tests (tools/mutation.py, docs/testing.md).

Each expected value is derived here from the SPEC text with ``struct`` and
``zlib``, or read from the reference files in ``vectors/``, not from stingerml.
"""
from __future__ import annotations

import json
import math
import struct
import zlib
from array import array
from pathlib import Path

import pytest

from stingerml.blaster import features, firmware, loader
from stingerml.blaster.log import read_log
from stingerml.formats import mlmd

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


# SPEC §9: the header ``<4sHHBBHHHII``; h1 and h2 are the two ``H`` at byte offsets 12 and 14.
@pytest.mark.parametrize("h1,h2", [(64, 0), (0, 32)])
def test_an_lr_file_with_one_nonzero_hidden_size_is_accepted_with_a_warning(h1, h2):
    blob = bytearray((VECTORS / "mlmd_cases" / "lr_valid.mlmd").read_bytes())
    assert struct.unpack_from("<HH", blob, 12) == (0, 0)
    struct.pack_into("<HH", blob, 12, h1, h2)  # the CRC covers the payload only: still valid
    verdict = loader.validate(bytes(blob), "lr", source="lr_h")
    assert verdict.accepted, verdict.reason  # SPEC §9: "LR features 18 (h1, h2 ignored)"
    assert [w for w in verdict.warnings if f"h1={h1}, h2={h2}" in w], verdict.warnings


def _f32(v: float) -> bytes:
    return struct.pack("<f", v)


@pytest.mark.parametrize("n", [0, 1, 49, 50, 51])
def test_a_replay_shorter_than_a_window_is_all_zeros(n):
    """SPEC §10: one prediction per sample, 0 until 50 samples were pushed; the rest as the device's stream."""
    log = read_log(VECTORS / "sessions" / "tiny.bin")
    samples = [ch[i] for i in range(n) for ch in log.channels]
    models = [mlmd.parse((VECTORS / "browser" / f"tiny.{m}.mlmd").read_bytes()) for m in ("lr", "mlp")]
    lines = (VECTORS / "firmware" / "tiny.stream_user.txt").read_text().splitlines()
    ref = [[float(v) for v in line.split()[:2]] for line in lines if not line.startswith("#")][:n]
    p_lr, p_mlp = firmware.replay_samples(samples, *models)
    assert len(p_lr) == len(p_mlp) == n
    assert [_f32(v) for v in p_lr[:49]] == [_f32(0.0)] * min(n, 49)
    assert [_f32(v) for v in p_lr] == [_f32(r[0]) for r in ref]
    assert [_f32(v) for v in p_mlp] == [_f32(r[1]) for r in ref]


def test_the_feature_counts_are_the_reference_widths():
    """The public counts of ``stingerml.blaster.features`` against the firmware's feature vectors (SPEC §5)."""
    row = json.loads((VECTORS / "firmware" / "tiny.windows.jsonl").read_text().splitlines()[0])
    window = array("h", (VECTORS / "browser" / "tiny.windows_i16le.bin").read_bytes()[:600])
    assert features.SUMMARY_FEATURES == len(row["features_summary"]) == len(features.SUMMARY_NAMES)
    assert features.RICH_FEATURES == len(row["features_rich"]) == len(features.RICH_NAMES)
    assert len(features.featurize_summary(window, 1)) == features.SUMMARY_FEATURES
    assert len(features.featurize_rich(window, 1)) == features.RICH_FEATURES


def _with_scale0(value: float) -> bytes:
    """``lr_valid.mlmd`` with ``scale[0]`` (payload float 18) set to ``value`` and the CRC recomputed (SPEC §9)."""
    blob = bytearray((VECTORS / "mlmd_cases" / "lr_valid.mlmd").read_bytes())
    struct.pack_into("<f", blob, 24 + 4 * 18, value)
    struct.pack_into("<I", blob, 20, zlib.crc32(bytes(blob[24 : 24 + 220])))
    return bytes(blob)


@pytest.mark.parametrize("value,warned", [(2e-10, False), (0.5, False), (5e-11, True)])
def test_only_a_scale_below_the_firmware_floor_warns(value, warned):
    """SPEC §10: the firmware uses ``1e-10`` for a scale ``s < 1e-10``; a larger one is used as it is."""
    verdict = loader.validate(_with_scale0(value), "lr")
    assert verdict.accepted, verdict.reason
    assert ["scale[0]" in w for w in verdict.warnings] == ([True] if warned else [])


@pytest.mark.parametrize("case", sorted(json.loads((VECTORS / "mlmd_cases" / "cases.json").read_text())))
def test_the_slot_of_a_file_is_its_header_model_type(case):
    blob = (VECTORS / "mlmd_cases" / f"{case}.mlmd").read_bytes()
    header = struct.unpack_from("<4sHHBBHHHII", blob) if len(blob) >= 24 else None
    expected = {0: "lr", 1: "mlp"}.get(header[3]) if header and header[0] == b"MLMD" else None
    assert loader.slot_of(blob) == expected


@pytest.mark.parametrize("n_windows,step", [(1, 1), (2, 1), (4, 3)])
def test_a_batch_longer_than_its_samples_is_refused(n_windows, step):
    """Window ``r`` is samples ``[r*step, r*step + 50)`` (SPEC §10): one sample fewer is a ValueError."""
    lr, mlp = (mlmd.parse((VECTORS / "firmware" / f"factory_{m}.mlmd").read_bytes()) for m in ("lr", "mlp"))
    need = step * (n_windows - 1) + 50
    samples = array("h", range(6 * need))
    assert len(firmware.predict_batch(samples, n_windows, step, lr, mlp)["p_lr"]) == n_windows
    with pytest.raises(ValueError, match="samples"):
        firmware.predict_batch(samples[: 6 * (need - 1)], n_windows, step, lr, mlp)
