"""`tabular train` and `seq train` under attack (issue 29): SIGKILL at any moment, and a full disk.

After a kill, the run folder is either resumed (``--resume``) to output files byte-identical to an
uninterrupted run's, or refused with one line (a run that had not written its ``run.json`` yet; one
that had finished), or absent; never a half file (a truncated JSON file, a partial output set, a
set writer's journal or staging folder left in ``output/``). A full disk (the file size limit
``ulimit -f``) stops a run with one line and exit 1, and leaves what was on disk byte-identical.
"""
from __future__ import annotations

import json
import os
import random
import resource
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import kill_group
from test_tabular_runs import make_csv

from stingerml.sequence.synth import word_task, write_csv_long

ROOT = Path(__file__).resolve().parent.parent

# The CLI (``DRIVER AT SLOW ARGV``) whose os.fsync first prints ``@fsync PATH``, and sleeps SLOW seconds at
# its AT-th call: every durable step of a run (the data copy, split.json, run.json, each checkpoint,
# best_model.json, each staged output file, the set's journal, the folder syncs around its moves) is
# announced, so a kill can be aimed at one and land inside it.
DRIVER = textwrap.dedent('''
    import os, sys, time
    at, slow, calls = int(sys.argv[1]), float(sys.argv[2]), [0]
    real_fsync = os.fsync
    def fsync(fd):
        try:
            where = os.readlink("/proc/self/fd/%d" % fd)
        except OSError:
            where = "?"
        print("@fsync", where, flush=True)
        calls[0] += 1
        if calls[0] == at:
            time.sleep(slow)
        real_fsync(fd)
    os.fsync = fsync
    from stingerml.cli import main
    sys.exit(main(sys.argv[3:]))
''')
SLOW = 0.1


def start(argv, tmp_path: Path, at: int = 0, fsize: int = 0) -> subprocess.Popen:
    """The CLI through :data:`DRIVER` on the pure backend, in its own process group; stderr to a file
    (``proc.err``); ``fsize``: a file size limit in bytes (writes past it fail with EFBIG, as on a
    full disk: SIGXFSZ ignored)."""
    def limit() -> None:
        if fsize:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    env = {**os.environ, "PYTHONPATH": str(ROOT), "STINGERML_BACKEND": "python"}
    err = tmp_path / f"stderr.{time.monotonic_ns()}"
    with open(err, "wb") as fh:
        proc = subprocess.Popen([sys.executable, "-c", DRIVER, str(at), str(SLOW), *map(str, argv)], stdout=subprocess.PIPE,
                                stderr=fh, env=env, preexec_fn=limit, start_new_session=True)
    proc.err = err
    return proc


def finish(proc: subprocess.Popen, timeout: float = 120) -> tuple:
    """Wait for ``proc``: ``(exit code, the @fsync paths it printed, its stderr)``."""
    try:
        out, _ = proc.communicate(timeout=timeout)
    finally:
        kill_group(proc)
    paths = [line[len("@fsync "):] for line in out.decode().splitlines() if line.startswith("@fsync ")]
    return proc.returncode, paths, proc.err.read_text()


def run(argv, tmp_path: Path, **kw) -> tuple:
    return finish(start(argv, tmp_path, **kw))


def killed(argv, tmp_path: Path, after: int, delay: float) -> None:
    """Run ``argv`` and SIGKILL it ``delay`` seconds after its ``after``-th fsync began (after 0: after
    the start); a run that ends first is not killed."""
    proc = start(argv, tmp_path, at=after)
    try:
        seen = 0
        while seen < after:
            line = proc.stdout.readline()
            if not line:
                break  # it ended
            seen += line.startswith(b"@fsync ")
        time.sleep(delay)
    finally:
        kill_group(proc)
        proc.stdout.close()


def one_line_error(code: int, err: str) -> str:
    assert code == 1, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


def outputs(run_dir: Path, reference: Path) -> dict:
    """``run_dir/output``'s files, each checked byte for byte against ``reference``'s, where meta.json's
    timestamp (the run's start, from its run.json) is the reference's."""
    def started(d: Path) -> str:
        return json.dumps(json.loads((d / "run.json").read_text())["started"])

    mine = {p.name: p.read_bytes() for p in (run_dir / "output").iterdir()}
    theirs = {p.name: p.read_bytes() for p in (reference / "output").iterdir()}
    stamp = b'"timestamp": '
    theirs["meta.json"] = theirs["meta.json"].replace(stamp + started(reference).encode(),
                                                      stamp + started(run_dir).encode())
    assert sorted(mine) == sorted(theirs), f"{run_dir}: output/ holds {sorted(mine)}"
    for name in theirs:
        assert mine[name] == theirs[name], f"{run_dir}/output/{name} differs from the uninterrupted run's"
    return mine


