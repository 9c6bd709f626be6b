"""Sets of output files are replaced as a set (issue 15): after a failure, and after SIGKILL at any
moment followed by the next use of the folder, it holds exactly the old or exactly the new set."""
from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from stingerml.blaster import trainer as blaster
from stingerml.cli import main
from stingerml.core import atomic as _atomic
from stingerml.core.errors import OutputError

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "vectors" / "sessions" / "tiny.bin"
SESSION = ROOT / "vectors" / "sessions" / "session_a.bin"
MODEL_SET = ("ml_model_lr.bin", "ml_model_mlp.bin", "report.json")

# A driver run in a child process: `train` whose training is replaced by fixed files named by a
# tag (the fake slow step), or the real `export` over an older set; os.fsync prints a line and sleeps
# so that a kill can land between any two durable steps.
DRIVER = textwrap.dedent('''
    import os, sys, time
    from stingerml.trainers import blaster
    from stingerml.cli import main

    command, tag, out, slow = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    real_fsync = os.fsync
    def fsync(fd):
        print("fsync", flush=True)
        time.sleep(slow)
        real_fsync(fd)
    os.fsync = fsync

    class Fake:
        def files(self):
            return {"ml_model_lr.bin": tag.encode() * 100, "ml_model_mlp.bin": tag.encode() * 5000,
                    "report.json": ("{\\"tag\\": \\"%s\\"}\\n" % tag).encode()}
        save = blaster.TrainResult.save
    blaster.train = lambda *a, **k: Fake()
    if command == "train":
        sys.exit(main(["train", sys.argv[5], "--out", out, "--quiet"]))
    sys.exit(main(["export", sys.argv[5], "--out", out, "--seed", tag]))
''')


def model_set(tag: str):
    return {"ml_model_lr.bin": tag.encode() * 100, "ml_model_mlp.bin": tag.encode() * 5000,
            "report.json": ('{"tag": "%s"}\n' % tag).encode()}


def snapshot(folder: Path):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def driver(tmp_path: Path) -> Path:
    path = tmp_path / "driver.py"
    path.write_text(DRIVER)
    return path


def child(tmp_path, *args, limit_bytes=None, **kw):
    env = dict(os.environ, PYTHONPATH=str(ROOT), STINGERML_BACKEND="python")  # no numba import: fast start

    def limit():
        if limit_bytes is not None:
            import resource

            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return subprocess.Popen([sys.executable, str(driver(tmp_path)), *map(str, args)], env=env, preexec_fn=limit,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, **kw)


# --- a failure in the middle -----------------------------------------------------------------------


def test_train_out_failure_keeps_the_old_set(tmp_path):
    """`ulimit -f`: the MLP file cannot be written. Before the fix the new LR replaced the old one,
    then the clean-up deleted it."""
    out = tmp_path / "models"
    out.mkdir()
    for name, data in model_set("1").items():
        (out / name).write_bytes(data)
    before = snapshot(out)
    proc = child(tmp_path, "train", "2", out, 0, TINY, limit_bytes=1000)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), err
    assert snapshot(out) == before


def test_export_overwrite_failure_keeps_the_old_set(tmp_path):
    out = tmp_path / "folder"
    assert main(["export", str(SESSION), "--out", str(out), "--seed", "1"]) == 0
    before = snapshot(out)
    proc = child(tmp_path, "export", "2", out, 0, SESSION, limit_bytes=20000)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    assert err.decode().startswith("error:") and len(err.decode().strip().splitlines()) == 1, err
    assert snapshot(out) == before


def test_api_failure_keeps_the_old_set_and_drops_nothing(tmp_path, monkeypatch):
    out = tmp_path / "m"
    blaster.write_files(out, model_set("a"))
    (out / "notes.txt").write_text("mine")
    real = os.fsync
    calls = []

    def failing(fd):
        calls.append(fd)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real(fd)

    monkeypatch.setattr(os, "fsync", failing)
    before = snapshot(out)
    with pytest.raises(OutputError, match="nothing was changed"):
        blaster.write_files(out, model_set("b"))
    assert snapshot(out) == before


def test_a_new_set_drops_old_members_it_lacks_and_keeps_other_files(tmp_path):
    out = tmp_path / "f"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    _atomic.write_set(out, {"a": b"1", "b": b"1"}, members=("a", "b", "c"))
    _atomic.write_set(out, {"a": b"2", "c": b"2"}, members=("a", "b", "c"))
    assert snapshot(out) == {"a": b"2", "c": b"2", "notes.txt": b"mine"}


def test_train_checks_out_before_training(tmp_path, monkeypatch, capsys):
    """An --out that is a file (or under one) failed only after training; now before it starts."""
    afile = tmp_path / "afile"
    afile.write_text("x")

    def no_training(*a, **k):
        raise AssertionError("training started")

    monkeypatch.setattr(blaster, "train", no_training)
    for out in (afile, afile / "sub"):
        assert main(["train", str(TINY), "--out", str(out), "--quiet"]) == 1
        err = capsys.readouterr().err
        assert err.startswith("error:") and "afile" in err and "--out" in err
    assert afile.read_text() == "x"


def test_folders_are_created_with_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        assert main(["export", str(SESSION), "--out", str(tmp_path / "e" / "f")]) == 0
        blaster.write_files(tmp_path / "m", model_set("a"))
    finally:
        os.umask(old)
    for d in (tmp_path / "e", tmp_path / "e" / "f", tmp_path / "m"):
        assert d.stat().st_mode & 0o777 == 0o755, d
    assert (tmp_path / "m" / "report.json").stat().st_mode & 0o777 == 0o644


