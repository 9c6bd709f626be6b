"""Every threshold of SPEC at, just below and just above its value.

The expected outcomes are written down here from the SPEC text (and, for the
MLP noise rule, from the literal SPEC §8 port in ``spec_mlp.py``); logs are
built record by record with ``struct``. Thresholds:

- §2 the shot gap: accepted when ``ts - last_accepted >= 1000`` (999 / 1000 / 1001 ms);
- §8 the MLP input noise: ``noise_std = 0.15 if n < 80 else 0`` (79 / 80 / 81 rows);
- §10 the motion gate: prediction 0 when the gyro RMS ``< 60`` (just below / at / above);
- §4 the avoid zones: samples from ``edge - 600 ms`` to ``edge + 1000 ms`` inclusive
  are never in a negative window (599 / 600 / 601 and 999 / 1000 / 1001 ms);
- §4 the sample-interval warning: ``|dt_est - 10| > 2`` ms, dt_est over the first
  500 samples' intervals in (0, 100) ms;
- §11 the amount warnings: < 120 s, < 8 accepted shots, < 30 rows, negatives < 0.6 × positives.
"""
from __future__ import annotations

import struct
from array import array
from typing import List, Sequence

import pytest
import spec_mlp

import stingerml
from stingerml.blaster import firmware
from stingerml.blaster.trainer import amount_warnings, dataset_warnings
from stingerml.core.matrix import Matrix

RECORD = struct.Struct("<IhhhhhhB")


def make_log(timestamps: Sequence[int], trigger: Sequence[int], gyro: int = 200):
    """A log parsed from records packed here: moving accelerometer, constant gyro (gyro, 0, 0)."""
    blob = b"".join(RECORD.pack(t, (37 * i) % 2000 - 1000, (11 * i) % 500, 4000, gyro, 0, 0, g)
                    for i, (t, g) in enumerate(zip(timestamps, trigger)))
    return stingerml.parse_log(blob, source="boundary.bin")


def pulses(n: int, at: Sequence[int], width: int = 3) -> List[int]:
    """A trigger column of ``n`` samples, high for ``width`` samples from each index in ``at``."""
    trig = [0] * n
    for i in at:
        for k in range(i, min(n, i + width)):
            trig[k] = 1
    return trig


# --------------------------------------------------------------------------- §2 shot gap


@pytest.mark.parametrize("gap,accepted", [(999, False), (1000, True), (1001, True)])
def test_gap_rule_at_1000_ms(gap, accepted):
    ts = [0, gap]
    assert stingerml.accept_shots(ts, [0, 1]) == ([0, 1] if accepted else [0])


def test_gap_is_measured_from_the_last_accepted_shot_not_the_last_edge():
    # 0 accepted; 999 rejected; 1000 accepted (1000 after 0, though 1 after the rejected one);
    # 1999 rejected (999 after 1000); 2001 accepted; 3000 rejected (999 after 2001); 3001 accepted.
    ts = [0, 999, 1000, 1999, 2001, 3000, 3001]
    assert stingerml.accept_shots(ts, list(range(7))) == [0, 2, 4, 6]


@pytest.mark.parametrize("gap,accepted", [(999, 1), (1000, 2), (1001, 2)])
def test_gap_rule_in_the_dataset(gap, accepted):
    # 10 ms samples; the second pull's rising edge lands exactly ``gap`` ms after the first.
    n = 400
    ts = [10 * i for i in range(n)]
    first = 100
    ts2 = ts[:]
    second = first + 100
    shift = gap - (ts[second] - ts[first])  # move every sample from ``second`` on by ``shift`` ms
    ts2[second:] = [t + shift for t in ts[second:]]
    log = make_log(ts2, pulses(n, [first, second]))
    ds = stingerml.build_dataset(log)
    assert ds.edges == [first, second]
    assert ds.accepted == [first, second][:accepted]
    assert ds.raw_pos_count == accepted


# --------------------------------------------------------------------------- §8 MLP noise rule


def _fit(model, X: array, y: List[int], n_features: int):
    """``model.fit`` on the flat row-major matrix ``X`` (``n_features`` columns)."""
    return model.fit(Matrix(X, n_features), y)


def _noise_problem(n: int, n_in: int = 3):
    X = array("f", [((7 * i) % 13 - 6) / 4.0 for i in range(n * n_in)])
    y = [int(i % 3 == 0) for i in range(n)]
    return X, y


def _bits(values) -> List[bytes]:
    return [struct.pack("<d", float(v)) for v in values]


@pytest.mark.parametrize("n,noise", [(79, 0.15), (80, 0.0), (81, 0.0)])
def test_mlp_noise_rule_against_the_literal_spec(n, noise, backend):
    X, y = _noise_problem(n)
    model = _fit(stingerml.MLP(max_iter=2), X, y, 3)
    want = spec_mlp.mlp_fit(X, y, n, 3, 2, max(1e-4, 10 / n), 0.001, 42, noise, False)
    got = (model.W1_, model.b1_, model.W2_, model.b2_, model.W3_, [model.b3_])
    for part_got, part_want in zip(got, want[:5] + ([want[5]],)):
        assert _bits(part_got) == _bits(part_want)


