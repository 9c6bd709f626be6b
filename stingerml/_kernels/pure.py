"""The hot loops in pure Python: the reference implementation.

Every function here is readable against SPEC.md and has a numba twin of the
same name and signature in ``jit.py``. Conventions:

- Matrices are flat, row-major: ``X[r * nf + j]``; windows are
  ``[row][sample][channel]`` with 50 samples × 6 channels (``ax ay az gx gy gz``).
- ``f32(x)`` (SPEC) is done by storing into an ``array('f')``: building one
  from a list, or assigning one element, rounds to the nearest float32, exactly
  like a JavaScript ``Float32Array`` store.
- Sums that SPEC orders are done in that order without compensation: with an
  explicit running accumulator, never ``sum()`` of floats (compensated since
  Python 3.12).
- The MLP and LR fits are plain indexed loops that update their ``array('f')``
  sums and Adam state in place, one row at a time as SPEC writes them: the
  shape PyPy's JIT compiles to machine code. The MLP's sums over a layer's
  inputs are written out as straight-line code (:func:`_layer`), where
  CPython's loop overhead was worth removing. One choice differs by runtime,
  :data:`_BUILD_ROWS`: on CPython the MLP's gradient sums and Adam compute a
  row's new values and store them as f32 at once (:func:`_f32`), the same
  values as storing each element.
- Adding a zero product never changes an accumulator here (no accumulator can
  be -0.0: they start at +0.0 or at a weight that is never -0.0), so terms
  whose factor is exactly zero (dead ReLU units) are skipped, and kept where
  testing for them costs more than adding them (the first layer's inputs).
"""
from __future__ import annotations

import math
import sys
from array import array
from functools import lru_cache, reduce
from operator import add, mul
from struct import Struct
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

from ..core import jsmath
from ..core.constants import CHANNELS, RICH_FEATURES, SUMMARY_FEATURES  # noqa: F401  (re-exported for the twin)
from ..core.constants import MLP_H1 as H1
from ..core.constants import MLP_H2 as H2
from ..core.constants import WINDOW_SAMPLES as WINDOW
from ..core.rng import XorShift32
from . import peer

__all__ = [  # the seam: the numba twin (jit.py) defines every one of these names
    "clamped_bce", "logreg_fit", "logreg_predict", "logreg_predict_unscaled", "mean_bce", "mlp_fit", "mlp_init",
    "mlp_predict", "negative_candidates", "ordered_sum", "scaler_fit", "scaler_transform", "select_separated",
    "shuffled", "sigmoid", "window_features",
]

_exp = jsmath.exp  # V8's fdlibm exp/log, not the C library's: see jsmath
_log = jsmath.log
_sqrt = math.sqrt


def ordered_sum(values, start: float = 0.0) -> float:
    """``start + v0 + v1 + ...`` added left to right in double, no compensation."""
    return reduce(add, values, start)


def sigmoid(z: float) -> float:
    """The browser's and firmware's sigmoid: 1 above 20, 0 below -20."""
    if z > 20.0:
        return 1.0
    if z < -20.0:
        return 0.0
    return 1.0 / (1.0 + _exp(-z))


def clamped_bce(p: float, y: float) -> float:
    """``-(y log pc + (1-y) log(1-pc))`` with ``pc`` = p clamped to [1e-7, 1-1e-7]."""
    pc = min(max(p, 1e-7), 1.0 - 1e-7)
    return -(y * _log(pc) + (1 - y) * _log(1.0 - pc))


def mean_bce(probs: Sequence[float], y: Sequence[int]) -> float:
    """Mean clamped BCE over rows, summed in row order."""
    return ordered_sum(map(clamped_bce, probs, y)) / len(y)


# --- features (SPEC §5) ----------------------------------------------------


