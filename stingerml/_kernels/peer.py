"""A second process for the pure-Python MLP: two CPUs, the same bits.

Full-batch training (SPEC §8) splits in two without changing one operation:
every row's forward and backward pass reads only the weights of the previous
iteration, and every gradient element is its own sum over the rows in order.
So the main process passes the first rows and the helper the rest; then the
helper sums the input layer's gradients (W1, b1) over all rows and the main
process the output side's (W2, b2, W3, b3), each from its own passes and the
ones it received, in row order; each updates its part with Adam
(element-wise) and the two swap the new weights. With noise, both run the
same rng and each draws its own rows' noise, stepping over the other's draws.
The boundary between the two processes' rows moves every iteration to keep
both equally busy; which process passes a row changes no result.

The helper is ``python -m stingerml._kernels.helper`` (which runs
:func:`serve` with :func:`.pure.mlp_fit_share`), exchanging pickles over its stdin
and stdout; it is kept between fits and exits with the main
process. Only the pure backend uses it (numba needs no help), when
:func:`stingerml.set_processes` / ``STINGERML_PROCESSES`` allows two
processes: ``auto`` (the default) when two CPUs are free and the fit is big
enough to be worth it (never under PyPy, :data:`AUTO_SPLITS`), ``2`` for every fit of two rows or more, ``1`` never.
That setting lives here (:func:`set_processes`, :func:`processes`); the
package :mod:`stingerml._kernels` re-exports it.

This module knows nothing of the network: it moves the row passes and weights
that :func:`.pure.mlp_fit` hands it (``pure`` imports ``peer``, never the reverse).
"""
from __future__ import annotations

import atexit
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
import warnings
from array import array
from pathlib import Path
from typing import Any, BinaryIO, Callable, List, Optional, Sequence, Tuple, Union

from ..core.errors import StingerError, StingerWarning, TrainingError

MIN_WORK = 4000  # rows × iterations (a few seconds of pure-Python training) before "auto" splits
MAIN_SHARE = 0.46  # of the rows: the output side's gradient sums cost a little more than the input layer's
_STOP_TIMEOUT_S = 10.0
_SMOOTHING = 0.25  # weight of the newest iteration in the load-balance estimates
# Under PyPy "auto" means one process: a second JIT warming up and PyPy's slow pickling cost
# more than the second CPU saves (tiny: half the CPU time and less wall time in one process;
# docs/performance.md).
AUTO_SPLITS = sys.implementation.name != "pypy"


