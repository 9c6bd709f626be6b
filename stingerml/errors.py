"""Exceptions and warnings raised by stingerml.

Every error says what was wrong, where (file, offset, row) and what to do.
"""
from __future__ import annotations


class StingerError(Exception):
    """Base class of every error stingerml raises on bad input or failed work."""


class LogFormatError(StingerError, ValueError):
    """A device log (binary or CSV) cannot be read."""


class DatasetError(StingerError, ValueError):
    """The log does not hold enough shots or negatives to build a dataset."""


class ModelFormatError(StingerError, ValueError):
    """An MLMD model file is malformed."""


class TrainingError(StingerError, RuntimeError):
    """Training produced an unusable model (for example non-finite weights)."""


class ExportError(StingerError, ValueError):
    """A model cannot be written in the requested format (a shape the format cannot hold,
    non-finite weights, an empty or unusable representative set); nothing was written."""


class OutputError(StingerError, OSError):
    """An output file could not be written (missing folder, no permission, disk full...)."""


class StingerWarning(UserWarning):
    """Something is suspect but work went on (trailing bytes, short recording...)."""
