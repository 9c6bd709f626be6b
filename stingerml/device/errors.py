"""Errors raised while talking to a blaster (or the virtual one)."""
from __future__ import annotations

from ..errors import StingerError


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
