"""A Kommune in five minutes (issue 17, build 5), in a real browser: from the system
admin's first click to a released first notice on the new Kommune's public page.

The test counts the forms submitted and the time the browser needed; both are printed
(``-s`` shows them) for the closing note of the issue, never asserted as a speed."""

from __future__ import annotations

import email
import email.policy
import re
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from server.domain.posting import local_date, utcnow

from .helpers import SYSTEM_ADMIN, heading, login, submit, wait_for_path

PASSWORD = "Start-Kennwort-2026"


def _fill(browser, values: dict[str, str]) -> None:
    for field, value in values.items():
        element = browser.find_element(By.ID, field)
        element.clear()
        element.send_keys(value)


def _dates(browser, values: dict[str, str]) -> None:
    browser.execute_script(
        "for (const [id, v] of Object.entries(arguments[0]))"
        " document.getElementById(id).value = v;",
        values,
    )


def _invitation_path(live_server, address: str) -> str:
    """The invitation link for ``address``: the sender job runs once (as the scheduler
    would), the mail lands in the live server's Maildir."""
    from server.jobs.messages import send_outbox

    with live_server.session() as session:
        send_outbox(session, utcnow())
    maildir = Path(live_server.app.config["AUSHANG_MAILDIR"])
    for path in sorted(maildir.rglob("*"), key=lambda p: p.stat().st_mtime, reverse=True):
        if not path.is_file():
            continue
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if address in str(message["To"]):
            text = message.get_body(("plain",)).get_content()
            return urlsplit(re.findall(r"http://\S+/einladung/\S+", text)[0]).path
    raise AssertionError(f"no invitation mail to {address} in {maildir}")


def _main(browser) -> str:
    return browser.find_element(By.TAG_NAME, "main").text


def test_system_admin_onboards_a_kommune_to_its_first_released_notice(browser, live_server):
    base = live_server.url
    forms = 0
    started = time.monotonic()

    def send(css: str = "main form button[type=submit]") -> None:
        nonlocal forms
        submit(browser, css)
        forms += 1

    # 1. The system admin creates the Kommune with its first admin and the starter set.
    login(browser, base, SYSTEM_ADMIN)
    forms += 1
    browser.get(base + "/admin/system/kommunen")
    options = [o.text for o in Select(browser.find_element(By.ID, "timezone")).options]
    assert options[0] == "Europe/Berlin" and "Africa/Abidjan" not in options
    _fill(
        browser,
        {
            "name": "Gemeinde Neuanfang",
            "slug": "neuanfang",
            "ars": "150855555599",
            "admin_name": "Nora Neu",
            "admin_email": "nora@neuanfang.example",
            "admin_password": PASSWORD,
        },
    )
    send()
    wait_for_path(browser, "/admin/neuanfang/")
    page = _main(browser)
    assert "Erste Schritte für Gemeinde Neuanfang" in page
    assert "✓ erledigt: Kategorien mit Mindestfrist und verbindlicher Form" in page
    assert "offen: Erste Bekanntmachung freigegeben" in page

    # The public page exists and says it is being built.
    browser.delete_all_cookies()
    browser.get(base + "/neuanfang/")
    assert "Diese Seite ist im Aufbau." in _main(browser)

    # 2. The new admin invites the two people of the four-eyes principle; each sets a
    # password through the link in the invitation mail (the Maildir of the live server).
    login(browser, base, "nora@neuanfang.example", PASSWORD)
    forms += 1
    for name, address, role in (
        ("Rita Redaktion", "rita@neuanfang.example", "editor"),
        ("Fritz Freigabe", "fritz@neuanfang.example", "approver"),
    ):
        browser.get(base + "/admin/neuanfang/benutzer/neu")
        _fill(browser, {"name": name, "email": address})
        for box in browser.find_elements(By.CSS_SELECTOR, "input[name=roles]"):
            if box.is_selected() != (box.get_attribute("value") == role):
                box.click()
        send()
    for address in ("rita@neuanfang.example", "fritz@neuanfang.example"):
        browser.delete_all_cookies()
        browser.get(base + _invitation_path(live_server, address))
        _fill(browser, {"new_password": PASSWORD, "new_password_repeat": PASSWORD})
        send()

    # 3. The editor writes the first notice and submits it.
    login(browser, base, "rita@neuanfang.example", PASSWORD)
    forms += 1
    browser.get(base + "/admin/neuanfang/bekanntmachungen/neu")
    assert heading(browser) == "Neue Bekanntmachung"
    _fill(
        browser,
        {
            "title": "Satzung über die Benutzung des Dorfgemeinschaftshauses",
            "body_md": "Der Gemeinderat hat in seiner Sitzung folgende Satzung beschlossen.",
            "file_number": "022-1/2026",
            "signatory_name": "Nora Neu",
            "signatory_function": "Bürgermeisterin",
        },
    )
    Select(browser.find_element(By.ID, "category")).select_by_visible_text(
        "Satzungen und Verordnungen (mind. 7 Tage)"
    )
    today = local_date(utcnow(), "Europe/Berlin")
    _dates(
        browser,
        {
            "signed_on": today.isoformat(),
            "posting_start": today.isoformat(),
            "posting_end": (today + timedelta(days=14)).isoformat(),
        },
    )
    send("main form.stack button[type=submit]")
    send("form[action$='/vorlegen'] button[type=submit]")
    assert "liegt jetzt zur Freigabe vor" in _main(browser)
    number = browser.current_url.rstrip("/").rsplit("/", 1)[-1].split("#")[0]

    # 4. The approver releases it, through the confirmation.
    login(browser, base, "fritz@neuanfang.example", PASSWORD)
    forms += 1
    browser.get(base + f"/admin/neuanfang/bekanntmachungen/{number}")
    send("form[action$='/freigeben'] button[type=submit]")
    assert "Was mit der Freigabe geschieht" in _main(browser)
    send("form[method=post][action$='/freigeben'] button[type=submit]")
    assert "Die Fassung wurde freigegeben." in _main(browser)
    elapsed = time.monotonic() - started

    # The public page shows it, no longer "im Aufbau".
    browser.delete_all_cookies()
    browser.get(base + "/neuanfang/")
    page = _main(browser)
    assert "Satzung über die Benutzung des Dorfgemeinschaftshauses" in page
    assert "im Aufbau" not in page
    print(
        f"\nonboarding: {forms} forms (4 of them logins, 2 invitation acceptances), {elapsed:.1f} s in the browser"
    )
