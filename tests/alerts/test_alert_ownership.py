"""Ownership in the warning channel (issue 11): a message belongs to the issuer scope that
delivered it — the token's tenant and the CAP ``sender`` — and only that scope may reuse
its identifier or reference it in an Update or Cancel. NINA messages belong to NINA.

The attacker here is a control centre of another Kommune with a valid token of its own.
Everything it knows about tenant A's warnings it reads from A's public warning feed and
the public CAP documents, exactly as anyone on the internet could.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from server.domain.alerts import ManualTexts, ars_area, build_alert, build_cancel, build_update
from server.domain.alerts.model import Alert
from server.extensions import db
from server.jobs.alerts import poll_nina
from server.models import AlertDocument, AlertRecord, AuditEntry
from server.services import alerts as svc
from server.services import audit
from server.sources.cap import build_cap_xml, cap_datetime, parse_cap
from server.sources.nina import NinaClient

A_ARS = "150870045045"  # Sangerhausen, Kreis Mansfeld-Südharz (NINA dashboard 150870000000)
B_ARS = "150030000000"  # Magdeburg
A_SENDER = "leitstelle@kreis-msh.example"
B_SENDER = "leitstelle@magdeburg.example"
MOW_NW = "mow.DE-NW-BN-SE030-20201014-30-000"  # active in the NINA sample (expires 3021)


@pytest.fixture
def now():
    """The control-centre API takes the real time at the edge."""
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def world(factory, session, now):
    a = factory.tenant("sangerhausen", ars=A_ARS, name="Sangerhausen")
    b = factory.tenant("magdeburg", ars=B_ARS, name="Magdeburg")
    _, a_plain = svc.create_api_token(session, tenant=a, name="Leitstelle", user=None, now=now)
    _, a_spare = svc.create_api_token(session, tenant=a, name="Ersatz", user=None, now=now)
    _, b_plain = svc.create_api_token(session, tenant=b, name="Leitstelle", user=None, now=now)
    session.commit()
    return {"a": a, "b": b, "a_token": a_plain, "a_spare": a_spare, "b_token": b_plain}


def _texts(headline: str) -> ManualTexts:
    return ManualTexts(
        event="Großbrand",
        category="Fire",
        headline=headline,
        description="Starke Rauchentwicklung.",
        instruction="Fenster und Türen schließen.",
        sender_name="Leitstelle",
    )


def _alert(ident: str, sender: str, sent: datetime, ars: str, headline: str) -> Alert:
    return build_alert(
        identifier=ident,
        sender=sender,
        sent=sent,
        warnstufe=1,
        texts=_texts(headline),
        areas=[ars_area("Gebiet", [ars])],
        expires=sent + timedelta(hours=6),
    )


def _as_json(alert: Alert) -> dict:
    """CAP-as-JSON, the control-centre API's second format."""
    info = alert.primary_info()
    assert info is not None
    body = {
        "identifier": alert.identifier,
        "sender": alert.sender,
        "sent": cap_datetime(alert.sent),
        "status": alert.status,
        "msgType": alert.msg_type,
        "scope": alert.scope,
        "info": [
            {
                "language": info.language,
                "category": list(info.categories),
                "event": info.event,
                "urgency": info.urgency,
                "severity": info.severity,
                "certainty": info.certainty,
                "headline": info.headline,
                "description": info.description,
                **({"expires": cap_datetime(info.expires)} if info.expires else {}),
                "area": [
                    {
                        "areaDesc": area.area_desc,
                        "geocode": [
                            {"valueName": g.value_name, "value": g.value} for g in area.geocodes
                        ],
                    }
                    for area in info.areas
                ],
            }
        ],
    }
    if alert.references:
        body["references"] = alert.references
    return body


def _post(client, token: str, alert: Alert, fmt: str):
    if fmt == "xml":
        data, content_type = build_cap_xml(alert), "application/cap+xml"
    else:
        data, content_type = json.dumps(_as_json(alert)), "application/json"
    return client.post(
        "/api/v1/alerts",
        data=data,
        content_type=content_type,
        headers={"Authorization": f"Bearer {token}"},
    )


def _a_issues(client, world, now, fmt: str, ident: str = "LS-A-1") -> Alert:
    alert = _alert(ident, A_SENDER, now, A_ARS, "Großbrand in Sangerhausen")
    r = _post(client, world["a_token"], alert, fmt)
    assert r.status_code == 201, r.get_json()
    return alert


def _public_view_of_a(client) -> tuple[Alert, dict]:
    """What anyone can read: A's public warning feed and the CAP document it links to."""
    feed = client.get("/sangerhausen/feeds/warnungen.json").get_json()
    (entry,) = [w for w in feed["warnings"] if not w["identifier"].startswith("mow.")]
    path = entry["cap"].split("://", 1)[1].split("/", 1)[1]
    cap = client.get("/" + path)
    assert cap.status_code == 200
    return parse_cap(cap.data).alert, feed


