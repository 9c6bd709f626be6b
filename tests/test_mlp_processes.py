"""The pure MLP kernel against a literal port of SPEC §8, in one process and split over two.

The two-process split (stingerml/_kernels/peer.py) must give the same bits as
one process whatever the boundary between the two processes' rows, which the
main process moves every iteration to balance the load.
"""
from __future__ import annotations

import random
import struct
import sys
from array import array
from itertools import cycle

import pytest
import spec_mlp

from stingerml import StingerWarning, TrainingError, set_processes
from stingerml._kernels import peer, process_setting, processes, pure


def bits(values):
    return [struct.pack("<d", float(v)) for v in values]


def flat(result):
    """Every number of an ``mlp_fit`` result, as exact bit patterns."""
    W1, b1, W2, b2, W3, b3, history = result
    out = []
    for part in (W1, b1, W2, b2, W3, [b3]):
        out += bits(part)
    return out, [(h["iter"], struct.pack("<d", h["loss"])) for h in history]


def problem(seed: int, n_rows: int, n_in: int):
    rnd = random.Random(seed)
    X = array("f", [rnd.gauss(0.0, 1.5) for _ in range(n_rows * n_in)])
    y = [rnd.random() < 0.5 for _ in range(n_rows)]
    y[0], y[-1] = True, False
    return X, [int(v) for v in y]


@pytest.fixture
def processes_setting():
    """Restore the process setting after the test."""
    before = process_setting()
    yield set_processes
    set_processes(before)


@pytest.fixture
def fresh_helper():
    """No helper process before the test (one is kept between fits) and none left after it."""
    peer._stop_helper()
    yield
    peer._stop_helper()


@pytest.mark.parametrize("n_rows,n_in,max_iter,noise,seed", [
    (4, 3, 17, 0.0, 1),
    (5, 4, 16, 0.3, 2),
    (7, 30, 6, 0.15, 3),
])
@pytest.mark.parametrize("n_processes", [1, 2])
def test_pure_kernel_equals_literal_spec(processes_setting, n_rows, n_in, max_iter, noise, seed, n_processes):
    """Bias columns, transposes, skipped zeros and the split change no bit (SPEC §8 written out naively)."""
    X, y = problem(seed, n_rows, n_in)
    processes_setting(n_processes)
    got = pure.mlp_fit(X, y, n_rows, n_in, max_iter, 0.01, 0.05, seed, noise, True)
    want = spec_mlp.mlp_fit(X, y, n_rows, n_in, max_iter, 0.01, 0.05, seed, noise, True)
    assert flat(got) == flat(want)
    assert [h["iter"] for h in got[6]] == [t for t in range(1, max_iter + 1) if t % 16 == 0 or t == max_iter]


@pytest.mark.parametrize("noise", [0.0, 0.2])
def test_any_row_boundary_gives_the_same_bits(processes_setting, monkeypatch, noise):
    """The boundary jumps between 1 and n-1 rows each iteration: same result as one process."""
    n_rows, n_in, max_iter = 9, 5, 40
    X, y = problem(7, n_rows, n_in)
    processes_setting(1)
    want = pure.mlp_fit(X, y, n_rows, n_in, max_iter, 1e-3, 0.02, 42, noise, True)
    splits = cycle([1, n_rows - 1, 4, 2, 7])
    monkeypatch.setattr(peer.Link, "_balanced_split", lambda self, *timings: next(splits))
    processes_setting(2)
    progress = []
    got = pure.mlp_fit(X, y, n_rows, n_in, max_iter, 1e-3, 0.02, 42, noise, True,
                       lambda t, n: progress.append(t))
    assert flat(got) == flat(want)
    assert progress == list(range(1, max_iter + 1))


def test_auto_splits_big_fits_only(processes_setting, monkeypatch):
    monkeypatch.setattr(peer, "AUTO_SPLITS", True)
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    processes_setting("auto")
    assert processes() == 2
    assert not peer._wanted(40, 10)  # 400 row-iterations: not worth a process start
    assert peer._wanted(40, 600)
    assert not peer._wanted(1, 10**6)  # a single row cannot be split
    processes_setting(2)
    assert peer._wanted(2, 1)
    processes_setting(1)
    assert not peer._wanted(10**4, 10**4)


def test_auto_never_splits_where_the_split_costs_more(processes_setting, monkeypatch):
    monkeypatch.setattr(peer, "AUTO_SPLITS", False)  # PyPy
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1}, raising=False)
    processes_setting("auto")
    assert processes() == 1
    assert not peer._wanted(40, 600)
    processes_setting(2)
    assert peer._wanted(40, 600)


def test_one_cpu_means_one_process(processes_setting, monkeypatch):
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0}, raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    processes_setting("auto")
    assert processes() == 1


