"""Docs are tests (issue 24): every fenced Python block of README.md and docs/*.md runs, and every
``stingerml ...`` line of the README's "Command line" section runs (device lines against the emulator).

- **A page joins by existing**: every ``docs/*.md`` is collected. Its Python blocks run in order, in
  one namespace (a block may use the names of the blocks above it, as a reader does), in a fresh
  temporary folder holding the files of :data:`FILES` the page names (a page that names a new
  input file adds one line there). A block of ``>>>`` lines is a doctest: its printed output is checked.
- **A block that cannot run** has, on the line above its opening fence, the visible sentence
  ``_(Not run by the tests: REASON.)_``; the test skips it and checks that the reason is given.
- ``DeviceClient()`` without a port (which would look for a blaster) talks to the emulator here, and
  the README's device lines get ``--port`` of the emulator. Its pure-Python lines and the benchmark of
  30 seeds take minutes: they run with ``--run-slow``.
"""
from __future__ import annotations

import doctest
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable, Dict, List, NamedTuple, Optional

import pytest
from conftest import kill_group

ROOT = Path(__file__).resolve().parents[1]
VECTORS = ROOT / "vectors"
PAGES = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
NOT_RUN = re.compile(r"^_\(Not run by the tests: (?P<reason>.+?)\.?\)_$")
FENCE = re.compile(r"^```(?P<lang>[\w+-]*)\s*$")


def _tiny(path: Path) -> None:
    shutil.copyfile(VECTORS / "sessions" / "tiny.bin", path)


def _models(path: Path) -> None:
    path.mkdir()
    shutil.copyfile(VECTORS / "browser_app" / "tiny.lr.mlmd", path / "ml_model_lr.bin")
    shutil.copyfile(VECTORS / "browser_app" / "tiny.mlp.mlmd", path / "ml_model_mlp.bin")


def _iris(path: Path) -> None:
    pytest.importorskip("sklearn")
    from sklearn_csv import write_dataset  # the iris CSV of scikit-learn's data files, label column renamed

    (path.parent / "_iris").mkdir()
    made, _, _ = write_dataset("iris", path.parent / "_iris")
    lines = made.read_text().splitlines()
    path.write_text("\n".join([lines[0].rsplit(",", 1)[0] + ",species"] + lines[1:]) + "\n")
    shutil.rmtree(made.parent)


def _audio_features(path: Path) -> None:
    """What docs/audio-control.md's ``stingerml audio features song1.wav song2.wav -o features.csv``
    writes, for two 3 s tones (as the page makes them)."""
    import math
    import struct
    import wave

    from stingerml.cli import main

    names = []
    for name, freq in (("_song1.wav", 440.0), ("_song2.wav", 3000.0)):
        with wave.open(str(path.parent / name), "wb") as w:
            w.setnchannels(1), w.setsampwidth(2), w.setframerate(48000)
            w.writeframes(b"".join(struct.pack("<h", int(20000 * math.sin(2 * math.pi * freq * i / 48000)))
                                   for i in range(3 * 48000)))
        names.append(str(path.parent / name))
    assert main(["audio", "features", *names, "-o", str(path), "--quiet"]) == 0


# The files the docs name, made from the bundled sessions (vectors/: the reference outputs).
FILES: Dict[str, Callable[[Path], None]] = {
    "ml_log.bin": _tiny,
    "session.bin": _tiny,
    "a.bin": _tiny,
    "b.bin": lambda p: shutil.copyfile(ROOT / "stingerml" / "data" / "demo_session.bin", p),
    "ml_model_lr.bin": lambda p: shutil.copyfile(VECTORS / "browser_app" / "tiny.lr.mlmd", p),
    "ml_model_mlp.bin": lambda p: shutil.copyfile(VECTORS / "browser_app" / "tiny.mlp.mlmd", p),
    "browser_mlp.mlmd": lambda p: shutil.copyfile(VECTORS / "browser_app" / "tiny.mlp.mlmd", p),
    "models": _models,
    "iris.csv": _iris,
    "features.csv": _audio_features,
}


class Block(NamedTuple):
    page: Path
    line: int  # of the opening fence, 1-based
    lang: str
    code: str
    not_run: Optional[str]  # the reason, when the doc marks the block as not run


def blocks(page: Path) -> List[Block]:
    """The fenced blocks of a page, with the not-run mark of the line above each."""
    found: List[Block] = []
    lines = page.read_text(encoding="utf-8").splitlines()
    k = 0
    while k < len(lines):
        m = FENCE.match(lines[k])
        if not m or not m.group("lang"):
            k += 1
            continue
        end = next((j for j in range(k + 1, len(lines)) if lines[j].startswith("```")), len(lines))
        above = next((lines[j].strip() for j in range(k - 1, -1, -1) if lines[j].strip()), "")
        mark = NOT_RUN.match(above)
        found.append(Block(page, k + 1, m.group("lang"), "\n".join(lines[k + 1:end]) + "\n",
                           mark.group("reason") if mark else None))
        k = end + 1
    return found


def workspace(folder: Path, page: Path) -> Path:
    """``folder`` with the files of :data:`FILES` that ``page`` names."""
    text = page.read_text(encoding="utf-8")
    for name, make in FILES.items():
        if name in text:
            make(folder / name)
    return folder


@pytest.fixture
def emulator():
    """A virtual blaster serving ml_log.bin on a local TCP port; its URL."""
    pytest.importorskip("serial")
    from stingerml.device import Blaster, TcpServer

    server = TcpServer(Blaster((VECTORS / "sessions" / "tiny.bin").read_bytes())).start()
    yield server.url
    server.stop()


def _python_pages() -> List[Path]:
    return [p for p in PAGES if any(b.lang in ("python", "py") for b in blocks(p))]


