"""The blaster's serial protocol (SPEC §12) as pure, incremental parsers.

Nothing here does I/O. Bytes from the device go into a :class:`ReplyBuffer`;
an *expectation* (:class:`DumpReceiver`, :class:`ReplyLine`,
:class:`InfoCollector`, :class:`SamplesReceiver`) is then stepped over the
buffer and returns its result once the reply is complete (``None`` while it
still needs bytes). Lines unrelated to the command (the firmware's debug
output) are skipped; lines may end in ``\\n`` or ``\\r\\n``; bytes may arrive
in chunks of any size.
"""
from __future__ import annotations

import re
from typing import BinaryIO, Callable, Dict, Optional, Tuple, Union

from ..core.constants import SLOTS, check_slot  # noqa: F401  (re-exported: the protocol names them)
from ..formats import mlmd
from .errors import DeviceProtocolError, DeviceReplyError

BAUDRATE = 115200
MAX_COMMAND_CHARS = 63
MAX_MODEL_BYTES = 199999

READY = "[ml] MLMODEL_READY"
OK = "[ml] MLMODEL_OK"
LOADED = "[ml] MLMODEL_LOADED"
DELETED = "[ml] MLMODEL_DELETED"
MODEL_ERR = "[ml] MLMODEL_ERR"
LOG_ERROR = "[ml] ERROR:"
DUMP_HEADER = "MLDUMP1 "
DUMP_DONE = "MLDUMP_DONE"

#: MLMODEL_INFO keys, in the firmware's order, with the Python type of each value.
INFO_KEYS: Dict[str, type] = {
    "model_source": str,
    "user_model_present": int,
    "user_has_lr": int,
    "user_has_mlp": int,
    "cached_age_ms": int,
    "lr_intercept": float,
    "lr_coef[0]": float,
    "mlp_b3": float,
    "mlp_w1[0]": float,
}

#: The weight fingerprint MLMODEL_INFO prints for each slot (``%.6f``).
FINGERPRINT_KEYS: Dict[str, Tuple[str, str]] = {
    "lr": ("lr_intercept", "lr_coef[0]"),
    "mlp": ("mlp_b3", "mlp_w1[0]"),
}

#: What each ``[ml] MLMODEL_ERR <code>`` means and what to do about it.
MODEL_ERR_HINTS: Dict[str, str] = {
    "fs": "the device's filesystem is not ready; power-cycle the blaster and retry",
    "busy": "the blaster is firing; wait until it is idle and retry",
    "open": "the device could not create its temporary model file; retry, or free space with `stingerml delete`",
    "args": "the device refused the size/CRC arguments (size must be 1..199999 bytes)",
    "crc": "the bytes the device received do not match the CRC (corrupted on the way); "
    "the previous model file is kept; retry the upload",
    "rename": "the device could not replace its model file (the previous file may be gone too); retry",
    "timeout": "the device received no bytes for 10 s and gave up; the previous model file is kept; retry",
    "load": "the device rejected the model file (SPEC §9 checks: header, sizes, CRC, finite floats); "
    "that slot now runs its factory weights",
    "delete": "the device could not delete its user model files; retry or power-cycle",
}

_INFO_LINE = re.compile(r"^\[ml\] ([A-Za-z_][A-Za-z0-9_\[\]]*)=(.*)$")
_SAMPLES_LINE = re.compile(r"^\[ml\] samples_written=([0-9]+)\b")
_ASCII_COUNT = re.compile(r"[0-9]{1,18}")  # a byte or sample count: ASCII digits, below 10**18

#: Default bound on the size a device may announce for its log (``pull --max-size``): the
#: blaster's flash holds a few MB, so 64 MiB leaves room and refuses absurd announcements.
MAX_DUMP_BYTES = 64 * 1024 * 1024
#: Bytes of one line the client keeps while waiting for its end (longer chatter is cut).
MAX_LINE_BYTES = 4096


def put_command(blob: bytes, slot: str) -> bytes:
    """``MLMODEL_PUT_LR|MLP <size> <crc32 of the whole file, 8 lowercase hex digits>\\n``."""
    return f"MLMODEL_PUT_{check_slot(slot).upper()} {len(blob)} {mlmd.crc32(blob):08x}\n".encode("ascii")


def load_command(slot: str) -> bytes:
    """``MLMODEL_LOAD_LR\\n`` or ``MLMODEL_LOAD_MLP\\n``."""
    return f"MLMODEL_LOAD_{check_slot(slot).upper()}\n".encode("ascii")


