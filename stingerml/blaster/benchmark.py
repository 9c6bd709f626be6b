"""Benchmark the browser's learners on a dataset: models × features × splits × seeds.

For every seed and split the rows are divided once into train and test parts,
and each learner/feature pair is scored on that same division:

- learners: the browser's :class:`~stingerml.blaster.logreg.LogisticRegression` and
  :class:`~stingerml.blaster.mlp.MLP` with the held-out check's iteration counts
  (1500 and 220) unless told otherwise; the MLP's init seed is ``42 + seed``;
- features: ``summary`` (18) and ``rich`` (30), scaled by a
  :class:`~stingerml.learn.scaler.Scaler` fitted on the train part only;
- splits (:mod:`stingerml.learn.metrics`): ``random`` (stratified by label,
  ``random.Random(seed)``), ``time`` (the latest rows are the test part,
  ordered by session then window start time; the same for every seed, so only
  the MLP's init varies), ``group`` (whole shot groups ``(session, shot)`` go
  to one side, ``random.Random(seed)``).

Each run gives ROC AUC, PR AUC (average precision), the best F1 over the
thresholds ``0.00..1.00`` and that threshold, on the test part.

Learners of the raw windows come as plug-ins (``learners=``, :class:`WindowLearner`): the
blaster domain may not import another domain, so the CLI hands over the sequence domain's
TCN (``stingerml.sequence.windows.TCNWindows``). Such a learner has one ``features`` value of
its own (``raw``) and sees the same train and test rows as LR and the MLP. A run whose test
part holds one class only has no AUC and is listed as skipped. Results are
reported as mean ± population standard deviation over the runs.
"""
from __future__ import annotations

import math
import statistics
import time
from array import array
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from typing import Dict, Hashable, List, Optional, Protocol, Sequence, Tuple

from .._kernels import backend
from ..core.constants import RICH_FEATURES, SUMMARY_FEATURES
from ..core.errors import BenchmarkError, StingerError  # noqa: F401  (BenchmarkError: public here too)
from ..core.matrix import Matrix
from ..core.progress import ProgressCallback
from ..learn.executors import check_jobs, run_tasks
from ..learn.metrics import (
    average_precision,
    best_f1_threshold,
    group_split,
    roc_auc,
    stratified_split,
    time_split,
)
from .features import featurize_rich, featurize_summary
from .holdout import LR_ITERATIONS, MLP_ITERATIONS, scaled_split
from .logreg import LogisticRegression
from .mlp import MLP
from .sessions import SessionsDataset
from .trainfolder import TrainFolder

MODELS = ("lr", "mlp")
FEATURES = ("summary", "rich")
SPLITS = ("random", "time", "group")
MODEL_NAMES = {"lr": "LR", "mlp": "MLP"}
FEATURE_COUNTS = {"summary": SUMMARY_FEATURES, "rich": RICH_FEATURES}
MLP_SEED = 42
METRICS = ("roc_auc", "pr_auc", "best_f1", "threshold")
METRIC_TITLES = {"roc_auc": "ROC AUC", "pr_auc": "PR AUC", "best_f1": "best F1", "threshold": "threshold"}


@dataclass(frozen=True)
class BenchmarkConfig:
    """What to run: ``seeds`` seeds (0..seeds-1) of every model × features × split,
    a test part of ``test_frac`` of the rows (or groups), and the learners' iteration counts."""

    seeds: int = 5
    test_frac: float = 0.25
    lr_iter: int = LR_ITERATIONS
    mlp_iter: int = MLP_ITERATIONS
    models: Tuple[str, ...] = MODELS
    features: Tuple[str, ...] = FEATURES
    splits: Tuple[str, ...] = SPLITS

    def check(self, learners: Sequence["WindowLearner"] = ()) -> None:
        """Raise :class:`BenchmarkError` on a setting outside its domain (``learners``: the plug-ins
        whose names ``models`` may also hold)."""
        problems = []
        if self.seeds < 1:
            problems.append(f"seeds must be >= 1, got {self.seeds}")
        if not 0 < self.test_frac < 1:
            problems.append(f"test_frac must be strictly between 0 and 1, got {self.test_frac}")
        if self.lr_iter < 1 or self.mlp_iter < 1:
            problems.append("lr_iter and mlp_iter must be >= 1")
        models = MODELS + tuple(w.name for w in learners)
        for name, chosen, allowed in (("models", self.models, models), ("features", self.features, FEATURES),
                                      ("splits", self.splits, SPLITS)):
            bad = [c for c in chosen if c not in allowed]
            if bad or not chosen:
                problems.append(f"{name} must be a non-empty subset of {', '.join(allowed)}, got {', '.join(chosen) or 'none'}")
        if problems:
            raise BenchmarkError("benchmark settings: " + "; ".join(problems))


