"""PostgreSQL "restarted" under load (issue 8, faults): all server connections to the
test database are terminated (pg_terminate_backend — the same as a restart for the
server, without touching other users of the PostgreSQL server), repeatedly, while a real
player process reports proof of play and acknowledges a warning through the real server.
The server recovers without a restart (pool_pre_ping), and no acknowledgement or
proof-of-play event is lost: the player resends until the server confirms."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from server.extensions import db
from server.models import AlertDelivery, PlayEvent
from server.services.displays import enrolment

from ..server.displays.test_long_poll import issue_alert
from ..server.displays.test_player_integration import RealServer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "player"))
from player_process import PlayerProcess, wait_for  # noqa: E402

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"), reason="needs PostgreSQL (TEST_DATABASE_URL)"
)

RESTARTS = 6


def _terminate_backends(database_url: str) -> int:
    """Kill every connection to the test database, as a server restart would."""
    url = make_url(database_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            return len(
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :n AND pid <> pg_backend_pid()"
                    ),
                    {"n": url.database},
                ).all()
            )
    finally:
        admin.dispose()


def _post_local(player: PlayerProcess, path: str, body: bytes) -> None:
    req = urllib.request.Request(
        player.kiosk_url.rstrip("/") + path,
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200


class Load(threading.Thread):
    """Other displays' traffic during the outages: manifests and heartbeats."""

    def __init__(self, url: str, token: str) -> None:
        super().__init__(daemon=True)
        self.url, self.token = url, token
        self.stop = threading.Event()
        self.statuses: dict[int, int] = {}

    def run(self) -> None:
        beat = json.dumps({"player_version": "load"}).encode()
        n = 0
        while not self.stop.is_set():
            n += 1
            if n % 2:
                req = urllib.request.Request(
                    self.url + "/api/player/v1/manifest",
                    headers={"Authorization": f"Bearer {self.token}"},
                )
            else:  # a database write per heartbeat
                req = urllib.request.Request(
                    self.url + "/api/player/v1/heartbeat",
                    data=beat,
                    headers={
                        "Authorization": f"Bearer {self.token}",
                        "Content-Type": "application/json",
                    },
                    method="POST",
                )
            try:
                with urllib.request.urlopen(req, timeout=10) as r:
                    status = r.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except OSError:
                status = 0
            self.statuses[status] = self.statuses.get(status, 0) + 1


@pytest.mark.slow
def test_terminated_database_connections_lose_no_ack_and_no_proof_of_play(
    app, dw, session, now, tmp_path, monkeypatch
):
    start = time.monotonic()
    app.config["AUSHANG_CLOCK"] = lambda: now + timedelta(seconds=time.monotonic() - start)
    app.config["AUSHANG_NOTIFY_LISTENER"] = True
    # The load floods heartbeats on purpose; the limit returns for the tests after this one.
    monkeypatch.setitem(app.config, "AUSHANG_HEARTBEATS_PER_MINUTE", 1e6)
    _, plain = enrolment.create_provisioning_token(session, dw.tenant, dw.admin, "Test", now)
    session.commit()
    alert = issue_alert(session, dw)
    alert_pk = alert.id
    other_display_id = dw.other_display.id
    alert_id = str(alert_pk)
    database_url = app.config["SQLALCHEMY_DATABASE_URI"]
    server = RealServer(app).start()
    player = PlayerProcess(tmp_path, server.url, provisioning_token=plain, poll_wait_seconds=2)
    load = Load(server.url, dw.other_token)
    played = 0
    try:
        player.start()
        state = wait_for(
            lambda: (s := player.get("/local/state")) and s["items"] and s["warnings"] and s,
            what="items and warning on the player",
        )
        item_ids = [i["id"] for i in state["items"]]
        load.start()
        for n in range(RESTARTS):
            for _ in range(5):
                for item_id in item_ids:
                    _post_local(player, "/local/played", json.dumps({"item": item_id}).encode())
                    played += 1
            if n == RESTARTS // 2:
                _post_local(player, "/local/alert-shown", json.dumps({"alert": alert_id}).encode())
            killed = _terminate_backends(database_url)
            print(f"restart {n + 1}: {killed} connections terminated")
            # Recovered without a restart: the server answers from the database again.
            wait_for(
                lambda: _status(server.url + "/api/player/v1/manifest", dw.token) == 200,
                timeout=30,
                what="server answering after the restart",
            )
        load.stop.set()
        load.join(timeout=30)

        def count_plays() -> int:
            return _query(
                lambda: db.session.scalar(
                    select(func.count())
                    .select_from(PlayEvent)
                    .where(PlayEvent.display_id != other_display_id, PlayEvent.kind == "play")
                ),
                default=-1,
            )

        # The player sends queued events every 30 s and keeps them until confirmed.
        wait_for(lambda: count_plays() >= played, timeout=120, what="every proof of play stored")
        assert count_plays() == played  # none lost, none twice

        def shown() -> bool:
            delivery = _query(
                lambda: db.session.scalar(
                    select(AlertDelivery).where(AlertDelivery.alert_id == alert_pk)
                ),
                default=None,
            )
            return delivery is not None and delivery.shown_at is not None

        wait_for(shown, timeout=60, what="acknowledgement with shown_at stored")
        assert player.proc.poll() is None
        assert not player.get("/local/state")["stale"]
        print(f"plays sent {played}, stored {count_plays()}; load statuses {load.statuses}")
        # Between the restarts, the other displays' traffic was answered, not refused.
        assert load.statuses.get(200, 0) > 0
        # What the other displays' requests met: 200, or a 503 with Retry-After while their
        # connection died (an infrastructure failure, never a 500).
        assert set(load.statuses) <= {200, 503}
    finally:
        load.stop.set()
        player.stop()
        server.stop()
        app.config["AUSHANG_NOTIFY_LISTENER"] = False
        _query(lambda: None, None)


def _query(run, default):
    """A query of the test itself: a connection terminated just after its pre-ping (the
    backend exits asynchronously) fails once, as it would for any client."""
    try:
        db.session.remove()  # may roll back on a connection that was terminated
        return run()
    except OperationalError:
        return default


def _status(url: str, token: str) -> int:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0
