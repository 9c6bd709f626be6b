"""Tabular runs: folder layout, resume = uninterrupted bit for bit, the model file, the CLI."""
from __future__ import annotations

import errno
import json
import os
import shutil
import signal
from array import array

import pytest
from conftest import stopped_by, training_process, use_backend

from stingerml.cli import main
from stingerml.core.dense import DenseLayer, DenseNetwork
from stingerml.core.errors import ModelFormatError, OutputError, TabularDataError, TrainingError
from stingerml.core.rng import XorShift32
from stingerml.formats import network
from stingerml.tabular.landmarks import normalize_hand
from stingerml.tabular.runs import RunInterrupted, RunSettings, check_settings, train_run


def make_csv(path, n=90, seed=3, classes=("red", "green", "blue")):
    rng = XorShift32(seed)
    lines = ["a;b;c;colour"]
    for r in range(n):
        k = r % len(classes)
        lines.append(";".join(f"{k + rng() * 1.2:.4f}" for _ in range(3)) + f";{classes[k]}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


SETTINGS = dict(label="colour", hidden=[6, 4], epochs=7, checkpoint_every=2, patience=50, batch_size=8)


def outputs(run_dir):
    """Every output file's bytes; meta.json without its timestamp (the start time of the run)."""
    files = {p.name: p.read_bytes() for p in (run_dir / "output").iterdir()}
    files["meta.json"] = dict(json.loads(files["meta.json"]), timestamp=None)
    return files


@pytest.mark.parametrize("name", ["python", "numba"])
def test_resume_equals_uninterrupted(tmp_path, name):
    data = make_csv(tmp_path / "d.csv")
    with use_backend(name):
        whole = train_run(data, RunSettings(**SETTINGS), runs_dir=tmp_path / "a")

        def stop_at_5(event):
            if event.stage == "epoch" and event.done == 5:
                raise KeyboardInterrupt

        with pytest.raises(RunInterrupted) as info:
            train_run(data, RunSettings(**SETTINGS), runs_dir=tmp_path / "b", progress=stop_at_5)
        (run_b,) = (tmp_path / "b").iterdir()
        # the last finished epoch (5) is kept beside the every-2 checkpoints
        assert info.value.run_dir == run_b and info.value.checkpoint.name == "epoch_0005.json"
        assert sorted(p.name for p in (run_b / "checkpoints").glob("epoch_*")) == [
            "epoch_0002.json", "epoch_0004.json", "epoch_0005.json"]
        assert not (run_b / "output" / "model.json").exists()
        resumed = train_run(resume=run_b)
    assert outputs(resumed.run_dir) == outputs(whole.run_dir)
    assert "interrupted" in (run_b / "logs" / "training.log").read_text()


def test_a_resume_reads_its_data_once_and_says_where_it_continues_after_checking(tmp_path):
    data = make_csv(tmp_path / "d.csv", n=4200)  # the reader reports every 4096 rows

    def stop_at_2(event):
        if event.stage == "epoch" and event.done == 2:
            raise KeyboardInterrupt

    with pytest.raises(RunInterrupted):
        train_run(data, RunSettings(**SETTINGS), runs_dir=tmp_path / "runs", progress=stop_at_2)
    (run,) = (tmp_path / "runs").iterdir()
    edited = shutil.copytree(run, tmp_path / "edited")  # still unfinished when its split is edited below
    events = []
    train_run(resume=run, progress=events.append)
    stages = [e.stage for e in events]
    # one scan and one read of the data copy (a big CSV took a minute a pass), each reported
    reads = [e.message.split()[0] for e in events if e.stage == "read"]
    assert reads and sorted(set(reads)) == ["reading", "scanning"] and reads == sorted(reads, reverse=True)
    resume = [e for e in events if e.stage == "resume"]
    assert [e.message for e in resume] == ["resuming from epoch 2 of 7"]
    assert max(i for i, s in enumerate(stages) if s == "read") < stages.index("resume") \
        < stages.index("start")  # announced once the run is checked, before training
    (edited / "data" / "split.json").write_text('{"train": [], "val": [], "test": []}')  # an edited split
    events.clear()
    with pytest.raises(TrainingError, match="saved split"):
        train_run(resume=edited, progress=events.append)
    assert "resume" not in [e.stage for e in events]
    events.clear()
    with pytest.raises(TrainingError, match="has finished"):
        train_run(resume=run, progress=events.append)
    assert events == []  # a finished run is refused before its data is read


def test_run_folder_contents(tmp_path):
    data = make_csv(tmp_path / "d.csv")
    run = train_run(data, RunSettings(**{**SETTINGS, "epochs": 3}), runs_dir=tmp_path / "runs").run_dir
    assert run.name.startswith("run_") and len(run.name.split("_")[-1]) == 8
    assert (run / "data" / "dataset.csv").read_bytes() == data.read_bytes()
    split = json.loads((run / "data" / "split.json").read_text())
    assert sorted(split["train"] + split["val"] + split["test"]) == list(range(90))
    meta = json.loads((run / "output" / "meta.json").read_text())
    assert meta["labels"]["mapping"] == {"0": "blue", "1": "green", "2": "red"}
    assert meta["features"]["names"] == ["a", "b", "c"] and len(meta["features"]["preprocessing"]["scaler_mean"]) == 3
    assert meta["model"]["metrics"]["confusion_matrix"] and meta["dataset"]["hash"]
    history = json.loads((run / "output" / "training_history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2, 3] and {"loss", "val_loss", "val_accuracy"} <= set(history[0])
    net = network.load(run / "output" / "model.json")
    assert net.classes == ("blue", "green", "red") and net.output == "softmax"


def test_network_file_round_trip_is_float32_exact(tmp_path):
    rng = XorShift32(2)
    w = array("f", [rng() - 0.5 for _ in range(6)])
    net = DenseNetwork((DenseLayer(w, array("f", [1e-30, -3.5]), 3, 2),), "softmax", array("f", [1, 2, 3]),
                       array("f", [0.1, 0.2, 0.3]), ("x", "y", "z"), ("p", "q"))
    network.save(net, tmp_path / "m.json")
    back = network.load(tmp_path / "m.json")
    assert back == net and network.dumps(back) == network.dumps(net)
    (tmp_path / "bad.json").write_text('{"format": "other"}')
    with pytest.raises(ModelFormatError, match="bad.json"):
        network.load(tmp_path / "bad.json")


def test_landmark_rule():
    pts = [0.0] * 63
    pts[0:3] = [1.0, 1.0, 1.0]
    for k in range(1, 21):
        pts[3 * k:3 * k + 3] = [1.0 + k, 1.0, 1.0 + 2 * k]
    f = normalize_hand(pts)
    d = (9 * 9 + 18 * 18) ** 0.5
    assert f[0:3] == [0.0, 0.0, 0.0] and f[27:30] == [9 / d, 0.0, 18 / d]


# -- CLI ------------------------------------------------------------------------------------------


def test_cli_train_predict_evaluate(tmp_path, capsys):
    data = make_csv(tmp_path / "d.csv")
    runs = tmp_path / "runs"
    assert main(["tabular", "train", str(data), "--label", "colour", "--hidden", "5", "--epochs", "3",
                 "--runs-dir", str(runs)]) == 0
    out, err = capsys.readouterr()
    run = out.strip()
    assert run.startswith(str(runs)) and "epoch 3/3" in err  # not a terminal: one line per epoch
    assert main(["tabular", "predict", run, str(data), "-o", str(tmp_path / "p.csv")]) == 0
    rows = (tmp_path / "p.csv").read_text().splitlines()
    assert rows[0] == "line,prediction,p_blue,p_green,p_red" and len(rows) == 91
    capsys.readouterr()
    assert main(["tabular", "evaluate", run, str(data), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert sum(map(sum, metrics["confusion_matrix"])) == 90
    assert main(["tabular", "train", str(data), "--label", "colour", "--hidden", "5", "--epochs", "2", "--quiet",
                 "--runs-dir", str(runs)]) == 0
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("edit, args, expect", [
    (lambda t: t, ["--label", "nope"], "no label column 'nope'"),
    (lambda t: t.replace("red\n", "red\n1;x;2;red\n", 1), ["--label", "colour"], "line 3, column 'b': 'x' is not a number"),
    (lambda t: t.replace("red\n", "red\n1;NA;2;red\n", 1), ["--label", "colour"], "line 3, column 'b': missing value"),
    (lambda t: t.replace("red\n", "red\n1;2;3;purple\n", 1), ["--label", "colour", "--schema", "S"], "'purple' is not one of"),
    (lambda t: t + "1;2;3;pink\n", ["--label", "colour"], "class 'pink' has 1 row(s)"),
    (lambda t: "a;colour\n1;x\n2;x\n3;x\n", ["--label", "colour"], "at least 2 classes"),
])
def test_cli_bad_input_writes_nothing(tmp_path, capsys, edit, args, expect):
    data = make_csv(tmp_path / "d.csv")
    data.write_text(edit(data.read_text()))
    (tmp_path / "schema.json").write_text(json.dumps({"classes": ["red", "green", "blue"]}))
    args = [str(tmp_path / "schema.json") if a == "S" else a for a in args]
    runs = tmp_path / "runs"
    assert main(["tabular", "train", str(data), *args, "--runs-dir", str(runs), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and expect in err and "d.csv" in err
    assert not runs.exists()


def test_cli_drop_missing_reports(tmp_path, capsys):
    data = make_csv(tmp_path / "d.csv")
    data.write_text(data.read_text().replace("red\n", "red\n1;;2;red\n", 1))
    assert main(["tabular", "train", str(data), "--label", "colour", "--drop-missing", "--hidden", "4",
                 "--epochs", "1", "--runs-dir", str(tmp_path / "runs")]) == 0
    assert "dropped 1 row(s)" in capsys.readouterr().err


def test_cli_regression(tmp_path, capsys):
    rng = XorShift32(5)
    rows = ["x1,x2,t1,t2"] + [f"{a:.3f},{b:.3f},{a + b:.3f},{a - b:.3f}"
                              for a, b in ((rng(), rng()) for _ in range(40))]
    (tmp_path / "r.csv").write_text("\n".join(rows) + "\n")
    assert main(["tabular", "train", str(tmp_path / "r.csv"), "--targets", "t1,t2", "--hidden", "4", "--epochs", "2",
                 "--runs-dir", str(tmp_path / "runs"), "--quiet"]) == 0
    run = capsys.readouterr().out.strip()
    assert main(["tabular", "evaluate", run, str(tmp_path / "r.csv"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["targets"] == ["t1", "t2"]


def test_cli_ctrl_c_keeps_checkpoint_and_resumes(tmp_path, capsys, monkeypatch):
    from stingerml.cli import tabular as cli_tabular

    data = make_csv(tmp_path / "d.csv")
    original = cli_tabular.EpochProgress.__call__

    def interrupt(self, event):
        if event.stage == "epoch" and event.done == 3:
            raise KeyboardInterrupt
        original(self, event)

    monkeypatch.setattr(cli_tabular.EpochProgress, "__call__", interrupt)
    args = ["tabular", "train", str(data), "--label", "colour", "--hidden", "4", "--epochs", "5",
            "--checkpoint-every", "2", "--runs-dir", str(tmp_path / "runs")]
    assert main(args) == 130
    err = capsys.readouterr().err
    (run,) = (tmp_path / "runs").iterdir()
    assert "last checkpoint epoch_0003.json" in err and f"--resume {run}" in err
    monkeypatch.setattr(cli_tabular.EpochProgress, "__call__", original)
    assert main(["tabular", "train", "--resume", str(run), "--quiet"]) == 0
    assert json.loads((run / "output" / "training_history.json").read_text())[-1]["epoch"] == 5


@pytest.mark.parametrize("sig,code,word", [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated (SIGTERM)")])
def test_a_signal_keeps_the_last_finished_epoch_and_says_how_to_resume(tmp_path, sig, code, word):
    """Ctrl-C (SIGINT) and SIGTERM of a real process: a checkpoint of the last finished epoch (not only
    the every-N ones), the resume command, exit 130 / 143; --resume says where it continues."""
    data = make_csv(tmp_path / "d.csv", n=600)
    with training_process(["tabular", "train", data, "--label", "colour", "--epochs", "500", "--patience", "500",
                           "--checkpoint-every", "100", "--runs-dir", tmp_path / "runs"], until="epoch 3/") as proc:
        err = stopped_by(proc, sig)
    (run,) = (tmp_path / "runs").iterdir()
    (ckpt,) = (run / "checkpoints").glob("epoch_*.json")
    epoch = int(ckpt.stem.split("_")[1])
    assert proc.returncode == code, err
    assert 3 <= epoch < 100
    assert f"{word}; last checkpoint {ckpt.name} in {run}; continue with: stingerml tabular train --resume {run}" in err
    with training_process(["tabular", "train", "--resume", run], until="resuming from") as resumed:
        assert resumed.matched == f"resuming from epoch {epoch} of 500"


def test_one_process_trains_a_run_at_a_time(tmp_path, capsys):
    """--resume of a run another process is training is refused before anything is written; once
    that process is gone (killed: the system drops its lock), the run resumes."""
    data = make_csv(tmp_path / "d.csv", n=600)
    with training_process(["tabular", "train", data, "--label", "colour", "--epochs", "500", "--patience", "500",
                           "--checkpoint-every", "1", "--runs-dir", tmp_path / "runs"], until="epoch 2/"):
        (run,) = (tmp_path / "runs").iterdir()
        log = (run / "logs" / "training.log").read_text()
        assert main(["tabular", "train", "--resume", str(run), "--quiet"]) == 1
        assert "another process is training this run" in capsys.readouterr().err
        assert (run / "logs" / "training.log").read_text().startswith(log)
        assert "resumed" not in (run / "logs" / "training.log").read_text()

    def stop_at_once(event):
        if event.stage == "epoch":
            raise KeyboardInterrupt

    with pytest.raises(RunInterrupted):  # the lock died with the process: the run resumes
        train_run(resume=run, progress=stop_at_once)
    assert "resumed from epoch_" in (run / "logs" / "training.log").read_text()


def test_exclusive_refuses_a_second_holder(tmp_path):
    from stingerml.core.errors import TrainingError
    from stingerml.learn.runfolder import exclusive

    with exclusive(tmp_path):
        with pytest.raises(TrainingError, match="another process is training this run"):
            with exclusive(tmp_path):
                pass
    with exclusive(tmp_path):  # released
        pass


# --- mutants that survived tools/mutation.py on the run-folder modules (issue 29, group 8) ------------


@pytest.mark.parametrize("seed,ok", [(2 ** 63 - 1, True), (-(2 ** 63), True), (2 ** 63, False), (-(2 ** 63) - 1, False)])
def test_the_seed_is_any_signed_64_bit_integer(seed, ok):
    """run.json keeps the seed as a JSON integer that a signed 64-bit reader takes: both ends in, one past out."""
    settings = RunSettings(**dict(SETTINGS, seed=seed))
    if ok:
        assert check_settings(settings).seed == seed
    else:
        with pytest.raises(TabularDataError, match='"seed"'):
            check_settings(settings)


def test_the_chosen_feature_columns_are_the_models_inputs(tmp_path):
    data = make_csv(tmp_path / "d.csv")
    run = train_run(data, RunSettings(**dict(SETTINGS, features=["c", "a"])), runs_dir=tmp_path / "runs")
    model = json.loads((run.run_dir / "output" / "model.json").read_text())
    assert model["feature_names"] == ["c", "a"]


def test_a_runs_dir_that_cannot_be_made_says_why_in_words(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(OutputError) as info:
        train_run(make_csv(tmp_path / "d.csv"), RunSettings(**SETTINGS), runs_dir=tmp_path / "file" / "runs")
    message = str(info.value)
    assert f"cannot create a run folder ({os.strerror(errno.ENOTDIR)})" in message and "[Errno" not in message