def _state_of_a(session) -> list[tuple]:
    session.expire_all()
    rows = session.scalars(
        select(AlertRecord)
        .where(AlertRecord.issuer_tenant_id.is_not(None))
        .order_by(AlertRecord.id)
    ).all()
    return [
        (
            r.id,
            r.identifier,
            r.sender,
            r.sent,
            r.phase,
            r.headline,
            r.msg_type,
            sorted(t.tenant_id for t in r.targets),
            len(r.documents),
        )
        for r in rows
    ]


def _refusals(session) -> list[AuditEntry]:
    return list(
        session.scalars(select(AuditEntry).where(AuditEntry.action == "alert.refused")).all()
    )


def _attack(kind: str, original: Alert, sent: datetime) -> Alert:
    """B's message aimed at A's warning, built from A's public CAP document.

    B even claims A's ``sender``: the sender string is not a credential, the token is.
    Its area is B's own, so the area check alone lets it through.
    """
    mine = (ars_area("Magdeburg", [B_ARS]),)
    if kind == "reuse":  # same identifier, newer sent: a "new version" of A's warning
        return _alert(original.identifier, original.sender, sent, B_ARS, "Alles in Ordnung")
    if kind == "replay":  # A's message as published (same sent), re-addressed to B's area
        return _alert(original.identifier, original.sender, original.sent, B_ARS, "x")
    if kind == "update":
        return build_update(
            original,
            identifier="LS-B-UPDATE",
            sent=sent,
            warnstufe=3,
            texts=_texts("Alles in Ordnung"),
            areas=mine,
        )
    assert kind == "cancel"
    return _in_area(build_cancel(original, identifier="LS-B-CANCEL", sent=sent), B_ARS)


def _in_area(alert: Alert, ars: str) -> Alert:
    """The same message addressed to ``ars`` (so that the area check lets it pass)."""
    return replace(
        alert, infos=tuple(replace(i, areas=(ars_area("Gebiet", [ars]),)) for i in alert.infos)
    )


@pytest.mark.parametrize("fmt", ["xml", "json"])
@pytest.mark.parametrize("kind", ["reuse", "replay", "update", "cancel"])
def test_another_tenants_token_cannot_touch_a_warning_from_the_public_feed(
    client, world, session, now, fmt, kind
):
    _a_issues(client, world, now, fmt)
    original, feed_before = _public_view_of_a(client)
    before = _state_of_a(session)

    attack = _attack(kind, original, now + timedelta(minutes=1))
    r = _post(client, world["b_token"], attack, fmt)

    assert r.status_code in (403, 409), r.get_json()
    assert r.mimetype == "application/problem+json"
    assert r.get_json()["detail"]
    assert _state_of_a(session) == before
    feed_after = client.get("/sangerhausen/feeds/warnungen.json").get_json()
    assert feed_after["warnings"] == feed_before["warnings"]
    assert _public_view_of_a(client)[0] == original
    # Refused and on the record: who tried what, in the hash chain.
    (entry,) = _refusals(session)
    assert entry.tenant_id == world["b"].id and entry.actor == "token:Leitstelle"
    assert original.identifier in entry.details
    assert audit.verify(session).ok


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_the_owner_updates_and_cancels_its_own_warning(client, world, session, now, fmt):
    original = _a_issues(client, world, now, fmt)
    update = build_update(
        original,
        identifier="LS-A-2",
        sent=now + timedelta(minutes=1),
        warnstufe=2,
        texts=_texts("Lage entspannt sich"),
    )
    assert _post(client, world["a_token"], update, fmt).status_code == 201
    cancel = build_cancel(update, identifier="LS-A-3", sent=now + timedelta(minutes=2))
    r = _post(client, world["a_token"], cancel, fmt)
    assert r.status_code == 201 and r.get_json()["phase"] == "all_clear"
    assert _refusals(session) == []


def test_a_second_token_of_the_same_tenant_acts_by_sender(client, world, session, now):
    """Decision: the issuer scope is (tenant, CAP sender), not the single token.

    A Leitstelle rotates its token, or sends from a standby system with a token of its
    own; its live warnings must stay updatable and, above all, cancellable then. So a
    second token of the same tenant may update and cancel a message with the same
    ``sender``, but not a message another sender of that tenant issued.
    """
    original = _a_issues(client, world, now, "xml")
    other_sender = build_update(
        replace(original, sender="zweite-stelle@kreis-msh.example"),
        identifier="LS-A-X",
        sent=now + timedelta(minutes=1),
        warnstufe=3,
        texts=_texts("Fremder Absender"),
    )
    r = _post(client, world["a_spare"], other_sender, "xml")
    assert r.status_code == 403 and r.mimetype == "application/problem+json"
    assert (
        db.session.scalar(
            select(AlertRecord.phase).where(AlertRecord.identifier == original.identifier)
        )
        == "active"
    )

    cancel = build_cancel(original, identifier="LS-A-C", sent=now + timedelta(minutes=2))
    r = _post(client, world["a_spare"], cancel, "xml")
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["phase"] == "all_clear"


