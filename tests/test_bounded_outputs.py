"""Bounded regression outputs (``output_activation``: linear, sigmoid, tanh per target): the kernels'
gradients against float64 central finite differences, pure = numba to the bit, the model file, ONNX
(onnxruntime) and float32 TFLite (LiteRT) against the float forward pass, and the settings' words."""
from __future__ import annotations

import contextlib
import json
import math
import re
from array import array

import pytest

from stingerml._kernels import kernels, set_backend
from stingerml._kernels.pure import BETA1, BETA2
from stingerml.cli import main
from stingerml.core.dense import DenseNetwork
from stingerml.core.errors import TabularDataError
from stingerml.core.matrix import Matrix
from stingerml.core.rng import XorShift32
from stingerml.formats import network
from stingerml.tabular.estimator import MLPRegressor

ACTS = ("linear", "sigmoid", "tanh")
TOL = 1e-5


def _data(n=120, seed=3):
    """Two features; targets: a line (range ~10), a sigmoid-bounded value in (0, 1), a tanh one in (-1, 1)."""
    rng = XorShift32(seed)
    rows, ys = [], []
    for _ in range(n):
        a, b = rng(), rng()
        rows += [a, b]
        ys += [10 * a + 3 * b, 1 / (1 + math.exp(-(4 * a - 4 * b))), math.tanh(2 * b - 1)]
    return Matrix(array("d", rows), 2), Matrix(array("d", ys), 3)


def _fit(backend="python", epochs=8, **kw):
    set_backend(backend)
    X, Y = _data()
    return MLPRegressor((8, 5), max_epochs=epochs, output_activation=list(ACTS), dropout=0.1, **kw).fit(
        X, Y, target_names=["s", "g", "t"])


# -- gradients --------------------------------------------------------------------------------------------


def _gradient(K, P, sizes, X, T, n, acts):
    """The kernel's mean gradient over one full batch, read from one Adam step set up to be ``p - g``:
    zero moments, bc1 = 1 - β1 (so m/bc1 = g), bc2 huge (so sqrt(v/bc2) ≪ ε) and lr = ε."""
    from stingerml._kernels.pure import EPS

    P1 = array("d", P)
    zeros = array("d", bytes(8 * len(P)))
    K.train_epoch(P1, array("d", zeros), array("d", zeros), sizes, X, T, list(range(n)), n, "linear", 0.0, 0.0,
                  EPS, array("d", [1.0 - BETA1]), array("d", [(1.0 - BETA2) * 1e300]), 7, acts)
    return [a - b for a, b in zip(P, P1)]


@pytest.mark.parametrize("backend", ["python", "numba"])
def test_gradients_equal_central_differences(backend):
    if backend == "numba":
        pytest.importorskip("numba")
    set_backend(backend)
    K = kernels("tabular")
    sizes = [3, 4, 3]
    rng = XorShift32(11)
    n = 6
    X = array("d", [2 * rng() - 1 for _ in range(n * 3)])
    T = array("d", [v for _ in range(n) for v in (3 * rng() - 1, rng(), 2 * rng() - 1)])  # linear, [0,1], [-1,1]
    P = array("d", [rng() - 0.5 for _ in range(K.n_params(sizes))])
    acts = ACTS
    g = _gradient(K, P, sizes, X, T, n, acts)
    h = 1e-6
    for j in range(len(P)):
        up, down = array("d", P), array("d", P)
        up[j] += h
        down[j] -= h
        fd = (K.forward(up, sizes, X, n, "linear", T, acts)[1] - K.forward(down, sizes, X, n, "linear", T, acts)[1]) \
            / (2 * h) / n
        assert abs(g[j] - fd) <= 1e-6 * max(1.0, abs(fd)), (j, g[j], fd)


def test_gradient_check_can_fail():
    """The same check sees a wrong derivative: the sigmoid target's gradient without its slope p(1 - p)."""
    K = kernels("tabular")
    set_backend("python")
    sizes = [2, 2]
    X, T = array("d", [0.5, -1.0]), array("d", [0.2, 0.9])
    P = array("d", [0.3, -0.2, 0.1, 0.4, 0.05, -0.1])
    g_right = _gradient(K, P, sizes, X, T, 1, ("linear", "sigmoid"))
    g_wrong = _gradient(K, P, sizes, X, T, 1, ("linear", "linear"))  # the error p - t, as a linear target's
    fd = []
    for j in range(len(P)):
        up, down = array("d", P), array("d", P)
        up[j] += 1e-6
        down[j] -= 1e-6
        fd.append((K.forward(up, sizes, X, 1, "linear", T, ("linear", "sigmoid"))[1]
                   - K.forward(down, sizes, X, 1, "linear", T, ("linear", "sigmoid"))[1]) / 2e-6)
    assert max(abs(a - b) for a, b in zip(g_right, fd)) < 1e-8
    assert max(abs(a - b) for a, b in zip(g_wrong, fd)) > 1e-2