def window_features(windows: Sequence[int], n_rows: int, rich: bool) -> array:
    """Summary (18) or rich (30) features of ``n_rows`` windows, as float32.

    Args:
        windows: flat ``n_rows × 50 × 6`` integer samples.
        rich: False for ``[mean(6), std(6), absmax(6)]``; True appends
            ``absmean(6)`` and accel/gyro magnitude ``mean, std, max``.

    Returns:
        ``array('f')`` of ``n_rows × (18 or 30)``.

    The per-channel sums of integers are exact in double whatever the order,
    so they are computed with integer ``sum``; the magnitude sum ``Σm`` is not
    and is added in sample order.
    """
    out: List[float] = []
    stride = WINDOW * CHANNELS
    for r in range(n_rows):
        w = windows[r * stride : (r + 1) * stride]
        cols = [w[c::CHANNELS] for c in range(CHANNELS)]
        means, stds, absmaxes, absmeans = [], [], [], []
        for col in cols:
            s = sum(col)
            s2 = sum(v * v for v in col)
            mean = s / WINDOW
            var = s2 / WINDOW - mean * mean
            means.append(mean)
            stds.append(_sqrt(var) if var > 0.0 else 0.0)
            absmaxes.append(max(0, max(col), -min(col)))
            if rich:
                absmeans.append(sum(map(abs, col)) / WINDOW)
        out += means
        out += stds
        out += absmaxes
        if rich:
            out += absmeans
            for x, y, z in ((cols[0], cols[1], cols[2]), (cols[3], cols[4], cols[5])):
                m2 = [a * a + b * b + c * c for a, b, c in zip(x, y, z)]
                m = [_sqrt(v) for v in m2]
                mean_m = ordered_sum(m) / WINDOW
                var_m = sum(m2) / WINDOW - mean_m * mean_m
                out += (mean_m, _sqrt(var_m) if var_m > 0.0 else 0.0, max(m))
    return array("f", out)


# --- standard scaler (SPEC §6) ---------------------------------------------


def scaler_fit(X: Sequence[float], n_rows: int, nf: int) -> Tuple[array, array]:
    """Per-feature ``(mean, scale)`` as float32 over the rows in order.

    ``m = s/n``, ``var = s2/n - m*m`` clamped at 0; ``scale = f32(sqrt(var) or 1)``.
    """
    means, scales = [], []
    for j in range(nf):
        col = X[j : n_rows * nf : nf]
        s = ordered_sum(col)
        s2 = ordered_sum(map(mul, col, col))
        m = s / n_rows
        var = s2 / n_rows - m * m
        root = _sqrt(var) if var > 0.0 else 0.0
        means.append(m)
        scales.append(root if root else 1.0)
    return array("f", means), array("f", scales)


def _ieee_div(a: float, b: float) -> float:
    """``a / b`` with IEEE semantics, as JavaScript divides: ``x / ±0`` is ±inf, ``0 / 0`` NaN."""
    if b:
        return a / b
    if a != a or a == 0.0:
        return math.nan
    return math.copysign(math.inf, a) * math.copysign(1.0, b)


def scaler_transform(X: Sequence[float], n_rows: int, nf: int, mean: Sequence[float], scale: Sequence[float]) -> array:
    """``f32((v - mean[j]) / scale[j])`` for every element, shape ``n_rows × nf``.

    A scale is never 0 unless a non-zero spread rounded to 0 in float32
    (subnormal features); the division then gives ±inf/NaN as in the browser.
    """
    out = array("f", bytes(4 * n_rows * nf))
    for j in range(nf):
        m, s = mean[j], scale[j]
        col = X[j : n_rows * nf : nf]
        out[j : n_rows * nf : nf] = array("f", [(v - m) / s for v in col] if s else [_ieee_div(v - m, s) for v in col])
    return out


# --- dataset scan (SPEC §4 steps 5–6) --------------------------------------


def shuffled(items: Sequence[int], seed: int) -> List[int]:
    """A copy of ``items`` shuffled by a fresh ``XorShift32(seed)`` (Fisher–Yates, SPEC §3)."""
    out = list(items)
    XorShift32(seed).shuffle(out)
    return out


def negative_candidates(blocked: Sequence[int], n: int) -> List[int]:
    """Every ``end`` in ``WINDOW..n-1`` whose window ``[end-WINDOW, end)`` holds no blocked sample.

    ``blocked[i]`` is non-zero for avoided samples and samples with the trigger held.
    """
    out: List[int] = []
    run = sum(1 for b in blocked[:WINDOW] if b)  # blocked samples inside the current window
    for end in range(WINDOW, n):
        if run == 0:
            out.append(end)
        if blocked[end]:
            run += 1
        if blocked[end - WINDOW]:
            run -= 1
    return out


