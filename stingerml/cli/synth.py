"""``stingerml synth -o FILE --seconds S --seed N``: write a synthetic session (see :mod:`stingerml.synth`)."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import StingerError

MIN_SECONDS, MAX_SECONDS = 0.01, 86400
from ._stdio import STDIO, messages, write_output
from ._common import add_output, say
from .convert import save_log


def _synth(args: argparse.Namespace) -> int:
    from ..shots import detect_shots
    from ..synth import generate_with_truth

    out = Path(args.out)
    if not MIN_SECONDS <= args.seconds <= MAX_SECONDS:  # also refuses nan
        raise StingerError(f"--seconds {args.seconds}: give a recording time in seconds from {MIN_SECONDS} "
                           f"(one sample) to {MAX_SECONDS} (a day)")
    log, truth = generate_with_truth(args.seconds, args.seed)
    if args.out == STDIO:
        write_output(STDIO, log.to_bytes())
    else:
        save_log(log, out)
    kind = "CSV" if out.suffix.lower() == ".csv" else "binary"
    edges, accepted = detect_shots(log.timestamp_ms, log.trigger)
    say(
        args, f"{out} ({kind}): {len(log)} samples, {log.duration_ms / 1000:.1f} s, "
        f"{truth.pulls} trigger pulls ({len(truth.shots)} aimed, {len(truth.follow_ups)} quick follow-ups), "
        f"{len(edges)} rising edges (bounces included), {len(accepted)} accepted shots, "
        f"{len(truth.pauses)} pauses, seed {args.seed}",
        stream=messages(args.out),
    )
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
    p.set_defaults(func=_synth)
