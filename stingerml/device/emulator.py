"""A virtual Stinger blaster speaking the firmware's serial protocol (SPEC §12).

:class:`Blaster` is the device as a pure state machine: bytes in
(:meth:`Blaster.receive`), bytes out, plus :meth:`Blaster.poll` for what
happens with time (the upload inactivity timeout); the clock is injectable.
:class:`PtyServer` and :class:`TcpServer` are thin transports that pump bytes
between the machine and a pseudo-terminal or a loopback TCP port, so any
pyserial client (a pty path or ``socket://127.0.0.1:<port>``) can talk to it.

Faults are one-shot: each name given is used once, by the first operation it
applies to (see :data:`FAULTS`).
"""
from __future__ import annotations

import os
import random
import re
import select
import socket
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, Dict, Iterable, List, Optional

from ..blaster import loader
from ..formats import mlmd
from . import protocol

#: Injectable faults: name → what happens.
FAULTS: Dict[str, str] = {
    "dump-drop": "one byte of the next log dump is lost on the way",
    "dump-stall": "the next dump stops halfway and the device goes silent (until reconnect)",
    "dump-disconnect": "the connection drops halfway through the next dump",
    "dump-garbage": "garbage instead of MLDUMP_DONE after the next dump",
    "upload-corrupt": "one byte of the next model upload arrives flipped (MLMODEL_ERR crc)",
    "upload-drop": "one byte of the next model upload is lost (MLMODEL_ERR timeout)",
    "upload-rename": "replacing the model file fails after a good CRC (MLMODEL_ERR rename)",
    "upload-open": "the temporary model file cannot be created (MLMODEL_ERR open)",
    "delete-fail": "deleting the user model files fails (MLMODEL_ERR delete)",
    "mute": "the next command gets no reply at all",
}


@lru_cache(maxsize=None)
def factory_fingerprint() -> Dict[str, Dict[str, str]]:
    """The firmware's built-in weights, fingerprinted as MLMODEL_INFO prints them (parsed on first use)."""
    return {slot: protocol.fingerprint(loader.factory_blob(slot), slot, source=f"factory {slot}")
            for slot in protocol.SLOTS}


def __getattr__(name: str):
    if name == "FACTORY_FINGERPRINT":  # computed on first use: importing the emulator parses no model
        return factory_fingerprint()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: LittleFS file per upload target (None = the legacy single-file commands).
MODEL_FILES: Dict[Optional[str], str] = {"lr": "/ml_model_lr.bin", "mlp": "/ml_model_mlp.bin", None: "/ml_model.bin"}

_PUT = re.compile(r"^MLMODEL_PUT(?:_(LR|MLP))? (.*)$")
_PUT_ARGS = re.compile(r"^\s*\+?(\d+)\s+(?:0[xX])?([0-9a-fA-F]+)")
_DEBUG_LINES = (
    "[imu] gyro_rms={:.1f}",
    "[ml] p_lr={:.4f} p_mlp={:.4f}",
    "[esc] throttle=0 rpm={:.0f}",
    "[batt] {:.2f}V",
    "[ml] recording paused (usb)",
)


@dataclass
class _Upload:
    target: Optional[str]
    remaining: int
    crc: int
    started: float
    data: bytearray = field(default_factory=bytearray)


