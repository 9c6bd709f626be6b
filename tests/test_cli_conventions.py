"""Issue 15, "what a user expects of the CLI": the conventions every command shares (docs/cli.md).

One output spelling (``-o/--out``), ``--json`` where a command prints a result, the global
options before or after the command's name, ``--quiet`` that never hides a warning, one
overwrite rule, folders made with the user's umask, long work announced, and the same
words for the same counts in ``synth``, ``train`` and ``plot``.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import kill_group
from stingerml.cli import build_parser, main

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "vectors" / "sessions" / "tiny.bin"
SESSION = ROOT / "vectors" / "sessions" / "session_a.bin"
LR_MODEL = ROOT / "vectors" / "browser" / "session_a.lr.mlmd"

WRITERS = {"benchmark", "convert", "pull", "replay", "export-header", "plot", "synth", "train", "demo", "export",
           "golden", "report", "export-model", "tabular predict", "seq predict", "audio features"}  # * train writes under --runs-dir


def _subcommands(parser):
    sub = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
    return {} if sub is None else sub.choices


def commands():
    """Every command's parser by name, the actions of a nested command too (``tabular train``)."""
    found = {}
    for name, p in _subcommands(build_parser(None)).items():
        found[name] = p
        found.update((f"{name} {action}", q) for action, q in _subcommands(p).items())
    return found


def options(p):
    return {s: a for a in p._actions for s in a.option_strings}


def test_every_command_takes_the_global_options_after_its_name():
    for name, p in commands().items():
        for flag in ("--backend", "--processes", "--quiet", "-q"):
            assert flag in options(p), (name, flag)


@pytest.mark.parametrize("argv,backend,processes,quiet", [
    (["--backend", "python", "synth", "-o", "x.bin"], "python", None, False),
    (["synth", "-o", "x.bin", "--backend", "python", "--processes", "1", "--quiet"], "python", "1", True),
    (["--quiet", "--processes", "2", "synth", "-o", "x.bin"], None, "2", True),
    (["--backend", "numba", "synth", "--backend", "python", "-o", "x.bin"], "python", None, False),
    # a nested command's options do not overwrite the global ones given before it
    (["-q", "tabular", "train", "x.csv"], None, None, True),
    (["tabular", "train", "x.csv", "--backend", "python"], "python", None, False),
    (["--backend", "numba", "tabular", "evaluate", "run", "x.csv", "--backend", "python", "-q"], "python", None,
     True),
    (["--processes", "2", "tabular", "predict", "run", "x.csv", "-o", "p.csv"], None, "2", False),
])
def test_global_options_before_or_after(argv, backend, processes, quiet):
    args = build_parser(argv).parse_args(argv)
    assert (args.backend, args.processes, args.quiet) == (backend, processes, quiet)


def test_one_output_spelling():
    for name, p in commands().items():
        opts = options(p)
        outs = {a for a in p._actions if a.dest == "out"}
        if name not in WRITERS:
            assert not outs, name
            continue
        assert opts["-o"] is opts["--out"] and opts["--out"].help != argparse.SUPPRESS, name
        hidden = [s for a in outs if a.help == argparse.SUPPRESS for s in a.option_strings]
        assert set(hidden) <= {"--output"}, (name, hidden)  # the old spelling, hidden
        assert "--output" not in p.format_help(), name


def test_the_old_output_spelling_still_works_and_warns(tmp_path, capsys):
    assert main(["synth", "--output", str(tmp_path / "s.bin"), "--seconds", "1"]) == 0
    assert (tmp_path / "s.bin").stat().st_size == 17 * 100
    assert "--output is deprecated, use -o/--out" in capsys.readouterr().err


