"""``stingerml plot LOG [--lr FILE --mlp FILE] --out DIR``: SVG charts of a session."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..core.constants import SLOT_LR, SLOT_MLP
from ..core.errors import StingerError
from ._common import add_arguments_later, add_json, add_output, load_model, print_json, read_one_log, say


def _plot(args: argparse.Namespace) -> int:
    from ..blaster.dataset import DatasetParams
    from ..blaster.plots import plot_predictions, session_overview, shot_crops, write_svg
    from ..blaster.shots import detect_shots

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
        written = [out / "overview.svg"]
        write_svg(written[0], session_overview(log, accepted, [e for e in edges if e not in kept]))
        for k, svg in enumerate(shot_crops(log, accepted), start=1):
            written.append(out / "shots" / f"shot_{k:03d}.svg")
            write_svg(written[-1], svg)
        extra = []
        if models is not None:
            params = DatasetParams(min_gap_ms=args.min_shot_gap_ms)
            extra = plot_predictions(log, models[0], models[1], out, params)
        _remove_stale(out, set(written + extra))
    except OSError as exc:
        raise StingerError(f"{out}: cannot write the plots: {exc.strerror or exc}") from exc
    if args.json:
        print_json({"log": args.log, "samples": len(log), "rising_edges": len(edges), "accepted_shots": len(accepted),
                    "files": [str(p) for p in written + extra]})
    say(args, f"{args.log}: {len(log)} samples, {len(edges)} rising edges, {len(accepted)} accepted shots -> "
              f"{out}/overview.svg, {len(accepted)} shot crops" + (f", {len(extra)} prediction charts" if models else ""))
    return 0


STALE = ("shots/shot_[0-9][0-9][0-9]*.svg", "traces/trace_[0-9][0-9][0-9]*.svg", "histogram_lr.svg",
         "histogram_mlp.svg")  # the charts plot writes: an earlier run's that this run did not write go


def _remove_stale(out: Path, written: "set") -> None:
    """Remove the charts of an earlier run into ``out`` that this run did not write (a session
    with fewer shots, or no models this time), so the folder shows this run only."""
    for pattern in STALE:
        for path in out.glob(pattern):
            if path not in written:
                path.unlink()


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``plot`` sub-command."""
    p = subparsers.add_parser(
        "plot",
        help="draw SVG charts of a session (overview, shot crops, prediction traces)",
        description=(
            "Write OUT/overview.svg (six IMU axes, accepted shots and the rising edges the gap rule rejected) and "
            "OUT/shots/shot_NNN.svg (IMU around each accepted shot). With --lr and --mlp, also "
            "OUT/traces/trace_NNN.svg (model probabilities around each shot) and "
            "OUT/histogram_lr.svg, OUT/histogram_mlp.svg."
        ),
    )
    p.add_argument("log", metavar="LOG", help="device log (.bin) or converted CSV (.csv)")
    p.add_argument("--lr", metavar="FILE", help="LR model file (MLMD)")
    p.add_argument("--mlp", metavar="FILE", help="MLP model file (MLMD)")
    add_output(p, "output folder (created if missing; its charts are replaced)", metavar="DIR", old=())
    add_json(p, "the counts and the files written")
    p.set_defaults(func=_plot)
    add_arguments_later(p, _gap_argument)


def _gap_argument(p: argparse.ArgumentParser) -> None:
    from ..blaster.shots import DEFAULT_MIN_GAP_MS

    p.add_argument("--min-shot-gap-ms", type=int, default=DEFAULT_MIN_GAP_MS,
                   help="gap rule for accepted shots (default %(default)s)")
