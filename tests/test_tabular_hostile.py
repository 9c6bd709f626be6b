"""Hostile run folders and settings for `tabular train` (issue 29, groups 3 and 4): a damaged or
foreign run is one line and exit 1 before any kernel runs (never a segfault, a hang or a silently
different model); bad settings are refused before a run folder exists; a late failure leaves no
half run folder."""
from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stingerml.cli import main
from stingerml.tabular.runs import RunInterrupted, RunSettings, train_run
from test_tabular_runs import make_csv

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = dict(label="colour", hidden=[6, 4], epochs=6, checkpoint_every=2, patience=50, batch_size=8)


@pytest.fixture(scope="module")
def stopped(tmp_path_factory):
    """A run stopped after epoch 3 (checkpoints at 2 and, written by the interrupt, at 3: the one
    --resume reads), and a second run of the same shape."""
    tmp = tmp_path_factory.mktemp("runs")
    data = make_csv(tmp / "d.csv")

    def stop_at_3(event):
        if event.stage == "epoch" and event.done == 3:
            raise KeyboardInterrupt

    found = []
    for name in ("a", "b"):
        with pytest.raises(RunInterrupted):
            train_run(data, RunSettings(**SETTINGS), runs_dir=tmp / name, progress=stop_at_3)
        (run,) = (tmp / name).iterdir()
        found.append(run)
    return found


def copy_run(run: Path, tmp_path: Path) -> Path:
    dst = tmp_path / run.name
    shutil.copytree(run, dst)
    return dst


def edit_json(path: Path, change) -> None:
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