def select_separated(order: Sequence[int], times: Sequence[int], target: int, min_sep: float) -> List[int]:
    """Walk ``order`` and keep an item unless its time is within ``min_sep`` (strictly) of a kept one.

    Stops once ``target`` items are kept. Kept times are filed in buckets
    ``floor(t / min_sep)``: a kept time closer than ``min_sep`` to ``t`` can only
    sit in a neighbouring bucket (±2 covers any division rounding), so each
    candidate costs O(1) and the choices equal comparing with every kept item.
    """
    chosen: List[int] = []
    buckets: Dict[int, List[float]] = {}
    for idx in order:
        if len(chosen) >= target:
            break
        t = times[idx]
        if min_sep > 0:
            b = math.floor(t / min_sep)
            near = (buckets.get(k, ()) for k in range(b - 2, b + 3))
            if any(abs(c - t) < min_sep for bucket in near for c in bucket):
                continue
            buckets.setdefault(b, []).append(t)
        chosen.append(idx)
    return chosen


# --- logistic regression (SPEC §7) -----------------------------------------


def logreg_fit(
    X: Sequence[float], y: Sequence[int], n_rows: int, nf: int, max_iter: int, lr: float, l2: float,
    record_every: int = 100,
) -> Tuple[array, float, List[Dict[str, float]]]:
    """Batch gradient descent with L2; returns ``(coef f32[nf], intercept, loss history)``.

    One pass over the rows per iteration, as SPEC §7 writes it: each row's logit
    ``intercept + x[0]*c[0] + x[1]*c[1] + ...`` (all rows' at once, by :func:`_layer`'s
    straight-line sums: the coefficients do not change within an iteration), then its terms of
    the gradient sums (``g`` is an ``array('f')``: storing is f32; :data:`_BUILD_ROWS`).
    """
    rows = [list(X[r * nf : (r + 1) * nf]) for r in range(n_rows)]
    yf = [float(v) for v in y]
    cols = range(nf)
    coef = array("f", bytes(4 * nf))
    intercept = 0.0
    history: List[Dict[str, float]] = []
    logits, f32 = _layer(nf).sums, _f32(nf)
    for it in range(max_iter):
        record = it % record_every == 0 or it == max_iter - 1
        c = coef.tolist()
        g = array("f", bytes(4 * nf))
        gi = 0.0
        ps = []
        for x, t, z in zip(rows, yf, logits([x + [intercept] for x in rows], c)):
            p = sigmoid(z)
            e = p - t
            if _BUILD_ROWS:
                g = array("f", f32(*[a + e * b for a, b in zip(g, x)]))
            else:
                for j in cols:
                    g[j] = g[j] + e * x[j]
            gi += e
            if record:
                ps.append(p)
        if record:
            history.append({"iter": it, "loss": ordered_sum(map(clamped_bce, ps, yf)) / n_rows})
        gi /= n_rows
        step = lr / (1 + it * 0.001)
        for j in cols:
            g[j] = g[j] / n_rows + l2 * c[j]
            coef[j] = c[j] - step * g[j]
        intercept -= step * gi
    return coef, intercept, history


def logreg_predict(X: Sequence[float], n_rows: int, nf: int, coef: Sequence[float], intercept: float) -> List[float]:
    """``sigmoid(intercept + Σ_j x[j]*coef[j])`` per row, summed in j order."""
    zs = [intercept] * n_rows
    for j in range(nf):
        c = coef[j]
        zs = [z + xj * c for z, xj in zip(zs, X[j : n_rows * nf : nf])]
    return [sigmoid(z) for z in zs]


# --- MLP 30→64→32→1 (SPEC §8) ----------------------------------------------

BETA1, BETA2, EPS = 0.9, 0.999, 1e-8
LOSS_EVERY = 16
_ONE = array("f", [1.0])

# While training, each layer is kept as rows with the bias appended,
# ``Wb[j] = W[j] + [b[j]]``. With the layer's input extended by a 1.0, SPEC's
# bias update ``gb[j] = f32(gb[j] + dh[j])`` is the last element of
# ``gWb[j] = f32(gWb[j] + dh[j] * [x, 1.0])`` (``dh * 1.0 == dh``), and Adam,
# being element-wise, updates a layer's weights and bias in one pass.


