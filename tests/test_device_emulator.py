"""The virtual blaster as a pure state machine: bytes in, bytes out, a fake clock."""
from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import pytest

from stingerml.device.emulator import FACTORY_FINGERPRINT, FAULTS, MODEL_FILES, Blaster

ROOT = Path(__file__).resolve().parent.parent / "vectors"
LOG = (ROOT / "sessions" / "session_a.bin").read_bytes()
LR = (ROOT / "browser" / "session_a.lr.mlmd").read_bytes()
MLP = (ROOT / "browser" / "session_a.mlp.mlmd").read_bytes()
CASES = ROOT / "mlmd_cases"


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def quiet(log=LOG, **kw) -> Blaster:
    return Blaster(log, debug_rate=0.0, clock=kw.pop("clock", Clock()), **kw)


def put(blaster: Blaster, blob: bytes, slot: str = "LR", crc=None) -> bytes:
    crc = zlib.crc32(blob) & 0xFFFFFFFF if crc is None else crc
    assert blaster.receive(f"MLMODEL_PUT_{slot} {len(blob)} {crc:08x}\n".encode()) == b"[ml] MLMODEL_READY\r\n"
    return blaster.receive(blob)


def f32_at(blob: bytes, index: int) -> str:
    return "%.6f" % struct.unpack_from("<f", blob, 24 + 4 * index)[0]


# -- log commands -----------------------------------------------------------------


def test_dump_is_header_raw_bytes_and_the_firmwares_trailer():
    assert quiet().receive(b"MLDUMP\n") == b"MLDUMP1 510000\n" + LOG + b"\nMLDUMP_DONE\r\n"


@pytest.mark.parametrize("kwargs, line", [
    (dict(log=None), "no log file"),
    (dict(log=b""), "no log data"),
    (dict(fs_ready=False), "filesystem not ready"),
    (dict(firing=True), "busy (firing)"),
])
def test_dump_refusals(kwargs, line):
    assert quiet(**kwargs).receive(b"MLDUMP\n") == f"[ml] ERROR: {line}\r\n".encode()


def test_mlinfo_counts_whole_records():
    assert quiet().receive(b"MLINFO\n") == b"[ml] samples_written=30000 (~300.0s)\n"
    assert quiet(log=LOG[:170 + 5]).receive(b"MLINFO\r") == b"[ml] samples_written=10 (~0.1s)\n"


def test_command_reader_like_the_firmware():
    b = quiet()
    assert b.receive(b"hello\n\r\n") == b""  # bytes not starting a command with 'M' are left to others
    assert b.receive(b"xMLINFO\n").startswith(b"[ml] samples_written=")
    assert b.receive(b"MLIN") == b"" and b.receive(b"FO\r\n").startswith(b"[ml] samples_written=")
    assert b.receive(b"M" + b"X" * 80 + b"\n") == b""  # longer than 63 characters: dropped
    assert b.receive(b"MLNOPE\n") == b""


def test_debug_lines_are_seeded_and_only_between_lines():
    a = Blaster(LOG, seed=7, debug_rate=1.0).receive(b"MLINFO\nMLMODEL_INFO\n")
    b = Blaster(LOG, seed=7, debug_rate=1.0).receive(b"MLINFO\nMLMODEL_INFO\n")
    assert a == b
    lines = a.split(b"\n")[:-1]
    assert len(lines) == 20  # every one of the 10 reply lines has a debug line before it
    assert all(not line.startswith((b"[ml] samples", b"[ml] model")) for line in lines[0::2])
    dump = Blaster(LOG, seed=7, debug_rate=1.0).receive(b"MLDUMP\n")
    assert dump.endswith(b"\r\nMLDUMP1 510000\n" + LOG + b"\nMLDUMP_DONE\r\n")


# -- upload -----------------------------------------------------------------------


def test_upload_replaces_the_file_only_after_a_good_crc():
    b = quiet()
    b.receive(f"MLMODEL_PUT_LR {len(LR)} {zlib.crc32(LR):08x}\n".encode())
    assert b.receive(LR[:243]) == b""  # still receiving: 244 bytes announced
    assert b.receive(LR[243:]) == b"[ml] MLMODEL_OK\r\n"
    b = quiet()
    assert put(b, LR) == b"[ml] MLMODEL_OK\r\n"
    assert b.files == {MODEL_FILES["lr"]: LR}
    other = LR[:-1] + b"\x00"
    assert put(b, other, crc=zlib.crc32(LR)) == b"[ml] MLMODEL_ERR crc\r\n"
    assert b.files == {MODEL_FILES["lr"]: LR}
    assert put(b, MLP, "MLP") == b"[ml] MLMODEL_OK\r\n"
    assert set(b.files) == {"/ml_model_lr.bin", "/ml_model_mlp.bin"}


