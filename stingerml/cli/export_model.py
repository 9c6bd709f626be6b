"""``stingerml export-model MODEL (--onnx FILE | --tflite FILE | --tflite-float FILE | --meta FILE ... | -o DIR)
[--log LOG ... | --data CSV]``: any model the library writes as ONNX and TFLite.

MODEL is an MLMD file (the blaster's), a ``stingerml-network`` file
(``model.json``, ``checkpoints/best_model.json``) or a tabular training
checkpoint (``RUN/checkpoints/epoch_NNNN.json``, read with its run folder). The
int8 model is calibrated on ``--log`` dataset rows (MLMD), ``--data`` CSV rows
(a network file), or, for a file inside a tabular run folder, the run's own
representative rows (what ``tabular train`` used).

``--onnx``, ``--tflite`` and ``--meta`` name the files to write (in one folder);
``-o DIR`` is the short form for all three as ``DIR/model.onnx``,
``DIR/model.tflite`` (with ``--log``: the int8 ranges are calibrated on that
log's dataset rows) and ``DIR/meta.json``, and for a network file or checkpoint
``DIR/model.json``: the network exported, with its steps and encoding, which
:meth:`Predictor.load(DIR) <stingerml.tabular.predictor.Predictor.load>` and
``export-model DIR/model.json`` read back. Either way the files are written as
a set (:mod:`stingerml.deploy.export`). The targets are checked before the
work; everything is computed before anything is written. ``--json`` prints the
files written (with their sizes) and the int8 check as one JSON object.
"""
from __future__ import annotations

import argparse
from array import array
from pathlib import Path

from ._common import (
    add_arguments_later, add_json, add_old_spelling, add_output, positive_int, print_json, read_bytes, read_logs, say,
    warn,
)


def _export(args: argparse.Namespace) -> int:
    from ..blaster.network import log_rows, to_network
    from ..core.atomic import check_output_folder
    from ..core.matrix import Matrix
    from ..deploy.export import export_network, target_folder
    from ..deploy.quantize import representative_rows
    from ..formats import mlmd

    targets = _targets(args)  # {file of the set: path}, or None for --out
    check_output_folder(args.out if targets is None else target_folder(targets), _option(args, targets))
    blob = read_bytes(args.model, "the model")
    rep = X = labels = None
    if blob[:4] == mlmd.MAGIC:
        if args.data:
            args.parser.error("--data is for a stingerml-network model; an MLMD model is calibrated with --log")
        net = to_network(mlmd.parse(blob, source=str(args.model)))
        kind = "LR" if len(net.layers) == 1 else "MLP"
    else:
        if args.log:
            args.parser.error("--log is for the blaster's MLMD models; calibrate this model with --data CSV")
        net, kind, rep = _network_file(args, blob)
    shape = "->".join(str(n) for n in [net.n_features] + [layer.n_out for layer in net.layers])
    info = {"model": {"file": Path(args.model).name, "kind": kind}}
    if rep is not None:
        info["representative"] = {"source": "--data" if args.data else "the run folder", "rows_used": rep.n_rows}
    if args.log:
        data, labels = array("f"), array("B")
        for path, log in zip(args.log, read_logs(args.log)):
            X_log, y_log = log_rows(log, net.n_features, source=str(path))
            data.extend(X_log.data)
            labels.extend(y_log)
        X = Matrix(data, net.n_features)
        rep = representative_rows(X, args.calibration_rows, args.seed)
        info["representative"] = {"logs": [Path(p).name for p in args.log], "rows_available": X.n_rows,
                                  "rows_used": rep.n_rows, "seed": args.seed}
    floats = targets is not None and "model_float32.tflite" in targets
    # -o DIR of a network file or checkpoint: its model.json too (what Predictor.load(DIR) reads)
    result = export_network(net, rep, per_channel=args.per_channel, fold_scaler=not args.no_fold_scaler,
                            check=X, labels=labels, info=info, tflite="both" if floats else "int8",
                            network_file=targets is None and blob[:4] != mlmd.MAGIC)
    paths = result.save(args.out) if targets is None else result.save_as(targets)
    files = result.files()
    say(args, f"{args.model} ({kind} {shape}) -> " + ", ".join(f"{p} ({len(files[name])} bytes)"
                                                              for name, p in paths.items()))
    check = result.meta.get("check")
    if args.json:
        print_json({"model": str(args.model), "kind": kind, "shape": shape,
                    "files": {name: {"path": str(p), "bytes": len(files[name])} for name, p in paths.items()},
                    "check": check})
    if check:
        say(args, f"int8 on {check['rows']} dataset rows: accuracy {100 * check['int8_accuracy']:.1f}% "
              f"(float {100 * check['float_accuracy']:.1f}%), same class on {100 * check['same_class']:.1f}%, "
              f"max |p_int8 - p_float| {check['max_abs_diff']:.4f}")
    if rep is None and targets is None:
        warn("no --log/--data: model.tflite not written (its int8 ranges are calibrated on dataset rows)")
    if targets is not None and "model.tflite" in targets and "meta.json" not in targets:
        warn("no --meta: the scaler and the int8 input/output parameters a device needs (meta.json) "
             "were not written")
    return 0


