"""numba's start-up and memory (issue 28): whole processes side by side with the browser's train.js,
then where one ``stingerml train`` process spends its CPU time and memory.

    python benchmarks/startup.py                       # 5 runs per row, session_a
    python benchmarks/startup.py --repeat 9 --session tiny

Table 1 runs each command as a new process ``--repeat`` times (after one warm-up run, which fills
numba's cache and the byte-code cache) and prints the **median** cpu s (user + system, the process
and its children) and peak MB (largest resident set), as ``benchmarks/runtimes.py`` measures them;
"ratio" is cpu s over node's (``train.js`` read in place, skipped when it is not there). Python
byte-code is cached in a temporary ``PYTHONPYCACHEPREFIX``, as an installed package has it
(``PYTHONDONTWRITEBYTECODE`` is dropped for these runs).

Table 2 is one ``train`` process observed from inside (``--breakdown``, run in a child): cpu s,
resident MB and peak resident MB so far after each import, and after the first call of each kernel
(loading its machine code from numba's cache; the first also starts numba's runtime), then at the end.
numba is imported as the CLI imports it (through ``stingerml._kernels.numba_cache``, with LLVM's pages
released as the CLI has them released).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
from runtimes import ROOT, TRAIN_JS, command, measure  # noqa: E402  (the same runs and measurements)


def _rss_mb() -> Tuple[float, float]:
    """(resident MB now, peak resident MB so far) of this process."""
    with open("/proc/self/status") as status:
        kb = {line.split(":")[0]: int(line.split()[1]) for line in status if line.startswith(("VmRSS", "VmHWM"))}
    return kb["VmRSS"] / 1024, kb["VmHWM"] / 1024


def breakdown(argv: List[str]) -> int:
    """In this process: run the CLI on ``argv`` and print a row per stage (table 2)."""
    started = time.process_time()
    rows = []

    def mark(stage: str) -> None:
        rows.append(f"| {stage} | {time.process_time() - started:.3f} | {'{:.1f} | {:.1f}'.format(*_rss_mb())} |")

    mark("python started")
    from stingerml._kernels import one_blas_thread, release_llvm_pages

    one_blas_thread()  # as the CLI does, before numpy's import
    import numpy  # noqa: F401

    mark("import numpy")
    release_llvm_pages()  # as the CLI does, before numba's import
    import stingerml._kernels.numba_cache  # noqa: F401  (imports numba as the CLI's first kernel does)

    import numba
    from numba.core import dispatcher

    mark("import numba")
    first_call = dispatcher.Dispatcher._compile_for_args

    def timed(self, *args, **kwargs):  # a dispatcher's first call of a signature: loads it from the cache
        result = first_call(self, *args, **kwargs)
        mark(f"first call of {self.py_func.__module__.rsplit('.', 1)[-1]}.{self.py_func.__name__}")
        return result

    dispatcher.Dispatcher._compile_for_args = timed
    from stingerml.cli import main

    mark("import stingerml.cli")
    code = main(argv)
    mark(f"done (exit {code})")
    print(f"numba {numba.__version__}\n")
    print("| stage | cpu s | RSS MB | peak MB |\n|---|---|---|---|")
    print("\n".join(rows))
    return code


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--session", default="session_a", help="vectors/sessions/<name>.bin")
    parser.add_argument("--repeat", type=int, default=5, help="runs per row (the median is printed)")
    parser.add_argument("--train-js", default=str(TRAIN_JS), help="the browser's train.js, read in place")
    parser.add_argument("--no-node", action="store_true", help="skip the browser's trainer (minutes under load)")
    parser.add_argument("--breakdown", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.breakdown is not None:
        return breakdown(args.breakdown)
    log = ROOT / "vectors" / "sessions" / f"{args.session}.bin"
    options = argparse.Namespace(train_js=args.train_js, processes="auto", pypy="pypy3")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env.update(PYTHONPATH=str(ROOT), PYTHONPYCACHEPREFIX=str(Path(tmp) / "pycache"))
        out = Path(tmp) / "out"
        out.mkdir()
        train = command("numba", log, out, options)
        runs: Dict[str, Optional[List[str]]] = {
            "node train.js": None if args.no_node else command("node", log, out, options),
            "stingerml --version": [sys.executable, "-m", "stingerml", "--version"],
            f"stingerml train {args.session} (numba, warm cache)": train,
        }
        base = None
        for name, argv_ in runs.items():
            if argv_ is None:
                continue
            measure(argv_, env)  # warm-up: numba's cache and the byte code
            got = [measure(argv_, env) for _ in range(args.repeat)]
            cpu = statistics.median(m["cpu"] for m in got)
            peak = statistics.median(m["peak"] for m in got)
            base = cpu if name.startswith("node") else base
            ratio = f"{cpu / base:.3f}" if base and not name.startswith("node") else "-"
            spread = f"{min(m['cpu'] for m in got):.2f}-{max(m['cpu'] for m in got):.2f}"
            rows.append(f"| {name} | {cpu:.2f} | {spread} | {peak:.0f} | {ratio} |")
        inside = None
        if train is not None:
            inside = subprocess.run([sys.executable, __file__, "--breakdown", *train[3:]], env=env, cwd=ROOT,
                                    capture_output=True, text=True, check=True).stdout
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, "
          f"{time.strftime('%Y-%m-%d %H:%M')}; median of {args.repeat} runs\n")
    print("| command | cpu s | cpu s range | peak MB | cpu ratio to node |\n|---|---|---|---|---|")
    print("\n".join(rows))
    if inside:
        print(f"\nOne `train` process from inside:\n\n{inside}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
