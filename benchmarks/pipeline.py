"""Per-stage timing of the whole browser pipeline, per session and backend.

    python benchmarks/pipeline.py                                  # tiny, session_a; pure Python
    python benchmarks/pipeline.py --backends python,numba --sessions tiny,session_a,synth15,synth2h
    python benchmarks/pipeline.py --sklearn                        # also scikit-learn on the same features
    python benchmarks/pipeline.py --processes 1,2                  # pure Python in one and in two processes

Each configuration runs in a fresh subprocess (so peak RSS is its own and the
numba "cold" run really compiles: it gets an empty NUMBA_CACHE_DIR; "warm"
reuses that cache in a new process, so loading the cached machine code is
included; "hot" is a second run in that same process). Pure Python runs once
per ``--processes`` setting (``auto``, the default, splits each big MLP fit
over two processes when two CPUs are free). "cpu s" is the CPU time of the
process and its helper, to compare with the wall-clock "total s". Stage times come from
the pipeline's own progress events. Sessions: ``tiny`` and ``session_a`` (vectors/sessions),
``synth15`` (a synthetic 15-minute session, 90,000 samples: the device's flash
capacity) and ``synth2h`` (eight synthetic 15-minute sessions trained as one).
Prints a markdown table.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

ROOT = Path(__file__).resolve().parent.parent
STAGES = ["parse", "dataset", "features", "holdout", "lr", "mlp", "build", "traces"]
SYNTH_SECONDS = 900


def _session_logs(name: str, workdir: Path) -> List[Path]:
    """The log file(s) of a named benchmark session (synthetic ones are generated once into workdir)."""
    if name in ("tiny", "session_a"):
        return [ROOT / "vectors" / "sessions" / f"{name}.bin"]
    from stingerml.blaster.log import write_log
    from stingerml.blaster.synth import generate

    count = {"synth15": 1, "synth2h": 8}[name]
    paths = []
    for seed in range(count):
        path = workdir / f"synth15_{seed}.bin"
        if not path.exists():
            write_log(generate(SYNTH_SECONDS, seed=seed), path)
        paths.append(path)
    return paths


def run_one(logs: List[str], backend: str, sklearn: bool) -> Dict[str, float]:
    """Train once in this process; returns stage seconds, total, peak RSS (MB) and dataset size."""
    import stingerml
    from stingerml.core.progress import Progress

    stingerml.set_backend(backend)
    marks: List[tuple] = []

    def progress(event: Progress) -> None:
        if not marks or marks[-1][0] != event.stage:
            marks.append((event.stage, time.perf_counter()))

    start = time.perf_counter()
    data = logs[0] if len(logs) == 1 else logs
    result = stingerml.train(data, progress=progress)
    end = time.perf_counter()
    out: Dict[str, float] = {s: 0.0 for s in STAGES}
    for (stage, t), (_, t_next) in zip(marks, marks[1:] + [("end", end)]):
        if stage in out:
            out[stage] += t_next - t
    out["total"] = end - start
    out["rows"] = len(result.dataset) if hasattr(result, "dataset") else 0
    out["samples"] = result.summary["samples"]
    if sklearn:
        out.update(_sklearn(result))
    if backend == "python":
        from stingerml._kernels import peer

        peer._stop_helper()  # reaped, so that its CPU time is counted below
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    out["cpu"] = sum(u.ru_utime + u.ru_stime for u in usage)
    out["peak_mb"] = usage[0].ru_maxrss / 1024
    return out


def _sklearn(result) -> Dict[str, float]:
    """scikit-learn's LR (lbfgs) and MLPClassifier (64, 32; full batch) on the same held-out split."""
    try:
        import numpy as np
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import f1_score
        from sklearn.neural_network import MLPClassifier
        from sklearn.preprocessing import StandardScaler
    except ImportError:
        return {}
    import stingerml

    ds = result.dataset
    split = result.metrics["split"]
    y = np.array(ds.labels)
    out = {}
    for key, feats, nf in (("lr", stingerml.featurize_summary, 18), ("mlp", stingerml.featurize_rich, 30)):
        X = np.array(feats(ds.windows, len(ds)), dtype=np.float64).reshape(len(ds), nf)
        tr, te = split["trainIdx"], split["testIdx"]
        sc = StandardScaler().fit(X[tr])
        if key == "lr":
            model = LogisticRegression(max_iter=1500)
        else:
            model = MLPClassifier((64, 32), batch_size=len(tr), max_iter=220, random_state=42)
        t = time.perf_counter()
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(sc.transform(X[tr]), y[tr])
        out[f"sk_{key}_s"] = time.perf_counter() - t
        out[f"sk_{key}_f1"] = f1_score(y[te], model.predict(sc.transform(X[te])))
        out[f"our_{key}_f1"] = result.metrics[key]["f1"]
    return out


