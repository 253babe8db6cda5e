"""The head line of the kiosk page in real headless Chromium (issue 16), in 1920×1080 and
1080×1920: the Kommune's crest and name, the position in the rotation, date and time from
the player's server time; nothing clipped, nothing overlapping, the notices in the
configured order and a long notice paged without losing a character."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from player_process import wait_for
from test_kiosk_page import current, item, long_text, player, server, slide  # noqa: F401

pytestmark = pytest.mark.e2e

GEOMETRY = """
var r = function (id) { var b = document.getElementById(id).getBoundingClientRect();
  return {top: b.top, bottom: b.bottom, left: b.left, right: b.right, width: b.width, height: b.height}; };
var crest = document.getElementById('board-crest');
var board = document.getElementById('board');
var overflow = Array.prototype.filter.call(board.querySelectorAll('*'), function (e) {
  return !e.hidden && (e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1)
    && getComputedStyle(e).display !== 'inline';
}).map(function (e) { return e.id || e.className; });
return {vw: innerWidth, vh: innerHeight, board: r('board'), stage: r('stage'), crest: r('board-crest'),
  name: r('board-name'), clock: document.querySelector('.board-clock').getBoundingClientRect().toJSON(),
  position: r('board-position'), crestLoaded: crest.complete && crest.naturalWidth > 0,
  date: document.getElementById('board-date').textContent,
  time: document.getElementById('board-time').textContent,
  positionText: document.getElementById('board-position').textContent,
  nameText: document.getElementById('board-name').textContent, overflow: overflow};
"""


def crest_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 360), (190, 20, 30)).save(out, "PNG")
    return out.getvalue()


def inside(inner: dict, outer: dict) -> bool:
    return (
        inner["left"] >= outer["left"] - 0.5
        and inner["right"] <= outer["right"] + 0.5
        and inner["top"] >= outer["top"] - 0.5
        and inner["bottom"] <= outer["bottom"] + 0.5
    )


def overlap(a: dict, b: dict) -> bool:
    return not (
        a["right"] <= b["left"] + 0.5
        or b["right"] <= a["left"] + 0.5
        or a["bottom"] <= b["top"] + 0.5
        or b["bottom"] <= a["top"] + 0.5
    )


@pytest.mark.parametrize("size", [(1920, 1080), (1080, 1920)], ids=["landscape", "portrait"])
def test_head_line_with_crest_clock_and_position_in_both_orientations(
    browser,
    server,  # noqa: F811
    player,  # noqa: F811
    size,
):
    width, height = size
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )
    server.board = {
        "kommune": "Gemeinde Musterstadt im Landkreis Beispielhausen",
        "crest": server.add_file(crest_png(), "image/png"),
    }
    text = long_text(9000)
    server.publish(
        [
            item(server, "lang", slide("Bebauungsplan Nr. 47 „Am Mühlbach“", text), 600),
            item(server, "kurz", slide("Sprechzeiten", "Montag bis Freitag 8–12 Uhr."), 600),
        ]
    )
    proc = player()
    wait_for(lambda: len(proc.get("/local/state")["items"]) == 2, what="content")
    wait_for(lambda: proc.get("/local/state")["crest"], what="crest downloaded")
    browser.get(proc.kiosk_url)
    state = wait_for(lambda: (c := current(browser)) and c["showing"] == "lang" and c, timeout=15)
    geo = wait_for(
        lambda: (g := browser.execute_script(GEOMETRY)) and g["crestLoaded"] and g, what="crest"
    )
    assert (geo["vw"], geo["vh"]) == (width, height)
    assert geo["nameText"] == "Gemeinde Musterstadt im Landkreis Beispielhausen"
    assert re.fullmatch(r"\d{2}:\d{2} Uhr", geo["time"]), geo["time"]
    assert re.search(
        r"(Montag|Dienstag|Mittwoch|Donnerstag|Freitag|Samstag|Sonntag), \d", geo["date"]
    )
    assert geo["positionText"] == "Aushang 1 von 2"
    screen = {"left": 0, "top": 0, "right": width, "bottom": height}
    for part in ("board", "stage", "crest", "name", "clock", "position"):
        assert inside(geo[part], screen), (part, geo[part])
    for part in ("crest", "name", "clock", "position"):
        assert inside(geo[part], geo["board"]), (part, geo[part], geo["board"])
        assert not overlap(geo[part], geo["stage"]), part
    for a, b in (("crest", "name"), ("name", "clock"), ("name", "position"), ("position", "clock")):
        assert not overlap(geo[a], geo[b]), (a, b, geo[a], geo[b])
    assert geo["overflow"] == []
    assert geo["board"]["height"] < height * 0.15  # the notice keeps the screen

    # A long notice: at least six pages in this orientation, each fits, none loses a word.
    pages = state["pages"]
    assert len(pages) >= 6 and "".join(pages) == text
    for index in range(len(pages)):
        fits = browser.execute_script(
            "window.aushangKiosk.showPage(arguments[0]);"
            "var el=document.querySelector('.slide-frame.active').contentDocument"
            ".querySelector('[data-paged]');return el.scrollHeight <= el.clientHeight + 1;",
            index,
        )
        assert fits, f"page {index + 1} overflows"
    # In the configured order, and the position follows.
    browser.execute_script("window.aushangKiosk.advance();")
    wait_for(lambda: current(browser)["showing"] == "kurz", what="second notice")
    assert browser.execute_script(GEOMETRY)["positionText"] == "Aushang 2 von 2"
