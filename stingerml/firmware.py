"""Float32-exact emulation of the blaster firmware's inference (SPEC §10).

The firmware keeps the last 50 IMU samples in a ring buffer and, for every
prediction, copies the window (oldest first), featurizes it in C ``float``
arithmetic and runs the logistic regression (18 summary features) and the MLP
(30 rich features). Until 50 samples have been pushed the prediction is 0; a
gyro-RMS motion gate (``rms < 60`` counts) also forces 0.

Exactness: every C float operation is emulated by computing in double and
rounding once to float32. For ``+ - * /`` and ``sqrt`` of float32 operands
that is bit-exact (a double holds more than 2·24+2 bits). Rounding is done in
bulk by building ``array('f')`` objects (each element is rounded to the
nearest float32). ``expf`` is not correctly rounded in C libraries, so
:func:`expf` reproduces the algorithm of glibc, musl and newlib (Arm's
optimized-routines ``expf``: a 32-entry table of ``2**(i/32)`` and a cubic,
in double); with a correctly rounded ``exp`` instead, about 1 probability in
3500 of the reference firmware output differs by 1-2 ulp.

Hot loops are plain functions on flat arrays, vectorized *across windows*:
the serial float accumulations of the firmware (``sum += v*v`` over the 50
samples, ``sum += W[j][i]*x[i]`` over the inputs) keep their order; what runs
in bulk is the same step applied to every window at once. Shapes:

- ``samples``: flat int sequence ``[sample][channel]``, channels
  ``ax ay az gx gy gz`` (an ``array('h')`` of a log's interleaved columns or of
  ``windows_i16le.bin``).
- Window ``r`` of a batch covers samples ``[r*step, r*step + 50)``: ``step=1``
  gives every window of a stream (a replay), ``step=50`` independent rows.
- Feature matrices are row-major ``n × 30`` (the first 18 rich features are
  the 18 summary features).
"""
from __future__ import annotations

import math
import struct
from array import array
from itertools import accumulate
from operator import add, sub
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from .mlmd import LR_FEATURES, MLP_FEATURES, MLP_H1, MLP_H2, WINDOW_SAMPLES, LRModel, MLPModel

CHANNELS = 6
RICH_FEATURES = MLP_FEATURES
GATE_RMS = 60.0
"""Motion gate: the prediction is 0 when the gyro RMS over the window is below this (raw counts)."""

_F32 = array("f", [0.0])


def f32(x: float) -> float:
    """``x`` rounded to the nearest float32 (returned as a Python float)."""
    _F32[0] = x
    return _F32[0]


SCALE_FLOOR = f32(1e-10)
"""The firmware replaces a scaler ``scale`` below ``1e-10f`` by ``1e-10f``."""
_CHUNK = 2048  # windows per batch in a replay (bounds memory; ~30 × 64 floats per window)


# --------------------------------------------------------------------------- features

def _window_accumulate(values: Sequence[float], n_windows: int, step: int) -> array:
    """Float32 running sum ``acc += v`` over each window's 50 values, in sample order.

    ``values`` holds one float32 value per sample; window ``r`` sums
    ``values[r*step : r*step + 50]``. Returns ``array('f')`` of ``n_windows``.
    """
    stop = step * (n_windows - 1) + 1
    acc = array("f", values[0:stop:step])  # 0 + v is exact
    for k in range(1, WINDOW_SAMPLES):
        acc = array("f", map(add, acc, values[k : k + stop : step]))
    return acc


def _window_max(values: Sequence[float], n_windows: int, step: int) -> List[float]:
    """Max over each window (starting at 0, like the firmware's ``mx = 0``)."""
    return [max(values[s : s + WINDOW_SAMPLES]) for s in range(0, step * n_windows, step)]


def _window_int_sum(values: Sequence[int], n_windows: int, step: int) -> List[int]:
    """Exact integer window sums. The firmware sums these integers in float: every
    partial sum is an integer below 50·32768 < 2**24, so that float sum is exact too."""
    prefix = [0]
    prefix.extend(accumulate(values))
    return [prefix[s + WINDOW_SAMPLES] - prefix[s] for s in range(0, step * n_windows, step)]


def _mean_std(total: Sequence[float], total_sq: Sequence[float]) -> Tuple[array, array]:
    """``mean = sum/50``; ``var = sumSq/50 - mean*mean`` clamped at 0; ``sqrtf(var)``; all float32."""
    mean = array("f", [s / WINDOW_SAMPLES for s in total])
    var = array("f", map(sub, array("f", [q / WINDOW_SAMPLES for q in total_sq]), array("f", [m * m for m in mean])))
    std = array("f", [math.sqrt(v) if v > 0.0 else 0.0 for v in var])
    return mean, std


