"""Device log: binary and CSV parsing/writing against struct, the reference CSV and round-trip properties."""
from __future__ import annotations

import os
import struct
import warnings
from array import array
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import stingerml.core.atomic
from stingerml.blaster.log import (
    CHANNELS,
    CSV_COLUMNS,
    RECORD_SIZE,
    Log,
    from_columns,
    parse_csv,
    parse_log,
    read_log,
    to_csv,
    write_log,
)
from stingerml.cli import main
from stingerml.core.errors import LogFormatError, StingerWarning

VECTORS = Path(__file__).resolve().parent.parent / "vectors" / "sessions"
TINY = VECTORS / "tiny.bin"
SESSION_A = VECTORS / "session_a.bin"
SESSION_A_CSV = VECTORS / "session_a.csv"
ORACLE = struct.Struct("<IhhhhhhB")  # independent of stingerml.blaster.log.RECORD


def rows(log: Log) -> list:
    """The log as a list of 8-tuples (timestamp, ax..gz, trigger)."""
    return list(zip(log.timestamp_ms, *log.channels, log.trigger))


def oracle_rows(data: bytes) -> list:
    whole = len(data) - len(data) % 17
    return list(ORACLE.iter_unpack(data[:whole]))


def pack(records) -> bytes:
    return b"".join(ORACLE.pack(*r) for r in records)


# --- binary parsing against the struct oracle -------------------------------------------------


@pytest.mark.parametrize("path", [TINY, SESSION_A], ids=["tiny", "session_a"])
def test_parse_matches_struct_oracle(path):
    data = path.read_bytes()
    log = parse_log(data)
    assert RECORD_SIZE == 17
    assert len(log) == len(data) // 17
    assert rows(log) == oracle_rows(data)
    assert log.trailing_bytes == 0 and log.warnings == []
    assert log.to_bytes() == data


def test_reference_sessions_have_expected_sizes():
    assert len(parse_log(TINY)) == 4000
    assert len(parse_log(SESSION_A)) == 30000


def test_column_types_and_access():
    log = parse_log(TINY)
    assert log.timestamp_ms.itemsize == 4 and log.timestamp_ms.typecode in "IL"
    assert [c.typecode for c in log.channels] == ["h"] * 6
    assert log.trigger.typecode == "B"
    for name in CSV_COLUMNS:
        assert log.column(name) is getattr(log, name)
    with pytest.raises(KeyError):
        log.column("bogus")
    first = oracle_rows(TINY.read_bytes())[0]
    assert log.timestamp_ms[0] == first[0] and log.ax[0] == first[1] and log.trigger[0] == first[7]


def test_parse_from_bytes_bytearray_memoryview_and_path_agree():
    data = SESSION_A.read_bytes()
    logs = [
        parse_log(data),
        parse_log(bytearray(data)),
        parse_log(memoryview(data)),
        parse_log(SESSION_A),
        parse_log(str(SESSION_A)),
        read_log(SESSION_A),
    ]
    expected = oracle_rows(data)
    for log in logs:
        assert rows(log) == expected
    assert str(SESSION_A) in logs[3].source


def test_parse_memoryview_with_offset_and_non_byte_format():
    data = pack([(1, 2, 3, 4, 5, 6, 7, 1), (2, -1, -2, -3, -4, -5, -6, 0)])
    padded = b"\xff" * 5 + data
    assert rows(parse_log(memoryview(padded)[5:])) == oracle_rows(data)
    # A memoryview of another item format is read as its raw bytes.
    as_words = memoryview(bytearray(data + b"\0")).cast("B")
    assert rows(parse_log(as_words[: len(data)])) == oracle_rows(data)


def test_slice():
    log = parse_log(TINY)
    part = log.slice(100, 150)
    assert len(part) == 50
    assert rows(part) == rows(log)[100:150]


# --- CSV: the original converter's format -----------------------------------------------------


def test_to_csv_equals_reference_converter_output_byte_for_byte():
    assert to_csv(parse_log(SESSION_A)).encode("utf-8") == SESSION_A_CSV.read_bytes()


def test_reference_csv_parses_back_to_the_binary():
    log = read_log(SESSION_A_CSV)
    assert log.to_bytes() == SESSION_A.read_bytes()
    assert rows(parse_csv(SESSION_A_CSV.read_text())) == oracle_rows(SESSION_A.read_bytes())


def test_csv_column_order_is_by_header_name_and_extras_ignored():
    text = "trigger,gz,gy,gx,az,ay,ax,timestamp_ms,note\n1,6,5,4,3,2,1,100,hello\n0,-6,-5,-4,-3,-2,-1,110,x\n"
    assert rows(parse_csv(text)) == [(100, 1, 2, 3, 4, 5, 6, 1), (110, -1, -2, -3, -4, -5, -6, 0)]


# --- hypothesis round trips -------------------------------------------------------------------

i16 = st.one_of(st.sampled_from([-32768, -32767, -1, 0, 1, 32766, 32767]), st.integers(-32768, 32767))


