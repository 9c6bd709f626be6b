"""``stingerml tabular train|predict|evaluate``: MLP classifiers and regressors from CSV files.

``train DATA.csv --label COL`` (or ``--task regression --targets a,b``) makes a
run folder under ``--runs-dir`` (see :mod:`stingerml.trainers.tabular.runs`) and
prints its path; ``--resume RUN_DIR`` continues one. ``predict RUN_DIR DATA.csv
-o predictions.csv`` and ``evaluate RUN_DIR DATA.csv`` use ``RUN_DIR/output/model.json``.
Progress goes to stderr: a bar on a terminal, one line per epoch otherwise,
nothing with ``--quiet``. Ctrl-C stops training; the checkpoints stay.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import List, Optional

from ..errors import TabularDataError
from ..progress import Progress
from ._progress import StderrProgress


def _ints(text: str) -> List[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers like 64,32, not {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"layer sizes must be positive integers, not {text!r}")
    return values


def _names(text: str) -> List[str]:
    return [v.strip() for v in text.split(",") if v.strip()]


def _fractions(text: str) -> List[float]:
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected train,val,test fractions like 0.7,0.15,0.15, not {text!r}") from None


def register(sub: "argparse._SubParsersAction") -> None:
    p = sub.add_parser("tabular", help="train, apply and evaluate small MLPs on CSV data (docs/tabular.md)",
                       description="Small MLP classifiers and regressors on tabular (CSV) data.")
    tsub = p.add_subparsers(dest="tabular_command", metavar="ACTION")
    p.set_defaults(func=lambda args: (p.print_help(sys.stderr), 2)[1])

    t = tsub.add_parser("train", help="train a model in a new run folder (or --resume one)",
                        description="Train an MLP on a CSV file; writes runs/run_<time>_<id>/ and prints its path.")
    t.add_argument("data", nargs="?", metavar="DATA.csv", help="the CSV file (header line, comma or semicolon)")
    t.add_argument("--label", help="the class column (classification)")
    t.add_argument("--task", choices=("classification", "regression"), default=None,
                   help="default: regression when --targets is given, else classification")
    t.add_argument("--targets", type=_names, default=[], metavar="A,B", help="regression target columns")
    t.add_argument("--features", type=_names, default=[], metavar="A,B,...",
                   help="feature columns (default: the schema's, else every other numeric column)")
    t.add_argument("--schema", metavar="schema.json", help="feature names, label and class list")
    t.add_argument("--group", metavar="COL", help="keep rows with the same value of COL in one split")
    t.add_argument("--drop-missing", action="store_true", help="leave out rows with empty/NA cells (reports how many)")
    t.add_argument("--split", type=_fractions, default=[0.7, 0.15, 0.15], metavar="TR,VAL,TE",
                   help="train,val,test fractions (default 0.7,0.15,0.15)")
    t.add_argument("--seed", type=int, default=42, help="seed of the split, init, shuffles and dropout (default 42)")
    t.add_argument("--hidden", type=_ints, default=[64, 32], metavar="H1,H2", help="hidden layer sizes (default 64,32)")
    t.add_argument("--dropout", type=float, default=0.2, help="dropout after each hidden layer (default 0.2)")
    t.add_argument("--alpha", type=float, default=1e-4, help="L2 penalty, as scikit-learn's alpha (default 1e-4)")
    t.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 1e-3)")
    t.add_argument("--batch-size", type=int, default=32, help="mini-batch size (default 32)")
    t.add_argument("--epochs", type=int, default=200, help="maximum epochs (default 200)")
    t.add_argument("--patience", type=int, default=10,
                   help="stop after this many epochs without a lower validation loss (default 10)")
    t.add_argument("--checkpoint-every", type=int, default=10, metavar="N", help="checkpoint every N epochs (default 10)")
    t.add_argument("--dataset-id", default="", help="dataset id recorded in meta.json (default: the file name)")
    t.add_argument("--runs-dir", default="runs", help="where run folders go (default ./runs)")
    t.add_argument("--resume", metavar="RUN_DIR", help="continue this run from its last checkpoint")
    t.add_argument("--quiet", action="store_true", help="no progress on stderr")
    t.set_defaults(func=run_train, parser=t)

    pr = tsub.add_parser("predict", help="predict every row of a CSV with a run's model")
    pr.add_argument("run_dir", metavar="RUN_DIR")
    pr.add_argument("data", metavar="DATA.csv")
    pr.add_argument("-o", "--output", required=True, metavar="predictions.csv")
    pr.add_argument("--drop-missing", action="store_true", help="skip rows with missing features")
    pr.set_defaults(func=run_predict)

    ev = tsub.add_parser("evaluate", help="metrics of a run's model on a labelled CSV")
    ev.add_argument("run_dir", metavar="RUN_DIR")
    ev.add_argument("data", metavar="DATA.csv")
    ev.add_argument("--drop-missing", action="store_true", help="skip rows with missing cells")
    ev.add_argument("--json", action="store_true", help="print the metrics as JSON")
    ev.set_defaults(func=run_evaluate)


class EpochProgress(StderrProgress):
    """Training progress on stderr: a bar on a terminal (:class:`StderrProgress`), else a line per epoch."""

    def __call__(self, event: Progress) -> None:
        if event.stage == "epoch" and not self.tty:
            self.stream.write(event.message + "\n")
            self.stream.flush()
        else:
            super().__call__(event)


def run_train(args: argparse.Namespace) -> int:
    from ..trainers.tabular.runs import RunInterrupted, RunSettings, train_run

    progress = None if args.quiet else EpochProgress()
    if args.resume:
        if args.data:
            args.parser.error("--resume RUN_DIR takes no DATA.csv: the run has its own copy")
        kwargs = {"resume": args.resume}
    else:
        if not args.data:
            args.parser.error("give DATA.csv (or --resume RUN_DIR)")
        regression = args.task == "regression" or (args.task is None and args.targets)
        if regression and not args.targets:
            args.parser.error("--task regression needs --targets A,B")
        if not regression and args.targets:
            args.parser.error("--targets is for --task regression; use --label for classification")
        settings = RunSettings(
            label=args.label, targets=args.targets if regression else [], features=args.features, group=args.group,
            drop_missing=args.drop_missing, split=tuple(args.split), seed=args.seed, hidden=args.hidden,
            dropout=args.dropout, alpha=args.alpha, learning_rate=args.lr, batch_size=args.batch_size,
            epochs=args.epochs, patience=args.patience, checkpoint_every=max(1, args.checkpoint_every),
            dataset_id=args.dataset_id)
        kwargs = {"csv_path": args.data, "settings": settings, "schema": args.schema, "runs_dir": args.runs_dir}
    try:
        result = train_run(progress=progress, **kwargs)
    except RunInterrupted as stop:
        kept = f"last checkpoint {stop.checkpoint.name}" if stop.checkpoint else "no checkpoint yet"
        print(f"\ninterrupted; {kept} in {stop.run_dir}; continue with: "
              f"stingerml tabular train --resume {stop.run_dir}", file=sys.stderr)
        return 130
    if result.table.dropped and not args.quiet:
        print(f"dropped {result.table.dropped} row(s) with missing values", file=sys.stderr)
    if not args.quiet and result.metrics:
        print(_summary(result.metrics), file=sys.stderr)
    print(result.run_dir)
    return 0


def _load(run_dir: str):
    from ..formats import network

    return network.load(Path(run_dir) / "output" / "model.json")


def _label_of(run_dir: str) -> Optional[str]:
    try:
        meta = json.loads((Path(run_dir) / "output" / "meta.json").read_text(encoding="utf-8"))
        return meta["labels"]["column"] or None
    except (OSError, ValueError, KeyError):
        return None


def run_predict(args: argparse.Namespace) -> int:
    from .._atomic import write_text_atomic
    from ..errors import OutputError
    from ..trainers.tabular.csvdata import read_table
    from ..dense import predicted_classes
    from ..trainers.tabular.estimator import network_outputs

    net = _load(args.run_dir)
    table = read_table(args.data, features=net.feature_names, drop_missing=args.drop_missing, need_labels=False)
    out = network_outputs(net, table.X)
    k = net.n_outputs
    lines = []
    if net.output == "linear":
        lines.append(",".join(["line", *net.target_names]))
        for r, line in enumerate(table.lines):
            lines.append(",".join([str(line), *(repr(v) for v in out[r * k:(r + 1) * k])]))
    else:
        lines.append(",".join(["line", "prediction", *(f"p_{c}" for c in net.classes)]))
        for r, (line, code) in enumerate(zip(table.lines, predicted_classes(out, k))):
            probs = [1.0 - out[r], out[r]] if k == 1 else out[r * k:(r + 1) * k]
            lines.append(",".join([str(line), _cell(net.classes[code]), *(repr(v) for v in probs)]))
    try:
        write_text_atomic(args.output, "\n".join(lines) + "\n")
    except OSError as exc:
        raise OutputError(f"{args.output}: cannot write the predictions ({exc.strerror or exc})") from exc
    if table.dropped:
        print(f"skipped {table.dropped} row(s) with missing values", file=sys.stderr)
    print(args.output)
    return 0


def _cell(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',";\n') else text


def run_evaluate(args: argparse.Namespace) -> int:
    from ..trainers.tabular.csvdata import Schema, read_table
    from ..trainers.tabular.runs import evaluate

    net = _load(args.run_dir)
    if net.output == "linear":
        table = read_table(args.data, features=net.feature_names, targets=net.target_names,
                           drop_missing=args.drop_missing)
        metrics = evaluate(net, table.X, table.Y)
    else:
        label = _label_of(args.run_dir)
        if label is None:
            raise TabularDataError(f"{args.run_dir}: output/meta.json does not name the label column")
        table = read_table(args.data, label, features=net.feature_names, schema=Schema(classes=net.classes),
                           drop_missing=args.drop_missing, min_classes=1)
        metrics = evaluate(net, table.X, [net.classes[k] for k in table.y])
    print(json.dumps(metrics, indent=2) if args.json else _summary(metrics))
    return 0


def _summary(m) -> str:
    if "accuracy" in m:
        lines = [f"accuracy {m['accuracy']:.4f}  macro precision {m['precision']:.4f}  recall {m['recall']:.4f}  "
                 f"F1 {m['f1']:.4f}"]
        width = max(len(c) for c in m["classes"])
        lines.append(f"{'class':>{width}}  precision  recall     F1  support")
        for c in m["classes"]:
            pc = m["per_class"][c]
            lines.append(f"{c:>{width}}  {pc['precision']:9.4f} {pc['recall']:7.4f} {pc['f1']:6.4f} {pc['support']:8d}")
        lines.append("confusion matrix (rows: true, columns: predicted):")
        lines.extend("  " + " ".join(f"{v:5d}" for v in row) for row in m["confusion_matrix"])
        return "\n".join(lines)
    return "\n".join(f"{t}: MSE {a:.6g}  MAE {b:.6g}  R2 {c:.4f}"
                     for t, a, b, c in zip(m["targets"], m["mse"], m["mae"], m["r2"]))
