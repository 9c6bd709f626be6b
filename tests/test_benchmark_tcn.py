"""The benchmark's TCN column: a plug-in learner of the raw windows (stingerml.sequence.windows)."""
from __future__ import annotations

import pickle
import random
import re
from array import array

import pytest

from conftest import use_backend
from stingerml.blaster.benchmark import BenchmarkConfig, BenchmarkData, BenchmarkError, run_benchmark
from stingerml.cli import main
from stingerml.sequence.windows import TCNWindows

TINY = TCNWindows(hidden=3, blocks=1, kernel_size=2, max_epochs=2, patience=2)
ROW = re.compile(r"^\| TCN \| raw \| (random|time|group) \| \d\.\d{3} ± \d\.\d{3} \| \d\.\d{3} ± \d\.\d{3} \| ")


def _data(n_shots: int = 4, per_shot: int = 3) -> BenchmarkData:
    """Positives swing the gyro hard, negatives barely (rows × 50 × 6 int16)."""
    rng = random.Random(5)
    windows = array("h")
    labels, groups, times = [], [], []
    for shot in range(n_shots):
        for label in (1, 0):
            for k in range(per_shot):
                amp = 3000 if label else 30
                for _ in range(50):
                    windows.extend([rng.randint(-20, 20) for _ in range(3)] + [rng.randint(-amp, amp) for _ in range(3)])
                labels.append(label)
                groups.append((0, shot))
                times.append((0, shot * 10_000 + label * 5_000 + k * 100))
    return BenchmarkData(windows, array("B", labels), groups, times, ["tiny"])


CONFIG = BenchmarkConfig(seeds=2, lr_iter=20, models=("lr", "tcn"), features=("summary",))


def _run(backend: str):
    with use_backend(backend):
        return run_benchmark(_data(), CONFIG, learners=(TINY,))


@pytest.fixture(scope="module")
def pure():
    return _run("python")


def test_the_tcn_column_sits_beside_lr(pure):
    report = pure.to_markdown()
    rows = [ROW.match(line) for line in report.splitlines() if ROW.match(line)]
    assert {m.group(1) for m in rows} == {"random", "time", "group"}
    assert "| LR | summary | random |" in report
    assert f"{TINY.n_weights} weights: {4 * TINY.n_weights} bytes as float32" in report
    tcn = [r for r in pure.runs if r.model == "tcn"]
    assert len(tcn) == 2 * 3 and all(r.features == "raw" and r.scores for r in tcn)
    # the same rows as LR's: each TCN run shares its split with the LR run of the same seed and split
    for r in tcn:
        lr = next(x for x in pure.runs if (x.model, x.split, x.seed) == ("lr", r.split, r.seed))
        assert (r.n_train, r.n_test) == (lr.n_train, lr.n_test)


def test_tcn_runs_are_deterministic_on_both_backends(pure):
    again = _run("python")
    jit = _run("numba")
    scores = [r.scores for r in pure.runs]
    assert [r.scores for r in again.runs] == scores
    assert [r.scores for r in jit.runs] == scores
    assert again.to_markdown() == jit.to_markdown().replace("Backend `numba`", "Backend `python`")


def test_seeds_change_the_tcn():
    d = _data()
    probs = [TINY.fit_predict(d.windows, range(0, len(d), 2), range(1, len(d), 2), d.labels, s) for s in (0, 1)]
    assert probs[0] != probs[1]


def test_the_plug_in_pickles_and_names_are_checked():
    assert pickle.loads(pickle.dumps(TINY)) == TINY  # a task in another process carries it
    with pytest.raises(BenchmarkError, match="models"):
        BenchmarkConfig(models=("tcn",)).check()  # without the plug-in, "tcn" is unknown
    BenchmarkConfig(models=("tcn",)).check((TINY,))


def test_cli_tcn_column(tmp_path, vectors):
    out = tmp_path / "r.md"
    assert main(["benchmark", str(vectors / "sessions" / "tiny.bin"), "--seeds", "1", "--tcn-epochs", "1",
                 "--models", "tcn", "--splits", "random", "-o", str(out), "--quiet"]) == 0
    text = out.read_text()
    assert "--tcn-epochs 1 --models tcn" in text
    assert sum(1 for line in text.splitlines() if ROW.match(line)) == 1


def test_int8_size_is_that_of_a_trained_network():
    """The setup line's int8 size (measured on an all-zero network) is the size of a trained network's file."""
    from stingerml.formats.tflite_sequence import to_tflite_int8
    from stingerml.sequence.data import Sequences
    from stingerml.sequence.quantize import quantize_tcn

    rnd = random.Random(1)
    n = 12
    X = Sequences(array("d", [rnd.gauss(0.0, 100.0) for _ in range(n * TINY.steps * TINY.channels)]), TINY.steps,
                  TINY.channels, array("q", [TINY.steps] * n))
    net = TINY.classifier(0).fit(X, [k % 2 for k in range(n)], classes=(0, 1)).to_model()
    assert len(to_tflite_int8(quantize_tcn(net, X))) == TINY.int8_bytes
    assert f"full-int8 model.tflite {TINY.int8_bytes} bytes" in TINY.describe()
