"""The browser trainer's flow against the real browser's outputs (vectors/browser/)."""
from __future__ import annotations

import json
from array import array
from pathlib import Path

import pytest
from conftest import BACKENDS, trained, use_backend

from stingerml.blaster.dataset import build_dataset
from stingerml.blaster.features import featurize_rich, featurize_summary
from stingerml.blaster.log import from_columns, parse_log
from stingerml.blaster.logreg import LogisticRegression
from stingerml.blaster.mlp import MLP
from stingerml.blaster.settings import TRAIN_PIPELINE
from stingerml.blaster.trainer import train
from stingerml.core.errors import DatasetError
from stingerml.core.matrix import Matrix
from stingerml.formats import mlmd
from stingerml.learn.scaler import Scaler

SESSIONS = ("tiny", "session_a")


def _reference(vectors: Path, session: str) -> dict:
    return json.loads((vectors / "browser" / f"{session}.json").read_text())


def _log(vectors: Path, session: str):
    return parse_log(vectors / "sessions" / f"{session}.bin")


def _f32(values) -> list:
    """Reference features are float32 values printed as doubles: compare as float32."""
    return list(array("f", values))


@pytest.mark.parametrize("session", SESSIONS)
def test_dataset_equals_browser(vectors, session, backend):
    ref = _reference(vectors, session)
    ds = build_dataset(_log(vectors, session))
    assert ds.edges == ref["risingAll"]
    assert ds.accepted == ref["accepted"]
    d = ref["dataset"]
    assert (ds.pos_count, ds.neg_count, ds.raw_pos_count) == (d["posCount"], d["negCount"], d["rawPosCount"])
    assert ds.lead_samples == d["leadSamples"]
    assert ds.dt_est_ms == d["dtEstMs"]
    assert list(ds.labels) == d["y"]
    assert ds.windows.tobytes() == (vectors / "browser" / f"{session}.windows_i16le.bin").read_bytes()
    assert list(ds.windows[:900]) == d["X_i16_first3"]


@pytest.mark.parametrize("session", SESSIONS)
def test_features_equal_browser(vectors, session, backend):
    ref = _reference(vectors, session)
    ds = build_dataset(_log(vectors, session))
    assert list(featurize_summary(ds.windows, len(ds))) == _f32(ref["features_summary"])
    assert list(featurize_rich(ds.windows, len(ds))) == _f32(ref["features_rich"])


@pytest.mark.parametrize("session", SESSIONS)
def test_lr_file_byte_identical(vectors, session, backend):
    ref = _reference(vectors, session)
    ds = build_dataset(_log(vectors, session))
    fs = featurize_summary(ds.windows, len(ds))
    X = Matrix(fs, 18)
    scaler = Scaler().fit(X)
    lr = LogisticRegression().fit(scaler.transform(X), ds.labels)
    blob = mlmd.build(lr.to_model(scaler))
    assert blob == (vectors / "browser" / f"{session}.lr.mlmd").read_bytes()
    assert lr.loss_history_ == ref["lrLossHistory"]


# numba only: on the pure backend this fit is test_session_a_whole_pipeline's final MLP (the same
# MLP(max_iter=600, record_loss=True) on the same scaled rows), checked there against the same file and history.
@pytest.mark.parametrize("backend", ["numba"], indirect=True)
def test_session_a_mlp_file_byte_identical(vectors, backend):
    ref = _reference(vectors, "session_a")
    ds = build_dataset(_log(vectors, "session_a"))
    fr = featurize_rich(ds.windows, len(ds))
    X = Matrix(fr, 30)
    scaler = Scaler().fit(X)
    net = MLP(max_iter=600, record_loss=True).fit(scaler.transform(X), ds.labels)
    assert mlmd.build(net.to_model(scaler)) == (vectors / "browser" / "session_a.mlp.mlmd").read_bytes()
    assert net.loss_history_ == ref["mlpLossHistory"]


@pytest.fixture(scope="module", params=BACKENDS)
def tiny_result(vectors, request):
    with use_backend(request.param):
        return train(vectors / "sessions" / "tiny.bin", settings=TRAIN_PIPELINE)


def test_tiny_model_files_byte_identical(vectors, tiny_result):
    assert tiny_result.lr_blob == (vectors / "browser" / "tiny.lr.mlmd").read_bytes()
    assert tiny_result.mlp_blob == (vectors / "browser" / "tiny.mlp.mlmd").read_bytes()