class WindowLearner(Protocol):
    """A learner of the raw windows, plugged in by a caller above the domains (the CLI).

    It must pickle (a module-level class) so that its runs can be tasks in other processes."""

    name: str  # the ``models`` value, e.g. ``"tcn"``
    title: str  # the report's model column, e.g. ``"TCN"``
    features: str  # the report's features column, e.g. ``"raw"``

    def describe(self) -> str:
        """One markdown line for the report's setup (settings and model size)."""

    def fit_predict(self, windows: Sequence[int], train: Sequence[int], test: Sequence[int],
                    labels: Sequence[int], seed: int) -> List[float]:
        """Fit on the ``train`` rows of the flat ``rows × 50 × 6`` ``windows``; P(label 1) of each ``test`` row."""


@dataclass
class BenchmarkData:
    """Labelled windows to benchmark on.

    Attributes:
        windows: flat ``rows × 50 × 6`` raw samples.
        labels: 0/1 per row.
        groups: shot group per row (rows of one group never straddle a group split).
        times: sort key per row for the time split (earlier trains, later tests).
        description: markdown lines describing where the rows come from.
    """

    windows: Sequence[int]
    labels: Sequence[int]
    groups: List[Hashable]
    times: List[Tuple[int, int]]
    description: List[str]

    def __len__(self) -> int:
        return len(self.labels)

    @classmethod
    def from_sessions(cls, sd: SessionsDataset) -> "BenchmarkData":
        """Rows of one or more sessions (browser dataset per session)."""
        lines = [
            "Browser dataset per session (positives jittered by -2, -1, +1, +2 samples; "
            "5 negatives per shot, xorshift32 seed 1), rows concatenated in session order.",
            "",
            "| # | session | samples | duration (s) | shots (accepted/all) | positive rows | negative rows |",
            "|---|---|---|---|---|---|---|",
        ]
        for i, s in enumerate(sd.sessions):
            ds = s.dataset
            lines.append(f"| {i} | `{s.name}` | {len(s.log)} | {s.log.duration_ms / 1000:.1f} | "
                         f"{len(ds.accepted)}/{len(ds.edges)} | {ds.pos_count} | {ds.neg_count} |")
        return cls(sd.windows, sd.labels, list(sd.groups), sd.time_keys(), lines)

    @classmethod
    def from_folder(cls, folder: TrainFolder, where: str = "training folder") -> "BenchmarkData":
        """Rows of a training folder; groups are its ``shot_num``, times its ``window_start_ms``."""
        if folder.window_samples != 50:
            raise BenchmarkError(f"{where}: windows are {folder.window_samples} samples; the features need 50")
        meta = folder.meta
        lines = [
            f"Training folder `{where}`: {meta.get('positives', '?')} positives, {meta.get('negatives', '?')} "
            f"negatives, negative strategy `{meta.get('neg_strategy', '?')}`, neg_mult {meta.get('neg_mult', '?')}, "
            f"window {folder.window_samples} samples.",
        ]
        return cls(folder.windows, folder.labels, [(0, r["shot_num"]) for r in folder.index],
                   [(0, r["window_start_ms"]) for r in folder.index], lines)


@dataclass
class Run:
    """One model × features × split × seed: sizes and test-part scores (None when skipped)."""

    model: str
    features: str
    split: str
    seed: int
    n_train: int
    n_test: int
    scores: Optional[Dict[str, float]]
    skipped: str = ""
    seconds: float = 0.0


