"""Device sub-commands: ``emulate``, ``pull``, ``push``, ``info``, ``delete``."""
from __future__ import annotations

import argparse
import contextlib
import math
import signal
import sys
import threading
from pathlib import Path
from typing import Callable, Dict, Optional

from ..core.constants import MODEL_FILES as _SLOT_FILES
from ..core.errors import StingerError
from ._common import add_arguments_later, add_json, add_output, print_json, progress, read_bytes, say


def register(subparsers) -> None:
    """Add the device sub-commands (options whose choices or defaults come from the device package
    when their command runs)."""

    def with_port(parser: argparse.ArgumentParser,
                  more: Optional[Callable[[argparse.ArgumentParser], None]] = None) -> argparse.ArgumentParser:
        parser.add_argument("--port", metavar="PORT_OR_URL",
                            help="serial port, pty path or pyserial URL such as socket://127.0.0.1:7777 "
                                 "(default: discover the blaster)")

        def later(p: argparse.ArgumentParser) -> None:
            _timeout_argument(p)
            if more is not None:
                more(p)

        add_arguments_later(parser, later)
        return parser

    p = subparsers.add_parser("emulate", help="run a virtual blaster on a pty or a local TCP port",
                              description="Serve a virtual blaster. The first stdout line is the device path "
                                          "(--pty) or URL (--tcp); then it serves until killed.")
    p.set_defaults(func=_emulate)
    add_arguments_later(p, _emulate_arguments)
    p = with_port(subparsers.add_parser("pull", help="download the log from the blaster (MLDUMP)",
                                        description="Download the blaster's log (MLDUMP) into a file; it is "
                                                    "written only when the announced size arrived whole."),
                  _pull_arguments)
    add_output(p, "where to write the raw log (.bin; replaced atomically); - for standard output")
    p.set_defaults(func=_pull)

    p = with_port(subparsers.add_parser(
        "push", help="upload models to the blaster, load them and verify the fingerprint",
        description=f"Upload DIR/{_SLOT_FILES['lr']} and DIR/{_SLOT_FILES['mlp']} (or --lr/--mlp files), "
                    "load them and check the device runs exactly those weights."))
    p.add_argument("dir", nargs="?", metavar="DIR", help="folder holding the model files")
    p.add_argument("--lr", metavar="FILE", help="LR model file (overrides DIR's)")
    p.add_argument("--mlp", metavar="FILE", help="MLP model file (overrides DIR's)")
    p.add_argument("--no-load", action="store_true", help="only store the files; do not load or verify")
    p.set_defaults(func=_push)

    p = with_port(subparsers.add_parser("info", help="show which models the blaster runs",
                                        description="Print the blaster's model information (source, slots, "
                                                    "fingerprints, samples written) as key=value lines."))
    add_json(p, "the device's model information")
    p.set_defaults(func=_info)

    p = with_port(subparsers.add_parser("delete", help="delete the user models; the blaster reverts to factory",
                                        description="Delete both user model files on the blaster; it then runs "
                                                    "its factory weights."))
    p.set_defaults(func=_delete)


def _timeout_argument(p: argparse.ArgumentParser) -> None:
    from ..device.client import DeviceClient
    from ..learn.estimator import default_of

    p.add_argument("--timeout", type=float, default=default_of(DeviceClient, "timeout"), metavar="S",
                   help="seconds to wait for each reply (default %(default)g)")


def _check_seconds(value: float, option: str) -> None:
    if not (math.isfinite(value) and value > 0):
        raise StingerError(f"{option} {value!r}: give a finite number of seconds > 0 (e.g. 5 or 0.5)")


def _emulate_arguments(p: argparse.ArgumentParser) -> None:
    from ..device.emulator import FAULTS, Blaster
    from ..learn.estimator import default_of

    p.add_argument("--log", metavar="FILE", help="log to serve (.bin as is, or .csv; - reads standard input); none: 'no log file'")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--pty", action="store_true", help="serve on a new pseudo-terminal")
    where.add_argument("--tcp", type=int, metavar="PORT", help="serve on 127.0.0.1:PORT (0 picks a free port)")
    p.add_argument("--fault", action="append", default=[], choices=sorted(FAULTS), metavar="NAME",
                   help="inject a one-shot fault (repeatable): " + "; ".join(f"{k}: {v}" for k, v in FAULTS.items()))
    p.add_argument("--firing", action="store_true", help="the blaster is busy firing (dump/upload refused)")
    p.add_argument("--no-fs", action="store_true", help="the filesystem failed to mount")
    p.add_argument("--debug-rate", type=float, default=default_of(Blaster, "debug_rate"), metavar="P",
                   help="probability of an unrelated debug line before each reply line (default %(default)s)")
    p.add_argument("--seed", type=int, default=default_of(Blaster, "seed"),
                   help="seed of the debug lines (default %(default)s)")
    p.add_argument("--upload-timeout", type=float, default=default_of(Blaster, "upload_timeout_s"), metavar="S",
                   help="upload inactivity timeout in seconds (firmware: %(default)g)")


