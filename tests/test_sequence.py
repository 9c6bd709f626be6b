"""Sequence classifiers: learning the word task, masks, the model file, runs (resume = uninterrupted
bit for bit), data files and the CLI."""
from __future__ import annotations

import json
import math
import signal
from array import array

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import stopped_by, training_process, use_backend
from stingerml.cli import main
from stingerml.core.errors import ModelFormatError, SequenceDataError
from stingerml.sequence import LSTMClassifier, Sequences, TCNClassifier, model, read_csv_long
from stingerml.sequence.data import mask_lengths
from stingerml.sequence.runs import SeqSettings, check_settings, train_run
from stingerml.sequence.synth import CLASSES, word_task, write_csv_long
from stingerml.learn.runfolder import RunInterrupted

SMALL = [pytest.param(lambda: TCNClassifier(hidden=8, blocks=2, max_epochs=3, batch_size=8), id="tcn"),
         pytest.param(lambda: TCNClassifier(hidden=8, blocks=2, pooling="last", max_epochs=3, batch_size=8),
                      id="tcn-last"),
         pytest.param(lambda: LSTMClassifier(hidden=6, layers=2, max_epochs=3, batch_size=8), id="lstm2")]


@pytest.fixture(scope="module")
def tiny():
    return word_task(48, seed=11, min_steps=3, max_steps=9)


@pytest.mark.parametrize("make", SMALL)
@pytest.mark.parametrize("backend", ["python", "numba"])
def test_fit_same_bits_on_both_backends(tiny, make, backend):
    X, y = tiny
    with use_backend(backend):
        clf = make().fit(X, y)
    with use_backend("python"):
        ref = make().fit(X, y)
        assert clf.params_.tobytes() == ref.params_.tobytes()
        assert clf.history_ == ref.history_
        assert clf.predict_proba(X).data == ref.predict_proba(X).data


@pytest.mark.parametrize("make", SMALL)
@settings(max_examples=15)
@given(data=st.data())
def test_padding_never_changes_a_prediction(tiny, make, data):
    """Random padding content (huge, NaN, inf, anything) leaves every probability unchanged, to the bit."""
    X, y = tiny
    clf = _fitted(make)
    want = clf.predict_proba(X).data
    values = array("d", X.data)
    F, T = X.n_features, X.n_steps
    junk = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, 1e300, -1e300]))
    for n, L in enumerate(X.lengths):
        if L < T:
            start, stop = (n * T + L) * F, (n + 1) * T * F
            i = data.draw(st.integers(start, stop - 1))
            values[i] = data.draw(junk)
            values[start] = data.draw(junk)
    assert clf.predict_proba(Sequences(values, T, F, X.lengths)).data == want


_FITTED = {}


def _fitted(make):
    key = make.__code__.co_firstlineno, repr(make().__dict__)
    if key not in _FITTED:
        _FITTED[key] = make().fit(*word_task(48, seed=11, min_steps=3, max_steps=9))
    return _FITTED[key]


@pytest.mark.parametrize("cls", [TCNClassifier, LSTMClassifier])
def test_learns_the_word_task(cls):
    """A small version of the benchmark's task (benchmarks/sequence.py runs the full one)."""
    pytest.importorskip("numba")
    Xtr, ytr = word_task(240, seed=1, max_steps=16)
    Xte, yte = word_task(120, seed=2, max_steps=16)
    with use_backend("numba"):
        clf = cls(hidden=12, max_epochs=40).fit(Xtr, ytr)
        assert clf.score(Xte, yte) >= 0.9


def test_model_file_round_trip(tiny):
    X, y = tiny
    net = _fitted(SMALL[0].values[0]).to_model()
    back = model.loads(model.dumps(net))
    assert back == net and model.dumps(back) == model.dumps(net)
    assert back.predict_proba(X).data == net.predict_proba(X).data
    with pytest.raises(ModelFormatError, match="not a readable stingerml-sequence model"):
        model.loads(model.dumps(net).replace(b'"hidden": 8', b'"hidden": 9'), "m.json")


