"""Dataset export (SPEC §13) against the original Python exporter's outputs, and the training-folder format."""
from __future__ import annotations

import json
import math
import os
import random
import shlex
import statistics
from array import array
from pathlib import Path

import pytest

from stingerml.blaster import trainfolder
from stingerml.blaster.folder_dataset import (
    ExportParams,
    export_dataset,
    nearest_shot,
    order_statistic,
    percentile,
)
from stingerml.blaster.log import from_columns, read_log
from stingerml.cli import build_parser, main
from stingerml.core.errors import DatasetError

ROOT = Path(__file__).resolve().parent.parent / "vectors"
TOOLS = ROOT / "tools"
SESSION = ROOT / "sessions" / "session_a.bin"
FILES = ("windows_i16le.bin", "labels_u8.bin", "index.csv")


@pytest.fixture(scope="module")
def log():
    return read_log(SESSION)


def params_from_args(tag: str) -> ExportParams:
    """The original's command-line arguments (args.txt) parsed by our own ``export`` parser."""
    argv = shlex.split((TOOLS / f"session_a.{tag}" / "args.txt").read_text())
    ns = build_parser().parse_args(["export", "LOG", "--out", "DIR", *argv])
    fields = ExportParams.__dataclass_fields__
    return ExportParams(**{k: getattr(ns, k) for k in fields})


@pytest.mark.parametrize("tag", ["default", "near", "far3", "mixed"])
def test_export_matches_original_tool(log, tag):
    folder = export_dataset(log, params_from_args(tag))
    files = trainfolder.encode(folder)
    ref_dir = TOOLS / f"session_a.{tag}"
    for name in FILES:
        assert files[name] == (ref_dir / name).read_bytes(), name
    ref_meta = json.loads((ref_dir / "meta.json").read_text())
    ours = dict(folder.meta)
    assert list(ours) == list(ref_meta)
    ref_meta.pop("input_csv"), ours.pop("input_csv")
    assert ours == ref_meta


@pytest.mark.parametrize("tag", ["default", "near", "mixed", "far3"])
def test_summary_matches_original_tool(log, tag):
    ref = json.loads((TOOLS / f"session_a.{tag}" / "summary.json").read_text())
    ours = export_dataset(log, params_from_args(tag)).summary
    ref.pop("input_csv"), ours.pop("input_csv")
    assert ours == ref


def test_reference_index_is_consistent_with_log(log):
    """Independent check of the row layout: each window's bytes are the log's samples at the index times."""
    folder = trainfolder.read(TOOLS / "session_a.default")
    ts = list(log.timestamp_ms)
    chans = log.channels
    for r, row in enumerate(folder.index):
        start = ts.index(row["window_start_ms"])
        assert ts[start + 49] == row["window_end_ms"]
        expect = [chans[c][start + s] for s in range(50) for c in range(6)]
        assert list(folder.windows[r * 300 : (r + 1) * 300]) == expect


def test_params_defaults_match_original_meta():
    meta = json.loads((TOOLS / "session_a.default" / "meta.json").read_text())
    d = ExportParams()
    for key in ("window_ms", "lead_ms", "neg_mult", "neg_strategy", "neg_mixed_near_frac", "neg_min_motion_quantile",
                "neg_match_pos_motion", "neg_pos_motion_q", "neg_min_sep_ms", "neg_with_replacement",
                "neg_near_min_ms", "neg_near_max_ms", "neg_avoid_post_ms", "neg_avoid_edges"):
        assert getattr(d, key) == meta[key], key
    assert d.seed == 1 and d.min_shot_gap_ms == 1000


@pytest.mark.parametrize("data", [[3, 1, 2], [5, 1, 4, 2, 8, 7, 7, 10, -3], list(range(29)), [4.5, 1.25, 9.0, 2.0]])
def test_percentile_equals_inclusive_linear_interpolation(data):
    # statistics.quantiles(method="inclusive") cuts at k/n with the same linear rule
    s = sorted(data)
    n = 20
    cuts = statistics.quantiles(data, n=n, method="inclusive")
    for k, cut in enumerate(cuts, start=1):
        assert percentile(s, 100 * k / n) == pytest.approx(cut, rel=1e-12, abs=1e-12)
    assert percentile(s, 0) == min(data) and percentile(s, 100) == max(data) and percentile([], 50) == 0.0