# --- SIGKILL at random moments ---------------------------------------------------------------------


def leftovers(folder: Path):
    return [p.name for p in folder.iterdir() if p.name.startswith((".stingerml-set", "..stingerml-set"))]


def kill_runs(tmp_path, command, source, old, new, reset, runs):
    """Kill `command` at random moments of its write; each time the folder, once recovered,
    holds exactly ``old`` or exactly ``new`` and no leftover. Returns how the kills landed."""
    out = tmp_path / "out"
    rng = random.Random(15)
    landed = {"old": 0, "new": 0, "mid": 0}
    for i in range(runs):
        reset(out)
        proc = child(tmp_path, command, "2", out, 0.03, source)
        assert proc.stdout.readline() == b"fsync\n", proc.stderr.read()  # the write has begun
        if i < runs - 1:
            time.sleep(rng.uniform(0, 0.3))
            proc.kill()
        proc.wait(timeout=60)  # the last run is not killed: it completes
        proc.stdout.close()
        proc.stderr.close()
        if (out / _atomic.JOURNAL).exists() or leftovers(out):
            landed["mid"] += 1
        _atomic.recover(out)
        now = snapshot(out)
        assert now in (old, new), f"run {i}: neither the old nor the new set: {sorted(now)}"
        assert not leftovers(out)
        landed["old" if now == old else "new"] += 1
    return landed


def test_kill_train_leaves_old_or_new_set(tmp_path):
    old = model_set("1")
    new = model_set("2")

    def reset(out):
        out.mkdir(exist_ok=True)
        for p in out.iterdir():
            p.unlink()
        for name, data in old.items():
            (out / name).write_bytes(data)

    landed = kill_runs(tmp_path, "train", TINY, old, new, reset, runs=10)
    assert landed["mid"] and landed["new"], landed  # some kills landed inside the write, one after


def test_kill_export_overwrite_leaves_old_or_new_set(tmp_path):
    ref_old, ref_new = tmp_path / "ref_old", tmp_path / "ref_new"
    assert main(["export", str(TINY), "--out", str(ref_old), "--seed", "1"]) == 0
    assert main(["export", str(TINY), "--out", str(ref_new), "--seed", "2"]) == 0
    old, new = snapshot(ref_old), snapshot(ref_new)
    assert old != new

    def reset(out):
        import shutil

        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(ref_old, out)

    landed = kill_runs(tmp_path, "export", TINY, old, new, reset, runs=8)
    assert landed["mid"] and landed["new"], landed


def test_leftover_temporary_files_of_killed_writers_are_swept(tmp_path):
    """A killed single-file write (convert, synth, pull...) leaves `.NAME.XXXXXXXX.tmp`; the next
    write of the same file removes it, but never one a live writer holds."""
    import fcntl

    target = tmp_path / "log.csv"
    dead = tmp_path / ".log.csv.abcd1234.tmp"
    dead.write_bytes(b"half")
    alive = tmp_path / ".log.csv.efgh5678.tmp"
    alive.write_bytes(b"busy")
    other = tmp_path / ".other.csv.abcd1234.tmp"
    other.write_bytes(b"not ours")
    with open(alive, "rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        _atomic.write_bytes_atomic(target, b"new")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([target.name, alive.name, other.name])
    assert target.read_bytes() == b"new"


def test_a_member_that_is_a_folder_is_refused_before_anything_changes(tmp_path):
    """A folder in the place of a new file (or of a member to drop) would make the renames fail after
    the commit point, with the set half replaced and a journal that fails again at every recover()."""
    out = tmp_path / "f"
    (out / "b").mkdir(parents=True)
    (out / "a").write_bytes(b"old")
    for files, members in (({"a": b"new", "b": b"new"}, ()), ({"a": b"new"}, ("a", "b"))):
        with pytest.raises(OutputError, match=r"/b: cannot write the results: Is a directory; nothing was changed"):
            _atomic.write_set_to_folder(out, files, members)
        assert sorted(p.name for p in out.iterdir()) == ["a", "b"] and (out / "a").read_bytes() == b"old"


def _refused_for_lack_of_permission(folder: Path) -> bool:
    """check_output_folder(folder) raises OutputError 'no permission' (run as a user who is not the
    folder's owner: as root, in a child process that has become ``nobody``, since root may write
    anywhere)."""
    def check() -> bool:
        try:
            _atomic.check_output_folder(folder)
        except OutputError as exc:
            return "no permission to write there" in str(exc)
        return False
    if os.geteuid() != 0:
        return check()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 2
        try:
            os.setgid(65534)
            os.setuid(65534)
            code = 0 if check() else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) in (0, 1), status
    return os.WEXITSTATUS(status) == 0



@pytest.mark.parametrize("mode, refused", [(0o555, True), (0o666, True), (0o777, False)],
                         ids=["read-only", "not-enterable", "open"])
def test_an_out_folder_without_permission_is_refused_before_anything(mode, refused):
    """The operating system's permission bits are the oracle (the same for owner and others here): a
    folder one may not write (0o555), or write but not enter (0o666), is refused; 0o777 is not."""
    if not hasattr(os, "fork"):
        pytest.skip("needs fork")
    top = Path(tempfile.mkdtemp(prefix="stingerml-perm-"))  # pytest's folders are root's own (0o700)
    try:
        top.chmod(0o755)
        folder = top / "theirs"
        folder.mkdir()
        folder.chmod(mode)
        assert _refused_for_lack_of_permission(folder) is refused
    finally:
        (top / "theirs").chmod(0o755)
        shutil.rmtree(top)