def _bias_rows(W: Sequence[float], b: Sequence[float], n_in: int) -> List[array]:
    """The rows ``W[j] + [b[j]]`` of a flat row-major ``len(b) × n_in`` layer."""
    return [array("f", W[j * n_in : (j + 1) * n_in]) + array("f", [b[j]]) for j in range(len(b))]


class _Net(NamedTuple):
    """The weights as one forward/backward pass reads them (rebuilt once per iteration), as lists
    of floats (reading a list makes no new float objects; reading an ``array`` does)."""

    W1b: List[List[float]]  # 64 rows: W1[j] (n_in) and b1[j] last
    W2b: List[List[float]]  # 32 rows: W2[j] (64) and b2[j] last
    W2T: List[Tuple[float, ...]]  # 64 columns of W2 and a 0.0: W2T[k][j] = W2[j][k], W2T[k][32] = 0.0
    W3: List[float]  # 32
    b3: float


def _net(W1b: List[array], W2b: List[array], W3: array, b3: float, n_in: int) -> _Net:
    W2rows = [r.tolist() for r in W2b]
    W2T = [column + (0.0,) for column in list(zip(*W2rows))[:H1]]
    return _Net([r.tolist() for r in W1b], W2rows, W2T, W3.tolist(), b3)


class _Layer(NamedTuple):
    """A layer's loops over its ``n`` inputs, as straight-line code (:func:`_layer`).

    ``sums(Wb, x)``: for every row ``w`` of ``Wb`` (``n`` weights and a start
    value last, the bias), ``w[n] + w[0]*x[0] + w[1]*x[1] + ...``: a double
    added left to right. ``accumulate(G, d, x1)``: ``G[j][k] = f32(G[j][k] +
    d[j] * x1[k])`` for every row with ``d[j] != 0`` (``x1``: the input with 1.0
    appended, the bias column), in place or as a new row ``G[j]`` (:data:`_BUILD_ROWS`).

    Written out term by term with the input unpacked into local names, these
    are a loop over ``k``'s operations in the same order, without the loop's
    overhead: CPython runs them ~1.7× faster than the loop (PyPy's JIT a little
    faster too), so fast that adding all of a layer's products costs less than
    a loop over the non-zero ones.
    """

    sums: Callable[[Sequence[Sequence[float]], Sequence[float]], List[float]]
    accumulate: Callable[[List[array], Sequence[float], Sequence[float]], None]


_BUILD_ROWS = sys.implementation.name != "pypy"
"""How the MLP's gradient sums store a row's new values ``f32(g[k] + d * x[k])``. Each element of a
row is updated once per training row, so rounding the row's doubles to f32 all at once gives the same
values as storing each element. True (CPython): the row is read into doubles, updated, and built as one
new ``array('f')`` from ``struct``'s float32 bytes (:func:`_f32`), and Adam updates a row in
straight-line code (:func:`_adam_row`): together ~15 % less CPU for tiny's fit. False (PyPy): each
element is stored into the ``array('f')`` in place, as the loops write it, which PyPy's JIT compiles
(building rows made PyPy's fit about twice as slow)."""


@lru_cache(maxsize=None)
def _f32(n: int) -> Callable[..., bytes]:
    """``pack(v0, ..., v{n-1})``: ``n`` doubles as native float32 bytes, for ``array('f', pack(...))``.

    ``struct``'s native ``f`` rounds each value by the C cast ``(float)``, exactly as a store into an
    ``array('f')`` does (nearest even, ±inf past the float32 range, NaN kept); CPython's ``array``
    store also parses each value with ``PyArg_Parse``, most of its cost.
    """
    return Struct(f"{n}f").pack


_CHUNK = 50  # terms per statement: one long expression nests too deep for CPython's compiler


