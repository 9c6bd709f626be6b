"""The package's structure: no import cycle, and every kernel family's twins offer the same names."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_no_import_cycle_inside_the_package():
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "check_imports.py"), str(ROOT / "stingerml")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert " 0 cycles" in done.stdout


def test_the_cycle_check_finds_a_cycle(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from . import b\n")  # a lazy import is still an edge
    (package / "b.py").write_text("from .a import f\n")
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "check_imports.py"), str(package)],
                          capture_output=True, text=True)
    assert done.returncode == 1
    assert "import cycle: pkg.a <-> pkg.b" in done.stdout


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(ROOT),
                          env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_importing_the_package_loads_nothing_else():
    loaded = _run("import sys, stingerml; print(sorted(m for m in sys.modules if m.startswith('stingerml')))")
    assert loaded == "['stingerml', 'stingerml._version']"


def test_public_names_and_submodules_resolve_on_first_use():
    out = _run("import stingerml; print(stingerml.train.__module__, stingerml.Matrix.__module__, "
               "stingerml.LRModel.__module__, stingerml.loader.__name__, stingerml.__version__)")
    assert out.split() == ["stingerml.trainers.blaster", "stingerml.matrix", "stingerml.formats.mlmd",
                           "stingerml.loader", out.split()[-1]]


def test_moved_modules_keep_their_old_paths_with_a_warning():
    out = _run(
        "import warnings\n"
        "warnings.simplefilter('always')\n"
        "with warnings.catch_warnings(record=True) as seen:\n"
        "    import stingerml.mlmd as a, stingerml.header as b, stingerml.pipeline as c, stingerml.export as d\n"
        "    from stingerml import mlmd, loader, firmware\n"
        "import stingerml.formats.mlmd as A, stingerml.formats.header as B, stingerml.trainers.blaster as C\n"
        "import stingerml.folder_dataset as D\n"
        "print(a is A, b is B, c is C, d is D, mlmd is A,\n"
        "      sorted({str(w.message).split()[2] for w in seen if w.category is DeprecationWarning}))\n")
    assert out == ("True True True True True ['stingerml.export', 'stingerml.header', 'stingerml.mlmd', "
                   "'stingerml.pipeline']")


def test_top_level_help_imports_no_library_module():
    out = _run("import sys\n"
               "from stingerml.cli import build_parser\n"
               "build_parser([]).format_help()\n"
               "print(' '.join(sorted(m for m in sys.modules if m.startswith('stingerml.') "
               "and not m.startswith('stingerml.cli'))))")
    assert set(out.split()) <= {"stingerml._version", "stingerml.constants", "stingerml.errors", "stingerml.progress"}


def test_a_command_gets_its_put_off_options_when_named():
    from stingerml.cli import _command_in, build_parser

    assert _command_in(["--back", "python", "--processes=2", "export", "x"]) == "export"
    assert _command_in(["--help"]) is None
    export = build_parser(["--backend", "numba", "export"])._subparsers._group_actions[0].choices["export"]
    assert "--neg-mult" in export.format_help()
