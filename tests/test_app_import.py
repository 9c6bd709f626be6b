"""The app's multi-file import (--concat) against vectors/browser_app/import_*.

session_a is in both cases, so the pure-Python runs are behind the ``slow`` marker.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from conftest import use_backend
from test_app_settings import app_reference, browser_traces, reference_traces

from stingerml.blaster.app_import import import_logs, lost_shots
from stingerml.blaster.log import parse_log
from stingerml.blaster.sessions import build_sessions
from stingerml.blaster.trainer import train
from stingerml.cli import main
from stingerml.core.errors import LogFormatError, StingerWarning

CASES = {
    "import_session_a+tiny": ("session_a.bin", "tiny.bin"),
    "import_tiny+session_a+tiny_junk": ("tiny.bin", "session_a.bin", "tiny_junk.bin"),
}


def files(vectors: Path, case: str):
    return [vectors / "sessions" / name for name in CASES[case]]


def test_reference_inputs(vectors):
    for case, names in CASES.items():
        ref = app_reference(vectors, case)
        assert ref["inputs"] == list(names)
    assert app_reference(vectors, "import_tiny+session_a+tiny_junk")["skipped"] == ["tiny_junk.bin"]


def test_joined_log_is_the_files_bytes_in_order(vectors):
    paths = files(vectors, "import_tiny+session_a+tiny_junk")
    with pytest.warns(StingerWarning) as seen:
        imported = import_logs(paths)
    assert [str(w.message) for w in seen] == imported.warnings
    assert "tiny_junk.bin size (68005) not a multiple of 17 bytes/sample" in imported.warnings[0]
    assert imported.log.to_bytes() == paths[0].read_bytes() + paths[1].read_bytes()
    assert imported.files == [str(paths[0]), str(paths[1])] and imported.skipped == [str(paths[2])]
    assert paths[2].stat().st_size % 17 == 5


def test_warnings_name_the_file_and_the_lost_shots(vectors):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StingerWarning)
        a_tiny = import_logs(files(vectors, "import_session_a+tiny"))
        junk = import_logs(files(vectors, "import_tiny+session_a+tiny_junk"))
    (w,) = a_tiny.warnings
    assert w.startswith(f"{vectors / 'sessions' / 'tiny.bin'}: 4 of its 4 shots are dropped")
    assert "without --concat" in w and "separate sessions" in w
    assert [x.split(":")[0] for x in junk.warnings] == [
        f"{vectors / 'sessions' / 'tiny_junk.bin'} size (68005) not a multiple of 17 bytes/sample \u2014 skipping",
        str(vectors / "sessions" / "session_a.bin"),
    ]
    assert " 7 of its 29 shots are dropped" in junk.warnings[1]


def test_lost_shots_add_up_to_the_apps_counts(vectors):
    """Shots accepted file by file minus the app's accepted count = the shots the warnings report lost."""
    for case in CASES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StingerWarning)
            imp = import_logs(files(vectors, case))
        logs = [parse_log(p) for p in files(vectors, case) if str(p) in imp.files]
        lost = lost_shots(logs, imp.log)
        alone = sum(x.shots for x in lost)
        assert alone - sum(x.lost for x in lost) == app_reference(vectors, case)["summary"]["shotsAccepted"]


def test_separate_sessions_keep_the_shots(vectors):
    sd = build_sessions([parse_log(p) for p in files(vectors, "import_session_a+tiny")])
    assert [len(s.dataset.accepted) for s in sd.sessions] == [29, 4]


@pytest.mark.parametrize("backend", [pytest.param("python", marks=pytest.mark.slow), "numba"], indirect=True)
@pytest.mark.parametrize("case", list(CASES))
def test_import_equals_the_app(vectors, backend, case):
    r = train(files(vectors, case), concat=True)
    ref = app_reference(vectors, case)
    assert r.warnings[len(r.warnings) - len(ref["warnings"]):] == ref["warnings"]
    kept = [p for p in files(vectors, case) if p.name not in ref["skipped"]]
    logs = [parse_log(p.read_bytes()) for p in kept]
    assert r.imported == {"files": [str(p) for p in kept], "skipped": [str(vectors / "sessions" / n) for n in ref["skipped"]],
                          "samples": [p.stat().st_size // 17 for p in kept],
                          "spansMs": [log.timestamp_ms[-1] - log.timestamp_ms[0] for log in logs]}
    assert r.lr_blob == (vectors / "browser_app" / f"{case}.lr.mlmd").read_bytes()
    assert r.mlp_blob == (vectors / "browser_app" / f"{case}.mlp.mlmd").read_bytes()
    assert (r.summary, r.log_lines, r.metrics) == (ref["summary"], ref["log"], ref["metrics"])
    assert r.lr_loss_history == ref["lrLossHistory"]
    assert browser_traces(r) == reference_traces(ref)
    # all 88 entries: in import_session_a+tiny, 3 differed in the last bit while Adam's bias
    # corrections used Python's ** instead of V8's Math.pow (jsmath.pow)
    assert r.mlp_loss_history == ref["mlpLossHistory"]


def test_import_warnings_come_first(vectors):
    r_warn = []
    with use_backend("numba"):
        r = train(files(vectors, "import_session_a+tiny"), concat=True,
                  progress=lambda e: r_warn.append(e.message) if e.message.startswith("WARNING") else None)
    ref = app_reference(vectors, "import_session_a+tiny")
    assert r.warnings[1:] == ref["warnings"] and "4 of its 4 shots are dropped" in r.warnings[0]
    assert r_warn == [f"WARNING: {w}" for w in r.warnings]


def test_no_valid_file_is_an_error(vectors, tmp_path, capsys):
    junk = vectors / "sessions" / "tiny_junk.bin"
    with pytest.raises(LogFormatError, match="No valid .bin files loaded"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StingerWarning)
            import_logs([junk])
    out = tmp_path / "out"
    assert main(["train", str(junk), str(junk), "--concat", "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: No valid .bin files loaded")
    assert not out.exists()


def test_cli_concat_writes_the_apps_files(vectors, tmp_path, capsys):
    out = tmp_path / "out"
    with use_backend("numba"):
        assert main(["train", *map(str, files(vectors, "import_tiny+session_a+tiny_junk")), "--concat",
                     "--out", str(out)]) == 0
    case = "import_tiny+session_a+tiny_junk"
    assert (out / "ml_model_lr.bin").read_bytes() == (vectors / "browser_app" / f"{case}.lr.mlmd").read_bytes()
    assert (out / "ml_model_mlp.bin").read_bytes() == (vectors / "browser_app" / f"{case}.mlp.mlmd").read_bytes()
    report = json.loads((out / "report.json").read_text())
    assert report["import"]["skipped"] == [str(vectors / "sessions" / "tiny_junk.bin")]
    assert report["summary"] == app_reference(vectors, case)["summary"]
    err = capsys.readouterr().err
    assert "WARNING: " + str(vectors / "sessions" / "tiny_junk.bin") + " size (68005)" in err
    assert "7 of its 29 shots are dropped" in err


def test_cli_concat_needs_logs(vectors, tmp_path):
    with pytest.raises(SystemExit) as exc:
        main(["train", "--train-dir", str(tmp_path), "--concat", "--out", str(tmp_path / "o")])
    assert exc.value.code == 2
