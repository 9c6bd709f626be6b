"""``stingerml convert IN -o OUT``: device log binary <-> CSV, chosen by the file extensions."""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from ..core.errors import OutputError, StingerError, StingerWarning
from ._common import add_output, read_one_log, say, warn
from ._stdio import STDIO, messages, write_output

FORMATS = {".bin": "binary", ".csv": "CSV"}


def log_format(path: Path, role: str) -> str:
    """``"binary"`` or ``"CSV"`` from ``path``'s extension; other extensions are refused."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise StingerError(
            f"{path}: cannot tell the {role} format from the extension {path.suffix or '(none)'!r}; "
            "use .bin for the device's binary log or .csv for the converter's CSV"
        )
    return fmt


def save_log(log: "object", path: Path) -> None:
    """:func:`stingerml.blaster.log.write_log` (atomic, format by extension), with I/O failures as :class:`OutputError`."""
    from ..blaster.log import write_log

    try:
        write_log(log, path)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write the log: {exc.strerror or exc}") from exc


def _convert(args: argparse.Namespace) -> int:
    src, dst = Path(args.input), Path(args.out)
    log = None
    if args.input == STDIO:  # standard input: the format is told by the content
        from ..blaster.log import looks_like_csv, parse_any

        raw = sys.stdin.buffer.read()
        src_fmt = "CSV" if looks_like_csv(raw) else "binary"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StingerWarning)  # reported below from log.warnings
            log = parse_any(raw, source="<stdin>")
        for message in log.warnings:
            warn(message)
    else:
        src_fmt = log_format(src, "input")
    dst_fmt = log_format(dst, "output") if args.out != STDIO else ("CSV" if src_fmt == "binary" else "binary")
    if src_fmt == dst_fmt:
        raise StingerError(
            f"{src} and {dst} are both {src_fmt}; convert needs one .bin and one .csv (bin -> csv or csv -> bin)"
        )
    if log is None:
        log = read_one_log(src)
    if args.out == STDIO:
        from ..blaster.log import to_csv

        write_output(STDIO, to_csv(log).encode("utf-8") if dst_fmt == "CSV" else log.to_bytes())
    else:
        save_log(log, dst)
    say(args, f"{src} ({src_fmt}) -> {dst} ({dst_fmt}): {len(log)} samples", stream=messages(args.out))
    return 0


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``convert`` sub-command."""
    p = subparsers.add_parser(
        "convert",
        help="convert a device log between binary (.bin) and CSV (.csv)",
        description=(
            "Convert a Stinger device log: IN.bin -> OUT.csv writes the original converter's CSV "
            "(timestamp_ms,ax,ay,az,gx,gy,gz,trigger); IN.csv -> OUT.bin writes 17-byte records. "
            "The output is written atomically; trailing bytes of a binary input are reported as a warning."
        ),
    )
    p.add_argument("input", metavar="IN", help="the log to read (.bin or .csv; - reads standard input)")
    add_output(p, "the file to write (the other format; replaced atomically; - writes it to standard output)",
               metavar="OUT")
    p.set_defaults(func=_convert)
