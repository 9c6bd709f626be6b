"""Independent tasks on any :class:`concurrent.futures.Executor`: serial, a process pool or Dask.

The benchmark's runs and the per-log stages of training from several logs are
independent tasks. :func:`run_tasks` runs such a list and returns the results
**in task order**, whatever ran them and in whatever order they finished, so
every report and model file is the same bytes as a serial run:

- nothing given (``jobs=None`` or ``1``, no ``executor``): one after another in
  this process, as stingerml always did;
- ``jobs=N``: a local :class:`~concurrent.futures.ProcessPoolExecutor` of ``N``
  processes, started for the call and shut down after it;
- ``executor=``: any executor you own (it is neither shut down nor reused
  after an error), e.g. a Dask cluster's ``Client(address).get_executor()``
  (:func:`dask_executor`, the CLI's ``--scheduler ADDRESS``).

Every task runs with the caller's kernel backend. In another process a task's
pure-Python MLP fit runs in that one process (the kernels' own two-process
split, ``STINGERML_PROCESSES``, is for one fit on an otherwise idle machine;
with tasks the CPUs are already busy).

Failures: a task that raises, or a worker that dies, stops the whole call with
one :class:`~stingerml.core.errors.TaskError` naming the task; the outstanding
tasks are cancelled and no result is returned. Ctrl-C cancels them too and
shuts an own pool down at once (its worker processes are ended).
"""
from __future__ import annotations

import concurrent.futures as cf
import contextlib
import os
import signal
import threading
import warnings
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from ..core.errors import StingerError, StingerWarning, TaskError
from ..core.progress import Progress, ProgressCallback

__all__ = ["run_tasks", "check_jobs", "dask_executor", "parallel"]


def check_jobs(jobs: Optional[int]) -> int:
    """``jobs`` as a process count (None → 1); a :class:`StingerError` unless it is 1 or more."""
    if jobs is None:
        return 1
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise StingerError(f"jobs must be a whole number >= 1, got {jobs!r}")
    return jobs


def parallel(jobs: Optional[int] = None, executor: Optional[cf.Executor] = None) -> bool:
    """True when ``jobs``/``executor`` ask for anything but the serial, in-process run."""
    return executor is not None or check_jobs(jobs) > 1


def _ignore_sigint() -> None:
    """A pool worker's initializer: Ctrl-C is the main process's to handle (it ends the workers)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _settings() -> Tuple[str, int]:
    from .._kernels import backend

    return backend(), os.getpid()


def _call(fn: Callable[..., Any], args: Tuple[Any, ...], settings: Tuple[str, int]) -> Any:
    """Run one task where it landed, with the caller's backend; in another process its MLP
    fit stays in that process. A log's warnings travel in the result (``Log.warnings``)."""
    from .. import _kernels

    name, parent = settings
    if _kernels.backend() != name:
        _kernels.set_backend(name)
    if os.getpid() != parent and _kernels.process_setting() != 1:
        _kernels.set_processes(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StingerWarning)
        return fn(*args)


def _failure(name: str, exc: BaseException) -> TaskError:
    from concurrent.futures.process import BrokenProcessPool  # here: multiprocessing's import is ~7 ms of a train

    if isinstance(exc, BrokenProcessPool):
        detail = ("a worker process died (killed, or out of memory?) while it ran; "
                  "try fewer jobs or more memory")
    elif isinstance(exc, StingerError):
        detail = str(exc)
    else:
        detail = f"{type(exc).__name__}: {exc}"
        if type(exc).__name__ == "KilledWorker":
            detail = "the Dask workers running it died; " + detail
    return TaskError(detail if detail.startswith(name) else f"{name}: {detail}", name)


def _end_pool(pool: cf.Executor) -> None:
    """Shut an own process pool down now: cancel what is queued, end its worker processes (killed
    if they do not stop within seconds) and wait for its manager thread, so that nothing of the
    pool outlives the call (the interpreter's exit hook would otherwise wait for it forever)."""
    procs = list((getattr(pool, "_processes", None) or {}).values())  # running tasks cannot be cancelled
    manager = getattr(pool, "_executor_manager_thread", None)  # shutdown() forgets it
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        with contextlib.suppress(Exception):
            p.terminate()
    # The manager thread joins the workers too: it goes first, so that no two threads wait for one
    # worker (the loser's waitpid fails, and the worker would look alive until the winner records it).
    if manager is not None:
        manager.join(_END_TIMEOUT_S)
    for p in procs:
        with contextlib.suppress(Exception):
            p.join(_END_TIMEOUT_S)
            if p.is_alive():
                p.kill()
                p.join(_END_TIMEOUT_S)


