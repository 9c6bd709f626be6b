"""report.html rendered by headless Chromium: the DOM it builds and a screenshot (skips when Chromium is missing,
except in CI, where it fails)."""
from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path
from typing import List, Tuple

import pytest
from test_report_html import SECTIONS, tiny_dir  # noqa: F401 (a fixture)

WIDTH, HEIGHT = 900, 2000
MLP_PINK = (0xE3, 0x77, 0xC2)
LR_CYAN = (0x17, 0xBE, 0xCF)


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
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
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


def test_dom_has_every_section_and_chart(report_dir, tmp_path):
    dom = run_chromium(tmp_path, report_dir / "report.html", "--dump-dom")
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
                 "--hide-scrollbars")
    width, height, rows, bpp = decode_png(shot.read_bytes())
    assert (width, height) == (WIDTH, HEIGHT)
    pixels = [tuple(r[i:i + 3]) for r in rows for i in range(0, len(r), bpp)]
    white = sum(1 for p in pixels if p == (255, 255, 255))
    assert pixels[0] == (255, 255, 255)  # white page for paper
    assert 0.02 < 1 - white / len(pixels) < 0.6  # drawn, not blank, not dark
    assert any(_near(p, MLP_PINK) for p in pixels) and any(_near(p, LR_CYAN) for p in pixels)


def test_missing_chromium_fails_in_ci(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(BaseException) as caught:  # a skip is an exception too: it must not be one
        chromium()
    assert isinstance(caught.value, pytest.fail.Exception), type(caught.value)
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception):
        chromium()
