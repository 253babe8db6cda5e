"""The kiosk page in real headless Chromium, served by the real player process that talks
to a fake server on 127.0.0.1."""

from __future__ import annotations

import html
import time
from datetime import UTC, datetime, timedelta

import pytest
from fake_server import FakeServer, isoz
from player_process import PlayerProcess, wait_for

pytestmark = pytest.mark.e2e

SLIDE_STYLE = (
    "html,body{margin:0;height:100%}"
    "body{display:flex;flex-direction:column;box-sizing:border-box;padding:3vh 4vw;"
    "font-family:'DejaVu Sans',sans-serif;background:#fff;color:#111}"
    "h1{font-size:5vh;margin:0 0 2vh}"
    "[data-paged]{flex:1;min-height:0;overflow:hidden;white-space:pre-wrap;font-size:4.5vh;"
    "line-height:1.35}"
)


def slide(title: str, text: str) -> bytes:
    return (
        '<!doctype html><html lang="de"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{SLIDE_STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><div data-paged>{html.escape(text)}</div></body></html>"
    ).encode()


def item(server: FakeServer, item_id: str, data: bytes, duration: int) -> dict:
    now = datetime.now(UTC)
    return {
        "id": item_id,
        "kind": "notice",
        "title": item_id,
        "notice_id": item_id,
        "version_hash": "cd" * 32,
        "slide": server.add_file(data),
        "duration_s": duration,
        "valid_from": isoz(now - timedelta(hours=1)),
        "valid_until": isoz(now + timedelta(hours=1)),
        "assets": [],
    }


