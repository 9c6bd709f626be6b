"""`stingerml benchmark` on the pure-Python path with 1 and 2 jobs, and one per-log training task.

    python benchmarks/parallel.py                        # 2 synthetic 60 s sessions, 2 seeds, MLP 40 iterations
    python benchmarks/parallel.py --seconds 120 --seeds 3 --mlp-iter 220

Each configuration runs :func:`stingerml.blaster.benchmark.run_benchmark` in a fresh
subprocess (``STINGERML_BACKEND=python``) so that its peak RSS and CPU time are
its own:

- ``jobs 1, processes 1``: one after another in one process (the baseline);
- ``jobs 1, processes 2``: one after another, each MLP fit split over two
  processes by the kernels themselves (``STINGERML_PROCESSES=2``);
- ``jobs 2``: the runs on a local pool of two processes (each fit in its process).

All three must give the same report (checked). "cpu s" is the CPU time of the
subprocess and its children (pool workers or the MLP helper); "peak MB" the
peak RSS of the main process and of the largest child; "CPUs had" is cpu s /
wall s, how much of the machine the run actually got (on a shared machine,
less than the jobs asked for). Then one per-log task of
training from many logs (:func:`stingerml.blaster.tasks.log_rows`: parse, browser
dataset, features) is timed on a synthetic 15-minute session, the unit of the
community-dataset estimate in docs/parallel.md. The load average is printed
before and after: the machine may be shared. Prints markdown tables.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Tuple

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = [("1", "1"), ("1", "2"), ("2", "1")]  # (jobs, STINGERML_PROCESSES)


def child(args: argparse.Namespace) -> None:
    """In the subprocess: one benchmark, its report's digest and the numbers, as JSON on stdout."""
    import hashlib

    from stingerml.blaster.benchmark import BenchmarkConfig, BenchmarkData, run_benchmark
    from stingerml.blaster.log import read_log
    from stingerml.blaster.sessions import build_sessions

    data = BenchmarkData.from_sessions(build_sessions([read_log(p) for p in args.logs]))
    config = BenchmarkConfig(seeds=args.seeds, mlp_iter=args.mlp_iter)
    t0 = time.perf_counter()
    result = run_benchmark(data, config, jobs=args.jobs)
    wall = time.perf_counter() - t0
    from stingerml._kernels import peer

    peer._stop_helper()  # the MLP's helper process (processes 2), so that its CPU time and RSS are counted
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    tasks = [r for r in result.runs if not (r.model == "lr" and r.split == "time" and r.seed > 0)]
    print(json.dumps({
        "wall": wall, "cpu": me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime,
        "rss_main": me.ru_maxrss / 1024, "rss_child": kids.ru_maxrss / 1024, "rows": len(data),
        "tasks": len(tasks), "task_s": sum(r.seconds for r in tasks) / len(tasks),
        "report": hashlib.sha256(result.to_markdown().encode()).hexdigest(),
    }))


def run(logs: List[str], jobs: str, processes: str, seeds: int, mlp_iter: int) -> Dict[str, float]:
    env = dict(os.environ, STINGERML_BACKEND="python", STINGERML_PROCESSES=processes,
               PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))
    out = subprocess.run([sys.executable, __file__, "--child", "--jobs", jobs, "--seeds", str(seeds),
                          "--mlp-iter", str(mlp_iter), *logs], env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def log_task_seconds(workdir: Path) -> Tuple[float, int]:
    """Seconds of one per-log training task (pure Python) on a synthetic 15-minute session."""
    sys.path.insert(0, str(ROOT))
    from stingerml import set_backend
    from stingerml.blaster.dataset import DatasetParams
    from stingerml.blaster.log import write_log
    from stingerml.blaster.synth import generate
    from stingerml.blaster.tasks import log_rows

    set_backend("python")
    path = workdir / "synth15.bin"
    write_log(generate(900, seed=0), path)
    t0 = time.perf_counter()
    log, ds, _, _ = log_rows(str(path), DatasetParams())
    return time.perf_counter() - t0, len(ds)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("logs", nargs="*", help="(internal) the logs of a --child run")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--jobs", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--sessions", type=int, default=2, help="synthetic sessions (default %(default)s)")
    ap.add_argument("--seconds", type=int, default=60, help="length of each session (default %(default)s)")
    ap.add_argument("--seeds", type=int, default=2, help="benchmark seeds (default %(default)s)")
    ap.add_argument("--mlp-iter", type=int, default=40, help="MLP iterations (default %(default)s)")
    args = ap.parse_args()
    if args.child:
        return child(args)
    sys.path.insert(0, str(ROOT))
    from stingerml.blaster.log import write_log
    from stingerml.blaster.synth import generate

    with tempfile.TemporaryDirectory() as tmp:
        logs = []
        for seed in range(args.sessions):
            logs.append(str(Path(tmp) / f"s{seed}.bin"))
            write_log(generate(args.seconds, seed=seed), logs[-1])
        print(f"{args.sessions} synthetic sessions of {args.seconds} s, seeds {args.seeds}, MLP {args.mlp_iter} "
              f"iterations, LR 1500; {os.cpu_count()} CPUs; load average before: "
              + " ".join(f"{x:.2f}" for x in os.getloadavg()) + "\n")
        print("| jobs | MLP processes | wall s | speed-up | cpu s | CPUs had (cpu/wall) | peak MB main / largest child "
              "| tasks | s per task | load (1 min) after |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        base = None
        digests = set()
        for jobs, processes in CONFIGS:
            r = run(logs, jobs, processes, args.seeds, args.mlp_iter)
            base = base or r["wall"]
            digests.add(r["report"])
            print(f"| {jobs} | {processes} | {r['wall']:.1f} | {base / r['wall']:.2f}× | {r['cpu']:.1f} | {r['cpu'] / r['wall']:.2f} | "
                  f"{r['rss_main']:.0f} / {r['rss_child']:.0f} | {r['tasks']} | {r['task_s']:.2f} | "
                  f"{os.getloadavg()[0]:.2f} |", flush=True)
        print(f"\n{r['rows']} rows; reports identical: {len(digests) == 1}")
        seconds, rows = log_task_seconds(Path(tmp))
        print(f"one per-log training task (parse, dataset, features; pure Python), synthetic 15-minute "
              f"session, {rows} rows: {seconds:.2f} s")


if __name__ == "__main__":
    main()