def _magnitudes(x: List[float], y: List[float], z: List[float]) -> Tuple[array, array]:
    """Per sample ``m2 = x*x + y*y + z*z`` (given the rounded squares) and ``sqrtf(m2)``."""
    m2 = array("f", map(add, array("f", map(add, x, y)), z))
    return m2, array("f", map(math.sqrt, m2))


def feature_columns(samples: Sequence[int], n_windows: int, step: int) -> Tuple[List[array], array]:
    """The 30 rich features of ``n_windows`` windows as columns, plus the gate's sum.

    Returns ``(columns, gyro_sum_sq)``: ``columns[j]`` is ``array('f')`` of
    ``n_windows`` values of feature ``j`` (``mean(6) std(6) absmax(6)
    absmean(6) amag_mean amag_std amag_max gmag_mean gmag_std gmag_max``);
    ``gyro_sum_sq[r]`` is the float sum of ``gx*gx + gy*gy + gz*gz`` over
    window ``r`` (the firmware's motion-gate accumulator).
    """
    if n_windows <= 0:
        return [array("f") for _ in range(RICH_FEATURES)], array("f")
    n_samples = step * (n_windows - 1) + WINDOW_SAMPLES
    if len(samples) < CHANNELS * n_samples:
        raise ValueError(f"{n_windows} windows with step {step} need {n_samples} samples, got {len(samples) // CHANNELS}")
    chans = [array("h", samples[c : CHANNELS * n_samples : CHANNELS]).tolist() for c in range(CHANNELS)]
    squares = [array("f", [v * v for v in ch]).tolist() for ch in chans]
    means, stds, maxes, absmeans = [], [], [], []
    for ch, sq in zip(chans, squares):
        mean, std = _mean_std(_window_int_sum(ch, n_windows, step), _window_accumulate(sq, n_windows, step))
        absolute = [abs(v) for v in ch]
        means.append(mean)
        stds.append(std)
        maxes.append(array("f", _window_max(absolute, n_windows, step)))
        absmeans.append(array("f", [a / WINDOW_SAMPLES for a in _window_int_sum(absolute, n_windows, step)]))
    columns = means + stds + maxes + absmeans
    gyro_sum_sq = array("f")
    for first in (0, 3):
        m2, m = _magnitudes(*squares[first : first + 3])
        sum_sq = _window_accumulate(m2, n_windows, step)
        mean, std = _mean_std(_window_accumulate(m, n_windows, step), sum_sq)
        columns += [mean, std, array("f", _window_max(m, n_windows, step))]
        gyro_sum_sq = sum_sq
    return columns, gyro_sum_sq


def _rows(columns: Sequence[array]) -> array:
    """Interleave feature columns into a row-major ``array('f')``."""
    nf = len(columns)
    out = array("f", bytes(4 * nf * len(columns[0]))) if columns else array("f")
    for j, col in enumerate(columns):
        out[j::nf] = col
    return out


def window_features(samples: Sequence[int], n_windows: int, step: int = WINDOW_SAMPLES) -> array:
    """Row-major ``n_windows × 30`` float32 rich features (see :func:`feature_columns`)."""
    return _rows(feature_columns(samples, n_windows, step)[0])


def features_rich_f32(window: Sequence[int]) -> array:
    """The 30 firmware features of one 50×6 window (flat ``[sample][channel]``)."""
    return window_features(window, 1)


def features_summary_f32(window: Sequence[int]) -> array:
    """The 18 firmware summary features (``mean std absmax``) of one 50×6 window."""
    return features_rich_f32(window)[:LR_FEATURES]


def gate_open(gyro_sum_sq: Sequence[float]) -> List[bool]:
    """Motion gate per window: ``sqrtf(s/50) >= 60`` (else the prediction is forced to 0)."""
    rms = array("f", [s / WINDOW_SAMPLES for s in gyro_sum_sq])
    return [f32(math.sqrt(v)) >= GATE_RMS for v in rms]


# --------------------------------------------------------------------------- models

def _scaled(columns: Sequence[array], mean: Sequence[float], scale: Sequence[float]) -> List[array]:
    """Firmware scaling per feature: ``(x - mean) / max(scale, 1e-10f)`` (a scale below the floor,
    zero or negative included, becomes ``1e-10f``)."""
    out = []
    for col, m, s in zip(columns, mean, scale):
        s = SCALE_FLOOR if s < SCALE_FLOOR else s
        out.append(array("f", [d / s for d in array("f", [v - m for v in col])]))
    return out


