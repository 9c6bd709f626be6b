"""CLI: emulate (as a real process), pull, push, info, delete."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

pytest.importorskip("serial")  # every test here talks to the virtual blaster through pyserial ([serial] extra)

from conftest import kill_group  # noqa: E402
from stingerml.cli import main  # noqa: E402
from stingerml.device import Blaster, TcpServer  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent / "vectors"
LOG_PATH = ROOT / "sessions" / "session_a.bin"
LR = (ROOT / "browser" / "session_a.lr.mlmd").read_bytes()
MLP = (ROOT / "browser" / "session_a.mlp.mlmd").read_bytes()


@pytest.fixture
def blaster():
    b = Blaster(LOG_PATH.read_bytes(), debug_rate=0.2)
    server = TcpServer(b).start()
    b.url = server.url
    yield b
    server.stop()
    assert not [t for t in threading.enumerate() if t.name.startswith("stingerml-emulator")]


@pytest.mark.parametrize("mode", [["--tcp", "0"], ["--pty"]])
def test_emulate_prints_the_url_first_then_serves_until_killed(tmp_path, mode):
    proc = subprocess.Popen(
        [sys.executable, "-m", "stingerml", "emulate", "--log", str(LOG_PATH), *mode, "--fault", "dump-garbage"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}, start_new_session=True,
    )
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("socket://127.0.0.1:" if mode[0] == "--tcp" else "/dev/")
        out = tmp_path / "log.bin"
        assert main(["pull", "-o", str(out), "--port", url]) == 1  # the one-shot fault
        assert not out.exists()
        assert main(["pull", "-o", str(out), "--port", url]) == 0
        assert out.read_bytes() == LOG_PATH.read_bytes()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            kill_group(proc)
    assert proc.returncode == 0, proc.stderr.read()


def test_pull_push_info_delete(blaster, tmp_path, capsys):
    out = tmp_path / "pulled.bin"
    assert main(["pull", "-o", str(out), "--port", blaster.url]) == 0
    assert out.read_bytes() == LOG_PATH.read_bytes()
    assert "510000 bytes (30000 samples)" in capsys.readouterr().out

    models = tmp_path / "models"
    models.mkdir()
    (models / "ml_model_lr.bin").write_bytes(LR)
    (models / "ml_model_mlp.bin").write_bytes(MLP)
    assert main(["push", str(models), "--port", blaster.url]) == 0
    assert "fingerprint verified" in capsys.readouterr().out
    assert main(["info", "--json", "--port", blaster.url]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["model_source"], info["user_has_lr"], info["user_has_mlp"], info["samples_written"]) == (
        "user", 1, 1, 30000)
    assert main(["info", "--port", blaster.url]) == 0
    assert "mlp_b3=0.190092\n" in capsys.readouterr().out

    assert main(["delete", "--port", blaster.url]) == 0
    assert blaster.files == {}
    assert main(["push", "--mlp", str(models / "ml_model_mlp.bin"), "--no-load", "--port", blaster.url]) == 0
    assert blaster.files == {"/ml_model_mlp.bin": MLP} and blaster.user_has == {"lr": False, "mlp": False}


def test_cli_errors_exit_1_with_one_line(blaster, tmp_path, capsys):
    assert main(["push", str(tmp_path), "--port", blaster.url]) == 1
    assert "no model to push" in capsys.readouterr().err
    (tmp_path / "ml_model_lr.bin").write_bytes(MLP)
    assert main(["push", str(tmp_path), "--port", blaster.url]) == 1
    assert "cannot go into the lr slot" in capsys.readouterr().err
    blaster.firing = True
    assert main(["pull", "-o", str(tmp_path / "x.bin"), "--port", blaster.url]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: MLDUMP: the device refused: '[ml] ERROR: busy (firing)'")
    assert not (tmp_path / "x.bin").exists()
