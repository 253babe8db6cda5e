"""What staff see is what the screen shows (issue 13, build 3), in a real browser.

The manual warning's preview frames the real kiosk page; a player's own kiosk server
(``player.localserver.KioskServer`` on 127.0.0.1) is fed the manifest warning the server
builds for the same draft. Both pages are laid out at the frame's pixel size, and the
visible text of every step of the takeover (sections, pages) is compared in order.

The takeover changes step every 12 s. Instead of waiting, a script installed before the
pages' own scripts holds the long timers in a queue, and the test runs them one by one.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from sqlalchemy import select

from player.cache import Cache
from player.localserver import KioskServer
from player.manifest import parse_manifest
from player.view import Content, build_view
from server.models import Tenant
from server.services import alerts as svc
from server.services.displays.kiosk_view import draft_warning
from server.web.admin.alerts import draft_from_token
from server.web.clock import blob_store

from .helpers import TENANT, login, submit, wait

pytestmark = pytest.mark.e2e

ALERTER = "warnung@musterstadt.example"
STEP_MS = 12_000  # kiosk.js WARNING_PAGE_S
NOW = datetime(2026, 12, 3, 14, 0, tzinfo=UTC)

FAKE_TIMERS = """
(function () {
  if (!/\\/kiosk\\/$/.test(location.pathname) && location.pathname !== "/") return;
  var realTimeout = window.setTimeout.bind(window);
  var queue = [];
  window.setTimeout = function (fn, ms) {
    if (ms >= STEP_MS) { queue.push(fn); return 1000000 + queue.length; }
    return realTimeout.apply(null, arguments);
  };
  window.__advance = function () { var fn = queue.shift(); if (fn) fn(); return queue.length; };
})();
""".replace("STEP_MS", str(STEP_MS))

VISIBLE = "return document.body.innerText.replace(/\\s+/g, ' ').trim();"


@pytest.fixture()
def fake_timers(browser: Any):
    script = browser.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument", {"source": FAKE_TIMERS}
    )
    try:
        yield
    finally:
        browser.execute_cdp_cmd(
            "Page.removeScriptToEvaluateOnNewDocument", {"identifier": script["identifier"]}
        )
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


@pytest.fixture()
def fixed_clock(live_server: Any):
    live_server.app.config["AUSHANG_CLOCK"] = lambda: NOW
    try:
        yield NOW
    finally:
        live_server.app.config.pop("AUSHANG_CLOCK", None)


def _sequence(driver: Any, steps: int) -> list[str]:
    """The visible text of the warning layer, step after step."""
    wait(driver).until(
        lambda d: d.execute_script(
            "var w = document.getElementById('warning');"
            "return !!w && !w.hidden && document.getElementById('w-headline').textContent;"
        )
    )
    seen = []
    for _ in range(steps):
        seen.append(driver.execute_script(VISIBLE))
        driver.execute_script("window.__advance();")
    return seen


def _same_warning_for_player(live_server: Any, token: str) -> dict[str, Any]:
    """The manifest warning the server builds for the draft behind the preview."""
    app = live_server.app
    with live_server.session() as session, app.test_request_context():
        tenant = session.scalar(select(Tenant).where(Tenant.slug == TENANT))
        data, _raw = draft_from_token(tenant, token)
        policy = svc.policy_from_config(app.config)
        alert, shown = svc.preview_manual(session, tenant=tenant, data=data, now=NOW, policy=policy)
        public = f"{app.config['AUSHANG_BASE_URL'].rstrip('/')}/{tenant.slug}/warnungen"
        return {
            "protocol": 1,
            "server_time": "2026-11-20T09:30:00Z",
            "etag": "preview",
            "display": {"id": None, "name": None},
            "screen": {"timezone": tenant.timezone},
            "items": [],
            "warnings": [draft_warning(alert, shown, blob_store(), policy, public)],
        }


def test_preview_frame_and_player_kiosk_show_the_same_text_in_the_same_order(
    browser, live_server, fake_timers, fixed_clock, tmp_path: Path
):
    base = live_server.url
    login(browser, base, ALERTER)
    browser.get(f"{base}/admin/{TENANT}/warnungen/neu?vorlage=hochwasser")
    submit(browser, "button[name=action][value=preview]")
    assert "Erreicht" in browser.find_element(By.ID, "vorschau-reichweite").text
    frames = [
        (f.get_attribute("src"), int(f.get_attribute("width")), int(f.get_attribute("height")))
        for f in browser.find_elements(By.CSS_SELECTOR, "iframe.kiosk-frame")
    ]
    assert frames

    preview: dict[tuple[int, int], list[str]] = {}
    for index, (_src, width, height) in enumerate(frames):
        frame = browser.find_elements(By.CSS_SELECTOR, "iframe.kiosk-frame")[index]
        browser.switch_to.frame(frame)
        try:
            assert browser.execute_script("return [innerWidth, innerHeight]") == [width, height]
            preview[(width, height)] = _sequence(browser, 5)
        finally:
            browser.switch_to.default_content()

    token = html.unescape(frames[0][0]).rstrip("/").split("/")[-2]
    manifest = _same_warning_for_player(live_server, token)
    view = build_view(
        content=Content.of(parse_manifest(manifest)),
        now=NOW,
        has_file=lambda sha: False,
        enrolled=True,
        pairing_code=None,
        last_contact=NOW,
        stale_after_s=600,
    )
    kiosk = KioskServer(Cache(tmp_path / "cache"), port=0)
    kiosk.publish(view)
    kiosk.start()
    try:
        for (width, height), expected in preview.items():
            browser.execute_cdp_cmd(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            )
            browser.get(kiosk.url)
            assert browser.execute_script("return [innerWidth, innerHeight]") == [width, height]
            player = _sequence(browser, 5)
            assert player == expected, (width, height)
    finally:
        kiosk.stop()

    sequence = next(iter(preview.values()))
    headline = manifest["warnings"][0]["headline"]
    assert all(headline in text for text in sequence)
    assert "Lage" in sequence[0] and "Was Sie jetzt tun sollten" in " ".join(sequence)
    assert len(set(sequence)) > 1  # the steps really advanced
