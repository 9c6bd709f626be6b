"""Talk to a blaster (or the emulator) over anything ``serial.serial_for_url`` opens.

A real port (``/dev/ttyACM0``, ``COM5``), a pty path, ``socket://host:port`` or
``loop://`` are all the same to :class:`DeviceClient`. pyserial is imported
only when a client is opened (``pip install 'stingerml[serial]'``).
"""
from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import BinaryIO, Dict, Optional

from ..core.atomic import PathLike, output_error, temp_beside
from ..core.errors import OutputError
from ..core.progress import Tick
from . import protocol
from .discovery import find_port, import_serial
from .errors import DeviceDisconnectedError, DeviceError, DeviceTimeoutError, FingerprintMismatchError
from .protocol import InfoValue, ReplyBuffer

_IDLE_SLEEP_S = 0.002
_READ_CHUNK = 65536


def _io_errors(serial_exception: type) -> tuple:
    """What a closed or failing port raises: pyserial's exception, OSError, termios.error (a pty
    closed under the client, which is no OSError)."""
    errors = [serial_exception, OSError]
    try:
        import termios

        errors.append(termios.error)
    except ImportError:  # not POSIX
        pass
    return tuple(errors)


class DeviceClient:
    """A connection to one blaster.

    Args:
        port: port path or pyserial URL; None discovers the blaster (SPEC §12).
        timeout: seconds any single wait may last (a reply, the dump header, each
            stall of the dump: the dump itself may take longer as long as its bytes
            keep coming; other chatter never extends a wait).
        chunk_size: bytes per write while uploading a model.

    Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, port: Optional[str] = None, *, timeout: float = 5.0, chunk_size: int = 256) -> None:
        serial = import_serial()
        self.port = port if port is not None else find_port()
        self.timeout = timeout
        self.chunk_size = chunk_size
        self._serial_exception = _io_errors(serial.SerialException)
        try:
            self._ser = serial.serial_for_url(
                self.port, baudrate=protocol.BAUDRATE, timeout=0, write_timeout=timeout
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            raise DeviceError(f"cannot open {self.port}: {exc}") from None
        self._buf = ReplyBuffer()

    def __enter__(self) -> "DeviceClient":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Close the port (a port that already went away closes quietly)."""
        with contextlib.suppress(*self._serial_exception):
            self._ser.close()

    # -- low level -------------------------------------------------------

    def _send(self, data: bytes) -> None:
        try:
            self._ser.write(data)
            self._ser.flush()
        except self._serial_exception as exc:
            raise DeviceDisconnectedError(f"{self.port}: writing failed ({exc}); is the blaster still connected?") from None

    def _command(self, command: str) -> None:
        """Drop stale input, then send one command line."""
        try:
            self._ser.reset_input_buffer()
        except self._serial_exception as exc:
            raise DeviceDisconnectedError(f"{self.port}: {exc}; is the blaster still connected?") from None
        self._buf = ReplyBuffer()
        self._send(command.encode("ascii") + b"\n")

    def _await(self, expectation, command: str, *, timeout: Optional[float] = None):
        """Step ``expectation`` over incoming bytes until it returns a result.

        The wait is bounded by ``timeout`` seconds (default ``self.timeout``) whatever
        else the device sends (debug lines, bytes without a line end): only an
        expectation with a ``mark`` that changes (the dump advancing) restarts the
        bound, so it then bounds each stall. While lines are expected, an unfinished
        line is cut to :data:`protocol.MAX_LINE_BYTES`, so memory stays bounded.
        """
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        mark = getattr(expectation, "mark", None)
        while True:
            result = expectation.step(self._buf)
            if result is not None:
                return result
            now = time.monotonic()
            new_mark = getattr(expectation, "mark", None)
            if new_mark != mark:
                mark, deadline = new_mark, now + limit
            elif now >= deadline:
                raise DeviceTimeoutError(
                    f"{command}: no {expectation.waiting_for} within {limit:g} s ({self._buf.last_said()}); "
                    "check the cable and that the blaster is idle, then retry"
                )
            if getattr(expectation, "reading_lines", True):
                self._buf.bound_partial()
            try:
                data = self._ser.read(_READ_CHUNK)  # non-blocking: whatever has arrived
            except self._serial_exception as exc:
                raise DeviceDisconnectedError(
                    f"{command}: the device went away while waiting for {expectation.waiting_for} ({exc}); "
                    f"{self._buf.last_said()}; nothing was written"
                ) from None
            if data:
                self._buf.feed(data)
            else:
                time.sleep(_IDLE_SLEEP_S)

    # -- commands --------------------------------------------------------

    def pull_log(self, progress: Optional[Tick] = None, *, max_size: int = protocol.MAX_DUMP_BYTES) -> bytes:
        """The device log (MLDUMP), exactly as many bytes as the device announced.

        ``progress(received, total)`` is called as bytes arrive. ``timeout`` bounds
        the wait for the header and each stall of the dump; a size above
        ``max_size`` bytes is refused before any payload is read.

        Raises:
            DeviceReplyError: the device refused (no log, busy firing, filesystem not ready).
            DeviceProtocolError: a bad or too large size, or the dump was followed by
                something other than MLDUMP_DONE.
            DeviceTimeoutError / DeviceDisconnectedError: the dump stopped short.
        """
        self._command("MLDUMP")
        return self._await(protocol.DumpReceiver(progress, max_size=max_size), "MLDUMP")

    def pull_log_to(self, path: PathLike, progress: Optional[Tick] = None, *,
                    max_size: int = protocol.MAX_DUMP_BYTES) -> int:
        """Pull the log into ``path`` (``"-"``: standard output); returns its size in bytes.

        The dump is streamed to a temporary file beside ``path`` (memory stays
        bounded) and renamed into place only once it arrived whole and was
        verified; otherwise nothing is written and the temporary file is removed.

        Raises:
            OutputError: the folder of ``path`` does not exist or cannot be written.
        """
        if str(path) == "-":
            with tempfile.TemporaryFile() as fh:
                size = self._pull_into(fh, progress, max_size)
                fh.seek(0)
                shutil.copyfileobj(fh, sys.stdout.buffer)
                sys.stdout.buffer.flush()
            return size
        target = Path(path)
        try:
            if target.is_dir():
                raise IsADirectoryError(21, "Is a directory", str(target))
            fd, tmp = temp_beside(target)
        except OSError as exc:
            raise output_error(target, exc) from None
        try:
            with os.fdopen(fd, "wb") as fh:
                size = self._pull_into(fh, progress, max_size)
                fh.flush()
                os.fsync(fh.fileno())
                os.replace(tmp, target)  # before closing: the lock keeps sweepers away
        except DeviceError:  # DeviceTimeoutError and DeviceDisconnectedError are OSErrors too
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise OutputError(f"{target}: cannot write the log: {exc.strerror or exc}; nothing was written. "
                              "Free some space or choose another -o") from None
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return size

    def _pull_into(self, sink: BinaryIO, progress: Optional[Tick], max_size: int) -> int:
        self._command("MLDUMP")
        receiver = protocol.DumpReceiver(progress, sink=sink, max_size=max_size)
        self._await(receiver, "MLDUMP")
        return receiver.received

    def upload(self, blob: bytes, slot: str = "lr") -> None:
        """Store a model file in the device's ``'lr'`` or ``'mlp'`` slot (not loaded yet: see :meth:`load`).

        Raises:
            DeviceReplyError: ``[ml] MLMODEL_ERR fs|busy|open|args|crc|rename|timeout``.
        """
        protocol.check_slot(slot)
        if not 1 <= len(blob) <= protocol.MAX_MODEL_BYTES:
            raise DeviceError(f"a model file must be 1..{protocol.MAX_MODEL_BYTES} bytes, this one is {len(blob)}")
        command = protocol.put_command(blob, slot).decode("ascii").strip()
        name = command.split()[0]
        self._command(command)
        self._await(protocol.ReplyLine(name, protocol.READY), name)
        for start in range(0, len(blob), self.chunk_size):
            self._send(blob[start : start + self.chunk_size])
        self._await(protocol.ReplyLine(name, protocol.OK), name)

    def load(self, slot: str) -> None:
        """Load the stored user model of ``slot`` into the running firmware.

        Raises:
            DeviceReplyError: ``[ml] MLMODEL_ERR load`` (missing or rejected file; the slot runs factory weights).
        """
        command = protocol.load_command(slot).decode("ascii").strip()
        self._command(command)
        self._await(protocol.ReplyLine(command, protocol.LOADED), command)

    def info(self) -> Dict[str, InfoValue]:
        """MLMODEL_INFO as a typed dict (keys and types: :data:`protocol.INFO_KEYS`).

        The reply has no end marker: it is complete when all nine keys have
        arrived; a missing key ends in DeviceTimeoutError naming it.
        """
        self._command("MLMODEL_INFO")
        return self._await(protocol.InfoCollector(), "MLMODEL_INFO")

    def samples_written(self) -> int:
        """MLINFO: how many 17-byte samples the current log session holds (100 per second)."""
        self._command("MLINFO")
        return self._await(protocol.SamplesReceiver(), "MLINFO")

    def delete(self) -> None:
        """Delete the user model files; the device reverts to factory weights."""
        self._command("MLMODEL_DELETE")
        self._await(protocol.ReplyLine("MLMODEL_DELETE", protocol.DELETED), "MLMODEL_DELETE")

    def push(
        self, models: Dict[str, bytes], *, load: bool = True, sources: Optional[Dict[str, str]] = None
    ) -> Optional[Dict[str, InfoValue]]:
        """Upload ``{'lr': blob, 'mlp': blob}`` (either or both); with ``load``, load them and verify.

        Every file is checked locally first (a valid MLMD model of its slot's
        kind), so a wrong file never reaches the device. After loading, the
        device's INFO must report the slot as user-loaded and its fingerprint
        must equal the file's; returns that INFO (None without ``load``).

        Raises:
            ModelFormatError: a file is not a model of its slot.
            FingerprintMismatchError: the device runs different weights than uploaded.
        """
        sources = sources or {}
        expected = {slot: protocol.fingerprint(blob, slot, source=sources.get(slot, f"<{slot} model>"))
                    for slot, blob in models.items()}
        for slot, blob in models.items():
            self.upload(blob, slot)
        if not load:
            return None
        for slot in models:
            self.load(slot)
        info = self.info()
        verify_fingerprint(info, expected)
        return info


def verify_fingerprint(info: Dict[str, InfoValue], expected: Dict[str, Dict[str, str]]) -> None:
    """Check INFO against the fingerprints (:func:`protocol.fingerprint`) of the files uploaded per slot.

    Raises:
        FingerprintMismatchError: listing every differing value.
    """
    problems = []
    for slot, values in expected.items():
        if info.get(f"user_has_{slot}") != 1:
            problems.append(f"user_has_{slot}={info.get(f'user_has_{slot}')} (expected 1)")
        for key, want in values.items():
            got = "%.6f" % info[key]
            if got != want:
                problems.append(f"{key}: device {got}, file {want}")
    if problems:
        raise FingerprintMismatchError(
            "the device is not running the uploaded model: " + "; ".join(problems)
            + ". Push again; if it persists, the firmware may reject the file"
        )