@pytest.mark.parametrize("value,want", [("1", 1), (2, 2), (" AUTO ", "auto"), ("auto", "auto")])
def test_set_processes_accepts(processes_setting, value, want):
    assert processes_setting(value) == want
    assert process_setting() == want


@pytest.mark.parametrize("value", [0, 3, "two", ""])
def test_set_processes_rejects(processes_setting, value):
    with pytest.raises(ValueError, match="1, 2 or auto"):
        processes_setting(value)


def test_environment_variable_sets_the_default(monkeypatch):
    monkeypatch.setattr(peer, "_processes", None)  # the setting lives with the two-process split
    monkeypatch.setenv("STINGERML_PROCESSES", "1")
    assert process_setting() == 1
    monkeypatch.setattr(peer, "_processes", None)


def test_helper_that_cannot_start_falls_back_with_a_warning(processes_setting, fresh_helper, monkeypatch):
    X, y = problem(3, 6, 4)
    processes_setting(1)
    want = pure.mlp_fit(X, y, 6, 4, 5, 1e-3, 0.02, 42, 0.0, False)
    processes_setting(2)
    monkeypatch.setattr(peer, "_helper_command", lambda: ["/nonexistent/python", "-m", peer.__name__])
    with pytest.warns(StingerWarning, match="one process"):
        got = pure.mlp_fit(X, y, 6, 4, 5, 1e-3, 0.02, 42, 0.0, False)
    assert flat(got) == flat(want)


def test_helper_that_exits_before_greeting_falls_back(processes_setting, fresh_helper, monkeypatch):
    X, y = problem(3, 6, 4)
    processes_setting(2)
    monkeypatch.setattr(peer, "_helper_command", lambda: [sys.executable, "-c", "raise SystemExit(3)"])
    with pytest.warns(StingerWarning, match="one process"):
        pure.mlp_fit(X, y, 6, 4, 5, 1e-3, 0.02, 42, 0.0, False)


def test_helper_dying_mid_fit_is_a_clear_error(processes_setting, fresh_helper, monkeypatch):
    greet_then_exit = ("import pickle, sys; pickle.dump('ready', sys.stdout.buffer); sys.stdout.flush(); "
                       "pickle.load(sys.stdin.buffer); raise SystemExit(5)")
    monkeypatch.setattr(peer, "_helper_command", lambda: [sys.executable, "-c", greet_then_exit])
    X, y = problem(3, 6, 4)
    processes_setting(2)
    with pytest.raises(TrainingError, match="STINGERML_PROCESSES=1"):
        pure.mlp_fit(X, y, 6, 4, 5, 1e-3, 0.02, 42, 0.0, False)


def test_helper_is_kept_between_fits_and_stopped_after_an_interrupted_one(processes_setting, fresh_helper):
    processes_setting(2)
    X, y = problem(3, 6, 4)
    want = pure.mlp_fit(X, y, 6, 4, 5, 1e-3, 0.02, 42, 0.0, True)
    helper = peer._helper
    assert helper is not None and helper.proc.poll() is None
    assert flat(pure.mlp_fit(X, y, 6, 4, 5, 1e-3, 0.02, 42, 0.0, True)) == flat(want)
    assert peer._helper is helper  # the same process served the second fit

    def stop(t, n):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        pure.mlp_fit(X, y, 6, 4, 50, 1e-3, 0.02, 42, 0.0, False, stop)
    assert helper.proc.poll() is not None and peer._helper is None  # stopped and reaped
    assert flat(pure.mlp_fit(X, y, 6, 4, 5, 1e-3, 0.02, 42, 0.0, True)) == flat(want)  # a new helper


def test_prestart_starts_the_helper_early(processes_setting, fresh_helper):
    processes_setting(2)
    peer.prestart()
    assert peer._helper is not None and not peer._helper.greeted
    processes_setting(1)
    peer._stop_helper()
    peer.prestart()
    assert peer._helper is None


def test_two_processes_keep_the_loss_cadence(processes_setting):
    """The helper records the loss at the same iterations (the app's every 8) as one process."""
    n_rows, n_in, max_iter = 9, 5, 20
    X, y = problem(3, n_rows, n_in)
    processes_setting(1)
    want = pure.mlp_fit(X, y, n_rows, n_in, max_iter, 1e-3, 0.02, 42, 0.0, True, loss_every=8)
    processes_setting(2)
    got = pure.mlp_fit(X, y, n_rows, n_in, max_iter, 1e-3, 0.02, 42, 0.0, True, loss_every=8)
    assert flat(got) == flat(want)
    assert [h["iter"] for h in got[6]] == [8, 16, 20]