def _dot(bias: float, weights: Sequence[float], inputs: Sequence[array], n: int) -> array:
    """``sum = bias; sum += w[i]*in[i]`` in float32 for every window (``inputs[i]`` is a column).

    A term whose input column is all zero (a dead ReLU unit over the batch) is
    skipped: adding ``±0`` never changes a float sum other than the sign of a
    zero, and a zero's sign cannot reach the output (ReLU and sigmoid map
    ``±0`` alike).
    """
    acc = array("f", [bias]) * n
    for w, col in zip(weights, inputs):
        if col is not None:
            acc = array("f", map(add, acc, array("f", [w * v for v in col])))
    return acc


def _relu(acc: array) -> Optional[array]:
    """ReLU of a column; ``None`` stands for an all-zero column (skipped by :func:`_dot`)."""
    out = array("f", [v if v > 0.0 else 0.0 for v in acc])
    return out if any(out) else None


# expf tables (Arm optimized-routines, as in glibc/musl/newlib): _EXP2_TAB[i] = bits(2**(i/32)) - (i << 47)
_EXP2_TAB = (
    0x3FF0000000000000, 0x3FEFD9B0D3158574, 0x3FEFB5586CF9890F, 0x3FEF9301D0125B51,
    0x3FEF72B83C7D517B, 0x3FEF54873168B9AA, 0x3FEF387A6E756238, 0x3FEF1E9DF51FDEE1,
    0x3FEF06FE0A31B715, 0x3FEEF1A7373AA9CB, 0x3FEEDEA64C123422, 0x3FEECE086061892D,
    0x3FEEBFDAD5362A27, 0x3FEEB42B569D4F82, 0x3FEEAB07DD485429, 0x3FEEA47EB03A5585,
    0x3FEEA09E667F3BCD, 0x3FEE9F75E8EC5F74, 0x3FEEA11473EB0187, 0x3FEEA589994CCE13,
    0x3FEEACE5422AA0DB, 0x3FEEB737B0CDC5E5, 0x3FEEC49182A3F090, 0x3FEED503B23E255D,
    0x3FEEE89F995AD3AD, 0x3FEEFF76F2FB5E47, 0x3FEF199BDD85529C, 0x3FEF3720DCEF9069,
    0x3FEF5818DCFBA487, 0x3FEF7C97337B9B5F, 0x3FEFA4AFA2A490DA, 0x3FEFD0765B6E4540,
)
_EXP_INV_LN2_N = float.fromhex("0x1.71547652b82fep+0") * 32
_EXP_C0 = float.fromhex("0x1.c6af84b912394p-5") / 32 / 32 / 32
_EXP_C1 = float.fromhex("0x1.ebfce50fac4f3p-3") / 32 / 32
_EXP_C2 = float.fromhex("0x1.62e42ff0c52d6p-1") / 32
_EXP_OVERFLOW = float.fromhex("0x1.62e42ep6")  # above: +inf
_EXP_UNDERFLOW = float.fromhex("-0x1.9fe368p6")  # below: 0
_U64 = struct.Struct("<Q")
_F64 = struct.Struct("<d")


def expf(x: float) -> float:
    """C ``expf`` of a float32 ``x``, bit-exact with glibc, musl and newlib.

    ``x*32/ln2 = k + r`` (``k`` rounded to nearest even), ``exp(x) =
    2**(k/32) * 2**(r/32)``: a table gives ``2**((k mod 32)/32)``, the
    exponent gets ``k // 32``, a cubic in ``r`` the rest; all in double
    (no FMA), rounded once to float32.
    """
    if x != x:
        return x
    if x > _EXP_OVERFLOW:
        return math.inf
    if x < _EXP_UNDERFLOW:
        return 0.0
    z = _EXP_INV_LN2_N * x
    k = round(z)  # ties to even, like the firmware's z + 0x1.8p52 trick
    r = z - k
    s = _F64.unpack(_U64.pack((_EXP2_TAB[k & 31] + (k << 47)) & 0xFFFFFFFFFFFFFFFF))[0]
    y = (_EXP_C0 * r + _EXP_C1) * (r * r) + (_EXP_C2 * r + 1.0)
    return f32(y * s)


def sigmoid_f32(z: float) -> float:
    """Firmware sigmoid: 1 if ``z > 20``, 0 if ``z < -20``, else ``1/(1+expf(-z))`` in float32."""
    if z > 20.0:
        return 1.0
    if z < -20.0:
        return 0.0
    return f32(1.0 / f32(1.0 + expf(-z)))


