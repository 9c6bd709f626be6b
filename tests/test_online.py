"""Post-processing and streaming metrics on synthetic logs with known answers; the firmware CLI."""
from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import pytest

from stingerml.blaster import online
from stingerml.cli import main

VECTORS = Path(__file__).resolve().parent.parent / "vectors"

N = 6000  # one minute at exactly 10 ms
TS = [10 * i for i in range(N)]
SHOTS = [1000, 2000, 3000, 4000, 5000]  # sample indices, t0 = 10 s ... 50 s


def metrics(p, settings=online.PostProcess(), shots=SHOTS, edges=SHOTS):
    return online.evaluate(TS, p, settings, shots, edges)


def test_always_on():
    m = metrics([1.0] * N)
    assert (m.shots, m.hits, m.hit_rate) == (5, 5, 1.0)
    # on since t = 0: leads 10000 ... 50000 ms; p10/p90 by linear interpolation
    assert (m.lead_ms_median, m.lead_ms_p10, m.lead_ms_p90) == (30000, 14000, 46000)
    assert (m.activations, m.false_activations) == (1, 1)  # the turn-on at t=0 has no pull within 600 ms
    assert m.minutes == pytest.approx(59990 / 60000)
    assert m.false_per_min == pytest.approx(60000 / 59990)
    assert m.on_fraction_away == 1.0


def test_never_on():
    m = metrics([0.0] * N)
    assert (m.hits, m.hit_rate, m.activations, m.false_activations, m.false_per_min, m.on_fraction_away) == (0, 0.0, 0, 0, 0.0, 0.0)
    assert m.lead_ms_median is m.lead_ms_p10 is m.lead_ms_p90 is None


def pre_shot(lo_ms=-600, hi_ms=-100):
    return [1.0 if any(lo_ms <= t - TS[s] <= hi_ms for s in SHOTS) else 0.0 for t in TS]


def test_on_exactly_in_pre_shot_windows():
    m = metrics(pre_shot())
    assert (m.hits, m.hit_rate, m.activations, m.false_activations, m.on_fraction_away) == (5, 1.0, 5, 0, 0.0)
    assert (m.lead_ms_median, m.lead_ms_p10, m.lead_ms_p90) == (600, 600, 600)


def test_window_edges():
    # On only until t0-610 (off at t0-600): miss. On from t0-100: hit, lead 100.
    assert metrics(pre_shot(-900, -610)).hits == 0
    assert metrics(pre_shot(-900, -600)).hits == 5
    m = metrics(pre_shot(-100, 50))
    assert m.hits == 5 and m.lead_ms_median == 100 and m.false_activations == 0
    assert metrics(pre_shot(-90, 50)).hits == 0  # turns on too late
    assert metrics(pre_shot(-1200, -700)).false_activations == 5  # no pull within 600 ms of turn-on


def test_false_blip_far_from_shots():
    p = pre_shot()
    for i in range(5500, 5506):  # t = 55.00 ... 55.05 s, 6 samples on
        p[i] = 1.0
    m = metrics(p)
    assert m.false_activations == 1 and m.hits == 5
    # away samples: 5999 weighted samples minus 201 within 1000 ms of each of the 5 edges
    assert m.on_fraction_away == pytest.approx(60 / ((5999 - 5 * 201) * 10))


def test_unaccepted_pull_justifies_a_turn_on():
    p = [0.0] * N
    p[2500] = 1.0  # turn-on at 25.00 s, a bounce edge at 25.30 s that was not accepted
    assert metrics(p, edges=SHOTS + [2530]).false_activations == 0
    assert metrics(p).false_activations == 1


def test_ema_uses_time_deltas():
    ts = [0, 10, 20, 30, 1030]
    y = online.ema(ts, [0.0, 1.0, 1.0, 1.0, 0.0], 100.0)
    assert y[1] == pytest.approx(1 - math.exp(-0.1))
    assert y[3] == pytest.approx(1 - math.exp(-0.3))
    assert y[4] == pytest.approx(y[3] * math.exp(-10.0))  # a 1 s pause nearly resets the filter
    assert online.ema(ts, [0.2, 0.4, 0.1, 0.0, 1.0], 0) == [0.2, 0.4, 0.1, 0.0, 1.0]


