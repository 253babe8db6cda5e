"""Mixed-in content with weekdays and times of day (issue 16), in real headless Chromium:
outside its hours an item is skipped, inside them it is shown, at the player's server
time in the screen's time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from player_process import wait_for
from test_kiosk_fresh import shown_after_advance
from test_kiosk_page import current, item, player, server, slide  # noqa: F401

pytestmark = pytest.mark.e2e


def test_content_outside_its_hours_is_skipped(browser, server, player):  # noqa: F811
    local = datetime.now(UTC).astimezone(ZoneInfo("Europe/Berlin"))
    today = local.isoweekday()
    around = {
        "weekdays": [today],
        "on": (local - timedelta(hours=1)).strftime("%H:%M"),
        "off": (local + timedelta(hours=1)).strftime("%H:%M"),
    }
    other_days = {"weekdays": [d for d in range(1, 8) if d != today], "on": "00:00", "off": "23:59"}
    notice = item(server, "n0", slide("Aushang", "Text."), 600)
    on_air = {**item(server, "jetzt", slide("Sprechstunde", "Heute."), 600), "kind": "page"}
    off_air = {**item(server, "aus", slide("Markttag", "An anderen Tagen."), 600), "kind": "page"}
    for extra in (on_air, off_air):
        del extra["notice_id"], extra["version_hash"]
    on_air["hours"], off_air["hours"] = [around], [other_days]
    server.publish([notice, off_air, on_air])
    proc = player()
    wait_for(lambda: len(proc.get("/local/state")["items"]) == 3, what="content")
    browser.get(proc.kiosk_url)
    wait_for(lambda: (c := current(browser)) and c["showing"] == "n0", timeout=15)
    seen = ["n0"]
    for _ in range(4):
        seen.append(shown_after_advance(browser, seen[-1]))
    assert seen == ["n0", "jetzt", "n0", "jetzt", "n0"]
    assert server.contract_errors == []
