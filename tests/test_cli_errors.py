"""Issue 15: where the README promises one ``error:`` line, exit code 1 and nothing written, every
case listed there gets exactly that (each printed a traceback before); plus the small promises
(BOM, ASCII integers, ``-`` for standard input/output, quiet broken pipes...)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from stingerml.blaster.log import parse_csv, parse_log
from stingerml.cli import main
from stingerml.core.errors import DatasetError, LogFormatError, TrainingError

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "vectors" / "sessions" / "tiny.bin"
SESSION = ROOT / "vectors" / "sessions" / "session_a.bin"
HEADER = "timestamp_ms,ax,ay,az,gx,gy,gz,trigger\n"


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


@pytest.fixture
def here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ADIR").mkdir()
    (tmp_path / "afile").write_text("x")
    return tmp_path


def listing(folder: Path):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("argv,says", [
    (["replay", "-o", "nope/p.csv", str(TINY)], "nope does not exist"),
    (["replay", "-o", "ADIR", str(TINY)], "folder"),
    (["export-header", "-o", "nope/w.h"], "nope does not exist"),
    (["export", str(TINY), "--out", "afile/sub"], "afile"),
    (["synth", "-o", "nope/x.bin"], "nope"),
    (["emulate", "--log", "nope.bin", "--pty"], "--log"),
    (["emulate", "--tcp", "99999"], "65535"),
    (["emulate", "--tcp", "-1"], "65535"),
    (["pull", "--timeout", "inf", "-o", "x.bin", "--port", "socket://127.0.0.1:1"], "--timeout"),
    (["info", "--timeout", "nan", "--port", "socket://127.0.0.1:1"], "--timeout"),
    (["train", "afile.csv", "--out", "m"], None),
    (["online", str(TINY), "--ema-ms", "nan"], "ema_ms"),
])
def test_one_error_line_and_nothing_written(here, capsys, argv, says):
    if argv[1] == "afile.csv":
        (here / "afile.csv").write_bytes(b"\xff\xfe" + HEADER.encode())
    before = listing(here)
    assert main(argv) == 1
    line = one_error_line(capsys)
    if says:
        assert says in line
    assert listing(here) == before


def test_csv_inputs(tmp_path):
    bad = [
        (b"\xff\xfe" + HEADER.encode(), "not UTF-8"),
        ((HEADER + '"' + "1" * 200000 + '",1,1,1,1,1,1,0\n').encode(), "line 2"),
        ((HEADER + "1_000,1,1,1,1,1,1,0\n").encode(), "not an integer"),
        ((HEADER + "\u0661,1,1,1,1,1,1,0\n").encode(), "not an integer"),  # ARABIC-INDIC DIGIT ONE
    ]
    for i, (data, says) in enumerate(bad):
        path = tmp_path / f"bad{i}.csv"
        path.write_bytes(data)
        from stingerml.blaster.log import read_log

        with pytest.raises(LogFormatError, match=says):
            read_log(path)
    with pytest.raises(LogFormatError):
        parse_csv(HEADER + "1,2\r3,4,5,6,7,0\n")  # a bare \r inside a row (API)
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + (HEADER + "1,2,3,4,5,6,7,0\n").encode())
    from stingerml.blaster.log import read_log

    assert len(read_log(bom)) == 1
    assert len(parse_csv("\ufeff" + HEADER + "1,2,3,4,5,6,7,0\n")) == 1


def test_strided_memoryview_is_parsed_like_its_bytes():
    data = TINY.read_bytes()
    doubled = bytes(b for pair in zip(data, data) for b in pair)
    log = parse_log(memoryview(doubled)[::2])
    assert log.to_bytes() == data


def test_training_folder_json(tmp_path, capsys):
    folder = tmp_path / "tf"
    assert main(["export", str(SESSION), "--out", str(folder)]) == 0
    capsys.readouterr()
    from stingerml.blaster import trainfolder

    meta = (folder / "meta.json").read_text()
    (folder / "meta.json").write_text("[" * 100000 + "]" * 100000)
    with pytest.raises(DatasetError, match="nested"):
        trainfolder.read(folder)
    (folder / "meta.json").write_text(meta)
    (folder / "summary.json").write_text(json.dumps({"duration_ms": "abc"}))
    assert main(["train", "--train-dir", str(folder), "--out", str(tmp_path / "m"), "--quiet"]) == 1
    assert "duration_ms" in one_error_line(capsys)
    assert not (tmp_path / "m").exists()


def test_tiny_training_folder_says_what_to_do(tmp_path, capsys):
    folder = tmp_path / "tf"
    assert main(["export", str(TINY), "--out", str(folder)]) == 0
    capsys.readouterr()
    from stingerml.blaster.trainer import train_folder

    with pytest.raises(TrainingError, match="only 8 rows.*--neg-mult"):
        train_folder(folder)


def test_export_with_no_negatives_is_one_error_and_writes_nothing(tmp_path, capsys):
    # issue 29 (group 6): it exited 0 with a folder no trainer takes
    for i, options in enumerate((["--neg-mult", "0"], ["--neg-strategy", "near", "--neg-near-min-ms", "1", "--neg-near-max-ms", "2"])):
        out_dir = tmp_path / f"tf{i}"
        assert main(["export", str(TINY), "--out", str(out_dir), *options]) == 1
        out, err = capsys.readouterr()
        assert out == "" and err.count("\n") == 1 and err.startswith("error: ")
        assert "0 negatives" in err and "nothing written" in err and "--neg-mult" in err
        assert not out_dir.exists()


def test_train_result_repr_is_short():
    from stingerml.blaster.trainer import TrainResult

    result = TrainResult(b"", b"", None, None, {"posWindows": 3, "negWindows": 4, "shotsAccepted": 2}, ["w"], None,
                         [{"iter": 0, "loss": 1.0}] * 1000, [], [{"x": list(range(1000))}], None)
    text = repr(result)
    assert len(text) < 200 and "3 positive" in text


def test_port_not_found_names_cli_and_api():
    from stingerml.device.discovery import choose_port

    with pytest.raises(Exception) as exc:
        choose_port([])
    assert "--port" in str(exc.value) and "DeviceClient(port=" in str(exc.value)


def test_emulator_forgets_a_half_finished_upload_on_disconnect():
    from stingerml.device.emulator import Blaster
    from stingerml.device.protocol import put_command

    blaster = Blaster(None, debug_rate=0)
    blob = (ROOT / "vectors" / "browser" / "session_a.lr.mlmd").read_bytes()
    assert b"READY" in blaster.receive(put_command(blob, "lr"))
    blaster.receive(blob[:10])
    blaster.reset_connection()
    assert b"samples_written" in blaster.receive(b"MLINFO\n") or b"ERROR" in blaster.receive(b"MLINFO\n")


def run(argv, **kw):
    env = dict(os.environ, PYTHONPATH=str(ROOT), STINGERML_BACKEND=kw.pop("backend", "python"))
    kw.setdefault("stdout", subprocess.PIPE)
    return subprocess.run([sys.executable, "-m", "stingerml", *argv], env=env, stderr=subprocess.PIPE, **kw)


def test_backend_errors_are_one_line():
    p = run(["--version"], backend="fast")
    assert p.returncode == 1 and p.stderr.decode().strip().startswith("error: unknown backend"), p.stderr
    code = "import sys; sys.modules['numba'] = None; from stingerml.cli import main; sys.exit(main(%r))"
    for argv, env_backend in ((["--version"], "numba"), (["--backend", "numba", "synth", "-o", "x.bin"], "auto")):
        p = subprocess.run([sys.executable, "-c", code % (argv,)], capture_output=True,
                           env=dict(os.environ, PYTHONPATH=str(ROOT), STINGERML_BACKEND=env_backend))
        err = p.stderr.decode().strip().splitlines()
        assert p.returncode == 1 and len(err) == 1 and "numba" in err[0] and err[0].startswith("error:"), err


@pytest.mark.parametrize("argv", [["synth", "-o", "-", "--seconds", "30"], ["online", "LOG"],
                                  ["export-header", "-o", "-"], ["--version"]])
def test_broken_pipe_ends_quietly(argv, tmp_path):
    if "LOG" in argv:
        (tmp_path / "log.bin").write_bytes(TINY.read_bytes()[: 17 * 300])
        argv = [str(tmp_path / "log.bin") if a == "LOG" else a for a in argv]
    r, w = os.pipe()
    os.close(r)
    try:
        p = run(argv, stdout=w)
    finally:
        os.close(w)
    assert p.stderr == b"", p.stderr
    assert p.returncode == 141


def test_dash_is_standard_input_and_output(tmp_path):
    data = TINY.read_bytes()
    csv = run(["convert", "-", "-o", "-"], input=data)
    assert csv.returncode == 0 and csv.stdout.startswith(HEADER.encode())
    back = run(["convert", "-", "-o", "-"], input=csv.stdout)
    assert back.stdout == data
    synth = run(["synth", "-o", "-", "--seconds", "2"])
    assert run(["synth", "-o", str(tmp_path / "s.bin"), "--seconds", "2"]).returncode == 0
    assert synth.stdout == (tmp_path / "s.bin").read_bytes()
    header = run(["export-header", "-o", "-"]).stdout
    assert header.startswith(b"#pragma once")
    replay = run(["replay", "-", "-o", "-"], input=synth.stdout)
    assert replay.returncode == 0 and replay.stdout.startswith(b"timestamp_ms,p_lr,p_mlp\n")
    assert len(replay.stdout.splitlines()) == 1 + len(synth.stdout) // 17
    assert not (tmp_path / "-").exists() and not Path("-").exists()


def test_pull_into_a_missing_folder_or_a_folder(here, capsys):
    pytest.importorskip("serial")
    from stingerml.device import Blaster, TcpServer

    with TcpServer(Blaster(TINY.read_bytes(), debug_rate=0)) as server:
        for out, says in (("nope/log.bin", "nope/log.bin"), ("ADIR", "ADIR")):
            before = listing(here)
            assert main(["pull", "-o", out, "--port", server.url, "--timeout", "2"]) == 1
            assert says in one_error_line(capsys)
            assert listing(here) == before
        assert main(["pull", "-o", "log.bin", "--port", server.url, "--timeout", "2"]) == 0
    assert (here / "log.bin").read_bytes() == TINY.read_bytes()


def test_a_full_disk_is_one_line_and_leaves_nothing(tmp_path):
    """`ulimit -f`: a single-file write that cannot finish leaves neither the file nor a temporary."""
    def limit():
        import resource

        resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))

    for argv in (["synth", "-o", str(tmp_path / "s.bin"), "--seconds", "10"],
                 ["convert", str(TINY), "-o", str(tmp_path / "t.csv")]):
        p = run(argv, preexec_fn=limit)
        err = p.stderr.decode().strip().splitlines()
        assert p.returncode == 1 and len(err) == 1 and err[0].startswith("error:"), err
        assert list(tmp_path.iterdir()) == []
