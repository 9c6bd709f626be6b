"""``stingerml export LOG --out DIR [options]``: the original exporter's training folder."""
from __future__ import annotations

import argparse

from ._common import add_arguments_later, add_json, add_output, print_json, read_one_log, say, warn


def _export(args: argparse.Namespace) -> int:
    from ..blaster.folder_dataset import ExportParams, export_dataset
    from ..blaster.trainfolder import write
    from ..core.errors import DatasetError

    params = ExportParams(
        lead_ms=args.lead_ms,
        window_ms=args.window_ms,
        min_shot_gap_ms=args.min_shot_gap_ms,
        neg_mult=args.neg_mult,
        neg_strategy=args.neg_strategy,
        neg_mixed_near_frac=args.neg_mixed_near_frac,
        neg_min_motion_quantile=args.neg_min_motion_quantile,
        neg_match_pos_motion=args.neg_match_pos_motion,
        neg_pos_motion_q=args.neg_pos_motion_q,
        neg_min_sep_ms=args.neg_min_sep_ms,
        neg_with_replacement=args.neg_with_replacement,
        neg_near_min_ms=args.neg_near_min_ms,
        neg_near_max_ms=args.neg_near_max_ms,
        neg_avoid_post_ms=args.neg_avoid_post_ms,
        neg_avoid_edges=args.neg_avoid_edges,
        seed=args.seed,
    )
    log = read_one_log(args.log)
    folder = export_dataset(log, params)
    for kind in ("positives", "negatives"):
        if folder.meta[kind] == 0:  # a folder no trainer takes: refused before anything is written
            raise DatasetError(
                f"{args.log}: 0 {kind}, nothing written ('stingerml train --train-dir' refuses such a folder). "
                + ("Record shots at least a window after the start of the log." if kind == "positives" else
                   "Use --neg-mult 1 or more, loosen the negative sampling (--neg-min-sep-ms, "
                   "--neg-avoid-post-ms, the near window), or record more time moving without firing."))
    out = write(args.out, folder, overwrite=True)  # the rule of every command: outputs are replaced
    meta = folder.meta
    if args.json:
        print_json({"out": str(out), "meta": meta})
    say(
        args, f"{args.log} -> {out}: {meta['positives']} positives, {meta['negatives']} negatives "
        f"({meta['neg_strategy']}), window {meta['window_samples']} samples at {meta['estimated_dt_ms']} ms"
    )
    return 0


class _NoLongerNeeded(argparse.Action):
    """``--overwrite`` (deprecated): every command now replaces its outputs (docs/cli.md)."""

    def __call__(self, parser, namespace, values, option_string=None):
        warn(f"{option_string} is deprecated and no longer needed: export replaces the training-folder files "
             "of --out as a set, like every command replaces its outputs")


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``export`` sub-command (its options, named as the original exporter's, when it runs)."""
    p = subparsers.add_parser(
        "export",
        help="write a training folder (windows_i16le.bin, labels_u8.bin, index.csv, meta.json)",
        description="Export positive (pre-shot) and negative windows of a log as a training folder, "
        "with the original Python exporter's negative sampling; same options, same rows.",
    )
    p.set_defaults(func=_export)
    add_arguments_later(p, _add_arguments)


def _add_arguments(p: argparse.ArgumentParser) -> None:
    from ..blaster.folder_dataset import AVOID_EDGES, STRATEGIES, ExportParams

    d = ExportParams()
    p.add_argument("log", help="device log (.bin) or converter CSV (.csv)")
    add_output(p, "training folder to write (created if missing; its training-folder files are replaced as a "
                  "set, other files are left alone)", metavar="DIR", old=())
    p.add_argument("--overwrite", nargs=0, action=_NoLongerNeeded, help=argparse.SUPPRESS)
    add_json(p, "the folder and its meta.json")
    p.add_argument("--lead-ms", type=int, default=d.lead_ms, help="gap between window end and shot (default %(default)s)")
    p.add_argument("--window-ms", type=int, default=d.window_ms, help="window length (default %(default)s)")
    p.add_argument("--min-shot-gap-ms", type=int, default=d.min_shot_gap_ms, help="shot acceptance gap (default %(default)s)")
    p.add_argument("--neg-strategy", choices=STRATEGIES, default=d.neg_strategy, help="default %(default)s")
    p.add_argument("--neg-mult", type=int, default=d.neg_mult, help="negatives per positive (default %(default)s)")
    p.add_argument("--neg-mixed-near-frac", type=float, default=d.neg_mixed_near_frac,
                   help="share of near negatives per shot for mixed (default %(default)s)")
    p.add_argument("--neg-min-motion-quantile", type=float, default=d.neg_min_motion_quantile,
                   help="drop candidates below this quantile of their pool's motion (all candidates for far, "
                   "each shot's band for near; default %(default)s)")
    p.add_argument("--neg-match-pos-motion", action="store_true",
                   help="keep candidates within the [q, 1-q] quantiles of positive motion")
    p.add_argument("--neg-pos-motion-q", type=float, default=d.neg_pos_motion_q, help="q for --neg-match-pos-motion, at most 0.5, used as min(q, 0.49) (default %(default)s)")
    p.add_argument("--neg-min-sep-ms", type=int, default=d.neg_min_sep_ms, help="minimum gap between negatives (default %(default)s)")
    p.add_argument("--neg-with-replacement", action="store_true", help="oversample with replacement, then de-duplicate")
    p.add_argument("--neg-near-min-ms", type=int, default=d.neg_near_min_ms, help="near window: closest to a positive (default %(default)s)")
    p.add_argument("--neg-near-max-ms", type=int, default=d.neg_near_max_ms, help="near window: farthest from a positive (default %(default)s)")
    p.add_argument("--neg-avoid-post-ms", type=int, default=d.neg_avoid_post_ms, help="no negative this long after a shot (default %(default)s)")
    p.add_argument("--neg-avoid-edges", choices=AVOID_EDGES, default=d.neg_avoid_edges, help="which trigger edges to avoid (default %(default)s)")
    p.add_argument("--seed", type=int, default=d.seed, help="random.Random seed (default %(default)s)")