def test_pure_and_numba_train_the_same_bits():
    pytest.importorskip("numba")
    a, b = _fit("python"), _fit("numba")
    assert bytes(a.state_.P) == bytes(b.state_.P) and a.history_ == b.history_
    assert network.dumps(a.to_model()) == network.dumps(b.to_model())


# -- the fitted network ---------------------------------------------------------------------------------


def test_bounded_outputs_stay_in_range_and_learn():
    m = _fit(epochs=30, learning_rate=0.01)
    net = m.to_model()
    assert net.output_activation == ACTS and list(m.target_mean_)[1:] == [0.0, 0.0]
    X, Y = _data(60, seed=9)
    out = m.predict(X)
    g, t = out.data[1::3], out.data[2::3]
    assert all(0.0 < v < 1.0 for v in g) and all(-1.0 < v < 1.0 for v in t)
    assert m.score(X, Y) > 0.8
    # the kernels' outputs are the float reference's (double math, math.tanh and math.exp)
    for row, got in zip(X.rows(), [out.data[k:k + 3] for k in range(0, len(out.data), 3)]):
        assert max(abs(a - b) for a, b in zip(net.forward(row), got)) < 1e-12


def test_model_file_round_trip_and_linear_bytes_unchanged():
    net = _fit().to_model()
    doc = json.loads(network.dumps(net))
    assert doc["output_activation"] == list(ACTS)
    assert network.loads(network.dumps(net)) == net
    set_backend("python")
    X, Y = _data()
    plain = MLPRegressor((4,), max_epochs=2).fit(X, Y).to_model()
    assert plain.output_activation == () and "output_activation" not in json.loads(network.dumps(plain))
    same = MLPRegressor((4,), max_epochs=2, output_activation="linear").fit(X, Y).to_model()
    assert network.dumps(same) == network.dumps(plain)


@pytest.mark.parametrize("acts,message", [
    (["linear", "sigmoid", "sigmoid"], "target 't' is -0.[0-9]+ at row [0-9]+; a sigmoid output lies in \\[0, 1\\]"),
    (["linear", "relu", "tanh"], "output_activation 'relu' is not one of linear, sigmoid, tanh"),
    (["linear"], "output_activation has 1 words for 3 targets"),
    ({"x": "tanh"}, "output_activation names 'x', not a target"),
])
def test_bad_activation_settings(acts, message):
    X, Y = _data()
    with pytest.raises(TabularDataError, match=message):
        MLPRegressor((4,), max_epochs=1, output_activation=acts).fit(X, Y, target_names=["s", "g", "t"])


def test_network_checks_its_activations():
    layers = _fit(epochs=1).to_model().layers
    with pytest.raises(ValueError, match="one of linear, sigmoid, tanh per output"):
        DenseNetwork(layers, "linear", output_activation=("linear", "sigmoid"))
    with pytest.raises(ValueError, match="written as"):
        DenseNetwork(layers, "linear", output_activation=("linear",) * 3)


# -- ONNX and float32 TFLite ------------------------------------------------------------------------


def test_onnxruntime_equals_forward():
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    np = pytest.importorskip("numpy")
    from stingerml.formats.onnx import to_onnx

    net = _fit(epochs=20).to_model()
    blob = to_onnx(net)
    model = onnx.load_from_string(blob)
    onnx.checker.check_model(model, full_check=True)
    assert model.SerializeToString() == blob
    X, _ = _data(80, seed=21)
    rows = np.asarray([list(r) for r in X.rows()], dtype=np.float32)
    got = ort.InferenceSession(blob, providers=["CPUExecutionProvider"]).run(None, {"input": rows})[0]
    want = np.array([net.forward(r) for r in X.rows()])
    assert got.shape == want.shape and float(np.abs(got - want).max()) <= TOL
    assert got[:, 1].min() > 0 and got[:, 1].max() < 1 and np.abs(got[:, 2]).max() < 1
    props = {p.key: p.value for p in model.metadata_props}
    assert json.loads(props["output_activation"]) == list(ACTS)


@pytest.mark.parametrize("reference", [True, False], ids=["reference", "default"])
def test_litert_float_equals_forward(reference):
    litert = pytest.importorskip("ai_edge_litert.interpreter")
    np = pytest.importorskip("numpy")
    from stingerml.formats.tflite import to_tflite_float

    net = _fit(epochs=20).to_model()
    kw = {"experimental_op_resolver_type": litert.OpResolverType.BUILTIN_REF} if reference else {}
    it = litert.Interpreter(model_content=to_tflite_float(net), **kw)
    (inp,), (out,) = it.get_input_details(), it.get_output_details()
    X, _ = _data(40, seed=23)
    it.resize_tensor_input(inp["index"], [X.n_rows, 2])
    it.allocate_tensors()
    it.set_tensor(inp["index"], np.asarray([list(r) for r in X.rows()], dtype=np.float32))
    it.invoke()
    got = it.get_tensor(out["index"])
    want = np.array([net.forward(r) for r in X.rows()])
    assert float(np.abs(got - want).max()) <= TOL


