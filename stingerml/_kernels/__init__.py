"""The kernel seam: every hot loop is reached through :func:`kernels`.

Each *family* of kernels is a pair of modules with the same public names
(the reference's ``__all__``):

- the **reference** in pure Python, readable against SPEC.md and the fallback
  (``pure``: the browser trainer's loops; ``firmware_pure``: the firmware's
  float32 inference; ``tabular_pure``: the tabular trainer's mini-batch MLP;
  ``audio_pure``: the audio features' FFT and per-frame loops);
- its **numba twin** (``jit``, ``firmware_jit``, ``tabular_jit``, ``audio_jit``): the same
  names, signatures and results to the bit.

One selector picks the backend for every family: ``STINGERML_BACKEND``
(``python``, ``numba`` or ``auto``, the default: numba when installed), or
:func:`set_backend`. Selecting looks numba up without importing it (importing
numba takes ~0.3 s and ~90 MB): numba and a family's twin are imported by the
first :func:`kernels` call for that family, and numba loads each kernel's
machine code from its cache on the kernel's first call, so a command loads only
the kernels it runs (and one that runs none never imports numba). Under
``auto``, a numba that is installed but fails to import falls back to pure
Python there. Callers write ``kernels().scaler_fit(...)`` or
``kernels("firmware").lr_logits(...)``; a new family is one line in
``_FAMILIES``. (The pattern is ``heapq.py`` with its C twin ``_heapq``, except
that the choice can change at run time, so it is made per call.)

The pure MLP may share its work with a second process (:mod:`.peer`,
``STINGERML_PROCESSES`` / :func:`set_processes`); that sits inside
``pure.mlp_fit``, behind the same seam.
"""
from __future__ import annotations

import gc
import importlib
import importlib.util
import os
import sys
from types import ModuleType
from typing import Callable, Dict, Optional, Tuple

_FAMILIES: Dict[str, Tuple[str, str]] = {  # family: (reference module, numba twin)
    "train": ("pure", "jit"),
    "firmware": ("firmware_pure", "firmware_jit"),
    "tabular": ("tabular_pure", "tabular_jit"),
    "sequence": ("sequence_pure", "sequence_jit"),
    "audio": ("audio_pure", "audio_jit"),
}

_name: Optional[str] = None  # the active backend, "python" or "numba"; None until first use
_auto = False  # numba was chosen by "auto": pure Python if it fails to import
_freeze = False  # freeze_after_numba() was called and has not frozen yet
_first_use: Dict[str, Callable[[], None]] = {}  # family: called once, before its first kernels() call


def _module(family: str, numba: bool) -> ModuleType:
    try:
        names = _FAMILIES[family]
    except KeyError:
        raise ValueError(f"unknown kernel family {family!r}; one of {', '.join(_FAMILIES)}") from None
    return importlib.import_module(f"{__name__}.{names[numba]}")


def numba_installed() -> bool:
    """Whether numba can be found, without importing it."""
    try:
        return importlib.util.find_spec("numba") is not None
    except (ImportError, ValueError):  # ValueError: blocked in sys.modules (None)
        return False


def _needs_numba(reason: object) -> ImportError:
    return ImportError(f"the numba backend needs numba: pip install 'stingerml[fast]' ({reason})")


def set_backend(name: str) -> str:
    """Select ``"python"``, ``"numba"`` or ``"auto"``; returns the backend now active.

    ``"numba"`` without numba installed raises :class:`ImportError` (the install hint)."""
    global _name, _auto
    if name not in ("python", "numba", "auto"):
        raise ValueError(f"unknown backend {name!r}; use python, numba or auto")
    if name != "python" and numba_installed():
        _name, _auto = "numba", name == "auto"
    elif name == "numba":
        raise _needs_numba("No module named 'numba'")
    else:
        _name, _auto = "python", False
    return _name


def backend() -> str:
    """Name of the active backend (``"python"`` or ``"numba"``), selecting from the environment on first use."""
    if _name is None:
        set_backend(os.environ.get("STINGERML_BACKEND", "auto").strip().lower() or "auto")
    return _name  # type: ignore[return-value]


def kernels(family: str = "train") -> ModuleType:
    """The active backend's module of a kernel family: ``"train"`` (default), ``"firmware"``, ``"tabular"``,
    ``"sequence"`` or ``"audio"``."""
    global _name, _freeze
    freeze = _freeze and backend() == "numba" and "numba" not in sys.modules and gc.isenabled()
    if freeze:
        gc.disable()  # numba is imported below: no collection among its new objects either
    try:
        if _first_use:
            hook = _first_use.pop(family, None)
            if hook is not None:
                hook()
        if backend() == "numba":
            try:
                return _module(family, True)  # imports numba
            except ImportError as exc:
                if not _auto:
                    raise _needs_numba(exc) from exc
                _name = "python"
        return _module(family, False)
    finally:
        if freeze:
            _freeze = False
            gc.freeze()
            gc.enable()


def freeze_after_numba() -> None:
    """For a program that owns its process (the CLI): when a :func:`kernels` call makes the process's
    first import of numba, every object alive then leaves the cyclic garbage collector's scans
    (:func:`gc.freeze`). numba's many long-lived objects were otherwise traversed by every full
    collection: about a tenth of a warm ``stingerml train``'s CPU time (perf: ``gc_collect_main``
    and its ``visit_*``). Objects frozen are never collected, so a library does not do this in a
    user's process unasked."""
    global _freeze
    _freeze = True


def release_llvm_pages() -> None:
    """For a program that owns its process (the CLI), on Linux: once LLVM is loaded, once numba's runtime has
    started and after each kernel's load, unmap from the process the pages of LLVM's shared library that
    only loading used (:mod:`.llvm_pages`: clean, read-only pages, faulted back from the page cache if LLVM
    runs again): a numba ``train`` peaks at 86 MB resident instead of 124."""
    from . import llvm_pages

    llvm_pages.enable()


def one_blas_thread() -> None:
    """For a program that owns its process (the CLI), before numpy is imported: ``OPENBLAS_NUM_THREADS=1``,
    unless the environment sets it. numpy's OpenBLAS starts a thread per CPU when numpy loads, and they spin
    waiting for work: 0.1-0.25 s of CPU in a numba ``train`` on 2 CPUs (a sixth of it), for nothing, as no
    kernel calls BLAS (every sum is a kernel's own loop, in the browser's order). Child processes inherit it."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def on_first_use(family: str, callback: Callable[[], None]) -> None:
    """Call ``callback()`` once, just before the next :func:`kernels` call for ``family``: when the long
    computation really starts, after the inputs were read and checked (the CLI's note about the
    backend's speed, which must not precede an error about the input)."""
    _first_use[family] = callback


def clear_first_use() -> None:
    """Drop the callbacks :func:`on_first_use` holds (a command that ended before its work started)."""
    _first_use.clear()


def prestart_helper() -> None:
    """Before a training run: start the pure MLP's helper process now, if it will be used,
    so that its start-up overlaps featurizing (:func:`.peer.prestart`)."""
    if backend() == "python":
        from . import peer

        peer.prestart()


_PEER_NAMES = ("process_setting", "processes", "set_processes")


def __getattr__(name: str):
    """The process settings live in :mod:`.peer` (with subprocess and pickle): imported on first use."""
    if name in _PEER_NAMES:
        from . import peer

        return getattr(peer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