def fingerprint(blob: bytes, slot: str, *, source: str = "<model>") -> Dict[str, str]:
    """The two INFO fingerprint values of an MLMD file, as the firmware prints them (``'%.6f'``).

    Raises:
        ModelFormatError: the file is not a valid MLMD model of that slot's kind.
    """
    model = mlmd.parse(blob, source=source)
    if isinstance(model, mlmd.MLPModel) != (check_slot(slot) == "mlp"):
        kind = "MLP" if isinstance(model, mlmd.MLPModel) else "LR"
        raise mlmd.ModelFormatError(f"{source}: is an {kind} model, it cannot go into the {slot} slot")
    if isinstance(model, mlmd.MLPModel):
        values = (model.b3, model.W1[0])
    else:
        values = (model.intercept, model.coef[0])
    return {key: "%.6f" % value for key, value in zip(FINGERPRINT_KEYS[slot], values)}


class ReplyBuffer:
    """Bytes received from the device, consumed as lines or as raw bytes.

    ``last_line`` is the last complete non-empty line taken out (for error
    messages saying what the device last said).
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self.last_line: Optional[str] = None

    def feed(self, data: bytes) -> None:
        """Append bytes as received."""
        self._buf += data

    def pop_line(self) -> Optional[str]:
        """The next complete line without its ``\\n``/``\\r\\n`` (decoded, bad bytes replaced), or None."""
        end = self._buf.find(b"\n")
        if end < 0:
            return None
        raw = bytes(self._buf[:end]).rstrip(b"\r")
        del self._buf[: end + 1]
        line = raw.decode("utf-8", errors="replace")
        if line.strip():
            self.last_line = line
        return line

    def take(self, n: int) -> bytes:
        """Up to ``n`` raw bytes from the front of the buffer."""
        chunk = bytes(self._buf[:n])
        del self._buf[:n]
        return chunk

    def bound_partial(self, limit: int = MAX_LINE_BYTES) -> None:
        """Keep only the last ``limit`` bytes of an unfinished line (a device sending bytes without
        a line end must not grow the buffer without bound); call only while reading lines."""
        if len(self._buf) > limit and self._buf.find(b"\n") < 0:
            del self._buf[: len(self._buf) - limit]

    def partial(self) -> bytes:
        """Bytes received after the last line end (not consumed)."""
        return bytes(self._buf)

    def last_said(self) -> str:
        """A human description of the device's latest output, for error messages."""
        parts = []
        if self.last_line is not None:
            parts.append(f"the device last said {self.last_line!r}")
        if self._buf:
            tail = bytes(self._buf[-60:]).decode("utf-8", errors="replace")
            parts.append(f"{len(self._buf)} byte(s) without a line end ending {tail!r}")
        return "; ".join(parts) if parts else "the device said nothing"


class DumpReceiver:
    """MLDUMP reply: ``MLDUMP1 <size>``, exactly ``size`` raw bytes, ``\\nMLDUMP_DONE``.

    The firmware writes the payload and then ``println("\\nMLDUMP_DONE")``, so
    the payload must be followed by exactly ``\\n``, then the line
    ``MLDUMP_DONE`` (ending ``\\r\\n`` or ``\\n``). Anything else means a
    byte was lost or added on the way (with this strict framing a single lost
    or added byte is always caught) and raises :class:`DeviceProtocolError`.
    ``progress(received, size)`` is called as payload bytes arrive.

    Payload bytes go to ``sink`` (anything with ``write(bytes)``; default: kept in
    memory and returned). A size above ``max_size`` bytes is refused at the header.
    ``mark`` changes whenever the reply advances (header seen, payload bytes).
    """

    def __init__(self, progress: Optional[Callable[[int, int], None]] = None, *,
                 sink: Optional[BinaryIO] = None, max_size: int = MAX_DUMP_BYTES) -> None:
        self._progress = progress
        self._state = "header"
        self.size: Optional[int] = None
        self.received = 0
        self.max_size = max_size
        self._memory = bytearray() if sink is None else None
        self._sink = sink

    @property
    def reading_lines(self) -> bool:
        """True while only lines are expected (the buffer may then be bounded)."""
        return self._state in ("header", "done")

    @property
    def mark(self) -> Tuple[str, int]:
        return self._state, self.received

    @property
    def waiting_for(self) -> str:
        if self._state == "header":
            return "the MLDUMP1 <size> header"
        if self._state == "payload":
            return f"dump bytes (got {self.received} of {self.size})"
        return f"MLDUMP_DONE after the {self.size}-byte dump"

    def step(self, buf: ReplyBuffer) -> Optional[bytes]:
        """Consume what ``buf`` holds; once the reply is complete the log (b"" with a sink), else None."""
        if self._state == "header":
            self._read_header(buf)
            if self._state == "header":
                return None
        if self._state == "payload":
            assert self.size is not None
            chunk = buf.take(self.size - self.received)
            if chunk:
                if self._memory is not None:
                    self._memory += chunk
                else:
                    self._sink.write(chunk)  # type: ignore[union-attr]
                self.received += len(chunk)
                if self._progress is not None:
                    self._progress(self.received, self.size)
            if self.received == self.size:
                self._state = "blank"
        if self._state == "blank":  # exactly one "\n": the firmware's println("\nMLDUMP_DONE")
            first = buf.take(1)
            if not first:
                return None
            if first != b"\n":
                self._garbage((first + buf.partial()).decode("utf-8", errors="replace"))
            self._state = "done"
        line = buf.pop_line()
        if line is None:
            if len(buf.partial()) > len(DUMP_DONE) + 1:
                self._garbage(buf.partial().decode("utf-8", errors="replace"))
            return None
        if line != DUMP_DONE:
            self._garbage(line)
        return bytes(self._memory) if self._memory is not None else b""

    def _read_header(self, buf: ReplyBuffer) -> None:
        while True:
            line = buf.pop_line()
            if line is None:
                return
            if line.startswith(LOG_ERROR):
                raise DeviceReplyError(f"MLDUMP: the device refused: {line!r}", line)
            if line.startswith(DUMP_HEADER):
                text = line[len(DUMP_HEADER) :].strip()
                if not _ASCII_COUNT.fullmatch(text) or int(text) <= 0:
                    raise DeviceProtocolError(f"MLDUMP: bad header {line[:80]!r}: expected 'MLDUMP1 <size>' "
                                              "with a size > 0; nothing was written, pull again")
                size = int(text)
                if size > self.max_size:
                    raise DeviceProtocolError(
                        f"MLDUMP: the device announces {size} bytes, more than the limit of {self.max_size} "
                        "(the blaster's flash holds a few MB); nothing was written. If the log really is "
                        "that big, raise the limit (pull --max-size BYTES)"
                    )
                self.size = size
                self._state = "payload"
                return

    def _garbage(self, seen: str) -> None:
        raise DeviceProtocolError(
            f"MLDUMP: expected {DUMP_DONE!r} right after the {self.size}-byte dump but got {seen[:60]!r}; "
            "a byte was lost or added on the way, so the dump is not trustworthy; nothing was written, pull again"
        )