def test_masks():
    assert list(mask_lengths([[1, 1, 0], [1, 0, 0], [True, True, True]], 3, 3)) == [2, 1, 3]
    with pytest.raises(SequenceDataError, match="sample 1: step 2 is valid after padding at step 1"):
        mask_lengths([[1, 1, 0], [1, 0, 1]], 2, 3)
    with pytest.raises(SequenceDataError, match="sample 0 has no valid step"):
        mask_lengths([[0, 0]], 1, 2)
    X = Sequences.from_lists([[[1.0], [math.nan]], [[2.0], [3.0]]], [[1, 0], [1, 1]])
    X.check_finite("fit")  # the NaN is padding
    with pytest.raises(SequenceDataError, match="fit: sample 1, step 1, feature 0 is nan"):
        Sequences.from_lists([[[1.0], [2.0]], [[2.0], [math.nan]]]).check_finite("fit")


def test_csv_long_round_trip_and_errors(tmp_path):
    X, y = word_task(12, seed=4, min_steps=2, max_steps=5)
    path = tmp_path / "w.csv"
    write_csv_long(path, X, y)
    back = read_csv_long(path)
    assert back.labels == y and list(back.X.lengths) == list(X.lengths) and back.X.n_features == 63
    for n, L in enumerate(X.lengths):
        w = X.n_steps * 63
        assert back.X.data[n * w:n * w + L * 63] == X.data[n * w:n * w + L * 63]
    bad = tmp_path / "bad.csv"
    text = path.read_text()
    lines = text.splitlines()
    for edit, words in [
        (lambda ls: ls[:1] + ls[2:], "sample .0. has no step 0"),
        (lambda ls: ls + [ls[1]], "has step 0 twice"),
        (lambda ls: [ls[0], ls[1].rsplit(",", 1)[0] + ",wave" if not ls[1].endswith("wave") else ls[1]] + ls[2:],
         "one label per sample"),
        (lambda ls: [ls[0].replace("sample_id", "id")] + ls[1:], "line 1: the header"),
        (lambda ls: [ls[0], ls[1].replace(",", ",x,", 1)] + ls[2:], "line 2: 67 cells, the header has 66"),
    ]:
        bad.write_text("\n".join(edit(list(lines))) + "\n")
        with pytest.raises(SequenceDataError, match=words):
            read_csv_long(bad)


def test_npz_bundle(tmp_path):
    np = pytest.importorskip("numpy")
    from stingerml.sequence import read_npz_data

    X, y = word_task(12, seed=5, min_steps=2, max_steps=6)
    arr = np.array(X.data, dtype="<f4").reshape(12, 6, 21, 3)
    mask = np.array([[t < L for t in range(6)] for L in X.lengths])
    codes = np.array([CLASSES.index(v) for v in y])
    np.savez_compressed(tmp_path / "d.npz", X=arr, mask=mask, y=codes, label_names=np.array(CLASSES))
    got = read_npz_data(tmp_path / "d.npz")
    assert got.classes == CLASSES and got.labels == y and list(got.X.lengths) == list(X.lengths)
    assert got.X.n_features == 63 and list(got.X.data) == [float(v) for v in arr.ravel()]
    np.savez(tmp_path / "s.npz", sequences=arr, masks=mask.astype("<f4"), labels=np.array(y))
    assert read_npz_data(tmp_path / "s.npz").labels == y  # the seed project's names, string labels
    mask[3, 1] = False
    np.savez(tmp_path / "h.npz", X=arr, mask=mask, y=codes)
    with pytest.raises(SequenceDataError, match=r"h\.npz: mask: sample 3: step 2 is valid after padding"):
        read_npz_data(tmp_path / "h.npz")
    np.savez(tmp_path / "n.npz", X=arr, y=codes[:5])
    with pytest.raises(SequenceDataError, match=r"y has shape \(5,\); expected \(12,\)"):
        read_npz_data(tmp_path / "n.npz")


