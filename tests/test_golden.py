"""Golden vectors: checked by a C compiler, by node, by the real firmware's outputs, and for determinism."""
from __future__ import annotations

import json
import shutil
import struct
import subprocess
from array import array

import pytest
from c_inference import C_INFERENCE, compile_c
from conftest import VECTORS, use_backend

from stingerml import read_log
from stingerml.blaster import golden
from stingerml.blaster.dataset import build_dataset, interleave
from stingerml.blaster.log import from_columns
from stingerml.cli import main
from stingerml.core.errors import DatasetError
from stingerml.formats import mlmd
from stingerml.formats.header import export_header

BROWSER = VECTORS / "browser"
CASES = {"first_full_window", "positive_0", "negative_0", "gate_still", "gate_above", "saturated",
         "near_0_lr", "near_half_lr", "near_1_lr", "near_0_mlp", "near_half_mlp", "near_1_mlp"}
_CACHE = {}


def models(session):
    return tuple(mlmd.parse((BROWSER / f"{session}.{kind}.mlmd").read_bytes()) for kind in ("lr", "mlp"))


def golden_for(session, backend="python"):
    """The golden set of a session with the browser's models (computed once per backend)."""
    key = (session, backend)
    if key not in _CACHE:
        with use_backend(backend):
            log = read_log(VECTORS / "sessions" / f"{session}.bin")
            _CACHE[key] = golden.golden_set(log, *models(session), {"lr": f"{session}.lr.mlmd",
                                                                    "mlp": f"{session}.mlp.mlmd"})
    return _CACHE[key]


def texts(gs):
    return golden.render_header(gs), golden.render_json(gs), golden.render_readme(gs)


def bits(value):
    return struct.unpack("<I", struct.pack("<f", value))[0]


# --------------------------------------------------------------------------- determinism


def test_same_bytes_twice_and_on_both_backends():
    first = texts(golden_for("tiny"))
    log = read_log(VECTORS / "sessions" / "tiny.bin")
    again = golden.golden_set(log, *models("tiny"), {"lr": "tiny.lr.mlmd", "mlp": "tiny.mlp.mlmd"})
    assert texts(again) == first
    assert texts(golden_for("tiny", "numba")) == first


# --------------------------------------------------------------------------- selection


def test_selection_cases_tiny():
    gs = golden_for("tiny")
    cases = {c for w in gs.windows for c in w.cases}
    assert CASES <= cases
    by_name = {w.name: (r, w) for r, w in enumerate(gs.windows)}
    log = read_log(VECTORS / "sessions" / "tiny.bin")
    samples = interleave(log)
    ds = build_dataset(log)
    for r, w in enumerate(gs.windows):
        if w.start >= 0:
            assert w.samples == samples[6 * w.start : 6 * (w.start + 50)], w.name
        if w.label >= 0:
            assert ds.labels[ds.starts.index(w.start)] == w.label
    assert by_name["first_full_window"][1].start == 0
    # tiny has neither still windows nor saturated values: both are made up, and said so
    r, still = by_name["gate_still"]
    assert still.start == -1 and gs.outputs["rms"][r] < 60
    assert gs.outputs["p_lr"][r] == gs.outputs["p_mlp"][r] == 0.0 and gs.outputs["raw_mlp"][r] > 0.0
    r, sat = by_name["saturated"]
    assert sat.start == -1 and {-32768, 32767} <= set(sat.samples)
    assert len(gs.notes) == 2 and "gate_still" in gs.notes[0] and "saturated" in gs.notes[1]
    r, above = by_name["gate_above"]
    assert gs.outputs["rms"][r] >= 60 and gs.outputs["p_mlp"][r] == gs.outputs["raw_mlp"][r]


def test_selection_real_saturated_window_session_a():
    gs = golden_for("session_a")
    sat = next(w for w in gs.windows if "saturated" in w.cases)
    assert sat.start >= 0 and ({-32768, 32767} & set(sat.samples))
    assert not any("saturated" in note for note in gs.notes)


