"""The alert page's delivery section updates itself (issue 13, build 5): the page is
complete as the server renders it (no script needed), and ``zustellung.json`` gives the
same section's body and counts as acknowledgements arrive, for the alert's tenant only.
The real-browser check (an ack arrives, the open page changes) is in
``tests/e2e/test_alert_delivery_live_e2e.py``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from server.models import AlertDelivery, Display
from server.services.displays import enrolment

from ..conftest import login
from ..factories import issue_template_alert

TOWN_ARS = "150870045045"
ISSUED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.fixture
def world(app, factory, session, monkeypatch):
    monkeypatch.setitem(app.config, "AUSHANG_CLOCK", lambda: ISSUED + timedelta(seconds=30))
    town = factory.tenant("sangerhausen", ars=TOWN_ARS, name="Sangerhausen")
    other = factory.tenant("magdeburg", ars="150030000000", name="Magdeburg")
    alerter = factory.user(town, "alerter")
    foreign = factory.user(other, "alerter", email="b@magdeburg.example")
    displays = []
    for name in ("Rathaus Foyer", "Bahnhof"):
        display = Display(tenant_id=town.id, name=name, location="Markt 1", created_at=ISSUED)
        session.add(display)
        session.flush()
        enrolment._issue(display, ISSUED)
        display.last_seen = ISSUED
        displays.append(display)
    record = issue_template_alert(
        session,
        town,
        alerter,
        ISSUED,
        sender_name="Stadt Sangerhausen",
    )
    session.commit()
    return {"record": record, "displays": displays, "alerter": alerter, "foreign": foreign}


def _ack(session, record, display, latency: float) -> None:
    session.add(
        AlertDelivery(
            display_id=display.id,
            alert_id=record.id,
            delivered_at=ISSUED + timedelta(seconds=latency / 2),
            shown_at=ISSUED + timedelta(seconds=latency),
            received_at=ISSUED + timedelta(seconds=latency),
            latency_s=latency,
        )
    )
    session.commit()


def test_page_is_complete_without_script_and_names_its_live_source(client, world):
    record = world["record"]
    login(client, world["alerter"].email)
    page = client.get(f"/admin/sangerhausen/warnungen/{record.id}").text
    assert "<strong>0 von 2</strong> Anzeigen haben die Meldung angezeigt" in page
    assert 'class="grid delivery-table"' in page and "Rathaus Foyer" in page
    assert re.search(r'<figure class="reach-chart">\s*<svg', page)
    live = f'data-live-url="/admin/sangerhausen/warnungen/{record.id}/zustellung.json"'
    assert live in page
    assert '<script src="/static/alert_live.js" defer></script>' in page
    assert "<script>" not in page  # the CSP allows no inline script


def test_live_json_follows_acknowledgements_with_the_pages_own_markup(client, session, world):
    record, displays = world["record"], world["displays"]
    login(client, world["alerter"].email)
    url = f"/admin/sangerhausen/warnungen/{record.id}/zustellung.json"
    before = client.get(url)
    assert before.status_code == 200 and before.headers["Cache-Control"] == "no-store"
    data = before.get_json()
    assert (data["total"], data["shown"], data["delivered"], data["offline"]) == (2, 0, 0, 0)

    _ack(session, record, displays[0], 0.4)
    data = client.get(url).get_json()
    assert (data["shown"], data["delivered"]) == (1, 1)
    assert data["summary"] == "1 von 2 Anzeigen haben die Meldung angezeigt."
    assert "<strong>1 von 2</strong>" in data["html"] and "0,40 s" in data["html"]
    assert "<polyline" in data["html"]
    # The same markup a reload shows.
    page = client.get(f"/admin/sangerhausen/warnungen/{record.id}").text
    assert data["html"].strip() in page


def test_live_json_is_the_alerts_tenants_only(client, world, factory, session):
    record = world["record"]
    url = f"/admin/sangerhausen/warnungen/{record.id}/zustellung.json"
    login(client, world["foreign"].email)
    assert client.get(url).status_code == 404
    # Nor under the other tenant's own URL.
    assert client.get(url.replace("sangerhausen", "magdeburg")).status_code == 404
    editor = factory.user(record.issuer_tenant, "editor", email="e@sangerhausen.example")
    session.commit()
    login(client, editor.email)
    assert client.get(url).status_code == 403