class Blaster:
    """The device's protocol state machine.

    Args:
        log: the log file to serve (raw 17-byte records); None = no log file on the device.
        clock: seconds, monotonic (inject a fake one in tests).
        seed: seeds the unrelated debug lines.
        debug_rate: probability of an unrelated debug line before each reply line.
        upload_timeout_s: inactivity limit while receiving a model (firmware: 10 s).
        faults: names from :data:`FAULTS`, each used once.
        firing: the blaster is firing (dump and upload refuse with "busy").
        fs_ready: False simulates a filesystem that failed to mount.

    State a test may look at: ``files`` (LittleFS name → bytes), ``fingerprint``
    (the loaded weights' INFO values), ``user_has`` (slot → bool), ``faults``
    (still pending), ``stalled`` and ``disconnect_requested``.
    """

    def __init__(
        self,
        log: Optional[bytes] = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        seed: int = 0,
        debug_rate: float = 0.1,
        upload_timeout_s: float = 10.0,
        faults: Iterable[str] = (),
        firing: bool = False,
        fs_ready: bool = True,
    ) -> None:
        self.faults: List[str] = list(faults)
        unknown = sorted(set(self.faults) - set(FAULTS))
        if unknown:
            raise ValueError(f"unknown fault(s) {', '.join(unknown)}; known: {', '.join(FAULTS)}")
        self.log = log
        self.clock = clock
        self.debug_rate = debug_rate
        self.upload_timeout_s = upload_timeout_s
        self.firing = firing
        self.fs_ready = fs_ready
        self.files: Dict[str, bytes] = {}
        self.fingerprint: Dict[str, str] = {}
        self.user_has = {"lr": False, "mlp": False}
        for slot in protocol.SLOTS:
            self.fingerprint.update(factory_fingerprint()[slot])
        self.stalled = False
        self.disconnect_requested = False
        self._rng = random.Random(seed)
        self._cmd = bytearray()
        self._rx: Optional[_Upload] = None
        self._boot = clock()

    # -- transport hooks -----------------------------------------------------

    def receive(self, data: bytes) -> bytes:
        """Feed bytes sent by the host; returns what the device writes back."""
        out = bytearray()
        i = 0
        while i < len(data) and not self.stalled:
            if self._rx is not None:
                n = min(self._rx.remaining, len(data) - i)
                out += self._upload_bytes(data[i : i + n])
                i += n
                continue
            c = data[i]
            i += 1
            if not self._cmd and c != ord("M"):
                continue  # the firmware leaves non-command bytes to other consumers
            if c in (0x0A, 0x0D):
                command = self._cmd.decode("latin-1")
                self._cmd.clear()
                out += self._run(command)
            elif len(self._cmd) < protocol.MAX_COMMAND_CHARS:
                self._cmd.append(c)
            else:
                self._cmd.clear()
        return bytes(out)

    def poll(self) -> bytes:
        """Time-driven output: ``MLMODEL_ERR timeout`` after ``upload_timeout_s`` without upload bytes."""
        if self._rx is not None and self.clock() - self._rx.started > self.upload_timeout_s:
            self._rx = None
            return self._println("[ml] MLMODEL_ERR timeout")
        return b""

    def reset_connection(self) -> None:
        """A new host connection: a stalled device talks again, half-typed commands and a
        half-finished upload are dropped (the previous model file is kept)."""
        self.stalled = False
        self.disconnect_requested = False
        self._cmd.clear()
        self._rx = None

    # -- output ----------------------------------------------------------------

    def _debug(self) -> bytes:
        if self._rng.random() >= self.debug_rate:
            return b""
        template = self._rng.choice(_DEBUG_LINES)
        values = [self._rng.random() * 300 for _ in range(template.count("{"))]
        return (template.format(*values) + "\r\n").encode("ascii")

    def _println(self, text: str) -> bytes:
        """Arduino ``Serial.println``: ends in ``\\r\\n``."""
        return self._debug() + text.encode("ascii") + b"\r\n"

    def _printf(self, text: str) -> bytes:
        """The firmware's ``Serial.printf("...\\n")``: ends in ``\\n``."""
        return self._debug() + text.encode("ascii") + b"\n"

    def _take_fault(self, name: str) -> bool:
        if name in self.faults:
            self.faults.remove(name)
            return True
        return False

    # -- commands --------------------------------------------------------------

    def _run(self, command: str) -> bytes:
        if self._take_fault("mute"):
            return b""
        if command == "MLDUMP":
            return self._dump()
        if command == "MLINFO":
            n = len(self.log) // 17 if self.log else 0
            return self._printf(f"[ml] samples_written={n} (~{n / 100.0:.1f}s)")
        if command == "MLMODEL_INFO":
            return self._info()
        if command in ("MLMODEL_LOAD", "MLMODEL_LOAD_LR", "MLMODEL_LOAD_MLP"):
            target = command[len("MLMODEL_LOAD_") :].lower() or None
            ok = self._load(target)
            return self._println("[ml] MLMODEL_LOADED" if ok else "[ml] MLMODEL_ERR load")
        if command == "MLMODEL_DELETE":
            return self._delete()
        put = _PUT.match(command)
        if put is not None:
            return self._put(put.group(1).lower() if put.group(1) else None, put.group(2))
        return b""

    def _dump(self) -> bytes:
        if not self.fs_ready:
            return self._println("[ml] ERROR: filesystem not ready")
        if self.firing:
            return self._println("[ml] ERROR: busy (firing)")
        if self.log is None:
            return self._println("[ml] ERROR: no log file")
        if not self.log:
            return self._println("[ml] ERROR: no log data")
        size = len(self.log)
        out = bytearray(self._printf(f"MLDUMP1 {size}"))
        half = size // 2
        payload = self.log
        if self._take_fault("dump-drop"):
            payload = payload[:half] + payload[half + 1 :]
        if self._take_fault("dump-stall"):
            self.stalled = True
            return bytes(out + payload[:half])
        if self._take_fault("dump-disconnect"):
            self.stalled = self.disconnect_requested = True
            return bytes(out + payload[:half])
        out += payload
        out += b"\n#\xfe\x13 garbage\r\n" if self._take_fault("dump-garbage") else b"\nMLDUMP_DONE\r\n"
        return bytes(out)

    def _info(self) -> bytes:
        age = int((self.clock() - self._boot) * 1000) % 10  # the firmware refreshes its inference every 10 ms
        lines = [
            f"model_source={'user' if any(self.user_has.values()) else 'factory'}",
            f"user_model_present={int(bool(self.files))}",
            f"user_has_lr={int(self.user_has['lr'])}",
            f"user_has_mlp={int(self.user_has['mlp'])}",
            f"cached_age_ms={age}",
        ] + [f"{key}={self.fingerprint[key]}" for slot in protocol.SLOTS for key in protocol.FINGERPRINT_KEYS[slot]]
        return b"".join(self._printf("[ml] " + line) for line in lines)

    def _put(self, target: Optional[str], args: str) -> bytes:
        if not self.fs_ready:
            return self._println("[ml] MLMODEL_ERR fs")
        if self.firing:
            return self._println("[ml] MLMODEL_ERR busy")
        match = _PUT_ARGS.match(args)
        if match is None or not 0 < int(match.group(1)) <= protocol.MAX_MODEL_BYTES:
            return self._println("[ml] MLMODEL_ERR args")
        if self._take_fault("upload-open"):
            return self._println("[ml] MLMODEL_ERR open")
        crc = int(match.group(2), 16) & 0xFFFFFFFF
        self._rx = _Upload(target, int(match.group(1)), crc, self.clock())
        return self._println("[ml] MLMODEL_READY")

    def _upload_bytes(self, chunk: bytes) -> bytes:
        rx = self._rx
        assert rx is not None
        if chunk and self._take_fault("upload-corrupt"):
            chunk = bytes([chunk[0] ^ 0x5A]) + chunk[1:]
        if chunk and self._take_fault("upload-drop"):
            chunk = chunk[1:]
        rx.data += chunk
        rx.remaining -= len(chunk)
        rx.started = self.clock()
        if rx.remaining:
            return b""
        self._rx = None
        if mlmd.crc32(bytes(rx.data)) != rx.crc:
            return self._println("[ml] MLMODEL_ERR crc")
        name = MODEL_FILES[rx.target]
        self.files.pop(name, None)  # the firmware removes the old file, then renames the temp file
        if self._take_fault("upload-rename"):
            return self._println("[ml] MLMODEL_ERR rename")
        self.files[name] = bytes(rx.data)
        return self._println("[ml] MLMODEL_OK")

    def _load(self, target: Optional[str]) -> bool:
        blob = self.files.get(MODEL_FILES[target])
        if blob is None:
            return False
        slot = target or {mlmd.MODEL_LR: "lr", mlmd.MODEL_MLP: "mlp"}.get(blob[8] if len(blob) > 8 else -1)
        if slot is None:  # a legacy file of no known model type: nothing is touched
            return False
        if loader.validate(blob, slot).accepted:
            self.fingerprint.update(protocol.fingerprint(blob, slot))
            self.user_has[slot] = True
            return True
        self.fingerprint.update(factory_fingerprint()[slot])  # a rejected file leaves the factory weights
        self.user_has[slot] = False
        return False

    def _delete(self) -> bytes:
        if self._take_fault("delete-fail"):
            return self._println("[ml] MLMODEL_ERR delete")
        self.files.clear()
        for slot in protocol.SLOTS:
            self.fingerprint.update(factory_fingerprint()[slot])
            self.user_has[slot] = False
        return self._println("[ml] MLMODEL_DELETED")


