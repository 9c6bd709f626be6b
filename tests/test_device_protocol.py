"""Pure reply parsers of the serial protocol (no pyserial, no I/O)."""
from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stingerml.core.errors import ModelFormatError
from stingerml.device import protocol
from stingerml.device.errors import DeviceProtocolError, DeviceReplyError

VECTORS = Path(__file__).resolve().parent.parent / "vectors" / "browser"


def run(expectation, chunks):
    """Feed chunks one by one, stepping after each; return (result, buffer)."""
    buf = protocol.ReplyBuffer()
    result = None
    for chunk in chunks:
        assert result is None, "the reply completed before all of it arrived"
        buf.feed(chunk)
        result = expectation.step(buf)
    return result, buf


def split(data: bytes, cuts):
    points = sorted({c % (len(data) + 1) for c in cuts})
    edges = [0] + points + [len(data)]
    return [data[a:b] for a, b in zip(edges, edges[1:]) if b > a]


# -- commands and fingerprints --------------------------------------------------


def test_put_command_has_size_and_whole_file_crc_in_8_lowercase_hex_digits():
    blob = (VECTORS / "session_a.lr.mlmd").read_bytes()
    crc = zlib.crc32(blob) & 0xFFFFFFFF
    assert protocol.put_command(blob, "lr") == f"MLMODEL_PUT_LR 244 {crc:08x}\n".encode()
    assert protocol.put_command(b"\x00", "mlp") == b"MLMODEL_PUT_MLP 1 d202ef8d\n"  # zlib.crc32(b"\0")
    assert protocol.load_command("mlp") == b"MLMODEL_LOAD_MLP\n"
    with pytest.raises(ValueError):
        protocol.put_command(blob, "svm")