@dataclass
class Cell:
    """The runs of one model × features × split and their ``(mean, std)`` per metric."""

    model: str
    features: str
    split: str
    runs: List[Run]
    stats: Dict[str, Tuple[float, float]] = field(default_factory=dict)

    @property
    def scored(self) -> List[Run]:
        """Runs that have scores."""
        return [r for r in self.runs if r.scores is not None]


@dataclass
class BenchmarkResult:
    """All runs of a benchmark plus what it ran on."""

    data: BenchmarkData
    config: BenchmarkConfig
    runs: List[Run]
    seconds: float
    backend: str
    learners: Tuple[WindowLearner, ...] = ()

    def title(self, model: str) -> str:
        """The report's name of a model (``LR``, ``MLP`` or a plug-in's title)."""
        return MODEL_NAMES.get(model) or next(w.title for w in self.learners if w.name == model)

    def features_of(self, model: str) -> Tuple[str, ...]:
        """The features a model ran on: the config's, or a plug-in's own one."""
        plug = [w.features for w in self.learners if w.name == model]
        return tuple(plug) or self.config.features

    def cells(self) -> List[Cell]:
        """One cell per model × features × split (config order), with mean and population std."""
        out = []
        for m in self.config.models:
            for f in self.features_of(m):
                for s in self.config.splits:
                    cell = Cell(m, f, s, [r for r in self.runs if (r.model, r.features, r.split) == (m, f, s)])
                    for key in METRICS:
                        values = [r.scores[key] for r in cell.scored]
                        if values:
                            cell.stats[key] = (statistics.fmean(values), statistics.pstdev(values))
                    out.append(cell)
        return out

    def to_markdown(self, command: Optional[str] = None) -> str:
        """The report: command, dataset, setup, results table, skipped runs. The same bytes for
        the same data and config, whatever ran the tasks (no wall time: see ``seconds``)."""
        return render_markdown(self, command)


# --- running ---------------------------------------------------------------------------------------


def _split(name: str, data: BenchmarkData, frac: float, seed: int) -> Tuple[List[int], List[int]]:
    if name == "random":
        return stratified_split(data.labels, frac, seed)
    if name == "time":
        return time_split(len(data), frac, data.times)
    return group_split(data.groups, frac, seed)


def _fit_predict(model: str, X_train: Matrix, y_train, X_test: Matrix, config: BenchmarkConfig, seed: int) -> List[float]:
    if model == "lr":
        return LogisticRegression(max_iter=config.lr_iter).fit(X_train, y_train).predict_proba(X_test)
    return MLP(max_iter=config.mlp_iter, seed=MLP_SEED + seed).fit(X_train, y_train).predict_proba(X_test)


def score(y_test: Sequence[int], probs: Sequence[float]) -> Dict[str, float]:
    """ROC AUC, PR AUC, best F1 and its threshold of test probabilities (both classes needed)."""
    threshold, f1 = best_f1_threshold(y_test, probs)
    return {"roc_auc": roc_auc(y_test, probs), "pr_auc": average_precision(y_test, probs),
            "best_f1": f1, "threshold": threshold}


def _deterministic(model: str, split: str) -> bool:
    """LR on the time split is the same for every seed (no random split, no random init)."""
    return model == "lr" and split == "time"


def estimate_seconds(data: BenchmarkData, config: BenchmarkConfig) -> float:
    """Rough run time of the LR and MLP runs (not the plug-ins'): a short calibration fit of each
    learner, scaled by rows × iterations × runs."""
    n = min(len(data), 64)
    y = list(data.labels[:n])
    costs = {}
    for model, iters in (("lr", 20), ("mlp", 2)):
        X = Matrix([0.1 * ((i * 7919) % 13 - 6) for i in range(n * RICH_FEATURES)], RICH_FEATURES)
        t = time.perf_counter()
        _fit_predict(model, X, y, X, BenchmarkConfig(lr_iter=iters, mlp_iter=iters), 0)
        costs[model] = (time.perf_counter() - t) / (n * iters)
    train_rows = len(data) * (1 - config.test_frac)
    total = 0.0
    for model in (m for m in config.models if m in MODELS):
        iters = config.lr_iter if model == "lr" else config.mlp_iter
        for f in config.features:
            nf = FEATURE_COUNTS[f]
            width = nf / 30 if model == "lr" else (64 * nf + 64 * 32) / (64 * 30 + 64 * 32)
            for s in config.splits:
                runs = 1 if _deterministic(model, s) else config.seeds
                total += runs * costs[model] * train_rows * iters * width
    return total


