"""WCAG 1.4.10 Reflow: at 320 CSS pixels wide no page scrolls sideways."""

from __future__ import annotations

import pytest

from .helpers import SYSTEM_ADMIN, TENANT_ADMIN, login
from .test_accessibility_pages import admin_paths, public_paths

pytestmark = pytest.mark.e2e

ANONYMOUS = ["/login", "/gibt-es-nicht/"]
SYSTEM = ["/konto", "/admin/musterstadt/", "/admin/system/kommunen"]


@pytest.fixture()
def narrow(browser):
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 320, "height": 640, "deviceScaleFactor": 1, "mobile": False},
    )
    yield browser
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def too_wide(driver, base: str, paths: list[str]) -> dict[str, int]:
    found = {}
    for path in paths:
        driver.get(base + path)
        width, viewport = driver.execute_script(
            "return [document.documentElement.scrollWidth, window.innerWidth]"
        )
        assert viewport == 320
        if width > viewport:
            found[path] = width
    return found


def test_pages_reflow_at_320_css_pixels(narrow, live_server):
    base = live_server.url
    wide = too_wide(narrow, base, ANONYMOUS + list(public_paths(live_server).values()))
    login(narrow, base, TENANT_ADMIN)
    wide |= too_wide(narrow, base, list(admin_paths(live_server).values()))
    login(narrow, base, SYSTEM_ADMIN)
    wide |= too_wide(narrow, base, SYSTEM)
    assert not wide, f"pages wider than 320 px: {wide}"
