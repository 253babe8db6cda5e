"""Every JSON API and player route probed with another tenant's ids and another display's
token: refused (401/403/404) or confined to the caller's own data; nothing of the other
side leaks into an answer and nothing of it changes (issue 8, security)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models import AlertDelivery, AlertRecord, AuditEntry, Display, Heartbeat, PlayEvent
from server.runtime import caches
from server.services import audit
from server.services.displays import enrolment
from server.sources.cap import alert_from_cap_json, build_cap_xml

from .conftest import API


def _z(dt) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _cap_json(ident: str, ars: str, sent, *, msg_type: str = "Alert", references=None) -> str:
    body = {
        "identifier": ident,
        "sender": "leitstelle@example.org",
        "sent": sent.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
        "status": "Actual",
        "msgType": msg_type,
        "scope": "Public",
        "info": [
            {
                "language": "de-DE",
                "category": ["Safety"],
                "event": "Evakuierung",
                "urgency": "Immediate",
                "severity": "Severe",
                "certainty": "Observed",
                "headline": f"Evakuierung {ident}",
                "expires": (sent + timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M:%S+00:00"),
                "area": [{"areaDesc": "Ort", "geocode": [{"valueName": "SHN", "value": ars}]}],
            }
        ],
    }
    if references:
        body["references"] = references
    return json.dumps(body)


def _snapshot(session) -> dict[str, object]:
    """Everything of tenant A that a probe must not change."""
    session.expire_all()
    return {
        "displays": [
            (d.id, d.name, d.last_seen, d.player_version, d.revoked_at, d.token_hash)
            for d in session.scalars(select(Display).order_by(Display.id))
        ],
        "alerts": [
            (a.id, a.identifier, a.phase, a.msg_type)
            for a in session.scalars(select(AlertRecord).order_by(AlertRecord.id))
        ],
        "deliveries": session.scalar(select(func.count()).select_from(AlertDelivery)),
    }


def _a_alert(client, two, now) -> AlertRecord:
    r = client.post(
        "/api/v1/alerts",
        data=_cap_json("urn:a:1", two.a.tenant.ars, now),
        content_type="application/json",
        headers=two.a.alerts_auth(),
    )
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["targets"] == [two.a.tenant.slug]
    return db.session.scalars(select(AlertRecord).where(AlertRecord.identifier == "urn:a:1")).one()


def test_player_routes_with_another_displays_token(client, two, session, now):
    real_now = datetime.now(UTC).replace(microsecond=0)  # the alerts API takes real time
    alert = _a_alert(client, two, real_now)
    a_manifest = client.get(API + "manifest", headers=two.a.auth()).get_json()
    a_shas = {i["slide"]["sha256"] for i in a_manifest["items"]}
    assert a_manifest["warnings"], "A's display shows A's warning"
    before = _snapshot(session)

    # The manifest of B's token is B's own: nothing of A in it.
    r = client.get(API + "manifest", headers=two.b.auth())
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and r.get_json()["display"]["id"] == str(two.b.display.id)
    assert "Musterstadt" not in body and "urn:a:1" not in body
    assert not a_shas & {i["slide"]["sha256"] for i in r.get_json()["items"]}
    assert r.get_json()["warnings"] == []

    # A's files: not for B.
    for sha in a_shas:
        r = client.get(API + f"assets/{sha}", headers=two.b.auth())
        assert r.status_code == 404 and r.mimetype == "application/problem+json"
        assert client.get(API + f"assets/{sha}", headers=two.a.auth()).status_code == 200

    # Acknowledging A's warning: as A's display → 403; as itself → 404 (not its warning).
    ack = {"alert_id": str(alert.id), "delivered_at": _z(now), "shown_at": _z(now)}
    r = client.post(
        API + f"alerts/{alert.id}/ack",
        json={**ack, "display_id": str(two.a.display.id)},
        headers=two.b.auth(),
    )
    assert r.status_code == 403
    r = client.post(
        API + f"alerts/{alert.id}/ack",
        json={**ack, "display_id": str(two.b.display.id)},
        headers=two.b.auth(),
    )
    assert r.status_code == 404, r.get_json()

    # Reports with B's token land on B, whatever the body claims.
    beat = {
        "player_version": "evil",
        "display_id": str(two.a.display.id),
        "sent_at": _z(now),
        "free_disk_bytes": 1,
    }
    assert client.post(API + "heartbeat", json=beat, headers=two.b.auth()).status_code == 200
    assert {h.display_id for h in session.scalars(select(Heartbeat))} == {two.b.display.id}

    # Proof of play for A's notice from B's display is not evidence for A's notice.
    a_item = next(i for i in a_manifest["items"] if i["kind"] == "notice")
    event = {
        "type": "play",
        "id": str(uuid.uuid4()),
        "item_id": a_item["id"],
        "notice_id": a_item["notice_id"],
        "version_hash": a_item["version_hash"],
        "shown_at": _z(now),
    }
    r = client.post(API + "events", json={"events": [event]}, headers=two.b.auth())
    assert r.status_code == 200
    rows = session.scalars(select(PlayEvent)).all()
    assert all(p.display_id == two.b.display.id for p in rows)
    assert all(p.notice_id != two.a.notice.id and p.version_hash is None for p in rows)
    # The same event from A's own display counts for A's notice.
    event["id"] = str(uuid.uuid4())
    r = client.post(API + "events", json={"events": [event]}, headers=two.a.auth())
    assert r.status_code == 200
    own = session.scalars(select(PlayEvent).where(PlayEvent.display_id == two.a.display.id)).one()
    assert own.notice_id == two.a.notice.id and own.version_hash == a_item["version_hash"]

    after = _snapshot(session)
    a_display = two.a.display.id
    assert [d for d in after["displays"] if d[0] == a_display] == [
        d for d in before["displays"] if d[0] == a_display
    ]
    assert after["alerts"] == before["alerts"]
    assert after["deliveries"] == before["deliveries"]


def test_enrolment_with_another_players_claim_secret(client, two):
    first = client.post(API + "enroll", json={"player_version": "1"}).get_json()
    second = client.post(API + "enroll", json={"player_version": "1"}).get_json()
    for code, secret in (
        (first["pairing_code"], second["claim_secret"]),
        (first["pairing_code"], two.b.token),
        (first["pairing_code"], two.a.alerts_token),
    ):
        r = client.get(API + f"enroll/{code}", headers={"Authorization": f"Bearer {secret}"})
        assert r.status_code == 404 and "token" not in r.get_json()
    ok = client.get(
        API + f"enroll/{first['pairing_code']}",
        headers={"Authorization": f"Bearer {first['claim_secret']}"},
    )
    assert ok.status_code == 202


def test_tokens_of_the_wrong_kind_or_revoked(client, two, session, now, factory):
    # An alerts token is not a player token, and the other way round.
    assert client.get(API + "manifest", headers=two.a.alerts_auth()).status_code == 401
    r = client.post(
        "/api/v1/alerts",
        data=_cap_json("urn:x:1", two.a.tenant.ars, now),
        content_type="application/json",
        headers=two.a.auth(),
    )
    assert r.status_code == 403
    forged = {"Authorization": "Bearer pt_forged"}
    for path in ("manifest", "assets/" + "0" * 64):
        assert client.get(API + path, headers=forged).status_code == 401
    assert client.post(API + "heartbeat", json={"player_version": "x"}).status_code == 401
    # A revoked display's token opens nothing any more.
    admin = factory.user(two.b.tenant, "admin", email="admin@b.example")
    enrolment.revoke_display(session, two.b.display, admin, now)
    session.commit()
    caches().tokens.clear()
    for method, path, body in (
        ("get", "manifest", None),
        ("post", "heartbeat", {"player_version": "x"}),
        ("post", "events", {"events": []}),
        ("post", "alerts/1/ack", {"alert_id": "1", "display_id": str(two.b.display.id)}),
    ):
        r = getattr(client, method)(API + path, json=body, headers=two.b.auth())
        assert r.status_code == 401, path


def test_alerts_api_with_another_tenants_token(client, two, session):
    real_now = datetime.now(UTC).replace(microsecond=0)
    alert = _a_alert(client, two, real_now)
    before = _snapshot(session)
    # B addresses A's area without A's permission: nothing reaches A's displays.
    r = client.post(
        "/api/v1/alerts",
        data=_cap_json("urn:b:1", two.a.tenant.ars, real_now),
        content_type="application/json",
        headers=two.b.alerts_auth(),
    )
    assert r.status_code in (201, 403, 422), r.get_json()
    if r.status_code == 201:
        assert two.a.tenant.slug not in r.get_json()["targets"]
    # B cancels or updates A's warning by reference: A's warning stays as it is.
    ref = f"leitstelle@example.org,urn:a:1,{real_now.strftime('%Y-%m-%dT%H:%M:%S+00:00')}"
    for ident, kind in (("urn:b:cancel", "Cancel"), ("urn:b:update", "Update")):
        r = client.post(
            "/api/v1/alerts",
            data=_cap_json(ident, two.a.tenant.ars, real_now, msg_type=kind, references=ref),
            content_type="application/json",
            headers=two.b.alerts_auth(),
        )
        assert r.status_code in (403, 409), r.get_json()
        assert r.mimetype == "application/problem+json"
    session.expire_all()
    assert db.session.get(AlertRecord, alert.id).phase == "active"
    after = _snapshot(session)
    a_rows = [a for a in after["alerts"] if a[0] == alert.id]
    assert a_rows == [a for a in before["alerts"] if a[0] == alert.id]
    manifest = client.get(API + "manifest", headers=two.a.auth()).get_json()
    assert [w["identifier"] for w in manifest["warnings"]] == ["urn:a:1"]
    assert audit.verify(session).ok
    assert session.scalar(select(func.count()).select_from(AuditEntry)) > 0


def _as_xml(body: str) -> bytes:
    return build_cap_xml(alert_from_cap_json(json.loads(body)))


# The control-centre API: every message kind that can name an existing message, in
# both formats, addressed to A's area and to B's own (where the area check passes).
ALERT_ROUTES = [
    (kind, fmt, area)
    for kind in ("reuse", "replay", "update", "cancel")
    for fmt in ("json", "xml")
    for area in ("a", "b")
]


@pytest.mark.parametrize(("kind", "fmt", "area"), ALERT_ROUTES)
def test_control_centre_api_matrix_with_a_second_tenants_token(
    client, two, session, kind, fmt, area
):
    real_now = datetime.now(UTC).replace(microsecond=0)
    alert = _a_alert(client, two, real_now)
    # What B knows, it knows from A's public warning feed.
    feed = client.get(f"/{two.a.tenant.slug}/feeds/warnungen.json").get_json()
    (public,) = feed["warnings"]
    ident, sent = public["identifier"], alert.sent_text
    before = _snapshot(session)
    ars = (two.a if area == "a" else two.b).tenant.ars
    later = real_now + timedelta(minutes=1)
    ref = f"leitstelle@example.org,{ident},{sent}"
    body = {
        "reuse": lambda: _cap_json(ident, ars, later),
        "replay": lambda: _cap_json(ident, ars, alert.sent),
        "update": lambda: _cap_json("urn:b:u", ars, later, msg_type="Update", references=ref),
        "cancel": lambda: _cap_json("urn:b:c", ars, later, msg_type="Cancel", references=ref),
    }[kind]()
    data, content_type = (
        (body, "application/json") if fmt == "json" else (_as_xml(body), "application/cap+xml")
    )
    r = client.post(
        "/api/v1/alerts", data=data, content_type=content_type, headers=two.b.alerts_auth()
    )
    assert r.status_code in (403, 409), r.get_json()
    assert r.mimetype == "application/problem+json" and r.get_json()["detail"]
    after = _snapshot(session)
    assert after["alerts"] == before["alerts"]
    assert (
        client.get(f"/{two.a.tenant.slug}/feeds/warnungen.json").get_json()["warnings"]
        == (feed["warnings"])
    )
    refused = session.scalars(select(AuditEntry).where(AuditEntry.action == "alert.refused")).one()
    assert refused.tenant_id == two.b.tenant.id
    assert audit.verify(session).ok
