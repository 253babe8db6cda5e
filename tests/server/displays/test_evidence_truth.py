"""Evidence only from the truth (issue 11): heartbeats, proof of play and
acknowledgements count only for content the server sent that display at that time;
anything else is not counted, flagged once as a suspicious device and shown to staff."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from server.models import AlertDelivery, AuditEntry, Display, Heartbeat, PlayEvent, SentItem
from server.services.displays import config as display_config
from server.services.displays.evidence import display_records
from server.services.displays.manifest import isoz
from server.services.files import BlobStore

from ..web.conftest import login_as
from .conftest import API, enrolled_display, release


def _manifest(client, dw, token=None) -> dict:
    r = client.get(API + "manifest", headers=dw.auth(token))
    assert r.status_code == 200, r.get_data(as_text=True)
    body = r.get_json()
    r.close()  # the answer has gone out: now its record is written
    return body


def _beat(client, dw, token, item):
    r = client.post(
        API + "heartbeat",
        json={"player_version": "1.0", "current_item": item},
        headers=dw.auth(token),
    )
    assert r.status_code == 200, r.get_data(as_text=True)


def _play(client, dw, token, item, shown_at):
    event = {
        "type": "play",
        "id": str(uuid.uuid4()),
        "item_id": item["id"],
        "notice_id": item["notice_id"],
        "version_hash": item["version_hash"],
        "shown_at": isoz(shown_at),
    }
    r = client.post(API + "events", json={"events": [event]}, headers=dw.auth(token))
    assert r.status_code == 200, r.get_data(as_text=True)


def _record(session, notice, display, at):
    records = display_records(session, notice, at)
    return next((r for r in records if r["display_id"] == display.id), None)


def _display(session, display):
    found = session.get(Display, display.id)
    session.refresh(found)
    return found


def _audits(session, action="display.suspicious"):
    return session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()


def test_foreign_heartbeats_leave_the_aushangvermerk_untouched(
    client, dw, session, clock, now, caplog
):
    """A display of tenant B names tenant A's notice in its heartbeats."""
    item = _manifest(client, dw)["items"][0]
    _manifest(client, dw, dw.other_token)
    before = _record(session, dw.notice, dw.display, now + timedelta(hours=1))
    for minute in range(3):
        clock.set(now + timedelta(minutes=minute))
        _beat(client, dw, dw.other_token, item["id"])

    records = display_records(session, dw.notice, now + timedelta(hours=1))
    assert [r["display_id"] for r in records] == [dw.display.id]
    assert records[0] == before
    # The heartbeats stay signs of life; their claim is not kept anywhere.
    other = _display(session, dw.other_display)
    assert other.last_seen == now + timedelta(minutes=2)
    assert other.current_item is None
    beats = session.scalars(select(Heartbeat).where(Heartbeat.display_id == other.id)).all()
    assert len(beats) == 3 and {b.current_item for b in beats} == {None}
    # Flagged once: one log line and one audit row, not one per request.
    assert other.suspicious_at == now
    assert item["id"] in other.suspicious_reason
    assert caplog.text.count("event=display_suspicious") == 1
    assert len(_audits(session)) == 1


def test_foreign_play_events_and_a_never_sent_notice_do_not_count(client, dw, session, clock, now):
    item = _manifest(client, dw)["items"][0]
    _manifest(client, dw, dw.other_token)
    _play(client, dw, dw.other_token, item, now)
    # Same tenant, but a selection without the notice's category: never sent it.
    narrow, narrow_token = enrolled_display(
        session, dw.tenant, "Sporthalle", now, all_categories=False
    )
    session.commit()
    assert _manifest(client, dw, narrow_token)["items"] == []
    _play(client, dw, narrow_token, item, now)
    _beat(client, dw, narrow_token, item["id"])

    at = now + timedelta(hours=1)
    assert _record(session, dw.notice, dw.other_display, at) is None
    narrow_record = _record(session, dw.notice, narrow, at)
    assert narrow_record is None or (
        narrow_record["plays"] == 0 and narrow_record["heartbeats_on_screen"] == 0
    )
    plays = session.scalars(select(PlayEvent)).all()
    assert len(plays) == 2 and {p.notice_id for p in plays} == {None}
    assert _display(session, dw.other_display).suspicious_at == now
    assert _display(session, narrow).suspicious_at == now
    assert len(_audits(session)) == 2  # one per device, the second claim logged no more


def test_genuine_reports_count_and_flag_nothing(client, dw, session, clock, now):
    item = _manifest(client, dw)["items"][0]
    _beat(client, dw, None, item["id"])
    _play(client, dw, None, item, now)

    record = _record(session, dw.notice, dw.display, now + timedelta(hours=1))
    assert record["plays"] == 1 and record["heartbeats_on_screen"] == 1
    assert _display(session, dw.display).suspicious_at is None
    assert session.scalars(select(SentItem)).all()  # the manifest answer was recorded


