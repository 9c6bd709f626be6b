"""What the CLI sets in the process it owns, before any numpy import (issue 28): OpenBLAS's spinning
worker threads cost a numba `train` 0.1-0.25 s of CPU and no kernel calls BLAS."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# numpy imported after `main(ARGV)` (or without it): the variable and the process's thread count
PROBE = ("import os, sys\n"
         "if sys.argv[1:]:\n    from stingerml.cli import main\n"
         "    try:\n        main(sys.argv[1:])\n    except SystemExit:\n        pass\n"
         "import numpy\n"
         "print(os.environ.get('OPENBLAS_NUM_THREADS'), len(os.listdir('/proc/self/task')))")


def _probe(argv, **env_set):
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    env.update(PYTHONPATH=str(ROOT), **env_set)
    out = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, env=env,
                         check=True, timeout=120).stdout.split()
    return out[-2], int(out[-1])  # after what the command printed


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="counts threads in /proc (Linux)")
def test_cli_keeps_numpy_to_one_blas_thread():
    pytest.importorskip("numpy")
    value, threads = _probe([])
    if threads == 1:
        pytest.skip("numpy starts no BLAS thread here (one CPU, or a BLAS without a pool)")
    assert value == "None"
    assert _probe(["--version"]) == ("1", 1)  # the CLI ran first: numpy's BLAS starts no thread
    assert _probe(["--version"], OPENBLAS_NUM_THREADS="2")[0] == "2"  # the user's own choice is kept
