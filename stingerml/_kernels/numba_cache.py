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
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Callable, Optional

import numba
from numba.core import config

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
    """``numba.njit(**options)`` whose ``cache=True`` caches in :func:`cache_dir` (or nowhere)."""

    def decorate(func: Callable) -> Callable:
        if not options.get("cache"):
            return numba.njit(**options)(func)
        folder = writable_cache_dir()
        if folder is None:
            return numba.njit(**{**options, "cache": False})(func)
        before = config.CACHE_DIR
        config.CACHE_DIR = str(folder)  # numba picks the cache locator while decorating
        try:
            return numba.njit(**options)(func)
        finally:
            config.CACHE_DIR = before

    return decorate