def lr_logit_columns(columns: Sequence[array], mean: Sequence[float], scale: Sequence[float],
                     coef: Sequence[float], intercept: float) -> array:
    """LR logit ``z`` per window from the first 18 feature columns (float32, before the sigmoid)."""
    n = len(columns[0])
    return _dot(f32(intercept), coef, _scaled(columns[:LR_FEATURES], mean, scale), n)


def mlp_logit_columns(columns: Sequence[array], mean: Sequence[float], scale: Sequence[float],
                      W1: Sequence[float], b1: Sequence[float], W2: Sequence[float], b2: Sequence[float],
                      W3: Sequence[float], b3: float) -> array:
    """MLP logit ``z`` (30→64→32→1, ReLU) per window from the 30 feature columns (float32, before
    the sigmoid). ``W1``/``W2`` are flat row-major ``[out][in]``."""
    n = len(columns[0])
    x = _scaled(columns[:MLP_FEATURES], mean, scale)
    h1 = [_relu(_dot(b1[j], W1[j * MLP_FEATURES : (j + 1) * MLP_FEATURES], x, n)) for j in range(MLP_H1)]
    h2 = [_relu(_dot(b2[j], W2[j * MLP_H1 : (j + 1) * MLP_H1], h1, n)) for j in range(MLP_H2)]
    return _dot(f32(b3), W3, h2, n)


def lr_proba(columns: Sequence[array], model: LRModel) -> array:
    """Ungated LR probability per window (feature columns as from :func:`feature_columns`)."""
    z = lr_logit_columns(columns, model.mean, model.scale, model.coef, model.intercept)
    return array("f", map(sigmoid_f32, z))


def mlp_proba(columns: Sequence[array], model: MLPModel) -> array:
    """Ungated MLP probability per window (feature columns as from :func:`feature_columns`)."""
    m = model
    z = mlp_logit_columns(columns, m.mean, m.scale, m.W1, m.b1, m.W2, m.b2, m.W3, m.b3)
    return array("f", map(sigmoid_f32, z))


# --------------------------------------------------------------------------- batches and streams

def predict_batch(samples: Sequence[int], n_windows: int, step: int, lr: LRModel, mlp: MLPModel) -> Dict[str, array]:
    """Both models on ``n_windows`` windows of ``samples`` (window ``r`` = samples ``[r*step, r*step+50)``).

    Returns ``array('f')`` columns ``p_lr, p_mlp`` (gated, what the device
    uses), ``raw_lr, raw_mlp`` (no gate), ``rms`` (gyro RMS of the window) and
    ``features`` (row-major ``n_windows × 30``).
    """
    columns, gyro_sum_sq = feature_columns(samples, n_windows, step)
    if n_windows <= 0:
        empty = array("f")
        return {"p_lr": empty, "p_mlp": empty, "raw_lr": empty, "raw_mlp": empty, "rms": empty, "features": empty}
    raw_lr, raw_mlp = lr_proba(columns, lr), mlp_proba(columns, mlp)
    gate = gate_open(gyro_sum_sq)
    return {
        "p_lr": array("f", [p if g else 0.0 for p, g in zip(raw_lr, gate)]),
        "p_mlp": array("f", [p if g else 0.0 for p, g in zip(raw_mlp, gate)]),
        "raw_lr": raw_lr,
        "raw_mlp": raw_mlp,
        "rms": array("f", [f32(math.sqrt(f32(s / WINDOW_SAMPLES))) for s in gyro_sum_sq]),
        "features": _rows(columns),
    }


def replay_samples(samples: Sequence[int], lr: LRModel, mlp: MLPModel,
                   progress: Optional[Callable[[int, int], None]] = None) -> Tuple[array, array]:
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


def interleave(channels: Sequence[Sequence[int]]) -> array:
    """Six equal-length channel columns → flat ``array('h')`` ``[sample][channel]``."""
    n = len(channels[0])
    out = array("h", bytes(2 * CHANNELS * n))
    for c, col in enumerate(channels):
        out[c::CHANNELS] = array("h", col)
    return out


def replay(log, lr: Optional[LRModel] = None, mlp: Optional[MLPModel] = None,
           progress: Optional[Callable[[int, int], None]] = None) -> Tuple[array, array]:
    """Replay a :class:`~stingerml.log.Log` through the device; factory weights for a model not given.

    Returns ``(p_lr, p_mlp)`` with one gated probability per log sample.
    """
    from .loader import factory_model

    return replay_samples(interleave(log.channels), lr or factory_model("lr"), mlp or factory_model("mlp"), progress)


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

    def replay(self, log, progress: Optional[Callable[[int, int], None]] = None) -> Tuple[array, array]:
        """:func:`replay` with this device's weights."""
        return replay(log, self.lr, self.mlp, progress)
