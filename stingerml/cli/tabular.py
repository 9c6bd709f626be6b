"""``stingerml tabular train|predict|evaluate``: MLP classifiers and regressors from CSV files.

``train DATA.csv --label COL`` (or ``--task regression --targets a,b``) makes a
run folder under ``--runs-dir`` (see :mod:`stingerml.tabular.runs`) and
prints its path; ``--resume RUN_DIR`` continues one. ``predict RUN_DIR DATA.csv
-o predictions.csv`` and ``evaluate RUN_DIR DATA.csv`` use ``RUN_DIR/output/model.json``;
``evaluate`` also reports the int8 model (``output/model.tflite``, run by the
library's integer emulator) beside the float one.
The three follow the CLI conventions (docs/cli.md): the global options after the
action's name, ``--json`` for ``train`` and ``evaluate``, ``-o/--out`` for ``predict``.
Progress goes to stderr: two bars (epochs, batches) on a terminal, one line per epoch otherwise,
only warnings with ``--quiet``. ``--status-port PORT`` serves the run's status over HTTP
(:mod:`stingerml.cli._training`). Ctrl-C (exit 130) and SIGTERM (exit 143) stop training after a
checkpoint of the last finished epoch and print the command that resumes it.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import List, Optional

from ..core.errors import TabularDataError
from ..core.constants import TABULAR_MAX_PARAMETERS
from ..core.progress import Progress
from ._common import (
    add_arguments_later,
    add_global_options,
    add_json,
    add_old_spelling,
    add_output,
    positive_int,
    print_json,
    progress,
    say,
    warn,
    warnings_as_lines,
)
from ._progress import EpochProgress, StderrProgress
from ._training import (
    add_keep_checkpoints, add_status_options, keep_checkpoints, report_stopped, say_checkpoints,
    sigterm_stops, status_endpoint,
)


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


def _output_activation(text: str) -> dict:
    """``NAME=WORD,...`` as ``{name: word}``, or one ``WORD`` for every target (key ``""``)."""
    out = {}
    for item in _names(text):
        name, _, word = item.rpartition("=")
        out[name.strip()] = word.strip()
    if "" in out and len(out) > 1:
        raise argparse.ArgumentTypeError(f"give one WORD for every target or NAME=WORD pairs, not {text!r}")
    return out


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
TOKEN_ENV = "STINGERML_API_TOKEN"
CONFIGURABLE = ("split", "seed", "hidden", "dropout", "batch_size", "epochs", "patience", "calibration_rows",
                "output_activation", "preprocess")
"""RunSettings fields a --config file may set; an option given on the command line wins."""


def register(sub: "argparse._SubParsersAction") -> None:
    p = sub.add_parser("tabular", help="train, apply and evaluate small MLPs on CSV data (docs/tabular.md)",
                       description="Small MLP classifiers and regressors on tabular (CSV) data.")
    tsub = p.add_subparsers(dest="tabular_command", metavar="ACTION")
    p.set_defaults(func=lambda args: (p.print_help(sys.stderr), 2)[1])

    t = tsub.add_parser("train", help="train a model in a new run folder (or --resume one)",
                        description="Train an MLP on a CSV file; writes runs/run_<time>_<id>/ and prints its path.")
    t.set_defaults(func=run_train, parser=t)
    add_arguments_later(p, lambda _: _train_arguments(t))  # defaults from the library's RunSettings

    pr = tsub.add_parser("predict", help="predict every row of a CSV with a run's model",
                         description="Apply RUN_DIR's model (output/model.json) to every row of DATA.csv and write "
                                     "a CSV: the source line, the prediction and each class's probability "
                                     "(regression: each target).")
    pr.add_argument("run_dir", metavar="RUN_DIR", help="a run folder of tabular train (runs/run_...)")
    pr.add_argument("data", metavar="DATA.csv", help="the rows to predict (the run's feature columns; no label needed)")
    add_output(pr, "write the predictions CSV here (replaced atomically; - for standard output)",
               metavar="predictions.csv")
    pr.add_argument("--drop-missing", action="store_true", help="skip rows with missing features")
    add_global_options(pr)
    pr.set_defaults(func=run_predict)

    ev = tsub.add_parser("evaluate", help="metrics of a run's model (float and int8) on a labelled CSV",
                         description="Metrics of RUN_DIR's float model and, beside them, of its int8 model "
                         "(output/model.tflite, run by the library's integer emulator: no runtime needed).")
    ev.add_argument("run_dir", metavar="RUN_DIR", help="a run folder of tabular train (runs/run_...)")
    ev.add_argument("data", metavar="DATA.csv", help="labelled rows (the run's feature and label columns)")
    ev.add_argument("--drop-missing", action="store_true", help="skip rows with missing cells")
    add_json(ev, "the metrics (the int8 model's under \"int8\")")
    add_global_options(ev)
    ev.set_defaults(func=run_evaluate)


def _train_arguments(t: argparse.ArgumentParser) -> None:
    """``tabular train``'s options; every default is :class:`RunSettings`' (the one definition)."""
    from ..learn.epochs import MONITORS
    from ..learn.runfolder import RUNS_DIR
    from ..tabular.api import DEFAULT_RETRIES, DEFAULT_TIMEOUT
    from ..deploy.export import TFLITE_KINDS
    from ..tabular.runs import RunSettings

    d = RunSettings()
    t.add_argument("data", nargs="?", metavar="DATA.csv", help="the CSV file (header line, comma or semicolon)")
    t.add_argument("--label", help="the class column (classification)")
    t.add_argument("--task", choices=("classification", "regression"), default=None,
                   help="default: regression when --targets is given, else classification")
    t.add_argument("--targets", type=_names, default=[], metavar="A,B", help="regression target columns")
    t.add_argument("--features", type=_names, default=[], metavar="A,B,...",
                   help="feature columns (default: the schema's, else every other numeric column)")
    t.add_argument("--schema", metavar="schema.json", help="feature names, label and class list")
    t.add_argument("--preprocess", default=None, metavar="STEP",  # None unless given: --config's, the schema's
                   help="a preprocessing step that becomes part of the model (hands21: 63 hand-landmark "
                        "columns per frame, each frame wrist-centred and scale-normalised; docs/asl-landmarks.md; "
                        "none: no step, even where the schema or --config names one)")
    t.add_argument("--ignore", type=_names, default=[], metavar="A,B",
                   help="columns to leave out (a text column is otherwise one-hot encoded: docs/tabular.md#data)")
    t.add_argument("--group", metavar="COL", help="keep rows with the same value of COL in one split")
    t.add_argument("--drop-missing", action="store_true", help="leave out rows with empty/NA cells (reports how many)")
    t.add_argument("--config", metavar="FILE",
                   help="settings in CrowdMind's train.yaml layout (.yaml needs the yaml extra; .json, .toml); "
                        "options given here win over the file's (docs/crowdmind.md)")
    t.add_argument("--split", type=_fractions, default=None, metavar="TR,VAL,TE",
                   help=f"train,val,test fractions (default {','.join(f'{v:g}' for v in d.split)})")
    t.add_argument("--seed", type=int, default=None,
                   help=f"seed of the split, init, shuffles and dropout (default {d.seed})")
    t.add_argument("--hidden", type=_ints, default=None, metavar="H1,H2",
                   help=f"hidden layer sizes (default {','.join(map(str, d.hidden))})")
    t.add_argument("--dropout", type=float, default=None, help=f"dropout after each hidden layer (default {d.dropout})")
    t.add_argument("--alpha", type=float, default=d.alpha, help="L2 penalty, as scikit-learn's alpha (default %(default)s)")
    t.add_argument("--learning-rate", type=float, default=d.learning_rate, metavar="RATE",
                   help="Adam learning rate (default %(default)s)")
    add_old_spelling(t, "--lr", "--learning-rate", type=float)  # --lr names an LR model file elsewhere
    t.add_argument("--batch-size", type=positive_int, default=None, help=f"mini-batch size (default {d.batch_size})")
    t.add_argument("--epochs", type=positive_int, default=None, help=f"maximum epochs (default {d.epochs})")
    t.add_argument("--patience", type=positive_int, default=None,
                   help=f"stop after this many epochs without a better --monitor value (default {d.patience})")
    t.add_argument("--output-activation", type=_output_activation, default=None, metavar="NAME=WORD,...",
                   help="regression: bound targets, WORD linear, sigmoid (values in [0, 1]) or tanh ([-1, 1]); "
                        "one WORD alone applies to every target (default: linear)")
    t.add_argument("--tflite-kind", choices=TFLITE_KINDS, default=d.tflite,
                   help="TFLite files: int8 (model.tflite, default), float (model_float32.tflite: float32, raw "
                        "input) or both")
    add_old_spelling(t, "--tflite", "--tflite-kind", choices=TFLITE_KINDS)  # --tflite FILE in export-model
    t.add_argument("--monitor", choices=MONITORS, default=d.monitor,
                   help="what picks the best epoch (the model kept) and counts --patience (default %(default)s)")
    t.add_argument("--no-early-stopping", dest="early_stopping", action="store_false",
                   help="run every epoch (the model is still the best epoch's by --monitor)")
    t.add_argument("--calibration-rows", type=positive_int, default=None, metavar="N",
                   help=f"training rows that calibrate the int8 model (default {d.calibration_rows}; all when fewer)")
    t.add_argument("--checkpoint-every", type=positive_int, default=d.checkpoint_every, metavar="N",
                   help="checkpoint every N epochs (default %(default)s)")
    t.add_argument("--dataset-id", default=d.dataset_id, help="dataset id recorded in meta.json (default: the file name)")
    t.add_argument("--runs-dir", default=RUNS_DIR, metavar="DIR",
                   help="where runs go: each run is a new folder DIR/run_<time>_<id>/, never replaced "
                        "(default ./%(default)s; this command has no -o)")
    t.add_argument("--resume", metavar="RUN_DIR", help="continue this run from its last checkpoint")
    t.add_argument("--max-parameters", type=positive_int, default=TABULAR_MAX_PARAMETERS, metavar="N",
                   help="refuse a network of more than N weights and biases before training "
                        "(default %(default)s: about 640 MB of training state)")
    api = t.add_argument_group("CrowdMind API (docs/crowdmind.md)")
    api.add_argument("--api-base", metavar="URL", help="download --dataset-id and its schema from this API "
                     "(GET /health, /datasets/ID/download, /datasets/ID/schema) instead of DATA.csv")
    api.add_argument("--token", metavar="T", help=f"the API's bearer token (or set {TOKEN_ENV}); never printed, "
                     "logged or written")
    api.add_argument("--upload", action="store_true",
                     help="after training, POST the TFLite file(s) of --tflite-kind, meta.json and model.onnx to "
                          "/datasets/ID/models")
    api.add_argument("--api-timeout", type=float, default=DEFAULT_TIMEOUT, metavar="S",
                     help="seconds per request (default %(default)g)")
    api.add_argument("--api-retries", type=int, default=DEFAULT_RETRIES, metavar="N",
                     help="retries of a request after a connection error, a timeout or a 5xx answer (default %(default)s)")
    t.add_argument("--log-level", type=str.upper, choices=LOG_LEVELS, default="INFO",
                   help="INFO (default): a line per epoch and the metrics; WARNING or ERROR: as --quiet; "
                        "DEBUG: also the settings used")
    add_keep_checkpoints(t)
    add_status_options(t)
    add_json(t, "the run folder and its test metrics (float, and the int8 model's under \"int8\")")
    add_global_options(t)


def run_train(args: argparse.Namespace) -> int:
    from ..tabular.runs import RunInterrupted, RunSettings, train_run

    if args.log_level in ("WARNING", "ERROR"):
        args.quiet = True
    report = progress(args) if args.quiet else EpochProgress(since=getattr(args, "started", None))  # --quiet: only the warnings
    api = _api_client(args)
    if args.resume:
        if api is not None and not args.upload:
            args.parser.error("--resume RUN_DIR uses the run's own data: --api-base is only for --upload then")
        if args.config:
            args.parser.error("--resume RUN_DIR takes no --config: the run keeps its own settings")
        if args.data:
            args.parser.error("--resume RUN_DIR takes no DATA.csv: the run has its own copy")
        kwargs = {"resume": args.resume}  # the run says "resuming from epoch N of M" once it is checked
    else:
        if api is not None:
            if args.data or args.schema:
                args.parser.error("--api-base downloads the dataset and its schema: give no DATA.csv or --schema")
            if not args.dataset_id:
                args.parser.error("--api-base needs --dataset-id ID")
        elif not args.data:
            args.parser.error("give DATA.csv (or --resume RUN_DIR, or --api-base URL --dataset-id ID)")
        regression = args.task == "regression" or (args.task is None and args.targets)
        if regression and not args.targets:
            args.parser.error("--task regression needs --targets A,B")
        if not regression and args.targets:
            args.parser.error("--targets is for --task regression; use --label for classification")
        if not regression and args.output_activation:
            args.parser.error("--output-activation bounds regression targets; it needs --targets A,B")
        settings = RunSettings(
            label=args.label, targets=args.targets if regression else [], features=args.features, group=args.group,
            drop_missing=args.drop_missing, alpha=args.alpha, learning_rate=args.learning_rate,
            checkpoint_every=args.checkpoint_every, dataset_id=args.dataset_id,
            tflite=args.tflite_kind, ignore=args.ignore, monitor=args.monitor, early_stopping=args.early_stopping,
            **_configured(args))
        if "" in settings.output_activation:  # one word for every target
            settings.output_activation = {t: settings.output_activation[""] for t in settings.targets}
        if args.log_level == "DEBUG":
            say(args, f"settings: {asdict(settings)}", stream=sys.stderr)
        kwargs = {"csv_path": args.data, "settings": settings, "schema": args.schema, "runs_dir": args.runs_dir,
                  "max_parameters": args.max_parameters}
    try:
        with warnings_as_lines(), sigterm_stops(), status_endpoint(args, report) as report, \
                tempfile.TemporaryDirectory(prefix="stingerml-api-") as tmp:
            if api is not None and not args.resume:
                from ..tabular.api import fetch_dataset

                for name, data in fetch_dataset(api, args.dataset_id).items():
                    (Path(tmp) / name).write_bytes(data)
                say(args, f"downloaded dataset {args.dataset_id} and its schema from {api.base}", stream=sys.stderr)
                kwargs.update(csv_path=Path(tmp) / "dataset.csv", schema=Path(tmp) / "schema.json")
            result = train_run(progress=report, **kwargs, **keep_checkpoints(args))
    except RunInterrupted as stop:
        return report_stopped(stop, "tabular train")
    if result.table.dropped:
        say(args, f"dropped {result.table.dropped} row(s) with missing values", stream=sys.stderr)
    if result.table.encoding is not None:
        cats = result.table.encoding.categories
        say(args, "one-hot encoded: " + ", ".join(f"{c} ({len(v)} categories)" for c, v in cats.items())
            + " (leave a column out with --ignore COL)", stream=sys.stderr)
    for message in result.table.warnings:
        warn(message)
    if result.metrics:
        test = len(result.split.test)
        say(args, _summary(result.metrics, f"test split: {test} of {result.table.n_rows} rows (not trained on)"),
            stream=sys.stderr)
    if args.upload:
        from ..tabular.api import UPLOAD_FIELDS

        out = result.run_dir / "output"
        files = {name: (out / name).read_bytes() for name in UPLOAD_FIELDS if (out / name).exists()}
        dataset_id = args.dataset_id or _dataset_id_of(result.run_dir)
        api.upload(dataset_id, files)
        say(args, f"uploaded {', '.join(files)} to {api.base}/datasets/{dataset_id}/models", stream=sys.stderr)
    say_checkpoints(args, result.run_dir)
    if args.json:
        print_json({"run_dir": str(result.run_dir), "metrics": result.metrics})
    else:
        print(result.run_dir)  # the result: a script's run=$(stingerml tabular train ...)
    return 0


def _api_client(args: argparse.Namespace):
    """The API client of --api-base/--token (None without --api-base); the token never leaves it."""
    if args.upload and not args.api_base:
        args.parser.error("--upload needs --api-base URL (and --token T)")
    if not args.api_base:
        if args.token:
            args.parser.error("--token is for --api-base URL")
        return None
    from ..tabular.api import ApiClient

    return ApiClient(args.api_base, args.token or os.environ.get(TOKEN_ENV, ""), timeout=args.api_timeout,
                     retries=args.api_retries)


def _dataset_id_of(run_dir: Path) -> str:
    from ..core import jsonfile

    path, fix = run_dir / "output" / "meta.json", "pass --dataset-id"
    meta = jsonfile.read(path, TabularDataError, fix=fix)
    dataset = jsonfile.field(meta, "dataset", dict, str(path), TabularDataError, fix=fix)
    return jsonfile.field(dataset, "id", str, str(path), TabularDataError, fix=fix)


def _configured(args: argparse.Namespace) -> dict:
    """The CONFIGURABLE settings: the command line's, else the --config file's, else RunSettings' defaults."""
    from ..tabular.config import read_config

    values = read_config(args.config) if args.config else {}
    for name in CONFIGURABLE:
        given = getattr(args, name)
        if given is not None:
            values[name] = tuple(given) if name == "split" else given
    return values


