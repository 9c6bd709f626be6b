#!/usr/bin/env python3
"""Bounded mutation testing of stingerml's exact core (a small ast-based runner).

Usage (from the repository root, with a Python that has pytest and numba)::

    python tools/mutation.py                      # defaults: 2 workers, 20 min budget
    python tools/mutation.py --budget 900 --per-module 12 --json out.json

What it does:

1. copies the repository (``stingerml/``, ``tests/``, ``vectors/``, ``pyproject.toml``)
   once per worker into a temporary folder, keeping numba's on-disk cache so the
   jitted kernels are compiled at most once per copy;
2. lists every mutation site of the modules in ``TARGETS`` (comparison
   operators ``<``↔``<=``, ``>``↔``>=``, ``==``↔``!=``; arithmetic ``+``↔``-``,
   ``*``↔``/``, ``//``→``/``, ``%``→``//``, shifts and bit operations; integer
   and float literals ``n``→``n+1``; ``and``↔``or``; removal of ``not`` and of
   unary minus), skipping docstrings and annotations;
3. draws a fixed, seeded sample of ``--per-module`` sites per module (the same
   sample on every run of the same source, so scores before and after new tests
   compare), rewrites the module with the one change (``ast.unparse``) in a
   worker's copy, and runs that module's fast test subset (``SUBSETS``) with
   ``pytest -x`` under ``STINGERML_BACKEND=numba`` (python-backend parameters
   deselected; the numba runs compare numba with the pure kernels bit for bit);
4. a mutant is *killed* when a test fails, *survived* when the subset passes,
   and *undecided* when the run exceeds ``--timeout`` seconds (an endless loop,
   or a machine too busy); undecided mutants are listed but left out of the
   score. Once the wall ``--budget`` is spent no new mutant is started.
   Test files in ``NEW_TESTS`` run last, so the score "by old tests" is the
   score without them, from the same run. A module whose unmutated subset fails is left out
   (the run says so); the others go on.

It prints the score per module and every survivor (module, line, the original
and mutated source line), and with ``--json`` writes them to a file.
Mutations of the numba twins (``_kernels/jit.py``, ``firmware_jit.py``) are not
generated: each would need a fresh compilation of minutes; the twins are held to
the pure kernels bit for bit by the tests that run on both backends.
"""
from __future__ import annotations

import argparse
import ast
import contextlib
import json
import os
import queue
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parent.parent

# The blaster's exact core (issue 17) and the newer modules (issue 29): the tabular reader and
# trainer, the shared epoch loop (the best-epoch rule), the tabular kernels, int8 quantization and
# its emulator, the network/ONNX/TFLite writers, golden's window choice and the output-set writer.
BLASTER = [
    "stingerml/blaster/shots.py",
    "stingerml/blaster/dataset.py",
    "stingerml/blaster/features.py",
    "stingerml/_kernels/pure.py",
    "stingerml/_kernels/firmware_pure.py",
    "stingerml/blaster/firmware.py",
    "stingerml/formats/mlmd.py",
    "stingerml/blaster/loader.py",
]
NEWER = [
    "stingerml/tabular/csvdata.py",
    "stingerml/tabular/estimator.py",
    "stingerml/learn/epochs.py",
    "stingerml/_kernels/tabular_pure.py",
    "stingerml/deploy/quantize.py",
    "stingerml/core/quantized.py",
    "stingerml/formats/network.py",
    "stingerml/formats/onnx.py",
    "stingerml/formats/tflite.py",
    "stingerml/blaster/golden.py",
    "stingerml/core/atomic.py",
    "stingerml/tabular/runs.py",
    "stingerml/sequence/runs.py",
    "stingerml/learn/runfolder.py",
    "stingerml/core/jsonfile.py",
    "stingerml/core/csvfile.py",
]
TARGETS = BLASTER + NEWER

# The fast tests that can see a change in each module. The files added for issues 17 and 29
# (NEW_TESTS) run last: with ``pytest -x`` a mutant that only a new file kills passed every older
# test, so one run gives the score with and without the new files. Files that do not exist are ignored.
NEW_TESTS = ["tests/test_boundaries.py", "tests/test_exactness.py", "tests/test_golden_complete.py",
             "tests/test_mutants.py", "tests/test_ties.py", "tests/test_journal.py",
             "tests/test_tabular_hostile.py", "tests/test_output_paths.py", "tests/test_big_data.py",
             "tests/test_run_kills.py"]