def test_a_preemptive_cancel_of_another_tenants_future_identifier_changes_nothing(
    client, world, session, now
):
    # B guesses A's next identifier and cancels it before A sends it.
    ghost = _alert("LS-A-9", A_SENDER, now, A_ARS, "x")
    cancel = build_cancel(ghost, identifier="LS-B-GHOST", sent=now + timedelta(minutes=5))
    cancel = _in_area(cancel, B_ARS)
    _post(client, world["b_token"], cancel, "xml")
    _a_issues(client, world, now, "xml", ident="LS-A-9")
    phase = db.session.scalar(select(AlertRecord.phase).where(AlertRecord.identifier == "LS-A-9"))
    assert phase == "active"


@pytest.fixture
def nina_warning(session, world, fake_nina, shared_fixtures, now):
    """NINA's warning for A's Kreis, polled into the database as the job does."""
    folder = shared_fixtures / "nina"
    dashboard = json.loads((folder / "ha_sample_warnings_dashboard.json").read_text())
    details = json.loads((folder / "ha_sample_warning_details.json").read_text())
    fake_nina.set_json("/api31/dashboard/150870000000.json", json.dumps(dashboard).encode())
    for ident, body in details.items():
        fake_nina.set_json(f"/api31/warnings/{ident}.json", json.dumps(body).encode())
    poll_nina(session, now, client=NinaClient(fake_nina.base_url, "Aushang-Test/1.0"))
    session.commit()
    record = session.scalar(select(AlertRecord).where(AlertRecord.identifier == MOW_NW))
    assert record is not None and record.phase == "active"
    return svc.load_message(record)


@pytest.mark.parametrize("fmt", ["xml", "json"])
@pytest.mark.parametrize("kind", ["reuse", "update", "cancel"])
@pytest.mark.parametrize("token", ["a_token", "b_token"])
def test_no_control_centre_token_touches_a_nina_message(
    client, world, session, now, nina_warning, fmt, kind, token
):
    cap_before = client.get(f"/warnungen/cap/{MOW_NW}.xml").data
    ars = A_ARS if token == "a_token" else B_ARS
    sent = now + timedelta(minutes=1)
    if kind == "reuse":
        attack = _alert(MOW_NW, nina_warning.sender, sent, ars, "Gefälschte NINA-Meldung")
    elif kind == "update":
        attack = build_update(
            nina_warning,
            identifier="LS-NINA-U",
            sent=sent,
            warnstufe=3,
            texts=_texts("x"),
            areas=[ars_area("Gebiet", [ars])],
        )
    else:
        attack = _in_area(build_cancel(nina_warning, identifier="LS-NINA-C", sent=sent), ars)
    r = _post(client, world[token], attack, fmt)
    assert r.status_code in (403, 409), r.get_json()
    assert r.mimetype == "application/problem+json"
    assert client.get(f"/warnungen/cap/{MOW_NW}.xml").data == cap_before
    rows = session.scalars(select(AlertRecord).where(AlertRecord.feed_key == "")).all()
    assert rows == []
    assert len(_refusals(session)) == 1
    assert session.scalar(select(AlertDocument.id).where(AlertDocument.origin == "api")) is None


def test_an_identifier_sent_before_nina_publishes_it_does_not_take_ninas_cap_url(
    client, world, session, now, fake_nina, shared_fixtures
):
    # B guesses the MoWaS identifier before NINA has it: accepted, it is B's message.
    early = _alert(MOW_NW, B_SENDER, now, B_ARS, "Gefälschte NINA-Meldung")
    assert _post(client, world["b_token"], early, "xml").status_code == 201
    details = json.loads((shared_fixtures / "nina" / "ha_sample_warning_details.json").read_text())
    fake_nina.set_json(
        "/api31/dashboard/150870000000.json",
        (shared_fixtures / "nina" / "ha_sample_warnings_dashboard.json").read_bytes(),
    )
    for ident, body in details.items():
        fake_nina.set_json(f"/api31/warnings/{ident}.json", json.dumps(body).encode())
    poll_nina(session, now, client=NinaClient(fake_nina.base_url, "Aushang-Test/1.0"))
    session.commit()
    # The URL that A's feed links for NINA's warning serves NINA's message.
    feed = client.get("/sangerhausen/feeds/warnungen.json").get_json()
    assert any(w["identifier"] == MOW_NW for w in feed["warnings"])
    served = parse_cap(client.get(f"/warnungen/cap/{MOW_NW}.xml").data).alert
    assert served.sender == details[MOW_NW]["sender"]
    assert "Gefälschte" not in (served.headline or "")
