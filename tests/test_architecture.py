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
