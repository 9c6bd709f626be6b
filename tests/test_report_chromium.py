"""report.html rendered by headless Chromium: the laid-out page measured against the issue-24 rules
(charts at least 560 px wide, no two text boxes overlapping, legends inside their plot, both ends of
every axis labelled, colours apart for colour-blind readers, text legible at 1280 px), the DOM it
builds and a screenshot (skips when Chromium is missing, except in CI, where it fails).

The page itself has no script: the test renders a copy with a script appended that writes the
boxes Chromium laid out into the DOM as JSON, and reads them from ``--dump-dom``.
"""
from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import struct
import subprocess
import zlib
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import pytest
from colour_vision import delta_e2000, worst_difference
from test_report_html import SECTIONS, tiny_dir  # noqa: F401 (a fixture)

WIDTH, HEIGHT = 900, 2000
MLP_ORANGE = (0xE6, 0x9F, 0x00)
LR_INDIGO = (0x33, 0x22, 0x88)

# The rules of issue 24 (group 6), in CSS px; not read from the code under test.
CHART_MIN_PX = 560  # "loss charts full width or two at >= 560 px"; no chart narrower
SERIES_MIN_DE = 10.0  # two series of one chart: CIEDE2000 apart under normal and dichromat vision
BACKGROUND_MIN_DE = 20.0  # a series against the white page and the shaded band
LEGIBLE_PX = 11.0  # the box of a line of text at 1280 px: at least a 10 px font
END_TICK_PX = 4.0  # an end tick label is centred within this of its axis end
TOUCH_PX = 0.5  # boxes may touch by this much without overlapping

LAYOUT_SCRIPT = """<script>
(() => {
  const box = e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const body = getComputedStyle(document.body);
  const out = {
    viewport: innerWidth, scrollWidth: document.documentElement.scrollWidth,
    content: document.body.clientWidth - parseFloat(body.paddingLeft) - parseFloat(body.paddingRight),
    blocks: [...document.querySelectorAll('h1, h2, h3, p, table, ul, figure')].map(e => ({tag: e.tagName, box: box(e)})),
    figures: [...document.querySelectorAll('figure.chart')].map(f => ({
      kind: f.dataset.chart, box: box(f),
      frames: [...f.querySelectorAll('rect.frame')].map(box),
      texts: [...f.querySelectorAll('text')].map(t => ({
        text: t.textContent, cls: t.getAttribute('class') || '', box: box(t), rotated: t.hasAttribute('transform')})),
      legends: [...f.querySelectorAll('g.legend')].map(g => ({box: box(g), items: [...g.querySelectorAll('text')].map(
        t => ({label: t.textContent, fill: getComputedStyle(t.previousElementSibling).fill}))})),
      series: [...f.querySelectorAll('polyline[data-series]')].map(p => ({name: p.dataset.series, stroke: getComputedStyle(p).stroke})),
      bands: [...f.querySelectorAll('rect.band')].map(r => ({fill: getComputedStyle(r).fill, opacity: parseFloat(getComputedStyle(r).fillOpacity)})),
    })),
  };
  const pre = document.createElement('pre');
  pre.id = 'layout';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>"""


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("CI", "").lower() == "true":  # CI installs it (.ci/run): a skip there would be green unchecked
        pytest.fail("no chromium binary in CI (CI=true): .ci/run installs it (apt-get update && apt-get install chromium)")
    pytest.skip("no chromium binary (Debian: apt-get install chromium)")


def run_chromium(tmp_path: Path, page: Path, *args: str) -> str:
    profile = tmp_path / "profile"
    cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
           *args, page.resolve().as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


class DomSummary(HTMLParser):
    """Section ids, chart figures and, per inline SVG, its polylines' data-series, from a DOM dump."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: List[str] = []
        self.charts: List[str] = []
        self.svg_series: List[List[str]] = []
        self.text: List[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        a = dict(attrs)
        if tag == "section":
            self.sections.append(a.get("id"))
        elif tag == "figure":
            self.charts.append(a.get("data-chart"))
        elif tag == "svg":
            self.svg_series.append([])
        elif tag == "polyline":
            self.svg_series[-1].append(a.get("data-series"))

    def handle_data(self, data) -> None:
        self.text.append(data)


def decode_png(data: bytes) -> Tuple[int, int, List[bytes], int]:
    """``(width, height, rows, bytes per pixel)`` of an 8-bit RGB/RGBA, non-interlaced PNG (stdlib only)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and color in (2, 6) and interlace == 0
            bpp = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, rows, bpp


