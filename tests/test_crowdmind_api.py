"""API mode against a real HTTP server on 127.0.0.1: the four endpoints, the bearer token, retries, and the
token in no file and no output."""
from __future__ import annotations

import email.parser
import email.policy
import json
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import penguins
from stingerml.cli import main

TOKEN = "s3cr3t-T0KEN-4f9a"
DATASET = "0b8f6f1e-4c1e-4d5e-9a77-penguins"
SCHEMA = {"label": "species", "features": ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm",
                                           "body_mass_g", "sex"], "classes": ["Adelie", "Chinstrap", "Gentoo"]}


class FakeCrowdMind(BaseHTTPRequestHandler):
    """The seed's four endpoints; ``server.state`` holds the dataset, failures to inject and what arrived."""

    def log_message(self, *args):  # keep the test output clean
        pass

    def _send(self, code: int, body: bytes, kind: str = "application/json") -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _route(self, method: str) -> None:
        st = self.server.state
        st["requests"].append((method, self.path, self.headers.get("Authorization")))
        if st["fail"].get(self.path):
            st["fail"][self.path] -= 1
            return self._send(503, b'{"error": "busy"}')
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._send(401, b'{"error": "unauthorized"}')
        base = f"/datasets/{DATASET}"
        if method == "GET" and self.path == "/health":
            return self._send(200, b'{"status": "ok"}')
        if method == "GET" and self.path == f"{base}/download":
            return self._send(200, st["csv"], "text/csv")
        if method == "GET" and self.path == f"{base}/schema":
            return self._send(200, json.dumps(SCHEMA).encode())
        if method == "POST" and self.path == f"{base}/models":
            body = self.rfile.read(int(self.headers["Content-Length"]))
            msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode() + body)
            st["uploaded"] = {part.get_param("name", header="content-disposition"): part.get_payload(decode=True)
                              for part in msg.iter_parts()}
            st["filenames"] = {part.get_param("name", header="content-disposition"): part.get_filename()
                               for part in msg.iter_parts()}
            return self._send(201, b'{"id": "model-1"}')
        return self._send(404, b'{"error": "not found"}')

    def do_GET(self):
        self._route("GET")

    def do_POST(self):
        self._route("POST")


@pytest.fixture
def api(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeCrowdMind)
    csv = penguins.write_csv(tmp_path / "source.csv", n=150)
    server.state = {"csv": csv.read_bytes(), "fail": {}, "requests": [], "uploaded": None}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


ARGS = ["--hidden", "6", "--epochs", "5", "--api-retries", "2", "--api-timeout", "5"]


def _no_token_anywhere(folder: Path, *texts: str) -> None:
    for p in folder.rglob("*"):
        if p.is_file():
            assert TOKEN.encode() not in p.read_bytes(), p
    for text in texts:
        assert TOKEN not in text


def test_download_train_upload(api, tmp_path, capsys):
    server, base = api
    server.state["fail"]["/health"] = 1  # one 503: retried
    cfg = shutil.copy(Path(__file__).parent.parent / "vectors" / "crowdmind" / "train.yaml", tmp_path / "t.yaml") \
        if _has_yaml() else None
    args = ["tabular", "train", "--api-base", base, "--token", TOKEN, "--dataset-id", DATASET, "--upload",
            "--runs-dir", str(tmp_path / "runs"), "--log-level", "DEBUG", *ARGS]
    if cfg:
        args += ["--config", str(cfg)]
    assert main(args) == 0
    out, err = capsys.readouterr()
    run = Path(out.strip())
    assert [(m, p) for m, p, _ in server.state["requests"]] == [
        ("GET", "/health"), ("GET", "/health"), ("GET", f"/datasets/{DATASET}/download"),
        ("GET", f"/datasets/{DATASET}/schema"), ("POST", f"/datasets/{DATASET}/models")]
    assert all(auth == f"Bearer {TOKEN}" for _, _, auth in server.state["requests"])
    assert (run / "data" / "dataset.csv").read_bytes() == server.state["csv"]
    assert json.loads((run / "data" / "schema.json").read_text()) == SCHEMA
    up = server.state["uploaded"]
    assert set(up) == {"model", "meta", "onnx"}
    for field, name in (("model", "model.tflite"), ("meta", "meta.json"), ("onnx", "model.onnx")):
        assert up[field] == (run / "output" / name).read_bytes()
    meta = json.loads(up["meta"])
    assert meta["dataset"]["id"] == DATASET and meta["quantization"]["type"] == "int8"
    assert meta["features"]["categorical"] == {"island": ["Biscoe", "Dream", "Torgersen"], "sex": ["female", "male"]}
    assert "uploaded model.tflite, meta.json, model.onnx" in err and "settings: " in err
    _no_token_anywhere(tmp_path, out, err)


