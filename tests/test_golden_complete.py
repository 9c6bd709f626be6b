"""Golden comparisons that leave no field out.

- Training on several sessions (:func:`stingerml.train_sessions`) against an
  oracle built here from the real browser's per-session output: its dataset
  rows of ``session_a`` then ``tiny`` (``browser/*.windows_i16le.bin`` and the
  labels in ``browser/*.json``) concatenated in session order, as the original
  Python tools concatenate rows. The multi-session rows must be exactly those
  bytes, the summary the browser's per-session summaries (and their sums), and
  the model files those of the single-dataset trainer (byte-identical to the
  browser on one session, test_pipeline.py) fed the oracle's rows. With numba
  on session_a then tiny; on the pure path (minutes per fit) on tiny twice.
- Every field of the browser's per-shot traces and report for session_a on
  both backends lives in test_pipeline.py / test_kernels.py; every export
  option's ``summary.json`` in test_export.py.
"""
from __future__ import annotations

import json
from array import array
from pathlib import Path
from typing import List, NamedTuple

import pytest
from conftest import use_backend

import stingerml
from stingerml.blaster.settings import TRAIN_PIPELINE
from stingerml.blaster.trainer import fit_windows

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
BROWSER = VECTORS / "browser"
SESSIONS = ["session_a", "tiny"]
SUMMARY_KEYS = ("samples", "durationMs", "shotsAll", "shotsAccepted", "posWindows", "negWindows", "rawPosCount")


def browser_rows(session: str):
    """The real browser's dataset rows of one session: int16 windows and 0/1 labels."""
    windows = array("h")
    windows.frombytes((BROWSER / f"{session}.windows_i16le.bin").read_bytes())
    labels = json.loads((BROWSER / f"{session}.json").read_text())["dataset"]["y"]
    assert len(windows) == 300 * len(labels)
    return windows, labels


def oracle_rows(sessions=SESSIONS):
    windows, labels = array("h"), []
    for session in sessions:
        w, y = browser_rows(session)
        windows += w
        labels += y
    return windows, labels


class Multi(NamedTuple):
    backend: str
    sessions: List[str]
    result: stingerml.TrainResult


@pytest.fixture(scope="module", params=[pytest.param("python", marks=pytest.mark.slow), "numba"])
def multi(request) -> Multi:
    """train_sessions with full browser iterations: on session_a then tiny with numba; with pure
    Python on tiny twice, the same multi-session flow on 80 rows instead of 330 (and both fits,
    ``multi`` and the oracle's, take seconds instead of minutes)."""
    sessions = SESSIONS if request.param == "numba" else ["tiny", "tiny"]
    with use_backend(request.param):
        return Multi(request.param, sessions, stingerml.train_sessions([VECTORS / "sessions" / f"{s}.bin" for s in sessions]))


def test_rows_are_the_browser_rows_of_each_session_concatenated():
    # No training needed: the dataset is built before any fit.
    from stingerml.blaster.sessions import build_sessions

    sd = build_sessions([stingerml.read_log(VECTORS / "sessions" / f"{s}.bin") for s in SESSIONS])
    windows, labels = oracle_rows()
    assert array("h", sd.windows).tobytes() == windows.tobytes()
    assert list(sd.labels) == labels
    first_rows = [0, len(browser_rows("session_a")[1])]
    assert [s.first_row for s in sd.sessions] == first_rows


def test_summary_is_the_browser_summaries(multi):
    refs = [json.loads((BROWSER / f"{s}.json").read_text())["summary"] for s in multi.sessions]
    summary = multi.result.summary
    sessions = summary["sessions"]
    assert [{k: e[k] for k in SUMMARY_KEYS} for e in sessions] == refs
    assert {k: summary[k] for k in SUMMARY_KEYS} == {k: sum(r[k] for r in refs) for k in SUMMARY_KEYS}
    assert [e["rows"] for e in sessions] == [len(browser_rows(s)[1]) for s in multi.sessions]


def test_models_are_those_of_the_oracle_rows(multi):
    windows, labels = oracle_rows(multi.sessions)
    r = multi.result
    assert array("h", r.dataset.windows).tobytes() == windows.tobytes()
    with use_backend(multi.backend):
        fitted = fit_windows(windows, labels)
    assert r.lr_blob == fitted.lr_blob
    assert r.mlp_blob == fitted.mlp_blob
    assert r.metrics == fitted.metrics
    assert r.mlp_loss_history == fitted.mlp_loss_history


def test_one_session_list_is_the_browser_run(vectors):
    # train_sessions([one log]) is the browser's run on that log, every reported field
    # (browser/ holds trainPipeline's own defaults: the TRAIN_PIPELINE preset).
    pytest.importorskip("numba")
    ref = json.loads((BROWSER / "tiny.json").read_text())
    with use_backend("numba"):
        r = stingerml.train_sessions([VECTORS / "sessions" / "tiny.bin"], settings=TRAIN_PIPELINE)
    assert r.lr_blob == (BROWSER / "tiny.lr.mlmd").read_bytes()
    assert r.mlp_blob == (BROWSER / "tiny.mlp.mlmd").read_bytes()
    assert r.metrics == ref["metrics"]
    assert (r.lr_loss_history, r.mlp_loss_history) == (ref["lrLossHistory"], ref["mlpLossHistory"])
    got = [{"trigI": t["trigger_index"], "t0": t["t0"], "xMs": t["x_ms"], "probsLR": t["p_lr"],
            "probsMLP": t["p_mlp"], "scoreLR": t["score_lr"], "scoreMLP": t["score_mlp"]} for t in r.shot_traces]
    assert got == ref["shotPlots"]
