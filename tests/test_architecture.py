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
    assert " 0 cycles" in done.stdout and " 0 upward imports" in done.stdout


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
    assert loaded == "['stingerml', 'stingerml._compat', 'stingerml._version']"


def test_public_names_and_submodules_resolve_on_first_use():
    out = _run("import warnings\n"
               "warnings.simplefilter('error')\n"  # the documented shortcuts do not warn
               "import stingerml\n"
               "from stingerml import loader, firmware\n"
               "print(stingerml.train.__module__, stingerml.Matrix.__module__, "
               "stingerml.LRModel.__module__, stingerml.loader.__name__, firmware.__name__, stingerml.__version__)")
    assert out.split()[:-1] == ["stingerml.blaster.trainer", "stingerml.core.matrix", "stingerml.formats.mlmd",
                                "stingerml.blaster.loader", "stingerml.blaster.firmware"]


OLD_PATHS = {  # every module path that moved, and its home: each keeps working until stingerml 0.3
    **{f"stingerml.{m}": f"stingerml.blaster.{m}" for m in (
        "app_import", "benchmark", "dataset", "features", "firmware", "folder_dataset", "golden", "holdout",
        "loader", "log", "logreg", "mlp", "modeldiff", "online", "plots", "quality", "report_html", "sessions",
        "settings", "shots", "synth", "traces", "trainfolder")},
    **{f"stingerml.{m}": f"stingerml.core.{m}" for m in (
        "constants", "dense", "errors", "jsmath", "matrix", "progress", "rng")},
    "stingerml._atomic": "stingerml.core.atomic", "stingerml._binary": "stingerml.core.binary",
    "stingerml._deprecation": "stingerml._compat",
    "stingerml._jsmath_jit": "stingerml._kernels.jsmath_jit", "stingerml._rng_jit": "stingerml._kernels.rng_jit",
    "stingerml.scaler": "stingerml.learn.scaler", "stingerml.metrics": "stingerml.learn.metrics",
    "stingerml._estimator": "stingerml.learn.estimator", "stingerml.executors": "stingerml.learn.executors",
    "stingerml.quantize": "stingerml.deploy.quantize", "stingerml.formats.deploy": "stingerml.deploy.export",
    "stingerml.formats.from_sklearn": "stingerml.deploy.from_sklearn",
    "stingerml.formats.blaster": "stingerml.blaster.network",
    "stingerml.trainers.blaster": "stingerml.blaster.trainer", "stingerml.trainers.tasks": "stingerml.blaster.tasks",
    "stingerml.trainers.tabular": "stingerml.tabular", "stingerml.trainers.tabular.runs": "stingerml.tabular.runs",
    "stingerml.trainers.tabular.estimator": "stingerml.tabular.estimator",
    "stingerml.tabular.split": "stingerml.learn.split",
    "stingerml.tabular.evaluation": "stingerml.learn.metrics", "stingerml.learn.evaluation": "stingerml.learn.metrics",
    "stingerml.mlmd": "stingerml.formats.mlmd", "stingerml.header": "stingerml.formats.header",
    "stingerml.pipeline": "stingerml.blaster.trainer", "stingerml.export": "stingerml.blaster.folder_dataset",
}


def test_moved_modules_keep_their_old_paths_with_a_warning():
    out = _run(
        "import importlib, warnings, json\n"
        f"old = {OLD_PATHS!r}\n"
        "warnings.simplefilter('always')\n"
        "result = {}\n"
        "for path, home in old.items():\n"
        "    with warnings.catch_warnings(record=True) as seen:\n"
        "        module = importlib.import_module(path)\n"
        "    result[path] = [module is importlib.import_module(home),\n"
        "                    [str(w.message) for w in seen if w.category is DeprecationWarning]]\n"
        "from stingerml.trainers.tabular.runs import train_run\n"  # from-imports of old paths work too
        "from stingerml.quantize import QuantizedNetwork, quantize\n"
        "from stingerml.learn.evaluation import classification_report, regression_metrics\n"
        "print(json.dumps(result))\n")
    result = __import__("json").loads(out)
    for path, home in OLD_PATHS.items():
        same, warned = result[path]
        assert same, f"{path} is not the module object of {home}"
        assert any(f"{path} moved to {home}" in w for w in warned), (path, warned)


def test_the_package_root_holds_at_most_15_modules():
    root = [p.name for p in (ROOT / "stingerml").glob("*.py")]
    assert len(root) <= 15, sorted(root)


