"""The published app's settings are the default: vectors/browser_app/ (700 MLP iterations, loss every 8).

The old trainPipeline defaults (600 / 16, vectors/browser/) stay reachable as the
``train-pipeline`` preset; test_pipeline.py checks them byte for byte.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import use_backend

from stingerml.blaster.settings import APP, PRESETS, TRAIN_PIPELINE, TrainSettings, preset
from stingerml.blaster.trainer import train
from stingerml.cli import main


def app_reference(vectors: Path, case: str) -> dict:
    return json.loads((vectors / "browser_app" / f"{case}.json").read_text())


def browser_traces(result) -> list:
    """The result's traces under the browser's keys (only those stingerml computes)."""
    return [
        {"trigI": t["trigger_index"], "t0": t["t0"], "xMs": t["x_ms"], "probsLR": t["p_lr"],
         "probsMLP": t["p_mlp"], "scoreLR": t["score_lr"], "scoreMLP": t["score_mlp"]}
        for t in result.shot_traces
    ]


def reference_traces(ref: dict) -> list:
    keys = ("trigI", "t0", "xMs", "probsLR", "probsMLP", "scoreLR", "scoreMLP")
    return [{k: p[k] for k in keys} for p in ref["shotPlots"]]


def assert_equals_app(vectors: Path, case: str, r) -> None:
    """Files, summary, warnings, log lines, metrics, both loss histories and the kept traces."""
    ref = app_reference(vectors, case)
    assert r.lr_blob == (vectors / "browser_app" / f"{case}.lr.mlmd").read_bytes()
    assert r.mlp_blob == (vectors / "browser_app" / f"{case}.mlp.mlmd").read_bytes()
    assert r.lr_blob.hex() == ref["lr_blob_hex"] and r.mlp_blob.hex() == ref["mlp_blob_hex"]
    assert r.summary == ref["summary"]
    assert r.log_lines == ref["log"]
    assert r.metrics == ref["metrics"]
    assert r.lr_loss_history == ref["lrLossHistory"]
    assert r.mlp_loss_history == ref["mlpLossHistory"]
    assert browser_traces(r) == reference_traces(ref)


def test_reference_options_are_the_app_preset(vectors):
    for case in ("tiny", "session_a", "import_session_a+tiny", "import_tiny+session_a+tiny_junk"):
        opts = app_reference(vectors, case)["options"]
        assert (opts["mlpMaxIter"], opts["mlpSnapshotEvery"]) == (APP.mlp_iterations, APP.mlp_loss_every)


def test_presets():
    assert (APP.mlp_iterations, APP.mlp_loss_every, APP.lr_iterations) == (700, 8, 5000)
    assert (TRAIN_PIPELINE.mlp_iterations, TRAIN_PIPELINE.mlp_loss_every) == (600, 16)
    assert TrainSettings() == APP and APP.preset == "app" and TRAIN_PIPELINE.preset == "train-pipeline"
    assert TrainSettings(mlp_iterations=650).preset == "custom"
    assert preset("train-pipeline") is TRAIN_PIPELINE and set(PRESETS) == {"app", "train-pipeline"}
    assert TRAIN_PIPELINE.to_json() == {"preset": "train-pipeline", "mlpIterations": 600, "mlpLossEvery": 16,
                                        "lrIterations": 5000}
    with pytest.raises(ValueError, match="unknown settings preset"):
        preset("fast")
    for bad in (0, -3, 1.5, True):
        with pytest.raises(ValueError, match="mlp_loss_every"):
            TrainSettings(mlp_loss_every=bad)


@pytest.fixture(scope="module", params=["python", "numba"])
def tiny_app(vectors, request):
    with use_backend(request.param):
        return train(vectors / "sessions" / "tiny.bin")


def test_tiny_default_is_the_app(vectors, tiny_app):
    assert_equals_app(vectors, "tiny", tiny_app)
    assert tiny_app.warnings == app_reference(vectors, "tiny")["warnings"]
    assert len(tiny_app.mlp_loss_history) == 88
    assert tiny_app.settings == APP and tiny_app.report()["settings"]["preset"] == "app"


@pytest.mark.parametrize("backend", [pytest.param("python", marks=pytest.mark.slow), "numba"], indirect=True)
def test_session_a_default_is_the_app(vectors, backend):
    r = train(vectors / "sessions" / "session_a.bin")
    assert_equals_app(vectors, "session_a", r)
    assert r.warnings == app_reference(vectors, "session_a")["warnings"] == []


def test_cli_default_and_presets(vectors, tmp_path):
    tiny = str(vectors / "sessions" / "tiny.bin")
    runs = {"app": [], "old": ["--preset", "train-pipeline"], "flags": ["--mlp-iterations", "600", "--loss-every", "16"]}
    for name, extra in runs.items():
        assert main(["train", tiny, *extra, "--out", str(tmp_path / name), "--quiet"]) == 0
    assert (tmp_path / "app" / "ml_model_mlp.bin").read_bytes() == (vectors / "browser_app" / "tiny.mlp.mlmd").read_bytes()
    for name in ("old", "flags"):
        assert (tmp_path / name / "ml_model_mlp.bin").read_bytes() == (vectors / "browser" / "tiny.mlp.mlmd").read_bytes()
    settings = {n: json.loads((tmp_path / n / "report.json").read_text())["settings"] for n in runs}
    assert settings["app"] == {"preset": "app", "mlpIterations": 700, "mlpLossEvery": 8, "lrIterations": 5000}
    assert settings["old"] == settings["flags"] == TRAIN_PIPELINE.to_json()


def test_cli_rejects_bad_settings(vectors, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train", str(vectors / "sessions" / "tiny.bin"), "--loss-every", "0", "--out", str(tmp_path / "o")])
    assert exc.value.code == 2 and "expected a whole number >= 1" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_trace_scores_equal_the_apps(vectors):
    """Every kept trace of every app case; the app's tiny MLP trace tells ``a(1-f)+bf`` from ``a+(b-a)f``."""
    from stingerml.learn.metrics import trace_score

    for case in ("tiny", "session_a", "import_session_a+tiny", "import_tiny+session_a+tiny_junk"):
        for plot in app_reference(vectors, case)["shotPlots"]:
            assert trace_score(plot["xMs"], plot["probsLR"]) == plot["scoreLR"]
            assert trace_score(plot["xMs"], plot["probsMLP"]) == plot["scoreMLP"]


@pytest.mark.parametrize("loss_every", [1, 3, 8, 16, 40])
def test_loss_cadence_same_on_both_backends(loss_every):
    """Every ``loss_every`` iterations and at the last, the pure and numba kernels record the same losses."""
    from array import array

    from stingerml._kernels import pure

    X = array("f", [((i * 37) % 23 - 11) / 7 for i in range(12 * 5)])
    y = [i % 2 for i in range(12)]
    want = pure.mlp_fit(X, y, 12, 5, 30, 1e-3, 0.02, 42, 0.0, True, loss_every=loss_every)
    assert [h["iter"] for h in want[6]] == sorted({*range(loss_every, 31, loss_every), 30})
    jit = pytest.importorskip("stingerml._kernels.jit")
    got = jit.mlp_fit(X, y, 12, 5, 30, 1e-3, 0.02, 42, 0.0, True, loss_every=loss_every)
    assert got[6] == want[6] and [list(a) for a in got[:5]] == [list(a) for a in want[:5]] and got[5] == want[5]
