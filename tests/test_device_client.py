"""The pyserial client against the virtual blaster on a pty and on a loopback TCP port."""
from __future__ import annotations

import struct
import sys
import threading
import zlib
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import trained, use_backend

from stingerml.blaster.settings import TRAIN_PIPELINE
from stingerml.core.errors import ModelFormatError, StingerError
from stingerml.device import (
    Blaster,
    DeviceClient,
    DeviceDisconnectedError,
    DeviceError,
    DeviceProtocolError,
    DeviceReplyError,
    DeviceTimeoutError,
    FingerprintMismatchError,
    PortNotFoundError,
    PtyServer,
    SerialUnavailableError,
    TcpServer,
    verify_fingerprint,
)
from stingerml.device.discovery import choose_port, find_port, port_matches

ROOT = Path(__file__).resolve().parent.parent / "vectors"
LOG = (ROOT / "sessions" / "session_a.bin").read_bytes()
LR = (ROOT / "browser" / "session_a.lr.mlmd").read_bytes()
MLP = (ROOT / "browser" / "session_a.mlp.mlmd").read_bytes()
FACTORY_LR = (ROOT / "firmware" / "factory_lr.mlmd").read_bytes()
TIMEOUT = 2.0


def f32(blob: bytes, index: int) -> float:
    return struct.unpack_from("<f", blob, 24 + 4 * index)[0]


@pytest.fixture(autouse=True)
def no_threads_left():
    yield
    left = [t.name for t in threading.enumerate() if t.name.startswith("stingerml-emulator")]
    assert left == [], f"emulator threads still running: {left}"


@pytest.fixture
def serve():
    """serve(kind='tcp', **blaster_kwargs) -> (server, blaster); servers are stopped after the test."""
    pytest.importorskip("serial")  # the client talks through pyserial (the [serial] extra)
    servers = []

    def start(kind: str = "tcp", log=LOG, **kwargs):
        blaster = Blaster(log, debug_rate=kwargs.pop("debug_rate", 0.3), seed=kwargs.pop("seed", 1), **kwargs)
        server = (PtyServer if kind == "pty" else TcpServer)(blaster).start()
        servers.append(server)
        return server, blaster

    yield start
    for server in servers:
        server.stop()