def test_tiny_summary_warnings_log(vectors, tiny_result):
    ref = _reference(vectors, "tiny")
    assert tiny_result.summary == ref["summary"]
    assert tiny_result.warnings == ref["warnings"]
    assert tiny_result.log_lines == ref["log"]


def test_tiny_metrics_and_histories(vectors, tiny_result):
    ref = _reference(vectors, "tiny")
    assert tiny_result.metrics == ref["metrics"]
    assert tiny_result.lr_loss_history == ref["lrLossHistory"]
    assert tiny_result.mlp_loss_history == ref["mlpLossHistory"]


def test_tiny_shot_traces(vectors, tiny_result):
    ref = _reference(vectors, "tiny")["shotPlots"]
    got = [
        {"trigI": t["trigger_index"], "t0": t["t0"], "xMs": t["x_ms"], "probsLR": t["p_lr"],
         "probsMLP": t["p_mlp"], "scoreLR": t["score_lr"], "scoreMLP": t["score_mlp"]}
        for t in tiny_result.shot_traces
    ]
    assert got == ref


def test_report_json_round_trips_reference_numbers(vectors, tiny_result, tmp_path):
    paths = tiny_result.save(tmp_path / "out")
    report = json.loads(paths["report.json"].read_text())
    ref = _reference(vectors, "tiny")
    assert set(report) == {"logs", "settings", "quality", "summary", "warnings", "metrics", "lr_loss_history", "mlp_loss_history", "shot_traces"}
    assert report["metrics"] == ref["metrics"]
    assert report["mlp_loss_history"] == ref["mlpLossHistory"]
    assert paths["ml_model_mlp.bin"].read_bytes() == (vectors / "browser" / "tiny.mlp.mlmd").read_bytes()


@pytest.mark.parametrize("backend", [pytest.param("python", marks=pytest.mark.slow), "numba"], indirect=True)
def test_session_a_whole_pipeline(vectors, backend):
    ref = _reference(vectors, "session_a")
    r = trained((vectors / "sessions" / "session_a.bin").read_bytes(), TRAIN_PIPELINE)  # shared with test_device_client
    assert r.lr_blob == (vectors / "browser" / "session_a.lr.mlmd").read_bytes()
    assert r.mlp_blob == (vectors / "browser" / "session_a.mlp.mlmd").read_bytes()
    assert (r.summary, r.warnings, r.log_lines) == (ref["summary"], ref["warnings"], ref["log"])
    assert r.metrics == ref["metrics"]
    assert (r.lr_loss_history, r.mlp_loss_history) == (ref["lrLossHistory"], ref["mlpLossHistory"])
    got = [
        {"trigI": t["trigger_index"], "t0": t["t0"], "xMs": t["x_ms"], "probsLR": t["p_lr"],
         "probsMLP": t["p_mlp"], "scoreLR": t["score_lr"], "scoreMLP": t["score_mlp"]}
        for t in r.shot_traces
    ]
    assert got == ref["shotPlots"]  # every field of the kept traces, on both backends


# --- bad input ---------------------------------------------------------------


def _session(n: int, shots=(), period_ms: int = 10):
    """A still log of ``n`` samples with 3-sample trigger pulls at the given sample indices."""
    trig = [0] * n
    for s in shots:
        trig[s : s + 3] = [1, 1, 1]
    chans = [[0] * n, [0] * n, [4096] * n, [(i * 7) % 200 - 100 for i in range(n)], [0] * n, [0] * n]
    return from_columns([i * period_ms for i in range(n)], chans, trig)


def test_fewer_than_two_shots_is_an_error():
    with pytest.raises(DatasetError, match="1 accepted shot"):
        train(_session(3000, shots=[1000]))


def test_shots_too_close_count_once():
    with pytest.raises(DatasetError, match=r"1 accepted shot\(s\) \(of 2 rising edges\)"):
        train(_session(3000, shots=[1000, 1050]))


def test_no_possible_negatives_is_an_error():
    # a shot every 1.2 s: every window is within 600 ms before or 1000 ms after a pull
    with pytest.raises(DatasetError, match="no negative windows"):
        train(_session(1200, shots=list(range(100, 1200, 120))))


def test_no_positive_window_is_an_error():
    # two accepted shots (100 ms sampling) both too early for a 50-sample window ending 10 samples before
    with pytest.raises(DatasetError, match="no positive windows"):
        train(_session(3000, shots=[20, 45], period_ms=100))