def long_text(length: int = 2000) -> str:
    words = (
        "Die Gemeinde Musterstadt gibt bekannt, dass der Entwurf des Bebauungsplans "
        "„Am Mühlbach“ mit Begründung öffentlich ausliegt. Stellungnahmen können während "
        "der Auslegungsfrist schriftlich oder zur Niederschrift abgegeben werden.\n\n"
    )
    text = (words * (length // len(words) + 1))[:length]
    return text[:-1] + "."


@pytest.fixture
def server():
    srv = FakeServer()
    yield srv
    srv.stop()


@pytest.fixture
def player(server, tmp_path):
    players = []

    def start(**options):
        proc = PlayerProcess(tmp_path, server.url, **options).start()
        players.append(proc)
        return proc

    yield start
    for proc in players:
        proc.stop()


def visible(browser, element_id: str) -> bool:
    return browser.execute_script(
        "var e=document.getElementById(arguments[0]);"
        "return !!e && !e.hidden && getComputedStyle(e).display!=='none';",
        element_id,
    )


def current(browser) -> dict:
    return browser.execute_script("return window.aushangKiosk && window.aushangKiosk.current();")


def test_rotates_the_slides(browser, server, player):
    server.publish(
        [item(server, f"n{i}", slide(f"Aushang {i}", "Kurzer Text."), 1) for i in range(3)]
    )
    proc = player()
    wait_for(lambda: proc.get("/local/state")["items"], what="content")
    browser.get(proc.kiosk_url)
    seen = []

    def all_seen():
        state = current(browser)
        if state and state["showing"] and state["showing"] not in seen:
            seen.append(state["showing"])
        return len(seen) == 3

    wait_for(all_seen, timeout=15, interval=0.05, what="three slides in rotation")
    assert sorted(seen) == ["n0", "n1", "n2"]
    title = browser.execute_script(
        "return document.querySelector('.slide-frame.active').contentDocument.title;"
    )
    assert title.startswith("Aushang ")
    assert visible(browser, "rotation") and not visible(browser, "stale")


def test_pages_a_2000_character_notice_without_losing_a_character(browser, server, player):
    text = long_text(2000)
    assert len(text) == 2000
    server.publish([item(server, "lang", slide("Bebauungsplan Nr. 47", text), 60)])
    proc = player()
    wait_for(lambda: proc.get("/local/state")["items"], what="content")
    browser.get(proc.kiosk_url)
    state = wait_for(lambda: (c := current(browser)) and c["showing"] == "lang" and c, timeout=15)
    pages = state["pages"]
    assert len(pages) > 1, "2,000 characters at this size need more than one page"
    assert "".join(pages) == text
    assert visible(browser, "page-indicator")
    for index, page in enumerate(pages):
        shown = browser.execute_script(
            "window.aushangKiosk.showPage(arguments[0]);"
            "var el=document.querySelector('.slide-frame.active').contentDocument"
            ".querySelector('[data-paged]');"
            "return {text: el.textContent, fits: el.scrollHeight <= el.clientHeight + 1,"
            " indicator: document.getElementById('page-indicator').textContent};",
            index,
        )
        assert shown["text"] == page
        assert shown["fits"], f"page {index + 1} overflows (text would be cut off)"
        assert shown["indicator"] == f"Seite {index + 1} von {len(pages)}"


def test_shows_the_pairing_code(browser, server, player):
    proc = player(provisioning_token="")
    wait_for(lambda: proc.get("/local/state").get("pairing_code"), what="pairing code")
    browser.get(proc.kiosk_url)
    wait_for(lambda: visible(browser, "pairing"), timeout=10, what="pairing screen")
    code = browser.find_element("id", "pairing-code").text
    assert code == "H4K-9PT"
    assert "Gerät koppeln" in browser.find_element("id", "pairing").text


def test_shows_the_stand_marker_when_the_server_is_gone(browser, server, player):
    server.publish([item(server, "n1", slide("Aushang", "Text"), 30)])
    proc = player(stale_after_seconds=1)
    wait_for(lambda: proc.get("/local/state")["items"], what="content")
    browser.get(proc.kiosk_url)
    wait_for(lambda: (c := current(browser)) and c["showing"] == "n1", timeout=10)
    assert not visible(browser, "stale")
    server.stop()
    wait_for(lambda: visible(browser, "stale"), timeout=20, interval=0.1, what="marker")
    marker = browser.find_element("id", "stale").text
    assert marker.startswith("Stand: ")
    datetime.strptime(marker.removeprefix("Stand: "), "%d.%m. %H:%M")
    assert visible(browser, "rotation")  # the content stays on screen
    server.start()
    wait_for(lambda: not visible(browser, "stale"), timeout=20, interval=0.1, what="recovery")


def _luminance(rgb: str) -> float:
    values = [int(v) / 255 for v in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3]]
    lin = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in values]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def test_takeover_preempts_mid_slide_and_is_acknowledged(browser, server, player):
    server.publish([item(server, "n1", slide("Aushang", "Text"), 60)])
    proc = player()
    wait_for(lambda: proc.get("/local/state")["items"], what="content")
    browser.get(proc.kiosk_url)
    wait_for(lambda: (c := current(browser)) and c["showing"] == "n1", timeout=10)
    now = datetime.now(UTC)
    alert = {
        "id": "118",
        "identifier": "mow.DE-HE-test-118",
        "msg_type": "Alert",
        "status": "Exercise",
        "behaviour": "takeover",
        "severity": "Severe",
        "headline": "Hochwasser an der Lahn",
        "description": long_text(900),
        "instruction": "Meiden Sie die Uferbereiche.",
        "sender": "Kreis Marburg-Biedenkopf",
        "source": "MoWaS",
        "sent": isoz(now),
        "expires": isoz(now + timedelta(hours=2)),
        "languages": [
            {"language": "de", "headline": "Hochwasser an der Lahn", "description": long_text(900),
             "instruction": "Meiden Sie die Uferbereiche."},
            {"language": "en", "headline": "Flooding on the Lahn", "description": "Water rising."},
        ],
        "qr": None,
        "slide": None,
        "entwarnung_until": None,
    }  # fmt: skip
    started = time.monotonic()
    server.publish(warnings=[alert])  # the slide "n1" has 60 s left: pre-empt mid-slide
    wait_for(lambda: visible(browser, "warning"), timeout=10, interval=0.02, what="takeover")
    assert time.monotonic() - started < 3
    assert not visible(browser, "rotation")
    text = browser.find_element("id", "warning").text
    for expected in (
        "Hochwasser an der Lahn",
        "Kreis Marburg-Biedenkopf",
        "MoWaS",
        "Lage",
        "Übung",
    ):
        assert expected in text
    colours = browser.execute_script(
        "return [getComputedStyle(document.getElementById('warning')).backgroundColor,"
        " getComputedStyle(document.getElementById('w-headline')).color];"
    )
    light, dark = sorted(_luminance(c) for c in colours)[::-1]
    assert (light + 0.05) / (dark + 0.05) >= 7
    ack = wait_for(
        lambda: next((a for a in server.acks if a["shown_at"]), None), timeout=10, what="ack"
    )
    assert ack["alert_id"] == "118" and ack["display_id"] == "7"
    assert server.contract_errors == []
    # Cancelled with an Entwarnung: green screen, then back to the rotation.
    server.publish(
        warnings=[
            {**alert, "msg_type": "Cancel", "status": "Actual", "expires": None,
             "headline": "Entwarnung", "languages": [{"language": "de", "headline": "Entwarnung"}],
             "entwarnung_until": isoz(datetime.now(UTC) + timedelta(seconds=3))}
        ]
    )  # fmt: skip
    wait_for(lambda: browser.find_element("id", "w-kind").text.lower() == "entwarnung", timeout=10)
    wait_for(lambda: visible(browser, "rotation"), timeout=20, interval=0.1, what="rotation again")