def test_order_statistic_does_not_interpolate():
    s = [1.0, 2.0, 4.0, 8.0, 16.0]  # rank q*(n-1) = 4q
    assert [order_statistic(s, q) for q in (0.0, 0.2, 0.24, 0.25, 0.5, 0.99, 1.0)] == [1, 1, 1, 2, 4, 8, 16]
    assert [order_statistic(s, q, round_up=True) for q in (0.0, 0.01, 0.25, 0.26, 1.0)] == [1, 2, 2, 4, 16]
    with pytest.raises(DatasetError):
        order_statistic([], 0.5)


def test_nearest_shot_ties_to_earlier():
    shots = [100, 200, 400]
    assert [nearest_shot(t, shots) for t in (0, 149, 150, 151, 300, 301, 10_000)] == [0, 0, 0, 1, 1, 2, 2]


def test_cli_export_writes_reference_folder(tmp_path, capsys):
    out = tmp_path / "train"
    argv = shlex.split((TOOLS / "session_a.far3" / "args.txt").read_text())
    assert main(["export", str(SESSION), "--out", str(out), *argv]) == 0
    for name in FILES:
        assert (out / name).read_bytes() == (TOOLS / "session_a.far3" / name).read_bytes()
    assert "29 positives, 87 negatives" in capsys.readouterr().out
    # a second run replaces the set (the rule of every command, docs/cli.md); --overwrite is a
    # deprecated no-op
    assert main(["export", str(SESSION), "--out", str(out)]) == 0
    assert (out / "labels_u8.bin").read_bytes() == (TOOLS / "session_a.default" / "labels_u8.bin").read_bytes()
    assert main(["export", str(SESSION), "--out", str(out), "--overwrite"]) == 0
    assert "deprecated" in capsys.readouterr().err
    assert (out / "labels_u8.bin").read_bytes() == (TOOLS / "session_a.default" / "labels_u8.bin").read_bytes()


def test_bad_options_are_rejected(log):
    with pytest.raises(DatasetError, match="neg_strategy"):
        export_dataset(log, ExportParams(neg_strategy="closest"))
    with pytest.raises(DatasetError, match="neg_near_min_ms"):
        export_dataset(log, ExportParams(neg_near_min_ms=3000))


def test_log_without_shots_is_an_error(log):
    quiet = log.slice(0, 2000)
    quiet.trigger[:] = array("B", bytes(len(quiet)))
    with pytest.raises(DatasetError, match="no accepted shot"):
        export_dataset(quiet)


# --- the training-folder format ----------------------------------------------


def test_read_reference_folder():
    folder = trainfolder.read(TOOLS / "session_a.near")
    assert len(folder) == 57 and folder.window_samples == 50
    assert len(folder.windows) == 57 * 50 * 6
    assert folder.labels.count(1) == 29
    assert folder.index[44]["event_timestamp_ms"] == folder.index[45]["event_timestamp_ms"] == 380071
    assert folder.index[0] == {
        "row": 0, "label": 1, "shot_num": 0, "shot_timestamp_ms": 159656, "distance_to_shot_ms": 0,
        "event_timestamp_ms": 159656, "window_start_ms": 159061, "window_end_ms": 159548, "source": "pos",
    }
    assert folder.summary is not None and folder.summary["samples"] == 30000


def test_write_read_round_trip(tmp_path):
    ref = TOOLS / "session_a.mixed"
    folder = trainfolder.read(ref)
    out = trainfolder.write(tmp_path / "a" / "b", folder)
    for name in (*FILES, "meta.json", "summary.json"):
        assert (out / name).read_bytes() == (ref / name).read_bytes(), name
    assert [p.name for p in tmp_path.joinpath("a").iterdir()] == ["b"]  # no temp dir left


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: (d / "labels_u8.bin").write_bytes(b"\x01" * 56), "labels and windows disagree"),
        (lambda d: (d / "windows_i16le.bin").write_bytes(b"\x00" * 600), "expected 57 rows"),
        (lambda d: (d / "windows_i16le.bin").write_bytes(b"\x00" * 3), "whole number"),
        (lambda d: (d / "meta.json").write_text("{"), "not valid JSON"),
        (lambda d: (d / "index.csv").write_text("\r\n".join((d / "index.csv").read_text().splitlines()[:-1])), "index.csv has 56 rows"),
        (lambda d: (d / "index.csv").unlink(), "missing"),
        (lambda d: (d / "index.csv").write_text("row,label\r\n"), "header"),
        (lambda d: (d / "labels_u8.bin").write_bytes(b"\x02" + (d / "labels_u8.bin").read_bytes()[1:]), "must be 0 or 1"),
    ],
)
def test_read_rejects_inconsistent_folder(tmp_path, damage, message):
    d = tmp_path / "f"
    d.mkdir()
    for p in (TOOLS / "session_a.near").iterdir():
        (d / p.name).write_bytes(p.read_bytes())
    damage(d)
    with pytest.raises(DatasetError, match=message):
        trainfolder.read(d)


