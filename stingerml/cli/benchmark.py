"""``stingerml benchmark (LOG... | --train-dir DIR) --seeds N -o report.md``: score the learners.

The blaster domain runs the benchmark; the TCN (``--models ... tcn``) comes from the sequence
domain, which the blaster may not import, so this command hands it over as a plug-in
(:func:`learners`)."""
from __future__ import annotations

import argparse
import shlex
import sys

from ..core.errors import StingerError
from ..core.progress import Progress
from ._announce import announce_backend
from ._common import (
    add_arguments_later,
    add_json,
    add_old_spelling,
    add_output,
    add_sources,
    add_task_options,
    check_sources,
    positive_int,
    print_json,
    read_logs,
    say,
    task_runner,
)


def command_line(args: argparse.Namespace) -> str:
    """The command that reproduces this run, every option spelled out (but ``--jobs`` and
    ``--scheduler``: they change where it runs, not the report)."""
    words = ["stingerml", "benchmark", *args.logs]
    if args.train_dir:
        words += ["--train-dir", args.train_dir]
    words += ["--seeds", str(args.seeds), "--test-frac", f"{args.test_frac:g}", "--lr-iterations",
              str(args.lr_iterations), "--mlp-iterations", str(args.mlp_iterations), "--tcn-epochs",
              str(args.tcn_epochs), "--models", *args.models, "--feature-sets", *args.feature_sets,
              "--splits", *args.splits, "-o", args.out]
    return " ".join(shlex.quote(w) for w in words)


def learners(args: argparse.Namespace) -> tuple:
    """The plug-in learners of the raw windows: the sequence domain's TCN with ``--tcn-epochs``."""
    from ..sequence.windows import TCNWindows

    return (TCNWindows(max_epochs=args.tcn_epochs),)


def _benchmark(args: argparse.Namespace) -> int:
    from ..blaster.benchmark import BenchmarkConfig, BenchmarkData, estimate_seconds, run_benchmark
    from ..blaster.sessions import build_sessions
    from ..blaster.trainfolder import read
    from ..core.atomic import write_text_atomic

    check_sources(args)
    config = BenchmarkConfig(seeds=args.seeds, test_frac=args.test_frac, lr_iter=args.lr_iterations,
                             mlp_iter=args.mlp_iterations, models=tuple(args.models), features=tuple(args.feature_sets),
                             splits=tuple(args.splits))
    plugins = learners(args)
    config.check(plugins)
    if args.train_dir:
        data = BenchmarkData.from_folder(read(args.train_dir), args.train_dir)
    else:
        data = BenchmarkData.from_sessions(build_sessions(read_logs(args.logs)))

    def note(message: str) -> None:
        say(args, message, stream=sys.stderr)

    def show(event: Progress) -> None:
        note(event.message)

    announce_backend(args, "benchmark", pure=False)  # the estimate below speaks of pure Python
    browser = [m for m in config.models if m in ("lr", "mlp")]
    runs = config.seeds * len(config.splits) * (len(browser) * len(config.features) + len(config.models) - len(browser))
    if not args.quiet:
        from .._kernels import backend

        seconds = estimate_seconds(data, config)
        eta = f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"
        pure = backend() == "python"
        where = "on this machine" if args.jobs == 1 and not args.scheduler else "in one process"
        note(f"benchmark: {len(data)} rows, {runs} runs, estimated {eta} {where} "
             + ("(the pure-Python MLP is slow: shorten with --mlp-iterations or --models lr, or install stingerml[fast])"
                if pure else "(shorten with --seeds, --mlp-iterations or --models lr)")
             + (" plus the TCN runs (3 to 25 s each with numba on 300 rows)" if "tcn" in config.models else ""))
    with task_runner(args) as where_to_run:
        result = run_benchmark(data, config, progress=show, learners=plugins, **where_to_run)
    try:
        write_text_atomic(args.out, result.to_markdown(command_line(args)))
    except OSError as exc:
        raise StingerError(f"{args.out}: cannot write the report: {exc.strerror or exc}") from exc
    note(f"done in {result.seconds:.0f} s")
    if args.json:
        print_json(_json_result(args.out, result))
    say(args, args.out)
    return 0


def _json_result(report: str, result: "object") -> dict:
    """``--json``: the report's path, the run and every cell's mean and std per metric."""
    return {"report": report, "rows": len(result.data), "backend": result.backend, "seconds": result.seconds,
            "cells": [{"model": c.model, "features": c.features, "split": c.split, "runs": len(c.runs),
                       "scored": len(c.scored), "mean": {k: v[0] for k, v in c.stats.items()},
                       "std": {k: v[1] for k, v in c.stats.items()}} for c in result.cells()]}


def register(subparsers: "argparse._SubParsersAction") -> None:
    """Add the ``benchmark`` sub-command (its options when it runs: their defaults come from the library)."""
    p = subparsers.add_parser(
        "benchmark", help="score LR/MLP × summary/rich features (and a TCN on raw windows) × random/time/group "
        "splits over seeds",
        description="Train and score the browser's learners on many splits of a dataset (one or more logs, "
        "or a training folder) and write a markdown report: ROC AUC, PR AUC, best F1 and its threshold, "
        "mean ± std over seeds.",
    )
    p.set_defaults(func=_benchmark)
    add_arguments_later(p, _add_arguments)


def _add_arguments(p: argparse.ArgumentParser) -> None:
    from ..blaster.benchmark import FEATURES, MODELS, SPLITS, BenchmarkConfig
    from ..sequence.windows import TCNWindows

    d = BenchmarkConfig()
    add_sources(p, "device log(s) (.bin or .csv)", "benchmark on this training folder instead of logs")
    add_output(p, "markdown report to write (replaced atomically)")
    add_json(p, "the report's path and every cell's mean and std per metric")
    p.add_argument("--seeds", type=int, default=d.seeds, help="seeds 0..N-1 (default %(default)s)")
    p.add_argument("--test-frac", type=float, default=d.test_frac, help="test share (default %(default)s)")
    p.add_argument("--lr-iterations", type=positive_int, default=d.lr_iter, metavar="N",
                   help="LR iterations (default %(default)s)")
    p.add_argument("--mlp-iterations", type=positive_int, default=d.mlp_iter, metavar="N",
                   help="MLP iterations (default %(default)s)")
    add_old_spelling(p, "--lr-iter", "--lr-iterations", type=positive_int)
    add_old_spelling(p, "--mlp-iter", "--mlp-iterations", type=positive_int)
    p.add_argument("--tcn-epochs", type=positive_int, default=TCNWindows.max_epochs, metavar="N",
                   help="the TCN's most epochs (early stopping; default %(default)s)")
    p.add_argument("--models", nargs="+", choices=MODELS + (TCNWindows.name,), default=list(MODELS),
                   help="lr, mlp (default: both) and tcn (a TCN on the raw 50×6 windows)")
    p.add_argument("--feature-sets", nargs="+", choices=FEATURES, default=list(FEATURES),
                   help="the blaster's window feature sets: summary (18 per window), rich (30) (default: all)")
    add_old_spelling(p, "--features", "--feature-sets", nargs="+", choices=FEATURES)  # columns in tabular train
    p.add_argument("--splits", nargs="+", choices=SPLITS, default=list(SPLITS), help="default: all")
    add_task_options(p)
