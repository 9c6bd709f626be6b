"""One CLI vocabulary (issue 24, and issue 23's "one source for every default"): every default
defined once and shown in the help, one spelling per setting (old spellings hidden and warning),
a help line for every command and argument, the global options listed once, results on stdout
and everything else on stderr for every command (docs/cli.md), ``validate`` reading the slot
from the file."""
from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import re
import shutil
from pathlib import Path

import pytest

from stingerml.cli import build_parser, main
from test_cli_conventions import commands, options

ROOT = Path(__file__).resolve().parent.parent
DEST = {"tflite": "tflite_kind"}  # a run setting whose option has another name (--tflite is a FILE elsewhere)
VECTORS = ROOT / "vectors"
TINY = VECTORS / "sessions" / "tiny.bin"
LR = VECTORS / "browser_app" / "tiny.lr.mlmd"
MLP = VECTORS / "browser_app" / "tiny.mlp.mlmd"


def _parse(argv):
    return build_parser(argv).parse_args(argv)


# -- one source for every default -----------------------------------------------------------------


def test_tabular_cli_defaults_are_the_run_settings_and_the_estimators():
    from stingerml.tabular.estimator import MLPClassifier, MLPRegressor
    from stingerml.tabular.runs import RunSettings

    from stingerml.cli.tabular import CONFIGURABLE, _configured

    ns = _parse(["tabular", "train", "x.csv"])
    args = vars(ns)
    settings = dataclasses.asdict(RunSettings())
    for name, value in settings.items():
        if name in CONFIGURABLE:  # None unless given: --config's value, else RunSettings' own default, applies
            assert args[name] is None and name not in _configured(ns), name
            continue
        cli = args[DEST.get(name, name)]
        assert (tuple(cli) if name == "split" else cli) == value, name
    estimator = {"hidden_layer_sizes": "hidden", "max_epochs": "epochs", "dropout": "dropout", "alpha": "alpha",
                 "learning_rate": "learning_rate", "batch_size": "batch_size", "patience": "patience", "seed": "seed"}
    for cls in (MLPClassifier, MLPRegressor):
        params = inspect.signature(cls.__init__).parameters
        for param, field in estimator.items():
            default = params[param].default
            assert (list(default) if param == "hidden_layer_sizes" else default) == settings[field], (cls, param)


def test_seq_cli_defaults_are_the_seq_settings_and_the_estimators():
    from stingerml.sequence.estimator import LSTMClassifier, TCNClassifier
    from stingerml.sequence.runs import SeqSettings, default_depth

    args = vars(_parse(["seq", "train", "x.npz"]))
    s = SeqSettings()
    for name, value in dataclasses.asdict(s).items():
        if name == "depth":  # None unless given: the architecture's own (TCN blocks, LSTM layers)
            assert args[name] is None
            continue
        cli = args[DEST.get(name, name)]
        assert (tuple(cli) if name == "split" else cli) == value, name
    shared = {"hidden": "hidden", "dropout": "dropout", "alpha": "alpha", "learning_rate": "learning_rate",
              "batch_size": "batch_size", "max_epochs": "epochs", "patience": "patience", "monitor": "monitor",
              "seed": "seed"}
    for cls in (TCNClassifier, LSTMClassifier):
        params = inspect.signature(cls.__init__).parameters
        for param, field in shared.items():
            assert params[param].default == getattr(s, field), (cls, param)
    tcn = inspect.signature(TCNClassifier.__init__).parameters
    assert (tcn["blocks"].default, tcn["kernel_size"].default, tcn["pooling"].default) == (
        s.depth, s.kernel_size, s.pooling) == (default_depth("tcn"), s.kernel_size, s.pooling)
    assert default_depth("lstm") == inspect.signature(LSTMClassifier.__init__).parameters["layers"].default


def test_audio_cli_defaults_are_the_audio_settings():
    from stingerml.audio import AudioSettings

    args = vars(_parse(["audio", "features", "a.wav", "-o", "f.csv"]))
    for name, value in dataclasses.asdict(AudioSettings()).items():
        assert args[name] == value, name


