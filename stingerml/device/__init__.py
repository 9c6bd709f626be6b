"""Talk to the Stinger blaster over USB serial, and a virtual blaster to test against.

- :class:`DeviceClient` (``client``): pull the log, upload/load/delete models,
  read INFO; over anything ``serial.serial_for_url`` opens (pyserial is an
  optional extra: ``pip install 'stingerml[serial]'``).
- ``protocol``: the reply parsers (pure, no I/O).
- ``emulator``: :class:`Blaster` (the firmware's protocol as a state machine)
  served on a pty (:class:`PtyServer`) or a loopback TCP port (:class:`TcpServer`).
- ``discovery``: find the blaster's port.
"""
from __future__ import annotations

from .client import DeviceClient, verify_fingerprint
from .discovery import find_port
from .emulator import FAULTS, Blaster, PtyServer, TcpServer
from .errors import (
    DeviceDisconnectedError,
    DeviceError,
    DeviceProtocolError,
    DeviceReplyError,
    DeviceTimeoutError,
    FingerprintMismatchError,
    PortNotFoundError,
    SerialUnavailableError,
)

__all__ = [
    "Blaster", "DeviceClient", "DeviceDisconnectedError", "DeviceError", "DeviceProtocolError",
    "DeviceReplyError", "DeviceTimeoutError", "FAULTS", "FingerprintMismatchError", "PortNotFoundError",
    "PtyServer", "SerialUnavailableError", "TcpServer", "find_port", "verify_fingerprint",
]
