"""Atomic file output: one file (temporary file beside the target, then rename) or a set of files
(:func:`write_set`: all new or all old, also after SIGKILL)."""
from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Dict, Iterable, Optional, Union

PathLike = Union[str, "os.PathLike[str]"]


def temp_beside(target: Path) -> "tuple[int, str]":
    """A new temporary file ``.<name>.XXXXXXXX.tmp`` beside ``target``: ``(fd, path)``, mode from the
    umask, held under an exclusive flock until the fd is closed. Leftovers of killed writers of
    the same target (temporary files nobody holds locked) are removed first, so they never pile up.

    Raises OSError (the folder is missing or not writable).
    """
    _sweep_stale(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=str(target.parent))
    try:
        _lock(fd, blocking=True)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual permissions
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    return fd, tmp


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


try:
    import fcntl
except ImportError:  # not POSIX: no locks, and so no sweeping of other writers' temporary files
    fcntl = None  # type: ignore[assignment]


def _lock(fd: int, *, blocking: bool) -> bool:
    """flock ``fd`` exclusively; False when ``blocking`` is false and someone else holds it."""
    if fcntl is None:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    return True


def _sweep_stale(target: Path) -> None:
    prefix = f".{target.name}."
    if fcntl is None:
        return
    try:
        entries = os.listdir(target.parent)
    except OSError:
        return
    for entry in entries:
        if not (entry.startswith(prefix) and entry.endswith(".tmp") and len(entry) == len(prefix) + 12):
            continue  # mkstemp's names: prefix + 8 random characters + ".tmp"
        path = target.parent / entry
        try:
            fd = os.open(str(path), os.O_RDONLY)
        except OSError:
            continue
        try:
            if _lock(fd, blocking=False):  # nobody holds it: its writer was killed
                os.unlink(path)
        except OSError:
            pass
        finally:
            os.close(fd)