def test_other_cli_defaults_are_the_library_signatures():
    """Options whose default a library function or class already defines read it from there."""
    from stingerml.blaster.online import PostProcess, propose
    from stingerml.blaster.shots import DEFAULT_MIN_GAP_MS
    from stingerml.deploy.quantize import REPRESENTATIVE_ROWS, representative_rows
    from stingerml.device.client import DeviceClient
    from stingerml.device.emulator import Blaster
    from stingerml.tabular.api import DEFAULT_RETRIES, DEFAULT_TIMEOUT

    online = _parse(["online", "a.bin", "--lr", "l", "--mlp", "m"])
    assert (online.ema_ms, online.on, online.min_on_ms) == (PostProcess().ema_ms, PostProcess().on,
                                                           PostProcess().min_on_ms)
    budget = inspect.signature(propose).parameters
    assert (online.max_false_per_min, online.max_on_away) == (budget["max_false_per_min"].default,
                                                              budget["max_on_away"].default)
    export = _parse(["export-model", "m.bin", "-o", "d"])
    assert (export.calibration_rows, export.seed) == (REPRESENTATIVE_ROWS, inspect.signature(representative_rows).parameters["seed"].default)
    assert _parse(["plot", "a.bin", "-o", "d"]).min_shot_gap_ms == DEFAULT_MIN_GAP_MS
    emulate = _parse(["emulate", "--pty"])
    blaster = inspect.signature(Blaster).parameters
    assert (emulate.debug_rate, emulate.seed, emulate.upload_timeout) == (
        blaster["debug_rate"].default, blaster["seed"].default, blaster["upload_timeout_s"].default)
    client = inspect.signature(DeviceClient).parameters["timeout"].default
    assert {_parse([c, "-o", "x.bin"] if c == "pull" else [c]).timeout for c in ("pull", "push", "info", "delete")} == {client}
    api = _parse(["tabular", "train", "x.csv"])
    assert (api.api_timeout, api.api_retries) == (DEFAULT_TIMEOUT, DEFAULT_RETRIES)


def test_benchmark_cli_defaults_are_the_benchmark_config():
    from stingerml.blaster.benchmark import BenchmarkConfig

    args = _parse(["benchmark", "a.bin", "-o", "r.md"])
    d = BenchmarkConfig()
    assert (args.seeds, args.test_frac, args.lr_iterations, args.mlp_iterations) == (
        d.seeds, d.test_frac, d.lr_iter, d.mlp_iter)


def _help_of(command: str, flag: str) -> str:
    action = options(commands()[command])[flag]
    return action.help % {"default": action.default} if "%(default)" in action.help else action.help


def test_help_shows_each_default_value():
    from stingerml.blaster.benchmark import BenchmarkConfig
    from stingerml.blaster.settings import APP
    from stingerml.tabular.runs import RunSettings

    s = RunSettings()
    for flag, value in (("--learning-rate", s.learning_rate), ("--epochs", s.epochs), ("--dropout", s.dropout),
                        ("--seed", s.seed), ("--hidden", ",".join(map(str, s.hidden)))):
        assert f"default {value}" in _help_of("tabular train", flag), flag
    from stingerml.sequence.runs import SeqSettings

    q = SeqSettings()
    for flag, value in (("--learning-rate", q.learning_rate), ("--epochs", q.epochs), ("--hidden", q.hidden),
                        ("--monitor", q.monitor), ("--checkpoint-every", q.checkpoint_every)):
        assert f"default {value}" in _help_of("seq train", flag), flag
    assert f"default {BenchmarkConfig().mlp_iter}" in _help_of("benchmark", "--mlp-iterations")
    assert f"app {APP.mlp_iterations}" in _help_of("train", "--mlp-iterations")


# -- one spelling per setting ---------------------------------------------------------------------


def test_one_spelling_per_setting():
    for name, p in commands().items():
        visible = {s for a in p._actions if a.help != argparse.SUPPRESS for s in a.option_strings}
        assert not visible & {"--mlp-iter", "--lr-iter"}, name
        if "--lr" in visible:  # --lr is an LR model file wherever it is shown
            assert "LR model" in options(p)["--lr"].help, name
        if "--mlp" in visible:
            assert "MLP model" in options(p)["--mlp"].help, name
    for name in ("train", "benchmark"):
        assert "--mlp-iterations" in options(commands()[name]), name
    assert "--learning-rate" in options(commands()["tabular train"])


