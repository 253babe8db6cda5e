"""At most ``max_pages`` pages of a notice per cycle (issue 16), in real headless Chromium:
the last page shown says where the text goes on, the next cycle shows the following pages,
and over the cycles every page comes round (the QR code has the whole text at once)."""

from __future__ import annotations

import pytest
from player_process import wait_for
from test_kiosk_fresh import shown_after_advance
from test_kiosk_page import current, item, long_text, player, server, slide  # noqa: F401

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("size", [(1920, 1080), (1080, 1920)], ids=["landscape", "portrait"])
def test_six_page_notice_is_shown_three_pages_per_cycle(browser, server, player, size):  # noqa: F811
    width, height = size
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )
    long = item(server, "lang", slide("Bebauungsplan Nr. 47", long_text(9000)), 600)
    long["max_pages"] = 3
    short = item(server, "kurz", slide("Sprechzeiten", "Montag bis Freitag."), 600)
    server.publish([long, short])
    proc = player()
    wait_for(lambda: len(proc.get("/local/state")["items"]) == 2, what="content")
    browser.get(proc.kiosk_url)
    state = wait_for(lambda: (c := current(browser)) and c["showing"] == "lang" and c, timeout=15)
    total = len(state["pages"])
    assert total >= 6
    seen: list[int] = []
    for cycle in range(-(-total // 3)):
        state = current(browser)
        start, end = state["page_window"]
        assert (start, end) == (cycle * 3, min(total, cycle * 3 + 3))
        for page in range(start, end):
            state = current(browser)
            assert state["page"] == page
            seen.append(page)
            indicator = browser.execute_script(
                "var b=document.getElementById('page-indicator');"
                "return {text: b.textContent, fits: b.getBoundingClientRect().right <= innerWidth"
                " && b.getBoundingClientRect().left >= 0};"
            )
            assert indicator["text"].startswith(f"Seite {page + 1} von {total}")
            assert indicator["fits"], indicator
            more = page == end - 1 and end < total
            assert (
                ("weiter auf Seite " + str(end + 1)) in indicator["text"]
                if more
                else ("weiter" not in indicator["text"])
            )
            if page + 1 < end:
                browser.execute_script("window.aushangKiosk.advance();")
                wait_for(lambda p=page: current(browser)["page"] == p + 1, what="next page")
        assert shown_after_advance(browser, "lang") == "kurz"  # the cap ends the notice's turn
        assert shown_after_advance(browser, "kurz") == "lang"
    assert seen == list(range(total))  # every page came round
    assert current(browser)["page_window"][0] == 0  # and it starts over
