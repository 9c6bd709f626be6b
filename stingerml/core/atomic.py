"""Atomic file output: one file (temporary file beside the target, then rename) or a set of files
(:func:`write_set`: all new or all old, also after SIGKILL)."""
from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Dict, Iterable, Iterator, Optional, Union

from .errors import StingerError

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
    check_output_path(path)
    _replace_file(Path(path), data)


def check_output_path(path: PathLike) -> None:
    """Raise :class:`~stingerml.core.errors.OutputError` unless a file can be written at ``path``: not a
    folder, not a link/device/FIFO/socket (:func:`check_output_file`), in a folder that exists. Called
    by every write, and by commands before long work, so that they do not fail only at the end."""
    target = Path(path)
    if target.is_dir():
        raise output_error(target, IsADirectoryError(21, "Is a directory", str(target)))
    check_output_file(target)
    if not target.parent.is_dir():
        raise output_error(target, FileNotFoundError(2, "No such file or directory", str(target)))


@contextlib.contextmanager
def open_atomic(path: PathLike) -> Iterator[BinaryIO]:
    """A binary file that becomes ``path`` when the ``with`` block ends: write it in pieces (a big
    output is never held whole); readers see the old file until then, and still the old one after an
    error or an interrupt inside the block (the temporary file is removed). Checks as
    :func:`write_bytes_atomic`; an OSError writing is its :class:`~stingerml.core.errors.OutputError`."""
    check_output_path(path)
    with _replacing(Path(path)) as fh:
        yield fh


def _replace_file(target: Path, data: bytes) -> None:
    """:func:`write_bytes_atomic` without the checks of the target (the set writer's own journal)."""
    with _replacing(target) as fh:
        fh.write(data)


@contextlib.contextmanager
def _replacing(target: Path) -> Iterator[BinaryIO]:
    """The temporary file beside ``target`` (:func:`temp_beside`), put in place when the block ends."""
    try:
        fd, tmp = temp_beside(target)
    except OSError as exc:
        raise output_error(target, exc) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
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


_KINDS = ((stat.S_ISLNK, "symbolic link"), (stat.S_ISCHR, "device"), (stat.S_ISBLK, "device"),
          (stat.S_ISFIFO, "FIFO (named pipe)"), (stat.S_ISSOCK, "socket"))


def check_output_file(target: Path) -> None:
    """Raise :class:`~stingerml.core.errors.OutputError` unless ``target`` may be replaced by a regular
    file: an output is never written through a symbolic link, a device, a FIFO or a socket (it
    would be replaced by a regular file, or written to something else), and never takes the name
    of the set machinery (``.stingerml-set.journal``, ``.stingerml-set-*``). Standard output
    (``-o -``, then redirected by the shell) is the way to write to such a thing.
    """
    from .errors import OutputError

    if target.name.startswith(".stingerml-set") or target.name == JOURNAL:
        raise OutputError(f"{target}: that name belongs to stingerml's set writer (its journal and staging "
                          "folders); choose another file name")
    try:
        mode = os.lstat(target).st_mode
    except OSError:
        return  # missing (the usual case), or unreadable: the write itself reports it
    for test, kind in _KINDS:
        if test(mode):
            raise OutputError(f"{target}: is a {kind}, not a regular file; stingerml writes its outputs as new "
                              "regular files and never through a link, device, FIFO or socket. Choose another "
                              "path (or write to standard output with - and redirect it)")


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
# recover(): with a journal (checked first: only the set's own names and the folder's own hidden
# staging folder, else JournalError and nothing is touched), step 4 is repeated (it is idempotent: a staged file still present
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


class JournalError(StingerError, ValueError):
    """A ``.stingerml-set.journal`` stingerml did not write (or damaged): it is refused as a whole
    and nothing is moved or deleted."""


_JOURNAL_MAX_BYTES = 1 << 16
_STAGING_NAME = re.compile(r"\.stingerml-set-[a-z0-9_]{8}\.staging")  # tempfile.mkdtemp's names


def _plain_name(name: object) -> bool:
    """A file name of the folder itself: no path, not hidden set machinery."""
    return (isinstance(name, str) and name not in ("", ".", "..") and not any(c in name for c in "/\\\0")
            and not name.startswith((".stingerml-set", f".{JOURNAL}")))


