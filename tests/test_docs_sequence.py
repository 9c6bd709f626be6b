"""docs/sequence.md: every python block runs (in order, one namespace) and every ``stingerml`` line of
its sh blocks runs through the CLI (RUN_DIR = the last run folder printed)."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

from stingerml.cli import main

PAGE = Path(__file__).resolve().parent.parent / "docs" / "sequence.md"


def _blocks(kind: str):
    return re.findall(rf"```{kind}\n(.*?)```", PAGE.read_text(encoding="utf-8"), flags=re.S)


def test_python_and_sh_blocks_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    python = _blocks("python")
    assert len(python) >= 5
    for code in python:
        exec(compile(code, str(PAGE), "exec"), namespace)
    capsys.readouterr()
    run_dir = None
    lines = [line for block in _blocks("sh") for line in block.splitlines() if line.startswith("stingerml ")]
    assert len(lines) == 4
    for line in lines:
        argv = shlex.split(line.replace("RUN_DIR", str(run_dir)))[1:]
        assert main(argv) == 0, line
        out = capsys.readouterr().out
        if argv[:2] == ["seq", "train"]:
            run_dir = out.strip()
            tflite = "model.tflite" if "tcn" in argv else "model_float32.tflite"  # int8 (TCN) / float32 (LSTM)
            assert sorted(p.name for p in (Path(run_dir) / "output").iterdir()) == [
                "meta.json", "model.json", "model.onnx", tflite, "training_history.json"]
    assert (tmp_path / "predictions.csv").read_text().startswith("sample,prediction,")