@pytest.mark.parametrize("models", [
    "browser files",  # the browser's own model files for session_a
    "numba",  # trained here from the pulled log, numba backend
    pytest.param("python", marks=pytest.mark.slow),  # trained here, pure Python (minutes)
])
def test_end_to_end_on_a_pty(serve, tmp_path, models):
    server, blaster = serve("pty")
    assert server.url.startswith("/dev/")
    out = tmp_path / "pulled.bin"
    with DeviceClient(server.url, timeout=TIMEOUT) as client:
        seen = []
        assert client.pull_log_to(out, progress=lambda got, total: seen.append((got, total))) == len(LOG)
        assert out.read_bytes() == LOG
        assert seen[-1] == (len(LOG), len(LOG))
        assert client.samples_written() == len(LOG) // 17
        assert client.info()["model_source"] == "factory"
        lr, mlp = LR, MLP
        if models != "browser files":
            with use_backend(models):  # pull -> train -> push (trainPipeline's defaults)
                result = trained(out.read_bytes(), TRAIN_PIPELINE)  # shared with test_pipeline's session_a run
            lr, mlp = result.lr_blob, result.mlp_blob
            assert (lr, mlp) == (LR, MLP)  # byte-identical to the browser's files
        info = client.push({"lr": lr, "mlp": mlp})
    assert (info["model_source"], info["user_has_lr"], info["user_has_mlp"], info["user_model_present"]) == (
        "user", 1, 1, 1)
    expected = {"lr_intercept": f32(LR, 54), "lr_coef[0]": f32(LR, 36),
                "mlp_b3": f32(MLP, (len(MLP) - 24) // 4 - 1), "mlp_w1[0]": f32(MLP, 60)}
    assert {k: "%.6f" % info[k] for k in expected} == {k: "%.6f" % v for k, v in expected.items()}
    assert blaster.files == {"/ml_model_lr.bin": LR, "/ml_model_mlp.bin": MLP}


def test_tcp_session_with_debug_chatter_on_every_line(serve):
    server, blaster = serve(debug_rate=1.0)
    with DeviceClient(server.url, timeout=TIMEOUT, chunk_size=1000) as client:
        assert client.pull_log() == LOG
        client.upload(LR, "lr")
        client.load("lr")
        info = client.info()
        assert (info["model_source"], info["user_has_lr"], info["user_has_mlp"]) == ("user", 1, 0)
        client.delete()
        assert client.info()["model_source"] == "factory"
    with DeviceClient(server.url, timeout=TIMEOUT) as client:  # a second connection to the same blaster
        assert client.info()["user_model_present"] == 0


def test_loop_url_and_timeouts_say_what_the_device_last_said():
    pytest.importorskip("serial")
    with DeviceClient("loop://", timeout=0.2) as client:  # loop:// echoes the command back
        with pytest.raises(DeviceTimeoutError, match=r"MLINFO.*within 0.2 s.*last said 'MLINFO'"):
            client.samples_written()


# -- faults: a clear error and never a partial file ----------------------------------


@pytest.mark.parametrize("fault, error, message", [
    ("dump-drop", DeviceProtocolError, "a byte was lost or added"),
    ("dump-garbage", DeviceProtocolError, "expected 'MLDUMP_DONE'"),
    ("dump-stall", DeviceTimeoutError, r"got 255000 of 510000"),
    ("dump-disconnect", DeviceDisconnectedError, "went away"),
    ("mute", DeviceTimeoutError, "MLDUMP1 <size> header"),
])
@pytest.mark.parametrize("kind", ["tcp", "pty"])
def test_dump_faults_write_nothing(serve, tmp_path, fault, error, message, kind):
    server, _ = serve(kind, faults=[fault])
    target = tmp_path / "log.bin"
    target.write_bytes(b"previous pull")
    with DeviceClient(server.url, timeout=0.5) as client:
        with pytest.raises(error, match=message):
            client.pull_log_to(target)
    assert target.read_bytes() == b"previous pull"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.bin"]  # no temp file left either


@pytest.mark.parametrize("kwargs, line", [
    (dict(log=None), "no log file"),
    (dict(log=b""), "no log data"),
    (dict(fs_ready=False), "filesystem not ready"),
    (dict(firing=True), "busy"),
])
def test_dump_refusals(serve, tmp_path, kwargs, line):
    server, _ = serve(**kwargs)
    with DeviceClient(server.url, timeout=TIMEOUT) as client:
        with pytest.raises(DeviceReplyError, match=line):
            client.pull_log_to(tmp_path / "log.bin")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kwargs, code", [
    (dict(firing=True), "busy"),
    (dict(fs_ready=False), "fs"),
    (dict(faults=["upload-open"]), "open"),
    (dict(faults=["upload-corrupt"]), "crc"),
    (dict(faults=["upload-rename"]), "rename"),
    (dict(faults=["upload-drop"], upload_timeout_s=0.3), "timeout"),
])
def test_upload_err_replies(serve, kwargs, code):
    server, _ = serve(**kwargs)
    with DeviceClient(server.url, timeout=TIMEOUT) as client:
        with pytest.raises(DeviceReplyError, match=f"MLMODEL_PUT_LR: the device replied '\\[ml\\] MLMODEL_ERR {code}'"):
            client.upload(LR, "lr")


def test_corrupted_upload_is_refused_and_the_previous_model_stays_in_use(serve):
    server, blaster = serve()
    with DeviceClient(server.url, timeout=TIMEOUT) as client:
        before = client.push({"lr": LR})
        blaster.faults.append("upload-corrupt")
        with pytest.raises(DeviceReplyError, match="crc"):
            client.push({"lr": FACTORY_LR})
        after = client.info()
        assert after == {**before, "cached_age_ms": after["cached_age_ms"]}  # the age ticks; all else unchanged
        client.load("lr")  # the stored file is still the first one
        verify_fingerprint(client.info(), {"lr": {"lr_intercept": "%.6f" % f32(LR, 54)}})


