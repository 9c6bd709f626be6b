"""SVG charts: well-formed XML, the expected series, finite coordinates, degenerate input, CLI."""
from __future__ import annotations

import math
import shutil
import subprocess
import xml.etree.ElementTree as ET
from array import array
from xml.sax import saxutils

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stingerml.blaster.log import CHANNELS, from_columns, write_log
from stingerml.blaster.plots import (
    PlotError,
    decimate_minmax,
    nice_range,
    nice_ticks,
    plot_predictions,
    escape,
    probability_histogram,
    quoteattr,
    session_overview,
    shot_crops,
    shot_trace,
    write_svg,
)
from stingerml.cli import main
from stingerml.formats import mlmd

SVG = "{http://www.w3.org/2000/svg}"
NUMERIC = {"x", "y", "x1", "x2", "y1", "y2", "width", "height"}


def make_log(n=3000, pulls=(), seed=0, dt=10, source="<synthetic>"):
    """A log with a sine-ish IMU and trigger presses of 5 samples starting at each index in ``pulls``."""
    ts = [1000 + dt * i for i in range(n)]
    chans = [[int(3000 * math.sin(0.01 * i * (c + 1) + seed)) + 100 * c for i in range(n)] for c in range(6)]
    trig = [0] * n
    for p in pulls:
        for k in range(p, min(n, p + 5)):
            trig[k] = 1
    return from_columns(ts, chans, trig, source=source)


def parse(svg):
    root = ET.fromstring(svg)
    assert root.tag == SVG + "svg"
    check_finite(root)
    return root


def check_finite(root):
    """Every coordinate and polyline point in the document is a finite number."""
    for el in root.iter():
        for name, value in el.attrib.items():
            if name in NUMERIC and not value.endswith("%"):
                assert math.isfinite(float(value)), (el.tag, name, value)
        if el.tag == SVG + "polyline":
            for pair in el.get("points").split():
                x, y = pair.split(",")
                assert math.isfinite(float(x)) and math.isfinite(float(y))


def series(root, tag, name=None):
    found = [el for el in root.iter(SVG + tag) if el.get("data-series") is not None]
    return found if name is None else [el for el in found if el.get("data-series") == name]


def points(el):
    return [tuple(map(float, p.split(","))) for p in el.get("points").split()]


# -- overview -----------------------------------------------------------------------------------


def test_overview_has_six_channels_and_one_marker_per_pull():
    log = make_log(3000, pulls=[200, 260, 1000, 2000])  # 260 is 0.6 s after 200: rejected by the gap rule
    root = parse(session_overview(log, accepted=[200, 1000, 2000], rejected=[260]))
    lines = series(root, "polyline")
    assert [el.get("data-series") for el in lines] == list(CHANNELS)
    assert [int(el.get("data-sample")) for el in series(root, "line", "accepted")] == [200, 1000, 2000]
    assert [int(el.get("data-sample")) for el in series(root, "line", "rejected")] == [260]
    # the markers sit at the pulls' times: x is linear in (t - t_first)
    xs = {int(el.get("data-sample")): float(el.get("x1")) for el in series(root, "line", "accepted")}
    assert (xs[2000] - xs[1000]) == pytest.approx(xs[1000] - xs[200] + (xs[1000] - xs[200]) * 0.25, abs=0.02)


def test_overview_finds_the_shots_itself():
    log = make_log(3000, pulls=[200, 260, 1000])
    root = parse(session_overview(log))
    assert len(series(root, "line", "accepted")) == 2
    assert [int(el.get("data-sample")) for el in series(root, "line", "rejected")] == [260]


def test_overview_decimates_long_sessions_but_keeps_spikes():
    n = 60000
    log = make_log(n)
    log.gz[31234] = 32767
    log.gz[41234] = -32768
    svg = session_overview(log, [], [], width=1000)
    root = parse(svg)
    gz = series(root, "polyline", "gz")[0]
    pts = points(gz)
    assert 500 < len(pts) <= 2 * (1000 - 90)
    frame = [el for el in root.iter(SVG + "rect") if el.get("class") == "frame"][-1]
    ys = [y for _, y in pts]
    top, bottom = float(frame.get("y")), float(frame.get("y")) + float(frame.get("height"))
    # the frame's ends carry labelled ticks (the y tick labels sit 4 px below their value's line) ...
    ticks = sorted((float(t.get("y")) - 4, float(t.text)) for t in root.iter(SVG + "text")
                   if t.get("class") == "tick" and t.get("text-anchor") == "end" and top - 1 <= float(t.get("y")) - 4 <= bottom + 1)
    (y_top, v_top), (y_bottom, v_bottom) = ticks[0], ticks[-1]
    assert (y_top, y_bottom) == (pytest.approx(top), pytest.approx(bottom))
    # ... and the two spikes, the channel's extremes, survive decimation where those labels put them
    py = lambda v: y_top + (v - v_top) * (y_bottom - y_top) / (v_bottom - v_top)  # noqa: E731
    assert min(ys) == pytest.approx(py(32767), abs=0.01) and max(ys) == pytest.approx(py(-32768), abs=0.01)
    assert len(svg) < 400_000


