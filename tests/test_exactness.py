"""0 ulp: the firmware emulation against the real firmware's outputs, bit for bit.

The promise (docs/testing.md, docs/firmware.md) is exact equality, not "within
1 ulp": every feature, every gated and ungated probability of every reference
row, and every sample of the replayed streams have the real firmware's float32
bit pattern, on both backends. Comparisons here are of bytes
(``array('f').tobytes()``), so a sign of zero or a one-ulp drift fails.

The sigmoid's inner rounding (``1/f32(1 + expf(-z))``) is also checked against
an independent float32 oracle: numpy's float32 arithmetic with the C library's
``expf``.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import json
import struct
from array import array
from pathlib import Path
from typing import List, Tuple

import pytest

from stingerml import _kernels
from stingerml.blaster import firmware
from stingerml.blaster.log import read_log
from stingerml.cli import main
from stingerml.formats import mlmd

from conftest import replayed

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
SESSIONS = ["tiny", "session_a"]
KEYS = ("p_lr", "p_mlp", "raw_lr", "raw_mlp")


def f32_bytes(values) -> bytes:
    return array("f", values).tobytes()


def first_difference(got: bytes, want: bytes) -> str:
    """Where two float32 byte strings first differ (for the failure message)."""
    a, b = array("f"), array("f")
    a.frombytes(got)
    b.frombytes(want)
    if len(a) != len(b):
        return f"lengths {len(a)} != {len(b)}"
    bad = [i for i in range(len(a)) if struct.pack("<f", a[i]) != struct.pack("<f", b[i])]
    return f"{len(bad)} of {len(a)} differ; first at {bad[0]}: {a[bad[0]]!r} != {b[bad[0]]!r}" if bad else "equal"


def assert_bits_equal(got, want, what: str) -> None:
    g, w = f32_bytes(got), f32_bytes(want)
    assert g == w, f"{what}: {first_difference(g, w)}"


def reference_rows(session: str) -> Tuple[array, List[dict]]:
    windows = array("h")
    windows.frombytes((VECTORS / "browser" / f"{session}.windows_i16le.bin").read_bytes())
    rows = [json.loads(line) for line in (VECTORS / "firmware" / f"{session}.windows.jsonl").read_text().splitlines()]
    return windows, rows


def models(which: str, session: str):
    folder, prefix = (VECTORS / "firmware", "factory_") if which == "factory" else (VECTORS / "browser", f"{session}.")
    return (mlmd.parse((folder / f"{prefix}lr.mlmd").read_bytes()),
            mlmd.parse((folder / f"{prefix}mlp.mlmd").read_bytes()))


def reference_stream(session: str) -> Tuple[List[float], List[float]]:
    lines = (VECTORS / "firmware" / f"{session}.stream_user.txt").read_text().splitlines()
    pairs = [line.split() for line in lines if not line.startswith("#")]
    return [float(a) for a, _ in pairs], [float(b) for _, b in pairs]


@pytest.mark.parametrize("session", SESSIONS)
def test_features_bit_for_bit(session, backend):
    windows, rows = reference_rows(session)
    got = firmware.window_features(windows, len(rows))
    assert_bits_equal(got, [v for row in rows for v in row["features_rich"]], "rich features")
    summary = [v for r in range(len(rows)) for v in got[30 * r : 30 * r + 18]]
    assert_bits_equal(summary, [v for row in rows for v in row["features_summary"]], "summary features")


@pytest.mark.parametrize("session", SESSIONS)
@pytest.mark.parametrize("which", ["factory", "user"])
def test_probabilities_bit_for_bit(session, which, backend):
    windows, rows = reference_rows(session)
    out = firmware.Firmware(*models(which, session)).predict_windows(windows, len(rows))
    for key in KEYS:
        assert_bits_equal(out[key], [row[which][key] for row in rows], f"{session} {which} {key}")


def test_single_window_and_push_bit_for_bit(backend):
    windows, rows = reference_rows("tiny")
    device = firmware.Firmware(*models("user", "tiny"))
    for r in range(len(rows)):
        out = device.predict_window(windows[300 * r : 300 * r + 300])
        assert_bits_equal([out[k] for k in KEYS], [rows[r]["user"][k] for k in KEYS], f"row {r}")
        device.reset()
        for i in range(50):
            p = device.push(windows[300 * r + 6 * i : 300 * r + 6 * i + 6])
        assert_bits_equal(p, [rows[r]["user"]["p_lr"], rows[r]["user"]["p_mlp"]], f"row {r} pushed")


def check_stream(session: str) -> None:
    log = read_log(VECTORS / "sessions" / f"{session}.bin")
    want_lr, want_mlp = reference_stream(session)
    p_lr, p_mlp = replayed(session)  # firmware.replay(log, *models("user", session)), shared with test_firmware.py
    assert len(p_lr) == len(want_lr) == len(log)
    assert_bits_equal(p_lr, want_lr, f"{session} stream p_lr")
    assert_bits_equal(p_mlp, want_mlp, f"{session} stream p_mlp")


def test_stream_tiny_bit_for_bit(backend):
    check_stream("tiny")


@pytest.mark.parametrize("backend", [pytest.param("python", marks=pytest.mark.slow), "numba"], indirect=True)
def test_stream_session_a_bit_for_bit(backend):
    check_stream("session_a")


def test_cli_replay_writes_the_exact_float32_values(tmp_path, backend):
    out = tmp_path / "p.csv"
    browser = VECTORS / "browser"
    assert main(["replay", str(VECTORS / "sessions" / "tiny.bin"), "--lr", str(browser / "tiny.lr.mlmd"),
                 "--mlp", str(browser / "tiny.mlp.mlmd"), "-o", str(out)]) == 0
    lines = out.read_text().splitlines()[1:]
    want_lr, want_mlp = reference_stream("tiny")
    assert_bits_equal([float(l.split(",")[1]) for l in lines], want_lr, "csv p_lr")
    assert_bits_equal([float(l.split(",")[2]) for l in lines], want_mlp, "csv p_mlp")


# --------------------------------------------------------------------------- the sigmoid's inner rounding


def _sigmoid_kernel():
    """The active backend's firmware sigmoid (``sigmoid_f32``)."""
    return _kernels.kernels("firmware").sigmoid_f32


def test_sigmoid_rounds_the_denominator_to_float32(backend):
    """``1/(1+expf(-z))`` with ``1+expf(-z)`` stored as a float: numpy float32 and libm's expf as the oracle."""
    np = pytest.importorskip("numpy")
    name = ctypes.util.find_library("m")
    if not name or "libm.so" not in name:
        pytest.skip("no glibc libm (the expf the firmware build used)")
    libm = ctypes.CDLL(name)
    libm.expf.restype, libm.expf.argtypes = ctypes.c_float, [ctypes.c_float]
    sigmoid = _sigmoid_kernel()
    zs = np.linspace(-20, 20, 4001, dtype=np.float32)
    moved = 0
    for z in zs:
        e = np.float32(libm.expf(float(-z)))
        want = np.float32(1) / (np.float32(1) + e)
        got = sigmoid(float(z))
        assert struct.pack("<f", got) == struct.pack("<f", want), (float(z), got, float(want))
        moved += float(np.float32(1.0 / (1.0 + float(e)))) != float(want)  # rounding once instead of twice
    assert moved > 100  # the inner rounding matters on this grid: the check can fail