def _run_one(model: str, f: str, split: str, seed: int, X: Sequence[float], train: List[int], test: List[int],
             labels: Sequence[int], config: BenchmarkConfig, learner: Optional[WindowLearner] = None) -> Run:
    """One model × features × split × seed (a task: it may run in another process).
    ``X`` is the flat ``rows × FEATURE_COUNTS[f]`` features of every row (for a plug-in ``learner``:
    the raw windows), ``labels`` every row's label."""
    t0 = time.perf_counter()
    y_train = [labels[i] for i in train]
    y_test = [labels[i] for i in test]
    run = Run(model, f, split, seed, len(train), len(test), None)
    if len(set(y_test)) < 2:
        run.skipped = f"test part holds only label {y_test[0] if y_test else '-'}"
    else:
        if learner is not None:
            probs = learner.fit_predict(X, train, test, labels, seed)
        else:
            X_train, X_test = scaled_split(X, FEATURE_COUNTS[f], train, test)
            probs = _fit_predict(model, X_train, y_train, X_test, config, seed)
        if all(map(math.isfinite, probs)):
            run.scores = score(y_test, probs)
        else:
            run.skipped = "non-finite probabilities"
    run.seconds = time.perf_counter() - t0
    return run


def _describe_run(name: str, run: Run) -> str:
    result = f"ROC AUC {run.scores['roc_auc']:.3f}" if run.scores else f"skipped: {run.skipped}"
    return f"{name}: {result} ({run.seconds:.1f} s)"


def run_benchmark(data: BenchmarkData, config: BenchmarkConfig = BenchmarkConfig(),
                  progress: Optional[ProgressCallback] = None, *, jobs: Optional[int] = None,
                  executor: Optional[Executor] = None, learners: Sequence[WindowLearner] = ()) -> BenchmarkResult:
    """Run every model × features × split × seed of ``config`` on ``data``.

    ``learners``: plug-in learners of the raw windows (:class:`WindowLearner`); ``config.models``
    names which of them run, each on its own ``features`` value.

    The runs are independent tasks (:mod:`stingerml.learn.executors`): one after
    another by default, on ``jobs`` local processes, or on ``executor`` (e.g. a
    Dask cluster's). The result is the same whatever runs them; LR on the time
    split runs once and is repeated for every seed. Progress counts finished tasks.

    Raises:
        BenchmarkError: bad settings, fewer than 2 rows of a class, or a split
            that cannot be made (e.g. fewer than 2 shot groups).
        TaskError: a run failed (or its worker died); no result.
    """
    config.check(learners)
    plugins = {w.name: w for w in learners}
    pos = sum(1 for v in data.labels if v == 1)
    if pos < 2 or len(data) - pos < 2:
        raise BenchmarkError(f"the dataset has {pos} positive and {len(data) - pos} negative rows; "
                             "each class needs at least 2. Add sessions with more shots.")
    check_jobs(jobs)
    started = time.perf_counter()
    n = len(data)
    feats = {"summary": featurize_summary(data.windows, n), "rich": featurize_rich(data.windows, n)}
    labels = array("B", data.labels)
    order: List[Tuple[int, int]] = []  # per run in report order: its task and its seed
    tasks: List[Tuple[str, tuple]] = []
    first: Dict[Tuple[str, str, str], int] = {}
    for seed in range(config.seeds):
        for split in config.splits:
            try:
                train, test = _split(split, data, config.test_frac, seed)
            except StingerError as exc:
                raise BenchmarkError(f"{split} split, seed {seed}: {exc}") from exc
            for model in config.models:
                plug = plugins.get(model)
                for f in (plug.features,) if plug else config.features:
                    key = (model, f, split)
                    if not (_deterministic(model, split) and key in first):
                        first[key] = len(tasks)
                        title = plug.title if plug else MODEL_NAMES[model]
                        X = data.windows if plug else feats[f]
                        tasks.append((f"{title} {f} {split} seed {seed}",
                                      (model, f, split, seed, X, train, test, labels, config, plug)))
                    order.append((first[key], seed))
    done = run_tasks(_run_one, tasks, jobs=jobs, executor=executor, progress=progress, stage="benchmark",
                     describe=_describe_run)
    runs = [replace(done[t], seed=seed) for t, seed in order]
    return BenchmarkResult(data, config, runs, time.perf_counter() - started, backend(), tuple(learners))