def test_write_refuses_inconsistent_folder_and_leaves_nothing(tmp_path):
    folder = trainfolder.read(TOOLS / "session_a.near")
    folder.labels.append(0)
    with pytest.raises(DatasetError):
        trainfolder.write(tmp_path / "out", folder)
    assert list(tmp_path.iterdir()) == []


def test_write_failure_leaves_no_half_folder(tmp_path, monkeypatch):
    folder = trainfolder.read(TOOLS / "session_a.near")
    calls = []
    real = os.fsync

    def failing(fd):  # the third file's flush to disk fails (disk full)
        calls.append(fd)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real(fd)

    monkeypatch.setattr(os, "fsync", failing)
    with pytest.raises(OSError):
        trainfolder.write(tmp_path / "out", folder)
    assert list(tmp_path.iterdir()) == []


# --- options on hand-built logs (expected answers from the SPEC §13 rules, computed naively) ---

DT = 10  # ms per sample of the synthetic logs
SHOTS = (200, 350, 500, 650, 800, 950, 1100)  # accepted trigger edges (sample indices, 1.5 s apart)
REJECTED = (260,)  # a pull 600 ms after a shot: an edge, not a shot
SMALL = dict(window_ms=50, lead_ms=20)  # 5-sample windows ending 2 samples before the edge


def synthetic_log(n: int = 1200, seed: int = 3):
    """Random IMU noise at 100 Hz with 3-sample trigger pulls at SHOTS and REJECTED."""
    r = random.Random(seed)
    chans = [[r.randint(-3000, 3000) for _ in range(n)] for _ in range(6)]
    trig = [0] * n
    for e in (*SHOTS, *REJECTED):
        trig[e : e + 3] = [1, 1, 1]
    return from_columns([DT * i for i in range(n)], chans, trig, source="synthetic")


@pytest.fixture(scope="module")
def synth():
    return synthetic_log()


def naive_score(log, end, w):
    ax, ay, az, gx, gy, gz = log.channels
    g = sum(gx[i] ** 2 + gy[i] ** 2 + gz[i] ** 2 for i in range(end - w, end))
    a = sum(ax[i] ** 2 + ay[i] ** 2 + az[i] ** 2 for i in range(end - w, end))
    return g / w + 0.05 * (a / w)


def naive_candidates(log, w, avoid_edges, pre_ms, post_ms):
    ts, trig = log.timestamp_ms, log.trigger
    return [
        end for end in range(w, len(log))
        if not any(ts[e] - pre_ms <= ts[end] <= ts[e] + post_ms for e in avoid_edges)
        and not any(trig[end - w : end])
    ]


