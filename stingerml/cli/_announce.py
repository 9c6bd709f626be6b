"""Long work is announced, once, before it starts: the pure-Python path says that it is slow and
how to make it fast; numba's first run says that it compiles (then caches) its kernels.

Both are ``note:`` lines on stderr, silenced by ``--quiet`` (:func:`._common.say`).
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

from ._common import say

FAST = "pip install 'stingerml[fast]'"


def announce_backend(args: argparse.Namespace, work: str, family: str = "train", *, pure: bool = True) -> None:
    """One ``note:`` line about the speed of ``work`` (e.g. ``"training"``) on the active backend,
    when it is worth saying: the pure-Python path (slow; only with ``pure``, for a command that
    says it otherwise), or numba without its compiled kernels for ``family`` in the cache (a
    first run compiles for 10-20 s). Said when the first kernel of ``family`` is fetched
    (:func:`stingerml._kernels.on_first_use`): after the inputs were read, so never before an
    error about them."""
    from .._kernels import on_first_use

    on_first_use(family, lambda: _say_backend(args, work, family, pure))


def _say_backend(args: argparse.Namespace, work: str, family: str, pure: bool) -> None:
    from .._kernels import backend

    if backend() == "python":
        if not pure:
            return
        if not _importable("numba"):
            how = f"{FAST} (numba) makes it about 100 times faster"
        else:
            how = "numba is installed: drop --backend python / STINGERML_BACKEND=python for about 100 times faster"
        say(args, f"note: {work} runs in pure Python: about 80 s per 5 minutes of recording on two CPUs, "
                  f"twice that on one; {how}", stream=sys.stderr)
    elif not numba_cached(family):
        say(args, f"note: numba compiles the {work} kernels for this machine on this first run (about 10-20 s); "
                  "later runs load them from its cache", stream=sys.stderr)


def numba_cached(family: str) -> bool:
    """Whether numba's cache holds compiled kernels of ``family``'s numba module, newer than its
    source (numba's own test; a stale entry is compiled again). Looks where stingerml's kernels
    are cached (:func:`stingerml._kernels.numba_cache.cache_dir`)."""
    from .._kernels import _FAMILIES
    from .._kernels.numba_cache import cache_dir

    spec = importlib.util.find_spec(f"stingerml._kernels.{_FAMILIES[family][1]}")
    if spec is None or spec.origin is None:
        return False
    source = Path(spec.origin)
    pattern = f"{source.stem}.*.nbi"
    index = cache_dir().rglob(pattern)
    try:
        built = source.stat().st_mtime
        return any(entry.stat().st_mtime >= built for entry in index)
    except OSError:
        return False


def _importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # ValueError: blocked in sys.modules (None)
        return False