def _read_journal(folder: Path, members: Optional[Iterable[str]]) -> Optional[Dict[str, Any]]:
    """The journal of ``folder`` checked as a unit (None: there is none), or JournalError.

    It must be exactly what :func:`write_set` writes: ``staging`` the name of a hidden staging folder
    of this folder (not a link), ``new`` and ``drop`` lists of distinct plain file names of this
    folder (of ``members`` when given), so that applying it can only touch the set's own files.
    """
    path = folder / JOURNAL
    try:
        if path.is_symlink() or (path.exists() and not path.is_file()):
            raise JournalError(f"{path}: not a file")
        with open(path, "rb") as fh:
            raw = fh.read(_JOURNAL_MAX_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _journal_error(path, f"cannot read it: {exc.strerror or exc}") from None
    except JournalError:
        raise _journal_error(path, "it is not a file") from None
    if len(raw) > _JOURNAL_MAX_BYTES:
        raise _journal_error(path, f"larger than {_JOURNAL_MAX_BYTES} bytes")
    try:
        journal = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _journal_error(path, "not valid JSON") from None
    if not isinstance(journal, dict) or set(journal) != {"staging", "new", "drop"}:
        raise _journal_error(path, "not an object with exactly the keys staging, new and drop")
    staging = journal["staging"]
    if not isinstance(staging, str) or not _STAGING_NAME.fullmatch(staging):
        raise _journal_error(path, f"staging {str(staging)[:80]!r} is not a staging folder name of stingerml")
    where = folder / staging
    if where.is_symlink() or (where.exists() and not where.is_dir()):
        raise _journal_error(path, f"staging {staging} is not a folder of {folder}")
    allowed = None if members is None else set(members)
    seen: set = set()
    for key in ("new", "drop"):
        names = journal[key]
        if not isinstance(names, list):
            raise _journal_error(path, f"{key} is not a list of file names")
        for name in names:
            if not _plain_name(name):
                raise _journal_error(path, f"{key} holds {str(name)[:80]!r}, not a file name of {folder}")
            if allowed is not None and name not in allowed:
                raise _journal_error(path, f"{key} holds {name!r}, which is not a file of this set")
            if name in seen:
                raise _journal_error(path, f"{name!r} is named twice")
            seen.add(name)
    return journal


def _journal_error(path: Path, why: str) -> JournalError:
    return JournalError(f"{path}: not a set journal stingerml wrote ({why}); nothing was moved or deleted. "
                        f"If {path.parent} is yours, delete that file and any .stingerml-set-* folder in it, "
                        "or choose another folder")


def _apply(folder: Path, journal: Dict[str, Any]) -> None:
    """Step 4 (idempotent): move staged files into place, delete dropped members, remove the journal.
    ``journal`` has been checked (:func:`_read_journal`): only the set's own names are touched."""
    staging = folder / journal["staging"]
    for name in journal["new"]:
        src = staging / name
        if src.exists():
            os.replace(src, folder / name)
    for name in journal["drop"]:
        try:
            os.unlink(folder / name)
        except FileNotFoundError:
            pass
    _fsync_dir(folder)
    os.unlink(folder / JOURNAL)
    _fsync_dir(folder)
    shutil.rmtree(staging, ignore_errors=True)


def _recover_locked(folder: Path, members: Optional[Iterable[str]] = None) -> None:
    journal = _read_journal(folder, members)
    if journal is not None:
        _apply(folder, journal)
    for entry in os.listdir(folder):
        path = folder / entry
        if _STAGING_NAME.fullmatch(entry):
            if path.is_dir() and not path.is_symlink():  # rmtree never follows links inside it
                shutil.rmtree(path, ignore_errors=True)
        elif entry.startswith(f".{JOURNAL}.") and entry.endswith(".tmp") and not path.is_dir():
            with contextlib.suppress(OSError):  # write_bytes_atomic's temporary
                os.unlink(path)


def recover(folder: PathLike, members: Optional[Iterable[str]] = None) -> None:
    """Complete (journal present) or undo (staging only) a set write that was killed in ``folder``.

    A no-op for a folder without leftovers or that does not exist. ``members``: the set's file
    names; a journal naming any other file is refused (JournalError, nothing touched), as is one
    naming a path, ``..``, or a staging folder that is not a hidden folder of ``folder``.
    """
    path = Path(folder)
    if not path.is_dir():
        return
    with _FolderLock(path):
        _recover_locked(path, members)


def write_set(folder: PathLike, files: Dict[str, bytes], members: Iterable[str] = ()) -> None:
    """Replace a set of files in the existing ``folder``: afterwards it holds all of ``files`` (new
    contents) and no other of ``members`` (old set members that the new set lacks are deleted),
    or, after an error or a kill, exactly what it held before. Other files are never touched.

    Files get the usual permissions (``0666`` minus the umask). Raises OSError (the old set is
    intact then; after an error in the last step the journal completes it at the next call). A
    member that is a folder is refused (IsADirectoryError) before anything is written.
    """
    path = Path(folder)
    for name in (*files, *members):
        if not isinstance(name, str) or Path(name).name != name or name in ("", ".", ".."):
            raise ValueError(f"{name!r} is not a plain file name")
        check_output_file(path / name)
    with _FolderLock(path):
        _recover_locked(path, set(files) | set(members))
        for name in sorted(set(files) | set(members)):
            target = path / name
            if target.is_dir() and not target.is_symlink():  # a rename or delete would fail after the commit
                raise IsADirectoryError(errno.EISDIR, "Is a directory", str(target))
            check_output_file(target)
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
            _replace_file(path / JOURNAL, json.dumps(journal).encode("utf-8"))
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
        if isinstance(exc, OutputError):  # already says what and where
            raise
        where = exc.filename or out
        what = "move that folder away" if isinstance(exc, IsADirectoryError) else "free some space"
        raise OutputError(f"{where}: cannot write the results: {exc.strerror or exc}; nothing was changed "
                          f"in {out}. Choose another {option} or {what}.") from exc
    return out
