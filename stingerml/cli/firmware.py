"""Firmware sub-commands: ``validate``, ``replay``, ``online``, ``export-header``."""
from __future__ import annotations

import argparse
import sys
from typing import Tuple

from ..core.constants import SLOT_LR, SLOT_MLP, SLOTS
from ._announce import announce_backend
from ._common import (
    add_arguments_later, add_json, add_output, load_model, print_json, read_bytes, read_one_log, say,
)
from ._stdio import check_output, messages, write_output


def _progress(label: str, quiet: bool):
    if quiet or not sys.stderr.isatty():
        return None

    def report(done: int, total: int) -> None:
        end = "\n" if done >= total else ""
        print(f"\r{label}: {done}/{total} windows", end=end, file=sys.stderr, flush=True)

    return report


def _replay(args) -> Tuple[object, object, object]:
    from ..blaster import firmware

    log = read_one_log(args.log)
    lr, mlp = load_model(args.lr, SLOT_LR), load_model(args.mlp, SLOT_MLP)
    announce_backend(args, "firmware", "firmware", pure=False)
    p_lr, p_mlp = firmware.replay(log, lr, mlp, progress=_progress("replay", args.quiet))
    return log, p_lr, p_mlp


def cmd_validate(args) -> int:
    from ..blaster.loader import slot_of, validate

    blob = read_bytes(args.file, "the model")
    slot = args.slot or slot_of(blob) or SLOT_LR  # not an MLMD header: the verdict says why, for either slot
    verdict = validate(blob, slot, source=args.file)
    if args.json:
        print_json({"file": args.file, "slot": slot, "accepted": verdict.accepted,
                    "reason": verdict.reason if not verdict.accepted else None, "warnings": list(verdict.warnings)})
        return 0 if verdict.accepted else 1
    if not verdict.accepted:
        print(f"rejected: {verdict.reason}")
        return 1
    print("accepted")
    for warning in verdict.warnings:
        print(f"warning: {warning}")
    return 0


def cmd_replay(args) -> int:
    check_output(args.out)
    log, p_lr, p_mlp = _replay(args)
    lines = ["timestamp_ms,p_lr,p_mlp"]
    lines += [f"{t},{a:.9g},{b:.9g}" for t, a, b in zip(log.timestamp_ms, p_lr, p_mlp)]
    write_output(args.out, ("\n".join(lines) + "\n").encode("utf-8"))
    say(args, f"{args.log}: {len(log)} samples -> {args.out}", stream=messages(args.out))
    return 0


def _row_dict(row) -> dict:
    s = row.settings
    return {"settings": {"ema_ms": s.ema_ms, "on": s.on, "off": s.off, "min_on_ms": s.min_on_ms},
            "metrics": row.metrics.to_dict(), "pareto": row.pareto}


def cmd_online(args) -> int:
    from ..blaster import online

    settings = online.PostProcess(args.ema_ms, args.on, args.off, args.min_on_ms)
    log, p_lr, p_mlp = _replay(args)
    shots, edges = online.log_shots(log)
    ts = log.timestamp_ms
    metrics, sweeps = {}, {}
    for name, p in (("lr", p_lr), ("mlp", p_mlp)):
        metrics[name] = online.evaluate(ts, p, settings, shots, edges)
        if args.sweep:
            rows = online.sweep(ts, p, shots, edges)
            sweeps[name] = (rows, online.propose(rows, args.max_false_per_min, args.max_on_away))
    if args.json:
        report = {"log": str(args.log), "samples": len(log), "rising_edges": len(edges), "accepted_shots": len(shots),
                  "shots": len(shots), "trigger_pulls": len(edges),  # old names, deprecated (docs/cli.md)
                  "settings": _row_dict(online.SweepRow(settings, metrics["lr"]))["settings"], "models": {}}
        for name, m in metrics.items():
            entry = report["models"][name] = {"metrics": m.to_dict()}
            if name in sweeps:
                rows, best = sweeps[name]
                entry["sweep"] = [_row_dict(r) for r in rows]
                entry["proposed"] = _row_dict(best) if best is not None else None
        print_json(report)
        return 0
    print(f"{args.log}: {len(log)} samples, {metrics['lr'].minutes:.2f} min, "
          f"{len(edges)} rising edges, {len(shots)} accepted shots; {settings.label()}")
    print(f"{'model':6} {'hit':>6} {'lead50':>7} {'lead10':>7} {'lead90':>7} {'false':>6} {'false/min':>9} {'on_away':>7}")
    for name, m in metrics.items():
        lead = ["-" if v is None else f"{v:.0f}" for v in (m.lead_ms_median, m.lead_ms_p10, m.lead_ms_p90)]
        print(f"{name:6} {m.hit_rate:>6.1%} {lead[0]:>7} {lead[1]:>7} {lead[2]:>7} {m.false_activations:>6} "
              f"{m.false_per_min:>9.2f} {m.on_fraction_away:>7.1%}")
    for name, (rows, best) in sweeps.items():
        print()
        print(online.format_table([r for r in rows if r.pareto], f"{name}: Pareto front (hit rate, false/min, time on away)"))
        budget = f"false/min <= {args.max_false_per_min:g}, on away <= {args.max_on_away:.0%}"
        if best is None:
            print(f"no setting for {name} meets the budget ({budget}); see the table")
        else:
            print(f"proposed for {name} ({budget}): {best.settings.label()} -> hit {best.metrics.hit_rate:.1%}, "
                  f"false/min {best.metrics.false_per_min:.2f}, on away {best.metrics.on_fraction_away:.1%}")
    return 0