SETTINGS = dict(hidden=6, depth=2, epochs=7, checkpoint_every=2, patience=50, batch_size=8)


def outputs(run_dir):
    files = {p.name: p.read_bytes() for p in (run_dir / "output").iterdir()}
    files["meta.json"] = dict(json.loads(files["meta.json"]), timestamp=None)
    return files


@pytest.mark.parametrize("architecture", ["tcn", "lstm"])
@pytest.mark.parametrize("backend", ["python", "numba"])
def test_resume_equals_uninterrupted(tmp_path, architecture, backend):
    X, y = word_task(42, seed=6, min_steps=2, max_steps=6)
    data = tmp_path / "w.csv"
    write_csv_long(data, X, y)
    s = dict(SETTINGS, architecture=architecture, depth=2 if architecture == "tcn" else 1)
    with use_backend(backend):
        whole = train_run(data, SeqSettings(**s), runs_dir=tmp_path / "a")

        def stop_at_5(event):
            if event.stage == "epoch" and event.done == 5:
                raise KeyboardInterrupt

        with pytest.raises(RunInterrupted) as info:
            train_run(data, SeqSettings(**s), runs_dir=tmp_path / "b", progress=stop_at_5)
        run_b = info.value.run_dir
        assert info.value.checkpoint.name == "epoch_0005.json"  # the last finished epoch (issue 24)
        assert not (run_b / "output" / "model.json").exists()
        events = []
        resumed = train_run(resume=run_b, progress=events.append)
    assert [e.message for e in events if e.stage == "resume"] == [f"resuming from epoch 5 of {s['epochs']}"]
    got = outputs(resumed.run_dir)
    assert got == outputs(whole.run_dir)
    tflite = "model.tflite" if architecture == "tcn" else "model_float32.tflite"  # int8 for the TCN (as tabular)
    assert sorted(got) == ["meta.json", "model.json", "model.onnx", tflite, "training_history.json"]
    meta = got["meta.json"]
    assert meta["deployment"]["onnx"]["inputs"]["mask"]["shape"] == ["N", "T"]
    assert meta["model"]["architecture"]["type"] == architecture
    if architecture == "tcn":
        assert meta["deployment"]["tflite"]["type"] == "int8" and meta["quantization"]["mask"]["dtype"] == "int8"
        assert set(meta["model"]["metrics"]["int8"]) == set(meta["model"]["metrics"]) - {"int8"}
    else:
        assert meta["deployment"]["tflite_float"]["file"] == tflite
        assert meta["quantization"] == {"type": "float32", "input_type": "float32", "output_type": "float32",
                                        "file": tflite}  # CrowdMind's keys (seed 002), for the float file


def test_resume_validates_the_run_folder_and_its_checkpoint(tmp_path):
    """A sequence run folder is checked as the tabular one (issue 29): its checkpoints carry the run id,
    and another run's checkpoint, a damaged one, a replaced data copy or run.json fail before training."""
    import shutil

    from stingerml.core.errors import TrainingError
    from stingerml.learn.runfolder import run_id

    X, y = word_task(30, seed=8, min_steps=2, max_steps=5)
    data = tmp_path / "w.csv"
    write_csv_long(data, X, y)

    def stop_at_3(event):
        if event.stage == "epoch" and event.done == 3:
            raise KeyboardInterrupt

    runs = []
    for name in ("a", "b"):
        with pytest.raises(RunInterrupted) as info:
            train_run(data, SeqSettings(**SETTINGS), runs_dir=tmp_path / name, progress=stop_at_3)
        runs.append(info.value.run_dir)
    ckpt = "checkpoints/epoch_0003.json"
    assert json.loads((runs[0] / ckpt).read_text())["run"] == run_id(runs[0]) != run_id(runs[1])

    def damaged(change):
        run = tmp_path / "copy"
        shutil.rmtree(run, ignore_errors=True)
        shutil.copytree(runs[0], run)
        change(run)
        return run

    def edit(path, **values):
        path.write_text(json.dumps(dict(json.loads(path.read_text()), **values)))

    cases = {
        "another run": (lambda r: shutil.copy(runs[1] / ckpt, r / ckpt), "another run"),
        "rng_state 2**40": (lambda r: edit(r / ckpt, rng_state=2 ** 40), "rng_state"),
        "P of another shape": (lambda r: edit(r / ckpt, P=""), '"P" holds 0 values'),
        "data copy": (lambda r: (r / "data" / "dataset.csv").write_text(
            (r / "data" / "dataset.csv").read_text().replace("\n", "\n\n", 1)), "dataset_sha256"),
        "settings": (lambda r: edit(r / "run.json", settings=[]), "settings"),
        "nested": (lambda r: (r / "data" / "split.json").write_text("[" * 10000), "split.json"),
    }
    for name, (change, expect) in cases.items():
        with pytest.raises(TrainingError, match=expect):
            train_run(resume=damaged(change))
    assert train_run(resume=damaged(lambda r: None)).metrics is not None  # the undamaged copy resumes


