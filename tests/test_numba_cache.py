"""numba caches stingerml's kernels in a per-user folder, never inside the installed package
(issue 24: a cache left in site-packages by pip shadowed a later editable install)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("numba")

ROOT = Path(__file__).resolve().parents[1]
SNIPPET = ("from stingerml._kernels.rng_jit import next_double, seed_state; "
           "from stingerml.core.rng import XorShift32; "
           "assert next_double(seed_state(7)) == XorShift32(7)(); print('ok')")


def _installed_copy(tmp_path: Path) -> Path:
    """A copy of the package as an installed one (its own folder on sys.path), without caches."""
    site = tmp_path / "site"
    shutil.copytree(ROOT / "stingerml", site / "stingerml", ignore=shutil.ignore_patterns("__pycache__"))
    return site


def _run(site: Path, snippet: str = SNIPPET, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "XDG_CACHE_HOME", "PYTHONPATH")}
    return subprocess.run([sys.executable, "-B", "-c", snippet], cwd=site, env={**base, **env},
                          capture_output=True, text=True, timeout=300)


def _numba_files(folder: Path) -> list:
    return sorted(p for p in folder.rglob("*") if p.suffix in (".nbi", ".nbc"))


def test_cache_goes_to_xdg_cache_home_not_the_package(tmp_path):
    site = _installed_copy(tmp_path)
    done = _run(site, XDG_CACHE_HOME=str(tmp_path / "cache"))
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
    assert _numba_files(site) == []
    assert _numba_files(tmp_path / "cache" / "stingerml" / "numba"), "nothing cached in $XDG_CACHE_HOME/stingerml/numba"


def test_numba_cache_dir_is_honoured(tmp_path):
    site = _installed_copy(tmp_path)
    done = _run(site, NUMBA_CACHE_DIR=str(tmp_path / "mine"), XDG_CACHE_HOME=str(tmp_path / "cache"))
    assert done.returncode == 0, done.stderr
    assert _numba_files(site) == [] and not (tmp_path / "cache").exists()
    assert _numba_files(tmp_path / "mine")


def test_unwritable_cache_is_one_line_and_not_the_package(tmp_path):
    site = _installed_copy(tmp_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")  # a folder under a file cannot be created, even as root
    done = _run(site, XDG_CACHE_HOME=str(blocker))
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("warning: numba cannot cache") and "NUMBA_CACHE_DIR" in lines[0]
    assert str(blocker / "stingerml" / "numba") in lines[0]
    assert _numba_files(site) == []


def test_every_kernel_is_compiled_through_numba_cache():
    """No module but numba_cache hands a function to numba's own njit/jit (which would cache beside
    the module, in the installed package): sequence_jit once did."""
    import ast

    found = []
    for path in sorted((ROOT / "stingerml").rglob("*.py")):
        if path.name == "numba_cache.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "numba":
                found += [f"{path.relative_to(ROOT)}:{node.lineno} from {node.module} import {a.name}"
                          for a in node.names if a.name in ("njit", "jit", "generated_jit", "vectorize")]
            if isinstance(node, ast.Attribute) and node.attr in ("njit", "jit") and \
                    isinstance(node.value, ast.Name) and node.value.id == "numba":
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} numba.{node.attr}")
    assert found == []


def test_the_sequence_kernels_cache_outside_the_package(tmp_path):
    site = _installed_copy(tmp_path)
    snippet = "from stingerml._kernels.sequence_jit import _zeros; assert list(_zeros(2)) == [0.0, 0.0]; print('ok')"
    done = _run(site, snippet, XDG_CACHE_HOME=str(tmp_path / "cache"))
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
    assert _numba_files(site) == []
    assert any("sequence_jit" in p.name for p in _numba_files(tmp_path / "cache"))