@pytest.mark.parametrize("kind", ["float", "both"])
def test_upload_of_the_float_tflite(api, tmp_path, capsys, kind):
    """--tflite-kind float: the float32 file is the seed's ``model`` (meta.json says float32); both: the int8
    file is the ``model``, the float32 one goes beside it as ``model_float32``."""
    server, base = api
    assert main(["tabular", "train", "--api-base", base, "--token", TOKEN, "--dataset-id", DATASET, "--upload",
                 "--runs-dir", str(tmp_path / "runs"), "--tflite-kind", kind, *ARGS]) == 0
    out, err = capsys.readouterr()
    output = Path(out.strip()) / "output"
    sent = {"model": "model_float32.tflite", "meta": "meta.json", "onnx": "model.onnx"} if kind == "float" else \
        {"model": "model.tflite", "model_float32": "model_float32.tflite", "meta": "meta.json", "onnx": "model.onnx"}
    assert server.state["filenames"] == sent
    for field, name in sent.items():
        assert server.state["uploaded"][field] == (output / name).read_bytes()
    meta = json.loads(server.state["uploaded"]["meta"])
    q = meta["quantization"]
    assert [q["type"], q["input_type"], q["output_type"]] == 3 * ["float32" if kind == "float" else "int8"]
    assert server.state["uploaded"]["model"][4:8] == b"TFL3"  # a TFLite flatbuffer's file identifier
    assert f"uploaded {', '.join(sent.values())} to" in err
    _no_token_anywhere(tmp_path, out, err)


def _has_yaml() -> bool:
    try:
        import yaml  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.parametrize("token, fail, expect", [
    ("wrong-token", {}, "answered 401 Unauthorized; check --token"),
    (TOKEN, {"/health": 5}, "the API answered 503 Service Unavailable after 3 attempts"),
])
def test_api_errors_are_one_line_and_write_nothing(api, tmp_path, capsys, token, fail, expect):
    server, base = api
    server.state["fail"].update(fail)
    assert main(["tabular", "train", "--api-base", base, "--token", token, "--dataset-id", DATASET,
                 "--runs-dir", str(tmp_path / "runs"), *ARGS]) == 1
    out, err = capsys.readouterr()
    assert err.startswith("error: ") and err.count("\n") == 1 and expect in err, err
    assert not (tmp_path / "runs").exists()
    _no_token_anywhere(tmp_path, out, err)


def test_unreachable_api(tmp_path, capsys):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert main(["tabular", "train", "--api-base", f"http://127.0.0.1:{port}", "--token", TOKEN, "--dataset-id",
                 DATASET, "--runs-dir", str(tmp_path / "runs"), "--api-retries", "1", "--api-timeout", "2"]) == 1
    out, err = capsys.readouterr()
    assert "no answer" in err and "after 2 attempts" in err and TOKEN not in err + out


@pytest.mark.parametrize("option", [["--api-timeout", "nan"], ["--api-timeout", "-1"], ["--api-timeout", "inf"],
                                    ["--api-timeout", "0"], ["--api-retries", "-5"], ["--api-retries", str(10 ** 11)],
                                    ["--api-base", "http://[::1"], ["--api-base", "http://h:abc"],
                                    ["--api-base", "http://h:99999"]])
def test_bad_api_options_are_one_line_before_any_request(tmp_path, capsys, option):
    """Audit of issue 25: `--api-timeout nan` / `-1` / `inf` and `--api-base http://[::1` were tracebacks
    (ValueError, OverflowError), `--api-retries -5` said "after -4 attempts", and `--api-retries 10**11`
    waited 0.5·2^n s between attempts without end."""
    argv = ["tabular", "train", "--api-base", "http://127.0.0.1:9", "--token", TOKEN, "--dataset-id", DATASET,
            "--runs-dir", str(tmp_path / "runs"), *option]
    assert main(argv) == 1
    out, err = capsys.readouterr()
    assert err.startswith("error: --api-") and err.count("\n") == 1, err
    assert "no answer" not in err and TOKEN not in err + out
    assert not (tmp_path / "runs").exists()


def test_the_wait_between_attempts_is_bounded(monkeypatch):
    from stingerml.core.errors import ApiError
    from stingerml.tabular import api as api_module

    waits = []
    monkeypatch.setattr(api_module.time, "sleep", waits.append)
    monkeypatch.setattr(api_module.urllib.request, "urlopen",
                        lambda *a, **k: (_ for _ in ()).throw(ConnectionRefusedError(111, "refused")))
    client = api_module.ApiClient("http://127.0.0.1:9", TOKEN, retries=api_module.MAX_RETRIES)
    with pytest.raises(ApiError, match=f"after {api_module.MAX_RETRIES + 1} attempts"):
        client.health()
    assert waits[:3] == [0.5, 1.0, 2.0] and max(waits) == api_module.MAX_WAIT == 30.0
