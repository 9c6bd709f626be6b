"""Training as seed 004's users expect it (issue 26): the status endpoint (GET /api/train/status, POST
/api/train/cancel) read with a real HTTP client (urllib) against the running server, cancel then resume
= the uninterrupted run's bytes; two bars on a terminal, one line per epoch off one; "done" only once
output/ is written."""
from __future__ import annotations

import contextlib
import io
import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import kill_group, use_backend

from stingerml.cli import main
from stingerml.cli._progress import EpochProgress
from stingerml.learn.runfolder import RunInterrupted
from stingerml.learn.status import CANCEL_PATH, STATUS_PATH, StatusServer, TrainStatus
from stingerml.tabular.runs import RunSettings, train_run
from test_tabular_runs import SETTINGS, make_csv, outputs

SEED_KEYS = ["status", "progress", "current_epoch", "total_epochs", "loss_history", "error"]  # seed 004's server


def get(url: str) -> dict:
    with urllib.request.urlopen(url + STATUS_PATH, timeout=10) as answer:
        assert answer.status == 200 and answer.headers["Content-Type"] == "application/json"
        return json.load(answer)


def post_cancel(url: str, headers: dict = None) -> tuple:
    request = urllib.request.Request(url + CANCEL_PATH, data=b"", method="POST", headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


class Paced:
    """A progress callback behind the TrainStatus: at each epoch (and at "done") it tells the test
    and waits until the test lets training go on, so the test reads the status at known points."""

    def __init__(self) -> None:
        self.reached: "queue.Queue[tuple]" = queue.Queue()
        self.go: "queue.Queue[None]" = queue.Queue()
        self.run_dir = None

    def __call__(self, event) -> None:
        if event.stage in ("epoch", "done"):
            self.reached.put((event.stage, event.done))
            self.go.get(timeout=60)

    def next(self) -> tuple:
        return self.reached.get(timeout=120)


def serve_training(status: TrainStatus, start: threading.Event, **train_kw):
    """A thread that serves ``status`` (port 0) and, once ``start`` is set, trains inside the server's
    ``with`` block (the documented use); returns (thread, url, outcome dict)."""
    urls: "queue.Queue[str]" = queue.Queue()
    outcome: dict = {}

    def work() -> None:
        try:
            with StatusServer(status, 0) as server:
                urls.put(server.url)
                start.wait(60)
                outcome["result"] = train_run(progress=status, **train_kw)
        except BaseException as exc:  # noqa: BLE001  (handed to the test)
            outcome["error"] = exc

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread, urls.get(timeout=30), outcome


def test_status_idle_training_cancelled_then_resume_done_equals_uninterrupted(tmp_path):
    data = make_csv(tmp_path / "d.csv")
    with use_backend("python"):
        whole = train_run(data, RunSettings(**SETTINGS), runs_dir=tmp_path / "a")
        history = json.loads((whole.run_dir / "output" / "training_history.json").read_text())
        losses = [h["loss"] for h in history]

        pace, start = Paced(), threading.Event()
        thread, url, outcome = serve_training(TrainStatus(pace), start, csv_path=data,
                                              settings=RunSettings(**SETTINGS), runs_dir=tmp_path / "b")
        first = get(url)
        assert first == {"status": "idle", "progress": 0.0, "current_epoch": 0, "total_epochs": 0,
                         "loss_history": [], "error": None, "run_dir": None}
        assert list(first)[:6] == SEED_KEYS
        start.set()
        for epoch in (1, 2, 3):
            assert pace.next() == ("epoch", epoch)
            (run,) = (tmp_path / "b").iterdir()
            body = get(url)
            assert body["status"] == "training" and body["run_dir"] == str(run)
            assert (body["current_epoch"], body["total_epochs"]) == (epoch, 7)
            assert body["progress"] == epoch / 7
            assert body["loss_history"] == losses[:epoch]  # grows by one loss per epoch
            if epoch == 3:
                code, answer = post_cancel(url)
                assert code == 202 and answer["accepted"] is True and answer["status"] == "training"
            pace.go.put(None)
        body = get(url)
        while body["status"] == "training":  # until the run has stopped and checkpointed
            body = get(url)
        assert body == {"status": "cancelled", "progress": 3 / 7, "current_epoch": 3, "total_epochs": 7,
                        "loss_history": losses[:3], "error": None, "run_dir": str(run)}
        thread.join(60)
        assert not thread.is_alive()
        stop = outcome["error"]
        assert isinstance(stop, RunInterrupted) and stop.checkpoint.name == "epoch_0003.json"
        assert not (run / "output" / "model.json").exists()

        # resumed: the status starts at epoch 3 with the three losses so far, and ends "done"
        pace, start = Paced(), threading.Event()
        thread, url, outcome = serve_training(TrainStatus(pace), start, resume=run)
        start.set()
        assert pace.next() == ("epoch", 4)
        body = get(url)
        assert body["current_epoch"] == 4 and body["loss_history"] == losses[:4]
        for epoch in (5, 6, 7):
            pace.go.put(None)
            assert pace.next() == ("epoch", epoch)
        pace.go.put(None)
        assert pace.next() == ("done", 0)
        body = get(url)  # "done" comes only once the output set is on disk
        assert body == {"status": "done", "progress": 1.0, "current_epoch": 7, "total_epochs": 7,
                        "loss_history": losses, "error": None, "run_dir": str(run)}
        assert (run / "output" / "model.tflite").exists() and (run / "output" / "meta.json").exists()
        code, answer = post_cancel(url)
        assert code == 409 and answer["accepted"] is False and answer["status"] == "done"
        pace.go.put(None)
        thread.join(60)
        assert "error" not in outcome
    assert outputs(run) == outputs(whole.run_dir)


def test_status_error_says_why(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a;b;colour\n1;2;red\n", encoding="utf-8")
    status, start = TrainStatus(), threading.Event()
    thread, url, outcome = serve_training(status, start, csv_path=bad, settings=RunSettings(**SETTINGS),
                                          runs_dir=tmp_path / "runs")
    assert get(url)["status"] == "idle"
    start.set()
    assert status.ended.wait(60)
    body = get(url)  # the server waits for this read of the final status before it closes
    thread.join(60)
    assert body["status"] == "error" and body["error"] == str(outcome["error"]) and body["error"]
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_requests_the_endpoint_refuses(tmp_path):
    server = StatusServer(TrainStatus(), 0)
    try:
        assert server.host == "127.0.0.1" and server.url == f"http://127.0.0.1:{server.port}"
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(server.url + "/api/train/other", timeout=10)
        assert info.value.code == 404
        # a script of a web page cannot cancel (its browser sends an Origin), a program can
        code, answer = post_cancel(server.url, {"Origin": "http://evil.example"})
        assert code == 403 and "refused" in answer["error"]
        assert get(server.url)["status"] == "idle"
        code, answer = post_cancel(server.url)
        assert code == 202 and answer["accepted"] is True
    finally:
        server.close()
    server = StatusServer(TrainStatus(), 0, host="::1")  # IPv6 loopback
    try:
        assert server.url == f"http://[::1]:{server.port}" and get(server.url)["status"] == "idle"
    finally:
        server.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_cli_port_in_use_is_one_line_and_writes_nothing(tmp_path, capsys):
    data = make_csv(tmp_path / "d.csv")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = main(["tabular", "train", str(data), "--label", "colour", "--epochs", "2",
                     "--runs-dir", str(tmp_path / "runs"), "--status-port", str(port)])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1
    assert err.startswith(f"error: cannot serve the training status on 127.0.0.1 port {port} (")
    assert "--status-port" in err and not (tmp_path / "runs").exists()


def test_cli_cancel_over_http_then_resume_gives_the_uninterrupted_bytes(tmp_path):
    """A real `stingerml tabular train --status-port 0` process, cancelled with POST: exit 130, the
    checkpoint of its last finished epoch, the resume command; --resume ends as an uninterrupted run."""
    data = make_csv(tmp_path / "d.csv", n=600)
    args = ["--label", "colour", "--hidden", "32,16", "--epochs", "8", "--batch-size", "4", "--patience", "50",
            "--checkpoint-every", "100"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]), "STINGERML_BACKEND": "python"}
    proc = subprocess.Popen([sys.executable, "-m", "stingerml", "tabular", "train", str(data), *args,
                             "--runs-dir", str(tmp_path / "runs"), "--status-port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    try:
        line = proc.stderr.readline()
        assert line.startswith("training status: http://127.0.0.1:"), line
        url = line.split()[2][:-len(STATUS_PATH)]
        seen = [get(url)]
        while seen[-1]["current_epoch"] < 1:
            seen.append(get(url))
        code, answer = post_cancel(url)
        assert code == 202 and answer["accepted"]
        while seen[-1]["status"] == "training":
            seen.append(get(url))
        _, err = proc.communicate(timeout=120)
    finally:
        kill_group(proc)  # its whole process group: no child outlives the test holding a pipe
    assert seen[-1]["status"] == "cancelled" and seen[-1]["error"] is None
    assert {s["status"] for s in seen} <= {"idle", "training", "cancelled"}
    (run,) = (tmp_path / "runs").iterdir()
    (ckpt,) = (run / "checkpoints").glob("epoch_*.json")
    assert proc.returncode == 130, err
    assert int(ckpt.stem.split("_")[1]) == seen[-1]["current_epoch"] == len(seen[-1]["loss_history"]) < 8
    assert (f"cancelled (POST {CANCEL_PATH}); last checkpoint {ckpt.name} in {run}; "
            f"continue with: stingerml tabular train --resume {run}") in err
    with use_backend("python"):
        assert main(["tabular", "train", "--resume", str(run), "--quiet"]) == 0
        assert main(["tabular", "train", str(data), *args, "--runs-dir", str(tmp_path / "whole"), "--quiet"]) == 0
    (whole,) = (tmp_path / "whole").iterdir()
    assert outputs(run) == outputs(whole)


# -- progress on stderr ------------------------------------------------------------------------------

# 90 rows, 60 for training, batch 1: 60 batches per epoch (events after 50 and 60)
LONG = dict(label="colour", hidden=[4], epochs=6, checkpoint_every=10, patience=50, batch_size=1)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_done_comes_after_the_output_set_and_start_names_the_run(tmp_path):
    seen = []

    def record(event):
        if event.stage == "start":
            seen.append(("start", event.message, event.done, event.total))
        if event.stage == "done":
            (run,) = (tmp_path / "runs").iterdir()
            seen.append(("done", sorted(p.name for p in (run / "output").iterdir())))

    result = train_run(make_csv(tmp_path / "d.csv"), RunSettings(**LONG), runs_dir=tmp_path / "runs",
                       progress=record)
    assert seen[0] == ("start", str(result.run_dir), 0, 6)
    assert seen[1] == ("done", ["meta.json", "model.json", "model.onnx", "model.tflite", "training_history.json"])


def test_two_bars_on_a_terminal_one_line_per_epoch_off_one(tmp_path):
    events = []
    train_run(make_csv(tmp_path / "d.csv"), RunSettings(**LONG), runs_dir=tmp_path / "runs", progress=events.append)
    batches = [e for e in events if e.stage == "batch"]
    assert [(e.metrics["epoch"], e.metrics["batch"]) for e in batches[:2]] == [(1, 50), (1, 60)]
    off, tty = io.StringIO(), Terminal()
    printer_off, printer_tty = EpochProgress(off), EpochProgress(tty)
    for e in events:
        printer_off(e)
        printer_tty(e)
    lines = off.getvalue().splitlines()
    assert [line.split()[:2] for line in lines[:-1]] == [["epoch", f"{k}/6"] for k in range(1, 7)]
    assert lines[-1].startswith("finished after 6 epochs") and "batch" not in off.getvalue()
    screen = tty.getvalue()
    full = "[" + "#" * 30 + "]"
    assert f"{full} epoch 6/6 loss " in screen and f"{full} batch 60/60" in screen
    assert "[" + "#" * 25 + "....." + "] batch 50/60" in screen
    assert screen.count("\033[1A") == len(events) - 2  # each event after the first redraws both bars in place
    assert screen.endswith(f"\033[K\n{events[-1].message}\n") and events[-1].stage == "done"


@contextlib.contextmanager
def watched(port: int, monkeypatch):
    """A client polling ``GET /api/train/status`` on ``port`` from before training until it has ended
    (training waits at its first event until the client has read once); yields the answers read."""
    seen, polled = [], threading.Event()
    original = TrainStatus.__call__

    def after_a_read(self, event):
        polled.wait(60)
        original(self, event)

    def poll():
        end = time.monotonic() + 300
        while time.monotonic() < end and (not seen or seen[-1]["status"] in ("idle", "training")):
            try:
                seen.append(get(f"http://127.0.0.1:{port}"))
                polled.set()
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.01)

    monkeypatch.setattr(TrainStatus, "__call__", after_a_read)
    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    yield seen
    poller.join(60)


def test_seq_train_serves_its_status_too(tmp_path, capsys, monkeypatch):
    """`seq train` shares the path: --status-port, read from start to end, "done" with the losses."""
    from stingerml.sequence.synth import word_task, write_csv_long

    X, y = word_task(36, seed=7, min_steps=2, max_steps=6)
    data = tmp_path / "w.csv"
    write_csv_long(data, X, y)
    port = free_port()
    with use_backend("python"), watched(port, monkeypatch) as seen:
        assert main(["seq", "train", str(data), "--architecture", "lstm", "--hidden", "5", "--epochs", "3",
                     "--batch-size", "8", "--runs-dir", str(tmp_path / "runs"), "--status-port", str(port)]) == 0
    run = capsys.readouterr().out.strip()
    history = json.loads((Path(run) / "output" / "training_history.json").read_text())
    assert seen[0]["status"] == "idle"
    assert seen[-1] == {"status": "done", "progress": 1.0, "current_epoch": 3, "total_epochs": 3,
                        "loss_history": [h["loss"] for h in history], "error": None, "run_dir": run}


# -- checkpoints kept ---------------------------------------------------------------------------------

EVERY = dict(label="colour", hidden=[4], epochs=6, checkpoint_every=1, patience=50, batch_size=8)


def kept(run_dir: Path) -> list:
    return sorted(p.name for p in (run_dir / "checkpoints").iterdir())


def test_keep_checkpoints_newest_and_best(tmp_path):
    data = make_csv(tmp_path / "d.csv")
    # epoch 6 ends training: its state is the output, not a checkpoint
    run = train_run(data, RunSettings(**EVERY), runs_dir=tmp_path / "a").run_dir
    assert kept(run) == ["best_model.json", "epoch_0003.json", "epoch_0004.json", "epoch_0005.json"]
    run = train_run(data, RunSettings(**EVERY), runs_dir=tmp_path / "b", keep_checkpoints=1).run_dir
    assert kept(run) == ["best_model.json", "epoch_0005.json"]
    run = train_run(data, RunSettings(**EVERY), runs_dir=tmp_path / "c", keep_checkpoints=None).run_dir
    assert kept(run) == ["best_model.json"] + [f"epoch_000{k}.json" for k in range(1, 6)]

    def stop_at_4(event):
        if event.stage == "epoch" and event.done == 4:
            raise KeyboardInterrupt

    with pytest.raises(RunInterrupted):
        train_run(data, RunSettings(**EVERY), runs_dir=tmp_path / "d", keep_checkpoints=2, progress=stop_at_4)
    (run,) = (tmp_path / "d").iterdir()
    assert kept(run) == ["best_model.json", "epoch_0003.json", "epoch_0004.json"]
    resumed = train_run(resume=run, keep_checkpoints=2)
    assert outputs(resumed.run_dir) == outputs(tmp_path / "a" / next(iter(os.listdir(tmp_path / "a"))))


def test_cli_keep_checkpoints_prints_the_sizes(tmp_path, capsys):
    data = make_csv(tmp_path / "d.csv")
    args = ["tabular", "train", str(data), "--label", "colour", "--hidden", "32", "--epochs", "6",
            "--checkpoint-every", "1", "--patience", "50"]
    assert main(args + ["--runs-dir", str(tmp_path / "a"), "--keep-checkpoints", "1"]) == 0
    err = capsys.readouterr().err
    (run,) = (tmp_path / "a").iterdir()
    assert kept(run) == ["best_model.json", "epoch_0005.json"]
    sizes = {name: (run / "checkpoints" / name).stat().st_size for name in kept(run)}
    assert all(1000 < n < 1_000_000 for n in sizes.values())
    line = "checkpoints kept: " + ", ".join(f"{name} {sizes[name] / 1e3:.1f} kB" for name in
                                            ("epoch_0005.json", "best_model.json"))
    assert f"{line} ({sum(sizes.values()) / 1e3:.1f} kB in all; --keep-checkpoints N|all)\n" in err
    assert main(args + ["--runs-dir", str(tmp_path / "b"), "--keep-checkpoints", "all", "--quiet"]) == 0
    (run,) = (tmp_path / "b").iterdir()
    assert len(kept(run)) == 6 and capsys.readouterr().err == ""
    with pytest.raises(SystemExit) as info:
        main(args + ["--runs-dir", str(tmp_path / "c"), "--keep-checkpoints", "0"])
    assert info.value.code == 2 and "expected a count of checkpoints >= 1 or 'all'" in capsys.readouterr().err
