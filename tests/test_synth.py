"""Synthetic sessions: determinism, the bundled demo session, and the motion model's promised features.

Shots are checked with an independent implementation of SPEC §2 (rising edges and the 1 s gap rule).
"""
from __future__ import annotations

import bisect
from pathlib import Path

import pytest

import stingerml
from stingerml.blaster.log import parse_log, read_log
from stingerml.blaster.synth import SynthParams, generate, generate_with_truth
from stingerml.cli import main

ROOT = Path(__file__).resolve().parent.parent
DEMO = Path(stingerml.__file__).resolve().parent / "data" / "demo_session.bin"
DEMO_COMMAND = "stingerml synth -o stingerml/data/demo_session.bin --seconds 100 --seed 6"


def rising_edges(trig) -> list:
    return [i for i in range(1, len(trig)) if trig[i - 1] == 0 and trig[i] == 1]


def accepted(ts, edges, gap=1000) -> list:
    out, last = [], -1e18
    for i in edges:
        if ts[i] - last >= gap:
            out.append(i)
            last = ts[i]
    return out


@pytest.fixture(scope="module")
def long_session():
    return generate_with_truth(300, seed=0)


def test_same_seed_same_bytes_different_seed_differs():
    a = generate(20, seed=3).to_bytes()
    assert generate(20, seed=3).to_bytes() == a
    assert generate(20, seed=4).to_bytes() != a
    assert generate_with_truth(20, seed=3)[0].to_bytes() == a


@pytest.mark.parametrize("seconds", [0.01, 1, 7.5, 33.333, 60])
def test_length_is_seconds_times_100(seconds):
    assert len(generate(seconds, seed=1)) == round(seconds * 100)


def test_bad_arguments():
    with pytest.raises(ValueError):
        generate(0)
    with pytest.raises(ValueError):
        generate(10, shots_per_minute=0, aims_without_shot_per_minute=0, pauses_per_minute=0)
    with pytest.raises(TypeError):
        generate(10, no_such_knob=1)


def test_timestamps_jitter_and_jump_at_pauses(long_session):
    log, truth = long_session
    ts = log.timestamp_ms
    diffs = [b - a for a, b in zip(ts, ts[1:])]
    jumps = [i + 1 for i, d in enumerate(diffs) if d > 1000]
    assert len(jumps) >= 2
    assert jumps == truth.pauses
    for i in jumps:
        assert 2000 <= ts[i] - ts[i - 1] <= 15011
    steady = [d for i, d in enumerate(diffs) if i + 1 not in truth.pauses]
    assert set(steady) == {9, 10, 11}
    assert steady.count(10) / len(steady) > 0.9
    assert 5000 <= ts[0] <= 250000


def test_saturation_happens_and_only_at_recoil(long_session):
    log, truth = long_session
    sat = [i for i in range(len(log)) if any(c[i] in (-32768, 32767) for c in log.channels)]
    assert len(sat) == truth.saturated_samples > 0
    pulls = sorted(truth.shots + truth.follow_ups)
    for i in sat:
        k = bisect.bisect_right(pulls, i) - 1
        assert k >= 0 and 0 < i - pulls[k] <= 10  # within the recoil right after a press


def test_shots_follow_ups_and_bounces(long_session):
    log, truth = long_session
    edges = rising_edges(log.trigger)
    acc = accepted(log.timestamp_ms, edges)
    assert acc == truth.shots and len(acc) >= 20
    assert sorted(truth.shots + truth.follow_ups + truth.bounces) == edges
    assert truth.follow_ups and truth.bounces
    for i in truth.follow_ups + truth.bounces:
        assert i not in acc  # rejected by the 1 s gap rule
        prev = acc[bisect.bisect_right(acc, i) - 1]
        assert log.timestamp_ms[i] - log.timestamp_ms[prev] < 1000
    assert truth.pulls == len(truth.shots) + len(truth.follow_ups)


def test_pulls_are_held_80_to_200_ms(long_session):
    log, truth = long_session
    trig = log.trigger
    for start in truth.shots + truth.follow_ups:
        end = start
        while end < len(trig) and trig[end]:
            end += 1
        if end < len(trig):
            assert 1 <= end - start <= 20


def test_aim_settles_before_the_pull(long_session):
    log, truth = long_session
    gz = log.gz
    calmer = 0
    for e in truth.shots:
        if e < 120:
            continue
        settle = max(abs(v) for v in gz[e - 8 : e])
        swing = max(abs(v) for v in (c[i] for c in (log.gx, log.gy, log.gz) for i in range(e - 120, e - 10)))
        calmer += settle < swing
    assert calmer >= 0.8 * len(truth.shots)


