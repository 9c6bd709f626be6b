"""Where outputs may go (issue 29, group 2): never through a link, device, FIFO or socket, never onto
one of the command's inputs, never under the set writer's own names; one line, exit 1, nothing changed."""
from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest

from stingerml.core import atomic as _atomic
from stingerml.cli import main
from stingerml.core.errors import OutputError

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "vectors" / "sessions" / "tiny.bin"
LR = ROOT / "stingerml" / "data" / "factory_lr.mlmd"


def commands(out: str):
    """One command per kind of single-file output, writing ``out``."""
    return {
        "synth": ["synth", "-o", out, "--seconds", "2"],
        "replay": ["replay", str(TINY), "-o", out],
        "export-header": ["export-header", "-o", out],
        "convert": ["convert", str(TINY), "-o", out],
        "export-model --onnx": ["export-model", str(LR), "--onnx", out],
        "benchmark -o": ["benchmark", str(TINY), "--seeds", "1", "--models", "lr", "--lr-iterations", "5", "-o", out],
        "report -o": ["report", str(ROOT / "vectors" / "sessions"), "-o", out],  # refused before DIR is read
    }


def make(kind: str, path: Path, tmp_path: Path):
    """Put a ``kind`` at ``path``; returns a check that it is still exactly what it was."""
    if kind == "symlink":
        victim = tmp_path / "victim.txt"
        victim.write_bytes(b"victim")
        path.symlink_to(victim)
        return lambda: path.is_symlink() and victim.read_bytes() == b"victim"
    if kind == "fifo":
        os.mkfifo(path)
        return lambda: stat.S_ISFIFO(os.lstat(path).st_mode)
    if kind == "socket":
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(path))
        return lambda: stat.S_ISSOCK(os.lstat(path).st_mode)
    if kind == "device":
        if os.geteuid() != 0:
            pytest.skip("making a device node needs root")
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 7))  # /dev/full's numbers
        return lambda: stat.S_ISCHR(os.lstat(path).st_mode)
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["symlink", "fifo", "socket", "device"])
@pytest.mark.parametrize("command", sorted(commands("x")))
def test_an_output_that_is_not_a_regular_file_is_refused(tmp_path, capsys, kind, command):
    target = tmp_path / "out.csv"
    unchanged = make(kind, target, tmp_path)
    assert main(commands(str(target))[command]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {target}: is a ") and err.count("\n") == 1 and "not a regular file" in err, err
    assert unchanged()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_standard_output_is_written_through(capsysbinary):
    assert main(["export-header", "-o", "-"]) == 0
    assert capsysbinary.readouterr().out.startswith(b"#pragma once\n")


@pytest.mark.parametrize("name", [_atomic.JOURNAL, ".stingerml-set-abcd1234.staging"])
def test_the_set_writers_own_names_are_refused(tmp_path, capsys, name):
    (tmp_path / "model.onnx").write_bytes(b"mine")
    assert main(["export-model", str(LR), "--onnx", str(tmp_path / name)]) == 1
    err = capsys.readouterr().err
    assert "belongs to stingerml's set writer" in err and err.count("\n") == 1, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]


def test_an_output_that_is_an_input_is_refused(tmp_path, capsys):
    model = tmp_path / "model.mlmd"
    model.write_bytes(LR.read_bytes())
    log = tmp_path / "log.bin"
    log.write_bytes(TINY.read_bytes())
    for argv in (["export-model", str(model), "--onnx", str(model)],
                 ["export-model", str(model), "--meta", str(tmp_path / "." / "model.mlmd")],
                 ["convert", str(log), "-o", str(log)],
                 ["replay", str(log), "-o", str(log)],
                 ["export-header", "--lr", str(model), "-o", str(model)]):
        assert main(argv) == 1, argv
        err = capsys.readouterr().err
        assert "is also an input of this command" in err and err.count("\n") == 1, (argv, err)
    assert model.read_bytes() == LR.read_bytes() and log.read_bytes() == TINY.read_bytes()


def test_a_hard_link_to_an_input_is_the_input(tmp_path, capsys):
    log = tmp_path / "log.bin"
    log.write_bytes(TINY.read_bytes())
    os.link(log, tmp_path / "other.bin")
    assert main(["convert", str(log), "-o", str(tmp_path / "other.bin")]) == 1
    assert "is also an input" in capsys.readouterr().err
    assert log.read_bytes() == TINY.read_bytes()


def test_a_set_member_that_is_a_link_is_refused(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim"
    victim.write_bytes(b"v")
    (out / "report.json").symlink_to(victim)
    with pytest.raises(OutputError, match="is a symbolic link"):
        _atomic.write_set_to_folder(out, {"report.json": b"{}"})
    assert (out / "report.json").is_symlink() and victim.read_bytes() == b"v"


def test_a_file_of_an_input_run_folder_is_refused(tmp_path, capsys):
    """Audit of issue 29: `tabular predict RUN data.csv -o RUN/output/model.json` replaced the run's model
    by the predictions (exit 0): the run folder is an input, and its own files are too."""
    data = tmp_path / "d.csv"
    data.write_text("a,b,y\n" + "".join(f"{i % 7},{i % 5},{'xyz'[i % 3]}\n" for i in range(60)))
    assert main(["tabular", "train", str(data), "--label", "y", "--epochs", "1", "--hidden", "3",
                 "--runs-dir", str(tmp_path / "runs"), "-q"]) == 0
    run = Path(capsys.readouterr().out.strip())
    kept = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    for target in (run / "output" / "model.json", run / "run.json", run / "data" / "dataset.csv",
                   run / "output" / ".." / "checkpoints" / "best_model.json"):
        assert main(["tabular", "predict", str(run), str(data), "-o", str(target)]) == 1, target
        err = capsys.readouterr().err
        assert f"is a file of the run folder {run}" in err and err.count("\n") == 1, err
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == kept
    assert main(["tabular", "predict", str(run), str(data), "-o", str(run / "predictions.csv")]) == 0  # beside: fine
    assert main(["tabular", "predict", str(run), str(data), "-o", str(run / "predictions.csv")]) == 0


def test_report_does_not_replace_the_files_of_its_folder(tmp_path, capsys):
    """`report DIR -o DIR/report.json` replaced the report.json it reads by the page."""
    folder = tmp_path / "out"
    folder.mkdir()
    files = {name: f"{name} bytes".encode() for name in ("report.json", "ml_model_lr.bin", "ml_model_mlp.bin")}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    for name in files:
        assert main(["report", str(folder), "-o", str(folder / name)]) == 1
        err = capsys.readouterr().err
        assert "is also an input of this command" in err and err.count("\n") == 1, err
    assert {name: (folder / name).read_bytes() for name in files} == files
