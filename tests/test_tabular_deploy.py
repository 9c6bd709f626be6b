"""Tabular runs as deployable models: output/ holds model.onnx, model.tflite and their quantization in
meta.json (one set), evaluate reports float and int8 side by side, and the files run in the real runtimes."""
from __future__ import annotations

import csv
import json
import random

import pytest
from test_tabular_runs import SETTINGS, make_csv, outputs

from stingerml.cli import main
from stingerml.core.matrix import Matrix
from stingerml.core.rng import XorShift32
from stingerml.deploy.quantize import quantize
from stingerml.formats import network
from stingerml.formats.onnx import to_onnx
from stingerml.formats.tflite import to_tflite
from stingerml.tabular.runs import RunSettings, evaluate, load_quantized, train_run

OUTPUT = ["meta.json", "model.json", "model.onnx", "model.tflite", "training_history.json"]


def make_regression_csv(path, n=60, seed=5):
    rng = XorShift32(seed)
    rows = ["x1,x2,t1,t2"] + [f"{a:.3f},{b:.3f},{a + 2 * b:.3f},{a * b:.3f}"
                              for a, b in ((rng(), rng()) for _ in range(n))]
    path.write_text("\n".join(rows) + "\n")
    return path


def _run(tmp_path, kind):
    """A finished run: softmax (3 classes; "large": 200 rows), sigmoid (2 classes) or regression (2 targets)."""
    if kind == "large":
        data = make_csv(tmp_path / "d.csv", n=200)
        settings = RunSettings(**{**SETTINGS, "epochs": 2})
    elif kind == "regression":
        data = make_regression_csv(tmp_path / "r.csv")
        settings = RunSettings(targets=["t1", "t2"], hidden=[6, 4], epochs=5, batch_size=8)
    else:
        classes = ("red", "green", "blue") if kind == "softmax" else ("yes", "no")
        data = make_csv(tmp_path / "d.csv", classes=classes)
        settings = RunSettings(**{**SETTINGS, "epochs": 5})
    return data, train_run(data, settings, runs_dir=tmp_path / "runs")


def _csv_rows(path, columns):
    """The CSV's records and the ``columns`` of each as floats, read with the csv module (not the library's reader)."""
    lines = path.read_text().splitlines()
    records = list(csv.DictReader(lines, delimiter=";" if ";" in lines[0] else ","))
    return [[float(r[c]) for c in columns] for r in records], records


# -- 1. output/: the export set ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["softmax", "sigmoid", "regression", "large"])
def test_output_holds_onnx_tflite_and_quantization(tmp_path, kind):
    data, result = _run(tmp_path, kind)
    out = result.run_dir / "output"
    assert sorted(p.name for p in out.iterdir()) == OUTPUT  # no journal, staging folder or temporary file
    net = network.load(out / "model.json")
    assert (out / "model.onnx").read_bytes() == to_onnx(net)
    # the representative set, drawn here: 100 rows of the training split (all of them when fewer), seed 42
    split = json.loads((result.run_dir / "data" / "split.json").read_text())
    rows, _ = _csv_rows(data, net.feature_names)
    train = [rows[i] for i in split["train"]]
    if len(train) > 100:
        train = [train[i] for i in sorted(random.Random(42).sample(range(len(train)), 100))]
    qnet = quantize(net, Matrix([v for r in train for v in r], net.n_features))
    assert (out / "model.tflite").read_bytes() == to_tflite(qnet)
    meta = json.loads((out / "meta.json").read_text())
    assert meta["quantization"] == json.loads(json.dumps(qnet.to_dict()))
    assert meta["representative"] == {"split": "train", "rows_available": len(split["train"]),
                                      "rows_used": len(train), "seed": 42}
    assert meta["onnx"] == {"scaler_folded": True}
    # what meta.json carried before is still there
    assert meta["features"]["names"] == list(net.feature_names) and meta["dataset"]["hash"]
    assert meta["model"]["file"] == "model.json" and meta["training"]["seed"] == 42
    assert set(meta["model"]["metrics"]["int8"]) == set(meta["model"]["metrics"]) - {"int8"}
    assert len(train) == (100 if kind == "large" else len(split["train"]))


def test_output_set_is_the_same_bytes_on_both_backends(tmp_path):
    from conftest import use_backend

    pytest.importorskip("numba")
    data = make_csv(tmp_path / "d.csv")
    runs = []
    for name in ("python", "numba"):
        with use_backend(name):
            runs.append(train_run(data, RunSettings(**{**SETTINGS, "epochs": 3}), runs_dir=tmp_path / name).run_dir)
    assert outputs(runs[0]) == outputs(runs[1])


