"""stingerml diff: per-tensor ulp differences of MLMD files, per-column differences of replay CSVs."""
from __future__ import annotations

import io
import json
import struct
from array import array

import pytest
from conftest import VECTORS, use_backend

from stingerml import read_log
from stingerml.blaster.modeldiff import diff_files, ulp_distance
from stingerml.cli import main
from stingerml.formats import mlmd

BROWSER, APP = VECTORS / "browser", VECTORS / "browser_app"
# MLP payload layout (SPEC §9), written out here rather than taken from the code under test
MLP_LAYOUT = [("mean", 30), ("scale", 30), ("W1", 1920), ("b1", 64), ("W2", 2048), ("b2", 32), ("W3", 32), ("b3", 1)]


def run(capsys, *argv):
    rc = main(["diff", *map(str, argv)])
    out, err = capsys.readouterr()
    return rc, out, err


def oracle_tensors(path_a, path_b):
    """Per tensor (differing count, max ulp) from the raw bytes, with signed-int ulp arithmetic."""
    a, b = path_a.read_bytes()[24:], path_b.read_bytes()[24:]
    ia, ib = struct.unpack(f"<{len(a) // 4}i", a), struct.unpack(f"<{len(b) // 4}i", b)
    key = lambda i: i if i >= 0 else -(2**31) - i  # noqa: E731  (sign-magnitude to two's complement order)
    out, pos = {}, 0
    for name, n in MLP_LAYOUT:
        pairs = [(x, y) for x, y in zip(ia[pos : pos + n], ib[pos : pos + n]) if x != y]
        out[name] = (len(pairs), max((abs(key(x) - key(y)) for x, y in pairs), default=None))
        pos += n
    return out


@pytest.mark.parametrize("session", ["session_a", "tiny"])
def test_browser_600_vs_app_700_iterations(capsys, session):
    a, b = BROWSER / f"{session}.mlp.mlmd", APP / f"{session}.mlp.mlmd"
    rc, out, err = run(capsys, a, b, "--json")
    assert rc == 1 and err == ""
    report = json.loads(out)
    assert report["identical"] is False and report["kind"] == "mlmd"
    assert [f["name"] for f in report["fields"]] == ["payload_crc32"]
    expected = oracle_tensors(a, b)
    got = {p["name"]: (p["differing"], p["max_ulp"]) for p in report["parts"]}
    assert got == expected
    # the same data, the same scaler; 100 more Adam steps move every weight
    assert got["mean"][0] == got["scale"][0] == 0
    assert all(got[name][0] > 0 for name in ("W1", "b1", "W2", "b2", "W3", "b3"))
    w1 = next(p for p in report["parts"] if p["name"] == "W1")
    assert w1["shape"] == [64, 30] and w1["first"][0]["index"] == [0, 0]
    rc, text, _ = run(capsys, a, b)
    assert rc == 1 and "mean [30]: identical" in text and "W1 [64x30]: " in text
    assert text.splitlines()[-1] == "differ: 1 field(s), 6 of 8 tensors"


@pytest.mark.parametrize("path", [APP / "tiny.mlp.mlmd", BROWSER / "tiny.lr.mlmd"])
def test_file_against_itself_exits_0(capsys, path):
    rc, out, err = run(capsys, path, path)
    assert rc == 0 and err == "" and out.splitlines()[-1].startswith("identical (")


def test_known_differences(tmp_path):
    lr = mlmd.parse((BROWSER / "tiny.lr.mlmd").read_bytes())
    base = mlmd.build(lr)
    coef = array("f", lr.coef)
    bits = array("I", coef.tobytes())
    bits[3] += 1  # one ulp
    bits[7] ^= 0x80000000  # sign flip
    coef = array("f", bits.tobytes())
    lr2 = mlmd.LRModel(lr.mean, lr.scale, coef, lr.intercept)
    (tmp_path / "a.mlmd").write_bytes(base)
    (tmp_path / "b.mlmd").write_bytes(mlmd.build(lr2) + b"xyz")
    d = diff_files(tmp_path / "a.mlmd", tmp_path / "b.mlmd")
    assert [f[0] for f in d.fields] == ["payload_crc32", "trailing"]
    part = {p.name: p for p in d.parts}
    assert part["coef"].differing == 2 and [q.index for q in part["coef"].first] == [(3,), (7,)]
    assert part["coef"].first[0].ulp == 1
    c7 = array("I", array("f", [lr.coef[7]]).tobytes())[0] & 0x7FFFFFFF
    assert part["coef"].max_ulp == 2 * c7
    assert part["coef"].max_abs == abs(2 * lr.coef[7])
    assert part["mean"].differing == part["intercept"].differing == 0


def test_matrix_positions(tmp_path):
    mlp = mlmd.parse((BROWSER / "tiny.mlp.mlmd").read_bytes())
    W2 = array("f", mlp.W2)
    W2[5 * 64 + 17] = 0.0 if W2[5 * 64 + 17] else 1.0
    (tmp_path / "a.mlmd").write_bytes(mlmd.build(mlp))
    mlp.W2 = W2
    (tmp_path / "b.mlmd").write_bytes(mlmd.build(mlp))
    part = {p.name: p for p in diff_files(tmp_path / "a.mlmd", tmp_path / "b.mlmd").parts}
    assert part["W2"].differing == 1 and part["W2"].first[0].index == (5, 17)