def _load(run_dir: str):
    from ..formats import network

    return network.load(Path(run_dir) / "output" / "model.json")


def _label_of(run_dir: str) -> Optional[str]:
    from ..core import jsonfile

    try:
        meta = jsonfile.read(Path(run_dir) / "output" / "meta.json", TabularDataError, fix="")
        return meta["labels"]["column"] or None
    except (TabularDataError, KeyError, TypeError):
        return None


def run_predict(args: argparse.Namespace) -> int:
    from ..core.dense import predicted_classes
    from ..core.errors import OutputError
    from ..core.matrix import Rows
    from ..tabular.categorical import chunks_for_network
    from ..tabular.estimator import CHUNK_ROWS, network_outputs
    from ._stdio import messages, output_stream

    net = _load(args.run_dir)
    report = None if args.quiet else StderrProgress(since=getattr(args, "started", None))
    k = net.n_outputs
    if net.output == "linear":
        header = ["line", *net.target_names]
    else:
        header = ["line", "prediction", *(f"p_{c}" for c in net.classes)]
    dropped = 0
    try:
        # the CSV a chunk of rows at a time: read, predicted, written, let go (the output replaced at the end)
        with warnings_as_lines(), output_stream(args.out) as fh:
            tables, notes = chunks_for_network(args.data, net, drop_missing=args.drop_missing, progress=report,
                                               chunk_rows=CHUNK_ROWS)
            for message in notes:
                warn(message)
            fh.write((",".join(header) + "\n").encode("utf-8"))
            for table in tables:
                dropped += table.dropped
                for start in range(0, table.n_rows, CHUNK_ROWS):
                    stop = min(table.n_rows, start + CHUNK_ROWS)
                    out = network_outputs(net, Rows(table.X, range(start, stop)))
                    lines = []
                    if net.output == "linear":
                        for r, line in enumerate(table.lines[start:stop]):
                            lines.append(",".join([str(line), *(repr(v) for v in out[r * k:(r + 1) * k])]))
                    else:
                        for r, (line, code) in enumerate(zip(table.lines[start:stop], predicted_classes(out, k))):
                            probs = [1.0 - out[r], out[r]] if k == 1 else out[r * k:(r + 1) * k]
                            lines.append(",".join([str(line), _cell(net.classes[code]), *(repr(v) for v in probs)]))
                    fh.write(("\n".join(lines) + "\n").encode("utf-8"))
                    if report is not None and table.n_rows > CHUNK_ROWS:  # a table read whole (else: reading's events)
                        report(Progress("write", f"predictions: {stop} of {table.n_rows} rows", stop, table.n_rows))
    except OSError as exc:
        raise OutputError(f"{args.out}: cannot write the predictions ({exc.strerror or exc})") from exc
    if dropped:
        say(args, f"skipped {dropped} row(s) with missing values", stream=sys.stderr)
    say(args, args.out, stream=messages(args.out))
    return 0


