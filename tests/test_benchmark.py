"""The benchmark: every model × features × split cell, sane numbers, the report, the CLI."""
from __future__ import annotations

import random
import re
from array import array

import pytest

from stingerml.blaster.benchmark import (
    FEATURES,
    MODELS,
    SPLITS,
    BenchmarkConfig,
    BenchmarkData,
    BenchmarkError,
    run_benchmark,
    score,
)
from stingerml.blaster.folder_dataset import ExportParams, export_dataset
from stingerml.blaster.log import write_log
from stingerml.blaster.sessions import build_sessions
from stingerml.blaster.synth import generate
from stingerml.blaster.trainfolder import write as write_folder
from stingerml.cli import main

SHORT = dict(lr_iter=40, mlp_iter=2)
NUMBER = r"(\d\.\d+) ± (\d\.\d+)"
ROW = re.compile(rf"^\| (LR|MLP) \| (summary|rich) \| (random|time|group) \| {NUMBER} \| {NUMBER} \| {NUMBER} \| {NUMBER} \| (\d+)/(\d+) \|$")


@pytest.fixture(scope="module")
def logs():
    return [generate(40, 1), generate(40, 2)]


@pytest.fixture(scope="module")
def result(logs):
    return run_benchmark(BenchmarkData.from_sessions(build_sessions(logs)), BenchmarkConfig(seeds=2, **SHORT))


def _rows(report: str):
    return [ROW.match(line) for line in report.splitlines() if ROW.match(line)]


def test_report_has_every_cell_with_mean_and_std(result):
    report = result.to_markdown("stingerml benchmark a.bin b.bin --seeds 2 -o r.md")
    rows = _rows(report)
    assert {(m.group(1), m.group(2), m.group(3)) for m in rows} == {
        (name, f, s) for name in ("LR", "MLP") for f in FEATURES for s in SPLITS
    }
    assert len(rows) == len(MODELS) * len(FEATURES) * len(SPLITS)
    for m in rows:
        roc, pr = float(m.group(4)), float(m.group(6))
        assert 0 <= roc <= 1 and 0 <= pr <= 1
        assert m.group(13) == m.group(12) == "2"  # both seeds scored
    assert "stingerml benchmark a.bin b.bin --seeds 2 -o r.md" in report
    assert "90 rows (45 positive, 45 negative) in 9 shot groups" in report


def test_cells_are_mean_and_population_std_of_the_runs(result):
    assert len(result.runs) == 2 * 2 * 2 * 3
    for cell in result.cells():
        values = [r.scores["roc_auc"] for r in cell.runs]
        mean = sum(values) / 2
        assert cell.stats["roc_auc"][0] == pytest.approx(mean)
        assert cell.stats["roc_auc"][1] == pytest.approx(abs(values[0] - values[1]) / 2)
        assert all(0 <= r.scores[k] <= 1 for r in cell.runs for k in ("roc_auc", "pr_auc", "best_f1", "threshold"))
    lr_time = next(c for c in result.cells() if (c.model, c.split) == ("lr", "time"))
    assert lr_time.stats["roc_auc"][1] == 0  # no randomness in a time split with LR


def test_splits_sizes(result):
    for r in result.runs:
        assert r.n_train + r.n_test == 90
        if r.split == "random":
            assert r.n_test == 2 * 12  # ceil(0.25 * 45) per class
        if r.split == "time":
            assert r.n_test == 23  # ceil(0.25 * 90)


def _separable(n_shots: int = 8, per_shot: int = 4) -> BenchmarkData:
    """Positives swing the gyro hard, negatives barely: every feature set separates them."""
    rng = random.Random(3)
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
    return BenchmarkData(windows, array("B", labels), groups, times, ["separable"])


def test_perfectly_separable_data_gives_auc_one():
    # LR only: at 64 rows the MLP's weight decay (alpha = 10/n) needs hundreds of iterations
    res = run_benchmark(_separable(), BenchmarkConfig(seeds=2, lr_iter=200, models=("lr",)))
    assert len(res.cells()) == 6
    for cell in res.cells():
        assert cell.stats["roc_auc"] == (1.0, 0.0), (cell.model, cell.features, cell.split)
        assert cell.stats["pr_auc"] == (1.0, 0.0)
        assert cell.stats["best_f1"] == (1.0, 0.0)
    assert "| LR | summary | group | 1.000 ± 0.000 | 1.000 ± 0.000 | 1.000 ± 0.000 |" in res.to_markdown()


