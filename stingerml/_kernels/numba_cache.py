"""Where numba caches the compiled kernels: a per-user folder, never inside the installed package.

numba's default (``cache=True`` without ``NUMBA_CACHE_DIR``) writes beside the module, into
``site-packages/stingerml/.../__pycache__``; pip leaves that folder behind when it uninstalls,
and it then shadows a later editable install. So every stingerml kernel is decorated with
:func:`njit` from here, which gives numba the folder of :func:`cache_dir`:

- ``$NUMBA_CACHE_DIR`` when it is set (numba's own setting, honoured as numba does);
- else ``$XDG_CACHE_HOME/stingerml/numba``, or ``~/.cache/stingerml/numba``.

The folder is created on first use. When it cannot be written, one ``warning:`` line on
stderr says so and the kernels are compiled without a cache (in every process), rather than
numba falling back to the package folder. The setting is made for each of our decorations
only (``numba.core.config.CACHE_DIR`` is restored), so it does not move the cache of a
user's own numba functions.

Loading a cached kernel is made cheap (issue 28), for our kernels only:

- numba's own loader first calls ``target_context.refresh()``, which imports and installs every
  typing and lowering registry numba has (``numba.np.*``, ``numba.cpython.*``, and through
  ``numba.np.linalg`` scipy.linalg when scipy is installed): about 0.3-0.4 s and 35 MB, needed to
  *compile*, not to load machine code. Our kernels' cache (:class:`_KernelCache`) only starts
  numba's runtime before loading; a cache miss compiles through numba's compiler, which
  refreshes the context itself.
- numba's runtime (NRT: reference counting of arrays) compiles a few LLVM functions in every
  process, the first use of LLVM's optimiser and code generator (about 30 MB of LLVM's code
  paged in). :func:`_start_runtime` keeps their machine code in the same cache folder
  (``nrt-<key>.nbc``; the key covers numba, llvmlite, the CPU and the functions' IR) and loads
  it as numba loads a cached kernel.

Both fall back to numba's own path when numba's internals are not what they expect.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import sys
import tempfile
from pathlib import Path
from typing import Callable, Optional

import llvmlite
from llvmlite import binding as ll

from . import llvm_pages

llvm_pages.release()  # loading LLVM ran its static constructors: their pages go before numba adds its own

import numba  # noqa: E402  (numba's import and LLVM's pages would add up to the peak resident set)
from numba.core import config  # noqa: E402
from numba.core.caching import FunctionCache  # noqa: E402
from numba.core.compiler_lock import global_compiler_lock  # noqa: E402
from numba.core.runtime import _nrt_python, nrtdynmod, rtsys  # noqa: E402

__all__ = ["cache_dir", "njit", "writable_cache_dir"]

_checked: dict = {}  # cache folder -> writable (checked once per process)


def cache_dir() -> Path:
    """The folder numba caches stingerml's kernels in (not created here)."""
    user = os.environ.get("NUMBA_CACHE_DIR", "").strip()
    if user:
        return Path(user).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "stingerml" / "numba"


def writable_cache_dir() -> Optional[Path]:
    """:func:`cache_dir`, created if missing, or ``None`` when it cannot be written (after one
    ``warning:`` line on stderr, once per folder and process)."""
    folder = cache_dir()
    key = str(folder)
    if key not in _checked:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tempfile.TemporaryFile(dir=folder).close()
            _checked[key] = True
        except OSError as exc:
            _checked[key] = False
            print(f"warning: numba cannot cache compiled kernels in {folder} ({exc.strerror or exc}); "
                  "they are compiled again in every run: set NUMBA_CACHE_DIR to a writable folder",
                  file=sys.stderr)
    return folder if _checked[key] else None


def njit(**options) -> Callable[[Callable], Callable]:
    """``numba.njit(**options)`` whose ``cache=True`` caches in :func:`cache_dir` (or nowhere),
    loading through :class:`_KernelCache`."""

    def decorate(func: Callable) -> Callable:
        if not options.get("cache"):
            return numba.njit(**options)(func)
        folder = writable_cache_dir()
        kernel = numba.njit(**{**options, "cache": False})(func)
        if folder is None:
            return kernel
        before = config.CACHE_DIR
        config.CACHE_DIR = str(folder)  # numba picks the cache locator when the cache is made
        try:
            kernel._cache = _KernelCache(kernel.py_func)  # what numba's enable_caching() does, our class
        finally:
            config.CACHE_DIR = before
        return kernel

    return decorate


class _KernelCache(FunctionCache):
    """numba's cache of one kernel, loading machine code without refreshing numba's registries
    (see the module's docstring); anything unexpected goes through numba's own loader."""

    def load_overload(self, sig, target_context):
        try:
            _start_runtime(target_context)
            with self._guard_against_spurious_io_errors():
                return self._load_overload(sig, target_context)
        except Exception:  # numba's own loader (refresh first) decides, and raises what it raises
            return super().load_overload(sig, target_context)
        finally:
            llvm_pages.release()  # LLVM is done with this kernel (when enabled)


@global_compiler_lock
def _start_runtime(context) -> None:
    """numba's ``rtsys.initialize(context)``, with the runtime's compiled functions from our cache."""
    if rtsys._init:
        return
    ir_module, fresh = nrtdynmod.create_nrt_module(context)  # the IR only; LLVM compiles it below
    codegen = context.codegen()
    key = hashlib.sha256(repr((numba.__version__, llvmlite.__version__, codegen.magic_tuple(), config.OPT,
                               str(ir_module))).encode()).hexdigest()[:20]
    folder = writable_cache_dir()
    path = folder / f"nrt-{key}.nbc" if folder is not None else None
    for name, address in _nrt_python.c_helpers.items():  # as rtsys.initialize
        ll.add_symbol(name if name.startswith("_") else "NRT_" + name, address)
    if config.NRT_STATS:
        _nrt_python.memsys_enable_stats()
    library = None
    if path is not None and path.is_file():
        try:
            library = codegen.unserialize_library(pickle.loads(path.read_bytes()))
        except Exception:  # damaged or foreign: compiled again below
            library = None
    if library is None:
        fresh.enable_object_caching()
        fresh.add_ir_module(ir_module)
        fresh.finalize()
        fresh.get_pointer_to_function("NRT_incref")  # LLVM emits the machine code now
        library = fresh
        if path is not None:
            _write_atomically(path, pickle.dumps(fresh.serialize_using_object_code()))
    rtsys._library = library
    rtsys._init = True
    llvm_pages.release()  # before the first kernel's load pages LLVM in again (when enabled)


def _write_atomically(path: Path, data: bytes) -> None:
    """``path`` holds ``data``, or is left as it was when it cannot be written (compiled again next time)."""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name)
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)  # atomic: another process may load or write it at the same time
    except OSError:
        Path(tmp).unlink(missing_ok=True)
