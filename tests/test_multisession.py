"""Training from several logs at once and from a training folder; the train CLI.

Iteration counts are cut (module constants patched) so the pure-Python MLP stays
fast; the single-log path at full iterations is checked against the real browser
in test_pipeline.py.
"""
from __future__ import annotations

import json
import math
import struct
from array import array

import pytest

from stingerml.blaster import holdout
from stingerml.blaster import trainer as pipeline
from stingerml.blaster.dataset import DatasetParams, build_dataset
from stingerml.blaster.features import featurize_summary
from stingerml.blaster.folder_dataset import ExportParams, export_dataset
from stingerml.blaster.log import parse_log, write_log
from stingerml.blaster.sessions import build_sessions
from stingerml.blaster.settings import TrainSettings
from stingerml.blaster.synth import generate
from stingerml.blaster.trainer import OutputError, train, train_folder, train_sessions
from stingerml.blaster.trainfolder import write as write_folder
from stingerml.cli import main
from stingerml.core.errors import DatasetError
from stingerml.core.matrix import Matrix
from stingerml.formats import mlmd
from stingerml.learn.scaler import Scaler

SUMMARY_KEYS = ("samples", "durationMs", "shotsAll", "shotsAccepted", "posWindows", "negWindows", "rawPosCount")


@pytest.fixture(scope="module", autouse=True)
def short_training():
    """Few iterations everywhere: seconds instead of minutes on the pure backend."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pipeline, "DEFAULT_SETTINGS", TrainSettings(lr_iterations=150, mlp_iterations=12))
        mp.setattr(holdout, "LR_ITERATIONS", 80)
        mp.setattr(holdout, "MLP_ITERATIONS", 6)
        yield


@pytest.fixture(scope="module")
def logs():
    return [generate(40, 1), generate(40, 2)]


@pytest.fixture(scope="module")
def multi(logs):
    return train(logs)


def _finite_model(blob: bytes, kind: type) -> None:
    """A valid MLMD file of ``kind`` whose payload floats (read with struct) are all finite."""
    assert isinstance(mlmd.parse(blob), kind)
    payload = blob[mlmd.HEADER_SIZE :]
    values = struct.unpack(f"<{len(payload) // 4}f", payload)
    assert values and all(math.isfinite(v) for v in values)


# --- the concatenated dataset ----------------------------------------------------------------------


def test_rows_are_the_per_session_datasets_concatenated(logs):
    sd = build_sessions(logs)
    parts = [build_dataset(log) for log in logs]
    assert len(sd) == sum(len(p) for p in parts) == 90
    assert sd.windows == parts[0].windows + parts[1].windows
    assert sd.labels == parts[0].labels + parts[1].labels
    assert [s.first_row for s in sd.sessions] == [0, len(parts[0])]
    assert sd.start_ms == [log.timestamp_ms[s] for log, p in zip(logs, parts) for s in p.starts]


def test_group_ids_never_shared_between_sessions(logs):
    sd = build_sessions(logs)
    first = sd.sessions[1].first_row
    assert {g[0] for g in sd.groups[:first]} == {0}
    assert {g[0] for g in sd.groups[first:]} == {1}
    assert not set(sd.groups[:first]) & set(sd.groups[first:])


def test_group_ids_follow_shots(logs):
    """Oracle: a positive sits 0..2 samples from its shot's unjittered window; a negative's
    shot is the accepted shot nearest its end sample in time (ties to the earlier)."""
    params = DatasetParams()
    sd = build_sessions(logs, params)
    for i, s in enumerate(sd.sessions):
        ds, ts = s.dataset, s.log.timestamp_ms
        groups = sd.groups[s.first_row : s.first_row + len(ds)]
        for row, (start, label, (sess, shot)) in enumerate(zip(ds.starts, ds.labels, groups)):
            assert sess == i
            if label == 1:
                assert abs(start - (ds.accepted[shot] - ds.lead_samples - ds.window_samples)) <= 2
            else:
                t = ts[start + ds.window_samples]
                best = min(range(len(ds.accepted)), key=lambda k: (abs(t - ts[ds.accepted[k]]), k))
                assert shot == best
        assert {g[1] for g, lab in zip(groups, ds.labels) if lab == 1} == set(range(len(ds.accepted)))


# --- training from several sessions ---------------------------------------------------------------


def test_multi_session_summary_sums_and_lists(multi, logs):
    parts = [build_dataset(log) for log in logs]
    s = multi.summary
    assert [e["name"] for e in s["sessions"]] == [log.source for log in logs]
    for key in SUMMARY_KEYS:
        assert s[key] == sum(e[key] for e in s["sessions"])
    assert s["posWindows"] + s["negWindows"] == sum(len(p) for p in parts)
    assert [e["shotsAccepted"] for e in s["sessions"]] == [len(p.accepted) for p in parts]
    assert s["durationMs"] == sum(log.duration_ms for log in logs)


def test_multi_session_models_train_and_are_finite(multi):
    _finite_model(multi.lr_blob, mlmd.LRModel)
    _finite_model(multi.mlp_blob, mlmd.MLPModel)
    assert multi.metrics is not None
    assert multi.metrics["split"]["trainN"] + multi.metrics["split"]["testN"] == 90
    assert all(math.isfinite(h["loss"]) for h in multi.mlp_loss_history)


def test_multi_session_traces_name_their_session(multi, logs):
    assert len(multi.shot_traces) <= 2
    for t in multi.shot_traces:
        session = next(log for log in logs if log.source == t["session"])
        assert session.timestamp_ms[t["trigger_index"]] == t["t0"]


def test_single_element_list_gives_the_same_models(logs):
    one, listed = train(logs[0]), train([logs[0]])
    assert listed.lr_blob == one.lr_blob
    assert listed.mlp_blob == one.mlp_blob
    assert listed.metrics == one.metrics
    assert (listed.lr_loss_history, listed.mlp_loss_history) == (one.lr_loss_history, one.mlp_loss_history)
    assert {k: listed.summary[k] for k in SUMMARY_KEYS} == one.summary
    assert [{k: v for k, v in t.items() if k != "session"} for t in listed.shot_traces] == one.shot_traces


def test_session_warnings_carry_the_session_name(logs):
    with pytest.warns(Warning, match="trailing"):
        cut = parse_log(logs[0].to_bytes() + b"\x01\x02\x03", source="cut.bin")
        other = parse_log(logs[1].to_bytes() + b"\x09", source="other.bin")
    r = train_sessions([cut, other])
    session_warnings = [w for w in r.warnings if "trailing" in w]
    assert len(session_warnings) == 2
    assert session_warnings[0].startswith("cut.bin: ") and session_warnings[1].startswith("other.bin: ")
    assert not any(w.startswith("cut.bin: cut.bin") for w in r.warnings)
    assert any(w.startswith("Short recording (88s)") for w in r.warnings)  # about all sessions together


def test_too_few_shots_in_all_sessions_is_an_error():
    still = generate(20, 5, shots_per_minute=0.0)
    with pytest.raises(DatasetError, match="accepted shot"):
        train_sessions([still, still])


def test_no_logs_is_an_error():
    with pytest.raises(DatasetError, match="no logs"):
        train_sessions([])


# --- training from a training folder --------------------------------------------------------------


@pytest.fixture(scope="module")
def folder_dir(tmp_path_factory, logs):
    d = tmp_path_factory.mktemp("folder") / "train"
    write_folder(d, export_dataset(logs[0], ExportParams(neg_mult=2)))
    return d


def test_train_folder_uses_the_folders_rows(folder_dir):
    r = train_folder(folder_dir)
    raw = (folder_dir / "windows_i16le.bin").read_bytes()
    labels = (folder_dir / "labels_u8.bin").read_bytes()
    windows = struct.unpack(f"<{len(raw) // 2}h", raw)
    assert list(r.dataset.windows) == list(windows)
    assert bytes(r.dataset.labels) == labels
    assert r.summary["rows"] == len(labels) and r.summary["posWindows"] == labels.count(1)
    # the final LR's scaler saw exactly these windows
    fs = featurize_summary(array("h", windows), len(labels))
    assert list(r.lr_model.mean) == list(Scaler().fit(Matrix(fs, 18)).mean_)
    assert r.shot_traces == [] and r.metrics is not None
    _finite_model(r.mlp_blob, mlmd.MLPModel)


def test_train_folder_refuses_other_window_lengths(tmp_path, logs):
    d = tmp_path / "w30"
    write_folder(d, export_dataset(logs[0], ExportParams(window_ms=300)))
    with pytest.raises(DatasetError, match="30 samples.*50"):
        train_folder(d)


# --- the CLI --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def log_files(tmp_path_factory, logs):
    d = tmp_path_factory.mktemp("logs")
    paths = [d / "a.bin", d / "b.csv"]
    for log, p in zip(logs, paths):
        write_log(log, p)
    return paths


def test_cli_trains_from_several_logs(tmp_path, log_files, multi):
    out = tmp_path / "out"
    assert main(["train", *map(str, log_files), "--out", str(out), "--quiet"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["ml_model_lr.bin", "ml_model_mlp.bin", "report.html", "report.json"]
    report = json.loads((out / "report.json").read_text())
    assert [s["name"] for s in report["summary"]["sessions"]] == list(map(str, log_files))
    # same rows as the in-memory logs: same models
    assert (out / "ml_model_lr.bin").read_bytes() == multi.lr_blob
    assert (out / "ml_model_mlp.bin").read_bytes() == multi.mlp_blob


def test_cli_trains_from_a_training_folder(tmp_path, folder_dir):
    out = tmp_path / "out"
    assert main(["train", "--train-dir", str(folder_dir), "--out", str(out), "--quiet"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["summary"]["trainDir"] == str(folder_dir) and report["shot_traces"] == []
    mlmd.parse((out / "ml_model_lr.bin").read_bytes())


def test_cli_bad_log_writes_nothing(tmp_path, log_files, capsys):
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"\x00" * 5)
    out = tmp_path / "out"
    assert main(["train", str(log_files[0]), str(bad), "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "bad.bin" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_cli_logs_and_train_dir_are_exclusive(tmp_path, log_files, folder_dir):
    out = tmp_path / "out"
    for argv in (["--train-dir", str(folder_dir), str(log_files[0])], []):
        with pytest.raises(SystemExit) as exc:
            main(["train", *argv, "--out", str(out)])
        assert exc.value.code == 2
    assert not out.exists()


def test_failed_write_removes_what_was_written(tmp_path, monkeypatch, multi):
    import os

    real = os.fsync
    calls = []

    def failing(fd):  # the third file's flush to disk fails (disk full)
        calls.append(fd)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        real(fd)

    monkeypatch.setattr(os, "fsync", failing)
    out = tmp_path / "new" / "out"
    with pytest.raises(OutputError, match="nothing was changed"):
        multi.save(out)
    assert not (tmp_path / "new").exists()
    existing = tmp_path / "existing"
    existing.mkdir()
    calls.clear()
    with pytest.raises(OutputError):
        multi.save(existing)
    assert list(existing.iterdir()) == []
