"""``stingerml train`` as a whole process on every runtime, side by side with the browser's own trainer.

    python benchmarks/runtimes.py                                   # tiny and session_a, every runtime found
    python benchmarks/runtimes.py --sessions tiny --runtimes node,cpython,pypy
    python benchmarks/runtimes.py --pypy /usr/bin/pypy3 --repeat 3 # the median of 3 runs per row

Runtimes (each one skipped, with a line saying why, when it is not there):

- ``node``: the browser's ``train.js`` (``trainPipeline`` with the app's settings: 700 MLP
  iterations, loss every 8, no UI pause) under node. It is read in place from
  ``../shared/reference/browser_src/train.js`` (GPL: never copied into this project);
  ``--train-js`` names another path.
- ``numba``: ``python -m stingerml --backend numba train LOG`` with this interpreter
  (numba's cache warmed by one run first: "warm", a new process loading cached kernels).
- ``cpython``: the same with ``--backend python`` (pure Python; the MLP may use a second
  process, ``--processes``, default ``auto``).
- ``pypy``: the pure path on PyPy (``--pypy``, default ``pypy3`` on PATH), run from this checkout.

Every run is a fresh process measured with ``getrusage(RUSAGE_CHILDREN)`` of a small wrapper:
"cpu s" is user + system time of the process and its helper, "peak MB" the largest resident set
of any of them. With ``--repeat N`` the runtimes take turns, N rounds of one run each, and each row
shows its median run: the load of a shared machine changes by the minute, and this way it falls on
every runtime alike. "ratio" is cpu s over node's on the same session; "bytes" says whether the two
model files equal the published app's (``vectors/browser_app/``). Prints a markdown table.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent
TRAIN_JS = ROOT.parent / "shared" / "reference" / "browser_src" / "train.js"
RUNTIMES = ("node", "numba", "cpython", "pypy")

# Our own driver for the browser's trainer: imports train.js from where it lies and writes the two files.
NODE_DRIVER = """
import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
const [trainJs, log, out] = process.argv.slice(2);
const { trainPipeline } = await import(pathToFileURL(trainJs).href);
const r = await trainPipeline(new Uint8Array(readFileSync(log)), () => {},
                              { mlpMaxIter: 700, mlpSnapshotEvery: 8, mlpDelayMs: 0 });
writeFileSync(out + "/ml_model_lr.bin", r.lrBlob);
writeFileSync(out + "/ml_model_mlp.bin", r.mlpBlob);
"""


def measure(argv: List[str], env: Optional[Dict[str, str]] = None) -> Dict[str, float]:
    """Run ``argv`` in a wrapper process; its wall s, cpu s and peak MB (the command and its children)."""
    wrapper = ("import json, resource, subprocess, sys, time; t = time.perf_counter(); "
               "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
               "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
               "print(json.dumps([time.perf_counter() - t, u.ru_utime + u.ru_stime, u.ru_maxrss / 1024]))")
    out = subprocess.run([sys.executable, "-c", wrapper, *argv], check=True, capture_output=True, text=True,
                         env=env, cwd=ROOT)
    wall, cpu, peak = json.loads(out.stdout)
    return {"wall": wall, "cpu": cpu, "peak": peak}


def command(runtime: str, log: Path, out: Path, args) -> Optional[List[str]]:
    """The command line of one runtime, or None (with the reason printed) when it is not available."""
    if runtime == "node":
        node = shutil.which("node")
        if node is None or not Path(args.train_js).is_file():
            print(f"node: skipped ({'no node' if node is None else f'no {args.train_js}'})", file=sys.stderr)
            return None
        driver = out.parent / "driver.mjs"
        driver.write_text(NODE_DRIVER)
        return [node, str(driver), str(Path(args.train_js).resolve()), str(log), str(out)]
    python = sys.executable
    if runtime == "pypy":
        python = shutil.which(args.pypy) or args.pypy
        if not Path(python).is_file():
            print(f"pypy: skipped (no {args.pypy})", file=sys.stderr)
            return None
    backend = "numba" if runtime == "numba" else "python"
    if backend == "numba" and subprocess.run([python, "-c", "import numba"], capture_output=True).returncode:
        print("numba: skipped (not installed)", file=sys.stderr)
        return None
    return [python, "-m", "stingerml", "--backend", backend, "--processes", args.processes,
            "train", str(log), "--out", str(out), "--quiet"]


def same_as_app(session: str, out: Path) -> str:
    app = ROOT / "vectors" / "browser_app"
    same = all((out / f"ml_model_{m}.bin").read_bytes() == (app / f"{session}.{m}.mlmd").read_bytes()
               for m in ("lr", "mlp"))
    return "same" if same else "DIFFER"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", default="tiny,session_a", help="vectors/sessions/<name>.bin, comma-separated")
    parser.add_argument("--runtimes", default=",".join(RUNTIMES), help=f"some of {', '.join(RUNTIMES)}")
    parser.add_argument("--train-js", default=str(TRAIN_JS), help="the browser's train.js, read in place")
    parser.add_argument("--pypy", default="pypy3", help="the PyPy interpreter")
    parser.add_argument("--processes", default="auto", choices=("1", "2", "auto"),
                        help="processes for the pure-Python MLP")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per row, in rounds of one run per runtime; the one with the median cpu s is shown "
                             "(a shared machine's load varies)")
    args = parser.parse_args(argv)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for session in args.sessions.split(","):
            log = ROOT / "vectors" / "sessions" / f"{session}.bin"
            commands = {}
            for runtime in args.runtimes.split(","):
                out = Path(tmp) / runtime / session
                out.mkdir(parents=True)
                argv_ = command(runtime, log, out, args)
                if argv_ is not None:
                    commands[runtime] = (argv_, out)
                    if runtime == "numba":
                        measure(argv_, env)  # fill numba's cache: the rows time a new process loading it
            # Rounds of one run per runtime, so that a shared machine's changing load falls on every runtime alike.
            runs: Dict[str, List[Dict[str, float]]] = {runtime: [] for runtime in commands}
            for _ in range(args.repeat):
                for runtime, (argv_, _out) in commands.items():
                    runs[runtime].append(measure(argv_, env))
            base = None
            for runtime, (_argv, out) in commands.items():
                best = sorted(runs[runtime], key=lambda m: m["cpu"])[(args.repeat - 1) // 2]
                if runtime == "node":
                    base = best["cpu"]
                ratio = f"{best['cpu'] / base:.2f}" if base else "-"
                rows.append(f"| {session} | {runtime} | {best['wall']:.2f} | {best['cpu']:.2f} | {best['peak']:.0f} "
                            f"| {ratio} | {same_as_app(session, out)} |")
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, "
          f"{time.strftime('%Y-%m-%d %H:%M')}; --processes {args.processes}\n")
    print("| session | runtime | wall s | cpu s | peak MB | cpu ratio to node | bytes |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
