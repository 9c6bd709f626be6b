"""``stingerml train`` and ``stingerml demo``: the browser trainer's flow from the command line.

``stingerml train LOG [LOG ...] --out DIR`` trains from one log (the browser
trainer, byte for byte) or one model from several sessions (with ``--concat``:
the logs joined into one, as the web app's import button does);
``stingerml train --train-dir DIR --out DIR`` trains from a training folder.
``-o/--out`` is checked before training; everything is computed before anything is
written; the four files then replace the old ones as a set.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ..core.constants import LR_FILE, MLP_FILE, REPORT_FILE, REPORT_HTML_FILE
from ._announce import announce_backend
from ._common import (
    add_arguments_later,
    add_json,
    add_output,
    add_sources,
    add_task_options,
    check_sources,
    positive_int,
    print_json,
    progress,
    read_logs,
    read_one_log,
    say,
    task_runner,
)

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
    add_output(p, f"output folder for {LR_FILE}, {MLP_FILE}, {REPORT_FILE}, {REPORT_HTML_FILE} (replaced as a set)",
               metavar="DIR")
    add_json(p, "the written files, settings, data quality, summary, held-out metrics and warnings")
    p.add_argument("--concat", action="store_true",
                   help="join the logs into one, as the web app's import button does (files whose size is not a "
                        "multiple of 17 bytes are skipped), instead of training them as separate sessions")
    add_arguments_later(p, add_settings_arguments)
    add_task_options(p)
    p.set_defaults(func=run_train)

    d = sub.add_parser("demo", help="train on the bundled example session into ./stingerml-demo/",
                       description="Train both models on the example session bundled with stingerml and write "
                                   "them, report.json and report.html into the output folder.")
    add_output(d, f"output folder (default ./{DEMO_DIR})", metavar="DIR", required=False, default=DEMO_DIR)
    d.set_defaults(func=run_demo)


def add_settings_arguments(p: argparse.ArgumentParser) -> None:
    """``--preset``, ``--mlp-iterations``, ``--loss-every`` (see :mod:`stingerml.blaster.settings`)."""
    from ..blaster.settings import APP, PRESETS, TRAIN_PIPELINE

    g = p.add_argument_group(f"training settings (default: the published app's, {APP.mlp_iterations} MLP "
                             f"iterations, loss every {APP.mlp_loss_every})")
    g.add_argument("--preset", choices=sorted(PRESETS),
                   help="app: the web app's settings (default); train-pipeline: the browser trainer's own "
                        f"defaults ({TRAIN_PIPELINE.mlp_iterations} iterations, loss every {TRAIN_PIPELINE.mlp_loss_every})")
    g.add_argument("--mlp-iterations", type=positive_int, metavar="N",
                   help=f"iterations of the final MLP (default: the preset's, app {APP.mlp_iterations})")
    g.add_argument("--loss-every", type=positive_int, metavar="N",
                   help=f"record the MLP loss every N iterations and at the last (default: the preset's, "
                        f"app {APP.mlp_loss_every})")


def settings_from_args(args: argparse.Namespace):
    """The :class:`~stingerml.blaster.settings.TrainSettings` the options ask for; None (the
    trainer's default, the app's settings) when no option is given."""
    from dataclasses import replace

    from ..blaster.settings import preset

    if args.preset is None and args.mlp_iterations is None and args.loss_every is None:
        return None
    s = preset(args.preset or "app")
    if args.mlp_iterations is not None:
        s = replace(s, mlp_iterations=args.mlp_iterations)
    if args.loss_every is not None:
        s = replace(s, mlp_loss_every=args.loss_every)
    return s


def run_train(args: argparse.Namespace) -> int:
    from ..blaster.trainer import train, train_folder
    from ..core.atomic import check_output_folder

    check_sources(args)
    if args.concat and args.train_dir:
        args.parser.error("--concat joins LOG files; it does not apply to --train-dir")
    check_output_folder(args.out)  # before minutes of training, not after
    announce_backend(args, "training")
    show = progress(args)
    settings = settings_from_args(args)
    with task_runner(args) as where:
        if args.train_dir:
            result = train_folder(args.train_dir, settings=settings, progress=show, **where)
        elif args.concat:
            result = train(args.logs, concat=True, settings=settings, progress=show, **where)
        else:
            # in tasks each log is read by its task; else all are read first (their warnings go to the result's)
            tasks = args.jobs > 1 or args.scheduler
            logs = list(args.logs) if tasks else read_logs(args.logs, show_warnings=False)
            result = train(logs[0] if len(logs) == 1 else logs, settings=settings, progress=show, **where)
    paths = result.save(Path(args.out))
    if args.json:
        print_json({"out": str(args.out), "files": {name: str(path) for name, path in paths.items()},
                    "settings": result.settings.to_json(), "quality": result.quality,
                    "summary": result.summary, "metrics": result.metrics, "warnings": result.warnings})
    for path in paths.values():
        say(args, str(path))
    say(args, quality_line(result.quality))
    return 0


def quality_line(q) -> str:
    """One line for the app's data-quality score (or why there is none)."""
    if q is None:
        return "data quality: not available (the summary has no recording duration)"
    tips = "; ".join(q[k]["tip"] for k in ("shots", "duration", "negatives"))
    return f"data quality: {q['overall']}/100 ({q['tier']}) - {tips}"


def run_demo(args: argparse.Namespace) -> int:
    from .. import demo_session_path
    from ..blaster.trainer import train
    from ..core.atomic import check_output_folder

    src = demo_session_path()
    check_output_folder(args.out)
    announce_backend(args, "training")
    result = train(read_one_log(src, show_warnings=False), progress=progress(args))
    paths = result.save(Path(args.out))
    s = result.summary
    say(args, quality_line(result.quality))
    say(args, f"\nTrained on the bundled example session {src.name}: {s['samples']} samples, "
              f"{s['shotsAccepted']} shots, {s['posWindows']} positive / {s['negWindows']} negative windows.\n")
    say(args, f"  {paths[LR_FILE]}   logistic regression (18 features), MLMD file for the blaster's LR slot")
    say(args, f"  {paths[MLP_FILE]}  MLP 30-64-32-1, MLMD file for the blaster's MLP slot")
    say(args, f"  {paths[REPORT_FILE]}       settings, data quality, summary, warnings, held-out metrics, loss curves, "
              "per-shot traces")
    say(args, f"  {paths[REPORT_HTML_FILE]}       the same as a page to open in a browser (and print)")
    if result.metrics:
        for key, name in (("lr", "LR "), ("mlp", "MLP")):
            m = result.metrics[key]
            say(args, f"  held-out {name}: P={m['precision'] * 100:.1f} R={m['recall'] * 100:.1f} "
                      f"F1={m['f1'] * 100:.1f} (%, as the training log's lines)")
    say(args, "\nUpload to a blaster with: stingerml push " + str(Path(args.out)))
    return 0
