"""The kiosk page's server on 127.0.0.1: static page, cached slides and assets, live state.

Chromium in kiosk mode loads ``/``; the page long-polls ``/local/state?since=<rev>`` and
reports back with ``/local/ping``, ``/local/played`` and ``/local/alert-shown``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from player.cache import SHA256_RE, Cache

log = logging.getLogger("player.kiosk")

STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/kiosk.css": ("kiosk.css", "text/css; charset=utf-8"),
    "/kiosk.js": ("kiosk.js", "text/javascript; charset=utf-8"),
    "/paginate.js": ("paginate.js", "text/javascript; charset=utf-8"),
    "/precedence.js": ("precedence.js", "text/javascript; charset=utf-8"),
    "/warnings.js": ("warnings.js", "text/javascript; charset=utf-8"),
    "/board.js": ("board.js", "text/javascript; charset=utf-8"),
}
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "frame-src 'self'; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'"
)
# Slides come from the server, are self-contained and may carry their own <style>; they
# never run scripts (the kiosk page pages them from outside, same origin).
SLIDE_CSP = (
    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; script-src 'none'; base-uri 'none'"
)
LONG_POLL_S = 25.0


class PageEvents(Protocol):
    """What the kiosk page reports, passed on to the daemon."""

    def on_played(self, item_id: str) -> None: ...
    def on_alert_shown(self, alert_id: str) -> None: ...
    def health(self) -> dict[str, Any]: ...


class KioskServer:
    """Holds the published state; the HTTP handler threads read it."""

    def __init__(self, cache: Cache, host: str = "127.0.0.1", port: int = 8080) -> None:
        self.cache = cache
        self._cond = threading.Condition()
        self._rev = 0
        self._view: dict[str, Any] = {"enrolled": False, "items": [], "warnings": []}
        self._player: PageEvents | None = None
        self._last_ping: float | None = None
        self._showing: str | None = None
        self._media_types: dict[str, str] = {}
        self.httpd = ThreadingHTTPServer((host, port), _handler_for(self))
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        return f"http://{name}:{port}/"

    def start(self) -> None:
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="kiosk", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- the player's side ---------------------------------------------------------------

    def bind(self, player: PageEvents) -> None:
        self._player = player

    def publish(self, view: dict[str, Any], media_types: Mapping[str, str] | None = None) -> None:
        """A new state for the page; ``media_types`` of the files it may ask for, by hash."""
        with self._cond:
            self._rev += 1
            self._view = view
            self._media_types.update(media_types or {})
            self._cond.notify_all()

    def last_ping_age(self) -> float | None:
        if self._last_ping is None:
            return None
        return round(time.monotonic() - self._last_ping, 1)

    def showing(self) -> str | None:
        return self._showing

    # -- the page's side -----------------------------------------------------------------

    def state(self, since: int | None, timeout: float = LONG_POLL_S) -> dict[str, Any]:
        with self._cond:
            if since is not None and since == self._rev:
                self._cond.wait_for(lambda: self._rev != since, timeout=timeout)
            return {"rev": self._rev, **self._view}

    def ping(self, showing: str | None) -> None:
        self._last_ping = time.monotonic()
        self._showing = showing

    def media_type(self, sha: str) -> str:
        return self._media_types.get(sha, "application/octet-stream")


def _handler_for(kiosk: KioskServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "AushangPlayer"
        sys_version = ""
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # one line per state change, not per request

        def _host_ok(self) -> bool:
            # DNS rebinding guard: only the names the kiosk browser itself uses.
            host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
            return host in {"127.0.0.1", "localhost", "[::1]"}

        def _send(
            self,
            status: int,
            body: bytes,
            content_type: str,
            extra: dict[str, str] | None = None,
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Referrer-Policy", "no-referrer")
            for key, value in (extra or {}).items():
                self.send_header(key, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, status: int, value: Any) -> None:
            body = json.dumps(value, ensure_ascii=False).encode()
            self._send(status, body, "application/json", {"Cache-Control": "no-store"})

        def do_HEAD(self) -> None:  # noqa: N802
            self.do_GET()

        def do_GET(self) -> None:  # noqa: N802
            if not self._host_ok():
                return self._json(403, {"error": "host"})
            url = urlsplit(self.path)
            path = url.path
            if path in STATIC:
                name, ctype = STATIC[path]
                body = resources.files("player").joinpath("kiosk", name).read_bytes()
                return self._send(
                    200,
                    body,
                    ctype,
                    {"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-cache"},
                )
            if path == "/local/state":
                query = parse_qs(url.query)
                try:
                    since = int(query["since"][0]) if "since" in query else None
                except ValueError:
                    since = None
                return self._json(200, kiosk.state(since))
            if path == "/local/health":
                player = kiosk._player
                health = (
                    player.health()
                    if player is not None
                    else {
                        "ok": True,
                        "enrolled": False,
                        "kiosk_last_ping_age_s": kiosk.last_ping_age(),
                        "server_reachable": False,
                        "last_server_contact": None,
                    }
                )
                return self._json(200, health)
            for prefix in ("/slides/", "/assets/"):
                if path.startswith(prefix):
                    return self._file(path[len(prefix) :])
            return self._json(404, {"error": "not found"})

        def _file(self, sha: str) -> None:
            if not SHA256_RE.match(sha):
                return self._json(404, {"error": "not found"})
            file_path = kiosk.cache.asset_path(sha)
            if file_path is None:
                return self._json(404, {"error": "not found"})
            try:
                body = file_path.read_bytes()
            except OSError:
                return self._json(404, {"error": "not found"})
            ctype = kiosk.media_type(sha)
            if ctype == "text/html":
                ctype = "text/html; charset=utf-8"
            self._send(
                200,
                body,
                ctype,
                {
                    "Content-Security-Policy": SLIDE_CSP,
                    "Cache-Control": "public, max-age=31536000, immutable",
                },
            )

        def do_POST(self) -> None:  # noqa: N802
            if not self._host_ok():
                return self._json(403, {"error": "host"})
            if not (self.headers.get("Content-Type") or "").startswith("application/json"):
                return self._json(415, {"error": "json expected"})
            try:
                length = min(int(self.headers.get("Content-Length") or 0), 65536)
                data = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                return self._json(400, {"error": "bad json"})
            if not isinstance(data, dict):
                return self._json(400, {"error": "bad json"})
            player = kiosk._player
            path = urlsplit(self.path).path
            if path == "/local/ping":
                showing = data.get("showing")
                kiosk.ping(showing if isinstance(showing, str) else None)
                return self._json(200, {"ok": True})
            if path == "/local/played" and isinstance(data.get("item"), str):
                kiosk.ping(data["item"])
                if player is not None:
                    player.on_played(data["item"])
                return self._json(200, {"ok": True})
            if path == "/local/alert-shown" and isinstance(data.get("alert"), str):
                if player is not None:
                    player.on_alert_shown(data["alert"])
                return self._json(200, {"ok": True})
            return self._json(404, {"error": "not found"})

    return Handler