@pytest.fixture(scope="module")
def report_dir(tiny_dir):
    """``stingerml train tiny.bin --out DIR``'s folder (shared with test_report_html)."""
    return tiny_dir


def laid_out(tmp_path: Path, html: str, width: int) -> Tuple[str, Dict]:
    """``(DOM, boxes)``: the page rendered in a ``width`` px window; boxes as LAYOUT_SCRIPT writes them."""
    page = tmp_path / "page.html"
    page.write_text(html.replace("</body>", LAYOUT_SCRIPT + "</body>"), encoding="utf-8")
    dom = run_chromium(tmp_path, page, "--dump-dom", f"--window-size={width},1000", "--hide-scrollbars")
    found = re.search(r'<pre id="layout">(.*?)</pre>', dom, re.S)
    assert found, "the layout script wrote nothing"
    boxes = json.loads(unescape(found.group(1)))
    assert boxes["viewport"] == width
    return dom, boxes


@pytest.fixture(scope="module")
def tiny_1280(report_dir, tmp_path_factory):
    """The tiny report laid out at 1280 px (the issue's width)."""
    return laid_out(tmp_path_factory.mktemp("c1280"), (report_dir / "report.html").read_text(encoding="utf-8"), 1280)


@pytest.fixture(scope="module")
def hard_700(report_dir, vectors, tmp_path_factory):
    """A harder page at 700 px: tiny's report over a log at full scale (6-character tick labels),
    with a ``--concat`` import of long file names and a per-session table."""
    from stingerml.blaster.log import from_columns, read_log
    from stingerml.blaster.report_html import render

    report = json.loads((report_dir / "report.json").read_text())
    log = read_log(vectors / "sessions" / "tiny.bin")
    full = [[(-32768 if (i // (7 + c)) % 2 else 32767) for i in range(len(log))] for c in range(6)]
    loud = from_columns(log.timestamp_ms, full, log.trigger, source=log.source)
    names = [f"/home/someone/recordings/2026-12-0{k}/a_rather_long_session_name_{k}.bin" for k in (1, 2, 3)]
    report["import"] = {"files": names[:2], "skipped": names[2:], "samples": [4000, 30000], "spansMs": [45752, 413144]}
    report["summary"]["sessions"] = [dict(report["summary"], name=n) for n in names[:2]]
    html = render(report, {"": loud})
    return laid_out(tmp_path_factory.mktemp("c700"), html, 700)


def _overlap(a: Sequence[float], b: Sequence[float]) -> bool:
    return min(a[2], b[2]) - max(a[0], b[0]) > TOUCH_PX and min(a[3], b[3]) - max(a[1], b[1]) > TOUCH_PX


def _inside(inner: Sequence[float], outer: Sequence[float]) -> bool:
    return (inner[0] >= outer[0] - TOUCH_PX and inner[1] >= outer[1] - TOUCH_PX
            and inner[2] <= outer[2] + TOUCH_PX and inner[3] <= outer[3] + TOUCH_PX)


def _rgb(css: str) -> Tuple[int, int, int]:
    r, g, b = (int(v) for v in re.findall(r"\d+", css)[:3])
    return r, g, b


def check_layout(boxes: Dict) -> None:
    """The issue's layout rules on the measured boxes (every failure names the chart and the text)."""
    figures = boxes["figures"]
    assert figures and boxes["scrollWidth"] <= boxes["viewport"], "the page is wider than the window"
    content = boxes["content"]
    for k, f in enumerate(figures):
        width = f["box"][2] - f["box"][0]
        assert width >= CHART_MIN_PX, f"chart {k} ({f['kind']}) is {width:.0f} px wide"
        if f["kind"] != "loss":
            assert width >= content - TOUCH_PX, f"chart {k} ({f['kind']}) is {width:.0f} px of {content:.0f}"
    loss = [f["box"] for f in figures if f["kind"] == "loss"]
    assert len(loss) == 2
    side_by_side = abs(loss[0][1] - loss[1][1]) < 1
    assert side_by_side or all(b[2] - b[0] >= content - TOUCH_PX for b in loss), "loss charts: neither full width nor two"
    # no two boxes of text overlap: the page's blocks, then every text of every chart
    blocks = [b for b in boxes["blocks"] if b["tag"] != "FIGURE"] + [b for b in boxes["blocks"] if b["tag"] == "FIGURE"]
    for a, b in itertools.combinations(blocks, 2):
        assert not _overlap(a["box"], b["box"]), f"{a['tag']} {a['box']} overlaps {b['tag']} {b['box']}"
    texts = [(k, t) for k, f in enumerate(figures) for t in f["texts"] if t["text"].strip()]
    for (ka, a), (kb, b) in itertools.combinations(texts, 2):
        assert not _overlap(a["box"], b["box"]), f"chart {ka} {a['text']!r} {a['box']} overlaps chart {kb} {b['text']!r} {b['box']}"
    for k, f in enumerate(figures):
        assert f["legends"], f"chart {k} has no legend"
        for legend in f["legends"]:
            assert any(_inside(legend["box"], fr) for fr in f["frames"]), f"chart {k}: legend {legend['box']} outside its plot"
        ticks = [t["box"] for t in f["texts"] if t["cls"] == "tick"]
        for fr in f["frames"]:  # y: labels left of the frame at its top and bottom
            ys = [(b[1] + b[3]) / 2 for b in ticks if b[2] <= fr[0] + TOUCH_PX and fr[1] - 10 <= (b[1] + b[3]) / 2 <= fr[3] + 10]
            for end in (fr[1], fr[3]):
                assert any(abs(y - end) <= END_TICK_PX for y in ys), f"chart {k}: no y label at {end:.0f} ({ys})"
        lowest = max(f["frames"], key=lambda fr: fr[3])  # x: labels below the lowest frame at its left and right
        xs = [(b[0] + b[2]) / 2 for b in ticks if lowest[3] <= b[1] <= lowest[3] + 20]
        for end in (lowest[0], lowest[2]):
            assert any(abs(x - end) <= END_TICK_PX for x in xs), f"chart {k}: no x label at {end:.0f} ({xs})"


def check_colours(boxes: Dict) -> None:
    """One colour per series on the page; the series of a chart apart from each other and from the
    white page and the shaded band, for normal vision and the three dichromacies; legend swatches
    in their series' colours."""
    colour: Dict[str, Tuple[int, int, int]] = {}
    for k, f in enumerate(boxes["figures"]):
        drawn = {s["name"]: _rgb(s["stroke"]) for s in f["series"]}
        for name, rgb in drawn.items():
            assert colour.setdefault(name, rgb) == rgb, f"series {name} has two colours"
        backgrounds = [(255, 255, 255)] + [
            tuple(round(b["opacity"] * c + (1 - b["opacity"]) * 255) for c in _rgb(b["fill"])) for b in f["bands"]]
        for (na, a), (nb, b) in itertools.combinations(drawn.items(), 2):
            de, vision = worst_difference(a, b)
            assert de >= SERIES_MIN_DE, f"chart {k}: {na} and {nb} are {de:.1f} apart ({vision})"
        for name, rgb in drawn.items():
            for bg in backgrounds:
                de, vision = worst_difference(rgb, bg)
                assert de >= BACKGROUND_MIN_DE, f"chart {k}: {name} is {de:.1f} from background {bg} ({vision})"
        for legend in f["legends"]:
            for item in legend["items"]:
                name = item["label"].split(",")[0].lower()
                assert drawn[name] == _rgb(item["fill"]), f"chart {k}: legend {item['label']!r} not in its series' colour"


def test_layout_at_1280_px(tiny_1280):
    _, boxes = tiny_1280
    check_layout(boxes)
    check_colours(boxes)
    loss = [f["box"] for f in boxes["figures"] if f["kind"] == "loss"]
    assert abs(loss[0][1] - loss[1][1]) < 1, "at 1280 px the two loss charts share a row"
    for k, f in enumerate(boxes["figures"]):
        for t in f["texts"]:
            if t["text"].strip() and not t["rotated"]:
                assert t["box"][3] - t["box"][1] >= LEGIBLE_PX, f"chart {k}: {t['text']!r} is {t['box'][3] - t['box'][1]:.1f} px tall"


def test_layout_of_a_harder_page_at_700_px(hard_700):
    dom, boxes = hard_700
    check_layout(boxes)
    check_colours(boxes)
    assert "a_rather_long_session_name_3.bin (a size that is not a whole number" in dom


def test_dom_has_every_section_and_chart(report_dir, tiny_1280):
    dom, _ = tiny_1280
    report = json.loads((report_dir / "report.json").read_text())
    parsed = DomSummary()
    parsed.feed(dom)
    assert parsed.sections == list(SECTIONS)
    n = len(report["shot_traces"])
    assert n >= 1 and parsed.charts == ["loss", "loss"] + ["trace"] * n
    assert len(parsed.svg_series) == 2 + n
    assert parsed.svg_series[:2] == [["lr"], ["mlp"]]
    for series in parsed.svg_series[2:]:
        assert series == ["lr", "mlp", "ax", "ay", "az", "gx", "gy", "gz"]
    text = " ".join(parsed.text)
    assert "40/100" in text and "Held-out metrics" in text and "Per-shot predictions" in text


def _near(px: Tuple[int, int, int], color: Tuple[int, int, int], tol: int = 12) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(px, color))


def test_screenshot_is_not_blank(report_dir, tmp_path):
    shot = tmp_path / "shot.png"
    run_chromium(tmp_path, report_dir / "report.html", f"--screenshot={shot}", f"--window-size={WIDTH},{HEIGHT}",
                 "--hide-scrollbars", "--force-device-scale-factor=0.5")  # a quarter of the pixels to decode
    width, height, rows, bpp = decode_png(shot.read_bytes())
    assert (width, height) == (WIDTH // 2, HEIGHT // 2)
    pixels = [tuple(r[i:i + 3]) for r in rows for i in range(0, len(r), bpp)]
    white = sum(1 for p in pixels if p == (255, 255, 255))
    assert pixels[0] == (255, 255, 255)  # white page for paper
    assert 0.02 < 1 - white / len(pixels) < 0.6  # drawn, not blank, not dark
    assert any(_near(p, MLP_ORANGE) for p in pixels) and any(_near(p, LR_INDIGO) for p in pixels)


SHARMA_2005 = [  # CIEDE2000 test pairs (Sharma, Wu & Dalal 2005, table 1): Lab, Lab, difference
    ((50, 2.6772, -79.7751), (50, 0, -82.7485), 2.0425),
    ((50, 0, 0), (50, -1, 2), 2.3669),
    ((50, 2.5, 0), (50, 0, -2.5), 4.3065),
    ((50, 2.5, 0), (73, 25, -18), 27.1492),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ((22.7233, 20.0904, -46.694), (23.0331, 14.973, -42.5619), 2.0373),
]


@pytest.mark.parametrize("lab1, lab2, expected", SHARMA_2005)
def test_colour_difference_oracle(lab1, lab2, expected):
    assert delta_e2000(lab1, lab2) == pytest.approx(expected, abs=1e-4)


def test_the_colour_check_can_fail():
    """Red against green (the old accepted/rejected markers) and blue against purple (the old ax/gy)
    fall under the bar for deuteranopes and protanopes."""
    de, vision = worst_difference((0xD6, 0x27, 0x28), (0x2C, 0xA0, 0x2C))
    assert de < SERIES_MIN_DE and vision == "deuteranopia"
    de, vision = worst_difference((0x1F, 0x77, 0xB4), (0x94, 0x67, 0xBD))
    assert de < SERIES_MIN_DE and vision == "protanopia"
    assert worst_difference((0, 0, 0), (255, 255, 255))[0] > 99


def test_missing_chromium_fails_in_ci(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(BaseException) as caught:  # a skip is an exception too: it must not be one
        chromium()
    assert isinstance(caught.value, pytest.fail.Exception), type(caught.value)
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception):
        chromium()
