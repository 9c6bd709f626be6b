"""Fuzz suite (issue 15): every parser through the API, and the CLI's commands over hostile input
files. Parsers return a result or raise their documented StingerError; commands exit 0, or exit 1
with exactly one ``error:`` line (the last line on stderr), never a traceback, and write nothing
when they fail.

A few examples per property run by default; ``--run-fuzz`` runs each with many more (tests
marked ``fuzz``).
"""
from __future__ import annotations

import contextlib
import io
import shutil
import struct
import tempfile
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from stingerml.blaster import loader, trainfolder  # noqa: E402
from stingerml.blaster.log import CSV_COLUMNS, parse_csv, parse_log  # noqa: E402
from stingerml.cli import main  # noqa: E402
from stingerml.core.errors import StingerError  # noqa: E402
from stingerml.device import protocol  # noqa: E402
from stingerml.device.errors import DeviceError  # noqa: E402
from stingerml.formats import mlmd  # noqa: E402
from stingerml.formats.header import export_header, parse_header  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent / "vectors"
TINY = (ROOT / "sessions" / "tiny.bin").read_bytes()
LR = (ROOT / "browser" / "tiny.lr.mlmd").read_bytes()
MLP = (ROOT / "browser" / "tiny.mlp.mlmd").read_bytes()
HEADER_TEXT = export_header(mlmd.parse(LR), mlmd.parse(MLP))
QUICK, MANY = 15, 1500
pytestmark = pytest.mark.filterwarnings("ignore::stingerml.core.errors.StingerWarning")