def no_half_file(run_dir: Path) -> None:
    """Every visible JSON file of the run folder is whole; no set machinery is left in ``output/``."""
    for path in run_dir.rglob("*.json"):
        if not path.name.startswith("."):
            json.loads(path.read_bytes())  # a truncated file raises
    left = [p.name for p in (run_dir / "output").iterdir() if p.name.startswith(".")] \
        if (run_dir / "output").is_dir() else []
    assert not left, f"{run_dir}/output: {left} left behind"


# -- the two trainers ---------------------------------------------------------------------------------


def tabular_case(tmp_path: Path) -> tuple:
    data = make_csv(tmp_path / "d.csv")
    return "tabular", ["tabular", "train", data, "--label", "colour", "--hidden", "6,4", "--epochs", "7",
                       "--checkpoint-every", "1", "--patience", "50", "--batch-size", "8", "--quiet"]


def seq_case(tmp_path: Path) -> tuple:
    X, y = word_task(24, seed=3, min_steps=2, max_steps=4)
    data = tmp_path / "w.csv"
    write_csv_long(data, X, y)
    return "seq", ["seq", "train", data, "--hidden", "4", "--epochs", "5", "--checkpoint-every", "1",
                   "--patience", "50", "--batch-size", "8", "--quiet"]


CASES = {"tabular": tabular_case, "seq": seq_case}


def reference_run(tmp_path: Path, argv) -> tuple:
    """An uninterrupted run: its folder and the paths of its fsyncs, in order."""
    code, paths, err = run([*argv, "--runs-dir", tmp_path / "ref"], tmp_path)
    assert code == 0, err
    (ref,) = (tmp_path / "ref").iterdir()
    return ref, paths


def kill_points(paths, rng: random.Random, n_random: int) -> list:
    """``(after, delay)`` kills: inside a checkpoint's write, best_model.json's, the first staged output
    file's, the set journal's; in output/ after the journal's commit (before the moves), after the
    moves (before the journal is removed) and after it is removed (before the staging folder is); plus ``n_random`` seeded random moments, and one
    at a random time from the start (the data being read, the run folder created)."""
    def first(test) -> int:
        return next(i for i, p in enumerate(paths) if test(p)) + 1

    out = [i + 1 for i, p in enumerate(paths) if p.endswith("/output")]
    aimed = [first(lambda p: "/checkpoints/.epoch_0003.json." in p),
             first(lambda p: "/checkpoints/.best_model.json." in p),
             first(lambda p: "/output/.stingerml-set-" in p),
             first(lambda p: "/output/..stingerml-set.journal." in p),
             *out[-3:]]
    points = [(after, rng.uniform(0, SLOW)) for after in aimed]
    points += [(rng.randint(1, len(paths)), rng.uniform(0, 2 * SLOW)) for _ in range(n_random)]
    return points + [(0, rng.uniform(0.3, 1.5))]


def attack(tmp_path: Path, case: str, n_random: int, seed: int, kill_resume: bool = False) -> dict:
    """Kill a run at every point of :func:`kill_points` (``kill_resume``: its first ``--resume`` too, at
    a random moment); after each, ``--resume`` gives the uninterrupted run's outputs, or refuses with
    one line. Returns how the kills landed."""
    command, argv = CASES[case](tmp_path)
    ref, paths = reference_run(tmp_path, argv)
    landed = {"absent": 0, "no run.json": 0, "resumed": 0, "finished": 0}
    rng = random.Random(seed)
    for i, (after, delay) in enumerate(kill_points(paths, rng, n_random)):
        runs = tmp_path / f"runs{i}"
        killed([*argv, "--runs-dir", runs], tmp_path, after, delay)
        folders = list(runs.iterdir()) if runs.exists() else []
        if not folders:
            landed["absent"] += 1
            continue
        (run_dir,) = folders
        where = f"kill {i} (after fsync {after} + {delay:.3f} s)"
        if kill_resume:
            again = rng.randint(1, len(paths)), rng.uniform(0, 2 * SLOW)
            killed([command, "train", "--resume", run_dir, "--quiet"], tmp_path, *again)
            where += f", its resume killed after fsync {again[0]} + {again[1]:.3f} s"
        code, _, err = run([command, "train", "--resume", run_dir, "--quiet"], tmp_path)
        no_half_file(run_dir)
        if not (run_dir / "run.json").exists():
            assert "stopped before it started (no run.json yet); nothing to resume" in one_line_error(code, err), where
            landed["no run.json"] += 1
            continue
        if code == 0:
            landed["resumed"] += 1
            left = [str(p.relative_to(run_dir)) for p in run_dir.rglob(".*")]
            assert not left, f"{where}: {left} left in the resumed run"
        else:
            assert "this run has finished" in one_line_error(code, err), f"{where}: {err}"
            landed["finished"] += 1
        no_half_file(run_dir)
        outputs(run_dir, ref)
    return landed


@pytest.mark.parametrize("case", ["tabular", "seq"])
def test_sigkill_at_any_moment_then_resume_gives_the_uninterrupted_bytes(tmp_path, case):
    landed = attack(tmp_path, case, n_random=1, seed=29)
    assert landed["resumed"] >= 3 and landed["finished"] >= 2, landed  # kills before and after the commit