def test_real_still_windows_are_taken_from_the_log():
    log = read_log(VECTORS / "sessions" / "tiny.bin")
    n = 700
    quiet = [array("h", [v // 8 if 100 <= i < 400 else v for i, v in enumerate(col[:n])]) for col in log.channels[3:]]
    still = from_columns(log.timestamp_ms[:n], [c[:n] for c in log.channels[:3]] + quiet, [0] * n, source="still.bin")
    gs = golden.golden_set(still, *models("tiny"))
    rms = gs.outputs["rms"]
    by_case = {c: r for r, w in enumerate(gs.windows) for c in w.cases}
    assert {"gate_still", "gate_below", "gate_above"} <= set(by_case)
    assert gs.windows[by_case["gate_still"]].start >= 0 and not any("gate_still" in x for x in gs.notes)
    assert rms[by_case["gate_still"]] <= rms[by_case["gate_below"]] < 60 <= rms[by_case["gate_above"]]
    r = by_case["gate_below"]
    assert gs.outputs["p_mlp"][r] == 0.0 and gs.outputs["raw_mlp"][r] > 0.0
    assert "the log's dataset has no positive rows" in gs.notes


def test_near_cases_are_the_extremes_of_the_golden_set():
    gs = golden_for("tiny")
    for kind in ("lr", "mlp"):
        raw = gs.outputs[f"raw_{kind}"]
        for tag, target in (("0", 0.0), ("half", 0.5), ("1", 1.0)):
            r = next(i for i, w in enumerate(gs.windows) if f"near_{tag}_{kind}" in w.cases)
            # the pool holds every real golden window, so none is closer (made-up ones are not in the pool)
            real = [i for i, w in enumerate(gs.windows) if w.start >= 0]
            assert all(abs(raw[r] - target) <= abs(raw[i] - target) for i in real)


def test_stream_starts_empty_and_matches_the_window():
    gs = golden_for("tiny")
    assert len(gs.stream) == 6 * golden.STREAM_SAMPLES
    assert list(gs.stream_p_lr[:49]) == [0.0] * 49
    first = next(r for r, w in enumerate(gs.windows) if w.start == gs.stream_start)
    assert gs.stream_p_lr[49] == gs.outputs["p_lr"][first] and gs.stream_p_mlp[49] == gs.outputs["p_mlp"][first]



def test_json_stream_samples_are_the_log_records():
    """golden.json's stream.samples: 100 rows of (ax, ay, az, gx, gy, gz) from the log, read here with
    struct from the 17-byte records of SPEC section 1 (<IhhhhhhB)."""
    doc = json.loads(golden.render_json(golden_for("tiny")))
    records = list(struct.iter_unpack("<IhhhhhhB", (VECTORS / "sessions" / "tiny.bin").read_bytes()))
    start = doc["stream"]["start"]
    assert doc["stream"]["samples"] == [list(r[1:7]) for r in records[start:start + 100]]


# --------------------------------------------------------------------------- the real firmware's answers


@pytest.mark.parametrize("session", ["tiny", "session_a"])
def test_dataset_rows_equal_the_real_firmware(session):
    gs = golden_for(session)
    rows = array("h", (BROWSER / f"{session}.windows_i16le.bin").read_bytes())
    ref = [json.loads(line) for line in (VECTORS / "firmware" / f"{session}.windows.jsonl").read_text().splitlines()]
    width = 300
    index = {bytes(rows[i * width : (i + 1) * width]): i for i in range(len(rows) // width)}
    checked = 0
    for r, w in enumerate(gs.windows):
        i = index.get(bytes(w.samples))
        if i is None:
            continue
        for key in ("p_lr", "p_mlp", "raw_lr", "raw_mlp"):
            assert bits(gs.outputs[key][r]) == bits(ref[i]["user"][key]), (w.name, key)
        assert [bits(v) for v in gs.outputs["features_rich"][r * 30 : r * 30 + 30]] == \
               [bits(v) for v in ref[i]["features_rich"]], w.name
        checked += 1
    assert checked >= 8  # the positive_k and negative_k rows at least


# --------------------------------------------------------------------------- C compiler


C_CHECK = r"""
#include <math.h>
#include <stdio.h>
#include "mlWeights.h"
#include "golden.h"
""" + C_INFERENCE + r"""
/* Every value of golden.h recomputed by the C inference, compared bit for bit. */
static int checked, failed;
static void expect(const char *name, const char *what, int j, uint32_t want, float got) {
    uint32_t g; memcpy(&g, &got, sizeof g);
    checked++;
    if (g != want) { failed++; printf("MISMATCH %s %s[%d] got %08x want %08x\n", name, what, j, g, want); }
}
int main(void) {
    for (int n = 0; n < GOLDEN_N; n++) {
        const char *name = golden_name[n];
        float f[30], rms;
        features(golden_windows[n], f, &rms);
        for (int j = 0; j < GOLDEN_SUMMARY_FEATURES; j++) expect(name, "features_summary", j, golden_features_summary[n][j], f[j]);
        for (int j = 0; j < GOLDEN_RICH_FEATURES; j++) expect(name, "features_rich", j, golden_features_rich[n][j], f[j]);
        expect(name, "rms", 0, golden_rms[n], rms);
        float zl = lr_logit(f), zm = mlp_logit(f), pl = sigmoid(zl), pm = sigmoid(zm);
        int gate = rms >= GOLDEN_GATE_RMS;
        expect(name, "z_lr", 0, golden_z_lr[n], zl);
        expect(name, "z_mlp", 0, golden_z_mlp[n], zm);
        expect(name, "raw_lr", 0, golden_raw_lr[n], pl);
        expect(name, "raw_mlp", 0, golden_raw_mlp[n], pm);
        expect(name, "p_lr", 0, golden_p_lr[n], gate ? pl : 0.0f);
        expect(name, "p_mlp", 0, golden_p_mlp[n], gate ? pm : 0.0f);
    }
    int16_t ring[50][6], window[50][6];
    int head = 0, pushed = 0;
    for (int k = 0; k < GOLDEN_STREAM_SAMPLES; k++) {
        memcpy(ring[head], golden_stream[k], sizeof ring[head]);
        head = (head + 1) % 50;
        pushed++;
        float pl = 0, pm = 0;
        if (pushed >= 50) {
            for (int i = 0; i < 50; i++) memcpy(window[i], ring[(head + i) % 50], sizeof window[i]);
            float f[30], rms;
            features(window, f, &rms);
            if (rms >= GOLDEN_GATE_RMS) { pl = sigmoid(lr_logit(f)); pm = sigmoid(mlp_logit(f)); }
        }
        expect("stream", "p_lr", k, golden_stream_p_lr[k], pl);
        expect("stream", "p_mlp", k, golden_stream_p_mlp[k], pm);
    }
    printf("checked %d failed %d\n", checked, failed);
    return failed != 0;
}
"""


def _compile_and_run(tmp_path, gs, header_text):
    exe = compile_c(tmp_path, C_CHECK, {"golden.h": header_text, "mlWeights.h": export_header(gs.lr, gs.mlp)})
    return subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("session", ["tiny", "session_a"])
def test_c_compiler_gets_every_value_bit_equal(tmp_path, session):
    gs = golden_for(session)
    run = _compile_and_run(tmp_path, gs, golden.render_header(gs))
    n = len(gs.windows)
    expected = n * (18 + 30 + 7) + 2 * golden.STREAM_SAMPLES
    assert run.stdout.splitlines()[-1] == f"checked {expected} failed 0", run.stdout[-3000:]
    assert run.returncode == 0


def test_c_check_catches_a_one_ulp_change(tmp_path):
    gs = golden_for("tiny")
    text = golden.render_header(gs)
    r = next(i for i, w in enumerate(gs.windows) if "near_half_mlp" in w.cases)
    want = bits(gs.outputs["p_mlp"][r])
    line = next(x for x in text.splitlines() if x.startswith("static const uint32_t golden_p_mlp["))
    tampered = text.replace(line, line.replace(f"0x{want:08x}u", f"0x{want + 1:08x}u", 1))
    run = _compile_and_run(tmp_path, gs, tampered)
    assert run.returncode == 1
    assert f"MISMATCH {gs.windows[r].name} p_mlp[0] got {want:08x} want {want + 1:08x}" in run.stdout


# --------------------------------------------------------------------------- node


NODE_CHECK = r"""
const fs = require('fs');
const golden = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const view = new DataView(new ArrayBuffer(4));
let checked = 0;
function check(bits, value, where) {
  view.setFloat32(0, value, true);
  const got = '0x' + view.getUint32(0, true).toString(16).padStart(8, '0');
  if (got !== bits || Math.fround(value) !== value) throw new Error(`${where}: ${value} -> ${got}, want ${bits}`);
  checked++;
}
function walk(node, where) {
  if (Array.isArray(node)) { node.forEach((v, i) => walk(v, `${where}[${i}]`)); return; }
  if (node === null || typeof node !== 'object') return;
  if ('bits' in node) {
    if (Array.isArray(node.bits)) node.bits.forEach((b, i) => check(b, node.values[i], `${where}[${i}]`));
    else check(node.bits, node.value, where);
    return;
  }
  for (const k of Object.keys(node)) walk(node[k], `${where}.${k}`);
}
walk(golden, 'golden');
console.log(`checked ${checked}`);
"""


def test_node_parses_every_number_to_the_same_float32_bits(tmp_path):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node not installed")
    gs = golden_for("tiny")
    (tmp_path / "golden.json").write_text(golden.render_json(gs))
    (tmp_path / "check.js").write_text(NODE_CHECK)
    run = subprocess.run([node, str(tmp_path / "check.js"), str(tmp_path / "golden.json")],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    expected = len(gs.windows) * (18 + 30 + 18 + 30 + 7) + 2 * golden.STREAM_SAMPLES
    assert run.stdout.strip() == f"checked {expected}"


def test_json_bits_and_values_agree_in_python():
    doc = json.loads(golden.render_json(golden_for("tiny")))
    w = doc["windows"][1]
    assert [bits(v) for v in w["features_rich"]["values"]] == [int(b, 16) for b in w["features_rich"]["bits"]]
    assert doc["models"]["mlp"]["payload_crc32"] == "0x%08x" % mlmd.HEADER.unpack_from(
        (BROWSER / "tiny.mlp.mlmd").read_bytes())[-1]


# --------------------------------------------------------------------------- CLI


def test_cli_writes_the_set(tmp_path, capsys):
    out = tmp_path / "g"
    out.mkdir()
    (out / "golden.h").write_text("stale")
    (out / "keep.txt").write_text("mine")
    rc = main(["golden", str(VECTORS / "sessions" / "tiny.bin"), "--lr", str(BROWSER / "tiny.lr.mlmd"),
               "--mlp", str(BROWSER / "tiny.mlp.mlmd"), "-o", str(out)])
    assert rc == 0
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "golden.h", "golden.json", "keep.txt"]
    assert (out / "golden.h").read_text() == golden.render_header(golden_for("tiny"))
    assert (out / "keep.txt").read_text() == "mine"
    readme = (out / "README.md").read_text()
    assert "| `near_half_mlp` |" in readme and "pio test" in readme and "node:test" in readme
    assert "note: saturated is made up" in capsys.readouterr().err


def test_cli_error_writes_nothing(tmp_path, capsys):
    out = tmp_path / "g"
    rc = main(["golden", str(VECTORS / "sessions" / "tiny.bin"), "--lr", str(BROWSER / "tiny.mlp.mlmd"),
               "-o", str(out)])
    err = capsys.readouterr().err
    assert rc == 1 and err.startswith("error: ") and err.count("\n") == 1
    assert not out.exists()


def test_cli_leaves_the_set_alone_when_one_file_cannot_be_replaced(tmp_path, capsys):
    out = tmp_path / "g"
    (out / "golden.json").mkdir(parents=True)
    (out / "golden.h").write_text("stale")
    rc = main(["golden", str(VECTORS / "sessions" / "tiny.bin"), "-o", str(out)])
    err = capsys.readouterr().err
    assert rc == 1 and "golden.json: cannot write the results: Is a directory" in err and err.count("\n") == 1
    assert sorted(p.name for p in out.iterdir()) == ["golden.h", "golden.json"]
    assert (out / "golden.h").read_text() == "stale"


def test_write_golden_creates_missing_folders(tmp_path):
    gs = golden_for("tiny")
    paths = golden.write_golden(gs, tmp_path / "a" / "b")
    assert sorted(p.name for p in (tmp_path / "a" / "b").iterdir()) == ["README.md", "golden.h", "golden.json"]
    assert paths["golden.json"].read_text() == golden.render_json(gs)


@pytest.mark.parametrize("output", ["-", "FILE"])
def test_cli_refuses_a_bad_output_before_any_work(tmp_path, capsys, monkeypatch, output):
    def no_work(*args, **kwargs):
        raise AssertionError("golden_set ran before the output was checked")

    monkeypatch.setattr(golden, "golden_set", no_work)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "FILE").write_text("mine")
    rc = main(["golden", str(VECTORS / "sessions" / "tiny.bin"), "-o", output])
    err = capsys.readouterr().err
    assert rc == 1 and err.startswith("error: ") and err.count("\n") == 1
    assert ("not possible: give a folder" if output == "-" else "is a file; give a folder as -o") in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["FILE"] and (tmp_path / "FILE").read_text() == "mine"


def test_short_log_is_an_error(tmp_path):
    short = tmp_path / "short.bin"
    short.write_bytes((VECTORS / "sessions" / "tiny.bin").read_bytes()[: 17 * 49])
    with pytest.raises(DatasetError, match="at least one 50-sample window"):
        golden.golden_set(read_log(short), *models("tiny"))
