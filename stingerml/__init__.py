"""stingerml: train and check the Stinger blaster's shot-prediction models.

Pure standard-library Python, byte-identical to the browser trainer and
float32-equal to the firmware. See README.md and docs/.
"""
from __future__ import annotations

__version__ = "0.1.0"

from .errors import (  # noqa: E402
    DatasetError,
    LogFormatError,
    ModelFormatError,
    StingerError,
    StingerWarning,
    TrainingError,
)
from .log import Log, parse_log, read_log, write_log  # noqa: E402


def demo_session_path() -> "Path":
    """Path of the small synthetic session shipped with the package (``stingerml demo`` trains on it)."""
    from pathlib import Path

    return Path(__file__).resolve().parent / "data" / "demo_session.bin"