class Link:
    """One end of the two-process split, as :func:`.pure.mlp_fit` uses it.

    Attributes:
        rows: ``(lo, hi)``, the rows this process passes forward and backward.
        owns_inputs: True in the helper (it sums and updates W1, b1); False in
            the main process (W2, b2, W3, b3, the loss history and progress).
    """

    def __init__(self, rows: Tuple[int, int], n_rows: int, owns_inputs: bool, inp: BinaryIO, out: BinaryIO,
                 proc: Optional[subprocess.Popen] = None) -> None:
        self.rows = rows
        self._n_rows = n_rows
        self.owns_inputs = owns_inputs
        self._inp, self._out, self._proc = inp, out, proc
        self._sending: Optional[threading.Thread] = None
        self._send_error: Optional[BaseException] = None
        # load balance (seconds): when this iteration began, time spent waiting for the
        # other process, this process's share of the row passes; smoothed estimates
        self._began = time.perf_counter()
        self._waited = self._passes_s = 0.0
        self._all_passes_s: Optional[float] = None
        self._sums_gap_s = 0.0

    # --- messages -------------------------------------------------------------------------

    def _write(self, obj: Any) -> None:
        try:
            pickle.dump(obj, self._out, protocol=pickle.HIGHEST_PROTOCOL)
            self._out.flush()
        except (OSError, ValueError) as exc:
            self._send_error = exc

    def _send(self, obj: Any, wait: bool = True) -> None:
        """Write one message; ``wait=False`` writes it from a thread (a big message must not
        block this process until the other one reads it). Messages keep their order."""
        self._join()
        if wait:
            self._write(obj)
            self._join()
        else:
            self._sending = threading.Thread(target=self._write, args=(obj,), daemon=True)
            self._sending.start()

    def _join(self) -> None:
        if self._sending is not None:
            self._sending.join()
            self._sending = None
        if self._send_error is not None:
            raise self._failed(self._send_error)

    def _recv(self) -> Any:
        start = time.perf_counter()
        try:
            return pickle.load(self._inp)
        except (EOFError, OSError, ValueError, pickle.UnpicklingError) as exc:
            raise self._failed(exc) from exc
        finally:
            self._waited += time.perf_counter() - start

    def _failed(self, exc: BaseException) -> StingerError:
        who = "the helper training process" if self._proc else "the main training process"
        code = f" (exit code {self._proc.poll()})" if self._proc and self._proc.poll() is not None else ""
        return TrainingError(f"{who} stopped{code}: {exc!r}. "
                             "Set STINGERML_PROCESSES=1 to train in one process.")

    # --- the exchanges of an iteration --------------------------------------------------------

    def send_passes(self, passes: Sequence[Any], noisy: bool) -> None:
        """Send the other process what its gradient sums need from this process's rows:
        ``h1, h2, dz, dh2`` from the helper; ``dh1`` (and, with noise, the inputs) from the main process.
        A pass is a row's record with the fields ``x1, h1, h2, dz, dh2, dh1`` (``pure``'s ``_RowPass``)."""
        self._passes_s = time.perf_counter() - self._began - self._waited
        if self.owns_inputs:
            msg = (_joined(p.h1 for p in passes), _joined(p.h2 for p in passes),
                   _joined(p.dh2 for p in passes), array("d", [p.dz for p in passes]))
        else:
            msg = (_joined(p.x1 for p in passes) if noisy else None, _joined(p.dh1 for p in passes))
        self._send(msg, wait=False)

    def receive_passes(self, data1: Sequence[array], noisy: bool, make: Callable[..., Any]) -> List[Any]:
        """The other process's rows, in order, with the fields this process's sums read, each built
        as ``make(x1, h1, h2, dz, dh2, dh1)`` (the fields this process does not read are None or 0.0)."""
        if self.owns_inputs:
            X1, DH1 = self._recv()
            n = self.rows[0]  # the main process passed the rows before this process's
            w, h1 = len(data1[0]), len(DH1) // n
            return [make(X1[r * w : (r + 1) * w] if noisy else data1[r], None, None, 0.0, None,
                         DH1[r * h1 : (r + 1) * h1]) for r in range(n)]
        H1, H2, DH2, DZ = self._recv()
        n = len(DZ)
        h1, h2 = len(H1) // n, len(H2) // n
        return [make(None, H1[i * h1 : (i + 1) * h1], H2[i * h2 : (i + 1) * h2], dz,
                     DH2[i * h2 : (i + 1) * h2], None) for i, dz in enumerate(DZ)]

    def share_weights(self, W1b: List[array], W2b: List[array], W3: array, b3: float):
        """Swap the updated layers: the helper sends ``W1b``, the main process ``W2b, W3, b3``.

        This also places the boundary between the two processes' rows for the next
        iteration so that both are busy for the same time. The helper reports how
        long its passes and its sums took; with ``P`` the passes of all rows and
        ``gap`` the helper's sums minus the main process's (both smoothed), the
        main process takes ``n (P + gap) / 2P`` rows. (As the network trains, more
        units turn on and the output side's sums grow faster than the input
        layer's.) Which process passes a row changes no result.
        """
        sums_s = time.perf_counter() - self._began - self._waited - self._passes_s
        if self.owns_inputs:
            self._send((_joined(W1b), self._passes_s, sums_s))
            flat2, W3, b3, split = self._recv()
            self.rows = (split, self.rows[1])
            self._new_iteration()
            return W1b, _split(flat2, len(W2b[0])), W3, b3
        flat1, helper_passes_s, helper_sums_s = self._recv()
        split = self._balanced_split(self._passes_s + helper_passes_s, helper_sums_s - sums_s)
        self._send((_joined(W2b), W3, b3, split))
        self.rows = (0, split)
        self._new_iteration()
        return _split(flat1, len(W1b[0])), W2b, W3, b3

    def _new_iteration(self) -> None:
        self._began = time.perf_counter()
        self._waited = 0.0

    def _balanced_split(self, all_passes_s: float, sums_gap_s: float) -> int:
        """The main process's row count for the next iteration (see :meth:`share_weights`)."""
        if self._all_passes_s is None:
            self._all_passes_s, self._sums_gap_s = all_passes_s, sums_gap_s
        else:  # exponential smoothing: a shared VM's timings jump from one iteration to the next
            self._all_passes_s += _SMOOTHING * (all_passes_s - self._all_passes_s)
            self._sums_gap_s += _SMOOTHING * (sums_gap_s - self._sums_gap_s)
        n_rows = self._n_rows
        if self._all_passes_s <= 0.0:
            return self.rows[1]
        split = round(n_rows * (self._all_passes_s + self._sums_gap_s) / (2.0 * self._all_passes_s))
        return min(max(split, 1), n_rows - 1)

    def share_probs(self, probs: List[float]) -> Optional[List[float]]:
        """Every row's probability in the main process (the helper sends its rows' and gets None)."""
        if self.owns_inputs:
            self._send(array("d", probs))
            return None
        return probs + list(self._recv())

    # --- lifetime ------------------------------------------------------------------------

    def __enter__(self) -> "Link":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        """End of a fit in the main process: the helper waits for the next one, unless the fit
        failed half-way (then the helper's state is unknown and it is stopped)."""
        if self._proc is None:
            return
        try:
            if exc_type is None:
                self._join()
        finally:
            if exc_type is not None or self._send_error is not None:
                _stop_helper(kill=True)
            _busy.release()