def resume_cli(run: Path):
    """`tabular train --resume RUN` in a child (a segfault or a hang must fail this test, not the suite)."""
    proc = subprocess.run([sys.executable, "-m", "stingerml", "tabular", "train", "--resume", str(run)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    return proc.returncode, proc.stderr


def b64(values_bytes: bytes) -> str:
    return base64.b64encode(values_bytes).decode()


CKPT = "checkpoints/epoch_0003.json"  # the last checkpoint: the one --resume reads
CHECKPOINT_DAMAGE = {
    "moments shorter than the weights": lambda d: d.update(M=b64(base64.b64decode(d["M"])[:-8])),
    "rng_state 2**40": lambda d: d.update(rng_state=2 ** 40),
    "rng_state 2**70": lambda d: d.update(rng_state=2 ** 70),
    "rng_state 0": lambda d: d.update(rng_state=0),
    "P not base64": lambda d: d.update(P="@@@"),
    "P empty": lambda d: d.update(P=""),
    "epoch -5": lambda d: d.update(epoch=-5),
    "done a string": lambda d: d.update(done="false"),
    "epoch a float": lambda d: d.update(epoch=2.0),
    "history too short": lambda d: d.update(history=[]),
    "history entries without their numbers": lambda d: d.update(history=[{"epoch": 1}] * 3),  # audit: trained on
    "history epochs out of order": lambda d: d.update(history=d["history"][::-1]),
    "history entries with other keys": lambda d: d["history"][1].pop("loss"),
    "missing key": lambda d: d.pop("V"),
    "extra key": lambda d: d.update(extra=1),
    "best_epoch after epoch": lambda d: d.update(best_epoch=9),
    "weights of another shape": lambda d: d.update(P=b64(base64.b64decode(d["P"]) * 2)),
    "V negative": lambda d: d.update(V=b64(b"\x00" * 7 + b"\xbf" + base64.b64decode(d["V"])[8:])),
    "not a checkpoint": lambda d: d.update(format="other"),
}


@pytest.mark.parametrize("case", sorted(CHECKPOINT_DAMAGE))
def test_a_damaged_checkpoint_is_one_line(stopped, tmp_path, case):
    run = copy_run(stopped[0], tmp_path)
    edit_json(run / CKPT, CHECKPOINT_DAMAGE[case])
    code, err = resume_cli(run)
    assert code == 1 and err.startswith("error: ") and err.count("\n") == 1, err
    assert "epoch_0003.json" in err, err
    assert not (run / "output" / "model.json").exists()


@pytest.mark.parametrize("raw", [b"", b"{", b"[" * 100000, b"\xff", b"null", b"[]"])
def test_a_checkpoint_that_is_not_json_is_one_line(stopped, tmp_path, raw):
    run = copy_run(stopped[0], tmp_path)
    (run / CKPT).write_bytes(raw)
    code, err = resume_cli(run)
    assert code == 1 and err.startswith("error: ") and err.count("\n") == 1, err


def test_another_runs_checkpoint_of_the_same_shape_is_refused(stopped, tmp_path):
    run = copy_run(stopped[0], tmp_path)
    shutil.copy(stopped[1] / CKPT, run / CKPT)
    code, err = resume_cli(run)
    assert code == 1 and "another run" in err, err


def test_a_replaced_data_copy_is_refused(stopped, tmp_path):
    run = copy_run(stopped[0], tmp_path)
    csv = run / "data" / "dataset.csv"
    lines = csv.read_text().splitlines()
    first = lines[1].split(";")
    lines[1] = ";".join([first[0][:-1] + ("1" if first[0][-1] != "1" else "2"), *first[1:]])  # one digit
    csv.write_text("\n".join(lines) + "\n")
    code, err = resume_cli(run)
    assert code == 1 and "dataset_sha256" in err and err.count("\n") == 1, err


RUN_DAMAGE = {
    "run.json empty object": ("run.json", lambda d: d.clear()),
    "run.json settings a list": ("run.json", lambda d: d.update(settings=[])),
    "run.json epochs -1": ("run.json", lambda d: d["settings"].update(epochs=-1)),
    "run.json hidden strings": ("run.json", lambda d: d["settings"].update(hidden=["a"])),
    "run.json lr nan": ("run.json", lambda d: d["settings"].update(learning_rate="NaN")),
    "run.json unknown setting": ("run.json", lambda d: d["settings"].update(colour=1)),
    "run.json started not a time": ("run.json", lambda d: d.update(started="yesterday")),
    "run.json schema a string": ("run.json", lambda d: d.update(schema="no")),
    "split.json empty": ("data/split.json", lambda d: d.clear()),
    "split.json indices out of range": ("data/split.json", lambda d: d.update(train=[10 ** 9])),
    "split.json a list": ("data/split.json", None),
    "split.json rows as strings": ("data/split.json", lambda d: d.update(val=["1", "2"])),
    "split.json rows as floats": ("data/split.json", lambda d: d.update(test=[0.5])),
    "split.json a row of 2**70": ("data/split.json", lambda d: d.update(train=[2 ** 70])),
    "split.json rows an object": ("data/split.json", lambda d: d.update(train={"1": 2})),
}


@pytest.mark.parametrize("case", sorted(RUN_DAMAGE))
def test_a_damaged_run_folder_is_one_line(stopped, tmp_path, case):
    run = copy_run(stopped[0], tmp_path)
    name, change = RUN_DAMAGE[case]
    if change is None:
        (run / name).write_text("[1, 2]")
    else:
        edit_json(run / name, change)
    code, err = resume_cli(run)
    assert code == 1 and err.startswith("error: ") and err.count("\n") == 1, err


@pytest.mark.parametrize("name", ["run.json", "data/split.json"])
def test_a_deeply_nested_run_file_is_one_line(stopped, tmp_path, name):
    run = copy_run(stopped[0], tmp_path)
    (run / name).write_text("[" * 50000 + "]" * 50000)
    code, err = resume_cli(run)
    assert code == 1 and err.startswith("error: ") and err.count("\n") == 1, err


def test_an_intact_copy_still_resumes_to_the_uninterrupted_bytes(stopped, tmp_path):
    run = copy_run(stopped[0], tmp_path)
    assert train_run(resume=run).metrics is not None


# --- settings: refused before a run folder exists ---------------------------------------------------


@pytest.mark.parametrize("option", [["--dropout", "nan"], ["--learning-rate", "inf"], ["--alpha", "nan"], ["--learning-rate", "0"],
                                    ["--dropout", "1"], ["--batch-size", str(10 ** 30)], ["--hidden", "200000,200000"],
                                    ["--alpha", "-1"], ["--dropout", "-0.1"], ["--learning-rate", "1e400"]])
def test_bad_settings_are_one_line_and_create_no_run_folder(tmp_path, capsys, option):
    data = make_csv(tmp_path / "d.csv")
    runs = tmp_path / "runs"
    assert main(["tabular", "train", str(data), "--label", "colour", "--runs-dir", str(runs), "--epochs", "2",
                 *option]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert not runs.exists() or list(runs.iterdir()) == []


def test_the_network_size_limit_can_be_raised(tmp_path, capsys):
    data = make_csv(tmp_path / "d.csv", n=30)
    argv = ["tabular", "train", str(data), "--label", "colour", "--runs-dir", str(tmp_path / "r"), "--epochs", "1",
            "--hidden", "40,40", "-q"]
    assert main([*argv, "--max-parameters", "1000"]) == 1
    assert "--max-parameters" in capsys.readouterr().err
    assert main([*argv, "--max-parameters", "2000"]) == 0


def test_a_late_failure_without_a_checkpoint_removes_the_run_folder(tmp_path, monkeypatch):
    from stingerml.tabular import runs as runs_module

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    data = make_csv(tmp_path / "d.csv")
    monkeypatch.setattr(runs_module, "quantize", broken)  # after training, before any output
    with pytest.raises(OSError):
        train_run(data, RunSettings(**{**SETTINGS, "checkpoint_every": 100}), runs_dir=tmp_path / "r")
    assert list((tmp_path / "r").iterdir()) == []


# --- every JSON the library reads: one guarded reader ----------------------------------------------

DEEP = "[" * 50000 + "]" * 50000


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("finished")
    data = make_csv(tmp / "d.csv")
    return train_run(data, RunSettings(**{**SETTINGS, "epochs": 2}), runs_dir=tmp / "r").run_dir, data


@pytest.mark.parametrize("content", [DEEP, "{\"format\": \"stingerml-network\", \"version\": 1, \"layers\": NaN}",
                                     "{\"format\": \"stingerml-network\", \"version\": 1}", "[]", "\"x\"", ""])
def test_a_damaged_model_json_is_one_line(finished, tmp_path, capsys, content):
    run, data = finished
    copy = copy_run(run, tmp_path)
    (copy / "output" / "model.json").write_text(content)
    assert main(["tabular", "predict", str(copy), str(data), "-o", str(tmp_path / "p.csv")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "model.json" in err, err
    assert not (tmp_path / "p.csv").exists()


def test_a_deep_schema_is_one_line(tmp_path, capsys):
    data = make_csv(tmp_path / "d.csv")
    (tmp_path / "schema.json").write_text(DEEP)
    assert main(["tabular", "train", str(data), "--schema", str(tmp_path / "schema.json"),
                 "--runs-dir", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "nested" in err, err


def test_a_deep_report_json_is_one_line(tmp_path, capsys):
    (tmp_path / "report.json").write_text(DEEP)
    assert main(["report", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "nested" in err, err


def test_a_deep_training_folder_meta_is_one_line(tmp_path, capsys):
    folder = tmp_path / "f"
    assert main(["export", str(ROOT / "vectors" / "sessions" / "tiny.bin"), "--out", str(folder)]) == 0
    (folder / "meta.json").write_text(DEEP)
    assert main(["train", "--train-dir", str(folder), "--out", str(tmp_path / "m")]) == 1
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith("error: ") and "nested" in err, err
