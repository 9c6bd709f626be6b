"""Shared test configuration: vector paths, the opt-in ``slow`` and ``fuzz`` markers, and what keeps
a test from hanging the run (a per-test time limit, process groups killed as a whole, no pool or
helper process left behind at the end)."""
from __future__ import annotations

import atexit
import contextlib
import faulthandler
import hashlib
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import List, Optional

import pytest

VECTORS = Path(__file__).resolve().parent.parent / "vectors"

try:  # hypothesis's speed health check measures the machine, not the code: off on loaded CI machines
    from hypothesis import HealthCheck, settings

    settings.register_profile("stingerml", deadline=None, suppress_health_check=[HealthCheck.too_slow])
    settings.load_profile("stingerml")
except ImportError:
    pass


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", default=False,
                     help="also run tests marked slow (pure-Python training on session_a, minutes)")
    parser.addoption("--run-fuzz", action="store_true", default=False,
                     help="also run tests marked fuzz (the fuzz suite with many more examples, minutes)")
    parser.addoption("--test-timeout", type=float, default=float(os.environ.get("STINGERML_TEST_TIMEOUT") or 0),
                     help="fail a test that runs longer than this many seconds (0: no limit; default "
                          "$STINGERML_TEST_TIMEOUT); a minute later the whole run is ended with every "
                          "thread's traceback, so a stuck test cannot hang it")
    parser.addoption("--exit-limit", type=float, default=60.0,
                     help="seconds the process may take to exit after the summary (thread joins and exit "
                          "hooks of the libraries the tests used); then every thread's traceback is printed "
                          "and it ends with the run's exit status (default 60; twice this: SIGALRM ends it)")


# The fidelity subset that CI runs on the oldest and newest CPython of the machine (.ci/pythons):
# test functions by "file::name"; each one must exist, so a rename cannot shrink the subset unseen.
COMPAT = (
    "test_pipeline.py::test_tiny_model_files_byte_identical",
    "test_app_settings.py::test_tiny_default_is_the_app",
    "test_loader.py::test_verdict_matches_firmware",
    "test_firmware.py::test_stream_replay_tiny",
    "test_cli_train.py::test_python_dash_m_runs",
    "test_cli_train.py::test_demo_help",
)


@pytest.fixture(autouse=True)
def _backend_restored():
    """A test that selects a backend (``main([..., "--backend", X])`` in this process) leaves the next
    test the backend it found."""
    from stingerml import _kernels

    before = _kernels._name
    yield
    _kernels._name = before


@pytest.hookimpl(tryfirst=True)  # mark before pytest's own -m deselection
def pytest_collection_modifyitems(config: pytest.Config, items) -> None:
    _mark_compat(config, items)
    for marker in ("slow", "fuzz"):
        if config.getoption(f"--run-{marker}"):
            continue
        skip = pytest.mark.skip(reason=f"{marker}: pass --run-{marker} to run")
        for item in items:
            if marker in item.keywords:
                item.add_marker(skip)


def _mark_compat(config: pytest.Config, items) -> None:
    """Mark the COMPAT tests ``compat``; with ``-m compat``, fail when one of them is not collected."""
    found = set()
    for item in items:
        key = f"{Path(str(item.fspath)).name}::{item.originalname}"
        if key in COMPAT:
            item.add_marker(pytest.mark.compat)
            found.add(key)
    if "compat" in (config.getoption("-m") or "") and found != set(COMPAT):
        raise pytest.UsageError(f"compat tests not found: {sorted(set(COMPAT) - found)}")


@pytest.fixture(scope="session")
def vectors() -> Path:
    """The repository's ``vectors/`` folder (copies of the golden reference outputs; see vectors/README.md)."""
    return VECTORS


BACKENDS = ["python", "numba"]


@contextlib.contextmanager
def use_backend(name: str):
    """Select a kernel backend for the duration (numba skips the test when not installed)."""
    from stingerml import _kernels

    if name == "numba":
        pytest.importorskip("numba")
    previous = _kernels.backend()
    _kernels.set_backend(name)
    try:
        yield name
    finally:
        _kernels.set_backend(previous)


@pytest.fixture(params=BACKENDS)
def backend(request):
    """Run the test once per kernel backend; restores the previous one afterwards."""
    with use_backend(request.param) as name:
        yield name


def skip_if_same(module, reference) -> None:
    """Skip a test that checks a backend's kernels only against the pure reference when both are
    the same module (the python backend, or numba not installed): pure against pure proves nothing."""
    if module is reference:
        pytest.skip("compares a backend with the pure reference; on the python backend that is pure with pure")


# --- runs shared between tests --------------------------------------------------------------------
# A pure-Python training of session_a takes minutes: tests that check the same run (same log bytes,
# settings and backend) share it, within one pytest process. Each test still makes its own comparisons.
_TRAINED: dict = {}
_REPLAYED: dict = {}


def trained(log: bytes, settings=None):
    """``stingerml.train(log, settings=settings)`` on the active backend, once per pytest process.

    ``log`` is the session's bytes (a pulled file and the vector it came from are one run);
    the result is shared, so a test must not change it.
    """
    from stingerml import _kernels
    from stingerml.blaster.trainer import train

    key = (hashlib.sha256(log).hexdigest(), settings, _kernels.backend())
    if key not in _TRAINED:
        _TRAINED[key] = train(log, settings=settings)
    return _TRAINED[key]


