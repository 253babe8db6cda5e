"""The system as people use it, in headless Chromium against the live server, with real
players (``python -m player``) whose kiosk pages the same browser opens.

(a) An editor writes a notice with a PDF attachment and submits it; an approver
    releases it; it is on the public pages, the attachment's hash holds, it is in the
    feeds and on the kiosk page of a running player.
(b) A display is paired by the code on its screen.
(c) An alerter issues a Schadenslage warning; the kiosk page is taken over; the
    Entwarnung returns it to the notices.
(d) The editor's journey with the keyboard only.
"""

from __future__ import annotations

import hashlib
import json
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    WebDriverException,
)
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select
from sqlalchemy import select

from server.domain.posting import local_date, utcnow
from server.models import Category, Display, Tenant, User

from .helpers import (
    ALERTER,
    APPROVER,
    EDITOR,
    TENANT,
    TENANT_ADMIN,
    heading,
    login,
    submit,
    wait,
    wait_for_path,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "player"))
from player_process import PlayerProcess, wait_for  # noqa: E402

pytestmark = pytest.mark.e2e

ADMIN = f"/admin/{TENANT}"


# --- fixtures and helpers ------------------------------------------------------------


@pytest.fixture()
def players(tmp_path: Path) -> Iterator[Any]:
    """Start real player processes against the live server; all stopped afterwards."""
    started: list[PlayerProcess] = []

    def start(live_server: Any, name: str, token: str = "") -> PlayerProcess:
        (tmp_path / name).mkdir()
        player = PlayerProcess(
            tmp_path / name,
            live_server.url,
            provisioning_token=token,
            poll_wait_seconds=5,
            heartbeat_seconds=5,
        )
        started.append(player)
        return player.start()

    yield start
    for player in started:
        player.stop()


def provisioning_token(live_server: Any, name: str) -> str:
    from server.services.displays import enrolment

    with live_server.session() as session:
        tenant = session.scalar(select(Tenant).where(Tenant.slug == TENANT))
        admin = session.scalar(select(User).where(User.email == TENANT_ADMIN))
        _, plain = enrolment.create_provisioning_token(session, tenant, admin, name, utcnow())
    return plain


def show_only(live_server: Any, category_slug: str) -> None:
    """Keep the newest enrolled display's rotation short: one category, three seconds a
    page (the kiosk then needs seconds, not minutes, to come round to a notice)."""
    with live_server.session() as session:
        display = session.scalar(
            select(Display).where(Display.token_hash.is_not(None)).order_by(Display.id.desc())
        )
        assert display is not None
        category = session.scalar(select(Category).where(Category.slug == category_slug))
        display.all_categories = False
        display.categories = [category]
        display.notice_duration_s = 3


@contextmanager
def window(browser: Any, url: str) -> Iterator[str]:
    """Open ``url`` in a second browser window (a kiosk screen beside the staff pages)."""
    first = browser.current_window_handle
    browser.switch_to.new_window("window")
    handle = browser.current_window_handle
    browser.get(url)
    browser.switch_to.window(first)
    try:
        yield handle
    finally:
        browser.switch_to.window(handle)
        browser.close()
        browser.switch_to.window(first)


@contextmanager
def looking_at(browser: Any, handle: str) -> Iterator[None]:
    back = browser.current_window_handle
    browser.switch_to.window(handle)
    try:
        yield
    finally:
        browser.switch_to.window(back)


KIOSK_VIEW = """
const visible = id => { const e = document.getElementById(id); return e && !e.hidden; };
const frame = document.querySelector('.slide-frame.active');
let slide = '';
try { slide = frame && frame.contentDocument && frame.contentDocument.body
  ? frame.contentDocument.body.innerText : ''; } catch (e) { slide = 'ERR ' + e; }
return {
  layer: ['starting', 'pairing', 'empty', 'rotation', 'warning'].filter(visible)[0] || null,
  code: document.getElementById('pairing-code').textContent,
  slide: slide,
  kind: document.getElementById('w-kind').textContent,
  headline: document.getElementById('w-headline').textContent,
};
"""


def kiosk(browser: Any) -> dict[str, Any]:
    """What the kiosk page in the current window shows."""
    return browser.execute_script(KIOSK_VIEW)