def test_cli_train_evaluate_predict(tmp_path, capsys):
    X, y = word_task(36, seed=7, min_steps=2, max_steps=6)
    data = tmp_path / "w.csv"
    write_csv_long(data, X, y)
    runs = tmp_path / "runs"
    assert main(["seq", "train", str(data), "--architecture", "lstm", "--hidden", "5", "--epochs", "3",
                 "--batch-size", "8", "--learning-rate", "0.01", "--monitor", "val_accuracy", "--dropout", "0",
                 "--runs-dir", str(runs), "--quiet"]) == 0
    run = capsys.readouterr().out.strip()
    assert main(["seq", "evaluate", run, str(data), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    net = model.load(f"{run}/output/model.json")
    assert metrics["accuracy"] == sum(p == t for p, t in zip(
        [net.classes[max(range(6), key=lambda c: row[c])] for row in net.predict_proba(X).rows()], y)) / 36
    out = tmp_path / "p.csv"
    assert main(["seq", "predict", run, str(data), "-o", str(out), "--quiet"]) == 0
    lines = out.read_text().splitlines()
    assert lines[0].startswith("sample,prediction,p_circle") and len(lines) == 37
    unlabelled = tmp_path / "u.csv"
    unlabelled.write_text("".join(line.rsplit(",", 1)[0] + "\n" for line in data.read_text().splitlines()))
    assert main(["seq", "predict", run, str(unlabelled), "-o", str(tmp_path / "u_p.csv"), "--quiet"]) == 0
    assert (tmp_path / "u_p.csv").read_bytes() == out.read_bytes()
    assert main(["seq", "evaluate", run, str(unlabelled)]) == 1
    assert "the header must be sample_id,step,<features...>,label" in capsys.readouterr().err


@pytest.mark.parametrize("args,expect", [
    (["--depth", "3", "--architecture", "lstm"], "--depth for the LSTM is 1 or 2"),
])
def test_cli_bad_arguments(tmp_path, capsys, args, expect):
    data = tmp_path / "w.csv"
    data.write_text("sample_id,step,a,label\n")
    with pytest.raises(SystemExit) as info:
        main(["seq", "train", str(data), *args, "--runs-dir", str(tmp_path / "runs")])
    assert info.value.code == 2 and expect in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_cli_bad_data_writes_nothing(tmp_path, capsys):
    data = tmp_path / "w.csv"
    data.write_text("sample_id,step,a,label\n0,0,1.0,x\n0,2,1.0,x\n")
    assert main(["seq", "train", str(data), "--runs-dir", str(tmp_path / "runs")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "w.csv: sample '0' has no step 1" in err
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("option", [["--learning-rate", "inf"], ["--learning-rate", "nan"], ["--alpha", "inf"],
                                    ["--alpha", "-1"], ["--batch-size", str(10 ** 21)], ["--epochs", str(10 ** 11)],
                                    ["--seed", str(10 ** 23)], ["--hidden", "100000", "--depth", "50"],
                                    ["--dropout", "1.5"], ["--dropout", "nan"]])
def test_cli_bad_settings_are_one_line_and_create_no_run_folder(tmp_path, capsys, option):
    """Issue 29's settings rule for `seq train` too (audit): `--learning-rate inf` was a ValueError
    traceback, `--batch-size 10**21` a numba TypingError, `--hidden 100000 --depth 50` a MemoryError,
    each leaving a half run folder; `--seed 10**23` trained a run that --resume then refused."""
    X, y = word_task(24, seed=3, min_steps=2, max_steps=4)
    data = tmp_path / "w.csv"
    write_csv_long(data, X, y)
    runs = tmp_path / "runs"
    assert main(["seq", "train", str(data), "--epochs", "1", "--runs-dir", str(runs), *option]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert not runs.exists() or list(runs.iterdir()) == []


@pytest.mark.parametrize("seed,ok", [(2 ** 63 - 1, True), (-(2 ** 63), True), (2 ** 63, False), (-(2 ** 63) - 1, False)])
def test_the_seed_is_any_signed_64_bit_integer(seed, ok):
    """A mutant that survived tools/mutation.py (issue 29, group 8): both ends of the signed 64-bit range in,
    one past either end out (run.json's seed must be read back by --resume)."""
    if ok:
        check_settings(SeqSettings(seed=seed))
    else:
        with pytest.raises(SequenceDataError, match='"seed"'):
            check_settings(SeqSettings(seed=seed))


def test_the_network_size_limit_can_be_raised(tmp_path, capsys):
    X, y = word_task(24, seed=3, min_steps=2, max_steps=4)
    data = tmp_path / "w.csv"
    write_csv_long(data, X, y)
    argv = ["seq", "train", str(data), "--epochs", "1", "--hidden", "8", "--runs-dir", str(tmp_path / "r"), "-q"]
    assert main([*argv, "--max-parameters", "100"]) == 1
    assert "--max-parameters" in capsys.readouterr().err
    assert main([*argv, "--max-parameters", "100000"]) == 0


def test_a_late_failure_without_a_checkpoint_removes_the_run_folder(tmp_path, monkeypatch):
    from stingerml.sequence import runs as runs_module

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    X, y = word_task(24, seed=3, min_steps=2, max_steps=4)
    data = tmp_path / "w.csv"
    write_csv_long(data, X, y)
    monkeypatch.setattr(runs_module, "export_sequence", broken)  # after training, before any output
    with pytest.raises(OSError):
        runs_module.train_run(data, runs_module.SeqSettings(hidden=4, epochs=2, checkpoint_every=100),
                              runs_dir=tmp_path / "r")
    assert list((tmp_path / "r").iterdir()) == []


@pytest.mark.parametrize("sig,code,word", [(signal.SIGINT, 130, "interrupted"),
                                           (signal.SIGTERM, 143, "terminated (SIGTERM)")])
def test_a_signal_stops_seq_train_at_a_checkpoint(tmp_path, sig, code, word):
    """Ctrl-C and SIGTERM of a real `seq train` process: the last finished epoch's checkpoint, the
    resume command, exit 130 / 143 (as `tabular train`)."""
    X, y = word_task(120, seed=5, min_steps=2, max_steps=6)
    data = tmp_path / "w.csv"
    write_csv_long(data, X, y)
    with training_process(["seq", "train", data, "--hidden", "6", "--epochs", "500", "--patience", "500",
                           "--checkpoint-every", "100", "--runs-dir", tmp_path / "runs"], until="epoch 2/") as proc:
        err = stopped_by(proc, sig)
    (run,) = (tmp_path / "runs").iterdir()
    (ckpt,) = (run / "checkpoints").glob("epoch_*.json")
    assert proc.returncode == code, err
    assert 2 <= int(ckpt.stem.split("_")[1]) < 100
    assert f"{word}; last checkpoint {ckpt.name} in {run}; continue with: stingerml seq train --resume {run}" in err