# -- the settings' words: CLI and config -------------------------------------------------------------------


def _csv(path):
    X, Y = _data(80)
    lines = ["a,b,s,g,t"] + [",".join(f"{v:.6f}" for v in list(x) + list(y)) for x, y in zip(X.rows(), Y.rows())]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_cli_config_and_schema_set_the_same_activations(tmp_path, capsys):
    data = _csv(tmp_path / "d.csv")
    common = ["tabular", "train", str(data), "--targets", "s,g,t", "--hidden", "4", "--epochs", "2",
              "--tflite-kind", "float", "--quiet", "--backend", "python"]
    assert main(common + ["--runs-dir", str(tmp_path / "a"), "--output-activation", "g=sigmoid,t=tanh"]) == 0
    config = tmp_path / "train.json"
    config.write_text(json.dumps({"model": {"output_activation": {"g": "sigmoid", "t": "tanh"}}}))
    assert main(common + ["--runs-dir", str(tmp_path / "b"), "--config", str(config)]) == 0
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"output_activation": {"g": "sigmoid", "t": "linear"}}))
    assert main(common + ["--runs-dir", str(tmp_path / "c"), "--schema", str(schema),
                          "--output-activation", "t=tanh"]) == 0  # the command line wins over the schema
    (a,), (b,), (c,) = (list((tmp_path / d).iterdir()) for d in "abc")
    model_a, model_b, model_c = ((r / "output" / "model.json").read_bytes() for r in (a, b, c))
    assert model_a == model_b == model_c and network.loads(model_a).output_activation == ACTS
    meta = json.loads((a / "output" / "meta.json").read_text())
    assert meta["model"]["architecture"]["output_activation"] == list(ACTS)
    assert json.loads((a / "run.json").read_text())["settings"]["output_activation"] == {"g": "sigmoid", "t": "tanh"}


