"""The audio features' hot loops in pure Python: the reference for ``audio_jit``.

Numbers (shared with the numba twin, which does the same float64 operations in
the same order, so results are equal to the bit):

- ``decode_pcm``: little-endian PCM bytes → mono float64 samples. Integers are
  scaled as librosa does (``v / 2**(bits-1)``; 8-bit WAV is unsigned,
  ``(v - 128) / 128``), floats are taken as they are; the channels of a sample
  are added in channel order, then divided by the channel count.
- ``frame_spectra``: per frame ``t`` of a chunk, the samples
  ``chunk[t·hop : t·hop + n_fft]`` times the window, a real FFT (:func:`rfft`,
  the plan's tables), then from the magnitudes ``|X[k]| = sqrt(re² + im²)``
  (bins ``k = 0..n_fft//2``): the spectral centroid ``Σ f_k|X_k| / Σ|X_k|``
  (0 when ``Σ|X_k|`` is below the smallest normal double), the roll-off (the
  first ``f_k`` whose running sum ``|X_0| + ... + |X_k|`` is at least
  ``roll_percent`` of the total), the flux ``sqrt(Σ (|X_k| - |X'_k|)²)``
  against the previous frame ``X'`` (0 for the first frame of the signal) and
  the mel powers ``Σ_k w_mk·|X_k|²`` over each filter's non-zero bins in
  order. All sums run in bin order from 0.0.
- ``frame_rms``: ``sqrt(Σ x² / frame_length)`` over each frame (no window).
- ``frame_zcr``: the share of the frame's samples whose sign bit differs from
  the previous sample's (the frame's first sample never counts); a sample with
  ``|x| <= 1e-10`` counts as +0, so the sign bit is ``x < -1e-10``. Samples before ``lo`` read as ``chunk[lo]``
  and from ``hi`` on as ``chunk[hi - 1]`` (librosa pads with the edge values).
- ``mel_db``: ``10·log(max(1e-10, p)) / ln 10`` with fdlibm's ``log``
  (:mod:`stingerml.core.jsmath`); ``onset_strength``: per frame the mean over mel
  bands of ``max(0, D[t - pad + lag] - D[t - pad])`` with ``D`` the dB values
  floored at ``floor`` (0 for the first ``pad`` frames).

The FFT: for a power of two ``n >= 2`` the even/odd samples are packed into
``n/2`` complex values, transformed in place by an iterative radix-2
decimation-in-time FFT (bit-reversed order, butterflies with the plan's
twiddles ``exp(-2πij/(n/2))``), then split into the ``n/2 + 1`` bins of the
real signal with ``exp(-2πik/n)``. Any other ``n``: the direct sum
``X_k = Σ_j x_j·exp(-2πi·(jk mod n)/n)`` (O(n²), slow; use a power of two).
"""
from __future__ import annotations

import math
import sys
from array import array
from typing import Sequence

from ..core.jsmath import log as _log

__all__ = [  # the seam: the numba twin (audio_jit.py) defines every one of these names
    "decode_pcm", "frame_rms", "frame_spectra", "frame_zcr", "mel_db", "onset_strength", "rfft",
]

TINY = 2.2250738585072014e-308  # the smallest normal double (numpy's finfo.tiny)
ZC_THRESHOLD = 1e-10  # librosa.zero_crossings: |x| <= this is zero
AMIN = 1e-10  # librosa.power_to_db's floor
LN10 = math.log(10.0)

UNSIGNED, SIGNED, FLOAT = 0, 1, 2  # sample kinds of decode_pcm