def _child(logs: List[Path], backend: str, cache: str, sklearn: bool, processes: str = "auto") -> List[Dict[str, float]]:
    """Run in a fresh process: one training, plus a second ("hot") one under numba."""
    env = dict(os.environ, NUMBA_CACHE_DIR=cache, PYTHONPATH=str(ROOT), STINGERML_PROCESSES=processes)
    cmd = [sys.executable, __file__, "--one", backend, *(["--sklearn"] if sklearn else []), *map(str, logs)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark child failed: {' '.join(cmd)}\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", default="tiny,session_a")
    ap.add_argument("--backends", default="python")
    ap.add_argument("--sklearn", action="store_true", help="also time scikit-learn on the same features")
    ap.add_argument("--processes", default="auto", help="pure Python: comma-separated settings among 1, 2, auto")
    ap.add_argument("--one", metavar="BACKEND", help=argparse.SUPPRESS)
    ap.add_argument("logs", nargs="*", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        runs = [run_one(args.logs, args.one, args.sklearn)]
        if args.one == "numba":
            runs.append(run_one(args.logs, args.one, False))
        print(json.dumps(runs))
        return

    header = ["session", "backend", "run", *STAGES, "total s", "cpu s", "rows", "peak MB"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    extra = []
    with tempfile.TemporaryDirectory() as work:
        for session in args.sessions.split(","):
            logs = _session_logs(session, Path(work))
            for backend in args.backends.split(","):
                cache = tempfile.mkdtemp(dir=work)
                if backend == "numba":
                    cold, _ = _child(logs, backend, cache, False)
                    warm, hot = _child(logs, backend, cache, args.sklearn)
                    rows = [("cold", cold), ("warm", warm), ("hot", hot)]
                else:
                    rows = [(f"processes={p}", _child(logs, backend, cache, args.sklearn, p)[0])
                            for p in args.processes.split(",")]
                for run, r in rows:
                    cells = [session, backend, run, *(f"{r[s]:.2f}" for s in STAGES),
                             f"{r['total']:.2f}", f"{r['cpu']:.2f}", str(int(r["rows"])), f"{r['peak_mb']:.0f}"]
                    print("| " + " | ".join(cells) + " |", flush=True)
                    if "sk_lr_s" in r:
                        extra.append((session, backend, r))
    if extra:
        print("\nHeld-out check on the same split and features: ours (LR 1500 iterations + MLP 220, both"
              " in the 'holdout' stage) vs scikit-learn LogisticRegression(lbfgs) and MLPClassifier((64, 32),"
              " full batch, 220 iterations).\n")
        print("| session | backend | ours: holdout s | sklearn LR s | sklearn MLP s | LR F1 ours / sklearn | MLP F1 ours / sklearn |")
        print("|---|---|---|---|---|---|---|")
        for session, backend, r in extra:
            print(f"| {session} | {backend} | {r['holdout']:.2f} | {r['sk_lr_s']:.2f} | {r['sk_mlp_s']:.2f} | "
                  f"{r['our_lr_f1']:.3f} / {r['sk_lr_f1']:.3f} | {r['our_mlp_f1']:.3f} / {r['sk_mlp_f1']:.3f} |")


if __name__ == "__main__":
    main()
