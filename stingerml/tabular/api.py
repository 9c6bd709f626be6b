"""CrowdMind's API (seed 002), with :mod:`urllib` only: health, dataset download, schema, model upload.

The four endpoints (``BASE`` is ``--api-base``)::

    GET  BASE/health                       2xx: the API is up
    GET  BASE/datasets/{id}/download       the dataset CSV (bytes)
    GET  BASE/datasets/{id}/schema         its schema.json
    POST BASE/datasets/{id}/models         multipart/form-data: model (model.tflite, or model_float32.tflite
                                           when it is the only TFLite file), meta (meta.json), onnx (model.onnx)
                                           [, model_float32]; the response body is returned (UPLOAD_FIELDS)

Every request carries ``Authorization: Bearer <token>``. The token is kept in
the client only: it is never part of a message, a log line or a file
(``repr`` of the client hides it). Each request has a timeout (seconds) and is
retried on a connection error, a timeout or a 5xx answer (``retries`` more
times, at most :data:`MAX_RETRIES`, waiting 0.5 s, 1 s, 2 s, ... but never more than
:data:`MAX_WAIT`); a 4xx answer is an error at once. The timeout is above 0 and at most
:data:`MAX_TIMEOUT`.
Errors are :class:`~stingerml.core.errors.ApiError`, one line naming the method,
the URL and what to do.
"""
from __future__ import annotations

import secrets
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Dict, Mapping, Optional, Tuple

from ..core import jsonfile
from ..core.errors import ApiError

DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 3
MAX_TIMEOUT = 3600.0
"""Longest ``timeout`` of one request (seconds)."""
MAX_RETRIES = 10
"""Most retries of one request: with the waits capped at :data:`MAX_WAIT`, a request gives up within minutes."""
MAX_WAIT = 30.0
"""Longest wait between two attempts (seconds)."""
UPLOAD_FIELDS = {"model.tflite": "model", "model_float32.tflite": "model_float32", "meta.json": "meta",
                 "model.onnx": "onnx"}
"""Which output file goes in which form field of the upload. The seed's ``model`` is the int8 ``model.tflite``;
without one (``--tflite-kind float``) the float32 ``model_float32.tflite`` is the ``model`` (``meta.json``'s
``quantization.type`` says ``float32``); with both kinds the float32 file is sent as ``model_float32`` too."""


class ApiClient:
    """A client of one API base URL with one bearer token (module docstring)."""

    def __init__(self, base: str, token: str, *, timeout: float = DEFAULT_TIMEOUT, retries: int = DEFAULT_RETRIES,
                 backoff: float = 0.5) -> None:
        try:
            parts = urllib.parse.urlsplit(base)
            parts.port  # noqa: B018 (raises ValueError on a port that is not a number from 0 to 65535)
        except ValueError:
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise ApiError(f"--api-base {base!r} is not an http(s) URL; give one like https://api.example.com")
        if not token:
            raise ApiError("no API token: give --token T (or set STINGERML_API_TOKEN)")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= MAX_TIMEOUT:
            raise ApiError(f"--api-timeout {timeout}: give the seconds a request may take, a number above 0 and "
                           f"at most {MAX_TIMEOUT:g}")
        if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= MAX_RETRIES:
            raise ApiError(f"--api-retries {retries}: give a whole number from 0 to {MAX_RETRIES}")
        self.base = base.rstrip("/")
        self._token = token
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff

    def __repr__(self) -> str:  # never the token
        return f"ApiClient({self.base!r}, token=<hidden>)"

    def _url(self, *path: str) -> str:
        return self.base + "/" + "/".join(urllib.parse.quote(p, safe="") for p in path)

    def request(self, method: str, url: str, body: Optional[bytes] = None,
                content_type: Optional[str] = None) -> Tuple[int, bytes]:
        """``(status, body)`` of one request, with the retries of the module docstring."""
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "*/*"}
        if content_type:
            headers["Content-Type"] = content_type
        problem = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(min(self.backoff * 2 ** (attempt - 1), MAX_WAIT))
            req = urllib.request.Request(url, data=body, headers=headers, method=method)
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    return resp.status, resp.read()
            except urllib.error.HTTPError as exc:
                if exc.code < 500:
                    hint = "check --token" if exc.code in (401, 403) else "check --api-base and --dataset-id"
                    raise ApiError(f"{method} {url}: the API answered {exc.code} {exc.reason}; {hint}") from None
                problem = f"the API answered {exc.code} {exc.reason}"
            except (urllib.error.URLError, socket.timeout, ConnectionError, TimeoutError) as exc:
                reason = getattr(exc, "reason", exc)
                problem = f"no answer ({reason})"
        raise ApiError(f"{method} {url}: {problem} after {self.retries + 1} attempts; check the API is up "
                       "and --api-base")

    def health(self) -> None:
        """``GET /health``: raises ApiError unless the API answers 2xx."""
        self.request("GET", self._url("health"))

    def download(self, dataset_id: str) -> bytes:
        """``GET /datasets/{id}/download``: the dataset CSV's bytes."""
        return self.request("GET", self._url("datasets", dataset_id, "download"))[1]

    def schema(self, dataset_id: str) -> bytes:
        """``GET /datasets/{id}/schema``: the schema.json bytes (checked to be JSON)."""
        url = self._url("datasets", dataset_id, "schema")
        body = self.request("GET", url)[1]
        jsonfile.loads(body, f"GET {url}", ApiError, fix="the API must return the dataset's schema.json",
                       kind=object)
        return body

    def upload(self, dataset_id: str, files: Mapping[str, bytes]) -> bytes:
        """``POST /datasets/{id}/models`` with ``files`` (``{file name: bytes}``) as multipart form fields
        (:data:`UPLOAD_FIELDS`); returns the answer's body."""
        boundary = "stingerml-" + secrets.token_hex(12)
        fields = dict(UPLOAD_FIELDS)
        if "model.tflite" not in files:  # the float32 model is the only one: it is the model
            fields["model_float32.tflite"] = "model"
        parts = []
        for name, data in files.items():
            field = fields.get(name, name)
            kind = "application/json" if name.endswith(".json") else "application/octet-stream"
            parts.append(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\n"
                         f"Content-Type: {kind}\r\n\r\n".encode("utf-8") + data + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode("utf-8")
        return self.request("POST", self._url("datasets", dataset_id, "models"), body,
                            f"multipart/form-data; boundary={boundary}")[1]


def fetch_dataset(client: ApiClient, dataset_id: str) -> Dict[str, bytes]:
    """Health check, then the dataset and its schema: ``{"dataset.csv": ..., "schema.json": ...}``."""
    client.health()
    return {"dataset.csv": client.download(dataset_id), "schema.json": client.schema(dataset_id)}