def test_overview_of_an_empty_or_flat_log():
    empty = from_columns([], [[] for _ in range(6)], [])
    root = parse(session_overview(empty))
    assert series(root, "polyline") == []
    assert any(el.text == "no samples" for el in root.iter(SVG + "text"))
    flat = from_columns([5, 15, 25], [[7, 7, 7]] * 6, [0, 0, 0])
    assert len(series(parse(session_overview(flat)), "polyline")) == 6
    single = from_columns([5], [[1]] * 6, [0])
    assert len(series(parse(session_overview(single)), "polyline")) == 6


def test_overview_escapes_text_and_rejects_bad_indices():
    log = make_log(100, source='a<b>&"c".bin')
    root = parse(session_overview(log, [], []))
    assert root.find(SVG + "title").text == 'session overview: a<b>&"c".bin'
    with pytest.raises(PlotError, match="outside the log"):
        session_overview(log, [100], [])


@given(st.text(alphabet=st.sampled_from("ab &<>\"'\n\r\t;#é\u2028"), max_size=12))
def test_escape_and_quoteattr_are_the_standard_librarys(text):
    assert escape(text) == saxutils.escape(text)
    assert quoteattr(text) == saxutils.quoteattr(text)


# -- shot crops and traces ----------------------------------------------------------------------


def test_shot_crops_one_per_shot_with_the_window_around_it():
    log = make_log(3000, pulls=[50, 1000, 2995])
    crops = shot_crops(log, [50, 1000, 2995], pre_ms=1000, post_ms=200)
    assert len(crops) == 3
    for svg in crops:
        root = parse(svg)
        assert [el.get("data-series") for el in series(root, "polyline")] == list(CHANNELS)
        assert len(series(root, "line", "trigger")) == 1
    # a full crop holds the 121 samples from -1000 to +200 ms; the one at sample 50 only 71
    full = series(parse(crops[1]), "polyline", "ax")[0]
    assert len(points(full)) == 121
    assert len(points(series(parse(crops[0]), "polyline", "ax")[0])) == 71
    with pytest.raises(PlotError):
        shot_crops(log, [3000])
    assert shot_crops(log, []) == []


def make_trace(n=121, t0=20000, trigger_index=1900):
    x = [-1000 + 10 * k for k in range(n)]
    return {
        "trigger_index": trigger_index,
        "t0": t0,
        "x_ms": x,
        "p_lr": [0.1 if v < -600 else 0.8 for v in x],
        "p_mlp": [0.05 if v < -600 else 0.95 for v in x],
        "score_lr": 0.5,
        "score_mlp": 1.0,
    }


def test_shot_trace_probabilities_over_imu():
    log = make_log(3000)
    trace = make_trace(t0=log.timestamp_ms[1900])
    root = parse(shot_trace(trace, log))
    assert [el.get("data-series") for el in series(root, "polyline")] == ["lr", "mlp", *CHANNELS]
    assert len(points(series(root, "polyline", "lr")[0])) == 121
    assert len(points(series(root, "polyline", "gz")[0])) == 121
    bands = [el for el in root.iter(SVG + "rect") if "preshot" in (el.get("class") or "")]
    assert len(bands) == 2
    # the band spans -600..-100 ms of a -1000..+200 ms axis: 5/12 of the plot width
    frame = [el for el in root.iter(SVG + "rect") if el.get("class") == "frame"][0]
    assert float(bands[0].get("width")) == pytest.approx(float(frame.get("width")) * 500 / 1200, abs=0.02)


def test_shot_trace_without_log_or_one_model():
    trace = make_trace()
    assert [el.get("data-series") for el in series(parse(shot_trace(trace)), "polyline")] == ["lr", "mlp"]
    trace["p_mlp"] = None
    assert [el.get("data-series") for el in series(parse(shot_trace(trace)), "polyline")] == ["lr"]
    trace["p_lr"] = [math.nan] * 121
    with pytest.raises(PlotError, match="not within"):
        shot_trace(trace)
    trace["p_lr"] = [0.5]
    with pytest.raises(PlotError, match="1 LR probabilities for 121"):
        shot_trace(trace)
    degenerate = {"trigger_index": 0, "t0": 0, "x_ms": [], "p_lr": [], "p_mlp": [], "score_lr": 0, "score_mlp": 0}
    parse(shot_trace(degenerate))