def replayed(session: str):
    """``firmware.replay`` of ``vectors/sessions/<session>.bin`` with the browser's models of that
    session (``vectors/browser/``) on the active backend, once per pytest process: ``(p_lr, p_mlp)``
    (shared: a test must not change them)."""
    from stingerml import _kernels
    from stingerml.blaster import firmware
    from stingerml.formats import mlmd
    from stingerml.blaster.log import read_log

    key = (session, _kernels.backend())
    if key not in _REPLAYED:
        models = [mlmd.parse((VECTORS / "browser" / f"{session}.{m}.mlmd").read_bytes()) for m in ("lr", "mlp")]
        _REPLAYED[key] = firmware.replay(read_log(VECTORS / "sessions" / f"{session}.bin"), *models)
    return _REPLAYED[key]


# --- nothing hangs the run ------------------------------------------------------------------------


class TestTimeout(Exception):
    """A test ran longer than --test-timeout."""


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    """--test-timeout: SIGALRM fails a test that runs too long (a blocked wait is interrupted too); if
    even that does not end it, faulthandler prints every thread's stack and ends the run a minute later."""
    limit = item.config.getoption("--test-timeout")
    if not limit or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def expired(signum, frame):
        raise TestTimeout(f"{item.nodeid} ran longer than --test-timeout {limit:g} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, limit)
    faulthandler.dump_traceback_later(limit + 60, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def kill_group(proc: subprocess.Popen) -> None:
    """Kill the process group that ``proc`` leads (started with ``start_new_session=True``), so that
    none of its children outlives the test holding a pipe open, and reap ``proc``."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


# The CLI (`python -m stingerml ARGV` as `python -c CLI_WITH_CTRL_C ARGV`) with Python's own SIGINT
# handler, so that Ctrl-C has its default effect even when the suite runs in a background job (which
# ignores SIGINT, and a child inherits that; the CLI leaves an ignored SIGINT ignored)
CLI_WITH_CTRL_C = ("import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
                   "from stingerml.cli import main; sys.exit(main())")


@contextlib.contextmanager
def training_process(argv, until: str):
    """Within: a ``python -m stingerml ARGV`` process (:data:`CLI_WITH_CTRL_C`) on the pure path (its
    own process group), once its stderr has printed a line starting with ``until`` (that line:
    ``proc.matched``, empty if it ended first); its group killed on exit."""
    env = {**os.environ, "PYTHONPATH": str(VECTORS.parent), "STINGERML_BACKEND": "python"}
    proc = subprocess.Popen([sys.executable, "-c", CLI_WITH_CTRL_C, *map(str, argv)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    try:
        proc.matched = ""
        for line in proc.stderr:
            if line.startswith(until):
                proc.matched = line.rstrip("\n")
                break
        yield proc
    finally:
        kill_group(proc)
        proc.communicate()


def stopped_by(proc: subprocess.Popen, sig: int) -> str:
    """Send ``sig`` to ``proc`` and wait for it to end: its remaining stderr."""
    proc.send_signal(sig)
    return proc.communicate(timeout=120)[1]


_SESSION = pytest.StashKey[pytest.Session]()


def pytest_sessionfinish(session, exitstatus) -> None:
    """A pool or helper process a test left running would make the interpreter's exit hooks wait
    forever after the summary: end them (and say so, as a test should have)."""
    session.config.stash[_SESSION] = session
    import gc
    from concurrent.futures import ProcessPoolExecutor

    from stingerml._kernels import peer
    from stingerml.learn.executors import _end_pool

    peer._stop_helper(kill=True)
    left = [obj for obj in gc.get_objects()  # type(): isinstance() raises on a dead weak proxy
            if issubclass(type(obj), ProcessPoolExecutor) and getattr(obj, "_processes", None)]
    for pool in left:
        _end_pool(pool)
    import multiprocessing

    children = multiprocessing.active_children()
    for proc in children:
        proc.kill()
        proc.join(5)
    if left or children:
        print(f"\nconftest: ended {len(left)} process pool(s) and {len(children)} process(es) that tests left running",
              file=sys.stderr)


_EXIT_STATUS: List[Optional[int]] = [None]  # the run's exit status, once pytest_unconfigure has it


def _exit_at_last() -> None:
    """Registered when this conftest is imported, before the libraries that tests import register
    theirs, so Python runs it after their exit hooks: it ends the process with the run's exit status
    without the interpreter's finalization and the native exit handlers (where the destructor of a
    native thread pool that waits for its threads would hang, no Python thread running)."""
    if _EXIT_STATUS[0] is not None:
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(_EXIT_STATUS[0])


atexit.register(_exit_at_last)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config) -> None:
    """The exit after the summary is bounded too: what a library the tests used does at exit (joins of
    its threads, its exit hooks) once kept CI waiting after "N passed" until CI's own time ran out.
    If the process still runs ``--exit-limit`` seconds after this hook, a daemon thread prints every
    thread's traceback and ends it with the run's exit status; :func:`_exit_at_last` skips what comes
    after the exit hooks; an exit hook that blocks holding the GIL (no Python thread runs then) is
    ended by SIGALRM at twice the limit, a failure."""
    session = config.stash.get(_SESSION, None)
    limit = config.getoption("--exit-limit")
    if session is None or not limit or not hasattr(signal, "alarm"):
        return
    status = _EXIT_STATUS[0] = int(session.exitstatus)

    def end() -> None:
        import time

        time.sleep(limit)
        err = sys.__stderr__
        faulthandler.dump_traceback(err, all_threads=True)
        print(f"conftest: the process was still exiting {limit:g} s after the summary (--exit-limit; its "
              f"threads' tracebacks above); ended with the run's exit status {status}", file=err, flush=True)
        os._exit(status)

    threading.Thread(target=end, name="conftest-exit-limit", daemon=True).start()
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    signal.alarm(max(1, round(2 * limit)))
