"""``stingerml train`` and ``stingerml demo``: the browser trainer's flow from the command line.

``stingerml train LOG [LOG ...] --out DIR`` trains from one log (the browser
trainer, byte for byte) or one model from several sessions;
``stingerml train --train-dir DIR --out DIR`` trains from a training folder.
``--out`` is checked before training; everything is computed before anything is
written; the three files then replace the old ones as a set.
"""
from __future__ import annotations

import argparse
import warnings
from pathlib import Path

from .._atomic import check_output_folder
from ._progress import StderrProgress

DEMO_DIR = "stingerml-demo"


def register(sub: "argparse._SubParsersAction") -> None:
    p = sub.add_parser(
        "train", help="train LR + MLP model files from device logs or a training folder",
        description="Train the LR and MLP models exactly as the browser trainer does: from one device log, "
        "from several logs at once (one model from many sessions), or from a training folder "
        "written by 'stingerml export'.",
    )
    p.add_argument("logs", nargs="*", metavar="LOG", help="device log(s) (.bin as pulled from the blaster, or .csv)")
    p.add_argument("--train-dir", metavar="DIR", help="train from this training folder instead of logs")
    p.add_argument("--out", required=True, help="output folder for ml_model_lr.bin, ml_model_mlp.bin, report.json")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=run_train, parser=p)

    d = sub.add_parser("demo", help="train on the bundled example session into ./stingerml-demo/")
    d.add_argument("--out", default=DEMO_DIR, help=f"output folder (default ./{DEMO_DIR})")
    d.set_defaults(func=run_demo)


def read_logs(paths):
    """Read every log first (any unreadable one fails before training); StingerWarnings are
    left to the result's warnings instead of Python's warning output."""
    from ..errors import StingerWarning
    from ..log import read_log

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StingerWarning)
        return [read_log(Path(p)) for p in paths]


def check_sources(args: argparse.Namespace) -> None:
    """Exactly one of LOG... and --train-dir (a usage error otherwise, exit code 2)."""
    if bool(args.logs) == bool(args.train_dir):
        args.parser.error("give either one or more LOG files or --train-dir DIR, not both and not neither")


def run_train(args: argparse.Namespace) -> int:
    from ..pipeline import train, train_folder

    check_sources(args)
    check_output_folder(args.out)  # before minutes of training, not after
    progress = None if args.quiet else StderrProgress()
    if args.train_dir:
        result = train_folder(args.train_dir, progress=progress)
    else:
        logs = read_logs(args.logs)
        result = train(logs[0] if len(logs) == 1 else logs, progress=progress)
    for path in result.save(Path(args.out)).values():
        print(path)
    return 0


def run_demo(args: argparse.Namespace) -> int:
    from .. import demo_session_path
    from ..pipeline import train

    src = demo_session_path()
    check_output_folder(args.out)
    result = train(read_logs([src])[0], progress=StderrProgress())
    paths = result.save(Path(args.out))
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
