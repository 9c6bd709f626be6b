"""``stingerml plot LOG [--lr FILE --mlp FILE] --out DIR``: SVG charts of a session."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..constants import SLOT_LR, SLOT_MLP
from ..errors import StingerError
from ._common import load_model, read_one_log


def _plot(args: argparse.Namespace) -> int:
    from ..dataset import DatasetParams
    from ..plots import plot_predictions, session_overview, shot_crops, write_svg
    from ..shots import detect_shots

    if (args.lr is None) != (args.mlp is None):
        raise StingerError("prediction plots need both models: pass --lr FILE and --mlp FILE together, or neither")
    models = None
    if args.lr is not None:
        models = load_model(args.lr, SLOT_LR), load_model(args.mlp, SLOT_MLP)
    log = read_one_log(args.log)
    edges, accepted = detect_shots(log.timestamp_ms, log.trigger, args.min_shot_gap_ms)
    kept = set(accepted)
    out = Path(args.out)
    try:
        (out / "shots").mkdir(parents=True, exist_ok=True)
        write_svg(out / "overview.svg", session_overview(log, accepted, [e for e in edges if e not in kept]))
        for k, svg in enumerate(shot_crops(log, accepted), start=1):
            write_svg(out / "shots" / f"shot_{k:03d}.svg", svg)
        extra = []
        if models is not None:
            params = DatasetParams(min_gap_ms=args.min_shot_gap_ms)
            extra = plot_predictions(log, models[0], models[1], out, params)
    except OSError as exc:
        raise StingerError(f"{out}: cannot write the plots: {exc.strerror or exc}") from exc
    print(
        f"{args.log}: {len(log)} samples, {len(accepted)} accepted / {len(edges)} trigger pulls -> "
        f"{out}/overview.svg, {len(accepted)} shot crops" + (f", {len(extra)} prediction charts" if models else "")
    )
    return 0


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``plot`` sub-command."""
    p = subparsers.add_parser(
        "plot",
        help="draw SVG charts of a session (overview, shot crops, prediction traces)",
        description=(
            "Write OUT/overview.svg (six IMU axes, accepted and rejected trigger pulls) and "
            "OUT/shots/shot_NNN.svg (IMU around each accepted shot). With --lr and --mlp, also "
            "OUT/traces/trace_NNN.svg (model probabilities around each shot) and "
            "OUT/histogram_lr.svg, OUT/histogram_mlp.svg."
        ),
    )
    p.add_argument("log", metavar="LOG", help="device log (.bin) or converted CSV (.csv)")
    p.add_argument("--lr", metavar="FILE", help="LR model file (MLMD)")
    p.add_argument("--mlp", metavar="FILE", help="MLP model file (MLMD)")
    p.add_argument("--out", "-o", metavar="DIR", required=True, help="output folder (created if missing)")
    p.add_argument("--min-shot-gap-ms", type=float, default=1000, help="gap rule for accepted shots (default 1000)")
    p.set_defaults(func=_plot)
