"""stingerml.audio against independent oracles: numpy for the WAV samples, librosa for the features.

Each test runs on both kernel backends (``backend`` fixture); the numba run is
also compared with the pure reference bit for bit. Signals are small (16 kHz,
FFT 512, hop 128) so the pure-Python run stays quick; the seed's own settings
(48 kHz, FFT 4,096, hop 1,024) run on a half-second file.
"""
from __future__ import annotations

import warnings
from array import array

import numpy as np
import pytest

from stingerml import _kernels
from stingerml.audio import (
    FEATURES, AudioSettings, deltas, featurise, frame_features, n_frames, normalise, read_wav, window_names, windows,
)
from stingerml.audio import features as features_mod
from stingerml.core.errors import AudioError
from stingerml.core.matrix import Matrix
from stingerml.core.progress import Progress

from audio_signals import expected_mono, librosa_features, signal, to_ints, write_wav
from conftest import use_backend

RATE, N_FFT, HOP = 16000, 512, 128
REL, ABS = 1e-5, 1e-6  # the tolerance: relative, absolute near zero


def _values(m: Matrix) -> np.ndarray:
    return np.array(m.data, dtype=np.float64).reshape(m.n_rows, m.n_cols)


def _write16(tmp_path, y, rate=RATE, name="a.wav"):
    ints = to_ints(y, 16)
    return write_wav(tmp_path / name, ints, rate, 16), expected_mono(ints, 16)