# --- the report ------------------------------------------------------------------------------------


def mlp_weights(features: str) -> int:
    """Weights and biases of the browser's MLP in→64→32→1 on ``features``."""
    return (FEATURE_COUNTS[features] + 1) * 64 + 65 * 32 + 33


def mean_std(stat: Optional[Tuple[float, float]], digits: int = 3) -> str:
    """``"0.912 ± 0.013"``, or ``"n/a"`` when no run had the metric."""
    if stat is None:
        return "n/a"
    return f"{stat[0]:.{digits}f} \u00b1 {stat[1]:.{digits}f}"


def render_markdown(result: BenchmarkResult, command: Optional[str] = None) -> str:
    """The benchmark report as markdown."""
    c, d = result.config, result.data
    pos = sum(1 for v in d.labels if v == 1)
    lines = ["# stingerml benchmark", ""]
    if command:
        lines += ["Command:", "", "```sh", command, "```", ""]
    lines += ["## Dataset", "", *d.description, "",
              f"{len(d)} rows ({pos} positive, {len(d) - pos} negative) in {len(set(d.groups))} shot groups.", ""]
    lines += [
        "## Setup", "",
        f"- Learners (the browser trainer's): logistic regression, batch gradient descent with L2 = max(1, 50/n), "
        f"{c.lr_iter} iterations; MLP in→64→32→1, full-batch Adam, {c.mlp_iter} iterations, init seed 42 + seed. "
        "Weights (float32 bytes): " + ", ".join(f"LR {f} {4 * (FEATURE_COUNTS[f] + 1)}, MLP {f} {4 * mlp_weights(f)}"
                                                for f in c.features) + ".",
        *[f"- {w.describe()}" for w in result.learners if w.name in c.models],
        "- Features: " + ", ".join(f"{f} ({FEATURE_COUNTS[f]})" for f in c.features)
        + "; the standard scaler is fitted on the train part only.",
        f"- Splits, test part {c.test_frac:g} of the rows (of the groups for `group`): "
        "`random` stratified by label (`random.Random(seed)`); `time` the latest rows by (session, window start) "
        "— the same for every seed; `group` whole shot groups (session, shot number; a negative belongs to the "
        "nearest accepted shot) drawn with `random.Random(seed)`.",
        f"- Seeds 0..{c.seeds - 1}; each cell is the mean ± population standard deviation over its scored runs. "
        "Best F1 is the maximum over thresholds 0.00..1.00 (the lowest threshold wins ties).",
        f"- Backend `{result.backend}`.", "",
        "## Results", "",
        "| model | features | split | " + " | ".join(METRIC_TITLES[k] for k in METRICS) + " | runs |",
        "|---|---|---|" + "---|" * len(METRICS) + "---|",
    ]
    cells = result.cells()
    for cell in cells:
        values = " | ".join(mean_std(cell.stats.get(k), 2 if k == "threshold" else 3) for k in METRICS)
        lines.append(f"| {result.title(cell.model)} | {cell.features} | {cell.split} | {values} | "
                     f"{len(cell.scored)}/{len(cell.runs)} |")
    skipped = [r for r in result.runs if r.scores is None]
    if skipped:
        lines += ["", "## Skipped runs", ""]
        lines += [f"- {result.title(r.model)} {r.features} {r.split} seed {r.seed}: {r.skipped}" for r in skipped]
    return "\n".join(lines) + "\n"