_ISSUE17 = NEW_TESTS[:4]
_FIRMWARE_TESTS = ["tests/test_firmware.py", "tests/test_firmware_kernels.py", "tests/test_online.py"]
_DATASET_TESTS = ["tests/test_pipeline.py", "tests/test_export.py"]
_TABULAR_TESTS = ["tests/test_tabular_model.py", "tests/test_estimators.py"]
# test_bounded_outputs: sigmoid/tanh regression outputs (kernels, int8 heads, ONNX, LiteRT); test_preprocess:
# the hands21 step in ONNX (the only INTS attributes). The subsets of 2026-12-06's first run lacked them.
_QUANTIZE_TESTS = ["tests/test_quantize.py", "tests/test_tflite.py", "tests/test_tabular_deploy.py",
                   "tests/test_bounded_outputs.py"]
_RUN_TESTS = ["tests/test_tabular_runs.py", "tests/test_journal.py", "tests/test_run_kills.py"]
_WRITER_TESTS = ["tests/test_onnx.py", "tests/test_tflite.py", "tests/test_tflite_float.py",
                 "tests/test_tabular_deploy.py", "tests/test_bounded_outputs.py", "tests/test_preprocess.py"]
SUBSETS: Dict[str, List[str]] = {
    "stingerml/blaster/shots.py": _DATASET_TESTS + _ISSUE17,
    "stingerml/blaster/dataset.py": _DATASET_TESTS + _ISSUE17,
    "stingerml/blaster/features.py": ["tests/test_pipeline.py", "tests/test_kernels.py"] + _ISSUE17,
    "stingerml/_kernels/pure.py": ["tests/test_kernels.py", "tests/test_pipeline.py"] + _ISSUE17,
    "stingerml/_kernels/firmware_pure.py": _FIRMWARE_TESTS + _ISSUE17,
    "stingerml/blaster/firmware.py": _FIRMWARE_TESTS + _ISSUE17,
    "stingerml/formats/mlmd.py": ["tests/test_mlmd.py", "tests/test_loader.py", "tests/test_pipeline.py"] + _ISSUE17,
    "stingerml/blaster/loader.py": ["tests/test_loader.py", "tests/test_mlmd.py", "tests/test_device_emulator.py"] + _ISSUE17,
    "stingerml/tabular/csvdata.py": ["tests/test_tabular_data.py", "tests/test_categorical.py",
                                     "tests/test_tabular_hostile.py", "tests/test_big_data.py"],
    "stingerml/tabular/estimator.py": _TABULAR_TESTS + ["tests/test_bounded_outputs.py"],
    "stingerml/learn/epochs.py": _TABULAR_TESTS + ["tests/test_sequence.py", "tests/test_ties.py",
                                                   "tests/test_big_data.py"],
    "stingerml/_kernels/tabular_pure.py": _TABULAR_TESTS + ["tests/test_bounded_outputs.py"],
    "stingerml/deploy/quantize.py": _QUANTIZE_TESTS + ["tests/test_ties.py"],
    "stingerml/core/quantized.py": _QUANTIZE_TESTS + ["tests/test_ties.py"],
    "stingerml/formats/network.py": ["tests/test_tabular_deploy.py", "tests/test_tabular_runs.py"],
    "stingerml/formats/onnx.py": _WRITER_TESTS,
    "stingerml/formats/tflite.py": _WRITER_TESTS,
    "stingerml/blaster/golden.py": ["tests/test_golden.py", "tests/test_golden_complete.py", "tests/test_ties.py"],
    "stingerml/core/atomic.py": ["tests/test_output_sets.py", "tests/test_journal.py", "tests/test_output_paths.py"],
    # the run folders' defences (issue 29): resume checks, checkpoints, kills and disk-full
    "stingerml/tabular/runs.py": _RUN_TESTS + ["tests/test_output_paths.py"],
    "stingerml/sequence/runs.py": ["tests/test_sequence.py", "tests/test_run_kills.py"],
    "stingerml/learn/runfolder.py": _RUN_TESTS + ["tests/test_sequence.py"],
    "stingerml/core/jsonfile.py": ["tests/test_hostile_files.py", "tests/test_tabular_runs.py", "tests/test_journal.py"],
    "stingerml/core/csvfile.py": ["tests/test_tabular_data.py", "tests/test_hostile_files.py",
                                  "tests/test_tabular_hostile.py", "tests/test_big_data.py"],
}
# Deselected everywhere: the python-backend runs of parametrized tests (pure Python training of
# tens of seconds). The pure kernels stay under test: the numba runs compare numba with them bit
# for bit, so a mutated pure kernel fails there.
DESELECT = "not python"

