"""``stingerml export-model MODEL --out DIR [--log LOG ...]``: the blaster's models as ONNX and full-int8 TFLite.

Writes ``model.onnx``, ``model.tflite`` (with ``--log``: the int8 ranges are
calibrated on that log's dataset rows) and ``meta.json`` into ``--out`` as a set
(:mod:`stingerml.formats.deploy`). ``--out`` is checked before the work;
everything is computed before anything is written.
"""
from __future__ import annotations

import argparse
from array import array
from pathlib import Path

from ._common import read_bytes, read_logs, warn


def _export(args: argparse.Namespace) -> int:
    from .._atomic import check_output_folder
    from ..formats import mlmd
    from ..formats.blaster import log_rows, to_network
    from ..formats.deploy import export_network
    from ..matrix import Matrix
    from ..quantize import representative_rows

    check_output_folder(args.out)
    net = to_network(mlmd.parse(read_bytes(args.model, "the model"), source=str(args.model)))
    kind = "LR" if len(net.layers) == 1 else "MLP"
    shape = "->".join(str(n) for n in [net.n_features] + [layer.n_out for layer in net.layers])
    info = {"model": {"file": Path(args.model).name, "kind": kind}}
    rep = X = labels = None
    if args.log:
        data, labels = array("f"), array("B")
        for path, log in zip(args.log, read_logs(args.log)):
            X_log, y_log = log_rows(log, net.n_features, source=str(path))
            data.extend(X_log.data)
            labels.extend(y_log)
        X = Matrix(data, net.n_features)
        rep = representative_rows(X, args.rows, args.seed)
        info["representative"] = {"logs": [Path(p).name for p in args.log], "rows_available": X.n_rows,
                                  "rows_used": rep.n_rows, "seed": args.seed}
    result = export_network(net, rep, per_channel=args.per_channel, fold_scaler=not args.no_fold_scaler,
                            check=X, labels=labels, info=info)
    paths = result.save(args.out)
    print(f"{args.model} ({kind} {shape}) -> " + ", ".join(f"{p} ({len(b)} bytes)"
                                                         for p, b in zip(paths.values(), result.files().values())))
    check = result.meta.get("check")
    if check:
        print(f"int8 on {check['rows']} dataset rows: accuracy {100 * check['int8_accuracy']:.1f}% "
              f"(float {100 * check['float_accuracy']:.1f}%), same class on {100 * check['same_class']:.1f}%, "
              f"max |p_int8 - p_float| {check['max_abs_diff']:.4f}")
    if rep is None:
        warn("no --log: model.tflite not written (its int8 ranges are calibrated on a log's dataset rows)")
    return 0


def _rows(text: str) -> int:
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"{text}: give at least 1 row")
    return n


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``export-model`` sub-command."""
    p = subparsers.add_parser(
        "export-model",
        help="write an MLMD model (ml_model_lr.bin / ml_model_mlp.bin) as ONNX and full-int8 TFLite",
        description="Convert a blaster model file to model.onnx (float32, scaler folded in), model.tflite "
        "(full int8, scaler applied by the caller, see meta.json) and meta.json, written into --out as a set. "
        "The int8 ranges are calibrated on dataset rows of --log (100 rows drawn with --seed); without --log "
        "only model.onnx and meta.json are written. See docs/model-export.md.",
    )
    p.add_argument("model", help="MLMD model file (LR or MLP)")
    p.add_argument("--out", "-o", metavar="DIR", required=True,
                   help="output folder for model.onnx, model.tflite, meta.json (created if missing)")
    p.add_argument("--log", action="append", metavar="LOG", help="session log whose dataset rows calibrate "
                   "the int8 model and check it against the float model (repeat for several)")
    p.add_argument("--rows", type=_rows, default=100,
                   help="representative rows drawn from the logs (default %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="seed of the representative draw (default %(default)s)")
    p.add_argument("--per-channel", action="store_true", help="one weight scale per output unit (default: per "
                   "tensor, which TFLite Micro supports everywhere)")
    p.add_argument("--no-fold-scaler", action="store_true", help="leave the scaler out of the ONNX graph "
                   "(the caller scales; mean/scale stay in its metadata)")
    p.set_defaults(func=_export)