def test_late_reports_count_for_the_time_the_notice_was_sent(app, client, dw, session, clock, now):
    """The notice was in the display's manifest, then no longer; play events queued
    while it was (an offline player catching up) still count, later ones do not."""
    item = _manifest(client, dw)["items"][0]
    sent_at = now
    clock.set(now + timedelta(minutes=30))
    other_cat = dw.factory.category(dw.tenant, "Sonstiges", binding=("internet", "board"))
    display_config.save_display(
        session,
        dw.tenant,
        dw.admin,
        display_config.DisplayInput(
            name="Rathaus Foyer", all_categories=False, category_ids=[other_cat.id]
        ),
        now + timedelta(minutes=30),
        store=BlobStore(app.config["AUSHANG_DATA_DIR"]),
        base_url=app.config["AUSHANG_BASE_URL"],
        display=session.get(Display, dw.display.id),
    )
    session.commit()
    assert _manifest(client, dw)["items"] == []  # removed at now + 30 min
    # A heartbeat sent while the slide was still on screen, arriving a minute later.
    clock.set(now + timedelta(minutes=31))
    _beat(client, dw, None, item["id"])
    assert (
        _record(session, dw.notice, dw.display, now + timedelta(hours=3))["heartbeats_on_screen"]
        == 1
    )

    clock.set(now + timedelta(hours=2))
    _play(client, dw, None, item, sent_at + timedelta(minutes=10))  # while it was sent
    record = _record(session, dw.notice, dw.display, now + timedelta(hours=3))
    assert record["plays"] == 1
    assert _display(session, dw.display).suspicious_at is None
    _play(client, dw, None, item, now + timedelta(hours=1))  # long after it was removed
    assert _record(session, dw.notice, dw.display, now + timedelta(hours=3))["plays"] == 1
    assert _display(session, dw.display).suspicious_at == now + timedelta(hours=2)


def test_offline_player_keeps_what_it_was_sent(client, dw, session, clock, now):
    """While a display fetches nothing, what it was sent stays sent: a notice released
    meanwhile was never sent to it, the one it holds was."""
    item = _manifest(client, dw)["items"][0]
    clock.set(now + timedelta(minutes=5))
    later = release(dw, session, now + timedelta(minutes=5), title="Später")
    clock.set(now + timedelta(hours=1))
    _play(client, dw, None, item, now + timedelta(minutes=40))  # cached, still sent
    fake = {
        "id": f"notice-{later.id}-v1",
        "notice_id": str(later.id),
        "version_hash": later.current_version.content_hash,
    }
    # Not sent yet, and claimed for a moment long past (the current-manifest shortcut
    # only covers moments near now).
    _play(client, dw, None, fake, now + timedelta(minutes=10))
    assert _record(session, dw.notice, dw.display, now + timedelta(hours=2))["plays"] == 1
    assert _record(session, later, dw.display, now + timedelta(hours=2))["plays"] == 0
    assert _display(session, dw.display).suspicious_at is not None


def test_acks_for_foreign_or_unsent_alerts_are_refused_and_flagged(client, dw, session, now):
    from tests.server.displays.test_long_poll import issue_alert

    alert = issue_alert(session, dw)
    exercise = issue_alert(session, dw, test_mode=True)  # for test displays only
    _manifest(client, dw)
    _manifest(client, dw, dw.other_token)

    def ack(token, display, alert_id):
        body = {
            "alert_id": str(alert_id),
            "display_id": str(display.id),
            "delivered_at": isoz(now),
            "shown_at": isoz(now),
        }
        return client.post(API + f"alerts/{alert_id}/ack", json=body, headers=dw.auth(token))

    r = ack(dw.other_token, dw.other_display, alert.id)  # another tenant's alert
    assert r.status_code == 404 and r.mimetype == "application/problem+json"
    r = ack(None, dw.display, exercise.id)  # its own tenant's, but never sent to it
    assert r.status_code == 404
    assert session.scalars(select(AlertDelivery)).all() == []
    assert _display(session, dw.other_display).suspicious_at == now
    assert _display(session, dw.display).suspicious_at == now
    assert ack(None, dw.display, alert.id).status_code == 200  # what it was sent counts


def test_staff_see_the_suspicious_device_and_can_clear_it(client, dw, session, now):
    item = _manifest(client, dw)["items"][0]
    _beat(client, dw, dw.other_token, item["id"])
    other_admin = dw.factory.user(dw.other, "admin")
    session.commit()
    login_as(client, other_admin)
    page = client.get(f"/admin/{dw.other.slug}/anzeigen/").get_data(as_text=True)
    assert "Verdächtig" in page
    detail = client.get(f"/admin/{dw.other.slug}/anzeigen/{dw.other_display.id}")
    text = detail.get_data(as_text=True)
    assert "Verdächtiges Gerät" in text and item["id"] in text
    assert "nie gesendet" in text
    r = client.post(f"/admin/{dw.other.slug}/anzeigen/{dw.other_display.id}/verdacht-erledigt")
    assert r.status_code in (302, 303)
    assert _display(session, dw.other_display).suspicious_at is None
    assert len(_audits(session, "display.suspicious_cleared")) == 1