def _pull_arguments(p: argparse.ArgumentParser) -> None:
    from ..device.protocol import MAX_DUMP_BYTES

    p.add_argument("--max-size", type=int, default=MAX_DUMP_BYTES, metavar="BYTES",
                   help="refuse a device that announces a bigger log (default %(default)s: the blaster's "
                        "flash holds a few MB)")


def _client(args):
    from ..device import DeviceClient

    _check_seconds(args.timeout, "--timeout")
    return DeviceClient(args.port, timeout=args.timeout)


def _emulate(args) -> int:
    from ..blaster.log import read_log
    from ..device.emulator import Blaster, PtyServer, TcpServer

    _check_seconds(args.upload_timeout, "--upload-timeout")
    if args.tcp is not None and not 0 <= args.tcp <= 65535:
        raise StingerError(f"--tcp {args.tcp}: a TCP port is 0..65535 (0 picks a free port)")
    log = None
    if args.log == "-":  # standard input: a CSV is converted, binary bytes are served as they are
        from ..blaster.log import looks_like_csv, parse_any

        raw = sys.stdin.buffer.read()
        log = parse_any(raw, source="<stdin>").to_bytes() if looks_like_csv(raw) else raw
    elif args.log is not None:
        path = Path(args.log)
        try:
            log = read_log(path).to_bytes() if path.suffix.lower() == ".csv" else path.read_bytes()
        except OSError as exc:
            raise StingerError(f"{path}: cannot read the log to serve: {exc.strerror or exc}; "
                               "give an existing .bin or .csv log to --log") from None
    blaster = Blaster(log, seed=args.seed, debug_rate=args.debug_rate, upload_timeout_s=args.upload_timeout,
                      faults=args.fault, firing=args.firing, fs_ready=not args.no_fs)
    server = PtyServer(blaster) if args.pty else TcpServer(blaster, args.tcp)
    print(server.url, flush=True)
    done = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        server.start()
        while not done.wait(0.2):
            if not server.running:
                print("emulate: the virtual blaster disconnected (fault)", file=sys.stderr)
                break
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.stop()
    return 0


def _pull(args) -> int:
    from ..core.progress import Progress

    show = progress(args, quarters=False)  # a bar only on a terminal: a failed pull says one error line
    with _client(args) as client:
        size = client.pull_log_to(
            args.out, progress=lambda got, total: show(Progress("pull", f"{got}/{total} bytes", got, total)),
            max_size=args.max_size)
    show(Progress("done", "MLDUMP complete, size checked"))
    where = "standard output" if args.out == "-" else args.out
    say(args, f"wrote {where}: {size} bytes ({size // 17} samples)", stream=sys.stderr if args.out == "-" else sys.stdout)
    return 0


def _push(args) -> int:
    from ..core.atomic import recover
    from ..core.constants import REPORT_FILE, REPORT_HTML_FILE

    if args.dir is not None:
        with contextlib.suppress(OSError):
            recover(args.dir, (*_SLOT_FILES.values(), REPORT_FILE, REPORT_HTML_FILE))  # finish (or undo) a `train --out` that was killed while writing DIR
    files: Dict[str, Path] = {}
    for slot, name in _SLOT_FILES.items():
        given = getattr(args, slot)
        if given is not None:
            files[slot] = Path(given)
        elif args.dir is not None and (Path(args.dir) / name).is_file():
            files[slot] = Path(args.dir) / name
    if not files:
        where = f"{args.dir} holds neither {' nor '.join(_SLOT_FILES.values())}" if args.dir else "nothing given"
        raise StingerError(f"no model to push: {where}; give DIR or --lr/--mlp FILE")
    blobs = {slot: read_bytes(path, f"the {slot} model") for slot, path in files.items()}
    with _client(args) as client:
        info = client.push(blobs, load=not args.no_load, sources={s: str(p) for s, p in files.items()})
    for slot, path in files.items():
        say(args, f"uploaded {path} to the {slot} slot")
    if info is not None:
        say(args, f"loaded; the device runs them (model_source={info['model_source']}, fingerprint verified)")
    return 0


def _info(args) -> int:
    with _client(args) as client:
        info = dict(client.info())
        info["samples_written"] = client.samples_written()
    if args.json:
        print_json(info)
    else:
        for key, value in info.items():
            print(f"{key}={'%.6f' % value if isinstance(value, float) else value}")
    return 0


def _delete(args) -> int:
    with _client(args) as client:
        client.delete()
    say(args, "deleted the user models; the blaster runs its factory weights")
    return 0