def test_score_agrees_with_scikit_learn():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = random.Random(7)
    y = [rng.randint(0, 1) for _ in range(60)]
    p = [round(rng.random(), 1) for _ in range(60)]  # ties
    s = score(y, p)
    assert s["roc_auc"] == pytest.approx(metrics.roc_auc_score(y, p), abs=1e-12)
    assert s["pr_auc"] == pytest.approx(metrics.average_precision_score(y, p), abs=1e-12)


def test_one_class_test_part_is_skipped_not_fatal():
    data = _separable()
    data.times = [(0, i + 1000 * (1 - label)) for i, label in enumerate(data.labels)]  # negatives last
    one = dict(seeds=1, models=("lr",), features=("summary",), lr_iter=20)
    res = run_benchmark(data, BenchmarkConfig(splits=("time",), **one))
    run = res.runs[0]
    assert run.scores is None and "only label 0" in run.skipped
    report = res.to_markdown()
    assert "## Skipped runs" in report and "| n/a | n/a | n/a | n/a | 0/1 |" in report


def test_diverging_learner_is_skipped_not_fatal():
    """The browser's LR diverges when l2 = 50/n makes step·l2 > 2 (fewer than 25 train rows)."""
    res = run_benchmark(_separable(n_shots=3, per_shot=2),
                        BenchmarkConfig(seeds=1, models=("lr",), features=("summary",), splits=("random",), lr_iter=300))
    assert res.runs[0].n_train == 8 and res.runs[0].skipped == "non-finite probabilities"


def test_bad_settings_and_data_are_errors():
    with pytest.raises(BenchmarkError, match="seeds"):
        BenchmarkConfig(seeds=0).check()
    with pytest.raises(BenchmarkError, match="models"):
        BenchmarkConfig(models=("tree",)).check()
    tiny = _separable(n_shots=1, per_shot=1)
    with pytest.raises(BenchmarkError, match="at least 2"):
        run_benchmark(tiny, BenchmarkConfig(seeds=1))


def test_training_folder_groups_are_shot_numbers(logs):
    folder = export_dataset(logs[0], ExportParams(neg_mult=2))
    data = BenchmarkData.from_folder(folder, "f")
    assert data.groups == [(0, r["shot_num"]) for r in folder.index]
    res = run_benchmark(data, BenchmarkConfig(seeds=1, models=("lr",), splits=("group",), lr_iter=20))
    for run in res.runs:
        assert run.n_train + run.n_test == len(folder)


# --- CLI ------------------------------------------------------------------------------------------


def test_cli_writes_the_report(tmp_path, logs, capsys):
    paths = [tmp_path / "a.bin", tmp_path / "b.csv"]
    for log, p in zip(logs, paths):
        write_log(log, p)
    out = tmp_path / "report.md"
    argv = ["benchmark", *map(str, paths), "--seeds", "1", "--lr-iterations", "20", "--mlp-iterations", "1",
            "--splits", "random", "group", "-o", str(out)]
    assert main(argv) == 0
    text = out.read_text()
    assert len(_rows(text)) == 2 * 2 * 2
    assert f"stingerml benchmark {paths[0]} {paths[1]} --seeds 1" in text
    err = capsys.readouterr().err
    assert "estimated" in err and "[8/8]" in err


def test_cli_train_dir(tmp_path, logs):
    d = tmp_path / "train"
    write_folder(d, export_dataset(logs[0], ExportParams(neg_mult=2)))
    out = tmp_path / "r.md"
    assert main(["benchmark", "--train-dir", str(d), "--seeds", "1", "--models", "lr", "--lr-iterations", "20",
                 "-o", str(out), "--quiet"]) == 0
    assert f"Training folder `{d}`" in out.read_text()


def test_cli_error_writes_no_report(tmp_path, capsys):
    out = tmp_path / "r.md"
    assert main(["benchmark", "--train-dir", str(tmp_path / "missing"), "-o", str(out)]) == 1
    assert capsys.readouterr().err.startswith("error: ")
    assert not out.exists()
