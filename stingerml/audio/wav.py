"""Read WAV files with the standard library: PCM through :mod:`wave`, float through the RIFF chunks.

Supported: RIFF/WAVE with integer PCM of 8 (unsigned), 16, 24 or 32 bits, or
IEEE float of 32 or 64 bits (format tag 3, which :mod:`wave` refuses), also
inside ``WAVE_FORMAT_EXTENSIBLE``; any number of channels, mixed to mono as
the mean of the channels. Samples become float64 in [-1, 1) as librosa scales
them (``v / 2**(bits-1)``). MP3, FLAC, Ogg and everything else: one
:class:`~stingerml.core.errors.AudioError` naming the supported formats.

:func:`open_wav` returns a :class:`WavReader`; ``read(start, count, out, o0)``
decodes any run of samples (the features read a long file chunk by chunk, so
memory stays bounded).
"""
from __future__ import annotations

import struct
import wave
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Optional, Union

from .._kernels import kernels
from .._kernels.audio_pure import FLOAT, SIGNED, UNSIGNED
from ..core.errors import AudioError

PathLike = Union[str, Path]

SUPPORTED = "WAV (PCM 8/16/24/32-bit integer or 32/64-bit float, any channel count)"
_PCM, _FLOAT_TAG, _EXTENSIBLE = 1, 3, 0xFFFE
_MAX_CHUNKS = 10_000  # a RIFF file with more chunks than this before its data is refused (bounded walk)


@dataclass(frozen=True)
class WavInfo:
    """What a WAV file holds: ``rate`` (Hz), ``channels``, ``width`` (bytes per sample),
    ``kind`` (unsigned/signed integer or float, :mod:`.audio_pure`'s codes), ``n_samples``
    (samples per channel)."""

    path: str
    rate: int
    channels: int
    width: int
    kind: int
    n_samples: int

    @property
    def seconds(self) -> float:
        return self.n_samples / self.rate

    @property
    def format(self) -> str:
        return f"{'float' if self.kind == FLOAT else 'PCM'} {8 * self.width}-bit, {self.channels} channel(s), {self.rate} Hz"


def _refuse(path: str, head: bytes) -> None:
    """Raise for a file that is not RIFF/WAVE, naming what it looks like."""
    if head[:4] == b"fLaC":
        what = "a FLAC file"
    elif head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        what = "an MP3 file"
    elif head[:4] == b"OggS":
        what = "an Ogg file"
    elif not head:
        what = "empty"
    else:
        what = "not a WAV file"
    raise AudioError(f"{path}: {what}; stingerml reads {SUPPORTED} only: convert it first "
                     f"(e.g. ffmpeg -i IN -c:a pcm_s16le OUT.wav)")


def _riff_format(path: str, f: BinaryIO) -> tuple:
    """``(tag, channels, rate, bits, data offset, data bytes)`` from the RIFF chunks (bounded walk)."""
    f.seek(12)
    fmt = None
    for _ in range(_MAX_CHUNKS):
        header = f.read(8)
        if len(header) < 8:
            break
        name, size = header[:4], struct.unpack("<I", header[4:])[0]
        if name == b"fmt ":
            body = f.read(size)
            if len(body) < 16:
                raise AudioError(f"{path}: the WAV fmt chunk is {len(body)} bytes, shorter than 16; the file is damaged")
            tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
            if tag == _EXTENSIBLE and len(body) >= 26:
                tag = struct.unpack("<H", body[24:26])[0]  # the sub-format GUID starts with the tag
            fmt = (tag, channels, rate, bits)
        elif name == b"data":
            if fmt is None:
                raise AudioError(f"{path}: the WAV data chunk comes before its fmt chunk; the file is damaged")
            return fmt + (f.tell(), size)
        else:
            f.seek(size + (size & 1), 1)
    raise AudioError(f"{path}: no WAV data chunk found; the file is damaged or not a WAV file")


