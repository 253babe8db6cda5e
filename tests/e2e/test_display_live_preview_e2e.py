"""The display's live preview in a real browser (issue 13, build 3): the staff page
frames the real kiosk page on the display's manifest; it rotates the display's slides,
and a warning issued while the page is open takes the frame over without a reload.
A tenant of its own keeps the warning away from the other browser tests."""

from __future__ import annotations

from datetime import timedelta

import pytest
from selenium.webdriver.common.by import By
from sqlalchemy import select

from server.domain.posting import utcnow
from server.models import ContentItem, Display, Tenant, User
from server.services import alerts as svc
from server.services.displays import enrolment
from tests.factories import Factory

from ..factories import issue_template_alert
from .helpers import login, wait

pytestmark = pytest.mark.e2e

HEADLINE = "Hochwasser: Vorschau folgt der Lage"


def _display(live_server) -> tuple[str, int]:
    with live_server.session() as session:
        now = utcnow()
        f = Factory(session, now)
        town = f.tenant("vorschaustadt", ars="150870045049", name="Vorschaustadt")
        admin = f.user(town, "admin", email="admin@vorschaustadt.example")
        display = Display(tenant_id=town.id, name="Rathaus Foyer", created_at=now)
        session.add(display)
        session.flush()
        enrolment._issue(display, now)
        session.add(
            ContentItem(
                tenant_id=town.id,
                display_id=display.id,
                kind="page",
                title="Öffnungszeiten",
                body="Mo–Fr 8–12 Uhr",
                valid_from=now - timedelta(hours=1),
                created_at=now,
                updated_at=now,
            )
        )
        return admin.email, display.id


def _issue(live_server) -> None:
    with live_server.session() as session:
        town = session.scalar(select(Tenant).where(Tenant.slug == "vorschaustadt"))
        admin = session.scalar(select(User).where(User.email == "admin@vorschaustadt.example"))
        issue_template_alert(
            session,
            town,
            admin,
            utcnow(),
            sender_name="Stadt Vorschaustadt",
            policy=svc.policy_from_config(live_server.app.config),
            headline=HEADLINE,
        )


LAYER = """
var ids = ["starting", "pairing", "empty", "rotation", "warning"];
for (var i = 0; i < ids.length; i++) {
  if (!document.getElementById(ids[i]).hidden) return ids[i];
}
return null;
"""


def test_live_preview_runs_the_kiosk_page_and_follows_a_new_warning(browser, live_server):
    email, display_id = _display(live_server)
    login(browser, live_server.url, email, Factory.PASSWORD)
    browser.get(f"{live_server.url}/admin/vorschaustadt/anzeigen/{display_id}/vorschau")
    browser.execute_script("window.__sameDocument = true;")
    frame = browser.find_element(By.CSS_SELECTOR, "#display-preview iframe.kiosk-frame")
    browser.switch_to.frame(frame)
    try:
        wait(browser, 15).until(lambda d: d.execute_script(LAYER) == "rotation", "rotation")
        slide = browser.find_element(By.CSS_SELECTOR, "iframe.slide-frame.active")
        browser.switch_to.frame(slide)
        assert "Öffnungszeiten" in browser.find_element(By.TAG_NAME, "body").text
        browser.switch_to.parent_frame()

        _issue(live_server)
        wait(browser, 20).until(lambda d: d.execute_script(LAYER) == "warning", "takeover")
        assert browser.find_element(By.ID, "w-headline").text == HEADLINE
    finally:
        browser.switch_to.default_content()
    assert browser.execute_script("return window.__sameDocument === true")