@pytest.mark.parametrize("page", _python_pages(), ids=lambda p: p.name)
def test_python_blocks_run(page, tmp_path, monkeypatch, emulator):
    import stingerml.device.client as client

    monkeypatch.setattr(client, "find_port", lambda ports=None: emulator)  # "the blaster" is the emulator
    monkeypatch.chdir(workspace(tmp_path, page))
    namespace: dict = {"__name__": "__docs__"}
    ran = 0
    for block in blocks(page):
        if block.lang not in ("python", "py") or block.not_run:
            continue
        where = f"{page.relative_to(ROOT)}:{block.line}"
        if block.code.lstrip().startswith(">>>"):
            test = doctest.DocTestParser().get_doctest(block.code, namespace, where, str(page), block.line)
            runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
            runner.run(test, clear_globs=False)
            assert runner.failures == 0, f"{where}: the doctest's output differs (see above)"
        else:
            try:
                exec(compile(block.code, where, "exec"), namespace)
            except Exception as exc:  # the block's location first: which doc example is wrong
                raise AssertionError(f"{where}: {type(exc).__name__}: {exc}") from exc
        ran += 1
    assert ran, f"{page.name}: every Python block is marked not run"


def test_not_run_marks_give_a_reason():
    marked = [b for p in PAGES for b in blocks(p) if b.not_run is not None]
    for b in marked:
        assert len(b.not_run.split()) >= 3, f"{b.page.name}:{b.line}: say why the block is not run"


def test_parser_reads_marks_and_doctests(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("text\n\n_(Not run by the tests: it needs a scheduler.)_\n```python\nboom()\n```\n"
                    "```python\n>>> 1 + 1\n2\n```\n```sh\nstingerml info\n```\n")
    got = blocks(page)
    assert [(b.line, b.lang, b.not_run) for b in got] == [
        (4, "python", "it needs a scheduler"), (7, "python", None), (11, "sh", None)]


# -- the README's command line ------------------------------------------------------------------------


def readme_command_lines() -> List[str]:
    """The ``stingerml ...`` lines of the README's "Command line" section, comments removed."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Command line\n", 1)[1].split("\n## ", 1)[0]
    out = []
    for block in blocks_from_text(section):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            if words and words[0] == "stingerml":
                out.append(shlex.join(words))
    return out


def blocks_from_text(text: str) -> List[str]:
    return re.findall(r"^```sh\n(.*?)^```", text, re.S | re.M)


DEVICE_COMMANDS = ("pull", "push", "info", "delete")
EXIT_OK = {"diff": (0, 1)}  # diff: 0 same, 1 differ (its documented meaning); 2 is trouble


def _command(words: List[str]) -> str:
    """The sub-command of a command line (global options come first or after it)."""
    skip = {"--backend", "--processes"}
    for k, w in enumerate(words):
        if not w.startswith("-") and (k == 0 or words[k - 1] not in skip):
            return w
    return ""


def _pure(words: List[str]) -> bool:
    """A line that forces the pure-Python backend: minutes of training, run by the slow test."""
    command = _command(words)
    return "python" in words[:words.index(command) if command else len(words)]


def _long_on_this_backend(words: List[str]) -> bool:
    """A benchmark of more than a few seeds: ~20 s with numba, an hour on the pure path (CI runs it in
    the full suite, where numba is installed)."""
    from stingerml._kernels import backend

    seeds = int(words[words.index("--seeds") + 1]) if "--seeds" in words else 0
    return seeds > 5 and backend() == "python"


def _run_lines(lines: List[str], work: Path, emulator: str, capsys) -> List[str]:
    """Run each line as ``stingerml.cli.main`` would from a shell in ``work``; the failures."""
    from stingerml.cli import main

    failed = []
    for line in lines:
        words = shlex.split(line)[1:]
        command = _command(words)
        if command == "emulate":  # serves until killed: it must print its device path first
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            proc = subprocess.Popen([sys.executable, "-m", "stingerml", *words], cwd=work, env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    start_new_session=True)
            try:
                first = proc.stdout.readline().strip()
            finally:
                kill_group(proc)  # its whole process group: no child outlives the test holding a pipe
                proc.communicate()
            if not first.startswith("/dev/"):
                failed.append(f"{line}: first line {first!r}")
            continue
        if command in DEVICE_COMMANDS:
            words = words + ["--port", emulator]
        try:
            code = main(words)
        except SystemExit as exc:  # argparse's own exits (--version, --help)
            code = exc.code or 0
        err = capsys.readouterr().err
        if code not in EXIT_OK.get(command, (0,)):
            failed.append(f"{line}: exit {code}: {err.strip()[-500:]}")
    return failed


def test_readme_command_lines_run(tmp_path, emulator, capsys, monkeypatch):
    lines = readme_command_lines()
    assert len(lines) >= 20, lines
    monkeypatch.chdir(workspace(tmp_path, ROOT / "README.md"))
    shutil.rmtree("models")  # the README's first line makes it
    quick = [line for line in lines
             if not _pure(shlex.split(line)[1:]) and not _long_on_this_backend(shlex.split(line)[1:])]
    failed = _run_lines(quick, tmp_path, emulator, capsys)
    assert not failed, "\n".join(failed)


@pytest.mark.slow
def test_readme_slow_command_lines_run(tmp_path, emulator, capsys, monkeypatch):
    lines = [line for line in readme_command_lines() if _pure(shlex.split(line)[1:])]
    assert len(lines) >= 2, lines
    monkeypatch.chdir(workspace(tmp_path, ROOT / "README.md"))
    failed = _run_lines(lines, tmp_path, emulator, capsys)
    assert not failed, "\n".join(failed)