@pytest.mark.parametrize("argv,dest,value,new", [
    (["tabular", "train", "x.csv", "--lr", "0.01"], "learning_rate", 0.01, "--learning-rate"),
    (["benchmark", "a.bin", "-o", "r.md", "--mlp-iter", "7"], "mlp_iterations", 7, "--mlp-iterations"),
    (["benchmark", "a.bin", "-o", "r.md", "--lr-iter", "9"], "lr_iterations", 9, "--lr-iterations"),
    (["export-model", "m.bin", "-o", "d", "--rows", "5"], "calibration_rows", 5, "--calibration-rows"),
])
def test_old_spellings_still_work_hidden_and_warn(argv, dest, value, new, capsys):
    assert getattr(_parse(argv), dest) == value
    err = capsys.readouterr().err
    assert f"{argv[-2]} is deprecated, use {new}" in err
    command = " ".join(argv[:2]) if argv[0] in ("tabular", "seq") else argv[0]
    assert options(commands()[command])[argv[-2]].help == argparse.SUPPRESS


# -- help lines -----------------------------------------------------------------------------------


def test_every_command_and_argument_has_a_help_line():
    missing = []
    top = build_parser(None)
    for name, p in commands().items():
        if not p.description:
            missing.append(f"{name}: no description")
        for a in p._actions:
            if isinstance(a, (argparse._SubParsersAction, argparse._HelpAction)) or a.help == argparse.SUPPRESS:
                continue
            if not a.help:
                missing.append(f"{name} {'/'.join(a.option_strings) or a.dest}: no help")
    listed = {c.dest: c.help for c in next(a for a in top._actions if isinstance(a, argparse._SubParsersAction))
              ._choices_actions}
    missing += [f"{name}: no line in stingerml --help" for name in listed if not listed[name]]
    assert not missing, "\n".join(missing)


def test_global_options_are_listed_once():
    top_help = build_parser(None).format_help()
    assert top_help.count("where the hot loops run") == 1
    for name, p in commands().items():
        text = p.format_help()
        assert "where the hot loops run" not in text, name  # the long help: only on stingerml --help
        assert "--backend, --processes and -q/--quiet are accepted here too" in " ".join(text.split()), name


# -- validate reads the slot from the file --------------------------------------------------------


