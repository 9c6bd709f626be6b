"""The firmware's loader verdicts (SPEC §9) against the real loader's, and the factory fallback."""
from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import pytest

from stingerml.blaster import loader
from stingerml.formats import mlmd

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
CASES = VECTORS / "mlmd_cases"
FIRMWARE = VECTORS / "firmware"
_cases = json.loads((CASES / "cases.json").read_text())


def test_all_cases_present():
    assert len(_cases) == 26


@pytest.mark.parametrize("name", sorted(_cases))
def test_verdict_matches_firmware(name):
    case = _cases[name]
    blob = (CASES / case["file"]).read_bytes()
    verdict = loader.validate(blob, case["load_as"], source=case["file"])
    assert verdict.accepted is case["firmware_accepts"], verdict.reason
    if verdict.accepted:
        assert verdict.reason is None
    else:
        assert verdict.reason and case["file"] in verdict.reason


@pytest.mark.parametrize("name,needle", [
    ("lr_trailing_garbage", "trailing"),
    ("lr_zero_scale", "scale["),
    ("lr_negative_scale", "scale["),
    ("lr_reserved_nonzero", "reserved"),
    ("lr_h1h2_nonzero", "h1="),
])
def test_suspect_files_are_accepted_with_warnings(name, needle):
    blob = (CASES / _cases[name]["file"]).read_bytes()
    verdict = loader.validate(blob, "lr")
    assert verdict.accepted
    assert any(needle in w for w in verdict.warnings), verdict.warnings


def test_clean_files_have_no_warnings():
    for name in ("lr_valid", "mlp_valid"):
        case = _cases[name]
        assert loader.validate((CASES / case["file"]).read_bytes(), case["load_as"]).warnings == []


def test_reasons_name_the_problem():
    def reason(name):
        case = _cases[name]
        return loader.validate((CASES / case["file"]).read_bytes(), case["load_as"]).reason
    assert "magic" in reason("lr_bad_magic")
    assert "slot" in reason("lr_loaded_as_mlp")
    assert "CRC" in reason("lr_payload_bitflip")
    assert "finite" in reason("lr_nan_coef") and "coef[" in reason("lr_nan_coef")
    assert "b3" in reason("mlp_nan_b3")


def test_load_falls_back_to_factory():
    blob = (CASES / "lr_nan_coef.mlmd").read_bytes()
    model, verdict = loader.load(blob, "lr")
    assert not verdict.accepted
    assert mlmd.build(model) == (FIRMWARE / "factory_lr.mlmd").read_bytes()
    good = (CASES / "mlp_valid.mlmd").read_bytes()
    model, verdict = loader.load(good, "mlp")
    assert verdict.accepted and mlmd.build(model) == good


def test_factory_package_data_is_the_firmware_factory():
    for slot in ("lr", "mlp"):
        ref = (FIRMWARE / f"factory_{slot}.mlmd").read_bytes()
        assert loader.factory_blob(slot) == ref
        assert loader.validate(ref, slot).accepted


def test_nonfinite_found_anywhere_after_valid_crc():
    # An independent builder (struct + zlib) makes an MLP with +inf in W2[5].
    blob = bytearray((CASES / "mlp_valid.mlmd").read_bytes())
    offset = 24 + 4 * (30 + 30 + 64 * 30 + 64 + 5)
    blob[offset : offset + 4] = struct.pack("<f", float("inf"))
    payload = bytes(blob[24:])
    blob[20:24] = struct.pack("<I", zlib.crc32(payload) & 0xFFFFFFFF)
    verdict = loader.validate(bytes(blob), "mlp")
    assert not verdict.accepted and "W2[5]" in verdict.reason


def test_bad_slot():
    with pytest.raises(loader.SlotError):
        loader.validate(b"", "svm")
