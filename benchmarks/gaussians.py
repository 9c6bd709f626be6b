"""The MLP's noise: Box–Muller gaussians with V8's ``log`` and ``cos``, on every Python runtime found.

    python benchmarks/gaussians.py                      # this interpreter and pypy3 when on PATH
    python benchmarks/gaussians.py --pypy /usr/bin/pypy3 --count 918000 --batch 32

The bundled ``tiny`` session draws ~918,000 gaussians in its 700 MLP iterations, one
row's noise (a batch of ``n_in``) at a time. Each cell is a new process drawing ``--count``
gaussians from ``XorShift32(1)``: "cold" is the CPU seconds of the first ``--count``
(PyPy's JIT warm-up included, as in one ``stingerml train``), "warm" of the next
``--count``. Rows: ``gaussians(batch)`` (what the MLP calls) and ``gaussian()`` one draw
at a time (the reference, through ``jsmath.log``/``jsmath.cos``). "same" says that both
gave the same doubles. Prints a markdown table.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Optional

ROOT = Path(__file__).resolve().parent.parent

# Run in a new process from the checkout: cold and warm CPU seconds, and a digest of the draws.
PROBE = """
import hashlib, struct, sys, time
from stingerml.core.rng import XorShift32
count, batch, how = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rng, times, digest = XorShift32(1), [], hashlib.sha256()
for _ in range(2):
    t, drawn, out = time.process_time(), 0, []
    while drawn < count:
        n = min(batch, count - drawn)
        out += rng.gaussians(n) if how == "gaussians" else [rng.gaussian() for _ in range(n)]
        drawn += n
    times.append(time.process_time() - t)
    digest.update(struct.pack("<%dd" % len(out), *out))
print(times[0], times[1], digest.hexdigest())
"""


def probe(python: str, how: str, args) -> List:
    out = subprocess.run([python, "-c", PROBE, str(args.count), str(args.batch), how], check=True,
                         capture_output=True, text=True, cwd=ROOT)
    cold, warm, digest = out.stdout.split()
    return [float(cold), float(warm), digest]


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=918000, help="gaussians per measurement")
    parser.add_argument("--batch", type=int, default=32, help="gaussians per gaussians() call (a row's inputs)")
    parser.add_argument("--pypy", default="pypy3", help="the PyPy interpreter (skipped when not found)")
    args = parser.parse_args(argv)
    runtimes = [(f"CPython {sys.version.split()[0]}", sys.executable)]
    pypy = shutil.which(args.pypy)
    if pypy:
        runtimes.append(("PyPy", pypy))
    else:
        print(f"pypy: skipped (no {args.pypy})", file=sys.stderr)
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, "
          f"{time.strftime('%Y-%m-%d %H:%M')}; {args.count:,} gaussians, batches of {args.batch}\n")
    print("| runtime | call | cold cpu s | warm cpu s | same |")
    print("|---|---|---|---|---|")
    for name, python in runtimes:
        fast, ref = probe(python, "gaussians", args), probe(python, "gaussian", args)
        same = "same" if fast[2] == ref[2] else "DIFFER"
        print(f"| {name} | gaussians({args.batch}) | {fast[0]:.2f} | {fast[1]:.2f} | {same} |")
        print(f"| {name} | gaussian() | {ref[0]:.2f} | {ref[1]:.2f} | {same} |")
    print(f"\nload {os.getloadavg()[0]:.1f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
