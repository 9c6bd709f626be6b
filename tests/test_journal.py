"""The set journal (`stingerml.core.atomic`): a set is replaced all-new or all-old whatever step a writer
dies after, and a journal stingerml did not write can never make it touch anything but the set's own
files (issue 29, group 1)."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from stingerml.core import atomic as _atomic
from stingerml.core.atomic import JOURNAL, JournalError
from stingerml.cli import main

try:
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover
    given = None

ROOT = Path(__file__).resolve().parent.parent
MEMBERS = ("a.bin", "b.bin", "c.json")
OLD = {"a.bin": b"old a", "b.bin": b"old b", "c.json": b"old c"}
NEW = {"a.bin": b"new a", "c.json": b"new c"}  # b.bin is dropped by the new set


def snapshot(folder: Path):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


# --- an injected crash after every step ------------------------------------------------------------


class Crash(BaseException):
    """The writer dies here: like SIGKILL, no clean-up of its own runs after it."""


class Dies:
    """Patch the file-system steps of a set write (os.replace, os.rename, os.unlink, os.fsync,
    shutil.rmtree): the ``after``-th one completes, then the process is dead (every later step,
    clean-up included, raises Crash without doing anything)."""

    STEPS = (("os", "replace"), ("os", "rename"), ("os", "unlink"), ("os", "fsync"), ("shutil", "rmtree"))

    def __init__(self, monkeypatch, after: int) -> None:
        self.after, self.count, self.dead, self.log = after, 0, False, []
        for module, name in self.STEPS:
            mod = {"os": os, "shutil": shutil}[module]
            monkeypatch.setattr(mod, name, self._wrap(name, getattr(mod, name)))

    def _wrap(self, name, real):
        def step(*args, **kwargs):
            if self.dead:
                raise Crash(name)
            result = real(*args, **kwargs)
            self.count += 1
            target = args[1] if name in ("replace", "rename") else args[0]  # fsync: a file descriptor
            self.log.append(f"{name} {'' if isinstance(target, int) else Path(str(target)).name}")
            if self.count == self.after:
                self.dead = True
                raise Crash(name)
            return result
        return step


def test_a_crash_after_every_step_leaves_the_old_or_the_new_set(tmp_path):
    """Each step of write_set in turn is the last one that happens; recover() then gives exactly the
    old or exactly the new set, nothing left over. Removing the journal before the staged files are
    moved in (a mixed set with nothing to finish it) fails here at the step after that removal."""
    landed = {"old": 0, "new": 0}
    after = 0
    while True:
        after += 1
        folder = tmp_path / f"run{after}"
        folder.mkdir()
        for name, data in OLD.items():
            (folder / name).write_bytes(data)
        (folder / "notes.txt").write_bytes(b"not a member")
        with pytest.MonkeyPatch.context() as mp:
            dies = Dies(mp, after)
            try:
                _atomic.write_set(folder, NEW, MEMBERS)
                finished = True
            except Crash:
                finished = False
        _atomic.recover(folder, MEMBERS)
        now = snapshot(folder)
        assert now in ({**OLD, "notes.txt": b"not a member"}, {**NEW, "notes.txt": b"not a member"}), (
            f"a crash after step {after} ({dies.log[-1]}) left a mixed set: {now}")
        landed["new" if now.get("a.bin") == b"new a" else "old"] += 1
        if finished:
            break
        assert after < 200
    assert after > 10 and landed["old"] > 3 and landed["new"] > 3, (after, landed)


def test_the_journal_comes_after_the_staged_files_and_goes_after_they_are_in_place(tmp_path, monkeypatch):
    folder = tmp_path / "f"
    folder.mkdir()
    for name, data in OLD.items():
        (folder / name).write_bytes(data)
    dies = Dies(monkeypatch, 10 ** 6)
    _atomic.write_set(folder, NEW, MEMBERS)
    monkeypatch.undo()
    steps = dies.log
    journal_in = steps.index(f"replace {JOURNAL}")
    journal_out = steps.index(f"unlink {JOURNAL}")
    moves = [i for i, s in enumerate(steps) if s in ("replace a.bin", "replace c.json")]
    drop = steps.index("unlink b.bin")
    assert journal_in < min(moves) and max(moves) < journal_out and drop < journal_out, steps


# --- hostile journals -------------------------------------------------------------------------------


@pytest.fixture
def place(tmp_path):
    """A set folder ``out`` with the old set and a file of someone else, a sibling folder and a victim
    file beside it; ``place(journal)`` plants a journal (an object, or raw bytes)."""
    parent = tmp_path / "parent"
    out = parent / "out"
    out.mkdir(parents=True)
    for name, data in OLD.items():
        (out / name).write_bytes(data)
    (out / "notes.txt").write_bytes(b"mine")
    (parent / "victim.txt").write_bytes(b"victim")
    (parent / "sibling").mkdir()
    (parent / "sibling" / "x").write_bytes(b"x")

    def plant(journal):
        raw = journal if isinstance(journal, bytes) else json.dumps(journal).encode()
        (out / JOURNAL).write_bytes(raw)
        return out
    plant.parent = parent
    return plant


def tree(folder: Path):
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(folder.rglob("*"))}


STAGING = ".stingerml-set-abcd_123.staging"
HOSTILE = {
    "drop outside": {"staging": STAGING, "new": [], "drop": ["../victim.txt"]},
    "staging parent": {"staging": "..", "new": [], "drop": []},
    "staging absolute": {"staging": "/tmp", "new": [], "drop": []},
    "staging sibling": {"staging": "../sibling", "new": ["x"], "drop": []},
    "empty object": {},
    "not an object": [1, 2],
    "new with a path": {"staging": STAGING, "new": ["../victim.txt"], "drop": []},
    "drop absolute": {"staging": STAGING, "new": [], "drop": ["/etc/passwd"]},
    "drop not in the set": {"staging": STAGING, "new": [], "drop": ["notes.txt"]},
    "drop the journal": {"staging": STAGING, "new": [], "drop": [JOURNAL]},
    "drop dot-dot": {"staging": STAGING, "new": [], "drop": [".."]},
    "names not strings": {"staging": STAGING, "new": [1], "drop": []},
    "names not a list": {"staging": STAGING, "new": "a.bin", "drop": []},
    "extra key": {"staging": STAGING, "new": [], "drop": [], "also": 1},
    "staging not a string": {"staging": None, "new": [], "drop": []},
    "named twice": {"staging": STAGING, "new": ["a.bin"], "drop": ["a.bin"]},
    "not JSON": b"{\"staging\": ",
    "not UTF-8": b"\xff\xfe{}",
    "deep": b"[" * 100000 + b"]" * 100000,
    "huge": json.dumps({"staging": STAGING, "new": [], "drop": ["a.bin"] * 100000}).encode(),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_foreign_journal_is_refused_and_nothing_is_touched(place, case):
    out = place(HOSTILE[case])
    before = tree(place.parent)
    with pytest.raises(JournalError, match=r"\.stingerml-set\.journal: not a set journal stingerml wrote .*"
                                           r"nothing was moved or deleted"):
        _atomic.write_set(out, NEW, MEMBERS)
    with pytest.raises(JournalError):
        _atomic.recover(out, MEMBERS)
    assert tree(place.parent) == before


@pytest.mark.parametrize("size, refused", [(65536, False), (65537, True)])
def test_a_journal_larger_than_64_KiB_is_refused(place, size, refused):
    """docs/training.md: a journal larger than 64 KiB is refused. One of exactly 65,536 bytes (a valid
    journal padded with JSON whitespace) is applied; one byte more and nothing is touched."""
    raw = json.dumps({"staging": STAGING, "new": [], "drop": ["b.bin"]}).encode()
    raw = raw[:-1] + b" " * (size - len(raw)) + b"}"
    assert len(raw) == size and json.loads(raw)["drop"] == ["b.bin"]
    out = place(raw)
    before = tree(place.parent)
    if refused:
        with pytest.raises(JournalError, match="larger than 65536 bytes"):
            _atomic.recover(out, MEMBERS)
        assert tree(place.parent) == before
    else:
        _atomic.recover(out, MEMBERS)
        assert snapshot(out) == {"a.bin": b"old a", "c.json": b"old c", "notes.txt": b"mine"}


def test_a_staging_folder_that_is_a_link_is_refused(place, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "a.bin").write_bytes(b"foreign")
    out = place({"staging": STAGING, "new": ["a.bin"], "drop": []})
    (out / STAGING).symlink_to(elsewhere)
    with pytest.raises(JournalError, match="is not a folder of"):
        _atomic.recover(out, MEMBERS)
    assert (elsewhere / "a.bin").read_bytes() == b"foreign" and (out / "a.bin").read_bytes() == b"old a"


def test_a_stray_staging_link_is_not_followed(place, tmp_path):
    """Without a journal, staging folders are an uncommitted write and are removed, but a link with
    such a name is not a staging folder of stingerml: what it points to is left alone."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep").write_bytes(b"keep")
    out = place.parent / "out"
    (out / STAGING).symlink_to(elsewhere)
    _atomic.write_set(out, NEW, MEMBERS)
    assert (elsewhere / "keep").read_bytes() == b"keep"


