"""Commands that run no kernel never import numba (issue 29): numba's import and first compilation
take seconds and hundreds of MB, which `stingerml --version` or `synth` must not pay."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# `main(ARGV)` in a fresh interpreter, then a line `@probe EXIT_CODE NUMBA_IMPORTED`
PROBE = ("import sys; from stingerml.cli import main\n"
         "try:\n    code = main(sys.argv[1:])\nexcept SystemExit as exc:\n    code = exc.code\n"
         "print('@probe', code, 'numba' in sys.modules)")


@pytest.mark.parametrize("backend", [None, "numba"], ids=["default-backend", "STINGERML_BACKEND=numba"])
@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["synth", "--help"],
                                  ["synth", "-o", "{tmp}/s.bin", "--seconds", "3", "--seed", "4"],
                                  ["synth", "-o", "{tmp}/s.csv", "--seconds", "3", "--json"],
                                  ["convert", str(ROOT / "vectors" / "sessions" / "tiny.bin"), "-o", "{tmp}/t.csv"],
                                  ["export-header", "-o", "{tmp}/h.h"],
                                  ["validate", str(ROOT / "stingerml" / "data" / "factory_lr.mlmd")],
                                  ["tabular", "train", "--help"]],
                         ids=["version", "help", "synth-help", "synth-bin", "synth-csv-json", "convert", "export-header",
                              "validate", "tabular-train-help"])
def test_kernel_free_commands_do_not_import_numba(tmp_path, argv, backend):
    pytest.importorskip("numba")
    env = {k: v for k, v in os.environ.items() if k != "STINGERML_BACKEND"}
    env["PYTHONPATH"] = str(ROOT)
    if backend:
        env["STINGERML_BACKEND"] = backend
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    proc = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=120)
    out, probe = proc.stdout.rsplit("@probe ", 1)
    code, imported = probe.split()
    assert code in ("0", "None"), proc.stderr
    assert imported == "False", f"stingerml {' '.join(argv)} imported numba"
    if argv[0] == "synth" and "--help" not in argv:  # it did its work
        assert Path(argv[2]).stat().st_size > 0
        if "--json" in argv:
            assert json.loads(out)["samples"] == 300  # 3 s at 100 samples a second
