"""``stingerml train`` and ``stingerml demo``: the browser trainer's flow from the command line."""
from __future__ import annotations

import argparse
from pathlib import Path

from ._progress import StderrProgress

DEMO_DIR = "stingerml-demo"


def register(sub: "argparse._SubParsersAction") -> None:
    p = sub.add_parser("train", help="train LR + MLP model files from a device log",
                       description="Train the LR and MLP models from a device log exactly as the browser trainer does.")
    p.add_argument("log", help="device log (.bin as pulled from the blaster, or .csv)")
    p.add_argument("--out", required=True, help="output folder for ml_model_lr.bin, ml_model_mlp.bin, report.json")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=run_train)

    d = sub.add_parser("demo", help="train on the bundled example session into ./stingerml-demo/")
    d.add_argument("--out", default=DEMO_DIR, help=f"output folder (default ./{DEMO_DIR})")
    d.set_defaults(func=run_demo)


def _train_and_save(log_path: Path, out: Path, quiet: bool):
    from ..log import read_log
    from ..pipeline import train

    log = read_log(log_path)
    result = train(log, progress=None if quiet else StderrProgress())
    return result, result.save(out)


def run_train(args: argparse.Namespace) -> int:
    result, paths = _train_and_save(Path(args.log), Path(args.out), args.quiet)
    for path in paths.values():
        print(path)
    return 0


def run_demo(args: argparse.Namespace) -> int:
    from .. import demo_session_path

    src = demo_session_path()
    result, paths = _train_and_save(src, Path(args.out), False)
    s = result.summary
    print(f"\nTrained on the bundled example session {src.name}: {s['samples']} samples, "
          f"{s['shotsAccepted']} shots, {s['posWindows']} positive / {s['negWindows']} negative windows.\n")
    print(f"  {paths['ml_model_lr.bin']}   logistic regression (18 features), MLMD file for the blaster's LR slot")
    print(f"  {paths['ml_model_mlp.bin']}  MLP 30-64-32-1, MLMD file for the blaster's MLP slot")
    print(f"  {paths['report.json']}       summary, warnings, held-out metrics, loss curves, per-shot traces")
    if result.metrics:
        for key, name in (("lr", "LR "), ("mlp", "MLP")):
            m = result.metrics[key]
            print(f"  held-out {name}: precision {m['precision']:.2f}  recall {m['recall']:.2f}  F1 {m['f1']:.2f}")
    print("\nUpload to a blaster with: stingerml push " + str(Path(args.out)))
    return 0