@pytest.mark.slow
@pytest.mark.parametrize("case", ["tabular", "seq"])
def test_sigkill_sweep(tmp_path, case):
    """The bigger sweep: 40 random moments, and each run's first --resume killed too."""
    landed = attack(tmp_path, case, n_random=40, seed=2929, kill_resume=True)
    assert landed["resumed"] >= 5 and landed["finished"] >= 5, landed  # (a killed resume may finish the run)


# -- a full disk ----------------------------------------------------------------------------------------


def snapshot(folder: Path, skip=()) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name not in skip}


def test_disk_full_while_writing_the_outputs_keeps_the_checkpoints_and_resumes(tmp_path):
    """``ulimit -f`` between the largest checkpoint and meta.json: the run trains, then the output set
    cannot be written: one line, exit 1, output/ empty, every checkpoint kept byte for byte; the run
    then resumes to the uninterrupted run's bytes."""
    command, argv = tabular_case(tmp_path)
    ref, _ = reference_run(tmp_path, argv)
    sizes = {str(p.relative_to(ref)): p.stat().st_size for p in ref.rglob("*") if p.is_file()}
    limit = sizes["output/meta.json"] - 1
    assert max(v for k, v in sizes.items() if k != "output/meta.json") < limit - 1000, sizes  # the premise
    code, _, err = run([*argv, "--runs-dir", tmp_path / "runs"], tmp_path, fsize=limit)
    assert "/output: cannot write the results: File too large; nothing was changed" in one_line_error(code, err)
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert list((run_dir / "output").iterdir()) == []
    before = snapshot(run_dir, skip=("training.log",))
    assert "checkpoints/epoch_0007.json" in before
    code, _, err = run([command, "train", "--resume", run_dir, "--quiet"], tmp_path, fsize=limit)  # still full
    one_line_error(code, err)
    assert snapshot(run_dir, skip=("training.log",)) == before
    code, _, err = run([command, "train", "--resume", run_dir, "--quiet"], tmp_path)
    assert code == 0, err
    no_half_file(run_dir)
    outputs(run_dir, ref)


@pytest.mark.parametrize("case", ["tabular", "seq"])
def test_disk_full_while_checkpointing_keeps_the_checkpoints_and_resumes(tmp_path, case):
    """A run killed at its third checkpoint, resumed while its next checkpoint does not fit (``ulimit -f``
    one byte above the last one): one line, exit 1, the epoch checkpoints byte for byte as they were
    and no temporary file; then it resumes to the uninterrupted run's bytes."""
    command, argv = CASES[case](tmp_path)
    ref, paths = reference_run(tmp_path, argv)
    runs = tmp_path / "runs"
    third = next(i for i, p in enumerate(paths) if "/checkpoints/.epoch_0003.json." in p) + 1
    killed([*argv, "--runs-dir", runs], tmp_path, after=third, delay=0)
    (run_dir,) = runs.iterdir()
    last = sorted((run_dir / "checkpoints").glob("epoch_*.json"))[-1]
    assert not (run_dir / "output" / "model.json").exists()
    before = snapshot(run_dir, skip=("training.log", "best_model.json"))
    code, _, err = run([command, "train", "--resume", run_dir, "--quiet"], tmp_path, fsize=last.stat().st_size + 1)
    assert "epoch_" in one_line_error(code, err) and "File too large" in err
    after = snapshot(run_dir, skip=("training.log", "best_model.json"))
    assert {k: v for k, v in after.items() if "/." not in k} == {k: v for k, v in before.items() if "/." not in k}
    assert [k for k in after if "/." in k] == [], "a temporary file was left"
    code, _, err = run([command, "train", "--resume", run_dir, "--quiet"], tmp_path)
    assert code == 0, err
    no_half_file(run_dir)
    outputs(run_dir, ref)


@pytest.mark.parametrize("command", ["tabular", "seq"])
def test_resume_of_a_folder_without_run_json_says_which_it_is(tmp_path, capsys, command):
    """A run folder killed before its run.json (named as the trainers name them) has nothing to resume;
    any other folder is not a run folder. One line each, exit 1, nothing written."""
    from stingerml.cli import main

    killed_early = tmp_path / "run_20261207_010203_0a1b2c3d"
    mine = tmp_path / "mine"
    for folder in (killed_early, mine):
        (folder / "data").mkdir(parents=True)
    assert main([command, "train", "--resume", str(killed_early)]) == 1
    assert "this run was stopped before it started (no run.json yet); nothing to resume: delete the folder" in \
        one_line_error(1, capsys.readouterr().err)
    assert main([command, "train", "--resume", str(mine)]) == 1
    assert "run folder (no run.json); give the folder" in one_line_error(1, capsys.readouterr().err)
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == [
        "mine", "mine/data", killed_early.name, f"{killed_early.name}/data"]