def wait_kiosk(browser: Any, condition: Any, what: str, timeout: float = 30) -> dict[str, Any]:
    last: dict[str, Any] = {}

    def check(_: Any) -> Any:
        nonlocal last
        last = kiosk(browser)
        return last if condition(last) else False

    try:
        return wait(browser, timeout).until(check)
    except Exception as exc:
        raise AssertionError(f"kiosk: {what}; it shows {last}") from exc


def sample_pdf() -> bytes:
    from server.documents import render_pdf

    html = (
        "<!doctype html><html lang='de'><title>Lageplan</title>"
        "<h1>Lageplan zur Vollsperrung</h1><p>Umleitung über die Lindenallee.</p></html>"
    )
    return render_pdf(html, Path(__file__).parent.as_uri() + "/")


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read()


def today_iso(live_server: Any, days: int = 0) -> str:
    return (local_date(utcnow(), "Europe/Berlin") + timedelta(days=days)).isoformat()


PROGRESS_WATCH = """
// Record what the upload progress bar does, across the reload that follows the upload.
sessionStorage.setItem('progress-log', '[]');
const box = document.querySelector('[data-upload-progress]');
const bar = box.querySelector('progress');
const log = () => {
  const seen = JSON.parse(sessionStorage.getItem('progress-log'));
  seen.push({shown: !box.hidden, value: bar.value});
  sessionStorage.setItem('progress-log', JSON.stringify(seen));
};
new MutationObserver(log).observe(box, {attributes: true, subtree: true});
"""


def settled(read: Any) -> Any:
    """A wait condition that reads the page while it may still be replaced."""

    def condition(driver: Any) -> Any:
        try:
            return read(driver)
        except (StaleElementReferenceException, NoSuchElementException):
            return False
        except WebDriverException as exc:  # a node of a document being replaced
            if "does not belong to the document" in str(exc):
                return False
            raise

    return condition


# --- (a) notice from draft to public page, feeds and kiosk -------------------------------