def test_aims_without_shot_have_no_trigger(long_session):
    log, truth = long_session
    assert truth.aims_without_shot
    for i in truth.aims_without_shot:
        assert not any(log.trigger[i - 40 : i + 30])


@pytest.mark.parametrize("seed", range(5))
def test_one_minute_gives_a_dataset(seed):
    """>= 4 accepted shots and room for 5 negatives per shot (SPEC §4 avoid mask and 250 ms spacing)."""
    log = generate(60, seed=seed)
    ts, n = log.timestamp_ms, len(log)
    edges = rising_edges(log.trigger)
    acc = accepted(ts, edges)
    assert len(acc) >= 4
    avoid = [False] * n
    for e in edges:
        lo = bisect.bisect_left(ts, ts[e] - 600)
        hi = bisect.bisect_right(ts, ts[e] + 1000)
        avoid[lo:hi] = [True] * (min(hi, n) - lo)
    candidates = [end for end in range(50, n) if not any(avoid[end - 50 : end]) and not any(log.trigger[end - 50 : end])]
    chosen = []
    for end in candidates:
        if all(abs(ts[end] - ts[c]) >= 250 for c in chosen):
            chosen.append(end)
    assert len(chosen) >= 5 * len(acc)


def test_rates_are_knobs():
    none = generate_with_truth(60, seed=2, params=SynthParams(shots_per_minute=0, follow_up_prob=0))
    assert none[1].pulls == 0 and not any(none[0].trigger)
    busy = generate(120, seed=2, shots_per_minute=20, pauses_per_minute=0)
    calm = generate(120, seed=2, shots_per_minute=4, pauses_per_minute=0)
    assert len(accepted(busy.timestamp_ms, rising_edges(busy.trigger))) > 2 * len(
        accepted(calm.timestamp_ms, rising_edges(calm.trigger))
    )
    assert busy.duration_ms < 121_000  # no pauses: duration is the recording time


def test_ten_minutes_has_60000_samples():
    """Sample count only: the generator's speed targets live in benchmarks/synth.py."""
    assert len(generate(600, seed=9)) == 60_000


# --- the bundled demo session -----------------------------------------------------------------


def test_demo_session_is_regenerated_by_the_documented_command(tmp_path, capsys):
    assert DEMO_COMMAND in (ROOT / "docs" / "synth.md").read_text(encoding="utf-8")
    out = tmp_path / "demo_session.bin"
    args = DEMO_COMMAND.split()[1:]
    args[args.index("-o") + 1] = str(out)
    assert main(args) == 0
    assert out.read_bytes() == DEMO.read_bytes()
    summary = capsys.readouterr().out
    assert summary.count("\n") == 1 and "10000 samples" in summary and "12 accepted shots" in summary


def test_demo_session_content():
    data = DEMO.read_bytes()
    assert len(data) < 250_000 and len(data) % 17 == 0
    log = parse_log(data)
    assert 9000 <= len(log) <= 12000
    acc = accepted(log.timestamp_ms, rising_edges(log.trigger))
    assert len(acc) >= 10
    assert len(rising_edges(log.trigger)) > len(acc)  # quick follow-ups / bounces present


# --- CLI --------------------------------------------------------------------------------------


def test_cli_synth_binary_and_csv(tmp_path, capsys):
    assert main(["synth", "-o", str(tmp_path / "s.bin"), "--seconds", "12", "--seed", "5"]) == 0
    assert main(["synth", "-o", str(tmp_path / "s.csv"), "--seconds", "12", "--seed", "5"]) == 0
    expected, truth = generate_with_truth(12, seed=5)
    assert (tmp_path / "s.bin").read_bytes() == expected.to_bytes()
    assert read_log(tmp_path / "s.csv").to_bytes() == expected.to_bytes()
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert "1200 samples" in lines[0] and f"{truth.pulls} trigger pulls" in lines[0]
    assert "(binary)" in lines[0] and "(CSV)" in lines[1]


def test_cli_synth_errors(tmp_path, capsys):
    assert main(["synth", "-o", str(tmp_path / "s.bin"), "--seconds", "0"]) == 1
    assert main(["synth", "-o", str(tmp_path / "nodir" / "s.bin"), "--seconds", "1"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("error: --seconds 0.0: give a recording time") and "cannot write" in err[1]
    assert list(tmp_path.iterdir()) == []
