"""``stingerml golden LOG --lr FILE --mlp FILE -o DIR``: golden vectors for the firmware's and the app's tests."""
from __future__ import annotations

import sys
from pathlib import Path

from ..core.constants import CHANNELS, SLOT_LR, SLOT_MLP
from ._common import add_json, add_output, load_model, print_json, read_one_log, say
from ._stdio import STDIO


def cmd_golden(args) -> int:
    from ..blaster.golden import golden_set, write_golden
    from ..core.atomic import check_output_folder
    from ..core.errors import OutputError

    if args.out == STDIO:
        raise OutputError("golden writes three files (golden.h, golden.json, README.md); -o - (standard "
                          "output) is not possible: give a folder")
    check_output_folder(args.out, "-o")  # before reading and computing, not after
    log = read_one_log(args.log)
    lr, mlp = load_model(args.lr, SLOT_LR), load_model(args.mlp, SLOT_MLP)
    names = {slot: Path(path).name if path else f"factory_{slot}.mlmd"
             for slot, path in ((SLOT_LR, args.lr), (SLOT_MLP, args.mlp))}
    gs = golden_set(log, lr, mlp, names)
    write_golden(gs, args.out, option="-o")
    for note in gs.notes:
        say(args, f"note: {note}", stream=sys.stderr)
    say(args, f"wrote {len(gs.windows)} windows and a {len(gs.stream) // CHANNELS}-sample stream to "
              f"{Path(args.out)}/ (golden.h, golden.json, README.md)")
    if args.json:
        print_json({"out": str(args.out), "files": ["golden.h", "golden.json", "README.md"],
                    "windows": len(gs.windows), "stream_samples": len(gs.stream) // CHANNELS, "notes": list(gs.notes)})
    return 0


def register(subparsers) -> None:
    """Add the ``golden`` sub-command."""
    p = subparsers.add_parser(
        "golden", help="golden test vectors (golden.h, golden.json) for the firmware's and the app's own tests",
        description="Pick a deterministic set of windows from LOG (dataset rows of both labels, the motion gate, "
                    "saturated values, probabilities near 0, 0.5 and 1, the first full ring buffer) and write the "
                    "firmware's exact float32 features and probabilities for them into DIR: golden.h, golden.json "
                    "and README.md, replaced together. See docs/golden.md.")
    p.add_argument("log", metavar="LOG", help="device log (.bin or .csv; - reads standard input)")
    p.add_argument("--lr", metavar="FILE", help="LR model (.mlmd); factory weights when omitted")
    p.add_argument("--mlp", metavar="FILE", help="MLP model (.mlmd); factory weights when omitted")
    add_output(p, "folder for the three files (created; replaced as a set)", metavar="DIR")
    add_json(p, "the folder, its files, the number of windows and stream samples, and the notes")
    p.set_defaults(func=cmd_golden)
