"""Float32-exact emulation of the blaster firmware's inference (SPEC §10).

The firmware keeps the last 50 IMU samples in a ring buffer and, for every
prediction, copies the window (oldest first), featurizes it in C ``float``
arithmetic and runs the logistic regression (18 summary features) and the MLP
(30 rich features). Until 50 samples have been pushed the prediction is 0; a
gyro-RMS motion gate (``rms < 60`` counts) also forces 0.

The hot loops (features, LR, MLP, sigmoid) live in
``stingerml/_kernels/firmware_pure.py`` (the reference, float32 emulated by
rounding each double operation once) and its numba twin ``firmware_jit.py``
(native float32 arithmetic), with the same results to the bit; the backend
chosen by ``STINGERML_BACKEND`` / :func:`stingerml.set_backend` runs them.
This module assembles them into the device: batches of windows, streams, the
ring buffer. Shapes:

- ``samples``: flat int sequence ``[sample][channel]``, channels
  ``ax ay az gx gy gz`` (an ``array('h')`` of a log's interleaved columns or of
  ``windows_i16le.bin``).
- Window ``r`` of a batch covers samples ``[r*step, r*step + 50)``: ``step=1``
  gives every window of a stream (a replay), ``step=50`` independent rows.
- Feature matrices are row-major ``n × 30`` (the first 18 rich features are
  the 18 summary features).
"""
from __future__ import annotations

from array import array
from typing import Dict, List, Optional, Sequence, Tuple

from .._kernels import kernels
from ..core.constants import CHANNELS, RICH_FEATURES, SCALE_FLOOR, WINDOW_SAMPLES  # noqa: F401  (public here too)
from ..core.constants import SUMMARY_FEATURES as LR_FEATURES
from ..core.matrix import Matrix
from ..core.progress import Tick
from ..formats.mlmd import LRModel, MLPModel
from .dataset import interleave

GATE_RMS = 60.0
"""Motion gate: the prediction is 0 when the gyro RMS over the window is below this (raw counts)."""

_CHUNK = 2048  # windows per batch in a replay (bounds memory; ~30 × 64 floats per window)


# --------------------------------------------------------------------------- scalar float32 helpers


def f32(x: float) -> float:
    """``x`` rounded to the nearest float32 (returned as a Python float)."""
    return kernels("firmware").f32(x)


def expf(x: float) -> float:
    """C ``expf`` of a float32 ``x``, bit-exact with glibc, musl and newlib (see ``_kernels/firmware_pure.py``)."""
    return kernels("firmware").expf(x)


def sigmoid_f32(z: float) -> float:
    """Firmware sigmoid: 1 if ``z > 20``, 0 if ``z < -20``, else ``1/(1+expf(-z))`` in float32."""
    return kernels("firmware").sigmoid_f32(z)


# --------------------------------------------------------------------------- features and models


def window_features(samples: Sequence[int], n_windows: int, step: int = WINDOW_SAMPLES) -> array:
    """Row-major ``n_windows × 30`` float32 rich features of the windows of ``samples``."""
    return kernels("firmware").window_features(samples, n_windows, step)[0]


def features_rich_f32(window: Sequence[int]) -> array:
    """The 30 firmware features of one 50×6 window (flat ``[sample][channel]``)."""
    return window_features(window, 1)


def features_summary_f32(window: Sequence[int]) -> array:
    """The 18 firmware summary features (``mean std absmax``) of one 50×6 window."""
    return features_rich_f32(window)[:LR_FEATURES]


def lr_logit_columns(columns: Sequence[Sequence[float]], mean: Sequence[float], scale: Sequence[float],
                     coef: Sequence[float], intercept: float) -> array:
    """LR logit ``z`` per window from feature columns (``columns[j][r]``, float32; the first 18
    are used), before the sigmoid."""
    return kernels("firmware").lr_logits(Matrix.from_columns(columns, "f").data, len(columns[0]), len(columns),
                                         mean, scale, coef, intercept)


def mlp_logit_columns(columns: Sequence[Sequence[float]], mean: Sequence[float], scale: Sequence[float],
                      W1: Sequence[float], b1: Sequence[float], W2: Sequence[float], b2: Sequence[float],
                      W3: Sequence[float], b3: float) -> array:
    """MLP logit ``z`` (30→64→32→1, ReLU) per window from feature columns (float32), before the
    sigmoid. ``W1``/``W2`` are flat row-major ``[out][in]``."""
    return kernels("firmware").mlp_logits(Matrix.from_columns(columns, "f").data, len(columns[0]), len(columns),
                                          mean, scale, W1, b1, W2, b2, W3, b3)


# --------------------------------------------------------------------------- batches and streams

