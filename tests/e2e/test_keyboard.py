"""Keyboard-only journeys (WCAG 2.1.1, 2.4.1, 2.4.3, 2.4.7)."""

from __future__ import annotations

from typing import Any

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

from server.demo import DEMO_PASSWORD

from .helpers import EDITOR, heading, wait, wait_for_path

pytestmark = pytest.mark.e2e


def focused(driver: Any) -> Any:
    return driver.switch_to.active_element


def describe(element: Any) -> str:
    return (
        f"<{element.tag_name} id={element.get_attribute('id')!r} "
        f"name={element.get_attribute('name')!r}> {element.text[:40]!r}"
    )


def press(driver: Any, *keys: str) -> None:
    ActionChains(driver).send_keys(*keys).perform()


def tab_to(driver: Any, matches, limit: int = 25) -> Any:
    """Press Tab until the focused element matches; every stop must show its focus."""
    seen = []
    for _ in range(limit):
        press(driver, Keys.TAB)
        element = focused(driver)
        seen.append(describe(element))
        outline = driver.execute_script(
            "const s = getComputedStyle(arguments[0]);"
            "return [s.outlineStyle, s.outlineWidth, s.boxShadow];",
            element,
        )
        assert outline[0] != "none" and outline[1] != "0px" or outline[2] != "none", (
            f"focus not visible on {describe(element)}: {outline}"
        )
        if matches(element):
            return element
    raise AssertionError("not reachable by Tab; focus went: " + " → ".join(seen))


def test_skip_link_is_the_first_stop_and_moves_focus_to_the_content(browser, live_server):
    browser.get(live_server.url + "/login")
    press(browser, Keys.TAB)
    link = focused(browser)
    assert link.text == "Zum Inhalt springen" and link.is_displayed()
    press(browser, Keys.ENTER)
    assert focused(browser).get_attribute("id") == "inhalt"


def test_editor_logs_in_with_the_keyboard_only_and_reaches_the_dashboard(browser, live_server):
    browser.get(live_server.url + "/login")
    email = tab_to(browser, lambda e: e.get_attribute("id") == "email")
    press(browser, EDITOR)
    assert email.get_attribute("value") == EDITOR
    tab_to(browser, lambda e: e.get_attribute("id") == "password")
    press(browser, DEMO_PASSWORD, Keys.ENTER)
    wait_for_path(browser, "/admin/musterstadt/")
    assert heading(browser) == "Übersicht"
    # The staff navigation is reachable by keyboard too.
    tab_to(browser, lambda e: e.tag_name == "a" and e.text == "Konto")
    press(browser, Keys.ENTER)
    wait(browser).until(lambda d: heading(d) == "Mein Konto")
