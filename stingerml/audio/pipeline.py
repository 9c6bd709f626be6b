"""A WAV file to training rows in one call: features, deltas, normalisation, windows.

The seed's defaults (:class:`AudioSettings`): 48 kHz, hop 1,024, FFT 4,096,
windows of 10 frames: 6 features × 10 frames = 60 columns per row.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Tuple, Union

from ..core.errors import AudioError
from ..core.matrix import Matrix
from ..core.progress import ProgressCallback
from .features import check_settings, frame_features
from .frames import NORMALISE, deltas, normalise, window_names, windows
from .wav import WavInfo

PathLike = Union[str, Path]


@dataclass(frozen=True)
class AudioSettings:
    """``rate``: the sample rate every file must have (Hz; ``None``: each file's own);
    ``hop``, ``n_fft``: samples; ``frames``: frames per row; ``deltas``: 0, 1 (deltas)
    or 2 (deltas and delta-deltas); ``normalise``: one of :data:`~.frames.NORMALISE`."""

    rate: Optional[int] = 48000
    hop: int = 1024
    n_fft: int = 4096
    frames: int = 10
    deltas: int = 0
    normalise: str = "none"

    def check(self) -> None:
        """Raise :class:`AudioError` for a setting out of range (before any file is read)."""
        check_settings(self.n_fft, self.hop)
        if self.rate is not None and self.rate < 1:
            raise AudioError(f"the sample rate must be at least 1 Hz (got {self.rate})")
        if self.frames < 1:
            raise AudioError(f"the window must hold at least 1 frame (got {self.frames})")
        if self.deltas not in (0, 1, 2):
            raise AudioError(f"the delta order must be 0, 1 or 2 (got {self.deltas})")
        if self.normalise not in NORMALISE:
            raise AudioError(f"unknown normalisation {self.normalise!r}; one of {', '.join(NORMALISE)}")


@dataclass(frozen=True)
class AudioRows:
    """The rows of one file: ``rows`` is ``n_windows × len(names)``; row ``r`` starts at frame ``r``
    (centred on ``r·hop / rate`` seconds)."""

    rows: Matrix
    names: Tuple[str, ...]
    info: WavInfo


def featurise(path: PathLike, settings: AudioSettings = AudioSettings(),
              progress: Optional[ProgressCallback] = None) -> AudioRows:
    """The training rows of one WAV file (see :mod:`.features` and :mod:`.frames`)."""
    settings.check()
    per_frame = frame_features(path, n_fft=settings.n_fft, hop=settings.hop, rate=settings.rate, progress=progress)
    where = str(path)
    values, names = deltas(per_frame.values, per_frame.names, settings.deltas, where)
    values = normalise(values, settings.normalise)
    return AudioRows(windows(values, settings.frames, where), window_names(names, settings.frames), per_frame.info)