@st.composite
def records(draw, max_size=40):
    n = draw(st.integers(min_value=1, max_value=max_size))
    start = draw(st.one_of(st.just(0), st.integers(0, 2**32 - 1)))
    steps = draw(st.lists(st.integers(0, 20_000), min_size=n - 1, max_size=n - 1))
    ts = [start]
    for d in steps:
        ts.append(min(ts[-1] + d, 2**32 - 1))
    flat = draw(st.lists(i16, min_size=6 * n, max_size=6 * n))
    trig = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    return [(t, *flat[6 * k : 6 * k + 6], g) for k, (t, g) in enumerate(zip(ts, trig))]


def log_from_records(recs) -> Log:
    cols = list(zip(*recs))
    return from_columns(cols[0], cols[1:7], cols[7])


@given(recs=records())
@settings(max_examples=100)
def test_binary_write_parse_round_trip(recs):
    log = log_from_records(recs)
    data = log.to_bytes()
    assert data == pack(recs)  # writer agrees with struct
    back = parse_log(data)
    assert rows(back) == recs
    assert back.trailing_bytes == 0


@given(recs=records())
@settings(max_examples=100)
def test_csv_round_trip(recs):
    text = to_csv(log_from_records(recs))
    lines = text.splitlines()
    assert lines[0] == ",".join(CSV_COLUMNS)
    assert [tuple(int(v) for v in line.split(",")) for line in lines[1:]] == recs  # independent reading
    assert rows(parse_csv(text)) == recs


@given(recs=records(max_size=10))
@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_write_log_then_read_log_both_formats(recs, tmp_path):
    log = log_from_records(recs)
    for name in ("x.bin", "x.csv", "x.log"):
        write_log(log, tmp_path / name)
        assert rows(read_log(tmp_path / name)) == recs
    assert (tmp_path / "x.bin").read_bytes() == pack(recs)


# --- trailing bytes ---------------------------------------------------------------------------


@pytest.mark.parametrize("extra", [1, 5, 16])
def test_trailing_bytes_counted_and_warned(extra):
    data = TINY.read_bytes()[: 17 * 10] + b"\xaa" * extra
    with pytest.warns(StingerWarning, match=f"{extra} trailing byte"):
        log = parse_log(data)
    assert len(log) == 10
    assert log.trailing_bytes == extra
    assert len(log.warnings) == 1 and "170" in log.warnings[0]  # names the offset
    assert rows(log) == oracle_rows(data)


def test_no_warning_without_trailing_bytes():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        parse_log(TINY)


# --- bad input: one clear error each ----------------------------------------------------------


def test_empty_file(tmp_path):
    p = tmp_path / "empty.bin"
    p.write_bytes(b"")
    with pytest.raises(LogFormatError, match=r"empty\.bin: 0 bytes hold no complete 17-byte record"):
        parse_log(p)


@pytest.mark.parametrize("size", [1, 16])
def test_shorter_than_one_record(size):
    with pytest.raises(LogFormatError, match=f"{size} bytes hold no complete"):
        parse_log(b"\x00" * size)


def test_missing_file(tmp_path):
    with pytest.raises(LogFormatError, match="cannot read"):
        parse_log(tmp_path / "nope.bin")


def test_trigger_byte_two_is_rejected_naming_the_sample():
    recs = [(10 * i, 0, 0, 0, 0, 0, 0, 0) for i in range(5)]
    recs[3] = (30, 0, 0, 0, 0, 0, 0, 2)
    with pytest.raises(LogFormatError, match=r"sample 3: trigger is 2, expected 0 or 1"):
        parse_log(pack(recs))


def test_timestamps_going_backwards_is_rejected_naming_the_sample():
    recs = [(t, 0, 0, 0, 0, 0, 0, 0) for t in (100, 110, 120, 115, 130)]
    with pytest.raises(LogFormatError, match=r"sample 3: timestamp 115 ms is earlier than .* 120 ms"):
        parse_log(pack(recs))


def test_equal_timestamps_are_allowed():
    recs = [(t, 0, 0, 0, 0, 0, 0, 0) for t in (100, 100, 110)]
    assert rows(parse_log(pack(recs))) == recs


def test_csv_missing_column():
    text = "timestamp_ms,ax,ay,az,gx,gy,trigger\n1,2,3,4,5,6,0\n"
    with pytest.raises(LogFormatError, match=r"line 1: missing column\(s\) gz"):
        parse_csv(text, source="x.csv")


@pytest.mark.parametrize("cell", ["1.5", "abc", "", "0x10"])
def test_csv_non_integer_cell(cell):
    text = f"timestamp_ms,ax,ay,az,gx,gy,gz,trigger\n1,2,3,4,5,6,7,0\n2,2,{cell},4,5,6,7,0\n"
    with pytest.raises(LogFormatError, match=r"x\.csv: line 3, column ay: .* is not an integer"):
        parse_csv(text, source="x.csv")


