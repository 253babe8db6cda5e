"""Player protocol v1 as served by the real server: contract, enrolment, tokens, assets,
reports."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

from sqlalchemy import select

from server.models import AlertDelivery, AuditEntry, Display, Heartbeat, PlayEvent
from server.services.displays import enrolment

from .conftest import API, enrolled_display, validate


def test_manifest_follows_the_contract(client, dw):
    r = client.get(API + "manifest", headers=dw.auth())
    assert r.status_code == 200
    assert r.headers["Date"]
    body = r.get_json()
    validate("manifest", body)
    assert r.headers["ETag"] == f'"{body["etag"]}"'
    assert body["display"] == {"id": str(dw.display.id), "name": "Rathaus Foyer"}
    notice_items = [i for i in body["items"] if i["kind"] == "notice"]
    assert notice_items[0]["notice_id"] == str(dw.notice.id)
    assert notice_items[0]["version_hash"] == dw.notice.current_version.content_hash
    assert body["screen"] == {"timezone": "Europe/Berlin", "schedule": []}


def test_etag_stable_and_304_after_wait(client, dw):
    first = client.get(API + "manifest", headers=dw.auth())
    etag = first.headers["ETag"]
    again = client.get(API + "manifest", headers=dw.auth())
    assert again.headers["ETag"] == etag
    r = client.get(API + "manifest?wait=0", headers={**dw.auth(), "If-None-Match": etag})
    assert r.status_code == 304 and r.headers["ETag"] == etag and not r.data


def test_manifest_built_once_per_change(client, dw, session, now):
    from server.runtime import caches

    parts = caches().parts

    second, token2 = enrolled_display(session, dw.tenant, "Bibliothek", now)
    session.commit()
    client.get(API + "manifest", headers=dw.auth())
    builds = parts.builds
    for _ in range(5):
        client.get(API + "manifest", headers=dw.auth())
        client.get(API + "manifest", headers=dw.auth(token2))
    assert parts.builds == builds  # same configuration: one shared build, no rebuild


def test_assets_are_scoped_to_the_displays_manifest(client, dw):
    body = client.get(API + "manifest", headers=dw.auth()).get_json()
    item = body["items"][0]
    r = client.get(API + f"assets/{item['slide']['sha256']}", headers=dw.auth())
    assert r.status_code == 200
    assert hashlib.sha256(r.data).hexdigest() == item["slide"]["sha256"]
    assert len(r.data) == item["slide"]["size"]
    assert "immutable" in r.headers["Cache-Control"]
    # The other tenant's display cannot fetch this tenant's files.
    r = client.get(API + f"assets/{item['slide']['sha256']}", headers=dw.auth(dw.other_token))
    assert r.status_code == 404 and r.mimetype == "application/problem+json"
    validate("problem", r.get_json())
    assert client.get(API + "assets/" + "0" * 64, headers=dw.auth()).status_code == 404


def test_forged_token_rejected_logged_and_audited(client, dw, session, caplog):
    r = client.get(API + "manifest", headers=dw.auth("pt_forged-token-" + "x" * 30))
    assert r.status_code == 401 and r.mimetype == "application/problem+json"
    validate("problem", r.get_json())
    assert "event=player_auth_rejected reason=unknown_token" in caplog.text
    rows = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "display.auth_rejected")
    ).all()
    assert len(rows) == 1 and "unknown_token" in rows[0].details
    assert client.get(API + "manifest").status_code == 401  # no token at all


def test_another_displays_token_is_rejected_for_acks(client, dw, session):
    from tests.server.displays.test_long_poll import issue_alert

    alert = issue_alert(session, dw)
    body = {
        "alert_id": str(alert.id),
        "display_id": str(dw.display.id),
        "delivered_at": "2026-11-20T09:30:01Z",
        "shown_at": None,
    }
    r = client.post(API + f"alerts/{alert.id}/ack", json=body, headers=dw.auth(dw.other_token))
    assert r.status_code == 403
    validate("problem", r.get_json())
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "display.auth_rejected"))
    assert session.scalars(select(AlertDelivery)).all() == []


def test_revoked_token_is_rejected_at_once(client, dw, session, now):
    assert client.get(API + "manifest", headers=dw.auth()).status_code == 200
    enrolment.revoke_display(session, session.get(Display, dw.display.id), dw.admin, now)
    session.commit()
    assert client.get(API + "manifest", headers=dw.auth()).status_code == 401


def test_pairing_flow(client, dw, session, now):
    req = {"player_version": "0.1.0", "hostname": "pi-rathaus"}
    validate("enroll_request", req)
    r = client.post(API + "enroll", json=req)
    assert r.status_code == 201
    answer = r.get_json()
    validate("enroll_pairing_response", answer)
    poll = API + f"enroll/{answer['pairing_code']}"
    claim = {"Authorization": f"Bearer {answer['claim_secret']}"}
    r = client.get(poll, headers=claim)
    assert r.status_code == 202
    validate("enroll_poll_response", r.get_json())
    # Someone who saw the code on the screen cannot collect the token.
    assert client.get(poll, headers={"Authorization": "Bearer " + "f" * 48}).status_code == 404
    new, _ = enrolled_display(session, dw.tenant, "Neue Tafel", now)
    enrolment.pair(session, dw.tenant, dw.admin, answer["pairing_code"].lower(), new, now)
    session.commit()
    r = client.get(poll, headers=claim)
    assert r.status_code == 200
    paired = r.get_json()
    validate("enroll_poll_response", paired)
    assert paired["display"] == {"id": str(new.id), "name": "Neue Tafel"}
    token = paired["token"]
    r = client.get(API + "manifest", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200


def test_pairing_code_expires(client, dw, clock, now):
    answer = client.post(API + "enroll", json={"player_version": "0.1.0"}).get_json()
    clock.set(now + timedelta(hours=1))
    r = client.get(
        API + f"enroll/{answer['pairing_code']}",
        headers={"Authorization": f"Bearer {answer['claim_secret']}"},
    )
    assert r.status_code == 410


def test_provisioning_flow(client, dw, session, now):
    _, plain = enrolment.create_provisioning_token(session, dw.tenant, dw.admin, "Rollout", now)
    session.commit()
    req = {"player_version": "0.1.0", "hostname": "pi-bib", "provisioning_token": plain}
    validate("enroll_request", req)
    r = client.post(API + "enroll", json=req)
    assert r.status_code == 201
    validate("enroll_token_response", r.get_json())
    display = session.get(Display, int(r.get_json()["display"]["id"]))
    assert display.tenant_id == dw.tenant.id and display.token_hash != r.get_json()["token"]
    r = client.post(API + "enroll", json={**req, "provisioning_token": "prov-wrong-token"})
    assert r.status_code == 403


def test_heartbeat_events_idempotent(client, dw, session):
    beat = {
        "player_version": "0.1.0",
        "uptime_s": 12.5,
        "sent_at": "2026-11-20T09:30:00.100Z",
        "local_time": "2026-11-20T09:30:45.100Z",
        "clock_skew_s": 45.0,
        "clock_synced": True,
        "current_item": "notice-1-v1",
        "manifest_etag": None,
        "free_disk_bytes": 123456,
        "screen": {"desired": "on", "actual": "on", "method": "none", "mismatch": False},
        "last_error": None,
        "kiosk_last_ping_age_s": 3.0,
    }
    r = client.post(API + "heartbeat", json=beat, headers=dw.auth())
    assert r.status_code == 200
    validate("heartbeat_response", r.get_json())
    display = session.get(Display, dw.display.id)
    session.refresh(display)
    assert display.clock_skew_s == 45.0 and display.current_item == "notice-1-v1"
    assert len(session.scalars(select(Heartbeat)).all()) == 1
    batch = {
        "events": [
            {
                "type": "play",
                "id": str(uuid.uuid4()),
                "item_id": "notice-1-v1",
                "notice_id": str(dw.notice.id),
                "version_hash": "a" * 64,
                "shown_at": "2026-11-20T09:30:05Z",
            },
            {
                "type": "error",
                "id": str(uuid.uuid4()),
                "code": "disk_full",
                "message": "voll",
                "at": "2026-11-20T09:30:06Z",
            },
        ]
    }
    validate("events_batch", batch)
    for _ in range(2):
        r = client.post(API + "events", json=batch, headers=dw.auth())
        assert r.status_code == 200
        validate("events_response", r.get_json())
    assert len(session.scalars(select(PlayEvent)).all()) == 2


def test_bad_input_is_a_clear_4xx(client, dw):
    r = client.post(API + "heartbeat", data="kein json", headers=dw.auth())
    assert r.status_code == 400 and r.mimetype == "application/problem+json"
    r = client.post(API + "events", json={"events": [{"type": "x", "id": "1"}]}, headers=dw.auth())
    assert r.status_code == 422
    r = client.post(API + "enroll", json={"hostname": 3})
    assert r.status_code == 422
