"""Sequence classifiers (TCN, LSTM) on the generated word task: accuracy and training time.

    PYTHONPATH=$PWD python benchmarks/sequence.py [--train 600] [--test 300] [--epochs 40] [--pure-epochs 1] [--torch]

The task (:func:`stingerml.sequence.synth.word_task`): a hand of 21 landmarks (63
features per step) drawing one of six shapes over 8-32 steps, padded to 32 with a
prefix mask; training samples from seed 1, test samples from seed 2 (new hands,
new lengths). Both models: hidden 32 (TCN: 3 blocks, kernel 3, average pooling;
LSTM: 1 layer), dropout 0.1, Adam lr 3e-3, batch 32, up to --epochs epochs with
early stopping on 10 % of the training samples (patience 10, the best epoch kept).

Times are CPU time of this process (``time.process_time``; the machine may be
shared). numba is warmed up first (compilation excluded). The pure-Python path
gives the same bits as numba, so the same epochs: it is timed over
``--pure-epochs`` epochs and scaled to numba's epoch count (marked ~).
``--torch`` adds PyTorch's ``nn.Conv1d`` / ``nn.LSTM`` models of the same shapes
trained the same number of epochs (optional, not in CI; its own init and
arithmetic, so its accuracy is only indicative).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from stingerml import _kernels  # noqa: E402
from stingerml.core.dense import predicted_classes  # noqa: E402
from stingerml.formats.tflite_sequence import to_tflite_int8  # noqa: E402
from stingerml.sequence import LSTMClassifier, TCNClassifier  # noqa: E402
from stingerml.sequence.quantize import quantize_tcn, representative_samples  # noqa: E402
from stingerml.sequence.synth import word_task  # noqa: E402


def _make(arch: str, epochs: int):
    if arch == "tcn":
        return TCNClassifier(hidden=32, blocks=3, max_epochs=epochs)
    return LSTMClassifier(hidden=32, layers=1, max_epochs=epochs)


def _torch_row(arch: str, Xtr, ytr, Xte, yte, epochs: int):
    import torch
    from torch import nn

    torch.manual_seed(0)
    classes = sorted(set(ytr))

    def tensors(X, y):
        x = torch.tensor(list(X.data), dtype=torch.float32).reshape(X.n_samples, X.n_steps, X.n_features)
        return x, torch.tensor(list(X.lengths)), torch.tensor([classes.index(v) for v in y])

    xtr, ltr, ttr = tensors(Xtr, ytr)
    xte, lte, tte = tensors(Xte, yte)
    mean = torch.cat([xtr[n, :L] for n, L in enumerate(ltr)]).mean(0)
    std = torch.cat([xtr[n, :L] for n, L in enumerate(ltr)]).std(0).clamp_min(1e-6)
    xtr, xte = (xtr - mean) / std, (xte - mean) / std
    H, F, C = 32, Xtr.n_features, len(classes)

    class TCN(nn.Module):
        def __init__(self):
            super().__init__()
            self.convs = nn.ModuleList(nn.Conv1d(F if l == 0 else H, H, 3, dilation=2 ** l) for l in range(3))
            self.skip = nn.Conv1d(F, H, 1)
            self.head = nn.Linear(H, C)
            self.drop = nn.Dropout(0.1)

        def forward(self, x, lengths):
            a = x.transpose(1, 2)
            for l, conv in enumerate(self.convs):
                h = self.drop(torch.relu(conv(nn.functional.pad(a, ((3 - 1) * 2 ** l, 0)))))
                a = h + (self.skip(a) if l == 0 else a)
            mask = (torch.arange(a.shape[2])[None, :] < lengths[:, None]).float()
            pooled = (a * mask[:, None, :]).sum(2) / lengths[:, None]
            return self.head(self.drop(pooled))

    class LSTM(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(F, H, batch_first=True)
            self.head = nn.Linear(H, C)
            self.drop = nn.Dropout(0.1)

        def forward(self, x, lengths):
            packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            _, (h, _) = self.lstm(packed)
            return self.head(self.drop(h[-1]))

    model = TCN() if arch == "tcn" else LSTM()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    start = time.process_time()
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(ttr))
        for i in range(0, len(perm), 32):
            b = perm[i:i + 32]
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(xtr[b], ltr[b]), ttr[b])
            loss.backward()
            opt.step()
    seconds = time.process_time() - start
    model.eval()
    with torch.no_grad():
        acc = (model(xte, lte).argmax(1) == tte).float().mean().item()
    return acc, seconds


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--train", type=int, default=600)
    ap.add_argument("--test", type=int, default=300)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--pure-epochs", type=int, default=1, help="epochs to time the pure-Python path over (0: skip)")
    ap.add_argument("--torch", action="store_true", help="add PyTorch models of the same shapes")
    args = ap.parse_args(argv)
    Xtr, ytr = word_task(args.train, seed=1)
    Xte, yte = word_task(args.test, seed=2)
    print(f"word task: {args.train} training / {args.test} test samples, 8-32 steps x 63 features, 6 classes")
    print(f"{'model':6} {'backend':8} {'test acc':>9} {'epochs':>7} {'best':>5} {'train CPU s':>12} {'s/epoch':>8}")
    for arch in ("tcn", "lstm"):
        _kernels.set_backend("numba")
        _make(arch, 1).fit(Xtr.take(range(20)), ytr[:20])  # compile / load the cache
        start = time.process_time()
        clf = _make(arch, args.epochs).fit(Xtr, ytr)
        seconds = time.process_time() - start
        acc = clf.score(Xte, yte)
        print(f"{arch:6} {'numba':8} {acc:9.4f} {clf.n_epochs_:7d} {clf.best_epoch_:5d} {seconds:12.2f} "
              f"{seconds / clf.n_epochs_:8.3f}")
        if arch == "tcn":  # the full-int8 model, calibrated on 100 training samples, run by the emulator
            net = clf.to_model()
            qnet = quantize_tcn(net, representative_samples(Xtr, 100, seed=0))
            q_pred = predicted_classes(qnet.predict_proba(Xte).data, net.n_classes)
            q_acc = sum(net.classes[c] == t for c, t in zip(q_pred, yte)) / len(yte)
            print(f"{arch:6} {'int8':8} {q_acc:9.4f} {'':7} {'':5} {'':12} {'':8}  "
                  f"(emulator; model.tflite {len(to_tflite_int8(qnet))} bytes)")
        if args.pure_epochs:
            _kernels.set_backend("python")
            start = time.process_time()
            _make(arch, args.pure_epochs).fit(Xtr, ytr)
            per_epoch = (time.process_time() - start) / args.pure_epochs
            print(f"{arch:6} {'python':8} {acc:9.4f} {clf.n_epochs_:7d} {clf.best_epoch_:5d} "
                  f"~{per_epoch * clf.n_epochs_:11.0f} {per_epoch:8.2f}")
        if args.torch:
            try:
                tacc, tsec = _torch_row(arch, Xtr, ytr, Xte, yte, clf.n_epochs_)
            except ImportError:
                print(f"{arch:6} {'torch':8} (not installed)")
            else:
                print(f"{arch:6} {'torch':8} {tacc:9.4f} {clf.n_epochs_:7d} {'-':>5} {tsec:12.2f} "
                      f"{tsec / clf.n_epochs_:8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
