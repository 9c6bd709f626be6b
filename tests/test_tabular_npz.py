"""Tabular data from .npz/.npy (seed 001's bundles), written by numpy itself (the oracle of the format)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from hands import LETTERS, samples
from stingerml.cli import main
from stingerml.tabular.arrays import read_array_table

np = pytest.importorskip("numpy")


def _bundle(path, n, seed, normalise=False, codes=False, frames=1):
    rows, labels = samples(n, seed)
    X = np.asarray(rows, dtype=np.float32).reshape(n, 1, 21, 3)
    if normalise:  # seed 001's own rule, in numpy
        rel = X - X[:, :, :1, :]
        scale = np.linalg.norm(rel[:, :, 9, :], axis=-1)[..., None, None]
        X = rel / np.where(scale == 0, 1, scale)
    X = np.repeat(X, frames, axis=1)
    mask = np.ones((n, frames), dtype=np.float32)
    if codes:
        np.savez(path, sequences=X, masks=mask, labels=np.array([LETTERS.index(c) for c in labels]),
                 classes=np.array(LETTERS))
    else:
        np.savez(path, X=X, mask=mask, y=np.array(labels))
    return path


def _train(tmp_path, capsys, data, *args):
    assert main(["tabular", "train", str(data), "--hidden", "16", "--epochs", "40", "--patience", "40", "--quiet",
                 "--runs-dir", str(tmp_path / "runs"), *args]) == 0
    return Path(capsys.readouterr().out.strip())


def _accuracy(capsys, run, data):
    assert main(["tabular", "evaluate", str(run), str(data), "--json"]) == 0
    return json.loads(capsys.readouterr().out)["accuracy"]


def test_npz_raw_landmarks_with_hands21(tmp_path, capsys):
    raw = _bundle(tmp_path / "train.npz", 240, 5)
    run = _train(tmp_path, capsys, raw, "--preprocess", "hands21")
    assert (run / "data" / "dataset.npz").read_bytes() == raw.read_bytes()
    norm = _bundle(tmp_path / "norm.npz", 240, 5, normalise=True, codes=True)
    run_norm = _train(tmp_path, capsys, norm)
    test_raw = _bundle(tmp_path / "test.npz", 120, 61)
    test_norm = _bundle(tmp_path / "test_norm.npz", 120, 61, normalise=True, codes=True)
    acc_raw, acc_norm = _accuracy(capsys, run, test_raw), _accuracy(capsys, run_norm, test_norm)
    assert acc_raw >= 0.9 and acc_raw >= acc_norm - 0.03
    meta = json.loads((run / "output" / "meta.json").read_text())
    assert meta["features"]["names"][:3] == ["lm0_x", "lm0_y", "lm0_z"] and meta["labels"]["count"] == 4
    # .npy [N, 63] rows for prediction
    rows, labels = samples(30, 62)
    np.save(tmp_path / "rows.npy", np.asarray(rows, dtype=np.float64))
    assert main(["tabular", "predict", str(run), str(tmp_path / "rows.npy"), "-o", str(tmp_path / "p.csv"),
                 "--quiet"]) == 0
    predicted = [line.split(",")[1] for line in (tmp_path / "p.csv").read_text().splitlines()[1:]]
    assert sum(p == t for p, t in zip(predicted, labels)) / 30 >= 0.85


def test_sequences_are_flattened_with_the_mask(tmp_path):
    rows, labels = samples(6, 3)
    X = np.asarray(rows, dtype=np.float32).reshape(6, 1, 21, 3).repeat(3, axis=1)
    mask = np.array([[1, 1, 0]] * 6, dtype=np.float32)
    np.savez(tmp_path / "seq.npz", X=X, mask=mask, y=np.array(labels))
    t = read_array_table(tmp_path / "seq.npz")
    want = (X * mask[:, :, None, None]).reshape(6, -1).astype(np.float64)
    assert t.X.n_cols == 189 and (np.array(t.X.data).reshape(6, -1) == want).all()
    assert t.feature_names[63] == "t1_lm0_x" and t.classes == tuple(sorted(set(labels)))


def test_bad_bundle_is_one_clear_error(tmp_path, capsys):
    np.savez(tmp_path / "b.npz", X=np.zeros((4, 5, 7)), y=np.array(["a", "b", "a", "b"]))
    assert main(["tabular", "train", str(tmp_path / "b.npz"), "--runs-dir", str(tmp_path / "runs")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "X has shape (4, 5, 7)" in err and err.count("\n") == 1
    assert not (tmp_path / "runs").exists()
