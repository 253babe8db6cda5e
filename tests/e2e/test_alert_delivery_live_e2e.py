"""The alert page updates by itself while acknowledgements arrive (issue 13, build 5):
an ack is stored while the page is open, and the count, the table and the chart change
on the page without a reload. A tenant of its own keeps the warning away from the other
browser tests. Every wait is on a condition with a deadline."""

from __future__ import annotations

from datetime import timedelta

import pytest
from selenium.webdriver.common.by import By

from server.domain.posting import utcnow
from server.models import AlertDelivery, Display
from server.services.displays import enrolment
from tests.factories import Factory

from ..factories import issue_template_alert
from .checks import assert_no_axe_violations
from .helpers import login, wait

pytestmark = pytest.mark.e2e

SUMMARY = "section.delivery .delivery-summary"


def _warning(live_server) -> tuple[str, int, list[int]]:
    with live_server.session() as session:
        now = utcnow()
        f = Factory(session, now)
        town = f.tenant("livestadt", ars="150870045047", name="Livestadt")
        alerter = f.user(town, "alerter", email="warnung@livestadt.example")
        ids = []
        for name in ("Rathaus Foyer", "Bahnhof"):
            display = Display(tenant_id=town.id, name=name, location="Markt 1", created_at=now)
            session.add(display)
            session.flush()
            enrolment._issue(display, now)
            display.last_seen = now
            ids.append(display.id)
        record = issue_template_alert(
            session,
            town,
            alerter,
            now,
            sender_name="Stadt Livestadt",
        )
        return alerter.email, record.id, ids


def _ack(live_server, alert_id: int, display_id: int) -> None:
    with live_server.session() as session:
        now = utcnow()
        session.add(
            AlertDelivery(
                display_id=display_id,
                alert_id=alert_id,
                delivered_at=now,
                shown_at=now + timedelta(seconds=0.2),
                received_at=now + timedelta(seconds=0.2),
                latency_s=0.7,
            )
        )


def test_ack_changes_the_open_alert_page_without_reload(browser, live_server):
    email, alert_id, displays = _warning(live_server)
    login(browser, live_server.url, email, Factory.PASSWORD)
    browser.get(f"{live_server.url}/admin/livestadt/warnungen/{alert_id}")
    summary = browser.find_element(By.CSS_SELECTOR, SUMMARY).text
    assert summary.startswith("0 von 2 Anzeigen haben die Meldung angezeigt")
    # A mark on this document: a reload would drop it.
    browser.execute_script("window.__sameDocument = true;")
    points_before = browser.find_element(By.CSS_SELECTOR, "figure.reach-chart polyline")
    points_before = points_before.get_attribute("points")

    _ack(live_server, alert_id, displays[0])
    wait(browser, 15).until(
        lambda d: d.find_element(By.CSS_SELECTOR, SUMMARY).text.startswith("1 von 2"),
        "the count on the open page",
    )
    assert browser.execute_script("return window.__sameDocument === true")
    table = browser.find_element(By.CSS_SELECTOR, "table.delivery-table").text
    assert "0,70 s" in table and "angezeigt" in table
    polyline = browser.find_element(By.CSS_SELECTOR, "figure.reach-chart polyline")
    assert polyline.get_attribute("points") != points_before
    announce = browser.find_element(By.CSS_SELECTOR, "[data-live-announce]")
    wait(browser).until(lambda d: "1 von 2" in announce.get_attribute("textContent"))

    _ack(live_server, alert_id, displays[1])
    wait(browser, 15).until(
        lambda d: d.find_element(By.CSS_SELECTOR, SUMMARY).text.startswith("2 von 2"),
        "the second acknowledgement",
    )
    assert browser.execute_script("return window.__sameDocument === true")
    assert_no_axe_violations(browser)


def test_alert_page_renders_fully_without_script(browser, live_server):
    """With JavaScript switched off (CDP), the page still shows counts, chart and table."""
    email, alert_id, displays = _warning_for_noscript(live_server)
    _driver = browser
    login(_driver, live_server.url, email, Factory.PASSWORD)
    _driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        _driver.get(f"{live_server.url}/admin/nostadt/warnungen/{alert_id}")
        summary = _driver.find_element(By.CSS_SELECTOR, SUMMARY).text
        assert summary.startswith("1 von 2 Anzeigen haben die Meldung angezeigt")
        assert _driver.find_element(By.CSS_SELECTOR, "figure.reach-chart svg polyline")
        rows = _driver.find_elements(By.CSS_SELECTOR, "table.delivery-table tbody tr")
        assert len(rows) == 2
    finally:
        _driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})


def _warning_for_noscript(live_server) -> tuple[str, int, list[int]]:
    with live_server.session() as session:
        now = utcnow()
        f = Factory(session, now)
        town = f.tenant("nostadt", ars="150870045048", name="Nostadt")
        alerter = f.user(town, "alerter", email="warnung@nostadt.example")
        ids = []
        for name in ("Rathaus Foyer", "Bahnhof"):
            display = Display(tenant_id=town.id, name=name, location="Markt 1", created_at=now)
            session.add(display)
            session.flush()
            enrolment._issue(display, now)
            ids.append(display.id)
        record = issue_template_alert(
            session,
            town,
            alerter,
            now,
            sender_name="Stadt Nostadt",
        )
        alert_id = record.id
        email = alerter.email
    _ack(live_server, alert_id, ids[0])
    return email, alert_id, ids