def write_bytes_atomic(path: PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see either the old file or the whole new one.

    Raises :class:`~stingerml.core.errors.OutputError` (an OSError) naming the path and what to do.
    """
    target = Path(path)
    if target.is_dir():
        raise output_error(target, IsADirectoryError(21, "Is a directory", str(target)))
    try:
        fd, tmp = temp_beside(target)
    except OSError as exc:
        raise output_error(target, exc) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
            os.replace(tmp, target)  # before closing: the lock keeps sweepers away until it is in place
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise output_error(target, exc) from None
        raise


def output_error(target: Path, exc: OSError) -> OSError:
    """:class:`~stingerml.core.errors.OutputError` saying what failed, where, and what to do."""
    from .errors import OutputError

    parent = target.parent
    if isinstance(exc, IsADirectoryError) or target.is_dir():
        hint = "it is a folder; give a file name"
    elif not parent.exists():
        hint = f"the folder {parent} does not exist; create it or choose another path"
    elif not parent.is_dir():
        hint = f"{parent} is a file, not a folder; choose another path"
    else:
        hint = "check the permissions and the free space, or choose another path"
    return OutputError(f"{target}: cannot write: {exc.strerror or exc}; {hint}; nothing was written")


def write_text_atomic(path: PathLike, text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically (see :func:`write_bytes_atomic`)."""
    write_bytes_atomic(path, text.encode("utf-8"))


# --- sets of files --------------------------------------------------------------------------------
#
# A set (the three files of `train --out`, the four or five of a training folder) is replaced
# as a set, also across SIGKILL and power loss, with a roll-forward journal:
#
# 1. recover(): finish or undo what a killed earlier run left (see below);
# 2. stage: every new file is written and fsynced into a fresh hidden folder inside the target
#    folder (same file system, so the later renames are atomic); a failure here (disk full, file
#    size limit...) removes the staging folder and leaves the old set untouched;
# 3. commit point: the journal (``.stingerml-set.journal``: staging folder name, new file names,
#    old names to delete) is written with write-to-temp + fsync + rename + fsync of the folder;
# 4. apply: each staged file is renamed over its target, set members missing from the new set
#    are deleted, the folder is fsynced, the journal removed, the staging folder removed.
#
# recover(): with a journal, step 4 is repeated (it is idempotent: a staged file still present
# has not been moved yet); without one, any staging folder is an uncommitted run and is removed.
# So after any kill, the next write or read of the folder sees exactly the old or exactly the
# new set, and no temporary file survives. Writers and recover() hold an flock on the folder,
# so two runs cannot clean up each other's staging folder.

JOURNAL = ".stingerml-set.journal"
_STAGING_PREFIX = ".stingerml-set-"
_STAGING_SUFFIX = ".staging"


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(str(path), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems do not fsync directories
    finally:
        os.close(fd)


class _FolderLock:
    """An exclusive flock on the folder itself (released by the kernel if the process dies)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.fd: Optional[int] = None

    def __enter__(self) -> "_FolderLock":
        if fcntl is not None:  # not POSIX: no lock
            self.fd = os.open(str(self.folder), os.O_RDONLY)
            _lock(self.fd, blocking=True)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _apply(folder: Path, journal: Dict[str, object]) -> None:
    """Step 4 (idempotent): move staged files into place, delete dropped members, remove the journal."""
    staging = folder / str(journal["staging"])
    for name in journal["new"]:  # type: ignore[union-attr]
        src = staging / name
        if src.exists():
            os.replace(src, folder / name)
    for name in journal["drop"]:  # type: ignore[union-attr]
        try:
            os.unlink(folder / name)
        except FileNotFoundError:
            pass
    _fsync_dir(folder)
    os.unlink(folder / JOURNAL)
    _fsync_dir(folder)
    shutil.rmtree(staging, ignore_errors=True)


def _recover_locked(folder: Path) -> None:
    journal_path = folder / JOURNAL
    journal = None
    if journal_path.exists():
        try:
            journal = json.loads(journal_path.read_text("utf-8"))
        except (OSError, ValueError):
            journal = None  # cannot happen with the atomic journal write; treat as uncommitted
            os.unlink(journal_path)
    if journal is not None:
        _apply(folder, journal)
    for entry in os.listdir(folder):
        if entry.startswith(_STAGING_PREFIX) and entry.endswith(_STAGING_SUFFIX):
            shutil.rmtree(folder / entry, ignore_errors=True)
        elif entry.startswith(f".{JOURNAL}.") and entry.endswith(".tmp"):  # write_bytes_atomic's temporary
            with contextlib.suppress(OSError):
                os.unlink(folder / entry)


def recover(folder: PathLike) -> None:
    """Complete (journal present) or undo (staging only) a set write that was killed in ``folder``.

    A no-op for a folder without leftovers or that does not exist.
    """
    path = Path(folder)
    if not path.is_dir():
        return
    with _FolderLock(path):
        _recover_locked(path)


def write_set(folder: PathLike, files: Dict[str, bytes], members: Iterable[str] = ()) -> None:
    """Replace a set of files in the existing ``folder``: afterwards it holds all of ``files`` (new
    contents) and no other of ``members`` (old set members that the new set lacks are deleted),
    or, after an error or a kill, exactly what it held before. Other files are never touched.

    Files get the usual permissions (``0666`` minus the umask). Raises OSError (the old set is
    intact then; after an error in the last step the journal completes it at the next call). A
    member that is a folder is refused (IsADirectoryError) before anything is written.
    """
    path = Path(folder)
    with _FolderLock(path):
        _recover_locked(path)
        for name in sorted(set(files) | set(members)):
            target = path / name
            if target.is_dir() and not target.is_symlink():  # a rename or delete would fail after the commit
                raise IsADirectoryError(errno.EISDIR, "Is a directory", str(target))
        staging = Path(tempfile.mkdtemp(prefix=_STAGING_PREFIX, suffix=_STAGING_SUFFIX, dir=path))
        try:
            for name, data in files.items():
                with open(staging / name, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
            _fsync_dir(staging)
            journal = {"staging": staging.name, "new": list(files),
                       "drop": sorted(set(members) - set(files))}
            write_bytes_atomic(path / JOURNAL, json.dumps(journal).encode("utf-8"))
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        _fsync_dir(path)
        _apply(path, journal)


def check_output_folder(folder: PathLike, option: str = "--out") -> None:
    """Raise :class:`~stingerml.core.errors.OutputError` unless ``folder`` is, or can be created as, a
    writable folder (checked before long work, so that it does not fail only at the end)."""
    from .errors import OutputError

    path = Path(folder)
    existing = path
    while not existing.exists() and existing != existing.parent:
        if existing.is_symlink():
            break  # a dangling link: let mkdir report it
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        what = "is a file" if existing == path else f"is a file, so {path} cannot be created"
        raise OutputError(f"{existing}: {what}; give a folder as {option}")
    if existing.exists() and not os.access(str(existing), os.W_OK | os.X_OK):
        raise OutputError(f"{existing}: no permission to write there; choose another {option} or fix the permissions")


def write_set_to_folder(folder: PathLike, files: Dict[str, bytes], members: Iterable[str] = (),
                        option: str = "--out") -> Path:
    """Create ``folder`` if needed (mode from the umask) and :func:`write_set` into it.

    Raises :class:`~stingerml.core.errors.OutputError` naming the folder and what to do; folders this
    call created are removed again on failure.
    """
    from .errors import OutputError

    out = Path(folder)
    check_output_folder(out, option)
    created = []
    for parent in (out, *out.parents):
        if parent.exists():
            break
        created.append(parent)
    try:
        out.mkdir(parents=True, exist_ok=True)
        write_set(out, files, members)
    except OSError as exc:
        for d in created:
            with contextlib.suppress(OSError):
                d.rmdir()
        where = exc.filename or out
        what = "move that folder away" if isinstance(exc, IsADirectoryError) else "free some space"
        raise OutputError(f"{where}: cannot write the results: {exc.strerror or exc}; nothing was changed "
                          f"in {out}. Choose another {option} or {what}.") from exc
    return out
