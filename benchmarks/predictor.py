"""Single-row predictions per second of :class:`stingerml.tabular.predictor.Predictor`.

    PYTHONPATH=$PWD python benchmarks/predictor.py [--calls 20000] [--backend numba|python]

The model is an ASL-letter-shaped classifier: 63 raw hand-landmark inputs with
the ``hands21`` step, hidden (64, 32), 26 classes, trained for 3 epochs on
synthetic hands (tests/hands.py; the weights do not change the cost). Each
call is ``predict_one(row)`` on one raw row: normalisation, scaler, forward
pass and the best class, as a camera loop does. Printed: calls per second of
wall time and of this process's CPU time (the machine may be shared), the
best of 3 rounds. Target (issue 25): >= 5,000 per second on numba.
"""
from __future__ import annotations

import argparse
import string
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from hands import samples  # noqa: E402

from stingerml import _kernels  # noqa: E402
from stingerml.core.matrix import Matrix  # noqa: E402
from stingerml.tabular import MLPClassifier  # noqa: E402
from stingerml.tabular.predictor import Predictor  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=20000)
    ap.add_argument("--backend", choices=("numba", "python"), default="numba")
    args = ap.parse_args()
    _kernels.set_backend(args.backend)
    letters = tuple(string.ascii_uppercase)
    rows, labels = samples(26 * 20, classes=letters)
    net = MLPClassifier((64, 32), max_epochs=3, preprocess="hands21").fit(
        Matrix([v for r in rows for v in r], 63), labels).to_model()
    p = Predictor(net)
    p.predict_one(rows[0])  # compile / warm up
    best_wall = best_cpu = float("inf")
    for _ in range(3):
        w0, c0 = time.perf_counter(), time.process_time()
        for k in range(args.calls):
            p.predict_one(rows[k % len(rows)])
        best_wall = min(best_wall, time.perf_counter() - w0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    print("| backend | model | calls | predictions/s (wall) | predictions/s (CPU) |")
    print("|---|---|---|---|---|")
    print(f"| {args.backend} | 63 (hands21) -> 64 -> 32 -> 26 | {args.calls} | {args.calls / best_wall:,.0f} "
          f"| {args.calls / best_cpu:,.0f} |")


if __name__ == "__main__":
    main()
