"""A fake Aushang server on 127.0.0.1 speaking player protocol v1 (stdlib http.server).

It checks every request body the real player sends against the contract schema and keeps
what does not validate in ``contract_errors``; assets can be streamed slowly so a test can
kill the player in the middle of a download.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

PREFIX = "/api/player/v1/"
SCHEMA_PATH = Path(__file__).resolve().parents[2] / "contract" / "player-protocol-v1.schema.json"
TOKEN = "fake-device-token-" + "0" * 32
PROVISIONING = "prov-secret-123"


def isoz(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _validator(name: str):
    try:
        import jsonschema
    except ImportError:  # pragma: no cover - jsonschema is a test dependency
        return None
    schema = json.loads(SCHEMA_PATH.read_text())
    return jsonschema.Draft202012Validator({**schema, "$ref": f"#/$defs/{name}"})


class FakeServer:
    def __init__(self, port: int = 0, chunk: int = 65536, chunk_delay: float = 0.0) -> None:
        self.chunk, self.chunk_delay = chunk, chunk_delay
        self.cond = threading.Condition()
        self.revision = 1
        self.items: list[dict[str, Any]] = []
        self.warnings: list[dict[str, Any]] = []
        self.files: dict[str, tuple[bytes, str]] = {}
        self.display = {"id": "7", "name": "Rathaus Foyer"}
        self.heartbeats: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.acks: list[dict[str, Any]] = []
        self.contract_errors: list[str] = []
        self.bytes_sent = 0
        self.connections: set[Any] = set()
        self.paired = False
        self.validators = {
            n: _validator(n) for n in ("heartbeat", "events_batch", "alert_ack", "enroll_request")
        }
        self.manifest_validator = _validator("manifest")
        self._port = port
        self.httpd: ThreadingHTTPServer | None = None
        self.start()

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", self._port), _handler(self))
        self.httpd.daemon_threads = True
        self._port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None
        # Like a real server going away: kept-alive connections end too.
        for conn in list(self.connections):
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.connections.clear()
        with self.cond:
            self.cond.notify_all()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    # -- content ------------------------------------------------------------------------

    def add_file(self, data: bytes, media_type: str = "text/html") -> dict[str, Any]:
        sha = hashlib.sha256(data).hexdigest()
        self.files[sha] = (data, media_type)
        return {"sha256": sha, "size": len(data), "media_type": media_type}

    def publish(self, items=None, warnings=None) -> None:
        with self.cond:
            if items is not None:
                self.items = items
            if warnings is not None:
                self.warnings = warnings
            self.revision += 1
            self.cond.notify_all()

    @property
    def etag(self) -> str:
        return f"rev-{self.revision}"

    def manifest(self) -> dict[str, Any]:
        body = {
            "protocol": 1,
            "server_time": isoz(datetime.now(UTC)),
            "display": self.display,
            "etag": self.etag,
            "revision": self.revision,
            "items": self.items,
            "warnings": self.warnings,
            "screen": {"timezone": "Europe/Berlin", "schedule": []},
        }
        if getattr(self, "board", None) is not None:
            body["board"] = self.board  # the head line (issue 16)
        if self.manifest_validator is not None:
            for error in self.manifest_validator.iter_errors(body):
                self.contract_errors.append(f"manifest: {error.message}")
        return body

    def check(self, name: str, body: Any) -> None:
        validator = self.validators.get(name)
        if validator is not None:
            for error in validator.iter_errors(body):
                self.contract_errors.append(f"{name}: {error.message}")


def _handler(server: FakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            server.connections.add(self.connection)

        def finish(self) -> None:
            server.connections.discard(self.connection)
            super().finish()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

        def _json(self, status: int, value: Any, headers: dict[str, str] | None = None) -> None:
            body = json.dumps(value).encode()
            self.send_response(status)
            ctype = "application/problem+json" if status >= 400 else "application/json"
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def _problem(self, status: int, title: str) -> None:
            self._json(status, {"type": "about:blank", "title": title, "status": status})

        def _authorised(self) -> bool:
            if self.headers.get("Authorization") == f"Bearer {TOKEN}":
                return True
            self._problem(401, "Token ungültig")
            return False

        def _body(self) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(length) or b"{}")

        def do_GET(self) -> None:  # noqa: N802
            url = urlsplit(self.path)
            path = url.path.removeprefix(PREFIX)
            if path.startswith("enroll/"):
                if self.headers.get("Authorization") != "Bearer " + "c" * 32:
                    return self._problem(404, "Unbekannter Code")
                if not server.paired:
                    return self._json(202, {"status": "pending", "poll_after_s": 1})
                return self._json(
                    200, {"status": "paired", "token": TOKEN, "display": server.display}
                )
            if not self._authorised():
                return
            if path == "manifest":
                wait = min(float(parse_qs(url.query).get("wait", ["0"])[0]), 60)
                etag = (self.headers.get("If-None-Match") or "").strip('W/"')
                with server.cond:
                    server.cond.wait_for(
                        lambda: etag != server.etag or server.httpd is None, timeout=wait
                    )
                    if etag == server.etag:
                        self.send_response(304)
                        self.send_header("ETag", f'"{server.etag}"')
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    body = server.manifest()
                return self._json(200, body, {"ETag": f'"{body["etag"]}"'})
            if path.startswith("assets/"):
                entry = server.files.get(path.removeprefix("assets/"))
                if entry is None:
                    return self._problem(404, "Unbekannte Datei")
                data, media_type = entry
                self.send_response(200)
                self.send_header("Content-Type", media_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                for start in range(0, len(data), server.chunk):
                    part = data[start : start + server.chunk]
                    try:
                        self.wfile.write(part)
                        self.wfile.flush()
                    except OSError:
                        return
                    with server.cond:
                        server.bytes_sent += len(part)
                    if server.chunk_delay:
                        time.sleep(server.chunk_delay)
                return
            self._problem(404, "Nicht gefunden")

        def do_POST(self) -> None:  # noqa: N802
            path = urlsplit(self.path).path.removeprefix(PREFIX)
            try:
                body = self._body()
            except ValueError:
                return self._problem(400, "Kein JSON")
            if path == "enroll":
                server.check("enroll_request", body)
                if "provisioning_token" in body:
                    if body["provisioning_token"] != PROVISIONING:
                        return self._problem(403, "Provisionierungstoken ungültig")
                    return self._json(
                        201, {"status": "paired", "token": TOKEN, "display": server.display}
                    )
                return self._json(
                    201,
                    {
                        "status": "pending",
                        "pairing_code": "H4K-9PT",
                        "claim_secret": "c" * 32,
                        "expires_at": "2099-01-01T00:00:00Z",
                        "poll_after_s": 1,
                    },
                )
            if not self._authorised():
                return
            if path == "heartbeat":
                server.check("heartbeat", body)
                server.heartbeats.append(body)
                return self._json(200, {"server_time": isoz(datetime.now(UTC))})
            if path == "events":
                server.check("events_batch", body)
                server.events.extend(body.get("events", []))
                return self._json(200, {"accepted": len(body.get("events", []))})
            if path.startswith("alerts/") and path.endswith("/ack"):
                server.check("alert_ack", body)
                server.acks.append(body)
                return self._json(200, {"alert_id": body.get("alert_id"), "status": "recorded"})
            self._problem(404, "Nicht gefunden")

    return Handler
