"""Float32-exact firmware inference against the real firmware's outputs (SPEC §10).

Every test that runs the inference runs once per kernel backend (``backend`` fixture,
conftest.py; the numba run is skipped when numba is missing).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import json
import math
import struct
from array import array
from pathlib import Path

import pytest

from stingerml._kernels import kernels
from stingerml.blaster import firmware as fw
from stingerml.blaster import loader
from stingerml.blaster.log import read_log
from stingerml.formats import mlmd

from conftest import replayed

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
FIRMWARE = VECTORS / "firmware"
BROWSER = VECTORS / "browser"
SESSIONS = VECTORS / "sessions"


def ulps(a: float, b: float) -> int:
    """Distance in float32 units in the last place (both rounded to float32 first)."""
    ia, ib = (struct.unpack("<i", struct.pack("<f", v))[0] for v in (a, b))
    ia, ib = (i if i >= 0 else -(i & 0x7FFFFFFF) for i in (ia, ib))
    return abs(ia - ib)


def user_models(session):
    return (mlmd.parse((BROWSER / f"{session}.lr.mlmd").read_bytes()),
            mlmd.parse((BROWSER / f"{session}.mlp.mlmd").read_bytes()))


def factory_models():
    return (mlmd.parse((FIRMWARE / "factory_lr.mlmd").read_bytes()),
            mlmd.parse((FIRMWARE / "factory_mlp.mlmd").read_bytes()))


def dataset(session):
    windows = array("h")
    windows.frombytes((BROWSER / f"{session}.windows_i16le.bin").read_bytes())
    rows = [json.loads(line) for line in (FIRMWARE / f"{session}.windows.jsonl").read_text().splitlines()]
    assert len(windows) == len(rows) * 300
    return windows, rows


@pytest.mark.parametrize("session", ["tiny", "session_a"])
def test_features_float32_equal_every_row(session, backend):
    windows, rows = dataset(session)
    got = fw.window_features(windows, len(rows))
    for r, row in enumerate(rows):
        assert list(got[30 * r : 30 * r + 30]) == list(array("f", row["features_rich"])), f"row {r}"
        assert got[30 * r : 30 * r + 18] == array("f", row["features_summary"]), f"row {r}"


@pytest.mark.parametrize("session", ["tiny", "session_a"])
@pytest.mark.parametrize("which", ["factory", "user"])
def test_probabilities_every_row(session, which, backend):
    windows, rows = dataset(session)
    lr, mlp = factory_models() if which == "factory" else user_models(session)
    out = fw.Firmware(lr, mlp).predict_windows(windows, len(rows))  # each row in a fresh ring buffer
    worst = 0
    for r, row in enumerate(rows):
        for key in ("p_lr", "p_mlp", "raw_lr", "raw_mlp"):
            worst = max(worst, ulps(out[key][r], row[which][key]))
    assert worst == 0  # 0 ulp: bit for bit (test_exactness.py compares the bytes)


def test_single_window_api_matches_batch(backend):
    windows, rows = dataset("tiny")
    device = fw.Firmware()  # factory weights from package data
    for r in (0, 17, 39):
        window = windows[300 * r : 300 * r + 300]
        out = device.predict_window(window)
        for key in ("p_lr", "p_mlp", "raw_lr", "raw_mlp"):
            assert ulps(out[key], rows[r]["factory"][key]) == 0
        assert fw.features_summary_f32(window) == array("f", rows[r]["features_summary"])
        assert fw.features_rich_f32(window) == array("f", rows[r]["features_rich"])


def read_stream(session):
    lines = (FIRMWARE / f"{session}.stream_user.txt").read_text().splitlines()
    return [tuple(float(v) for v in line.split()) for line in lines if not line.startswith("#")]


def check_stream(session):
    log = read_log(SESSIONS / f"{session}.bin")
    ref = read_stream(session)
    p_lr, p_mlp = replayed(session)  # fw.replay(log, *user_models(session)), shared with test_exactness.py
    assert len(ref) == len(p_lr) == len(p_mlp) == len(log)
    assert all(v == 0.0 for v in p_lr[:49]) and all(v == 0.0 for v in p_mlp[:49])
    bad = [(i, a, b, r) for i, (a, b, r) in enumerate(zip(p_lr, p_mlp, ref)) if ulps(a, r[0]) or ulps(b, r[1])]
    assert not bad, bad[:5]


def test_stream_replay_tiny(backend):
    check_stream("tiny")


@pytest.mark.parametrize("backend", [pytest.param("python", marks=pytest.mark.slow), "numba"], indirect=True)
def test_stream_replay_session_a(backend):
    check_stream("session_a")


def test_push_matches_replay_and_is_zero_until_full(backend):
    log = read_log(SESSIONS / "tiny.bin")
    ref = read_stream("tiny")
    device = fw.Firmware(*user_models("tiny"))
    for i in range(55):
        p = device.push([ch[i] for ch in log.channels])
        if i < 49:
            assert p == (0.0, 0.0)
        else:
            assert ulps(p[0], ref[i][0]) == 0 and ulps(p[1], ref[i][1]) == 0
    device.reset()
    assert device.push([0] * 6) == (0.0, 0.0)


def gyro_window(gx: int) -> list:
    """50 samples with a moving accelerometer and a constant gyro (gx, 0, 0)."""
    return [v for i in range(50) for v in (100 * i, -37 * i, 4000, gx, 0, 0)]


def test_motion_gate_boundary(backend):
    # gyro RMS = |gx| exactly (integers, exact in float32): gated below 60, open at 60.
    device = fw.Firmware()
    low, at = device.predict_window(gyro_window(59)), device.predict_window(gyro_window(60))
    assert low["rms"] == 59.0 and at["rms"] == 60.0
    assert low["p_lr"] == 0.0 and low["p_mlp"] == 0.0
    assert low["raw_lr"] > 0.0 and low["raw_mlp"] > 0.0
    assert at["p_lr"] == at["raw_lr"] and at["p_mlp"] == at["raw_mlp"]


def test_scale_floor(backend):
    # A zero or negative scale is replaced by 1e-10f, exactly like an explicit 1e-10 scale.
    lr = loader.factory_model("lr")
    window = gyro_window(300)
    def raw(scale0):
        scale = array("f", lr.scale)
        scale[3] = scale0
        model = mlmd.LRModel(lr.mean, scale, lr.coef, lr.intercept)
        return fw.Firmware(model, loader.factory_model("mlp")).predict_window(window)["raw_lr"]
    assert raw(0.0) == raw(-5.0) == raw(1e-10) == raw(1e-12)
    assert raw(1e-10) != raw(lr.scale[3])


def test_expf_against_the_c_library(backend):
    # glibc's expf is the algorithm emulated; where it is the C library, compare bit for bit.
    name = ctypes.util.find_library("m")
    if not name or "libm.so" not in name:
        pytest.skip("no glibc libm to compare with")
    libm = ctypes.CDLL(name)
    libm.expf.restype, libm.expf.argtypes = ctypes.c_float, [ctypes.c_float]
    xs = [fw.f32(-20.0 + 40.0 * k / 9973 + 1e-4 * math.sin(k)) for k in range(9974)]
    xs += [0.0, -0.0, 20.0, -20.0, 88.5, -103.0, -110.0, 89.0]
    expf = kernels("firmware").expf
    for x in xs:
        assert struct.pack("<f", expf(x)) == struct.pack("<f", libm.expf(x)), x


def test_sigmoid_cutoffs(backend):
    sigmoid = kernels("firmware").sigmoid_f32
    assert sigmoid(20.5) == 1.0 and sigmoid(-20.5) == 0.0
    assert sigmoid(0.0) == 0.5
    assert 0.0 < sigmoid(-20.0) < 1e-8 and sigmoid(-20.0) == fw.f32(1 / (1 + math.exp(20)))
    assert sigmoid(20.0) == 1.0  # 1 + 2e-9 rounds to 1 in float32


def test_window_size_errors():
    with pytest.raises(ValueError):
        fw.Firmware().predict_window([0] * 299)
    with pytest.raises(ValueError):
        fw.Firmware().push([0] * 5)
