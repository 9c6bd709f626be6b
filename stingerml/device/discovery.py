"""Find the blaster's serial port (SPEC §12): an RP2040 / TinyUSB CDC device."""
from __future__ import annotations

import re
from typing import Iterable, List, Optional, Sequence

from .errors import PortNotFoundError, SerialUnavailableError

_DESCRIPTION = re.compile(r"pico|rp2040|tinyusb", re.IGNORECASE)
_RASPBERRY_PI_VID = 0x2E8A
_HWID_VID = re.compile(r"VID[:_=]?(?:PID=)?2E8A\b", re.IGNORECASE)


def import_serial():
    """Import pyserial lazily; raise a clear error when it is missing."""
    try:
        import serial  # noqa: F401
        import serial.tools.list_ports  # noqa: F401
    except ImportError:
        raise SerialUnavailableError(
            "talking to the blaster needs pyserial, the serial extra: pip install 'stingerml[serial]' "
            "(in a checkout: pip install '.[serial]')"
        ) from None
    return serial


def port_matches(description: Optional[str], hwid: Optional[str], vid: Optional[int] = None) -> bool:
    """True when a port looks like the blaster: description mentions pico/rp2040/tinyusb
    (any case) or the USB vendor id is 2e8a (Raspberry Pi)."""
    return (
        bool(_DESCRIPTION.search(description or ""))
        or vid == _RASPBERRY_PI_VID
        or bool(_HWID_VID.search(hwid or ""))
    )


def _describe(port) -> str:
    return f"{port.device} ({port.description}; {port.hwid})"


def choose_port(ports: Sequence) -> str:
    """The device path of the one matching port among ``ports`` (pyserial ListPortInfo-like objects).

    Raises:
        PortNotFoundError: none or several match; the message lists the ports seen.
    """
    found: List = [p for p in ports if port_matches(p.description, p.hwid, getattr(p, "vid", None))]
    if len(found) == 1:
        return found[0].device
    if not found:
        seen = "; ".join(_describe(p) for p in ports) or "no serial ports at all"
        raise PortNotFoundError(
            f"no blaster found (looked for pico/rp2040/tinyusb or USB vendor 2e8a); ports seen: {seen}. "
            "Plug the blaster in, or name the port (CLI: --port PORT; API: DeviceClient(port=...))"
        )
    listed = "; ".join(_describe(p) for p in found)
    raise PortNotFoundError(f"several ports look like a blaster: {listed}. Pick one (CLI: --port PORT; "
                            "API: DeviceClient(port=...))")


def find_port(ports: Optional[Iterable] = None) -> str:
    """Discover the blaster's port among ``ports`` (default: every port pyserial lists)."""
    if ports is None:
        serial = import_serial()
        ports = serial.tools.list_ports.comports()
    return choose_port(list(ports))
