"""Every CAP document the system serves validates against the OASIS CAP 1.2 schema
(issue 14): generated (manual Alert/Update/Cancel), received as XML (DWD, the API),
received as JSON and served as XML (the API, NINA)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from server.domain.alerts import ManualTexts, ars_area, build_alert, build_cancel, build_update
from server.jobs.alerts import poll_nina
from server.models import AlertRecord
from server.services import alerts as svc
from server.sources.cap import alert_to_cap_json, build_cap_xml
from server.sources.nina import NinaClient

from ..conftest import login
from .test_alerts_cap import _validate

KREIS = "150870000000"
TOWN = "150870045045"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock(app, monkeypatch):
    monkeypatch.setitem(app.config, "AUSHANG_CLOCK", lambda: T0 + timedelta(minutes=5))


def _texts(headline: str) -> ManualTexts:
    return ManualTexts(
        event="Gefahrstoff",
        category="CBRNE",
        headline=headline,
        description="Austritt eines Gefahrstoffs.",
        instruction="Fenster schließen.",
        sender_name="Leitstelle",
    )


def test_every_served_document_validates(
    client, factory, session, fake_nina, shared_fixtures, cap_xsd
):
    town = factory.tenant("sangerhausen", ars=TOWN, name="Sangerhausen")
    alerter = factory.user(town, "alerter")
    _token, plain = svc.create_api_token(session, tenant=town, name="ILS", user=None, now=T0)
    session.commit()
    headers = {"Authorization": f"Bearer {plain}"}
    area = [ars_area("Sangerhausen", [TOWN])]
    first = build_alert(identifier="SV-1", sender="ils@example.org", sent=T0, warnstufe=1,
                        texts=_texts("Gefahrstoff"), areas=area)  # fmt: skip
    update = build_update(first, identifier="SV-2", sent=T0 + timedelta(minutes=1), warnstufe=2,
                          texts=_texts("Gefahrstoff – Lage"))  # fmt: skip
    cancel = build_cancel(update, identifier="SV-3", sent=T0 + timedelta(minutes=2))
    exercise = build_alert(identifier="SV-4", sender="ils@example.org", sent=T0, warnstufe=3,
                           texts=_texts("Übung"), areas=area, status="Exercise")  # fmt: skip
    for alert in (first, update):
        r = client.post("/api/v1/alerts", data=build_cap_xml(alert), headers=headers,
                        content_type="application/cap+xml")  # fmt: skip
        assert r.status_code == 201
    for alert in (cancel, exercise):  # as JSON, served as XML
        r = client.post("/api/v1/alerts", data=json.dumps(alert_to_cap_json(alert)),
                        headers=headers, content_type="application/json")  # fmt: skip
        assert r.status_code == 201, r.get_json()
    for name in ("dwd_alert_windboeen_2023-06-22.xml", "dwd_update_starkregen_2023-06-23.xml"):
        raw = (shared_fixtures / "cap" / name).read_bytes()
        r = client.post("/api/v1/alerts", data=raw, headers=headers,
                        content_type="application/cap+xml")  # fmt: skip
        assert r.status_code in (200, 201), r.get_json()
    # Manual warnings issued in the staff area (generated documents).
    login(client, alerter.email)
    form = {"template_key": "gefahrstoff", "area_desc": "Sangerhausen", "tenant_ids": str(town.id),
            "warnstufe": "1", "headline": "Gefahrstoff", "description": "d", "instruction": "i",
            "sender_name": "Stadt", "action": "confirm"}  # fmt: skip
    assert client.post("/admin/sangerhausen/warnungen/neu", data=form).status_code == 302
    # NINA's CAP-as-JSON, served as XML.
    folder = shared_fixtures / "nina"
    dashboard = json.loads((folder / "ha_sample_warnings_dashboard.json").read_text())
    details = json.loads((folder / "ha_sample_warning_details.json").read_text())
    fake_nina.set_json(f"/api31/dashboard/{KREIS}.json", json.dumps(dashboard).encode())
    for ident, body in details.items():
        fake_nina.set_json(f"/api31/warnings/{ident}.json", json.dumps(body).encode())
    poll_nina(session, T0, client=NinaClient(fake_nina.base_url, "Aushang-Test/1.0"))
    session.commit()

    records = session.scalars(select(AlertRecord)).all()
    kinds = {(r.origin, r.document.media_type) for r in records}
    assert kinds >= {("api", "application/cap+xml"), ("api", "application/json"),
                     ("manual", "application/cap+xml"), ("nina", "application/json")}  # fmt: skip
    for record in records:
        r = client.get(f"/warnungen/cap/{record.identifier}.xml")
        assert r.status_code == 200, record.identifier
        _validate(cap_xsd, r.data)