def test_validate_infers_the_slot_and_checks_a_given_one(capsys):
    assert main(["validate", str(MLP), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["slot"] == "mlp"
    assert main(["validate", str(LR), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["slot"] == "lr"
    assert main(["validate", str(LR), "--slot", "mlp"]) == 1
    assert capsys.readouterr().out.startswith("rejected:")


def test_validate_of_a_file_that_is_no_model_says_why(tmp_path, capsys):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a model at all, but long enough for a header")
    assert main(["validate", str(junk)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("rejected:") and "junk.bin" in out


# -- results on stdout, the rest on stderr ---------------------------------------------------------

DIAGNOSTIC = re.compile(r"^(note|warning|error):|\b(Parsed|iteration|Training|epoch)\b")


def _stream_cases(work: Path, url: str):
    """Every command: (argv, what its stdout must show). Its stdout must carry that result and no
    diagnostics; its stderr no result line."""
    models = work / "models"
    return {
        "convert": (["convert", str(TINY), "-o", "t.csv"], "t.csv"),
        "synth": (["synth", "-o", "s.bin", "--seconds", "20"], "s.bin"),
        "train": (["train", str(TINY), "-o", "trained"], "trained"),
        "demo": (["demo", "-o", "demo_out"], "demo_out"),
        "report": (["report", "trained"], "report.html"),
        "validate": (["validate", str(LR)], "accepted"),
        "replay": (["replay", str(TINY), "--lr", str(LR), "-o", "p.csv"], "p.csv"),
        "online": (["online", str(TINY)], "rising edges"),
        "export-header": (["export-header", "--lr", str(LR), "-o", "w.h"], "w.h"),
        "golden": (["golden", str(TINY), "-o", "g/"], "g/"),
        "diff": (["diff", str(LR), str(LR)], "identical"),
        "export": (["export", str(TINY), "-o", "train_folder"], "train_folder"),
        "export-model": (["export-model", str(MLP), "-o", "deployed"], "deployed"),
        "benchmark": (["benchmark", str(TINY), "--seeds", "1", "--models", "lr", "--lr-iterations", "20", "-o",
                       "b.md"], "b.md"),
        "plot": (["plot", str(TINY), "-o", "plots"], "plots/"),
        "pull": (["pull", "-o", "pulled.bin", "--port", url], "pulled.bin"),
        "push": (["push", str(models), "--port", url], "fingerprint verified"),
        "info": (["info", "--port", url], "model_source="),
        "delete": (["delete", "--port", url], "deleted"),
    }


# commands whose stream use is tested elsewhere: emulate (its stdout is the device URL, test_device_cli),
# the run-folder trainers (tests/test_tabular_runs.py, tests/test_sequence.py: the run folder / metrics on
# stdout, progress on stderr)
ELSEWHERE = {"emulate", "tabular", "tabular train", "tabular predict", "tabular evaluate",
             "seq", "seq train", "seq predict", "seq evaluate", "audio", "audio features"}  # audio: test_audio_cli


def test_results_on_stdout_and_diagnostics_on_stderr(tmp_path, monkeypatch, capsys):
    pytest.importorskip("serial")
    from stingerml.device import Blaster, TcpServer

    monkeypatch.chdir(tmp_path)
    (tmp_path / "models").mkdir()
    shutil.copyfile(LR, tmp_path / "models" / "ml_model_lr.bin")
    shutil.copyfile(MLP, tmp_path / "models" / "ml_model_mlp.bin")
    server = TcpServer(Blaster(TINY.read_bytes())).start()
    try:
        cases = _stream_cases(tmp_path, server.url)
        assert set(commands()) - ELSEWHERE == set(cases), "a new command needs its line here"
        wrong = []
        for name, (argv, result) in cases.items():
            code = main(argv)
            out, err = capsys.readouterr()
            if code != 0:
                wrong.append(f"{name}: exit {code}: {err.strip()[-300:]}")
                continue
            if result not in out:
                wrong.append(f"{name}: {result!r} not on stdout: {out[-300:]!r}")
            wrong += [f"{name}: diagnostic on stdout: {line!r}" for line in out.splitlines() if DIAGNOSTIC.search(line)]
            wrong += [f"{name}: result on stderr: {line!r}" for line in err.splitlines()
                      if result in line and not line.startswith(("note:", "warning:"))]
            if "//" in out.replace("://", ""):
                wrong.append(f"{name}: a double slash in a printed path: {out!r}")
    finally:
        server.stop()
    assert not wrong, "\n".join(wrong)


def test_patience_counts_the_monitored_value_in_both_trainers():
    """--patience counts epochs without a better --monitor value (val_loss or val_accuracy); tabular train's
    help said "without a lower validation loss", wrong under --monitor val_accuracy (audit)."""
    texts = {command: re.sub(r"\s*\(default [^)]*\)", "", _help_of(command, "--patience"))
             for command in ("tabular train", "seq train")}
    assert set(texts.values()) == {"stop after this many epochs without a better --monitor value"}, texts


def test_an_option_means_one_thing_in_every_command():
    """The same spelling shown in two commands takes the same kind of value: the same choices (a
    kind such as ``--tflite-kind``) or none (a path such as export-model's ``--tflite FILE``), and
    the same number type."""
    seen = {}
    for name, p in commands().items():
        for a in p._actions:
            if a.help == argparse.SUPPRESS:
                continue
            kind = (tuple(a.choices) if a.choices else None,
                    a.type if a.type in (int, float) else None)
            for spelling in a.option_strings:
                seen.setdefault(spelling, {}).setdefault(kind, []).append(name)
    mixed = {s: kinds for s, kinds in seen.items() if len(kinds) > 1}
    assert not mixed, mixed


@pytest.mark.parametrize("argv,dest,value,new", [
    (["tabular", "train", "x.csv", "--tflite", "both"], "tflite_kind", "both", "--tflite-kind"),
    (["seq", "train", "x.csv", "--tflite", "float"], "tflite_kind", "float", "--tflite-kind"),
    (["benchmark", "a.bin", "-o", "r.md", "--features", "rich"], "feature_sets", ["rich"], "--feature-sets"),
])
def test_renamed_kinds_keep_their_old_spelling(argv, dest, value, new, capsys):
    """``--tflite`` is a FILE in export-model and ``--features`` columns in tabular train: the kind and
    the feature-set options got their own names; the old spellings still work, hidden, with a warning."""
    test_old_spellings_still_work_hidden_and_warn(argv, dest, value, new, capsys)