class ReplyLine:
    """Wait for one of the ``ok`` lines; ``[ml] MLMODEL_ERR <code>`` raises DeviceReplyError."""

    def __init__(self, command: str, *ok: str) -> None:
        self.command = command
        self._ok = ok

    @property
    def waiting_for(self) -> str:
        return " or ".join(repr(o) for o in self._ok) + f" in reply to {self.command}"

    def step(self, buf: ReplyBuffer) -> Optional[str]:
        """The matched ok line, or None while it has not come."""
        while True:
            line = buf.pop_line()
            if line is None:
                return None
            text = line.strip()
            if text in self._ok:
                return text
            if text.startswith(MODEL_ERR):
                code = text[len(MODEL_ERR) :].strip()
                hint = MODEL_ERR_HINTS.get(code, "unknown error code")
                raise DeviceReplyError(f"{self.command}: the device replied {text!r}: {hint}", text)


InfoValue = Union[str, int, float]


class InfoCollector:
    """MLMODEL_INFO reply: ``[ml] key=value`` lines, complete once every key of INFO_KEYS was seen.

    The firmware prints no end marker, so completeness is "all nine keys
    seen"; the caller bounds the wait with a timeout. Values are typed per
    INFO_KEYS; ``[ml] key=value`` lines with other keys are debug output and
    are skipped.
    """

    command = "MLMODEL_INFO"

    def __init__(self) -> None:
        self.values: Dict[str, InfoValue] = {}

    @property
    def waiting_for(self) -> str:
        missing = [k for k in INFO_KEYS if k not in self.values]
        return f"MLMODEL_INFO keys {', '.join(missing)}"

    def step(self, buf: ReplyBuffer) -> Optional[Dict[str, InfoValue]]:
        """The typed info dict once complete, else None."""
        while len(self.values) < len(INFO_KEYS):
            line = buf.pop_line()
            if line is None:
                return None
            match = _INFO_LINE.match(line.strip())
            if match is None or match.group(1) not in INFO_KEYS:
                continue
            key, text = match.group(1), match.group(2).strip()
            try:
                self.values[key] = INFO_KEYS[key](text)
            except ValueError:
                raise DeviceProtocolError(
                    f"MLMODEL_INFO: {key}={text!r} is not a valid {INFO_KEYS[key].__name__}"
                ) from None
        return {k: self.values[k] for k in INFO_KEYS}


class SamplesReceiver:
    """MLINFO reply: ``[ml] samples_written=<n> (~<s>s)`` → n."""

    command = "MLINFO"
    waiting_for = "'[ml] samples_written=<n>' in reply to MLINFO"

    def step(self, buf: ReplyBuffer) -> Optional[int]:
        while True:
            line = buf.pop_line()
            if line is None:
                return None
            match = _SAMPLES_LINE.match(line.strip())
            if match is not None:
                if not _ASCII_COUNT.fullmatch(match.group(1)):
                    raise DeviceProtocolError(f"MLINFO: samples_written={match.group(1)[:40]!r}... is not a "
                                              "plausible sample count; the device or the line is faulty, retry")
                return int(match.group(1))
