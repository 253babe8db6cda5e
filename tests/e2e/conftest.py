"""Real-browser tests: the real WSGI app on an ephemeral port, headless Chromium.

One server and one browser per test session keep the run short; each test gets the
browser with its cookies cleared. The server runs the real app (CSRF on, no TESTING
shortcuts) in a thread of this process on its own fresh SQLite database, migrated by
Alembic and filled with the demo data of ``make run``. Tests that need more data add it
through ``live_server.session()`` and the factories.

When a test fails, a screenshot and the page source are kept in ``test-artifacts/``
(or ``$AUSHANG_TEST_ARTIFACTS``).
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from server import create_app
from server.config import PROJECT_ROOT, load_settings
from server.domain.posting import utcnow
from server.extensions import db

pytestmark = pytest.mark.e2e

CHROMIUM = os.environ.get("AUSHANG_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("AUSHANG_CHROMEDRIVER", "/usr/bin/chromedriver")
ARTIFACTS = Path(os.environ.get("AUSHANG_TEST_ARTIFACTS") or PROJECT_ROOT / "test-artifacts")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Every test in this folder is a browser test, even one that forgets the marker.
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


def missing_tool(reason: str) -> None:
    """Skip locally, fail in CI: CI must never pass by skipping the browser tests."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@dataclass
class LiveServer:
    app: Flask
    url: str

    @contextmanager
    def session(self) -> Iterator[Any]:
        """A database session of the live app; commits on success."""
        with self.app.app_context():
            try:
                yield db.session
                db.session.commit()
            except BaseException:
                db.session.rollback()
                raise
            finally:
                db.session.remove()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    instance = tmp_path_factory.mktemp("e2e-instance")
    settings = load_settings(
        {
            "AUSHANG_INSTANCE_PATH": str(instance),
            "DATABASE_URL": f"sqlite:///{instance / 'e2e.db'}",
            "SECRET_KEY": "e2e-secret",
            "AUSHANG_DATA_DIR": str(instance / "files"),
        }
    )
    app = create_app(settings=settings)
    with app.app_context():
        from flask_migrate import upgrade

        from server.demo import load_demo

        upgrade()
        load_demo(db.session, utcnow())
        db.session.commit()
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["AUSHANG_BASE_URL"] = url
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(app=app, url=url)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture(scope="session")
def _driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        missing_tool(
            f"Chromium/chromedriver missing ({CHROMIUM}, {CHROMEDRIVER}): make system-deps"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    profile = tmp_path_factory.mktemp("chromium-profile")
    options = Options()
    options.binary_location = CHROMIUM
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
        "--lang=de-DE",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


# Console messages that mean a page is broken for everyone: something the CSP blocked
# (an inline script or style slipped into a template) or an uncaught script error.
CONSOLE_FAILURES = ("Content Security Policy", "Uncaught")


def console_failures(driver: Any) -> list[str]:
    """Browser console messages since the last call that point at a broken page."""
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if any(marker in entry["message"] for marker in CONSOLE_FAILURES)
    ]


@pytest.fixture()
def browser(_driver: Any, live_server: LiveServer) -> Iterator[Any]:
    """The session's browser, on a blank page with no cookies of earlier tests.

    After the test, any CSP violation or uncaught script error in the console fails it.
    """
    from sqlalchemy import delete

    from server.models import LimitEvent

    _driver.get(live_server.url + "/static/aushang.css")  # same origin, to clear cookies
    _driver.delete_all_cookies()
    with live_server.app.app_context():  # no login limits carried over from earlier tests
        db.session.execute(delete(LimitEvent))
        db.session.commit()
        db.session.remove()
    console_failures(_driver)  # drop what earlier tests left
    yield _driver
    failures = console_failures(_driver)
    if failures:
        pytest.fail("browser console:\n" + "\n".join(failures), pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    outcome = yield
    report = outcome.get_result()
    if report.when not in ("setup", "call") or not report.failed:
        return
    driver = getattr(item, "funcargs", {}).get("browser")
    if driver is None:
        return
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid)[-150:]
    try:
        driver.save_screenshot(str(ARTIFACTS / f"{stem}.png"))
        (ARTIFACTS / f"{stem}.html").write_text(
            f"<!-- {driver.current_url} -->\n{driver.page_source}", encoding="utf-8"
        )
        report.sections.append(("e2e artifacts", f"kept in {ARTIFACTS}/{stem}.{{png,html}}"))
    except Exception as exc:  # the browser itself may be what broke
        report.sections.append(("e2e artifacts", f"could not save: {exc!r}"))