def test_hysteresis_and_min_on_time():
    ts = [10 * i for i in range(10)]
    y = [0.1, 0.8, 0.6, 0.4, 0.6, 0.9, 0.2, 0.2, 0.2, 0.2]
    assert list(online.hysteresis(ts, y, 0.7, 0.5)) == [0, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    assert list(online.hysteresis(ts, y, 0.7, 0.7)) == [0, 1, 0, 0, 0, 1, 0, 0, 0, 0]
    # the minimum on-time runs from the turn-on (t=10): the 0.4 at t=30 is ignored, the 0.2 at t=60 is not
    assert list(online.hysteresis(ts, y, 0.7, 0.5, min_on_ms=30)) == [0, 1, 1, 1, 1, 1, 0, 0, 0, 0]


def test_settings_checked():
    with pytest.raises(online.SettingsError):
        online.PostProcess(on=0.5, off=0.6)
    assert online.PostProcess(on=0.7).off == 0.7


def test_sweep_finds_the_clean_setting():
    # A probability that is 0.75 in the pre-shot windows, 0.55 in some noise bursts.
    p = [0.75 * v for v in pre_shot()]
    for i in range(0, N, 700):
        if all(abs(i - s) > 150 for s in SHOTS):
            p[i] = p[i + 1] = 0.55
    rows = online.sweep(TS, p, SHOTS, SHOTS, {"ema_ms": (0.0,), "on": (0.5, 0.6, 0.7, 0.8), "gap": (0.0,), "min_on_ms": (0.0,)})
    assert len(rows) == 4
    best = online.propose(rows, max_false_per_min=0.5)
    assert best.settings.on in (0.6, 0.7) and best.metrics.hit_rate == 1.0 and best.metrics.false_activations == 0
    assert any(r.pareto and r.settings.on == 0.6 for r in rows)
    assert not any(r.pareto and r.settings.on == 0.8 for r in rows)  # 0 hits but not fewer false/min than 0.6
    assert "ema_ms" in online.format_table(rows)


# ---------------------------------------------------------------- CLI


def test_cli_validate(capsys):
    cases = VECTORS / "mlmd_cases"
    assert main(["validate", str(cases / "lr_valid.mlmd"), "--slot", "lr"]) == 0
    assert capsys.readouterr().out.startswith("accepted")
    assert main(["validate", str(cases / "lr_trailing_garbage.mlmd"), "--slot", "lr"]) == 0
    assert "warning" in capsys.readouterr().out
    assert main(["validate", str(cases / "lr_valid.mlmd"), "--slot", "mlp"]) == 1
    assert "slot" in capsys.readouterr().out


def f32_ulps(a, b):
    x, y = (struct.unpack("<i", struct.pack("<f", float(v)))[0] for v in (a, b))
    return abs(x - y)


def test_cli_replay_tiny_matches_firmware_stream(tmp_path):
    fwdir = VECTORS / "firmware"
    models = VECTORS / "browser"
    out = tmp_path / "p.csv"
    assert main(["replay", str(VECTORS / "sessions" / "tiny.bin"), "--lr", str(models / "tiny.lr.mlmd"),
                 "--mlp", str(models / "tiny.mlp.mlmd"), "-o", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "timestamp_ms,p_lr,p_mlp"
    ref = [l.split() for l in (fwdir / "tiny.stream_user.txt").read_text().splitlines() if not l.startswith("#")]
    assert len(lines) - 1 == len(ref) == 4000
    for line, (r_lr, r_mlp) in zip(lines[1:], ref):
        _, p_lr, p_mlp = line.split(",")
        assert f32_ulps(p_lr, r_lr) == 0 and f32_ulps(p_mlp, r_mlp) == 0


def test_cli_online_json_and_export(tmp_path, capsys):
    log = str(VECTORS / "sessions" / "tiny.bin")
    assert main(["online", log, "--on", "0.6", "--off", "0.5", "--json", "--sweep"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["shots"] == 4 and set(report["models"]) == {"lr", "mlp"}
    assert report["settings"] == {"ema_ms": 0.0, "on": 0.6, "off": 0.5, "min_on_ms": 0.0}
    assert len(report["models"]["mlp"]["sweep"]) == 90
    assert main(["online", log, "--on", "0.4", "--off", "0.5"]) == 1  # off > on
    capsys.readouterr()
    header = tmp_path / "mlWeights.h"
    assert main(["export-header", "-o", str(header)]) == 0  # factory weights
    assert "static const float mlMlpW1[1920]" in header.read_text()
    bad = VECTORS / "mlmd_cases" / "lr_nan_coef.mlmd"
    assert main(["export-header", "--lr", str(bad), "-o", str(tmp_path / "x.h")]) == 1
    assert not (tmp_path / "x.h").exists()
