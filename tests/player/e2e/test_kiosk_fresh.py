"""A notice released or corrected while the rotation runs is the next item on the screen
(issue 16), in real headless Chromium served by the real player process: within one item
change, not when the rotation comes round to it; afterwards the rotation goes on where it
would have gone."""

from __future__ import annotations

import pytest
from player_process import wait_for
from test_kiosk_page import current, item, player, server, slide  # noqa: F401

pytestmark = pytest.mark.e2e


def shown_after_advance(browser, previous: str) -> str:
    """Step to the next item as the timer would (tests never wait the slide's time)."""
    browser.execute_script("window.aushangKiosk.advance();")
    state = wait_for(
        lambda: (c := current(browser)) and c["showing"] and c["showing"] != previous and c,
        timeout=15,
        interval=0.02,
        what="next item",
    )
    return state["showing"]


def test_a_released_notice_is_next_and_a_corrected_one_too(browser, server, player):  # noqa: F811
    items = [item(server, f"n{i}", slide(f"Aushang {i}", "Kurzer Text."), 600) for i in range(5)]
    server.publish(items)
    proc = player()
    wait_for(lambda: len(proc.get("/local/state")["items"]) == 5, what="content")
    browser.get(proc.kiosk_url)
    wait_for(lambda: (c := current(browser)) and c["showing"] == "n0", timeout=15)
    assert shown_after_advance(browser, "n0") == "n1"

    # Released while n1 is on screen; the server lists it last.
    fresh = item(server, "neu", slide("Neue Satzung", "Soeben freigegeben."), 600)
    server.publish(items + [fresh])
    wait_for(
        lambda: len(browser.execute_script("return window.aushangKiosk.state().items")) == 6,
        what="the kiosk knows the new notice",
    )
    assert current(browser)["showing"] == "n1"  # the current slide finishes its time
    assert shown_after_advance(browser, "n1") == "neu"  # one item change later
    assert shown_after_advance(browser, "neu") == "n2"  # and the rotation goes on
    assert shown_after_advance(browser, "n2") == "n3"

    # A corrected version of n0 (a new slide) while n3 is on screen: shown next as well.
    corrected = item(server, "n0", slide("Aushang 0 (berichtigt)", "Neue Fassung."), 600)
    server.publish([corrected] + items[1:] + [fresh])
    wait_for(
        lambda: browser.execute_script("return window.aushangKiosk.state().items[0].url").endswith(
            corrected["slide"]["sha256"]
        ),
        what="the kiosk knows the correction",
    )
    assert shown_after_advance(browser, "n3") == "n0"
    title = browser.execute_script(
        "return document.querySelector('.slide-frame.active').contentDocument.title;"
    )
    assert title == "Aushang 0 (berichtigt)"
    assert shown_after_advance(browser, "n0") == "n4"