def decode_pcm(raw: bytes, kind: int, width: int, channels: int, out: array, o0: int) -> None:
    """Mono float64 samples of ``raw`` (``len(raw) // (width·channels)`` frames) into ``out[o0:]``."""
    n = len(raw) // (width * channels)
    if kind == FLOAT:
        values = array("f" if width == 4 else "d")
        values.frombytes(raw[: n * width * channels])
        scale = 1.0
    elif width == 3:
        b = raw
        values = [int.from_bytes(b[i:i + 3], "little", signed=True) for i in range(0, n * 3 * channels, 3)]
        scale = 1.0 / (1 << 23)
    else:
        values = array({1: "B", 2: "h", 4: "i"}[width])
        values.frombytes(raw[: n * width * channels])
        scale = 1.0 / (1 << (8 * width - 1))
    if sys.byteorder == "big" and width > 1 and width != 3:
        values.byteswap()
    if kind == UNSIGNED:
        values = [v - 128 for v in values]
    j = 0
    for i in range(n):
        s = 0.0
        for _ in range(channels):
            s += values[j] * scale
            j += 1
        out[o0 + i] = s if channels == 1 else s / channels


def rfft(x: Sequence[float], n: int, bitrev: Sequence[int], tw_re: Sequence[float], tw_im: Sequence[float],
         rot_re: Sequence[float], rot_im: Sequence[float], re: array, im: array) -> None:
    """Real FFT of ``x[:n]`` into ``re``/``im`` (``n//2 + 1`` bins); tables from the plan (module docstring).

    Power of two: ``bitrev`` (``n/2`` entries), ``tw`` (``n/4`` twiddles, at least one),
    ``rot`` (``n/2 + 1``). Other ``n``: ``bitrev`` is empty and ``rot`` holds ``exp(-2πij/n)`` for ``j < n``.
    """
    half = n // 2
    if len(bitrev) == 0:
        for k in range(half + 1):
            sr = 0.0
            si = 0.0
            for j in range(n):
                m = (j * k) % n
                sr += x[j] * rot_re[m]
                si += x[j] * rot_im[m]
            re[k] = sr
            im[k] = si
        return
    zr = [0.0] * half
    zi = [0.0] * half
    for m in range(half):
        b = bitrev[m]
        zr[b] = x[2 * m]
        zi[b] = x[2 * m + 1]
    size = 2
    while size <= half:
        step = half // size
        h = size // 2
        for start in range(0, half, size):
            for j in range(h):
                wr = tw_re[j * step]
                wi = tw_im[j * step]
                a = start + j
                b = a + h
                tr = wr * zr[b] - wi * zi[b]
                ti = wr * zi[b] + wi * zr[b]
                zr[b] = zr[a] - tr
                zi[b] = zi[a] - ti
                zr[a] = zr[a] + tr
                zi[a] = zi[a] + ti
        size *= 2
    for k in range(half + 1):
        a = k % half
        c = (half - k) % half
        ar, ai = zr[a], zi[a]
        cr, ci = zr[c], -zi[c]
        er = (ar + cr) * 0.5
        ei = (ai + ci) * 0.5
        o_re = (ai - ci) * 0.5
        o_im = -(ar - cr) * 0.5
        wr = rot_re[k]
        wi = rot_im[k]
        re[k] = er + (wr * o_re - wi * o_im)
        im[k] = ei + (wr * o_im + wi * o_re)


