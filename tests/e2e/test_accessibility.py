"""WCAG 2.1 A/AA by axe-core on the pages that exist, and valid HTML by the Nu checker (L19).

Every page is checked in the states people meet it in: empty, with data, and with
validation errors shown.
"""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from .checks import assert_no_axe_violations, assert_valid_html, fetch_html
from .helpers import EDITOR, SYSTEM_ADMIN, TENANT_ADMIN, heading, login, submit, wait_for_path

pytestmark = pytest.mark.e2e


def test_login_page_and_its_error_state(browser, live_server):
    browser.get(live_server.url + "/login")
    assert heading(browser) == "Anmelden"
    assert_no_axe_violations(browser)
    login(browser, live_server.url, EDITOR, "falsches-Passwort-1")
    assert "falsch" in browser.find_element(By.CSS_SELECTOR, "[role=alert]").text
    assert_no_axe_violations(browser)


def test_error_page(browser, live_server):
    browser.get(live_server.url + "/diese-seite-gibt-es-nicht/")
    assert heading(browser) == "Nicht gefunden"
    assert_no_axe_violations(browser)


def test_account_page_and_its_error_state(browser, live_server):
    login(browser, live_server.url, EDITOR)
    browser.get(live_server.url + "/konto")
    assert heading(browser) == "Mein Konto"
    assert_no_axe_violations(browser)
    browser.find_element(By.ID, "current_password").send_keys("falsch")
    browser.find_element(By.ID, "new_password").send_keys("kurz")
    browser.find_element(By.ID, "new_password_repeat").send_keys("kurz")
    submit(browser, "form[action$='/konto/passwort'] button")
    assert browser.find_element(By.CSS_SELECTOR, ".error-summary")
    assert browser.find_element(By.ID, "new_password").get_attribute("aria-invalid") == "true"
    assert_no_axe_violations(browser)


def test_dashboard(browser, live_server):
    login(browser, live_server.url, TENANT_ADMIN)
    wait_for_path(browser, "/admin/musterstadt/")
    assert heading(browser) == "Übersicht"
    assert_no_axe_violations(browser)


def test_system_tenants_page_and_its_error_state(browser, live_server):
    login(browser, live_server.url, SYSTEM_ADMIN)
    browser.get(live_server.url + "/admin/system/kommunen")
    assert_no_axe_violations(browser)
    browser.find_element(By.ID, "name").send_keys("Testdorf")
    browser.find_element(By.ID, "slug").send_keys("testdorf")
    browser.find_element(By.ID, "ars").send_keys("123")
    submit(browser, "main form button[type=submit]")
    assert browser.find_element(By.CSS_SELECTOR, ".error-summary")
    assert_no_axe_violations(browser)


def test_pages_are_valid_html(browser, live_server):
    base = live_server.url
    documents = {
        "login": fetch_html(base + "/login"),
        "404": fetch_html(base + "/diese-seite-gibt-es-nicht/"),
    }
    login(browser, base, SYSTEM_ADMIN)
    documents["system tenants"] = fetch_html(base + "/admin/system/kommunen", browser)
    documents["account"] = fetch_html(base + "/konto", browser)
    documents["dashboard"] = fetch_html(base + "/admin/musterstadt/", browser)
    for name, html in documents.items():
        assert "<h1>" in html, f"{name}: not the page expected (logged out?)"
    assert_valid_html(documents)


def test_the_checkers_do_find_problems(browser, live_server):
    """A canary: both checkers must report a known fault, so a silent tool never passes."""
    from .checks import axe_violations, vnu_messages

    browser.get(live_server.url + "/login")
    browser.execute_script(
        "const i = document.createElement('img'); i.src = '/static/x.png';"
        "document.querySelector('main').appendChild(i);"
        "document.getElementById('email').removeAttribute('id');"
    )
    found = {v["id"] for v in axe_violations(browser)}
    assert {"image-alt", "label"} <= found, found
    messages = vnu_messages({"broken": "<!doctype html><title>x</title><p><div></p>"})
    assert any(m["type"] == "error" for m in messages["broken"])


def test_console_watch_catches_csp_violations(_driver, live_server):
    """The browser fixture's console check sees what the CSP blocks (no inline code)."""
    from .conftest import console_failures

    _driver.get(live_server.url + "/login")
    console_failures(_driver)
    _driver.execute_script(
        "const s = document.createElement('script'); s.textContent = 'window.x = 1';"
        "document.head.appendChild(s);"
    )
    assert _driver.execute_script("return window.x") is None  # blocked
    assert any("Content Security Policy" in m for m in console_failures(_driver))