def _cell(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',";\n') else text


def run_evaluate(args: argparse.Namespace) -> int:
    from ..tabular.categorical import read_for_network
    from ..tabular.runs import evaluate, load_quantized, training_overlap

    net = _load(args.run_dir)
    qnet = load_quantized(args.run_dir, net)
    if qnet is None:
        warn(f"{args.run_dir}: no output/model.tflite (trained with --tflite-kind float, or before int8 export); float metrics only")
    if net.output == "linear":
        table, notes = read_for_network(args.data, net, targets=net.target_names, drop_missing=args.drop_missing,
                                        need_labels=True)
        metrics = evaluate(net, table.X, table.Y, qnet)
    else:
        label = _label_of(args.run_dir)
        if label is None:
            raise TabularDataError(f"{args.run_dir}: output/meta.json does not name the label column")
        table, notes = read_for_network(args.data, net, label, drop_missing=args.drop_missing, need_labels=True)
        metrics = evaluate(net, table.X, [net.classes[k] for k in table.y], qnet)
    for message in notes:
        warn(message)
    overlap = training_overlap(args.run_dir, table)
    if overlap:
        warn(f"{overlap} of the {table.n_rows} rows of {args.data} were in the run's training split: these metrics "
             "overstate how the model does on new rows (the run's own test split is in tabular train's output)")
    if args.json:
        print_json(metrics)
    else:
        print(_summary(metrics, f"{args.data}: {table.n_rows} rows"))  # the result asked for: printed with --quiet too
    return 0


