"""Float vs full-int8 accuracy of scikit-learn MLPs exported through stingerml (issue 13).

For digits, iris, wine and breast_cancer (tests/sklearn_nets.py: stratified
75/25 split, seed 0, StandardScaler, ReLU MLP (32, 16)), the test rows are
scored with the float forward pass and with the int8 emulator after
quantization on 100 training rows (seed 0), per-tensor and per-channel weights
(:func:`stingerml.deploy.export.compare`, the ``check`` of ``meta.json``).
Needs scikit-learn.

    PYTHONPATH=. python benchmarks/export.py
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the test suite's fitted networks

from sklearn_nets import CLASSIFICATION, fitted  # noqa: E402

from stingerml.deploy.export import compare  # noqa: E402
from stingerml.deploy.quantize import quantize, representative_rows  # noqa: E402


def main() -> None:
    print(f"{'data set':<14} {'test rows':>9} {'float %':>8} {'int8 %':>7} {'drop':>6} {'int8/ch %':>9} {'drop':>6}")
    for name in CLASSIFICATION:
        f = fitted(name)
        labels = [int(t) for t in f.targets]
        cells = [f"{name:<14} {len(labels):>9}"]
        for per_channel, width in ((False, 7), (True, 9)):
            q = quantize(f.net, representative_rows(f.train), per_channel=per_channel)
            check = compare(f.net, q, f.test, labels)
            acc_float, acc = check["float_accuracy"], check["int8_accuracy"]
            if not per_channel:
                cells.append(f"{100 * acc_float:>8.2f}")
            cells.append(f"{100 * acc:>{width}.2f} {100 * (acc_float - acc):>6.2f}")
        print(" ".join(cells))


if __name__ == "__main__":
    main()
