"""The audio features' hot loops under numba: the twin of ``audio_pure``, equal to the bit.

The same float64 operations in the same order as the reference (its module
docstring states them); no fastmath, ``log`` is the fdlibm port of
``_jsmath_jit``. The wrappers view ``array('d')`` buffers without copying, so
outputs and ``prev`` are written in place as in the reference.
"""
from __future__ import annotations

from array import array
from typing import Sequence

import numpy as np

from .jsmath_jit import log as _log
from .audio_pure import AMIN, FLOAT, LN10, TINY, UNSIGNED, ZC_THRESHOLD
from .jit import _ieee
from .tabular_jit import _view


def _ints(values: Sequence[int]) -> np.ndarray:
    return np.asarray(values, dtype=np.int64) if len(values) else np.zeros(0, dtype=np.int64)


@_ieee
def _mix(values, n, channels, scale, offset, out, o0):
    j = 0
    for i in range(n):
        s = 0.0
        for _ in range(channels):
            s += (values[j] - offset) * scale
            j += 1
        out[o0 + i] = s if channels == 1 else s / channels


@_ieee
def _int24(b, n):
    v = np.empty(n, dtype=np.float64)
    for i in range(n):
        x = np.int64(b[3 * i]) | (np.int64(b[3 * i + 1]) << 8) | (np.int64(b[3 * i + 2]) << 16)
        if x >= 8388608:
            x -= 16777216
        v[i] = np.float64(x)
    return v


def decode_pcm(raw: bytes, kind: int, width: int, channels: int, out: array, o0: int) -> None:
    n = len(raw) // (width * channels)
    m = n * channels
    if width == 3:
        values = _int24(np.frombuffer(raw, dtype=np.uint8, count=3 * m), m)
        scale = 1.0 / (1 << 23)
    else:
        code = {1: "u1", 2: "i2", 4: "f4" if kind == FLOAT else "i4", 8: "f8"}[width]
        values = np.frombuffer(raw, dtype=np.dtype(code).newbyteorder("<"), count=m).astype(np.float64)
        scale = 1.0 if kind == FLOAT else 1.0 / (1 << (8 * width - 1))
    _mix(values, n, channels, scale, 128.0 if kind == UNSIGNED else 0.0, _view(out), o0)


@_ieee
def _rfft(x, n, bitrev, tw_re, tw_im, rot_re, rot_im, re, im, zr, zi):
    half = n // 2
    if bitrev.shape[0] == 0:
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
        ar = zr[a]
        ai = zi[a]
        cr = zr[c]
        ci = -zi[c]
        er = (ar + cr) * 0.5
        ei = (ai + ci) * 0.5
        o_re = (ai - ci) * 0.5
        o_im = -(ar - cr) * 0.5
        wr = rot_re[k]
        wi = rot_im[k]
        re[k] = er + (wr * o_re - wi * o_im)
        im[k] = ei + (wr * o_im + wi * o_re)


def rfft(x, n, bitrev, tw_re, tw_im, rot_re, rot_im, re, im) -> None:
    half = max(n // 2, 1)
    _rfft(_view(x), n, _ints(bitrev), _view(tw_re), _view(tw_im), _view(rot_re), _view(rot_im),
          _view(re), _view(im), np.zeros(half), np.zeros(half))


@_ieee
def _spectra(chunk, n_frames, hop, n_fft, window, bitrev, tw_re, tw_im, rot_re, rot_im, freqs, roll_percent,
             mel_lo, mel_hi, mel_off, mel_w, prev, has_prev, centroid, rolloff, flux, mel, o0):
    n_bins = n_fft // 2 + 1
    n_mels = mel_lo.shape[0]
    half = max(n_fft // 2, 1)
    frame = np.zeros(n_fft)
    re = np.zeros(n_bins)
    im = np.zeros(n_bins)
    zr = np.zeros(half)
    zi = np.zeros(half)
    mag = np.zeros(n_bins)
    pw = np.zeros(n_bins)
    for t in range(n_frames):
        s0 = t * hop
        for j in range(n_fft):
            frame[j] = chunk[s0 + j] * window[j]
        _rfft(frame, n_fft, bitrev, tw_re, tw_im, rot_re, rot_im, re, im, zr, zi)
        total = 0.0
        weighted = 0.0
        for k in range(n_bins):
            p = re[k] * re[k] + im[k] * im[k]
            pw[k] = p
            a = np.sqrt(p)
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
        flux[o] = np.sqrt(d2)
        for k in range(n_bins):
            prev[k] = mag[k]
        has_prev = True
        for m in range(n_mels):
            s = 0.0
            w0 = mel_off[m] - mel_lo[m]
            for k in range(mel_lo[m], mel_hi[m]):
                s += mel_w[w0 + k] * pw[k]
            mel[o * n_mels + m] = s


def frame_spectra(chunk, n_frames, hop, n_fft, window, bitrev, tw_re, tw_im, rot_re, rot_im, freqs,
                  roll_percent, mel_lo, mel_hi, mel_off, mel_w, prev, has_prev,
                  centroid, rolloff, flux, mel, o0) -> None:
    _spectra(_view(chunk), n_frames, hop, n_fft, _view(window), _ints(bitrev), _view(tw_re), _view(tw_im),
             _view(rot_re), _view(rot_im), _view(freqs), roll_percent, _ints(mel_lo), _ints(mel_hi),
             _ints(mel_off), _view(mel_w), _view(prev), bool(has_prev),
             _view(centroid), _view(rolloff), _view(flux), _view(mel), o0)


@_ieee
def _rms(chunk, n_frames, hop, frame_length, out, o0):
    for t in range(n_frames):
        s0 = t * hop
        s = 0.0
        for j in range(s0, s0 + frame_length):
            s += chunk[j] * chunk[j]
        out[o0 + t] = np.sqrt(s / frame_length)


def frame_rms(chunk, n_frames, hop, frame_length, out, o0) -> None:
    _rms(_view(chunk), n_frames, hop, frame_length, _view(out), o0)


@_ieee
def _zcr(chunk, n_frames, hop, frame_length, lo, hi, out, o0):
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


def frame_zcr(chunk, n_frames, hop, frame_length, lo, hi, out, o0) -> None:
    _zcr(_view(chunk), n_frames, hop, frame_length, lo, hi, _view(out), o0)


@_ieee
def _db(mel, n):
    top = -np.inf
    for i in range(n):
        p = mel[i]
        d = 10.0 * (_log(p if p > AMIN else AMIN) / LN10)
        mel[i] = d
        if d > top:
            top = d
    return top


def mel_db(mel: array, n: int) -> float:
    return float(_db(_view(mel), n))


@_ieee
def _onset(db, n_frames, n_mels, floor, lag, pad, out):
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


def onset_strength(db, n_frames, n_mels, floor, lag, pad, out) -> None:
    _onset(_view(db), n_frames, n_mels, floor, lag, pad, _view(out))