@pytest.mark.parametrize(
    "row, column", [("1,40000,0,0,0,0,0,0", "ax"), ("-1,0,0,0,0,0,0,0", "timestamp_ms"), ("1,0,0,0,0,0,-32769,0", "gz")]
)
def test_csv_out_of_range(row, column):
    with pytest.raises(LogFormatError, match=f"line 2, column {column}: .* outside"):
        parse_csv(",".join(CSV_COLUMNS) + "\n" + row + "\n")


def test_csv_trigger_and_backwards_checks_name_the_line():
    head = ",".join(CSV_COLUMNS) + "\n"
    with pytest.raises(LogFormatError, match=r"line 3: trigger is 2"):
        parse_csv(head + "1,0,0,0,0,0,0,0\n2,0,0,0,0,0,0,2\n")
    with pytest.raises(LogFormatError, match=r"line 3: timestamp 1 ms is earlier"):
        parse_csv(head + "5,0,0,0,0,0,0,0\n1,0,0,0,0,0,0,0\n")


@pytest.mark.parametrize("text", ["", "timestamp_ms,ax,ay,az,gx,gy,gz,trigger\n"])
def test_csv_without_samples(text):
    with pytest.raises(LogFormatError):
        parse_csv(text)


# --- atomic writes ----------------------------------------------------------------------------


def test_write_log_failure_leaves_no_partial_or_temp_file(tmp_path, monkeypatch):
    log = parse_log(TINY)
    target = tmp_path / "out.bin"
    target.write_bytes(b"old contents")

    def boom(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(stingerml.core.atomic.os, "fsync", boom)
    with pytest.raises(OSError):
        write_log(log, target)
    with pytest.raises(OSError):
        write_log(log, tmp_path / "new.csv")
    assert sorted(os.listdir(tmp_path)) == ["out.bin"]
    assert target.read_bytes() == b"old contents"


def test_write_log_onto_a_directory_fails_cleanly(tmp_path):
    (tmp_path / "d.bin").mkdir()
    with pytest.raises(OSError):
        write_log(parse_log(TINY), tmp_path / "d.bin")
    assert os.listdir(tmp_path) == ["d.bin"]


# --- CLI convert ------------------------------------------------------------------------------


def test_cli_convert_bin_to_csv_and_back(tmp_path, capsys):
    csv_path, bin_path = tmp_path / "a.csv", tmp_path / "a.bin"
    assert main(["convert", str(SESSION_A), "-o", str(csv_path)]) == 0
    assert csv_path.read_bytes() == SESSION_A_CSV.read_bytes()
    assert main(["convert", str(csv_path), "-o", str(bin_path)]) == 0
    assert bin_path.read_bytes() == SESSION_A.read_bytes()
    assert "30000 samples" in capsys.readouterr().out


def test_cli_convert_reports_trailing_bytes_on_stderr(tmp_path, capsys):
    src = tmp_path / "t.bin"
    src.write_bytes(TINY.read_bytes() + b"\x01\x02\x03")
    assert main(["convert", str(src), "-o", str(tmp_path / "t.csv")]) == 0
    err = capsys.readouterr().err
    assert err.startswith("warning: ") and "3 trailing byte(s)" in err
    assert rows(read_log(tmp_path / "t.csv")) == oracle_rows(TINY.read_bytes())


@pytest.mark.parametrize(
    "src, dst, message",
    [
        ("a.bin", "b.bin", "both binary"),
        ("a.csv", "b.csv", "both CSV"),
        ("a.txt", "b.csv", "cannot tell the input format"),
        ("a.bin", "b.json", "cannot tell the output format"),
        ("a.bin", "b", "cannot tell the output format"),
    ],
)
def test_cli_convert_rejects_bad_extensions(tmp_path, capsys, src, dst, message):
    (tmp_path / src).write_bytes(TINY.read_bytes())
    assert main(["convert", str(tmp_path / src), "-o", str(tmp_path / dst)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert sorted(os.listdir(tmp_path)) == [src]


@pytest.mark.parametrize(
    "content, message",
    [(b"", "no complete 17-byte record"), (b"\x00" * 16 + b"\x02", "trigger is 2")],
)
def test_cli_convert_bad_input_writes_nothing(tmp_path, capsys, content, message):
    (tmp_path / "bad.bin").write_bytes(content)
    assert main(["convert", str(tmp_path / "bad.bin"), "-o", str(tmp_path / "bad.csv")]) == 1
    assert message in capsys.readouterr().err
    assert os.listdir(tmp_path) == ["bad.bin"]


def test_cli_convert_unwritable_output(tmp_path, capsys):
    assert main(["convert", str(TINY), "-o", str(tmp_path / "missing" / "x.csv")]) == 1
    assert "cannot write" in capsys.readouterr().err


def test_channels_constant():
    assert CHANNELS == ("ax", "ay", "az", "gx", "gy", "gz")
    assert array("h").itemsize == 2