def negative_ends(folder):
    return [r["event_timestamp_ms"] // DT for r in folder.index if r["label"] == 0]


def positive_starts(folder):
    return [r["window_start_ms"] // DT for r in folder.index if r["label"] == 1]


@pytest.mark.parametrize("avoid_edges, post_ms", [("all", 100), ("accepted", 100), ("all", 0), ("accepted", 370)])
def test_far_candidates_follow_avoid_rules(synth, avoid_edges, post_ms):
    # asking for more negatives than candidates (no separation) returns every candidate once
    p = ExportParams(**SMALL, neg_mult=1000, neg_min_sep_ms=0, neg_avoid_edges=avoid_edges, neg_avoid_post_ms=post_ms)
    got = negative_ends(export_dataset(synth, p))
    avoid = (*SHOTS, *REJECTED) if avoid_edges == "all" else SHOTS
    expect = naive_candidates(synth, 5, avoid, 70, post_ms)
    assert len(got) == len(set(got)) and sorted(got) == expect
    # sample 268 (2680 ms) lies in the rejected pull's post zone unless that zone is empty or not avoided
    assert (268 in got) == (avoid_edges == "accepted" or post_ms == 0)


def test_lead_and_window_use_python_rounding_and_at_least_one_sample(synth):
    cases = [(0, 50, 1, 5), (14, 50, 1, 5), (25, 45, 2, 4), (35, 55, 4, 6)]  # round(2.5) = 2, round(4.5) = 4
    for lead_ms, window_ms, lead, window in cases:
        folder = export_dataset(synth, ExportParams(lead_ms=lead_ms, window_ms=window_ms))
        assert folder.meta["window_samples"] == window
        pos = [r for r in folder.index if r["label"] == 1]
        assert [r["shot_timestamp_ms"] for r in pos] == [DT * e for e in SHOTS]
        assert [r["window_end_ms"] for r in pos] == [DT * (e - lead - 1) for e in SHOTS]
        assert [r["window_start_ms"] for r in pos] == [DT * (e - lead - window) for e in SHOTS]


@pytest.mark.parametrize("q", [0.3, 0.55, 0.9])
def test_min_motion_quantile_threshold_is_an_order_statistic(synth, q):
    p = ExportParams(**SMALL, neg_mult=1000, neg_min_sep_ms=0, neg_min_motion_quantile=q)
    got = negative_ends(export_dataset(synth, p))
    cands = naive_candidates(synth, 5, (*SHOTS, *REJECTED), 70, 1000)
    scores = sorted(naive_score(synth, e, 5) for e in cands)
    rank = q * (len(scores) - 1)
    assert rank != int(rank)  # an interpolating quantile would drop one more candidate
    thr = scores[math.floor(rank)]
    assert sorted(got) == [e for e in cands if naive_score(synth, e, 5) >= thr]
    assert len(got) == len(cands) - math.floor(rank)


@pytest.mark.parametrize("q, min_q", [(0.2, 0.0), (0.5, 0.0), (0.05, 0.4)])
def test_match_pos_motion_keeps_candidates_inside_positive_ranks(synth, q, min_q):
    p = ExportParams(**SMALL, neg_mult=1000, neg_min_sep_ms=0, neg_match_pos_motion=True, neg_pos_motion_q=q,
                     neg_min_motion_quantile=min_q)
    folder = export_dataset(synth, p)
    pos = sorted(naive_score(synth, s + 5, 5) for s in positive_starts(folder))
    qq = min(q, 0.49)
    lo, hi = pos[math.floor(qq * (len(pos) - 1))], pos[math.ceil((1 - qq) * (len(pos) - 1))]
    cands = naive_candidates(synth, 5, (*SHOTS, *REJECTED), 70, 1000)
    floor_ = sorted(naive_score(synth, e, 5) for e in cands)[math.floor(min_q * (len(cands) - 1))]
    expect = [e for e in cands if naive_score(synth, e, 5) >= floor_ and lo <= naive_score(synth, e, 5) <= hi]
    got = negative_ends(folder)
    assert expect and sorted(got) == expect


def test_near_takes_small_bands_whole_in_time_order(synth):
    # per-shot band [start - 400, start - 200] ms; more wanted than the band holds: no shuffle, no separation
    p = ExportParams(**SMALL, neg_strategy="near", neg_mult=100, neg_near_min_ms=200, neg_near_max_ms=400)
    folder = export_dataset(synth, p)
    cands = set(naive_candidates(synth, 5, (*SHOTS, *REJECTED), 70, 1000))
    expect = []
    for s in positive_starts(folder):
        expect += [e for e in range(len(synth)) if e in cands and DT * s - 400 <= DT * e <= DT * s - 200]
    assert expect and negative_ends(folder) == expect
    assert min(b - a for a, b in zip(expect, expect[1:])) == 1  # 10 ms apart despite neg_min_sep_ms=250


def test_near_motion_quantile_is_taken_per_band(synth):
    p = ExportParams(**SMALL, neg_strategy="near", neg_mult=100, neg_near_min_ms=200, neg_near_max_ms=600,
                     neg_min_motion_quantile=0.5)
    folder = export_dataset(synth, p)
    cands = set(naive_candidates(synth, 5, (*SHOTS, *REJECTED), 70, 1000))
    expect = []
    for s in positive_starts(folder):
        band = [e for e in range(len(synth)) if e in cands and DT * s - 600 <= DT * e <= DT * s - 200]
        if band:
            scores = sorted(naive_score(synth, e, 5) for e in band)
            expect += [e for e in band if naive_score(synth, e, 5) >= scores[math.floor(0.5 * (len(band) - 1))]]
    assert expect and negative_ends(folder) == expect


def test_near_band_of_zero_width_is_empty(synth):
    p = ExportParams(**SMALL, neg_strategy="near", neg_near_min_ms=300, neg_near_max_ms=300)
    assert export_dataset(synth, p).meta["negatives"] == 0


@pytest.mark.parametrize("replace", [False, True])
def test_near_sampling_stays_in_band_and_separated(synth, replace):
    p = ExportParams(**SMALL, neg_strategy="near", neg_mult=3, neg_near_min_ms=100, neg_near_max_ms=1200,
                     neg_min_sep_ms=150, neg_with_replacement=replace, seed=5)
    folder = export_dataset(synth, p)
    cands = set(naive_candidates(synth, 5, (*SHOTS, *REJECTED), 70, 1000))
    ends, starts = negative_ends(folder), positive_starts(folder)
    assert 0 < len(ends) <= 3 * len(starts)
    # rows come shot by shot; each shot's picks lie in its band, are distinct and >= 150 ms apart
    i = 0
    for s in starts:
        band = [e for e in sorted(cands) if DT * s - 1200 <= DT * e <= DT * s - 100]
        picks = []
        while i < len(ends) and ends[i] in band and len(picks) < 3:
            picks.append(ends[i])
            i += 1
        assert len(set(picks)) == len(picks)
        assert all(abs(a - b) * DT >= 150 for a in picks for b in picks if a != b)
    assert i == len(ends)


@pytest.mark.parametrize("strategy", ["far", "mixed"])
@pytest.mark.parametrize("replace", [False, True])
def test_far_and_mixed_pick_distinct_separated_candidates(synth, strategy, replace):
    p = ExportParams(**SMALL, neg_strategy=strategy, neg_mult=4, neg_min_sep_ms=300, neg_with_replacement=replace,
                     neg_mixed_near_frac=0.5, seed=11)
    ends = negative_ends(export_dataset(synth, p))
    cands = set(naive_candidates(synth, 5, (*SHOTS, *REJECTED), 70, 1000))
    assert 0 < len(ends) <= 4 * len(SHOTS) and set(ends) <= cands and len(set(ends)) == len(ends)
    assert min(abs(a - b) for a in ends for b in ends if a != b) * DT >= 300
    assert ends != sorted(ends)  # random order, not time order
    assert ends == negative_ends(export_dataset(synth, p))  # the seed fixes the draw
    assert ends != negative_ends(export_dataset(synth, ExportParams(**{**p.__dict__, "seed": 12})))


def test_negative_rows_name_the_nearest_shot(synth):
    folder = export_dataset(synth, ExportParams(**SMALL, neg_mult=1000, neg_min_sep_ms=0))
    shot_ms = [DT * e for e in SHOTS]
    for r in folder.index:
        if r["label"] == 0:
            t = r["event_timestamp_ms"]
            best = min(range(len(shot_ms)), key=lambda k: (abs(t - shot_ms[k]), k))
            assert (r["shot_num"], r["shot_timestamp_ms"]) == (best, shot_ms[best])
            assert r["distance_to_shot_ms"] == t - shot_ms[best]
            assert (r["window_start_ms"], r["window_end_ms"]) == (t - 5 * DT, t - DT)


def test_dt_is_median_of_positive_steps_and_summary_counts_them():
    # steps: 9 x 8 ms and 20 x 12 ms, plus repeated timestamps (0 ms steps) that are ignored
    ts, t = [0], 0
    for k in range(29):
        t += 8 if k % 3 == 0 else 12
        ts += [t, t] if k % 5 == 0 else [t]
    n = len(ts)
    steps = [b - a for a, b in zip(ts, ts[1:]) if b > a]
    trig = [0] * n
    trig[-3] = 1
    log = from_columns(ts, [[1] * n] * 6, trig)
    folder = export_dataset(log, ExportParams(window_ms=60, lead_ms=12, neg_mult=0))
    assert folder.meta["estimated_dt_ms"] == statistics.median(steps) == 12.0
    assert folder.meta["window_samples"] == 5 and folder.meta["positives"] == 1
    dts = folder.summary["timestamp_dt_ms"]
    assert dts["count"] == len(steps) == 29 and (dts["min"], dts["max"]) == (8.0, 12.0)


def test_timestamps_that_never_increase_are_an_error():
    log = from_columns([5] * 20, [[0] * 20] * 6, [0] * 10 + [1] * 10)
    with pytest.raises(DatasetError, match="never increase"):
        export_dataset(log)