def test_notice_from_editor_to_public_feeds_and_kiosk(browser, live_server, players, tmp_path):
    base = live_server.url
    title = "Sperrung der Lindenallee wegen Baumfällarbeiten"
    # A player on the wall, enrolled by provisioning token, showing the traffic notices.
    player = players(live_server, "wall", provisioning_token(live_server, "Journey A"))
    wait_for(lambda: player.get("/local/state")["enrolled"], timeout=30, what="enrolment")
    show_only(live_server, "verkehr")

    # The editor writes the notice.
    login(browser, base, EDITOR)
    wait_for_path(browser, f"{ADMIN}/")
    browser.get(base + f"{ADMIN}/bekanntmachungen/neu")
    assert heading(browser) == "Neue Bekanntmachung"
    fields = {
        "title": title,
        "summary": "Die Lindenallee ist für drei Tage voll gesperrt.",
        "body_md": "Wegen **Baumfällarbeiten** wird die Lindenallee gesperrt.\n\n"
        "- Umleitung über den Gartenweg\n- Fußgänger können passieren",
        "file_number": "32-VS-2026-99",
        "signatory_name": "Dr. Maria Muster",
        "signatory_function": "Bürgermeisterin",
    }
    for name, value in fields.items():
        browser.find_element(By.ID, name).send_keys(value)
    Select(browser.find_element(By.ID, "category")).select_by_visible_text(
        "Straßen und Verkehr (mind. 7 Tage)"
    )
    browser.execute_script(
        "for (const [id, v] of Object.entries(arguments[0]))"
        " document.getElementById(id).value = v;",
        {
            "signed_on": today_iso(live_server),
            "posting_start": today_iso(live_server),
            "posting_end": today_iso(live_server, 10),
        },
    )
    submit(browser, "main form.stack button[type=submit]")
    assert heading(browser) == title
    number = browser.current_url.rstrip("/").rsplit("/", 1)[-1].split("#")[0]

    # The PDF attachment through the real upload form, with its progress bar.
    pdf = tmp_path / "Lageplan Lindenallee.pdf"
    pdf.write_bytes(sample_pdf())
    browser.find_element(By.ID, "attachment").send_keys(str(pdf))
    browser.find_element(By.ID, "attachment_title").send_keys("Lageplan")
    browser.execute_script(PROGRESS_WATCH)
    browser.find_element(By.CSS_SELECTOR, "form[data-upload] button[type=submit]").click()
    # upload.js sends the file by XMLHttpRequest, then reloads the page.
    wait(browser).until(
        settled(lambda d: "wurde hochgeladen" in d.find_element(By.TAG_NAME, "main").text)
    )
    progress = json.loads(browser.execute_script("return sessionStorage.getItem('progress-log')"))
    assert any(p["shown"] for p in progress), f"progress bar never shown: {progress}"
    assert any(p["value"] > 0 for p in progress), f"progress never moved: {progress}"
    expected_sha = hashlib.sha256(pdf.read_bytes()).hexdigest()
    assert expected_sha in browser.find_element(By.ID, "anlagen").text

    submit(browser, "form[action$='/vorlegen'] button[type=submit]")
    assert "liegt jetzt zur Freigabe vor" in browser.find_element(By.TAG_NAME, "main").text

    # The approver releases it.
    login(browser, base, APPROVER)
    browser.get(base + f"{ADMIN}/bekanntmachungen/{number}")
    browser.find_element(By.ID, "release_comment").send_keys("Geprüft.")
    submit(browser, "form[action$='/freigeben'] button[type=submit]")
    # The confirmation restates what the release does (issue 17); then it happens.
    assert "Was mit der Freigabe geschieht" in browser.find_element(By.TAG_NAME, "main").text
    submit(browser, "form[method=post][action$='/freigeben'] button[type=submit]")
    assert "Die Fassung wurde freigegeben." in browser.find_element(By.TAG_NAME, "main").text

    # The public index links it; its page shows the attachment with the hash that holds.
    browser.delete_all_cookies()
    browser.get(base + f"/{TENANT}/")
    browser.find_element(By.LINK_TEXT, title).click()
    wait_for_path(browser, f"/{TENANT}/bekanntmachungen/{number}")
    assert heading(browser) == title
    page = browser.find_element(By.TAG_NAME, "main").text
    assert "Bereitgestellt am" in page and "Baumfällarbeiten" in page
    link = browser.find_element(By.LINK_TEXT, "Lageplan")
    shown_sha = link.find_element(By.XPATH, "following-sibling::span[@class='hash']").text
    downloaded = fetch(link.get_attribute("href"))
    assert hashlib.sha256(downloaded).hexdigest() == shown_sha == expected_sha

    # The feeds, read by a real feed client.
    for fmt in ("rss", "atom", "json"):
        parsed = feedparser.parse(fetch(f"{base}/{TENANT}/feeds/notices.{fmt}"))
        if fmt == "json":  # feedparser reads JSON Feed only in newer versions
            items = json.loads(fetch(f"{base}/{TENANT}/feeds/notices.json"))["items"]
            titles = {i["title"] for i in items}
        else:
            assert not parsed.bozo, (fmt, parsed.bozo_exception)
            titles = {e.title for e in parsed.entries}
        assert title in titles, (fmt, titles)
    assert title in fetch(f"{base}/{TENANT}/feeds/notices.ics").decode()

    # And on the wall: the kiosk page of the running player shows it.
    browser.get(player.kiosk_url)
    wait_kiosk(browser, lambda k: title in k["slide"], f"a slide with {title!r}", timeout=45)


# --- (b) pairing by the on-screen code -------------------------------------------------


