"""The real server (werkzeug, threaded, SQLite file) and a real player process on
127.0.0.1: push within a second, offline with the "Stand" marker, recovery."""

from __future__ import annotations

import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from werkzeug.http import http_date
from werkzeug.serving import WSGIRequestHandler, make_server

from server.services.displays import enrolment

from .conftest import release

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "player"))
from player_process import PlayerProcess, wait_for  # noqa: E402


class RealServer:
    def __init__(self, app, port: int = 0) -> None:
        self.app = app
        self.port = port
        self.httpd = None

    def start(self) -> RealServer:
        app = self.app

        class ClockedHandler(WSGIRequestHandler):
            # http.server adds its own Date header (the machine's clock) next to the app's:
            # let it tell the app's clock too, as a production server's clock would.
            def date_time_string(self, timestamp=None):
                clock = app.config.get("AUSHANG_CLOCK")
                return http_date(clock()) if clock else super().date_time_string(timestamp)

        self.httpd = make_server(
            "127.0.0.1", self.port, self.app, threaded=True, request_handler=ClockedHandler
        )
        self.port = self.httpd.server_port
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.httpd is not None:
            from server.push import engines

            self.httpd.shutdown()
            self.httpd.server_close()
            engines.embedded().close_streams()  # a stopped server holds no stream open
            self.httpd = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture()
def running_clock(app, clock, now):
    """Server time runs at real speed from the fixed ``now`` of the test data."""
    start = time.monotonic()
    app.config["AUSHANG_CLOCK"] = lambda: now + timedelta(seconds=time.monotonic() - start)


def test_real_player_gets_a_release_within_a_second_and_survives_outage(
    app, dw, session, now, tmp_path, running_clock
):
    _, plain = enrolment.create_provisioning_token(session, dw.tenant, dw.admin, "Test", now)
    session.commit()
    server = RealServer(app).start()
    player = PlayerProcess(
        tmp_path, server.url, provisioning_token=plain, stale_after_seconds=1, poll_wait_seconds=25
    )
    try:
        player.start()
        state = wait_for(
            lambda: (s := player.get("/local/state")) and s["items"] and s, what="items"
        )
        assert {i["title"] for i in state["items"]} == {"Friedhofssatzung"}
        assert state["enrolled"] is True
        # Let the player settle into its long-poll, then release a notice whose window is open.
        wait_for(lambda: _waiting(), what="long-poll waiting")
        released_at = time.monotonic()
        notice = release(dw, session, now, title="Satzung über die Hundesteuer")
        wait_for(
            lambda: (
                "Satzung über die Hundesteuer"
                in {i["title"] for i in player.get("/local/state")["items"]}
            ),
            timeout=20,
            what="released notice on the player",
        )
        elapsed = time.monotonic() - released_at
        # The waiting long-poll (wait=25 s) was woken by the release, not answered at the
        # end of its wait. The one-second figure itself is measured by `make bench` on a
        # quiet machine (a timed assertion here would only measure the CI machine's load);
        # on an idle machine this takes well under 0.1 s.
        print(f"release reached the player after {elapsed:.3f} s")
        assert elapsed < 10.0, f"took {elapsed:.2f} s: the long-poll was not woken"
        stored = player.stored_manifest()["manifest"]
        assert str(notice.id) in {i.get("notice_id") for i in stored["items"]}
        assert player.consistency_problems() == []
        # Server gone: content stays, with the "Stand" marker.
        server.stop()
        state = wait_for(
            lambda: (s := player.get("/local/state")) and s["stale"] and s, what="stale marker"
        )
        assert len(state["items"]) == 2 and state["stand"]
        # Server back on the same port: the player recovers without a restart.
        server.start()
        wait_for(lambda: not player.get("/local/state")["stale"], what="recovery")
        assert player.proc.poll() is None
    finally:
        player.stop()
        server.stop()


def _waiting() -> bool:
    from server import notify
    from server.push import engines

    # A v1 long-poll waiting, or a v2 stream open (issue 15).
    return notify.hub.waiting() >= 1 or engines.embedded().subscribers() >= 1
