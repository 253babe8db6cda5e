"""WCAG 2.1 A/AA (axe-core) and valid HTML (Nu checker) on every public page and the
main staff pages, in the states people meet them in (L19).

Each test walks several pages and reports every page's violations together, so one
run shows all that is wrong, not only the first page.
"""

from __future__ import annotations

from typing import Any

import pytest
from selenium.webdriver.common.by import By

from .checks import assert_valid_html, axe_violations, fetch_html, format_violations
from .helpers import (
    ALERTER,
    EDITOR,
    TENANT,
    TENANT_ADMIN,
    demo_display,
    heading,
    login,
    notice_number,
    submit,
)

pytestmark = pytest.mark.e2e


def public_paths(live_server: Any) -> dict[str, str]:
    """Name → path of every public page, with the demo notices in each state."""
    current = notice_number(live_server, "Satzung über die Erhebung")
    ended = notice_number(live_server, "Allgemeinverfügung zur Aufstallung")
    corrected = notice_number(live_server, "Einladung zur 27. Sitzung")
    withdrawn = notice_number(live_server, "Einladung zur Sitzung des Bauausschusses")
    t = f"/{TENANT}"
    return {
        "index": f"{t}/",
        "index filtered by category": f"{t}/?kategorie=satzungen",
        "notice in Aushang": f"{t}/bekanntmachungen/{current}",
        "notice ended": f"{t}/bekanntmachungen/{ended}",
        "notice withdrawn": f"{t}/bekanntmachungen/{withdrawn}",
        "corrected notice (current version)": f"{t}/bekanntmachungen/{corrected}",
        "corrected notice (old version)": f"{t}/bekanntmachungen/{corrected}/v1",
        "archive": f"{t}/archiv",
        "archive with search results": f"{t}/archiv?q=Satzung&kategorie=satzungen",
        "archive without results": f"{t}/archiv?q=gibt-es-nicht",
        "archive with a bad date": f"{t}/archiv?von=32.13.2026",
        "feeds explanation": f"{t}/feeds/",
        "accessibility statement": f"{t}/barrierefreiheit",
        "feedback form": f"{t}/rueckmeldung",
    }


def admin_paths(live_server: Any) -> dict[str, str]:
    number = notice_number(live_server, "Satzung über die Erhebung")
    draft = notice_number(live_server, "Halteverbot zum Weihnachtsmarkt")
    display_id = demo_display(live_server)
    a = f"/admin/{TENANT}"
    return {
        "dashboard": f"{a}/",
        "notice list": f"{a}/bekanntmachungen/",
        "notice list filtered": f"{a}/bekanntmachungen/?phase=draft&q=Halteverbot",
        "notice form (new)": f"{a}/bekanntmachungen/neu",
        "notice detail (released)": f"{a}/bekanntmachungen/{number}",
        "notice detail (draft)": f"{a}/bekanntmachungen/{draft}",
        "notice version": f"{a}/bekanntmachungen/{number}/fassungen/1",
        "users": f"{a}/benutzer/",
        "categories": f"{a}/kategorien/",
        "settings": f"{a}/einstellungen",
        "publication channels": f"{a}/bekanntmachungsformen/",
        "audit log": f"{a}/protokoll",
        "feedback inbox": f"{a}/rueckmeldungen",
        "display list": f"{a}/anzeigen/",
        "display detail": f"{a}/anzeigen/{display_id}",
        "display form": f"{a}/anzeigen/{display_id}/bearbeiten",
        "display pairing": f"{a}/anzeigen/koppeln",
        "provisioning tokens": f"{a}/anzeigen/schluessel",
        "display outages": f"{a}/anzeigen/ausfaelle",
        "alerts list": f"{a}/warnungen/",
        "Schadenslage page": f"{a}/warnungen/neu?vorlage=hochwasser",
        # Issue 17: the confirmation of a withdrawal, outages of the Internet channel, the
        # archive export and the OParl sources.
        "withdrawal confirmation": f"{a}/bekanntmachungen/{number}/zuruecknehmen"
        "?art=withdrawn&reason=Beschluss+aufgehoben",
        "internet outages": f"{a}/ausfaelle-internet",
        "archive export": f"{a}/archiv-export",
        "OParl sources": f"{a}/ratsinformation",
    }