def test_load_delete_and_local_errors(serve):
    server, blaster = serve(faults=["delete-fail"])
    with DeviceClient(server.url, timeout=TIMEOUT) as client:
        with pytest.raises(DeviceReplyError, match="ERR load.*factory weights"):
            client.load("mlp")  # nothing uploaded
        with pytest.raises(DeviceReplyError, match="ERR delete"):
            client.delete()
        client.delete()
        bad = bytearray(LR)
        bad[24 + 4 * 40: 24 + 4 * 41] = struct.pack("<f", float("nan"))
        bad[20:24] = struct.pack("<I", zlib.crc32(bytes(bad[24:])))
        client.upload(bytes(bad), "lr")  # the device stores anything with a good file CRC...
        with pytest.raises(DeviceReplyError, match="ERR load"):
            client.load("lr")  # ...but its loader refuses non-finite weights
        with pytest.raises(ModelFormatError, match="MLP model, it cannot go into the lr slot"):
            client.push({"lr": MLP})
        with pytest.raises(DeviceError, match="1..199999 bytes"):
            client.upload(b"\0" * 200000, "mlp")
        with pytest.raises(ValueError):
            client.load("svm")
    assert blaster.files == {"/ml_model_lr.bin": bytes(bad)}


def test_fingerprint_mismatch_is_an_error(serve):
    server, blaster = serve()
    with DeviceClient(server.url, timeout=TIMEOUT) as client:
        client.push({"mlp": MLP}, load=False)
        client.load("mlp")
        blaster.fingerprint["mlp_b3"] = "1.234567"  # a firmware that runs other weights than it says it loaded
        with pytest.raises(FingerprintMismatchError, match=r"mlp_b3: device 1.234567, file 0.190092"):
            verify_fingerprint(client.info(), {"mlp": {"mlp_b3": "0.190092"}})
    info = {"user_has_lr": 0, "lr_intercept": 0.5, "lr_coef[0]": 0.25}
    with pytest.raises(FingerprintMismatchError, match=r"user_has_lr=0 \(expected 1\)"):
        verify_fingerprint(info, {"lr": {"lr_intercept": "0.500000", "lr_coef[0]": "0.250000"}})


def test_info_missing_keys_time_out_naming_them(serve):
    server, blaster = serve(debug_rate=0.0)
    blaster._info = lambda: b"[ml] model_source=user\n"  # an old firmware printing less
    with DeviceClient(server.url, timeout=0.3) as client:
        with pytest.raises(DeviceTimeoutError, match=r"MLMODEL_INFO keys user_model_present.*last said "
                                                     r"'\[ml\] model_source=user'"):
            client.info()


def test_cannot_open_port():
    pytest.importorskip("serial")
    with pytest.raises(DeviceError, match="cannot open /nonexistent/tty"):
        DeviceClient("/nonexistent/tty")


# -- pyserial missing, discovery -----------------------------------------------------------


def test_without_pyserial_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "serial", None)
    with pytest.raises(SerialUnavailableError, match=r"stingerml\[serial\]") as info:
        DeviceClient("loop://")
    assert isinstance(info.value, StingerError)


def port(device, description="n/a", hwid="n/a", vid=None):
    return SimpleNamespace(device=device, description=description, hwid=hwid, vid=vid)


def test_port_matching_rules():
    assert port_matches("Pico - Board CDC", "")
    assert port_matches("RP2040 serial", None)
    assert port_matches("TinyUSB Serial", "")
    assert port_matches("ttyACM0", "USB VID:PID=2E8A:000A SER=E66 LOCATION=1-1:1.0")
    assert port_matches("ttyACM0", "", vid=0x2E8A)
    assert not port_matches("ttyS0", "PNP0501")
    assert not port_matches("USB Serial", "USB VID:PID=0403:6001 SER=A12E8A")


def test_choose_port_one_none_several():
    blaster = port("/dev/ttyACM0", "Board CDC", "USB VID:PID=2E8A:000A")
    other = port("/dev/ttyUSB0", "FT232R", "USB VID:PID=0403:6001")
    assert choose_port([other, blaster]) == "/dev/ttyACM0"
    with pytest.raises(PortNotFoundError, match=r"no blaster found.*/dev/ttyUSB0 \(FT232R"):
        choose_port([other])
    with pytest.raises(PortNotFoundError, match="no serial ports at all"):
        find_port([])
    with pytest.raises(PortNotFoundError, match=r"several ports.*ttyACM0.*ttyACM1.*--port"):
        choose_port([blaster, port("/dev/ttyACM1", "Pico")])
