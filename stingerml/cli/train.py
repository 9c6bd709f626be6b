"""``stingerml train`` and ``stingerml demo``: the browser trainer's flow from the command line.

``stingerml train LOG [LOG ...] --out DIR`` trains from one log (the browser
trainer, byte for byte) or one model from several sessions;
``stingerml train --train-dir DIR --out DIR`` trains from a training folder.
``-o/--out`` is checked before training; everything is computed before anything is
written; the three files then replace the old ones as a set.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ..constants import LR_FILE, MLP_FILE, REPORT_FILE
from ._announce import announce_backend
from ._common import add_json, add_output, add_sources, check_sources, print_json, progress, read_logs, read_one_log, say

DEMO_DIR = "stingerml-demo"


def register(sub: "argparse._SubParsersAction") -> None:
    p = sub.add_parser(
        "train", help="train LR + MLP model files from device logs or a training folder",
        description="Train the LR and MLP models exactly as the browser trainer does: from one device log, "
        "from several logs at once (one model from many sessions), or from a training folder "
        "written by 'stingerml export'.",
    )
    add_sources(p, "device log(s) (.bin as pulled from the blaster, or .csv)",
                "train from this training folder instead of logs")
    add_output(p, f"output folder for {LR_FILE}, {MLP_FILE}, {REPORT_FILE} (replaced as a set)", metavar="DIR")
    add_json(p, "the written files, summary, held-out metrics and warnings")
    p.set_defaults(func=run_train)

    d = sub.add_parser("demo", help="train on the bundled example session into ./stingerml-demo/")
    add_output(d, f"output folder (default ./{DEMO_DIR})", metavar="DIR", required=False, default=DEMO_DIR)
    d.set_defaults(func=run_demo)


def run_train(args: argparse.Namespace) -> int:
    from .._atomic import check_output_folder
    from ..trainers.blaster import train, train_folder

    check_sources(args)
    check_output_folder(args.out)  # before minutes of training, not after
    announce_backend(args, "training")
    show = progress(args)
    if args.train_dir:
        result = train_folder(args.train_dir, progress=show)
    else:
        logs = read_logs(args.logs, show_warnings=False)  # they go to the result's warnings
        result = train(logs[0] if len(logs) == 1 else logs, progress=show)
    paths = result.save(Path(args.out))
    if args.json:
        print_json({"out": str(args.out), "files": {name: str(path) for name, path in paths.items()},
                    "summary": result.summary, "metrics": result.metrics, "warnings": result.warnings})
    for path in paths.values():
        say(args, str(path))
    return 0


def run_demo(args: argparse.Namespace) -> int:
    from .. import demo_session_path
    from .._atomic import check_output_folder
    from ..trainers.blaster import train

    src = demo_session_path()
    check_output_folder(args.out)
    announce_backend(args, "training")
    result = train(read_one_log(src, show_warnings=False), progress=progress(args))
    paths = result.save(Path(args.out))
    s = result.summary
    say(args, f"\nTrained on the bundled example session {src.name}: {s['samples']} samples, "
          f"{s['shotsAccepted']} shots, {s['posWindows']} positive / {s['negWindows']} negative windows.\n")
    say(args, f"  {paths[LR_FILE]}   logistic regression (18 features), MLMD file for the blaster's LR slot")
    say(args, f"  {paths[MLP_FILE]}  MLP 30-64-32-1, MLMD file for the blaster's MLP slot")
    say(args, f"  {paths[REPORT_FILE]}       summary, warnings, held-out metrics, loss curves, per-shot traces")
    if result.metrics:
        for key, name in (("lr", "LR "), ("mlp", "MLP")):
            m = result.metrics[key]
            say(args, f"  held-out {name}: precision {m['precision']:.2f}  recall {m['recall']:.2f}  F1 {m['f1']:.2f}")
    say(args, "\nUpload to a blaster with: stingerml push " + str(Path(args.out)))
    return 0