class WavReader:
    """An open WAV file; :meth:`read` decodes mono float64 samples. Use as a context manager."""

    def __init__(self, path: PathLike) -> None:
        self.path = str(path)
        try:
            self._file = open(path, "rb")
        except OSError as exc:
            raise AudioError(f"{self.path}: cannot open ({exc.strerror or exc})") from None
        self._wave: Optional[wave.Wave_read] = None
        self._offset = 0
        try:
            self.info = self._open()
        except BaseException:
            self.close()
            raise

    def _open(self) -> WavInfo:
        head = self._file.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            _refuse(self.path, head)
        self._file.seek(0)
        try:
            w = wave.open(self._file, "rb")
        except (wave.Error, EOFError, RuntimeError):  # RuntimeError: a chunk size past the end (wave.Chunk.seek)
            w = None
        if w is not None:
            self._wave = w
            width = w.getsampwidth()
            info = WavInfo(self.path, w.getframerate(), w.getnchannels(), width,
                           UNSIGNED if width == 1 else SIGNED, w.getnframes())
        else:
            tag, channels, rate, bits, offset, size = _riff_format(self.path, self._file)
            if tag not in (_PCM, _FLOAT_TAG):
                raise AudioError(f"{self.path}: WAV format tag {tag} (compressed audio); stingerml reads "
                                 f"{SUPPORTED} only: convert it first (e.g. ffmpeg -i IN -c:a pcm_s16le OUT.wav)")
            width = bits // 8
            if tag == _FLOAT_TAG:
                kind = FLOAT
                ok = bits in (32, 64)
            else:
                kind = UNSIGNED if width == 1 else SIGNED
                ok = bits in (8, 16, 24, 32)
            if not ok or channels < 1:
                raise AudioError(f"{self.path}: {bits}-bit {'float' if tag == _FLOAT_TAG else 'PCM'} with "
                                 f"{channels} channel(s) is not supported; stingerml reads {SUPPORTED}")
            self._offset = offset
            self._file.seek(0, 2)
            available = max(0, self._file.tell() - offset)
            info = WavInfo(self.path, rate, channels, width, kind, min(size, available) // (width * channels))
        if info.kind != FLOAT and info.width not in (1, 2, 3, 4):
            raise AudioError(f"{self.path}: {8 * info.width}-bit PCM is not supported; stingerml reads {SUPPORTED}")
        if info.rate <= 0:
            raise AudioError(f"{self.path}: the WAV header states a sample rate of {info.rate} Hz; the file is damaged")
        if info.n_samples < 1:
            raise AudioError(f"{self.path}: the WAV file holds no samples")
        return info

    def read(self, start: int, count: int, out: array, o0: int = 0) -> None:
        """Decode samples ``start .. start + count`` (mono float64) into ``out[o0:]``."""
        info = self.info
        block = info.width * info.channels
        if self._wave is not None:
            self._wave.setpos(start)
            raw = self._wave.readframes(count)
        else:
            self._file.seek(self._offset + start * block)
            raw = self._file.read(count * block)
        if len(raw) < count * block:
            raise AudioError(f"{self.path}: the file ends at sample {start + len(raw) // block} but its header "
                             f"states {info.n_samples}; the file is truncated")
        kernels("audio").decode_pcm(raw, info.kind, info.width, info.channels, out, o0)

    def close(self) -> None:
        if self._wave is not None:
            self._wave.close()
        self._file.close()

    def __enter__(self) -> "WavReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_wav(path: PathLike) -> WavReader:
    """Open a WAV file for reading (:class:`WavReader`); raises :class:`AudioError` for anything else."""
    return WavReader(path)


def read_wav(path: PathLike) -> "tuple[array, WavInfo]":
    """All samples of a WAV file, mono float64, and its :class:`WavInfo` (small files; the features stream)."""
    with open_wav(path) as reader:
        out = array("d", bytes(8 * reader.info.n_samples))
        reader.read(0, reader.info.n_samples, out)
        return out, reader.info
