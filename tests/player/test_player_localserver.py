"""The kiosk page's local HTTP server."""

from __future__ import annotations

import hashlib
import http.client
import json
import threading

import pytest

from player.cache import Cache
from player.localserver import KioskServer


class RecordingPlayer:
    manifest = None
    warnings: list = []

    def __init__(self):
        self.played, self.shown = [], []

    def on_played(self, item_id):
        self.played.append(item_id)

    def on_alert_shown(self, alert_id):
        self.shown.append(alert_id)

    def health(self):
        return {"ok": True, "enrolled": True, "kiosk_last_ping_age_s": None,
                "server_reachable": False, "last_server_contact": None}  # fmt: skip


@pytest.fixture
def kiosk(tmp_path):
    server = KioskServer(Cache(tmp_path / "state"), "127.0.0.1", 0)
    player = RecordingPlayer()
    server.bind(player)
    server.start()
    yield server, player
    server.stop()


def request(server, method, path, body=None, headers=None):
    host, port = server.httpd.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=10)
    payload = json.dumps(body).encode() if body is not None else None
    hdrs = {"Content-Type": "application/json"} if body is not None else {}
    hdrs.update(headers or {})
    conn.request(method, path, body=payload, headers=hdrs)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response, data


def test_page_is_german_with_strict_csp_and_no_inline_code(kiosk):
    server, _ = kiosk
    response, body = request(server, "GET", "/")
    html = body.decode()
    assert response.status == 200 and '<html lang="de">' in html
    csp = response.getheader("Content-Security-Policy")
    assert "unsafe-inline" not in csp and "script-src 'self'" in csp
    assert "<script>" not in html and " on" not in html.replace(" only", "")
    assert "http://" not in html and "https://" not in html
    for name in ("/kiosk.js", "/paginate.js", "/kiosk.css"):
        res, text = request(server, "GET", name)
        assert res.status == 200 and b"http://" not in text and b"https://" not in text


def test_state_long_poll_wakes_on_publish(kiosk):
    server, _ = kiosk
    _, body = request(server, "GET", "/local/state")
    rev = json.loads(body)["rev"]
    result = {}

    def waiter():
        _, data = request(server, "GET", f"/local/state?since={rev}")
        result.update(json.loads(data))

    thread = threading.Thread(target=waiter)
    thread.start()
    server.publish(
        {"enrolled": True, "items": [], "warnings": [], "stale": True, "stand": "02.03. 10:00"}
    )
    thread.join(timeout=10)
    assert result["rev"] == rev + 1 and result["stale"] is True


def test_health_ping_and_callbacks(kiosk):
    server, player = kiosk
    _, body = request(server, "GET", "/local/health")
    assert json.loads(body)["ok"] is True
    assert server.last_ping_age() is None
    request(server, "POST", "/local/ping", {"showing": "n1"})
    assert server.showing() == "n1" and server.last_ping_age() < 5
    request(server, "POST", "/local/played", {"item": "n2"})
    request(server, "POST", "/local/alert-shown", {"alert": "a1"})
    assert player.played == ["n2"] and player.shown == ["a1"]


def test_foreign_host_and_form_posts_are_refused(kiosk):
    server, player = kiosk
    response, _ = request(server, "GET", "/local/health", headers={"Host": "evil.example:8080"})
    assert response.status == 403
    response, _ = request(
        server, "POST", "/local/alert-shown", headers={"Content-Type": "text/plain"}
    )
    assert response.status == 415
    assert player.shown == []


def test_serves_only_verified_files(kiosk):
    server, _ = kiosk
    data = b"<!doctype html><p>Hallo</p>"
    sha = hashlib.sha256(data).hexdigest()
    (server.cache.assets_dir / sha).write_bytes(data)
    response, body = request(server, "GET", f"/slides/{sha}")
    assert response.status == 200 and body == data
    assert "script-src 'none'" in response.getheader("Content-Security-Policy")
    bad = "0" * 64
    (server.cache.assets_dir / bad).write_bytes(b"kaputt")
    assert request(server, "GET", f"/assets/{bad}")[0].status == 404
    assert request(server, "GET", "/assets/../token")[0].status == 404