@lru_cache(maxsize=None)
def _layer(n: int) -> _Layer:
    """:class:`_Layer` for ``n`` inputs, compiled once per width."""
    w = [f"w{k}" for k in range(n + 1)]
    x = [f"x{k}" for k in range(n + 1)]
    g = [f"g{k}" for k in range(n + 1)]
    terms = [f"w{k} * x{k}" for k in range(n)]
    chunks = [" + ".join(["s"] + terms[i : i + _CHUNK]) for i in range(0, n, _CHUNK)]
    src = "\n".join([
        "def sums(W, x):",
        f"    {', '.join(x[:n])}, = x",
        "    out = []",
        f"    for {', '.join(w)} in W:",
        f"        s = w{n}",
        *(f"        s = {c}" for c in chunks),
        "        out.append(s)",
        "    return out",
        "def accumulate(G, D, x):",
        f"    {', '.join(x)}, = x",
        "    for j, d in enumerate(D):",
        "        if d:",
        *([f"            {', '.join(g)}, = G[j]",
           f"            G[j] = array('f', f32({', '.join(f'g{k} + d * x{k}' for k in range(n + 1))}))"] if _BUILD_ROWS else
          ["            g = G[j]",
           *(f"            g[{k}] = g[{k}] + d * x{k}" for k in range(n + 1))]),
    ])
    scope: Dict[str, Callable] = {"array": array, "f32": _f32(n + 1)}
    exec(compile(src, f"<stingerml layer of {n} inputs>", "exec"), scope)
    return _Layer(scope["sums"], scope["accumulate"])


def _forward(x: Sequence[float], net: _Net) -> Tuple[array, array, float]:
    """``(h1, h2, z)`` for one input: f32 ReLU layers, double output logit.

    Each unit's sum starts at its bias (a row's last element) and adds the
    products in input order; building the ``array('f')`` is SPEC's f32.
    """
    h1 = array("f", [a if a > 0.0 else 0.0 for a in _layer(len(x)).sums(net.W1b, x)])
    h2 = array("f", [a if a > 0.0 else 0.0 for a in _layer(H1).sums(net.W2b, h1.tolist())])
    z = net.b3
    W3 = net.W3
    for k, h in enumerate(h2):
        if h:
            z += W3[k] * h
    return h1, h2, z


class _RowPass(NamedTuple):
    """One row's forward and backward pass: what the gradient sums need from it."""

    x1: Optional[array]  # the input with 1.0 appended (n_in + 1)
    h1: Optional[array]  # f32, 64
    h2: Optional[array]  # f32, 32
    dz: float  # sigmoid(z) - y
    dh2: Optional[array]  # f32, 32
    dh1: Optional[array]  # f32, 64


def _row_pass(x: array, x1: array, target: float, net: _Net) -> _RowPass:
    """Forward and backward for one row (SPEC §8's per-row bullets, before the gradient sums).

    ``dh1[j]`` is only summed for units with ``h1[j] > 0``: for the others SPEC's
    ``f32(sum * 0)`` is a zero, which the gradient sums skip; and only when some
    ``dh2[k]`` is not zero.
    """
    h1, h2, z = _forward(x.tolist(), net)
    dz = sigmoid(z) - target
    dh2 = array("f", [dz * w * (1 if h > 0.0 else 0) for w, h in zip(net.W3, h2)])
    dh1 = array("f", bytes(4 * H1))
    ds = dh2.tolist()
    if any(ds):
        W2T = net.W2T
        active = [j for j, h in enumerate(h1) if h]
        for j, acc in zip(active, _layer(H2).sums([W2T[j] for j in active], ds)):
            dh1[j] = acc
    return _RowPass(x1, h1, h2, dz, dh2, dh1)


def _output_gradients(passes: Sequence[_RowPass], sums=None) -> Tuple[List[array], array, float]:
    """``(gW2b, gW3, gb3)`` summed over the rows in order, f32 after every row (``gb3`` double).

    ``sums`` continues earlier sums (the rows before these; ``gW2b``'s rows are replaced in its list,
    :data:`_BUILD_ROWS`); None starts from zeros.
    """
    if sums is None:
        sums = [array("f", bytes(4 * (H1 + 1))) for _ in range(H2)], array("f", bytes(4 * H2)), 0.0
    gW2b, gW3, gb3 = sums
    every = range(H1 + 1)
    f32_h1b, f32_h2 = _f32(H1 + 1), _f32(H2)
    for p in passes:
        dz = p.dz
        g3 = gW3.tolist() if _BUILD_ROWS else gW3
        for k, h in enumerate(p.h2):
            g3[k] = g3[k] + dz * h
        if _BUILD_ROWS:
            gW3 = array("f", f32_h2(*g3))
        gb3 += dz
        h1b = p.h1.tolist() + [1.0]
        active = [k for k in every if h1b[k]]  # and the bias column
        for j, d in enumerate(p.dh2):
            if d:
                g = gW2b[j].tolist() if _BUILD_ROWS else gW2b[j]
                for k in active if d - d == 0.0 else every:  # an infinite d times 0 is no zero
                    g[k] = g[k] + d * h1b[k]
                if _BUILD_ROWS:
                    gW2b[j] = array("f", f32_h1b(*g))
    return gW2b, gW3, gb3


