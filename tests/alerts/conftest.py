"""Shared helpers for the warning tests: the real-world fixtures and a fake NINA server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def shared_fixtures(fixtures_dir: Path) -> Path:
    """The real-world samples (``fixtures_dir`` of tests/conftest.py), with cap/ and nina/."""
    return fixtures_dir


@pytest.fixture(scope="session")
def cap_xsd(shared_fixtures: Path):
    lxml_etree = pytest.importorskip("lxml.etree")
    return lxml_etree.XMLSchema(lxml_etree.parse(str(shared_fixtures / "cap" / "CAP-v1.2.xsd")))


@dataclass
class FakeNina:
    """A NINA stand-in on 127.0.0.1: set ``routes[path] = (status, headers, body)``."""

    base_url: str = ""
    routes: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    hang: set[str] = field(default_factory=set)
    release: threading.Event = field(default_factory=threading.Event)

    def set_json(self, path: str, body: bytes, etag: str | None = None) -> None:
        headers = {"Content-Type": "application/json"}
        if etag:
            headers["ETag"] = etag
        self.routes[path] = (200, headers, body)


@pytest.fixture
def fake_nina() -> Iterator[FakeNina]:
    fake = FakeNina()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (stdlib name)
            path = self.path.split("?")[0]
            fake.requests.append((path, dict(self.headers.items())))
            if path in fake.hang:
                fake.release.wait(10)
                return
            status, headers, body = fake.routes.get(
                path,
                (
                    404,
                    {"Content-Type": "text/html"},
                    b"<!DOCTYPE html><html><body>404</body></html>",
                ),
            )
            etag = headers.get("ETag")
            if etag and self.headers.get("If-None-Match") == etag:
                status, body = 304, b""
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}/api31"
    try:
        yield fake
    finally:
        fake.release.set()
        server.shutdown()
        server.server_close()