def test_upload_in_pieces_then_a_command_in_the_same_chunk():
    b = quiet()
    b.receive(f"MLMODEL_PUT_MLP {len(MLP)} {zlib.crc32(MLP):08x}\n".encode())
    body = MLP[:-10]
    assert b"".join(b.receive(body[i:i + 999]) for i in range(0, len(body), 999)) == b""
    assert b.receive(MLP[-10:] + b"MLINFO\n") == (
        b"[ml] MLMODEL_OK\r\n[ml] samples_written=30000 (~300.0s)\n")


def test_upload_inactivity_timeout_keeps_the_old_file():
    clock = Clock()
    b = quiet(clock=clock, upload_timeout_s=10.0)
    put(b, LR)
    b.receive(f"MLMODEL_PUT_LR {len(LR)} {zlib.crc32(LR):08x}\n".encode())
    b.receive(LR[:50])
    clock.t += 9.9
    assert b.poll() == b""
    b.receive(LR[50:60])  # bytes restart the 10 s
    clock.t += 9.9
    assert b.poll() == b""
    clock.t += 0.2
    assert b.poll() == b"[ml] MLMODEL_ERR timeout\r\n"
    assert b.poll() == b""
    assert b.files[MODEL_FILES["lr"]] == LR
    assert b.receive(b"MLINFO\n").startswith(b"[ml] samples_written")  # back to commands


@pytest.mark.parametrize("args, reply", [
    ("0 00000000", "MLMODEL_ERR args"),
    ("200000 00000000", "MLMODEL_ERR args"),
    ("199999 0", "MLMODEL_READY"),
    ("1 0x1A2b", "MLMODEL_READY"),
    ("12", "MLMODEL_ERR args"),
    ("abc def", "MLMODEL_ERR args"),
])
def test_upload_size_limits_and_args(args, reply):
    assert quiet().receive(f"MLMODEL_PUT_LR {args}\n".encode()) == f"[ml] {reply}\r\n".encode()


def test_upload_refusals():
    assert quiet(firing=True).receive(b"MLMODEL_PUT_LR 5 0\n") == b"[ml] MLMODEL_ERR busy\r\n"
    assert quiet(fs_ready=False).receive(b"MLMODEL_PUT_MLP 5 0\n") == b"[ml] MLMODEL_ERR fs\r\n"
    b = quiet(faults=["upload-open"])
    assert b.receive(b"MLMODEL_PUT_LR 5 0\n") == b"[ml] MLMODEL_ERR open\r\n"
    assert b.receive(b"MLMODEL_PUT_LR 5 0\n") == b"[ml] MLMODEL_READY\r\n"  # faults are one-shot


def test_rename_failure_loses_the_old_file_like_the_firmware():
    b = quiet(faults=["upload-rename"])
    assert put(b, LR) == b"[ml] MLMODEL_ERR rename\r\n"
    assert b.files == {}


def test_legacy_put_and_load_use_the_header_model_type():
    b = quiet()
    b.receive(f"MLMODEL_PUT {len(MLP)} {zlib.crc32(MLP):08x}\n".encode())
    assert b.receive(MLP) == b"[ml] MLMODEL_OK\r\n"
    assert b.files == {"/ml_model.bin": MLP}
    assert b.receive(b"MLMODEL_LOAD\n") == b"[ml] MLMODEL_LOADED\r\n"
    assert b.user_has == {"lr": False, "mlp": True}


# -- load, info, delete -------------------------------------------------------------


def info(b: Blaster) -> dict:
    out = b.receive(b"MLMODEL_INFO\n").decode()
    assert out.endswith("\n") and "\r" not in out  # printf lines end in "\n"
    return dict(line[len("[ml] "):].split("=", 1) for line in out.splitlines())


