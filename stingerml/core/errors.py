"""Exceptions and warnings raised by stingerml.

Every error says what was wrong, where (file, offset, row) and what to do.
Every error class of the package lives here (the modules that raise them
re-export theirs under the old names); new ones subclass :class:`StingerError`.
"""
from __future__ import annotations


class StingerError(Exception):
    """Base class of every error stingerml raises on bad input or failed work."""


class LogFormatError(StingerError, ValueError):
    """A device log (binary or CSV) cannot be read."""


class DatasetError(StingerError, ValueError):
    """The log does not hold enough shots or negatives to build a dataset."""


class ModelFormatError(StingerError, ValueError):
    """A model file (MLMD, or a stingerml-network JSON file) is malformed."""


class ArrayFormatError(StingerError, ValueError):
    """A numpy ``.npy`` / ``.npz`` file is damaged or holds what stingerml does not read
    (Fortran order, object arrays, other element types)."""


class TrainingError(StingerError, RuntimeError):
    """Training produced an unusable model (for example non-finite weights)."""


class ExportError(StingerError, ValueError):
    """A model cannot be written in the requested format (a shape the format cannot hold,
    non-finite weights, an empty or unusable representative set); nothing was written."""


class OutputError(StingerError, OSError):
    """An output file could not be written (missing folder, no permission, disk full...)."""


class SlotError(StingerError, ValueError):
    """An unknown model slot name was given (the slots are ``lr`` and ``mlp``)."""


class MetricError(StingerError, ValueError):
    """A metric or split cannot be computed on the given input (empty, one class, bad labels...)."""


class SettingsError(StingerError, ValueError):
    """Settings out of range: post-processing (:mod:`stingerml.blaster.online`) or training (:mod:`stingerml.blaster.settings`)."""


class PlotError(StingerError, ValueError):
    """A chart cannot be drawn from the given input (bad probabilities, bad shot index...)."""


class BenchmarkError(StingerError, ValueError):
    """The benchmark cannot run on this data or with these settings."""


class DiffError(StingerError, ValueError):
    """Two files cannot be compared (unreadable, of different kinds, or a malformed CSV)."""


class TabularDataError(StingerError, ValueError):
    """A tabular data set (CSV, schema.json, split) cannot be used: names the file, line and column."""


class SequenceDataError(StingerError, ValueError):
    """A sequence data set (``.npz`` bundle, long-format CSV, masks) cannot be used: names the file,
    sample and step."""


class AudioError(StingerError, ValueError):
    """An audio file cannot be read (not WAV, an unsupported sample format, another rate, too short
    for the asked features) or the audio settings are out of range: names the file and what to do."""


class ApiError(StingerError, OSError):
    """A request to a remote API (CrowdMind's, seed 002) failed: no answer after the retries, or a 4xx answer.
    The message names the method and URL, never the token."""


class ReportError(StingerError, ValueError):
    """A training report cannot be rebuilt (``report.json`` unreadable or not stingerml's, logs that do not fit)."""


class TaskError(StingerError):
    """One of several independent tasks (a benchmark run, a log's dataset) failed or lost its worker.

    ``task`` names it (``"MLP rich group seed 3"``, a log's path); the original
    exception is the ``__cause__`` when it could be brought back.
    """

    def __init__(self, message: str, task: str) -> None:
        super().__init__(message)
        self.task = task


# --- talking to a blaster (stingerml.device) ---------------------------------------------------


class DeviceError(StingerError):
    """Something went wrong talking to the blaster."""


class SerialUnavailableError(DeviceError, ImportError):
    """pyserial is not installed; ``pip install stingerml[serial]``."""


class PortNotFoundError(DeviceError):
    """Port discovery found no blaster, or more than one."""


class DeviceTimeoutError(DeviceError, TimeoutError):
    """The device did not answer in time; the message quotes what it last said."""


class DeviceDisconnectedError(DeviceError, ConnectionError):
    """The port went away (cable pulled, emulator stopped, socket closed)."""


class DeviceReplyError(DeviceError):
    """The device answered with an error line (``[ml] ERROR: ...`` or ``[ml] MLMODEL_ERR ...``).

    ``reply`` holds the line as the device sent it.
    """

    def __init__(self, message: str, reply: str) -> None:
        super().__init__(message)
        self.reply = reply


class DeviceProtocolError(DeviceError):
    """The device sent something the protocol does not allow (garbage, bad numbers)."""


class FingerprintMismatchError(DeviceError):
    """After loading, the device's weight fingerprint differs from the uploaded file."""


class ServerError(StingerError, OSError):
    """A local server (the training status endpoint) cannot listen on its address: the port is in
    use, not allowed, or the host is not an address of this machine."""


# --- warnings ----------------------------------------------------------------------------------


class StingerWarning(UserWarning):
    """Something is suspect but work went on (trailing bytes, short recording...)."""
