"""``stingerml train`` and ``stingerml demo``: the browser trainer's flow from the command line.

``stingerml train LOG [LOG ...] --out DIR`` trains from one log (the browser
trainer, byte for byte) or one model from several sessions;
``stingerml train --train-dir DIR --out DIR`` trains from a training folder.
Everything is computed before anything is written; the three files are then
written all or nothing.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ..constants import LR_FILE, MLP_FILE, REPORT_FILE
from ._common import add_sources, add_task_options, check_sources, read_logs, read_one_log, task_runner
from ._progress import StderrProgress

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
    p.add_argument("--out", required=True, help=f"output folder for {LR_FILE}, {MLP_FILE}, {REPORT_FILE}")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    add_task_options(p)
    p.set_defaults(func=run_train)

    d = sub.add_parser("demo", help="train on the bundled example session into ./stingerml-demo/")
    d.add_argument("--out", default=DEMO_DIR, help=f"output folder (default ./{DEMO_DIR})")
    d.set_defaults(func=run_demo)


def run_train(args: argparse.Namespace) -> int:
    from ..trainers.blaster import train, train_folder

    check_sources(args)
    progress = None if args.quiet else StderrProgress()
    with task_runner(args) as where:
        if args.train_dir:
            result = train_folder(args.train_dir, progress=progress, **where)
        else:
            # in tasks each log is read by its task; else all are read first (their warnings go to the result's)
            tasks = args.jobs > 1 or args.scheduler
            logs = list(args.logs) if tasks else read_logs(args.logs, show_warnings=False)
            result = train(logs[0] if len(logs) == 1 else logs, progress=progress, **where)
    for path in result.save(Path(args.out)).values():
        print(path)
    return 0


def run_demo(args: argparse.Namespace) -> int:
    from .. import demo_session_path
    from ..trainers.blaster import train

    src = demo_session_path()
    result = train(read_one_log(src, show_warnings=False), progress=StderrProgress())
    paths = result.save(Path(args.out))
    s = result.summary
    print(f"\nTrained on the bundled example session {src.name}: {s['samples']} samples, "
          f"{s['shotsAccepted']} shots, {s['posWindows']} positive / {s['negWindows']} negative windows.\n")
    print(f"  {paths[LR_FILE]}   logistic regression (18 features), MLMD file for the blaster's LR slot")
    print(f"  {paths[MLP_FILE]}  MLP 30-64-32-1, MLMD file for the blaster's MLP slot")
    print(f"  {paths[REPORT_FILE]}       summary, warnings, held-out metrics, loss curves, per-shot traces")
    if result.metrics:
        for key, name in (("lr", "LR "), ("mlp", "MLP")):
            m = result.metrics[key]
            print(f"  held-out {name}: precision {m['precision']:.2f}  recall {m['recall']:.2f}  F1 {m['f1']:.2f}")
    print("\nUpload to a blaster with: stingerml push " + str(Path(args.out)))
    return 0
