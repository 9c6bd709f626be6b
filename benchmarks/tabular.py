"""Tabular trainer vs scikit-learn on the data files shipped inside scikit-learn.

    PYTHONPATH=$PWD python benchmarks/tabular.py [--repeat 3] [--pure-epochs 3] [--sets iris,wine,...]

For each data set (iris, wine, breast_cancer, digits; diabetes and linnerud for
regression), read with stingerml's own CSV reader and split once
(stratified 0.70/0.15/0.15, seed 42):

- stingerml: hidden (64, 32), batch 32, up to 200 epochs, Adam lr 1e-3, L2
  alpha 1e-4, early stopping on the validation part (patience 10, Keras
  counting, best weights restored). Dropout 0 in the compared column
  (scikit-learn has none); the default dropout 0.2 in its own column.
- scikit-learn MLPClassifier/MLPRegressor: the same layers, batch size,
  max_iter, alpha, learning rate and n_iter_no_change=10, early_stopping=True
  on train+val with validation_fraction = |val| / |train+val| (scikit-learn
  draws its own validation rows and stops on validation score, not loss),
  random_state=42, inputs standardised with the scaler fitted on train.

Accuracy (R² for regression) is on the test part. Times are the training's
CPU time of this process (``time.process_time``, all threads: the machine may
be shared, so wall time says little), the min of --repeat runs for numba and
scikit-learn (numba warmed up first), and per epoch (total / epochs run).
The pure-Python path gives the same bits as numba, hence the same epochs: it
is timed over the whole fit on sets under 200 training rows and over
``--pure-epochs`` epochs elsewhere, scaled to numba's epoch count (marked ~).
int8: the same models (dropout 0 and 0.2) as full-int8 TFLite, calibrated the
way ``stingerml tabular train`` does (100 training rows drawn with the seed,
:func:`stingerml.tabular.runs.representative`) and run on the test
part by the library's integer emulator (``runs.evaluate``, key ``int8``; LiteRT
gives the same integers, see tests/test_tflite.py). ``--skip-pure`` leaves out
the pure-Python timing (a short run).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path
from tempfile import TemporaryDirectory

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from sklearn_csv import CLASSIFICATION, REGRESSION, write_dataset  # noqa: E402

from stingerml import _kernels  # noqa: E402
from stingerml.deploy.quantize import quantize  # noqa: E402
from stingerml.tabular import MLPClassifier, MLPRegressor, read_table  # noqa: E402
from stingerml.tabular.estimator import _rows  # noqa: E402
from stingerml.tabular.runs import evaluate, representative  # noqa: E402
from stingerml.learn.split import random_split, stratified_split  # noqa: E402

HIDDEN, BATCH, EPOCHS, PATIENCE, ALPHA, LR, SEED = (64, 32), 32, 200, 10, 1e-4, 1e-3, 42


def best_time(fn, repeat: int):
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.process_time()
        out = fn()
        best = min(best, time.process_time() - t0)
    return best, out


def float_and_int8(est, rep, X, truth, regression: bool) -> "tuple[float, float]":
    """Test accuracy (R² mean for regression) of the fitted model and of its int8 model (emulator)."""
    net = est.to_model()
    m = evaluate(net, X, truth, quantize(net, rep))
    key = "r2_mean" if regression else "accuracy"
    return m[key], m["int8"][key]


def run(name: str, folder: str, repeat: int, pure_epochs: int, skip_pure: bool = False) -> dict:
    import numpy as np
    from sklearn.neural_network import MLPClassifier as SkC
    from sklearn.neural_network import MLPRegressor as SkR
    from sklearn.preprocessing import StandardScaler

    path, label, targets = write_dataset(name, folder)
    t = read_table(path, label, targets=targets)
    regression = t.Y is not None
    s = random_split(t.n_rows) if regression else stratified_split(t.y, t.classes)
    Xtr, Xva, Xte = (_rows(t.X, p) for p in s)
    if regression:
        ytr, yva, yte = (_rows(t.Y, p) for p in s)
        ours = lambda dropout, epochs=EPOCHS: MLPRegressor(  # noqa: E731
            HIDDEN, dropout=dropout, alpha=ALPHA, learning_rate=LR, batch_size=BATCH, max_epochs=epochs,
            patience=PATIENCE, seed=SEED).fit(Xtr, ytr, validation_data=(Xva, yva))
    else:
        lab = [t.classes[k] for k in t.y]
        ytr, yva, yte = ([lab[i] for i in p] for p in s)
        ours = lambda dropout, epochs=EPOCHS: MLPClassifier(  # noqa: E731
            HIDDEN, dropout=dropout, alpha=ALPHA, learning_rate=LR, batch_size=BATCH, max_epochs=epochs,
            patience=PATIENCE, seed=SEED).fit(Xtr, ytr, classes=t.classes, validation_data=(Xva, yva))

    _kernels.set_backend("numba")
    ours(0.0, 1)  # load the compiled kernels
    t_numba, est = best_time(lambda: ours(0.0), repeat)
    acc = est.score(Xte, yte)
    est_drop = ours(0.2)
    acc_drop = est_drop.score(Xte, yte)
    rep = representative(t, s, SEED)
    f32_acc, int8_acc = float_and_int8(est, rep, Xte, yte, regression)
    f32_drop, int8_drop = float_and_int8(est_drop, rep, Xte, yte, regression)

    _kernels.set_backend("python")
    if skip_pure:
        pure = "—"
    elif len(s.train) < 200:
        t_pure, pest = best_time(lambda: ours(0.0), 1)
        assert pest.history_ == est.history_, "pure and numba disagree"
        pure = f"{t_pure:.2f}"
    else:
        t_few, _ = best_time(lambda: ours(0.0, pure_epochs), 1)
        pure = f"~{t_few / pure_epochs * est.n_epochs_:.0f}"
    _kernels.set_backend("numba")

    def arr(m):
        return np.array(m.data).reshape(m.shape)

    scaler = StandardScaler().fit(arr(Xtr))
    tv = np.vstack([arr(Xtr), arr(Xva)])
    frac = len(s.val) / (len(s.train) + len(s.val))
    common = dict(hidden_layer_sizes=HIDDEN, batch_size=BATCH, max_iter=EPOCHS, alpha=ALPHA, learning_rate_init=LR,
                  early_stopping=True, n_iter_no_change=PATIENCE, validation_fraction=frac, random_state=SEED)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if regression:
            ytv = np.vstack([arr(ytr), arr(yva)])
            ytv = ytv.ravel() if ytv.shape[1] == 1 else ytv
            t_sk, sk = best_time(lambda: SkR(**common).fit(scaler.transform(tv), ytv), repeat)
            yte_np = arr(yte)
            sk_acc = sk.score(scaler.transform(arr(Xte)), yte_np.ravel() if yte_np.shape[1] == 1 else yte_np)
        else:
            t_sk, sk = best_time(lambda: SkC(**common).fit(scaler.transform(tv), np.array(ytr + yva)), repeat)
            sk_acc = sk.score(scaler.transform(arr(Xte)), np.array(yte))
    return {"name": name, "metric": "R²" if regression else "accuracy", "rows": f"{len(s.train)}/{len(s.val)}/{len(s.test)}",
            "ours": acc, "ours_drop": acc_drop, "sk": sk_acc, "f32": f32_acc, "int8": int8_acc,
            "f32_drop": f32_drop, "int8_drop": int8_drop, "epochs": est.n_epochs_, "sk_epochs": sk.n_iter_,
            "t_numba": t_numba, "t_pure": pure, "t_sk": t_sk}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--pure-epochs", type=int, default=3)
    ap.add_argument("--sets", default=",".join(CLASSIFICATION + REGRESSION))
    ap.add_argument("--skip-pure", action="store_true", help="no pure-Python timing")
    args = ap.parse_args()
    rows = []
    with TemporaryDirectory() as folder:
        for name in args.sets.split(","):
            r = run(name, folder, args.repeat, args.pure_epochs, args.skip_pure)
            rows.append(r)
            print(f"# {name} done", file=sys.stderr)
    print(f"cpus: {os.cpu_count()}, python {sys.version.split()[0]}")
    print("| data set | metric | train/val/test | stingerml (dropout 0) | stingerml (dropout 0.2) | scikit-learn "
          "| int8 (dropout 0) | int8 (dropout 0.2) | epochs ours / sklearn | CPU s numba | pure | sklearn "
          "| ms/epoch numba / sklearn |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        assert (r["f32"], r["f32_drop"]) == (r["ours"], r["ours_drop"]), "evaluate and score disagree"
        print(f"| {r['name']} | {r['metric']} | {r['rows']} | {r['ours']:.4f} | {r['ours_drop']:.4f} | {r['sk']:.4f} "
              f"| {r['int8']:.4f} | {r['int8_drop']:.4f} | {r['epochs']} / {r['sk_epochs']} | {r['t_numba']:.2f} "
              f"| {r['t_pure']} | {r['t_sk']:.2f} "
              f"| {1000 * r['t_numba'] / r['epochs']:.1f} / {1000 * r['t_sk'] / r['sk_epochs']:.1f} |")


if __name__ == "__main__":
    main()
