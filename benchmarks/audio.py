"""Audio features of a long WAV file: stingerml (numba, and pure Python on a slice) beside librosa.

    PYTHONPATH=$PWD python benchmarks/audio.py [--minutes 10] [--pure-seconds 10] [--repeat 2]

Writes a ``--minutes`` long 48 kHz 16-bit stereo WAV (a chirp, a stepped tone
and noise, seeded) to a temporary folder and featurises it with the seed's
settings (FFT 4,096, hop 1,024, windows of 10 frames: 60 columns):

- stingerml, numba: :func:`stingerml.audio.featurise` (read, mix to mono,
  the six features, windows), numba's kernels compiled and loaded first; the
  best of ``--repeat`` runs, wall time. Each tool runs in its own child
  process; "max RSS" is that process's peak resident memory (``VmHWM``) and,
  in brackets, its growth during the timed runs.
- stingerml, pure Python: the same on the first ``--pure-seconds`` seconds,
  scaled to the whole file (marked ~).
- librosa: ``librosa.load(sr=None, mono=True)`` and the six features with the
  same settings (spectral flux with numpy from the STFT magnitudes, as the tests
  compute it), best of ``--repeat``; skipped when librosa is not installed.

The goal (issue 26): 10 minutes in ≤ 10 s with numba.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from tempfile import TemporaryDirectory

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import numpy as np  # noqa: E402

from audio_signals import librosa_features, write_wav  # noqa: E402

from stingerml import _kernels  # noqa: E402
from stingerml.audio import AudioSettings, featurise  # noqa: E402

RATE = 48000


def _signal(seconds: float) -> np.ndarray:
    """Stereo int16: a slow chirp left, a stepped tone with noise right."""
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    rng = np.random.default_rng(26)
    left = 0.6 * np.sin(2 * np.pi * (100.0 * t + 20.0 * t * t))
    right = 0.4 * np.sin(2 * np.pi * 660.0 * t) * (1.0 + (np.floor(t * 2) % 2)) / 2 + 0.05 * rng.standard_normal(n)
    return np.clip(np.round(np.stack([left, right], axis=1) * 32767), -32768, 32767).astype(np.int16)


def _max_rss_mb() -> float:
    """Peak resident memory of this process (MB): ``VmHWM`` where /proc has it (getrusage's maximum
    also counts the parent's before the exec), else ``getrusage``."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _best(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _child(tool: str, path: str, repeat: int, minutes: float, pure_seconds: float) -> None:
    """Time one tool in this (fresh) process; prints ``{"seconds", "rss", "growth"}``."""
    settings = AudioSettings()
    if tool == "librosa":
        import librosa

        def run():
            y, sr = librosa.load(path, sr=None, mono=True)
            librosa_features(y, sr, settings.n_fft, settings.hop)
        warm = run  # librosa's own numba functions compile on the first call
        scale = 1.0
    else:
        _kernels.set_backend(tool)
        short = str(Path(path).with_name("short.wav"))

        def run():
            featurise(short if tool == "python" else path, settings)
        warm = (lambda: featurise(short, settings)) if tool == "numba" else (lambda: None)
        scale = minutes * 60 / pure_seconds if tool == "python" else 1.0
    warm()
    before = _max_rss_mb()
    seconds = _best(run, 1 if tool == "python" else repeat) * scale
    print(json.dumps({"seconds": seconds, "rss": _max_rss_mb(), "growth": _max_rss_mb() - before}))


def _measure(tool: str, path: Path, args: argparse.Namespace) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", tool, str(path), "--repeat", str(args.repeat),
                           "--minutes", str(args.minutes), "--pure-seconds", str(args.pure_seconds)],
                          capture_output=True, text=True)
    if done.returncode:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--pure-seconds", type=float, default=10.0)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--child", nargs=2, metavar=("TOOL", "WAV"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args.child[0], args.child[1], args.repeat, args.minutes, args.pure_seconds)
        return
    with TemporaryDirectory() as tmp:
        path = write_wav(Path(tmp) / "long.wav", _signal(args.minutes * 60), RATE, 16)
        write_wav(Path(tmp) / "short.wav", _signal(args.pure_seconds), RATE, 16)
        size = path.stat().st_size / 1e6
        results = [(name, _measure(tool, path, args)) for name, tool in
                   (("stingerml numba", "numba"), ("stingerml pure Python", "python"), ("librosa", "librosa"))]
    print(f"{args.minutes:g} min, 48 kHz 16-bit stereo WAV ({size:.0f} MB), FFT 4096, hop 1024, 10 frames (60 columns)")
    print(f"{'':24} {'seconds':>10} {'max RSS MB':>16}")
    for name, r in results:
        if "error" in r:
            print(f"{name:24} {r['error']}")
            continue
        sec = f"~{r['seconds']:.0f}" if "pure" in name else f"{r['seconds']:.2f}"
        print(f"{name:24} {sec:>10} {r['rss']:>9.0f} (+{r['growth']:.0f})")


if __name__ == "__main__":
    main()