def test_cli_bad_activation_is_one_line(tmp_path, capsys):
    data = _csv(tmp_path / "d.csv")
    code = main(["tabular", "train", str(data), "--targets", "s,g,t", "--runs-dir", str(tmp_path / "r"),
                 "--output-activation", "s=sigmoid", "--epochs", "1", "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and re.search(r"d\.csv: line \d+, target 's' is [0-9.]+; a sigmoid output lies in \[0, 1\]", err)
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "r").exists()
    code = main(["tabular", "train", str(data), "--targets", "s,g,t", "--runs-dir", str(tmp_path / "r"),
                 "--output-activation", "g=softplus", "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and "\"output_activation\" of 'g' is 'softplus', not one of linear, sigmoid, tanh" in err


# -- int8: one head per target ----------------------------------------------------------------------


def _litert_int8(blob, q_rows, reference, tensors=()):
    """LiteRT's float32 output for int8 input rows, and the int8 tensors named in ``tensors``."""
    litert = pytest.importorskip("ai_edge_litert.interpreter")
    np = pytest.importorskip("numpy")
    kw = {"experimental_op_resolver_type": litert.OpResolverType.BUILTIN_REF} if reference else {}
    with pytest.warns(UserWarning) if tensors and not reference else contextlib.nullcontext():
        it = litert.Interpreter(model_content=blob, experimental_preserve_all_tensors=bool(tensors), **kw)
    (inp,), (out,) = it.get_input_details(), it.get_output_details()
    it.resize_tensor_input(inp["index"], [len(q_rows), len(q_rows[0])])
    it.allocate_tensors()
    it.set_tensor(inp["index"], np.asarray(q_rows, dtype=np.int8))
    it.invoke()
    by_name = {t["name"]: t["index"] for t in it.get_tensor_details()}
    return it.get_tensor(out["index"]), {name: it.get_tensor(by_name[name]) for name in tensors}


@pytest.mark.parametrize("reference", [True, False], ids=["reference", "default"])
def test_litert_int8_equals_emulator(reference):
    np = pytest.importorskip("numpy")
    from stingerml.deploy.quantize import quantize
    from stingerml.formats.tflite import to_tflite

    net = _fit(epochs=20).to_model()
    X, _ = _data(100, seed=5)
    qnet = quantize(net, X)
    q_rows = [qnet.quantize_input(r) for r in X.rows()]
    ints = [qnet.run(q) for q in q_rows]
    names = [f"head{k}/{'logit' if a == 'linear' else 'value'}" for k, a in enumerate(ACTS)]
    got, tensors = _litert_int8(to_tflite(qnet), q_rows, reference, names)
    assert got.dtype == np.float32 and got.shape == (X.n_rows, 3)
    for k, name in enumerate(names):  # LiteRT's integers are the emulator's
        assert tensors[name].dtype == np.int8 and tensors[name][:, 0].tolist() == [r[k] for r in ints], name
    want = np.array([qnet.dequantize_output(r) for r in ints], dtype=np.float32)
    assert np.array_equal(got, want)  # DEQUANTIZE in float32: the same bits
    # fixed output scales of the bounded heads, and each target's error is within its own few steps
    assert [(h.output_scale, h.output_zero_point) for h in qnet.heads[1:]] == [(1 / 256, -128), (1 / 128, 0)]
    floats = np.array([net.forward(r) for r in X.rows()])
    for k, h in enumerate(qnet.heads):
        assert np.abs(got[:, k] - floats[:, k]).max() <= 4 * max(h.output_scale, h.layer.output_scale)


@pytest.mark.parametrize("reference", [True, False], ids=["reference", "default"])
def test_int8_logistic_and_tanh_tables_equal_litert_on_every_input(reference):
    """A 1 → 2 network (identity logits, sigmoid and tanh): every int8 input value through both tables."""
    pytest.importorskip("numpy")
    from stingerml.core.dense import DenseLayer
    from stingerml.deploy.quantize import quantize
    from stingerml.formats.tflite import to_tflite

    for lo, hi in ((-6.0, 6.0), (-0.7, 2.3), (-40.0, 3.0)):
        net = DenseNetwork((DenseLayer(array("f", [1.0, 1.0]), array("f", [0.0, 0.0]), 1, 2),), "linear",
                           target_names=("s", "t"), output_activation=("sigmoid", "tanh"))
        qnet = quantize(net, Matrix(array("d", [lo, hi]), 1))
        q_rows = [[q] for q in range(-128, 128)]
        got, tensors = _litert_int8(to_tflite(qnet), q_rows, reference, ["head0/value", "head1/value"])
        ints = [qnet.run(q) for q in q_rows]
        assert tensors["head0/value"][:, 0].tolist() == [r[0] for r in ints]
        assert tensors["head1/value"][:, 0].tolist() == [r[1] for r in ints]


def test_small_range_target_keeps_its_steps():
    """A target of range 0..1 beside one of range 0..1000: each head has its own output scale, so the
    small one's int8 error stays a few of its own steps (one shared scale would make it ~4 units)."""
    from stingerml.deploy.export import export_network

    set_backend("python")
    rng = XorShift32(5)
    rows, ys = [], []
    for _ in range(200):
        a, b = rng(), rng()
        rows += [a, b]
        ys += [1000 * a, b]
    X, Y = Matrix(array("d", rows), 2), Matrix(array("d", ys), 2)
    net = MLPRegressor((16,), max_epochs=30, learning_rate=0.01).fit(X, Y, target_names=["big", "small"]).to_model()
    export = export_network(net, X, check=X)
    big, small = export.meta["check"]["per_target"]
    assert (big["target"], small["target"]) == ("big", "small")
    assert big["step"] > 1.0 and small["step"] < 0.01
    assert small["max_abs_diff"] <= 4 * small["step"] < 0.04
    assert export.meta["quantization"]["output_type"] == "float32"
    assert [h["target"] for h in export.meta["quantization"]["output"]["heads"]] == ["big", "small"]


def test_resume_of_a_bounded_run_equals_the_uninterrupted_run(tmp_path):
    """``output_activation`` travels in run.json: an interrupted run resumed gives the uninterrupted bytes."""
    from test_tabular_runs import outputs

    from stingerml.tabular.runs import RunInterrupted, RunSettings, train_run

    set_backend("python")
    data = _csv(tmp_path / "d.csv")
    settings = dict(targets=["s", "g", "t"], hidden=[4], epochs=4, checkpoint_every=2, batch_size=16,
                    output_activation={"g": "sigmoid", "t": "tanh"})
    whole = train_run(data, RunSettings(**settings), runs_dir=tmp_path / "a")

    def stop_at_3(event):
        if event.stage == "epoch" and event.done == 3:
            raise KeyboardInterrupt

    with pytest.raises(RunInterrupted) as info:
        train_run(data, RunSettings(**settings), runs_dir=tmp_path / "b", progress=stop_at_3)
    resumed = train_run(resume=info.value.run_dir)
    assert outputs(resumed.run_dir) == outputs(whole.run_dir)
    assert network.load(whole.run_dir / "output" / "model.json").output_activation == ACTS
