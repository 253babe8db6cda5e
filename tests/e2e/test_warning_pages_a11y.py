"""The warning pages with data, checked by axe-core (WCAG 2.1 AA) and the Nu checker:
the citizens' page ``/<tenant>/warnungen`` and the staff alert page with its delivery
table, reach chart (inline SVG) and incident timeline.

A tenant of its own keeps the active warning away from the other browser tests.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from server.domain.posting import utcnow
from server.models import AlertDelivery, Display
from server.services import alerts as svc
from server.services.displays import enrolment
from tests.factories import Factory

from .checks import assert_no_axe_violations, assert_valid_html, fetch_html
from .helpers import heading, login

pytestmark = pytest.mark.e2e


def _warning(live_server) -> tuple[str, int]:
    with live_server.session() as session:
        now = utcnow()
        f = Factory(session, now)
        town = f.tenant("warnstadt", ars="150870045045", name="Warnstadt")
        alerter = f.user(town, "alerter", email="warnung@warnstadt.example")
        displays = []
        for name in ("Rathaus Foyer", "Bahnhof"):
            display = Display(tenant_id=town.id, name=name, location="Markt 1", created_at=now)
            session.add(display)
            session.flush()
            enrolment._issue(display, now)
            displays.append(display)
        displays[0].last_seen = now
        texts = svc.template("hochwasser").texts(town.name)
        record = svc.issue_manual(
            session,
            tenant=town,
            user=alerter,
            now=now,
            policy=svc.AlertPolicy(),
            data=svc.ManualAlertInput(
                template_key="hochwasser",
                area_desc=town.name,
                tenant_ids=[town.id],
                warnstufe=1,
                headline=texts["headline"],
                description=texts["description"],
                instruction=texts["instruction"],
                sender_name="Stadt Warnstadt, Ordnungsamt",
            ),
        )
        session.add(
            AlertDelivery(
                display_id=displays[0].id,
                alert_id=record.id,
                delivered_at=now + timedelta(seconds=0.1),
                shown_at=now + timedelta(seconds=0.3),
                received_at=now + timedelta(seconds=0.3),
                latency_s=0.3,
            )
        )
        return alerter.email, record.id


def test_warning_pages_with_data_are_accessible_and_valid(browser, live_server):
    email, alert_id = _warning(live_server)
    base = live_server.url
    browser.get(base + "/warnstadt/warnungen")
    assert heading(browser) == "Aktuelle Warnungen"
    assert "Hochwasser" in browser.page_source
    assert_no_axe_violations(browser)

    login(browser, base, email, Factory.PASSWORD)
    page = f"/admin/warnstadt/warnungen/{alert_id}"
    browser.get(base + page)
    assert "Zustellung an die Anzeigen" in browser.page_source
    assert browser.find_element("css selector", "figure.reach-chart svg[role=img]")
    assert_no_axe_violations(browser)
    assert_valid_html(
        {
            "public warnings": fetch_html(base + "/warnstadt/warnungen"),
            "alert page": fetch_html(base + page, browser),
        }
    )