def test_display_is_paired_by_its_on_screen_code(browser, live_server, players):
    base = live_server.url
    player = players(live_server, "new-screen")  # no token: it asks for pairing
    browser.get(player.kiosk_url)
    shown = wait_kiosk(browser, lambda k: k["layer"] == "pairing" and k["code"], "a pairing code")
    code = shown["code"]

    with window(browser, base + "/login") as staff, looking_at(browser, staff):
        login(browser, base, TENANT_ADMIN)
        # A new display for the device, through the staff form.
        browser.get(base + f"{ADMIN}/anzeigen/neu")
        browser.find_element(By.ID, "name").send_keys("Bürgerbüro Wartebereich")
        browser.find_element(By.ID, "location").send_keys("Markt 1, Erdgeschoss")
        submit(browser, "main form button[type=submit]")
        browser.get(base + f"{ADMIN}/anzeigen/koppeln")
        browser.find_element(By.ID, "code").send_keys(code)
        Select(browser.find_element(By.ID, "display_id")).select_by_visible_text(
            "Bürgerbüro Wartebereich"
        )
        submit(browser, "main form button[type=submit]")
        assert "gekoppelt" in browser.find_element(By.TAG_NAME, "main").text

    wait_for(lambda: player.get("/local/state")["enrolled"], timeout=30, what="paired")
    wait_kiosk(browser, lambda k: k["layer"] == "rotation" and k["slide"], "slides")
    with live_server.session() as session:
        display = session.scalar(select(Display).where(Display.name == "Bürgerbüro Wartebereich"))
        assert display.enrolled


# --- (c) warning takeover and Entwarnung ------------------------------------------------


def test_alerter_warning_takes_over_the_kiosk_and_the_entwarnung_returns_it(
    browser, live_server, players
):
    base = live_server.url
    player = players(live_server, "market", provisioning_token(live_server, "Journey C"))
    wait_for(lambda: player.get("/local/state")["enrolled"], timeout=30, what="enrolment")
    show_only(live_server, "verkehr")
    headline = "Hochwasser an der Bode: Altstadt räumen"

    with window(browser, player.kiosk_url) as screen:
        with looking_at(browser, screen):
            wait_kiosk(browser, lambda k: k["layer"] == "rotation" and k["slide"], "notices")

        login(browser, base, ALERTER)
        browser.get(base + f"{ADMIN}/warnungen/neu?vorlage=hochwasser")
        browser.find_element(By.CSS_SELECTOR, "input[name=warnstufe][value='1']").click()
        field = browser.find_element(By.ID, "headline")
        field.clear()
        field.send_keys(headline)
        submit(browser, "main form[novalidate] button[value=preview]")
        preview = browser.find_element(By.ID, "vorschau").find_element(By.XPATH, "..").text
        assert headline in preview and "sofortige Vollbild-Übernahme" in preview
        submit(browser, "button[value=confirm]")
        assert "Die Warnung wurde ausgelöst." in browser.find_element(By.TAG_NAME, "main").text

        with looking_at(browser, screen):
            wait_kiosk(
                browser,
                lambda k: k["layer"] == "warning" and k["headline"] == headline,
                "the takeover",
            )

        # Entwarnung with care: the warning page leads to a page that says what happens.
        submit(browser, "form[action$='/entwarnung/bestaetigen'] button[type=submit]")
        assert "Was dann geschieht" in browser.find_element(By.TAG_NAME, "main").text
        submit(browser, "form[action$='/entwarnung'] button[type=submit]")
        assert "Entwarnung wurde ausgelöst" in browser.find_element(By.TAG_NAME, "main").text
        with looking_at(browser, screen):
            wait_kiosk(
                browser,
                lambda k: k["layer"] == "warning" and k["kind"] == "Entwarnung",
                "the Entwarnung screen",
            )
        # The Entwarnung stays for its configured time (15 minutes); the server's clock
        # is moved past it rather than waiting.
        config = live_server.app.config
        minutes = int(config.get("AUSHANG_ALERT_ALL_CLEAR_MINUTES", 15)) + 1
        config["AUSHANG_CLOCK"] = lambda: utcnow() + timedelta(minutes=minutes)
        try:
            with looking_at(browser, screen):
                wait_kiosk(
                    browser,
                    lambda k: k["layer"] == "rotation" and k["slide"],
                    "notices again after the Entwarnung",
                    timeout=45,
                )
        finally:
            config.pop("AUSHANG_CLOCK", None)
            player.stop()


# --- (d) the editor's journey, keyboard only ------------------------------------------


def press(browser: Any, *keys: str) -> None:
    ActionChains(browser).send_keys(*keys).perform()


def focused_id(browser: Any) -> str:
    return browser.switch_to.active_element.get_attribute("id") or ""