def _network_file(args: argparse.Namespace, blob: bytes):
    """A ``stingerml-network`` file or a tabular checkpoint → (network, kind, representative rows or None)."""
    from ..core import jsonfile
    from ..core.errors import ModelFormatError
    from ..formats import network
    from ..deploy.quantize import representative_rows
    from ..tabular.categorical import read_for_network
    from ..learn.runfolder import CHECKPOINT_FORMAT
    from ..tabular.runs import checkpoint_network, run_folder_of, run_representative

    try:  # the guarded reader: depth and size limits
        fmt = jsonfile.loads(blob, str(args.model), ModelFormatError, fix="").get("format")
    except ModelFormatError:
        fmt = None
    if fmt == CHECKPOINT_FORMAT:
        net, kind = checkpoint_network(args.model), "tabular checkpoint"
    elif fmt == network.FORMAT:
        net, kind = network.loads(blob, str(args.model)), "network"
    else:
        raise ModelFormatError(f"{args.model}: not a model stingerml writes (an MLMD file, a stingerml-network "
                               "model.json, or a tabular checkpoint); give one of those")
    if args.data:
        table, notes = read_for_network(args.data, net)
        for message in notes:
            warn(message)
        return net, kind, representative_rows(table.X, args.calibration_rows, args.seed)
    run_dir = run_folder_of(args.model)
    return net, kind, None if run_dir is None else run_representative(run_dir)


def _targets(args: argparse.Namespace):
    """``{file of the set: path}`` from ``--onnx/--tflite/--tflite-float/--meta``; None with ``--out``."""
    given = {name: path for name, path in (("model.onnx", args.onnx), ("model.tflite", args.tflite),
                                           ("model_float32.tflite", args.tflite_float),
                                           ("meta.json", args.meta)) if path is not None}
    if args.out is not None and given:
        args.parser.error("give either --out DIR (all three files) or --onnx/--tflite/--meta FILE, not both")
    if args.out is None and not given:
        args.parser.error("name the output: --onnx FILE, --tflite FILE, --meta FILE, or --out DIR for all three")
    if "model.tflite" in given and not (args.log or args.data) and _run_of(args.model) is None:
        args.parser.error("--tflite needs --log LOG (MLMD) or --data CSV: the int8 ranges are calibrated on "
                          "dataset rows")
    return given or None


def _run_of(path: str):
    from ..tabular.runs import run_folder_of

    return run_folder_of(path)


def _option(args: argparse.Namespace, targets) -> str:
    from ..deploy.export import FILE_OPTIONS

    return "--out" if targets is None else "/".join(FILE_OPTIONS[name] for name in targets)


def _calibration_arguments(p: argparse.ArgumentParser) -> None:
    """``--calibration-rows`` (``tabular train``'s word; ``--rows`` its old spelling here) and ``--seed`` with
    :func:`~stingerml.deploy.quantize.representative_rows`' defaults."""
    from ..deploy.quantize import representative_rows
    from ..learn.estimator import default_of

    p.add_argument("--calibration-rows", type=positive_int, default=default_of(representative_rows, "n"),
                   metavar="N", help="rows that calibrate the int8 model, drawn from the logs' or --data's rows "
                                     "(default %(default)s; all when fewer)")
    add_old_spelling(p, "--rows", "--calibration-rows", type=positive_int)
    p.add_argument("--seed", type=int, default=default_of(representative_rows, "seed"),
                   help="seed of the representative draw (default %(default)s)")


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``export-model`` sub-command."""
    p = subparsers.add_parser(
        "export-model",
        help="write a model (MLMD, model.json, a tabular checkpoint) as ONNX and TFLite",
        description="Convert a model (a blaster MLMD file, a stingerml-network model.json, a tabular checkpoint) "
        "to ONNX (float32, scaler folded in), full-int8 TFLite "
        "(scaler applied by the caller, see meta.json) and meta.json: the files named by --onnx, --tflite, "
        "--meta (in one folder), or all three into --out DIR, written as a set. The int8 ranges are "
        "calibrated on dataset rows of --log (--calibration-rows rows drawn with --seed); without --log there is no TFLite "
        "model. See docs/model-export.md.",
    )
    p.add_argument("model", help="MLMD model file (LR or MLP), a stingerml-network model.json, or a tabular "
                   "checkpoint (RUN/checkpoints/*.json)")
    p.add_argument("--onnx", metavar="FILE", help="write the ONNX model (float32) to FILE")
    p.add_argument("--tflite", metavar="FILE", help="write the full-int8 TFLite model to FILE (needs --log)")
    p.add_argument("--tflite-float", metavar="FILE", help="write the float32 TFLite model (raw input) to FILE")
    p.add_argument("--data", metavar="CSV", help="a CSV whose rows calibrate the int8 model of a model.json "
                   "(default for a file in a run folder: the run's own rows)")
    p.add_argument("--meta", metavar="FILE", help="write meta.json (scaler, int8 parameters, check) to FILE")
    add_output(p, "short form: model.onnx, model.tflite, meta.json (and for a model.json or checkpoint, the "
               "model.json exported) in folder DIR (created if missing)",
               metavar="DIR", required=False)
    p.add_argument("--log", action="append", metavar="LOG", help="session log whose dataset rows calibrate "
                   "the int8 model and check it against the float model (repeat for several)")
    add_arguments_later(p, _calibration_arguments)
    p.add_argument("--per-channel", action="store_true", help="one weight scale per output unit (default: per "
                   "tensor, which TFLite Micro supports everywhere)")
    p.add_argument("--no-fold-scaler", action="store_true", help="leave the scaler out of the ONNX graph "
                   "(the caller scales; mean/scale stay in its metadata)")
    add_json(p, "the files written (path and size) and the int8 check")
    p.set_defaults(func=_export, parser=p)
