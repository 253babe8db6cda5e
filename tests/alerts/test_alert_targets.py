"""Control-centre messages reach the tenants their area names (W4, issue 14): the key
that matched is recorded and shown; a message naming no tenant is stored, listed for
the system admin and shown on no display. The tenant area (GeoJSON) and the token list."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from server.domain.alerts import Area, ValuePair
from server.models import AlertRecord, ApiToken, TenantArea
from server.services import alerts as svc
from server.sources.cap import build_cap_xml

from ..conftest import login
from .test_alert_relevance import DWD_SACHSEN_ANHALT, POLYGON_ONLY
from .test_alerts_api import _auth

KREIS_ARS = "150870000000"
TOWN_ARS = "150870045045"
MAGDEBURG_ARS = "150030000000"


@pytest.fixture
def now():
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def world(factory, session, now):
    kreis = factory.tenant("kreis-msh", ars=KREIS_ARS, name="Landkreis Mansfeld-Südharz")
    town = factory.tenant("sangerhausen", ars=TOWN_ARS, name="Sangerhausen")
    magdeburg = factory.tenant("magdeburg", ars=MAGDEBURG_ARS, name="Magdeburg")
    token, plain = svc.create_api_token(
        session, tenant=kreis, name="Leitstelle", user=None, now=now
    )
    md_token, md_plain = svc.create_api_token(
        session, tenant=magdeburg, name="Leitstelle MD", user=None, now=now
    )
    svc.grant_alert_permission(session, tenant=town, grantee=kreis, now=now, actor="test")
    session.commit()
    return {"kreis": kreis, "town": town, "md": magdeburg, "token": plain, "md_token": md_plain}


def _now_sent(alert, now):
    return replace(alert, identifier=f"{alert.identifier}-{now.timestamp():.0f}", sent=now,
                   infos=tuple(replace(i, expires=now + timedelta(hours=3)) for i in alert.infos))  # fmt: skip


def _post(client, plain, alert):
    return client.post(
        "/api/v1/alerts", data=build_cap_xml(alert), headers=_auth(plain),
        content_type="application/cap+xml",
    )  # fmt: skip


def _targets(session, identifier):
    record = session.scalar(select(AlertRecord).where(AlertRecord.identifier == identifier))
    return record, {t.tenant.slug: t.matched_by for t in record.targets}


def test_dwd_warning_of_another_land_reaches_no_display(
    client, session, world, now, shared_fixtures
):
    """The issue's incident: a Lower Saxony DWD warning posted with a Sachsen-Anhalt
    token took over the token's displays. Now its cells decide: no tenant, no display."""
    real = (shared_fixtures / "cap" / "dwd_alert_windboeen_2023-06-22.xml").read_bytes()
    # Moved to next year, so that it is not simply expired on arrival.
    raw = real.replace(b"2023-06-2", f"{now.year + 1}-06-2".encode())
    r = client.post("/api/v1/alerts", data=raw, headers=_auth(world["token"]),
                    content_type="application/cap+xml")  # fmt: skip
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["targets"] == []
    record = session.scalar(select(AlertRecord))
    assert record.document.content == raw
    for tenant in (world["kreis"], world["town"], world["md"]):
        assert svc.active_alerts_for_place(session, tenant=tenant, now=now) == []


def test_sachsen_anhalt_cells_reach_exactly_their_tenants(client, session, world, now):
    alert = _now_sent(DWD_SACHSEN_ANHALT, now)
    # The Kreis token may warn the Kreis and Sangerhausen; Magdeburg did not allow it.
    r = _post(client, world["token"], alert)
    assert r.status_code == 201, r.get_json()
    record, targets = _targets(session, alert.identifier)
    assert targets == {"kreis-msh": "warncell:115087000", "sangerhausen": "warncell:115087000"}

    md_alert = _now_sent(DWD_SACHSEN_ANHALT, now + timedelta(seconds=1))
    assert _post(client, world["md_token"], md_alert).status_code == 201
    _record, targets = _targets(session, md_alert.identifier)
    assert targets == {"magdeburg": "warncell:815003000"}

    shown = svc.active_alerts_for_place(session, tenant=world["md"], now=now + timedelta(minutes=1))
    assert [a.record.identifier for a in shown] == [md_alert.identifier]


def test_message_only_for_a_tenant_that_did_not_allow_the_token_is_refused(client, world, now):
    alert = _now_sent(DWD_SACHSEN_ANHALT, now)
    only_md = replace(alert, infos=tuple(
        replace(i, areas=tuple(a for a in i.areas if "Magdeburg" in a.area_desc)) for i in alert.infos
    ))  # fmt: skip
    r = _post(client, world["token"], only_md)
    assert r.status_code == 403 and r.get_json()["reason"] == "area_outside"