class _Server:
    """Pumps bytes between a :class:`Blaster` and one connection, in a thread or in the foreground."""

    url: str

    def __init__(self, blaster: Blaster) -> None:
        self.blaster = blaster
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def start(self) -> "_Server":
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self.serve, name=f"stingerml-emulator {self.url}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the pty / socket."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._close()

    @property
    def running(self) -> bool:
        """True while the serving thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> "_Server":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def serve(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _close(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _pump(self, fd: int, recv: Callable[[], bytes], send: Callable[[bytes], int]) -> bool:
        """Serve one connection; True when the device dropped it (fault), False when the peer left or stop()."""
        out = bytearray()
        while not self._stop.is_set():
            readable, _, _ = select.select([fd], [fd] if out else [], [], 0.02)
            if readable:
                try:
                    data = recv()
                except BlockingIOError:
                    data = None
                except OSError:
                    return False
                if data == b"":
                    return False
                if data:
                    out += self.blaster.receive(data)
            out += self.blaster.poll()
            if out:
                try:
                    del out[: send(bytes(out[:65536]))]
                except BlockingIOError:
                    pass
                except OSError:
                    return False
            if self.blaster.disconnect_requested and not out:
                return True
        return False


class PtyServer(_Server):
    """The blaster on a pseudo-terminal; ``url`` is the slave path (``/dev/pts/N``).

    A ``dump-disconnect`` fault closes the pty: like an unplugged blaster, it
    is gone for good.
    """

    def __init__(self, blaster: Blaster) -> None:
        import tty  # POSIX only, like os.openpty: keep the package importable on Windows

        super().__init__(blaster)
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.url = os.ttyname(self._slave)

    def serve(self) -> None:
        """Serve until stop() or a disconnect fault."""
        master = self._master
        if self._pump(master, lambda: os.read(master, 4096), lambda b: os.write(master, b)):
            self._close()

    def _close(self) -> None:
        for fd in (self._master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass
        self._master = self._slave = -1


class TcpServer(_Server):
    """The blaster on a TCP port of 127.0.0.1 (one connection at a time); ``url`` is ``socket://127.0.0.1:<port>``.

    ``port=0`` picks a free port.
    """

    def __init__(self, blaster: Blaster, port: int = 0) -> None:
        super().__init__(blaster)
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", port))
        self._listener.listen(1)
        self.port = self._listener.getsockname()[1]
        self.url = f"socket://127.0.0.1:{self.port}"

    def serve(self) -> None:
        """Accept and serve connections until stop()."""
        while not self._stop.is_set():
            readable, _, _ = select.select([self._listener], [], [], 0.05)
            if not readable:
                continue
            conn, _ = self._listener.accept()
            with conn:
                conn.setblocking(False)
                self.blaster.reset_connection()
                self._pump(conn.fileno(), lambda: conn.recv(4096), conn.send)

    def _close(self) -> None:
        self._listener.close()