def test_output_is_written_as_one_set(tmp_path, monkeypatch):
    """A failure while the outputs are written leaves output/ empty (not history and meta without the model),
    and the run resumes to the bytes of an uninterrupted one."""
    data = make_csv(tmp_path / "d.csv")
    whole = train_run(data, RunSettings(**SETTINGS), runs_dir=tmp_path / "a").run_dir

    from stingerml.tabular import runs as runs_module

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(runs_module, "export_network", disk_full)
        with pytest.raises(OSError):
            train_run(data, RunSettings(**SETTINGS), runs_dir=tmp_path / "b")
    (run,) = (tmp_path / "b").iterdir()  # kept: its trained state is checkpointed
    assert list((run / "output").iterdir()) == []
    train_run(resume=run)
    assert sorted(outputs(run)) == OUTPUT and outputs(run) == outputs(whole)


# -- 2. evaluate: float and int8 --------------------------------------------------------------------


def test_api_evaluate_adds_int8_metrics(tmp_path):
    _, result = _run(tmp_path, "softmax")
    net = network.load(result.run_dir / "output" / "model.json")
    qnet = load_quantized(result.run_dir, net)
    X = result.table.X
    truth = [result.table.classes[k] for k in result.table.y]
    both = evaluate(net, X, truth, qnet)
    assert {k: v for k, v in both.items() if k != "int8"} == evaluate(net, X, truth)
    p = qnet.predict(X).data
    codes = [max(range(3), key=p[3 * r:3 * r + 3].__getitem__) for r in range(X.n_rows)]
    assert both["int8"]["accuracy"] == sum(c == t for c, t in zip(codes, result.table.y)) / X.n_rows


