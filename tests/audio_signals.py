"""Test helpers for the audio tests: generated signals and a WAV writer independent of stingerml.

The writer packs RIFF chunks with :mod:`struct` (every format stingerml reads,
including float and ``WAVE_FORMAT_EXTENSIBLE``); :func:`expected_mono` is what
a reader must return, computed with numpy from the same integers (librosa's
scaling ``v / 2**(bits-1)``, 8-bit unsigned, the mean of the channels).
"""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

_PCM, _FLOAT, _EXTENSIBLE = 1, 3, 0xFFFE
_GUID_TAIL = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"


def signal(kind: str, rate: int, n: int, seed: int = 0) -> np.ndarray:
    """A float64 test signal in [-1, 1] of ``n`` samples: sine, chirp, noise, silence, clipping, mix."""
    t = np.arange(n) / rate
    rng = np.random.default_rng(seed)
    if kind == "sine":
        return 0.5 * np.sin(2 * np.pi * 440.0 * t)
    if kind == "chirp":  # 100 Hz -> rate/3 over the signal
        f1 = rate / 3.0
        dur = max(n / rate, 1e-9)
        return 0.7 * np.sin(2 * np.pi * (100.0 * t + (f1 - 100.0) * t * t / (2 * dur)))
    if kind == "noise":
        return np.clip(0.3 * rng.standard_normal(n), -1.0, 1.0)
    if kind == "silence":
        return np.zeros(n)
    if kind == "clipping":
        return np.clip(3.0 * np.sin(2 * np.pi * 220.0 * t), -1.0, 1.0)
    if kind == "mix":  # a tone that steps down in level, with noise: onsets and level changes
        y = 0.5 * np.sin(2 * np.pi * 660.0 * t) + 0.05 * rng.standard_normal(n)
        y[n // 3: 2 * n // 3] *= 0.1
        return np.clip(y, -1.0, 1.0)
    raise ValueError(kind)


def to_ints(y: np.ndarray, bits: int) -> np.ndarray:
    """Integer samples of ``y`` for a ``bits``-bit PCM file (8-bit: unsigned, offset 128)."""
    top = 2 ** (bits - 1)
    v = np.clip(np.round(y * (top - 1)), -top, top - 1).astype(np.int64)
    return v + 128 if bits == 8 else v


def write_wav(path: Path, samples: np.ndarray, rate: int, bits: int, *, float_: bool = False,
              extensible: bool = False) -> Path:
    """Write ``samples`` (``n`` or ``n × channels``: integers as stored, or floats) as a WAV file."""
    data2 = samples.reshape(len(samples), -1)
    channels = data2.shape[1]
    flat = data2.reshape(-1)
    if float_:
        raw = flat.astype("<f4" if bits == 32 else "<f8").tobytes()
    elif bits == 24:
        raw = b"".join(int(v).to_bytes(3, "little", signed=True) for v in flat)
    else:
        raw = flat.astype({8: "<u1", 16: "<i2", 32: "<i4"}[bits]).tobytes()
    tag = _FLOAT if float_ else _PCM
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", _EXTENSIBLE if extensible else tag, channels, rate, rate * block, block, bits)
    if extensible:
        fmt += struct.pack("<HHI", 22, bits, 0) + struct.pack("<H", tag) + _GUID_TAIL
    elif float_:
        fmt += struct.pack("<H", 0)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(raw)) + raw
    if len(raw) & 1:
        body += b"\x00"
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


def expected_mono(samples: np.ndarray, bits: int, float_: bool = False) -> np.ndarray:
    """The mono float64 signal a reader must return for ``samples`` as written by :func:`write_wav`."""
    data2 = samples.reshape(len(samples), -1)
    if float_:
        x = data2.astype(np.float32 if bits == 32 else np.float64).astype(np.float64)
    elif bits == 8:
        x = (data2.astype(np.float64) - 128.0) / 128.0
    else:
        x = data2.astype(np.float64) / 2.0 ** (bits - 1)
    return np.mean(x, axis=1)


def librosa_features(y: np.ndarray, rate: int, n_fft: int, hop: int) -> dict:
    """The six features by librosa (the oracle); spectral flux from librosa's STFT magnitudes."""
    import librosa

    S = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop))
    flux = np.concatenate([[0.0], np.sqrt(np.sum(np.diff(S, axis=1) ** 2, axis=0))])
    return {
        "spectral_centroid": librosa.feature.spectral_centroid(y=y, sr=rate, n_fft=n_fft, hop_length=hop)[0],
        "spectral_flux": flux,
        "rms": librosa.feature.rms(y=y, frame_length=n_fft, hop_length=hop)[0],
        "zero_crossing_rate": librosa.feature.zero_crossing_rate(y, frame_length=n_fft, hop_length=hop)[0],
        "onset_strength": librosa.onset.onset_strength(y=y, sr=rate, n_fft=n_fft, hop_length=hop),
        "spectral_rolloff": librosa.feature.spectral_rolloff(y=y, sr=rate, n_fft=n_fft, hop_length=hop)[0],
    }
