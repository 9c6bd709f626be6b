"""Float32 TFLite export: LiteRT (reference and default kernels) against DenseNetwork.forward on raw rows."""
from __future__ import annotations

import pytest

from hands import samples
from sklearn_nets import fitted
from stingerml.formats.tflite import to_tflite_float
from stingerml.core.matrix import Matrix
from stingerml.tabular import MLPClassifier

litert = pytest.importorskip("ai_edge_litert.interpreter")
np = pytest.importorskip("numpy")

TOL = 1e-5


def _litert_float(blob: bytes, rows, reference: bool) -> "np.ndarray":
    """LiteRT's float outputs, one row at a time (the file's batch is 1)."""
    kw = {"experimental_op_resolver_type": litert.OpResolverType.BUILTIN_REF} if reference else {}
    it = litert.Interpreter(model_content=blob, **kw)
    it.allocate_tensors()
    (inp,), (out,) = it.get_input_details(), it.get_output_details()
    assert inp["dtype"] == np.float32 and out["dtype"] == np.float32
    got = []
    for r in rows:
        it.set_tensor(inp["index"], np.asarray([r], dtype=np.float32))
        it.invoke()
        got.append(it.get_tensor(out["index"])[0].copy())
    return np.array(got, dtype=np.float64)


def _max_diff(net, rows, reference: bool) -> float:
    got = _litert_float(to_tflite_float(net), rows, reference)
    want = np.array([net.forward(r) for r in rows])
    assert got.shape == want.shape
    return float(np.abs(got - want).max())


@pytest.mark.parametrize("reference", [True, False], ids=["reference", "default"])
@pytest.mark.parametrize("name", ["iris", "breast_cancer", "diabetes", "digits"])
def test_litert_equals_forward(name, reference):
    pytest.importorskip("sklearn")
    f = fitted(name)
    rows = [list(r) for r in f.test.rows()]
    assert _max_diff(f.net, rows, reference) <= TOL


@pytest.fixture(scope="module")
def hands_net():
    rows, labels = samples(160)
    return MLPClassifier((12,), max_epochs=30, preprocess="hands21").fit(
        Matrix([v for r in rows for v in r], 63), labels).to_model()


@pytest.mark.parametrize("reference", [True, False], ids=["reference", "default"])
def test_hands21_model_takes_raw_landmarks(hands_net, reference):
    rows, _ = samples(60, seed=91)
    rows.append([3.0] * 63)  # point 9 on the wrist: divide by 1
    assert _max_diff(hands_net, rows, reference) <= TOL


@pytest.mark.parametrize("reference", [True, False], ids=["reference", "default"])
def test_hands21_model_takes_raw_frames(reference):
    """A row of T = 4 hands (seed 001's [N, T, 21, 3] flattened): the graph normalises each frame."""
    frames = [samples(120, seed)[0] for seed in (5, 6, 7, 8)]  # frame t of sample i: frames[t][i], class i % 4
    rows = [[v for f in frames for v in f[i]] for i in range(120)]
    net = MLPClassifier((8,), max_epochs=10, preprocess="hands21").fit(
        Matrix([v for r in rows for v in r], 4 * 63), samples(120)[1]).to_model()
    test = [r[:3 * 63] + [0.0] * 63 for r in rows[:30]]  # a masked (zero) last frame
    test.append([3.0] * (4 * 63))  # point 9 on the wrist in every frame: divide by 1
    assert _max_diff(net, rows[:30] + test, reference) <= TOL


def test_byte_stable():
    pytest.importorskip("sklearn")
    net = fitted("iris").net
    assert to_tflite_float(net) == to_tflite_float(net)


@pytest.mark.parametrize("kind, files", [("both", {"model.tflite", "model_float32.tflite"}),
                                         ("float", {"model_float32.tflite"})])
def test_cli_tflite_kinds(tmp_path, capsys, kind, files):
    import json
    from pathlib import Path

    from hands import write_csv
    from stingerml.cli import main
    from stingerml.formats import network

    data = write_csv(tmp_path / "hands.csv", n=120)
    assert main(["tabular", "train", str(data), "--label", "letter", "--preprocess", "hands21", "--hidden", "8",
                 "--epochs", "5", "--tflite-kind", kind, "--runs-dir", str(tmp_path / "runs"), "--quiet"]) == 0
    out = Path(capsys.readouterr().out.strip()) / "output"
    assert {p.name for p in out.glob("*.tflite")} == files
    meta = json.loads((out / "meta.json").read_text())
    assert meta["tflite_float"]["file"] == "model_float32.tflite" and meta["tflite_float"]["preprocess"] == "hands21"
    assert meta["quantization"]["type"] == ("float32" if kind == "float" else "int8")
    assert ("int8" in meta["model"]["metrics"]) == (kind == "both")
    net = network.load(out / "model.json")
    rows, _ = samples(40, seed=92)
    got = _litert_float((out / "model_float32.tflite").read_bytes(), rows, reference=True)
    assert float(np.abs(got - np.array([net.forward(r) for r in rows])).max()) <= TOL