def _import_area(client, slug, geojson):
    return client.post(f"/admin/{slug}/warnungen/gebiet", data={"geojson": geojson})


SQUARE = {
    "type": "Polygon",
    "coordinates": [
        [[11.25, 51.42], [11.35, 51.42], [11.35, 51.52], [11.25, 51.52], [11.25, 51.42]]
    ],
}


def test_area_import_form_and_polygon_relevance(client, factory, session, world, now):
    admin = factory.user(world["town"], "admin")
    session.commit()
    login(client, admin.email)
    page = client.get("/admin/sangerhausen/warnungen/gebiet")
    assert page.status_code == 200 and "Noch kein Gebiet" in page.text

    bad = _import_area(client, "sangerhausen", '{"type": "Point", "coordinates": [11.3, 51.4]}')
    assert bad.status_code == 422
    assert "nicht unterstützt" in bad.text and 'aria-invalid="true"' in bad.text
    assert session.get(TenantArea, world["town"].id) is None

    ok = _import_area(client, "sangerhausen", json.dumps(SQUARE))
    assert ok.status_code == 302
    assert "1 Fläche(n) mit zusammen 5 Punkten" in client.get(ok.headers["Location"]).text

    # A polygon-only message from the Kreis token now reaches Sangerhausen by its area.
    alert = _now_sent(POLYGON_ONLY, now)
    assert _post(client, world["token"], alert).status_code == 201
    record, targets = _targets(session, alert.identifier)
    assert targets == {"sangerhausen": "geometry"}
    show = client.get(f"/admin/sangerhausen/warnungen/{record.id}")
    assert "Relevant durch" in show.text and "Polygon" in show.text
    assert "Warnung (Alert)" in show.text and "Schwere: mittel" in show.text


def test_unmatched_warning_is_listed_for_the_system_admin_only(
    client, factory, session, world, now
):
    alert = _now_sent(DWD_SACHSEN_ANHALT, now)
    bovenden = Area("Gemeinde Bovenden", geocodes=(ValuePair("WARNCELLID", "803159007"),))
    elsewhere = replace(alert, infos=tuple(replace(i, areas=(bovenden,)) for i in alert.infos))
    r = _post(client, world["token"], elsewhere)
    assert r.status_code == 201 and r.get_json()["targets"] == []
    sysadmin = factory.user(None, system_admin=True)
    alerter = factory.user(world["kreis"], "alerter")
    session.commit()
    login(client, alerter.email)
    assert client.get("/admin/system/warnungen-ohne-mandant").status_code in (403, 404)
    record = session.scalar(
        select(AlertRecord).where(AlertRecord.identifier == elsewhere.identifier)
    )
    show = client.get(f"/admin/kreis-msh/warnungen/{record.id}")
    assert "kein Mandant" in show.text and "keinem Mandanten zugeordnet" in show.text
    login(client, sysadmin.email)
    page = client.get("/admin/system/warnungen-ohne-mandant")
    assert page.status_code == 200 and elsewhere.identifier in page.text


def test_tokens_listed_for_civil_protection_and_revocable(client, factory, session, world, now):
    alerter = factory.user(world["kreis"], "alerter")
    session.commit()
    token = session.scalar(select(ApiToken).where(ApiToken.name == "Leitstelle"))
    # One use, so the list shows it.
    assert _post(client, world["token"], _now_sent(DWD_SACHSEN_ANHALT, now)).status_code == 201
    login(client, alerter.email)
    page = client.get("/admin/kreis-msh/warnungen/")
    assert page.status_code == 200
    assert "Leitstelle" in page.text and "Warnungen senden" in page.text
    assert "noch nie" not in page.text.split("Leitstelle")[1].split("</tr>")[0]
    assert "Zugangsschlüssel erzeugen" not in page.text  # creating stays with admins
    assert 'href="/api"' in page.text

    r = client.post(
        "/admin/kreis-msh/warnungen/zugang/widerrufen", data={"token_id": str(token.id)}
    )
    assert r.status_code == 302
    session.refresh(token)
    assert token.revoked_at is not None
    assert "widerrufen am" in client.get("/admin/kreis-msh/warnungen/").text
    # The revoked token no longer works.
    again = _post(client, world["token"], _now_sent(DWD_SACHSEN_ANHALT, now + timedelta(seconds=5)))
    assert again.status_code == 403
    # Another tenant's token id: not found, nothing revoked.
    md = session.scalar(select(ApiToken).where(ApiToken.name == "Leitstelle MD"))
    r = client.post("/admin/kreis-msh/warnungen/zugang/widerrufen", data={"token_id": str(md.id)})
    assert r.status_code == 404
    session.refresh(md)
    assert md.revoked_at is None
