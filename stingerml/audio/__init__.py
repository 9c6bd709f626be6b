"""Audio features from WAV files in pure Python, equal to librosa's (docs/audio-control.md).

- :mod:`.wav`: read WAV (PCM 8/16/24/32-bit, float 32/64-bit) to mono float64;
- :mod:`.plan`: window, FFT tables, mel filter bank of one FFT size;
- :mod:`.features`: the six per-frame features (hot loops in ``kernels("audio")``);
- :mod:`.frames`: deltas, normalisation, windows of frames;
- :mod:`.pipeline`: a file to training rows (:func:`featurise`, :class:`AudioSettings`).
"""
from __future__ import annotations

from .features import FEATURES, FrameFeatures, frame_features, n_frames
from .frames import NORMALISE, deltas, normalise, window_names, windows
from .pipeline import AudioRows, AudioSettings, featurise
from .wav import SUPPORTED, WavInfo, WavReader, open_wav, read_wav

__all__ = [
    "AudioRows", "AudioSettings", "FEATURES", "FrameFeatures", "NORMALISE", "SUPPORTED", "WavInfo", "WavReader",
    "deltas", "featurise", "frame_features", "n_frames", "normalise", "open_wav", "read_wav", "window_names",
    "windows",
]