@pytest.mark.parametrize("n,noisy", [(79, True), (80, False), (81, False)])
def test_mlp_default_noise_is_0_15_below_80_rows_else_none(n, noisy, backend):
    X, y = _noise_problem(n)
    default = _fit(stingerml.MLP(max_iter=3), X, y, 3)
    quiet = _fit(stingerml.MLP(max_iter=3, noise_std=0.0), X, y, 3)
    noisy_model = _fit(stingerml.MLP(max_iter=3, noise_std=0.15), X, y, 3)
    same_as = noisy_model if noisy else quiet
    other = quiet if noisy else noisy_model
    assert _bits(default.W1_) == _bits(same_as.W1_)
    assert _bits(default.W1_) != _bits(other.W1_)


# --------------------------------------------------------------------------- §10 motion gate


def gate_window(last_two: Sequence[Sequence[int]]) -> List[int]:
    """50 samples, gyro (60, 0, 0) except the last two, which are given; a moving accelerometer."""
    gyro = [(60, 0, 0)] * 48 + [tuple(g) for g in last_two]
    return [v for i, g in enumerate(gyro) for v in (100 * i, -37 * i, 4000) + g]


# Sum of gx² + gy² + gz² over the window: 179999, 180000, 180001 (exact in float32).
GATE_CASES = {
    "below": [(59, 9, 6), (60, 1, 0)],  # 48*3600 + 3598 + 3601 = 179999
    "at": [(60, 0, 0), (60, 0, 0)],  # 180000: rms exactly 60
    "above": [(60, 0, 0), (60, 1, 0)],  # 180001
}


def expected_rms(sum_sq: int) -> float:
    """``sqrtf(s / 50)`` in float32, computed with numpy's float32 (the oracle)."""
    np = pytest.importorskip("numpy")
    return float(np.sqrt(np.float32(sum_sq) / np.float32(50)))


@pytest.mark.parametrize("case", ["below", "at", "above"])
def test_motion_gate_just_below_at_and_above_60(case, backend):
    window = gate_window(GATE_CASES[case])
    sum_sq = sum(window[6 * i + 3] ** 2 + window[6 * i + 4] ** 2 + window[6 * i + 5] ** 2 for i in range(50))
    assert sum_sq == {"below": 179999, "at": 180000, "above": 180001}[case]
    rms = expected_rms(sum_sq)
    assert (rms < 60.0) == (case == "below")
    out = firmware.Firmware().predict_window(window)
    assert out["rms"] == rms
    assert out["raw_lr"] > 0.0 and out["raw_mlp"] > 0.0  # the gate has something to hide
    if case == "below":
        assert out["p_lr"] == 0.0 and out["p_mlp"] == 0.0
    else:
        assert out["p_lr"] == out["raw_lr"] and out["p_mlp"] == out["raw_mlp"]
    # The same window at the end of a stream: the device's push gives the same verdict.
    device = firmware.Firmware()
    for i in range(50):
        p = device.push(window[6 * i : 6 * i + 6])
    assert p == (out["p_lr"], out["p_mlp"])


# --------------------------------------------------------------------------- §4 avoid zones


def negative_ends(log, **params) -> List[int]:
    """End samples of all negative rows when every candidate is taken (no separation, a huge target)."""
    ds = stingerml.build_dataset(log, stingerml.DatasetParams(neg_per_pos=10_000, neg_min_sep_ms=0, **params))
    return sorted(s + ds.window_samples for s in ds.starts[ds.pos_count :])


def spec_candidates(ts: Sequence[int], trig: Sequence[int], pre: float = 600, post: float = 1000) -> List[int]:
    """SPEC §4 steps 4-5 written out: ends whose window avoids every marked sample and trigger."""
    n = len(ts)
    edges = [i for i in range(1, n) if trig[i - 1] == 0 and trig[i] == 1]
    avoided = [any(ts[e] - pre <= ts[i] <= ts[e] + post for e in edges) for i in range(n)]
    return [end for end in range(50, n) if not any(avoided[i] or trig[i] for i in range(end - 50, end))]


@pytest.mark.parametrize("before", [599, 600, 601])
def test_avoid_zone_600_ms_before_an_edge(before):
    # 10 ms samples; sample k sits ``before`` ms ahead of the edge at 150 (neighbours at 610 and 590).
    n, edge = 400, 150
    ts = [10 * i for i in range(n)]
    k = edge - 60
    ts[k] = ts[edge] - before
    log = make_log(ts, pulses(n, [edge]))
    ends = negative_ends(log)
    assert ends == spec_candidates(ts, log.trigger)
    avoided = before <= 600
    # The window whose last sample is k ends at k + 1; the one before it ends at k.
    assert k in ends
    assert (k + 1 in ends) == (not avoided)
    assert max(e for e in ends if e < edge) == (k if avoided else k + 1)