def test_a_banner_keeps_its_strip_and_its_full_pages_follow_the_last_slide(browser, server, player):
    # W12 for Warnstufe 3: the strip on every view, the full pages once per cycle, after
    # the last notice slide (so the slides keep their rhythm, D3).
    now = datetime.now(UTC)
    banner = {
        "id": "b1",
        "identifier": "mow.DE-HE-test-b1",
        "msg_type": "Alert",
        "status": "Actual",
        "behaviour": "banner",
        "severity": "Moderate",
        "warnstufe": 3,
        "headline": "Glätte im Kreisgebiet",
        "description": long_text(1500),
        "instruction": "Fahren Sie vorsichtig.",
        "sender": "Kreis Marburg-Biedenkopf",
        "source": "DWD",
        "sent": isoz(now),
        "expires": isoz(now + timedelta(hours=2)),
        "languages": [],
        "qr": None,
        "slide": None,
        "entwarnung_until": None,
    }
    banner["languages"] = [
        {k: banner[k] for k in ("headline", "description", "instruction")} | {"language": "de"}
    ]
    server.publish(
        [item(server, f"n{i}", slide(f"Aushang {i}", "Kurzer Text."), 60) for i in range(2)],
        warnings=[banner],
    )
    proc = player()
    # Both slides and the warning, or the page would start on the warning alone.
    wait_for(
        lambda: (st := proc.get("/local/state")) and len(st["items"]) == 2 and st["warnings"],
        what="content",
    )
    browser.get(proc.kiosk_url)
    wait_for(lambda: (c := current(browser)) and c["showing"] == "n0", timeout=15, what="n0")

    def label() -> str | None:
        c = current(browser)
        if not c:
            return None
        if c["warning"]:
            return f"{c['warning']}:{c['warning_page']}/{c['warning_pages']}"
        return c["showing"]

    views = []
    while len(views) < 2 or views[-1] != "n0":
        views.append(label())
        strips = browser.execute_script(
            "return Array.from(document.querySelectorAll('#banner .strip'))"
            ".map(function (s) { return s.getAttribute('data-alert'); });"
        )
        assert strips == ["b1"] and visible(browser, "banner"), views
        assert len(views) < 30, views
        browser.execute_script("window.aushangKiosk.advance();")
        wait_for(lambda: (now_at := label()) and now_at != views[-1], timeout=10, what="next")
    on_pages = [v for v in views if v.startswith("b1:")]
    assert on_pages, f"the banner's full pages never came: {views}"
    pages = int(on_pages[0].split("/")[1])
    assert pages > 1, "1,500 characters take more than one page"
    assert views == ["n0", "n1"] + [f"b1:{p}/{pages}" for p in range(pages)] + ["n0"]
    text = browser.find_element("id", "banner").text
    assert "Glätte im Kreisgebiet" in text