def _summary(m, title: str) -> str:
    """``title`` (which rows), then the float metrics and, when ``m`` has them, the int8 model's beside them."""
    return title + "\n" + _table(m)


def _table(m) -> str:
    q = m.get("int8")
    if "accuracy" in m:
        keys = (("accuracy", "accuracy"), ("precision", "macro precision"), ("recall", "macro recall"),
                ("f1", "macro F1"))
        lines = [f"{'':15}   float" + ("    int8" if q else "")]
        lines += [f"{name:15}  {m[k]:.4f}" + (f"  {q[k]:.4f}" if q else "") for k, name in keys]
        width = max(len(c) for c in m["classes"])
        lines.append(f"{'class':>{width}}  precision  recall     F1  support   (float model)")
        for c in m["classes"]:
            pc = m["per_class"][c]
            lines.append(f"{c:>{width}}  {pc['precision']:9.4f} {pc['recall']:7.4f} {pc['f1']:6.4f} {pc['support']:8d}")
        lines.append("confusion matrix (rows: true, columns: predicted; float model):")
        lines.extend("  " + " ".join(f"{v:5d}" for v in row) for row in m["confusion_matrix"])
        return "\n".join(lines)
    if not q:
        return "\n".join(f"{t}: MSE {a:.6g}  MAE {b:.6g}  R2 {c:.4f}"
                         for t, a, b, c in zip(m["targets"], m["mse"], m["mae"], m["r2"]))
    return "\n".join(f"{t}: MSE {m['mse'][j]:.6g} (int8 {q['mse'][j]:.6g})  MAE {m['mae'][j]:.6g} "
                     f"(int8 {q['mae'][j]:.6g})  R2 {m['r2'][j]:.4f} (int8 {q['r2'][j]:.4f})"
                     for j, t in enumerate(m["targets"]))