_processes: Optional[Union[int, str]] = None


def set_processes(setting: Union[int, str]) -> Union[int, str]:
    """How many processes the pure-Python MLP may use: ``1``, ``2`` or ``"auto"``.

    ``auto`` (the default) uses a second process when two CPUs are available and
    the fit is big enough to be worth starting one; ``2`` always does (for two
    rows or more). Results are identical either way. Returns the new setting.
    """
    global _processes
    text = str(setting).strip().lower()
    if text not in ("1", "2", "auto"):
        raise ValueError(f"processes must be 1, 2 or auto, not {setting!r}")
    _processes = text if text == "auto" else int(text)
    return _processes


def process_setting() -> Union[int, str]:
    """The current setting: ``1``, ``2`` or ``"auto"`` (from ``STINGERML_PROCESSES`` until set)."""
    if _processes is None:
        set_processes(os.environ.get("STINGERML_PROCESSES", "auto") or "auto")
    return _processes  # type: ignore[return-value]


def processes() -> int:
    """How many processes a big pure-Python MLP fit would use now (1 or 2)."""
    setting = process_setting()
    if setting != "auto":
        return setting  # type: ignore[return-value]
    if not AUTO_SPLITS:
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return 2 if cpus >= 2 else 1


class _Helper:
    """The helper process, kept between fits (it idles on a blocking read)."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = proc
        self.parent_pid = os.getpid()
        self.greeted = False


_helper: Optional[_Helper] = None
_busy = threading.Lock()  # one fit at a time uses the helper; others run in one process


def _helper_command() -> List[str]:
    return [sys.executable, "-m", __name__.rpartition(".")[0] + ".helper"]


def _spawn() -> Optional[_Helper]:
    """The running helper, started now if there is none (None, with a warning, if it cannot start)."""
    global _helper
    if _helper is not None and _helper.parent_pid == os.getpid() and _helper.proc.poll() is None:
        return _helper
    _helper = None
    package_parent = str(Path(__file__).resolve().parents[2])  # so a source checkout works too
    env = dict(os.environ, STINGERML_PROCESSES="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH")) if p)
    try:
        proc = subprocess.Popen(_helper_command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    except (OSError, ValueError) as exc:
        warnings.warn(f"could not start a helper process ({exc}); training in one process", StingerWarning)
        return None
    _helper = _Helper(proc)
    return _helper


def _stop_helper(kill: bool = False) -> None:
    """Stop the helper: close its input (it exits) or kill it; always reap it."""
    global _helper
    helper, _helper = _helper, None
    if helper is None or helper.parent_pid != os.getpid():
        return
    proc = helper.proc
    if kill:
        proc.kill()
    for f in (proc.stdin, proc.stdout):
        try:
            f.close()
        except OSError:
            pass
    try:
        proc.wait(timeout=_STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


atexit.register(_stop_helper)


def prestart() -> None:
    """Start the helper in the background if big pure-Python MLP fits may follow.

    Called by the pipeline before featurizing, so that the helper's start-up
    (an interpreter and an import, a fraction of a second) overlaps other work.
    """
    if processes() >= 2:
        _spawn()


def _joined(rows) -> array:
    out = array("f")
    for r in rows:
        out += r
    return out


def _split(flat: array, width: int) -> List[array]:
    return [flat[i : i + width] for i in range(0, len(flat), width)]


def _wanted(n_rows: int, max_iter: int) -> bool:
    if n_rows < 2 or processes() < 2:
        return False
    return process_setting() == 2 or n_rows * max_iter >= MIN_WORK


def start(X: Sequence[float], y: Sequence[int], n_rows: int, n_in: int, max_iter: int, alpha: float,
          learning_rate: float, seed: int, noise_std: float, record_loss: bool,
          loss_every: int) -> Optional[Link]:
    """Hand the helper its share of one :func:`.pure.mlp_fit`; return the main process's link.

    Returns None when the fit should run in one process: not wanted (see the
    module docstring), the helper busy with another thread's fit, or the helper
    could not start (then with a warning).
    """
    if not _wanted(n_rows, max_iter) or not _busy.acquire(blocking=False):
        return None
    helper = _spawn()
    if helper is None:
        _busy.release()
        return None
    split = max(1, round(n_rows * MAIN_SHARE))
    link = Link((0, split), n_rows, False, helper.proc.stdout, helper.proc.stdin, helper.proc)
    args = dict(X=array("f", X[: n_rows * n_in]), y=list(y[:n_rows]), n_rows=n_rows, n_in=n_in,
                max_iter=max_iter, alpha=alpha, learning_rate=learning_rate, seed=seed, noise_std=noise_std,
                record_loss=record_loss, loss_every=loss_every)
    try:
        if not helper.greeted:
            if link._recv() != "ready":
                raise TrainingError("unexpected greeting")
            helper.greeted = True
        link._send((split, args))
    except StingerError as exc:
        _stop_helper(kill=True)
        _busy.release()
        warnings.warn(f"the helper process did not start ({exc}); training in one process", StingerWarning)
        return None
    return link


def serve(train: Callable[..., Any]) -> None:
    """The helper process's loop: greet, then run ``train(**job, link=link)`` (its share of each
    job, :func:`.pure.mlp_fit_share`) until the main process closes the pipe.

    Ctrl-C is left to the main process (which stops the helper); a main process
    gone mid-fit ends the helper quietly.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but messages may reach the main process's pipe
    try:
        Link((0, 0), 0, True, inp, out)._send("ready")
        while True:
            try:
                split, args = pickle.load(inp)
            except EOFError:
                return
            link = Link((split, args["n_rows"]), args["n_rows"], True, inp, out)
            train(**args, link=link)
            link._join()
    except (StingerError, BrokenPipeError):
        sys.exit(1)
