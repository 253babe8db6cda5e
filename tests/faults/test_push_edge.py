"""Faults of the push path (issue 15), each with a private nginx + nchan edge rendered
from deploy/server/nginx, the real app and publisher, and players speaking protocol v2
through the real transport: the edge restarted mid-broadcast, a player offline, the
publisher killed between commit and publish, a duplicate message, a forged publish."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import select

from bench import edge as edge_mod
from server.push import runtime, wakeup
from server.push.engines import NchanEngine

from ..server.push.conftest import issue_alert
from .push_world import AppServer, CutProxy, Edge, follower, wait_for

CHILD = Path(__file__).with_name("publisher_child.py")


def _need_edge() -> None:
    reason = edge_mod.available()
    if reason and os.environ.get("CI"):
        pytest.fail(reason)
    if reason:
        pytest.skip(reason)


class World:
    def __init__(self, app, dw, tmp_path: Path, *, publisher: bool = True) -> None:
        _need_edge()
        self.app, self.dw = app, dw
        self.server = AppServer(app)
        self.edge = Edge(tmp_path / "edge", self.server.port).start()
        self._saved = {
            k: app.config.get(k)
            for k in (
                "AUSHANG_PUSH_ENGINE",
                "AUSHANG_PUSH_PUBLISH_URL",
                "AUSHANG_PUSH_STATE_SPREAD_SECONDS",
            )
        }
        app.config.update(
            AUSHANG_PUSH_ENGINE="nchan",
            AUSHANG_PUSH_PUBLISH_URL=self.edge.publish_url,
            AUSHANG_PUSH_STATE_SPREAD_SECONDS=0.5,
        )
        self.runner = None
        self.thread = None
        if publisher:
            self.start_publisher()
        self.followers = []

    def start_publisher(self) -> None:
        self.runner = runtime.make_runner(self.app)
        self.runner.poll_s = 0.1
        self.thread = threading.Thread(target=self.runner.run_local, daemon=True)
        self.thread.start()

    def follow(self, url: str | None = None, token: str | None = None):
        f = follower(url or self.edge.url, token or self.dw.token)
        self.followers.append(f)
        return f

    def close(self) -> None:
        for f in self.followers:
            f.close()
        if self.runner is not None:
            self.runner.stop_event.set()
            wakeup.set()
            self.thread.join(5)
        self.edge.stop()
        self.server.stop()
        self.app.config.update(self._saved)


@pytest.fixture()
def world(app, dw, tmp_path):
    w = World(app, dw, tmp_path)
    yield w
    w.close()


def _connected(followers) -> bool:
    return all(f.client.connected and f.manifest is not None for f in followers)


def test_edge_restarted_mid_broadcast_every_player_ends_with_the_warning(world, session, dw):
    players = [world.follow() for _ in range(8)]
    wait_for(lambda: _connected(players), what="players on their streams")
    issue_alert(session, dw, headline="Hochwasser: Edge-Neustart")
    world.edge.kill()  # while the message is on its way, or before it left
    world.edge.start()
    wait_for(
        lambda: all("Hochwasser: Edge-Neustart" in p.headlines() for p in players),
        timeout=20,
        what="the warning on every player (replay or snapshot)",
    )


def _offline_then_back(world, session, dw, offline_s: float) -> float:
    """Seconds from the player's first contact after the outage (its stream or its
    snapshot, whichever its backoff tries first) to the warning in hand."""
    proxy = CutProxy(world.edge.port)
    player = world.follow(url=proxy.url)
    wait_for(lambda: _connected([player]), what="player on its stream")
    proxy.cut()
    wait_for(lambda: not player.client.connected, what="player noticing it is offline")
    issue_alert(session, dw, headline="Sturm: während offline")
    time.sleep(offline_s)  # the outage itself, not a wait for a result
    assert player.warnings_at is None
    back = time.monotonic()
    proxy.restore()
    wait_for(lambda: "Sturm: während offline" in player.headlines(), timeout=60, what="warning")
    stream = player.client.stream
    reconnects = [t for t in (*player.contacts, stream.connected_at if stream else None) if t]
    reconnected = min(t for t in reconnects if t >= back)
    proxy.close()
    return player.warnings_at - reconnected


def _arrived_after_reconnect(after: float) -> None:
    """The warning reached the player after it was back (``_offline_then_back`` waits for
    it, or fails). How fast is a speed target: it lives in ``make bench``, not here (house
    rule). Known gap (issue 15, open): a stream whose warnings channel had no message
    before the outage resumes with nchan's "-" for it, which starts that channel at its
    newest message; the warning then comes with the spread snapshot (up to 5 s) instead
    of by replay."""
    print(f"warning {after * 1000:.0f} ms after the player was back in contact")


def test_a_player_offline_for_a_few_seconds_gets_the_warning_on_reconnect(world, session, dw):
    _arrived_after_reconnect(_offline_then_back(world, session, dw, 3.0))


@pytest.mark.slow
def test_a_player_offline_for_30_s_gets_the_warning_after_reconnecting(world, session, dw):
    _arrived_after_reconnect(_offline_then_back(world, session, dw, 30.0))


def test_publisher_killed_between_commit_and_publish_sends_after_restart(
    app, dw, session, tmp_path, now
):
    world = World(app, dw, tmp_path, publisher=False)
    try:
        player = world.follow()
        wait_for(lambda: _connected([player]), what="player on its stream")
        args = [
            sys.executable,
            str(CHILD),
            app.config["SQLALCHEMY_DATABASE_URI"],
            app.instance_path,
            app.config["AUSHANG_DATA_DIR"],
            world.edge.publish_url,
            now.isoformat(),
        ]
        child = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == "ready"
        os.kill(child.pid, signal.SIGSTOP)  # frozen: it will never publish what follows
        issue_alert(session, dw, headline="Gasaustritt: Publisher tot")  # committed
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
        assert "Gasaustritt: Publisher tot" not in player.headlines()
        second = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        try:
            assert second.stdout.readline().strip() == "ready"
            wait_for(
                lambda: "Gasaustritt: Publisher tot" in player.headlines(),
                what="the warning, sent by the restarted publisher",
            )
        finally:
            second.kill()
            second.wait(10)
    finally:
        world.close()


def test_a_duplicate_message_is_drawn_once(world, session, dw):
    player = world.follow()
    wait_for(lambda: _connected([player]), what="player on its stream")
    issue_alert(session, dw, headline="Brand: doppelt")
    warn = next(c for c in player.client.channels if c.startswith("w"))
    wait_for(
        lambda: "Brand: doppelt" in player.headlines() and warn in player.client.seqs,
        what=f"warning by message ({player.client.seqs})",
    )
    answers = player.answers
    seq = player.client.seqs[warn]
    message = {
        "v": 2,
        "type": "warnings",
        "channel": warn,
        "seq": seq,
        "warnings": player.manifest["warnings"],
        "fetch_within_s": 0.5,
    }
    engine = NchanEngine(world.edge.publish_url)
    engine.publish(warn, message)  # the same message again (a publisher re-sending it)
    engine.publish(warn, message)
    marker = {"v": 2, "type": "state", "channel": warn, "seq": seq + 1, "fetch_within_s": 0}
    engine.publish(warn, marker)
    wait_for(lambda: player.client.seqs[warn] == seq + 1, what="the marker after the duplicates")
    assert player.answers == answers  # nothing drawn twice


def _post(url: str, token: str, body: bytes = b'{"type":"warnings"}') -> int:
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_a_forged_publish_from_a_players_token_is_refused(world, session, dw):
    player = world.follow()
    wait_for(lambda: _connected([player]), what="player on its stream")
    own = player.client.channels
    base = world.edge.url
    forged = [
        _post(f"{base}/api/player/v2/stream?c={','.join(own)}", dw.token),
        _post(f"{base}/pub/{own[0]}", dw.token),
        _post(f"{base}/api/player/v2/stream-auth", dw.token),
    ]
    assert all(status >= 400 for status in forged), forged
    # Another display's channels: the engine asks the app, the app refuses (D6).
    other = f"d{dw.other_display.id}"
    request = urllib.request.Request(
        f"{base}/api/player/v2/stream?c={other}",
        headers={"Authorization": f"Bearer {dw.token}", "Accept": "text/event-stream"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 403
    issue_alert(session, dw, headline="Echt: nach dem Versuch")
    wait_for(lambda: "Echt: nach dem Versuch" in player.headlines(), what="real warning")
    assert player.headlines() == ["Echt: nach dem Versuch"]


def test_a_real_player_process_gets_a_warning_through_the_edge(app, dw, session, now, tmp_path):
    """``python -m player`` (its kiosk server included) enrolled and streaming through the
    private edge: the warning on its kiosk state, and both acknowledgements stored."""
    import sys as _sys

    from server.models import AlertDelivery
    from server.services.displays import enrolment

    _sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "player"))
    from player_process import PlayerProcess

    _, plain = enrolment.create_provisioning_token(session, dw.tenant, dw.admin, "Edge", now)
    session.commit()
    world = World(app, dw, tmp_path)
    (tmp_path / "player").mkdir()
    player = PlayerProcess(tmp_path / "player", world.edge.url, provisioning_token=plain)
    try:
        player.start()
        wait_for(lambda: (s := player.get("/local/state")) and s["items"], what="items")
        wait_for(lambda: "stream_connected" in player.log.read_text(), what="player stream")
        record = issue_alert(session, dw, "Echter Player: Hochwasser")
        wait_for(
            lambda: (
                (s := player.get("/local/state"))
                and [w["headline"] for w in s["warnings"]] == ["Echter Player: Hochwasser"]
                and s
            ),
            what="the warning on the real player's kiosk state",
        )

        def stored():
            session.rollback()  # a fresh read each time
            return session.scalar(select(AlertDelivery).where(AlertDelivery.alert_id == record.id))

        delivered = wait_for(stored, what="the delivered acknowledgement stored")
        assert delivered.received_at is not None
    finally:
        player.stop()
        world.close()