_END_TIMEOUT_S = 5.0


class _CtrlC:
    """Ctrl-C while an own pool runs: the signal handler only records it (no lock, no logging, no
    exception at a random place such as the fork hooks of ``logging``, where it would be lost); the
    waiting loop of :func:`run_tasks` sees it within :data:`_POLL_S` and raises KeyboardInterrupt
    there, after ending the pool. Only in the main thread, and only when SIGINT has Python's default
    handler (an ignored SIGINT, e.g. in a background job, stays ignored)."""

    def __init__(self) -> None:
        self.seen = False
        self.previous: Any = None

    def _handler(self, signum: int, frame: Any) -> None:
        self.seen = True

    def __enter__(self) -> "_CtrlC":
        if threading.current_thread() is threading.main_thread() and \
                signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            self.previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
            self.previous = None


_POLL_S = 0.1


def run_tasks(fn: Callable[..., Any], tasks: Sequence[Tuple[str, Tuple[Any, ...]]], *,
              jobs: Optional[int] = None, executor: Optional[cf.Executor] = None,
              progress: Optional[ProgressCallback] = None, stage: str = "tasks",
              describe: Optional[Callable[[str, Any], str]] = None) -> List[Any]:
    """``[fn(*args) for name, args in tasks]``, on ``jobs`` processes or ``executor``.

    Args:
        fn: a module-level function (it is pickled by reference to reach another process).
        tasks: ``(name, args)`` per task; the name says which one (``"MLP rich group seed 3"``,
            a log's path) in errors and progress.
        jobs, executor: where the tasks run (see the module docstring); at most one of them.
        progress: called with ``Progress(stage, message, done, total)`` as each task finishes,
            ``done`` counting finished tasks (in completion order).
        describe: ``describe(name, result)``, the progress message of a finished task
            (default ``"{name}: done"``); prefixed by ``[done/total]``.

    Returns:
        The results in the order of ``tasks``.

    Raises:
        TaskError: a task raised, or its worker died (the first failure seen); the
            other tasks are cancelled.
    """
    if executor is not None and check_jobs(jobs) > 1:
        raise StingerError("give either jobs or an executor, not both")
    total = len(tasks)
    results: List[Any] = [None] * total
    settings = _settings()

    def report(done: int, i: int) -> None:
        if progress is not None:
            name = tasks[i][0]
            text = describe(name, results[i]) if describe else f"{name}: done"
            progress(Progress(stage, f"[{done}/{total}] {text}", done, total))

    if not parallel(jobs, executor):
        for i, (name, args) in enumerate(tasks):
            try:
                results[i] = fn(*args)
            except StingerError as exc:
                raise _failure(name, exc) from exc
            report(i + 1, i)
        return results
    own = executor is None
    futures: Dict[cf.Future, int] = {}
    with _CtrlC() as ctrl_c:
        pool = executor if executor is not None else cf.ProcessPoolExecutor(check_jobs(jobs), initializer=_ignore_sigint)
        try:
            for i, (name, args) in enumerate(tasks):
                futures[pool.submit(_call, fn, args, settings)] = i
            pending = set(futures)
            done = 0
            while pending:
                if ctrl_c.seen:
                    raise KeyboardInterrupt
                finished, pending = cf.wait(pending, timeout=_POLL_S, return_when=cf.FIRST_COMPLETED)
                for future in sorted(finished, key=futures.__getitem__):
                    i = futures[future]
                    exc = future.exception()
                    if exc is not None:
                        raise _failure(tasks[i][0], exc) from exc
                    results[i] = future.result()
                    done += 1
                    report(done, i)
            if ctrl_c.seen:
                raise KeyboardInterrupt
        except BaseException:
            for future in futures:
                future.cancel()
            if own:
                _end_pool(pool)
            raise
        if own:
            pool.shutdown(wait=True)
    return results


@contextlib.contextmanager
def dask_executor(address: str) -> Iterator[cf.Executor]:
    """An executor on the Dask cluster whose scheduler is at ``address`` (``tcp://host:8786``),
    closed on exit. Needs ``pip install 'stingerml[dask]'``; imported only here.

    The workers must be able to import stingerml (the same version).
    """
    try:
        from distributed import Client
    except ImportError as exc:
        raise StingerError(f"--scheduler needs Dask's distributed package: pip install 'stingerml[dask]' ({exc})") from None
    try:
        client = Client(address, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise StingerError(f"{address}: cannot reach the Dask scheduler: {exc}. Check the address "
                           "(tcp://host:8786) and that the scheduler is running.") from None
    try:
        yield client.get_executor(pure=False)
    finally:
        client.close()