def test_cli_evaluate_reports_float_and_int8(tmp_path, capsys):
    data, result = _run(tmp_path, "softmax")
    run = str(result.run_dir)
    assert main(["tabular", "evaluate", run, str(data), "--json"]) == 0
    m = json.loads(capsys.readouterr().out)
    assert sum(map(sum, m["int8"]["confusion_matrix"])) == 90 and 0.0 <= m["int8"]["accuracy"] <= 1.0
    assert main(["tabular", "evaluate", run, str(data)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"{data}: 90 rows"  # the title: which rows the metrics are of
    assert lines[1].split() == ["float", "int8"]
    assert lines[2].split() == ["accuracy", f"{m['accuracy']:.4f}", f"{m['int8']['accuracy']:.4f}"]


def test_cli_evaluate_regression_reports_float_and_int8(tmp_path, capsys):
    data, result = _run(tmp_path, "regression")
    assert main(["tabular", "evaluate", str(result.run_dir), str(data), "--json"]) == 0
    m = json.loads(capsys.readouterr().out)
    assert m["int8"]["targets"] == ["t1", "t2"] and len(m["int8"]["r2"]) == len(m["int8"]["mse"]) == 2
    assert main(["tabular", "evaluate", str(result.run_dir), str(data)]) == 0
    out = capsys.readouterr().out
    assert f"R2 {m['r2'][0]:.4f} (int8 {m['int8']['r2'][0]:.4f})" in out
    assert f"MSE {m['mse'][1]:.6g} (int8 {m['int8']['mse'][1]:.6g})" in out


def test_cli_evaluate_refuses_a_changed_tflite(tmp_path, capsys):
    data, result = _run(tmp_path, "softmax")
    tflite = result.run_dir / "output" / "model.tflite"
    tflite.write_bytes(tflite.read_bytes()[:-1] + b"\x01")
    assert main(["tabular", "evaluate", str(result.run_dir), str(data)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "model.tflite" in err


def test_cli_evaluate_of_a_run_without_tflite_is_float_only(tmp_path, capsys):
    data, result = _run(tmp_path, "softmax")
    (result.run_dir / "output" / "model.tflite").unlink()
    assert main(["tabular", "evaluate", str(result.run_dir), str(data), "--json"]) == 0
    captured = capsys.readouterr()
    assert "int8" not in json.loads(captured.out) and "float metrics only" in captured.err


# -- 5. the run's files in the real runtimes ---------------------------------------------------------


@pytest.mark.parametrize("kind", ["softmax", "sigmoid", "regression"])
def test_run_files_in_litert_and_onnxruntime(tmp_path, kind):
    data, result = _run(tmp_path, kind)
    out = result.run_dir / "output"
    net = network.load(out / "model.json")
    rows, _ = _csv_rows(data, net.feature_names)
    X = Matrix([v for r in rows for v in r], net.n_features)

    from test_onnx import TOL, _max_diff  # skips without onnxruntime
    assert _max_diff(net, (out / "model.onnx").read_bytes(), X) <= TOL

    from test_tflite import _litert_outputs, np  # skips without LiteRT
    qnet = load_quantized(result.run_dir, net)
    q_in = [qnet.quantize_input(r) for r in rows]
    blob = (out / "model.tflite").read_bytes()
    if qnet.heads:  # regression: one int8 head per target, a float32 output (test_bounded_outputs: the integers)
        from test_bounded_outputs import _litert_int8

        want = np.array([qnet.dequantize_output(qnet.run(q)) for q in q_in], dtype=np.float32)
        steps = np.array([h.output_scale for h in qnet.heads], dtype=np.float32)
        assert np.array_equal(_litert_int8(blob, q_in, reference=True)[0], want)
        assert (np.abs(_litert_int8(blob, q_in, reference=False)[0] - want) <= steps).all()
        return
    want = np.array([qnet.run(q) for q in q_in])
    assert int(np.abs(_litert_outputs(blob, q_in, reference=True) - want).max()) == 0
    assert int(np.abs(_litert_outputs(blob, q_in, reference=False) - want).max()) <= 1


def test_cli_int8_accuracy_equals_litert(tmp_path, capsys):
    """The int8 accuracy evaluate prints is LiteRT's (reference kernels) on the run's model.tflite."""
    from test_tflite import _litert_outputs, np

    data, result = _run(tmp_path, "softmax")
    net = network.load(result.run_dir / "output" / "model.json")
    rows, records = _csv_rows(data, net.feature_names)
    qnet = load_quantized(result.run_dir, net)
    got = _litert_outputs((result.run_dir / "output" / "model.tflite").read_bytes(),
                          [qnet.quantize_input(r) for r in rows], reference=True)
    truth = [net.classes.index(r["colour"]) for r in records]
    expected = float(np.mean(np.argmax(got, axis=1) == np.array(truth)))
    assert main(["tabular", "evaluate", str(result.run_dir), str(data), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["int8"]["accuracy"] == pytest.approx(expected, abs=1e-12)


# -- 3. benchmarks/tabular.py prints int8 beside float ----------------------------------------------


def run_benchmark(monkeypatch, *argv: str) -> None:
    """benchmarks/tabular.py's main() with ``argv`` (numba, the backend restored afterwards)."""
    import importlib.util
    from pathlib import Path

    pytest.importorskip("sklearn")
    pytest.importorskip("numba")
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "tabular.py"
    spec = importlib.util.spec_from_file_location("benchmark_tabular", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    monkeypatch.setattr("sys.argv", ["tabular.py", *argv])
    from stingerml import _kernels

    before = _kernels.backend()
    try:
        bench.main()
    finally:
        _kernels.set_backend(before)


def test_benchmark_prints_int8_beside_float(monkeypatch, capsys):
    run_benchmark(monkeypatch, "--sets", "iris", "--repeat", "1", "--skip-pure")
    header, _, row = capsys.readouterr().out.splitlines()[1:4]
    cells = dict(zip([c.strip() for c in header.split("|")], [c.strip() for c in row.split("|")]))
    assert cells["data set"] == "iris"
    for dropout in ("0", "0.2"):
        float_acc, int8_acc = float(cells[f"stingerml (dropout {dropout})"]), float(cells[f"int8 (dropout {dropout})"])
        assert 0.0 < int8_acc <= 1.0 and float_acc - int8_acc <= 0.01  # the target: at most 1 point


def test_a_model_file_that_cannot_be_read_is_one_line_with_the_systems_reason(tmp_path):
    """The reason is the operating system's own words (os.strerror), not Python's '[Errno N] ...' text."""
    import errno
    import os

    from stingerml.core.errors import ModelFormatError

    for path, code in ((tmp_path / "absent.json", errno.ENOENT), (tmp_path, errno.EISDIR)):
        with pytest.raises(ModelFormatError) as info:
            network.load(path)
        assert str(info.value) == f"{path}: cannot read the model ({os.strerror(code)})"
