"""The six per-frame features of a WAV file, with librosa's definitions.

Frames: librosa's default centring. The signal is padded with ``n_fft // 2``
zeros on both sides and frame ``t`` covers padded samples
``t·hop .. t·hop + n_fft``, so a file of ``n`` samples has
``1 + (n + 2·(n_fft//2) - n_fft) // hop`` frames (``1 + n // hop`` for an even
``n_fft``) and frame ``t`` is centred on sample ``t·hop``. Per frame
(:data:`FEATURES`, in this order):

- ``spectral_centroid``: ``librosa.feature.spectral_centroid`` (Hann window, magnitudes);
- ``spectral_flux``: ``sqrt(Σ_k (|X_t[k]| - |X_{t-1}[k]|)²)`` of the same magnitudes,
  0 for the first frame (librosa has no flux function; this is the usual L2 definition);
- ``rms``: ``librosa.feature.rms(frame_length=n_fft)`` (zero padding, no window);
- ``zero_crossing_rate``: ``librosa.feature.zero_crossing_rate(frame_length=n_fft)``
  (edge padding, ``|x| <= 1e-10`` counts as zero);
- ``onset_strength``: ``librosa.onset.onset_strength`` (128-band mel power in dB,
  80 dB below the file's loudest band floored, mean positive difference to
  the previous frame, shifted by ``1 + n_fft // (2·hop)`` frames as librosa does);
- ``spectral_rolloff``: ``librosa.feature.spectral_rolloff`` (85 % of the magnitude sum).

Long files are read in chunks of :data:`CHUNK_FRAMES` frames (memory stays
bounded; the mel powers of the whole file, 128 per frame, are kept for the
onset's floor) and report ``Progress("audio", ...)`` after each chunk.
"""
from __future__ import annotations

from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Tuple, Union

from .._kernels import kernels
from ..core.errors import AudioError
from ..core.matrix import Matrix
from ..core.progress import Progress, ProgressCallback
from .plan import N_MELS, plan
from .wav import WavInfo, WavReader, open_wav

PathLike = Union[str, Path]

FEATURES: Tuple[str, ...] = (
    "spectral_centroid", "spectral_flux", "rms", "zero_crossing_rate", "onset_strength", "spectral_rolloff",
)
ROLL_PERCENT = 0.85  # librosa.feature.spectral_rolloff's default
TOP_DB = 80.0  # librosa.power_to_db's default floor below the maximum
LAG = 1  # librosa.onset.onset_strength's default
CHUNK_FRAMES = 256  # frames per kernel call (progress is reported between calls)
MAX_N_FFT = 1 << 16


@dataclass(frozen=True)
class FrameFeatures:
    """The per-frame features of one file: ``values`` is ``n_frames × 6`` (columns :data:`FEATURES`);
    frame ``t`` is centred on ``t·hop / rate`` seconds."""

    values: Matrix
    names: Tuple[str, ...]
    info: WavInfo
    hop: int
    n_fft: int

    @property
    def n_frames(self) -> int:
        return self.values.n_rows


def n_frames(n_samples: int, n_fft: int, hop: int) -> int:
    """Frames of a centred STFT of ``n_samples`` samples (librosa's count)."""
    return 1 + (n_samples + 2 * (n_fft // 2) - n_fft) // hop


def check_settings(n_fft: int, hop: int) -> None:
    """Raise :class:`AudioError` for an FFT size or hop out of range."""
    if not 2 <= n_fft <= MAX_N_FFT:
        raise AudioError(f"the FFT size must be from 2 to {MAX_N_FFT} samples (got {n_fft}); a power of two is fastest")
    if hop < 1:
        raise AudioError(f"the hop must be at least 1 sample (got {hop})")


def frame_features(source: Union[PathLike, WavReader], *, n_fft: int = 4096, hop: int = 1024,
                   rate: Optional[int] = None, progress: Optional[ProgressCallback] = None) -> FrameFeatures:
    """The :data:`FEATURES` of every frame of a WAV file (module docstring).

    ``rate``: the sample rate (Hz) the file must have; a file at another rate
    raises :class:`AudioError` (stingerml does not resample: resample the
    file first). ``None`` takes the file's rate.
    """
    check_settings(n_fft, hop)
    if isinstance(source, WavReader):
        return _features(source, n_fft, hop, rate, progress)
    with open_wav(source) as reader:
        return _features(reader, n_fft, hop, rate, progress)


def _features(reader: WavReader, n_fft: int, hop: int, rate: Optional[int],
              progress: Optional[ProgressCallback]) -> FrameFeatures:
    info = reader.info
    if rate is not None and info.rate != rate:
        raise AudioError(f"{info.path}: the sample rate is {info.rate} Hz, not {rate} Hz; stingerml does not "
                         f"resample: convert the file (e.g. ffmpeg -i IN -ar {rate} OUT.wav) or pass its rate")
    k = kernels("audio")
    p = plan(info.rate, n_fft)
    n = info.n_samples
    total = n_frames(n, n_fft, hop)
    pad = n_fft // 2
    cols: Dict[str, array] = {name: array("d", bytes(8 * total)) for name in FEATURES}
    mel = array("d", bytes(8 * total * N_MELS))
    prev = array("d", bytes(8 * p.n_bins))
    for f0 in range(0, total, CHUNK_FRAMES):
        count = min(CHUNK_FRAMES, total - f0)
        first = f0 * hop - pad  # original sample index of the chunk's first value
        length = (count - 1) * hop + n_fft
        chunk = array("d", bytes(8 * length))
        lo, hi = max(0, -first), min(length, n - first)
        reader.read(first + lo, hi - lo, chunk, lo)
        k.frame_spectra(chunk, count, hop, n_fft, p.window, p.bitrev, p.tw_re, p.tw_im, p.rot_re, p.rot_im,
                        p.freqs, ROLL_PERCENT, p.mel_lo, p.mel_hi, p.mel_off, p.mel_w, prev, f0 > 0,
                        cols["spectral_centroid"], cols["spectral_rolloff"], cols["spectral_flux"], mel, f0)
        k.frame_rms(chunk, count, hop, n_fft, cols["rms"], f0)
        k.frame_zcr(chunk, count, hop, n_fft, lo, hi, cols["zero_crossing_rate"], f0)
        if progress is not None:
            progress(Progress("audio", f"{info.path}: frame {f0 + count}/{total}", f0 + count, total))
    top = k.mel_db(mel, total * N_MELS)
    k.onset_strength(mel, total, N_MELS, top - TOP_DB, LAG, LAG + n_fft // (2 * hop), cols["onset_strength"])
    return FrameFeatures(Matrix.from_columns([cols[name] for name in FEATURES]), FEATURES, info, hop, n_fft)
