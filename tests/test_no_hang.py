"""No test can hang the run: a test that runs too long fails (--test-timeout, set by CI), and a pool a
test leaves running does not keep pytest from exiting after its summary."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import kill_group

ROOT = Path(__file__).resolve().parent.parent


def run_pytest(tmp_path: Path, test_source: str, *options: str, limit_s: float = 120):
    """Run pytest with this suite's conftest on one test file in its own process group; the group is
    killed after ``limit_s`` (so this test cannot hang either). Returns (exit code, output, seconds)."""
    shutil.copy(ROOT / "tests" / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_case.py").write_text(test_source)
    env = dict(os.environ, PYTHONPATH=str(ROOT), STINGERML_BACKEND="python")
    env.pop("STINGERML_TEST_TIMEOUT", None)
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
                             str(tmp_path / "test_case.py"), *options], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=limit_s)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        pytest.fail(f"pytest did not exit within {limit_s} s")
    finally:
        kill_group(proc)
    return proc.returncode, out, time.monotonic() - started


def test_a_test_over_the_time_limit_fails_and_the_run_goes_on(tmp_path):
    code, out, seconds = run_pytest(tmp_path, "import time\n\n"
                                    "def test_stuck():\n    time.sleep(600)\n\n"
                                    "def test_next():\n    pass\n", "--test-timeout", "2")
    assert code == 1, out
    assert "ran longer than --test-timeout 2 s" in out and "1 failed, 1 passed" in out, out
    assert seconds < 60


def test_the_timeout_comes_from_the_environment(tmp_path, monkeypatch):
    shutil.copy(ROOT / "tests" / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_case.py").write_text("import time\n\ndef test_stuck():\n    time.sleep(600)\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT), STINGERML_TEST_TIMEOUT="2")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
                           str(tmp_path / "test_case.py")], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 1 and "ran longer than --test-timeout 2 s" in proc.stdout, proc.stdout


def test_a_pool_left_running_does_not_keep_pytest_from_exiting(tmp_path):
    """The interpreter's exit hook joins every ProcessPoolExecutor; one a test left with a busy worker
    (here: a task that never ends) made pytest wait forever after its summary."""
    code, out, seconds = run_pytest(tmp_path, "import time\nfrom concurrent.futures import ProcessPoolExecutor\n\n"
                                    "POOLS = []\n\n"
                                    "def test_leaves_a_pool():\n"
                                    "    pool = ProcessPoolExecutor(1)\n"
                                    "    POOLS.append(pool)\n"
                                    "    pool.submit(time.sleep, 3600)\n"
                                    "    time.sleep(0.5)\n", limit_s=90)
    assert code == 0, out
    assert "1 passed" in out and "ended 1 process pool(s)" in out, out


def test_a_thread_that_never_ends_does_not_keep_pytest_from_exiting(tmp_path):
    """A non-daemon thread (as a library's worker may be) is joined by the interpreter's exit for ever:
    --exit-limit prints its traceback and ends the process with the run's exit status."""
    code, out, seconds = run_pytest(tmp_path, "import threading, time\n\n"
                                    "def waits_for_ever():\n    time.sleep(3600)\n\n"
                                    "def test_leaves_a_thread():\n"
                                    "    threading.Thread(target=waits_for_ever).start()\n",
                                    "--exit-limit", "2", limit_s=90)
    assert code == 0, out
    assert "1 passed" in out and "still exiting 2 s after the summary" in out, out
    assert "waits_for_ever" in out, out  # the stuck thread's traceback
    assert seconds < 60


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="libc's __cxa_atexit and pause by ctypes")
def test_a_native_exit_handler_that_never_returns_is_not_waited_for(tmp_path):
    """A native exit handler that never returns (libc's pause() registered as C++ destructors are, as
    a native thread pool's destructor that waits for its threads) runs after the interpreter's
    finalization: the run ends before it, with its exit status."""
    code, out, seconds = run_pytest(tmp_path, "import ctypes\n\n"
                                    "def test_registers_a_native_hang():\n"
                                    "    libc = ctypes.CDLL(None)\n"
                                    "    pause = ctypes.cast(libc.pause, ctypes.c_void_p)\n"
                                    "    assert libc.__cxa_atexit(pause, None, None) == 0\n",
                                    "--exit-limit", "2", limit_s=90)
    assert code == 0 and "1 passed" in out, out
    assert "still exiting" not in out, out  # not the watchdog: it ended at once
    assert seconds < 60


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pause by ctypes")
def test_an_exit_hook_that_blocks_holding_the_gil_ends_by_sigalrm(tmp_path):
    """An exit hook that blocks without releasing the GIL (pause() through ctypes.PyDLL) stops every
    Python thread, the watchdog too: the alarm at twice --exit-limit ends the process, a failure."""
    code, out, seconds = run_pytest(tmp_path, "import atexit, ctypes\n\n"
                                    "def test_registers_a_blocking_exit_hook():\n"
                                    "    atexit.register(ctypes.PyDLL(None).pause)\n",
                                    "--exit-limit", "2", limit_s=90)
    assert code == -signal.SIGALRM, out
    assert "1 passed" in out, out
    assert seconds < 60
