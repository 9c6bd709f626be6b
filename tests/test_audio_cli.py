"""``stingerml audio features`` (docs/audio-control.md): the CSV, the conventions, the errors; the page's blocks run."""
from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from stingerml.audio import AudioSettings, featurise
from stingerml.cli import main

from audio_signals import signal, to_ints, write_wav

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "audio-control.md"


@pytest.fixture
def wavs(tmp_path):
    return [write_wav(tmp_path / f"s{i}.wav", to_ints(signal(kind, 48000, 30000, seed=i), 16), 48000, 16)
            for i, kind in enumerate(("mix", "chirp"))]


def test_features_csv_equals_featurise(tmp_path, wavs, capsys):
    out = tmp_path / "features.csv"
    assert main(["audio", "features", *map(str, wavs), "-o", str(out), "--frames", "3", "--deltas", "1",
                 "--hop", "512", "--n-fft", "2048", "-q"]) == 0
    with open(out, newline="") as f:
        rows = list(csv.reader(f))
    settings = AudioSettings(frames=3, deltas=1, hop=512, n_fft=2048)
    expected = [featurise(w, settings) for w in wavs]
    assert rows[0] == ["file", *expected[0].names]
    body = rows[1:]
    assert len(body) == sum(e.rows.n_rows for e in expected)
    flat = [float(v) for r in body for v in r[1:]]
    assert flat == list(expected[0].rows.data) + list(expected[1].rows.data)  # repr round-trips
    assert [r[0] for r in body] == [str(wavs[0])] * expected[0].rows.n_rows + [str(wavs[1])] * expected[1].rows.n_rows
    assert capsys.readouterr().err == ""


def test_json_and_bad_input(tmp_path, wavs, capsys):
    out = tmp_path / "f.csv"
    assert main(["audio", "features", str(wavs[0]), "-o", str(out), "--json"]) == 0
    captured = capsys.readouterr()
    assert '"rows": 21' in captured.out and "wrote" not in captured.out
    mp3 = tmp_path / "song.mp3"
    mp3.write_bytes(b"ID3" + bytes(200))
    out.unlink()
    assert main(["audio", "features", str(wavs[0]), str(mp3), "-o", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: ") and "MP3" in err and "WAV (PCM" in err
    assert not out.exists()  # no partial output
    assert main(["audio", "features", str(wavs[0]), "-o", str(out), "--rate", "44100"]) == 1
    assert "not 44100 Hz" in capsys.readouterr().err
    assert main(["audio", "features", str(wavs[0]), "-o", str(out), "--rate", "file", "-q"]) == 0


def _blocks(text: str):
    return re.findall(r"```(sh|python)\n(.*?)```", text, flags=re.S)


def test_docs_page_blocks_run(tmp_path):
    """Every block of docs/audio-control.md, in order, in an empty folder (``stingerml`` on PATH)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "stingerml"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m stingerml "$@"\n')
    shim.chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", PYTHONPATH=str(ROOT))
    work = tmp_path / "work"
    work.mkdir()
    blocks = _blocks(PAGE.read_text(encoding="utf-8"))
    assert len(blocks) >= 5
    first_sh = True
    for lang, code in blocks:
        if lang == "sh" and first_sh:
            first_sh = False  # the summary at the top: the same two commands as below
            continue
        cmd = ["bash", "-euo", "pipefail", "-c", code] if lang == "sh" else [sys.executable, "-c", code]
        done = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{lang} block failed:\n{code}\n{done.stderr[-2000:]}"
        if "print(rows.rows.shape" in code:
            assert done.stdout.startswith("(132, 60) ('spectral_centroid_0', 'spectral_flux_0', 'rms_0')")
    runs = list((work / "runs").iterdir())
    assert len(runs) == 1 and (runs[0] / "output" / "model.onnx").exists()
    controls = json.loads((runs[0] / "output" / "meta.json").read_text())
    assert controls["model"]["architecture"]["input"] == 60  # the 60 features, not the file name's categories
    (orbit,) = (work / "orbit_runs").iterdir()  # section 4: the 9 controls, gates and alpha bounded
    meta = json.loads((orbit / "output" / "meta.json").read_text())
    assert meta["model"]["architecture"]["input"] == 60 and meta["model"]["architecture"]["hidden"] == [128, 256, 128]
    assert meta["model"]["architecture"]["output_activation"] == ["linear", "sigmoid", "linear"] + ["sigmoid"] * 6
    assert [t["step"] for t in meta["check"]["per_target"]][3:] == [1 / 256] * 6
