"""Heartbeats written in batches: every heartbeat is kept, the display's status is the
latest one, and a display that is not enrolled (any more) gets nothing stored."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from server.models import Display, Heartbeat
from server.services.displays import enrolment
from server.services.displays.reports import heartbeat_row, store_heartbeats

from .conftest import API


def test_one_batch_keeps_every_beat_and_the_latest_status(dw, session, now):
    beats = [
        heartbeat_row(dw.display.id, {"player_version": "1.0", "current_item": "a"}, now),
        heartbeat_row(dw.other_display.id, {"player_version": "2.0"}, now),
        heartbeat_row(
            dw.display.id,
            {"player_version": "1.1", "current_item": "b"},
            now + timedelta(seconds=1),
        ),
    ]
    assert store_heartbeats(session.connection(), beats) == [True, True, True]
    session.commit()
    rows = session.scalars(select(Heartbeat).order_by(Heartbeat.id)).all()
    assert [(r.display_id, r.player_version) for r in rows] == [
        (dw.display.id, "1.0"),
        (dw.other_display.id, "2.0"),
        (dw.display.id, "1.1"),
    ]
    display = session.get(Display, dw.display.id)
    session.refresh(display)
    assert (display.player_version, display.current_item) == ("1.1", "b")
    assert display.last_seen == now + timedelta(seconds=1)


def test_a_revoked_display_stores_nothing_and_its_token_is_refused(client, dw, session, now):
    enrolment.revoke_display(session, dw.other_display, dw.admin, now)
    session.commit()
    beats = [
        heartbeat_row(dw.other_display.id, {"player_version": "1.0"}, now),
        heartbeat_row(dw.display.id, {"player_version": "1.0"}, now),
    ]
    assert store_heartbeats(session.connection(), beats) == [False, True]
    session.commit()
    assert [r.display_id for r in session.scalars(select(Heartbeat))] == [dw.display.id]
    answer = client.post(
        API + "heartbeat", json={"player_version": "1.0"}, headers=dw.auth(dw.other_token)
    )
    assert answer.status_code == 401


def test_bad_heartbeat_is_a_clear_422_and_stores_nothing(client, dw, session):
    for body in ({}, {"player_version": 3}, {"player_version": "1", "sent_at": "gestern"}):
        answer = client.post(API + "heartbeat", json=body, headers=dw.auth())
        assert answer.status_code == 422, body
        assert answer.mimetype == "application/problem+json"
    assert session.scalars(select(Heartbeat)).all() == []