def test_ulp_distance_ieee_facts():
    f = lambda x: struct.unpack("<I", struct.pack("<f", x))[0]  # noqa: E731
    assert ulp_distance(f(1.0), f(1.0)) == 0
    assert ulp_distance(f(1.0), 0x3F800001) == 1
    assert ulp_distance(f(0.0), f(-0.0)) == 0
    assert ulp_distance(0x00000001, 0x80000001) == 2  # ±smallest subnormal
    assert ulp_distance(0x7F7FFFFF, f(float("inf"))) == 1
    assert ulp_distance(f(1.0), f(-1.0)) == 2 * 0x3F800000
    assert ulp_distance(f(float("nan")), f(1.0)) is None


# --------------------------------------------------------------------------- CSV


def write(path, text):
    path.write_text(text)
    return path


def test_csv_columns(tmp_path, capsys):
    a = write(tmp_path / "a.csv", "timestamp_ms,p_lr,p_mlp,tag\n4294967295,0.1,0.5,x\n10,0.25,0.5,y\n20,0,1,z\n")
    b = write(tmp_path / "b.csv", "timestamp_ms,p_lr,p_mlp,tag\n4294967294,0.100000001,0.500000060,x\n10,0.25,0.5,w\n")
    rc, out, err = run(capsys, a, b, "--json")
    assert rc == 1, err
    report = json.loads(out)
    assert report["kind"] == "csv" and report["fields"] == [{"name": "rows", "a": 3, "b": 2}]
    col = {p["name"]: p for p in report["parts"]}
    assert col["timestamp_ms"]["differing"] == 1 and col["timestamp_ms"]["max_ulp"] is None
    assert col["timestamp_ms"]["max_abs"] == 1.0  # compared as integers: float32 would call them equal
    assert col["p_lr"]["differing"] == 0  # the same float32
    assert col["p_mlp"]["differing"] == 1 and col["p_mlp"]["max_ulp"] == 1 and col["p_mlp"]["first"][0]["index"] == [0]
    assert col["tag"]["first"] == [{"index": [1], "a": "y", "b": "w", "ulp": None}]
    assert "the first 2 rows" in report["note"]


def test_replay_csv_equals_the_real_firmware_stream(tmp_path, capsys):
    """stingerml replay of tiny with the browser's models vs the real firmware's stream, as CSV."""
    out = tmp_path / "replay.csv"
    with use_backend("python"):
        assert main(["replay", str(VECTORS / "sessions" / "tiny.bin"), "--lr", str(BROWSER / "tiny.lr.mlmd"),
                     "--mlp", str(BROWSER / "tiny.mlp.mlmd"), "-o", str(out)]) == 0
    log = read_log(VECTORS / "sessions" / "tiny.bin")
    rows = [line.split() for line in (VECTORS / "firmware" / "tiny.stream_user.txt").read_text().splitlines()
            if line and not line.startswith("#")]
    ref = write(tmp_path / "firmware.csv", "timestamp_ms,p_lr,p_mlp\n" +
                "".join(f"{t},{a},{b}\n" for t, (a, b) in zip(log.timestamp_ms, rows)))
    capsys.readouterr()
    rc, text, err = run(capsys, out, ref)
    assert rc == 0, text[-2000:]
    assert text.splitlines()[-1] == "identical (3 columns)"
    # and a one-ulp change in one row is found
    lines = ref.read_text().splitlines()
    t, p_lr, p_mlp = lines[1000].split(",")
    bumped = struct.unpack("<f", struct.pack("<I", struct.unpack("<I", struct.pack("<f", float(p_mlp)))[0] + 1))[0]
    lines[1000] = f"{t},{p_lr},{bumped!r}"
    write(ref, "\n".join(lines) + "\n")
    rc, out_json, _ = run(capsys, out, ref, "--json")
    col = {p["name"]: p for p in json.loads(out_json)["parts"]}
    assert rc == 1 and col["p_mlp"]["differing"] == 1 and col["p_mlp"]["max_ulp"] == 1
    assert col["p_mlp"]["first"][0]["index"] == [999]


# --------------------------------------------------------------------------- trouble: exit 2


@pytest.mark.parametrize("b, message", [
    ("missing.mlmd", "cannot read"),
    (VECTORS / "sessions" / "session_a.csv", "compare two files of the same kind"),
    (VECTORS / "mlmd_cases" / "lr_payload_bitflip.mlmd", "CRC-32"),
    (VECTORS / "sessions" / "tiny.bin", "neither an MLMD model file"),
])
def test_trouble_is_exit_2_with_one_error_line(tmp_path, capsys, b, message):
    b = tmp_path / b if isinstance(b, str) else b
    rc, out, err = run(capsys, VECTORS / "mlmd_cases" / "lr_valid.mlmd", b)
    assert rc == 2 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err


def test_ragged_csv_is_exit_2(tmp_path, capsys):
    a = write(tmp_path / "a.csv", "x,y\n1,2\n")
    b = write(tmp_path / "b.csv", "x,y\n1,2,3\n")
    rc, out, err = run(capsys, a, b)
    assert rc == 2 and out == "" and "row 2 has 3 fields" in err


def test_dash_reads_one_file_from_standard_input(capsys, monkeypatch):
    a, b = BROWSER / "tiny.mlp.mlmd", APP / "tiny.mlp.mlmd"
    for stdin, argv, code in ((a, ["-", a], 0), (b, [a, "-"], 1)):
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(stdin.read_bytes())))
        rc, out, err = run(capsys, *argv)
        k = argv.index("-")
        assert rc == code and err == "" and out.splitlines()[k] == f"{'AB'[k]}: -"
    rc, out, err = run(capsys, "-", "-")
    assert rc == 2 and out == "" and err.startswith("error: ") and err.count("\n") == 1
