"""The public pages with the warning banner (issue 13, build 4), checked by axe-core
(WCAG 2.1 A/AA) and the Nu checker, with the warning in force and as Entwarnung.
Before/after times are tested with an injected clock in
``tests/alerts/test_public_warning_banner.py``.

A tenant of its own keeps the warning away from the other browser tests.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from selenium.webdriver.common.by import By

from server.domain.posting import utcnow
from server.services import alerts as svc
from tests.factories import Factory

from .checks import assert_no_axe_violations, assert_valid_html, fetch_html

pytestmark = pytest.mark.e2e

HEADLINE = "Hochwasser: Deich an der Bode gefährdet"


def _town_with_warning(live_server) -> tuple[str, int]:
    with live_server.session() as session:
        now = utcnow()
        f = Factory(session, now)
        town = f.tenant("bannerstadt", ars="150870045046", name="Bannerstadt")
        editor = f.user(town, "editor", email="redaktion@bannerstadt.example")
        approver = f.user(town, "approver", email="freigabe@bannerstadt.example")
        alerter = f.user(town, "alerter", email="warnung@bannerstadt.example")
        notice = f.released_notice(
            town, f.category(town), editor, approver, at=now - timedelta(days=1)
        )
        texts = svc.template("hochwasser").texts(town.name)
        record = svc.issue_manual(
            session,
            tenant=town,
            user=alerter,
            now=now,
            policy=svc.policy_from_config(live_server.app.config),
            data=svc.ManualAlertInput(
                template_key="hochwasser",
                area_desc=town.name,
                tenant_ids=[town.id],
                warnstufe=1,
                headline=HEADLINE,
                description=texts["description"],
                instruction=texts["instruction"],
                sender_name="Stadt Bannerstadt",
            ),
        )
        return notice.number, record.id


def _cancel(live_server, record_id: int) -> None:
    from sqlalchemy import select

    from server.models import Tenant, User

    with live_server.session() as session:
        town = session.scalar(select(Tenant).where(Tenant.slug == "bannerstadt"))
        alerter = session.scalar(select(User).where(User.email == "warnung@bannerstadt.example"))
        svc.cancel_manual(
            session,
            tenant=town,
            user=alerter,
            record_id=record_id,
            now=utcnow(),
            policy=svc.policy_from_config(live_server.app.config),
        )


def test_public_pages_with_the_banner_are_accessible_and_valid(browser, live_server):
    number, record_id = _town_with_warning(live_server)
    base = live_server.url
    pages = {"index": "/bannerstadt/", "notice": f"/bannerstadt/bekanntmachungen/{number}"}
    for name, path in pages.items():
        browser.get(base + path)
        banner = browser.find_element(By.CSS_SELECTOR, "section.warning-banner")
        assert HEADLINE in banner.text, name
        link = banner.find_element(By.TAG_NAME, "a")
        assert link.get_attribute("href") == base + "/bannerstadt/warnungen"
        assert_no_axe_violations(browser)
    assert_valid_html({name: fetch_html(base + path) for name, path in pages.items()})

    _cancel(live_server, record_id)
    for name, path in pages.items():
        browser.get(base + path)
        banner = browser.find_element(By.CSS_SELECTOR, "section.warning-banner.is-entwarnung")
        assert banner.find_element(By.TAG_NAME, "h2").text == "Entwarnung", name
        assert_no_axe_violations(browser)
