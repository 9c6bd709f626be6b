"""The same bytes whatever runs the tasks: serial, a local process pool (jobs=2), a Dask cluster.

The model files of ``tiny`` are also checked against the real browser's
(vectors/browser), so the parallel flow is held to the oracle, not only to the
serial flow. The Dask tests start a 2-worker ``LocalCluster`` on loopback and
skip without ``distributed``.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import CLI_WITH_CTRL_C, kill_group, use_backend

from stingerml import _kernels
from stingerml.blaster import tasks as trainer_tasks
from stingerml.blaster.benchmark import BenchmarkConfig, BenchmarkData, run_benchmark
from stingerml.blaster.folder_dataset import ExportParams, export_dataset
from stingerml.blaster.log import parse_log, write_log
from stingerml.blaster.sessions import build_sessions
from stingerml.blaster.settings import TRAIN_PIPELINE
from stingerml.blaster.synth import generate
from stingerml.blaster.trainer import train, train_folder
from stingerml.cli import main
from stingerml.core.errors import LogFormatError, StingerError, TaskError
from stingerml.learn.executors import run_tasks

ROOT = Path(__file__).resolve().parent.parent
SHORT = BenchmarkConfig(seeds=2, lr_iter=40, mlp_iter=2)


@pytest.fixture(scope="module")
def cluster():
    """A client of a 2-worker Dask cluster (processes, loopback), closed after the module."""
    distributed = pytest.importorskip("distributed")
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), old) if p)  # the workers import stingerml
    try:
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                      dashboard_address=None) as cluster, distributed.Client(cluster) as client:
            yield client
    finally:
        if old is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old


@pytest.fixture
def cluster_executor(cluster):
    return cluster.get_executor(pure=False)


@pytest.fixture(scope="module")
def logs():
    return [generate(40, 1), generate(40, 2)]


# --- run_tasks ------------------------------------------------------------------------------------


def test_results_come_back_in_task_order():
    tasks = [(f"pow {i}", (i, 3)) for i in range(12)]
    assert run_tasks(pow, tasks) == run_tasks(pow, tasks, jobs=2) == [i ** 3 for i in range(12)]


def test_progress_counts_finished_tasks():
    events = []
    run_tasks(pow, [(f"pow {i}", (i, 2)) for i in range(5)], jobs=2, progress=events.append, stage="x")
    assert [(e.stage, e.done, e.total) for e in events] == [("x", k, 5) for k in range(1, 6)]
    assert all(e.message.startswith(f"[{e.done}/5] pow ") for e in events)


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_task_that_raises_is_named(jobs):
    tasks = [("good.bin", (generate(5, 1).to_bytes(),)), ("bad.bin", (b"junk",))]
    with pytest.raises(TaskError, match=r"^bad\.bin: ") as info:
        run_tasks(parse_log, tasks, jobs=jobs)
    assert info.value.task == "bad.bin" and isinstance(info.value.__cause__, LogFormatError)


def test_a_task_that_raises_on_a_dask_cluster_is_named(cluster_executor):
    tasks = [("good.bin", (generate(5, 1).to_bytes(),)), ("bad.bin", (b"junk",))]
    with pytest.raises(TaskError, match=r"^bad\.bin: .*17-byte record") as info:
        run_tasks(parse_log, tasks, executor=cluster_executor)
    assert info.value.task == "bad.bin"


def test_a_dead_worker_is_named():
    with pytest.raises(TaskError, match=r"^crashing task: a worker process died") as info:
        run_tasks(os._exit, [("crashing task", (3,))], jobs=2)
    assert info.value.task == "crashing task"


def test_bad_jobs_are_errors():
    with pytest.raises(StingerError, match="jobs"):
        run_tasks(pow, [("a", (1, 1))], jobs=0)
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(1) as pool, pytest.raises(StingerError, match="not both"):
        run_tasks(pow, [("a", (1, 1))], jobs=2, executor=pool)


def test_workers_use_the_callers_backend_and_one_process_per_fit():
    from stingerml._kernels import peer
    with use_backend("python"):
        assert run_tasks(_kernels.backend, [("b", ())], jobs=2) == ["python"]
        assert run_tasks(peer.process_setting, [("p", ())], jobs=2) == [1]


# --- the benchmark --------------------------------------------------------------------------------


def _report(data, **where) -> str:
    with use_backend("python"):
        return run_benchmark(data, SHORT, **where).to_markdown("stingerml benchmark a.bin b.bin -o r.md")


@pytest.fixture(scope="module")
def bench_data(logs):
    return BenchmarkData.from_sessions(build_sessions(logs))


@pytest.fixture(scope="module")
def serial_report(bench_data):
    return _report(bench_data)


def test_benchmark_report_identical_with_two_jobs(bench_data, serial_report):
    assert "| MLP | rich | group |" in serial_report
    assert _report(bench_data, jobs=2) == serial_report


def test_benchmark_report_identical_on_a_dask_cluster(bench_data, serial_report, cluster_executor):
    assert _report(bench_data, executor=cluster_executor) == serial_report


# --- training -------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend_name", ["numba", pytest.param("python", marks=pytest.mark.slow)])
def test_tiny_in_tasks_is_still_the_browsers_bytes(vectors, backend_name):
    with use_backend(backend_name):
        result = train(vectors / "sessions" / "tiny.bin", settings=TRAIN_PIPELINE, jobs=2)  # browser/: 600 / 16
    assert result.lr_blob == (vectors / "browser" / "tiny.lr.mlmd").read_bytes()
    assert result.mlp_blob == (vectors / "browser" / "tiny.mlp.mlmd").read_bytes()


@pytest.fixture(scope="module")
def sessions_sources(vectors, logs):
    return [str(vectors / "sessions" / "tiny.bin"), logs[0].to_bytes(), logs[1]]


@pytest.fixture(scope="module")
def sessions_serial(sessions_sources):
    with use_backend("numba"):
        return train(sessions_sources).files()


def test_sessions_identical_with_two_jobs(sessions_sources, sessions_serial):
    with use_backend("numba"):
        assert train(sessions_sources, jobs=2).files() == sessions_serial


def test_sessions_identical_on_a_dask_cluster(sessions_sources, sessions_serial, cluster_executor):
    with use_backend("numba"):
        assert train(sessions_sources, executor=cluster_executor).files() == sessions_serial


def test_sessions_bad_log_is_named(sessions_sources):
    with use_backend("numba"), pytest.raises(TaskError, match=r"^log 2: ") as info:
        train([sessions_sources[0], b"junk"], jobs=2)
    assert info.value.task == "log 2"


@pytest.fixture(scope="module")
def folder():
    return export_dataset(generate(120, 4), ExportParams())


def test_training_folder_features_in_chunks(folder, monkeypatch, cluster_executor):
    monkeypatch.setattr(trainer_tasks, "CHUNK_ROWS", 8)  # several feature tasks, the last one short
    assert len(folder) % 8
    with use_backend("numba"):
        serial = train_folder(folder).files()
        assert train_folder(folder, jobs=2).files() == serial
        assert train_folder(folder, executor=cluster_executor).files() == serial


# --- the CLI --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def log_files(tmp_path_factory, logs):
    d = tmp_path_factory.mktemp("logs")
    names = [str(d / f"{n}.bin") for n in "ab"]
    return [write_log(log, name) or name for log, name in zip(logs, names)]


def _cli_outputs(where: Path, argv, monkeypatch) -> dict:
    where.mkdir()
    monkeypatch.chdir(where)  # the report names its output file: the same relative name everywhere
    assert main(["--backend", "python", *argv]) == 0
    return {p.relative_to(where).as_posix(): p.read_bytes() for p in sorted(where.rglob("*")) if p.is_file()}


def test_cli_jobs_gives_identical_files(tmp_path, log_files, monkeypatch):
    bench = ["benchmark", *log_files, "--seeds", "1", "--lr-iterations", "20", "--mlp-iterations", "1", "-o", "r.md", "--quiet"]
    serial = _cli_outputs(tmp_path / "serial", bench, monkeypatch)
    assert list(serial) == ["r.md"]
    assert _cli_outputs(tmp_path / "jobs", [*bench, "--jobs", "2"], monkeypatch) == serial


def test_cli_train_jobs_gives_identical_files(tmp_path, vectors, log_files, monkeypatch):
    pytest.importorskip("numba")  # pure-Python training of three sessions takes minutes
    argv = ["--backend", "numba", "train", str(vectors / "sessions" / "tiny.bin"), *log_files, "--quiet", "--out"]
    monkeypatch.chdir(tmp_path)
    assert main([*argv, "serial"]) == 0
    assert main([*argv, "jobs", "-j", "2"]) == 0
    for name in ("ml_model_lr.bin", "ml_model_mlp.bin", "report.json"):
        assert (tmp_path / "jobs" / name).read_bytes() == (tmp_path / "serial" / name).read_bytes()


def test_cli_task_failure_is_one_line_and_writes_nothing(tmp_path, log_files, capsys):
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"junk")
    assert main(["train", log_files[0], str(bad), "--out", str(tmp_path / "m"), "-j", "2"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"error: {bad}: ") and not (tmp_path / "m").exists()


def test_cli_scheduler_gives_identical_files(tmp_path, log_files, monkeypatch, cluster):
    bench = ["benchmark", *log_files, "--seeds", "1", "--lr-iterations", "20", "--mlp-iterations", "1", "-o", "r.md", "--quiet"]
    serial = _cli_outputs(tmp_path / "serial", bench, monkeypatch)
    on_dask = _cli_outputs(tmp_path / "dask", [*bench, "--scheduler", cluster.scheduler.address], monkeypatch)
    assert on_dask == serial


def test_scheduler_without_distributed_is_one_clear_error(monkeypatch):
    from stingerml.learn.executors import dask_executor
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(StingerError, match=r"pip install 'stingerml\[dask\]'"):
        with dask_executor("tcp://127.0.0.1:8786"):
            pass


def _processes_naming(marker: str):
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if marker in (d / "cmdline").read_bytes().decode(errors="replace"):
                    out.append(int(d.name))
            except OSError:
                pass
    return out


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")
def test_ctrl_c_ends_the_pool_and_writes_nothing(tmp_path, log_files):
    report = tmp_path / "interrupted.md"
    env = dict(os.environ, PYTHONPATH=str(ROOT), STINGERML_BACKEND="python")
    # its own process group (the pool's workers join it), killed as a whole whatever happens: no
    # orphaned worker keeps the stderr pipe, and so pytest, waiting
    proc = subprocess.Popen([sys.executable, "-c", CLI_WITH_CTRL_C, "benchmark", *log_files, "--seeds", "20",
                             "--models", "mlp", "--mlp-iterations", "400", "-o", str(report), "-j", "2"],
                            env=env, stderr=subprocess.PIPE, text=True, start_new_session=True)
    watchdog = threading.Timer(300, kill_group, (proc,))  # never hang the suite: a kill ends the reads below
    watchdog.start()
    try:
        workers = []
        for _ in range(600):  # the pool's processes (forked: the same command line), up to a minute
            workers = [pid for pid in _processes_naming(str(report)) if pid != proc.pid]
            if len(workers) >= 2 or proc.poll() is not None:
                break
            time.sleep(0.1)
        assert len(workers) >= 2, "the pool's worker processes were not found"
        assert {os.getpgid(pid) for pid in workers} == {proc.pid}, "the workers are not in the command's group"
        proc.send_signal(signal.SIGINT)
        lines = []
        for line in proc.stderr:
            lines.append(line)
            if line.strip() == "interrupted":
                # the workers are ended before the message, not left to finish their fits
                assert [pid for pid in _processes_naming(str(report)) if pid != proc.pid] == []
                break
        assert lines[-1].strip() == "interrupted", lines
        assert proc.wait(timeout=60) == 130
    finally:
        watchdog.cancel()
        kill_group(proc)
    assert not report.exists()


_armed = []


def _ctrl_c_after_fork() -> None:
    """An at-fork hook of this process: while armed, Ctrl-C arrives just after the pool forks a
    worker, in the window where ``logging``'s own fork hooks run (an exception there is lost)."""
    if _armed and os.getpid() == _armed[0]:
        _armed.clear()
        os.kill(os.getpid(), signal.SIGINT)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_parent=_ctrl_c_after_fork)


@pytest.mark.skipif(not hasattr(os, "register_at_fork"), reason="needs os.register_at_fork")
def test_ctrl_c_while_the_pool_forks_is_not_lost():
    """Before the fix the KeyboardInterrupt was raised inside a fork hook, printed as "Exception
    ignored" and lost: the tasks went on to the end."""
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("SIGINT is not Python's default handler here")
    before = set(multiprocessing.active_children())  # e.g. a Dask cluster of this module
    started = time.monotonic()
    _armed.append(os.getpid())
    try:
        with pytest.raises(KeyboardInterrupt):
            run_tasks(time.sleep, [(f"sleep {i}", (1.5,)) for i in range(4)], jobs=2)
    finally:
        _armed.clear()
    assert time.monotonic() - started < 2.5, "the interrupted tasks ran on"
    assert [t for t in threading.enumerate() if "QueueManagerThread" in t.name or "ExecutorManager" in t.name] == []
    assert set(multiprocessing.active_children()) <= before, "the pool's workers outlived the call"