_COMPARE_SWAPS = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
                  ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is}
_BINOP_SWAPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.FloorDiv: ast.Div,
                ast.Mod: ast.FloorDiv, ast.LShift: ast.RShift, ast.RShift: ast.LShift, ast.BitAnd: ast.BitOr,
                ast.BitOr: ast.BitAnd, ast.BitXor: ast.BitOr, ast.Pow: ast.Mult}


@dataclass
class Site:
    """One mutation: the ``index``-th node of ``ast.walk`` order in ``module``, changed by ``kind``."""

    module: str
    index: int
    kind: str
    line: int


@dataclass
class Outcome:
    module: str
    line: int
    kind: str
    status: str  # killed | killed-by-suite (--suite: a test outside the subset) | survived | timeout
    seconds: float
    original: str
    mutated: str
    failed: str = ""


def _skipped_ids(tree: ast.AST) -> set:
    """ids of nodes that are docstrings or annotations (never mutated)."""
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                skip.add(id(first.value))
        annotations = []
        if isinstance(node, ast.AnnAssign):
            annotations.append(node.annotation)
        if isinstance(node, ast.arg) and node.annotation is not None:
            annotations.append(node.annotation)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns is not None:
            annotations.append(node.returns)
        for ann in annotations:
            skip.update(id(n) for n in ast.walk(ann))
    return skip


def _kinds(node: ast.AST) -> List[str]:
    """The mutations that apply to one node."""
    if isinstance(node, ast.Compare):
        return [f"cmp{i}" for i, op in enumerate(node.ops) if type(op) in _COMPARE_SWAPS]
    if isinstance(node, (ast.BinOp, ast.AugAssign)) and type(node.op) in _BINOP_SWAPS:
        return ["binop"]
    if isinstance(node, ast.BoolOp):
        return ["boolop"]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub)):
        return ["unary"]
    if isinstance(node, ast.Constant) and type(node.value) in (int, float) and node.value + 1 != node.value:
        return ["const"]
    return []


def sites(module: str, source: str) -> List[Site]:
    tree = ast.parse(source)
    skip = _skipped_ids(tree)
    out = []
    for index, node in enumerate(ast.walk(tree)):
        if id(node) in skip:
            continue
        for kind in _kinds(node):
            out.append(Site(module, index, kind, getattr(node, "lineno", 0)))
    return out


def mutate(source: str, site: Site) -> Tuple[str, str]:
    """The module's source with one mutation applied, and a short description of the change."""
    tree = ast.parse(source)
    node = next(n for i, n in enumerate(ast.walk(tree)) if i == site.index)
    before = ast.unparse(node)
    if site.kind.startswith("cmp"):
        i = int(site.kind[3:])
        node.ops[i] = _COMPARE_SWAPS[type(node.ops[i])]()
        after = ast.unparse(node)
    elif site.kind == "binop":
        node.op = _BINOP_SWAPS[type(node.op)]()
        after = ast.unparse(node)
    elif site.kind == "boolop":
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        after = ast.unparse(node)
    elif site.kind == "unary":
        replacement = node.operand
        after = ast.unparse(replacement)
        _replace(tree, node, replacement)
    elif site.kind == "const":
        node.value = node.value + 1
        after = ast.unparse(node)
    else:
        raise ValueError(site.kind)
    ast.fix_missing_locations(tree)
    return ast.unparse(tree) + "\n", f"{before}  ->  {after}"


def _replace(tree: ast.AST, old: ast.AST, new: ast.AST) -> None:
    for parent in ast.walk(tree):
        for name, value in ast.iter_fields(parent):
            if value is old:
                setattr(parent, name, new)
                return
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if item is old:
                        value[i] = new
                        return
    raise ValueError("node not found")


def _copy_tree(dest: Path, without: List[str]) -> None:
    """The repository without ``.git`` (the whole suite reads docs/, tools/, benchmarks/ too)."""
    shutil.copytree(ROOT, dest, copy_function=shutil.copy2,
                    ignore=shutil.ignore_patterns(".git", "*.pyc", "__pycache__", ".pytest_cache"))
    for test_file in without:
        (dest / test_file).unlink(missing_ok=True)


def _subset(workdir: Path, module: str) -> List[str]:
    """The module's test files that exist, NEW_TESTS last."""
    files = [f for f in SUBSETS[module] if (workdir / f).exists()]
    return [f for f in files if f not in NEW_TESTS] + [f for f in files if f in NEW_TESTS]


