"""report.html: self-contained, every SVG valid XML, every section and chart there; ``stingerml report DIR``."""
from __future__ import annotations

import json
import re
import shutil
import struct
import xml.etree.ElementTree as ET
from html import escape
from pathlib import Path
from typing import Tuple

import pytest
from conftest import use_backend

from stingerml.blaster.report_html import REPORT_HTML, render, svgs
from stingerml.blaster.trainer import train
from stingerml.cli import main

SECTIONS = ("quality", "summary", "metrics", "loss", "traces")
SVG_NS = "{http://www.w3.org/2000/svg}"


def fast_backend() -> str:
    try:
        import numba  # noqa: F401
    except ImportError:
        return "python"
    return "numba"


@pytest.fixture(scope="module")
def tiny_dir(vectors, tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny") / "out"
    with use_backend(fast_backend()):
        assert main(["train", str(vectors / "sessions" / "tiny.bin"), "--out", str(out), "--quiet"]) == 0
    return out


def check_page(html: str, n_traces: int) -> None:
    """Sections, charts and series present; each SVG parses as XML; nothing external."""
    for sid in SECTIONS:
        assert f'<section id="{sid}">' in html
    charts = re.findall(r'<figure class="chart" data-chart="(\w+)">', html)
    assert charts == ["loss", "loss"] + ["trace"] * n_traces
    docs = svgs(html)
    assert len(docs) == len(charts)
    for svg in docs:
        root = ET.fromstring(svg)
        assert root.tag == SVG_NS + "svg"
    series = [[el.get("data-series") for el in ET.fromstring(s).iter(SVG_NS + "polyline")] for s in docs]
    assert series[0] == ["lr"] and series[1] == ["mlp"]
    for s in series[2:]:
        assert s[:2] == ["lr", "mlp"] and set(s[2:]) == {"ax", "ay", "az", "gx", "gy", "gz"}
    for svg in docs[2:]:
        assert len(list(ET.fromstring(svg).iter(SVG_NS + "rect"))) >= 3  # background, pre-shot bands
    lowered = html.lower()
    assert "<script" not in lowered and "<link" not in lowered and "@import" not in lowered and "url(" not in lowered
    assert re.findall(r"(?:src|href)=", lowered) == []
    assert set(re.findall(r"https?://[^\s\"'<>]+", html)) <= {"http://www.w3.org/2000/svg"}


def test_train_writes_a_self_contained_report(vectors, tiny_dir):
    html = (tiny_dir / REPORT_HTML).read_text(encoding="utf-8")
    report = json.loads((tiny_dir / "report.json").read_text())
    check_page(html, len(report["shot_traces"]))
    assert report["shot_traces"] and report["logs"] == [str(vectors / "sessions" / "tiny.bin")]
    assert "40/100" in html and "Fair" in html and "4 shots (aim for 100+)" in html
    assert report["warnings"] and all(escape(w) in html for w in report["warnings"])
    assert "Precision: of the moments" in html and "Recall: of the real pre-shot moments" in html
    assert "@media print" in html and "background: #fff" in html


def test_report_command_rebuilds_the_same_page(tiny_dir, tmp_path, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(tiny_dir, copy)
    (copy / REPORT_HTML).unlink()
    assert main(["report", str(copy)]) == 0
    assert (copy / REPORT_HTML).read_bytes() == (tiny_dir / REPORT_HTML).read_bytes()
    assert capsys.readouterr().out.strip() == str(copy / REPORT_HTML)


def test_report_without_the_log_draws_probabilities_only(tiny_dir, tmp_path, capsys, vectors):
    copy = tmp_path / "copy"
    shutil.copytree(tiny_dir, copy)
    report = json.loads((copy / "report.json").read_text())
    report["logs"] = [str(tmp_path / "gone.bin")]
    (copy / "report.json").write_text(json.dumps(report))
    assert main(["report", str(copy)]) == 0
    html = (copy / REPORT_HTML).read_text(encoding="utf-8")
    assert "The log was not found" in html and "traces are drawn without the IMU" in capsys.readouterr().err
    assert all("data-series=\"ax\"" not in s for s in svgs(html)[2:])
    assert main(["report", str(copy), "--log", str(vectors / "sessions" / "tiny.bin")]) == 0
    check_page((copy / REPORT_HTML).read_text(encoding="utf-8"), len(report["shot_traces"]))


@pytest.mark.parametrize("content, message", [(None, "cannot read"), ("{", "not valid JSON"), ("[]", "not a stingerml report")])
def test_report_bad_folder_is_one_line(tmp_path, capsys, content, message):
    if content is not None:
        (tmp_path / "report.json").write_text(content)
    assert main(["report", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]
    assert not (tmp_path / REPORT_HTML).exists()


def test_render_handles_missing_parts():
    html = render({"summary": {"rows": 10, "posWindows": 5, "negWindows": 5, "shotsAccepted": 2},
                   "quality": None, "metrics": None, "lr_loss_history": [], "mlp_loss_history": [], "shot_traces": []})
    assert "Not available" in html and "No held-out check" in html and "no loss recorded" in html
    for svg in svgs(html):
        ET.fromstring(svg)


def first_last_timestamp(path: Path) -> Tuple[int, int, int]:
    """``(samples, first, last timestamp)`` of a binary log, read with struct (17-byte records, uint32 first)."""
    data = path.read_bytes()
    return len(data) // 17, struct.unpack_from("<I", data, 0)[0], struct.unpack_from("<I", data, len(data) - 17)[0]


def test_import_page(vectors):
    """A joined import: each joined file with its samples and seconds, the skipped one, why the joined
    span is not the files' time, the lost-shot warning; the CLI does not claim shot plots."""
    pytest.importorskip("numba")
    paths = [vectors / "sessions" / n for n in ("tiny.bin", "session_a.bin", "tiny_junk.bin")]
    events = []
    with use_backend("numba"):
        joined = train(paths, concat=True, progress=events.append)
    html = render(joined.report(), joined.logs)
    check_page(html, len(joined.shot_traces))
    (n0, first0, last0), (n1, first1, last1) = first_last_timestamp(paths[0]), first_last_timestamp(paths[1])
    assert (f"Joined as one log, in this order (<code>--concat</code>, the app's import): "
            f"{paths[0]} ({n0} samples, {(last0 - first0) / 1000:.3f} s), {paths[1]} ({n1} samples, "
            f"{(last1 - first1) / 1000:.3f} s). Skipped: {paths[2]} (a size that is not a whole number of 17-byte samples).") in html
    assert (f"timestamp span above ({(last1 - first0) / 1000:.3f} s, its last minus first timestamp, which the data-quality "
            f"score counts) is not the time recorded: the files span {(last0 - first0 + last1 - first1) / 1000:.3f} s together") in html
    assert f"timestamp span (s, last minus first timestamp)</td><td>{(last1 - first0) / 1000:.3f}<" in html
    assert "7 of its 29 shots" in html
    n = len(joined.shot_traces)
    assert f"Generated {n} shot plots" in joined.log_lines  # the browser's line, kept for the comparison with it ...
    assert not any("shot plots" in e.message for e in events)  # ... but not said: no plot file is written
    assert f"Kept {n} per-shot prediction traces (report.json, drawn in report.html)" in [e.message for e in events]


def test_the_page_uses_the_cli_words_and_defines_its_numbers(tiny_dir):
    """Issue 24: the summary counts rising edges (docs/cli.md's word), not "trigger pulls"; the shot
    charts carry no undefined "score"."""
    html = (tiny_dir / "report.html").read_text(encoding="utf-8")
    assert "trigger pulls" not in html and "rising edges (trigger 0\u21921)" in html
    titles = re.findall(r"shot at sample [^<]*", html)
    assert titles and not any("score" in t for t in titles)
    assert "timestamp span (s, last minus first timestamp)</td><td>45.752<" in html  # tiny: 45752 ms


def test_a_full_component_shows_no_tip():
    from stingerml.blaster.report_html import _quality

    part = {"score": 100, "tip": "record more shots"}
    html = _quality({"overall": 100, "tier": "Good", "shots": part, "duration": dict(part, score=60),
                     "negatives": part})
    assert html.count("record more shots") == 1  # only the component below 100


def test_sessions_table_and_an_older_import_block():
    """Several sessions: each with its span in seconds, the total labelled as a sum; a report.json written
    before the import kept per-file numbers still names the joined files."""
    one = {"samples": 100, "durationMs": 12345, "shotsAll": 3, "shotsAccepted": 2, "posWindows": 10, "negWindows": 10}
    two = dict(one, durationMs=1000)
    summary = {**{k: one[k] + two[k] for k in one}, "sessions": [dict(one, name="a.bin"), dict(two, name="b.bin")]}
    html = render({"summary": summary, "import": {"files": ["a.bin", "b.bin"], "skipped": []}, "quality": None,
                   "metrics": None, "lr_loss_history": [], "mlp_loss_history": [], "shot_traces": []})
    assert "<td>a.bin</td><td>100</td><td>12.345</td><td>2</td>" in html and "<td>b.bin</td><td>100</td><td>1.000</td>" in html
    assert "timestamp span (s, each session&#x27;s last minus first timestamp, summed)</td><td>13.345<" in html
    assert "Joined as one log, in this order (<code>--concat</code>, the app's import): a.bin, b.bin.</p>" in html


def test_every_number_is_defined_on_the_page(tiny_dir):
    """Issue 24: each metrics column, each quality part and the loss charts' points are explained on the page."""
    html = (tiny_dir / "report.html").read_text(encoding="utf-8")
    report = json.loads((tiny_dir / "report.json").read_text())
    metrics = html[html.index('<section id="metrics">'):html.index('<section id="loss">')]
    headers = re.findall(r"<th>([^<]+)</th>", metrics)[1:]
    explained = re.search(r'<p class="explain">(.*?)</p>', metrics, re.S).group(1).lower()
    assert len(headers) == 9 and all(h.lower() in explained for h in headers), headers
    quality = html[html.index('<section id="quality">'):html.index('<section id="summary">')]
    explained = re.search(r'<p class="explain">(.*?)</p>', quality, re.S).group(1).lower()
    parts = re.findall(r'<tr data-component="\w+"><td>(\w+)</td>', quality)
    assert parts == ["Shots", "Duration", "Negatives"] and all(p.lower() in explained for p in parts)
    assert "100 shots score 100" in explained and "300 s scores 100" in explained and "good from 70, fair from 40" in explained
    loss = html[html.index('<section id="loss">'):html.index('<section id="traces">')]
    every = report["settings"]["mlpLossEvery"]
    assert f"the LR&#x27;s every 100 iterations, the MLP&#x27;s every {every} (a point is one record)" in loss


def test_a_check_model_that_gives_nan_writes_json_and_the_page_says_so(tmp_path, capsys):
    """A 30 s synthetic session (2 shots) makes the held-out LR's probabilities NaN (issue 29 audit):
    report.json held a bare NaN, which is not JSON (other readers fail) and which `stingerml report`
    itself refused, and the page showed 'nan' without a word. Now: null in the file (as the
    browser's JSON.stringify writes), 'n/a' on the page with its definition, and `report` rebuilds
    the same page."""
    log, out = tmp_path / "s.bin", tmp_path / "out"
    assert main(["synth", "-o", str(log), "--seconds", "30", "--seed", "0", "--quiet"]) == 0
    with use_backend(fast_backend()):
        assert main(["train", str(log), "--out", str(out), "--quiet"]) == 0
    text = (out / "report.json").read_text(encoding="utf-8")

    def no_constant(name):
        raise AssertionError(f"report.json holds {name}, which JSON does not have")

    lr = json.loads(text, parse_constant=no_constant)["metrics"]["lr"]
    assert lr["trainLoss"] is None and lr["valLoss"] is None, "the case this test needs no longer gives NaN"
    page = (out / REPORT_HTML).read_text(encoding="utf-8")
    assert "<td>nan</td>" not in page and "<td>n/a</td>" in page
    assert "n/a: not a number" in page
    capsys.readouterr()
    assert main(["report", str(out), "-o", str(tmp_path / "again.html")]) == 0, capsys.readouterr().err
    assert (tmp_path / "again.html").read_text(encoding="utf-8") == page
