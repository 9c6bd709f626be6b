"""Big tabular data: peak memory and the longest silence of ``stingerml tabular train`` and ``predict``.

    PYTHONPATH=$PWD python benchmarks/big_tabular.py [--mb 200] [--cols 20] [--epochs 2] [--keep DIR]

Writes a CSV of about ``--mb`` MB (``--cols`` numeric columns of 9-10 characters and a
3-class ``label``; seeded), then runs ``python -m stingerml tabular train`` on it and
``tabular predict`` with the run's model, and a second training stopped (SIGTERM) after its
first epoch and resumed (``--resume`` reads and splits the data again), each in a child process
with stderr piped (so the progress is the one without a terminal). For each step it prints the wall time, the peak
resident memory of the child (``ru_maxrss``), that peak over the data's float32 size
(rows × feature columns × 4 bytes; issue 29's target is ≤ 4), and the longest gap between two
stderr lines (issue 29's target: ≤ 10 s). The target sizes are issue 29's: a 200 MB CSV.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import List, Tuple

ROOT = Path(__file__).resolve().parent.parent


def write_csv(path: Path, mb: float, cols: int, seed: int = 1) -> int:
    """A CSV of about ``mb`` MB; returns its data rows."""
    rng = random.Random(seed)
    target = int(mb * 1e6)
    rows = 0
    with open(path, "w") as fh:
        fh.write(",".join(f"f{i}" for i in range(cols)) + ",label\n")
        while fh.tell() < target:
            block = []
            for _ in range(1000):
                values = [rng.gauss(0.0, 50.0) for _ in range(cols)]
                label = "Adelie" if values[0] + values[1] > 20 else ("Gentoo" if values[2] > 0 else "Chinstrap")
                block.append(",".join(f"{v:.5f}" for v in values) + f",{label}\n")
            fh.write("".join(block))
            rows += 1000
    return rows


def run(cmd: List[str], verbose: bool = False, stop_at: str = "") -> Tuple[float, int, float, str]:
    """Wall seconds, peak RSS (bytes), longest stderr silence (s) and the last stderr line of ``cmd``;
    with ``stop_at``, SIGTERM once a stderr line starts with it (the command must then exit 143)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    start = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    stamps, last, lines = [start], [""], []

    def read() -> None:
        for line in proc.stderr:
            stamps.append(time.monotonic())
            last[0] = line.rstrip()
            lines.append((stamps[-1], last[0]))
            if stop_at and last[0].startswith(stop_at):
                proc.terminate()

    reader = threading.Thread(target=read)
    reader.start()
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak (ru_maxrss, KiB on Linux)
    reader.join()
    end = time.monotonic()
    stamps.append(end)
    code = os.waitstatus_to_exitcode(status)
    if code != (143 if stop_at else 0):
        raise SystemExit(f"{' '.join(cmd)}: exit {code}: {last[0]}")
    if verbose:
        for t, line in lines:
            print(f"    {t - start:7.1f} s  {line}")
    peak = usage.ru_maxrss
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    return end - start, peak * 1024, max(gaps), last[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=float, default=200.0, help="CSV size in MB (default 200)")
    parser.add_argument("--cols", type=int, default=20, help="numeric columns (default 20)")
    parser.add_argument("--epochs", type=int, default=2, help="training epochs (default 2)")
    parser.add_argument("--verbose", action="store_true", help="print each stderr line with its time")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temporary one)")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="stingerml-big-"))
    work.mkdir(parents=True, exist_ok=True)
    csv_path = work / "big.csv"
    rows = write_csv(csv_path, args.mb, args.cols)
    baseline = run([sys.executable, "-c", "import stingerml.tabular.runs, numba"])[1]
    print(f"a Python with stingerml and numba imported: {baseline / 2**20:.0f} MiB (in every peak below)")
    f32 = rows * args.cols * 4
    print(f"{csv_path}: {csv_path.stat().st_size / 1e6:.1f} MB, {rows} rows x {args.cols} columns; "
          f"float32 size {f32 / 2**20:.0f} MiB")
    py = [sys.executable, "-m", "stingerml"]
    for folder in ("runs", "stopped"):
        shutil.rmtree(work / folder, ignore_errors=True)
    train = py + ["tabular", "train", str(csv_path), "--label", "label", "--hidden", "16,8"]
    steps = [("train", train + ["--epochs", str(args.epochs), "--runs-dir", str(work / "runs")], ""),
             # a run stopped (SIGTERM) after its first epoch, then resumed: it reads and splits the data again
             ("stopped", train + ["--epochs", str(args.epochs + 1), "--runs-dir", str(work / "stopped")], "epoch 1/"),
             ("resume", None, ""),
             ("predict", None, "")]
    print(f"{'step':8s} {'wall s':>8s} {'peak MiB':>9s} {'peak/f32':>9s} {'longest silence s':>18s}")
    for name, cmd, stop_at in steps:
        if name == "resume":
            cmd = py + ["tabular", "train", "--resume", str(next((work / "stopped").iterdir()))]
        elif name == "predict":
            cmd = py + ["tabular", "predict", str(next((work / "runs").iterdir())), str(csv_path), "-o",
                        str(work / "predictions.csv")]
        wall, peak, silence, _ = run(cmd, args.verbose, stop_at)
        print(f"{name:8s} {wall:8.1f} {peak / 2**20:9.0f} {peak / f32:9.2f} {silence:18.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
