"""`stingerml train` / `demo` / `python -m stingerml` end to end."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from stingerml.cli import main


def test_train_writes_the_browser_files(vectors, tmp_path, capsys):
    out = tmp_path / "models"
    assert main(["train", str(vectors / "sessions" / "tiny.bin"), "--preset", "train-pipeline", "--out", str(out)]) == 0
    assert (out / "ml_model_lr.bin").read_bytes() == (vectors / "browser" / "tiny.lr.mlmd").read_bytes()
    assert (out / "ml_model_mlp.bin").read_bytes() == (vectors / "browser" / "tiny.mlp.mlmd").read_bytes()
    report = json.loads((out / "report.json").read_text())
    ref = json.loads((vectors / "browser" / "tiny.json").read_text())
    assert report["summary"] == ref["summary"] and report["warnings"] == ref["warnings"]
    assert report["lr_loss_history"] == ref["lrLossHistory"]
    trace = report["shot_traces"][0]
    assert set(trace) == {"trigger_index", "t0", "x_ms", "p_lr", "p_mlp", "score_lr", "score_mlp"}
    err = capsys.readouterr().err
    assert "Parsing binary log" not in err  # a Log is passed, parsing is read_log's
    assert "Training MLP (final, all data)..." in err


@pytest.mark.parametrize("content, message", [
    (b"", "no complete 17-byte record"),
    (b"\x00" * 16, "no complete 17-byte record"),
    (bytes(17 * 3), "accepted shot"),
])
def test_train_error_writes_nothing(tmp_path, capsys, content, message):
    log = tmp_path / "bad.bin"
    log.write_bytes(content)
    out = tmp_path / "out"
    assert main(["train", str(log), "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and message in err[-1]
    assert not out.exists() or not any(out.iterdir())


def test_train_bad_csv_names_the_line(tmp_path, capsys):
    log = tmp_path / "bad.csv"
    log.write_text("timestamp_ms,ax,ay,az,gx,gy,gz,trigger\n0,1,2,3,4,5,6,0\n10,1,2,x,4,5,6,0\n")
    assert main(["train", str(log), "--out", str(tmp_path / "out")]) == 1
    assert "line 3, column az" in capsys.readouterr().err


def test_python_dash_m_runs():
    proc = subprocess.run([sys.executable, "-m", "stingerml", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("stingerml ")
    assert "backend:" in proc.stdout


def test_demo_help():
    proc = subprocess.run([sys.executable, "-m", "stingerml", "demo", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "usage: stingerml demo" in proc.stdout


@pytest.fixture
def restore_kernel_settings():
    from stingerml import _kernels

    backend, processes = _kernels.backend(), _kernels.process_setting()
    yield
    _kernels.set_backend(backend)
    _kernels.set_processes(processes)


def test_pure_python_in_two_processes_writes_the_browser_files(vectors, tmp_path, restore_kernel_settings):
    """The pure MLP split over two processes (--processes 2) keeps the browser's bytes."""
    from stingerml._kernels import process_setting

    out = tmp_path / "models"
    tiny = vectors / "sessions" / "tiny.bin"
    assert main(["--backend", "python", "--processes", "2", "train", str(tiny), "--preset", "train-pipeline",
                 "--out", str(out)]) == 0
    assert process_setting() == 2
    assert (out / "ml_model_lr.bin").read_bytes() == (vectors / "browser" / "tiny.lr.mlmd").read_bytes()
    assert (out / "ml_model_mlp.bin").read_bytes() == (vectors / "browser" / "tiny.mlp.mlmd").read_bytes()


def test_version_names_the_processes_of_the_pure_backend(capsys, restore_kernel_settings):
    from stingerml._kernels import set_backend, set_processes

    set_backend("python")
    set_processes(1)
    with pytest.raises(SystemExit):
        main(["--version"])
    assert "backend: python, MLP processes: 1" in capsys.readouterr().out
