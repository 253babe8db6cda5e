"""The outbox and the publisher (server.push), checked against contract/player-protocol-v2:
rows written in the changing transaction, messages in order with numbers per channel,
nothing lost when the engine is down, replay by id and by time in the embedded engine."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import jsonschema
import pytest
from sqlalchemy import func, select

from server.models import PushChannel, PushOutbox
from server.push import engines, runtime
from server.push.channels import display_channels, parse_request
from server.push.engines import EmbeddedEngine, PublishFailed
from server.services.displays.snapshot import snapshot_of

from .conftest import issue_alert

SCHEMA = json.loads(
    (
        Path(__file__).resolve().parents[3] / "contract" / "player-protocol-v2.schema.json"
    ).read_text()
)
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


class Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[tuple[str, dict]] = []
        self.fail = fail

    def publish(self, channel: str, data: dict) -> None:
        if self.fail:
            raise PublishFailed("edge down")
        VALIDATOR.validate(data)
        self.sent.append((channel, json.loads(json.dumps(data))))


def _publisher(app, engine):
    runner = runtime.make_runner(app)
    runner.publisher.engine = engine
    return runner


def _unsent(session) -> int:
    return session.scalar(select(func.count()).where(PushOutbox.sent_at.is_(None)))


def test_a_change_writes_its_outbox_row_in_its_own_transaction(app, dw, session):
    before = session.scalar(select(func.count()).select_from(PushOutbox))
    issue_alert(session, dw, "Hochwasser an der Bode")
    rows = session.scalars(select(PushOutbox.scope).order_by(PushOutbox.id.desc())).all()
    assert "alerts" in rows[: session.scalar(select(func.count()).select_from(PushOutbox)) - before]
    # A rolled-back change leaves no row behind.
    count = session.scalar(select(func.count()).select_from(PushOutbox))
    dw.display.name = "Umbenannt"
    session.flush()
    session.rollback()
    assert session.scalar(select(func.count()).select_from(PushOutbox)) == count


def test_publisher_sends_in_order_numbers_per_channel_and_marks_sent(app, dw, session):
    recorder = Recorder()
    runner = _publisher(app, recorder)
    assert runner.step() > 0  # the world's own changes (enrolment, notices)
    assert _unsent(session) == 0
    recorder.sent.clear()
    issue_alert(session, dw, "Hochwasser an der Bode")
    assert runner.step() >= 1
    snap = snapshot_of(session, dw.display)
    warn = display_channels(snap)[2]
    messages = [d for c, d in recorder.sent if c == warn]
    assert len(messages) == 1 and messages[0]["type"] == "warnings"
    assert [w["headline"] for w in messages[0]["warnings"]] == ["Hochwasser an der Bode"]
    first = messages[0]["seq"]
    assert runner.step() == 0 and _unsent(session) == 0  # nothing twice
    recorder.sent.clear()
    issue_alert(session, dw, "Zweite Warnung")
    runner.step()
    # The other Kommune's place has no new warning: its list is not sent again.
    other = display_channels(snapshot_of(session, dw.other_display))[2]
    assert other not in {c for c, _ in recorder.sent}
    again = [d for c, d in recorder.sent if c == warn]
    assert again[-1]["seq"] == first + 1  # +1 per message and channel
    stored = session.get(PushChannel, warn)
    session.refresh(stored)
    assert stored.seq == first + 1


def test_an_engine_that_is_down_loses_nothing(app, dw, session):
    runner = _publisher(app, Recorder())
    runner.step()
    down = Recorder(fail=True)
    runner.publisher.engine = down
    issue_alert(session, dw, "Hochwasser an der Bode")
    assert runner.step() == -1  # failed: logged once, the rows wait
    assert _unsent(session) >= 1
    up = Recorder()
    runner.publisher.engine = up
    assert runner.step() >= 1 and _unsent(session) == 0
    assert any(d["type"] == "warnings" and d["warnings"] for _, d in up.sent)


def test_channel_requests_are_checked():
    assert parse_request("d1,t2,w2-150855555555-0") == ("d1", "t2", "w2-150855555555-0")
    for bad in ("", "d1,d1", "x1", "d1;t2", ",".join(f"d{i}" for i in range(17))):
        assert parse_request(bad) is None


def _read(stream, count: int) -> list[dict]:
    out = []
    for chunk in stream:
        if chunk.startswith("id:"):
            data = chunk.split("data: ", 1)[1].strip()
            out.append({"id": chunk.split("\n", 1)[0][4:], **json.loads(data)})
            if len(out) == count:
                return out
    return out


def test_embedded_engine_replays_by_id_and_by_time():
    engine = EmbeddedEngine()
    stop = threading.Event()
    live = engine.stream(("t1", "w1-150855555555-0"), None, stop, keepalive_s=0.05)
    assert next(live).startswith("retry:")
    engine.publish("t1", {"v": 2, "type": "state", "channel": "t1", "seq": 1, "fetch_within_s": 1})
    first = _read(live, 1)[0]
    engine.publish("t1", {"v": 2, "type": "state", "channel": "t1", "seq": 2, "fetch_within_s": 1})
    engine.publish(
        "w1-150855555555-0",
        {
            "v": 2,
            "type": "warnings",
            "channel": "w1-150855555555-0",
            "seq": 1,
            "warnings": [],
            "revision": 1,
            "fetch_within_s": 1,
        },
    )
    replay = engine.stream(("t1", "w1-150855555555-0"), first["id"], stop, keepalive_s=0.05)
    next(replay)
    got = _read(replay, 2)
    assert [(m["channel"], m["seq"]) for m in got] == [("t1", 2), ("w1-150855555555-0", 1)]
    since = engine.stream(("t1",), "0:0", stop, keepalive_s=0.05)  # everything after 1970
    next(since)
    assert [m["seq"] for m in _read(since, 2)] == [1, 2]
    stop.set()


def test_embedded_stream_refuses_foreign_and_malformed_channels(app, client, dw, session):
    state = client.get("/api/player/v2/state", headers=dw.auth())
    assert state.status_code == 200
    own = state.headers["Aushang-Channels"].split(",")
    assert own[0] == f"d{dw.display.id}" and state.headers["Aushang-Alerts-Revision"].isdigit()
    again = client.get(
        "/api/player/v2/state", headers={**dw.auth(), "If-None-Match": state.headers["ETag"]}
    )
    assert again.status_code == 304 and again.headers["Aushang-Channels"] == ",".join(own)
    foreign = client.get(f"/api/player/v2/stream?c=d{dw.other_display.id}", headers=dw.auth())
    assert foreign.status_code == 403
    assert client.get("/api/player/v2/stream?c=x", headers=dw.auth()).status_code == 400
    assert client.get("/api/player/v2/stream?c=" + own[0]).status_code == 401
    # Only the edge's subrequest reaches the authorisation route.
    assert client.get("/api/player/v2/stream-auth", headers=dw.auth()).status_code == 404
    edge = {**dw.auth(), "X-Aushang-Edge": "subscribe", "X-Original-URI": "/s?c=" + own[1]}
    assert client.get("/api/player/v2/stream-auth", headers=edge).status_code == 200


@pytest.fixture(autouse=True)
def _no_thread_publishers():
    yield
    runtime.stop_local_publishers()
    engines.embedded().close_streams()
