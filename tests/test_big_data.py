"""Issue 29, group 5 at small scale: the tabular reader's memory per value and the progress
cadence of a long stage (the 200 MB figures are benchmarks/big_tabular.py's, not a unit test)."""
from __future__ import annotations

import io
import random
import tracemalloc

from stingerml.cli._progress import SILENCE_S, StderrProgress
from stingerml.core.progress import Progress
from stingerml.tabular.csvdata import read_table

ROWS, COLS = 20000, 10


def _write(path, rows=ROWS):
    rng = random.Random(1)
    with open(path, "w") as fh:
        fh.write(",".join(f"f{i}" for i in range(COLS)) + ",label\n")
        for _ in range(rows):
            fh.write(",".join(f"{rng.uniform(-100, 100):.6f}" for _ in range(COLS))
                     + f",{rng.choice(['Adelie', 'Gentoo', 'Chinstrap'])}\n")
    return path


def test_reading_a_csv_peaks_under_four_times_its_float32_size(tmp_path):
    path = _write(tmp_path / "big.csv")
    tracemalloc.start()
    try:
        table = read_table(path, "label")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert table.X.n_rows == ROWS and table.X.n_cols == COLS
    # float32 size of the data: 4 bytes a value. The rows as lists of strings took ~160 bytes a value.
    assert peak <= 4 * 4 * ROWS * COLS, f"{peak / (ROWS * COLS):.1f} bytes a value"


def test_reading_reports_the_bytes_read_in_both_passes(tmp_path):
    path = _write(tmp_path / "big.csv")
    events = []
    read_table(path, "label", progress=events.append)
    read = [e for e in events if e.stage == "read"]
    size = path.stat().st_size
    assert all(e.total == size and 0 < e.done <= size for e in read)
    scans = [e for e in read if e.message.startswith("scanning")]
    reads = [e for e in read if e.message.startswith("reading")]
    assert len(scans) >= ROWS // 4096 and len(reads) >= ROWS // 4096  # an event every 4096 rows
    assert [e.done for e in scans] == sorted(e.done for e in scans)
    mib = f"{size / 1048576:.1f}"  # to a tenth: a file under 1 MiB read "0 of 0 MiB"
    assert scans[-1].message == f"scanning big.csv: {mib} of {mib} MiB", scans[-1].message


def _line_times(progress, out, now, intervals):
    """Feed counted events at the given intervals (s); the times at which a line was written."""
    times = []
    for k, dt in enumerate(intervals, 1):
        now[0] += dt
        before = out.getvalue().count("\n")
        progress(Progress("read", f"tick {k}", k, 10 ** 6))
        if out.getvalue().count("\n") > before:
            times.append(now[0])
    return times


def test_a_counted_stage_without_a_terminal_prints_at_least_every_10_s():
    now = [0.0]
    out = io.StringIO()
    times = _line_times(StderrProgress(out, clock=lambda: now[0]), out, now, [3.0] * 100)
    # a line before the silence would pass SILENCE_S at the next tick (at the first tick after it: 12 s)
    gaps = [b - a for a, b in zip([0.0] + times, times)]
    assert gaps and max(gaps) <= SILENCE_S and len(gaps) >= 300 / SILENCE_S
    assert min(gaps) >= SILENCE_S / 2  # and not more often than that needs (twice 3 s ahead)


def test_a_long_step_is_allowed_for_but_does_not_make_every_event_a_line():
    now = [0.0]
    out = io.StringIO()
    # fast ticks, one step of 4 s (a line before the next silence that long could pass 10 s), then a
    # step of 60 s (counted as SILENCE_S / 2 at most) and fast ticks again
    times = _line_times(StderrProgress(out, clock=lambda: now[0]), out, now,
                        [0.25] * 40 + [4.0] + [0.25] * 80 + [60.0] + [0.25] * 200)
    after_4 = [t for t in times if 14.0 < t < 70.0]
    assert after_4 and all(b - a <= 10.0 - 4.0 + 0.25 for a, b in zip([14.0] + after_4, after_4))
    after_60 = [t for t in times if t >= 94.0]  # a line at the end of the long step, then
    assert len(after_60) == 10  # 50 s of ticks: a line every 5.25 s, not one per tick
    assert all(b - a <= SILENCE_S - SILENCE_S / 2 + 0.25 for a, b in zip(after_60, after_60[1:]))