def both(strategy):
    """Define a property once; returns (quick test, many-examples test marked fuzz)."""

    def wrap(check):
        common = dict(deadline=None, database=None, derandomize=False,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
        quick = settings(max_examples=QUICK, **common)(given(strategy)(check))
        many = pytest.mark.fuzz(settings(max_examples=MANY, **common)(given(strategy)(check)))
        return quick, many

    return wrap


# --- inputs ---------------------------------------------------------------------------------------


def mutated(seed: bytes) -> st.SearchStrategy:
    """``seed`` with a few bytes replaced, inserted or deleted, or cut short."""

    @st.composite
    def build(draw):
        data = bytearray(seed)
        for _ in range(draw(st.integers(0, 6))):
            op = draw(st.sampled_from(("set", "insert", "delete", "cut")))
            i = draw(st.integers(0, max(len(data) - 1, 0)))
            if op == "set" and data:
                data[i] = draw(st.integers(0, 255))
            elif op == "insert":
                data[i:i] = draw(st.binary(min_size=1, max_size=8))
            elif op == "delete" and data:
                del data[i]
            elif op == "cut":
                del data[i:]
        return bytes(data)

    return build()


def records(max_n: int = 120) -> st.SearchStrategy:
    """Binary logs that are mostly well formed (0/1 triggers, timestamps mostly increasing)."""
    record = st.tuples(st.integers(0, 40), *[st.integers(-32768, 32767)] * 6, st.integers(0, 1))

    def pack(rows):
        t, out = 0, bytearray()
        for dt, *imu, trig in rows:
            t = min(t + dt, 2**32 - 1)
            out += struct.pack("<IhhhhhhB", t, *imu, trig)
        return bytes(out)

    return st.lists(record, max_size=max_n).map(pack)


LOG_BYTES = st.one_of(st.binary(max_size=400), records(), mutated(TINY[: 17 * 200]))
CELL = st.one_of(st.integers(-2**33, 2**33).map(str), st.sampled_from(["", " 1", "1_000", "\u0661", "²", "1e3", "0x10",
                                                                      "+5", "-0", '"1"', '"1\r2"', "\r", "nan", "9" * 30]),
                 st.text(max_size=6))
CSV_TEXT = st.one_of(
    st.text(max_size=300),
    st.lists(st.lists(CELL, min_size=0, max_size=10).map(",".join), max_size=12).map(
        lambda rows: "\n".join([",".join(CSV_COLUMNS)] + rows)),
    st.lists(st.lists(CELL, max_size=9).map(",".join), max_size=12).map(
        lambda rows: "\ufeff" + "\r\n".join([",".join(CSV_COLUMNS)] + rows)),
)
MODEL_BYTES = st.one_of(st.binary(max_size=300), mutated(LR), mutated(MLP))


# --- parsers through the API ------------------------------------------------------------------------


@both(LOG_BYTES)
def _log(data):
    for source in (data, bytearray(data), memoryview(data), memoryview(data + data)[::2]):
        with contextlib.suppress(StingerError):
            parse_log(source)


test_parse_log, test_parse_log_many = _log


@both(CSV_TEXT)
def _csv(text):
    with contextlib.suppress(StingerError):
        parse_csv(text)


test_parse_csv, test_parse_csv_many = _csv


@both(st.tuples(MODEL_BYTES, st.sampled_from(("lr", "mlp"))))
def _model(case):
    blob, slot = case
    with contextlib.suppress(StingerError):
        mlmd.parse(blob)
    verdict = loader.validate(blob, slot)  # never raises: the firmware's verdict
    assert isinstance(verdict.accepted, bool)


test_parse_model, test_parse_model_many = _model


@both(st.one_of(st.text(max_size=200), mutated(HEADER_TEXT.encode()).map(lambda b: b.decode("utf-8", "replace"))))
def _header(text):
    with contextlib.suppress(StingerError):
        parse_header(text)


test_parse_header, test_parse_header_many = _header


EXPECTATIONS = (
    lambda: protocol.DumpReceiver(max_size=4096),
    lambda: protocol.ReplyLine("MLMODEL_PUT_LR", protocol.READY),
    protocol.InfoCollector,
    protocol.SamplesReceiver,
)
REPLY = st.lists(st.one_of(
    st.binary(max_size=40),
    st.sampled_from([b"MLDUMP1 5\n", b"MLDUMP1 \xc2\xb2\n", b"MLDUMP1 99999999999\n", b"MLDUMP1 -3\n", b"\nMLDUMP_DONE\r\n",
                     b"[ml] samples_written=" + b"9" * 10000 + b"\n", b"[ml] samples_written=\xd9\xa1\n",
                     b"[ml] model_source=user\n", b"[ml] cached_age_ms=1_0\n", b"[ml] lr_intercept=nan\n",
                     b"[ml] MLMODEL_ERR crc\n", b"[ml] MLMODEL_READY\r\n", b"[ml] ERROR: no log\n", b"\r", b"\n"]),
), max_size=12)


@both(st.tuples(st.integers(0, len(EXPECTATIONS) - 1), REPLY))
def _protocol(case):
    which, chunks = case
    expectation, buf = EXPECTATIONS[which](), protocol.ReplyBuffer()
    with contextlib.suppress(DeviceError):
        for chunk in chunks:
            buf.feed(chunk)
            buf.bound_partial() if getattr(expectation, "reading_lines", True) else None
            if expectation.step(buf) is not None:
                break
        buf.last_said()


test_protocol_replies, test_protocol_replies_many = _protocol


# --- the CLI over hostile files ------------------------------------------------------------------------


def run_cli(argv, workdir: Path):
    """Run the CLI in-process; check the exit code and stderr, and that a failure wrote nothing."""
    before = sorted(p.relative_to(workdir) for p in workdir.rglob("*"))
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        code = main(argv)  # an exception escaping here is the traceback the user would see
    lines = err.getvalue().strip().splitlines()
    assert "Traceback" not in err.getvalue()
    assert code in (0, 1), (argv, code, lines)
    if code == 1 and argv[0] == "validate" and not lines:
        assert out.getvalue().startswith("rejected: ")  # validate's verdict, documented: exit 1, the reason
    elif code == 1:
        errors = [line for line in lines if line.startswith("error:")]
        assert len(errors) == 1 and lines[-1] == errors[0], lines
        assert all(line.startswith(("error:", "warning:")) for line in lines), lines
        after = sorted(p.relative_to(workdir) for p in workdir.rglob("*"))
        assert after == before, (argv, lines)
    return code


@contextlib.contextmanager
def workdir():
    d = Path(tempfile.mkdtemp(prefix="stingerml-fuzz-"))
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


LOG_COMMANDS = (
    lambda log, out: ["convert", str(log), "-o", str(out / "x.csv" if log.suffix == ".bin" else out / "x.bin")],
    lambda log, out: ["export", str(log), "--out", str(out / "tf")],
    lambda log, out: ["plot", str(log), "--out", str(out / "plots")],
    lambda log, out: ["online", str(log)],
    lambda log, out: ["replay", str(log), "-o", str(out / "p.csv")],
    lambda log, out: ["train", str(log), "--out", str(out / "m"), "--quiet"],
    lambda log, out: ["train", str(log), str(log), "--out", str(out / "m"), "--quiet"],
    lambda log, out: ["benchmark", str(log), "-o", str(out / "b.md"), "--seeds", "1", "--lr-iterations", "5",
                      "--mlp-iterations", "2", "--quiet"],
)


@both(st.tuples(st.one_of(LOG_BYTES.map(lambda b: (".bin", b)), CSV_TEXT.map(lambda t: (".csv", t.encode("utf-8"))),
                          st.binary(max_size=200).map(lambda b: (".csv", b))),
                st.integers(0, len(LOG_COMMANDS) - 1)))
def _cli_logs(case):
    (suffix, data), which = case
    with workdir() as d:
        log = d / f"in{suffix}"
        log.write_bytes(data[: 17 * 120])  # small: a command that succeeds stays fast
        out = d / "out"
        out.mkdir()
        run_cli(LOG_COMMANDS[which](log, out), d)


test_cli_log_commands, test_cli_log_commands_many = _cli_logs


MODEL_COMMANDS = (
    lambda f, out: ["validate", str(f), "--slot", "lr"],
    lambda f, out: ["validate", str(f), "--slot", "mlp"],
    lambda f, out: ["export-header", "--lr", str(f), "-o", str(out / "w.h")],
    lambda f, out: ["export-header", "--mlp", str(f), "-o", str(out / "w.h")],
)


@both(st.tuples(MODEL_BYTES, st.integers(0, len(MODEL_COMMANDS) - 1)))
def _cli_models(case):
    blob, which = case
    with workdir() as d:
        f = d / "model.bin"
        f.write_bytes(blob)
        out = d / "out"
        out.mkdir()
        code = run_cli(MODEL_COMMANDS[which](f, out), d)
        assert code in (0, 1)


test_cli_model_commands, test_cli_model_commands_many = _cli_models


def _folder_files():
    folder = trainfolder.encode(trainfolder.TrainFolder(
        windows=__import__("array").array("h", range(-300, 300)) * 2,
        labels=__import__("array").array("B", [1, 0, 1, 0]),
        index=[{"row": i, "label": (1, 0, 1, 0)[i], "shot_num": i, "shot_timestamp_ms": 1000 * i,
                "distance_to_shot_ms": 0, "event_timestamp_ms": 1000 * i, "window_start_ms": 0,
                "window_end_ms": 490, "source": "x.bin"} for i in range(4)],
        meta={"window_samples": 50, "positives": 2, "negatives": 2},
        summary={"samples": 100, "duration_ms": 1000},
    ))
    return folder


FOLDER = _folder_files()


@both(st.tuples(st.sampled_from(sorted(FOLDER)), st.one_of(
    st.sampled_from([b"", b"[" * 50000, b'{"window_samples": "50"}', b'{"duration_ms": "abc"}', b"\xff", b"null",
                     b'{"window_samples": 1e400}', b'{"samples": -1}']),
    st.binary(max_size=100)), st.booleans()))
def _cli_folder(case):
    name, replacement, mutate_instead = case
    with workdir() as d:
        tf = d / "tf"
        tf.mkdir()
        for n, data in FOLDER.items():
            (tf / n).write_bytes(data)
        (tf / name).write_bytes(replacement if not mutate_instead else FOLDER[name][: len(replacement)] + replacement)
        with contextlib.suppress(StingerError):
            trainfolder.read(tf)
        run_cli(["train", "--train-dir", str(tf), "--out", str(d / "m"), "--quiet"], d)
        run_cli(["benchmark", "--train-dir", str(tf), "-o", str(d / "b.md"), "--seeds", "1", "--lr-iterations", "5",
                 "--mlp-iterations", "2", "--quiet"], d)


test_cli_training_folder, test_cli_training_folder_many = _cli_folder


OPTIONS = st.sampled_from([
    ["online", "LOG", "--ema-ms", "V"], ["online", "LOG", "--on", "V"], ["online", "LOG", "--min-on-ms", "V"],
    ["synth", "-o", "OUT.bin", "--seconds", "V"], ["export", "LOG", "--out", "OUT", "--window-ms", "V"],
    ["export", "LOG", "--out", "OUT", "--neg-mult", "V"], ["export", "LOG", "--out", "OUT", "--lead-ms", "V"],
    ["export", "LOG", "--out", "OUT", "--neg-min-motion-quantile", "V"],
    ["pull", "-o", "OUT.bin", "--port", "socket://127.0.0.1:1", "--timeout", "V"],
    ["emulate", "--tcp", "V"],
])
VALUE = st.one_of(st.sampled_from(["nan", "inf", "-inf", "-1", "0", "1e308", "1e-300", "99999999999", "0.5", "3"]),
                  st.integers(-10**6, 10**6).map(str), st.floats(allow_nan=True).map(repr))


@both(st.tuples(OPTIONS, VALUE))
def _cli_options(case):
    template, value = case
    with workdir() as d:
        log = d / "log.bin"
        log.write_bytes(TINY)
        argv = [str(log) if a == "LOG" else str(d / a) if a.startswith("OUT") else value if a == "V" else a
                for a in template]
        try:
            if argv[0] == "synth" and 5 < float(value) <= 86400:
                return  # a long synthetic recording is valid, only slow
        except ValueError:
            pass
        if argv[0] == "emulate" and value.isdigit() and int(value) <= 65535:
            return  # a valid port: it would serve until killed
        try:
            run_cli(argv, d)
        except SystemExit as exc:  # argparse: a value of the wrong type is a usage error (exit 2)
            assert exc.code == 2


test_cli_option_values, test_cli_option_values_many = _cli_options
