"""``stingerml audio features IN.wav... -o features.csv``: training rows from WAV files (docs/audio-control.md).

One CSV for all files: the column ``file`` (the path as given: a text column
the tabular trainer leaves out; ``--group file`` keeps a file in one split)
then ``{feature}_{i}`` for each frame ``i`` of a row's window. Nothing is
written unless every file is read; the output is replaced atomically.
"""
from __future__ import annotations

import argparse
import csv
import io
import sys
from typing import Optional

from ._common import (
    add_arguments_later, add_global_options, add_json, add_output, positive_int, print_json, progress, say,
)


def _rate(text: str) -> Optional[int]:
    if text == "file":
        return None
    return positive_int(text)


def _order(text: str) -> int:
    if text not in ("1", "2"):
        raise argparse.ArgumentTypeError(f"the delta order is 1 (deltas) or 2 (deltas and delta-deltas), not {text!r}")
    return int(text)


def register(sub: "argparse._SubParsersAction") -> None:
    p = sub.add_parser("audio", help="features of WAV files for training (docs/audio-control.md)",
                       description="Audio features of WAV files, equal to librosa's.")
    asub = p.add_subparsers(dest="audio_command", metavar="ACTION")
    p.set_defaults(func=lambda args: (p.print_help(sys.stderr), 2)[1])

    f = asub.add_parser("features", help="windows of per-frame features of WAV files, as one CSV",
                        description="Spectral centroid, spectral flux, RMS, zero-crossing rate, onset strength and "
                                    "roll-off of each frame (librosa's definitions), in windows of --frames "
                                    "frames: one CSV row per window, for stingerml tabular train.")
    f.set_defaults(func=run_features)
    add_arguments_later(p, lambda _: _feature_arguments(f))  # defaults from the library's AudioSettings


def _feature_arguments(f: argparse.ArgumentParser) -> None:
    """``audio features``' options; every default is :class:`AudioSettings`' (the one definition)."""
    from ..audio import FEATURES, NORMALISE, AudioSettings

    d = AudioSettings()
    f.add_argument("wavs", nargs="+", metavar="IN.wav", help="WAV files (PCM 8/16/24/32-bit or float 32/64-bit)")
    add_output(f, "write the features CSV here (replaced atomically; - for standard output)", metavar="features.csv")
    f.add_argument("--frames", type=positive_int, default=d.frames,
                   help=f"frames per row (default %(default)s: {d.frames * len(FEATURES)} columns)")
    f.add_argument("--hop", type=positive_int, default=d.hop, help="samples between frames (default %(default)s)")
    f.add_argument("--n-fft", type=positive_int, default=d.n_fft,
                   help="samples per frame, the FFT size (default %(default)s; a power of two is fastest)")
    f.add_argument("--rate", type=_rate, default=d.rate, metavar="HZ",
                   help="the sample rate every file must have (default %(default)s; 'file': each file's own); "
                        "files are not resampled")
    f.add_argument("--deltas", type=_order, nargs="?", const=2, default=d.deltas, metavar="ORDER",
                   help="add librosa deltas: --deltas adds deltas and delta-deltas, --deltas 1 only deltas")
    f.add_argument("--normalise", choices=NORMALISE, default=d.normalise,
                   help="per file and column, after the deltas (default %(default)s: the trainer standardises)")
    add_json(f, "the output file, its columns and the rows of each input")
    add_global_options(f)


def run_features(args: argparse.Namespace) -> int:
    from ..audio import AudioSettings, featurise
    from ..core.errors import OutputError
    from .._kernels import backend
    from ._announce import announce_backend
    from ._stdio import write_output

    settings = AudioSettings(rate=args.rate, hop=args.hop, n_fft=args.n_fft, frames=args.frames,
                             deltas=args.deltas, normalise=args.normalise)
    settings.check()
    if backend() == "python":
        say(args, "note: audio features run in pure Python: about a minute per minute of 48 kHz audio; "
                  "numba (pip install 'stingerml[fast]') makes it about 100 times faster", stream=sys.stderr)
    announce_backend(args, "audio features", "audio", pure=False)
    report = progress(args)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    names = None
    summary = []
    for path in args.wavs:
        rows = featurise(path, settings, report)
        if names is None:
            names = rows.names
            writer.writerow(("file",) + names)
        width = rows.rows.n_cols
        data = rows.rows.data
        for r in range(rows.rows.n_rows):
            writer.writerow([path, *map(repr, data[r * width:(r + 1) * width])])
        summary.append({"file": path, "rate": rows.info.rate, "seconds": rows.info.seconds,
                        "rows": rows.rows.n_rows})
        say(args, f"{path}: {rows.info.format}, {rows.info.seconds:.2f} s, {rows.rows.n_rows} rows",
            stream=sys.stderr)
    try:
        write_output(args.out, text.getvalue().encode("utf-8"))
    except OSError as exc:
        raise OutputError(f"{args.out}: cannot write the features ({exc.strerror or exc})") from exc
    if args.json:
        print_json({"out": args.out, "columns": ["file", *names], "files": summary})
    else:
        say(args, f"wrote {sum(s['rows'] for s in summary)} rows × {len(names)} columns to {args.out}",
            stream=sys.stderr)
    return 0
