"""Time of ``stingerml.blaster.synth.generate`` for a 10-minute and a 2-hour session (pure Python).

    python benchmarks/synth.py

Targets (the synthetic generator is meant for quick experiments on a laptop or a
Raspberry Pi): 10 minutes of log in under 8 s, 2 hours in under 20 s. Prints a
markdown table: recording time, samples, wall-clock seconds, target, met.
"""
from __future__ import annotations

import time

from stingerml.blaster.synth import generate

CASES = [(600, 9, 8.0), (7200, 1, 20.0)]  # (recording seconds, seed, target seconds)


def main() -> None:
    print("| recording | samples | seconds | target s | met |")
    print("|---|---|---|---|---|")
    for seconds, seed, target in CASES:
        t0 = time.perf_counter()
        log = generate(seconds, seed=seed)
        took = time.perf_counter() - t0
        print(f"| {seconds // 60} min | {len(log)} | {took:.2f} | {target:.0f} | {'yes' if took < target else 'no'} |")


if __name__ == "__main__":
    main()
