"""Role × tenant × route for the player API (issue 11): every route with tenant B's
display token (and no token, a forged one, tenant A's own as the control) against
tenant A's resources. Refused or ignored, never counted, never a 5xx."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from server.models import AlertDelivery, Display
from server.services.displays.evidence import display_records
from server.services.displays.manifest import isoz

from .conftest import API

# role → route → expected status
EXPECTED = {
    "anonymous": {
        "manifest": 401,
        "asset": 401,
        "heartbeat": 401,
        "events": 401,
        "ack_as_a": 401,
        "ack_as_self": 401,
        "enroll_poll": 401,
    },
    "forged": {
        "manifest": 401,
        "asset": 401,
        "heartbeat": 401,
        "events": 401,
        "ack_as_a": 401,
        "ack_as_self": 401,
        "enroll_poll": 404,
    },
    "display_b": {
        "manifest": 200,  # its own manifest: nothing of A in it (checked below)
        "asset": 404,
        "heartbeat": 200,  # a sign of life; the claim of A's notice is dropped
        "events": 200,  # stored without A's notice
        "ack_as_a": 403,
        "ack_as_self": 404,
        "enroll_poll": 404,
    },
    "display_a": {  # the control: the same requests count for A's own display
        "manifest": 200,
        "asset": 200,
        "heartbeat": 200,
        "events": 200,
        "ack_as_a": 200,
        "ack_as_self": 200,
        "enroll_poll": 404,
    },
}


def test_every_player_route_with_another_tenants_token(client, dw, session, clock, now):
    from tests.server.displays.test_long_poll import issue_alert

    alert = issue_alert(session, dw)
    first = client.get(API + "manifest", headers=dw.auth())
    a_manifest = first.get_json()
    first.close()
    a_item = next(i for i in a_manifest["items"] if i["kind"] == "notice")
    assert [w["id"] for w in a_manifest["warnings"]] == [str(alert.id)]
    pairing = client.post(API + "enroll", json={"player_version": "1"}).get_json()
    tokens = {
        "anonymous": None,
        "forged": "pt_forged-" + "x" * 40,
        "display_b": dw.other_token,
        "display_a": dw.token,
    }
    own_display = {"display_b": dw.other_display.id, "display_a": dw.display.id}
    before = display_records(session, dw.notice, now + timedelta(hours=1))
    got: dict[str, dict[str, int]] = {}
    leaks = []
    for role, token in tokens.items():
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self_id = str(own_display.get(role, 999999))
        ack = {"alert_id": str(alert.id), "delivered_at": isoz(now), "shown_at": isoz(now)}
        event = {
            "type": "play",
            "id": str(uuid.uuid4()),
            "item_id": a_item["id"],
            "notice_id": a_item["notice_id"],
            "version_hash": a_item["version_hash"],
            "shown_at": isoz(now),
        }
        requests = {
            "manifest": ("get", "manifest", None),
            "asset": ("get", f"assets/{a_item['slide']['sha256']}", None),
            "heartbeat": (
                "post",
                "heartbeat",
                {"player_version": "1", "current_item": a_item["id"]},
            ),
            "events": ("post", "events", {"events": [event]}),
            "ack_as_a": (
                "post",
                f"alerts/{alert.id}/ack",
                {**ack, "display_id": str(dw.display.id)},
            ),
            "ack_as_self": ("post", f"alerts/{alert.id}/ack", {**ack, "display_id": self_id}),
            "enroll_poll": ("get", f"enroll/{pairing['pairing_code']}", None),
        }
        got[role] = {}
        for route, (method, path, body) in requests.items():
            r = getattr(client, method)(API + path, json=body, headers=headers)
            got[role][route] = r.status_code
            assert r.status_code < 500, (role, route, r.get_data(as_text=True))
            if r.status_code >= 400 and r.mimetype != "application/problem+json":
                leaks.append((role, route, "no problem+json"))
            if role != "display_a" and route == "manifest" and r.status_code == 200:
                text = r.get_data(as_text=True)
                if a_item["id"] in text or a_item["version_hash"] in text:
                    leaks.append((role, route, "A's notice in the manifest"))
                if r.get_json()["warnings"]:
                    leaks.append((role, route, "A's warning in the manifest"))
            if route == "enroll_poll" and r.status_code < 400:
                leaks.append((role, route, "pairing answered"))
            r.close()
    assert got == EXPECTED
    assert leaks == []

    # Never counted: A's record has only A's own display with A's own reports.
    after = display_records(session, dw.notice, now + timedelta(hours=1))
    assert [r["display_id"] for r in after] == [r["display_id"] for r in before] == [dw.display.id]
    assert after[0]["plays"] == 1 and after[0]["heartbeats_on_screen"] == 1
    deliveries = session.scalars(select(AlertDelivery)).all()
    assert [(d.display_id, d.alert_id) for d in deliveries] == [(dw.display.id, alert.id)]
    # B is flagged for staff, A is not.
    b = session.get(Display, dw.other_display.id)
    a = session.get(Display, dw.display.id)
    session.refresh(a)
    session.refresh(b)
    assert b.suspicious_at is not None and a.suspicious_at is None