# --- WAV ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("bits,float_,channels,extensible", [
    (8, False, 1, False), (16, False, 1, False), (16, False, 2, False), (24, False, 2, False),
    (32, False, 1, False), (32, True, 1, False), (32, True, 2, False), (64, True, 1, False),
    (16, False, 2, True), (24, False, 1, True), (32, True, 2, True),
])
def test_wav_formats(tmp_path, backend, bits, float_, channels, extensible):
    y = np.stack([signal("mix", RATE, 1001, seed=c) for c in range(channels)], axis=1)
    samples = y.astype(np.float64) if float_ else to_ints(y, bits)
    path = write_wav(tmp_path / "f.wav", samples, RATE, bits, float_=float_, extensible=extensible)
    got, info = read_wav(path)
    assert (info.rate, info.channels, info.n_samples, info.width) == (RATE, channels, 1001, bits // 8)
    assert np.array_equal(np.array(got), expected_mono(samples, bits, float_))


@pytest.mark.parametrize("head,what", [
    (b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(100), "MP3"), (b"\xff\xfb\x90\x00" + bytes(100), "MP3"),
    (b"fLaC\x00\x00\x00\x22" + bytes(100), "FLAC"), (b"OggS" + bytes(100), "Ogg"),
    (b"hello,world\n1,2\n", "not a WAV"), (b"", "empty"),
])
def test_not_wav_is_one_clear_error(tmp_path, head, what):
    path = tmp_path / "x.mp3"
    path.write_bytes(head)
    with pytest.raises(AudioError, match=what) as err:
        read_wav(path)
    assert "WAV (PCM 8/16/24/32-bit" in str(err.value) and str(path) in str(err.value)


def test_compressed_wav_and_damage(tmp_path):
    path = write_wav(tmp_path / "a.wav", to_ints(signal("sine", RATE, 100), 16), RATE, 16)
    raw = bytearray(path.read_bytes())
    raw[20:22] = (0x55).to_bytes(2, "little")  # MPEG layer 3 inside RIFF
    (tmp_path / "mp3.wav").write_bytes(bytes(raw))
    with pytest.raises(AudioError, match="format tag 85"):
        read_wav(tmp_path / "mp3.wav")
    (tmp_path / "cut.wav").write_bytes(path.read_bytes()[:120])
    with pytest.raises(AudioError, match="truncated"):
        read_wav(tmp_path / "cut.wav")
    (tmp_path / "nodata.wav").write_bytes(path.read_bytes()[:36])
    with pytest.raises(AudioError, match="no WAV data chunk"):
        read_wav(tmp_path / "nodata.wav")


@pytest.mark.parametrize("size", [0xFFFFFFF0, 0x7FFFFFFF, 17])
def test_a_fmt_chunk_size_past_the_end_is_one_clear_error(tmp_path, size):
    """A fmt chunk whose size points past the file: the standard library's `wave` raised a bare
    RuntimeError (a traceback from `stingerml audio features`; audit of issue 26)."""
    path = write_wav(tmp_path / "a.wav", to_ints(signal("sine", RATE, 100), 16), RATE, 16)
    raw = bytearray(path.read_bytes())
    raw[16:20] = size.to_bytes(4, "little")
    (tmp_path / "bad.wav").write_bytes(bytes(raw))
    with pytest.raises(AudioError, match="no WAV data chunk"):
        read_wav(tmp_path / "bad.wav")


def test_other_rate_is_refused(tmp_path):
    path, _ = _write16(tmp_path, signal("sine", 22050, 2000), rate=22050)
    with pytest.raises(AudioError, match="22050 Hz, not 48000 Hz.*does not resample"):
        frame_features(path, rate=48000)


# --- features against librosa ------------------------------------------------------------------

def _assert_close(got: np.ndarray, ref: dict, where: str) -> None:
    for j, name in enumerate(FEATURES):
        r = np.asarray(ref[name], dtype=np.float64)
        assert got.shape[0] == r.shape[0], f"{where} {name}: {got.shape[0]} frames, librosa {r.shape[0]}"
        bad = np.abs(got[:, j] - r) > np.maximum(REL * np.abs(r), ABS)
        assert not bad.any(), (f"{where} {name}: frame {np.argmax(bad)} {got[np.argmax(bad), j]!r} "
                               f"vs librosa {r[np.argmax(bad)]!r}")


CASES = [  # (signal, samples, rate, n_fft, hop)
    ("sine", 8000, RATE, N_FFT, HOP), ("chirp", 8000, RATE, N_FFT, HOP), ("noise", 6000, RATE, N_FFT, HOP),
    ("silence", 3000, RATE, N_FFT, HOP), ("clipping", 5000, RATE, N_FFT, HOP), ("mix", 7001, RATE, N_FFT, HOP),
    ("sine", 1, RATE, N_FFT, HOP), ("noise", 2, RATE, N_FFT, HOP), ("noise", 511, RATE, N_FFT, HOP),
    ("chirp", 1023, RATE, N_FFT, 100), ("mix", 3001, RATE, 500, 128), ("noise", 999, RATE, 301, 77),
    ("mix", 24000, 48000, 4096, 1024),
]


@pytest.mark.parametrize("kind,n,rate,n_fft,hop", CASES)
def test_features_equal_librosa(tmp_path, backend, kind, n, rate, n_fft, hop):
    librosa = pytest.importorskip("librosa")  # noqa: F841  (the oracle)
    path, y = _write16(tmp_path, signal(kind, rate, n), rate=rate)
    got = frame_features(path, n_fft=n_fft, hop=hop, rate=rate)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # librosa warns that n_fft is larger than a 1-sample signal
        ref = librosa_features(y, rate, n_fft, hop)
    assert got.n_frames == n_frames(n, n_fft, hop)
    _assert_close(_values(got.values), ref, f"{kind} n={n} n_fft={n_fft} hop={hop}")


def test_float_and_stereo_files_equal_librosa(tmp_path, backend):
    pytest.importorskip("librosa")
    y = np.stack([signal("chirp", RATE, 4000), signal("noise", RATE, 4000, seed=3)], axis=1)
    path = write_wav(tmp_path / "f.wav", y.astype(np.float32), RATE, 32, float_=True)
    got = frame_features(path, n_fft=N_FFT, hop=HOP, rate=RATE)
    _assert_close(_values(got.values), librosa_features(expected_mono(y, 32, True), RATE, N_FFT, HOP), "float stereo")


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["chirp", "noise", "mix"])
def test_seed_settings_long_signals_equal_librosa(tmp_path, backend, kind):
    pytest.importorskip("librosa")
    path, y = _write16(tmp_path, signal(kind, 48000, 48000 * 20 + 77), rate=48000)
    got = frame_features(path, n_fft=4096, hop=1024, rate=48000)
    _assert_close(_values(got.values), librosa_features(y, 48000, 4096, 1024), f"{kind} 20 s")


