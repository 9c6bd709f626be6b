"""Errors raised while talking to a blaster (or the virtual one): defined in :mod:`stingerml.errors`."""
from __future__ import annotations

from ..errors import (  # noqa: F401  (re-exported: the device package's names)
    DeviceDisconnectedError,
    DeviceError,
    DeviceProtocolError,
    DeviceReplyError,
    DeviceTimeoutError,
    FingerprintMismatchError,
    PortNotFoundError,
    SerialUnavailableError,
)