def predict_batch(samples: Sequence[int], n_windows: int, step: int, lr: LRModel, mlp: MLPModel) -> Dict[str, array]:
    """Both models on ``n_windows`` windows of ``samples`` (window ``r`` = samples ``[r*step, r*step+50)``).

    Returns ``array('f')`` columns ``p_lr, p_mlp`` (gated, what the device
    uses), ``raw_lr, raw_mlp`` (no gate), ``rms`` (gyro RMS of the window) and
    ``features`` (row-major ``n_windows × 30``).
    """
    k = kernels("firmware")
    X, rms = k.window_features(samples, n_windows, step)
    n, nf = max(n_windows, 0), RICH_FEATURES
    raw_lr = k.sigmoids(k.lr_logits(X, n, nf, lr.mean, lr.scale, lr.coef, lr.intercept))
    raw_mlp = k.sigmoids(k.mlp_logits(X, n, nf, mlp.mean, mlp.scale, mlp.W1, mlp.b1, mlp.W2, mlp.b2,
                                      mlp.W3, mlp.b3))
    gate = [v >= GATE_RMS for v in rms]
    return {
        "p_lr": array("f", [p if g else 0.0 for p, g in zip(raw_lr, gate)]),
        "p_mlp": array("f", [p if g else 0.0 for p, g in zip(raw_mlp, gate)]),
        "raw_lr": raw_lr,
        "raw_mlp": raw_mlp,
        "rms": rms,
        "features": X,
    }


def replay_samples(samples: Sequence[int], lr: LRModel, mlp: MLPModel,
                   progress: Optional[Tick] = None) -> Tuple[array, array]:
    """Push every sample of a stream through the emulated device.

    ``samples`` is flat ``[sample][channel]``. Returns ``(p_lr, p_mlp)``,
    ``array('f')`` of one gated probability per sample: 0 for the first 49
    samples (the ring buffer is not full), then the prediction on the window
    ending at that sample. ``progress(done, total)`` is called per chunk.
    """
    n = len(samples) // CHANNELS
    p_lr = array("f", bytes(4 * min(n, WINDOW_SAMPLES - 1)))
    p_mlp = array("f", p_lr)
    total = max(0, n - WINDOW_SAMPLES + 1)
    for first in range(0, total, _CHUNK):
        count = min(_CHUNK, total - first)
        chunk = samples[CHANNELS * first : CHANNELS * (first + count + WINDOW_SAMPLES - 1)]
        out = predict_batch(chunk, count, 1, lr, mlp)
        p_lr.extend(out["p_lr"])
        p_mlp.extend(out["p_mlp"])
        if progress is not None:
            progress(first + count, total)
    return p_lr, p_mlp


def replay(log, lr: Optional[LRModel] = None, mlp: Optional[MLPModel] = None,
           progress: Optional[Tick] = None) -> Tuple[array, array]:
    """Replay a :class:`~stingerml.blaster.log.Log` through the device; factory weights for a model not given.

    Returns ``(p_lr, p_mlp)`` with one gated probability per log sample.
    """
    from .loader import factory_model

    return replay_samples(interleave(log), lr or factory_model("lr"), mlp or factory_model("mlp"), progress)


class Firmware:
    """The emulated device: loaded LR and MLP weights plus the 50-sample ring buffer.

    >>> fw = Firmware()              # factory weights
    >>> fw.push([0, 0, 4096, 0, 0, 0])
    (0.0, 0.0)
    """

    def __init__(self, lr: Optional[LRModel] = None, mlp: Optional[MLPModel] = None) -> None:
        from .loader import factory_model

        self.lr = lr or factory_model("lr")
        self.mlp = mlp or factory_model("mlp")
        self._ring: List[int] = []
        self._pushed = 0

    def reset(self) -> None:
        """Empty the ring buffer (the device after boot)."""
        self._ring.clear()
        self._pushed = 0

    def push(self, sample: Sequence[int]) -> Tuple[float, float]:
        """Push one ``(ax, ay, az, gx, gy, gz)`` sample; returns the gated ``(p_lr, p_mlp)``
        the device computes right after it (0 until 50 samples were pushed)."""
        if len(sample) != CHANNELS:
            raise ValueError(f"a sample has {CHANNELS} channels (ax ay az gx gy gz), got {len(sample)}")
        self._ring.extend(int(v) for v in sample)
        del self._ring[: max(0, len(self._ring) - CHANNELS * WINDOW_SAMPLES)]
        self._pushed += 1
        if self._pushed < WINDOW_SAMPLES:
            return 0.0, 0.0
        out = self.predict_window(self._ring)
        return out["p_lr"], out["p_mlp"]

    def predict_window(self, window: Sequence[int]) -> Dict[str, float]:
        """Predict on one 50×6 window (flat ``[sample][channel]``, oldest first).

        Returns ``p_lr``, ``p_mlp`` (gated), ``raw_lr``, ``raw_mlp`` (no gate) and ``rms``.
        """
        if len(window) != CHANNELS * WINDOW_SAMPLES:
            raise ValueError(f"a window is {WINDOW_SAMPLES}×{CHANNELS} = {CHANNELS * WINDOW_SAMPLES} values, got {len(window)}")
        out = predict_batch(window, 1, WINDOW_SAMPLES, self.lr, self.mlp)
        return {k: out[k][0] for k in ("p_lr", "p_mlp", "raw_lr", "raw_mlp", "rms")}

    def predict_windows(self, windows: Sequence[int], n_rows: int) -> Dict[str, array]:
        """Each of ``n_rows`` independent windows (``windows_i16le.bin`` layout) pushed into a fresh
        ring buffer; see :func:`predict_batch` for the returned columns."""
        return predict_batch(windows, n_rows, WINDOW_SAMPLES, self.lr, self.mlp)

    def replay(self, log, progress: Optional[Tick] = None) -> Tuple[array, array]:
        """:func:`replay` with this device's weights."""
        return replay(log, self.lr, self.mlp, progress)