def test_the_layer_check_finds_an_upward_import(tmp_path):
    import shutil

    package = tmp_path / "stingerml"
    shutil.copytree(ROOT / "stingerml", package, ignore=shutil.ignore_patterns("__pycache__"))
    with open(package / "formats" / "onnx.py", "a", encoding="utf-8") as f:
        f.write("\ndef _planted():\n    from ..tabular import runs  # a format importing a trainer\n")
    with open(package / "core" / "matrix.py", "a", encoding="utf-8") as f:
        f.write("\ndef _planted():\n    from ..blaster import log  # a foundation importing a domain\n")
    with open(package / "tabular" / "split.py", "a", encoding="utf-8") as f:
        f.write("\ndef _planted():\n    from ..blaster import shots  # a domain importing another\n")
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "check_imports.py"), str(package)],
                          capture_output=True, text=True)
    assert done.returncode == 1
    assert "upward import: stingerml.formats.onnx (formats) -> stingerml.tabular.runs (domains)" in done.stdout
    assert "upward import: stingerml.core.matrix (foundations) -> stingerml.blaster.log (domains)" in done.stdout
    assert "upward import: stingerml.tabular.split (domains) -> stingerml.blaster.shots (domains)" in done.stdout
    assert " 3 upward imports" in done.stdout


def test_rewrite_imports_moves_old_paths_to_their_homes(tmp_path):
    old = ("from stingerml.log import parse_log\n"
           "from stingerml.quantize import QuantizedNetwork, quantize\n"
           "import stingerml.trainers.tabular.runs as runs\n"
           "PATCH = 'stingerml.holdout.take_rows'\n")
    path = tmp_path / "user_code.py"
    path.write_text(old)
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "rewrite_imports.py"), str(path)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert path.read_text() == ("from stingerml.blaster.log import parse_log\n"
                                "from stingerml.core.quantized import QuantizedNetwork\n"
                                "from stingerml.deploy.quantize import quantize\n"
                                "import stingerml.tabular.runs as runs\n"
                                "PATCH = 'stingerml.blaster.holdout.take_rows'\n")


def test_top_level_help_imports_no_library_module():
    out = _run("import sys\n"
               "from stingerml.cli import build_parser\n"
               "build_parser([]).format_help()\n"
               "print(' '.join(sorted(m for m in sys.modules if m.startswith('stingerml.') "
               "and not m.startswith('stingerml.cli'))))")
    assert set(out.split()) <= {"stingerml._compat", "stingerml._version", "stingerml.core", "stingerml.core.constants",
                                "stingerml.core.errors", "stingerml.core.progress"}


def test_a_command_gets_its_put_off_options_when_named():
    from stingerml.cli import _command_in, build_parser

    assert _command_in(["--back", "python", "--processes=2", "export", "x"]) == "export"
    assert _command_in(["--help"]) is None
    export = build_parser(["--backend", "numba", "export"])._subparsers._group_actions[0].choices["export"]
    assert "--neg-mult" in export.format_help()


def _current_modules() -> set:
    names = set()
    for path in (ROOT / "stingerml").rglob("*.py"):
        parts = path.relative_to(ROOT / "stingerml").with_suffix("").parts
        parts = parts[:-1] if parts[-1] == "__init__" else parts
        if parts:
            names.add(".".join(parts))
    return names


def old_names_in_docs(pages) -> list:
    """``(page, name)`` of every backticked dotted name in ``pages`` whose module part is an old path
    (``_compat.MOVED``) that names no module of today's layout, not even as a short form
    (``log.parse_log`` is ``blaster/log``; ``trainers.blaster`` and ``_atomic.x`` are gone). A name
    written in full (``stingerml.settings.X``) must be today's full path: no short form for it."""
    import re

    from stingerml import _compat

    current = _current_modules()
    old = {name[len("stingerml."):] for name in _compat.MOVED}

    def stale(token: str, full: bool) -> bool:
        parts = token.split(".")
        for n in range(len(parts), 0, -1):
            prefix = ".".join(parts[:n])
            if prefix in current or (not full and any(name.endswith("." + prefix) for name in current)):
                return False
            if prefix in old:
                return True
        return False

    found = []
    for page in pages:
        for m in re.finditer(r"`(stingerml\.)?([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)", page.read_text(encoding="utf-8")):
            if stale(m.group(2), full=bool(m.group(1))):
                found.append((page.name, m.group(0)[1:]))
    return found


def test_the_docs_name_modules_by_their_homes():
    """Issue 23's "a reader can find each concept in the file named after it" (audit): architecture.md
    still said `trainers.blaster`, `formats.deploy.export_network`, `_atomic.write_set_to_folder`,
    `_jsmath_jit.py`, backends.md `stingerml/_rng_jit.py` — modules that no longer exist."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    assert old_names_in_docs(pages) == []
    missing = sorted({m for page in pages for m in __import__("re").findall(r"stingerml/[\w/]+\.py", page.read_text())
                      if not (ROOT / m).exists()})
    assert missing == []


def test_the_old_name_check_finds_old_names(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("`trainers.blaster` `formats.deploy.export_network` `_atomic.write_set_to_folder` `_rng_jit.py`"
                    " and fine: `log.parse_log` `blaster.trainer` `core.atomic.write_set` `learn.executors.run_tasks`")
    assert [name for _, name in old_names_in_docs([page])] == [
        "trainers.blaster", "formats.deploy.export_network", "_atomic.write_set_to_folder", "_rng_jit.py"]
