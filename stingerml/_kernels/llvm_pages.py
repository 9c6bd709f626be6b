"""Giving back the pages of LLVM's shared library that only loading used (issue 28; Linux only).

numba loads machine code through LLVM: llvmlite's ``libllvmlite.so``, about 150 MB of code and
read-only data. Its static constructors, numba's import and each kernel load run parts of it, and
Linux maps every page they touch, with its neighbours (fault-around: 64 KB per fault), into the
process: about 36 MB after ``import llvmlite.binding`` and 50 MB after the first kernel load, all
counted in the process's resident set (RSS), although a training never runs LLVM again.

:func:`release` unmaps those pages from the process (``madvise(MADV_DONTNEED)``), in the library's
mappings that are read-only and hold no private copy of any page (``Anonymous: 0 kB`` in
``/proc/self/smaps``): there every page is exactly the file's, so a later access faults the same
bytes back in from the page cache (a minor fault; the kernel may drop such clean pages itself under
memory pressure anyway). The writable data and the relocated read-only pages (RELRO, which hold
private copies) are never touched; their mappings are left out by that test.

What it is: a lower resident set (what ``ps``, ``top``, ``/usr/bin/time`` and the OOM killer count),
124 -> 86 MB at a numba ``train``'s peak; the pages stay in the page cache (shared with any other
process using LLVM, and easier for the kernel to reclaim once no process maps them), so the
machine's free memory barely changes. Each later kernel load faults back the ~10 MB of LLVM it runs
(released again after the load).

Off by default: a program that owns its process (the CLI) calls :func:`enable`; numba's cache of our
kernels (:mod:`.numba_cache`) calls :func:`release` once LLVM is loaded (before numba's import),
once numba's runtime has started and after each kernel's load. Off Linux, and after any error (the
error is dropped and nothing is released again), it does nothing.
"""
from __future__ import annotations

import sys
from typing import Callable, Iterable, List, Optional, Tuple

__all__ = ["clean_ranges", "enable", "release"]

_enabled = False
_ranges: Optional[List[Tuple[int, int]]] = None  # the addresses to release; None: not looked up yet
_madvise: Optional[Callable[[int, int, int], int]] = None  # libc's madvise, once looked up


def enable() -> None:
    """Let :func:`release` work in this process (on Linux)."""
    global _enabled
    _enabled = sys.platform.startswith("linux")


def clean_ranges(smaps: Iterable[str], path: str) -> List[Tuple[int, int]]:
    """``(start, end)`` addresses of the mappings of the file ``path`` in the lines of ``/proc/<pid>/smaps``
    that are private, not writable, and hold no anonymous (private, copied-on-write) page."""
    found: List[Tuple[int, int]] = []
    mapping: Optional[Tuple[int, int]] = None  # the current mapping, while it may qualify
    for line in smaps:
        fields = line.split()
        if not fields:
            continue
        if not fields[0].endswith(":"):  # a mapping's first line: start-end perms offset dev inode [path]
            mapping = None
            perms = fields[1] if len(fields) > 1 else ""
            if " ".join(fields[5:]) == path and "w" not in perms and perms.endswith("p"):
                start, end = fields[0].split("-")
                mapping = (int(start, 16), int(end, 16))
        elif mapping is not None and fields[0] == "Anonymous:":
            if fields[1:2] == ["0"]:
                found.append(mapping)
            mapping = None
    return found


def release() -> None:
    """Unmap the clean pages of ``libllvmlite.so`` from this process (see the module's docstring); a no-op
    unless :func:`enable` was called, and after any error."""
    global _enabled, _ranges, _madvise
    if not _enabled:
        return
    try:
        import ctypes
        import mmap

        if _madvise is None or _ranges is None:  # once: read-only mappings stay clean (nothing writes to them)
            import os

            from llvmlite.binding import ffi

            with open("/proc/self/smaps") as smaps:
                _ranges = clean_ranges(smaps, os.path.realpath(ffi.lib._name))
            _madvise = ctypes.CDLL(None, use_errno=True).madvise
            _madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
        for start, end in _ranges:
            if _madvise(start, end - start, mmap.MADV_DONTNEED) != 0:
                raise OSError(ctypes.get_errno(), "madvise")
    except Exception:  # anything unexpected: keep the pages, never try again
        _enabled = False
