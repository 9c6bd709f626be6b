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
