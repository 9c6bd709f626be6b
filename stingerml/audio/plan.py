"""The tables one FFT size needs: Hann window, FFT twiddles, bin frequencies, mel filter bank.

Everything is computed once per ``(rate, n_fft)`` in Python (``math.cos``,
``math.sin``, ``math.log``, ``math.exp``) and passed to both kernel backends,
so the kernels see the same numbers. The definitions are librosa's:

- window: ``scipy.signal.get_window("hann", n_fft, fftbins=True)``, the
  periodic Hann window ``0.5 + 0.5·cos(-π + 2πj/n_fft)``;
- bin frequencies: ``numpy.fft.rfftfreq(n_fft, 1/rate)``, ``k · (1 / (n_fft · (1/rate)))``;
- mel filter bank: ``librosa.filters.mel(sr=rate, n_fft=n_fft)``: 128 Slaney
  mel bands from 0 Hz to ``rate/2``, triangles normalised to equal area
  (``norm="slaney"``), weights stored as float32 as librosa stores them.
"""
from __future__ import annotations

import math
from array import array
from dataclasses import dataclass
from functools import lru_cache
from typing import List, Tuple

N_MELS = 128  # librosa.feature.melspectrogram's default (onset strength's spectrum)

_F_SP = 200.0 / 3  # Slaney mel scale: linear part (Hz per mel)
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = math.log(6.4) / 27.0


def hz_to_mel(f: float) -> float:
    """librosa.hz_to_mel (Slaney): linear below 1 kHz, logarithmic above."""
    if f >= _MIN_LOG_HZ:
        return _MIN_LOG_MEL + math.log(f / _MIN_LOG_HZ) / _LOGSTEP
    return f / _F_SP


def mel_to_hz(m: float) -> float:
    """librosa.mel_to_hz (Slaney), the inverse of :func:`hz_to_mel`."""
    if m >= _MIN_LOG_MEL:
        return _MIN_LOG_HZ * math.exp(_LOGSTEP * (m - _MIN_LOG_MEL))
    return _F_SP * m


def _linspace(start: float, stop: float, num: int) -> List[float]:
    """numpy.linspace's values: ``i·step + start``, the last one ``stop``."""
    step = (stop - start) / (num - 1)
    values = [i * step + start for i in range(num)]
    values[-1] = stop
    return values


def _f32(values: List[float]) -> List[float]:
    return list(array("f", values))


@dataclass(frozen=True)
class Plan:
    """The tables of one ``(rate, n_fft)``; the fields are the arguments of ``frame_spectra``.

    ``bitrev``/``tw_*``/``rot_*``: the FFT's tables (power of two), or an empty
    ``bitrev`` and ``rot_*`` = ``exp(-2πij/n_fft)`` for the direct transform.
    ``mel_lo``/``mel_hi``: each band's first and past-last non-zero bin;
    ``mel_off``: where its weights start in ``mel_w``.
    """

    rate: int
    n_fft: int
    window: array
    bitrev: array
    tw_re: array
    tw_im: array
    rot_re: array
    rot_im: array
    freqs: array
    mel_lo: array
    mel_hi: array
    mel_off: array
    mel_w: array

    @property
    def n_bins(self) -> int:
        return self.n_fft // 2 + 1


def _fft_tables(n: int) -> Tuple[array, array, array, array, array]:
    if n >= 2 and n & (n - 1) == 0:
        half = n // 2
        bits = half.bit_length() - 1
        bitrev = array("q", [int(format(m, f"0{bits}b")[::-1], 2) if bits else 0 for m in range(half)])
        n_tw = max(half // 2, 1)
        tw = [2.0 * math.pi * j / half for j in range(n_tw)]
        rot = [2.0 * math.pi * k / n for k in range(half + 1)]
        return (bitrev, array("d", [math.cos(a) for a in tw]), array("d", [-math.sin(a) for a in tw]),
                array("d", [math.cos(a) for a in rot]), array("d", [-math.sin(a) for a in rot]))
    rot = [2.0 * math.pi * j / n for j in range(n)]
    return (array("q"), array("d"), array("d"),
            array("d", [math.cos(a) for a in rot]), array("d", [-math.sin(a) for a in rot]))


def _mel_bank(rate: int, n_fft: int, freqs: List[float]) -> Tuple[array, array, array, array]:
    mel_f = [mel_to_hz(m) for m in _linspace(hz_to_mel(0.0), hz_to_mel(rate / 2.0), N_MELS + 2)]
    lo, hi, off, weights = array("q"), array("q"), array("q"), array("d")
    for i in range(N_MELS):
        d0 = mel_f[i + 1] - mel_f[i]
        d1 = mel_f[i + 2] - mel_f[i + 1]
        enorm = 2.0 / (mel_f[i + 2] - mel_f[i])
        row = _f32([max(0.0, min(-(mel_f[i] - f) / d0, (mel_f[i + 2] - f) / d1)) for f in freqs])
        row = _f32([w * enorm for w in row])
        nonzero = [k for k, w in enumerate(row) if w != 0.0]
        first, last = (nonzero[0], nonzero[-1] + 1) if nonzero else (0, 0)
        lo.append(first)
        hi.append(last)
        off.append(len(weights))
        weights.extend(row[first:last])
    return lo, hi, off, weights


@lru_cache(maxsize=8)
def plan(rate: int, n_fft: int) -> Plan:
    """The tables for ``n_fft``-point frames of a ``rate`` Hz signal (cached)."""
    step = 2.0 * math.pi / n_fft
    window = array("d", [0.5 + 0.5 * math.cos(j * step - math.pi) for j in range(n_fft)])
    val = 1.0 / (n_fft * (1.0 / rate))
    freqs = [k * val for k in range(n_fft // 2 + 1)]
    bitrev, tw_re, tw_im, rot_re, rot_im = _fft_tables(n_fft)
    lo, hi, off, weights = _mel_bank(rate, n_fft, freqs)
    return Plan(rate, n_fft, window, bitrev, tw_re, tw_im, rot_re, rot_im, array("d", freqs), lo, hi, off, weights)