def _input_gradients(passes: Sequence[_RowPass], n_in: int) -> List[array]:
    """``gW1b`` summed over the rows in order, f32 after every row."""
    gW1b = [array("f", bytes(4 * (n_in + 1))) for _ in range(H1)]
    accumulate = _layer(n_in).accumulate
    for p in passes:
        accumulate(gW1b, p.dh1, p.x1)
    return gW1b


@lru_cache(maxsize=None)
def _adam_row(n: int, n_w: int) -> Callable[..., Tuple[array, array, array]]:
    """:meth:`_Adam.step`'s loops over one row of ``n`` parameters (the first ``n_w`` weights) as
    straight-line code, for CPython (:data:`_BUILD_ROWS`): ``adam_row(w, G, m, v, ...)`` returns the
    new ``(w, m, v)``, each built as one ``array('f')`` after the whole row's values are computed, in
    the loops' order: every ``g``, then every ``m`` and ``v``, then every ``w`` (each stage reads the
    previous one's f32 values, as the loops read them back from their arrays)."""
    def names(prefix: str) -> str:
        return ", ".join(f"{prefix}{k}" for k in range(n)) + ","

    def f32(terms) -> str:
        return f"array('f', f32({', '.join(terms)}))"

    src = "\n".join([
        "def adam_row(w, G, m, v, inv, alpha, b1, c1, b2, c2, lr, bc1, bc2, eps, sqrt):",
        f"    {names('W')} = w",
        f"    {names('G')} = G",
        f"    {names('M')} = m",
        f"    {names('V')} = v",
        f"    {names('g')} = " + f32(f"G{k} * inv + alpha * W{k}" if k < n_w else f"G{k} * inv" for k in range(n)),
        "    m = " + f32(f"b1 * M{k} + c1 * g{k}" for k in range(n)),
        "    v = " + f32(f"b2 * V{k} + c2 * g{k} * g{k}" for k in range(n)),
        f"    {names('m')} = m",
        f"    {names('v')} = v",
        "    return " + f32(f"W{k} - lr * (m{k} / bc1) / (sqrt(v{k} / bc2) + eps)" for k in range(n)) + ", m, v",
    ])
    scope: Dict[str, Callable] = {"array": array, "f32": _f32(n)}
    exec(compile(src, f"<stingerml Adam of {n} parameters>", "exec"), scope)
    return scope["adam_row"]


class _Adam:
    """Adam state (f32 ``m``, ``v``) for a list of parameter rows; SPEC §8's element-wise update."""

    def __init__(self, widths: Sequence[int], learning_rate: float) -> None:
        self.m = [array("f", bytes(4 * w)) for w in widths]
        self.v = [array("f", bytes(4 * w)) for w in widths]
        self.lr = learning_rate

    def step(self, rows: List[array], grads: List[array], n_w: int, inv: float, alpha: float,
             bc1: float, bc2: float) -> None:
        """Update ``rows`` in place from the gradient sums ``grads`` (which may be overwritten by the mean
        gradients); on CPython one row at a time by :func:`_adam_row`.

        Each row's first ``n_w`` columns are weights, ``g = f32(G*inv + alpha*w)``; the
        rest biases, ``g = f32(G*inv)``. ``bc1 = 1 - β1**t``, ``bc2 = 1 - β2**t``.
        """
        b1, b2, eps, sqrt = BETA1, BETA2, EPS, _sqrt  # local names: CPython's loop reads them faster
        c1, c2, lr = 1 - b1, 1 - b2, self.lr
        if _BUILD_ROWS:
            ms, vs = self.m, self.v
            for i, (w, G) in enumerate(zip(rows, grads)):
                w[:], ms[i], vs[i] = _adam_row(len(w), n_w)(w, G, ms[i], vs[i], inv, alpha, b1, c1, b2, c2, lr,
                                                             bc1, bc2, eps, sqrt)
            return
        for w, G, m, v in zip(rows, grads, self.m, self.v):
            n = len(w)
            for k in range(n_w):
                G[k] = G[k] * inv + alpha * w[k]
            for k in range(n_w, n):
                G[k] = G[k] * inv
            for k in range(n):
                g = G[k]
                m[k] = b1 * m[k] + c1 * g
                v[k] = b2 * v[k] + c2 * g * g
                w[k] = w[k] - lr * (m[k] / bc1) / (sqrt(v[k] / bc2) + eps)


