"""Control-centre API, stored records and raw archive, feeds and the display seam."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from server.domain.alerts import (
    Behaviour,
    ManualTexts,
    Place,
    ars_area,
    build_alert,
    build_cancel,
    build_update,
    make_identifier,
)
from server.extensions import db
from server.models import AlertDocument, AlertRecord
from server.services import alerts as svc
from server.sources.cap import build_cap_xml

from .test_alerts_cap import LAUGHS, XXE, EndlessStream, _doc

KREIS_ARS = "150870000000"  # Landkreis Mansfeld-Südharz
TOWN_ARS = "150870045045"  # Sangerhausen
OTHER_ARS = "150030000000"  # Magdeburg
TEXTS = ManualTexts(
    event="Großbrand",
    category="Fire",
    headline="Lage",
    description="d",
    instruction="i",
    sender_name="LS",
)


@pytest.fixture
def now():
    """The views take the real time at the edge, so the messages here are sent "now"."""
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def world(factory, session, now):
    kreis = factory.tenant("kreis-msh", ars=KREIS_ARS, name="Landkreis Mansfeld-Südharz")
    town = factory.tenant("sangerhausen", ars=TOWN_ARS, name="Sangerhausen")
    other = factory.tenant("magdeburg", ars=OTHER_ARS, name="Magdeburg")
    token, plain = svc.create_api_token(
        session, tenant=kreis, name="Leitstelle", user=None, now=now
    )
    session.commit()
    return {"kreis": kreis, "town": town, "other": other, "token": plain}


def _allow(world, session, now):
    svc.grant_alert_permission(
        session, tenant=world["town"], grantee=world["kreis"], now=now, actor="test"
    )
    session.commit()


def _auth(plain):
    return {"Authorization": f"Bearer {plain}"}


def _message(ident, now, ars, *, stufe=1, status="Actual"):
    return build_alert(
        identifier=ident,
        sender="leitstelle@kreis-msh.example",
        sent=now,
        warnstufe=stufe,
        texts=ManualTexts(
            event="Großbrand",
            category="Fire",
            headline="Großbrand in Sangerhausen",
            description="Starke Rauchentwicklung.",
            instruction="Fenster und Türen schließen.",
            sender_name="Leitstelle Mansfeld-Südharz",
        ),
        areas=[ars_area("Sangerhausen", [ars])],
        expires=now + timedelta(hours=6),
        status=status,
    )


def _post(client, plain, body, content_type="application/cap+xml", **kw):
    return client.post(
        "/api/v1/alerts", data=body, headers=_auth(plain), content_type=content_type, **kw
    )


def _counts():
    return (
        db.session.scalar(select(func.count()).select_from(AlertRecord)),
        db.session.scalar(select(func.count()).select_from(AlertDocument)),
    )


def test_post_cap_twice_update_and_cancel(client, world, now, session):
    _allow(world, session, now)
    first = _message("LS-1", now, TOWN_ARS)
    raw = build_cap_xml(first)
    r = _post(client, world["token"], raw)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["phase"] == "active" and body["behaviour"] == "takeover"
    assert body["warnstufe"] == 1
    assert body["targets"] == ["kreis-msh", "sangerhausen"]

    again = _post(client, world["token"], raw)
    assert again.status_code == 200 and again.get_json()["duplicate"] is True
    assert _counts()[0] == 1
    record = session.scalar(select(AlertRecord))
    assert record.document.content == raw  # byte for byte (W14)
    assert record.document.received_at == record.received_at

    update = build_update(
        first,
        identifier="LS-2",
        sent=now + timedelta(minutes=5),
        warnstufe=2,
        texts=TEXTS,
    )
    assert _post(client, world["token"], build_cap_xml(update)).status_code == 201
    cancel = build_cancel(update, identifier="LS-3", sent=now + timedelta(minutes=30))
    r = _post(client, world["token"], build_cap_xml(cancel))
    assert r.status_code == 201 and r.get_json()["phase"] == "all_clear"
    phases = dict(session.execute(select(AlertRecord.identifier, AlertRecord.phase)).all())
    assert phases == {"LS-1": "ended", "LS-2": "ended", "LS-3": "all_clear"}

    # The display seam: the Entwarnung from its receipt, nothing 15 minutes later.
    shown = svc.active_alerts_for_place(
        session, tenant=world["town"], now=now + timedelta(minutes=1)
    )
    assert [a.presentation.behaviour for a in shown] == [Behaviour.ALL_CLEAR]
    later = now + timedelta(minutes=16)
    assert svc.active_alerts_for_place(session, tenant=world["town"], now=later) == []
    assert svc.tick_alerts(session, later, svc.AlertPolicy()) == 1


def test_json_equivalent(client, world, now):
    body = {
        "identifier": "LS-J1",
        "sender": "leitstelle@kreis-msh.example",
        "sent": "2026-11-20T10:30:00+01:00",
        "status": "Actual",
        "msgType": "Alert",
        "scope": "Public",
        "info": [
            {
                "language": "de-DE",
                "category": ["Safety"],
                "event": "Evakuierung",
                "urgency": "Immediate",
                "severity": "Severe",
                "certainty": "Observed",
                "headline": "Evakuierung Innenstadt",
                "area": [
                    {"areaDesc": "Innenstadt", "geocode": [{"valueName": "SHN", "value": TOWN_ARS}]}
                ],
            }
        ],
    }
    r = _post(client, world["token"], json.dumps(body), content_type="application/json")
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["behaviour"] == "alternate"


@pytest.mark.parametrize(
    "payload",
    [
        XXE,
        LAUGHS,
        _doc(ns="urn:oasis:names:tc:emergency:cap:1.1"),
        _doc(drop="identifier"),
        _doc(drop="sent"),
        b"kein xml",
        _doc(sent="2026-01-15T09:30:00Z"),
    ],
)
def test_hostile_input_is_refused_and_nothing_stored(client, world, payload):
    r = _post(client, world["token"], payload)
    assert 400 <= r.status_code < 500
    assert r.mimetype == "application/problem+json"
    assert r.get_json()["detail"]
    assert _counts() == (0, 0)


def test_fifty_megabytes_are_refused(client, world):
    stream = EndlessStream(50 * 1024 * 1024)
    r = client.post(
        "/api/v1/alerts",
        input_stream=stream,
        headers=_auth(world["token"]),
        content_type="application/cap+xml",
        content_length=50 * 1024 * 1024,
    )
    assert r.status_code == 413 and r.mimetype == "application/problem+json"
    assert stream.served == 0
    assert _counts() == (0, 0)


def test_authentication_and_tenant_boundaries(client, world, now, session):
    raw = build_cap_xml(_message("LS-X", now, TOWN_ARS))
    r = client.post("/api/v1/alerts", data=raw, content_type="application/cap+xml")
    assert r.status_code == 401 and r.mimetype == "application/problem+json"
    assert _post(client, "ahw_falsch", raw).status_code == 403
    assert _post(client, world["token"], raw, content_type="text/plain").status_code == 415

    # Magdeburg is outside the Kreis and never allowed it.
    foreign = build_cap_xml(_message("LS-MD", now, OTHER_ARS))
    r = _post(client, world["token"], foreign)
    assert r.status_code == 403 and _counts() == (0, 0)

    # A Kreis-wide message reaches the Kreis; the town only once it allowed it.
    kreis_wide = _message("LS-K1", now, KREIS_ARS)
    r = _post(client, world["token"], build_cap_xml(kreis_wide))
    assert r.get_json()["targets"] == ["kreis-msh"]
    _allow(world, session, now)
    r = _post(client, world["token"], build_cap_xml(_message("LS-K2", now, KREIS_ARS)))
    assert r.get_json()["targets"] == ["kreis-msh", "sangerhausen"]


def test_exercise_never_takes_over_public_displays(client, world, now, session):
    _allow(world, session, now)
    raw = build_cap_xml(_message("LS-U1", now, TOWN_ARS, status="Exercise"))
    assert _post(client, world["token"], raw).status_code == 201
    assert svc.active_alerts_for_place(session, tenant=world["town"], now=now) == []
    on_test = svc.active_alerts_for_place(session, tenant=world["town"], test_display=True, now=now)
    assert [a.presentation.status_label for a in on_test] == ["Übung"]
    assert svc.takeover_needed(on_test)


def test_feeds_and_stable_cap_url(client, world, now, session):
    _allow(world, session, now)
    raw = build_cap_xml(_message("LS-F1", now, TOWN_ARS))
    assert _post(client, world["token"], raw).status_code == 201
    cap = client.get("/warnungen/cap/LS-F1.xml")
    assert cap.status_code == 200 and cap.mimetype == "application/cap+xml"
    assert cap.data == raw
    import feedparser

    atom = client.get("/sangerhausen/feeds/warnungen.atom")
    parsed = feedparser.parse(atom.data)
    assert [e.title for e in parsed.entries] == ["Großbrand in Sangerhausen"]
    links = parsed.entries[0].links
    assert any(
        link["type"] == "application/cap+xml" and link["href"].endswith("/warnungen/cap/LS-F1.xml")
        for link in links
    )
    feed = client.get("/sangerhausen/feeds/warnungen.json").get_json()
    assert feed["warnings"][0]["identifier"] == "LS-F1"
    assert feed["warnings"][0]["sent"].endswith("+01:00")
    assert client.get("/magdeburg/feeds/warnungen.json").get_json()["warnings"] == []
    assert client.get("/warnungen/cap/unbekannt.xml").status_code == 404


def test_place_relevance_for_displays_of_a_kreis(client, world, now, session):
    _post(client, world["token"], build_cap_xml(_message("LS-P1", now, TOWN_ARS)))
    # A display of the Kreis in Sangerhausen sees it; one in another Gemeinde does not.
    in_town = svc.active_alerts_for_place(
        session, tenant=world["kreis"], place=Place(TOWN_ARS), now=now
    )
    elsewhere = svc.active_alerts_for_place(
        session, tenant=world["kreis"], place=Place("150870010010"), now=now
    )
    assert [a.record.identifier for a in in_town] == ["LS-P1"]
    assert elsewhere == []
    assert make_identifier(TOWN_ARS, "x") == "DE-150870045045-AUSHANG-x"
