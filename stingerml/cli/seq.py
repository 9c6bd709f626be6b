"""``stingerml seq train|evaluate|predict``: TCN and LSTM classifiers over sequences (docs/sequence.md).

``train DATA`` (a ``.npz`` bundle or a long-format ``.csv``) makes a run folder under
``--runs-dir`` (:mod:`stingerml.sequence.runs`) and prints its path; ``--resume RUN_DIR``
continues one. ``evaluate RUN_DIR DATA`` prints the metrics of ``RUN_DIR/output/model.json``;
``predict RUN_DIR DATA -o predictions.csv`` writes one line per sample. The tabular
conventions (docs/cli.md): global options after the action, ``--json``, ``-o/--out``,
progress on stderr, Ctrl-C keeps the checkpoints.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._common import (
    add_arguments_later, add_global_options, add_json, add_old_spelling, add_output, positive_int, print_json,
    progress, say,
)
from ._progress import EpochProgress
from ._training import (
    add_keep_checkpoints, add_status_options, keep_checkpoints, report_stopped, say_checkpoints,
    sigterm_stops, status_endpoint,
)
from .tabular import _cell, _fractions, _summary


def register(sub: "argparse._SubParsersAction") -> None:
    p = sub.add_parser("seq", help="train, apply and evaluate TCN / LSTM sequence classifiers (docs/sequence.md)",
                       description="TCN and LSTM classifiers over padded sequences with masks.")
    ssub = p.add_subparsers(dest="seq_command", metavar="ACTION")
    p.set_defaults(func=lambda args: (p.print_help(sys.stderr), 2)[1])

    t = ssub.add_parser("train", help="train a model in a new run folder (or --resume one)",
                        description="Train a TCN or an LSTM on DATA (.npz: X [N,T,...], mask [N,T], y [N], "
                                    "label_names; or a long CSV: sample_id,step,<features>,label); writes "
                                    "runs/run_<time>_<id>/ and prints its path.")
    add_arguments_later(p, lambda _: _train_arguments(t))  # defaults from the library's SeqSettings
    t.set_defaults(func=run_train, parser=t)

    pr = ssub.add_parser("predict", help="predict every sample of a data file with a run's model",
                         description="Apply RUN_DIR's model (output/model.json) to every sequence of DATA and write "
                                     "the predictions as CSV.")
    pr.add_argument("run_dir", metavar="RUN_DIR", help="a run folder of seq train (runs/run_...)")
    pr.add_argument("data", metavar="DATA", help="a .npz bundle or a long-format .csv (labels not needed); "
                    "one output line per sample: its id (sample_id, or the index in the .npz), the "
                    "predicted class and each class's probability")
    add_output(pr, "write the predictions CSV here (replaced atomically; - for standard output)",
               metavar="predictions.csv", old=())
    add_global_options(pr)
    pr.set_defaults(func=run_predict)

    ev = ssub.add_parser("evaluate", help="metrics of a run's model (float and int8) on a labelled data file",
                         description="Metrics of RUN_DIR's model (output/model.json) on the labelled sequences "
                                     "of DATA and, beside them, of its int8 model (output/model.tflite, run by "
                                     "the library's integer emulator: no runtime needed).")
    ev.add_argument("run_dir", metavar="RUN_DIR", help="a run folder of seq train (runs/run_...)")
    ev.add_argument("data", metavar="DATA", help="a .npz bundle or a long-format .csv")
    add_json(ev, "the metrics (the int8 model's under \"int8\")")
    add_global_options(ev)
    ev.set_defaults(func=run_evaluate)


def _train_arguments(t: argparse.ArgumentParser) -> None:
    """``seq train``'s options; every default is :class:`SeqSettings`' (the one definition)."""
    from ..learn.epochs import MONITORS
    from ..learn.runfolder import RUNS_DIR
    from ..deploy.export import TFLITE_KINDS
    from ..sequence.export import default_tflite
    from ..sequence.runs import ARCHITECTURES, MAX_PARAMETERS, SeqSettings, default_depth

    d = SeqSettings()
    t.add_argument("data", nargs="?", metavar="DATA", help="a .npz bundle or a long-format .csv")
    t.add_argument("--architecture", choices=tuple(ARCHITECTURES), default=d.architecture,
                   help="the model (default %(default)s)")
    t.add_argument("--hidden", type=positive_int, default=d.hidden,
                   help="channels of each TCN block / units of each LSTM layer (default %(default)s)")
    t.add_argument("--depth", type=positive_int, default=None,
                   help=f"TCN residual blocks (dilations 1, 2, 4, ...; default {default_depth('tcn')}) or LSTM "
                        f"layers (1 or 2; default {default_depth('lstm')})")
    t.add_argument("--kernel-size", type=positive_int, default=d.kernel_size,
                   help="TCN convolution taps (default %(default)s)")
    t.add_argument("--pooling", choices=("avg", "last"), default=d.pooling,
                   help="TCN pooling over the valid steps: their mean or the last one (default %(default)s; "
                        "the LSTM always reads its last valid step)")
    t.add_argument("--dropout", type=float, default=d.dropout, help="dropout rate (default %(default)s)")
    t.add_argument("--alpha", type=float, default=d.alpha, help="L2 penalty on the weights (default %(default)s)")
    t.add_argument("--learning-rate", type=float, default=d.learning_rate,
                   help="Adam learning rate (default %(default)s)")
    t.add_argument("--batch-size", type=positive_int, default=d.batch_size,
                   help="mini-batch size in samples (default %(default)s)")
    t.add_argument("--epochs", type=positive_int, default=d.epochs, help="maximum epochs (default %(default)s)")
    t.add_argument("--patience", type=positive_int, default=d.patience,
                   help="stop after this many epochs without a better --monitor value (default %(default)s)")
    t.add_argument("--monitor", choices=MONITORS, default=d.monitor,
                   help="the validation value early stopping and the best epoch follow (default %(default)s)")
    t.add_argument("--split", type=_fractions, default=list(d.split), metavar="TR,VAL,TE",
                   help=f"train,val,test fractions, stratified by class (default {','.join(f'{v:g}' for v in d.split)})")
    t.add_argument("--seed", type=int, default=d.seed,
                   help="seed of the split, init, shuffles and dropout (default %(default)s)")
    t.add_argument("--checkpoint-every", type=positive_int, default=d.checkpoint_every, metavar="N",
                   help="checkpoint every N epochs (default %(default)s)")
    t.add_argument("--tflite-kind", choices=TFLITE_KINDS, default=d.tflite,
                   help=f"TFLite files: int8 (model.tflite, full int8; the TCN only), float (model_float32.tflite: "
                        f"float32, raw input) or both (default {default_tflite('tcn')} for the TCN, "
                        f"{default_tflite('lstm')} for the LSTM)")
    add_old_spelling(t, "--tflite", "--tflite-kind", choices=TFLITE_KINDS)  # --tflite FILE in export-model
    t.add_argument("--preprocess", default=d.preprocess, metavar="STEP",
                   help="a preprocessing step applied to every time step and kept in the model (hands21: a "
                        "step's 63 hand-landmark values wrist-centred and scale-normalised; docs/sequence.md; "
                        "none: no step, the default)")
    t.add_argument("--dataset-id", default=d.dataset_id, help="dataset id recorded in meta.json (default: the file name)")
    t.add_argument("--runs-dir", default=RUNS_DIR, metavar="DIR",
                   help="where runs go: each run is a new folder DIR/run_<time>_<id>/ (default ./%(default)s)")
    t.add_argument("--resume", metavar="RUN_DIR", help="continue this run from its last checkpoint")
    t.add_argument("--max-parameters", type=positive_int, default=MAX_PARAMETERS, metavar="N",
                   help="refuse a network of more than N weights and biases before training (default %(default)s)")
    add_keep_checkpoints(t)
    add_status_options(t)
    add_json(t, "the run folder and its test metrics")
    add_global_options(t)


def run_train(args: argparse.Namespace) -> int:
    from ..sequence.runs import SeqSettings, default_depth, train_run
    from ..learn.runfolder import RunInterrupted

    report = progress(args) if args.quiet else EpochProgress(since=getattr(args, "started", None))
    if args.resume:
        if args.data:
            args.parser.error("--resume RUN_DIR takes no DATA: the run has its own copy")
        kwargs = {"resume": args.resume}
    else:
        if not args.data:
            args.parser.error("give DATA (or --resume RUN_DIR)")
        depth = args.depth if args.depth is not None else default_depth(args.architecture)
        if args.architecture == "lstm" and depth > 2:
            args.parser.error("--depth for the LSTM is 1 or 2 layers")
        if args.architecture == "lstm" and args.tflite_kind not in ("", "float"):
            args.parser.error(f"--tflite-kind {args.tflite_kind}: only the TCN has an int8 TFLite; "
                              "give --tflite-kind float (the LSTM's default)")
        settings = SeqSettings(
            architecture=args.architecture, hidden=args.hidden, depth=depth, kernel_size=args.kernel_size,
            pooling=args.pooling, dropout=args.dropout, alpha=args.alpha, learning_rate=args.learning_rate,
            batch_size=args.batch_size, epochs=args.epochs, patience=args.patience, monitor=args.monitor,
            split=tuple(args.split), seed=args.seed, checkpoint_every=args.checkpoint_every,
            dataset_id=args.dataset_id, tflite=args.tflite_kind, preprocess=args.preprocess)
        kwargs = {"data_path": args.data, "settings": settings, "runs_dir": args.runs_dir,
                  "max_parameters": args.max_parameters}
    try:
        with sigterm_stops(), status_endpoint(args, report) as report:
            result = train_run(progress=report, **kwargs, **keep_checkpoints(args))
    except RunInterrupted as stop:
        return report_stopped(stop, "seq train")
    if result.metrics:
        test = len(result.split.test)
        total = len(result.split.train) + len(result.split.val) + test
        say(args, _summary(result.metrics, f"test split: {test} of {total} sequences (not trained on)"),
            stream=sys.stderr)
    say_checkpoints(args, result.run_dir)
    if args.json:
        print_json({"run_dir": str(result.run_dir), "metrics": result.metrics})
    else:
        print(result.run_dir)
    return 0


def _model(run_dir: str):
    from ..sequence import model

    return model.load(Path(run_dir) / "output" / "model.json")


def run_predict(args: argparse.Namespace) -> int:
    from ..core.dense import predicted_classes
    from ..core.errors import OutputError
    from ..sequence.data import read_data
    from ._stdio import messages, write_output

    net = _model(args.run_dir)
    data = read_data(args.data, need_labels=False)
    probs = net.predict_proba(data.X)
    C = net.n_classes
    lines = [",".join(["sample", "prediction", *(f"p_{_cell(c)}" for c in net.classes)])]
    for n, code in enumerate(predicted_classes(probs.data, C)):
        lines.append(",".join([_cell(data.sample_ids[n]), _cell(net.classes[code]), *(repr(v) for v in probs.data[n * C:(n + 1) * C])]))
    try:
        write_output(args.out, ("\n".join(lines) + "\n").encode("utf-8"))
    except OSError as exc:
        raise OutputError(f"{args.out}: cannot write the predictions ({exc.strerror or exc})") from exc
    say(args, args.out, stream=messages(args.out))
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from ..sequence.data import read_data
    from ..sequence.runs import evaluate, load_quantized

    net = _model(args.run_dir)
    data = read_data(args.data)
    metrics = evaluate(net, data.X, data.labels, load_quantized(args.run_dir, net))
    if args.json:
        print_json(metrics)
    else:
        print(_summary(metrics, f"{args.data}: {len(data.labels)} sequences"))
    return 0
