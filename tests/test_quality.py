"""The app's data-quality score (SPEC §14) against a literal port written here, Node.js and hand-checked values."""
from __future__ import annotations

import json
import math
import shutil
import subprocess

import pytest
from test_app_settings import app_reference

from stingerml.blaster.quality import data_quality

CASES = ("tiny", "session_a", "import_session_a+tiny", "import_tiny+session_a+tiny_junk")

# The app's formula as SPEC §14 writes it, in JavaScript (run by Node.js when installed).
APP_JS = r"""
const summaries = JSON.parse(require('fs').readFileSync(0, 'utf8'));
console.log(JSON.stringify(summaries.map((summary) => {
  const raw = summary.rawPosCount ?? summary.shotsAccepted;
  const rec = summary.durationMs / 1000;
  const ratio = summary.negWindows / Math.max(1, summary.posWindows);
  const shot = Math.min(100, Math.round(raw / 100 * 100));
  const time = Math.min(100, Math.round(rec / 300 * 100));
  const neg = Math.min(100, Math.round(Math.min(ratio, 1) * 100));
  const overall = Math.round((shot + time + neg) / 3);
  const tier = overall >= 70 ? 'Good' : overall >= 40 ? 'Fair' : 'Needs more data';
  return {overall, tier, shots: {score: shot, tip: `${raw} shots (aim for 100+)`},
          duration: {score: time, tip: `${rec.toFixed(0)}s (aim for 5+ min)`},
          negatives: {score: neg, tip: `${ratio.toFixed(1)}:1 neg/pos ratio (aim for 1:1+)`}};
})));
"""


def js_round(x: float) -> int:
    return math.floor(x + 0.5)


def port(summary: dict) -> tuple:
    """Literal port of the scores (the tips are checked against Node.js and by hand)."""
    raw = summary.get("rawPosCount")
    if raw is None:
        raw = summary["shotsAccepted"]
    rec = summary["durationMs"] / 1000
    shot = min(100, js_round(raw / 100 * 100))
    time = min(100, js_round(rec / 300 * 100))
    neg = min(100, js_round(min(summary["negWindows"] / max(1, summary["posWindows"]), 1) * 100))
    overall = js_round((shot + time + neg) / 3)
    tier = "Good" if overall >= 70 else "Fair" if overall >= 40 else "Needs more data"
    return overall, tier, shot, time, neg


def scores(q: dict) -> tuple:
    return q["overall"], q["tier"], q["shots"]["score"], q["duration"]["score"], q["negatives"]["score"]


def summary(raw=29, duration_ms=300_000, pos=10, neg=10, accepted=None) -> dict:
    s = {"durationMs": duration_ms, "posWindows": pos, "negWindows": neg, "shotsAccepted": accepted or raw,
         "rawPosCount": raw}
    return s


# hand-checked: (raw, durationMs, pos, neg) -> overall, tier, shots, duration, negatives, tips
HAND = [
    # tiny: 4 shots; 45.752 s -> 15.25 -> 15; 20/20 -> 100; (4+15+100)/3 = 39.67 -> 40
    ((4, 45752, 20, 20), (40, "Fair", 4, 15, 100), ("4 shots (aim for 100+)", "46s (aim for 5+ min)",
                                                    "1.0:1 neg/pos ratio (aim for 1:1+)")),
    # session_a: 29; 413.144 s -> 137.7 -> 100; 100; 229/3 = 76.33 -> 76
    ((29, 413144, 145, 145), (76, "Good", 29, 100, 100), ("29 shots (aim for 100+)", "413s (aim for 5+ min)",
                                                          "1.0:1 neg/pos ratio (aim for 1:1+)")),
    # import session_a+tiny: the joined clock spans 90.453 s -> 30.151 -> 30; 159/3 = 53
    ((29, 90453, 145, 145), (53, "Fair", 29, 30, 100), ("29 shots (aim for 100+)", "90s (aim for 5+ min)",
                                                        "1.0:1 neg/pos ratio (aim for 1:1+)")),
    # half up where Python's round would go down: 1/8 = 0.125 -> 12.5 -> 13 (round() gives 12);
    # 150 s -> 50; 10 shots; (10+50+13)/3 = 24.33 -> 24
    ((10, 150_000, 8, 1), (24, "Needs more data", 10, 50, 13), ("10 shots (aim for 100+)", "150s (aim for 5+ min)",
                                                                 "0.1:1 neg/pos ratio (aim for 1:1+)")),
    # 3 shots, 0 s, 3:1 ratio (capped at 100): (3+0+100)/3 = 34.33 -> 34; 0.5 s -> toFixed(0) "1"
    ((3, 500, 2, 6), (34, "Needs more data", 3, 0, 100), ("3 shots (aim for 100+)", "1s (aim for 5+ min)",
                                                         "3.0:1 neg/pos ratio (aim for 1:1+)")),
    # overall exactly 70 and 40: tier boundaries
    ((70, 210_000, 10, 7), (70, "Good", 70, 70, 70), ("70 shots (aim for 100+)", "210s (aim for 5+ min)",
                                                      "0.7:1 neg/pos ratio (aim for 1:1+)")),
    ((40, 120_000, 10, 4), (40, "Fair", 40, 40, 40), ("40 shots (aim for 100+)", "120s (aim for 5+ min)",
                                                      "0.4:1 neg/pos ratio (aim for 1:1+)")),
    ((250, 900_000, 0, 12), (100, "Good", 100, 100, 100), ("250 shots (aim for 100+)", "900s (aim for 5+ min)",
                                                           "12.0:1 neg/pos ratio (aim for 1:1+)")),
]


@pytest.mark.parametrize("args, want, tips", HAND)
def test_hand_checked(args, want, tips):
    q = data_quality(summary(*args))
    assert scores(q) == want == port(summary(*args))
    assert (q["shots"]["tip"], q["duration"]["tip"], q["negatives"]["tip"]) == tips


def test_half_up_differs_from_pythons_round():
    assert round(12.5) == 12 and data_quality(summary(10, 150_000, 8, 1))["negatives"]["score"] == 13


@pytest.mark.parametrize("case", CASES)
def test_app_cases_equal_the_port(vectors, case):
    s = app_reference(vectors, case)["summary"]
    assert scores(data_quality(s)) == port(s)


def test_raw_falls_back_to_accepted_shots_and_no_duration_is_none():
    s = summary(raw=None, accepted=12)
    assert data_quality(s)["shots"] == {"score": 12, "tip": "12 shots (aim for 100+)"}
    assert data_quality({"posWindows": 4, "negWindows": 4, "shotsAccepted": 4}) is None


def test_equals_nodejs(vectors):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node not installed")
    summaries = [app_reference(vectors, c)["summary"] for c in CASES] + [summary(*a) for a, _, _ in HAND]
    summaries.append(summary(raw=None, accepted=12))
    out = subprocess.run([node, "-e", APP_JS], input=json.dumps(summaries), capture_output=True, text=True, check=True)
    assert [data_quality(s) for s in summaries] == json.loads(out.stdout)


def test_result_report_and_cli_carry_the_score(vectors, tmp_path, capsys):
    from stingerml.cli import main

    out = tmp_path / "o"
    # not --quiet: the data-quality line is a summary line, which --quiet silences (docs/cli.md)
    assert main(["train", str(vectors / "sessions" / "tiny.bin"), "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert scores(report["quality"]) == (40, "Fair", 4, 15, 100)
    assert ("data quality: 40/100 (Fair) - 4 shots (aim for 100+); 46s (aim for 5+ min); "
            "1.0:1 neg/pos ratio (aim for 1:1+)") in capsys.readouterr().out