def tab_to(browser: Any, matches: Any, backwards: bool = False, limit: int = 60) -> Any:
    seen = []
    for _ in range(limit):
        if backwards:
            ActionChains(browser).key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(
                Keys.SHIFT
            ).perform()
        else:
            press(browser, Keys.TAB)
        element = browser.switch_to.active_element
        seen.append(f"{element.tag_name}#{element.get_attribute('id')} {element.text[:20]!r}")
        if matches(element):
            return element
    raise AssertionError("not reachable by keyboard: " + " → ".join(seen))


def by_id(name: str) -> Any:
    return lambda e: e.get_attribute("id") == name


def test_editor_journey_with_the_keyboard_only(browser, live_server):
    base = live_server.url
    title = "Kranaufstellung in der Marktstraße"
    browser.get(base + "/login")
    tab_to(browser, by_id("email"))
    press(browser, EDITOR)
    tab_to(browser, by_id("password"))
    from server.demo import DEMO_PASSWORD

    press(browser, DEMO_PASSWORD, Keys.ENTER)
    wait_for_path(browser, f"{ADMIN}/")

    # Staff navigation → notice list → "Neue Bekanntmachung".
    tab_to(browser, lambda e: e.tag_name == "a" and e.text == "Bekanntmachungen")
    press(browser, Keys.ENTER)
    wait_for_path(browser, f"{ADMIN}/bekanntmachungen/")
    tab_to(browser, lambda e: e.tag_name == "a" and "Neue Bekanntmachung" in e.text)
    press(browser, Keys.ENTER)
    wait(browser).until(settled(lambda d: heading(d) == "Neue Bekanntmachung"))

    tab_to(browser, by_id("title"))
    press(browser, title)
    tab_to(browser, by_id("category"))
    # A closed select takes type-ahead: the first letters choose the option.
    press(browser, "Straßen")
    assert "Straßen" in Select(browser.switch_to.active_element).first_selected_option.text
    tab_to(browser, by_id("summary"))
    press(browser, "Die Marktstraße ist für einen Tag gesperrt.")
    tab_to(browser, by_id("body_md"))
    press(browser, "Für einen **Autokran** wird die Marktstraße gesperrt.")
    # Shift+Tab goes back: correct the summary.
    tab_to(browser, by_id("summary"), backwards=True)
    press(browser, " Umleitung ist ausgeschildert.")
    tab_to(browser, by_id("issuing_office"))
    tab_to(browser, by_id("file_number"))
    press(browser, "32-VS-2026-100")
    start = local_date(utcnow(), "Europe/Berlin")
    end = start + timedelta(days=10)
    # A date field takes the digits of its segments in the browser's locale order
    # (TT.MM.JJJJ in German) and moves from segment to segment by itself.
    order = browser.execute_script(
        "return new Intl.DateTimeFormat(navigator.language,"
        " {year: 'numeric', month: '2-digit', day: '2-digit'})"
        ".formatToParts(new Date()).filter(p => p.type !== 'literal').map(p => p.type)"
    )
    pattern = "".join({"day": "%d", "month": "%m", "year": "%Y"}[part] for part in order)
    for name, day in (("signed_on", start), ("posting_start", start), ("posting_end", end)):
        tab_to(browser, by_id(name))
        press(browser, day.strftime(pattern))
        assert browser.switch_to.active_element.get_attribute("value") == day.isoformat(), name
        if name == "signed_on":
            tab_to(browser, by_id("signatory_name"))
            press(browser, "Dr. Maria Muster")
            tab_to(browser, by_id("signatory_function"))
            press(browser, "Bürgermeisterin")
    # The checkbox by Space, twice: on and off again.
    box = tab_to(browser, by_id("contains_personal_data"))
    press(browser, Keys.SPACE)
    assert box.is_selected()
    press(browser, Keys.SPACE)
    assert not box.is_selected()
    tab_to(browser, lambda e: e.tag_name == "button" and e.text == "Speichern")
    press(browser, Keys.ENTER)
    wait(browser).until(settled(lambda d: heading(d) == title))

    # Submit for release, by keyboard.
    tab_to(browser, lambda e: e.tag_name == "button" and e.text == "Zur Freigabe vorlegen")
    press(browser, Keys.SPACE)
    wait(browser).until(
        settled(
            lambda d: "liegt jetzt zur Freigabe vor" in d.find_element(By.TAG_NAME, "main").text
        )
    )