_RUNNING: set = set()  # process groups of the test runs under way (killed when the runner is stopped)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _run_tests(workdir: Path, files: List[str], python: str, timeout: float,
               deselect: str = DESELECT) -> Tuple[str, float, str]:
    """``survived`` (the files pass), ``killed`` (a test fails: its id) or ``timeout``, and the seconds.

    ``files=[]`` runs the whole default suite (``deselect=""``: as CI's default step runs it)."""
    env = dict(os.environ, PYTHONPATH=str(workdir), STINGERML_BACKEND="numba", PYTHONDONTWRITEBYTECODE="1",
               STINGERML_PROCESSES="1", PYTHONHASHSEED="0")
    cmd = [python, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *(["-k", deselect] if deselect else []),
           *files]
    start = time.monotonic()
    # Its own process group: on a timeout the processes the tests started die with pytest.
    proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    _RUNNING.add(proc.pid)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout", time.monotonic() - start, ""
    finally:
        _kill_group(proc.pid)
        proc.wait()
        proc.stdout.close()
        _RUNNING.discard(proc.pid)
    seconds = time.monotonic() - start
    if proc.returncode == 0:
        return "survived", seconds, ""
    failed = [line.split(" ")[1] for line in out.splitlines() if line.startswith(("FAILED ", "ERROR "))]
    return "killed", seconds, failed[0] if failed else f"exit {proc.returncode}"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--budget", type=float, default=1200.0, help="wall seconds; no mutant starts after it")
    parser.add_argument("--per-module", type=int, default=7, help="sampled mutation sites per module")
    parser.add_argument("--timeout", type=float, default=150.0, help="seconds per mutant before it counts as killed")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--modules", nargs="*", default=TARGETS)
    parser.add_argument("--json", type=Path, help="write the outcomes here")
    parser.add_argument("--without", nargs="*", default=[], metavar="TEST_FILE",
                        help="leave these test files out (e.g. to measure the score before they were added)")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--rerun", type=Path, metavar="JSON",
                        help="run only the sampled mutants that a --json of an earlier run on the same source "
                             "left alive (survived or timeout); its killed mutants stay killed when tests are "
                             "only added. A module absent from the file, or whose sample changed (its source "
                             "did), runs its whole sample")
    parser.add_argument("--suite", action="store_true",
                        help="rerun each survivor of its subset with the whole default suite (minutes each): "
                             "a survivor of the suite is one no test sees")
    args = parser.parse_args(argv)
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        # Started in the background (``cmd &``): SIGINT is ignored and the children would inherit that,
        # so the tests that press Ctrl-C on a child process would fail on every mutant.
        signal.signal(signal.SIGINT, signal.default_int_handler)

    earlier: Dict[str, Tuple[set, set]] = {}  # module -> (every mutant of the earlier run, those left alive)
    if args.rerun:
        for o in json.loads(args.rerun.read_text()):
            ran, alive = earlier.setdefault(o["module"], (set(), set()))
            ran.add((o["line"], o["mutated"]))
            if not o["status"].startswith("killed"):
                alive.add((o["line"], o["mutated"]))
    per_module: List[List[Tuple[Site, str, str]]] = []
    for module in args.modules:
        source = (ROOT / module).read_text()
        found = sites(module, source)
        picked = random.Random(f"{args.seed}:{module}").sample(found, min(args.per_module, len(found)))
        sampled = len(picked)
        keys = [(site.line, mutate(source, site)[1]) for site in picked]
        same = module in earlier and set(keys) == earlier[module][0]  # else its source (or sample) changed
        if same:  # --rerun: only the mutants the earlier run left alive
            picked = [site for site, key in zip(picked, keys) if key in earlier[module][1]]
        per_module.append([(site, source, module) for site in picked])
        print(f"{module}: {len(found)} sites, {sampled} sampled" +
              (f", {len(picked)} of them left alive by {args.rerun}" if same else
               ", not in --rerun's file (or its sample changed): all run" if args.rerun else ""), flush=True)
    # Round robin over the modules, so that a budget cut leaves every module with a share.
    plan = [item for rank in range(args.per_module) for picks in per_module if rank < len(picks)
            for item in [picks[rank]]]

    jobs: "queue.Queue[Tuple[Site, str, str]]" = queue.Queue()
    for item in plan:
        jobs.put(item)
    outcomes: List[Outcome] = []
    lock = threading.Lock()
    deadline = time.monotonic() + args.budget
    tmp = Path(tempfile.mkdtemp(prefix="stingerml-mutation-"))

    baseline_failures: List[Tuple[Tuple[str, ...], str]] = []

    def worker(k: int) -> None:
        workdir = tmp / f"w{k}"
        _copy_tree(workdir, args.without)
        # The unmutated subsets must pass, or every mutant would count as killed (shared among workers);
        # the modules of a subset that fails are left out of the run.
        for files in subsets[k::args.workers]:
            status, seconds, failed = _run_tests(workdir, list(files), args.python, args.timeout)
            print(f"baseline {' '.join(files)}: {status} in {seconds:.0f} s {failed}", flush=True)
            if status != "survived":
                baseline_failures.append((files, f"{' '.join(files)}: {status} {failed}"))
        ready.wait()
        failing = {files for files, _ in baseline_failures}
        while time.monotonic() < deadline:
            try:
                site, source, module = jobs.get_nowait()
            except queue.Empty:
                return
            if tuple(_subset(ROOT, module)) in failing:
                continue
            mutated, change = mutate(source, site)
            target = workdir / module
            target.write_text(mutated)
            try:
                status, seconds, failed = _run_tests(workdir, _subset(workdir, module), args.python, args.timeout)
                if status == "survived" and args.suite:
                    status, more, failed = _run_tests(workdir, [], args.python, args.timeout * 20, deselect="")
                    status = {"killed": "killed-by-suite"}.get(status, status)
                    seconds += more
            finally:
                target.write_text(source)
            original_line = source.splitlines()[site.line - 1].strip() if site.line else ""
            outcome = Outcome(module, site.line, site.kind, status, round(seconds, 1), original_line, change, failed)
            with lock:
                outcomes.append(outcome)
                print(f"[{len(outcomes)}/{len(plan)}] {status:8s} {module}:{site.line} {change}"
                      + (f"  ({failed})" if failed else ""), flush=True)

    ready = threading.Barrier(args.workers)
    subsets = sorted({tuple(_subset(ROOT, module)) for module, picks in zip(args.modules, per_module) if picks})
    # Daemon threads: a stopped runner (Ctrl-C, SIGTERM) kills its test runs and its copies, and exits.
    threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(args.workers)]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for pid in list(_RUNNING):
            _kill_group(pid)
        shutil.rmtree(tmp, ignore_errors=True)
    if baseline_failures:
        skipped = [m for m in args.modules if tuple(_subset(ROOT, m)) in {f for f, _ in baseline_failures}]
        print("the unmutated tests fail, so no mutant of " + ", ".join(skipped) + " was run:\n  "
              + "\n  ".join(why for _, why in baseline_failures))
        if len(skipped) == len(args.modules):
            return 1

    print(f"\nwall {time.monotonic() - started:.0f} s, {len(outcomes)} of {len(plan)} mutants run")
    print("killed: a test failed; timeout: undecided (not in the score); 'old tests' leaves out NEW_TESTS")
    print(f"{'module':40s} {'run':>4s} {'timeout':>8s} {'killed':>7s} {'by old tests':>13s}")
    rows = [(m, [o for o in outcomes if o.module == m]) for m in args.modules] + [("all", outcomes)]
    for module, mine in rows:
        decided = [o for o in mine if o.status != "timeout"]
        killed = [o for o in decided if o.status.startswith("killed")]
        by_old = [o for o in killed if o.failed.split("::")[0] not in NEW_TESTS]
        print(f"{module:40s} {len(mine):4d} {len(mine) - len(decided):8d} {len(killed):3d}/{len(decided):<3d} "
              f"{len(by_old):6d}/{len(decided):<3d}")
    survivors = sorted((o for o in outcomes if o.status == "survived"), key=lambda o: (o.module, o.line))
    if survivors:
        print("\nsurvivors:")
        for o in survivors:
            print(f"  {o.module}:{o.line}: {o.mutated}")
    late = sorted((o for o in outcomes if o.status == "killed" and o.failed.split("::")[0] in NEW_TESTS),
                  key=lambda o: (o.module, o.line))
    if late:
        print("\nkilled only by the new test files:")
        for o in late:
            print(f"  {o.module}:{o.line}: {o.mutated}  ({o.failed})")
    if args.json:
        args.json.write_text(json.dumps([asdict(o) for o in sorted(outcomes, key=lambda o: (o.module, o.line))],
                                        indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
