"""Atomic file output: write to a temporary file beside the target, then rename."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Dict, Union

PathLike = Union[str, "os.PathLike[str]"]


def write_bytes_atomic(path: PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see either the old file or the whole new one."""
    target = Path(path)
    umask = os.umask(0)
    os.umask(umask)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or ".")
    try:
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual permissions
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_text_atomic(path: PathLike, text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically (see :func:`write_bytes_atomic`)."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_files_atomic(directory: PathLike, files: Dict[str, bytes]) -> Dict[str, Path]:
    """Write a set of ``{name: bytes}`` into ``directory`` (created if missing) as a set.

    Every file is first written in full to a temporary file beside its target;
    only when all are on disk are they renamed into place, one ``os.replace``
    each. A failure while writing removes the temporary files (and the
    directories this call created): nothing is changed.

    Raises:
        OutputError: the directory or a file cannot be written.
    """
    from .errors import OutputError

    out = Path(directory)
    for name in files:
        if (out / name).is_dir():  # os.replace would fail only after the others were renamed
            raise OutputError(f"{out / name}: is a directory; nothing was written to {out}. Remove it or "
                              f"choose another output folder.")
    created = [p for p in (out, *out.parents) if not p.exists()]
    staged: Dict[Path, str] = {}
    try:
        out.mkdir(parents=True, exist_ok=True)
        umask = os.umask(0)
        os.umask(umask)
        for name, data in files.items():
            fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=out)
            staged[out / name] = tmp
            os.chmod(tmp, 0o666 & ~umask)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        for target, tmp in staged.items():
            os.replace(tmp, target)
    except OSError as exc:
        for tmp in staged.values():
            try:
                os.unlink(tmp)
            except OSError:
                pass
        for d in created:
            try:
                d.rmdir()
            except OSError:
                pass
        raise OutputError(f"{exc.filename or out}: cannot write: {exc.strerror or exc}; nothing was written "
                          f"to {out}. Choose another output folder or free some space.") from exc
    return {name: out / name for name in files}