def test_cli_export_onto_a_folder_with_a_foreign_journal_is_one_line(place, capsys):
    out = place({"staging": "..", "new": [], "drop": ["../victim.txt"]})
    before = tree(place.parent)
    code = main(["export", str(ROOT / "vectors" / "sessions" / "tiny.bin"), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("error: ") and err.count("\n") == 1 and "not a set journal" in err, err
    assert tree(place.parent) == before


if given is not None:
    NAMES = st.sampled_from(["a.bin", "b.bin", "c.json", "notes.txt", "..", "../victim.txt", "/", "", ".", JOURNAL,
                             "sibling", "../sibling/x", STAGING, "a.bin/..", "\x00"])
    JOURNALS = st.one_of(
        st.fixed_dictionaries({"staging": st.one_of(st.sampled_from([STAGING, "..", ".", "", "../sibling", "/tmp",
                                                                     ".stingerml-set-x.staging", "sibling"]),
                                                    st.text(max_size=20), st.integers()),
                               "new": st.one_of(st.lists(NAMES, max_size=4), st.text(max_size=5)),
                               "drop": st.lists(NAMES, max_size=4)}),
        st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                     lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
                     max_leaves=10))

    @settings(max_examples=150)
    @given(journal=JOURNALS)
    def test_no_journal_touches_anything_but_the_sets_own_files(tmp_path_factory, journal):
        """Whatever the journal holds: either it is refused (JournalError, nothing changed), or only
        the set's own files changed; the files outside the folder and other files in it never do."""
        parent = tmp_path_factory.mktemp("p")
        out = parent / "out"
        out.mkdir()
        for name, data in OLD.items():
            (out / name).write_bytes(data)
        (out / "notes.txt").write_bytes(b"mine")
        (parent / "victim.txt").write_bytes(b"victim")
        (parent / "sibling").mkdir()
        (parent / "sibling" / "x").write_bytes(b"x")
        (out / STAGING).mkdir()
        (out / STAGING / "a.bin").write_bytes(b"staged a")
        (out / JOURNAL).write_text(json.dumps(journal))
        before = tree(parent)
        try:
            _atomic.recover(out, MEMBERS)
        except JournalError:
            assert tree(parent) == before
            return
        after = tree(parent)
        for key in set(before) | set(after):
            if key.startswith("out/") and key[4:] in MEMBERS:
                continue
            if key.startswith(f"out/{STAGING}") or key == f"out/{JOURNAL}":
                continue
            assert before.get(key) == after.get(key), key