@pytest.mark.parametrize("after", [999, 1000, 1001])
def test_avoid_zone_1000_ms_after_an_edge(after):
    n, edge = 400, 150
    ts = [10 * i for i in range(n)]
    k = edge + 100
    ts[k] = ts[edge] + after
    log = make_log(ts, pulses(n, [edge]))
    ends = negative_ends(log)
    assert ends == spec_candidates(ts, log.trigger)
    avoided = after <= 1000
    # The first window after the edge starts at k (ends at k + 50) unless k is avoided.
    assert min(e for e in ends if e > edge) == (k + 51 if avoided else k + 50)


def test_avoid_zones_cover_rejected_edges_too():
    # The second pull is 500 ms after the first: rejected as a shot, still avoided (SPEC §4: all edges).
    n = 500
    ts = [10 * i for i in range(n)]
    log = make_log(ts, pulses(n, [150, 200]))
    ds = stingerml.build_dataset(log)
    assert ds.accepted == [150]
    assert negative_ends(log) == spec_candidates(ts, log.trigger)
    assert not [e for e in negative_ends(log) if 200 - 60 < e <= 200 + 150]


# --------------------------------------------------------------------------- §4 positives at the log's start


@pytest.mark.parametrize("edge,starts", [
    (59, []),  # start = 59 - 10 - 50 = -1: skipped
    (60, [0, 1, 2]),  # start 0 kept; shifts -2, -1 would start before the log
    (61, [1, 0, 2, 3]),
    (62, [2, 0, 1, 3, 4]),  # the original, then shifts -2, -1, 1, 2
])
def test_positive_windows_at_the_start_of_the_log(edge, starts):
    n = 600
    log = make_log([10 * i for i in range(n)], pulses(n, [edge]))
    ds = stingerml.build_dataset(log)
    assert ds.accepted == [edge]
    assert ds.starts[: ds.pos_count] == starts
    assert ds.raw_pos_count == (1 if starts else 0)


# --------------------------------------------------------------------------- §4 sample-interval warning


def interval_warnings(log) -> List[str]:
    ds = stingerml.build_dataset(log)
    return [w for w in dataset_warnings(log, ds) if "interval" in w.lower()]


def steady_log(steps: Sequence[int]):
    ts = [0]
    for d in steps:
        ts.append(ts[-1] + d)
    return make_log(ts, pulses(len(ts), [300, 500]))


@pytest.mark.parametrize("steps,dt,warn", [
    ([12] * 699, 12.0, False),
    ([8] * 699, 8.0, False),
    ([12] * 498 + [13] + [12] * 200, (498 * 12 + 13) / 499, True),  # just above 12
    ([8] * 498 + [7] + [8] * 200, (498 * 8 + 7) / 499, True),  # just below 8
    ([10] * 498 + [99] + [10] * 200, (498 * 10 + 99) / 499, False),  # 99 counts, mean 10.18
    ([10] * 498 + [100] + [10] * 200, 10.0, False),  # 100 is a pause: ignored
    ([10] * 499 + [50] * 200, 10.0, False),  # the interval between samples 499 and 500 is not looked at
    ([13] * 498 + [0] + [13] * 200, 13.0, True),  # 0 is ignored
])
def test_sample_interval_warning(steps, dt, warn):
    log = steady_log(steps)
    assert stingerml.build_dataset(log).dt_est_ms == dt
    assert len(interval_warnings(log)) == int(warn)


# --------------------------------------------------------------------------- §11 amount warnings


@pytest.mark.parametrize("args,count", [
    ((120_000, 8, 30, 10, 6), 0),
    ((119_999, 8, 30, 10, 6), 1),  # shorter than 120 s
    ((120_001, 8, 30, 10, 6), 0),
    ((120_000, 7, 30, 10, 6), 1),  # fewer than 8 shots
    ((120_000, 9, 30, 10, 6), 0),
    ((120_000, 8, 29, 10, 6), 1),  # fewer than 30 rows
    ((120_000, 8, 31, 10, 6), 0),
    ((120_000, 8, 30, 10, 5), 1),  # 5 < 0.6 * 10
    ((120_000, 8, 30, 10, 7), 0),
    ((120_000, 8, 30, 5, 3), 0),  # 3 == 0.6 * 5: not fewer
    ((119_999, 7, 29, 10, 5), 4),
])
def test_amount_warnings(args, count):
    assert len(amount_warnings(*args)) == count


def test_amount_warnings_on_a_real_session(vectors):
    # The browser's own warnings on the two reference sessions (none for session_a; tiny is short and small).
    import json

    for name in ("session_a", "tiny"):
        log = stingerml.read_log(vectors / "sessions" / f"{name}.bin")
        ds = stingerml.build_dataset(log)
        browser = json.loads((vectors / "browser" / f"{name}.json").read_text())
        assert dataset_warnings(log, ds) == browser["warnings"]