class Findings:
    """axe-core results and raw HTML of many pages, reported together."""

    def __init__(self, browser: Any, base: str) -> None:
        self.browser = browser
        self.base = base
        self.problems: list[str] = []
        self.documents: dict[str, str] = {}

    def visit(self, name: str, path: str, raw: bool = True) -> None:
        self.browser.get(self.base + path)
        self.axe(name)
        if raw:
            self.documents[name] = fetch_html(self.base + path, self.browser)

    def axe(self, name: str) -> None:
        violations = axe_violations(self.browser)
        if violations:
            self.problems.append(
                f"{name}: " + format_violations(violations, self.browser.current_url)
            )

    def dom(self, name: str) -> None:
        """The current DOM as a document (for pages reached by POST, which have no URL
        to fetch again): axe-core on it, and the Nu checker on its serialisation."""
        self.axe(name)
        self.documents[name] = "<!DOCTYPE html>\n" + self.browser.execute_script(
            "return document.documentElement.outerHTML"
        )

    def assert_clean(self) -> None:
        for name, html in self.documents.items():
            assert "<h1" in html, f"{name}: not the page expected (logged out?)"
        if self.problems:
            pytest.fail("\n\n".join(self.problems), pytrace=False)
        assert_valid_html(self.documents)


def test_public_pages(browser, live_server):
    findings = Findings(browser, live_server.url)
    for name, path in public_paths(live_server).items():
        findings.visit(name, path)
    # The feedback form with its errors shown.
    browser.get(live_server.url + f"/{TENANT}/rueckmeldung")
    browser.find_element(By.ID, "email").send_keys("keine-adresse")
    submit(browser, "main form button[type=submit]")
    assert browser.find_element(By.CSS_SELECTOR, ".error-summary")
    findings.dom("feedback form with errors")
    findings.assert_clean()


def test_staff_pages(browser, live_server):
    findings = Findings(browser, live_server.url)
    login(browser, live_server.url, TENANT_ADMIN)
    for name, path in admin_paths(live_server).items():
        findings.visit(name, path)
    # The Schadenslage page with errors, with a preview, and the alert's own page. An
    # exercise (test mode) reaches only test displays, so the other tests' screens stay.
    a = f"/admin/{TENANT}"
    browser.get(live_server.url + f"{a}/warnungen/neu?vorlage=hochwasser")
    browser.find_element(By.ID, "headline").clear()
    submit(browser, "main form[novalidate] button[value=preview]")
    findings.dom("Schadenslage page with errors")
    browser.find_element(By.ID, "headline").send_keys("Übung: Hochwasser an der Bode")
    browser.find_element(By.CSS_SELECTOR, "input[name=test_mode]").click()
    submit(browser, "main form[novalidate] button[value=preview]")
    assert browser.find_element(By.ID, "vorschau")
    findings.dom("Schadenslage preview")
    submit(browser, "button[value=confirm]")
    findings.visit("alert detail", browser.current_url.removeprefix(live_server.url))
    # Notice form with errors (as the editor: creating notices is an editor's task).
    login(browser, live_server.url, EDITOR)
    browser.get(live_server.url + f"{a}/bekanntmachungen/neu")
    browser.find_element(By.ID, "title").send_keys("Testbekanntmachung")
    browser.execute_script(
        "document.getElementById('posting_start').value = '2026-03-10';"
        "document.getElementById('posting_end').value = '2026-03-01';"
    )
    browser.find_element(By.ID, "file_number").send_keys("x" * 101)
    submit(browser, "main form button[type=submit]")
    assert browser.find_element(By.CSS_SELECTOR, ".error-summary"), heading(browser)
    findings.dom("notice form with errors")
    findings.assert_clean()


def test_alerter_sees_an_accessible_schadenslage_page(browser, live_server):
    login(browser, live_server.url, ALERTER)
    findings = Findings(browser, live_server.url)
    findings.visit("alerts list (alerter)", f"/admin/{TENANT}/warnungen/")
    findings.visit("dashboard (alerter)", f"/admin/{TENANT}/")
    findings.assert_clean()
