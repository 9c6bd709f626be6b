"""Atomic file output: write to a temporary file beside the target, then rename."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Dict, List, Tuple, Union

PathLike = Union[str, "os.PathLike[str]"]


def _write_temp(target: Path, data: bytes) -> str:
    """Write ``data`` to a new temporary file beside ``target`` (flushed to disk); returns its path."""
    umask = os.umask(0)
    os.umask(umask)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or ".")
    try:
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual permissions
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        _unlink(tmp)
        raise
    return tmp


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def write_bytes_atomic(path: PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see either the old file or the whole new one."""
    write_files_atomic({path: data})


def write_files_atomic(files: Dict[PathLike, bytes]) -> None:
    """Write several files as a set: each is written to a temporary file beside its target first, and
    only when all are written are they renamed into place (on an error no target is touched)."""
    temps: List[Tuple[str, Path]] = []
    try:
        for path, data in files.items():
            target = Path(path)
            temps.append((_write_temp(target, data), target))
        while temps:
            os.replace(*temps[0])
            temps.pop(0)
    except BaseException:
        for tmp, _ in temps:
            _unlink(tmp)
        raise


def write_text_atomic(path: PathLike, text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically (see :func:`write_bytes_atomic`)."""
    write_bytes_atomic(path, text.encode("utf-8"))
