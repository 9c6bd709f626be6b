"""``stingerml export-model MODEL --onnx OUT.onnx --tflite OUT.tflite --log LOG``: the blaster's models elsewhere."""
from __future__ import annotations

import argparse
import json
from array import array
from pathlib import Path
from typing import Dict, List


def _predicted(p: float) -> int:
    return int(p >= 0.5)


def _export(args: argparse.Namespace) -> int:
    from .. import __version__
    from .._atomic import write_bytes_atomic
    from ..errors import StingerError
    from ..formats.blaster import log_rows, read_network
    from ..formats.onnx import to_onnx
    from ..formats.tflite import to_tflite
    from ..matrix import Matrix
    from ..quantize import quantize, representative_rows

    if not (args.onnx or args.tflite):
        raise StingerError("nothing to write: give --onnx PATH and/or --tflite PATH")
    if args.tflite and not args.log:
        raise StingerError("--tflite needs --log SESSION.bin: the int8 ranges are calibrated on that log's "
                           "dataset rows")
    try:
        net = read_network(args.model)
    except OSError as exc:
        raise StingerError(f"cannot read {args.model}: {exc.strerror or exc}") from None
    kind = "LR" if len(net.layers) == 1 else "MLP"
    shape = "->".join(str(n) for n in [net.n_features] + [layer.n_out for layer in net.layers])
    files: Dict[Path, bytes] = {}
    notes: List[str] = []
    if args.onnx:
        files[Path(args.onnx)] = to_onnx(net, fold_scaler=not args.no_fold_scaler)
    if args.tflite:
        data, labels = array("f"), array("B")
        for log in args.log:
            X, y = log_rows(log, net.n_features)
            data.extend(X.data)
            labels.extend(y)
        X = Matrix(data, net.n_features)
        rep = representative_rows(X, args.rows, args.seed)
        qnet = quantize(net, rep, per_channel=args.per_channel)
        files[Path(args.tflite)] = to_tflite(qnet)
        p_float = [net.forward(r)[0] for r in X.rows()]
        p_int8 = [p[0] for p in qnet.predict(X).rows()]
        acc = [sum(_predicted(p) == t for p, t in zip(ps, labels)) / len(labels) for ps in (p_float, p_int8)]
        agree = sum(_predicted(a) == _predicted(b) for a, b in zip(p_float, p_int8)) / len(labels)
        worst = max(abs(a - b) for a, b in zip(p_float, p_int8))
        meta = {
            "stingerml_version": __version__,
            "model": {"file": Path(args.model).name, "kind": kind, "shape": shape},
            "representative": {"logs": [Path(p).name for p in args.log], "rows_available": X.n_rows,
                               "rows_used": rep.n_rows, "seed": args.seed},
            "check": {"rows": X.n_rows, "float_accuracy": acc[0], "int8_accuracy": acc[1],
                      "same_class": agree, "max_abs_probability_diff": worst},
            "quantization": qnet.to_dict(),
        }
        meta_path = Path(args.meta) if args.meta else Path(args.tflite).parent / "meta.json"
        files[meta_path] = (json.dumps(meta, indent=2) + "\n").encode("utf-8")
        notes.append(f"int8 on {X.n_rows} dataset rows: accuracy {100 * acc[1]:.1f}% (float {100 * acc[0]:.1f}%), "
                     f"same class on {100 * agree:.1f}%, max |p_int8 - p_float| {worst:.4f}")
    for path, blob in files.items():  # merge of main: one file at a time until the set writer is used
        write_bytes_atomic(path, blob)
    written = ", ".join(f"{p} ({len(b)} bytes)" for p, b in files.items())
    print(f"{args.model} ({kind} {shape}) -> {written}")
    for note in notes:
        print(note)
    return 0


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``export-model`` sub-command."""
    p = subparsers.add_parser(
        "export-model",
        help="write an MLMD model (ml_model_lr.bin / ml_model_mlp.bin) as ONNX and/or full-int8 TFLite",
        description="Convert a blaster model file to ONNX (float32, scaler folded in) and/or full-int8 TFLite "
        "(scaler applied by the caller, see meta.json). The int8 ranges are calibrated on dataset rows of "
        "--log (100 rows drawn with --seed). See docs/model-export.md.",
    )
    p.add_argument("model", help="MLMD model file (LR or MLP)")
    p.add_argument("--onnx", metavar="PATH", help="write the float32 ONNX model here")
    p.add_argument("--tflite", metavar="PATH", help="write the full-int8 TFLite model here (needs --log)")
    p.add_argument("--meta", metavar="PATH", help="quantization parameters for the device "
                   "(default: meta.json beside the .tflite)")
    p.add_argument("--log", action="append", metavar="LOG", help="session log(s) whose dataset rows calibrate "
                   "the int8 model (repeat for several)")
    p.add_argument("--rows", type=int, default=100, help="representative rows drawn from the logs (default %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="seed of the representative draw (default %(default)s)")
    p.add_argument("--per-channel", action="store_true", help="one weight scale per output unit (default: per tensor, "
                   "which TFLite Micro supports everywhere)")
    p.add_argument("--no-fold-scaler", action="store_true", help="leave the scaler out of the ONNX graph "
                   "(the caller scales; mean/scale stay in its metadata)")
    p.set_defaults(func=_export)
