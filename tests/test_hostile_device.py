"""A hostile device on the serial line (issue 15): it chatters, never answers, stalls, floods, sends
bytes without a line end, announces absurd sizes. Every client command returns within its timeout
plus a small margin, with one ``error:`` line and exit code 1, bounded memory and no file written.

Before the fix, ``pull`` from a chattering device never returned (any byte restarted the timeout)
and an absurd announced size made it buffer the flood in memory.
"""
from __future__ import annotations

import os
import socket
import threading
import time
import tracemalloc
from pathlib import Path

import pytest

pytest.importorskip("serial")

from stingerml.cli import main  # noqa: E402
from stingerml.device import DeviceClient, DeviceProtocolError, DeviceTimeoutError  # noqa: E402

TIMEOUT = 0.3
MARGIN = 2.0  # generous: the machine is shared; a hang is what is caught
LIFETIME = 8.0  # the device gives up after this long, so a client that hangs still ends the test
LR = (Path(__file__).resolve().parent.parent / "vectors" / "browser" / "session_a.lr.mlmd").read_bytes()


def _chatter(conn, stop):
    n = 0
    while not stop.is_set():
        conn.sendall(b"[dbg] imu ok %d\r\n" % n)
        n += 1
        time.sleep(0.005)


def _no_line_end(conn, stop):
    while not stop.is_set():
        conn.sendall(b"x" * 65536)


def _flood_lines(conn, stop):
    while not stop.is_set():
        conn.sendall(b"[ml] junk=1\n" * 5000)


def _silent(conn, stop):
    stop.wait()


def _stall(conn, stop):
    conn.sendall(b"MLDUMP1 1000\n" + b"\0" * 500 + b"[ml] MLMODEL_READY\n"[:5])
    stop.wait()


def _absurd(conn, stop):
    conn.sendall(b"MLDUMP1 1000000000000\n")
    _no_line_end(conn, stop)


def _big_then_stall(conn, stop):
    conn.sendall(b"MLDUMP1 50000000\n")
    for _ in range(20):
        conn.sendall(b"\0" * 65536)
    stop.wait()


def _header_chatter(conn, stop):
    """Announces a dump, then only chatters (lines that are not dump bytes never arrive: all
    bytes after the header are payload, so this is a flood that then stalls)."""
    conn.sendall(b"[dbg] boot\n" * 3 + b"MLDUMP1 \xc2\xb2\n")
    _chatter(conn, stop)


def _trickle(conn, stop):
    """A dump whose bytes come just fast enough never to stall (issue 29: `pull --timeout 2` on one
    byte every 1.5 s ran for the whole 42-minute dump)."""
    conn.sendall(b"MLDUMP1 100\n")
    while not stop.wait(TIMEOUT * 0.6):
        conn.sendall(b"\0")


BEHAVIOURS = {
    "trickle": _trickle,
    "chatter": _chatter, "no-line-end": _no_line_end, "flood-lines": _flood_lines, "silent": _silent,
    "stall": _stall, "absurd-size": _absurd, "big-then-stall": _big_then_stall, "bad-size": _header_chatter,
}


class HostileDevice:
    """A TCP server whose every connection runs one behaviour after the first command byte."""

    def __init__(self, behaviour):
        self.behaviour = behaviour
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.url = "socket://127.0.0.1:%d" % self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        self.sock.settimeout(0.1)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        stop = threading.Event()
        timer = threading.Timer(LIFETIME, stop.set)
        timer.start()
        try:
            conn.settimeout(LIFETIME)
            conn.recv(64)
            watcher = threading.Thread(target=lambda: (self.stop.wait(), stop.set()), daemon=True)
            watcher.start()
            self.behaviour(conn, stop)
        except OSError:
            pass  # the client went away
        finally:
            timer.cancel()
            conn.close()

    def close(self):
        self.stop.set()
        self.sock.close()
        self.thread.join(2)


@pytest.fixture
def device():
    made = []

    def start(name):
        made.append(HostileDevice(BEHAVIOURS[name]))
        return made[-1]

    yield start
    for d in made:
        d.close()


COMMANDS = {
    "pull": lambda tmp: ["pull", "-o", str(tmp / "log.bin")],
    "info": lambda tmp: ["info"],
    "delete": lambda tmp: ["delete"],
    "push": lambda tmp: ["push", "--lr", str(tmp.parent / "lr.mlmd")],
}
CASES = [("pull", b) for b in BEHAVIOURS] + [
    (c, b) for c in ("info", "delete", "push") for b in ("chatter", "no-line-end", "flood-lines", "silent")]


@pytest.mark.parametrize("command,behaviour", CASES)
def test_every_command_returns_within_its_timeout(tmp_path, device, capsys, command, behaviour):
    (tmp_path / "lr.mlmd").write_bytes(LR)
    out = tmp_path / "out"
    out.mkdir()
    dev = device(behaviour)
    started = time.monotonic()
    code = main([*COMMANDS[command](out), "--port", dev.url, "--timeout", str(TIMEOUT)])
    elapsed = time.monotonic() - started
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1 and err[0].startswith("error:"), err
    assert elapsed < TIMEOUT * (2 if command == "info" else 1) + MARGIN, f"{elapsed:.1f} s"
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("behaviour", ["no-line-end", "absurd-size", "flood-lines"])
def test_pull_memory_stays_bounded(tmp_path, device, behaviour):
    dev = device(behaviour)
    tracemalloc.start()
    try:
        with DeviceClient(dev.url, timeout=TIMEOUT) as client:
            with pytest.raises((DeviceTimeoutError, DeviceProtocolError)):
                client.pull_log_to(tmp_path / "log.bin")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * 1024, f"peak {peak} bytes"
    assert os.listdir(tmp_path) == []


def test_absurd_size_names_the_option(device):
    dev = device("absurd-size")
    with DeviceClient(dev.url, timeout=TIMEOUT) as client:
        with pytest.raises(DeviceProtocolError, match="--max-size"):
            client.pull_log()


def test_a_stalled_big_dump_is_streamed_not_kept(tmp_path, device):
    """Within the bound, a dump is written to a temporary file beside the output (removed on failure)."""
    dev = device("big-then-stall")
    tracemalloc.start()
    try:
        with DeviceClient(dev.url, timeout=TIMEOUT) as client:
            with pytest.raises(DeviceTimeoutError, match="got 1310720 of 50000000"):
                client.pull_log_to(tmp_path / "log.bin")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 1024, f"peak {peak} bytes"
    assert os.listdir(tmp_path) == []


def test_a_pty_closed_during_an_upload_is_a_disconnect(monkeypatch):
    """termios.error (no OSError) from a pty that went away mid-upload: one error, no traceback."""
    termios = pytest.importorskip("termios")
    from stingerml.device import DeviceDisconnectedError

    with DeviceClient("loop://", timeout=TIMEOUT) as client:
        def gone(*args):
            raise termios.error(5, "Input/output error")

        monkeypatch.setattr(client._ser, "flush", gone)
        with pytest.raises(DeviceDisconnectedError, match="still connected"):
            client.upload(LR, "lr")


def test_a_trickling_dump_ends_at_its_overall_deadline(device):
    from stingerml.device.protocol import MIN_DUMP_RATE

    dev = device("trickle")
    started = time.monotonic()
    with DeviceClient(dev.url, timeout=TIMEOUT) as client:
        with pytest.raises(DeviceTimeoutError, match=rf"the 100-byte dump did not arrive within .* {MIN_DUMP_RATE} bytes/s"):
            client.pull_log()
    assert time.monotonic() - started < TIMEOUT + 100 / MIN_DUMP_RATE + MARGIN