def bias_corrections(t: int) -> Tuple[float, float]:
    """Adam's ``(1 - β1**t, 1 - β2**t)`` at iteration ``t``, the powers as V8's ``Math.pow``
    (:func:`stingerml.core.jsmath.pow`; the C library's differ in the last bit for some ``t``)."""
    return 1 - jsmath.pow(BETA1, t), 1 - jsmath.pow(BETA2, t)


def mlp_init(seed: int, n_in: int) -> Tuple[XorShift32, array, array, array]:
    """The rng after init and ``W1 (64×n_in), W2 (32×64), W3 (32)``: ``f32(gaussian() * sqrt(2/fan_in))``."""
    rng = XorShift32(seed)
    mats = []
    for n_out, fan_in in ((H1, n_in), (H2, H1), (1, H2)):
        k = _sqrt(2.0 / fan_in)
        mats.append(array("f", [rng.gaussian() * k for _ in range(n_out * fan_in)]))
    return rng, mats[0], mats[1], mats[2]


def mlp_fit(
    X: Sequence[float], y: Sequence[int], n_rows: int, n_in: int, max_iter: int, alpha: float,
    learning_rate: float, seed: int, noise_std: float, record_loss: bool,
    progress=None, loss_every: int = LOSS_EVERY,
) -> Tuple[array, array, array, array, array, float, List[Dict[str, float]]]:
    """Full-batch Adam training; returns ``(W1, b1, W2, b2, W3, b3, loss history)``.

    ``W1`` is 64×n_in, ``W2`` 32×64 (flat row-major ``[out][in]``), ``b3`` a double.
    ``progress(t, max_iter)`` is called after each iteration when given. With
    ``record_loss`` the mean BCE is recorded every ``loss_every`` iterations and at the last.

    When two CPUs are free and the job is big enough (:mod:`.peer`), a second
    process shares the work (:func:`mlp_fit_share`); every sum still runs in
    SPEC order, so the result is the same to the bit.
    """
    link = peer.start(X, y, n_rows, n_in, max_iter, alpha, learning_rate, seed, noise_std, record_loss, loss_every)
    if link is None:
        return mlp_fit_share(X, y, n_rows, n_in, max_iter, alpha, learning_rate, seed, noise_std, record_loss,
                             progress, loss_every=loss_every)
    with link:
        return mlp_fit_share(X, y, n_rows, n_in, max_iter, alpha, learning_rate, seed, noise_std, record_loss,
                             progress, link, loss_every)