def test_splitting_a_big_table_reports_the_rows_shuffled(tmp_path):
    from stingerml.tabular.runs import RunSettings, load_data

    events = []
    table, split = load_data(_write(tmp_path / "big.csv", 140000), RunSettings(label="label"), progress=events.append)
    ticks = [e for e in events if e.message.startswith("splitting: rows shuffled")]
    assert len(ticks) >= 140000 // 65536 and ticks[-1].done == ticks[-1].total == 140000
    assert [e.done for e in ticks] == sorted(e.done for e in ticks)
    _, quiet = load_data(tmp_path / "big.csv", RunSettings(label="label"))
    assert quiet == split  # the same split with and without the ticks


def test_batch_events_count_every_batch_of_every_epoch():
    # a survivor of tools/mutation.py (learn/epochs.py: the batch events' total `*` -> `/`)
    from array import array

    from stingerml.core.matrix import Matrix
    from stingerml.tabular.estimator import MLPClassifier

    from stingerml.learn.epochs import BATCHES_PER_REPORT

    rows, batch, epochs = 301, 2, 2  # 151 batches an epoch, the last of one row
    rng = random.Random(3)
    X = Matrix(array("d", [rng.uniform(-1, 1) for _ in range(rows * 2)]), 2)
    y = [int(X.data[2 * r] > 0) for r in range(rows)]
    events = []
    MLPClassifier(hidden_layer_sizes=(4,), batch_size=batch, max_epochs=epochs, early_stopping=False,
                  seed=1).fit(X, y, progress=events.append)
    batches = [e for e in events if e.stage == "batch"]
    per_epoch = -(-rows // batch)
    assert batches and all(e.total == epochs * per_epoch for e in batches)
    assert batches[-1].done == epochs * per_epoch and batches[-1].metrics["batches"] == per_epoch
    for epoch in range(1, epochs + 1):  # each batch of each epoch, in order (learn/epochs.py's count)
        mine = [e for e in batches if e.metrics["epoch"] == epoch]
        chunk = BATCHES_PER_REPORT * batch  # rows between two batch events
        assert [e.metrics["batch"] for e in mine] == [-(-min(rows, start + chunk) // batch)
                                                      for start in range(0, rows, chunk)]
        assert [e.done for e in mine] == [(epoch - 1) * per_epoch + e.metrics["batch"] for e in mine]


def test_a_long_epoch_without_a_terminal_prints_a_batch_line_every_10_s():
    from stingerml.cli._progress import EpochProgress

    now = [0.0]
    out = io.StringIO()
    progress = EpochProgress(out)
    progress.clock = lambda: now[0]
    progress._line_at = 0.0
    for b in range(1, 41):  # 40 batch events 1 s apart: a line before 10 s pass (twice 1 s ahead)
        now[0] += 1.0
        progress(Progress("batch", f"epoch 1/1 batch {b}/40", b, 40, {"epoch": 1, "batch": b, "batches": 40}))
    assert out.getvalue().splitlines() == [f"  epoch 1/1 batch {b}/40" for b in (9, 18, 27, 36)]


def _train_peak(tmp_path, csv, settings):
    """tracemalloc's peak (bytes) of ``train_run`` after a warm-up run (imports, kernels: not the data's)."""
    from stingerml.tabular.runs import train_run

    train_run(_write(tmp_path / "warm.csv", 300), settings, runs_dir=tmp_path / "warm")
    tracemalloc.start()
    try:
        result = train_run(csv, settings, runs_dir=tmp_path / "runs")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return result, peak


def test_training_keeps_one_matrix_of_the_rows_and_views_of_its_split(tmp_path):
    from stingerml.tabular.runs import RunSettings

    path = _write(tmp_path / "big.csv")
    result, peak = _train_peak(tmp_path, path, RunSettings(label="label", hidden=[4], epochs=1, batch_size=64))
    assert result.table.n_rows == ROWS
    # The table holds X as float64 (2 x the float32 size), the line numbers, class codes and split
    # indices (array("q")); training adds the validation rows' scaled copy and a chunk of batches
    # (measured 5.2 x at 10 columns). A copy of the training rows as float64 lists (the old _rows:
    # ~40 bytes a value) or as a scaled matrix, or the CSV's bytes held to copy it into the run, each
    # pass 7 x; the split as lists of ints, its split.json as one text and the classifier's one-hot
    # targets for every row made it 6.1 x.
    assert peak <= 5.75 * 4 * ROWS * COLS, f"{peak / (4 * ROWS * COLS):.1f} x the float32 size"


def test_every_phase_of_a_run_shows_a_line_without_a_terminal(tmp_path):
    """With a clock that moves 11 s at each progress event, every counted step prints: a phase with
    no counted steps would be silent however long it took."""
    from stingerml.cli._progress import EpochProgress
    from stingerml.tabular.runs import RunSettings, train_run

    now = [0.0]

    def clock():
        now[0] += 11.0
        return now[0]
    out = io.StringIO()
    printer = EpochProgress(out)
    printer.clock, printer._line_at = clock, 0.0
    path = _write(tmp_path / "big.csv")
    train_run(path, RunSettings(label="label", hidden=[4], epochs=1, batch_size=64), runs_dir=tmp_path / "runs",
              progress=printer)
    text = out.getvalue()
    for phase in ("scanning big.csv", "reading big.csv", "splitting 20000 rows", "writing the run folder",
                  "training rows' targets", "fitting the scaler: feature 0/10", "fitting the scaler: feature 10/10",
                  "epoch 1/1 batch", "int8 model on the test rows"):
        assert phase in text, f"no line of '{phase}' in:\n{text}"


def test_predict_streams_the_rows_through(tmp_path):
    """``tabular predict`` holds a chunk of rows, not the file's: its peak does not grow with the file
    (X as float64 alone was 2 x the float32 size, the output lines ~10 x), and the output holds the
    model's outputs for every row, in order, across the chunks' edges."""
    from stingerml.cli import main
    from stingerml.formats import network
    from stingerml.tabular.estimator import network_outputs
    from stingerml.tabular.runs import RunSettings, train_run

    run = train_run(_write(tmp_path / "train.csv", 2000), RunSettings(label="label", hidden=[4], epochs=1),
                    runs_dir=tmp_path / "runs").run_dir
    out = tmp_path / "pred.csv"
    assert main(["tabular", "predict", str(run), str(tmp_path / "train.csv"), "-o", str(out), "--quiet"]) == 0
    peaks = {}
    for rows in (8000, 32000):
        path = _write(tmp_path / f"big{rows}.csv", rows)
        tracemalloc.start()
        try:
            assert main(["tabular", "predict", str(run), str(path), "-o", str(out), "--quiet"]) == 0
            peaks[rows] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    growth = (peaks[32000] - peaks[8000]) / (24000 * COLS * 4)
    assert growth <= 0.25, f"{growth:.2f} x the float32 size of the extra rows; peaks {peaks}"
    table = read_table(path, "label")
    net = network.load(run / "output" / "model.json")
    probs = network_outputs(net, table.X)
    lines = out.read_text().splitlines()
    assert len(lines) == 32000 + 1 and lines[0].startswith("line,prediction,p_")
    k = len(net.classes)
    for r in (0, 4095, 4096, 31999):
        cells = lines[r + 1].split(",")
        assert int(cells[0]) == table.lines[r] and [float(c) for c in cells[2:]] == list(probs[r * k:(r + 1) * k])
