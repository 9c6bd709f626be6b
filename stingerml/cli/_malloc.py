"""A fixed ``malloc`` threshold for large blocks, for the CLI's process (glibc only).

glibc serves a request of at least ``M_MMAP_THRESHOLD`` bytes (128 KiB at start) with a mapping of
its own, returned to the system when freed. When such a block is freed, glibc raises the threshold to
its size (up to 32 MiB), so later blocks that size come from the heap instead, where the freed ones
stay resident between live neighbours. Training on a big CSV allocates and frees blocks of a few
hundred KiB for every chunk of batches: measured on benchmarks/big_tabular.py's 200 MB CSV, a resumed
run peaked at 318 MiB with the moving threshold and 304 MiB with a fixed one, as a new run does (a
``stingerml train`` of session_a: the same peak and CPU time either way). Setting the threshold
explicitly (``mallopt``) keeps it fixed.
"""
from __future__ import annotations

import os

M_MMAP_THRESHOLD = -3  # mallopt's parameter number (malloc.h)
THRESHOLD = 128 * 1024  # bytes: glibc's own starting value, kept


def fix_mmap_threshold() -> None:
    """Fix glibc's mmap threshold at :data:`THRESHOLD` (with glibc; elsewhere, or on any error, nothing
    happens)."""
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc"):
            return
        import ctypes

        ctypes.CDLL(None).mallopt(M_MMAP_THRESHOLD, THRESHOLD)  # the process's own libc
    except (ValueError, OSError, AttributeError):  # no such confstr name (not glibc), no symbol
        return