def mlp_fit_share(
    X: Sequence[float], y: Sequence[int], n_rows: int, n_in: int, max_iter: int, alpha: float,
    learning_rate: float, seed: int, noise_std: float, record_loss: bool, progress=None,
    link: Optional["peer.Link"] = None, loss_every: int = LOSS_EVERY,
) -> Tuple[array, array, array, array, array, float, List[Dict[str, float]]]:
    """:func:`mlp_fit` in this process alone, or this process's share of it when ``link`` is given.

    Alone, the process passes every row and owns every layer. With a link (a
    :class:`.peer.Link`; the helper process, :mod:`.helper`, gets its own), it
    passes the rows ``link.rows`` only and owns either the input layer (W1, b1)
    or the output side (W2, b2, W3, b3): it sums that part's gradients over all
    rows (the other process's passes arrive through the link) and updates it;
    then the two swap the updated weights. Both processes run the same rng.
    (Not one of the seam's names: the numba backend never splits.)
    """
    rng, W1f, W2f, W3 = mlp_init(seed, n_in)
    W1b, W2b = _bias_rows(W1f, [0.0] * H1, n_in), _bias_rows(W2f, [0.0] * H2, H1)
    b3 = 0.0
    data = [array("f", X[r * n_in : (r + 1) * n_in]) for r in range(n_rows)]
    data1 = [row + _ONE for row in data]
    yf = [float(v) for v in y]
    noisy = noise_std != 0.0
    inputs = link is None or link.owns_inputs
    outputs = link is None or not link.owns_inputs
    adam1 = _Adam([n_in + 1] * H1, learning_rate)
    adam2 = _Adam([H1 + 1] * H2, learning_rate)
    adam3 = _Adam([H2], learning_rate)
    mb3 = vb3 = 0.0
    inv = 1.0 / n_rows
    history: List[Dict[str, float]] = []
    net = _net(W1b, W2b, W3, b3, n_in)
    for it in range(max_iter):
        t = it + 1
        lo, hi = link.rows if link else (0, n_rows)
        if noisy:
            rng.skip(2 * lo * n_in)  # the other process's rows: two uniforms per gaussian
            xs = [array("f", [v + noise_std * g for v, g in zip(data[r], rng.gaussians(n_in))]) for r in range(lo, hi)]
            rng.skip(2 * (n_rows - hi) * n_in)
            passes = [_row_pass(x, x + _ONE, yf[r], net) for r, x in zip(range(lo, hi), xs)]
        else:
            passes = [_row_pass(data[r], data1[r], yf[r], net) for r in range(lo, hi)]
        if link:  # the main process has the first rows, the helper the last
            link.send_passes(passes, noisy)
        bc1, bc2 = bias_corrections(t)
        if outputs:
            sums = _output_gradients(passes)
            if link:
                sums = _output_gradients(link.receive_passes(data1, noisy, _RowPass), sums)
            gW2b, gW3, gb3 = sums
            adam2.step(W2b, gW2b, H1, inv, alpha, bc1, bc2)
            adam3.step([W3], [gW3], H2, inv, alpha, bc1, bc2)
            gb3 = gb3 * inv
            mb3 = BETA1 * mb3 + (1 - BETA1) * gb3
            vb3 = BETA2 * vb3 + (1 - BETA2) * gb3 * gb3
            b3 = b3 - learning_rate * (mb3 / bc1) / (_sqrt(vb3 / bc2) + EPS)
        if inputs:
            if link:
                passes = link.receive_passes(data1, noisy, _RowPass) + passes
            adam1.step(W1b, _input_gradients(passes, n_in), n_in, inv, alpha, bc1, bc2)
        if link:
            W1b, W2b, W3, b3 = link.share_weights(W1b, W2b, W3, b3)
        net = _net(W1b, W2b, W3, b3, n_in)  # for the loss now and the next iteration's passes
        if record_loss and (t % loss_every == 0 or t == max_iter):
            probs = [sigmoid(_forward(data[r], net)[2]) for r in range(lo, hi)]
            if link:
                probs = link.share_probs(probs)
            if probs is not None:
                history.append({"iter": t, "loss": mean_bce(probs, yf)})
        if progress is not None:
            progress(t, max_iter)
    W1 = array("f")
    for r in W1b:
        W1 += r[:n_in]
    W2 = array("f")
    for r in W2b:
        W2 += r[:H1]
    return W1, array("f", [r[n_in] for r in W1b]), W2, array("f", [r[H1] for r in W2b]), W3, b3, history


def mlp_predict(X: Sequence[float], n_rows: int, n_in: int, W1, b1, W2, b2, W3, b3: float) -> List[float]:
    """Sigmoid outputs of the MLP for ``n_rows`` inputs (f32 hidden layers, double logit)."""
    net = _net(_bias_rows(W1, b1, n_in), _bias_rows(W2, b2, H1), array("f", W3), b3, n_in)
    return [sigmoid(_forward(X[r * n_in : (r + 1) * n_in], net)[2]) for r in range(n_rows)]


def logreg_predict_unscaled(
    F: Sequence[float], n_rows: int, nf: int, mean: Sequence[float], scale: Sequence[float],
    coef: Sequence[float], intercept: float,
) -> List[float]:
    """LR on raw features with the scaling folded in, all in double (the browser's trace scoring):
    ``sigmoid(intercept + Σ_j ((f[j] - mean[j]) / scale[j]) * coef[j])``."""
    zs = [intercept] * n_rows
    for j in range(nf):
        m, s, c = mean[j], scale[j], coef[j]
        zs = [z + ((f - m) / s) * c for z, f in zip(zs, F[j : n_rows * nf : nf])]
    return [sigmoid(z) for z in zs]