def test_json_where_a_command_prints_a_result(tmp_path, capsys):
    for name in ("train", "validate", "benchmark", "export", "plot", "online", "info", "golden", "diff", "report",
                 "export-model", "tabular train", "tabular evaluate"):
        assert "--json" in options(commands()[name]), name
    assert main(["validate", str(LR_MODEL), "--slot", "lr", "--json"]) == 0
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["accepted"] is True and verdict["slot"] == "lr" and verdict["warnings"] == []
    assert main(["validate", str(LR_MODEL), "--slot", "mlp", "--json"]) == 1
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["accepted"] is False and verdict["reason"]

    assert main(["export", str(SESSION), "-o", str(tmp_path / "tf"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    meta = json.loads((tmp_path / "tf" / "meta.json").read_text())
    assert out == {"out": str(tmp_path / "tf"), "meta": meta}

    old = os.umask(0o027)  # and train's folder is made with the umask (the one training run of this file)
    try:
        assert main(["train", str(TINY), "--out", str(tmp_path / "new" / "m"), "--json", "-q"]) == 0
    finally:
        os.umask(old)
    for folder in ("new", "new/m"):
        assert (tmp_path / folder).stat().st_mode & 0o777 == 0o750
    assert (tmp_path / "new" / "m" / "report.json").stat().st_mode & 0o777 == 0o640
    out = json.loads(capsys.readouterr().out)
    report = json.loads((tmp_path / "new" / "m" / "report.json").read_text())
    assert out["files"]["ml_model_lr.bin"] == str(tmp_path / "new" / "m" / "ml_model_lr.bin")
    assert out["summary"] == report["summary"] and out["metrics"] == report["metrics"]
    assert out["settings"] == report["settings"] and out["quality"] == report["quality"]
    # report: its page to -o, --json, --quiet (the trained folder above)
    page = tmp_path / "page.html"
    assert main(["report", str(tmp_path / "new" / "m"), "-o", str(page), "--json", "--quiet"]) == 0
    assert json.loads(capsys.readouterr().out) == {"out": str(page), "imu": True}
    assert page.read_bytes() == (tmp_path / "new" / "m" / "report.html").read_bytes()

    assert main(["benchmark", "--train-dir", str(tmp_path / "tf"), "-o", str(tmp_path / "b.md"), "--seeds", "1",
                 "--models", "lr", "--feature-sets", "summary", "--splits", "random", "--lr-iterations", "20", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["report"] == str(tmp_path / "b.md") and len(out["cells"]) == 1 and out["cells"][0]["runs"] == 1

    assert main(["plot", str(TINY), "-o", str(tmp_path / "p"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["accepted_shots"] == len(list((tmp_path / "p" / "shots").iterdir()))


def _classes_csv(path):
    lines = ["a;b;colour"] + [f"{k + (r * 37 % 11) / 10:.2f};{(r * 53 % 13) / 10 - k:.2f};{'xyz'[k]}"
                              for r in range(60) for k in [r % 3]]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_tabular_follows_the_conventions(tmp_path, capsys):
    data = _classes_csv(tmp_path / "d.csv")
    runs = tmp_path / "runs"
    train = ["tabular", "train", str(data), "--label", "colour", "--hidden", "4", "--epochs", "2",
             "--runs-dir", str(runs)]
    assert main(["-q", *train]) == 0  # -q before the command is not overwritten by the action's parser
    out, err = capsys.readouterr()
    assert err == "" and out.strip().startswith(str(runs))
    assert main([*train, "--json"]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out)
    meta = json.loads((Path(result["run_dir"]) / "output" / "meta.json").read_text())
    assert result["metrics"] == meta["model"]["metrics"] and set(result["metrics"]["int8"]) >= {"accuracy"}
    assert "epoch 2/2" in err  # progress still on stderr
    with pytest.raises(SystemExit) as info:
        main([*train, "--epochs", "0"])
    assert info.value.code == 2 and "expected a whole number >= 1" in capsys.readouterr().err
    run = result["run_dir"]
    assert main(["tabular", "predict", run, str(data), "--out", str(tmp_path / "p.csv"), "-q"]) == 0
    assert capsys.readouterr() == ("", "") and (tmp_path / "p.csv").read_text().count("\n") == 61
    assert main(["tabular", "predict", run, str(data), "--output", str(tmp_path / "q.csv")]) == 0
    assert "--output is deprecated, use -o/--out" in capsys.readouterr().err
    assert (tmp_path / "q.csv").read_bytes() == (tmp_path / "p.csv").read_bytes()
    assert main(["tabular", "evaluate", run, str(data), "--json", "-q"]) == 0
    assert sum(map(sum, json.loads(capsys.readouterr().out)["confusion_matrix"])) == 60


def test_export_model_follows_the_conventions(tmp_path, capsys):
    out = tmp_path / "deploy"
    assert main(["export-model", str(LR_MODEL), "-o", str(out), "--log", str(SESSION), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    meta = json.loads((out / "meta.json").read_text())
    assert sorted(result["files"]) == ["meta.json", "model.onnx", "model.tflite"]
    for name, f in result["files"].items():
        assert f == {"path": str(out / name), "bytes": (out / name).stat().st_size}
    assert result["check"] == meta["check"] and result["kind"] == "LR"
    assert main(["export-model", str(LR_MODEL), "-o", str(out), "--log", str(SESSION), "-q"]) == 0
    assert capsys.readouterr() == ("", "")
    assert main(["export-model", str(LR_MODEL), "--output", str(out), "-q"]) == 0  # no log: ONNX + meta only
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("warning: --output is deprecated") and "model.tflite not written" in err[1]


def test_golden_and_diff_follow_the_conventions(tmp_path, capsys):
    g = tmp_path / "g"
    assert main(["golden", str(TINY), "-o", str(g), "--json", "-q"]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert err == "" and result["out"] == str(g) and result["windows"] == len(json.loads(
        (g / "golden.json").read_text())["windows"])
    assert sorted(p.name for p in g.iterdir()) == sorted(result["files"])
    assert main(["golden", str(TINY), "--output", str(g), "-q"]) == 0  # the old spelling, and replaced again
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("warning: --output is deprecated, use -o/--out") and err.count("\n") == 1
    # diff: the comparison is the result asked for, so --quiet does not hide it
    assert main(["diff", str(LR_MODEL), str(LR_MODEL), "--quiet"]) == 0
    assert capsys.readouterr().out
    assert main(["diff", str(LR_MODEL), str(LR_MODEL), "--json", "-q"]) == 0
    assert json.loads(capsys.readouterr().out)["identical"] is True


def test_quiet_never_hides_a_warning(tmp_path, capsys):
    short = tmp_path / "short.bin"
    assert main(["synth", "-o", str(short), "--seconds", "30", "-q"]) == 0
    assert capsys.readouterr() == ("", "")
    # nor an error (export of a folder without negatives)
    assert main(["export", str(TINY), "-o", str(tmp_path / "tf"), "--neg-mult", "0", "-q"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and "error:" in err and "0 negatives" in err
    # a training run's warnings (here before it refuses a folder too small: no fit needed)
    assert main(["export", str(short), "-o", str(tmp_path / "tf2"), "-q"]) == 0
    assert main(["train", "--train-dir", str(tmp_path / "tf2"), "-o", str(tmp_path / "m"), "--quiet"]) == 1
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert out == "" and lines[-1].startswith("error:"), lines
    assert lines[:-1] and all(line.startswith("warning: ") for line in lines[:-1]), lines
    assert any("Small dataset" in line for line in lines)
    # the same run without --quiet says the same warnings among its progress lines
    assert main(["train", "--train-dir", str(tmp_path / "tf2"), "-o", str(tmp_path / "m")]) == 1
    loud = capsys.readouterr().err
    assert all(line.replace("warning: ", "WARNING: ", 1) in loud for line in lines[:-1])


def test_backend_numba_without_numba_is_an_error_after_the_command_too(tmp_path):
    code = "import sys; sys.modules['numba'] = None; from stingerml.cli import main; sys.exit(main(%r))"
    argv = ["synth", "-o", str(tmp_path / "x.bin"), "--backend", "numba"]
    p = subprocess.run([sys.executable, "-c", code % (argv,)], capture_output=True,
                       env=dict(os.environ, PYTHONPATH=str(ROOT)))
    err = p.stderr.decode().strip().splitlines()
    assert p.returncode == 1 and len(err) == 1 and err[0].startswith("error:") and "numba" in err[0], err
    assert list(tmp_path.iterdir()) == []


def test_every_command_replaces_its_outputs(tmp_path, capsys):
    """The one overwrite rule: a second run replaces the file, or the set of files, of the first."""
    tf = tmp_path / "tf"
    assert main(["export", str(SESSION), "-o", str(tf), "--neg-mult", "3"]) == 0
    (tf / "mine.txt").write_text("keep")
    assert main(["export", str(SESSION), "-o", str(tf)]) == 0  # no --overwrite needed any more
    meta = json.loads((tf / "meta.json").read_text())
    assert meta["negatives"] == meta["positives"] and (tf / "mine.txt").read_text() == "keep"
    # plot: the crops of an earlier, longer session do not stay beside this one's
    assert main(["plot", str(SESSION), "-o", str(tmp_path / "p")]) == 0
    assert main(["plot", str(TINY), "-o", str(tmp_path / "p")]) == 0
    out = capsys.readouterr().out.strip().splitlines()[-1]
    shots = int(out.split(" accepted shots")[0].rsplit(" ", 1)[1])
    assert len(list((tmp_path / "p" / "shots").iterdir())) == shots


@pytest.mark.parametrize("umask", [0o002, 0o027])
def test_folders_are_made_with_the_umask(tmp_path, umask):
    """(train's folder: in test_json_where_a_command_prints_a_result, to train only once)"""
    code = (f"import os, sys; os.umask({umask:#o}); from stingerml.cli import main; "
            "sys.exit(main(sys.argv[1:]))")
    for argv in (["export", str(SESSION), "-o", "a/tf"], ["plot", str(TINY), "-o", "c/p"]):
        p = subprocess.run([sys.executable, "-c", code, *argv], cwd=tmp_path, capture_output=True,
                           env=dict(os.environ, PYTHONPATH=str(ROOT)))
        assert p.returncode == 0, p.stderr
    for folder in ("a", "a/tf", "c", "c/p", "c/p/shots"):
        assert (tmp_path / folder).stat().st_mode & 0o777 == 0o777 & ~umask, folder
    for f in ("a/tf/meta.json", "c/p/overview.svg"):
        assert (tmp_path / f).stat().st_mode & 0o777 == 0o666 & ~umask, f


def test_pure_python_says_once_that_it_is_slow_and_how_to_make_it_fast(tmp_path, monkeypatch, capsys):
    """The note comes when the work starts (the first kernel fetched), never before an error about the input."""
    from stingerml import _kernels
    from stingerml.cli import _announce

    (tmp_path / "bad.bin").write_bytes(b"not a log" * 7)
    code = ("import sys; sys.modules['numba'] = None; from stingerml.cli import main; "
            "sys.exit(main(sys.argv[1:]))")
    env = dict(os.environ, PYTHONPATH=str(ROOT), STINGERML_BACKEND="auto")
    argv = ["train", str(tmp_path / "bad.bin"), "-o", str(tmp_path / "m")]
    p = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, env=env)
    lines = p.stderr.decode().splitlines()
    assert p.returncode == 1 and lines[-1].startswith("error:"), lines
    assert not [line for line in lines if line.startswith("note:")], lines  # the work never started

    monkeypatch.setitem(sys.modules, "numba", None)
    monkeypatch.setattr(_kernels, "_name", "python")
    _announce.announce_backend(argparse.Namespace(quiet=False), "training")
    assert capsys.readouterr().err == ""
    _kernels.kernels("train")
    _kernels.kernels("train")
    notes = capsys.readouterr().err.splitlines()
    assert len(notes) == 1 and "pure Python" in notes[0] and "pip install 'stingerml[fast]'" in notes[0], notes
    _announce.announce_backend(argparse.Namespace(quiet=True), "training")
    _kernels.kernels("train")
    assert capsys.readouterr() == ("", "")


def test_numba_says_once_that_it_compiles(tmp_path, monkeypatch, capsys):
    pytest.importorskip("numba")
    from stingerml import _kernels
    from stingerml.cli import _announce

    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    assert not _announce.numba_cached("train") and not _announce.numba_cached("firmware")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "jit.mlp_fit-12.py311.nbi").write_bytes(b"")
    assert _announce.numba_cached("train") and not _announce.numba_cached("firmware")
    monkeypatch.setattr(_kernels, "_name", "numba")
    args = argparse.Namespace(quiet=False)
    _announce.announce_backend(args, "firmware", "firmware", pure=False)
    _announce.announce_backend(args, "training")  # cached: nothing to say
    assert capsys.readouterr().err == ""  # said when the work starts
    _kernels.kernels("firmware")
    _kernels.kernels("train")
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("note: numba compiles the firmware kernels"), err
    _announce.announce_backend(argparse.Namespace(quiet=True), "firmware", "firmware")
    _kernels.kernels("firmware")
    assert capsys.readouterr() == ("", "")


def test_counted_stages_print_a_line_per_quarter_without_a_terminal():
    import io

    from stingerml.cli._progress import StderrProgress
    from stingerml.core.progress import Progress, Reporter

    stream = io.StringIO()
    rep = Reporter(StderrProgress(stream))
    rep.say("mlp", "Training MLP...")
    for stage, label, total in (("holdout", "LR", 1500), ("holdout", "MLP", 220), ("mlp", "MLP", 600)):
        tick = rep.ticks(stage, label)
        for done in range(1, total + 1):
            tick(done, total)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "Training MLP..." and len(lines) == 1 + 3 * 4, lines
    assert lines[4] == "  LR 1500/1500" and lines[-1] == "  MLP 600/600"
    StderrProgress(stream)(Progress("x", "no total"))
    assert stream.getvalue().endswith("no total\n")


class _Stop(Exception):
    pass


def test_synth_train_plot_and_online_count_in_the_same_words(tmp_path, capsys):
    """"51 trigger pulls" vs "Shots: 68 total", "100.0s at 100Hz" vs "Short recording (112s)": synth
    names both numbers of each pair with the words train and plot use for them."""
    import re

    from stingerml.blaster.log import read_log
    from stingerml.blaster.trainer import train

    log_path = tmp_path / "s.bin"
    assert main(["synth", "-o", str(log_path), "--seconds", "70", "--seed", "3"]) == 0
    said = capsys.readouterr().out
    m = re.search(r"(\d+) samples = ([\d.]+) s at 100 Hz \(the timestamps span ([\d.]+) s: (\d+) pause.*\), "
                  r"(\d+) trigger pulls .* = (\d+) rising edges with contact bounce, (\d+) accepted shots", said)
    assert m, said
    samples, recording, span, pauses, pulls, edges, accepted = m.groups()
    assert int(pauses) > 0 and float(span) > float(recording) and int(edges) > int(pulls)

    lines = []

    def until_fit(event):
        if event.stage == "features":
            raise _Stop  # the counts are said; the fit itself is not needed here
        lines.append(event.message)

    with pytest.raises(_Stop):
        train(read_log(log_path), progress=until_fit)
    assert f"Parsed {samples} samples ({recording}s at 100Hz)" in lines
    assert f"Shots: {edges} total, {accepted} accepted" in lines
    assert f"WARNING: Short recording ({round(float(span))}s). Aim for 5+ minutes for best results." in lines

    assert main(["plot", str(log_path), "-o", str(tmp_path / "p")]) == 0
    assert f"{samples} samples, {edges} rising edges, {accepted} accepted shots" in capsys.readouterr().out
    assert main(["online", str(log_path)]) == 0
    assert f"{edges} rising edges, {accepted} accepted shots" in capsys.readouterr().out


@pytest.mark.parametrize("as_csv", [False, True])
def test_emulate_serves_a_log_from_standard_input(tmp_path, as_csv):
    pytest.importorskip("serial")
    from stingerml.blaster.log import read_log, to_csv
    from stingerml.device import DeviceClient

    data = TINY.read_bytes()
    given = to_csv(read_log(TINY)).encode() if as_csv else data + b"\x01\x02"  # binary: served as it is
    proc = subprocess.Popen([sys.executable, "-m", "stingerml", "emulate", "--log", "-", "--tcp", "0",
                             "--debug-rate", "0"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=dict(os.environ, PYTHONPATH=str(ROOT)),
                            start_new_session=True)
    try:
        proc.stdin.write(given)
        proc.stdin.close()
        url = proc.stdout.readline().decode().strip()
        assert url.startswith("socket://"), (url, proc.stderr.read() if proc.poll() is not None else b"")
        with DeviceClient(url, timeout=5) as client:
            pulled = client.pull_log()
        assert pulled == (data if as_csv else given)
    finally:
        kill_group(proc)


def test_a_command_defining_a_global_option_itself_does_not_break_the_parser(monkeypatch):
    """Command modules merged from other branches may still define --quiet or -q themselves."""
    import stingerml.cli as cli

    def register(subparsers):
        p = subparsers.add_parser("legacy")
        p.add_argument("--quiet", action="store_true")
        p.set_defaults(func=lambda args: 0)

    fake = argparse.Namespace(register=register)
    real_import = cli.importlib.import_module
    monkeypatch.setattr(cli, "COMMANDS", cli.COMMANDS + ("legacy",))
    monkeypatch.setattr(cli.importlib, "import_module",
                        lambda name: fake if name.endswith(".legacy") else real_import(name))
    args = cli.build_parser(["legacy", "--quiet", "--backend", "python"]).parse_args(["legacy", "--quiet",
                                                                                       "--backend", "python"])
    assert args.quiet is True and args.backend == "python"
