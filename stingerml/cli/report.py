"""``stingerml report DIR [--log LOG ...] [-o FILE]``: (re)build ``report.html`` from ``report.json`` and the log(s)."""
from __future__ import annotations

import argparse
import warnings
from pathlib import Path
from typing import Dict, List

from ..core.constants import LR_FILE, MLP_FILE, REPORT_FILE, REPORT_HTML_FILE
from ..core.errors import PlotError, ReportError, StingerWarning
from ._common import add_json, add_output, print_json, read_logs, say, warn
from ._stdio import STDIO, write_output


def register(sub: "argparse._SubParsersAction") -> None:
    p = sub.add_parser(
        "report", help="(re)build report.html of a training output folder",
        description="Rebuild DIR/report.html from DIR/report.json and the trained log(s): data quality, summary, "
        "warnings, held-out metrics, loss curves and the per-shot traces over the IMU. The logs are found by the "
        "paths report.json records (as given to 'stingerml train', from the current folder or DIR); --log overrides them.",
    )
    p.add_argument("dir", metavar="DIR", help="folder written by 'stingerml train' (holds report.json)")
    p.add_argument("--log", nargs="+", metavar="LOG", help="the log(s) trained on, in the order given to train")
    add_output(p, f"the page to write (default DIR/{REPORT_HTML_FILE}; - writes it to standard output)",
               required=False)
    add_json(p, "the page written and whether its traces show the IMU")
    p.set_defaults(func=run_report, parser=p, input_files=_inputs)


def _inputs(args: argparse.Namespace) -> List[Path]:
    """The files of DIR that -o must not replace: report.json (read) and the models beside it."""
    return [Path(args.dir) / name for name in (REPORT_FILE, LR_FILE, MLP_FILE)]


def _find(path: str, folder: Path) -> Path:
    for candidate in (Path(path), folder / path, folder / Path(path).name):
        if candidate.is_file():
            return candidate
    return Path(path)


def _logs(report: dict, given: List[str], folder: Path) -> Dict[str, object]:
    """The logs per trace ``session`` name; {} when the recorded ones are not found (traces without IMU)."""
    from ..blaster.app_import import import_logs
    from ..blaster.sessions import session_names

    imported = report.get("import")
    paths = given or (imported["files"] if imported else report.get("logs") or [])
    found = [_find(p, folder) for p in paths]
    if not given and not all(p.is_file() for p in found):
        return {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StingerWarning)
        if imported:
            return {"": import_logs(found).log}
    logs = read_logs(found, show_warnings=False)
    if "sessions" in (report.get("summary") or {}):
        return dict(zip(session_names(logs), logs))
    if len(logs) > 1:
        raise ReportError(f"{folder}: {REPORT_FILE} is of one log but {len(logs)} logs were given; pass the one trained on")
    return {"": logs[0]} if logs else {}


def run_report(args: argparse.Namespace) -> int:
    from ..blaster.report_html import REPORT_SCHEMA, render

    if args.json and args.out == STDIO:
        args.parser.error("--json and -o - would both print to standard output; give -o a file")
    folder = Path(args.dir)
    src = folder / REPORT_FILE
    from ..core import jsonfile

    report = jsonfile.read(src, ReportError, fix="pass the folder 'stingerml train --out' wrote, or train again",
                           kind=object)
    if not isinstance(report, dict) or "summary" not in report:
        raise ReportError(f"{src}: not a stingerml report (no 'summary'); train again to rewrite it")
    jsonfile.check(report, REPORT_SCHEMA, str(src), ReportError, fix="train again to rewrite it")
    logs = _logs(report, args.log or [], folder)
    if report.get("shot_traces") and not logs:
        warn("the trained log(s) were not found; traces are drawn without the IMU (pass --log LOG)")
    out = args.out or str(folder / REPORT_HTML_FILE)
    try:
        page = render(report, logs)
    except PlotError as exc:  # values of the right types that do not fit together (e.g. a trace's lengths)
        raise ReportError(f"{src}: {exc}; train again to rewrite it") from None
    try:
        write_output(out, page.encode("utf-8"))
    except OSError as exc:
        raise ReportError(f"{out}: cannot write: {exc.strerror or exc}") from exc
    if args.json:
        print_json({"out": out, "imu": bool(logs)})
    if out != STDIO:
        say(args, out)
    return 0