# -- histogram ----------------------------------------------------------------------------------


def test_histogram_counts():
    pos = [0.9, 0.95, 1.0, 0.52, 0.05]
    neg = [0.0, 0.01, 0.2, 0.49, 0.5]
    root = parse(probability_histogram(pos, neg, bins=10))
    for name, values in (("pos", pos), ("neg", neg)):
        bars = series(root, "rect", name)
        assert [int(b.get("data-bin")) for b in bars] == list(range(10))
        counts = [int(b.get("data-count")) for b in bars]
        expected = [0] * 10
        for v in values:
            expected[min(9, math.floor(v * 10))] += 1
        assert counts == expected
        heights = [float(b.get("height")) for b in bars]
        assert all(h == 0 for h, c in zip(heights, counts) if c == 0)
        assert all(h > 0 for h, c in zip(heights, counts) if c > 0)


def test_histogram_degenerate_and_bad_input():
    root = parse(probability_histogram([], [], bins=1))
    assert len(series(root, "rect")) == 2
    with pytest.raises(PlotError):
        probability_histogram([1.5], [])
    with pytest.raises(PlotError):
        probability_histogram([0.5], [], bins=0)


# -- helpers ------------------------------------------------------------------------------------


def test_nice_ticks_and_decimation():
    assert nice_ticks(0, 1, 5) == pytest.approx([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    assert nice_ticks(-32768, 32767, 4) == [-20000, 0, 20000]
    assert nice_ticks(0, 2.1, 10, min_step=1) == [0, 1, 2]
    assert nice_ticks(3, 3) == [3]
    xs = list(range(1000))
    ys = [(-1) ** i * i for i in range(1000)]
    dx, dy = decimate_minmax(xs, ys, 10, (0, 1000))
    assert len(dx) == 20 and dx == sorted(dx)
    assert max(dy) == 998 and min(dy) == -999
    assert decimate_minmax([1, 2], [3, 4], 10, (0, 3)) == ([1, 2], [3, 4])


def test_nice_range_ends_on_labelled_ticks():
    """Issue 24: both ends of an axis carry a tick; the range only ever widens, to the next round step."""
    assert nice_range(0.05, 0.95, 5) == ((0, 1), pytest.approx([0, 0.2, 0.4, 0.6, 0.8, 1]))
    assert nice_range(-0.1, 9.9, 5) == ((-2, 10), [-2, 0, 2, 4, 6, 8, 10])  # one step for the widening and the ticks
    assert nice_range(1, 5000, 6) == ((0, 5000), [0, 1000, 2000, 3000, 4000, 5000])
    assert nice_range(-996, 198, 8)[0] == (-1000, 200)
    for lo, hi in ((-36044.0, 36043.5), (0.5721, 0.7049), (3e-5, 7e-4), (-7.5, -7.25)):
        (a, b), ticks = nice_range(lo, hi, 6)
        assert a <= lo and b >= hi and (ticks[0], ticks[-1]) == (a, b) and 2 <= len(ticks) <= 8
    for lo, hi in ((-1e308, 1e308), (0, 1.7e308), (2, 2)):  # no round ends within the floats: the range as given
        assert nice_range(lo, hi, 6)[0] == (lo, hi)


def test_write_svg(tmp_path):
    path = tmp_path / "a.svg"
    svg = probability_histogram([0.7], [0.2])
    write_svg(path, svg)
    assert path.read_text(encoding="utf-8") == svg


# -- predictions --------------------------------------------------------------------------------


def constant_models(lr_z=2.0, mlp_z=-1.0):
    """An LR and an MLP whose outputs are sigmoid(lr_z) and sigmoid(mlp_z) for every window."""
    lr = mlmd.LRModel(array("f", [0] * 18), array("f", [1] * 18), array("f", [0] * 18), lr_z)
    zeros = lambda k: array("f", bytes(4 * k))  # noqa: E731
    mlp = mlmd.MLPModel(zeros(30), array("f", [1] * 30), zeros(64 * 30), zeros(64), zeros(32 * 64), zeros(32), zeros(32), mlp_z)
    return lr, mlp


def test_plot_predictions_writes_traces_and_histograms(tmp_path):
    log = make_log(3000, pulls=[200, 1000, 2000])
    lr, mlp = constant_models()
    out = plot_predictions(log, lr, mlp, tmp_path / "pred")
    names = sorted(p.relative_to(tmp_path / "pred").as_posix() for p in out)
    assert names == ["histogram_lr.svg", "histogram_mlp.svg"] + [f"traces/trace_00{k}.svg" for k in (1, 2, 3)]
    for k, shot in enumerate([200, 1000, 2000], start=1):
        root = parse((tmp_path / "pred" / "traces" / f"trace_00{k}.svg").read_text())
        assert [el.get("data-series") for el in series(root, "polyline")] == ["lr", "mlp", *CHANNELS]
        assert f"sample {shot} " in root.find(SVG + "title").text
    # every probability is sigmoid(2) = 0.881 (LR, bin 17 of 20) or sigmoid(-1) = 0.269 (MLP, bin 5);
    # per shot 51 samples lie in [-600, -100] ms and 31 in [-1000, -700] ms (10 ms steps)
    for key, expected_bin in (("lr", math.floor(20 / (1 + math.exp(-2)))), ("mlp", math.floor(20 / (1 + math.exp(1))))):
        root = parse((tmp_path / "pred" / f"histogram_{key}.svg").read_text())
        for name, count in (("pos", 3 * 51), ("neg", 3 * 31)):
            counts = [int(b.get("data-count")) for b in series(root, "rect", name)]
            assert counts == [count if k == expected_bin else 0 for k in range(20)]


# -- CLI ----------------------------------------------------------------------------------------


def test_cli_writes_overview_and_crops(tmp_path, capsys):
    log = make_log(3000, pulls=[200, 260, 1000, 2000])
    write_log(log, tmp_path / "s.bin")
    assert main(["plot", str(tmp_path / "s.bin"), "--out", str(tmp_path / "out")]) == 0
    root = parse((tmp_path / "out" / "overview.svg").read_text())
    assert len(series(root, "line", "accepted")) == 3 and len(series(root, "line", "rejected")) == 1
    assert sorted(p.name for p in (tmp_path / "out" / "shots").iterdir()) == ["shot_001.svg", "shot_002.svg", "shot_003.svg"]
    assert "4 rising edges, 3 accepted shots" in capsys.readouterr().out


def test_cli_with_models_adds_traces_and_histograms(tmp_path):
    write_log(make_log(3000, pulls=[200, 1000, 2000]), tmp_path / "s.bin")
    lr, mlp = constant_models()
    (tmp_path / "lr.mlmd").write_bytes(mlmd.build(lr))
    (tmp_path / "mlp.mlmd").write_bytes(mlmd.build(mlp))
    args = ["plot", str(tmp_path / "s.bin"), "--lr", str(tmp_path / "lr.mlmd"), "--mlp", str(tmp_path / "mlp.mlmd")]
    assert main(args + ["--out", str(tmp_path / "out")]) == 0
    assert len(list((tmp_path / "out" / "traces").glob("trace_*.svg"))) == 3
    for name in ("overview.svg", "histogram_lr.svg", "histogram_mlp.svg"):
        parse((tmp_path / "out" / name).read_text())


def test_cli_errors(tmp_path, capsys):
    assert main(["plot", str(tmp_path / "missing.bin"), "--out", str(tmp_path / "o")]) == 1
    assert "missing.bin" in capsys.readouterr().err
    lr = mlmd.LRModel(array("f", [0] * 18), array("f", [1] * 18), array("f", [0] * 18), 0.0)
    (tmp_path / "lr.mlmd").write_bytes(mlmd.build(lr))
    write_log(make_log(300), tmp_path / "s.bin")
    assert main(["plot", str(tmp_path / "s.bin"), "--lr", str(tmp_path / "lr.mlmd"), "--out", str(tmp_path / "o")]) == 1
    assert "both models" in capsys.readouterr().err
    args = ["plot", str(tmp_path / "s.bin"), "--lr", str(tmp_path / "lr.mlmd"), "--mlp", str(tmp_path / "lr.mlmd")]
    assert main(args + ["--out", str(tmp_path / "o")]) == 1
    assert "not an MLP model" in capsys.readouterr().err


# -- rendering ----------------------------------------------------------------------------------


def _chromium():
    for name in ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.mark.skipif(_chromium() is None, reason="Chromium is not installed")
def test_renders_in_headless_chromium(tmp_path):
    log = make_log(3000, pulls=[200, 1000, 2000])
    svg_path = tmp_path / "overview.svg"
    write_svg(svg_path, session_overview(log))
    png = tmp_path / "overview.png"
    cmd = [
        _chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={png}", "--window-size=800,600", svg_path.as_uri(),
    ]
    subprocess.run(cmd, check=True, timeout=120, capture_output=True)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 5000  # a blank 800x600 PNG compresses to a few hundred bytes