@pytest.mark.parametrize("order", [1, 2])
def test_deltas_equal_librosa(tmp_path, order):
    librosa = pytest.importorskip("librosa")
    path, _ = _write16(tmp_path, signal("mix", RATE, 5000))
    per_frame = frame_features(path, n_fft=N_FFT, hop=HOP)
    values, names = deltas(per_frame.values, per_frame.names, order)
    got = _values(values)
    base = _values(per_frame.values)
    assert np.array_equal(got[:, :6], base)
    assert names[6:12] == tuple(f"{n}_delta" for n in FEATURES)
    for o in range(1, order + 1):
        ref = librosa.feature.delta(base.T, order=o).T
        part = got[:, 6 * o:6 * (o + 1)]
        assert np.all(np.abs(part - ref) <= np.maximum(REL * np.abs(ref), ABS)), o
    with pytest.raises(AudioError, match="at least 9 frames"):
        deltas(Matrix(array("d", bytes(8 * 8 * 6)), 6), FEATURES, order, "x.wav")


def test_normalise_and_windows():
    rng = np.random.default_rng(0)
    base = rng.standard_normal((20, 3)) * [1.0, 100.0, 0.0] + [0.0, 5.0, 2.0]
    m = Matrix(array("d", base.reshape(-1)), 3)
    z = _values(normalise(m, "zscore"))
    expected = np.zeros_like(base)
    expected[:, :2] = (base[:, :2] - base[:, :2].mean(axis=0)) / base[:, :2].std(axis=0)
    assert np.allclose(z, expected, rtol=1e-12, atol=1e-12)
    mm = _values(normalise(m, "minmax"))
    lo, hi = base.min(axis=0), base.max(axis=0)
    assert np.allclose(mm[:, :2], ((base - lo) / np.where(hi > lo, hi - lo, 1))[:, :2], rtol=1e-12)
    assert np.all(mm[:, 2] == 0.0)
    w = _values(windows(m, 4))
    ref = np.lib.stride_tricks.sliding_window_view(base, (4, 3))[:, 0].reshape(17, 12)
    assert np.array_equal(w, ref)
    assert window_names(("a", "b"), 2) == ("a_0", "b_0", "a_1", "b_1")
    with pytest.raises(AudioError, match="fewer than the 30 of one window"):
        windows(m, 30, "x.wav")


def test_featurise_seed_shape(tmp_path, backend):
    path, _ = _write16(tmp_path, signal("mix", 48000, 48000), rate=48000)
    rows = featurise(path, AudioSettings())
    assert rows.rows.shape == (n_frames(48000, 4096, 1024) - 9, 60)
    assert rows.names[:7] == tuple(f"{n}_0" for n in FEATURES) + ("spectral_centroid_1",)
    both = featurise(path, AudioSettings(deltas=2, normalise="zscore", frames=2))
    assert both.rows.n_cols == 36


# --- the kernel seam: chunks, progress, both backends ---------------------------------------------

def test_chunks_and_progress(tmp_path, backend, monkeypatch):
    path, _ = _write16(tmp_path, signal("mix", RATE, 9000))
    whole = frame_features(path, n_fft=N_FFT, hop=HOP)
    events = []
    monkeypatch.setattr(features_mod, "CHUNK_FRAMES", 5)
    chunked = frame_features(path, n_fft=N_FFT, hop=HOP, progress=events.append)
    assert array("d", chunked.values.data).tobytes() == array("d", whole.values.data).tobytes()
    total = n_frames(9000, N_FFT, HOP)
    assert [e.done for e in events] == list(range(5, total, 5)) + [total]
    assert all(isinstance(e, Progress) and e.stage == "audio" and e.total == total for e in events)


@pytest.mark.parametrize("n_fft,hop,n", [(512, 128, 7001), (300, 77, 2000), (4096, 1024, 30000), (2, 1, 50)])
def test_numba_equals_pure_bits(tmp_path, n_fft, hop, n):
    pytest.importorskip("numba")
    y = np.stack([signal("mix", RATE, n), signal("noise", RATE, n, seed=5)], axis=1)
    path = write_wav(tmp_path / "s.wav", to_ints(y, 24), RATE, 24)
    got = {}
    for name in ("python", "numba"):
        with use_backend(name):
            assert _kernels.backend() == name
            got[name] = array("d", frame_features(path, n_fft=n_fft, hop=hop).values.data).tobytes()
    assert got["python"] == got["numba"]


def test_settings_are_checked_before_reading(tmp_path):
    for settings, message in [(AudioSettings(n_fft=1), "FFT size"), (AudioSettings(hop=0), "hop"),
                              (AudioSettings(frames=0), "at least 1 frame"), (AudioSettings(deltas=3), "delta order"),
                              (AudioSettings(normalise="l2"), "normalisation")]:
        with pytest.raises(AudioError, match=message):
            featurise(tmp_path / "missing.wav", settings)