def test_fingerprint_matches_the_floats_at_their_file_offsets():
    lr = (VECTORS / "session_a.lr.mlmd").read_bytes()
    mlp = (VECTORS / "session_a.mlp.mlmd").read_bytes()
    f32 = lambda blob, index: struct.unpack_from("<f", blob, 24 + 4 * index)[0]  # noqa: E731
    assert protocol.fingerprint(lr, "lr") == {
        "lr_intercept": "%.6f" % f32(lr, 54), "lr_coef[0]": "%.6f" % f32(lr, 36)}
    assert protocol.fingerprint(mlp, "mlp") == {
        "mlp_b3": "%.6f" % f32(mlp, (len(mlp) - 24) // 4 - 1), "mlp_w1[0]": "%.6f" % f32(mlp, 60)}
    with pytest.raises(ModelFormatError, match="cannot go into the lr slot"):
        protocol.fingerprint(mlp, "lr")


# -- fixed replies ----------------------------------------------------------------


def test_dump_in_the_firmwares_exact_framing():
    payload = b"\x01\n\r\nMLDUMP_DONE\n" * 3
    stream = b"[ml] filesystem ready\r\nMLDUMP1 %d\n" % len(payload) + payload + b"\nMLDUMP_DONE\r\n"
    seen = []
    result, buf = run(protocol.DumpReceiver(lambda got, total: seen.append((got, total))), [stream])
    assert result == payload
    assert seen[-1] == (len(payload), len(payload))


@pytest.mark.parametrize("error", ["filesystem not ready", "busy (firing)", "no log file", "no log data"])
def test_dump_refusals_raise_with_the_device_line(error):
    with pytest.raises(DeviceReplyError, match=error.replace("(", r"\(").replace(")", r"\)")) as info:
        run(protocol.DumpReceiver(), [f"[imu] x\r\n[ml] ERROR: {error}\r\n".encode()])
    assert info.value.reply == f"[ml] ERROR: {error}"


@pytest.mark.parametrize("header", [b"MLDUMP1 abc\n", b"MLDUMP1 0\n", b"MLDUMP1 -5\n"])
def test_dump_bad_header(header):
    with pytest.raises(DeviceProtocolError, match="bad header"):
        run(protocol.DumpReceiver(), [header])


def test_dump_garbage_without_line_end_is_detected_early():
    with pytest.raises(DeviceProtocolError, match="MLDUMP_DONE"):
        run(protocol.DumpReceiver(), [b"MLDUMP1 3\nabc\n" + b"x" * 40])


@pytest.mark.parametrize("code", sorted(protocol.MODEL_ERR_HINTS))
def test_every_model_err_code_raises_with_its_hint(code):
    with pytest.raises(DeviceReplyError) as info:
        run(protocol.ReplyLine("MLMODEL_PUT_LR", protocol.READY), [f"[ml] MLMODEL_ERR {code}\r\n".encode()])
    assert info.value.reply == f"[ml] MLMODEL_ERR {code}"
    assert protocol.MODEL_ERR_HINTS[code] in str(info.value)
    assert "MLMODEL_PUT_LR" in str(info.value)


def test_info_types_and_unrelated_ml_lines():
    lines = [
        "[ml] model_source=user", "[ml] p_lr=0.5 p_mlp=0.25", "[ml] user_model_present=1", "[ml] user_has_lr=1",
        "[ml] user_has_mlp=0", "[ml] cached_age_ms=4294967295", "[ml] lr_intercept=-3.311607",
        "[ml] lr_coef[0]=0.805725", "[ml] mlp_b3=-0.058825", "[ml] mlp_w1[0]=-0.188057",
    ]
    result, _ = run(protocol.InfoCollector(), ["\n".join(lines).encode() + b"\n"])
    assert result == {
        "model_source": "user", "user_model_present": 1, "user_has_lr": 1, "user_has_mlp": 0,
        "cached_age_ms": 4294967295, "lr_intercept": -3.311607, "lr_coef[0]": 0.805725,
        "mlp_b3": -0.058825, "mlp_w1[0]": -0.188057,
    }
    assert [type(result[k]) for k in protocol.INFO_KEYS] == list(protocol.INFO_KEYS.values())


def test_info_incomplete_says_which_keys_are_missing_and_bad_values_raise():
    collector = protocol.InfoCollector()
    result, _ = run(collector, [b"[ml] model_source=factory\n[ml] user_has_lr=0\n"])
    assert result is None
    assert "mlp_w1[0]" in collector.waiting_for and "user_has_lr" not in collector.waiting_for
    with pytest.raises(DeviceProtocolError, match="user_has_lr"):
        run(protocol.InfoCollector(), [b"[ml] user_has_lr=yes\n"])


def test_samples_written():
    result, _ = run(protocol.SamplesReceiver(), [b"[imu] a=1\r\n[ml] samples_written=30000 (~300.0s)\n"])
    assert result == 30000


def test_last_said_quotes_the_last_line_and_any_unterminated_bytes():
    buf = protocol.ReplyBuffer()
    assert buf.last_said() == "the device said nothing"
    buf.feed(b"[imu] hello\r\n\r\npart")
    while buf.pop_line() is not None:
        pass
    said = buf.last_said()
    assert "'[imu] hello'" in said and "4 byte(s)" in said and "'part'" in said


# -- property tests: random interleavings and chunk boundaries --------------------

_printable = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
unrelated_line = st.one_of(
    st.text(_printable, max_size=40),
    st.sampled_from([
        "[ml] p_lr=0.1234 p_mlp=0.5", "MLDUMP", "[ml] MLMODEL_OKAY?", "[ml] recording paused (usb)",
        "MLDUMP1", "[ml] samples_written", "model_source=user", "[imu] gyro_rms=12.5", "",
    ]),
).filter(
    lambda s: not s.startswith(("MLDUMP1 ", protocol.LOG_ERROR, protocol.MODEL_ERR, "[ml] samples_written="))
    and s.strip() not in (protocol.READY, protocol.OK, protocol.LOADED, protocol.DELETED)
    and not any(s.startswith(f"[ml] {k}=") for k in protocol.INFO_KEYS)
)
line_end = st.sampled_from([b"\n", b"\r\n"])
cuts = st.lists(st.integers(min_value=0, max_value=10**6), max_size=30)


@st.composite
def chatter(draw, max_lines=6):
    lines = draw(st.lists(unrelated_line, max_size=max_lines))
    return b"".join(line.encode() + draw(line_end) for line in lines)


@settings(max_examples=300, deadline=None)
@given(before=chatter(), payload=st.binary(min_size=1, max_size=300), after=chatter(max_lines=2), cut=cuts,
       noisy=st.booleans())
def test_dump_parser_any_chatter_any_chunking(before, payload, after, cut, noisy):
    if noisy:  # payload full of look-alike text
        payload = payload + b"\nMLDUMP_DONE\r\n[ml] ERROR: no log file\nMLDUMP1 9\n" + payload
    stream = before + b"MLDUMP1 %d\n" % len(payload) + payload + b"\nMLDUMP_DONE\r\n" + after
    progress = []
    result, buf = run(protocol.DumpReceiver(lambda got, total: progress.append(got)),
                      split(stream[: len(stream) - len(after)], cut))
    assert result == payload
    assert progress == sorted(progress) and progress[-1] == len(payload)
    buf.feed(after)  # what follows the reply is left for the next reader
    assert buf.partial() == after


@settings(max_examples=300, deadline=None)
@given(before=chatter(), payload=st.binary(min_size=2, max_size=200), where=st.integers(min_value=0),
       extra=st.binary(min_size=1, max_size=1), drop=st.booleans(), cut=cuts)
def test_dump_with_a_lost_or_added_byte_never_returns_data(before, payload, where, extra, drop, cut):
    i = where % len(payload)
    damaged = payload[:i] + payload[i + 1:] if drop else payload[:i] + extra + payload[i:]
    stream = before + b"MLDUMP1 %d\n" % len(payload) + damaged + b"\nMLDUMP_DONE\r\n"
    try:
        result, _ = run(protocol.DumpReceiver(), split(stream, cut))
    except DeviceProtocolError:
        return
    assert result is None  # incomplete: the caller's timeout reports it


@settings(max_examples=200, deadline=None)
@given(data=st.data(), cut=cuts)
def test_info_parser_any_interleaving(data, cut):
    values = {
        "model_source": data.draw(st.sampled_from(["factory", "user"])),
        **{k: data.draw(st.integers(0, 1)) for k in ("user_model_present", "user_has_lr", "user_has_mlp")},
        "cached_age_ms": data.draw(st.integers(0, 2**32 - 1)),
        **{k: data.draw(st.floats(-1e6, 1e6)) for k in ("lr_intercept", "lr_coef[0]", "mlp_b3", "mlp_w1[0]")},
    }
    texts = {k: ("%.6f" % v if isinstance(v, float) else str(v)) for k, v in values.items()}
    order = data.draw(st.permutations(list(protocol.INFO_KEYS)))
    stream = b"".join(data.draw(chatter(max_lines=2)) + f"[ml] {k}={texts[k]}".encode() + data.draw(line_end)
                      for k in order)
    result, _ = run(protocol.InfoCollector(), split(stream, cut))
    assert result == {k: protocol.INFO_KEYS[k](texts[k]) for k in protocol.INFO_KEYS}


@settings(max_examples=200, deadline=None)
@given(before=chatter(), code=st.sampled_from(sorted(protocol.MODEL_ERR_HINTS) + [None]), cut=cuts, end=line_end)
def test_reply_line_parser_any_interleaving(before, code, cut, end):
    reply = protocol.OK if code is None else f"{protocol.MODEL_ERR} {code}"
    stream = before + reply.encode() + end
    if code is None:
        result, _ = run(protocol.ReplyLine("MLMODEL_PUT_MLP", protocol.OK), split(stream, cut))
        assert result == protocol.OK
    else:
        with pytest.raises(DeviceReplyError, match=code):
            run(protocol.ReplyLine("MLMODEL_PUT_MLP", protocol.OK), split(stream, cut))