def test_factory_fingerprint_is_the_factory_files():
    fp = {}
    lr, mlp = (ROOT / "firmware" / "factory_lr.mlmd").read_bytes(), (ROOT / "firmware" / "factory_mlp.mlmd").read_bytes()
    fp.update({"lr_intercept": f32_at(lr, 54), "lr_coef[0]": f32_at(lr, 36)})
    fp.update({"mlp_b3": f32_at(mlp, (len(mlp) - 24) // 4 - 1), "mlp_w1[0]": f32_at(mlp, 60)})
    assert {**FACTORY_FINGERPRINT["lr"], **FACTORY_FINGERPRINT["mlp"]} == fp
    got = info(quiet())
    assert list(got) == ["model_source", "user_model_present", "user_has_lr", "user_has_mlp", "cached_age_ms",
                         "lr_intercept", "lr_coef[0]", "mlp_b3", "mlp_w1[0]"]
    assert got["model_source"] == "factory" and got["user_model_present"] == "0"
    assert {k: got[k] for k in fp} == fp


def test_load_then_info_reflects_the_user_models_then_delete_reverts():
    b = quiet()
    assert b.receive(b"MLMODEL_LOAD_LR\n") == b"[ml] MLMODEL_ERR load\r\n"  # no file yet
    put(b, LR)
    assert info(b)["user_model_present"] == "1" and info(b)["model_source"] == "factory"
    assert b.receive(b"MLMODEL_LOAD_LR\n") == b"[ml] MLMODEL_LOADED\r\n"
    got = info(b)
    assert (got["model_source"], got["user_has_lr"], got["user_has_mlp"]) == ("user", "1", "0")
    assert (got["lr_intercept"], got["lr_coef[0]"]) == (f32_at(LR, 54), f32_at(LR, 36))
    assert got["mlp_b3"] == FACTORY_FINGERPRINT["mlp"]["mlp_b3"]
    put(b, MLP, "MLP")
    assert b.receive(b"MLMODEL_LOAD_MLP\n") == b"[ml] MLMODEL_LOADED\r\n"
    assert (info(b)["user_has_mlp"], info(b)["mlp_w1[0]"]) == ("1", f32_at(MLP, 60))
    assert b.receive(b"MLMODEL_DELETE\n") == b"[ml] MLMODEL_DELETED\r\n"
    got = info(b)
    assert (got["model_source"], got["user_model_present"], got["lr_intercept"]) == (
        "factory", "0", FACTORY_FINGERPRINT["lr"]["lr_intercept"])
    b.faults.append("delete-fail")
    assert b.receive(b"MLMODEL_DELETE\n") == b"[ml] MLMODEL_ERR delete\r\n"


@pytest.mark.parametrize("name, case", sorted(json.loads((CASES / "cases.json").read_text()).items()))
def test_load_verdicts_equal_the_real_firmware_loader(name, case):
    b = quiet()
    put(b, LR)
    put(b, MLP, "MLP")
    b.receive(b"MLMODEL_LOAD_LR\nMLMODEL_LOAD_MLP\n")
    slot = case["load_as"]
    blob = (CASES / case["file"]).read_bytes()
    b.files[MODEL_FILES[slot]] = blob  # placed directly: some cases (empty file) cannot be uploaded
    reply = b.receive(f"MLMODEL_LOAD_{slot.upper()}\n".encode())
    assert reply == (b"[ml] MLMODEL_LOADED\r\n" if case["firmware_accepts"] else b"[ml] MLMODEL_ERR load\r\n")
    if not case["firmware_accepts"]:  # a rejected file leaves that model on its factory weights
        assert {k: info(b)[k] for k in FACTORY_FINGERPRINT[slot]} == FACTORY_FINGERPRINT[slot]
        assert info(b)[f"user_has_{slot}"] == "0"


# -- faults -------------------------------------------------------------------------


def test_every_fault_is_known_and_unknown_ones_are_refused():
    with pytest.raises(ValueError, match="unknown fault"):
        Blaster(LOG, faults=["gremlins"])
    assert len(FAULTS) == 10


def test_dump_faults():
    out = quiet(faults=["dump-drop"]).receive(b"MLDUMP\n")
    assert len(out) == len(b"MLDUMP1 510000\n" + LOG + b"\nMLDUMP_DONE\r\n") - 1
    b = quiet(faults=["dump-stall"])
    assert b.receive(b"MLDUMP\n") == b"MLDUMP1 510000\n" + LOG[:255000]
    assert b.stalled and b.receive(b"MLINFO\n") == b""
    b.reset_connection()
    assert b.receive(b"MLINFO\n") != b""
    b = quiet(faults=["dump-disconnect"])
    assert b.receive(b"MLDUMP\n") == b"MLDUMP1 510000\n" + LOG[:255000] and b.disconnect_requested
    out = quiet(faults=["dump-garbage"]).receive(b"MLDUMP\n")
    assert LOG in out and not out.endswith(b"MLDUMP_DONE\r\n")


def test_upload_faults():
    b = quiet(faults=["upload-corrupt"])
    assert put(b, LR) == b"[ml] MLMODEL_ERR crc\r\n" and b.files == {}
    clock = Clock()
    b = quiet(clock=clock, faults=["upload-drop"])
    assert put(b, LR) == b""
    clock.t += 10.5
    assert b.poll() == b"[ml] MLMODEL_ERR timeout\r\n" and b.files == {}
    b = quiet(faults=["mute"])
    assert b.receive(b"MLINFO\n") == b"" and b.receive(b"MLINFO\n") != b""
