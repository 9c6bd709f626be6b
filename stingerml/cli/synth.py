"""``stingerml synth -o FILE --seconds S --seed N``: write a synthetic session (see :mod:`stingerml.blaster.synth`)."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..core.errors import StingerError

MIN_SECONDS, MAX_SECONDS = 0.01, 86400
NOMINAL_HZ = 100  # recording time = samples / 100 Hz, as train's "Parsed N samples (T s at 100Hz)"
from ._common import add_json, add_output, print_json, say
from ._stdio import STDIO, messages, write_output
from .convert import save_log


def _synth(args: argparse.Namespace) -> int:
    from ..blaster.shots import detect_shots
    from ..blaster.synth import generate_with_truth

    out = Path(args.out)
    if not MIN_SECONDS <= args.seconds <= MAX_SECONDS:  # also refuses nan
        raise StingerError(f"--seconds {args.seconds}: give a recording time in seconds from {MIN_SECONDS} "
                           f"(one sample) to {MAX_SECONDS} (a day)")
    if args.json and args.out == STDIO:
        raise StingerError("--json and -o - would both write to standard output; give -o FILE with --json")
    log, truth = generate_with_truth(args.seconds, args.seed)
    if args.out == STDIO:
        write_output(STDIO, log.to_bytes())
    else:
        save_log(log, out)
    kind = "CSV" if out.suffix.lower() == ".csv" else "binary"
    edges, accepted = detect_shots(log.timestamp_ms, log.trigger)
    counts = {"samples": len(log), "recording_s": len(log) / NOMINAL_HZ, "span_s": log.duration_ms / 1000,
              "pauses": len(truth.pauses), "trigger_pulls": truth.pulls, "aimed": len(truth.shots),
              "follow_ups": len(truth.follow_ups), "rising_edges": len(edges), "accepted_shots": len(accepted)}
    if args.json:
        print_json({"out": str(out), **counts, "seed": args.seed})
    # the words (and numbers) of train and plot: docs/cli.md "Counts and durations"
    say(args, "{out} ({kind}): {samples} samples = {recording_s:.1f} s at 100 Hz (the timestamps span {span_s:.1f} s: "
              "{pauses} pause(s) stop the logger), {trigger_pulls} trigger pulls ({aimed} aimed, {follow_ups} quick "
              "follow-up(s)) = {rising_edges} rising edges with contact bounce, {accepted_shots} accepted shots, "
              "seed {seed}".format(out=out, kind=kind, seed=args.seed, **counts), stream=messages(args.out))
    return 0


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``synth`` sub-command."""
    p = subparsers.add_parser(
        "synth",
        help="write a synthetic device log (binary, or CSV if FILE ends in .csv)",
        description=(
            "Generate a realistic, deterministic Stinger session: aim swings, trigger pulls with bounce, "
            "recoil that can saturate, quick follow-ups, aim without a shot and stillness pauses."
        ),
    )
    add_output(p, "output log (.csv for CSV, else binary; replaced atomically; - writes the binary log to "
                  "standard output)")
    p.add_argument("--seconds", type=float, default=60.0, help="recording time; 100 samples per second (default 60)")
    p.add_argument("--seed", type=int, default=0, help="random seed; same seed, same bytes (default 0)")
    add_json(p, "the counts (samples, recording time, timestamp span, pulls, rising edges, accepted shots)")
    p.set_defaults(func=_synth)