def frame_spectra(chunk: Sequence[float], n_frames: int, hop: int, n_fft: int, window: Sequence[float],
                  bitrev: Sequence[int], tw_re: Sequence[float], tw_im: Sequence[float],
                  rot_re: Sequence[float], rot_im: Sequence[float], freqs: Sequence[float],
                  roll_percent: float, mel_lo: Sequence[int], mel_hi: Sequence[int], mel_off: Sequence[int],
                  mel_w: Sequence[float], prev: array, has_prev: bool,
                  centroid: array, rolloff: array, flux: array, mel: array, o0: int) -> None:
    """Spectral features of ``n_frames`` frames of ``chunk`` into ``centroid``/``rolloff``/``flux``
    at ``o0 + t`` and ``mel`` at ``(o0 + t)·n_mels + m``. ``prev`` holds the magnitudes of the
    frame before (valid when ``has_prev``) and is left holding the last frame's."""
    n_bins = n_fft // 2 + 1
    n_mels = len(mel_lo)
    frame = [0.0] * n_fft
    re = array("d", bytes(8 * n_bins))
    im = array("d", bytes(8 * n_bins))
    mag = [0.0] * n_bins
    pw = [0.0] * n_bins
    for t in range(n_frames):
        s0 = t * hop
        for j in range(n_fft):
            frame[j] = chunk[s0 + j] * window[j]
        rfft(frame, n_fft, bitrev, tw_re, tw_im, rot_re, rot_im, re, im)
        total = 0.0
        weighted = 0.0
        for k in range(n_bins):
            p = re[k] * re[k] + im[k] * im[k]
            pw[k] = p
            a = math.sqrt(p)
            mag[k] = a
            total += a
            weighted += freqs[k] * a
        o = o0 + t
        centroid[o] = weighted if total < TINY else weighted / total
        threshold = roll_percent * total
        cum = 0.0
        found = freqs[n_bins - 1]
        for k in range(n_bins):
            cum += mag[k]
            if not cum < threshold:
                found = freqs[k]
                break
        rolloff[o] = found
        d2 = 0.0
        if has_prev:
            for k in range(n_bins):
                d = mag[k] - prev[k]
                d2 += d * d
        flux[o] = math.sqrt(d2)
        for k in range(n_bins):
            prev[k] = mag[k]
        has_prev = True
        for m in range(n_mels):
            s = 0.0
            w0 = mel_off[m] - mel_lo[m]
            for k in range(mel_lo[m], mel_hi[m]):
                s += mel_w[w0 + k] * pw[k]
            mel[o * n_mels + m] = s


def frame_rms(chunk: Sequence[float], n_frames: int, hop: int, frame_length: int, out: array, o0: int) -> None:
    """Root mean square of each frame of ``chunk`` into ``out[o0 + t]``."""
    for t in range(n_frames):
        s0 = t * hop
        s = 0.0
        for j in range(s0, s0 + frame_length):
            s += chunk[j] * chunk[j]
        out[o0 + t] = math.sqrt(s / frame_length)


def frame_zcr(chunk: Sequence[float], n_frames: int, hop: int, frame_length: int, lo: int, hi: int,
              out: array, o0: int) -> None:
    """Zero-crossing rate of each frame of ``chunk`` into ``out[o0 + t]`` (edges: module docstring)."""
    for t in range(n_frames):
        s0 = t * hop
        count = 0
        before = False
        for j in range(s0, s0 + frame_length):
            v = chunk[lo] if j < lo else (chunk[hi - 1] if j >= hi else chunk[j])
            sign = v < -ZC_THRESHOLD
            if j > s0 and sign != before:
                count += 1
            before = sign
        out[o0 + t] = count / frame_length


def mel_db(mel: array, n: int) -> float:
    """``mel[:n]`` replaced by decibels (``10·log10(max(1e-10, p))``); returns their maximum."""
    top = -math.inf
    for i in range(n):
        p = mel[i]
        d = 10.0 * (_log(p if p > AMIN else AMIN) / LN10)
        mel[i] = d
        if d > top:
            top = d
    return top


def onset_strength(db: Sequence[float], n_frames: int, n_mels: int, floor: float, lag: int, pad: int,
                   out: array) -> None:
    """librosa's onset strength of the mel dB values ``db`` (``n_frames × n_mels``) into ``out[:n_frames]``."""
    for t in range(n_frames):
        if t < pad:
            out[t] = 0.0
            continue
        a0 = (t - pad + lag) * n_mels
        b0 = (t - pad) * n_mels
        s = 0.0
        for m in range(n_mels):
            a = db[a0 + m]
            b = db[b0 + m]
            a = a if a > floor else floor
            b = b if b > floor else floor
            d = a - b
            s += d if d > 0.0 else 0.0
        out[t] = s / n_mels