def cmd_export_header(args) -> int:
    from ..formats.header import export_header

    text = export_header(load_model(args.lr, SLOT_LR), load_model(args.mlp, SLOT_MLP))
    write_output(args.out, text.encode("utf-8"))
    say(args, f"wrote {args.out}", stream=messages(args.out))
    return 0


def _model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lr", metavar="FILE", help="LR model (.mlmd); factory weights when omitted")
    p.add_argument("--mlp", metavar="FILE", help="MLP model (.mlmd); factory weights when omitted")


def _online_arguments(p: argparse.ArgumentParser) -> None:
    """``online``'s settings with :class:`~stingerml.blaster.online.PostProcess`' and ``propose``'s defaults."""
    from ..blaster.online import PostProcess, propose
    from ..learn.estimator import default_of

    p.add_argument("--ema-ms", type=float, default=default_of(PostProcess, "ema_ms"),
                   help="EMA time constant in ms (0: none)")
    p.add_argument("--on", type=float, default=default_of(PostProcess, "on"),
                   help="turn-on threshold (default %(default)s)")
    p.add_argument("--off", type=float, default=None, help="turn-off threshold (default: --on)")
    p.add_argument("--min-on-ms", type=float, default=default_of(PostProcess, "min_on_ms"),
                   help="minimum on-time in ms")
    p.add_argument("--sweep", action="store_true", help="sweep thresholds/hysteresis/EMA and propose settings")
    p.add_argument("--max-false-per-min", type=float, default=default_of(propose, "max_false_per_min"),
                   help="false-activation budget for the proposed setting (default %(default)g/min)")
    p.add_argument("--max-on-away", type=float, default=default_of(propose, "max_on_away"),
                   help="budget of the fraction of time on away from shots (default %(default)s)")
    add_json(p, "the metrics (and the sweep) instead of tables")


def register(subparsers) -> None:
    p = subparsers.add_parser("validate", help="the firmware loader's verdict on a model file",
                              description="Exit 0 and print 'accepted' (plus warnings) when the firmware would load "
                                          "FILE into the slot (the one its header names, or --slot); exit 1 and "
                                          "print the reason otherwise.")
    p.add_argument("file", metavar="FILE", help="the model file (.mlmd / ml_model_*.bin)")
    p.add_argument("--slot", choices=SLOTS,
                   help="the slot to load it into (default: the one its header names; given, it is checked)")
    add_json(p, "the verdict (accepted, reason, warnings)")
    p.set_defaults(func=cmd_validate)

    p = subparsers.add_parser("replay", help="per-sample probabilities of a log through the emulated firmware",
                              description="Push every sample of LOG through the float32 firmware emulation and write "
                                          "timestamp_ms,p_lr,p_mlp (gated, 0 until 50 samples) per sample.")
    p.add_argument("log", metavar="LOG", help="device log (.bin or .csv)")
    _model_args(p)
    add_output(p, "the CSV to write (replaced atomically; - for standard output)", metavar="OUT.csv")
    p.set_defaults(func=cmd_replay)

    p = subparsers.add_parser("online", help="streaming metrics of the on-device behaviour (hit rate, lead, false/min)",
                              description="Replay LOG, post-process (EMA, hysteresis, minimum on-time) and measure "
                                          "against the log's shots; --sweep proposes settings.")
    p.add_argument("log", metavar="LOG", help="device log (.bin or .csv)")
    _model_args(p)
    add_arguments_later(p, _online_arguments)
    p.set_defaults(func=cmd_online)

    p = subparsers.add_parser("export-header", help="write the firmware's mlWeights.h from model files",
                              description="Write the C header mlWeights.h the firmware compiles in as its factory "
                                          "weights, from the LR and MLP model files (factory weights for one omitted).")
    _model_args(p)
    add_output(p, "the header to write (replaced atomically; - for standard output)", metavar="mlWeights.h")
    p.set_defaults(func=cmd_export_header)
